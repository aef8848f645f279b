"""Incident wording and communications: impact statements, notifications, escalations, timeline.

Notifications are timed against the policy: the initial one inside
``initial_notification_within`` of detection, then updates at 50-90% of ``update_every``
until resolution, then a resolution notice - all on whole minutes, so no gap ever exceeds the
cadence. Two defect flags bend this on purpose (a late initial notice, one long gap).
"""

from __future__ import annotations

import math
import random
from datetime import datetime
from typing import TYPE_CHECKING

from opsledger.demo.clock import MINUTE, hhmm, minutes

if TYPE_CHECKING:
    from opsledger.demo.catalog import Service
    from opsledger.demo.context import Ctx
    from opsledger.demo.incidents import Escalation, Incident, Notice

_AUDIENCE = {
    "P1": (("customers", "executive-team", "customer-support"), "status-page"),
    "P2": (("customer-support", "business-stakeholders"), "email"),
    "P3": (("customer-support",), "slack #service-status"),
}
_PROGRESS = (
    "The {team} team has identified a likely cause and is applying a mitigation.",
    "Engineers are working on a mitigation; {users} may still see {symptom}.",
    "Investigation continues with the {team} team; the workaround is {workaround}.",
)
_STABLE = (
    "Service is restored for {users}; the team is confirming the underlying cause.",
    "{name} is stable after mitigation and error rates are back to baseline.",
    "A permanent correction is being prepared; no user impact since mitigation.",
)


def fill(text: str, service: Service, **extra: str) -> str:
    """``text`` with the service's words (and ``extra``) substituted."""
    words = service.words()
    words.update(extra)
    return text.format_map(words)


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def impact(rng: random.Random, incident: Incident) -> str:
    """The business impact statement, by priority."""
    service, symptom = incident.service, incident.scenario.symptom
    if incident.priority == "P1":
        pct = rng.randint(40, 100)
        return fill(
            "{Users} could not {verb}: about {pct}% of {unit} failed across all channels, "
            "with revenue and customer trust at risk.",
            service,
            Users=_upper_first(service.spec.users),
            pct=str(pct),
        )
    if incident.priority == "P2":
        return fill(
            "About {pct}% of {unit} on {name} failed or were slow for {users}; customer "
            "support logged {contacts} contacts.",
            service,
            pct=str(rng.randint(5, 40)),
            contacts=str(rng.randint(12, 240)),
        )
    if incident.priority == "P3":
        return fill(
            "Some {users} saw {symptom} on {name}; they could carry on by {workaround}.",
            service,
            symptom=symptom,
        )
    return fill(
        "One {user_one} saw {symptom} on {name} and carried on by {workaround}.",
        service,
        symptom=symptom,
    )


def reopen_reason(rng: random.Random, incident: Incident) -> str:
    """Why an incident was reopened."""
    return fill(
        "The {symptom} came back on {name} {hours} hours after the first correction.",
        incident.service,
        symptom=incident.scenario.symptom,
        hours=str(rng.randint(2, 20)),
    )


def resolution(incident: Incident) -> str:
    """What fixed the incident."""
    if incident.statement_defect == "resolution":
        return "Fixed"
    service = incident.service
    if incident.caused_by is not None:
        return fill(
            "Reverted change {change} on {name}; {unit} went back to normal levels and the "
            "change will be re-planned with a corrected build.",
            service,
            change=incident.caused_by.id,
        )
    text = fill(incident.scenario.fix, service)
    if incident.resolved == incident.mitigated and incident.reopen is None:
        text = fill(incident.scenario.mitigation, service) + " No further correction was needed."
    if incident.emergency is not None:
        text += f" Service was restored by emergency change {incident.emergency.id}."
    return text


def _fix_sentence(incident: Incident) -> str:
    scenario = incident.scenario
    fixed_by = scenario.mitigation if incident.resolved == incident.mitigated else scenario.fix
    return fill(fixed_by, incident.service)


