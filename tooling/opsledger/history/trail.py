"""A record's audit trail as ``opsledger history`` shows it: rows (for JSON) and lines
(for text). ``opsledger sample`` puts the same two in each evidence folder."""

from __future__ import annotations

from typing import Any

from opsledger.history.model import HistoryIndex, RecordHistory, value_text
from opsledger.timeutil import format_timestamp


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


def trail_document(
    index: HistoryIndex, record_id: str, rows: list[dict[str, Any]]
) -> dict[str, Any]:
    """``opsledger history ID --format json``."""
    return {
        "version": 1,
        "commit": index.head,
        "record": record_id,
        "imported_before_adoption": index.imported(record_id),
        "trail": rows,
    }


def trail_lines(rows: list[dict[str, Any]]) -> list[str]:
    """``opsledger history ID`` as text, one entry per line (untrusted: make each line
    inert for where it is written)."""
    out: list[str] = []
    for row in rows:
        who = f"{row['author']['name']} <{row['author']['email']}>"
        land = "" if row["landed_in"] == row["commit"] else f" (landed {row['landed_at']})"
        out.append(f"{row['commit'][:10]}  {row['authored_at']}  {who}{land}")
        if row.get("implausible_date"):
            out.append(f"    implausible {row['implausible_date']}: times counted from the branch")
        if row["event"] in ("deleted", "unreadable"):
            extra = f": {row['error']}" if row.get("error") else ""
            extra += f" (became {row['became']})" if row.get("became") else ""
            out.append(f"    {row['event']} {row['path']}{extra}")
            continue
        if row["event"] == "created":
            out.append(f"    created {row['path']}")
            continue
        for change in row["changes"]:
            out.append(
                f"    {change['field']}: {value_text(change['old'])} -> {value_text(change['new'])}"
            )
    return out
