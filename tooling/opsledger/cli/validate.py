"""``opsledger validate [PATH…]``: YAML, schema and ID checks only; fast, for pre-commit."""

from __future__ import annotations

from pathlib import Path

import click

from opsledger.cli.common import output_option, progress, repo_option, repo_root, write_output
from opsledger.errors import EXIT_FINDINGS, EXIT_OK
from opsledger.findings import cap
from opsledger.output import FORMATS, Report, summary_line
from opsledger.rules.references import load_findings
from opsledger.rulesettings import check_kpi_targets, check_rule_settings
from opsledger.workspace import Workspace


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(sorted(FORMATS)),
    default="text",
    show_default=True,
    help="Output format.",
)
@output_option
@repo_option
def validate(paths: tuple[Path, ...], fmt: str, output: Path | None, repo: Path | None) -> int:
    """Check record files against their schemas and the strict YAML rules.

    With PATHs, only those files or folders; otherwise every record in the repository.
    Exit status: 0 clean, 1 problems found, 2 usage or configuration error.
    """
    with progress("Validating records") as update:
        ws = Workspace(repo_root(repo), subset=paths or None, progress=update)
        ledger = ws.ledger
    check_rule_settings(ledger.policy)  # a waiver or ignore that would disable the gate
    if not paths or any(Path(p).name == "policy.yaml" for p in paths):
        check_kpi_targets(ledger.policy)  # the policy is checked whole when it is validated
    listed = cap(load_findings(ledger), ledger.policy.limits.max_findings_per_rule_per_record)
    report = Report("validate", tuple(sorted(listed)), len(ledger.files))
    write_output(FORMATS[fmt](report), output)
    click.echo(summary_line(report), err=True)
    return EXIT_FINDINGS if report.findings else EXIT_OK
