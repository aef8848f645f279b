"""Every command has help, and every option says what it does."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from opsledger.cli import COMMANDS, cli
from opsledger.rules import FAMILIES

from conftest import INCIDENT, InvokeCli, Repo


def commands(
    group: click.Group = cli, prefix: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, name
        yield (*prefix, name), command
        if isinstance(command, click.Group):
            yield from commands(command, (*prefix, name))


ALL = list(commands())


@pytest.mark.parametrize(("path", "command"), ALL, ids=[" ".join(p) for p, _ in ALL])
def test_command_has_help_and_documented_options(
    path: tuple[str, ...], command: click.Command, cli: InvokeCli
) -> None:
    assert (command.help or "").strip(), f"{' '.join(path)} has no help text"
    for param in command.params:
        if isinstance(param, click.Option):
            assert (param.help or "").strip(), f"{' '.join(path)} {param.opts[0]} has no help"
    result = cli(*path, "--help")
    assert result.status == 0
    assert "Usage: opsledger" in result.out


def test_the_documented_commands_exist() -> None:
    names = {" ".join(p) for p, _ in ALL}
    assert {"validate", "audit", "rules", "new", "init", "history", "brief", "demo"} <= names


def test_the_command_list_names_what_runs() -> None:
    """``opsledger --help`` lists the commands from a table (so that it imports none of
    them); each entry loads a command of that name, with that line as its short help."""
    ctx = click.Context(cli)
    for name, (_module, _attribute, short_help) in COMMANDS.items():
        command = cli.get_command(ctx, name)
        assert command is not None and command.name == name
        assert command.get_short_help_str(limit=200) == short_help
        assert short_help.endswith(".") and len(short_help) <= 45, name


@pytest.mark.parametrize("argv", [["--help"], ["validate", "--help"], ["--version"]])
def test_starting_up_loads_neither_git_nor_the_site(argv: list[str]) -> None:
    """Start-up cost is what a pre-commit hook pays on every commit: the help, the version
    and validate's start do not import GitPython, MkDocs or the KPI engine."""
    probe = (
        "import sys\n"
        "from opsledger.cli import run\n"
        f"status = run({argv!r})\n"
        "heavy = [m for m in ('git.repo', 'mkdocs', 'opsledger.kpis.engine') if m in sys.modules]\n"
        "print('LOADED', heavy)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert "LOADED []" in done.stdout, done.stdout


#: the audit's machinery, which ``validate`` (YAML, schemas, IDs) does not run: every rule
#: family but REF-ID's
AUDIT_MODULES = (
    "opsledger.audit",
    "opsledger.obligations",
    "opsledger.history.model",
    "opsledger.calendar",
    *(f"opsledger.rules.{family}" for family in FAMILIES if family != "references"),
    "opsledger.gitio",  # git is not asked anything
    "opsledger.parsecache",  # a few files are parsed afresh, without a key from git
    "git.repo",
)


def _validate_in_a_fresh_interpreter(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    probe = (
        "import sys\n"
        "from opsledger.cli import run\n"
        f"status = run(['validate', '--repo', {str(root)!r}, *{list(args)!r}])\n"
        f"loaded = [m for m in {AUDIT_MODULES!r} if m in sys.modules]\n"
        "print('STATUS', status, 'LOADED', loaded)\n"
    )
    return subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)


def test_validating_a_file_loads_none_of_the_audit(repo: Repo) -> None:
    """What a pre-commit hook runs on every commit: ``validate`` of one record reads the
    record, its schema and the policy; it imports no rule family beyond REF-ID's, no
    obligation, history or calendar module and not GitPython. Its verdicts stay those of
    the full audit (the hostile case below: a record that fails its schema)."""
    path = repo.write("records/incidents/INC-2026-0001.yaml", INCIDENT)
    done = _validate_in_a_fresh_interpreter(repo.root, str(path))
    assert "STATUS 0 LOADED []" in done.stdout, done.stdout + done.stderr
    repo.write("records/incidents/INC-2026-0001.yaml", INCIDENT + "bogus: 1\n")
    done = _validate_in_a_fresh_interpreter(repo.root, str(path))
    assert "STATUS 1 LOADED []" in done.stdout, done.stdout + done.stderr
    assert "SCHEMA" in done.stdout and "bogus" in done.stdout


def test_validate_reads_the_rule_registry_when_the_policy_names_a_rule(repo: Repo) -> None:
    """The registry is loaded only when the policy names rules, and then in full: a waiver
    naming a rule that does not exist stops validate (exit 2, at its line), as it stops the
    audit, in an interpreter that has loaded no rule before."""
    path = repo.write("records/incidents/INC-2026-0001.yaml", INCIDENT)
    policy = repo.root / "policy.yaml"
    text = policy.read_text(encoding="utf-8")
    assert "\nwaivers: []\n" in text
    text = text.replace(
        "\nwaivers: []\n",
        "\nwaivers:\n  - rule: INC-ACKK\n    record: INC-2026-0001\n"
        "    reason: accepted until the paging migration ends\n"
        "    expires: 2099-01-01\n    approved_by: lead@example.com\n",
    )
    policy.write_text(text, encoding="utf-8")
    done = _validate_in_a_fresh_interpreter(repo.root, str(path))
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "INC-ACKK" in row)
    assert "STATUS 2" in done.stdout, done.stdout + done.stderr
    assert f"policy.yaml:{line}:" in done.stderr and "unknown rule 'INC-ACKK'" in done.stderr


