"""Building the history index: one pass over the branch's git history.

Three git calls, whatever the number of records, running at the same time: the commit
graph (``rev-list --parents``), one ``git log --raw`` over the record folders, read as it
streams, and one persistent ``cat-file --batch`` that is sent each blob id as soon as the
log names it. Each blob is parsed (while git goes on walking) with the same strict loader
as the working tree and cached on disk by blob id (a blob id is a hash of the content), so
a second run reads only new blobs; the parsed log is cached too. Every cache entry carries
an integrity check (:mod:`opsledger.history.store`), and an entry that fails it is
discarded, never trusted.

Landing: a commit on the first-parent chain of HEAD lands when it is committed; a commit
from a merged branch lands with the first-parent merge that brought it in. Versions are
ordered by landing, then by the original commit order. Records are keyed by ID, not by
git's rename pairing (:mod:`opsledger.history.assemble`); commit dates are checked before
use (:mod:`opsledger.history.dates`).
"""

from __future__ import annotations

import gc
import queue
import threading
from collections import deque
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from opsledger import __version__, gitio
from opsledger.cache import FrameStore
from opsledger.errors import HistoryUnusable
from opsledger.history import snapshot
from opsledger.history.assemble import (
    MARKDOWN,
    Assembly,
    Change,
    assemble,
    content_key,
    record_id,
)
from opsledger.history.dates import build_commits, date_window, join_windows, window_holds
from opsledger.history.model import Commit, HistoryIndex, Version
from opsledger.history.store import (
    BlobCache,
    LogCache,
    open_blobs,
    open_log,
    open_scoped,
    repository_key,
)
from opsledger.loading import Limits, LoadError, load_bytes, yamlstrict
from opsledger.model.layout import record_path
from opsledger.parsecache import ParseCache, digest

FOLDERS = ("records", "runbooks")
Progress = Callable[[int, int], None]
#: file modes of regular files; a symbolic link or a submodule is never read as a record
_FILE_MODES = frozenset({"100644", "100755", "100664"})
_NOT_A_FILE = {"120000": "a symbolic link, not a file", "160000": "a submodule, not a file"}


def parse_log(text: str | Iterable[str]) -> Iterator[tuple[list[str], list[Change]]]:
    """Commits (their ``LOG_FIELDS``) with their raw changes, from ``gitio.raw_log``'s text
    or from its pieces as they arrive (``gitio.raw_log_chunks``): the same commits either
    way, each yielded as soon as the next one starts.

    A rename or copy (when git was asked to pair them) is read as what it does to paths:
    the old path deleted (for a rename) and the new one added."""
    tokens = _tokens([text] if isinstance(text, str) else text)
    width = len(gitio.LOG_FIELDS)
    token = next(tokens, None)
    while token is not None:
        start = token.lstrip("\n")
        if not start.startswith("\x1e"):
            token = next(tokens, None)
            continue
        fields = [start[1:]]
        while len(fields) < width and (token := next(tokens, None)) is not None:
            fields.append(token)
        fields += [""] * (width - len(fields))
        token = next(tokens, None)
        while token == "":  # the format's terminator
            token = next(tokens, None)
        changes: list[Change] = []
        while token is not None and token.lstrip("\n").startswith(":"):
            meta = token.lstrip("\n")[1:].split()
            status = meta[4][:1] if len(meta) >= 5 else "M"
            mode = meta[1] if len(meta) >= 2 else "100644"
            new_blob = meta[3] if len(meta) >= 4 else None
            first = next(tokens, None)
            second = next(tokens, None) if first is not None else None
            if status in ("R", "C") and second is not None:
                assert first is not None
                old, path = first, second
                token = next(tokens, None)
                if status == "R":
                    changes.append(Change(fields[0], "D", old, None))
                status = "A"
            else:
                path = first if first is not None else ""
                token = second
            gone = status == "D" or new_blob is None or set(new_blob) == {"0"}
            blob = None if gone else _blob_key(new_blob or "", mode)
            changes.append(Change(fields[0], status, path, blob))
        yield fields, changes


def _tokens(pieces: Iterable[str]) -> Iterator[str]:
    """The NUL-separated tokens of the concatenated ``pieces``."""
    rest = ""
    for piece in pieces:
        parts = (rest + piece).split("\0")
        rest = parts.pop()
        yield from parts
    yield rest


def _blob_key(sha: str, mode: str) -> str:
    """The blob id, or ``mode:sha`` for what is not a regular file (never read)."""
    return sha if mode in _FILE_MODES else f"{mode}:{sha}"


