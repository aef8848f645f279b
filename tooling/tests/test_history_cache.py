"""The parsed-history cache carries an integrity check: a cache entry that does not match
what git says (edited, truncated, with another blob's id, from another repository) is
discarded, never trusted. The real cache files are tampered with, the real CLI judges."""

from __future__ import annotations

import json
import marshal
import os
import shutil
import stat
from pathlib import Path
from typing import Any

import pytest

from opsledger.cache import Frame, FrameStore, frame_bytes, read_frames

from conftest import AS_OF, RUNBOOK, InvokeCli, Repo, git, git_init

CHG = "records/changes/CHG-2026-0107.yaml"
LENA = "Lena Fischer <lena.fischer@example.com>"


def approved_by_requester(repo: Repo) -> None:
    """A change whose approval by Priya was committed by Lena (GIT-PROVENANCE), in two
    commits: requested, then approved."""
    from test_rules_history import CHG as REQUESTED
    from test_rules_history import approved

    repo.write("runbooks/RB-0003-orders-db-pool.md", RUNBOOK, dedent=False)
    git_init(repo.root)
    repo.write(CHG, REQUESTED, dedent=False)
    commit(repo.root, "requested", "2026-03-06T09:00:00Z")
    repo.write(CHG, approved(at="2026-03-09T10:00:00Z"), dedent=False)
    commit(repo.root, "approved", "2026-03-09T10:05:00Z")


def commit(root: Path, message: str, when: str) -> None:
    git(root, "add", "-A", date=when, who=LENA)
    git(root, "commit", "-q", "-m", message, date=when, who=LENA)


def cache_file(kind: str) -> Path:
    [path] = Path(os.environ["OPSLEDGER_CACHE_DIR"]).glob(f"history-{kind}-*.*")
    return path


def blob_frames(path: Path) -> tuple[bytes, list[Frame]]:
    """A cache file's header and entries, as an attacker without the key sees them."""
    header = path.read_bytes().split(b"\n", 1)[0] + b"\n"
    frames, whole = read_frames(path, header)
    assert whole and frames
    return header, frames


def version_id(frame: Frame) -> object:
    value = marshal.loads(frame.payload)
    return value["d"]["id"] if "d" in value else None


def drop_index() -> None:
    """Remove the cached index: the tests here are about the log and blob caches, which
    are read only where no cached index can be used (the index's own: test_history_snapshot)."""
    for path in Path(os.environ["OPSLEDGER_CACHE_DIR"]).glob("history-index-*.bin"):
        path.unlink()


def provenance(cli: InvokeCli, root: Path) -> list[str]:
    drop_index()
    result = cli(
        "audit", "--repo", root, "--as-of", AS_OF, "--format", "json",
        "--select", "GIT-PROVENANCE",
    )  # fmt: skip
    assert result.status in (0, 1), result.err
    return [f["message"] for f in json.loads(result.out)["findings"]]


def trail(cli: InvokeCli, root: Path) -> object:
    drop_index()
    result = cli("history", "CHG-2026-0107", "--repo", root, "--format", "json")
    assert result.status == 0, result.err
    return json.loads(result.out)["trail"]


@pytest.fixture
def warm(repo: Repo, cli: InvokeCli) -> tuple[Repo, list[str]]:
    """The repository, its cache written by a first audit, and what that audit found."""
    approved_by_requester(repo)
    found = provenance(cli, repo.root)
    assert len(found) == 1 and "not by priya.shah@example.com" in found[0]
    return repo, found


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def replaced(value: Any, old: str, new: str) -> Any:
    """``value`` (a cache entry: tuples, lists, dicts, strings) with ``old`` made ``new``."""
    if isinstance(value, str):
        return value.replace(old, new)
    if isinstance(value, (list, tuple)):
        return type(value)(replaced(v, old, new) for v in value)
    if isinstance(value, dict):
        return {k: replaced(v, old, new) for k, v in value.items()}
    return value


def test_tampered_log_cache_cannot_forge_the_committer(
    warm: tuple[Repo, list[str]], cli: InvokeCli
) -> None:
    """Editing who made the commits in the cached log would clear GIT-PROVENANCE."""
    repo, found = warm
    path = cache_file("log")
    header, frames = blob_frames(path)
    forged = [  # each segment re-encoded with the committer changed, under its old MAC
        Frame(f.mac, f.name, marshal.dumps(replaced(marshal.loads(f.payload), *SWAP)))
        for f in frames
    ]
    assert forged != frames
    path.write_bytes(header + frame_bytes(forged))
    assert provenance(cli, repo.root) == found
    assert b"priya.shah@example.com" not in cache_file("log").read_bytes()  # rewritten
    assert provenance(cli, repo.root) == found


SWAP = ("lena.fischer@example.com", "priya.shah@example.com")


