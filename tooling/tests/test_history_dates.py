"""Commit dates out of range, garbled or crafted, and a damaged repository: every command
that reads history keeps working (never exit 3), implausible dates are reported by
GIT-BACKDATED, and git failing to read the history is never mistaken for no history."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from opsledger.history.index import build_history

from conftest import ACKED, RUNBOOK, InvokeCli, Repo, git, git_init

INC = "records/incidents/INC-2026-0001.yaml"
AS_OF = "2026-06-30T12:00:00Z"
#: dates git itself accepts from the environment
ENV_DATES = [
    "@99999999999999 +0000",  # year 3170843: beyond what Python's datetime holds
    "@253402300800 +0000",  # year 10000
    "@4102444800 +0000",  # 2100-01-01
    "@0 +0000",  # the Unix epoch
    "@1772625900 +9999",  # an offset no clock has
]
#: author/committer lines only a crafted commit object can hold
CRAFTED = [
    "99999999999999999999999 +0000",
    "abc +0000",
    "-5 +0000",
    "1772625900 +99999999",
    "",
]


def commit_env(root: Path, message: str, when: str) -> str:
    git(root, "add", "-A", date=when)
    git(root, "commit", "-q", "-m", message, date=when)
    return git(root, "rev-parse", "HEAD").strip()


def commit_crafted(root: Path, stamp: str) -> str:
    """A commit object written directly, with ``stamp`` as its author and committer date."""
    git(root, "add", "-A")
    tree = git(root, "write-tree").strip()
    parent = git(root, "rev-parse", "HEAD").strip()
    body = (
        f"tree {tree}\nparent {parent}\nauthor Mallory <mallory@example.com> {stamp}\n"
        f"committer Mallory <mallory@example.com> {stamp}\n\ncrafted\n"
    )
    sha = subprocess.run(
        ["git", "hash-object", "-t", "commit", "-w", "--stdin", "--literally"],
        cwd=root,
        input=body,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"},
    ).stdout.strip()
    git(root, "update-ref", "HEAD", sha)
    return sha


@pytest.fixture
def dated(repo: Repo) -> tuple[Repo, list[str]]:
    """An incident updated by one commit per implausible date, then by a normal one."""
    repo.write("runbooks/RB-0003-orders-db-pool.md", RUNBOOK, dedent=False)
    git_init(repo.root)
    repo.write(INC, ACKED, dedent=False)
    commit_env(repo.root, "opened", "2026-03-04T09:30:00Z")
    bad: list[str] = []
    for n, when in enumerate(ENV_DATES):
        repo.write(INC, ACKED + f"category: c{n}\n", dedent=False)
        bad.append(commit_env(repo.root, f"date {when}", when))
    for n, stamp in enumerate(CRAFTED):
        repo.write(INC, ACKED + f"category: d{n}\n", dedent=False)
        bad.append(commit_crafted(repo.root, stamp))
    repo.write(INC, ACKED + "category: database\n", dedent=False)
    commit_env(repo.root, "categorised", "2026-03-05T09:00:00Z")
    return repo, bad


def test_every_history_command_survives_implausible_dates(
    dated: tuple[Repo, list[str]], cli: InvokeCli, tmp_path: Path
) -> None:
    repo, bad = dated
    root = repo.root
    for args in (
        ("history", "INC-2026-0001"),
        ("history", "INC-2026-0001", "--format", "json"),
        ("kpi", "--format", "json"),
        ("brief", "INC-2026-0001"),
        ("report", "weekly", "--period", "2026-W10"),
        ("site", "build", "--output", str(tmp_path / "site")),
    ):
        result = cli(*args, "--repo", root)
        assert result.status == 0, (args, result.err)
    audit = cli("audit", "--repo", root, "--as-of", AS_OF, "--format", "json", "--select", "GIT")
    assert audit.status == 1, audit.err
    findings = json.loads(audit.out)["findings"]
    assert [f["rule"] for f in findings] == ["GIT-BACKDATED"] * len(bad)
    messages = " ".join(f["message"] for f in findings)
    assert all(f"commit {sha[:7]} by " in messages for sha in bad)
    assert "claims an implausible author date @99999999999999 and committer date" in messages
    assert "author time zone +10039 and committer time zone +10039" in messages  # git's +9999
    assert "author date (none git can read)" in messages
    assert "commit dates out of order" not in messages  # the replaced dates keep the order


def test_replaced_dates_count_from_the_commit_before(dated: tuple[Repo, list[str]]) -> None:
    repo, bad = dated
    history = build_history(repo.root).get("INC-2026-0001")
    assert history is not None
    opened = history.versions[0].landed_at
    assert opened.isoformat() == "2026-03-04T09:30:00+00:00"
    flagged = [v for v in history.versions if v.commit.date_note]
    assert [v.commit.sha for v in flagged] == bad
    offset = next(v for v in flagged if "time zone" in v.commit.date_note)
    assert offset.commit.date_note == "author time zone +10039 and committer time zone +10039"
    assert offset.landed_at.isoformat() == "2026-03-04T12:05:00+00:00"  # its own, real time
    for version in flagged:
        if version is not offset:
            assert version.landed_at in (opened, offset.landed_at)
            assert version.commit.authored_at == version.landed_at
    assert history.last.landed_at.isoformat() == "2026-03-05T09:00:00+00:00"


@pytest.mark.parametrize(
    ("ahead", "flagged"), [(timedelta(hours=23), False), (timedelta(days=2), True)]
)
def test_far_future_is_measured_from_when_the_history_is_read(
    repo: Repo, ahead: timedelta, flagged: bool
) -> None:
    git_init(repo.root)
    repo.write(INC, ACKED, dedent=False)
    now = datetime(2026, 3, 4, 9, 30, tzinfo=UTC)
    commit_env(repo.root, "opened", (now + ahead).strftime("%Y-%m-%dT%H:%M:%SZ"))
    history = build_history(repo.root, now=now).get("INC-2026-0001")
    assert history is not None
    assert bool(history.first.commit.date_note) is flagged


def test_first_commit_with_an_implausible_date_lands_with_the_next(repo: Repo) -> None:
    git_init(repo.root)
    repo.write(INC, ACKED, dedent=False)
    commit_env(repo.root, "opened", "@0 +0000")
    repo.write(INC, ACKED + "category: database\n", dedent=False)
    commit_env(repo.root, "categorised", "2026-03-05T09:00:00Z")
    history = build_history(repo.root).get("INC-2026-0001")
    assert history is not None
    assert [v.landed_at.isoformat() for v in history.versions] == ["2026-03-05T09:00:00+00:00"] * 2


def loose_object(root: Path, sha: str) -> Path:
    return root / ".git" / "objects" / sha[:2] / sha[2:]


def test_git_unable_to_read_the_history_stops_with_status_4(repo: Repo, cli: InvokeCli) -> None:
    """A missing tree: git log fails. That is no history to judge, never an empty one."""
    git_init(repo.root)
    repo.write(INC, ACKED, dedent=False)
    commit_env(repo.root, "opened", "2026-03-04T09:30:00Z")
    repo.write(INC, ACKED + "category: database\n", dedent=False)
    commit_env(repo.root, "categorised", "2026-03-05T09:00:00Z")
    tree = git(repo.root, "rev-parse", "HEAD~1:records/incidents").strip()
    loose_object(repo.root, tree).unlink()
    for args in (("audit", "--as-of", AS_OF), ("history", "INC-2026-0001"), ("kpi",)):
        result = cli(*args, "--repo", repo.root)
        assert result.status == 4, (args, result.status, result.err)
        assert "git cannot read this branch's history" in result.err


def test_a_missing_blob_stops_with_status_4_as_a_missing_tree_does(
    repo: Repo, cli: InvokeCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A version the log names whose blob git cannot give (a damaged object store, a
    blobless partial clone whose remote cannot be reached) is history that cannot be read
    in full: never a version taken as unreadable, which let a closed version's edits go
    unreported (a closing version that cannot be read never counts as closing)."""
    git_init(repo.root)
    closed = ACKED.replace("status: open", "status: closed") + (
        "mitigated_at: 2026-03-04T10:00:00Z\nresolved_at: 2026-03-04T11:00:00Z\n"
        "closed_at: 2026-03-04T12:00:00Z\nresolution: Raised the pool size and restarted.\n"
    )
    repo.write(INC, closed, dedent=False)
    commit_env(repo.root, "closed", "2026-03-04T12:05:00Z")
    blob = git(repo.root, "rev-parse", f"HEAD:{INC}").strip()
    repo.write(INC, closed + "category: database\n", dedent=False)
    commit_env(repo.root, "edited after close", "2026-03-10T09:00:00Z")
    assert "GIT-AFTER-CLOSE" in cli("audit", "--repo", repo.root, "--as-of", AS_OF).out
    loose_object(repo.root, blob).unlink()
    # (a cache that holds the version, checked when it was written, still answers for it)
    monkeypatch.setenv("OPSLEDGER_CACHE_DIR", str(tmp_path / "empty-cache"))
    for args in (
        ("audit", "--as-of", AS_OF),
        ("audit", "--as-of", AS_OF, "--changed-since", "HEAD~1"),
        ("history", "INC-2026-0001"),
        ("kpi",),
    ):
        result = cli(*args, "--repo", repo.root)
        assert result.status == 4, (args, result.status, result.err)
        assert f"git cannot read this branch's history (missing blob {blob})" in result.err


