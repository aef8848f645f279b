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

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from opsledger.findings import Finding
from opsledger.model.records import Record
from opsledger.rules.base import AS_OF, VERDICTS, Context, Judging

if TYPE_CHECKING:
    from opsledger.rules.base import RecordRule

#: the stale bits of a record judged for the first time, or changed
EVERYTHING = -1
#: a rule's result for one record: the bits of what its judge read, and its findings
Judged = tuple[int, tuple[Finding, ...]]


class _Record:
    """One record as an audit judged it."""

    __slots__ = ("as_of", "before", "record", "rules", "seen", "stale")

    def __init__(self, record: Record, as_of: datetime) -> None:
        self.record = record
        self.as_of = as_of
        #: each verdict of the record a judge read (this audit's value), by its bit
        self.seen: dict[int, object] = {}
        #: rule ID -> what it judged in this audit
        self.rules: dict[str, Judged] = {}
        #: what the last audit judged, and which of its reads differ now
        self.before: dict[str, Judged] = {}
        self.stale = EVERYTHING


class Recall:
    """What the last audit judged, record by record, and what this one judges."""

    def __init__(self) -> None:
        self._policy: Any = None
        self._last: dict[str, dict[str, _Record]] = {}
        self._now: dict[str, dict[str, _Record]] = {}

    def begin(self, ctx: Context) -> None:
        """Before an audit: a changed policy (or none before) leaves nothing to reuse."""
        policy = ctx.ledger.policy.doc.data
        if self._policy is None or policy != self._policy:
            self._last = {}
        self._policy = policy
        self._now = {}

    def end(self) -> None:
        """After a whole audit: what it judged is what the next one compares with."""
        self._last, self._now = self._now, {}

    def judged(
        self, rule: RecordRule[Any], table: str, ctx: Context, record: Record
    ) -> Iterable[Finding]:
        """``rule``'s findings on ``record`` (of the Ledger's ``table``): the last audit's,
        or judged now."""
        judged = self._now.setdefault(table, {})
        entry = judged.get(record.id)
        if entry is None or entry.record is not record:
            entry = judged[record.id] = self._compare(table, ctx, record)
        before = entry.before.get(rule.id)
        if before is not None and not before[0] & entry.stale:
            entry.rules[rule.id] = before
            return before[1]
        judging = Judging(ctx, record)
        found = tuple(rule.judge(judging, record))
        entry.rules[rule.id] = (judging.reads, found)
        entry.seen.update(judging.seen)
        return found

    def _compare(self, table: str, ctx: Context, record: Record) -> _Record:
        """The record as this audit sees it, and what of the last audit's reads differ."""
        entry = _Record(record, ctx.as_of)
        last = self._last.get(table, {}).get(record.id)
        if last is None or last.record is not record:
            return entry
        stale = 0 if last.as_of == ctx.as_of else AS_OF
        for bit, value in last.seen.items():
            entry.seen[bit] = now = VERDICTS[bit](ctx.obligations, record)
            if now != value:
                stale |= bit
        entry.before, entry.stale = last.rules, stale
        return entry
