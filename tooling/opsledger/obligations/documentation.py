"""Documentation: an incident is written up while it happens, not days later.

Measured from git alone: from the detection the record stated when first committed (as
the first landing stating one left it), or the one it states now when that is earlier, to
the landing of the record's first commit.
Moving ``detected_at`` later afterwards cannot shorten the lag, nor can committing the
record with the detection set to that moment and setting it back to the real one later; a
slip in between that was corrected since counts for nothing. GIT-LATE-RECORD
reports an incident whose lag is over ``history.late_record_business_days`` business days;
the documentation_lag KPI is the median of the same lags in hours; the brief says it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from opsledger.calendar import BusinessCalendar
from opsledger.history.model import RecordHistory, Version
from opsledger.timeutil import parse_timestamp


@dataclass(frozen=True)
class Documentation:
    """When an incident was detected (the earlier of what its first and its last readable
    versions state) and first committed."""

    detected: datetime
    first: Version  # the record's first commit, by landing
    business_days: int  # policy calendar, detection to that landing

    @property
    def lag(self) -> timedelta:
        """From detection to the first commit's landing."""
        return self.first.landed_at - self.detected


def documentation(history: RecordHistory, calendar: BusinessCalendar) -> Documentation | None:
    """The incident's documentation lag; None for a deleted record, or one whose first
    and last readable versions state no valid ``detected_at`` (SCHEMA reports that)."""
    if history.deleted:
        return None
    # as first committed: the first landing whose end states a detection (within a
    # landing only its end was on the branch, so a landing ending unreadable states none;
    # a first version without a valid one, such as 'TBD', gives way to the first that has)
    first = next(
        (found for landing in history.landings() if (found := _stated(landing[-1:]))),
        None,
    )
    now = _stated(list(history.readable())[-1:])
    stated = [t for t in (first, now) if t is not None]
    if not stated:
        return None
    detected = min(stated)
    landed = history.first.landed_at
    return Documentation(detected, history.first, calendar.business_days_between(detected, landed))


def _stated(versions: list[Version]) -> datetime | None:
    """The detection the (one) version states, or None (unreadable, none given, or not
    valid)."""
    for version in versions:
        if version.data is None:
            return None
        try:
            return parse_timestamp((version.data or {}).get("detected_at"))  # type: ignore[arg-type]
        except ValueError:
            return None
    return None
