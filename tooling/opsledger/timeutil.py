"""Timestamps, dates, durations, periods and time zones, parsed strictly in one place.

Timestamps must carry an explicit offset and are converted to UTC at once, so every
later subtraction measures real elapsed time (a daylight-saving change never distorts a
duration). The same parsers back the schemas' ``date-time``/``date`` formats, so a value
the schema accepts is a value the model can use.

Valid ranges (documented in the README and the schemas):

* timestamps, dates, ``--as-of`` and report periods lie in the years 1900 to 2999
  (:data:`YEARS`, the range the importer already accepts); anything else is a typo, and
  year 1 or 9999 would overflow once converted to UTC or moved by a day;
* durations (``15m``, ``4h``, ``2d``, ``1w``) run from zero to ten years
  (:data:`MAX_DURATION`, 3650 days). The grammar is :data:`DURATION_PATTERN`: the parser
  matches it, and the schemas' ``duration`` pattern is the same text, so the schema and
  the tool accept exactly the same durations;
* calendar durations add calendar months (``1mo``, up to ``120mo``) to those, for the
  fields that say so (a regulatory stage's ``within``): :func:`parse_calendar_duration`,
  grammar :data:`CALENDAR_DURATION_PATTERN`, schema ``calendar_duration``. A month is
  added in UTC and clamped to the month's end at the same time of day (``1mo`` after
  31 January is the last day of February; after 31 March, 30 April). A field that only
  takes fixed durations refuses ``mo`` with a message saying so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.relativedelta import relativedelta

YEARS = (1900, 2999)
MAX_DURATION = timedelta(days=3650)
DURATION_UNITS = {
    "m": timedelta(minutes=1),
    "h": timedelta(hours=1),
    "d": timedelta(days=1),
    "w": timedelta(weeks=1),
}


def _up_to(limit: int) -> str:
    """Regex alternatives matching exactly the decimal numbers 0..``limit`` (ASCII digits)."""
    digits = str(limit)
    shorter = (
        "[0-9]" if n == 1 else "[1-9][0-9]" + (f"{{{n - 1}}}" if n > 2 else "")
        for n in range(1, len(digits))
    )
    alternatives = list(shorter)
    for i, char in enumerate(digits):
        low, high = (1 if i == 0 and len(digits) > 1 else 0), int(char) - 1
        if high < low:
            continue
        rest = len(digits) - i - 1
        tail = "" if rest == 0 else "[0-9]" if rest == 1 else f"[0-9]{{{rest}}}"
        digit = str(low) if high == low else f"[{low}-{high}]"
        alternatives.append(digits[:i] + digit + tail)
    alternatives.append(digits)
    return "|".join(alternatives)


#: The one duration grammar: a count of one unit, at most :data:`MAX_DURATION` (leading
#: zeros allowed). The schemas' ``duration`` pattern is ``^`` + this + ``(?![\s\S])``.
DURATION_PATTERN = (
    "0*(?:"
    + "|".join(f"(?:{_up_to(MAX_DURATION // size)}){unit}" for unit, size in DURATION_UNITS.items())
    + ")"
)
DURATION_HELP = "a duration like 15m, 4h, 2d or 1w, from 0m up to ten years (3650d, 521w)"
_DURATION = re.compile(DURATION_PATTERN)
#: the largest count of calendar months (ten years, like :data:`MAX_DURATION`)
MAX_MONTHS = 120
#: A fixed duration or a count of calendar months (``1mo``). The schemas'
#: ``calendar_duration`` pattern is ``^`` + this + ``(?![\s\S])``.
CALENDAR_DURATION_PATTERN = f"(?:0*(?:{_up_to(MAX_MONTHS)})mo|{DURATION_PATTERN})"
CALENDAR_DURATION_HELP = (
    "a duration like 4h, 2d, 1w or 1mo (calendar months), from 0m up to ten years (120mo)"
)
_CALENDAR_DURATION = re.compile(CALENDAR_DURATION_PATTERN)
_MONTHS = re.compile(r"[0-9]+mo")

_TIMESTAMP = re.compile(
    r"(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})T(?P<time>[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?)"
    r"(?P<offset>Z|[+-][0-9]{2}:[0-9]{2})\Z"
)
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
_WEEK = re.compile(r"(?P<year>[0-9]{4})-W(?P<week>[0-9]{2})\Z")
_MONTH = re.compile(r"(?P<year>[0-9]{4})-(?P<month>[0-9]{2})\Z")


def check_year(year: int) -> None:
    """ValueError unless ``year`` is in the supported range :data:`YEARS`."""
    if not YEARS[0] <= year <= YEARS[1]:
        raise ValueError(f"year {year:04d} is outside the supported range {YEARS[0]}-{YEARS[1]}")


def parse_timestamp(text: str) -> datetime:
    """``2026-03-04T09:12:00Z`` or ``…+01:00`` → aware UTC datetime; ValueError otherwise."""
    if not isinstance(text, str):
        raise ValueError("a timestamp must be a string like 2026-03-04T09:12:00Z")
    return _timestamp(text)


#: Each timestamp of a record is read twice in a row, by its schema's format check and by
#: the typed record (and again in each version of its history): the last few thousand are
#: kept (a datetime is immutable; a string that is not a timestamp raises each time).
@lru_cache(maxsize=4096)
def _timestamp(text: str) -> datetime:
    match = _TIMESTAMP.match(text)
    if match is None:
        if re.match(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9:.]+\Z", text):
            raise ValueError(
                "timestamp has no offset: add Z (UTC) or an offset such as +01:00; "
                "naive times are never assumed to be UTC"
            )
        raise ValueError("expected a timestamp like 2026-03-04T09:12:00Z")
    offset = match["offset"]
    iso = f"{match['date']}T{match['time']}{'+00:00' if offset == 'Z' else offset}"
    try:
        value = datetime.fromisoformat(iso)
    except ValueError as exc:
        raise ValueError(f"not a real date and time ({exc})") from None
    check_year(value.year)
    moment = value.astimezone(UTC)
    if not _FIRST_DAY < moment.date() < _LAST_DAY:
        raise ValueError(
            f"year {moment.year:04d} in UTC is outside the supported range {YEARS[0]}-"
            f"{YEARS[1]}, or on its first or last day, which another timezone may put outside it"
        )
    return moment


#: the first and last day of :data:`YEARS`: a moment on them (in UTC) may be another year
#: in the policy's timezone (a day, a period, a calendar outside the range), so none is
#: taken, as the importer takes no local time on them
_FIRST_DAY, _LAST_DAY = date(YEARS[0], 1, 1), date(YEARS[1], 12, 31)


def parse_date(text: str) -> date:
    """``YYYY-MM-DD`` → date; ValueError otherwise (``2026-02-30`` included)."""
    if not isinstance(text, str) or not _DATE.match(text):
        raise ValueError("expected a date like 2026-03-04")
    try:
        value = date.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"not a real date ({exc})") from None
    check_year(value.year)
    return value


def parse_duration(text: str) -> timedelta:
    """``15m``, ``4h``, ``2d``, ``1w`` (0 to ten years) → timedelta; ValueError otherwise."""
    if isinstance(text, str) and _MONTHS.fullmatch(text):
        raise ValueError(
            "calendar months (mo) are not a fixed length; this field takes a fixed "
            "duration: write it in m, h, d or w"
        )
    if not isinstance(text, str) or _DURATION.fullmatch(text) is None:
        raise ValueError(f"expected {DURATION_HELP}")
    return int(text[:-1]) * DURATION_UNITS[text[-1]]


@dataclass(frozen=True)
class CalendarDuration:
    """A count of calendar months plus a fixed duration (one of them is zero when parsed)."""

    months: int = 0
    fixed: timedelta = timedelta(0)

    def after(self, moment: datetime) -> datetime:
        """``moment`` moved on by this duration, in UTC: months are calendar months,
        clamped to the last day of a shorter month at the same time of day."""
        utc = moment.astimezone(UTC)
        return utc + relativedelta(months=self.months) + self.fixed

    def __str__(self) -> str:
        if self.months:
            return f"{self.months}mo"
        return format_allowance(self.fixed)


def parse_calendar_duration(text: str) -> CalendarDuration:
    """``4h``, ``2d``, ``1w`` or ``1mo`` → :class:`CalendarDuration`; ValueError otherwise."""
    if not isinstance(text, str) or _CALENDAR_DURATION.fullmatch(text) is None:
        raise ValueError(f"expected {CALENDAR_DURATION_HELP}")
    if text.endswith("mo"):
        return CalendarDuration(months=int(text[:-2]))
    return CalendarDuration(fixed=parse_duration(text))


def parse_week(text: str) -> tuple[date, date]:
    """An ISO week ``2026-W10`` → (its Monday, the next Monday); ValueError otherwise."""
    match = _WEEK.match(text)
    if match is None:
        raise ValueError("write an ISO week like 2026-W10")
    check_year(int(match["year"]))
    try:
        start = date.fromisocalendar(int(match["year"]), int(match["week"]), 1)
    except ValueError:
        raise ValueError("no such ISO week") from None
    return start, start + timedelta(days=7)


def parse_month(text: str) -> tuple[date, date]:
    """A month ``2026-03`` → (its first day, the first day of the next month)."""
    match = _MONTH.match(text)
    if match is None or not 1 <= int(match["month"]) <= 12:
        raise ValueError("write a month like 2026-03")
    check_year(int(match["year"]))
    start = date(int(match["year"]), int(match["month"]), 1)
    return start, date(start.year + (start.month == 12), start.month % 12 + 1, 1)


#: names the zone database of a machine holds that are no IANA zone: the machine's own
#: setting (``localtime`` links to it), the default rules of POSIX TZ strings; the
#: ``posix/`` and ``right/`` trees are copies with other leap-second handling
_HOST_ZONES = frozenset({"localtime", "posixrules"})


#: the longest time zone name looked up (IANA's longest has 32 characters)
ZONE_NAME_MAX = 64


def load_zone(name: object) -> ZoneInfo:
    """An IANA time zone by name (``Europe/London``); ValueError for anything else.

    A folder of the zone database (``America``), a path, an empty name or a file that is
    not a zone are refused with the same message, never an OS error; so are the files
    of a machine's zone database that are no IANA zone (``localtime``: whatever zone
    the machine is set to).
    """
    hint = "use an IANA name such as Europe/London"
    if not isinstance(name, str) or not name or name.startswith("/") or ".." in name:
        raise ValueError(f"unknown timezone {name!r}; {hint}")
    if len(name) > ZONE_NAME_MAX or name.count("/") > 3:
        # no IANA name comes near (the longest: 32 characters, three parts); Python's
        # fallback lookup of a name in the tzdata package recurses once per part
        raise ValueError(f"unknown timezone {name[: ZONE_NAME_MAX - 1] + '…'!r}; {hint}")
    if name in _HOST_ZONES or name.startswith(("posix/", "right/")):
        raise ValueError(
            f"timezone {name!r} is a file of this machine's zone database, not an IANA zone "
            f"(what it means depends on the machine that runs the tool); {hint}"
        )
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError, RecursionError):
        raise ValueError(f"unknown timezone {name!r}; {hint}") from None


def format_timestamp(value: datetime) -> str:
    """Aware datetime → ``2026-03-04T09:12:00Z`` (UTC)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def is_timestamp(text: object) -> bool:
    try:
        parse_timestamp(text)  # type: ignore[arg-type]
    except ValueError:
        return False
    return True


