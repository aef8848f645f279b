"""``opsledger import servicenow FILE.csv``: adopt an ITSM tool's incident history."""

from __future__ import annotations

import codecs
from collections import Counter
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from opsledger.cli.common import progress, repo_option, repo_root
from opsledger.errors import EXIT_FINDINGS, EXIT_OK, OpsledgerError
from opsledger.fsio import write_text
from opsledger.importers import (
    SHAPES,
    ImportOptions,
    ImportResult,
    build_mapping,
    import_servicenow,
)
from opsledger.importers.dates import SHOWN, parse_format
from opsledger.importers.mapping import CHANGE_FIELDS, SERVICE_FIELDS
from opsledger.neutral import line
from opsledger.output.spreadsheet import csv_text
from opsledger.outputs import check_output_file
from opsledger.timeutil import load_zone, parse_date

SHOW_PROBLEMS = 100


@click.group(name="import")
def import_group() -> None:
    """Import incident history from another system (the adoption path).

    Imported records keep the source's number in external_id, list what the source
    lacked in import_gaps, and are matched by external_id when imported again.
    """


def _zone(name: str | None) -> ZoneInfo | None:
    if name is None:
        return None
    try:
        return load_zone(name)
    except ValueError as exc:
        raise OpsledgerError(f"--timezone: {exc}") from None  # exc names it (cut short)


def _encoding(name: str) -> str:
    """A text encoding in which a line of the file ends with one newline byte (the file is
    read line by line, so a wrong byte is reported at its line)."""
    try:
        found = codecs.lookup(name).name
        # LookupError for a codec that is not a text encoding; 'undefined' refuses all text
        newline = "\n".encode(found)
        newline.decode(found)
    except (LookupError, ValueError, TypeError):
        raise OpsledgerError(f"--encoding {name!r}: unknown text encoding") from None
    if newline != b"\n":
        raise OpsledgerError(
            f"--encoding {name!r}: the file is read line by line and {found} does not end a "
            "line with a single newline byte; export the file as UTF-8"
        )
    return found


@import_group.command(name="servicenow")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--timezone",
    "zone",
    metavar="TZ",
    default=None,
    help="The ServiceNow instance's timezone (IANA name, e.g. Europe/London): the export's "
    "times carry none. Required unless every time in the file has an offset.",
)
@click.option(
    "--date-format",
    metavar="FORMAT",
    default=None,
    help="How the export writes dates: d/m/yyyy, dd-mm-yyyy, m/d/yyyy, yyyy-mm-dd… "
    "(default: detected from the whole file; needed when every day is 12 or less).",
)
@click.option(
    "--shape",
    type=click.Choice(SHAPES),
    default="auto",
    show_default=True,
    help="events: the audit event log (one row per update); list: one row per incident; "
    "auto: events when a number appears on several rows.",
)
@click.option(
    "--service-from",
    multiple=True,
    type=click.Choice(SERVICE_FIELDS),
    help="Field that names the service (repeat for a fallback order; default cmdb_ci).",
)
@click.option(
    "--service-map",
    multiple=True,
    metavar="VALUE=KEY",
    help="Map a ServiceNow value to a service key of records/services.yaml (repeatable); "
    "other values become keys as they are (SAP ERP -> sap-erp).",
)
@click.option(
    "--default-service",
    default="unknown",
    show_default=True,
    metavar="KEY",
    help="Service key written when the field is empty ('?'); 'service' is then an import gap.",
)
@click.option(
    "--priority-map",
    multiple=True,
    metavar="VALUE=P1..P4",
    help="Map a priority value (repeatable). Default by leading number: 1 - Critical=P1, "
    "2 - High=P2, 3 - Moderate=P3, 4 - Low=P4, 5 - Planning=P4.",
)
@click.option(
    "--contact-map",
    multiple=True,
    metavar="VALUE=DETECTION[/SOURCE]",
    help="Map a contact_type to detection and source, e.g. 'Integration=automated/monitoring' "
    "(repeatable). Default: phone, email, walk-in, chat, self-service, portal -> "
    "manual/service-desk; monitoring, event, alert -> automated/monitoring.",
)
@click.option(
    "--category-from",
    type=click.Choice(["category", "subcategory", "both"]),
    default="category",
    show_default=True,
    help="What becomes the record's category (both: 'Category / Subcategory').",
)
@click.option(
    "--change-field",
    multiple=True,
    type=click.Choice(CHANGE_FIELDS),
    help="Fields that give caused_by_change, in order (default: caused_by, then rfc).",
)
@click.option(
    "--encoding",
    default="utf-8",
    show_default=True,
    help="The file's text encoding (a UTF-8 byte-order mark is accepted).",
)
@click.option(
    "--adopted-on",
    metavar="DATE",
    default=None,
    help="Date written to policy.yaml history.since when unset (default: tomorrow, UTC).",
)
@click.option(
    "--no-adopt", is_flag=True, help="Leave policy.yaml alone (do not set history.since)."
)
@click.option("--dry-run", is_flag=True, help="Show what would be written; write nothing.")
@click.option(
    "--problems",
    "problems_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write every skipped row (line, number, reason) to this CSV file.",
)
@repo_option
def servicenow(
    file: Path,
    zone: str | None,
    date_format: str | None,
    shape: str,
    service_from: tuple[str, ...],
    service_map: tuple[str, ...],
    default_service: str,
    priority_map: tuple[str, ...],
    contact_map: tuple[str, ...],
    category_from: str,
    change_field: tuple[str, ...],
    encoding: str,
    adopted_on: str | None,
    no_adopt: bool,
    dry_run: bool,
    problems_file: Path | None,
    repo: Path | None,
) -> int:
    """Turn a ServiceNow incident export (CSV) into incident records.

    Reads the plain list export or the audit event log (one row per update), rebuilds
    each incident's timeline, and writes records/incidents/YEAR/INC-YEAR-NUMBER.yaml.
    Nothing is written until the whole file has been read; rows that cannot be used are
    reported with their line and skipped (exit status 1). Importing again updates the
    same records. Sets history.since in policy.yaml when it is unset.
    """
    root = repo_root(repo)
    if problems_file is not None:
        check_output_file(problems_file, root=root, label="--problems")
    try:
        adopted = parse_date(adopted_on) if adopted_on is not None else None
    except ValueError as exc:
        raise OpsledgerError(f"--adopted-on {adopted_on!r}: {exc}") from None
    options = ImportOptions(
        mapping=build_mapping(
            priority_map=priority_map,
            contact_map=contact_map,
            service_from=service_from,
            service_map=service_map,
            default_service=default_service,
            category_from=category_from,
            change_fields=change_field,
        ),
        timezone=_zone(zone),
        date_format=parse_format(date_format) if date_format is not None else None,
        shape=shape,
        encoding=_encoding(encoding),
        dry_run=dry_run,
        adopt=not no_adopt,
        adopted_on=adopted,
    )
    result = import_servicenow(root, file, options, progress)
    _report(result, zone)
    if problems_file is not None:
        _write_problems(result, problems_file)
    return EXIT_FINDINGS if result.problems else EXIT_OK


