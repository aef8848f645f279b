"""Incident obligations: acknowledgement, bridge, initial notification, update cadence,
restoration and resolution times, and the PIR due date.

Each function decides one obligation of one incident from the record and the policy and
returns a :class:`~opsledger.obligations.verdict.Verdict` (``None`` when the obligation
does not apply: no clock for the priority, a field the import lacked, a priority that needs
no bridge…). Times are aware UTC datetimes; "exactly on the deadline" is met.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from opsledger.calendar import BusinessCalendar
from opsledger.model.policy import Policy, PriorityPolicy
from opsledger.model.records import Incident, Notification, Pir
from opsledger.obligations.verdict import Cadence, Gap, State, Verdict, decide
from opsledger.timeutil import format_duration as dur
from opsledger.timeutil import format_timestamp as ts

RESOLVED = frozenset({"resolved", "closed"})


def clock(policy: Policy, inc: Incident) -> PriorityPolicy | None:
    """The policy's clocks for the incident's priority (None: priority not in policy)."""
    return policy.priorities.get(inc.priority or "")


@dataclass(frozen=True)
class _Clock:
    """A "within the policy's allowance of detection" obligation."""

    name: str  # plain words: "acknowledgement"
    field: str  # the incident's timestamp that meets it
    allowance: str  # the PriorityPolicy attribute holding the limit
    past: str  # how the event reads: "acknowledged"
    verb: str = "allows"

    def __call__(self, inc: Incident, policy: Policy, as_of: datetime) -> Verdict | None:
        p = clock(policy, inc)
        limit: timedelta | None = getattr(p, self.allowance) if p is not None else None
        start = inc.detected_at
        if limit is None or start is None or self.field in inc.import_gaps:
            return None
        done: datetime | None = getattr(inc, self.field)
        due = start + limit
        state = decide(done, due, as_of)
        allows = f"{inc.priority} {self.verb} {dur(limit)}"
        if done is not None:
            detail = f"{self.past} {dur(done - start)} after detection; {allows}"
        elif state == "missing":
            detail = f"not {self.past} {dur(as_of - start)} after detection; {allows}"
        else:
            detail = f"{self.name} due by {ts(due)}; {allows}"
        return Verdict(self.name, state, due, start, done, limit, (self.field,), None, detail)


#: a person acknowledged the incident within ``acknowledge_within`` of detection
acknowledgement = _Clock("acknowledgement", "acknowledged_at", "acknowledge_within", "acknowledged")
#: for priorities with ``bridge_within``: the major-incident bridge opened within it
bridge = _Clock("bridge", "bridge_opened_at", "bridge_within", "bridge opened", "requires")
#: service restored (``mitigated_at``) within ``restore_within`` of detection
restoration = _Clock("restoration", "mitigated_at", "restore_within", "restored")
#: the fault fixed (``resolved_at``) within ``resolve_within`` of detection: the SLA
resolution = _Clock("resolution", "resolved_at", "resolve_within", "resolved")


def counted_initial(notifications: Iterable[Notification]) -> Notification | None:
    """The notification that counts as the initial one: the earliest of kind ``initial``,
    else the earliest of any kind (ties: the first listed)."""
    sent = [n for n in notifications if n.at is not None]
    initial = [n for n in sent if n.kind == "initial"] or sent
    return min(initial, key=lambda n: (n.at, n.index), default=None)


def notification_applies(inc: Incident, policy: Policy) -> bool:
    p = clock(policy, inc)
    return (
        p is not None
        and p.notification_required
        and inc.detected_at is not None
        and "notifications" not in inc.import_gaps
    )


def initial_notification(inc: Incident, policy: Policy, as_of: datetime) -> Verdict | None:
    """The initial notification went out within ``initial_notification_within``."""
    p = clock(policy, inc)
    if p is None or not notification_applies(inc, policy):
        return None
    start = inc.detected_at
    assert start is not None
    limit = p.initial_notification_within
    due = start + limit
    first = counted_initial(inc.notifications)
    done = first.at if first is not None else None
    state = decide(done, due, as_of)
    requires = f"{inc.priority} requires {dur(limit)}"
    if first is not None and done is not None:
        kind = (
            "initial notification"
            if first.kind == "initial"
            else f"first notification (none of kind initial; this one {first.kind or 'untyped'})"
        )
        detail = f"{kind} sent {dur(done - start)} after detection; {requires}"
        path: tuple[str | int, ...] = ("notifications", first.index, "at")
        item: int | None = first.index
    elif state == "missing":
        detail = (
            f"no notification recorded; {inc.priority} requires one within {dur(limit)} "
            "of detection"
        )
        path, item = ("notifications",), None
    else:
        detail = f"no notification yet; due by {ts(due)} ({requires})"
        path, item = ("notifications",), None
    return Verdict("initial notification", state, due, start, done, limit, path, item, detail)


def update_cadence(inc: Incident, policy: Policy, as_of: datetime) -> Cadence | None:
    """No gap longer than ``update_every`` between notifications, from the first one until
    resolution (or now while unresolved); with no notification at all, the silence from
    detection is the gap. Not applicable when a resolved incident has no ``resolved_at``."""
    p = clock(policy, inc)
    if p is None or not notification_applies(inc, policy):
        return None
    sent = sorted((n for n in inc.notifications if n.at is not None), key=lambda n: (n.at, n.index))
    if inc.resolved_at is not None:
        end, until = inc.resolved_at, "resolution"
    elif inc.status in RESOLVED:
        return None
    else:
        end, until = as_of, "now"
    during = [n for n in sent if n.at is not None and n.at <= end]
    limit = p.update_every
    gaps: list[Gap] = []
    for before, after in itertools.pairwise(during):
        assert before.at is not None and after.at is not None
        gaps.append(
            Gap(
                before.at,
                after.at,
                "next update",
                after.at - before.at <= limit,
                after.index,
                before.index,
                ("notifications", after.index, "at"),
            )
        )
    if not during:
        assert inc.detected_at is not None
        silent = end - inc.detected_at
        gaps.append(
            Gap(inc.detected_at, end, until, silent <= limit, None, None, ("notifications",))
        )
    else:
        last = during[-1]
        assert last.at is not None
        gaps.append(
            Gap(
                last.at,
                end,
                until,
                end - last.at <= limit,
                None,
                last.index,
                ("notifications", last.index, "at"),
            )
        )
    over = [g for g in gaps if not g.ok]
    state: State = "late" if over else "met"
    every = f"{inc.priority} requires an update every {dur(limit)}"
    if over:
        longest = max(over, key=lambda g: g.length)
        detail = (
            f"{len(over)} gap{'s' if len(over) != 1 else ''} over the cadence, the longest "
            f"{dur(longest.length)} before {longest.until}; {every}"
        )
    else:
        so_far = " so far" if until == "now" else ""
        detail = f"no gap over {dur(limit)}{so_far}; {every}"
    return Cadence(state, limit, tuple(gaps), detail)


def pirs_by_incident(pirs: Mapping[str, Pir]) -> dict[str, dict[str, Pir]]:
    """The PIRs by the incident each names (PIR ID -> PIR): built once for a ledger, so
    finding an incident's PIRs does not walk every PIR (:func:`reviews_of`)."""
    found: dict[str, dict[str, Pir]] = {}
    for p in pirs.values():
        if p.incident is not None:
            found.setdefault(p.incident, {})[p.id] = p
    return found


