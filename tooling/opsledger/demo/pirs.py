"""Post-incident review plans for P1/P2 incidents: authors, reviews, actions and their closure.

A PIR is drafted by the incident commander within a day of resolution, goes to review, and is
approved by a reviewer who is not an author - normally within ``pir_due_business_days`` minus
one business day, about one in ten late (but still before the end of the period whenever it
was due by then). Actions get owners, due dates inside ``actions.max_due`` and are mostly done
on time; every action due before the end of the period is done by then.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from opsledger.demo.clock import DAY, HOUR, MINUTE, between, minutes, work_time
from opsledger.demo.context import Ctx
from opsledger.demo.incidents import Incident
from opsledger.demo.people import Person
from opsledger.demo.prose import fill
from opsledger.demo.scenarios import Action

GENERIC_ACTIONS = (
    Action(
        "process",
        "Add the {key} failure mode to the quarterly game-day schedule",
        "Game-day plan lists the scenario with a date and a facilitator.",
    ),
    Action(
        "process",
        "Add this incident's mitigation steps to the {name} runbook",
        "Runbook change merged and linked from the tracker item.",
    ),
    Action(
        "detective",
        "Add a one-minute synthetic check for {unit} on {name}",
        "Synthetic check visible on the service dashboard with alert routing.",
    ),
)
EXTRA_FACTORS = (
    "An on-call handover happened during the incident and part of the diagnosis was repeated.",
    "The status page template for this service was out of date and slowed the first notice.",
)


@dataclass
class Review:
    """A reviewer's decision and the commit that records it."""

    by: Person
    at: datetime
    decision: str
    commit_at: datetime


@dataclass
class PirAction:
    """A PIR action and its status changes (time, status, who)."""

    id: str
    title: str
    type: str
    owner: Person | None
    due: date
    verification: str
    tracker: str
    events: list[tuple[datetime, str, Person]] = field(default_factory=list)

    def status_at(self, moment: datetime) -> str:
        """The action's status as of ``moment``."""
        status = "open"
        for at, value, _who in self.events:
            if at <= moment:
                status = value
        return status


@dataclass
class Pir:
    """The full plan of one post-incident review."""

    incident: Incident
    authors: list[Person]
    draft_at: datetime
    in_review_at: datetime | None
    reviews: list[Review]
    root_cause: str
    factors: list[str]
    actions: list[PirAction]
    lessons: list[str]
    revision: tuple[datetime, str] | None = None
    id: str = ""
    defect: str | None = None
    note: str = ""

    @property
    def path(self) -> str:
        """Repository path of the record."""
        return f"records/pirs/{self.id}.md"

    @property
    def approved_at(self) -> datetime | None:
        """Commit time of the approving review (the last review, when it approves)."""
        if self.reviews and self.reviews[-1].decision == "approved":
            return self.reviews[-1].commit_at
        return None


def _reviewers(
    ctx: Ctx, rng: random.Random, incident: Incident, authors: list[Person]
) -> list[Person]:
    owner = incident.service.owner
    head = ctx.people.head_of_operations
    pool = [p for p in ctx.people.approvers.get("cab", ()) if p not in authors]
    first = owner if owner not in authors else (head if head not in authors else pool[0])
    chosen = [first]
    if incident.priority == "P1" or rng.random() < 0.4:
        others = [p for p in [head, *pool] if p not in authors and p != first]
        if others:
            chosen.insert(0, others[0] if incident.priority == "P1" else rng.choice(others))
    return chosen


def _approval_time(ctx: Ctx, rng: random.Random, incident: Incident, draft: datetime) -> datetime:
    cal = ctx.policy.calendar
    due_days = ctx.policy.priorities[incident.priority].pir_due_business_days
    deadline = cal.add_business_days(incident.resolved, due_days)
    latest = cal.add_business_days(incident.resolved, max(due_days - 1, 0))
    if rng.random() < 0.1:
        late = work_time(
            rng,
            cal,
            cal.add_business_days(incident.resolved, due_days + 2),
            cal.add_business_days(incident.resolved, due_days + 6),
        )
        if late <= ctx.horizon - HOUR or deadline > ctx.end_dt:
            return late
    low = draft + 20 * HOUR
    if latest <= low:
        return between(rng, draft + 2 * HOUR, max(latest, draft + 2 * HOUR))
    return work_time(rng, cal, low, latest)


def _actions(
    ctx: Ctx,
    rng: random.Random,
    incident: Incident,
    approve: datetime,
    draft: datetime,
    counter: list[int],
) -> list[PirAction]:
    scenario, service = incident.scenario, incident.service
    templates = list(scenario.actions[: rng.randint(2, 3)])
    if rng.random() < 0.6 or len(templates) < 2:
        templates.append(rng.choice(GENERIC_ACTIONS))
    team = list(ctx.people.team_engineers(service.team))
    limit = ctx.policy.max_due - 10 * DAY
    result = []
    for index, template in enumerate(templates, start=1):
        due = (approve + timedelta(days=rng.randint(10, 45))).date()
        due = min(due, (draft + limit).date())
        counter[0] += 1
        result.append(
            PirAction(
                id=f"A{index}",
                title=fill(template.title, service),
                type=template.type,
                owner=rng.choice(team),
                due=due,
                verification=fill(template.verification, service),
                tracker=f"https://tracker.example.com/browse/OPS-{counter[0]}",
            )
        )
    return result


