"""``regulatory_on_time_rate``: regulatory stages submitted by their deadline / stages due.

Each stage clock decided by :meth:`opsledger.obligations.Obligations.regulatory` (the
verdicts REG-DEADLINE reports) whose deadline falls in the period is one observation, on
time when met, grouped by regime (``dora``) and by stage (``dora/initial``). Listed as
excluded, with the reason: stages not due yet, stages whose clock has not started, and
regimes decided not reportable or not classified yet (placed by awareness).
"""

from __future__ import annotations

from datetime import datetime

from opsledger.kpis.base import Excluded, KpiContext, Observation, Sample, observe, sample
from opsledger.model.records import Incident
from opsledger.obligations.regulatory import Clock, awareness
from opsledger.timeutil import format_timestamp


def regulatory_on_time_rate(ctx: KpiContext) -> Sample:
    if not ctx.ledger.policy.regulatory:
        return sample((), (), ("no regulatory regime in policy.yaml (regulatory.regimes)",))
    obs: list[Observation] = []
    out: list[Excluded] = []
    for inc in sorted(ctx.ledger.incidents.values(), key=lambda i: i.id):
        for clock in ctx.obligations.regulatory(inc):
            found = _judge(ctx, inc, clock)
            if isinstance(found, Excluded):
                out.append(found)
            elif found is not None:
                value, at = found
                labels = (("regime", clock.regime.id), ("stage", label(clock)))
                obs.append(observe(inc, value, at)._replace(labels=labels))
    return sample(obs, out)


def label(clock: Clock) -> str:
    """The stage group's key: ``dora/initial``."""
    return f"{clock.regime.id}/{clock.stage_id}"


def _judge(
    ctx: KpiContext, inc: Incident, clock: Clock
) -> Excluded | tuple[float, datetime] | None:
    """An observation's (value, time), an exclusion, or None when outside the period."""
    v, name = clock.verdict, label(clock)
    aware = awareness(inc, clock.filing)
    aware_in_period = aware is not None and ctx.period.contains(aware)
    if clock.stage is None:
        filing = clock.filing
        if not aware_in_period:
            return None
        if filing is None or filing.decision is None:
            return Excluded(inc.id, f"{clock.regime.id}: not classified yet, no stage due")
        if filing.decision == "not-reportable":
            why = filing.reason or "no reason given"
            return Excluded(inc.id, f"{clock.regime.id}: decided not reportable ({why})")
        return None
    if v.due is None:
        if not aware_in_period:
            return None
        return Excluded(inc.id, f"{name}: {v.detail}")
    if not ctx.period.contains(v.due):
        return None
    if v.state == "pending":
        return Excluded(inc.id, f"{name}: not due yet (due {format_timestamp(v.due)})")
    return (1.0 if v.state == "met" else 0.0), v.due
