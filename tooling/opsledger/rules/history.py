"""History rules: GIT-PROVENANCE, GIT-AFTER-CLOSE, GIT-BACKDATED, GIT-DELETED, GIT-LATE-RECORD,
GIT-DOWNGRADE, GIT-RUBBER-STAMP.

They read the history index (``Context.history``; without one they find nothing). Records
first committed before ``history.since`` were imported and are skipped. Versions are taken
in landing order on the branch (first-parent chain), never sorted by self-asserted dates;
identities are the raw author and committer (compared case- and space-insensitively,
reported as recorded). Versions that cannot be read (invalid YAML in an old commit) are
tolerated: they are skipped for field comparisons and named where they matter.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any, ClassVar

from opsledger.findings import Finding, json_pointer
from opsledger.history.derive import entry_key, transitions
from opsledger.history.model import Commit, RecordHistory, Version, diff_fields, identity_key
from opsledger.model.ledger import stem_id
from opsledger.model.regulatory import appended_submissions
from opsledger.model.settings import (
    CALENDAR,
    DURATION,
    HISTORY_SINCE,
    INTEGER,
    Setting,
)
from opsledger.rules.base import Context, HistoryJudging, Rule
from opsledger.rules.examples import Examples, File, commit, played
from opsledger.rules.incidents import NOTIFICATION_REQUIRED, PIR_REQUIRED
from opsledger.rules.regulatory import REGIMES
from opsledger.timeutil import format_duration as dur
from opsledger.timeutil import format_timestamp as ts
from opsledger.timeutil import parse_timestamp

ALL_KINDS = ("incident", "change", "pir", "runbook", "problem")
#: the status at which a record is closed (a PIR: approved)
FINAL = {"incident": "closed", "change": "closed", "pir": "approved", "problem": "closed"}
#: the list of approval entries per kind, and what one entry is called
ENTRIES = {"change": ("approvals", "approval"), "pir": ("reviewers", "review")}
#: PIR action fields that record progress and may change after approval
PROGRESS = frozenset({"status", "verification", "tracker"})

BACKDATE_TOLERANCE = Setting(
    "history.backdate_tolerance",
    DURATION,
    "1h",
    "how much earlier than its landing on the branch an approval may say it was given: "
    "the time a pull request waits between approval and merge",
    "backdate_tolerance",
)
LATE_RECORD_DAYS = Setting(
    "history.late_record_business_days",
    INTEGER.refine(minimum=0),
    2,
    "the business days from detection within which an incident is first committed",
    "late_record_business_days",
)
RUBBER_STAMP_REPEATS = Setting(
    "history.rubber_stamp_repeats",
    INTEGER.refine(minimum=1),
    2,
    "how many reviews in a row that only change last_reviewed make a rubber stamp",
    "rubber_stamp_repeats",
)
LENA = "Lena Fischer <lena.fischer@example.com>"
PRIYA = "Priya Shah <priya.shah@example.com>"
PRIYAS_APPROVAL = """\
    approvals:
      - {by: priya.shah@example.com, role: cab, decision: approved, at: 2026-03-09T09:55:00Z}
    """


def landed(version: Version) -> str:
    """``commit 1a2b3c4 by Name <email>, landed 2026-03-04T09:12:00Z``."""
    commit = version.commit
    return f"commit {commit.sha[:7]} by {commit.author}, landed {ts(version.landed_at)}"


def body(version: Version) -> str | None:
    """A Markdown record's body in this version, when the history index records it."""
    value = getattr(version, "body", None)
    return value if isinstance(value, str) else None


def by_them(commit: Commit, who: str) -> bool:
    """The commit's author is ``who``, or it is signed and ``who`` committed it."""
    key = identity_key(who)
    return commit.author.key == key or (commit.signed and commit.committer.key == key)


def not_before(history: RecordHistory) -> dict[int, datetime]:
    """Each version's landing time, raised to the latest landing time before it: a commit
    cannot land before an earlier version of the record did (git dates are self-asserted)."""
    floor: dict[int, datetime] = {}
    latest: datetime | None = None
    for version in history.versions:
        latest = version.landed_at if latest is None else max(latest, version.landed_at)
        floor[id(version)] = latest
    return floor


def introductions(history: RecordHistory, field: str) -> dict[tuple[str, ...], list[Version]]:
    """For each entry of list ``field``, the versions that may have added it: the first
    readable version holding it, as it landed (:meth:`RecordHistory.held_from`), preceded
    by any unreadable versions just before it."""

    def entries(data: Mapping[str, Any]) -> list[tuple[str, ...]]:
        held = data.get(field)
        listed = held if isinstance(held, list) else []
        return [entry_key(entry) for entry in listed if isinstance(entry, Mapping)]

    return history.held_from(entries)


def successor_version(ctx: HistoryJudging, deletion: Version) -> Version | None:
    """The version of the record that took a deleted record's content, in the same commit
    under another ID (see :mod:`opsledger.history.assemble`)."""
    if deletion.successor is None or ctx.history is None:
        return None
    heir = ctx.history.get(deletion.successor) or next(
        (
            h
            for rid, h in ctx.history.records.items()
            if rid.casefold() == deletion.successor.casefold()
        ),
        None,
    )  # its spelling may have been corrected since
    for version in heir.versions if heir is not None else []:
        if version.commit.sha == deletion.commit.sha and not version.deleted:
            return version
    return None


