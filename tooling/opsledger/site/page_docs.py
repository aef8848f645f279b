"""Pages for the Markdown records: post-incident reviews and runbooks."""

from __future__ import annotations

from opsledger.model.records import Action, Pir, Problem, Runbook
from opsledger.obligations import Verdict
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
from opsledger.site.data import SiteData
from opsledger.site.records_common import linked_section, schema_notice
from opsledger.text.escape import md, md_lines

OPEN_ACTION = ("open", "in-progress")


def action_state(action: Action, verdict: Verdict | None) -> str:
    """``✗ overdue by 5 days`` / ``open, due in 3 days`` / ``✓ done``, from the action-due
    verdict (the one PIR-OVERDUE and the action on-time rate read)."""
    status = action.status or "(no status)"
    if action.status == "wont-do":
        return "won't do"
    if verdict is None:
        return f"{status}, no due date" if action.due is None else status
    if verdict.state == "missing":
        days = verdict.detail.split(" overdue", 1)[0]
        return f"{BAD} overdue by {days}"
    if verdict.state == "pending":
        return f"{status}, {verdict.detail.split(' (', 1)[1].split(')', 1)[0]}"
    if verdict.state == "late":
        return f"{BAD} done late ({verdict.detail})"
    if verdict.state == "unverified":
        return f"{OK} done ({verdict.detail})"
    return f"{OK} done"


def actions_table(ctx: PageContext, record: Pir | Problem) -> list[str]:
    """The actions of a PIR or problem, each with its due-date verdict."""
    rows = [
        (
            md(a.id),
            md_lines(a.title),
            md(a.type),
            md(a.owner),
            md(day(a.due)),
            md(action_state(a, v)),
            md_lines(a.verification),
            md(a.tracker),
        )
        for a, v in zip(record.actions, ctx.data.verdicts.actions(record), strict=True)
    ]
    header = ["ID", "Action", "Type", "Owner", "Due", "State", "Verification", "Tracker"]
    return table(header, rows)


def overdue(verdict: Verdict | None) -> bool:
    return verdict is not None and verdict.state == "missing"


def body_lines(data: SiteData, text: str | None) -> list[str]:
    """A record's Markdown body, rendered (once under ``site serve``: :mod:`.carry`)."""
    if not text or not text.strip():
        return ["(empty body)", ""]
    limits = data.ledger.policy.limits
    if data.carry is None:
        return [render_body(text, limits=limits), ""]
    found = data.carry.bodies.get((text, limits))
    if found is None:
        found = data.carry.bodies[(text, limits)] = render_body(text, limits=limits)
    return [found, ""]


def pir_page(ctx: PageContext, pir: Pir, page: str) -> str:
    links = ctx.links
    policy = ctx.data.ledger.policy
    zone = policy.timezone
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
    out += actions_table(ctx, pir) if pir.actions else [f"{BAD} No actions recorded.", ""]
    out += ["## Review", "", *body_lines(ctx.data, pir.doc.body)]
    out += linked_section(ctx, page, pir, [("Incident", pir.incident)])
    out += findings_section(ctx.data, links, page, ctx.data.findings_of(pir.id, pir.path))
    out += audit_trail(ctx.data, pir.id)
    return "\n".join(out) + "\n"


def review_state(book: Runbook, verdict: Verdict | None) -> str:
    """From the runbook-review verdict (the one RB-STALE reads)."""
    if book.last_reviewed is None:
        return f"{BAD} never reviewed"
    if verdict is None:
        return NONE  # an invalid review_every: SCHEMA's finding
    if verdict.state == "missing":
        return f"{BAD} stale: {verdict.detail}"
    return f"{OK} {verdict.detail}"


def runbook_page(ctx: PageContext, book: Runbook, page: str) -> str:
    links = ctx.links
    out = head(f"{book.id} — {book.title or 'Runbook'}")
    out += schema_notice(ctx, book)
    out += fields(
        [
            ("Services", ", ".join(links.service(page, s) for s in book.services)),
            ("Owner", md(book.owner)),
            ("Last reviewed", md(day(book.last_reviewed))),
            ("Review", md(review_state(book, ctx.data.verdicts.runbook(book)))),
            ("Alerts", "<br>".join(md(a) for a in book.alerts)),
            ("File", md(book.path)),
        ]
    )
    out += ["## Runbook", "", *body_lines(ctx.data, book.doc.body)]
    out += linked_section(ctx, page, book, [])
    out += findings_section(ctx.data, links, page, ctx.data.findings_of(book.id, book.path))
    out += audit_trail(ctx.data, book.id)
    return "\n".join(out) + "\n"


__all__ = [
    "NONE",
    "action_state",
    "actions_table",
    "overdue",
    "pir_page",
    "review_state",
    "runbook_page",
]
