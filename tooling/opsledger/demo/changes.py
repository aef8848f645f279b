"""Change plans: standard and normal changes on a collision-free calendar, emergency changes.

Windows never overlap on a service (``Schedule``) and stay out of freeze windows, normal
changes are requested, approved by allowed people who are neither requester nor implementer,
and announced at least ``notify_before`` ahead, all before the window starts. Emergency
changes are cut during P1/P2 incidents and approved retrospectively well inside the policy's
limit. The freeze and collision defects need their own windows, so they are planned here.
"""

from __future__ import annotations

import bisect
import random
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from opsledger.demo import change_texts as texts
from opsledger.demo.catalog import Service
from opsledger.demo.clock import (
    DAY,
    HOUR,
    MINUTE,
    add_months,
    between,
    midnight,
    minutes,
    work_time,
)
from opsledger.demo.context import Ctx
from opsledger.demo.people import Person
from opsledger.demo.prose import fill

if TYPE_CHECKING:
    from opsledger.demo.incidents import Incident

GAP = 20 * MINUTE
_OUTCOMES = (("successful", 95), ("partial", 1), ("failed", 1), ("rolled-back", 3))
_CONDITIONS = (
    "Proceed only after the nightly batch has finished.",
    "Keep the previous build available for a quick promotion until the next morning.",
    "Post the validation results in the change channel before closing the window.",
)


@dataclass
class Approval:
    """An approval entry and the commit that records it."""

    by: Person
    role: str
    at: datetime
    commit_at: datetime
    committer: Person
    conditions: str | None = None


@dataclass
class ChangeNotice:
    """A stakeholder notification and the commit that records it."""

    at: datetime
    audience: tuple[str, ...]
    channel: str
    summary: str
    commit_at: datetime


@dataclass
class Implementation:
    """What happened in the window."""

    started: datetime
    completed: datetime
    outcome: str
    validation: str
    commit_at: datetime


@dataclass
class Change:
    """The full plan of one change record."""

    seq: int
    type: str
    risk: str
    services: list[Service]
    requester: Person
    implementer: Person
    text: texts.ChangeText
    words: dict[str, str]
    title: str
    start: datetime
    end: datetime
    requested_at: datetime
    rollback_tested: bool
    approvals: list[Approval] = field(default_factory=list)
    notices: list[ChangeNotice] = field(default_factory=list)
    implementation: Implementation | None = None
    cancelled_at: datetime | None = None
    related_incident: Incident | None = None
    freeze_exception: tuple[Person, str] | None = None
    caused_incident: Incident | None = None
    rollback_defect: bool = False
    testing_defect: bool = False
    rollback_duration: str = "30m"
    evidence: list[str] = field(default_factory=list)
    partner: Change | None = None
    id: str = ""
    defect: str | None = None
    note: str = ""

    @property
    def path(self) -> str:
        """Repository path of the record."""
        return f"records/changes/{self.id[4:8]}/{self.id}.yaml"

    @property
    def keys(self) -> list[str]:
        """Service keys."""
        return [service.key for service in self.services]

    def say(self, text: str) -> str:
        """``text`` with this change's words filled in."""
        return fill(text, self.services[0], **self.words)

    def in_month(self, ctx: Ctx, month: int) -> bool:
        """True when the change was implemented in month ``month`` of the period."""
        if self.implementation is None or self.implementation.outcome != "successful":
            return False
        low = midnight(add_months(ctx.start, month))
        return low <= self.implementation.completed < midnight(add_months(ctx.start, month + 1))


class Schedule:
    """Busy windows per service; a new window must keep ``GAP`` from its neighbours."""

    def __init__(self) -> None:
        self.busy: dict[str, list[tuple[datetime, datetime]]] = {}

    def free(self, keys: list[str], start: datetime, end: datetime, gap: timedelta = GAP) -> bool:
        """True when no window on ``keys`` comes within ``gap`` of ``[start, end]``."""
        for key in keys:
            slots = self.busy.get(key, [])
            index = bisect.bisect_left(slots, (start, end))
            if index > 0 and slots[index - 1][1] + gap > start:
                return False
            if index < len(slots) and slots[index][0] < end + gap:
                return False
        return True

    def reserve(self, keys: list[str], start: datetime, end: datetime) -> None:
        """Mark ``[start, end]`` busy on ``keys``."""
        for key in keys:
            bisect.insort(self.busy.setdefault(key, []), (start, end))


