"""Speed never changes the history index: the log read as it streams from git (blobs read
and parsed while git walks), the cache cold, warm, extended by new commits or damaged,
and no cache at all give the same index, on a history with merges, moves, a symbolic link,
an unparsable version, a file name that is not UTF-8 and control characters in an author
name."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from opsledger import gitio
from opsledger.cli import run
from opsledger.history import index
from opsledger.history.index import (
    FOLDERS,
    START_THREAD,
    build_history,
    parse_log,
    read_ahead,
)
from opsledger.history.model import HistoryIndex

from conftest import INCIDENT, Repo, git, git_init

INC = "records/incidents/INC-2026-0001.yaml"
MOVED = "records/incidents/2026/INC-2026-0001.yaml"
LENA = "Lena Fischer <lena.fischer@example.com>"
ODD = "\x1eMallory\x1e <mallory@example.com>"  # the log's commit marker (git drops it)


def commit(root: Path, message: str, date: str, who: str = LENA) -> None:
    git(root, "add", "-A", date=date, who=who)
    git(root, "commit", "-q", "-m", message, date=date, who=who)


def snapshot(index: HistoryIndex) -> tuple[object, ...]:
    records = {k: [repr(v) for v in h.versions] for k, h in sorted(index.records.items())}
    return index.head, records


def hostile_history(repo: Repo) -> None:
    root = repo.root
    git_init(root)
    repo.write(INC, INCIDENT)
    commit(root, "opened", "2026-03-04T09:30:00Z", who=ODD)
    git(root, "checkout", "-q", "-b", "review")
    repo.write(INC, INCIDENT.replace("status: open", "status: mitigated"))
    commit(root, "mitigated on a branch", "2026-03-04T10:00:00Z")
    git(root, "checkout", "-q", "main")
    repo.write("records/changes/CHG-2026-0001.yaml", "id: [unclosed\n", dedent=False)
    commit(root, "a version that does not parse", "2026-03-04T10:30:00Z")
    git(root, "merge", "-q", "--no-ff", "-m", "merge review", "review", date="2026-03-04T11:00:00Z")
    (root / "records/incidents/2026").mkdir(parents=True)
    git(root, "mv", INC, MOVED)
    os.symlink("../../policy.yaml", root / "records/incidents/INC-2026-0002.yaml")
    odd = os.fsdecode(b"records/incidents/INC-2026-0003-\xff.yaml")
    Path(root, odd).write_text(INCIDENT.replace("INC-2026-0001", "INC-2026-0003"))
    commit(root, "moved, a link and an odd name", "2026-03-05T09:00:00Z", who=ODD)


def test_the_streamed_log_reads_as_the_whole_text(repo: Repo) -> None:
    hostile_history(repo)
    text = gitio.raw_log(repo.root, FOLDERS)
    assert "Mallory" in text and "INC-2026-0003-\udcff.yaml" in text
    whole = list(parse_log(text))
    assert len(whole) == 5
    assert list(parse_log(text[i : i + 1] for i in range(len(text)))) == whole
    assert list(parse_log(gitio.raw_log_chunks(repo.root, FOLDERS))) == whole


def test_cache_on_off_cold_warm_extended_and_damaged_give_one_index(repo: Repo) -> None:
    hostile_history(repo)
    root = repo.root
    plain = snapshot(build_history(root, use_cache=False))
    records = plain[1]
    assert isinstance(records, dict) and {"INC-2026-0001", "CHG-2026-0001"} <= set(records)
    assert snapshot(build_history(root)) == plain  # cold cache: written while streaming
    assert snapshot(build_history(root)) == plain  # warm: nothing read from git
    repo.write(MOVED, INCIDENT.replace("status: open", "status: resolved"))
    commit(root, "resolved", "2026-03-06T09:00:00Z")
    extended = snapshot(build_history(root))  # one more segment
    assert extended == snapshot(build_history(root, use_cache=False)) != plain
    cache = Path(os.environ["OPSLEDGER_CACHE_DIR"])
    for path in cache.glob("history-*.bin"):
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0xFF
        path.write_bytes(bytes(data))
        assert snapshot(build_history(root)) == extended


@pytest.mark.parametrize("kind", ["log", "index"])
def test_cache_linked_or_oversized_is_ignored_and_rebuilt(
    kind: str,
    repo: Repo,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    git_logs: list[str | None],
) -> None:
    """The log cache and the cached index are read like every cache file: never through a
    link (here to a good copy of itself elsewhere), never over the size limit; each is
    rebuilt in place."""
    from opsledger import cache as cachefile
    from opsledger.history import index as history_index

    hostile_history(repo)
    root = repo.root
    cache = Path(os.environ["OPSLEDGER_CACHE_DIR"])

    def build() -> tuple[object, ...]:
        if kind == "log":  # the log cache is read only where no cached index can be used
            for path in cache.glob("history-index-*.bin"):
                path.unlink()
        return snapshot(build_history(root))

    plain = snapshot(build_history(root, use_cache=False))
    assert build() == plain
    [path] = cache.glob(f"history-{kind}-*.bin")
    good = path.read_bytes()
    elsewhere = tmp_path / "elsewhere.bin"
    elsewhere.write_bytes(good)
    path.unlink()
    path.symlink_to(elsewhere)
    assert build() == plain
    assert not path.is_symlink() and path.read_bytes().startswith(b"opsledger cache v1 ")
    assert elsewhere.read_bytes() == good  # the link's target is never written
    logs = git_logs
    logs.clear()
    assembled: list[object] = []
    assemble = history_index.assemble

    def spy_assemble(*args: Any, **kwargs: Any) -> Any:
        assembled.append(args)
        return assemble(*args, **kwargs)

    monkeypatch.setattr(history_index, "assemble", spy_assemble)
    assert build() == plain
    # the rebuilt cache is used: no log read from git; with the index, nothing assembled
    assert logs == [] and len(assembled) == (1 if kind == "log" else 0)
    monkeypatch.setattr(cachefile, "MAX_CACHE_BYTES", len(good) - 1)
    assembled.clear()
    assert build() == plain
    assert len(assembled) == 1  # over the limit: not read, the index assembled again
    if kind == "log":
        assert logs == [None]  # the whole log read from git again


def test_a_read_ahead_is_used_once_and_only_for_its_head(
    repo: Repo, git_logs: list[str | None]
) -> None:
    hostile_history(repo)
    root = repo.root
    logs = git_logs
    plain = snapshot(build_history(root, use_cache=False))
    read_ahead(root)
    assert snapshot(build_history(root)) == plain
    assert logs == [None, None]  # the read-ahead's log was the build's
    read_ahead(root)  # nothing new since the cached head: no walk
    assert snapshot(build_history(root)) == plain and len(logs) == 2
    head = git(root, "rev-parse", "HEAD").strip()
    repo.write(MOVED, INCIDENT.replace("status: open", "status: resolved"))
    commit(root, "resolved", "2026-03-06T09:00:00Z")
    read_ahead(root).wait()  # walks the new commit
    assert logs[2:] == [head]
    repo.write(MOVED, INCIDENT.replace("status: open", "status: closed"))
    commit(root, "closed", "2026-03-07T09:00:00Z")  # HEAD moved on: the read-ahead is stale
    assert snapshot(build_history(root)) == snapshot(build_history(root, use_cache=False))
    assert logs[3] == head and len(logs) == 5  # read again from the cached head; no cache


def test_a_scoped_read_ahead_is_used_once_and_only_for_its_paths(
    repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pull request's read-ahead (the log of its records' paths and the commit graph,
    walked while the records are parsed) is the build's, for those paths only."""
    hostile_history(repo)
    root = repo.root
    walked: list[tuple[str, ...]] = []
    original = gitio.raw_log_chunks

    def spy(
        path: Path, folders: tuple[str, ...], exclude: str | None = None, tip: str = "HEAD"
    ) -> Iterator[str]:
        walked.append(folders)
        return original(path, folders, exclude, tip=tip)

    monkeypatch.setattr(gitio, "raw_log_chunks", spy)
    paths = [MOVED]
    plain = snapshot(build_history(root, paths=paths, use_cache=False))
    rounds = list(walked)
    assert rounds == [(MOVED,), (MOVED, INC)]  # the move followed back to the old path
    started = read_ahead(root, paths=paths)
    assert started is not None
    started.wait()
    assert walked == rounds * 2
    assert snapshot(build_history(root, paths=paths)) == plain
    assert walked == rounds * 2  # nothing walked again
    other = read_ahead(root, paths=["records/changes/CHG-2026-0001.yaml"])
    assert other is not None
    other.wait()
    del walked[:]
    assert snapshot(build_history(root, paths=paths, use_cache=False)) == plain
    assert walked == rounds  # a read-ahead of other paths is not used
    del walked[:]
    assert snapshot(build_history(root, paths=paths)) == plain
    assert walked == []  # the walk the first read-ahead kept, by head and paths
    assert read_ahead(root, paths=[]) is None  # no paths: nothing to walk
    index.drop_read_ahead(root)  # the unused one is forgotten
    assert not [key for key in index._SCOPED if key[0] == str(root)]


