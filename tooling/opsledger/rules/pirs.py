"""PIR rules: PIR-SECTIONS, PIR-ACTIONS, PIR-VAGUE, PIR-OVERDUE, PIR-REVIEW."""

from __future__ import annotations

from opsledger.rules.base import Rule

RULES: tuple[type[Rule], ...] = ()
