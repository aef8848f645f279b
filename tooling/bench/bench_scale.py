"""Benchmark: every command on a repository of 10^4 and 10^5 imported ServiceNow incidents.

For each size (default 10,000 and 100,000 incidents) a repository is built the way an
adopter builds one: ``opsledger init`` (the scaffold), the real ServiceNow sample replicated
to that size (``servicenow_events.generate``, one day's shift per copy of the 32 sample
incidents: about 1,000 incidents a month, so 10^5 incidents span 8.5 years) and imported
with the real ``opsledger import servicenow`` in ten batches, each batch committed on its
own (ten commits of record history, dated before the policy's adoption day), then ten
records changed and committed on top for the pull-request gate.

Then each command runs in its own fresh process, in this order, and its wall seconds, CPU
seconds (user + system: what a busy machine does not inflate) and
peak memory (``ru_maxrss`` of the child from ``wait4``: the largest resident set of the
process or of any git process it waited for) are printed:

  * ``validate``, empty opsledger cache (every record parsed);
  * ``audit``, full, empty cache (parsed records and history index built), then warm;
  * ``kpi``;
  * the PR gate ``audit --changed-since REV`` (the ten changed records), warm cache and
    empty cache;
  * ``site build`` (warm cache).

The floors printed beside them: the interpreter with opsledger imported and no work, and
one bare ``git log --raw`` over the record folders. With two sizes or more the growth of each
figure from the smallest to the largest size is printed as a ratio beside the ratio of the
sizes (10.0 = linear for 10^4 -> 10^5). A peak of 4 GiB or more is flagged.

Run:  python tooling/bench/bench_scale.py [--sizes 10000,100000] [--keep DIR]
      [--only validate,audit,...] [--timeout SECONDS]
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
from servicenow_events import SAMPLE, Run, generate, timed_cli

from opsledger.scaffold import init_repository

AS_OF = "2026-12-01T00:00:00Z"
ADOPTED_ON = "2026-11-26"
IMPORT_DATE = "2026-11-20T12:00:00+00:00"
CHANGE_DATE = "2026-11-28T12:00:00+00:00"
BATCHES = 10
CHANGED = 10
MEMORY_LIMIT_MB = 4 * 1024
COMMANDS = ("validate", "audit-cold", "audit-warm", "kpi", "gate-warm", "gate-cold", "site")


def git(root: Path, *args: str, when: str | None = None) -> str:
    env = {**os.environ}
    if when is not None:
        env |= {"GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when}
    ident = ["-c", "user.email=bench@example.com", "-c", "user.name=bench"]
    proc = subprocess.run(
        ["git", *ident, *args], cwd=root, check=True, capture_output=True, text=True, env=env
    )
    return proc.stdout.strip()


def must(label: str, result: Run, ok: tuple[int, ...] = (0,)) -> None:
    if result.status not in ok:
        print(result.output[-4000:])
        raise SystemExit(f"{label}: exit status {result.status}")


def build(root: Path, work: Path, size: int) -> dict[str, object]:
    """The repository of ``size`` imported incidents; what it holds and how long it took."""
    start = time.perf_counter()
    init_repository(root)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "opsledger init", when=IMPORT_DATE)
    per_batch = -(-size // BATCHES)
    rows = 0
    import_seconds = import_peak = 0.0
    for first in range(1, size + 1, per_batch):
        count = min(per_batch, size - first + 1)
        source = work / f"events-{size}-{first}.csv"
        rows += generate(SAMPLE, source, count, days_per_copy=1, first=first)
        result = timed_cli(
            "import",
            "servicenow",
            source,
            "--repo",
            root,
            "--timezone",
            "Europe/London",
            "--adopted-on",
            ADOPTED_ON,
        )
        must(f"import batch from {first}", result)
        import_seconds += result.seconds
        import_peak = max(import_peak, result.peak_mb)
        source.unlink()
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", f"import INC{first:07d}.. ({count})", when=IMPORT_DATE)
    base = git(root, "rev-parse", "HEAD")
    changed = sorted((root / "records" / "incidents").rglob("*.yaml"))[:: size // CHANGED][:CHANGED]
    for path in changed:
        path.write_text(path.read_text().replace("\ntitle: ", "\ntitle: Updated - ", 1))
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", f"{CHANGED} records changed", when=CHANGE_DATE)
    files = int(git(root, "ls-files", "records", "runbooks").count("\n")) + 1
    return {
        "base": base,
        "rows": rows,
        "files": files,
        "commits": int(git(root, "rev-list", "--count", "HEAD")),
        "import": import_seconds,
        "import_peak": import_peak,
        "build": time.perf_counter() - start,
        "git_mb": _du(root / ".git"),
        "records_mb": _du(root / "records"),
    }


def _du(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def measure(
    root: Path, work: Path, size: int, base: str, only: set[str], timeout: float
) -> dict[str, tuple[float, float, float]]:
    cache = work / f"cache-{size}"
    env = {
        **os.environ,
        "OPSLEDGER_CACHE_DIR": str(cache),
        "CI": "true",
        "NO_MKDOCS_2_WARNING": "1",
    }
    out = work / f"out-{size}"
    out.mkdir(exist_ok=True)
    repo: list[str | Path] = ["--repo", root]
    quiet = ["--as-of", AS_OF, "--fail-on", "never", "--format", "json"]
    steps: list[tuple[str, list[str | Path], bool]] = [
        ("validate", ["validate", "--repo", root], True),
        ("audit-cold", ["audit", *quiet, "--output", out / "audit.json", "--repo", root], True),
        ("audit-warm", ["audit", *quiet, "--output", out / "audit.json", "--repo", root], False),
        (
            "kpi",
            ["kpi", "--as-of", AS_OF, "--format", "json", "--output", out / "kpi.json", *repo],
            False,
        ),
        ("gate-warm", ["audit", "--changed-since", base, *quiet, "--repo", root], False),
        ("gate-cold", ["audit", "--changed-since", base, *quiet, "--repo", root], True),
        (
            "site",
            ["site", "build", "--as-of", AS_OF, "--output", out / "site", "--repo", root],
            False,
        ),
    ]
    figures: dict[str, tuple[float, float, float]] = {}
    for name, argv, empty_cache in steps:
        if name not in only:
            continue
        if empty_cache:
            shutil.rmtree(cache, ignore_errors=True)
        run = timed_cli(*argv, env=env, timeout=timeout)
        if run.status < 0:  # the timeout (SIGKILL), or stopped from outside
            print(
                f"  {name}: killed by signal {-run.status} after {run.seconds:.0f} s "
                f"({run.cpu:.0f} s CPU), peak {run.peak_mb:.0f} MB",
                flush=True,
            )
            continue
        must(name, run, ok=(0, 1))
        figures[name] = (run.seconds, run.cpu, run.peak_mb)
        print(
            f"  {name:12} {run.seconds:9.1f} s {run.cpu:9.1f} s CPU {run.peak_mb:9.0f} MB",
            flush=True,
        )
    if "site" in figures:
        pages = list((out / "site").rglob("*.html"))
        biggest = max(pages, key=lambda p: p.stat().st_size)
        print(
            f"  site: {len(pages)} HTML pages, largest {biggest.relative_to(out / 'site')} "
            f"{biggest.stat().st_size / 2**20:.1f} MB",
            flush=True,
        )
    return figures


LABELS = {
    "validate": "validate, empty cache",
    "audit-cold": "audit, full, empty cache",
    "audit-warm": "audit, full, warm cache",
    "kpi": "kpi",
    "gate-warm": f"audit --changed-since ({CHANGED}), warm",
    "gate-cold": f"audit --changed-since ({CHANGED}), empty cache",
    "site": "site build",
}


def report(sizes: list[int], figures: dict[int, dict[str, tuple[float, float, float]]]) -> None:
    """Wall seconds, CPU seconds and peak MB per size; growth from the smallest size to the
    largest beside the growth of the size (the linear one)."""
    small, large = sizes[0], sizes[-1]
    print(f"\n{'command':40}", end="")
    for size in sizes:
        print(f" {f'{size} s':>10} {'CPU s':>8} {'MB':>7}", end="")
    if len(sizes) > 1:
        print(f" {'wall x':>7} {'CPU x':>6} {'MB x':>6}  ({large / small:.1f} = linear)", end="")
    print()
    nan = (float("nan"),) * 3
    for name in COMMANDS:
        if not any(name in figures[s] for s in sizes):
            continue
        print(f"{LABELS[name]:40}", end="")
        for size in sizes:
            wall, cpu, peak = figures[size].get(name, nan)
            print(f" {wall:10.1f} {cpu:8.1f} {peak:7.0f}", end="")
        if len(sizes) > 1 and name in figures[small] and name in figures[large]:
            ratios = [
                b / a for a, b in zip(figures[small][name], figures[large][name], strict=True)
            ]
            print(" {:7.1f} {:6.1f} {:6.1f}".format(*ratios), end="")
        over = [s for s in sizes if figures[s].get(name, nan)[2] >= MEMORY_LIMIT_MB]
        print(f"  PEAK >= 4 GiB at {over}" if over else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--keep", type=Path, default=None, help="keep the work folder here")
    parser.add_argument("--only", default=",".join(COMMANDS), help="commands to time")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per command")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="opsledger-bench-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    sizes = sorted(int(s) for s in args.sizes.split(","))
    only = set(args.only.split(","))
    floor = timed_cli("--version")
    print(
        f"floor: interpreter + opsledger imported, no work: {floor.seconds:.2f} s "
        f"{floor.peak_mb:.0f} MB"
    )
    figures: dict[int, dict[str, tuple[float, float, float]]] = {}
    try:
        for size in sizes:
            root = work / f"repo-{size}"
            if root.exists():
                base = git(root, "rev-parse", "HEAD~1")
                print(f"\n{size} incidents: reusing {root}")
            else:
                facts = build(root, work, size)
                base = str(facts["base"])
                print(
                    f"\n{size} incidents: {facts['rows']} ServiceNow rows imported in "
                    f"{facts['import']:.0f} s (peak {facts['import_peak']:.0f} MB), "
                    f"{facts['files']} record files ({facts['records_mb']:.0f} MB), "
                    f"{facts['commits']} commits (.git {facts['git_mb']:.0f} MB); "
                    f"built in {facts['build']:.0f} s"
                )
            log_floor = git_log_seconds(root)
            print(f"  floor: one bare git log --raw: {log_floor:.1f} s", flush=True)
            figures[size] = measure(root, work, size, base, only, args.timeout)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    report(sizes, figures)


if __name__ == "__main__":
    main()