def _read_ahead_running() -> bool:
    return any(t.name == START_THREAD and t.is_alive() for t in threading.enumerate())


@pytest.mark.parametrize("scoped", [False, True])
def test_a_run_that_stops_leaves_no_read_ahead_writing_into_the_repository(
    repo: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, scoped: bool
) -> None:
    """An audit that stops after its read-ahead started (an invalid policy; for a pull
    request's records, a path that is no record) returns only once the read-ahead is past
    writing the cache key into the git directory, and forgets it: a caller in the same
    process (a test, ``mkdocs serve``) may remove the repository at once."""
    started: list[object] = []
    real = index.read_ahead

    def spy(root: Path, **kwargs: Any) -> object:
        found = real(root, **kwargs)
        started.append(found)
        return found

    monkeypatch.setattr(index, "read_ahead", spy)
    for attempt in range(3):
        root = tmp_path / f"gov-{scoped}-{attempt}"
        shutil.copytree(repo.root, root)
        git_init(root)
        (root / INC).parent.mkdir(parents=True, exist_ok=True)
        (root / INC).write_text(INCIDENT, encoding="utf-8")
        commit(root, "opened", "2026-03-04T09:30:00Z")
        args = ["audit", "--repo", str(root)]
        if scoped:  # the policy is read before the read-ahead: the stop comes after it
            (root / INC).write_text(INCIDENT.replace("status: open", "status: resolved"))
            commit(root, "resolved", "2026-03-04T10:30:00Z")
            args += ["--changed-since", "HEAD~1", str(root / "records/no-such-record.yaml")]
            stop = f"opsledger: error: {root}/records/no-such-record.yaml: no such file"
        else:
            (root / "policy.yaml").write_text("limits: [unclosed\n", encoding="utf-8")
            stop = "opsledger: error: policy.yaml:2:1: YAML syntax error"
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            assert run(args) == 2, err.getvalue()
        assert err.getvalue().startswith(stop), err.getvalue()
        kind = index.ScopedReadAhead if scoped else index.ReadAhead
        assert len(started) == attempt + 1 and isinstance(started[-1], kind)
        assert not _read_ahead_running() and str(root) not in index._AHEAD
        assert not [key for key in index._SCOPED if key[0] == str(root)]
        shutil.rmtree(root)  # nothing writes into it any more
