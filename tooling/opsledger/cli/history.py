"""``opsledger history ID``: a record's audit trail from git."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from opsledger.cli.common import progress, repo_option, repo_root, write_output
from opsledger.errors import EXIT_OK, OpsledgerError
from opsledger.history.model import HistoryIndex, RecordHistory, value_text
from opsledger.neutral import json_text, line
from opsledger.timeutil import format_timestamp
from opsledger.workspace import Workspace


def trail(history: RecordHistory) -> list[dict[str, Any]]:
    """Each version: commit, author, committer, times, and the fields it changed."""
    rows: list[dict[str, Any]] = []
    previous: dict[str, Any] | None = None
    changes = dict((id(v), c) for v, c in history.changes())
    for version in history.versions:
        commit = version.commit
        row: dict[str, Any] = {
            "commit": commit.sha,
            "landed_in": commit.landed_sha,
            "landed_at": format_timestamp(commit.landed_at),
            "author": {"name": commit.author.name, "email": commit.author.email},
            "authored_at": format_timestamp(commit.authored_at),
            "committer": {"name": commit.committer.name, "email": commit.committer.email},
            "committed_at": format_timestamp(commit.committed_at),
            "signed": commit.signed,
            "path": version.path,
        }
        if commit.date_note:
            row["implausible_date"] = commit.date_note
        if version.deleted:
            row["event"] = "deleted"
            if version.successor:
                row["became"] = version.successor
        elif version.data is None:
            row["event"] = "unreadable"
            row["error"] = version.error
        else:
            row["event"] = "created" if previous is None else "changed"
            row["changes"] = [
                {"field": c.field, "old": c.old, "new": c.new} for c in changes[id(version)]
            ]
            previous = dict(version.data)
        rows.append(row)
    return rows


def _say(text: str) -> None:
    """One line of the text trail: names, subjects and values are untrusted, made inert."""
    click.echo(line(text))


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
    rows = trail(found)
    if fmt == "json":
        document = {
            "version": 1,
            "commit": index.head,
            "record": record_id,
            "imported_before_adoption": index.imported(record_id),
            "trail": rows,
        }
        write_output(json_text(json.dumps(document, indent=2, ensure_ascii=False)) + "\n", None)
        return EXIT_OK
    for row in rows:
        who = f"{row['author']['name']} <{row['author']['email']}>"
        land = "" if row["landed_in"] == row["commit"] else f" (landed {row['landed_at']})"
        _say(f"{row['commit'][:10]}  {row['authored_at']}  {who}{land}")
        if row.get("implausible_date"):
            _say(f"    implausible {row['implausible_date']}: times counted from the branch")
        if row["event"] in ("deleted", "unreadable"):
            extra = f": {row['error']}" if row.get("error") else ""
            extra += f" (became {row['became']})" if row.get("became") else ""
            _say(f"    {row['event']} {row['path']}{extra}")
            continue
        if row["event"] == "created":
            _say(f"    created {row['path']}")
            continue
        for change in row["changes"]:
            _say(
                f"    {change['field']}: {value_text(change['old'])} -> {value_text(change['new'])}"
            )
    return EXIT_OK
