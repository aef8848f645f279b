"""The ``opsledger`` command: a thin Click face over the core.

Commands gather options and call the core; :func:`run` is the one place that turns
expected failures into a one-line message and an exit status (2 for usage and
configuration, 3 for a genuine bug, with the traceback only under ``-v``). Those messages
often quote a file name or a value, so they are printed through :mod:`opsledger.neutral`.
"""

from __future__ import annotations

import importlib
import io
import os
import sys
from collections.abc import Sequence

import click

from opsledger import __version__
from opsledger.errors import EXIT_BUG, EXIT_OK, EXIT_USAGE, OpsledgerError
from opsledger.fsio import detach_stdout, refusal, standard_streams, stdout_failed
from opsledger.neutral import line, lines

# name -> (module, attribute, the one line shown by ``opsledger --help``). Commands are
# imported when they run, not when the program starts: ``opsledger --help`` and a
# pre-commit ``validate`` of one file do not pay for the site, git or the KPI engine.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "approve": ("opsledger.cli.approve", "approve_command", "Add your approval or review."),
    "audit": ("opsledger.cli.audit", "audit", "Run every audit rule over the records."),
    "brief": ("opsledger.cli.brief", "brief_command", "Write an incident's executive debrief."),
    "demo": ("opsledger.cli.demo", "demo", "Generate a demo governance repository."),
    "history": ("opsledger.cli.history", "history", "Show a record's audit trail from git."),
    "import": ("opsledger.cli.importer", "import_group", "Import records from another system."),
    "init": ("opsledger.cli.new", "init", "Scaffold a new governance repository."),
    "kpi": ("opsledger.cli.kpi", "kpi_command", "Compute the KPIs against their targets."),
    "new": ("opsledger.cli.new", "new", "Write a new record with the next free ID."),
    "problems": (
        "opsledger.cli.problems",
        "problems_group",
        "List recurring incidents without a problem.",
    ),
    "report": ("opsledger.cli.report", "report_command", "Write the weekly or monthly report."),
    "rules": ("opsledger.cli.rules", "rules_command", "List the rules, or show one rule."),
    "sample": ("opsledger.cli.sample", "sample_group", "Draw an auditor's sample, or verify one."),
    "site": ("opsledger.cli.site", "site_group", "Build or serve the audit-ready site."),
    "validate": ("opsledger.cli.validate", "validate", "Check records against their schemas."),
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use (see :data:`COMMANDS`)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(COMMANDS))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            module, attribute, short_help = COMMANDS[cmd_name]
            command = getattr(importlib.import_module(module), attribute)
            assert isinstance(command, click.Command), module
            command.short_help = short_help
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][2]) for name in sorted(COMMANDS)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="opsledger")
@click.option("-v", "--verbose", is_flag=True, help="Show a traceback for internal errors.")
def cli(verbose: bool) -> None:
    """Governance-as-code for IT operations: audit incidents, changes, PIRs and runbooks."""


def run(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    verbose = "-v" in args or "--verbose" in args
    try:
        result = cli.main(args=args, prog_name="opsledger", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        shown = io.StringIO()
        exc.show(file=shown)  # usage and message; the message may quote an argument
        click.echo(lines(shown.getvalue().rstrip("\n")), err=True)
        return EXIT_USAGE
    except click.exceptions.Abort:
        click.echo("opsledger: aborted", err=True)
        return EXIT_USAGE
    except OpsledgerError as exc:
        click.echo(f"opsledger: error: {line(exc.message)}", err=True)
        return exc.status
    except KeyboardInterrupt:
        click.echo("opsledger: interrupted", err=True)
        return 130
    except OSError as exc:  # the filesystem refused (disk full, no permission...)
        message = refusal(exc)
        if message is None:
            return _bug(exc, verbose)
        detach_stdout()
        click.echo(f"opsledger: error: {line(message)}", err=True)
        return EXIT_USAGE
    except Exception as exc:
        return _bug(exc, verbose)
    if stdout_failed():  # standard output too can be a full disk or a closed pipe
        detach_stdout()
        click.echo("opsledger: error: cannot write to standard output", err=True)
        return EXIT_USAGE
    return result if isinstance(result, int) else EXIT_OK


def _bug(exc: BaseException, verbose: bool) -> int:
    """A genuine bug: one line, the traceback only with -v."""
    if verbose:
        import traceback  # only here: it costs every run about 20 ms to import

        traceback.print_exception(exc)
    click.echo(
        f"opsledger: internal error: {type(exc).__name__}: {line(exc)} (run with -v for "
        "details; please report it)",
        err=True,
    )
    return EXIT_BUG


#: What commands hand over for the end of the process, when the process ends with the
#: command (the console script, :func:`main`, sets a list here); None for a command run
#: in-process (tests, the site plugin), whose results are freed as usual.
held: list[object] | None = None


def hold_to_exit(value: object) -> None:
    """Keep ``value`` (a run's records and history: millions of objects on a large
    repository) until the process ends, which then ends without freeing them one by one
    (a third of a second on 10k records). Nothing is kept for an in-process run."""
    if held is not None:
        held.append(value)


def main() -> None:
    """The console script. A command that held its results for the end of the process
    (:func:`hold_to_exit`) ends it here at once, once standard output and error are
    flushed: the operating system frees the memory in one step. Nothing else is left to
    do at exit (every file is closed, every thread joined, by then). Under a profiler or
    a coverage tracer, which write their results at exit, the process exits as usual."""
    global held
    held = []
    standard_streams()  # started with one closed (>&-): a refusal, never an internal error
    status = run()
    if held and sys.gettrace() is None and sys.getprofile() is None:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except (OSError, ValueError):
            sys.exit(status)  # the usual exit reports what could not be written
        os._exit(status)
    sys.exit(status)
