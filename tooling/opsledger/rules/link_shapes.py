"""References that resolve but cannot be right (REF-LINK): an incident with more than one
PIR, an incident's ``pir`` naming another incident's review, ``recurrence_of`` naming
the incident itself, a later incident, or going round in a cycle, and a problem listing an
incident twice or linking itself through a ``recurrence_of`` cycle of its incidents.

Each is found over the records loaded; in a pull request's scope the planner loads what
these checks need (the other PIRs of an incident, the ``recurrence_of`` chain).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from opsledger.model.ledger import Ledger
from opsledger.model.records import Incident, Pir, Record


@dataclass(frozen=True)
class Problem:
    record: Record
    field: str
    message: str
    fix: str
    index: int | None = None  # the list entry, when ``field`` is a list

    @property
    def at(self) -> tuple[str | int, ...]:
        return (self.field,) if self.index is None else (self.field, self.index)


def problems(ledger: Ledger) -> Iterator[Problem]:
    yield from _extra_pirs(ledger)
    yield from _foreign_pirs(ledger)
    yield from _recurrence(ledger)
    yield from _problem_links(ledger)


def _problem_links(ledger: Ledger) -> Iterator[Problem]:
    """A problem listing an incident twice, or linking incidents that name each other
    round a ``recurrence_of`` cycle (the problem then links itself through them)."""
    rings = _cycles(ledger.incidents)
    ring_of = {member: ring for ring in rings for member in ring}
    for prb in ledger.problem_records.values():
        seen: dict[str, int] = {}
        told: set[int] = set()
        for index, inc_id in enumerate(prb.incidents):
            if inc_id in seen:
                yield Problem(
                    prb,
                    "incidents",
                    f"incident {inc_id} is listed twice (entries {seen[inc_id] + 1} and "
                    f"{index + 1})",
                    "list each incident once",
                    index,
                )
                continue
            seen[inc_id] = index
            ring = ring_of.get(inc_id)
            if ring is None or id(ring) in told:
                continue
            told.add(id(ring))
            loop = " -> ".join([*ring, ring[0]])
            yield Problem(
                prb,
                "incidents",
                f"{prb.id} links itself through a recurrence_of cycle of its incidents: {loop}",
                "break the cycle: each incident's recurrence_of names an earlier incident",
                index,
            )


def _extra_pirs(ledger: Ledger) -> Iterator[Problem]:
    """Every PIR of an incident that has several, except the one the incident names."""
    by_incident: dict[str, list[Pir]] = {}
    for pir in ledger.pirs.values():
        if pir.incident:
            by_incident.setdefault(pir.incident, []).append(pir)
    for incident_id, pirs in sorted(by_incident.items()):
        if len(pirs) < 2:
            continue
        incident = ledger.incidents.get(incident_id)
        named = incident.pir if incident is not None else None
        ids = sorted(p.id for p in pirs)
        kept = named if named in ids else None
        for pir in pirs:
            if pir.id == kept:
                continue
            yield Problem(
                pir,
                "incident",
                f"incident {incident_id} has {len(ids)} PIRs ({', '.join(ids)}); "
                + (f"its pir field names {kept}" if kept else "an incident has one PIR"),
                f"fold this review into {kept}"
                if kept
                else "keep one review per incident "
                "and name it in the incident's pir field (a second review after a reopen "
                "needs a waiver giving the reason)",
            )


def _foreign_pirs(ledger: Ledger) -> Iterator[Problem]:
    """An incident's ``pir`` naming a PIR that reviews another incident."""
    for incident in ledger.incidents.values():
        pir = ledger.pirs.get(incident.pir or "")
        if pir is None or not pir.incident or pir.incident == incident.id:
            continue
        yield Problem(
            incident,
            "pir",
            f"pir {pir.id} is the review of {pir.incident}, not of this incident",
            f"name this incident's own PIR, or write one (opsledger new pir --incident "
            f"{incident.id})",
        )


def _recurrence(ledger: Ledger) -> Iterator[Problem]:
    """``recurrence_of`` naming the incident itself, a later incident, or a cycle."""
    incidents = ledger.incidents
    in_cycle: set[str] = set()
    for ring in _cycles(incidents):
        in_cycle.update(ring)
        for at, member in enumerate(ring):
            told = ring[at:] + ring[:at] + [member]
            yield Problem(
                incidents[member],
                "recurrence_of",
                "recurrence_of names the incident itself"
                if len(ring) == 1
                else f"recurrence_of goes round in a cycle: {' -> '.join(told)}",
                "recurrence_of names the earlier incident with the same root cause",
            )
    for incident in incidents.values():
        earlier = incidents.get(incident.recurrence_of or "")
        if (
            earlier is None
            or incident.id in in_cycle
            or earlier.detected_at is None
            or incident.detected_at is None
            or earlier.detected_at <= incident.detected_at
        ):
            continue
        yield Problem(
            incident,
            "recurrence_of",
            f"recurrence_of names {earlier.id}, detected after this incident",
            f"name the earlier incident; if {earlier.id} is the recurrence, set its "
            f"recurrence_of to {incident.id} instead",
        )


def _cycles(incidents: dict[str, Incident]) -> list[list[str]]:
    """Every cycle of ``recurrence_of`` links (``[a]`` for a self-reference), each once; one
    walk over the links, whatever their number."""
    state: dict[str, bool] = {}  # False while on the current walk, True once done
    cycles: list[list[str]] = []
    for start in sorted(incidents):
        walk: list[str] = []
        current: str | None = start
        while current is not None and current in incidents and current not in state:
            state[current] = False
            walk.append(current)
            current = incidents[current].recurrence_of
        if current is not None and state.get(current) is False:
            cycles.append(walk[walk.index(current) :])
        state.update(dict.fromkeys(walk, True))
    return cycles
