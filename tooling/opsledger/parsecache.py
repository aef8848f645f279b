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
from pathlib import Path
from typing import Any

from opsledger import __version__
from opsledger.cache import FrameStore, cache_dir
from opsledger.loading import Document, Limits, LoadError, yamlstrict


def digest(raw: bytes, *, markdown: bool) -> bytes:
    """The key of a file's content (Markdown and YAML records parse differently)."""
    return hashlib.blake2b(raw, digest_size=32, person=b"md" if markdown else b"yaml").digest()


class ParseCache:
    """Parsed records by content digest, for one repository and one set of limits."""

    def __init__(self, path: Path, key: bytes, limits: Limits) -> None:
        namespace = (
            f"records {__version__} {yamlstrict.DEFAULT_PARSER} "
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

    def put(self, content: bytes, result: Document | LoadError) -> None:
        self.store.put(content, _encode(result))

    def save(self) -> None:
        """A full load read every record: entries for files no longer there are dropped
        when they outnumber the live ones."""
        self.store.save(compact=True)


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
