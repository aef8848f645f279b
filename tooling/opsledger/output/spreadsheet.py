"""CSV that a spreadsheet opens as data: the one way opsledger writes CSV.

Every cell a string, header cells included, goes through :func:`cell`:

* a cell starting with ``=``, ``+``, ``-``, ``@``, a tab, a carriage return or a line feed
  (or their full-width forms U+FF1D, U+FF0B, U+FF0D, U+FF20, which some spreadsheets also
  read as formula signs) is prefixed with ``'``, so Excel, LibreOffice and Google Sheets
  show it as text and never run it as a formula (OWASP "CSV Injection");
* control and invisible characters become visible escapes and no line of the cell can
  start a CI command (:func:`opsledger.neutral.lines`): a CSV printed to a CI log or a
  terminal is inert too. Line feeds inside a cell are kept (the CSV quotes them).

Numbers (``int``/``float``) stay numbers: ``-3.5`` is a value, not a formula.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from functools import lru_cache
from itertools import chain
from pathlib import Path

from opsledger.neutral import lines

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def cell(value: object) -> str | int | float:
    """A CSV cell that a spreadsheet shows as text, never runs as a formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        return value
    text = value if isinstance(value, str) else str(value)
    return _short(text) if len(text) <= 120 else _text(text)


@lru_cache(maxsize=1 << 16)
def _short(text: str) -> str:
    """A short cell (a status, a name, a time: the same values again and again)."""
    return _text(text)


def _text(text: str) -> str:
    shown = lines(text.replace("\r\n", "\n"))
    return "'" + shown if shown.startswith(FORMULA_START) else shown


def csv_text(
    header: Sequence[object], rows: Iterable[Sequence[object]], *, lineterminator: str = "\r\n"
) -> str:
    """The whole CSV: the header row and every row (:func:`csv_line`)."""
    return "".join(csv_line(row, lineterminator=lineterminator) for row in chain([header], rows))


def csv_line(row: Sequence[object], *, lineterminator: str = "\r\n") -> str:
    """One row of CSV, each cell through :func:`cell` (a CSV row is written alone:
    nothing carries from one row to the next, so rows made apart join into the table)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator=lineterminator).writerow([cell(value) for value in row])
    return buffer.getvalue()


def write_csv(target: Path, header: Sequence[object], rows: Iterable[Sequence[object]]) -> None:
    """Write :func:`csv_text` to ``target`` as UTF-8."""
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(csv_text(header, rows).encode("utf-8", "backslashreplace"))
