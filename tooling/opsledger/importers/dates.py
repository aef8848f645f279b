"""Dates and times in an export: which format the file uses, and conversion to UTC.

Exports write dates in the locale of the instance or of the user who exported them, and
without a timezone: ``29/2/2016 01:16`` (d/m/yyyy), ``29-02-2016 01:16`` (dd-mm-yyyy),
``02/29/2016 01:16 AM`` (mm/dd/yyyy), ``2016-02-29 01:16:00`` (ISO). The separator does
not matter; the order of day and month does, and it is decided from the whole file:

* a value whose first number is over 12 can only be day-first, one whose second number is
  over 12 only month-first, one that starts with a four-digit year only year-first;
* a file where every value fits both day-first and month-first (every day is 12 or less) is
  ambiguous: the import stops and asks for ``--date-format`` rather than guess;
* a file whose values contradict each other is refused, naming a line of each kind.

Local times are read in the instance's timezone (``--timezone``) and converted to UTC; a
value that carries its own offset (``…Z``, ``…+01:00``) keeps it. Nothing naive is ever
written. In the repeated hour when clocks go back, a local time means its first occurrence;
a local time the clocks skipped (the hour lost when they go forward) names no moment at
all, and its incident is reported and skipped (:class:`NoSuchTime`): an export in the
instance's timezone never holds one, so the row or ``--timezone`` is wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from functools import lru_cache

from opsledger.errors import OpsledgerError
from opsledger.timeutil import YEARS  # the tool's one range (1900-2999): beyond it, a typo

ORDERS = ("dmy", "mdy", "ymd")
CACHE = 4096  # the same values repeat within an incident's rows; memory stays flat
SHOWN = {"dmy": "d/m/yyyy", "mdy": "m/d/yyyy", "ymd": "yyyy-mm-dd"}
_BIT = {order: 1 << i for i, order in enumerate(ORDERS)}
ALL = sum(_BIT.values())

_VALUE = re.compile(
    r"(?P<a>[0-9]{1,4})(?P<sep>[/.-])(?P<b>[0-9]{1,2})(?P=sep)(?P<c>[0-9]{1,4})"
    r"(?:(?:[ T]+|,\s*)(?P<h>[0-9]{1,2}):(?P<mi>[0-9]{2})(?::(?P<s>[0-9]{2})(?:[.,][0-9]+)?)?"
    r"\s*(?P<ampm>[AaPp]\.?[Mm]\.?)?\s*(?P<tz>Z|[+-][0-9]{2}:?[0-9]{2})?)?\Z"
)


def parse_format(text: str) -> str:
    """``--date-format``: ``d/m/yyyy``, ``dd-mm-yyyy``, ``mm/dd/yyyy``, ``yyyy-mm-dd``,
    ``dmy``… → one of :data:`ORDERS` (the separator and a time part are ignored)."""
    head = text.strip().lower().split(" ")[0]
    letters = re.findall(r"d+|m+|y+", head)
    order = "".join(part[0] for part in letters)
    if order not in ORDERS or len(letters) != 3:
        raise OpsledgerError(
            f"--date-format {text!r}: use the order of day, month and year as the export "
            "writes it, e.g. d/m/yyyy, dd-mm-yyyy, m/d/yyyy or yyyy-mm-dd"
        )
    return order


@dataclass(frozen=True, slots=True)
class _Parts:
    a: int
    b: int
    c: int
    year_first: bool
    year_last: bool
    hour: int
    minute: int
    second: int
    offset: timedelta | None


@lru_cache(maxsize=CACHE)
def _parts(text: str) -> _Parts | str:
    """The pieces of a date-time value, or why it is not one."""
    match = _VALUE.match(text.strip())
    if match is None:
        return "is not a date and time"
    if match["h"] is None:
        return "has no time of day"
    hour, minute = int(match["h"]), int(match["mi"])
    if match["ampm"]:
        if not 1 <= hour <= 12:
            return "has an hour outside 1-12 before AM/PM"
        hour = hour % 12 + (12 if match["ampm"][0] in "Pp" else 0)
    offset = None
    if match["tz"]:
        tz = match["tz"]
        if tz == "Z":
            offset = timedelta(0)
        else:
            sign = -1 if tz[0] == "-" else 1
            digits = tz[1:].replace(":", "")
            hours, minutes = int(digits[:2]), int(digits[2:])
            if hours > 23 or minutes > 59:
                return f"has a timezone offset {tz} outside -23:59 to +23:59"
            offset = sign * timedelta(hours=hours, minutes=minutes)
    return _Parts(
        int(match["a"]),
        int(match["b"]),
        int(match["c"]),
        len(match["a"]) == 4,
        len(match["c"]) == 4,
        hour,
        minute,
        int(match["s"] or 0),
        offset,
    )


def _fields(parts: _Parts, order: str) -> tuple[int, int, int] | None:
    """(year, month, day) under ``order``, or None when the value cannot be in that order."""
    if order == "ymd":
        return (parts.a, parts.b, parts.c) if parts.year_first else None
    if not parts.year_last:
        return None
    if order == "dmy":
        return parts.c, parts.b, parts.a
    return parts.c, parts.a, parts.b


#: a local date on the first or last day of :data:`YEARS` may be another year in UTC (an
#: offset or a zone of up to a day): such a value is refused, as one outside them
_EDGES = ((YEARS[0], 1, 1), (YEARS[1], 12, 31))


def _valid(parts: _Parts, order: str) -> bool:
    fields = _fields(parts, order)
    if fields is None or not YEARS[0] <= fields[0] <= YEARS[1] or fields in _EDGES:
        return False
    try:
        datetime(*fields, parts.hour, parts.minute, parts.second)
    except ValueError:
        return False
    return True


@lru_cache(maxsize=CACHE)
def fits(text: str) -> int:
    """Bit mask of the orders under which ``text`` is a real date and time."""
    parts = _parts(text)
    if isinstance(parts, str):
        return 0
    return sum(_BIT[order] for order in ORDERS if _valid(parts, order))


def problem(text: str, order: str | None = None) -> str | None:
    """Why ``text`` is not a date and time (under ``order``, when given), or None."""
    parts = _parts(text)
    if isinstance(parts, str):
        return f"{text!r} {parts}"
    if fits(text) if order is None else _valid(parts, order):
        return None
    if not (parts.year_first or parts.year_last):
        return f"{text!r} has no four-digit year"
    found = [f for o in ((order,) if order else ORDERS) if (f := _fields(parts, o))]
    if found and not any(YEARS[0] <= f[0] <= YEARS[1] for f in found):
        return f"{text!r} has a year outside {YEARS[0]}-{YEARS[1]}"
    if found and all(f in _EDGES for f in found if YEARS[0] <= f[0] <= YEARS[1]):
        return (
            f"{text!r} is on the first or last day of {YEARS[0]}-{YEARS[1]}, which its time "
            "in UTC may fall outside"
        )
    if order is None:
        return f"{text!r} is not a real date and time"
    return f"{text!r} is not a date in the {SHOWN[order]} format"


def has_offset(text: str) -> bool:
    parts = _parts(text)
    return not isinstance(parts, str) and parts.offset is not None


def local_year(text: str, order: str) -> int:
    """The year as the export writes it (the instance's local year)."""
    parts = _parts(text)
    fields = None if isinstance(parts, str) else _fields(parts, order)
    if fields is None:
        raise ValueError(f"{text!r} is not a date in the {SHOWN[order]} format")
    return fields[0]


class NoSuchTime(ValueError):
    """A local time that does not exist in the timezone (the clocks went forward past it)."""


@lru_cache(maxsize=CACHE)
def to_utc(text: str, order: str, zone: tzinfo | None) -> datetime:
    """The instant ``text`` names (aware, UTC). ValueError if it is not a date under
    ``order``, or if it has no offset and no ``zone`` is given."""
    parts = _parts(text)
    if isinstance(parts, str):
        raise ValueError(f"{text!r} {parts}")
    fields = _fields(parts, order)
    if fields is None:
        raise ValueError(f"{text!r} is not a date in the {SHOWN[order]} format")
    if parts.offset is not None:
        where: tzinfo = timezone(parts.offset)
    elif zone is not None:
        where = zone
    else:
        raise ValueError(f"{text!r} has no timezone and none was given")
    local = datetime(*fields, parts.hour, parts.minute, parts.second, tzinfo=where)
    moment = local.astimezone(UTC)
    if parts.offset is None and moment.astimezone(where).replace(tzinfo=None) != local.replace(
        tzinfo=None
    ):
        raise NoSuchTime(
            f"{text[:40]!r} does not exist in {where} (the clocks went forward past it); "
            "correct the row, or check --timezone"
        )
    return moment


@dataclass
class Detector:
    """Collects every date value of a file and decides its format at the end."""

    given: str | None = None
    possible: int = ALL
    #: order -> the first (line, value) that rules it out
    ruled_out: dict[str, tuple[int, str]] = field(default_factory=dict)
    example: tuple[int, str] | None = None
    naive: tuple[int, str] | None = None
    values: int = 0

    def check(self, text: str, line: int) -> str | None:
        """Note one value; return why it is not a date and time (the row is then skipped)."""
        why = problem(text, self.given)
        if why is not None:
            return why
        self.values += 1
        if self.naive is None and not has_offset(text):
            self.naive = (line, text)
        if self.given is not None:
            return None
        mask = fits(text)
        if self.possible & ~mask:
            for order in ORDERS:
                if self.possible & _BIT[order] and not mask & _BIT[order]:
                    self.ruled_out.setdefault(order, (line, text))
            self.possible &= mask
        if self.example is None and mask & _BIT["dmy"] and mask & _BIT["mdy"]:
            self.example = (line, text)
        return None

    def decide(self, where: str) -> str:
        """The file's order; :class:`OpsledgerError` when it is ambiguous or inconsistent."""
        if self.given is not None:
            return self.given
        left = [order for order in ORDERS if self.possible & _BIT[order]]
        if len(left) == 1:
            return left[0]
        if not left:
            clashes = sorted(set(self.ruled_out.values()))[:2]
            shown = " and ".join(f"line {line} has {value!r}" for line, value in clashes)
            raise OpsledgerError(
                f"{where}: dates are written in more than one format ({shown}); export the "
                "file again with one date format, or pass --date-format to read that one "
                "(rows in the other format are then reported and skipped)"
            )
        if self.values == 0:
            return "dmy"  # no dates at all: every row has already been reported
        line, value = self.example or (0, "")
        raise OpsledgerError(
            f"{where}: the date format is ambiguous: every date fits both d/m/yyyy and "
            f"m/d/yyyy (no day is over 12; e.g. {value!r} on line {line}); pass "
            "--date-format d/m/yyyy or --date-format m/d/yyyy as your ServiceNow instance "
            "writes dates"
        )
