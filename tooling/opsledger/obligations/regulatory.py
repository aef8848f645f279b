"""Regulatory reporting clocks: each regime's classification and stage deadlines.

For every regime of ``policy.yaml`` ``regulatory.regimes`` that applies to an incident (its
priority, scope and category are in the regime's ``applies_to``, or the incident names the
regime in its ``regulatory`` list), the clocks start at awareness (``aware_at``, by default
``detected_at``):

* classification: a reportable / not-reportable decision (``decided_at``) within
  ``classify_within`` of awareness (no verdict when the regime sets no such time);
* for a reportable decision, each stage in order: due at the earlier of ``within`` after
  its anchor (awareness; the classification; or an earlier stage's first submission — its
  latest when that stage takes ``updates``, as DORA's final report runs from the latest
  updated intermediate report) and ``no_later_than``
  after awareness (DORA's 24 h backstop). The stage is done at its *first* submission.
  A stage whose anchor has not happened yet, and that has no backstop, cannot be placed:
  pending until its anchor happens (a submission made before that is met).

Every time is UTC; calendar months are added in UTC and clamped to the month's end
(:class:`~opsledger.timeutil.CalendarDuration`). "Exactly on the deadline" is met.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from opsledger.model.policy import Policy
from opsledger.model.records import Incident
from opsledger.model.regulatory import (
    AWARENESS,
    CLASSIFICATION,
    Filing,
    Regime,
    Stage,
    Submission,
)
from opsledger.obligations.verdict import State, Verdict, decide
from opsledger.timeutil import format_allowance as dur
from opsledger.timeutil import format_timestamp as ts

#: the stage id of a classification clock (never a stage id: the policy refuses it)
CLASSIFY = "classification"


@dataclass(frozen=True)
class Clock:
    """One regulatory obligation of one incident: a regime's classification or a stage."""

    regime: Regime
    stage: Stage | None  # None: the classification decision
    verdict: Verdict
    filing: Filing | None  # the incident's entry for the regime (None: none yet)
    reference: str | None = None  # the authority's reference of the counted submission
    bound: str = ""  # which limit set the deadline: "within" or "no_later_than"

    @property
    def stage_id(self) -> str:
        return self.stage.id if self.stage is not None else CLASSIFY

    @property
    def stage_name(self) -> str:
        return self.stage.name if self.stage is not None else "classification"


def filing_for(inc: Incident, regime: Regime) -> Filing | None:
    """The incident's first ``regulatory`` entry for ``regime``."""
    return next((e for e in inc.regulatory if e.regime == regime.id), None)


def applies(inc: Incident, regime: Regime) -> bool:
    """The incident falls under the regime: named in its ``regulatory`` list, or in the
    regime's scope (priorities, scopes, categories) and not imported from a system that
    had no such field (``import_gaps``)."""
    if filing_for(inc, regime) is not None:
        return True
    return not inc.import_gaps and regime.in_scope(inc.priority, inc.scope, inc.category)


def awareness(inc: Incident, filing: Filing | None) -> datetime | None:
    return filing.aware_at if filing is not None and filing.aware_at else inc.detected_at


def clocks(inc: Incident, policy: Policy, as_of: datetime) -> tuple[Clock, ...]:
    """Every regulatory clock of ``inc``, regime by regime in policy order."""
    found: list[Clock] = []
    for regime in policy.regulatory:
        if not applies(inc, regime):
            continue
        filing = filing_for(inc, regime)
        aware = awareness(inc, filing)
        if aware is None:
            continue
        classified = _classification(regime, filing, aware, as_of)
        if classified is not None:
            found.append(classified)
        if filing is not None and filing.decision == "reportable":
            found.extend(_stages(regime, filing, aware, as_of))
    return tuple(found)


