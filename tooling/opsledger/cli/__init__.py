"""The ``opsledger`` command: a thin Click face over the core.

Commands gather options and call the core; :func:`run` is the one place that turns
expected failures into a one-line message and an exit status (2 for usage and
configuration, 3 for a genuine bug, with the traceback only under ``-v``). Those messages
often quote a file name or a value, so they are printed through :mod:`opsledger.neutral`.
"""

from __future__ import annotations

import io
import sys
import traceback
from collections.abc import Sequence

import click

from opsledger import __version__
from opsledger.errors import EXIT_BUG, EXIT_OK, EXIT_USAGE, OpsledgerError
from opsledger.fsio import detach_stdout, refusal, stdout_failed
from opsledger.neutral import line, lines


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="opsledger")
@click.option("-v", "--verbose", is_flag=True, help="Show a traceback for internal errors.")
def cli(verbose: bool) -> None:
    """Governance-as-code for IT operations: audit incidents, changes, PIRs and runbooks."""


def _register() -> None:
    from opsledger.cli.approve import approve_command
    from opsledger.cli.audit import audit
    from opsledger.cli.brief import brief_command
    from opsledger.cli.demo import demo
    from opsledger.cli.history import history
    from opsledger.cli.importer import import_group
    from opsledger.cli.kpi import kpi_command
    from opsledger.cli.new import init, new
    from opsledger.cli.problems import problems_group
    from opsledger.cli.report import report_command
    from opsledger.cli.rules import rules_command
    from opsledger.cli.site import site_group
    from opsledger.cli.validate import validate

    for command in (validate, audit, rules_command, new, init, history, demo, brief_command):
        cli.add_command(command)
    cli.add_command(report_command)
    cli.add_command(kpi_command)
    cli.add_command(approve_command)
    cli.add_command(import_group)
    cli.add_command(site_group)
    cli.add_command(problems_group)


_register()


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
        traceback.print_exception(exc)
    click.echo(
        f"opsledger: internal error: {type(exc).__name__}: {line(exc)} (run with -v for "
        "details; please report it)",
        err=True,
    )
    return EXIT_BUG


def main() -> None:
    sys.exit(run())
