"""Periods of time as people name them: a week, a month, a quarter, a year or days.

One type for every command that reports on a period (``kpi``, ``report``, and later
``sample``): ``[since, until)`` as local dates in the policy timezone, either end open.
Written ``2026-W10`` (ISO week, Monday to Sunday), ``2026-03``, ``2026-Q1``, ``2026``,
``2026-03-04`` (one day) or ``2026-03-01..2026-03-15`` (both days included).

A moment belongs to the period when its local date (in ``zone``) does: daylight-saving
changes move the UTC bounds, never the days.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from typing import Literal
from zoneinfo import ZoneInfo

from opsledger.errors import OpsledgerError
from opsledger.timeutil import YEARS  # the tool's one supported range of years

Kind = Literal["week", "month", "quarter", "year", "days"]
KINDS: tuple[Kind, ...] = ("week", "month", "quarter", "year", "days")
EXAMPLES: dict[Kind, str] = {
    "week": "an ISO week like 2026-W10",
    "month": "a month like 2026-03",
    "quarter": "a quarter like 2026-Q1",
    "year": "a year like 2026",
    "days": "a day like 2026-03-04 or days like 2026-03-01..2026-03-15 (both included)",
}
#: the years a period may name: records are from this era, and a period, the one before it
#: (a report's trend) and their local midnights always exist
_PATTERNS: dict[Kind, re.Pattern[str]] = {
    "week": re.compile(r"([0-9]{4})-W([0-9]{2})"),
    "month": re.compile(r"([0-9]{4})-([0-9]{2})"),
    "quarter": re.compile(r"([0-9]{4})-Q([1-4])"),
    "year": re.compile(r"([0-9]{4})"),
    "days": re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2})(?:\.\.([0-9]{4}-[0-9]{2}-[0-9]{2}))?"),
}


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The start of local ``day`` in ``zone``, in UTC."""
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def label_of(kind: Kind, day: date) -> str:
    """The name of the week, month, quarter or year holding ``day`` (``2026-W10``…)."""
    if kind == "week":
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    if kind == "month":
        return f"{day.year}-{day.month:02d}"
    if kind == "quarter":
        return f"{day.year}-Q{(day.month - 1) // 3 + 1}"
    if kind == "year":
        return str(day.year)
    return day.isoformat()


def _utc() -> ZoneInfo:
    return ZoneInfo("UTC")


