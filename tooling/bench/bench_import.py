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
import csv
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from opsledger.scaffold import init_repository

HERE = Path(__file__).resolve()
SAMPLE = HERE.parents[1] / "tests" / "data" / "servicenow-incident-events-sample.csv"
DATES = ("opened_at", "sys_created_at", "sys_updated_at", "resolved_at", "closed_at")
LIMIT_SECONDS = 60


def _shift(value: str, days: int) -> str:
    if value == "?":
        return value
    moment = datetime.strptime(value, "%d/%m/%Y %H:%M") + timedelta(days=days)
    return f"{moment.day}/{moment.month}/{moment.year} {moment:%H:%M}"


def _when(row: dict[str, str]) -> datetime:
    return datetime.strptime(row["sys_updated_at"], "%d/%m/%Y %H:%M")


def generate(sample: Path, target: Path, incidents: int, *, by_time: bool = False) -> int:
    """Write ``incidents`` incidents replicated from ``sample``; return the row count.

    Streams copy by copy (the benchmark's own memory stays small). ``by_time`` writes each
    block of 1,000 incidents in ``sys_updated_at`` order, like an export sorted by update
    time: an incident's rows are then spread out and the importer must hold it until its
    last row."""
    with sample.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        header = list(reader.fieldnames or [])
        rows = list(reader)
    numbers = list(dict.fromkeys(r["number"] for r in rows))
    by_number = {n: [r for r in rows if r["number"] == n] for n in numbers}
    written = made = copy = 0
    with target.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, header)
        writer.writeheader()
        block: list[dict[str, str]] = []
        while made < incidents:
            for original in numbers[: incidents - made]:
                made += 1
                for row in by_number[original]:
                    fresh = {k: (_shift(v, 2 * copy) if k in DATES else v) for k, v in row.items()}
                    fresh["number"] = f"INC{made:07d}"
                    block.append(fresh)
                if made % 1000 == 0 or made == incidents:
                    writer.writerows(sorted(block, key=_when) if by_time else block)
                    written += len(block)
                    block = []
            copy += 1
    return written


def timed_cli(*args: str | Path) -> tuple[float, float, int, str]:
    """Seconds, peak RSS (MB) and exit status of one ``opsledger`` run in its own process."""
    code = "import sys; from opsledger.cli import run; sys.exit(run(sys.argv[1:]))"
    with tempfile.TemporaryFile() as output:
        start = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-c", code, *map(str, args)], stdout=output, stderr=output
        )
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        output.seek(0)
        text = output.read().decode("utf-8", "replace")
    return seconds, usage.ru_maxrss / 1024, proc.returncode, text


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
            seconds, peak, status, output = timed_cli(*argv)
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
