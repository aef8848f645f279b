"""Benchmark: loading and validating generated repositories of 1k and 10k records.

Prints records/second for
  * the floor: reading each file and parsing it with libyaml's C loader alone
    (``yaml.load(..., CSafeLoader)``, front matter only for Markdown records);
  * opsledger's strict loading (bytes checks + event-built data with positions), C and pure;
  * ``load_ledger``: strict loading + schema validation + typed records, as ``validate`` runs it.

Run:  python tooling/bench/bench_load.py [--sizes 1000,10000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import gc
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from opsledger.demo import generate_demo
from opsledger.loading import load_document, yamlstrict
from opsledger.model.layout import walk
from opsledger.model.ledger import load_ledger


def timed(func: Callable[[], object]) -> float:
    gc.collect()
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def floor(root: Path, paths: list[Path]) -> None:
    for path in paths:
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".md":
            text = text.split("\n---\n", 1)[0].removeprefix("---\n")
        yaml.load(text, Loader=yaml.CSafeLoader)


def strict(paths: list[Path], parser: str) -> None:
    for path in paths:
        load_document(path, parser=parser)


def run(size: int, keep: Path | None) -> None:
    base = keep or Path(tempfile.mkdtemp(prefix="opsledger-bench-"))
    root = base / f"repo-{size}"
    if not root.exists():
        start = time.perf_counter()
        generate_demo(root, records=size, commits=max(size, 100), seed=1)
        print(f"generated {size} records in {time.perf_counter() - start:.1f}s at {root}")
    paths = [root / e.path for e in walk(root) if e.kind is not None]
    n = len(paths)
    rows = [
        ("floor: C YAML loader alone", timed(lambda: floor(root, paths))),
        ("strict loading (C parser)", timed(lambda: strict(paths, "c"))),
    ]
    if n <= 2000:
        rows.append(("strict loading (pure parser)", timed(lambda: strict(paths, "pure"))))
    rows.append(("load_ledger (strict + schema + typed)", timed(lambda: load_ledger(root))))
    base_time = rows[0][1]
    print(f"\n{n} record files")
    print(f"{'step':42} {'seconds':>8} {'records/s':>10} {'x floor':>8}")
    for label, seconds in rows:
        print(f"{label:42} {seconds:8.2f} {n / seconds:10.0f} {seconds / base_time:8.2f}")
    assert yamlstrict.DEFAULT_PARSER == "c"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--keep", type=Path, default=None, help="reuse/keep repos in DIR")
    args = parser.parse_args()
    for size in (int(s) for s in args.sizes.split(",")):
        run(size, args.keep)


if __name__ == "__main__":
    main()
