"""The one problem type every check reports: a frozen, sortable :class:`Finding`; and
:func:`cap`, which keeps one record from drowning a report (see :mod:`opsledger.audit`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, order=True)
class Finding:
    """A problem in one file, at one position, found by one rule.

    Field order defines the sort order: path, line, column, rule.
    """

    path: str
    line: int
    column: int
    rule: str
    severity: Severity
    message: str
    record: str | None = None
    pointer: str = ""
    fix: str = ""
    waived: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "record": self.record,
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "message": self.message,
            "pointer": self.pointer,
            "fix": self.fix,
            "waived": self.waived,
        }


def json_pointer(path: tuple[str | int, ...]) -> str:
    """RFC 6901 pointer for a data path."""
    parts = (str(p).replace("~", "~0").replace("/", "~1") for p in path)
    return "".join("/" + p for p in parts)


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
