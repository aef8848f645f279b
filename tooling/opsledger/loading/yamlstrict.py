"""Strict YAML: the events of libyaml's parser (or PyYAML's pure one) turned into plain data.

Building the data from parser events, rather than with PyYAML's constructors, gives full
control over what a record from a pull request may contain:

* no explicit tags, anchors, aliases or merge keys (alias bombs are refused at the first
  anchor, before anything is expanded);
* YAML 1.2 scalars: only ``true``/``false``, ``null``, decimal integers without leading
  zeros and plain decimal floats are typed; ``yes``, ``no``, ``on``, ``off``, ``012``,
  ``12:30``, ``0x1F`` and dates stay strings; ``.nan`` and ``.inf`` are errors;
* string keys only, no duplicates (both lines named), a nesting depth limit;
* exactly one document.

Every value and key keeps its 1-based (line, column), so later errors can point at it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

from opsledger.loading.errors import LoadError

Path = tuple[str | int, ...]
Pos = tuple[int, int]

PARSERS: dict[str, type[Any]] = {"pure": yaml.SafeLoader}
if getattr(yaml, "CSafeLoader", None) is not None:  # libyaml present
    PARSERS["c"] = yaml.CSafeLoader
DEFAULT_PARSER = "c" if "c" in PARSERS else "pure"

_INT = re.compile(r"[-+]?(?:0|[1-9][0-9]{0,17})\Z")
_FLOAT = re.compile(r"[-+]?(?:0|[1-9][0-9]*)(?:\.[0-9]+(?:[eE][-+]?[0-9]+)?|[eE][-+]?[0-9]+)\Z")
_SPECIAL_FLOAT = re.compile(r"[-+]?\.(?:inf|Inf|INF)\Z|\.(?:nan|NaN|NAN)\Z")
_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_TRUE = frozenset({"true", "True", "TRUE"})
_FALSE = frozenset({"false", "False", "FALSE"})
_AWAITING_KEY = object()


@dataclass
class YamlData:
    """Parsed data and where each value (and each mapping key) starts."""

    data: Any
    values: dict[Path, Pos] = field(default_factory=dict)
    keys: dict[Path, Pos] = field(default_factory=dict)


@dataclass
class _Frame:
    container: dict[str, Any] | list[Any]
    path: Path
    key: Any = _AWAITING_KEY
    key_lines: dict[str, int] = field(default_factory=dict)


def resolve_plain(text: str, pos: Pos) -> Any:
    """YAML 1.2 (JSON-like) resolution of a plain scalar; NaN and infinities are errors."""
    if text in _NULLS:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    if _INT.match(text):
        return int(text)
    if _FLOAT.match(text):
        value = float(text)
        if value in (float("inf"), float("-inf")):
            raise LoadError(f"number {text} is out of range", *pos, hint="quote it if it is text")
        return value
    if _SPECIAL_FLOAT.match(text):
        raise LoadError(
            f"{text} (not-a-number or infinity) is not allowed",
            *pos,
            hint="write a finite number, or quote it if it is text",
        )
    return text


def _plain(event: Any) -> bool:
    # PyYAML reports a plain scalar's style as None, libyaml's binding as "".
    return not event.style and bool(event.implicit[0])


def _events(text: str, parser: str) -> Iterator[Any]:
    loader = PARSERS[parser](text)
    try:
        while loader.check_event():
            yield loader.get_event()
    finally:
        loader.dispose()


def parse(
    text: str, *, max_depth: int = 32, parser: str | None = None, first_line: int = 1
) -> YamlData:
    """Parse one YAML document strictly. Raises :class:`LoadError` on anything not allowed.

    ``first_line`` is the file line ``text`` starts on, so positions and messages name
    file lines (front matter starts on line 2).
    """
    builder = _Builder(max_depth, first_line)
    try:
        return builder.build(_events(text, parser or DEFAULT_PARSER))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + first_line, mark.column + 1) if mark else (first_line, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        raise LoadError(f"YAML syntax error: {problem}", line, column) from None
    except yaml.YAMLError as exc:
        raise LoadError(f"YAML error: {exc}", first_line, 1) from None


class _Builder:
    """Builds plain data from parser events, refusing everything a record may not hold."""

    def __init__(self, max_depth: int, first_line: int) -> None:
        self.max_depth = max_depth
        self.first_line = first_line
        self.result = YamlData(None)
        self.stack: list[_Frame] = []

    def pos(self, event: Any) -> Pos:
        mark = event.start_mark
        return mark.line + self.first_line, mark.column + 1

    def build(self, events: Iterator[Any]) -> YamlData:
        documents = 0
        have_root = False
        for event in events:
            kind = type(event)
            if (
                kind is yaml.ScalarEvent
                or kind is yaml.MappingStartEvent
                or (kind is yaml.SequenceStartEvent)
            ):
                self.check_node(event)
                have_root = self.add(event, kind) or have_root
            elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
                self.stack.pop()
            elif kind is yaml.AliasEvent:
                raise LoadError(
                    f"alias '*{event.anchor}' is not allowed",
                    *self.pos(event),
                    hint="write the value out in full; anchors and aliases make reviews misleading",
                )
            elif kind is yaml.DocumentStartEvent:
                documents += 1
                if documents > 1:
                    raise LoadError(
                        "a second YAML document starts here",
                        *self.pos(event),
                        hint="a record file holds exactly one document; remove the extra '---'",
                    )
        if not have_root or self.result.data is None:
            raise LoadError(
                "the file holds no YAML data", self.first_line, 1, hint="write the record's fields"
            )
        return self.result

    def check_node(self, event: Any) -> None:
        if event.anchor is not None:
            raise LoadError(
                f"anchor '&{event.anchor}' is not allowed",
                *self.pos(event),
                hint="write the value out in full; anchors and aliases make reviews misleading",
            )
        if event.tag is not None:
            raise LoadError(
                f"explicit tag '{event.tag}' is not allowed",
                *self.pos(event),
                hint="remove the tag; records hold plain strings, numbers, booleans, "
                "lists and mappings",
            )

    def scalar(self, event: Any) -> Any:
        return resolve_plain(event.value, self.pos(event)) if _plain(event) else event.value

    def add(self, event: Any, kind: type) -> bool:
        """Attach a scalar or a new collection; True when it is the document's root."""
        pos = self.pos(event)
        top = self.stack[-1] if self.stack else None
        if top is not None and isinstance(top.container, dict) and top.key is _AWAITING_KEY:
            top.key = self.key(event, top, pos)
            return False
        if kind is yaml.ScalarEvent:
            value: Any = self.scalar(event)
        else:
            if len(self.stack) >= self.max_depth:
                raise LoadError(
                    f"nesting deeper than {self.max_depth} levels",
                    *pos,
                    hint="flatten the structure; records are never this deep",
                )
            value = {} if kind is yaml.MappingStartEvent else []
        if top is None:
            path: Path = ()
            self.result.data = value
        elif isinstance(top.container, list):
            path = (*top.path, len(top.container))
            top.container.append(value)
        else:
            path = (*top.path, top.key)
            top.container[top.key] = value
            top.key = _AWAITING_KEY
        self.result.values[path] = pos
        if kind is not yaml.ScalarEvent:
            self.stack.append(_Frame(value, path))
        return top is None

    def key(self, event: Any, frame: _Frame, pos: Pos) -> str:
        if type(event) is not yaml.ScalarEvent:
            raise LoadError("a mapping key must be a plain string, not a list or mapping", *pos)
        key = self.scalar(event)
        if not isinstance(key, str):
            raise LoadError(
                f"key {event.value!s} is not a string",
                *pos,
                hint=f'quote it ("{event.value}") or rename it',
            )
        if key == "<<" and _plain(event):
            raise LoadError(
                "merge key '<<' is not allowed", *pos, hint="write the merged fields out in full"
            )
        first = frame.key_lines.get(key)
        if first is not None:
            raise LoadError(
                f"duplicate key '{key}' (first defined on line {first})",
                *pos,
                hint="keep one of the two; YAML would silently keep the last",
            )
        frame.key_lines[key] = pos[0]
        self.result.keys[(*frame.path, key)] = pos
        return key
