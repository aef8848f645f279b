"""Tolerant field readers: typed values from possibly invalid data.

A record that fails its schema is still turned into a typed record so that every rule
that can run on it does; a value of the wrong type reads as ``None`` (the schema check has
already reported it).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from opsledger.timeutil import parse_date, parse_duration, parse_timestamp


def text(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) else None


def timestamp(data: Mapping[str, Any], key: str) -> datetime | None:
    value = data.get(key)
    try:
        return parse_timestamp(value) if isinstance(value, str) else None
    except ValueError:
        return None


def day(data: Mapping[str, Any], key: str) -> date | None:
    value = data.get(key)
    try:
        return parse_date(value) if isinstance(value, str) else None
    except ValueError:
        return None


def duration(data: Mapping[str, Any], key: str) -> timedelta | None:
    value = data.get(key)
    try:
        return parse_duration(value) if isinstance(value, str) else None
    except ValueError:
        return None


def flag(data: Mapping[str, Any], key: str) -> bool | None:
    value = data.get(key)
    return value if isinstance(value, bool) else None


def mapping(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def mappings(data: Mapping[str, Any], key: str) -> list[tuple[int, Mapping[str, Any]]]:
    """The mappings of a list field, with their index (for positions)."""
    value = data.get(key)
    if not isinstance(value, list):
        return []
    return [(i, item) for i, item in enumerate(value) if isinstance(item, dict)]


def strings(data: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = data.get(key)
    if not isinstance(value, list):
        return ()
    return tuple(item for item in value if isinstance(item, str))
