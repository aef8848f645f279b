"""``opsledger demo DIR``: generate a demo governance repository with a year of history."""

from __future__ import annotations

from pathlib import Path

import click

from opsledger.cli.common import progress
from opsledger.errors import EXIT_OK, OpsledgerError


@click.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--months",
    type=click.IntRange(1, 60),
    default=12,
    show_default=True,
    help="How many months of operations to generate.",
)
@click.option(
    "--seed",
    type=int,
    default=7,
    show_default=True,
    help="Random seed: the same seed gives the same repository, commit for commit.",
)
@click.option(
    "--records",
    type=click.IntRange(10, 1_000_000),
    default=None,
    help="Scale to about this many record files (benchmarks).",
)
@click.option(
    "--commits",
    type=click.IntRange(10, 10_000_000),
    default=None,
    help="Scale to about this many commits (benchmarks).",
)
def demo(directory: Path, months: int, seed: int, records: int | None, commits: int | None) -> int:
    """Generate a realistic demo governance repository in DIRECTORY (which must be empty).

    Incidents, changes, PIRs and runbooks of a mid-size company, committed with a git
    history whose times follow the records' own timelines, and a realistic share of
    planted defects listed in .opsledger/demo-defects.json.
    """
    from opsledger.demo import generate_demo

    with progress("Generating demo repository") as update:
        try:
            result = generate_demo(
                directory,
                months=months,
                seed=seed,
                records=records,
                commits=commits,
                progress=update,
            )
        except ValueError as exc:
            raise OpsledgerError(str(exc)) from None
    counts = ", ".join(f"{n} {kind}" for kind, n in result.counts.items())
    click.echo(
        f"demo repository written to {directory}: {counts}; {result.commits} commits; "
        f"{len(result.defects)} planted defects",
        err=True,
    )
    return EXIT_OK
