"""``opsledger demo``: generate a realistic demo governance repository with a real git history.

``generate_demo`` plans a period of IT operations for a fictional mid-size retailer (services,
runbooks, changes, incidents, emergency changes, PIRs), plants a realistic share of defects
(each record breaking exactly one SPEC §4 rule, listed in ``.opsledger/demo-defects.json``),
and writes the whole history with one ``git fast-import`` stream whose commits follow the
records' own timelines. It never prints and never reads the clock: the same arguments give the
same commit IDs.

Modules: ``policyview`` (the demo policy), ``people``/``catalog`` (who and what),
``scenarios``/``prose``/``change_texts`` (wording), ``incidents``, ``changes``/``change_plan``,
``pirs``, ``runbooks``, ``defects``, ``problems`` (planning),
``incident_doc``/``change_doc``/``pir_doc`` (records as of a moment and their commits),
``tracks`` (plans to files), ``history`` (commit planning), ``writer`` (the fast-import
stream), ``repo_files`` (IDs, catalog, README, key).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from opsledger import gitio
from opsledger.demo import problems, regulatory, repo_files, runbooks, writer
from opsledger.demo.catalog import build_services
from opsledger.demo.change_plan import plan_changes, plan_emergencies
from opsledger.demo.clock import add_months
from opsledger.demo.context import Ctx
from opsledger.demo.defects import PlantedDefect, collect, plant, plant_early
from opsledger.demo.history import Track, add_notes, count_commits, plan_commits, thin, trim
from opsledger.demo.incidents import Incident, finalize, plan_incidents
from opsledger.demo.people import build_directory
from opsledger.demo.pirs import plan_pirs
from opsledger.demo.policyview import load_demo_policy, schema_files
from opsledger.demo.tracks import answer_commit, build_tracks, setup_commit

__all__ = ["DemoResult", "PlantedDefect", "generate_demo"]

# Record files a default month produces (incidents, changes, PIRs), for --records scaling.
_RECORDS_PER_MONTH = 79.0


@dataclass(frozen=True)
class DemoResult:
    """What ``generate_demo`` wrote."""

    path: Path
    start: date
    end: date
    as_of: datetime
    seed: int
    services: int
    runbooks: int
    incidents: int
    changes: int
    pirs: int
    commits: int
    head: str
    defects: tuple[PlantedDefect, ...]

    @property
    def counts(self) -> dict[str, int]:
        """Record files per kind."""
        return {
            "services": self.services,
            "runbooks": self.runbooks,
            "incidents": self.incidents,
            "changes": self.changes,
            "pirs": self.pirs,
        }


def _check_dest(dest: Path) -> None:
    if dest.exists() and not dest.is_dir():
        raise ValueError(f"{dest} exists and is not a folder; the demo needs a new or empty folder")
    if dest.is_dir() and any(dest.iterdir()):
        raise ValueError(f"{dest} is not empty; the demo needs a new or empty folder")


def _use_runbooks(ctx: Ctx, incidents: list[Incident]) -> None:
    rng = ctx.rng("runbooks-used")
    for incident in incidents:
        if incident.service.runbooks and incident.priority != "P4" and rng.random() < 0.5:
            incident.runbooks_used = [rng.choice(incident.service.runbooks)]


#: the first day of a demo's operations, and the last day a demo of more than 12 months
#: ends on (``as_of``): a longer demo starts earlier, so that no record or commit of it is
#: dated after the day it describes (18 months from the same first day once ran into the
#: future and flooded its own audit)
DEMO_START, DEMO_END = date(2025, 11, 1), date(2026, 11, 1)


def generate_demo(
    dest: Path,
    *,
    months: int = 12,
    seed: int = 7,
    start: date | None = None,
    records: int | None = None,
    commits: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> DemoResult:
    """Generate a demo governance repository in ``dest`` (a new or empty folder): ``months``
    of operations from :data:`DEMO_START` (or ``start``), a longer demo ending on
    :data:`DEMO_END`."""
    dest = Path(dest)
    _check_dest(dest)
    if months < 1:
        raise ValueError("months must be at least 1")
    if start is None:  # a year or less from its first day; longer, it ends on DEMO_END
        start = min(DEMO_START, add_months(DEMO_END, -months))
    if records is not None and records < 1:
        raise ValueError("records must be at least 1")
    if commits is not None and commits < 1:
        raise ValueError("commits must be at least 1")
    end = add_months(start, months)
    policy = load_demo_policy(start, end)
    ctx = Ctx(seed, start, end, policy, build_directory(policy.approvers))
    if records is not None:
        ctx.factor = max(0.02, (records - 20) / (_RECORDS_PER_MONTH * months))
    ctx.services = build_services(ctx.rng("services"), ctx.people)
    books = runbooks.plan_runbooks(ctx)
    changes, schedule = plan_changes(ctx)
    incidents = plan_incidents(ctx, [c for c in changes if c.implementation is not None])
    _use_runbooks(ctx, incidents)
    plant_early(ctx, incidents)
    plan_emergencies(ctx, incidents, schedule, changes)
    pirs = plan_pirs(ctx, incidents)
    repo_files.assign_ids(incidents, changes, pirs)
    plant(ctx, incidents, changes, pirs)
    regulatory.plan(ctx, incidents)
    for incident in incidents:
        finalize(ctx, incident)
    defects = collect(incidents, changes, pirs, books)
    plans, planted = problems.plan_problems(ctx, incidents, changes)
    defects = sorted([*defects, *planted], key=lambda d: (d.rule, d.record))

    def all_tracks() -> list[Track]:
        made = problems.tracks(ctx, plans)
        trim(ctx, made)
        return build_tracks(ctx, books, incidents, changes, pirs) + made

    tracks = all_tracks()
    natural = count_commits(tracks) + 2
    if commits is not None and commits > natural:
        add_notes(ctx, ctx.rng("notes"), incidents, commits - natural)
        tracks = all_tracks()
    elif commits is not None and commits < natural:
        thin(ctx.rng("thin"), tracks, natural - commits)

    counts = {
        "services": len(ctx.services),
        "runbooks": len(books),
        "incidents": sum(1 for i in incidents if i.deleted is None),
        "changes": len(changes),
        "pirs": sum(1 for p in pirs if p.draft_at <= ctx.horizon),
        "problems": len(plans),
    }
    planned = [setup_commit(ctx, books, counts, len(defects), schema_files())]
    planned += plan_commits(tracks)
    regulatory_key = ((regulatory.KEY_PATH, regulatory.answer_key(incidents)),)
    planned.append(answer_commit(ctx, defects, regulatory_key))
    stream = writer.Stream(planned, progress)
    gitio.init_repo(dest)
    gitio.fast_import(dest, stream)
    gitio.checkout_head(dest)
    written = stream.written
    return DemoResult(
        path=dest,
        start=start,
        end=end,
        as_of=ctx.end_dt,
        seed=seed,
        services=counts["services"],
        runbooks=counts["runbooks"],
        incidents=counts["incidents"],
        changes=counts["changes"],
        pirs=counts["pirs"],
        commits=written,
        head=gitio.head_sha(dest),
        defects=tuple(defects),
    )
