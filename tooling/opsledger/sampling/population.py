"""The population of a sample and the published selection rule.

The population: every record of one kind whose placing date (:mod:`opsledger.sampling.kinds`)
falls in the period in the policy's time zone, narrowed by ``--where`` filters, each with
the blob id git gives its file at the sampled commit. The selection: order the population
by the SHA-256 hex digest of ``SEED:ID`` (UTF-8, no newline) and take the first N, so
anyone can redo it with any SHA-256 tool::

    printf '%s' '2026q1:CHG-2026-0007' | sha256sum
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from opsledger.errors import OpsledgerError
from opsledger.kpis.base import Excluded, KpiContext
from opsledger.model.ledger import Ledger
from opsledger.model.records import Pir, Record
from opsledger.neutral import short
from opsledger.output.spreadsheet import csv_line
from opsledger.period import Period, parse_period
from opsledger.sampling.kinds import NAMES, PLANNED, SAMPLE_KINDS, SampleKind, field_values
from opsledger.sampling.settings import SIZES, size_for
from opsledger.timeutil import format_timestamp

RULE = (
    "order the population by the SHA-256 hex digest of 'SEED:ID' (UTF-8, no newline) and "
    "take the first N"
)
#: a seed an auditor can type into any shell and SHA-256 tool as it is
SEED = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_WHERE = re.compile(r"([a-z_]+)=(.+)")


@dataclass(frozen=True)
class Request:
    """What a sample is drawn from and how: everything its bundle can be redone from."""

    kind: str
    period: str
    seed: str
    as_of: str  # UTC timestamp, as written in the manifest
    n: int | None = None  # None: sampling.sizes in the policy
    where: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def command(self, output: str) -> str:
        """The command that draws this sample (``--as-of`` fixed), as one shell line."""
        words = ["opsledger", "sample", "--kind", self.kind, "--period", self.period]
        words += ["--seed", self.seed]
        if self.n is not None:
            words += ["--n", str(self.n)]
        for name, values in self.where:
            words += ["--where", _quote(f"{name}={','.join(values)}")]
        words += ["--as-of", self.as_of, "--output", _quote(output)]
        return " ".join(words)


def _quote(word: str) -> str:
    if re.fullmatch(r"[A-Za-z0-9._/=,:@+-]+", word):
        return word
    return "'" + word.replace("'", "'\\''") + "'"


def sample_kind(name: str) -> SampleKind:
    if name in SAMPLE_KINDS:
        return SAMPLE_KINDS[name]
    if name in PLANNED:
        raise OpsledgerError(f"--kind {name}: {PLANNED[name]}")
    raise OpsledgerError(f"--kind {short(name, 80)!r}: unknown kind; use one of {', '.join(NAMES)}")


def check_seed(seed: str) -> str:
    if SEED.fullmatch(seed) is None:
        raise OpsledgerError(
            f"--seed {short(seed, 80)!r}: write 1 to 64 letters, digits, '.', '_' or '-' "
            "(starting with a letter or digit), so anyone can type it into a SHA-256 tool as it "
            "is"
        )
    return seed


def parse_where(kind: SampleKind, texts: Sequence[str]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """``--where field=v1,v2`` filters, by field (a field given twice: an error)."""
    found: dict[str, tuple[str, ...]] = {}
    for text in texts:
        match = _WHERE.fullmatch(text)
        values = tuple(v.strip() for v in match[2].split(",")) if match else ()
        if match is None or not all(values):
            raise OpsledgerError(
                f"--where {short(text, 80)!r}: write FIELD=VALUE or FIELD=V1,V2 (for example "
                f"{kind.fields[0]}=…)"
            )
        name = match[1]
        if name not in (*kind.fields, "status"):
            raise OpsledgerError(
                f"--where {short(text, 80)!r}: {kind.name} records cannot be filtered on "
                f"{short(name, 80)!r}; use "
                f"{', '.join(('status', *kind.fields))}"
            )
        if name in found:
            raise OpsledgerError(
                f"--where {name}= is given twice; list its values once: {name}=A,B"
            )
        found[name] = values
    return tuple(sorted(found.items()))


def rank(seed: str, record_id: str) -> str:
    """The selection key: SHA-256 hex digest of ``SEED:ID``."""
    return hashlib.sha256(f"{seed}:{record_id}".encode()).hexdigest()


@dataclass(frozen=True)
class Member:
    record: Record
    blob: str
    moment: datetime | None


@dataclass
class Population:
    kind: SampleKind
    period: Period
    members: list[Member]  # by ID
    #: records of the kind that no period can hold (no placing date), with why
    unplaced: list[Excluded] = field(default_factory=list)

    @property
    def ids(self) -> list[str]:
        return [m.record.id for m in self.members]

    def header(self) -> list[str]:
        return ["id", "path", "blob", "status", self.kind.dated_by, *self.kind.fields]

    def row(self, m: Member) -> list[str]:
        """One member's row of :meth:`csv`: made from the member alone (its record, blob
        and moment) and the kind."""
        return [
            m.record.id,
            m.record.path,
            m.blob,
            ";".join(field_values(m.record, "status")),
            format_timestamp(m.moment) if m.moment else "",
            *(";".join(field_values(m.record, name)) for name in self.kind.fields),
        ]

    def csv(self, made: Callable[[Member], str] | None = None) -> str:
        """The population as CSV; ``made``: each member's row as CSV text, where the caller
        keeps them (``site serve``: :mod:`opsledger.site.carry`)."""
        line = made or (lambda m: csv_line(self.row(m)))
        return csv_line(self.header()) + "".join(line(m) for m in self.members)


def period_of(text: str, zone: ZoneInfo, as_of: datetime) -> Period:
    """``--period`` in the policy's time zone; one that starts after "now" is refused."""
    period = parse_period(text, zone)
    if period.start is not None and period.start > as_of:
        raise OpsledgerError(
            f"--period {text}: starts after {format_timestamp(as_of)} (now, or --as-of); "
            "a sample is drawn from records that exist"
        )
    return period


