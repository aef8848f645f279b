"""Running the rules over a Ledger: selection, severity overrides, waivers and caps.

The audit never prints; it returns findings for the formatters.

One record must not be able to drown the report (a PIR with 70,000 actions once made
480,000 findings, 4 GB of memory and a 407 MB SARIF file): :func:`cap` lists at most
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
from opsledger.errors import OpsledgerError
from opsledger.findings import Finding
from opsledger.history.model import HistoryIndex
from opsledger.model.ledger import Ledger
from opsledger.model.policy import Policy
from opsledger.rules import RULES, RULES_BY_ID, Context, Rule


@dataclass(frozen=True)
class AuditOptions:
    as_of: datetime
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    only_records: Collection[str] | None = None  # record IDs or paths to report on
    history: HistoryIndex | None = None


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


@dataclass
class _Overflow:
    """The findings of one rule and record beyond those listed."""

    first: Finding
    count: int = 0
    levels: set[tuple[str, bool]] = field(default_factory=set)  # (severity, waived)

    def add(self, finding: Finding) -> None:
        self.count += 1
        self.levels.add((finding.severity, finding.waived))

    def summary(self, limit: int) -> Finding:
        first = self.first
        if self.count == 1:
            return first
        active = {severity for severity, waived in self.levels if not waived}
        pool = active or {severity for severity, _ in self.levels}
        subject = first.record or first.path
        return dataclasses.replace(
            first,
            severity="error" if "error" in pool else "warning",
            waived=not active,
            message=f"…and {self.count} more {first.rule} findings for {subject}, not listed "
            f"(at most {limit} are listed per rule and record)",
            fix="fix those listed and run again, or raise "
            "limits.max_findings_per_rule_per_record in policy.yaml",
        )


def cap(findings: Iterable[Finding], limit: int) -> Iterator[Finding]:
    """At most ``limit`` findings per rule and record (``limit`` >= 2): the first
    ``limit - 1`` as they come, then one finding for all the others (itself when it is the
    only one). Streams: memory grows with the records, not with the findings. Capping
    capped findings changes nothing."""
    seen: dict[tuple[str, str], int] = {}
    overflow: dict[tuple[str, str], _Overflow] = {}
    for finding in findings:
        key = (finding.rule, finding.record or finding.path)
        count = seen.get(key, 0)
        if count < limit - 1:
            seen[key] = count + 1
            yield finding
            continue
        if key not in overflow:
            overflow[key] = _Overflow(finding)
        overflow[key].add(finding)
    for rest in overflow.values():
        yield rest.summary(limit)


def run_audit(ledger: Ledger, options: AuditOptions) -> list[Finding]:
    policy = ledger.policy
    ctx = Context(ledger, options.as_of, BusinessCalendar.of(policy), options.history)
    overrides = {k.upper(): v for k, v in policy.severity.items()}
    unknown = set(overrides) - set(RULES_BY_ID)
    if unknown:
        raise OpsledgerError(
            f"policy.yaml rules.severity names unknown rules {sorted(unknown)}; "
            f"valid rules: {', '.join(RULES_BY_ID)}"
        )
    findings: list[Finding] = []
    limit = policy.limits.max_findings_per_rule_per_record
    for rule in selected_rules(policy, options.select, options.ignore):
        findings.extend(cap(_judged(rule.check(ctx), overrides, policy, ctx), limit))
    if options.only_records is not None:
        keep = set(options.only_records)
        findings = [f for f in findings if f.record in keep or f.path in keep]
    return sorted(set(findings))
