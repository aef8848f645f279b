"""Service KPIs: time between failures, availability of tier-1 services, and the aged
backlog of open incidents, changes and follow-up actions."""

from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import datetime, timedelta

from opsledger.kpis.base import (
    Excluded,
    KpiContext,
    Observation,
    Sample,
    gap,
    hours,
    observe,
    sample,
)
from opsledger.model.records import Incident
from opsledger.period import local_midnight

OPEN_INCIDENT = frozenset({"open", "mitigated"})
OPEN_CHANGE = frozenset({"draft", "requested", "approved", "scheduled"})
OPEN_ACTION = frozenset({"open", "in-progress"})
#: an action-due verdict's states for an action not done as of --as-of
OPEN_AT = frozenset({"missing", "pending"})


def mtbf(ctx: KpiContext) -> Sample:
    """Hours between consecutive detections on the same service, both in the period.

    Each interval is one observation, attributed to the later incident; an incident that
    is the only one on its service in the period gives no interval and is listed.
    """
    incidents, excluded = ctx.incidents
    out, obs = list(excluded), []
    per_service: dict[str, list[Incident]] = defaultdict(list)
    for inc in incidents:
        if inc.service is None:
            out.append(Excluded(inc.id, "no service"))
        else:
            per_service[inc.service].append(inc)
    for service, items in sorted(per_service.items()):
        items.sort(key=lambda i: (i.detected_at, i.id))
        if len(items) == 1:
            out.append(Excluded(items[0].id, f"only incident on {service} in the period"))
        for before, after in itertools.pairwise(items):
            assert before.detected_at is not None and after.detected_at is not None
            obs.append(observe(after, hours(after.detected_at - before.detected_at)))
    return sample(obs, out)


def major_priorities(ctx: KpiContext) -> frozenset[str]:
    """Priorities that run the major-incident process (a bridge): P1 and P2 by default."""
    return frozenset(
        name  # bridge_within: 0m is a (very strict) bridge clock, not "no bridge"
        for name, clock in ctx.ledger.policy.priorities.items()
        if clock.bridge_within is not None
    )


def availability_window(ctx: KpiContext) -> tuple[datetime, datetime] | None:
    """The measured window: the period, ending no later than ``as_of``; without
    ``--since``, from the local start of the day of the first recorded incident."""
    start = ctx.period.start
    if start is None:
        first = min(
            (i.detected_at for i in ctx.ledger.incidents.values() if i.detected_at), default=None
        )
        if first is None:
            return None
        start = local_midnight(ctx.local_day(first), ctx.ledger.policy.timezone)
    end = min(ctx.period.end or ctx.as_of, ctx.as_of)
    return (start, end) if start < end else None


def availability(ctx: KpiContext) -> Sample:
    """Outages (detected -> mitigated) of major incidents on tier-1 services, clipped to
    the window; an open incident not yet mitigated is down until ``as_of``."""
    policy_target = ctx.ledger.policy.kpi_targets.get("availability")
    default = policy_target.min if policy_target is not None else None
    scope = {
        s.id: s.availability_target if s.availability_target is not None else default
        for s in ctx.ledger.services.values()
        if s.tier == 1
    }
    window = availability_window(ctx)
    if window is None:
        return Sample(notes=("no period to measure: pass --since",), scope=scope)
    if not scope:
        return Sample(notes=("no tier-1 service in records/services.yaml",), window=window)
    major = major_priorities(ctx)
    out, obs = [], []
    for inc in sorted(ctx.ledger.incidents.values(), key=lambda i: i.id):
        if inc.service not in scope or inc.priority not in major:
            continue
        start, end = inc.detected_at, inc.mitigated_at
        missing = gap(inc, "mitigated_at")
        if start is None:
            out.append(Excluded(inc.id, "no detected_at: cannot place the outage"))
            continue
        if start >= window[1]:
            continue
        if missing is not None:
            out.append(missing)
            continue
        if end is None:
            if inc.status != "open":
                out.append(Excluded(inc.id, f"status {inc.status} but no mitigated_at"))
                continue
            end = ctx.as_of  # still down
        if end < start:
            out.append(Excluded(inc.id, "mitigated_at before detected_at (INC-TIMES)"))
            continue
        span = (max(start, window[0]), min(end, window[1]))
        if span[0] < span[1] or start >= window[0]:
            duration = hours(span[1] - span[0])
            obs.append(
                Observation(
                    inc.id, duration, span[0], inc.priority, (inc.service,), inc.source, span
                )
            )
    return Sample(tuple(obs), tuple(sorted(set(out))), window=window, scope=scope)


def backlog_aged(ctx: KpiContext) -> Sample:
    """Open items as of ``as_of`` (not period-filtered) older than policy ``backlog``:
    incidents by age since detection, changes not yet implemented by age since their
    window start, follow-up actions (of PIRs and problems) by time past their due date."""
    limits = ctx.ledger.policy.backlog
    now = ctx.as_of
    out: list[Excluded] = []
    obs: list[Observation] = []
    notes = [
        f"no backlog.{kind} threshold in policy.yaml: open {kind}s not counted"
        for kind in ("incident", "change", "action")
        if kind not in limits
    ]
    if "incident" in limits:
        for inc in ctx.ledger.incidents.values():
            if inc.status not in OPEN_INCIDENT:
                continue
            if inc.detected_at is None:
                out.append(Excluded(inc.id, "open incident with no detected_at"))
            else:
                obs.append(observe(inc, now - inc.detected_at > limits["incident"]))
    if "change" in limits:
        for chg in ctx.ledger.changes.values():
            if chg.status not in OPEN_CHANGE:
                continue
            if chg.window_start is None:
                out.append(Excluded(chg.id, "open change with no window.start"))
            else:
                aged = now - chg.window_start > limits["change"]
                obs.append(Observation(chg.id, aged, chg.window_start, None, chg.services))
    if "action" in limits:
        obs += _aged_actions(ctx, limits["action"], out)
    return sample(sorted(obs, key=lambda o: o.record), out, notes)


def _aged_actions(ctx: KpiContext, limit: timedelta, out: list[Excluded]) -> list[Observation]:
    """Follow-up actions (of PIRs and problems) open as of --as-of, as their action-due
    verdicts say, each aged when more than ``limit`` past its due day."""
    obs = []
    for found in ctx.obligations.followups():
        action, verdict = found.action, found.verdict
        if action.due is None or verdict is None or verdict.due is None:
            if action.status in OPEN_ACTION:
                out.append(Excluded(found.label, "open action with no due date"))
            continue
        if verdict.state not in OPEN_AT:
            continue  # done (or not due) as of --as-of, as the action-due verdict says
        deadline = verdict.due  # the action-due obligation's deadline
        obs.append(ctx.followup(found, ctx.as_of > deadline + limit, deadline))
    return obs
