"""INC-* rules: a failing, a passing and a boundary case each, with exact positions."""

from __future__ import annotations

import pytest

from conftest import Repo, audit_rule

PATH = "records/incidents/INC-2026-0042.yaml"

# A resolved P1 that passes every incident rule. Line numbers matter to the tests below.
P1 = """\
id: INC-2026-0042
title: Checkout failing - orders-db connection pool exhausted
priority: P1
status: resolved
service: orders-db
detection: automated
source: monitoring
commander: lena.fischer@example.com
impact: About 20% of checkout attempts failed for 38 minutes; no orders were lost.
detected_at: 2026-03-04T09:12:00Z
acknowledged_at: 2026-03-04T09:17:00Z
bridge_opened_at: 2026-03-04T09:27:00Z
mitigated_at: 2026-03-04T09:50:00Z
resolved_at: 2026-03-04T10:40:00Z
pir: PIR-2026-0042
resolution: Rolled back the 09:00 deploy that halved the pool size and restarted the pods.
notifications:
  - at: 2026-03-04T09:27:00Z
    kind: initial
    audience: [customer-support, leadership]
    channel: status-page
  - at: 2026-03-04T09:57:00Z
    kind: update
    audience: [customer-support, leadership]
    channel: status-page
  - at: 2026-03-04T10:27:00Z
    kind: update
    audience: [customer-support, leadership]
    channel: status-page
  - at: 2026-03-04T10:45:00Z
    kind: resolution
    audience: [customer-support, leadership]
    channel: status-page
escalations:
  - at: 2026-03-04T09:30:00Z
    to_tier: 3
    team: database-engineering
    context: Pool exhausted on orders-db since 09:12, right after the 09:00 deploy.
    troubleshooting: Restarted two app pods and raised the pool to 80, with no change.
    impact_assessment: About 20% of checkouts failing and the share is rising.
"""

PIR = """\
---
id: PIR-2026-0042
incident: INC-2026-0042
status: approved
authors: [lena.fischer@example.com]
reviewers: [{by: priya.shah@example.com, at: 2026-03-09T15:00:00Z, decision: approved}]
root_cause: A deploy halved the connection pool size.
actions:
  - id: A1
    title: Add a saturation alert on orders-db pool usage above 80%
    type: detective
    owner: lena.fischer@example.com
    due: "2026-04-30"
    status: open
    verification: Alert fires in the staging load test.
---
"""


def write(repo: Repo, text: str = P1, pir: str | None = PIR) -> None:
    repo.write(PATH, text, dedent=False)
    if pir is not None:
        repo.write("records/pirs/PIR-2026-0042.md", pir, dedent=False)


def edit(old: str, new: str, text: str = P1) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


RULES = [
    "INC-TIMES",
    "INC-ACK",
    "INC-NOTIFY",
    "INC-CADENCE",
    "INC-BRIDGE",
    "INC-STATEMENT",
    "INC-ESCALATION",
    "INC-PIR",
]


@pytest.mark.parametrize("rule", RULES)
def test_clean_p1_passes_every_incident_rule(repo: Repo, rule: str) -> None:
    write(repo)
    assert audit_rule(repo, rule) == []


class TestTimes:
    def test_acknowledged_before_detected(self, repo: Repo) -> None:
        write(
            repo,
            edit("acknowledged_at: 2026-03-04T09:17:00Z", "acknowledged_at: 2026-03-04T09:02:00Z"),
        )
        hits = audit_rule(repo, "INC-TIMES")
        assert [(h.line, h.column) for h in hits] == [(11, 18)]
        assert "acknowledged_at 2026-03-04T09:02:00Z is before detected_at" in hits[0].message

    def test_equal_times_pass(self, repo: Repo) -> None:
        write(
            repo,
            edit("acknowledged_at: 2026-03-04T09:17:00Z", "acknowledged_at: 2026-03-04T09:12:00Z"),
        )
        assert audit_rule(repo, "INC-TIMES") == []

    def test_offsets_compare_in_utc(self, repo: Repo) -> None:
        # 10:16+01:00 is 09:16Z: after detection although the wall-clock hour is later.
        write(
            repo,
            edit(
                "acknowledged_at: 2026-03-04T09:17:00Z",
                "acknowledged_at: 2026-03-04T10:11:00+01:00",
            ),
        )
        assert [h.line for h in audit_rule(repo, "INC-TIMES")] == [11]

    def test_future_timestamp(self, repo: Repo) -> None:
        write(repo)
        hits = audit_rule(repo, "INC-TIMES", as_of="2026-03-04T10:00:00Z")
        # resolved_at and the notifications at 10:27 and 10:45
        assert {h.line for h in hits} == {14, 26, 30}
        assert all("in the future" in h.message for h in hits)

    def test_notification_before_detection(self, repo: Repo) -> None:
        write(
            repo,
            edit(
                "  - at: 2026-03-04T09:27:00Z\n    kind: initial",
                "  - at: 2026-03-04T09:00:00Z\n    kind: initial",
            ),
        )
        hits = audit_rule(repo, "INC-TIMES")
        assert [(h.line, h.column) for h in hits] == [(18, 9)]


