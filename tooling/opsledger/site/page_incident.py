"""One page per incident: its fields laid out for reading, timings against policy, the
notifications with on-time marks, escalations, timeline, linked records, findings and
the audit trail."""

from __future__ import annotations

from datetime import datetime

from opsledger.model.records import Incident, Notification
from opsledger.obligations import IncidentObligations, Verdict
from opsledger.site.common import (
    BAD,
    NONE,
    OK,
    audit_trail,
    fields,
    findings_section,
    head,
    paragraph,
    span,
    table,
    verdict_rows,
    when,
)
from opsledger.site.context import PageContext
from opsledger.site.page_regulatory import regulatory_section
from opsledger.site.records_common import linked_section, named_by, schema_notice
from opsledger.text.escape import md, md_lines


def _since(v: Verdict | None) -> str:
    """``15m (✓ within 30m)``: the elapsed time against the policy, from the verdict."""
    if v is None:
        return NONE
    limit = span(v.limit)
    if v.state == "met":
        return f"{span(v.elapsed)} ({OK} within {limit})"
    if v.state == "late":
        return f"{span(v.elapsed)} ({BAD} over {limit})"
    if v.state == "missing":
        return f"{BAD} not recorded; {limit} passed"
    return f"pending (limit {limit})"


def _timing(inc: Incident, ob: IncidentObligations, ctx: PageContext) -> list[str]:
    zone = ctx.data.ledger.policy.timezone

    def row(name: str, moment: datetime | None, v: Verdict | None) -> tuple[str, ...]:
        return (name, md(when(moment, zone)), md(_since(v)))

    rows = [
        ("Detected", md(when(inc.detected_at, zone)), NONE),
        row("Acknowledged", inc.acknowledged_at, ob.acknowledgement),
        row("Bridge opened", inc.bridge_opened_at, ob.bridge),
        row("Mitigated (restored)", inc.mitigated_at, ob.restoration),
        row("Resolved", inc.resolved_at, ob.resolution),
        ("Closed", md(when(inc.closed_at, zone)), NONE),
    ]
    return ["## Timings", "", *table(["Event", "Time", "Since detection (policy)"], rows)]


def _notice_marks(note: Notification, ob: IncidentObligations) -> str:
    """What the verdicts say about one notification: whether it is the initial one that
    counted, and the update gap it closed."""
    marks = []
    initial, cadence = ob.initial_notification, ob.cadence
    if initial is not None and initial.item == note.index and initial.elapsed is not None:
        what = "on time" if initial.state == "met" else "late"
        mark = OK if initial.state == "met" else BAD
        marks.append(
            f"{mark} initial notification {what} ({span(initial.elapsed)} after detection, "
            f"limit {span(initial.limit)})"
        )
    if cadence is not None:
        gap = cadence.gap_closed_by(note.index)
        every = span(cadence.limit)
        if gap is not None:
            marks.append(
                f"{OK} {span(gap.length)} since previous (every {every})"
                if gap.ok
                else f"{BAD} gap {span(gap.length)} (every {every})"
            )
        elif any(g.opens == note.index for g in cadence.gaps) and not marks:
            marks.append("first update (the cadence starts here)")
        elif not any(g.opens == note.index for g in cadence.gaps) and note.at is not None:
            marks.append("after resolution")
    return "; ".join(marks) or NONE


def _notifications(inc: Incident, ob: IncidentObligations, ctx: PageContext) -> list[str]:
    out = ["## Notifications", ""]
    zone = ctx.data.ledger.policy.timezone
    rule = ctx.data.ledger.policy.priorities.get(inc.priority or "")
    if rule is not None and not rule.notification_required:
        out += [f"Policy requires no notification for {md(inc.priority)}.", ""]
    if not inc.notifications:
        initial = ob.initial_notification
        if initial is not None and initial.failed:
            return [*out, f"{BAD} None recorded: {md(initial.detail)}.", ""]
        return [*out, "None recorded.", ""]
    ordered = sorted(inc.notifications, key=lambda n: (n.at is None, n.at or datetime.min, n.index))
    rows = [
        (
            md(when(note.at, zone)),
            md(note.kind),
            md(", ".join(note.audience)),
            md(note.channel),
            md_lines(note.summary),
            md(_notice_marks(note, ob)),
        )
        for note in ordered
    ]
    header = ["Sent", "Kind", "Audience", "Channel", "Summary", "On time?"]
    out += table(header, rows)
    tail = ob.cadence.tail if ob.cadence is not None else None
    if tail is not None and not tail.ok:
        out += [
            f"{BAD} {md(span(tail.length))} without an update before {md(tail.until)} "
            f"(every {md(span(ob.cadence.limit if ob.cadence else None))}).",
            "",
        ]
    return out


