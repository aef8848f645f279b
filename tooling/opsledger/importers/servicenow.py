"""``opsledger import servicenow FILE.csv``: a ServiceNow incident export into records.

Two passes over the file, so memory stays flat however large the export:

1. **scan** every row (:mod:`~opsledger.importers.scan`): bad rows are reported with their
   line and skipped, the shape and the date format are decided, priorities are mapped. Any
   reason to stop (ambiguous dates, unmapped priorities, no timezone) stops here, before
   anything is written.
2. **build** each incident as soon as its last row has been read (rows are grouped by
   number; an export sorted by number holds one incident at a time), match it to an existing
   record by ``external_id``, merge, render and compare. Changed records are staged in a
   hidden folder next to the records and moved into place only once the whole file has been
   read again unchanged; ``policy.yaml`` gets ``history.since`` last.

IDs are ``INC-<year opened>-<number>`` (``INC0012345`` opened in 2016 → ``INC-2016-12345``,
at least four digits), in ``records/incidents/<year>/``. A re-import updates the file that
holds the same ``external_id``, wherever it is.
"""

from __future__ import annotations

import os
import shutil
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

from opsledger import fileedit
from opsledger.errors import OpsledgerError
from opsledger.importers import problems as problem_import
from opsledger.importers.csvsource import Source
from opsledger.importers.dates import NoSuchTime
from opsledger.importers.incident import Built, Context, Skipped, build
from opsledger.importers.mapping import FieldMap, number_of
from opsledger.importers.policyedit import with_since
from opsledger.importers.render import render
from opsledger.importers.scan import Problem, Scan, scan
from opsledger.importers.store import INCIDENTS, Existing, index_existing, merge
from opsledger.journal import Journal, Recovered, pending, recover
from opsledger.loading import LoadError, load_document, load_text, read_bytes
from opsledger.model.layout import SERVICES_FILE, refuse_linked_folder
from opsledger.model.policy import POLICY_FILE, load_policy
from opsledger.schemas import SchemaSet
from opsledger.workspace import Progress, Stage, quiet

JOURNAL = "import"


@dataclass(frozen=True)
class ImportOptions:
    mapping: FieldMap = field(default_factory=FieldMap)
    timezone: tzinfo | None = None
    date_format: str | None = None
    shape: str = "auto"
    encoding: str = "utf-8"
    dry_run: bool = False
    adopt: bool = True
    adopted_on: date | None = None  # default: the day after the import (UTC)


@dataclass(frozen=True, slots=True)
class Outcome:
    action: str  # create, update or unchanged
    record: str
    path: str
    number: str


@dataclass
class ImportResult:
    source: Path
    events: bool
    order: str
    rows: int
    outcomes: list[Outcome] = field(default_factory=list)
    #: problem records made from the export's problem_id column
    problem_outcomes: list[Outcome] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    gaps: Counter[str] = field(default_factory=Counter)
    services: Counter[str] = field(default_factory=Counter)
    unknown_services: dict[str, int] = field(default_factory=dict)
    unmapped_contacts: Counter[str] = field(default_factory=Counter)
    change_fields: Counter[str] = field(default_factory=Counter)
    since_set: date | None = None
    dry_run: bool = False
    recovered: Recovered | None = None  # what an earlier, killed import left
    pending: bool = False  # (dry run) an earlier import waits to be finished

    @property
    def counts(self) -> Counter[str]:
        return Counter(o.action for o in self.outcomes)


def import_servicenow(
    root: Path, path: Path, options: ImportOptions, stage: Stage = quiet
) -> ImportResult:
    """Import the export at ``path`` into the repository at ``root``.

    One import at a time per repository: a second one refuses while the first holds the
    import lock. What an earlier, killed import left is finished (or removed) first."""
    root = Path(os.path.abspath(root))
    refuse_linked_folder(root, INCIDENTS.folder)  # never write through a link
    with fileedit.locked(root, "opsledger import servicenow", name="import", wait=0) as state:
        recovered: Recovered | None = None
        if not options.dry_run:
            with fileedit.locked(root, "opsledger import servicenow"):
                for folder in [*fileedit.other_state_dirs(root), state]:
                    recovered = recover(root, folder, JOURNAL) or recovered
            _remove_old_staging(root)
        result = _import(root, path, options, stage, state)
    result.recovered = recovered
    result.pending = options.dry_run and pending(state, JOURNAL)
    return result


