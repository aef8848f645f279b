"""Running the rules over a Ledger: selection, severity overrides and waivers.

The audit never prints; it returns findings for the formatters.
"""

from __future__ import annotations

import dataclasses
import fnmatch
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime

from opsledger.calendar import BusinessCalendar
from opsledger.errors import OpsledgerError
from opsledger.findings import Finding
from opsledger.history.model import HistoryIndex
from opsledger.model.ledger import Ledger
from opsledger.model.policy import Policy
from opsledger.obligations import HISTORY_UNAVAILABLE, Obligations
from opsledger.rules import RULES, RULES_BY_ID, Context, Rule


@dataclass(frozen=True)
class AuditOptions:
    as_of: datetime
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    only_records: Collection[str] | None = None  # record IDs or paths to report on
    history: HistoryIndex | None = None
    obligations: Obligations | None = None  # the run's, shared with KPIs and pages
    history_reason: str = HISTORY_UNAVAILABLE  # why ``history`` is None


def _expand(ids: Iterable[str], where: str) -> set[str]:
    chosen: set[str] = set()
    for item in ids:
        token = item.strip().upper()
        if not token:
            continue
        matches = {rid for rid in RULES_BY_ID if rid == token or fnmatch.fnmatchcase(rid, token)}
        if not matches:  # a family: INC means every INC-* rule
            matches = {rid for rid in RULES_BY_ID if rid.startswith(token + "-")}
        if not matches:
            raise OpsledgerError(
                f"unknown rule {item!r} in {where}; valid rules: {', '.join(RULES_BY_ID)}"
            )
        chosen |= matches
    return chosen


def selected_rules(policy: Policy, select: Iterable[str], ignore: Iterable[str]) -> list[Rule]:
    """Rules to run: command-line --select replaces policy's; ignores add up."""
    cli_select = _expand(select, "--select")
    wanted = cli_select or _expand(policy.select, "policy.yaml rules.select") or set(RULES_BY_ID)
    unwanted = _expand(ignore, "--ignore") | _expand(policy.ignore, "policy.yaml rules.ignore")
    return [rule() for rule in RULES if rule.id in wanted and rule.id not in unwanted]


def _waived(finding: Finding, policy: Policy, ctx: Context) -> bool:
    today = ctx.calendar.local_date(ctx.as_of)
    for waiver in policy.waivers:
        if waiver.expires < today or waiver.rule.upper() != finding.rule:
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
    overrides = {k.upper(): v for k, v in policy.severity.items()}
    unknown = set(overrides) - set(RULES_BY_ID)
    if unknown:
        raise OpsledgerError(
            f"policy.yaml rules.severity names unknown rules {sorted(unknown)}; "
            f"valid rules: {', '.join(RULES_BY_ID)}"
        )
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
