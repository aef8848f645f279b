"""``opsledger report weekly|monthly``: the weekly operations scorecard and the monthly
service review pack, as Markdown built from the KPI engine, the audit and the records.

Weekly (``--period 2026-W10``, ISO week, Monday to Sunday in the policy timezone): volumes,
MTTA/MTTR by priority against targets, SLA and notification compliance, top services and
categories, change success, PIR actions overdue at the end of the week, and the audit's
error findings on the week's incidents and changes ("new findings").

Monthly (``--period 2026-03``): availability of each tier-1 service against its target,
the incident trend over the last three months, recurring issues, change outcomes, and open
risks (open major incidents, overdue actions, waivers expiring or expired, stale runbooks).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from opsledger.errors import OpsledgerError
from opsledger.findings import Finding
from opsledger.history.model import HistoryIndex
from opsledger.kpis import KpiOptions, KpiReport, KpiResult, compute_kpis
from opsledger.kpis.base import local_midnight
from opsledger.model.ledger import Ledger
from opsledger.reports.brief import escape
from opsledger.timeutil import parse_month, parse_week

DASH = "\u2013"  # shown for a value that cannot be computed


@dataclass(frozen=True)
class Period:
    label: str
    start: date  # first day
    end: date  # day after the last

    def contains(self, moment: datetime | None, ledger: Ledger) -> bool:
        if moment is None:
            return False
        day = moment.astimezone(ledger.policy.timezone).date()
        return self.start <= day < self.end


def parse_period(kind: str, text: str) -> Period:
    """``2026-W10`` for a week, ``2026-03`` for a month (years 1900-2999)."""
    try:
        start, end = parse_week(text) if kind == "weekly" else parse_month(text)
    except ValueError as exc:
        raise OpsledgerError(f"--period {text!r}: {exc}") from None
    return Period(text, start, end)


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return DASH
    if unit == "ratio":
        return f"{value:.1%}"
    if unit == "percent":
        return f"{value:.3f}%"
    if unit in ("minutes", "hours"):
        return f"{value:.1f} {'min' if unit == 'minutes' else 'h'}"
    return f"{value:g}"


def _target(result: KpiResult | None, key: str | None = None) -> str:
    target = None if result is None else result.target
    if result is not None and key is not None:
        group = next((g for g in result.groups.get("priority", ()) if g.key == key), None)
        target = group.target if group else None
    if target is None or (target.min is None and target.max is None):
        return DASH
    unit = result.kpi.unit if result else ""
    if target.min is not None:
        return f"≥ {_fmt(target.min, unit)}"
    return f"≤ {_fmt(target.max, unit)}"


def _kpi_line(report: KpiReport, kpi_id: str) -> str:
    r = report.get(kpi_id)
    return f"| {r.kpi.name} | {_fmt(r.value, r.kpi.unit)} | {r.n} | {_target(r)} | {r.status} |"


def _by_priority(report: KpiReport, kpi_id: str) -> list[str]:
    r = report.get(kpi_id)
    rows = []
    for group in r.groups.get("priority", ()):
        stats = group.stats
        median = _fmt(stats.median, r.kpi.unit) if stats else DASH
        p90 = _fmt(stats.p90, r.kpi.unit) if stats else DASH
        rows.append(
            f"| {r.kpi.name} | {group.key} | {group.n} | {_fmt(group.value, r.kpi.unit)} "
            f"| {median} | {p90} | {_target(r, group.key)} | {group.status} |"
        )
    return rows


def _overdue_actions(ledger: Ledger, by: date) -> list[str]:
    rows = []
    for pir in sorted(ledger.pirs.values(), key=lambda p: p.id):
        for action in pir.actions:
            if action.status in ("open", "in-progress") and action.due and action.due < by:
                rows.append(
                    f"| {pir.id} {escape(action.id or '')} | {escape(action.title or '')} "
                    f"| {escape(action.owner or 'unassigned')} | {action.due} |"
                )
    return rows


def _findings_table(findings: Sequence[Finding]) -> list[str]:
    if not findings:
        return ["No error findings."]
    rows = ["| Record | Rule | Finding |", "|---|---|---|"]
    rows += [f"| {f.record or f.path} | {f.rule} | {escape(f.message)} |" for f in findings]
    return rows


def weekly(
    ledger: Ledger,
    history: HistoryIndex | None,
    period: Period,
    findings: Sequence[Finding],
    as_of: datetime,
    commit: str | None,
) -> str:
    options = KpiOptions(
        as_of=as_of, since=period.start, until=period.end, by=("priority",), findings=findings
    )
    report = compute_kpis(ledger, history, options, commit=commit)
    incidents = [i for i in ledger.incidents.values() if period.contains(i.detected_at, ledger)]
    changes = [c for c in ledger.changes.values() if period.contains(c.window_start, ledger)]
    last = period.end - timedelta(days=1)
    out = [
        f"# Weekly operations scorecard: {period.label}",
        "",
        f"{period.start:%a %d %b %Y} to {last:%a %d %b %Y} ({ledger.policy.timezone}); "
        f"computed at commit {(commit or 'uncommitted')[:12]}.",
        "",
        "## Volumes",
        "",
        f"{len(incidents)} incidents detected; {len(changes)} changes scheduled.",
        "",
        "| Priority | Incidents |",
        "|---|---|",
    ]
    by_priority = Counter(i.priority or "?" for i in incidents)
    out += [f"| {p} | {by_priority.get(p, 0)} |" for p in ("P1", "P2", "P3", "P4")]
    out += [
        "",
        "## Response times by priority",
        "",
        "| KPI | Priority | n | Mean | Median | p90 | Target | Status |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for kpi_id in ("mtta", "mttr_restore", "mttr_resolve"):
        out += _by_priority(report, kpi_id)
    out += [
        "",
        "## Compliance",
        "",
        "| KPI | Value | n | Target | Status |",
        "|---|---|---|---|---|",
    ]
    for kpi_id in (
        "sla_compliance",
        "initial_notification_compliance",
        "update_cadence_compliance",
        "communication_completeness",
    ):
        out.append(_kpi_line(report, kpi_id))
    out += ["", "## Top services and categories", ""]
    services = Counter(i.service or "?" for i in incidents).most_common(5)
    categories = Counter(i.category or "(none)" for i in incidents).most_common(5)
    out += ["| Service | Incidents |", "|---|---|"]
    out += [f"| {escape(s)} | {n} |" for s, n in services] or [f"| {DASH} | 0 |"]
    out += ["", "| Category | Incidents |", "|---|---|"]
    out += [f"| {escape(c)} | {n} |" for c, n in categories] or [f"| {DASH} | 0 |"]
    out += ["", "## Changes", "", "| KPI | Value | n | Target | Status |", "|---|---|---|---|---|"]
    for kpi_id in ("change_success_rate", "emergency_change_rate", "change_record_quality"):
        out.append(_kpi_line(report, kpi_id))
    overdue = _overdue_actions(ledger, period.end)
    out += ["", f"## Overdue actions at the end of the week ({len(overdue)})", ""]
    out += (
        ["| Action | Title | Owner | Due |", "|---|---|---|---|", *overdue]
        if overdue
        else ["None."]
    )
    ids = {r.id for r in incidents} | {c.id for c in changes}
    new = [f for f in findings if f.record in ids and f.severity == "error" and not f.waived]
    out += [
        "",
        f"## New findings ({len(new)})",
        "",
        "Error findings on this week's incidents and changes.",
        "",
    ]
    out += _findings_table(new)
    return "\n".join(out) + "\n"


def monthly(
    ledger: Ledger,
    history: HistoryIndex | None,
    period: Period,
    findings: Sequence[Finding],
    as_of: datetime,
    commit: str | None,
) -> str:
    zone = ledger.policy.timezone
    options = KpiOptions(
        as_of=as_of, since=period.start, until=period.end, by=("service",), findings=findings
    )
    report = compute_kpis(ledger, history, options, commit=commit)
    start3 = date(
        period.start.year - (period.start.month <= 2), (period.start.month - 3) % 12 + 1, 1
    )
    trend = compute_kpis(
        ledger,
        history,
        KpiOptions(
            as_of=as_of,
            since=start3,
            until=period.end,
            by=("month",),
            only=("incident_volume", "mttr_restore", "sla_compliance"),
        ),
        commit=commit,
    )
    out = [
        f"# Monthly service review: {period.label}",
        "",
        f"{period.start:%B %Y} ({zone}); computed at commit {(commit or 'uncommitted')[:12]}.",
        "",
        "## Availability of tier-1 services",
        "",
        "| Service | Availability | Target | Status |",
        "|---|---|---|---|",
    ]
    availability = report.get("availability")
    for group in availability.groups.get("service", ()):
        service = ledger.services.get(group.key)
        if service is None or service.tier != 1:
            continue
        target = f"{service.availability_target:g}%" if service.availability_target else DASH
        out.append(
            f"| {escape(service.name or group.key)} | "
            f"{_fmt(group.value, 'percent')} | {target} | {group.status} |"
        )
    out += [
        "",
        "## Incident trend (last three months)",
        "",
        "| Month | Incidents | MTTR restore (mean) | SLA compliance |",
        "|---|---|---|---|",
    ]
    volume, mttr, sla = (
        trend.get(k) for k in ("incident_volume", "mttr_restore", "sla_compliance")
    )
    for group in volume.groups.get("month", ()):
        m = next((g for g in mttr.groups.get("month", ()) if g.key == group.key), None)
        s = next((g for g in sla.groups.get("month", ()) if g.key == group.key), None)
        out.append(
            f"| {group.key} | {_fmt(group.value, 'count')} | "
            f"{_fmt(m.value if m else None, 'minutes')} | "
            f"{_fmt(s.value if s else None, 'ratio')} |"
        )
    out += ["", "## Recurring issues", ""]
    in_month = [i for i in ledger.incidents.values() if period.contains(i.detected_at, ledger)]
    recurring = [i for i in in_month if i.recurrence_of]
    pairs = Counter((i.service or "?", i.category or "(none)") for i in in_month)
    repeated = [(k, n) for k, n in pairs.most_common() if n > 1]
    out.append(_kpi_line_table(report, ("recurrence_rate_30d", "reopen_rate")))
    out += ["", f"Incidents marked as a recurrence: {len(recurring)}."]
    if repeated:
        out += ["", "| Service | Category | Incidents this month |", "|---|---|---|"]
        out += [f"| {escape(s)} | {escape(c)} | {n} |" for (s, c), n in repeated[:10]]
    out += ["", "## Change outcomes", ""]
    changes = [c for c in ledger.changes.values() if period.contains(c.window_start, ledger)]
    outcomes = Counter(c.outcome or c.status or "?" for c in changes)
    out += ["| Outcome | Changes |", "|---|---|"]
    out += [f"| {o} | {n} |" for o, n in sorted(outcomes.items())] or [f"| {DASH} | 0 |"]
    out += ["", _kpi_line_table(report, ("change_success_rate", "emergency_change_rate"))]
    out += ["", "## Open risks", ""]
    open_major = [
        i
        for i in ledger.incidents.values()
        if i.priority in ("P1", "P2") and i.status in ("open", "mitigated")
    ]
    overdue = _overdue_actions(ledger, period.end)
    end = local_midnight(period.end, zone)
    waivers = [w for w in ledger.policy.waivers if w.expires < period.end + timedelta(days=30)]
    stale = [f for f in findings if f.rule == "RB-STALE"]
    out += [
        f"- Open P1/P2 incidents: {len(open_major)}"
        + (f" ({', '.join(sorted(i.id for i in open_major))})" if open_major else ""),
        f"- PIR actions overdue at {end:%Y-%m-%d}: {len(overdue)}",
        f"- Waivers expired or expiring within 30 days: {len(waivers)}",
        f"- Runbooks due for review: {len(stale)}",
    ]
    return "\n".join(out) + "\n"


def _kpi_line_table(report: KpiReport, ids: Sequence[str]) -> str:
    rows = ["| KPI | Value | n | Target | Status |", "|---|---|---|---|---|"]
    rows += [_kpi_line(report, kpi_id) for kpi_id in ids]
    return "\n".join(rows)
