"""Positions of a cached parse stay packed until one is asked for (a record of 10^5 holds
its positions only when a finding needs them), and every position read from the cache is
the one a fresh parse gives: values, keys, the fallback to the nearest ancestor, the
Markdown body, on the first run (what ``put`` hands back) and the next (``get``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsledger.loading import Document, Limits, LoadError, load_bytes
from opsledger.parsecache import ParseCache, Positions, digest

from conftest import RUNBOOK

INCIDENT = b"""\
id: INC-2026-0001
title: Orders database connection pool exhausted
priority: P3
status: resolved
service: orders-db
detected_at: 2026-03-04T09:12:00Z
timeline:
  - at: 2026-03-04T09:12:00Z
    event: Alert fired.
  - at: 2026-03-04T09:30:00Z
    event: "Pool raised: 40 -> 80."
"""


def _cache(tmp_path: Path) -> ParseCache:
    return ParseCache(tmp_path / "records.bin", b"k" * 32, Limits())


def _every_path(doc: Document) -> list[tuple[str | int, ...]]:
    paths = list(dict(doc.values.items())) + list(dict(doc.keys.items()))
    return [*paths, ("timeline", 7, "at"), ("no", "such"), ()]


@pytest.mark.parametrize("raw", [INCIDENT, RUNBOOK.encode()], ids=["yaml", "markdown"])
def test_cached_positions_are_the_fresh_ones(tmp_path: Path, raw: bytes) -> None:
    markdown = raw.startswith(b"---")
    fresh = load_bytes(raw, markdown=markdown)
    content = digest(raw, markdown=markdown)
    cache = _cache(tmp_path)
    first = cache.put(content, load_bytes(raw, markdown=markdown))
    cache.save()
    again = _cache(tmp_path).get(content)
    for doc in (first, again):
        assert isinstance(doc, Document)
        assert doc.data == fresh.data and doc.body == fresh.body
        assert doc.body_line == fresh.body_line
        for path in _every_path(fresh):
            assert doc.position(path) == fresh.position(path), path
            assert doc.position(path, key=True) == fresh.position(path, key=True), path
        assert doc.values == fresh.values and doc.keys == fresh.keys
        assert dict(doc.values.items()) == fresh.values


def test_positions_stay_packed_until_one_not_at_hand_is_asked(tmp_path: Path) -> None:
    content = digest(INCIDENT, markdown=False)
    cache = _cache(tmp_path)
    cache.put(content, load_bytes(INCIDENT, markdown=False))
    cache.save()
    doc = _cache(tmp_path).get(content)
    assert isinstance(doc, Document) and isinstance(doc.values, Positions)
    fresh = load_bytes(INCIDENT, markdown=False)
    assert doc.position(("id",)) == fresh.position(("id",)) == (1, 5)
    assert doc.values._packed is not None  # the id (every load reads it) is at hand
    assert doc.position(("timeline", 1, "event")) == fresh.position(("timeline", 1, "event"))
    assert doc.values._packed is None
    assert doc.keys._packed is not None  # key positions unpack on their own first miss
    assert doc.position(("title",), key=True) == fresh.position(("title",), key=True)
    assert doc.keys._packed is None


def test_a_cached_load_error_is_the_fresh_one(tmp_path: Path) -> None:
    raw = b"id: INC-2026-0002\ntitle: [unclosed\n"
    with pytest.raises(LoadError) as fresh:
        load_bytes(raw, markdown=False)
    content = digest(raw, markdown=False)
    cache = _cache(tmp_path)
    first = cache.put(content, fresh.value)
    cache.save()
    again = _cache(tmp_path).get(content)
    for error in (first, again):
        assert isinstance(error, LoadError)
        assert (error.message, error.line, error.column, error.hint) == (
            fresh.value.message,
            fresh.value.line,
            fresh.value.column,
            fresh.value.hint,
        )
