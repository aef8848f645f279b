"""The Ledger: every record, the service catalog and the policy of one repository.

``load_ledger`` reads each record file once (strict loader → schema → typed record).
Problems are collected as findings, never raised, so one bad file never hides another;
only an unusable configuration (policy, schemas) raises :class:`ConfigError`. Names and IDs
are recorded as seen (:class:`IdSeen`, :class:`Stray`, catalog twins) and judged by the
REF-ID rule; loading only keeps a duplicate ID's later file out of the tables.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opsledger.errors import ConfigError
from opsledger.findings import Finding, json_pointer
from opsledger.loading import Document, LoadError, load_bytes, load_document, read_bytes
from opsledger.loading.markdown import check_body
from opsledger.model.layout import (
    KIND_BY_NAME,
    LINKED,
    SERVICES_FILE,
    Entry,
    classify,
    governed,
    linked_folder,
    nested_folder,
    walk,
)
from opsledger.model.policy import POLICY_FILE, Policy, load_policy
from opsledger.model.records import (
    RECORD_TYPES,
    Change,
    Incident,
    Pir,
    Problem,
    Record,
    Runbook,
    Service,
)
from opsledger.schemas import SchemaSet

if TYPE_CHECKING:  # opened only by a load that reads the cache (not a few files)
    from opsledger.parsecache import ParseCache

Progress = Callable[[int, int], None]
#: record kind -> the Ledger attribute holding its records
TABLES = {
    "incident": "incidents",
    "change": "changes",
    "pir": "pirs",
    "runbook": "runbooks",
    "problem": "problem_records",
}
LINK_FIX = "replace the link with the folder itself"


@dataclass(frozen=True)
class IdSeen:
    """A record file's ``id`` as loading saw it; the REF-ID rule judges it."""

    path: str
    folder: str  # the kind whose folder holds the file
    stem: str  # the file name without its suffix
    id: str  # as written
    line: int
    column: int
    #: the file that already holds this ID (case-insensitively), when this one does not
    #: count: a duplicate, never registered
    taken_by: str | None


@dataclass(frozen=True)
class Stray:
    """A file in a record folder that is not read as a record, and why."""

    path: str
    why: str


@dataclass
class Ledger:
    root: Path
    policy: Policy
    schemas: SchemaSet
    incidents: dict[str, Incident] = field(default_factory=dict)
    changes: dict[str, Change] = field(default_factory=dict)
    pirs: dict[str, Pir] = field(default_factory=dict)
    runbooks: dict[str, Runbook] = field(default_factory=dict)
    #: problem records (``problems`` holds loading's findings)
    problem_records: dict[str, Problem] = field(default_factory=dict)
    services: dict[str, Service] = field(default_factory=dict)
    services_doc: Document | None = None
    #: what loading found wrong with a file's text (SCHEMA); name and ID problems are
    #: judged from ``ids``, ``strays`` and ``service_twins`` by the REF-ID rule
    problems: list[Finding] = field(default_factory=list)
    ids: list[IdSeen] = field(default_factory=list)
    strays: list[Stray] = field(default_factory=list)
    #: indexes of catalog entries whose service id an earlier entry has
    service_twins: list[int] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    #: every record file's ID as its name says (no file read), casefolded -> paths; lets a
    #: partial load (a pull request's records) still check uniqueness and references
    known: dict[str, list[str]] = field(default_factory=dict)
    partial: bool = False
    #: the parses of this load (a full load's cache, opsledger.parsecache): the history
    #: reads a blob whose content a record file has from here instead of parsing it again
    parsed: ParseCache | None = field(default=None, repr=False, compare=False)

    def exists(self, record_id: str) -> bool:
        """A record with this ID is loaded, or a file is named for it."""
        return self.get(record_id) is not None or any(
            stem_id(path) == record_id for path in self.known.get(record_id.casefold(), ())
        )

    def claimants(self, record_id: str) -> list[str]:
        """Every file named for ``record_id`` or holding it in its ``id`` (compared
        case-insensitively, as REF-ID does): more than one is a duplicate the audit
        reports, and a command showing one record by its ID must not pick one silently."""
        wanted = record_id.casefold()
        found = dict.fromkeys(self.known.get(wanted, ()))
        found.update(dict.fromkeys(s.path for s in self.ids if s.id.casefold() == wanted))
        return sorted(found)

    def records(self) -> Iterator[Record]:
        yield from self.incidents.values()
        yield from self.changes.values()
        yield from self.pirs.values()
        yield from self.runbooks.values()
        yield from self.problem_records.values()

    def get(self, record_id: str) -> Record | None:
        for table in (
            self.incidents,
            self.changes,
            self.pirs,
            self.runbooks,
            self.problem_records,
        ):
            record = table.get(record_id)
            if record is not None:
                return record
        return None


