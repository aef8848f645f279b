"""``opsledger sample verify DIR``: is this bundle what the repository gives?

1. Every file's SHA-256 against ``manifest.json``: a changed, missing or added file is
   named (no repository needed).
2. The commit exists in the repository (else exit status 2, like a missing repository).
3. The bundle is derived again from the repository at that commit, with the manifest's
   kind, period, filters, seed, size and as-of (:mod:`opsledger.sampling.snapshot`), and
   compared file by file: the population (record by record), the sampled ids, and every
   evidence file. A manifest edited to match an edited file is caught here.

Each difference is one line; any difference is exit status 1.
"""

from __future__ import annotations

import csv
import io
import json
import lzma
import os
import re
import stat
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from opsledger import __version__, gitio
from opsledger.errors import OpsledgerError
from opsledger.neutral import short
from opsledger.sampling.bundle import MANIFEST, derive, sha256
from opsledger.sampling.population import Request, check_seed, parse_where, sample_kind
from opsledger.sampling.snapshot import opened_at
from opsledger.timeutil import format_timestamp, parse_timestamp
from opsledger.workspace import Workspace

_SHA = re.compile(r"[0-9a-f]{40}([0-9a-f]{24})?")
#: a bundle is small; a zip expanding beyond this is not one
MAX_ZIP_BYTES = 512 * 1024 * 1024
#: no file of a bundle is larger (record files are capped far below this)
MAX_FILE_BYTES = 64 * 1024 * 1024
#: a bundle's folders are at most three deep (NN-ID/linked/…)
MAX_DEPTH = 16
MAX_FILES = 100_000


@dataclass
class Report:
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    files: int = 0
    commit: str = ""
    sample: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Unread:
    """A path of the folder that is not read: why (a link, a FIFO, too large…)."""

    why: str


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symbolic link, not a file of the bundle"
    if stat.S_ISFIFO(mode):
        return "a named pipe, not a file of the bundle"
    if stat.S_ISSOCK(mode):
        return "a socket, not a file of the bundle"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device, not a file of the bundle"
    return "not a regular file of the bundle"


def files_in(folder: Path) -> dict[str, bytes | Unread]:
    """Every file under ``folder`` by POSIX path, read only when it is a regular file of
    at most MAX_FILE_BYTES (and all together at most MAX_ZIP_BYTES); links, pipes,
    devices, oversized files and folders nested deeper than MAX_DEPTH are named, never
    opened or followed."""
    found: dict[str, bytes | Unread] = {}
    total = 0
    pending: list[tuple[str, str, int]] = [(str(folder), "", 0)]
    while pending:
        here, prefix, depth = pending.pop()
        try:
            with os.scandir(here) as entries:
                listing = sorted(entries, key=lambda e: e.name)
        except OSError as exc:
            if not prefix:
                why = exc.strerror or str(exc)
                raise OpsledgerError(f"{folder}: cannot read the bundle folder ({why})") from None
            found[prefix.rstrip("/")] = Unread(f"a folder that cannot be read ({exc.strerror})")
            continue
        for entry in listing:
            rel = prefix + entry.name
            if len(found) >= MAX_FILES:
                raise OpsledgerError(
                    f"{folder}: not a sample bundle: it holds more than {MAX_FILES} files"
                )
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError as exc:
                found[rel] = Unread(f"cannot be looked at ({exc.strerror or exc})")
                continue
            if stat.S_ISDIR(info.st_mode):
                if depth + 1 > MAX_DEPTH:
                    found[rel] = Unread(f"folders nested deeper than {MAX_DEPTH}; not read")
                else:
                    pending.append((entry.path, rel + "/", depth + 1))
                continue
            if not stat.S_ISREG(info.st_mode):
                found[rel] = Unread(_kind(info.st_mode))
            elif info.st_size > MAX_FILE_BYTES or total + info.st_size > MAX_ZIP_BYTES:
                found[rel] = Unread(
                    f"larger than a bundle's files ({info.st_size} bytes); not read"
                )
            else:
                found[rel] = _read(entry.path, info)
                total += info.st_size
    return found


