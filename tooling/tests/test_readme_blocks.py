"""The README's "Use it in your repository" blocks are what users copy: each is checked
against what ``opsledger init`` writes and by the client that reads it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from opsledger.ci import PLACEHOLDER, fill, parse_action_ref

from conftest import PROJECT, InvokeCli, git, git_init, pull_request

BIN = Path(sys.executable).parent
README = (PROJECT / "README.md").read_text()
TEMPLATES = PROJECT / "tooling/opsledger/defaults/init"


def block(name: str) -> str:
    match = re.search(rf"<!-- copy: {name} -->\n```[a-z]+\n(.*?)```\n", README, re.S)
    assert match is not None, f"README has no '{name}' block"
    return match.group(1)


def check(*args: str | Path) -> None:
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("name", "template", "schema"),
    [
        ("github-workflow", "governance.yml", "vendor.github-workflows"),
        ("gitlab-ci", "gitlab-ci.yml", "vendor.gitlab-ci"),
        ("pre-commit", "pre-commit-config.yaml", None),
    ],
)
def test_ci_blocks_are_what_init_writes_and_their_client_accepts(
    name: str, template: str, schema: str | None, tmp_path: Path
) -> None:
    text = block(name)
    assert PLACEHOLDER in text or "OWNER/REPO" in text  # the README says to replace it
    assert yaml.safe_load(text) == yaml.safe_load((TEMPLATES / template).read_text())
    copied = tmp_path / template
    copied.write_text(fill(text, parse_action_ref("acme/opsledger@v0.1.0")))
    if schema is not None:
        check(BIN / "check-jsonschema", "--builtin-schema", schema, copied)
    else:
        check(BIN / "pre-commit", "validate-config", copied)


def test_the_action_inputs_and_outputs_are_documented() -> None:
    action = yaml.safe_load((PROJECT / "action.yml").read_text())
    section = README.split("### GitHub: the Action", 1)[1].split("### GitLab", 1)[0]
    for name in [*action["inputs"], *action["outputs"]]:
        assert f"`{name}`" in section, name


def test_editor_blocks_match_the_records_opsledger_writes(cli: InvokeCli, tmp_path: Path) -> None:
    root = tmp_path / "governance"
    assert cli("init", root, "--action-ref", "acme/opsledger@v0.1.0").status == 0
    git_init(root)
    git(root, "config", "user.email", "sam.okafor@example.com")
    made = cli("new", "incident", "--repo", root, "--as-of", "2026-03-02T10:00:00Z").out.strip()
    change = cli("new", "change", "--repo", root, "--as-of", "2026-03-02T10:00:00Z").out.strip()
    first = (root / made).read_text().splitlines()[0]
    assert first == block("modeline").strip()
    settings = json.loads(block("vscode-settings"))["yaml.schemas"]
    covered: set[str] = set()
    for schema, pattern in settings.items():
        assert (root / schema).is_file(), schema
        covered |= {p.relative_to(root).as_posix() for p in root.glob(pattern)}
    assert {made, change, "records/services.yaml", "policy.yaml"} <= covered


@pytest.mark.slow
def test_the_gitlab_job_gates_a_merge_request(tmp_path: Path) -> None:
    """The README's GitLab job, run as a GitLab runner runs it (before_script and script in
    one shell, stopping at the first failing command) on a merge request whose head adds a
    record with a placeholder statement. opsledger is installed from this checkout instead
    of GitHub, and the job's virtual environment lives in the test's folder."""
    config = yaml.safe_load(block("gitlab-ci"))
    job = config["opsledger-audit"]
    hidden = config[job["extends"]]
    venv = tmp_path / "venv"
    lines = [line.replace("/tmp/opsledger", str(venv)) for line in hidden["before_script"]]
    lines += job["script"]
    root = tmp_path / "governance"
    base = pull_request(root, "gitlab")
    env = {
        **{k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"},
        **{k: str(v) for k, v in config["variables"].items()},
        "OPSLEDGER": PROJECT.as_uri(),
        "CI_PROJECT_DIR": str(root),
        "CI_MERGE_REQUEST_DIFF_BASE_SHA": base,
        "PIP_CACHE_DIR": str(tmp_path / "pip-cache"),
    }
    result = subprocess.run(
        ["bash", "--noprofile", "--norc", "-e", "-c", "\n".join(lines)],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "records/incidents/INC-2026-0002.yaml:8:9: error INC-STATEMENT" in result.stdout
    reports = job["artifacts"]["reports"]
    issues = json.loads((root / reports["codequality"]).read_text())
    assert {i["location"]["path"] for i in issues} == {"records/incidents/INC-2026-0002.yaml"}
    assert "INC-STATEMENT" in {i["check_name"] for i in issues}
    junit = (root / reports["junit"]).read_text()
    assert 'file="records/incidents/INC-2026-0002.yaml"' in junit
