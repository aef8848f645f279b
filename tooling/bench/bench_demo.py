"""Benchmark: generating demo repositories, the default year and a scaled one.

Prints, for each size, the wall time of ``generate_demo`` (planning, rendering every record
version, one ``git fast-import`` run overlapping the rendering, and the final checkout), the
record files and commits written, and commits per second. The default sizes are the 12-month
demo and ``records=10000, commits=30000``.

Run:  python tooling/bench/bench_demo.py [--sizes default,10000:30000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from opsledger.demo import generate_demo


def run(label: str, records: int | None, commits: int | None, keep: Path | None) -> None:
    base = keep or Path(tempfile.mkdtemp(prefix="opsledger-bench-demo-"))
    dest = base / f"demo-{label.replace(':', '-')}"
    if dest.exists():
        shutil.rmtree(dest)
    start = time.perf_counter()
    result = generate_demo(dest, records=records, commits=commits)
    elapsed = time.perf_counter() - start
    files = sum(result.counts.values()) - result.services + 1  # services.yaml is one file
    print(
        f"{label:>12}: {elapsed:6.1f} s  {files:6d} record files  {result.commits:6d} commits  "
        f"{result.commits / elapsed:7.0f} commits/s  {len(result.defects)} planted defects"
    )
    if keep is None:
        shutil.rmtree(base)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        default="default,10000:30000",
        help="comma-separated: 'default' (12 months) or RECORDS:COMMITS",
    )
    parser.add_argument("--keep", type=Path, help="keep the repositories in this folder")
    args = parser.parse_args()
    for size in args.sizes.split(","):
        if size == "default":
            run(size, None, None, args.keep)
        else:
            records, _, commits = size.partition(":")
            run(size, int(records), int(commits) if commits else None, args.keep)


if __name__ == "__main__":
    main()
