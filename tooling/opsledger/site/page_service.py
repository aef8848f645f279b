"""One page per service of the catalog: its entry, incidents, changes and runbooks."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from opsledger.kpis.display import value_text
from opsledger.model.records import Change, Incident, Record, Service
from opsledger.site.common import NONE, fields, head, stamp, table, when
from opsledger.site.context import PageContext, carried_rows
from opsledger.site.paging import paged_table
from opsledger.text.escape import md

R = TypeVar("R", bound=Record)


def service_pages(ctx: PageContext, service: Service, page: str) -> dict[str, str]:
    """The service's page; its incident and change tables continue on further pages
    (``services/ID/incidents/2.md``…) beyond ``ctx.page_rows`` rows."""
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

    def incident_row(here: str, i: Incident) -> tuple[str, ...]:
        return (
            links.record(here, i.id),
            md(i.title),
            md(i.priority),
            md(i.status),
            md(when(i.detected_at, zone)),
        )

    more: dict[str, list[str]] = {}
    header = ["ID", "Title", "Priority", "Status", "Detected"]
    out += _table(ctx, page, "Incidents", incidents, header, incident_row, more)
    changes = [c for c in ledger.changes.values() if service.id in c.services]
    changes.sort(key=lambda c: stamp(c.window_start), reverse=True)
    out += [f"## Changes ({len(changes)})", ""]

    def change_row(here: str, c: Change) -> tuple[str, ...]:
        return (
            links.record(here, c.id),
            md(c.title),
            md(c.type),
            md(c.status),
            md(when(c.window_start, zone)),
        )

    header = ["ID", "Title", "Type", "Status", "Window start"]
    out += _table(ctx, page, "Changes", changes, header, change_row, more)
    books = [b for b in ledger.runbooks.values() if service.id in b.services]
    out += ["## Runbooks", ""]
    pairs = [(links.record(page, b.id), md(b.title)) for b in books]
    out += table(["ID", "Title"], pairs) if pairs else [NONE, ""]
    pages = {page: "\n".join(out) + "\n"}
    title = f"{service.id} — {service.name or 'Service'}"
    for name, body in more.items():
        back = f"Continued from {links.service(name, service.id)}."
        pages[name] = "\n".join([*head(title), back, "", *body]) + "\n"
    return pages


def _table(
    ctx: PageContext,
    page: str,
    title: str,
    records: Sequence[R],
    header: list[str],
    row: Callable[[str, R], Sequence[str]],
    more: dict[str, list[str]],
) -> list[str]:
    """The service page's first part of a table of its incidents or changes (rows made
    once per record under ``site serve``: :func:`~.context.carried_rows`); its further
    pages go into ``more``, under the table's heading."""
    if not records:
        return ["None.", ""]
    part = title.lower()
    parts = paged_table(
        ctx.links,
        page,
        records,
        header,
        carried_rows(ctx, f"{page} {part}", row),
        page_rows=ctx.page_rows,
        part=part,
    )
    first = parts.pop(page)
    more |= {name: [f"## {title} ({len(records)})", "", *body] for name, body in parts.items()}
    return first
