"""Commit planning: every record's steps, cut to the period, thinned or padded, in time order.

Each record is a ``Track``: its path, a function rendering its content as of a moment, and
its steps. Steps outside the period are dropped (a record ends in the state its last commit
inside the period gave it) and each record's first and last remaining steps are pinned. When a
commit count is asked for, unpinned steps are folded into the record's next step (fewer
commits) or incidents get timeline notes, each in its own commit (more commits). Steps sharing
a ``group`` (a PIR draft and the incident's link to it) become one commit.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from opsledger.demo.clock import HOUR, MINUTE, between
from opsledger.demo.context import Ctx, Step
from opsledger.demo.incidents import Incident
from opsledger.demo.people import Person
from opsledger.demo.prose import fill

_NOTES = (
    "Checked the {alert} dashboard; error rate still above baseline.",
    "Customer support briefed on the current workaround.",
    "Shared interim findings with the {team} team.",
    "Captured logs and metrics for the later analysis.",
    "Confirmed no other change is running on {key} right now.",
    "Service desk asked to tag new tickets with {key}.",
)


@dataclass
class Track:
    """One file's life: where it lives, how it reads at a moment, when it changes."""

    path: str
    render: Callable[[datetime], str | None]
    steps: list[Step]


@dataclass(frozen=True)
class Edit:
    """A file written (or deleted, when ``content`` returns None) by a commit."""

    path: str
    content: Callable[[], str | None]


@dataclass(frozen=True)
class Commit:
    """A planned commit."""

    at: datetime
    author: Person
    message: str
    edits: tuple[Edit, ...]


def trim(ctx: Ctx, tracks: list[Track]) -> None:
    """Keep steps inside the period; pin each track's first and last step."""
    for track in tracks:
        steps = [s for s in track.steps if ctx.start_dt <= s.at <= ctx.horizon]
        if steps:
            steps[0] = replace(steps[0], pinned=True)
            steps[-1] = replace(steps[-1], pinned=True)
        track.steps = steps


def count_commits(tracks: list[Track]) -> int:
    """Commits the tracks make (group partners count once)."""
    groups = {s.group for t in tracks for s in t.steps if s.group}
    return sum(1 for t in tracks for s in t.steps if not s.group) + len(groups)


def thin(rng: random.Random, tracks: list[Track], surplus: int) -> None:
    """Fold ``surplus`` unpinned steps into their record's next step."""
    candidates = [
        (ti, si) for ti, t in enumerate(tracks) for si, s in enumerate(t.steps) if not s.pinned
    ]
    dropped = set(rng.sample(candidates, min(surplus, len(candidates))))
    for ti, track in enumerate(tracks):
        track.steps = [s for si, s in enumerate(track.steps) if (ti, si) not in dropped]


def add_notes(ctx: Ctx, rng: random.Random, incidents: list[Incident], count: int) -> None:
    """``count`` timeline notes on open incidents, each to be committed on its own."""
    spans: list[tuple[Incident, datetime, datetime]] = []
    for incident in incidents:
        low = incident.first_commit + 5 * MINUTE
        high = min(incident.resolved, ctx.horizon - HOUR) - 5 * MINUTE
        if incident.deleted is None and incident.duplicate_of is None and high - low > 10 * MINUTE:
            spans.append((incident, low, high))
    if not spans or count <= 0:
        return
    weights = [(high - low).total_seconds() ** 0.5 for _, low, high in spans]
    for incident, low, high in rng.choices(spans, weights, k=count):
        text = fill(rng.choice(_NOTES), incident.service)
        incident.notes.append((between(rng, low, high), incident.owner, text))
    for incident, _low, _high in spans:
        incident.notes.sort(key=lambda note: note[0])


def plan_commits(tracks: list[Track]) -> list[Commit]:
    """All steps as commits in time order; group partners merged."""
    entries = sorted(
        ((step.at, ti, si, step) for ti, t in enumerate(tracks) for si, step in enumerate(t.steps)),
        key=lambda entry: entry[:3],
    )
    commits: list[Commit] = []
    by_group: dict[str, int] = {}
    for at, ti, _si, step in entries:
        track = tracks[ti]
        edit = Edit(track.path, _renderer(track, at))
        if step.group is not None and step.group in by_group:
            index = by_group[step.group]
            previous = commits[index]
            commits[index] = replace(previous, edits=(*previous.edits, edit))
            continue
        if step.group is not None:
            by_group[step.group] = len(commits)
        commits.append(Commit(at, step.author, step.message, (edit,)))
    return commits


def _renderer(track: Track, at: datetime) -> Callable[[], str | None]:
    return lambda: track.render(at)
