"""Problem rules: PRB-CANDIDATE, PRB-KNOWN-ERROR, PRB-ACTIONS, PRB-FIX,
PRB-RECURRED.

Every deadline and verdict comes from :mod:`opsledger.obligations.problems` through the
run's :class:`~opsledger.obligations.Obligations`; the recurring clusters are the ones the
recurrence KPIs, ``problem_coverage`` and ``opsledger problems suggest`` read.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from opsledger.findings import Finding
from opsledger.model.policy import Policy
from opsledger.model.records import Problem
from opsledger.obligations.problems import (
    CANDIDATE_MIN,
    CANDIDATE_WINDOW,
    KNOWN,
    KNOWN_ERROR_WITHIN,
    PROBLEM_SECTIONS,
    RESOLVED,
)
from opsledger.rules.base import Context, Judging, RecordRule, Rule
from opsledger.rules.examples import Examples, File, example, overlays
from opsledger.rules.pirs import MAX_DUE, VAGUE_PHRASES, SectionsRule, action_findings
from opsledger.rules.pirs import title_findings as action_title_findings
from opsledger.rules.text import STATEMENTS, vagueness
from opsledger.timeutil import format_timestamp as ts

ACTIVE = frozenset({"investigating", *KNOWN})


class ProblemRule(Rule):
    kinds = ("problem",)


def future(rule: Rule, ctx: Judging, prb: Problem, *fields: str) -> Iterator[Finding]:
    """A finding for each of ``fields`` holding a time after now (``--as-of``)."""
    for field in fields:
        value = getattr(prb, field)
        if value is not None and value > ctx.as_of:
            yield rule.finding(
                prb,
                f"{field} {ts(value)} is in the future (now is {ts(ctx.as_of)})",
                field,
                fix="record only what has happened",
            )


def _incident(id: str, overlay: str) -> File:
    return File("incident", overlay, id=id)


def _series(*days: str) -> tuple[File, ...]:
    """Incidents INC-2026-0051… on orders-db with category connection-pool, one on each
    March ``day``: a recurring pattern."""
    out = []
    for n, day in enumerate(days):
        at = f"2026-03-{day}T"
        overlay = f"""\
