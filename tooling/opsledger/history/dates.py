"""Commit dates, checked before any arithmetic: git dates are self-asserted text.

A commit can claim any date: ``@99999999999999`` (year 3170843, beyond what a datetime can
hold), the Unix epoch, a year in the next century, or nothing git can parse (git then
prints an empty field). A date is plausible from the day git was first released to a day
after the moment the history is read; any other date is replaced and the commit carries a
note saying what it claimed (GIT-BACKDATED reports it; an offset no clock has, over 14
hours or 59 minutes, is noted too, though only the date's Unix time is ever used):

- a commit's landing time (the committer date of the first-parent commit through which it
  reached the branch) becomes that of the nearest earlier landing on the branch with a
  plausible date (or, at the start of the branch, the nearest later one; else the moment
  the history is read): the history counts from the commit before it;
- its author or committer date becomes its landing time.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta

from opsledger.history.model import Commit, Identity

#: git's first release: no git commit was made before it
EARLIEST = datetime(2005, 4, 7, tzinfo=UTC)
#: clock skew allowed beyond the moment the history is read
SKEW = timedelta(days=1)
_OFFSET = re.compile(r"[+-]([0-9]{2})([0-9]{2})")
_EARLIEST = int(EARLIEST.timestamp())


def plausible(seconds: str, now: datetime) -> datetime | None:
    """The aware UTC time of a ``%at``/``%ct`` field, or None when it is not a plausible
    commit date (garbled, empty, before git existed or after ``now`` plus a day)."""
    text = seconds.strip()
    if not (text.isascii() and text.isdigit() and len(text) <= 12):  # "-5" included
        return None
    value = int(text)
    if not _EARLIEST <= value <= (now + SKEW).timestamp():
        return None
    return datetime.fromtimestamp(value, UTC)


@functools.lru_cache(maxsize=256)
def _offset_ok(offset: str) -> bool:
    match = _OFFSET.fullmatch(offset)
    return match is not None and int(match[1]) <= 14 and int(match[2]) < 60


def offset_ok(raw: str) -> bool:
    """The offset of a ``--date=raw`` date is one a clock can have (``+0100``: at most 14
    hours and 59 minutes either way), or the date is unreadable (reported as such)."""
    seconds, space, offset = raw.strip().rpartition(" ")
    return not space or not seconds or " " in seconds or _offset_ok(offset)


def describe(seconds: str) -> str:
    """A claimed date for a message: ``@99999999999999``, or a note when git gave none."""
    text = seconds.strip()
    return "@" + printable(text) if text else "(none git can read)"


def printable(text: str, limit: int = 24) -> str:
    """``text`` clipped, with anything but printable ASCII shown as ``?``."""
    shown = text if len(text) <= limit else text[: limit - 1] + "…"
    return "".join(c if (c.isascii() and c.isprintable()) or c == "…" else "?" for c in shown)


class Landings:
    """Plausible landing times of the first-parent commits, by position on the branch."""

    def __init__(self, times: Iterable[tuple[int, datetime]], now: datetime) -> None:
        ordered = sorted(times, key=lambda item: item[0])
        self.positions = [p for p, _ in ordered]
        self.times = [t for _, t in ordered]
        self.now = now

    def around(self, position: int) -> datetime:
        """The nearest plausible landing at or before ``position``; else the first after it;
        else the moment the history is read."""
        at = bisect.bisect_right(self.positions, position)
        if at > 0:
            return self.times[at - 1]
        return self.times[0] if self.times else self.now

    @property
    def last(self) -> tuple[int, datetime] | None:
        """The latest plausible landing (position, time), if any."""
        return (self.positions[-1], self.times[-1]) if self.positions else None


def build_commits(
    parsed: Iterable[list[str]],
    landed: dict[str, str],
    position: dict[str, int],
    now: datetime,
    earlier: tuple[int, datetime] | None = None,
    *,
    chain: Mapping[str, str],
) -> tuple[dict[str, Commit], Landings]:
    """Every commit of the log (its ``gitio.LOG_FIELDS``) with checked dates, and the
    plausible landings they were dated from. ``chain``: the committer date (as git prints
    it) of every first-parent commit of the branch these commits are on, those that
    changed no record included. ``earlier``: the latest landing before every commit of
    ``parsed`` (the log continues a history read before)."""
    rows = list(parsed)
    landing_at, landings = _landings(chain, position, now, earlier)

    commits: dict[str, Commit] = {}
    for fields in rows:
        sha, _parents, an, ae, at, cn, ce, ct, sig, raw_at, raw_ct = fields
        land = landed.get(sha, sha)
        authored, committed = plausible(at, now), plausible(ct, now)
        # the landing commit's time on the branch; where its own date is implausible,
        # the landing before it (the commits of the branch are all dated: ``chain``)
        land_at = landing_at.get(land) or landings.around(position.get(land, -1))
        notes = [
            f"{who} date {describe(raw)}"
            for who, raw, value in (("author", at, authored), ("committer", ct, committed))
            if value is None
        ]
        notes += [
            f"{who} time zone {printable(raw.split()[-1])}"
            for who, raw in (("author", raw_at), ("committer", raw_ct))
            if not offset_ok(raw)
        ]
        commits[sha] = Commit(
            sha=sha,
            author=Identity(an, ae),
            authored_at=authored or land_at,
            committer=Identity(cn, ce),
            committed_at=committed or land_at,
            landed_sha=land,
            landed_at=land_at,
            signed=sig == "G",
            date_note=" and ".join(notes),
        )
    return commits, landings


def _landings(
    chain: Mapping[str, str],
    position: dict[str, int],
    now: datetime,
    earlier: tuple[int, datetime] | None,
) -> tuple[dict[str, datetime], Landings]:
    """Each first-parent commit's landing time, and the landings: its plausible committer
    date, but never before the landing of the commit before it on the branch (a commit
    cannot land before its parent; one dated earlier lands with it, and GIT-BACKDATED
    reports the date it claims)."""
    claimed = sorted(
        (position[sha], sha, when)
        for sha, text in chain.items()
        if sha in position and (when := plausible(text, now)) is not None
    )
    running = earlier[1] if earlier is not None else None
    times: list[tuple[int, datetime]] = [earlier] if earlier is not None else []
    landing_at: dict[str, datetime] = {}
    for at, sha, when in claimed:
        if running is not None and when < running:
            when = running
        running = landing_at[sha] = when
        times.append((at, when))
    return landing_at, Landings(times, now)


#: (the latest date accepted, the earliest date rejected only for being too late)
Window = tuple[int, int | None]


def date_window(parsed: Iterable[list[str]], now: datetime, chain: Iterable[str] = ()) -> Window:
    """What the dates of ``parsed`` (``gitio.LOG_FIELDS``) and of the first-parent commits
    (``chain``: their committer dates) say about ``now``: commits dated by
    :func:`build_commits` at ``now`` are dated the same at any moment for which
    :func:`window_holds` (no accepted date is then too late, no late one plausible)."""
    bound = (now + SKEW).timestamp()
    latest, late = _EARLIEST, None
    texts = (t for fields in parsed for t in (fields[4], fields[7]))
    for text in (t.strip() for t in itertools.chain(texts, chain)):
        if not (text.isascii() and text.isdigit() and len(text) <= 12):
            continue
        value = int(text)
        if value > bound:
            late = value if late is None else min(late, value)
        elif value > latest:
            latest = value
    return latest, late


def join_windows(first: Window, second: Window) -> Window:
    lates = [v for v in (first[1], second[1]) if v is not None]
    return max(first[0], second[0]), min(lates) if lates else None


def window_holds(window: Window, now: datetime) -> bool:
    bound = (now + SKEW).timestamp()
    latest, late = window
    return latest <= bound and (late is None or late > bound)
