"""The rule registry: explicit lists, one entry per SPEC §4 rule ID, in documentation order.

Each family module ends with its own explicit ``RULES`` tuple; adding a rule is one class
(its check, the settings it reads, a failing and a passing example) and one entry there. A
rule that declares a new policy setting also gives it a value in the default policy and
regenerates the policy schema: ``python -m opsledger.rules.policy_schema``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from opsledger.rules.base import Context, Rule

#: the rule families, in documentation order; each module ends with its ``RULES`` tuple
FAMILIES = (
    "references",
    "incidents",
    "changes",
    "pirs",
    "runbooks",
    "history",
    "waivers",
    "problems",
    "regulatory",
)

if TYPE_CHECKING:
    RULES: tuple[type[Rule], ...]
    RULES_BY_ID: dict[str, type[Rule]]


def __getattr__(name: str) -> Any:
    """``RULES`` and ``RULES_BY_ID``, built when first asked for: ``validate`` reads one
    rule (REF-ID) and does not import the forty others at start-up."""
    if name == "RULES":
        value: Any = tuple(
            rule
            for family in FAMILIES
            for rule in importlib.import_module(f"opsledger.rules.{family}").RULES
        )
    elif name == "RULES_BY_ID":
        value = {rule.id: rule for rule in __getattr__("RULES")}
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


__all__ = ["RULES", "RULES_BY_ID", "Context", "Rule"]
