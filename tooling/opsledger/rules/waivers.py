"""WAIVER-EXPIRED: risk acceptances in policy.yaml must not outlive their expiry."""

from __future__ import annotations

from collections.abc import Iterator

from opsledger.findings import Finding, json_pointer
from opsledger.model.settings import TIMEZONE_SETTING, WAIVERS
from opsledger.rules.base import Context, Rule
from opsledger.rules.examples import Examples, File, example

WAIVER = """\
    waivers:
      - rule: RB-STALE
        record: RB-0003
        reason: The orders-db runbook is being rewritten for the new cluster.
        approved_by: priya.shah@example.com
        expires: {expires}
    """


class WaiverExpired(Rule):
    """A waiver (risk acceptance) in policy.yaml is past its expiry date.

    What it checks:
      Each entry of ``waivers`` whose ``expires`` date is before today (in the policy
      timezone, as of ``--as-of``). An expired waiver no longer waives anything.

    Why auditors care:
      A risk acceptance is granted for a time, by a named person; one left in place after
      it expired is an accepted risk nobody owns any more.
    """

    id = "WAIVER-EXPIRED"
    kinds = ("policy",)
    summary = "waiver past its expiry date"
    settings = (WAIVERS, TIMEZONE_SETTING)
    settings_note = (
        "An integrity rule: it cannot itself be waived, ignored or downgraded. A waiver names "
        "one rule ID (never SCHEMA, REF-ID or WAIVER-EXPIRED) and one record, or a glob no "
        "wider than a kind and year (INC-2026-*) or a subfolder; *, ?* and INC-* are "
        "configuration errors."
    )
    examples = Examples(
        example(File("policy", WAIVER.format(expires='"2026-01-31"      # today is 2026-03-31'))),
        example(File("policy", WAIVER.format(expires='"2026-06-30"'))),
    )

    def check(self, ctx: Context) -> Iterator[Finding]:
        policy = ctx.ledger.policy
        today = ctx.calendar.local_date(ctx.as_of)
        for waiver in policy.waivers:
            if waiver.expires < today:
                path = ("waivers", waiver.index, "expires")
                line, column = policy.doc.position(path)
                yield Finding(
                    policy.path,
                    line,
                    column,
                    self.id,
                    self.severity,
                    f"waiver of {waiver.rule} for {waiver.record} expired on "
                    f"{waiver.expires.isoformat()}",
                    None,
                    json_pointer(path),
                    "renew the waiver with a new approval, or remove it and fix the findings",
                )


RULES: tuple[type[Rule], ...] = (WaiverExpired,)
