"""``opsledger new`` and ``opsledger init``: start a record, or a whole repository."""

from __future__ import annotations

from pathlib import Path

import click

from opsledger.ci import DEFAULT_REF, PLACEHOLDER, parse_action_ref
from opsledger.cli.common import no_history_option, repo_option, repo_root
from opsledger.errors import EXIT_OK
from opsledger.scaffold import CI_FILES, init_repository, new_record
from opsledger.workspace import Workspace


@click.command()
@click.argument("kind", type=click.Choice(["incident", "change", "pir", "runbook", "problem"]))
@click.option("--title", default=None, help="The record's one-line title.")
@click.option(
    "--incident",
    "incidents",
    multiple=True,
    metavar="INC-…",
    help="For a PIR: the incident it reviews (prefills ID, impact and timeline). For a "
    "problem: each incident it explains, repeated (prefills services, first detection and "
    "the incident list).",
)
@click.option(
    "--another",
    is_flag=True,
    help="For a PIR: write one even though the incident already has a PIR (a second "
    "review, e.g. after a reopen; the audit reports it until a waiver gives the reason).",
)
@click.option(
    "--as-of",
    "as_of",
    default=None,
    metavar="T",
    help="Use this time instead of now (timestamps and the ID's year).",
)
@no_history_option
@repo_option
def new(
    kind: str,
    title: str | None,
    incidents: tuple[str, ...],
    another: bool,
    as_of: str | None,
    no_history: bool,
    repo: Path | None,
) -> int:
    """Write a new KIND record with the next free ID and print its path.

    The ID is free in the working tree and in the whole git history (an ID used and deleted
    earlier is never handed out again), so this needs the full history: exit status 4 in a
    shallow clone or outside git, unless --no-history (then only the working tree is
    checked, and a note says so). The template validates where it can and fails the audit
    only on what you must still write (TBD statements, the service to choose).
    """
    if len(incidents) > 1 and kind != "problem":
        raise click.UsageError("--incident is given once, except for a problem")
    ws = Workspace(repo_root(repo), as_of=as_of, use_history=not no_history)
    root, ledger = ws.root, ws.ledger
    created = new_record(
        ledger,
        kind,
        now=ws.as_of,
        title=title,
        incident=incidents[0] if incidents and kind != "problem" else None,
        incidents=incidents if kind == "problem" else (),
        history=lambda: ws.history_state is None,  # decided once the arguments are valid
        another=another,
    )
    state = ws.history_state
    if state is not None:
        click.echo(
            f"opsledger: note: {state.note}: the ID is free in the working tree, but IDs "
            "used and deleted earlier in history could not be excluded",
            err=True,
        )
    click.echo(created.path.relative_to(root).as_posix())
    click.echo(
        f"{created.id}: fill in the TBD values, then run 'opsledger audit "
        f"{created.path.relative_to(root).as_posix()}'",
        err=True,
    )
    return EXIT_OK


@click.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--action-ref",
    "action_ref",
    metavar="OWNER/REPO@REF",
    default=PLACEHOLDER,
    show_default=True,
    help="The GitHub repository holding opsledger and the tag (or commit) to use: the "
    "workflow's Action, the pre-commit hooks and the GitLab job install it from there. The "
    "default is a placeholder the audit reports until it is replaced.",
)
@click.option(
    "--ci",
    "systems",
    type=click.Choice(sorted(CI_FILES)),
    multiple=True,
    default=("github",),
    show_default=True,
    help="CI configuration to write: github (.github/workflows/governance.yml, using the "
    "Action), gitlab (.gitlab-ci.yml: Code Quality and JUnit reports, Pages); repeatable.",
)
def init(directory: Path, action_ref: str, systems: tuple[str, ...]) -> int:
    """Scaffold a governance repository in DIRECTORY: schemas, policy, record folders,
    site configuration, CI configuration, pre-commit hooks and CODEOWNERS."""
    ref = parse_action_ref(action_ref)  # a malformed reference is a usage error (exit 2)
    files = init_repository(directory, action_ref=ref, systems=systems)
    click.echo(
        f"governance repository created in {directory} ({len(files)} files); edit "
        "records/services.yaml and policy.yaml, then 'git init' and commit",
        err=True,
    )
    if ref == DEFAULT_REF:
        click.echo(
            f"opsledger: note: the CI configuration names the placeholder {PLACEHOLDER}: "
            "replace it with the repository and tag opsledger comes from (the audit reports "
            "it under REF-LINK until then)",
            err=True,
        )
    return EXIT_OK
