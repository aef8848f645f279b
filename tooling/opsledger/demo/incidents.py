"""Incident plans: when each incident was detected, acknowledged, bridged, mitigated, resolved.

``plan_incidents`` draws 25-40 incidents a month (scaled by ``Ctx.factor``) with priorities
P1 ~3%, P2 ~12%, P3 ~45%, P4 ~40% and ~65% automated detection. Every clock is kept safely
inside the policy's limits (acknowledge, bridge, initial notification, update cadence), so an
incident is clean unless a defect is planted on it later. ``finalize`` derives the parts that
depend on the clocks (notifications, escalations) from a per-incident seed, so a defect that
moves a clock can simply re-run it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from opsledger.demo import prose
from opsledger.demo.catalog import Service
from opsledger.demo.clock import DAY, HOUR, MINUTE, add_months, between, midnight, minutes, skewed
from opsledger.demo.context import Ctx
from opsledger.demo.people import Person
from opsledger.demo.scenarios import Scenario, scenarios_for

if TYPE_CHECKING:
    from opsledger.demo.changes import Change
    from opsledger.demo.pirs import Pir

PRIORITY_WEIGHTS = (("P1", 3), ("P2", 12), ("P3", 45), ("P4", 40))
MAJOR = ("P1", "P2")
_RESTORE = {"P1": (18, 105), "P2": (30, 420), "P3": (60, 2880), "P4": (120, 5760)}
_RESOLVE_EXTRA = {"P1": (0, 100), "P2": (0, 600), "P3": (0, 2880), "P4": (0, 4320)}
_SCOPES = {
    "P1": ("enterprise",),
    "P2": ("site", "enterprise", "team"),
    "P3": ("team", "site", "single-user"),
    "P4": ("single-user", "team"),
}


@dataclass
class Notice:
    """An incident notification."""

    at: datetime
    kind: str
    audience: tuple[str, ...]
    channel: str
    summary: str


@dataclass
class Escalation:
    """An escalation to another tier or a vendor."""

    at: datetime
    to_tier: int | str
    team: str
    context: str
    troubleshooting: str | None
    impact_assessment: str


@dataclass
class Incident:
    """The full plan of one incident; ``snapshot`` renders it as of a time."""

    seq: int
    service: Service
    scenario: Scenario
    priority: str
    detection: str
    source: str
    scope: str
    responder: Person
    reporter: Person | None
    commander: Person | None
    impact: str
    detected: datetime
    ack: datetime
    bridge: datetime | None
    mitigated: datetime
    resolved: datetime
    first_commit: datetime
    seed: int
    closed: datetime | None = None
    closer: Person | None = None
    notices: list[Notice] = field(default_factory=list)
    escalations: list[Escalation] = field(default_factory=list)
    reopen: tuple[datetime, datetime, str] | None = None
    caused_by: Change | None = None
    emergency: Change | None = None
    recurrence_of: Incident | None = None
    runbooks_used: list[str] = field(default_factory=list)
    pir: Pir | None = None
    notes: list[tuple[datetime, Person, str]] = field(default_factory=list)
    downgrade: tuple[datetime, str] | None = None
    impact_edit: tuple[datetime, Person, str] | None = None
    deleted: tuple[datetime, Person] | None = None
    duplicate_of: Incident | None = None
    statement_defect: str | None = None
    late_initial: bool = False
    cadence_gap: bool = False
    escalate: bool = False
    escalation_gap: bool = False
    id: str = ""
    defect: str | None = None
    note: str = ""
    regulatory: Any = None  # a demo.regulatory.Filing for P1 incidents

    @property
    def major(self) -> bool:
        """P1 or P2 as first declared."""
        return self.priority in MAJOR

    @property
    def final_priority(self) -> str:
        """The priority the record ends with."""
        return self.downgrade[1] if self.downgrade else self.priority

    @property
    def path(self) -> str:
        """Repository path of the record."""
        return f"records/incidents/{self.id[4:8]}/{self.id}.yaml"

    @property
    def owner(self) -> Person:
        """Who keeps the record up to date."""
        return self.commander or self.responder


def _pick(rng: random.Random, weights: tuple[tuple[str, int], ...]) -> str:
    names = [name for name, _ in weights]
    return rng.choices(names, [weight for _, weight in weights])[0]


def _service_for(ctx: Ctx, rng: random.Random, priority: str) -> Service:
    if priority == "P1":
        pool = [s for s in ctx.services if s.tier == 1]
    elif priority == "P2":
        pool = [s for s in ctx.services if s.tier <= 2]
    else:
        pool = ctx.services
    return rng.choices(pool, [4 - s.tier for s in pool])[0]


def _detection(rng: random.Random, service: Service, scenario: Scenario) -> tuple[str, str]:
    if scenario.key != "access" and rng.random() < 0.68:
        security = scenario.category == "authentication" and rng.random() < 0.2
        return "automated", "security" if security else "monitoring"
    sources = [("service-desk", 60), ("customer", 25), ("other", 5)]
    if service.spec.vendor:
        sources.append(("vendor", 10))
    return "manual", _pick(rng, tuple(sources))


def new_incident(
    ctx: Ctx,
    rng: random.Random,
    seq: int,
    detected: datetime,
    priority: str,
    service: Service | None = None,
    scenario: Scenario | None = None,
) -> Incident:
    """One clean incident detected at ``detected``."""
    policy = ctx.policy.priorities[priority]
    service = service or _service_for(ctx, rng, priority)
    scenario = scenario or rng.choice(
        scenarios_for(service.spec.kind, priority) or scenarios_for(service.spec.kind, "P3")
    )
    detection, source = _detection(rng, service, scenario)
    responder = rng.choice(ctx.people.team_engineers(service.team))
    reporter = rng.choice(ctx.people.service_desk) if detection == "manual" else None
    commander: Person | None = None
    if priority in MAJOR or rng.random() < 0.25:
        candidates = [p for p in ctx.people.commanders if p != responder]
        same_team = [p for p in candidates if p.team == service.team]
        commander = rng.choice(same_team if same_team and rng.random() < 0.6 else candidates)
    ack_limit = policy.acknowledge.total_seconds() / 60
    ack = detected + minutes(max(1, skewed(rng, 0.1, 0.75) * ack_limit))
    bridge = None
    if priority in MAJOR:
        bridge_within = timedelta(minutes=30) if policy.bridge is None else policy.bridge
        limit = bridge_within.total_seconds() / 60
        bridge = max(ack + MINUTE, detected + minutes(rng.uniform(0.3, 0.8) * limit))
    low, high = _RESTORE[priority]
    mitigated = detected + minutes(skewed(rng, low, high))
    if rng.random() < 0.04:  # a few breach the restore target
        mitigated = detected + policy.restore + minutes(rng.randint(10, 240))
    mitigated = max(mitigated, (bridge or ack) + 5 * MINUTE)
    low, high = _RESOLVE_EXTRA[priority]
    extra = skewed(rng, low, high, 2.5)
    if priority in MAJOR:
        extra = max(extra, 15)  # a real correction after the workaround
    elif rng.random() < 0.1:
        extra = 0  # the mitigation was the whole fix
    resolved = mitigated + minutes(extra)
    waits = {"P3": (0.03, 4, 21), "P4": (0.08, 5, 60)}  # mitigated, fix waits for a vendor
    if priority in waits and rng.random() < waits[priority][0]:
        resolved = mitigated + minutes(rng.randint(waits[priority][1], waits[priority][2]) * 1440)
    if priority in MAJOR:
        first = detected + minutes(rng.randint(4, 20))
    elif reporter is not None:
        first = detected + minutes(rng.randint(3, 30))
    else:
        first = ack + minutes(rng.randint(2, 40))
    incident = Incident(
        seq=seq,
        service=service,
        scenario=scenario,
        priority=priority,
        detection=detection,
        source=source,
        scope=rng.choice(_SCOPES[priority]),
        responder=responder,
        reporter=reporter,
        commander=commander,
        impact="",
        detected=detected,
        ack=ack,
        bridge=bridge,
        mitigated=mitigated,
        resolved=resolved,
        first_commit=first,
        seed=rng.getrandbits(32),
    )
    incident.impact = prose.impact(rng, incident)
    incident.escalate = priority in MAJOR or (priority == "P3" and rng.random() < 0.3)
    if priority not in MAJOR:
        closer = reporter if reporter is not None and rng.random() < 0.5 else incident.owner
        incident.closer = closer
        incident.closed = resolved + minutes(skewed(rng, 120, 5 * 1440))
        if rng.random() < 0.02:
            reopened = resolved + minutes(rng.randint(120, 1440))
            final = reopened + minutes(rng.randint(60, 1440))
            incident.reopen = (resolved, reopened, prose.reopen_reason(rng, incident))
            incident.resolved = final
            incident.closed = final + minutes(skewed(rng, 120, 3 * 1440))
    return incident


def _month_time(ctx: Ctx, rng: random.Random, month: int, priority: str, manual: bool) -> datetime:
    low = max(midnight(add_months(ctx.start, month)), ctx.start_dt + HOUR)
    margin = 6 * DAY if priority in MAJOR else 6 * HOUR
    high = min(midnight(add_months(ctx.start, month + 1)), ctx.end_dt - margin)
    moment = between(rng, low, high)
    if manual:
        for _ in range(6):
            if 8 <= moment.hour < 18 and moment.weekday() < 5:
                break
            moment = between(rng, low, high)
    return moment


def plan_incidents(ctx: Ctx, implemented: list[Change]) -> list[Incident]:
    """Every incident of the period; some are caused by ``implemented`` changes."""
    rng = ctx.rng("incidents")
    incidents: list[Incident] = []
    spare = sorted(implemented, key=lambda change: change.start)
    for month in range(ctx.months):
        count = max(1, round(rng.randint(25, 40) * ctx.factor))
        for _ in range(count):
            priority = _pick(rng, PRIORITY_WEIGHTS)
            manual_hint = rng.random() < 0.35
            detected = _month_time(ctx, rng, month, priority, manual_hint)
            incidents.append(new_incident(ctx, rng, len(incidents), detected, priority))
        caused = [c for c in spare if c.in_month(ctx, month) and c.caused_incident is None]
        for change in rng.sample(caused, min(len(caused), round(count * 0.04))):
            incident = _change_induced(ctx, rng, len(incidents), change)
            if incident is not None:
                incidents.append(incident)
    _link_recurrences(rng, incidents)
    return incidents


def _change_induced(ctx: Ctx, rng: random.Random, seq: int, change: Change) -> Incident | None:
    implementation = change.implementation
    if implementation is None:
        return None
    priority = _pick(rng, (("P1", 2), ("P2", 15), ("P3", 58), ("P4", 25)))
    service = change.services[0]
    if priority == "P1" and service.tier != 1:
        priority = "P2"
    detected = implementation.completed + minutes(rng.randint(15, 360))
    margin = 6 * DAY if priority in MAJOR else DAY
    if detected > ctx.end_dt - margin:
        return None
    scenarios = [
        s for s in scenarios_for(service.spec.kind, priority) if s.key in ("release", "flag")
    ]
    if not scenarios:
        return None
    incident = new_incident(ctx, rng, seq, detected, priority, service, rng.choice(scenarios))
    incident.caused_by = change
    change.caused_incident = incident
    return incident


def _link_recurrences(rng: random.Random, incidents: list[Incident]) -> None:
    latest: dict[tuple[str, str], Incident] = {}
    for incident in sorted(incidents, key=lambda inc: inc.detected):
        key = (incident.service.key, incident.scenario.category)
        earlier = latest.get(key)
        if (
            earlier is not None
            and incident.detected - earlier.resolved < 60 * DAY
            and earlier.resolved < incident.detected
            and rng.random() < 0.15
        ):
            incident.recurrence_of = earlier
        latest[key] = incident


def finalize(ctx: Ctx, incident: Incident) -> None:
    """Derive notifications and escalations from the incident's clocks and defect flags."""
    rng = random.Random(incident.seed)
    incident.notices = prose.notices(ctx, rng, incident)
    incident.escalations = prose.escalations(rng, incident) if incident.escalate else []
