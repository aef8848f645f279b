"""``opsledger kpi``: the KPIs with their targets and status."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import click

from opsledger.cli.common import output_option, progress, repo_option, repo_root, write_output
from opsledger.errors import EXIT_OK, OpsledgerError
from opsledger.gitio import describe_head
from opsledger.history.index import build_history
from opsledger.history.model import HistoryIndex
from opsledger.kpis import DIMENSIONS, FORMATS, KPIS, KPIS_BY_ID, KpiOptions, compute_kpis
from opsledger.kpis.engine import KpiReport, check_options
from opsledger.kpis.render import heading, sections
from opsledger.model.ledger import Ledger, load_ledger
from opsledger.neutral import line
from opsledger.timeutil import as_of_moment, parse_date


def _day(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return parse_date(text)
    except ValueError as exc:
        raise OpsledgerError(f"{option} {text!r}: {exc}") from None


def _history(root: Path, ledger: Ledger, commit: str | None) -> HistoryIndex | None:
    """The history index; None outside git (history KPIs then say "no data"). A shallow
    clone stops the command (exit status 4): never KPIs from a truncated history."""
    if commit is None:
        click.echo("opsledger: note: no git history here; history KPIs have no data", err=True)
        return None
    with progress("Reading history") as update:
        return build_history(
            root, since=ledger.policy.history_since, limits=ledger.policy.limits, progress=update
        )


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
@repo_option
def kpi_command(
    since: str | None,
    until: str | None,
    by: tuple[str, ...],
    fmt: str,
    as_of: str | None,
    only: tuple[str, ...],
    output: Path | None,
    repo: Path | None,
) -> int:
    """Compute the KPIs of SPEC §5 with their targets from policy.yaml and their status
    (met, missed, no target, no data). Incidents are placed in the period by detected_at,
    changes by window.start, actions by due date (policy timezone). Each value says how
    many records it used and which it excluded and why.
    """
    root = repo_root(repo)
    with progress("Loading records") as update:
        ledger = load_ledger(root, progress=update)
    moment = as_of_moment(as_of, ledger.policy.timezone)
    chosen = tuple(k.strip() for value in only for k in value.split(",") if k.strip())
    options = KpiOptions(
        as_of=moment,
        since=_day(since, "--since"),
        until=_day(until, "--until"),
        by=by,
        only=chosen,
    )
    check_options(ledger, options)
    commit = describe_head(root)
    wanted = [KPIS_BY_ID[k] for k in chosen if k in KPIS_BY_ID] or list(KPIS)
    needs_history = any(k.history or k.id == "reopen_rate" for k in wanted)
    history = _history(root, ledger, commit) if needs_history else None
    report = compute_kpis(ledger, history, options, commit=commit)
    if fmt == "table" and output is None and on_terminal():
        _print_rich(report)
    else:
        write_output(FORMATS[fmt](report), output)
    return EXIT_OK