def find_root(start: Path) -> Path:
    """The governance repository containing ``start``: the nearest folder with policy.yaml."""
    here = Path(os.path.abspath(start))
    for folder in (here, *here.parents):
        if (folder / POLICY_FILE).is_file():
            return folder
    raise ConfigError(
        f"no {POLICY_FILE} found in {here} or any folder above it; run inside a governance "
        "repository, pass --repo PATH, or create one with 'opsledger init DIR'"
    )


#: one file as a load read it: content digest, document (None: it did not load), problems
#: ``[path | None, line, column, message, hint]``, and the record built from it (or None)
Read = tuple[bytes, Document | None, list[list[Any]], Record | None]


class Reread:
    """What a served site's last load read, file by file (``site serve`` loads the whole
    repository again after each edit): a file whose bytes are those the last load read,
    under the same schemas and limits, is neither parsed nor checked again, and its record
    is the same object. Bytes are compared by their digest, never by a file's time or size.
    Such a load parses the files that changed without the parse cache (:attr:`warm`).
    """

    def __init__(self) -> None:
        self._key: tuple[object, ...] | None = None
        self._files: dict[str, Read] = {}
        self._fresh: dict[str, Read] = {}

    def begin(self, ledger: Ledger) -> None:
        key = (ledger.schemas, ledger.policy.limits)  # SchemaSet.of: one object per bytes
        if self._key is None or key[0] is not self._key[0] or key[1] != self._key[1]:
            self._key, self._files = key, {}
        self._fresh = {}

    @property
    def warm(self) -> bool:
        """Whether the last load's files are at hand (after :meth:`begin`)."""
        return bool(self._files)

    def end(self) -> None:
        """The files read now are what the next load compares with (the others are gone)."""
        self._files, self._fresh = self._fresh, {}

    def read(self, ledger: Ledger, entry: Entry, cache: ParseCache | None) -> Read:
        from opsledger.parsecache import digest

        assert entry.kind is not None
        path = os.path.join(ledger.root, entry.path)
        try:
            raw = read_bytes(path, ledger.policy.limits.max_file_bytes)
        except LoadError as exc:
            return b"", None, [[None, exc.line, exc.column, exc.message, exc.hint]], None
        content = digest(raw, markdown=entry.kind.suffix == ".md")
        known = self._files.get(entry.path)
        if known is None or known[0] != content:
            known = (content, *_parse_and_check(ledger, entry, cache, raw=(raw, content)), None)
        self._fresh[entry.path] = known
        return known

    def built(self, path: str, record: Record) -> None:
        """Keep ``record``, built from the file at ``path`` just read."""
        content, doc, problems, _ = self._fresh[path]
        self._fresh[path] = (content, doc, problems, record)


