"""Benchmark: the history index on a generated repository of 10k records and 30k commits.

Prints, in one run:
  * the floor: one bare ``git log --raw`` pass over the same history;
  * the first full index (cold blob cache), as a multiple of the floor;
  * a second run after 100 new commits (warm cache: only the new blobs are read).

Run:  python tooling/bench/bench_history.py [--records 10000 --commits 30000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from floors import git_log_seconds

from opsledger.demo import generate_demo
from opsledger.history.index import build_history


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--commits", type=int, default=30_000)
    parser.add_argument("--keep", type=Path, default=None)
    args = parser.parse_args()
    base = args.keep or Path(tempfile.mkdtemp(prefix="opsledger-bench-"))
    root = base / f"history-{args.records}-{args.commits}"
    if not root.exists():
        start = time.perf_counter()
        generate_demo(root, records=args.records, commits=args.commits, seed=5)
        print(f"generated in {time.perf_counter() - start:.1f}s")
    cache = base / "history-cache"
    shutil.rmtree(cache, ignore_errors=True)
    os.environ["OPSLEDGER_CACHE_DIR"] = str(cache)
    commits = subprocess.run(
        ["git", "rev-list", "--count", "HEAD"], cwd=root, check=True, capture_output=True, text=True
    ).stdout.strip()

    floor = git_log_seconds(root)

    start = time.perf_counter()
    index = build_history(root)
    first = time.perf_counter() - start
    versions = sum(len(h.versions) for h in index.records.values())

    incidents = sorted((root / "records" / "incidents").rglob("*.yaml"))[:100]
    for n, path in enumerate(incidents):
        path.write_text(path.read_text() + f"category: bench-{n}\n")
        git(root, "add", str(path))
        git(
            root,
            "-c",
            "user.email=bench@example.com",
            "-c",
            "user.name=bench",
            "commit",
            "-q",
            "-m",
            f"bench {n}",
        )
    start = time.perf_counter()
    build_history(root)
    second = time.perf_counter() - start
    git(root, "reset", "-q", "--hard", "HEAD~100")

    print(f"\n{commits} commits, {len(index.records)} records, {versions} versions")
    print(f"{'step':52} {'seconds':>8} {'x floor':>8}")
    for label, seconds in (
        ("floor: git log --raw over records/ and runbooks/", floor),
        ("build_history, first run (cold blob cache)", first),
        ("build_history after 100 new commits (warm cache)", second),
    ):
        print(f"{label:52} {seconds:8.2f} {seconds / floor:8.2f}")


if __name__ == "__main__":
    main()