@dataclass(frozen=True)
class Period:
    """``[since, until)`` as local dates in ``zone``; either end may be open (None)."""

    since: date | None = None
    until: date | None = None
    zone: ZoneInfo = field(default_factory=_utc)
    kind: Kind | None = None  # how it was named; None for an arbitrary range
    label: str = ""

    @classmethod
    def of(cls, kind: Kind, day: date, zone: ZoneInfo | None = None) -> Period:
        """The week, month, quarter or year (or the day) holding ``day``."""
        if kind == "week":
            since = day - timedelta(days=day.weekday())
            until = since + timedelta(days=7)
        elif kind == "month":
            since = day.replace(day=1)
            until = date(since.year + (since.month == 12), since.month % 12 + 1, 1)
        elif kind == "quarter":
            since = date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
            until = date(since.year + (since.month == 10), (since.month + 2) % 12 + 1, 1)
        elif kind == "year":
            since, until = date(day.year, 1, 1), date(day.year + 1, 1, 1)
        else:
            since, until = day, day + timedelta(days=1)
        return cls(since, until, zone or _utc(), kind, label_of(kind, day))

    def shift(self, count: int) -> Period:
        """The period ``count`` weeks, months, quarters or years later (earlier if < 0)."""
        if self.kind is None or self.since is None or self.until is None:
            raise ValueError("only a named period can be shifted")
        if self.kind == "days":
            length = self.until - self.since
            since = self.since + count * length
            return days(since, since + length - timedelta(days=1), self.zone)
        if self.kind == "week":
            return Period.of("week", self.since + timedelta(weeks=count), self.zone)
        months = {"month": 1, "quarter": 3, "year": 12}[self.kind] * count
        index = self.since.year * 12 + self.since.month - 1 + months
        return Period.of(self.kind, date(index // 12, index % 12 + 1, 1), self.zone)

    def with_zone(self, zone: ZoneInfo) -> Period:
        return Period(self.since, self.until, zone, self.kind, self.label)

    @cached_property
    def start(self) -> datetime | None:
        """The first instant (UTC), or None when open (worked out once: a period is asked
        of every record)."""
        return local_midnight(self.since, self.zone) if self.since is not None else None

    @cached_property
    def end(self) -> datetime | None:
        """The first instant after the period (UTC), or None when open."""
        return local_midnight(self.until, self.zone) if self.until is not None else None

    @property
    def last(self) -> date | None:
        """The last day in the period."""
        return self.until - timedelta(days=1) if self.until is not None else None

    @property
    def bounded(self) -> bool:
        return self.since is not None or self.until is not None

    def contains(self, moment: datetime | None) -> bool:
        """``moment`` falls in the period (a missing moment never does)."""
        if moment is None:
            return False
        start, end = self.start, self.end
        return (start is None or moment >= start) and (end is None or moment < end)

    def contains_day(self, day: date) -> bool:
        return (self.since is None or day >= self.since) and (
            self.until is None or day < self.until
        )

    def __str__(self) -> str:
        if self.label:
            return self.label
        since = self.since.isoformat() if self.since else "the first record"
        return f"{since} to {self.last.isoformat() if self.last else 'now'}"


def days(first: date, last: date, zone: ZoneInfo | None = None) -> Period:
    """The days ``first`` to ``last``, both included."""
    label = first.isoformat() if first == last else f"{first.isoformat()}..{last.isoformat()}"
    return Period(first, last + timedelta(days=1), zone or _utc(), "days", label)


def check_day(day: date, option: str) -> None:
    """An :class:`OpsledgerError` when ``day`` is outside the years a period may name (a
    local midnight of year 1 or 9999 may not exist in UTC)."""
    if not YEARS[0] <= day.year <= YEARS[1]:
        raise OpsledgerError(
            f"{option} {day.isoformat()}: out of range (years {YEARS[0]}-{YEARS[1]})"
        )


def parse_period(
    text: str,
    zone: ZoneInfo | None = None,
    *,
    kinds: tuple[Kind, ...] = KINDS,
    option: str = "--period",
) -> Period:
    """A period as written on the command line; an :class:`OpsledgerError` (exit status 2)
    saying what to write when ``text`` is not one of ``kinds``."""
    zone = zone or _utc()
    wanted = " or ".join(EXAMPLES[k] for k in kinds)
    for kind in kinds:
        match = _PATTERNS[kind].fullmatch(text)
        if match is None:
            continue
        try:
            period = _build(kind, match, zone)
        except ValueError as exc:
            raise OpsledgerError(f"{option} {text!r}: {exc}; write {wanted}") from None
        return period
    raise OpsledgerError(f"{option} {text!r}: write {wanted}")


def _build(kind: Kind, match: re.Match[str], zone: ZoneInfo) -> Period:
    if not YEARS[0] <= int(match[1][:4]) <= YEARS[1]:
        raise ValueError(f"out of range (years {YEARS[0]}-{YEARS[1]})")
    if kind == "week":
        try:
            day = date.fromisocalendar(int(match[1]), int(match[2]), 1)
        except ValueError:
            raise ValueError(f"{match[1]} has no ISO week {int(match[2])}") from None
        return Period.of("week", day, zone)
    if kind == "month":
        if not 1 <= int(match[2]) <= 12:
            raise ValueError("no such month")
        return Period.of("month", date(int(match[1]), int(match[2]), 1), zone)
    if kind == "quarter":
        return Period.of("quarter", date(int(match[1]), 3 * int(match[2]) - 2, 1), zone)
    if kind == "year":
        return Period.of("year", date(int(match[1]), 1, 1), zone)
    try:
        first = date.fromisoformat(match[1])
        last = date.fromisoformat(match[2]) if match[2] else first
    except ValueError:
        raise ValueError("no such day") from None
    if last < first:
        raise ValueError("the last day is before the first")
    if last.year > YEARS[1]:
        raise ValueError(f"out of range (years {YEARS[0]}-{YEARS[1]})")
    return days(first, last, zone)
