"""What a sampled record's evidence says: each control with its verdict, each approval or
review with its provenance verdict. Verdicts are the audit's findings (one truth: the same
findings ``opsledger audit`` reports and the ``audit_pass_rate`` KPI counts); nothing is
judged again here.

A control is a rule that judges the record's kind (and any rule that reported on the
record). The record passes every control when it has no unwaived error finding: the
``audit_pass_rate`` definition, applied to one record.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from opsledger.findings import Finding
from opsledger.history.derive import entry_key
from opsledger.history.model import HistoryIndex
from opsledger.model.records import Record
from opsledger.rules import RULES_BY_ID, Rule
from opsledger.rules.history import ENTRIES, introductions
from opsledger.timeutil import format_timestamp

PROVENANCE_RULES = ("GIT-PROVENANCE", "GIT-BACKDATED")
PASSED, FAILED, WARNED, WAIVED, NOT_JUDGED, NOT_RUN = (
    "passed",
    "failed",
    "passed with warnings",
    "waived (accepted risk)",
    "not judged: imported before adoption",
    "not run (not selected in policy.yaml)",
)


@dataclass(frozen=True)
class Control:
    rule: str
    summary: str
    verdict: str
    findings: tuple[Finding, ...]


def record_findings(findings: Sequence[Finding], record: Record) -> list[Finding]:
    """The audit's findings on ``record`` (by ID or file, as ``audit_pass_rate`` counts)."""
    return [f for f in findings if f.record == record.id or f.path == record.path]


def passes(found: Sequence[Finding]) -> bool:
    """No unwaived error finding: the ``audit_pass_rate`` verdict for one record."""
    return not any(f.severity == "error" and not f.waived for f in found)


def _verdict(found: Sequence[Finding], judged: bool) -> str:
    if any(f.severity == "error" and not f.waived for f in found):
        return FAILED
    if any(not f.waived for f in found):
        return WARNED
    if found:
        return WAIVED
    return PASSED if judged else NOT_JUDGED


def controls(
    record: Record, found: Sequence[Finding], ran: Sequence[Rule], index: HistoryIndex
) -> list[Control]:
    """Each rule that judges the record's kind and ran, and each that reported on it."""
    names = [r.id for r in ran if record.kind in r.kinds]
    names += sorted({f.rule for f in found} - set(names))
    imported = index.imported(record.id)
    out = []
    for name in names:
        mine = tuple(f for f in found if f.rule == name)
        rule = RULES_BY_ID.get(name)
        judged = not (imported and name.startswith("GIT-"))
        out.append(Control(name, rule.summary if rule else "", _verdict(mine, judged), mine))
    return out


def approvals(
    record: Record, found: Sequence[Finding], ran: Sequence[Rule], index: HistoryIndex
) -> list[dict[str, Any]]:
    """Each approval (change) or review (PIR) entry with the commit that added it and the
    verdicts of GIT-PROVENANCE and GIT-BACKDATED on it."""
    if record.kind not in ENTRIES:
        return []
    field, label = ENTRIES[record.kind]
    entries = record.data.get(field)
    history = index.get(record.id)
    added = introductions(history, field) if history is not None else {}
    selected = {r.id for r in ran}
    imported = index.imported(record.id)
    out: list[dict[str, Any]] = []
    for position, entry in enumerate(entries if isinstance(entries, list) else []):
        if not isinstance(entry, Mapping):
            continue
        versions = added.get(entry_key(entry), [])
        row: dict[str, Any] = {
            "kind": label,
            "index": position,
            **{k: entry.get(k) for k in ("by", "role", "decision", "at") if k in entry},
        }
        if versions:
            version = versions[-1]
            row["added_by"] = {
                "commit": version.commit.sha,
                "author": str(version.commit.author),
                "signed": version.commit.signed,
                "landed_at": format_timestamp(version.landed_at),
            }
        prefix = f"/{field}/{position}/"
        verdicts: dict[str, Any] = {}
        for rule in PROVENANCE_RULES:
            mine = [f for f in found if f.rule == rule and (f.pointer + "/").startswith(prefix)]
            if rule not in selected:
                verdicts[rule] = {"verdict": NOT_RUN}
            else:
                verdicts[rule] = {
                    "verdict": _verdict(mine, not imported),
                    "findings": [f.message for f in mine],
                }
        row["verdicts"] = verdicts
        out.append(row)
    return out


@dataclass
class Outcome:
    """One sampled record's result."""

    record: Record
    folder: str
    passed: bool
    failed: list[str] = field(default_factory=list)  # rules it failed


def findings_count(found: Sequence[Finding]) -> str:
    if not found:
        return "no findings"
    errors = sum(f.severity == "error" and not f.waived for f in found)
    waived = sum(f.waived for f in found)
    return (
        f"{len(found)} finding{'s' * (len(found) != 1)}: {errors} unwaived "
        f"error{'s' * (errors != 1)}, {waived} waived"
    )