def window_start(ctx: Ctx, rng: random.Random, month: int, kind: str) -> datetime:
    low = midnight(add_months(ctx.start, month))
    high = midnight(add_months(ctx.start, month + 1)) - DAY
    day = between(rng, low, high).replace(hour=0, minute=0)
    if kind == "standard":
        while day.weekday() >= 5:
            day += DAY
        return day + timedelta(hours=rng.randint(9, 15), minutes=rng.choice((0, 15, 30, 45)))
    style = rng.random()
    if style < 0.6:
        return day + timedelta(hours=rng.randint(19, 21), minutes=rng.choice((0, 30)))
    if style < 0.85:
        return day + timedelta(hours=rng.randint(6, 8), minutes=rng.choice((0, 30)))
    return day + timedelta(hours=rng.randint(10, 14), minutes=rng.choice((0, 30)))


def pick_services(ctx: Ctx, rng: random.Random, multi: bool) -> list[Service]:
    first = rng.choices(ctx.services, [4 - s.tier for s in ctx.services])[0]
    if multi:
        mates = [s for s in ctx.services if s.team == first.team and s is not first]
        if mates:
            return [first, rng.choice(mates)]
    return [first]


def pick_approvers(
    ctx: Ctx, rng: random.Random, change: Change, roles: tuple[str, ...], count: int
) -> list[tuple[Person, str]]:
    """``count`` distinct approvers from ``roles``, never the requester or implementer."""
    exclude = {change.requester, change.implementer}
    owners = {service.owner for service in change.services}
    chosen: list[tuple[Person, str]] = []
    order = list(roles)
    rng.shuffle(order)
    for _ in range(count):
        for role in order + list(roles):
            people = [p for p in ctx.people.approvers.get(role, ()) if p not in exclude]
            people = [p for p in people if p not in {c for c, _ in chosen}]
            if role == "service-owner":
                people = [p for p in people if p in owners]
            if people:
                chosen.append((rng.choice(people), role))
                if role in order:
                    order.remove(role)
                break
    return chosen


def new_change(
    ctx: Ctx, rng: random.Random, seq: int, kind: str, services: list[Service], start: datetime
) -> Change:
    """A change on ``services`` whose window starts at ``start`` (requests planned later)."""
    pool = texts.fitting(
        texts.STANDARD if kind == "standard" else texts.NORMAL, services[0].spec.kind
    )
    text = rng.choice(pool or list(texts.NORMAL[2:3]))
    duration = rng.randint(*text.minutes) // 15 * 15 or 30
    if kind == "standard":
        risk = "low" if rng.random() < 0.9 else "medium"
    elif kind == "normal":
        risk = rng.choices(("low", "medium", "high"), (40, 45, 15))[0]
    else:
        risk = "high" if rng.random() < 0.3 else "medium"
    team = ctx.people.team_engineers(services[0].team)
    requester = rng.choice(team)
    implementer = requester if kind == "standard" or rng.random() < 0.35 else rng.choice(team)
    words = texts.draw_words(rng)
    change = Change(
        seq=seq,
        type=kind,
        risk=risk,
        services=services,
        requester=requester,
        implementer=implementer,
        text=text,
        words=words,
        title="",
        start=start,
        end=start + timedelta(minutes=duration),
        requested_at=start,
        rollback_tested=risk == "high" or rng.random() < 0.5,
    )
    change.title = change.say(text.title)
    stated = re.search(r"([0-9]+) minutes", change.say(text.rollback))
    change.rollback_duration = (
        f"{stated[1]}m" if stated else rng.choice(("10m", "15m", "20m", "30m", "45m"))
    )
    build = rng.randint(1000, 9999)
    change.evidence = [f"https://ci.example.com/{services[0].key}/pipelines/{build}"]
    if rng.random() < 0.5:
        change.evidence.append(f"https://wiki.example.com/changes/test-reports/{build}")
    return change


