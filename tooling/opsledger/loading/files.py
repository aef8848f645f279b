"""Reading a record file safely: symlinks refused unread, size limited before reading."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from opsledger.loading.errors import LoadError

DEFAULT_MAX_BYTES = 1024 * 1024


def read_bytes(path: str | Path, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """Read ``path`` without following a symlink and without reading more than ``max_bytes``."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        raise LoadError("file not found") from None
    if stat.S_ISLNK(info.st_mode):
        raise LoadError(
            "is a symbolic link; links are refused and never read",
            hint="replace the link with the record file itself",
        )
    if not stat.S_ISREG(info.st_mode):
        raise LoadError("is not a regular file")
    if info.st_size > max_bytes:
        raise LoadError(
            f"file is {info.st_size} bytes, over the limit of {max_bytes}",
            hint="records are small; split the text or raise limits.max_file_bytes in policy.yaml",
        )
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise LoadError(f"cannot be read: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as handle:
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:  # grew between stat and read
        raise LoadError(f"file is over the limit of {max_bytes} bytes")
    return data
