"""The package as a user gets it: a wheel built from the source tree, installed into a fresh
virtual environment, runs init, demo, audit and site build with nothing from this checkout;
and pre-commit installs the hooks from this repository by itself. Slow: both install."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from conftest import ACKED, PROJECT, SERVICES, git, git_init, project_copy

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent


def run(*args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    assert result.returncode == 0, f"{args}: {result.stdout}{result.stderr}"
    return result.stdout


def status(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, check=False
    )


def test_the_wheel_holds_every_data_file_and_runs_from_a_fresh_environment(
    tmp_path: Path,
) -> None:
    dist = tmp_path / "dist"
    source = project_copy(tmp_path / "source")
    run(sys.executable, "-m", "build", "--wheel", "--outdir", dist, source)
    (wheel,) = dist.glob("opsledger-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    package = source / "tooling/opsledger"
    data = [
        p
        for folder in ("defaults", "site/theme")
        for p in (package / folder).rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    ]
    data += list((package / "rules").glob("*.json"))
    assert len(data) > 20
    for path in data:
        assert "opsledger/" + path.relative_to(package).as_posix() in names, path
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)

    env_dir = tmp_path / "env"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin/python"
    run(python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", wheel)
    opsledger = env_dir / "bin/opsledger"
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    # nothing is read from this checkout: the installed package only
    where = run(python, "-c", "import opsledger; print(opsledger.__file__)", cwd=tmp_path)
    assert str(env_dir) in where
    version = run(python, "-c", "import importlib.metadata as m; print(m.version('opsledger'))")
    assert run(opsledger, "--version").strip() == f"opsledger, version {version.strip()}"

    root = tmp_path / "governance"
    run(opsledger, "init", root, "--action-ref", "acme/opsledger@v0.1.0", env=clean)
    (root / "records/services.yaml").write_text(SERVICES)
    (root / "records/incidents/INC-2026-0001.yaml").write_text(ACKED)
    git_init(root)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "Adopt opsledger", date="2026-03-05T10:00:00Z")
    result = status(opsledger, "audit", "--as-of", "2026-03-31T12:00:00Z", cwd=root)
    assert result.returncode == 1  # orders-db has no runbook yet: RB-COVERAGE
    assert "RB-COVERAGE" in result.stdout
    run(opsledger, "site", "build", "--as-of", "2026-03-31T12:00:00Z", cwd=root)
    assert (root / "public/incidents/INC-2026-0001.html").is_file()

    demo = tmp_path / "demo"
    run(opsledger, "demo", demo, "--months", "1", env=clean)
    audit = status(opsledger, "audit", "--format", "json", cwd=demo)
    assert audit.returncode == 1 and '"findings"' in audit.stdout
    run(opsledger, "site", "build", cwd=demo)
    assert (demo / "public/index.html").is_file()


def try_repo(root: Path, env: dict[str, str], *files: str) -> subprocess.CompletedProcess[str]:
    """pre-commit's own client: install this repository's hooks and run the validate hook."""
    command = ["pre-commit", "try-repo", str(PROJECT), "opsledger-validate", "--files", *files]
    command[0] = str(BIN / "pre-commit")
    return subprocess.run(command, cwd=root, capture_output=True, text=True, check=False, env=env)


def test_pre_commit_installs_the_hooks_and_names_file_and_line(tmp_path: Path) -> None:
    root = tmp_path / "governance"
    run(BIN / "opsledger", "init", root, "--action-ref", "acme/opsledger@v0.1.0")
    (root / "records/services.yaml").write_text(SERVICES)
    good = root / "records/incidents/INC-2026-0001.yaml"
    good.write_text(ACKED)
    broken = root / "records/incidents/INC-2026-0002.yaml"
    broken.write_text(
        ACKED.replace("0001", "0002").replace("status: open", "status: no  # YAML 1.1 false")
    )
    git_init(root)
    git(root, "add", "-A")
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home")}
    result = try_repo(
        root,
        env,
        "records/incidents/INC-2026-0001.yaml",
        "records/incidents/INC-2026-0002.yaml",
        "policy.yaml",
        "records/services.yaml",
    )
    assert result.returncode == 1, result.stdout + result.stderr
    line = next(n for n, t in enumerate(broken.read_text().splitlines(), 1) if "status:" in t)
    assert f"records/incidents/INC-2026-0002.yaml:{line}:9: error SCHEMA" in result.stdout
    assert "INC-2026-0001.yaml:" not in result.stdout  # the good record passes
    # a good commit passes the same hook
    broken.unlink()
    git(root, "add", "-A")
    result = try_repo(root, env, "records/incidents/INC-2026-0001.yaml", "policy.yaml")
    assert result.returncode == 0, result.stdout + result.stderr
