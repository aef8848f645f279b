"""``opsledger problems suggest`` and ``opsledger new problem``: the recurring clusters no
problem links, and a problem scaffolded from its incidents."""

from __future__ import annotations

import json

from test_rules_problems import PATH, PROBLEM, base, incident

from opsledger.rules.examples import BASE

from conftest import InvokeCli, Repo, audit_rule

AS_OF = "2026-03-31T12:00:00Z"


def _clusters(repo: Repo) -> None:
    base(repo)
    repo.write(PATH, PROBLEM, dedent=False)
    incident(repo, 51, "01-05")
    incident(repo, 52, "03-06")
    incident(repo, 53, "03-20")
    incident(repo, 61, "02-01", category="disk")
    incident(repo, 62, "02-02", category="disk")
    incident(repo, 63, "02-03", category="disk")
    incident(repo, 64, "02-04", category="disk")


def test_suggest_lists_clusters_largest_then_most_recent(repo: Repo, cli: InvokeCli) -> None:
    _clusters(repo)
    result = cli("problems", "suggest", "--repo", repo.root, "--as-of", AS_OF, "--format", "json")
    assert result.status == 0, result.err
    doc = json.loads(result.out)
    assert doc["version"] == 1 and doc["as_of"] == AS_OF
    clusters = doc["clusters"]
    assert [[i["id"] for i in c["incidents"]] for c in clusters] == [
        ["INC-2026-0061", "INC-2026-0062", "INC-2026-0063", "INC-2026-0064"],
        ["INC-2026-0051", "INC-2026-0052", "INC-2026-0053"],
    ]
    assert clusters[0]["services"] == ["orders-db"] and clusters[0]["categories"] == ["disk"]
    # each incident: detected 09:12, restored 09:42: 30 minutes of user impact
    assert clusters[0]["impact_minutes"] == 4 * 30
    assert clusters[1]["command"] == (
        "opsledger new problem --incident INC-2026-0051 --incident INC-2026-0052 "
        "--incident INC-2026-0053"
    )
    text = cli("problems", "suggest", "--repo", repo.root, "--as-of", AS_OF)
    assert text.status == 0
    assert text.out.startswith("2 recurring cluster(s) without a problem")
    assert "1. orders-db / disk: 4 incidents, 2026-02-01 to 2026-02-04, user impact 2h 00m" in (
        text.out
    )
    # the same clusters as PRB-CANDIDATE
    hits = audit_rule(repo, "PRB-CANDIDATE")
    assert sorted(h.path for h in hits) == [
        "records/incidents/INC-2026-0053.yaml",
        "records/incidents/INC-2026-0064.yaml",
    ]


def test_suggest_with_nothing_to_suggest_and_hostile_titles(repo: Repo, cli: InvokeCli) -> None:
    base(repo)
    result = cli("problems", "suggest", "--repo", repo.root, "--as-of", AS_OF)
    assert result.status == 0
    assert result.out.startswith("no recurring cluster without a problem")
    for n, day in ((71, "03-01"), (72, "03-02"), (73, "03-03")):
        incident(repo, n, day, category="dns")
    path = repo.root / "records/incidents/INC-2026-0073.yaml"
    text = path.read_text(encoding="utf-8").replace(
        "title: Orders-db pool exhausted again (73)",
        # (ESC and BEL written as escapes are refused at loading: test_loading.py)
        'title: "x\\r]8;;evil\\u2028 ::error ::pwned"',
    )
    path.write_text(text, encoding="utf-8")
    shown = cli("problems", "suggest", "--repo", repo.root, "--as-of", AS_OF)
    assert shown.status == 0 and "INC-2026-0073" in shown.out
    assert "\r" not in shown.out and "\u2028" not in shown.out


def test_new_problem_prefills_from_its_incidents(repo: Repo, cli: InvokeCli) -> None:
    _clusters(repo)
    result = cli(
        "new", "problem", "--repo", repo.root, "--no-history", "--as-of", AS_OF,
        "--incident", "INC-2026-0053", "--incident", "INC-2026-0051", "--incident", "INC-2026-0052",
    )  # fmt: skip
    assert result.status == 0, result.err
    path = result.out.strip()
    assert path == "records/problems/PRB-2026-0008.md"
    text = (repo.root / path).read_text(encoding="utf-8")
    assert "services: [orders-db]" in text
    assert "incidents:" in text and text.index("INC-2026-0051") < text.index("INC-2026-0053")
    assert "3 incidents on orders-db since 2026-01-05T09:12:00Z" in text
    assert 'title: "Recurring connection-pool on orders-db"' in text
    assert cli("validate", "--repo", repo.root, repo.root / path).status == 0
    # a new problem fails nothing yet; the cluster is no longer a candidate
    audit = cli("audit", "--repo", repo.root, "--no-history", "--as-of", AS_OF, "--format", "json")
    findings = json.loads(audit.out)["findings"]
    assert [f for f in findings if f["path"] == path] == []
    assert not [f for f in findings if f["rule"] == "PRB-CANDIDATE" and "0053" in f["record"]]
    # moved to known-error without writing it: fails on exactly what the owner must write
    (repo.root / path).write_text(
        text.replace("status: new ", "status: known-error ").replace(
            "opened_at:",
            "known_error_at: 2026-03-31T12:00:00Z\nroot_cause: TBD\nworkaround: TBD\n"
            "actions: []\nopened_at:",
        ),
        encoding="utf-8",
    )
    audit = cli("audit", "--repo", repo.root, "--no-history", "--as-of", AS_OF, "--format", "json")
    mine = sorted(
        (f["rule"], f["message"]) for f in json.loads(audit.out)["findings"] if f["path"] == path
    )
    assert [rule for rule, _ in mine] == ["PRB-ACTIONS"] + ["PRB-KNOWN-ERROR"] * 7
    assert {m for r, m in mine if "section" in m} == {
        "section 'Investigation' holds only a placeholder ('TBD')",
        "section 'Permanent fix' holds only a placeholder ('TBD')",
        "section 'Root cause' holds only a placeholder ('TBD')",
        "section 'Workaround' holds only a placeholder ('TBD')",
    }


def test_new_problem_refuses_bad_incidents(repo: Repo, cli: InvokeCli) -> None:
    _clusters(repo)
    args = ("new", "problem", "--repo", repo.root, "--no-history", "--as-of", AS_OF)
    none = cli(*args)
    assert none.status == 2 and "needs --incident" in none.err
    unknown = cli(*args, "--incident", "INC-2026-0999")
    assert unknown.status == 2 and "INC-2026-0999: no such incident" in unknown.err
    taken = cli(*args, "--incident", "INC-2026-0042")
    assert taken.status == 2 and "already linked to PRB-2026-0007" in taken.err
    twice = cli("new", "pir", "--repo", repo.root, "--no-history", "--incident", "INC-2026-0051",
                "--incident", "INC-2026-0052")  # fmt: skip
    assert twice.status == 2
    assert not list((repo.root / "records/problems").glob("PRB-2026-0008*"))
    assert BASE["problem"][0] == PATH
