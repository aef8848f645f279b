"""Sections shared by record pages: linked records and the schema notice."""

from __future__ import annotations

from collections.abc import Iterable

from opsledger.model.records import Record
from opsledger.site.common import BAD, notice, table
from opsledger.site.context import PageContext
from opsledger.text.escape import md


def schema_notice(ctx: PageContext, record: Record) -> list[str]:
    """A visible notice at the top of a record that does not match its schema."""
    errors = [f for f in ctx.data.findings_of(record.id, record.path) if f.rule == "SCHEMA"]
    if not errors:
        return []
    return notice(
        f"This record does not match its schema ({len(errors)} error"
        f"{'s' if len(errors) != 1 else ''}); fields below are shown as far as they could be "
        "read. The errors are listed under Findings.",
        f"{BAD} Schema errors",
    )


def linked_section(
    ctx: PageContext, page: str, record: Record, named: Iterable[tuple[str, str | None]]
) -> list[str]:
    """The records this one names, and the records that name it."""
    links = ctx.links
    rows = [(md(label), links.record(page, target)) for label, target in named if target]
    for other, kind in named_by(ctx, record):
        rows.append((md(f"Named by {kind}"), links.record(page, other)))
    if not rows:
        return ["## Linked records", "", "None.", ""]
    return ["## Linked records", "", *table(["Link", "Record"], rows)]


def named_by(ctx: PageContext, record: Record) -> list[tuple[str, str]]:
    """The records that name ``record``: each one's ID and kind."""
    out = []
    for other in ctx.backlinks.get(record.id, []):
        found = ctx.data.ledger.get(other)
        out.append((other, found.kind if found is not None else "record"))
    return out