def _escalations(inc: Incident, ctx: PageContext) -> list[str]:
    if not inc.escalations:
        return []
    zone = ctx.data.ledger.policy.timezone
    rows = [
        (
            md(when(e.at, zone)),
            md(e.to_tier),
            md(e.team),
            md_lines(e.context),
            md_lines(e.troubleshooting),
            md_lines(e.impact_assessment),
        )
        for e in inc.escalations
    ]
    header = ["Time", "To tier", "Team", "Context", "Troubleshooting", "Impact assessment"]
    return ["## Escalations", "", *table(header, rows)]


def _timeline(inc: Incident, ctx: PageContext) -> list[str]:
    zone = ctx.data.ledger.policy.timezone
    events: list[tuple[datetime | None, str]] = [(t.at, md_lines(t.event)) for t in inc.timeline]
    stamps = (
        ("detected", inc.detected_at),
        ("acknowledged", inc.acknowledged_at),
        ("bridge opened", inc.bridge_opened_at),
        ("mitigated", inc.mitigated_at),
        ("resolved", inc.resolved_at),
        ("closed", inc.closed_at),
    )
    events += [(at, f"*{name}* (record field)") for name, at in stamps if at is not None]
    events += [(n.at, f"*{md(n.kind or 'notification')} notification*") for n in inc.notifications]
    events += [(r.at, f"*reopened*: {md_lines(r.reason)}") for r in inc.reopened]
    events.sort(key=lambda e: (e[0] is None, e[0] or datetime.min.replace(tzinfo=None)))
    if not events:
        return []
    rows = [(md(when(at, zone)), text) for at, text in events]
    return ["## Timeline", "", *table(["Time", "Event"], rows)]


def incident_inputs(ctx: PageContext, inc: Incident) -> tuple[object, ...]:
    """What :func:`incident_page` reads besides the incident and the build's setting
    (:func:`~opsledger.site.context.setting`): its verdicts, regulatory clocks, findings,
    audit trail, and the records naming it."""
    data = ctx.data
    return (
        data.verdicts.incident(inc),
        data.verdicts.regulatory(inc),
        data.findings_of(inc.id, inc.path),
        audit_trail(data, inc.id),
        named_by(ctx, inc),
    )


def incident_page(ctx: PageContext, inc: Incident, page: str) -> str:
    links = ctx.links
    policy = ctx.data.ledger.policy
    ob = ctx.data.verdicts.incident(inc)
    out = head(f"{inc.id} — {inc.title or '(no title)'}")
    out += schema_notice(ctx, inc)
    out += fields(
        [
            ("Status", md(inc.status)),
            ("Priority", md(inc.priority)),
            ("Service", links.service(page, inc.service)),
            ("Detection", md(inc.detection)),
            ("Source", md(inc.source)),
            ("Scope", md(inc.scope)),
            ("Category", md(inc.category)),
            ("Commander", md(inc.commander)),
            ("External ID", md(inc.external_id)),
            ("Import gaps", md(", ".join(inc.import_gaps))),
            ("File", md(inc.path)),
        ]
    )
    out += ["## Impact", "", *(paragraph(inc.impact) or [NONE, ""])]
    if inc.resolution:
        out += ["## Resolution", "", *paragraph(inc.resolution)]
    out += _timing(inc, ob, ctx)
    out += verdict_rows(
        [*ob.verdicts()[:3], *([ob.cadence] if ob.cadence else []), *ob.verdicts()[3:]]
    )
    out += regulatory_section(ctx, inc)
    out += _notifications(inc, ob, ctx)
    out += _escalations(inc, ctx)
    if inc.reopened:
        zone = policy.timezone
        rows = [(md(when(r.at, zone)), md_lines(r.reason)) for r in inc.reopened]
        out += ["## Reopened", "", *table(["Time", "Reason"], rows)]
    out += _timeline(inc, ctx)
    out += linked_section(
        ctx,
        page,
        inc,
        [
            ("Caused by change", inc.caused_by_change),
            ("Recurrence of", inc.recurrence_of),
            ("Post-incident review", inc.pir),
            *(("Runbook used", rb) for rb in inc.runbooks_used),
        ],
    )
    out += findings_section(ctx.data, links, page, ctx.data.findings_of(inc.id, inc.path))
    out += audit_trail(ctx.data, inc.id)
    return "\n".join(out) + "\n"
