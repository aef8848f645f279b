"""The record kinds a sample can be drawn from, one entry each.

An entry says which records of the ledger are of the kind, which date places a record in a
period (the same placement the KPIs use: :class:`~opsledger.kpis.base.KpiContext`), the
fields ``--where`` may filter on and ``population.csv`` shows, and the records linked to a
sampled one (copied into its evidence folder).

Adding a kind is one entry in :data:`SAMPLE_KINDS` (problems, SPEC §3.8, are placed by
``opened_at`` and link their incidents and fix change). Approvals need nothing more: the
GIT-PROVENANCE entries of a kind (:data:`opsledger.rules.history.ENTRIES`) are shown for
any kind that has them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from opsledger.kpis.base import Excluded, KpiContext
from opsledger.model.ledger import Ledger
from opsledger.model.records import Change, Incident, Pir, Problem, Record

#: records of the period and those that cannot be placed in one (with why)
Placement = tuple[Sequence[Record], Sequence[Excluded]]


@dataclass(frozen=True)
class SampleKind:
    name: str
    #: how a record is placed in a period, in words (README, population.csv)
    dated_by: str
    place: Callable[[KpiContext], Placement]
    #: the moment that placed the record (shown in population.csv)
    moment: Callable[[Ledger, Record], datetime | None]
    #: fields shown in population.csv after id, path, blob and status, and the only
    #: fields ``--where`` accepts (a list field matches when any item does)
    fields: tuple[str, ...]
    linked: Callable[[Ledger, Record], Iterator[str]]


def field_values(record: Record, name: str) -> tuple[str, ...]:
    """A record's value of ``name`` as text (each item of a list)."""
    value: Any = record.data.get(name)
    if value is None:
        return ()
    if isinstance(value, list):
        return tuple(str(item) for item in value if not isinstance(item, Mapping | list))
    return () if isinstance(value, Mapping) else (str(value),)


def _pirs_of(ledger: Ledger, incident: Incident) -> Iterator[str]:
    if incident.pir:
        yield incident.pir
    for pir in sorted(ledger.pirs.values(), key=lambda p: p.id):
        if pir.incident == incident.id:
            yield pir.id


def _incident_links(ledger: Ledger, record: Record) -> Iterator[str]:
    assert isinstance(record, Incident)
    yield from _pirs_of(ledger, record)
    if record.caused_by_change:
        yield record.caused_by_change


def _change_links(ledger: Ledger, record: Record) -> Iterator[str]:
    assert isinstance(record, Change)
    if record.related_incident:
        yield record.related_incident


def _pir_links(ledger: Ledger, record: Record) -> Iterator[str]:
    assert isinstance(record, Pir)
    if record.incident:
        yield record.incident


def by_moment(
    table: Callable[[Ledger], Mapping[str, Record]],
    moment: Callable[[Ledger, Record], datetime | None],
    field: str,
) -> Callable[[KpiContext], Placement]:
    """Placement by one timestamp of the record itself (a kind the KPIs do not place)."""

    def place(ctx: KpiContext) -> Placement:
        placed: list[Record] = []
        out: list[Excluded] = []
        for record in sorted(table(ctx.ledger).values(), key=lambda r: r.id):
            at = moment(ctx.ledger, record)
            if at is None:
                out.append(Excluded(record.id, f"no {field}: cannot place it in a period"))
            elif ctx.period.contains(at):
                placed.append(record)
        return placed, out

    return place


def _opened_at(ledger: Ledger, record: Record) -> datetime | None:
    return record.opened_at if isinstance(record, Problem) else None


def _problem_links(ledger: Ledger, record: Record) -> Iterator[str]:
    assert isinstance(record, Problem)
    yield from record.incidents
    if record.fix_change:
        yield record.fix_change
    yield from record.runbooks


def _problems(ledger: Ledger) -> Mapping[str, Record]:
    return ledger.problem_records


def _pirs(ctx: KpiContext) -> Placement:
    """PIRs as the KPIs place them (:meth:`KpiContext.pirs`)."""
    placed, out = ctx.pirs
    return [record for record, _ in placed], out


def _pir_moment(ledger: Ledger, record: Record) -> datetime | None:
    assert isinstance(record, Pir)
    incident = ledger.incidents.get(record.incident or "")
    return incident.detected_at if incident is not None else None


SAMPLE_KINDS: Mapping[str, SampleKind] = {
    kind.name: kind
    for kind in (
        SampleKind(
            "change",
            "window.start",
            lambda ctx: ctx.changes,
            lambda ledger, r: r.window_start if isinstance(r, Change) else None,
            ("type", "risk", "services"),
            _change_links,
        ),
        SampleKind(
            "incident",
            "detected_at",
            lambda ctx: ctx.incidents,
            lambda ledger, r: r.detected_at if isinstance(r, Incident) else None,
            ("priority", "service", "source", "detection", "scope", "category"),
            _incident_links,
        ),
        SampleKind(
            "pir",
            "its incident's detected_at",
            _pirs,
            _pir_moment,
            ("incident",),
            _pir_links,
        ),
        SampleKind(
            "problem",
            "opened_at",
            by_moment(_problems, _opened_at, "opened_at"),
            _opened_at,
            ("services", "owner"),
            _problem_links,
        ),
    )
}
#: kinds the command names whose record kind this version does not have yet
PLANNED: Mapping[str, str] = {}
#: what --kind accepts
NAMES: tuple[str, ...] = (*SAMPLE_KINDS, *(k for k in PLANNED if k not in SAMPLE_KINDS))


def linked_ids(ledger: Ledger, record: Record) -> list[str]:
    """The IDs a record links to (its kind's links), each once, in order."""
    kind = SAMPLE_KINDS.get(record.kind)
    return list(dict.fromkeys(kind.linked(ledger, record))) if kind is not None else []
