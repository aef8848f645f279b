"""The actions tracker: every follow-up action (of PIRs and problems), overdue first, then by
owner."""

from __future__ import annotations

from datetime import date

from opsledger.model.records import Action
from opsledger.obligations import Verdict
from opsledger.site.common import BAD, day, head, table
from opsledger.site.context import PageContext
from opsledger.site.page_docs import OPEN_ACTION, action_state, overdue
from opsledger.site.page_indexes import filter_bar
from opsledger.text.escape import md, md_lines


def _group(action: Action, verdict: Verdict | None) -> int:
    if overdue(verdict):
        return 0  # overdue
    if action.status in OPEN_ACTION or action.status is None:
        return 1  # open
    return 2  # done or won't do


def actions_page(ctx: PageContext) -> str:
    page = "actions.md"
    today = ctx.data.as_of.astimezone(ctx.data.ledger.policy.timezone).date()
    items = ctx.data.verdicts.followups()
    items.sort(
        key=lambda f: (
            _group(f.action, f.verdict),
            (f.action.owner or "").casefold(),
            f.action.due or date.max,
            f.record.id,
        )
    )
    late = sum(1 for f in items if _group(f.action, f.verdict) == 0)
    out = head("Actions tracker", hide_toc=True)
    out += [
        f"{len(items)} follow-up actions of post-incident reviews and problems as of "
        f"{md(today.isoformat())}: "
        f"**{BAD} {late} overdue** (listed first), then open, then closed; by owner "
        "within each group.",
        "",
    ]
    out += filter_bar("Group", "Owner", "Status", "Type")
    names = {0: f"{BAD} overdue", 1: "open", 2: "closed"}
    rows = [
        (
            md(names[_group(a, v)]),
            md(a.owner),
            md(day(a.due)),
            md(action_state(a, v)),
            md_lines(a.title),
            md(a.id),
            ctx.links.record(page, record.id),
            md(a.status),
            md(a.type),
        )
        for record, a, v in items
    ]
    header = ["Group", "Owner", "Due", "State", "Action", "ID", "Record", "Status", "Type"]
    out += table(header, rows)
    return "\n".join(out) + "\n"
