"""Everything the pages are made from, gathered once: the Ledger, the audit findings, the
KPIs, and the history index (or the reason there is none).

History: built with ``--no-history`` in a shallow clone or outside git, the audit trail
sections say so explicitly ("history unavailable: shallow clone (--no-history)"); they are
never silently empty. Without ``--no-history`` such a build stops with exit status 4.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from opsledger.findings import Finding
from opsledger.history.model import HistoryIndex
from opsledger.kpis import KpiOptions, KpiReport
from opsledger.model.ledger import Ledger
from opsledger.obligations import Obligations
from opsledger.site.carry import Carry
from opsledger.workspace import Progress, Stage, quiet

__all__ = ["Progress", "SiteData", "Stage", "collect", "quiet"]


@dataclass
class SiteData:
    ledger: Ledger
    findings: list[Finding]
    kpis: KpiReport | None
    history: HistoryIndex | None
    history_notice: str | None  # why there is no history (shown wherever a trail would be)
    as_of: datetime
    commit: str | None
    #: repository path -> blob id of every record file at ``commit`` (Workspace.blobs)
    blobs: dict[str, str] = field(default_factory=dict)
    #: the run's obligations: the same verdicts as the audit's and the KPIs'
    obligations: Obligations | None = None
    by_record: dict[str, list[Finding]] = field(default_factory=dict)
    by_path: dict[str, list[Finding]] = field(default_factory=dict)
    #: what ``site serve`` carries between builds (audit trails, rendered bodies), or None
    carry: Carry | None = None

    @property
    def verdicts(self) -> Obligations:
        if self.obligations is None:
            self.obligations = Obligations(
                self.ledger, self.as_of, self.history, self.history_notice or ""
            )
        return self.obligations

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


def collect(
    root: Path,
    as_of: datetime | str | None = None,
    *,
    progress: Progress | None = None,
    use_history: bool = True,
    stage: Stage = quiet,
    carry: Carry | None = None,
) -> SiteData:
    """Load, audit and measure the repository at ``root`` as of ``as_of`` (a moment, an
    ``--as-of`` text, or None for now), through one :class:`~opsledger.workspace.Workspace`.

    Raises :class:`~opsledger.errors.HistoryUnusable` (exit 4) where history cannot be
    trusted, unless ``use_history`` is False (``--no-history``): then every page that would
    show history says it is unavailable, and why.

    ``stage`` shows each phase (loading, history, audit) as it runs; ``progress`` is one
    callback for all of them instead. ``carry``: what ``site serve`` keeps from its last
    build (:mod:`opsledger.site.carry`), used where still valid and updated."""
    from opsledger.workspace import Workspace

    ws = Workspace(root, as_of=as_of, use_history=use_history, progress=progress)
    if carry is not None:
        ws.reread, ws.recall, ws.last_obligations = carry.reread, carry.recall, carry.obligations
    ws.history_state  # noqa: B018 (decided before any work: exit 4 early)
    with stage("Loading records") as update:
        if update is not None:
            ws.progress = update
        ws.ledger  # noqa: B018 (loaded under its progress bar)
    if carry is not None:
        ws.carried = carry.history_for(ws)
    with stage("Reading history") as update:
        if update is not None:
            ws.progress = update
        ws.history  # noqa: B018 (read under its progress bar)
    with stage("Auditing") as update:
        findings = ws.findings()
        kpis = ws.kpis(KpiOptions(as_of=ws.as_of, by=("month",), findings=findings))
        if update is not None:
            update(1, 1)
    if carry is not None:
        carry.keep(ws)
    return SiteData(
        ws.ledger,
        findings,
        kpis,
        ws.history_index,
        ws.history_note or None,
        ws.as_of,
        ws.commit,
        blobs=ws.blobs,
        obligations=ws.obligations,
        carry=carry,
    )
