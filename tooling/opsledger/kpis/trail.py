"""History KPIs about the audit trail itself: priorities lowered in history and records
changed after they were closed or approved."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from typing import Any

from opsledger.history.derive import transitions
from opsledger.history.model import FieldChange, RecordHistory, Version, diff_fields
from opsledger.kpis.base import (
    IMPORTED,
    Excluded,
    KpiContext,
    Sample,
    no_history,
    observe,
    sample,
)
from opsledger.kpis.timing import NOT_COMMITTED

#: the status that closes each kind of record
CLOSING: Mapping[str, frozenset[str]] = {
    "incident": frozenset({"closed"}),
    "change": frozenset({"closed"}),
    "pir": frozenset({"approved"}),
}
_ACTION_PROGRESS = re.compile(r"actions\.[^.]+\.(status|verification|tracker)\Z")


def _rank(name: Any) -> tuple[int, str] | None:
    """P1 < P2 < … (a larger rank is a lower priority); None for a non-priority value."""
    if not isinstance(name, str):
        return None
    match = re.fullmatch(r"P([0-9]+)", name)
    return (int(match[1]), name) if match else None


def downgraded(history: RecordHistory) -> bool:
    """The incident's priority was lowered (P1 → P2, …) in some commit."""
    for step in transitions(history, "priority"):
        old, new = _rank(step.old), _rank(step.new)
        if old is not None and new is not None and new > old:
            return True
    return False


def priority_downgrades(ctx: KpiContext) -> Sample:
    """Count of incidents of the period whose priority was lowered in history (n: the
    incidents whose history was examined)."""
    incidents, excluded = ctx.incidents
    if ctx.history is None:
        return no_history(excluded)
    out, obs = list(excluded), []
    for inc in incidents:
        trail = ctx.history.get(inc.id)
        if ctx.imported(inc.id):
            out.append(Excluded(inc.id, IMPORTED))
        elif trail is None or not trail.versions:
            out.append(Excluded(inc.id, NOT_COMMITTED))
        else:
            obs.append(observe(inc, downgraded(trail)))
    return sample(obs, out)


def _allowed(kind: str) -> Callable[[FieldChange], bool]:
    """Progress meant to happen after closure: an approved PIR's actions moving on
    (their ``status``, ``verification`` and ``tracker``)."""
    if kind == "pir":
        return lambda change: bool(_ACTION_PROGRESS.match(change.field))
    return lambda change: False


def _reopens(data: Mapping[str, Any]) -> int:
    entries = data.get("reopened")
    return len(entries) if isinstance(entries, list) else 0


def edits_after_close(history: RecordHistory, kind: str) -> Iterator[tuple[Version, list[str]]]:
    """Each version that changed a closed (approved) record, with the fields it changed.

    Not edits: versions landing with the closing one (one merged pull request), a PIR
    action's progress, and a version that reopens an incident (adds a ``reopened`` entry);
    once reopened, the record is open again until re-closed.
    """
    closing_status = CLOSING.get(kind, frozenset())
    allowed = _allowed(kind)
    closing: Version | None = None
    previous: Mapping[str, Any] | None = None
    for version in history.readable():
        data = version.data or {}
        late = closing is not None and version.commit.landed_sha != closing.commit.landed_sha
        reopen = previous is not None and _reopens(data) > _reopens(previous)
        if late and previous is not None and data != previous and not reopen:
            fields = [c.field for c in diff_fields(previous, data) if not allowed(c)]
            if fields:
                yield version, fields
        if data.get("status") not in closing_status:
            closing = None
        elif closing is None:
            closing = version
        previous = data


def edited_after_close(ctx: KpiContext) -> Sample:
    """Count of incidents, changes (``closed``) and PIRs (``approved``) changed by a later
    commit (n: the records whose history was examined)."""
    placed, excluded = ctx.records(runbooks=False)
    if ctx.history is None:
        return no_history(excluded)
    obs = []
    for record, base in placed:
        trail = ctx.history.get(record.id)
        if ctx.imported(record.id):
            excluded.append(Excluded(record.id, IMPORTED))
        elif trail is None or not trail.versions:
            excluded.append(Excluded(record.id, NOT_COMMITTED))
        else:
            edited = next(edits_after_close(trail, record.kind), None) is not None
            obs.append(replace(base, value=edited))
    return sample(obs, excluded)
