"""Where records live (SPEC §1) and which kind each file is.

Walking never follows symlinks: a linked file or folder is reported, never read, and so is
a record folder reached through one (``records/`` itself, or ``records/incidents``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from opsledger.errors import OpsledgerError

SERVICES_FILE = "records/services.yaml"


@dataclass(frozen=True)
class Kind:
    name: str
    folder: str
    suffix: str
    pattern: re.Pattern[str]
    example: str
    slug_allowed: bool = False


#: the longest record ID the schemas take (their ``*_id`` definitions' maxLength)
MAX_ID = 40

KINDS: tuple[Kind, ...] = (
    Kind(
        "incident",
        "records/incidents",
        ".yaml",
        re.compile(r"INC-[0-9]{4}-[0-9]{4,}"),
        "INC-2026-0042.yaml",
    ),
    Kind(
        "change",
        "records/changes",
        ".yaml",
        re.compile(r"CHG-[0-9]{4}-[0-9]{4,}"),
        "CHG-2026-0107.yaml",
    ),
    Kind("pir", "records/pirs", ".md", re.compile(r"PIR-[0-9]{4}-[0-9]{4,}"), "PIR-2026-0042.md"),
    Kind(
        "runbook",
        "runbooks",
        ".md",
        re.compile(r"RB-[0-9]{4,}"),
        "RB-0003-orders-db-pool.md",
        slug_allowed=True,
    ),
    Kind(
        "problem",
        "records/problems",
        ".md",
        re.compile(r"PRB-[0-9]{4}-[0-9]{4,}"),
        "PRB-2026-0007.md",
    ),
)
KIND_BY_NAME = {kind.name: kind for kind in KINDS}
IGNORED_NAMES = frozenset({"README.md", ".gitkeep", ".keep"})


def kind_of_id(record_id: str) -> Kind | None:
    """The kind whose ID pattern ``record_id`` fully matches (ASCII only)."""
    for kind in KINDS:
        if kind.pattern.fullmatch(record_id) and record_id.isascii():
            return kind
    return None


def stem_matches(kind: Kind, stem: str, record_id: str) -> bool:
    if stem == record_id:
        return True
    return kind.slug_allowed and stem.startswith(record_id + "-") and len(stem) > len(record_id) + 1


@dataclass(frozen=True)
class Entry:
    """A file found under a record folder: its kind, or why it is not a record."""

    path: str  # repository-relative, POSIX separators
    kind: Kind | None
    problem: str = ""


LINKED = "is a symbolic link; links are refused and never followed"
NESTED = (
    "is a git repository of its own (a submodule or a nested clone), whose history is not "
    "this repository's; move its records into the governance repository"
)


def linked_folder(root: Path, rel: str) -> str | None:
    """The first step from ``root`` to the repository path ``rel`` (``rel`` included) that
    is a symbolic link, as a repository path; None when there is none."""
    parts = PurePosixPath(rel).parts
    here = root
    for index, part in enumerate(parts):
        here = here / part
        if here.is_symlink():
            return "/".join(parts[: index + 1])
    return None


def refuse_linked_folder(root: Path, rel: str) -> None:
    """Raise :class:`OpsledgerError` when writing under ``rel`` would go through a link
    (``opsledger new`` or ``import`` would write wherever it points), into a repository of
    its own, or where a file stands in for a folder on the way."""
    linked = linked_folder(root, rel)
    if linked is not None:
        raise OpsledgerError(
            f"{root / linked} {LINKED}; nothing is written through it (replace the link "
            "with the folder itself)"
        )
    nested = nested_folder(root, rel)
    if nested is not None:  # every command would refuse what is written there
        raise OpsledgerError(f"{root / nested} {NESTED}; nothing is written into it")
    parts = rel.split("/")
    for end in range(1, len(parts) + 1):
        folder = os.path.join(root, *parts[:end])
        if os.path.lexists(folder) and not os.path.isdir(folder):
            raise OpsledgerError(
                f"{folder} is not a folder; nothing can be written into it (move the file "
                "away, then run again)"
            )


def nested_folder(root: Path, rel: str) -> str | None:
    """The first folder on the way from the repository's root to the path ``rel`` in a
    record folder (``records/`` and ``rel`` included) that is a git repository of its own
    (it holds a ``.git``), or None."""
    parts = rel.split("/")
    for kind in KINDS:
        if rel == kind.folder or rel.startswith(kind.folder + "/"):
            for end in range(1, len(parts) + 1):
                folder = "/".join(parts[:end])
                if os.path.lexists(os.path.join(root, folder, ".git")):
                    return folder
            return None
    return None


def walk(root: Path) -> Iterator[Entry]:
    """Every file under the record folders, in a stable order."""
    reported: set[str] = set()
    for kind in KINDS:
        base = root / kind.folder
        linked = linked_folder(root, kind.folder)
        if linked is not None:
            if linked not in reported:
                reported.add(linked)
                yield Entry(linked, kind, LINKED)
            continue
        if not base.is_dir():
            continue
        nested = nested_folder(root, kind.folder)
        if nested is not None:
            if nested not in reported:
                reported.add(nested)
                yield Entry(nested, kind, NESTED)
            continue
        top = len(os.fspath(base)) + 1  # paths below are built as text: cheap at 10^5 files
        for folder, dirs, files in os.walk(base, followlinks=False):
            dirs.sort()
            inner = folder[top:].replace(os.sep, "/")
            prefix = f"{kind.folder}/{inner}/" if inner else f"{kind.folder}/"
            for name in list(dirs):
                if os.path.islink(os.path.join(folder, name)):
                    dirs.remove(name)
                    yield Entry(prefix + name, kind, LINKED)
                elif name.startswith("."):
                    dirs.remove(name)
                elif os.path.lexists(os.path.join(folder, name, ".git")):
                    dirs.remove(name)
                    yield Entry(prefix + name, kind, NESTED)
            for name in sorted(files):
                if name.startswith(".") or name in IGNORED_NAMES:
                    continue
                rel = prefix + name
                if not name.endswith(kind.suffix):
                    yield Entry(
                        rel,
                        None,
                        f"not a record file: {kind.folder}/ holds files named like {kind.example}",
                    )
                else:
                    yield Entry(rel, kind)


def classify(root: Path, path: Path) -> Entry | None:
    """The entry for one file given on the command line, or None if it is no record
    (the catalog, or a file that :func:`walk` skips too, such as a folder's README.md)."""
    rel = _rel(root, path)
    if rel == SERVICES_FILE or skipped(rel):
        return None
    for kind in KINDS:
        if rel.startswith(kind.folder + "/"):
            linked = linked_folder(root, str(PurePosixPath(rel).parent))
            if linked is not None:
                return Entry(rel, kind, f"is inside {linked}, which {LINKED}")
            nested = nested_folder(root, str(PurePosixPath(rel).parent))
            if nested is not None:
                return Entry(rel, kind, f"is inside {nested}, which {NESTED}")
            if not rel.endswith(kind.suffix):
                return Entry(
                    rel,
                    None,
                    f"not a record file: {kind.folder}/ holds files named like {kind.example}",
                )
            return Entry(rel, kind)
    return None


def record_path(rel: str) -> bool:
    """Could the repository path ``rel`` hold a record, as :func:`walk` reads them: in a
    record folder, named with its kind's suffix, not a file the walk skips (a dot file, a
    folder's README.md) nor inside a dot folder. The history reads records at these paths
    only: a record moved to ``.INC-2026-0002.yaml`` or ``runbooks/README.md`` has left."""
    name = rel.rsplit("/", 1)[-1]
    return (
        any(rel.startswith(k.folder + "/") and rel.endswith(k.suffix) for k in KINDS)
        and name not in IGNORED_NAMES
        and not any(part.startswith(".") for part in rel.split("/"))
    )


def skipped(rel: str) -> bool:
    """A file inside a record folder that is not a record by design (README.md, .gitkeep,
    dot files): never read, never reported."""
    name = rel.rsplit("/", 1)[-1]
    inside = any(rel.startswith(kind.folder + "/") for kind in KINDS)
    return inside and (name.startswith(".") or name in IGNORED_NAMES)


def governed(rel: str) -> bool:
    """Is the repository path ``rel`` one opsledger governs (a record folder or file, the
    catalog, ``policy.yaml``)? Anything else given to ``validate`` or ``audit`` is refused
    rather than silently passing as "0 errors"."""
    if rel in (SERVICES_FILE, "policy.yaml"):
        return True
    return any(rel == kind.folder or rel.startswith(kind.folder + "/") for kind in KINDS)


#: files any record's verdict may read: a change to one is judged by the full audit
EVERY_VERDICT = ("policy.yaml", SERVICES_FILE)
#: folders of such files
EVERY_VERDICT_FOLDERS = ("schemas/",)
#: the site's sources (the packaged ``mkdocs.yml`` reads ``site/``)
SITE_SOURCES = ("mkdocs.yml", "site/")


def reads_everything(path: str) -> bool:
    """Does a change to the repository file ``path`` bear on every record's verdict? The
    policy, the service catalog, the schemas, and a ``.gitattributes`` (how git shows,
    compares and searches the files the gate reads through it: one marking the records
    binary would hide them from git grep; one giving them another working-tree encoding
    would make a changed file look unchanged to git diff)."""
    return (
        path in EVERY_VERDICT
        or path.startswith(EVERY_VERDICT_FOLDERS)
        or path.rsplit("/", 1)[-1] == ".gitattributes"
    )


def read_by_commands(path: str) -> bool:
    """Is the repository file ``path`` one the commands read (a record, the catalog, the
    policy, a schema, a ``.gitattributes``, the site's sources)? A checkout that leaves one
    out of the working tree would be judged short (:func:`opsledger.gitio.history_problem`)."""
    return governed(path) or reads_everything(path) or path.startswith(SITE_SOURCES)


def _rel(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()
