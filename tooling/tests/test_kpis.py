"""Incident KPIs from the records, each on a hand-made fixture whose value is worked out by
hand in the comments. Helpers here are shared by the other test_kpi_*.py files."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import yaml

from opsledger.history.model import HistoryIndex
from opsledger.kpis import KPIS, KPIS_BY_ID, KpiOptions, KpiResult, compute_kpis
from opsledger.kpis.base import Excluded
from opsledger.model.ledger import load_ledger
from opsledger.timeutil import parse_timestamp

from conftest import AS_OF, Repo

BASE: dict[str, Any] = {
    "title": "Orders database connection pool exhausted",
    "priority": "P3",
    "status": "open",
    "service": "orders-db",
    "detection": "automated",
    "source": "monitoring",
    "impact": "Checkout requests failed intermittently for about a fifth of customers.",
}
RESOLUTION = "Rolled back the 09:00 deploy that halved the pool size and restarted the pods."


def incident(repo: Repo, number: int, detected: str, **fields: Any) -> str:
    """Write INC-2026-<number> detected at ``detected``; None values are left out."""
    record_id = f"INC-2026-{number:04d}"
    data = {"id": record_id, **BASE, "detected_at": detected, **fields}
    data = {k: v for k, v in data.items() if v is not None}
    repo.write(f"records/incidents/{record_id}.yaml", yaml.safe_dump(data, sort_keys=False))
    return record_id


def write_yaml(repo: Repo, rel: str, data: dict[str, Any]) -> None:
    repo.write(rel, yaml.safe_dump(data, sort_keys=False), dedent=False)


def kpi(
    repo: Repo,
    kpi_id: str,
    *,
    as_of: str = AS_OF,
    history: HistoryIndex | None = None,
    since: str | None = None,
    until: str | None = None,
    by: tuple[str, ...] = (),
) -> KpiResult:
    ledger = load_ledger(repo.root)
    options = KpiOptions(
        as_of=parse_timestamp(as_of),
        since=date.fromisoformat(since) if since else None,
        until=date.fromisoformat(until) if until else None,
        by=by,
        only=(kpi_id,),
    )
    return compute_kpis(ledger, history, options).results[0]


def groups(result: KpiResult, dimension: str) -> dict[str, tuple[float | None, int, str]]:
    """A dimension's groups as {key: (value rounded, n, status)}."""
    return {
        g.key: (None if g.value is None else round(g.value, 4), g.n, g.status)
        for g in result.groups[dimension]
    }


def reasons(result: KpiResult) -> list[tuple[str, str]]:
    return [(e.record, e.reason) for e in result.excluded]


# --- the registry ----------------------------------------------------------------------

SPEC_IDS = [
    "incident_volume",
    "automated_detection_ratio",
    "mtta",
    "mttb",
    "mttr_restore",
    "mttr_resolve",
    "sla_compliance",
    "initial_notification_compliance",
    "update_cadence_compliance",
    "communication_completeness",
    "reopen_rate",
    "recurrence_rate_30d",
    "recurrence_rate_60d",
    "recurrence_rate_90d",
    "mtbf",
    "availability",
    "backlog_aged",
    "change_success_rate",
    "emergency_change_rate",
    "change_record_quality",
    "audit_pass_rate",
    "pir_on_time_rate",
    "action_on_time_rate",
    "documentation_lag",
    "approval_lead_time",
    "priority_downgrades",
    "edited_after_close",
    "problem_backlog",
    "time_to_known_error",
    "recurrence_after_fix",
    "problem_coverage",
    "regulatory_on_time_rate",
]


def test_registry_has_every_spec_kpi_once_with_definition_and_unit() -> None:
    assert [k.id for k in KPIS] == SPEC_IDS
    for k in KPIS:
        assert k.unit in ("count", "ratio", "minutes", "hours", "days", "percent")
        assert k.name and len(k.definition) > 40
        assert k.target_key == k.id
    history = {k.id for k in KPIS if k.history}
    assert history == {
        "pir_on_time_rate",
        "action_on_time_rate",
        "documentation_lag",
        "approval_lead_time",
        "priority_downgrades",
        "edited_after_close",
    }


def test_default_policy_targets_name_known_kpis(repo: Repo) -> None:
    ledger = load_ledger(repo.root)
    assert set(ledger.policy.kpi_targets) <= set(KPIS_BY_ID)


