"""The record cache: hits on unchanged bytes, never wrong when anything changes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from opsledger.cache import cache_dir
from opsledger.model.ledger import load_ledger

from conftest import INCIDENT, Repo


def problems(repo: Repo, **kwargs: bool) -> list[tuple[str, int, int, str, str]]:
    ledger = load_ledger(repo.root, **kwargs)
    return [(p.path, p.line, p.column, p.rule, p.message) for p in ledger.problems]


def cache_file() -> Path:
    (path,) = cache_dir().glob("records-*.json")
    return path


def test_second_load_is_served_from_the_cache_and_identical(repo: Repo) -> None:
    repo.write("records/incidents/INC-2026-0001.yaml", INCIDENT)
    repo.write("records/incidents/INC-2026-0002.yaml", INCIDENT.replace("P3", "P7"))
    repo.write("records/incidents/INC-2026-0003.yaml", "id: [\n")
    fresh = problems(repo, use_cache=False)
    assert not list(cache_dir().glob("records-*.json"))
    assert problems(repo) == fresh
    entries = json.loads(cache_file().read_text())["entries"]
    assert len(entries) == 3
    assert problems(repo) == fresh
    ledger = load_ledger(repo.root)
    assert ledger.incidents["INC-2026-0001"].detected_at is not None
    assert ledger.incidents["INC-2026-0001"].position("priority") == (3, 11)


def test_a_changed_byte_is_a_miss(repo: Repo) -> None:
    path = repo.write("records/incidents/INC-2026-0001.yaml", INCIDENT)
    assert problems(repo) == []
    path.write_text(INCIDENT.replace("P3", "P9"))
    assert [p[4] for p in problems(repo)] == ["must be one of P1, P2, P3, P4 (got 'P9')"]


def test_a_changed_schema_invalidates_everything(repo: Repo) -> None:
    repo.write("records/incidents/INC-2026-0001.yaml", INCIDENT)
    assert problems(repo) == []
    path = repo.root / "schemas" / "incident.schema.json"
    schema = json.loads(path.read_text())
    schema["properties"]["source"]["enum"] = ["service-desk", "customer"]
    path.write_text(json.dumps(schema))
    assert [p[4] for p in problems(repo)] == [
        "must be one of service-desk, customer (got 'monitoring')"
    ]


def test_a_changed_limit_invalidates_everything(repo: Repo) -> None:
    repo.write("records/incidents/INC-2026-0001.yaml", INCIDENT)
    assert problems(repo) == []
    policy = repo.root / "policy.yaml"
    policy.write_text(policy.read_text().replace("max_file_bytes: 1048576", "max_file_bytes: 1024"))
    # the record is under 1 KiB, so it still loads; the cache namespace changed
    assert problems(repo) == []
    namespace = json.loads(cache_file().read_text())["namespace"]
    policy.write_text(policy.read_text().replace("max_depth: 32", "max_depth: 4"))
    problems(repo)
    assert json.loads(cache_file().read_text())["namespace"] != namespace


@pytest.mark.parametrize("garbage", ["", "{", "[]", '{"namespace": 1}', "\x00\x01"])
def test_a_corrupt_cache_is_ignored(repo: Repo, garbage: str) -> None:
    repo.write("records/incidents/INC-2026-0001.yaml", INCIDENT.replace("P3", "P9"))
    expected = problems(repo)
    cache_file().write_text(garbage)
    assert problems(repo) == expected


def test_poisoned_entry_for_the_right_key_is_not_trusted_blindly(repo: Repo) -> None:
    # an entry whose structure is wrong is a miss, not a crash
    repo.write("records/incidents/INC-2026-0001.yaml", INCIDENT.replace("P3", "P9"))
    expected = problems(repo)
    stored = json.loads(cache_file().read_text())
    for key in stored["entries"]:
        stored["entries"][key] = {"doc": {"d": {}}, "problems": []}
    cache_file().write_text(json.dumps(stored))
    assert problems(repo) == expected


def test_the_cache_lives_outside_the_repository(repo: Repo) -> None:
    repo.write("records/incidents/INC-2026-0001.yaml", INCIDENT)
    problems(repo)
    assert repo.root not in cache_file().parents