def landing(graph: Graph) -> tuple[dict[str, str], dict[str, int]]:
    """For every commit, the first-parent commit of HEAD through which it landed; and each
    first-parent commit's position on the chain (0 = the root). Positions, not dates, order
    history: committer dates are self-asserted and may go backwards."""
    if not graph:
        return {}, {}
    parents = {sha: shas for sha, shas, _ in graph}
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
    return record_path(path)


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
    records: Collection[str] | None = None,
    usable: bool = False,
    keep: bool = True,
) -> HistoryIndex:
    """The history index of the branch checked out at ``root``; with ``paths``, of those
    files only (a pull request's records: git diffs only them; that walk is kept for a run
    again at the same head on the same paths, see :class:`~opsledger.history.store.
    ScopedCache`). ``now`` (the
    moment the history is read, by default the clock's) bounds plausible commit dates.

    The whole branch's index is cached once assembled (:mod:`opsledger.history.snapshot`):
    a later run whose HEAD continues the cached head's first-parent chain reads and applies
    only the commits since; any other run builds it from the log and blob caches.

    ``records`` (with ``paths``): the IDs and paths of the records whose findings the run
    reports (a pull request's: :class:`opsledger.scope.Scope`). Where the cached index can
    be continued to HEAD, it is, in memory only (a pull request's head never replaces the
    branch's cached index), and restricted to those records (:func:`_restricted`): the
    same histories the whole branch's index gives them, without reading the log of
    ``paths``. Otherwise (nothing cached, other limits, dates judged otherwise now, HEAD
    off the cached chain, a damaged entry) the index of ``paths`` is built as without it.

    Raises :class:`HistoryUnusable` (exit status 4) wherever :func:`gitio.history_problem`
    finds the history unusable (shallow clone, replace refs or grafts, no git): no history
    rule or KPI is ever computed from a truncated or rewritten history. ``usable``: the
    run decided so a moment before (:attr:`opsledger.workspace.Workspace.history_state`),
    so the same five git calls are not made again. ``keep``: False for a pull request's
    gate judging every record (a change to the policy): the whole branch's index is read
    from the cache and continued as a full audit does, but never cached at the pull
    request's head.
    """
    problem = None if usable else gitio.history_problem(root)
    if problem is not None:
        raise HistoryUnusable(problem.reason, problem.help)
    head = gitio.describe_head(root)
    if head is None:
        return HistoryIndex(head=head, since=since)
    run = _Run(root, head, since, limits or Limits(), now or datetime.now(UTC), record_parses)
    run.keep = keep
    # the index is hundreds of thousands of objects in no reference cycle: the cyclic
    # collector, left on, would walk them (and whatever else the process holds) again and
    # again while they are made
    enabled = gc.isenabled()
    gc.disable()
    try:
        if paths and records is not None and use_cache:
            found = _gate_index(run, paths, records, progress)
            if found is not None:
                return found
        if paths and not scoped_worth(paths):
            paths = None  # the whole branch: see SCOPED_MAX_PATHS
        try:
            return run.build(progress=progress, use_cache=use_cache, paths=paths)
        except _TooWide:  # the paths' earlier paths made them too many
            return run.build(progress=progress, use_cache=use_cache, paths=None)
    finally:
        if enabled:
            gc.enable()


class _Run:
    """What every index of one :func:`build_history` call is built from."""

    def __init__(
        self,
        root: Path,
        head: str,
        since: date | None,
        limits: Limits,
        now: datetime,
        record_parses: ParseCache | None,
    ) -> None:
        self.root, self.head, self.since, self.limits, self.now = root, head, since, limits, now
        self.record_parses = record_parses
        self._full: HistoryIndex | None = None
        #: the whole branch's index is cached once assembled (see build_history)
        self.keep = True

    def build(
        self,
        *,
        progress: Progress | None,
        use_cache: bool,
        paths: list[str] | None,
        use_snapshot: bool = True,
    ) -> HistoryIndex:
        key = repository_key(self.root) if use_cache else None
        if paths is None:
            ahead = _take_ahead(self.root, self.head, key, use_snapshot=use_snapshot)
            found = _from_snapshot(self, ahead, progress) if use_snapshot else None
            return found if found is not None else _build(self, key, progress, None, ahead)
        return _build(self, key, progress, paths, None)

    def rebuilt(self, record_id: str) -> list[Version]:
        """``record_id``'s versions in the whole index built afresh, without the cached
        one (whose entry for it failed its check; the index is cached afresh)."""
        if self._full is None:
            self._unmoved()
            full = self.build(progress=None, use_cache=True, paths=None, use_snapshot=False)
            self._unmoved()
            self._full = full
        found = self._full.records.get(record_id)
        return list(found.versions) if found is not None else []

    def _unmoved(self) -> None:
        if gitio.describe_head(self.root) != self.head:
            raise HistoryUnusable(
                "the branch moved while its history was being read", "run the command again"
            )


