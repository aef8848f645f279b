"""From observations to values: statistics, group keys, availability and target status."""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from opsledger.kpis.base import Aggregate, Observation, Status
from opsledger.model.policy import Target
from opsledger.period import Kind, Period, label_of

TIME_DIMENSIONS = ("week", "month", "quarter")
DIMENSIONS = (*TIME_DIMENSIONS, "priority", "service", "source")
NONE_KEY = "(none)"


@dataclass(frozen=True)
class Stats:
    """Mean, median and 90th percentile (nearest rank: 90% of values are at or below it)."""

    mean: float
    median: float
    p90: float


def p90(values: Sequence[float]) -> float:
    ordered = sorted(values)
    return ordered[max(math.ceil(0.9 * len(ordered)), 1) - 1]


def stats_of(values: Sequence[float]) -> Stats | None:
    if not values:
        return None
    return Stats(statistics.fmean(values), statistics.median(values), p90(values))


def combine(kind: Aggregate, values: Sequence[float]) -> tuple[float | None, Stats | None]:
    """The value of ``values`` (and statistics for durations); None when there is none."""
    if kind == "sum":
        return float(sum(values)), None
    if not values:
        return None, None
    if kind == "ratio":
        return sum(values) / len(values), None
    stats = stats_of(values)
    assert stats is not None
    return (stats.mean if kind == "mean" else stats.median), stats


def _natural(key: str) -> tuple[bool, list[int | str]]:
    parts = re.split(r"([0-9]+)", key)
    return key == NONE_KEY, [int(p) if p.isdigit() else p for p in parts]


def sort_keys(keys: Iterable[str]) -> list[str]:
    return sorted(set(keys), key=_natural)


_TIME_KINDS: dict[str, Kind] = {"week": "week", "month": "month", "quarter": "quarter"}


def keys_of(observation: Observation, dimension: str, zone: ZoneInfo) -> list[str]:
    """The groups an observation belongs to (a change on two services is in both)."""
    labelled = [key for name, key in observation.labels if name == dimension]
    if labelled:
        return labelled
    kind = _TIME_KINDS.get(dimension)
    if kind is not None:
        at = observation.at
        return [label_of(kind, at.astimezone(zone).date())] if at is not None else []
    if dimension == "priority":
        return [observation.priority or NONE_KEY]
    if dimension == "service":
        return list(observation.services) or [NONE_KEY]
    return [observation.source or NONE_KEY]


def slices(
    dimension: str, window: tuple[datetime, datetime], zone: ZoneInfo
) -> list[tuple[str, datetime, datetime]]:
    """The weeks, months or quarters covering ``window``, each clipped to it."""
    out: list[tuple[str, datetime, datetime]] = []
    day = window[0].astimezone(zone).date()
    while True:
        period = Period.of(_TIME_KINDS[dimension], day, zone)
        assert period.start is not None and period.end is not None and period.until is not None
        out.append((period.label, max(period.start, window[0]), min(period.end, window[1])))
        if period.end >= window[1]:
            return out
        day = period.until


def downtime(spans: Iterable[tuple[datetime, datetime]], lo: datetime, hi: datetime) -> timedelta:
    """Total time covered by ``spans`` inside ``[lo, hi)``, overlapping outages merged."""
    clipped = sorted((max(a, lo), min(b, hi)) for a, b in spans if a < hi and b > lo)
    total = timedelta(0)
    current: tuple[datetime, datetime] | None = None
    for start, end in clipped:
        if current is not None and start <= current[1]:
            current = (current[0], max(current[1], end))
            continue
        if current is not None:
            total += current[1] - current[0]
        current = (start, end)
    if current is not None:
        total += current[1] - current[0]
    return total


def availability_of(
    observations: Sequence[Observation], service: str, lo: datetime, hi: datetime
) -> float:
    """Percent of ``[lo, hi)`` the service was up."""
    spans = [o.span for o in observations if o.span is not None and service in o.services]
    return 100 * (1 - downtime(spans, lo, hi) / (hi - lo))


def judge(value: float | None, target: Target | None) -> Status:
    """``met`` when value ≥ min and ≤ max (bounds included)."""
    if value is None:
        return "no data"
    if target is None or (target.min is None and target.max is None):
        return "no target"
    value = round(value, 9)  # no float noise at the boundary
    low = target.min is None or value >= target.min
    high = target.max is None or value <= target.max
    return "met" if low and high else "missed"


def combined(statuses: Iterable[Status]) -> Status:
    """One status from several (a KPI judged per priority or per service)."""
    seen = set(statuses)
    for status in ("missed", "met", "no data"):
        if status in seen:
            return status
    return "no target"


def plain(target: Target | None) -> Target | None:
    """The target without its per-priority part (None when only that part exists)."""
    if target is None or (target.min is None and target.max is None):
        return None
    return Target(target.min, target.max)


def group_target(target: Target | None, dimension: str, key: str) -> Target | None:
    if target is not None and dimension == "priority" and key in target.by_priority:
        return target.by_priority[key]
    return plain(target)
