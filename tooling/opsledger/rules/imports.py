"""Imported records (SPEC §3.1 ``external_id`` / ``import_gaps``): their gaps are reported as
one summarised finding per record kind, not hundreds of identical errors, and every field an
imported record lacks must be listed in its ``import_gaps``."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from opsledger.findings import Finding
from opsledger.model.records import Incident

RESOLVED = frozenset({"resolved", "closed"})


def imported(inc: Incident) -> bool:
    return inc.external_id is not None and bool(inc.import_gaps)


def required_fields(inc: Incident, pir_priorities: frozenset[str]) -> list[str]:
    """Fields the schema would require of this incident were it not imported."""
    status, fields = inc.status or "", []
    if status in ("mitigated", *RESOLVED):
        fields += ["acknowledged_at", "mitigated_at"]
    if status in RESOLVED:
        fields += ["resolved_at", "resolution"]
    if status == "closed":
        fields.append("closed_at")
    if inc.priority in pir_priorities:
        fields += ["commander", "bridge_opened_at"]
        if status in RESOLVED:
            fields.append("pir")
    return fields


def gap_findings(incidents: list[Incident], rule: str) -> Iterator[Finding]:
    """One warning summarising the gaps of all imported incidents, and an error for each
    required field that is missing without being listed as a gap."""
    chosen = [i for i in incidents if imported(i)]
    if not chosen:
        return
    for inc in chosen:
        listed = set(inc.import_gaps)
        for field in required_fields(inc, frozenset({"P1", "P2"})):
            if inc.data.get(field) in (None, "") and field not in listed:
                line, column = inc.position()
                yield Finding(
                    inc.path,
                    line,
                    column,
                    rule,
                    "error",
                    f"imported record lacks '{field}' without listing it in import_gaps",
                    inc.id,
                    "/import_gaps",
                    f"add '{field}' to import_gaps, or fill it in",
                )
    counts = Counter(field for inc in chosen for field in inc.import_gaps)
    lack = ", ".join(f"{field} {n}" for field, n in counts.most_common())
    first = min(chosen, key=lambda i: i.path)
    yield Finding(
        "records/incidents",
        1,
        1,
        rule,
        "warning",
        f"{len(chosen)} imported incidents lack fields their source system did not have "
        f"({lack}); they are excluded from the KPIs that need them (e.g. {first.id})",
        None,
        "",
        "fill the gaps where the facts are known, and remove them from import_gaps",
    )
