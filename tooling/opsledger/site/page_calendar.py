"""The change calendar: one month view per month with changes, freeze windows shaded and
named, and collisions (two changes on one service at overlapping times) marked.

The grid is a raw-HTML table made here: every text in it goes through ``html_text``.
"""

from __future__ import annotations

import calendar as cal
from collections import defaultdict
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from opsledger.model.records import Change
from opsledger.site.common import head, table
from opsledger.site.context import PageContext
from opsledger.text.escape import attr, html_text, md

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def collisions(changes: list[Change]) -> dict[str, set[str]]:
    """Change ID -> IDs of changes on a shared service whose windows overlap."""
    by_service: defaultdict[str, list[Change]] = defaultdict(list)
    for change in changes:
        if change.window_start is not None and change.window_end is not None:
            for service in set(change.services):
                by_service[service].append(change)
    found: defaultdict[str, set[str]] = defaultdict(set)
    for items in by_service.values():
        items.sort(key=lambda c: c.window_start.timestamp() if c.window_start else 0.0)
        active: list[Change] = []
        for change in items:
            assert change.window_start is not None
            active = [a for a in active if a.window_end and a.window_end > change.window_start]
            for other in active:
                if other.id != change.id:
                    found[change.id].add(other.id)
                    found[other.id].add(change.id)
            active.append(change)
    return dict(found)


def _collision(others: list[str]) -> str:
    """`` ⚠ collides with CHG-1, CHG-2 and 3 more`` (empty when none)."""
    if not others:
        return ""
    text = ", ".join(others[:3]) + (f" and {len(others) - 3} more" if len(others) > 3 else "")
    return (
        f' <span class="ol-collision" title="{attr("same service, overlapping window")}">'
        f"⚠ collides with {html_text(text)}</span>"
    )


def _days(start: datetime, end: datetime, zone: ZoneInfo) -> list[date]:
    first = start.astimezone(zone).date()
    last = (end - timedelta(microseconds=1)).astimezone(zone).date() if end > start else first
    if (last - first).days > 62:  # an absurd window is shown on its first day only
        return [first]
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _month_key(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def calendar_pages(ctx: PageContext) -> dict[str, str]:
    ledger = ctx.data.ledger
    zone = ledger.policy.timezone
    changes = [c for c in ledger.changes.values() if c.window_start is not None]
    clash = collisions(changes)
    per_day: defaultdict[date, list[Change]] = defaultdict(list)
    for change in changes:
        assert change.window_start is not None
        for d in _days(change.window_start, change.window_end or change.window_start, zone):
            per_day[d].append(change)
    freezes: defaultdict[date, list[str]] = defaultdict(list)
    for window in ledger.policy.freeze_windows:
        for d in _days(window.start, window.end, zone):
            label = window.name + (f" ({', '.join(window.services)})" if window.services else "")
            freezes[d].append(label)
    months = sorted({_month_key(d) for d in per_day} | {_month_key(d) for d in freezes})
    pages: dict[str, str] = {}
    index = "changes/calendar.md"
    rows = []
    for key in months:
        page = f"changes/calendar/{key}.md"
        year, month = int(key[:4]), int(key[5:])
        in_month = {c.id for d, cs in per_day.items() if _month_key(d) == key for c in cs}
        clashes = sum(1 for cid in in_month if cid in clash)
        frozen = sum(1 for d in freezes if _month_key(d) == key)
        rows.append(
            (
                ctx.links.page(index, page, key),
                md(len(in_month)),
                md(f"{frozen} days" if frozen else ""),
                md(f"⚠ {clashes}" if clashes else ""),
            )
        )
        pages[page] = _month(ctx, page, year, month, per_day, freezes, clash, months)
    out = head("Change calendar", hide_toc=True)
    out += [
        "Changes by the days of their planned window (policy time zone "
        f"{md(str(zone))}). Freeze windows are shaded and named; ⚠ marks a change whose "
        "window overlaps another change on the same service.",
        "",
    ]
    out += (
        table(["Month", "Changes", "Freeze", "Collisions"], reversed(rows))
        if rows
        else ["No change has a window yet.", ""]
    )
    pages[index] = "\n".join(out) + "\n"
    return pages


def _month(
    ctx: PageContext,
    page: str,
    year: int,
    month: int,
    per_day: dict[date, list[Change]],
    freezes: dict[date, list[str]],
    clash: dict[str, set[str]],
    months: list[str],
) -> str:
    key = f"{year:04d}-{month:02d}"
    out = head(f"Change calendar {key}", hide_toc=True)
    at = months.index(key)
    nav = []
    if at > 0:
        nav.append(
            ctx.links.page(page, f"changes/calendar/{months[at - 1]}.md", "← " + months[at - 1])
        )
    nav.append(ctx.links.page(page, "changes/calendar.md", "all months"))
    if at + 1 < len(months):
        nav.append(
            ctx.links.page(page, f"changes/calendar/{months[at + 1]}.md", months[at + 1] + " →")
        )
    out += [" · ".join(nav), ""]
    carry = ctx.data.carry

    def entry(change: Change) -> str:
        mark = _collision(sorted(clash.get(change.id, ())))
        label = f"{change.id} {change.type or ''}".strip()
        return f"<li>{ctx.links.html_record(page, change.id, label)}{mark}</li>"

    def item(change: Change) -> str:
        """A change's entry; under ``site serve``, made once per change object, page and
        colliding changes (:meth:`~opsledger.site.carry.Carry.made`)."""
        if carry is None:
            return entry(change)
        return carry.made(page, change, frozenset(clash.get(change.id, ())), entry)

    grid = ['<table class="ol-calendar"><thead><tr>']
    grid += [f'<th scope="col">{d}</th>' for d in _WEEKDAYS]
    grid.append("</tr></thead><tbody>")
    for week in cal.Calendar().monthdatescalendar(year, month):
        grid.append("<tr>")
        for d in week:
            classes = ["ol-out"] if d.month != month else []
            if d in freezes:
                classes.append("ol-freeze")
            cls = f' class="{" ".join(classes)}"' if classes else ""
            cell = [f'<td{cls}><span class="ol-day">{d.day}</span>']
            for name in freezes.get(d, []):
                cell.append(f'<span class="ol-freeze-name">❄ Freeze: {html_text(name)}</span>')
            if d.month == month and per_day.get(d):
                cell.append("<ul>")
                for change in sorted(per_day[d], key=lambda c: (c.window_start, c.id)):
                    cell.append(item(change))
                cell.append("</ul>")
            cell.append("</td>")
            grid.append("".join(cell))
        grid.append("</tr>")
    grid.append("</tbody></table>")
    out += ["".join(grid), ""]
    return "\n".join(out) + "\n"
