"""The PR gate with the cached index of main (a full audit ran first): it continues that
index in memory to the pull request's head, hands the rules the reported records'
histories and never walks the pull request's paths or writes the cache. One truth: on
hostile histories its output is the gate's with an empty cache, and its history findings
are the full audit's for the records it reports. Real git repositories, the real CLI."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from test_history_renames import CLOSED, LENA, PIR, PIR1, PRIYA, TOM, rewritten

from opsledger.cache import Frame, frame_bytes, read_frames
from opsledger.history.index import FOLDERS
from opsledger.history.snapshot import _record_name
from opsledger.loading import Limits
from opsledger.scope import plan

from conftest import AS_OF, RUNBOOK, Caches, InvokeCli, Repo, git, git_init

INC = "records/incidents/{}.yaml"
CHG = "records/changes/CHG-2026-0001.yaml"
CHANGE = """\
id: CHG-2026-0001
title: Raise the orders-db pool size
type: normal
risk: medium
status: completed
services: [orders-db]
requested_by: tom.becker@example.com
window:
  start: 2026-03-06T22:00:00Z
  end: 2026-03-06T23:00:00Z
plan: Raise default_pool_size from 40 to 80 on every pgbouncer pod, one pod at a time.
rollback: Set default_pool_size back to 40 and restart the pods one at a time.
approvals:
  - by: priya.shah@example.com
    at: 2026-03-05T12:00:00Z
    decision: approved