def _build(
    run: _Run,
    key: bytes | None,
    progress: Progress | None,
    paths: list[str] | None,
    ahead: _Ahead | None,
) -> HistoryIndex:
    """The index built from the log (cached, or read from git) and the blob versions, of
    the whole branch (``ahead``: what it starts from) or of ``paths``."""
    root, head, now, limits = run.root, run.head, run.now, run.limits
    index = HistoryIndex(head=head, since=run.since)
    record_parses = run.record_parses
    cache = None
    if key is not None:
        namespace = (
            f"blobs {__version__} v5 strict{yamlstrict.STRICTNESS} "
            f"{limits.max_file_bytes} {limits.max_depth}"
        )
        cache = open_blobs(root, namespace, key)
    reader = _BlobReader(root, cache, limits, progress, record_parses)
    if ahead is not None:
        graph, parsed = _graph_and_log(root, head, ahead, reader, keep=run.keep)
    elif paths:
        early = _SCOPED.pop((str(root), tuple(paths)), None)
        found = early.result(head) if early is not None else None
        graph, parsed = found if found is not None else _scoped(root, paths, head, key)
    else:
        graph, parsed = gitio.commit_graph(root, tip=head), []
    landed, position = landing(graph)
    chain = chain_dates(graph, position)
    commits, landings = build_commits((f for f, _ in parsed), landed, position, now, chain=chain)
    changes = _landing_order(parsed, commits, position)
    reader.read_rest({content_key(c) for c in changes if c.blob is not None})
    if cache is not None:  # a pull request's gate only adds to main's (keep)
        cache.save(compact=paths is None and run.keep)
    state = assemble(index, changes, commits, reader.contents)
    if run.keep and ahead is not None and ahead.index_store is not None:
        snapshot.write(
            ahead.index_store,
            head=head,
            limits=(limits.max_file_bytes, limits.max_depth),
            chain=len(position),
            last_landing=landings.last,
            window=date_window((f for f, _ in parsed), now, chain.values()),
            state=state,
            base=None,
        )
    return index


def _landing_order(
    parsed: Log, commits: dict[str, Commit], position: dict[str, int]
) -> list[Change]:
    """The record files' changes of ``parsed``, in landing order: by the position of the
    commit they landed with, then in the log's order."""
    order = {fields[0]: i for i, (fields, _) in enumerate(parsed)}
    changes = [c for _, cs in parsed for c in cs if _is_record(c.path)]
    changes.sort(key=lambda c: (position.get(commits[c.commit].landed_sha, -1), order[c.commit]))
    return changes


def _from_snapshot(run: _Run, ahead: _Ahead, progress: Progress | None) -> HistoryIndex | None:
    """The index from the cached one, with the commits since its head applied; None when
    the cache cannot give the index a full build would (none cached, other limits, a date
    that would be judged otherwise now, a head off the first-parent chain, a record that
    fails its check)."""
    found = _continued(run, ahead, progress, keep=run.keep)
    if found is None or ahead.snap is None:
        return None
    ahead.snap.recover_with(run.rebuilt)
    return found[0]


def _continued(
    run: _Run, ahead: _Ahead, progress: Progress | None, *, keep: bool
) -> tuple[HistoryIndex, Assembly | None] | None:
    """The cached index with the commits since its head applied (and cached when
    ``keep``), with where its assembly then stands (None: nothing was applied, not read),
    or None when the cache cannot give the index a full build would (see
    :func:`_from_snapshot`)."""
    limits = run.limits
    snap = ahead.snap
    if (
        snap is None
        or snap.limits != (limits.max_file_bytes, limits.max_depth)
        or not window_holds(snap.window, run.now)
    ):
        return None
    index = snap.index(run.since)
    if snap.head == run.head:
        return index, None
    try:
        state = _apply_since(run, snap, index, ahead, progress, keep=keep)
    except snapshot.Damaged:
        return None
    return (index, state) if state is not None else None


def _apply_since(
    run: _Run,
    snap: snapshot.Snapshot,
    index: HistoryIndex,
    ahead: _Ahead,
    progress: Progress | None,
    *,
    keep: bool = True,
) -> Assembly | None:
    """Apply the commits since the cached head to ``index`` (the cached one) and, when
    ``keep``, cache the result; where the assembly then stands, or None when HEAD does not
    continue the cached head's first-parent chain."""
    root, head, limits, now = run.root, run.head, run.limits, run.now
    state = snap.assembly(index)
    if state is None:
        return None
    early, ahead.log = (ahead.log, None) if ahead.log_since == snap.head else (None, ahead.log)
    reader = _BlobReader(root, None, limits, progress, run.record_parses)
    graph, parsed = _read_log(root, head, snap.head, reader, early)
    landed, relative = landing(graph)
    if relative.get(snap.head) != 0:  # HEAD's first parents do not lead to the cached head
        return None
    offset = snap.chain - 1  # the cached head's position
    position = {sha: offset + p for sha, p in relative.items()}
    rows = [fields for fields, _ in parsed]
    chain = chain_dates(graph, relative)
    commits, landings = build_commits(
        rows, landed, position, now, snap.last_landing_time, chain=chain
    )
    changes = _landing_order(parsed, commits, position)
    reader.read_rest({content_key(c) for c in changes if c.blob is not None})
    state = assemble(index, changes, commits, reader.contents, state)
    index.head = head
    if keep:
        snapshot.write(
            snap.store,
            head=head,
            limits=snap.limits,
            chain=offset + len(relative),
            last_landing=landings.last,
            window=join_windows(snap.window, date_window(rows, now, chain.values())),
            state=state,
            base=snap,
        )
    return state


