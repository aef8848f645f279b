"""Every rule's documented examples are executable: the failing example makes the rule fire,
the passing one leaves it silent. Each runs through the audit on real files in a temporary
repository (history examples: commits in a real git repository). The test enumerates the
registry, so a rule without examples fails here.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from opsledger.findings import Finding
from opsledger.rules import RULES, RULES_BY_ID, Rule
from opsledger.rules.examples import BASE, Example, Examples, File
from opsledger.workspace import Workspace

from conftest import InvokeCli, defaults_dir, git, git_init

POLICY = (defaults_dir() / "policy.yaml").read_text(encoding="utf-8")


def scaffold(root: Path, *, records: bool) -> None:
    """Schemas, the default policy, the base service catalog and (``records``) one base
    record of each kind."""
    shutil.copytree(defaults_dir() / "schemas", root / "schemas")
    (root / "policy.yaml").write_text(POLICY, encoding="utf-8")
    for kind, (path, text) in BASE.items():
        if records or kind == "services":
            target = root / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")


def apply(root: Path, files: tuple[File, ...]) -> None:
    for file in files:
        target = root / file.path
        if file.deleted:
            target.unlink()
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(file.text(POLICY), encoding="utf-8")


def run(rule: type[Rule], examples: Examples, example: Example, root: Path) -> list[Finding]:
    """The rule's findings on ``example`` played into a new repository at ``root``."""
    if example.commits:
        scaffold(root, records=False)
        git_init(root)
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", "Adopt opsledger", date="2026-01-01T09:00:00Z")
        for n, commit in enumerate(example.commits, 1):
            apply(root, commit.files)
            git(root, "add", "-A")
            git(root, "commit", "-q", "-m", f"Step {n}", date=commit.at, who=commit.author)
        workspace = Workspace(root, as_of=examples.as_of)
    else:
        scaffold(root, records=True)
        apply(root, example.files)
        workspace = Workspace(root, as_of=examples.as_of, use_history=False)
    return [f for f in workspace.findings(select=(rule.id,)) if f.rule == rule.id]


def test_the_base_repository_passes_every_rule(tmp_path: Path) -> None:
    # so that a failing example fails because of its overlay, not because of the base
    scaffold(tmp_path, records=True)
    assert Workspace(tmp_path, as_of="2026-03-31T12:00:00Z", use_history=False).findings() == []


@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_failing_example_fires(rule: type[Rule], tmp_path: Path) -> None:
    assert rule.examples is not None, f"{rule.id} has no examples"
    findings = run(rule, rule.examples, rule.examples.failing, tmp_path)
    assert findings, f"{rule.id}: the failing example does not fire"


@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_passing_example_is_silent(rule: type[Rule], tmp_path: Path) -> None:
    assert rule.examples is not None, f"{rule.id} has no examples"
    findings = run(rule, rule.examples, rule.examples.passing, tmp_path)
    assert findings == [], f"{rule.id}: the passing example fires"


@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_history_rules_have_history_examples(rule: type[Rule]) -> None:
    assert rule.examples is not None
    for example in (rule.examples.failing, rule.examples.passing):
        assert bool(example.commits) == rule.id.startswith("GIT-"), rule.id
        assert example.commits or example.files, rule.id


@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_documentation_shows_the_examples_as_written(rule: type[Rule]) -> None:
    assert rule.examples is not None
    sections = rule.doc_sections()
    for name, example in (
        ("Failing example", rule.examples.failing),
        ("Passing example", rule.examples.passing),
    ):
        shown = sections[name]
        for line in example.render().splitlines():
            assert line.strip() in shown, (rule.id, name, line)


def test_rules_command_and_sarif_show_the_rendered_sections(tmp_path: Path, cli: InvokeCli) -> None:
    shown = cli("rules", "INC-ACK").out
    assert "Failing example:\n  priority: P1              # acknowledge_within: 5m\n" in shown
    assert "Passing example:\n  acknowledged_at: 2026-03-04T09:17:00Z\n" in shown
    assert "Policy settings:\n  ``priorities.<priority>.acknowledge_within`` (duration" in shown
    scaffold(tmp_path, records=True)
    result = cli(
        "audit", "--repo", tmp_path, "--no-history", "--format", "sarif", "--as-of", "2026-03-31"
    )
    rules = json.loads(result.out)["runs"][0]["tool"]["driver"]["rules"]
    (ack,) = [r for r in rules if r["id"] == "INC-ACK"]
    # the whole documentation is the rule's help; the full description is its opening
    assert ack["help"]["text"] == RULES_BY_ID["INC-ACK"].documentation()
    assert "Policy settings:" in ack["help"]["text"]
    assert "## Policy settings" in ack["help"]["markdown"]
