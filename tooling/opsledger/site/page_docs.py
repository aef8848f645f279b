"""Pages for the Markdown records: post-incident reviews and runbooks."""

from __future__ import annotations

from datetime import date, timedelta

from opsledger.loading import Limits
from opsledger.model.records import Action, Pir, Runbook
from opsledger.site.body import render_body
from opsledger.site.common import (
    BAD,
    NONE,
    OK,
    audit_trail,
    day,
    fields,
    findings_section,
    head,
    table,
    when,
)
from opsledger.site.context import PageContext
from opsledger.site.escape import md, md_lines
from opsledger.site.records_common import linked_section, schema_notice

OPEN_ACTION = ("open", "in-progress")


def action_state(action: Action, today: date) -> str:
    """``✗ overdue by 5 days`` / ``open, due in 3 days`` / ``✓ done``."""
    status = action.status or "(no status)"
    if action.status == "done":
        return f"{OK} done"
    if action.status == "wont-do":
        return "won't do"
    if action.due is None:
        return f"{status}, no due date"
    delta = (action.due - today).days
    if action.status in OPEN_ACTION and delta < 0:
        return f"{BAD} overdue by {-delta} day{'s' if delta != -1 else ''}"
    return f"{status}, due in {delta} day{'s' if delta != 1 else ''}"


def _body(text: str | None, limits: Limits) -> list[str]:
    if not text or not text.strip():
        return ["(empty body)", ""]
    return [render_body(text, limits=limits), ""]


def pir_page(ctx: PageContext, pir: Pir, page: str) -> str:
    links = ctx.links
    policy = ctx.data.ledger.policy
    zone = policy.timezone
    today = ctx.data.as_of.astimezone(zone).date()
    out = head(f"{pir.id} — {pir.title or 'Post-incident review'}")
    out += schema_notice(ctx, pir)
    out += fields(
        [
            ("Status", md(pir.status)),
            ("Incident", links.record(page, pir.incident)),
            ("Authors", md(", ".join(pir.authors))),
            ("Root cause", md_lines(pir.root_cause)),
            ("Contributing factors", "<br>".join(md(c) for c in pir.contributing_factors)),
            ("File", md(pir.path)),
        ]
    )
    out += ["## Reviewers", ""]
    if pir.reviewers:
        reviews = [(md(r.by), md(r.decision), md(when(r.at, zone))) for r in pir.reviewers]
        out += table(["Reviewer", "Decision", "At"], reviews)
    else:
        out += ["None recorded.", ""]
    out += ["## Actions", ""]
    if pir.actions:
        rows = [
            (
                md(a.id),
                md_lines(a.title),
                md(a.type),
                md(a.owner),
                md(day(a.due)),
                md(action_state(a, today)),
                md_lines(a.verification),
                md(a.tracker),
            )
            for a in pir.actions
        ]
        header = ["ID", "Action", "Type", "Owner", "Due", "State", "Verification", "Tracker"]
        out += table(header, rows)
    else:
        out += [f"{BAD} No actions recorded.", ""]
    out += ["## Review", "", *_body(pir.doc.body, policy.limits)]
    out += linked_section(ctx, page, pir, [("Incident", pir.incident)])
    out += findings_section(ctx.data, links, page, ctx.data.findings_of(pir.id, pir.path))
    out += audit_trail(ctx.data, pir.id)
    return "\n".join(out) + "\n"


def review_state(book: Runbook, every: timedelta, today: date) -> str:
    if book.last_reviewed is None:
        return f"{BAD} never reviewed"
    due = book.last_reviewed + every
    if due < today:
        return f"{BAD} stale: review was due {due.isoformat()}"
    return f"{OK} reviewed {book.last_reviewed.isoformat()}, next by {due.isoformat()}"


def runbook_page(ctx: PageContext, book: Runbook, page: str) -> str:
    links = ctx.links
    policy = ctx.data.ledger.policy
    today = ctx.data.as_of.astimezone(policy.timezone).date()
    every = book.review_every or policy.runbook_review_every
    out = head(f"{book.id} — {book.title or 'Runbook'}")
    out += schema_notice(ctx, book)
    out += fields(
        [
            ("Services", ", ".join(links.service(page, s) for s in book.services)),
            ("Owner", md(book.owner)),
            ("Last reviewed", md(day(book.last_reviewed))),
            ("Review", md(review_state(book, every, today))),
            ("Alerts", "<br>".join(md(a) for a in book.alerts)),
            ("File", md(book.path)),
        ]
    )
    out += ["## Runbook", "", *_body(book.doc.body, policy.limits)]
    out += linked_section(ctx, page, book, [])
    out += findings_section(ctx.data, links, page, ctx.data.findings_of(book.id, book.path))
    out += audit_trail(ctx.data, book.id)
    return "\n".join(out) + "\n"


__all__ = ["NONE", "action_state", "pir_page", "review_state", "runbook_page"]
