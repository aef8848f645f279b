"""Where opsledger keeps its caches: outside the repository, so a pull request cannot plant
one. ``$OPSLEDGER_CACHE_DIR``, else ``$XDG_CACHE_HOME/opsledger``, else ``~/.cache/opsledger``.

(The history index caches parsed blob versions by blob id and the parsed log by commit
there, every line checked against a key kept in the repository's git directory, so an
edited, damaged or foreign cache is discarded: :mod:`opsledger.history.store`. Working-tree
records are not cached: with the jsonschema-rs fast path, reading a record afresh costs no
more than reading it back from a cache.)
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    explicit = os.environ.get("OPSLEDGER_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "opsledger"
