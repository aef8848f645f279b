"""Runbook rules: RB-SECTIONS, RB-STALE, RB-COVERAGE."""

from __future__ import annotations

from opsledger.rules.base import Rule

RULES: tuple[type[Rule], ...] = ()