def _gate_index(
    run: _Run, paths: list[str], records: Collection[str], progress: Progress | None
) -> HistoryIndex | None:
    """The cached index of the whole branch continued to HEAD (never cached) and
    restricted to ``records``, or None when it cannot be (see :func:`build_history`)."""
    root, head = run.root, run.head
    key = repository_key(root)
    if key is None:
        return None
    early = _SCOPED.get((str(root), tuple(paths)))
    if early is not None and early.tried(head, key):
        ahead = early.ahead  # what the read-ahead found (it walked ``paths`` without one)
    else:
        ahead = _Ahead.start(root, head, key, start_log=True, logs=False)
    if ahead is None or ahead.snap is None:
        return None
    found = _continued(run, ahead, progress, keep=False)
    if found is None:
        return None
    index, state = found
    state = state if state is not None else ahead.snap.assembly(index)
    if state is None:  # the cached assembly state fails its check
        return None
    try:
        restricted = _restricted(index, state, ahead.snap.touched(index), records)
    except snapshot.Damaged:  # a reported record's entry fails its check: built from git
        return None
    _SCOPED.pop((str(root), tuple(paths)), None)
    return restricted


def _restricted(
    index: HistoryIndex, state: Assembly, touched: set[str], records: Collection[str]
) -> HistoryIndex:
    """``index`` (assembled as ``state`` says) with only the histories whose findings a
    run reporting ``records`` (IDs and paths) can show, each the same object as in
    ``index``: the records named (IDs compared case-insensitively, a path by the ID its
    file name says), those whose last version is at a path named (the audit shows a record
    it did not load there: one deleted or renamed away), those the commits applied since
    the cached head changed (``touched``), and, for each of their deletions, the record
    that took the deleted one's content (its successor, which the rules compare it with).
    Only those records' cached entries are decoded."""
    spelled = {rid.casefold(): rid for rid in index.records}
    wanted: set[str] = set()
    paths: set[str] = set()
    for item in records:
        if "/" not in item:
            wanted.add(item.casefold())
        elif _is_record(item):
            wanted.add((record_id(item, None) or "").casefold())
            paths.add(item)
    wanted |= {key for key, path in state.lasts.items() if path in paths}
    chosen = {spelled[key] for key in wanted if key in spelled}
    chosen |= touched
    heirs = {
        spelled.get(version.successor.casefold())
        for rid in chosen
        for version in index.records[rid].versions
        if version.successor is not None
    }
    chosen |= {rid for rid in heirs if rid is not None}
    kept = {rid: history for rid, history in index.records.items() if rid in chosen}
    return HistoryIndex(head=index.head, records=kept, since=index.since)


#: each commit, its parents, its committer date as git prints it (:func:`gitio.commit_graph`)
Graph = list[tuple[str, list[str], str]]


def chain_dates(graph: Graph, chain: Mapping[str, int]) -> dict[str, str]:
    """The committer date (as git prints it) of each first-parent commit of ``chain``."""
    return {sha: when for sha, _, when in graph if sha in chain}


Log = list[tuple[list[str], list[Change]]]


def _graph_and_log(
    root: Path, head: str, ahead: _Ahead, reader: _BlobReader, *, keep: bool = True
) -> tuple[Graph, Log]:
    """The commit graph and the parsed log up to ``head``. The cache holds segments, each
    the commits since the previous one's head (its ``base``); a run appends one segment for
    the commits since the cached head, when that head is an ancestor of ``head`` (a
    rewritten history starts from the last segment whose head still is). Both are pure
    functions of commit ids. Segments are followed from the root, each found by its base:
    the chain ends at a damaged or missing segment, and every commit after it is read from
    git again (a gap would silently drop commits). The blobs of the commits read from git
    are read (by ``reader``) while git walks the log."""
    if ahead.store is None and ahead.key is not None:
        ahead.start_logs(root, start_log=False)
    graph, parsed, since = ahead.cached
    early = ahead.log if ahead.log_since == since else None
    ahead.log = None
    if ahead.store is None:
        return _read_log(root, head, None, reader, early)
    store = ahead.store
    if since != head:
        new_graph, new_log = _read_log(root, head, since, reader, early)
        graph = new_graph + graph
        parsed += new_log
        if keep:  # a pull request's head is not cached (see build_history's keep)
            store.add(since, head, new_graph, _encoded_log(new_log))
    if keep:
        store.save()
    return graph, parsed


