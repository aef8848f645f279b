"""PIR rules: PIR-SECTIONS, PIR-ACTIONS, PIR-VAGUE, PIR-OVERDUE, PIR-REVIEW.

"Today" is the ``--as-of`` instant's calendar day in the policy timezone. Every rule reads
the tolerant typed record, so a PIR that fails its schema is judged on what it does say:
a field of the wrong type is left to SCHEMA, never reported twice.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import date
from typing import Any, ClassVar

from opsledger.findings import Finding
from opsledger.model.policy import Policy
from opsledger.model.records import Action, Pir, Problem, Record, Section
from opsledger.model.settings import DURATION, LINES, REQUIRED, TIMEZONE_SETTING, Setting
from opsledger.rules.base import Judging, RecordRule, Rule
from opsledger.rules.examples import overlays
from opsledger.rules.text import PLACEHOLDERS, STATEMENTS, contains_phrase, vagueness, words
from opsledger.timeutil import format_duration as dur
from opsledger.timeutil import format_timestamp as ts

#: First words that announce an intention rather than a deliverable; PIR-VAGUE flags a
#: title starting with one of them unless it names something measurable.
VAGUE_VERBS = frozenset(
    {
        "improve",
        "ensure",
        "consider",
        "investigate",
        "monitor",
        "review",
        "look",
        "explore",
        "try",
        "discuss",
        "continue",
        "maintain",
    }
)

PIR_SECTIONS = Setting(
    "pir.required_sections",
    LINES.refine(uniqueItems=True),
    REQUIRED,
    "the headings every PIR body has, each with content",
    "pir_sections",
)
MAX_DUE = Setting(
    "actions.max_due",
    DURATION,
    REQUIRED,
    "the latest due date of an action, counted from the PIR's approval",
    "action_max_due",
)
VAGUE_PHRASES = Setting(
    "actions.vague_phrases",
    LINES.refine(uniqueItems=True),
    REQUIRED,
    "phrases that make an action title vague (whole words, case-insensitive)",
    "vague_phrases",
)

_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_BULLET = re.compile(r"^(?:[-*+>]|[0-9]+[.)])\s+")
# a number, a percentage, or a token with an inner hyphen or dot (orders-db, RB-0003, v4.12)
_MEASURABLE = re.compile(r"[0-9%]|[^\W_][-.][^\W_]")


def heading_key(title: str) -> str:
    """How headings are compared: case-insensitive, spacing and a trailing colon ignored."""
    return " ".join(title.casefold().split()).rstrip(":").strip()


def section_content(sections: tuple[Section, ...], index: int) -> str:
    """A section's own text and the text of its sub-sections (their headings excluded)."""
    first = sections[index]
    parts = [first.text]
    for section in sections[index + 1 :]:
        if section.level <= first.level:
            break
        parts.append(section.text)
    return "\n".join(p for p in parts if p)


def emptiness(content: str, policy: Policy) -> str | None:
    """Why a section's content is empty or only placeholders, or None when it has content."""
    lines = [_BULLET.sub("", line.strip()) for line in _COMMENT.sub("", content).splitlines()]
    lines = [line.strip() for line in lines if line.strip()]
    if not lines:
        return "is empty"
    placeholders = {p.lower() for p in policy.placeholders}
    if all(" ".join(line.lower().rstrip(".!").split()) in placeholders for line in lines):
        return f"holds only a placeholder ({lines[0]!r})"
    return None


class SectionsRule(Rule):
    """Shared by PIR-SECTIONS and RB-SECTIONS: required Markdown headings with content."""

    def required(self, policy: Policy) -> tuple[str, ...]:
        raise NotImplementedError

    def sections(
        self, ctx: Judging, record: Record, sections: tuple[Section, ...]
    ) -> Iterator[Finding]:
        policy = ctx.policy
        body = record.doc.body
        body_line = record.doc.body_line if body and body.strip() else 1
        by_key: dict[str, list[int]] = {}
        for index, section in enumerate(sections):
            by_key.setdefault(heading_key(section.title), []).append(index)
        for name in self.required(policy):
            found = by_key.get(heading_key(name), [])
            if not found:
                yield self.at_line(
                    record,
                    body_line,
                    f"required section {name!r} is missing",
                    f"add a '## {name}' heading with its content",
                )
                continue
            reasons = [emptiness(section_content(sections, i), policy) for i in found]
            if all(reasons):
                first = sections[found[0]]
                yield self.at_line(
                    record,
                    first.line,
                    f"section {first.title!r} {reasons[0]}",
                    f"write the {name} section, or say in it why it does not apply",
                )

    def at_line(self, record: Record, line: int, message: str, fix: str) -> Finding:
        return Finding(
            record.path, max(line, 1), 1, self.id, self.severity, message, record.id, "", fix
        )


