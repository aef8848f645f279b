"""``opsledger sample``: a reproducible auditor sample with its evidence bundle, and
``opsledger sample verify DIR``: re-check a bundle against the repository."""

from __future__ import annotations

from pathlib import Path

import click

from opsledger.cli.common import repo_option, repo_root
from opsledger.errors import EXIT_FINDINGS, EXIT_OK, OpsledgerError
from opsledger.neutral import line
from opsledger.outputs import check_output_folder
from opsledger.sampling.kinds import NAMES


def _say(text: str, err: bool = False) -> None:
    click.echo(line(text), err=err)


def _positive(ctx: click.Context, param: click.Parameter, value: int | None) -> int | None:
    if value is not None and value < 1:
        raise click.BadParameter(
            f"{value}: a sample holds at least one record; leave --n out to take the size "
            "from policy.yaml sampling.sizes"
        )
    return value


@click.group(name="sample", invoke_without_command=True)
@click.option(
    "--kind",
    type=click.Choice(NAMES),
    default=None,
    help="Which records: change (placed by window.start), incident (detected_at), pir "
    "(its incident's detected_at).",
)
@click.option(
    "--period",
    metavar="P",
    default=None,
    help="2026-Q1, 2026-03, 2026-W10, 2026 or 2026-03-01..2026-03-15, in the policy's time zone.",
)
@click.option(
    "--seed",
    metavar="S",
    default=None,
    help="The seed of the selection (letters, digits, '.', '_', '-'); publish it.",
)
@click.option(
    "--n",
    "n",
    type=int,
    default=None,
    callback=_positive,
    metavar="N",
    help="Sample size (default: policy.yaml sampling.sizes by population size); larger "
    "than the population takes the whole population.",
)
@click.option(
    "--where",
    "where",
    multiple=True,
    metavar="FIELD=V1,V2",
    help="Only records whose FIELD is one of the values (type=emergency, risk=high, "
    "priority=P1,P2, status=closed…); repeat for more fields.",
)
@click.option("--as-of", "as_of", default=None, metavar="T", help="Fix 'now' (default: now).")
@click.option(
    "--output",
    type=click.Path(path_type=Path),
    default=None,
    help="The folder to write the evidence bundle into (new or empty).",
)
@click.option("--zip", "zip_too", is_flag=True, help="Also write the bundle as OUTPUT.zip.")
@click.option(
    "--force",
    is_flag=True,
    help="Replace an earlier sample bundle at --output (and OUTPUT.zip); anything else is refused.",
)
@repo_option
@click.pass_context
def sample_group(
    ctx: click.Context,
    kind: str | None,
    period: str | None,
    seed: str | None,
    n: int | None,
    where: tuple[str, ...],
    as_of: str | None,
    output: Path | None,
    zip_too: bool,
    force: bool,
    repo: Path | None,
) -> int:
    """Draw a reproducible audit sample and write its evidence bundle.

    The population is every record of --kind placed in --period; the sample is the
    first N of the population ordered by the SHA-256 hex digest of 'SEED:ID' (redo it
    with: printf '%s' 'SEED:ID' | sha256sum). Per sampled record the bundle holds the
    record file as committed, its audit trail, its findings, each approval with its
    provenance verdict, its linked records and a one-page summary; manifest.json holds
    the commit, the command and every file's SHA-256. Needs the full git history (exit
    status 4 in a shallow clone). 'opsledger sample verify DIR' re-checks a bundle."""
    if ctx.invoked_subcommand is not None:
        return EXIT_OK
    missing = [
        name
        for name, value in (
            ("--kind", kind),
            ("--period", period),
            ("--seed", seed),
            ("--output", output),
        )
        if value is None
    ]
    if missing:
        raise click.UsageError(f"missing {', '.join(missing)}")
    assert kind is not None and period is not None and seed is not None and output is not None
    root = repo_root(repo)
    check_output_folder(output, root=root, force=force)
    from opsledger.sampling.draw import check_archive, draw, write

    if zip_too:
        check_archive(output, force=force)

    drawn = draw(root, kind, period, seed, n, where, as_of, str(output))
    bundle = drawn.bundle
    archive = write(bundle, output, force=force, zip_too=zip_too)
    if drawn.left_out:
        _say(
            f"note: {len(drawn.left_out)} uncommitted file(s) are not in the sample, which is "
            f"of commit {bundle.commit[:10]} (first: {drawn.left_out[0]})",
            err=True,
        )
    if bundle.selection.note:
        _say(f"note: {bundle.selection.note}", err=True)
    pop = bundle.population
    from opsledger.sampling.pages import unplaced_note

    if unplaced_note(pop):
        _say(f"note: {unplaced_note(pop)}", err=True)
    _say(
        f"sampled {len(bundle.outcomes)} of {len(pop.members)} {kind} records in {pop.period} "
        f"(seed {bundle.request.seed}, commit {bundle.commit[:10]}): "
        + ", ".join(o.record.id for o in bundle.outcomes)
    )
    _say(
        f"{bundle.passed} of {len(bundle.outcomes)} passed every control tested; "
        f"bundle written to {output}" + (f" and {archive}" if archive else "")
    )
    return EXIT_OK


@sample_group.command(name="verify")
@click.argument("bundle", type=click.Path(path_type=Path))
@repo_option
def verify_command(bundle: Path, repo: Path | None) -> int:
    """Re-check the evidence bundle BUNDLE (a folder, or its .zip): every file's SHA-256,
    that its commit exists in the repository, and that the repository at that commit
    gives the same population, sample and evidence. Exit status 0 when all hold, 1 naming
    each file or record that differs, 2 when the repository or the commit is missing."""
    from opsledger.sampling.verify import unpacked, verify

    root = repo_root(repo)
    if not bundle.exists():
        raise OpsledgerError(f"{bundle}: no such bundle folder")
    with unpacked(bundle) as folder:
        report = verify(folder, root)
    for note in report.notes:
        _say(f"note: {note}", err=True)
    for problem in report.problems:
        _say(f"{bundle}: {problem}")
    if report.problems:
        _say(f"{len(report.problems)} difference(s): the bundle does not hold", err=True)
        return EXIT_FINDINGS
    _say(
        f"{bundle}: verified: {report.files} files hold, commit {report.commit[:10]} exists and "
        f"gives the same population and sample ({', '.join(report.sample)})"
    )
    return EXIT_OK
