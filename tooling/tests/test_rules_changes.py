"""CHG-* rules: a failing, a passing and a boundary case each, with exact positions."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from opsledger.audit import AuditOptions, run_audit
from opsledger.calendar import BusinessCalendar
from opsledger.findings import Finding
from opsledger.loading import Document
from opsledger.model.ledger import Ledger, load_ledger
from opsledger.model.records import Change
from opsledger.rules.base import Context
from opsledger.rules.changes import ChgCollision
from opsledger.timeutil import format_timestamp as ts
from opsledger.timeutil import parse_timestamp

from conftest import Repo, audit_rule

PATH = "records/changes/CHG-2026-0107.yaml"
OTHER = "records/changes/CHG-2026-0108.yaml"

# A high-risk normal change that passes every change rule. Line numbers matter to the tests
# below. Boundaries on purpose: the second approval is exactly at window.start and the
# notification exactly notify_before (24h) ahead of it.
CHG = """\
id: CHG-2026-0107
title: Raise the orders-db connection pool to 120 and add a saturation alert
type: normal
risk: high
status: implemented
services: [orders-db, storefront]
requested_by: lena.fischer@example.com
implementer: marco.rossi@example.com
description: Raise max_connections on orders-db from 60 to 120 and the pgbouncer pool to match.
justification: The pool was exhausted in INC-2026-0042; peak usage is now 55 of 60 connections.
impact: Connections drop for about 5 seconds while pgbouncer reloads; checkout retries absorb it.
window:
  start: 2026-03-10T21:00:00Z
  end: 2026-03-10T23:00:00Z
testing:
  summary: Load test at twice peak traffic on staging with the new pool; p99 stayed under 80 ms.
  evidence:
    - https://ci.example.com/orders-db/load-test/runs/4411
rollback:
  plan: Set max_connections back to 60 with the pool-size playbook and reload pgbouncer.
  trigger: Checkout error rate above 1% or replication lag above 30 seconds.
  tested: true
  estimated_duration: 15m
approvals:
  - by: priya.shah@example.com
    role: cab
    at: 2026-03-09T10:00:00Z
    decision: approved
  - by: omar.haddad@example.com
    role: service-owner
    at: 2026-03-10T21:00:00Z
    decision: approved
notifications:
  - at: 2026-03-09T21:00:00Z
    audience: [customer-support, storefront-team]
    channel: "slack:#changes"
implementation:
  started_at: 2026-03-10T21:05:00Z
  completed_at: 2026-03-10T22:10:00Z
  outcome: successful
  validation: Pool usage peaked at 61% in the 22:00 batch and checkout p99 was unchanged.
"""

APPROVALS = CHG[CHG.index("approvals:\n") : CHG.index("notifications:\n")]
NOTIFICATIONS = CHG[CHG.index("notifications:\n") : CHG.index("implementation:\n")]
IMPLEMENTATION = CHG[CHG.index("implementation:\n") :]

# An emergency change implemented on Friday 2026-03-06; two business days later is the end
# of Tuesday 2026-03-10 in Europe/London (GMT in March): 2026-03-10T23:59:59.999999Z.
EMERGENCY = (
    CHG.replace(APPROVALS, "")
    .replace("type: normal", "type: emergency\nrelated_incident: INC-2026-0042")
    .replace("risk: high", "risk: medium")
    .replace("2026-03-10T21:00:00Z", "2026-03-06T01:30:00Z")
    .replace("2026-03-10T23:00:00Z", "2026-03-06T03:00:00Z")
    .replace("2026-03-10T21:05:00Z", "2026-03-06T02:00:00Z")
    .replace("2026-03-10T22:10:00Z", "2026-03-06T02:40:00Z")
)

RETRO_APPROVAL = """\
approvals:
  - by: priya.shah@example.com
    role: emergency-cab
    at: {at}
    decision: approved