def reviews_of(
    inc: Incident, pirs: Mapping[str, Pir], naming: Mapping[str, Mapping[str, Pir]]
) -> list[Pir]:
    """The PIRs of an incident: the one it names in ``pir`` first, then those naming it
    (``naming``: :func:`pirs_by_incident` of ``pirs``), in ID order."""
    named = pirs.get(inc.pir or "")
    found = naming.get(inc.id, {})
    rest = [found[k] for k in sorted(found) if named is None or k != named.id]
    return [named, *rest] if named is not None else rest


def pir_due(
    inc: Incident,
    policy: Policy,
    calendar: BusinessCalendar,
    as_of: datetime,
    reviews: list[Pir],
    approved_landed: datetime | None,
    unknown: str = "approval not committed on the branch yet",
) -> Verdict | None:
    """An approved PIR by the end of the ``pir_due_business_days``-th business day after
    resolution, for priorities that require one.

    ``reviews`` are the incident's PIRs in the working tree (:func:`reviews_of`);
    ``approved_landed`` is when one of them (or the PIR the incident names, even if its file
    is gone) became ``approved`` on the branch in the run still holding at ``as_of``
    (:func:`opsledger.history.derive.status_since`): git history, the trusted time, decides
    met or late; a review set back, deleted or unreadable since holds no approval. A PIR
    approved in the working tree whose approval git cannot date (history unavailable,
    imported, not committed yet) is ``unverified`` for the reason ``unknown``.
    """
    p = clock(policy, inc)
    if (
        p is None
        or not p.pir_required
        or p.pir_due_business_days is None
        or inc.resolved_at is None
        or inc.status not in RESOLVED
        or "pir" in inc.import_gaps
    ):
        return None
    days = p.pir_due_business_days
    due = calendar.deadline(inc.resolved_at, days)
    approved = [r for r in reviews if r.status == "approved"]
    allows = f"{days} business days after resolution"
    if approved_landed is not None and approved_landed > as_of:
        # approved on the branch only after "now" (--as-of): not approved yet then, as the
        # KPI counts it (one verdict, whatever comes later)
        state: State = "missing" if as_of > due else "pending"
        when = "was due" if state == "missing" else "due"
        detail = (
            f"no PIR approved on the branch by {ts(as_of)} (--as-of); an approved PIR {when} "
            f"by {ts(due)} ({allows})"
        )
        return Verdict("PIR", state, due, inc.resolved_at, None, None, ("pir",), None, detail)
    if approved_landed is not None:
        state = "met" if approved_landed <= due else "late"
        detail = f"PIR approved on the branch {ts(approved_landed)}; due by {ts(due)} ({allows})"
    elif not approved:
        state = "missing" if as_of > due else "pending"
        named = reviews[0] if reviews else None
        have = f"PIR {named.id} is {named.status}" if named else "no PIR"
        when = "was due" if state == "missing" else "due"
        detail = f"{have}; an approved PIR {when} by {ts(due)} ({allows})"
        return Verdict("PIR", state, due, inc.resolved_at, None, None, ("pir",), None, detail)
    else:
        pir = approved[0]
        detail = f"PIR {pir.id} is approved; when cannot be verified ({unknown}); due by {ts(due)}"
        return Verdict(
            "PIR", "unverified", due, inc.resolved_at, None, None, ("pir",), None, detail
        )
    return Verdict(
        "PIR", state, due, inc.resolved_at, approved_landed, None, ("pir",), None, detail
    )
