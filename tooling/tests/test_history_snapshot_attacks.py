"""Attacks on the cached history index: histories, moments and cache files under which the
index from the cache must still be exactly the index a full build without any cache gives,
and no entry the repository's key did not vouch for (in the state it was written with) is
ever used."""

from __future__ import annotations

import os
import shutil
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from test_history_snapshot import INC, cache_path, cached, commit, fresh, incident

from opsledger.cache import frame_bytes, read_frames
from opsledger.history import assemble as history_assemble
from opsledger.history.index import build_history

from conftest import RUNBOOK, Repo, git, git_init

NOW = datetime(2026, 3, 20, 12, tzinfo=UTC)  # a whole second, as an --as-of is


def inc(number: int) -> str:
    return f"records/incidents/INC-2026-{number:04d}.yaml"


def head(root: Path) -> str:
    return git(root, "rev-parse", "HEAD").strip()


def same(root: Path, **kwargs: object) -> None:
    """The cached index (written or extended by this call) equals a full build."""
    assert cached(root, **kwargs) == fresh(root, **kwargs)


def start(repo: Repo, records: int = 1) -> Path:
    root = repo.root
    git_init(root)
    for number in range(1, records + 1):
        repo.write(inc(number), incident(number))
    commit(root, "opened", "2026-03-02T09:00:00Z")
    same(root)
    return root


# -- histories -------------------------------------------------------------------------


def test_an_octopus_merge_of_branches_editing_one_record(repo: Repo) -> None:
    root = start(repo, 2)
    for branch, status, day in (("a", "mitigated", 3), ("b", "resolved", 4), ("c", "closed", 5)):
        git(root, "checkout", "-q", "-b", branch, "main")
        repo.write(INC, incident(1, status))
        repo.write(inc(2), incident(2, status))
        commit(root, f"on {branch}", f"2026-03-0{day}T09:00:00Z")
    git(root, "checkout", "-q", "main")
    repo.write(inc(3), incident(3))
    commit(root, "on main", "2026-03-06T09:00:00Z")
    same(root)
    # an octopus whose branches edit the same records (kept as main has them)
    octopus = ("merge", "-q", "--no-ff", "-s", "ours", "-m", "octopus", "a", "b", "c")
    git(root, *octopus, date="2026-03-07T09:00:00Z")
    same(root)
    git(root, "reset", "-q", "--hard", "HEAD~1")
    same(root)
    # an octopus (git refuses conflicting ones: branches editing other records)
    for branch, number in (("d", 4), ("e", 5), ("f", 6)):
        git(root, "checkout", "-q", "-b", branch, "main")
        repo.write(inc(number), incident(number))
        repo.write(inc(number), incident(number, "mitigated"))
        commit(root, f"on {branch}", "2026-03-08T09:00:00Z")
        repo.write(inc(number), incident(number, "resolved"))
        commit(root, f"again on {branch}", "2026-03-08T10:00:00Z")
    git(root, "checkout", "-q", "main")
    same(root)
    git(root, "merge", "-q", "--no-ff", "-m", "octopus", "d", "e", "f", date="2026-03-09T09:00:00Z")
    same(root)


def test_side_branches_forked_before_the_cached_head_edit_the_same_record(repo: Repo) -> None:
    """Commits made before the cached head on branches merged after it land with the merge;
    two such branches edit the same record: their order is the full build's."""
    root = start(repo, 1)
    git(root, "checkout", "-q", "-b", "x")
    repo.write(INC, incident(1, "mitigated"))
    commit(root, "x1", "2026-03-03T09:00:00Z")
    git(root, "checkout", "-q", "-b", "y", "main")
    repo.write(INC, incident(1, "resolved"))
    commit(root, "y1", "2026-03-03T10:00:00Z")
    git(root, "checkout", "-q", "x")
    git(
        root,
        "merge",
        "-q",
        "--no-ff",
        "-s",
        "ours",
        "-m",
        "y into x",
        "y",
        date="2026-03-04T09:00:00Z",
    )
    repo.write(INC, incident(1, "closed"))
    commit(root, "x2", "2026-03-04T10:00:00Z")
    git(root, "checkout", "-q", "main")
    repo.write(inc(2), incident(2))
    commit(root, "main", "2026-03-05T09:00:00Z")
    same(root)
    git(root, "merge", "-q", "--no-ff", "-s", "ours", "-m", "x", "x", date="2026-03-06T09:00:00Z")
    same(root)


