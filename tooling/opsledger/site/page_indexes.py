"""Index pages: every incident, change, PIR, runbook and service in one table each,
filterable by priority, status, service and period and sortable by any column (the
small local script ``assets/opsledger/tables.js``; without it the table still reads)."""

from __future__ import annotations

from opsledger.site.common import BAD, OK, head, stamp, table, when
from opsledger.site.context import PageContext
from opsledger.site.escape import attr, md
from opsledger.site.page_docs import action_state, review_state


def filter_bar(*columns: str) -> list[str]:
    """The marker the table script turns into drop-downs for ``columns``."""
    return [f'<div class="ol-filter" data-ol-columns="{attr(",".join(columns))}"></div>', ""]


def _findings(ctx: PageContext, record_id: str, path: str) -> str:
    found = ctx.data.findings_of(record_id, path)
    errors = sum(1 for f in found if f.severity == "error" and not f.waived)
    warnings = sum(1 for f in found if f.severity == "warning" and not f.waived)
    if not errors and not warnings:
        return f"{OK} none"
    parts = [f"{BAD} {errors} error{'s' if errors != 1 else ''}"] if errors else []
    parts += [f"⚠ {warnings} warning{'s' if warnings != 1 else ''}"] if warnings else []
    return ", ".join(parts)


def _period(ctx: PageContext, moment: object) -> str:
    from datetime import datetime

    if not isinstance(moment, datetime):
        return ""
    return moment.astimezone(ctx.data.ledger.policy.timezone).strftime("%Y-%m")


def _unreadable(ctx: PageContext, page: str, folder: str) -> list[str]:
    """Files of this kind that could not be read at all (their pages list the errors)."""
    rows = [
        (ctx.links.page(page, target, path), md(str(len(ctx.data.by_path.get(path, [])))))
        for path, target in ctx.links.problems.items()
        if path.startswith(folder)
    ]
    if not rows:
        return []
    return [f"## {BAD} Files that could not be read", "", *table(["File", "Errors"], rows)]


def incidents_index(ctx: PageContext, page: str) -> str:
    zone = ctx.data.ledger.policy.timezone
    incidents = sorted(ctx.data.ledger.incidents.values(), key=lambda i: stamp(i.detected_at))
    out = head("Incidents", hide_toc=True)
    out += [
        f"{len(incidents)} incidents, newest first. Filter by priority, status, service or "
        "month; click a column heading to sort.",
        "",
    ]
    out += filter_bar("Priority", "Status", "Service", "Month", "Findings")
    rows = [
        (
            ctx.links.record(page, i.id),
            md(i.title),
            md(i.priority),
            md(i.status),
            md(i.service),
            md(when(i.detected_at, zone)),
            md(_period(ctx, i.detected_at)),
            md(_findings(ctx, i.id, i.path)),
        )
        for i in reversed(incidents)
    ]
    header = ["ID", "Title", "Priority", "Status", "Service", "Detected", "Month", "Findings"]
    out += table(header, rows)
    out += _unreadable(ctx, page, "records/incidents/")
    return "\n".join(out) + "\n"


def changes_index(ctx: PageContext, page: str) -> str:
    zone = ctx.data.ledger.policy.timezone
    changes = sorted(ctx.data.ledger.changes.values(), key=lambda c: stamp(c.window_start))
    out = head("Changes", hide_toc=True)
    out += [
        f"{len(changes)} change records, latest window first. See also the "
        f"{ctx.links.page(page, 'changes/calendar.md', 'change calendar')}.",
        "",
    ]
    out += filter_bar("Type", "Risk", "Status", "Service", "Month", "Findings")
    rows = [
        (
            ctx.links.record(page, c.id),
            md(c.title),
            md(c.type),
            md(c.risk),
            md(c.status),
            md(", ".join(c.services)),
            md(when(c.window_start, zone)),
            md(_period(ctx, c.window_start)),
            md(_findings(ctx, c.id, c.path)),
        )
        for c in reversed(changes)
    ]
    header = ["ID", "Title", "Type", "Risk", "Status", "Service", "Window", "Month", "Findings"]
    out += table(header, rows)
    out += _unreadable(ctx, page, "records/changes/")
    return "\n".join(out) + "\n"


def pirs_index(ctx: PageContext, page: str) -> str:
    ledger = ctx.data.ledger
    today = ctx.data.as_of.astimezone(ledger.policy.timezone).date()
    out = head("Post-incident reviews", hide_toc=True)
    out += filter_bar("Status", "Priority", "Service", "Findings")
    rows = []
    for pir in sorted(ledger.pirs.values(), key=lambda p: p.id, reverse=True):
        inc = ledger.incidents.get(pir.incident or "")
        open_actions = [a for a in pir.actions if a.status in ("open", "in-progress")]
        overdue = [a for a in open_actions if action_state(a, today).startswith(BAD)]
        rows.append(
            (
                ctx.links.record(page, pir.id),
                md(pir.title),
                ctx.links.record(page, pir.incident),
                md(inc.priority if inc else ""),
                md(inc.service if inc else ""),
                md(pir.status),
                md(f"{len(pir.actions)} ({len(open_actions)} open, {len(overdue)} overdue)"),
                md(_findings(ctx, pir.id, pir.path)),
            )
        )
    header = ["ID", "Title", "Incident", "Priority", "Service", "Status", "Actions", "Findings"]
    out += table(header, rows)
    out += _unreadable(ctx, page, "records/pirs/")
    return "\n".join(out) + "\n"


def runbooks_index(ctx: PageContext, page: str) -> str:
    policy = ctx.data.ledger.policy
    today = ctx.data.as_of.astimezone(policy.timezone).date()
    out = head("Runbooks", hide_toc=True)
    out += filter_bar("Service", "Owner", "Findings")
    rows = [
        (
            ctx.links.record(page, b.id),
            md(b.title),
            md(", ".join(b.services)),
            md(b.owner),
            md(review_state(b, b.review_period(policy.runbook_review_every), today)),
            md(_findings(ctx, b.id, b.path)),
        )
        for b in sorted(ctx.data.ledger.runbooks.values(), key=lambda b: b.id)
    ]
    out += table(["ID", "Title", "Service", "Owner", "Review", "Findings"], rows)
    out += _unreadable(ctx, page, "runbooks/")
    return "\n".join(out) + "\n"


def services_index(ctx: PageContext, page: str) -> str:
    ledger = ctx.data.ledger
    counts: dict[str, int] = {}
    for inc in ledger.incidents.values():
        counts[inc.service or ""] = counts.get(inc.service or "", 0) + 1
    out = head("Services", hide_toc=True)
    out += filter_bar("Tier", "Owner")
    rows = [
        (
            ctx.links.service(page, s.id),
            md(s.name),
            md(s.tier),
            md(s.owner),
            md(f"{s.availability_target}%" if s.availability_target is not None else ""),
            md(counts.get(s.id, 0)),
        )
        for s in ledger.services.values()
    ]
    out += table(["ID", "Name", "Tier", "Owner", "Availability target", "Incidents"], rows)
    return "\n".join(out) + "\n"
