"""``opsledger brief INC-…``: an executive debrief in plain language (Markdown)."""

from __future__ import annotations

import json
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
from opsledger.neutral import json_text, lines, short
from opsledger.reports import regulatory_draft
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
@click.option(
    "--regulatory",
    "regime",
    default=None,
    metavar="REGIME",
    help="Draft the content of a regulatory submission under this regime (e.g. dora). "
    "A draft for a person to submit: nothing is sent.",
)
@click.option(
    "--stage",
    default=None,
    metavar="STAGE",
    help="The regime's stage to draft (e.g. initial); default: the first not submitted yet.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["markdown", "json"]),
    default="markdown",
    show_default=True,
    help="Output format (json only with --regulatory).",
)
@output_option
@no_history_option
@repo_option
def brief_command(
    incident_id: str,
    as_of: str | None,
    regime: str | None,
    stage: str | None,
    fmt: str,
    output: Path | None,
    no_history: bool,
    repo: Path | None,
) -> int:
    """Write an executive debrief of INCIDENT_ID: business impact, what was done and when,
    each response time against policy, current status, follow-up actions with owners.
    With --regulatory REGIME [--stage STAGE], the draft content of that regulatory
    submission instead, clearly marked as a draft: nothing is sent anywhere.
    Needs the full git history (exit status 4 otherwise) unless --no-history is given."""
    if regime is None and (stage is not None or fmt == "json"):
        raise OpsledgerError("--stage and --format json go with --regulatory REGIME")
    ws = Workspace(repo_root(repo), use_history=not no_history, as_of=as_of)
    shown = short(incident_id, 80)  # an ID as given, cut when long
    claimed = ws.ledger.claimants(incident_id)
    if len(claimed) > 1:
        raise OpsledgerError(
            f"{shown} is claimed by several files ({', '.join(claimed)}); keep one "
            "(the audit reports the others: REF-ID) and run again"
        )
    if incident_id not in ws.ledger.incidents:
        other = ws.ledger.get(incident_id)
        if other is not None:  # loads fine, as another kind: validate would say nothing
            raise OpsledgerError(
                f"{shown} is a {other.kind}, not an incident; a brief is of an incident"
            )
        if claimed:
            raise OpsledgerError(
                f"{shown}: {claimed[0]} does not load as an incident; "
                f"'opsledger validate {claimed[0]}' says why"
            )
        raise OpsledgerError(f"{shown}: no such incident in this repository")
    ws.history  # noqa: B018 (decided up front: exit 4 before any work)
    if regime is not None:
        draft = regulatory_draft.choose(ws, incident_id, regime, stage)
        if fmt == "json":
            text = json.dumps(draft.data, indent=2, ensure_ascii=False)
            write_output(json_text(text) + "\n", output)
        else:
            write_output(lines(regulatory_draft.markdown(draft)), output)
        return EXIT_OK
    write_output(lines(brief(ws, incident_id)), output)  # record text made inert
    return EXIT_OK
