"""``opsledger history ID``: a record's audit trail from git."""

from __future__ import annotations

import json
from pathlib import Path

import click

from opsledger.cli.common import progress, repo_option, repo_root, write_output
from opsledger.errors import EXIT_OK, OpsledgerError
from opsledger.history.model import HistoryIndex
from opsledger.history.trail import trail, trail_document, trail_lines
from opsledger.neutral import json_text, line
from opsledger.workspace import Workspace


@click.command()
@click.argument("record_id")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format.",
)
@repo_option
def history(record_id: str, fmt: str, repo: Path | None) -> int:
    """Show RECORD_ID's audit trail: each commit, its author and time, and the fields it
    changed (old -> new). Needs the full git history (not a shallow clone)."""
    ws = Workspace(repo_root(repo))
    with progress("Reading history") as update:
        ws.progress = update
        index = ws.history
        assert isinstance(index, HistoryIndex)  # without --no-history: an index, or exit 4
    found = index.get(record_id)
    if found is None:
        raise OpsledgerError(f"{record_id}: no such record in this branch's history")
    from opsledger.model.ledger import load_ledger

    claimed = load_ledger(ws.root, []).claimants(record_id)  # the walk only: file names
    if len(claimed) > 1:
        click.echo(
            line(
                f"opsledger: note: {record_id} is claimed by several files "
                f"({', '.join(claimed)}): the trail holds the versions of each, by ID; the "
                "audit reports the duplicate (REF-ID)"
            ),
            err=True,
        )
    rows = trail(found)
    if fmt == "json":
        document = trail_document(index, record_id, rows)
        write_output(json_text(json.dumps(document, indent=2, ensure_ascii=False)) + "\n", None)
        return EXIT_OK
    for text in trail_lines(rows):
        # names, subjects and values are untrusted: each line made inert
        click.echo(line(text))
    return EXIT_OK
