"""jsonschema-rs answers "valid?" for speed; it must never say valid where Python
jsonschema finds an error. Compared over every field of real records replaced with hostile
values."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from opsledger.loading import load_text
from opsledger.model.ledger import load_ledger
from opsledger.schemas import SchemaSet

from conftest import PROJECT

HOSTILE: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    1.5,
    10**20,
    "",
    " ",
    "x" * 25000,
    "TBD",
    "no",
    "P5",
    "2026-03-04T09:12:00",
    "2026-03-04T09:12:00z",
    "2026-03-04 09:12:00Z",
    "2026-03-04T25:00:00Z",
    "2026-02-30",
    "2026-03-04T09:12:00+0100",
    "2026-03-04T09:12:60Z",
    "INC-2026-0001\n",
    "INC-\uff12\uff10\uff12\uff16-0001",
    "../../x",
    "a@b",
    "a@b.c",
    "a @b.c",
    "line\nbreak",
    "line\u2028break",
    "paragraph\u2029break",
    "\u00a0",
    "inc-2026-0001",
    "RB-0003",
    "orders-db",
    "Orders-DB",
    [],
    [None],
    ["a", "a"],
    {},
    {"x": 1},
    [{"at": "x"}],
]


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield (*prefix, key)
            yield from paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node[:2]):
            yield (*prefix, index)
            yield from paths(value, (*prefix, index))


def replaced(data: Any, path: tuple[Any, ...], value: Any) -> Any:
    copied = copy.deepcopy(data)
    node = copied
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return copied


def samples() -> list[tuple[str, Any]]:
    ledger = load_ledger(PROJECT)
    picked: dict[str, Any] = {}
    for record in ledger.records():
        picked.setdefault(record.kind, record.data)
    return sorted(picked.items())


@pytest.mark.parametrize(("kind", "data"), samples(), ids=lambda v: v if isinstance(v, str) else "")
def test_engines_agree_on_every_hostile_field(kind: str, data: Any) -> None:
    schemas = SchemaSet(PROJECT / "schemas")
    slow = schemas.validator(kind)
    checked = disagreements = 0
    for path in paths(data):
        for value in HOSTILE:
            candidate = replaced(data, path, value)
            fast_says = schemas.is_valid(kind, candidate)
            slow_says = not any(True for _ in slow.iter_errors(candidate))
            checked += 1
            if fast_says != slow_says:
                disagreements += 1
                assert not fast_says, f"fast path would hide an error at {path}={value!r}"
    assert checked > 300
    # a stricter fast engine only costs time; a laxer one is caught by the assert above
    assert disagreements == 0


def test_engines_agree_on_missing_fields_and_extra_keys() -> None:
    schemas = SchemaSet(PROJECT / "schemas")
    for kind, data in samples():
        slow = schemas.validator(kind)
        for key in list(data):
            candidate = {k: v for k, v in data.items() if k != key}
            assert schemas.is_valid(kind, candidate) == (not list(slow.iter_errors(candidate)))
        extra = {**data, "unexpected": 1}
        assert schemas.is_valid(kind, extra) is False
        assert list(slow.iter_errors(extra))


def test_fast_path_keeps_the_placed_messages() -> None:
    schemas = SchemaSet(PROJECT / "schemas")
    doc = load_text("id: RB-0001\ntitle: t\nservices: [x]\nowner: a@b.co\nlast_reviewed: no\n")
    (problem,) = schemas.check("runbook", doc)
    assert (problem.line, problem.column) == (5, 16)


#: run in a fresh interpreter: an invalid record checked with the project's schemas, then a
#: schema that names the IRI formats; prints what was imported when, and the verdicts
LAZY_IRI = """\
import json, shutil, sys, tempfile
from pathlib import Path
from opsledger.loading import load_text
from opsledger.schemas import SchemaSet
project, folder = Path(sys.argv[1]), Path(tempfile.mkdtemp())
shutil.copytree(project / "schemas", folder / "schemas")
text = (folder / "schemas/incident.schema.json").read_text(encoding="utf-8")
schemas = SchemaSet(folder / "schemas")
bad = schemas.check("incident", load_text("id: INC-2026-0001\\npriority: P9\\n"))
print(bool(bad), "rfc3987_syntax" in sys.modules)
data = json.loads(text)
data["properties"]["homepage"] = {"type": "string", "format": "iri"}
data["properties"]["link"] = {"type": "string", "format": "iri-reference"}
(folder / "schemas/incident.schema.json").write_text(json.dumps(data), encoding="utf-8")
iri = SchemaSet(folder / "schemas")
for value in ("https://example.com/\\u00e4", "https://exa mple.com/", "relative/\\u00e4"):
    quoted = json.dumps(value)
    found = iri.check("incident", load_text(f"homepage: {quoted}\\nlink: {quoted}\\n"))
    print(sorted({str(p.path[0]) for p in found if p.path and p.path[0] in ("homepage", "link")}))
