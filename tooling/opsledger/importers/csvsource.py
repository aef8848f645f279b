"""Reading a CSV export as a stream of rows, each with the line it starts on.

The file is read as bytes line by line (so a wrong encoding is reported with its line),
decoded, and fed to :mod:`csv` (comma-separated, or whichever of ``;``, tab or ``|`` the
header uses most), which joins quoted fields that span lines. Every row keeps
its first physical line number, so any problem can name ``FILE:LINE``. Nothing is held
beyond the current row.

Header names are normalised (case, spaces) and the labels of a ServiceNow list export
("Opened", "Assignment group"…) are accepted as well as field names (``opened_at``…).
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from opsledger.errors import OpsledgerError

#: the fields the importer reads; any other column is ignored
FIELDS = (
    "number",
    "state",
    "opened_at",
    "sys_updated_at",
    "sys_mod_count",
    "reopen_count",
    "reopened_time",
    "priority",
    "impact",
    "urgency",
    "short_description",
    "category",
    "subcategory",
    "u_symptom",
    "contact_type",
    "cmdb_ci",
    "assignment_group",
    "assigned_to",
    "close_code",
    "close_notes",
    "resolved_at",
    "closed_at",
    "sys_created_at",
    "rfc",
    "caused_by",
    "problem_id",
)

#: alternative header names -> field (after lower-casing and spaces to underscores)
ALIASES = {
    "incident_state": "state",
    "opened": "opened_at",
    "updated": "sys_updated_at",
    "updates": "sys_mod_count",
    "created": "sys_created_at",
    "resolved": "resolved_at",
    "closed": "closed_at",
    "configuration_item": "cmdb_ci",
    "channel": "contact_type",
    "resolution_code": "close_code",
    "closed_code": "close_code",
    "resolution_notes": "close_notes",
    "close_notes": "close_notes",
    "change_request": "rfc",
    "caused_by_change": "caused_by",
    "reopened": "reopened_time",
    "last_reopened_at": "reopened_time",
    "symptom": "u_symptom",
}

#: a file re-saved by a spreadsheet in some locales separates fields with ';' or tabs
DELIMITERS = (",", ";", "\t", "|")
EMPTY = frozenset({"", "?", "NULL", "null", "(empty)"})

csv.field_size_limit(4 * 1024 * 1024)


def normalise(name: str) -> str:
    key = "_".join(name.strip().lower().replace("-", " ").split())
    return ALIASES.get(key, key)


@dataclass(frozen=True)
class Columns:
    """Where each known field sits in a row (absent fields are ``None``)."""

    width: int
    index: dict[str, int]

    @classmethod
    def from_header(cls, header: list[str], where: str) -> Columns:
        index: dict[str, int] = {}
        for position, name in enumerate(header):
            field = normalise(name)
            if field in FIELDS and field not in index:
                index[field] = position
        missing = [f for f in ("number", "state", "opened_at", "priority") if f not in index]
        if missing:
            shown = ", ".join("incident_state (or state)" if f == "state" else f for f in missing)
            raise OpsledgerError(
                f"{where}: not a ServiceNow incident export: no {shown} column "
                f"(the header has {len(header)} columns: {_clip(', '.join(header))})"
            )
        return cls(len(header), index)

    def has(self, field: str) -> bool:
        return field in self.index

    def getter(self, field: str) -> Callable[[list[str]], str]:
        """A function returning the field's cleaned value in a row ('' when empty or absent)."""
        position = self.index.get(field)
        if position is None:
            return lambda row: ""

        def get(row: list[str]) -> str:
            value = row[position].strip()
            return "" if value in EMPTY else value

        return get


def _clip(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass
class Source:
    """One pass over an export: header, then rows with their starting line numbers."""

    path: Path
    encoding: str = "utf-8"
    progress: Callable[[int, int], None] | None = None

    def __post_init__(self) -> None:
        self.digest = ""
        self.size = 0

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """``(line, fields)`` for each non-blank row after the header (line of the header
        is 1). Raises :class:`OpsledgerError` for an unreadable file."""
        try:
            handle = self.path.open("rb")
        except OSError as exc:
            raise OpsledgerError(f"{self.path}: cannot read: {exc.strerror}") from None
        with handle:
            self.size = self.path.stat().st_size
            yield from self._rows(handle)

    def _rows(self, handle: BinaryIO) -> Iterator[tuple[int, list[str]]]:
        digest = hashlib.sha256()
        done = 0
        line_no = 0
        decoder = codecs.getincrementaldecoder(self.encoding)()

        def lines() -> Iterator[str]:
            nonlocal done, line_no
            for raw in handle:
                line_no += 1
                digest.update(raw)
                done += len(raw)
                if line_no == 1 and raw.startswith(codecs.BOM_UTF8):
                    raw = raw[len(codecs.BOM_UTF8) :]
                try:
                    text: str = decoder.decode(raw)
                except UnicodeDecodeError as exc:
                    raise OpsledgerError(
                        f"{self.path}:{line_no}: not valid {self.encoding} "
                        f"(byte 0x{raw[exc.start]:02X} at column {exc.start + 1}); "
                        "export the file as UTF-8 or pass --encoding"
                    ) from None
                except UnicodeError as exc:  # a decoder's own refusal (no byte-order mark)
                    raise OpsledgerError(
                        f"{self.path}:{line_no}: not valid {self.encoding} ({exc}); "
                        "export the file as UTF-8 or pass --encoding"
                    ) from None
                if "\x00" in text:
                    raise OpsledgerError(
                        f"{self.path}:{line_no}: contains NUL bytes; this is not a CSV text file"
                    )
                yield text

        stream = lines()
        head = next(stream, None)
        if head is None:
            raise OpsledgerError(f"{self.path}: the file is empty")
        delimiter = max(DELIMITERS, key=head.count)  # ties (none found): a comma
        reader = csv.reader(itertools.chain([head], stream), delimiter=delimiter, strict=True)
        header_seen = False
        start = 1
        try:
            for fields in reader:
                if not header_seen:
                    header_seen = True
                    start = line_no + 1
                    yield 1, fields
                    continue
                first, start = start, line_no + 1
                if not fields or (len(fields) == 1 and not fields[0].strip()):
                    continue
                if self.progress is not None and reader.line_num % 2048 == 0:
                    self.progress(done, self.size)
                yield first, fields
        except csv.Error as exc:
            if "new-line character seen in unquoted field" in str(exc):
                # Python's words for a line ending in a bare carriage return
                raise OpsledgerError(
                    f"{self.path}:{start}: a line ends with a carriage return alone (an old Mac "
                    "export); save the file with LF or CRLF line endings and import again"
                ) from None
            raise OpsledgerError(
                f"{self.path}:{start}: CSV error: {exc}; the rest of the file cannot be read"
            ) from None
        self.digest = digest.hexdigest()
        if self.progress is not None:
            self.progress(self.size, self.size)
