"""Escaping record text for every place it can appear on the site.

Record fields come from pull requests and are untrusted. Nothing from a record reaches a
page except through one of these functions:

* :func:`md` / :func:`md_lines` for Markdown: every ASCII punctuation character that
  Markdown or an extension could read as syntax (``| # ! [ ] ( ) { } < > * _ ` ~ : =`` …)
  becomes a numeric character reference, so a field holding a table row, an admonition,
  a heading, a link, an attribute list or raw HTML renders as the literal text it is;
  line breaks become ``<br>`` and leading spaces are dropped (no code blocks, no lists).
* :func:`attr` / :func:`html_text` for the few raw-HTML blocks the generator writes
  (calendar grid, tiles): :func:`html.escape` with quotes, newlines collapsed.
* :func:`front_matter_title` for the page title: HTML-escaped, then JSON-quoted (valid
  YAML), so neither ``</title>`` nor a line break can leave the value.
* every one of them first makes control, bidi and invisible characters visible
  (:func:`opsledger.neutral.visible`: ``\\x1b``, ``\\u202e``), so a value can neither
  reorder what an auditor reads nor hide text;
* :func:`csv_cell` for downloads: a cell starting with ``= + - @`` (or a tab, a carriage
  return, a line feed or the full-width U+FF1D, U+FF0B, U+FF0D, U+FF20) is prefixed with
  ``'`` so a spreadsheet never evaluates it as a formula (header cells too, see
  :mod:`opsledger.output.spreadsheet`).
"""

from __future__ import annotations

import html
import json
import re
import string
from functools import lru_cache

from opsledger.neutral import visible
from opsledger.output.spreadsheet import cell

_SAFE_PUNCTUATION = {",", "?", ";", "'", '"'}
_TABLE = {ord(ch): f"&#{ord(ch)};" for ch in string.punctuation if ch not in _SAFE_PUNCTUATION}
_SPACE = re.compile(r"[ \t\f\v\u00a0\u2000-\u200b\u3000]+")
_CODE = re.compile(r"``(.+?)``|`([^`]+)`")
#: MkDocs' Markdown slows down quadratically with the escapes and line breaks it meets in one
#: text (a field of 200,000 '[' took 7 minutes to render): a value shown on a page keeps at
#: most this many of them, then says where the whole value is
MAX_MARKUP = 2000
_MARKUP = re.compile("[" + re.escape("".join(chr(code) for code in _TABLE)) + "\n]")
CUT = " … (cut here, {rest} more characters: the record file and the JSON download hold all)"


def within_budget(text: str) -> str:
    """``text`` (already :func:`visible`), cut after :data:`MAX_MARKUP` characters that
    Markdown needs escaped or breaks a line at, with a note saying so."""
    if len(text) <= MAX_MARKUP:
        return text
    for count, match in enumerate(_MARKUP.finditer(text), 1):
        if count > MAX_MARKUP:
            return text[: match.start()] + CUT.format(rest=len(text) - match.start())
    return text


def md(value: object) -> str:
    """One line of Markdown that renders as exactly ``value`` (whitespace collapsed; a value
    with more than :data:`MAX_MARKUP` characters to escape is cut, with a note)."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if len(text) <= 120:
        return _md_short(text)  # statuses, names, times: the same values again and again
    return within_budget(visible(" ".join(text.split()))).translate(_TABLE)


@lru_cache(maxsize=1 << 16)
def _md_short(text: str) -> str:
    return visible(" ".join(text.split())).translate(_TABLE)


def md_lines(value: object) -> str:
    """Markdown for a multi-line value, kept on one Markdown line: its lines joined by
    ``<br>`` (usable in a paragraph or a table cell)."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    shown = within_budget("\n".join(visible(line) for line in text.splitlines()))
    lines = [md(line) for line in shown.split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    while lines and not lines[0]:
        lines.pop(0)
    return "<br>".join(lines)


def md_code_spans(text: str) -> str:
    """Trusted prose (rule documentation) with ````code```` and ```code``` spans kept as
    code; everything else escaped as :func:`md` does."""
    out: list[str] = []
    last = 0
    for match in _CODE.finditer(text):
        out.append(md(text[last : match.start()]))
        out.append(f"<code>{html.escape(match.group(1) or match.group(2))}</code>")
        last = match.end()
    out.append(md(text[last:]))
    return " ".join(part for part in out if part)


def html_text(value: object) -> str:
    """Text content of a raw-HTML element (whitespace collapsed)."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    return html.escape(visible(" ".join(text.split())), quote=True)


def attr(value: object) -> str:
    """An attribute value (to be written inside double quotes)."""
    return html_text(value)


def front_matter_title(value: str) -> str:
    """A ``title:`` value for YAML front matter: HTML-escaped and JSON-quoted."""
    return json.dumps(html.escape(visible(" ".join(value.split())), quote=True), ensure_ascii=True)


def csv_cell(value: object) -> str:
    """A CSV cell that a spreadsheet shows as text, never runs as a formula
    (:func:`opsledger.output.spreadsheet.cell`)."""
    return str(cell(value))


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
