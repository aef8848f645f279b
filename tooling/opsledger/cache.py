"""A content-addressed cache of loaded records: parsed document plus schema problems.

Keyed by the SHA-256 of the record kind and the file's bytes, within a namespace derived
from everything else that could change the result (opsledger's version, the schemas'
digest, the loading limits, the YAML parser). A changed byte, schema or limit means a miss,
so the cache can never be wrong; it only saves the work.

It is stored as JSON (never pickle) outside the repository, under ``$OPSLEDGER_CACHE_DIR``,
else ``$XDG_CACHE_HOME/opsledger``, else ``~/.cache/opsledger``, so a pull request cannot
plant a cache file. Each run rewrites the file with the entries it used (old ones fall away).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from opsledger import __version__
from opsledger.loading import Document

Entry = tuple[Document | None, list[list[Any]]]


def cache_dir() -> Path:
    explicit = os.environ.get("OPSLEDGER_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "opsledger"


def _encode_doc(doc: Document) -> dict[str, Any]:
    return {
        "d": doc.data,
        "v": [[list(p), line, col] for p, (line, col) in doc.values.items()],
        "k": [[list(p), line, col] for p, (line, col) in doc.keys.items()],
        "b": doc.body,
        "bl": doc.body_line,
    }


def _decode_doc(raw: dict[str, Any]) -> Document:
    return Document(
        raw["d"],
        {tuple(p): (line, col) for p, line, col in raw["v"]},
        {tuple(p): (line, col) for p, line, col in raw["k"]},
        body=raw["b"],
        body_line=raw["bl"],
    )


class RecordCache:
    """Load once per run with :meth:`open`; :meth:`save` at the end."""

    def __init__(self, path: Path | None, namespace: str) -> None:
        self.path = path
        self.namespace = namespace
        self._old: dict[str, Any] = {}
        self._used: dict[str, Any] = {}
        self.hits = 0
        self.misses = 0

    @classmethod
    def open(cls, root: Path, *parts: str) -> RecordCache:
        namespace = hashlib.sha256("\0".join((__version__, *parts)).encode()).hexdigest()
        repo_key = hashlib.sha256(str(root).encode()).hexdigest()[:16]
        path = cache_dir() / f"records-{repo_key}.json"
        cache = cls(path, namespace)
        try:
            stored = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(stored, dict) and stored.get("namespace") == namespace:
                cache._old = stored.get("entries", {})
        except (OSError, ValueError):
            pass  # no cache yet, or unreadable: start empty
        return cache

    @staticmethod
    def key(kind: str, raw: bytes) -> str:
        return hashlib.sha256(kind.encode() + b"\0" + raw).hexdigest()

    def get(self, key: str) -> Entry | None:
        raw = self._old.get(key) or self._used.get(key)
        if raw is None:
            self.misses += 1
            return None
        try:
            doc = _decode_doc(raw["doc"]) if raw["doc"] is not None else None
            problems = raw["problems"]
        except (KeyError, TypeError, ValueError):
            self.misses += 1
            return None
        self._used[key] = raw
        self.hits += 1
        return doc, problems

    def put(self, key: str, doc: Document | None, problems: list[list[Any]]) -> None:
        if self.path is None:  # caching disabled: nothing to keep
            return
        self._used[key] = {
            "doc": _encode_doc(doc) if doc is not None else None,
            "problems": problems,
        }

    def save(self) -> None:
        if self.path is None or (self.misses == 0 and len(self._used) == len(self._old)):
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".records-")
            # json.dumps (not json.dump) so the C encoder does the work
            text = json.dumps(
                {"namespace": self.namespace, "entries": self._used}, separators=(",", ":")
            )
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.replace(tmp, self.path)
        except OSError:
            pass  # a cache that cannot be written is only a slower run
