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
import os
import re
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from opsledger import __version__, gitio
from opsledger.errors import OpsledgerError
from opsledger.sampling.bundle import MANIFEST, derive, sha256
from opsledger.sampling.population import Request, check_seed, parse_where, sample_kind
from opsledger.sampling.snapshot import opened_at
from opsledger.timeutil import format_timestamp, parse_timestamp
from opsledger.workspace import Workspace

_SHA = re.compile(r"[0-9a-f]{40}([0-9a-f]{24})?")
#: a bundle is small; a zip expanding beyond this is not one
MAX_ZIP_BYTES = 512 * 1024 * 1024


@dataclass
class Report:
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    files: int = 0
    commit: str = ""
    sample: list[str] = field(default_factory=list)


def files_in(folder: Path) -> dict[str, bytes | None]:
    """Every file under ``folder`` by POSIX path; None for a link (never followed)."""
    found: dict[str, bytes | None] = {}
    for here, dirs, names in os.walk(folder, followlinks=False):
        base = Path(here)
        for name in list(dirs):
            if (base / name).is_symlink():
                dirs.remove(name)
                found[(base / name).relative_to(folder).as_posix()] = None
        for name in names:
            path = base / name
            rel = path.relative_to(folder).as_posix()
            found[rel] = None if path.is_symlink() else path.read_bytes()
    return found


def _manifest(raw: bytes | None) -> dict[str, Any]:
    try:
        data = json.loads(raw or b"")
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"not valid JSON ({exc})") from None
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


def _ids(text: bytes | None) -> dict[str, list[str]]:
    """population.csv rows by id (first column)."""
    if text is None:
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
        if name not in listed:
            report.problems.append(f"{name}: added (not in {MANIFEST})")
        elif name not in found:
            report.problems.append(f"{name}: missing (listed in {MANIFEST})")
        elif content is None:
            report.problems.append(f"{name}: a symbolic link, not a file of the bundle")
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
    found: dict[str, bytes | None],
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
            f"sample: {', '.join(map(str, data.get('sample') or []))} in {MANIFEST}, but the "
            f"rule gives {', '.join(derived_manifest['sample'])}"
        )
    for name in sorted(derived):
        if name in found and name not in named and found[name] != derived[name]:
            report.problems.append(f"{name}: differs from what the repository gives at the commit")
        elif name not in found and name not in named:
            report.problems.append(f"{name}: missing (the repository gives it at the commit)")
    for name in sorted(set(found) - set(derived) - named):
        report.problems.append(f"{name}: not part of the bundle the repository gives")


@contextmanager
def unpacked(path: Path) -> Iterator[Path]:
    """The bundle folder: ``path`` itself, or the one folder a ``--zip`` archive holds,
    unpacked into a temporary folder (names checked: no absolute path, no ``..``)."""
    if path.is_dir():
        yield path
        return
    if not path.is_file() or not zipfile.is_zipfile(path):
        raise OpsledgerError(f"{path}: no such bundle folder (or bundle .zip)")
    with (
        tempfile.TemporaryDirectory(prefix="opsledger-verify-") as tmp,
        zipfile.ZipFile(path) as zf,
    ):
        total = 0
        tops: set[str] = set()
        for info in zf.infolist():
            parts = PurePosixPath(info.filename).parts
            total += info.file_size
            if info.filename.startswith("/") or ".." in parts or "\\" in info.filename or not parts:
                raise OpsledgerError(
                    f"{path}: holds the unsafe name {info.filename!r}; not a bundle"
                )
            if total > MAX_ZIP_BYTES:
                raise OpsledgerError(f"{path}: expands beyond {MAX_ZIP_BYTES} bytes; not a bundle")
            tops.add(parts[0])
        if len(tops) != 1:
            raise OpsledgerError(f"{path}: a bundle archive holds one folder")
        for info in zf.infolist():
            if info.is_dir():
                continue
            target = Path(tmp, *PurePosixPath(info.filename).parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(zf.read(info))
        yield Path(tmp, tops.pop())
