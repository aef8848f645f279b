"""The policy settings the KPIs read beyond the rules' (targets: ``kpi_targets``, a core
setting). Declared here so the policy schema and the settings test know them."""

from __future__ import annotations

from opsledger.model.settings import DURATION, REQUIRED, Setting

RESTORE_WITHIN = Setting(
    "priorities.<priority>.restore_within",
    DURATION,
    REQUIRED,
    "the longest time from detection to restoring the service (SLA compliance, restoration)",
    "priorities[<priority>].restore_within",
)
RESOLVE_WITHIN = Setting(
    "priorities.<priority>.resolve_within",
    DURATION,
    REQUIRED,
    "the longest time from detection to resolving the incident (SLA compliance)",
    "priorities[<priority>].resolve_within",
)
BACKLOG = tuple(
    Setting(
        f"backlog.{kind}",
        DURATION,
        None,
        f"the age from which an open {kind} counts as aged backlog",
        f"backlog[{kind}]",
    )
    for kind in ("incident", "change", "action")
)

SETTINGS: tuple[Setting, ...] = (RESTORE_WITHIN, RESOLVE_WITHIN, *BACKLOG)
