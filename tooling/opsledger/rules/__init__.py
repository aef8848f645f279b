"""The rule registry: explicit lists, one entry per SPEC §4 rule ID, in documentation order.

Each family module ends with its own explicit ``RULES`` tuple; adding a rule is one class
(its check, the settings it reads, a failing and a passing example) and one entry there. A
rule that declares a new policy setting also gives it a value in the default policy and
regenerates the policy schema: ``python -m opsledger.rules.policy_schema``.
"""

from __future__ import annotations

from opsledger.rules import (
    changes,
    history,
    incidents,
    pirs,
    problems,
    references,
    regulatory,
    runbooks,
    waivers,
)
from opsledger.rules.base import Context, Rule

RULES: tuple[type[Rule], ...] = (
    *references.RULES,
    *incidents.RULES,
    *changes.RULES,
    *pirs.RULES,
    *runbooks.RULES,
    *history.RULES,
    *waivers.RULES,
    *problems.RULES,
    *regulatory.RULES,
)

RULES_BY_ID: dict[str, type[Rule]] = {rule.id: rule for rule in RULES}

__all__ = ["RULES", "RULES_BY_ID", "Context", "Rule"]
