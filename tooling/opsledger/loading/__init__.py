"""Strict loading of record files: bytes checks, YAML events to data, front matter, positions.

:func:`load_document` is the one entry point every command uses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opsledger.loading.errors import LoadError
from opsledger.loading.files import DEFAULT_MAX_BYTES, read_bytes
from opsledger.loading.frontmatter import split_front_matter
from opsledger.loading.text import decode_strict
from opsledger.loading.yamlstrict import DEFAULT_PARSER, PARSERS, Pos, parse

__all__ = [
    "DEFAULT_PARSER",
    "PARSERS",
    "Document",
    "Limits",
    "LoadError",
    "load_bytes",
    "load_document",
    "load_text",
    "read_bytes",
]

DataPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Limits:
    """Policy ``limits``: what one file may cost to read, judge and render."""

    max_file_bytes: int = DEFAULT_MAX_BYTES
    max_depth: int = 32
    #: findings listed per rule and record; beyond, one "…and N more" finding (opsledger.audit)
    max_findings_per_rule_per_record: int = 50
    #: nesting of lists and block quotes in a Markdown body (opsledger.loading.markdown)
    max_markdown_depth: int = 16
    #: link and emphasis delimiters in one Markdown paragraph, heading or table cell
    max_markdown_delimiters: int = 1000


@dataclass
class Document:
    """One loaded file: its data, where each value sits, and (for Markdown) its body."""

    data: Any
    values: dict[DataPath, Pos] = field(default_factory=dict)
    keys: dict[DataPath, Pos] = field(default_factory=dict)
    body: str | None = None
    body_line: int = 0

    def position(self, path: DataPath, *, key: bool = False) -> Pos:
        """Line and column of the value (or key) at ``path``, else of its nearest ancestor."""
        if key and path in self.keys:
            return self.keys[path]
        while path:
            if path in self.values:
                return self.values[path]
            path = path[:-1]
        return self.values.get((), (1, 1))


def load_text(
    text: str,
    *,
    markdown: bool = False,
    limits: Limits = Limits(),
    parser: str | None = None,
    positions: bool = True,
) -> Document:
    """Parse already-decoded text (a YAML record, or Markdown with front matter).
    ``positions=False``: the same data, body and errors, without ``values`` and ``keys``."""
    if not markdown:
        parsed = parse(text, max_depth=limits.max_depth, parser=parser, positions=positions)
        return Document(parsed.data, parsed.values, parsed.keys)
    split = split_front_matter(text)
    parsed = parse(
        split.front_matter,
        max_depth=limits.max_depth,
        parser=parser,
        first_line=split.front_line,
        positions=positions,
    )
    return Document(
        parsed.data, parsed.values, parsed.keys, body=split.body, body_line=split.body_line
    )


def load_bytes(
    raw: bytes,
    *,
    markdown: bool,
    limits: Limits = Limits(),
    parser: str | None = None,
    positions: bool = True,
) -> Document:
    """Parse a record file's bytes. Raises :class:`LoadError` with a position."""
    text = decode_strict(raw)
    return load_text(text, markdown=markdown, limits=limits, parser=parser, positions=positions)


def load_document(path: Path, *, limits: Limits = Limits(), parser: str | None = None) -> Document:
    """Read and parse one record file. Raises :class:`LoadError` with a position."""
    raw = read_bytes(path, limits.max_file_bytes)
    return load_bytes(raw, markdown=path.suffix == ".md", limits=limits, parser=parser)
