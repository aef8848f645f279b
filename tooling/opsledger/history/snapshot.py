"""The assembled history index, cached: the next run applies only the commits made since.

A full build reads every commit and every blob version; the index it assembles is kept
(:class:`Snapshot`), with where the assembly stood (which record holds each path), the
head it reached, the length of the first-parent chain up to that head and what its
commit dates depended on. A later run whose HEAD continues that chain reads from git only
the commits since the cached head and applies them to the cached index: the same index
a full build gives, since a commit's landing, position and dates depend only on the
commits before it on the chain (and dates on the moment of the run, which is why the
cache says for which moments its dates hold: :func:`~opsledger.history.dates.window_holds`).

The cache file is a :class:`~opsledger.cache.FrameStore` like the others (keyed MAC per
entry, key in the git directory): one entry per record (its versions with their commits),
one for the index's head, order and dating, one for the assembly state. The first names
each of the others by its MAC, so that only the entries written with it are used: an older
entry of a record written again after a newer one, or one another run wrote meanwhile,
fails like a damaged one (an older description with its own entries is an older index,
which a later HEAD continues correctly). The first is
checked when the cache is opened, the assembly state before new commits are applied: one
that fails and the cache is not used at all (the index is built from git and the other
caches, and written afresh). A record's entry is checked and decoded when its versions
are first read, so a run that reads a few records' histories checks and decodes only
theirs. One that fails its check (or is missing) then is never used: while new commits
are being applied the cache is dropped and the index built in full; once the index is in
use, that record's versions come from an index built in full (and cached afresh) then.
"""

from __future__ import annotations

import hashlib
import marshal
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from opsledger import __version__
from opsledger.cache import FrameStore
from opsledger.history.assemble import Assembly
from opsledger.history.dates import Window
from opsledger.history.model import Commit, HistoryIndex, Identity, RecordHistory, Version
from opsledger.history.store import cache_file
from opsledger.loading.yamlstrict import STRICTNESS

_META = hashlib.blake2b(b"meta", digest_size=32, person=b"index").digest()
_STATE = hashlib.blake2b(b"state", digest_size=32, person=b"index").digest()
_FORMAT = 7  # 7: a version is read as Markdown by its path's suffix, not its first bytes


def _record_name(record_id: str) -> bytes:
    text = record_id.encode("utf-8", "surrogatepass")
    return hashlib.blake2b(text, digest_size=32, person=b"record").digest()


def open_store(root: Path, folders: Iterable[str], key: bytes) -> FrameStore:
    namespace = f"index {__version__} v{_FORMAT} strict{STRICTNESS} {','.join(folders)}"
    return FrameStore(cache_file(root, "history-index", ".bin"), key, namespace)


@dataclass
class Snapshot:
    """A cached index (see :func:`read_head` and :func:`read`)."""

    store: FrameStore
    head: str
    limits: tuple[int, int]
    chain: int  # commits on the first-parent chain up to ``head``
    last_landing: tuple[int, int] | None  # the latest plausible landing: position, time
    window: Window
    entries: dict[str, bytes]  # record ID -> the MAC of its entry, in the index's order
    state_mac: bytes  # the MAC of the assembly state's entry
    source: _Source | None = None

    def index(self, since: date | None) -> HistoryIndex:
        """The cached index (its records checked and decoded as they are read)."""
        index = HistoryIndex(head=self.head, since=since)
        self.source = source = _Source(self.store, self.entries)
        index.records = {rid: _StoredHistory(rid, source) for rid in self.entries}
        return index

    def touched(self, index: HistoryIndex) -> set[str]:
        """The IDs of ``index``'s (from :meth:`index`) records that may differ from the
        cached ones: new or spelt anew, or decoded (applying commits decodes only the
        records they change)."""
        decoded = self.source.decoded if self.source is not None else set()
        records = index.records.keys()
        return (records - self.entries.keys()) | (decoded & records)

    def recover_with(self, rebuild: Callable[[str], list[Version]]) -> None:
        """From now on, a record whose entry fails its check takes its versions from
        ``rebuild`` (record ID -> its versions in a full build); until then, such a record
        raises :class:`Damaged`."""
        if self.source is not None:
            self.source.rebuild = rebuild

    def assembly(self, index: HistoryIndex) -> Assembly | None:
        """Where the assembly of ``index`` (from :meth:`index`) stood, or None when the
        cache cannot say (its check failed)."""
        state = self.store.get(_STATE, self.state_mac)
        try:
            live, holders, names, lasts = state
            return Assembly(
                index,
                dict(live),
                {k: dict.fromkeys(paths) for k, paths in holders.items()},
                dict(names),
                dict(lasts),
            )
        except (TypeError, ValueError, AttributeError):
            return None

    @property
    def last_landing_time(self) -> tuple[int, datetime] | None:
        if self.last_landing is None:
            return None
        position, seconds = self.last_landing
        return position, datetime.fromtimestamp(seconds, UTC)


def read_head(store: FrameStore) -> Snapshot | None:
    """The cached index in ``store`` (its description checked; each record is checked when
    it is first read), or None when none is cached or its description fails its check."""
    meta = store.get(_META)
    try:
        fmt, head, limits, chain, last_landing, window, entries, state_mac = meta
        if fmt != _FORMAT or not isinstance(head, str) or not isinstance(entries, dict):
            return None
        return Snapshot(
            store,
            head,
            tuple(limits),
            int(chain),
            tuple(last_landing) if last_landing is not None else None,
            tuple(window),
            dict(entries),
            bytes(state_mac),
        )
    except (TypeError, ValueError):
        return None


