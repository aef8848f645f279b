"""The cached index gives exactly the index a full build gives: extended by new commits
(merges, moves, an edited ``id``, a rename with a rewrite, a deletion, a spelling
corrected), after a branch was reset, when the cached head is reached only through a
merge's second parent, when a commit's date becomes plausible as time passes, under other
limits, and when its entries are damaged or forged. Every index is compared with one
built without any cache."""

from __future__ import annotations

import json
import marshal
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from opsledger.cache import Frame, frame_bytes, read_frames
from opsledger.history import index as history_index
from opsledger.history.index import build_history
from opsledger.history.model import HistoryIndex
from opsledger.loading import Limits

from conftest import INCIDENT, InvokeCli, Repo, git, git_init

INC = "records/incidents/INC-2026-0001.yaml"
LENA = "Lena Fischer <lena.fischer@example.com>"
PRIYA = "Priya Shah <priya.shah@example.com>"


def commit(root: Path, message: str, date: str, who: str = LENA) -> None:
    git(root, "add", "-A", date=date, who=who)
    git(root, "commit", "-q", "-m", message, date=date, who=who)


def content(index: HistoryIndex) -> tuple[object, ...]:
    records = [(k, h.record_id, [repr(v) for v in h.versions]) for k, h in index.records.items()]
    return index.head, records  # the records' order too: reports list them in it


def fresh(root: Path, **kwargs: object) -> tuple[object, ...]:
    return content(build_history(root, use_cache=False, **kwargs))  # type: ignore[arg-type]


def cached(root: Path, **kwargs: object) -> tuple[object, ...]:
    return content(build_history(root, **kwargs))  # type: ignore[arg-type]


def incident(number: int, status: str = "open") -> str:
    rid = f"INC-2026-{number:04d}"
    return INCIDENT.replace("INC-2026-0001", rid).replace("status: open", f"status: {status}")


def cache_path(kind: str = "index") -> Path:
    [path] = Path(os.environ["OPSLEDGER_CACHE_DIR"]).glob(f"history-{kind}-*.bin")
    return path


def test_extended_commit_by_commit_equals_a_full_build(
    repo: Repo, git_logs: list[str | None]
) -> None:
    root = repo.root
    git_init(root)
    repo.write(INC, incident(1))
    repo.write("records/incidents/inc-2026-0002.yaml", incident(2).replace("INC-", "inc-"))
    commit(root, "opened", "2026-03-02T09:00:00Z")
    assert cached(root) == fresh(root)  # the first run writes the cache
    steps = []

    def step(message: str, date: str) -> None:
        commit(root, message, date)
        git_logs.clear()
        assert cached(root) == fresh(root), message
        steps.append(message)
        assert git_logs[0] is not None  # only the new commits were read (then the fresh one)

    # a branch with two commits, merged: both land with the merge
    git(root, "checkout", "-q", "-b", "review")
    repo.write(INC, incident(1, "mitigated"))
    commit(root, "mitigated on a branch", "2026-03-03T09:00:00Z")
    repo.write("records/incidents/INC-2026-0003.yaml", incident(3))
    commit(root, "another on the branch", "2026-03-03T10:00:00Z")
    git(root, "checkout", "-q", "main")
    repo.write("records/incidents/INC-2026-0004.yaml", incident(4))
    commit(root, "meanwhile on main", "2026-03-03T11:00:00Z")
    git(root, "merge", "-q", "--no-ff", "-m", "merge", "review", date="2026-03-04T09:00:00Z")
    git_logs.clear()
    assert cached(root) == fresh(root)
    # the spelling corrected: the history keeps one name, the valid one
    (root / "records/incidents/inc-2026-0002.yaml").unlink()
    repo.write("records/incidents/INC-2026-0002.yaml", incident(2))
    step("spelling corrected", "2026-03-05T09:00:00Z")
    # moved into a year folder (the same record), then its id edited in place
    (root / "records/incidents/2026").mkdir()
    git(root, "mv", INC, "records/incidents/2026/INC-2026-0001.yaml")
    step("moved", "2026-03-06T09:00:00Z")
    moved = root / "records/incidents/2026/INC-2026-0001.yaml"
    moved.write_text(incident(1, "resolved").replace("INC-2026-0001", "INC-2026-0009"))
    step("id edited in place", "2026-03-07T09:00:00Z")
    # renamed to another ID with one field rewritten: paired as the successor
    old = root / "records/incidents/INC-2026-0003.yaml"
    old.unlink()
    repo.write("records/incidents/INC-2026-0008.yaml", incident(8, "mitigated"))
    step("renamed with a rewrite", "2026-03-08T09:00:00Z")
    (root / "records/incidents/INC-2026-0004.yaml").unlink()
    step("deleted", "2026-03-09T09:00:00Z")
    repo.write("records/incidents/INC-2026-0004.yaml", incident(4, "resolved"))
    step("the same ID again", "2026-03-10T09:00:00Z")
    repo.write("records/incidents/INC-2026-0005.yaml", incident(5))
    step("dated before git existed", "1970-01-01T00:00:00Z")  # dated from the landing before
    history = build_history(root).get("INC-2026-0009")
    assert history is not None and len(history.versions) == 1  # the new ID's own history
    assert len(steps) == 7


