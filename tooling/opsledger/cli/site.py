"""``opsledger site build|serve``: the audit-ready static site (MkDocs Material)."""

from __future__ import annotations

import itertools
import logging
import shutil
import tempfile
import threading
import time
from pathlib import Path

import click

from opsledger.cli.common import interactive, no_history_option, progress, repo_option, repo_root
from opsledger.errors import EXIT_OK, OpsledgerError
from opsledger.neutral import line
from opsledger.site.build import (
    BuildResult,
    build_site,
    changed_files,
    make_server,
    records_only,
    refresh_site,
    settle,
    snapshot,
    watched,
)
from opsledger.site.split import SPLIT_MIN, SPLIT_MOST, auto_split
from opsledger.workspace import Workspace

_AS_OF = click.option(
    "--as-of",
    "as_of",
    metavar="T",
    default=None,
    help="Fix 'now' for findings and KPIs (a timestamp, or a date for the end of that day).",
)
_CONFIG = click.option(
    "--config",
    "config",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="MkDocs configuration (default: the repository's mkdocs.yml, else the packaged one).",
)


#: how often ``site serve`` looks for changes, in seconds
_POLL_SECONDS = 1.0


def _gist(message: str) -> str:
    """A message of MkDocs on one line: its first line, and its last when it has more (a
    configuration error carries a whole traceback)."""
    lines = [text for text in message.strip().splitlines() if text.strip()] or [""]
    return lines[0] if len(lines) == 1 else f"{lines[0]} … {lines[-1].strip()}"