def _classification(
    regime: Regime, filing: Filing | None, aware: datetime, as_of: datetime
) -> Clock | None:
    limit = regime.classify_within
    if limit is None:
        return None
    due = aware + limit
    decided = filing.decided_at if filing is not None and filing.decision else None
    state = decide(decided, due, as_of)
    allows = f"{regime.name} classification is due {dur(limit)} after awareness"
    if filing is not None and decided is not None:
        detail = f"decided {filing.decision} at {ts(decided)}; {allows} ({ts(due)})"
        path: tuple[str | int, ...] = ("regulatory", filing.index, "decided_at")
    elif state == "missing":
        detail = f"no reportable / not-reportable decision; {allows} ({ts(due)})"
        path = ("regulatory", filing.index) if filing is not None else ("regulatory",)
    else:
        detail = f"decision pending; {allows} ({ts(due)})"
        path = ("regulatory", filing.index) if filing is not None else ("regulatory",)
    verdict = Verdict(
        f"{regime.name} classification", state, due, aware, decided, limit, path, None, detail
    )
    return Clock(regime, None, verdict, filing, None, "within")


def _dated(filing: Filing, stage: Stage) -> list[Submission]:
    subs = [s for s in filing.submissions if s.stage == stage.id and s.at is not None]
    return sorted(subs, key=lambda s: (s.at, s.index))


def _stages(regime: Regime, filing: Filing, aware: datetime, as_of: datetime) -> list[Clock]:
    found: list[Clock] = []
    for stage in regime.stages:
        anchor, anchor_name = _anchor(regime, filing, stage, aware)
        candidates: list[tuple[datetime, str]] = []
        if anchor is not None:
            candidates.append((stage.within.after(anchor), "within"))
        if stage.no_later_than is not None:
            candidates.append((aware + stage.no_later_than, "no_later_than"))
        subs = _dated(filing, stage)
        first = subs[0] if subs else None
        done = first.at if first is not None else None
        rule = _wording(stage, anchor_name)
        title = f"{regime.name} {stage.name}"
        path: tuple[str | int, ...] = (
            ("regulatory", filing.index, "submissions", first.index, "at")
            if first is not None
            else ("regulatory", filing.index, "submissions")
        )
        item = first.index if first is not None else None
        reference = first.reference if first is not None else None
        if not candidates:
            state: State = "met" if done is not None else "pending"
            detail = (
                f"submitted {ts(done)}, before its clock started ({anchor_name} not submitted)"
                if done is not None
                else f"not due yet: {rule}, and {anchor_name} is not submitted"
            )
            verdict = Verdict(title, state, None, None, done, None, path, item, detail)
            found.append(Clock(regime, stage, verdict, filing, reference, ""))
            continue
        due, bound = min(candidates)
        state = decide(done, due, as_of)
        why = rule
        if bound == "no_later_than" and anchor is not None and stage.no_later_than:
            why += f"; the {dur(stage.no_later_than)} backstop after awareness came first"
        if done is not None:
            detail = f"submitted {ts(done)}; due by {ts(due)} ({why})"
        elif state == "missing":
            detail = f"not submitted; was due by {ts(due)} ({why})"
        else:
            detail = f"not submitted yet; due by {ts(due)} ({why})"
        start = anchor if bound == "within" and anchor is not None else aware
        verdict = Verdict(title, state, due, start, done, None, path, item, detail)
        found.append(Clock(regime, stage, verdict, filing, reference, bound))
    return found


def _anchor(
    regime: Regime, filing: Filing, stage: Stage, aware: datetime
) -> tuple[datetime | None, str]:
    if stage.after == AWARENESS:
        return aware, "awareness"
    if stage.after == CLASSIFICATION:
        return (filing.decided_at if filing.decision else None), "the classification"
    earlier = regime.stage(stage.after)
    if earlier is None:  # the policy reader refuses this; kept safe for partial policies
        return None, stage.after
    subs = _dated(filing, earlier)  # in time order
    if not subs:
        return None, f"the {earlier.name}"
    # the first submission starts the next clock; a later one moves it only where the
    # policy says the stage takes updates (a second "initial notification" extends nothing)
    return (subs[-1] if earlier.updates else subs[0]).at, f"the {earlier.name}"


def _wording(stage: Stage, anchor_name: str) -> str:
    text = f"{stage.within} after {anchor_name}"
    if stage.no_later_than is not None:
        text += f", no later than {dur(stage.no_later_than)} after awareness"
    return text
