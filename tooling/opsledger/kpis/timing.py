"""History KPIs about timing, measured from when commits landed on the branch (trusted)
rather than from the times the records claim: PIRs and actions on time, documentation lag
and approval lead time.

Without a history index each returns "no data" (``history unavailable``), never a number.
Records first committed before ``history.since`` are excluded ("imported before adoption").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opsledger.history.derive import entry_key, first_seen_entries
from opsledger.history.model import RecordHistory, Version
from opsledger.kpis.base import (
    Excluded,
    KpiContext,
    Observation,
    Sample,
    gap,
    hours,
    no_history,
    observe,
    sample,
)
from opsledger.kpis.incidents import RESOLVED
from opsledger.model.records import Change
from opsledger.obligations import IMPORTED
from opsledger.obligations.changes import (
    earliest_per_person,
    required_approvals,
    type_policy,
    valid_approvals,
)

NOT_COMMITTED = "not committed on the branch yet"
NO_DETECTION = "neither its first nor its last committed version states a valid detected_at"


def pir_on_time_rate(ctx: KpiContext) -> Sample:
    """Incidents whose priority requires a PIR, resolved more than ``pir_due_business_days``
    business days before ``as_of``: on time when the commit that first made their PIR
    ``approved`` landed by the end of that business day (policy timezone and holidays).
    The PIR-due verdict of :mod:`opsledger.obligations` decides each one."""
    incidents, excluded = ctx.incidents
    if ctx.history is None:
        return no_history(ctx.history_reason, excluded)
    out, obs = list(excluded), []
    for inc in incidents:
        clock = ctx.ledger.policy.priorities.get(inc.priority or "")
        if clock is None or not clock.pir_required or clock.pir_due_business_days is None:
            continue
        if inc.status not in RESOLVED:
            continue
        missing = gap(inc, "pir", "resolved_at")
        if missing is not None:
            out.append(missing)
            continue
        if inc.resolved_at is None:
            out.append(Excluded(inc.id, f"status {inc.status} but no resolved_at"))
            continue
        verdict = ctx.obligations.incident(inc).pir
        if verdict is None or verdict.due is None or ctx.as_of <= verdict.due:
            continue  # not due yet
        reviews = [r.id for r in ctx.obligations.reviews(inc)]
        if ctx.imported(inc.id, *reviews, *([inc.pir] if inc.pir else [])):
            out.append(Excluded(inc.id, IMPORTED))
        elif verdict.state == "unverified":
            out.append(Excluded(inc.id, verdict.detail))
        else:
            obs.append(observe(inc, verdict.state == "met"))
    return sample(obs, out)


def action_on_time_rate(ctx: KpiContext) -> Sample:
    """Follow-up actions (of PIRs and problems) due in the period: on time when the commit
    that first set them ``done`` landed by the end of the due day; an action not done is
    late once that day is over (and not counted before). ``wont-do`` actions are excluded.
    The action-due verdict of :mod:`opsledger.obligations` decides each one."""
    if ctx.history is None:
        return no_history(ctx.history_reason)
    out: list[Excluded] = []
    obs: list[Observation] = []
    for found in ctx.obligations.followups():
        action, verdict, label = found.action, found.verdict, found.label
        if action.due is None:
            out.append(Excluded(label, "no due date"))
            continue
        if not ctx.period.contains_day(action.due):
            continue
        if action.status == "wont-do":
            out.append(Excluded(label, "status wont-do"))
        elif ctx.imported(found.record.id):
            out.append(Excluded(label, IMPORTED))
        elif action.id is None:
            out.append(Excluded(label, "no id: its history cannot be followed"))
        elif verdict is None:
            out.append(Excluded(label, f"status {action.status or '(none)'}"))
        elif verdict.state == "pending":
            continue  # not due yet
        elif verdict.state == "unverified":
            out.append(Excluded(label, verdict.detail))
        else:
            obs.append(ctx.followup(found, verdict.state == "met", verdict.due))
    return sample(obs, out)


def documentation_lag(ctx: KpiContext) -> Sample:
    """Hours from detection (as first committed, or as stated now when earlier) to the
    landing of the incident's first commit: the lag GIT-LATE-RECORD judges
    (:mod:`opsledger.obligations.documentation`)."""
    incidents, excluded = ctx.incidents
    if ctx.history is None:
        return no_history(ctx.history_reason, excluded)
    out, obs = list(excluded), []
    for inc in incidents:
        trail = ctx.history.get(inc.id)
        if ctx.imported(inc.id):
            out.append(Excluded(inc.id, IMPORTED))
        elif trail is None or not trail.versions:
            out.append(Excluded(inc.id, NOT_COMMITTED))
        else:
            found = ctx.obligations.documentation(inc.id)
            if found is None:
                out.append(Excluded(inc.id, NO_DETECTION))
            else:
                obs.append(observe(inc, hours(found.lag)))
    return sample(obs, out)


def _counted_entries(ctx: KpiContext, chg: Change) -> list[Mapping[str, Any]]:
    """The approval entries that complete the change's approvals, as CHG-APPROVED-BEFORE
    counts them: of the approvals that count (approved, by a person listed for an allowed
    role, not dated after now), each person's earliest, the required number of them in
    time order (:mod:`opsledger.obligations.changes`). Empty when there are fewer."""
    policy = ctx.ledger.policy
    tp = type_policy(policy, chg)
    entries = chg.data.get("approvals")
    if tp is None or not isinstance(entries, list):
        return []
    required = max(required_approvals(policy, tp, chg), 1)
    counted = earliest_per_person(valid_approvals(policy, tp, chg, ctx.as_of))[:required]
    return [entries[a.index] for a in counted] if len(counted) == required else []


def _approvals_seen(trail: RecordHistory) -> Mapping[tuple[str, str, str, str], Version]:
    """Each approval entry's first version (read from the history alone; held once per
    history and shared: read only)."""
    return first_seen_entries(trail, "approvals")


def approval_lead_time(ctx: KpiContext) -> Sample:
    """Hours from the landing of the commit that completed a change's approvals (the last
    of the approvals CHG-APPROVED-BEFORE counts: an entry by someone not listed as an
    approver, or a second person's beyond the number required, completes nothing) to
    ``window.start``, for the changes CHG-APPROVED-BEFORE judges (approved or later, of a
    type approved before its window and needing approvals: normal changes by default).
    Negative: approved late."""
    changes, excluded = ctx.changes
    if ctx.history is None:
        return no_history(ctx.history_reason, excluded)
    out, obs = list(excluded), []
    for chg in changes:
        if ctx.obligations.change(chg).approval_before_window is None:
            continue  # CHG-APPROVED-BEFORE does not judge it (nor is it measured)
        entries = _counted_entries(ctx, chg)
        trail = ctx.history.get(chg.id)
        if not entries:
            out.append(
                Excluded(
                    chg.id,
                    f"status {chg.status} but fewer dated approvals that count than required "
                    "(CHG-APPROVAL)",
                )
            )
        elif ctx.imported(chg.id):
            out.append(Excluded(chg.id, IMPORTED))
        elif trail is None:
            out.append(Excluded(chg.id, NOT_COMMITTED))
        else:
            seen = ctx.history.derived("approvals first seen", trail, _approvals_seen)
            landed = [seen.get(entry_key(e)) for e in entries]
            if any(v is None for v in landed):
                out.append(Excluded(chg.id, f"an approval is {NOT_COMMITTED}"))
            elif chg.window_start is not None:
                last = max(v.landed_at for v in landed if v is not None)
                obs.append(
                    Observation(
                        chg.id, hours(chg.window_start - last), chg.window_start, None, chg.services
                    )
                )
    return sample(obs, out)
