"""Change rules: CHG-ROLLBACK, CHG-TESTING, CHG-IMPACT, CHG-APPROVAL, CHG-SOD,
CHG-APPROVED-BEFORE, CHG-NOTICE, CHG-FREEZE, CHG-COLLISION, CHG-EMERGENCY, CHG-OUTCOME.

Approval rules read the change type's policy (``changes.<type>``): how many approvals, from
which roles, and ``approvers`` for the people allowed in each role. People are compared by
e-mail, case-insensitively and without surrounding spaces.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime

from opsledger.findings import Finding
from opsledger.model.policy import ChangeTypePolicy
from opsledger.model.records import Change
from opsledger.model.settings import (
    APPROVERS,
    BOOLEAN,
    CALENDAR,
    DURATION,
    FREEZE,
    INTEGER,
    LINES,
    REQUIRED,
    Setting,
)
from opsledger.obligations.changes import (
    APPROVED_OR_LATER,
    not_counted,
    person,
    required_approvals,
    retrospective_deadline,
)
from opsledger.rules.base import Context, Judging, RecordRule, Rule
from opsledger.rules.examples import Examples, File, example, overlays
from opsledger.rules.text import STATEMENTS, vagueness
from opsledger.timeutil import format_timestamp as ts

#: statuses at which the change was carried out and must record how it went
CARRIED_OUT = frozenset({"implemented", "failed", "rolled-back"})
#: implementation.outcome values consistent with each carried-out status
OUTCOMES = {
    "implemented": ("successful", "partial"),
    "failed": ("failed",),
    "rolled-back": ("rolled-back",),
}
#: change types that must record testing (SPEC §3.2)
TESTED_TYPES = frozenset({"normal", "emergency"})

APPROVALS_REQUIRED = Setting(
    "changes.<type>.approvals_required",
    INTEGER.refine(minimum=0, maximum=10),
    REQUIRED,
    "how many distinct allowed people must approve a change of the type (0: none)",
    "change_types[<type>].approvals_required",
)
APPROVER_ROLES = Setting(
    "changes.<type>.approver_roles",
    LINES.refine(uniqueItems=True),
    REQUIRED,
    "the roles (keys of approvers) whose people may approve a change of the type",
    "change_types[<type>].approver_roles",
)
RISK_APPROVALS = Setting(
    "changes.risk_approvals.<risk>",
    INTEGER.refine(minimum=0, maximum=10),
    REQUIRED,
    "the fewest approvals for a change of that risk whose type needs approval; the larger "
    "of this and approvals_required applies",
    "risk_approvals[<risk>]",
)
RETROSPECTIVE = Setting(
    "changes.<type>.retrospective_approval_within_business_days",
    INTEGER.refine(minimum=0, maximum=30),
    None,
    "for a type approved after the fact (emergency): the business days after the "
    "implementation started by which an allowed person must have approved",
    "change_types[<type>].retrospective_approval_within_business_days",
)
APPROVED_BEFORE_WINDOW = Setting(
    "changes.<type>.approved_before_window",
    BOOLEAN,
    False,
    "whether the required approvals must all be given before the window starts",
    "change_types[<type>].approved_before_window",
)
NOTIFY_BEFORE = Setting(
    "changes.<type>.notify_before",
    DURATION,
    REQUIRED,
    "how long before its window stakeholders must be notified of a change of the type "
    "(0m: no advance notice)",
    "change_types[<type>].notify_before",
)
#: what decides whether a change has its approvals
APPROVAL_SETTINGS = (APPROVALS_REQUIRED, APPROVER_ROLES, RISK_APPROVALS, APPROVERS)


def type_policy(ctx: Judging, chg: Change) -> ChangeTypePolicy | None:
    return ctx.policy.change_types.get(chg.type or "")


class ChangeRule(Rule):
    kinds = ("change",)


class ChgRollback(ChangeRule, RecordRule[Change]):
    """The change has a specific rollback plan, tested when the risk is high.

    What it checks:
      ``rollback.plan`` is present, not a placeholder (``rollback if needed``, ``TBD``…) and
      at least ``statements.min_words`` words and ``statements.min_chars`` characters long
      (a bare "revert" is too short). For ``risk: high``, ``rollback.tested`` is true.

    Why auditors care:
      A change that goes wrong is only as safe as the way back. An untested or one-word
      rollback plan is the classic finding behind long change-induced outages.
    """

    id = "CHG-ROLLBACK"
    tables = ("changes",)
    summary = "rollback plan missing, vague or (for high risk) untested"
    settings = STATEMENTS
    examples = overlays(
        "change",
        failing="""\
            risk: high
            rollback: {plan: rollback if needed, tested: false}
            """,
        passing="""\
            risk: high
            rollback:
              plan: Set max_connections back to 60 with the pool-size playbook; restart pgbouncer.
              tested: true
            """,
    )

    def judge(self, ctx: Judging, chg: Change) -> Iterator[Finding]:
        policy = ctx.policy
        why = vagueness(chg.rollback_plan, policy)
        if why:
            yield self.finding(
                chg,
                f"rollback plan {why}",
                "rollback",
                "plan",
                fix="write the concrete steps that undo the change, and how long they take",
            )
        if chg.risk == "high" and chg.rollback_tested is not True:
            state = "false" if chg.rollback_tested is False else "missing"
            yield self.finding(
                chg,
                f"high-risk change with an untested rollback (rollback.tested is {state})",
                "rollback",
                "tested",
                fix="rehearse the rollback (e.g. in staging), link the evidence and set "
                "rollback.tested: true",
            )


class ChgTesting(ChangeRule, RecordRule[Change]):
    """Normal and emergency changes record how they were tested, with evidence.

    What it checks:
      For ``type: normal`` and ``type: emergency``: ``testing.summary`` is specific (same
      heuristic as CHG-IMPACT) and ``testing.evidence`` lists at least one link or path.
      Standard changes follow a pre-approved, already tested template and are not checked.

    Why auditors care:
      "Tested" without evidence cannot be verified; auditors sample changes and ask for the
      test run behind each one.
    """

    id = "CHG-TESTING"
    tables = ("changes",)
    summary = "normal or emergency change without a testing summary or evidence"
    settings = STATEMENTS
    examples = overlays(
        "change",
        failing="""\
            type: normal
            testing: {summary: tested, evidence: []}
            """,
        passing="""\
            testing:
              summary: Load test at 2x peak on staging with the new pool size; p99 under 80 ms.
              evidence: [https://ci.example.com/orders-db/load-test/runs/4411]
            """,
    )

    def judge(self, ctx: Judging, chg: Change) -> Iterator[Finding]:
        policy = ctx.policy
        if chg.type not in TESTED_TYPES:
            return
        why = vagueness(chg.testing_summary, policy)
        if why:
            yield self.finding(
                chg,
                f"testing summary {why}",
                "testing",
                "summary",
                fix="describe what was tested, where, and the result",
            )
        if not chg.testing_evidence:
            yield self.finding(
                chg,
                f"{chg.type} change without testing evidence (testing.evidence is empty "
                "or missing)",
                "testing",
                "evidence",
                fix="list links or paths to the test runs, reports or screenshots",
            )


class ChgImpact(ChangeRule, RecordRule[Change]):
    """The risk and impact analysis is present and specific.

    What it checks:
      ``impact`` is not a placeholder (``TBD``, ``n/a``, ``none``, ``as usual``…) and has at
      least ``statements.min_words`` words and ``statements.min_chars`` characters.

    Why auditors care:
      Approvers decide on the impact analysis; "n/a" means the change was approved without
      anyone assessing what could break and for whom.
    """

    id = "CHG-IMPACT"
    tables = ("changes",)
    summary = "risk and impact analysis missing, vague or a placeholder"
    settings = STATEMENTS
    examples = overlays(
        "change",
        failing="impact: n/a",
        passing="impact: Connections drop for about 5 s while pgbouncer reloads; checkout "
        "retries absorb it.",
    )

    def judge(self, ctx: Judging, chg: Change) -> Iterator[Finding]:
        policy = ctx.policy
        why = vagueness(chg.impact, policy)
        if why:
            yield self.finding(
                chg,
                f"risk and impact analysis {why}",
                "impact",
                fix="describe what could go wrong, who would notice, and for how long",
            )


class ChgApproval(ChangeRule, RecordRule[Change]):
    """The change has the required number of approvals from allowed people, and none rejected.

    What it checks:
      For change types whose ``approvals_required`` is above zero, once the change is
      ``approved``, ``scheduled``, ``implemented``, ``failed``, ``rolled-back`` or ``closed``
      (drafts, requests and cancelled changes are not yet expected to be approved): the
      number of distinct people (e-mail compared case-insensitively) who approved in a role
      listed in the type's ``approver_roles`` and who are listed under ``approvers.<role>`` is
      at least the larger of ``approvals_required`` and ``risk_approvals.<risk>``. The
      finding says why the other entries did not count. A ``rejected`` decision is a finding
      at that entry, unless the same person approved later (a resubmitted change).

      Emergency changes are approved retrospectively: the count is judged once their
      retrospective deadline (see CHG-EMERGENCY) has passed, or earlier as soon as they
      record as many approved entries as required.

      An approval or rejection dated after now (``--as-of``) has not been given yet: it is
      a finding at its ``at`` whatever the change's status, and an approval so dated does
      not count.

    Why auditors care:
      Change approval is the central control of change management; an approval by someone
      without the authority to give it is no approval at all.
    """

    id = "CHG-APPROVAL"
    tables = ("changes",)
    summary = "change lacks the required approvals from allowed people, or was rejected"
    settings = (*APPROVAL_SETTINGS, RETROSPECTIVE)
    examples = overlays(
        "change",
        failing="""\
            type: normal
            risk: high        # risk_approvals.high: 2
            approvals:
              - {by: priya.shah@example.com, role: cab, decision: approved,
                 at: 2026-03-09T10:00:00Z}
            """,
        passing="""\
            approvals:
              - {by: priya.shah@example.com, role: cab, decision: approved,
                 at: 2026-03-09T10:00:00Z}
              - {by: omar.haddad@example.com, role: service-owner, at: 2026-03-09T11:00:00Z,
                 decision: approved}
            """,
    )

    def judge(self, ctx: Judging, chg: Change) -> Iterator[Finding]:
        policy = ctx.policy
        yield from self._future(ctx, chg)
        tp = type_policy(ctx, chg)
        if tp is None or tp.approvals_required <= 0 or chg.status not in APPROVED_OR_LATER:
            return
        yield from self._rejections(chg)
        required = required_approvals(policy, tp, chg)
        approved = [a for a in chg.approvals if a.decision == "approved"]
        deadline = retrospective_deadline(chg, tp, ctx.calendar)
        if deadline is not None and ctx.as_of <= deadline and len(approved) < required:
            return  # still within the retrospective-approval time
        counted: set[str] = set()
        reasons: list[str] = []
        for a in approved:
            why = not_counted(policy, tp, chg, a, ctx.as_of)
            if why is None and person(a.by) in counted:
                why = "already counted"
            if why is None:
                counted.add(person(a.by))
            else:
                who = a.by or f"approval {a.index + 1}"
                reasons.append(f"{who}{f' as {a.role}' if a.role else ''}: {why}")
        if len(counted) >= required:
            return
        because = f", {chg.risk} risk" if required > tp.approvals_required else ""
        detail = f"; not counted: {'; '.join(reasons)}" if reasons else ""
        yield self.finding(
            chg,
            f"{len(counted)} of {required} required approvals are valid ({chg.type} change"
            f"{because}){detail}",
            "approvals",
            key=True,
            fix=f"get approval from people listed under approvers for "
            f"{' or '.join(tp.approver_roles) or 'an allowed role'}",
        )

    def _future(self, ctx: Judging, chg: Change) -> Iterator[Finding]:
        for a in chg.approvals:
            if a.at is not None and a.at > ctx.as_of:
                yield self.finding(
                    chg,
                    f"{a.decision or 'decision'} by {a.by or 'an unnamed approver'} is dated "
                    f"{ts(a.at)}, after now ({ts(ctx.as_of)})",
                    "approvals",
                    a.index,
                    "at",
                    fix="record the time the decision was given; a decision cannot be "
                    "recorded ahead of time",
                )

    def _rejections(self, chg: Change) -> Iterator[Finding]:
        for a in chg.approvals:
            if a.decision != "rejected":
                continue
            later = any(
                b.decision == "approved"
                and person(b.by) == person(a.by)
                and a.at is not None
                and b.at is not None
                and b.at > a.at
                for b in chg.approvals
            )
            if later:
                continue
            when = f" at {ts(a.at)}" if a.at is not None else ""
            yield self.finding(
                chg,
                f"rejected by {a.by or 'an unnamed approver'}{when} but the change is {chg.status}",
                "approvals",
                a.index,
                "decision",
                fix="address the rejection and record a new approval from the same approver, "
                "or cancel the change",
            )


class ChgSod(ChangeRule, RecordRule[Change]):
    """Segregation of duties: nobody approves a change they requested or implement.

    What it checks:
      No entry of ``approvals`` (whatever its decision) is by ``requested_by`` or
      ``implementer`` (e-mail compared case-insensitively, ignoring surrounding spaces).

    Why auditors care:
      Segregation of duties is a core control in SOX, ISO 27001 and every change-management
      framework: an approval by the person doing the work is no independent review.
    """

    id = "CHG-SOD"
    tables = ("changes",)
    summary = "change approved by its requester or implementer"
    examples = overlays(
        "change",
        failing="""\
            implementer: marco.rossi@example.com
            approvals:
              - {by: Marco.Rossi@example.com, role: service-owner, at: 2026-03-09T10:00:00Z,
                 decision: approved}
            """,
        passing="""\
            approvals:
              - {by: omar.haddad@example.com, role: service-owner, at: 2026-03-09T10:00:00Z,
                 decision: approved}
            """,
    )

    def judge(self, ctx: Judging, chg: Change) -> Iterator[Finding]:
        roles = {
            "requester": person(chg.requested_by),
            "implementer": person(chg.implementer),
        }
        for a in chg.approvals:
            who = [name for name, email in roles.items() if email and email == person(a.by)]
            if not who:
                continue
            yield self.finding(
                chg,
                f"{a.by} is the change's {' and '.join(who)} and cannot also approve it",
                "approvals",
                a.index,
                "by",
                fix="have someone who neither requested nor implements the change approve it",
            )


class ChgApprovedBefore(ChangeRule, RecordRule[Change]):
    """Changes that must be approved in advance were approved before their window opened.

    What it checks:
      For change types with ``approved_before_window: true`` (``normal`` by default), once
      the change is approved or later: the required number of approvals (as in
      CHG-APPROVAL, counting only valid ones) all have ``at`` no later than ``window.start``.
      An approval exactly at the start of the window passes. The finding is at the first
      valid approval given after the window started, or at ``window.start`` when the window
      has started without enough approvals.

    Why auditors care:
      An approval given after the work started is a rubber stamp; it is the most frequent
      change-management audit finding.
    """

    id = "CHG-APPROVED-BEFORE"
    tables = ("changes",)
    summary = "change approved only after its window started"
    settings = (APPROVED_BEFORE_WINDOW, *APPROVAL_SETTINGS)
    examples = overlays(
        "change",
        failing="""\
            risk: low
            window: {start: 2026-03-10T21:00:00Z, end: 2026-03-10T23:00:00Z}
            approvals:
              - {by: priya.shah@example.com, role: cab, decision: approved,
                 at: 2026-03-11T09:00:00Z}
            """,
        passing="""\
            risk: low
            approvals:
              - {by: priya.shah@example.com, role: cab, decision: approved,
                 at: 2026-03-09T10:00:00Z}
            """,
    )

    def judge(self, ctx: Judging, chg: Change) -> Iterator[Finding]:
        v = ctx.obligations.change(chg).approval_before_window
        if v is None or not v.failed:
            return
        if v.state == "late":
            fix = (
                "approve changes before their window; if the work must start earlier, "
                "move the window or raise an emergency change"
            )
        else:
            fix = (
                "do not start a change before it is approved; record the approvals or "
                "move the window"
            )
        yield self.finding(chg, v.detail, *v.path, fix=fix)


class ChgNotice(ChangeRule, RecordRule[Change]):
    """Stakeholders were notified at least ``notify_before`` ahead of the change window.

    What it checks:
      For change types with a ``notify_before`` above zero (``normal``: 24h by default), the
      earliest entry of ``notifications`` is at or before ``window.start`` minus
      ``notify_before``; exactly on that moment passes. A change with no notification is
      flagged once that moment has passed. Draft and cancelled changes are not checked.
      ``notify_before: 0m`` means the type needs no advance notice (standard changes by
      default; emergency changes cannot wait for one) and is never flagged.

    Why auditors care:
      Support teams and customers who were not told about a change are the ones who raise
      the incident when it goes wrong; advance notice is part of every change policy.
    """

    id = "CHG-NOTICE"
    tables = ("changes",)
    summary = "stakeholders not notified far enough ahead of the change window"
    settings = (NOTIFY_BEFORE,)
    examples = overlays(
        "change",
        failing="""\
            type: normal                       # notify_before: 24h
            window: {start: 2026-03-10T21:00:00Z, end: 2026-03-10T23:00:00Z}
            notifications: [{at: 2026-03-10T18:00:00Z, audience: [support], channel: email}]
            """,
        passing="""\
            notifications: [{at: 2026-03-09T21:00:00Z, audience: [support], channel: email}]
            """,
    )

    def judge(self, ctx: Judging, chg: Change) -> Iterator[Finding]:
        v = ctx.obligations.change(chg).notice
        if v is None or not v.failed:
            return
        if v.state == "missing":
            yield self.finding(
                chg,
                v.detail,
                "notifications",
                key=True,
                fix="notify the affected teams and record it in notifications "
                "(at, audience, channel)",
            )
        else:
            yield self.finding(
                chg, v.detail, *v.path, fix="notify stakeholders earlier, or move the window"
            )


class ChgFreeze(ChangeRule, RecordRule[Change]):
    """The change window does not fall in a freeze window unless an exception was granted.

    What it checks:
      The window ``[start, end)`` overlaps no entry of ``freeze_windows`` (also ``[start,
      end)``; a window ending exactly when the freeze starts does not overlap). A freeze that
      lists ``services`` applies only to changes touching one of them. A change with a
      ``freeze_exception`` naming ``approved_by`` and a ``reason`` passes. Cancelled changes
      are not checked.

    Why auditors care:
      Freezes protect the business's busiest or most sensitive periods; a change inside one
      without a recorded exception bypasses a control the business asked for.
    """

    id = "CHG-FREEZE"
    tables = ("changes",)
    summary = "change window overlaps a freeze window without an exception"
    settings = (FREEZE,)
    examples = overlays(
        "change",
        failing="""\
            window: {start: 2026-12-20T21:00:00Z, end: 2026-12-20T23:00:00Z}   # year-end freeze
            """,
        passing="""\
            window: {start: 2026-12-20T21:00:00Z, end: 2026-12-20T23:00:00Z}
            freeze_exception:
              approved_by: priya.shah@example.com
              reason: Security fix for an actively exploited flaw; cannot wait until January.
            """,
    )

    def judge(self, ctx: Judging, chg: Change) -> Iterator[Finding]:
        freezes = ctx.policy.freeze_windows
        start, end = chg.window_start, chg.window_end
        if start is None or end is None or chg.status == "cancelled":
            return
        if person(chg.freeze_exception_by) and (chg.freeze_exception_reason or "").strip():
            return
        without = (
            "with an incomplete freeze_exception (it needs approved_by and reason)"
            if "freeze_exception" in chg.data
            else "without a freeze_exception"
        )
        for freeze in freezes:
            if not (start < freeze.end and freeze.start < end):
                continue
            shared = [s for s in freeze.services if s in chg.services]
            if freeze.services and not shared:
                continue
            on = f" on {', '.join(shared)}" if shared else ""
            yield self.finding(
                chg,
                f"window {ts(start)} to {ts(end)} overlaps freeze window {freeze.name!r} "
                f"({ts(freeze.start)} to {ts(freeze.end)}){on} {without}",
                "window",
                key=True,
                fix="move the window outside the freeze, or record freeze_exception with "
                "approved_by and reason",
            )


class ChgCollision(ChangeRule):
    """Two changes to the same service are not planned for overlapping windows.

    What it checks:
      For each service, the windows ``[start, end)`` of the changes touching it (cancelled
      changes excluded) do not overlap; windows that only touch (one ends when the next
      starts) do not collide. Each change of a colliding pair gets a finding naming the
      other change and the shared services.

    Why auditors care:
      Two simultaneous changes on one service make a failure hard to attribute and a
      rollback unsafe; change calendars exist to prevent this.
    """

    id = "CHG-COLLISION"
    severity = "warning"
    summary = "overlapping change windows on the same service"
    examples = Examples(
        example(
            File(
                "change",
                """\
                services: [orders-db]   # CHG-2026-0107 holds orders-db 21:00-23:00
                window: {start: 2026-03-10T22:00:00Z, end: 2026-03-10T23:30:00Z}
                """,
                id="CHG-2026-0108",
            )
        ),
        example(
            File(
                "change",
                """\
                services: [orders-db]
                window: {start: 2026-03-10T23:00:00Z, end: 2026-03-10T23:30:00Z}
                """,
                id="CHG-2026-0108",
            )
        ),
    )

    def check(self, ctx: Context) -> Iterator[Finding]:
        changes = ctx.ledger.changes
        by_service: dict[str, list[tuple[datetime, datetime, str]]] = defaultdict(list)
        for chg in changes.values():
            start, end = chg.window_start, chg.window_end
            if start is None or end is None or start >= end or chg.status == "cancelled":
                continue
            for service in dict.fromkeys(chg.services):
                by_service[service].append((start, end, chg.id))
        pairs: dict[tuple[str, str], list[str]] = defaultdict(list)
        for service in sorted(by_service):
            active: list[tuple[datetime, str]] = []  # heap of (end, id) still open
            for start, end, cid in sorted(by_service[service]):
                while active and active[0][0] <= start:
                    heapq.heappop(active)
                for _, open_id in active:
                    a, b = sorted((cid, open_id))
                    pairs[a, b].append(service)
                heapq.heappush(active, (end, cid))
        for (a, b), services in pairs.items():
            for this, other in ((changes[a], changes[b]), (changes[b], changes[a])):
                assert other.window_start is not None and other.window_end is not None
                yield self.finding(
                    this,
                    f"window overlaps {other.id} ({ts(other.window_start)} to "
                    f"{ts(other.window_end)}) on {', '.join(services)}",
                    "services",
                    this.services.index(services[0]),
                    fix=f"agree with the owner of {other.id} and move one of the windows",
                )


class ChgEmergency(ChangeRule, RecordRule[Change]):
    """Emergency changes name their incident and get retrospective approval in time.

    What it checks:
      For ``type: emergency`` (cancelled changes excluded): ``related_incident`` is present,
      and at least one approval with ``decision: approved`` by a person allowed for a role in
      the emergency type's ``approver_roles`` is dated no later than the end of the
      ``retrospective_approval_within_business_days``-th business day after the
      implementation started (``implementation.started_at``, or ``window.start`` while the
      implementation is not recorded). Business days and holidays come from the policy, in
      its timezone; an approval exactly at the end of that day passes. A change without such
      an approval is flagged once the deadline has passed; a late approval is flagged at the
      approval.

    Why auditors care:
      The emergency path skips the CAB; it is only acceptable when it is tied to a real
      incident and reviewed promptly afterwards, otherwise it becomes a way around approval.
    """

    id = "CHG-EMERGENCY"
    tables = ("changes",)
    summary = "emergency change without an incident or timely retrospective approval"
    settings = (RETROSPECTIVE, APPROVER_ROLES, APPROVERS, *CALENDAR)
    examples = overlays(
        "change",
        failing="""\
            type: emergency
            related_incident: INC-2026-0042
            implementation: {started_at: 2026-03-06T02:00:00Z}      # a Friday
            approvals:
              - {by: priya.shah@example.com, role: emergency-cab, decision: approved,
                 at: 2026-03-11T09:00:00Z}                          # after Tuesday
            """,
        passing="""\
            type: emergency
            related_incident: INC-2026-0042
            implementation: {started_at: 2026-03-06T02:00:00Z}
            approvals:
              - {by: priya.shah@example.com, role: emergency-cab, decision: approved,
                 at: 2026-03-10T16:00:00Z}
            """,
    )

    def judge(self, ctx: Judging, chg: Change) -> Iterator[Finding]:
        policy = ctx.policy
        tp = policy.change_types.get("emergency")
        if chg.type != "emergency" or chg.status == "cancelled":
            return
        if not (chg.related_incident or "").strip():
            yield self.finding(
                chg,
                "emergency change does not name the incident it responds to "
                "(related_incident is missing)",
                "related_incident",
                fix="add related_incident: INC-… for the incident this change fixes",
            )
        v = ctx.obligations.change(chg).retrospective_approval
        if v is None or not v.failed or tp is None:
            return
        if v.state == "late":
            yield self.finding(
                chg,
                v.detail,
                *v.path,
                fix="approve emergency changes within the policy's business days",
            )
        else:
            yield self.finding(
                chg,
                v.detail,
                "approvals",
                key=True,
                fix=f"record the retrospective approval of someone listed under approvers "
                f"for {' or '.join(tp.approver_roles) or 'an allowed role'}",
            )


class ChgOutcome(ChangeRule, RecordRule[Change]):
    """A change that was carried out records its outcome, completion and validation.

    What it checks:
      For ``status`` ``implemented``, ``failed`` or ``rolled-back``: ``implementation.outcome``
      is present and agrees with the status (implemented: ``successful`` or ``partial``;
      failed: ``failed``; rolled-back: ``rolled-back``), ``implementation.completed_at`` is
      present, and ``implementation.validation`` is specific (same heuristic as CHG-IMPACT).

    Why auditors care:
      The change success rate is computed from outcomes; a change marked implemented whose
      outcome says failed, or with no post-change validation, makes that KPI meaningless.
    """

    id = "CHG-OUTCOME"
    tables = ("changes",)
    summary = "carried-out change without a consistent outcome or post-change validation"
    settings = STATEMENTS
    examples = overlays(
        "change",
        failing="""\
            status: implemented
            implementation: {started_at: 2026-03-10T21:05:00Z, outcome: failed, validation: ok}
            """,
        passing="""\
            status: implemented
            implementation:
              started_at: 2026-03-10T21:05:00Z
              completed_at: 2026-03-10T22:10:00Z
              outcome: successful
              validation: Pool usage peaked at 61% in the 22:00 batch; checkout p99 unchanged.
            """,
    )

    def judge(self, ctx: Judging, chg: Change) -> Iterator[Finding]:
        policy = ctx.policy
        if chg.status not in CARRIED_OUT:
            return
        expected = OUTCOMES[chg.status]
        if chg.outcome is None:
            yield self.finding(
                chg,
                f"status is {chg.status} but implementation.outcome is missing",
                "implementation",
                "outcome",
                fix=f"record implementation.outcome: {' or '.join(expected)}",
            )
        elif chg.outcome not in expected:
            yield self.finding(
                chg,
                f"status is {chg.status} but implementation.outcome is {chg.outcome} "
                f"(expected {' or '.join(expected)})",
                "implementation",
                "outcome",
                fix="make the status and the outcome say the same thing",
            )
        if chg.implementation_completed_at is None:
            yield self.finding(
                chg,
                f"status is {chg.status} but implementation.completed_at is missing",
                "implementation",
                "completed_at",
                fix="record when the implementation (or the rollback) finished",
            )
        why = vagueness(chg.validation, policy)
        if why:
            yield self.finding(
                chg,
                f"post-change validation {why}",
                "implementation",
                "validation",
                fix="describe how you verified the service afterwards and what you saw",
            )


RULES: tuple[type[Rule], ...] = (
    ChgRollback,
    ChgTesting,
    ChgImpact,
    ChgApproval,
    ChgSod,
    ChgApprovedBefore,
    ChgNotice,
    ChgFreeze,
    ChgCollision,
    ChgEmergency,
    ChgOutcome,
)
