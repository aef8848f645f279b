"""The Markdown body of a PIR or runbook, rendered with raw HTML shown as text.

Bodies are parsed by markdown-it-py (CommonMark, linear time) with the limits of
:mod:`opsledger.loading.markdown`; a body over a limit (nested too deep, too many
delimiters in one paragraph) is shown as escaped plain text with the reason, never fed to
a renderer that could take hours or crash. Raw HTML (``<script>``, ``<iframe>``,
``<meta …>``) shows as text; no extension that reads attributes is loaded. Headings move
down under the page's own sections. The page sanitiser still runs over the result (links
with ``javascript:`` and outside images are dropped there).
"""

from __future__ import annotations

import html
import re

from opsledger.loading import Limits
from opsledger.loading.markdown import DEFAULTS, parse_body, parser
from opsledger.loading.text import FORBIDDEN

_HEADING = re.compile(r"<(/?)h([1-6])\b")


def render_body(text: str, *, top: int = 3, limits: Limits = DEFAULTS) -> str:
    """HTML for a record body; its headings start at level ``top``."""
    parsed = parse_body(text, limits)
    if parsed.problems:
        reasons = "; ".join(html.escape(p.message) for p in parsed.problems)
        return (
            f'<div class="ol-body">\n<p><em>Shown as plain text: {reasons}.</em></p>\n'
            f"<pre><code>{html.escape(text)}</code></pre>\n</div>"
        )
    md = parser(limits.max_markdown_depth)
    rendered = md.renderer.render(parsed.tokens, md.options, {})
    levels = [int(m.group(2)) for m in _HEADING.finditer(rendered)]
    shift = top - min(levels) if levels else 0

    def move(match: re.Match[str]) -> str:
        return f"<{match.group(1)}h{min(6, int(match.group(2)) + shift)}"

    rendered = _HEADING.sub(move, rendered)
    # A character the file may not hold can still be written as an HTML entity
    # (``&#8238;``: a right-to-left override), which the renderer decodes: shown as its
    # escape, as a record's fields show it, never as text that reorders or hides words.
    rendered = FORBIDDEN.sub(_escaped, rendered)
    return f'<div class="ol-body">\n{rendered}\n</div>'


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"
