"""CSV and JSON downloads of every record kind, the actions, the findings and the KPIs.

JSON keeps each record's fields exactly as read (timestamps as written); CSV flattens
them for a spreadsheet, with formula-like cells neutralised, header cells included (see
:mod:`opsledger.output.spreadsheet`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from opsledger.kpis import FORMATS
from opsledger.model.records import Action, Record
from opsledger.neutral import json_text
from opsledger.output.spreadsheet import csv_line, csv_text
from opsledger.site.common import head, table
from opsledger.site.data import SiteData
from opsledger.text.escape import md

KINDS = (
    ("incidents", "Incidents"),
    ("changes", "Change records"),
    ("pirs", "Post-incident reviews"),
    ("runbooks", "Runbooks"),
    ("problems", "Problems"),
)


def _flat(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def _csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    return csv_text(header, rows)  # every cell neutralised, the header row too


def _dumps(value: Any) -> str:
    """JSON text that parses to ``value``, with every control, format and separator
    character as ``\\uXXXX`` and every lone surrogate (a file name that is no UTF-8) as
    the text of its visible escape: inert wherever the file is opened, always valid
    Unicode (:func:`~opsledger.neutral.json_text`)."""
    return json_text(json.dumps(value, ensure_ascii=False, default=str))  # C encoder


def _json(data: SiteData, key: str, items: Any) -> str:
    doc = {"version": 1, "commit": data.commit, "as_of": data.as_of.isoformat(), key: items}
    return _dumps(doc) + "\n"


def _records(data: SiteData, name: str, records: Iterable[Record]) -> Iterator[tuple[str, bytes]]:
    """``name``.csv, then ``name``.json, as their UTF-8 bytes (never as one text: at 10^5
    records each is a hundred million characters). Each record's CSV row and JSON item
    are made from the record alone, as UTF-8 bytes, and joined (under ``site serve`` they
    are kept with the record and made once: :mod:`.carry`)."""
    chosen = list(records)
    keys = [k for k in dict.fromkeys(k for r in chosen for k in r.data) if k != "id"]

    def made(r: Record) -> tuple[bytes, bytes]:
        row = csv_line([r.id, r.path, *(_flat(r.data.get(k)) for k in keys)])
        item = {"id": r.id, "path": r.path, "fields": dict(r.data)}
        return row.encode("utf-8"), _dumps(item).encode("utf-8")

    if data.carry is None:
        rows = [made(r) for r in chosen]
    else:
        rows = data.carry.per_record(f"downloads/{name}", chosen, tuple(keys), made)
    header = csv_line(["id", "path", *keys]).encode("utf-8")
    yield f"{name}.csv", header + b"".join(row for row, _ in rows)
    yield f"{name}.json", _json_items(data, "records", [item for _, item in rows])


def _json_items(data: SiteData, key: str, items: Sequence[bytes]) -> bytes:
    """``_json(data, key, [...])`` as its UTF-8 bytes, from each item's :func:`_dumps`
    as UTF-8 bytes (the items of the list are what its JSON text joins with ``", "``)."""
    frame = _json(data, key, [])
    assert frame.endswith("[]}\n")
    return frame[: -len("]}\n")].encode("utf-8") + b", ".join(items) + b"]}\n"


def _action(a: Action) -> dict[str, Any]:
    return {
        "id": a.id,
        "title": a.title,
        "type": a.type,
        "owner": a.owner,
        "due": a.due.isoformat() if a.due else None,
        "status": a.status,
        "verification": a.verification,
        "tracker": a.tracker,
    }


def downloads(data: SiteData) -> dict[str, str]:
    """File name (under ``downloads/``) -> content."""
    return {
        name: content.decode("utf-8") if isinstance(content, bytes) else content
        for name, content in each_download(data)
    }


def each_download(data: SiteData) -> Iterator[tuple[str, str | bytes]]:
    """Each download's file name (under ``downloads/``) and content (text, or the
    record tables' UTF-8 bytes), one download at a time (at 10^5 records the downloads
    are hundreds of megabytes)."""
    ledger = data.ledger
    tables: Mapping[str, Iterable[Record]] = {
        "incidents": ledger.incidents.values(),
        "changes": ledger.changes.values(),
        "pirs": ledger.pirs.values(),
        "runbooks": ledger.runbooks.values(),
        "problems": ledger.problem_records.values(),
    }
    for name, records in tables.items():
        yield from _records(data, name, records)
    services = [
        dict(s)
        for s in (ledger.services_doc.data if ledger.services_doc else [])
        if isinstance(s, dict)
    ]
    keys = list(dict.fromkeys(k for s in services for k in s))
    yield "services.csv", _csv(keys, ([_flat(s.get(k)) for k in keys] for s in services))
    yield "services.json", _json(data, "services", services)
    actions = [
        {"pir": pir.id, "incident": pir.incident, **_action(a)}
        for pir in ledger.pirs.values()
        for a in pir.actions
    ]
    problem_actions = [
        {"problem": prb.id, "incidents": list(prb.incidents), **_action(a)}
        for prb in ledger.problem_records.values()
        for a in prb.actions
    ]
    akeys = [
        "pir",
        "incident",
        "id",
        "title",
        "type",
        "owner",
        "due",
        "status",
        "verification",
        "tracker",
    ]
    yield "actions.csv", _csv(akeys, ([a[k] for k in akeys] for a in actions))
    yield "actions.json", _json(data, "actions", actions)
    pkeys = ["problem", "id", "title", "type", "owner", "due", "status", "verification", "tracker"]
    yield "problem-actions.csv", _csv(pkeys, ([a[k] for k in pkeys] for a in problem_actions))
    yield "problem-actions.json", _json(data, "actions", problem_actions)
    found = [f.as_dict() for f in data.findings]
    fkeys = ["rule", "severity", "record", "path", "line", "column", "message", "fix", "waived"]
    yield "findings.csv", _csv(fkeys, ([f[k] for k in fkeys] for f in found))
    yield "findings.json", _json(data, "findings", found)
    if data.kpis is not None:
        yield "kpis.json", FORMATS["json"](data.kpis)
        yield "kpis.csv", FORMATS["csv"](data.kpis)


def downloads_page(data: SiteData, names: Iterable[str]) -> str:
    available = set(names)
    out = head("Downloads", hide_toc=True)
    out += [
        "Every record kind, the PIR actions, the audit findings and the KPIs, as CSV "
        '(for a spreadsheet) and JSON (exact field values, `"version": 1`). CSV cells '
        "that a spreadsheet would run as a formula start with an apostrophe.",
        "",
    ]
    rows = []
    labels = [
        *KINDS,
        ("services", "Service catalog"),
        ("actions", "PIR actions"),
        ("problem-actions", "Problem actions"),
        ("findings", "Audit findings"),
        ("kpis", "KPIs"),
    ]
    for stem, label in labels:
        cells = [
            f"[{ext.upper()}]({stem}.{ext})"
            for ext in ("csv", "json")
            if f"{stem}.{ext}" in available
        ]
        if cells:
            rows.append((md(label), " · ".join(cells)))
    out += table(["Data", "Download"], rows)
    return "\n".join(out) + "\n"
