"""``opsledger brief INC-… --regulatory REGIME --stage STAGE``: the draft content of a
regulatory submission, for a person to check, complete and submit. Nothing is sent.

The draft gathers from the record what an initial, intermediate or final report asks for:
detection, awareness and classification times, a description, the services and scope
affected, the impact statement, the current status, the actions taken and planned, the
submissions already made, and what the record does not establish yet. The deadline and
its verdict are the stage's clock (:mod:`opsledger.obligations.regulatory`), the same the
audit, the KPI and the site show. As Markdown, record text is escaped; as JSON it is data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from opsledger.errors import OpsledgerError
from opsledger.model.records import Incident
from opsledger.model.regulatory import Regime, Stage
from opsledger.obligations.regulatory import Clock, awareness, filing_for
from opsledger.reports.brief import STATUS
from opsledger.text.escape import md as escape
from opsledger.timeutil import format_timestamp

if TYPE_CHECKING:
    from opsledger.workspace import Workspace

NOTICE = (
    "DRAFT for review: prepared from the incident record by opsledger. It has not been "
    "submitted to anyone; a responsible person checks, completes and submits it through "
    "the authority's own channel, then records the submission (stage, at, reference)."
)
#: the verdict of the stage, in words
STATE_WORDS = {
    "met": "submitted on time",
    "late": "submitted late",
    "missing": "deadline passed, not submitted",
    "pending": "open",
    "unverified": "submitted, timing not verifiable",
}


@dataclass(frozen=True)
class Draft:
    incident: Incident
    regime: Regime
    stage: Stage
    clock: Clock | None
    data: dict[str, Any]


def _ts(moment: datetime | None) -> str | None:
    return format_timestamp(moment) if moment is not None else None


def choose(ws: Workspace, incident_id: str, regime_id: str, stage_id: str | None) -> Draft:
    """The draft for ``stage_id`` of ``regime_id`` (default: the first stage not submitted
    yet); an unknown regime or stage is a usage error naming the choices."""
    ledger = ws.ledger
    inc = ledger.incidents[incident_id]
    regimes = {r.id: r for r in ledger.policy.regulatory}
    regime = regimes.get(regime_id)
    if regime is None:
        known = ", ".join(regimes) or "none: add regulatory.regimes to policy.yaml"
        raise OpsledgerError(f"--regulatory {regime_id!r}: no such regime (active: {known})")
    clocks = [c for c in ws.obligations.regulatory(inc) if c.regime.id == regime.id]
    if stage_id is None:
        open_stage = next(
            (c.stage for c in clocks if c.stage is not None and c.verdict.at is None), None
        )
        stage = open_stage or regime.stages[0]
    else:
        found = regime.stage(stage_id)
        if found is None:
            stages = ", ".join(s.id for s in regime.stages)
            raise OpsledgerError(
                f"--stage {stage_id!r}: {regime.id} has no such stage (stages: {stages})"
            )
        stage = found
    clock = next((c for c in clocks if c.stage is not None and c.stage.id == stage.id), None)
    return Draft(inc, regime, stage, clock, _data(ws, inc, regime, stage, clock))


def _data(
    ws: Workspace, inc: Incident, regime: Regime, stage: Stage, clock: Clock | None
) -> dict[str, Any]:
    ledger = ws.ledger
    filing = filing_for(inc, regime)
    service = ledger.services.get(inc.service or "")
    reviews = ws.obligations.reviews(inc)
    pir = reviews[0] if reviews else None
    verdict = clock.verdict if clock is not None else None
    actions: list[dict[str, Any]] = [
        {"at": _ts(t.at), "what": t.event} for t in inc.timeline if t.event
    ]
    actions += [
        {"at": _ts(e.at), "what": f"escalated to {e.team or 'the next tier'}"}
        for e in inc.escalations
    ]
    actions += [
        {
            "at": _ts(n.at),
            "what": f"{n.kind or 'update'} notification to {', '.join(n.audience) or '?'}",
        }
        for n in inc.notifications
    ]
    actions.sort(key=lambda a: a["at"] or "")
    planned = [
        {"title": a.title, "owner": a.owner, "due": a.due.isoformat() if a.due else None,
         "status": a.status}
        for a in (pir.actions if pir is not None else ())
    ]  # fmt: skip
    return {
        "version": 1,
        "draft": True,
        "notice": NOTICE,
        "regime": {"id": regime.id, "name": regime.name, "authority": regime.authority},
        "stage": {
            "id": stage.id,
            "name": stage.name,
            "deadline": _ts(verdict.due) if verdict else None,
            "verdict": verdict.state if verdict else None,
            "rule": verdict.detail if verdict else "the regime's clock has not started",
        },
        "incident": {
            "id": inc.id,
            "title": inc.title,
            "external_id": inc.external_id,
            "priority": inc.priority,
            "status": inc.status,
            "category": inc.category,
        },
        "times": {
            "detected_at": _ts(inc.detected_at),
            "aware_at": _ts(awareness(inc, filing)),
            "classified_at": _ts(filing.decided_at if filing else None),
            "decision": filing.decision if filing else None,
            "acknowledged_at": _ts(inc.acknowledged_at),
            "mitigated_at": _ts(inc.mitigated_at),
            "resolved_at": _ts(inc.resolved_at),
        },
        "description": inc.title,
        "services_affected": [
            {
                "id": inc.service,
                "name": service.name if service else None,
                "tier": service.tier if service else None,
            }
        ]
        if inc.service
        else [],
        "scope": inc.scope,
        "impact": inc.impact,
        "current_status": STATUS.get(inc.status or "", "Unknown status."),
        "resolution": inc.resolution,
        "root_cause": pir.root_cause if pir is not None else None,
        "actions_taken": actions,
        "actions_planned": planned,
        "submissions": [
            {"stage": s.stage, "at": _ts(s.at), "reference": s.reference}
            for s in (filing.submissions if filing else ())
        ],
        "unknown": _unknown(inc, filing is not None and filing.decision is not None, pir),
    }


def _unknown(inc: Incident, classified: bool, pir: Any) -> list[str]:
    """What the record does not establish yet: to be completed or marked as unknown."""
    gaps = []
    if not classified:
        gaps.append("classification: no reportable / not-reportable decision recorded")
    if inc.scope is None:
        gaps.append("scope: how widely users were affected (single-user, team, site, enterprise)")
    if inc.mitigated_at is None:
        gaps.append("restoration: service not restored yet (no mitigated_at)")
    if inc.resolved_at is None:
        gaps.append("resolution: underlying fault not fixed yet (no resolved_at)")
    if pir is None or not pir.root_cause:
        gaps.append("root cause: not established (no post-incident review with a root cause)")
    if inc.category is None:
        gaps.append("category: the kind of incident (for the authority's classification)")
    return gaps


def markdown(draft: Draft) -> str:
    d = draft.data
    e = escape
    t, inc, stage = d["times"], d["incident"], d["stage"]
    authority = d["regime"]["authority"] or "the authority"
    out = [
        f"# DRAFT {e(d['regime']['name'])} {e(stage['name'])}: {e(inc['id'])}",
        "",
        f"> **{e(NOTICE)}**",
        "",
        f"- Regime: {e(d['regime']['name'])}, to {e(authority)}",
        f"- Stage: {e(stage['name'])}; deadline {e(stage['deadline'] or 'not started')}"
        f" ({e(STATE_WORDS.get(stage['verdict'] or '', 'not applicable'))}): {e(stage['rule'])}",
        "",
        "## Incident",
        "",
        f"- Reference: {e(inc['id'])}"
        + (f" ({e(inc['external_id'])})" if inc["external_id"] else ""),
        f"- Title: {e(inc['title'] or '')}",
        f"- Priority: {e(inc['priority'] or '')}; category: {e(inc['category'] or 'not recorded')}",
        "",
        "## Detection and classification (UTC)",
        "",
        f"- Detected: {e(t['detected_at'] or 'not recorded')}",
        f"- Aware: {e(t['aware_at'] or 'not recorded')}",
        f"- Classified: {e(t['decision'] or 'not yet')}"
        + (f" at {e(t['classified_at'])}" if t["classified_at"] else ""),
        f"- Acknowledged: {e(t['acknowledged_at'] or 'not recorded')}",
        f"- Service restored: {e(t['mitigated_at'] or 'not yet')}",
        f"- Fault fixed: {e(t['resolved_at'] or 'not yet')}",
        "",
        "## Description",
        "",
        e(d["description"] or "Not recorded."),
        "",
        "## Services and scope affected",
        "",
    ]
    for s in d["services_affected"]:
        tier = f", tier {s['tier']}" if s["tier"] is not None else ""
        out.append(f"- {e(s['name'] or s['id'])} ({e(s['id'])}{e(tier)})")
    out += [f"- Scope: {e(d['scope'] or 'not recorded')}", "", "## Impact", ""]
    out += [e(d["impact"] or "Not yet assessed."), "", "## Current status", ""]
    out.append(e(d["current_status"]))
    if d["resolution"]:
        out += ["", f"Resolution: {e(d['resolution'])}"]
    if d["root_cause"]:
        out += ["", f"Root cause: {e(d['root_cause'])}"]
    out += ["", "## Actions taken", ""]
    out += [f"- {e(a['at'] or '?')}: {e(a['what'])}" for a in d["actions_taken"]] or [
        "None recorded."
    ]
    out += ["", "## Actions planned", ""]
    out += [
        f"- {e(a['title'] or '(untitled)')}: {e(a['owner'] or 'unassigned')}, due "
        f"{e(a['due'] or 'no date')}, {e(a['status'] or 'unknown')}"
        for a in d["actions_planned"]
    ] or ["None recorded."]
    out += ["", "## Submissions already made", ""]
    out += [
        f"- {e(s['stage'] or '?')} at {e(s['at'] or '?')}"
        + (f", reference {e(s['reference'])}" if s["reference"] else "")
        for s in d["submissions"]
    ] or ["None."]
    out += ["", "## Still unknown", ""]
    out += [f"- {e(gap)}" for gap in d["unknown"]] or ["Nothing the record leaves open."]
    return "\n".join(out) + "\n"
