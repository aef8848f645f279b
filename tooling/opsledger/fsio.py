"""Writing output files, and turning the filesystem's refusals into one-line errors.

A full disk, a read-only or forbidden folder, a path through a file: none of these is a bug
in opsledger, and none may end in a traceback. :func:`write_text` is the one place that
writes a command's ``--output`` file; :func:`refusal` is how the command line says why any
other file operation was refused.
"""

from __future__ import annotations

import errno
import io
import os
import sys
from pathlib import Path
from typing import Any

from opsledger.errors import OpsledgerError

#: errno values that describe the environment (space, permissions, the shape of a path),
#: not a mistake in the program.
FILESYSTEM_ERRORS = frozenset(
    {
        errno.ENOSPC,
        errno.EDQUOT,
        errno.EFBIG,
        errno.EACCES,
        errno.EPERM,
        errno.EROFS,
        errno.EISDIR,
        errno.ENOTDIR,
        errno.ENOENT,
        errno.EEXIST,
        errno.ENOTEMPTY,
        errno.ENAMETOOLONG,
        errno.ELOOP,
        errno.ENXIO,
        errno.ENODEV,
        errno.ETXTBSY,
        errno.EBUSY,
        errno.EIO,
        errno.EMFILE,
        errno.ENFILE,
        errno.EPIPE,
        errno.EXDEV,
        errno.EBADF,  # a standard stream the process was started without (:class:`_Closed`)
    }
)


def printable(text: object) -> str:
    """``text`` with control and other unprintable characters escaped (for one line)."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))


def refusal(exc: OSError) -> str | None:
    """One line saying what the filesystem refused and why, or None for other errors."""
    if exc.errno not in FILESYSTEM_ERRORS:
        return None
    reason = exc.strerror or os.strerror(exc.errno or 0)
    names = [n for n in (exc.filename, exc.filename2) if n is not None]
    where = " -> ".join(printable(os.fsdecode(n)) for n in names)
    return f"{where}: {reason}" if where else reason


def write_text(path: Path, text: str, *, option: str = "--output") -> None:
    """Write ``text`` to ``path`` (creating its folder); a refusal is an OpsledgerError."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        why = exc.strerror or str(exc)
        raise OpsledgerError(f"{option} {printable(path)}: cannot write: {why}") from None


class _Closed(io.RawIOBase):
    """A standard stream the process was started without (its descriptor closed: ``>&-``):
    the first write fails as writing to a closed descriptor does, so the command says once, in
    one line, that it cannot write there, as on a full disk; what is written after that is
    dropped (the interpreter's last flush has nowhere to report to)."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
        self.refused = False

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        if self.refused:
            return len(data)
        self.refused = True
        raise OSError(errno.EBADF, "closed when the command started", self.name)


def standard_streams() -> None:
    """Give a process started with a standard stream closed one it can use: standard
    output that refuses every write (:class:`_Closed`), a standard error that says nothing
    (nowhere to say it), an empty standard input. Python leaves them None, and every
    ``print`` or flush would be an internal error."""
    if sys.stdout is None:
        sys.stdout = io.TextIOWrapper(io.BufferedWriter(_Closed("standard output")))
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 (the process's)
    if sys.stdin is None:
        sys.stdin = open(os.devnull, encoding="utf-8")  # noqa: SIM115 (the process's)


def stdout_failed() -> bool:
    """Flush standard output; True when that fails (disk full, closed pipe)."""
    try:
        sys.stdout.flush()
    except OSError:
        return True
    return False


def detach_stdout() -> None:
    """After standard output failed (disk full, closed pipe): drop what is still buffered
    so that the interpreter's final flush does not fail a second time."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass  # not a real file (captured in tests): nothing is flushed at exit
