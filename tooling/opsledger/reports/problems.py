"""``opsledger problems suggest``: the recurring clusters no problem explains yet.

The clusters are PRB-CANDIDATE's (:attr:`~opsledger.obligations.Obligations.candidates`):
largest (incidents without a problem) and most recent first, each with its incidents,
services, categories, total user-impact time and the ``opsledger new problem`` command that
opens the problem. Text from records is made inert by the CLI (:mod:`opsledger.neutral`).
"""

from __future__ import annotations

from typing import Any

from opsledger.model.ledger import Ledger
from opsledger.model.records import Problem
from opsledger.obligations import Obligations, Verdict
from opsledger.obligations.problems import CANDIDATE_MIN, CANDIDATE_WINDOW, Cluster
from opsledger.obligations.problems import recurred as recurred_incidents
from opsledger.period import Period
from opsledger.text.escape import md as escape
from opsledger.timeutil import format_duration as dur
from opsledger.timeutil import format_timestamp as ts


def new_problem_command(cluster: Cluster) -> str:
    return "opsledger new problem " + " ".join(f"--incident {i.id}" for i in cluster.unlinked)


def suggestions(obligations: Obligations, commit: str | None) -> dict[str, Any]:
    """The JSON document (``"version": 1``)."""
    out = []
    for cluster in obligations.candidates:
        out.append(
            {
                "incidents": [
                    {
                        "id": i.id,
                        "detected_at": ts(i.detected_at) if i.detected_at else None,
                        "priority": i.priority,
                        "service": i.service,
                        "category": i.category,
                        "title": i.title,
                    }
                    for i in cluster.unlinked
                ],
                "services": list(cluster.services),
                "categories": list(cluster.categories),
                "first": ts(cluster.unlinked[0].detected_at)
                if cluster.unlinked[0].detected_at
                else None,
                "last": ts(cluster.unlinked[-1].detected_at)
                if cluster.unlinked[-1].detected_at
                else None,
                "impact_minutes": round(cluster.impact.total_seconds() / 60),
                "linked_problems": list(cluster.problems),
                "command": new_problem_command(cluster),
            }
        )
    return {
        "version": 1,
        "commit": commit,
        "as_of": ts(obligations.as_of),
        "candidate_min_incidents": obligations.setting(CANDIDATE_MIN),
        "candidate_window_days": obligations.setting(CANDIDATE_WINDOW).days,
        "clusters": out,
    }


def suggest_text(obligations: Obligations) -> str:
    """The plain-text listing."""
    clusters = obligations.candidates
    minimum = obligations.setting(CANDIDATE_MIN)
    window = dur(obligations.setting(CANDIDATE_WINDOW))
    rule = f"{minimum} or more incidents on one service and category, or linked by recurrence_of,"
    rule += f" each at most {window} after the previous"
    if not clusters:
        return f"no recurring cluster without a problem ({rule})"
    head = f"{len(clusters)} recurring cluster(s) without a problem ({rule}):"
    out = [head]
    for n, cluster in enumerate(clusters, 1):
        what = " / ".join([", ".join(cluster.services), ", ".join(cluster.categories)])
        first, last = cluster.unlinked[0].detected_at, cluster.unlinked[-1].detected_at
        span = f"{first:%Y-%m-%d} to {last:%Y-%m-%d}" if first and last else ""
        out += [
            "",
            f"{n}. {what or 'linked by recurrence_of'}: {len(cluster.unlinked)} incidents, "
            f"{span}, user impact {dur(cluster.impact)}",
        ]
        if cluster.problems:
            linked = ", ".join(cluster.problems)
            out.append(f"   (other incidents of this cluster are linked to {linked})")
        for inc in cluster.unlinked:
            when = f"{inc.detected_at:%Y-%m-%d}" if inc.detected_at else "?"
            out.append(f"   {inc.id}  {when}  {inc.priority or '-'}  {inc.title or ''}")
        out.append(f"   {new_problem_command(cluster)}")
    return "\n".join(out)


def monthly_section(obligations: Obligations, ledger: Ledger, period: Period) -> list[str]:
    """The monthly review's "Problems" lines (the KPI table is added by the caller): new
    problems, known errors, fixes and whether they held, recurrences after a fix, and the
    top candidate clusters. Record text is escaped for Markdown."""
    problems = sorted(ledger.problem_records.values(), key=lambda p: p.id)

    def row(prb: Problem, extra: str) -> str:
        title, status = escape(prb.title or ""), escape(prb.status or "?")
        return f"| {escape(prb.id)} | {title} | {status} | {extra} |"

    head = ["| Problem | Title | Status | |", "|---|---|---|---|"]
    out: list[str] = []
    new = [p for p in problems if period.contains(p.opened_at)]
    out += ["", f"New problems: {len(new)}."]
    if new:
        out += ["", *head]
        out += [row(p, f"{len(p.incidents)} incidents") for p in new]
    known = [p for p in problems if period.contains(p.known_error_at)]
    out += ["", f"Known errors established: {len(known)}."]
    if known:
        out += ["", *head]
        for p in known:
            v = obligations.problem(p).known_error
            out.append(row(p, escape(f"{mark(v)} {v.detail}" if v else "")))
    fixed = [p for p in problems if p.resolved and period.contains(p.resolved_at)]
    out += ["", f"Fixed: {len(fixed)}."]
    if fixed:
        out += ["", *head]
        for p in fixed:
            held = obligations.problem(p).fix_held
            out.append(row(p, escape(f"{mark(held)} {held.detail}" if held else "")))
    recurred = []
    for p in problems:
        held = obligations.problem(p).fix_held
        later = recurred_incidents(p, ledger.incidents)
        after = [i for i in later if period.contains(i.detected_at)]
        if held is not None and held.failed and after:
            recurred.append((p, after))
    out += ["", f"Recurred after the fix: {len(recurred)}."]
    if recurred:
        out += ["", *head]
        out += [row(p, escape(", ".join(i.id for i in after))) for p, after in recurred]
    top = obligations.candidates[:3]
    out += ["", f"Candidate clusters without a problem: {len(obligations.candidates)}."]
    if top:
        out += ["", "| Service / category | Incidents | Latest | Open with |", "|---|---|---|---|"]
        for c in top:
            what = " / ".join([", ".join(c.services), ", ".join(c.categories)])
            last = c.unlinked[-1]
            out.append(
                f"| {escape(what)} | {len(c.unlinked)} | {escape(last.id)} | "
                f"`{new_problem_command(c)}` |"
            )
    return out


def mark(verdict: Verdict | None) -> str:
    if verdict is None:
        return ""
    ok = verdict.ok
    return "…" if ok is None else "✓" if ok else "✗"


def brief_lines(obligations: Obligations, incident_id: str) -> list[str]:
    """What ``opsledger brief`` says of the problems linking an incident: each problem, its
    status, its known error and whether its fix held."""
    found = obligations.problems_of(incident_id)
    if not found:
        return ["No problem record links this incident."]
    out = []
    for prb in found:
        said = obligations.problem(prb)
        line = (
            f"Problem {escape(prb.id)} ({escape(prb.title or '')}) links this incident; "
            f"its status is **{escape(prb.status or 'unknown')}**."
        )
        if prb.workaround and prb.status in ("known-error", "resolved", "closed"):
            line += f" Workaround: {escape(prb.workaround)}"
        for verdict in (said.known_error, said.fix_change, said.fix_held):
            if verdict is not None:
                line += f" {verdict.title}: {mark(verdict)} {escape(verdict.detail)}."
        out.append(line)
    return out
