"""KPI definitions with values, targets and trends; the home dashboard's tiles and charts."""

from __future__ import annotations

from markdown.extensions.toc import slugify

from opsledger.kpis import KpiReport, KpiResult
from opsledger.kpis.display import Line, bound_text, item_text, lines, target_text, value_text
from opsledger.site.charts import Point, bar_chart
from opsledger.site.common import BAD, OK, head, notice, table
from opsledger.site.context import PageContext
from opsledger.text.escape import attr, html_text, md

STATUS_TEXT = {
    "met": f"{OK} met",
    "missed": f"{BAD} missed",
    "no target": "- no target",
    "no data": "? no data",
}
STATUS_CLASS = {
    "met": "ol-met",
    "missed": "ol-missed",
    "no target": "ol-notarget",
    "no data": "ol-nodata",
}
TREND_KPIS = ("incident_volume", "mttr_restore", "sla_compliance", "change_success_rate")
KPI_PAGE = "kpis/index.md"


def anchor(result: KpiResult) -> str:
    return str(slugify(result.kpi.name, "-"))


def chart_path(result: KpiResult) -> str:
    return f"kpis/charts/{result.kpi.id}.svg"


def _points(result: KpiResult) -> list[Point]:
    unit = result.kpi.unit
    marks = {"met": "✓", "missed": "✗"}
    return [
        Point(g.key, g.value, value_text(g.value, unit), marks.get(g.status, ""))
        for g in result.groups.get("month", ())
    ]


def _line(result: KpiResult) -> float | None:
    target = result.target
    if target is None:
        return None
    return target.min if target.min is not None else target.max


def charts(report: KpiReport | None) -> dict[str, str]:
    """One SVG per KPI with monthly values."""
    if report is None:
        return {}
    out: dict[str, str] = {}
    for result in report.results:
        points = _points(result)
        if not points:
            continue
        line = _line(result)
        text = "target " + target_text(result.target, result.kpi.unit) if line else ""
        out[chart_path(result)] = bar_chart(
            f"{result.kpi.name} by month", points, target=line, target_text=text
        )
    return out


def _img(ctx: PageContext, page: str, result: KpiResult) -> list[str]:
    points = _points(result)
    if not points:
        return []
    summary = "; ".join(f"{p.label}: {p.text} {p.mark}".strip() for p in points[-12:])
    alt = f"{result.kpi.name} by month. {summary}"
    src = ctx.links.href(page, chart_path(result))
    return [f'<figure><img class="ol-chart" src="{attr(src)}" alt="{attr(alt)}"></figure>', ""]


def _summary_row(line: Line) -> tuple[str, ...]:
    """A row of the KPI table: a KPI (linked to its section) or one of its priorities."""
    r = line.kpi
    if line.priority is None:
        name, excluded = f"[{md(r.kpi.name)}](#{anchor(r)})", md(len(r.excluded))
    else:
        name, excluded = md(f"{r.kpi.name} {line.priority}"), ""
    return (
        name,
        md(line.text),
        md(line.target),
        md(STATUS_TEXT[line.status]),
        md(line.n),
        excluded,
    )


def _tile_value(result: KpiResult) -> str:
    """A tile's value and target; a KPI judged per priority shows each priority's."""
    head, *per = lines(result)
    if not per:
        return (
            f'<span class="ol-tile__value">{html_text(head.short)}</span>'
            f'<span class="ol-tile__target">target {html_text(head.target)}</span>'
        )
    return "".join(
        f'<span class="ol-tile__line"><span class="ol-tile__key">{html_text(line.priority)}'
        f"</span> <strong>{html_text(line.short)}</strong> {html_text(_judged(line))}</span>"
        for line in per
    )


def _judged(line: Line) -> str:
    if line.status == "no target":
        return "no target"
    return f"{line.target} {STATUS_TEXT[line.status]}"


