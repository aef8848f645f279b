"""Building the history index: one pass over the branch's git history.

Three git calls, whatever the number of records: the commit graph (``rev-list --parents``),
one ``git log --raw`` over the record folders, and one persistent ``cat-file --batch`` for
blob contents. Each blob is parsed with the same strict loader as the working tree and
cached on disk by blob id (a blob id is a hash of the content, so the cache is never
wrong), so a second run reads only new blobs.

Landing: a commit on the first-parent chain of HEAD lands when it is committed; a commit
from a merged branch lands with the first-parent merge that brought it in. Versions are
ordered by landing, then by the original commit order.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from opsledger import __version__, gitio
from opsledger.cache import cache_dir
from opsledger.errors import HistoryUnusable
from opsledger.history.model import Commit, HistoryIndex, Identity, RecordHistory, Version
from opsledger.loading import Limits, LoadError, load_bytes
from opsledger.model.layout import KINDS

FOLDERS = ("records", "runbooks")
_RUNBOOK_ID = re.compile(r"RB-[0-9]{4,}")
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Change:
    commit: str
    status: str  # A, M, D, R…, T
    path: str
    old_path: str | None
    blob: str | None  # None for a deletion


def parse_log(text: str) -> Iterator[tuple[list[str], list[Change]]]:
    """Commits (their ``LOG_FIELDS``) with their raw changes, from ``gitio.raw_log``."""
    tokens = text.split("\0")
    i, n, width = 0, len(tokens), len(gitio.LOG_FIELDS)
    while i < n:
        token = tokens[i].lstrip("\n")
        if not token.startswith("\x1e"):
            i += 1
            continue
        fields = [token[1:], *tokens[i + 1 : i + width]]
        i += width
        while i < n and tokens[i] == "":  # the format's terminator
            i += 1
        changes: list[Change] = []
        while i < n and tokens[i].lstrip("\n").startswith(":"):
            meta = tokens[i].lstrip("\n")[1:].split()
            status = meta[4][:1] if len(meta) >= 5 else "M"
            new_blob = meta[3] if len(meta) >= 4 else None
            if status in ("R", "C"):
                old, path = tokens[i + 1], tokens[i + 2]
                i += 3
            else:
                old, path = None, tokens[i + 1]
                i += 2
            blob = None if status == "D" or new_blob is None or set(new_blob) == {"0"} else new_blob
            changes.append(Change(fields[0], status, path, old, blob))
        yield fields, changes


def landing(graph: list[tuple[str, list[str]]]) -> tuple[dict[str, str], dict[str, int]]:
    """For every commit, the first-parent commit of HEAD through which it landed; and each
    first-parent commit's position on the chain (0 = the root). Positions, not dates, order
    history: committer dates are self-asserted and may go backwards."""
    if not graph:
        return {}, {}
    parents = dict(graph)
    chain: list[str] = []
    sha: str | None = graph[0][0]  # rev-list lists HEAD first
    while sha is not None:
        chain.append(sha)
        sha = parents.get(sha, [None])[0] if parents.get(sha) else None
    landed = {c: c for c in chain}
    for merge in reversed(chain):  # oldest first: a commit lands with the first merge
        stack = list(parents.get(merge, [])[1:])
        while stack:
            current = stack.pop()
            if current in landed:
                continue
            landed[current] = merge
            stack.extend(parents.get(current, []))
    return landed, {sha: i for i, sha in enumerate(reversed(chain))}


def _utc(seconds: str) -> datetime:
    return datetime.fromtimestamp(int(seconds), UTC)


class JsonLines:
    """An append-only cache file: a namespace line, then one JSON value per line.

    A run appends only what it learned; a different namespace (another opsledger version or
    limits) starts the file afresh. Lines that do not parse are ignored (a torn write)."""

    def __init__(self, path: Path, namespace: str) -> None:
        self.path = path
        self.namespace = namespace
        self.items: list[Any] = []
        self.pending: list[Any] = []
        self.fresh = True
        try:
            with path.open(encoding="utf-8") as handle:
                first = handle.readline()
                if json.loads(first) == {"namespace": namespace}:
                    self.fresh = False
                    for line in handle:
                        try:
                            self.items.append(json.loads(line))
                        except ValueError:
                            continue
        except (OSError, ValueError):
            pass

    def add(self, item: Any) -> None:
        self.items.append(item)
        self.pending.append(item)

    def reset(self) -> None:
        self.items, self.pending, self.fresh = [], [], True

    def save(self) -> None:
        if not self.pending and not self.fresh:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            lines = "".join(json.dumps(i, separators=(",", ":")) + "\n" for i in self.pending)
            if self.fresh:
                header = json.dumps({"namespace": self.namespace}) + "\n"
                fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".tmp-")
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(header + lines)
                os.replace(tmp, self.path)
            else:
                with self.path.open("a", encoding="utf-8") as handle:
                    handle.write(lines)
            self.pending, self.fresh = [], False
        except OSError:
            pass  # a cache that cannot be written is only a slower run


def _store(root: Path, name: str, namespace: str) -> JsonLines:
    key = hashlib.sha256(str(root).encode()).hexdigest()[:16]
    return JsonLines(cache_dir() / f"{name}-{key}.jsonl", namespace)


class BlobCache:
    """Parsed blob contents by blob id."""

    def __init__(self, root: Path, limits: Limits) -> None:
        namespace = f"{__version__}:v2:{limits.max_file_bytes}:{limits.max_depth}"
        self.store = _store(root, "history-blobs", namespace)
        self.entries: dict[str, Any] = {}
        for item in self.store.items:
            if isinstance(item, list) and len(item) == 2 and isinstance(item[0], str):
                self.entries[item[0]] = item[1]

    def put(self, blob: str, entry: Any) -> None:
        self.entries[blob] = entry
        self.store.add([blob, entry])

    def save(self) -> None:
        self.store.save()


def _record_id(path: str, data: Any) -> str | None:
    if isinstance(data, dict) and isinstance(data.get("id"), str):
        return str(data["id"])
    stem = Path(path).name.rsplit(".", 1)[0]
    if path.startswith("runbooks/"):
        match = _RUNBOOK_ID.match(stem)
        return match.group() if match else None
    return stem or None


def _is_record(path: str) -> bool:
    return any(path.startswith(k.folder + "/") and path.endswith(k.suffix) for k in KINDS)


def build_history(
    root: Path,
    *,
    since: date | None = None,
    limits: Limits | None = None,
    progress: Progress | None = None,
    use_cache: bool = True,
    paths: list[str] | None = None,
) -> HistoryIndex:
    """The history index of the branch checked out at ``root``; with ``paths``, of those
    files only (a pull request's records: git diffs only them, no log cache).

    Raises :class:`HistoryUnusable` (exit status 4) wherever :func:`gitio.history_problem`
    finds the history unusable (shallow clone, replace refs or grafts, no git): no history
    rule or KPI is ever computed from a truncated or rewritten history.
    """
    problem = gitio.history_problem(root)
    if problem is not None:
        raise HistoryUnusable(problem.reason, problem.help)
    head = gitio.describe_head(root)
    index = HistoryIndex(head=head, since=since)
    if head is None:
        return index
    limits = limits or Limits()
    if paths is None:
        graph, parsed = _graph_and_log(root, head, use_cache)
    else:
        graph = gitio.commit_graph(root)
        parsed = list(parse_log(gitio.raw_log(root, tuple(paths)))) if paths else []
    landed, position = landing(graph)
    commits: dict[str, Commit] = {}
    landed_at: dict[str, datetime] = {}
    for fields, _ in parsed:
        landed_at[fields[0]] = _utc(fields[7])
    for fields, _ in parsed:
        sha, _parents, an, ae, at, cn, ce, ct, sig = fields
        land = landed.get(sha, sha)
        commits[sha] = Commit(
            sha=sha,
            author=Identity(an, ae),
            authored_at=_utc(at),
            committer=Identity(cn, ce),
            committed_at=_utc(ct),
            landed_sha=land,
            landed_at=landed_at.get(land, _utc(ct)),
            signed=sig == "G",
        )
    order = {fields[0]: i for i, (fields, _) in enumerate(parsed)}
    changes = [
        c
        for _, cs in parsed
        for c in cs
        if _is_record(c.path) or (c.old_path is not None and _is_record(c.old_path))
    ]
    changes.sort(key=lambda c: (position.get(commits[c.commit].landed_sha, -1), order[c.commit]))
    cache = BlobCache(root, limits) if use_cache else None
    blobs = {c.blob for c in changes if c.blob is not None}
    contents = _read_blobs(root, blobs, cache, limits, progress)
    if cache is not None:
        cache.save()
    _assemble(index, changes, commits, contents)
    return index


def _graph_and_log(
    root: Path, head: str, use_cache: bool
) -> tuple[list[tuple[str, list[str]]], list[tuple[list[str], list[Change]]]]:
    """The commit graph and the parsed log up to ``head``. The cache holds segments, each
    the commits since the previous one's head; a run appends one segment for the commits
    since the cached head, when that head is an ancestor of ``head`` (a rewritten history
    starts afresh). Both are pure functions of commit ids, so the cache is never wrong."""
    store = _store(root, "history-log", f"{__version__}:{','.join(FOLDERS)}")
    graph: list[tuple[str, list[str]]] = []
    parsed: list[tuple[list[str], list[Change]]] = []
    since: str | None = None
    if use_cache and store.items:
        try:
            old = str(store.items[-1]["head"])
            if old == head or gitio.is_ancestor(root, old, head):
                for segment in store.items:
                    graph = [(sha, list(ps)) for sha, ps in segment["graph"]] + graph
                    parsed += [(list(f), [Change(*c) for c in cs]) for f, cs in segment["log"]]
                since = old
        except (KeyError, TypeError, ValueError):
            graph, parsed, since = [], [], None
    if since is None:
        store.reset()
    if since != head:
        new_graph = gitio.commit_graph(root, exclude=since)
        new_log = list(parse_log(gitio.raw_log(root, FOLDERS, exclude=since)))
        graph = new_graph + graph
        parsed += new_log
        if use_cache:
            store.add(
                {
                    "head": head,
                    "graph": new_graph,
                    "log": [
                        (f, [[c.commit, c.status, c.path, c.old_path, c.blob] for c in cs])
                        for f, cs in new_log
                    ],
                }
            )
            store.save()
    return graph, parsed


def _read_blobs(
    root: Path, blobs: set[str], cache: BlobCache | None, limits: Limits, progress: Progress | None
) -> dict[str, Any]:
    contents: dict[str, Any] = {}
    missing = sorted(b for b in blobs if cache is None or b not in cache.entries)
    if cache is not None:
        contents.update({b: cache.entries[b] for b in blobs if b in cache.entries})
    if not missing:
        return contents
    with gitio.BlobReader(root) as reader:
        for done, blob in enumerate(missing, 1):
            raw = reader.read(blob)
            contents[blob] = _parse_blob(raw, limits)
            if cache is not None:
                cache.put(blob, contents[blob])
            if progress is not None:
                progress(done, len(missing))
    return contents


def _parse_blob(raw: bytes, limits: Limits) -> dict[str, Any]:
    """``{"d": data}`` or ``{"e": reason}``; the kind is told by the front matter marker."""
    if len(raw) > limits.max_file_bytes:
        return {"e": f"over the size limit ({len(raw)} bytes)"}
    markdown = raw.startswith(b"---")
    try:
        doc = load_bytes(raw, markdown=markdown, limits=limits)
    except LoadError as exc:
        return {"e": f"{exc.line}:{exc.column}: {exc.message}"}
    return {"d": doc.data, "b": doc.body}


def _assemble(
    index: HistoryIndex, changes: list[Change], commits: dict[str, Commit], contents: dict[str, Any]
) -> None:
    owner: dict[str, str] = {}  # path -> record id of its latest version
    for change in changes:
        commit = commits[change.commit]
        if change.blob is None:  # deletion
            record_id = owner.pop(change.path, None) or _record_id(change.path, None)
            if record_id is not None:
                history = index.records.setdefault(record_id, RecordHistory(record_id))
                if history.versions and history.last.path == change.path:
                    history.versions.append(Version(commit, change.path, None, None))
            continue
        if change.old_path is not None:
            owner.pop(change.old_path, None)
        if history_already_has(index, change, owner):
            continue  # the same blob landing again through a merge's first-parent diff
        entry = contents.get(change.blob, {"e": "blob unreadable"})
        data = entry.get("d") if isinstance(entry, dict) else None
        error = None if data is not None else str(entry.get("e", "unreadable"))
        if data is not None and not isinstance(data, dict):
            data, error = None, "not a mapping"
        record_id = _record_id(change.path, data) or owner.get(change.path)
        if record_id is None:
            continue
        owner[change.path] = record_id
        history = index.records.setdefault(record_id, RecordHistory(record_id))
        body = entry.get("b") if isinstance(entry, dict) else None
        history.versions.append(
            Version(
                commit,
                change.path,
                change.blob,
                data,
                error,
                body if isinstance(body, str) else None,
            )
        )


def history_already_has(index: HistoryIndex, change: Change, owner: dict[str, str]) -> bool:
    record_id = owner.get(change.path)
    if record_id is None or change.blob is None:
        return False
    history = index.records.get(record_id)
    return bool(
        history
        and history.versions
        and history.last.blob == change.blob
        and history.last.path == change.path
    )
