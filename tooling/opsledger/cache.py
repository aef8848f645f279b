"""Where opsledger keeps its caches: outside the repository, so a pull request cannot plant
one. ``$OPSLEDGER_CACHE_DIR``, else ``$XDG_CACHE_HOME/opsledger``, else ``~/.cache/opsledger``.

(The history index caches parsed blob versions by blob id and the parsed log by commit
there; a full load caches each parsed working-tree record by a digest of its bytes. Every
entry is checked against a key kept in the repository's git directory, so an edited,
damaged or foreign cache is discarded: :mod:`opsledger.history.store`,
:mod:`opsledger.parsecache`.)
"""

from __future__ import annotations

import hashlib
import hmac
import marshal
import os
import stat
import struct
import sys
import tempfile
from pathlib import Path
from typing import Any, NamedTuple


def cache_dir() -> Path:
    explicit = os.environ.get("OPSLEDGER_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "opsledger"


class Frame(NamedTuple):
    """One cache entry: its MAC, its name (32 bytes: a digest of what it is about) and the
    marshalled value (a view into the file read, not a copy)."""

    mac: bytes
    name: bytes
    payload: bytes | memoryview


_FRAME = struct.Struct(">32sI32s")  # MAC, payload length, name


#: no cache file of ours is larger; a larger one (or /dev/zero behind a link) is not read
MAX_CACHE_BYTES = 4 << 30


def read_cache_file(path: Path) -> bytes | None:
    """The bytes of the cache file at ``path``, or None when it is missing, not a regular
    file (a link, a FIFO, a device: never opened through, never waited on) or over
    :data:`MAX_CACHE_BYTES`. A cache that cannot be read is only a slower run."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_CACHE_BYTES:
            return None
        # read what fstat saw (a read of the limit would reserve the limit's memory first),
        # plus one byte: a file that grew meanwhile is being written; it is not read
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(info.st_size + 1)
        return data if len(data) == info.st_size else None
    except OSError:
        return None
    finally:
        os.close(fd)


def read_frames(path: Path, header: bytes) -> tuple[list[Frame], bool]:
    """The frames of the cache file at ``path`` written under ``header``, and whether the
    file is whole (False: missing, another header, or a torn tail — rewrite it)."""
    raw = read_cache_file(path)
    if raw is None or not raw.startswith(header):
        return [], False
    frames: list[Frame] = []
    view = memoryview(raw)
    at, size, end = len(header), _FRAME.size, len(raw)
    unpack = _FRAME.unpack_from
    while at + size <= end:
        mac, length, name = unpack(raw, at)
        at += size
        if at + length > end:
            return frames, False
        frames.append(Frame(mac, name, view[at : at + length]))
        at += length
    return frames, at == end


def frame_bytes(frames: list[Frame]) -> bytes:
    return b"".join(_FRAME.pack(f.mac, len(f.payload), f.name) + f.payload for f in frames)


class FrameStore:
    """A cache file of named entries, each checked before it is read.

    The file is a header line (the format and ``namespace``: what wrote it, with which
    limits) and frames ``MAC | length | name | payload``. The MAC is a keyed BLAKE2b over
    the header, the name and the payload, keyed by the repository's private key (kept in
    its git directory: :func:`opsledger.history.store.repository_key`). An entry is checked,
    then decoded with :mod:`marshal`, only when its name is asked for: nothing but this tool,
    holding this repository's key, wrote a payload that passes. An entry that fails (edited,
    torn, renamed, written for another repository or version) is never read, and the file is
    rewritten from the entries that pass. A file that cannot be written is only a slower run.
    """

    def __init__(self, path: Path, key: bytes, namespace: str) -> None:
        self.path = path
        self._key = key
        # marshal's format belongs to the Python version: part of what wrote the file
        python = f"py{sys.version_info[0]}.{sys.version_info[1]} marshal{marshal.version}"
        self._header = f"opsledger cache v1 {python} {namespace}\n".encode()
        frames, whole = read_frames(path, self._header)
        self._frames = {f.name: f for f in frames}
        # bytes of the file that no entry holds any more (entries written again since)
        self._superseded = sum(_FRAME.size + len(f.payload) for f in frames) - sum(
            _FRAME.size + len(f.payload) for f in self._frames.values()
        )
        self._used: dict[bytes, Frame] = {}
        self._new: dict[bytes, Frame] = {}
        self.damaged = not whole  # rewrite on save

    def _mac(self, name: bytes, payload: bytes | memoryview) -> bytes:
        check = hashlib.blake2b(self._header, key=self._key, digest_size=32)
        check.update(name)
        check.update(payload)
        return check.digest()

    def get(self, name: bytes, mac: bytes | None = None) -> Any:
        """The value stored under ``name``, or None (not cached, or its check failed);
        ``mac``: see :meth:`checked`."""
        payload = self.checked(name, mac)
        if payload is None:
            return None
        try:
            return marshal.loads(payload)
        except (EOFError, ValueError, TypeError):
            self._used.pop(name, None)
            self.damaged = True
            return None

    def checked(self, name: bytes, mac: bytes | None = None) -> bytes | memoryview | None:
        """The marshalled payload stored under ``name`` once it passed its check, not
        decoded (None: not cached, or its check failed): for a caller that checks every
        entry it relies on first and decodes each only when it is needed. With ``mac``,
        only the entry :meth:`put` returned that MAC for: entries that depend on each
        other name each other's MACs, so an older entry (still in the file, with a valid
        MAC) moved after a newer one, or entries of two runs appending at once, are never
        read together."""
        frame = self._used.get(name)
        if frame is None:
            frame = self._frames.pop(name, None)
            if frame is None:
                return None
            if not hmac.compare_digest(frame.mac, self._mac(name, frame.payload)):
                self.damaged = True
                return None
            self._used[name] = frame
        if mac is not None and not hmac.compare_digest(frame.mac, mac):
            return None
        return frame.payload

    def take(self, name: bytes, mac: bytes | None = None) -> bytes | memoryview | None:
        """:meth:`checked`, the entry then forgotten by this store (a rewrite of the file
        leaves it out unless it is put again): for a reader that decodes each entry once
        and keeps what it decoded, so the bytes read are freed once every entry is taken."""
        payload = self.checked(name, mac)
        taken = self._used.pop(name, None)
        if taken is not None and name not in self._new:  # not in the file once rewritten
            self._superseded += _FRAME.size + len(taken.payload)
        return payload

    def put(self, name: bytes, value: Any) -> bytes:
        """Store ``value`` under ``name``; its entry's MAC (see :meth:`checked`)."""
        payload = marshal.dumps(value)
        frame = Frame(self._mac(name, payload), name, payload)
        self.discard(name)
        self._new[name] = frame
        self._used[name] = frame
        return frame.mac

    def discard(self, name: bytes) -> None:
        """Forget the entry under ``name`` (its bytes leave the file when it is next
        rewritten)."""
        unwritten = self._new.pop(name, None)
        for table in (self._frames, self._used):
            gone = table.pop(name, None)
            if gone is not None and gone is not unwritten:
                self._superseded += _FRAME.size + len(gone.payload)

    def clear(self) -> None:
        """Forget every entry: the next save writes the file afresh."""
        self._frames, self._used, self._new = {}, {}, {}
        self.damaged = True

    def save(self, *, compact: bool = False) -> None:
        """Append the new entries. Rewrite the file with only the entries this run read or
        wrote when it was damaged, or, with ``compact`` (a run that read everything it
        needs: a full load), when most of it was not used."""
        stale = compact and len(self._frames) > len(self._used)
        held = (*self._frames.values(), *self._used.values())
        live = sum(_FRAME.size + len(f.payload) for f in held)
        # entries written again (or forgotten) leave their old bytes behind: rewrite the
        # file once those outweigh what it holds
        bloated = self._superseded > live
        if not (self._new or self.damaged or stale or bloated):
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self.damaged or stale or bloated or not self.path.exists():
                kept = self._used if (self.damaged and compact) or stale else None
                frames = list(kept.values()) if kept is not None else self._passing()
                fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".tmp-")
                with os.fdopen(fd, "wb") as handle:
                    handle.write(self._header + frame_bytes(frames))
                os.replace(tmp, self.path)
            else:
                with self.path.open("ab") as handle:
                    handle.write(frame_bytes(list(self._new.values())))
        except OSError:
            return
        if self.damaged or stale or bloated:
            self._superseded = 0
        self._new, self.damaged = {}, False

    def _passing(self) -> list[Frame]:
        """Every entry that passes its check: the used ones and the unread ones."""
        unread = [
            f
            for f in self._frames.values()
            if hmac.compare_digest(f.mac, self._mac(f.name, f.payload))
        ]
        return unread + list(self._used.values())
