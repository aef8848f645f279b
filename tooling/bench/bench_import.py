"""Benchmark: ``opsledger import servicenow`` on a large audit event log.

Replicates the real sample (32 incidents, 198 update rows) with new numbers and dates
shifted by two days per copy, up to 25,000 incidents (about 155,000 rows), written like the
sample (``d/m/yyyy hh:mm``, ``?`` for empty, CRLF). Each import runs in its own process so
its peak memory (max RSS) is its own; a smaller file is imported too, to show the memory
stays flat as the file grows. Prints, per run: rows, incidents, seconds, rows/second, peak
memory; then a re-import of the large file (nothing to write) and ``validate``.

Run:  python tooling/bench/bench_import.py [--sizes 2500,25000] [--sample PATH] [--keep DIR]
      [--by-time]   (rows in update-time order: incidents are held until their last row)
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from servicenow_events import SAMPLE, generate, timed_cli

from opsledger.scaffold import init_repository

LIMIT_SECONDS = 60


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2500,25000")
    parser.add_argument("--sample", type=Path, default=SAMPLE)
    parser.add_argument("--keep", type=Path, default=None, help="keep files in DIR")
    parser.add_argument("--by-time", action="store_true", help="rows in update-time order")
    args = parser.parse_args()
    base = args.keep or Path(tempfile.mkdtemp(prefix="opsledger-bench-import-"))
    base.mkdir(parents=True, exist_ok=True)
    sizes = sorted(int(s) for s in args.sizes.split(","))
    floor = timed_cli("--version")[1]
    print(f"interpreter + opsledger import, no work: {floor:.0f} MB peak")
    print(f"{'run':40} {'rows':>8} {'incidents':>9} {'seconds':>8} {'rows/s':>8} {'peak MB':>8}")
    for size in sizes:
        source = base / f"events-{size}.csv"
        rows = generate(args.sample, source, size, by_time=args.by_time)
        root = base / f"repo-{size}"
        if root.exists():
            raise SystemExit(f"{root} exists; remove it or choose another --keep folder")
        init_repository(root)
        common = ("--repo", root, "--timezone", "Europe/London", "--adopted-on", "2026-11-26")
        runs = [("import", ("import", "servicenow", source, *common))]
        if size == sizes[-1]:
            runs.append(("re-import (nothing changes)", ("import", "servicenow", source, *common)))
            runs.append(("validate (the imported records)", ("validate", "--repo", root)))
        for label, argv in runs:
            seconds, peak, status, output, _ = timed_cli(*argv)
            if status not in (0,):
                print(output)
                raise SystemExit(f"{label}: exit status {status}")
            print(
                f"{label + f' {size}':40} {rows:8d} {size:9d} {seconds:8.1f} "
                f"{rows / seconds:8.0f} {peak:8.0f}"
            )
            if label == "import" and seconds > LIMIT_SECONDS:
                print(f"  SLOWER than {LIMIT_SECONDS} s")
    print(f"files kept in {base}" if args.keep else f"files in {base} (temporary)")


if __name__ == "__main__":
    main()