# --- volume, detection, grouping -------------------------------------------------------


@pytest.fixture
def spread(repo: Repo) -> Repo:
    """Four incidents Jan-Apr 2026 and one on the last night of March (local time: April)."""
    incident(repo, 1, "2026-01-15T10:00:00Z", priority="P1")
    incident(
        repo,
        2,
        "2026-02-03T10:00:00Z",
        detection="manual",
        source="service-desk",
        service="storefront",
    )
    incident(repo, 3, "2026-02-20T10:00:00Z")
    incident(repo, 4, "2026-04-10T10:00:00Z", priority="P2", source="customer")
    # 23:30 UTC on 31 March is 00:30 on 1 April in Europe/London (BST from 29 March)
    incident(repo, 5, "2026-03-31T23:30:00Z", detection="manual")
    return repo


def test_incident_volume_counts_detections_in_the_local_period(spread: Repo) -> None:
    # Q1 in Europe/London: 1 (Jan) + 2 (Feb) = 3; INC-0005 is local April, so outside
    result = kpi(
        spread,
        "incident_volume",
        since="2026-01-01",
        until="2026-04-01",
        as_of="2026-06-01T00:00:00Z",
    )
    assert (result.value, result.n, result.status) == (3, 3, "no target")


def test_incident_volume_by_month_quarter_priority_service_source(spread: Repo) -> None:
    result = kpi(
        spread,
        "incident_volume",
        as_of="2026-06-01T00:00:00Z",
        by=("month", "quarter", "priority", "service", "source"),
    )
    assert result.value == 5
    # months in local time: INC-0005 (2026-03-31T23:30Z) is April
    assert groups(result, "month") == {
        "2026-01": (1, 1, "no target"),
        "2026-02": (2, 2, "no target"),
        "2026-04": (2, 2, "no target"),
    }
    assert groups(result, "quarter") == {
        "2026-Q1": (3, 3, "no target"),
        "2026-Q2": (2, 2, "no target"),
    }
    assert {k: v[0] for k, v in groups(result, "priority").items()} == {"P1": 1, "P2": 1, "P3": 3}
    assert {k: v[0] for k, v in groups(result, "service").items()} == {
        "orders-db": 4,
        "storefront": 1,
    }
    assert {k: v[0] for k, v in groups(result, "source").items()} == {
        "customer": 1,
        "monitoring": 3,
        "service-desk": 1,
    }


def test_automated_detection_ratio(spread: Repo) -> None:
    # automated: INC-0001, 0003, 0004 of 5 -> 3/5 = 0.6, below the 0.7 target
    incident(spread, 6, "2026-02-01T10:00:00Z", import_gaps=["detection"])
    result = kpi(spread, "automated_detection_ratio", as_of="2026-06-01T00:00:00Z")
    assert (result.value, result.n, result.status) == (0.6, 5, "missed")
    assert reasons(result) == [("INC-2026-0006", "imported without detection (import_gaps)")]


def test_incident_without_detected_at_is_excluded_not_dropped(repo: Repo) -> None:
    incident(repo, 1, "2026-03-02T09:00:00Z")
    incident(repo, 2, None)  # type: ignore[arg-type]
    result = kpi(repo, "incident_volume")
    assert (result.value, result.n) == (1, 1)
    assert result.excluded == (
        Excluded("INC-2026-0002", "no detected_at: cannot place it in a period"),
    )


# --- response times --------------------------------------------------------------------


