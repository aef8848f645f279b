"""Incident KPIs from the records: volume, detection, response times, compliance,
communication, reopens and recurrence.

Each function measures the incidents detected in the period (``detected_at`` in
``[since, until)``); an incident without ``detected_at`` is excluded from all of them, and
an imported incident is excluded from the KPIs needing a field listed in its
``import_gaps``.
"""

from __future__ import annotations

import bisect
import itertools
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta

from opsledger.history.derive import transitions
from opsledger.kpis.base import (
    HISTORY_UNAVAILABLE,
    Excluded,
    KpiContext,
    Observation,
    Sample,
    gap,
    minutes,
    observe,
    sample,
)
from opsledger.model.records import Incident

RESOLVED = frozenset({"resolved", "closed"})
MITIGATED_OR_LATER = frozenset({"mitigated", "resolved", "closed"})
UNRESOLVED = frozenset({"open", "mitigated"})


def no_clock(inc: Incident) -> str:
    return f"priority {inc.priority or '(none)'} is not defined in policy.yaml"


def incident_volume(ctx: KpiContext) -> Sample:
    incidents, excluded = ctx.incidents
    return sample((observe(inc, 1) for inc in incidents), excluded)


def automated_detection_ratio(ctx: KpiContext) -> Sample:
    incidents, excluded = ctx.incidents
    out, obs = list(excluded), []
    for inc in incidents:
        missing = gap(inc, "detection")
        if missing is not None:
            out.append(missing)
        elif inc.detection not in ("automated", "manual"):
            out.append(Excluded(inc.id, "no valid detection (automated or manual)"))
        else:
            obs.append(observe(inc, inc.detection == "automated"))
    return sample(obs, out)


def _elapsed(
    ctx: KpiContext,
    field: str,
    required: Callable[[Incident], str | None],
    applies: Callable[[Incident], bool] = lambda inc: True,
) -> Sample:
    """Minutes from detection to ``field`` for the incidents it ``applies`` to.

    Missing while ``required`` says why the record should have it: excluded with that
    reason; missing otherwise (not yet reached): not measured. A time before detection is
    excluded too.
    """
    incidents, excluded = ctx.incidents
    out, obs = list(excluded), []
    for inc in incidents:
        if not applies(inc):
            continue
        missing = gap(inc, field)
        end: datetime | None = getattr(inc, field)
        if missing is not None:
            out.append(missing)
        elif end is None:
            why = required(inc)
            if why is not None:
                out.append(Excluded(inc.id, why))
        elif inc.detected_at is not None and end < inc.detected_at:
            out.append(Excluded(inc.id, f"{field} before detected_at (INC-TIMES)"))
        elif inc.detected_at is not None:
            obs.append(observe(inc, minutes(end - inc.detected_at)))
    return sample(obs, out)


def _by_status(statuses: frozenset[str], field: str) -> Callable[[Incident], str | None]:
    def required(inc: Incident) -> str | None:
        return f"status {inc.status} but no {field}" if inc.status in statuses else None

    return required


def mtta(ctx: KpiContext) -> Sample:
    return _elapsed(ctx, "acknowledged_at", _by_status(MITIGATED_OR_LATER, "acknowledged_at"))


def mttb(ctx: KpiContext) -> Sample:
    clocks = ctx.ledger.policy.priorities

    def major(inc: Incident) -> bool:
        clock = clocks.get(inc.priority or "")
        return clock is not None and clock.bridge_within is not None

    return _elapsed(ctx, "bridge_opened_at", lambda inc: "no bridge_opened_at (INC-BRIDGE)", major)


def mttr_restore(ctx: KpiContext) -> Sample:
    return _elapsed(ctx, "mitigated_at", _by_status(MITIGATED_OR_LATER, "mitigated_at"))


def mttr_resolve(ctx: KpiContext) -> Sample:
    return _elapsed(ctx, "resolved_at", _by_status(RESOLVED, "resolved_at"))


def sla_compliance(ctx: KpiContext) -> Sample:
    incidents, excluded = ctx.incidents
    out, obs = list(excluded), []
    for inc in incidents:
        if inc.status not in RESOLVED:
            continue
        clock = ctx.ledger.policy.priorities.get(inc.priority or "")
        missing = gap(inc, "resolved_at")
        if missing is not None:
            out.append(missing)
        elif inc.resolved_at is None or inc.detected_at is None:
            out.append(Excluded(inc.id, f"status {inc.status} but no resolved_at"))
        elif clock is None:
            out.append(Excluded(inc.id, no_clock(inc)))
        else:
            took = inc.resolved_at - inc.detected_at
            obs.append(observe(inc, took <= clock.resolve_within))
    return sample(obs, out)


