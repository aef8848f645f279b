"""The history of every record, as plain data: commits, versions, and what changed.

Built by :mod:`opsledger.history.index` from one pass over the branch's git history; used
by the GIT-* rules, the history KPIs, ``opsledger history`` and the site. Nothing here
touches git, so rules and KPIs are tested on hand-made histories too.

Times: a version's ``landed_at`` is the committer time of the first-parent commit through
which it reached the branch (the moment it landed: for a merged pull request, the merge);
``commit`` is the original commit that made the change (its author is who wrote it).
Identities are the raw author and committer recorded in commits (no ``.mailmap``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypeVar

from opsledger.neutral import visible


def identity_key(email: str) -> str:
    """How identities are compared (case and surrounding space ignored); reports show them
    as they are (made visible, see :class:`Identity`)."""
    return email.strip().casefold()


@dataclass(frozen=True)
class Identity:
    """A git author or committer. Whoever makes a commit writes these, in any bytes: each
    is held with its control, format and separator characters and the surrogates of bytes
    that are not UTF-8 as visible escapes (:func:`opsledger.neutral.visible`), so every
    message, JSON document, page and report that names a person shows the same inert text
    (a JSON document cannot carry a lone surrogate as valid Unicode). A printable name or
    address is kept as it is, and compared as before (:attr:`key`)."""

    name: str
    email: str

    def __post_init__(self) -> None:
        for part in ("name", "email"):
            value = getattr(self, part)
            shown = visible(value)
            if shown is not value:
                object.__setattr__(self, part, shown)

    @property
    def key(self) -> str:
        return identity_key(self.email)

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"


@dataclass(frozen=True)
class Commit:
    sha: str
    author: Identity
    authored_at: datetime  # aware UTC, as the author claimed
    committer: Identity
    committed_at: datetime  # aware UTC
    landed_sha: str  # the first-parent commit that brought it onto the branch
    landed_at: datetime  # that commit's committer time (aware UTC)
    signed: bool = False  # git reports a good signature
    subject: str = ""
    #: the implausible dates the commit claimed (``committer date @99999999999999``), which
    #: the times above replace (see :mod:`opsledger.history.dates`); empty when none
    date_note: str = ""


@dataclass(frozen=True)
class Version:
    """One state of a record file, as introduced by one commit."""

    commit: Commit
    path: str
    blob: str | None  # None when this version deletes the file
    data: Mapping[str, Any] | None  # parsed fields; None when deleted or unreadable
    error: str | None = None  # why ``data`` is None for an existing blob (invalid YAML…)
    body: str | None = None  # a Markdown record's body (PIRs, runbooks)
    #: for a deletion: the record that took this record's content in the same commit under
    #: another ID (a rename to another ID, or an edited ``id``), when one did
    successor: str | None = None

    @property
    def deleted(self) -> bool:
        return self.blob is None

    @property
    def landed_at(self) -> datetime:
        return self.commit.landed_at


#: what a version's fields hold, for :meth:`RecordHistory.held_from`
K = TypeVar("K", bound=Hashable)
T = TypeVar("T")


@dataclass(frozen=True)
class FieldChange:
    field: str  # dotted path, e.g. "impact" or "actions.A1.status"
    old: Any
    new: Any


@dataclass
class RecordHistory:
    """Every version of one record (by ID, compared case-insensitively), oldest first in
    landing order. A record whose file is renamed to another ID, or whose ``id`` changes,
    ends with a deletion here and continues as a new record under its new ID."""

    record_id: str
    versions: list[Version] = field(default_factory=list)

    @property
    def first(self) -> Version:
        return self.versions[0]

    @property
    def last(self) -> Version:
        return self.versions[-1]

    @property
    def paths(self) -> list[str]:
        return list(dict.fromkeys(v.path for v in self.versions))

    @property
    def deleted(self) -> bool:
        return bool(self.versions) and self.last.deleted

    def readable(self) -> Iterator[Version]:
        """Versions whose fields could be read (skips deletions and invalid versions)."""
        return (v for v in self.versions if v.data is not None)

    def first_where(
        self,
        predicate: Callable[[Mapping[str, Any]], bool],
        *,
        since: bool = False,
        until: datetime | None = None,
    ) -> Version | None:
        """The first readable version for which ``predicate(fields)`` holds, as it landed
        (see :meth:`held_from`); ``since``: of the run that holds now, or at ``until``
        (None when the branch holds it no longer)."""
        held = self.held_from(
            lambda data: (True,) if predicate(data) else (), since=since, until=until
        )
        run = held.get(True)
        return run[-1] if run else None

    def held_from(
        self,
        keys: Callable[[Mapping[str, Any]], Iterable[K]],
        *,
        since: bool = False,
        until: datetime | None = None,
    ) -> dict[K, list[Version]]:
        """For each key a version's fields hold (``keys(fields)``: its approval entries, a
        status, its done actions), the versions that brought it onto the branch: the first
        landing (the commits one merge brought in land together) whose end still holds it,
        and in that landing the first readable version holding it, preceded by the
        unreadable versions just before it (they may have added it). A key that a side
        commit of a merged pull request held, but the merge's own state did not, was never
        on the branch: it counts from the landing that kept it. Within a landing only its
        end counts, so its commits judged one by one (a pull request's gate, a branch
        merged fast-forward) give the same versions. An unreadable version changes nothing
        held; a deletion holds nothing.

        ``since``: only the keys the branch holds now (``until``: at that moment, the
        versions landed after it unseen), each from the landing that began the run still
        holding it (a status set back and set again counts from the second time; a deleted
        record holds nothing, and neither does one whose current version cannot be read)."""
        found: dict[K, list[Version]] = {}
        held: set[K] = set()  # what the last readable version holds (nothing once deleted)
        pending: list[Version] = []
        unread = False  # the last version seen cannot be read
        for landing in self.landings():
            if until is not None and landing[-1].landed_at > until:
                break
            first: dict[K, list[Version]] = {}  # the landing's first version holding each key
            for version in landing:
                unread = version.data is None and not version.deleted
                if version.data is None:
                    if version.deleted:
                        held, pending = set(), []
                    else:
                        pending = [*pending, version]
                else:
                    held = set(keys(version.data))
                    for key in held:
                        first.setdefault(key, [*pending, version])
                    pending = []
            if since:  # a key the landing's end no longer holds starts afresh later
                found = {key: run for key, run in found.items() if key in held}
            for key in held:
                found.setdefault(key, first.get(key) or [landing[-1]])
        return {} if since and unread else found

    def landings(self) -> Iterator[list[Version]]:
        """The versions in groups, one per landing (the commits one first-parent commit
        brought onto the branch), in order."""
        group: list[Version] = []
        for version in self.versions:
            if group and group[-1].commit.landed_sha != version.commit.landed_sha:
                yield group
                group = []
            group.append(version)
        if group:
            yield group

    def changes(self) -> Iterator[tuple[Version, list[FieldChange]]]:
        """Each readable version with the fields it changed from the previous readable one."""
        previous: Mapping[str, Any] = {}
        for version in self.readable():
            data = version.data or {}
            yield version, diff_fields(previous, data)
            previous = data


@dataclass
class HistoryIndex:
    """All record histories of a branch, keyed by record ID."""

    head: str | None
    records: dict[str, RecordHistory] = field(default_factory=dict)
    since: date | None = None  # policy history.since: the adoption date
    #: (what, record ID) -> the history it was worked out from, and the result
    _derived: dict[tuple[str, str], tuple[RecordHistory, Any]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def get(self, record_id: str) -> RecordHistory | None:
        return self.records.get(record_id)

    def derived(self, what: str, history: RecordHistory, make: Callable[[RecordHistory], T]) -> T:
        """``make(history)``, worked out once for this index's ``history`` under the name
        ``what``: ``make`` reads nothing but the history (a served site keeps the index
        while ``HEAD`` is the same, and the KPIs ask it again on every rebuild)."""
        slot = (what, history.record_id)
        held = self._derived.get(slot)
        if held is None or held[0] is not history:
            held = self._derived[slot] = (history, make(history))
        result: T = held[1]
        return result

    def imported(self, record_id: str) -> bool:
        """Imported from an earlier system, so skipped by history checks: first committed
        before adoption (``history.since``), or first committed carrying an ``external_id``
        (a later import of a newer export)."""
        history = self.records.get(record_id)
        if history is None or not history.versions:
            return False
        first = next(history.readable(), None)
        if first is not None and (first.data or {}).get("external_id"):
            return True
        return self.since is not None and history.first.landed_at.date() < self.since


def _flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """Fields by dotted path; list items with an ``id`` are keyed by it (``actions.A1``),
    approvals and reviews by their position."""
    out: dict[str, Any] = {}
    if isinstance(data, Mapping):
        for key, value in data.items():
            out.update(_flatten(value, f"{prefix}{key}."))
    elif isinstance(data, list) and any(isinstance(item, Mapping) for item in data):
        for index, item in enumerate(data):
            name = item.get("id") if isinstance(item, Mapping) else None
            out.update(_flatten(item, f"{prefix}{name if isinstance(name, str) else index}."))
    else:
        out[prefix.rstrip(".")] = data
    return out


def leaves(data: Any) -> dict[str, Any]:
    """Leaf fields by dotted path, as :func:`diff_fields` compares them."""
    return _flatten(data)


def diff_fields(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[FieldChange]:
    """Leaf fields that differ between two versions, sorted by field: each mapping key and
    each item of a list of mappings (keyed by its ``id``, else its position) is a field of
    its own, any other value is compared whole. ``opsledger history``, the site's audit
    trail and the history rules all read changes from here.

    Only the parts that differ are walked (most commits touch one or two fields); where the
    shape itself changed (a value became a mapping, a list lost its keys) both sides are
    flattened as :func:`_flatten` names them."""
    found: list[FieldChange] = []
    _walk("", old, new, found)
    return sorted(found, key=lambda change: change.field)


def _keyed(items: list[Any]) -> dict[str, Any] | None:
    """A list of mappings by the names :func:`_flatten` gives its items; None when it is
    not a list of mappings or two items would get the same name."""
    if not any(isinstance(item, Mapping) for item in items):
        return None
    keyed: dict[str, Any] = {}
    for index, item in enumerate(items):
        name = item.get("id") if isinstance(item, Mapping) else None
        keyed[name if isinstance(name, str) else str(index)] = item
    return keyed if len(keyed) == len(items) else None


def _leaf(value: Any) -> bool:
    """A value compared whole: not a mapping, not a list of mappings."""
    if isinstance(value, Mapping):
        return False
    return not (isinstance(value, list) and any(isinstance(i, Mapping) for i in value))


def _walk(prefix: str, old: Any, new: Any, out: list[FieldChange]) -> None:
    if old == new:
        return
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        for key in dict.fromkeys([*old, *new]):
            before, after = old.get(key), new.get(key)
            if before != after:  # most fields of a version are unchanged: no call for them
                _walk(f"{prefix}{key}.", before, after, out)
        return
    if isinstance(old, list) and isinstance(new, list):
        a, b = _keyed(old), _keyed(new)
        if a is not None and b is not None:
            _walk(prefix, a, b, out)
            return
    if _leaf(old) and _leaf(new):  # the common case: one value changed
        out.append(FieldChange(prefix.rstrip("."), old, new))
        return
    before, after = _flatten(old, prefix), _flatten(new, prefix)
    out.extend(
        FieldChange(name, before.get(name), after.get(name))
        for name in dict.fromkeys([*before, *after])
        if before.get(name) != after.get(name)
    )


def value_text(value: Any, limit: int = 80) -> str:
    """A field value as an audit trail shows it: text as itself, anything else as JSON,
    on one line, cut to ``limit`` characters."""
    if value is None:
        return "(none)"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
