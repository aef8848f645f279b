"""Business-day arithmetic in the policy's timezone, business days and holidays.

Convention (as in ServiceNow SLA schedules and most PIR policies): "within N business days
of T" means by the end of the N-th business day after T's local calendar day. A deadline is
returned as an aware UTC datetime, the last instant of that local day, so an event exactly at
the deadline passes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from opsledger.model.policy import Policy


@dataclass(frozen=True)
class BusinessCalendar:
    timezone: ZoneInfo
    business_days: frozenset[int]  # Monday = 0
    holidays: frozenset[date]

    @classmethod
    def of(cls, policy: Policy) -> BusinessCalendar:
        return cls(policy.timezone, policy.business_days, policy.holidays)

    def is_business_day(self, day: date) -> bool:
        return day.weekday() in self.business_days and day not in self.holidays

    def local_date(self, moment: datetime) -> date:
        return moment.astimezone(self.timezone).date()

    def add_business_days(self, day: date, n: int) -> date:
        """The n-th business day after ``day`` (``day`` itself never counts)."""
        if not self.business_days:
            raise ValueError("policy has no business days")
        current = day
        remaining = n
        while remaining > 0:
            current += timedelta(days=1)
            if self.is_business_day(current):
                remaining -= 1
        return current

    def end_of_day(self, day: date) -> datetime:
        """The last instant of local ``day``, in UTC."""
        local = datetime.combine(day + timedelta(days=1), time(0), tzinfo=self.timezone)
        return (local - timedelta(microseconds=1)).astimezone(UTC)

    def deadline(self, start: datetime, business_days: int) -> datetime:
        """End of the ``business_days``-th business day after ``start``'s local day, in UTC."""
        return self.end_of_day(self.add_business_days(self.local_date(start), business_days))

    def business_days_between(self, start: datetime, end: datetime) -> int:
        """Business days after ``start``'s local day up to and including ``end``'s local day."""
        first, last = self.local_date(start), self.local_date(end)
        count = 0
        day = first + timedelta(days=1)
        while day <= last:
            count += self.is_business_day(day)
            day += timedelta(days=1)
        return count
