"""``opsledger brief INC-…``: an executive debrief in plain language (Markdown)."""

from __future__ import annotations

from pathlib import Path

import click

from opsledger.cli.common import (
    no_history_option,
    output_option,
    repo_option,
    repo_root,
    write_output,
)
from opsledger.errors import EXIT_OK, OpsledgerError
from opsledger.neutral import lines
from opsledger.reports.brief import brief
from opsledger.workspace import Workspace


@click.command(name="brief")
@click.argument("incident_id")
@click.option(
    "--as-of",
    "as_of",
    default=None,
    metavar="T",
    help="Fix 'now' (a timestamp, or a date for the end of that day in the policy timezone).",
)
@output_option
@no_history_option
@repo_option
def brief_command(
    incident_id: str, as_of: str | None, output: Path | None, no_history: bool, repo: Path | None
) -> int:
    """Write an executive debrief of INCIDENT_ID: business impact, what was done and when,
    each response time against policy, current status, follow-up actions with owners.
    Needs the full git history (exit status 4 otherwise) unless --no-history is given."""
    ws = Workspace(repo_root(repo), use_history=not no_history, as_of=as_of)
    if incident_id not in ws.ledger.incidents:
        raise OpsledgerError(f"{incident_id}: no such incident in this repository")
    ws.history  # noqa: B018 (decided up front: exit 4 before any work)
    write_output(lines(brief(ws, incident_id)), output)  # record text made inert
    return EXIT_OK
