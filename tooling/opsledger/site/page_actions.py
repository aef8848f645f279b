"""The actions tracker: every PIR action, overdue first, then by owner."""

from __future__ import annotations

from datetime import date

from opsledger.model.records import Action, Pir
from opsledger.site.common import BAD, day, head, table
from opsledger.site.context import PageContext
from opsledger.site.page_docs import OPEN_ACTION, action_state
from opsledger.site.page_indexes import filter_bar
from opsledger.text.escape import md, md_lines


def _group(action: Action, today: date) -> int:
    if action.status in OPEN_ACTION and action.due is not None and action.due < today:
        return 0  # overdue
    if action.status in OPEN_ACTION or action.status is None:
        return 1  # open
    return 2  # done or won't do


def actions_page(ctx: PageContext) -> str:
    page = "actions.md"
    today = ctx.data.as_of.astimezone(ctx.data.ledger.policy.timezone).date()
    items: list[tuple[Pir, Action]] = [
        (pir, a) for pir in ctx.data.ledger.pirs.values() for a in pir.actions
    ]
    items.sort(
        key=lambda pa: (
            _group(pa[1], today),
            (pa[1].owner or "").casefold(),
            pa[1].due or date.max,
            pa[0].id,
        )
    )
    overdue = sum(1 for _, a in items if _group(a, today) == 0)
    out = head("Actions tracker", hide_toc=True)
    out += [
        f"{len(items)} actions from post-incident reviews as of {md(today.isoformat())}: "
        f"**{BAD} {overdue} overdue** (listed first), then open, then closed; by owner "
        "within each group.",
        "",
    ]
    out += filter_bar("Group", "Owner", "Status", "Type")
    names = {0: f"{BAD} overdue", 1: "open", 2: "closed"}
    rows = [
        (
            md(names[_group(a, today)]),
            md(a.owner),
            md(day(a.due)),
            md(action_state(a, today)),
            md_lines(a.title),
            md(a.id),
            ctx.links.record(page, pir.id),
            md(a.status),
            md(a.type),
        )
        for pir, a in items
    ]
    header = ["Group", "Owner", "Due", "State", "Action", "ID", "PIR", "Status", "Type"]
    out += table(header, rows)
    return "\n".join(out) + "\n"
