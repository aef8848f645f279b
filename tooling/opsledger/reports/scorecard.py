"""``opsledger report weekly|monthly``: the weekly operations scorecard and the monthly
service review pack, as Markdown built from the KPI engine, the audit and the records.

Weekly (``--period 2026-W10``, ISO week, Monday to Sunday in the policy timezone): volumes,
MTTA/MTTR by priority against targets, SLA and notification compliance, top services and
categories, change success, follow-up actions (PIRs' and problems') overdue at the end of
the week, and the audit's error findings on the week's incidents and changes ("new
findings").

Monthly (``--period 2026-03``): availability of each tier-1 service against its target,
the incident trend over the last three months, recurring issues, problems (new, known
errors, fixed and whether the fix held, recurred after a fix, top candidate clusters), change
outcomes, open risks (open major incidents, overdue actions, waivers expiring or expired,
stale runbooks), and regulatory reporting (:mod:`opsledger.reports.regulatory`; the weekly
scorecard lists the regulatory deadlines of the coming week).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from opsledger.findings import Finding
from opsledger.kpis import KpiOptions, KpiReport
from opsledger.kpis.display import NO_VALUE, Line, group_line, lines, value_text
from opsledger.obligations.changes import CARRIED_OUT, ended
from opsledger.period import Kind, Period
from opsledger.period import parse_period as parse_any_period
from opsledger.reports import problems, regulatory
from opsledger.text.escape import md as escape
from opsledger.timeutil import YEARS

if TYPE_CHECKING:
    from opsledger.workspace import Workspace

DASH = NO_VALUE  # shown for a value that cannot be computed
KINDS: dict[str, Kind] = {"weekly": "week", "monthly": "month"}


def parse_period(kind: str, text: str) -> Period:
    """``2026-W10`` for a weekly report, ``2026-03`` for a monthly one (UTC until the
    report sets the policy timezone)."""
    return parse_any_period(text, kinds=(KINDS[kind],))


def _row(name: str, line: Line) -> str:
    return f"| {name} | {line.text} | {line.n} | {line.target} | {line.status} |"


def _kpi_lines(report: KpiReport, kpi_id: str) -> list[str]:
    """A KPI's row, then a row per priority when its target is set per priority."""
    r = report.get(kpi_id)
    return [
        _row(r.kpi.name if line.priority is None else f"{r.kpi.name} {escape(line.priority)}", line)
        for line in lines(r)
    ]


def _by_priority(report: KpiReport, kpi_id: str) -> list[str]:
    """The KPI over all priorities, then each priority: every priority with a target (a
    KPI judged per priority) or with data."""
    r = report.get(kpi_id)
    head, *per = lines(r)
    per = per or [group_line(r, g) for g in r.groups.get("priority", ())]
    rows = [("all", head), *((line.priority or "", line) for line in per)]
    return [
        f"| {r.kpi.name} | {escape(key)} | {line.n} | {line.text} | {line.target} | {line.status} |"
        for key, line in rows
    ]


def _history_line(ws: Workspace) -> list[str]:
    """A visible line when the report is made without history (``--no-history``)."""
    if not ws.history_note:
        return []
    return [
        f"**{ws.history_note.capitalize()}**: history-derived KPIs show no data and the GIT-* "
        "rules did not run.",
        "",
    ]


def _overdue_actions(ws: Workspace, at: datetime) -> list[str]:
    """Open actions past their due date at ``at`` (the action-due obligation's verdict, the
    one the audit's PIR-OVERDUE and the site read, taken at that moment)."""
    rows = []
    for record, action, verdict in ws.obligations_at(at).followups():
        if verdict is not None and verdict.state == "missing":
            rows.append(
                f"| {escape(record.id)} {escape(action.id or '')} | {escape(action.title or '')} "
                f"| {escape(action.owner or 'unassigned')} | {action.due} |"
            )
    return rows


def _findings_table(findings: Sequence[Finding]) -> list[str]:
    if not findings:
        return ["No error findings."]
    rows = ["| Record | Rule | Finding |", "|---|---|---|"]
    rows += [f"| {escape(f.record or f.path)} | {f.rule} | {escape(f.message)} |" for f in findings]
    return rows


