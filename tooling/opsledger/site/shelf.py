"""Each page's Markdown and HTML, packed while the page waits to be written.

MkDocs reads and renders every page before it writes the first: at 10^5 records every
page's Markdown and HTML (gigabytes of Python text, two bytes a character for nearly
every page) are held at once between the two. :class:`Shelf` packs each page's Markdown
and HTML (UTF-8, then zlib at its fastest level: a tenth of the size) once the page is
rendered, leaves empty texts in their place, and unpacks them, unchanged, when the page's
template is about to run: the template, the search plugin and the page's writing see
exactly what they saw before.

Between the two no one reads a page's Markdown or HTML but a plugin (MkDocs reads only
the title, which an empty text does not change: :attr:`Page.title` asks only whether
they are None), so the shelf is used only where no plugin but opsledger and the theme's
search plugin is configured (:func:`known_plugins_only`).
"""

from __future__ import annotations

import zlib

from mkdocs.structure.pages import Page

from opsledger.site.search import known_plugins_only

__all__ = ["Shelf", "known_plugins_only", "pack", "unpack"]


def pack(text: str) -> bytes:
    """``text`` packed: every string (a lone surrogate too) comes back unchanged."""
    return zlib.compress(text.encode("utf-8", "surrogatepass"), 1)


def unpack(packed: bytes) -> str:
    return zlib.decompress(packed).decode("utf-8", "surrogatepass")


class Shelf:
    """Rendered pages' Markdown and HTML, packed until each page's template runs."""

    def __init__(self) -> None:
        self._packed: dict[str, tuple[bytes, bytes]] = {}

    def put(self, page: Page, html: str) -> str:
        """Pack ``page``'s Markdown and its rendered ``html``: what MkDocs is to hold as
        the page's HTML until the page is written (an empty text)."""
        assert page.markdown is not None
        self._packed[page.file.src_uri] = (pack(page.markdown), pack(html))
        page.markdown = ""
        return ""

    def take(self, page: Page) -> None:
        """Give ``page`` its Markdown and HTML back (a page not shelved is left as it is)."""
        packed = self._packed.pop(page.file.src_uri, None)
        if packed is not None:
            page.markdown, page.content = unpack(packed[0]), unpack(packed[1])

    def __len__(self) -> int:
        return len(self._packed)
