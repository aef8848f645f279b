"""Escaping untrusted text for the place it is written to: Markdown, HTML, YAML front
matter and CSV. The site, the reports, the executive brief and ``opsledger kpi --format
markdown`` all escape through these functions; there is no other copy.

Record fields, file names and git identities come from pull requests. Nothing of them
reaches Markdown except through :func:`md` / :func:`md_lines`, which write text that
renders as exactly itself in CommonMark, GitHub Flavored Markdown and Python-Markdown (with
the tables, attribute-list, definition-list, abbreviation, admonition and md-in-HTML
extensions) while staying readable when the Markdown is read as plain text:

* ``& < >`` become ``&amp; &lt; &gt;``: no raw HTML, no autolink, no quote marker;
* the inline markup characters ``\\ ` * _ [ ] { } # ! |`` get a backslash (every one of
  them is escapable in CommonMark and in Python-Markdown with its tables extension): no
  emphasis, code, link, image, footnote, attribute list ``{: …}``, heading or table cell
  break; ``~`` becomes ``&#126;`` (strike-through, fences);
* a block marker at the start (``- + = :`` ``1.`` ``1)`` ``?`` ``/``) is escaped too,
  so the value never opens a list, a rule, a setext heading, a definition or a block;
* whitespace is collapsed: no line break, no indented code block, no hard break.

* :func:`attr` / :func:`html_text` for the few raw-HTML blocks the site writes
  (calendar grid, tiles): :func:`html.escape` with quotes, newlines collapsed.
* :func:`front_matter_title` for a page title: HTML-escaped, then JSON-quoted (valid
  YAML), so neither ``</title>`` nor a line break can leave the value.
* :func:`csv_cell` for downloads: a cell a spreadsheet would read as a formula is
  prefixed with ``'`` (:mod:`opsledger.output.spreadsheet`, headers included);
* every one of them first makes control, bidi and invisible characters visible
  (:func:`opsledger.neutral.visible`: ``\\x1b``, ``\\u202e``), so a value can neither
  reorder what an auditor reads nor hide text;
* a long value keeps at most :data:`MAX_MARKUP` characters Markdown must escape or break
  a line at, then says where the whole value is (Markdown renderers slow down with them).
"""

from __future__ import annotations

import html
import json
import re
from functools import lru_cache

from opsledger.neutral import visible
from opsledger.output.spreadsheet import cell

_INLINE = {
    **{ord(ch): "\\" + ch for ch in "\\`*_[]{}#!|"},
    ord("&"): "&amp;",
    ord("<"): "&lt;",
    ord(">"): "&gt;",
    ord("~"): "&#126;",
}
#: a block marker at the start of a line, after the inline escaping above
_BLOCK_START = re.compile(r"([-+])|([=:?/])|([0-9]{1,9})([.)])(?= |$)")
_MARKERS = frozenset("-+=:?/0123456789")
_CODE = re.compile(r"``(.+?)``|`([^`]+)`")
#: MkDocs' Markdown slows down quadratically with the escapes and line breaks it meets in one
#: text (a field of 200,000 '[' took 7 minutes to render): a value shown on a page keeps at
#: most this many of them, then says where the whole value is
MAX_MARKUP = 2000
_MARKUP = re.compile("[" + re.escape("".join(chr(code) for code in _INLINE)) + "\n]")
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


def _start(match: re.Match[str]) -> str:
    if match[1]:
        return "\\" + match[1]
    if match[2]:
        return f"&#{ord(match[2])};"
    return f"{match[3]}\\{match[4]}"


def md(value: object) -> str:
    """One line of Markdown that renders as exactly ``value`` (whitespace collapsed)."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if len(text) <= 120:
        return _md_short(text)  # statuses, names, times: the same values again and again
    return _md(within_budget(visible(" ".join(text.split()))))


@lru_cache(maxsize=1 << 16)
def _md_short(text: str) -> str:
    return _md(visible(" ".join(text.split())))


def _md(text: str) -> str:
    flat = " ".join(text.split()).translate(_INLINE)
    if flat[:1] in _MARKERS:
        marker = _BLOCK_START.match(flat)
        if marker is not None:
            return _start(marker) + flat[marker.end() :]
    return flat


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
