"""Documentation: an incident is written up while it happens, not days later.

Measured from git alone: from the detection the record's first readable committed version
stated (a ``detected_at`` moved later afterwards cannot shorten the lag) to the landing of
the record's first commit. GIT-LATE-RECORD reports an incident whose lag is over
``history.late_record_business_days`` business days; the documentation_lag KPI is the
median of the same lags in hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from opsledger.calendar import BusinessCalendar
from opsledger.history.model import RecordHistory, Version
from opsledger.timeutil import parse_timestamp


@dataclass(frozen=True)
class Documentation:
    """When an incident was detected (as first committed) and first committed."""

    detected: datetime
    first: Version  # the record's first commit, by landing
    business_days: int  # policy calendar, detection to that landing

    @property
    def lag(self) -> timedelta:
        """From detection to the first commit's landing."""
        return self.first.landed_at - self.detected


def documentation(history: RecordHistory, calendar: BusinessCalendar) -> Documentation | None:
    """The incident's documentation lag; None for a deleted record, one whose versions
    cannot be read, or whose first readable version states no valid ``detected_at``
    (SCHEMA reports that)."""
    first = next(history.readable(), None)
    if first is None or history.deleted:
        return None
    try:
        detected = parse_timestamp((first.data or {}).get("detected_at"))  # type: ignore[arg-type]
    except ValueError:
        return None
    landed = history.first.landed_at
    return Documentation(detected, history.first, calendar.business_days_between(detected, landed))