def load_ledger(
    root: Path,
    paths: Iterable[Path] | None = None,
    *,
    progress: Progress | None = None,
    judged: Collection[str] | None = None,
    walked: Sequence[Entry] | None = None,
    append_only: bool = False,
    reread: Reread | None = None,
) -> Ledger:
    """Load the repository at ``root``; with ``paths``, only those record files (and folders).

    ``judged``: the record IDs and paths whose findings the run reports (the PR gate's),
    when it reports only those; the others are not checked against their schemas.
    ``walked``: the run's :func:`walk` of ``root``, when it has one. ``append_only``: a
    full load that saves its parses as a partial one does (a pull request's gate judging
    every record: main's cache is added to, never rewritten). ``reread``: what the last
    full load read (``site serve``), used where a file's bytes are the same, and updated.
    """
    root = Path(os.path.abspath(root))
    schemas = SchemaSet.of(root / "schemas")
    policy = load_policy(root, schemas)
    ledger = Ledger(root, policy, schemas)
    _load_services(ledger)
    everything = list(walk(root)) if walked is None else list(walked)
    for entry in everything:
        if entry.kind is not None and not entry.problem:
            ledger.known.setdefault(stem_id(entry.path).casefold(), []).append(entry.path)
    ledger.partial = paths is not None
    entries = (
        everything if paths is None else _in_order(_selected(root, paths, everything), everything)
    )
    unread = _Unread(everything, entries) if paths is not None else None
    # a full load reads back what the last run parsed (opsledger.parsecache); so does a
    # large partial one (a PR gate judging its records with every record its cross-record
    # rules read), which adds what it parsed and drops nothing; a few files given on the
    # command line are parsed afresh, without opening git for a key
    if reread is not None and (paths is not None or judged is not None):
        reread = None  # a full load's reads only
    if reread is not None:
        reread.begin(ledger)
    # (a served site's load after its first, which reads again the files that changed
    # only, parses them without the cache file: opening it would read every entry)
    cached = (paths is None or len(entries) >= PARTIAL_FROM_CACHE) and not (
        reread is not None and reread.warm
    )
    cache = None
    if cached:
        from opsledger.parsecache import open_cache

        cache = open_cache(root, policy.limits)
    seen: dict[str, str] = {}  # ID (casefolded) -> the file that holds it
    for done, entry in enumerate(entries, 1):
        ledger.files.append(entry.path)
        if entry.kind is None or entry.problem:
            ledger.strays.append(Stray(entry.path, entry.problem))
        else:
            _load_record(ledger, entry, seen, cache, unread, judged, reread)
        if progress is not None:
            progress(done, len(entries))
    if reread is not None:
        reread.end()
    if cache is not None:
        cache.save(compact=paths is None and not append_only)
    if paths is None:
        ledger.parsed = cache
    ledger.problems.sort()
    return ledger


#: a partial load of this many records or more reads the parse cache (about what opening
#: it costs: git for the repository's key, the cache file read)
PARTIAL_FROM_CACHE = 200


def stem_id(path: str) -> str:
    """The ID a record file's name claims (runbooks: without the ``-slug``)."""
    stem = path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    if path.startswith("runbooks/"):
        head, _, rest = stem.partition("-")
        number = rest.split("-", 1)[0]
        return f"{head}-{number}"
    return stem


def _in_order(entries: Iterable[Entry], everything: list[Entry]) -> list[Entry]:
    """``entries`` in the order a full load reads them (the first file with an ID holds
    it: a partial load finds the same holder)."""
    order = {e.path: i for i, e in enumerate(everything)}
    return sorted(entries, key=lambda e: order.get(e.path, len(order)))


class _Unread:
    """In a partial load, the record files not read, known by the ID their name says: one
    that a full load reads before a loaded file holds that ID first."""

    def __init__(self, everything: list[Entry], entries: list[Entry]) -> None:
        self.order = {e.path: i for i, e in enumerate(everything)}
        self.reading = {e.path for e in entries}

    def holder(self, named: Iterable[str], path: str) -> str | None:
        """The first of ``named`` (files named for an ID) not read and read before ``path``
        in a full load."""
        at = self.order.get(path, len(self.order))
        order, reading = self.order, self.reading
        return next((p for p in named if p not in reading and order.get(p, at) < at), None)


def _selected(root: Path, paths: Iterable[Path], everything: list[Entry]) -> Iterator[Entry]:
    chosen: dict[str, Entry] = {}
    reported = {e.path: e for e in everything if e.problem}
    # a path the walk found as a file takes the walk's entry: the walk refused every link
    # on the way to it (what linked_folder and classify would find again with a stat per
    # step; the PR gate names over a thousand such paths)
    walked = {e.path: e for e in everything if not e.problem}
    top = os.path.join(os.fspath(root), "")
    for given in paths:
        text = os.path.abspath(given)
        known = walked.get(text[len(top) :]) if text.startswith(top) and os.sep == "/" else None
        if known is not None:
            chosen[known.path] = known
            continue
        path = Path(text)
        try:
            rel = path.relative_to(root).as_posix()
        except ValueError:
            raise ConfigError(f"{given}: outside the repository {root}") from None
        linked = linked_folder(root, rel)
        nested = nested_folder(root, rel)
        if rel in reported:  # what the walk refused (a nested repository, a link)
            chosen[rel] = reported[rel]
        elif nested in reported:  # inside a record folder that is a repository of its own
            chosen[nested] = reported[nested]
        elif linked in reported:  # a record folder that is (or is inside) a symbolic link
            chosen[linked] = reported[linked]
        elif path.is_dir() and linked is None:
            prefix = "" if rel == "." else rel + "/"
            found = {e.path: e for e in everything if e.path.startswith(prefix)}
            if not found and not holds_governed(rel):
                raise ConfigError(f"{given}: no record files in this folder; {NOT_GOVERNED}")
            chosen.update(found)
        elif not os.path.lexists(path):
            raise ConfigError(f"{given}: no such file")
        else:
            entry = classify(root, path)
            if entry is not None:
                chosen[entry.path] = entry
            elif not governed(rel):
                raise ConfigError(f"{given}: not a governed record file; {NOT_GOVERNED}")
    yield from (chosen[key] for key in sorted(chosen))


