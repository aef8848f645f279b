"""The rule registry matches the specification, and every rule is documented."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsledger.rules import RULES, RULES_BY_ID, Rule
from opsledger.rules.base import DOC_SECTIONS

# SPEC §4, in documentation order.
SPEC_RULES = [
    "SCHEMA",
    "REF-ID",
    "REF-LINK",
    "INC-TIMES",
    "INC-ACK",
    "INC-NOTIFY",
    "INC-CADENCE",
    "INC-BRIDGE",
    "INC-STATEMENT",
    "INC-ESCALATION",
    "INC-PIR",
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
    "PIR-SECTIONS",
    "PIR-ACTIONS",
    "PIR-VAGUE",
    "PIR-OVERDUE",
    "PIR-REVIEW",
    "RB-SECTIONS",
    "RB-STALE",
    "RB-COVERAGE",
    "GIT-PROVENANCE",
    "GIT-AFTER-CLOSE",
    "GIT-BACKDATED",
    "GIT-DELETED",
    "GIT-LATE-RECORD",
    "GIT-DOWNGRADE",
    "GIT-RUBBER-STAMP",
    "WAIVER-EXPIRED",
    "PRB-CANDIDATE",
    "PRB-KNOWN-ERROR",
    "PRB-ACTIONS",
    "PRB-FIX",
    "PRB-RECURRED",
    "REG-CLASSIFY",
    "REG-DEADLINE",
]


def test_rule_ids_are_exactly_the_specified_ones_in_order() -> None:
    assert [rule.id for rule in RULES] == SPEC_RULES


def test_rule_ids_are_unique() -> None:
    assert len(RULES_BY_ID) == len(RULES)


@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_every_rule_is_documented(rule: type[Rule]) -> None:
    sections = rule.doc_sections()
    for name in DOC_SECTIONS:
        assert sections.get(name, "").strip(), f"{rule.id}: '{name}' section missing or empty"
    assert rule.summary and len(rule.summary) < 90
    assert rule.severity in ("error", "warning")
    assert rule.kinds, "a rule names the record kinds it judges"


@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_every_rule_has_tests_in_its_family_module(rule: type[Rule]) -> None:
    # tests/test_rules_<family>.py: references, incidents, changes, pirs_runbooks, history,
    # waivers; each rule is exercised by name there
    family = rule.__module__.rsplit(".", 1)[-1]
    modules = sorted(Path(__file__).parent.glob(f"test_rules_*{family}*.py"))
    assert modules, f"no tests/test_rules_*{family}*.py for {rule.id}"
    assert any(f'"{rule.id}"' in m.read_text(encoding="utf-8") for m in modules), rule.id