"""


def write(repo: Repo, text: str = CHG, path: str = PATH) -> None:
    repo.write(path, text, dedent=False)


def edit(old: str, new: str, text: str = CHG) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def audit_all(repo: Repo, as_of: str = "2026-06-01T00:00:00Z") -> list[Finding]:
    ledger = load_ledger(repo.root)
    return run_audit(ledger, AuditOptions(as_of=parse_timestamp(as_of), select=("CHG",)))


RULES = [
    "CHG-ROLLBACK",
    "CHG-TESTING",
    "CHG-IMPACT",
    "CHG-APPROVAL",
    "CHG-SOD",
    "CHG-APPROVED-BEFORE",
    "CHG-NOTICE",
    "CHG-FREEZE",
    "CHG-COLLISION",
    "CHG-EMERGENCY",
    "CHG-OUTCOME",
]


@pytest.mark.parametrize("rule", [*RULES, "SCHEMA"])
def test_clean_change_passes_every_change_rule(repo: Repo, rule: str) -> None:
    write(repo)
    assert audit_rule(repo, rule) == []


def test_rules_are_registered_in_spec_order() -> None:
    from opsledger.rules import RULES as REGISTRY

    ids = [r.id for r in REGISTRY if r.id.startswith("CHG-")]
    assert ids == RULES
    for rule in REGISTRY:
        if rule.id.startswith("CHG-"):
            assert rule.kinds == ("change",)
            assert set(rule.doc_sections()) == {
                "What it checks",
                "Why auditors care",
                "Failing example",
                "Passing example",
                "Policy settings",
            }, rule.id


class TestRollback:
    @pytest.mark.parametrize("plan", ["rollback if needed", "TBD", "Revert if needed."])
    def test_placeholder_plan(self, repo: Repo, plan: str) -> None:
        write(
            repo,
            edit(
                "plan: Set max_connections back to 60 with the pool-size playbook and reload "
                "pgbouncer.",
                f"plan: {plan}",
            ),
        )
        hits = audit_rule(repo, "CHG-ROLLBACK")
        assert [(h.line, h.column) for h in hits] == [(20, 9)]
        assert hits[0].message == f"rollback plan is a placeholder ({plan!r})"

    def test_one_word_plan_is_too_short(self, repo: Repo) -> None:
        write(
            repo,
            edit(
                "plan: Set max_connections back to 60 with the pool-size playbook and reload "
                "pgbouncer.",
                "plan: revert",
            ),
        )
        hits = audit_rule(repo, "CHG-ROLLBACK")
        assert [(h.line, h.column) for h in hits] == [(20, 9)]
        assert hits[0].message.startswith("rollback plan is too short to be specific (1 words")

    def test_high_risk_rollback_not_tested(self, repo: Repo) -> None:
        write(repo, edit("tested: true", "tested: false"))
        hits = audit_rule(repo, "CHG-ROLLBACK")
        assert [(h.line, h.column) for h in hits] == [(22, 11)]
        assert hits[0].message == (
            "high-risk change with an untested rollback (rollback.tested is false)"
        )

    def test_medium_risk_rollback_need_not_be_tested(self, repo: Repo) -> None:
        write(repo, edit("risk: high", "risk: medium", edit("tested: true", "tested: false")))
        assert audit_rule(repo, "CHG-ROLLBACK") == []

    def test_missing_rollback(self, repo: Repo) -> None:
        start, end = CHG.index("rollback:\n"), CHG.index("approvals:\n")
        write(repo, CHG[:start] + CHG[end:])
        hits = audit_rule(repo, "CHG-ROLLBACK")
        assert [(h.line, h.column, h.message) for h in hits] == [
            (1, 1, "high-risk change with an untested rollback (rollback.tested is missing)"),
            (1, 1, "rollback plan is missing"),
        ]


class TestTesting:
    def test_vague_summary(self, repo: Repo) -> None:
        write(
            repo,
            edit(
                "summary: Load test at twice peak traffic on staging with the new pool; p99 "
                "stayed under 80 ms.",
                "summary: tested",
            ),
        )
        hits = audit_rule(repo, "CHG-TESTING")
        assert [(h.line, h.column) for h in hits] == [(16, 12)]
        assert hits[0].message.startswith("testing summary is too short to be specific")

    def test_no_evidence(self, repo: Repo) -> None:
        write(
            repo,
            edit("  evidence:\n    - https://ci.example.com/orders-db/load-test/runs/4411\n", ""),
        )
        hits = audit_rule(repo, "CHG-TESTING")
        assert [(h.line, h.column) for h in hits] == [(16, 3)]  # the testing mapping
        assert hits[0].message == (
            "normal change without testing evidence (testing.evidence is empty or missing)"
        )

    def test_empty_evidence_list(self, repo: Repo) -> None:
        write(
            repo,
            edit(
                "  evidence:\n    - https://ci.example.com/orders-db/load-test/runs/4411\n",
                "  evidence: []\n",
            ),
        )
        assert [(h.line, h.column) for h in audit_rule(repo, "CHG-TESTING")] == [(17, 13)]

    def test_standard_change_needs_no_testing(self, repo: Repo) -> None:
        start, end = CHG.index("testing:\n"), CHG.index("rollback:\n")
        write(repo, edit("type: normal", "type: standard", CHG[:start] + CHG[end:]))
        assert audit_rule(repo, "CHG-TESTING") == []


class TestImpact:
    @pytest.mark.parametrize("impact", ["n/a", "TBD", "As usual."])
    def test_placeholder_impact(self, repo: Repo, impact: str) -> None:
        write(
            repo,
            edit(
                "impact: Connections drop for about 5 seconds while pgbouncer reloads; checkout "
                "retries absorb it.",
                f"impact: {impact}",
            ),
        )
        hits = audit_rule(repo, "CHG-IMPACT")
        assert [(h.line, h.column) for h in hits] == [(11, 9)]
        assert hits[0].message == f"risk and impact analysis is a placeholder ({impact!r})"

    def test_four_words_and_twenty_characters_pass(self, repo: Repo) -> None:
        write(
            repo,
            edit(
                "impact: Connections drop for about 5 seconds while pgbouncer reloads; checkout "
                "retries absorb it.",
                "impact: Checkout pauses five seconds",
            ),
        )
        assert audit_rule(repo, "CHG-IMPACT") == []


class TestApproval:
    def test_high_risk_needs_two_allowed_people(self, repo: Repo) -> None:
        write(repo, edit("role: service-owner", "role: cab"))
        hits = audit_rule(repo, "CHG-APPROVAL")
        assert [(h.line, h.column) for h in hits] == [(24, 1)]
        assert hits[0].message == (
            "1 of 2 required approvals are valid (normal change, high risk); not counted: "
            "omar.haddad@example.com as cab: not listed in approvers.cab"
        )

    def test_role_not_allowed_for_the_type(self, repo: Repo) -> None:
        write(repo, edit("role: cab", "role: emergency-cab"))
        hits = audit_rule(repo, "CHG-APPROVAL")
        assert [h.message for h in hits] == [
            "1 of 2 required approvals are valid (normal change, high risk); not counted: "
            "priya.shah@example.com as emergency-cab: role emergency-cab may not approve "
            "normal changes"
        ]

    def test_one_person_counts_once_whatever_the_case(self, repo: Repo) -> None:
        write(
            repo,
            edit(
                "  - by: omar.haddad@example.com\n    role: service-owner",
                "  - by: Priya.Shah@Example.com\n    role: cab",
            ),
        )
        hits = audit_rule(repo, "CHG-APPROVAL")
        assert [h.message for h in hits] == [
            "1 of 2 required approvals are valid (normal change, high risk); not counted: "
            "Priya.Shah@Example.com as cab: already counted"
        ]

    def test_medium_risk_needs_one(self, repo: Repo) -> None:
        second = APPROVALS[APPROVALS.index("  - by: omar") :]
        write(repo, edit("risk: high", "risk: medium", edit(second, "")))
        assert audit_rule(repo, "CHG-APPROVAL") == []
        write(repo, edit(second, ""))
        assert [h.message for h in audit_rule(repo, "CHG-APPROVAL")] == [
            "1 of 2 required approvals are valid (normal change, high risk)"
        ]

    def test_rejection(self, repo: Repo) -> None:
        write(
            repo,
            edit(
                "    at: 2026-03-10T21:00:00Z\n    decision: approved",
                "    at: 2026-03-10T21:00:00Z\n    decision: rejected",
            ),
        )
        hits = audit_rule(repo, "CHG-APPROVAL")
        assert [(h.line, h.column, h.message) for h in hits] == [
            (24, 1, "1 of 2 required approvals are valid (normal change, high risk)"),
            (
                32,
                15,
                "rejected by omar.haddad@example.com at 2026-03-10T21:00:00Z but the change is "
                "implemented",
            ),
        ]

    def test_rejection_followed_by_approval_of_the_same_person(self, repo: Repo) -> None:
        rejected = (
            "  - by: omar.haddad@example.com\n    role: service-owner\n"
            "    at: 2026-03-08T10:00:00Z\n    decision: rejected\n"
        )
        write(repo, edit("notifications:\n", rejected + "notifications:\n"))
        assert audit_rule(repo, "CHG-APPROVAL") == []

    @pytest.mark.parametrize("status", ["draft", "requested", "cancelled"])
    def test_not_yet_expected_to_be_approved(self, repo: Repo, status: str) -> None:
        text = edit("status: implemented", f"status: {status}", CHG.replace(APPROVALS, ""))
        write(repo, text.replace(IMPLEMENTATION, ""))
        assert audit_rule(repo, "CHG-APPROVAL") == []

    def test_standard_change_needs_no_approval(self, repo: Repo) -> None:
        write(repo, edit("type: normal", "type: standard", CHG.replace(APPROVALS, "")))
        assert audit_rule(repo, "CHG-APPROVAL") == []

    def test_emergency_judged_after_the_retrospective_deadline(self, repo: Repo) -> None:
        write(repo, EMERGENCY)
        assert audit_rule(repo, "CHG-APPROVAL", as_of="2026-03-10T23:59:59Z") == []
        hits = audit_rule(repo, "CHG-APPROVAL", as_of="2026-03-11T00:00:00Z")
        assert [(h.line, h.column, h.message) for h in hits] == [
            (1, 1, "0 of 1 required approvals are valid (emergency change)")
        ]

    def test_emergency_with_its_approvals_judged_at_once(self, repo: Repo) -> None:
        approval = RETRO_APPROVAL.format(at="2026-03-06T09:00:00Z").replace(
            "priya.shah", "tom.becker"
        )
        write(repo, edit("notifications:\n", approval + "notifications:\n", EMERGENCY))
        hits = audit_rule(repo, "CHG-APPROVAL", as_of="2026-03-06T10:00:00Z")
        assert [h.message for h in hits] == [
            "0 of 1 required approvals are valid (emergency change); not counted: "
            "tom.becker@example.com as emergency-cab: not listed in approvers.emergency-cab"
        ]


class TestSod:
    def test_implementer_approves(self, repo: Repo) -> None:
        write(repo, edit("  - by: omar.haddad@example.com", "  - by: Marco.Rossi@Example.com"))
        hits = audit_rule(repo, "CHG-SOD")
        assert [(h.line, h.column) for h in hits] == [(29, 9)]
        assert hits[0].message == (
            "Marco.Rossi@Example.com is the change's implementer and cannot also approve it"
        )

    def test_requester_rejecting_is_flagged_too(self, repo: Repo) -> None:
        text = edit("  - by: priya.shah@example.com", "  - by: ' lena.fischer@example.com'")
        write(
            repo,
            edit(
                "    at: 2026-03-09T10:00:00Z\n    decision: approved",
                "    at: 2026-03-09T10:00:00Z\n    decision: rejected",
                text,
            ),
        )
        hits = audit_rule(repo, "CHG-SOD")
        assert [(h.line, h.column) for h in hits] == [(25, 9)]
        assert "is the change's requester and cannot" in hits[0].message

    def test_requester_who_also_implements(self, repo: Repo) -> None:
        text = edit("implementer: marco.rossi@example.com", "implementer: lena.fischer@example.com")
        write(
            repo, edit("  - by: omar.haddad@example.com", "  - by: lena.fischer@example.com", text)
        )
        hits = audit_rule(repo, "CHG-SOD")
        assert [h.message for h in hits] == [
            "lena.fischer@example.com is the change's requester and implementer and cannot "
            "also approve it"
        ]


class TestApprovedBefore:
    def test_approval_one_second_after_the_window_started(self, repo: Repo) -> None:
        write(
            repo,
            edit("    at: 2026-03-10T21:00:00Z\n", "    at: 2026-03-10T21:00:01Z\n"),
        )
        hits = audit_rule(repo, "CHG-APPROVED-BEFORE")
        assert [(h.line, h.column) for h in hits] == [(31, 9)]
        assert hits[0].message == (
            "approved by omar.haddad@example.com at 2026-03-10T21:00:01Z, 1s after the window "
            "started at 2026-03-10T21:00:00Z; normal changes need 2 approvals before the "
            "window (1 in time)"
        )

    def test_approval_exactly_at_the_window_start_passes(self, repo: Repo) -> None:
        write(repo)  # omar approved at 21:00:00Z, the window start
        assert audit_rule(repo, "CHG-APPROVED-BEFORE") == []

    def test_window_started_without_approvals(self, repo: Repo) -> None:
        text = edit("status: implemented", "status: scheduled", CHG.replace(APPROVALS, ""))
        write(repo, text.replace(IMPLEMENTATION, ""))
        assert audit_rule(repo, "CHG-APPROVED-BEFORE", as_of="2026-03-10T21:00:00Z") == []
        hits = audit_rule(repo, "CHG-APPROVED-BEFORE", as_of="2026-03-10T21:00:01Z")
        assert [(h.line, h.column) for h in hits] == [(13, 10)]
        assert hits[0].message == (
            "window started at 2026-03-10T21:00:00Z with 0 of 2 required approvals; normal "
            "changes need 2 approvals before the window"
        )

    def test_invalid_approvals_do_not_count(self, repo: Repo) -> None:
        write(repo, edit("role: service-owner", "role: cab"))  # omar is not in approvers.cab
        hits = audit_rule(repo, "CHG-APPROVED-BEFORE")
        assert [(h.line, h.column) for h in hits] == [(13, 10)]
        assert "with 1 of 2 required approvals" in hits[0].message

    def test_emergency_changes_are_approved_afterwards(self, repo: Repo) -> None:
        write(
            repo,
            edit(
                "notifications:\n",
                RETRO_APPROVAL.format(at="2026-03-09T09:00:00Z") + "notifications:\n",
                EMERGENCY,
            ),
        )
        assert audit_rule(repo, "CHG-APPROVED-BEFORE") == []


class TestNotice:
    def test_notice_one_second_short(self, repo: Repo) -> None:
        write(repo, edit("  - at: 2026-03-09T21:00:00Z", "  - at: 2026-03-09T21:00:01Z"))
        hits = audit_rule(repo, "CHG-NOTICE")
        assert [(h.line, h.column) for h in hits] == [(34, 9)]
        assert hits[0].message == (
            "first notification sent 23h 59m before the window; normal changes need notice "
            "1d before the window (by 2026-03-09T21:00:00Z)"
        )

    def test_notice_exactly_notify_before_ahead_passes(self, repo: Repo) -> None:
        write(repo)
        assert audit_rule(repo, "CHG-NOTICE") == []

    def test_notice_after_the_window_started(self, repo: Repo) -> None:
        write(repo, edit("  - at: 2026-03-09T21:00:00Z", "  - at: 2026-03-10T22:00:00Z"))
        hits = audit_rule(repo, "CHG-NOTICE")
        assert hits[0].message.startswith("first notification sent 1h 00m after the window started")

    def test_no_notification_once_the_notice_moment_passed(self, repo: Repo) -> None:
        write(repo, CHG.replace(NOTIFICATIONS, ""))
        assert audit_rule(repo, "CHG-NOTICE", as_of="2026-03-09T21:00:00Z") == []
        hits = audit_rule(repo, "CHG-NOTICE", as_of="2026-03-09T21:00:01Z")
        assert [(h.line, h.column) for h in hits] == [(1, 1)]
        assert hits[0].message == (
            "no stakeholder notification recorded; normal changes need notice 1d before the "
            "window (by 2026-03-09T21:00:00Z)"
        )

    def test_zero_notify_before_needs_no_notice(self, repo: Repo) -> None:
        write(repo, EMERGENCY.replace(NOTIFICATIONS, ""))  # emergency: notify_before 0m
        assert audit_rule(repo, "CHG-NOTICE") == []

    @pytest.mark.parametrize("status", ["draft", "cancelled"])
    def test_draft_and_cancelled_changes_are_not_checked(self, repo: Repo, status: str) -> None:
        text = edit("status: implemented", f"status: {status}", CHG.replace(NOTIFICATIONS, ""))
        write(repo, text.replace(IMPLEMENTATION, ""))
        assert audit_rule(repo, "CHG-NOTICE") == []


def in_freeze(start: str, end: str, text: str = CHG) -> str:
    return text.replace("2026-03-10T21:00:00Z", start, 1).replace("2026-03-10T23:00:00Z", end, 1)


class TestFreeze:
    def test_window_inside_the_year_end_freeze(self, repo: Repo) -> None:
        write(repo, in_freeze("2026-12-18T17:00:00Z", "2026-12-18T19:00:00Z"))
        hits = audit_rule(repo, "CHG-FREEZE")
        assert [(h.line, h.column) for h in hits] == [(12, 1)]
        assert hits[0].message == (
            "window 2026-12-18T17:00:00Z to 2026-12-18T19:00:00Z overlaps freeze window "
            "'Year-end trading freeze' (2026-12-18T18:00:00Z to 2027-01-04T08:00:00Z) "
            "without a freeze_exception"
        )

    @pytest.mark.parametrize(
        ("start", "end"),
        [
            ("2026-12-18T16:00:00Z", "2026-12-18T18:00:00Z"),  # ends as the freeze starts
            ("2027-01-04T08:00:00Z", "2027-01-04T10:00:00Z"),  # starts as the freeze ends
        ],
    )
    def test_touching_the_freeze_is_no_overlap(self, repo: Repo, start: str, end: str) -> None:
        write(repo, in_freeze(start, end))
        assert audit_rule(repo, "CHG-FREEZE") == []

    def test_freeze_exception(self, repo: Repo) -> None:
        text = in_freeze("2026-12-18T17:00:00Z", "2026-12-18T19:00:00Z")
        text += (
            "freeze_exception:\n  approved_by: priya.shah@example.com\n"
            "  reason: Pool exhaustion would otherwise recur during the year-end peak.\n"
        )
        write(repo, text)
        assert audit_rule(repo, "CHG-FREEZE") == []

    def test_incomplete_freeze_exception(self, repo: Repo) -> None:
        text = in_freeze("2026-12-18T17:00:00Z", "2026-12-18T19:00:00Z")
        write(repo, text + "freeze_exception:\n  approved_by: priya.shah@example.com\n")
        hits = audit_rule(repo, "CHG-FREEZE")
        assert hits[0].message.endswith(
            ") with an incomplete freeze_exception (it needs approved_by and reason)"
        )

    def test_freeze_limited_to_services(self, repo: Repo) -> None:
        policy = repo.root / "policy.yaml"
        policy.write_text(
            policy.read_text().replace(
                '    end: "2027-01-04T08:00:00Z"\n',
                '    end: "2027-01-04T08:00:00Z"\n    services: [storefront]\n',
            )
        )
        text = in_freeze("2026-12-20T10:00:00Z", "2026-12-20T11:00:00Z")
        write(repo, text.replace("services: [orders-db, storefront]", "services: [orders-db]"))
        assert audit_rule(repo, "CHG-FREEZE") == []
        write(repo, text)
        hits = audit_rule(repo, "CHG-FREEZE")
        assert hits[0].message.endswith(") on storefront without a freeze_exception")

    def test_cancelled_change_is_not_checked(self, repo: Repo) -> None:
        text = in_freeze("2026-12-18T17:00:00Z", "2026-12-18T19:00:00Z")
        write(repo, edit("status: implemented", "status: cancelled", text))
        assert audit_rule(repo, "CHG-FREEZE") == []


OTHER_CHG = """\
id: CHG-2026-0108
title: Vacuum and reindex the orders table
type: normal
risk: low
status: scheduled
services: [payments, orders-db]
window:
  start: {start}
  end: {end}