def _import(
    root: Path, path: Path, options: ImportOptions, stage: Stage, state: Path
) -> ImportResult:
    schemas = SchemaSet.of(root / "schemas")
    policy = load_policy(root, schemas)
    with stage("Reading the export") as update:
        scanned = scan(
            Source(path, options.encoding, update),
            options.mapping,
            shape=options.shape,
            date_format=options.date_format,
        )
    if scanned.naive is not None and options.timezone is None:
        line, value = scanned.naive
        raise OpsledgerError(
            f"{path}: the export's times carry no timezone (e.g. {value!r} on line {line}); "
            "pass --timezone with your ServiceNow instance's timezone, e.g. "
            f"--timezone {policy.timezone.key} (the policy's timezone)"
        )
    policy_edit: tuple[bytes, str] | None = None
    result = ImportResult(path, scanned.events, scanned.order, scanned.rows)
    result.dry_run = options.dry_run
    result.problems = list(scanned.problems)
    if options.adopt and policy.history_since is None:
        day = options.adopted_on or datetime.now(UTC).date() + timedelta(days=1)
        try:
            raw = read_bytes(root / POLICY_FILE)  # refuses links, FIFOs, devices
            policy_edit = raw, with_since(raw.decode("utf-8"), day, schemas)
        except LoadError as exc:
            raise OpsledgerError(exc.at(POLICY_FILE)) from None
        except UnicodeDecodeError as exc:
            raise OpsledgerError(f"{POLICY_FILE}: {exc}") from None
        result.since_set = day
    ctx = Context(scanned.columns, scanned.order, options.timezone, options.mapping, scanned.events)
    writer = _Writer(root, index_existing(root), result, dry_run=options.dry_run, state=state)
    problem_of = scanned.columns.getter("problem_id")
    links: dict[str, list[problem_import.Linked]] = {}
    try:
        with stage("Building records") as update:
            again = Source(path, options.encoding, update)
            for number, rows in _groups(again, scanned):
                try:
                    built = build(number, rows, ctx)
                except NoSuchTime as exc:
                    lines = [line for line, _ in rows]
                    built = Skipped(number, (min(lines), max(lines)), f"{exc}; not imported")
                data = writer.add(built)
                named = [problem_of(row) for _, row in rows if problem_of(row)]
                if data is not None and named:
                    links.setdefault(named[-1], []).append(_linked(data))
        if again.digest != scanned.digest:
            raise _changed(path)
        _problems(root, links, writer, result)
        if not result.outcomes:  # nothing imported: no adoption either
            policy_edit, result.since_set = None, None
        if not options.dry_run:
            if policy_edit is not None:
                writer.stage_file(POLICY_FILE, policy_edit[1], policy_edit[0])
            with stage("Writing records") as update:
                writer.commit(update)
    finally:
        writer.cleanup()
    result.problems.sort()
    catalog = _catalog(root)
    result.unknown_services = {
        key: n for key, n in sorted(result.services.items()) if key not in catalog
    }
    return result


def _linked(data: dict[str, Any]) -> problem_import.Linked:
    service = data.get("service")
    return problem_import.Linked(
        str(data["id"]),
        str(data.get("detected_at", "")),
        service if isinstance(service, str) else None,
        "service" in (data.get("import_gaps") or []),
    )


def _problems(
    root: Path,
    links: dict[str, list[problem_import.Linked]],
    writer: _Writer,
    result: ImportResult,
) -> None:
    """Problem records for the export's problem numbers (created, or incidents appended)."""
    if not links:
        return
    refuse_linked_folder(root, problem_import.PROBLEMS.folder)
    planned, skipped = problem_import.plan(root, links)
    for item in planned:
        if item.action != "unchanged":
            writer.stage_file(item.path, item.text, item.before)
        result.problem_outcomes.append(Outcome(item.action, item.record, item.path, item.number))
    result.problems += [Problem(0, message) for message in skipped]


