"""Where opsledger keeps its caches: outside the repository, so a pull request cannot plant
one. ``$OPSLEDGER_CACHE_DIR``, else ``$XDG_CACHE_HOME/opsledger``, else ``~/.cache/opsledger``.

(The history index caches parsed blob versions by blob id and the parsed log by commit
there; a full load caches each parsed working-tree record by a digest of its bytes. Every
entry is checked against a key kept in the repository's git directory, so an edited,
damaged or foreign cache is discarded: :mod:`opsledger.history.store`,
:mod:`opsledger.parsecache`.)
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