"""


PIR10 = "records/pirs/PIR-2026-0010.md"


def pir(number: int, incident: int) -> str:
    return PIR.replace("PIR-2026-0001", f"PIR-2026-{number:04d}").replace(
        "INC-2026-0001", f"INC-2026-{incident:04d}"
    )


def incident(number: int, text: str = CLOSED) -> str:
    return text.replace("INC-2026-0001", f"INC-2026-{number:04d}")


#: a P2 incident: its PIR is due within 10 business days of resolution
MAJOR = incident(10).replace("P3", "P2") + (
    "commander: lena.fischer@example.com\n"
    "bridge_opened_at: 2026-03-04T09:15:00Z\n"
    "pir: PIR-2026-0010\n"
)


def commit(root: Path, message: str, when: str, who: str = LENA) -> None:
    git(root, "add", "-A", date=when, who=who)
    git(root, "commit", "-q", "--allow-empty", "-m", message, date=when, who=who)


def move(repo: Repo, old: str, new: str, text: str) -> None:
    (repo.root / new).parent.mkdir(parents=True, exist_ok=True)
    git(repo.root, "mv", old, new)
    repo.write(new, text, dedent=False)


def main_history(repo: Repo) -> None:
    """main: closed incidents, a PIR, a change, and a hostile past: an incident renamed to
    another ID, an ``id`` edited in place, a deletion, one ID at two paths, a version that
    does not parse, a merged branch and an octopus merge."""
    root = repo.root
    repo.write("runbooks/RB-0003-orders-db-pool.md", RUNBOOK, dedent=False)
    git_init(root)
    commit(root, "scaffold", "2026-03-01T08:00:00Z")
    for number in range(1, 8):
        repo.write(INC.format(f"INC-2026-{number:04d}"), incident(number), dedent=False)
    commit(root, "incidents closed", "2026-03-04T12:05:00Z")
    repo.write(INC.format("INC-2026-0010"), MAJOR, dedent=False)
    repo.write(PIR1, PIR, dedent=False)
    repo.write(PIR10, pir(10, 10), dedent=False)
    repo.write(CHG, CHANGE, dedent=False)
    commit(root, "PIRs approved, change recorded", "2026-03-05T10:00:00Z", who=PRIYA)
    # renamed to another ID and rewritten: INC-3 is deleted, INC-13 takes its content
    move(repo, INC.format("INC-2026-0003"), INC.format("INC-2026-0013"), rewritten(incident(3)))
    repo.write(
        INC.format("INC-2026-0013"),
        rewritten(incident(3)).replace("INC-2026-0003", "INC-2026-0013"),
        dedent=False,
    )
    # the id edited in place: INC-4 is deleted, INC-14 lives at INC-4's path
    repo.write(INC.format("INC-2026-0004"), incident(14), dedent=False)
    # a file named for one ID holding another: INC-31 lives at INC-30's path
    repo.write(INC.format("INC-2026-0030"), incident(31), dedent=False)
    commit(root, "renamed and re-identified", "2026-03-06T09:00:00Z", who=TOM)
    # the id corrected to the file's name: INC-31 is deleted at INC-30's path
    repo.write(INC.format("INC-2026-0030"), incident(30), dedent=False)
    commit(root, "id corrected", "2026-03-06T10:00:00Z", who=TOM)
    (root / INC.format("INC-2026-0005")).unlink()
    repo.write(INC.format("2026/INC-2026-0006"), rewritten(incident(6)), dedent=False)
    repo.write(CHG, "id: [unclosed\n", dedent=False)
    commit(root, "deleted, duplicated, broken", "2026-03-07T09:00:00Z", who=TOM)
    git(root, "checkout", "-q", "-b", "side")
    repo.write(INC.format("INC-2026-0007"), rewritten(incident(7)), dedent=False)
    commit(root, "softer impact on a branch", "2026-03-08T09:00:00Z", who=TOM)
    git(root, "checkout", "-q", "main")
    repo.write(CHG, CHANGE.replace("medium", "low"), dedent=False)
    commit(root, "change parses again, risk lowered", "2026-03-08T10:00:00Z", who=TOM)
    git(root, "merge", "-q", "--no-ff", "-m", "merge side", "side", date="2026-03-08T11:00:00Z")
    for branch, number in (("one", 8), ("two", 9)):
        git(root, "checkout", "-q", "-b", branch, "main")
        repo.write(INC.format(f"INC-2026-{number:04d}"), incident(number), dedent=False)
        commit(root, f"INC-{number} on {branch}", "2026-03-09T09:00:00Z", who=TOM)
    git(root, "checkout", "-q", "main")
    git(root, "merge", "-q", "-m", "octopus", "one", "two", date="2026-03-09T10:00:00Z")


def pr_edit_closed(repo: Repo) -> None:
    repo.write(INC.format("INC-2026-0001"), rewritten(CLOSED), dedent=False)
    commit(repo.root, "softer impact after close", "2026-03-10T09:00:00Z", who=TOM)


def pr_rename(repo: Repo) -> None:
    new = INC.format("2026/INC-2026-0021")
    move(repo, INC.format("INC-2026-0001"), new, rewritten(CLOSED, "INC-2026-0021"))
    commit(repo.root, "renamed to another ID", "2026-03-10T09:00:00Z", who=TOM)


def pr_id_in_place(repo: Repo) -> None:
    repo.write(INC.format("INC-2026-0002"), incident(22), dedent=False)
    commit(repo.root, "id edited in place", "2026-03-10T09:00:00Z", who=TOM)


def pr_delete(repo: Repo) -> None:
    (repo.root / INC.format("INC-2026-0007")).unlink()
    (repo.root / PIR1).unlink()
    commit(repo.root, "deleted", "2026-03-10T09:00:00Z", who=TOM)


def pr_touch_the_past(repo: Repo) -> None:
    """Records whose past on main is hostile: the heir of a rename, the record now at a
    re-identified path, one of an ID's two paths, the change that once did not parse."""
    for name in ("INC-2026-0013", "INC-2026-0004", "2026/INC-2026-0006"):
        path = repo.root / INC.format(name)
        path.write_text(path.read_text().replace("Checkout", "The checkout"))
    repo.write(CHG, CHANGE.replace("medium", "high"), dedent=False)
    commit(repo.root, "edits", "2026-03-10T09:00:00Z", who=TOM)


