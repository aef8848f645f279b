"""Importers: incident history from other systems into records (the adoption path).

``servicenow`` reads a ServiceNow incident export (list or audit event log) and writes
incident records that pass ``opsledger validate``; see :mod:`opsledger.importers.servicenow`.
"""

from __future__ import annotations

from opsledger.importers.mapping import FieldMap, build_mapping
from opsledger.importers.scan import SHAPES, Problem
from opsledger.importers.servicenow import ImportOptions, ImportResult, Outcome, import_servicenow

__all__ = [
    "SHAPES",
    "FieldMap",
    "ImportOptions",
    "ImportResult",
    "Outcome",
    "Problem",
    "build_mapping",
    "import_servicenow",
]