class PirRule(Rule):
    kinds: ClassVar[tuple[str, ...]] = ("pir",)


def label(action: Action) -> str:
    return f"action {action.id}" if action.id else f"action {action.index + 1}"


def raw_action(pir: Pir | Problem, action: Action) -> Mapping[str, Any]:
    items = pir.data.get("actions")
    if isinstance(items, list) and action.index < len(items):
        item = items[action.index]
        if isinstance(item, dict):
            return item
    return {}


def approved_on(ctx: Judging, pir: Pir) -> date | None:
    """Local day of the earliest reviewer entry with decision approved."""
    times = [r.at for r in pir.reviewers if r.decision == "approved" and r.at is not None]
    return ctx.calendar.local_date(min(times)) if times else None


class PirSections(SectionsRule, PirRule, RecordRule[Pir]):
    """The PIR body has every required section, each with content.

    What it checks:
      Each heading named in ``pir.required_sections`` appears in the Markdown body, at any
      heading level, compared case-insensitively (spacing and a trailing colon ignored), and
      has content: text under it, or sub-headings with text. A section that is empty, holds
      only HTML comments, or holds only placeholders (``TBD``, ``n/a``…, one per line or
      bullet) fails. A missing section is reported at the first line of the body, an empty
      one at its heading.

    Why auditors care:
      The sections are the review: a PIR without a timeline or lessons learned cannot show
      that the organisation understood the incident, whatever its front matter says.
    """

    id = "PIR-SECTIONS"
    tables = ("pirs",)
    summary = "required PIR section missing or empty"
    settings = (PIR_SECTIONS, PLACEHOLDERS)
    examples = overlays(
        "pir",
        failing="""\
            ## Timeline

            TBD
            """,
        passing="""\
            ## Timeline

            | time | event |
            |---|---|
            | 09:12 | Pool saturation alert fires |
            """,
        markdown=True,
    )

    def required(self, policy: Policy) -> tuple[str, ...]:
        return policy.pir_sections

    def judge(self, ctx: Judging, pir: Pir) -> Iterator[Finding]:
        yield from self.sections(ctx, pir, pir.sections)


class PirActions(PirRule, RecordRule[Pir]):
    """The PIR commits to actions, each with an owner, a due date, a type and a verification.

    What it checks:
      The PIR has at least one action. Each action has ``owner``, ``due``, ``type`` and a
      specific ``verification`` (not a placeholder, long enough: the INC-STATEMENT
      heuristic). ``due`` is at most ``actions.max_due`` after the PIR's approval, which is
      the day (policy timezone) of the earliest reviewer entry with ``decision: approved``;
      while the PIR has no such entry the limit counts from today (``--as-of``). Exactly
      ``max_due`` after passes.

    Why auditors care:
      An action without an owner or a date is a wish; an action without a verification can
      be closed without proof that the risk went away. A due date far in the future defers
      the fix past the point anyone remembers the incident.
    """

    id = "PIR-ACTIONS"
    tables = ("pirs",)
    summary = "PIR without actions, or an action without owner, due date, type or verification"
    settings = (MAX_DUE, *STATEMENTS)
    examples = overlays(
        "pir",
        failing="""\
            actions:
              - {id: A1, title: Add a pool saturation alert at 80%, status: open}
            """,
        passing="""\
            actions:
              - id: A1
                title: Add a pool saturation alert at 80%
                type: detective
                owner: lena.fischer@example.com
                due: "2026-04-30"
                status: open
                verification: The alert fires in the staging load test at 85% pool usage.
            """,
    )
    FIELDS = (
        ("owner", "owner", "name the person accountable for the action (an e-mail address)"),
        ("due", "due date", "set due: YYYY-MM-DD"),
        ("type", "type", "set type: corrective, preventive, detective or process"),
    )

    def judge(self, ctx: Judging, pir: Pir) -> Iterator[Finding]:
        today = ctx.calendar.local_date(ctx.as_of)
        raw = pir.data.get("actions")
        if not pir.actions:
            if raw is None or raw == []:  # anything else is SCHEMA's
                yield self.finding(
                    pir,
                    "PIR has no actions",
                    "actions",
                    fix="add at least one action with owner, due date, type and verification",
                )
            return
        approved = approved_on(ctx, pir)
        start = approved if approved is not None else today
        since = (
            f"the PIR's approval on {start.isoformat()}"
            if approved is not None
            else f"today ({start.isoformat()}); the PIR is not approved yet"
        )
        yield from action_findings(self, ctx, pir, pir.actions, start, since)


