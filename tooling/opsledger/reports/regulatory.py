"""Regulatory reporting in the reports: the monthly review's "Regulatory reporting" section
and the weekly scorecard's deadlines of the coming week.

Both read the clocks :meth:`opsledger.obligations.Obligations.regulatory` decides (the
verdicts REG-CLASSIFY and REG-DEADLINE report, the KPI counts and the site marks), and
escape every record value.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from opsledger.kpis import KpiReport
from opsledger.kpis.display import group_line, lines
from opsledger.model.ledger import Ledger
from opsledger.model.records import Incident
from opsledger.obligations import Obligations
from opsledger.obligations.regulatory import Clock, awareness
from opsledger.period import Period
from opsledger.text.escape import md as escape

KPI = "regulatory_on_time_rate"
#: how a clock's state reads in a report (the site's marks, in words)
STATES = {
    "met": "✓ on time",
    "late": "✗ late",
    "missing": "✗ missed",
    "pending": "open",
    "unverified": "done, timing not verifiable",
}


def every_clock(ledger: Ledger, obligations: Obligations) -> Iterator[tuple[Incident, Clock]]:
    """Every regulatory clock of the ledger, incident by incident (by ID)."""
    for inc in sorted(ledger.incidents.values(), key=lambda i: i.id):
        for clock in obligations.regulatory(inc):
            yield inc, clock


def local(moment: datetime | None, zone: ZoneInfo) -> str:
    if moment is None:
        return "—"
    text = moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %z")
    return f"{text[:-2]}:{text[-2:]}"


def _row(inc: Incident, clock: Clock, zone: ZoneInfo) -> str:
    v = clock.verdict
    return (
        f"| {escape(inc.id)} | {escape(clock.regime.name)} | {escape(clock.stage_name)} "
        f"| {local(v.due, zone)} | {local(v.at, zone)} | {STATES[v.state]} |"
    )


HEADER = [
    "| Incident | Regime | Stage | Deadline | Submitted | Verdict |",
    "|---|---|---|---|---|---|",
]


def monthly_section(
    ledger: Ledger, obligations: Obligations, report: KpiReport, period: Period
) -> list[str]:
    """``## Regulatory reporting``: reportable incidents, stages on time, missed, open."""
    out = ["", "## Regulatory reporting", ""]
    if not ledger.policy.regulatory:
        return [*out, "No regulatory regime is active (policy.yaml regulatory.regimes)."]
    zone = ledger.policy.timezone
    clocks = list(every_clock(ledger, obligations))
    reportable = sorted(
        {
            (inc.id, clock.regime.name)
            for inc, clock in clocks
            if clock.filing is not None
            and clock.filing.decision == "reportable"
            and period.contains(awareness(inc, clock.filing))
        }
    )
    not_reportable = sorted(
        {
            (inc.id, clock.regime.name, clock.filing.reason or "")
            for inc, clock in clocks
            if clock.filing is not None
            and clock.filing.decision == "not-reportable"
            and period.contains(awareness(inc, clock.filing))
        }
    )
    out.append(
        f"Reportable incidents this month: {len(reportable)}"
        + (
            " (" + ", ".join(f"{escape(i)} {escape(r)}" for i, r in reportable) + ")"
            if reportable
            else ""
        )
        + "."
    )
    if not_reportable:
        out += ["", "Decided not reportable:", ""]
        out += [f"- {escape(i)} {escape(r)}: {escape(why)}" for i, r, why in not_reportable]
    kpi = report.get(KPI)
    out += ["", "| Stages | Value | n | Target | Status |", "|---|---|---|---|---|"]
    for line in lines(kpi):
        out.append(f"| all | {line.text} | {line.n} | {line.target} | {line.status} |")
    for group in kpi.groups.get("stage", ()):
        line = group_line(kpi, group)
        out.append(
            f"| {escape(group.key)} | {line.text} | {line.n} | {line.target} | {line.status} |"
        )
    due = [
        (i, c) for i, c in clocks if c.verdict.due is not None and period.contains(c.verdict.due)
    ]
    # stages as the KPI counts them; classification decisions on a line of their own
    on_time = [(i, c) for i, c in due if c.stage is not None and c.verdict.state == "met"]
    missed = [(i, c) for i, c in due if c.stage is not None and c.verdict.failed]
    unclassified = [(i, c) for i, c in due if c.stage is None and c.verdict.failed]
    out += [
        "",
        f"Classification decisions late or missing: {len(unclassified)}"
        + (
            " ("
            + ", ".join(f"{escape(i.id)} {escape(c.regime.name)}" for i, c in unclassified)
            + ")"
            if unclassified
            else ""
        )
        + ".",
    ]
    still_open = [(i, c) for i, c in clocks if c.verdict.state == "pending"]
    still_open.sort(key=lambda pair: (pair[1].verdict.due is None, pair[1].verdict.due or 0))
    for title, rows, empty in (
        (f"Stages on time ({len(on_time)})", on_time, "None."),
        (f"Stages missed or late ({len(missed)})", missed, "None."),
        (f"Open, with their deadlines ({len(still_open)})", still_open, "None."),
    ):
        out += ["", f"### {title}", ""]
        out += [*HEADER, *(_row(i, c, zone) for i, c in rows)] if rows else [empty]
    return out


def weekly_section(ledger: Ledger, obligations: Obligations, period: Period) -> list[str]:
    """``## Regulatory deadlines in the coming week``: every regulatory deadline in the seven
    days after the week, with its verdict as of the report."""
    if not ledger.policy.regulatory:
        return []
    assert period.end is not None
    start, end = period.end, period.end + timedelta(days=7)
    zone = ledger.policy.timezone
    rows = [
        (inc, c)
        for inc, c in every_clock(ledger, obligations)
        if c.verdict.due is not None and start <= c.verdict.due < end
    ]
    rows.sort(key=lambda pair: (pair[1].verdict.due, pair[0].id))
    out = [
        "",
        f"## Regulatory deadlines in the coming week ({len(rows)})",
        "",
        f"From {local(start, zone)} to {local(end, zone)}.",
        "",
    ]
    return out + ([*HEADER, *(_row(i, c, zone) for i, c in rows)] if rows else ["None."])


def brief_lines(clocks: tuple[Clock, ...], words: dict[str, str]) -> list[str]:
    """The executive brief's ``## Regulatory reporting`` (nothing when no regime applies):
    one row per clock, with the brief's verdict ``words``."""
    if not clocks:
        return []
    rows = [
        f"| {escape(c.regime.name)} {escape(c.stage_name)} | {words[c.verdict.state]} "
        f"| {escape(c.verdict.detail)} |"
        for c in clocks
    ]
    return [
        "",
        "## Regulatory reporting",
        "",
        "| Obligation | Verdict | Detail |",
        "|---|---|---|",
        *rows,
    ]