title: Orders-db pool exhausted again ({n + 1})
priority: P3
status: closed
category: connection-pool
detected_at: {at}09:12:00Z
acknowledged_at: {at}09:17:00Z
mitigated_at: {at}09:50:00Z
resolved_at: {at}10:40:00Z
closed_at: {at}16:00:00Z
pir: ~
commander: ~
bridge_opened_at: ~
notifications: ~
escalations: ~
"""
        out.append(_incident(f"INC-2026-{51 + n:04d}", overlay))
    return tuple(out)


class PrbCandidate(Rule):
    """Recurring incidents that no problem explains yet.

    What it checks:
      The recurring clusters: incidents joined by recurrences, where an incident recurs an
      earlier one on the same service with the same category (case-insensitive) detected
      at most ``problems.candidate_window`` before it, or the one its ``recurrence_of``
      names within that window (the definition of the recurrence KPIs). A cluster with at
      least ``problems.candidate_min_incidents`` incidents that no problem lists in its
      ``incidents`` is a candidate problem: one finding, at the ``category`` of its latest
      unlinked incident, naming them all. ``opsledger problems suggest`` lists the same
      clusters and ``opsledger new problem --incident …`` opens the problem. Judged over
      the whole repository: an audit of some records only (``--changed-since``, paths)
      does not judge it.

    Why auditors care:
      The same incident coming back is the clearest sign that the organisation fixes
      symptoms, not causes. Problem management exists to turn a recurring pattern into an
      owned investigation with a verified fix.
    """

    id = "PRB-CANDIDATE"
    severity = "warning"
    kinds = ("incident",)
    summary = "recurring incidents not linked to any problem"
    settings = (CANDIDATE_MIN, CANDIDATE_WINDOW)
    examples = Examples(
        example(*_series("10", "17", "24")),
        example(
            *_series("10", "17", "24"),
            File(
                "problem",
                "incidents: [INC-2026-0042, INC-2026-0051, INC-2026-0052, INC-2026-0053]",
            ),
        ),
    )

    whole_repository = True  # a recurring cluster may hold any incident

    def check(self, ctx: Context) -> Iterator[Finding]:
        for cluster in ctx.obligations.candidates:
            last = cluster.unlinked[-1]
            names = ", ".join(i.id for i in cluster.unlinked)
            linked = (
                f"; {len(cluster.incidents) - len(cluster.unlinked)} more of the cluster are "
                f"linked to {', '.join(cluster.problems)}"
                if cluster.problems
                else ""
            )
            what = "/".join([*cluster.services, *cluster.categories]) or "recurrence_of"
            yield self.finding(
                last,
                f"{len(cluster.unlinked)} recurring incidents ({what}) are not linked to any "
                f"problem: {names}{linked}",
                "category",
                fix="open a problem for them: opsledger new problem "
                + " ".join(f"--incident {i.id}" for i in cluster.unlinked[:6])
                + (", or add them to the problem's incidents" if cluster.problems else ""),
            )


class PrbKnownError(SectionsRule, ProblemRule):
    """A known error says what the cause is and what responders do meanwhile, in time.

    What it checks:
      A problem at ``known-error`` or later has a specific ``root_cause`` and
      ``workaround`` (not placeholders, long enough: the INC-STATEMENT heuristic); when one
      of its services is tier 1, ``runbooks`` names at least one runbook that exists (the
      workaround is written where responders look). ``known_error_at`` is not before
      ``opened_at``, and neither is in the future (after ``--as-of``). From ``known-error``
      on, the body has each heading of
      ``problems.required_sections`` with content, compared as PIR-SECTIONS compares them
      (a new or investigating problem writes them as it goes). And the known error is
      established within
      ``problems.known_error_within`` business days of ``opened_at`` (policy calendar,
      end of that day): a warning at ``known_error_at`` when it came late, at ``status``
      while a problem still ``new`` or ``investigating`` is past the deadline.

    Why auditors care:
      Until the cause is known and a workaround is written down, every recurrence is
      handled from scratch; a problem that sits in investigation for months is a backlog,
      not a process.
    """

    id = "PRB-KNOWN-ERROR"
    summary = "known error without a specific root cause, workaround or runbook, or late"
    settings = (KNOWN_ERROR_WITHIN, PROBLEM_SECTIONS, *STATEMENTS)
    settings_note = "Lateness is reported as a warning; the other checks are errors."
    examples = overlays(
        "problem",
        failing="""\
            workaround: TBD
            runbooks: []                       # orders-db is tier 1
            known_error_at: 2026-03-04T09:00:00Z   # before opened_at
            """,
        passing="""\
            workaround: Roll back the deploy and restart the pgbouncer pods one at a time.
            runbooks: [RB-0003]
            known_error_at: 2026-03-06T15:00:00Z
            """,
    )

    def required(self, policy: Policy) -> tuple[str, ...]:
        return tuple(PROBLEM_SECTIONS.read(policy.doc.data))

    def check(self, ctx: Context) -> Iterator[Finding]:
        ledger = ctx.ledger
        policy = ledger.policy
        for prb in ctx.judged(ledger.problem_records):
            own = Judging(ctx, prb)  # its helpers, shared with rules judging one record
            yield from future(self, own, prb, "opened_at", "known_error_at")
            if prb.status in KNOWN:
                yield from self._content(ctx, prb, policy)
                yield from self.sections(own, prb, prb.sections)
            if prb.known_error_at and prb.opened_at and prb.known_error_at < prb.opened_at:
                yield self.finding(
                    prb,
                    f"known_error_at {ts(prb.known_error_at)} is before opened_at "
                    f"{ts(prb.opened_at)}",
                    "known_error_at",
                    fix="correct known_error_at or opened_at: a known error follows the opening",
                )
                continue
            v = ctx.obligations.problem(prb).known_error
            if v is None or not v.failed:
                continue
            found = self.finding(
                prb,
                f"known error late: {v.detail}" if v.state == "late" else v.detail,
                "known_error_at" if v.state == "late" else "status",
                fix="establish the root cause and a workaround, record known_error_at and "
                "move the problem to known-error",
            )
            yield replace(found, severity="warning")

    def _content(self, ctx: Context, prb: Problem, policy: Policy) -> Iterator[Finding]:
        for field, value, fix in (
            ("root_cause", prb.root_cause, "say what caused the incidents, specifically"),
            ("workaround", prb.workaround, "say what responders do until the fix lands"),
        ):
            if field in prb.import_gaps:
                continue
            why = vagueness(value, policy)
            if why and (prb.data.get(field) is None or isinstance(prb.data.get(field), str)):
                yield self.finding(prb, f"{field.replace('_', ' ')} {why}", field, fix=fix)
        catalog = ctx.ledger.services
        tier1 = [s for s in prb.services if s in catalog and catalog[s].tier == 1]
        if tier1 and not any(ctx.ledger.exists(r) for r in prb.runbooks):
            yield self.finding(
                prb,
                f"the workaround for tier-1 service {tier1[0]} is in no linked runbook",
                "runbooks" if "runbooks" in prb.data else "workaround",
                fix="write the workaround into a runbook (opsledger new runbook) and list it "
                "under runbooks",
            )


class PrbActions(ProblemRule, RecordRule[Problem]):
    """Problem actions follow the PIR action rules.

    What it checks:
      From ``investigating`` on, the problem has at least one action. Each action has
      ``owner``, ``due``, ``type`` and a specific ``verification`` (PIR-ACTIONS), a due date
      at most ``actions.max_due`` after today (``--as-of``), and a specific, testable title
      (PIR-VAGUE: ``actions.vague_phrases``, too short, a vague first verb naming nothing
      measurable).

    Why auditors care:
      A problem without owned, dated, verifiable actions is a record of a pattern, not a
      plan to remove it.
    """

    id = "PRB-ACTIONS"
    tables = ("problem_records",)
    summary = "problem action incomplete or vague, or no actions while investigating"
    settings = (MAX_DUE, VAGUE_PHRASES, *STATEMENTS)
    examples = overlays(
        "problem",
        failing="""\
            actions:
              - {id: A1, title: Investigate, status: open}
            """,
        passing="""\
            actions:
              - id: A1
                title: Move the orders-db pool size from the deploy template into reviewed config
                type: preventive
                owner: marco.rossi@example.com
                due: "2026-04-20"
                status: open
                verification: A deploy that changes the pool size fails the configuration check.
            """,
    )

    def judge(self, ctx: Judging, prb: Problem) -> Iterator[Finding]:
        today = ctx.calendar.local_date(ctx.as_of)
        raw = prb.data.get("actions")
        if not prb.actions:
            if prb.status in ACTIVE and (raw is None or raw == []):
                yield self.finding(
                    prb,
                    f"problem is {prb.status} but has no actions",
                    "actions" if raw is not None else "status",
                    fix="add at least one action with owner, due date, type and verification",
                )
            return
        since = f"today ({today.isoformat()})"
        yield from action_findings(self, ctx, prb, prb.actions, today, since)
        yield from action_title_findings(self, ctx, prb, prb.actions)


class PrbFix(ProblemRule, RecordRule[Problem]):
    """A resolved problem was fixed by a change that worked.

    What it checks:
      A problem at ``resolved`` or ``closed`` names in ``fix_change`` a change record that
      was implemented (status ``implemented`` or ``closed``) with outcome ``successful``; a
      fix change that failed, was rolled back, is not implemented yet or does not exist is
      reported at ``fix_change``. ``resolved_at`` is not before ``opened_at`` or
      ``known_error_at``; ``resolved_at`` and ``closed_at`` are not in the future.

    Why auditors care:
      "Resolved" must mean the cause was removed by a change that can be inspected: its
      approval, its testing and its outcome. A failed or rolled-back change removed
      nothing.
    """

    id = "PRB-FIX"
    tables = ("problem_records",)
    summary = "resolved problem without a successfully implemented fix change"
    examples = Examples(
        example(File("change", "status: rolled-back\nimplementation: {outcome: rolled-back}")),
        example(File("change", "status: implemented")),
    )

    def judge(self, ctx: Judging, prb: Problem) -> Iterator[Finding]:
        if prb.status not in RESOLVED:
            return
        v = ctx.obligations.problem(prb).fix_change
        if v is not None and v.failed:
            yield self.finding(
                prb,
                v.detail,
                "fix_change",
                fix="name the change that removed the cause, once it is implemented "
                "successfully; until then the problem is a known error",
            )
        yield from future(self, ctx, prb, "resolved_at", "closed_at")
        if prb.resolved_at is None:
            return
        for field, before in (
            ("opened_at", prb.opened_at),
            ("known_error_at", prb.known_error_at),
        ):
            if before is not None and prb.resolved_at < before:
                yield self.finding(
                    prb,
                    f"resolved_at {ts(prb.resolved_at)} is before {field} {ts(before)}",
                    "resolved_at",
                    fix=f"correct resolved_at or {field}",
                )
                break


class PrbRecurred(ProblemRule, RecordRule[Problem]):
    """The fix held: no incident of the problem came back after it was resolved.

    What it checks:
      A problem at ``resolved`` or ``closed`` lists in ``incidents`` an incident detected
      after its ``resolved_at``: the fix did not hold. One warning per problem, at the first
      such incident's entry, naming all of them. Record a recurrence by adding the incident
      at the end of the problem's ``incidents`` (not an edit after closure).

    Why auditors care:
      Verification of effectiveness: a fix is only a fix if the incidents stop. The
      recurrence-after-fix rate is the problem-management figure leadership asks for.
    """

    id = "PRB-RECURRED"
    tables = ("problem_records",)
    severity = "warning"
    summary = "incident linked to a resolved problem detected after the fix"
    examples = Examples(
        example(
            *_series("20"),
            File("problem", "incidents: [INC-2026-0042, INC-2026-0051]"),
        ),
        example(
            *_series("20"),
            File(
                "problem",
                "incidents: [INC-2026-0042, INC-2026-0051]\nresolved_at: 2026-03-25T09:00:00Z",
            ),
        ),
    )

    def judge(self, ctx: Judging, prb: Problem) -> Iterator[Finding]:
        v = ctx.obligations.problem(prb).fix_held
        if v is None or not v.failed:
            return
        yield self.finding(
            prb,
            f"the fix did not hold: {v.detail}",
            *v.path,
            fix="reopen the investigation: move the problem back to known-error or "
            "investigating, or explain in the body why this incident has another cause "
            "and remove it from incidents",
        )


RULES: tuple[type[Rule], ...] = (
    PrbCandidate,
    PrbKnownError,
    PrbActions,
    PrbFix,
    PrbRecurred,
)
