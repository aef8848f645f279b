"""Follow-up actions (PIR actions; problem actions share them): done by their due date.

An action is due by the end of its ``due`` day in the policy timezone. Its status says
whether it is done; when it was done is the landing time of the commit that first set it
``done`` on the branch (git history, the trusted time). ``wont-do`` actions, and actions
without a due date or status, carry no such obligation.
"""

from __future__ import annotations

from datetime import datetime

from opsledger.calendar import BusinessCalendar
from opsledger.model.records import Action
from opsledger.obligations.verdict import State, Verdict

OPEN = frozenset({"open", "in-progress"})


def days_text(days: int) -> str:
    return f"{days} day" if days == 1 else f"{days} days"


def action_due(
    action: Action,
    calendar: BusinessCalendar,
    as_of: datetime,
    done_landed: datetime | None,
    unknown: str = "not committed on the branch yet",
) -> Verdict | None:
    """The action's due-date obligation. ``done_landed``: when it became ``done`` on the
    branch in the run still holding (:func:`opsledger.history.derive.first_done`);
    ``unknown``: why that is not known when it is None (history unavailable,
    imported before adoption, not committed yet)."""
    if action.due is None or action.status not in (*OPEN, "done"):
        return None
    due = calendar.end_of_day(action.due)
    path = ("actions", action.index, "due")
    today = calendar.local_date(as_of)
    state: State
    if action.status in OPEN and (done_landed is None or done_landed > as_of):
        # open now, and not done on the branch at --as-of (done then and reopened since:
        # judged as it stood, below)
        state = "missing" if as_of > due else "pending"
        if state == "missing":
            detail = (
                f"{days_text((today - action.due).days)} overdue "
                f"(due {action.due.isoformat()}, status {action.status})"
            )
        else:
            days = (action.due - today).days
            detail = f"due {action.due.isoformat()} (in {days_text(days)}), status {action.status}"
        return Verdict("action", state, due, None, None, None, path, action.index, detail)
    if done_landed is not None and done_landed > as_of:
        # done on the branch only after "now" (--as-of): still open then
        state = "missing" if as_of > due else "pending"
        detail = (
            f"not done on the branch by {today.isoformat()} (--as-of); due {action.due.isoformat()}"
        )
        return Verdict("action", state, due, None, None, None, path, action.index, detail)
    if done_landed is None:
        detail = f"done; when cannot be verified ({unknown}); due {action.due.isoformat()}"
        return Verdict("action", "unverified", due, None, None, None, path, action.index, detail)
    state = "met" if done_landed <= due else "late"
    landed = calendar.local_date(done_landed)
    detail = f"done {landed.isoformat()} (on the branch); due {action.due.isoformat()}"
    return Verdict("action", state, due, None, done_landed, None, path, action.index, detail)
