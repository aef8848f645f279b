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
from opsledger.cache import cache_dir

KEY_FILE = "opsledger-cache.key"
_KEY = re.compile(rb"[0-9a-f]{64}\n?\Z")
_BLOB = re.compile(r"[0-9a-f]{40}([0-9a-f]{24})?\Z")
_LINE_BLOB = re.compile(r"[0-9a-f]{64} \[\"([0-9a-f]{40}(?:[0-9a-f]{24})?)\",")


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

    def __init__(
        self, path: Path, name: str, namespace: str, key: bytes, *, lazy: bool = False
    ) -> None:
        self.path = path
        self.namespace = namespace
        self._prefix = f"{name}\0{namespace}\0".encode()
        self._key = key
        self.items: list[Any] = []
        self.lines: list[str] = []  # lazy: the lines as read, each checked when used
        self.pending: list[Any] = []
        self.fresh = True
        self.damaged = 0
        try:
            with path.open(encoding="utf-8", errors="replace") as handle:
                if json.loads(handle.readline()) == {"namespace": namespace}:
                    self.fresh = False
                    if lazy:
                        self.lines = handle.readlines()
                    for line in () if lazy else handle:
                        item = self.verified(line)
                        if item is None:
                            self.damaged += 1
                        else:
                            self.items.append(item[0])
        except (OSError, ValueError):
            pass
        if self.damaged:
            self.fresh = True  # rewrite without the damaged lines

    def _mac(self, text: str) -> str:
        data = self._prefix + text.encode()
        return hashlib.blake2b(data, key=self._key, digest_size=32).hexdigest()

    def verified(self, line: str) -> tuple[Any] | None:
        """The value of ``line`` in a 1-tuple, or None when it fails its check."""
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


def open_store(
    root: Path, name: str, namespace: str, key: bytes, *, lazy: bool = False
) -> JsonLines:
    """The cache file ``name`` of the repository at ``root`` (``lazy``: lines are kept as
    read and checked when used, see :class:`BlobCache`)."""
    digest = hashlib.sha256(str(root).encode()).hexdigest()[:16]
    return JsonLines(cache_dir() / f"{name}-{digest}.jsonl", name, namespace, key, lazy=lazy)


class BlobCache:
    """Parsed blob contents by blob id (``{"d": data, "b": body}`` or ``{"e": reason}``).

    Lines are indexed by the blob id they start with and checked and parsed only when that
    blob is asked for: a pull-request gate that needs ten records' versions does not parse
    a cache of every version in the repository. A line that fails its check when used (or
    that names no blob) is dropped and the file rewritten from the lines that pass."""

    def __init__(self, store: JsonLines) -> None:
        self.store = store
        self._lines: dict[str, str] = {}
        self._parsed: dict[str, Any] = {}
        for line in store.lines:
            found = _LINE_BLOB.match(line)
            if found is None:
                self._damaged()
            else:
                self._lines[found[1]] = line
        for item in store.items:  # a store read eagerly
            self._accept(item)

    def _damaged(self) -> None:
        self.store.damaged += 1
        self.store.fresh = True

    def _accept(self, item: Any) -> Any:
        if (
            isinstance(item, list)
            and len(item) == 2
            and isinstance(item[0], str)
            and _BLOB.match(item[0])
            and isinstance(item[1], dict)
            and ("d" in item[1] or isinstance(item[1].get("e"), str))
        ):
            self._parsed[item[0]] = item[1]
            return item[1]
        self._damaged()
        return None

    def get(self, blob: str) -> Any:
        """The cached entry of ``blob``, or None (not cached, or its line failed)."""
        if blob in self._parsed:
            return self._parsed[blob]
        line = self._lines.pop(blob, None)
        if line is None:
            return None
        item = self.store.verified(line)
        if item is None or not isinstance(item[0], list) or item[0][:1] != [blob]:
            self._damaged()
            return None
        return self._accept(item[0])

    def put(self, blob: str, entry: Any) -> None:
        self._parsed[blob] = entry
        self._lines.pop(blob, None)
        self.store.add([blob, entry])

    def save(self) -> None:
        if self.store.fresh:  # rewriting: every line still unread is checked now
            for blob in list(self._lines):
                self.get(blob)
            self.store.items = [[blob, entry] for blob, entry in self._parsed.items()]
        self.store.save()
