"""Planted defects: a realistic share of records that break exactly one SPEC §4 rule each.

``plant_early`` runs before emergency changes and PIRs are planned (a downgraded incident needs
no PIR; a duplicate record is deleted). ``plant`` runs once IDs are known and bends clean
records: a late notice, a gap in updates, a late approval, an approval by the implementer, a
PIR approved only by its author... ``collect`` lists every planted defect with the rule that
should catch it. Freeze, collision and runbook defects are planted by their own planners.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from opsledger.demo.bends import change_bends, incident_bends, pir_bends
from opsledger.demo.changes import Change
from opsledger.demo.clock import DAY, HOUR, MINUTE, minutes
from opsledger.demo.context import Ctx
from opsledger.demo.incidents import Incident, new_incident
from opsledger.demo.pirs import Pir, plan_action_events
from opsledger.demo.runbooks import Runbook

T = TypeVar("T")

# Planted per 12 months of the default volume (scaled with the period and --records).
BASE = {
    "INC-NOTIFY": 3,
    "INC-CADENCE": 3,
    "INC-ACK": 5,
    "INC-BRIDGE": 2,
    "INC-STATEMENT": 4,
    "INC-ESCALATION": 3,
    "INC-PIR": 2,
    "CHG-ROLLBACK": 4,
    "CHG-TESTING": 3,
    "CHG-SOD": 2,
    "CHG-APPROVED-BEFORE": 3,
    "CHG-NOTICE": 3,
    "CHG-EMERGENCY": 2,
    "PIR-VAGUE": 3,
    "PIR-ACTIONS": 2,
    "PIR-REVIEW": 1,
    "GIT-PROVENANCE": 2,
    "GIT-AFTER-CLOSE": 2,
    "GIT-BACKDATED": 2,
    "GIT-DELETED": 1,
    "GIT-LATE-RECORD": 3,
    "GIT-DOWNGRADE": 1,
}


@dataclass(frozen=True)
class PlantedDefect:
    """A defect the demo planted on purpose, and the rule that should report it."""

    rule: str
    record: str
    path: str
    note: str

    def to_dict(self) -> dict[str, str]:
        """``{rule, record, path, note}`` for JSON."""
        return {"rule": self.rule, "record": self.record, "path": self.path, "note": self.note}


def _pick(ctx: Ctx, rng: random.Random, rule: str, pool: Sequence[T]) -> list[T]:
    count = ctx.count(BASE[rule], rng)
    return rng.sample(list(pool), min(count, len(pool)))


def _clean(incident: Incident) -> bool:
    return incident.defect is None and incident.deleted is None and incident.duplicate_of is None


def plant_early(ctx: Ctx, incidents: list[Incident]) -> None:
    """Downgraded incidents and deleted duplicates (before emergencies and PIRs exist)."""
    rng = ctx.rng("defects-early")
    pool = [
        i
        for i in incidents
        if i.priority == "P2"
        and i.caused_by is None
        and i.resolved - i.detected <= 10 * HOUR
        and i.mitigated - i.detected >= 100 * MINUTE
        and i.first_commit < i.detected + 40 * MINUTE
    ]
    for incident in _pick(ctx, rng, "GIT-DOWNGRADE", pool):
        incident.downgrade = (incident.detected + minutes(rng.randint(45, 90)), "P3")
        incident.defect = "GIT-DOWNGRADE"
        incident.closer = incident.owner
        incident.closed = incident.resolved + minutes(rng.randint(120, 3 * 1440))
    pool = [
        i
        for i in incidents
        if i.priority in ("P3", "P4")
        and i.defect is None
        and i.detected < ctx.horizon - 3 * DAY
        and i.caused_by is None
    ]
    for original in _pick(ctx, rng, "GIT-DELETED", pool):
        detected = original.detected + minutes(rng.randint(5, 30))
        dup = new_incident(
            ctx,
            rng,
            len(incidents),
            detected,
            original.priority,
            original.service,
            original.scenario,
        )
        dup.detection, dup.source = "manual", "service-desk"
        dup.reporter = rng.choice(ctx.people.service_desk)
        dup.first_commit = detected + minutes(rng.randint(2, 10))
        dup.deleted = (dup.first_commit + minutes(rng.randint(60, 480)), original.owner)
        dup.closed = None  # deleted while still open
        dup.duplicate_of, dup.defect, dup.escalate = original, "GIT-DELETED", False
        dup.note = "record deleted instead of being closed as a duplicate"
        incidents.append(dup)


def plant(ctx: Ctx, incidents: list[Incident], changes: list[Change], pirs: list[Pir]) -> None:
    """Bend clean records (IDs assigned) so each breaks exactly one rule."""
    rng = ctx.rng("defects")
    ordered = sorted(incidents, key=lambda i: i.id)
    for rule, eligible, apply in incident_bends(ctx):
        for incident in _pick(ctx, rng, rule, [i for i in ordered if _clean(i) and eligible(i)]):
            incident.defect = rule
            incident.note = apply(incident, rng)
    ordered_changes = sorted(changes, key=lambda c: c.id)
    for rule, ok, bend in change_bends(ctx):
        pool = [c for c in ordered_changes if c.defect is None and c.cancelled_at is None and ok(c)]
        for change in _pick(ctx, rng, rule, pool):
            change.defect = rule
            change.note = bend(change, rng)
    approved = [
        p
        for p in sorted(pirs, key=lambda p: p.id)
        if p.defect is None
        and p.approved_at is not None
        and p.approved_at <= ctx.horizon
        and p.incident.defect is None
    ]
    for rule, bend_pir in pir_bends(ctx):
        for pir in _pick(ctx, rng, rule, [p for p in approved if p.defect is None]):
            pir.defect = rule
            pir.note = bend_pir(pir, rng)
            plan_action_events(ctx, rng, pir)


def collect(
    incidents: list[Incident], changes: list[Change], pirs: list[Pir], runbooks: list[Runbook]
) -> list[PlantedDefect]:
    """Every planted defect, sorted by rule and record."""
    found: list[PlantedDefect] = []
    records: list[Any] = [*incidents, *changes, *pirs, *runbooks]
    for record in records:
        if record.defect is None:
            continue
        note = record.note
        if record.defect == "CHG-COLLISION" and record.partner is not None:
            note = f"window overlaps {record.partner.id} on {record.keys[0]}"
        if record.defect == "GIT-DOWNGRADE":
            note = "declared P2, lowered to P3 after detection; no PIR was required any more"
        if record.defect == "CHG-FREEZE" and not note:
            note = "window inside a freeze window without a freeze_exception"
        found.append(PlantedDefect(record.defect, record.id, record.path, note))
    return sorted(found, key=lambda d: (d.rule, d.record))
