"""Schemas: formats really enforced, conditional requirements, errors placed at the right spot."""

from __future__ import annotations

import jsonschema
import pytest

from opsledger.loading import load_text
from opsledger.schemas import SchemaProblem, SchemaSet

from conftest import INCIDENT, PROJECT_SCHEMAS

SCHEMAS = SchemaSet(PROJECT_SCHEMAS)


def check(kind: str, text: str, *, markdown: bool = False) -> list[SchemaProblem]:
    return SCHEMAS.check(kind, load_text(text, markdown=markdown))


def messages(problems: list[SchemaProblem]) -> list[str]:
    return [p.message for p in problems]


def test_format_extras_are_installed_and_date_time_is_checked() -> None:
    # jsonschema silently skips "format" without its extras and an explicit checker.
    assert "date-time" in jsonschema.FormatChecker().checkers
    assert check("incident", INCIDENT) == []
    naive = INCIDENT.replace("2026-03-04T09:12:00Z", "2026-03-04T09:12:00")
    problems = check("incident", naive)
    assert len(problems) == 1
    assert "no offset" in problems[0].message
    assert (problems[0].line, problems[0].column) == (9, 14)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("2026-03-04T25:00:00Z", "not a real date and time"),
        ("2026-02-30T10:00:00Z", "not a real date and time"),
        ("2026-03-04", "expected a timestamp"),
        ("yesterday", "expected a timestamp"),
        ("2026-03-04T09:12:00+0100", "expected a timestamp"),
    ],
)
def test_bad_timestamps(value: str, reason: str) -> None:
    problems = check("incident", INCIDENT.replace("2026-03-04T09:12:00Z", value))
    assert len(problems) == 1
    assert reason in problems[0].message


@pytest.mark.parametrize("brk", ["\\n", "\\r", "\\L", "\\P"], ids=["LF", "CR", "U+2028", "U+2029"])
def test_a_one_line_field_holds_no_line_break(brk: str) -> None:
    """A title is one line: no line feed, carriage return, nor the Unicode line and
    paragraph separators (which split a line for Python, JavaScript and many readers)."""
    title = "Orders database connection pool exhausted"
    text = INCIDENT.replace(title, f'"Orders database{brk}pool exhausted"')
    assert messages(check("incident", text)) == [
        f"{load_text(text).data['title']!r} is not valid: a single line of text"
    ]
    assert check("incident", INCIDENT.replace(title, '"Orders database\\tpool"')) == []


def test_unquoted_and_impossible_dates() -> None:
    text = (
        "id: RB-0003\ntitle: Orders DB pool\nservices: [orders-db]\n"
        "owner: lena.fischer@example.com\nlast_reviewed: 2026-02-30\n"
    )
    problems = check("runbook", text)
    assert [(p.line, p.column) for p in problems] == [(5, 16)]
    assert "not a real date" in problems[0].message
    assert check("runbook", text.replace("2026-02-30", "2026-02-28")) == []


def test_required_points_at_the_parent_mapping() -> None:
    problems = check("incident", INCIDENT.replace("service: orders-db\n", ""))
    assert messages(problems) == ["missing required property 'service'"]
    assert (problems[0].line, problems[0].column) == (1, 1)


def test_unexpected_property_points_at_the_key() -> None:
    problems = check("incident", INCIDENT + "serivce_owner: x\n")
    assert len(problems) == 1
    assert (problems[0].line, problems[0].column) == (10, 1)
    assert "unexpected property 'serivce_owner'" in problems[0].message


def test_nested_value_position_and_yaml11_boolean_surprise() -> None:
    text = INCIDENT.replace("status: open", "status: 'no'")
    problems = check("incident", text)
    assert problems[0].message.startswith("must be one of open, mitigated, resolved, closed")
    assert (problems[0].line, problems[0].column) == (4, 9)
    # a real boolean (true) where a string is expected says how to fix it
    problems = check("incident", INCIDENT.replace("status: open", "status: true"))
    assert "quote it" in problems[0].message


@pytest.mark.parametrize(
    ("edit", "missing", "why"),
    [
        (
            {
                "status: open": "status: resolved\nacknowledged_at: 2026-03-04T09:15:00Z\n"
                "mitigated_at: 2026-03-04T10:00:00Z\nresolved_at: 2026-03-04T11:00:00Z"
            },
            "resolution",
            "once status is resolved or closed",
        ),
        ({"priority: P3": "priority: P1"}, "commander", "for P1 and P2 incidents"),
        ({"priority: P3": "priority: P2"}, "bridge_opened_at", "for P1 and P2 incidents"),
        ({"status: open": "status: mitigated"}, "acknowledged_at", "once status is mitigated"),
    ],
)
def test_incident_conditional_requirements(edit: dict[str, str], missing: str, why: str) -> None:
    text = INCIDENT
    for old, new in edit.items():
        text = text.replace(old, new)
    found = messages(check("incident", text))
    assert any(m.startswith(f"missing required property '{missing}'") and why in m for m in found)