def pr_unparsable_and_merges(repo: Repo) -> None:
    """A version that does not parse, a branch merged into the pull request and an
    octopus merge in it."""
    root = repo.root
    repo.write(INC.format("INC-2026-0008"), "id: [unclosed\n", dedent=False)
    commit(root, "broken", "2026-03-10T09:00:00Z", who=TOM)
    git(root, "checkout", "-q", "-b", "pr-side")
    repo.write(INC.format("INC-2026-0009"), rewritten(incident(9)), dedent=False)
    commit(root, "softer on a side branch", "2026-03-10T10:00:00Z", who=TOM)
    git(root, "checkout", "-q", "pr")
    git(
        root,
        "merge",
        "-q",
        "--no-ff",
        "-m",
        "merge pr-side",
        "pr-side",
        date="2026-03-10T11:00:00Z",
    )
    for branch, number in (("three", 2), ("four", 7)):
        git(root, "checkout", "-q", "-b", branch, "pr")
        repo.write(INC.format(f"INC-2026-{number:04d}"), rewritten(incident(number)), dedent=False)
        commit(root, f"INC-{number} on {branch}", "2026-03-10T12:00:00Z", who=TOM)
    git(root, "checkout", "-q", "pr")
    git(root, "merge", "-q", "-m", "octopus", "three", "four", date="2026-03-10T13:00:00Z")


def pr_path_of_another_id(repo: Repo) -> None:
    """The file where another ID (deleted since) last lived, edited: the audit shows that
    record's findings at this path."""
    path = repo.root / INC.format("INC-2026-0030")
    path.write_text(path.read_text().replace("Checkout", "The checkout"))
    commit(repo.root, "edit", "2026-03-10T09:00:00Z", who=TOM)


def pr_second_pir(repo: Repo) -> None:
    """A second PIR of INC-10 (a P2: its PIR is due within 10 business days), approved
    late: INC-10 is reported through it; the first, approved in time, is loaded, not
    reported (when a PIR landed shows in no audit finding, only whether one is missing)."""
    repo.write("records/pirs/PIR-2026-0011.md", pir(11, 10), dedent=False)
    commit(repo.root, "second PIR", "2026-03-27T09:00:00Z", who=PRIYA)


def pr_pir_duplicate_and_restore(repo: Repo) -> None:
    """The PIR edited (its incident reported through it), INC-1 added again at a second
    path, and INC-5 (deleted on main) added back rewritten."""
    repo.write(PIR1, PIR.replace("Checkout failed.", "Checkout failed for a while."), dedent=False)
    repo.write(INC.format("2026/INC-2026-0001"), rewritten(CLOSED), dedent=False)
    repo.write(INC.format("INC-2026-0005"), rewritten(incident(5)), dedent=False)
    commit(repo.root, "edits", "2026-03-10T09:00:00Z", who=TOM)


PULL_REQUESTS: dict[str, Callable[[Repo], None]] = {
    "edit after close": pr_edit_closed,
    "renamed to another ID": pr_rename,
    "id edited in place": pr_id_in_place,
    "deleted": pr_delete,
    "hostile past": pr_touch_the_past,
    "unparsable, merges, octopus": pr_unparsable_and_merges,
    "PIR, duplicate, restored": pr_pir_duplicate_and_restore,
    "path of another ID": pr_path_of_another_id,
    "second PIR": pr_second_pir,
}


def audit(cli: InvokeCli, root: Path, *args: str) -> tuple[str, list[dict[str, Any]]]:
    result = cli("audit", "--repo", root, "--as-of", AS_OF, "--format", "json", *args)
    assert result.status in (0, 1), result.err
    return result.out, json.loads(result.out)["findings"]


def reported(found: list[dict[str, Any]], root: Path) -> list[dict[str, Any]]:
    """The findings the gate reports: of the records (IDs or paths) in its scope, or every
    one where the pull request changed what every verdict may read (the policy)."""
    scope = plan(root, "main", Limits())
    if scope.everything:
        return found
    return [f for f in found if f["record"] in scope.report or f["path"] in scope.report]


