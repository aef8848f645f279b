"""One incident record from the rows of one ServiceNow number.

The record says only what the export says. What a resolved incident needs but the export
cannot give (an impact statement, resolution text, notifications, restoration time,
commander, bridge, PIR…) is listed in ``import_gaps``; a required field that is a gap holds
a value that says so (``impact: Not recorded in ServiceNow …``) or a neutral placeholder
(``detection: manual``, ``source: other``, ``service: unknown``), never an invented fact.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from opsledger.importers.csvsource import Columns
from opsledger.importers.dates import local_year, to_utc
from opsledger.importers.mapping import FieldMap, number_of
from opsledger.importers.timeline import Story, Update, from_events, from_row, in_order
from opsledger.timeutil import format_timestamp

#: the order of ``import_gaps`` entries (the schema's enum order)
GAP_ORDER = (
    "acknowledged_at",
    "mitigated_at",
    "resolved_at",
    "closed_at",
    "impact",
    "resolution",
    "notifications",
    "commander",
    "bridge_opened_at",
    "pir",
    "detection",
    "source",
    "service",
    "category",
)
MAJOR = ("P1", "P2")
DONE = ("resolved", "closed")
Row = list[str]


def clean_line(text: str, limit: int = 200) -> str:
    """One printable line: control, invisible and bidi characters removed, spaces folded."""
    kept = []
    for char in text:
        category = unicodedata.category(char)
        if category == "Cf":
            continue
        kept.append(" " if category in ("Cc", "Zl", "Zp") or char.isspace() else char)
    line = " ".join("".join(kept).split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def clean_text(text: str, limit: int = 20000) -> str:
    """Plain text that may span lines, with the same characters removed."""
    lines = [clean_line(part, limit) for part in text.replace("\r\n", "\n").split("\n")]
    joined = "\n".join(lines).strip("\n")
    return joined if len(joined) <= limit else joined[: limit - 1] + "…"


@dataclass
class Context:
    """What every incident of one import shares."""

    columns: Columns
    order: str
    zone: tzinfo | None
    mapping: FieldMap
    events: bool
    getters: dict[str, Callable[[Row], str]] = field(init=False)

    def __post_init__(self) -> None:
        self.getters = {name: self.columns.getter(name) for name in self.columns.index}

    def value(self, row: Row, name: str) -> str:
        getter = self.getters.get(name)
        return getter(row) if getter is not None else ""

    def when(self, row: Row, name: str) -> datetime | None:
        text = self.value(row, name)
        return to_utc(text, self.order, self.zone) if text else None

    def update(self, line: int, row: Row) -> Update:
        value = self.value
        mod, reopens = value(row, "sys_mod_count"), value(row, "reopen_count")
        return Update(
            line=line,
            mod=int(mod) if mod else None,
            at=self.when(row, "sys_updated_at"),
            state=value(row, "state"),
            priority=value(row, "priority"),
            group=clean_line(value(row, "assignment_group")),
            assignee=clean_line(value(row, "assigned_to")),
            reopens=int(reopens) if reopens else None,
            close_code=clean_line(value(row, "close_code")),
            changes=tuple((f, value(row, f)) for f in self.mapping.change_fields),
        )


@dataclass(frozen=True)
class Built:
    """An incident ready to be written (without its ID, which depends on the repository)."""

    number: str
    year: int
    data: dict[str, Any]
    lines: tuple[int, int]
    change_field: str | None = None
    unmapped_contact: str | None = None


@dataclass(frozen=True)
class Skipped:
    number: str
    lines: tuple[int, int]
    reason: str


def build(number: str, rows: list[tuple[int, Row]], ctx: Context) -> Built | Skipped:
    """The record for ``number`` from its rows (every row already checked by the scan)."""
    by_line = dict(rows)
    updates = in_order([ctx.update(line, row) for line, row in rows])
    last = by_line[updates[-1].line]
    lines = (min(by_line), max(by_line))
    opened_text = ctx.value(last, "opened_at")
    opened = to_utc(opened_text, ctx.order, ctx.zone)
    resolved, closed = ctx.when(last, "resolved_at"), ctx.when(last, "closed_at")
    story: Story
    if ctx.events:
        story = from_events(number, updates, opened, resolved, closed)
    else:
        reopened_time = ctx.when(last, "reopened_time")
        story = from_row(number, updates[-1], opened, resolved, closed, reopened_time)
    if story.status == "canceled":
        return Skipped(number, lines, f"canceled in ServiceNow ({updates[-1].state}): not imported")
    year = local_year(opened_text, ctx.order)
    return _record(number, year, last, story, updates[-1], opened, lines, ctx)


def _title(number: str, values: dict[str, str]) -> str:
    given = clean_line(values["short_description"])
    if given:
        return given
    parts = [clean_line(values[k]) for k in ("category", "subcategory", "u_symptom")]
    what = " / ".join(p for p in parts if p)
    return clean_line(f"{what} ({number})" if what else f"ServiceNow incident {number}")


def _impact(values: dict[str, str]) -> str:
    levels = [f"{name} {values[name]}" for name in ("impact", "urgency") if values[name]]
    said = f" ({', '.join(levels)})" if levels else ""
    return clean_line(f"No impact statement in the ServiceNow export{said}.", 20000)


def _record(
    number: str,
    year: int,
    row: Row,
    story: Story,
    final: Update,
    opened: datetime,
    lines: tuple[int, int],
    ctx: Context,
) -> Built:
    names = (
        "short_description",
        "category",
        "subcategory",
        "u_symptom",
        "contact_type",
        "impact",
        "urgency",
        "close_notes",
        *ctx.mapping.service_from,
        *ctx.mapping.change_fields,
    )
    values = {name: ctx.value(row, name) for name in names}
    mapping = ctx.mapping
    priority = mapping.priority(final.priority) or "P4"  # unknown values stop the scan
    gaps = {"impact", "notifications"}
    service = mapping.service(values)
    if service is None:
        service = mapping.default_service
        gaps.add("service")
    contact = mapping.contact(values["contact_type"])
    unmapped = None
    if contact is None:
        contact = ("manual", "other")
        gaps |= {"detection", "source"}
        unmapped = values["contact_type"] or "(empty)"
    category = clean_line(mapping.category(values["category"], values["subcategory"]))
    if not category:
        gaps.add("category")
    done = story.status in DONE
    if story.acknowledged_at is None and not story.acknowledgement_known:
        gaps.add("acknowledged_at")
    if done:
        gaps.add("mitigated_at")
        if story.resolved_at is None:
            gaps.add("resolved_at")
    if story.status == "closed" and story.closed_at is None:
        gaps.add("closed_at")
    resolution = clean_text(values["close_notes"])
    if done and not resolution:
        gaps.add("resolution")
    if priority in MAJOR:
        gaps |= {"commander", "bridge_opened_at"} | ({"pir"} if done else set())
    data: dict[str, Any] = {
        "title": _title(number, values),
        "priority": priority,
        "status": story.status,
        "service": service,
        "detection": contact[0],
        "source": contact[1],
    }
    if category:
        data["category"] = category
    data["impact"] = _impact(values)
    data["detected_at"] = format_timestamp(opened)
    for name in ("acknowledged_at", "resolved_at", "closed_at"):
        moment = getattr(story, name)
        if moment is not None:
            data[name] = format_timestamp(moment)
    if story.reopened:
        data["reopened"] = [
            {"at": format_timestamp(at), "reason": reason} for at, reason in story.reopened
        ]
    change_field = None
    for name in mapping.change_fields:
        changed = number_of(values[name]) if values[name] else None
        if changed is not None:
            data["caused_by_change"] = f"CHG-{year}-{changed:04d}"
            change_field = name
            break
    if done and resolution:
        data["resolution"] = resolution
    data["timeline"] = [
        {"at": format_timestamp(at), "event": clean_text(event)} for at, event in story.timeline
    ]
    data["external_id"] = number
    data["import_gaps"] = [gap for gap in GAP_ORDER if gap in gaps]
    return Built(number, year, data, lines, change_field, unmapped)