def test_a_gate_whose_base_git_cannot_read_stops_with_status_4(repo: Repo, cli: InvokeCli) -> None:
    """A tree of the pull request's base is gone: the gate says so (exit 4), as the full
    audit does, never an internal error."""
    git_init(repo.root)
    repo.write(INC, ACKED, dedent=False)
    commit_env(repo.root, "opened", "2026-03-04T09:30:00Z")
    repo.write(INC, ACKED + "category: database\n", dedent=False)
    commit_env(repo.root, "categorised", "2026-03-05T09:00:00Z")
    tree = git(repo.root, "rev-parse", "HEAD~1:records/incidents").strip()
    loose_object(repo.root, tree).unlink()
    result = cli("audit", "--repo", repo.root, "--as-of", AS_OF, "--changed-since", "HEAD~1")
    assert result.status == 4, (result.status, result.err)
    assert "--changed-since: git cannot read this branch's history" in result.err
    assert "internal error" not in result.err


def test_symlink_and_submodule_in_history_are_not_read(repo: Repo, cli: InvokeCli) -> None:
    """A gitlink names a commit that is not in the repository: never read as a blob."""
    git_init(repo.root)
    repo.write(INC, ACKED, dedent=False)
    commit_env(repo.root, "opened", "2026-03-04T09:30:00Z")
    os.symlink("/etc/passwd", repo.root / "records/incidents/INC-2026-0002.yaml")
    git(
        repo.root,
        "update-index",
        "--add",
        "--cacheinfo",
        f"160000,{'1' * 40},records/incidents/INC-2026-0003.yaml",
    )
    git(repo.root, "add", "records/incidents/INC-2026-0002.yaml")
    git(repo.root, "commit", "-q", "-m", "odd files", date="2026-03-05T09:00:00Z")
    for record, why in (("INC-2026-0002", "a symbolic link"), ("INC-2026-0003", "a submodule")):
        result = cli("history", record, "--repo", repo.root, "--format", "json")
        assert result.status == 0, result.err
        assert json.loads(result.out)["trail"][0]["error"].startswith(why)
    assert cli("audit", "--repo", repo.root, "--as-of", AS_OF).status in (0, 1)


