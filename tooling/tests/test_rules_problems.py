"""Problem rules and problem references: PRB-CANDIDATE, PRB-KNOWN-ERROR, PRB-ACTIONS,
PRB-FIX, PRB-RECURRED and REF-LINK on problems, each bad input at its exact line and column
(never an internal error)."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsledger.rules.examples import BASE

from conftest import Hit, InvokeCli, Repo, audit_rule

PATH = "records/problems/PRB-2026-0007.md"

#: the base problem of the rule examples, line by line (line 1 is the opening ---)
PROBLEM = BASE["problem"][1]


def base(repo: Repo) -> None:
    for kind, (path, text) in BASE.items():
        if kind != "problem":
            repo.write(path, text, dedent=False)


def problem(repo: Repo, text: str = PROBLEM) -> None:
    repo.write(PATH, text, dedent=False)


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


def at(text: str, needle: str, value: str) -> tuple[int, int]:
    """Line and column of ``value`` on the first line containing ``needle``."""
    line = line_of(text, needle)
    return line, text.splitlines()[line - 1].index(value) + 1


def incident(
    repo: Repo, number: int, day: str, *, category: str = "connection-pool", **extra: str
) -> None:
    lines = [
        f"id: INC-2026-{number:04d}",
        f"title: Orders-db pool exhausted again ({number})",
        "priority: P3",
        "status: closed",
        "service: orders-db",
        "detection: automated",
        "source: monitoring",
        f"category: {category}",
        "impact: Checkout requests failed for about a fifth of customers for 30 minutes.",
        f"detected_at: 2026-{day}T09:12:00Z",
        f"acknowledged_at: 2026-{day}T09:17:00Z",
        f"mitigated_at: 2026-{day}T09:42:00Z",
        f"resolved_at: 2026-{day}T10:12:00Z",
        f"closed_at: 2026-{day}T16:00:00Z",
        "resolution: Restarted the pgbouncer pods one at a time as RB-0003 describes.",
        *(f"{k}: {v}" for k, v in extra.items()),
    ]
    repo.write(
        f"records/incidents/INC-2026-{number:04d}.yaml", "\n".join(lines) + "\n", dedent=False
    )


def test_the_base_problem_passes_every_problem_rule(repo: Repo) -> None:
    base(repo)
    problem(repo)
    for rule in (
        "REF-LINK",
        "PRB-CANDIDATE",
        "PRB-KNOWN-ERROR",
        "PRB-ACTIONS",
        "PRB-FIX",
        "PRB-RECURRED",
        "SCHEMA",
        "REF-ID",
    ):
        assert audit_rule(repo, rule) == [], rule


def test_incident_linked_twice_is_reported_at_the_second_entry(repo: Repo) -> None:
    base(repo)
    text = PROBLEM.replace(
        "incidents: [INC-2026-0042]", "incidents:\n  - INC-2026-0042\n  - INC-2026-0042"
    )
    problem(repo, text)
    line = line_of(text, "incidents:") + 2
    assert audit_rule(repo, "REF-LINK") == [
        Hit(
            PATH,
            line,
            5,
            "REF-LINK",
            "error",
            "incident INC-2026-0042 is listed twice (entries 1 and 2)",
        )
    ]


def test_unknown_incident_service_runbook_and_change(repo: Repo) -> None:
    base(repo)
    text = (
        PROBLEM.replace("incidents: [INC-2026-0042]", "incidents: [INC-2026-0042, INC-2026-0999]")
        .replace("services: [orders-db]", "services: [orders-db, nowhere]")
        .replace("runbooks: [RB-0003]", "runbooks: [RB-0404]")
        .replace("fix_change: CHG-2026-0107", "fix_change: CHG-2026-0999")
    )
    problem(repo, text)
    hits = audit_rule(repo, "REF-LINK")
    assert [(h.line, h.column, h.message) for h in hits] == [
        (*at(text, "services:", "nowhere"), "service 'nowhere' does not exist"),
        (*at(text, "incidents:", "INC-2026-0999"), "incident 'INC-2026-0999' does not exist"),
        (*at(text, "runbooks:", "RB-0404"), "runbook 'RB-0404' does not exist"),
        (*at(text, "fix_change:", "CHG"), "change 'CHG-2026-0999' does not exist"),
    ]


def test_fix_change_failed_or_rolled_back(repo: Repo) -> None:
    base(repo)
    problem(repo)
    change = BASE["change"][1]
    for status, outcome, said in (
        ("failed", "failed", "failed"),
        ("rolled-back", "rolled-back", "was rolled back"),
        ("rolled-back", "successful", "was rolled back"),  # as change_success_rate reads it
        ("approved", None, "is not implemented successfully"),
    ):
        text = change.replace("status: implemented", f"status: {status}")
        if outcome:
            text = text.replace("outcome: successful", f"outcome: {outcome}")
        repo.write(BASE["change"][0], text, dedent=False)
        hits = audit_rule(repo, "PRB-FIX")
        assert len(hits) == 1, status
        assert (hits[0].line, hits[0].column) == (line_of(PROBLEM, "fix_change:"), 13)
        assert hits[0].message.startswith(f"fix change CHG-2026-0107 {said}")


def test_known_error_before_opened(repo: Repo) -> None:
    base(repo)
    text = PROBLEM.replace(
        "known_error_at: 2026-03-06T15:00:00Z", "known_error_at: 2026-03-04T15:00:00Z"
    )
    problem(repo, text)
    assert audit_rule(repo, "PRB-KNOWN-ERROR") == [
        Hit(
            PATH,
            line_of(text, "known_error_at:"),
            17,
            "PRB-KNOWN-ERROR",
            "error",
            "known_error_at 2026-03-04T15:00:00Z is before opened_at 2026-03-05T10:00:00Z",
        )
    ]


def test_problem_linking_itself_through_a_recurrence_cycle(repo: Repo, cli: InvokeCli) -> None:
    base(repo)
    incident(repo, 51, "03-10", recurrence_of="INC-2026-0052")
    incident(repo, 52, "03-12", recurrence_of="INC-2026-0051")
    text = PROBLEM.replace(
        "incidents: [INC-2026-0042]", "incidents: [INC-2026-0051, INC-2026-0052]"
    )
    problem(repo, text)
    hits = [h for h in audit_rule(repo, "REF-LINK") if h.path == PATH]
    assert hits == [
        Hit(
            PATH,
            line_of(text, "incidents:"),
            13,
            "REF-LINK",
            "error",
            "PRB-2026-0007 links itself through a recurrence_of cycle of its incidents: "
            "INC-2026-0051 -> INC-2026-0052 -> INC-2026-0051",
        )
    ]
    result = cli("audit", "--repo", repo.root, "--no-history", "--as-of", "2026-03-31T12:00:00Z")
    assert result.status == 1, result.err
    assert "Traceback" not in result.err


def test_known_error_content_runbook_and_sections(repo: Repo) -> None:
    base(repo)
    cause = next(line for line in PROBLEM.splitlines() if line.startswith("root_cause:"))
    text = PROBLEM.replace("runbooks: [RB-0003]\n", "").replace(cause, "root_cause: TBD")
    head, _, rest = text.partition("## Workaround\n")
    text = head + "## Workaround\nn/a\n\n" + rest.split("\n\n", 1)[1]
    problem(repo, text)
    hits = audit_rule(repo, "PRB-KNOWN-ERROR")
    assert [(h.line, h.column, h.message) for h in hits] == [
        (line_of(text, "root_cause:"), 13, "root cause is a placeholder ('TBD')"),
        (
            line_of(text, "workaround:"),
            13,
            "the workaround for tier-1 service orders-db is in no linked runbook",
        ),
        (
            line_of(text, "## Workaround"),
            1,
            "section 'Workaround' holds only a placeholder ('n/a')",
        ),
    ]


def test_known_error_late_is_a_warning_and_missing_while_investigating(repo: Repo) -> None:
    base(repo)
    # opened Thu 5 March; 20 business days later is Thu 2 April (no holiday in between)
    text = PROBLEM.replace(
        "known_error_at: 2026-03-06T15:00:00Z", "known_error_at: 2026-04-03T09:00:00Z"
    )
    problem(repo, text)
    hits = audit_rule(repo, "PRB-KNOWN-ERROR", as_of="2026-04-10T12:00:00Z")
    assert [(h.line, h.severity) for h in hits] == [(line_of(text, "known_error_at:"), "warning")]
    assert "known error late" in hits[0].message and "2026-04-02" in hits[0].message
    on_time = PROBLEM.replace(
        "known_error_at: 2026-03-06T15:00:00Z", "known_error_at: 2026-04-02T20:00:00Z"
    )
    problem(repo, on_time)
    assert audit_rule(repo, "PRB-KNOWN-ERROR", as_of="2026-04-10T12:00:00Z") == []
    new = PROBLEM.replace("status: resolved", "status: investigating")
    problem(repo, new)
    assert audit_rule(repo, "PRB-KNOWN-ERROR", as_of="2026-04-02T20:00:00Z") == []
    late = audit_rule(repo, "PRB-KNOWN-ERROR", as_of="2026-04-03T00:00:00Z")
    assert [(h.line, h.severity) for h in late] == [(line_of(new, "status:"), "warning")]


def test_problem_actions_follow_the_pir_action_rules(repo: Repo) -> None:
    base(repo)
    start = PROBLEM.index("actions:")
    end = PROBLEM.index("fix_change:")
    text = (
        PROBLEM[:start]
        + "actions:\n  - {id: A1, title: Investigate, status: open}\n"
        + PROBLEM[end:]
    )
    problem(repo, text)
    hits = audit_rule(repo, "PRB-ACTIONS")
    line = line_of(text, "- {id: A1")
    assert [(h.line, h.column, h.message) for h in hits] == [
        (line, 5, "action A1 has no due date"),
        (line, 5, "action A1 has no owner"),
        (line, 5, "action A1 has no type"),
        (line, 5, "action A1 verification is missing"),
        (line, 21, "action A1 title contains the vague phrase 'investigate'"),
    ]
    none = PROBLEM[:start] + "actions: []\n" + PROBLEM[end:]
    problem(repo, none)
    assert [h.message for h in audit_rule(repo, "PRB-ACTIONS")] == [
        "problem is resolved but has no actions"
    ]


def test_recurred_after_fix(repo: Repo) -> None:
    base(repo)
    incident(repo, 51, "03-20")
    text = PROBLEM.replace(
        "incidents: [INC-2026-0042]", "incidents: [INC-2026-0042, INC-2026-0051]"
    )
    problem(repo, text)
    assert audit_rule(repo, "PRB-RECURRED") == [
        Hit(
            PATH,
            line_of(text, "incidents:"),
            28,
            "PRB-RECURRED",
            "warning",
            "the fix did not hold: recurred: INC-2026-0051 detected after the fix on "
            "2026-03-11T09:00:00Z (first 2026-03-20T09:12:00Z, 9d later)",
        )
    ]


def test_candidate_cluster_names_its_unlinked_incidents(repo: Repo) -> None:
    base(repo)
    problem(repo)
    # a chain 60 + 60 days apart is one cluster (each link within the 90-day window)
    incident(repo, 51, "01-05")
    incident(repo, 52, "03-06")
    incident(repo, 53, "03-20", category="Connection-Pool")
    incident(repo, 54, "03-21", category="disk")  # another category: not in it
    hits = audit_rule(repo, "PRB-CANDIDATE")
    assert hits == [
        Hit(
            "records/incidents/INC-2026-0053.yaml",
            8,
            11,
            "PRB-CANDIDATE",
            "warning",
            "3 recurring incidents (orders-db/connection-pool) are not linked to any problem: "
            "INC-2026-0051, INC-2026-0052, INC-2026-0053",
        )
    ]
    # linking one leaves two: fewer than candidate_min_incidents (3)
    text = PROBLEM.replace(
        "incidents: [INC-2026-0042]", "incidents: [INC-2026-0042, INC-2026-0051]"
    )
    problem(repo, text)
    assert audit_rule(repo, "PRB-CANDIDATE") == []


def test_candidate_window_and_minimum_come_from_policy(repo: Repo) -> None:
    base(repo)
    problem(repo)
    incident(repo, 51, "01-05")
    incident(repo, 52, "03-06")  # 60 days later
    incident(repo, 53, "03-20")
    policy = (repo.root / "policy.yaml").read_text(encoding="utf-8")
    repo.write(
        "policy.yaml",
        policy.replace("candidate_window: 90d", "candidate_window: 30d").replace(
            "candidate_min_incidents: 3", "candidate_min_incidents: 2"
        ),
        dedent=False,
    )
    hits = audit_rule(repo, "PRB-CANDIDATE")
    assert [h.message.split(": ", 1)[1] for h in hits] == ["INC-2026-0052, INC-2026-0053"]


def test_recurrence_cycle_never_loops_in_clusters(repo: Repo, tmp_path: Path) -> None:
    base(repo)
    problem(repo)
    incident(repo, 51, "03-10", category="a", recurrence_of="INC-2026-0053")
    incident(repo, 52, "03-12", category="b", recurrence_of="INC-2026-0051")
    incident(repo, 53, "03-14", category="c", recurrence_of="INC-2026-0052")
    hits = audit_rule(repo, "PRB-CANDIDATE")
    assert len(hits) == 1 and "INC-2026-0051, INC-2026-0052, INC-2026-0053" in hits[0].message


def _history_repo(repo: Repo) -> None:
    from conftest import git, git_init

    base(repo)
    problem(
        repo,
        PROBLEM.replace("status: resolved", "status: closed").replace(
            "resolved_at: 2026-03-11T09:00:00Z",
            "resolved_at: 2026-03-11T09:00:00Z\nclosed_at: 2026-03-12T09:00:00Z",
        ),
    )
    git_init(repo.root)
    git(repo.root, "add", "-A")
    git(repo.root, "commit", "-q", "-m", "Problem closed", date="2026-03-12T10:00:00Z")


def _history_findings(repo: Repo, rule: str) -> list[Hit]:
    from opsledger.workspace import Workspace

    found = Workspace(repo.root, as_of="2026-03-31T12:00:00Z").findings(select=(rule,))
    return [Hit(f.path, f.line, f.column, f.rule, f.severity, f.message) for f in found]


def test_closed_problem_edited_is_after_close_but_a_recorded_recurrence_is_not(
    repo: Repo,
) -> None:
    from conftest import git

    _history_repo(repo)
    path = repo.root / PATH
    text = path.read_text(encoding="utf-8")
    incident(repo, 51, "03-20")
    path.write_text(
        text.replace("incidents: [INC-2026-0042]", "incidents: [INC-2026-0042, INC-2026-0051]"),
        encoding="utf-8",
    )
    git(repo.root, "add", "-A")
    git(repo.root, "commit", "-q", "-m", "Recurrence", date="2026-03-20T12:00:00Z")
    assert _history_findings(repo, "GIT-AFTER-CLOSE") == []
    edited = path.read_text(encoding="utf-8").replace("halve it unreviewed", "halve it")
    path.write_text(edited, encoding="utf-8")
    git(repo.root, "commit", "-q", "-am", "Soften", date="2026-03-21T12:00:00Z")
    hits = _history_findings(repo, "GIT-AFTER-CLOSE")
    assert [(h.path, h.line) for h in hits] == [(PATH, line_of(edited, "root_cause:"))]
    assert hits[0].message.startswith("root_cause changed after the record was closed")


def test_deleted_problem_is_reported(repo: Repo) -> None:
    from conftest import git

    _history_repo(repo)
    git(repo.root, "rm", "-q", PATH)
    git(repo.root, "commit", "-q", "-m", "Drop", date="2026-03-21T12:00:00Z")
    hits = _history_findings(repo, "GIT-DELETED")
    assert [(h.path, h.line, h.rule) for h in hits] == [(PATH, 1, "GIT-DELETED")]


def test_times_in_the_future(repo: Repo) -> None:
    base(repo)
    text = PROBLEM.replace("resolved_at: 2026-03-11T09:00:00Z", "resolved_at: 2026-04-11T09:00:00Z")
    problem(repo, text)
    assert audit_rule(repo, "PRB-FIX") == [
        Hit(
            PATH,
            *at(text, "resolved_at:", "2026"),
            "PRB-FIX",
            "error",
            "resolved_at 2026-04-11T09:00:00Z is in the future (now is 2026-03-31T12:00:00Z)",
        )
    ]
    assert audit_rule(repo, "PRB-FIX", as_of="2026-04-12T00:00:00Z") == []
    opened = PROBLEM.replace("opened_at: 2026-03-05T10:00:00Z", "opened_at: 2026-04-05T10:00:00Z")
    problem(repo, opened)
    messages = [h.message for h in audit_rule(repo, "PRB-KNOWN-ERROR")]
    assert "opened_at 2026-04-05T10:00:00Z is in the future (now is 2026-03-31T12:00:00Z)" in (
        messages
    )


def test_problem_ids_follow_the_id_rules(repo: Repo) -> None:
    base(repo)
    repo.write("records/problems/PRB-2026-0008.md", PROBLEM, dedent=False)  # says 0007
    repo.write("records/incidents/PRB-2026-0009.yaml", "id: PRB-2026-0009\n", dedent=False)
    hits = audit_rule(repo, "REF-ID")
    assert [(h.path, h.message) for h in hits] == [
        (
            "records/incidents/PRB-2026-0009.yaml",
            "PRB-2026-0009 is a problem ID but the file is in records/incidents/",
        ),
        (
            "records/problems/PRB-2026-0008.md",
            "file name 'PRB-2026-0008' does not match id 'PRB-2026-0007'",
        ),
    ]


MANGLED = [
    "---\nid: PRB-2026-0007\nincidents: INC-2026-0042\nstatus: resolved\n---\n",
    "---\nid: PRB-2026-0007\nincidents: [1, null, [INC-2026-0042], {a: b}]\n---\n",
    "---\nid: PRB-2026-0007\nstatus: [known-error]\nopened_at: yesterday\n---\n",
    "---\nid: PRB-2026-0007\nstatus: resolved\nresolved_at: 2026-13-40T99:00:00Z\n"
    "fix_change: [CHG-2026-0107]\nknown_error_at: 12\n---\n",
    "---\nid: PRB-2026-0007\nactions: [1, {id: A1, due: never}, {}]\nstatus: investigating\n---\n",
    "---\nid: PRB-2026-0007\nservices: orders-db\nrunbooks: RB-0003\nworkaround: {x: 1}\n---\n",
    "---\n[not, a, mapping]\n---\n",
    "---\nid: PRB-2026-0007\n---\n" + "# " * 50 + "\n",
    "no front matter at all\n",
]


@pytest.mark.parametrize("text", MANGLED, ids=range(len(MANGLED)))
def test_mangled_problems_are_findings_never_a_crash(repo: Repo, cli: InvokeCli, text: str) -> None:
    base(repo)
    problem(repo, text)
    incident(repo, 51, "03-10", recurrence_of="INC-2026-0051")
    for command in ("audit", "validate"):
        args = [command, "--repo", repo.root]
        if command == "audit":
            args += ["--no-history", "--as-of", "2026-03-31T12:00:00Z"]
        result = cli(*args)
        assert result.status == 1, (command, result.err)
        assert "Traceback" not in result.err
        assert PATH in result.out
    assert cli("problems", "suggest", "--repo", repo.root).status == 0
    out = repo.root.parent / "site"
    built = cli(
        "site", "build", "--repo", repo.root, "--output", out, "--no-history",
        "--as-of", "2026-03-31T12:00:00Z",
    )  # fmt: skip
    assert built.status == 0, built.err