def _echo(text: str, err: bool = False) -> None:
    """One line of the import report: CSV values and file names are untrusted, made inert."""
    click.echo(line(text), err=err)


def _recovery(result: ImportResult) -> None:
    recovered = result.recovered
    if result.pending:
        _echo(
            "opsledger: note: an earlier import was killed while writing; an import without "
            "--dry-run finishes it first",
            err=True,
        )
    if recovered is None:
        return
    done = recovered.finished
    if done is None:
        _echo(
            "opsledger: note: removed what an earlier import, killed before writing anything, "
            "had staged",
            err=True,
        )
        return
    left = ""
    if done.conflicts:
        left = f"; left alone, changed since: {_clip(', '.join(done.conflicts))}"
    _echo(
        f"opsledger: note: finished an earlier import that was killed while writing "
        f"({len(done.written)} files written, {len(done.done_before)} written before{left})",
        err=True,
    )


def _report(result: ImportResult, zone: str | None) -> None:
    echo = _echo
    _recovery(result)
    for problem in result.problems[:SHOW_PROBLEMS]:
        about = f" ({_clip(problem.number, 40)})" if problem.number else ""
        where = f"{result.source}:{problem.line}: " if problem.line else ""
        echo(f"opsledger: {where}{problem.message}{about}", err=True)
    if len(result.problems) > SHOW_PROBLEMS:
        echo(
            f"opsledger: … and {len(result.problems) - SHOW_PROBLEMS} more skipped; "
            "--problems FILE lists them all",
            err=True,
        )
    if result.dry_run:
        for o in result.outcomes:
            if o.action != "unchanged":
                echo(f"would {o.action} {o.path} ({o.record} from {o.number})")
    shape = "audit event log" if result.events else "list export"
    counts = result.counts
    incidents = len(result.outcomes)
    echo(
        f"{result.source}: {result.rows} rows, {incidents} incidents ({shape}; "
        f"dates {SHOWN[result.order]}{f', times in {zone}' if zone else ''})"
    )
    echo(
        f"{'dry run, nothing written: ' if result.dry_run else ''}"
        f"{counts['create']} created, {counts['update']} updated, "
        f"{counts['unchanged']} unchanged, {len(result.problems)} rows or incidents skipped"
    )
    if result.problem_outcomes:
        made = Counter(o.action for o in result.problem_outcomes)
        echo(
            f"problems (from problem_id): {made['create']} created, {made['update']} updated, "
            f"{made['unchanged']} unchanged"
        )
        if result.dry_run:
            for o in result.problem_outcomes:
                if o.action != "unchanged":
                    echo(f"problem {o.record} from {o.number}: {o.action} planned ({o.path})")
    if result.gaps:
        shown = ", ".join(f"{name} {n}" for name, n in result.gaps.most_common())
        echo(f"import_gaps (what the export lacks; KPIs needing it exclude the record): {shown}")
    if result.unknown_services:
        shown = ", ".join(f"{key} ({n})" for key, n in result.unknown_services.items())
        echo(
            f"service keys not in records/services.yaml: {_clip(shown)}; add them to the "
            "catalog or map them with --service-from / --service-map"
        )
    if result.unmapped_contacts:
        shown = ", ".join(f"{v!r} ({n})" for v, n in result.unmapped_contacts.most_common())
        echo(
            f"contact_type values with no detection mapping (detection and source are gaps): "
            f"{_clip(shown)}; map them with --contact-map 'VALUE=manual/service-desk'"
        )
    if result.change_fields["rfc"]:
        echo(
            f"caused_by_change taken from rfc for {result.change_fields['rfc']} incidents: "
            "rfc ('Change Request') may name the fix rather than the cause; "
            "--change-field caused_by uses only 'Caused by Change'"
        )
    if result.since_set is not None:
        verb = "would be set" if result.dry_run else "set"
        echo(
            f"policy.yaml: history.since {verb} to {result.since_set.isoformat()}: commit the "
            "imported records before that day so history rules and history KPIs treat them as "
            "imported"
        )


def _clip(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _write_problems(result: ImportResult, target: Path) -> None:
    rows = ([p.line, p.number, p.message] for p in result.problems)
    text = csv_text(["line", "number", "problem"], rows)  # every cell neutralised
    write_text(target, text, option="--problems")