@pytest.mark.parametrize("gate", [False, True], ids=["full audit", "gate"])
def test_a_yaml_record_starting_with_the_document_marker_keeps_its_history(
    repo: Repo, cli: InvokeCli, gate: bool
) -> None:
    """A YAML record may start with ``---`` (the working tree reads it by its suffix); its
    versions in history are read the same way, never as Markdown front matter left open
    (every version unreadable: the closing never counted, edits after it unreported)."""
    git_init(repo.root)
    closed = (
        "---\n"
        + ACKED.replace("status: open", "status: closed")
        + (
            "mitigated_at: 2026-03-04T10:00:00Z\nresolved_at: 2026-03-04T11:00:00Z\n"
            "closed_at: 2026-03-04T12:00:00Z\nresolution: Raised the pool size and restarted.\n"
        )
    )
    repo.write(INC, closed, dedent=False)
    commit_env(repo.root, "closed", "2026-03-04T12:05:00Z")
    repo.write(INC, closed + "category: database\n", dedent=False)
    commit_env(repo.root, "edited after close", "2026-03-10T09:00:00Z")
    assert cli("validate", "--repo", repo.root).status == 0
    extra = ("--changed-since", "HEAD~1") if gate else ()
    result = cli("audit", "--repo", repo.root, "--as-of", AS_OF, "--format", "json", *extra)
    rules = {(f["rule"], f["record"]) for f in json.loads(result.out)["findings"]}
    assert ("GIT-AFTER-CLOSE", "INC-2026-0001") in rules, result.out
    history = json.loads(
        cli("history", "INC-2026-0001", "--repo", repo.root, "--format", "json").out
    )
    assert [e["event"] for e in history["trail"]][:1] != ["unreadable"]
    assert all("front matter" not in str(e.get("error", "")) for e in history["trail"])