def is_date(text: object) -> bool:
    try:
        parse_date(text)  # type: ignore[arg-type]
    except ValueError:
        return False
    return True


def format_duration(value: timedelta) -> str:
    """A readable duration: ``7m``, ``1h 05m``, ``2d 3h``; negative durations get a minus."""
    total = int(value.total_seconds())
    sign = "-" if total < 0 else ""
    total = abs(total)
    d, rest = divmod(total, 86400)
    h, rest = divmod(rest, 3600)
    m, s = divmod(rest, 60)
    if d:
        return f"{sign}{d}d {h}h" if h else f"{sign}{d}d"
    if h:
        return f"{sign}{h}h {m:02d}m"
    if m:
        return f"{sign}{m}m"
    return f"{sign}{s}s"


def format_allowance(value: timedelta) -> str:
    """A policy allowance as a policy writes it: ``4h``, ``72h``, ``1w``, ``90m``."""
    seconds = int(value.total_seconds())
    for unit, size in (("w", 604800), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0 and (unit != "w" or seconds // size < 10):
            return f"{seconds // size}{unit}"
    return format_duration(value)


def as_of_moment(text: str | None, zone: tzinfo) -> datetime:
    """``--as-of``: a timestamp with offset, or a date meaning the end of that local day.

    Without it, the current time (UTC, whole seconds).
    """
    if text is None:
        return datetime.now(UTC).replace(microsecond=0)
    from opsledger.errors import OpsledgerError

    try:
        if _DATE.match(text):
            day = parse_date(text)
            end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
            return (end - timedelta(seconds=1)).astimezone(UTC)
        return parse_timestamp(text)
    except ValueError as exc:
        raise OpsledgerError(f"--as-of {text!r}: {exc}") from None
