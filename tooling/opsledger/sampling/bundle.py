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
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from opsledger import __version__, gitio
from opsledger.audit import selected_rules
from opsledger.errors import OpsledgerError
from opsledger.findings import Finding
from opsledger.history.model import HistoryIndex
from opsledger.history.trail import trail, trail_document, trail_lines
from opsledger.kpis import KpiOptions
from opsledger.model.layout import KIND_BY_NAME, KINDS
from opsledger.model.records import Record
from opsledger.neutral import json_text, line
from opsledger.output.spreadsheet import csv_text
from opsledger.rules import Rule
from opsledger.rules.history import ENTRIES
from opsledger.sampling.evidence import (
    FAILED,
    Control,
    approvals,
    controls,
    passes,
    record_findings,
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
from opsledger.text.escape import md
from opsledger.timeutil import format_timestamp
from opsledger.workspace import Workspace

MANIFEST = "manifest.json"
#: the git paths whose blobs a bundle names (record folders)
FOLDERS = tuple(k.folder for k in KINDS)


@dataclass
class Outcome:
    """One sampled record's result."""

    record: Record
    folder: str
    passed: bool
    failed: list[str] = field(default_factory=list)  # rules it failed


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


def _safe(name: str) -> str:
    """A file or folder name from a record ID (IDs are checked, but never trusted)."""
    return re.sub(r"[^A-Za-z0-9-]", "_", name)[:80] or "_"


def _md_lines(rows: Sequence[str]) -> bytes:
    return ("\n".join(rows).rstrip("\n") + "\n").encode()


def derive(ws: Workspace, request: Request, command: str) -> Bundle:
    """The bundle for ``request`` from the repository ``ws`` opened at its commit (HEAD,
    a clean checkout: see :mod:`opsledger.sampling.snapshot`)."""
    commit = ws.commit
    if commit is None:
        raise OpsledgerError("the repository has no commit yet; a sample is drawn from a commit")
    ledger = ws.ledger
    index = ws.history
    assert isinstance(index, HistoryIndex)  # the Workspace was opened with history
    blobs = gitio.tree_blobs(ws.root, commit, FOLDERS)
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
    with gitio.BlobReader(ws.root) as reader:
        for order, member in enumerate(chosen.members, 1):
            folder = f"{order:02d}-{_safe(member.record.id)}"
            outcome = _evidence(
                ws, member.record, member.blob, folder, findings, ran, index, blobs, reader, files
            )
            files[f"{folder}/summary.md"] = _record_summary(
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
    files["summary.md"] = _summary(request, pop, chosen, outcomes, commit, ws, kpi.value, kpi.n)
    files["README.md"] = _readme(request, pop, chosen, commit)
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
    reader: gitio.BlobReader,
    files: dict[str, bytes],
) -> Outcome:
    suffix = KIND_BY_NAME[record.kind].suffix
    files[f"{folder}/{_safe(record.id)}{suffix}"] = _blob(reader, blob, record.path)
    history = index.get(record.id)
    rows = trail(history) if history is not None else []
    files[f"{folder}/history.json"] = _json(trail_document(index, record.id, rows))
    text = [line(t) for t in trail_lines(rows)] or ["no history: the record is not on the branch"]
    files[f"{folder}/history.txt"] = _md_lines(text)
    mine = record_findings(findings, record)
    files[f"{folder}/findings.json"] = _json(
        {
            "version": 1,
            "commit": ws.commit,
            "as_of": format_timestamp(ws.as_of),
            "record": record.id,
            "path": record.path,
            "passes_every_control": passes(mine),
            "summary": _count(mine),
            "findings": [f.as_dict() for f in sorted(mine)],
        }
    )
    entries = approvals(record, mine, ran, index)
    if record.kind in ENTRIES:
        files[f"{folder}/approvals.json"] = _json(
            {"version": 1, "record": record.id, "entries": entries}
        )
    for linked_id in dict.fromkeys(ws_links(ws, record)):
        linked = ws.ledger.get(linked_id)
        if linked is None or linked.path not in blobs:
            continue
        name = f"{folder}/linked/{_safe(linked.id)}{KIND_BY_NAME[linked.kind].suffix}"
        files[name] = _blob(reader, blobs[linked.path], linked.path)
    failed = [c.rule for c in controls(record, mine, ran, index) if c.verdict == FAILED]
    return Outcome(record, folder, passes(mine), failed)


def ws_links(ws: Workspace, record: Record) -> Iterator[str]:
    from opsledger.sampling.kinds import SAMPLE_KINDS

    kind = SAMPLE_KINDS.get(record.kind)
    if kind is not None:
        yield from kind.linked(ws.ledger, record)


def _blob(reader: gitio.BlobReader, blob: str, path: str) -> bytes:
    data = reader.read(blob)
    if data is None:
        raise OpsledgerError(f"{path}: git cannot read its blob {blob}; repair the repository")
    return data


def _count(found: Sequence[Finding]) -> str:
    if not found:
        return "no findings"
    errors = sum(f.severity == "error" and not f.waived for f in found)
    waived = sum(f.waived for f in found)
    return (
        f"{len(found)} finding{'s' * (len(found) != 1)}: {errors} unwaived "
        f"error{'s' * (errors != 1)}, {waived} waived"
    )


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


def _mark(verdict: str) -> str:
    return "✗" if verdict == FAILED else "✓"


def _record_summary(
    request: Request,
    pop: Population,
    order: int,
    outcome: Outcome,
    findings: Sequence[Finding],
    ran: Sequence[Rule],
    index: HistoryIndex,
    commit: str,
    ws: Workspace,
) -> bytes:
    record = outcome.record
    mine = record_findings(findings, record)
    title = record.data.get("title")
    rows = [
        f"# {md(record.id)}" + (f": {md(title)}" if isinstance(title, str) else ""),
        "",
        f"Sample item {order}, drawn from {len(pop.members)} {request.kind} "
        f"records placed in {md(pop.period)} by {md(pop.kind.dated_by)}; commit "
        f"`{commit}`, as of {format_timestamp(ws.as_of)}. SHA-256 of "
        f"`{request.seed}:{_safe(record.id)}`: `{rank(request.seed, record.id)}`.",
        "",
    ]
    if outcome.passed:
        rows.append("**Result: passed every control tested** (no unwaived error finding).")
    else:
        failed = ", ".join(outcome.failed) or "see findings.json"
        rows.append(f"**Result: EXCEPTION.** Failed: {md(failed)}.")
    rows += ["", "## Controls tested", "", "| control | verdict | finding |", "|---|---|---|"]
    for control in controls(record, mine, ran, index):
        rows.append(_control_row(control))
    rows += ["", "## Approvals and reviews, with their provenance", ""]
    entries = approvals(record, mine, ran, index)
    if record.kind not in ENTRIES:
        rows.append(f"A {record.kind} record carries no approval or review entries.")
    elif not entries:
        rows.append("None recorded.")
    else:
        rows += [
            "| # | by | role | decision | at | added by commit | GIT-PROVENANCE | GIT-BACKDATED |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for entry in entries:
            added = entry.get("added_by") or {}
            who = f"`{added['commit'][:10]}` {md(added['author'])}" if added else "not found"
            verdicts = entry["verdicts"]
            rows.append(
                f"| {entry['index'] + 1} | {md(entry.get('by'))} | {md(entry.get('role'))} | "
                f"{md(entry.get('decision'))} | {md(entry.get('at'))} | {who} | "
                f"{md(verdicts['GIT-PROVENANCE']['verdict'])} | "
                f"{md(verdicts['GIT-BACKDATED']['verdict'])} |"
            )
    rows += ["", "## Linked records", ""]
    linked = list(dict.fromkeys(ws_links(ws, record)))
    if not linked:
        rows.append("None.")
    for linked_id in linked:
        found = ws.ledger.get(linked_id)
        if found is None:
            rows.append(f"- {md(linked_id)}: named, but no such record at this commit")
        else:
            name = f"{_safe(found.id)}{KIND_BY_NAME[found.kind].suffix}"
            rows.append(f"- {md(found.id)}: `linked/{name}` (from {md(found.path)})")
    rows += [
        "",
        "## Files",
        "",
        f"- `{_safe(record.id)}{KIND_BY_NAME[record.kind].suffix}`: the record file as "
        f"committed at {md(record.path)} (`git show {commit[:10]}:PATH` gives the same bytes)",
        "- `history.txt`, `history.json`: its audit trail from git (`opsledger history`)",
        f"- `findings.json`: {_count(mine)}",
    ]
    if record.kind in ENTRIES:
        rows.append("- `approvals.json`: each entry with the commit that added it and its verdicts")
    return _md_lines(rows)


def _control_row(control: Control) -> str:
    detail = "; ".join(md(f.message) for f in control.findings[:3])
    if len(control.findings) > 3:
        detail += f"; …and {len(control.findings) - 3} more (findings.json)"
    name = f"{control.rule}: {control.summary}" if control.summary else control.rule
    return f"| {md(name)} | {_mark(control.verdict)} {md(control.verdict)} | {detail} |"


def _summary(
    request: Request,
    pop: Population,
    chosen: Selection,
    outcomes: list[Outcome],
    commit: str,
    ws: Workspace,
    kpi_value: float | None,
    kpi_n: int,
) -> bytes:
    passed = sum(o.passed for o in outcomes)
    rate = passed / len(outcomes)
    rows = [
        f"# Audit sample: {request.kind} records, {md(pop.period)}",
        "",
        f"Commit `{commit}`, as of {format_timestamp(ws.as_of)}, seed `{request.seed}`.",
        f"Population: {len(pop.members)} records (placed by {md(pop.kind.dated_by)} in "
        f"{md(ws.policy.timezone)}"
        + "".join(f"; {md(n)} in {md(', '.join(v))}" for n, v in request.where)
        + f"); sample: {len(outcomes)} ({md(chosen.source)}).",
    ]
    if chosen.note:
        rows.append(f"Note: {md(chosen.note)}.")
    rows += [
        "",
        f"**Audit evidence pass rate of the sample: {passed} of {len(outcomes)} "
        f"({rate:.0%})** passed every control tested (no unwaived error finding).",
        "",
    ]
    if kpi_value is not None:
        rows.append(
            f"Beside it, the `audit_pass_rate` KPI over the whole period ({kpi_n} records of "
            f"every kind, as `opsledger kpi --since … --until …` computes it): {kpi_value:.0%}."
        )
    else:
        rows.append("Beside it, the `audit_pass_rate` KPI over the whole period: no data.")
    rows += ["", "## Exceptions", ""]
    exceptions = [o for o in outcomes if not o.passed]
    if not exceptions:
        rows.append("None: every sampled record passed every control tested.")
    for o in exceptions:
        rows.append(f"- {md(o.record.id)} (`{o.folder}/`): failed {md(', '.join(o.failed))}")
    rows += ["", "## Sample", "", "| # | record | result | evidence |", "|---|---|---|---|"]
    for order, o in enumerate(outcomes, 1):
        verdict = "✓ passed" if o.passed else "✗ exception"
        rows.append(f"| {order} | {md(o.record.id)} | {verdict} | `{o.folder}/summary.md` |")
    if pop.unplaced:
        rows += ["", "## Not placeable in any period", ""]
        rows += [f"- {md(e.record)}: {md(e.reason)}" for e in pop.unplaced]
    return _md_lines(rows)


def _readme(request: Request, pop: Population, chosen: Selection, commit: str) -> bytes:
    first = chosen.members[0].record.id
    rows = [
        f"# Evidence bundle: {request.kind} records, {md(pop.period)}",
        "",
        "Made by `opsledger sample`. Every file here is derived from the governance "
        f"repository at commit `{commit}`; `manifest.json` lists each file's SHA-256.",
        "",
        "## How the sample was chosen",
        "",
        f"1. The population (`population.csv`): every {request.kind} record whose "
        f"{md(pop.kind.dated_by)} falls in {md(pop.period)} in the policy's time zone"
        + ("".join(f", with {md(n)} one of {md(', '.join(v))}" for n, v in request.where))
        + f": {len(pop.members)} records, each with its file's git blob id.",
        f"2. The rule: {RULE}.",
        f"3. N = {chosen.size} ({md(chosen.source)}"
        + (f"; {md(chosen.note)}" if chosen.note else "")
        + ").",
        "",
        "Redo it by hand with any SHA-256 tool: for each ID of `population.csv` compute the "
        "digest of the seed, a colon and the ID, sort the digests (as text, 0-9 before "
        "a-f), and take the first N. For the first sampled record:",
        "",
        "```sh",
        f"printf '%s' '{request.seed}:{_safe(first)}' | sha256sum",
        "```",
        "",
        "`selection.csv` lists every digest in that order. Each record file can be compared "
        f"with the repository: `git show {commit}:PATH` (PATH from `population.csv`).",
        "",
        "## How to verify this bundle",
        "",
        "```sh",
        "opsledger sample verify THIS-FOLDER --repo PATH-TO-THE-REPOSITORY",
        "```",
        "",
        "It recomputes every file's hash, checks that the commit exists, derives the "
        "population, the selection and the evidence again from the repository at that "
        "commit, and names every file or record that differs (exit status 1).",
    ]
    return _md_lines(rows)