class TestAck:
    def test_late_ack_is_a_warning(self, repo: Repo) -> None:
        write(
            repo,
            edit("acknowledged_at: 2026-03-04T09:17:00Z", "acknowledged_at: 2026-03-04T09:17:01Z"),
        )
        hits = audit_rule(repo, "INC-ACK")
        assert [(h.line, h.column, h.severity) for h in hits] == [(11, 18, "warning")]
        assert hits[0].message == "acknowledged 5m after detection; P1 allows 5m"

    def test_exactly_on_the_deadline_passes(self, repo: Repo) -> None:
        write(repo)  # 09:12 → 09:17 is exactly 5m
        assert audit_rule(repo, "INC-ACK") == []

    def test_open_and_never_acknowledged(self, repo: Repo) -> None:
        text = P1.split("acknowledged_at")[0].replace("status: resolved", "status: open")
        write(repo, text)
        hits = audit_rule(repo, "INC-ACK", as_of="2026-03-04T09:30:00Z")
        assert [(h.line, h.column) for h in hits] == [(1, 1)]
        assert "not acknowledged 18m after detection" in hits[0].message


class TestNotify:
    def test_late_initial_notification(self, repo: Repo) -> None:
        write(
            repo,
            edit(
                "  - at: 2026-03-04T09:27:00Z\n    kind: initial",
                "  - at: 2026-03-04T09:27:01Z\n    kind: initial",
            ),
        )
        hits = audit_rule(repo, "INC-NOTIFY")
        assert [(h.line, h.column) for h in hits] == [(18, 9)]
        assert "initial notification sent 15m after detection; P1 requires 15m" in hits[0].message

    def test_exactly_on_the_deadline_passes(self, repo: Repo) -> None:
        write(repo)  # 09:12 → 09:27 is exactly 15m
        assert audit_rule(repo, "INC-NOTIFY") == []

    def test_missing_notifications(self, repo: Repo) -> None:
        text = P1.split("notifications:")[0] + "escalations:" + P1.split("escalations:")[1]
        write(repo, text)
        hits = audit_rule(repo, "INC-NOTIFY")
        assert [(h.line, h.column) for h in hits] == [(1, 1)]
        assert "no notification recorded" in hits[0].message

    def test_p3_needs_no_notification(self, repo: Repo) -> None:
        text = P1.split("notifications:")[0] + "escalations:" + P1.split("escalations:")[1]
        write(repo, edit("priority: P1", "priority: P3", text))
        assert audit_rule(repo, "INC-NOTIFY") == []


class TestCadence:
    def test_gap_longer_than_update_every(self, repo: Repo) -> None:
        write(repo, edit("  - at: 2026-03-04T09:57:00Z", "  - at: 2026-03-04T09:57:01Z"))
        hits = audit_rule(repo, "INC-CADENCE")
        assert [(h.line, h.column) for h in hits] == [(22, 9)]
        assert hits[0].message.startswith("30m without an update")

    def test_exactly_update_every_passes(self, repo: Repo) -> None:
        write(repo)  # 09:27, 09:57, 10:27 and resolved 10:40
        assert audit_rule(repo, "INC-CADENCE") == []

    def test_silence_before_resolution(self, repo: Repo) -> None:
        # the last notification is at 10:45; resolved 31 minutes later
        write(repo, edit("resolved_at: 2026-03-04T10:40:00Z", "resolved_at: 2026-03-04T11:16:00Z"))
        hits = audit_rule(repo, "INC-CADENCE")
        assert [(h.line, h.column) for h in hits] == [(30, 9)]
        assert hits[0].message == (
            "31m without an update before resolution; P1 requires one every 30m"
        )

    def test_unresolved_incident_measured_to_now(self, repo: Repo) -> None:
        text = P1.replace("status: resolved", "status: mitigated")
        text = text.replace("resolved_at: 2026-03-04T10:40:00Z\n", "").replace(
            "resolution: Rolled back the 09:00 deploy that halved the pool size and restarted "
            "the pods.\n",
            "",
        )
        text = (
            text.split("  - at: 2026-03-04T10:45:00Z")[0]
            + "escalations:"
            + (text.split("escalations:")[1])
        )
        write(repo, text)
        assert audit_rule(repo, "INC-CADENCE", as_of="2026-03-04T10:57:00Z") == []
        hits = audit_rule(repo, "INC-CADENCE", as_of="2026-03-04T10:57:01Z")
        assert [h.message.split(";")[0] for h in hits] == ["30m without an update before now"]


