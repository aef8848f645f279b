"""Long tables split over pages of a bounded number of rows.

An index of 10^5 incidents is not one page of 10^5 rows (a browser cannot filter or even
render it, and the build holds it whole): the rows are cut into pages of
:data:`PAGE_ROWS` rows (the plugin's ``index_page_rows`` setting). The first page keeps
its path (``incidents/index.md``, in the navigation); the others are
``incidents/pages/2.md``… (``findings/INC-ACK/pages/2.md`` for a page that is not an
index), a folder no record page can take. Every page names its rows and links to every
other page, each labelled with the range of its rows (newest and oldest month, say).
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Sequence
from typing import TypeVar

from opsledger.site.common import table
from opsledger.site.links import Links
from opsledger.text.escape import md

#: rows per page of a long table (``index_page_rows`` in the plugin's configuration)
PAGE_ROWS = 1000

T = TypeVar("T")


def page_names(first: str, count: int, part: str = "pages") -> list[str]:
    """The source paths of ``count`` pages whose first page is ``first`` (``part`` names
    the folder of the others: two tables of one page use two)."""
    folder, name = posixpath.split(first)
    stem = folder if name == "index.md" else first.removesuffix(".md")
    return [first, *(f"{stem}/{part}/{n}.md" for n in range(2, count + 1))]


def paged_table(
    links: Links,
    first: str,
    items: Sequence[T],
    header: Sequence[str],
    row: Callable[[str, T], Sequence[str]],
    *,
    page_rows: int,
    label: Callable[[T], str] | None = None,
    part: str = "pages",
) -> dict[str, list[str]]:
    """Page path -> the Markdown lines of its part of the table, with the page links.

    ``row(page, item)`` makes one row as seen from ``page`` (its links are relative to
    it). ``label(item)`` names an item in the page list (a page shows ``first … last``).
    One page when everything fits; an empty table still has its first page."""
    size = max(1, page_rows)
    chunks = [items[i : i + size] for i in range(0, len(items), size)] or [items[:0]]
    names = page_names(first, len(chunks), part)
    pages: dict[str, list[str]] = {}
    for number, (page, chunk) in enumerate(zip(names, chunks, strict=True), start=1):
        if len(chunks) == 1:
            pages[page] = table(header, [row(page, item) for item in chunk])
            continue
        here = _where(links, page, names, chunks, number)
        body = [here, "", _page_list(links, page, names, chunks, number, label), ""]
        body += table(header, [row(page, item) for item in chunk])
        pages[page] = [*body, here, ""]
    return pages


def _where(
    links: Links, page: str, names: list[str], chunks: list[Sequence[T]], number: int
) -> str:
    """``Page 2 of 5: rows 1001 to 2000 of 4321.`` and the links to its neighbours."""
    start = sum(len(c) for c in chunks[: number - 1])
    total = sum(len(c) for c in chunks)
    line = f"Page {number} of {len(names)}: rows {start + 1} to {start + len(chunks[number - 1])} "
    line += f"of {total}."
    if number > 1:
        line += " " + links.page(page, names[number - 2], "← Previous page")
    if number < len(names):
        line += " " + links.page(page, names[number], "Next page →")
    return line


def _page_list(
    links: Links,
    page: str,
    names: list[str],
    chunks: list[Sequence[T]],
    number: int,
    label: Callable[[T], str] | None,
) -> str:
    """Every page, labelled with the range of its rows; the current one in bold."""
    entries = []
    for n, (target, chunk) in enumerate(zip(names, chunks, strict=True), start=1):
        text = f"{n}"
        if label is not None:
            ends = [e for e in dict.fromkeys((label(chunk[0]), label(chunk[-1]))) if e]
            text += f" ({' … '.join(ends)})" if ends else ""
        entries.append(f"**{md(text)}**" if n == number else links.page(page, target, text))
    return "Pages: " + " · ".join(entries)