def action_findings(
    rule: Rule,
    ctx: Judging,
    record: Pir | Problem,
    actions: tuple[Action, ...],
    start: date,
    since: str,
) -> Iterator[Finding]:
    """The PIR action rules for each action of ``record`` (a PIR or a problem): owner, due
    date, type, a specific verification, and a due date at most ``actions.max_due`` after
    ``start`` (``since`` says what ``start`` is)."""
    policy = ctx.policy
    for action in actions:
        item = raw_action(record, action)
        for field, what, fix in PirActions.FIELDS:
            value = item.get(field)
            if value is None or (isinstance(value, str) and not value.strip()):
                yield rule.finding(
                    record,
                    f"{label(action)} has no {what}",
                    "actions",
                    action.index,
                    field,
                    fix=fix,
                )
        verification = item.get("verification")
        why = vagueness(action.verification, policy)
        if why and (verification is None or isinstance(verification, str)):
            yield rule.finding(
                record,
                f"{label(action)} verification {why}",
                "actions",
                action.index,
                "verification",
                fix="say how you will prove the action worked: a test, an alert firing, a metric",
            )
        if action.due is not None and action.due > start + policy.action_max_due:
            yield rule.finding(
                record,
                f"{label(action)} is due {action.due.isoformat()}, more than "
                f"{dur(policy.action_max_due)} after {since}",
                "actions",
                action.index,
                "due",
                fix=f"bring the due date within {dur(policy.action_max_due)}, or split "
                "the action into steps that fit",
            )


def title_vagueness(title: str, policy: Policy) -> str | None:
    """Why an action title is not specific and testable, or None when it is."""
    for phrase in policy.vague_phrases:
        if contains_phrase(title, phrase):
            return f"contains the vague phrase {phrase!r}"
    tokens = words(title)
    if len(tokens) < 3:
        return f"is too short to say what will be done ({len(tokens)} words)"
    verb = tokens[0].casefold()
    if verb in VAGUE_VERBS and not _MEASURABLE.search(title):
        return f"starts with {verb!r} and names nothing measurable"
    return None


class PirVague(PirRule, RecordRule[Pir]):
    """Action titles say what will be done, concretely enough to test.

    What it checks:
      Each action ``title`` is flagged when it contains one of ``actions.vague_phrases``
      (whole words, case-insensitive), has fewer than 3 words, or starts with a vague verb
      (improve, ensure, consider, investigate, monitor, review, look, explore, try, discuss,
      continue, maintain) and names nothing measurable: no digit, no ``%``, no
      identifier-like token with an inner hyphen or dot (``orders-db``, ``RB-0003``,
      ``login.example.com``).

    Why auditors care:
      "Improve monitoring" can be closed by anyone at any time without changing anything.
      Actions an auditor can verify name the thing that changes and how much.
    """

    id = "PIR-VAGUE"
    tables = ("pirs",)
    summary = "vague or untestable action title"
    settings = (VAGUE_PHRASES,)
    settings_note = "The list of vague verbs is fixed in the tool."
    examples = overlays(
        "pir",
        failing="""\
            actions:
              - id: A1
                title: Improve monitoring
                type: detective
                owner: lena.fischer@example.com
                due: "2026-04-30"
                status: open
                verification: The alert fires in the staging load test at 85% pool usage.
            """,
        passing="""\
            actions:
              - id: A1
                title: Add a saturation alert on orders-db pool usage above 80% linking RB-0003
                type: detective
                owner: lena.fischer@example.com
                due: "2026-04-30"
                status: open
                verification: The alert fires in the staging load test at 85% pool usage.
            """,
    )

    def judge(self, ctx: Judging, pir: Pir) -> Iterator[Finding]:
        yield from title_findings(self, ctx, pir, pir.actions)


def title_findings(
    rule: Rule, ctx: Judging, record: Pir | Problem, actions: tuple[Action, ...]
) -> Iterator[Finding]:
    """PIR-VAGUE's check of each action title of ``record`` (a PIR or a problem)."""
    policy = ctx.policy
    for action in actions:
        if action.title is None or not action.title.strip():
            continue  # a missing title is SCHEMA's
        why = title_vagueness(action.title, policy)
        if why:
            yield rule.finding(
                record,
                f"{label(action)} title {why}",
                "actions",
                action.index,
                "title",
                fix="name what will change and how to tell it is done "
                "(the system, the threshold, the document)",
            )


