"""Exclusive, atomic edits of a governance repository's files.

Every command that changes a file the repository governs (``approve``, ``new``, ``import``,
``init``) goes through here, so that no edit is ever lost or half-written:

* :func:`locked` holds the repository's lock for one read-compute-write. It is an operating
  system file lock (``filelock``: ``flock`` on Unix), which the kernel releases when its
  process dies: a killed command never blocks the next one. A second command waits for the
  first (up to :data:`EDIT_WAIT` seconds), or, for ``import``, refuses at once.
* :func:`replace_if` is a compare-and-swap: the file is replaced only if it still holds
  exactly the bytes the edit was computed from (else :class:`Conflict`), through a temporary
  file that is written, flushed to disk and renamed over the old one, so readers see the old
  file or the new one, never a mix.
* :func:`create_exclusive` creates a file only if no file of that name exists, with its whole
  content at once (``link`` of a finished temporary file, else ``O_EXCL``).

Temporary files and lock files live in :func:`state_dir`, a private folder that git never
commits: ``.git/opsledger/`` (per worktree), or outside git ``.opsledger-state/`` holding a
``.gitignore`` that ignores the folder itself.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import math
import os
import secrets
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from opsledger import gitio
from opsledger.errors import OpsledgerError

#: how long an edit waits for another one to finish before giving up (seconds);
#: the environment variable OPSLEDGER_LOCK_WAIT overrides it
EDIT_WAIT = 60.0
FALLBACK_STATE = ".opsledger-state"
_TMP = "tmp"


class Conflict(OpsledgerError):
    """The file changed between the moment it was read and the moment it was to be written."""


def digest(data: bytes | None) -> str | None:
    return None if data is None else hashlib.sha256(data).hexdigest()


def state_dir(root: Path) -> Path:
    """opsledger's private working folder for the repository at ``root`` (created), which
    git never commits."""
    private = gitio.private_dir(root, "opsledger")
    if private is not None:
        try:
            private.mkdir(parents=True, exist_ok=True)
            return private
        except OSError:
            pass  # a git folder this user may not write to
    folder = root / FALLBACK_STATE
    if folder.is_symlink() or (os.path.lexists(folder) and not folder.is_dir()):
        raise OpsledgerError(
            f"{folder} is not a folder (a symbolic link?); opsledger keeps its locks and "
            "staging there: remove it"
        )
    try:
        folder.mkdir(exist_ok=True)
        if not (folder / ".gitignore").exists():
            (folder / ".gitignore").write_text("# opsledger's locks and staging\n*\n")
    except OSError as exc:
        raise OpsledgerError(f"cannot create {folder}: {exc.strerror or exc}") from None
    return folder


def other_state_dirs(root: Path) -> list[Path]:
    """State folders used before this one (``.opsledger-state/`` when the repository has
    since become a git repository), where a killed command may have left work."""
    fallback = root / FALLBACK_STATE
    if state_dir(root) == fallback or fallback.is_symlink() or not fallback.is_dir():
        return []
    return [fallback]


# --- the lock ---------------------------------------------------------------------------


def _holder(owner: Path) -> str:
    try:
        info = json.loads(owner.read_text(encoding="utf-8"))
        since = time.strftime("%H:%M:%S", time.localtime(float(info["since"])))
        return f" ({info['what']}, pid {int(info['pid'])} on {info['host']}, since {since})"
    except (OSError, ValueError, KeyError, TypeError):
        return ""


def lock_wait() -> float:
    """Seconds an edit waits for the lock: OPSLEDGER_LOCK_WAIT, else :data:`EDIT_WAIT`."""
    raw = os.environ.get("OPSLEDGER_LOCK_WAIT", "").strip()
    if not raw:
        return EDIT_WAIT
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not 0 <= value <= 86400:
        raise OpsledgerError(
            f"OPSLEDGER_LOCK_WAIT={raw!r}: give the seconds to wait for another command's "
            "lock, 0 to 86400"
        )
    return value


@contextmanager
def locked(
    root: Path, what: str, *, name: str = "edit", wait: float | None = None
) -> Iterator[Path]:
    """Hold the repository's ``name`` lock while the block runs; yield :func:`state_dir`.

    ``wait`` is how long to wait for another holder (0: refuse at once; default
    :func:`lock_wait`). Raises :class:`OpsledgerError` naming the holder when the lock
    stays taken."""
    wait = lock_wait() if wait is None else wait
    folder = state_dir(root)
    lock = FileLock(str(folder / f"{name}.lock"), thread_local=False)
    owner = folder / f"{name}.owner"
    try:
        lock.acquire(timeout=wait, blocking=wait > 0)
    except Timeout:
        if name == "import":
            busy = f"another import is running in {root}{_holder(owner)}"
        else:
            busy = f"another opsledger command is changing files in {root}{_holder(owner)}"
        waited = f"; gave up after {wait:g} s (OPSLEDGER_LOCK_WAIT)" if wait > 0 else ""
        raise OpsledgerError(f"{busy}{waited}; run this again once it has finished") from None
    except OSError as exc:
        raise OpsledgerError(f"cannot lock {folder / name}.lock: {exc}") from None
    try:
        info = {
            "what": what,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": time.time(),
        }
        with contextlib.suppress(OSError):
            owner.write_text(json.dumps(info), encoding="utf-8")
        if name == "edit":
            _sweep(folder / _TMP)
        yield folder
    finally:
        lock.release()


def _sweep(folder: Path) -> None:
    """Remove temporary files a killed edit left behind (the edit lock is held: none is live)."""
    with contextlib.suppress(OSError):
        for path in folder.iterdir():
            with contextlib.suppress(OSError):
                path.unlink()


# --- writing ------------------------------------------------------------------------------


def read_or_none(path: Path) -> bytes | None:
    """The file's bytes, or None when it does not exist."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _fsync_dir(folder: Path) -> None:
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)
    try:
        fd = os.open(folder, flags)
    except OSError:
        return  # not possible on this platform
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def _temporary(folder: Path, data: bytes) -> Path:
    """A new file in ``folder`` holding ``data``, flushed to disk (mode from the umask)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f".opsledger-{secrets.token_hex(6)}.tmp"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def _near(path: Path, temp_dir: Path | None, data: bytes) -> Path:
    """A finished temporary file for ``path``: in ``temp_dir`` when it is on the same
    filesystem (outside the working tree), else beside ``path``."""
    if temp_dir is not None:
        try:
            temp_dir.mkdir(parents=True, exist_ok=True)
            same = temp_dir.stat().st_dev == path.parent.stat().st_dev
        except OSError:
            same = False
        if same:
            return _temporary(temp_dir, data)
    return _temporary(path.parent, data)


def write_atomic(path: Path, data: bytes, *, temp_dir: Path | None = None) -> None:
    """Replace (or create) ``path`` with ``data`` in one step, keeping an existing file's
    permissions; a link at ``path`` is replaced, never written through."""
    tmp = _near(path, temp_dir, data)
    try:
        with contextlib.suppress(FileNotFoundError):
            os.chmod(tmp, path.stat().st_mode & 0o7777)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def create_exclusive(path: Path, data: bytes, *, temp_dir: Path | None = None) -> bool:
    """Create ``path`` holding ``data`` unless something of that name exists (False then).
    The file appears with its whole content (hard link of a finished temporary file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _near(path, temp_dir, data)
    try:
        os.link(tmp, path)
    except FileExistsError:
        return False
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.EXDEV, errno.ENOTSUP, errno.EMLINK, errno.EACCES):
            raise
        return _create_direct(path, data)
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(path.parent)
    return True


def _create_direct(path: Path, data: bytes) -> bool:
    """``O_EXCL`` creation, for filesystems without hard links."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    except FileExistsError:
        return False
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    return True


def replace_if(
    path: Path, expected: bytes | None, data: bytes, *, temp_dir: Path | None = None
) -> None:
    """Write ``data`` to ``path`` only if it still holds ``expected`` (None: if it does not
    exist); raise :class:`Conflict` otherwise. Call it holding :func:`locked`."""
    if path.is_symlink():
        raise Conflict(f"{path} is a symbolic link; refusing to write through it")
    if read_or_none(path) != expected:
        raise Conflict(f"{path} changed while this command ran; nothing was written, run it again")
    if expected is None:
        if not create_exclusive(path, data, temp_dir=temp_dir):
            raise Conflict(f"{path} appeared while this command ran; nothing was written")
        return
    write_atomic(path, data, temp_dir=temp_dir)


def temp_dir(state: Path) -> Path:
    """Where edits made under :func:`locked` put their temporary files."""
    return state / _TMP
