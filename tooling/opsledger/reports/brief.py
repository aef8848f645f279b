"""``opsledger brief INC-…``: an executive debrief for non-technical readers.

Business impact first, then what was done and when (in the policy's local time, with
durations), the current status, the review and its follow-up actions with owners, and
when the record was written and last changed (from git). Record text is quoted, never
interpreted: it is untrusted input, so Markdown control characters are escaped.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from opsledger.model.records import Incident, Pir, Problem
from opsledger.obligations import Cadence, IncidentObligations, Verdict
from opsledger.reports import problems, regulatory
from opsledger.text.escape import md as escape
from opsledger.timeutil import format_duration

if TYPE_CHECKING:
    from opsledger.workspace import Workspace

DASH = "\u2013"

STATUS = {
    "open": "The incident is still open: the service is not yet restored.",
    "mitigated": "Service is restored for users; the underlying fault is still being fixed.",
    "resolved": "The underlying fault is fixed; the record is awaiting closure.",
    "closed": "The incident is closed.",
}


def _local(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%a %d %b %Y %H:%M %Z")


def _milestones(incident: Incident, zone: ZoneInfo) -> list[str]:
    start = incident.detected_at
    rows: list[tuple[datetime, str]] = []
    for label, moment in (
        ("Problem detected", incident.detected_at),
        ("Acknowledged by the on-call team", incident.acknowledged_at),
        ("Major-incident bridge opened", incident.bridge_opened_at),
        ("Service restored for users", incident.mitigated_at),
        ("Underlying fault fixed", incident.resolved_at),
        ("Record closed", incident.closed_at),
    ):
        if moment is not None:
            rows.append((moment, label))
    for notice in incident.notifications:
        if notice.at is not None:
            who = ", ".join(notice.audience) or "stakeholders"
            rows.append(
                (
                    notice.at,
                    f"{escape((notice.kind or 'update').capitalize())} notice to "
                    f"{escape(who)} ({escape(notice.channel or 'channel')})",
                )
            )
    for esc in incident.escalations:
        if esc.at is not None:
            rows.append((esc.at, f"Escalated to {escape(esc.team or 'the next tier')}"))
    for reopen in incident.reopened:
        if reopen.at is not None:
            rows.append((reopen.at, f"Reopened: {escape(reopen.reason or '')}"))
    lines = []
    for moment, label in sorted(rows, key=lambda r: r[0]):
        after = f" (+{format_duration(moment - start)})" if start and moment >= start else ""
        lines.append(f"| {_local(moment, zone)}{after} | {label} |")
    return lines


#: how a verdict reads in the brief
VERDICT_WORDS = {
    "met": "met",
    "late": "missed (late)",
    "missing": "missed (not done)",
    "pending": "not yet due",
    "unverified": "done, timing not verifiable",
}


def verdict_line(verdict: Verdict | Cadence) -> str:
    """One row of the response table: the obligation, its verdict, and what happened."""
    return f"| {verdict.title} | {VERDICT_WORDS[verdict.state]} | {escape(verdict.detail)} |"


def _response(obligations: IncidentObligations) -> list[str]:
    rows = [verdict_line(v) for v in obligations.ordered()]
    if not rows:
        return ["No response time applies under the policy for this priority."]
    return ["| Obligation | Verdict | Detail |", "|---|---|---|", *rows]


ACTIONS_HEAD = ["| Action | Owner | Due | Status | On time |", "|---|---|---|---|---|"]


def _actions(record: Pir | Problem, verdicts: tuple[Verdict | None, ...]) -> list[str]:
    """A follow-up action table's rows: of a PIR or a problem, with each action-due verdict."""
    rows = []
    for action, verdict in zip(record.actions, verdicts, strict=True):
        due = action.due.isoformat() if action.due else "no date"
        state = VERDICT_WORDS[verdict.state] if verdict is not None else DASH
        rows.append(
            f"| {escape(action.title or '(untitled)')} | {escape(action.owner or 'unassigned')} "
            f"| {due} | {escape(action.status or 'unknown')} | {state} |"
        )
    return rows


def brief(ws: Workspace, incident_id: str) -> str:
    """The debrief as Markdown. Raises KeyError for an unknown incident."""
    ledger = ws.ledger
    incident = ledger.incidents[incident_id]
    zone = ledger.policy.timezone
    service = ledger.services.get(incident.service or "")
    obligations = ws.obligations.incident(incident)
    reviews = ws.obligations.reviews(incident)
    pir = reviews[0] if reviews else None
    out = [f"# Executive brief: {escape(incident.title or incident.id)}", ""]
    name = escape(service.name) if service and service.name else escape(incident.service or "?")
    out.append(
        f"**{escape(incident.id)}**, priority {escape(incident.priority)}, affecting **{name}**."
    )
    out += ["", "## Business impact", "", escape(incident.impact or "Not yet assessed.")]
    if incident.detected_at and incident.mitigated_at:
        out.append("")
        outage = format_duration(incident.mitigated_at - incident.detected_at)
        out.append(
            f"Users were affected for **{outage}** (from detection until service was restored)."
        )
    out += ["", "## What was done and when", "", "| When | What |", "|---|---|"]
    out += _milestones(incident, zone)
    out += ["", "## Response against policy", "", *_response(obligations)]
    out += regulatory.brief_lines(ws.obligations.regulatory(incident), VERDICT_WORDS)
    out += ["", "## Current status", "", STATUS.get(incident.status or "", "Unknown status.")]
    if incident.resolution:
        out += ["", f"Resolution: {escape(incident.resolution)}"]
    out += ["", "## Review and follow-up actions", ""]
    if pir is None:
        out.append("No post-incident review has been written yet.")
    else:
        out.append(
            f"Post-incident review {escape(pir.id)} is **{escape(pir.status or 'unknown')}**."
        )
        if pir.root_cause:
            out += ["", f"Root cause: {escape(pir.root_cause)}"]
        if pir.actions:
            out += ["", *ACTIONS_HEAD, *_actions(pir, ws.obligations.actions(pir))]
    if obligations.pir is not None:
        out += [
            "",
            f"PIR deadline: {VERDICT_WORDS[obligations.pir.state]}: "
            f"{escape(obligations.pir.detail)}.",
        ]
    out += ["", "## Problem", "", *problems.brief_lines(ws.obligations, incident.id)]
    for prb in ws.obligations.problems_of(incident.id):
        if prb.actions:  # follow-up actions like a PIR's, judged alike (PIR-OVERDUE)
            out += ["", f"Actions of problem {escape(prb.id)}:", "", *ACTIONS_HEAD]
            out += _actions(prb, ws.obligations.actions(prb))
    out += ["", "## Record keeping", ""]
    history = ws.history_index
    trail = history.get(incident.id) if history is not None else None
    if history is None:
        out.append(f"Git {ws.history_note}: the audit trail is not shown.")
    elif trail is None or not trail.versions:
        out.append("This record is not yet committed.")
    else:
        first, last = trail.first, trail.last
        out.append(
            f"First recorded {_local(first.landed_at, zone)} by "
            f"{escape(first.commit.author.name)}; last changed "
            f"{_local(last.landed_at, zone)} ({len(trail.versions)} versions)."
        )
        found = ws.obligations.documentation(incident.id)
        if found is not None:  # the lag GIT-LATE-RECORD and the KPI judge
            out.append(
                f"The record was first committed {format_duration(found.lag)} after detection."
            )
        elif history.imported(incident.id):  # neither judges it: its first commit is its import
            out.append(
                "It was imported from an earlier system: when it was first written up is "
                "not known from git."
            )
    return "\n".join(out) + "\n"
