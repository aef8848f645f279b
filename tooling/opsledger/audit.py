"""Running the rules over a Ledger: selection, severity overrides and waivers (whose
limits live in :mod:`opsledger.rulesettings`).

The audit never prints; it returns findings for the formatters.
"""

from __future__ import annotations

import dataclasses
import fnmatch
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from opsledger.calendar import BusinessCalendar
from opsledger.findings import Finding
from opsledger.history.model import HistoryIndex
from opsledger.model.ledger import Ledger
from opsledger.model.policy import Policy
from opsledger.obligations import HISTORY_UNAVAILABLE, Obligations
from opsledger.rules import Context
from opsledger.rulesettings import INTEGRITY, selected_rules

__all__ = ["AuditOptions", "run_audit", "selected_rules"]


@dataclass(frozen=True)
class AuditOptions:
    as_of: datetime
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    only_records: Collection[str] | None = None  # record IDs or paths to report on
    history: HistoryIndex | None = None
    obligations: Obligations | None = None  # the run's, shared with KPIs and pages
    history_reason: str = HISTORY_UNAVAILABLE  # why ``history`` is None


def _waived(finding: Finding, policy: Policy, ctx: Context) -> bool:
    if finding.rule in INTEGRITY:
        return False  # never waived (policy loading refuses such waivers too)
    today = ctx.calendar.local_date(ctx.as_of)
    for waiver in policy.waivers:
        if waiver.expires < today or waiver.rule.strip().upper() != finding.rule:
            continue
        target = finding.record or finding.path
        if fnmatch.fnmatchcase(target, waiver.record) or fnmatch.fnmatchcase(
            finding.path, waiver.record
        ):
            return True
    return False


def run_audit(ledger: Ledger, options: AuditOptions) -> list[Finding]:
    policy = ledger.policy
    ctx = Context(
        ledger,
        options.as_of,
        BusinessCalendar.of(policy),
        options.history,
        options.obligations,
        options.history_reason,
    )
    overrides = {k.strip().upper(): v for k, v in policy.severity.items()}
    findings: list[Finding] = []
    for rule in selected_rules(policy, options.select, options.ignore):
        for finding in rule.check(ctx):
            severity = overrides.get(finding.rule, finding.severity)
            waived = _waived(finding, policy, ctx)
            if severity != finding.severity or waived:
                finding = dataclasses.replace(finding, severity=severity, waived=waived)  # type: ignore[arg-type]
            findings.append(finding)
    if options.only_records is not None:
        keep = set(options.only_records)
        findings = [f for f in findings if f.record in keep or f.path in keep]
    return sorted(set(findings))