def current(history: RecordHistory) -> Mapping[str, Any]:
    """The fields of the last readable version."""
    data: Mapping[str, Any] = {}
    for version in history.readable():
        data = version.data or {}
    return data


class HistoryRule(Rule):
    """A rule judging each record's history on its own (:meth:`judge`, through a
    :class:`HistoryJudging`): under ``site serve`` its findings on a record are reused
    while the history index, the records it read and "now" (when read) are the same
    (:mod:`opsledger.rules.recall`)."""

    kinds: ClassVar[tuple[str, ...]] = ALL_KINDS

    def histories(self, ctx: Context) -> Iterator[tuple[str, RecordHistory]]:
        """(kind, history) of each record of the rule's kinds first committed after adoption."""
        for kind, history, imported in ctx.record_histories:
            if kind in self.kinds and not imported:
                yield kind, history

    def check(self, ctx: Context) -> Iterator[Finding]:
        recall = ctx.recall if ctx.only is None else None
        if recall is None:
            for kind, history in self.histories(ctx):
                yield from self.judge(HistoryJudging(ctx), kind, history)
            return
        whole = recall.checked(self, ctx)
        if whole is not None:  # this run's audit judged the same: a KPI asks again
            yield from whole
            return
        found: list[Finding] = []
        for kind, history in self.histories(ctx):
            judged = recall.traced(self, ctx, kind, history)
            found += judged
            yield from judged
        recall.check_done(self, ctx, found)

    def judge(self, ctx: HistoryJudging, kind: str, history: RecordHistory) -> Iterator[Finding]:
        raise NotImplementedError

    def at(
        self, ctx: HistoryJudging, history: RecordHistory, message: str, *path: str | int, fix: str
    ) -> Finding:
        """A finding at ``path`` of the record, or at line 1 of its last path if not loaded."""
        record = ctx.loaded(history.record_id)
        if record is not None:
            return self.finding(record, message, *path, fix=fix)
        rid, pointer = history.record_id, json_pointer(path)
        return Finding(history.last.path, 1, 1, self.id, self.severity, message, rid, pointer, fix)


class GitProvenance(HistoryRule):
    """Each approval or review entry was added by the person it names.

    What it checks:
      For every entry of a change's ``approvals`` and a PIR's ``reviewers``, the commit that
      first contained it (exactly: same person, role, time and decision) is authored by that
      person, or is a signed commit they committed. E-mail addresses are compared ignoring
      case and surrounding spaces; the message shows the raw author git recorded (no
      ``.mailmap``). When the versions just before that commit cannot be read (invalid YAML),
      any of those commits by the approver counts too. Editing someone's entry (its time or
      decision) makes it a new entry, judged by who made the edit. A squash merge makes one
      person the author of every entry in the pull request: merge or rebase instead.

    Why auditors care:
      An approval typed into the file by the requester is no approval. The commit author is
      the evidence of who gave it; ``opsledger approve --commit`` creates exactly that commit.
    """

    id = "GIT-PROVENANCE"
    kinds = ("change", "pir")
    summary = "approval or review entry not committed by the person it names"
    settings = (HISTORY_SINCE,)
    examples = Examples(
        played(commit("2026-03-09T10:00:00Z", LENA, File("change", PRIYAS_APPROVAL))),
        played(commit("2026-03-09T10:00:00Z", PRIYA, File("change", PRIYAS_APPROVAL))),
    )

    def judge(self, ctx: HistoryJudging, kind: str, history: RecordHistory) -> Iterator[Finding]:
        if history.deleted:
            return
        field, label = ENTRIES[kind]
        added = introductions(history, field)
        entries = current(history).get(field)
        for index, entry in enumerate(entries if isinstance(entries, list) else []):
            by = entry.get("by") if isinstance(entry, Mapping) else None
            candidates = added.get(entry_key(entry), []) if isinstance(by, str) else []
            if not candidates or any(by_them(v.commit, str(by)) for v in candidates):
                continue
            version = candidates[-1]
            role = f"{entry['role']}, " if entry.get("role") else ""
            unreadable = " (after unreadable versions)" if len(candidates) > 1 else ""
            yield self.at(
                ctx,
                history,
                f"{label} by {by} ({role}{entry.get('decision')}) was added by "
                f"{landed(version)}{unreadable}, not by {by}",
                field,
                index,
                "by",
                fix=f"remove the entry and have {by} record it themselves (opsledger "
                f"approve {history.record_id} --commit)",
            )


