"""Audit pages: findings grouped by rule, the rule documentation, the waivers, and a page
for each file that could not be read as a record (showing its errors)."""

from __future__ import annotations

from collections import Counter, defaultdict

from opsledger.findings import Finding
from opsledger.rules import RULES
from opsledger.site.common import BAD, OK, head, notice, severity_mark, table
from opsledger.site.context import PageContext
from opsledger.site.paging import paged_table
from opsledger.text.escape import md, md_lines


def _counts(found: list[Finding]) -> str:
    c = Counter("waived" if f.waived else f.severity for f in found)
    return ", ".join(f"{c[k]} {k}" for k in ("error", "warning", "waived") if c[k]) or "none"


def findings_pages(ctx: PageContext) -> dict[str, str]:
    """``findings/index.md`` (counts per rule) and one page per rule with findings."""
    by_rule: defaultdict[str, list[Finding]] = defaultdict(list)
    for finding in ctx.data.findings:
        by_rule[finding.rule].append(finding)
    pages: dict[str, str] = {}
    index = "findings/index.md"
    out = head("Findings by rule", hide_toc=True)
    total = ctx.data.findings
    out += [f"{len(total)} findings ({_counts(total)}) as of {md(ctx.data.as_of.isoformat())}.", ""]
    rows = []
    known = {rule.id: rule for rule in RULES}
    for rule_id in [*known, *sorted(set(by_rule) - set(known))]:
        found = by_rule.get(rule_id, [])
        rule = known.get(rule_id)
        page = f"findings/{rule_id}.md" if found else None
        rows.append(
            (
                ctx.links.page(index, f"rules/{rule_id}.md", rule_id) if rule else md(rule_id),
                md(rule.summary if rule else ""),
                ctx.links.page(index, page, _counts(found)) if page else f"{OK} none",
            )
        )
        if page:
            pages.update(_rule_findings(ctx, page, rule_id, found))
    out += table(["Rule", "Checks", "Findings"], rows)
    pages[index] = "\n".join(out) + "\n"
    return pages


def _rule_findings(
    ctx: PageContext, page: str, rule_id: str, found: list[Finding]
) -> dict[str, str]:
    """The findings of one rule: one page, or pages of ``ctx.page_rows`` findings."""

    def top(here: str) -> list[str]:
        lines = head(f"Findings: {rule_id}", hide_toc=True)
        lines += [
            f"{len(found)} findings ({_counts(found)}). "
            f"{ctx.links.page(here, f'rules/{rule_id}.md', 'What this rule checks')}.",
            "",
        ]
        from opsledger.site.page_indexes import filter_bar

        lines += filter_bar("Severity")
        return lines

    def row(here: str, f: Finding) -> tuple[str, ...]:
        return (
            ctx.links.record(here, f.record) if f.record else "",
            md(severity_mark(f)),
            md(f"{f.path}:{f.line}:{f.column}"),
            md_lines(f.message),
            md_lines(f.fix),
        )

    header = ["Record", "Severity", "Where", "Finding", "How to fix"]
    parts = paged_table(
        ctx.links,
        page,
        found,
        header,
        row,
        page_rows=ctx.page_rows,
        label=lambda f: f.record or f.path,
    )
    return {name: "\n".join([*top(name), *body]) + "\n" for name, body in parts.items()}


def rule_pages(ctx: PageContext) -> dict[str, str]:
    pages: dict[str, str] = {}
    index = "rules/index.md"
    counts = Counter(f.rule for f in ctx.data.findings)
    out = head("Audit rules", hide_toc=True)
    out += ["Every rule the audit runs, with its default severity (policy may override it).", ""]
    rows = []
    for rule in RULES:
        page = f"rules/{rule.id}.md"
        rows.append(
            (
                ctx.links.page(index, page, rule.id),
                md(rule.severity),
                md(rule.summary),
                md(counts.get(rule.id, 0)),
            )
        )
        body = head(f"{rule.id} — {rule.summary}")
        body += [f"**Default severity:** {md(rule.severity)}", ""]
        if counts.get(rule.id):
            target = f"findings/{rule.id}.md"
            body += [f"**Findings now:** {ctx.links.page(page, target, str(counts[rule.id]))}", ""]
        body += rule.documentation_markdown()
        pages[page] = "\n".join(body) + "\n"
    out += table(["Rule", "Severity", "Checks", "Findings"], rows)
    pages[index] = "\n".join(out) + "\n"
    return pages


def waivers_page(ctx: PageContext) -> str:
    page = "waivers.md"
    policy = ctx.data.ledger.policy
    today = ctx.data.as_of.astimezone(policy.timezone).date()
    waived = Counter(f.rule for f in ctx.data.findings if f.waived)
    out = head("Waivers (risk acceptance)", hide_toc=True)
    out += [
        "Findings accepted as risks in `policy.yaml`. A waived finding is still listed "
        "(marked waived); an expired waiver is itself a finding (WAIVER-EXPIRED).",
        "",
    ]
    if not policy.waivers:
        return "\n".join([*out, "No waivers.", ""]) + "\n"
    rows = [
        (
            ctx.links.page(page, f"rules/{w.rule.upper()}.md", w.rule)
            if any(r.id == w.rule.upper() for r in RULES)
            else md(w.rule),
            md(w.record),
            md_lines(w.reason),
            md(w.approved_by),
            md(w.expires.isoformat()),
            md(f"{BAD} expired" if w.expires < today else f"{OK} active"),
            md(waived.get(w.rule.upper(), 0)),
        )
        for w in policy.waivers
    ]
    header = [
        "Rule",
        "Record (or pattern)",
        "Reason",
        "Approved by",
        "Expires",
        "State",
        "Findings waived (rule)",
    ]
    out += table(header, rows)
    return "\n".join(out) + "\n"


def problem_pages(ctx: PageContext) -> dict[str, str]:
    """A page for every record file that could not be read, listing its errors."""
    pages: dict[str, str] = {}
    for path, page in ctx.links.problems.items():
        out = head(f"Unreadable record: {path}")
        out += notice(
            "This file could not be read as a record, so it has no fields to show. Its errors:",
            f"{BAD} Not readable",
        )
        rows = [
            (md(f"{f.line}:{f.column}"), md(f.rule), md_lines(f.message), md_lines(f.fix))
            for f in ctx.data.by_path.get(path, [])
        ]
        out += table(["Line:column", "Rule", "Error", "How to fix"], rows)
        pages[page] = "\n".join(out) + "\n"
    if pages:
        index_rows = [
            (
                ctx.links.page("unreadable/index.md", page, path),
                md(len(ctx.data.by_path.get(path, []))),
            )
            for path, page in ctx.links.problems.items()
        ]
        out = head("Unreadable records", hide_toc=True)
        pages["unreadable/index.md"] = (
            "\n".join([*out, *table(["File", "Errors"], index_rows)]) + "\n"
        )
    return pages
