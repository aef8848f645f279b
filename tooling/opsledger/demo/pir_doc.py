"""PIR records (front matter + Markdown body) as of a moment, and the commits that write them.

The body has one ``##`` heading per ``pir.required_sections`` entry of the policy, each with
real content: summary, impact, timeline, root cause, contributing factors, the action table
and lessons learned. After approval only action statuses change, so the history never shows
an edit after approval other than progress.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from opsledger.demo import prose
from opsledger.demo.clock import hhmm, ts
from opsledger.demo.context import Step
from opsledger.demo.pirs import Pir
from opsledger.demo.yamlout import front_matter


def _status(pir: Pir, moment: datetime) -> str:
    approved = pir.approved_at
    if approved is not None and approved <= moment:
        return "approved"
    if any(r.commit_at <= moment for r in pir.reviews):
        return "in-review"
    if pir.in_review_at is not None and pir.in_review_at <= moment:
        return "in-review"
    return "draft"


def _factors(pir: Pir, moment: datetime) -> list[str]:
    factors = list(pir.factors)
    if pir.revision is not None and pir.revision[0] <= moment:
        factors.append(pir.revision[1])
    return factors


def front(pir: Pir, moment: datetime) -> dict[str, Any]:
    """The front matter as of ``moment``."""
    incident = pir.incident
    data: dict[str, Any] = {
        "id": pir.id,
        "incident": incident.id,
        "title": prose.fill(incident.scenario.title, incident.service),
        "status": _status(pir, moment),
        "authors": [person.email for person in pir.authors],
    }
    reviews = [r for r in pir.reviews if r.commit_at <= moment]
    if reviews:
        data["reviewers"] = [
            {"by": r.by.email, "at": ts(r.at), "decision": r.decision} for r in reviews
        ]
    data["root_cause"] = pir.root_cause
    data["contributing_factors"] = _factors(pir, moment)
    actions = []
    for action in pir.actions:
        entry: dict[str, Any] = {"id": action.id, "title": action.title, "type": action.type}
        if action.owner is not None:
            entry["owner"] = action.owner.email
        entry["due"] = action.due.isoformat()
        entry["status"] = action.status_at(moment)
        entry["verification"] = action.verification
        entry["tracker"] = action.tracker
        actions.append(entry)
    data["actions"] = actions
    return data


def _summary(pir: Pir, _moment: datetime) -> str:
    incident = pir.incident
    restore = int((incident.mitigated - incident.detected).total_seconds() // 60)
    title = prose.fill(incident.scenario.title, incident.service)
    return (
        f'On {incident.detected:%Y-%m-%d}, "{title}" caused {incident.scenario.symptom} for '
        f"{incident.service.spec.users}. It was declared {incident.priority} and service was "
        f"restored {restore} minutes "
        f"after detection, at {hhmm(incident.mitigated)} UTC; the underlying fault was "
        f"corrected at {hhmm(incident.resolved)} UTC on {incident.resolved:%Y-%m-%d}."
    )


def _impact(pir: Pir, _moment: datetime) -> str:
    incident = pir.incident
    restore = int((incident.mitigated - incident.detected).total_seconds() // 60)
    lasted = f"User-facing impact lasted {restore} minutes ({incident.scope} scope)."
    return f"{incident.impact}\n\n{lasted}"


def _timeline(pir: Pir, _moment: datetime) -> str:
    incident = pir.incident
    events = [(at, text) for at, text in prose.timeline(incident) if at <= incident.resolved]
    lines = [f"- {at:%Y-%m-%d %H:%M} UTC: {text}" for at, text in events]
    return "\n".join(lines)


def _root_cause(pir: Pir, _moment: datetime) -> str:
    return pir.root_cause


def _contributing(pir: Pir, moment: datetime) -> str:
    return "\n".join(f"- {factor}" for factor in _factors(pir, moment))


def _actions(pir: Pir, _moment: datetime) -> str:
    rows = ["| ID | Action | Type | Owner | Due |", "|---|---|---|---|---|"]
    for action in pir.actions:
        owner = action.owner.email if action.owner else "unassigned"
        rows.append(f"| {action.id} | {action.title} | {action.type} | {owner} | {action.due} |")
    return "\n".join(rows)


def _lessons(pir: Pir, _moment: datetime) -> str:
    return "\n".join(f"- {lesson}" for lesson in pir.lessons)


_SECTIONS: dict[str, Callable[[Pir, datetime], str]] = {
    "summary": _summary,
    "impact": _impact,
    "timeline": _timeline,
    "root cause": _root_cause,
    "contributing factors": _contributing,
    "corrective actions": _actions,
    "actions": _actions,
    "lessons learned": _lessons,
}


def body(pir: Pir, sections: tuple[str, ...], moment: datetime) -> str:
    """The Markdown body with every required section."""
    parts = [f"# {pir.id}: {prose.fill(pir.incident.scenario.title, pir.incident.service)}"]
    for name in sections:
        make = _SECTIONS.get(name.strip().lower())
        text = (
            make(pir, moment)
            if make
            else (
                f"Discussed in the review meeting on {pir.draft_at:%Y-%m-%d}; agreed points are "
                "recorded in the actions above."
            )
        )
        parts.append(f"## {name}\n\n{text}")
    return "\n\n".join(parts)


def render(pir: Pir, sections: tuple[str, ...], moment: datetime) -> str:
    """The whole file as of ``moment``."""
    return front_matter(front(pir, moment), body(pir, sections, moment))


def steps(pir: Pir) -> list[Step]:
    """Commits of the PIR's life (before truncation to the period)."""
    author = pir.authors[0]
    incident = pir.incident
    result = [
        Step(
            pir.draft_at,
            author,
            f"{pir.id}: draft post-incident review of {incident.id}",
            True,
            f"pir:{pir.id}",
        )
    ]
    if pir.in_review_at is not None:
        result.append(Step(pir.in_review_at, author, f"{pir.id}: ready for review"))
    if pir.revision is not None:
        result.append(Step(pir.revision[0], author, f"{pir.id}: address review comments"))
    for review in pir.reviews:
        verb = {"approved": "approved", "changes-requested": "changes requested"}.get(
            review.decision, review.decision
        )
        result.append(
            Step(review.commit_at, review.by, f"{pir.id}: {verb} by {review.by.name}", True)
        )
    for action in pir.actions:
        for at, value, who in action.events:
            result.append(
                Step(at, who, f"{pir.id}: action {action.id} {value}", value != "in-progress")
            )
    return sorted(result, key=lambda step: step.at)