_AHEAD: dict[str, ReadAhead] = {}
#: the name of a read-ahead's starting thread (the one that may write the cache key)
START_THREAD = "opsledger-read-ahead"
_SCOPED: dict[tuple[str, tuple[str, ...]], ScopedReadAhead] = {}


#: the most paths, and characters of paths, whose log is read path by path (a pull
#: request's records): beyond, git matching every path against every commit takes longer
#: than reading the whole branch, and the paths would not fit on git's command line; the
#: whole branch's index is read instead (the full audit's)
SCOPED_MAX_PATHS = 400
SCOPED_MAX_CHARS = 64 * 1024


class _TooWide(Exception):
    """Following the paths back through moves made them more than :func:`scoped_worth`."""


def scoped_worth(paths: list[str]) -> bool:
    """Is the log of ``paths`` read path by path (else the whole branch's)?"""
    return len(paths) <= SCOPED_MAX_PATHS and sum(len(p) + 12 for p in paths) <= SCOPED_MAX_CHARS


def read_ahead(
    root: Path, *, use_cache: bool = True, paths: list[str] | None = None
) -> ReadAhead | ScopedReadAhead | None:
    """Start, in the background, what :func:`build_history` on the whole of ``root`` (or
    on ``paths``) will read first, while this process does other work (the audit parses
    the records meanwhile): for the whole branch, the cached index is opened and checked
    and git starts walking the commits since the cached head; for ``paths`` (a pull
    request's records), git walks their log and the commit graph. Only a head start:
    nothing is started where history is unusable, and the index is built from the same
    caches and log either way (a read-ahead for another head, cache or paths is not
    used)."""
    if paths is not None and not scoped_worth(paths):
        paths = None  # build_history reads the whole branch for them too
    if paths is not None:
        if not paths:
            return None
        scoped = _SCOPED[(str(root), tuple(paths))] = ScopedReadAhead(root, paths, use_cache)
        return scoped
    started = _AHEAD[str(root)] = ReadAhead(root, use_cache)
    return started


def drop_read_ahead(root: Path) -> None:
    """Forget the read-aheads for ``root`` that no index used (the run stopped first: an
    invalid policy, a record too large), once each is past its start, which may write the
    cache key into the git directory: nothing of a run that has returned writes into the
    repository (an in-process caller, a test or ``mkdocs serve``, may remove or change it
    at once). A git walk already under way only reads, and ends with the process."""
    for started in [_SCOPED.pop(k) for k in list(_SCOPED) if k[0] == str(root)]:
        started.wait()
    pending = _AHEAD.pop(str(root), None)
    if pending is not None:
        pending.wait()


@contextmanager
def reading_ahead(root: Path, *, paths: list[str] | None = None) -> Iterator[None]:
    """:func:`read_ahead` for the block's run, then :func:`drop_read_ahead` whatever the
    block did with it."""
    read_ahead(root, paths=paths)
    try:
        yield
    finally:
        drop_read_ahead(root)


def _scoped(root: Path, paths: list[str], head: str, key: bytes | None) -> tuple[Graph, Log]:
    """The commit graph and the log of ``paths`` (see :func:`_scoped_log`) up to ``head``:
    independent git walks, run together; read back from the cache (``key``: the
    repository's, None for none) when the last gate walked the same paths to the same head."""
    store = open_scoped(root, f"scoped {__version__} v2 {','.join(FOLDERS)}", key) if key else None
    found = _cached_scoped(store.get(head, paths)) if store is not None else None
    if found is not None:
        assert store is not None
        store.save()
        return found
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(gitio.commit_graph, root, tip=head)
        parsed = _scoped_log(root, paths, pending.result, head)
        graph = pending.result()
    if store is not None:
        store.put(head, paths, graph, _encoded_log(parsed))
        store.save()
    return graph, parsed


def _encoded_log(parsed: Log) -> list[Any]:
    """``parsed`` as the caches hold it (marshal's types only)."""
    return [(f, [(c.commit, c.status, c.path, c.blob) for c in cs]) for f, cs in parsed]


def _cached_scoped(item: Any) -> tuple[Graph, Log] | None:
    """The graph and log of a cached scoped walk, or None when it is not one."""
    if not isinstance(item, tuple) or len(item) != 2:
        return None
    return _decoded(*item)


def _decoded(graph_part: Any, log_part: Any) -> tuple[Graph, Log] | None:
    """A graph and a log as the caches hold them (see :func:`_encoded_log`), or None when
    they are not."""
    width = len(gitio.LOG_FIELDS)
    try:
        graph: Graph = [(str(sha), list(ps), str(when)) for sha, ps, when in graph_part]
        parsed: Log = []
        for fields, changes in log_part:
            if len(fields) != width:
                return None
            parsed.append((list(fields), [Change(*c) for c in changes]))
    except (TypeError, ValueError):
        return None
    return graph, parsed


