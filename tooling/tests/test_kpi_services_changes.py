"""Service and change KPIs: availability, MTBF, aged backlog, change success, emergency
rate, change record quality and the audit pass rate, each worked out by hand."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_kpis import RESOLUTION, groups, incident, kpi, reasons, write_yaml

from conftest import INCIDENT, RUNBOOK, InvokeCli, Repo

SERVICES = """\
- id: orders-db
  name: Orders database
  tier: 1
  owner: lena.fischer@example.com
  availability_target: 99.95
- id: payments
  name: Payments gateway
  tier: 1
  owner: omar.haddad@example.com
  availability_target: 99.0
- id: storefront
  name: Storefront
  tier: 2
  owner: omar.haddad@example.com
  availability_target: 99.9
"""


def outage(start: str, end: str | None, **fields: Any) -> dict[str, Any]:
    done = {"status": "mitigated", "acknowledged_at": start, "mitigated_at": end}
    return {"priority": "P1", **(done if end else {}), **fields}


# --- availability ----------------------------------------------------------------------


@pytest.fixture
def outages(repo: Repo) -> Repo:
    repo.write("records/services.yaml", SERVICES)
    # orders-db: P1 10:00-12:00 and P2 11:00-13:00 overlap -> merged 10:00-13:00 = 3 h
    incident(
        repo, 1, "2026-03-02T10:00:00Z", **outage("2026-03-02T10:00:00Z", "2026-03-02T12:00:00Z")
    )
    incident(
        repo,
        2,
        "2026-03-02T11:00:00Z",
        **outage("2026-03-02T11:00:00Z", "2026-03-02T13:00:00Z", priority="P2"),
    )
    # an outage from 28 Feb 22:00 to 1 Mar 02:00: 2 h inside the period (GMT = UTC in March)
    incident(
        repo, 3, "2026-02-28T22:00:00Z", **outage("2026-02-28T22:00:00Z", "2026-03-01T02:00:00Z")
    )
    # a P3 is not an outage; a tier-2 service is not measured
    incident(
        repo,
        4,
        "2026-03-03T10:00:00Z",
        **outage("2026-03-03T10:00:00Z", "2026-03-03T20:00:00Z", priority="P3"),
    )
    incident(
        repo,
        5,
        "2026-03-03T10:00:00Z",
        service="storefront",
        **outage("2026-03-03T10:00:00Z", "2026-03-03T20:00:00Z"),
    )
    # payments: P1 still open since 10 March 23:00 -> down until the period end (1 h)
    incident(repo, 6, "2026-03-10T23:00:00Z", service="payments", priority="P1")
    # mitigated but no mitigated_at: excluded, not silently up
    incident(repo, 7, "2026-03-05T10:00:00Z", service="payments", priority="P2", status="mitigated")
    return repo


def test_availability_per_tier1_service(outages: Repo) -> None:
    result = kpi(outages, "availability", since="2026-03-01", until="2026-03-11")
    # period 1-11 March = 10 days = 240 h
    # orders-db: 3 h + 2 h = 5 h down -> 100 x (1 - 5/240) = 97.9167% (target 99.95: missed)
    # payments: 1 h down -> 100 x (1 - 1/240) = 99.5833% (target 99.0: met)
    assert groups(result, "service") == {
        "orders-db": (97.9167, 3, "missed"),
        "payments": (99.5833, 1, "met"),
    }
    # the KPI's value is the lowest service's; missed because orders-db missed its target
    assert (round(result.value or 0, 4), result.n, result.status) == (97.9167, 4, "missed")
    assert reasons(result) == [("INC-2026-0007", "status mitigated but no mitigated_at")]


def test_availability_by_month_and_until_as_of(outages: Repo) -> None:
    # without --until the period ends at --as-of 2026-03-11T00:00Z: the same 240 h
    result = kpi(
        outages, "availability", since="2026-03-01", as_of="2026-03-11T00:00:00Z", by=("month",)
    )
    assert groups(result, "month") == {"2026-03": (97.9167, 4, "missed")}


def test_availability_all_up_is_100(repo: Repo) -> None:
    # orders-db (tier 1) had no outage: 100% over the period, met
    result = kpi(repo, "availability", since="2026-03-01", until="2026-03-08")
    assert (result.value, result.n, result.status) == (100.0, 0, "met")


# --- MTBF ------------------------------------------------------------------------------


def test_mtbf_per_service_and_pooled(repo: Repo) -> None:
    repo.write("records/services.yaml", SERVICES)
    for number, when in (
        (1, "2026-03-01T00:00:00Z"),
        (2, "2026-03-02T00:00:00Z"),
        (3, "2026-03-04T00:00:00Z"),
    ):
        incident(repo, number, when)  # orders-db: gaps 24 h and 48 h
    incident(repo, 4, "2026-03-05T00:00:00Z", service="payments")
    incident(repo, 5, "2026-03-05T06:00:00Z", service="payments")  # gap 6 h
    incident(repo, 6, "2026-03-05T06:00:00Z", service="storefront")  # only one: no interval
    result = kpi(repo, "mtbf")
    # orders-db mean(24, 48) = 36 h; payments 6 h; pooled mean(24, 48, 6) = 26 h
    assert groups(result, "service") == {
        "orders-db": (36, 2, "no target"),
        "payments": (6, 1, "no target"),
    }
    assert (result.value, result.n) == (26, 3)
    assert reasons(result) == [("INC-2026-0006", "only incident on storefront in the period")]


# --- backlog ---------------------------------------------------------------------------

PIR = {
    "id": "PIR-2026-0001",
    "incident": "INC-2026-0001",
    "status": "approved",
    "authors": ["lena.fischer@example.com"],
    "root_cause": "A deploy halved the connection pool size.",
}


def action(action_id: str, due: str | None, status: str) -> dict[str, Any]:
    data = {
        "id": action_id,
        "title": f"Add a saturation alert on orders-db pool usage ({action_id})",
        "type": "detective",
        "owner": "lena.fischer@example.com",
        "due": due,
        "status": status,
        "verification": "Alert fires in the staging load test.",
    }
    return {k: v for k, v in data.items() if v is not None}


def write_pir(repo: Repo, actions: list[dict[str, Any]], **fields: Any) -> None:
    import yaml

    front = yaml.safe_dump({**PIR, **fields, "actions": actions}, sort_keys=False)
    body = "## Summary\nPool exhausted after a deploy.\n"
    repo.write(
        f"records/pirs/{fields.get('id', PIR['id'])}.md", f"---\n{front}---\n{body}", dedent=False
    )


CHANGE: dict[str, Any] = {
    "title": "Raise the orders-db connection pool to 120 and add a saturation alert",
    "type": "normal",
    "risk": "low",
    "status": "implemented",
    "services": ["orders-db"],
    "requested_by": "lena.fischer@example.com",
    "implementer": "marco.rossi@example.com",
    "description": "Raise max_connections on orders-db from 60 to 120 and the pool to match.",
    "justification": "The pool was exhausted in INC-2026-0042; peak usage is 55 of 60.",
    "impact": "Connections drop for 5 seconds while pgbouncer reloads; retries absorb it.",
    "testing": {
        "summary": "Load test at twice peak traffic on staging with the new pool; p99 under 80 ms.",
        "evidence": ["https://ci.example.com/orders-db/load-test/runs/4411"],
    },
    "rollback": {
        "plan": "Set max_connections back to 60 with the pool-size playbook and reload pgbouncer.",
        "trigger": "Checkout error rate above 1% or replication lag above 30 seconds.",
        "tested": True,
        "estimated_duration": "15m",
    },
}


def change(repo: Repo, number: int, start: str, end: str, **fields: Any) -> str:
    """A valid low-risk normal change with its window at start-end (approved a day before,
    notified 2 days before)."""
    from datetime import timedelta

    from opsledger.timeutil import format_timestamp, parse_timestamp

    record_id = f"CHG-2026-{number:04d}"
    begin = parse_timestamp(start)
    data: dict[str, Any] = {
        "id": record_id,
        **CHANGE,
        "window": {"start": start, "end": end},
        "approvals": [
            {
                "by": "priya.shah@example.com",
                "role": "cab",
                "at": format_timestamp(begin - timedelta(days=1)),
                "decision": "approved",
            }
        ],
        "notifications": [
            {
                "at": format_timestamp(begin - timedelta(days=2)),
                "audience": ["support"],
                "channel": "slack:#changes",
            }
        ],
        "implementation": {
            "started_at": start,
            "completed_at": end,
            "outcome": "successful",
            "validation": "Pool usage peaked at 61% in the 22:00 batch and p99 was unchanged.",
        },
        **fields,
    }
    write_yaml(
        repo, f"records/changes/{record_id}.yaml", {k: v for k, v in data.items() if v is not None}
    )
    return record_id


def test_backlog_aged_as_of(repo: Repo) -> None:
    # --as-of 2026-03-31T12:00Z; thresholds: incident 14d, change 30d, action 0d past due
    incident(repo, 1, "2026-03-10T09:00:00Z")  # open 21 days: aged
    incident(
        repo,
        2,
        "2026-03-25T09:00:00Z",
        status="mitigated",
        acknowledged_at="2026-03-25T09:05:00Z",
        mitigated_at="2026-03-25T10:00:00Z",
    )  # 6 days: not aged
    change(
        repo,
        1,
        "2026-02-20T21:00:00Z",
        "2026-02-20T22:00:00Z",
        status="scheduled",
        implementation=None,
    )  # window started 39 days ago: aged
    change(
        repo,
        2,
        "2026-03-20T21:00:00Z",
        "2026-03-20T22:00:00Z",
        status="approved",
        implementation=None,
    )  # 11 days: not aged
    change(repo, 3, "2026-01-05T21:00:00Z", "2026-01-05T22:00:00Z")  # implemented: not open
    write_pir(
        repo,
        [
            action("A1", "2026-03-30", "open"),  # past the end of 30 March: aged
            action("A2", "2026-03-31", "in-progress"),  # due today: not yet
            action("A3", "2026-01-01", "done"),  # done: not open
            action("A4", None, "open"),  # no due date: excluded
        ],
    )
    result = kpi(repo, "backlog_aged", by=("service",))
    # aged: INC-0001, CHG-0001, PIR-0001#A1 = 3 of 6 open items examined
    assert (result.value, result.n) == (3, 6)
    assert reasons(result) == [("PIR-2026-0001#A4", "open action with no due date")]
    assert groups(result, "service")["orders-db"] == (3, 6, "no target")


# --- changes ---------------------------------------------------------------------------


def test_change_success_and_emergency_rates(repo: Repo) -> None:
    change(repo, 1, "2026-03-02T21:00:00Z", "2026-03-02T22:00:00Z")  # success
    change(repo, 2, "2026-03-03T21:00:00Z", "2026-03-03T22:00:00Z")  # caused INC-0001
    change(
        repo,
        3,
        "2026-03-04T21:00:00Z",
        "2026-03-04T22:00:00Z",
        status="failed",
        type="emergency",
        related_incident="INC-2026-0001",
        implementation={
            "started_at": "2026-03-04T21:00:00Z",
            "outcome": "failed",
            "validation": "Errors rose at once, so the change was stopped.",
        },
    )
    change(
        repo,
        4,
        "2026-03-05T21:00:00Z",
        "2026-03-05T22:00:00Z",
        status="rolled-back",
        implementation={
            "started_at": "2026-03-05T21:00:00Z",
            "outcome": "rolled-back",
            "validation": "Rolled back after latency doubled on the replicas.",
        },
    )
    change(
        repo,
        5,
        "2026-03-06T21:00:00Z",
        "2026-03-06T22:00:00Z",
        status="scheduled",
        implementation=None,
    )
    change(repo, 6, "2026-03-07T21:00:00Z", "2026-03-07T22:00:00Z", implementation=None)
    change(repo, 7, "2026-04-07T21:00:00Z", "2026-04-07T22:00:00Z")  # outside the period
    incident(repo, 1, "2026-03-03T23:00:00Z", caused_by_change="CHG-2026-0002")
    success = kpi(repo, "change_success_rate", until="2026-04-01")
    # done: 0001 ok, 0002 caused an incident, 0003 failed, 0004 rolled back -> 1/4 = 0.25
    assert (success.value, success.n, success.status) == (0.25, 4, "missed")
    assert reasons(success) == [
        ("CHG-2026-0006", "status implemented but no implementation.outcome")
    ]
    emergency = kpi(repo, "emergency_change_rate", until="2026-04-01")
    # 1 emergency (0003) of 6 changes with a window in March = 0.1667 > 0.1: missed
    assert (round(emergency.value or 0, 4), emergency.n, emergency.status) == (0.1667, 6, "missed")


def test_change_record_quality(repo: Repo) -> None:
    change(repo, 1, "2026-03-02T21:00:00Z", "2026-03-02T22:00:00Z")
    change(
        repo,
        2,
        "2026-03-03T21:00:00Z",
        "2026-03-03T22:00:00Z",
        rollback={**CHANGE["rollback"], "plan": "TBD"},
    )  # CHG-ROLLBACK
    change(repo, 3, "2026-03-04T21:00:00Z", "2026-03-04T22:00:00Z", approvals=None)  # CHG-APPROVAL
    change(repo, 4, "2026-03-05T21:00:00Z", "2026-03-05T22:00:00Z")
    result = kpi(repo, "change_record_quality", by=("month",))
    # passing every CHG-* rule: 0001 and 0004 -> 2/4 = 0.5
    assert (result.value, result.n, result.status) == (0.5, 4, "missed")
    assert groups(result, "month") == {"2026-03": (0.5, 4, "missed")}


def test_audit_pass_rate_and_waivers(repo: Repo) -> None:
    repo.write("records/incidents/INC-2026-0001.yaml", INCIDENT)  # valid (a warning only)
    incident(repo, 2, "2026-03-04T09:12:00Z", impact="TBD")  # INC-STATEMENT error
    repo.write("runbooks/RB-0003-orders-db-pool.md", RUNBOOK)
    result = kpi(repo, "audit_pass_rate")
    # 2 of 3 records without an error finding = 0.6667
    assert (round(result.value or 0, 4), result.n) == (0.6667, 3)
    policy = repo.root / "policy.yaml"
    policy.write_text(
        policy.read_text().replace(
            "waivers: []",
            "waivers:\n  - {rule: INC-STATEMENT, record: INC-2026-0002, reason: Legacy import"
            " pending rewrite, approved_by: priya.shah@example.com, expires: '2026-12-31'}",
        )
    )
    # a waived finding is an accepted risk: 3/3
    assert kpi(repo, "audit_pass_rate").value == 1.0


def test_change_kpis_place_changes_by_window_start(repo: Repo) -> None:
    change(repo, 1, "2026-03-31T23:30:00Z", "2026-04-01T01:00:00Z")  # local: 1 April 00:30
    change(repo, 2, "2026-03-30T21:00:00Z", "2026-03-30T22:00:00Z", window=None)
    result = kpi(repo, "emergency_change_rate", since="2026-03-01", until="2026-04-01")
    assert (result.value, result.n) == (None, 0)
    assert result.status == "no data"
    assert reasons(result) == [("CHG-2026-0002", "no window.start: cannot place it in a period")]


def test_resolved_pir_incident_fixture_is_valid(repo: Repo) -> None:
    """The shared helpers write records the audit accepts (no SCHEMA finding)."""
    incident(
        repo,
        1,
        "2026-03-02T09:00:00Z",
        status="resolved",
        acknowledged_at="2026-03-02T09:05:00Z",
        mitigated_at="2026-03-02T09:30:00Z",
        resolved_at="2026-03-02T10:00:00Z",
        resolution=RESOLUTION,
    )
    change(repo, 1, "2026-03-02T21:00:00Z", "2026-03-02T22:00:00Z")
    result = kpi(repo, "audit_pass_rate")
    assert (result.value, result.n) == (1.0, 2)


def rolled_back_reading_successful(repo: Repo) -> None:
    """CHG-2026-0001, rolled back, its outcome reading successful (CHG-OUTCOME reports the
    contradiction)."""
    change(
        repo,
        1,
        "2026-03-05T21:00:00Z",
        "2026-03-05T22:00:00Z",
        status="rolled-back",
        implementation={
            "started_at": "2026-03-05T21:00:00Z",
            "completed_at": "2026-03-05T22:00:00Z",
            "outcome": "successful",
            "validation": "Rolled back after latency doubled on the replicas.",
        },
    )


def test_a_rolled_back_change_whose_outcome_says_successful_is_no_success(repo: Repo) -> None:
    """Status rolled-back, outcome successful (CHG-OUTCOME reports the contradiction): the
    change success rate and PRB-FIX read one answer, rolled back (the KPI counted it a
    success while PRB-FIX said the fix was rolled back)."""
    rolled_back_reading_successful(repo)
    success = kpi(repo, "change_success_rate", until="2026-04-01")
    assert (success.value, success.n) == (0, 1)  # PRB-FIX: test_rules_problems.py


def test_a_partial_outcome_is_counted_and_no_success(repo: Repo) -> None:
    """Implemented with outcome partial: counted, not a success (it was left out as if it
    had no outcome)."""
    partial = {
        "started_at": "2026-03-05T21:00:00Z",
        "completed_at": "2026-03-05T22:00:00Z",
        "outcome": "partial",
        "validation": "Half the pods took the new pool; the rest stay at 60.",
    }
    change(repo, 1, "2026-03-05T21:00:00Z", "2026-03-05T22:00:00Z", implementation=partial)
    change(repo, 2, "2026-03-06T21:00:00Z", "2026-03-06T22:00:00Z")
    success = kpi(repo, "change_success_rate", until="2026-04-01")
    assert (success.value, success.n) == (0.5, 2)
    assert reasons(success) == []


def test_the_monthly_report_counts_change_outcomes_as_the_kpi_reads_them(
    repo: Repo, cli: InvokeCli, tmp_path: Path
) -> None:
    """Rolled back, its outcome reading successful: the monthly report's change outcomes
    say rolled-back, as the change success rate beside them counts it (they said
    'successful | 1' above a success rate of 0%)."""
    rolled_back_reading_successful(repo)
    out = tmp_path / "monthly.md"
    result = cli(
        "report", "monthly", "--period", "2026-03", "--as-of", "2026-04-01T00:00:00Z",
        "--no-history", "--repo", repo.root, "--output", out,
    )  # fmt: skip
    assert result.status == 0, result.err
    outcomes = out.read_text().split("## Change outcomes", 1)[1].split("\n## ", 1)[0]
    assert "| rolled-back | 1 |" in outcomes and "successful" not in outcomes, outcomes


def test_the_monthly_report_shows_a_change_not_carried_out_by_its_status(
    repo: Repo, cli: InvokeCli, tmp_path: Path
) -> None:
    """Scheduled, with an outcome already written (failed): the success rate does not
    count it, and the report's change outcomes show it as scheduled, not failed."""
    change(
        repo,
        1,
        "2026-03-05T21:00:00Z",
        "2026-03-05T22:00:00Z",
        status="scheduled",
        implementation={"started_at": "2026-03-05T21:00:00Z", "outcome": "failed"},
    )
    success = kpi(repo, "change_success_rate", until="2026-04-01")
    assert success.n == 0
    out = tmp_path / "monthly.md"
    result = cli(
        "report", "monthly", "--period", "2026-03", "--as-of", "2026-04-01T00:00:00Z",
        "--no-history", "--repo", repo.root, "--output", out,
    )  # fmt: skip
    assert result.status == 0, result.err
    outcomes = out.read_text().split("## Change outcomes", 1)[1].split("\n## ", 1)[0]
    assert "| scheduled | 1 |" in outcomes and "failed" not in outcomes, outcomes
