"""One page per service of the catalog: its entry, incidents, changes and runbooks."""

from __future__ import annotations

from opsledger.kpis.display import value_text
from opsledger.model.records import Service
from opsledger.site.common import NONE, fields, head, stamp, table, when
from opsledger.site.context import PageContext
from opsledger.text.escape import md


def service_page(ctx: PageContext, service: Service, page: str) -> str:
    links = ctx.links
    ledger = ctx.data.ledger
    zone = ledger.policy.timezone
    out = head(f"{service.id} — {service.name or 'Service'}")
    escalation = "<br>".join(f"tier {md(tier)}: {md(team)}" for tier, team in service.escalation)
    goal = service.availability_target
    target = value_text(goal, "percent") if goal is not None else ""
    out += fields(
        [
            ("Name", md(service.name)),
            ("Tier", md(service.tier)),
            ("Owner", md(service.owner)),
            ("Availability target", md(target)),
            ("Escalation", escalation),
            ("Runbooks (catalog)", ", ".join(links.record(page, r) for r in service.runbooks)),
        ]
    )
    incidents = [i for i in ledger.incidents.values() if i.service == service.id]
    incidents.sort(key=lambda i: stamp(i.detected_at), reverse=True)
    out += [f"## Incidents ({len(incidents)})", ""]
    rows = [
        (
            links.record(page, i.id),
            md(i.title),
            md(i.priority),
            md(i.status),
            md(when(i.detected_at, zone)),
        )
        for i in incidents
    ]
    out += table(["ID", "Title", "Priority", "Status", "Detected"], rows) if rows else ["None.", ""]
    changes = [c for c in ledger.changes.values() if service.id in c.services]
    changes.sort(key=lambda c: stamp(c.window_start), reverse=True)
    out += [f"## Changes ({len(changes)})", ""]
    rows = [
        (
            links.record(page, c.id),
            md(c.title),
            md(c.type),
            md(c.status),
            md(when(c.window_start, zone)),
        )
        for c in changes
    ]
    out += table(["ID", "Title", "Type", "Status", "Window start"], rows) if rows else ["None.", ""]
    books = [b for b in ledger.runbooks.values() if service.id in b.services]
    out += ["## Runbooks", ""]
    pairs = [(links.record(page, b.id), md(b.title)) for b in books]
    out += table(["ID", "Title"], pairs) if pairs else [NONE, ""]
    return "\n".join(out) + "\n"