def test_mtta_mean_median_p90_and_exclusions(repo: Repo) -> None:
    incident(repo, 1, "2026-03-02T09:00:00Z", acknowledged_at="2026-03-02T09:05:00Z")
    incident(repo, 2, "2026-03-02T10:00:00Z", acknowledged_at="2026-03-02T10:15:00Z")
    incident(repo, 3, "2026-03-02T11:00:00Z", acknowledged_at="2026-03-02T11:40:00Z")
    incident(repo, 4, "2026-03-30T11:00:00Z")  # open, not yet acknowledged: not measured
    incident(repo, 5, "2026-03-03T09:00:00Z", status="resolved", resolved_at="2026-03-03T12:00:00Z")
    incident(
        repo,
        6,
        "2026-03-03T09:00:00Z",
        status="mitigated",
        import_gaps=["acknowledged_at"],
        mitigated_at="2026-03-03T09:30:00Z",
    )
    incident(repo, 7, "2026-03-03T09:00:00Z", acknowledged_at="2026-03-03T08:50:00Z")
    result = kpi(repo, "mtta")
    # MTTA = mean(5, 15, 40) = 20 minutes; median 15; p90 = nearest rank ceil(0.9 x 3) = 3rd = 40
    assert (result.value, result.n) == (20, 3)
    assert result.stats is not None
    assert (result.stats.mean, result.stats.median, result.stats.p90) == (20, 15, 40)
    assert reasons(result) == [
        ("INC-2026-0005", "status resolved but no acknowledged_at"),
        ("INC-2026-0006", "imported without acknowledged_at (import_gaps)"),
        ("INC-2026-0007", "acknowledged_at before detected_at (INC-TIMES)"),
    ]
    # all P3 (max 60 min): P3 group 20 <= 60 met; the KPI has only per-priority targets
    assert groups(result, "priority") == {"P3": (20, 3, "met")}
    assert result.status == "met"


def test_mtta_by_priority_targets_decide_status(repo: Repo) -> None:
    incident(repo, 1, "2026-03-02T09:00:00Z", priority="P1", acknowledged_at="2026-03-02T09:02:00Z")
    incident(repo, 2, "2026-03-02T10:00:00Z", priority="P1", acknowledged_at="2026-03-02T10:06:00Z")
    incident(repo, 3, "2026-03-02T11:00:00Z", priority="P2", acknowledged_at="2026-03-02T11:20:00Z")
    result = kpi(repo, "mtta")
    # P1: mean(2, 6) = 4 <= 5 met; P2: 20 > 15 missed -> the KPI is missed
    # overall: mean(2, 6, 20) = 28/3 = 9.3333
    assert groups(result, "priority") == {"P1": (4, 2, "met"), "P2": (20, 1, "missed")}
    assert round(result.value or 0, 4) == 9.3333
    assert result.status == "missed"
    assert result.target is not None and set(result.target.by_priority) == {"P1", "P2", "P3", "P4"}


def test_mttr_measures_real_time_across_a_daylight_saving_change(repo: Repo) -> None:
    # London moves to BST at 01:00 UTC on 2026-03-29. Detected 00:30 UTC, mitigated
    # 02:15+01:00 = 01:15 UTC, resolved 03:30+02:00 = 01:30 UTC: restore 45 min, resolve 1 h
    # (the wall-clock readings 00:30 -> 03:30 would say 3 h)
    incident(
        repo,
        1,
        "2026-03-29T00:30:00+00:00",
        status="resolved",
        acknowledged_at="2026-03-29T00:35:00+00:00",
        mitigated_at="2026-03-29T02:15:00+01:00",
        resolved_at="2026-03-29T03:30:00+02:00",
        resolution=RESOLUTION,
    )
    assert kpi(repo, "mttr_restore").value == 45
    assert kpi(repo, "mttr_resolve").value == 60


def test_mttr_restore_and_resolve_exclusions(repo: Repo) -> None:
    incident(
        repo,
        1,
        "2026-03-02T09:00:00Z",
        status="mitigated",
        acknowledged_at="2026-03-02T09:05:00Z",
        mitigated_at="2026-03-02T10:00:00Z",
    )
    incident(
        repo,
        2,
        "2026-03-02T09:00:00Z",
        status="resolved",
        acknowledged_at="2026-03-02T09:05:00Z",
        mitigated_at="2026-03-02T12:00:00Z",
        resolved_at="2026-03-02T15:00:00Z",
        resolution=RESOLUTION,
    )
    incident(
        repo,
        3,
        "2026-03-02T09:00:00Z",
        status="resolved",
        import_gaps=["mitigated_at"],
        resolved_at="2026-03-02T11:00:00Z",
    )
    restore = kpi(repo, "mttr_restore")
    # restore: mean(60, 180) = 120 minutes; INC-0003 has no mitigated_at (an import gap)
    assert (restore.value, restore.n) == (120, 2)
    assert reasons(restore) == [("INC-2026-0003", "imported without mitigated_at (import_gaps)")]
    resolve = kpi(repo, "mttr_resolve")
    # resolve: mean(360, 120) = 240 minutes (INC-0001 is not resolved yet: not measured)
    assert (resolve.value, resolve.n, resolve.excluded) == (240, 2, ())


