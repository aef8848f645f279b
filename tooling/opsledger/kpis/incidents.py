"""Incident KPIs from the records: volume, detection, response times, compliance,
communication, reopens and recurrence.

Each function measures the incidents detected in the period (``detected_at`` in
``[since, until)``); an incident without ``detected_at`` is excluded from all of them, and
an imported incident is excluded from the KPIs needing a field listed in its
``import_gaps``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from opsledger.history.derive import transitions
from opsledger.history.model import RecordHistory
from opsledger.kpis.base import (
    Excluded,
    KpiContext,
    Observation,
    Sample,
    gap,
    minutes,
    observe,
    sample,
)
from opsledger.model.fields import text
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
    """Resolved incidents: the resolution obligation (``resolve_within`` of detection) met."""
    incidents, excluded = ctx.incidents
    out, obs = list(excluded), []
    for inc in incidents:
        if inc.status not in RESOLVED:
            continue
        missing = gap(inc, "resolved_at")
        verdict = ctx.obligations.incident(inc).resolution
        if missing is not None:
            out.append(missing)
        elif inc.resolved_at is None or inc.detected_at is None:
            out.append(Excluded(inc.id, f"status {inc.status} but no resolved_at"))
        elif verdict is None:
            out.append(Excluded(inc.id, no_clock(inc)))
        else:
            obs.append(observe(inc, verdict.state == "met"))
    return sample(obs, out)


def _notified(ctx: KpiContext) -> tuple[list[tuple[Incident, bool]], list[Excluded]]:
    """Incidents whose policy requires notification and whose initial-notification verdict
    is decided (deadline passed, or notified), with whether it was met."""
    incidents, excluded = ctx.incidents
    out, judged = list(excluded), []
    for inc in incidents:
        if ctx.ledger.policy.priorities.get(inc.priority or "") is None:
            out.append(Excluded(inc.id, no_clock(inc)))
            continue
        missing = gap(inc, "notifications")
        verdict = ctx.obligations.incident(inc).initial_notification
        if missing is not None and inc.detected_at is not None:
            if notification_required(ctx, inc):
                out.append(missing)
            continue
        if verdict is None or verdict.state == "pending":
            continue
        judged.append((inc, verdict.state == "met"))
    return judged, out


def notification_required(ctx: KpiContext, inc: Incident) -> bool:
    clock = ctx.ledger.policy.priorities.get(inc.priority or "")
    return clock is not None and clock.notification_required


def initial_notification_compliance(ctx: KpiContext) -> Sample:
    judged, out = _notified(ctx)
    return sample((observe(inc, ok) for inc, ok in judged), out)


def update_cadence_compliance(ctx: KpiContext) -> Sample:
    """Of the incidents judged for their initial notification: no gap over
    ``update_every`` from the first notification until resolution (so far, while open).
    With no notification at all, the silence from detection is the gap."""
    judged, out = _notified(ctx)
    obs = []
    for inc, _ in judged:
        cadence = ctx.obligations.incident(inc).cadence
        if cadence is not None:
            obs.append(observe(inc, cadence.state == "met"))
        elif not any(n.at is not None for n in inc.notifications):
            out.append(Excluded(inc.id, "no notification sent (counted by initial notification)"))
        else:
            out.append(Excluded(inc.id, f"status {inc.status} but no resolved_at"))
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
    """(was resolved at some point, reopened) as the history shows: reopened when a commit
    moved the status back to open/mitigated, or a committed version recorded a reopen."""
    if ctx.history is None or ctx.imported(inc.id):
        return False, False
    history = ctx.history.get(inc.id)
    if history is None:
        return False, False
    return ctx.history.derived("reopened", history, _reopened)


def _reopened(history: RecordHistory) -> tuple[bool, bool]:
    """(resolved at some point, reopened), read from the history alone."""
    # a past version's status is unchecked (a list, a mapping): only text is a status
    resolved = any(text(v.data or {}, "status") in RESOLVED for v in history.readable())
    back = any(
        isinstance(t.old, str)
        and isinstance(t.new, str)
        and t.old in RESOLVED
        and t.new in UNRESOLVED
        for t in transitions(history, "status")
    )
    # a reopen recorded in a committed version counts even if a later commit deleted it
    recorded = any(
        isinstance((v.data or {}).get("reopened"), list) and (v.data or {})["reopened"]
        for v in history.readable()
    )
    return resolved, back or recorded


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
        notes.append(f"{ctx.history_reason}: only reopens recorded in 'reopened' are counted")
    if imported:
        notes.append(
            f"{imported} incident(s) imported before adoption: only their 'reopened' field counts"
        )
    return sample(obs, excluded, notes)


def _recurrence(days: int) -> Callable[[KpiContext], Sample]:
    window = timedelta(days=days)

    def recurrence(ctx: KpiContext) -> Sample:
        recurs = ctx.obligations.recurrences(window)
        incidents, excluded = ctx.incidents
        out, obs = list(excluded), []
        for inc in incidents:
            missing = gap(inc, "category")
            if missing is not None:
                out.append(missing)
                continue
            obs.append(observe(inc, bool(recurs.get(inc.id))))
        return sample(obs, out)

    recurrence.__name__ = f"recurrence_rate_{days}d"
    return recurrence


recurrence_rate_30d = _recurrence(30)
recurrence_rate_60d = _recurrence(60)
recurrence_rate_90d = _recurrence(90)
