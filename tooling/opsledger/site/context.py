"""What page functions read: the site data, the page paths, and reverse links."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from opsledger.model.policy import fingerprint
from opsledger.model.records import Change, Incident, Pir, Problem, Record
from opsledger.site.data import SiteData
from opsledger.site.links import Links
from opsledger.site.paging import PAGE_ROWS

R = TypeVar("R", bound=Record)


@dataclass
class PageContext:
    data: SiteData
    links: Links
    #: record ID -> IDs of records that name it (caused_by_change, recurrence_of, pir…)
    backlinks: dict[str, list[str]] = field(default_factory=dict)
    #: rows per page of a long table (:mod:`opsledger.site.paging`)
    page_rows: int = PAGE_ROWS


def make_context(data: SiteData, directory_urls: bool, page_rows: int = PAGE_ROWS) -> PageContext:
    links = Links(directory_urls)
    ledger = data.ledger
    for record in ledger.records():
        links.add_record(record.kind, record.id, record.path)
    for service_id in ledger.services:
        links.add_service(service_id)
    back: defaultdict[str, list[str]] = defaultdict(list)
    for record in ledger.records():
        for target in _targets(record):
            if target and target != record.id:
                back[target].append(record.id)
    return PageContext(data, links, {k: sorted(set(v)) for k, v in back.items()}, page_rows)


def _targets(record: Record) -> list[str | None]:
    if isinstance(record, Incident):
        return [record.caused_by_change, record.recurrence_of, record.pir, *record.runbooks_used]
    if isinstance(record, Change):
        return [record.related_incident]
    if isinstance(record, Pir):
        return [record.incident]
    if isinstance(record, Problem):
        return [*record.incidents, *record.runbooks, record.fix_change]
    return []


def setting(ctx: PageContext) -> tuple[object, ...]:
    """What every page of a build reads alike: all the policy says (:func:`fingerprint`), the
    commit, why there is no history, the URL style, the rows of a long table, and every
    page path. A page made from one record under an equal setting, from the same record
    and equal inputs (``site serve``: :meth:`~opsledger.site.carry.Carry.made`), is the
    same page."""
    data, links = ctx.data, ctx.links
    policy = data.ledger.policy
    return (
        fingerprint(policy),
        data.commit,
        data.history_notice,
        links.directory_urls,
        ctx.page_rows,
        links.records,
        links.services,
        links.problems,
    )


def carried_rows(
    ctx: PageContext,
    name: str,
    row: Callable[[str, R], Sequence[str]],
    inputs: Callable[[R], object] | None = None,
) -> Callable[[str, R], Sequence[str]]:
    """``row(page, record)`` for a table named ``name``; under ``site serve``, the row the
    last build made from the same record object on the same page, with equal
    ``inputs(record)`` (what the row reads besides the record and the setting: its
    findings, say) under an equal setting (:meth:`~opsledger.site.carry.Carry.made`)."""
    carry = ctx.data.carry
    if carry is None:
        return row

    def carried(page: str, record: R) -> Sequence[str]:
        key = (page, inputs(record)) if inputs is not None else page
        return carry.made(name, record, key, lambda r: tuple(row(page, r)))

    return carried
