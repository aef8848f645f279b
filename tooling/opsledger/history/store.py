"""The history index's cache files, each line carrying an integrity check.

The files live outside the repository (:func:`opsledger.cache.cache_dir`). Every line
carries a MAC (keyed BLAKE2b) of the cache's name, its namespace (opsledger version,
limits) and the line's JSON, keyed by a random key kept in the repository's git
directory: a place no pull request writes and no CI cache restore brings. A line that was
edited, truncated or damaged, or written for another repository (another key), fails its
check and is discarded, never trusted; the cache is then rewritten from what is still
valid. The log cache is all or nothing: its segments must chain from the first commit, or
it is read afresh from git. Without a key (a git directory that cannot be written)
nothing is cached: a slower run, never a wrong one.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import tempfile
from pathlib import Path
from typing import Any

from opsledger import gitio
from opsledger.cache import FrameStore, cache_dir, read_cache_file

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


class JsonLines:
    """An append-only cache file: a namespace line, then one checked JSON value per line.

    A run appends only what it learned; a different namespace (another opsledger version or
    limits) starts the file afresh. ``damaged`` counts the lines that failed their check
    (edited, torn, foreign): they are dropped and the file is rewritten on the next save."""

    def __init__(self, path: Path, name: str, namespace: str, key: bytes) -> None:
        self.path = path
        self.namespace = namespace
        self._prefix = f"{name}\0{namespace}\0".encode()
        self._key = key
        self.items: list[Any] = []
        self.pending: list[Any] = []
        self.fresh = True
        self.damaged = 0
        raw = read_cache_file(path)
        lines = raw.decode("utf-8", "replace").splitlines(keepends=True) if raw else []
        try:
            if lines and json.loads(lines[0]) == {"namespace": namespace}:
                self.fresh = False
                for line in lines[1:]:
                    item = self._verified(line)
                    if item is None:
                        self.damaged += 1
                    else:
                        self.items.append(item[0])
        except (ValueError, RecursionError):  # a header line no run of ours wrote
            self.items, self.fresh = [], True
        if self.damaged:
            self.fresh = True  # rewrite without the damaged lines

    def _mac(self, text: str) -> str:
        data = self._prefix + text.encode()
        return hashlib.blake2b(data, key=self._key, digest_size=32).hexdigest()

    def _verified(self, line: str) -> tuple[Any] | None:
        mac, _, text = line.rstrip("\n").partition(" ")
        if not hmac.compare_digest(mac.encode(), self._mac(text).encode()):
            return None
        try:
            return (json.loads(text),)
        except ValueError:
            return None

    def add(self, item: Any) -> None:
        self.items.append(item)
        self.pending.append(item)

    def reset(self) -> None:
        self.items, self.pending, self.fresh = [], [], True

    def _line(self, item: Any) -> str:
        text = json.dumps(item, separators=(",", ":"))
        return f"{self._mac(text)} {text}\n"

    def save(self) -> None:
        if not self.pending and not self.fresh:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self.fresh:
                header = json.dumps({"namespace": self.namespace}) + "\n"
                fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".tmp-")
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(header + "".join(self._line(i) for i in self.items))
                os.replace(tmp, self.path)
            else:
                with self.path.open("a", encoding="utf-8") as handle:
                    handle.write("".join(self._line(i) for i in self.pending))
            self.pending, self.fresh, self.damaged = [], False, 0
        except OSError:
            pass  # a cache that cannot be written is only a slower run


def _file(root: Path, name: str, suffix: str) -> Path:
    digest = hashlib.sha256(str(root).encode()).hexdigest()[:16]
    return cache_dir() / f"{name}-{digest}{suffix}"


def open_store(root: Path, name: str, namespace: str, key: bytes) -> JsonLines:
    """The cache file ``name`` of the repository at ``root``."""
    return JsonLines(_file(root, name, ".jsonl"), name, namespace, key)


def open_blobs(root: Path, namespace: str, key: bytes) -> BlobCache:
    """The parsed-blob cache of the repository at ``root``."""
    return BlobCache(FrameStore(_file(root, "history-blobs", ".bin"), key, namespace))


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