def notices(ctx: Ctx, rng: random.Random, incident: Incident) -> list[Notice]:
    """Notifications timed against the policy's clocks for the declared priority."""
    from opsledger.demo.incidents import Notice

    rules = ctx.policy.priorities[incident.priority]
    if incident.priority not in _AUDIENCE:
        return []
    audience, channel = _AUDIENCE[incident.priority]
    service = incident.service
    limit = int(rules.initial.total_seconds() // 60)
    cadence = int(rules.update.total_seconds() // 60)
    top = max(1, math.floor(cadence * 0.9))
    if incident.priority == "P3":
        span = incident.resolved - incident.detected
        if incident.reopen or span.total_seconds() / 60 > cadence * 0.8 or rng.random() < 0.6:
            return []
    if incident.late_initial:
        initial = incident.detected + minutes(
            limit + rng.randint(3, max(3, min(15, cadence - limit - 2)))
        )
    else:
        initial = incident.detected + minutes(rng.uniform(0.3, 0.85) * limit)
        initial = min(max(initial, incident.ack + MINUTE), incident.detected + minutes(limit * 0.9))
    if initial >= incident.resolved:
        return []
    words = {"symptom": incident.scenario.symptom}
    result = [
        Notice(
            initial,
            "initial",
            audience,
            channel,
            fill(
                "We are investigating {symptom} on {name}. Next update within {every}.",
                service,
                every=_every(cadence),
                **words,
            ),
        )
    ]
    stop = incident.downgrade[0] if incident.downgrade else incident.resolved
    last, gap_done = initial, not incident.cadence_gap
    while incident.priority != "P3":
        gap = rng.randint(max(1, cadence // 2), top)
        if not gap_done and last + minutes(3 * cadence) < stop:
            gap, gap_done = 2 * cadence + rng.randint(5, 20), True
        moment = last + minutes(gap)
        if moment >= stop:
            break
        pool = _PROGRESS if moment < incident.mitigated else _STABLE
        result.append(
            Notice(moment, "update", audience, channel, fill(rng.choice(pool), service, **words))
        )
        last = moment
    room = max(0, top - int((incident.resolved - last).total_seconds() // 60))
    if incident.downgrade:
        room = min(30, max(room, 0))
    closing = incident.resolved + minutes(rng.randint(0, min(room, 30)))
    result.append(
        Notice(
            closing,
            "resolution",
            audience,
            channel,
            fill(
                "{name} is working normally again. {fix}",
                service,
                fix=_fix_sentence(incident),
            ),
        )
    )
    return result


def _every(minutes_count: int) -> str:
    if minutes_count % 1440 == 0:
        return f"{minutes_count // 1440} day(s)"
    if minutes_count % 60 == 0:
        return f"{minutes_count // 60} hour(s)"
    return f"{minutes_count} minutes"


def escalations(rng: random.Random, incident: Incident) -> list[Escalation]:
    """One or two escalations between acknowledgement and mitigation."""
    from opsledger.demo.incidents import Escalation

    service = incident.service
    ladder = dict(service.escalation())
    span = incident.mitigated - incident.ack
    first_at = incident.ack + minutes(span.total_seconds() / 60 * rng.uniform(0.1, 0.45))
    targets: list[tuple[int | str, str, datetime]] = [(3, str(ladder[3]), first_at)]
    vendor = ladder.get("vendor")
    if (
        vendor
        and incident.major
        and (incident.scenario.category == "third-party" or rng.random() < 0.3)
    ):
        later = first_at + minutes(span.total_seconds() / 60 * rng.uniform(0.1, 0.4))
        targets.append(("vendor", str(vendor), later))
    result = []
    for index, (tier, team, moment) in enumerate(targets):
        context = fill(
            "{priority} incident on {name} since {since} UTC: {users} report {symptom}.",
            service,
            priority=incident.priority,
            since=hhmm(incident.detected),
            symptom=incident.scenario.symptom,
        )
        troubleshooting: str | None = fill(incident.scenario.troubleshooting, service)
        if incident.escalation_gap and index == 0:
            troubleshooting = None
        assessment = fill(
            "Priority {priority} with {scope} scope; {users} can work around it by {workaround}.",
            service,
            priority=incident.priority,
            scope=incident.scope,
        )
        result.append(Escalation(moment, tier, team, context, troubleshooting, assessment))
    return result


def timeline(incident: Incident) -> list[tuple[datetime, str]]:
    """Key moments of the incident, in order (each shown once its time has come)."""
    service = incident.service
    if incident.detection == "automated":
        start = fill("{alert} alert fired in monitoring.", service)
    else:
        start = (
            f"Reported through {incident.source.replace('-', ' ')} by "
            f"{_article(service.spec.user_one)} {service.spec.user_one}."
        )
    events: list[tuple[datetime, str]] = [(incident.detected, start)]
    events.append((incident.ack, f"Acknowledged by {incident.responder.name}."))
    if incident.bridge is not None and incident.commander is not None:
        events.append(
            (incident.bridge, f"Bridge opened with {incident.commander.name} as commander.")
        )
    events.extend((item.at, f"Escalated to {item.team}.") for item in incident.escalations)
    change = incident.emergency
    if change is not None and change.implementation is not None:
        events.append(
            (
                change.implementation.completed,
                f"Emergency change {change.id} implemented: {change.title}.",
            )
        )
    if incident.resolved != incident.mitigated:
        events.append((incident.mitigated, fill(incident.scenario.mitigation, service)))
    if incident.reopen is not None:
        first, again, reason = incident.reopen
        events.append((first, "Marked resolved after the first correction."))
        events.append((again, f"Reopened: {reason}"))
    events.append((incident.resolved, resolution(incident)))
    events.extend((at, text) for at, _who, text in incident.notes)
    return sorted(events, key=lambda item: item[0])
