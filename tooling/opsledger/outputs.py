"""Where a command may write: never over what a governance repository governs.

Every output path goes through here: ``--output`` of ``audit``, ``validate``, ``kpi``,
``report``, ``brief``, ``import --problems`` (:func:`check_output_file`), the folder a
sample's evidence bundle is written into (:func:`check_output_folder`), and the folder a
site is built into, ``site build --output`` or ``site_dir`` of ``mkdocs.yml``
(:func:`check_site_folder`; MkDocs empties that folder before every build).

Governed are the record folders, ``schemas/``, the site sources (``site/``, the configured
``docs_dir`` and theme overrides), ``.git``, ``.github/`` and ``.gitlab/``, and the files
``policy.yaml``, ``mkdocs.yml``, ``.pre-commit-config.yaml``, ``.gitlab-ci.yml``,
``.gitattributes`` and ``CODEOWNERS`` (at the root or in ``docs/``; ``.github/`` and
``.gitlab/`` are governed whole). Paths are compared after
resolving ``..`` and symbolic links, against the repository in use and every other
governance repository (a folder holding ``policy.yaml``) above the output.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
from collections.abc import Iterable
from pathlib import Path

from opsledger.errors import OpsledgerError
from opsledger.fsio import printable
from opsledger.model.layout import KINDS
from opsledger.model.policy import POLICY_FILE

GOVERNED_FOLDERS = tuple(
    sorted(
        {k.folder.split("/")[0] for k in KINDS}
        | {"schemas", "site", ".git", ".github", ".gitlab", ".opsledger-state"}
    )
)
GOVERNED_FILES = (
    POLICY_FILE,
    "mkdocs.yml",
    ".pre-commit-config.yaml",
    ".gitlab-ci.yml",
    ".gitattributes",
    # where GitHub and GitLab read the code owners who must approve a change
    "CODEOWNERS",
    "docs/CODEOWNERS",
)
#: left in a folder a site was built into: the next build may empty it again
SITE_MARK = ".opsledger-site"


def _real(path: Path) -> Path:
    return Path(os.path.abspath(path)).resolve()


def _within(path: Path, folder: Path) -> bool:
    return path == folder or path.is_relative_to(folder)


def _roots(target: Path, root: Path | None) -> list[Path]:
    """The repository in use and every governance repository above ``target``."""
    found = [_real(root)] if root is not None else []
    for folder in (target, *target.parents):
        if (folder / POLICY_FILE).is_file() and folder not in found:
            found.append(folder)
    return found


def _governed(root: Path) -> tuple[list[Path], list[Path]]:
    folders = [_real(root / name) for name in GOVERNED_FOLDERS]
    files = [_real(root / name) for name in GOVERNED_FILES]
    return folders, files


def _refuse(given: Path, why: str, label: str = "--output") -> OpsledgerError:
    return OpsledgerError(f"{label} {given}: {why}; choose another path")


def check_output_file(path: Path, *, root: Path | None = None, label: str = "--output") -> None:
    """Refuse an output file that is, or lies inside, something a repository governs (and
    one the filesystem refuses even to look at: a name too long, a loop of links)."""
    try:
        _check_output_file(path, root, label)
    except OSError as exc:
        why = exc.strerror or str(exc)
        raise OpsledgerError(f"{label} {printable(path)}: cannot write: {why}") from None


def _check_output_file(path: Path, root: Path | None, label: str) -> None:
    if os.path.islink(path) and (os.path.isfile(path) or not os.path.exists(path)):
        # a link to a file (or to nowhere yet); /dev/stdout and the like stay usable
        why = "is a symbolic link; outputs are never written through links"
        raise _refuse(path, why, label)
    target = _real(path)
    if ".git" in target.parts:
        raise _refuse(path, "is or lies inside a .git folder", label)
    with contextlib.suppress(OSError):
        if target.is_file() and target.stat().st_nlink > 1:
            why = "has other hard links (a record or policy.yaml would change with it)"
            raise _refuse(path, why, label)
    for repo in _roots(target, root):
        folders, files = _governed(repo)
        if target in files:
            why = f"is {target.name} of the governance repository {repo}"
            raise _refuse(path, why, label)
        for folder in folders:
            if _within(target, folder):
                raise _refuse(path, f"lies inside {folder}, which {repo} governs", label)


def check_site_folder(
    folder: Path,
    *,
    root: Path | None = None,
    protect: Iterable[Path] = (),
    label: str = "--output",
) -> None:
    """Refuse a folder to build a site into that MkDocs must not empty: one that is,
    contains or lies inside a repository root or a governed folder (or any of ``protect``:
    the docs folder, theme overrides, the configuration file), or an existing folder
    holding anything but an earlier site build."""
    target = _real(folder)
    _check_placement(folder, target, root, label, "a build first deletes everything in its folder")
    for item in (_real(p) for p in protect):
        if _within(target, item) or _within(item, target):
            why = f"{_relation(target, item)} {item}, a source of the site"
            raise _refuse(folder, why, label)
    _check_contents(folder, target, label)


def check_output_folder(
    folder: Path, *, root: Path | None = None, force: bool = False, label: str = "--output"
) -> None:
    """Refuse a folder a command writes a set of files into (``sample --output``): one
    that is, contains or lies inside a repository or a governed folder, a file, or an
    existing folder that is not empty. With ``force`` an existing folder is replaced only
    when it is an earlier sample bundle: its ``manifest.json`` an opsledger sample
    manifest naming every file the folder holds (no link, no other file, no folder of
    its own; symbolic links are never followed)."""
    try:
        target = _real(folder)
        _check_placement(folder, target, root, label, "its content would be replaced")
        if not os.path.lexists(folder):
            return
        if os.path.islink(folder) or not stat.S_ISDIR(os.lstat(folder).st_mode):
            raise _refuse(folder, "is not a folder", label)
        names = {entry.name for entry in os.scandir(target)}
        if POLICY_FILE in names or ".git" in names:
            raise _refuse(folder, "is a repository", label)
        if names and not force:
            raise _refuse(
                folder, "exists and is not empty (pass --force to replace an earlier bundle)", label
            )
        if names:
            why = _not_a_bundle(Path(folder))
            if why:
                raise _refuse(
                    folder, f"{why}; --force replaces only an earlier sample bundle", label
                )
    except OSError as exc:
        raise OpsledgerError(
            f"{label} {printable(folder)}: cannot write: {exc.strerror or exc}"
        ) from None


#: a bundle holds a few hundred files at most, a few folders deep
_BUNDLE_MAX_FILES = 100_000
_BUNDLE_MAX_DEPTH = 8
MANIFEST_MAX_BYTES = 64 * 1024 * 1024


def sample_manifest_files(raw: bytes) -> dict[str, object] | None:
    """The files an opsledger sample manifest lists (by name), or None when ``raw`` is
    not one."""
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    listed = data.get("files") if isinstance(data, dict) else None
    if (
        not isinstance(data, dict)
        or data.get("tool") != "opsledger"
        or data.get("version") != 1
        or not isinstance(data.get("seed"), str)
        or not isinstance(data.get("rule"), str)
        or not isinstance(listed, dict)
    ):
        return None
    return listed


def _not_a_bundle(folder: Path) -> str:
    """Why ``folder`` is not an earlier sample bundle ("" when it is one)."""
    manifest = folder / "manifest.json"
    try:
        info = os.lstat(manifest)
    except FileNotFoundError:
        return "holds no manifest.json, so it is not an earlier sample bundle"
    if not stat.S_ISREG(info.st_mode) or info.st_size > MANIFEST_MAX_BYTES:
        return "its manifest.json is not a regular file of a sample bundle"
    listed = sample_manifest_files(manifest.read_bytes())
    if listed is None:
        return "its manifest.json is not an opsledger sample manifest"
    expected = {*listed, "manifest.json"}
    count = 0
    pending = [(folder, "", 0)]
    while pending:
        here, prefix, depth = pending.pop()
        with os.scandir(here) as entries:
            listing = list(entries)
        for entry in listing:
            rel = prefix + entry.name
            count += 1
            if count > _BUNDLE_MAX_FILES or depth > _BUNDLE_MAX_DEPTH:
                return "holds more than a sample bundle does"
            if entry.is_symlink():
                return f"holds the symbolic link {printable(rel)}, which no sample bundle has"
            if entry.is_dir(follow_symlinks=False):
                pending.append((Path(entry.path), rel + "/", depth + 1))
            elif not entry.is_file(follow_symlinks=False) or rel not in expected:
                return f"holds {printable(rel)}, which its manifest.json does not list"
    return ""


def _check_placement(folder: Path, target: Path, root: Path | None, label: str, why: str) -> None:
    """Refuse ``target`` when it is, contains or lies inside a repository root or a
    governed folder, or contains a governed file."""
    if ".git" in target.parts:
        raise _refuse(folder, "is or lies inside a .git folder", label)
    for repo in _roots(target, root):
        if _within(repo, target):
            raise _refuse(
                folder,
                f"{_relation(target, repo)} the governance repository {repo}, and {why}",
                label,
            )
        folders, files = _governed(repo)
        for item in folders:
            if _within(target, item) or _within(item, target):
                reason = f"{_relation(target, item)} {item}, which {repo} governs"
                raise _refuse(folder, reason, label)
        for item in files:
            if _within(item, target):
                raise _refuse(folder, f"contains {item}, which {repo} governs", label)


def _relation(target: Path, item: Path) -> str:
    if target == item:
        return "is"
    return "contains" if item.is_relative_to(target) else "lies inside"


def _check_contents(given: Path, target: Path, label: str) -> None:
    if not target.exists():
        return
    if not target.is_dir():
        raise _refuse(given, "is not a folder", label)
    names = {entry.name for entry in os.scandir(target)}
    if POLICY_FILE in names or ".git" in names:
        raise _refuse(given, "is a repository; building there would delete its files", label)
    visible = {name for name in names if not name.startswith(".")}
    # only the mark this tool leaves says the folder is a site it built: an index.html
    # proves nothing (a GitHub Pages docs/ folder, a home folder holding one)
    if visible and SITE_MARK not in names:
        raise _refuse(
            given,
            "holds files and is not a site opsledger built before (no "
            f"{SITE_MARK} in it), and a build first deletes everything in it; use a new or "
            "empty folder",
            label,
        )


def mark_site_folder(folder: Path) -> None:
    """Create ``folder`` if needed and mark it as a site build (after the check passed)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        mark = folder / SITE_MARK
        if not mark.exists():
            mark.write_text(
                "A site built by opsledger; every build empties this folder.\n", encoding="utf-8"
            )
    except OSError as exc:
        raise OpsledgerError(
            f"cannot write the site into {folder}: {exc.strerror or exc}"
        ) from None