def notice_for(change: Change, at: datetime, commit_at: datetime) -> ChangeNotice:
    """The stakeholder notification of ``change``."""
    audience = ["service-desk", f"{change.services[0].team}-team"]
    if change.services[0].tier == 1:
        audience.append("customer-support")
    lead = "Emergency change" if change.type == "emergency" else "Planned change"
    summary = (
        f"{lead} on {change.services[0].name}: {change.title}, "
        f"{change.start:%Y-%m-%d %H:%M}-{change.end:%H:%M} UTC. {change.say(change.text.impact)}"
    )
    channel = "email" if change.type != "emergency" else "slack #major-incidents"
    return ChangeNotice(at, tuple(audience), channel, summary, commit_at)


def implement(ctx: Ctx, rng: random.Random, change: Change, outcome: str | None = None) -> None:
    """Record the implementation inside the window, committed after it closes."""
    span = int((change.end - change.start).total_seconds() // 60)
    started = change.start + minutes(rng.randint(0, min(10, span // 4)))
    done = started + minutes(max(5, rng.uniform(0.4, 0.95) * (span - 10)))
    done = min(done, change.end)
    outcome = outcome or rng.choices([o for o, _ in _OUTCOMES], [w for _, w in _OUTCOMES])[0]
    validation = change.say(change.text.validation)
    if outcome == "rolled-back":
        validation = (
            "Rolled back after the trigger was met; service checks green on the previous version."
        )
    elif outcome == "failed":
        validation = (
            "Change did not complete; the system stayed on the previous version and checks "
            "are green."
        )
    elif outcome == "partial":
        validation = (
            "Applied to the first half of the hosts; remaining hosts move in a follow-up change."
        )
    commit_at = work_time(
        rng, ctx.policy.calendar, change.end + 10 * MINUTE, change.end + 16 * HOUR
    )
    change.implementation = Implementation(started, done, outcome, validation, commit_at)


def plan_normal(ctx: Ctx, rng: random.Random, change: Change) -> bool:
    """Request, approvals and notice for a normal change; False when they do not fit."""
    cal = ctx.policy.calendar
    start = change.start
    notice_at = work_time(rng, cal, start - 3 * DAY, start - 26 * HOUR)
    count = ctx.policy.approvals_needed("normal", change.risk)
    last = work_time(rng, cal, notice_at - 36 * HOUR, notice_at - HOUR)
    moments = [last]
    for _ in range(count - 1):
        moments.insert(0, work_time(rng, cal, moments[0] - DAY, moments[0] - 30 * MINUTE))
    requested = work_time(rng, cal, moments[0] - 3 * DAY, moments[0] - 2 * HOUR)
    if requested < ctx.start_dt + HOUR:
        return False
    chosen = pick_approvers(ctx, rng, change, ctx.policy.changes["normal"].roles, count)
    if len(chosen) < count:
        return False
    change.requested_at = requested
    for (person, role), moment in zip(chosen, moments, strict=True):
        conditions = rng.choice(_CONDITIONS) if rng.random() < 0.2 else None
        commit = moment + minutes(rng.randint(1, 15))
        change.approvals.append(Approval(person, role, moment, commit, person, conditions))
    change.notices.append(notice_for(change, notice_at, notice_at + minutes(rng.randint(1, 10))))
    return True


def plan_standard(ctx: Ctx, rng: random.Random, change: Change) -> bool:
    """A pre-approved change: recorded with its notice shortly before the window."""
    requested = work_time(rng, ctx.policy.calendar, change.start - 2 * DAY, change.start - HOUR)
    if requested < ctx.start_dt + HOUR:
        return False
    change.requested_at = requested
    change.notices.append(notice_for(change, requested, requested))
    return True
