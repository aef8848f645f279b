"""Parsed working-tree records, cached by their content.

A full load (audit, KPIs, site) parses every record file; strict parsing with positions
costs about three times what libyaml's C loader alone takes, and almost every file is the
same as on the previous run. So the result of :func:`opsledger.loading.load_bytes` — the
data, every value's and key's position, the Markdown body, or the :class:`LoadError` — is
kept by a digest of the file's bytes, and read back on the next run.

Trust, as for the history cache (:mod:`opsledger.history.store`): the file lives outside
the repository (:func:`opsledger.cache.cache_dir`), and each entry carries a keyed BLAKE2b
MAC over the namespace (opsledger and Python versions, parser, limits), the content digest
and the payload, keyed by the repository's private key in its git directory. An entry that
fails its check (edited, torn, written for another repository or version) is never read:
the file is parsed afresh and the cache rewritten. The payload is read with :mod:`marshal`
only after its MAC has passed: nothing but this tool, with this repository's key, wrote
it. Without a key (no git, a git directory that cannot be written) nothing is cached: a
slower run, never a different one.

Entries are checked and decoded only when their file is read; a save appends the new
entries, or rewrites the file with only the entries this run used when most were stale.
"""

from __future__ import annotations

import hashlib
import hmac
import marshal
import os
import struct
import sys
import tempfile
from pathlib import Path
from typing import Any

from opsledger import __version__
from opsledger.cache import cache_dir
from opsledger.loading import Document, Limits, LoadError, yamlstrict

_MAGIC = b"opsledger parsed records\n"
_FRAME = struct.Struct(">32sI32s")  # MAC, payload length, content digest


def digest(raw: bytes, *, markdown: bool) -> bytes:
    """The key of a file's content (Markdown and YAML records parse differently)."""
    return hashlib.blake2b(raw, digest_size=32, person=b"md" if markdown else b"yaml").digest()


class ParseCache:
    """Parsed records by content digest, for one repository and one set of limits."""

    def __init__(self, path: Path, key: bytes, limits: Limits) -> None:
        self.path = path
        self._key = key
        namespace = (
            f"{__version__}:{sys.version_info[0]}.{sys.version_info[1]}:{marshal.version}:"
            f"{yamlstrict.DEFAULT_PARSER}:{limits.max_file_bytes}:{limits.max_depth}"
        )
        self._header = _MAGIC + namespace.encode() + b"\n"
        self._frames: dict[bytes, tuple[bytes, bytes]] = {}  # digest -> (mac, payload)
        self._used: dict[bytes, tuple[bytes, bytes]] = {}
        self._new: list[tuple[bytes, bytes, bytes]] = []
        self._rewrite = True
        self._read()

    def _read(self) -> None:
        try:
            raw = self.path.read_bytes()
        except OSError:
            return
        if not raw.startswith(self._header):
            return  # another version or set of limits: start afresh
        at = len(self._header)
        while at + _FRAME.size <= len(raw):
            mac, length, content = _FRAME.unpack_from(raw, at)
            at += _FRAME.size
            if at + length > len(raw):
                return  # a torn tail: rewrite
            self._frames[content] = (mac, raw[at : at + length])
            at += length
        self._rewrite = at != len(raw)

    def _mac(self, content: bytes, payload: bytes) -> bytes:
        data = self._header + content + payload
        return hashlib.blake2b(data, key=self._key, digest_size=32).digest()

    def get(self, content: bytes) -> Document | LoadError | None:
        """The parse of the file whose digest is ``content``, or None when not cached."""
        frame = self._frames.pop(content, None)
        if frame is None:
            return None
        mac, payload = frame
        if not hmac.compare_digest(mac, self._mac(content, payload)):
            self._rewrite = True  # a damaged or foreign entry: never read
            return None
        try:
            result = _decode(marshal.loads(payload))
        except (EOFError, ValueError, TypeError):
            self._rewrite = True
            return None
        self._used[content] = frame
        return result

    def put(self, content: bytes, result: Document | LoadError) -> None:
        payload = marshal.dumps(_encode(result))
        entry = (content, self._mac(content, payload), payload)
        self._new.append(entry)
        self._used[content] = entry[1:]

    def save(self) -> None:
        """Append what this run parsed; rewrite when the file was damaged or mostly stale."""
        stale = len(self._frames)
        if not self._new and not self._rewrite and stale <= len(self._used):
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self._rewrite or stale > len(self._used):
                frames = [(c, m, p) for c, (m, p) in self._used.items()]
                fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".tmp-")
                with os.fdopen(fd, "wb") as handle:
                    handle.write(self._header + b"".join(_frame(*f) for f in frames))
                os.replace(tmp, self.path)
            else:
                with self.path.open("ab") as handle:
                    handle.write(b"".join(_frame(*f) for f in self._new))
        except OSError:
            return  # a cache that cannot be written is only a slower run
        self._new, self._rewrite = [], False


def _frame(content: bytes, mac: bytes, payload: bytes) -> bytes:
    return _FRAME.pack(mac, len(payload), content) + payload


def _encode(result: Document | LoadError) -> tuple[Any, ...]:
    if isinstance(result, LoadError):
        return ("e", result.message, result.line, result.column, result.hint)
    return ("d", result.data, result.values, result.keys, result.body, result.body_line)


def _decode(item: Any) -> Document | LoadError:
    if not isinstance(item, tuple) or not item:
        raise ValueError("not a cache entry")
    if item[0] == "e":
        _, message, line, column, hint = item
        return LoadError(message, line, column, hint=hint)
    _, data, values, keys, body, body_line = item
    return Document(data, values, keys, body=body, body_line=body_line)


def open_cache(root: Path, limits: Limits) -> ParseCache | None:
    """The parse cache of the repository at ``root``, or None when it has no key."""
    from opsledger.history.store import repository_key  # git only when a cache is wanted

    key = repository_key(root)
    if key is None:
        return None
    name = hashlib.sha256(str(root).encode()).hexdigest()[:16]
    return ParseCache(cache_dir() / f"records-{name}.bin", key, limits)