class TestBridge:
    def test_late_bridge(self, repo: Repo) -> None:
        write(
            repo,
            edit(
                "bridge_opened_at: 2026-03-04T09:27:00Z", "bridge_opened_at: 2026-03-04T09:40:00Z"
            ),
        )
        hits = audit_rule(repo, "INC-BRIDGE")
        assert [(h.line, h.column) for h in hits] == [(12, 19)]
        assert hits[0].message == "bridge opened 28m after detection; P1 requires 15m"

    def test_exactly_on_the_deadline_passes(self, repo: Repo) -> None:
        write(repo)
        assert audit_rule(repo, "INC-BRIDGE") == []


class TestStatement:
    @pytest.mark.parametrize("placeholder", ["TBD", "n/a", "None.", "see above", "Fixed"])
    def test_placeholder_resolution(self, repo: Repo, placeholder: str) -> None:
        write(
            repo,
            edit(
                "resolution: Rolled back the 09:00 deploy that halved the pool size and "
                "restarted the pods.",
                f"resolution: {placeholder}",
            ),
        )
        hits = audit_rule(repo, "INC-STATEMENT")
        assert [(h.line, h.column) for h in hits] == [(16, 13)]
        assert "resolution statement is a placeholder" in hits[0].message

    def test_too_short_impact(self, repo: Repo) -> None:
        write(
            repo,
            edit(
                "impact: About 20% of checkout attempts failed for 38 minutes; no orders "
                "were lost.",
                "impact: checkout down",
            ),
        )
        hits = audit_rule(repo, "INC-STATEMENT")
        assert [(h.line, h.column) for h in hits] == [(9, 9)]
        assert "too short to be specific (2 words" in hits[0].message

    def test_four_words_and_twenty_characters_pass(self, repo: Repo) -> None:
        write(
            repo,
            edit(
                "impact: About 20% of checkout attempts failed for 38 minutes; no orders "
                "were lost.",
                "impact: Checkout failed for everyone",
            ),
        )
        assert audit_rule(repo, "INC-STATEMENT") == []

    def test_open_incident_needs_no_resolution(self, repo: Repo) -> None:
        write(repo, "\n".join(P1.splitlines()[:10]).replace("resolved", "open") + "\n", pir=None)
        assert audit_rule(repo, "INC-STATEMENT") == []


class TestEscalation:
    def test_missing_troubleshooting(self, repo: Repo) -> None:
        write(
            repo,
            edit(
                "    troubleshooting: Restarted two app pods and raised the pool to 80, "
                "with no change.\n",
                "",
            ),
        )
        hits = audit_rule(repo, "INC-ESCALATION")
        assert [(h.line, h.column) for h in hits] == [(35, 5)]  # the escalation's mapping
        assert hits[0].message == (
            "escalation 1 to database-engineering: troubleshooting is missing"
        )

    def test_placeholder_context(self, repo: Repo) -> None:
        write(
            repo,
            edit(
                "context: Pool exhausted on orders-db since 09:12, right after the 09:00 deploy.",
                "context: see above",
            ),
        )
        hits = audit_rule(repo, "INC-ESCALATION")
        assert [(h.line, h.column) for h in hits] == [(38, 14)]


class TestPir:
    # Resolved Wednesday 2026-03-04; P1 PIR due within 5 business days: Wed 11 March
    # (Thu 5, Fri 6, Mon 9, Tue 10, Wed 11), end of day Europe/London (GMT) = 23:59:59.999999Z.
    def test_missing_pir_after_the_deadline(self, repo: Repo) -> None:
        write(repo, pir=PIR.replace("status: approved", "status: draft"))
        hits = audit_rule(repo, "INC-PIR", as_of="2026-03-12T00:00:00Z")
        assert [(h.line, h.column) for h in hits] == [(15, 6)]
        assert hits[0].message.startswith(
            "PIR PIR-2026-0042 is draft; an approved PIR was due by 2026-03-11T23:59:59Z"
        )

    def test_before_the_deadline_passes(self, repo: Repo) -> None:
        write(repo, pir=PIR.replace("status: approved", "status: draft"))
        assert audit_rule(repo, "INC-PIR", as_of="2026-03-11T23:59:59Z") == []

    def test_deadline_skips_a_weekend_and_a_holiday(self, repo: Repo) -> None:
        # Resolved Thu 2026-04-02. Fri 3 April and Mon 6 April are holidays in the default
        # policy (Easter), so 5 business days are Tue 7 .. Mon 13 April.
        text = P1.replace("2026-03-04", "2026-04-02")
        write(repo, text, pir=PIR.replace("status: approved", "status: draft"))
        assert audit_rule(repo, "INC-PIR", as_of="2026-04-13T22:59:59Z") == []  # BST
        hits = audit_rule(repo, "INC-PIR", as_of="2026-04-13T23:00:00Z")
        assert "due by 2026-04-13T22:59:59Z" in hits[0].message

    def test_p3_needs_no_pir(self, repo: Repo) -> None:
        write(repo, edit("priority: P1", "priority: P3"), pir=None)
        assert audit_rule(repo, "INC-PIR", as_of="2026-06-01T00:00:00Z") == []
