"""Change KPIs (changes whose ``window.start`` is in the period) and the audit evidence
pass rate over every record."""

from __future__ import annotations

from opsledger.kpis.base import Excluded, KpiContext, Observation, Sample, sample
from opsledger.model.records import Change
from opsledger.obligations.changes import ended

DONE = frozenset({"implemented", "failed", "rolled-back"})


def _observe(chg: Change, value: float) -> Observation:
    return Observation(chg.id, value, chg.window_start, None, chg.services)


def change_success_rate(ctx: KpiContext) -> Sample:
    """Implemented, failed or rolled back (or closed with an outcome): successful when it
    ended successfully (:func:`opsledger.obligations.changes.ended`, as PRB-FIX reads a fix
    change) and no incident names the change in ``caused_by_change``."""
    changes, excluded = ctx.changes
    blamed = {i.caused_by_change for i in ctx.ledger.incidents.values() if i.caused_by_change}
    out, obs = list(excluded), []
    for chg in changes:
        if chg.status not in DONE and not (chg.status == "closed" and chg.outcome):
            continue
        how = ended(chg)
        if how is None:
            out.append(Excluded(chg.id, f"status {chg.status} but no implementation.outcome"))
            continue
        obs.append(_observe(chg, how == "successful" and chg.id not in blamed))
    return sample(obs, out)


def emergency_change_rate(ctx: KpiContext) -> Sample:
    changes, excluded = ctx.changes
    out, obs = list(excluded), []
    for chg in changes:
        if chg.type is None:
            out.append(Excluded(chg.id, "no type"))
        else:
            obs.append(_observe(chg, chg.type == "emergency"))
    return sample(obs, out)


def change_record_quality(ctx: KpiContext) -> Sample:
    """Changes with no finding (of any severity, waived or not) from a CHG-* rule."""
    changes, excluded = ctx.changes
    flagged = {f.record for f in ctx.findings if f.rule.startswith("CHG-")}
    return sample((_observe(chg, chg.id not in flagged) for chg in changes), excluded)


def audit_pass_rate(ctx: KpiContext) -> Sample:
    """Records with no unwaived error finding (a waived finding is an accepted risk)."""
    failing = {
        key
        for f in ctx.findings
        if f.severity == "error" and not f.waived
        for key in (f.record, f.path)
        if key
    }
    placed, out = ctx.records(runbooks=True)
    obs = [
        base._replace(value=record.id not in failing and record.path not in failing)
        for record, base in placed
    ]
    notes = [] if ctx.history is not None else [f"{ctx.history_reason}: GIT-* rules not counted"]
    return sample(obs, out, notes)
