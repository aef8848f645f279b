"""Recurrence: which incidents came back, and the recurring clusters they form.

One definition serves the recurrence KPIs (``recurrence_rate_30d`` …), PRB-CANDIDATE,
``problem_coverage`` and ``opsledger problems suggest``: an incident *recurs* an earlier one
when both are on the same service with the same category (case-insensitive) and it was
detected strictly later, within the window; or when its ``recurrence_of`` names an incident
detected at most the window before it (never itself). A *cluster* is a group of incidents
joined by recurrences (single linkage: each link within the window, so a problem that keeps
coming back stays one cluster). ``recurrence_of`` cycles are links like any other: a cycle
never loops.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta

from opsledger.model.records import Incident


def recurrences(incidents: Iterable[Incident], window: timedelta) -> dict[str, tuple[str, ...]]:
    """For each incident with a detection time, the earlier incidents it recurs: the latest
    one detected strictly before it on the same service and category within ``window``,
    and the one its ``recurrence_of`` names when that was detected within ``window`` before
    it. An empty tuple: it does not recur."""
    dated = {i.id: i for i in incidents if i.detected_at is not None}
    series: dict[tuple[str, str], list[tuple[datetime, str]]] = defaultdict(list)
    for inc in dated.values():
        if inc.service and inc.category:
            series[(inc.service, inc.category.casefold())].append((inc.detected_at, inc.id))  # type: ignore[arg-type]
    for times in series.values():
        times.sort()
    found: dict[str, tuple[str, ...]] = {}
    for inc in dated.values():
        at = inc.detected_at
        assert at is not None
        earlier: list[str] = []
        if inc.service and inc.category:
            times = series[(inc.service, inc.category.casefold())]
            before = bisect.bisect_left(times, (at, ""))  # detected strictly before inc
            if before and at - times[before - 1][0] <= window:
                earlier.append(times[before - 1][1])
        named = dated.get(inc.recurrence_of or "")
        if named is not None and named.id != inc.id:
            assert named.detected_at is not None
            if timedelta(0) <= at - named.detected_at <= window and named.id not in earlier:
                earlier.append(named.id)
        found[inc.id] = tuple(earlier)
    return found


def clusters(incidents: Iterable[Incident], window: timedelta) -> list[list[str]]:
    """The groups of incidents joined by recurrences within ``window`` (two or more
    incidents each), each in detection order, largest first."""
    chosen = list(incidents)
    links = recurrences(chosen, window)
    parent = {i.id: i.id for i in chosen if i.id in links}

    def root(node: str) -> str:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for later, earlier in links.items():
        for other in earlier:
            a, b = root(later), root(other)
            if a != b:
                parent[max(a, b)] = min(a, b)
    groups: dict[str, list[str]] = defaultdict(list)
    for node in parent:
        groups[root(node)].append(node)
    when = {i.id: i.detected_at for i in chosen}
    out = [sorted(g, key=lambda r: (when[r], r)) for g in groups.values() if len(g) > 1]
    return sorted(out, key=lambda g: (-len(g), g[0]))
