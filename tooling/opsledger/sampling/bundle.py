"""The evidence bundle of a sample, as files (name -> bytes): derived, never edited.

``opsledger sample`` writes what :func:`derive` returns; ``opsledger sample verify``
derives it again from the repository at the bundle's commit and compares, file by file.
Layout::

    README.md          the rule, how to redo the selection by hand, how to verify
    summary.md         pass rate of the sample, exceptions, audit_pass_rate beside it
    population.csv     every record of the population: id, path, blob id, status, date…
    selection.csv      the population in selection order with each SHA-256 of SEED:ID
    manifest.json      commit, as-of, command, tool version, seed, rule, ids, file hashes
    01-CHG-2026-0007/  one folder per sampled record, in selection order:
        CHG-2026-0007.yaml   the record file, byte for byte as committed
        history.txt, history.json   its audit trail (as ``opsledger history`` shows it)
        findings.json        its findings ("no findings" said)
        approvals.json       each approval or review with its provenance verdicts
        linked/…             linked records' files, byte for byte as committed
        summary.md           one page: each control tested and its verdict
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opsledger import __version__, gitio
from opsledger.audit import selected_rules
from opsledger.errors import OpsledgerError
from opsledger.findings import Finding
from opsledger.history.model import HistoryIndex
from opsledger.history.trail import trail, trail_document, trail_lines
from opsledger.kpis import KpiOptions
from opsledger.model.layout import KIND_BY_NAME
from opsledger.model.records import Record
from opsledger.neutral import json_text, line
from opsledger.output.spreadsheet import csv_text
from opsledger.rules import Rule
from opsledger.rules.history import ENTRIES
from opsledger.sampling.evidence import (
    FAILED,
    Outcome,
    approvals,
    controls,
    findings_count,
    passes,
    record_findings,
)
from opsledger.sampling.kinds import linked_ids
from opsledger.sampling.pages import (
    readme,
    record_summary,
    safe_name,
    sample_summary,
    text_file,
)
from opsledger.sampling.population import (
    RULE,
    Population,
    Request,
    Selection,
    population,
    rank,
    select,
)
from opsledger.timeutil import format_timestamp
from opsledger.workspace import Workspace

MANIFEST = "manifest.json"
#: the git paths whose blobs a bundle names (record folders)


@dataclass
class Bundle:
    request: Request
    commit: str
    population: Population
    selection: Selection
    outcomes: list[Outcome]
    files: dict[str, bytes]  # every file, manifest.json included

    @property
    def passed(self) -> int:
        return sum(o.passed for o in self.outcomes)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _json(document: Any) -> bytes:
    return (json_text(json.dumps(document, indent=2, ensure_ascii=False)) + "\n").encode()


def derive(ws: Workspace, request: Request, command: str) -> Bundle:
    """The bundle for ``request`` from the repository ``ws`` opened at its commit (HEAD,
    a clean checkout: see :mod:`opsledger.sampling.snapshot`)."""
    commit = ws.commit
    if commit is None:
        raise OpsledgerError("the repository has no commit yet; a sample is drawn from a commit")
    ledger = ws.ledger
    index = ws.history
    assert isinstance(index, HistoryIndex)  # the Workspace was opened with history
    blobs = ws.blobs
    pop = population(ledger, request, ws.as_of, blobs)
    if not pop.members:
        where = "".join(f" with {n}={','.join(v)}" for n, v in request.where)
        raise OpsledgerError(
            f"no {request.kind} records{where} are placed in {pop.period} (by "
            f"{pop.kind.dated_by}, {ledger.policy.timezone}); nothing to sample"
        )
    chosen = select(pop, request, ledger)
    findings = ws.findings()
    ran = selected_rules(ledger.policy, (), ())
    files: dict[str, bytes] = {}
    outcomes: list[Outcome] = []
    for order, member in enumerate(chosen.members, 1):
        folder = f"{order:02d}-{safe_name(member.record.id)}"
        outcome = _evidence(
            ws, member.record, member.blob, folder, findings, ran, index, blobs, files
        )
        files[f"{folder}/summary.md"] = record_summary(
            request, pop, order, outcome, findings, ran, index, commit, ws
        )
        outcomes.append(outcome)
    kpi = ws.kpis(
        KpiOptions(
            as_of=ws.as_of,
            since=pop.period.since,
            until=pop.period.until,
            only=("audit_pass_rate",),
        )
    ).get("audit_pass_rate")
    files["population.csv"] = pop.csv().encode()
    files["selection.csv"] = _selection_csv(pop, request, chosen).encode()
    files["summary.md"] = sample_summary(
        request, pop, chosen, outcomes, commit, ws, kpi.value, kpi.n
    )
    files["README.md"] = readme(request, pop, chosen, commit)
    bundle = Bundle(request, commit, pop, chosen, outcomes, files)
    files[MANIFEST] = _json(manifest(bundle, command, ws))
    return bundle


def manifest(bundle: Bundle, command: str, ws: Workspace) -> dict[str, Any]:
    request, pop, chosen = bundle.request, bundle.population, bundle.selection
    population_csv = bundle.files["population.csv"]
    return {
        "version": 1,
        "tool": "opsledger",
        "tool_version": __version__,
        "commit": bundle.commit,
        "as_of": request.as_of,
        "command": command,
        "kind": request.kind,
        "period": {
            "name": request.period,
            "first_day": pop.period.since.isoformat() if pop.period.since else None,
            "last_day": pop.period.last.isoformat() if pop.period.last else None,
            "timezone": str(ws.policy.timezone),
            "placed_by": pop.kind.dated_by,
        },
        "where": {name: list(values) for name, values in request.where},
        "seed": request.seed,
        "rule": RULE,
        "size": {"n": chosen.size, "from": chosen.source, "asked": request.n, "note": chosen.note},
        "population": {
            "file": "population.csv",
            "count": len(pop.members),
            "sha256": sha256(population_csv),
            "unplaced": [{"record": e.record, "reason": e.reason} for e in pop.unplaced],
        },
        "sample": [o.record.id for o in bundle.outcomes],
        "results": {
            "passed": bundle.passed,
            "sampled": len(bundle.outcomes),
            "exceptions": {o.record.id: o.failed for o in bundle.outcomes if not o.passed},
        },
        "files": {name: sha256(data) for name, data in sorted(bundle.files.items())},
    }


def _evidence(
    ws: Workspace,
    record: Record,
    blob: str,
    folder: str,
    findings: Sequence[Finding],
    ran: Sequence[Rule],
    index: HistoryIndex,
    blobs: dict[str, str],
    files: dict[str, bytes],
) -> Outcome:
    suffix = KIND_BY_NAME[record.kind].suffix
    files[f"{folder}/{safe_name(record.id)}{suffix}"] = _blob(ws.root, blob, record.path)
    history = index.get(record.id)
    rows = trail(history) if history is not None else []
    files[f"{folder}/history.json"] = _json(trail_document(index, record.id, rows))
    text = [line(t) for t in trail_lines(rows)] or ["no history: the record is not on the branch"]
    files[f"{folder}/history.txt"] = text_file(text)
    mine = record_findings(findings, record)
    files[f"{folder}/findings.json"] = _json(
        {
            "version": 1,
            "commit": ws.commit,
            "as_of": format_timestamp(ws.as_of),
            "record": record.id,
            "path": record.path,
            "passes_every_control": passes(mine),
            "summary": findings_count(mine),
            "findings": [f.as_dict() for f in sorted(mine)],
        }
    )
    entries = approvals(record, mine, ran, index)
    if record.kind in ENTRIES:
        files[f"{folder}/approvals.json"] = _json(
            {"version": 1, "record": record.id, "entries": entries}
        )
    for linked_id in linked_ids(ws.ledger, record):
        linked = ws.ledger.get(linked_id)
        if linked is None or linked.path not in blobs:
            continue
        name = f"{folder}/linked/{safe_name(linked.id)}{KIND_BY_NAME[linked.kind].suffix}"
        files[name] = _blob(ws.root, blobs[linked.path], linked.path)
    failed = [c.rule for c in controls(record, mine, ran, index) if c.verdict == FAILED]
    return Outcome(record, folder, passes(mine), failed)


def _blob(root: Path, blob: str, path: str) -> bytes:
    """The bytes git holds for ``path`` at the sample's commit. A blob git cannot give (a
    damaged object store) is history that cannot be read in full: exit status 4."""
    data = gitio.read_blob(root, blob)
    if data is None:
        raise gitio.unreadable_history(f"missing blob {blob} of {path}")
    return data


def _selection_csv(pop: Population, request: Request, chosen: Selection) -> str:
    picked = {m.record.id for m in chosen.members}
    ordered = sorted(pop.members, key=lambda m: (rank(request.seed, m.record.id), m.record.id))
    rows = (
        [
            order,
            m.record.id,
            rank(request.seed, m.record.id),
            "yes" if m.record.id in picked else "no",
        ]
        for order, m in enumerate(ordered, 1)
    )
    return csv_text(["order", "id", f"sha256({request.seed}:id)", "sampled"], rows)
