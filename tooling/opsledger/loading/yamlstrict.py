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
from opsledger.loading.text import SPELLED, describe_char

Path = tuple[str | int, ...]
Pos = tuple[int, int]

PARSERS: dict[str, type[Any]] = {"pure": yaml.SafeLoader}
if getattr(yaml, "CSafeLoader", None) is not None:  # libyaml present
    PARSERS["c"] = yaml.CSafeLoader
DEFAULT_PARSER = "c" if "c" in PARSERS else "pure"
#: what the loader refuses, as a version: part of every cache of parses (records, history
#: blobs, the assembled index), raised whenever the loader refuses more, so that no cache
#: hands back a parse the loader would now refuse
STRICTNESS = 5

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


def _events(text: str, parser: str) -> Iterator[Any]:
    loader = PARSERS[parser](text)
    get = loader.get_event
    try:
        while True:  # one call per event: get_event alone, until the stream ends
            event = get()
            if event is None:
                return
            yield event
            if type(event) is yaml.StreamEndEvent:
                return
    finally:
        loader.dispose()


def parse(
    text: str,
    *,
    max_depth: int = 32,
    parser: str | None = None,
    first_line: int = 1,
    positions: bool = True,
) -> YamlData:
    """Parse one YAML document strictly. Raises :class:`LoadError` on anything not allowed.

    ``first_line`` is the file line ``text`` starts on, so positions and messages name
    file lines (front matter starts on line 2). ``positions=False``: the same data and the
    same errors, without the positions of every value and key (``values`` and ``keys``
    left empty) for a reader that needs only the data (the history of a record).
    """
    try:
        return _build(_events(text, parser or DEFAULT_PARSER), max_depth, first_line, positions)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + first_line, mark.column + 1) if mark else (first_line, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        raise LoadError(f"YAML syntax error: {problem}", line, column) from None
    except yaml.YAMLError as exc:
        raise LoadError(f"YAML error: {exc}", first_line, 1) from None
    except ValueError as exc:
        # the pure-Python scanner's chr() of an escape beyond U+10FFFF ("\\U00110000")
        if (parser or DEFAULT_PARSER) != "pure":
            raise
        raise LoadError(f"YAML syntax error: {exc}", first_line, 1) from None


_ANCHOR_HINT = "write the value out in full; anchors and aliases make reviews misleading"
_TAG_HINT = "remove the tag; records hold plain strings, numbers, booleans, lists and mappings"
_SCALAR = yaml.ScalarEvent
_MAPPING = yaml.MappingStartEvent
_SEQUENCE = yaml.SequenceStartEvent
_ENDS = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
#: a plain scalar not starting with one of these is text: no number pattern can match it
_NUMERIC_START = frozenset("+-.0123456789")


def _build(events: Iterator[Any], max_depth: int, first_line: int, positions: bool) -> YamlData:
    """Plain data from parser events, refusing everything a record may not hold.

    One loop with its state in locals (the parse of every record file and every version
    in the history runs through it). The stack holds, per open collection: the container,
    its path, whether it is a mapping, the key awaiting its value (``_AWAITING_KEY`` when
    the next scalar is a key) and the line each key was first defined on."""
    result = YamlData(None)
    values, keys = result.values, result.keys
    stack: list[list[Any]] = []
    documents = 0
    have_root = False
    awaiting = _AWAITING_KEY
    for event in events:
        kind = type(event)
        if kind is _SCALAR or kind is _MAPPING or kind is _SEQUENCE:
            if event.anchor is not None:
                raise LoadError(
                    f"anchor '&{event.anchor}' is not allowed",
                    *_pos(event, first_line),
                    hint=_ANCHOR_HINT,
                )
            if event.tag is not None:
                raise LoadError(
                    f"explicit tag '{event.tag}' is not allowed",
                    *_pos(event, first_line),
                    hint=_TAG_HINT,
                )
            top = stack[-1] if stack else None
            if top is not None and top[2] and top[3] is awaiting:
                top[3] = _key(event, kind, top, first_line, keys if positions else None)
                continue
            if kind is _SCALAR:
                if event.style == '"':
                    _unescaped(event, first_line)
                value: Any = (
                    _resolve(event, first_line)
                    if not event.style and event.implicit[0]
                    else event.value
                )
            else:
                if len(stack) >= max_depth:
                    raise LoadError(
                        f"nesting deeper than {max_depth} levels",
                        *_pos(event, first_line),
                        hint="flatten the structure; records are never this deep",
                    )
                value = {} if kind is _MAPPING else []
            if top is None:
                path: Path = ()
                result.data = value
                have_root = True
            elif top[2]:
                path = (*top[1], top[3]) if positions else ()
                top[0][top[3]] = value
                top[3] = awaiting
            else:
                container = top[0]
                path = (*top[1], len(container)) if positions else ()
                container.append(value)
            if positions:
                mark = event.start_mark
                values[path] = (mark.line + first_line, mark.column + 1)
            if kind is not _SCALAR:
                stack.append([value, path, kind is _MAPPING, awaiting, {}])
        elif kind in _ENDS:
            stack.pop()
        elif kind is yaml.AliasEvent:
            raise LoadError(
                f"alias '*{event.anchor}' is not allowed",
                *_pos(event, first_line),
                hint=_ANCHOR_HINT,
            )
        elif kind is yaml.DocumentStartEvent:
            documents += 1
            if documents > 1:
                raise LoadError(
                    "a second YAML document starts here",
                    *_pos(event, first_line),
                    hint="a record file holds exactly one document; remove the extra '---'",
                )
    if not have_root or result.data is None:
        raise LoadError(
            "the file holds no YAML data", first_line, 1, hint="write the record's fields"
        )
    return result


#: what no UTF-8 text holds, which only an escape can write: lone surrogates
_NOT_TEXT = re.compile("[\ud800-\udfff]")


def _unescaped(event: Any, first_line: int) -> None:
    """A double-quoted scalar spells characters as escapes (``"\\e"``, ``"\\u202e"``,
    ``"\\0"``): what they give is held to what the file's own text is (no control,
    invisible or bidirectional character)."""
    text = event.value
    if text.isascii() and text.isprintable():
        return  # printable ASCII (nearly every quoted value) holds none of them
    match = SPELLED.search(text) or _NOT_TEXT.search(text)
    if match is not None:
        raise LoadError(
            f"forbidden character {describe_char(match.group())} (written as an escape)",
            *_pos(event, first_line),
            hint="remove the escape: control, invisible and bidirectional characters can hide text",
        )


def _pos(event: Any, first_line: int) -> Pos:
    mark = event.start_mark
    return mark.line + first_line, mark.column + 1


def _resolve(event: Any, first_line: int) -> Any:
    """A plain scalar's value (:func:`resolve_plain`, with the common case of text that
    cannot be a number, null or boolean decided by its first character)."""
    text = event.value
    if text and text[0] not in _NUMERIC_START and text[0] not in "~nNtTfF":
        return text
    return resolve_plain(text, _pos(event, first_line))


def _key(
    event: Any, kind: type, frame: list[Any], first_line: int, keys: dict[Path, Pos] | None
) -> str:
    if kind is not _SCALAR:
        raise LoadError(
            "a mapping key must be a plain string, not a list or mapping",
            *_pos(event, first_line),
        )
    plain = not event.style and event.implicit[0]
    if event.style == '"':
        _unescaped(event, first_line)
    key = _resolve(event, first_line) if plain else event.value
    if not isinstance(key, str):
        raise LoadError(
            f"key {event.value!s} is not a string",
            *_pos(event, first_line),
            hint=f'quote it ("{event.value}") or rename it',
        )
    if plain and key == "<<":
        raise LoadError(
            "merge key '<<' is not allowed",
            *_pos(event, first_line),
            hint="write the merged fields out in full",
        )
    lines: dict[str, int] = frame[4]
    first = lines.get(key)
    line = event.start_mark.line + first_line
    if first is not None:
        raise LoadError(
            f"duplicate key '{key}' (first defined on line {first})",
            line,
            event.start_mark.column + 1,
            hint="keep one of the two; YAML would silently keep the last",
        )
    lines[key] = line
    if keys is not None:
        keys[(*frame[1], key)] = (line, event.start_mark.column + 1)
    return key
