"""``opsledger brief``: an executive debrief from the record, its PIR and its history."""

from __future__ import annotations

import json

from conftest import ACKED, InvokeCli, Repo, git, git_init

INCIDENT = ACKED.replace("status: open", "status: resolved") + (
    "mitigated_at: 2026-03-04T09:50:00Z\nresolved_at: 2026-03-04T10:40:00Z\n"
    "resolution: Rolled back the 09:00 deploy that halved the pool size.\n"
    "pir: PIR-2026-0001\n"
    "notifications:\n  - {at: 2026-03-04T09:25:00Z, kind: initial, audience: [support],"
    " channel: status-page}\n"
)
PIR = """\
---
id: PIR-2026-0001
incident: INC-2026-0001
status: approved
authors: [lena.fischer@example.com]
root_cause: A deploy halved the connection pool size.
actions:
  - {id: A1, title: Add a pool saturation alert above 80%, owner: lena.fischer@example.com,
     due: "2026-04-30", status: open, type: detective, verification: Fires in a load test.}
---
"""


def test_brief_reads_for_a_business_audience(repo: Repo, cli: InvokeCli) -> None:
    repo.write("records/incidents/INC-2026-0001.yaml", INCIDENT)
    repo.write("records/pirs/PIR-2026-0001.md", PIR, dedent=False)
    git_init(repo.root)
    git(repo.root, "add", "-A", date="2026-03-04T11:00:00Z")
    git(
        repo.root,
        "commit",
        "-q",
        "-m",
        "record",
        date="2026-03-04T11:00:00Z",
        who="Lena Fischer <lena.fischer@example.com>",
    )
    result = cli("brief", "INC-2026-0001", "--repo", repo.root)
    assert result.status == 0, result.err
    text = result.out
    assert text.startswith("# Executive brief: Orders database connection pool exhausted\n")
    assert "## Business impact" in text
    assert "Users were affected for **38m**" in text  # 09:12 → 09:50
    # GMT in March: local time equals UTC
    assert "| Wed 04 Mar 2026 09:12 GMT (+0s) | Problem detected |" in text
    assert "| Wed 04 Mar 2026 09:50 GMT (+38m) | Service restored for users |" in text
    assert "The underlying fault is fixed" in text
    assert "Post-incident review PIR-2026-0001 is **approved**." in text
    assert (
        "| Add a pool saturation alert above 80% | lena.fischer@example.com | 2026-04-30 | open |"
    ) in text
    assert "First recorded Wed 04 Mar 2026 11:00 GMT by Lena Fischer" in text
    assert "first committed 1h 48m after detection" in text


def test_record_text_cannot_inject_markdown(repo: Repo, cli: InvokeCli) -> None:
    hostile = INCIDENT.replace(
        "impact: Checkout requests failed intermittently for about a fifth of customers.",
        "impact: '<script>alert(1)</script> | cell | [x](javascript:alert(1))'",
    )
    repo.write("records/incidents/INC-2026-0001.yaml", hostile)
    text = cli("brief", "INC-2026-0001", "--repo", repo.root, "--no-history").out
    assert "<script>" not in text
    # HTML characters as entities: a backslash before "<" is no escape in Python-Markdown
    assert "&lt;script&gt;alert(1)&lt;/script&gt; \\| cell \\| \\[x\\](javascript:alert(1))" in text
    assert "Git history unavailable" in text


def test_unknown_incident(repo: Repo, cli: InvokeCli) -> None:
    result = cli("brief", "INC-2026-0404", "--repo", repo.root)
    assert result.status == 2 and "no such incident" in result.err


def test_an_incident_claimed_by_two_files_is_refused_not_picked(repo: Repo, cli: InvokeCli) -> None:
    """Two files hold INC-1 (a copy in another folder, its priority changed): the brief
    does not choose one; it names both, as approve does."""
    repo.write("records/incidents/INC-2026-0001.yaml", INCIDENT)
    repo.write("records/incidents/2026/INC-2026-0001.yaml", INCIDENT.replace("P3", "P4"))
    result = cli("brief", "INC-2026-0001", "--repo", repo.root, "--no-history")
    assert result.status == 2 and result.out == ""
    assert "claimed by several files" in result.err
    assert "records/incidents/2026/INC-2026-0001.yaml" in result.err
    assert "records/incidents/INC-2026-0001.yaml" in result.err
    # another file holding the ID in its ``id`` is a claimant too
    (repo.root / "records/incidents/2026/INC-2026-0001.yaml").unlink()
    repo.write("records/incidents/INC-2026-0009.yaml", INCIDENT.replace("P3", "P4"))
    result = cli("brief", "INC-2026-0001", "--repo", repo.root, "--no-history")
    assert result.status == 2 and "records/incidents/INC-2026-0009.yaml" in result.err


def test_an_incident_that_does_not_load_is_named_not_missing(repo: Repo, cli: InvokeCli) -> None:
    repo.write("records/incidents/INC-2026-0001.yaml", "id: [unclosed\n", dedent=False)
    result = cli("brief", "INC-2026-0001", "--repo", repo.root, "--no-history")
    assert result.status == 2 and "no such incident" not in result.err
    assert "records/incidents/INC-2026-0001.yaml does not load" in result.err


