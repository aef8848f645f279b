"""Computing KPIs: run each KPI function, aggregate, group and judge against targets."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from opsledger.errors import OpsledgerError
from opsledger.findings import Finding
from opsledger.history import HISTORY_UNAVAILABLE
from opsledger.history.model import HistoryIndex
from opsledger.kpis.aggregate import (
    DIMENSIONS,
    TIME_DIMENSIONS,
    Stats,
    availability_of,
    combine,
    combined,
    group_target,
    judge,
    keys_of,
    slices,
    sort_keys,
)
from opsledger.kpis.base import Excluded, Kpi, KpiContext, Observation, Sample, Status
from opsledger.kpis.registry import KPIS, KPIS_BY_ID
from opsledger.model.ledger import Ledger
from opsledger.model.policy import Target
from opsledger.obligations import Obligations
from opsledger.period import Period, check_day
from opsledger.rules.recall import Recall
from opsledger.timeutil import YEARS


@dataclass(frozen=True)
class Group:
    """A KPI's value for one group (a priority, a service, a month…)."""

    key: str
    value: float | None
    n: int
    target: Target | None
    status: Status
    stats: Stats | None = None


@dataclass(frozen=True)
class KpiResult:
    kpi: Kpi
    value: float | None
    n: int
    target: Target | None
    status: Status
    stats: Stats | None
    excluded: tuple[Excluded, ...]
    groups: Mapping[str, tuple[Group, ...]]  # dimension -> groups in order
    notes: tuple[str, ...] = ()
    #: what was measured, record by record (e.g. which records a count counted)
    observations: tuple[Observation, ...] = ()
    #: a KPI whose target is set per priority: one group per priority with a target or
    #: with data (``no data`` for a priority with a target and nothing measured), the
    #: groups its status is judged on; empty for other KPIs
    per_priority: tuple[Group, ...] = ()


@dataclass(frozen=True)
class KpiOptions:
    """What to compute: "now", the period ``[since, until)`` (local dates), the extra
    groupings, which KPIs (empty: all), and the audit findings if already computed."""

    as_of: datetime
    since: date | None = None
    until: date | None = None
    by: tuple[str, ...] = ()
    only: tuple[str, ...] = ()
    findings: Sequence[Finding] | None = field(default=None, compare=False)


@dataclass(frozen=True)
class KpiReport:
    commit: str | None
    as_of: datetime
    since: date | None
    until: date | None
    by: tuple[str, ...]
    results: tuple[KpiResult, ...]

    def get(self, kpi_id: str) -> KpiResult:
        """The result of one KPI (KeyError when it was not computed)."""
        for result in self.results:
            if result.kpi.id == kpi_id:
                return result
        raise KeyError(kpi_id)


def check_options(ledger: Ledger, options: KpiOptions) -> None:
    """Usage and configuration errors, as one-line messages."""
    if options.since is not None:
        check_day(options.since, "--since")
    if options.until is not None and options.until != date(YEARS[1] + 1, 1, 1):
        check_day(options.until, "--until")  # the end, excluded: 2999-12 ends on 3000-01-01
    if options.since and options.until and options.since >= options.until:
        raise OpsledgerError(f"--since {options.since} must be before --until {options.until}")
    for dimension in options.by:
        if dimension not in DIMENSIONS:
            raise OpsledgerError(f"unknown --by {dimension!r}; use one of {', '.join(DIMENSIONS)}")
    for kpi_id in options.only:
        if kpi_id not in KPIS_BY_ID:
            raise OpsledgerError(f"unknown KPI {kpi_id!r}; valid KPIs: {', '.join(KPIS_BY_ID)}")
    from opsledger.rulesettings import check_kpi_targets

    check_kpi_targets(ledger.policy)


def compute_kpis(
    ledger: Ledger,
    history: HistoryIndex | None,
    options: KpiOptions,
    *,
    commit: str | None = None,
    obligations: Obligations | None = None,
    history_reason: str = HISTORY_UNAVAILABLE,
    recall: Recall | None = None,
) -> KpiReport:
    """Every KPI (or ``options.only``) over ``ledger`` and its history index (None when the
    repository has no git history: history KPIs then report "no data")."""
    check_options(ledger, options)
    ctx = KpiContext(
        ledger,
        options.as_of,
        Period(options.since, options.until, ledger.policy.timezone),
        history,
        options.findings,
        obligations,
        history_reason,
        recall,
    )
    chosen = [k for k in KPIS if not options.only or k.id in options.only]
    return KpiReport(
        commit,
        options.as_of,
        options.since,
        options.until,
        options.by,
        tuple(evaluate(kpi, ctx, options.by) for kpi in chosen),
    )


