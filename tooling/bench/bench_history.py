"""Benchmark: the history index on a generated repository of 10k records and 30k commits.

Prints, in one run:
  * the floor: one bare ``git log --raw`` pass over the same history;
  * the first full index (every cache empty), as a multiple of the floor, beside its goal
    (issue "scale and speed": within 2x the floor);
  * a second run after 100 new commits (warm cache: the assembled index cached by the first
    run is read, and only the new commits and their blobs are read from git and applied to
    it), beside its goal: 0.5 s plus the new commits' share of the first run, the
    share being ``first run x 100 / commits`` (the first run's cost per commit, times the
    100 new ones).

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

    share = first * 100 / int(commits)
    print(f"\n{commits} commits, {len(index.records)} records, {versions} versions")
    print(f"{'step':52} {'seconds':>8} {'x floor':>8}  goal")
    for label, seconds, goal in (
        ("floor: git log --raw over records/ and runbooks/", floor, ""),
        ("build_history, first run (every cache empty)", first, _goal(first, 2 * floor)),
        ("build_history after 100 new commits (warm cache)", second, _goal(second, 0.5 + share)),
    ):
        print(f"{label:52} {seconds:8.2f} {seconds / floor:8.2f}  {goal}")
    print(
        f"(100 new commits' share of the first run: {first:.2f} s x 100 / {commits} = "
        f"{share:.3f} s; their goal is 0.5 s plus that share)"
    )


def _goal(seconds: float, limit: float) -> str:
    return f"<= {limit:.2f} s: {'met' if seconds <= limit else 'NOT met'}"


if __name__ == "__main__":
    main()