"""


class TestCollision:
    def test_overlapping_windows_on_one_service(self, repo: Repo) -> None:
        write(repo)
        write(
            repo, OTHER_CHG.format(start="2026-03-10T22:59:59Z", end="2026-03-11T01:00:00Z"), OTHER
        )
        hits = audit_rule(repo, "CHG-COLLISION")
        assert [(h.path, h.line, h.column, h.severity) for h in hits] == [
            (PATH, 6, 12, "warning"),
            (OTHER, 6, 22, "warning"),
        ]
        assert hits[0].message == (
            "window overlaps CHG-2026-0108 (2026-03-10T22:59:59Z to 2026-03-11T01:00:00Z) "
            "on orders-db"
        )
        assert hits[1].message == (
            "window overlaps CHG-2026-0107 (2026-03-10T21:00:00Z to 2026-03-10T23:00:00Z) "
            "on orders-db"
        )

    def test_back_to_back_windows_pass(self, repo: Repo) -> None:
        write(repo)
        write(
            repo, OTHER_CHG.format(start="2026-03-10T23:00:00Z", end="2026-03-11T01:00:00Z"), OTHER
        )
        assert audit_rule(repo, "CHG-COLLISION") == []

    def test_other_services_or_cancelled_changes_pass(self, repo: Repo) -> None:
        write(repo)
        other = OTHER_CHG.format(start="2026-03-10T22:00:00Z", end="2026-03-11T01:00:00Z")
        write(repo, other.replace("[payments, orders-db]", "[payments]"), OTHER)
        assert audit_rule(repo, "CHG-COLLISION") == []
        write(repo, other.replace("status: scheduled", "status: cancelled"), OTHER)
        assert audit_rule(repo, "CHG-COLLISION") == []

    def test_a_long_window_collides_with_each_short_one_inside_it(self, repo: Repo) -> None:
        ledger = load_ledger(repo.root)
        base = datetime(2026, 1, 1, tzinfo=UTC)
        add(ledger, "CHG-2026-0001", "orders-db", base, base + timedelta(hours=6))
        for n in (2, 3, 4):  # back to back, each inside the long window
            start = base + timedelta(hours=n - 2)
            add(ledger, f"CHG-2026-000{n}", "orders-db", start, start + timedelta(hours=1))
        ctx = Context(ledger, base, BusinessCalendar.of(ledger.policy))
        pairs = sorted((f.record, f.message.split()[2]) for f in ChgCollision().check(ctx))
        assert pairs == [
            ("CHG-2026-0001", "CHG-2026-0002"),
            ("CHG-2026-0001", "CHG-2026-0003"),
            ("CHG-2026-0001", "CHG-2026-0004"),
            ("CHG-2026-0002", "CHG-2026-0001"),
            ("CHG-2026-0003", "CHG-2026-0001"),
            ("CHG-2026-0004", "CHG-2026-0001"),
        ]

    def test_ten_thousand_changes_sweep_quickly(self, repo: Repo) -> None:
        # 10,000 changes on 20 services; per service, each window overlaps only the next one.
        ledger = load_ledger(repo.root)
        base = datetime(2026, 1, 1, tzinfo=UTC)
        for i in range(10_000):
            start = base + timedelta(hours=2 * (i // 20))
            end = start + timedelta(hours=2, minutes=1)
            add(ledger, f"CHG-2026-{i:05d}", f"svc-{i % 20}", start, end)
        ctx = Context(ledger, base, BusinessCalendar.of(ledger.policy))
        began = time.perf_counter()
        findings = list(ChgCollision().check(ctx))
        assert time.perf_counter() - began < 5
        assert len(findings) == 2 * 20 * (500 - 1)


def add(ledger: Ledger, cid: str, service: str, start: datetime, end: datetime) -> None:
    """A change built in memory (no file): enough for the collision sweep."""
    data = {
        "status": "scheduled",
        "services": [service],
        "window": {"start": ts(start), "end": ts(end)},
    }
    ledger.changes[cid] = Change.build(cid, f"records/changes/{cid}.yaml", Document(data))


class TestEmergency:
    def test_approval_on_the_last_business_day_after_a_weekend_passes(self, repo: Repo) -> None:
        approval = RETRO_APPROVAL.format(at="2026-03-10T23:59:59Z")
        write(repo, edit("notifications:\n", approval + "notifications:\n", EMERGENCY))
        assert audit_rule(repo, "CHG-EMERGENCY") == []

    def test_late_retrospective_approval(self, repo: Repo) -> None:
        approval = RETRO_APPROVAL.format(at="2026-03-11T00:00:00Z")
        text = edit("notifications:\n", approval + "notifications:\n", EMERGENCY)
        write(repo, text)
        hits = audit_rule(repo, "CHG-EMERGENCY")
        line = text.splitlines().index("    at: 2026-03-11T00:00:00Z") + 1
        assert [(h.line, h.column) for h in hits] == [(line, 9)]
        assert hits[0].message == (
            "retrospective approval by priya.shah@example.com at 2026-03-11T00:00:00Z is "
            "after the deadline 2026-03-10T23:59:59Z (2 business days after implementation "
            "start 2026-03-06T02:00:00Z)"
        )

    def test_no_approval_once_the_deadline_passed(self, repo: Repo) -> None:
        write(repo, EMERGENCY)
        assert audit_rule(repo, "CHG-EMERGENCY", as_of="2026-03-10T23:59:59Z") == []
        hits = audit_rule(repo, "CHG-EMERGENCY", as_of="2026-03-11T00:00:00Z")
        assert [(h.line, h.column) for h in hits] == [(1, 1)]
        assert hits[0].message == (
            "no valid retrospective approval by the deadline 2026-03-10T23:59:59Z "
            "(2 business days after implementation start 2026-03-06T02:00:00Z)"
        )

    def test_clock_starts_at_the_window_without_an_implementation(self, repo: Repo) -> None:
        text = edit("status: implemented", "status: scheduled", EMERGENCY)
        write(repo, text[: text.index("implementation:\n")])
        hits = audit_rule(repo, "CHG-EMERGENCY", as_of="2026-03-11T00:00:00Z")
        assert hits[0].message.endswith("after window start 2026-03-06T01:30:00Z)")

    def test_approver_not_allowed_does_not_count(self, repo: Repo) -> None:
        approval = RETRO_APPROVAL.format(at="2026-03-09T09:00:00Z").replace(
            "priya.shah", "tom.becker"
        )
        write(repo, edit("notifications:\n", approval + "notifications:\n", EMERGENCY))
        hits = audit_rule(repo, "CHG-EMERGENCY")
        assert [h.message.split(" by ")[0] for h in hits] == ["no valid retrospective approval"]

    def test_missing_related_incident(self, repo: Repo) -> None:
        approval = RETRO_APPROVAL.format(at="2026-03-09T09:00:00Z")
        text = edit("notifications:\n", approval + "notifications:\n", EMERGENCY)
        write(repo, edit("related_incident: INC-2026-0042\n", "", text))
        hits = audit_rule(repo, "CHG-EMERGENCY")
        assert [(h.line, h.column, h.message) for h in hits] == [
            (
                1,
                1,
                "emergency change does not name the incident it responds to "
                "(related_incident is missing)",
            )
        ]


class TestOutcome:
    def test_outcome_contradicts_status(self, repo: Repo) -> None:
        write(repo, edit("outcome: successful", "outcome: failed"))
        hits = audit_rule(repo, "CHG-OUTCOME")
        assert [(h.line, h.column) for h in hits] == [(40, 12)]
        assert hits[0].message == (
            "status is implemented but implementation.outcome is failed (expected successful "
            "or partial)"
        )

    @pytest.mark.parametrize(
        ("status", "outcome"),
        [
            ("implemented", "partial"),
            ("failed", "failed"),
            ("rolled-back", "rolled-back"),
        ],
    )
    def test_consistent_outcomes_pass(self, repo: Repo, status: str, outcome: str) -> None:
        text = edit("status: implemented", f"status: {status}")
        write(repo, edit("outcome: successful", f"outcome: {outcome}", text))
        assert audit_rule(repo, "CHG-OUTCOME") == []

    def test_missing_completion_and_vague_validation(self, repo: Repo) -> None:
        text = edit("  completed_at: 2026-03-10T22:10:00Z\n", "")
        write(
            repo,
            edit(
                "validation: Pool usage peaked at 61% in the 22:00 batch and checkout p99 was "
                "unchanged.",
                "validation: ok",
                text,
            ),
        )
        hits = audit_rule(repo, "CHG-OUTCOME")
        assert [(h.line, h.column, h.message.split(" (")[0]) for h in hits] == [
            (38, 3, "status is implemented but implementation.completed_at is missing"),
            (40, 15, "post-change validation is too short to be specific"),
        ]

    def test_missing_implementation(self, repo: Repo) -> None:
        write(repo, edit("status: implemented", "status: failed", CHG.replace(IMPLEMENTATION, "")))
        hits = audit_rule(repo, "CHG-OUTCOME")
        assert [h.message for h in hits] == [
            "post-change validation is missing",
            "status is failed but implementation.completed_at is missing",
            "status is failed but implementation.outcome is missing",
        ]

    def test_not_yet_implemented_passes(self, repo: Repo) -> None:
        text = edit("status: implemented", "status: scheduled", CHG.replace(IMPLEMENTATION, ""))
        write(repo, text)
        assert audit_rule(repo, "CHG-OUTCOME") == []


BROKEN = {
    # required sections missing altogether
    "CHG-2026-0201": """\