def test_a_merge_whose_first_parent_is_the_other_branch(repo: Repo) -> None:
    root = start(repo, 1)
    git(root, "checkout", "-q", "-b", "feature")
    repo.write(inc(2), incident(2))
    commit(root, "feature", "2026-03-03T09:00:00Z")
    git(root, "checkout", "-q", "main")
    repo.write(INC, incident(1, "mitigated"))
    commit(root, "main", "2026-03-04T09:00:00Z")
    same(root)  # cached at main's head
    git(root, "checkout", "-q", "feature")
    git(
        root,
        "merge",
        "-q",
        "--no-ff",
        "-m",
        "main into feature",
        "main",
        date="2026-03-05T09:00:00Z",
    )
    same(root)  # the cached head is a second parent now
    git(root, "checkout", "-q", "main")
    git(root, "merge", "-q", "--ff-only", "feature")
    same(root)


def test_records_moved_renamed_and_re_added(repo: Repo) -> None:
    root = start(repo, 3)
    steps = []

    def step(message: str, date: str) -> None:
        commit(root, message, date)
        same(root)
        steps.append(message)

    # a case-only rename of the file (same ID)
    git(root, "mv", inc(1), "records/incidents/inc-2026-0001.yaml")
    step("case-only file rename", "2026-03-03T09:00:00Z")
    # a case-only change of the id field
    path = root / "records/incidents/inc-2026-0001.yaml"
    path.write_text(incident(1).replace("id: INC-2026-0001", "id: inc-2026-0001"))
    step("id spelled in lower case", "2026-03-04T09:00:00Z")
    path.write_text(incident(1, "mitigated"))
    step("id spelled right again", "2026-03-05T09:00:00Z")
    # deleted, then re-added under the same ID with other content
    (root / inc(2)).unlink()
    step("deleted", "2026-03-06T09:00:00Z")
    repo.write(inc(2), incident(2, "resolved"))
    step("re-added", "2026-03-07T09:00:00Z")
    # moved to another kind's folder (same ID), then a change record
    shutil.move(str(root / inc(3)), str(root / "records/changes/INC-2026-0003.yaml"))
    step("moved to another kind's folder", "2026-03-08T09:00:00Z")
    # two renames and an id edit in one commit: 2 -> 7, 7's old content -> 2 (a swap)
    a, b = root / inc(2), root / "records/changes/INC-2026-0003.yaml"
    text_a, text_b = a.read_text(), b.read_text()
    a.write_text(text_b.replace("INC-2026-0003", "INC-2026-0002"))
    b.write_text(text_a.replace("INC-2026-0002", "INC-2026-0003"))
    step("contents swapped between two IDs", "2026-03-09T09:00:00Z")
    a.unlink()
    repo.write(inc(8), text_b.replace("INC-2026-0003", "INC-2026-0008"))
    (root / inc(1).replace("INC", "inc")).write_text(
        incident(1, "resolved").replace("INC-2026-0001", "INC-2026-0009")
    )
    step("a rename and an id edit in one commit", "2026-03-10T09:00:00Z")
    # a runbook, renamed by its slug, then its number edited
    repo.write("runbooks/RB-0003-orders-db-pool.md", RUNBOOK)
    step("runbook", "2026-03-11T09:00:00Z")
    git(root, "mv", "runbooks/RB-0003-orders-db-pool.md", "runbooks/RB-0003-pool.md")
    step("runbook slug", "2026-03-12T09:00:00Z")
    rb = root / "runbooks/RB-0003-pool.md"
    rb.write_text(RUNBOOK.replace("id: RB-0003", "id: RB-0004"))
    step("runbook id", "2026-03-13T09:00:00Z")
    # commits touching no record, an empty commit
    repo.write("README.md", "readme\n")
    step("no record", "2026-03-14T09:00:00Z")
    git(root, "commit", "-q", "--allow-empty", "-m", "empty", date="2026-03-15T09:00:00Z")
    same(root)
    repo.write("records/incidents/notes.txt", "not a record\n")
    step("not a record in a record folder", "2026-03-16T09:00:00Z")
    assert len(steps) == 13


