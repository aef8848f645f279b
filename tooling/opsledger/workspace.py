"""The application layer: a governance repository opened once for a run.

Every command and the site plugin obtain what they show from a :class:`Workspace`: the
policy, the Ledger, "now", the history index (or a typed :class:`HistoryUnavailable` with
its reason), the obligations, the audit findings and the KPI report. Each is computed at
most once per run and only when asked for, so a command pays for what it uses, and two
views of the same run (the site's findings page and its KPI tiles, a report's findings and
its KPIs) cannot disagree.

History is decided once, by :func:`opsledger.gitio.history_problem`: where it is unusable
(no git, a shallow clone, replace refs or grafts) asking for it raises
:class:`~opsledger.errors.HistoryUnusable` (exit status 4, with what to do), unless the run
was opened with ``use_history=False`` (``--no-history``): then it is
:class:`HistoryUnavailable` and every history-derived rule, figure and page says so.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from opsledger.errors import HistoryUnusable
from opsledger.findings import Finding
from opsledger.model.layout import KINDS, Entry
from opsledger.model.ledger import Ledger, Reread, load_ledger
from opsledger.model.policy import Policy, load_policy
from opsledger.schemas import SchemaSet
from opsledger.timeutil import as_of_moment

if TYPE_CHECKING:  # imported where first used: ``validate`` needs none of them
    from opsledger.history.model import HistoryIndex
    from opsledger.kpis import KpiOptions, KpiReport
    from opsledger.obligations import Obligations
    from opsledger.rules.recall import Recall

Progress = Callable[[int, int], None]
#: one phase of a long run, by its label: a context manager giving the phase's progress
#: callback (a bar on a terminal: ``cli.common.progress``), or None (quiet)
Stage = Callable[[str], AbstractContextManager[Progress | None]]


def quiet(label: str) -> AbstractContextManager[Progress | None]:
    """The :data:`Stage` that shows nothing."""
    return nullcontext(None)


NOT_USED = "not used (--no-history)"
#: KPIs computed from the audit's findings
FROM_FINDINGS = frozenset(
    {"communication_completeness", "change_record_quality", "audit_pass_rate"}
)


@dataclass(frozen=True)
class HistoryUnavailable:
    """No history for this run, and why: ``reason`` is what git showed (shallow clone,
    replace refs, grafts, not a git repository), or that ``--no-history`` was given on a
    usable history."""

    reason: str

    @property
    def note(self) -> str:
        """The words every history-derived rule, figure and page shows."""
        return f"history unavailable: {self.reason}"

    def __str__(self) -> str:
        return self.note


@contextmanager
def _loading() -> Iterator[None]:
    """Loading the records or the history builds millions of objects that live for the
    whole run and form no reference cycles (dropping a workspace frees them by reference
    counting alone). The cyclic collector, left on, walks that growing heap again and again
    (measured: a third of a warm full audit on 10k records). It is paused while they load,
    and what is alive then is moved out of its sight (:func:`gc.freeze`); collection of what
    the rest of the run allocates is unchanged. The youngest objects are collected first:
    garbage made since the last collection would be frozen with the rest and never
    collected (a served site's rebuild runs with the collector paused)."""
    enabled = gc.isenabled()
    gc.collect(0)
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


class Workspace:
    """One repository, opened once. Nothing is read until it is asked for."""

    def __init__(
        self,
        root: Path,
        *,
        as_of: str | datetime | None = None,
        use_history: bool = True,
        subset: Sequence[Path] | None = None,
        history_paths: Sequence[str] | None = None,
        history_records: Collection[str] | None = None,
        judged: Collection[str] | None = None,
        walked: Sequence[Entry] | None = None,
        progress: Progress | None = None,
        history_cache: bool = True,
        gate: bool = False,
    ) -> None:
        self.root = root
        #: False for a throw-away checkout (a sample verified at its commit): its history
        #: is read afresh, and no cache file is left for a folder that is gone
        self.history_cache = history_cache
        #: a pull request's gate (even one judging every record): main's caches are read
        #: and added to, never replaced (its history index is not cached at the pull
        #: request's head, its parses under the pull request's limits are not compacted)
        self.gate = gate
        self._as_of = as_of
        self.use_history = use_history
        self._subset = subset
        self._history_paths = history_paths
        self._history_records = history_records
        #: the record IDs and paths whose findings the run reports (the PR gate's): the
        #: other records loaded are read for them, neither schema-checked nor judged
        self._judged = judged
        self._walked = walked  # the run's walk of the record folders, when it has one
        self.progress = progress
        #: an index read earlier in this process from the same commit and history
        #: settings (``site serve``: :mod:`opsledger.site.carry`), used instead of reading
        self.carried: HistoryIndex | None = None
        #: what the last full load in this process read (``site serve``), used where a
        #: file is unchanged
        self.reread: Reread | None = None
        #: what the last audit in this process judged (``site serve``), reused where
        #: unchanged (:mod:`opsledger.rules.recall`)
        self.recall: Recall | None = None
        #: the last run's obligations in this process (``site serve``): a record's verdicts
        #: decided from the same objects, under the same policy, "now" and history, are
        #: reused (:class:`~opsledger.obligations.Obligations`)
        self.last_obligations: Obligations | None = None
        self._findings: dict[tuple[object, ...], list[Finding]] = {}
        self._obligations: dict[bool, Obligations] = {}

    # -- records ------------------------------------------------------------------------
    @cached_property
    def ledger(self) -> Ledger:
        """Every record (or the run's subset: the PR gate's scope, validate's paths)."""
        subset = list(self._subset) if self._subset is not None else None
        with _loading():
            return load_ledger(
                self.root,
                subset,
                progress=self.progress,
                judged=self._judged,
                walked=self._walked,
                append_only=self.gate,
                reread=self.reread,
            )

    @cached_property
    def policy(self) -> Policy:
        """The policy; read alone (without any record) unless the ledger is loaded. Rule
        settings and waivers that would disable the gate are refused here (exit 2), before
        any history is read."""
        from opsledger.rulesettings import check_kpi_targets, check_rule_settings

        if "ledger" in self.__dict__:
            policy = self.ledger.policy
        else:
            policy = load_policy(self.root, SchemaSet.of(self.root / "schemas"))
        check_rule_settings(policy)
        check_kpi_targets(policy)
        return policy

    @cached_property
    def as_of(self) -> datetime:
        """ "Now" for the run: ``--as-of`` (a date is the end of that day in the policy's
        timezone), else the current time."""
        if isinstance(self._as_of, datetime):
            return self._as_of
        return as_of_moment(self._as_of, self.policy.timezone)

    @cached_property
    def commit(self) -> str | None:
        from opsledger import gitio

        return gitio.describe_head(self.root)

    @cached_property
    def blobs(self) -> dict[str, str]:
        """Repository path -> blob id of every record file at :attr:`commit` (empty
        without a commit): what a sample's population and the site's populations list."""
        if self.commit is None:
            return {}
        folders = tuple(dict.fromkeys(k.folder for k in KINDS))
        from opsledger import gitio

        return gitio.tree_blobs(self.root, self.commit, folders)

    # -- history ------------------------------------------------------------------------
    @cached_property
    def history_state(self) -> HistoryUnavailable | None:
        """The run's one decision on history, without reading it: None when history is
        usable and used; :class:`HistoryUnavailable` under ``--no-history``.

        Raises :class:`~opsledger.errors.HistoryUnusable` (exit 4) where history cannot
        be trusted and ``--no-history`` was not given."""
        self.as_of  # noqa: B018 (a bad --as-of or policy is a usage error, before history)
        from opsledger import gitio

        problem = gitio.history_problem(self.root)
        if not self.use_history:
            return HistoryUnavailable(f"{problem.reason} (--no-history)" if problem else NOT_USED)
        if problem is not None:
            raise HistoryUnusable(problem.reason, problem.help)
        return None

    @cached_property
    def history(self) -> HistoryIndex | HistoryUnavailable:
        """The history index (read once), or :class:`HistoryUnavailable` under
        ``--no-history``; see :attr:`history_state`."""
        state = self.history_state
        if state is not None:
            return state
        if self.carried is not None:
            return self.carried
        from opsledger.history.index import build_history

        with _loading():
            return build_history(
                self.root,
                since=self.policy.history_since,
                limits=self.policy.limits,
                progress=self.progress,
                paths=list(self._history_paths) if self._history_paths is not None else None,
                records=self._history_records,
                use_cache=self.history_cache,
                usable=True,  # history_state found it usable
                keep=not self.gate,
                # the run's record parses, when the records were loaded first
                record_parses=self.ledger.parsed if "ledger" in self.__dict__ else None,
            )

    @property
    def history_index(self) -> HistoryIndex | None:
        """The history index, or None when unavailable (see :attr:`history_note`)."""
        found = self.history
        return None if isinstance(found, HistoryUnavailable) else found

    @property
    def history_note(self) -> str:
        """Why history is unavailable ("" when it is available)."""
        found = self.history
        return found.note if isinstance(found, HistoryUnavailable) else ""

    # -- what is derived from them ------------------------------------------------------
    @property
    def obligations(self) -> Obligations:
        """Every obligation's verdict, decided once for the run, with the history's trusted
        times when the run reads history (:meth:`obligations_with`)."""
        return self.obligations_with(history=True)

    def obligations_with(self, *, history: bool) -> Obligations:
        """The obligations; ``history=False`` for a run that needs no history (a selection
        of rules or KPIs without history ones): then no git is read, and the times only
        git can establish (a PIR's approval, an action's completion) are unverified, which
        no rule acts on."""
        from opsledger.obligations import Obligations

        key = history
        if key not in self._obligations:
            index = self.history_index if history else None
            note = self.history_note if history else "history not read for this selection"
            last = self.last_obligations if history else None
            self._obligations[key] = Obligations(self.ledger, self.as_of, index, note, last)
        return self._obligations[key]

    def obligations_at(self, moment: datetime) -> Obligations:
        """The obligations decided as of another moment (a report's "at the end of the
        week"): the same functions, another "now"."""
        from opsledger.obligations import Obligations

        if moment == self.as_of:
            return self.obligations
        return Obligations(self.ledger, moment, self.history_index, self.history_note)

    def findings(
        self,
        select: Sequence[str] = (),
        ignore: Sequence[str] = (),
        only: Collection[str] | None = None,
    ) -> list[Finding]:
        """The audit's findings (computed once per selection). History is read only when a
        selected rule needs it; unavailable history rules are listed by
        :meth:`unavailable_rules`."""
        from opsledger.audit import AuditOptions, run_audit, selected_rules

        if self._judged is not None:  # loaded to report only those: never more
            only = set(self._judged) if only is None else set(only) & set(self._judged)
        key = (tuple(select), tuple(ignore), None if only is None else frozenset(only))
        if key not in self._findings:
            rules = selected_rules(self.policy, select, ignore)
            needs = any(r.id.startswith("GIT-") for r in rules)
            options = AuditOptions(
                as_of=self.as_of,
                select=tuple(select),
                ignore=tuple(ignore),
                only_records=only,
                history=self.history_index if needs else None,
                obligations=self.obligations_with(history=needs),
                history_reason=self.history_note if needs else "",
                recall=self.recall,
            )
            self._findings[key] = run_audit(self.ledger, options)
        return self._findings[key]

    def unavailable_rules(
        self, select: Sequence[str] = (), ignore: Sequence[str] = ()
    ) -> list[tuple[str, str]]:
        """(rule, reason) for each selected rule that could not run (history rules without
        history, under ``--no-history``)."""
        from opsledger.audit import selected_rules

        rules = selected_rules(self.policy, select, ignore)
        if not any(r.id.startswith("GIT-") for r in rules) or self.history_index is not None:
            return []
        return [(r.id, self.history_note) for r in rules if r.id.startswith("GIT-")]

    def kpis(self, options: KpiOptions) -> KpiReport:
        """The KPI report; history is read only when a chosen KPI needs it."""
        from opsledger.kpis import KPIS, KPIS_BY_ID, compute_kpis

        wanted = [KPIS_BY_ID[k] for k in options.only if k in KPIS_BY_ID] or list(KPIS)
        audited = {k.id for k in wanted} & FROM_FINDINGS
        needs = any(k.history or k.id == "reopen_rate" for k in wanted) or "audit_pass_rate" in (
            audited
        )
        history = self.history_index if needs else None
        if audited and options.findings is None:
            # the audit's own findings (GIT-* included when history is read): one truth
            options = replace(options, findings=self.findings())
        return compute_kpis(
            self.ledger,
            history,
            options,
            commit=self.commit,
            obligations=self.obligations_with(history=needs),
            history_reason=self.history_note if needs else "",
            recall=self.recall,
        )
