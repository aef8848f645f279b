"""Change records as of a moment, and the commits that write them.

A change is committed when requested (by the requester), each approval in its own commit by
the approver (unless a provenance defect says otherwise), the stakeholder notice by the
requester, and the implementation by the implementer once the window has closed. Status is
derived from what has been committed by then.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from opsledger.demo.changes import Change
from opsledger.demo.clock import ts
from opsledger.demo.context import Step

SCHEMA_LINE = "# yaml-language-server: $schema=../../../schemas/change.schema.json\n"
_OUTCOME_STATUS = {
    "successful": "implemented",
    "partial": "implemented",
    "failed": "failed",
    "rolled-back": "rolled-back",
}


def status(change: Change, needed: int, moment: datetime) -> str:
    """The change's status as of ``moment``."""
    if change.cancelled_at is not None and change.cancelled_at <= moment:
        return "cancelled"
    done = change.implementation
    if done is not None and done.commit_at <= moment:
        return _OUTCOME_STATUS[done.outcome]
    approved = sum(1 for a in change.approvals if a.commit_at <= moment)
    if approved >= needed:
        noticed = any(n.commit_at <= moment for n in change.notices)
        return "scheduled" if noticed else "approved"
    return "requested"


def snapshot(change: Change, needed: int, moment: datetime) -> dict[str, Any]:
    """The record as of ``moment``."""
    text = change.text
    data: dict[str, Any] = {
        "id": change.id,
        "title": change.title,
        "type": change.type,
        "risk": change.risk,
        "status": status(change, needed, moment),
        "services": change.keys,
        "requested_by": change.requester.email,
        "implementer": change.implementer.email,
        "description": change.say(text.description),
        "justification": change.say(text.justification),
        "impact": change.say(text.impact),
        "window": {"start": ts(change.start), "end": ts(change.end)},
    }
    if change.type != "standard":
        testing: dict[str, Any] = {"summary": change.say(text.testing)}
        if not change.testing_defect:
            testing["evidence"] = list(change.evidence)
        data["testing"] = testing
    data["rollback"] = {
        "plan": "Rollback if needed." if change.rollback_defect else change.say(text.rollback),
        "trigger": change.say(text.trigger),
        "tested": change.rollback_tested,
        "estimated_duration": change.rollback_duration,
    }
    approvals = [a for a in change.approvals if a.commit_at <= moment]
    if approvals:
        data["approvals"] = [_approval(a) for a in approvals]
    notices = [n for n in change.notices if n.commit_at <= moment]
    if notices:
        data["notifications"] = [
            {
                "at": ts(n.at),
                "audience": list(n.audience),
                "channel": n.channel,
                "summary": n.summary,
            }
            for n in notices
        ]
    done = change.implementation
    if done is not None and done.commit_at <= moment:
        data["implementation"] = {
            "started_at": ts(done.started),
            "completed_at": ts(done.completed),
            "outcome": done.outcome,
            "validation": done.validation,
        }
    if change.related_incident is not None:
        data["related_incident"] = change.related_incident.id
    if change.freeze_exception is not None:
        person, reason = change.freeze_exception
        data["freeze_exception"] = {"approved_by": person.email, "reason": reason}
    if text.template is not None and change.type == "standard":
        data["standard_template"] = text.template
    return data


def _approval(approval: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "by": approval.by.email,
        "role": approval.role,
        "at": ts(approval.at),
        "decision": "approved",
    }
    if approval.conditions:
        entry["conditions"] = approval.conditions
    return entry


def steps(change: Change) -> list[Step]:
    """Commits of the change's life (before truncation to the period)."""
    first = change.requested_at
    label = "emergency change" if change.type == "emergency" else f"{change.type} change"
    result = [Step(first, change.requester, f"{change.id}: request {label} - {change.title}", True)]
    for approval in change.approvals:
        result.append(
            Step(
                approval.commit_at,
                approval.committer,
                f"{change.id}: approved by {approval.by.name} ({approval.role})",
                True,
            )
        )
    for notice in change.notices:
        if notice.commit_at > first:
            result.append(
                Step(notice.commit_at, change.requester, f"{change.id}: notify stakeholders")
            )
    if change.implementation is not None:
        outcome = change.implementation.outcome
        result.append(
            Step(
                change.implementation.commit_at,
                change.implementer,
                f"{change.id}: implementation recorded ({outcome})",
                True,
            )
        )
    if change.cancelled_at is not None:
        result.append(Step(change.cancelled_at, change.requester, f"{change.id}: cancelled", True))
    return sorted(result, key=lambda step: step.at)
