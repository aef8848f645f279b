"""Reading policy values strictly, and refusing a policy the tool cannot honour.

The policy schema already constrains every value, but a repository's ``schemas/`` may be an
older copy (an unbounded duration pattern, say), and some promises cannot be written as a
schema: a freeze window must end after it starts (a reversed one would freeze nothing,
silently), and a calendar needs business days (every business-day deadline counts them).
Either way the answer is a configuration error naming ``policy.yaml:line:column``, never a
silent default (``0m`` is zero, not "unset") and never a crash.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, NoReturn
from zoneinfo import ZoneInfo

from opsledger.errors import ConfigError
from opsledger.loading import Document
from opsledger.timeutil import (
    CalendarDuration,
    load_zone,
    parse_calendar_duration,
    parse_date,
    parse_duration,
    parse_timestamp,
)

if TYPE_CHECKING:
    from opsledger.model.policy import Policy

Path = tuple[str | int, ...]
_MISSING = object()


class PolicyReader:
    """Typed values of ``policy.yaml``; a value the tool cannot use is a ConfigError."""

    def __init__(self, doc: Document, file: str = "policy.yaml") -> None:
        self.doc = doc
        self.file = file

    def fail(self, path: Path, message: str) -> NoReturn:
        line, column = self.doc.position(path)
        raise ConfigError(f"{self.file}:{line}:{column}: {message}")

    def get(self, path: Path) -> Any:
        node: Any = self.doc.data
        for key in path:
            found = (isinstance(node, dict) and key in node) or (
                isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node)
            )
            if not found:
                return _MISSING
            node = node[key]
        return node

    def _parse(self, path: Path, parse: Any, what: str) -> Any:
        value = self.get(path)
        if value is _MISSING or value is None:
            return None
        if not isinstance(value, str):
            self.fail(path, f"{'.'.join(map(str, path))} must be {what}, not {value!r}")
        try:
            return parse(value)
        except ValueError as exc:
            self.fail(path, f"{'.'.join(map(str, path))}: {value[:40]!r}: {exc}")

    def duration(self, path: Path) -> timedelta | None:
        value: timedelta | None = self._parse(path, parse_duration, "a duration like 4h")
        return value

    def required_duration(self, path: Path) -> timedelta:
        value = self.duration(path)
        if value is None:
            self.fail(path, f"{'.'.join(map(str, path))} is required (a duration like 4h)")
        return value

    def calendar_duration(self, path: Path) -> CalendarDuration | None:
        """A fixed duration or calendar months (``1mo``), for the fields that take months."""
        value: CalendarDuration | None = self._parse(
            path, parse_calendar_duration, "a duration like 4h or 1mo"
        )
        return value

    def timestamp(self, path: Path) -> datetime:
        value: datetime | None = self._parse(path, parse_timestamp, "a timestamp")
        if value is None:
            self.fail(path, f"{'.'.join(map(str, path))} is required (a timestamp)")
        return value

    def day(self, path: Path) -> date | None:
        value: date | None = self._parse(path, parse_date, "a date like 2026-03-04")
        return value

    def required_day(self, path: Path) -> date:
        value = self.day(path)
        if value is None:
            self.fail(path, f"{'.'.join(map(str, path))} is required (a date like 2026-03-04)")
        return value

    def zone(self, path: Path) -> ZoneInfo:
        try:
            return load_zone(self.get(path))
        except ValueError as exc:
            self.fail(path, str(exc))


def check_honourable(policy: Policy, read: PolicyReader) -> None:
    """Refuse promises the tool could only break silently (ConfigError at the value).

    (A reversed freeze window is refused where the windows are read.)
    """
    if not policy.business_days:
        read.fail(("business_days",), "business_days is empty: no deadline could ever be met")


def freeze_span(read: PolicyReader, index: int) -> tuple[datetime, datetime]:
    """Start and end of ``freeze_windows[index]``; the end must come after the start."""
    start = read.timestamp(("freeze_windows", index, "start"))
    end = read.timestamp(("freeze_windows", index, "end"))
    if end <= start:
        read.fail(
            ("freeze_windows", index, "end"),
            "freeze window ends at or before its start: it would freeze nothing "
            "(swap start and end?)",
        )
    return start, end