def population(
    ledger: Ledger,
    request: Request,
    as_of: datetime,
    blobs: Mapping[str, str],
    *,
    uncommitted: str | None = None,
) -> Population:
    """Every record of the kind placed in the period and kept by the filters, by ID;
    ``blobs`` maps each file at the sampled commit to its blob id. A record file not in
    the commit is an error, or shown as ``uncommitted`` when that is given (the site,
    built from a working tree)."""
    kind = sample_kind(request.kind)
    period = period_of(request.period, ledger.policy.timezone, as_of)
    placed, unplaced = kind.place(KpiContext(ledger, as_of, period))
    members: list[Member] = []
    for record in sorted(placed, key=lambda r: r.id):
        if all(set(field_values(record, n)) & set(vs) for n, vs in request.where):
            blob = blobs.get(record.path, uncommitted)
            if blob is None:
                raise OpsledgerError(
                    f"{record.path}: not in the commit sampled; commit it, or sample another commit"
                )
            members.append(Member(record, blob, kind.moment(ledger, record)))
    return Population(kind, period, members, [_why(ledger, kind, e) for e in unplaced])


def _why(ledger: Ledger, kind: SampleKind, excluded: Excluded) -> Excluded:
    """``excluded`` with its reason telling a date written but not a valid timestamp from
    no date at all (the placement itself only knows there is no moment)."""
    record = ledger.get(excluded.record)
    if isinstance(record, Pir):
        record = ledger.incidents.get(record.incident or "")
        path = ["detected_at"]
    else:
        path = kind.dated_by.split(".")
    value: Any = record.data if record is not None else None
    for key in path:
        value = value.get(key) if isinstance(value, Mapping) else None
    if value is None or value == "":
        return excluded
    return Excluded(
        excluded.record, f"{kind.dated_by} is not a valid timestamp: cannot place it in a period"
    )


@dataclass(frozen=True)
class Selection:
    members: list[Member]  # in selection order
    size: int
    source: str  # where N came from
    note: str = ""  # said when N was not what was asked


def select(pop: Population, request: Request, ledger: Ledger) -> Selection:
    """The first N of the population ordered by :func:`rank` (ties, impossible in
    practice, broken by ID)."""
    count = len(pop.members)
    ordered = sorted(pop.members, key=lambda m: (rank(request.seed, m.record.id), m.record.id))
    note = ""
    if request.n is None:
        sizes = SIZES.read(ledger.policy.doc.data)
        size = size_for(count, sizes)
        source = "policy.yaml sampling.sizes"
        if size == count:
            note = f"the whole population ({count}) is taken: it is not larger than the size"
    else:
        size = min(request.n, count)
        source = "--n"
        if request.n > count:
            note = (
                f"--n {request.n} is larger than the population ({count}): the whole "
                "population is taken"
            )
    return Selection(ordered[:size], size, source, note)
