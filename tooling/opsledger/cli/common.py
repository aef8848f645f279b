"""What every command shares: the --repo option, finding the repository, progress."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click

from opsledger.errors import OpsledgerError
from opsledger.fsio import detach_stdout, write_text
from opsledger.model.ledger import find_root
from opsledger.outputs import check_output_file

F = TypeVar("F", bound=Callable[..., Any])


def repo_option(func: F) -> F:
    return click.option(
        "--repo",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Governance repository to use (default: the one containing the current folder).",
    )(func)


def _checked_output(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    """A refused --output is a usage error before any work (and before history is read)."""
    if value is not None:
        check_output_file(value)
    return value


def output_option(func: F) -> F:
    return click.option(
        "--output",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        callback=_checked_output,
        help="Write to this file instead of standard output.",
    )(func)


def no_history_option(func: F) -> F:
    return click.option(
        "--no-history",
        "no_history",
        is_flag=True,
        help="Run without git history (for a shallow clone or a folder outside git): every "
        "history-derived rule, figure or page is reported as unavailable, with the reason. "
        "Without it, such a checkout stops with exit status 4 and says how to fetch history.",
    )(func)


def repo_root(repo: Path | None) -> Path:
    return find_root(repo if repo is not None else Path.cwd())


def interactive() -> bool:
    """True on a terminal outside CI: only then is progress shown."""
    return sys.stderr.isatty() and not os.environ.get("CI")


@contextmanager
def progress(label: str) -> Iterator[Callable[[int, int], None] | None]:
    """A progress callback drawing a bar on a terminal (standard error: standard output
    stays the command's output), or None (quiet in CI and pipes)."""
    if not interactive():
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def write_output(text: str, output: Path | None) -> None:
    """Write a command's output to standard output or a file, as UTF-8.

    A character UTF-8 cannot encode (a lone surrogate: a file name byte that is not UTF-8,
    quoted in JSON) is written as its backslash escape instead of failing.
    """
    data = text.encode("utf-8", "backslashreplace")
    if output is None:
        try:
            click.echo(data.decode("utf-8"), nl=False)
        except OSError as exc:
            detach_stdout()
            raise OpsledgerError(f"cannot write to standard output: {exc.strerror}") from None
        return
    check_output_file(output)
    write_text(output, data.decode("utf-8"))