def kpis_page(ctx: PageContext) -> str:
    page = KPI_PAGE
    report = ctx.data.kpis
    out = head("KPIs")
    if report is None:
        return "\n".join([*out, "No KPIs computed.", ""]) + "\n"
    if ctx.data.history is None:
        out += notice(
            f"{ctx.data.history_notice}: KPIs measured from git history have no data.",
            "History KPIs",
        )
    out += [
        f"As of {md(report.as_of.isoformat())}; each value says how many records it used "
        "(n) and which it left out, and why.",
        "",
    ]
    rows = [_summary_row(line) for r in report.results for line in lines(r)]
    out += table(["KPI", "Value", "Target", "Status", "n", "Excluded"], rows)
    for r in report.results:
        kpi = r.kpi
        out += [f"## {md(kpi.name)}", ""]
        out += table(
            ["Field", "Value"],
            [
                ("**ID**", f"`{kpi.id}`"),
                ("**Definition**", md(kpi.definition)),
                ("**Unit**", md(kpi.unit)),
                ("**Source**", "git history" if kpi.history else "records"),
                ("**Value**", md(lines(r)[0].text)),
                ("**Target**", md(target_text(r.target, kpi.unit))),
                ("**Status**", md(STATUS_TEXT[r.status])),
                ("**Records used (n)**", md(r.n)),
            ],
        )
        for note in r.notes:
            out += [f"*{md(note)}*", ""]
        out += _img(ctx, page, r)
        for dim in r.groups:
            grouped = [
                (
                    md(g.key),
                    md(item_text(g, r)),
                    md(bound_text(g.target, kpi.unit)),
                    md(g.n),
                    md(STATUS_TEXT[g.status]),
                )
                for g in r.groups.get(dim, ())
            ]
            out += [
                f"**By {md(dim)}**",
                "",
                *table([dim.capitalize(), "Value", "Target", "n", "Status"], grouped),
            ]
        if r.excluded:
            shown = r.excluded[:50]
            excluded = [(ctx.links.record(page, e.record), md(e.reason)) for e in shown]
            more = (
                f" (first 50 of {len(r.excluded)}; all in the KPI download)"
                if len(r.excluded) > 50
                else ""
            )
            out += [f"**Excluded{md(more)}**", "", *table(["Record", "Reason"], excluded)]
    return "\n".join(out) + "\n"


def dashboard(ctx: PageContext, page: str = "index.md") -> str:
    """The home page's generated part: totals, KPI tiles against targets, trend charts."""
    data = ctx.data
    ledger = data.ledger
    errors = sum(1 for f in data.findings if f.severity == "error" and not f.waived)
    warnings = sum(1 for f in data.findings if f.severity == "warning" and not f.waived)
    link = ctx.links.page
    out = ["## At a glance", ""]
    commit = f"commit `{data.commit[:10]}`" if data.commit else "no git commit"
    out += [f"Built from {commit} as of {md(data.as_of.isoformat())}.", ""]
    out += table(
        ["Records", "Count"],
        [
            (link(page, "incidents/index.md", "Incidents"), md(len(ledger.incidents))),
            (link(page, "changes/index.md", "Change records"), md(len(ledger.changes))),
            (link(page, "pirs/index.md", "Post-incident reviews"), md(len(ledger.pirs))),
            (link(page, "runbooks/index.md", "Runbooks"), md(len(ledger.runbooks))),
            (link(page, "services/index.md", "Services"), md(len(ledger.services))),
            (
                link(page, "findings/index.md", "Audit findings"),
                md(f"{BAD} {errors} errors, ⚠ {warnings} warnings"),
            ),
        ],
    )
    report = data.kpis
    if report is None:
        return "\n".join(out) + "\n"
    out += [
        "## Key indicators",
        "",
        "Each tile: the value, its target, and whether it was met "
        f"(✓ met, ✗ missed). Details on the {link(page, KPI_PAGE, 'KPI page')}.",
        "",
    ]
    tiles = ['<div class="ol-tiles">']
    ordered = sorted(report.results, key=lambda r: r.target is None)
    for r in ordered:
        href = ctx.links.href(page, KPI_PAGE) + "#" + anchor(r)
        tiles.append(
            f'<a class="ol-tile {STATUS_CLASS[r.status]}" href="{attr(href)}">'
            f'<span class="ol-tile__name">{html_text(r.kpi.name)}</span>{_tile_value(r)}'
            f'<span class="ol-tile__status">{html_text(STATUS_TEXT[r.status])}</span></a>'
        )
    tiles.append("</div>")
    out += ["".join(tiles), "", "## Trends", ""]
    for kpi_id in TREND_KPIS:
        try:
            out += _img(ctx, page, report.get(kpi_id))
        except KeyError:
            continue
    return "\n".join(out) + "\n"