class GitAfterClose(HistoryRule):
    """A record was changed after it was closed (a PIR: after it was approved).

    What it checks:
      Every version of an incident, change or problem after ``status: closed``, and of a PIR
      after ``status: approved``, that landed after the closing commit (commits landing
      together, in one merged pull request, count as one). The finding names the fields, the
      commit, its author and landing time. Not such an edit: a PIR or problem action's
      ``status``, ``verification`` or ``tracker`` moving on; incidents added at the end of a
      problem's ``incidents`` (a recurrence recorded); an incident reopened properly (status
      moved back together with a new ``reopened`` entry, the times and resolution of the
      states it leaves cleared, timeline and notification entries appended dated at or after
      the closing; a landing that reopens and closes it again, as several commits or
      squashed into one, keeps its new ``reopened`` entry, else what it changed is reported,
      and a ``reopened`` entry that landed is never dropped or rewritten: reported once); a
      new ``kind: resolution`` notification dated at or after ``closed_at`` (a final notice
      recorded when it was sent); a regulatory submission appended to an unchanged
      ``regulatory`` entry (a final report is due weeks after closure). Changing an existing
      notification or adding an earlier one is backfilling and is reported. A version that
      cannot be read counts as a change. A PIR's Markdown body is compared only when the
      history index records it. Records are followed by ID: a closed record renamed to
      another ID (or whose ``id`` changed) with other edits in the same commit is reported
      as edited (the message names the ID it became; GIT-DELETED reports the rename itself),
      and a closed record deleted and later added back is compared with what it said when it
      was closed.

    Why auditors care:
      A closed record is the evidence an auditor relies on; rewriting it afterwards
      (a softer impact, a new root cause) changes history without review.
    """

    id = "GIT-AFTER-CLOSE"
    kinds = ("incident", "change", "pir", "problem")
    summary = "record changed after it was closed or approved"
    settings = (HISTORY_SINCE,)
    examples = Examples(
        played(
            commit("2026-03-06T16:30:00Z", LENA, File("incident", "status: closed")),
            commit(
                "2026-03-08T10:00:00Z",
                LENA,
                File("incident", "impact: A few customers saw slow checkout pages."),
            ),
        ),
        played(
            commit("2026-03-06T16:30:00Z", LENA, File("incident", "status: closed")),
            commit(
                "2026-03-08T10:00:00Z",
                LENA,
                File(
                    "incident",
                    """\
                    status: resolved
                    closed_at: ~
                    reopened:
                      - {at: 2026-03-08T09:30:00Z, reason: The pool alert fired again.}
                    """,
                ),
            ),
        ),
    )

    def judge(self, ctx: HistoryJudging, kind: str, history: RecordHistory) -> Iterator[Finding]:
        yield from self._record(ctx, kind, history)

    def _record(self, ctx: HistoryJudging, kind: str, history: RecordHistory) -> Iterator[Finding]:
        reported: set[str] = set()  # landings with an edit reported
        for finding, landing in self._commits(ctx, kind, history):
            reported.add(landing)
            yield finding
        if kind == "incident":
            yield from self._landings(ctx, history, reported)

    def _landings(
        self, ctx: HistoryJudging, history: RecordHistory, reported: set[str]
    ) -> Iterator[Finding]:
        """What each landing did to a closed incident as a whole (commits landing together
        count as one): one that reopens and closes it again is an edit after closure unless
        the reopen stays recorded (its ``reopened`` entry landed), and a ``reopened`` entry
        that landed is never dropped or rewritten later. Landings already reported for an
        edit are not reported again."""
        groups = [
            readable
            for landing in history.landings()
            if (readable := [v for v in landing if v.data is not None])
        ]
        before: Version | None = None
        closing: Version | None = None  # the version that closed it, while closed
        last: Version | None = None  # the version that closed it last, closed or not since
        recorded: list[Any] = []  # the reopened entries that have landed
        for group in groups:
            end = group[-1]
            entries = (end.data or {}).get("reopened")
            listed = entries if isinstance(entries, list) else []
            kept = not recorded or (
                isinstance(entries, list) and entries[: len(recorded)] == recorded
            )
            closed = [(v.data or {}).get("status") == FINAL["incident"] for v in group]
            landing = end.commit.landed_sha
            if before is not None and last is not None and landing not in reported:
                fields: list[str] = []
                if not kept:  # a reopen entry that landed (after a closing) is evidence
                    fields = ["reopened"]
                elif closing and closed[-1] and not all(closed) and len(listed) <= len(recorded):
                    # reopened and closed again, and no reopen entry landed with it
                    fields = self._edits("incident", before, end)
                if fields:
                    yield self._report(ctx, history, "incident", closing or last, end, fields)
            recorded = list(listed)  # reported once when not kept: the next landing starts here
            if not closed[-1]:
                closing = None
            elif closing is None or not all(closed):  # closed (again) by this landing
                start = len(closed)
                while start and closed[start - 1]:
                    start -= 1
                closing = group[start]
            last = closing or last
            before = end

    def _commits(
        self, ctx: HistoryJudging, kind: str, history: RecordHistory
    ) -> Iterator[tuple[Finding, str]]:
        """Each version compared with the one before it (see the class)."""
        closing: Version | None = None  # the version that closed the record, while closed
        previous: Version | None = None  # the last readable version
        for version in history.versions:
            if version.deleted:  # still closed if it comes back; its successor is an edit
                heir = successor_version(ctx, version)
                if closing and previous and heir is not None and heir.data is not None:
                    fields = [f for f in self._edits(kind, previous, heir) if f != "id"]
                    if fields:
                        became = f", when it became {version.successor}"
                        found = self._report(ctx, history, kind, closing, heir, fields, became)
                        yield found, version.commit.landed_sha
                continue
            if closing and previous and version.commit.landed_sha != closing.commit.landed_sha:
                readable = version.data is not None
                fields = self._edits(kind, previous, version) if readable else ["(unreadable)"]
                if fields:
                    found = self._report(ctx, history, kind, closing, version, fields)
                    yield found, version.commit.landed_sha
            if version.data is not None:
                closed = version.data.get("status") == FINAL[kind]
                closing, previous = (closing or version) if closed else None, version

    @staticmethod
    def _edits(kind: str, before: Version, after: Version) -> list[str]:
        old, new = before.data or {}, after.data or {}
        changes = diff_fields(old, new)
        closed = kind == "incident" and old.get("status") == new.get("status") == FINAL[kind]
        if closed and _reopen_added(old, new):
            return []  # reopened and closed again in one commit (a squash merge), recorded
        if kind == "incident" and _reopen(old, new):
            # a reopen, recorded with its reason: the status, the new reopened entries,
            # what belonged to the states it leaves, cleared, and entries added at the end
            # of the timeline and the notifications, dated at or after the closing, are the
            # reopen itself; anything else the same commit changes (an entry dated before
            # the closing: backfilling) is an edit after closure
            added = _added_since_closing(old, new)
            changes = [
                c
                for c in changes
                if not (_part_of_reopen(c.field, c.new) or _added_entry(c.field, added))
            ]
        fields = [c.field for c in changes]
        if kind in ("pir", "problem"):
            fields = [f for f in fields if not _progress(f)]
        if kind == "problem" and _appended(old.get("incidents"), new.get("incidents")):
            fields = [f for f in fields if f != "incidents"]  # a recurrence recorded
        if kind == "incident":
            late_notices = _late_resolution_notices(old, new)
            fields = [f for f in fields if f.split(".")[:2] not in late_notices]
            filed = appended_submissions(old, new)
            fields = [f for f in fields if tuple(f.split(".")[:4]) not in filed]
        if body(before) is not None and body(after) is not None and body(before) != body(after):
            fields.append("body")
        return fields

    def _report(
        self,
        ctx: HistoryJudging,
        history: RecordHistory,
        kind: str,
        closing: Version,
        version: Version,
        fields: list[str],
        renamed: str = "",
    ) -> Finding:
        what = "approved" if kind == "pir" else "closed"
        names = ", ".join(fields[:4]) + (f" and {len(fields) - 4} more" if len(fields) > 4 else "")
        fixes = {
            "incident": "revert the edit, or reopen the incident: status back with a "
            "reopened entry giving the reason",
            "change": "revert the edit; record follow-up work in a new change",
            "pir": "revert the edit; after approval only actions' status, verification and "
            "tracker may change (a revision needs re-approval and a waiver with its reason)",
            "problem": "revert the edit; after closure only actions' status, verification "
            "and tracker may change, and incidents that recur are added at the end of "
            "incidents",
        }
        return self.at(
            ctx,
            history,
            f"{names} changed after the record was {what}{renamed} ({version.commit.sha[:7]} by "
            f"{version.commit.author}, landed {ts(version.landed_at)}; {what} by "
            f"{closing.commit.sha[:7]} on {ts(closing.landed_at)})",
            fields[0].split(".")[0] if fields[0] != "(unreadable)" else "status",
            fix=fixes[kind],
        )


