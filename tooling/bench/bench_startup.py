"""Benchmark: start-up, what a pre-commit hook pays on every commit.

Prints, in one run on the same machine, the median wall time of several runs of
  * the floor: a bare ``python -c pass`` with the same interpreter;
  * ``opsledger --help``;
  * ``opsledger validate FILE`` of one incident in a freshly initialised repository;
each next to the goal (0.2 s) and as a multiple of the floor.
Run:  python tooling/bench/bench_startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from opsledger.scaffold import init_repository

EXE = str(Path(sys.executable).parent / "opsledger")
GOAL = 0.2

INCIDENT = """\
id: INC-2026-0001
title: Checkout errors for card payments
priority: P3
status: open
service: example-service
detection: automated
source: monitoring
impact: Card payments fail for about a tenth of customers at checkout.
detected_at: 2026-03-04T09:12:00Z
"""


#: as users run it: an installed package has its bytecode compiled (pip does it at install;
#: an editable install writes it on first import), so a PYTHONDONTWRITEBYTECODE set in the
#: benchmark's own environment must not make every run compile every module afresh
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def median_wall(argv: list[str], runs: int, cwd: Path) -> float:
    subprocess.run(argv, cwd=cwd, capture_output=True, check=True, env=ENV)  # bytecode
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, cwd=cwd, capture_output=True, check=True, env=ENV)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="opsledger-bench-start-") as tmp:
        root = Path(tmp) / "repo"
        init_repository(root)
        record = root / "records" / "incidents" / "INC-2026-0001.yaml"
        record.parent.mkdir(parents=True, exist_ok=True)
        record.write_text(INCIDENT, encoding="utf-8")
        floor = median_wall([sys.executable, "-c", "pass"], args.runs, root)
        rows = [
            ("python -c pass (floor)", floor),
            ("opsledger --help", median_wall([EXE, "--help"], args.runs, root)),
            (
                "opsledger validate one file",
                median_wall([EXE, "validate", str(record)], args.runs, root),
            ),
        ]
    print(f"start-up, median of {args.runs} runs (goal: under {GOAL:.1f} s)")
    for label, seconds in rows:
        verdict = "" if label.endswith("(floor)") else ("met" if seconds < GOAL else "NOT met")
        print(f"  {label:32} {seconds:6.3f} s  {seconds / floor:5.1f}x floor  {verdict}")


if __name__ == "__main__":
    main()
