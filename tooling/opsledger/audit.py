"""Running the rules over a Ledger: selection, severity overrides, waivers (whose limits
live in :mod:`opsledger.rulesettings`) and caps.

The audit never prints; it returns findings for the formatters.

One record must not be able to drown the report (a PIR with 70,000 actions once made
480,000 findings, 4 GB of memory and a 407 MB SARIF file): :func:`~opsledger.findings.cap`
(beside the Finding, so ``validate`` applies it without importing the audit) lists at most
``limits.max_findings_per_rule_per_record`` findings of one rule for one record; the last
of them then says "…and N more". It is error when any finding it stands for is an
unwaived error, so the gate's verdict and each record's pass/fail (the KPIs, the site) are
exactly those of the full list. ``validate`` applies the same cap to the loading problems.
"""

from __future__ import annotations

import dataclasses
import fnmatch
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from opsledger.calendar import BusinessCalendar
from opsledger.findings import Finding, cap
from opsledger.history import HISTORY_UNAVAILABLE
from opsledger.history.model import HistoryIndex
from opsledger.model.ledger import Ledger
from opsledger.model.policy import Policy
from opsledger.obligations import Obligations
from opsledger.rules import Context
from opsledger.rules.recall import Recall
from opsledger.rulesettings import INTEGRITY, selected_rules

__all__ = ["AuditOptions", "cap", "run_audit", "selected_rules"]


@dataclass(frozen=True)
class AuditOptions:
    as_of: datetime
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    only_records: Collection[str] | None = None  # record IDs or paths to report on
    history: HistoryIndex | None = None
    obligations: Obligations | None = None  # the run's, shared with KPIs and pages
    history_reason: str = HISTORY_UNAVAILABLE  # why ``history`` is None
    #: the last audit's findings in this process (``site serve``), reused where unchanged
    recall: Recall | None = field(default=None, compare=False)


def _judged(
    found: Iterable[Finding], overrides: dict[str, str], policy: Policy, ctx: Context
) -> Iterator[Finding]:
    """A rule's findings with the policy's severity overrides and waivers applied."""
    for finding in found:
        severity = overrides.get(finding.rule, finding.severity)
        waived = _waived(finding, policy, ctx)
        if severity != finding.severity or waived:
            finding = dataclasses.replace(finding, severity=severity, waived=waived)  # type: ignore[arg-type]
        yield finding


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
        None if options.only_records is None else frozenset(options.only_records),
        options.recall,
    )
    if options.recall is not None:
        options.recall.begin(ctx)
    overrides = {k.strip().upper(): v for k, v in policy.severity.items()}
    findings: list[Finding] = []
    limit = policy.limits.max_findings_per_rule_per_record
    for rule in selected_rules(policy, options.select, options.ignore):
        if rule.whole_repository and ledger.partial:
            continue  # a few files, or the PR gate's scope: it says what it left out
        findings.extend(cap(_judged(rule.check(ctx), overrides, policy, ctx), limit))
    if options.recall is not None:
        options.recall.end()
    if options.only_records is not None:
        keep = set(options.only_records)
        findings = [f for f in findings if f.record in keep or f.path in keep]
    return sorted(set(findings))
