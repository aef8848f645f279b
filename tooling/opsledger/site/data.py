"""Everything the pages are made from, gathered once: the Ledger, the audit findings, the
KPIs, and the history index (or the reason there is none).

History: in a shallow clone or outside git, the audit trail sections say so explicitly
("history unavailable: shallow clone", "no git history"); they are never silently empty.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from opsledger import gitio
from opsledger.audit import AuditOptions, run_audit
from opsledger.errors import EXIT_SHALLOW, OpsledgerError
from opsledger.findings import Finding
from opsledger.history.index import build_history
from opsledger.history.model import HistoryIndex
from opsledger.kpis import KpiOptions, KpiReport, compute_kpis
from opsledger.model.ledger import Ledger, load_ledger
from opsledger.timeutil import as_of_moment

Progress = Callable[[int, int], None]

SHALLOW = "history unavailable: shallow clone"
NO_GIT = "no git history"


@dataclass
class SiteData:
    ledger: Ledger
    findings: list[Finding]
    kpis: KpiReport | None
    history: HistoryIndex | None
    history_notice: str | None  # why there is no history (shown wherever a trail would be)
    as_of: datetime
    commit: str | None
    by_record: dict[str, list[Finding]] = field(default_factory=dict)
    by_path: dict[str, list[Finding]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        records: defaultdict[str, list[Finding]] = defaultdict(list)
        paths: defaultdict[str, list[Finding]] = defaultdict(list)
        for finding in self.findings:
            if finding.record:
                records[finding.record].append(finding)
            paths[finding.path].append(finding)
        self.by_record = dict(records)
        self.by_path = dict(paths)

    def findings_of(self, record_id: str, path: str) -> list[Finding]:
        """A record's findings: by its ID, and those on its file naming no record."""
        own = self.by_record.get(record_id, [])
        extra = [f for f in self.by_path.get(path, []) if f.record is None]
        return sorted({*own, *extra})


def read_history(root: Path, ledger: Ledger) -> tuple[HistoryIndex | None, str | None]:
    """The history index, or None and the reason (shallow clone, not a git repository)."""
    if gitio.describe_head(root) is None:
        return None, NO_GIT
    try:
        index = build_history(root, since=ledger.policy.history_since, limits=ledger.policy.limits)
    except OpsledgerError as exc:
        if exc.status == EXIT_SHALLOW:
            return None, SHALLOW
        raise
    return index, None


def collect(
    root: Path, as_of: datetime | str | None = None, *, progress: Progress | None = None
) -> SiteData:
    """Load, audit and measure the repository at ``root`` as of ``as_of`` (a moment, an
    ``--as-of`` text, or None for now)."""
    ledger = load_ledger(root, progress=progress)
    if not isinstance(as_of, datetime):
        as_of = as_of_moment(as_of, ledger.policy.timezone)
    history, notice = read_history(root, ledger)
    findings = run_audit(ledger, AuditOptions(as_of=as_of, history=history))
    kpis = compute_kpis(
        ledger,
        history,
        KpiOptions(as_of=as_of, by=("month",), findings=findings),
        commit=gitio.describe_head(root),
    )
    return SiteData(ledger, findings, kpis, history, notice, as_of, kpis.commit if kpis else None)
