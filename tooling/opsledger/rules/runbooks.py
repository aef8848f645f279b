"""Runbook rules: RB-SECTIONS, RB-STALE, RB-COVERAGE."""

from __future__ import annotations

from collections.abc import Iterator

from opsledger.findings import Finding, json_pointer
from opsledger.model.layout import SERVICES_FILE
from opsledger.model.policy import Policy
from opsledger.model.records import Runbook
from opsledger.model.settings import DURATION, LINES, REQUIRED, TIMEZONE_SETTING, Setting
from opsledger.rules.base import Context, Judging, RecordRule, Rule
from opsledger.rules.examples import Examples, File, example, overlays
from opsledger.rules.pirs import SectionsRule
from opsledger.rules.text import PLACEHOLDERS

RUNBOOK_SECTIONS = Setting(
    "runbooks.required_sections",
    LINES.refine(uniqueItems=True),
    REQUIRED,
    "the headings every runbook body has, each with content",
    "runbook_sections",
)
REVIEW_EVERY = Setting(
    "runbooks.review_every",
    DURATION,
    REQUIRED,
    "how often a runbook is reviewed, unless it sets its own review_every",
    "runbook_review_every",
)


class RunbookRule(Rule):
    kinds = ("runbook",)


class RbSections(SectionsRule, RunbookRule, RecordRule[Runbook]):
    """The runbook body has every required section, each with content.

    What it checks:
      Each heading named in ``runbooks.required_sections`` appears in the Markdown body, at
      any heading level, compared case-insensitively (spacing and a trailing colon ignored),
      and has content: text under it, or sub-headings with text. A section that is empty,
      holds only HTML comments, or holds only placeholders (``TBD``, ``n/a``…) fails. A
      missing section is reported at the first line of the body, an empty one at its
      heading.

    Why auditors care:
      Responders open a runbook in the middle of an incident; one without diagnosis,
      mitigation or escalation steps sends them back to improvising, and the restoration
      time shows it.
    """

    id = "RB-SECTIONS"
    tables = ("runbooks",)
    summary = "required runbook section missing or empty"
    settings = (RUNBOOK_SECTIONS, PLACEHOLDERS)
    examples = overlays(
        "runbook",
        failing="""\
            ## Escalation

            TBD
            """,
        passing="""\
            ## Escalation

            - Tier 3: Database Reliability (PagerDuty orders-db) for locks or failover.
            """,
        markdown=True,
    )

    def required(self, policy: Policy) -> tuple[str, ...]:
        return policy.runbook_sections

    def judge(self, ctx: Judging, runbook: Runbook) -> Iterator[Finding]:
        yield from self.sections(ctx, runbook, runbook.sections)


class RbStale(RunbookRule, RecordRule[Runbook]):
    """The runbook was reviewed within its review interval.

    What it checks:
      ``last_reviewed`` plus the runbook's own ``review_every`` (else the policy's
      ``runbooks.review_every``) is not before today (``--as-of`` in the policy timezone).
      A runbook reviewed exactly ``review_every`` ago passes. A runbook whose own
      ``review_every`` is not a valid duration is left to SCHEMA.

    Why auditors care:
      A runbook nobody has checked against the current system sends responders to hosts,
      dashboards and commands that no longer exist.
    """

    id = "RB-STALE"
    tables = ("runbooks",)
    severity = "warning"
    summary = "runbook not reviewed within its review interval"
    settings = (REVIEW_EVERY, TIMEZONE_SETTING)
    settings_note = (
        "The default severity is warning; set ``rules.severity: {RB-STALE: error}`` in "
        "policy.yaml to make stale runbooks fail CI."
    )
    examples = overlays(
        "runbook",
        failing="""\
            last_reviewed: "2025-09-01"
            review_every: 180d            # today is 2026-03-31: 211 days ago
            """,
        passing='last_reviewed: "2026-01-15"',
    )

    def judge(self, ctx: Judging, rb: Runbook) -> Iterator[Finding]:
        v = ctx.obligations.runbook(rb)
        if v is None or v.state != "missing":
            return
        yield self.finding(
            rb,
            v.detail,
            "last_reviewed",
            fix="review the runbook against the current system, then update last_reviewed",
        )


class RbCoverage(Rule):
    """Every tier-1 service has at least one runbook.

    What it checks:
      Each service in ``records/services.yaml`` with ``tier: 1`` is listed in the
      ``services`` of at least one runbook, or its own ``runbooks`` names a runbook that
      exists. The finding points at the service's ``id`` in the catalog.

    Why auditors care:
      Tier-1 services are the ones whose outage stops the business; responding to one
      without a runbook depends on who happens to be on call.
    """

    id = "RB-COVERAGE"
    kinds = ("services",)
    summary = "tier-1 service without a runbook"
    examples = Examples(
        example(
            File(
                "services",
                """\
                - id: payments
                  name: Payments gateway
                  tier: 1
                  owner: grace.kim@example.com
                  availability_target: 99.95
                  runbooks: []            # and no runbook lists payments
                """,
            )
        ),
        example(
            File(
                "services",
                """\
                - id: payments
                  name: Payments gateway
                  tier: 1
                  owner: grace.kim@example.com
                  availability_target: 99.95
                  runbooks: [RB-0004]
                """,
            ),
            File(
                "runbook", "title: Payments acquirer failover\nservices: [payments]", id="RB-0004"
            ),
        ),
    )

    def check(self, ctx: Context) -> Iterator[Finding]:
        ledger = ctx.ledger
        doc = ledger.services_doc
        if doc is None:
            return
        covered = {service for rb in ledger.runbooks.values() for service in rb.services}
        for service in ledger.services.values():
            if service.tier != 1 or service.id in covered:
                continue
            if any(rb in ledger.runbooks for rb in service.runbooks):
                continue
            listed = ", ".join(service.runbooks)
            path = (service.index, "id")
            line, column = doc.position(path)
            yield Finding(
                SERVICES_FILE,
                line,
                column,
                self.id,
                self.severity,
                f"tier-1 service {service.id!r} has no runbook"
                + (f" ({listed} listed but not found)" if listed else ""),
                None,
                json_pointer(path),
                f"write a runbook for {service.id} and list it under the service's runbooks",
            )


RULES: tuple[type[Rule], ...] = (RbSections, RbStale, RbCoverage)
