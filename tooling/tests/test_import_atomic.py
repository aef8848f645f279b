"""``opsledger import servicenow`` is exclusive and survives a kill: real import processes
SIGKILLed while staging and while writing, a second import while one runs, an edit made
under a running import, and the staging never seen by git.

The kill points come from the test-only hook of :mod:`opsledger.journal`
(``OPSLEDGER_TEST_PAUSE=<phase>:<n>``: the process stops after its n-th file and waits); one
slow test kills at an arbitrary moment of a large import instead.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_outputs import snapshot

from opsledger import fileedit
from opsledger.errors import OpsledgerError
from opsledger.journal import Journal, Recovered, recover

from conftest import PROJECT, InvokeCli, Repo, git, git_init

SAMPLE = PROJECT / "tooling/tests/data/servicenow-incident-events-sample.csv"
ARGS = ("--timezone", "Europe/London", "--adopted-on", "2026-03-02")
OPSLEDGER = Path(sys.executable).parent / "opsledger"


def working_tree(root: Path) -> dict[str, str]:
    """Every file of the repository except git's own folder (and the fallback state folder
    outside git, which ignores itself)."""
    return {
        rel: digest
        for rel, digest in snapshot(root).items()
        if not rel.startswith((".git/", ".opsledger-state/")) and rel not in (".git",)
    }


@pytest.fixture
def gov(repo: Repo) -> Repo:
    git_init(repo.root)
    git(repo.root, "add", "-A")
    git(repo.root, "commit", "-q", "-m", "start")
    return repo


@pytest.fixture
def expected(gov: Repo, tmp_path: Path, cli: InvokeCli) -> dict[str, str]:
    """The working tree an uninterrupted import of the sample gives."""
    clone = tmp_path / "uninterrupted"
    shutil.copytree(gov.root, clone, symlinks=True)
    result = cli("import", "servicenow", SAMPLE, "--repo", clone, *ARGS)
    assert result.status == 0, result.err
    return working_tree(clone)


def start(root: Path, source: Path = SAMPLE, pause: str | None = None) -> subprocess.Popen[str]:
    env = {**os.environ}
    if pause is not None:
        env["OPSLEDGER_TEST_PAUSE"] = pause
    return subprocess.Popen(
        [str(OPSLEDGER), "import", "servicenow", str(source), "--repo", str(root), *ARGS],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def paused(root: Path, proc: subprocess.Popen[str]) -> Path:
    """Wait until ``proc`` stops at its pause point; the marker that holds it there."""
    marker = fileedit.state_dir(root) / "import" / "paused"
    deadline = time.monotonic() + 300
    while not marker.exists():
        if proc.poll() is not None:
            pytest.fail(f"the import ended without pausing: {proc.communicate()}")
        assert time.monotonic() < deadline, "the import never paused"
        time.sleep(0.01)
    return marker


def kill(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL


def records(root: Path) -> list[str]:
    return sorted(p.name for p in (root / "records/incidents").rglob("INC-*.yaml"))


def untracked(root: Path) -> list[str]:
    return git(root, "status", "--porcelain", "--untracked-files=all").splitlines()


@pytest.mark.parametrize("in_git", [True, False], ids=["git", "no-git"])
def test_killed_while_writing_is_finished_exactly(
    repo: Repo, cli: InvokeCli, tmp_path: Path, in_git: bool
) -> None:
    if in_git:
        git_init(repo.root)
        git(repo.root, "add", "-A")
        git(repo.root, "commit", "-q", "-m", "start")
    clone = tmp_path / "uninterrupted"
    shutil.copytree(repo.root, clone, symlinks=True)
    assert cli("import", "servicenow", SAMPLE, "--repo", clone, *ARGS).status == 0
    expected = working_tree(clone)
    proc = start(repo.root, pause="apply:10")
    paused(repo.root, proc)
    kill(proc)
    # the kill left ten records and no history.since ...
    assert len(records(repo.root)) == 10
    assert "2026-03-02" not in (repo.root / "policy.yaml").read_text()
    if in_git:  # ... and nothing git would pick up but the records
        assert all(
            re.fullmatch(
                r"\?\? records/(incidents/2016/INC-2016-\d{4}\.yaml|problems/PRB-2016-0002\.md)",
                line,
            )
            for line in untracked(repo.root)
        ), untracked(repo.root)
    else:
        git_init(repo.root)
        assert not [line for line in untracked(repo.root) if "opsledger" in line]
    again = cli("import", "servicenow", SAMPLE, "--repo", repo.root, *ARGS)
    assert again.status == 0, again.err
    assert (
        "opsledger: note: finished an earlier import that was killed while writing "
        "(24 files written, 10 written before)\n"  # 32 incidents, a problem, the policy
    ) in again.err
    assert "0 created, 0 updated, 32 unchanged" in again.out
    assert working_tree(repo.root) == expected
    assert not (fileedit.state_dir(repo.root) / "import").exists()


def test_killed_while_staging_leaves_nothing_behind(
    gov: Repo, cli: InvokeCli, expected: dict[str, str]
) -> None:
    before = working_tree(gov.root)
    proc = start(gov.root, pause="stage:10")
    paused(gov.root, proc)
    kill(proc)
    assert working_tree(gov.root) == before
    assert untracked(gov.root) == []
    again = cli("import", "servicenow", SAMPLE, "--repo", gov.root, *ARGS)
    assert again.status == 0, again.err
    assert "removed what an earlier import, killed before writing anything, had staged" in (
        again.err
    )
    assert "32 created" in again.out
    assert working_tree(gov.root) == expected


def test_one_import_at_a_time_and_a_killed_one_blocks_nothing(
    gov: Repo, cli: InvokeCli, expected: dict[str, str]
) -> None:
    first = start(gov.root, pause="stage:5")
    paused(gov.root, first)
    second = cli("import", "servicenow", SAMPLE, "--repo", gov.root, *ARGS)
    assert second.status == 2
    assert second.err.count("\n") == 1
    assert second.err.startswith(f"opsledger: error: another import is running in {gov.root} (")
    assert f"pid {first.pid} on " in second.err
    assert records(gov.root) == []
    kill(first)
    third = cli("import", "servicenow", SAMPLE, "--repo", gov.root, *ARGS)
    assert third.status == 0, third.err
    assert working_tree(gov.root) == expected


def test_a_dry_run_says_an_import_is_unfinished(gov: Repo, cli: InvokeCli) -> None:
    proc = start(gov.root, pause="apply:3")
    paused(gov.root, proc)
    kill(proc)
    dry = cli("import", "servicenow", SAMPLE, "--repo", gov.root, *ARGS, "--dry-run")
    assert dry.status == 0, dry.err
    assert "an import without --dry-run finishes it first" in dry.err
    assert len(records(gov.root)) == 3


def test_a_record_edited_under_a_running_import_is_left_alone(gov: Repo, cli: InvokeCli) -> None:
    """Someone edits a record (and the policy) after the import read them: the import
    neither overwrites the edit nor says it wrote that record."""
    assert cli("import", "servicenow", SAMPLE, "--repo", gov.root, *ARGS, "--no-adopt").status == 0
    rewound = 0
    for path in (gov.root / "records/incidents/2016").iterdir():
        text = path.read_text()
        rewound += "status: closed" in text
        path.write_text(text.replace("status: closed", "status: resolved"))
    proc = start(gov.root, pause="apply:1")
    marker = paused(gov.root, proc)
    mine = gov.root / "records/incidents/2016/INC-2016-0047.yaml"
    edited = mine.read_text() + "commander: lena.fischer@example.com\n"
    mine.write_text(edited)
    policy = gov.root / "policy.yaml"
    policy.write_text(policy.read_text() + "# reviewed\n")
    marker.unlink()
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 1, err
    assert (
        "records/incidents/2016/INC-2016-0047.yaml was changed by someone else while the "
        "import ran; left as it is, import again to update it (INC0000047)"
    ) in err
    assert "opsledger: policy.yaml was changed by someone else while the import ran" in err
    assert mine.read_text() == edited
    assert policy.read_text().endswith("# reviewed\n") and "2026-03-02" not in policy.read_text()
    assert f"0 created, {rewound - 1} updated, {32 - rewound} unchanged" in out


def test_staging_of_older_versions_is_removed(gov: Repo, cli: InvokeCli) -> None:
    old = gov.root / "records/incidents/.import-k2j3h4"
    old.mkdir(parents=True)
    (old / "0.yaml").write_text("id: INC-2016-0045\n")
    result = cli("import", "servicenow", SAMPLE, "--repo", gov.root, *ARGS)
    assert result.status == 0, result.err
    assert not old.exists()
    assert not [line for line in untracked(gov.root) if ".import-" in line]


def _large_export(path: Path, copies: int) -> Path:
    """The sample repeated ``copies`` times under new incident numbers."""
    with SAMPLE.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        header, rows = list(reader.fieldnames or []), list(reader)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, header)
        writer.writeheader()
        for copy in range(copies):
            for row in rows:
                number = int(row["number"].removeprefix("INC"))
                writer.writerow({**row, "number": f"INC{copy * 1000 + number:07d}"})
    return path


@pytest.mark.slow
def test_killed_at_any_moment_of_a_large_import_is_finished_exactly(
    gov: Repo, cli: InvokeCli, tmp_path: Path
) -> None:
    """No hook: a 3,200-incident import killed as soon as its first record appears."""
    export = _large_export(tmp_path / "large.csv", 100)
    clone = tmp_path / "uninterrupted"
    shutil.copytree(gov.root, clone, symlinks=True)
    assert cli("import", "servicenow", export, "--repo", clone, *ARGS).status == 0
    expected = working_tree(clone)
    proc = start(gov.root, export)
    while not records(gov.root) and proc.poll() is None:
        time.sleep(0.001)
    if proc.poll() is not None:
        pytest.skip("the import finished before it could be killed")
    kill(proc)
    assert 0 < len(records(gov.root)) < 3200
    assert not [line for line in untracked(gov.root) if "records/incidents/2016/" not in line]
    again = cli("import", "servicenow", export, "--repo", gov.root, *ARGS)
    assert again.status == 0, again.err
    assert working_tree(gov.root) == expected


def test_journal_leaves_alone_what_changed_meanwhile(tmp_path: Path) -> None:
    root, state = tmp_path / "repo", tmp_path / "state"
    root.mkdir()
    state.mkdir()
    (root / "a.yaml").write_bytes(b"old a")
    journal = Journal.begin(root, state, "job")
    for rel, data, before in (
        ("a.yaml", b"new a", b"old a"),
        ("b.yaml", b"new b", None),
        ("c.yaml", b"new c", None),
        ("sub/d.yaml", b"new d", None),
    ):
        journal.stage(rel, data, before)
    for bad in ("../outside.yaml", "/etc/passwd", "sub/../../outside.yaml", ""):
        with pytest.raises(OpsledgerError):
            journal.stage(bad, b"x", None)
    journal.seal()
    (root / "b.yaml").mkdir()  # a folder now
    (root / "c.yaml").symlink_to(root / "a.yaml")  # a link now
    applied = journal.apply()
    assert applied.written == ["a.yaml", "sub/d.yaml"]
    assert applied.conflicts == ["b.yaml", "c.yaml"]
    assert (root / "a.yaml").read_bytes() == b"new a"
    assert not (state / "job").exists()


def test_recovery_rolls_a_sealed_journal_forward_only_once(tmp_path: Path) -> None:
    root, state = tmp_path / "repo", tmp_path / "state"
    root.mkdir()
    state.mkdir()
    journal = Journal.begin(root, state, "job")
    journal.stage("x.yaml", b"x", None)
    journal.stage("y.yaml", b"y", None)
    assert recover(root, state, "job") == Recovered(None, True)  # unsealed: removed
    assert not (root / "x.yaml").exists()
    journal = Journal.begin(root, state, "job")
    journal.stage("x.yaml", b"x", None)
    journal.stage("y.yaml", b"y", None)
    journal.seal()
    (state / "job/files/0").rename(root / "x.yaml")  # as if killed after the first rename
    recovered = recover(root, state, "job")
    assert recovered is not None and recovered.finished is not None
    assert recovered.finished.written == ["y.yaml"]
    assert recovered.finished.done_before == ["x.yaml"]
    assert recover(root, state, "job") is None
