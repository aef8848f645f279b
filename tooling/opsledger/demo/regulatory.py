"""Regulatory reporting in the demo: DORA active, and each P1 incident's decision and
submissions planned with the incident.

The demo company's payment arm is a financial entity under DORA, so the demo policy
activates the DORA preset of the default policy, for P1 incidents (the company's "major"
ICT-related incidents). Every P1 incident records a decision within hours of detection:
most are not reportable (with the reason), a few are reportable and go through the initial
notification, intermediate and final report. Two of them carry a planted defect (listed in
the answer key): an initial notification past the 24-hour backstop, and an intermediate
report never submitted. One near the end of the period keeps its final report open (due
after the period: an upcoming deadline on the calendar, not a finding).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from opsledger.demo.clock import DAY, HOUR, MINUTE, minutes, ts
from opsledger.demo.context import Ctx, Step

#: why the demo activates DORA, written above the regime in its policy
PREAMBLE = """
# The demo company's payment arm is a DORA financial entity: its P1 incidents are assessed
# against DORA's major-incident criteria (the default policy's DORA preset, activated).
regulatory:
  regimes:
"""

REASONS = (
    "Below DORA's major-incident thresholds: no clients' payments affected, no data lost, "
    "restored within two hours.",
    "Storefront only: the payment arm's critical functions were not affected and no "
    "client transaction failed.",
    "Internal impact only: no clients, counterparts or payment services affected; no data "
    "integrity or confidentiality impact.",
)
STAGE_NAMES = {
    "initial": "initial notification",
    "intermediate": "intermediate report",
    "final": "final report",
}


@dataclass
class Filing:
    """One incident's DORA decision and submissions (times in UTC)."""

    decided: datetime
    reportable: bool
    reason: str = ""
    submissions: list[tuple[str, datetime]] = field(default_factory=list)
    reference: str = ""
    role: str = "not-reportable"  # on-time, backstop, open, upcoming or not-reportable

    def entry(self, moment: datetime) -> dict[str, Any] | None:
        """The ``regulatory`` entry as of ``moment`` (None before the decision)."""
        if self.decided > moment:
            return None
        entry: dict[str, Any] = {
            "regime": "dora",
            "decision": "reportable" if self.reportable else "not-reportable",
            "decided_at": ts(self.decided),
        }
        if not self.reportable:
            entry["reason"] = self.reason
        made = [(stage, at) for stage, at in self.submissions if at <= moment]
        if made:
            entry["submissions"] = [
                {"stage": stage, "at": ts(at), "reference": self.reference} for stage, at in made
            ]
        return entry


def policy_text(text: str) -> str:
    """The demo policy: ``text`` (the default policy) with its commented DORA preset
    activated for P1 incidents."""
    lines = text.splitlines()
    first = lines.index("#     - id: dora")
    last = next(n for n in range(first + 1, len(lines)) if lines[n].startswith("#     - id: "))
    while lines[last - 1].startswith("#     # "):  # the next regime's own comments
        last -= 1
    preset = "\n".join(line[2:] for line in lines[first:last]) + "\n"
    preset = preset.replace("applies_to: {priorities: [P1, P2]}", "applies_to: {priorities: [P1]}")
    return text.rstrip("\n") + "\n" + PREAMBLE + preset


