"""Incident rules: INC-TIMES, INC-ACK, INC-NOTIFY, INC-CADENCE, INC-BRIDGE, INC-STATEMENT,
INC-ESCALATION, INC-PIR.

Imported records skip the checks whose field the source system did not have (listed in
``import_gaps``).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from opsledger.findings import Finding
from opsledger.model.records import Incident
from opsledger.model.settings import BOOLEAN, CALENDAR, DURATION, INTEGER, REQUIRED, Setting
from opsledger.rules.base import Judging, RecordRule, Rule
from opsledger.rules.examples import Examples, File, example, overlays
from opsledger.rules.text import STATEMENTS, vagueness
from opsledger.timeutil import format_duration as dur
from opsledger.timeutil import format_timestamp as ts

RESOLVED = frozenset({"resolved", "closed"})
MITIGATED_OR_LATER = frozenset({"mitigated", "resolved", "closed"})

ACKNOWLEDGE_WITHIN = Setting(
    "priorities.<priority>.acknowledge_within",
    DURATION,
    REQUIRED,
    "the longest time from detection to the first human acknowledgement",
    "priorities[<priority>].acknowledge_within",
)
INITIAL_NOTIFICATION_WITHIN = Setting(
    "priorities.<priority>.initial_notification_within",
    DURATION,
    REQUIRED,
    "the longest time from detection to the initial stakeholder notification",
    "priorities[<priority>].initial_notification_within",
)
NOTIFICATION_REQUIRED = Setting(
    "priorities.<priority>.notification_required",
    BOOLEAN,
    True,
    "whether incidents of the priority must notify stakeholders (initial notification and "
    "update cadence)",
    "priorities[<priority>].notification_required",
)
UPDATE_EVERY = Setting(
    "priorities.<priority>.update_every",
    DURATION,
    REQUIRED,
    "the longest silence between stakeholder updates until the incident is resolved",
    "priorities[<priority>].update_every",
)
BRIDGE_WITHIN = Setting(
    "priorities.<priority>.bridge_within",
    DURATION,
    None,
    "the longest time from detection to opening the major-incident bridge; a priority "
    "without it needs no bridge",
    "priorities[<priority>].bridge_within",
)
PIR_REQUIRED = Setting(
    "priorities.<priority>.pir_required",
    BOOLEAN,
    REQUIRED,
    "whether a resolved incident of the priority needs an approved post-incident review",
    "priorities[<priority>].pir_required",
)
PIR_DUE = Setting(
    "priorities.<priority>.pir_due_business_days",
    INTEGER.refine(minimum=1, maximum=60),
    None,
    "the business days after resolution by which the PIR must be approved (required when "
    "pir_required is true)",
    "priorities[<priority>].pir_due_business_days",
)


class IncidentRule(Rule):
    kinds = ("incident",)


class IncTimes(IncidentRule, RecordRule[Incident]):
    """An incident's timestamps are in order and none is in the future.

    What it checks:
      detected_at ≤ acknowledged_at ≤ mitigated_at ≤ resolved_at ≤ closed_at (for those
      present); bridge_opened_at, notifications, escalations, reopens and timeline entries
      are not before detection; no timestamp is later than "now" (``--as-of``).

    Why auditors care:
      Every response-time KPI subtracts these timestamps; one out of order produces a
      negative or inflated duration and a wrong SLA result.
    """

    id = "INC-TIMES"
    tables = ("incidents",)
    summary = "incident timestamps out of order or in the future"
    settings_note = '``--as-of`` fixes "now".'
    examples = overlays(
        "incident",
        failing="""\
            detected_at: 2026-03-04T09:12:00Z
            acknowledged_at: 2026-03-04T09:02:00Z   # before detection
            """,
        passing="""\
            detected_at: 2026-03-04T09:12:00Z
            acknowledged_at: 2026-03-04T09:15:00Z
            """,
    )
    ORDER = ("detected_at", "acknowledged_at", "mitigated_at", "resolved_at", "closed_at")

    def judge(self, ctx: Judging, inc: Incident) -> Iterator[Finding]:
        previous: tuple[str, datetime] | None = None
        for field in self.ORDER:
            value = getattr(inc, field)
            if value is None:
                continue
            if previous is not None and value < previous[1]:
                yield self.finding(
                    inc,
                    f"{field} {ts(value)} is before {previous[0]} {ts(previous[1])}",
                    field,
                    fix=f"correct {field} or {previous[0]}",
                )
            previous = (field, value)
        yield from self._after_detection(inc)
        yield from self._not_future(ctx, inc)

    def _after_detection(self, inc: Incident) -> Iterator[Finding]:
        if inc.detected_at is None:
            return
        later: list[tuple[datetime | None, tuple[str | int, ...]]] = [
            (inc.bridge_opened_at, ("bridge_opened_at",))
        ]
        later += [(n.at, ("notifications", n.index, "at")) for n in inc.notifications]
        later += [(e.at, ("escalations", e.index, "at")) for e in inc.escalations]
        later += [(r.at, ("reopened", r.index, "at")) for r in inc.reopened]
        for value, path in later:
            if value is not None and value < inc.detected_at:
                yield self.finding(
                    inc,
                    f"{'.'.join(map(str, path))} {ts(value)} is before detected_at "
                    f"{ts(inc.detected_at)}",
                    *path,
                    fix="correct the time or detected_at",
                )

    def _not_future(self, ctx: Judging, inc: Incident) -> Iterator[Finding]:
        for path, value in _all_times(inc):
            if value > ctx.as_of:
                yield self.finding(
                    inc,
                    f"{'.'.join(map(str, path))} {ts(value)} is in the future "
                    f"(now is {ts(ctx.as_of)})",
                    *path,
                    fix="record only what has happened",
                )


def _all_times(inc: Incident) -> Iterator[tuple[tuple[str | int, ...], datetime]]:
    for field in (*IncTimes.ORDER, "bridge_opened_at"):
        value = getattr(inc, field)
        if value is not None:
            yield (field,), value
    for name, items in (
        ("notifications", inc.notifications),
        ("escalations", inc.escalations),
        ("reopened", inc.reopened),
        ("timeline", inc.timeline),
    ):
        for item in items:
            if item.at is not None:
                yield (name, item.index, "at"), item.at


class IncAck(IncidentRule, RecordRule[Incident]):
    """A person acknowledged the incident within the priority's acknowledgement time.

    What it checks:
      acknowledged_at - detected_at ≤ ``acknowledge_within`` for the incident's priority;
      an incident still unacknowledged after that time is flagged too. Exactly on the
      deadline passes.

    Why auditors care:
      Time to acknowledge (MTTA) is the first promise of an operations team; an
      acknowledgement outside it shows the on-call process did not work.
    """

    id = "INC-ACK"
    tables = ("incidents",)
    severity = "warning"
    summary = "incident acknowledged later than the policy allows"
    settings = (ACKNOWLEDGE_WITHIN,)
    examples = overlays(
        "incident",
        failing="""\
            priority: P1              # acknowledge_within: 5m
            detected_at: 2026-03-04T09:12:00Z
            acknowledged_at: 2026-03-04T09:31:00Z
            """,
        passing="acknowledged_at: 2026-03-04T09:17:00Z",
    )

    def judge(self, ctx: Judging, inc: Incident) -> Iterator[Finding]:
        v = ctx.obligations.incident(inc).acknowledgement
        if v is None or not v.failed:
            return
        if v.state == "late":
            yield self.finding(
                inc,
                v.detail,
                "acknowledged_at",
                fix="record the first human acknowledgement; review on-call paging",
            )
        else:
            yield self.finding(inc, v.detail, key=False, fix="add acknowledged_at")


class IncNotify(IncidentRule, RecordRule[Incident]):
    """The initial stakeholder notification went out in time.

    What it checks:
      For priorities whose policy requires notification, the first notification (of kind
      ``initial``, else the earliest) is at most ``initial_notification_within`` after
      detection; an incident without one is flagged once that time has passed. Exactly on
      the deadline passes.

    Why auditors care:
      Stakeholders and customers must hear about a major incident from the operations team
      first; late first communication is a common audit finding after outages.
    """

    id = "INC-NOTIFY"
    tables = ("incidents",)
    summary = "initial notification late or missing"
    settings = (INITIAL_NOTIFICATION_WITHIN, NOTIFICATION_REQUIRED)
    examples = overlays(
        "incident",
        failing="""\
            priority: P1   # initial_notification_within: 15m
            detected_at: 2026-03-04T09:12:00Z
            notifications:
              - {at: 2026-03-04T09:50:00Z, kind: initial, audience: [leadership], channel: email}
            """,
        passing="""\
            notifications:
              - {at: 2026-03-04T09:25:00Z, kind: initial, audience: [leadership], channel: email}
            """,
    )

    def judge(self, ctx: Judging, inc: Incident) -> Iterator[Finding]:
        v = ctx.obligations.incident(inc).initial_notification
        if v is None or not v.failed:
            return
        if v.state == "missing":
            yield self.finding(
                inc,
                v.detail,
                "notifications",
                fix="add the initial notification (at, kind: initial, audience, channel)",
            )
        else:
            yield self.finding(
                inc, v.detail, *v.path, fix="notify stakeholders within the policy time"
            )


class IncCadence(IncidentRule, RecordRule[Incident]):
    """Updates went out at the policy's cadence while the incident was unresolved.

    What it checks:
      From the first notification until ``resolved_at`` (or "now" while unresolved), no gap
      between consecutive notifications, or between the last one and resolution, is longer
      than ``update_every``. Exactly ``update_every`` passes.

    Why auditors care:
      Silence during an outage is how trust is lost; a regular cadence is a standard
      commitment in major-incident communication plans.
    """

    id = "INC-CADENCE"
    tables = ("incidents",)
    summary = "gap between incident updates longer than the policy allows"
    settings = (UPDATE_EVERY, NOTIFICATION_REQUIRED)
    examples = overlays(
        "incident",
        failing="""\
            priority: P1   # update_every: 30m
            notifications:
              - {at: 2026-03-04T09:20:00Z, kind: initial, audience: [leadership], channel: email}
              - {at: 2026-03-04T10:20:00Z, kind: update, audience: [leadership], channel: email}
            resolved_at: 2026-03-04T10:40:00Z
            """,
        passing="""\
            notifications:
              - {at: 2026-03-04T09:20:00Z, kind: initial, audience: [leadership], channel: email}
              - {at: 2026-03-04T09:50:00Z, kind: update, audience: [leadership], channel: email}
              - {at: 2026-03-04T10:20:00Z, kind: update, audience: [leadership], channel: email}
            resolved_at: 2026-03-04T10:40:00Z
            """,
    )

    def judge(self, ctx: Judging, inc: Incident) -> Iterator[Finding]:
        cadence = ctx.obligations.incident(inc).cadence
        if cadence is None:
            return
        every = f"{inc.priority} requires one every {dur(cadence.limit)}"
        for gap in cadence.gaps:
            if gap.ok:
                continue
            if gap.opens is None:
                message = f"{dur(gap.length)} without any notification before {gap.until}; {every}"
            elif gap.closes is not None:
                message = (
                    f"{dur(gap.length)} without an update ({ts(gap.start)} to "
                    f"{ts(gap.end)}); {every}"
                )
            else:
                message = f"{dur(gap.length)} without an update before {gap.until}; {every}"
            yield self.finding(
                inc,
                message,
                *gap.path,
                fix="send updates at the policy cadence until resolved",
            )


class IncBridge(IncidentRule, RecordRule[Incident]):
    """Major incidents opened a bridge in time.

    What it checks:
      For priorities with ``bridge_within`` (P1 and P2 by default), ``bridge_opened_at`` is
      present and at most that long after detection. Exactly on the deadline passes.

    Why auditors care:
      A major-incident bridge assembles the responders; opening it late is the usual cause of
      slow restoration.
    """

    id = "INC-BRIDGE"
    tables = ("incidents",)
    summary = "major-incident bridge opened late or not recorded"
    settings = (BRIDGE_WITHIN,)
    examples = overlays(
        "incident",
        failing="""\
            priority: P1   # bridge_within: 15m
            detected_at: 2026-03-04T09:12:00Z
            bridge_opened_at: 2026-03-04T09:45:00Z
            """,
        passing="bridge_opened_at: 2026-03-04T09:20:00Z",
    )

    def judge(self, ctx: Judging, inc: Incident) -> Iterator[Finding]:
        v = ctx.obligations.incident(inc).bridge
        if v is None or not v.failed:
            return
        if v.state == "missing":
            yield self.finding(
                inc,
                f"{inc.priority} incident has no bridge_opened_at",
                fix="record when the major-incident bridge opened",
            )
        else:
            yield self.finding(
                inc, v.detail, "bridge_opened_at", fix="open the bridge within the policy time"
            )


class IncStatement(IncidentRule, RecordRule[Incident]):
    """Impact and resolution statements are present, specific and not placeholders.

    What it checks:
      ``impact`` always, and ``resolution`` once the incident is resolved or closed, are not
      a placeholder (``TBD``, ``n/a``, ``none``, ``see above``…) and have at least
      ``statements.min_words`` words and ``statements.min_chars`` characters.

    Why auditors care:
      Leadership and customers read these statements; "TBD" on a closed incident means the
      business impact was never assessed.
    """

    id = "INC-STATEMENT"
    tables = ("incidents",)
    summary = "impact or resolution statement missing, vague or a placeholder"
    settings = STATEMENTS
    examples = overlays(
        "incident",
        failing="impact: TBD",
        passing="impact: Checkout failed for about 20% of customers for 35 minutes; "
        "no orders were lost.",
    )

    def judge(self, ctx: Judging, inc: Incident) -> Iterator[Finding]:
        policy = ctx.policy
        fields = ["impact"] + (["resolution"] if inc.status in RESOLVED else [])
        for field in fields:
            if field in inc.import_gaps:
                continue
            why = vagueness(getattr(inc, field), policy)
            if why:
                yield self.finding(
                    inc,
                    f"{field} statement {why}",
                    field,
                    fix=f"describe the {field} in plain language for a business reader",
                )


class IncEscalation(IncidentRule, RecordRule[Incident]):
    """Each escalation hands over context, troubleshooting done and an impact assessment.

    What it checks:
      Every entry of ``escalations`` has ``context``, ``troubleshooting`` and
      ``impact_assessment``, each specific (same heuristic as INC-STATEMENT).

    Why auditors care:
      An escalation without context makes the next tier start from zero; ITIL and most
      support contracts require a structured hand-over.
    """

    id = "INC-ESCALATION"
    tables = ("incidents",)
    summary = "escalation without context, troubleshooting or impact assessment"
    settings = STATEMENTS
    examples = overlays(
        "incident",
        failing="""\
            escalations:
              - {at: 2026-03-04T09:30:00Z, to_tier: 3, team: dba, context: see above}
            """,
        passing="""\
            escalations:
              - at: 2026-03-04T09:30:00Z
                to_tier: 3
                team: dba
                context: Pool exhausted on orders-db since 09:12 after the 09:00 deploy.
                troubleshooting: Restarted two app pods and raised the pool to 80; no change.
                impact_assessment: About 20% of checkouts failing; revenue impact rising.
            """,
    )

    def judge(self, ctx: Judging, inc: Incident) -> Iterator[Finding]:
        policy = ctx.policy
        for esc in inc.escalations:
            for field in ("context", "troubleshooting", "impact_assessment"):
                why = vagueness(getattr(esc, field), policy)
                if why:
                    yield self.finding(
                        inc,
                        f"escalation {esc.index + 1} to {esc.team or 'tier'}: "
                        f"{field.replace('_', ' ')} {why}",
                        "escalations",
                        esc.index,
                        field,
                        fix=f"write the {field.replace('_', ' ')} handed to the next tier",
                    )


class IncPir(IncidentRule, RecordRule[Incident]):
    """Major incidents have an approved PIR by the policy's deadline.

    What it checks:
      An incident whose priority requires a PIR and that was resolved more than
      ``pir_due_business_days`` business days ago (policy timezone, business days and
      holidays; end of that day) has a PIR with ``status: approved``. The gate is on the
      approval being there: a PIR approved after its deadline passes this rule, and the same
      PIR-due verdict shows it as late where timeliness is measured (the PIR on-time rate,
      which takes the approval's landing time from git, the site's "Against policy" table
      and the brief), since a late approval cannot be fixed by a later commit. With
      history, the approval counts from the run of approval still holding: a PIR set back
      to draft (or deleted, or unreadable) since holds none, and one approved again after
      the deadline is late.

    Why auditors care:
      Post-incident reviews are how an organisation learns; an overdue or missing PIR after
      a P1 is one of the most common operational audit findings.
    """

    id = "INC-PIR"
    tables = ("incidents",)
    summary = "major incident without an approved PIR after the deadline"
    settings = (PIR_REQUIRED, PIR_DUE, *CALENDAR)
    examples = Examples(
        example(
            File(
                "pir", "status: in-review  # INC-2026-0042 (P1) resolved 2026-03-04, due 2026-03-11"
            )
        ),
        example(File("pir", "status: approved   # by priya.shah@example.com on 2026-03-09")),
    )

    def judge(self, ctx: Judging, inc: Incident) -> Iterator[Finding]:
        v = ctx.obligations.incident(inc).pir
        if v is None or v.state != "missing":
            return
        yield self.finding(
            inc,
            v.detail,
            "pir" if inc.pir else "resolved_at",
            fix="complete and approve the PIR",
        )


RULES: tuple[type[Rule], ...] = (
    IncTimes,
    IncAck,
    IncNotify,
    IncCadence,
    IncBridge,
    IncStatement,
    IncEscalation,
    IncPir,
)