def test_mttb_only_major_incidents_and_missing_bridge_excluded(repo: Repo) -> None:
    incident(
        repo, 1, "2026-03-02T09:00:00Z", priority="P1", bridge_opened_at="2026-03-02T09:10:00Z"
    )
    incident(
        repo, 2, "2026-03-02T09:00:00Z", priority="P2", bridge_opened_at="2026-03-02T09:30:00Z"
    )
    incident(repo, 3, "2026-03-02T09:00:00Z", priority="P1")
    incident(repo, 4, "2026-03-02T09:00:00Z", bridge_opened_at="2026-03-02T09:05:00Z")  # P3
    result = kpi(repo, "mttb")
    # MTTB = mean(10, 30) = 20 minutes > 15 target: missed; P3 has no bridge clock
    assert (result.value, result.n, result.status) == (20, 2, "missed")
    assert reasons(result) == [("INC-2026-0003", "no bridge_opened_at (INC-BRIDGE)")]


# --- compliance ------------------------------------------------------------------------


def test_sla_compliance_boundary_counts_as_met(repo: Repo) -> None:
    resolved = {"status": "resolved", "resolution": RESOLUTION}
    # P3 resolve_within 5d: exactly 5 days -> met; 5 days 1 minute -> missed
    incident(repo, 1, "2026-03-02T09:00:00Z", resolved_at="2026-03-07T09:00:00Z", **resolved)
    incident(repo, 2, "2026-03-02T09:00:00Z", resolved_at="2026-03-07T09:01:00Z", **resolved)
    # P4 resolve_within 10d: 2 days -> met
    incident(
        repo,
        3,
        "2026-03-02T09:00:00Z",
        priority="P4",
        resolved_at="2026-03-04T09:00:00Z",
        **resolved,
    )
    incident(repo, 4, "2026-03-02T09:00:00Z")  # open: not in the denominator
    result = kpi(repo, "sla_compliance")
    # 2 met / 3 resolved = 0.6667 < 0.95: missed
    assert (round(result.value or 0, 4), result.n, result.status) == (0.6667, 3, "missed")


def note(at: str, kind: str = "update") -> dict[str, Any]:
    return {"at": at, "kind": kind, "audience": ["customer-support"], "channel": "status-page"}


def test_initial_notification_and_update_cadence(repo: Repo) -> None:
    # A: P1 (15m / every 30m): initial exactly at 15m, updates every 30m until resolution
    incident(
        repo,
        1,
        "2026-03-02T09:00:00Z",
        priority="P1",
        resolved_at="2026-03-02T10:15:00Z",
        status="resolved",
        notifications=[note("2026-03-02T09:15:00Z", "initial"), note("2026-03-02T09:45:00Z")],
    )
    # B: P2 (30m / every 60m): initial at 45m (late), then 75 minutes of silence
    incident(
        repo,
        2,
        "2026-03-02T09:00:00Z",
        priority="P2",
        resolved_at="2026-03-02T11:30:00Z",
        status="resolved",
        notifications=[note("2026-03-02T09:45:00Z", "initial"), note("2026-03-02T11:00:00Z")],
    )
    # C: P1 with no notification, resolved after 20 minutes: initial missed; the silence
    # from detection to resolution (20m) is within the 30m cadence
    incident(
        repo,
        3,
        "2026-03-02T09:00:00Z",
        priority="P1",
        status="resolved",
        resolved_at="2026-03-02T09:20:00Z",
    )
    # D: P1 detected 5 minutes before --as-of, nothing sent: not due yet, not counted
    incident(repo, 4, "2026-03-31T11:55:00Z", priority="P1")
    # E: P3 needs no notification; F: imported without notifications
    incident(repo, 5, "2026-03-02T09:00:00Z")
    incident(repo, 6, "2026-03-02T09:00:00Z", priority="P1", import_gaps=["notifications"])
    initial = kpi(repo, "initial_notification_compliance")
    # initial: A met, B late, C missing -> 1/3
    assert (round(initial.value or 0, 4), initial.n) == (0.3333, 3)
    assert reasons(initial) == [("INC-2026-0006", "imported without notifications (import_gaps)")]
    cadence = kpi(repo, "update_cadence_compliance")
    # cadence: A gaps 30, 30 (ok); B gaps 75 > 60, 30 (missed); C 20 (ok) -> 2/3
    assert (round(cadence.value or 0, 4), cadence.n) == (0.6667, 3)