#: a fresh interpreter that imports the libraries opsledger uses (never opsledger), then
#: forks once per module named on its input: each child imports its module first, as a
#: fresh interpreter would, without paying for the libraries' import again
IMPORT_EACH = """\
import os, sys, traceback
for library in sys.argv[1:]:
    __import__(library)
assert not [m for m in sys.modules if m.split(".")[0] == "opsledger"]
for name in sys.stdin.read().split():
    pid = os.fork()
    if pid == 0:
        try:
            __import__(name)
        except BaseException:
            last = traceback.format_exc().strip().splitlines()[-1]
            print(f"{name}: {last}", flush=True)
            os._exit(1)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    if status and not os.WIFEXITED(status):
        print(f"{name}: ended by signal {os.WTERMSIG(status)}", flush=True)
"""
#: what the package imports from outside (the libraries, not its own modules)
LIBRARIES = ["yaml", "jsonschema_rs", "git", "click", "rich", "markdown_it", "nh3"]
LIBRARIES += ["mkdocs.commands.build", "mkdocs.plugins", "material", "dateutil", "filelock"]


def test_every_module_imports_first_on_its_own() -> None:
    """An import cycle shows only when one of its modules is imported first: each module
    of the package is imported first, in an interpreter that has imported no other module
    of the package (a child forked from one that loaded only the libraries)."""
    import pkgutil

    import opsledger

    names = sorted(m.name for m in pkgutil.walk_packages(opsledger.__path__, "opsledger."))
    assert len(names) > 100
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_EACH, *LIBRARIES],
        input="\n".join(names),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""


def test_a_module_that_cannot_be_imported_first_is_named() -> None:
    """The check above fails on a module that imports only after another one."""
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_EACH, *LIBRARIES],
        input="opsledger.cli\nopsledger.no_such_module\nopsledger.timeutil",
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    missing = "opsledger.no_such_module"
    assert done.stdout == f"{missing}: ModuleNotFoundError: No module named '{missing}'\n"


@pytest.mark.slow
def test_every_module_imports_in_a_fresh_interpreter() -> None:
    """Each module of the package imported first in an interpreter of its own: what the
    forked check above cannot see, a module that reaches a library's submodule it never
    imports (``import mkdocs`` then ``mkdocs.plugins.BasePlugin``), which works there only
    because the parent imported that submodule before forking."""
    import pkgutil

    import opsledger

    names = sorted(m.name for m in pkgutil.walk_packages(opsledger.__path__, "opsledger."))
    assert len(names) > 100
    failed = []
    for name in names:
        done = subprocess.run(
            [sys.executable, "-c", f"import {name}"], capture_output=True, text=True
        )
        if done.returncode:
            failed.append(f"{name}: {done.stderr.strip().splitlines()[-1]}")
    assert not failed, "\n".join(failed)


def test_an_internal_error_is_one_line_and_its_traceback_only_with_verbose(
    cli: InvokeCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A genuine bug (no input reaches one: here a loader made to fail) exits 3 with one
    line; ``-v`` adds the traceback (imported only then)."""
    from opsledger.model import ledger

    assert cli("init", tmp_path / "gov").status == 0

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug\nspanning lines")

    monkeypatch.setattr(ledger, "walk", broken)
    quiet = cli("validate", "--repo", tmp_path / "gov")
    assert quiet.status == 3 and "Traceback" not in quiet.err
    assert quiet.err.strip().splitlines() == [
        "opsledger: internal error: RuntimeError: a bug\\nspanning lines (run with -v for "
        "details; please report it)"
    ]
    loud = cli("-v", "validate", "--repo", tmp_path / "gov")
    assert loud.status == 3
    assert "Traceback (most recent call last)" in loud.err and "RuntimeError" in loud.err
