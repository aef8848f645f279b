"""Timestamps, dates and durations, parsed strictly.

Timestamps must carry an explicit offset and are converted to UTC at once, so every
later subtraction measures real elapsed time (a daylight-saving change never distorts a
duration). The same parsers back the schemas' ``date-time``/``date`` formats, so a value
the schema accepts is a value the model can use.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo

_TIMESTAMP = re.compile(
    r"(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})T(?P<time>[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?)"
    r"(?P<offset>Z|[+-][0-9]{2}:[0-9]{2})\Z"
)
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
_DURATION = re.compile(r"(?P<n>[0-9]{1,6})(?P<unit>[mhdw])\Z")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_timestamp(text: str) -> datetime:
    """``2026-03-04T09:12:00Z`` or ``…+01:00`` → aware UTC datetime; ValueError otherwise."""
    if not isinstance(text, str):
        raise ValueError("a timestamp must be a string like 2026-03-04T09:12:00Z")
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
    return value.astimezone(UTC)


def parse_date(text: str) -> date:
    """``YYYY-MM-DD`` → date; ValueError otherwise (``2026-02-30`` included)."""
    if not isinstance(text, str) or not _DATE.match(text):
        raise ValueError("expected a date like 2026-03-04")
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"not a real date ({exc})") from None


def parse_duration(text: str) -> timedelta:
    """``15m``, ``4h``, ``2d``, ``1w`` → timedelta; ValueError otherwise."""
    match = _DURATION.match(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError("expected a duration like 15m, 4h, 2d or 1w")
    return timedelta(**{_UNITS[match["unit"]]: int(match["n"])})


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
