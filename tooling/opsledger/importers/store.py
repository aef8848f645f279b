"""The repository side of an import: which records exist, and how a re-import updates one.

Records are matched by ``external_id`` (the ServiceNow number), so a second import of the
same or a newer export updates the same files and never adds a duplicate. An update keeps
what people added since the last import:

* a field listed in ``import_gaps`` last time that someone has since filled in (and removed
  from ``import_gaps``), e.g. the impact statement or the real service;
* every field the importer never writes (``pir``, ``commander``, ``notifications``,
  ``mitigated_at``…), which also leaves ``import_gaps``;
* ``timeline`` and ``reopened`` entries that the export did not produce.

Everything else comes from the export, which stays authoritative for what it records.
The file is written again in the importer's layout: a first-line comment (the schema
modeline) is kept, other comments are not.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opsledger.importers.render import ordered
from opsledger.loading import LoadError, read_bytes
from opsledger.model.layout import KIND_BY_NAME, walk
from opsledger.timeutil import parse_timestamp

INCIDENTS = KIND_BY_NAME["incident"]
OWNED = frozenset(
    {
        "id",
        "title",
        "priority",
        "status",
        "service",
        "detection",
        "source",
        "category",
        "impact",
        "detected_at",
        "acknowledged_at",
        "resolved_at",
        "closed_at",
        "reopened",
        "caused_by_change",
        "resolution",
        "timeline",
        "external_id",
        "import_gaps",
    }
)
_EXTERNAL = re.compile(
    r"^external_id:[ \t]*(?:\"([^\"\n]*)\"|'([^'\n]*)'|([^\s\"'#][^\n#]*?))[ \t]*(?:#.*)?$",
    re.MULTILINE,
)


@dataclass
class Existing:
    """Incident files already in the repository, by external ID and by record ID."""

    by_external: dict[str, list[str]] = field(default_factory=dict)
    by_id: dict[str, str] = field(default_factory=dict)  # casefolded ID -> path


def index_existing(root: Path) -> Existing:
    """One quick read of every incident file (no YAML parsing: a top-level line match)."""
    found = Existing()
    for entry in walk(root):
        if entry.kind is not INCIDENTS or entry.problem:
            continue
        stem = entry.path.rsplit("/", 1)[-1].removesuffix(INCIDENTS.suffix)
        found.by_id.setdefault(stem.casefold(), entry.path)
        try:  # never opens a FIFO, device or link named like a record
            text = read_bytes(root / entry.path).decode("utf-8", errors="replace")
        except LoadError:
            continue
        match = _EXTERNAL.search(text)
        if match:
            value = next(g for g in match.groups() if g is not None).strip()
            found.by_external.setdefault(value, []).append(entry.path)
    return found


def _moment(item: Any) -> float:
    if isinstance(item, dict) and isinstance(item.get("at"), str):
        try:
            return parse_timestamp(item["at"]).timestamp()
        except ValueError:
            pass
    return math.inf


def _union(new: list[Any], old: Any, identity: tuple[str, ...]) -> list[Any]:
    """``new`` plus the entries of ``old`` it does not contain, in time order."""
    if not isinstance(old, list):
        return new

    def key(item: Any) -> tuple[Any, ...]:
        return tuple(item.get(k) for k in identity) if isinstance(item, dict) else (item,)

    seen = {key(item) for item in new}
    extra = [item for item in old if key(item) not in seen]
    if not extra:
        return new
    if identity == ("at",):  # a reopen someone described keeps their wording
        mine = {key(item): item for item in old}
        new = [mine.get(key(item), item) for item in new]
    return sorted(new + extra, key=_moment)  # stable: same moments keep their order


def merge(old: Mapping[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """The updated record: ``new`` from the export, with what people added to ``old``."""
    gaps = list(new.get("import_gaps", []))
    old_gaps = old.get("import_gaps")
    was_gap = set(old_gaps) if isinstance(old_gaps, list) else set()
    result = dict(new)
    for name in list(gaps):
        if name in old and name not in was_gap:
            result[name] = old[name]
            gaps.remove(name)
    for key, value in old.items():
        if key not in OWNED:
            result[key] = value
            if key in gaps:
                gaps.remove(key)
    if isinstance(old.get("id"), str):
        result["id"] = old["id"]
    if "timeline" in result:
        result["timeline"] = _union(result["timeline"], old.get("timeline"), ("at", "event"))
    if "reopened" in result or isinstance(old.get("reopened"), list):
        result["reopened"] = _union(result.get("reopened", []), old.get("reopened"), ("at",))
        if not result["reopened"]:
            del result["reopened"]
    if gaps:
        result["import_gaps"] = gaps
    else:
        result.pop("import_gaps", None)
    return ordered(result)
