"""Problem KPIs worked out by hand: problem_backlog, time_to_known_error,
recurrence_after_fix, problem_coverage."""

from __future__ import annotations

import pytest
from test_kpis import kpi, reasons
from test_rules_problems import base, incident

from conftest import Repo

SINCE, UNTIL = "2026-01-01", "2026-04-01"  # as of 2026-03-31T12:00:00Z
ACTION = """\
actions:
  - {id: A1, title: Move the pool size into reviewed config, type: preventive,
     owner: marco.rossi@example.com, due: "2026-03-20", status: done,
     verification: A deploy changing the pool size fails the configuration check.}
"""
KNOWN = """\
root_cause: The deploy template sets the orders-db pool size without review.
workaround: Roll back the deploy and restart the pgbouncer pods one at a time.
runbooks: [RB-0003]
"""


def problem(repo: Repo, number: int, status: str, opened: str, incidents: str, extra: str) -> None:
    text = (
        f"---\nid: PRB-2026-{number:04d}\ntitle: Pool exhausted ({number})\nstatus: {status}\n"
        f"services: [orders-db]\nowner: lena.fischer@example.com\nopened_at: {opened}\n"
        f"incidents: [{incidents}]\n{extra}---\n## Problem statement\nThe pool runs out.\n"
    )
    repo.write(f"records/problems/PRB-2026-{number:04d}.md", text, dedent=False)


@pytest.fixture
def problems(repo: Repo) -> Repo:
    base(repo)
    for n, day in ((51, "03-01"), (52, "03-05"), (53, "03-10")):
        incident(repo, n, day)
    for n, day in ((61, "02-01"), (62, "02-02"), (63, "02-03")):
        incident(repo, n, day, category="disk")
    fixed = KNOWN + ACTION + "fix_change: CHG-2026-0107\n"
    problem(repo, 1, "new", "2026-03-21T12:00:00Z", "INC-2026-0051", "")
    problem(repo, 2, "investigating", "2025-12-01T12:00:00Z", "INC-2026-0052", ACTION)
    problem(
        repo, 3, "known-error", "2026-01-10T00:00:00Z", "INC-2026-0062",
        KNOWN + ACTION + "known_error_at: 2026-01-14T12:00:00Z\n",
    )  # fmt: skip
    problem(
        repo, 4, "resolved", "2026-02-01T00:00:00Z", "INC-2026-0042, INC-2026-0053",
        fixed + "known_error_at: 2026-02-03T00:00:00Z\nresolved_at: 2026-02-20T00:00:00Z\n",
    )  # fmt: skip
    problem(
        repo, 5, "resolved", "2026-02-05T00:00:00Z", "INC-2026-0061",
        fixed + "known_error_at: 2026-02-15T00:00:00Z\nresolved_at: 2026-03-01T00:00:00Z\n",
    )  # fmt: skip
    problem(
        repo, 6, "known-error", "2026-03-20T00:00:00Z", "INC-2026-0063",
        KNOWN + ACTION + "known_error_at: 2026-03-19T00:00:00Z\n",
    )  # fmt: skip
    return repo


def test_problem_backlog_counts_unresolved_by_age_band(problems: Repo) -> None:
    result = kpi(problems, "problem_backlog", since=SINCE, until=UNTIL)
    # 0001 (10 days), 0006 (11.5 days), 0003 (80.5 days), 0002 (120 days); 0004/0005 resolved
    assert (result.value, result.n) == (4, 4)
    assert sorted(o.record for o in result.observations) == [
        "PRB-2026-0001",
        "PRB-2026-0002",
        "PRB-2026-0003",
        "PRB-2026-0006",
    ]
    assert result.notes == ("by age: up to 30 days 2, 31 to 90 days 1, 91 to 180 days 1",)
    assert result.target is not None and result.status == "met"  # default target: max 10


def test_time_to_known_error_median_in_days(problems: Repo) -> None:
    result = kpi(problems, "time_to_known_error", since=SINCE, until=UNTIL)
    # 0003: 4.5 days, 0004: 2.0 days, 0005: 10.0 days -> median 4.5
    assert (result.value, result.n) == (4.5, 3)
    assert reasons(result) == [
        ("PRB-2026-0006", "known_error_at is before opened_at (PRB-KNOWN-ERROR)")
    ]
    # a period holding only 0005's known error
    only = kpi(problems, "time_to_known_error", since="2026-02-10", until="2026-03-01")
    assert (only.value, only.n) == (10.0, 1)


def test_recurrence_after_fix(problems: Repo) -> None:
    result = kpi(problems, "recurrence_after_fix", since=SINCE, until=UNTIL)
    # 0004 resolved 02-20 and links INC-2026-0053 detected 03-10: recurred; 0005 held
    assert (result.value, result.n) == (0.5, 2)
    later = kpi(problems, "recurrence_after_fix", since="2026-02-25", until=UNTIL)
    assert (later.value, later.n) == (0.0, 1)


def test_problem_coverage(problems: Repo) -> None:
    result = kpi(problems, "problem_coverage", since=SINCE, until=UNTIL)
    # clusters {51, 52, 53} and {61, 62, 63}: linked 51, 52, 53, 61, 62, 63 -> every one
    assert (result.value, result.n) == (1.0, 6)
    (problems.root / "records/problems/PRB-2026-0001.md").unlink()
    (problems.root / "records/problems/PRB-2026-0002.md").unlink()
    fewer = kpi(problems, "problem_coverage", since=SINCE, until=UNTIL)
    assert (round(fewer.value or 0, 4), fewer.n) == (round(4 / 6, 4), 6)
    march = kpi(problems, "problem_coverage", since="2026-03-01", until=UNTIL)
    # March holds 51, 52 (now unlinked) and 53 (linked by 0004); INC-2026-0042 is in no cluster
    assert (round(march.value or 0, 4), march.n) == (round(1 / 3, 4), 3)


def test_a_known_error_time_counts_once_the_status_says_so(problems: Repo) -> None:
    """A problem still investigating with a known_error_at already written: PRB-KNOWN-ERROR
    says it has no known error yet, and the KPI does not measure it either (it measured 1
    day for it)."""
    problem(
        problems, 7, "investigating", "2026-02-10T00:00:00Z", "INC-2026-0051",
        ACTION + "known_error_at: 2026-02-11T00:00:00Z\n",
    )  # fmt: skip
    result = kpi(problems, "time_to_known_error", since=SINCE, until=UNTIL)
    assert (result.value, result.n) == (4.5, 3)  # as before: 0003, 0004, 0005
    assert "PRB-2026-0007" not in {o.record for o in result.observations}
