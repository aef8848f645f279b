"""The history index's cache files, each entry carrying an integrity check.

The files live outside the repository (:func:`opsledger.cache.cache_dir`). Every entry
carries a MAC (keyed BLAKE2b) of the file's header (format, namespace: opsledger version,
limits), its name and its content, keyed by a random key kept in the repository's git
directory: a place no pull request writes and no CI cache restore brings
(:class:`opsledger.cache.FrameStore`). An entry that was edited, truncated or damaged, or
written for another repository (another key), fails its check and is discarded, never
trusted; the cache is then rewritten from what is still valid. The log cache is all or
nothing: its segments must chain from the first commit to an ancestor of HEAD, or it is
read afresh from git. Without a key (a git directory that cannot be written)
nothing is cached: a slower run, never a wrong one.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import tempfile
from pathlib import Path
from typing import Any

from opsledger import gitio
from opsledger.cache import FrameStore, cache_dir

KEY_FILE = "opsledger-cache.key"
_KEY = re.compile(rb"[0-9a-f]{64}\n?\Z")


def repository_key(root: Path) -> bytes | None:
    """This repository's cache key, created on first use; None when it cannot be kept."""
    git_dir = gitio.git_common_dir(root)
    if git_dir is None:
        return None
    path = git_dir / KEY_FILE
    existing = _read_key(path)
    if existing is not None:
        return existing
    try:
        fd, tmp = tempfile.mkstemp(dir=git_dir, prefix=".opsledger-key-")
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(secrets.token_hex(32) + "\n")
        try:
            os.link(tmp, path)  # publishes a complete key, or fails when one exists
        except FileExistsError:
            if _read_key(path) is None:  # a damaged key: replace it
                os.replace(tmp, path)
        finally:
            if os.path.lexists(tmp):
                os.unlink(tmp)
    except OSError:
        return None
    return _read_key(path)


def _read_key(path: Path) -> bytes | None:
    try:
        if path.is_symlink():
            return None
        raw = path.read_bytes()
    except OSError:
        return None
    return bytes.fromhex(raw.strip().decode("ascii")) if _KEY.match(raw) else None


def cache_file(root: Path, name: str, suffix: str) -> Path:
    """The cache file ``name`` of the repository at ``root``."""
    digest = hashlib.sha256(str(root).encode()).hexdigest()[:16]
    return cache_dir() / f"{name}-{digest}{suffix}"


def open_log(root: Path, namespace: str, key: bytes) -> LogCache:
    """The parsed-log cache of the repository at ``root``."""
    return LogCache(FrameStore(cache_file(root, "history-log", ".bin"), key, namespace))


class LogCache:
    """The parsed log in segments, in a :class:`~opsledger.cache.FrameStore`: each segment
    holds the commits between its ``base`` (None: from the first commit) and its ``head``,
    stored under a name made of its base, so the segments are found by following the chain
    from the first commit, each checked before it is read."""

    def __init__(self, store: FrameStore) -> None:
        self.store = store

    def chain(self) -> list[Any]:
        """The segments from the first commit on, each a ``(base, head, graph, log)``
        tuple, as far as they chain (a segment that fails its check ends the chain)."""
        segments: list[Any] = []
        base: str | None = None
        seen: set[str | None] = set()
        while base not in seen:
            seen.add(base)
            segment = self.store.get(_segment_name(base))
            if not isinstance(segment, tuple) or len(segment) != 4 or segment[0] != base:
                break
            segments.append(segment)
            base = segment[1]
        return segments

    def add(self, base: str | None, head: str, graph: Any, log: Any) -> None:
        self.store.put(_segment_name(base), (base, head, graph, log))

    def save(self) -> None:
        """Segments this run did not follow (of a rewritten history) are dropped."""
        self.store.save(compact=True)


def open_scoped(root: Path, namespace: str, key: bytes) -> ScopedCache:
    """The PR gate's cache of one scoped walk of the repository at ``root``."""
    return ScopedCache(FrameStore(cache_file(root, "history-scoped", ".bin"), key, namespace))


class ScopedCache:
    """The commit graph and the log of a pull request's paths up to a head (what the PR
    gate reads from git without main's cached index: the paths' log over every commit), in
    a :class:`~opsledger.cache.FrameStore`, by head and paths: both are functions of commit
    ids (and, for each commit's signature status, of this machine's trust setup, as in the
    log cache), so a gate run again at the same head on the same records (a CI job run
    again, a local run before committing) reads them back. Walks a run did not read are
    dropped once they outnumber those it read or wrote."""

    def __init__(self, store: FrameStore) -> None:
        self.store = store

    def get(self, head: str, paths: list[str]) -> Any:
        found = self.store.get(_scoped_name(head, paths))
        if not isinstance(found, tuple) or len(found) != 4 or found[:2] != (head, tuple(paths)):
            return None
        return found[2], found[3]

    def put(self, head: str, paths: list[str], graph: Any, log: Any) -> None:
        self.store.put(_scoped_name(head, paths), (head, tuple(paths), graph, log))

    def save(self) -> None:
        self.store.save(compact=True)


def _scoped_name(head: str, paths: list[str]) -> bytes:
    text = "\0".join([head, *paths])
    return hashlib.blake2b(
        text.encode("utf-8", "surrogateescape"), digest_size=32, person=b"scoped"
    ).digest()


def _segment_name(base: str | None) -> bytes:
    text = "" if base is None else base
    return hashlib.blake2b(text.encode("ascii"), digest_size=32, person=b"segment").digest()


def open_blobs(root: Path, namespace: str, key: bytes) -> BlobCache:
    """The parsed-blob cache of the repository at ``root``."""
    return BlobCache(FrameStore(cache_file(root, "history-blobs", ".bin"), key, namespace))


class BlobCache:
    """Parsed blob contents by blob id (``{"d": data, "b": body}`` or ``{"e": reason}``),
    in a :class:`~opsledger.cache.FrameStore`: each entry is checked and decoded only when
    its blob is asked for, so a pull-request gate that needs ten records' versions does not
    decode a cache of every version in the repository."""

    def __init__(self, store: FrameStore) -> None:
        self.store = store

    def get(self, blob: str) -> Any:
        """The cached entry of ``blob``, or None."""
        entry = self.store.get(_name(blob))
        if isinstance(entry, dict) and ("d" in entry or isinstance(entry.get("e"), str)):
            return entry
        return None

    def put(self, blob: str, entry: Any) -> None:
        self.store.put(_name(blob), entry)

    def save(self, *, compact: bool) -> None:
        """``compact``: this run read the whole history, so entries it did not use (blobs
        of a rewritten history) are dropped when they outnumber the rest."""
        self.store.save(compact=compact)


def _name(blob: str) -> bytes:
    return hashlib.blake2b(blob.encode("ascii"), digest_size=32, person=b"blob").digest()
