"""``opsledger validate [PATH…]``: YAML, schema and ID checks only; fast, for pre-commit."""

from __future__ import annotations

from pathlib import Path

import click

from opsledger.audit import cap
from opsledger.cli.common import output_option, progress, repo_option, repo_root, write_output
from opsledger.errors import EXIT_FINDINGS, EXIT_OK
from opsledger.model.ledger import load_ledger
from opsledger.output import FORMATS, Report, summary_line


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
    root = repo_root(repo)
    with progress("Validating records") as update:
        ledger = load_ledger(root, paths or None, progress=update)
    listed = cap(ledger.problems, ledger.policy.limits.max_findings_per_rule_per_record)
    report = Report("validate", tuple(sorted(listed)), len(ledger.files))
    write_output(FORMATS[fmt](report), output)
    click.echo(summary_line(report), err=True)
    return EXIT_FINDINGS if report.findings else EXIT_OK
