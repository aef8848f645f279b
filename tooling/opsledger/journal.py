"""A change to many files that a kill cannot leave half-done: staged, sealed, applied, and
finished by the next run.

``import`` writes thousands of records and then ``policy.yaml``; a process killed in the
middle must leave nothing that the next run cannot complete exactly. The journal lives in
opsledger's private folder (:func:`opsledger.fileedit.state_dir`: never in what git
commits):

1. **stage**: each new file content goes to ``<state>/<name>/files/<n>``;
2. **seal**: the staged files are flushed to disk, then ``journal.json`` (each target with
   the digest of what it held when it was read and of what it will hold) is written
   atomically. Before the seal nothing has been decided; from it, the change is decided;
3. **apply** (holding the repository's edit lock): a target that still holds what was read
   (or is still missing, for a new file) is replaced by its staged file in one rename; a
   target already holding the new content was done before; anything else was changed by
   someone meanwhile, is left alone and reported as a conflict;
4. the journal folder is removed.

:func:`recover`, run by the next holder of the same lock, finishes a sealed journal (roll
forward) or removes an unsealed one (nothing had been written).

Test-only hook: with ``OPSLEDGER_TEST_PAUSE=<phase>:<n>`` (phase ``stage`` or ``apply``) the
process creates ``<state>/<name>/paused`` after its n-th staged or applied file and waits
until that file is removed, so that tests can SIGKILL it at a known point, or change a file
under it and let it go on.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from opsledger import fileedit
from opsledger.errors import OpsledgerError

Progress = Callable[[int, int], None]
SEALED = "journal.json"
PAUSE = "OPSLEDGER_TEST_PAUSE"


@dataclass(frozen=True)
class Step:
    target: str  # repository-relative, POSIX separators
    staged: str  # file name under files/
    before: str | None  # digest of what the target held when read; None: it did not exist
    after: str  # digest of the new content


@dataclass
class Applied:
    """What applying a journal did."""

    written: list[str] = field(default_factory=list)
    done_before: list[str] = field(default_factory=list)  # held the new content already
    conflicts: list[str] = field(default_factory=list)  # changed by someone meanwhile


def _safe_target(root: Path, rel: str) -> Path:
    """``root / rel`` when it stays inside ``root`` with no link on the way."""
    parts = PurePosixPath(rel).parts
    if not parts or PurePosixPath(rel).is_absolute() or ".." in parts or "." in parts:
        raise OpsledgerError(f"{rel}: not a path inside the repository; refusing to write")
    here = root
    for part in parts:
        here = here / part
        if here.is_symlink():
            raise OpsledgerError(f"{here} is a symbolic link; refusing to write through it")
    return here


def _pause(folder: Path, phase: str, count: int) -> None:
    if os.environ.get(PAUSE) == f"{phase}:{count}":
        marker = folder / "paused"
        marker.touch()
        while marker.exists():
            time.sleep(0.01)


def _flush() -> None:
    """Everything written so far on disk (one call; per-file fsync costs ms per file)."""
    sync = getattr(os, "sync", None)
    if sync is not None:
        sync()


class Journal:
    """One change to many files under ``root``, staged in ``folder``."""

    def __init__(self, root: Path, folder: Path, steps: list[Step] | None = None) -> None:
        self.root = root
        self.folder = folder
        self.steps: list[Step] = steps or []
        self.sealed = steps is not None

    @classmethod
    def begin(cls, root: Path, state: Path, name: str) -> Journal:
        """A new, empty journal (:func:`recover` has removed any earlier one)."""
        folder = state / name
        if os.path.lexists(folder):
            raise OpsledgerError(f"{folder} exists: an earlier run was not finished")
        (folder / "files").mkdir(parents=True)
        return cls(root, folder)

    def stage(self, target: str, data: bytes, before: bytes | None) -> None:
        if self.sealed:
            raise RuntimeError("journal already sealed")
        _safe_target(self.root, target)
        staged = str(len(self.steps))
        (self.folder / "files" / staged).write_bytes(data)
        digest = fileedit.digest(data)
        assert digest is not None
        self.steps.append(Step(target, staged, fileedit.digest(before), digest))
        _pause(self.folder, "stage", len(self.steps))

    def seal(self) -> None:
        """Decide the change: from here a killed run is finished by the next one."""
        _flush()
        data = {"version": 1, "steps": [vars(step) for step in self.steps]}
        fileedit.write_atomic(self.folder / SEALED, json.dumps(data, indent=1).encode())
        self.sealed = True

    def apply(self, progress: Progress | None = None) -> Applied:
        """Write every step whose target is as it was read; call it holding the edit lock."""
        if not self.sealed:
            raise RuntimeError("journal not sealed")
        applied = Applied()
        total = len(self.steps)
        for number, step in enumerate(self.steps, 1):
            self._apply(step, applied)
            _pause(self.folder, "apply", number)
            if progress is not None and (number % 512 == 0 or number == total):
                progress(number, total)
        _flush()
        self.discard()
        return applied

    def _apply(self, step: Step, applied: Applied) -> None:
        try:
            target = _safe_target(self.root, step.target)
            current = fileedit.digest(fileedit.read_or_none(target))
        except (OpsledgerError, OSError):  # now a link, a folder, unreadable
            applied.conflicts.append(step.target)
            return
        staged = self.folder / "files" / step.staged
        if current == step.after:
            applied.done_before.append(step.target)
        elif current == step.before and staged.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            _move(staged, target)
            applied.written.append(step.target)
        else:
            applied.conflicts.append(step.target)

    def discard(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def _move(staged: Path, target: Path) -> None:
    """Rename ``staged`` over ``target`` (one step); across filesystems, an atomic copy."""
    try:
        os.replace(staged, target)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        fileedit.write_atomic(target, staged.read_bytes())
        staged.unlink()


def _load(folder: Path) -> list[Step] | None:
    try:
        data: Any = json.loads((folder / SEALED).read_text(encoding="utf-8"))
        return [
            Step(str(s["target"]), str(s["staged"]), s["before"], str(s["after"]))
            for s in data["steps"]
        ]
    except (OSError, ValueError, KeyError, TypeError):
        return None


@dataclass(frozen=True)
class Recovered:
    """What :func:`recover` found and did."""

    finished: Applied | None  # a sealed journal, rolled forward
    removed: bool  # an unsealed staging folder, removed (nothing had been written)


def pending(state: Path, name: str) -> bool:
    """A journal is waiting to be finished or removed."""
    return os.path.lexists(state / name)


def recover(
    root: Path, state: Path, name: str, progress: Progress | None = None
) -> Recovered | None:
    """Finish or remove what an earlier, killed run left; None when it left nothing.
    Call it holding the lock that guards ``name`` and the edit lock."""
    folder = state / name
    if not os.path.lexists(folder):
        return None
    if folder.is_symlink() or not folder.is_dir():
        with contextlib.suppress(OSError):
            folder.unlink()
        return Recovered(None, True)
    steps = _load(folder)
    if steps is None:
        shutil.rmtree(folder, ignore_errors=True)
        return Recovered(None, True)
    journal = Journal(root, folder, steps)
    return Recovered(journal.apply(progress), False)
