"""What every KPI shares: the period, the context a KPI reads, and what it returns.

A KPI is a pure function ``(KpiContext) -> Sample``: the observations it measured (one per
record, or per action / outage) and the records it had to leave out, each with a reason.
Aggregation, grouping and targets are done once, in :mod:`opsledger.kpis.engine`, so each
KPI function only decides *what* it measures for each record.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cached_property
from typing import Literal, NamedTuple

from opsledger.calendar import BusinessCalendar
from opsledger.findings import Finding
from opsledger.history import HISTORY_UNAVAILABLE
from opsledger.history.model import HistoryIndex
from opsledger.model.ledger import Ledger
from opsledger.model.records import Change, Incident, Pir, Problem, Record
from opsledger.obligations import Followup, Obligations
from opsledger.period import Period
from opsledger.rules.recall import Recall

Unit = Literal["count", "ratio", "minutes", "hours", "days", "percent"]
#: how observations become a value: sum of values, share of ones, mean, median, or
#: availability (merged outage spans against the period length)
Aggregate = Literal["sum", "ratio", "mean", "median", "availability"]
Status = Literal["met", "missed", "no target", "no data"]


@dataclass(frozen=True, order=True)
class Excluded:
    """A record the KPI could not use, and why (never dropped silently)."""

    record: str
    reason: str


class Observation(NamedTuple):
    """One measured thing: its record, its value and what it can be grouped by.

    ``value`` is 1/0 for ratios, a duration for means and medians, 1 (or 0 when examined
    but not counted) for counts. ``at`` places it in a week, month or quarter. ``span`` is
    an outage (availability only). A named tuple: the KPIs make one per record each
    (10^5 records: millions), and a tuple is made several times faster than a frozen
    dataclass.
    """

    record: str
    value: float
    at: datetime | None = None
    priority: str | None = None
    services: tuple[str, ...] = ()
    source: str | None = None
    span: tuple[datetime, datetime] | None = None
    #: further groups it belongs to, as (dimension, key) pairs (``("regime", "dora")``)
    labels: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Sample:
    """What a KPI function returns."""

    observations: tuple[Observation, ...] = ()
    excluded: tuple[Excluded, ...] = ()
    notes: tuple[str, ...] = ()
    #: set when the KPI cannot be computed at all (e.g. "history unavailable"): no value
    unavailable: str | None = None
    #: availability: the measured window and the services measured (id -> own target)
    window: tuple[datetime, datetime] | None = None
    scope: Mapping[str, float | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Kpi:
    """One KPI of SPEC §5: its id (also its ``policy.yaml`` ``kpi_targets`` key)."""

    id: str
    name: str
    unit: Unit
    aggregate: Aggregate
    definition: str
    compute: Callable[[KpiContext], Sample] = field(repr=False, compare=False)
    history: bool = False  # needs the git history index
    dimensions: tuple[str, ...] = ()  # groups always shown (e.g. priority for MTTA)

    @property
    def target_key(self) -> str:
        return self.id


@dataclass
class KpiContext:
    """Everything a KPI may read. ``history`` is None when there is no git history."""

    ledger: Ledger
    as_of: datetime
    period: Period
    history: HistoryIndex | None = None
    given_findings: Sequence[Finding] | None = None
    shared: Obligations | None = None
    history_reason: str = HISTORY_UNAVAILABLE
    #: what the run's audit judged (``site serve``): a KPI running a rule reads its findings
    recall: Recall | None = field(default=None, compare=False)

    @cached_property
    def calendar(self) -> BusinessCalendar:
        return BusinessCalendar.of(self.ledger.policy)

    @cached_property
    def obligations(self) -> Obligations:
        """The run's obligations: the same verdicts the audit, site and reports read."""
        if self.shared is not None:
            return self.shared
        return Obligations(self.ledger, self.as_of, self.history, self.history_reason)

    @cached_property
    def findings(self) -> tuple[Finding, ...]:
        """The audit's findings as of ``as_of`` (run once, only if a KPI needs them)."""
        if self.given_findings is not None:
            return tuple(self.given_findings)
        from opsledger.audit import AuditOptions, run_audit

        options = AuditOptions(
            as_of=self.as_of,
            history=self.history,
            obligations=self.obligations,
            history_reason=self.history_reason,
        )
        return tuple(run_audit(self.ledger, options))

    @cached_property
    def incidents(self) -> tuple[tuple[Incident, ...], tuple[Excluded, ...]]:
        """Incidents detected in the period, by ID; those with no ``detected_at`` excluded."""
        kept: list[Incident] = []
        out: list[Excluded] = []
        for inc in sorted(self.ledger.incidents.values(), key=lambda i: i.id):
            if inc.detected_at is None:
                out.append(Excluded(inc.id, "no detected_at: cannot place it in a period"))
            elif self.period.contains(inc.detected_at):
                kept.append(inc)
        return tuple(kept), tuple(out)

    @cached_property
    def changes(self) -> tuple[tuple[Change, ...], tuple[Excluded, ...]]:
        """Changes whose window starts in the period; those with no ``window.start`` excluded."""
        kept: list[Change] = []
        out: list[Excluded] = []
        for chg in sorted(self.ledger.changes.values(), key=lambda c: c.id):
            if chg.window_start is None:
                out.append(Excluded(chg.id, "no window.start: cannot place it in a period"))
            elif self.period.contains(chg.window_start):
                kept.append(chg)
        return tuple(kept), tuple(out)

    @cached_property
    def pirs_by_incident(self) -> Mapping[str, Pir]:
        """Each incident's PIR: the one it names in ``pir``, else one naming it."""
        found: dict[str, Pir] = {}
        for pir in sorted(self.ledger.pirs.values(), key=lambda p: p.id):
            if pir.incident is not None:
                found.setdefault(pir.incident, pir)
        for inc in self.ledger.incidents.values():
            named = self.ledger.pirs.get(inc.pir or "")
            if named is not None:
                found[inc.id] = named
        return found

    @cached_property
    def pirs(self) -> tuple[list[tuple[Record, Observation]], list[Excluded]]:
        """PIRs of the period, by ID, placed by their incident's detection (with that
        incident's observation, value 0), and those that cannot be placed."""
        placed: list[tuple[Record, Observation]] = []
        out: list[Excluded] = []
        for pir in sorted(self.ledger.pirs.values(), key=lambda p: p.id):
            inc = self.ledger.incidents.get(pir.incident or "")
            if inc is not None and inc.detected_at is not None:
                if self.period.contains(inc.detected_at):
                    placed.append((pir, observe(inc, 0)._replace(record=pir.id)))
            elif self.period.bounded:
                out.append(Excluded(pir.id, "its incident has no detection time"))
            else:
                placed.append((pir, Observation(pir.id, 0)))
        return placed, out

    def records(self, *, runbooks: bool) -> tuple[list[tuple[Record, Observation]], list[Excluded]]:
        """Records of the period, each with a groupable (value 0) observation: incidents and
        changes as above, PIRs placed by their incident's detection, and (if asked)
        runbooks, living documents with no date, in every period."""
        placed: list[tuple[Record, Observation]] = []
        out = [*self.incidents[1], *self.changes[1]]
        placed += [(inc, observe(inc, 0)) for inc in self.incidents[0]]
        placed += [
            (chg, Observation(chg.id, 0, chg.window_start, None, chg.services))
            for chg in self.changes[0]
        ]
        pirs, unplaced = self.pirs
        placed += pirs
        out += unplaced
        if runbooks:
            placed += [
                (rb, Observation(rb.id, 0, None, None, rb.services))
                for rb in sorted(self.ledger.runbooks.values(), key=lambda r: r.id)
            ]
        return placed, out

    def followup(self, found: Followup, value: float, at: datetime | None) -> Observation:
        """An observation about a follow-up action, dated ``at``: grouped by its PIR's
        incident (priority, service, source), or by its problem's services."""
        record = found.record
        if isinstance(record, Problem):
            return Observation(found.label, value, at, None, record.services)
        inc = self.ledger.incidents.get(record.incident or "")
        if inc is None:
            return Observation(found.label, value, at)
        return observe(inc, value)._replace(record=found.label, at=at)

    def local_day(self, moment: datetime) -> date:
        return moment.astimezone(self.ledger.policy.timezone).date()

    def imported(self, *record_ids: str) -> bool:
        """Any of these records was imported from an earlier system (first committed
        before ``history.since``, or carrying an ``external_id``)."""
        if self.history is None:
            return False
        known = self._imported
        for record_id in record_ids:
            found = known.get(record_id)
            if found is None:
                found = known[record_id] = self.history.imported(record_id)
            if found:
                return True
        return False

    @cached_property
    def _imported(self) -> dict[str, bool]:
        """Record ID -> imported, as the history index says (asked by a dozen KPIs about
        every record; the index does not change during a run)."""
        return {}

    @cached_property
    def labels(self) -> dict[tuple[str, datetime], tuple[str, ...]]:
        """(week, month or quarter, moment) -> the period naming it, asked of the same
        moments by many KPIs (:func:`~.engine.keys`)."""
        return {}


def gap(inc: Incident, *fields: str) -> Excluded | None:
    """An exclusion when an imported incident lacks a field this KPI needs."""
    for name in fields:
        if name in inc.import_gaps:
            return Excluded(inc.id, f"imported without {name} (import_gaps)")
    return None


def observe(inc: Incident, value: float, at: datetime | None = None) -> Observation:
    """An observation about an incident, groupable by its priority, service and source."""
    return Observation(
        inc.id,
        value,
        at if at is not None else inc.detected_at,
        inc.priority,
        (inc.service,) if inc.service else (),
        inc.source,
    )


def minutes(delta: timedelta) -> float:
    return delta.total_seconds() / 60


def hours(delta: timedelta) -> float:
    return delta.total_seconds() / 3600


def sample(
    observations: Iterable[Observation],
    excluded: Iterable[Excluded],
    notes: Iterable[str] = (),
) -> Sample:
    return Sample(tuple(observations), tuple(sorted(set(excluded))), tuple(notes))


def no_history(reason: str = HISTORY_UNAVAILABLE, excluded: Iterable[Excluded] = ()) -> Sample:
    """A history KPI without a history index: no value, never a number, and why."""
    return Sample(excluded=tuple(excluded), notes=(reason,), unavailable=reason)
