"""Long commands draw a progress bar on a terminal and print nothing of it in CI or a pipe.

Each command runs as the real ``opsledger`` program with its standard error on a
pseudo-terminal (what a person at a terminal has) or on a pipe; standard output goes to a
file, so what it prints there is checked apart: a bar never lands in a command's output.
"""

from __future__ import annotations

import os
import pty
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ACKED, PROJECT, RUNBOOK, Repo, git, git_init

BIN = Path(sys.executable).parent
SAMPLE = PROJECT / "tooling" / "tests" / "data" / "servicenow-incident-events-sample.csv"
#: what rich draws for a bar (the bar itself, hiding the cursor while it is drawn)
BAR_MARKS = ("━", "\x1b[?25l")
#: the phases of ``site build``, each shown while it runs
SITE_PHASES = (
    "Loading records",
    "Reading history",
    "Auditing",
    "Generating pages",
    "Rendering pages",
    "Writing pages",
)


def _env(ci: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "NO_COLOR", "TERM")}
    env["TERM"] = "xterm-256color"
    env["COLUMNS"] = "100"
    if ci:
        env["CI"] = "true"
    return env


def _run(args: list[str | Path], tmp: Path, *, terminal: bool, ci: bool) -> tuple[int, str, str]:
    """Run ``opsledger ARGS``; its standard error on a pseudo-terminal (or a pipe)."""
    out_file = tmp / "stdout.txt"
    command = [str(BIN / "opsledger"), *map(str, args)]
    with out_file.open("wb") as out:
        if not terminal:
            proc = subprocess.run(
                command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.PIPE, env=_env(ci)
            )
            return proc.returncode, out_file.read_text("utf-8"), proc.stderr.decode("utf-8")
        main, side = pty.openpty()
        with subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=out, stderr=side, env=_env(ci)
        ) as process:
            os.close(side)
            chunks: list[bytes] = []
            while True:
                try:
                    data = os.read(main, 65536)
                except OSError:  # the other side closed: the program ended
                    break
                if not data:
                    break
                chunks.append(data)
            status = process.wait(timeout=600)
        os.close(main)
    return status, out_file.read_text("utf-8"), b"".join(chunks).decode("utf-8", "replace")


def _drawn(err: str, *labels: str) -> None:
    for mark in BAR_MARKS:
        assert mark in err, (mark, err[-2000:])
    for label in labels:
        assert label in err, (label, err[-2000:])


def _quiet(err: str, *labels: str) -> None:
    for mark in (*BAR_MARKS, "\x1b["):
        assert mark not in err, (mark, err[-2000:])
    for label in labels:
        assert label not in err, (label, err[-2000:])


@pytest.fixture
def site_repo(repo: Repo) -> Repo:
    repo.write("records/incidents/INC-2026-0001.yaml", ACKED)
    repo.write("runbooks/RB-0003.md", RUNBOOK)
    git_init(repo.root)
    git(repo.root, "add", "-A")
    git(repo.root, "commit", "-q", "-m", "records")
    return repo


def _site_args(repo: Repo, tmp: Path) -> list[str | Path]:
    out = tmp / "public"
    shutil.rmtree(out, ignore_errors=True)
    return ["site", "build", "--repo", repo.root, "--as-of", "2026-04-01", "--output", out]


def test_site_build_draws_each_phase_on_a_terminal(site_repo: Repo, tmp_path: Path) -> None:
    status, out, err = _run(_site_args(site_repo, tmp_path), tmp_path, terminal=True, ci=False)
    assert status == 0, err
    _drawn(err, *SITE_PHASES)
    assert out.strip().endswith("index.html")  # the bar stays out of the command's output
    _quiet(out, *SITE_PHASES)


@pytest.mark.parametrize("terminal,ci", [(True, True), (False, False), (False, True)])
def test_site_build_is_quiet_in_ci_and_pipes(
    site_repo: Repo, tmp_path: Path, terminal: bool, ci: bool
) -> None:
    status, out, err = _run(_site_args(site_repo, tmp_path), tmp_path, terminal=terminal, ci=ci)
    assert status == 0, err
    _quiet(err, *SITE_PHASES)
    assert out.strip().endswith("index.html")


def test_demo_draws_on_a_terminal_and_is_quiet_in_ci(tmp_path: Path) -> None:
    label = "Generating demo repository"
    for terminal, ci in [(True, False), (True, True), (False, False)]:
        dest = tmp_path / f"demo-{terminal}-{ci}"
        args: list[str | Path] = ["demo", dest, "--months", "1", "--seed", "3"]
        status, _, err = _run(args, tmp_path, terminal=terminal, ci=ci)
        assert status == 0, err
        if terminal and not ci:
            _drawn(err, label)
        else:
            _quiet(err, label)
        assert "demo repository written to" in err


@pytest.mark.skipif(not SAMPLE.is_file(), reason=f"no ServiceNow sample at {SAMPLE}")
def test_import_draws_each_phase_on_a_terminal_and_is_quiet_in_ci(
    repo: Repo, tmp_path: Path
) -> None:
    phases = ("Reading the export", "Building records", "Writing records")
    for terminal, ci in [(True, False), (True, True), (False, False)]:
        args: list[str | Path] = ["import", "servicenow", SAMPLE, "--repo", repo.root]
        args += ["--timezone", "Europe/London", "--adopted-on", "2026-03-02"]
        status, _, err = _run(args, tmp_path, terminal=terminal, ci=ci)
        assert status in (0, 1), err
        if terminal and not ci:
            _drawn(err, *phases)
        else:
            _quiet(err, *phases)


def test_history_draws_on_a_terminal_and_is_quiet_in_ci(site_repo: Repo, tmp_path: Path) -> None:
    label = "Reading history"
    for terminal, ci in [(True, False), (True, True), (False, False)]:
        args: list[str | Path] = ["history", "INC-2026-0001", "--repo", site_repo.root]
        status, out, err = _run(args, tmp_path, terminal=terminal, ci=ci)
        assert status == 0, err
        assert "records" in out  # the commit's subject, on standard output
        if terminal and not ci:
            _drawn(err, label)
        else:
            _quiet(err, label)
        _quiet(out, label)
