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

Run:  python tooling/bench/bench_site.py [--records 1000 10000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from opsledger.demo import generate_demo
from opsledger.site.data import collect
from opsledger.site.generate import NAV, generate

BIN = Path(sys.executable).parent
AS_OF = "2026-11-01T00:00:00Z"
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


def timed(args: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{proc.stderr[-3000:]}")
    return elapsed


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


def one(records: int, work: Path) -> None:
    repo = work / f"repo-{records}"
    floor = work / f"floor-{records}"
    cache = work / f"cache-{records}"
    generate_demo(repo, months=12, seed=7, records=records)
    env = {
        **os.environ,
        "CI": "true",
        "NO_MKDOCS_2_WARNING": "1",
        "OPSLEDGER_CACHE_DIR": str(cache),
    }
    n_pages, size = floor_site(repo, floor)
    t_floor = timed([str(BIN / "mkdocs"), "build", "-q"], floor, env)
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
    shutil.rmtree(cache, ignore_errors=True)
    t_first = timed(cmd, work, env)
    t_second = timed(cmd, work, env)
    built = sum(1 for _ in (work / f"out-{records}").rglob("*.html"))
    print(
        f"{records:>6} records: {n_pages} pages ({size / n_pages / 1024:.1f} KB Markdown "
        f"each on average), {built} HTML files built"
    )
    print(f"        floor (mkdocs build, same Markdown, no plugin): {t_floor:7.1f} s")
    print(
        f"        opsledger site build, first run (no cache):   {t_first:7.1f} s "
        f"(+{(t_first / t_floor - 1) * 100:.0f}%)"
    )
    print(
        f"        opsledger site build, second run:             {t_second:7.1f} s "
        f"(+{(t_second / t_floor - 1) * 100:.0f}%)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, nargs="+", default=[1000, 10_000])
    parser.add_argument("--keep", type=Path, default=None, help="keep the work folder here")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="opsledger-bench-site-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        for records in args.records:
            one(records, work)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
