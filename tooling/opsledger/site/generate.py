"""All generated pages and assets, as plain data: source path -> content.

Plain functions of :class:`~opsledger.site.data.SiteData`; nothing here knows MkDocs.
Record pages are reached through the index pages and kept out of the navigation (with
thousands of pages in it the theme's navigation grows quadratically).
"""

from __future__ import annotations

import codecs
from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass, field
from typing import TypeVar

from opsledger.model.records import Record
from opsledger.site.common import head
from opsledger.site.context import PageContext, make_context, setting
from opsledger.site.data import Progress, SiteData
from opsledger.site.downloads import downloads_page, each_download
from opsledger.site.page_actions import actions_page
from opsledger.site.page_audit import findings_pages, problem_pages, rule_pages, waivers_page
from opsledger.site.page_calendar import calendar_pages
from opsledger.site.page_change import change_inputs, change_page
from opsledger.site.page_docs import pir_page, runbook_page
from opsledger.site.page_incident import incident_inputs, incident_page
from opsledger.site.page_indexes import (
    changes_index,
    incidents_index,
    pirs_index,
    runbooks_index,
    services_index,
)
from opsledger.site.page_kpis import charts, dashboard, kpis_page
from opsledger.site.page_problems import candidates_section, portfolio_page, problem_page
from opsledger.site.page_regulatory import regulatory_page
from opsledger.site.page_sampling import populations, sampling_page
from opsledger.site.page_service import service_pages
from opsledger.site.paging import PAGE_ROWS

R = TypeVar("R", bound=Record)

#: the navigation the generated pages add (title -> page, or a section of them)
NAV: list[dict[str, str | list[dict[str, str]]]] = [
    {"Incidents": "incidents/index.md"},
    {"Changes": [{"All changes": "changes/index.md"}, {"Calendar": "changes/calendar.md"}]},
    {"Post-incident reviews": "pirs/index.md"},
    {"Problems": "problems/index.md"},
    {"Actions": "actions.md"},
    {"Regulatory calendar": "regulatory.md"},
    {"Runbooks": "runbooks/index.md"},
    {"Services": "services/index.md"},
    {"KPIs": "kpis/index.md"},
    {
        "Audit": [
            {"Findings": "findings/index.md"},
            {"Rules": "rules/index.md"},
            {"Waivers": "waivers.md"},
            {"Audit sampling": "sampling/index.md"},
        ]
    },
    {"Downloads": "downloads/index.md"},
]


class Texts(MutableMapping[str, str]):
    """Generated texts by path, each held as compactly as it can be given back unchanged.

    Python holds a text with one character beyond Latin-1 (an em dash) at two or four bytes
    a character; nearly every page has one, and the site holds every page at once (at 10^5
    records a gigabyte). Such a text is held as its UTF-8 bytes, about one byte a
    character, and decoded again when read (:meth:`held` gives what is held: MkDocs takes
    either). A text UTF-8 cannot carry (a lone surrogate), or that starts with a byte-order
    mark (which MkDocs drops when it decodes bytes), is held as it is."""

    def __init__(self) -> None:
        self._held: dict[str, str | bytes] = {}

    def __getitem__(self, path: str) -> str:
        held = self._held[path]
        return held.decode("utf-8") if isinstance(held, bytes) else held

    def __setitem__(self, path: str, text: str) -> None:
        self._held[path] = _compact(text)

    def hold(self, path: str, content: str | bytes) -> None:
        """Hold ``content``: a text, or the UTF-8 bytes of one."""
        if isinstance(content, str):
            self[path] = content
        elif content.startswith(codecs.BOM_UTF8):
            self[path] = content.decode("utf-8")  # held as text (see the class)
        else:
            self._held[path] = content

    def __delitem__(self, path: str) -> None:
        del self._held[path]

    def __iter__(self) -> Iterator[str]:
        return iter(self._held)

    def __len__(self) -> int:
        return len(self._held)

    def held(self) -> Iterator[tuple[str, str | bytes]]:
        """Each path with its text as held: a ``str``, or its UTF-8 ``bytes``."""
        return iter(self._held.items())


def _compact(text: str) -> str | bytes:
    if text.isascii() or text.startswith("\ufeff"):
        return text  # one byte a character already; or a mark bytes would lose
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return text


@dataclass
class Site:
    pages: Texts = field(default_factory=Texts)  # Markdown, in the navigation
    records: Texts = field(default_factory=Texts)  # Markdown, out of the navigation
    assets: Texts = field(default_factory=Texts)  # CSV, JSON, SVG
    home: str = ""  # Markdown appended to the hand-written home page (or the whole page)


#: the home page's title when it is generated whole (no hand-written index.md)
HOME_TITLE = "Operations governance ledger"


def generated_files(site: Site, home_written: bool) -> Iterator[tuple[str, str | bytes, bool]]:
    """Each generated file in the order the site is given it: path, content (as
    :class:`Texts` holds it: text, or its UTF-8 bytes), and whether it is in the
    navigation. ``home_written``: the home page is generated whole."""
    for path, content in site.pages.held():
        yield path, content, True
    for path, content in site.records.held():
        yield path, content, False
    for path, content in site.assets.held():
        yield path, content, False
    if home_written:
        yield "index.md", "\n".join(head(HOME_TITLE)) + "\n" + site.home, True


