"""Problems from a ServiceNow export: the ``problem_id`` column becomes problem records.

One record per problem number, linking the imported incidents that name it (in detection
order), with ``external_id`` (the number as exported; characters an ID cannot hold become
``-``) and ``import_gaps`` (the export has no problem owner, and the services are gaps
when the incidents' are). ``opened_at`` is the first linked incident's detection (the export
has no problem dates; the body says so). New problems are ``new``; the owner writes the rest.

A re-import matches the record by ``external_id`` and only appends incidents it does not
list yet: everything people wrote since (status, owner, root cause, body) stays.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opsledger.importers.mapping import number_of
from opsledger.importers.render import render
from opsledger.loading import LoadError, load_text, read_bytes
from opsledger.model.layout import KIND_BY_NAME, MAX_ID, walk

PROBLEMS = KIND_BY_NAME["problem"]
MODELINE = "# yaml-language-server: $schema=../../schemas/problem.schema.json"
_UNSAFE = re.compile(r"[^A-Za-z0-9._:-]+")


def external_key(raw: str) -> str:
    """The exported problem number as an ``external_id`` (``PRB0001234`` unchanged)."""
    return _UNSAFE.sub("-", raw.strip()).strip("-")[:100]


@dataclass(frozen=True)
class Linked:
    """An imported incident naming a problem."""

    record: str
    detected_at: str
    service: str | None
    service_gap: bool


@dataclass
class Planned:
    """One problem to create or update."""

    action: str  # create, update or unchanged
    record: str
    path: str
    number: str
    text: str
    before: bytes | None


@dataclass
class Existing:
    by_external: dict[str, list[str]] = field(default_factory=dict)  # key -> paths
    ids: set[str] = field(default_factory=set)  # casefolded IDs in use


def index_problems(root: Path) -> Existing:
    found = Existing()
    for entry in walk(root):
        if entry.kind is not PROBLEMS or entry.problem:
            continue
        found.ids.add(entry.path.rsplit("/", 1)[-1].removesuffix(".md").casefold())
        try:
            doc = load_text(read_bytes(root / entry.path).decode("utf-8"), markdown=True)
        except (OSError, UnicodeDecodeError, LoadError):
            continue
        data = doc.data
        if isinstance(data, dict) and isinstance(data.get("external_id"), str):
            found.by_external.setdefault(data["external_id"], []).append(entry.path)
    return found


def _dump(data: Mapping[str, Any]) -> str:
    """The front matter: the importer's emitter (YAML 1.2-safe scalars), keys as given."""
    return render(data)


def plan(root: Path, links: Mapping[str, list[Linked]]) -> tuple[list[Planned], list[str]]:
    """What to write for each exported problem number, and why any was not imported."""
    existing = index_problems(root)
    planned: list[Planned] = []
    skipped: list[str] = []
    for number, linked in sorted(links.items()):
        key = external_key(number)
        if not key:
            skipped.append(f"problem_id {number!r} holds no usable number; not imported")
            continue
        incidents = [x.record for x in sorted(linked, key=lambda x: (x.detected_at, x.record))]
        held = existing.by_external.get(key, [])
        if len(held) > 1:
            skipped.append(f"{' and '.join(held)} both have external_id {key}; not updated")
            continue
        if held:
            planned.append(_update(root, held[0], key, incidents))
            continue
        year = min(x.detected_at for x in linked)[:4]
        digits = number_of(re.sub(r"[^0-9]", "", key) or "x")
        if digits is None:
            skipped.append(
                f"problem_id {number[:40]!r} has no number to name its record; not imported"
            )
            continue
        record = f"PRB-{year}-{digits:04d}"
        if len(record) > MAX_ID:
            skipped.append(f"problem_id {key} is too long to name a record; not imported")
            continue
        if record.casefold() in existing.ids:
            skipped.append(f"{record} is already used (not imported from {number}); not imported")
            continue
        existing.ids.add(record.casefold())
        planned.append(_create(record, key, number, linked, incidents))
    return planned, skipped


def _create(
    record: str, key: str, number: str, linked: Iterable[Linked], incidents: list[str]
) -> Planned:
    chosen = list(linked)
    services = sorted({x.service for x in chosen if x.service and not x.service_gap})
    gaps = ["owner"] + ([] if services else ["services"])
    first = min(x.detected_at for x in chosen)
    shown = key  # the exported number's safe characters only, whatever the export holds
    data = {
        "id": record,
        "title": f"ServiceNow problem {shown}",
        "status": "new",
        "services": services or ["unknown"],
        "opened_at": first,
        "incidents": incidents,
        "external_id": key,
        "import_gaps": gaps,
    }
    body = (
        "## Problem statement\n\n"
        f"Imported from ServiceNow problem {shown}, which {len(incidents)} imported "
        "incidents name. The export has no problem dates: opened_at is the first linked "
        "incident's detection.\n"
    )
    text = f"---\n{MODELINE}\n{_dump(data)}---\n{body}"
    return Planned("create", record, f"{PROBLEMS.folder}/{record}.md", number, text, None)


def _update(root: Path, rel: str, key: str, incidents: list[str]) -> Planned:
    before = read_bytes(root / rel)
    old = before.decode("utf-8")
    doc = load_text(old, markdown=True)
    data = dict(doc.data) if isinstance(doc.data, dict) else {}
    listed = [i for i in data.get("incidents") or [] if isinstance(i, str)]
    added = [i for i in incidents if i not in listed]
    record = str(data.get("id", rel.rsplit("/", 1)[-1].removesuffix(".md")))
    if not added:
        return Planned("unchanged", record, rel, key, old, before)
    data["incidents"] = [*listed, *added]
    lines = old.split("\n")
    modeline = lines[1] if len(lines) > 1 and lines[1].startswith("#") else MODELINE
    rest = old.split("\n---\n", 1)[1] if "\n---\n" in old else ""
    text = f"---\n{modeline}\n{_dump(data)}---\n{rest}"
    return Planned("update", record, rel, key, text, before)
