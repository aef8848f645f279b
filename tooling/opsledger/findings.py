"""The one problem type every check reports: a frozen, sortable :class:`Finding`."""

from __future__ import annotations

from dataclasses import dataclass
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
