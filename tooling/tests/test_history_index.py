"""The history index on real git repositories with chosen author and committer dates."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from opsledger import gitio
from opsledger.errors import EXIT_SHALLOW, OpsledgerError
from opsledger.history.derive import first_done, first_seen_entries, transitions
from opsledger.history.index import build_history

from conftest import INCIDENT, InvokeCli, Repo, git, git_init

PATH = "records/incidents/2026/INC-2026-0001.yaml"
LENA = "Lena Fischer <lena.fischer@example.com>"
PRIYA = "Priya Shah <priya.shah@example.com>"


def commit(root: Path, message: str, date: str, who: str = LENA) -> str:
    git(root, "add", "-A", date=date, who=who)
    git(root, "commit", "-q", "-m", message, date=date, who=who)
    return git(root, "rev-parse", "HEAD").strip()


@pytest.fixture
def history_repo(repo: Repo) -> Repo:
    git_init(repo.root)
    commit(repo.root, "scaffold", "2026-03-01T08:00:00Z")
    repo.write(PATH, INCIDENT)
    commit(repo.root, "INC-2026-0001 opened", "2026-03-04T09:30:00Z")
    repo.write(
        PATH,
        INCIDENT.replace("status: open", "status: mitigated")
        + "acknowledged_at: 2026-03-04T09:20:00Z\nmitigated_at: 2026-03-04T10:00:00Z\n",
    )
    commit(repo.root, "INC-2026-0001 mitigated", "2026-03-04T10:05:00Z")
    return repo


def test_versions_authors_times_and_field_changes(history_repo: Repo) -> None:
    index = build_history(history_repo.root)
    history = index.get("INC-2026-0001")
    assert history is not None
    assert [v.commit.author.email for v in history.versions] == ["lena.fischer@example.com"] * 2
    assert [v.landed_at.isoformat() for v in history.versions] == [
        "2026-03-04T09:30:00+00:00",
        "2026-03-04T10:05:00+00:00",
    ]
    (_, created), (_, changed) = list(history.changes())
    assert {c.field for c in created} >= {"id", "status", "detected_at"}
    assert [(c.field, c.old, c.new) for c in changed] == [
        ("acknowledged_at", None, "2026-03-04T09:20:00Z"),
        ("mitigated_at", None, "2026-03-04T10:00:00Z"),
        ("status", "open", "mitigated"),
    ]
    assert [(t.old, t.new) for t in transitions(history, "status")] == [("open", "mitigated")]
    assert index.head == git(history_repo.root, "rev-parse", "HEAD").strip()


def test_merged_branch_lands_at_the_merge(history_repo: Repo) -> None:
    root = history_repo.root
    git(root, "checkout", "-q", "-b", "review")
    pir = (
        "---\nid: PIR-2026-0001\nincident: INC-2026-0001\nstatus: in-review\n"
        "authors: [lena.fischer@example.com]\nroot_cause: A deploy halved the pool.\n"
        "actions: []\n---\n"
    )
    history_repo.write("records/pirs/PIR-2026-0001.md", pir, dedent=False)
    original = commit(root, "PIR draft", "2026-03-05T09:00:00Z")
    history_repo.write(
        "records/pirs/PIR-2026-0001.md",
        pir.replace(
            "status: in-review",
            "status: approved\nreviewers: [{by: priya.shah@example.com, "
            "at: 2026-03-06T10:00:00Z, decision: approved}]",
        ),
        dedent=False,
    )
    approval = commit(root, "approve", "2026-03-06T10:00:00Z", who=PRIYA)
    git(root, "checkout", "-q", "main")
    git(
        root,
        "merge",
        "-q",
        "--no-ff",
        "-m",
        "Merge review",
        "review",
        date="2026-03-09T16:00:00Z",
        who="Tom Becker <tom.becker@example.com>",
    )
    merge = git(root, "rev-parse", "HEAD").strip()
    history = build_history(root).get("PIR-2026-0001")
    assert history is not None
    assert [v.commit.sha for v in history.versions] == [original, approval]
    approved = history.versions[1]
    assert approved.commit.author.email == "priya.shah@example.com"  # who wrote it
    assert approved.commit.landed_sha == merge  # the moment it landed
    assert approved.landed_at.isoformat() == "2026-03-09T16:00:00+00:00"
    seen = first_seen_entries(history, "reviewers")
    assert [v.commit.sha for v in seen.values()] == [approval]


def test_rename_deletion_and_unreadable_versions(history_repo: Repo) -> None:
    root = history_repo.root
    git(root, "mv", PATH, "records/incidents/INC-2026-0001.yaml")
    commit(root, "flatten folders", "2026-03-05T08:00:00Z")
    (root / "records/incidents/INC-2026-0001.yaml").write_text("id: [broken\n")
    commit(root, "oops", "2026-03-05T09:00:00Z")
    git(root, "rm", "-q", "records/incidents/INC-2026-0001.yaml")
    commit(root, "delete", "2026-03-06T09:00:00Z")
    history = build_history(root).get("INC-2026-0001")
    assert history is not None
    assert history.paths == [PATH, "records/incidents/INC-2026-0001.yaml"]
    unreadable = [v for v in history.versions if v.blob and v.data is None]
    assert len(unreadable) == 1 and "YAML syntax error" in (unreadable[0].error or "")
    assert history.deleted


def test_history_follows_the_branch_not_the_dates(history_repo: Repo) -> None:
    # the third commit claims a date before the second: order stays the branch's order
    root = history_repo.root
    history_repo.write(PATH, (root / PATH).read_text().replace("P3", "P4"))
    commit(root, "lower priority", "2026-03-01T00:00:00Z")
    history = build_history(root).get("INC-2026-0001")
    assert history is not None
    assert [(t.old, t.new) for t in transitions(history, "priority")] == [("P3", "P4")]
    # it cannot have landed before the commit before it on the branch: it lands then, and
    # keeps the date it claims (GIT-BACKDATED reports it)
    assert history.last.landed_at == history.versions[-2].landed_at
    assert history.last.landed_at.isoformat() == "2026-03-04T10:05:00+00:00"
    assert history.last.commit.committed_at.isoformat() == "2026-03-01T00:00:00+00:00"


def test_a_record_dated_before_adoption_on_a_branch_adopted_earlier_is_not_imported(
    history_repo: Repo,
) -> None:
    """``history.since`` skips records first committed before adoption. A commit dated
    before it, made after a commit dated after it, cannot have landed before its parent:
    its record is judged, not skipped as imported."""
    root = history_repo.root
    git(root, "commit", "-q", "--allow-empty", "-m", "adopt", date="2026-03-12T09:00:00Z")
    history_repo.write(
        "records/incidents/2026/INC-2026-0002.yaml", INCIDENT.replace("0001", "0002")
    )
    commit(root, "an incident, backdated", "2026-03-05T09:00:00Z")
    index = build_history(root, since=date(2026, 3, 10))
    assert not index.imported("INC-2026-0002")
    assert index.imported("INC-2026-0001")  # first committed 2026-03-04: before adoption
    landed = index.get("INC-2026-0002")
    assert landed is not None and landed.first.landed_at.isoformat() == "2026-03-12T09:00:00+00:00"


def test_the_audit_lists_the_records_history_rules_skip_as_imported(
    history_repo: Repo, cli: InvokeCli
) -> None:
    """Records first committed before ``history.since`` are skipped by the history rules:
    listed by the audit (JSON ``imported`` and a note), never silently left out."""
    root = history_repo.root
    args = ("audit", "--repo", root, "--as-of", "2026-03-31T00:00:00Z", "--format", "json")
    plain = cli(*args)
    assert "imported" not in json.loads(plain.out) and "as imported" not in plain.err
    policy = root / "policy.yaml"
    text = policy.read_text()
    assert "  since: null" in text
    policy.write_text(text.replace("  since: null", '  since: "2026-03-10"'))
    adopted = cli(*args)
    assert json.loads(adopted.out)["imported"] == ["INC-2026-0001"]
    assert (
        "opsledger: note: 1 records skipped by the history rules as imported (first committed "
        "before history.since 2026-03-10, or with an external_id): INC-2026-0001\n"
    ) in adopted.err


def test_mailmap_does_not_rewrite_identities(history_repo: Repo) -> None:
    root = history_repo.root
    (root / ".mailmap").write_text(
        "Priya Shah <priya.shah@example.com> <lena.fischer@example.com>\n"
    )
    commit(root, "mailmap", "2026-03-05T08:00:00Z")
    history = build_history(root).get("INC-2026-0001")
    assert history is not None
    assert {v.commit.author.email for v in history.versions} == {"lena.fischer@example.com"}


def test_names_of_a_latin1_repository_are_read_as_written(history_repo: Repo) -> None:
    """A repository whose commits are encoded in latin-1 (i18n.commitEncoding, which
    i18n.logOutputEncoding follows): names come out as the commit declares them."""
    root = history_repo.root
    git(root, "config", "i18n.commitEncoding", "ISO-8859-1")
    history_repo.write(PATH, (root / PATH).read_text().replace("P3", "P4"))
    git(root, "add", "-A")
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": os.fsdecode(b"J\xf6rg"),
        "GIT_AUTHOR_EMAIL": "joerg@example.com",
        "GIT_COMMITTER_NAME": os.fsdecode(b"J\xf6rg"),
        "GIT_COMMITTER_EMAIL": "joerg@example.com",
        "GIT_AUTHOR_DATE": "2026-03-05T08:00:00Z",
        "GIT_COMMITTER_DATE": "2026-03-05T08:00:00Z",
    }
    subprocess.run(["git", "commit", "-q", "-m", "lower"], cwd=root, env=env, check=True)
    history = build_history(root).get("INC-2026-0001")
    assert history is not None
    assert history.last.commit.author.name == "Jörg"


def test_first_done_actions(repo: Repo) -> None:
    git_init(repo.root)
    text = (
        "---\nid: PIR-2026-0002\nincident: INC-2026-0001\nstatus: approved\n"
        "authors: [a@example.com]\nroot_cause: r\nactions:\n  - {id: A1, title: t, "
        "status: open}\n---\n"
    )
    repo.write("records/pirs/PIR-2026-0002.md", text, dedent=False)
    commit(repo.root, "pir", "2026-03-01T08:00:00Z")
    repo.write("records/pirs/PIR-2026-0002.md", text.replace("open", "done"), dedent=False)
    done = commit(repo.root, "A1 done", "2026-03-20T08:00:00Z")
    history = build_history(repo.root).get("PIR-2026-0002")
    assert history is not None
    assert {k: v.commit.sha for k, v in first_done(history).items()} == {"A1": done}


def test_second_run_reads_only_new_blobs(
    history_repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[str] = []
    original = gitio.read_blobs

    def counting(path: Path, shas: list[str]) -> Iterator[tuple[str, bytes | None]]:
        for sha, data in original(path, shas):
            reads.append(sha)
            yield sha, data

    monkeypatch.setattr(gitio, "read_blobs", counting)
    build_history(history_repo.root)
    first = len(reads)
    assert first == 2  # the two incident versions
    build_history(history_repo.root)
    assert len(reads) == first
    history_repo.write(PATH, (history_repo.root / PATH).read_text() + "category: database\n")
    commit(history_repo.root, "categorise", "2026-03-05T08:00:00Z")
    build_history(history_repo.root)
    assert len(reads) == first + 1


def test_shallow_clone_is_refused(history_repo: Repo, tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    git(history_repo.root, "clone", "-q", "--depth", "1", f"file://{history_repo.root}", str(clone))
    with pytest.raises(OpsledgerError) as info:
        build_history(clone)
    assert info.value.status == EXIT_SHALLOW
    assert "fetch-depth: 0" in info.value.message
    assert "git fetch --unshallow" in info.value.message


def test_repository_without_commits(repo: Repo) -> None:
    git_init(repo.root)
    index = build_history(repo.root)
    assert index.head is None and index.records == {}


def test_history_command_text_and_json(history_repo: Repo, cli: InvokeCli) -> None:
    text = cli("history", "INC-2026-0001", "--repo", history_repo.root)
    assert text.status == 0, text.err
    lines = text.out.splitlines()
    assert lines[0].endswith("2026-03-04T09:30:00Z  Lena Fischer <lena.fischer@example.com>")
    assert "    status: open -> mitigated" in lines
    data = json.loads(
        cli("history", "INC-2026-0001", "--repo", history_repo.root, "--format", "json").out
    )
    assert data["version"] == 1 and data["record"] == "INC-2026-0001"
    assert [row["event"] for row in data["trail"]] == ["created", "changed"]
    assert {"field": "status", "old": "open", "new": "mitigated"} in data["trail"][1]["changes"]
    missing = cli("history", "INC-2026-0404", "--repo", history_repo.root)
    assert missing.status == 2 and "no such record" in missing.err


def test_history_command_in_a_shallow_clone(
    history_repo: Repo, cli: InvokeCli, tmp_path: Path
) -> None:
    clone = tmp_path / "clone"
    git(history_repo.root, "clone", "-q", "--depth", "1", f"file://{history_repo.root}", str(clone))
    result = cli("history", "INC-2026-0001", "--repo", clone)
    assert result.status == EXIT_SHALLOW
    assert "fetch-depth: 0" in result.err


def test_second_run_logs_only_new_commits(
    history_repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str | None] = []
    original = gitio.raw_log_chunks

    def spy(
        path: Path, folders: tuple[str, ...], exclude: str | None = None, tip: str = "HEAD"
    ) -> Iterator[str]:
        calls.append(exclude)
        return original(path, folders, exclude, tip=tip)

    monkeypatch.setattr(gitio, "raw_log_chunks", spy)
    root = history_repo.root
    build_history(root)
    first_head = git(root, "rev-parse", "HEAD").strip()
    build_history(root)  # nothing new: no git log at all
    history_repo.write(PATH, (root / PATH).read_text() + "category: database\n")
    commit(root, "categorise", "2026-03-05T08:00:00Z")
    history = build_history(root).get("INC-2026-0001")
    assert calls == [None, first_head]
    assert history is not None and len(history.versions) == 3
    assert history.last.data is not None and history.last.data["category"] == "database"


def test_rewritten_history_is_rebuilt(history_repo: Repo) -> None:
    root = history_repo.root
    build_history(root)
    git(root, "reset", "-q", "--hard", "HEAD~1")
    history_repo.write(PATH, INCIDENT.replace("P3", "P2"))
    commit(root, "rewritten", "2026-03-04T10:30:00Z")
    history = build_history(root).get("INC-2026-0001")
    assert history is not None
    assert [(v.data or {}).get("priority") for v in history.versions] == ["P3", "P2"]
    assert [(v.data or {}).get("status") for v in history.versions] == ["open", "open"]


def test_incremental_log_holds_each_commit_once(history_repo: Repo) -> None:
    root = history_repo.root
    build_history(root)
    history_repo.write(PATH, (root / PATH).read_text() + "category: database\n")
    commit(root, "categorise", "2026-03-05T08:00:00Z")
    incremental = build_history(root).get("INC-2026-0001")
    fresh = build_history(root, use_cache=False).get("INC-2026-0001")
    assert incremental is not None and fresh is not None
    assert [v.commit.sha for v in incremental.versions] == [v.commit.sha for v in fresh.versions]
    assert (
        len(
            gitio.raw_log(
                root, ("records",), exclude=git(root, "rev-parse", "HEAD~1").strip()
            ).split("\x1e")
        )
        == 2
    )  # the one new commit


def test_what_is_derived_from_a_history_is_worked_out_once_per_history_object() -> None:
    """The KPIs ask the index for facts read from one record's history alone (reopened,
    downgraded, when each approval landed) on every build of a served site: worked out
    once per history object, and again for another object under the same ID."""
    from opsledger.history.model import HistoryIndex, RecordHistory

    made: list[str] = []

    def make(history: RecordHistory) -> str:
        made.append(history.record_id)
        return f"fact of {history.record_id}"

    one = RecordHistory("INC-2026-0001")
    index = HistoryIndex(head="abc", records={one.record_id: one})
    assert index.derived("fact", one, make) == "fact of INC-2026-0001"
    assert index.derived("fact", one, make) == "fact of INC-2026-0001"
    assert made == ["INC-2026-0001"]
    index.derived("other fact", one, make)  # another name: its own
    again = RecordHistory("INC-2026-0001")  # the same ID, another history
    index.derived("fact", again, make)
    assert made == ["INC-2026-0001"] * 3
    assert index == HistoryIndex(head="abc", records={one.record_id: one})  # not compared
