"""Regulatory reporting rules: REG-CLASSIFY and REG-DEADLINE (SPEC §3.9, §4).

Both read the clocks :meth:`opsledger.obligations.Obligations.regulatory` decides, so the
audit, ``regulatory_on_time_rate``, the site's calendar and marks, the reports and the brief
show the same verdicts.
"""

from __future__ import annotations

from collections.abc import Iterator

from opsledger.findings import Finding
from opsledger.model.records import Incident
from opsledger.model.regulatory import SCHEMA
from opsledger.model.settings import Setting, SettingType
from opsledger.obligations.regulatory import awareness
from opsledger.rules.base import Judging, RecordRule, Rule
from opsledger.rules.examples import Examples, File, example
from opsledger.timeutil import format_timestamp

REGIMES_TYPE = SettingType(
    "list of {id, name, authority, applies_to: {priorities, scopes, categories}, "
    "classify_within, stages: [{id, name, within, after, no_later_than}]}",
    SCHEMA,
)
REGIMES = Setting(
    "regulatory.regimes",
    REGIMES_TYPE,
    (),
    "regulatory reporting regimes (DORA, NIS2, GDPR…): which incidents they apply to, the "
    "time to classify after awareness and each reporting stage's deadline (``within`` "
    "after awareness, the classification or an earlier stage's submission, calendar months "
    "allowed; optionally ``no_later_than`` after awareness). None is active by default",
    "regulatory",
)

#: the regime the examples use (DORA's numbers)
POLICY = """\
regulatory:
  regimes:
    - id: dora
      name: DORA
      authority: National competent authority
      applies_to: {priorities: [P1]}
      classify_within: 24h
      stages:
        - {id: initial, name: initial notification, within: 4h, after: classification,
           no_later_than: 24h}
        - {id: intermediate, name: intermediate report, within: 72h, after: initial}
        - {id: final, name: final report, within: 1mo, after: intermediate}
"""


class RegClassify(RecordRule[Incident]):
    """An incident in a regulatory regime's scope was classified in time.

    What it checks:
      For each regime of ``regulatory.regimes`` that applies to an incident (its
      priority, scope and category are in the regime's ``applies_to``, or the incident
      lists the regime under ``regulatory``), a ``decision`` (``reportable`` or
      ``not-reportable``) with ``decided_at`` within ``classify_within`` of awareness
      (``aware_at``, by default ``detected_at``); exactly on the deadline passes. A
      not-reportable decision needs a ``reason``; a decision cannot come before awareness.

    Why auditors care:
      Regulators (DORA, NIS2, GDPR) start their clocks at awareness; an incident never
      classified, or classified late, is how a reportable incident goes unreported, and a
      not-reportable decision without a reason cannot be defended in an inspection.
    """

    id = "REG-CLASSIFY"
    tables = ("incidents",)
    kinds = ("incident",)
    summary = "regulatory classification late, missing, or not-reportable without a reason"
    settings = (REGIMES,)
    examples = Examples(
        failing=example(
            File("policy", POLICY),
            File(
                "incident",
                """\
                # P1, detected 2026-03-04T09:12:00Z; DORA applies to P1 (classify_within: 24h)
                regulatory:
                  - regime: dora
                    decision: not-reportable
                    decided_at: 2026-03-06T10:00:00Z   # 48h 48m after awareness, no reason
                """,
            ),
        ),
        passing=example(
            File("policy", POLICY),
            File(
                "incident",
                """\
                regulatory:
                  - regime: dora
                    decision: not-reportable
                    decided_at: 2026-03-04T11:00:00Z
                    reason: internal reporting tool only; no clients, counterparts or
                      critical functions affected, below the major-incident criteria
                """,
            ),
        ),
    )

    def judge(self, ctx: Judging, inc: Incident) -> Iterator[Finding]:
        policy = ctx.policy
        if not policy.regulatory:
            return
        for clock in ctx.obligations.regulatory(inc):
            v = clock.verdict
            if clock.stage is None and v.failed:
                fix = (
                    "record the decision earlier next time; review the triage procedure"
                    if v.state == "late"
                    else "add decision (reportable or not-reportable) and decided_at"
                )
                yield self.finding(inc, v.detail, *v.path, fix=fix)
        for filing in inc.regulatory:
            if filing.decision == "not-reportable" and not (filing.reason or "").strip():
                yield self.finding(
                    inc,
                    f"{filing.regime} decided not reportable without a reason",
                    "regulatory",
                    filing.index,
                    "decision",
                    fix="add reason: why the incident does not meet the regime's criteria",
                )
            aware = awareness(inc, filing)
            if filing.decided_at and aware and filing.decided_at < aware:
                yield self.finding(
                    inc,
                    f"{filing.regime} decided_at is before awareness "
                    f"({format_timestamp(aware)}): a decision cannot precede awareness",
                    "regulatory",
                    filing.index,
                    "decided_at",
                    fix="correct decided_at, or aware_at if the organisation knew earlier",
                )


