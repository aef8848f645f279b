"""The real ServiceNow sample replicated to any size, and one ``opsledger`` run timed in its
own process (imported by the bench scripts, which run with this folder first on the path).

The sample (32 incidents, 198 update rows) is copied with new numbers and dates shifted by
``days_per_copy`` days per copy, written like the sample (``d/m/yyyy hh:mm``, ``?`` for
empty, CRLF)."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import NamedTuple

HERE = Path(__file__).resolve()
SAMPLE = HERE.parents[1] / "tests" / "data" / "servicenow-incident-events-sample.csv"
DATES = ("opened_at", "sys_created_at", "sys_updated_at", "resolved_at", "closed_at")


def _shift(value: str, days: int) -> str:
    if value == "?":
        return value
    moment = datetime.strptime(value, "%d/%m/%Y %H:%M") + timedelta(days=days)
    return f"{moment.day}/{moment.month}/{moment.year} {moment:%H:%M}"


def _when(row: dict[str, str]) -> datetime:
    return datetime.strptime(row["sys_updated_at"], "%d/%m/%Y %H:%M")


def generate(
    sample: Path,
    target: Path,
    incidents: int,
    *,
    by_time: bool = False,
    days_per_copy: int = 2,
    first: int = 1,
) -> int:
    """Write ``incidents`` incidents replicated from ``sample``; return the row count.

    Streams copy by copy (the benchmark's own memory stays small). ``by_time`` writes each
    block of 1,000 incidents in ``sys_updated_at`` order, like an export sorted by update
    time: an incident's rows are then spread out and the importer must hold it until its
    last row. Numbers run from ``INC{first:07d}``; the copy of incident ``n`` (counting from
    ``first``) is shifted by ``days_per_copy`` days per earlier copy, so batches written
    with consecutive ``first`` values join up into one export."""
    with sample.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        header = list(reader.fieldnames or [])
        rows = list(reader)
    numbers = list(dict.fromkeys(r["number"] for r in rows))
    by_number = {n: [r for r in rows if r["number"] == n] for n in numbers}
    written = 0
    with target.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, header)
        writer.writeheader()
        block: list[dict[str, str]] = []
        for made in range(first, first + incidents):
            copy, index = divmod(made - 1, len(numbers))
            for row in by_number[numbers[index]]:
                fresh = {
                    k: (_shift(v, days_per_copy * copy) if k in DATES else v)
                    for k, v in row.items()
                }
                fresh["number"] = f"INC{made:07d}"
                block.append(fresh)
            if made % 1000 == 0 or made == first + incidents - 1:
                writer.writerows(sorted(block, key=_when) if by_time else block)
                written += len(block)
                block = []
    return written


class Run(NamedTuple):
    """One ``opsledger`` run in its own process."""

    seconds: float  # wall
    peak_mb: float  # ru_maxrss: the largest resident set of the process or of a child
    status: int  # exit status (negative: the signal that ended it)
    output: str  # standard output and error
    cpu: float  # user + system seconds of the process and the processes it waited for


def timed_cli(
    *args: str | Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float | None = None,
) -> Run:
    """Wall seconds, peak RSS (MB), exit status, output and CPU seconds of one ``opsledger``
    run in its own process.

    The peak is the child's ``ru_maxrss`` from ``wait4``: the largest resident set of the
    process or of any process it waited for (git). CPU seconds do not count the time the
    process waited for a core on a busy machine; wall seconds do. Python writes bytecode,
    as an installed package has it. After ``timeout`` seconds the run is killed (exit
    status -9)."""
    code = "import sys; from opsledger.cli import run; sys.exit(run(sys.argv[1:]))"
    child_env = dict(os.environ if env is None else env)
    child_env.pop("PYTHONDONTWRITEBYTECODE", None)
    with tempfile.TemporaryFile() as output:
        start = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-c", code, *map(str, args)],
            stdout=output,
            stderr=output,
            env=child_env,
            cwd=cwd,
        )
        timer = threading.Timer(timeout, proc.kill) if timeout else None
        if timer is not None:
            timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            if timer is not None:
                timer.cancel()
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        output.seek(0)
        text = output.read().decode("utf-8", "replace")
    cpu = usage.ru_utime + usage.ru_stime
    return Run(seconds, usage.ru_maxrss / 1024, proc.returncode, text, cpu)