def plan(ctx: Ctx, incidents: list[Any]) -> None:
    """Give every P1 incident its DORA filing; plant the two REG-DEADLINE defects."""
    rng = ctx.rng("regulatory")
    p1 = sorted(
        (i for i in incidents if i.priority == "P1" and i.deleted is None),
        key=lambda i: i.detected,
    )
    clean = [i for i in p1 if i.defect is None]
    early = [i for i in clean if i.detected < ctx.end_dt - 45 * DAY]
    # a pending final report needs no clean record: it is not a finding
    late = [i for i in p1 if ctx.end_dt - 28 * DAY <= i.detected < ctx.end_dt - 6 * DAY]
    chosen: dict[str, Any] = {}
    for name, pool in (("on-time", early), ("backstop", early), ("open", early)):
        left = [i for i in pool if i.id not in {c.id for c in chosen.values()}]
        if left:
            chosen[name] = rng.choice(left)
    if late:
        chosen["upcoming"] = late[-1]
    roles = {incident.id: name for name, incident in chosen.items()}
    for n, incident in enumerate(p1):
        role = roles.get(incident.id)
        reference = f"NCA-DORA-{incident.detected:%Y}-{100 + n:03d}"
        if role is None:
            decided = incident.detected + minutes(rng.randint(90, 6 * 60))
            incident.regulatory = Filing(decided, False, REASONS[n % len(REASONS)])
            continue
        incident.regulatory = _reportable(rng, incident.detected, role, reference)
        incident.regulatory.role = role
        if role == "backstop":
            incident.defect = "REG-DEADLINE"
            incident.note = "DORA initial notification sent after the 24h backstop from awareness"
        elif role == "open":
            incident.defect = "REG-DEADLINE"
            incident.note = "DORA intermediate report never submitted; due 72h after the initial"


def _reportable(rng: random.Random, detected: datetime, role: str, reference: str) -> Filing:
    if role == "backstop":
        decided = detected + 20 * HOUR + minutes(rng.randint(0, 50))
        initial = detected + 25 * HOUR + minutes(rng.randint(0, 120))  # past the 24h backstop
    else:
        decided = detected + minutes(rng.randint(60, 180))
        initial = decided + minutes(rng.randint(60, 200))  # within the 4h
    intermediate = initial + 48 * HOUR + minutes(rng.randint(0, 600))
    final = intermediate + 20 * DAY + minutes(rng.randint(0, 5 * 1440))
    submissions = [("initial", initial)]
    if role != "open":
        submissions.append(("intermediate", intermediate))
    if role in ("on-time", "backstop"):
        submissions.append(("final", final))
    return Filing(decided, True, "", submissions, reference)


#: where the demo lists its regulatory cases (next to the defects answer key)
KEY_PATH = ".opsledger/demo-regulatory.json"
ROLES = {
    "on-time": "reportable; every stage submitted on time",
    "backstop": "reportable; initial notification after the 24h backstop (REG-DEADLINE)",
    "open": "reportable; intermediate report never submitted, deadline passed (REG-DEADLINE)",
    "upcoming": "reportable; final report open, due after the period (no finding)",
    "not-reportable": "decided not reportable, with the reason",
}


def answer_key(incidents: list[Any]) -> str:
    """``.opsledger/demo-regulatory.json``: each P1 incident's DORA case and the finding
    the audit must report for it (``rule`` null: none)."""
    rows = [
        {
            "record": i.id,
            "regime": "dora",
            "case": i.regulatory.role,
            "rule": "REG-DEADLINE" if i.regulatory.role in ("backstop", "open") else None,
            "note": ROLES[i.regulatory.role]
            + (f": {i.regulatory.reason}" if i.regulatory.reason else ""),
        }
        for i in sorted(incidents, key=lambda i: i.id)
        if i.regulatory is not None and i.deleted is None
    ]
    return json.dumps(rows, indent=2, ensure_ascii=False) + "\n"


def steps(incident: Any, who: Any) -> list[Step]:
    """The commits recording the decision and each submission."""
    filing: Filing | None = incident.regulatory
    if filing is None:
        return []
    decision = "reportable" if filing.reportable else "not reportable"
    found = [Step(filing.decided + 4 * MINUTE, who, f"{incident.id}: DORA: {decision}", True)]
    for stage, at in filing.submissions:
        found.append(
            Step(at + 6 * MINUTE, who, f"{incident.id}: DORA {STAGE_NAMES[stage]} submitted", True)
        )
    return found


__all__ = ["KEY_PATH", "Filing", "answer_key", "plan", "policy_text", "steps"]
