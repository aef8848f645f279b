"""Time for the demo generator: UTC formatting, business days, random times.

Every time the generator makes is an aware UTC ``datetime`` rounded to the minute. Business
days follow the policy's ``timezone``, ``business_days`` and ``holidays`` exactly as the audit
reads them, so a PIR planned "within N business days" is within them for the audit too.
"""

from __future__ import annotations

import calendar
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from opsledger.model.policy import WEEKDAYS

MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def ts(moment: datetime) -> str:
    """``2026-03-04T09:12:00Z``: the one timestamp spelling the demo writes."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def day(moment: datetime) -> str:
    """The UTC calendar date of ``moment`` as ``YYYY-MM-DD``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d")


def hhmm(moment: datetime) -> str:
    """``09:12`` in UTC, for prose such as PIR timelines."""
    return moment.astimezone(UTC).strftime("%H:%M")


def midnight(value: date) -> datetime:
    """00:00 UTC on ``value``."""
    return datetime.combine(value, time(0, 0), tzinfo=UTC)


def add_months(value: date, months: int) -> date:
    """``value`` moved by whole months, the day clamped to the target month's length."""
    years, month0 = divmod(value.month - 1 + months, 12)
    year = value.year + years
    last = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(value.day, last))


def minutes(count: float) -> timedelta:
    """A whole number of minutes (rounded down, at least zero)."""
    return timedelta(minutes=max(0, int(count)))


@dataclass(frozen=True)
class Calendar:
    """The policy's working calendar: time zone, business weekdays and holidays."""

    tz: ZoneInfo
    weekdays: frozenset[int]
    holidays: frozenset[date]

    @classmethod
    def from_policy(cls, zone: str, business_days: list[str], holidays: list[str]) -> Calendar:
        """Build from the policy's ``timezone``, ``business_days`` and ``holidays`` values."""
        return cls(
            ZoneInfo(zone),
            frozenset(WEEKDAYS.index(name) for name in business_days),
            frozenset(date.fromisoformat(text) for text in holidays),
        )

    def local_date(self, moment: datetime) -> date:
        """The calendar date of ``moment`` in the policy time zone."""
        return moment.astimezone(self.tz).date()

    def is_business_day(self, value: date) -> bool:
        """True on a business weekday that is not a holiday."""
        return value.weekday() in self.weekdays and value not in self.holidays

    def is_working_time(self, moment: datetime) -> bool:
        """Business day, 08:30-18:00 local time."""
        local = moment.astimezone(self.tz)
        minute = local.hour * 60 + local.minute
        return self.is_business_day(local.date()) and 510 <= minute < 1080

    def add_business_days(self, moment: datetime, count: int) -> datetime:
        """The same local time of day ``count`` business days after ``moment``."""
        local = moment.astimezone(self.tz)
        current = local.date()
        done = 0
        while done < count:
            current += DAY
            if self.is_business_day(current):
                done += 1
        wall = datetime.combine(current, local.time().replace(tzinfo=None), tzinfo=self.tz)
        return floor_minute(wall.astimezone(UTC))

    def business_days_between(self, earlier: datetime, later: datetime) -> int:
        """Business days after the local date of ``earlier`` up to that of ``later``."""
        first, last = self.local_date(earlier), self.local_date(later)
        count = 0
        current = first
        while current < last:
            current += DAY
            if self.is_business_day(current):
                count += 1
        return count


def floor_minute(moment: datetime) -> datetime:
    """``moment`` in UTC with seconds and microseconds dropped."""
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


def between(rng: random.Random, low: datetime, high: datetime) -> datetime:
    """A uniformly random whole minute in ``[low, high]`` (``low`` when the range is empty)."""
    span = int((high - low).total_seconds() // 60)
    if span <= 0:
        return floor_minute(low)
    return floor_minute(low) + timedelta(minutes=rng.randint(0, span))


def work_time(rng: random.Random, cal: Calendar, low: datetime, high: datetime) -> datetime:
    """A random minute in ``[low, high]``, in working hours whenever the range has some."""
    choice = between(rng, low, high)
    for _ in range(10):
        if cal.is_working_time(choice):
            return choice
        choice = between(rng, low, high)
    return choice


def skewed(rng: random.Random, low: float, high: float, power: float = 1.8) -> float:
    """A value in ``[low, high]`` skewed towards ``low`` (long tail towards ``high``)."""
    return low + (high - low) * float(rng.random() ** power)
