"""Reading a cache file: only regular files, only what is there, never the size limit's worth."""

from __future__ import annotations

import os
import tracemalloc
from pathlib import Path

from opsledger.cache import read_cache_file


def test_a_small_cache_file_reads_whole(tmp_path: Path) -> None:
    path = tmp_path / "cache"
    path.write_bytes(b"header\x00" + bytes(range(256)) * 4)
    assert read_cache_file(path) == path.read_bytes()
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert read_cache_file(empty) == b""


def test_reading_reserves_only_the_file_size(tmp_path: Path) -> None:
    # a read of the size limit (4 GiB) would reserve that much before the file is read;
    # on a host with strict overcommit or a ulimit -v that is a failed run
    path = tmp_path / "cache"
    path.write_bytes(b"x" * 100_000)
    tracemalloc.start()
    try:
        data = read_cache_file(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert data is not None and len(data) == 100_000
    assert peak < 1_000_000


def test_links_fifos_and_missing_files_are_not_read(tmp_path: Path) -> None:
    target = tmp_path / "target"
    target.write_bytes(b"secret")
    link = tmp_path / "link"
    link.symlink_to(target)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert read_cache_file(link) is None
    assert read_cache_file(fifo) is None  # returns at once: never waits for a writer
    assert read_cache_file(tmp_path / "missing") is None
    assert read_cache_file(tmp_path) is None
