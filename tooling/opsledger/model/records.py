"""Typed records: one frozen dataclass per record kind, built from loaded documents.

Timestamps are aware UTC datetimes, dates are :class:`datetime.date`. Each record keeps
its :class:`~opsledger.loading.Document` so rules can point at a field's line and column.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, ClassVar

from opsledger.loading import Document
from opsledger.model import fields as f
from opsledger.model.regulatory import Filing, read_filings


@dataclass(frozen=True)
class Record:
    """What every record kind shares: its ID, file and loaded document."""

    kind: ClassVar[str] = ""
    id: str
    path: str
    doc: Document = field(repr=False, compare=False)

    @property
    def data(self) -> Mapping[str, Any]:
        return self.doc.data if isinstance(self.doc.data, dict) else {}

    def position(self, *path: str | int, key: bool = False) -> tuple[int, int]:
        return self.doc.position(tuple(path), key=key)


@dataclass(frozen=True)
class Notification:
    index: int
    at: datetime | None
    kind: str | None
    audience: tuple[str, ...]
    channel: str | None
    summary: str | None


@dataclass(frozen=True)
class Escalation:
    index: int
    at: datetime | None
    to_tier: int | str | None
    team: str | None
    context: str | None
    troubleshooting: str | None
    impact_assessment: str | None


@dataclass(frozen=True)
class Reopen:
    index: int
    at: datetime | None
    reason: str | None


@dataclass(frozen=True)
class TimelineEntry:
    index: int
    at: datetime | None
    event: str | None


@dataclass(frozen=True)
class Incident(Record):
    kind: ClassVar[str] = "incident"
    title: str | None = None
    priority: str | None = None
    status: str | None = None
    service: str | None = None
    detection: str | None = None
    source: str | None = None
    scope: str | None = None
    category: str | None = None
    commander: str | None = None
    impact: str | None = None
    detected_at: datetime | None = None
    acknowledged_at: datetime | None = None
    bridge_opened_at: datetime | None = None
    mitigated_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    notifications: tuple[Notification, ...] = ()
    escalations: tuple[Escalation, ...] = ()
    reopened: tuple[Reopen, ...] = ()
    caused_by_change: str | None = None
    recurrence_of: str | None = None
    runbooks_used: tuple[str, ...] = ()
    pir: str | None = None
    resolution: str | None = None
    timeline: tuple[TimelineEntry, ...] = ()
    external_id: str | None = None
    import_gaps: tuple[str, ...] = ()
    regulatory: tuple[Filing, ...] = ()

    @classmethod
    def build(cls, id: str, path: str, doc: Document) -> Incident:
        d: Mapping[str, Any] = doc.data if isinstance(doc.data, dict) else {}
        return cls(
            id=id,
            path=path,
            doc=doc,
            title=f.text(d, "title"),
            priority=f.text(d, "priority"),
            status=f.text(d, "status"),
            service=f.text(d, "service"),
            detection=f.text(d, "detection"),
            source=f.text(d, "source"),
            scope=f.text(d, "scope"),
            category=f.text(d, "category"),
            commander=f.text(d, "commander"),
            impact=f.text(d, "impact"),
            detected_at=f.timestamp(d, "detected_at"),
            acknowledged_at=f.timestamp(d, "acknowledged_at"),
            bridge_opened_at=f.timestamp(d, "bridge_opened_at"),
            mitigated_at=f.timestamp(d, "mitigated_at"),
            resolved_at=f.timestamp(d, "resolved_at"),
            closed_at=f.timestamp(d, "closed_at"),
            notifications=tuple(
                Notification(
                    i,
                    f.timestamp(n, "at"),
                    f.text(n, "kind"),
                    f.strings(n, "audience"),
                    f.text(n, "channel"),
                    f.text(n, "summary"),
                )
                for i, n in f.mappings(d, "notifications")
            ),
            escalations=tuple(
                Escalation(
                    i,
                    f.timestamp(e, "at"),
                    e.get("to_tier") if isinstance(e.get("to_tier"), int | str) else None,
                    f.text(e, "team"),
                    f.text(e, "context"),
                    f.text(e, "troubleshooting"),
                    f.text(e, "impact_assessment"),
                )
                for i, e in f.mappings(d, "escalations")
            ),
            reopened=tuple(
                Reopen(i, f.timestamp(r, "at"), f.text(r, "reason"))
                for i, r in f.mappings(d, "reopened")
            ),
            caused_by_change=f.text(d, "caused_by_change"),
            recurrence_of=f.text(d, "recurrence_of"),
            runbooks_used=f.strings(d, "runbooks_used"),
            pir=f.text(d, "pir"),
            resolution=f.text(d, "resolution"),
            timeline=tuple(
                TimelineEntry(i, f.timestamp(t, "at"), f.text(t, "event"))
                for i, t in f.mappings(d, "timeline")
            ),
            external_id=f.text(d, "external_id"),
            import_gaps=f.strings(d, "import_gaps"),
            regulatory=read_filings(d),
        )


@dataclass(frozen=True)
class Approval:
    index: int
    by: str | None
    role: str | None
    at: datetime | None
    decision: str | None
    conditions: str | None


@dataclass(frozen=True)
class ChangeNotification:
    index: int
    at: datetime | None
    audience: tuple[str, ...]
    channel: str | None


@dataclass(frozen=True)
class Change(Record):
    kind: ClassVar[str] = "change"
    title: str | None = None
    type: str | None = None
    risk: str | None = None
    status: str | None = None
    services: tuple[str, ...] = ()
    requested_by: str | None = None
    implementer: str | None = None
    description: str | None = None
    justification: str | None = None
    impact: str | None = None
    window_start: datetime | None = None
    window_end: datetime | None = None
    testing_summary: str | None = None
    testing_evidence: tuple[str, ...] = ()
    rollback_plan: str | None = None
    rollback_trigger: str | None = None
    rollback_tested: bool | None = None
    rollback_duration: str | None = None
    approvals: tuple[Approval, ...] = ()
    notifications: tuple[ChangeNotification, ...] = ()
    implementation_started_at: datetime | None = None
    implementation_completed_at: datetime | None = None
    outcome: str | None = None
    validation: str | None = None
    related_incident: str | None = None
    freeze_exception_by: str | None = None
    freeze_exception_reason: str | None = None
    standard_template: str | None = None

    @classmethod
    def build(cls, id: str, path: str, doc: Document) -> Change:
        d: Mapping[str, Any] = doc.data if isinstance(doc.data, dict) else {}
        window, testing = f.mapping(d, "window"), f.mapping(d, "testing")
        rollback, impl = f.mapping(d, "rollback"), f.mapping(d, "implementation")
        freeze = f.mapping(d, "freeze_exception")
        return cls(
            id=id,
            path=path,
            doc=doc,
            title=f.text(d, "title"),
            type=f.text(d, "type"),
            risk=f.text(d, "risk"),
            status=f.text(d, "status"),
            services=f.strings(d, "services"),
            requested_by=f.text(d, "requested_by"),
            implementer=f.text(d, "implementer"),
            description=f.text(d, "description"),
            justification=f.text(d, "justification"),
            impact=f.text(d, "impact"),
            window_start=f.timestamp(window, "start"),
            window_end=f.timestamp(window, "end"),
            testing_summary=f.text(testing, "summary"),
            testing_evidence=f.strings(testing, "evidence"),
            rollback_plan=f.text(rollback, "plan"),
            rollback_trigger=f.text(rollback, "trigger"),
            rollback_tested=f.flag(rollback, "tested"),
            rollback_duration=f.text(rollback, "estimated_duration"),
            approvals=tuple(
                Approval(
                    i,
                    f.text(a, "by"),
                    f.text(a, "role"),
                    f.timestamp(a, "at"),
                    f.text(a, "decision"),
                    f.text(a, "conditions"),
                )
                for i, a in f.mappings(d, "approvals")
            ),
            notifications=tuple(
                ChangeNotification(
                    i, f.timestamp(n, "at"), f.strings(n, "audience"), f.text(n, "channel")
                )
                for i, n in f.mappings(d, "notifications")
            ),
            implementation_started_at=f.timestamp(impl, "started_at"),
            implementation_completed_at=f.timestamp(impl, "completed_at"),
            outcome=f.text(impl, "outcome"),
            validation=f.text(impl, "validation"),
            related_incident=f.text(d, "related_incident"),
            freeze_exception_by=f.text(freeze, "approved_by"),
            freeze_exception_reason=f.text(freeze, "reason"),
            standard_template=f.text(d, "standard_template"),
        )


@dataclass(frozen=True)
class Review:
    index: int
    by: str | None
    at: datetime | None
    decision: str | None


@dataclass(frozen=True)
class Action:
    index: int
    id: str | None
    title: str | None
    type: str | None
    owner: str | None
    due: date | None
    status: str | None
    verification: str | None
    tracker: str | None


@dataclass(frozen=True)
class Section:
    title: str
    level: int
    line: int
    text: str


@dataclass(frozen=True)
class Pir(Record):
    kind: ClassVar[str] = "pir"
    incident: str | None = None
    title: str | None = None
    status: str | None = None
    authors: tuple[str, ...] = ()
    reviewers: tuple[Review, ...] = ()
    root_cause: str | None = None
    contributing_factors: tuple[str, ...] = ()
    actions: tuple[Action, ...] = ()
    sections: tuple[Section, ...] = ()

    @classmethod
    def build(cls, id: str, path: str, doc: Document) -> Pir:
        d: Mapping[str, Any] = doc.data if isinstance(doc.data, dict) else {}
        return cls(
            id=id,
            path=path,
            doc=doc,
            incident=f.text(d, "incident"),
            title=f.text(d, "title"),
            status=f.text(d, "status"),
            authors=f.strings(d, "authors"),
            reviewers=tuple(
                Review(i, f.text(r, "by"), f.timestamp(r, "at"), f.text(r, "decision"))
                for i, r in f.mappings(d, "reviewers")
            ),
            root_cause=f.text(d, "root_cause"),
            contributing_factors=f.strings(d, "contributing_factors"),
            actions=build_actions(d),
            sections=markdown_sections(doc.body or "", doc.body_line),
        )


def build_actions(d: Mapping[str, Any]) -> tuple[Action, ...]:
    """The ``actions`` list of a PIR or problem (the same shape)."""
    return tuple(
        Action(
            i,
            f.text(a, "id"),
            f.text(a, "title"),
            f.text(a, "type"),
            f.text(a, "owner"),
            f.day(a, "due"),
            f.text(a, "status"),
            f.text(a, "verification"),
            f.text(a, "tracker"),
        )
        for i, a in f.mappings(d, "actions")
    )


@dataclass(frozen=True)
class Problem(Record):
    """A problem (ITIL): the incidents it explains, its root cause, workaround and fix.

    The link lives here, never on the incidents: a problem is often opened long after its
    incidents were closed, and a closed incident is not edited."""

    kind: ClassVar[str] = "problem"
    title: str | None = None
    status: str | None = None
    services: tuple[str, ...] = ()
    owner: str | None = None
    opened_at: datetime | None = None
    incidents: tuple[str, ...] = ()
    root_cause: str | None = None
    known_error_at: datetime | None = None
    workaround: str | None = None
    runbooks: tuple[str, ...] = ()
    actions: tuple[Action, ...] = ()
    fix_change: str | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    external_id: str | None = None
    import_gaps: tuple[str, ...] = ()
    sections: tuple[Section, ...] = ()

    @classmethod
    def build(cls, id: str, path: str, doc: Document) -> Problem:
        d: Mapping[str, Any] = doc.data if isinstance(doc.data, dict) else {}
        return cls(
            id=id,
            path=path,
            doc=doc,
            title=f.text(d, "title"),
            status=f.text(d, "status"),
            services=f.strings(d, "services"),
            owner=f.text(d, "owner"),
            opened_at=f.timestamp(d, "opened_at"),
            incidents=f.strings(d, "incidents"),
            root_cause=f.text(d, "root_cause"),
            known_error_at=f.timestamp(d, "known_error_at"),
            workaround=f.text(d, "workaround"),
            runbooks=f.strings(d, "runbooks"),
            actions=build_actions(d),
            fix_change=f.text(d, "fix_change"),
            resolved_at=f.timestamp(d, "resolved_at"),
            closed_at=f.timestamp(d, "closed_at"),
            external_id=f.text(d, "external_id"),
            import_gaps=f.strings(d, "import_gaps"),
            sections=markdown_sections(doc.body or "", doc.body_line),
        )

    @property
    def resolved(self) -> bool:
        return self.status in ("resolved", "closed")


@dataclass(frozen=True)
class Runbook(Record):
    kind: ClassVar[str] = "runbook"
    title: str | None = None
    services: tuple[str, ...] = ()
    owner: str | None = None
    last_reviewed: date | None = None
    review_every: timedelta | None = None
    alerts: tuple[str, ...] = ()
    sections: tuple[Section, ...] = ()

    @classmethod
    def build(cls, id: str, path: str, doc: Document) -> Runbook:
        d: Mapping[str, Any] = doc.data if isinstance(doc.data, dict) else {}
        return cls(
            id=id,
            path=path,
            doc=doc,
            title=f.text(d, "title"),
            services=f.strings(d, "services"),
            owner=f.text(d, "owner"),
            last_reviewed=f.day(d, "last_reviewed"),
            review_every=f.duration(d, "review_every"),
            alerts=f.strings(d, "alerts"),
            sections=markdown_sections(doc.body or "", doc.body_line),
        )

    def review_period(self, default: timedelta) -> timedelta:
        """Its own ``review_every`` when set (``0d`` included: zero is zero), else ``default``."""
        return default if self.review_every is None else self.review_every


@dataclass(frozen=True)
class Service:
    """One entry of records/services.yaml; ``index`` is its position in the list."""

    id: str
    index: int
    name: str | None
    tier: int | None
    owner: str | None
    availability_target: float | None
    escalation: tuple[tuple[Any, str], ...]
    runbooks: tuple[str, ...]

    @classmethod
    def build(cls, index: int, d: Mapping[str, Any]) -> Service:
        tier = d.get("tier")
        target = d.get("availability_target")
        return cls(
            id=f.text(d, "id") or "",
            index=index,
            name=f.text(d, "name"),
            tier=tier if isinstance(tier, int) and not isinstance(tier, bool) else None,
            owner=f.text(d, "owner"),
            availability_target=float(target)
            if isinstance(target, int | float) and not isinstance(target, bool)
            else None,
            escalation=tuple(
                (e.get("tier"), e["team"])
                for _, e in f.mappings(d, "escalation")
                if isinstance(e.get("team"), str)
            ),
            runbooks=f.strings(d, "runbooks"),
        )


def markdown_sections(body: str, first_line: int) -> tuple[Section, ...]:
    """ATX headings of a Markdown body (outside fenced code) with the text under each."""
    sections: list[tuple[str, int, int, list[str]]] = []
    fence: str | None = None
    for offset, line in enumerate(body.splitlines()):
        stripped = line.strip()
        if stripped.startswith(("```", "~~~")):
            marker = stripped[:3]
            fence = None if fence == marker else (fence or marker)
        elif fence is None and line.startswith("#"):
            hashes = len(line) - len(line.lstrip("#"))
            if 1 <= hashes <= 6 and line[hashes : hashes + 1] in (" ", "\t"):
                title = line[hashes:].strip().rstrip("#").strip()
                sections.append((title, hashes, first_line + offset, []))
                continue
        if sections:
            sections[-1][3].append(line)
    return tuple(
        Section(title, level, line, "\n".join(lines).strip())
        for title, level, line, lines in sections
    )


RECORD_TYPES: dict[
    str, type[Incident] | type[Change] | type[Pir] | type[Runbook] | type[Problem]
] = {
    "incident": Incident,
    "change": Change,
    "pir": Pir,
    "runbook": Runbook,
    "problem": Problem,
}