def generate(
    data: SiteData,
    *,
    directory_urls: bool = False,
    page_rows: int = PAGE_ROWS,
    progress: Progress | None = None,
) -> Site:
    """Every page and asset of the site; ``progress`` is told of each record page made
    (and of the rest, the index pages, downloads and charts, as one last step);
    ``page_rows``: the most rows a page of a long table holds."""
    ctx = make_context(data, directory_urls, page_rows)
    ledger = data.ledger
    loaded = {r.path for r in ledger.records()} | {"records/services.yaml", "policy.yaml"}
    for path in ledger.files:
        if path not in loaded:
            ctx.links.add_problem(path)
    site = Site()
    total = 1 + sum(
        len(group)
        for group in (
            ledger.incidents,
            ledger.changes,
            ledger.pirs,
            ledger.runbooks,
            ledger.problem_records,
            ledger.services,
        )
    )
    done = 0

    def made() -> None:
        nonlocal done
        done += 1
        if progress is not None and done % 256 == 0:
            progress(done, total)

    if data.carry is not None:
        data.carry.turn(setting(ctx))
    for inc in ledger.incidents.values():
        page = ctx.links.records[inc.id]
        site.records.hold(page, _record_page(ctx, inc, page, incident_inputs, incident_page))
        made()
    for change in ledger.changes.values():
        page = ctx.links.records[change.id]
        site.records.hold(page, _record_page(ctx, change, page, change_inputs, change_page))
        made()
    for pir in ledger.pirs.values():
        site.records[ctx.links.records[pir.id]] = pir_page(ctx, pir, ctx.links.records[pir.id])
        made()
    for book in ledger.runbooks.values():
        page = ctx.links.records[book.id]
        site.records[page] = runbook_page(ctx, book, page)
        made()
    for prb in ledger.problem_records.values():
        page = ctx.links.records[prb.id]
        site.records[page] = problem_page(ctx, prb, page)
        made()
    for service in ledger.services.values():
        site.records.update(service_pages(ctx, service, ctx.links.services[service.id]))
        made()
    if progress is not None:
        progress(done, total)
    site.records.update(problem_pages(ctx))
    _indexes(ctx, site)
    for name, content in each_download(data):
        site.assets.hold(f"downloads/{name}", content)
    site.pages["downloads/index.md"] = downloads_page(
        data, (p.removeprefix("downloads/") for p in site.assets)
    )
    sampled = populations(data)
    site.assets.update(sampled)
    site.pages["sampling/index.md"] = sampling_page(data, sampled)
    site.assets.update(charts(data.kpis))
    site.home = dashboard(ctx)
    if progress is not None:
        progress(total, total)
    return site


def _record_page(
    ctx: PageContext,
    record: R,
    page: str,
    inputs: Callable[[PageContext, R], object],
    make: Callable[[PageContext, R, str], str],
) -> str | bytes:
    """``make(ctx, record, page)`` as :class:`Texts` holds it; under ``site serve``, the
    page the last build made from the same record object with equal ``inputs`` under an
    equal setting (:meth:`~opsledger.site.carry.Carry.made`), held once."""
    carry = ctx.data.carry
    if carry is None:
        return make(ctx, record, page)
    return carry.made(page, record, inputs(ctx, record), lambda r: _compact(make(ctx, r, page)))


def _indexes(ctx: PageContext, site: Site) -> None:
    _index(site, "incidents/index.md", incidents_index(ctx, "incidents/index.md"))
    _index(site, "changes/index.md", changes_index(ctx, "changes/index.md"))
    calendar = calendar_pages(ctx)
    site.pages["changes/calendar.md"] = calendar.pop("changes/calendar.md")
    site.records.update(calendar)
    _index(site, "pirs/index.md", pirs_index(ctx, "pirs/index.md"))
    site.pages["problems/index.md"] = portfolio_page(ctx)
    _index(site, "runbooks/index.md", runbooks_index(ctx, "runbooks/index.md"))
    _index(site, "services/index.md", services_index(ctx, "services/index.md"))
    site.pages["actions.md"] = actions_page(ctx)
    site.pages["regulatory.md"] = regulatory_page(ctx)
    site.pages["kpis/index.md"] = kpis_page(ctx)
    findings = findings_pages(ctx)
    findings_index = findings.pop("findings/index.md")
    site.pages["findings/index.md"] = (
        findings_index + "\n" + "\n".join(candidates_section(ctx, "findings/index.md")) + "\n"
    )
    site.records.update(findings)
    rules = rule_pages(ctx)
    site.pages["rules/index.md"] = rules.pop("rules/index.md")
    site.records.update(rules)
    site.pages["waivers.md"] = waivers_page(ctx)


def _index(site: Site, first: str, pages: dict[str, str]) -> None:
    """An index's first page in the navigation, its further pages out of it."""
    site.pages[first] = pages.pop(first)
    site.records.update(pages)