NOT_GOVERNED = (
    "records live in records/incidents/, records/changes/, records/pirs/, "
    "records/problems/ and runbooks/; "
    "nothing was checked"
)


def holds_governed(rel: str) -> bool:
    """Does the folder ``rel`` contain the catalog or the policy (the repository root,
    ``records/``)? Such a folder is governed even with no record in it."""
    prefix = "" if rel == "." else rel + "/"
    return any(f.startswith(prefix) for f in (SERVICES_FILE, POLICY_FILE))


def _problem(
    path: str,
    line: int,
    column: int,
    rule: str,
    message: str,
    *,
    record: str | None = None,
    pointer: str = "",
    fix: str = "",
) -> Finding:
    return Finding(path, line, column, rule, "error", message, record, pointer, fix)


def _parse(
    ledger: Ledger,
    entry: Entry,
    cache: ParseCache | None,
    raw: tuple[bytes, bytes] | None = None,
) -> Document:
    """The file's document (raises :class:`LoadError`), from ``cache`` when it holds it.
    ``raw``: the file's bytes and their digest, when already read."""
    assert entry.kind is not None
    limits = ledger.policy.limits
    markdown = entry.kind.suffix == ".md"
    if raw is None:
        data = read_bytes(os.path.join(ledger.root, entry.path), limits.max_file_bytes)
        content = None
    else:
        data, content = raw
    if cache is None:
        return load_bytes(data, markdown=markdown, limits=limits)
    if content is None:
        content = cache.digest(data, markdown=markdown)
    result = cache.get(content)
    if result is None:
        try:
            result = load_bytes(data, markdown=markdown, limits=limits)
        except LoadError as exc:
            result = exc
        result = cache.put(content, result)
    if isinstance(result, LoadError):
        raise result
    return result


def _parse_and_check(
    ledger: Ledger,
    entry: Entry,
    cache: ParseCache | None = None,
    judged: Collection[str] | None = None,
    raw: tuple[bytes, bytes] | None = None,
) -> tuple[Document | None, list[list[Any]]]:
    """The document and its problems ``[path | None, line, column, message, hint]``; with
    ``judged`` (the IDs and paths whose findings the run reports), a document parsed but
    neither at nor holding one of them is not checked against its schema: a problem found
    would not be reported, and its record is built the same either way."""
    assert entry.kind is not None
    limits = ledger.policy.limits
    try:
        doc = _parse(ledger, entry, cache, raw)
    except LoadError as exc:
        return None, [[None, exc.line, exc.column, exc.message, exc.hint]]
    if judged is not None and entry.path not in judged and _ids(entry, doc)[2] not in judged:
        return doc, []
    checked = ledger.schemas.check(entry.kind.name, doc)
    problems = [[list(p.path), p.line, p.column, p.message, ""] for p in checked]
    if doc.body is not None:  # a body over the Markdown limits: its line, and why
        for over in check_body(doc.body, limits):
            problems.append([[], doc.body_line + over.line - 1, 1, over.message, ""])
    return doc, problems


