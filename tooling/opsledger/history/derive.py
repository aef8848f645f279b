"""What the history says about a record: transitions and first moments.

Plain functions over :class:`~opsledger.history.model.RecordHistory`, shared by the GIT-*
rules, the history KPIs and the reports.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from opsledger.history.model import RecordHistory, Version


@dataclass(frozen=True)
class Transition:
    version: Version
    old: Any
    new: Any


def transitions(history: RecordHistory, field: str) -> list[Transition]:
    """Every change of a top-level field (``status``, ``priority``) across readable versions."""
    out: list[Transition] = []
    previous: Any = None
    seen = False
    for version in history.readable():
        value = (version.data or {}).get(field)
        if seen and value != previous:
            out.append(Transition(version, previous, value))
        previous, seen = value, True
    return out


def status_since(history: RecordHistory, status: str) -> Version | None:
    """The version from which the record has held ``status`` without a break up to now, as
    it landed; None when it does not hold it now (set back since, or deleted)."""
    return history.first_where(lambda d: d.get("status") == status, since=True)


def first_done(history: RecordHistory) -> dict[str, Version]:
    """For each PIR action (by its ``id``), the first version in which it was ``done``, as
    it landed (:meth:`RecordHistory.held_from`)."""

    def done(data: Mapping[str, Any]) -> list[str]:
        actions = data.get("actions")
        return [
            action["id"]
            for action in (actions if isinstance(actions, list) else [])
            if isinstance(action, Mapping)
            and isinstance(action.get("id"), str)
            and action.get("status") == "done"
        ]

    return {key: run[-1] for key, run in history.held_from(done).items()}


def entry_key(entry: Mapping[str, Any]) -> tuple[str, str, str, str]:
    """An approval or review entry's identity: who, in which role, when, what decision."""
    return (
        str(entry.get("by", "")).strip().casefold(),
        str(entry.get("role", "")),
        str(entry.get("at", "")),
        str(entry.get("decision", "")),
    )


def first_seen_entries(
    history: RecordHistory, field: str
) -> dict[tuple[str, str, str, str], Version]:
    """For each entry of list ``field`` (``approvals``, ``reviewers``), the first version that
    contained it."""
    found: dict[tuple[str, str, str, str], Version] = {}
    for version in history.readable():
        entries = (version.data or {}).get(field)
        if not isinstance(entries, list):
            continue
        for entry in entries:
            if isinstance(entry, Mapping):
                found.setdefault(entry_key(entry), version)
    return found
