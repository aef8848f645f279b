"""The first pass over an export: check every row, learn the file's shape and date format.

Nothing is written and almost nothing is kept: per incident number only how many good rows
it has, plus the line numbers of bad rows (each reported with its reason and skipped). At the
end the whole file is known to be readable, its date format decided and its priorities
mapped — only then does the import build and write records.

Shapes: the **event log** (ServiceNow's audit export: one row per update, ``sys_updated_at``
and usually ``sys_mod_count``) repeats a number on several rows; the **list export** has one
row per incident. ``auto`` picks the event log when any number appears twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from opsledger.errors import OpsledgerError
from opsledger.importers.csvsource import Columns, Source
from opsledger.importers.dates import Detector
from opsledger.importers.mapping import FieldMap, number_of

SHAPES = ("auto", "events", "list")
_DATES = ("opened_at", "sys_updated_at", "resolved_at", "closed_at", "reopened_time")
_COUNTS = ("sys_mod_count", "reopen_count")
_EXTERNAL_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-")


@dataclass(frozen=True, order=True)
class Problem:
    """A row (or an incident's rows) that was not imported, and why."""

    line: int
    message: str
    number: str = ""


@dataclass
class Scan:
    columns: Columns
    events: bool
    order: str
    counts: dict[str, int]
    bad: set[int]
    problems: list[Problem]
    rows: int
    digest: str
    naive: tuple[int, str] | None


@dataclass
class _State:
    detector: Detector
    counts: dict[str, int] = field(default_factory=dict)
    first_line: dict[str, int] = field(default_factory=dict)
    bad: set[int] = field(default_factory=set)
    problems: list[Problem] = field(default_factory=list)
    unknown_priorities: dict[str, list[int]] = field(default_factory=dict)
    no_update_time: list[tuple[int, str]] = field(default_factory=list)
    rows: int = 0


def _row_problem(
    row: list[str], columns: Columns, state: _State, line: int, mapping: FieldMap
) -> tuple[str, str] | None:
    """(number, why) when the row cannot be used; notes its dates and priority otherwise."""
    if len(row) != columns.width:
        return (
            row[columns.index["number"]].strip() if len(row) > columns.index["number"] else "",
            f"has {len(row)} fields but the header has {columns.width}",
        )
    get = columns.getter
    number = get("number")(row)
    if not number:
        return "", "has no incident number"
    if number_of(number) is None or not set(number) <= _EXTERNAL_CHARS or len(number) > 100:
        return number, f"number {number[:40]!r} is not like INC0012345"
    for name in ("state", "priority", "opened_at"):
        if not get(name)(row):
            shown = "incident_state" if name == "state" else name
            return number, f"{shown} is empty"
    for name in _COUNTS:
        value = get(name)(row)
        if value and not (value.isascii() and value.isdigit() and len(value) <= 9):
            return number, f"{name} {value[:20]!r} is not a whole number below a billion"
    for name in _DATES:
        value = get(name)(row)
        if value:
            why = state.detector.check(value, line)
            if why is not None:
                return number, f"{name} {why}"
    priority = get("priority")(row)
    if mapping.priority(priority) is None:
        state.unknown_priorities.setdefault(priority, []).append(line)
    return number, ""


def scan(source: Source, mapping: FieldMap, *, shape: str, date_format: str | None) -> Scan:
    """Read the whole file once; raise :class:`OpsledgerError` when it cannot be imported."""
    where = str(source.path)
    state = _State(Detector(date_format))
    rows = source.rows()
    columns: Columns | None = None
    updated = None
    for line, row in rows:
        if columns is None or updated is None:
            columns = Columns.from_header(row, where)
            updated = columns.getter("sys_updated_at")
            continue
        state.rows += 1
        number, why = _row_problem(row, columns, state, line, mapping) or ("", "")
        if not why and shape == "list" and number in state.first_line:
            why = f"{number} is already on line {state.first_line[number]}: a list export has "
            why += "one row per incident (or pass --shape events)"
        if why:
            state.bad.add(line)
            state.problems.append(Problem(line, why, number))
            continue
        if shape == "list":
            state.first_line.setdefault(number, line)
        if columns.has("sys_updated_at") and not updated(row):
            state.no_update_time.append((line, number))
        state.counts[number] = state.counts.get(number, 0) + 1
    assert columns is not None  # Source raises on an empty file
    _check_priorities(where, state)
    events = shape == "events" or (shape == "auto" and any(n > 1 for n in state.counts.values()))
    if events:
        _need_update_times(where, columns, state)
    return Scan(
        columns=columns,
        events=events,
        order=state.detector.decide(where),
        counts=state.counts,
        bad=state.bad,
        problems=sorted(state.problems),
        rows=state.rows,
        digest=source.digest,
        naive=state.detector.naive,
    )


def _check_priorities(where: str, state: _State) -> None:
    if not state.unknown_priorities:
        return
    found = sorted(state.unknown_priorities.items(), key=lambda kv: kv[1][0])
    shown = "; ".join(
        f"{value[:40]!r} ({len(lines)} rows, first on line {lines[0]})" for value, lines in found
    )
    first = found[0][0][:40]
    raise OpsledgerError(
        f"{where}: priority values with no mapping: {shown}; map each with "
        f"--priority-map '{first}=P3' (P1…P4)"
    )


def _need_update_times(where: str, columns: Columns, state: _State) -> None:
    if not columns.has("sys_updated_at"):
        repeated = next(n for n, count in state.counts.items() if count > 1)
        raise OpsledgerError(
            f"{where}: {repeated} appears on several rows (an audit event log) but there is no "
            "sys_updated_at column to order its updates; export sys_updated_at too, or pass "
            "--shape list if each row is a separate incident"
        )
    for line, number in state.no_update_time:
        state.bad.add(line)
        state.problems.append(Problem(line, "sys_updated_at is empty", number))
        state.counts[number] -= 1
        if not state.counts[number]:
            del state.counts[number]
