"""Which records a pull request touches: ``--changed-since REF``.

Reported: the records whose files changed since the merge base with REF (committed,
staged, unstaged or untracked), the records they reference and the records that reference
them, so a PIR changed in a PR is judged together with its incident (a referenced ID
no file is named for is not reported: the gate shows records by their files).

Loaded, so the cross-record rules judge those records against the whole repository
without reading it all: the reported records and the records they reference, the changes
that share a service with a reported change (collisions), every PIR of a reported
incident and the one it names (one PIR per incident, and whether an approved one was
due), the ``recurrence_of`` chain of a reported incident (cycles), the files holding a
referenced ID no file is named for, every runbook and the service catalog. Every other
record is known by its file name (ID uniqueness and reference existence need nothing
more). Linked records are found with one ``git grep`` for the changed IDs, not by parsing
every file.

History: the changed files, deleted and renamed-away paths included (a record renamed to
another ID is a deletion the gate must see), the paths of the records reported and of the
PIRs of the incidents reported, and the paths that the PIR an incident names had when its
file is gone (its history says it holds no approval any more); the history index follows each
back through earlier moves, so the gate judges a record's history as the full audit does.
Where the cached index of the whole branch (main's, left by a full audit) continues to
HEAD, the gate takes the reported records' histories from it instead (``build_history``'s
``records``: :attr:`Scope.report` and :attr:`Scope.history`).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from opsledger import gitio
from opsledger.history.assemble import record_id
from opsledger.loading import Limits, LoadError, load_document
from opsledger.model.fields import text
from opsledger.model.layout import (
    KIND_BY_NAME,
    SERVICES_FILE,
    Entry,
    reads_everything,
    record_path,
    walk,
)
from opsledger.model.ledger import stem_id
from opsledger.model.records import Change, Incident, Pir, Problem, Record

FOLDERS = ("records", "runbooks")
RUNBOOKS = KIND_BY_NAME["runbook"].folder + "/"


def references(record: Record) -> set[str]:
    """IDs ``record`` points at."""
    if isinstance(record, Incident):
        refs = {record.caused_by_change, record.recurrence_of, record.pir, *record.runbooks_used}
    elif isinstance(record, Change):
        refs = {record.related_incident}
    elif isinstance(record, Pir):
        refs = {record.incident}
    elif isinstance(record, Problem):
        refs = {*record.incidents, *record.runbooks, record.fix_change}
    else:
        refs = set()
    return {r for r in refs if r}


def _refs_in(data: object) -> set[str]:
    if not isinstance(data, dict):
        return set()
    refs: set[str] = set()
    for key in (
        "caused_by_change",
        "recurrence_of",
        "pir",
        "related_incident",
        "incident",
        "fix_change",
    ):
        if isinstance(data.get(key), str):
            refs.add(data[key])
    for key in ("runbooks_used", "incidents", "runbooks"):
        items = data.get(key)
        if isinstance(items, list):
            refs |= {r for r in items if isinstance(r, str)}
    return {r for r in refs if r}  # an empty one names no record (every file "mentions" it)


@dataclass(frozen=True)
class Scope:
    load: frozenset[str]  # repository paths to load fully
    report: frozenset[str]  # record IDs and paths whose findings are reported
    history: frozenset[str]  # paths whose history the GIT-* rules and INC-PIR need (deleted too)
    walked: tuple[Entry, ...] | None = None  # the walk of the record folders the plan read
    #: why every record is judged (a changed file every verdict may read), or ""
    everything: str = ""


def plan(root: Path, ref: str, limits: Limits) -> Scope:
    """What to load and what to report for the changes since ``ref``."""
    gitio.load()  # in this thread, before the pool's threads use git
    with ThreadPoolExecutor(max_workers=2) as pool:
        # git finds the changed files, and the record files with a backslash (below), while
        # this thread walks the tree
        changing = pool.submit(gitio.changed_paths, root, ref, FOLDERS)
        # a record can spell a word with a YAML escape ("pay\\x6Dents" in double quotes),
        # which git grep, reading text, does not see: every record file with a backslash
        # is read too, and counted wherever its data names the word (a repository full of
        # them only makes the gate slower)
        escaping = pool.submit(gitio.files_mentioning, root, {"\\"}, FOLDERS, whole=False)
        try:
            walked = tuple(walk(root))
        finally:
            changed = set(changing.result())  # what is wrong with the ref or clone, first
        escaped_any = escaping.result()
    widening = sorted(p for p in changed if reads_everything(p))
    if widening:
        shown = ", ".join(widening[:3]) + (", …" if len(widening) > 3 else "")
        return Scope(frozenset(), frozenset(), frozenset(), walked, everything=shown)
    # a changed folder (a submodule's gitlink, an untracked nested clone) stands for
    # every file the walk finds in it
    folders_changed = tuple(d + "/" for d in changed if (root / d).is_dir())
    if folders_changed:
        changed |= {e.path for e in walked if e.path.startswith(folders_changed)}
    files = [e.path for e in walked if e.kind is not None]
    present = set(files)
    # a changed file in a record folder that is no record (REF-ID: "not a record file")
    strays = {e.path for e in walked if e.kind is None} & changed
    folders = tuple(k.folder + "/" for k in KIND_BY_NAME.values())
    deleted = {p for p in changed if p.startswith(folders) and p not in present}
    by_id: dict[str, list[str]] = {}
    for path in files:
        by_id.setdefault(stem_id(path), []).append(path)
    changed_records = sorted(p for p in changed if p in present)
    # a deleted or renamed-away record's ID too: the records naming it are judged again
    ids = {stem_id(p) for p in changed_records} | {stem_id(p) for p in deleted if record_path(p)}
    referenced: set[str] = set()
    reviewed: set[str] = set()  # incidents of changed PIRs, and reported incidents
    pir_folder = KIND_BY_NAME["pir"].folder + "/"
    parsed: dict[str, object] = {}
    for path in changed_records:
        data = parsed[path] = _data(root, path, limits)
        referenced |= _refs_in(data)
        if isinstance(data, dict) and path.startswith(pir_folder):
            reviewed |= {data["incident"]} if isinstance(data.get("incident"), str) else set()
        held = _held(data)
        if held is not None:
            ids.add(held)
    # any case: an ID is unique case-insensitively (REF-ID), so a file holding it in
    # another case is judged with it
    linking = gitio.files_mentioning(root, ids, FOLDERS, icase=True) & present
    escaped = sorted(escaped_any & present)
    for path in escaped:
        parsed.setdefault(path, _data(root, path, limits))
    folded = {i.casefold() for i in ids}
    linking |= {
        p
        for p in escaped
        if _refs_in(parsed[p]) & ids or (_held(parsed[p]) or "").casefold() in folded
    }
    # the files named for a changed ID, whatever their case (REF-ID)
    linking |= {p for p in files if stem_id(p).casefold() in folded}
    referenced_paths = {p for rid in referenced for p in by_id.get(rid, [])}
    runbooks = {p for p in files if p.startswith(KIND_BY_NAME["runbook"].folder + "/")}
    report_paths = set(changed_records) | linking | referenced_paths
    # every reported record, changed or not, is judged with what the cross-record rules
    # need of it: the records it references, a change with the changes sharing a service
    # (collisions), an incident with its PIRs and the one it names (INC-PIR: the named
    # one's history too, at the paths files named for it had when its file is gone) and
    # its recurrence_of chain
    services: set[str] = set()
    chains: set[str] = set()
    named: set[str] = set()  # PIRs named by reported incidents
    change_folder = KIND_BY_NAME["change"].folder + "/"
    incident_folder = KIND_BY_NAME["incident"].folder + "/"
    for path in sorted(report_paths):
        data = parsed[path] if path in parsed else _data(root, path, limits)
        if not isinstance(data, dict):
            continue
        referenced |= _refs_in(data)
        listed = data.get("services")
        if path.startswith(change_folder) and isinstance(listed, list):
            services |= {s for s in listed if isinstance(s, str)}
        if path.startswith(incident_folder):
            reviewed.add(stem_id(path))
            for key, found in (("recurrence_of", chains), ("pir", named)):
                if isinstance(data.get(key), str):
                    found.add(data[key])
    linked = {p for rid in referenced for p in by_id.get(rid, [])}
    # a referenced ID no file is named for: the files that hold it in their ``id`` are
    # among those mentioning it (loaded so that the reference resolves as in a full load)
    unnamed = {rid for rid in referenced if rid not in by_id}
    with ThreadPoolExecutor(max_workers=3) as pool:  # three git greps at once
        holding = pool.submit(gitio.files_mentioning, root, unnamed, FOLDERS)
        serving = pool.submit(gitio.files_mentioning, root, services, (change_folder.rstrip("/"),))
        reviewing = pool.submit(gitio.files_mentioning, root, reviewed, (pir_folder.rstrip("/"),))
        holders = holding.result() & present
        same_service = serving.result() & present
        other_pirs = reviewing.result() & present
    for path in escaped:
        data = parsed[path]
        if not isinstance(data, dict):
            continue
        held, incident = data.get("id"), data.get("incident")
        if isinstance(held, str) and held in unnamed:
            holders.add(path)
        listed = data.get("services")
        if (
            path.startswith(change_folder)
            and isinstance(listed, list)
            and services & {s for s in listed if isinstance(s, str)}
        ):
            same_service.add(path)
        if path.startswith(pir_folder) and isinstance(incident, str) and incident in reviewed:
            other_pirs.add(path)
    other_pirs |= {p for pid in named for p in by_id.get(pid, [])}
    gone = {pid.casefold() for pid in named - by_id.keys()}
    gone_pirs = {
        p
        for p in (gitio.paths_ever(root, (pir_folder.rstrip("/"),)) if gone else ())
        if p not in present and (record_id(p, None) or "").casefold() in gone
    }
    chain = _chain(root, chains, by_id, limits)
    # reported: records with a file in the scope (a referenced ID without one has no
    # file to show, and its history could only be found by walking the whole branch)
    report = {stem_id(p) for p in report_paths} | ids | changed
    # an incident's other PIRs carry the finding that it has several (REF-LINK): those
    # reviewing a reported incident are reported (their incident and its PIRs are loaded;
    # a PIR that only mentions it, or names another, is loaded for what the rules read)
    reviewing_pirs = {
        p for p in other_pirs if _reviews(parsed.get(p) or _data(root, p, limits), reviewed)
    }
    report |= reviewing_pirs | {stem_id(p) for p in reviewing_pirs}
    if any(p.startswith(RUNBOOKS) for p in changed):
        # the catalog's findings read the runbooks (RB-COVERAGE, a runbook it names)
        report.add(SERVICES_FILE)
    load = report_paths | linked | same_service | runbooks | other_pirs | chain | holders
    load |= strays
    history = report_paths | deleted | other_pirs | gone_pirs
    return Scope(frozenset(load), frozenset(report), frozenset(history), walked)


def _reviews(data: object, incidents: set[str]) -> bool:
    """Does the PIR whose data is ``data`` review one of ``incidents``?"""
    return isinstance(data, dict) and text(data, "incident") in incidents


def _held(data: object) -> str | None:
    """The ``id`` a record file's data holds, when it holds one as text (an empty one
    holds none, as the ledger and the history read it)."""
    return (text(data, "id") or None) if isinstance(data, dict) else None


def _data(root: Path, path: str, limits: Limits) -> object:
    """The parsed content of the file at ``path``, or None when it does not parse (the
    audit reports it)."""
    try:
        return load_document(root / path, limits=limits).data
    except LoadError:
        return None


def _chain(root: Path, starts: set[str], by_id: dict[str, list[str]], limits: Limits) -> set[str]:
    """The files of the incidents reached by following ``recurrence_of`` from ``starts``
    (each read once; the walk ends at a record already seen, so a cycle ends it too)."""
    paths: set[str] = set()
    todo = sorted(starts)
    seen: set[str] = set()
    while todo:
        record_id = todo.pop()
        if record_id in seen:
            continue
        seen.add(record_id)
        for path in by_id.get(record_id, []):
            paths.add(path)
            try:
                data = load_document(root / path, limits=limits).data
            except LoadError:
                continue
            if isinstance(data, dict) and isinstance(data.get("recurrence_of"), str):
                todo.append(data["recurrence_of"])
    return paths
