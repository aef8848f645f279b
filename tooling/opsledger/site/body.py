"""The Markdown body of a PIR or runbook, rendered with raw HTML switched off.

Python-Markdown passes raw HTML through by default; here its HTML block preprocessor and
inline HTML pattern are removed, so ``<script>``, ``<iframe>`` or ``<meta …>`` in a body
shows as text. No extension that reads attributes (``attr_list``, ``md_in_html``) is
loaded. Headings move down under the page's own sections. The page sanitiser still runs
over the result (links with ``javascript:`` and outside images are dropped there).
"""

from __future__ import annotations

import re

import markdown

_HEADING = re.compile(r"<(/?)h([1-6])\b")


def _converter() -> markdown.Markdown:
    md = markdown.Markdown(extensions=["tables", "fenced_code", "sane_lists"])
    md.preprocessors.deregister("html_block")
    md.inlinePatterns.deregister("html")
    return md


_MD = _converter()


def render_body(text: str, *, top: int = 3) -> str:
    """HTML for a record body; its headings start at level ``top``."""
    _MD.reset()
    html = _MD.convert(text)
    levels = [int(m.group(2)) for m in _HEADING.finditer(html)]
    shift = top - min(levels) if levels else 0

    def move(match: re.Match[str]) -> str:
        return f"<{match.group(1)}h{min(6, int(match.group(2)) + shift)}"

    html = _HEADING.sub(move, html)
    return f'<div class="ol-body">\n{html}\n</div>'