def test_the_pairing_budget_spent_over_new_commits(
    repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(history_assemble, "PAIRING_BUDGET", 3)
    root = start(repo, 4)
    for number in range(1, 5):
        (root / inc(number)).unlink()
        repo.write(
            inc(number + 10),
            incident(number, "mitigated").replace(
                f"INC-2026-{number:04d}", f"INC-2026-{number + 10:04d}"
            ),
        )
    commit(root, "four renames at once", "2026-03-03T09:00:00Z")
    same(root)


def test_a_branch_switched_amended_or_detached(repo: Repo) -> None:
    root = start(repo, 1)
    repo.write(INC, incident(1, "mitigated"))
    commit(root, "mitigated", "2026-03-03T09:00:00Z")
    same(root)
    git(root, "commit", "-q", "--amend", "-m", "amended", date="2026-03-04T09:00:00Z")
    same(root)
    git(root, "checkout", "-q", "--detach", "HEAD~1")
    same(root)
    git(root, "checkout", "-q", "--orphan", "other")
    git(root, "rm", "-q", "-r", "--cached", ".")
    repo.write(inc(5), incident(5))
    commit(root, "unrelated history", "2026-03-05T09:00:00Z")
    same(root)
    git(root, "checkout", "-q", "-f", "main")
    same(root)


def test_a_cached_head_collected_by_gc(repo: Repo) -> None:
    root = start(repo, 1)
    repo.write(INC, incident(1, "mitigated"))
    commit(root, "mitigated", "2026-03-03T09:00:00Z")
    same(root)
    git(root, "reset", "-q", "--hard", "HEAD~1")
    git(root, "reflog", "expire", "--expire=now", "--all")
    git(root, "gc", "-q", "--prune=now")
    repo.write(inc(2), incident(2))
    commit(root, "another", "2026-03-04T09:00:00Z")
    same(root)


# -- dates -----------------------------------------------------------------------------


def test_an_index_dated_from_a_whole_second_now_is_not_reused_at_another(repo: Repo) -> None:
    """A record committed with a date before git existed, on a branch with no plausible
    date: its dates are the moment of the run. At a whole second (an --as-of), that moment
    can be cached; another moment, or a later plausible commit, then dates it otherwise."""
    root = repo.root
    git_init(root)
    repo.write(INC, incident(1))
    commit(root, "dated 1970", "1970-01-01T00:00:00Z")
    same(root, now=NOW)
    same(root, now=NOW + timedelta(hours=1))
    repo.write(inc(2), incident(2))
    commit(root, "dated plausibly", "2026-03-04T09:00:00Z")
    same(root, now=NOW + timedelta(hours=1))


def test_the_clock_going_backwards_and_unparsable_dates(repo: Repo) -> None:
    root = start(repo, 1)
    repo.write(INC, incident(1, "mitigated"))
    commit(root, "in three days", "2026-03-05T09:00:00Z")
    at = datetime(2026, 3, 5, 12, tzinfo=UTC)
    same(root, now=at)
    same(root, now=at - timedelta(days=3))  # the clock went back: the date is implausible
    same(root, now=at)
    repo.write(inc(2), incident(2))
    git(root, "add", "-A")
    # a committer date git stores but cannot parse
    tree = git(root, "write-tree").strip()
    parent = head(root)
    raw = (
        f"tree {tree}\nparent {parent}\nauthor A <a@example.com> nonsense +0000\n"
        "committer A <a@example.com> 99999999999999999999 +9999\n\nbad date\n"
    )
    sha = git_hash_object(root, raw)
    git(root, "reset", "-q", "--soft", sha)
    same(root, now=at)
    same(root)


def git_hash_object(root: Path, text: str) -> str:
    import subprocess

    proc = subprocess.run(
        ["git", "hash-object", "-t", "commit", "-w", "--literally", "--stdin"],
        cwd=root, input=text, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return proc.stdout.strip()


# -- cache files -----------------------------------------------------------------------


def frames_of(path: Path) -> tuple[bytes, list[object]]:
    header = path.read_bytes().split(b"\n", 1)[0] + b"\n"
    frames, whole = read_frames(path, header)
    assert whole
    return header, frames  # type: ignore[return-value]


def test_an_older_entry_of_a_record_moved_after_its_latest(repo: Repo) -> None:
    """The file is appended to: an older entry of a record stays in it, with a valid MAC.
    Someone without the key moves it after the latest one (a later entry wins)."""
    root = start(repo, 6)
    repo.write(INC, incident(1, "mitigated"))
    commit(root, "mitigated", "2026-03-03T09:00:00Z")
    same(root)
    path = cache_path()
    header, frames = frames_of(path)
    names = [f.name for f in frames]  # type: ignore[attr-defined]
    [twice] = {n for n in names if names.count(n) > 1 and n != names[-1] and n != names[-2]}
    older = names.index(twice)
    frames.append(frames.pop(older))
    path.write_bytes(header + frame_bytes(frames))  # type: ignore[arg-type]
    same(root)


def test_two_runs_appending_at_once(repo: Repo) -> None:
    """Two runs extend the same cached index at once, to two heads (the branch moved between
    their starts): each appends what it changed, the slower one last."""
    root = start(repo, 4)
    path = cache_path()
    before = path.read_bytes()
    repo.write(INC, incident(1, "mitigated"))
    commit(root, "first", "2026-03-03T09:00:00Z")
    same(root)
    slower = path.read_bytes()
    assert slower.startswith(before)
    path.write_bytes(before)  # the slower run read the file before the faster one wrote
    (root / inc(2)).unlink()
    commit(root, "second", "2026-03-04T09:00:00Z")
    same(root)  # the faster run, at the newer head
    faster = path.read_bytes()
    assert faster.startswith(before)
    path.write_bytes(faster + slower[len(before) :])  # the slower run appends last
    same(root)


def test_a_cache_file_truncated_linked_or_a_fifo(repo: Repo, tmp_path: Path) -> None:
    root = start(repo, 3)
    repo.write(INC, incident(1, "mitigated"))
    commit(root, "mitigated", "2026-03-03T09:00:00Z")
    same(root)
    path = cache_path()
    data = path.read_bytes()
    for cut in (len(data) - 1, len(data) // 2, 40, 0):
        path.write_bytes(data[:cut])
        same(root)
    elsewhere = tmp_path / "elsewhere.bin"
    elsewhere.write_bytes(path.read_bytes())
    path.unlink()
    path.symlink_to(elsewhere)
    same(root)
    path.unlink()
    os.mkfifo(path)
    same(root)
    path.unlink()
    same(root)


def test_a_read_only_cache_dir(repo: Repo) -> None:
    root = start(repo, 1)
    folder = cache_path().parent
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        repo.write(INC, incident(1, "mitigated"))
        commit(root, "mitigated", "2026-03-03T09:00:00Z")
        same(root)
        same(root)
    finally:
        folder.chmod(stat.S_IRWXU)


def test_another_clones_cache_under_this_clones_name(repo: Repo, tmp_path: Path) -> None:
    root = start(repo, 2)
    repo.write(INC, incident(1, "mitigated"))
    commit(root, "mitigated", "2026-03-03T09:00:00Z")
    same(root)
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(root), str(other))
    same(other)  # its own file, its own key
    mine = cache_path_of(root)
    theirs = cache_path_of(other)
    repo.write(inc(2), incident(2, "resolved"))
    commit(root, "resolved", "2026-03-04T09:00:00Z")
    mine.write_bytes(theirs.read_bytes())
    same(root)
    # a copy of the repository (its key too) sharing the cache directory
    copy = tmp_path / "copy"
    shutil.copytree(root, copy, symlinks=True)
    (copy / inc(1)).unlink()
    commit(copy, "deleted in the copy", "2026-03-05T09:00:00Z")
    same(copy)
    cache_path_of(root).write_bytes(cache_path_of(copy).read_bytes())
    same(root)


def cache_path_of(root: Path) -> Path:
    from opsledger.history.store import cache_file

    return cache_file(root, "history-index", ".bin")


def test_the_cached_index_through_the_cli(repo: Repo, cli: object) -> None:
    from conftest import InvokeCli

    run: InvokeCli = cli  # type: ignore[assignment]
    root = start(repo, 2)
    repo.write(INC, incident(1, "mitigated"))
    commit(root, "mitigated", "2026-03-03T09:00:00Z")
    args = ("--repo", str(root), "--as-of", "2026-03-31T12:00:00Z", "--format", "json")
    first = run("audit", *args)
    assert first.status in (0, 1), first.err
    (root / inc(2)).unlink()
    commit(root, "deleted", "2026-03-04T09:00:00Z")
    warm = run("audit", *args)
    history = run("history", "INC-2026-0001", "--repo", str(root), "--format", "json")
    changed = run("audit", *args, "--changed-since", "HEAD~1")
    for path in Path(os.environ["OPSLEDGER_CACHE_DIR"]).glob("*"):
        path.unlink()
    assert run("audit", *args).out == warm.out
    assert run("history", "INC-2026-0001", "--repo", str(root), "--format", "json").out == (
        history.out
    )
    assert run("audit", *args, "--changed-since", "HEAD~1").out == changed.out
    assert 3 not in (warm.status, history.status, changed.status)


def test_an_index_built_cold_and_warm_over_every_head(repo: Repo) -> None:
    """Every head of a small busy history: cached (extended from the previous head) equals
    a full build, and the index of an older head cached equals its own full build."""
    root = start(repo, 2)
    heads = [head(root)]
    for day in range(3, 9):
        repo.write(inc(day % 3 + 1), incident(day % 3 + 1, ["mitigated", "resolved"][day % 2]))
        commit(root, f"day {day}", f"2026-03-0{day}T09:00:00Z")
        heads.append(head(root))
        same(root)
    for sha in reversed(heads):
        git(root, "checkout", "-q", "--detach", sha)
        same(root)
    assert build_history(root).head == heads[0]


def test_the_branch_moving_while_the_new_commits_are_read(
    repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A commit lands after git walked the commit graph since the cached head and before it
    walks the log (a pull in another terminal): the index kept must be the one of the head
    it names, and the next run's index a full build's."""
    import threading
    from collections.abc import Iterator

    from opsledger import gitio

    root = start(repo, 2)
    repo.write(INC, incident(1, "mitigated"))
    commit(root, "mitigated", "2026-03-03T09:00:00Z")
    graph, log = gitio.commit_graph, gitio.raw_log_chunks
    walked = threading.Event()
    moved: list[str] = []

    def graph_then_signal(
        path: Path, exclude: str | None = None, tip: str = "HEAD"
    ) -> list[tuple[str, list[str]]]:
        found = graph(path, exclude, tip=tip)
        walked.set()
        return found

    def pull_then_log(
        path: Path, folders: tuple[str, ...], exclude: str | None = None, tip: str = "HEAD"
    ) -> Iterator[str]:
        if not moved:
            assert walked.wait(30)
            repo.write(INC, incident(1, "resolved"))
            commit(root, "pulled meanwhile", "2026-03-04T09:00:00Z")
            moved.append(head(root))
        yield from log(path, folders, exclude, tip=tip)

    monkeypatch.setattr(gitio, "commit_graph", graph_then_signal)
    monkeypatch.setattr(gitio, "raw_log_chunks", pull_then_log)
    build_history(root)
    monkeypatch.setattr(gitio, "commit_graph", graph)
    monkeypatch.setattr(gitio, "raw_log_chunks", log)
    assert moved
    same(root)


def test_unreadable_versions_links_and_odd_names_in_new_commits(repo: Repo) -> None:
    root = start(repo, 2)
    repo.write(INC, "id: [unclosed\n")  # unreadable: the file name says the ID
    commit(root, "broken YAML", "2026-03-03T09:00:00Z")
    same(root)
    repo.write(INC, incident(1).replace("id: INC-2026-0001", "id: 42"))
    commit(root, "an id that is not a string", "2026-03-04T09:00:00Z")
    same(root)
    (root / inc(2)).unlink()
    (root / inc(2)).symlink_to("INC-2026-0001.yaml")
    commit(root, "a record made a link", "2026-03-05T09:00:00Z")
    same(root)
    odd = os.fsencode(root / "records/incidents") + b"/INC-2026-\xff\xfe.yaml"
    with open(odd, "wb") as handle:
        handle.write(incident(7).encode())
    commit(root, "a file name that is not UTF-8", "2026-03-06T09:00:00Z")
    same(root)
    os.unlink(odd)
    repo.write(inc(1), incident(1, "resolved"))
    commit(root, "and gone again", "2026-03-07T09:00:00Z")
    same(root)


def test_replace_refs_or_a_shallow_clone_after_caching(repo: Repo, tmp_path: Path) -> None:
    from opsledger.errors import HistoryUnusable

    root = start(repo, 1)
    repo.write(INC, incident(1, "mitigated"))
    commit(root, "mitigated", "2026-03-03T09:00:00Z")
    same(root)
    git(root, "replace", "--graft", head(root))  # the cached head made a root
    with pytest.raises(HistoryUnusable):
        build_history(root)
    git(root, "replace", "-d", head(root))
    same(root)
    shallow = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{root}", str(shallow))
    with pytest.raises(HistoryUnusable):
        build_history(shallow)
