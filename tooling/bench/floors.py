"""Floors the benchmarks print their figures against (imported by the bench scripts, which
run with this folder first on the path)."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path


def git_log_seconds(root: Path) -> float:
    """One bare ``git log --raw`` over the record folders: the history's floor."""
    start = time.perf_counter()
    with open(os.devnull, "wb") as sink:
        subprocess.run(
            ["git", "log", "--raw", "--no-abbrev", "--", "records", "runbooks"],
            cwd=root,
            check=True,
            stdout=sink,
        )
    return time.perf_counter() - start