def _read(path: str, info: os.stat_result) -> bytes | Unread:
    """The bytes of the regular file at ``path`` (opened without following a link,
    without blocking, and checked to be the file looked at)."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        handle = os.open(path, flags)
    except OSError as exc:
        return Unread(f"cannot be read ({exc.strerror or exc})")
    with os.fdopen(handle, "rb") as stream:
        now = os.fstat(stream.fileno())
        if not stat.S_ISREG(now.st_mode) or (now.st_dev, now.st_ino) != (
            info.st_dev,
            info.st_ino,
        ):
            return Unread("changed while it was read; not a file of the bundle")
        data = stream.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        return Unread(f"larger than a bundle's files (over {MAX_FILE_BYTES} bytes); not read")
    return data


def _manifest(raw: bytes | Unread | None) -> dict[str, Any]:
    if isinstance(raw, Unread):
        raise ValueError(raw.why)
    try:
        data = json.loads(raw or b"")
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        why = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise ValueError(f"not valid JSON ({why})") from None
    if not isinstance(data, dict) or data.get("version") != 1 or data.get("tool") != "opsledger":
        raise ValueError("not an opsledger sample manifest (version 1)")
    files = data.get("files")
    if not isinstance(files, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in files.items()
    ):
        raise ValueError("its 'files' is not a map of file name to SHA-256")
    return data


def _map(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _request(data: dict[str, Any]) -> Request:
    """The request the manifest records, checked as the command line checks it."""
    period, size, where = (_map(data.get(key)) for key in ("period", "size", "where"))
    kind, name, seed = data.get("kind"), period.get("name"), data.get("seed")
    as_of, asked = data.get("as_of"), size.get("asked")
    if not all(isinstance(v, str) for v in (kind, name, seed, as_of)):
        raise ValueError("kind, period.name, seed and as_of must be texts")
    if asked is not None and (not isinstance(asked, int) or isinstance(asked, bool) or asked < 1):
        raise ValueError("size.asked must be a positive whole number or null")
    assert isinstance(kind, str) and isinstance(name, str) and isinstance(seed, str)
    assert isinstance(as_of, str)
    texts = [f"{k}={','.join(map(str, v))}" for k, v in where.items() if isinstance(v, list)]
    if len(texts) != len(where):
        raise ValueError("where must map each field to a list of values")
    try:
        moment = format_timestamp(parse_timestamp(as_of))
        return Request(
            kind, name, check_seed(seed), moment, asked, parse_where(sample_kind(kind), texts)
        )
    except (OpsledgerError, ValueError) as exc:
        raise ValueError(getattr(exc, "message", str(exc))) from None


def _ids(text: bytes | Unread | None) -> dict[str, list[str]]:
    """population.csv rows by id (first column)."""
    if not isinstance(text, bytes):
        return {}
    rows = list(csv.reader(io.StringIO(text.decode("utf-8", "replace"))))
    return {row[0]: row for row in rows[1:] if row}


def verify(folder: Path, root: Path) -> Report:
    """Check the bundle in ``folder`` against the repository at ``root``."""
    report = Report()
    found = files_in(folder)
    report.files = len(found)
    if MANIFEST not in found:
        report.problems.append(f"{MANIFEST}: missing; this folder is not a sample bundle")
        return report
    try:
        data = _manifest(found[MANIFEST])
        request = _request(data)
    except ValueError as exc:
        report.problems.append(f"{MANIFEST}: {exc}")
        return report
    listed: dict[str, str] = data["files"]
    for name in sorted(set(found) | set(listed)):
        if name == MANIFEST:
            continue
        content = found.get(name)
        if isinstance(content, Unread):
            report.problems.append(f"{name}: {content.why}")
        elif name not in listed:
            report.problems.append(f"{name}: added (not in {MANIFEST})")
        elif content is None:
            report.problems.append(f"{name}: missing (listed in {MANIFEST})")
        elif sha256(content) != listed[name]:
            report.problems.append(f"{name}: changed (its SHA-256 differs from {MANIFEST})")
    commit = data.get("commit")
    if not isinstance(commit, str) or _SHA.fullmatch(commit) is None:
        report.problems.append(f"{MANIFEST}: 'commit' is not a commit id")
        return report
    report.commit = commit
    if not gitio.commit_exists(root, commit):
        raise OpsledgerError(
            f"commit {commit} of the bundle is not in the repository {root}; pass the "
            "repository it was drawn from (--repo), fetched in full"
        )
    if not gitio.is_ancestor(root, commit, "HEAD"):
        report.notes.append(
            f"commit {commit[:10]} of the bundle is not on the current branch (not an "
            "ancestor of HEAD): the sample was drawn from another branch"
        )
    if data.get("tool_version") != __version__:
        report.notes.append(
            f"the bundle was made by opsledger {data.get('tool_version')}, this is "
            f"{__version__}: derived files may differ in form"
        )
    Workspace(root, as_of=request.as_of).history_state  # noqa: B018 (exit 4 when unusable)
    command = data.get("command") if isinstance(data.get("command"), str) else ""
    with opened_at(root, commit, request.as_of) as opened:
        try:
            again = derive(opened.workspace, request, str(command))
        except OpsledgerError as exc:
            report.problems.append(
                f"the repository at {commit[:10]} gives no sample: {exc.message}"
            )
            return report
    named = {problem.split(": ", 1)[0] for problem in report.problems}
    _compare(report, found, again.files, data, named)
    report.sample = [o.record.id for o in again.outcomes]
    return report


def _compare(
    report: Report,
    found: dict[str, bytes | Unread],
    derived: dict[str, bytes],
    data: dict[str, Any],
    named: set[str],
) -> None:
    """Each difference between the bundle and the one derived again; a file already named
    by the hash check is not named twice."""
    theirs, ours = _ids(found.get("population.csv")), _ids(derived.get("population.csv"))
    for rid in sorted(set(theirs) | set(ours)):
        if rid not in theirs:
            report.problems.append(
                f"population: {rid} is in the population at the commit, not in population.csv"
            )
        elif rid not in ours:
            report.problems.append(
                f"population: {rid} is in population.csv, not in the population at the commit"
            )
        elif theirs[rid] != ours[rid]:
            report.problems.append(f"population: {rid}'s row differs from the record at the commit")
    derived_manifest = json.loads(derived[MANIFEST])
    if data.get("sample") != derived_manifest["sample"]:
        report.problems.append(
            f"sample: {_listed(data.get('sample'))} in {MANIFEST}, but the "
            f"rule gives {', '.join(derived_manifest['sample'])}"
        )
    for name in sorted(derived):
        if name in found and name not in named and found[name] != derived[name]:
            report.problems.append(f"{name}: differs from what the repository gives at the commit")
        elif name not in found and name not in named:
            report.problems.append(f"{name}: missing (the repository gives it at the commit)")
    for name in sorted(set(found) - set(derived) - named):
        report.problems.append(f"{name}: not part of the bundle the repository gives")


def _listed(value: object) -> str:
    """A manifest's ``sample`` as the message shows it: the IDs of a list, else what the
    manifest holds instead (a bundle may come from anywhere), cut when long."""
    if isinstance(value, list):
        shown = ", ".join(map(str, value))
    else:
        shown = f"not a list of record IDs ({json.dumps(value, default=str)})"
    return shown if len(shown) <= 400 else shown[:399] + "…"


@contextmanager
def unpacked(path: Path) -> Iterator[Path]:
    """The bundle folder: ``path`` itself, or the one folder a ``--zip`` archive holds,
    unpacked into a temporary folder (names checked: no absolute path, no ``..``)."""
    if path.is_dir():
        yield path
        return
    if not path.is_file():
        raise OpsledgerError(f"{path}: no such bundle folder (or bundle .zip)")
    if not zipfile.is_zipfile(path):
        raise OpsledgerError(f"{path}: not a sample bundle: not a zip archive")
    with tempfile.TemporaryDirectory(prefix="opsledger-verify-") as tmp:
        try:
            top = _extract(path, Path(tmp))
        except (  # what each of zipfile's decompressors raises on damaged data
            zipfile.BadZipFile,
            zlib.error,
            lzma.LZMAError,
            EOFError,
            RuntimeError,
            NotImplementedError,
            ValueError,
        ) as exc:
            raise OpsledgerError(f"{path}: not a sample bundle: {exc}") from None
        except OSError as exc:
            why = exc.strerror or str(exc)
            raise OpsledgerError(f"{path}: not a sample bundle: cannot unpack it ({why})") from None
        yield top


def _shown(name: str) -> str:
    """An archive member's name as a message shows it: quoted, cut when long."""
    return repr(short(name, 120))


