"""``opsledger brief INC-…``: an executive debrief in plain language (Markdown)."""

from __future__ import annotations

from pathlib import Path

import click

from opsledger.cli.common import output_option, repo_option, repo_root, write_output
from opsledger.errors import EXIT_OK, OpsledgerError
from opsledger.gitio import describe_head
from opsledger.history.index import build_history
from opsledger.model.ledger import load_ledger
from opsledger.neutral import lines
from opsledger.reports.brief import brief


@click.command(name="brief")
@click.argument("incident_id")
@output_option
@repo_option
def brief_command(incident_id: str, output: Path | None, repo: Path | None) -> int:
    """Write an executive debrief of INCIDENT_ID: business impact, what was done and when,
    current status, follow-up actions with owners."""
    root = repo_root(repo)
    ledger = load_ledger(root)
    if incident_id not in ledger.incidents:
        raise OpsledgerError(f"{incident_id}: no such incident in this repository")
    index = None
    if describe_head(root) is not None:
        try:
            index = build_history(
                root, since=ledger.policy.history_since, limits=ledger.policy.limits
            )
        except OpsledgerError:
            index = None  # shallow clone: the brief says the trail is unavailable
    write_output(lines(brief(ledger, incident_id, index)), output)  # record text made inert
    return EXIT_OK
