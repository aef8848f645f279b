"""The rule registry: an explicit list, one entry per SPEC §4 rule ID."""

from __future__ import annotations

from opsledger.rules.base import Context, Rule
from opsledger.rules.incidents import (
    IncAck,
    IncBridge,
    IncCadence,
    IncEscalation,
    IncNotify,
    IncPir,
    IncStatement,
    IncTimes,
)
from opsledger.rules.references import RefId, RefLink, Schema
from opsledger.rules.waivers import WaiverExpired

RULES: tuple[type[Rule], ...] = (
    Schema,
    RefId,
    RefLink,
    IncTimes,
    IncAck,
    IncNotify,
    IncCadence,
    IncBridge,
    IncStatement,
    IncEscalation,
    IncPir,
    WaiverExpired,
)

RULES_BY_ID: dict[str, type[Rule]] = {rule.id: rule for rule in RULES}

__all__ = ["RULES", "RULES_BY_ID", "Context", "Rule"]
