"""One truth: for every obligation of every record, the audit finding, the KPI observation,
the site's mark and the brief's wording show the same verdict.

Checked over every record of a generated demo year, and over a few hundred generated
mutants of incidents and changes placed exactly at, just before and just after each limit
(notification kinds and times, update gaps, acknowledgement, bridge, change notice,
approvals around the window start, an emergency change's retrospective approval).
"""

from __future__ import annotations

import html
import itertools
import json
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from opsledger.demo import generate_demo
from opsledger.findings import Finding
from opsledger.kpis import KPIS_BY_ID
from opsledger.kpis.base import KpiContext, Period
from opsledger.model.records import Change, Incident, Pir
from opsledger.obligations import Cadence, Verdict
from opsledger.reports.brief import VERDICT_WORDS, brief
from opsledger.reports.problems import mark
from opsledger.reports.scorecard import monthly, parse_period
from opsledger.rules.regulatory import POLICY as DORA
from opsledger.site.common import VERDICT_MARKS
from opsledger.site.context import make_context
from opsledger.site.data import SiteData
from opsledger.site.page_change import change_page
from opsledger.site.page_docs import pir_page, runbook_page
from opsledger.site.page_incident import incident_page
from opsledger.site.page_problems import candidates_section, portfolio_page, problem_page
from opsledger.workspace import Workspace

from conftest import Repo, git, git_init

DEMO_AS_OF = "2026-11-01T00:00:00Z"
#: the incident obligations, with the rule that turns each into findings
INCIDENT_RULES = {
    "acknowledgement": "INC-ACK",
    "bridge": "INC-BRIDGE",
    "initial notification": "INC-NOTIFY",
    "update cadence": "INC-CADENCE",
    "PIR": "INC-PIR",
}
#: the KPI whose observation for the incident is each obligation's verdict
INCIDENT_KPIS = {
    "initial notification": "initial_notification_compliance",
    "update cadence": "update_cadence_compliance",
    "resolution": "sla_compliance",
    "PIR": "pir_on_time_rate",
}
#: the problem KPIs whose observations are read from problem verdicts and clusters
PROBLEM_KPIS = ("recurrence_after_fix", "time_to_known_error", "problem_coverage")
CHANGE_RULES = {
    "advance notice": "CHG-NOTICE",
    "approval before the window": "CHG-APPROVED-BEFORE",
    "retrospective approval": "CHG-EMERGENCY",
}


@dataclass
class Views:
    """Everything one run shows, gathered once."""

    ws: Workspace
    findings: dict[tuple[str, str | None], list[Finding]]
    observations: dict[str, dict[str, float]]  # kpi id -> record -> value
    site: SiteData
    #: regulatory_on_time_rate: (record, "regime/stage") -> value
    regulatory: dict[tuple[str, str], float] = field(default_factory=dict)
    #: the monthly review's Regulatory reporting section, by month (made once)
    monthly: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, ws: Workspace) -> Views:
        found = ws.findings()
        by_rule: dict[tuple[str, str | None], list[Finding]] = {}
        for f in found:
            by_rule.setdefault((f.rule, f.record), []).append(f)
        ctx = KpiContext(
            ws.ledger,
            ws.as_of,
            Period(zone=ws.policy.timezone),
            ws.history_index,
            found,
            ws.obligations,
            ws.history_note,
        )
        observations = {
            kpi_id: {o.record: o.value for o in KPIS_BY_ID[kpi_id].compute(ctx).observations}
            for kpi_id in (*INCIDENT_KPIS.values(), "action_on_time_rate", *PROBLEM_KPIS)
        }
        data = SiteData(
            ws.ledger,
            found,
            None,
            ws.history_index,
            ws.history_note or None,
            ws.as_of,
            ws.commit,
            obligations=ws.obligations,
        )
        regulatory = {
            (o.record, dict(o.labels)["stage"]): o.value
            for o in KPIS_BY_ID["regulatory_on_time_rate"].compute(ctx).observations
        }
        return cls(ws, by_rule, observations, data, regulatory)

    def flagged(self, rule: str, record: str, *, pointer_not: str | None = None) -> bool:
        return any(
            pointer_not is None or f.pointer != pointer_not
            for f in self.findings.get((rule, record), [])
        )


