"""One page per change record: plan, window, approvals, notices, implementation."""

from __future__ import annotations

from opsledger.model.records import Change
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
from opsledger.site.records_common import linked_section, named_by, schema_notice
from opsledger.text.escape import md, md_lines


def _approvals(change: Change, ctx: PageContext) -> list[str]:
    zone = ctx.data.ledger.policy.timezone
    if not change.approvals:
        return ["## Approvals", "", "None recorded.", ""]
    rows = []
    for a in change.approvals:
        if a.at is None or change.window_start is None:
            before = NONE
        elif a.at <= change.window_start:
            before = f"{OK} {span(change.window_start - a.at)} before the window"
        else:
            before = f"{BAD} {span(a.at - change.window_start)} after the window started"
        rows.append(
            (
                md(a.by),
                md(a.role),
                md(a.decision),
                md(when(a.at, zone)),
                md(before),
                md_lines(a.conditions),
            )
        )
    header = ["By", "Role", "Decision", "At", "Before the window?", "Conditions"]
    return ["## Approvals", "", *table(header, rows)]


def _notices(change: Change, ctx: PageContext) -> list[str]:
    """Each notice; the one the advance-notice verdict counted (the earliest) carries its
    mark, so the page says what CHG-NOTICE says."""
    policy = ctx.data.ledger.policy
    verdict = ctx.data.verdicts.change(change).notice
    if not change.notifications:
        if verdict is not None and verdict.failed:
            return ["## Stakeholder notifications", "", f"{BAD} None recorded.", ""]
        return ["## Stakeholder notifications", "", "None recorded.", ""]
    rows = []
    for n in change.notifications:
        mark = NONE
        if verdict is not None and verdict.item == n.index and verdict.start is not None:
            ahead = verdict.start - (n.at or verdict.start)
            need = span(verdict.limit)
            mark = (
                f"{OK} {span(ahead)} ahead (needs {need})"
                if verdict.state == "met"
                else f"{BAD} {span(ahead)} ahead (needs {need})"
            )
        elif verdict is not None and n.at is not None:
            mark = "later notice"
        rows.append(
            (md(when(n.at, policy.timezone)), md(", ".join(n.audience)), md(n.channel), md(mark))
        )
    header = ["Sent", "Audience", "Channel", "Notice"]
    return ["## Stakeholder notifications", "", *table(header, rows)]


def change_inputs(ctx: PageContext, change: Change) -> tuple[object, ...]:
    """What :func:`change_page` reads besides the change and the build's setting
    (:func:`~opsledger.site.context.setting`): its verdicts, findings, audit trail, and the
    records naming it."""
    data = ctx.data
    return (
        data.verdicts.change(change),
        data.findings_of(change.id, change.path),
        audit_trail(data, change.id),
        named_by(ctx, change),
    )


def change_page(ctx: PageContext, change: Change, page: str) -> str:
    links = ctx.links
    zone = ctx.data.ledger.policy.timezone
    out = head(f"{change.id} — {change.title or '(no title)'}")
    out += schema_notice(ctx, change)
    window = NONE
    if change.window_start is not None:
        length = f" ({span(change.window_end - change.window_start)})" if change.window_end else ""
        window = f"{when(change.window_start, zone)} → {when(change.window_end, zone)}{length}"
    out += fields(
        [
            ("Status", md(change.status)),
            ("Type", md(change.type)),
            ("Risk", md(change.risk)),
            ("Services", ", ".join(links.service(page, s) for s in change.services)),
            ("Window", md(window)),
            ("Requested by", md(change.requested_by)),
            ("Implementer", md(change.implementer)),
            ("Standard template", md(change.standard_template)),
            ("File", md(change.path)),
        ]
    )
    out += ["## Description", "", *(paragraph(change.description) or [NONE, ""])]
    out += ["## Justification", "", *(paragraph(change.justification) or [NONE, ""])]
    out += ["## Risk and impact", "", *(paragraph(change.impact) or [NONE, ""])]
    tested = {True: f"{OK} yes", False: f"{BAD} no", None: NONE}[change.rollback_tested]
    out += ["## Rollback", ""]
    out += fields(
        [
            ("Plan", md_lines(change.rollback_plan)),
            ("Trigger", md_lines(change.rollback_trigger)),
            ("Tested", tested),
            ("Estimated duration", md(change.rollback_duration)),
        ]
    ) or [NONE, ""]
    out += ["## Testing", ""]
    out += fields(
        [
            ("Summary", md_lines(change.testing_summary)),
            ("Evidence", "<br>".join(md(e) for e in change.testing_evidence)),
        ]
    ) or [NONE, ""]
    out += verdict_rows(ctx.data.verdicts.change(change).verdicts())
    out += _approvals(change, ctx)
    out += _notices(change, ctx)
    if change.freeze_exception_by or change.freeze_exception_reason:
        out += ["## Freeze exception", ""]
        out += fields(
            [
                ("Approved by", md(change.freeze_exception_by)),
                ("Reason", md_lines(change.freeze_exception_reason)),
            ]
        )
    out += ["## Implementation", ""]
    out += fields(
        [
            ("Started", md(when(change.implementation_started_at, zone))),
            ("Completed", md(when(change.implementation_completed_at, zone))),
            ("Outcome", md(change.outcome)),
            ("Validation", md_lines(change.validation)),
        ]
    ) or ["Not implemented yet.", ""]
    out += linked_section(ctx, page, change, [("Related incident", change.related_incident)])
    out += findings_section(ctx.data, links, page, ctx.data.findings_of(change.id, change.path))
    out += audit_trail(ctx.data, change.id)
    return "\n".join(out) + "\n"
