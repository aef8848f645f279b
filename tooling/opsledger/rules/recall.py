"""The findings of the last audit in this process, reused where nothing they were made
from changed (``site serve`` audits the whole repository again after each edit).

Only a :class:`~opsledger.rules.base.RecordRule`'s findings are reused: its judge sees one
record, that record's verdicts, the policy and "now", and its :class:`~.base.Judging`
notes which of "now" and the verdicts it read. A record's findings of such a rule are
those of the last audit when the record is the same object (a served site's load gives
an unchanged file's record again: :class:`~opsledger.model.ledger.Reread`), the policy
says the same, and each verdict the judge read (and "now", if it read it) is equal to the
one it read then. Anything else is judged again. Verdicts are compared by value: an
incident whose PIR was approved since, or whose clock ran on, has another verdict.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from opsledger.findings import Finding
from opsledger.history.model import HistoryIndex, RecordHistory
from opsledger.model.policy import fingerprint
from opsledger.model.records import Record
from opsledger.rules.base import AS_OF, VERDICTS, Context, HistoryJudging, Judging

if TYPE_CHECKING:
    from opsledger.rules.base import RecordRule
    from opsledger.rules.history import HistoryRule

#: a rule's result for one record: the bits of what its judge read, and its findings
Judged = tuple[int, tuple[Finding, ...]]


class _Record:
    """One record as an audit saw it: the object, "now", and each of its verdicts a judge
    read (this audit's value), by its bit."""

    __slots__ = ("as_of", "record", "seen")

    def __init__(self, record: Record, as_of: datetime) -> None:
        self.record = record
        self.as_of = as_of
        self.seen: dict[int, object] = {}


class _Rule:
    """One rule's results on one Ledger table in one audit, kept sparse: a record whose
    judge read no verdict nor "now" and found nothing is in neither mapping."""

    __slots__ = ("found", "reads")

    def __init__(self, reads: dict[str, int] | None = None) -> None:
        #: record ID -> the bits of what its judge read, where it read any
        self.reads: dict[str, int] = reads if reads is not None else {}
        #: record ID -> its findings, where there are any
        self.found: dict[str, tuple[Finding, ...]] = {}


class _Table:
    """One Ledger table as this audit sees it, compared with the last audit's once."""

    __slots__ = ("changed", "order", "records", "removed", "stale")

    def __init__(self) -> None:
        #: record ID -> the record as this audit sees it
        self.records: dict[str, _Record] = {}
        #: record ID -> its place in the table (the order findings are made in)
        self.order: dict[str, int] = {}
        #: records every rule judges again: new, or another object (its file changed)
        self.changed: set[str] = set()
        #: record ID -> the bits of the last audit's reads that differ now (none: absent)
        self.stale: dict[str, int] = {}
        #: records of the last audit that are gone
        self.removed: set[str] = set()


class _Traced:
    """One record's history as a history rule judged it."""

    __slots__ = ("as_of", "found", "history", "loads", "reads")

    def __init__(
        self, history: RecordHistory, as_of: datetime, judging: HistoryJudging, found: Judged
    ) -> None:
        self.history, self.as_of, self.found = history, as_of, found
        self.reads, self.loads = judging.reads, judging.loads


class Recall:
    """What the last audit judged, record by record, and what this one judges."""

    def __init__(self) -> None:
        self._policy: str | None = None
        #: table -> its records as the last audit saw them
        self._last: dict[str, dict[str, _Record]] = {}
        self._now: dict[str, _Table] = {}
        #: (record rule ID, table) -> its results, in the last audit and in this one
        self._rules_last: dict[tuple[str, str], _Rule] = {}
        self._rules_now: dict[tuple[str, str], _Rule] = {}
        self._index: HistoryIndex | None = None
        #: the policy object of the last audit (a later use in the same run, the KPI
        #: counting GIT-AFTER-CLOSE's edits, reads its findings; any other judges afresh)
        self._on: object = None
        #: (history rule, record ID) -> its findings, in the last audit and in this one
        self._traced_last: dict[tuple[str, str], _Traced] = {}
        self._traced_now: dict[tuple[str, str], _Traced] = {}
        #: history rule ID -> what it was judged on (Ledger, "now", history index) and all
        #: its findings, in this run
        self._whole: dict[str, tuple[object, datetime, object, tuple[Finding, ...]]] = {}

    def begin(self, ctx: Context) -> None:
        """Before an audit: a changed policy (or none before) leaves nothing to reuse, and
        another history index nothing of the history rules'."""
        policy = fingerprint(ctx.ledger.policy)
        if self._policy is None or policy != self._policy:
            self._last, self._rules_last, self._traced_last = {}, {}, {}
        if ctx.history is None or ctx.history is not self._index:
            self._traced_last = {}
        self._policy, self._index, self._on = policy, ctx.history, ctx.ledger.policy
        self._now, self._rules_now, self._traced_now, self._whole = {}, {}, {}, {}

    def end(self) -> None:
        """After a whole audit: what it judged is what the next one compares with."""
        self._last = {name: table.records for name, table in self._now.items()}
        self._rules_last, self._now, self._rules_now = self._rules_now, {}, {}
        self._traced_last, self._traced_now = self._traced_now, {}

    def traced(
        self, rule: HistoryRule, ctx: Context, kind: str, history: RecordHistory
    ) -> Iterable[Finding]:
        """A history rule's findings on one record's history: the last audit's where the
        history is the same, every record its judge read is the same object and "now", if
        read, is the same; else judged now."""
        if ctx.ledger.policy is not self._on:  # not the run of the last audit
            return tuple(rule.judge(HistoryJudging(ctx), kind, history))
        key = (rule.id, history.record_id)
        last = self._traced_last.get(key) or self._traced_now.get(key)
        ledger = ctx.ledger
        if (
            last is not None
            and last.history is history
            and (not last.reads & AS_OF or last.as_of == ctx.as_of)
            and all(ledger.get(rid) is record for rid, record in last.loads.items())
        ):
            self._traced_now[key] = last
            return last.found[1]
        judging = HistoryJudging(ctx)
        found = tuple(rule.judge(judging, kind, history))
        self._traced_now[key] = _Traced(history, ctx.as_of, judging, (judging.reads, found))
        return found

    def checked(self, rule: HistoryRule, ctx: Context) -> tuple[Finding, ...] | None:
        """All of a history rule's findings, when this run's audit judged it on the same
        Ledger, history index and "now" (a KPI counting what the rule finds asks again)."""
        whole = self._whole.get(rule.id)
        if whole is None or ctx.ledger.policy is not self._on:
            return None
        ledger, as_of, history, found = whole
        if ledger is ctx.ledger and history is ctx.history and as_of == ctx.as_of:
            return found
        return None

    def check_done(self, rule: HistoryRule, ctx: Context, found: Iterable[Finding]) -> None:
        """A history rule judged every record's history (:meth:`checked`)."""
        if ctx.ledger.policy is self._on:
            self._whole[rule.id] = (ctx.ledger, ctx.as_of, ctx.history, tuple(found))

    def judged(
        self, rule: RecordRule[Any], table: str, ctx: Context, records: Iterable[Record]
    ) -> Iterator[Finding]:
        """``rule``'s findings on each of ``records`` (the Ledger's ``table``), in order:
        the last audit's, or judged now. Only the records that may differ are visited: those
        new or changed, those the rule found something on, and those whose reads (a verdict,
        "now") differ now; the rest found nothing then and find nothing now."""
        seen = self._now.get(table)
        if seen is None:
            seen = self._now[table] = self._table(table, ctx, records)
        key = (rule.id, table)
        last = self._rules_last.get(key)
        if last is None:
            now = _Rule()
            visit: Iterable[str] = seen.order
        else:
            removed, stale = seen.removed, seen.stale
            reads = (
                {rid: bits for rid, bits in last.reads.items() if rid not in removed}
                if removed
                else dict(last.reads)
            )
            now = _Rule(reads)
            again = seen.changed | {rid for rid in last.found if rid not in removed}
            if stale:
                again |= {rid for rid, bits in reads.items() if bits & stale.get(rid, 0)}
            visit = sorted(again, key=seen.order.__getitem__)
        for rid in visit:
            entry = seen.records[rid]
            bits = now.reads.pop(rid, 0)
            if last is not None and rid not in seen.changed and not bits & seen.stale.get(rid, 0):
                found = last.found.get(rid, ())
            else:
                judging = Judging(ctx, entry.record)
                found = tuple(rule.judge(judging, entry.record))
                bits = judging.reads
                entry.seen.update(judging.seen)
            if bits:
                now.reads[rid] = bits
            if found:
                now.found[rid] = found
                yield from found
        # what the next audit compares with, once every record was visited (a caller that
        # stops reading early leaves nothing, and the next audit judges the rule afresh)
        self._rules_now[key] = now

    def _table(self, table: str, ctx: Context, records: Iterable[Record]) -> _Table:
        """The table's records as this audit sees them, and what differs from the last
        audit: a record another object, or one whose verdicts read then differ now (each
        compared by value), or "now" moved."""
        last = self._last.get(table, {})
        seen = _Table()
        for place, record in enumerate(records):
            rid = record.id
            entry = seen.records[rid] = _Record(record, ctx.as_of)
            seen.order[rid] = place
            before = last.get(rid)
            if before is None or before.record is not record:
                seen.changed.add(rid)
                continue
            stale = 0 if before.as_of == ctx.as_of else AS_OF
            for bit, value in before.seen.items():
                entry.seen[bit] = now = VERDICTS[bit](ctx.obligations, record)
                if now is not value and now != value:  # a verdict carried is the same object
                    stale |= bit
            if stale:
                seen.stale[rid] = stale
        seen.removed = last.keys() - seen.order.keys()
        return seen