CHANGE = """\
id: CHG-2026-0107
title: Rotate the orders-db TLS certificate
type: emergency
risk: low
status: requested
services: [orders-db]
requested_by: sam.okafor@example.com
implementer: sam.okafor@example.com
description: Replace the certificate that expires on Friday with the renewed one.
justification: The current certificate expires in two days and would break checkout.
impact: Connections are re-established once; no user-visible impact expected.
window: {start: 2026-03-05T22:00:00Z, end: 2026-03-05T23:00:00Z}
testing: {summary: Rotated on staging first and ran the checkout smoke suite., evidence: []}
rollback:
  plan: Restore the previous certificate from the vault and reload PgBouncer.
  tested: true
"""


def test_emergency_change_needs_related_incident() -> None:
    found = messages(check("change", CHANGE))
    assert found == ["missing required property 'related_incident' (for emergency changes)"]
    assert check("change", CHANGE + "related_incident: INC-2026-0001\n") == []


def test_import_gaps_only_on_imported_records() -> None:
    found = messages(check("incident", INCIDENT + "import_gaps: [resolution]\n"))
    assert found == ["'import_gaps' needs 'external_id' too"]


@pytest.mark.parametrize(
    "bad_id",
    [
        '"INC-2026-0001\\n"',
        "INC-\uff12\uff10\uff12\uff16-0001",
        "../../x",
        "INC-2026-001",
        "inc-2026-0001",
    ],
    ids=["trailing-newline", "full-width-digits", "path", "short", "lower-case"],
)
def test_id_patterns_are_ascii_full_matches(bad_id: str) -> None:
    problems = check("incident", INCIDENT.replace("INC-2026-0001", bad_id, 1))
    assert len(problems) == 1
    assert (problems[0].line, problems[0].column) == (1, 5)
    assert "an incident ID like INC-2026-0042" in problems[0].message


def test_long_values_are_never_echoed_whole() -> None:
    secret = "s3cr3t" * 100
    problems = check("incident", INCIDENT.replace("priority: P3", f"priority: {secret}"))
    assert len(problems) == 1
    assert len(problems[0].message) < 150


PIR = """\
---
id: PIR-2026-0001
incident: INC-2026-0001
status: draft
authors: [lena.fischer@example.com]
root_cause: A deploy halved the pool size.
actions:
  - id: A1
    title: Add a saturation alert on orders-db pool usage above 80%
    status: open
    owner: lena.fischer@example.com
    due: 2026-04-30
---
## Summary
"""


def test_pir_front_matter_positions_are_file_lines() -> None:
    assert check("pir", PIR, markdown=True) == []
    problems = check("pir", PIR.replace("status: open", "status: finished"), markdown=True)
    assert [(p.line, p.column) for p in problems] == [(10, 13)]


def test_policy_schema_accepts_the_default_policy() -> None:
    text = (PROJECT_SCHEMAS.parent / "policy.yaml").read_text()
    assert check("policy", text) == []


def test_inlined_definitions_keep_their_own_references() -> None:
    # policy approvers use defs `people`, whose items refer to `person` inside defs.
    text = (PROJECT_SCHEMAS.parent / "policy.yaml").read_text()
    bad = text.replace(
        "- priya.shah@example.com\n    - tom.becker", "- not-an-email\n    - tom.becker"
    )
    problems = check("policy", bad)
    assert sorted(p.message for p in problems) == [
        "'not-an-email' is not valid: an e-mail address (the identity git records as author)",
        "'not-an-email': not a valid email",
    ]


def test_an_item_listed_twice_is_named_at_its_line() -> None:
    """A long list with an item listed twice: the message names the item and both
    positions at the repeated item's line (the list, echoed first, cut the reason off)."""
    books = [f"RB-{n:04d}" for n in range(1, 32)] + ["RB-0007"]
    problems = check(
        "incident", INCIDENT + "runbooks_used:\n" + "".join(f"  - {b}\n" for b in books)
    )
    assert messages(problems) == ["'RB-0007' is listed twice (items 7 and 32); list each once"]
    start = INCIDENT.count("\n") + 2  # the first item's line
    assert (problems[0].line, problems[0].column) == (start + 31, 5)
    assert problems[0].path == ("runbooks_used", 31)
