"""The incident scenario catalogue and its lookup by service kind and priority."""

from __future__ import annotations

from opsledger.demo import scenarios_edge, scenarios_platform
from opsledger.demo.scenario_types import ALL_KINDS, Action, Scenario

__all__ = ["ALL_KINDS", "SCENARIOS", "Action", "Scenario", "scenarios_for"]

SCENARIOS: tuple[Scenario, ...] = scenarios_platform.SCENARIOS + scenarios_edge.SCENARIOS


def scenarios_for(kind: str, priority: str) -> list[Scenario]:
    """Scenarios that fit a service kind and a priority."""
    return [s for s in SCENARIOS if kind in s.kinds and priority in s.priorities]
