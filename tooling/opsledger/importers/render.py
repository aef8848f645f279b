"""Writing an incident record as YAML: fixed key order, safe scalars, no surprises.

A small emitter for the plain data of a record (mappings, lists, strings, numbers,
booleans, null): strings are written plain only when no YAML 1.1 or 1.2 reader could take
them for anything else, otherwise double-quoted (JSON escaping, which YAML accepts);
multi-line text uses a literal block. No anchors, tags or flow mappings. Fast enough to
write tens of thousands of records, and checked against the strict loader in the tests.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

KEY_ORDER = (
    "id",
    "title",
    "priority",
    "status",
    "service",
    "detection",
    "source",
    "scope",
    "category",
    "commander",
    "impact",
    "detected_at",
    "acknowledged_at",
    "bridge_opened_at",
    "mitigated_at",
    "resolved_at",
    "closed_at",
    "notifications",
    "escalations",
    "reopened",
    "caused_by_change",
    "recurrence_of",
    "runbooks_used",
    "pir",
    "resolution",
    "timeline",
    "external_id",
    "import_gaps",
)
_RANK = {key: i for i, key in enumerate(KEY_ORDER)}

_AMBIGUOUS = re.compile(
    r"""(?ix)
    (?: y|n|yes|no|on|off|true|false|null|~ )\Z
    | [-+]?\.?[0-9][0-9a-z_:.+-]*\Z
    | [-+]?\.(?:inf|nan)\Z
    | <<\Z
    """
)
_TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z\Z")
_INDICATORS = frozenset("-?:,[]{}#&*!|>'\"%@`")
_FLOW_UNSAFE = frozenset(",[]{}")


def ordered(data: Mapping[str, Any]) -> dict[str, Any]:
    """The record's keys in schema order (unknown keys last, as they came)."""
    return dict(sorted(data.items(), key=lambda kv: _RANK.get(kv[0], len(_RANK))))


def _plain(text: str, *, flow: bool = False) -> bool:
    if not text or text != text.strip() or not text.isprintable():
        return False
    if text[0] in _INDICATORS or ": " in text or " #" in text or text.endswith(":"):
        return False
    if flow and _FLOW_UNSAFE & set(text):
        return False
    return _TIMESTAMP.match(text) is not None or _AMBIGUOUS.match(text) is None


def scalar(value: Any, *, flow: bool = False) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    text = str(value)
    if _plain(text, flow=flow):
        return text
    quoted = json.dumps(text, ensure_ascii=False)
    return quoted.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _block(text: str, pad: str) -> str | None:
    """A literal block for multi-line text, when it round-trips exactly."""
    if "\n" not in text or text[:1] in (" ", "\n") or text.endswith("\n"):
        return None
    lines = text.split("\n")
    if any(line != line.rstrip() or not line.isprintable() for line in lines):
        return None
    body = "\n".join(f"{pad}{line}" if line else "" for line in lines)
    return f"|-\n{body}"


def _value(key: str, value: Any, pad: str, out: list[str]) -> None:
    head = f"{pad}{key}:"
    if isinstance(value, Mapping):
        if not value:
            out.append(f"{head} {{}}")
            return
        out.append(head)
        _mapping(value, pad + "  ", out)
    elif isinstance(value, list):
        if not value:
            out.append(f"{head} []")
        elif all(isinstance(v, str) and _plain(v, flow=True) for v in value):
            out.append(f"{head} [{', '.join(value)}]")
        else:
            out.append(head)
            _sequence(value, pad + "  ", out)
    elif isinstance(value, str) and (block := _block(value, pad + "  ")) is not None:
        out.append(f"{head} {block}")
    else:
        out.append(f"{head} {scalar(value)}")


def _mapping(data: Mapping[str, Any], pad: str, out: list[str]) -> None:
    for key, value in data.items():
        _value(scalar(str(key)), value, pad, out)


def _sequence(items: list[Any], pad: str, out: list[str]) -> None:
    for item in items:
        if isinstance(item, Mapping) and item:
            start = len(out)
            _mapping(item, pad + "  ", out)
            out[start] = f"{pad}- {out[start][len(pad) + 2 :]}"
        elif isinstance(item, list) and item:
            start = len(out)
            _sequence(item, pad + "  ", out)
            out[start] = f"{pad}- {out[start][len(pad) + 2 :]}"
        elif isinstance(item, Mapping | list):
            out.append(f"{pad}- {'{}' if isinstance(item, Mapping) else '[]'}")
        elif isinstance(item, str) and (block := _block(item, pad + "  ")) is not None:
            out.append(f"{pad}- {block}")
        else:
            out.append(f"{pad}- {scalar(item)}")


def render(data: Mapping[str, Any], *, modeline: str | None = None) -> str:
    """The YAML text of a record (keys in schema order), with an optional first comment."""
    out = [modeline] if modeline else []
    _mapping(ordered(data), "", out)
    return "\n".join(out) + "\n"
