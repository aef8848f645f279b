"""Index pages: every incident, change, PIR, runbook and service in one table each,
filterable by priority, status, service and period and sortable by any column (the
small local script ``assets/opsledger/tables.js``; without it the table still reads).
A long table is split over pages of a bounded size (:mod:`opsledger.site.paging`); the
filters and sorting then act on the page shown, and the whole list is a download."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from opsledger.kpis.display import value_text
from opsledger.model.records import Change, Incident, Pir, Runbook, Service
from opsledger.site.common import BAD, OK, head, stamp, table, when
from opsledger.site.context import PageContext, carried_rows
from opsledger.site.page_docs import overdue, review_state
from opsledger.site.paging import paged_table
from opsledger.text.escape import attr, md

T = TypeVar("T")


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


def _paged(
    ctx: PageContext,
    first: str,
    top: Callable[[str], list[str]],
    header: list[str],
    items: Sequence[T],
    row: Callable[[str, T], Sequence[str]],
    *,
    folder: str | None = None,
    label: Callable[[T], str] | None = None,
) -> dict[str, str]:
    """The pages of one index: ``top(page)`` (head, count, filter bar) over each page's rows,
    then (on the first page) the files of ``folder`` that could not be read."""
    parts = paged_table(ctx.links, first, items, header, row, page_rows=ctx.page_rows, label=label)
    pages = {}
    for page, body in parts.items():
        tail = _unreadable(ctx, page, folder) if folder and page == first else []
        pages[page] = "\n".join([*top(page), *body, *tail]) + "\n"
    return pages


def _download(ctx: PageContext, page: str, name: str, count: int) -> str:
    """Where the whole list is when it does not fit on one page."""
    if count <= ctx.page_rows:
        return ""
    target = ctx.links.page(page, "downloads/index.md", name)
    return f" Filters and sorting act on the page shown; every row is in {target}."


def incidents_index(ctx: PageContext, page: str) -> dict[str, str]:
    zone = ctx.data.ledger.policy.timezone
    incidents = sorted(ctx.data.ledger.incidents.values(), key=lambda i: stamp(i.detected_at))
    incidents.reverse()

    def top(here: str) -> list[str]:
        lines = head("Incidents", hide_toc=True)
        lines += [
            f"{len(incidents)} incidents, newest first. Filter by priority, status, service or "
            "month; click a column heading to sort."
            + _download(ctx, here, "incidents.csv", len(incidents)),
            "",
        ]
        lines += filter_bar("Priority", "Status", "Service", "Month", "Findings")
        return lines

    def row(here: str, i: Incident) -> tuple[str, ...]:
        return (
            ctx.links.record(here, i.id),
            md(i.title),
            md(i.priority),
            md(i.status),
            md(i.service),
            md(when(i.detected_at, zone)),
            md(_period(ctx, i.detected_at)),
            md(_findings(ctx, i.id, i.path)),
        )

    header = ["ID", "Title", "Priority", "Status", "Service", "Detected", "Month", "Findings"]
    return _paged(
        ctx,
        page,
        top,
        header,
        incidents,
        carried_rows(ctx, page, row, lambda i: _findings(ctx, i.id, i.path)),
        folder="records/incidents/",
        label=lambda i: _period(ctx, i.detected_at),
    )


def changes_index(ctx: PageContext, page: str) -> dict[str, str]:
    zone = ctx.data.ledger.policy.timezone
    changes = sorted(ctx.data.ledger.changes.values(), key=lambda c: stamp(c.window_start))
    changes.reverse()

    def top(here: str) -> list[str]:
        lines = head("Changes", hide_toc=True)
        lines += [
            f"{len(changes)} change records, latest window first. See also the "
            f"{ctx.links.page(here, 'changes/calendar.md', 'change calendar')}."
            + _download(ctx, here, "changes.csv", len(changes)),
            "",
        ]
        lines += filter_bar("Type", "Risk", "Status", "Service", "Month", "Findings")
        return lines

    def row(here: str, c: Change) -> tuple[str, ...]:
        return (
            ctx.links.record(here, c.id),
            md(c.title),
            md(c.type),
            md(c.risk),
            md(c.status),
            md(", ".join(c.services)),
            md(when(c.window_start, zone)),
            md(_period(ctx, c.window_start)),
            md(_findings(ctx, c.id, c.path)),
        )

    header = ["ID", "Title", "Type", "Risk", "Status", "Service", "Window", "Month", "Findings"]
    return _paged(
        ctx,
        page,
        top,
        header,
        changes,
        carried_rows(ctx, page, row, lambda c: _findings(ctx, c.id, c.path)),
        folder="records/changes/",
        label=lambda c: _period(ctx, c.window_start),
    )


def pirs_index(ctx: PageContext, page: str) -> dict[str, str]:
    ledger = ctx.data.ledger
    pirs = sorted(ledger.pirs.values(), key=lambda p: p.id, reverse=True)

    def top(here: str) -> list[str]:
        lines = head("Post-incident reviews", hide_toc=True)
        note = _download(ctx, here, "pirs.csv", len(pirs)).strip()
        lines += [note, ""] if note else []
        lines += filter_bar("Status", "Priority", "Service", "Findings")
        return lines

    def row(here: str, pir: Pir) -> tuple[str, ...]:
        inc = ledger.incidents.get(pir.incident or "")
        open_actions = [a for a in pir.actions if a.status in ("open", "in-progress")]
        late = [v for v in ctx.data.verdicts.actions(pir) if overdue(v)]
        return (
            ctx.links.record(here, pir.id),
            md(pir.title),
            ctx.links.record(here, pir.incident),
            md(inc.priority if inc else ""),
            md(inc.service if inc else ""),
            md(pir.status),
            md(f"{len(pir.actions)} ({len(open_actions)} open, {len(late)} overdue)"),
            md(_findings(ctx, pir.id, pir.path)),
        )

    header = ["ID", "Title", "Incident", "Priority", "Service", "Status", "Actions", "Findings"]
    return _paged(ctx, page, top, header, pirs, row, folder="records/pirs/", label=lambda p: p.id)


def runbooks_index(ctx: PageContext, page: str) -> dict[str, str]:
    books = sorted(ctx.data.ledger.runbooks.values(), key=lambda b: b.id)

    def top(here: str) -> list[str]:
        lines = head("Runbooks", hide_toc=True)
        note = _download(ctx, here, "runbooks.csv", len(books)).strip()
        lines += [note, ""] if note else []
        lines += filter_bar("Service", "Owner", "Findings")
        return lines

    def row(here: str, b: Runbook) -> tuple[str, ...]:
        return (
            ctx.links.record(here, b.id),
            md(b.title),
            md(", ".join(b.services)),
            md(b.owner),
            md(review_state(b, ctx.data.verdicts.runbook(b))),
            md(_findings(ctx, b.id, b.path)),
        )

    header = ["ID", "Title", "Service", "Owner", "Review", "Findings"]
    return _paged(ctx, page, top, header, books, row, folder="runbooks/", label=lambda b: b.id)


def services_index(ctx: PageContext, page: str) -> dict[str, str]:
    ledger = ctx.data.ledger
    counts: dict[str, int] = {}
    for inc in ledger.incidents.values():
        counts[inc.service or ""] = counts.get(inc.service or "", 0) + 1

    def top(here: str) -> list[str]:
        lines = head("Services", hide_toc=True)
        note = _download(ctx, here, "services.csv", len(ledger.services)).strip()
        lines += [note, ""] if note else []
        lines += filter_bar("Tier", "Owner")
        return lines

    def row(here: str, s: Service) -> tuple[str, ...]:
        return (
            ctx.links.service(here, s.id),
            md(s.name),
            md(s.tier),
            md(s.owner),
            md(value_text(s.availability_target, "percent")),
            md(counts.get(s.id, 0)),
        )

    header = ["ID", "Name", "Tier", "Owner", "Availability target", "Incidents"]
    return _paged(ctx, page, top, header, list(ledger.services.values()), row, label=lambda s: s.id)
