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
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from opsledger.findings import Finding, Severity, json_pointer
from opsledger.history import HISTORY_UNAVAILABLE
from opsledger.model.layout import kind_of_id
from opsledger.model.ledger import Ledger
from opsledger.model.records import Change, Incident, Pir, Problem, Record, Runbook
from opsledger.model.settings import Setting

if TYPE_CHECKING:  # imported where used: ``validate`` judges REF-ID without them
    from opsledger.calendar import BusinessCalendar
    from opsledger.history.model import HistoryIndex, RecordHistory
    from opsledger.model.policy import Policy
    from opsledger.obligations import (
        ChangeObligations,
        IncidentObligations,
        Obligations,
        ProblemObligations,
    )
    from opsledger.obligations.documentation import Documentation
    from opsledger.obligations.regulatory import Clock
    from opsledger.obligations.verdict import Verdict
    from opsledger.rules.examples import Examples
    from opsledger.rules.recall import Recall

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
V = TypeVar("V")


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
    #: what an earlier audit in this process judged (``site serve``), reused for a record
    #: whose reads are unchanged (:mod:`opsledger.rules.recall`), or None
    recall: Recall | None = field(default=None, compare=False)

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


#: what a :class:`Judging` noted a judge read (bits): "now", and each kind of verdict
AS_OF, INCIDENT, REGULATORY, CHANGE, ACTIONS, RUNBOOK, PROBLEM = (1 << n for n in range(7))


class Seeing:
    """What every rule judging one record at a time sees: the policy, the business
    calendar and "now", whose reading is noted (:attr:`reads`)."""

    __slots__ = ("_ctx", "reads")

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        #: the bits of what was read (:data:`AS_OF`, :data:`INCIDENT`…)
        self.reads = 0

    @property
    def as_of(self) -> datetime:
        self.reads |= AS_OF
        return self._ctx.as_of

    @property
    def policy(self) -> Policy:
        return self._ctx.ledger.policy

    @property
    def calendar(self) -> BusinessCalendar:
        return self._ctx.calendar

    def setting(self, setting: Setting, **keys: str) -> Any:
        """A policy setting's typed value (:meth:`Context.setting`)."""
        return self._ctx.setting(setting, **keys)


class Judging(Seeing):
    """What a :class:`RecordRule` sees while judging one record: the record's own verdicts
    (:attr:`obligations`, which answers about that record only), the policy, the business
    calendar and "now"; no other record. Each read of "now" or of a verdict is noted
    (:attr:`reads`, :attr:`seen`), so that a served site's next audit can reuse the
    findings of a record whose reads give the same values (:mod:`opsledger.rules.recall`).
    """

    __slots__ = ("record", "seen")

    def __init__(self, ctx: Context, record: Record) -> None:
        super().__init__(ctx)
        self.record = record
        #: each verdict read, by its bit
        self.seen: dict[int, object] = {}

    @property
    def obligations(self) -> Judging:
        """The record's verdicts: ``ctx.obligations.incident(inc)`` reads as it does on a
        :class:`Context`, for the record judged only."""
        return self

    def _own(self, bit: int, record: Record, found: V) -> V:
        if record is not self.record:
            raise ValueError(
                f"{record.id}: a rule judging {self.record.id} reads its verdicts only"
            )
        self.reads |= bit
        self.seen[bit] = found
        return found

    def incident(self, inc: Incident) -> IncidentObligations:
        return self._own(INCIDENT, inc, self._ctx.obligations.incident(inc))

    def regulatory(self, inc: Incident) -> tuple[Clock, ...]:
        return self._own(REGULATORY, inc, self._ctx.obligations.regulatory(inc))

    def change(self, chg: Change) -> ChangeObligations:
        return self._own(CHANGE, chg, self._ctx.obligations.change(chg))

    def actions(self, record: Pir | Problem) -> tuple[Verdict | None, ...]:
        return self._own(ACTIONS, record, self._ctx.obligations.actions(record))

    def runbook(self, rb: Runbook) -> Verdict | None:
        return self._own(RUNBOOK, rb, self._ctx.obligations.runbook(rb))

    def problem(self, prb: Problem) -> ProblemObligations:
        return self._own(PROBLEM, prb, self._ctx.obligations.problem(prb))


#: the verdicts of ``record`` a judge can read, by their bit (what a reuse compares)
VERDICTS: dict[int, Callable[[Obligations, Any], object]] = {
    INCIDENT: lambda o, r: o.incident(r),
    REGULATORY: lambda o, r: o.regulatory(r),
    CHANGE: lambda o, r: o.change(r),
    ACTIONS: lambda o, r: o.actions(r),
    RUNBOOK: lambda o, r: o.runbook(r),
    PROBLEM: lambda o, r: o.problem(r),
}


class RecordRule(Rule, Generic[R]):
    """A rule judging each record of one Ledger table on its own: :meth:`judge` sees the
    record and a :class:`Judging`, nothing of any other record. So a record's findings of
    such a rule change only when the record, one of its verdicts, "now" (when read) or the
    policy does, and ``site serve`` judges again only those (:mod:`opsledger.rules.recall`)."""

    #: the Ledger tables judged: incidents, changes, pirs, runbooks, problem_records
    tables: ClassVar[tuple[str, ...]]

    def check(self, ctx: Context) -> Iterator[Finding]:
        recall = ctx.recall if ctx.only is None else None
        for name in self.tables:
            table: Mapping[str, R] = getattr(ctx.ledger, name)
            if recall is not None:
                yield from recall.judged(self, name, ctx, ctx.judged(table))
                continue
            for record in ctx.judged(table):
                yield from self.judge(Judging(ctx, record), record)

    def judge(self, ctx: Judging, record: R) -> Iterator[Finding]:
        raise NotImplementedError


class HistoryJudging(Seeing):
    """What a rule judging one record's history at a time sees (:meth:`HistoryRule.judge`):
    the history index (every record's past; the same object while ``HEAD`` is), any
    record as loaded now (:meth:`loaded`, each read noted), a record's documentation lag
    (decided from the history alone), the policy, the calendar and "now" (noted when read).
    A served site's next audit reuses the findings where the index is the same, each
    record read is the same object and "now" (if read) is too
    (:mod:`opsledger.rules.recall`)."""

    __slots__ = ("loads",)

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        #: record ID -> the record loaded now (or None) as read
        self.loads: dict[str, Record | None] = {}

    @property
    def history(self) -> HistoryIndex | None:
        return self._ctx.history

    def loaded(self, record_id: str) -> Record | None:
        """The record of that ID as loaded now (None when none is)."""
        found = self._ctx.ledger.get(record_id)
        self.loads[record_id] = found
        return found

    def documentation(self, incident_id: str) -> Documentation | None:
        """The incident's documentation lag (:meth:`Obligations.documentation`)."""
        return self._ctx.obligations.documentation(incident_id)
