"""What a rule is: an ID, a default severity, a one-line summary, documentation and a check.

A rule is one unit: a small class whose docstring says *What it checks* and *Why auditors
care*, whose ``settings`` declare the policy settings it reads and whose ``examples`` hold
a failing and a passing example that a test runs through the audit. The documentation's
*Failing example*, *Passing example* and *Policy settings* sections are rendered from
those declarations. ``check`` yields :class:`~opsledger.findings.Finding` objects; the
audit applies policy severity overrides and waivers afterwards.
"""

from __future__ import annotations

import inspect
import textwrap
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from opsledger.findings import Finding, Severity, json_pointer
from opsledger.history import HISTORY_UNAVAILABLE
from opsledger.model.layout import kind_of_id
from opsledger.model.ledger import Ledger
from opsledger.model.records import Record
from opsledger.model.settings import Setting

if TYPE_CHECKING:  # imported where used: ``validate`` judges REF-ID without them
    from opsledger.calendar import BusinessCalendar
    from opsledger.history.model import HistoryIndex, RecordHistory
    from opsledger.obligations import Obligations
    from opsledger.rules.examples import Examples

DOC_SECTIONS = (
    "What it checks",
    "Why auditors care",
    "Failing example",
    "Passing example",
    "Policy settings",
)
#: the sections holding YAML examples (shown as code blocks)
EXAMPLE_SECTIONS = ("Failing example", "Passing example")
R = TypeVar("R", bound=Record)


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
    #: the record IDs and paths whose findings the run reports (the PR gate's), or None
    only: frozenset[str] | None = None

    def judged(self, table: Mapping[str, R]) -> Iterable[R]:
        """The records of ``table`` a rule judging one record at a time judges: all of
        them, or those the run reports. Their verdicts still read every record loaded (the
        gate loads what each reported record's verdict needs); a record loaded only for
        that is not judged, as its findings would not be reported."""
        only = self.only
        if only is None:
            return table.values()
        return [r for r in table.values() if r.id in only or r.path in only]

    @cached_property
    def obligations(self) -> Obligations:
        """The run's obligations (the workspace's, else decided here for this context)."""
        if self.shared is not None:
            return self.shared
        from opsledger.obligations import Obligations

        return Obligations(self.ledger, self.as_of, self.history, self.history_reason)

    @cached_property
    def record_histories(self) -> tuple[tuple[str, RecordHistory, bool], ...]:
        """(kind, history, imported) of each record of the history index with at least
        one version, in ID order: read once for all the history rules."""
        index = self.history
        if index is None:
            return ()
        found = []
        for record_id in sorted(index.records):
            history, kind = index.records[record_id], kind_of_id(record_id)
            if kind is not None and history.versions:
                found.append((kind.name, history, index.imported(record_id)))
        return tuple(found)

    def setting(self, setting: Setting, **keys: str) -> Any:
        """A policy setting's typed value (its default when the policy does not set it);
        ``keys`` fill the path's ``<name>`` placeholders. A new rule reads its settings
        here: no ``Policy`` field is needed."""
        return setting.read(self.ledger.policy.doc.data, **keys)


class Rule:
    id: ClassVar[str]
    severity: ClassVar[Severity] = "error"
    summary: ClassVar[str]
    #: record kinds the rule judges (incident, change, pir, runbook, services, policy)
    kinds: ClassVar[tuple[str, ...]] = ()
    #: the policy settings the rule reads (shared ones are declared once and referenced)
    settings: ClassVar[tuple[Setting, ...]] = ()
    #: said after the settings in the documentation (e.g. what else fixes the result)
    settings_note: ClassVar[str] = ""
    #: a failing and a passing example, run through the audit by a test
    examples: ClassVar[Examples | None] = None
    #: judged only when every record is loaded: :func:`opsledger.audit.run_audit` skips it
    #: on a partial load (the PR gate says so: ``opsledger audit --changed-since``)
    whole_repository: ClassVar[bool] = False

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
        """The docstring, then the sections rendered from the examples and settings."""
        parts = [inspect.cleandoc(cls.__doc__ or "")]
        if cls.examples is not None:
            parts += [
                "Failing example:\n" + _indent(cls.examples.failing.render()),
                "Passing example:\n" + _indent(cls.examples.passing.render()),
            ]
        parts.append("Policy settings:\n" + _indent(settings_text(cls.settings, cls.settings_note)))
        return "\n\n".join(parts)

    @classmethod
    def documentation_markdown(cls) -> list[str]:
        """The documentation as Markdown lines: the opening paragraph, then one ``##``
        heading per section, examples as YAML code blocks (the site's rule page and the
        SARIF ``help.markdown`` show the same text)."""
        from opsledger.text.escape import md, md_code_spans

        intro = cls.documentation().split("\n\n", 1)[0]
        body = [md_code_spans(" ".join(intro.split())), ""]
        for name, text in cls.doc_sections().items():
            body += [f"## {md(name)}", ""]
            if name in EXAMPLE_SECTIONS:
                body += [
                    "```yaml",
                    *(line[2:] if line.startswith("  ") else line for line in text.splitlines()),
                    "```",
                    "",
                ]
            else:
                paras = [" ".join(p.split()) for p in text.split("\n\n") if p.strip()]
                body += [line for p in paras for line in (md_code_spans(p), "")]
        return body

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


def settings_text(settings: tuple[Setting, ...], note: str = "") -> str:
    """The "Policy settings" section: one paragraph per setting, then the note."""
    paragraphs = [
        textwrap.fill(setting.documentation(), 88, break_on_hyphens=False)
        for setting in {s.path: s for s in settings}.values()
    ] or ["none."]
    if note:
        paragraphs.append(textwrap.fill(note, 88, break_on_hyphens=False))
    return "\n\n".join(paragraphs)


def _indent(text: str) -> str:
    return textwrap.indent(text, "  ", lambda line: bool(line.strip()))
