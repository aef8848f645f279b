"""How a KPI reads: one formatter for every place a KPI is shown.

``opsledger kpi`` (table, Markdown), ``opsledger report`` and the site's KPI page and home
tiles all take their value, target and status texts from here, so a KPI reads the same
everywhere:

* durations in the largest sensible unit, one decimal: ``45.0 min``, ``24.8 h``, ``3.2 d``
  (minutes below an hour, hours below two days, days beyond);
* ratios as percentages with one decimal (``96.4%``); availability (already a percentage)
  with three (``99.952%``), since its targets differ in the second decimal;
* counts as integers.

A KPI whose target is set per priority (``kpi_targets.<id>.by_priority``) reads as one
line per priority under a line for the KPI (its status: missed when any priority with a
target missed); see :func:`lines`.
"""

from __future__ import annotations

from dataclasses import dataclass

from opsledger.kpis.aggregate import Stats
from opsledger.kpis.base import Status, Unit
from opsledger.kpis.engine import Group, KpiResult
from opsledger.model.policy import Target

NO_VALUE = "\u2013"  # an en dash: nothing to show
#: the value line of a KPI judged per priority, before its all-priority value
ALL_PRIORITIES = "all priorities"
BY_PRIORITY = "by priority"
_MINUTES = {"minutes": 1.0, "hours": 60.0, "days": 1440.0}


def duration_text(minutes: float) -> str:
    """A duration given in minutes, in the largest sensible unit."""
    if round(abs(minutes), 1) < 60:
        return f"{minutes:.1f} min"
    hours = minutes / 60
    if round(abs(hours), 1) < 48:
        return f"{hours:.1f} h"
    return f"{minutes / 1440:.1f} d"


def value_text(value: float | None, unit: Unit) -> str:
    """A KPI value (or a bound of its target) for reading."""
    if value is None:
        return NO_VALUE
    if unit == "ratio":
        return f"{value * 100:.1f}%"
    if unit == "percent":
        return f"{value:.3f}%"
    if unit in _MINUTES:
        return duration_text(value * _MINUTES[unit])
    return str(round(value))


def bound_text(target: Target | None, unit: Unit) -> str:
    """The plain part of a target: ``≥ 95.0%``, ``≤ 2.0 h``, ``≥ 1.0 h, ≤ 2.0 d``."""
    if target is None:
        return NO_VALUE
    parts = []
    if target.min is not None:
        parts.append(f"≥ {value_text(target.min, unit)}")
    if target.max is not None:
        parts.append(f"≤ {value_text(target.max, unit)}")
    return ", ".join(parts) or NO_VALUE


def target_text(target: Target | None, unit: Unit) -> str:
    """A whole target: its plain part, then each priority's (``P1 ≤ 2.0 h; P2 ≤ 8.0 h``)."""
    if target is None:
        return NO_VALUE
    parts = [bound_text(target, unit)] if target.min is not None or target.max is not None else []
    parts += [f"{p} {bound_text(t, unit)}" for p, t in target.by_priority.items()]
    return "; ".join(parts) or NO_VALUE


def stats_text(
    value: float | None, stats: Stats | None, unit: Unit, aggregate: str = "mean"
) -> str:
    """The value with the other statistics beside a mean (median, p90) or a median (mean,
    p90)."""
    text = value_text(value, unit)
    if stats is not None and value is not None:
        other = ("mean", stats.mean) if aggregate == "median" else ("median", stats.median)
        text += f" ({other[0]} {value_text(other[1], unit)}, p90 {value_text(stats.p90, unit)})"
    return text


def item_text(item: KpiResult | Group, result: KpiResult) -> str:
    """:func:`stats_text` of a KPI result or one of its groups."""
    return stats_text(item.value, item.stats, result.kpi.unit, result.kpi.aggregate)


@dataclass(frozen=True)
class Line:
    """One line of a KPI as every view shows it: the KPI itself (``priority`` None) or,
    for a KPI judged per priority, one priority."""

    kpi: KpiResult
    priority: str | None
    value: float | None
    short: str  # the value alone (tiles, charts)
    text: str  # the value with its statistics (tables)
    target: str
    status: Status
    n: int

    @property
    def key(self) -> tuple[str, str | None]:
        return self.kpi.kpi.id, self.priority


def judged_by_priority(result: KpiResult) -> bool:
    return bool(result.per_priority)


def lines(result: KpiResult) -> list[Line]:
    """The KPI's line, then (when its target is per priority) one line per priority: each
    with that priority's value and target, ``no data`` where none was measured."""
    unit = result.kpi.unit
    short = value_text(result.value, unit)
    text = item_text(result, result)
    if not judged_by_priority(result):
        target = target_text(result.target, unit)
        return [Line(result, None, result.value, short, text, target, result.status, result.n)]
    out = [
        Line(
            result,
            None,
            result.value,
            f"{ALL_PRIORITIES} {short}",
            f"{ALL_PRIORITIES} {text}",
            BY_PRIORITY,
            result.status,
            result.n,
        )
    ]
    return out + [group_line(result, group) for group in result.per_priority]


def group_line(result: KpiResult, group: Group) -> Line:
    """One group of a KPI (a priority, a service, a month…) as a line."""
    unit = result.kpi.unit
    return Line(
        result,
        group.key,
        group.value,
        value_text(group.value, unit),
        item_text(group, result),
        bound_text(group.target, unit),
        group.status,
        group.n,
    )
