"""Obligations: every deadline a record must meet, decided in one place.

Pure functions decide each obligation of one record from the record, the policy, "now"
(``--as-of``) and, where the trusted time of an event comes from git, the history index:

- acknowledgement (:func:`incidents.acknowledgement`): INC-ACK, site, brief
- bridge (:func:`incidents.bridge`): INC-BRIDGE, site, brief
- initial notification (:func:`incidents.initial_notification`): INC-NOTIFY,
  initial_notification_compliance, site, brief
- update cadence (:func:`incidents.update_cadence`): INC-CADENCE, update_cadence_compliance,
  site, brief
- restoration (:func:`incidents.restoration`): site, brief
- resolution, the SLA (:func:`incidents.resolution`): sla_compliance, site, brief
- PIR due (:func:`incidents.pir_due`): INC-PIR, pir_on_time_rate, site, brief
- action due, of every follow-up action of a PIR or a problem (:func:`actions.action_due`,
  :meth:`Obligations.followups`): PIR-OVERDUE, action_on_time_rate, backlog_aged, actions
  tracker, PIR and problem pages, reports, brief
- advance notice (:func:`changes.notice`): CHG-NOTICE, site
- approval before the window (:func:`changes.approval_before_window`): CHG-APPROVED-BEFORE,
  site
- retrospective approval (:func:`changes.retrospective_approval`): CHG-EMERGENCY, site
- runbook review (:func:`runbooks.runbook_review`): RB-STALE, site
- documentation lag (:func:`documentation.documentation`): GIT-LATE-RECORD,
  documentation_lag, brief
- regulatory clocks (:func:`regulatory.clocks`): REG-CLASSIFY, REG-DEADLINE,
  regulatory_on_time_rate, regulatory calendar and incident pages, reports, brief
- recurrences and recurring clusters (:mod:`recurrence`): recurrence_rate_*, PRB-CANDIDATE,
  problem_coverage, ``problems suggest``, site, reports
- known error, fix held, fix change (:mod:`problems`): PRB-KNOWN-ERROR, PRB-RECURRED,
  PRB-FIX, time_to_known_error, recurrence_after_fix, site, reports, brief

:class:`Obligations` decides them for a whole ledger once per run and caches the verdicts;
every consumer asks it rather than recomputing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any, NamedTuple

from opsledger.calendar import BusinessCalendar
from opsledger.history import HISTORY_UNAVAILABLE
from opsledger.history.derive import first_done, status_since
from opsledger.history.model import HistoryIndex, Version
from opsledger.model.ledger import Ledger
from opsledger.model.policy import fingerprint
from opsledger.model.records import Action, Change, Incident, Pir, Problem, Runbook
from opsledger.model.settings import Setting
from opsledger.obligations import (
    actions,
    changes,
    documentation,
    incidents,
    problems,
    recurrence,
    regulatory,
    runbooks,
)
from opsledger.obligations.problems import Cluster
from opsledger.obligations.verdict import FAILED, Cadence, Gap, State, Verdict

IMPORTED = "imported before adoption"


@dataclass(frozen=True)
class IncidentObligations:
    acknowledgement: Verdict | None
    bridge: Verdict | None
    initial_notification: Verdict | None
    cadence: Cadence | None
    restoration: Verdict | None
    resolution: Verdict | None
    pir: Verdict | None

    def verdicts(self) -> list[Verdict]:
        """The deadline verdicts (cadence aside), in the order a reader meets them."""
        found = (
            self.acknowledgement,
            self.bridge,
            self.initial_notification,
            self.restoration,
            self.resolution,
            self.pir,
        )
        return [v for v in found if v is not None]

    def ordered(self) -> list[Verdict | Cadence]:
        """Every obligation that applies, cadence included, in the order a reader meets
        them: the "against policy" tables of the site and the brief."""
        found = (
            self.acknowledgement,
            self.bridge,
            self.initial_notification,
            self.cadence,
            self.restoration,
            self.resolution,
            self.pir,
        )
        return [v for v in found if v is not None]


@dataclass(frozen=True)
class ChangeObligations:
    notice: Verdict | None
    approval_before_window: Verdict | None
    retrospective_approval: Verdict | None

    def verdicts(self) -> list[Verdict]:
        found = (self.notice, self.approval_before_window, self.retrospective_approval)
        return [v for v in found if v is not None]


@dataclass(frozen=True)
class ProblemObligations:
    known_error: Verdict | None
    fix_held: Verdict | None
    fix_change: Verdict | None

    def verdicts(self) -> list[Verdict]:
        found = (self.known_error, self.fix_change, self.fix_held)
        return [v for v in found if v is not None]


class Followup(NamedTuple):
    """A follow-up action: of a PIR or a problem, with its action-due verdict."""

    record: Pir | Problem
    action: Action
    verdict: Verdict | None

    @property
    def label(self) -> str:
        """``PIR-2026-0001#A1`` (by its position when it has no ID: ``#2``)."""
        return f"{self.record.id}#{self.action.id or self.action.index + 1}"