def test_a_reset_branch_and_a_second_parent_head_are_built_in_full(
    repo: Repo, git_logs: list[str | None]
) -> None:
    root = repo.root
    git_init(root)
    repo.write(INC, incident(1))
    commit(root, "opened", "2026-03-02T09:00:00Z")
    first = git(root, "rev-parse", "HEAD").strip()
    repo.write(INC, incident(1, "mitigated"))
    commit(root, "mitigated", "2026-03-03T09:00:00Z")
    assert cached(root) == fresh(root)
    git(root, "reset", "-q", "--hard", first)  # the cached head is gone from the branch
    repo.write("records/incidents/INC-2026-0002.yaml", incident(2))
    commit(root, "another", "2026-03-04T09:00:00Z")
    assert cached(root) == fresh(root)
    # the cached head (a feature branch's tip) is reached only through a merge's second
    # parent: its commits land with the merge, not where the cache had them
    git(root, "checkout", "-q", "-b", "feature")
    repo.write(INC, incident(1, "resolved"))
    commit(root, "resolved on the feature", "2026-03-05T09:00:00Z")
    assert cached(root) == fresh(root)
    git(root, "checkout", "-q", "main")
    repo.write("records/incidents/INC-2026-0003.yaml", incident(3))
    commit(root, "on main", "2026-03-06T09:00:00Z")
    git(root, "merge", "-q", "--no-ff", "-m", "merge", "feature", date="2026-03-07T09:00:00Z")
    assert cached(root) == fresh(root)


def test_a_reset_branch_reuses_the_log_cache_up_to_the_shared_commits(
    repo: Repo, git_logs: list[str | None]
) -> None:
    """Without a usable cached index, the log cache serves the commits the branch still
    shares with it: only the commits since the last shared segment are read from git."""
    root = repo.root
    git_init(root)
    heads = []
    for day in range(2, 5):  # three log segments: the cached index removed each time
        repo.write(INC, incident(1, ["open", "mitigated", "resolved"][day - 2]))
        commit(root, f"day {day}", f"2026-03-0{day}T09:00:00Z")
        heads.append(git(root, "rev-parse", "HEAD").strip())
        cache_path().unlink(missing_ok=True) if day > 2 else None
        assert cached(root) == fresh(root)
    git(root, "reset", "-q", "--hard", heads[1])
    repo.write("records/incidents/INC-2026-0002.yaml", incident(2))
    commit(root, "after the reset", "2026-03-05T09:00:00Z")
    cache_path().unlink()
    git_logs.clear()
    assert cached(root) == fresh(root)
    assert git_logs == [heads[1], None]  # from the last shared head; then the fresh build


def test_a_date_that_becomes_plausible_later_is_judged_again(repo: Repo) -> None:
    root = repo.root
    git_init(root)
    repo.write(INC, incident(1))
    commit(root, "opened", "2026-03-02T09:00:00Z")
    repo.write(INC, incident(1, "mitigated"))
    commit(root, "from the future", "2026-03-20T09:00:00Z")  # 18 days after ``now``
    now = datetime(2026, 3, 2, 12, tzinfo=UTC)
    early = cached(root, now=now)
    assert early == fresh(root, now=now) and "committer date @" in repr(early)
    later = now + timedelta(days=30)  # the date is plausible now
    assert cached(root, now=later) == fresh(root, now=later) != early
    assert cached(root, now=now) == early  # and back


def test_other_limits_give_their_own_index(repo: Repo) -> None:
    root = repo.root
    git_init(root)
    repo.write(INC, incident(1))
    commit(root, "opened", "2026-03-02T09:00:00Z")
    small = Limits(max_file_bytes=100)
    assert cached(root) == fresh(root)
    assert cached(root, limits=small) == fresh(root, limits=small) != fresh(root)
    assert cached(root) == fresh(root)


