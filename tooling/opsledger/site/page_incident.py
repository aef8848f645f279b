"""One page per incident: its fields laid out for reading, timings against policy, the
notifications with on-time marks, escalations, timeline, linked records, findings and
the audit trail."""

from __future__ import annotations

from datetime import datetime, timedelta

from opsledger.model.policy import PriorityPolicy
from opsledger.model.records import Incident
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
    when,
)
from opsledger.site.context import PageContext
from opsledger.site.records_common import linked_section, schema_notice
from opsledger.text.escape import md, md_lines


def _within(start: datetime | None, end: datetime | None, limit: timedelta | None) -> str:
    """``15m (✓ within 30m)`` — the elapsed time and whether it met the policy."""
    if start is None or end is None:
        return NONE
    elapsed = end - start
    if limit is None:
        return span(elapsed)
    mark = f"{OK} within {span(limit)}" if elapsed <= limit else f"{BAD} over {span(limit)}"
    return f"{span(elapsed)} ({mark})"


def _timing(inc: Incident, rule: PriorityPolicy | None, ctx: PageContext) -> list[str]:
    zone = ctx.data.ledger.policy.timezone
    det = inc.detected_at

    def row(name: str, moment: datetime | None, limit: timedelta | None) -> tuple[str, ...]:
        return (name, md(when(moment, zone)), md(_within(det, moment, limit)) if moment else NONE)

    rows = [
        ("Detected", md(when(det, zone)), NONE),
        row("Acknowledged", inc.acknowledged_at, rule.acknowledge_within if rule else None),
        row("Bridge opened", inc.bridge_opened_at, rule.bridge_within if rule else None),
        row("Mitigated (restored)", inc.mitigated_at, rule.restore_within if rule else None),
        row("Resolved", inc.resolved_at, rule.resolve_within if rule else None),
        row("Closed", inc.closed_at, None),
    ]
    return ["## Timings", "", *table(["Event", "Time", "Since detection (policy)"], rows)]


def _notifications(inc: Incident, rule: PriorityPolicy | None, ctx: PageContext) -> list[str]:
    out = ["## Notifications", ""]
    zone = ctx.data.ledger.policy.timezone
    if rule is not None and not rule.notification_required:
        out += [f"Policy requires no notification for {md(inc.priority)}.", ""]
    if not inc.notifications:
        need = rule is not None and rule.notification_required
        return [*out, f"{BAD} None recorded." if need else "None recorded.", ""]
    rows = []
    previous = inc.detected_at
    ordered = sorted(inc.notifications, key=lambda n: (n.at is None, n.at or datetime.min))
    first = True
    for note in ordered:
        if note.at is None or inc.detected_at is None or rule is None:
            mark = NONE
        elif first:
            limit = rule.initial_notification_within
            late = note.at - inc.detected_at
            mark = (
                f"{OK} on time ({span(late)} after detection, limit {span(limit)})"
                if late <= limit
                else f"{BAD} late ({span(late)} after detection, limit {span(limit)})"
            )
        elif inc.resolved_at is not None and previous is not None and previous >= inc.resolved_at:
            mark = "after resolution"
        else:
            gap = note.at - previous if previous is not None else None
            limit = rule.update_every
            mark = (
                f"{OK} {span(gap)} since previous (every {span(limit)})"
                if gap is not None and gap <= limit
                else f"{BAD} gap {span(gap)} (every {span(limit)})"
            )
        first = False
        previous = note.at or previous
        rows.append(
            (
                md(when(note.at, zone)),
                md(note.kind),
                md(", ".join(note.audience)),
                md(note.channel),
                md_lines(note.summary),
                md(mark),
            )
        )
    header = ["Sent", "Kind", "Audience", "Channel", "Summary", "On time?"]
    return [*out, *table(header, rows)]


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


def incident_page(ctx: PageContext, inc: Incident, page: str) -> str:
    links = ctx.links
    policy = ctx.data.ledger.policy
    rule = policy.priorities.get(inc.priority or "")
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
    out += _timing(inc, rule, ctx)
    out += _notifications(inc, rule, ctx)
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