def _remove_old_staging(root: Path) -> None:
    """Staging folders of imports made before the journal (``records/incidents/.import-*``,
    left by a killed run; their records are written again by this import)."""
    folder = root / INCIDENTS.folder
    if folder.is_symlink() or not folder.is_dir():
        return
    for entry in folder.iterdir():
        if entry.name.startswith(".import-") and entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)


def _changed(path: Path) -> OpsledgerError:
    return OpsledgerError(
        f"{path}: the file changed while it was being imported; nothing was written, run the "
        "import again"
    )


def _groups(source: Source, scanned: Scan) -> Iterator[tuple[str, list[tuple[int, list[str]]]]]:
    """Each incident's rows, as soon as its last good row has been read."""
    number_of_row = scanned.columns.getter("number")
    pending: dict[str, list[tuple[int, list[str]]]] = {}
    rows = source.rows()
    next(rows, None)  # the header
    for line, row in rows:
        if line in scanned.bad:
            continue
        number = number_of_row(row)
        group = pending.setdefault(number, [])
        group.append((line, row))
        if len(group) == scanned.counts.get(number, 0):
            del pending[number]
            yield number, group
        elif len(group) > scanned.counts.get(number, 0):
            raise _changed(source.path)
    if pending:
        raise _changed(source.path)


def _catalog(root: Path) -> set[str]:
    try:
        data = load_document(root / SERVICES_FILE).data
    except (LoadError, OSError):
        return set()
    if not isinstance(data, list):
        return set()
    return {
        item["id"] for item in data if isinstance(item, dict) and isinstance(item.get("id"), str)
    }


def _modeline(rel: str) -> str:
    depth = rel.count("/")
    return f"# yaml-language-server: $schema={'../' * depth}schemas/incident.schema.json"


