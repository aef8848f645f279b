"""KPI reports as JSON (the SPEC §5 contract), CSV, Markdown and a plain-text table.

Each formatter is a function ``(KpiReport) -> str``; ``FORMATS`` maps the format names of
``opsledger kpi --format``. Record text (service keys, priorities) is escaped in Markdown
and made formula-safe in CSV; values read as :mod:`opsledger.kpis.display` writes them.

JSON and CSV groups are the measured groups. A KPI judged per priority also carries each
priority's verdict in ``target.status_by_priority`` (``no data`` where nothing was
measured); the table and Markdown show it as one line per priority under the KPI's line.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from opsledger.kpis.aggregate import Stats
from opsledger.kpis.base import Unit
from opsledger.kpis.display import bound_text, item_text, lines
from opsledger.kpis.engine import Group, KpiReport, KpiResult
from opsledger.model.policy import Target
from opsledger.neutral import json_text
from opsledger.neutral import line as inert
from opsledger.output.spreadsheet import csv_text
from opsledger.text.escape import md
from opsledger.timeutil import format_timestamp

DIMENSION_TITLES = {
    "week": "By week",
    "month": "By month",
    "quarter": "By quarter",
    "priority": "By priority",
    "service": "By service",
    "source": "By source",
    "regime": "By regulatory regime",
    "stage": "By regulatory stage",
}


def number(value: float | None, unit: Unit) -> float | int | None:
    """A value as JSON shows it: counts as integers, others rounded to 6 decimals."""
    if value is None:
        return None
    return round(value) if unit == "count" else round(value, 6)


def target_dict(target: Target | None) -> dict[str, Any] | None:
    if target is None:
        return None
    out: dict[str, Any] = {}
    if target.min is not None:
        out["min"] = target.min
    if target.max is not None:
        out["max"] = target.max
    if target.by_priority:
        out["by_priority"] = {p: target_dict(t) for p, t in target.by_priority.items()}
    return out


def stats_dict(stats: Stats, unit: Unit) -> dict[str, Any]:
    return {
        "mean": number(stats.mean, unit),
        "median": number(stats.median, unit),
        "p90": number(stats.p90, unit),
    }


def group_dict(group: Group, unit: Unit) -> dict[str, Any]:
    out: dict[str, Any] = {
        "value": number(group.value, unit),
        "n": group.n,
        "target": target_dict(group.target),
        "status": group.status,
    }
    if group.stats is not None:
        out["stats"] = stats_dict(group.stats, unit)
    return out


def result_dict(result: KpiResult) -> dict[str, Any]:
    kpi = result.kpi
    out: dict[str, Any] = {
        "id": kpi.id,
        "name": kpi.name,
        "value": number(result.value, kpi.unit),
        "unit": kpi.unit,
        "n": result.n,
        "target": target_dict(result.target),
        "status": result.status,
    }
    if result.per_priority and result.target is not None:
        # judged per priority: each priority's verdict, "no data" where none was measured
        out["target"]["status_by_priority"] = {
            g.key: g.status for g in result.per_priority if g.key in result.target.by_priority
        }
    if result.stats is not None:
        out["stats"] = stats_dict(result.stats, kpi.unit)
    out["excluded"] = [{"record": e.record, "reason": e.reason} for e in result.excluded]
    out["groups"] = {
        dim: {g.key: group_dict(g, kpi.unit) for g in groups}
        for dim, groups in result.groups.items()
    }
    out["notes"] = list(result.notes)
    out["source"] = "history" if kpi.history else "records"
    out["definition"] = kpi.definition
    return out


def report_dict(report: KpiReport) -> dict[str, Any]:
    """The ``opsledger kpi --format json`` document (version 1)."""
    return {
        "version": 1,
        "commit": report.commit,
        "as_of": format_timestamp(report.as_of),
        "since": report.since.isoformat() if report.since else None,
        "until": report.until.isoformat() if report.until else None,
        "kpis": [result_dict(r) for r in report.results],
    }


def render_json(report: KpiReport) -> str:
    return json_text(json.dumps(report_dict(report), indent=2, ensure_ascii=False)) + "\n"


def render_csv(report: KpiReport) -> str:
    """One row per KPI, then one per group (``dimension``, ``group`` set); every text cell
    neutralised for a spreadsheet (:mod:`opsledger.output.spreadsheet`)."""
    header = [
        "kpi",
        "unit",
        "dimension",
        "group",
        "value",
        "n",
        "target_min",
        "target_max",
        "status",
        "mean",
        "median",
        "p90",
        "excluded",
    ]
    rows: list[list[object]] = []
    for r in report.results:
        unit = r.kpi.unit
        items: list[tuple[str, str, KpiResult | Group, int | None]] = [("", "", r, len(r.excluded))]
        items += [(dim, g.key, g, None) for dim, groups in r.groups.items() for g in groups]
        for dim, key, item, excluded in items:
            goal = item.target
            rows.append(
                [
                    r.kpi.id,
                    unit,
                    dim,
                    key,
                    number(item.value, unit),
                    item.n,
                    goal.min if goal else None,
                    goal.max if goal else None,
                    item.status,
                    *(number(v, unit) for v in _stat_values(item.stats)),
                    excluded,
                ]
            )
    return csv_text(header, rows, lineterminator="\n")


def _stat_values(stats: Stats | None) -> tuple[float | None, float | None, float | None]:
    return (stats.mean, stats.median, stats.p90) if stats else (None, None, None)


def heading(report: KpiReport) -> str:
    since = report.since.isoformat() if report.since else "the first record"
    until = f"before {report.until.isoformat()}" if report.until else "now"
    commit = report.commit[:12] if report.commit else "no commit (working tree outside git)"
    return (
        f"KPIs from {since} {until}, as of {format_timestamp(report.as_of)}, "
        f"computed at commit {commit}"
    )


Section = tuple[str, list[str], list[list[str]]]


def kpi_rows(report: KpiReport) -> list[list[str]]:
    """The KPIs section's rows: a KPI's line, then one line per priority for a KPI judged
    per priority (``mtta P1``…)."""
    rows = []
    for r in report.results:
        for line in lines(r):
            name = r.kpi.id if line.priority is None else f"{r.kpi.id} {line.priority}"
            excluded = str(len(r.excluded)) if line.priority is None else ""
            rows.append([name, line.text, line.target, line.status, str(line.n), excluded])
    return rows


def sections(report: KpiReport) -> list[Section]:
    """The table's sections: the KPIs, one per grouping, the exclusions and notes."""
    header = ["KPI", "Value", "Target", "Status", "n", "Excluded"]
    out: list[Section] = [("KPIs", header, kpi_rows(report))]
    dims = list(dict.fromkeys(d for r in report.results for d in r.groups))
    for dim in dims:
        rows = [
            [
                r.kpi.id,
                g.key,
                item_text(g, r),
                bound_text(g.target, r.kpi.unit),
                g.status,
                str(g.n),
            ]
            for r in report.results
            for g in r.groups.get(dim, ())
        ]
        out.append(
            (DIMENSION_TITLES[dim], ["KPI", "Group", "Value", "Target", "Status", "n"], rows)
        )
    excluded = [[r.kpi.id, e.record, e.reason] for r in report.results for e in r.excluded]
    if excluded:
        out.append(("Excluded records", ["KPI", "Record", "Reason"], excluded))
    notes = [[r.kpi.id, note] for r in report.results for note in r.notes]
    if notes:
        out.append(("Notes", ["KPI", "Note"], notes))
    return out


