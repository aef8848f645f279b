"""Runbooks: one or two per tier-1 service, some for tier 2, reviewed every few months.

Each review bumps ``last_reviewed`` *and* edits the content (a new diagnosis step, a sharper
verification check...). The three runbook defects are planted here: one runbook missing a
required section, one never reviewed (stale), one whose last reviews only bumped the date.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from opsledger.demo.catalog import Service
from opsledger.demo.clock import DAY, work_time
from opsledger.demo.context import Ctx, Step
from opsledger.demo.people import Person
from opsledger.demo.prose import fill
from opsledger.demo.yamlout import front_matter

_TOPICS: dict[str, tuple[tuple[str, str, str, str], ...]] = {
    # kind: (slug, title, diagnosis step, mitigation step)
    "web": (
        (
            "errors",
            "{name} elevated error rate",
            "Compare the error rate with the last deployment marker on the {name} dashboard.",
            "Promote the previous build if the errors started with a release.",
        ),
    ),
    "api": (
        (
            "errors",
            "{name} errors and latency",
            "Split errors by endpoint on the {name} dashboard to find the failing dependency.",
            "Shed non-essential traffic with the `{key}-degrade` flag.",
        ),
    ),
    "payments": (
        (
            "provider-timeouts",
            "{name} provider timeouts and failover",
            "Check the provider status page and our timeout rate per region.",
            "Switch traffic to the provider's secondary region endpoint.",
        ),
    ),
    "db": (
        (
            "connection-pool",
            "{name} connection pool exhaustion",
            "List sessions by state and age; look for idle-in-transaction sessions.",
            "Terminate idle-in-transaction sessions older than 5 minutes and pause batch jobs.",
        ),
        (
            "replication-lag",
            "{name} replication lag",
            "Compare WAL positions on every replica with the primary.",
            "Remove a lagging replica from the read pool.",
        ),
    ),
    "auth": (
        (
            "login-failures",
            "{name} sign-in failures",
            "Check the identity provider logs for signature or clock-skew errors.",
            "Reload the identity provider metadata and signing keys.",
        ),
    ),
    "search": (
        (
            "stale-index",
            "{name} stale index",
            "Check the age of the newest indexed document and the indexing job state.",
            "Restart the indexing job from the last checkpoint.",
        ),
    ),
    "wms": (
        (
            "scanner-disconnects",
            "{name} scanner disconnects",
            "Check the wireless controller for scanners roaming between access points.",
            "Pin the scanners to the previous wireless profile.",
        ),
    ),
    "queue": (
        (
            "backlog",
            "{name} queue backlog",
            "Check consumer lag and look for a message failing on every retry.",
            "Move the failing message to the dead-letter queue and restart consumers.",
        ),
    ),
    "batch": (
        (
            "failed-load",
            "{name} failed nightly load",
            "Read the load job log for the failing step and the source extract size.",
            "Re-run the load from the failed step once the input is corrected.",
        ),
    ),
}
_EXTRA = (
    ("Diagnosis", "Check the deployment log for {key} releases in the last two hours first."),
    (
        "Diagnosis",
        "Compare the error rate with the same hour last week to rule out a traffic spike.",
    ),
    ("Mitigation", "If nothing helps within 15 minutes, page {team} engineering directly."),
    ("Escalation", "Out of hours, the {team} engineering manager is the second escalation point."),
    ("Verification", "Confirm `{alert}` has cleared and stayed clear for 15 minutes."),
    ("Symptoms", "Service desk tickets tagged `{key}` rise above 5 per hour."),
    ("Diagnosis", "Run the `{key}-healthcheck` job and attach its output to the incident record."),
    ("Mitigation", "Record each mitigation step with its time in the incident timeline."),
    (
        "Verification",
        "Watch the service dashboard for 30 minutes and note the figures in the incident.",
    ),
)


@dataclass
class RunbookReview:
    """A review commit: content edit plus date bump, or a bare date bump."""

    at: datetime
    author: Person
    line: tuple[str, str] | None


@dataclass
class Runbook:
    """The plan of one runbook."""

    id: str
    slug: str
    title: str
    service: Service
    owner: Person
    sections: dict[str, list[str]]
    initial_reviewed: date
    reviews: list[RunbookReview] = field(default_factory=list)
    missing: str | None = None
    defect: str | None = None
    note: str = ""

    @property
    def path(self) -> str:
        """Repository path of the runbook."""
        return f"runbooks/{self.id}-{self.slug}.md"

    def last_reviewed(self, moment: datetime) -> date:
        """``last_reviewed`` as of ``moment``."""
        dates = [r.at.date() for r in self.reviews if r.at <= moment]
        return max(dates) if dates else self.initial_reviewed


def _sections(service: Service, diagnosis: str, mitigation: str) -> dict[str, list[str]]:
    words = service.words()
    users = words["users"][:1].upper() + words["users"][1:]
    ladder = service.escalation()
    escalation = [
        f"Page the {ladder[1][1]} through the paging tool.",
        f"Not mitigated within 30 minutes: escalate to {ladder[2][1]}.",
    ]
    if service.spec.vendor:
        escalation.append(
            f"Provider-side fault suspected: open a priority ticket with {service.spec.vendor}."
        )
    return {
        "Symptoms": [f"`{alert}` fires for more than 5 minutes." for alert in service.spec.alerts]
        + [fill("{Users} report that they cannot {verb}.", service, Users=users)],
        "Diagnosis": [
            "Open the service dashboard and note when the problem started.",
            fill(diagnosis, service),
            f"Check the change calendar for recent changes on `{words['key']}`.",
        ],
        "Mitigation": [
            fill(mitigation, service),
            "Announce the mitigation on the incident bridge before applying it.",
        ],
        "Escalation": escalation,
        "Verification": [
            f"`{service.spec.alerts[0]}` clear for 15 minutes.",
            fill("{Users} can {verb} again (synthetic check green).", service, Users=users),
        ],
    }


def plan_runbooks(ctx: Ctx) -> list[Runbook]:
    """Runbooks for the catalog, their review history and the runbook defects."""
    rng = ctx.rng("runbooks")
    runbooks: list[Runbook] = []
    for service in ctx.services:
        topics = _TOPICS.get(service.spec.kind, ())
        wanted = (
            len(topics)
            if service.tier == 1
            else (1 if service.tier == 2 and rng.random() < 0.6 else 0)
        )
        for slug, title, diagnosis, mitigation in topics[:wanted]:
            number = f"RB-{len(runbooks) + 1:04d}"
            team = ctx.people.team_engineers(service.team)
            runbook = Runbook(
                id=number,
                slug=f"{service.key}-{slug}",
                title=fill(title, service),
                service=service,
                owner=rng.choice(team),
                sections=_sections(service, diagnosis, mitigation),
                initial_reviewed=ctx.start - timedelta(days=rng.randint(5, 110)),
            )
            service.runbooks.append(number)
            runbooks.append(runbook)
    for runbook in runbooks:
        _schedule_reviews(ctx, rng, runbook)
    _plant(ctx, rng, runbooks)
    return runbooks


def _review(ctx: Ctx, rng: random.Random, runbook: Runbook, on: datetime, stamp: bool) -> None:
    team = [p for p in ctx.people.team_engineers(runbook.service.team) if p != runbook.owner]
    author = runbook.owner if rng.random() < 0.8 or not team else rng.choice(team)
    at = work_time(rng, ctx.policy.calendar, on, on + 2 * DAY)
    if not ctx.within(at):
        return
    line = None
    if not stamp:
        used = sum(1 for r in runbook.reviews if r.line)
        section, text = _EXTRA[(used + len(runbook.id)) % len(_EXTRA)]
        if used >= len(_EXTRA):
            text = (
                f"Review {used + 1}: alert thresholds checked against the last quarter's incidents."
            )
        line = (section, fill(text, runbook.service))
    runbook.reviews.append(RunbookReview(at, author, line))


def _schedule_reviews(ctx: Ctx, rng: random.Random, runbook: Runbook) -> None:
    base = datetime.combine(
        runbook.initial_reviewed, datetime.min.time(), tzinfo=ctx.start_dt.tzinfo
    )
    moment = base + timedelta(days=rng.randint(60, 150))
    while moment < ctx.horizon - 3 * DAY:
        if moment > ctx.start_dt:
            _review(ctx, rng, runbook, moment, stamp=False)
        moment += timedelta(days=rng.randint(75, 160))
    if runbook.last_reviewed(ctx.horizon) < ctx.end - timedelta(days=170):
        _review(ctx, rng, runbook, ctx.end_dt - timedelta(days=rng.randint(10, 60)), stamp=False)


def _plant(ctx: Ctx, rng: random.Random, runbooks: list[Runbook]) -> None:
    if len(runbooks) < 3:
        return
    order = sorted(runbooks, key=lambda r: (r.service.tier == 1, rng.random()))
    missing, stale, stamped = order[0], order[1], order[2]
    missing.missing = ctx.policy.runbook_sections[-1] if ctx.policy.runbook_sections else None
    if missing.missing:
        missing.defect = "RB-SECTIONS"
        missing.note = f"body has no '{missing.missing}' section"
    stale.reviews = []
    stale.initial_reviewed = min(
        ctx.end - ctx.policy.review_every - timedelta(days=rng.randint(20, 80)),
        ctx.start - timedelta(days=rng.randint(5, 60)),
    )
    stale.defect, stale.note = "RB-STALE", f"last reviewed {stale.initial_reviewed}, never since"
    low = max(ctx.start_dt + 3 * DAY, ctx.end_dt - timedelta(days=150))
    span = (ctx.horizon - 3 * DAY - low) / 3
    stamped.reviews = [r for r in stamped.reviews if r.at < low]
    for index in range(3):
        _review(ctx, rng, stamped, low + span * index, stamp=True)
    if sum(1 for r in stamped.reviews if r.line is None) >= 2:
        stamped.defect = "GIT-RUBBER-STAMP"
        stamped.note = "the last reviews only bumped last_reviewed, with no other change"


def render(runbook: Runbook, required: tuple[str, ...], moment: datetime) -> str:
    """The runbook file as of ``moment``, with the ``required`` sections in policy order."""
    data = {
        "id": runbook.id,
        "title": runbook.title,
        "services": [runbook.service.key],
        "owner": runbook.owner.email,
        "last_reviewed": runbook.last_reviewed(moment).isoformat(),
        "alerts": list(runbook.service.spec.alerts),
    }
    sections: dict[str, list[str]] = {}
    for name in required:
        generic = (
            f"See the {runbook.service.name} dashboard and record what you find in the incident."
        )
        sections[name] = list(runbook.sections.get(name, [generic]))
    for review in runbook.reviews:
        if review.at <= moment and review.line is not None:
            section = review.line[0]
            if section not in sections or section == runbook.missing:
                section = next(iter(sections))
            sections[section].append(review.line[1])
    parts = [f"# {runbook.title}", f"Runbook for {runbook.service.name} (`{runbook.service.key}`)."]
    for name in sections:
        if name == runbook.missing:
            continue
        numbered = name in ("Diagnosis", "Mitigation")
        lines = [
            f"{i}. {line}" if numbered else f"- {line}" for i, line in enumerate(sections[name], 1)
        ]
        parts.append(f"## {name}\n\n" + "\n".join(lines))
    return front_matter(data, "\n\n".join(parts))


def steps(runbook: Runbook) -> list[Step]:
    """One commit per review."""
    return [
        Step(r.at, r.author, f"{runbook.id}: {'review' if r.line else 'mark reviewed'}", True)
        for r in sorted(runbook.reviews, key=lambda r: r.at)
    ]
