"""The Markdown files of a bundle: its README (the rule, by hand), the sample's summary
(pass rate, exceptions, audit_pass_rate beside it) and each sampled record's one-page
summary. Every value from a record, a file name or git is escaped (:func:`md`)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from opsledger.findings import Finding
from opsledger.history.model import HistoryIndex
from opsledger.model.layout import KIND_BY_NAME
from opsledger.rules import Rule
from opsledger.rules.history import ENTRIES
from opsledger.sampling.evidence import (
    FAILED,
    Control,
    Outcome,
    approvals,
    controls,
    findings_count,
    record_findings,
)
from opsledger.sampling.kinds import linked_ids
from opsledger.sampling.population import RULE, Population, Request, Selection, rank
from opsledger.text.escape import md
from opsledger.timeutil import format_timestamp
from opsledger.workspace import Workspace


def safe_name(name: str) -> str:
    """A file or folder name from a record ID (IDs are checked, but never trusted)."""
    return re.sub(r"[^A-Za-z0-9-]", "_", name)[:80] or "_"


def text_file(rows: Sequence[str]) -> bytes:
    return ("\n".join(rows).rstrip("\n") + "\n").encode()


def _mark(verdict: str) -> str:
    return "✗" if verdict == FAILED else "✓"


def record_summary(
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
        f"`{request.seed}:{safe_name(record.id)}`: `{rank(request.seed, record.id)}`.",
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
    linked = linked_ids(ws.ledger, record)
    if not linked:
        rows.append("None.")
    for linked_id in linked:
        found = ws.ledger.get(linked_id)
        if found is None:
            rows.append(f"- {md(linked_id)}: named, but no such record at this commit")
        else:
            name = f"{safe_name(found.id)}{KIND_BY_NAME[found.kind].suffix}"
            rows.append(f"- {md(found.id)}: `linked/{name}` (from {md(found.path)})")
    rows += [
        "",
        "## Files",
        "",
        f"- `{safe_name(record.id)}{KIND_BY_NAME[record.kind].suffix}`: the record file as "
        f"committed at {md(record.path)} (`git show {commit[:10]}:PATH` gives the same bytes)",
        "- `history.txt`, `history.json`: its audit trail from git (`opsledger history`)",
        f"- `findings.json`: {findings_count(mine)}",
    ]
    if record.kind in ENTRIES:
        rows.append("- `approvals.json`: each entry with the commit that added it and its verdicts")
    return text_file(rows)


def _control_row(control: Control) -> str:
    detail = "; ".join(md(f.message) for f in control.findings[:3])
    if len(control.findings) > 3:
        detail += f"; …and {len(control.findings) - 3} more (findings.json)"
    name = f"{control.rule}: {control.summary}" if control.summary else control.rule
    return f"| {md(name)} | {_mark(control.verdict)} {md(control.verdict)} | {detail} |"


def sample_summary(
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
    return text_file(rows)


def unplaced_note(pop: Population) -> str:
    """The one line saying how many records could not be placed ("" when none)."""
    count = len(pop.unplaced)
    if not count:
        return ""
    records = "record" if count == 1 else "records"
    return f"{count} {records} could not be placed in a period (listed in summary.md)"


def readme(request: Request, pop: Population, chosen: Selection, commit: str) -> bytes:
    first = chosen.members[0].record.id
    unplaced = unplaced_note(pop)
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
        *(["", f"Not in the population: {unplaced}."] if unplaced else []),
        "",
        "Redo it by hand with any SHA-256 tool: for each ID of `population.csv` compute the "
        "digest of the seed, a colon and the ID, sort the digests (as text, 0-9 before "
        "a-f), and take the first N. For the first sampled record:",
        "",
        "```sh",
        f"printf '%s' '{request.seed}:{safe_name(first)}' | sha256sum",
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
    return text_file(rows)