def evaluate(kpi: Kpi, ctx: KpiContext, by: Iterable[str] = ()) -> KpiResult:
    """One KPI: its sample aggregated, grouped by its own and the requested dimensions."""
    result = kpi.compute(ctx)
    target = ctx.ledger.policy.kpi_targets.get(kpi.target_key)
    dims = list(dict.fromkeys([*kpi.dimensions, *by]))
    if target is not None and target.by_priority and "priority" not in dims:
        dims.insert(0, "priority")
    if result.unavailable is not None:
        return KpiResult(kpi, None, 0, target, "no data", None, result.excluded, {}, result.notes)
    if kpi.aggregate == "availability":
        return _availability(kpi, ctx, result, target, dims)
    values = [o.value for o in result.observations]
    value, stats = combine(kpi.aggregate, values)
    if kpi.history and not values:
        value = None  # a history count over no examined record says nothing
    groups = {d: _groups(kpi, ctx, result.observations, target, d) for d in dims}
    per_priority = _per_priority(target, groups.get("priority", ()))
    status = combined(g.status for g in per_priority) if per_priority else judge(value, target)
    return KpiResult(
        kpi,
        value,
        len(values),
        target,
        status,
        stats,
        result.excluded,
        groups,
        result.notes,
        result.observations,
        per_priority,
    )


def _per_priority(target: Target | None, observed: Sequence[Group]) -> tuple[Group, ...]:
    """A per-priority target's groups: the measured ones and, for each priority with a
    target but nothing measured, a ``no data`` group. The KPI is missed when any priority
    with a target missed, met when every one with data met it (priorities without a target
    are shown but not judged)."""
    if target is None or not target.by_priority:
        return ()
    seen = {g.key: g for g in observed}
    return tuple(
        seen.get(key) or Group(key, None, 0, group_target(target, "priority", key), "no data")
        for key in sort_keys([*target.by_priority, *seen])
    )


def _groups(
    kpi: Kpi,
    ctx: KpiContext,
    observations: Sequence[Observation],
    target: Target | None,
    dimension: str,
) -> tuple[Group, ...]:
    members: dict[str, list[float]] = defaultdict(list)
    for obs in observations:
        for key in keys(ctx, obs, dimension):
            members[key].append(obs.value)
    out = []
    for key in sort_keys(members):
        value, stats = combine(kpi.aggregate, members[key])
        goal = group_target(target, dimension, key)
        out.append(Group(key, value, len(members[key]), goal, judge(value, goal), stats))
    return tuple(out)


def keys(ctx: KpiContext, observation: Observation, dimension: str) -> Sequence[str]:
    """:func:`~.aggregate.keys_of`, a moment's week, month or quarter named once a run."""
    zone = ctx.ledger.policy.timezone
    at = observation.at
    if dimension not in TIME_DIMENSIONS or at is None or observation.labels:
        return keys_of(observation, dimension, zone)
    slot = (dimension, at)
    found = ctx.labels.get(slot)
    if found is None:
        found = ctx.labels[slot] = tuple(keys_of(observation, dimension, zone))
    return found


def _availability(
    kpi: Kpi, ctx: KpiContext, result: Sample, target: Target | None, dims: list[str]
) -> KpiResult:
    """Availability: the lowest tier-1 service's; met when every service meets its own
    ``availability_target`` (the policy target when the catalog gives none)."""
    window, scope, obs = result.window, result.scope, result.observations
    if window is None or not scope:
        return KpiResult(kpi, None, 0, target, "no data", None, result.excluded, {}, result.notes)

    def measure(
        subset: Sequence[Observation], lo: datetime, hi: datetime, services: Iterable[str]
    ) -> tuple[float, Status]:
        values = {s: availability_of(subset, s, lo, hi) for s in services}
        status = combined(judge(values[s], Target(min=scope[s])) for s in values)
        return min(values.values()), status

    value, status = measure(obs, *window, scope)
    zone = ctx.ledger.policy.timezone
    groups: dict[str, tuple[Group, ...]] = {}
    for dim in dims:
        rows = []
        if dim == "service":
            for service in sort_keys(scope):
                n = sum(service in o.services for o in obs)
                v, s = measure(obs, *window, [service])
                rows.append(Group(service, v, n, Target(min=scope[service]), s))
        elif dim in TIME_DIMENSIONS:
            for key, lo, hi in slices(dim, window, zone):
                subset = [o for o in obs if o.span and _touches(o.span, lo, hi)]
                v, s = measure(subset, lo, hi, scope)
                rows.append(Group(key, v, len(subset), target, s))
        else:
            keyed: dict[str, list[Observation]] = defaultdict(list)
            for o in obs:
                for key in keys_of(o, dim, zone):
                    keyed[key].append(o)
            for key in sort_keys(keyed):
                v, s = measure(keyed[key], *window, scope)
                rows.append(Group(key, v, len(keyed[key]), target, s))
        groups[dim] = tuple(rows)
    return KpiResult(
        kpi, value, len(obs), target, status, None, result.excluded, groups, result.notes, obs
    )


def _touches(span: tuple[datetime, datetime], lo: datetime, hi: datetime) -> bool:
    """The outage overlaps ``[lo, hi)``, or (zero length) happened inside it."""
    return (span[0] < hi and span[1] > lo) or lo <= span[0] < hi
