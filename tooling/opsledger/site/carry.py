"""What a served site carries from one build to the next (``opsledger site serve``).

After a record changes, ``serve`` loads, audits and measures the repository and generates
every page again (:mod:`.refresh`), from what this module carries where that is still
exactly what would be made afresh:

* the history index: it is read from the commits alone, so while ``HEAD`` and the
  policy's history settings are the same it is the same index, its records' versions
  already decoded. Whether history is usable is still decided afresh on every build (a
  clone made shallow meanwhile stops the build with exit status 4, as ever);
* each record's audit trail as the site shows it (made from that index and the policy's
  timezone only), and each rendered Markdown body (made from its text and the limits);
* what loading read, file by file (:class:`~opsledger.model.ledger.Reread`): a record
  file whose bytes are unchanged (compared by digest, under the same schemas and limits)
  is not parsed or checked again, and its record is the same object;
* what was made from one record (:meth:`Carry.made`): its rows in the downloads and the
  sampling populations, and the page of an incident or a change. Each is made again when
  the record object is another (its file changed), when what else it is made from
  differs (a page: the record's verdicts, regulatory clocks, findings, audit trail and
  the records naming it, each compared by value), or when the build's setting differs
  (the policy, the commit, the page paths: :func:`.context.setting`).

* each record's verdicts (:class:`~opsledger.obligations.Obligations`), decided from the
  same record objects (and PIRs reviewing an incident) under the same policy, "now" and
  history index;
* what the audit judged of each record (:class:`~opsledger.rules.recall.Recall`): the
  findings of a rule judging one record at a time, where the record, the verdicts its
  judge read and "now" (if read) are the same.

The rest of the audit and the KPIs are computed afresh on every build, as are the index,
service, PIR, problem and runbook pages. Anything else (a new commit, another timezone or
``history.since``, an hour passed) starts afresh. ``tests/test_site_incremental.py``
holds the promise to a property: after any sequence of edits, at any "now", the carried
build generates exactly the fresh one's pages and files.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from opsledger.loading import Limits
from opsledger.model.ledger import Reread
from opsledger.rules.recall import Recall

if TYPE_CHECKING:
    from opsledger.history.model import HistoryIndex
    from opsledger.obligations import Obligations
    from opsledger.workspace import Workspace


R = TypeVar("R")
T = TypeVar("T")


def _key(ws: Workspace) -> tuple[object, ...]:
    """What the carried history and audit trails are made from, besides the commits: the
    hour counts too, as which commit dates are plausible depends on when the index is read
    (a date up to a day ahead: :mod:`opsledger.history.dates`), so a serve session reads
    the index again at least every hour."""
    policy = ws.policy
    return (ws.commit, policy.history_since, policy.limits, policy.timezone, _hour())


def _hour() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H")


@dataclass
class Carry:
    key: tuple[object, ...] | None = None
    history: HistoryIndex | None = None
    #: record ID -> its audit trail's Markdown lines, made from :attr:`history`
    trails: dict[str, list[str]] = field(default_factory=dict)
    #: (Markdown text, limits) -> the body's HTML
    bodies: dict[tuple[str, Limits], str] = field(default_factory=dict)
    #: what the last load read: an unchanged file is not parsed again, its record is the
    #: same object
    reread: Reread = field(default_factory=Reread)
    #: what the last audit judged: a record's findings are reused where unchanged
    recall: Recall = field(default_factory=Recall)
    #: the last build's obligations: a record's verdicts are reused where decided from
    #: the same objects under the same policy, "now" and history
    obligations: Obligations | None = None
    #: what the last build made from each record, and what this one made so far:
    #: (product, id(record)) -> (record, key, product); see :meth:`made`
    _last: dict[tuple[str, int], tuple[Any, object, Any]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _now: dict[tuple[str, int], tuple[Any, object, Any]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    #: what every product of the last build was made under (:meth:`turn`)
    _setting: object = field(default=None, init=False, repr=False, compare=False)

    def turn(self, setting: object) -> None:
        """A new build starts, under ``setting`` (what every page reads alike: the policy,
        the page paths…): the products of the build before it stay usable when its
        setting was equal; anything older is dropped."""
        last = self._now if setting == self._setting else {}
        self._last, self._now, self._setting = last, {}, setting

    def made(self, name: str, record: R, key: object, make: Callable[[R], T]) -> T:
        """``make(record)``, or what the last build made under the name ``name`` from the
        same record object (:attr:`reread`: its file's bytes unchanged) under an equal
        ``key``. ``make`` must read nothing but the record, ``key`` and the setting."""
        slot = (name, id(record))
        held = self._now.get(slot) or self._last.get(slot)
        if held is None or held[0] is not record or held[1] != key:
            held = (record, key, make(record))
        self._now[slot] = held
        return held[2]

    def per_record(
        self, name: str, records: Iterable[R], key: object, make: Callable[[R], T]
    ) -> list[T]:
        """:meth:`made` for each record, in order."""
        return [self.made(name, record, key, make) for record in records]

    def history_for(self, ws: Workspace) -> HistoryIndex | None:
        """The index read by the last build, when ``ws`` would read the same one."""
        if self.history is None or ws.commit is None or _key(ws) != self.key:
            return None
        return self.history

    def keep(self, ws: Workspace) -> None:
        """Carry what ``ws`` read to the next build (the audit trails start afresh with
        another index)."""
        self.obligations = ws.obligations
        history = ws.history_index
        if history is None or ws.commit is None:
            self.key, self.history, self.trails = None, None, {}
            return
        key = _key(ws)
        if history is not self.history or key != self.key:
            self.key, self.history, self.trails = key, history, {}
