"""Incident records as of a moment, and the commits that write them.

``snapshot(incident, t)`` is the YAML mapping the record holds at time ``t``: every clock,
notification, escalation and timeline entry that happened by ``t``, the status they imply,
and the priority and impact text as edited by then. ``steps`` lists the commits of the
incident's life: opened shortly after detection (or days later for a late record), then
acknowledgement, updates, mitigation, resolution, the PIR link and closure.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from opsledger.demo import prose, regulatory
from opsledger.demo.clock import MINUTE, ts
from opsledger.demo.context import Step
from opsledger.demo.incidents import Incident

SCHEMA_LINE = "# yaml-language-server: $schema=../../../schemas/incident.schema.json\n"


def _status(incident: Incident, moment: datetime) -> tuple[str, datetime | None]:
    """Status at ``moment`` and the ``resolved_at`` it shows."""
    if incident.closed is not None and incident.closed <= moment:
        return "closed", incident.resolved
    if incident.resolved <= moment:
        return "resolved", incident.resolved
    if incident.reopen is not None:
        first, again, _reason = incident.reopen
        if first <= moment < again:
            return "resolved", first
        if again <= moment:
            return "open", None
    if incident.mitigated <= moment:
        return "mitigated", None
    return "open", None


def snapshot(incident: Incident, moment: datetime) -> dict[str, Any] | None:
    """The record as of ``moment`` (None once it was deleted)."""
    if incident.deleted is not None and incident.deleted[0] <= moment:
        return None
    status, resolved_at = _status(incident, moment)
    priority = incident.priority
    if incident.downgrade is not None and incident.downgrade[0] <= moment:
        priority = incident.downgrade[1]
    data: dict[str, Any] = {
        "id": incident.id,
        "title": prose.fill(incident.scenario.title, incident.service),
        "priority": priority,
        "status": status,
        "service": incident.service.key,
        "detection": incident.detection,
        "source": incident.source,
        "scope": incident.scope,
        "category": incident.scenario.category,
    }
    if incident.commander is not None:
        data["commander"] = incident.commander.email
    impact = "TBD" if incident.statement_defect == "impact" else incident.impact
    if incident.impact_edit is not None and incident.impact_edit[0] <= moment:
        impact = incident.impact_edit[2]
    data["impact"] = impact
    data["detected_at"] = ts(incident.detected)
    if incident.ack <= moment:
        data["acknowledged_at"] = ts(incident.ack)
    if incident.bridge is not None and incident.bridge <= moment:
        data["bridge_opened_at"] = ts(incident.bridge)
    if incident.mitigated <= moment:
        data["mitigated_at"] = ts(incident.mitigated)
    if resolved_at is not None:
        data["resolved_at"] = ts(resolved_at)
    if status == "closed" and incident.closed is not None:
        data["closed_at"] = ts(incident.closed)
    notices = [n for n in incident.notices if n.at <= moment]
    if notices:
        data["notifications"] = [
            {
                "at": ts(n.at),
                "kind": n.kind,
                "audience": list(n.audience),
                "channel": n.channel,
                "summary": n.summary,
            }
            for n in notices
        ]
    escalations = [e for e in incident.escalations if e.at <= moment]
    if escalations:
        data["escalations"] = [_escalation(e) for e in escalations]
    if incident.reopen is not None and incident.reopen[1] <= moment:
        data["reopened"] = [{"at": ts(incident.reopen[1]), "reason": incident.reopen[2]}]
    if incident.caused_by is not None and resolved_at is not None:
        data["caused_by_change"] = incident.caused_by.id
    if incident.recurrence_of is not None:
        data["recurrence_of"] = incident.recurrence_of.id
    if incident.runbooks_used and incident.mitigated <= moment:
        data["runbooks_used"] = list(incident.runbooks_used)
    if incident.pir is not None and incident.pir.draft_at <= moment:
        data["pir"] = incident.pir.id
    if resolved_at is not None:
        data["resolution"] = prose.resolution(incident)
    events = [(at, text) for at, text in prose.timeline(incident) if at <= moment]
    data["timeline"] = [{"at": ts(at), "event": text} for at, text in events]
    filing = incident.regulatory.entry(moment) if incident.regulatory is not None else None
    if filing is not None:
        data["regulatory"] = [filing]
    return data


def _escalation(item: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "at": ts(item.at),
        "to_tier": item.to_tier,
        "team": item.team,
        "context": item.context,
    }
    if item.troubleshooting is not None:
        entry["troubleshooting"] = item.troubleshooting
    entry["impact_assessment"] = item.impact_assessment
    return entry


def steps(incident: Incident) -> list[Step]:
    """Commits of the incident's life (before truncation to the period)."""
    opener = (incident.commander if incident.major else incident.reporter) or incident.responder
    owner = incident.owner
    first = incident.first_commit
    title = prose.fill(incident.scenario.title, incident.service)
    result = [
        Step(first, opener, f"{incident.id}: open {incident.priority} incident - {title}", True)
    ]

    def later(
        at: datetime, who: Any, message: str, pinned: bool = False, group: str | None = None
    ) -> None:
        if at > first:
            result.append(Step(at, who, f"{incident.id}: {message}", pinned, group))

    delay = 1 + incident.seed % 9
    later(incident.ack + delay * MINUTE, incident.responder, "acknowledged")
    for notice in incident.notices[1:]:
        later(notice.at + 2 * MINUTE, owner, f"{notice.kind} notification sent")
    if incident.downgrade is not None:
        at, lower = incident.downgrade
        later(at, owner, f"priority {incident.priority} -> {lower} after reassessment", True)
    later(incident.mitigated + (delay + 2) * MINUTE, owner, "mitigated")
    if incident.reopen is not None:
        later(incident.reopen[0] + delay * MINUTE, owner, "resolved")
        later(incident.reopen[1] + delay * MINUTE, owner, "reopened", True)
    later(incident.resolved + (delay + 4) * MINUTE, owner, "resolved")
    for at, who, _text in incident.notes:
        later(at + MINUTE, who, "timeline note", True)
    if incident.pir is not None:
        pir = incident.pir
        later(pir.draft_at, pir.authors[0], f"link {pir.id}", True, f"pir:{pir.id}")
    if incident.closed is not None:
        later(incident.closed + delay * MINUTE, incident.closer or owner, "closed", True)
    if incident.impact_edit is not None:
        at, who, _text = incident.impact_edit
        later(at, who, "update impact statement", True)
    result += [s for s in regulatory.steps(incident, owner) if s.at > first]
    if incident.deleted is not None:
        at, who = incident.deleted
        dup = incident.duplicate_of.id if incident.duplicate_of else "another record"
        result = [step for step in result if step.at < at]
        result.append(Step(at, who, f"{incident.id}: delete, duplicate of {dup}", True))
    return sorted(result, key=lambda step: step.at)
