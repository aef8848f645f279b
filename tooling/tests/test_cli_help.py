"""Every command has help, and every option says what it does."""

from __future__ import annotations

from collections.abc import Iterator

import click
import pytest

from opsledger.cli import cli

from conftest import InvokeCli


def commands(
    group: click.Group = cli, prefix: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    for name, command in sorted(group.commands.items()):
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
