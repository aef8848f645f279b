"""``opsledger problems suggest``: the recurring clusters no problem explains yet.

The clusters are PRB-CANDIDATE's (:attr:`~opsledger.obligations.Obligations.candidates`):
largest (incidents without a problem) and most recent first, each with its incidents,
services, categories, total user-impact time and the ``opsledger new problem`` command that
opens the problem. Text from records is made inert by the CLI (:mod:`opsledger.neutral`).
"""

from __future__ import annotations

from typing import Any

from opsledger.obligations import Obligations
from opsledger.obligations.problems import CANDIDATE_MIN, CANDIDATE_WINDOW, Cluster
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