class ScopedReadAhead:
    """What :func:`build_history` of ``paths`` reads first, in a thread, with the head it
    was read at: the cached index of the whole branch when it continues to that head
    (``ahead``: opened and checked, the commits since it being read), else :func:`_scoped`
    (``paths`` and the commit graph walked: both would compete for the same cores)."""

    def __init__(self, root: Path, paths: list[str], use_cache: bool = True) -> None:
        gitio.load()  # here, before the thread and this one both use git
        self._done = threading.Event()
        self._found: tuple[str, tuple[Graph, Log]] | None = None
        self._tried: tuple[str, bytes] | None = None  # head and key the cache was tried at
        self.ahead: _Ahead | None = None
        threading.Thread(
            target=self._run, args=(root, list(paths), use_cache), name=START_THREAD, daemon=True
        ).start()

    def _run(self, root: Path, paths: list[str], use_cache: bool) -> None:
        try:
            if gitio.history_problem(root) is not None:
                return
            head = gitio.describe_head(root)
            if head is None:
                return
            key = repository_key(root) if use_cache else None
            if use_cache:
                ahead = _Ahead.start(root, head, key, start_log=True, logs=False)
                self._tried = (head, key) if key is not None else None
                if ahead.snap is not None:
                    self.ahead = ahead
                    return
            self._found = head, _scoped(root, paths, head, key)
        except Exception:  # a head start only: build_history reports what went wrong
            return
        finally:
            self._done.set()

    def wait(self) -> None:
        self._done.wait()

    def tried(self, head: str, key: bytes) -> bool:
        """Whether the cached index was tried at ``head`` with ``key`` (``ahead`` is then
        what was found)."""
        self._done.wait()
        return self._tried == (head, key)

    def result(self, head: str) -> tuple[Graph, Log] | None:
        """What was read, when it was read at ``head``."""
        self._done.wait()
        return self._found[1] if self._found is not None and self._found[0] == head else None


class ReadAhead:
    """A read-ahead running in a thread (:meth:`wait` for it to have started git); its
    :class:`_Ahead`, or None when it could not start (:func:`build_history` then reports
    what is wrong)."""

    def __init__(self, root: Path, use_cache: bool) -> None:
        gitio.load()  # here, before the thread and this one both use git
        self._done = threading.Event()
        self._ahead: _Ahead | None = None
        threading.Thread(
            target=self._run, args=(root, use_cache), name=START_THREAD, daemon=True
        ).start()

    def _run(self, root: Path, use_cache: bool) -> None:
        try:
            if gitio.history_problem(root) is not None:
                return
            head = gitio.describe_head(root)
            if head is None:
                return
            key = repository_key(root) if use_cache else None
            self._ahead = _Ahead.start(root, head, key, start_log=True)
        except Exception:  # a head start only: build_history reports what went wrong
            return
        finally:
            self._done.set()

    def wait(self) -> None:
        self._done.wait()

    def result(self) -> _Ahead | None:
        self._done.wait()
        return self._ahead


def _take_ahead(root: Path, head: str, key: bytes | None, *, use_snapshot: bool) -> _Ahead:
    pending = _AHEAD.pop(str(root), None) if use_snapshot else None
    ahead = pending.result() if pending is not None else None
    if ahead is None or ahead.head != head or ahead.key != key:
        ahead = _Ahead.start(root, head, key, start_log=True, use_snapshot=use_snapshot)
    return ahead


class _LogAhead:
    """``gitio.raw_log_chunks`` read in a thread into a queue from the moment it starts."""

    def __init__(self, root: Path, head: str, since: str | None) -> None:
        self._pieces: queue.SimpleQueue[str | BaseException | None] = queue.SimpleQueue()
        pieces = gitio.raw_log_chunks(root, FOLDERS, since, tip=head)
        threading.Thread(target=self._run, args=(pieces,), daemon=True).start()
        self._graph: Future[Graph] = Future()  # the commit graph of the same commits
        threading.Thread(target=self._walk, args=(root, head, since), daemon=True).start()

    def _walk(self, root: Path, head: str, since: str | None) -> None:
        try:
            self._graph.set_result(gitio.commit_graph(root, exclude=since, tip=head))
        except BaseException as exc:  # raised where the graph is read
            self._graph.set_exception(exc)

    def graph(self) -> Graph:
        return self._graph.result()

    def _run(self, pieces: Iterator[str]) -> None:
        try:
            for piece in pieces:
                self._pieces.put(piece)
        except BaseException as exc:  # git's failure: raised where the log is read
            self._pieces.put(exc)
        finally:
            self._pieces.put(None)

    def read(self) -> Iterator[str]:
        while (piece := self._pieces.get()) is not None:
            if isinstance(piece, BaseException):
                raise piece
            yield piece


