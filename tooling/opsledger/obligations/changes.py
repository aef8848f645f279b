"""Change obligations: advance notice, approval before the window, and an emergency
change's retrospective approval; with the approval arithmetic they share (which approvals
count, one per person, how many are required).

People are compared by e-mail, case-insensitively and without surrounding spaces.
"""

from __future__ import annotations

from datetime import datetime

from opsledger.calendar import BusinessCalendar
from opsledger.model.policy import ChangeTypePolicy, Policy
from opsledger.model.records import Approval, Change
from opsledger.obligations.verdict import State, Verdict, decide
from opsledger.timeutil import format_duration as dur
from opsledger.timeutil import format_timestamp as ts

#: statuses at which a change is expected to carry its approvals
APPROVED_OR_LATER = frozenset(
    {"approved", "scheduled", "implemented", "failed", "rolled-back", "closed"}
)


#: statuses at which a change was carried out
CARRIED_OUT = frozenset({"implemented", "failed", "rolled-back", "closed"})


def ended(chg: Change) -> str | None:
    """How the change ended, as its status and its ``implementation.outcome`` say together:
    ``failed`` or ``rolled-back`` when either says so (a rolled-back change whose outcome
    reads ``successful`` is rolled back: CHG-OUTCOME reports the contradiction), else the
    outcome of a change carried out (``successful``, ``partial``); None when not carried
    out, or carried out with no outcome. The change success rate, PRB-FIX, the monthly
    report's change outcomes and the problem pages read this one answer."""
    for bad in ("failed", "rolled-back"):
        if chg.status == bad or chg.outcome == bad:
            return bad
    if chg.status in CARRIED_OUT and chg.outcome is not None:
        return chg.outcome  # successful, or partial
    return None


def person(email: str | None) -> str:
    """An e-mail address as compared: stripped and case-folded ("" when missing)."""
    return (email or "").strip().casefold()


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def type_policy(policy: Policy, chg: Change) -> ChangeTypePolicy | None:
    return policy.change_types.get(chg.type or "")


def required_approvals(policy: Policy, tp: ChangeTypePolicy, chg: Change) -> int:
    """The larger of the type's ``approvals_required`` and the risk's ``risk_approvals``."""
    return max(tp.approvals_required, policy.risk_approvals.get(chg.risk or "", 0))


def not_counted(
    policy: Policy, tp: ChangeTypePolicy, chg: Change, a: Approval, as_of: datetime
) -> str | None:
    """Why an approval entry does not count towards the change's approvals, or None (an
    approval dated after now, ``as_of``, has not been given yet)."""
    if a.decision != "approved":
        return f"decision is {a.decision or 'missing'}"
    if not person(a.by):
        return "no approver named"
    if not a.role:
        return "no role"
    if a.role not in tp.approver_roles:
        return f"role {a.role} may not approve {chg.type} changes"
    if person(a.by) not in policy.approvers.get(a.role, frozenset()):
        return f"not listed in approvers.{a.role}"
    if a.at is not None and a.at > as_of:
        return f"dated {ts(a.at)}, after now ({ts(as_of)})"
    return None


def valid_approvals(
    policy: Policy, tp: ChangeTypePolicy, chg: Change, as_of: datetime
) -> list[Approval]:
    """Approvals that count: approved, by an allowed person in an allowed role, not dated
    after now."""
    return [a for a in chg.approvals if not_counted(policy, tp, chg, a, as_of) is None]


def earliest_per_person(approvals: list[Approval]) -> list[Approval]:
    """One approval per person (their earliest with a time), sorted by time."""
    first: dict[str, Approval] = {}
    for a in approvals:
        if a.at is None:
            continue
        key = person(a.by)
        if key not in first or a.at < (first[key].at or a.at):
            first[key] = a
    return sorted(first.values(), key=lambda a: (a.at, a.index))


def notice(chg: Change, policy: Policy, as_of: datetime) -> Verdict | None:
    """Stakeholders notified at least ``notify_before`` ahead of ``window.start`` (by the
    earliest notification). Types with ``notify_before: 0m`` need no notice; draft and
    cancelled changes are not judged."""
    tp = type_policy(policy, chg)
    start = chg.window_start
    if (
        tp is None
        or tp.notify_before.total_seconds() <= 0
        or start is None
        or chg.status in {"draft", "cancelled"}
    ):
        return None
    due = start - tp.notify_before
    need = f"{chg.type} changes need notice {dur(tp.notify_before)} before the window"
    sent = [n for n in chg.notifications if n.at is not None]
    first = min(sent, key=lambda n: (n.at, n.index), default=None)
    done = first.at if first is not None else None
    state = decide(done, due, as_of)
    if first is None or done is None:
        detail = f"no stakeholder notification recorded; {need} (by {ts(due)})"
        return Verdict(
            "advance notice",
            state,
            due,
            start,
            None,
            tp.notify_before,
            ("notifications",),
            None,
            detail,
        )
    when = (
        f"{dur(start - done)} before the window"
        if done <= start
        else f"{dur(done - start)} after the window started"
    )
    detail = f"first notification sent {when}; {need} (by {ts(due)})"
    return Verdict(
        "advance notice",
        state,
        due,
        start,
        done,
        tp.notify_before,
        ("notifications", first.index, "at"),
        first.index,
        detail,
    )


