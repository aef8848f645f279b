"""KPIs (SPEC §5): one small pure function per KPI id, a registry, and the engine.

Public API::

    from opsledger.kpis import KPIS, KpiOptions, compute_kpis, FORMATS
    report = compute_kpis(ledger, history_or_none, KpiOptions(as_of=moment), commit=sha)
    FORMATS["json"](report)

KPI functions never touch git: they read the :class:`~opsledger.model.ledger.Ledger` and a
:class:`~opsledger.history.model.HistoryIndex` (or None, then history KPIs say "no data").
"""

from __future__ import annotations

from opsledger.kpis.aggregate import DIMENSIONS, Stats
from opsledger.kpis.base import (
    Excluded,
    Kpi,
    KpiContext,
    Observation,
    Sample,
    Status,
    Unit,
)
from opsledger.kpis.engine import (
    Group,
    KpiOptions,
    KpiReport,
    KpiResult,
    compute_kpis,
    evaluate,
)
from opsledger.kpis.registry import KPIS, KPIS_BY_ID
from opsledger.kpis.render import FORMATS, report_dict, result_dict
from opsledger.period import Period

__all__ = [
    "DIMENSIONS",
    "FORMATS",
    "KPIS",
    "KPIS_BY_ID",
    "Excluded",
    "Group",
    "Kpi",
    "KpiContext",
    "KpiOptions",
    "KpiReport",
    "KpiResult",
    "Observation",
    "Period",
    "Sample",
    "Stats",
    "Status",
    "Unit",
    "compute_kpis",
    "evaluate",
    "report_dict",
    "result_dict",
]
