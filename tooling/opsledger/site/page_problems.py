"""Problem management on the site: the problem portfolio, one page per problem, and the
candidate clusters on the findings page.

Every mark reads the verdicts and clusters of :mod:`opsledger.obligations.problems` (the
ones PRB-* findings, the problem KPIs and the reports read). Record text is escaped.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from opsledger.model.records import Problem
from opsledger.obligations import Verdict
from opsledger.obligations.changes import ended
from opsledger.obligations.problems import impact_time
from opsledger.site.common import (
    BAD,
    OK,
    audit_trail,
    fields,
    findings_section,
    head,
    span,
    table,
    verdict_mark,
    verdict_rows,
    when,
)
from opsledger.site.context import PageContext
from opsledger.site.page_docs import actions_table, body_lines
from opsledger.site.page_indexes import filter_bar
from opsledger.site.records_common import linked_section, schema_notice
from opsledger.text.escape import md, md_lines

PORTFOLIO = "problems/index.md"
RECENT = timedelta(days=90)
OPEN = ("new", "investigating", "known-error")


def _mark(verdict: Verdict | None) -> str:
    return md(f"{verdict_mark(verdict.state)}: {verdict.detail}") if verdict else ""


def _recent(ctx: PageContext, prb: Problem) -> tuple[int, timedelta]:
    """Linked incidents detected in the 90 days before now, and their user-impact time."""
    now = ctx.data.as_of
    found = [ctx.data.ledger.incidents.get(i) for i in dict.fromkeys(prb.incidents)]
    recent = [
        i for i in found if i is not None and i.detected_at and now - RECENT <= i.detected_at <= now
    ]
    return len(recent), sum((impact_time(i, now) for i in recent), timedelta(0))


def portfolio_page(ctx: PageContext) -> str:
    ledger, verdicts, links = ctx.data.ledger, ctx.data.verdicts, ctx.links
    problems = sorted(ledger.problem_records.values(), key=lambda p: p.id)
    out = head("Problem portfolio", hide_toc=False)
    candidates = verdicts.candidates
    findings = links.md_rel(PORTFOLIO, "findings/index.md")
    out += [
        f"{len(problems)} problems: {sum(p.status in OPEN for p in problems)} open, "
        f"{sum(p.resolved for p in problems)} resolved. "
        f"{len(candidates)} recurring cluster(s) have no problem yet "
        f"([candidate clusters]({findings}#candidate-problems)).",
        "",
        "## Open problems",
        "",
        "Ranked by the incidents they link detected in the last 90 days, then by the user "
        "impact of those incidents.",
        "",
    ]
    open_rows = []
    for prb in problems:
        if prb.status not in OPEN:
            continue
        count, impact = _recent(ctx, prb)
        open_rows.append((count, impact, prb))
    open_rows.sort(key=lambda r: (-r[0], -r[1], r[2].id))
    out += filter_bar("Status", "Owner")
    out += table(
        ["Problem", "Title", "Status", "Owner", "Incidents (90 days / all)",
         "User impact (90 days)", "Known error"],
        [
            (
                links.record(PORTFOLIO, p.id),
                md_lines(p.title),
                md(p.status),
                md(p.owner),
                md(f"{count} / {len(p.incidents)}"),
                md(span(impact)),
                md(verdict_mark(v.state)) if (v := verdicts.problem(p).known_error) else "",
            )
            for count, impact, p in open_rows
        ],
    )  # fmt: skip
    known = [p for p in problems if p.status == "known-error"]
    out += ["## Known errors", "", "What responders do until the fix lands.", ""]
    out += table(
        ["Problem", "Workaround", "Runbooks", "Root cause"],
        [
            (
                links.record(PORTFOLIO, p.id),
                md_lines(p.workaround),
                ", ".join(links.record(PORTFOLIO, r) for r in p.runbooks) or f"{BAD} none",
                md_lines(p.root_cause),
            )
            for p in known
        ],
    )
    fixed = [p for p in problems if p.resolved]
    held = sum(1 for p in fixed if (v := verdicts.problem(p).fix_held) and v.state == "met")
    out += [
        "## Fixed problems",
        "",
        f"{len(fixed)} fixed; the fix held for {held} (no linked incident since the fix).",
        "",
    ]
    out += table(
        ["Problem", "Fix change", "Resolved", "Fix change outcome", "Fix held"],
        [
            (
                links.record(PORTFOLIO, p.id),
                links.record(PORTFOLIO, p.fix_change),
                md(when(p.resolved_at, ledger.policy.timezone)),
                _mark(verdicts.problem(p).fix_change),
                _mark(verdicts.problem(p).fix_held),
            )
            for p in fixed
        ],
    )
    return "\n".join(out) + "\n"


def problem_page(ctx: PageContext, prb: Problem, page: str) -> str:
    links, ledger = ctx.links, ctx.data.ledger
    zone = ledger.policy.timezone
    verdicts = ctx.data.verdicts.problem(prb)
    out = head(f"{prb.id} — {prb.title or 'Problem'}")
    out += schema_notice(ctx, prb)
    out += fields(
        [
            ("Status", md(prb.status)),
            ("Services", ", ".join(links.service(page, s) for s in prb.services)),
            ("Owner", md(prb.owner)),
            ("Opened", md(when(prb.opened_at, zone))),
            ("Root cause", md_lines(prb.root_cause)),
            ("Workaround", md_lines(prb.workaround)),
            ("Runbooks", ", ".join(links.record(page, r) for r in prb.runbooks)),
            ("Fix change", links.record(page, prb.fix_change)),
            ("External ID", md(prb.external_id)),
            ("File", md(prb.path)),
        ]
    )
    out += verdict_rows(verdicts.verdicts())
    out += ["## Timeline", ""]
    events: list[tuple[datetime, str, str]] = []
    for moment, what in (
        (prb.opened_at, "Problem opened"),
        (prb.known_error_at, "Known error: root cause and workaround established"),
        (prb.resolved_at, "Resolved"),
        (prb.closed_at, "Closed"),
    ):
        if moment is not None:
            events.append((moment, md(what), ""))
    after = prb.resolved_at if prb.resolved else None
    for inc_id in dict.fromkeys(prb.incidents):
        inc = ledger.incidents.get(inc_id)
        if inc is None or inc.detected_at is None:
            continue
        came_back = f" {BAD} after the fix" if after is not None and inc.detected_at > after else ""
        label = f"Incident detected ({inc.priority or '?'}): {inc.title or ''}"
        events.append((inc.detected_at, md(label) + came_back, links.record(page, inc.id)))
    chg = ledger.changes.get(prb.fix_change or "")
    if chg is not None and chg.implementation_completed_at is not None:
        what = f"Fix change carried out ({ended(chg) or 'outcome not recorded'})"
        events.append((chg.implementation_completed_at, md(what), links.record(page, chg.id)))
    rows = [
        (md(when(at, zone)), what, link) for at, what, link in sorted(events, key=lambda e: e[0])
    ]
    out += table(["When", "What", "Record"], rows) if rows else ["Nothing dated yet.", ""]
    out += ["## Actions", ""]
    out += actions_table(ctx, prb) if prb.actions else ["No actions recorded.", ""]
    out += ["## Investigation", "", *body_lines(ctx.data, prb.doc.body)]
    named: list[tuple[str, str | None]] = [("Incident", i) for i in prb.incidents]
    named += [("Runbook", r) for r in prb.runbooks] + [("Fix change", prb.fix_change)]
    out += linked_section(ctx, page, prb, named)
    out += findings_section(ctx.data, links, page, ctx.data.findings_of(prb.id, prb.path))
    out += audit_trail(ctx.data, prb.id)
    return "\n".join(out) + "\n"


def candidates_section(ctx: PageContext, page: str) -> list[str]:
    """The findings page's list of recurring clusters without a problem (PRB-CANDIDATE)."""
    clusters = ctx.data.verdicts.candidates
    out = ["## Candidate problems", ""]
    if not clusters:
        return [*out, f"{OK} Every recurring cluster is linked to a problem.", ""]
    out += [
        f"{len(clusters)} recurring cluster(s) have no problem (PRB-CANDIDATE); open one with "
        "the command shown.",
        "",
    ]
    rows = [
        (
            md(" / ".join([", ".join(c.services), ", ".join(c.categories)])),
            ", ".join(links for links in (ctx.links.record(page, i.id) for i in c.unlinked)),
            md(span(c.impact)),
            md(f"opsledger new problem {' '.join(f'--incident {i.id}' for i in c.unlinked)}"),
        )
        for c in clusters
    ]
    return [*out, *table(["Service / category", "Incidents", "User impact", "Open with"], rows)]
