"""Typed records, the policy and the Ledger."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from opsledger.errors import ConfigError
from opsledger.loading import load_text
from opsledger.model.ledger import find_root, load_ledger
from opsledger.model.records import Incident, markdown_sections
from opsledger.rules.references import load_findings
from opsledger.timeutil import format_timestamp, parse_duration, parse_timestamp

from conftest import INCIDENT, Repo


def test_timestamps_become_aware_utc() -> None:
    value = parse_timestamp("2026-03-29T03:30:00+02:00")
    assert value == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert value.tzinfo is UTC
    assert format_timestamp(value) == "2026-03-29T01:30:00Z"


def test_duration_across_a_daylight_saving_change_is_real_elapsed_time() -> None:
    # Europe/Berlin springs forward at 02:00 local on 2026-03-29: 01:30+01:00 to 03:30+02:00
    # is one hour of real time, not two.
    text = INCIDENT.replace(
        "detected_at: 2026-03-04T09:12:00Z", "detected_at: 2026-03-29T01:30:00+01:00"
    )
    text += "acknowledged_at: 2026-03-29T03:30:00+02:00\n"
    incident = Incident.build("INC-2026-0001", "x.yaml", load_text(text))
    assert incident.acknowledged_at is not None and incident.detected_at is not None
    assert incident.acknowledged_at - incident.detected_at == timedelta(hours=1)


@pytest.mark.parametrize(("text", "value"), [("15m", 15), ("4h", 240), ("2d", 2880), ("1w", 10080)])
def test_durations(text: str, value: int) -> None:
    assert parse_duration(text) == timedelta(minutes=value)


@pytest.mark.parametrize("bad", ["15", "4 h", "1y", "-2d", "2d\n"])
def test_bad_durations(bad: str) -> None:
    with pytest.raises(ValueError, match="expected a duration"):
        parse_duration(bad)


def test_invalid_record_is_still_typed_where_it_can_be() -> None:
    text = INCIDENT.replace("priority: P3", "priority: [P3]") + "acknowledged_at: soon\n"
    incident = Incident.build("INC-2026-0001", "x.yaml", load_text(text))
    assert incident.priority is None
    assert incident.acknowledged_at is None
    assert incident.service == "orders-db"
    assert incident.detected_at == datetime(2026, 3, 4, 9, 12, tzinfo=UTC)
    assert incident.position("priority") == (3, 11)


def test_markdown_sections_skip_fenced_code() -> None:
    body = "## Summary\nText.\n```\n## Not a heading\n```\n## Impact\n\n### Detail\nMore.\n"
    sections = markdown_sections(body, 10)
    assert [(s.title, s.level, s.line) for s in sections] == [
        ("Summary", 2, 10),
        ("Impact", 2, 15),
        ("Detail", 3, 17),
    ]
    assert "## Not a heading" in sections[0].text
    assert sections[1].text == ""


def test_policy_values(repo: Repo) -> None:
    policy = load_ledger(repo.root).policy
    p1 = policy.priorities["P1"]
    assert p1.acknowledge_within == timedelta(minutes=5)
    assert p1.initial_notification_within == timedelta(minutes=15)
    assert p1.update_every == timedelta(minutes=30)
    assert p1.restore_within == timedelta(hours=2)
    assert p1.resolve_within == timedelta(hours=4)
    assert (p1.pir_required, p1.pir_due_business_days) == (True, 5)
    p2 = policy.priorities["P2"]
    assert (p2.acknowledge_within, p2.resolve_within) == (
        timedelta(minutes=15),
        timedelta(hours=24),
    )
    assert p2.pir_due_business_days == 10
    assert not policy.priorities["P3"].pir_required
    assert not policy.priorities["P4"].pir_required
    normal = policy.change_types["normal"]
    assert normal.approvals_required == 1
    assert set(normal.approver_roles) == {"cab", "service-owner"}
    assert normal.notify_before == timedelta(hours=24)
    assert policy.risk_approvals["high"] == 2
    assert policy.change_types["emergency"].retrospective_approval_within_business_days == 2
    assert policy.runbook_review_every == timedelta(days=180)
    assert any(w.start.month == 12 for w in policy.freeze_windows)
    assert "improve monitoring" in policy.vague_phrases
    assert policy.business_days == frozenset(range(5))
    assert date(2026, 12, 25) in policy.holidays
    assert str(policy.timezone) == "Europe/London"


def test_unknown_timezone_is_a_configuration_error(repo: Repo) -> None:
    path = repo.root / "policy.yaml"
    path.write_text(path.read_text().replace("Europe/London", "Europe/Atlantis"))
    with pytest.raises(
        ConfigError, match=r"policy.yaml:\d+:11: unknown timezone 'Europe/Atlantis'"
    ):
        load_ledger(repo.root)


def test_ledger_collects_problems_and_records(repo: Repo) -> None:
    repo.write("records/incidents/INC-2026-0001.yaml", INCIDENT)
    repo.write("records/incidents/INC-2026-0002.yaml", INCIDENT.replace("0001", "0002") + "x: 1\n")
    repo.write("records/incidents/INC-2026-0003.yaml", "id: [\n")
    ledger = load_ledger(repo.root)
    assert sorted(ledger.incidents) == ["INC-2026-0001", "INC-2026-0002"]
    assert [(p.path, p.rule) for p in ledger.problems] == [
        ("records/incidents/INC-2026-0002.yaml", "SCHEMA"),
        ("records/incidents/INC-2026-0003.yaml", "SCHEMA"),
    ]
    assert set(ledger.services) == {"orders-db", "storefront"}
    assert ledger.services["orders-db"].tier == 1
    assert ledger.get("INC-2026-0002") is ledger.incidents["INC-2026-0002"]


def test_find_root_walks_up(repo: Repo) -> None:
    deep = repo.root / "records" / "incidents"
    assert find_root(deep) == repo.root


def test_broken_service_catalog_is_reported_not_raised(repo: Repo) -> None:
    repo.write("records/services.yaml", "- id: orders-db\n  tier: 5\n- id: orders-db\n")
    ledger = load_ledger(repo.root)
    assert ledger.service_twins == [1]  # loading records the twin; REF-ID judges it
    messages = [(p.line, p.rule, p.message) for p in load_findings(ledger)]
    assert (3, "REF-ID", "duplicate service id 'orders-db'") in messages
    assert any(rule == "SCHEMA" and "must be one of 1, 2, 3" in m for _, rule, m in messages)