def _load_record(
    ledger: Ledger,
    entry: Entry,
    seen: dict[str, str],
    cache: ParseCache | None,
    unread: _Unread | None = None,
    judged: Collection[str] | None = None,
    reread: Reread | None = None,
) -> None:
    assert entry.kind is not None
    kind = entry.kind
    record: Record | None = None
    if reread is None:
        doc, problems = _parse_and_check(ledger, entry, cache, judged)
    else:
        _, doc, problems, record = reread.read(ledger, entry, cache)
    if doc is None:
        for _, line, column, message, hint in problems:
            ledger.problems.append(_problem(entry.path, line, column, "SCHEMA", message, fix=hint))
        return
    stem, raw_id, record_id = _ids(entry, doc)
    for path, line, column, message, _ in problems:
        ledger.problems.append(
            _problem(
                entry.path,
                line,
                column,
                "SCHEMA",
                message,
                record=record_id,
                pointer=json_pointer(tuple(path)),
            )
        )
    if raw_id is not None and not _see_id(ledger, entry, doc, raw_id, stem, seen, unread):
        return
    if record is None:  # else built from these very bytes (record_id is theirs too)
        record = RECORD_TYPES[kind.name].build(record_id, entry.path, doc)
        if reread is not None:
            reread.built(entry.path, record)
    table: dict[str, Record] = getattr(
        ledger,
        TABLES[kind.name],
    )
    table.setdefault(record_id, record)


def _ids(entry: Entry, doc: Document) -> tuple[str, str | None, str]:
    """The file's stem, the ``id`` it holds (None when it holds none as text, or an empty
    one) and the ID of its record (that ``id``, else the stem)."""
    assert entry.kind is not None
    stem = entry.path.rsplit("/", 1)[-1][: -len(entry.kind.suffix)]
    raw_id = doc.data.get("id") if isinstance(doc.data, dict) else None
    # an empty ``id`` holds none, as the history reads it (its schema error says so): a
    # record keyed "" would be what every empty reference (``pir: ""``) found
    held = raw_id if isinstance(raw_id, str) and raw_id else None
    return stem, held, held if held is not None else stem


def _see_id(
    ledger: Ledger,
    entry: Entry,
    doc: Document,
    record_id: str,
    stem: str,
    seen: dict[str, str],
    unread: _Unread | None = None,
) -> bool:
    """Record the file's ``id`` for REF-ID; False when another file already holds it
    (compared case-insensitively; in a partial load, also a file not read that a full load
    reads first): the record is then not registered, as in a full load."""
    assert entry.kind is not None
    line, column = doc.position(("id",))
    folded = record_id.casefold()
    first = seen.get(folded)
    if first is None and unread is not None:  # files not loaded still hold their IDs
        first = unread.holder(ledger.known.get(folded, ()), entry.path)
    ledger.ids.append(IdSeen(entry.path, entry.kind.name, stem, record_id, line, column, first))
    if first is not None:
        return False
    seen[folded] = entry.path
    return True


def _load_services(ledger: Ledger) -> None:
    path = ledger.root / SERVICES_FILE
    linked = linked_folder(ledger.root, SERVICES_FILE)
    if linked is not None and linked != SERVICES_FILE:
        ledger.files.append(SERVICES_FILE)
        ledger.problems.append(
            _problem(SERVICES_FILE, 1, 1, "SCHEMA", f"{linked} {LINKED}", fix=LINK_FIX)
        )
        return
    if not os.path.lexists(path):
        ledger.problems.append(
            _problem(
                SERVICES_FILE,
                1,
                1,
                "SCHEMA",
                "service catalog missing",
                fix="create records/services.yaml listing your services",
            )
        )
        return
    ledger.files.append(SERVICES_FILE)
    try:
        doc = load_document(path, limits=ledger.policy.limits)
    except LoadError as exc:
        ledger.problems.append(
            _problem(SERVICES_FILE, exc.line, exc.column, "SCHEMA", exc.message, fix=exc.hint)
        )
        return
    ledger.services_doc = doc
    for problem in ledger.schemas.check("services", doc):
        ledger.problems.append(
            _problem(
                SERVICES_FILE,
                problem.line,
                problem.column,
                "SCHEMA",
                problem.message,
                pointer=json_pointer(problem.path),
            )
        )
    if not isinstance(doc.data, list):
        return
    for index, item in enumerate(doc.data):
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            continue
        service = Service.build(index, item)
        if service.id in ledger.services:
            ledger.service_twins.append(index)
            continue
        ledger.services[service.id] = service


__all__ = ["KIND_BY_NAME", "IdSeen", "Ledger", "Stray", "find_root", "load_ledger"]