class _Echo(logging.Handler):
    """MkDocs' warnings, one line each on standard error. Its errors are held: a build that
    then fails says so in one line that carries the last of them (:func:`_build`); one
    that succeeds prints them after."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.errors: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR:
            self.errors.append(_gist(record.getMessage()))
            return
        click.echo(line(f"{record.levelname.lower()}: {_gist(record.getMessage())}"), err=True)

    def print_held(self) -> None:
        """Print the errors held (a build or refresh that did not fail). Not ``flush``,
        which logging calls at exit for every handler."""
        for error in self.errors:
            click.echo(line(f"error: {error}"), err=True)
        self.errors.clear()


_ECHO = _Echo()


def _logging() -> _Echo:
    log = logging.getLogger("mkdocs")
    if _ECHO not in log.handlers:
        log.addHandler(_ECHO)
    log.setLevel(logging.INFO if interactive() else logging.WARNING)
    log.propagate = False
    _ECHO.errors.clear()
    return _ECHO


def _build(
    repo: Path | None,
    output: Path | None,
    config: Path | None,
    as_of: str | None,
    no_history: bool,
    keep: bool = False,
    split: tuple[int | None, int | None] = (None, None),
) -> BuildResult:
    root = repo_root(repo)
    echo = _logging()
    ws = Workspace(root, as_of=as_of, use_history=not no_history)
    moment = ws.as_of if as_of is not None else None
    try:
        result = build_site(
            root,
            output=output,
            config=config,
            as_of=moment,
            stage=progress,
            use_history=not no_history,
            ready=lambda: ws.history_state,  # decided before MkDocs starts: exit 4 early
            keep=keep,
            split=split[0],
            split_most=split[1],
        )
    except OpsledgerError as exc:
        _fold(exc, echo)
        raise
    echo.print_held()
    if result.config is None:
        click.echo(
            f"opsledger: note: {root} has no mkdocs.yml; built with the packaged "
            "default configuration",
            err=True,
        )
    return result


def _fold(exc: OpsledgerError, echo: _Echo) -> None:
    """Add what MkDocs said of a failure (the page it was reading) to its one line."""
    said = [e for e in echo.errors if e not in exc.message and e != "Aborted with a BuildError!"]
    echo.errors.clear()
    if said:
        aborted = "Aborted with a BuildError!"  # says nothing MkDocs' own error does not
        exc.message = (
            exc.message.replace(aborted, said[-1])
            if aborted in exc.message
            else f"{exc.message} (MkDocs: {said[-1]})"
        )
        exc.args = (exc.message,)


@click.group(name="site")
def site_group() -> None:
    """Build or serve the audit-ready static site (MkDocs Material, offline, sanitised).
    Plain 'mkdocs build' from the repository root builds the same site."""


@site_group.command(name="build")
@click.option(
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder to build into (default: site_dir of mkdocs.yml, public/).",
)
@click.option(
    "--jobs",
    type=click.IntRange(1, 2),
    default=None,
    help="Processes to render the pages with, 1 or 2 (default: 2 on a machine with two "
    f"processors, for a site of {2 * SPLIT_MIN:,} to {SPLIT_MOST:,} pages). The site is the "
    "same either way.",
)
@_CONFIG
@_AS_OF
@no_history_option
@repo_option
def build_command(
    output: Path | None,
    jobs: int | None,
    config: Path | None,
    as_of: str | None,
    no_history: bool,
    repo: Path | None,
) -> int:
    """Build the site and print the path of its index.html. Needs the full git history
    (exit status 4 in a shallow clone or outside git) unless --no-history is given; then
    every page that would show history says it is unavailable.

    mkdocs.yml (and any file it INHERITs) is checked first: YAML tags that would run Python
    code (!!python/object…, !!python/module, !!python/name outside material, pymdownx and
    markdown) and hooks: are refused with exit status 2."""
    split = auto_split() if jobs is None else (None, None) if jobs == 1 else (1, None)
    index = _build(repo, output, config, as_of, no_history, split=split).index
    click.echo(str(index))
    return EXIT_OK


def _build_beside(
    repo: Path | None,
    served: list[Path],
    folder: Path,
    config: Path | None,
    as_of: str | None,
    no_history: bool,
) -> BuildResult:
    """A full build into ``folder``; once it succeeded, ``folder`` is the one served
    (``served[0]``) and the one served before is removed. A failed build removes its own
    folder: the last good site stays served."""
    try:
        built = _build(repo, folder, config, as_of, no_history, keep=True)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    before, served[0] = served[0], folder
    shutil.rmtree(before, ignore_errors=True)
    return built


@site_group.command(name="serve")
@click.option("--port", type=int, default=8000, show_default=True, help="Port to listen on.")
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Address to listen on (local only)."
)
@_CONFIG
@_AS_OF
@no_history_option
@repo_option
def serve_command(
    port: int,
    host: str,
    config: Path | None,
    as_of: str | None,
    no_history: bool,
    repo: Path | None,
) -> int:
    """Build the site into a temporary folder and serve it until interrupted (search works
    only when served, not from files opened directly). The site is built again whenever a
    record, a runbook, a schema, policy.yaml, mkdocs.yml or a page in site/ changes: after
    a change to records or runbooks alone, only the pages whose text changed are rendered
    again (the same site a full build gives); a build that fails says why in one line and
    the last good site stays served."""
    root = repo_root(repo)
    with tempfile.TemporaryDirectory(prefix="opsledger-serve-") as tmp:
        # each full build goes to a folder of its own, served once it succeeded (MkDocs
        # empties its folder first: a build failing into the served one would leave none)
        folders = (Path(tmp) / f"build-{n}" for n in itertools.count(1))
        served = [next(folders)]
        built: BuildResult | None = _build(repo, served[0], config, as_of, no_history, keep=True)
        assert built is not None
        settle()
        server = make_server(lambda: served[0], host, port)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        click.echo(
            f"Serving {tmp} at http://{host}:{server.server_port}/ (rebuilt when a "
            "record, the policy or a site page changes; Ctrl-C stops)"
        )
        paths = watched(root, config)
        seen = snapshot(paths)
        try:
            while True:
                time.sleep(_POLL_SECONDS)
                now = snapshot(paths)
                changed = changed_files(seen, now)
                if not changed:
                    continue
                seen = now
                try:
                    pages = None
                    if built is not None and records_only(root, changed):
                        _ECHO.errors.clear()
                        pages = refresh_site(built)
                        _ECHO.print_held()
                    if pages is None:
                        built = None  # a failed build leaves nothing to refresh
                        built = _build_beside(
                            repo, served, next(folders), config, as_of, no_history
                        )
                        settle()
                except OpsledgerError as exc:
                    built = None  # half refreshed, or not built: the next change builds in full
                    _fold(exc, _ECHO)
                    click.echo(f"opsledger: error: {line(exc.message)}", err=True)
                    continue
                done = "in full" if pages is None else f"{len(pages)} changed page(s)"
                click.echo(f"Rebuilt the site ({done})", err=True)
        finally:
            server.shutdown()
            server.server_close()
    return EXIT_OK
