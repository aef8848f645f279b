"""Regulatory reporting regimes (``policy.yaml`` ``regulatory.regimes``) as typed values.

A regime (DORA, NIS2, GDPR…) names the incidents it applies to (priorities, scopes,
categories: every list given must match, an absent or empty list matches any), how soon
after awareness an incident must be classified (``classify_within``), and its reporting
stages in order. Each stage is due ``within`` (a fixed duration or calendar months) after
its anchor (``after``: ``awareness``, ``classification`` or the id of an earlier stage,
measured from that stage's first submission, or from its latest when the earlier stage is
marked ``updates: true`` — DORA's final report runs from the latest updated intermediate
report; a second "initial notification" moves nothing) and, optionally, ``no_later_than``
(a fixed duration) after awareness: the earlier of the two deadlines.

Reading refuses what could only be honoured silently wrong, as a configuration error at
``policy.yaml:line:column``: a duplicate regime or stage id, a stage ``after`` a stage that
does not exist, comes later, or itself (a cycle of ``after``), and calendar months where
only a fixed duration is taken. No regime is active unless the policy lists it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from opsledger.model import fields as f
from opsledger.model.policyread import PolicyReader
from opsledger.timeutil import CalendarDuration

#: the anchors a stage can be measured from besides an earlier stage
AWARENESS: Final = "awareness"
CLASSIFICATION: Final = "classification"
ANCHORS: Final = (AWARENESS, CLASSIFICATION)
ROOT: Final = ("regulatory", "regimes")

_DEFS = "defs.schema.json#/$defs/"
_ID = {"type": "string", "pattern": "^[a-z][a-z0-9_-]{0,31}(?![\\s\\S])"}
#: the JSON Schema of ``regulatory.regimes`` (the policy schema is generated with it)
SCHEMA: Final[Mapping[str, Any]] = {
    "type": "array",
    "items": {
        "type": "object",
        "additionalProperties": False,
        "required": ["id", "name", "stages"],
        "properties": {
            "id": {**_ID, "description": "a regime id like dora (lower case)"},
            "name": {"$ref": _DEFS + "line"},
            "authority": {"$ref": _DEFS + "line"},
            "applies_to": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "priorities": {"type": "array", "items": {"$ref": _DEFS + "priority"}},
                    "scopes": {
                        "type": "array",
                        "items": {"enum": ["single-user", "team", "site", "enterprise"]},
                    },
                    "categories": {"type": "array", "items": {"$ref": _DEFS + "line"}},
                },
            },
            "classify_within": {"$ref": _DEFS + "duration"},
            "stages": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["id", "within", "after"],
                    "properties": {
                        "id": {**_ID, "description": "a stage id like initial (lower case)"},
                        "name": {"$ref": _DEFS + "line"},
                        "within": {"$ref": _DEFS + "calendar_duration"},
                        "after": {
                            "type": "string",
                            "description": "awareness, classification or an earlier stage id",
                        },
                        "no_later_than": {"$ref": _DEFS + "duration"},
                        "updates": {
                            "type": "boolean",
                            "description": "later submissions of this stage are updates: "
                            "the stages after it run from its latest submission (default: "
                            "from its first)",
                        },
                    },
                },
            },
        },
    },
}


@dataclass(frozen=True)
class Stage:
    index: int
    id: str
    name: str
    within: CalendarDuration
    after: str  # awareness, classification or an earlier stage's id
    no_later_than: timedelta | None = None
    #: later submissions are updates: the stages after this one run from the latest
    updates: bool = False


@dataclass(frozen=True)
class Regime:
    index: int
    id: str
    name: str
    authority: str | None
    priorities: tuple[str, ...]
    scopes: tuple[str, ...]
    categories: tuple[str, ...]
    classify_within: timedelta | None
    stages: tuple[Stage, ...]

    def stage(self, stage_id: str) -> Stage | None:
        return next((s for s in self.stages if s.id == stage_id), None)

    def in_scope(self, priority: str | None, scope: str | None, category: str | None) -> bool:
        """Whether an incident with these values falls under the regime (every list the
        policy gives must hold the incident's value; a list not given matches any)."""
        checks = ((self.priorities, priority), (self.scopes, scope))
        if any(allowed and value not in allowed for allowed, value in checks):
            return False
        folded = {c.casefold() for c in self.categories}
        return not folded or (category or "").casefold() in folded


def read_regimes(read: PolicyReader) -> tuple[Regime, ...]:
    """The regimes of the policy, checked (ConfigError at the offending value)."""
    data = read.get(ROOT)
    if not isinstance(data, list):
        return ()
    regimes: list[Regime] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(data):
        if not isinstance(item, dict):
            continue
        path = (*ROOT, i)
        regime_id = str(item.get("id"))
        if regime_id in seen:
            read.fail((*path, "id"), f"regime id {regime_id!r} is listed twice")
        seen[regime_id] = i
        applies = f.mapping(item, "applies_to")
        regimes.append(
            Regime(
                index=i,
                id=regime_id,
                name=f.text(item, "name") or regime_id,
                authority=f.text(item, "authority"),
                priorities=f.strings(applies, "priorities"),
                scopes=f.strings(applies, "scopes"),
                categories=f.strings(applies, "categories"),
                classify_within=read.duration((*path, "classify_within")),
                stages=_stages(read, path, item),
            )
        )
    return tuple(regimes)


def _stages(read: PolicyReader, path: tuple[str | int, ...], item: Any) -> tuple[Stage, ...]:
    raw = [(j, s) for j, s in f.mappings(item, "stages")]
    ids = [str(s.get("id")) for _, s in raw]
    stages: list[Stage] = []
    for position, (j, s) in enumerate(raw):
        here = (*path, "stages", j)
        stage_id = ids[position]
        if stage_id in ids[:position]:
            read.fail((*here, "id"), f"stage id {stage_id!r} is listed twice in this regime")
        if stage_id in ANCHORS:
            read.fail((*here, "id"), f"{stage_id!r} is an anchor name; give the stage another id")
        after = str(s.get("after"))
        _check_after(read, (*here, "after"), raw, ids, position, after)
        within = read.calendar_duration((*here, "within"))
        if within is None:
            read.fail((*here, "within"), "within is required (a duration like 72h or 1mo)")
        stages.append(
            Stage(
                index=j,
                id=stage_id,
                name=f.text(s, "name") or stage_id,
                within=within,
                after=after,
                no_later_than=read.duration((*here, "no_later_than")),
                updates=s.get("updates") is True,
            )
        )
    return tuple(stages)


def _check_after(
    read: PolicyReader,
    where: tuple[str | int, ...],
    raw: list[tuple[int, Mapping[str, Any]]],
    ids: list[str],
    position: int,
    after: str,
) -> None:
    """``after`` names an anchor or a stage listed before this one."""
    if after in ANCHORS or after in ids[:position]:
        return
    choices = ", ".join([*ANCHORS, *ids[:position]])
    if after not in ids:
        read.fail(where, f"after: no stage {after!r} in this regime; use one of {choices}")
    chain = [ids[position]]
    current = after
    while current not in ANCHORS and current in ids and current not in chain:
        chain.append(current)
        current = str(raw[ids.index(current)][1].get("after"))
    if current == ids[position]:
        cycle = " → ".join([*chain, current])
        read.fail(where, f"after: a cycle of stages ({cycle}); a stage follows an earlier one")
    read.fail(
        where,
        f"after: stage {after!r} comes later in the list; list stages in the order they are "
        f"submitted (here: one of {choices})",
    )


# -- what an incident records (its ``regulatory`` field) ----------------------------------
@dataclass(frozen=True)
class Submission:
    index: int
    stage: str | None
    at: datetime | None
    reference: str | None


@dataclass(frozen=True)
class Filing:
    """One entry of an incident's ``regulatory`` list: a regime's decision and submissions."""

    index: int
    regime: str | None
    aware_at: datetime | None  # None: detected_at (the default)
    decision: str | None  # reportable, not-reportable, or None while undecided
    decided_at: datetime | None
    reason: str | None
    submissions: tuple[Submission, ...] = ()


def read_filings(data: Mapping[str, Any]) -> tuple[Filing, ...]:
    """The ``regulatory`` entries of an incident document (tolerant, like every reader)."""
    return tuple(
        Filing(
            index=i,
            regime=f.text(r, "regime"),
            aware_at=f.timestamp(r, "aware_at"),
            decision=f.text(r, "decision"),
            decided_at=f.timestamp(r, "decided_at"),
            reason=f.text(r, "reason"),
            submissions=tuple(
                Submission(j, f.text(s, "stage"), f.timestamp(s, "at"), f.text(s, "reference"))
                for j, s in f.mappings(r, "submissions")
            ),
        )
        for i, r in f.mappings(data, "regulatory")
    )


def unresolved(
    filings: tuple[Filing, ...], regimes: tuple[Regime, ...]
) -> list[tuple[str, tuple[str | int, ...], str]]:
    """References of an incident's ``regulatory`` entries that do not resolve: a regime
    the policy does not list, a regime listed twice, a submission for a stage the regime
    does not have (message, path, fix) for REF-LINK."""
    by_id = {r.id: r for r in regimes}
    found: list[tuple[str, tuple[str | int, ...], str]] = []
    first: dict[str, int] = {}
    for filing in filings:
        if filing.regime is not None and filing.regime in first:
            # the clocks read the first entry: a second (say, "not-reportable" before a
            # "reportable") must never pass unseen
            found.append(
                (
                    f"regime {filing.regime!r} is listed again (first in entry "
                    f"{first[filing.regime] + 1}); the clocks read only the first",
                    ("regulatory", filing.index, "regime"),
                    "keep one entry per regime: its decision and all its submissions",
                )
            )
            continue
        if filing.regime is not None:
            first[filing.regime] = filing.index
        regime = by_id.get(filing.regime or "")
        if regime is None:
            known = ", ".join(by_id) or "none"
            found.append(
                (
                    f"regime {filing.regime!r} is not in policy.yaml regulatory.regimes "
                    f"(active: {known})",
                    ("regulatory", filing.index, "regime"),
                    "correct the regime id or add the regime to the policy",
                )
            )
            continue
        for sub in filing.submissions:
            if sub.stage is not None and regime.stage(sub.stage) is None:
                stages = ", ".join(s.id for s in regime.stages)
                found.append(
                    (
                        f"regime {regime.id!r} has no stage {sub.stage!r} (stages: {stages})",
                        ("regulatory", filing.index, "submissions", sub.index, "stage"),
                        "name one of the regime's stages",
                    )
                )
    return found


def appended_submissions(old: Mapping[str, Any], new: Mapping[str, Any]) -> set[tuple[str, ...]]:
    """``{("regulatory", "0", "submissions", "2"), …}``: submissions appended to a
    ``regulatory`` entry whose decision and earlier submissions are unchanged (a report
    filed after the incident closed: DORA's final report comes a month later). Any other
    difference in the list yields nothing: that is an edit."""
    before, after = old.get("regulatory") or [], new.get("regulatory") or []
    if not isinstance(before, list) or not isinstance(after, list) or len(before) != len(after):
        return set()
    found: set[tuple[str, ...]] = set()
    for i, (was, now) in enumerate(zip(before, after, strict=True)):
        if not isinstance(was, Mapping) or not isinstance(now, Mapping):
            return set()
        made, making = was.get("submissions") or [], now.get("submissions") or []
        rest_was = {k: v for k, v in was.items() if k != "submissions"}
        rest_now = {k: v for k, v in now.items() if k != "submissions"}
        if (
            rest_was != rest_now
            or not isinstance(made, list)
            or not isinstance(making, list)
            or making[: len(made)] != made
        ):
            return set()
        found |= {
            ("regulatory", str(i), "submissions", str(j)) for j in range(len(made), len(making))
        }
    return found
