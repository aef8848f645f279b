"""The demo's problems: the recurring clusters of the generated year turned into problem
records, in every state, and one cluster left without a problem on purpose.

The clusters are the audit's own (:func:`opsledger.obligations.recurrence.clusters` over
the incidents as they read at the end of the period). Every cluster gets a problem opened
a day or two after its third incident, linking later recurrences as they happen, except:

- the most recent cluster, left unlinked: the planted PRB-CANDIDATE (at its latest
  incident);
- clusters on a tier-1 service without a runbook, where a known error has nowhere to
  write its workaround: left unlinked too, each a planted PRB-CANDIDATE.

States: a cluster that went quiet at least 90 days before the end and has a successful
change on its service after its last incident is fixed by that change and the fix held; one
larger cluster is fixed by a change between its third and fourth incidents, and the later
incidents recur (the planted PRB-RECURRED); a problem opened at least four days before the
end is a known error (workaround, runbook); a younger one is still investigating.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from opsledger.demo import change_doc, incident_doc
from opsledger.demo.catalog import Service
from opsledger.demo.changes import Change
from opsledger.demo.clock import DAY, HOUR, MINUTE
from opsledger.demo.context import Ctx, Step
from opsledger.demo.defects import PlantedDefect
from opsledger.demo.history import Track
from opsledger.demo.incidents import Incident
from opsledger.demo.yamlout import dump
from opsledger.loading import load_text
from opsledger.model import records
from opsledger.obligations.problems import CANDIDATE_WINDOW, PROBLEM_SECTIONS
from opsledger.obligations.recurrence import clusters
from opsledger.timeutil import format_timestamp as ts

SCHEMA_LINE = "# yaml-language-server: $schema=../../schemas/problem.schema.json\n"
QUIET = timedelta(days=90)


def _detected(inc: records.Incident) -> datetime:
    assert inc.detected_at is not None  # clusters hold only incidents with a detection
    return inc.detected_at


def _done(chg: records.Change) -> datetime:
    assert chg.implementation_completed_at is not None
    return chg.implementation_completed_at


@dataclass
class ProblemPlan:
    """One problem of the demo and its life."""

    id: str
    service: Service
    category: str
    incidents: list[records.Incident]  # detection order
    opened: datetime
    ends: datetime  # when the demo's history ends
    known: datetime | None = None
    resolved: datetime | None = None
    fix: records.Change | None = None
    links: dict[str, datetime] = field(default_factory=dict)  # incident -> when linked

    @property
    def path(self) -> str:
        return f"records/problems/{self.id}.md"

    @property
    def due(self) -> date:
        """The corrective action's due day: a week after the fix of a problem that is
        fixed (done with it), else a day of the month after the demo ends, chosen by when
        the problem opened (open, not yet due)."""
        if self.resolved is not None:
            return (self.resolved + 7 * DAY).date()
        return (self.ends + (30 + self.opened.toordinal() % 28) * DAY).date()

    def status(self, moment: datetime) -> str:
        if self.resolved is not None and moment >= self.resolved:
            return "resolved"
        if self.known is not None and moment >= self.known:
            return "known-error"
        return "investigating"

    def render(self, moment: datetime, sections: Sequence[str]) -> str | None:
        if moment < self.opened:
            return None
        status = self.status(moment)
        key, first = self.service.key, self.incidents[0]
        linked = [i.id for i in self.incidents if self.links[i.id] <= moment]
        due, done = self.due, status == "resolved"
        data: dict[str, object] = {
            "id": self.id,
            "title": f"Recurring {self.category} incidents on {self.service.name}",
            "status": status,
            "services": [key],
            "owner": self.service.owner.email,
            "opened_at": ts(self.opened),
            "incidents": linked,
            "actions": [
                {
                    "id": "A1",
                    "title": f"Remove the {self.category} fault behind {first.id} on {key}",
                    "type": "corrective",
                    "owner": self.service.owner.email,
                    "due": due.isoformat(),
                    "status": "done" if done else "open",
                    "verification": f"No {self.category} incident on {key} for 90 days after "
                    "the fix is deployed.",
                }
            ],
        }
        if status != "investigating":
            data["root_cause"] = (
                f"The {self.category} handling on {key} fails under the same conditions "
                f"each time, first seen in {first.id}."
            )
            assert self.known is not None
            data["known_error_at"] = ts(self.known)
            data["workaround"] = (
                f"Until the fix lands, users carry on by {self.service.spec.workaround}; "
                "responders restore service as the runbook says."
            )
            if self.service.runbooks:
                data["runbooks"] = [self.service.runbooks[0]]
        if status == "resolved":
            assert self.fix is not None and self.resolved is not None
            data["fix_change"] = self.fix.id
            data["resolved_at"] = ts(self.resolved)
        body = {
            "Problem statement": f"{len(linked)} {self.category} incidents on {key} since "
            f"{ts(_detected(first))}: " + ", ".join(linked) + ".",
            "Investigation": "Compared the incidents' timelines, alerts and the changes on "
            f"{key} before each of them.",
            "Root cause": str(data.get("root_cause", "Not known yet: the investigation goes on.")),
            "Workaround": str(
                data.get("workaround", "None agreed yet; responders follow the service's runbook.")
            ),
            "Permanent fix": f"{self.fix.id} removes the cause."
            if done and self.fix
            else "Planned once the root cause is confirmed.",
        }
        text = "\n".join(f"## {s}\n\n{body.get(s, 'See above.')}\n" for s in sections)
        return f"---\n{SCHEMA_LINE}{dump(data)}---\n{text}"

    def steps(self) -> list[Step]:
        owner = self.service.owner
        out = [
            Step(
                self.opened,
                owner,
                f"{self.id}: open problem for recurring "
                f"{self.category} incidents on {self.service.key}",
                True,
            )
        ]
        for inc in self.incidents:
            at = self.links[inc.id]
            if at > self.opened:
                out.append(Step(at, owner, f"{self.id}: link {inc.id}"))
        if self.known is not None:
            out.append(Step(self.known, owner, f"{self.id}: known error"))
        if self.resolved is not None:
            assert self.fix is not None
            out.append(Step(self.resolved, owner, f"{self.id}: resolved by {self.fix.id}", True))
        return sorted(out, key=lambda s: s.at)


def _as_read(
    ctx: Ctx, incidents: list[Incident], changes: list[Change]
) -> tuple[dict[str, records.Incident], list[records.Change]]:
    """Incidents and changes as the audit reads them at the end of the period."""
    seen = {}
    for inc in incidents:
        data = incident_doc.snapshot(inc, ctx.horizon)
        if data is not None:
            doc = load_text(dump(data))
            seen[inc.id] = records.Incident.build(inc.id, inc.path, doc)
    done = []
    for chg in changes:
        data = change_doc.snapshot(
            chg, ctx.policy.approvals_needed(chg.type, chg.risk), ctx.horizon
        )
        done.append(records.Change.build(chg.id, chg.path, load_text(dump(data))))
    return seen, done


def plan_problems(
    ctx: Ctx, incidents: list[Incident], changes: list[Change]
) -> tuple[list[ProblemPlan], list[PlantedDefect]]:
    """The problems and the defects they plant (PRB-CANDIDATE, PRB-RECURRED)."""
    seen, read = _as_read(ctx, incidents, changes)
    services = {s.key: s for s in ctx.services}
    window = CANDIDATE_WINDOW.read({})
    groups = [
        [seen[i] for i in group] for group in clusters(seen.values(), window) if len(group) >= 3
    ]
    groups.sort(key=lambda g: (_detected(g[0]), g[0].id))
    fixes = sorted(
        (
            c
            for c in read
            if c.status in ("implemented", "closed")
            and c.outcome == "successful"
            and c.implementation_completed_at is not None
        ),
        key=lambda c: (_done(c), c.id),
    )
    planted: list[PlantedDefect] = []
    plans: list[ProblemPlan] = []
    # the cluster left unlinked: the most recent one whose latest incident (where the
    # finding points) carries no other planted defect
    clean = {i.id for i in incidents if i.defect is None}
    newest = max(
        (g for g in groups if g[-1].id in clean),
        key=lambda g: (_detected(g[-1]), g[-1].id),
        default=None,
    )
    recurred_done = False
    for group in groups:
        last = group[-1]
        service = services.get(group[0].service or "")
        no_runbook = service is not None and service.tier == 1 and not service.runbooks
        if group is newest or service is None or no_runbook:
            why = (
                "a recurring cluster left without a problem on purpose"
                if group is newest
                else "a recurring cluster on a tier-1 service with no runbook for a workaround"
            )
            planted.append(PlantedDefect("PRB-CANDIDATE", last.id, last.path, why))
            continue
        opened = _detected(group[2]) + 2 * DAY
        if opened >= ctx.horizon - HOUR:
            opened = ctx.horizon - HOUR
        category = (group[0].category or "").casefold()
        plan = ProblemPlan("", service, category, group, opened, ctx.end_dt)
        for inc in group:
            at = _detected(inc) + 6 * HOUR
            plan.links[inc.id] = max(opened, min(at, ctx.horizon - 10 * MINUTE))
        known: datetime | None = opened + 4 * DAY
        if known is not None and known >= ctx.horizon - HOUR:
            known = None
        plan.known = known
        on_service = [c for c in fixes if service.key in c.services]
        if known is not None and not recurred_done and len(group) >= 5:
            between = [c for c in on_service if known < _done(c) < _detected(group[3]) - DAY]
            if between:
                plan.fix = between[0]
                plan.resolved = _done(between[0]) + 6 * HOUR
                recurred_done = True
        if plan.fix is None and known is not None and ctx.end_dt - _detected(last) > QUIET:
            after = [
                c
                for c in on_service
                if max(known, _detected(last)) < _done(c) < ctx.horizon - 7 * DAY
            ]
            if after:
                plan.fix = after[0]
                plan.resolved = _done(after[0]) + 6 * HOUR
        plans.append(plan)
    plans.sort(key=lambda p: (p.opened, p.incidents[0].id))
    counters: dict[int, int] = {}
    for plan in plans:
        year = plan.opened.year
        counters[year] = counters.get(year, 0) + 1
        plan.id = f"PRB-{year}-{counters[year]:04d}"
        resolved = plan.resolved
        if resolved is not None and any(_detected(i) > resolved for i in plan.incidents):
            planted.append(
                PlantedDefect(
                    "PRB-RECURRED", plan.id, plan.path, "fixed, and the incidents came back"
                )
            )
    return plans, planted


def tracks(ctx: Ctx, plans: list[ProblemPlan]) -> list[Track]:
    sections = tuple(PROBLEM_SECTIONS.read({}))

    def track(plan: ProblemPlan) -> Track:
        return Track(plan.path, lambda moment: plan.render(moment, sections), plan.steps())

    return [track(p) for p in plans]