def forged_index(old: str, new: str) -> list[bytes]:
    """Every entry of the cached index with ``old`` made ``new``, under its old MAC (as
    someone without the key can write them); the forged payloads."""
    from test_history_cache import replaced

    path = cache_path()
    header = path.read_bytes().split(b"\n", 1)[0] + b"\n"
    frames, whole = read_frames(path, header)
    assert whole
    forged = []
    for at, frame in enumerate(frames):
        value = marshal.loads(frame.payload)
        changed = replaced(value, old, new)
        if changed != value:
            payload = marshal.dumps(changed)
            forged.append(payload)
            frames[at] = Frame(frame.mac, frame.name, payload)
    path.write_bytes(header + frame_bytes(frames))
    assert forged
    return forged


def test_forged_entries_are_never_used(repo: Repo) -> None:
    root = repo.root
    git_init(root)
    repo.write(INC, incident(1))
    commit(root, "opened", "2026-03-02T09:00:00Z", who=PRIYA)
    repo.write(INC, incident(1, "mitigated"))
    commit(root, "mitigated", "2026-03-03T09:00:00Z")
    expected = fresh(root)
    assert cached(root) == expected
    planted = forged_index("lena.fischer@example.com", "priya.shah@example.com")
    assert cached(root) == expected  # the record whose entry fails is built in full
    assert not any(p in cache_path().read_bytes() for p in planted)  # and cached afresh
    assert cached(root) == expected
    # a forged entry found while new commits are applied: the whole index built again
    forged_index("mitigated", "resolved")
    repo.write(INC, incident(1, "closed"))
    commit(root, "closed", "2026-03-04T09:00:00Z")
    assert cached(root) == fresh(root)
    # a damaged file: every byte of its middle flipped in turn would be slow; one will do
    data = bytearray(cache_path().read_bytes())
    data[len(data) // 2] ^= 0xFF
    cache_path().write_bytes(bytes(data))
    assert cached(root) == fresh(root)


def test_a_forged_index_cannot_clear_a_provenance_finding(repo: Repo, cli: InvokeCli) -> None:
    """Through the real command: the committer forged in the cached index (old MAC kept)
    would clear GIT-PROVENANCE; the finding stays."""
    from test_history_cache import approved_by_requester, provenance

    approved_by_requester(repo)
    found = provenance(cli, repo.root)
    assert len(found) == 1
    result = cli("history", "CHG-2026-0107", "--repo", repo.root, "--format", "json")
    assert result.status == 0  # writes the cached index
    forged_index("lena.fischer@example.com", "priya.shah@example.com")
    result = cli(
        "audit", "--repo", repo.root, "--as-of", "2026-03-31T12:00:00Z", "--format", "json",
        "--select", "GIT-PROVENANCE",
    )  # fmt: skip
    assert [f["message"] for f in json.loads(result.out)["findings"]] == found


def test_an_index_read_once_decodes_only_the_records_read(repo: Repo) -> None:
    root = repo.root
    git_init(root)
    for number in range(1, 6):
        repo.write(f"records/incidents/INC-2026-{number:04d}.yaml", incident(number))
    commit(root, "opened", "2026-03-02T09:00:00Z")
    build_history(root)
    index = build_history(root)
    stored = [h for h in index.records.values() if type(h).__name__ == "_StoredHistory"]
    assert len(stored) == 5
    history = index.get("INC-2026-0003")
    assert history is not None and history.first.data is not None
    assert [h.unchanged(h.record_id) for h in stored] == [True, True, False, True, True]  # type: ignore[attr-defined]


def test_a_read_ahead_opens_the_cached_index(repo: Repo, git_logs: list[str | None]) -> None:
    root = repo.root
    git_init(root)
    repo.write(INC, incident(1))
    commit(root, "opened", "2026-03-02T09:00:00Z")
    head = git(root, "rev-parse", "HEAD").strip()
    assert cached(root) == fresh(root)
    repo.write(INC, incident(1, "mitigated"))
    commit(root, "mitigated", "2026-03-03T09:00:00Z")
    git_logs.clear()
    history_index.read_ahead(root).wait()
    assert git_logs == [head]  # git walks the new commit only
    assert cached(root) == fresh(root)
    assert git_logs == [head, None]  # the build used it; then the fresh build