def test_communication_completeness_uses_inc_statement(repo: Repo) -> None:
    incident(repo, 1, "2026-03-02T09:00:00Z")
    incident(repo, 2, "2026-03-02T09:00:00Z", impact="TBD")
    incident(
        repo,
        3,
        "2026-03-02T09:00:00Z",
        status="resolved",
        resolution="fixed",
        acknowledged_at="2026-03-02T09:05:00Z",
        mitigated_at="2026-03-02T09:30:00Z",
        resolved_at="2026-03-02T10:00:00Z",
    )
    incident(repo, 4, "2026-03-02T09:00:00Z", impact="n/a", import_gaps=["impact"])
    result = kpi(repo, "communication_completeness")
    # only INC-0001 passes INC-STATEMENT (0002 impact TBD, 0003 resolution "fixed"): 1/3
    assert (round(result.value or 0, 4), result.n) == (0.3333, 3)
    assert reasons(result) == [("INC-2026-0004", "imported without impact (import_gaps)")]


def test_reopen_rate_from_fields_without_history(repo: Repo) -> None:
    done = {
        "acknowledged_at": "2026-03-02T09:05:00Z",
        "mitigated_at": "2026-03-02T09:30:00Z",
        "resolved_at": "2026-03-02T10:00:00Z",
        "resolution": RESOLUTION,
    }
    reopened = [{"at": "2026-03-03T09:00:00Z", "reason": "Errors came back after the restart."}]
    incident(repo, 1, "2026-03-02T09:00:00Z", status="resolved", **done)
    incident(
        repo,
        2,
        "2026-03-02T09:00:00Z",
        status="closed",
        closed_at="2026-03-05T09:00:00Z",
        reopened=reopened,
        **done,
    )
    incident(repo, 3, "2026-03-02T09:00:00Z", status="open", reopened=reopened)
    incident(repo, 4, "2026-03-02T09:00:00Z")  # never resolved: not in the denominator
    result = kpi(repo, "reopen_rate")
    # resolved at some point: 0001, 0002, 0003 (reopened, so once resolved); reopened: 2/3
    assert (round(result.value or 0, 4), result.n, result.status) == (0.6667, 3, "missed")
    assert result.notes == ("history unavailable: only reopens recorded in 'reopened' are counted",)


def test_recurrence_rates(repo: Repo) -> None:
    db = {"category": "database"}
    incident(repo, 1, "2026-01-01T09:00:00Z", **db)  # before the period, still an "earlier"
    incident(repo, 2, "2026-02-10T09:00:00Z", **db)  # 40 days after 0001
    incident(repo, 3, "2026-02-20T09:00:00Z", category="Database")  # 10 days after 0002
    incident(
        repo, 4, "2026-02-21T09:00:00Z", service="storefront", recurrence_of="INC-2026-0001"
    )  # 51 days after 0001
    incident(repo, 5, "2026-03-01T09:00:00Z", service="storefront", **db)  # first on storefront
    rates = {
        days: kpi(repo, f"recurrence_rate_{days}d", since="2026-02-01").value
        for days in (30, 60, 90)
    }
    # period: 0002-0005 (4). 30d: 0003 -> 1/4; 60d and 90d: 0002, 0003, 0004 -> 3/4
    assert rates == {30: 0.25, 60: 0.75, 90: 0.75}


def test_priority_missing_from_policy_is_excluded_with_its_reason(repo: Repo) -> None:
    resolved = {"status": "resolved", "resolution": RESOLUTION}
    incident(repo, 1, "2026-03-02T09:00:00Z", resolved_at="2026-03-03T09:00:00Z", **resolved)
    incident(
        repo,
        2,
        "2026-03-02T09:00:00Z",
        priority="P9",
        resolved_at="2026-03-03T09:00:00Z",
        **resolved,
    )
    result = kpi(repo, "sla_compliance")
    # INC-0001: 1 day <= 5 days (P3): 1/1
    assert (result.value, result.n) == (1.0, 1)
    assert reasons(result) == [("INC-2026-0002", "priority P9 is not defined in policy.yaml")]
