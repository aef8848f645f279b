"""``opsledger rules [ID]``: the rule list, or one rule's documentation."""

from __future__ import annotations

import click

from opsledger.errors import EXIT_OK, OpsledgerError
from opsledger.rules import RULES, RULES_BY_ID


@click.command(name="rules")
@click.argument("rule_id", required=False)
def rules_command(rule_id: str | None) -> int:
    """List the audit rules, or print the documentation of RULE_ID."""
    if rule_id is None:
        width = max(len(rule.id) for rule in RULES)
        for rule in RULES:
            click.echo(f"{rule.id:<{width}}  {rule.severity:<7}  {rule.summary}")
        return EXIT_OK
    chosen = RULES_BY_ID.get(rule_id.strip().upper())
    if chosen is None:
        raise OpsledgerError(f"unknown rule {rule_id!r}; valid rules: {', '.join(RULES_BY_ID)}")
    click.echo(f"{chosen.id} ({chosen.severity}): {chosen.summary}\n")
    click.echo(chosen.documentation())
    return EXIT_OK
