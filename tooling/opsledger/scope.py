"""Which records a pull request touches: ``--changed-since REF``.

The records whose files changed since the merge base with REF (committed, staged, unstaged
or untracked), plus the records they reference and the records that reference them, so a
PIR changed in a PR is judged together with its incident. Cross-record rules (ID
uniqueness, change collisions) still see the whole repository; only the findings reported
are limited to this set.
"""

from __future__ import annotations

from opsledger import gitio
from opsledger.model.ledger import Ledger
from opsledger.model.records import Change, Incident, Pir, Record


def references(record: Record) -> set[str]:
    """IDs ``record`` points at."""
    if isinstance(record, Incident):
        refs = {record.caused_by_change, record.recurrence_of, record.pir, *record.runbooks_used}
    elif isinstance(record, Change):
        refs = {record.related_incident}
    elif isinstance(record, Pir):
        refs = {record.incident}
    else:
        refs = set()
    return {r for r in refs if r}


def changed_records(ledger: Ledger, ref: str) -> set[str]:
    """Record IDs and repository paths to report on for a change since ``ref``."""
    paths = set(gitio.changed_paths(ledger.root, ref))
    by_path = {r.path: r for r in ledger.records()}
    chosen: set[str] = {p for p in paths if p not in by_path}  # services.yaml, policy, bad files
    direct = {by_path[p].id for p in paths if p in by_path}
    chosen |= direct
    for record in ledger.records():
        refs = references(record)
        if record.id in direct:
            chosen |= refs
        elif refs & direct:
            chosen.add(record.id)
    return chosen
