"""The parsed-record cache of a full load (opsledger.parsecache): the same output with the
cache cold, warm, damaged or foreign; an entry that fails its check is never read. The
real cache file is tampered with and the real CLI judges."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from conftest import ACKED, AS_OF, InvokeCli, Repo, git, git_init

INC = "records/incidents/INC-2026-0001.yaml"
BROKEN = "records/incidents/INC-2026-0002.yaml"


def cache_files() -> list[Path]:
    return sorted(Path(os.environ["OPSLEDGER_CACHE_DIR"]).glob("records-*.bin"))


def audit(cli: InvokeCli, root: Path) -> dict[str, object]:
    result = cli("audit", "--repo", root, "--as-of", AS_OF, "--format", "json")
    assert result.status in (0, 1), result.err
    found: dict[str, object] = json.loads(result.out)
    return found


def committed(repo: Repo) -> Repo:
    """One valid incident, one whose YAML is broken (its error is cached too)."""
    repo.write(INC, ACKED.replace("INC-2026-0042", "INC-2026-0001"), dedent=False)
    repo.write(BROKEN, "id: INC-2026-0002\ntitle: [unclosed\n", dedent=False)
    git_init(repo.root)
    git(repo.root, "add", "-A")
    git(repo.root, "commit", "-q", "-m", "records")
    return repo


def test_cold_and_warm_runs_report_the_same(repo: Repo, cli: InvokeCli) -> None:
    committed(repo)
    cold = audit(cli, repo.root)
    [path] = cache_files()
    written = path.read_bytes()
    warm = audit(cli, repo.root)
    assert warm == cold
    assert path.read_bytes() == written  # nothing new to add
    lines = {(f["path"], f["line"], f["column"]) for f in cold["findings"]}  # type: ignore[attr-defined]
    assert (BROKEN, 3, 1) in lines  # the cached syntax error keeps its position


def test_an_edited_record_is_parsed_afresh(repo: Repo, cli: InvokeCli) -> None:
    committed(repo)
    audit(cli, repo.root)
    text = (repo.root / INC).read_text(encoding="utf-8")
    (repo.root / INC).write_text(text.replace("priority: P3", "priority: P9"), encoding="utf-8")
    found = audit(cli, repo.root)
    schema = [f for f in found["findings"] if f["path"] == INC and f["rule"] == "SCHEMA"]  # type: ignore[attr-defined]
    assert schema and "P9" in schema[0]["message"]


def test_a_tampered_entry_is_never_read(repo: Repo, cli: InvokeCli) -> None:
    """Changing what a cached parse says (here: the priority the file holds) would let a
    cache planted on a CI runner change the verdicts; the MAC refuses it."""
    committed(repo)
    cold = audit(cli, repo.root)
    [path] = cache_files()
    data = path.read_bytes()
    # the marshalled text "P3" (its length byte first: the bare bytes "P3" or "P1" may
    # occur by chance in a MAC)
    assert data.count(b"\x02P3") == 1
    at = data.index(b"\x02P3") + 1
    data = data[:at] + b"P1" + data[at + 2 :]
    tampered = data[at - 12 : at + 12]  # the field, with its context
    path.write_bytes(data)
    assert audit(cli, repo.root) == cold
    assert tampered not in path.read_bytes()  # rewritten from what passes


def test_a_torn_or_foreign_cache_is_discarded(repo: Repo, cli: InvokeCli, tmp_path: Path) -> None:
    committed(repo)
    cold = audit(cli, repo.root)
    [path] = cache_files()
    path.write_bytes(path.read_bytes()[:-7])  # a torn tail
    assert audit(cli, repo.root) == cold
    # another repository with the same records (another key) gets this cache file
    other = tmp_path / "other"
    shutil.copytree(repo.root, other, ignore=shutil.ignore_patterns(".git"))
    git_init(other)
    git(other, "add", "-A")
    git(other, "commit", "-q", "-m", "records")
    audit(cli, other)
    foreign = [p for p in cache_files() if p != path]
    assert len(foreign) == 1
    shutil.copy(path, foreign[0])
    mine = audit(cli, other)
    assert mine["findings"] == cold["findings"]
    assert foreign[0].read_bytes() != path.read_bytes()  # rewritten under its own key


def test_outside_git_nothing_is_cached(repo: Repo, cli: InvokeCli) -> None:
    repo.write(INC, ACKED.replace("INC-2026-0042", "INC-2026-0001"), dedent=False)
    result = cli("audit", "--repo", repo.root, "--as-of", AS_OF, "--no-history")
    assert result.status in (0, 1), result.err
    assert cache_files() == []


def test_history_reads_the_records_parses_and_reads_the_same(
    repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A version whose bytes are a file of the working tree is taken from the run's record
    parses (one parse, not two); the history is the same either way."""
    from opsledger.history import index
    from opsledger.model.ledger import load_ledger

    committed(repo)
    edited = (repo.root / INC).read_text(encoding="utf-8") + "category: database\n"
    (repo.root / INC).write_text(edited, encoding="utf-8")
    git(repo.root, "commit", "-q", "-am", "categorised")
    parses: list[bytes] = []
    original = index.load_bytes

    def counted(raw: bytes, **options: Any) -> Any:
        parses.append(raw)
        return original(raw, **options)

    monkeypatch.setattr(index, "load_bytes", counted)
    alone = index.build_history(repo.root, use_cache=False)
    assert len(parses) == 3  # the two incident versions and the broken file
    ledger = load_ledger(repo.root)
    assert ledger.parsed is not None
    parses.clear()
    shared = index.build_history(repo.root, use_cache=False, record_parses=ledger.parsed)
    assert len(parses) == 1  # only the first incident version is not a working-tree file
    assert {k: [repr(v) for v in h.versions] for k, h in alone.records.items()} == {
        k: [repr(v) for v in h.versions] for k, h in shared.records.items()
    }


