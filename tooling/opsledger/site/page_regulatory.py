"""Regulatory reporting on the site: the regulatory calendar (every regime's deadlines,
upcoming first, missed ones marked, each linking its incident) and the "Regulatory clocks"
section of each incident page.

Both show the clocks :meth:`opsledger.obligations.Obligations.regulatory` decides: the
verdicts REG-CLASSIFY and REG-DEADLINE report, the KPI counts and the reports list.
"""

from __future__ import annotations

from opsledger.model.records import Incident
from opsledger.obligations.regulatory import Clock
from opsledger.reports.regulatory import every_clock
from opsledger.site.common import NONE, head, table, verdict_mark, when
from opsledger.site.context import PageContext
from opsledger.text.escape import md, md_lines

PAGE = "regulatory.md"
_NOT_ACTIVE = "No regulatory regime is active (policy.yaml `regulatory.regimes`)."


def _cells(ctx: PageContext, clock: Clock) -> tuple[str, ...]:
    zone = ctx.data.ledger.policy.timezone
    v = clock.verdict
    return (
        md(clock.regime.name),
        md(clock.stage_name),
        md(when(v.due, zone)) if v.due is not None else md(f"not started ({v.detail})"),
        md(when(v.at, zone)),
        md(verdict_mark(v.state)),
        md(clock.reference) if clock.reference else NONE,
    )


def regulatory_page(ctx: PageContext) -> str:
    ledger = ctx.data.ledger
    out = head("Regulatory calendar", hide_toc=True)
    if not ledger.policy.regulatory:
        return "\n".join([*out, _NOT_ACTIVE, ""]) + "\n"
    regimes = ", ".join(
        f"{r.name}" + (f" ({r.authority})" if r.authority else "") for r in ledger.policy.regulatory
    )
    out += [
        f"Regulatory reporting deadlines of every incident under {md(regimes)}, in the policy "
        f"time zone {md(str(ledger.policy.timezone))}: open ones first (soonest deadline first), "
        "then missed or late (✗), then those met (✓). Each deadline is the earlier of the "
        "stage's time after its anchor and its backstop after awareness; the marks are the "
        "audit's verdicts (REG-CLASSIFY, REG-DEADLINE).",
        "",
    ]
    clocks = list(every_clock(ledger, ctx.data.verdicts))
    header = ["Incident", "Regime", "Stage", "Deadline", "Submitted", "Verdict", "Reference"]

    def rows(found: list[tuple[Incident, Clock]]) -> list[tuple[str, ...]]:
        return [(ctx.links.record(PAGE, inc.id), *_cells(ctx, c)) for inc, c in found]

    def due_key(pair: tuple[Incident, Clock]) -> tuple[float, str]:
        due = pair[1].verdict.due
        return (due.timestamp() if due is not None else float("inf"), pair[0].id)

    upcoming = sorted(
        ((i, c) for i, c in clocks if c.verdict.state == "pending" and c.verdict.due), key=due_key
    )
    waiting = [(i, c) for i, c in clocks if c.verdict.state == "pending" and not c.verdict.due]
    missed = sorted(((i, c) for i, c in clocks if c.verdict.failed), key=due_key, reverse=True)
    done = sorted(
        ((i, c) for i, c in clocks if c.verdict.state in ("met", "unverified")),
        key=due_key,
        reverse=True,
    )
    for title, found, empty in (
        (f"Upcoming ({len(upcoming)})", upcoming, "No open deadline."),
        (
            f"Waiting for an earlier stage ({len(waiting)})",
            waiting,
            "None.",
        ),
        (f"Missed or late ({len(missed)})", missed, "None."),
        (f"Met ({len(done)})", done, "None."),
    ):
        out += [f"## {title}", ""]
        out += table(header, rows(found)) if found else [empty, ""]
    return "\n".join(out) + "\n"


def regulatory_section(ctx: PageContext, inc: Incident) -> list[str]:
    """``## Regulatory clocks`` of an incident page (nothing when no regime applies)."""
    clocks = ctx.data.verdicts.regulatory(inc)
    if not clocks:
        return []
    zone = ctx.data.ledger.policy.timezone
    out = ["## Regulatory clocks", ""]
    seen: set[str] = set()
    for clock in clocks:
        filing = clock.filing
        if clock.regime.id in seen:
            continue
        seen.add(clock.regime.id)
        if filing is None or filing.decision is None:
            decision = "not classified yet"
        else:
            decision = f"{filing.decision} (decided {when(filing.decided_at, zone)})"
        line = f"**{md(clock.regime.name)}**: {md(decision)}"
        if filing is not None and filing.decision == "not-reportable" and filing.reason:
            line += f": {md_lines(filing.reason)}"
        out += [line, ""]
    header = ["Regime", "Stage", "Deadline", "Submitted at", "Verdict", "Reference"]
    out += table(header, (_cells(ctx, c) for c in clocks))
    return out