class _Ahead:
    """What the index starts from: the cached index when it can continue to ``head``
    (``snap``, and ``index_store`` to write the index in, None without a key); else the
    log cache (``store``, None without a key) with what it holds for ``head`` (``cached``:
    graph, log, the head they reach); and the log since ``log_since`` when it is already
    being read."""

    def __init__(self, head: str, key: bytes | None) -> None:
        self.head, self.key = head, key
        self.index_store: FrameStore | None = None
        self.snap: snapshot.Snapshot | None = None
        self.store: LogCache | None = None
        self.cached: tuple[Graph, Log, str | None] = ([], [], None)
        self.log: _LogAhead | None = None
        self.log_since: str | None = None

    @classmethod
    def start(
        cls,
        root: Path,
        head: str,
        key: bytes | None,
        *,
        start_log: bool,
        use_snapshot: bool = True,
        logs: bool = True,
    ) -> _Ahead:
        """``logs``: open the log cache (and start the log it does not hold) when the
        cached index cannot continue to ``head``."""
        ahead = cls(head, key)
        if key is not None:
            ahead.index_store = store = snapshot.open_store(root, FOLDERS, key)
            snap = snapshot.read_head(store) if use_snapshot else None
            if snap is not None and (snap.head == head or gitio.is_ancestor(root, snap.head, head)):
                ahead.snap = snap
                if start_log and snap.head != head:
                    ahead.log, ahead.log_since = _LogAhead(root, head, snap.head), snap.head
                return ahead
        if logs:
            ahead.start_logs(root, start_log=start_log)
        return ahead

    def start_logs(self, root: Path, *, start_log: bool) -> None:
        """Open the log cache (the cached index cannot be used)."""
        if self.key is not None:
            self.store = open_log(root, f"log {__version__} v5 {','.join(FOLDERS)}", self.key)
            self.cached = _cached_log(root, self.head, self.store.chain())
        since = self.cached[2]
        if start_log and since != self.head:
            self.log, self.log_since = _LogAhead(root, self.head, since), since


def _read_log(
    root: Path, head: str, since: str | None, reader: _BlobReader, early: _LogAhead | None = None
) -> tuple[Graph, Log]:
    """The commit graph and the parsed log of the commits reachable from ``head`` (never
    ``HEAD``, which may move meanwhile) and not from ``since`` (all with None), read from
    git: three git processes at once (the graph, the log, and ``cat-file`` for the blobs
    the log names as it names them), while this process parses each blob as it arrives.
    ``early``: that log, already being read (:func:`read_ahead`)."""
    log: Log = []
    if early is not None:
        reader.read(_walk(root, head, since, early.read(), log, reader))
        return early.graph(), log
    with ThreadPoolExecutor(max_workers=1) as pool:
        graph = pool.submit(gitio.commit_graph, root, exclude=since, tip=head)
        reader.read(_walk(root, head, since, None, log, reader))
        return graph.result(), log


def _walk(
    root: Path,
    head: str,
    since: str | None,
    text: Iterator[str] | None,
    log: Log,
    reader: _BlobReader,
) -> Iterator[str]:
    """The blobs to read, as the log (``text``, or read from git now) names them; runs in
    the thread writing blob ids to git, appending each commit to ``log``."""
    seen: set[str] = set()
    pieces = text if text is not None else gitio.raw_log_chunks(root, FOLDERS, since, tip=head)
    for fields, changes in parse_log(pieces):
        log.append((fields, changes))
        for change in changes:
            if change.blob is None or not _is_record(change.path):
                continue
            key = content_key(change)
            if key in seen:
                continue
            seen.add(key)
            if ":" not in key:  # not a file (``mode:id``): never read, see read_rest
                reader.found += 1
                yield key


