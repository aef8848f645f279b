"""An incident's story from its updates: status, response times, reopens and timeline.

From the audit event log (one row per update, ordered by ``sys_mod_count``, then
``sys_updated_at``, then file line):

* ``acknowledged_at``: the first update that leaves New or names an assignee
  (``assigned_to``) — the first sign a person took it on; never later than ``resolved_at``;
* ``resolved_at``: ServiceNow's own ``resolved_at`` (the last value), else the last update
  that moved the state into Resolved; ``closed_at`` likewise (only once resolved/closed);
* ``reopened``: an update where ``reopen_count`` goes up, or where the state goes back from
  Resolved or Closed to any open state (one entry per such update);
* ``timeline``: the opening, then every update that changes the state, the priority, the
  assignment group or assignee, the linked change or the reopen count.

A list export (one row per incident) has no history: ``acknowledged_at`` is then unknown
unless the incident is still New and unassigned, and reopens come from ``reopen_count``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime

from opsledger.importers.mapping import CANCELED, CLOSED, NEW, OPEN, RESOLVED, state_class

_EARLIEST = datetime.min.replace(tzinfo=UTC)
_DONE = (RESOLVED, CLOSED)


@dataclass(frozen=True, slots=True)
class Update:
    """What one row says about the incident at one moment."""

    line: int
    mod: int | None
    at: datetime | None  # sys_updated_at
    state: str
    priority: str
    group: str
    assignee: str
    reopens: int | None
    close_code: str = ""
    changes: tuple[tuple[str, str], ...] = ()  # (field, value) of caused_by / rfc

    @property
    def kind(self) -> str:
        return state_class(self.state)


def in_order(updates: list[Update]) -> list[Update]:
    return sorted(
        updates,
        key=lambda u: (u.mod if u.mod is not None else -1, u.at or _EARLIEST, u.line),
    )


@dataclass
class Story:
    status: str  # open, resolved, closed or canceled
    acknowledged_at: datetime | None = None
    acknowledgement_known: bool = True
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    reopened: list[tuple[datetime, str]] = field(default_factory=list)
    timeline: list[tuple[datetime, str]] = field(default_factory=list)


def _status(kind: str) -> str:
    return "open" if kind in (NEW, OPEN) else kind


def _opening(number: str, first: Update, *, listed: bool = False) -> str:
    values = (
        f"state {first.state}, priority {first.priority}, assignment group {first.group or 'none'}"
    )
    if first.assignee:
        values += f", assigned to {first.assignee}"
    if listed:
        return f"Opened in ServiceNow as {number} (at export: {values})."
    text = f"Opened in ServiceNow as {number}: {values}"
    if first.mod:
        text += f" (the export starts at update {first.mod})"
    return text + "."


def _changes(prev: Update, cur: Update) -> list[str]:
    parts: list[str] = []
    if cur.state != prev.state:
        step = f"state {prev.state} → {cur.state}"
        if cur.kind == RESOLVED and cur.close_code:
            step += f" (close code: {cur.close_code})"
        parts.append(step)
    if cur.priority != prev.priority:
        parts.append(f"priority {prev.priority} → {cur.priority}")
    if cur.group != prev.group:
        parts.append(f"reassigned from {prev.group or 'no group'} to {cur.group or 'no group'}")
    if cur.assignee != prev.assignee:
        parts.append(
            f"assigned to {cur.assignee}" if cur.assignee else f"unassigned (was {prev.assignee})"
        )
    before = dict(prev.changes)
    for name, value in cur.changes:
        if value and value != before.get(name):
            parts.append(f"change {value} linked ({name})")
    if (cur.reopens or 0) > (prev.reopens or 0):
        parts.append(f"reopen count {prev.reopens or 0} → {cur.reopens}")
    return parts


def _sentence(parts: list[str]) -> str:
    text = "; ".join(parts)
    return text[:1].upper() + text[1:] + "."


def _reopen(prev: Update, cur: Update) -> str | None:
    back = prev.kind in _DONE and cur.kind in (NEW, OPEN)
    more = (cur.reopens or 0) > (prev.reopens or 0)
    if not (back or more):
        return None
    what = []
    if back:
        what.append(f"state {prev.state} → {cur.state}")
    if more:
        what.append(f"reopen count {prev.reopens or 0} → {cur.reopens}")
    return f"Reopened in ServiceNow ({'; '.join(what)}); the export records no reason."


def _last(moments: list[datetime]) -> datetime | None:
    return moments[-1] if moments else None


def from_events(
    number: str,
    updates: list[Update],
    opened: datetime,
    resolved_field: datetime | None,
    closed_field: datetime | None,
) -> Story:
    """The story of an incident from its updates (already :func:`in_order`)."""
    first, last = updates[0], updates[-1]
    story = Story(_status(last.kind))
    if story.status == CANCELED:
        return story
    story.acknowledged_at = next((u.at for u in updates if u.kind != NEW or u.assignee), None)
    into: dict[str, list[datetime]] = {RESOLVED: [], CLOSED: []}
    previous: Update | None = None
    for update in updates:
        kind = update.kind
        if kind in into and update.at and (previous is None or previous.kind != kind):
            into[kind].append(update.at)
        previous = update
    if story.status in _DONE:
        story.resolved_at = resolved_field or _last(into[RESOLVED])
    if story.status == CLOSED:
        story.closed_at = closed_field or _last(into[CLOSED])
    ack, done = story.acknowledged_at, story.resolved_at
    if ack is not None and done is not None and ack > done:
        story.acknowledged_at = done  # resolved means acknowledged by then at the latest
    if first.reopens and first.at is not None:
        story.reopened.append(
            (
                first.at,
                f"Reopened {first.reopens} time(s) in ServiceNow before the first update in "
                "this export; the export does not say when or why.",
            )
        )
    story.timeline.append((opened, _opening(number, first)))
    for prev, cur in itertools.pairwise(updates):
        if cur.at is None:
            continue
        reason = _reopen(prev, cur)
        if reason is not None:
            story.reopened.append((cur.at, reason))
        parts = _changes(prev, cur)
        if parts:
            story.timeline.append((cur.at, _sentence(parts)))
    return story


def from_row(
    number: str,
    row: Update,
    opened: datetime,
    resolved_field: datetime | None,
    closed_field: datetime | None,
    reopened_time: datetime | None,
) -> Story:
    """The story of an incident from a list export's single row."""
    story = Story(_status(row.kind))
    if story.status == CANCELED:
        return story
    story.acknowledgement_known = row.kind == NEW and not row.assignee
    if story.status in _DONE:
        story.resolved_at = resolved_field
    if story.status == CLOSED:
        story.closed_at = closed_field
    if row.reopens:
        at = reopened_time or row.at or opened
        source = "reopened_time" if reopened_time else "the last update" if row.at else "opening"
        story.reopened.append(
            (
                at,
                f"Reopened {row.reopens} time(s) in ServiceNow (reopen_count); dated at "
                f"{source}, the export has no reason.",
            )
        )
    story.timeline.append((opened, _opening(number, row, listed=True)))
    if story.resolved_at is not None:
        code = f" (close code: {row.close_code})" if row.close_code else ""
        story.timeline.append((story.resolved_at, f"Resolved in ServiceNow{code}."))
    if story.closed_at is not None:
        story.timeline.append((story.closed_at, "Closed in ServiceNow."))
    return story