def _rows(markdown: str, heading: str) -> dict[str, str]:
    """Obligation -> verdict cell of the table under ``heading``."""
    section = markdown.split(heading, 1)[1].split("\n## ", 1)[0]
    rows: dict[str, str] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0] not in ("Obligation", "---") and set(cells[0]) != {"-"}:
            rows[cells[0].replace("\\", "")] = cells[1]
    return rows


def _name(v: Verdict | Cadence) -> str:
    return v.title


def check_incident(views: Views, inc: Incident) -> None:
    ob = views.ws.obligations.incident(inc)
    ctx = make_context(views.site, directory_urls=False)
    page = html.unescape(incident_page(ctx, inc, ctx.links.records[inc.id]))
    site = _rows(page, "## Against policy") if ob.ordered() else {}
    told = _rows(brief(views.ws, inc.id), "## Response against policy") if ob.ordered() else {}
    verdicts: dict[str, Verdict | Cadence | None] = {
        "acknowledgement": ob.acknowledgement,
        "bridge": ob.bridge,
        "initial notification": ob.initial_notification,
        "update cadence": ob.cadence,
        "restoration": ob.restoration,
        "resolution": ob.resolution,
        "PIR": ob.pir,
    }
    for name, v in verdicts.items():
        where = f"{inc.id} {name}"
        rule = INCIDENT_RULES.get(name)
        if rule is not None:
            fires = v is not None and (v.state == "missing" if name == "PIR" else v.failed)
            assert views.flagged(rule, inc.id) == fires, (where, v)
        kpi = INCIDENT_KPIS.get(name)
        if kpi is not None and inc.id in views.observations[kpi]:
            assert v is not None and v.state in ("met", "late", "missing"), (where, v)
            assert views.observations[kpi][inc.id] == (v.state == "met"), (where, v)
        if v is None:
            assert _name_of(name) not in site and _name_of(name) not in told, where
            continue
        assert site[_name(v)] == VERDICT_MARKS[v.state], (where, site, v)
        assert told[_name(v)] == VERDICT_WORDS[v.state], (where, told, v)
    initial = ob.initial_notification
    if initial is not None and initial.item is not None:
        row = _notification_row(page, inc, initial.item)
        word = "on time" if initial.state == "met" else "late"
        assert f"initial notification {word}" in row, (inc.id, row, initial)
        assert ("✓ initial" in row) == (initial.state == "met"), (inc.id, row)
    if ob.cadence is not None:
        for gap in ob.cadence.gaps:
            if gap.closes is not None:
                row = _notification_row(page, inc, gap.closes)
                assert ("✗ gap" in row) == (not gap.ok), (inc.id, row, gap)


def _name_of(name: str) -> str:
    return name[:1].upper() + name[1:]