def write(
    store: FrameStore,
    *,
    head: str,
    limits: tuple[int, int],
    chain: int,
    last_landing: tuple[int, datetime] | None,
    window: Window,
    state: Assembly,
    base: Snapshot | None,
) -> None:
    """Keep ``state.index`` (at ``head``) in ``store``: with ``base`` (the snapshot it was
    extended from), only the records the new commits changed are written again; without,
    the file is written afresh. Nothing is kept when a date cannot be kept exactly: an
    index without a plausible landing dates its commits from the moment of the run, which
    the next run's moment is not (even at a whole second, as an ``--as-of`` is)."""
    if last_landing is None:
        return
    index = state.index
    rows: dict[str, tuple[Any, ...] | None] = {}
    records: list[tuple[str, list[tuple[Any, ...]]]] = []
    for rid, history in index.records.items():
        if isinstance(history, _StoredHistory) and history.unchanged(rid):
            continue
        versions = []
        for version in history.versions:
            sha = version.commit.sha
            row = rows[sha] if sha in rows else rows.setdefault(sha, _commit_row(version.commit))
            if row is None:
                return
            versions.append((row, *_version_row(version)))
        records.append((rid, versions))
    if base is None:
        store.clear()
    else:
        for rid in set(base.entries) - set(index.records):
            store.discard(_record_name(rid))
    macs = {rid: store.put(_record_name(rid), versions) for rid, versions in records}
    kept = base.entries if base is not None else {}
    entries = {rid: macs[rid] if rid in macs else kept[rid] for rid in index.records}
    holders = {k: list(paths) for k, paths in state.holders.items()}
    state_mac = store.put(_STATE, (state.live, holders, state.names, state.lasts))
    landing = (last_landing[0], int(last_landing[1].timestamp()))
    store.put(_META, (_FORMAT, head, limits, chain, landing, window, entries, state_mac))
    store.save()


def _whole_seconds(moment: datetime) -> int | None:
    """``moment`` as Unix seconds, when that is exactly what it is (aware, UTC, whole)."""
    seconds = int(moment.timestamp())
    exact = datetime.fromtimestamp(seconds, UTC) == moment and moment.tzinfo is UTC
    return seconds if exact else None


def _commit_row(commit: Commit) -> tuple[Any, ...] | None:
    moments = (commit.authored_at, commit.committed_at, commit.landed_at)
    authored, committed, landed = (_whole_seconds(t) for t in moments)
    if authored is None or committed is None or landed is None:
        return None
    return (
        commit.sha,
        commit.author.name,
        commit.author.email,
        authored,
        commit.committer.name,
        commit.committer.email,
        committed,
        commit.landed_sha,
        landed,
        commit.signed,
        commit.subject,
        commit.date_note,
    )


def _version_row(version: Version) -> tuple[Any, ...]:
    return (
        version.path,
        version.blob,
        version.data,
        version.error,
        version.body,
        version.successor,
    )


class Damaged(Exception):
    """A cached record's entry failed its check while new commits were being applied."""


class _Source:
    """Where the cached records are decoded from (each commit made once, however many
    records it changed), and what replaces a record whose entry fails its check."""

    def __init__(self, store: FrameStore, entries: dict[str, bytes]) -> None:
        self.store = store
        self.entries = entries
        self.rebuild: Callable[[str], list[Version]] | None = None
        self._commits: dict[str, Commit] = {}
        self._people: dict[tuple[str, str], Identity] = {}
        self._times: dict[int, datetime] = {}
        self._lock = threading.Lock()
        self.decoded: set[str] = set()  # the records whose entries were read

    def versions(self, record_id: str) -> list[Version]:
        self.decoded.add(record_id)
        payload = self.store.take(_record_name(record_id), self.entries.get(record_id, b""))
        try:
            rows = marshal.loads(payload) if payload is not None else None
            if isinstance(rows, list):
                return [
                    Version(self._commit(row), path, blob, data, error, body, successor)
                    for row, path, blob, data, error, body, successor in rows
                ]
        except (EOFError, ValueError, TypeError):
            pass
        with self._lock:  # one full build, however many threads find the damage
            if self.rebuild is None:
                raise Damaged(record_id)
            return self.rebuild(record_id)

    def _commit(self, row: tuple[Any, ...]) -> Commit:
        found = self._commits.get(row[0])
        if found is None:
            sha, an, ae, at, cn, ce, ct, land, lt, signed, subject, note = row
            found = self._commits[sha] = Commit(
                sha=sha,
                author=self._person(an, ae),
                authored_at=self._time(at),
                committer=self._person(cn, ce),
                committed_at=self._time(ct),
                landed_sha=land,
                landed_at=self._time(lt),
                signed=signed,
                subject=subject,
                date_note=note,
            )
        return found

    def _person(self, name: str, email: str) -> Identity:
        found = self._people.get((name, email))
        if found is None:
            found = self._people[(name, email)] = Identity(name, email)
        return found

    def _time(self, seconds: int) -> datetime:
        found = self._times.get(seconds)
        if found is None:
            found = self._times[seconds] = datetime.fromtimestamp(seconds, UTC)
        return found


class _StoredHistory(RecordHistory):
    """A record's cached history, its versions checked and decoded when first read."""

    def __init__(self, record_id: str, source: _Source) -> None:
        self.record_id = record_id
        self._stored_as = record_id
        self._source = source
        self._versions: list[Version] | None = None

    @property
    def versions(self) -> list[Version]:
        if self._versions is None:
            self._versions = self._source.versions(self._stored_as)
        return self._versions

    @versions.setter
    def versions(self, value: list[Version]) -> None:
        self._versions = value

    def unchanged(self, record_id: str) -> bool:
        """Still as cached under ``record_id``: never decoded (so never changed) and
        not renamed."""
        return self._versions is None and self._stored_as == record_id == self.record_id
