"""Runbook review: reviewed again within its interval (its own ``review_every``, else the
policy's ``runbooks.review_every``), judged on local dates in the policy timezone.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from opsledger.calendar import BusinessCalendar
from opsledger.model.policy import Policy
from opsledger.model.records import Runbook
from opsledger.obligations.actions import days_text
from opsledger.obligations.verdict import Verdict
from opsledger.timeutil import format_duration as dur


def review_interval(rb: Runbook, policy: Policy) -> timedelta | None:
    """The runbook's review interval; None when its own ``review_every`` is invalid
    (SCHEMA reports that)."""
    if rb.review_every is None and rb.data.get("review_every") is not None:
        return None
    return rb.review_period(policy.runbook_review_every)  # its own 0d is zero


def runbook_review(
    rb: Runbook, policy: Policy, calendar: BusinessCalendar, as_of: datetime
) -> Verdict | None:
    """``last_reviewed`` plus the interval is not before today: ``met`` while within it,
    ``missing`` once the next review is overdue. None without ``last_reviewed`` or with an
    invalid interval (SCHEMA's findings)."""
    every = review_interval(rb, policy)
    if rb.last_reviewed is None or every is None:
        return None
    today = calendar.local_date(as_of)
    next_by = rb.last_reviewed + every
    due = calendar.end_of_day(next_by)
    path = ("last_reviewed",)
    if next_by >= today:
        detail = f"reviewed {rb.last_reviewed.isoformat()}, next by {next_by.isoformat()}"
        return Verdict("runbook review", "met", due, None, None, every, path, None, detail)
    days = (today - rb.last_reviewed).days
    detail = (
        f"last reviewed {rb.last_reviewed.isoformat()}, {days_text(days)} ago; runbooks are "
        f"reviewed every {dur(every)}"
    )
    return Verdict("runbook review", "missing", due, None, None, every, path, None, detail)