def weekly(ws: Workspace, period: Period) -> str:
    ledger, as_of, commit, findings = ws.ledger, ws.as_of, ws.commit, ws.findings()
    period = period.with_zone(ledger.policy.timezone)
    assert period.since is not None and period.until is not None and period.last is not None
    options = KpiOptions(
        as_of=as_of, since=period.since, until=period.until, by=("priority",), findings=findings
    )
    report = ws.kpis(options)
    incidents = [i for i in ledger.incidents.values() if period.contains(i.detected_at)]
    changes = [c for c in ledger.changes.values() if period.contains(c.window_start)]
    out = [
        f"# Weekly operations scorecard: {period.label}",
        "",
        f"{period.since:%a %d %b %Y} to {period.last:%a %d %b %Y} ({ledger.policy.timezone}); "
        f"computed at commit {(commit or 'uncommitted')[:12]}.",
        "",
        *_history_line(ws),
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
        "| KPI | Priority | n | Value | Target | Status |",
        "|---|---|---|---|---|---|",
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
        out += _kpi_lines(report, kpi_id)
    out += ["", "## Top services and categories", ""]
    services = Counter(i.service or "?" for i in incidents).most_common(5)
    categories = Counter(i.category or "(none)" for i in incidents).most_common(5)
    out += ["| Service | Incidents |", "|---|---|"]
    out += [f"| {escape(s)} | {n} |" for s, n in services] or [f"| {DASH} | 0 |"]
    out += ["", "| Category | Incidents |", "|---|---|"]
    out += [f"| {escape(c)} | {n} |" for c, n in categories] or [f"| {DASH} | 0 |"]
    out += ["", "## Changes", "", "| KPI | Value | n | Target | Status |", "|---|---|---|---|---|"]
    for kpi_id in ("change_success_rate", "emergency_change_rate", "change_record_quality"):
        out += _kpi_lines(report, kpi_id)
    out += ["", "## Problems", "", _kpi_line_table(report, ("problem_backlog",))]
    assert period.end is not None
    overdue = _overdue_actions(ws, min(as_of, period.end))
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
    out += regulatory.weekly_section(ledger, ws.obligations, period)
    return "\n".join(out) + "\n"


def monthly(ws: Workspace, period: Period) -> str:
    ledger, as_of, commit, findings = ws.ledger, ws.as_of, ws.commit, ws.findings()
    zone = ledger.policy.timezone
    period = period.with_zone(zone)
    assert period.since is not None and period.until is not None and period.last is not None
    options = KpiOptions(
        as_of=as_of, since=period.since, until=period.until, by=("service",), findings=findings
    )
    report = ws.kpis(options)
    # three months back, but never before the first supported year
    early = (period.since.year, period.since.month) <= (YEARS[0], 2)
    trend_since = date(YEARS[0], 1, 1) if early else period.shift(-2).since
    trend = ws.kpis(
        KpiOptions(
            as_of=as_of,
            since=trend_since,
            until=period.until,
            by=("month",),
            only=("incident_volume", "mttr_restore", "sla_compliance"),
        )
    )
    out = [
        f"# Monthly service review: {period.label}",
        "",
        f"{period.since:%B %Y} ({zone}); computed at commit {(commit or 'uncommitted')[:12]}.",
        "",
        *_history_line(ws),
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
        line = group_line(availability, group)
        out.append(
            f"| {escape(service.name or group.key)} | {line.short} | {line.target} "
            f"| {line.status} |"
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
            f"| {group.key} | {value_text(group.value, volume.kpi.unit)} | "
            f"{value_text(m.value if m else None, mttr.kpi.unit)} | "
            f"{value_text(s.value if s else None, sla.kpi.unit)} |"
        )
    out += ["", "## Recurring issues", ""]
    in_month = [i for i in ledger.incidents.values() if period.contains(i.detected_at)]
    recurring = [i for i in in_month if i.recurrence_of]
    pairs = Counter((i.service or "?", i.category or "(none)") for i in in_month)
    repeated = [(k, n) for k, n in pairs.most_common() if n > 1]
    out.append(_kpi_line_table(report, ("recurrence_rate_30d", "reopen_rate")))
    out += ["", f"Incidents marked as a recurrence: {len(recurring)}."]
    if repeated:
        out += ["", "| Service | Category | Incidents this month |", "|---|---|---|"]
        out += [f"| {escape(s)} | {escape(c)} | {n} |" for (s, c), n in repeated[:10]]
    out += ["", "## Problems", ""]
    out.append(
        _kpi_line_table(
            report,
            ("problem_backlog", "time_to_known_error", "recurrence_after_fix", "problem_coverage"),
        )
    )
    out += problems.monthly_section(ws.obligations, ledger, period)
    out += ["", "## Change outcomes", ""]
    changes = [c for c in ledger.changes.values() if period.contains(c.window_start)]
    # how each ended, as the change success rate below reads it (a rolled-back change is
    # rolled back whatever its outcome says); not carried out yet: its status, whatever
    # outcome it already records (the success rate does not count it either)
    outcomes = Counter(
        (ended(c) if c.status in CARRIED_OUT else None) or c.status or "?" for c in changes
    )
    out += ["| Outcome | Changes |", "|---|---|"]
    out += [f"| {escape(o)} | {n} |" for o, n in sorted(outcomes.items())] or [f"| {DASH} | 0 |"]
    out += ["", _kpi_line_table(report, ("change_success_rate", "emergency_change_rate"))]
    out += ["", "## Open risks", ""]
    open_major = [
        i
        for i in ledger.incidents.values()
        if i.priority in ("P1", "P2") and i.status in ("open", "mitigated")
    ]
    assert period.end is not None
    overdue = _overdue_actions(ws, min(as_of, period.end))
    waivers = [w for w in ledger.policy.waivers if w.expires < period.until + timedelta(days=30)]
    stale = [f for f in findings if f.rule == "RB-STALE"]
    out += [
        f"- Open P1/P2 incidents: {len(open_major)}"
        + (f" ({escape(', '.join(sorted(i.id for i in open_major)))})" if open_major else ""),
        f"- Actions (PIRs' and problems') overdue at the end of {period.last:%Y-%m-%d}: "
        f"{len(overdue)}",
        f"- Waivers expired or expiring within 30 days: {len(waivers)}",
        f"- Runbooks due for review: {len(stale)}",
    ]
    out += regulatory.monthly_section(ledger, ws.obligations, report, period)
    return "\n".join(out) + "\n"


def _kpi_line_table(report: KpiReport, ids: Sequence[str]) -> str:
    rows = ["| KPI | Value | n | Target | Status |", "|---|---|---|---|---|"]
    rows += [row for kpi_id in ids for row in _kpi_lines(report, kpi_id)]
    return "\n".join(rows)