def render_table(report: KpiReport) -> str:
    """Plain aligned columns (for pipes and files); record text made inert."""
    out = [inert(heading(report))]
    for title, header, rows in sections(report):
        cells = [[inert(c) for c in row] for row in rows]
        widths = [max(len(row[i]) for row in [header, *cells]) for i in range(len(header))]
        out += ["", title]
        for row in [header, ["-" * w for w in widths], *cells]:
            out.append(inert("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True))))
    return "\n".join(text.rstrip() for text in out) + "\n"


def render_markdown(report: KpiReport) -> str:
    lines = ["# KPIs", "", md(heading(report)) + "."]
    for title, header, rows in sections(report):
        lines += ["", f"## {title}", ""]
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "---|" * len(header))
        lines += ["| " + " | ".join(md(c) for c in row) + " |" for row in rows]
    lines += ["", "## Definitions", ""]
    for r in report.results:
        kpi = r.kpi
        source = " From git history." if kpi.history else ""
        lines.append(f"- **{md(kpi.name)}** (`{kpi.id}`, {kpi.unit}): {md(kpi.definition)}{source}")
    return "\n".join(lines) + "\n"


FORMATS: dict[str, Callable[[KpiReport], str]] = {
    "table": render_table,
    "json": render_json,
    "csv": render_csv,
    "markdown": render_markdown,
}