"""


#: jsonschema's own verdicts on the same values, imported as it imports itself
REFERENCE = """\
import sys, jsonschema
checker = jsonschema.FormatChecker()
assert {"iri", "iri-reference"} <= set(checker.checkers)
for value in ("https://example.com/\\u00e4", "https://exa mple.com/", "relative/\\u00e4"):
    pairs = (("homepage", "iri"), ("link", "iri-reference"))
    print(sorted(f for f, fmt in pairs if not checker.conforms(value, fmt)))
"""


def test_the_slow_iri_library_is_imported_only_for_a_schema_that_uses_it() -> None:
    """jsonschema imports rfc3987_syntax (over 2 s of grammar compiling) for its two IRI
    formats; an invalid record costs no such import, and a schema naming those formats has
    them checked as jsonschema itself checks them."""
    import subprocess
    import sys

    ours = subprocess.run(
        [sys.executable, "-c", LAZY_IRI, str(PROJECT)], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert ours[0] == "True False"  # problems found, the library not imported
    reference = subprocess.run(
        [sys.executable, "-c", REFERENCE], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert ours[1:] == reference
    assert reference == ["[]", "['homepage', 'link']", "['homepage']"]  # relative: a reference


#: run in a fresh interpreter (the test process has imported jsonschema whole, IRI formats
#: included): the IRI formats named only in the shared definitions, reached through
#: references that are not inlined (a pointer into a definition, an anchor)
SHARED_IRI = """\
import json, shutil, sys, tempfile
from pathlib import Path
from opsledger.loading import load_text
from opsledger.schemas import SchemaSet
project, folder = Path(sys.argv[1]), Path(tempfile.mkdtemp())
shutil.copytree(project / "schemas", folder / "schemas")
defs_path = folder / "schemas/defs.schema.json"
incident_path = folder / "schemas/incident.schema.json"
defs = json.loads(defs_path.read_text(encoding="utf-8"))
defs["$defs"]["pages"] = {"properties": {"home": {"type": "string", "format": "iri"}}}
defs["$defs"]["place"] = {"$anchor": "place", "type": "string", "format": "iri-reference"}
defs_path.write_text(json.dumps(defs), encoding="utf-8")
incident = json.loads(incident_path.read_text(encoding="utf-8"))
incident["properties"]["homepage"] = {"$ref": "defs.schema.json#/$defs/pages/properties/home"}
incident["properties"]["link"] = {"$ref": "defs.schema.json#place"}
incident_path.write_text(json.dumps(incident), encoding="utf-8")
schemas = SchemaSet(folder / "schemas")
found = schemas.check("incident", load_text('homepage: "https://exa mple.com/"\\nlink: "a b"\\n'))
print(sorted({str(p.path[0]) for p in found if p.path and p.path[0] in ("homepage", "link")}))
"""


def test_an_iri_format_named_in_the_shared_definitions_is_checked() -> None:
    """A format named only in ``defs.schema.json``, behind a reference that is resolved,
    not inlined, is checked as jsonschema checks it (the IRI formats are added for the
    formats a kind's schema can reach, not only those it names itself)."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", SHARED_IRI, str(PROJECT)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["['homepage', 'link']"]


def test_one_schema_set_per_process_for_the_same_bytes(tmp_path: Path) -> None:
    """A run reads the schemas for its plan, its policy and its records: one set is built
    for the same bytes in the same folder; another folder, or an edited schema, is a new
    set, which validates by the new rules."""
    import shutil

    folder = tmp_path / "schemas"
    shutil.copytree(PROJECT / "schemas", folder)
    first = SchemaSet.of(folder)
    assert SchemaSet.of(folder) is first
    elsewhere = tmp_path / "other" / "schemas"
    shutil.copytree(folder, elsewhere)
    assert SchemaSet.of(elsewhere) is not first
    [record] = sorted((PROJECT / "records" / "incidents").rglob("*.yaml"))[:1]
    data = load_text(record.read_text(encoding="utf-8")).data
    assert first.is_valid("incident", data)
    schema = folder / "incident.schema.json"
    text = schema.read_text(encoding="utf-8")
    schema.write_text(text.replace('"required": [', '"required": ["zz",', 1), encoding="utf-8")
    edited = SchemaSet.of(folder)
    assert edited is not first and not edited.is_valid("incident", data)
    assert SchemaSet.of(elsewhere).is_valid("incident", data)
