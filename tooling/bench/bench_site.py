"""Benchmark: the site build on generated repositories, next to its floor.

For each size (default 1,000 and 10,000 records) in one run on the same machine:
  * ``opsledger site build`` on a generated demo repository with its git history (wall
    time of the real command: loading, audit, history index, KPIs, page generation,
    MkDocs Material rendering, sanitising and page checks), first run (empty history
    cache) and second run;
  * the floor: plain ``mkdocs build`` (same theme, search plugin and navigation; no plugin)
    of exactly the Markdown pages opsledger generated for that repository, written out
    as ordinary files: the same number of pages of the same size, rendered the same way.
    What opsledger adds is the difference.

On a machine with two processors ``site build`` renders a site of 4,000 pages or more with
two processes (``opsledger.site.split``), plain ``mkdocs build`` with one: the wall time is
what a user waits for; the CPU time (user + system, both processes) is the work done, and
its ratio is what one processor would take.

Run:  python tooling/bench/bench_site.py [--records 1000 10000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from opsledger.demo import generate_demo
from opsledger.site import plugin as site_plugin
from opsledger.site.build import build_site, refresh_site, settle
from opsledger.site.data import collect
from opsledger.site.generate import NAV, generate
from opsledger.timeutil import parse_timestamp

BIN = Path(sys.executable).parent
AS_OF = "2026-11-01T00:00:00Z"
GOAL_RATIO = 1.25  # first build / floor, at 10k records
GOAL_REFRESH = 2.0  # seconds: one record changed, served site rebuilt, at 10k records
FLOOR_CONFIG = """\
site_name: floor
docs_dir: docs
site_dir: public
use_directory_urls: false
theme:
  name: material
  font: false
plugins:
  - search
markdown_extensions:
  - tables
  - toc:
      permalink: true