def _notification_row(page: str, inc: Incident, index: int) -> str:
    """The notifications-table row of notification ``index`` (rows are in time order)."""
    section = page.split("## Notifications", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")][2:]
    order = sorted(inc.notifications, key=lambda n: (n.at is None, n.at or datetime.min, n.index))
    return rows[[n.index for n in order].index(index)]


def check_change(views: Views, chg: Change) -> None:
    ob = views.ws.obligations.change(chg)
    ctx = make_context(views.site, directory_urls=False)
    page = html.unescape(change_page(ctx, chg, ctx.links.records[chg.id]))
    site = _rows(page, "## Against policy") if ob.verdicts() else {}
    for v in (ob.notice, ob.approval_before_window, ob.retrospective_approval):
        if v is None:
            continue
        rule = CHANGE_RULES[v.obligation]
        pointer_not = "/related_incident" if rule == "CHG-EMERGENCY" else None
        assert views.flagged(rule, chg.id, pointer_not=pointer_not) == v.failed, (chg.id, v)
        assert site[_name(v)] == VERDICT_MARKS[v.state], (chg.id, site, v)
    if ob.notice is not None and ob.notice.item is not None:
        counted = [line for line in page.splitlines() if "ahead (needs" in line]
        assert len(counted) == 1 and ("✓" in counted[0]) == (ob.notice.state == "met"), counted


def check_pirs_and_runbooks(views: Views) -> None:
    ledger = views.ws.ledger
    ctx = make_context(views.site, directory_urls=False)
    pages: dict[str, str] = {}
    for record, action, v in views.ws.obligations.followups():  # PIRs' and problems'
        if record.id not in pages:
            path = ctx.links.records[record.id]
            page = (
                pir_page(ctx, record, path)
                if isinstance(record, Pir)
                else problem_page(ctx, record, path)
            )
            pages[record.id] = html.unescape(page)
        overdue = {f.pointer for f in views.findings.get(("PIR-OVERDUE", record.id), [])}
        pointer = f"/actions/{action.index}/due"
        assert (pointer in overdue) == (v is not None and v.state == "missing"), (record.id, v)
        label = f"{record.id}#{action.id}"
        seen = views.observations["action_on_time_rate"]
        if v is not None and label in seen:
            assert seen[label] == (v.state == "met"), (label, v)
        if v is not None and v.state == "missing":
            assert "overdue by" in pages[record.id]
    for rb in ledger.runbooks.values():
        v = views.ws.obligations.runbook(rb)
        stale = views.flagged("RB-STALE", rb.id)
        assert stale == (v is not None and v.state == "missing"), (rb.id, v)
        page = html.unescape(runbook_page(ctx, rb, ctx.links.records[rb.id]))
        assert ("✗ stale" in page) == stale, rb.id


def check_problems(views: Views) -> set[str]:
    """Each problem verdict: the PRB-* finding, the KPI observation, the problem page, the
    portfolio, the monthly review and the brief of a linked incident agree; the recurring
    clusters: PRB-CANDIDATE, problem_coverage and the findings page agree. Returns the
    states seen."""
    ws, ledger = views.ws, views.ws.ledger
    ctx = make_context(views.site, directory_urls=False)
    portfolio = html.unescape(portfolio_page(ctx))
    states: set[str] = set()
    for prb in ledger.problem_records.values():
        ob = ws.obligations.problem(prb)
        page = html.unescape(problem_page(ctx, prb, ctx.links.records[prb.id]))
        site = _rows(page, "## Against policy") if ob.verdicts() else {}
        for v in ob.verdicts():
            states.add(f"{v.obligation}: {v.state}")
            assert site[_name(v)] == VERDICT_MARKS[v.state], (prb.id, site, v)
        held, fix, known = ob.fix_held, ob.fix_change, ob.known_error
        assert views.flagged("PRB-RECURRED", prb.id) == (held is not None and held.failed)
        assert views.flagged("PRB-FIX", prb.id) == (fix is not None and fix.failed), prb.id
        late = [
            f
            for f in views.findings.get(("PRB-KNOWN-ERROR", prb.id), [])
            if f.severity == "warning"
        ]
        assert bool(late) == (known is not None and known.failed), (prb.id, known)
        seen = views.observations["recurrence_after_fix"]
        if prb.id in seen:
            assert held is not None and seen[prb.id] == held.failed, (prb.id, held)
        if held is not None:
            row = next(
                line
                for line in portfolio.splitlines()
                if f"[{prb.id}]" in line and "Fix" not in line and line.count("|") == 6
            )
            assert VERDICT_MARKS[held.state] in row.rsplit("|", 2)[1], (prb.id, row)
        first = next((i for i in prb.incidents if i in ledger.incidents), None)
        if first is not None and prb.id == ws.obligations.problems_of(first)[0].id:
            told = brief(ws, first).split("## Problem\n", 1)[1].split("\n## ", 1)[0]
            assert f"its status is **{prb.status}**" in told, (prb.id, told)
            for v in ob.verdicts():
                assert f"{v.title}: {mark(v)}" in told, (prb.id, v, told)
    flagged = {r for (rule, r) in views.findings if rule == "PRB-CANDIDATE"}
    candidates = ws.obligations.candidates
    assert flagged == {c.unlinked[-1].id for c in candidates}
    coverage = views.observations["problem_coverage"]
    clustered = {i.id for c in ws.obligations.clusters for i in c.incidents}
    assert set(coverage) <= clustered
    for inc_id, value in coverage.items():
        assert value == bool(ws.obligations.linked.get(inc_id)), inc_id
    section = "\n".join(candidates_section(ctx, "findings/index.md"))
    for c in candidates:
        assert f"--incident {c.unlinked[-1].id}" in section
    return states


# --- the demo year -------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("demo") / "repo"
    generate_demo(root, months=12, seed=7)
    return root


@pytest.mark.slow
def test_every_record_of_a_demo_year_shows_one_verdict(demo: Path) -> None:
    views = Views.of(Workspace(demo, as_of=DEMO_AS_OF))
    ledger = views.ws.ledger
    assert len(ledger.incidents) > 100 and len(ledger.changes) > 50
    states = set()
    regulatory = 0
    for inc in ledger.incidents.values():
        check_incident(views, inc)
        states |= {v.state for v in views.ws.obligations.incident(inc).ordered()}
        regulatory += check_regulatory(views, inc)
    for chg in ledger.changes.values():
        check_change(views, chg)
    check_pirs_and_runbooks(views)
    assert regulatory >= 15  # every P1's DORA classification, the reportable ones' stages
    # the year exercises every kind of verdict, so the agreement above means something
    assert {"met", "late", "missing"} <= states
    problem_states = check_problems(views)
    assert {"fix held: met", "fix held: missing", "known error: met"} <= problem_states
    recurred = [p for p in ledger.problem_records.values() if views.flagged("PRB-RECURRED", p.id)]
    for prb in recurred:  # the monthly review lists the recurrence in its month
        ob = views.ws.obligations.problem(prb)
        assert ob.fix_held is not None and ob.fix_held.at is not None
        month = ob.fix_held.at.strftime("%Y-%m")
        review = monthly(views.ws, parse_period("monthly", month))
        line = next(x for x in review.splitlines() if x.startswith(f"| {prb.id} |") and "INC-" in x)
        assert "Recurred after the fix:" in review and line


# --- mutants around every limit ----------------------------------------------------------

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
AS_OF = "2026-03-31T12:00:00Z"
LIMITS = {"P1": (5, 15, 15, 30), "P2": (15, 30, 30, 60)}  # ack, bridge, initial, update (min)


def _ts(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _around(limit: int) -> list[int]:
    return [limit - 1, limit, limit + 1]


def incident_mutants(rng: random.Random) -> Iterator[dict[str, Any]]:
    """Incidents at, before and after each limit; some in the issue's exact shape (an
    update at +5 min, the initial notification at +3 h)."""
    n = 0
    for priority, (ack, bridge, initial, update) in LIMITS.items():
        shapes: list[list[tuple[int, str]]] = [
            [],
            [(5, "update"), (180, "initial")],
            [(initial + 60, "update"), (initial - 1, "initial")],
            *([(m, "initial")] for m in _around(initial)),
            *([(2, "initial"), (2 + g, "update")] for g in _around(update)),
            *([(m, "update")] for m in _around(initial)),
            [(3, "initial"), (3 + update, "update"), (3 + 2 * update + 1, "update")],
            [(3, "initial"), (3, "update")],
        ]
        for shape, ack_at, bridge_at, resolved in itertools.product(
            shapes, [*_around(ack), None], [*_around(bridge), None], [None, 50, 61, 200]
        ):
            if rng.random() > 0.22:
                continue
            n += 1
            doc: dict[str, Any] = {
                "id": f"INC-2026-{n:04d}",
                "title": f"Mutant {n}",
                "priority": priority,
                "status": "open",
                "service": "orders-db",
                "detection": "automated",
                "source": "monitoring",
                "commander": "lena.fischer@example.com",
                "impact": "Checkout requests failed for about a fifth of customers for a while.",
                "detected_at": _ts(T0),
                "notifications": [
                    {
                        "at": _ts(T0 + timedelta(minutes=m)),
                        "kind": kind,
                        "audience": ["customers"],
                        "channel": "status-page",
                        "summary": f"Notice {i + 1} about the checkout failures.",
                    }
                    for i, (m, kind) in enumerate(shape)
                ],
            }
            if ack_at is not None:
                doc["acknowledged_at"] = _ts(T0 + timedelta(minutes=ack_at))
            if bridge_at is not None:
                doc["bridge_opened_at"] = _ts(T0 + timedelta(minutes=bridge_at))
            if resolved is not None:
                doc["status"] = "resolved"
                doc["mitigated_at"] = _ts(T0 + timedelta(minutes=resolved - 10))
                doc["resolved_at"] = _ts(T0 + timedelta(minutes=resolved))
                doc["resolution"] = "Raised the pool size and restarted the pgbouncer pods."
            yield doc


def change_mutants(rng: random.Random) -> Iterator[dict[str, Any]]:
    window = T0 + timedelta(days=3)
    n = 0
    notices = [None, -24 * 60 - 1, -24 * 60, -24 * 60 + 1, 30]
    approvals = [None, -1, 0, 1]
    for ctype, notice, approval, status in itertools.product(
        ["normal", "emergency"], notices, approvals, ["approved", "implemented", "requested"]
    ):
        if rng.random() > 0.6:
            continue
        n += 1
        doc: dict[str, Any] = {
            "id": f"CHG-2026-{n:04d}",
            "title": f"Mutant change {n}",
            "type": ctype,
            "risk": "low",
            "status": status,
            "services": ["orders-db"],
            "requested_by": "sam.okafor@example.com",
            "implementer": "sam.okafor@example.com",
            "description": "Raise the pgbouncer default pool size from 40 to 60 connections.",
            "justification": "Pool saturation alerts fired three times last week during peak.",
            "impact": "Brief reconnects for checkout while pgbouncer reloads its configuration.",
            "window": {"start": _ts(window), "end": _ts(window + timedelta(hours=1))},
            "testing": {"summary": "Load-tested at 2x peak in staging.", "evidence": ["x"]},
            "rollback": {
                "plan": "Set the pool size back to 40 and reload pgbouncer on each node.",
                "trigger": "Checkout errors above 1% for five minutes.",
                "tested": True,
                "estimated_duration": "10m",
            },
        }
        if ctype == "emergency":
            doc["related_incident"] = "INC-2026-0001"
            # retrospective approval: by the end of the 2nd business day after the start
            approval = None if approval is None else approval * 24 * 60 * 2
        if notice is not None:
            doc["notifications"] = [
                {
                    "at": _ts(window + timedelta(minutes=notice)),
                    "audience": ["service-desk"],
                    "channel": "email",
                }
            ]
        if approval is not None:
            role = "cab"
            doc["approvals"] = [
                {
                    "by": "priya.shah@example.com",
                    "role": role,
                    "at": _ts(window + timedelta(minutes=approval)),
                    "decision": "approved",
                }
            ]
        if status == "implemented":
            doc["implementation"] = {
                "started_at": _ts(window),
                "completed_at": _ts(window + timedelta(minutes=40)),
                "outcome": "successful",
                "validation": "Pool usage peaked at 61% in the 22:00 batch; p99 unchanged.",
            }
        yield doc


@pytest.fixture(scope="module")
def mutants(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import shutil

    from conftest import SERVICES, defaults_dir

    root = tmp_path_factory.mktemp("mutants") / "gov"
    shutil.copytree(defaults_dir() / "schemas", root / "schemas")
    policy = (defaults_dir() / "policy.yaml").read_text(encoding="utf-8")
    people = (
        "approvers:\n  cab: [priya.shah@example.com]\n  emergency-cab: [priya.shah@example.com]\n"
    )
    policy = re.sub(r"(?m)^approvers:\n(?:  .*\n)+", people, policy)
    (root / "policy.yaml").write_text(policy, encoding="utf-8")
    repo = Repo(root)
    repo.write("records/services.yaml", SERVICES)
    rng = random.Random(20261202)
    for doc in incident_mutants(rng):
        repo.write(f"records/incidents/{doc['id']}.yaml", json.dumps(doc, indent=1), dedent=False)
    for doc in change_mutants(rng):
        repo.write(f"records/changes/{doc['id']}.yaml", json.dumps(doc, indent=1), dedent=False)
    git_init(root)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "mutants", date="2026-03-06T10:00:00Z")
    return root


def test_mutants_at_every_limit_show_one_verdict(mutants: Path) -> None:
    views = Views.of(Workspace(mutants, as_of=AS_OF))
    ledger = views.ws.ledger
    assert len(ledger.incidents) >= 150 and len(ledger.changes) >= 40
    seen: dict[str, set[str]] = {}
    for inc in ledger.incidents.values():
        check_incident(views, inc)
        for v in views.ws.obligations.incident(inc).ordered():
            seen.setdefault(_name(v), set()).add(v.state)
    for chg in ledger.changes.values():
        check_change(views, chg)
        for v in views.ws.obligations.change(chg).verdicts():
            seen.setdefault(_name(v), set()).add(v.state)
    # each obligation was seen both met and failed, exactly-at-the-limit cases included
    for name in ("Acknowledgement", "Bridge", "Initial notification", "Update cadence"):
        assert {"met"} < seen[name], (name, seen[name])
    for name in ("Advance notice", "Approval before the window", "Retrospective approval"):
        assert "met" in seen[name] and seen[name] & {"late", "missing"}, (name, seen[name])


def test_the_issue_example_reads_the_same_everywhere(mutants: Path) -> None:
    """A P2 whose first notification is an update at +5 min and whose initial notification
    is at +3 h: late everywhere, never "on time" for the update."""
    views = Views.of(Workspace(mutants, as_of=AS_OF))
    found = [
        inc
        for inc in views.ws.ledger.incidents.values()
        if inc.priority == "P2"
        and [(n.kind, n.at) for n in inc.notifications]
        == [("update", T0 + timedelta(minutes=5)), ("initial", T0 + timedelta(hours=3))]
    ]
    assert found, "the generator always makes this shape for P2"
    inc = found[0]
    v = views.ws.obligations.incident(inc).initial_notification
    assert v is not None and v.state == "late" and v.item == 1
    assert views.flagged("INC-NOTIFY", inc.id)
    assert views.observations["initial_notification_compliance"][inc.id] == 0
    ctx = make_context(views.site, directory_urls=False)
    page = html.unescape(incident_page(ctx, inc, ctx.links.records[inc.id]))
    first = _notification_row(page, inc, 0)
    assert "on time" not in first and "first update" in first
    assert "✗ initial notification late (3h 00m after detection, limit 30m)" in page
    assert "| Initial notification | missed (late) |" in brief(views.ws, inc.id)


# --- regulatory clocks ---------------------------------------------------------------


def check_regulatory(views: Views, inc: Incident) -> int:
    """Each regulatory clock of ``inc``: the REG-* finding at its field, the KPI's
    observation for its stage, the incident page's mark, the brief's words, the monthly
    review's line and the draft's verdict agree. Returns the number of clocks checked."""
    from opsledger.findings import json_pointer
    from opsledger.kpis import KpiOptions
    from opsledger.period import Period as ReportPeriod
    from opsledger.reports.regulatory import STATES, monthly_section
    from opsledger.reports.regulatory_draft import choose

    clocks = views.ws.obligations.regulatory(inc)
    if not clocks:
        return 0
    ctx = make_context(views.site, directory_urls=False)
    page = html.unescape(incident_page(ctx, inc, ctx.links.records[inc.id]))
    section = page.split("## Regulatory clocks\n", 1)[1].split("\n## ", 1)[0]
    marks = [
        [c.strip() for c in line.strip().strip("|").split("|")]
        for line in section.splitlines()
        if line.startswith("| ") and not line.startswith("| Regime")
    ]
    told = _rows(brief(views.ws, inc.id), "## Regulatory reporting")
    observed = views.regulatory
    zone = views.ws.policy.timezone
    for n, clock in enumerate(clocks):
        v, where = clock.verdict, f"{inc.id} {clock.regime.id}/{clock.stage_id}"
        rule = "REG-CLASSIFY" if clock.stage is None else "REG-DEADLINE"
        # the finding: at the clock's field, saying what the verdict says
        said = {(f.pointer, f.message) for f in views.findings.get((rule, inc.id), [])}
        message = v.detail if clock.stage is None else f"{v.title}: {v.detail}"
        assert ((json_pointer(v.path), message) in said) == v.failed, (where, v, said)
        assert marks[n][:2] == [clock.regime.name, clock.stage_name], (where, marks[n])
        assert marks[n][4] == VERDICT_MARKS[v.state], (where, marks[n], v)
        assert told[f"{clock.regime.name} {clock.stage_name}"] == VERDICT_WORDS[v.state], where
        key = (inc.id, f"{clock.regime.id}/{clock.stage_id}")
        if clock.stage is not None and v.due is not None and v.state != "pending":
            assert observed[key] == (v.state == "met"), (where, v)
        else:
            assert key not in observed, where
        if clock.stage is not None:
            draft = choose(views.ws, inc.id, clock.regime.id, clock.stage.id)
            assert draft.data["stage"]["verdict"] == v.state, where
        listed = clock.stage is not None and v.due is not None and v.state != "pending"
        if listed or v.state == "pending":
            moment = v.due if listed and v.due is not None else views.ws.as_of
            month = moment.astimezone(zone).strftime("%Y-%m")
            if month not in views.monthly:
                period = ReportPeriod.of("month", moment.astimezone(zone).date(), zone)
                report = views.ws.kpis(
                    KpiOptions(
                        as_of=views.ws.as_of,
                        since=period.since,
                        until=period.until,
                        only=("regulatory_on_time_rate",),
                    )
                )
                ledger, obligations = views.ws.ledger, views.ws.obligations
                views.monthly[month] = monthly_section(ledger, obligations, report, period)
            lines = views.monthly[month]
            head = f"| {inc.id} | {clock.regime.name} | {clock.stage_name} |"
            row = next((line for line in lines if line.startswith(head)), None)
            assert row is not None and row.endswith(f"| {STATES[v.state]} |"), (where, month, row)
    return len(clocks)


def regulatory_mutants() -> Iterator[dict[str, Any]]:
    """P1 incidents detected 31 Jan 2026 09:00 UTC with their DORA clocks one second
    before, at and after each deadline (the 24h backstop, classification + 4h, 72h after
    the initial notification, a calendar month after the intermediate report: 28 Feb)."""
    detected = datetime(2026, 1, 31, 9, 0, tzinfo=UTC)
    second = timedelta(seconds=1)
    n = 0
    for decided_h, initial, intermediate, final in itertools.product(
        [2, 23, 25, None],
        [None, "c4", "b24"],
        [None, "72h"],
        [None, "1mo"],
    ):
        for nudge in (-second, timedelta(0), second):
            n += 1
            doc: dict[str, Any] = {
                "id": f"INC-2026-{n:04d}",
                "title": f"Regulatory mutant {n}",
                "priority": "P1",
                "status": "open",
                "service": "orders-db",
                "detection": "automated",
                "source": "monitoring",
                "commander": "lena.fischer@example.com",
                "impact": "Card payments failed for every customer while the gateway was down.",
                "detected_at": _ts(detected),
                "bridge_opened_at": _ts(detected),
            }
            if decided_h is None:
                yield doc
                continue
            decided = detected + timedelta(hours=decided_h)
            subs = []
            if initial is not None:
                due = min(decided + timedelta(hours=4), detected + timedelta(hours=24))
                at = (due if initial == "c4" else detected + timedelta(hours=24)) + nudge
                subs.append({"stage": "initial", "at": _ts(at), "reference": f"R-{n}"})
                if intermediate is not None:
                    at = at + timedelta(hours=72) + nudge
                    subs.append({"stage": "intermediate", "at": _ts(at)})
                    if final is not None:
                        month = at.replace(month=at.month + 1, day=min(at.day, 28))
                        subs.append({"stage": "final", "at": _ts(month + nudge)})
            doc["regulatory"] = [
                {
                    "regime": "dora",
                    "decision": "reportable",
                    "decided_at": _ts(decided + nudge),
                    "submissions": subs,
                }
            ]
            yield doc


@pytest.fixture(scope="module")
def regulatory_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import shutil

    from conftest import SERVICES, defaults_dir

    root = tmp_path_factory.mktemp("regulatory") / "gov"
    shutil.copytree(defaults_dir() / "schemas", root / "schemas")
    policy = (defaults_dir() / "policy.yaml").read_text(encoding="utf-8") + "\n" + DORA
    (root / "policy.yaml").write_text(policy, encoding="utf-8")
    repo = Repo(root)
    repo.write("records/services.yaml", SERVICES)
    for doc in regulatory_mutants():
        repo.write(f"records/incidents/{doc['id']}.yaml", json.dumps(doc, indent=1), dedent=False)
    git_init(root)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "regulatory mutants", date="2026-03-06T10:00:00Z")
    return root


def test_regulatory_clocks_read_the_same_everywhere(regulatory_repo: Path) -> None:
    views = Views.of(Workspace(regulatory_repo, as_of="2026-03-15T12:00:00Z"))
    seen: dict[str, set[str]] = {}
    checked = 0
    for inc in views.ws.ledger.incidents.values():
        checked += check_regulatory(views, inc)
        for clock in views.ws.obligations.regulatory(inc):
            seen.setdefault(clock.stage_id, set()).add(clock.verdict.state)
    assert checked > 200
    for stage in ("classification", "initial", "intermediate", "final"):
        assert {"met", "late"} <= seen[stage] or {"met", "missing"} <= seen[stage], seen
    assert "pending" in seen["final"]


def test_a_problem_action_is_a_followup_everywhere(repo: Repo) -> None:
    """A problem's action past its due date: the problem page showed it overdue, while the
    audit, action_on_time_rate, backlog_aged, the weekly report and the actions tracker
    went through PIR actions only (nothing said, nothing excluded). Each now reads the
    same action-due verdict."""
    from opsledger.kpis import KpiOptions
    from opsledger.reports.scorecard import weekly
    from opsledger.rules.examples import BASE
    from opsledger.site.data import collect
    from opsledger.site.page_actions import actions_page

    for path, text in BASE.values():
        if path.startswith("records/problems/"):
            assert 'due: "2026-03-20"\n    status: done' in text
            text = text.replace(
                'due: "2026-03-20"\n    status: done', 'due: "2026-03-20"\n    status: open'
            )
        repo.write(path, text, dedent=False)
    git_init(repo.root)
    git(repo.root, "add", "-A", date="2026-03-12T10:00:00Z")
    git(repo.root, "commit", "-qm", "records", date="2026-03-12T10:00:00Z")
    ws = Workspace(repo.root, as_of=AS_OF)
    label = "PRB-2026-0007#A1"
    (verdict,) = ws.obligations.actions(ws.ledger.problem_records["PRB-2026-0007"])
    assert verdict is not None and verdict.state == "missing"
    overdue = [f for f in ws.findings() if f.rule == "PIR-OVERDUE"]
    assert [(f.record, f.pointer) for f in overdue] == [("PRB-2026-0007", "/actions/0/due")]
    report = ws.kpis(KpiOptions(as_of=ws.as_of, only=("action_on_time_rate", "backlog_aged")))
    on_time, backlog = report.get("action_on_time_rate"), report.get("backlog_aged")
    assert {o.record: o.value for o in on_time.observations}[label] is False
    assert {o.record: o.value for o in backlog.observations}[label] is True
    assert [g.key for g in backlog.groups.get("service", ())] in ([], ["orders-db"])
    week = weekly(ws, parse_period("weekly", "2026-W13"))
    assert "| PRB-2026-0007 A1 |" in week.split("## Overdue actions")[1]
    page = actions_page(make_context(collect(repo.root, AS_OF), directory_urls=False))
    row = next(line for line in page.splitlines() if "PRB-2026-0007" in line)
    assert "overdue" in row
    told = brief(ws, "INC-2026-0042").split("## Problem\n", 1)[1]
    assert "Actions of problem PRB-2026-0007:" in told
    assert f"| {VERDICT_WORDS['missing']} |" in told.split("Actions of problem", 1)[1]
