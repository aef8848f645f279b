"""``opsledger report weekly|monthly --period …``: scorecard and service review (Markdown)."""

from __future__ import annotations

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
from opsledger.errors import EXIT_OK
from opsledger.neutral import lines
from opsledger.reports.scorecard import monthly, parse_period, weekly
from opsledger.workspace import Workspace


@click.command(name="report")
@click.argument("kind", type=click.Choice(["weekly", "monthly"]))
@click.option(
    "--period",
    required=True,
    metavar="P",
    help="The week (2026-W10) or month (2026-03) to report on.",
)
@click.option(
    "--as-of",
    "as_of",
    default=None,
    metavar="T",
    help="Fix 'now' (default: the end of the period or now, whichever is earlier).",
)
@output_option
@no_history_option
@repo_option
def report_command(
    kind: str,
    period: str,
    as_of: str | None,
    output: Path | None,
    no_history: bool,
    repo: Path | None,
) -> int:
    """Write the weekly operations scorecard or the monthly service review as Markdown.

    Needs the full git history (exit status 4 in a shallow clone or outside git) unless
    --no-history is given; then the report says which figures are unavailable."""
    span = parse_period(kind, period)
    with progress("Loading records") as update:
        ws = Workspace(repo_root(repo), as_of=as_of, use_history=not no_history, progress=update)
        ws.ledger  # noqa: B018 (loaded under the progress bar)
    with progress("Reading history") as update:
        ws.progress = update
        ws.history  # noqa: B018 (decided up front: exit 4 before any work)
        build = weekly if kind == "weekly" else monthly
        text = build(ws, span)
    write_output(lines(text), output)  # record text and git identities made inert
    return EXIT_OK