class RegDeadline(RecordRule[Incident]):
    """Each stage of each reportable regime was submitted by its deadline.

    What it checks:
      For a ``reportable`` decision, each stage of the regime is due at the earlier of
      ``within`` after its anchor (``awareness``, ``classification``, or an earlier stage's
      first submission; its latest when that stage is marked ``updates: true``) and
      ``no_later_than`` after awareness (DORA's 24 h backstop).
      A submission after the deadline is flagged, and so is a stage not submitted while
      its deadline has passed as of now (``--as-of``). Exactly on the deadline passes.
      Calendar months (``1mo``) are added in UTC and clamped to the month's end.

    Why auditors care:
      Late or missing notifications to an authority are a regulatory breach in themselves
      (DORA Art. 19, NIS2 Art. 23, GDPR Art. 33), whatever the incident's handling; the
      record is the evidence of when each report was filed.
    """

    id = "REG-DEADLINE"
    tables = ("incidents",)
    kinds = ("incident",)
    summary = "regulatory report submitted late or not submitted by its deadline"
    settings = (REGIMES,)
    examples = Examples(
        failing=example(
            File("policy", POLICY),
            File(
                "incident",
                """\
                # P1, detected 2026-03-04T09:12:00Z
                regulatory:
                  - regime: dora
                    decision: reportable
                    decided_at: 2026-03-05T08:00:00Z   # classified 22h 48m after awareness
                    submissions:
                      # due 2026-03-05T09:12:00Z: the 24h backstop beats classification + 4h
                      - {stage: initial, at: 2026-03-05T11:30:00Z, reference: NCA-2026-114}
                """,
            ),
        ),
        passing=example(
            File("policy", POLICY),
            File(
                "incident",
                """\
                regulatory:
                  - regime: dora
                    decision: reportable
                    decided_at: 2026-03-04T10:00:00Z
                    submissions:
                      - {stage: initial, at: 2026-03-04T13:30:00Z, reference: NCA-2026-114}
                      - {stage: intermediate, at: 2026-03-06T09:00:00Z, reference: NCA-2026-114}
                      - {stage: final, at: 2026-03-30T16:00:00Z, reference: NCA-2026-114}
                """,
            ),
        ),
    )

    def judge(self, ctx: Judging, inc: Incident) -> Iterator[Finding]:
        if not ctx.policy.regulatory:
            return
        for clock in ctx.obligations.regulatory(inc):
            v = clock.verdict
            if clock.stage is None or not v.failed:
                continue
            message = f"{v.title}: {v.detail}"
            if v.state == "late":
                fix = "submit on time; record why it was late in the incident timeline"
            else:
                authority = clock.regime.authority or "the authority"
                fix = (
                    f"submit the {clock.stage.name} to {authority} and record it "
                    "under submissions (stage, at, reference)"
                )
            yield self.finding(inc, message, *v.path, fix=fix)


RULES: tuple[type[Rule], ...] = (RegClassify, RegDeadline)
