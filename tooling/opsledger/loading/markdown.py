"""The Markdown body of a PIR or runbook: parsed once, with its limits checked before any
renderer sees it.

Bodies come from pull requests. Python-Markdown, which MkDocs uses, takes quadratic time on
runs of ``[`` (20,000 of them on one line: minutes; a 1 MB body: hours) and on long blocks
of headings, and raises ``RecursionError`` on a list nested a few hundred levels deep. Bodies
are therefore parsed by markdown-it-py (CommonMark, the dialect GitHub shows in the pull
request; linear time by design, raw HTML off), and two limits from ``policy.yaml`` are
checked on its tokens first:

* ``limits.max_markdown_depth``: lists and block quotes nested deeper. markdown-it stops at
  its own nesting limit and silently drops what is deeper, so the parser's limit is set
  above the policy's and the depth is reported instead;
* ``limits.max_markdown_delimiters``: link and emphasis delimiters (``[ ] * ~ ` ``, as
  written) in one paragraph, heading or table cell: no prose needs thousands, and each
  renderer has had its own slow case for them.

A body over a limit is reported by ``validate`` and ``audit`` as a SCHEMA finding at its
line (:func:`check_body`), and the site shows it as escaped plain text
(:mod:`opsledger.site.body`). :func:`check_body` parses only a body that could be over a
limit: one whose delimiters all together, or whose deepest line prefix, already exceeds it
(parsing every body of a large repository would cost seconds).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from opsledger.loading import Limits

if TYPE_CHECKING:  # imported when a body is parsed: most loads never parse one
    from markdown_it import MarkdownIt
    from markdown_it.token import Token

DEFAULTS = Limits()
DELIMITERS = "[]*~`"
#: what can open or continue a list or quote at the start of a line
_PREFIX = re.compile(r"^[ \t>*+\-0-9.)]*", re.MULTILINE)
_NESTING = {"bullet_list_open", "ordered_list_open", "blockquote_open"}
_UNNESTING = {"bullet_list_close", "ordered_list_close", "blockquote_close"}


@dataclass(frozen=True)
class BodyProblem:
    """A limit a body exceeds, at a line of the body (1-based)."""

    line: int
    message: str


@lru_cache(maxsize=8)
def parser(max_depth: int) -> MarkdownIt:
    """CommonMark with tables, raw HTML shown as text, every URL kept for the site's
    sanitiser to judge; nesting allowed a little beyond ``max_depth`` so that going over
    it is seen, never silently cut."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False, "maxNesting": 2 * max_depth + 12})
    md.enable("table")
    md.validateLink = lambda url: True  # type: ignore[method-assign]
    return md


@dataclass(frozen=True)
class ParsedBody:
    tokens: Sequence[Token]
    problems: tuple[BodyProblem, ...]


def parse_body(body: str, limits: Limits = DEFAULTS) -> ParsedBody:
    """The body's tokens, and the limits it exceeds (at most one problem per limit)."""
    tokens = parser(limits.max_markdown_depth).parse(body)
    return ParsedBody(tokens, tuple(_problems(tokens, limits)))


def check_body(body: str, limits: Limits = DEFAULTS) -> tuple[BodyProblem, ...]:
    """The limits ``body`` exceeds, as :func:`parse_body` finds them, parsing only when a
    cheap upper bound says it could exceed one."""
    if _could_exceed(body, limits):
        return parse_body(body, limits).problems
    return ()


def _could_exceed(body: str, limits: Limits) -> bool:
    if sum(body.count(char) for char in DELIMITERS) > limits.max_markdown_delimiters:
        return True  # no paragraph has more delimiters than the whole body
    # Each enclosing list item indents a line by 2 columns or more, each quote needs its
    # '>', and containers opened on the line show as markers: a bound on the line's depth.
    for match in _PREFIX.finditer(body):
        prefix = match.group()
        columns = prefix.count(" ") + 4 * prefix.count("\t")
        markers = len(prefix) - prefix.count(" ") - prefix.count("\t")
        if columns // 2 + markers + 1 > limits.max_markdown_depth:
            return True
    return False


def _line(token: Token) -> int:
    return token.map[0] + 1 if token.map else 1


def _problems(tokens: Sequence[Token], limits: Limits) -> list[BodyProblem]:
    found: list[BodyProblem] = []
    depth = 0
    deep = crowded = False
    for token in tokens:
        if token.type in _NESTING:
            depth += 1
            if depth > limits.max_markdown_depth and not deep:
                deep = True
                found.append(
                    BodyProblem(
                        _line(token),
                        f"Markdown lists and quotes nested {depth} deep, over the limit of "
                        f"{limits.max_markdown_depth} (limits.max_markdown_depth)",
                    )
                )
        elif token.type in _UNNESTING:
            depth -= 1
        elif token.type == "inline" and not crowded:
            count = sum(token.content.count(char) for char in DELIMITERS)
            if count > limits.max_markdown_delimiters:
                crowded = True
                found.append(
                    BodyProblem(
                        _line(token),
                        f"{count} link and emphasis delimiters ([ ] * ~ `) in one paragraph, "
                        f"over the limit of {limits.max_markdown_delimiters} "
                        "(limits.max_markdown_delimiters); put such text in a code block",
                    )
                )
    return found
