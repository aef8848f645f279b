"""Problem KPIs: backlog, time to known error, recurrence after fix, coverage of recurring
clusters. Each reads the verdicts and clusters decided in
:mod:`opsledger.obligations.problems` (through ``ctx.obligations``), so a figure here and
the PRB-* findings, the site and the reports never disagree.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from opsledger.kpis.base import Excluded, KpiContext, Observation, Sample, observe, sample
from opsledger.model.records import Problem
from opsledger.obligations.problems import RESOLVED, known_error_time

#: age bands of the problem backlog: (upper bound in days, label)
AGE_BANDS: tuple[tuple[int | None, str], ...] = (
    (30, "up to 30 days"),
    (90, "31 to 90 days"),
    (180, "91 to 180 days"),
    (None, "over 180 days"),
)


def age_band(age: timedelta) -> str:
    days = age.days
    for bound, label in AGE_BANDS:
        if bound is None or days <= bound:
            return label
    raise AssertionError("unreachable")


def _observe(prb: Problem, value: float, at: datetime | None) -> Observation:
    return Observation(prb.id, value, at, None, prb.services)


def problem_backlog(ctx: KpiContext) -> Sample:
    """Problems not resolved (status new, investigating, known-error) opened on or before
    ``as_of`` — a snapshot, not period-filtered — with their ages by band in the notes."""
    obs: list[Observation] = []
    out: list[Excluded] = []
    bands: Counter[str] = Counter()
    for prb in sorted(ctx.ledger.problem_records.values(), key=lambda p: p.id):
        if prb.status in RESOLVED or prb.status is None:
            continue
        if prb.opened_at is None:
            out.append(Excluded(prb.id, "no opened_at: its age is unknown"))
            continue
        if prb.opened_at > ctx.as_of:
            continue
        bands[age_band(ctx.as_of - prb.opened_at)] += 1
        obs.append(_observe(prb, 1, prb.opened_at))
    notes = (
        [
            "by age: "
            + ", ".join(f"{label} {bands[label]}" for _, label in AGE_BANDS if bands[label])
        ]
        if bands
        else []
    )
    return sample(obs, out, notes)


def time_to_known_error(ctx: KpiContext) -> Sample:
    """Problems that became a known error in the period (``known_error_at``, once their
    status says so: :func:`opsledger.obligations.problems.known_error_time`, as
    PRB-KNOWN-ERROR reads it): median of known_error_at - opened_at, in days."""
    obs: list[Observation] = []
    out: list[Excluded] = []
    for prb in sorted(ctx.ledger.problem_records.values(), key=lambda p: p.id):
        at = known_error_time(prb)
        if at is None:
            if prb.status in ("known-error", *RESOLVED) and "known_error_at" in prb.import_gaps:
                out.append(Excluded(prb.id, "imported without known_error_at (import_gaps)"))
            continue
        if not ctx.period.contains(at):
            continue
        if prb.opened_at is None:
            out.append(Excluded(prb.id, "no opened_at"))
        elif at < prb.opened_at:
            out.append(Excluded(prb.id, "known_error_at is before opened_at (PRB-KNOWN-ERROR)"))
        else:
            obs.append(_observe(prb, (at - prb.opened_at).total_seconds() / 86400, at))
    return sample(obs, out)


def recurrence_after_fix(ctx: KpiContext) -> Sample:
    """Problems resolved in the period (``resolved_at``): share with a linked incident
    detected after ``resolved_at`` (the PRB-RECURRED verdict, as of ``as_of``)."""
    obs: list[Observation] = []
    out: list[Excluded] = []
    for prb in sorted(ctx.ledger.problem_records.values(), key=lambda p: p.id):
        if prb.status not in RESOLVED:
            continue
        if prb.resolved_at is None:
            out.append(Excluded(prb.id, "resolved without resolved_at"))
            continue
        if not ctx.period.contains(prb.resolved_at):
            continue
        held = ctx.obligations.problem(prb).fix_held
        assert held is not None
        obs.append(_observe(prb, held.failed, prb.resolved_at))
    return sample(obs, out)


def problem_coverage(ctx: KpiContext) -> Sample:
    """Incidents detected in the period that belong to a recurring cluster (PRB-CANDIDATE's
    definition): share linked to a problem."""
    clustered = {i.id for c in ctx.obligations.clusters for i in c.incidents}
    incidents, excluded = ctx.incidents
    linked = ctx.obligations.linked
    obs = [observe(inc, bool(linked.get(inc.id))) for inc in incidents if inc.id in clustered]
    return sample(obs, excluded)
