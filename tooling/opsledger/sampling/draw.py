"""Drawing a sample and writing its bundle: ``opsledger sample``."""

from __future__ import annotations

import contextlib
import lzma
import os
import shutil
import stat
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from opsledger.errors import OpsledgerError
from opsledger.outputs import (
    MANIFEST_MAX_BYTES,
    check_output_file,
    check_output_folder,
    sample_manifest_files,
)
from opsledger.sampling.bundle import Bundle, derive
from opsledger.sampling.population import (
    Request,
    check_seed,
    parse_where,
    period_of,
    sample_kind,
)
from opsledger.sampling.snapshot import opened_at
from opsledger.timeutil import format_timestamp
from opsledger.workspace import Workspace


@dataclass(frozen=True)
class Drawn:
    bundle: Bundle
    #: uncommitted files the sample leaves out (it is of the commit)
    left_out: tuple[str, ...]


def draw(
    root: Path,
    kind: str,
    period: str,
    seed: str,
    n: int | None,
    where: tuple[str, ...],
    as_of: str | None,
    output: str,
) -> Drawn:
    """The bundle of a sample of HEAD. The request is checked first (exit 2), then
    history is decided (exit 4 on a shallow clone: provenance needs it), then derived."""
    ws = Workspace(root, as_of=as_of)
    chosen = sample_kind(kind)  # usage errors first (exit 2), as for every command
    request = Request(
        kind,
        period,
        check_seed(seed),
        format_timestamp(ws.as_of),
        n,
        parse_where(chosen, where),
    )
    chosen_period = period_of(period, ws.policy.timezone, ws.as_of)
    end = chosen_period.end
    if as_of is not None and end is not None and ws.as_of < end:
        raise OpsledgerError(
            f"--as-of {format_timestamp(ws.as_of)} is before the end of --period {period} "
            f"({format_timestamp(end)}); a sample of a period is judged as of a moment after "
            "it ends: pass a later --as-of, or leave it out to sample the period so far"
        )
    ws.history_state  # noqa: B018 (the one history decision: exit 4 before any work)
    commit = ws.commit
    if commit is None:
        raise OpsledgerError("the repository has no commit yet; a sample is drawn from a commit")
    with opened_at(root, commit, request.as_of) as opened:
        bundle = derive(opened.workspace, request, request.command(output))
    return Drawn(bundle, opened.left_out)


def archive_of(folder: Path) -> Path:
    """``OUTPUT.zip`` beside the bundle folder ``OUTPUT``."""
    return folder.with_name(folder.name + ".zip")


def check_archive(folder: Path, *, force: bool) -> Path:
    """Refuse ``OUTPUT.zip`` before anything is written: a link, a folder or any other
    file that is not a regular one, and an existing archive without ``force``."""
    archive = archive_of(folder)
    check_output_file(archive, label="--zip")
    try:
        info = os.lstat(archive)
    except FileNotFoundError:
        return archive
    except OSError as exc:
        raise OpsledgerError(f"--zip {archive}: cannot write: {exc.strerror or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        raise OpsledgerError(
            f"--zip {archive}: exists and is not a regular file; choose another --output"
        )
    if not force:
        raise OpsledgerError(
            f"--zip: {archive} exists (pass --force to replace it, or choose another --output)"
        )
    why = _not_a_bundle_archive(archive, folder.name)
    if why:
        raise OpsledgerError(
            f"--zip {archive}: {why}; --force replaces only an earlier sample bundle: "
            "choose another --output"
        )
    return archive


def _not_a_bundle_archive(archive: Path, name: str) -> str:
    """Why ``archive`` is not an earlier bundle archive of the folder ``name`` ("" when it
    is one): a zip of that one folder, its ``manifest.json`` an opsledger sample manifest
    listing every file the archive holds."""
    try:
        with zipfile.ZipFile(archive) as zf:
            infos = [i for i in zf.infolist() if not i.is_dir()]
            files = {i.filename for i in infos}
            manifest = (
                zf.getinfo(f"{name}/manifest.json") if f"{name}/manifest.json" in files else None
            )
            if manifest is None or manifest.file_size > MANIFEST_MAX_BYTES:
                return "exists and holds no manifest.json of a sample bundle"
            with zf.open(manifest) as stream:
                listed = sample_manifest_files(stream.read(MANIFEST_MAX_BYTES + 1))
    except (  # what a damaged archive raises (as sample verify lists them)
        zipfile.BadZipFile,
        zlib.error,
        lzma.LZMAError,
        OSError,
        ValueError,
        EOFError,
        RuntimeError,
        NotImplementedError,
    ):
        return "exists and is not a zip archive of a sample bundle"
    if listed is None:
        return "exists and its manifest.json is not an opsledger sample manifest"
    if files != {f"{name}/{n}" for n in (*listed, "manifest.json")}:
        return "exists and holds files its manifest.json does not list"
    return ""


def write(bundle: Bundle, folder: Path, *, force: bool, zip_too: bool) -> Path | None:
    """Write the bundle into ``folder`` whole (a temporary folder beside it, then renamed;
    an existing folder is replaced only with ``force`` and only when it is an earlier
    bundle), and ``folder``.zip if asked (staged in a new temporary file beside it)."""
    check_output_folder(folder, force=force)
    archive = check_archive(folder, force=force) if zip_too else None
    parent = folder.absolute().parent
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".opsledger-sample-", dir=parent))
    try:
        for name, data in bundle.files.items():
            target = staging / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        if os.path.lexists(folder):
            shutil.rmtree(folder)
        os.replace(staging, folder)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    if archive is None:
        return None
    handle, staged_name = tempfile.mkstemp(
        prefix=f".{archive.name}.", suffix=".partial", dir=parent
    )
    staged = Path(staged_name)
    try:
        with os.fdopen(handle, "wb") as raw, zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as out:
            for name in sorted(bundle.files):
                info = zipfile.ZipInfo(f"{folder.name}/{name}", date_time=(1980, 1, 1, 0, 0, 0))
                info.external_attr = 0o644 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                out.writestr(info, bundle.files[name])
        os.chmod(staged, 0o644)
        os.replace(staged, archive)
    finally:
        with contextlib.suppress(OSError):
            staged.unlink()
    return archive
