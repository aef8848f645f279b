"""Shared planning context and the step type every record kind produces.

A ``Ctx`` carries the period, the policy, the people and the services; ``rng(name)`` gives a
random generator derived from the seed and a purpose name, so adding randomness to one part
of the generator never shifts another part's choices. A ``Step`` is one moment in a record's
life that becomes (part of) a git commit: when, who, what message, and whether it may be
folded into the record's next step when fewer commits are wanted.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from opsledger.demo.catalog import Service
from opsledger.demo.clock import MINUTE, midnight
from opsledger.demo.people import Directory, Person
from opsledger.demo.policyview import PolicyView


@dataclass(frozen=True)
class Step:
    """One edit of one record, to be committed at ``at`` by ``author``."""

    at: datetime
    author: Person
    message: str
    pinned: bool = False
    group: str | None = None


@dataclass
class Ctx:
    """Everything the planners share."""

    seed: int
    start: date
    end: date
    policy: PolicyView
    people: Directory
    services: list[Service] = field(default_factory=list)
    factor: float = 1.0

    @property
    def start_dt(self) -> datetime:
        """00:00 UTC on the first day of the period."""
        return midnight(self.start)

    @property
    def end_dt(self) -> datetime:
        """00:00 UTC on the day after the period: the demo's "as of" time."""
        return midnight(self.end)

    @property
    def horizon(self) -> datetime:
        """The last minute a record step may be committed at."""
        return self.end_dt - 5 * MINUTE

    @property
    def months(self) -> int:
        """Length of the period in whole months."""
        return (self.end.year - self.start.year) * 12 + self.end.month - self.start.month

    def rng(self, purpose: str) -> random.Random:
        """A generator seeded from the demo seed and ``purpose``."""
        return random.Random(f"opsledger-demo:{self.seed}:{purpose}")

    def count(self, base: float, rng: random.Random) -> int:
        """``base`` items per 12 months scaled to the period and volume, at least one."""
        value = base * self.factor * max(self.months, 1) / 12
        whole = int(value)
        return max(1, whole + (1 if rng.random() < value - whole else 0))

    def service(self, key: str) -> Service:
        """The service with ``key``."""
        for service in self.services:
            if service.key == key:
                return service
        raise KeyError(key)

    def within(self, moment: datetime, margin: timedelta = timedelta(0)) -> bool:
        """True when ``moment`` is inside the period and ``margin`` before its end."""
        return self.start_dt <= moment <= self.horizon - margin
