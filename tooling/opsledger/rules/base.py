"""What a rule is: an ID, a default severity, a one-line summary, documentation and a check.

Each rule is a small class whose docstring is its documentation, with the sections
*What it checks*, *Why auditors care*, *Failing example*, *Passing example* and
*Policy settings*. ``check`` yields :class:`~opsledger.findings.Finding` objects; the
audit applies policy severity overrides and waivers afterwards.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import ClassVar

from opsledger.calendar import BusinessCalendar
from opsledger.findings import Finding, Severity, json_pointer
from opsledger.history.model import HistoryIndex
from opsledger.model.ledger import Ledger
from opsledger.model.records import Record
from opsledger.obligations import HISTORY_UNAVAILABLE, Obligations

DOC_SECTIONS = (
    "What it checks",
    "Why auditors care",
    "Failing example",
    "Passing example",
    "Policy settings",
)


@dataclass(frozen=True)
class Context:
    """Everything a rule may read: the ledger, "now", the business calendar, the history
    index (None when history is unavailable, for ``history_reason``: history rules then
    report themselves unavailable), and the obligations decided once for the run."""

    ledger: Ledger
    as_of: datetime
    calendar: BusinessCalendar
    history: HistoryIndex | None = None
    shared: Obligations | None = field(default=None, compare=False)
    history_reason: str = HISTORY_UNAVAILABLE

    @cached_property
    def obligations(self) -> Obligations:
        """The run's obligations (the workspace's, else decided here for this context)."""
        if self.shared is not None:
            return self.shared
        return Obligations(self.ledger, self.as_of, self.history, self.history_reason)


class Rule:
    id: ClassVar[str]
    severity: ClassVar[Severity] = "error"
    summary: ClassVar[str]
    #: record kinds the rule judges (incident, change, pir, runbook, services, policy)
    kinds: ClassVar[tuple[str, ...]] = ()

    def check(self, ctx: Context) -> Iterator[Finding]:
        raise NotImplementedError

    def finding(
        self, record: Record, message: str, *path: str | int, key: bool = False, fix: str = ""
    ) -> Finding:
        """A finding at the field ``path`` of ``record`` (its nearest existing ancestor)."""
        line, column = record.position(*path, key=key)
        return Finding(
            record.path,
            line,
            column,
            self.id,
            self.severity,
            message,
            record.id,
            json_pointer(path),
            fix,
        )

    @classmethod
    def documentation(cls) -> str:
        return inspect.cleandoc(cls.__doc__ or "")

    @classmethod
    def doc_sections(cls) -> dict[str, str]:
        """The documentation split into its named sections."""
        sections: dict[str, str] = {}
        current = ""
        for line in cls.documentation().splitlines():
            heading = line.rstrip(":").strip()
            if heading in DOC_SECTIONS and line.rstrip().endswith(":"):
                current = heading
                sections[current] = ""
            elif current:
                sections[current] += line + "\n"
        return {k: v.strip("\n") for k, v in sections.items()}