class _BlobReader:
    """The parsed contents of the blobs the index needs (``contents``: blob id -> entry),
    each read from the cache, else from git and parsed (and cached)."""

    def __init__(
        self,
        root: Path,
        cache: BlobCache | None,
        limits: Limits,
        progress: Progress | None,
        record_parses: ParseCache | None,
    ) -> None:
        self.root = root
        self.cache = cache
        self.limits = limits
        self.progress = progress
        self.record_parses = record_parses
        self.contents: dict[str, Any] = {}
        self.found = 0  # blobs named so far (the progress's total)
        self.done = 0

    def read(self, keys: Iterable[str]) -> None:
        """Read the blobs of ``keys`` (:func:`content_key`, possibly still being found) from
        git, except those already known or cached."""
        waiting: deque[str] = deque()  # the keys sent, in order: git answers in that order

        def sent(key: str) -> str:
            waiting.append(key)
            return key.removesuffix(MARKDOWN)

        shas: Iterable[str] = (
            [sent(key) for key in keys] if isinstance(keys, list) else map(sent, keys)
        )
        for _, raw in gitio.read_blobs(self.root, shas):
            key = waiting.popleft()
            if key not in self.contents:
                self._add(key, raw)

    def _add(self, key: str, raw: bytes | None) -> None:
        entry = self.cache.get(key) if self.cache is not None else None
        blob = key.removesuffix(MARKDOWN)
        if entry is not None:
            self.contents[key] = entry
        elif raw is None:  # named by the log, not in the repository: part of the history
            raise gitio.unreadable_history(f"missing blob {blob}")
        else:
            markdown = key.endswith(MARKDOWN)
            entry = _parse_blob(raw, self.limits, self.record_parses, markdown=markdown)
            self.contents[key] = entry
            if self.cache is not None:
                self.cache.put(key, entry)
        self.done += 1
        if self.progress is not None:
            self.progress(self.done, max(self.found, self.done))

    def read_rest(self, blobs: set[str]) -> None:
        """Every blob of ``blobs`` not read yet: what is not a file is never read, cached
        entries are used, the rest is read from git (one ``cat-file`` run)."""
        contents = self.contents
        for blob in blobs:
            mode, colon, _ = blob.partition(":")
            if colon:
                contents[blob] = {"e": _NOT_A_FILE.get(mode, f"not a regular file (mode {mode})")}
        if self.cache is not None:
            for blob in blobs:
                if blob not in contents:
                    entry = self.cache.get(blob)
                    if entry is not None:
                        contents[blob] = entry
        missing = sorted(b for b in blobs if b not in contents)
        if missing:
            self.found = self.done + len(missing)
            self.read(missing)


def _scoped_log(
    root: Path, paths: list[str], graph: Callable[[], Graph], head: str
) -> list[tuple[list[str], list[Change]]]:
    """The log of ``paths`` and of the paths their records had before a move: a record
    first added at a path in a commit that deleted a file of the same ID is followed back
    to that file (a history cut at a move would credit the mover with the whole record).
    One ``git log`` per round, one ``git diff-tree`` for the moves; rounds end when no
    earlier path is found."""
    wanted, examined = set(paths), set()
    parents: dict[str, list[str]] | None = None
    while True:
        if not scoped_worth(sorted(wanted)):
            raise _TooWide
        parsed = list(parse_log(gitio.raw_log(root, tuple(sorted(wanted)), tip=head)))
        if parents is None:  # ``graph`` gives the commit graph once it is ready
            parents = {sha: shas for sha, shas, _ in graph()}
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


def _cached_log(root: Path, head: str, segments: list[Any]) -> tuple[Graph, Log, str | None]:
    """The cached graph and log, and the head they reach (None: nothing usable cached, read
    from the first commit). Each segment passed its integrity check (this tool wrote it, in
    this namespace) and follows the one before it. The segments are used up to the last
    one whose head is an ancestor of ``head``: after a history was rewritten (a branch
    reset to an earlier commit, then other commits made), the commits it still shares with
    the cached one are not read again. Each head is an ancestor of the next one's (a
    segment is only added after an ancestor), so the last usable one is found by halving."""
    heads = [segment[1] if isinstance(segment[1], str) else None for segment in segments]
    if None in heads:
        return [], [], None
    low, high = 0, len(heads)  # heads[:low] are ancestors of ``head``; heads[high:] are not
    while low < high:
        middle = (low + high) // 2
        if heads[middle] == head or gitio.is_ancestor(root, str(heads[middle]), head):
            low = middle + 1
        else:
            high = middle
    graph: Graph = []
    parsed: Log = []
    for _, _, segment_graph, log in segments[:low]:
        found = _decoded(segment_graph, log)
        if found is None:
            return [], [], None
        graph = found[0] + graph
        parsed += found[1]
    return graph, parsed, heads[low - 1] if low else None


def _parse_blob(
    raw: bytes,
    limits: Limits,
    record_parses: ParseCache | None = None,
    *,
    markdown: bool,
) -> dict[str, Any]:
    """``{"d": data}`` or ``{"e": reason}``; ``markdown``: the version is at a Markdown
    record's path. ``record_parses``: the run's record parses (the same function over the
    same bytes and limits), so a version that is also a file in the working tree is not
    parsed twice."""
    if len(raw) > limits.max_file_bytes:
        return {"e": f"over the size limit ({len(raw)} bytes)"}
    content = digest(raw, markdown=markdown)
    found = record_parses.get(content) if record_parses is not None else None
    try:
        doc = (
            found
            if found is not None
            else load_bytes(raw, markdown=markdown, limits=limits, positions=False)
        )
        if isinstance(doc, LoadError):
            raise doc
    except LoadError as exc:
        return {"e": f"{exc.line}:{exc.column}: {exc.message}"}
    return {"d": doc.data, "b": doc.body}
