"""Nothing is lost when commands run at the same time: parallel ``approve`` and ``new``
processes on a real git repository, the repository's edit lock (waiting, naming its holder,
released by the kernel when its holder is killed), and the file edit primitives."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_approve import CHG, CHG_PATH, PIR, PIR_PATH

from opsledger import fileedit
from opsledger.errors import OpsledgerError
from opsledger.model.ledger import load_ledger
from opsledger.scaffold import new_record
from opsledger.timeutil import parse_timestamp

from conftest import InvokeCli, Repo, git, git_init

#: a process that loads opsledger, says so by creating the file named second, waits until
#: the file named first exists, then runs the command: processes started one after another
#: begin their work at the same moment
TOGETHER = """\
import sys, time
from pathlib import Path
from opsledger.cli import run
import opsledger.approve, opsledger.scaffold, opsledger.model.ledger
go = Path(sys.argv[1])
Path(sys.argv[2]).touch()
while not go.exists():
    time.sleep(0.0005)
sys.exit(run(sys.argv[3:]))
"""
HOLD = """\
import sys, time
from pathlib import Path
from opsledger import fileedit
with fileedit.locked(Path(sys.argv[1]), "a test holding the lock"):
    Path(sys.argv[2]).touch()
    time.sleep(600)
"""
#: (e-mail, role) of people who may approve a normal change in the fixture's policy
APPROVERS = [
    ("priya.shah", "cab"),
    ("tom.becker", "cab"),
    ("ana.costa", "cab"),
    ("kai.berg", "cab"),
    ("omar.haddad", "service-owner"),
    ("grace.kim", "service-owner"),
]


def env_of(who: str) -> dict[str, str]:
    email = f"{who}@example.com"
    return {
        **os.environ,
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": who,
        "GIT_AUTHOR_EMAIL": email,
        "GIT_COMMITTER_NAME": who,
        "GIT_COMMITTER_EMAIL": email,
    }


def together(
    tmp_path: Path, runs: list[tuple[list[str], dict[str, str]]]
) -> list[subprocess.CompletedProcess[str]]:
    """Start every run as its own process and let them begin at the same moment."""
    script = tmp_path / "together.py"
    script.write_text(TOGETHER)
    stamp = time.monotonic_ns()
    go = tmp_path / f"go-{stamp}"
    ready = [tmp_path / f"ready-{stamp}-{n}" for n in range(len(runs))]
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(go), str(flag), *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for (args, env), flag in zip(runs, ready, strict=True)
    ]
    deadline = time.monotonic() + 120
    # every process has loaded opsledger and waits (or one has ended: its result says why)
    while not all(flag.exists() for flag in ready) and time.monotonic() < deadline:
        if any(proc.poll() is not None for proc in procs):
            break
        time.sleep(0.01)
    go.touch()
    done = []
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        done.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return done


@pytest.fixture
def gov(repo: Repo) -> Repo:
    """A committed repository with a normal change and a PIR; policy lists one more CAB
    member, so six people may approve the change."""
    policy = repo.root / "policy.yaml"
    policy.write_text(
        policy.read_text().replace(
            "    - ana.costa@example.com\n  emergency-cab:",
            "    - ana.costa@example.com\n    - kai.berg@example.com\n  emergency-cab:",
        )
    )
    repo.write(CHG_PATH, CHG, dedent=False)
    repo.write(PIR_PATH, PIR, dedent=False)
    git_init(repo.root)
    git(repo.root, "add", "-A")
    git(repo.root, "commit", "-q", "-m", "records")
    return repo


def approvals_in(root: Path) -> str:
    return (root / CHG_PATH).read_text(encoding="utf-8")


# --- approve ----------------------------------------------------------------------------


@pytest.mark.slow
def test_parallel_approvals_keep_every_entry(gov: Repo, tmp_path: Path) -> None:
    """Six approvers at once, four times over: every run that exits 0 has its entry in the
    file (the code before the edit lock lost one in four rounds out of ten)."""
    for _ in range(4):
        git(gov.root, "checkout", "-q", "--", ".")
        runs = [
            (["approve", "CHG-2026-0107", "--role", role, "--repo", str(gov.root)], env_of(who))
            for who, role in APPROVERS
        ]
        results = together(tmp_path, runs)
        text = approvals_in(gov.root)
        for (who, _), result in zip(APPROVERS, results, strict=True):
            assert result.returncode == 0, result.stderr
            assert f"  - by: {who}@example.com\n" in text, (who, text)
        assert text.count("  - by: ") == len(APPROVERS)
        changed = git(gov.root, "status", "--porcelain", "--untracked-files=all")
        assert changed == f" M {CHG_PATH}\n"  # no lock, temporary or staging file


@pytest.mark.slow
def test_parallel_committed_approvals_and_reviews(gov: Repo, tmp_path: Path) -> None:
    """Approvals with --commit and PIR reviews at the same time: each run that exits 0 has
    its entry and its own commit, authored by the approver, holding that file alone."""
    runs = [
        (["approve", "CHG-2026-0107", "--role", role, "--commit", "--repo", str(gov.root)],
         env_of(who))
        for who, role in APPROVERS[:4]
    ] + [
        (["approve", "PIR-2026-0001", "--role", "reviewer", "--repo", str(gov.root)], env_of(who))
        for who in ("omar.haddad", "grace.kim")
    ]  # fmt: skip
    results = together(tmp_path, runs)
    assert [r.returncode for r in results] == [0] * 6, [r.stderr for r in results]
    text = approvals_in(gov.root)
    log = git(gov.root, "log", "--format=%ae %s", "--name-only")
    for who, role in APPROVERS[:4]:
        assert f"  - by: {who}@example.com\n" in text
        assert (
            f"{who}@example.com CHG-2026-0107: approved by {who}@example.com as {role}\n\n"
            f"{CHG_PATH}\n"
        ) in log
    reviews = (gov.root / PIR_PATH).read_text(encoding="utf-8")
    assert "by: omar.haddad@example.com" in reviews and "by: grace.kim@example.com" in reviews
    assert git(gov.root, "status", "--porcelain") == f" M {PIR_PATH}\n"


def test_approve_waits_for_the_lock_and_names_its_holder(
    gov: Repo, cli: InvokeCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in env_of("priya.shah").items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("OPSLEDGER_LOCK_WAIT", "0.3")
    before = approvals_in(gov.root)
    with fileedit.locked(gov.root, "opsledger import servicenow"):
        busy = cli("approve", "CHG-2026-0107", "--role", "cab", "--repo", gov.root)
    assert busy.status == 2
    assert busy.err.count("\n") == 1
    assert busy.err.startswith(
        f"opsledger: error: another opsledger command is changing files in {gov.root} "
        "(opsledger import servicenow, pid "
    )
    assert "; gave up after 0.3 s (OPSLEDGER_LOCK_WAIT); run this again" in busy.err
    assert f"pid {os.getpid()}" in busy.err
    assert approvals_in(gov.root) == before
    done = cli("approve", "CHG-2026-0107", "--role", "cab", "--repo", gov.root)
    assert done.status == 0, done.err
    assert "  - by: priya.shah@example.com\n" in approvals_in(gov.root)


def test_a_killed_holder_never_blocks_the_next_edit(
    gov: Repo, cli: InvokeCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script, held = tmp_path / "hold.py", tmp_path / "held"
    script.write_text(HOLD)
    holder = subprocess.Popen([sys.executable, str(script), str(gov.root), str(held)])
    try:
        deadline = time.monotonic() + 60
        while not held.exists():
            assert time.monotonic() < deadline and holder.poll() is None
            time.sleep(0.01)
        for key, value in env_of("tom.becker").items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("OPSLEDGER_LOCK_WAIT", "0")
        busy = cli("approve", "CHG-2026-0107", "--role", "cab", "--repo", gov.root)
        assert busy.status == 2 and "a test holding the lock" in busy.err
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    done = cli("approve", "CHG-2026-0107", "--role", "cab", "--repo", gov.root)
    assert done.status == 0, done.err


@pytest.mark.parametrize("value", ["soon", "-1", "nan", "1e9"])
def test_lock_wait_setting_is_checked(
    gov: Repo, cli: InvokeCli, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("OPSLEDGER_LOCK_WAIT", value)
    result = cli("new", "incident", "--repo", gov.root)
    assert result.status == 2
    assert result.err.startswith(f"opsledger: error: OPSLEDGER_LOCK_WAIT={value!r}")


# --- new ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_parallel_new_records_get_distinct_ids(gov: Repo, tmp_path: Path) -> None:
    """Six `new incident` and three `new runbook` at once: nine files, nine IDs, none
    overwritten."""
    runs = [
        (["new", "incident", "--title", f"Outage {n}", "--as-of", "2026-03-09T10:00:00Z",
          "--repo", str(gov.root)], env_of("lena.fischer"))
        for n in range(6)
    ] + [
        (["new", "runbook", "--title", f"Runbook {n}", "--repo", str(gov.root)],
         env_of("lena.fischer"))
        for n in range(3)
    ]  # fmt: skip
    results = together(tmp_path, runs)
    assert [r.returncode for r in results] == [0] * 9, [r.stderr for r in results]
    paths = [r.stdout.strip() for r in results]
    assert len(set(paths)) == 9
    titles = {(gov.root / p).read_text(encoding="utf-8").split("title: ")[1].split("\n")[0]
              for p in paths}  # fmt: skip
    assert titles == {f'"Outage {n}"' for n in range(6)} | {f'"Runbook {n}"' for n in range(3)}
    ids = [Path(p).name[:13] if "INC" in p else Path(p).name[:7] for p in paths]
    assert len(set(ids)) == 9, ids
    ledger = load_ledger(gov.root)
    assert not [p for p in ledger.problems if p.rule == "REF-ID"]


def test_new_takes_the_next_id_when_the_name_was_taken_meanwhile(gov: Repo) -> None:
    """A record written by someone else after this command read the repository is never
    overwritten nor a reason to fail: the next free ID is used."""
    ledger = load_ledger(gov.root)
    now = parse_timestamp("2026-03-09T10:00:00Z")
    theirs = gov.write("records/incidents/2026/INC-2026-0001.yaml", "id: INC-2026-0001\n")
    created = new_record(ledger, "incident", now=now, title="Mine")
    assert created.id == "INC-2026-0002"
    assert theirs.read_text() == "id: INC-2026-0001\n"
    assert 'title: "Mine"' in created.path.read_text(encoding="utf-8")


# --- the primitives ---------------------------------------------------------------------------


def test_replace_if_is_a_compare_and_swap(tmp_path: Path) -> None:
    path = tmp_path / "record.yaml"
    path.write_bytes(b"a: 1\n")
    path.chmod(0o640)
    fileedit.replace_if(path, b"a: 1\n", b"a: 2\n")
    assert path.read_bytes() == b"a: 2\n" and path.stat().st_mode & 0o777 == 0o640
    with pytest.raises(fileedit.Conflict):
        fileedit.replace_if(path, b"a: 1\n", b"a: 3\n")
    assert path.read_bytes() == b"a: 2\n"
    with pytest.raises(fileedit.Conflict):
        fileedit.replace_if(tmp_path / "new.yaml", b"a: 1\n", b"x")
    fileedit.replace_if(tmp_path / "new.yaml", None, b"x")
    with pytest.raises(fileedit.Conflict):
        fileedit.replace_if(tmp_path / "new.yaml", None, b"y")
    assert (tmp_path / "new.yaml").read_bytes() == b"x"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.yaml", "record.yaml"]


def test_writes_never_follow_links(tmp_path: Path) -> None:
    target = tmp_path / "policy.yaml"
    target.write_bytes(b"keep\n")
    link = tmp_path / "record.yaml"
    link.symlink_to(target)
    with pytest.raises(fileedit.Conflict):
        fileedit.replace_if(link, b"keep\n", b"changed\n")
    assert not fileedit.create_exclusive(link, b"changed\n")
    assert target.read_bytes() == b"keep\n"


def test_state_outside_git_ignores_itself_and_refuses_a_link(repo: Repo, tmp_path: Path) -> None:
    state = fileedit.state_dir(repo.root)
    assert state == repo.root / ".opsledger-state"
    assert (state / ".gitignore").read_text().splitlines()[-1] == "*"
    git_init(repo.root)
    assert fileedit.state_dir(repo.root) == repo.root / ".git" / "opsledger"
    assert ".opsledger-state" not in git(repo.root, "status", "--porcelain", "-uall")
    other = Repo(tmp_path / "other")
    other.root.mkdir()
    (other.root / ".opsledger-state").symlink_to(repo.root / "records")
    with pytest.raises(OpsledgerError, match="not a folder"):
        fileedit.state_dir(other.root)