NOT_COMMITTED_PIR = "approval not committed on the branch yet"
#: no verdict held from the last run (:meth:`Obligations._held`)
NOT_HELD: Any = object()


def _at_or_after(at: Version | None, now: Version | None, as_of: datetime) -> Version | None:
    """The run holding at --as-of (``at``); else, when none held then, the run holding now
    if it began after --as-of (read as 'not yet then'): never a run that began before
    --as-of and did not hold at it (an unreadable version at --as-of, fixed later)."""
    if at is not None:
        return at
    return now if now is not None and now.landed_at > as_of else None


class Obligations:
    """Every obligation of ``ledger`` as of ``as_of``, decided once and cached.

    ``history`` is the history index (None when history is unavailable; then the times
    that only git can establish, a PIR's approval or an action's completion, are
    ``unverified`` with ``history_reason``)."""

    def __init__(
        self,
        ledger: Ledger,
        as_of: datetime,
        history: HistoryIndex | None = None,
        history_reason: str = HISTORY_UNAVAILABLE,
        last: Obligations | None = None,
    ) -> None:
        self.ledger = ledger
        self.policy = ledger.policy
        self.as_of = as_of
        self.history = history
        self.history_reason = history_reason
        #: the last run's obligations (``site serve``), when decided under the same policy,
        #: "now" and history index: a record's verdicts are reused where decided from the
        #: very same record objects (:meth:`_held`)
        self._last = last if last is not None and self._same_setting(last) else None
        if last is not None:
            last._last = None  # one run back, never a chain
        #: (kind, record ID) -> the objects its verdicts were decided from
        self._inputs: dict[tuple[str, str], tuple[object, ...]] = {}
        self._incidents: dict[str, IncidentObligations] = {}
        self._changes: dict[str, ChangeObligations] = {}
        self._actions: dict[str, tuple[Verdict | None, ...]] = {}
        self._runbooks: dict[str, Verdict | None] = {}
        self._regulatory: dict[str, tuple[regulatory.Clock, ...]] = {}
        self._problems: dict[str, ProblemObligations] = {}
        self._recurrences: dict[timedelta, dict[str, tuple[str, ...]]] = {}
        self._documentation: dict[str, documentation.Documentation | None] = {}

    @cached_property
    def calendar(self) -> BusinessCalendar:
        return BusinessCalendar.of(self.policy)

    def _same_setting(self, last: Obligations) -> bool:
        return (
            last.as_of == self.as_of
            and last.history is self.history
            and last.history_reason == self.history_reason
            and fingerprint(last.policy) == fingerprint(self.policy)
        )

    def _held(self, kind: str, record_id: str, *inputs: object) -> Any:
        """The last run's verdicts of ``kind`` (the name of their cache) for the record
        when they were decided from the same objects ``inputs`` (a record, the PIRs
        reviewing an incident: each function deciding a verdict reads only those, the
        policy, "now" and the history), else :data:`NOT_HELD`. Notes the inputs for the
        next run."""
        self._inputs[kind, record_id] = inputs
        last = self._last
        held = last._inputs.get((kind, record_id)) if last is not None else None
        if (
            last is None
            or held is None
            or len(held) != len(inputs)
            or any(a is not b for a, b in zip(held, inputs, strict=True))
        ):
            return NOT_HELD
        return getattr(last, kind).get(record_id, NOT_HELD)

    def _unknown(self, *record_ids: str) -> str | None:
        """Why git cannot date events of these records (None when it can)."""
        if self.history is None:
            return self.history_reason
        if any(self.history.imported(r) for r in record_ids):
            return IMPORTED
        return None

    # -- incidents ----------------------------------------------------------------------
    def incident(self, inc: Incident) -> IncidentObligations:
        found = self._incidents.get(inc.id)
        if found is None:
            found = self._held("_incidents", inc.id, inc, *self.reviews(inc))
        if found is NOT_HELD:
            policy, now = self.policy, self.as_of
            found = IncidentObligations(
                incidents.acknowledgement(inc, policy, now),
                incidents.bridge(inc, policy, now),
                incidents.initial_notification(inc, policy, now),
                incidents.update_cadence(inc, policy, now),
                incidents.restoration(inc, policy, now),
                incidents.resolution(inc, policy, now),
                self._pir(inc),
            )
        self._incidents[inc.id] = found
        return found

    @cached_property
    def _pirs_by_incident(self) -> dict[str, dict[str, Pir]]:
        return incidents.pirs_by_incident(self.ledger.pirs)

    def reviews(self, inc: Incident) -> list[Pir]:
        return incidents.reviews_of(inc, self.ledger.pirs, self._pirs_by_incident)

    def _pir(self, inc: Incident) -> Verdict | None:
        reviews = self.reviews(inc)
        ids = [inc.id, *(r.id for r in reviews), *([inc.pir] if inc.pir else [])]
        unknown = self._unknown(*ids)
        landed = None
        not_then = False  # an approval the branch holds now did not hold at --as-of
        if unknown is None and self.history is not None:
            times = []
            for review in dict.fromkeys(ids[1:]):
                # approved now, from the landing that began it: a PIR set back to draft
                # and approved again after its due date is late, never 'met' from the first
                trail = self.history.get(review)
                now = status_since(trail, "approved") if trail else None
                since = _at_or_after(
                    status_since(trail, "approved", self.as_of) if trail else None,
                    now,
                    self.as_of,
                )
                if since is not None:
                    times.append(since.landed_at)
                not_then = not_then or (since is None and now is not None)
            landed = min(times, default=None)
        why = "approval not on the branch at --as-of" if not_then else NOT_COMMITTED_PIR
        return incidents.pir_due(
            inc,
            self.policy,
            self.calendar,
            self.as_of,
            reviews,
            landed,
            unknown or why,
        )

    # -- changes ------------------------------------------------------------------------
    def change(self, chg: Change) -> ChangeObligations:
        found = self._changes.get(chg.id)
        if found is None:
            found = self._held("_changes", chg.id, chg)
        if found is NOT_HELD:
            policy, now = self.policy, self.as_of
            found = ChangeObligations(
                changes.notice(chg, policy, now),
                changes.approval_before_window(chg, policy, now),
                changes.retrospective_approval(chg, policy, self.calendar, now),
            )
        self._changes[chg.id] = found
        return found

    # -- actions and runbooks -----------------------------------------------------------
    def actions(self, pir: Pir | Problem) -> tuple[Verdict | None, ...]:
        """One verdict (or None) per action of ``pir`` (a PIR or a problem), by index."""
        found = self._actions.get(pir.id)
        if found is None:
            found = self._held("_actions", pir.id, pir)
        if found is NOT_HELD:
            unknown = self._unknown(pir.id)
            done: dict[str, Version] = {}
            if unknown is None and self.history is not None:
                trail = self.history.get(pir.id)
                at, now = (first_done(trail, self.as_of), first_done(trail)) if trail else ({}, {})
                for key in {*at, *now}:
                    run = _at_or_after(at.get(key), now.get(key), self.as_of)
                    if run is not None:
                        done[key] = run
            verdicts = []
            for action in pir.actions:
                version = done.get(action.id) if action.id is not None else None
                why = unknown or (
                    "no id: its history cannot be followed"
                    if action.id is None
                    else "not committed on the branch yet"
                )
                landed = version.landed_at if version is not None else None
                verdicts.append(actions.action_due(action, self.calendar, self.as_of, landed, why))
            found = tuple(verdicts)
        self._actions[pir.id] = found
        return found

    def followups(self) -> list[Followup]:
        """Every follow-up action, of each PIR and each problem, in record ID order, with
        its action-due verdict (:meth:`actions`): what PIR-OVERDUE judges,
        action_on_time_rate and backlog_aged measure, the reports list and the actions
        tracker shows."""
        ledger = self.ledger
        records: list[Pir | Problem] = [*ledger.pirs.values(), *ledger.problem_records.values()]
        return [
            Followup(record, action, verdict)
            for record in sorted(records, key=lambda r: r.id)
            for action, verdict in zip(record.actions, self.actions(record), strict=True)
        ]

    # -- documentation ------------------------------------------------------------------
    def documentation(self, incident_id: str) -> documentation.Documentation | None:
        """The incident's documentation lag from its history (None without history,
        without a stated detection, or for an incident imported from an earlier system,
        whose first commit is its import, not its writing up): what GIT-LATE-RECORD
        judges, the documentation_lag KPI measures and the brief says
        (:func:`documentation.documentation`)."""
        if incident_id not in self._documentation:
            found = self._held("_documentation", incident_id)  # from the history alone
            if found is NOT_HELD:
                history, trail = self.history, None
                if history is not None and not history.imported(incident_id):
                    trail = history.get(incident_id)
                found = documentation.documentation(trail, self.calendar) if trail else None
            self._documentation[incident_id] = found
        return self._documentation[incident_id]

    def runbook(self, rb: Runbook) -> Verdict | None:
        if rb.id not in self._runbooks:
            found = self._held("_runbooks", rb.id, rb)
            if found is NOT_HELD:
                found = runbooks.runbook_review(rb, self.policy, self.calendar, self.as_of)
            self._runbooks[rb.id] = found
        return self._runbooks[rb.id]

    # -- regulatory reporting -----------------------------------------------------------
    def regulatory(self, inc: Incident) -> tuple[regulatory.Clock, ...]:
        """The incident's regulatory clocks (classification and stages, regime by regime)."""
        found = self._regulatory.get(inc.id)
        if found is None:
            found = self._held("_regulatory", inc.id, inc)
        if found is NOT_HELD:
            found = regulatory.clocks(inc, self.policy, self.as_of)
        self._regulatory[inc.id] = found
        return found

    # -- problems and recurrence --------------------------------------------------------
    def setting(self, setting: Setting) -> Any:
        return setting.read(self.policy.doc.data)

    def recurrences(self, window: timedelta) -> dict[str, tuple[str, ...]]:
        """Every incident's earlier incidents it recurs within ``window``
        (:func:`recurrence.recurrences`)."""
        found = self._recurrences.get(window)
        if found is None:
            found = recurrence.recurrences(self.ledger.incidents.values(), window)
            self._recurrences[window] = found
        return found

    @cached_property
    def linked(self) -> dict[str, tuple[str, ...]]:
        """Incident ID -> the problems linking it (sorted)."""
        found: dict[str, set[str]] = {}
        for prb in self.ledger.problem_records.values():
            for inc in prb.incidents:
                found.setdefault(inc, set()).add(prb.id)
        return {inc: tuple(sorted(ids)) for inc, ids in found.items()}

    def problems_of(self, incident_id: str) -> list[Problem]:
        table = self.ledger.problem_records
        return [table[p] for p in self.linked.get(incident_id, ()) if p in table]

    @cached_property
    def clusters(self) -> list[Cluster]:
        """The recurring clusters of at least ``problems.candidate_min_incidents``
        incidents, linked or not."""
        window = self.setting(problems.CANDIDATE_WINDOW)
        groups = recurrence.clusters(self.ledger.incidents.values(), window)
        minimum = self.setting(problems.CANDIDATE_MIN)
        return problems.build_clusters(
            groups, self.ledger.incidents, self.linked, minimum, self.as_of
        )

    @cached_property
    def candidates(self) -> list[Cluster]:
        """The clusters that should be problems (PRB-CANDIDATE), largest and most recent
        first."""
        return problems.candidates(self.clusters, self.setting(problems.CANDIDATE_MIN))

    def problem(self, prb: Problem) -> ProblemObligations:
        found = self._problems.get(prb.id)
        if found is None:
            days = self.setting(problems.KNOWN_ERROR_WITHIN)
            found = ProblemObligations(
                problems.known_error(prb, days, self.calendar, self.as_of),
                problems.fix_held(prb, self.ledger.incidents),
                problems.fix_change(prb, self.ledger.changes),
            )
            self._problems[prb.id] = found
        return found


__all__ = [
    "FAILED",
    "Cadence",
    "ChangeObligations",
    "Gap",
    "IncidentObligations",
    "Obligations",
    "ProblemObligations",
    "State",
    "Verdict",
]