def _reopen(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """``new`` reopens ``old``: another status, and ``reopened`` entries added at the end
    of the list, the earlier ones unchanged."""
    return old.get("status") != new.get("status") and _reopen_added(old, new)


def _reopen_added(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """``new`` adds ``reopened`` entries at the end of the list, the earlier ones unchanged."""
    before, after = old.get("reopened") or [], new.get("reopened")
    return (
        isinstance(before, list)
        and isinstance(after, list)
        and len(after) > len(before)
        and _appended(before, after)
    )


#: what reopening an incident may clear: the times and the resolution of the states it leaves
_REOPEN_CLEARS = ("closed_at", "resolved_at", "mitigated_at", "resolution")


def _part_of_reopen(field: str, value: Any) -> bool:
    top = field.split(".")[0]
    return top in ("status", "reopened") or (top in _REOPEN_CLEARS and value is None)


def _added_since_closing(old: Mapping[str, Any], new: Mapping[str, Any]) -> set[tuple[str, int]]:
    """The timeline and notification entries ``new`` adds at the end of its lists (the
    earlier ones unchanged), each dated at or after the moment ``old`` was closed: its
    ``closed_at``, else the earliest reopen entry ``new`` adds. An entry dated before that
    (a notice "sent" long ago) is backfilling, not part of the reopen."""
    try:
        since = parse_timestamp(old.get("closed_at"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        reopened = (new.get("reopened") or [])[len(old.get("reopened") or []) :]
        moments = [_moment(entry) for entry in reopened]
        found = [m for m in moments if m is not None]
        if not found:
            return set()
        since = min(found)
    entries: set[tuple[str, int]] = set()
    for key in ("timeline", "notifications"):
        before, after = old.get(key) or [], new.get(key)
        if not _appended(before, after) or not isinstance(after, list):
            continue
        for index in range(len(before), len(after)):
            moment = _moment(after[index])
            if moment is not None and moment >= since:
                entries.add((key, index))
    return entries


def _moment(entry: Any) -> datetime | None:
    """The ``at`` of a list entry, when it has a valid one."""
    if not isinstance(entry, Mapping):
        return None
    try:
        return parse_timestamp(entry.get("at"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _added_entry(field: str, added: set[tuple[str, int]]) -> bool:
    """``field`` is in one of the entries ``added`` (list, index)."""
    top, _, rest = field.partition(".")
    index = rest.split(".", 1)[0]
    return index.isdigit() and (top, int(index)) in added


def _appended(old: Any, new: Any) -> bool:
    """``new`` is the list ``old`` with items added at its end."""
    return isinstance(old, list) and isinstance(new, list) and new[: len(old)] == old


def _progress(field: str) -> bool:
    parts = field.split(".")
    return len(parts) == 3 and parts[0] == "actions" and parts[2] in PROGRESS


def _late_resolution_notices(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[list[str]]:
    """``[["notifications", "3"], …]`` for resolution notices appended, dated at or after
    ``closed_at``, when the existing notices are unchanged; else nothing."""
    before, after = old.get("notifications") or [], new.get("notifications") or []
    if (
        not isinstance(before, list)
        or not isinstance(after, list)
        or after[: len(before)] != before
    ):
        return []
    try:
        closed = parse_timestamp(new.get("closed_at"))  # type: ignore[arg-type]
        ok = all(
            isinstance(n, Mapping)
            and n.get("kind") == "resolution"
            and parse_timestamp(n.get("at")) >= closed  # type: ignore[arg-type]
            for n in after[len(before) :]
        )
    except ValueError:
        return []
    return [["notifications", str(i)] for i in range(len(before), len(after))] if ok else []


class GitBackdated(HistoryRule):
    """An approval claims a time well before it reached the branch, or a commit's date goes
    back in time.

    What it checks:
      For every change approval and PIR review, ``at`` is no more than
      ``history.backdate_tolerance`` earlier than the landing time of the commit that added
      it (the first-parent commit that brought it onto the branch: for a pull request, the
      merge). And for every record, no commit claims to have landed more than that tolerance
      before an earlier version of the same record: git dates are self-asserted, so such a
      commit is reported, and an approval it added is measured from the earlier landing.
      And no commit touching a record claims an implausible date: before git existed
      (2005-04-07), more than a day after the history is read (``@99999999999999``, year
      2100), a date git cannot read, or a time zone offset no clock has (``+9999``). Such
      a date is never used: the history counts the commit as landing with the nearest
      earlier commit on the branch.

    Why auditors care:
      A backdated approval makes a change look approved before its window when it was not.
      The landing time on the branch is the evidence; the ``at`` field is only a claim.
    """

    id = "GIT-BACKDATED"
    summary = "approval time or commit date earlier than the history shows"
    settings = (BACKDATE_TOLERANCE, HISTORY_SINCE)
    examples = Examples(
        played(
            commit(
                "2026-03-10T14:00:00Z",
                PRIYA,
                File(
                    "change",
                    """\
                    approvals:
                      - {by: priya.shah@example.com, role: cab, decision: approved,
                         at: 2026-03-09T10:00:00Z}    # landed 2026-03-10T14:00:00Z
                    """,
                ),
            )
        ),
        played(
            commit(
                "2026-03-09T10:20:00Z",
                PRIYA,
                File(
                    "change",
                    """\
                    approvals:
                      - {by: priya.shah@example.com, role: cab, decision: approved,
                         at: 2026-03-09T10:00:00Z}    # landed 2026-03-09T10:20:00Z
                    """,
                ),
            )
        ),
    )

    def judge(self, ctx: HistoryJudging, kind: str, history: RecordHistory) -> Iterator[Finding]:
        tolerance = ctx.policy.backdate_tolerance
        floor = not_before(history)
        yield from self._implausible(ctx, history)
        yield from self._before_parent(ctx, history, tolerance)
        yield from self._out_of_order(ctx, history, floor, tolerance)
        if kind in ENTRIES and not history.deleted:
            yield from self._entries(ctx, kind, history, floor, tolerance)

    def _implausible(self, ctx: HistoryJudging, history: RecordHistory) -> Iterator[Finding]:
        seen: set[str] = set()
        for version in history.versions:
            commit = version.commit
            if not commit.date_note or commit.sha in seen:
                continue
            seen.add(commit.sha)
            yield self.at(
                ctx,
                history,
                f"commit {commit.sha[:7]} by {commit.author} claims an implausible "
                f"{commit.date_note}; the history counts it as landed {ts(version.landed_at)}",
                "id",
                fix="find out who set the clock or crafted the commit; git dates are "
                "self-asserted, and the history counts from the commit before it",
            )

    def _before_parent(
        self, ctx: HistoryJudging, history: RecordHistory, tolerance: timedelta
    ) -> Iterator[Finding]:
        """A commit on the branch's first-parent line dated before the commit before it
        landed: it cannot have landed earlier, so the history counts it as landed then
        (:func:`opsledger.history.dates.build_commits`); its date is reported."""
        seen: set[str] = set()
        for version in history.versions:
            commit = version.commit
            if commit.sha != commit.landed_sha or commit.sha in seen:
                continue
            if commit.landed_at - commit.committed_at > tolerance:
                seen.add(commit.sha)
                yield self.at(
                    ctx,
                    history,
                    f"commit {commit.sha[:7]} by {commit.author} claims "
                    f"{ts(commit.committed_at)}, {dur(commit.landed_at - commit.committed_at)} "
                    f"before the commit before it on the branch landed ({ts(commit.landed_at)}); "
                    "commit dates out of order",
                    "id",
                    fix="find out who set the clock back or crafted the commit; a commit lands "
                    "no earlier than its parent, and the history counts it from there",
                )

    def _out_of_order(
        self,
        ctx: HistoryJudging,
        history: RecordHistory,
        floor: dict[int, datetime],
        tolerance: timedelta,
    ) -> Iterator[Finding]:
        seen: set[str] = set()
        for previous, version in zip(history.versions, history.versions[1:], strict=False):
            earlier = floor[id(previous)]
            if earlier - version.landed_at > tolerance and version.commit.landed_sha not in seen:
                seen.add(version.commit.landed_sha)
                yield self.at(
                    ctx,
                    history,
                    f"{landed(version)}: {dur(earlier - version.landed_at)} before an earlier "
                    f"version of the record landed ({ts(earlier)}); commit dates out of order",
                    "id",
                    fix="find out who set the clock back; git dates are self-asserted, and the "
                    "history counts from the earlier landing",
                )

    def _entries(
        self,
        ctx: HistoryJudging,
        kind: str,
        history: RecordHistory,
        floor: dict[int, datetime],
        tolerance: timedelta,
    ) -> Iterator[Finding]:
        field, label = ENTRIES[kind]
        added = introductions(history, field)
        entries = current(history).get(field)
        for index, entry in enumerate(entries if isinstance(entries, list) else []):
            if not isinstance(entry, Mapping) or entry_key(entry) not in added:
                continue
            try:
                claimed = parse_timestamp(entry.get("at"))  # type: ignore[arg-type]
            except ValueError:
                continue  # SCHEMA reports it
            version = added[entry_key(entry)][0]
            moment = floor[id(version)]
            if moment - claimed <= tolerance:
                continue
            order = (
                ""
                if moment == version.landed_at
                else f" (its own date says {ts(version.landed_at)})"
            )
            yield self.at(
                ctx,
                history,
                f"{label} by {entry.get('by')} claims {ts(claimed)} but {landed(version)}"
                f"{order}: {dur(moment - claimed)} later, over the {dur(tolerance)} tolerance",
                field,
                index,
                "at",
                fix=f"record the {label} when it is given (opsledger approve --commit); "
                "correct 'at' to the real time",
            )


class GitDeleted(HistoryRule):
    """A record that once existed on the branch was deleted.

    What it checks:
      Every record whose last version in the history is a deletion and whose ID no longer
      has a file. Records are followed by ID, not by git's rename detection: a move to
      another folder under the same ID (a year subfolder, say) is not a deletion, but a file
      renamed to another ID, moved into another kind's folder under another ID, or whose
      ``id`` was edited, deletes the old ID (the message names the record it became; an
      edit in the same commit is also an edit after closure, GIT-AFTER-CLOSE). IDs are
      compared case-insensitively; a file still named for the ID whose ``id`` now says
      another does not keep it. The finding points at the path the record had, line 1
      (there is no file any more).

    Why auditors care:
      Records are evidence: an incident deleted instead of closed (as a duplicate, or
      because it was embarrassing) disappears from every KPI. Git still holds it.
    """

    id = "GIT-DELETED"
    summary = "record deleted from the branch"
    settings = (HISTORY_SINCE,)
    settings_note = (
        "A record imported before adoption is judged only when its deletion landed on or "
        "after the adoption date; an import never deletes records."
    )
    examples = Examples(
        played(
            commit("2026-03-04T09:40:00Z", LENA, File("incident", id="INC-2026-0031")),
            commit(
                "2026-03-05T10:00:00Z", LENA, File("incident", id="INC-2026-0031", deleted=True)
            ),
        ),
        played(
            commit("2026-03-04T09:40:00Z", LENA, File("incident", id="INC-2026-0031")),
            commit(
                "2026-03-05T10:00:00Z",
                LENA,
                File(
                    "incident",
                    """\
                    status: closed
                    resolution: Duplicate of INC-2026-0042; the same alert fired twice.
                    """,
                    id="INC-2026-0031",
                ),
            ),
        ),
    )

    def histories(self, ctx: Context) -> Iterator[tuple[str, RecordHistory]]:
        """Those of :meth:`HistoryRule.histories`, and imported records deleted after
        adoption (their pre-adoption commit times do not matter to a deletion)."""
        since = ctx.history.since if ctx.history is not None else None
        for kind, history, imported in ctx.record_histories:
            if kind not in self.kinds:
                continue
            after = since is None or history.last.landed_at.date() >= since
            if not imported or (history.deleted and after):
                yield kind, history

    def check(self, ctx: Context) -> Iterator[Finding]:
        ledger = ctx.ledger
        # a loaded file says its ID in its ``id``; only files not loaded go by their name
        loaded = {r.path for r in ledger.records()}
        own = HistoryJudging(ctx)  # what at() reads to place a finding
        for _, history in self.histories(ctx):
            rid = history.record_id
            if not history.deleted or ledger.get(rid) is not None:
                continue
            named = ledger.known.get(rid.casefold(), [])
            if any(stem_id(p) == rid and p not in loaded for p in named):
                continue
            gone = history.last
            restore = f"git checkout {gone.commit.sha[:7]}^ -- {gone.path}"
            if gone.successor is None:
                message = f"{history.record_id} was deleted by {landed(gone)}"
                fix = (
                    f"restore it ({restore}) and close it with a reason (e.g. duplicate of "
                    "another record) instead of deleting it"
                )
            else:
                message = (
                    f"{history.record_id} was deleted by {landed(gone)}: its content became "
                    f"{gone.successor} (a record keeps its ID for life)"
                )
                fix = (
                    f"give the record its ID back: {restore}; remove {gone.successor} unless "
                    "it is a genuinely new record"
                )
            yield self.at(own, history, message, fix=fix)


class GitLateRecord(HistoryRule):
    """An incident was first committed long after it was detected.

    What it checks:
      The number of business days (policy calendar) from ``detected_at`` (as the record
      stated it when first committed, or as it states it now when that is earlier) to the
      landing of the record's first commit is at most ``history.late_record_business_days``
      (moving the detection afterwards, later or earlier, cannot hide a late record).

    Why auditors care:
      An incident written up days later is reconstructed from memory: its timestamps and
      notifications are less trustworthy, and it missed the response it should have driven.
    """

    id = "GIT-LATE-RECORD"
    severity = "warning"
    kinds = ("incident",)
    summary = "incident first committed long after detection"
    settings = (LATE_RECORD_DAYS, *CALENDAR, HISTORY_SINCE)
    examples = Examples(
        played(
            commit(
                "2026-03-06T10:00:00Z",
                LENA,
                File("incident", "detected_at: 2026-03-02T09:00:00Z   # a Monday"),
            )
        ),
        played(
            commit(
                "2026-03-02T09:40:00Z", LENA, File("incident", "detected_at: 2026-03-02T09:00:00Z")
            )
        ),
    )

    def judge(self, ctx: HistoryJudging, _kind: str, history: RecordHistory) -> Iterator[Finding]:
        allowed = ctx.policy.late_record_business_days
        found = ctx.documentation(history.record_id)
        if found is not None and found.business_days > allowed:
            yield self.at(
                ctx,
                history,
                f"first committed {found.business_days} business days after detection "
                f"({ts(found.detected)}): {landed(found.first)}; policy allows {allowed}",
                "detected_at",
                fix="commit the incident record when the incident starts and update it as it goes",
            )


class GitDowngrade(HistoryRule):
    """An incident's priority was lowered in a way that removed a PIR or notification duty.

    What it checks:
      Every change of ``priority`` in the history to a lower priority (later in the policy's
      ``priorities`` list) whose new priority drops ``pir_required`` or
      ``notification_required`` that the old one had, or takes the incident out of a
      regulatory regime's scope (``regulatory.regimes`` ``applies_to``: its notifications
      to an authority), unless the incident's current priority has that duty again. And
      every later version that turns a ``reportable`` regulatory decision into
      ``not-reportable`` (or drops the regime's entry), or removes a submission already
      recorded — a report sent to an authority cannot be unsent — unless the current
      version has them again.

    Why auditors care:
      Lowering a P2 to P3 after detection makes the PIR and stakeholder notifications
      disappear from the obligations and the KPIs; a real re-triage should be rare and
      explained, a convenient one is a control failure.
    """

    id = "GIT-DOWNGRADE"
    kinds = ("incident",)
    summary = "incident priority lowered, removing a PIR or notification duty"
    settings = (PIR_REQUIRED, NOTIFICATION_REQUIRED, REGIMES, HISTORY_SINCE)
    examples = Examples(
        played(
            commit("2026-03-04T09:30:00Z", LENA, File("incident", "priority: P2")),
            commit("2026-03-04T10:30:00Z", LENA, File("incident", "priority: P3")),
        ),
        played(
            commit("2026-03-04T09:30:00Z", LENA, File("incident", "priority: P3")),
            commit(
                "2026-03-04T10:30:00Z", LENA, File("incident", "priority: P4   # no duty removed")
            ),
        ),
    )

    def judge(self, ctx: HistoryJudging, _kind: str, history: RecordHistory) -> Iterator[Finding]:
        priorities = ctx.policy.priorities
        rank = {name: i for i, name in enumerate(priorities)}

        def base_duties(name: object) -> set[str]:
            p = priorities.get(name) if isinstance(name, str) else None
            if p is None:
                return set()
            return {
                d
                for d, on in (("PIR", p.pir_required), ("notification", p.notification_required))
                if on
            }

        regimes = ctx.policy.regulatory

        def text(data: Mapping[str, Any], name: str) -> str | None:
            value = data.get(name)
            return value if isinstance(value, str) else None

        if history.deleted:
            return
        latest = current(history)

        def duties(name: object, data: Mapping[str, Any] = latest) -> set[str]:
            found = base_duties(name)
            scope, category = text(data, "scope"), text(data, "category")
            for regime in regimes:
                if isinstance(name, str) and regime.in_scope(name, scope, category):
                    found.add(f"{regime.name} notification")
            return found

        now = duties(latest.get("priority"))
        yield from self._reports_withdrawn(ctx, history, latest)
        for change in transitions(history, "priority"):
            old, new = change.old, change.new
            if not (isinstance(old, str) and isinstance(new, str)):
                continue
            lost = duties(old) - duties(new) - now
            if rank.get(new, -1) <= rank.get(old, len(rank)) or not lost:
                continue
            yield self.at(
                ctx,
                history,
                f"priority lowered from {old} to {new} by {landed(change.version)}, "
                f"removing the {' and '.join(sorted(lost))} requirement",
                "priority",
                fix=f"if it was a {old} incident, restore the priority and meet its duties; "
                "a genuine re-triage needs a waiver with the commander's reason",
            )

    def _reports_withdrawn(
        self, ctx: HistoryJudging, history: RecordHistory, latest: Mapping[str, Any]
    ) -> Iterator[Finding]:
        """A reportable decision turned not-reportable (or dropped), or a submission
        removed, by a later commit; not when the current version holds them again."""
        now = _filings(latest)
        previous: dict[str, tuple[str | None, set[tuple[object, ...]]]] | None = None
        for version in history.readable():
            seen = _filings(version.data or {})
            for regime, (decision, sent) in (previous or {}).items():
                after, kept = seen.get(regime, (None, set()))
                still, held = now.get(regime, (None, set()))
                gone = sent - kept - held
                flipped = decision == "reportable" and after != "reportable"
                if (flipped and still != "reportable") or gone:
                    what = (
                        f"the {regime} decision changed from reportable to {after or 'nothing'}"
                        if flipped and still != "reportable"
                        else f"{len(gone)} {regime} submission(s) removed"
                    )
                    yield self.at(
                        ctx,
                        history,
                        f"{what} by {landed(version)}: a report owed or sent to an authority "
                        "does not disappear from the record",
                        "regulatory",
                        fix="restore the decision and the submissions; a genuine "
                        "reassessment is a new decision with its reason, kept beside them",
                    )
            previous = seen


def _filings(data: Mapping[str, Any]) -> dict[str, tuple[str | None, set[tuple[object, ...]]]]:
    """regime -> (decision, the submissions as (stage, at, reference)) of one version."""
    found: dict[str, tuple[str | None, set[tuple[object, ...]]]] = {}
    entries = data.get("regulatory")
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or not isinstance(entry.get("regime"), str):
            continue
        subs = entry.get("submissions")
        sent: set[tuple[object, ...]] = {
            (sub.get("stage"), sub.get("at"), sub.get("reference"))
            for sub in (subs if isinstance(subs, list) else [])
            if isinstance(sub, dict)
        }
        decision = entry.get("decision")
        found.setdefault(entry["regime"], (decision if isinstance(decision, str) else None, sent))
    return found


class GitRubberStamp(HistoryRule):
    """A runbook's reviews only bumped ``last_reviewed``, several times in a row.

    What it checks:
      The latest versions of a runbook: when at least ``history.rubber_stamp_repeats``
      consecutive versions changed ``last_reviewed`` and nothing else (front matter and
      Markdown body), up to now, the runbook is being rubber-stamped. A version that
      changes anything else ends the run; one that changes nothing (a rename) is ignored.
      The body is compared only when the history index records it; without it a review
      cannot be told from a stamp, and the rule reports nothing.

    Why auditors care:
      ``last_reviewed`` is what RB-STALE trusts. Bumping the date without reading the
      runbook keeps it "fresh" while its commands and contacts drift out of date.
    """

    id = "GIT-RUBBER-STAMP"
    severity = "warning"
    kinds = ("runbook",)
    summary = "runbook reviews only bump last_reviewed, repeatedly"
    settings = (RUBBER_STAMP_REPEATS, HISTORY_SINCE)
    examples = Examples(
        played(
            commit("2026-01-10T09:00:00Z", LENA, File("runbook", 'last_reviewed: "2026-01-10"')),
            commit("2026-04-12T09:00:00Z", LENA, File("runbook", 'last_reviewed: "2026-04-12"')),
            commit("2026-07-15T09:00:00Z", LENA, File("runbook", 'last_reviewed: "2026-07-15"')),
        ),
        played(
            commit("2026-01-10T09:00:00Z", LENA, File("runbook", 'last_reviewed: "2026-01-10"')),
            commit(
                "2026-04-12T09:00:00Z",
                LENA,
                File(
                    "runbook",
                    'last_reviewed: "2026-04-12"',
                    body="""\
                    ## Mitigation
                    Fail over to the replica with `patronictl switchover` if the pool
                    stays above 90% after the pgbouncer restart.
                    """,
                ),
            ),
        ),
        as_of="2026-07-31T12:00:00Z",
    )

    def judge(self, ctx: HistoryJudging, _kind: str, history: RecordHistory) -> Iterator[Finding]:
        repeats = max(1, ctx.policy.rubber_stamp_repeats)
        if history.deleted:
            return
        run: list[Version] = []
        previous: Version | None = None
        for version in history.readable():
            if previous is not None:
                fields = {c.field for c in diff_fields(previous.data or {}, version.data or {})}
                before, after = body(previous), body(version)
                if before is None or after is None or before != after:
                    run = []
                elif fields == {"last_reviewed"}:
                    run.append(version)
                elif fields:
                    run = []
            previous = version
        if len(run) >= repeats:
            yield self.at(
                ctx,
                history,
                f"the last {len(run)} reviews only changed last_reviewed (latest: "
                f"{landed(run[-1])}); policy flags {repeats} in a row",
                "last_reviewed",
                fix="review the runbook for real: check every command, dashboard and "
                "contact, and update what changed",
            )


RULES: tuple[type[Rule], ...] = (
    GitProvenance,
    GitAfterClose,
    GitBackdated,
    GitDeleted,
    GitLateRecord,
    GitDowngrade,
    GitRubberStamp,
)
