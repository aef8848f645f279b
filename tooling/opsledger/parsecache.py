"""Parsed working-tree records, cached by their content.

A full load (audit, KPIs, site) parses every record file; strict parsing with positions
costs about three times what libyaml's C loader alone takes, and almost every file is the
same as on the previous run. So the result of :func:`opsledger.loading.load_bytes` — the
data, every value's and key's position, the Markdown body, or the :class:`LoadError` — is
kept by a digest of the file's bytes, and read back on the next run.

Trust, as for the history cache: the file lives outside the repository, and each entry is
checked against the repository's private key before it is read (:class:`opsledger.cache.
FrameStore`, whose namespace here names the opsledger and Python versions, the parser and
the limits). An entry that fails its check is never read: the file is parsed afresh.
Without a key (no git, a git directory that cannot be written) nothing is cached: a slower
run, never a different one.
"""

from __future__ import annotations

import hashlib
import marshal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from opsledger import __version__
from opsledger.cache import FrameStore, cache_dir
from opsledger.loading import DataPath, Document, Limits, LoadError, yamlstrict
from opsledger.loading.yamlstrict import Pos


def digest(raw: bytes, *, markdown: bool) -> bytes:
    """The key of a file's content (Markdown and YAML records parse differently)."""
    return hashlib.blake2b(raw, digest_size=32, person=b"md" if markdown else b"yaml").digest()


class ParseCache:
    """Parsed records by content digest, for one repository and one set of limits."""

    #: the key of a file's content (:func:`digest`)
    digest = staticmethod(digest)

    def __init__(self, path: Path, key: bytes, limits: Limits) -> None:
        namespace = (
            f"records {__version__} packed-positions {yamlstrict.DEFAULT_PARSER} "
            f"strict{yamlstrict.STRICTNESS} "
            f"{limits.max_file_bytes} {limits.max_depth}"
        )
        self.store = FrameStore(path, key, namespace)

    def get(self, content: bytes) -> Document | LoadError | None:
        """The parse of the file whose digest is ``content``, or None when not cached."""
        item = self.store.get(content)
        if item is None:
            return None
        try:
            return _decode(item)
        except (TypeError, ValueError):  # cannot happen to an entry that passed its MAC
            return None

    def put(self, content: bytes, result: Document | LoadError) -> Document | LoadError:
        """Keep ``result``; return it as the next run reads it back (positions packed), so
        a first run holds no more than a warm one."""
        item = _encode(result)
        self.store.put(content, item)
        return _decode(item)

    def save(self, *, compact: bool = True) -> None:
        """Append the new entries. ``compact``: the run read every record (a full load),
        so entries for files no longer there are dropped when they outnumber the live
        ones. A partial load drops nothing: it only appends to a whole file written under
        the same limits and version, and leaves any other (damaged, or another run's: a
        pull request that changes the limits) for the next full load to rewrite."""
        store = self.store
        if compact or not store.damaged or not store.path.exists():
            store.save(compact=compact)


class Positions(dict[DataPath, Pos]):
    """The positions of a cached parse, read back only when one is asked for that is not
    at hand: a position is wanted for a finding, and unpacked the positions are most of
    a loaded record's memory (10^5 imported incidents: about 0.9 of 2.6 GB). The
    record's ``id`` (which every load reads) and the document's own position are at hand
    from the start; a lookup of anything else unpacks the rest first."""

    __slots__ = ("_packed",)

    def __init__(self, packed: bytes, at_hand: dict[DataPath, Pos]) -> None:
        super().__init__(at_hand)
        self._packed: bytes | None = packed

    def _unpack(self) -> None:
        if self._packed is not None:
            packed, self._packed = self._packed, None
            super().update(marshal.loads(packed))

    def __contains__(self, path: object) -> bool:
        if super().__contains__(path):
            return True
        self._unpack()
        return super().__contains__(path)

    def __getitem__(self, path: DataPath) -> Pos:
        if not super().__contains__(path):
            self._unpack()
        return super().__getitem__(path)

    def get(self, path: DataPath, default: Any = None) -> Any:
        if not super().__contains__(path):
            self._unpack()
        return super().get(path, default)

    def __iter__(self) -> Iterator[DataPath]:
        self._unpack()
        return super().__iter__()

    def __len__(self) -> int:
        self._unpack()
        return super().__len__()

    def keys(self) -> Any:
        self._unpack()
        return super().keys()

    def values(self) -> Any:
        self._unpack()
        return super().values()

    def items(self) -> Any:
        self._unpack()
        return super().items()

    def __eq__(self, other: object) -> bool:
        self._unpack()
        return dict(super().items()) == other

    __hash__ = None

    def __repr__(self) -> str:
        self._unpack()
        return super().__repr__()


#: positions kept unpacked in a cached parse (see :class:`Positions`)
AT_HAND: tuple[DataPath, ...] = ((), ("id",))


def _encode(result: Document | LoadError) -> tuple[Any, ...]:
    if isinstance(result, LoadError):
        return ("e", result.message, result.line, result.column, result.hint)
    values = dict(result.values.items())
    at_hand = {p: values[p] for p in AT_HAND if p in values}
    keys = marshal.dumps(dict(result.keys.items()))
    return ("p", result.data, at_hand, marshal.dumps(values), keys, result.body, result.body_line)


def _decode(item: Any) -> Document | LoadError:
    if not isinstance(item, tuple) or not item:
        raise ValueError("not a cache entry")
    if item[0] == "e":
        _, message, line, column, hint = item
        return LoadError(message, line, column, hint=hint)
    if item[0] != "p":
        raise ValueError("not a cache entry")
    _, data, at_hand, values, keys, body, body_line = item
    if not (isinstance(at_hand, dict) and isinstance(values, bytes) and isinstance(keys, bytes)):
        raise ValueError("not a cache entry")
    return Document(
        data, Positions(values, at_hand), Positions(keys, {}), body=body, body_line=body_line
    )


def open_cache(root: Path, limits: Limits) -> ParseCache | None:
    """The parse cache of the repository at ``root``, or None when it has no key."""
    from opsledger.history.store import repository_key  # git only when a cache is wanted

    key = repository_key(root)
    if key is None:
        return None
    name = hashlib.sha256(str(root).encode()).hexdigest()[:16]
    return ParseCache(cache_dir() / f"records-{name}.bin", key, limits)