def plan_action_events(ctx: Ctx, rng: random.Random, pir: Pir) -> None:
    """Status changes of each action after approval (done mostly before due)."""
    approve = pir.approved_at
    for action in pir.actions:
        action.events = []
        if approve is None:
            continue
        who = action.owner or pir.authors[0]
        due_end = (
            datetime.combine(action.due, datetime.min.time(), tzinfo=approve.tzinfo) + 17 * HOUR
        )
        roll = rng.random()
        if roll < 0.03:
            final, done = "wont-do", between(rng, approve + DAY, max(due_end - DAY, approve + DAY))
        elif roll < 0.15:
            final, done = "done", due_end + minutes(rng.randint(1440, 10 * 1440))
        else:
            final = "done"
            done = work_time(
                rng,
                ctx.policy.calendar,
                approve + 12 * HOUR,
                max(due_end - 12 * HOUR, approve + 13 * HOUR),
            )
        if done > ctx.horizon - HOUR and action.due <= ctx.end + DAY:
            done = between(rng, max(approve + HOUR, ctx.horizon - 3 * DAY), ctx.horizon - HOUR)
        if rng.random() < 0.5 and done - approve > 4 * HOUR:
            action.events.append(
                (between(rng, approve + HOUR, done - 2 * HOUR), "in-progress", who)
            )
        action.events.append((done, final, who))


def plan_pirs(ctx: Ctx, incidents: list[Incident]) -> list[Pir]:
    """A PIR for every P1/P2 incident that needs one, and the incident's closure after it."""
    rng = ctx.rng("pirs")
    cal = ctx.policy.calendar
    counter = [1000]
    pirs = []
    for incident in sorted(incidents, key=lambda inc: inc.detected):
        if incident.deleted or incident.downgrade or incident.commander is None:
            continue
        if not ctx.policy.priorities[incident.priority].pir_required:
            continue
        authors = [incident.commander]
        if incident.responder != incident.commander and rng.random() < 0.3:
            authors.append(incident.responder)
        draft = work_time(rng, cal, incident.resolved + HOUR, incident.resolved + 30 * HOUR)
        approve = _approval_time(ctx, rng, incident, draft)
        reviewers = _reviewers(ctx, rng, incident, authors)
        reviews: list[Review] = []
        moments = [approve]
        if len(reviewers) > 1 and approve - draft > 4 * HOUR:
            moments.insert(
                0,
                work_time(
                    rng, cal, max(draft + 3 * HOUR, approve - 2 * DAY), approve - 30 * MINUTE
                ),
            )
        for person, moment in zip(reviewers[-len(moments) :], moments, strict=True):
            reviews.append(Review(person, moment - minutes(rng.randint(1, 10)), "approved", moment))
        first_review = reviews[0].commit_at
        in_review = None
        if first_review - draft > 3 * HOUR:
            in_review = between(rng, draft + HOUR, first_review - HOUR)
        pir = Pir(
            incident=incident,
            authors=authors,
            draft_at=draft,
            in_review_at=in_review,
            reviews=reviews,
            root_cause=fill(incident.scenario.cause, incident.service),
            factors=list(incident.scenario.factors),
            actions=_actions(ctx, rng, incident, approve, draft, counter),
            lessons=_lessons(rng, incident),
        )
        if in_review is not None and first_review - in_review > 6 * HOUR and rng.random() < 0.2:
            asked = between(rng, in_review + 30 * MINUTE, first_review - 4 * HOUR)
            ask = Review(
                reviews[0].by, asked - minutes(rng.randint(1, 10)), "changes-requested", asked
            )
            pir.reviews.insert(0, ask)
            pir.revision = (
                between(rng, asked + HOUR, first_review - HOUR),
                rng.choice(EXTRA_FACTORS),
            )
        plan_action_events(ctx, rng, pir)
        incident.pir = pir
        incident.closer = incident.commander
        incident.closed = work_time(rng, cal, approve + 2 * HOUR, approve + 2 * DAY)
        pirs.append(pir)
    return pirs


def _lessons(rng: random.Random, incident: Incident) -> list[str]:
    went_well = (
        "The bridge had the right people within {n} minutes of detection.",
        "Dashboards showed the failing component quickly once the right panel was open.",
        "The workaround was shared with customer support early and reduced contacts.",
    )
    to_change = (
        "Publish the workaround to the service desk at the first notification, not later.",
        "Name a scribe on the bridge so the timeline is complete without reconstruction.",
        "Check recent changes on the service before deeper diagnosis.",
    )
    minutes_to_bridge = int(
        ((incident.bridge or incident.ack) - incident.detected).total_seconds() // 60
    )
    return [
        "What went well: " + rng.choice(went_well).format(n=max(minutes_to_bridge, 1)),
        "What to change: " + rng.choice(to_change),
    ]
