"""How each planted defect bends a clean record: eligibility and the edit, per record kind.

Each entry is ``(rule, eligible, bend)``: ``eligible`` says whether a clean record can carry
the defect without breaking any other rule (and with the defect visible at the end of the
period); ``bend`` edits the plan and returns the note for the answer key.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta

from opsledger.demo.changes import Approval, Change
from opsledger.demo.clock import DAY, HOUR, MINUTE, between, minutes, work_time
from opsledger.demo.context import Ctx
from opsledger.demo.incidents import MAJOR, Incident
from opsledger.demo.pirs import Pir, Review, plan_action_events
from opsledger.demo.prose import fill

_VAGUE = {
    "improve monitoring": "Improve monitoring of {name}",
    "investigate": "Investigate the {name} failures further",
    "monitor better": "Monitor better for {name} errors",
    "be more careful": "Be more careful when changing {name}",
    "review process": "Review process for {name} releases",
    "more testing": "Do more testing before {name} releases",
}


def incident_bends(
    ctx: Ctx,
) -> list[tuple[str, Callable[[Incident], bool], Callable[[Incident, random.Random], str]]]:
    prio = ctx.policy.priorities
    cal = ctx.policy.calendar

    def notify(i: Incident, _r: random.Random) -> str:
        i.late_initial = True
        return f"initial notification later than {prio[i.priority].initial} after detection"

    def cadence(i: Incident, _r: random.Random) -> str:
        i.cadence_gap = True
        return f"one gap between updates longer than update_every ({prio[i.priority].update})"

    def ack(i: Incident, r: random.Random) -> str:
        limit = prio[i.priority].acknowledge
        i.ack = i.detected + limit + minutes(limit.total_seconds() / 60 * r.uniform(0.3, 0.9))
        return f"acknowledged {int((i.ack - i.detected).total_seconds() // 60)} min after detection"

    def bridge(i: Incident, r: random.Random) -> str:
        limit = prio[i.priority].bridge
        limit = timedelta(minutes=30) if limit is None else limit  # 0m stays 0m
        i.bridge = i.detected + limit + minutes(r.randint(10, 40))
        late = int((i.bridge - i.detected).total_seconds() // 60)
        return f"bridge opened {late} min after detection"

    def statement(i: Incident, r: random.Random) -> str:
        i.statement_defect = r.choice(("impact", "resolution"))
        return f"placeholder {i.statement_defect} statement"

    def escalation(i: Incident, _r: random.Random) -> str:
        i.escalate, i.escalation_gap = True, True
        return "escalation without the troubleshooting performed"

    def pir_missing(i: Incident, r: random.Random) -> str:
        pir = i.pir
        assert pir is not None
        pir.reviews, pir.revision, pir.note = [], None, "never approved"
        pir.in_review_at = pir.in_review_at or pir.draft_at + DAY
        for action in pir.actions:
            action.due = max(action.due, ctx.end + timedelta(days=r.randint(5, 30)))
        plan_action_events(ctx, r, pir)
        i.closed = None
        return (
            f"{i.priority} resolved {i.resolved:%Y-%m-%d}; {pir.id} still in review, not approved"
        )

    def late_record(i: Incident, r: random.Random) -> str:
        days = ctx.policy.late_record_business_days + 2
        i.first_commit = cal.add_business_days(i.detected, days) + minutes(r.randint(0, 180))
        return f"first committed {days} business days after detection"

    def after_close(i: Incident, r: random.Random) -> str:
        assert i.closed is not None
        room = min(10 * DAY, ctx.horizon - i.closed - HOUR)
        at = between(r, i.closed + DAY, i.closed + room)
        extra = fill(
            " Updated after closure: about {n} {users} were affected, more than first reported.",
            i.service,
            n=str(r.randint(20, 400)),
        )
        i.impact_edit = (at, i.owner, i.impact + extra)
        return f"impact edited {at:%Y-%m-%d} after the record was closed"

    def span(i: Incident) -> timedelta:
        return i.resolved - i.detected

    pir_due = {p: prio[p].pir_due_business_days for p in MAJOR}
    minor = ("P3", "P4")

    def closed_early(i: Incident) -> bool:
        return i.closed is not None and i.closed < ctx.horizon - 3 * DAY

    return [
        ("INC-NOTIFY", lambda i: i.priority in MAJOR and i.downgrade is None, notify),
        (
            "INC-CADENCE",
            lambda i: (
                i.priority in MAJOR
                and i.downgrade is None
                and span(i) > 4 * prio[i.priority].update
            ),
            cadence,
        ),
        (
            "INC-ACK",
            lambda i: (
                i.priority in minor
                and not i.escalate
                and i.reopen is None
                and closed_early(i)
                and i.mitigated - i.detected > 3 * prio[i.priority].acknowledge
            ),
            ack,
        ),
        (
            "INC-BRIDGE",
            lambda i: (
                i.priority in MAJOR
                and i.emergency is None
                and i.downgrade is None
                and i.mitigated - i.detected > (prio[i.priority].bridge or HOUR) + HOUR
            ),
            bridge,
        ),
        ("INC-STATEMENT", lambda i: i.priority in minor and closed_early(i), statement),
        (
            "INC-ESCALATION",
            lambda i: i.priority == "P3" and i.mitigated - i.ack > HOUR and closed_early(i),
            escalation,
        ),
        (
            "INC-PIR",
            lambda i: (
                i.pir is not None
                and i.pir.defect is None
                and i.resolved > ctx.end_dt - 55 * DAY
                and i.pir.draft_at > ctx.end_dt - 55 * DAY
                and cal.add_business_days(i.resolved, pir_due.get(i.priority, 10) + 5) < ctx.end_dt
            ),
            pir_missing,
        ),
        (
            "GIT-LATE-RECORD",
            lambda i: (
                i.priority in minor
                and i.recurrence_of is None
                and i.detected < ctx.horizon - 14 * DAY
            ),
            late_record,
        ),
        (
            "GIT-AFTER-CLOSE",
            lambda i: i.priority in minor and closed_early(i) and i.reopen is None,
            after_close,
        ),
    ]


def change_bends(
    ctx: Ctx,
) -> list[tuple[str, Callable[[Change], bool], Callable[[Change, random.Random], str]]]:
    cal = ctx.policy.calendar
    needed = ctx.policy.approvals_needed

    def single(c: Change) -> bool:
        return (
            c.type == "normal" and c.risk != "high" and len(c.approvals) == needed("normal", c.risk)
        )

    def rollback(c: Change, _r: random.Random) -> str:
        c.rollback_defect = True
        return "rollback plan is a placeholder ('Rollback if needed.')"

    def testing(c: Change, _r: random.Random) -> str:
        c.testing_defect = True
        return "normal change with a testing summary but no evidence"

    def sod(c: Change, r: random.Random) -> str:
        current = {a.by for a in c.approvals}
        owners = [
            s.owner for s in c.services if s.owner in ctx.people.approvers.get("service-owner", ())
        ]
        candidates = [(p, "service-owner") for p in owners if p not in current]
        candidates += [(p, "cab") for p in ctx.people.approvers.get("cab", ()) if p not in current]
        person, role = candidates[0]
        at = work_time(r, cal, c.requested_at + HOUR, c.start - 27 * HOUR)
        c.approvals.append(Approval(person, role, at, at + minutes(r.randint(1, 15)), person))
        c.approvals.sort(key=lambda a: a.commit_at)
        c.implementer = person
        return f"implementer {person.email} also approved the change"

    def late_approval(c: Change, r: random.Random) -> str:
        approval = c.approvals[-1]
        span = int((c.end - c.start).total_seconds() // 60)
        approval.at = c.start + minutes(r.randint(10, max(10, min(40, span - 5))))
        approval.commit_at = approval.at + minutes(r.randint(1, 5))
        return f"approved {approval.at:%Y-%m-%d %H:%M}Z, after the window started"

    def notice(c: Change, r: random.Random) -> str:
        item = c.notices[0]
        item.at = c.start - minutes(r.randint(120, 720))
        item.commit_at = item.at + minutes(r.randint(1, 10))
        hours = int((c.start - item.at).total_seconds() // 3600)
        return f"stakeholders notified {hours} h before the window"

    def emergency(c: Change, r: random.Random) -> str:
        retro = ctx.policy.changes["emergency"].retrospective_business_days
        moment = cal.add_business_days(c.start, retro + 2) + minutes(r.randint(0, 180))
        for approval in c.approvals:
            approval.at = moment
            approval.commit_at = moment + minutes(r.randint(1, 15))
            moment = approval.commit_at + minutes(r.randint(5, 30))
        if c.implementation is not None:  # recorded once the late approval was in
            c.implementation.commit_at = moment + minutes(r.randint(10, 60))
        return f"retrospective approval {retro + 2} business days after the window"

    def provenance(c: Change, _r: random.Random) -> str:
        c.approvals[0].committer = c.requester
        return f"approval by {c.approvals[0].by.email} committed by {c.requester.email}"

    def backdated(c: Change, r: random.Random) -> str:
        approval = c.approvals[-1]
        approval.commit_at = approval.at + minutes(25 * 60 + r.randint(0, 90))
        return "approval 'at' claims a time about a day before the commit that added it"

    def emergency_ok(c: Change) -> bool:
        retro = ctx.policy.changes["emergency"].retrospective_business_days
        late = cal.add_business_days(c.start, retro + 2) + 6 * HOUR
        return c.type == "emergency" and late < ctx.horizon - DAY

    return [
        ("CHG-ROLLBACK", lambda c: c.type == "normal" and c.risk != "high", rollback),
        ("CHG-TESTING", lambda c: c.type == "normal", testing),
        ("CHG-SOD", lambda c: single(c) and c.start - c.requested_at > 30 * HOUR, sod),
        (
            "CHG-APPROVED-BEFORE",
            lambda c: single(c) and c.end - c.start >= 45 * MINUTE,
            late_approval,
        ),
        ("CHG-NOTICE", lambda c: c.type == "normal" and len(c.notices) == 1, notice),
        ("CHG-EMERGENCY", emergency_ok, emergency),
        ("GIT-PROVENANCE", lambda c: c.type == "normal" and bool(c.approvals), provenance),
        (
            "GIT-BACKDATED",
            lambda c: (
                c.type == "normal"
                and bool(c.approvals)
                and c.start - c.approvals[-1].at > 30 * HOUR
            ),
            backdated,
        ),
    ]


def pir_bends(ctx: Ctx) -> list[tuple[str, Callable[[Pir, random.Random], str]]]:
    def vague(p: Pir, _r: random.Random) -> str:
        phrase = next((ph for ph in _VAGUE if ph in ctx.policy.vague_phrases), None)
        text = _VAGUE[phrase] if phrase else "Improve monitoring of {name}"
        p.actions[0].title = fill(text, p.incident.service)
        return f"action A1 is vague: '{p.actions[0].title}'"

    def ownerless(p: Pir, _r: random.Random) -> str:
        p.actions[-1].owner = None
        return f"action {p.actions[-1].id} has no owner"

    def self_review(p: Pir, _r: random.Random) -> str:
        approved = p.approved_at
        assert approved is not None
        p.reviews = [Review(p.authors[0], approved - 5 * MINUTE, "approved", approved)]
        p.revision = None
        return f"approved only by its author {p.authors[0].email}"

    return [("PIR-VAGUE", vague), ("PIR-ACTIONS", ownerless), ("PIR-REVIEW", self_review)]