id: CHG-2026-0201
type: emergency
risk: high
status: implemented
""",
    # every structured field of the wrong type
    "CHG-2026-0202": """\
id: CHG-2026-0202
type: normal
risk: [high]
status: closed
services: 5
requested_by: 7
window: soon
testing: yes
rollback: [1, 2]
approvals: approved
notifications: [1, {at: nope}]
implementation: done
freeze_exception: granted
""",
    # half-filled entries and a half-open window
    "CHG-2026-0203": """\
id: CHG-2026-0203
type: normal
risk: medium
status: rolled-back
services: [orders-db, orders-db]
window: {start: 2026-12-20T10:00:00Z}
approvals: [{decision: rejected}, {by: priya.shah@example.com}, {role: cab}, 3]
notifications: [{audience: [x]}]
implementation: {outcome: 12}
""",
    # end before start, an unknown type and risk
    "CHG-2026-0204": """\
id: CHG-2026-0204
type: experimental
risk: extreme
status: approved
services: [orders-db]
window: {start: 2026-12-20T12:00:00Z, end: 2026-12-20T10:00:00Z}
approvals: [{by: priya.shah@example.com, role: cab, at: 2026-12-21T00:00:00Z, decision: approved}]
""",
    # not a mapping at all
    "CHG-2026-0205": "- just\n- a list\n",
}


def test_partially_invalid_records_do_not_crash_any_rule(repo: Repo) -> None:
    write(repo)
    for cid, text in BROKEN.items():
        write(repo, text, f"records/changes/{cid}.yaml")
    findings = audit_all(repo)
    rules = {f.rule for f in findings}
    assert {"CHG-ROLLBACK", "CHG-TESTING", "CHG-IMPACT", "CHG-EMERGENCY", "CHG-OUTCOME"} <= rules
    assert all(f.line >= 1 and f.column >= 1 and f.fix for f in findings)
    assert not [f for f in findings if f.record == "CHG-2026-0107"]


def test_a_decision_dated_after_now_is_a_finding_and_does_not_count(repo: Repo) -> None:
    """The second approval dated after --as-of: reported at its ``at``, and the change
    lacks its second valid approval (it has not been given yet)."""
    write(repo, edit("    at: 2026-03-10T21:00:00Z\n", "    at: 2026-07-01T09:00:00Z\n"))
    found = [f for f in audit_all(repo) if f.rule == "CHG-APPROVAL"]
    ahead = [f for f in found if f.message.startswith("approved by")]
    assert [(f.pointer, f.line) for f in ahead] == [("/approvals/1/at", 31)]
    assert "omar.haddad@example.com is dated 2026-07-01T09:00:00Z" in ahead[0].message
    [count] = [f for f in found if "required approvals" in f.message]
    assert "1 of 2 required approvals are valid" in count.message
    assert "after now (2026-06-01T00:00:00Z)" in count.message
    # the same file judged after that date: nothing is wrong with it
    assert [f for f in audit_all(repo, "2026-07-02T00:00:00Z") if f.rule == "CHG-APPROVAL"] == []
