"""Pieces every record page shares: the page head, times and durations, marks, the
findings table and the audit trail from git."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from opsledger.findings import Finding
from opsledger.history.model import diff_fields, value_text
from opsledger.obligations import Cadence, Verdict
from opsledger.site.data import SiteData
from opsledger.site.links import Links
from opsledger.text.escape import front_matter_title, html_text, md, md_lines
from opsledger.timeutil import format_duration

OK = "✓"
BAD = "✗"
NONE = "—"


def head(title: str, *, hide_toc: bool = False) -> list[str]:
    """Front matter and the H1 of a generated page."""
    lines = ["---", f"title: {front_matter_title(title)}"]
    if hide_toc:
        lines += ["hide:", "  - toc"]
    return [*lines, "---", "", f"# {md(title)}", ""]


def when(moment: datetime | None, zone: ZoneInfo) -> str:
    """A timestamp for reading: local time in the policy zone with its offset, to the
    minute, or to the second when it has seconds (a verdict one second late must not read
    as on the deadline)."""
    if moment is None:
        return NONE
    return _when(moment, zone)


@lru_cache(maxsize=1 << 16)
def _when(moment: datetime, zone: ZoneInfo) -> str:
    local = moment.astimezone(zone)
    offset = local.strftime("%z")
    clock = f"{local:%H:%M:%S}" if local.second or local.microsecond else f"{local:%H:%M}"
    return f"{local:%Y-%m-%d} {clock} {offset[:3]}:{offset[3:]}"


def stamp(moment: datetime | None) -> float:
    """A sort key for an optional timestamp (missing ones first)."""
    return moment.timestamp() if moment is not None else float("-inf")


def day(value: date | None) -> str:
    return value.isoformat() if value is not None else NONE


def span(delta: timedelta | None) -> str:
    """``1h 05m``, ``2d 3h``, ``-15m`` for a negative duration (as the audit and the brief
    write durations)."""
    return NONE if delta is None else format_duration(delta)


#: how a verdict of :mod:`opsledger.obligations` is marked on the site
VERDICT_MARKS = {
    "met": f"{OK} met",
    "late": f"{BAD} late",
    "missing": f"{BAD} missed",
    "pending": "pending",
    "unverified": "done, timing not verifiable",
}


def verdict_mark(state: str) -> str:
    return VERDICT_MARKS[state]


def verdict_rows(verdicts: Iterable[Verdict | Cadence]) -> list[str]:
    """The "Against policy" table: one row per obligation, its mark and what happened."""
    rows = [
        (
            md(v.title),
            md(verdict_mark(v.state)),
            md_lines(v.detail),
        )
        for v in verdicts
    ]
    if not rows:
        return ["## Against policy", "", "No deadline applies under the policy.", ""]
    return ["## Against policy", "", *table(["Obligation", "Verdict", "Detail"], rows)]


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    """A Markdown table; cells must already be escaped Markdown."""
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(cell or " " for cell in row) + " |" for row in rows]
    return [*out, ""]


def fields(rows: Iterable[tuple[str, str]]) -> list[str]:
    """A two-column field/value table, skipping empty values."""
    kept = [(name, value) for name, value in rows if value and value != NONE]
    if not kept:
        return []
    return table(["Field", "Value"], [(f"**{name}**", value) for name, value in kept])


def notice(text: str, title: str = "Note") -> list[str]:
    """A boxed notice (raw HTML made here; ``text`` is escaped)."""
    return [
        f'<div class="admonition warning ol-notice"><p class="admonition-title">'
        f"{html_text(title)}</p><p>{html_text(text)}</p></div>",
        "",
    ]


def paragraph(text: str | None) -> list[str]:
    return [md_lines(text), ""] if text else []


def severity_mark(finding: Finding) -> str:
    if finding.waived:
        return "waived"
    return f"{BAD} error" if finding.severity == "error" else "⚠ warning"


def findings_section(data: SiteData, links: Links, page: str, found: list[Finding]) -> list[str]:
    out = ["## Findings", ""]
    if not found:
        return [*out, f"{OK} No findings: this record passes every rule that applies.", ""]
    rows = [
        (
            links.page(page, f"rules/{f.rule}.md", f.rule) if f.rule in _rule_ids() else md(f.rule),
            severity_mark(f),
            md(f"{f.path}:{f.line}:{f.column}"),
            md_lines(f.message),
            md_lines(f.fix),
        )
        for f in found
    ]
    return [*out, *table(["Rule", "Severity", "Where", "Finding", "How to fix"], rows)]


def _rule_ids() -> set[str]:
    from opsledger.rules import RULES_BY_ID

    return set(RULES_BY_ID)


def audit_trail(data: SiteData, record_id: str) -> list[str]:
    """Every commit that touched the record: who, when, and which fields changed (made
    once under ``site serve`` while its history index is carried: :mod:`.carry`)."""
    carry = data.carry
    if carry is None or data.history is None or data.history is not carry.history:
        return _audit_trail(data, record_id)
    found = carry.trails.get(record_id)
    if found is None:
        found = carry.trails[record_id] = _audit_trail(data, record_id)
    return found


def _audit_trail(data: SiteData, record_id: str) -> list[str]:
    out = ["## Audit trail", ""]
    if data.history is None:
        reason = data.history_notice or "history unavailable"
        return [*out, *notice(f"{reason}: the audit trail needs the full git history.", reason)]
    history = data.history.get(record_id)
    if history is None or not history.versions:
        return [*out, "Not committed yet: this record has no history on the branch.", ""]
    if data.history.imported(record_id):
        out += ["Imported before adoption (first committed before `history.since`).", ""]
    zone = data.ledger.policy.timezone
    rows = []
    # the fields each readable version changed from the previous readable one, as
    # RecordHistory.changes() gives them; the first (created) lists none, so its diff
    # against nothing (every field of the record) is not computed
    previous: Mapping[str, Any] | None = None
    for version in history.versions:
        commit = version.commit
        if version.deleted:
            event = "deleted " + md(version.path)
        elif version.data is None:
            event = "unreadable: " + md(version.error or "")
        elif previous is None:
            event, previous = "created " + md(version.path), version.data
        else:
            event = (
                "<br>".join(
                    f"{md(c.field)}: {md(value_text(c.old))} → {md(value_text(c.new))}"
                    for c in diff_fields(previous, version.data)
                )
                or "no field changed"
            )
            previous = version.data
        landed = (
            "" if commit.landed_sha == commit.sha else f" (landed {when(commit.landed_at, zone)})"
        )
        rows.append(
            (
                f"`{commit.sha[:10]}`",
                md(f"{commit.author.name} <{commit.author.email}>"),
                md(when(commit.authored_at, zone) + landed),
                event,
            )
        )
    return [*out, *table(["Commit", "Author", "Time", "Fields changed"], rows)]
