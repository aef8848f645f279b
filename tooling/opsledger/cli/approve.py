"""``opsledger approve``: record an approval of a change, or a review of a PIR."""

from __future__ import annotations

from pathlib import Path

import click

from opsledger.approve import approve
from opsledger.cli.common import repo_option, repo_root
from opsledger.errors import EXIT_OK
from opsledger.neutral import line
from opsledger.timeutil import format_timestamp
from opsledger.workspace import Workspace


@click.command("approve")
@click.argument("record_id", metavar="CHG-…|PIR-…")
@click.option(
    "--role",
    default=None,
    metavar="ROLE",
    help="The role you approve in (a change: one of its type's approver_roles; a PIR: "
    "optional, 'reviewer' or a role under approvers).",
)
@click.option(
    "--decision",
    type=click.Choice(["approved", "rejected", "changes-requested"]),
    default="approved",
    show_default=True,
    help="Your decision (changes-requested: PIR reviews only).",
)
@click.option(
    "--commit",
    "commit",
    is_flag=True,
    help="Commit the record file alone, authored by you: the evidence GIT-PROVENANCE checks.",
)
@click.option(
    "--as-of",
    "as_of",
    default=None,
    metavar="T",
    help="Record this time instead of now (GIT-BACKDATED reports one far from the commit).",
)
@repo_option
def approve_command(
    record_id: str,
    role: str | None,
    decision: str,
    commit: bool,
    as_of: str | None,
    repo: Path | None,
) -> int:
    """Add your approval to a change (approvals) or your review to a PIR (reviewers), as the
    current git identity, and print the file's path.

    Refuses people not listed for the role in policy.yaml, roles that may not approve the
    change type, the change's requester or implementer, and a PIR's authors.
    """
    ws = Workspace(repo_root(repo), as_of=as_of)
    root = ws.root
    done = approve(root, record_id, role=role, decision=decision, now=ws.as_of, commit=commit)
    click.echo(line(done.path.relative_to(root).as_posix()))
    committed = f"; committed {done.commit[:10]}" if done.commit else ""
    click.echo(line(f"{done.message} at {format_timestamp(done.at)}{committed}"), err=True)
    for note in done.notes:
        click.echo(line(f"opsledger: note: {note}"), err=True)
    return EXIT_OK