not_in_nav: |
  /**
"""


def timed(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of one run of ``args``. On a shared machine
    the CPU time is the steadier figure: another process's load stretches the wall time
    of whichever run it overlaps, but not the work a run does."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{proc.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu


def floor_site(repo: Path, dest: Path) -> tuple[int, int]:
    """Write the generated Markdown pages of ``repo`` as plain files under ``dest``."""
    site = generate(collect(repo, AS_OF))
    docs = dest / "docs"
    pages = {**site.pages, **site.records, "index.md": "# Home\n\n" + site.home}
    size = 0
    for path, content in pages.items():
        target = docs / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")
        size += len(content.encode())
    for path, content in site.assets.items():
        target = docs / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")
    nav = yaml.safe_dump({"nav": [{"Home": "index.md"}, *NAV]}, sort_keys=False)
    (dest / "mkdocs.yml").write_text(FLOOR_CONFIG + nav, encoding="utf-8")
    return len(pages), size


def one(records: int, work: Path, repeat: int, serve: bool) -> None:
    repo = work / f"repo-{records}"
    floor = work / f"floor-{records}"
    cache = work / f"cache-{records}"
    if not repo.exists():
        generate_demo(repo, months=12, seed=7, records=records)
    env = {
        **os.environ,
        "CI": "true",
        "NO_MKDOCS_2_WARNING": "1",
        "OPSLEDGER_CACHE_DIR": str(cache),
    }
    n_pages, size = floor_site(repo, floor)
    cmd = [
        str(BIN / "opsledger"),
        "site",
        "build",
        "--repo",
        str(repo),
        "--as-of",
        AS_OF,
        "--output",
        str(work / f"out-{records}"),
    ]
    floors: list[tuple[float, float]] = []
    firsts: list[tuple[float, float]] = []
    seconds: list[tuple[float, float]] = []
    for _ in range(repeat):
        floors.append(timed([str(BIN / "mkdocs"), "build", "-q"], floor, env))
        shutil.rmtree(cache, ignore_errors=True)
        firsts.append(timed(cmd, work, env))
        seconds.append(timed(cmd, work, env))
    built = sum(1 for _ in (work / f"out-{records}").rglob("*.html"))
    print(
        f"{records:>6} records: {n_pages} pages ({size / n_pages / 1024:.1f} KB Markdown "
        f"each on average), {built} HTML files built; fastest of {repeat}; wall / CPU time"
    )
    w_floor, c_floor = min(w for w, _ in floors), min(c for _, c in floors)
    label = "floor (mkdocs build, same Markdown, no plugin):"
    print(f"        {label} {w_floor:7.1f} s / {c_floor:7.1f} s")
    for label, runs in (("first run (no cache):", firsts), ("second run:", seconds)):
        wall, cpu = min(w for w, _ in runs), min(c for _, c in runs)
        print(
            f"        opsledger site build, {label:<22}{wall:7.1f} s / {cpu:7.1f} s "
            f"({wall / w_floor:.2f}x / {cpu / c_floor:.2f}x the floor; goal <= {GOAL_RATIO}x)"
        )
    if serve:
        refresh_figure(repo, work / f"serve-{records}", cache)


def refresh_figure(repo: Path, out: Path, cache: Path) -> None:
    """One record changed under ``site serve``: the partial rebuild, timed in process."""
    os.environ["OPSLEDGER_CACHE_DIR"] = str(cache)
    as_of = parse_timestamp(AS_OF)
    kept = build_site(repo, output=out, as_of=as_of, keep=True)
    settle()  # as site serve does once the site is built
    generating: list[float] = []
    original = site_plugin.OpsledgerPlugin._generate

    def timed_generate(self: site_plugin.OpsledgerPlugin, config: object) -> object:
        start = time.perf_counter()
        try:
            return original(self, config)  # type: ignore[arg-type]
        finally:
            generating.append(time.perf_counter() - start)

    site_plugin.OpsledgerPlugin._generate = timed_generate  # type: ignore[assignment,method-assign]
    record = sorted((repo / "records" / "incidents").rglob("*.yaml"))[7]
    text = record.read_text(encoding="utf-8")
    figures: list[tuple[float, float, list[str] | None]] = []
    try:
        # two edits one after the other: the first refresh after the full build, and one
        # after a refresh (what an author editing a record meets from then on)
        for title in ("the payment provider's certificate rotation", "the second rotation"):
            lines = text.splitlines(keepends=True)
            at = next(i for i, line in enumerate(lines) if line.startswith("title:"))
            lines[at] = f"title: Checkout errors after {title}\n"
            record.write_text("".join(lines), encoding="utf-8")
            start, cpu_start = time.perf_counter(), time.process_time()
            pages = refresh_site(kept)
            elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
            figures.append((elapsed, cpu, pages))
    finally:
        record.write_text(text, encoding="utf-8")
        site_plugin.OpsledgerPlugin._generate = original  # type: ignore[method-assign]
    for (elapsed, cpu, pages), label, made in zip(
        figures, ("rebuilt:", "rebuilt again:"), generating, strict=True
    ):
        if pages is None:
            raise SystemExit("refresh_site asked for a full build after a title change")
        print(
            f"        site serve, one record changed, {label:<15}{elapsed:7.1f} s / {cpu:7.1f} s "
            f"(goal <= {GOAL_REFRESH:.0f} s; {len(pages)} pages rendered again; loading, "
            f"audit, KPIs and page generation {made:.1f} s wall)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, nargs="+", default=[1000, 10_000])
    parser.add_argument("--repeat", type=int, default=1, help="runs of each; fastest counts")
    parser.add_argument("--no-serve", action="store_true", help="skip the site serve figure")
    parser.add_argument(
        "--serve-only", action="store_true", help="only the site serve figures (no floor)"
    )
    parser.add_argument(
        "--keep", type=Path, default=None, help="keep the work folder here (and reuse its repos)"
    )
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="opsledger-bench-site-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        for records in args.records:
            if args.serve_only:
                repo = work / f"repo-{records}"
                if not repo.exists():
                    generate_demo(repo, months=12, seed=7, records=records)
                print(f"{records:>6} records:")
                refresh_figure(repo, work / f"serve-{records}", work / f"cache-{records}")
            else:
                one(records, work, args.repeat, not args.no_serve)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
