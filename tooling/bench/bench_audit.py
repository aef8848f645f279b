"""Benchmark: the full audit and the pull-request gate on a generated 10k-record repository.

Prints, in one run on the same machine:
  * the floor: reading every record and parsing it with libyaml's C loader alone;
  * ``opsledger audit`` over the whole repository, first run (empty opsledger cache: the
    history index is built from scratch) and second run (wall time of the real command,
    process start included), as a multiple of the floor;
  * the PR gate: ``opsledger audit --changed-since main`` after 10 records changed on a
    branch: first run from an empty cache, then again with the cache it left, and with the
    cache a full audit of main left (what a CI job restores from main's last run); the warm
    figures are the median of ``--gate-runs`` runs (each with main's cache starts from a
    copy of it as the full audit left it).

Each figure is printed beside its goal (issue "scale and speed"): the warm full audit within
2.5x the C-YAML floor, the cold one within 2x (that floor + one bare ``git log --raw``),
the PR gate under 1 s warm and 3 s cold.
Run:  python tooling/bench/bench_audit.py [--records 10000 --commits 30000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from floors import git_log_seconds

from opsledger.demo import generate_demo
from opsledger.model.layout import walk

EXE = str(Path(sys.executable).parent / "opsledger")


def floor_seconds(root: Path) -> tuple[int, float]:
    paths = [root / e.path for e in walk(root) if e.kind is not None]
    start = time.perf_counter()
    for path in paths:
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".md":
            text = text.split("\n---\n", 1)[0].removeprefix("---\n")
        yaml.load(text, Loader=yaml.CSafeLoader)
    return len(paths), time.perf_counter() - start


def run(args: list[str], cache: Path, cwd: Path) -> float:
    env = {**os.environ, "OPSLEDGER_CACHE_DIR": str(cache), "CI": "true"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # bytecode cached, as an installed package has
    start = time.perf_counter()
    proc = subprocess.run([EXE, *args], cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode > 1:
        raise SystemExit(f"opsledger {' '.join(args)} failed: {proc.stderr}")
    return elapsed


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--commits", type=int, default=30_000)
    parser.add_argument("--keep", type=Path, default=None)
    parser.add_argument("--gate-runs", type=int, default=5, help="warm PR gate runs (median)")
    args = parser.parse_args()
    if args.gate_runs < 1:
        parser.error("--gate-runs must be at least 1")
    base = args.keep or Path(tempfile.mkdtemp(prefix="opsledger-bench-"))
    root = base / f"audit-{args.records}-{args.commits}"
    if not root.exists():
        start = time.perf_counter()
        generate_demo(root, records=args.records, commits=args.commits, seed=1)
        print(f"generated {args.records} records in {time.perf_counter() - start:.1f}s")
    n, floor = floor_seconds(root)
    log_floor = git_log_seconds(root)
    cache = base / "cache"
    shutil.rmtree(cache, ignore_errors=True)
    as_of = [
        "--as-of",
        "2026-11-01T00:00:00Z",
        "--fail-on",
        "never",
        "--format",
        "json",
        "--output",
        str(base / "audit.json"),
    ]
    rules_only = run(["audit", "--ignore", "GIT", *as_of], cache, root)
    shutil.rmtree(cache, ignore_errors=True)  # every cache empty: parsed records and history
    full_cold = run(["audit", *as_of], cache, root)
    full_warm = run(["audit", *as_of], cache, root)

    git(root, "checkout", "-q", "-B", "bench-pr")
    changed = sorted((root / "records" / "incidents").rglob("*.yaml"))[:10]
    for path in changed:
        path.write_text(path.read_text().replace("title: ", "title: Updated - ", 1))
    git(root, "add", "-A")
    git(
        root,
        "-c",
        "user.email=bench@example.com",
        "-c",
        "user.name=bench",
        "commit",
        "-q",
        "-m",
        "bench: 10 records changed",
    )
    gate = ["audit", "--changed-since", "main", *as_of]
    mains = []
    for _ in range(args.gate_runs):  # each from the cache of main's full audits, as left
        copy = base / "cache-main-copy"
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(cache, copy)
        mains.append(run(gate, copy, root))
    shutil.rmtree(base / "cache-main-copy", ignore_errors=True)
    pr_main = statistics.median(mains)
    shutil.rmtree(cache, ignore_errors=True)
    pr_cold = run(gate, cache, root)
    pr_warm = statistics.median(run(gate, cache, root) for _ in range(args.gate_runs))
    git(root, "checkout", "-q", "main")

    print(f"\n{n} record files; figures are wall seconds of the real command")
    print(f"(the warm PR gate: median of {args.gate_runs} runs each)")
    print(f"{'step':50} {'seconds':>8} {'x floor':>8}  goal")
    both = floor + log_floor
    rows = [
        ("floor: C YAML loader alone (in-process)", floor, floor, ""),
        ("floor: one bare git log --raw", log_floor, log_floor, ""),
        ("opsledger audit --ignore GIT, empty cache", rules_only, floor, ""),
        ("opsledger audit, full, empty cache", full_cold, both, _goal(full_cold, 2 * both)),
        ("opsledger audit, full, warm cache", full_warm, floor, _goal(full_warm, 2.5 * floor)),
        ("opsledger audit --changed-since (10), empty cache", pr_cold, floor, _goal(pr_cold, 3.0)),
        ("opsledger audit --changed-since (10), warm cache", pr_warm, floor, _goal(pr_warm, 1.0)),
        ("opsledger audit --changed-since (10), main's cache", pr_main, floor, _goal(pr_main, 1.0)),
    ]
    for label, seconds, base_line, goal in rows:
        print(f"{label:50} {seconds:8.2f} {seconds / base_line:8.2f}  {goal}")
    print("(x floor: the C-YAML floor; for the empty-cache full audit, both floors added)")


def _goal(seconds: float, limit: float) -> str:
    return f"<= {limit:.2f} s: {'met' if seconds <= limit else 'NOT met'}"


if __name__ == "__main__":
    main()