@dataclass
class _Writer:
    """Decides create/update/unchanged per incident and stages what must be written."""

    root: Path
    existing: Existing
    result: ImportResult
    dry_run: bool
    state: Path
    assigned: dict[str, str] = field(default_factory=dict)
    journal: Journal | None = None
    sources: dict[str, tuple[int, str]] = field(default_factory=dict)  # path -> line, number
    #: the year folders written into, each checked once (no link, no nested repository)
    folders: set[str] = field(default_factory=set)

    def add(self, built: Built | Skipped) -> dict[str, Any] | None:
        """Stage one incident; its record's data, or None when it was not imported."""
        result = self.result
        if isinstance(built, Skipped):
            result.problems.append(Problem(built.lines[0], built.reason, built.number))
            return None
        held = self.existing.by_external.get(built.number, [])
        if len(held) > 1:
            self._skip(
                built,
                f"{' and '.join(held)} both have external_id {built.number}; keep one, then "
                "import again; not imported",
            )
            return None
        done = self._update(held[0], built) if held else self._create(built)
        if done is None:
            return None
        outcome, data = done
        result.outcomes.append(outcome)
        result.gaps.update(data.get("import_gaps", []))
        result.services[str(data.get("service"))] += 1
        if built.unmapped_contact is not None:
            result.unmapped_contacts[built.unmapped_contact] += 1
        if built.change_field is not None:
            result.change_fields[built.change_field] += 1
        return data

    def _skip(self, built: Built, why: str) -> None:
        self.result.problems.append(Problem(built.lines[0], why, built.number))

    def _create(self, built: Built) -> tuple[Outcome, dict[str, Any]] | None:
        record_id = f"INC-{built.year}-{number_of(built.number) or 0:04d}"
        folded = record_id.casefold()
        taken = self.existing.by_id.get(folded) or self.assigned.get(folded)
        if taken is not None:
            self._skip(
                built,
                f"{record_id} is already used by {taken} (not imported from {built.number}); "
                "not imported",
            )
            return None
        self.assigned[folded] = f"{built.number} in this export"
        folder = f"{INCIDENTS.folder}/{built.year}"
        if folder not in self.folders:
            refuse_linked_folder(self.root, folder)  # every command would skip the record
            self.folders.add(folder)
        rel = f"{folder}/{record_id}{INCIDENTS.suffix}"
        data = {"id": record_id, **built.data}
        self._stage(rel, render(data, modeline=_modeline(rel)), None, built)
        return Outcome("create", record_id, rel, built.number), data

    def _update(self, rel: str, built: Built) -> tuple[Outcome, dict[str, Any]] | None:
        path = self.root / rel
        try:
            old_bytes = read_bytes(path)  # refuses links, FIFOs, devices
            old_text = old_bytes.decode("utf-8")
            old = load_text(old_text).data
        except (OSError, UnicodeDecodeError, LoadError) as exc:
            self._skip(built, f"{rel} holds {built.number} but cannot be read ({exc}); not updated")
            return None
        if not isinstance(old, dict):
            self._skip(built, f"{rel} holds {built.number} but is not a mapping; not updated")
            return None
        stem = rel.rsplit("/", 1)[-1].removesuffix(INCIDENTS.suffix)
        data = merge(old, {"id": stem, **built.data})
        first = old_text.split("\n", 1)[0]
        modeline = first if first.startswith("#") else _modeline(rel)
        text = render(data, modeline=modeline)
        record_id = str(data["id"])
        if text == old_text:
            return Outcome("unchanged", record_id, rel, built.number), data
        self._stage(rel, text, old_bytes, built)
        return Outcome("update", record_id, rel, built.number), data

    def _stage(self, rel: str, text: str, before: bytes | None, built: Built) -> None:
        self.sources[rel] = (built.lines[0], built.number)
        self.stage_file(rel, text, before)

    def stage_file(self, rel: str, text: str, before: bytes | None) -> None:
        """Stage ``text`` for ``rel``, computed from ``before`` (None: a new file)."""
        if self.dry_run:
            return
        if self.journal is None:
            self.journal = Journal.begin(self.root, self.state, JOURNAL)
        self.journal.stage(rel, text.encode("utf-8"), before)

    def commit(self, progress: Progress | None) -> None:
        """Seal the journal, then write it holding the edit lock. A file changed by someone
        since it was read is left alone and reported; a run killed from the seal on is
        finished by the next import."""
        journal = self.journal
        if journal is None:
            return
        journal.seal()
        records = sum(1 for step in journal.steps if step.target != POLICY_FILE)

        def shown(done: int, total: int) -> None:  # records only (the policy comes last)
            if progress is not None:
                progress(min(done, records), records)

        try:
            with fileedit.locked(self.root, "opsledger import servicenow"):
                applied = journal.apply(shown)
        except OSError as exc:
            raise OpsledgerError(
                f"writing the records stopped ({exc.strerror or exc}); run the import again "
                "to finish it"
            ) from None
        self._conflicts(applied.conflicts)

    def _conflicts(self, paths: list[str]) -> None:
        result = self.result
        for rel in paths:
            if rel == POLICY_FILE:
                result.problems.append(Problem(0, _policy_changed(result.since_set)))
                result.since_set = None
                continue
            line, number = self.sources[rel]
            result.problems.append(
                Problem(
                    line,
                    f"{rel} was changed by someone else while the import ran; left as it is, "
                    "import again to update it",
                    number,
                )
            )
        lost = set(paths)
        result.outcomes = [o for o in result.outcomes if o.path not in lost]

    def cleanup(self) -> None:
        """Remove staging that was never sealed (a sealed journal is finished next time)."""
        if self.journal is not None and not self.journal.sealed:
            self.journal.discard()
        self.journal = None


def _policy_changed(day: date | None) -> str:
    since = day.isoformat() if day is not None else "?"
    return (
        f"policy.yaml was changed by someone else while the import ran; history.since was "
        f'not set: set history: since: "{since}" by hand'
    )
