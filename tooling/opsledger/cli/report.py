"""``opsledger report weekly|monthly --period …``: scorecard and service review (Markdown)."""

from __future__ import annotations

from pathlib import Path

import click

from opsledger.audit import AuditOptions, run_audit
from opsledger.cli.common import output_option, progress, repo_option, repo_root, write_output
from opsledger.errors import EXIT_OK, OpsledgerError
from opsledger.gitio import describe_head
from opsledger.history.index import build_history
from opsledger.model.ledger import load_ledger
from opsledger.neutral import lines
from opsledger.reports.scorecard import monthly, parse_period, weekly
from opsledger.timeutil import as_of_moment


@click.command(name="report")
@click.argument("kind", type=click.Choice(["weekly", "monthly"]))
@click.option(
    "--period",
    required=True,
    metavar="P",
    help="The week (2026-W10) or month (2026-03) to report on.",
)
@click.option(
    "--as-of",
    "as_of",
    default=None,
    metavar="T",
    help="Fix 'now' (default: the end of the period or now, whichever is earlier).",
)
@output_option
@repo_option
def report_command(
    kind: str, period: str, as_of: str | None, output: Path | None, repo: Path | None
) -> int:
    """Write the weekly operations scorecard or the monthly service review as Markdown."""
    root = repo_root(repo)
    span = parse_period(kind, period)
    ledger = load_ledger(root)
    moment = as_of_moment(as_of, ledger.policy.timezone)
    index = None
    commit = describe_head(root)
    if commit is not None:
        try:
            with progress("Reading history") as update:
                index = build_history(
                    root,
                    since=ledger.policy.history_since,
                    limits=ledger.policy.limits,
                    progress=update,
                )
        except OpsledgerError:
            index = None  # shallow clone: history KPIs report "no data"
    findings = run_audit(ledger, AuditOptions(as_of=moment, history=index))
    build = weekly if kind == "weekly" else monthly
    text = build(ledger, index, span, findings, moment, commit)
    write_output(lines(text), output)  # record text and git identities made inert
    return EXIT_OK
