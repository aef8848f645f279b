"""What the history says about a record: transitions and first moments.

Plain functions over :class:`~opsledger.history.model.RecordHistory`, shared by the GIT-*
rules, the history KPIs and the reports.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
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


def status_since(
    history: RecordHistory, status: str, until: datetime | None = None
) -> Version | None:
    """The version from which the record has held ``status`` without a break up to now (or
    ``until``), as it landed; None when it does not hold it then (set back since, deleted,
    or its current version unreadable)."""
    return history.first_where(lambda d: d.get("status") == status, since=True, until=until)


def first_done(history: RecordHistory, until: datetime | None = None) -> dict[str, Version]:
    """For each follow-up action (of a PIR or a problem, by its ``id``) done now (or at
    ``until``), the version from which it has been ``done`` without a break, as it landed
    (:meth:`RecordHistory.held_from`): done, reopened and done again after its due date is
    late, as a PIR's approval is (:func:`status_since`)."""

    def done(data: Mapping[str, Any]) -> list[str]:
        actions = data.get("actions")
        return [
            action["id"]
            for action in (actions if isinstance(actions, list) else [])
            if isinstance(action, Mapping)
            and isinstance(action.get("id"), str)
            and action.get("status") == "done"
        ]

    held = history.held_from(done, since=True, until=until)
    return {key: run[-1] for key, run in held.items()}


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