def _notified(ctx: KpiContext) -> tuple[list[tuple[Incident, bool]], list[Excluded]]:
    """Incidents whose policy requires notification and whose deadline has passed (or
    that notified already), with whether the first notification met the deadline."""
    incidents, excluded = ctx.incidents
    out, judged = list(excluded), []
    for inc in incidents:
        clock = ctx.ledger.policy.priorities.get(inc.priority or "")
        if clock is None:
            out.append(Excluded(inc.id, no_clock(inc)))
            continue
        missing = gap(inc, "notifications")
        if not clock.notification_required or inc.detected_at is None:
            continue
        if missing is not None:
            out.append(missing)
            continue
        deadline = inc.detected_at + clock.initial_notification_within
        sent = [n for n in inc.notifications if n.at is not None]
        initial = [n for n in sent if n.kind == "initial"] or sent
        first = min((n.at for n in initial if n.at is not None), default=None)
        if first is None:
            if ctx.as_of > deadline:
                judged.append((inc, False))
        else:
            judged.append((inc, first <= deadline))
    return judged, out


def initial_notification_compliance(ctx: KpiContext) -> Sample:
    judged, out = _notified(ctx)
    return sample((observe(inc, ok) for inc, ok in judged), out)


def update_cadence_compliance(ctx: KpiContext) -> Sample:
    judged, out = _notified(ctx)
    obs = []
    for inc, _ in judged:
        clock = ctx.ledger.policy.priorities[inc.priority or ""]
        assert inc.detected_at is not None
        end = inc.resolved_at or (None if inc.status in RESOLVED else ctx.as_of)
        if end is None:
            out.append(Excluded(inc.id, f"status {inc.status} but no resolved_at"))
            continue
        marks = sorted(n.at for n in inc.notifications if n.at is not None and n.at <= end)
        if not marks:  # silence from detection
            marks = [inc.detected_at]
        marks.append(end)
        silent = max(b - a for a, b in itertools.pairwise(marks))
        obs.append(observe(inc, silent <= clock.update_every))
    return sample(obs, out)


def communication_completeness(ctx: KpiContext) -> Sample:
    incidents, excluded = ctx.incidents
    flagged = {f.record for f in ctx.findings if f.rule == "INC-STATEMENT"}
    out, obs = list(excluded), []
    for inc in incidents:
        needed = ("impact", "resolution") if inc.status in RESOLVED else ("impact",)
        missing = gap(inc, *needed)
        if missing is not None:
            out.append(missing)
        else:
            obs.append(observe(inc, inc.id not in flagged))
    return sample(obs, out)


def reopened_in_history(ctx: KpiContext, inc: Incident) -> tuple[bool, bool]:
    """(was resolved at some point, went back to open/mitigated) as the history shows."""
    if ctx.history is None or ctx.imported(inc.id):
        return False, False
    history = ctx.history.get(inc.id)
    if history is None:
        return False, False
    resolved = any((v.data or {}).get("status") in RESOLVED for v in history.readable())
    back = any(t.old in RESOLVED and t.new in UNRESOLVED for t in transitions(history, "status"))
    return resolved, back


def reopen_rate(ctx: KpiContext) -> Sample:
    incidents, excluded = ctx.incidents
    obs: list[Observation] = []
    imported = 0
    for inc in incidents:
        was_resolved, back = reopened_in_history(ctx, inc)
        imported += ctx.imported(inc.id)
        reopened = bool(inc.reopened) or back
        if inc.status in RESOLVED or reopened or was_resolved:
            obs.append(observe(inc, reopened))
    notes = []
    if ctx.history is None:
        notes.append(f"{HISTORY_UNAVAILABLE}: only reopens recorded in 'reopened' are counted")
    if imported:
        notes.append(
            f"{imported} incident(s) imported before adoption: only their 'reopened' field counts"
        )
    return sample(obs, excluded, notes)


def _recurrence(days: int) -> Callable[[KpiContext], Sample]:
    window = timedelta(days=days)

    def recurrence(ctx: KpiContext) -> Sample:
        everyone = [i for i in ctx.ledger.incidents.values() if i.detected_at is not None]
        series: dict[tuple[str, str], list[tuple[datetime, str]]] = defaultdict(list)
        for other in everyone:
            if other.service and other.category:
                key = (other.service, other.category.casefold())
                series[key].append((other.detected_at, other.id))  # type: ignore[arg-type]
        for times in series.values():
            times.sort()
        incidents, excluded = ctx.incidents
        out, obs = list(excluded), []
        for inc in incidents:
            at = inc.detected_at
            assert at is not None
            missing = gap(inc, "category")
            if missing is not None:
                out.append(missing)
                continue
            earlier = False
            if inc.service and inc.category:
                times = series[(inc.service, inc.category.casefold())]
                lo = bisect.bisect_left(times, (at - window, ""))
                earlier = bisect.bisect_left(times, (at, "")) > lo  # detected before inc
            named = ctx.ledger.incidents.get(inc.recurrence_of or "")
            if named is not None and named.id != inc.id and named.detected_at is not None:
                earlier = earlier or timedelta(0) <= at - named.detected_at <= window
            obs.append(observe(inc, earlier))
        return sample(obs, out)

    recurrence.__name__ = f"recurrence_rate_{days}d"
    return recurrence


recurrence_rate_30d = _recurrence(30)
recurrence_rate_60d = _recurrence(60)
recurrence_rate_90d = _recurrence(90)
