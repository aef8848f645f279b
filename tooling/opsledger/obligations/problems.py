"""Problem obligations: the known error by its deadline, the fix held, the fix change, and
the recurring clusters that should be problems.

- :func:`known_error`: root cause and workaround established (``known_error_at``) within
  ``problems.known_error_within`` business days of ``opened_at`` (PRB-KNOWN-ERROR,
  ``time_to_known_error``, portfolio, problem pages, reports);
- :func:`fix_held`: no incident the problem links was detected after ``resolved_at``
  (PRB-RECURRED, ``recurrence_after_fix``, portfolio, problem pages, reports, brief);
- :func:`fix_change`: the ``fix_change`` names a change implemented successfully (PRB-FIX);
- :func:`candidates`: recurring clusters (:mod:`~opsledger.obligations.recurrence`) with at
  least ``problems.candidate_min_incidents`` incidents no problem links (PRB-CANDIDATE,
  ``problem_coverage``, ``opsledger problems suggest``, the findings page, reports).

Problem actions share the PIR actions' due-date obligation (:mod:`.actions`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from opsledger.calendar import BusinessCalendar
from opsledger.model.records import Change, Incident, Problem
from opsledger.model.settings import DURATION, INTEGER, LINES, Setting
from opsledger.obligations.changes import ended
from opsledger.obligations.verdict import State, Verdict, decide
from opsledger.timeutil import format_duration as dur
from opsledger.timeutil import format_timestamp as ts

CANDIDATE_MIN = Setting(
    "problems.candidate_min_incidents",
    INTEGER.refine(minimum=2),
    3,
    "how many recurring incidents not linked to any problem make a candidate problem",
)
CANDIDATE_WINDOW = Setting(
    "problems.candidate_window",
    DURATION,
    "90d",
    "the longest time between two incidents of a recurring cluster (same service and "
    "category, or recurrence_of)",
)
KNOWN_ERROR_WITHIN = Setting(
    "problems.known_error_within",
    INTEGER.refine(minimum=0, maximum=2600),  # ten years of business days
    20,
    "business days from a problem's opened_at by which its root cause and workaround are "
    "established (known_error_at)",
)
PROBLEM_SECTIONS = Setting(
    "problems.required_sections",
    LINES.refine(uniqueItems=True),
    ["Problem statement", "Investigation", "Root cause", "Workaround", "Permanent fix"],
    "the headings every problem body has",
)
#: the settings problem obligations read
SETTINGS = (CANDIDATE_MIN, CANDIDATE_WINDOW, KNOWN_ERROR_WITHIN, PROBLEM_SECTIONS)

KNOWN = frozenset({"known-error", "resolved", "closed"})
RESOLVED = frozenset({"resolved", "closed"})


def known_error_time(prb: Problem) -> datetime | None:
    """When the problem became a known error, as its status and ``known_error_at`` say
    together: None while it is ``new`` or ``investigating``, whatever ``known_error_at``
    holds. PRB-KNOWN-ERROR and time_to_known_error read this one answer."""
    return prb.known_error_at if prb.status in KNOWN else None


def known_error(
    prb: Problem, days: int, calendar: BusinessCalendar, as_of: datetime
) -> Verdict | None:
    """``known_error_at`` by the end of the ``days``-th business day after ``opened_at``'s
    day. Still ``new`` or ``investigating``: pending, then missing once the deadline passed.
    None without ``opened_at``, when the import lacked ``known_error_at``, and for an
    imported problem not yet a known error (its ``opened_at`` stands in for a date the
    source system did not export)."""
    if prb.opened_at is None or "known_error_at" in prb.import_gaps:
        return None
    if prb.external_id is not None and prb.import_gaps and prb.status not in KNOWN:
        return None  # imported: opened_at stands in for a date the source did not export
    due = calendar.deadline(prb.opened_at, days)
    done = known_error_time(prb)
    if prb.status in KNOWN and done is None:
        return None  # SCHEMA reports the missing known_error_at
    state = decide(done, due, as_of)
    allows = f"{days} business days after opening"
    if done is not None:
        took = calendar.business_days_between(prb.opened_at, done) if done >= prb.opened_at else 0
        detail = f"known error {took} business days after opening; due by {ts(due)} ({allows})"
    elif state == "missing":
        detail = f"no known error yet (status {prb.status}); was due by {ts(due)} ({allows})"
    else:
        detail = f"known error due by {ts(due)} ({allows})"
    return Verdict(
        "known error", state, due, prb.opened_at, done, None, ("known_error_at",), None, detail
    )


def recurred(prb: Problem, incidents: Mapping[str, Incident]) -> list[Incident]:
    """The linked incidents detected after the problem was resolved, in detection order."""
    if prb.status not in RESOLVED or prb.resolved_at is None:
        return []
    after = [
        incidents[i]
        for i in dict.fromkeys(prb.incidents)
        if i in incidents
        and incidents[i].detected_at is not None
        and incidents[i].detected_at > prb.resolved_at  # type: ignore[operator]
    ]
    return sorted(after, key=lambda i: (i.detected_at, i.id))


def fix_held(prb: Problem, incidents: Mapping[str, Incident]) -> Verdict | None:
    """For a resolved problem: ``met`` while no linked incident was detected after
    ``resolved_at``, ``missing`` (the fix did not hold) once one was. None before that."""
    if prb.status not in RESOLVED or prb.resolved_at is None:
        return None
    after = recurred(prb, incidents)
    if not after:
        detail = f"held: no linked incident detected since the fix on {ts(prb.resolved_at)}"
        path: tuple[str | int, ...] = ("resolved_at",)
        return Verdict("fix held", "met", None, prb.resolved_at, None, None, path, None, detail)
    first = after[0]
    assert first.detected_at is not None
    index = list(prb.incidents).index(first.id)
    names = ", ".join(i.id for i in after)
    detail = (
        f"recurred: {names} detected after the fix on {ts(prb.resolved_at)} "
        f"(first {ts(first.detected_at)}, {dur(first.detected_at - prb.resolved_at)} later)"
    )
    path = ("incidents", index)
    return Verdict(
        "fix held", "missing", None, prb.resolved_at, first.detected_at, None, path, index, detail
    )


def fix_change(prb: Problem, changes: Mapping[str, Change]) -> Verdict | None:
    """For a resolved problem: its ``fix_change`` was implemented with outcome
    ``successful`` (``met``); failed, rolled back, not implemented yet or unknown
    (``missing``, the detail says which). None before resolution or without a
    ``fix_change`` (SCHEMA's)."""
    if prb.status not in RESOLVED or not prb.fix_change:
        return None
    chg = changes.get(prb.fix_change)
    path: tuple[str | int, ...] = ("fix_change",)
    state: State = "missing"
    if chg is None:
        detail = f"fix change {prb.fix_change} is not a change record here"
    elif (how := ended(chg)) in ("failed", "rolled-back"):
        detail = f"fix change {chg.id} {'failed' if how == 'failed' else 'was rolled back'}"
    elif how != "successful":
        detail = (
            f"fix change {chg.id} is not implemented successfully "
            f"(status {chg.status or '(none)'}, outcome {chg.outcome or '(none)'})"
        )
    else:
        state = "met"
        detail = f"fix change {chg.id} implemented successfully"
    at = chg.implementation_completed_at if chg is not None else None
    return Verdict("fix change", state, None, None, at, None, path, None, detail)


@dataclass(frozen=True)
class Cluster:
    """A recurring cluster: incidents joined by recurrences, and which problems link them."""

    incidents: tuple[Incident, ...]  # detection order
    unlinked: tuple[Incident, ...]  # those no problem links
    problems: tuple[str, ...]  # the problems linking any of them
    impact: timedelta  # total user-impact time: detection to restoration (or now)

    @property
    def services(self) -> tuple[str, ...]:
        return tuple(sorted({i.service for i in self.incidents if i.service}))

    @property
    def categories(self) -> tuple[str, ...]:
        return tuple(sorted({i.category.casefold() for i in self.incidents if i.category}))

    @property
    def first(self) -> datetime | None:
        return self.incidents[0].detected_at

    @property
    def last(self) -> datetime | None:
        return self.incidents[-1].detected_at


def impact_time(inc: Incident, as_of: datetime) -> timedelta:
    """User-impact time of one incident: detection to restoration, or to now while not
    restored; nothing for an incident without detection or with restoration before it."""
    if inc.detected_at is None:
        return timedelta(0)
    end = inc.mitigated_at or inc.resolved_at or as_of
    return max(end - inc.detected_at, timedelta(0))


def build_clusters(
    groups: Sequence[Sequence[str]],
    incidents: Mapping[str, Incident],
    linked: Mapping[str, Sequence[str]],
    minimum: int,
    as_of: datetime,
) -> list[Cluster]:
    """The recurring clusters of at least ``minimum`` incidents."""
    out = []
    for group in groups:
        if len(group) < minimum:
            continue
        members = tuple(incidents[i] for i in group)
        problems = sorted({p for i in group for p in linked.get(i, ())})
        out.append(
            Cluster(
                members,
                tuple(i for i in members if not linked.get(i.id)),
                tuple(problems),
                sum((impact_time(i, as_of) for i in members), timedelta(0)),
            )
        )
    return out


def candidates(clusters: Sequence[Cluster], minimum: int) -> list[Cluster]:
    """Clusters with at least ``minimum`` incidents no problem links, largest (unlinked
    count) and most recent first."""
    chosen = [c for c in clusters if len(c.unlinked) >= minimum]
    return sorted(
        chosen,
        key=lambda c: (-len(c.unlinked), -(c.unlinked[-1].detected_at.timestamp())),  # type: ignore[union-attr]
    )