class PirOverdue(PirRule, RecordRule[Pir | Problem]):
    """Open actions, of a PIR or of a problem, are not past their due date.

    What it checks:
      An action with ``status`` ``open`` or ``in-progress`` whose ``due`` date is before
      today (``--as-of`` in the policy timezone). An action due today is not overdue.
      Problem actions are follow-up actions like a PIR's, judged the same way.

    Why auditors care:
      Overdue actions are risks the organisation said it would remove and has not; the
      action on-time rate is a standard problem-management KPI.
    """

    id = "PIR-OVERDUE"
    kinds = ("pir", "problem")
    tables = ("pirs", "problem_records")
    severity = "warning"
    summary = "open PIR or problem action past its due date"
    settings = (TIMEZONE_SETTING,)
    settings_note = "rules.severity can make this an error."
    examples = overlays(
        "pir",
        failing="""\
            actions:
              - {id: A1, title: Add a pool saturation alert at 80%, owner: lena.fischer@example.com,
                 due: "2026-03-30", status: open}          # today is 2026-03-31
            """,
        passing="""\
            actions:
              - {id: A1, title: Add a pool saturation alert at 80%, owner: lena.fischer@example.com,
                 due: "2026-03-31", status: open}          # due today
            """,
    )

    def judge(self, ctx: Judging, record: Pir | Problem) -> Iterator[Finding]:
        for action, v in zip(record.actions, ctx.obligations.actions(record), strict=True):
            if v is None or v.state != "missing":
                continue
            yield self.finding(
                record,
                f"{label(action)} is {v.detail}",
                "actions",
                action.index,
                "due",
                fix="finish the action, or agree a new due date and record why",
            )


class PirReview(PirRule, RecordRule[Pir]):
    """An approved PIR was approved by someone other than its authors.

    What it checks:
      A PIR with ``status: approved`` has at least one ``reviewers`` entry with
      ``decision: approved`` whose ``by`` is not one of ``authors`` (e-mail addresses
      compared case-insensitively, surrounding spaces ignored). A review dated after now
      (``--as-of``) has not been given yet: it is a finding at its ``at`` whatever the
      PIR's status, and an approval so dated does not count.

    Why auditors care:
      Authors approving their own review is no review: segregation of duties applies to
      PIRs as it does to changes.
    """

    id = "PIR-REVIEW"
    tables = ("pirs",)
    summary = "approved PIR without an independent reviewer's approval"
    examples = overlays(
        "pir",
        failing="""\
            status: approved
            authors: [lena.fischer@example.com]
            reviewers: [{by: Lena.Fischer@example.com, decision: approved,
                         at: 2026-03-09T15:00:00Z}]
            """,
        passing="""\
            reviewers: [{by: priya.shah@example.com, at: 2026-03-09T15:00:00Z, decision: approved}]
            """,
    )

    def judge(self, ctx: Judging, pir: Pir) -> Iterator[Finding]:
        ahead = [(r, r.at) for r in pir.reviewers if r.at is not None and r.at > ctx.as_of]
        for r, at in ahead:
            yield self.finding(
                pir,
                f"review by {r.by or 'an unnamed reviewer'} is dated {ts(at)}, after "
                f"now ({ts(ctx.as_of)})",
                "reviewers",
                r.index,
                "at",
                fix="record the time the review was given; a review cannot be recorded "
                "ahead of time",
            )
        if pir.status != "approved":
            return
        if any(r.decision == "approved" and not r.by for r in pir.reviewers):
            return  # an approval without a readable reviewer is SCHEMA's
        authors = {a.strip().casefold() for a in pir.authors}
        approvals = [
            r.by
            for r in pir.reviewers
            if r.decision == "approved" and r.by and not any(r is f for f, _ in ahead)
        ]
        if any(by.strip().casefold() not in authors for by in approvals):
            return
        if not pir.reviewers:
            message = "PIR is approved but has no reviewers"
        elif approvals:
            message = "PIR is approved but only its authors approved it"
        else:
            message = "PIR is approved but no reviewer approved it"
        yield self.finding(
            pir,
            message,
            "reviewers" if pir.reviewers else "status",
            fix="have someone who is not an author review it and add their approval "
            "under reviewers",
        )


RULES: tuple[type[Rule], ...] = (PirSections, PirActions, PirVague, PirOverdue, PirReview)
