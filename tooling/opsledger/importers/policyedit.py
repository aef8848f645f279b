"""Setting ``history.since`` in ``policy.yaml`` with a one-line textual edit.

The policy file is reviewed by people and protected by CODEOWNERS, so it is never
re-serialised: only the ``since:`` line changes (or is added under ``history:``, or a
``history:`` block is appended), every other byte stays as it was. The result is parsed
and checked against the policy schema before it is written.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from opsledger.errors import OpsledgerError
from opsledger.loading import LoadError, load_text
from opsledger.schemas import SchemaSet

_SINCE = re.compile(
    r"(?P<key>[ \t]+since:)(?P<value>[ \t]*(?:null|Null|NULL|~)?)(?P<rest>[ \t]*(?:#.*)?)"
)


def _data(text: str) -> tuple[Any, Any]:
    try:
        doc = load_text(text)
    except LoadError as exc:
        raise OpsledgerError(exc.at("policy.yaml")) from None
    return doc, doc.data


def current_since(text: str) -> object:
    """The ``history.since`` value as written (None when unset)."""
    _, data = _data(text)
    history = data.get("history") if isinstance(data, dict) else None
    return history.get("since") if isinstance(history, dict) else None


def with_since(text: str, day: date, schemas: SchemaSet) -> str:
    """``text`` with ``history.since`` set to ``day``; the caller checked it was unset."""
    doc, data = _data(text)
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = text.splitlines(keepends=True)
    value = f'"{day.isoformat()}"'
    history = data.get("history") if isinstance(data, dict) else None
    if isinstance(history, dict) and ("history", "since") in doc.keys:
        line_no = doc.keys[("history", "since")][0]
        line = lines[line_no - 1]
        body = line.rstrip("\r\n")
        match = _SINCE.fullmatch(body)
        if match is None:
            raise _manual(day, f"line {line_no} is not a simple 'since: null'")
        lines[line_no - 1] = f"{match['key']} {value}{match['rest']}{line[len(body) :]}"
    elif isinstance(history, dict) and history and ("history",) in doc.keys:
        first_child = min(doc.keys[("history", key)] for key in history)
        indent = " " * (first_child[1] - 1)
        at = doc.keys[("history",)][0]
        if first_child[0] <= at:
            raise _manual(day, "history is not a plain block")
        lines.insert(at, f"{indent}since: {value}{newline}")
    elif "history" not in (data or {}):
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += newline
        lines.append(f"history:{newline}  since: {value}{newline}")
    else:
        raise _manual(day, "history is empty or not a mapping")
    updated = "".join(lines)
    check_doc, check = _data(updated)
    problems = schemas.check("policy", check_doc)
    since = check.get("history", {}).get("since") if isinstance(check, dict) else None
    if problems or since != day.isoformat():
        raise _manual(day, problems[0].message if problems else "the edit did not take")
    return updated


def _manual(day: date, why: str) -> OpsledgerError:
    return OpsledgerError(
        f"policy.yaml: cannot set history.since automatically ({why}); set "
        f'history: since: "{day.isoformat()}" by hand, or pass --no-adopt'
    )