def test_tampered_blob_cache_cannot_change_what_a_version_said(
    warm: tuple[Repo, list[str]], cli: InvokeCli
) -> None:
    repo, found = warm
    expected = trail(cli, repo.root)
    path = cache_file("blobs")
    header, frames = blob_frames(path)
    forged = []  # the approval now says Lena approved (as the committer): keeps the old MAC
    for frame in frames:
        text = json.dumps(marshal.loads(frame.payload)).replace("priya.shah", "lena.fischer")
        forged.append(Frame(frame.mac, frame.name, marshal.dumps(json.loads(text))))
    assert forged != frames
    path.write_bytes(header + frame_bytes(forged))
    assert provenance(cli, repo.root) == found
    # entries are checked when used: the forged ones failed, and the file was rewritten
    planted = {f.payload for f in forged} - {f.payload for f in frames}
    assert planted and not planted & {f.payload for f in blob_frames(cache_file("blobs"))[1]}
    assert trail(cli, repo.root) == expected


def test_blob_ids_swapped_between_cache_lines(warm: tuple[Repo, list[str]], cli: InvokeCli) -> None:
    repo, found = warm
    expected = trail(cli, repo.root)
    path = cache_file("blobs")
    header, frames = blob_frames(path)
    versions = [i for i, f in enumerate(frames) if version_id(f) == "CHG-2026-0107"]
    assert len(versions) == 2  # the request and the approval
    first, second = (frames[i] for i in versions)
    frames[versions[0]] = Frame(first.mac, second.name, first.payload)
    frames[versions[1]] = Frame(second.mac, first.name, second.payload)
    path.write_bytes(header + frame_bytes(frames))
    assert trail(cli, repo.root) == expected
    assert provenance(cli, repo.root) == found


def test_damaged_segment_in_the_middle_of_the_log_cache(
    warm: tuple[Repo, list[str]], cli: InvokeCli
) -> None:
    """A damaged first segment would silently drop its commits if the rest were kept."""
    repo, found = warm  # the first segment holds the approval
    repo.write("runbooks/RB-0003-orders-db-pool.md", RUNBOOK + "\nReviewed.\n", dedent=False)
    commit(repo.root, "runbook", "2026-03-10T09:00:00Z")
    assert provenance(cli, repo.root) == found  # appends a second segment
    path = cache_file("log")
    header, frames = blob_frames(path)
    assert len(frames) == 2
    [first] = [f for f in frames if marshal.loads(f.payload)[0] is None]  # base: the root
    rest = [f for f in frames if f is not first]
    damaged = bytearray(first.payload)
    damaged[len(damaged) // 2] ^= 0xFF
    path.write_bytes(header + frame_bytes([Frame(first.mac, first.name, bytes(damaged)), *rest]))
    assert provenance(cli, repo.root) == found
    path.write_bytes(header + frame_bytes(rest))  # the first segment missing altogether
    assert provenance(cli, repo.root) == found
    # the log was read from the first commit again: one segment from the root to HEAD
    roots = [marshal.loads(f.payload) for f in blob_frames(cache_file("log"))[1]]
    head = git(repo.root, "rev-parse", "HEAD").strip()
    assert [s[1] for s in roots if s[0] is None] == [head]


def test_truncated_cache_files(warm: tuple[Repo, list[str]], cli: InvokeCli) -> None:
    repo, found = warm
    expected = trail(cli, repo.root)
    for kind in ("log", "blobs"):
        path = cache_file(kind)
        data = path.read_bytes()
        path.write_bytes(data[: len(data) - 40])
    assert trail(cli, repo.root) == expected
    assert provenance(cli, repo.root) == found


def test_another_repositorys_cache_is_not_trusted(
    warm: tuple[Repo, list[str]], cli: InvokeCli, tmp_path: Path
) -> None:
    """A clone has the same commits and blobs but its own key: entries written (here:
    forged) under the original's key are discarded."""
    from opsledger.history.store import repository_key

    repo, found = warm
    original = {kind: cache_file(kind) for kind in ("blobs", "log")}
    # forge blob entries the original repository accepts (its own key signs them)
    header, frames = blob_frames(original["blobs"])
    namespace = header.decode().rstrip("\n").split(" ", 5)[5]
    key = repository_key(repo.root)
    assert key is not None
    store = FrameStore(original["blobs"], key, namespace)
    for frame in frames:
        value = store.get(frame.name)
        assert value is not None  # the namespace was read right: the entry passes
        text = json.dumps(value).replace("priya.shah", "lena.fischer")
        store.put(frame.name, json.loads(text))
    store.save()
    assert provenance(cli, repo.root) == []  # whoever holds the key is trusted
    clone = tmp_path / "clone"
    git(repo.root, "clone", "-q", str(repo.root), str(clone))
    assert provenance(cli, clone) == found  # its first run writes its own cache
    cache = Path(os.environ["OPSLEDGER_CACHE_DIR"])
    for kind, theirs in original.items():
        [mine] = set(cache.glob(f"history-{kind}-*.*")) - {theirs}
        shutil.copyfile(theirs, mine)  # the original's files in the clone's place
    assert provenance(cli, clone) == found


def test_key_is_private_and_outside_the_work_tree(
    warm: tuple[Repo, list[str]],
) -> None:
    repo, _ = warm
    key = repo.root / ".git" / "opsledger-cache.key"
    assert stat.S_IMODE(key.stat().st_mode) & 0o077 == 0
    assert git(repo.root, "status", "--porcelain", "--ignored") == ""
    for kind in ("log", "blobs"):
        frames = blob_frames(cache_file(kind))[1]
        assert frames and all(len(frame.mac) == 32 for frame in frames)