def approval_before_window(chg: Change, policy: Policy, as_of: datetime) -> Verdict | None:
    """For types with ``approved_before_window``, once approved or later: the required
    number of valid approvals all given no later than ``window.start`` (an approval without
    a time is given the benefit of the doubt here; CHG-APPROVAL and SCHEMA judge it)."""
    tp = type_policy(policy, chg)
    start = chg.window_start
    if (
        tp is None
        or not tp.approved_before_window
        or tp.approvals_required <= 0
        or start is None
        or chg.status not in APPROVED_OR_LATER
    ):
        return None
    required = required_approvals(policy, tp, chg)
    valid = valid_approvals(policy, tp, chg, as_of)
    timed = earliest_per_person(valid)
    in_time = [a for a in timed if a.at is not None and a.at <= start]
    untimed = {person(a.by) for a in valid if a.at is None} - {person(a.by) for a in timed}
    need = f"{chg.type} changes need {plural(required, 'approval')} before the window"
    if len(in_time) + len(untimed) >= required:
        last = max((a.at for a in in_time[:required] if a.at is not None), default=None)
        detail = f"{len(in_time) + len(untimed)} of {required} required approvals before the window"
        return Verdict(
            "approval before the window",
            "met",
            start,
            None,
            last,
            None,
            ("approvals",),
            None,
            detail,
        )
    late = [a for a in timed if a.at is not None and a.at > start]
    if late:
        first = late[0]
        assert first.at is not None
        detail = (
            f"approved by {first.by} at {ts(first.at)}, {dur(first.at - start)} after the "
            f"window started at {ts(start)}; {need} ({len(in_time)} in time)"
        )
        return Verdict(
            "approval before the window",
            "late",
            start,
            None,
            first.at,
            None,
            ("approvals", first.index, "at"),
            first.index,
            detail,
        )
    state: State = "missing" if as_of > start else "pending"
    detail = f"window {'started' if state == 'missing' else 'starts'} at {ts(start)} with " + (
        f"{len(in_time)} of {required} required approvals; {need}"
    )
    return Verdict(
        "approval before the window",
        state,
        start,
        None,
        None,
        None,
        ("window", "start"),
        None,
        detail,
    )


def retrospective_start(chg: Change) -> tuple[datetime, str] | None:
    """When an emergency change's retrospective-approval clock starts, and what that was."""
    if chg.implementation_started_at is not None:
        return chg.implementation_started_at, "implementation start"
    if chg.window_start is not None:
        return chg.window_start, "window start"
    return None


def retrospective_deadline(
    chg: Change, tp: ChangeTypePolicy, calendar: BusinessCalendar
) -> datetime | None:
    """The end of the type's retrospective-approval time for ``chg`` (None: no such time)."""
    days = tp.retrospective_approval_within_business_days
    start = retrospective_start(chg)
    if days is None or start is None:
        return None
    return calendar.deadline(start[0], days)


def retrospective_approval(
    chg: Change, policy: Policy, calendar: BusinessCalendar, as_of: datetime
) -> Verdict | None:
    """An emergency change approved (validly) by the end of the
    ``retrospective_approval_within_business_days``-th business day after its
    implementation started (or its window, while the implementation is not recorded).
    Without a valid approval, missing once the deadline has passed, unless a valid approval
    has no time (``unverified``: SCHEMA and CHG-APPROVAL judge it)."""
    tp = policy.change_types.get("emergency")
    if chg.type != "emergency" or chg.status == "cancelled" or tp is None:
        return None
    days = tp.retrospective_approval_within_business_days
    began = retrospective_start(chg)
    due = retrospective_deadline(chg, tp, calendar)
    if days is None or began is None or due is None:
        return None
    limit = (
        f"the deadline {ts(due)} ({plural(days, 'business day')} after {began[1]} {ts(began[0])})"
    )
    valid = valid_approvals(policy, tp, chg, as_of)
    timed = earliest_per_person(valid)
    name = "retrospective approval"
    in_time = [a for a in timed if a.at is not None and a.at <= due]
    if in_time:
        a = in_time[0]
        detail = f"approved by {a.by} at {ts(a.at or due)}, within {limit}"
        return Verdict(
            name, "met", due, began[0], a.at, None, ("approvals", a.index, "at"), a.index, detail
        )
    if timed:
        first = timed[0]
        assert first.at is not None
        detail = f"retrospective approval by {first.by} at {ts(first.at)} is after {limit}"
        return Verdict(
            name,
            "late",
            due,
            began[0],
            first.at,
            None,
            ("approvals", first.index, "at"),
            first.index,
            detail,
        )
    if any(a.at is None for a in valid):
        detail = f"an approval has no time: whether it met {limit} cannot be verified"
        return Verdict(name, "unverified", due, began[0], None, None, ("approvals",), None, detail)
    state: State = "missing" if as_of > due else "pending"
    detail = (
        f"no valid retrospective approval {'by' if state == 'missing' else 'yet; due by'} {limit}"
    )
    return Verdict(name, state, due, began[0], None, None, ("approvals",), None, detail)
