"""Building the history index: one pass over the branch's git history.

Three git calls, whatever the number of records: the commit graph (``rev-list --parents``),
one ``git log --raw`` over the record folders, and one persistent ``cat-file --batch`` for
blob contents. Each blob is parsed with the same strict loader as the working tree and
cached on disk by blob id (a blob id is a hash of the content), so a second run reads only
new blobs; every cache line carries an integrity check (:mod:`opsledger.history.store`),
and a line that fails it is discarded, never trusted.

Landing: a commit on the first-parent chain of HEAD lands when it is committed; a commit
from a merged branch lands with the first-parent merge that brought it in. Versions are
ordered by landing, then by the original commit order. Records are keyed by ID, not by
git's rename pairing (:mod:`opsledger.history.assemble`); commit dates are checked before
use (:mod:`opsledger.history.dates`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from opsledger import __version__, gitio
from opsledger.errors import HistoryUnusable
from opsledger.history.assemble import Change, assemble, record_id
from opsledger.history.dates import build_commits
from opsledger.history.model import HistoryIndex
from opsledger.history.store import BlobCache, open_blobs, open_store, repository_key
from opsledger.loading import Limits, LoadError, load_bytes
from opsledger.model.layout import KINDS
from opsledger.parsecache import ParseCache, digest

FOLDERS = ("records", "runbooks")
Progress = Callable[[int, int], None]
#: file modes of regular files; a symbolic link or a submodule is never read as a record
_FILE_MODES = frozenset({"100644", "100755", "100664"})
_NOT_A_FILE = {"120000": "a symbolic link, not a file", "160000": "a submodule, not a file"}


def parse_log(text: str) -> Iterator[tuple[list[str], list[Change]]]:
    """Commits (their ``LOG_FIELDS``) with their raw changes, from ``gitio.raw_log``.

    A rename or copy (when git was asked to pair them) is read as what it does to paths:
    the old path deleted (for a rename) and the new one added."""
    tokens = text.split("\0")
    i, n, width = 0, len(tokens), len(gitio.LOG_FIELDS)
    while i < n:
        token = tokens[i].lstrip("\n")
        if not token.startswith("\x1e"):
            i += 1
            continue
        fields = [token[1:], *tokens[i + 1 : i + width]]
        fields += [""] * (width - len(fields))
        i += width
        while i < n and tokens[i] == "":  # the format's terminator
            i += 1
        changes: list[Change] = []
        while i < n and tokens[i].lstrip("\n").startswith(":"):
            meta = tokens[i].lstrip("\n")[1:].split()
            status = meta[4][:1] if len(meta) >= 5 else "M"
            mode = meta[1] if len(meta) >= 2 else "100644"
            new_blob = meta[3] if len(meta) >= 4 else None
            if status in ("R", "C") and i + 2 < n:
                old, path = tokens[i + 1], tokens[i + 2]
                i += 3
                if status == "R":
                    changes.append(Change(fields[0], "D", old, None))
                status = "A"
            else:
                path = tokens[i + 1] if i + 1 < n else ""
                i += 2
            gone = status == "D" or new_blob is None or set(new_blob) == {"0"}
            blob = None if gone else _blob_key(new_blob or "", mode)
            changes.append(Change(fields[0], status, path, blob))
        yield fields, changes


def _blob_key(sha: str, mode: str) -> str:
    """The blob id, or ``mode:sha`` for what is not a regular file (never read)."""
    return sha if mode in _FILE_MODES else f"{mode}:{sha}"


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
    now: datetime | None = None,
    record_parses: ParseCache | None = None,
) -> HistoryIndex:
    """The history index of the branch checked out at ``root``; with ``paths``, of those
    files only (a pull request's records: git diffs only them, no log cache). ``now`` (the
    moment the history is read, by default the clock's) bounds plausible commit dates.

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
    key = repository_key(root) if use_cache else None
    if paths is None:
        graph, parsed = _graph_and_log(root, head, key)
    elif paths:
        # the graph and the first log of the paths are independent git walks: run together
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = pool.submit(gitio.commit_graph, root)
            parsed = _scoped_log(root, paths, pending.result)
            graph = pending.result()
    else:
        graph, parsed = gitio.commit_graph(root), []
    landed, position = landing(graph)
    commits = build_commits((f for f, _ in parsed), landed, position, now or datetime.now(UTC))
    order = {fields[0]: i for i, (fields, _) in enumerate(parsed)}
    changes = [c for _, cs in parsed for c in cs if _is_record(c.path)]
    changes.sort(key=lambda c: (position.get(commits[c.commit].landed_sha, -1), order[c.commit]))
    cache = None
    if key is not None:
        namespace = f"blobs {__version__} v4 {limits.max_file_bytes} {limits.max_depth}"
        cache = open_blobs(root, namespace, key)
    blobs = {c.blob for c in changes if c.blob is not None}
    contents = _read_blobs(root, blobs, cache, limits, progress, record_parses)
    if cache is not None:
        cache.save(compact=paths is None)
    assemble(index, changes, commits, contents)
    return index


def _graph_and_log(
    root: Path, head: str, key: bytes | None
) -> tuple[list[tuple[str, list[str]]], list[tuple[list[str], list[Change]]]]:
    """The commit graph and the parsed log up to ``head``. The cache holds segments, each
    the commits since the previous one's head (its ``base``); a run appends one segment for
    the commits since the cached head, when that head is an ancestor of ``head`` (a
    rewritten history starts afresh). Both are pure functions of commit ids. Segments must
    chain from the root; a damaged, missing or reordered segment discards the whole log
    cache (a gap would silently drop commits)."""
    if key is None:
        return gitio.commit_graph(root), list(parse_log(gitio.raw_log(root, FOLDERS)))
    store = open_store(root, "history-log", f"{__version__}:v3:{','.join(FOLDERS)}", key)
    unusable: tuple[list[Any], list[Any], None] = ([], [], None)
    graph, parsed, since = unusable if store.damaged else _cached_log(root, head, store.items)
    if since is None:
        store.reset()
    if since != head:
        new_graph = gitio.commit_graph(root, exclude=since)
        new_log = list(parse_log(gitio.raw_log(root, FOLDERS, exclude=since)))
        graph = new_graph + graph
        parsed += new_log
        store.add(
            {
                "base": since,
                "head": head,
                "graph": new_graph,
                "log": [
                    (f, [[c.commit, c.status, c.path, c.blob] for c in cs]) for f, cs in new_log
                ],
            }
        )
        store.save()
    return graph, parsed


def _scoped_log(
    root: Path, paths: list[str], graph: Callable[[], list[tuple[str, list[str]]]]
) -> list[tuple[list[str], list[Change]]]:
    """The log of ``paths`` and of the paths their records had before a move: a record
    first added at a path in a commit that deleted a file of the same ID is followed back
    to that file (a history cut at a move would credit the mover with the whole record).
    One ``git log`` per round, one ``git diff-tree`` for the moves; rounds end when no
    earlier path is found."""
    wanted, examined = set(paths), set()
    parents: dict[str, list[str]] | None = None
    while True:
        parsed = list(parse_log(gitio.raw_log(root, tuple(sorted(wanted)))))
        if parents is None:  # ``graph`` gives the commit graph once it is ready
            parents = dict(graph())
        oldest: dict[str, Change] = {}
        for _, changes in parsed:
            for change in changes:
                oldest.setdefault(change.path, change)
        added: dict[str, set[str]] = {}  # commit -> IDs (casefolded) it first added
        for path, change in oldest.items():
            rid = record_id(path, None)
            if (
                change.status == "A"
                and change.commit not in examined
                and parents.get(change.commit)
                and rid
            ):
                added.setdefault(change.commit, set()).add(rid.casefold())
        examined |= set(added)
        gone = gitio.deletions(root, [(c, parents[c][0]) for c in sorted(added)], FOLDERS)
        earlier = {
            path
            for commit, deleted in gone.items()
            for path in deleted
            if _is_record(path) and (record_id(path, None) or "").casefold() in added[commit]
        } - wanted
        if not earlier:
            return parsed
        wanted |= earlier


def _cached_log(
    root: Path, head: str, segments: list[Any]
) -> tuple[list[tuple[str, list[str]]], list[tuple[list[str], list[Change]]], str | None]:
    """The cached graph and log, and the head they reach; ``since`` None when unusable.
    (Every line passed its integrity check: this tool wrote it, in this namespace.)"""
    graph: list[tuple[str, list[str]]] = []
    parsed: list[tuple[list[str], list[Change]]] = []
    base: str | None = None
    width = len(gitio.LOG_FIELDS)
    try:
        for segment in segments:
            if segment["base"] != base or not isinstance(segment["head"], str):
                return [], [], None
            graph = [(sha, ps) for sha, ps in segment["graph"]] + graph
            for fields, changes in segment["log"]:
                if len(fields) != width:
                    return [], [], None
                parsed.append((fields, [Change(*c) for c in changes]))
            base = segment["head"]
    except (KeyError, TypeError, ValueError):
        return [], [], None
    if base is None or not (base == head or gitio.is_ancestor(root, base, head)):
        return [], [], None
    return graph, parsed, base


def _read_blobs(
    root: Path,
    blobs: set[str],
    cache: BlobCache | None,
    limits: Limits,
    progress: Progress | None,
    record_parses: ParseCache | None = None,
) -> dict[str, Any]:
    contents: dict[str, Any] = {}
    for blob in blobs:
        mode, colon, _ = blob.partition(":")
        if colon:
            contents[blob] = {"e": _NOT_A_FILE.get(mode, f"not a regular file (mode {mode})")}
    if cache is not None:
        for blob in blobs:
            if blob not in contents:
                entry = cache.get(blob)
                if entry is not None:
                    contents[blob] = entry
    missing = sorted(b for b in blobs if b not in contents)
    if not missing:
        return contents
    for done, (blob, raw) in enumerate(gitio.read_blobs(root, missing), 1):
        if raw is None:
            contents[blob] = {"e": f"git cannot read blob {blob[:12]}"}  # never cached
        else:
            contents[blob] = _parse_blob(raw, limits, record_parses)
            if cache is not None:
                cache.put(blob, contents[blob])
        if progress is not None:
            progress(done, len(missing))
    return contents


def _parse_blob(
    raw: bytes, limits: Limits, record_parses: ParseCache | None = None
) -> dict[str, Any]:
    """``{"d": data}`` or ``{"e": reason}``; the kind is told by the front matter marker.
    ``record_parses``: the run's record parses (the same function over the same bytes and
    limits), so a version that is also a file in the working tree is not parsed twice."""
    if len(raw) > limits.max_file_bytes:
        return {"e": f"over the size limit ({len(raw)} bytes)"}
    markdown = raw.startswith(b"---")
    content = digest(raw, markdown=markdown)
    found = record_parses.get(content) if record_parses is not None else None
    try:
        doc = found if found is not None else load_bytes(raw, markdown=markdown, limits=limits)
        if isinstance(doc, LoadError):
            raise doc
    except LoadError as exc:
        return {"e": f"{exc.line}:{exc.column}: {exc.message}"}
    return {"d": doc.data, "b": doc.body}
