"""The KPI registry: every KPI of SPEC §5, in display order, with its definition.

An explicit tuple, not a discovery: adding a KPI is one function and one entry here. The
definition text is what the site's KPI pages and ``opsledger kpi --format markdown`` show.
"""

from __future__ import annotations

from opsledger.kpis import changes, incidents, problems, regulatory, services, timing, trail
from opsledger.kpis.base import Kpi

_PERIOD = "Incidents detected in the period (detected_at in [since, until), policy timezone)."
_CHANGES = "Changes whose window.start is in the period."

KPIS: tuple[Kpi, ...] = (
    Kpi(
        "incident_volume",
        "Incident volume",
        "count",
        "sum",
        f"{_PERIOD} Cut it by priority, source, service or period with --by.",
        incidents.incident_volume,
    ),
    Kpi(
        "automated_detection_ratio",
        "Automated detection ratio",
        "ratio",
        "ratio",
        f"{_PERIOD} Share with detection: automated (monitoring raised it) among those "
        "with a detection value.",
        incidents.automated_detection_ratio,
    ),
    Kpi(
        "mtta",
        "Mean time to acknowledge",
        "minutes",
        "mean",
        f"{_PERIOD} Mean of acknowledged_at - detected_at, with median and p90 (nearest "
        "rank) beside it, by priority. An open incident not yet acknowledged is not measured; "
        "a later one without acknowledged_at is excluded.",
        incidents.mtta,
        dimensions=("priority",),
    ),
    Kpi(
        "mttb",
        "Mean time to bridge",
        "minutes",
        "mean",
        f"{_PERIOD} Major incidents only (priorities with bridge_within: P1/P2): mean of "
        "bridge_opened_at - detected_at; one with no bridge recorded is excluded.",
        incidents.mttb,
        dimensions=("priority",),
    ),
    Kpi(
        "mttr_restore",
        "Mean time to restore",
        "minutes",
        "mean",
        f"{_PERIOD} Mean of mitigated_at - detected_at (service restored for users), with "
        "median and p90, by priority. Times are compared in UTC, so a daylight-saving change "
        "never distorts a duration.",
        incidents.mttr_restore,
        dimensions=("priority",),
    ),
    Kpi(
        "mttr_resolve",
        "Mean time to resolve",
        "minutes",
        "mean",
        f"{_PERIOD} Mean of resolved_at - detected_at (underlying fault fixed), with median "
        "and p90, by priority.",
        incidents.mttr_resolve,
        dimensions=("priority",),
    ),
    Kpi(
        "sla_compliance",
        "Resolution SLA compliance",
        "ratio",
        "ratio",
        f"{_PERIOD} Resolved or closed incidents resolved within their priority's "
        "resolve_within of detection (exactly on the limit counts as met) / resolved incidents.",
        incidents.sla_compliance,
    ),
    Kpi(
        "initial_notification_compliance",
        "Initial notification compliance",
        "ratio",
        "ratio",
        f"{_PERIOD} Incidents whose priority requires notification and whose first "
        "notification (kind initial, else the earliest) was sent within "
        "initial_notification_within / those requiring it. One with no notification counts "
        "as missed once the deadline has passed (as of --as-of), and is not counted before.",
        incidents.initial_notification_compliance,
    ),
    Kpi(
        "update_cadence_compliance",
        "Update cadence compliance",
        "ratio",
        "ratio",
        "Of the incidents counted by initial_notification_compliance, those with no gap "
        "longer than update_every between updates from the first notification until "
        "resolution (or --as-of while unresolved); with no notification at all, the silence "
        "counts from detection.",
        incidents.update_cadence_compliance,
    ),
    Kpi(
        "communication_completeness",
        "Communication completeness",
        "ratio",
        "ratio",
        f"{_PERIOD} Share with no INC-STATEMENT finding (impact, and resolution once "
        "resolved, present, specific and not a placeholder; a waived finding still counts).",
        incidents.communication_completeness,
    ),
    Kpi(
        "reopen_rate",
        "Reopen rate",
        "ratio",
        "ratio",
        f"{_PERIOD} Incidents reopened / incidents resolved at some point. Reopened: a "
        "reopened entry (now, or in any committed version: a trail deleted later still "
        "counts), or (from git history) a commit that moved the status from "
        "resolved/closed back to open/mitigated without one.",
        incidents.reopen_rate,
    ),
    *(
        Kpi(
            f"recurrence_rate_{days}d",
            f"Recurrence rate ({days} days)",
            "ratio",
            "ratio",
            f"{_PERIOD} Share with an earlier incident (any time before, also before the "
            f"period) on the same service and category, or named in recurrence_of, detected at "
            f"most {days} days before. Incidents without a category can recur only through "
            "recurrence_of.",
            fn,
        )
        for days, fn in (
            (30, incidents.recurrence_rate_30d),
            (60, incidents.recurrence_rate_60d),
            (90, incidents.recurrence_rate_90d),
        )
    ),
    Kpi(
        "mtbf",
        "Mean time between failures",
        "hours",
        "mean",
        f"{_PERIOD} Per service: mean time between the detection of consecutive incidents "
        "on that service (each interval belongs to the later incident); the overall value "
        "pools every service's intervals. A service's only incident gives no interval.",
        services.mtbf,
        dimensions=("service",),
    ),
    Kpi(
        "availability",
        "Service availability",
        "percent",
        "availability",
        "Per tier-1 service: 100 x (1 - downtime / period length). Downtime: detected_at -> "
        "mitigated_at of major incidents (P1/P2) on that service, clipped to the period, "
        "overlapping outages merged; an open incident not yet mitigated is down until "
        "--as-of. The period ends at --until or --as-of, whichever is earlier; without "
        "--since it starts on the day of the first recorded incident. The value is the lowest "
        "service's; met when every service meets its own availability_target.",
        services.availability,
        dimensions=("service",),
    ),
    Kpi(
        "backlog_aged",
        "Aged backlog",
        "count",
        "sum",
        "As of --as-of (a snapshot, not period-filtered): open or mitigated incidents "
        "detected more than backlog.incident ago, changes not yet implemented (draft, "
        "requested, approved, scheduled) whose window started more than backlog.change ago, "
        "and follow-up actions (of PIRs and problems) open as of --as-of, as their "
        "action-due verdict says, more than backlog.action past their due day. "
        "n: the open items examined.",
        services.backlog_aged,
    ),
    Kpi(
        "change_success_rate",
        "Change success rate",
        "ratio",
        "ratio",
        f"{_CHANGES} Changes with outcome successful that no incident names in "
        "caused_by_change / changes implemented, failed or rolled back (or closed with an "
        "outcome).",
        changes.change_success_rate,
    ),
    Kpi(
        "emergency_change_rate",
        "Emergency change rate",
        "ratio",
        "ratio",
        f"{_CHANGES} Emergency changes / all changes.",
        changes.emergency_change_rate,
    ),
    Kpi(
        "change_record_quality",
        "Change record quality",
        "ratio",
        "ratio",
        f"{_CHANGES} Share with no finding from any CHG-* rule (warnings and waived "
        "findings included).",
        changes.change_record_quality,
    ),
    Kpi(
        "audit_pass_rate",
        "Audit evidence pass rate",
        "ratio",
        "ratio",
        "Records with no error finding (waived findings are accepted risks and pass) / "
        "records: incidents and changes of the period, PIRs placed by their incident's "
        "detection, and every runbook.",
        changes.audit_pass_rate,
    ),
    Kpi(
        "pir_on_time_rate",
        "PIR completion on time",
        "ratio",
        "ratio",
        f"{_PERIOD} Incidents whose priority requires a PIR, resolved more than "
        "pir_due_business_days business days before --as-of: on time when the commit that "
        "made the PIR approved, in the run of approval still holding, landed on the branch "
        "by the end of that business day (policy timezone, business days and holidays).",
        timing.pir_on_time_rate,
        history=True,
    ),
    Kpi(
        "action_on_time_rate",
        "Action closure on time",
        "ratio",
        "ratio",
        "Follow-up actions (of PIRs and problems) due in the period: on time when the "
        "commit that first set the action "
        "done landed by the end of its due day. An action not done counts as late once its "
        "due day is over; wont-do actions are excluded.",
        timing.action_on_time_rate,
        history=True,
    ),
    Kpi(
        "documentation_lag",
        "Documentation lag",
        "hours",
        "median",
        f"{_PERIOD} Median of the landing time of the first commit of the incident record "
        "- detected_at (as first committed, or as stated now when earlier, as "
        "GIT-LATE-RECORD reads it).",
        timing.documentation_lag,
        history=True,
    ),
    Kpi(
        "approval_lead_time",
        "Approval lead time",
        "hours",
        "median",
        f"{_CHANGES} The changes CHG-APPROVED-BEFORE judges (approved or later, of a type "
        "approved before its window and needing approvals: normal changes): median of "
        "window.start - the landing time of the commit that added the last approval. "
        "Negative: approved after the window started.",
        timing.approval_lead_time,
        history=True,
    ),
    Kpi(
        "priority_downgrades",
        "Priority downgrades",
        "count",
        "sum",
        f"{_PERIOD} Incidents whose priority was lowered (e.g. P1 -> P2) by a commit. n: the "
        "incidents whose history was examined.",
        trail.priority_downgrades,
        history=True,
    ),
    Kpi(
        "edited_after_close",
        "Records edited after closure",
        "count",
        "sum",
        "Incidents and changes of the period closed, and PIRs approved, then changed by a "
        "later commit. Not edits: a PIR action's status moving on, a reopen recorded in "
        "reopened. n: the records whose history was examined.",
        trail.edited_after_close,
        history=True,
    ),
    Kpi(
        "problem_backlog",
        "Problem backlog",
        "count",
        "sum",
        "As of --as-of (a snapshot, not period-filtered): problems not resolved (status new, "
        "investigating or known-error) opened by then; the notes give their ages by band "
        "(up to 30 days, 31 to 90, 91 to 180, over 180 since opened_at). A problem without "
        "opened_at is excluded.",
        problems.problem_backlog,
        dimensions=(),
    ),
    Kpi(
        "time_to_known_error",
        "Time to known error",
        "days",
        "median",
        "Problems whose known_error_at is in the period: median of known_error_at - "
        "opened_at, in days. Excluded: known_error_at before opened_at (PRB-KNOWN-ERROR), "
        "imported problems without known_error_at.",
        problems.time_to_known_error,
    ),
    Kpi(
        "recurrence_after_fix",
        "Recurrence after fix",
        "ratio",
        "ratio",
        "Problems resolved in the period (resolved_at): share with an incident they link "
        "detected after resolved_at, as of --as-of (the PRB-RECURRED verdict) / resolved "
        "problems.",
        problems.recurrence_after_fix,
    ),
    Kpi(
        "problem_coverage",
        "Problem coverage",
        "ratio",
        "ratio",
        f"{_PERIOD} Of those in a recurring cluster (PRB-CANDIDATE's definition: at least "
        "problems.candidate_min_incidents incidents on one service and category, or linked "
        "by recurrence_of, each at most problems.candidate_window after the previous), the "
        "share a problem links.",
        problems.problem_coverage,
    ),
    Kpi(
        "regulatory_on_time_rate",
        "Regulatory reports on time",
        "ratio",
        "ratio",
        "Regulatory reporting stages (policy.yaml regulatory.regimes) whose deadline falls in "
        "the period: on time when first submitted by the deadline, the earlier of within "
        "after its anchor and no_later_than after awareness (the REG-DEADLINE verdict). A "
        "stage not submitted counts as late once its deadline has passed. By regime and by "
        "stage; stages not due yet, not-reportable and unclassified decisions are excluded "
        "with the reason.",
        regulatory.regulatory_on_time_rate,
        dimensions=("regime", "stage"),
    ),
)

KPIS_BY_ID: dict[str, Kpi] = {kpi.id: kpi for kpi in KPIS}