def _extract(path: Path, tmp: Path) -> Path:
    """Unpack the archive at ``path`` into ``tmp`` (each name checked, every size bounded
    by what is actually read, not by what the archive declares); the one folder it holds."""

    def refuse(why: str) -> OpsledgerError:
        return OpsledgerError(f"{path}: not a sample bundle: {why}")

    with zipfile.ZipFile(path) as zf:
        declared = 0
        tops: set[str] = set()
        # one entry per name: an unpacker keeps the first copy of a name, or the last, or
        # (on a case-insensitive disk) either of two names differing in case; the copy
        # verified must be the only one an auditor can get
        names: dict[tuple[str, ...], str] = {}
        for info in zf.infolist():
            parts = PurePosixPath(info.filename).parts
            key = tuple(part.casefold() for part in parts)
            if key in names and not info.is_dir():
                raise refuse(f"it holds {_shown(info.filename)} twice (as {_shown(names[key])})")
            names.setdefault(key, info.filename)
            declared += info.file_size
            if info.filename.startswith("/") or ".." in parts or "\\" in info.filename or not parts:
                raise refuse(f"it holds the unsafe name {_shown(info.filename)}")
            if len(parts) > MAX_DEPTH + 1:
                raise refuse(f"an entry is nested deeper than {MAX_DEPTH} folders")
            if declared > MAX_ZIP_BYTES:
                raise refuse(f"it expands beyond {MAX_ZIP_BYTES} bytes")
            if info.flag_bits & 0x1:
                raise refuse(f"{_shown(info.filename)} is encrypted")
            tops.add(parts[0])
        if len(tops) != 1:
            raise refuse("a bundle archive holds one folder")
        total = 0
        for info in zf.infolist():
            if info.is_dir():
                continue
            target = Path(tmp, *PurePosixPath(info.filename).parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as stream:
                data = stream.read(MAX_FILE_BYTES + 1)
            total += len(data)
            if len(data) > MAX_FILE_BYTES or total > MAX_ZIP_BYTES:
                raise refuse(f"{_shown(info.filename)} expands beyond what a bundle holds")
            target.write_bytes(data)
        return Path(tmp, tops.pop())
