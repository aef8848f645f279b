"""The "Audit sampling" page: the published selection rule, how to draw and verify a
sample with ``opsledger sample``, and each kind's population per quarter as a CSV download
(the ``population.csv`` a sample of that quarter starts from)."""

from __future__ import annotations

import csv
import io
from collections import defaultdict

from opsledger.kpis.base import KpiContext
from opsledger.output.spreadsheet import csv_line
from opsledger.period import Period, label_of
from opsledger.sampling.kinds import PLANNED, SAMPLE_KINDS
from opsledger.sampling.population import RULE, Member, Population, Request, population
from opsledger.sampling.settings import SIZES
from opsledger.site.common import head, table
from opsledger.site.data import SiteData
from opsledger.text.escape import md
from opsledger.timeutil import format_timestamp

PAGE = "sampling/index.md"
UNCOMMITTED = "(not committed)"


def populations(data: SiteData) -> dict[str, str]:
    """``sampling/<kind>-<quarter>.csv`` -> the population CSV, for every quarter holding
    a record of the kind (and starting before "now")."""
    ledger = data.ledger
    zone = ledger.policy.timezone
    blobs = data.blobs
    files: dict[str, str] = {}
    for name, kind in SAMPLE_KINDS.items():
        placed, _ = kind.place(KpiContext(ledger, data.as_of, Period(zone=zone)))
        quarters: set[str] = set()
        for record in placed:
            moment = kind.moment(ledger, record)
            if moment is not None and moment <= data.as_of:
                quarters.add(label_of("quarter", moment.astimezone(zone).date()))
        for quarter in sorted(quarters):
            request = Request(name, quarter, "site", format_timestamp(data.as_of))
            pop = population(ledger, request, data.as_of, blobs, uncommitted=UNCOMMITTED)
            files[f"sampling/{name}-{quarter}.csv"] = _csv(data, name, pop)
    return files


def _csv(data: SiteData, name: str, pop: Population) -> str:
    """``pop.csv()``; under ``site serve``, each member's row made once per record object,
    blob and moment (:meth:`~opsledger.site.carry.Carry.made`)."""
    carry = data.carry
    if carry is None:
        return pop.csv()
    header = tuple(pop.header())

    def row(m: Member) -> str:
        key = (m.blob, m.moment, header)
        return carry.made(f"population {name}", m.record, key, lambda _: csv_line(pop.row(m)))

    return pop.csv(row)


def sampling_page(data: SiteData, files: dict[str, str]) -> str:
    sizes = SIZES.read(data.ledger.policy.doc.data)
    out = head("Audit sampling")
    out += [
        "An auditor tests a control on a sample of its population. `opsledger sample` draws "
        "that sample by a published rule anyone can redo by hand, and writes an evidence "
        "bundle for each sampled record: the record file as committed, its audit trail from "
        "git, its findings, each approval with its provenance verdict (GIT-PROVENANCE, "
        "GIT-BACKDATED), its linked records and a one-page summary of every control tested.",
        "",
        "## The rule",
        "",
        f"1. The population: every record of one kind placed in the period, in the policy's "
        f"time zone ({md(data.ledger.policy.timezone)}): "
        + "; ".join(f"{md(k)} records by {md(v.dated_by)}" for k, v in SAMPLE_KINDS.items())
        + ". `--where FIELD=V1,V2` narrows it (`type=emergency`, `risk=high`, "
        "`priority=P1,P2`).",
        f"2. The selection: {md(RULE)}. For one record: `printf '%s' 'SEED:ID' | sha256sum`.",
        "3. N: `--n`, or `sampling.sizes` in `policy.yaml` by population size (the whole "
        "population when it is not larger):",
        "",
    ]
    rows = []
    low = 1
    for up_to, size in sizes:
        rows.append((f"{low} to {up_to}" if up_to else f"{low} or more", str(size)))
        low = (up_to or low) + 1
    out += table(["population", "sample size"], rows)
    out += [
        "",
        "## Drawing and verifying a sample",
        "",
        "```sh",
        "opsledger sample --kind change --period 2026-Q1 --seed 2026q1-audit --output bundle",
        "opsledger sample verify bundle",
        "```",
        "",
        "`manifest.json` in the bundle records the commit, the as-of time, the exact command, "
        "the tool version, the seed, the rule, the sampled IDs in order and the SHA-256 of "
        "every file. `sample verify` recomputes every hash, checks the commit exists, derives "
        "the population, the selection and the evidence again from the repository at that "
        "commit and names every file or record that differs (exit status 1). The sample's "
        "pass rate (records passing every control tested) is in its `summary.md`, beside the "
        "`audit_pass_rate` KPI over the whole period.",
        "",
    ]
    if PLANNED:
        out += [f"Not yet sampled: {md(', '.join(PLANNED))} records.", ""]
    out += [
        "## Populations",
        "",
        f"Each quarter's population as of {md(format_timestamp(data.as_of))} at commit "
        f"`{data.commit or 'none'}`, with each file's git blob id (the `population.csv` a "
        "sample of that quarter starts from).",
        "",
    ]
    by_kind: defaultdict[str, list[str]] = defaultdict(list)
    for name in sorted(files):
        kind, _, quarter = name.removeprefix("sampling/").removesuffix(".csv").partition("-")
        count = len(list(csv.reader(io.StringIO(files[name])))) - 1
        by_kind[kind].append(f"[{md(quarter)}]({kind}-{quarter}.csv) ({count})")
    cells = [(md(kind), " · ".join(by_kind[kind]) or "none") for kind in SAMPLE_KINDS]
    out += table(["kind", "quarter (records)"], cells)
    return "\n".join(out) + "\n"
