"""Change rules: CHG-ROLLBACK, CHG-TESTING, CHG-IMPACT, CHG-APPROVAL, CHG-SOD,
CHG-APPROVED-BEFORE, CHG-NOTICE, CHG-FREEZE, CHG-COLLISION, CHG-EMERGENCY, CHG-OUTCOME."""

from __future__ import annotations

from opsledger.rules.base import Rule

RULES: tuple[type[Rule], ...] = ()
