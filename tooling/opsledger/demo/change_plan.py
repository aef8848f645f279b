"""The change calendar of the period: planned changes month by month, then emergency changes.

``plan_changes`` fills each month with 30-50 standard and normal changes (scaled), a clean
freeze exception per freeze window, and the planted freeze and collision defects.
``plan_emergencies`` cuts emergency changes inside P1/P2 incidents, between the bridge and
mitigation, when the service's calendar is free.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from opsledger.demo.catalog import Service
from opsledger.demo.change_texts import ChangeText
from opsledger.demo.changes import (
    Approval,
    Change,
    Schedule,
    implement,
    new_change,
    notice_for,
    pick_approvers,
    pick_services,
    plan_normal,
    plan_standard,
    window_start,
)
from opsledger.demo.clock import DAY, HOUR, MINUTE, between, minutes, work_time
from opsledger.demo.context import Ctx
from opsledger.demo.incidents import Incident
from opsledger.demo.policyview import Freeze
from opsledger.demo.prose import fill

_EXCEPTION = (
    "Security patch for an actively exploited vulnerability on {name}; waiting for the freeze "
    "to end would leave it exposed for two weeks."
)


def _place(
    ctx: Ctx,
    rng: random.Random,
    schedule: Schedule,
    seq: int,
    kind: str,
    services: list[Service],
    month: int,
) -> Change | None:
    lead = 10 * DAY if kind == "normal" else DAY
    for _ in range(25):
        change = new_change(ctx, rng, seq, kind, services, window_start(ctx, rng, month, kind))
        if change.start < ctx.start_dt + lead or change.end > ctx.horizon - DAY:
            continue
        if ctx.policy.in_freeze(change.keys, change.start, change.end):
            continue
        if not schedule.free(change.keys, change.start, change.end):
            continue
        planned = (
            plan_normal(ctx, rng, change) if kind == "normal" else plan_standard(ctx, rng, change)
        )
        if planned:
            schedule.reserve(change.keys, change.start, change.end)
            return change
    return None


def _in_freeze(
    ctx: Ctx, rng: random.Random, schedule: Schedule, seq: int, freeze: Freeze
) -> Change | None:
    low = max(freeze.start, ctx.start_dt + 11 * DAY)
    high = min(freeze.end, ctx.horizon - 2 * DAY) - 5 * HOUR
    for _ in range(25):
        if high <= low:
            return None
        day = between(rng, low, high).replace(hour=0, minute=0)
        start = day + timedelta(hours=rng.randint(19, 21))
        services = pick_services(ctx, rng, False)
        change = new_change(ctx, rng, seq, "normal", services, start)
        if not freeze.hits(change.keys, change.start, change.end):
            continue
        if change.end > ctx.horizon - DAY or not schedule.free(change.keys, start, change.end):
            continue
        if plan_normal(ctx, rng, change):
            schedule.reserve(change.keys, change.start, change.end)
            return change
    return None


def _collision(
    ctx: Ctx, rng: random.Random, schedule: Schedule, seq: int
) -> tuple[Change, Change] | None:
    for _ in range(40):
        month = rng.randrange(ctx.months)
        services = pick_services(ctx, rng, False)
        first = new_change(
            ctx, rng, seq, "normal", services, window_start(ctx, rng, month, "normal")
        )
        span = first.end - first.start
        overlap = min(30 * MINUTE, span / 2)
        second = new_change(ctx, rng, seq + 1, "standard", services, first.end - overlap)
        last = max(first.end, second.end)
        if first.start < ctx.start_dt + 10 * DAY or last > ctx.horizon - DAY:
            continue
        if ctx.policy.in_freeze(first.keys, first.start, last):
            continue
        if not schedule.free(first.keys, first.start, last):
            continue
        if plan_normal(ctx, rng, first) and plan_standard(ctx, rng, second):
            schedule.reserve(first.keys, first.start, last)
            return first, second
    return None


def plan_changes(ctx: Ctx) -> tuple[list[Change], Schedule]:
    """Standard and normal changes of the period with their planted defects."""
    rng = ctx.rng("changes")
    schedule = Schedule()
    changes: list[Change] = []
    for month in range(ctx.months):
        for _ in range(max(1, round(rng.randint(30, 50) * ctx.factor))):
            kind = "normal" if rng.random() < 0.52 else "standard"
            services = pick_services(ctx, rng, kind == "normal" and rng.random() < 0.08)
            change = _place(ctx, rng, schedule, len(changes), kind, services, month)
            if change is not None:
                changes.append(change)
    cab = ctx.people.approvers.get("cab", ())
    freezes = [f for f in ctx.policy.freezes if f.start < ctx.horizon and f.end > ctx.start_dt]
    for freeze in freezes:
        change = _in_freeze(ctx, rng, schedule, len(changes), freeze)
        if change is not None:
            approvers = {a.by for a in change.approvals} | {change.requester, change.implementer}
            people = [p for p in cab if p not in approvers] or [
                p for p in cab if p not in (change.requester, change.implementer)
            ]
            if people:
                change.freeze_exception = (rng.choice(people), change.say(_EXCEPTION))
                changes.append(change)
    for index in range(ctx.count(1.5, rng) if freezes else 0):
        change = _in_freeze(ctx, rng, schedule, len(changes), freezes[index % len(freezes)])
        if change is not None:
            change.defect = "CHG-FREEZE"
            change.note = "window inside a freeze window without a freeze_exception"
            changes.append(change)
    for _ in range(ctx.count(1, rng)):
        pair = _collision(ctx, rng, schedule, len(changes))
        if pair is not None:
            first, second = pair
            first.partner, second.partner = second, first
            for change in pair:
                change.defect = "CHG-COLLISION"
                changes.append(change)
    for change in changes:
        implement(ctx, rng, change)
        if change.type == "normal" and change.defect is None and rng.random() < 0.03:
            last = max(
                [a.commit_at for a in change.approvals] + [n.commit_at for n in change.notices]
            )
            if change.start - 2 * HOUR > last + HOUR:
                change.cancelled_at = work_time(
                    rng, ctx.policy.calendar, last + HOUR, change.start - 2 * HOUR
                )
                change.implementation = None
    return changes, schedule


def plan_emergencies(
    ctx: Ctx, incidents: list[Incident], schedule: Schedule, changes: list[Change]
) -> None:
    """Emergency changes for about 45% of P1/P2 incidents, appended to ``changes``."""
    rng = ctx.rng("emergency")
    for incident in sorted(incidents, key=lambda inc: inc.detected):
        if not incident.major or incident.caused_by or incident.downgrade or incident.deleted:
            continue
        if incident.commander is None or rng.random() > 0.45:
            continue
        anchor = max(incident.ack, incident.bridge or incident.ack) + 10 * MINUTE
        latest = incident.mitigated - 3 * MINUTE
        if latest - anchor < 30 * MINUTE:
            continue
        start = between(rng, anchor, latest - 20 * MINUTE)
        room = int((latest - start).total_seconds() // 60)
        end = start + minutes(rng.randint(15, max(15, min(60, room))))
        if not schedule.free([incident.service.key], start, end, timedelta(0)):
            continue
        change = _emergency(ctx, rng, len(changes), incident, start, end)
        if change is not None:
            schedule.reserve(change.keys, start, end)
            changes.append(change)


def _emergency(
    ctx: Ctx, rng: random.Random, seq: int, incident: Incident, start: datetime, end: datetime
) -> Change | None:
    assert incident.commander is not None
    service = incident.service
    action = fill(incident.scenario.emergency, service)
    text = ChangeText(
        key="emergency",
        kinds=(service.spec.kind,),
        title=action[:1].upper() + action[1:],
        description=f"Emergency change during a {incident.priority} incident on {{name}}: "
        f"{action}.",
        justification="Restores service for {users} during the incident; waiting for a planned "
        "window would extend the outage.",
        impact="Brief connection resets on {name} while the change applies; {users} are "
        "already affected by the incident.",
        rollback="Revert the configuration through the deployment tool and restart the affected "
        "pods; takes about 10 minutes.",
        trigger="Error rate on {name} rising again or no recovery within 15 minutes.",
        testing="Rehearsed on staging during the incident; the diff was reviewed by a second "
        "engineer on the bridge.",
        validation="Error rate on {name} back to baseline within 10 minutes; recovery confirmed "
        "on the bridge.",
        minutes=(15, 60),
    )
    change = new_change(ctx, rng, seq, "emergency", [service], start)
    change.text, change.end = text, end
    change.title = change.say(text.title)[:200]
    change.requester, change.implementer = incident.commander, incident.responder
    change.rollback_tested = change.risk == "high" or change.rollback_tested
    requested = max(start - minutes(rng.randint(10, 25)), incident.detected + 2 * MINUTE)
    if requested >= start:
        return None
    change.requested_at = requested
    notice_at = between(rng, requested, start - MINUTE)
    change.notices.append(notice_for(change, notice_at, notice_at + MINUTE))
    count = ctx.policy.approvals_needed("emergency", change.risk)
    chosen = pick_approvers(ctx, rng, change, ctx.policy.changes["emergency"].roles, count)
    if len(chosen) < count:
        return None
    moment = start + minutes(rng.randint(5, 120))
    for person, role in chosen:
        commit = moment + minutes(rng.randint(1, 15))
        change.approvals.append(Approval(person, role, moment, commit, person))
        moment = commit + minutes(rng.randint(5, 40))
    implement(ctx, rng, change, "successful")
    assert change.implementation is not None
    settled = max(end, incident.mitigated, change.approvals[-1].commit_at)
    change.implementation.commit_at = settled + minutes(rng.randint(15, 120))
    if ctx.policy.in_freeze(change.keys, start, end):
        ecab = [
            p
            for p in ctx.people.approvers.get("emergency-cab", ())
            if p not in (change.requester, change.implementer)
        ]
        reason = fill(
            "Emergency fix to restore {name} during a major incident; the outage could not wait "
            "for the freeze to end.",
            service,
        )
        change.freeze_exception = (ecab[0] if ecab else chosen[0][0], reason)
    change.related_incident = incident
    incident.emergency = change
    return change
