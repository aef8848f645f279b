"""The last line of defence: an allow-list sanitiser over every rendered page body, the
Content-Security-Policy, and checks on each finished page.

Page bodies (the Markdown rendered to HTML, before the theme wraps them) go through
:func:`clean` (nh3): only the tags and attributes below survive, URLs keep only the
``http``/``https``/``mailto`` schemes or relative paths (``javascript:``, ``data:`` and
``vbscript:`` links are dropped), images must be relative (no request to another host),
and IDs that could clobber the theme's own elements (``__config``…) are renamed.

The theme layer puts :data:`CSP` in a ``<meta>`` as the first element of ``<head>``;
:func:`check_page` verifies that on every finished page, and that the only scripts are
the theme's files and its JSON configuration, so a broken theme override stops the build
instead of publishing an unprotected page.
"""

from __future__ import annotations

import re
from functools import cache

import nh3

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; worker-src 'self'; manifest-src 'self'; "
    "form-action 'none'; base-uri 'none'; object-src 'none'; frame-src 'none'"
)
CSP_META = f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'

_TEXT = {"abbr", "b", "br", "cite", "code", "del", "em", "i", "ins", "kbd", "mark", "q"}
_TEXT |= {"s", "samp", "small", "span", "strong", "sub", "sup", "u", "var", "wbr"}
_BLOCKS = {"blockquote", "dd", "details", "div", "dl", "dt", "figcaption", "figure", "hr"}
_BLOCKS |= {"h1", "h2", "h3", "h4", "h5", "h6", "li", "ol", "p", "pre", "summary", "ul"}
_TABLES = {"caption", "col", "colgroup", "table", "tbody", "td", "tfoot", "th", "thead", "tr"}
TAGS = _TEXT | _BLOCKS | _TABLES | {"a", "img", "time", "nav", "section", "aside"}

ATTRIBUTES: dict[str, set[str]] = {
    "*": {"class", "id", "title", "lang", "dir"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "ol": {"start"},
    "time": {"datetime"},
    "div": {"data-ol-columns"},
    "details": {"open"},
}
URL_SCHEMES = {"http", "https", "mailto"}
_SCHEME = re.compile(r"^\s*[a-zA-Z][a-zA-Z0-9+.-]*:|^\s*//")


def _filter(element: str, attribute: str, value: str) -> str | None:
    if attribute == "id" and value.startswith("__"):
        return "x" + value  # never clobber the theme's __config, __search, __drawer…
    if element == "img" and attribute == "src" and _SCHEME.match(value):
        return None  # images only from the site itself: viewing makes no outside request
    return value


@cache
def _cleaner() -> nh3.Cleaner:
    """One sanitiser for every page (``nh3.clean`` builds its allow-lists again on each
    call: a tenth of the time a page body takes)."""
    return nh3.Cleaner(
        tags=TAGS,
        clean_content_tags={"script", "style"},
        attributes=ATTRIBUTES,
        attribute_filter=_filter,
        strip_comments=True,
        link_rel="noopener noreferrer",
        url_schemes=URL_SCHEMES,
    )


def clean(fragment: str) -> str:
    """The allow-listed form of a page body."""
    return _cleaner().clean(fragment)


_HEAD = re.compile(r"\A\s*<!doctype html>\s*<html[^>]*>\s*<head>\s*", re.IGNORECASE)
_SCRIPT = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)
_SRC = re.compile(r'\bsrc="([^"]*)"')


class PageCheckError(Exception):
    """A finished page is not protected as it must be."""


def check_page(output: str, where: str) -> None:
    """The CSP meta is the first element of ``<head>``; every script is a same-site file
    or the theme's JSON configuration. Raises :class:`PageCheckError` otherwise."""
    head = _HEAD.match(output)
    if head is None or not output.startswith(CSP_META, head.end()):
        raise PageCheckError(
            f"{where}: the Content-Security-Policy <meta> is not the first element of <head> "
            "(a theme override replaced the 'site_meta' block or base.html without "
            "{{ super() }}?)"
        )
    for match in _SCRIPT.finditer(output):
        attrs = match.group(1)
        if 'type="application/json"' in attrs and 'id="__config"' in attrs:
            continue
        src = _SRC.search(attrs)
        if src is None:
            raise PageCheckError(f"{where}: inline <script> in the page (not allowed by CSP)")
        if _SCHEME.match(src.group(1)):
            raise PageCheckError(
                f"{where}: script from another host or scheme: {src.group(1)[:80]!r}"
            )
