"""History KPIs about the audit trail itself: priorities lowered in history and records
changed after they were closed or approved (as the GIT-AFTER-CLOSE rule judges them)."""

from __future__ import annotations

import re
from typing import Any

from opsledger.history.derive import transitions
from opsledger.history.model import RecordHistory
from opsledger.kpis.base import (
    Excluded,
    KpiContext,
    Sample,
    no_history,
    observe,
    sample,
)
from opsledger.kpis.timing import NOT_COMMITTED
from opsledger.obligations import IMPORTED


def _rank(name: Any) -> tuple[int, str] | None:
    """P1 < P2 < … (a larger rank is a lower priority); None for a non-priority value."""
    if not isinstance(name, str):
        return None
    match = re.fullmatch(r"P([0-9]{1,9})", name)  # a past version's priority is unchecked
    return (int(match[1]), name) if match else None


def downgraded(history: RecordHistory) -> bool:
    """The incident's priority was lowered (P1 → P2, …) in some commit."""
    for step in transitions(history, "priority"):
        old, new = _rank(step.old), _rank(step.new)
        if old is not None and new is not None and new > old:
            return True
    return False


def priority_downgrades(ctx: KpiContext) -> Sample:
    """Count of incidents of the period whose priority was lowered in history (n: the
    incidents whose history was examined)."""
    incidents, excluded = ctx.incidents
    if ctx.history is None:
        return no_history(ctx.history_reason, excluded)
    out, obs = list(excluded), []
    for inc in incidents:
        trail = ctx.history.get(inc.id)
        if ctx.imported(inc.id):
            out.append(Excluded(inc.id, IMPORTED))
        elif trail is None or not trail.versions:
            out.append(Excluded(inc.id, NOT_COMMITTED))
        else:
            obs.append(observe(inc, ctx.history.derived("downgraded", trail, downgraded)))
    return sample(obs, out)


def edited_records(ctx: KpiContext) -> frozenset[str]:
    """Records with a GIT-AFTER-CLOSE finding: the rule decides what an edit after closure
    is (so the KPI and the audit never disagree), whatever the policy selects or waives."""
    from opsledger.rules.base import Context
    from opsledger.rules.history import GitAfterClose

    rule_ctx = Context(ctx.ledger, ctx.as_of, ctx.calendar, ctx.history, recall=ctx.recall)
    return frozenset(f.record for f in GitAfterClose().check(rule_ctx) if f.record)


def edited_after_close(ctx: KpiContext) -> Sample:
    """Count of incidents, changes (``closed``) and PIRs (``approved``) changed by a later
    commit (n: the records whose history was examined)."""
    placed, excluded = ctx.records(runbooks=False)
    if ctx.history is None:
        return no_history(ctx.history_reason, excluded)
    edited = edited_records(ctx)
    obs = []
    for record, base in placed:
        trail = ctx.history.get(record.id)
        if ctx.imported(record.id):
            excluded.append(Excluded(record.id, IMPORTED))
        elif trail is None or not trail.versions:
            excluded.append(Excluded(record.id, NOT_COMMITTED))
        else:
            obs.append(base._replace(value=record.id in edited))
    return sample(obs, excluded)
