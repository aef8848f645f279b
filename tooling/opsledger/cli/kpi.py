"""``opsledger kpi``: the KPIs with their targets and status."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import click

from opsledger.cli.common import (
    no_history_option,
    output_option,
    progress,
    repo_option,
    repo_root,
    write_output,
)
from opsledger.errors import EXIT_OK, OpsledgerError
from opsledger.kpis import DIMENSIONS, FORMATS, KPIS, KpiOptions
from opsledger.kpis.engine import KpiReport, check_options
from opsledger.kpis.render import heading, sections
from opsledger.neutral import line
from opsledger.timeutil import parse_date
from opsledger.workspace import Workspace


def _day(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return parse_date(text)
    except ValueError as exc:
        raise OpsledgerError(f"{option} {text!r}: {exc}") from None


def on_terminal() -> bool:
    """Standard output is a terminal: the table is drawn with rich; plain when piped."""
    return sys.stdout.isatty()


def _print_rich(report: KpiReport) -> None:
    """The table drawn by rich. Cells are Text (rich markup such as ``[/]`` in a service
    key is shown, never interpreted) and made inert like every text output."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console()
    console.print(Text(line(heading(report))), highlight=False)
    for title, header, rows in sections(report):
        table = Table(title=title, title_justify="left")
        for column in header:
            table.add_column(column)
        for row in rows:
            table.add_row(*(Text(line(cell)) for cell in row))
        console.print(table)


@click.command(name="kpi")
@click.option(
    "--since", metavar="D", default=None, help="First day of the period (YYYY-MM-DD, included)."
)
@click.option(
    "--until", metavar="D", default=None, help="Day after the period (YYYY-MM-DD, excluded)."
)
@click.option(
    "--by",
    multiple=True,
    type=click.Choice(DIMENSIONS),
    help="Also show each KPI per week, month, quarter, priority, service or source "
    "(repeat for several).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(sorted(FORMATS)),
    default="table",
    show_default=True,
    help="Output format; json is the stable contract (version 1).",
)
@click.option(
    "--as-of",
    "as_of",
    metavar="T",
    default=None,
    help="Fix 'now' (a timestamp, or a date for the end of that day in the policy timezone).",
)
@click.option(
    "--kpi",
    "only",
    multiple=True,
    metavar="ID",
    help=f"Only these KPIs (repeat or comma-separate): {', '.join(k.id for k in KPIS)}.",
)
@output_option
@no_history_option
@repo_option
def kpi_command(
    since: str | None,
    until: str | None,
    by: tuple[str, ...],
    fmt: str,
    as_of: str | None,
    only: tuple[str, ...],
    output: Path | None,
    no_history: bool,
    repo: Path | None,
) -> int:
    """Compute the KPIs of SPEC §5 with their targets from policy.yaml and their status
    (met, missed, no target, no data). Incidents are placed in the period by detected_at,
    changes by window.start, actions by due date (policy timezone). Each value says how
    many records it used and which it excluded and why.
    """
    with progress("Loading records") as update:
        ws = Workspace(repo_root(repo), as_of=as_of, use_history=not no_history, progress=update)
        ws.ledger  # noqa: B018 (loaded under the progress bar)
    chosen = tuple(k.strip() for value in only for k in value.split(",") if k.strip())
    options = KpiOptions(
        as_of=ws.as_of,
        since=_day(since, "--since"),
        until=_day(until, "--until"),
        by=by,
        only=chosen,
    )
    check_options(ws.ledger, options)
    with progress("Reading history") as update:
        ws.progress = update
        report = ws.kpis(options)
    if not ws.use_history and ws.history_note:
        click.echo(f"opsledger: note: {ws.history_note}; history KPIs have no data", err=True)
    if fmt == "table" and output is None and on_terminal():
        _print_rich(report)
    else:
        write_output(FORMATS[fmt](report), output)
    return EXIT_OK
