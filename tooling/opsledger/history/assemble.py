"""Record histories from the branch's file changes, keyed by record ID.

Git's rename detection is a guess about files; a record's identity is its ID. The log is
read without rename pairing (every move is a deletion plus an addition) and each commit
is applied as a whole: every file version belongs to the record its ``id`` names (its
file name when the ``id`` cannot be read), IDs compared case-insensitively as everywhere
else. After the commit, a record that no longer has any file is deleted, whatever became
of its file:

- moved to another folder, or into or out of a year subfolder, under the same ID: the
  record lives on at its new path (not a deletion);
- renamed to another ID, moved into another kind's folder under another ID, or its ``id``
  edited in place: the old ID is deleted and the new one starts its own history. The
  deletion names the record that took the old content in the same commit (its
  ``successor``): the record at the same path, else the new record whose fields match
  the old record's best (at least half of them), so a rewrite that came with the rename
  is judged as an edit of the old record.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opsledger.history.model import Commit, HistoryIndex, RecordHistory, Version, leaves
from opsledger.model.layout import kind_of_id

#: at most this many (deleted, new) record pairs are compared per commit for successors
PAIRING_BUDGET = 20_000
#: share of the old record's fields a successor must keep unchanged
PAIRING_SHARE = 0.5


@dataclass(frozen=True)
class Change:
    commit: str
    status: str  # A, M, D, T
    path: str
    blob: str | None  # None for a deletion


def runbook_number(stem: str) -> str | None:
    """``RB-0003`` from ``RB-0003-orders-db-pool`` (any case), or None."""
    head, _, rest = stem.partition("-")
    number = rest.split("-", 1)[0]
    if head.upper() != "RB" or not number.isascii() or not number.isdigit() or len(number) < 4:
        return None
    return f"{head}-{number}"


def record_id(path: str, data: Any) -> str | None:
    """The ID a version belongs to: its ``id`` field, else what its file name says."""
    if isinstance(data, Mapping) and isinstance(data.get("id"), str) and data["id"]:
        return str(data["id"])
    stem = Path(path).name.rsplit(".", 1)[0]
    if path.startswith("runbooks/"):
        return runbook_number(stem)
    return stem or None


#: the end of a :func:`content_key` whose blob is read as Markdown with front matter
MARKDOWN = ".md"


def content_key(change: Change) -> str:
    """The key of a version's parsed content: its blob id, marked when its path is a
    Markdown record (``.md``: front matter and a body), as the working tree's loader reads
    a file by its suffix, never by its first bytes (a YAML record may start with the
    document marker ``---``); the same blob at a ``.yaml`` and a ``.md`` path is two
    parses. A non-file (``mode:id``) stays as it is: it is never read."""
    blob = change.blob
    assert blob is not None
    if ":" in blob or not change.path.endswith(".md"):
        return blob
    return blob + MARKDOWN


def decode(entry: Any) -> tuple[Mapping[str, Any] | None, str | None, str | None]:
    """A parsed blob entry as (data, error, body)."""
    if not isinstance(entry, Mapping):
        return None, "blob unreadable", None
    data = entry.get("d")
    if data is None:
        return None, str(entry.get("e", "unreadable")), None
    if not isinstance(data, Mapping):
        return None, "not a mapping", None
    body = entry.get("b")
    return data, None, body if isinstance(body, str) else None


@dataclass
class Assembly:
    """Which record holds each path, as the commits are applied (kept with a cached index,
    so that later commits are applied to it: :mod:`opsledger.history.snapshot`)."""

    index: HistoryIndex
    live: dict[str, str] = field(default_factory=dict)  # path -> ID key
    holders: dict[str, dict[str, None]] = field(default_factory=dict)  # ID key -> paths
    names: dict[str, str] = field(default_factory=dict)  # ID key -> its spelling
    #: ID key -> the path of its last version (where the audit shows a record not loaded)
    lasts: dict[str, str] = field(default_factory=dict)

    def name(self, key: str, rid: str) -> None:
        """Record ``rid`` as a spelling of ``key``: the first spelling that is a valid ID
        wins (a record first committed as ``inc-2026-0001`` and corrected later is still
        judged as INC-2026-0001, never skipped as an unknown kind)."""
        current = self.names.get(key)
        if current is None:
            self.names[key] = rid
        elif current != rid and kind_of_id(current) is None and kind_of_id(rid) is not None:
            self.names[key] = rid
            history = self.index.records.pop(current, None)
            if history is not None:
                history.record_id = rid
                self.index.records[rid] = history

    def history(self, key: str) -> RecordHistory:
        name = self.names[key]
        return self.index.records.setdefault(name, RecordHistory(name))

    def apply(self, commit: Commit, changes: list[Change], contents: Mapping[str, Any]) -> None:
        lost: dict[str, list[str]] = {}  # ID key -> paths it lost in this commit
        was_live: dict[str, bool] = {}
        gained: dict[str, Version] = {}  # ID key -> its first new version in this commit
        for change in changes:
            old = self.live.pop(change.path, None)
            if old is not None:
                was_live.setdefault(old, True)
                self.holders[old].pop(change.path, None)
                lost.setdefault(old, []).append(change.path)
            if change.blob is None:
                continue
            data, error, body = decode(contents.get(content_key(change)))
            rid = record_id(change.path, data)
            if rid is None:
                continue
            key = rid.casefold()
            was_live.setdefault(key, bool(self.holders.get(key)))
            self.name(key, rid)
            self.live[change.path] = key
            self.holders.setdefault(key, {})[change.path] = None
            history = self.history(key)
            if _repeated(history, change):
                continue  # the same blob landing again through a merge's first-parent diff
            version = Version(commit, change.path, change.blob, data, error, body)
            history.versions.append(version)
            self.lasts[key] = change.path
            gained.setdefault(key, version)
        born = {k: v for k, v in gained.items() if not was_live.get(k)}
        budget = PAIRING_BUDGET
        for key, paths in lost.items():
            if self.holders.get(key):
                continue  # the ID lives on at another path: a move
            history = self.history(key)
            path = history.last.path if history.last.path in paths else paths[0]
            heir, budget = _successor(history, paths, born, key, budget)
            successor = self.names[heir] if heir is not None else None
            history.versions.append(Version(commit, path, None, None, successor=successor))
            self.lasts[key] = path


def _repeated(history: RecordHistory, change: Change) -> bool:
    if not history.versions or history.deleted:
        return False
    return history.last.blob == change.blob and history.last.path == change.path


def _successor(
    history: RecordHistory, paths: list[str], born: dict[str, Version], key: str, budget: int
) -> tuple[str | None, int]:
    """The key of the new record that took ``history``'s content in this commit, and the
    pairing budget left."""
    candidates = {k: v for k, v in born.items() if k != key}
    for other, version in candidates.items():
        if version.path in paths:  # the ``id`` was edited in place
            return other, budget
    before = next((v.data for v in reversed(history.versions) if v.data is not None), None)
    if before is None or not candidates or budget < len(candidates):
        return None, budget
    old = {k: v for k, v in leaves(before).items() if k != "id"}
    best, best_score = None, PAIRING_SHARE * max(len(old), 1)
    for other, version in candidates.items():
        new = leaves(version.data) if version.data is not None else {}
        score = sum(1 for k, v in old.items() if k in new and new[k] == v)
        if score >= best_score and (best is None or score > best_score):
            best, best_score = other, score
    return best, budget - len(candidates)


def assemble(
    index: HistoryIndex,
    changes: Iterable[Change],
    commits: Mapping[str, Commit],
    contents: Mapping[str, Any],
    state: Assembly | None = None,
) -> Assembly:
    """Add every record's versions to ``index``; ``changes`` in landing order. ``state``:
    where the commits before ``changes`` left ``index``, when it was built before."""
    state = state if state is not None else Assembly(index)
    for sha, group in itertools.groupby(changes, key=lambda c: c.commit):
        state.apply(commits[sha], list(group), contents)
    return state
