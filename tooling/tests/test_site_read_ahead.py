"""The site build starts git's walk of the history before the records are loaded (so git
walks while Python parses), and the site it builds is the one a build without that head
start gives: byte for byte."""

from __future__ import annotations

import filecmp
import threading
from pathlib import Path

import pytest

from opsledger.errors import OpsledgerError
from opsledger.history import index
from opsledger.site.build import build_site
from opsledger.timeutil import parse_timestamp

from conftest import ACKED, RUNBOOK, Repo, git, git_init

AS_OF = parse_timestamp("2026-04-01T00:00:00Z")


def _history(repo: Repo) -> None:
    git_init(repo.root)
    repo.write("runbooks/RB-0003.md", RUNBOOK)
    for step, priority in enumerate(("P3", "P2", "P1")):
        repo.write("records/incidents/INC-2026-0001.yaml", ACKED.replace("P3", priority))
        when = f"2026-03-0{step + 2}T10:00:00Z"
        git(repo.root, "add", "-A", date=when)
        git(repo.root, "commit", "-qm", f"step {step}", date=when)


def _files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def test_site_build_reads_history_ahead_and_builds_the_same_site(
    repo: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(AS_OF.timestamp())))
    _history(repo)
    started: list[bool] = []
    real = index.read_ahead

    def read_ahead(root: Path, *, use_cache: bool = True) -> None:
        real(root, use_cache=use_cache)
        started.append(str(root) in index._AHEAD)

    monkeypatch.setenv("OPSLEDGER_CACHE_DIR", str(tmp_path / "cache-ahead"))
    monkeypatch.setattr(index, "read_ahead", read_ahead)
    ahead = tmp_path / "ahead"
    build_site(repo.root, output=ahead, as_of=AS_OF)
    assert started == [True]  # the walk was under way before the records were loaded
    assert str(repo.root) not in index._AHEAD  # and the build used it

    monkeypatch.setenv("OPSLEDGER_CACHE_DIR", str(tmp_path / "cache-plain"))
    monkeypatch.setattr(index, "read_ahead", lambda root, *, use_cache=True: None)
    plain = tmp_path / "plain"
    build_site(repo.root, output=plain, as_of=AS_OF)

    names = _files(ahead)
    assert names == _files(plain) and len(names) > 20
    assert [n for n in sorted(names) if not filecmp.cmp(ahead / n, plain / n, shallow=False)] == []
    page = (ahead / "incidents/INC-2026-0001.html").read_text(encoding="utf-8")
    assert "priority: P3 → P2" in page and "priority: P2 → P1" in page


def test_no_history_build_reads_nothing_ahead(
    repo: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _history(repo)
    calls: list[Path] = []
    monkeypatch.setattr(index, "read_ahead", lambda root, *, use_cache=True: calls.append(root))
    monkeypatch.setenv("OPSLEDGER_CACHE_DIR", str(tmp_path / "cache"))
    build_site(repo.root, output=tmp_path / "out", as_of=AS_OF, use_history=False)
    assert calls == []


def test_a_build_that_stops_leaves_no_read_ahead_writing_into_the_repository(
    repo: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A build stopped by an invalid policy returns once its read-ahead is past writing
    the cache key into the git directory (``mkdocs serve`` and tests live on after it)."""
    _history(repo)
    monkeypatch.setenv("OPSLEDGER_CACHE_DIR", str(tmp_path / "cache"))
    repo.write("policy.yaml", "limits: [unclosed\n", dedent=False)
    with pytest.raises(OpsledgerError, match=r"policy\.yaml:2:1: YAML syntax error"):
        build_site(repo.root, output=tmp_path / "out", as_of=AS_OF)
    running = [t for t in threading.enumerate() if t.name == index.START_THREAD]
    assert not [t for t in running if t.is_alive()] and not index._AHEAD
    assert (repo.root / ".git" / "opsledger-cache.key").is_file()  # written before return