def history_findings(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [f for f in found if f["rule"].startswith("GIT-")]


def warm_gate(
    repo: Repo, cli: InvokeCli, caches: Caches, walked: list[tuple[tuple[str, ...], str | None]]
) -> tuple[str, list[dict[str, Any]]]:
    """The gate with main's cache, checked to have walked no log but that of the commits
    since main's cached head, over the record folders."""
    caches.use(caches.main)
    head = git(repo.root, "rev-parse", "main").strip()
    del walked[:]
    out = audit(cli, repo.root, "--changed-since", "main")
    assert walked and all(w == (FOLDERS, head) for w in walked), walked
    return out


def damage(path: Path, record_id: str) -> None:
    """Flip one byte of ``record_id``'s entry in the cached index at ``path``."""
    header = path.read_bytes().split(b"\n", 1)[0] + b"\n"
    frames, whole = read_frames(path, header)
    assert whole
    name = _record_name(record_id)
    (at,) = [i for i, f in enumerate(frames) if f.name == name]
    payload = bytearray(frames[at].payload)
    payload[len(payload) // 2] ^= 1
    frames[at] = Frame(frames[at].mac, name, memoryview(bytes(payload)))
    path.write_bytes(header + frame_bytes(frames))


@pytest.mark.parametrize("pull_request", PULL_REQUESTS.values(), ids=list(PULL_REQUESTS))
def test_warm_gate_is_the_cold_gate_and_the_full_audit(
    repo: Repo,
    cli: InvokeCli,
    caches: Caches,
    walked: list[tuple[tuple[str, ...], str | None]],
    pull_request: Callable[[Repo], None],
) -> None:
    main_history(repo)
    root = repo.root
    caches.use(caches.main)
    audit(cli, root)  # main's full audit: its index cached
    git(root, "checkout", "-q", "-b", "pr")
    pull_request(repo)
    warm, warm_found = warm_gate(repo, cli, caches, walked)
    caches.fresh()
    cold, _ = audit(cli, root, "--changed-since", "main")
    assert warm == cold
    caches.fresh()
    _, full = audit(cli, root)
    assert warm_found == reported(full, root)
    assert history_findings(warm_found)  # the gate has history findings to show


def test_warm_gate_on_the_merge_ref_and_after_main_moved(
    repo: Repo,
    cli: InvokeCli,
    caches: Caches,
    walked: list[tuple[tuple[str, ...], str | None]],
) -> None:
    """The cached index is of an older main (main moved on since, deleting a record and
    renaming one), HEAD is GitHub's merge of the pull request onto main: the commits since
    the cached head, main's included, are applied."""
    main_history(repo)
    root = repo.root
    caches.use(caches.main)
    audit(cli, root)
    cached_head = git(root, "rev-parse", "HEAD").strip()
    (root / INC.format("INC-2026-0009")).unlink()
    move(repo, INC.format("INC-2026-0008"), INC.format("INC-2026-0018"), incident(18))
    commit(root, "main moves on", "2026-03-10T08:00:00Z", who=TOM)
    git(root, "checkout", "-q", "-b", "pr", "main~1")
    pr_rename(repo)
    git(root, "checkout", "-q", "--detach", "main")
    git(root, "merge", "-q", "--no-ff", "-m", "merge pr", "pr", date="2026-03-10T10:00:00Z")
    del walked[:]
    warm, warm_found = audit(cli, root, "--changed-since", "main")
    assert walked and all(w == (FOLDERS, cached_head) for w in walked), walked
    caches.fresh()
    cold, _ = audit(cli, root, "--changed-since", "main")
    assert warm == cold
    caches.fresh()
    _, full = audit(cli, root)
    assert warm_found == reported(full, root)
    assert history_findings(warm_found)


def test_warm_gate_keeps_mains_cached_index(
    repo: Repo,
    cli: InvokeCli,
    caches: Caches,
    walked: list[tuple[tuple[str, ...], str | None]],
) -> None:
    """The gate neither writes the cached index (a pull request's head never replaces
    main's) nor spoils it: main's next full audit still continues it, walking only main's
    new commit."""
    main_history(repo)
    root = repo.root
    caches.use(caches.main)
    audit(cli, root)
    cached = caches.index_file().read_bytes()
    git(root, "checkout", "-q", "-b", "pr")
    pr_delete(repo)
    warm_gate(repo, cli, caches, walked)
    assert caches.index_file().read_bytes() == cached
    git(root, "checkout", "-q", "main")
    cached_head = git(root, "rev-parse", "HEAD").strip()
    pr_edit_closed(repo)
    del walked[:]
    _, continued = audit(cli, root)
    assert walked == [(FOLDERS, cached_head)]
    assert caches.index_file().read_bytes() != cached  # main's new head is cached
    caches.fresh()
    assert audit(cli, root)[1] == continued


def test_gate_falls_back_to_the_paths_log_when_the_cache_cannot_continue(
    repo: Repo,
    cli: InvokeCli,
    caches: Caches,
    walked: list[tuple[tuple[str, ...], str | None]],
) -> None:
    """HEAD off the cached head's first-parent chain (main rewritten under the pull
    request), and a damaged record entry: the pull request's paths are walked, and the
    output is the empty cache's."""
    main_history(repo)
    root = repo.root
    caches.use(caches.main)
    audit(cli, root)
    git(root, "checkout", "-q", "-b", "pr", "main~1")  # before the octopus merge
    pr_edit_closed(repo)
    del walked[:]
    off_chain, _ = audit(cli, root, "--changed-since", "main")
    assert any(w[0] != FOLDERS for w in walked)
    caches.fresh()
    assert audit(cli, root, "--changed-since", "main")[0] == off_chain

    git(root, "checkout", "-q", "-B", "pr", "main")
    pr_edit_closed(repo)
    caches.use(caches.main)
    damage(caches.index_file(), "INC-2026-0001")
    del walked[:]
    broken, _ = audit(cli, root, "--changed-since", "main")
    assert any(w[0] != FOLDERS for w in walked)
    caches.fresh()
    assert audit(cli, root, "--changed-since", "main")[0] == broken


def scoped_file(folder: Path) -> Path:
    (found,) = folder.glob("history-scoped-*.bin")
    return found


@pytest.mark.parametrize(
    "pull_request",
    [pr_rename, pr_unparsable_and_merges, pr_pir_duplicate_and_restore],
    ids=["renamed to another ID", "unparsable, merges, octopus", "PIR, duplicate, restored"],
)
def test_a_gate_run_again_reads_its_walk_back(
    repo: Repo,
    cli: InvokeCli,
    caches: Caches,
    walked: list[tuple[tuple[str, ...], str | None]],
    pull_request: Callable[[Repo], None],
) -> None:
    """Without main's cache, the gate walks the log of the pull request's paths; run again
    at the same head on the same records (a CI job run again, a local run before
    committing) it reads that walk back and prints the same, walking nothing. A damaged
    entry, or a new commit, is walked again: the output stays an empty cache's."""
    main_history(repo)
    root = repo.root
    git(root, "checkout", "-q", "-b", "pr")
    pull_request(repo)
    own = caches.fresh()
    del walked[:]
    first, _ = audit(cli, root, "--changed-since", "main")
    assert walked  # the paths' log
    del walked[:]
    assert audit(cli, root, "--changed-since", "main")[0] == first
    assert not walked

    path = scoped_file(own)
    header = path.read_bytes().split(b"\n", 1)[0] + b"\n"
    (frame,), whole = read_frames(path, header)
    assert whole
    payload = bytearray(frame.payload)
    payload[len(payload) // 2] ^= 1
    path.write_bytes(header + frame_bytes([Frame(frame.mac, frame.name, bytes(payload))]))
    del walked[:]
    assert audit(cli, root, "--changed-since", "main")[0] == first
    assert walked  # the damaged walk is not read: walked again

    repo.write(INC.format("INC-2026-0002"), incident(2), dedent=False)
    commit(root, "another record", "2026-03-11T09:00:00Z", who=TOM)
    del walked[:]
    moved, _ = audit(cli, root, "--changed-since", "main")
    assert walked  # another head: walked again
    caches.fresh()
    assert audit(cli, root, "--changed-since", "main")[0] == moved
