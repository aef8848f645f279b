"""What deciding an obligation returns: a small, frozen :class:`Verdict`.

A verdict says when something was due, whether and when it was done, and by how much it
was met or missed. It carries no wording of its own beyond one plain ``detail`` sentence:
audit rules turn verdicts into findings, KPIs into observations, the site into ✓/✗ marks,
the reports and the brief into lines. Every one of them reads the same verdict, so they
cannot disagree.

States, as of the moment the verdict was taken (``--as-of``):

* ``met``: done by the deadline (exactly on it counts as met);
* ``late``: done, after the deadline;
* ``missing``: not done, and the deadline has passed;
* ``pending``: not done, the deadline is still ahead;
* ``unverified``: done, but when cannot be established (history unavailable, or not
  committed yet): neither met nor missed.

Obligations that do not apply to a record (no policy clock, a field the import lacked,
a status that carries no such duty) return ``None`` rather than a verdict.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

State = Literal["met", "late", "missing", "pending", "unverified"]

#: the states that fail the obligation
FAILED: frozenset[str] = frozenset({"late", "missing"})


@dataclass(frozen=True)
class Verdict:
    """One obligation of one record, decided."""

    obligation: str  # "initial notification", "acknowledgement", … (plain words)
    state: State
    due: datetime | None  # the deadline (UTC); None when it cannot be placed
    start: datetime | None = None  # when the clock started (detection, window start…)
    at: datetime | None = None  # when it was done (None while missing or pending)
    limit: timedelta | None = None  # the policy's allowance, when it is a duration
    path: tuple[str | int, ...] = ()  # the field that evidences it
    item: int | None = None  # the list entry that counted (a notification, an approval…)
    detail: str = ""  # one plain sentence: what was due and what happened

    @property
    def ok(self) -> bool | None:
        """True met, False late or missing, None pending or unverified."""
        if self.state == "met":
            return True
        if self.state in FAILED:
            return False
        return None

    @property
    def failed(self) -> bool:
        return self.state in FAILED

    @property
    def title(self) -> str:
        """The obligation's name as a heading: "Initial notification", "PIR"."""
        return self.obligation[:1].upper() + self.obligation[1:]

    @property
    def elapsed(self) -> timedelta | None:
        """From the clock's start to when it was done."""
        if self.at is None or self.start is None:
            return None
        return self.at - self.start


def decide(done: datetime | None, due: datetime, as_of: datetime) -> State:
    """The state of a deadline obligation done at ``done`` (None: not yet)."""
    if done is not None:
        return "met" if done <= due else "late"
    return "missing" if as_of > due else "pending"


@dataclass(frozen=True)
class Gap:
    """One interval between updates (or from the last update to resolution or now)."""

    start: datetime
    end: datetime
    until: str  # "next update", "resolution" or "now"
    ok: bool
    closes: int | None  # the notification ending the gap (None at resolution / now)
    opens: int | None  # the notification starting it (None: silence since detection)
    path: tuple[str | int, ...]  # where a finding about it points

    @property
    def length(self) -> timedelta:
        return self.end - self.start


@dataclass(frozen=True)
class Cadence:
    """The update cadence of an incident: every gap, and the verdict over all of them
    (``met`` when none is longer than ``limit``, so far for an unresolved incident)."""

    state: State
    limit: timedelta
    gaps: tuple[Gap, ...]
    detail: str = ""
    obligation = "update cadence"
    title = "Update cadence"

    @property
    def ok(self) -> bool | None:
        return {"met": True, "late": False}.get(self.state)

    @property
    def failed(self) -> bool:
        return self.state in FAILED

    def gap_closed_by(self, index: int) -> Gap | None:
        """The gap that the notification at ``index`` ended, if any."""
        return next((g for g in self.gaps if g.closes == index), None)

    @property
    def tail(self) -> Gap | None:
        """The gap from the last update to resolution or now."""
        return next((g for g in self.gaps if g.closes is None), None)