def test_cache_files_that_are_not_files_are_never_read(repo: Repo, cli: InvokeCli) -> None:
    """A FIFO would hang the run, a link to /dev/zero read forever, a header nested
    100,000 deep overflow the JSON reader: each cache file is only a slower run."""
    import subprocess
    import sys

    committed(repo)
    cold = audit(cli, repo.root)
    cache = Path(os.environ["OPSLEDGER_CACHE_DIR"])
    files = sorted(p for p in cache.iterdir() if p.name.endswith((".bin", ".jsonl")))
    assert {p.name.split("-")[0] for p in files} == {"records", "history"}
    for kind, path in enumerate(files):
        path.unlink()
        if kind % 3 == 0:
            os.mkfifo(path)
        elif kind % 3 == 1:
            path.symlink_to("/dev/zero")
        else:
            path.write_text("[" * 100_000 + "\n")
    done = subprocess.run(
        [sys.executable, "-c", "from opsledger.cli import main; main()", "audit", "--repo",
         str(repo.root), "--as-of", AS_OF, "--format", "json"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stderr
    assert json.loads(done.stdout) == cold


def gate(cli: InvokeCli, root: Path) -> tuple[str, int]:
    result = cli(
        "audit", "--repo", root, "--as-of", AS_OF, "--changed-since", "main", "--format", "json"
    )
    assert result.status in (0, 1), result.err
    return result.out, result.status


def test_a_large_gate_reads_the_cache_and_adds_to_it(
    repo: Repo, cli: InvokeCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A partial load of many records (a PR gate judging its records with all that its
    cross-record rules read) takes the parses main's full audit kept and adds what it
    parsed, dropping nothing: its output is the output of parsing afresh, its second run
    parses nothing, and a tampered entry is still never read."""
    from opsledger.model import ledger
    from opsledger.parsecache import ParseCache

    committed(repo)
    linking = ACKED.replace("0042", "0004").replace("title: ", "title: After INC-2026-0001, ")
    assert "INC-2026-0001" in linking and "priority: P3" in linking
    repo.write("records/incidents/INC-2026-0004.yaml", linking, dedent=False)
    git(repo.root, "add", "-A")
    git(repo.root, "commit", "-q", "-m", "a record naming INC-2026-0001")
    git(repo.root, "branch", "-M", "main")
    audit(cli, repo.root)  # main's full audit: every parse cached
    git(repo.root, "checkout", "-q", "-b", "pr")
    text = (repo.root / INC).read_text(encoding="utf-8")
    (repo.root / INC).write_text(text.replace("priority: P3", "priority: P2"), encoding="utf-8")
    git(repo.root, "commit", "-q", "-am", "pull request")
    fresh = gate(cli, repo.root)  # a few records: parsed afresh, the cache not opened
    [path] = cache_files()
    kept = path.read_bytes()
    hits: list[bool] = []
    original = ParseCache.get

    def spy(self: ParseCache, content: bytes) -> Any:
        found = original(self, content)
        hits.append(found is not None)
        return found

    monkeypatch.setattr(ParseCache, "get", spy)
    monkeypatch.setattr(ledger, "PARTIAL_FROM_CACHE", 1)
    assert gate(cli, repo.root) == fresh
    # the changed record parsed afresh, the one naming it (reported, unchanged) from the cache
    assert True in hits and False in hits, hits
    grown = path.read_bytes()
    assert grown.startswith(kept) and len(grown) > len(kept)  # appended, nothing dropped
    assert b"P2" in grown[len(kept) :]  # the changed record's parse
    hits.clear()
    assert gate(cli, repo.root) == fresh
    assert hits and all(hits), hits  # a second run parses nothing
    # tampered entries (the priority each record had on main) are refused, not read
    assert kept.count(b"P3") == 2
    path.write_bytes(grown.replace(b"P3", b"P1"))
    assert gate(cli, repo.root) == fresh


def test_a_gate_under_other_limits_leaves_mains_parse_cache_alone(
    repo: Repo, cli: InvokeCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pull request that changes the loading limits parses under other limits: its gate
    neither reads main's parses nor rewrites main's cache file with its own (a partial load
    only appends to a whole file written under the same limits); the next full audit under
    those limits rewrites it."""
    from opsledger.model import ledger

    committed(repo)
    git(repo.root, "branch", "-M", "main")
    audit(cli, repo.root)  # main's full audit: every parse cached
    [path] = cache_files()
    kept = path.read_bytes()
    git(repo.root, "checkout", "-q", "-b", "pr")
    policy = repo.root / "policy.yaml"
    text = policy.read_text(encoding="utf-8")
    assert "max_file_bytes: 1048576" in text
    policy.write_text(text.replace("max_file_bytes: 1048576", "max_file_bytes: 1048575"))
    record = repo.root / INC
    record.write_text(record.read_text(encoding="utf-8").replace("P3", "P2"), encoding="utf-8")
    git(repo.root, "commit", "-q", "-am", "other limits")
    monkeypatch.setattr(ledger, "PARTIAL_FROM_CACHE", 1)
    fresh = gate(cli, repo.root)
    assert path.read_bytes() == kept
    monkeypatch.setattr(ledger, "PARTIAL_FROM_CACHE", 10**6)
    assert gate(cli, repo.root) == fresh  # parsed afresh, the cache not opened: the same
    audit(cli, repo.root)  # a full audit under the new limits writes its own
    assert path.read_bytes() != kept