def test_history_of_an_id_claimed_by_two_files_says_so(repo: Repo, cli: InvokeCli) -> None:
    """``opsledger history`` shows an ID's versions; held by two files, they interleave:
    a note names both files."""
    repo.write("records/incidents/INC-2026-0001.yaml", INCIDENT)
    git_init(repo.root)
    git(repo.root, "add", "-A")
    git(repo.root, "commit", "-qm", "one")
    repo.write("records/incidents/2026/INC-2026-0001.yaml", INCIDENT.replace("P3", "P4"))
    git(repo.root, "add", "-A", date="2026-03-02T10:00:00Z")
    git(repo.root, "commit", "-qm", "a twin", date="2026-03-02T10:00:00Z")
    result = cli("history", "INC-2026-0001", "--repo", repo.root)
    assert result.status == 0
    assert "claimed by several files" in result.err
    assert "records/incidents/2026/INC-2026-0001.yaml" in result.err
    (repo.root / "records/incidents/2026/INC-2026-0001.yaml").unlink()
    single = cli("history", "INC-2026-0001", "--repo", repo.root)
    assert "claimed" not in single.err


def test_what_lands_after_as_of_is_not_done_yet_anywhere(repo: Repo, cli: InvokeCli) -> None:
    """A PIR approved, and an action done, in a commit after --as-of: as of then the PIR is
    not approved and the action is open, in the brief, the audit and the KPIs alike."""
    incident = INCIDENT.replace("priority: P3", "priority: P2") + (
        "commander: lena.fischer@example.com\nbridge_opened_at: 2026-03-04T09:20:00Z\n"
    )
    soon = PIR.replace('due: "2026-04-30", status: open', 'due: "2026-03-10", status: open')
    repo.write("records/incidents/INC-2026-0001.yaml", incident)
    repo.write("records/pirs/PIR-2026-0001.md", soon.replace("approved", "draft"), dedent=False)
    git_init(repo.root)
    git(repo.root, "add", "-A", date="2026-03-04T11:00:00Z")
    git(repo.root, "commit", "-qm", "record", date="2026-03-04T11:00:00Z")
    done = soon.replace('due: "2026-03-10", status: open', 'due: "2026-03-10", status: done')
    repo.write("records/pirs/PIR-2026-0001.md", done, dedent=False)
    git(repo.root, "commit", "-qam", "approved, done", date="2026-03-20T10:00:00Z")
    expected = {
        # as of: (PIR verdict, action verdict, pir_on_time_rate, action_on_time_rate)
        "2026-03-06T12:00:00Z": ("not yet due", "not yet due", (None, 0), (None, 0)),
        "2026-03-12T12:00:00Z": ("not yet due", "missed (not done)", (None, 0), (0.0, 1)),
        "2026-03-19T12:00:00Z": ("missed (not done)", "missed (not done)", (0.0, 1), (0.0, 1)),
        "2026-03-25T12:00:00Z": ("missed (late)", "missed (late)", (0.0, 1), (0.0, 1)),
    }
    for as_of, (pir, action, pir_kpi, action_kpi) in expected.items():
        brief = cli("brief", "INC-2026-0001", "--repo", repo.root, "--as-of", as_of)
        assert brief.status == 0, brief.err
        assert f"| PIR | {pir} |" in brief.out, (as_of, brief.out)
        assert f"| 2026-03-10 | done | {action} |" in brief.out, (as_of, brief.out)
        kpi = cli(
            "kpi", "--repo", repo.root, "--as-of", as_of, "--format", "json",
            "--kpi", "pir_on_time_rate", "--kpi", "action_on_time_rate",
        )  # fmt: skip
        found = {k["id"]: (k["value"], k["n"]) for k in json.loads(kpi.out)["kpis"]}
        assert found == {"pir_on_time_rate": pir_kpi, "action_on_time_rate": action_kpi}, as_of
        audit = cli("audit", "--repo", repo.root, "--as-of", as_of, "--format", "json")
        overdue = [f for f in json.loads(audit.out)["findings"] if f["rule"] == "PIR-OVERDUE"]
        assert bool(overdue) == (action == "missed (not done)"), (as_of, overdue)


def test_a_brief_of_another_kind_of_record_says_what_it_is(repo: Repo, cli: InvokeCli) -> None:
    """A PIR's ID given to brief: it loads (validate has nothing to say), it is no
    incident; the error says that, not 'validate says why'."""
    repo.write("records/pirs/PIR-2026-0001.md", PIR, dedent=False)
    result = cli("brief", "PIR-2026-0001", "--repo", repo.root, "--no-history")
    assert result.status == 2
    assert "PIR-2026-0001 is a pir, not an incident" in result.err
    assert "validate" not in result.err


def test_an_unknown_id_of_5000_characters_is_named_cut_short(repo: Repo, cli: InvokeCli) -> None:
    long_id = "INC-2026-" + "9" * 5000
    result = cli("brief", long_id, "--repo", repo.root, "--no-history")
    assert result.status == 2 and "no such incident" in result.err
    assert len(result.err) < 300, len(result.err)
