"""``opsledger problems suggest``: recurring-incident clusters without a problem."""

from __future__ import annotations

import json
from pathlib import Path

import click

from opsledger.cli.common import output_option, repo_option, repo_root, write_output
from opsledger.errors import EXIT_OK
from opsledger.neutral import json_text, lines
from opsledger.reports.problems import suggest_text, suggestions
from opsledger.workspace import Workspace


@click.group(name="problems")
def problems_group() -> None:
    """Problem management: recurring incidents that should become problems."""


@problems_group.command(name="suggest")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format; json is a stable contract (version 1).",
)
@click.option(
    "--as-of",
    "as_of",
    default=None,
    metavar="T",
    help="Fix 'now' (a timestamp, or a date for the end of that day in the policy timezone).",
)
@output_option
@repo_option
def suggest(fmt: str, as_of: str | None, output: Path | None, repo: Path | None) -> int:
    """List the recurring clusters no problem links (PRB-CANDIDATE), largest and most
    recent first, with their incidents, services, categories, total user-impact time and
    the 'opsledger new problem' command for each. Reads the records only (no history)."""
    ws = Workspace(repo_root(repo), as_of=as_of, use_history=False)
    obligations = ws.obligations
    if fmt == "json":
        document = json.dumps(suggestions(obligations, ws.commit), indent=2, ensure_ascii=False)
        write_output(json_text(document) + "\n", output)
    else:
        write_output(lines(suggest_text(obligations)) + "\n", output)
    return EXIT_OK
