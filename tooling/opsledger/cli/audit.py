"""``opsledger audit``: every rule, as a CI gate."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from urllib.parse import quote

import click

from opsledger import neutral
from opsledger.audit import selected_rules
from opsledger.cli import hold_to_exit
from opsledger.cli.common import (
    no_history_option,
    output_option,
    progress,
    repo_option,
    repo_root,
    write_output,
)
from opsledger.errors import EXIT_FINDINGS, EXIT_OK, ConfigError, OpsledgerError
from opsledger.findings import Finding
from opsledger.model.layout import skipped
from opsledger.model.ledger import NOT_GOVERNED, Ledger
from opsledger.output import Report, RuleMeta, Subject, audit_formats, summary_line
from opsledger.rules import Rule
from opsledger.timeutil import format_timestamp
from opsledger.workspace import Workspace

FAIL_ON = ("error", "warning", "never")
#: formats read by CI systems, which get a report even when the run stops
CI_FORMATS = ("github", "sarif", "codeclimate", "junit")
_LOCATED = re.compile(
    r"(?P<path>[^:\n]+?)(?::(?P<line>[0-9]+):(?P<column>[0-9]+))?: (?P<message>.+)"
)
_FIX = "fix it and run again: the audit cannot judge any record until it does"


def _split(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(v.strip() for value in values for v in value.split(",") if v.strip())


def _history_rule_chosen(select: tuple[str, ...], ignore: tuple[str, ...]) -> bool:
    """Whether the command line leaves a history rule (``GIT-*``) selected: only then does
    git start walking the history ahead (the policy's own selection is read later)."""
    from opsledger.rules import RULES_BY_ID
    from opsledger.rulesettings import expand

    wanted = set().union(*map(expand, _split(select))) if _split(select) else set(RULES_BY_ID)
    wanted -= set().union(*map(expand, _split(ignore)))
    return any(rule.startswith("GIT-") for rule in wanted)


def failing(findings: list[Finding], fail_on: str) -> bool:
    if fail_on == "never":
        return False
    levels = {"error"} if fail_on == "error" else {"error", "warning"}
    return any(f.severity in levels and not f.waived for f in findings)


def rule_metas(rules: Sequence[Rule], root: Path, fmt: str) -> tuple[RuleMeta, ...]:
    """What the formatters show of each rule: its documentation as text and Markdown (for
    SARIF, the one format that shows it: rendering every rule's takes a tenth of a second),
    and its page on the published site when ``mkdocs.yml`` gives the site's address."""
    from opsledger.site.config_check import rule_page_address

    address = rule_page_address(root / "mkdocs.yml")
    documented = fmt in DOCUMENTED_FORMATS
    return tuple(
        RuleMeta(
            r.id,
            r.severity,
            r.summary,
            r.kinds,
            r.documentation() if documented else "",
            "\n".join(r.documentation_markdown()).strip() + "\n" if documented else "",
            "" if address is None else address.format(rule=quote(r.id)),
        )
        for r in rules
    )


#: the formats that show each rule's documentation (SARIF's rule descriptors)
DOCUMENTED_FORMATS = frozenset({"sarif"})


def subjects(ledger: Ledger, only: set[str] | None) -> tuple[Subject, ...]:
    found = [Subject(r.id, r.path, r.kind) for r in ledger.records()]
    if ledger.services_doc is not None:
        found.append(Subject("records/services.yaml", "records/services.yaml", "services"))
    found.append(Subject(ledger.policy.path, ledger.policy.path, "policy"))
    if only is not None:
        found = [s for s in found if s.record in only or s.path in only]
    return tuple(sorted(found, key=lambda s: (s.path, s.record)))


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--changed-since",
    "changed_since",
    metavar="REF",
    default=None,
    help="Audit only records changed since the merge base with REF (and the "
    "records they reference or that reference them).",
)
@click.option(
    "--as-of",
    "as_of",
    metavar="T",
    default=None,
    help="Fix 'now' (2026-03-31T12:00:00Z, or a date for the end of that day in "
    "the policy timezone). Same repository and --as-of give identical output.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(sorted(audit_formats())),
    default="text",
    show_default=True,
    help="Output format.",
)
@output_option
@click.option(
    "--fail-on",
    type=click.Choice(FAIL_ON),
    default="error",
    show_default=True,
    help="Exit 1 when a finding at or above this severity is not waived.",
)
@click.option(
    "--select",
    multiple=True,
    metavar="RULES",
    help="Run only these rules (IDs, families like INC, or globs; comma-separated or repeated).",
)
@click.option("--ignore", multiple=True, metavar="RULES", help="Skip these rules.")
@no_history_option
@repo_option
def audit(
    paths: tuple[Path, ...],
    changed_since: str | None,
    as_of: str | None,
    fmt: str,
    output: Path | None,
    fail_on: str,
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    no_history: bool,
    repo: Path | None,
) -> int:
    """Run every audit rule over the repository's records.

    Exit status: 0 when no finding reaches --fail-on, 1 when one does, 2 for a usage or
    configuration error, 4 when history rules are selected and git history is unusable
    here (shallow clone, rewritten locally, no git) and --no-history was not given.

    With a CI format (github, sarif, codeclimate, junit), a run that stops is still written
    in that format: a configuration error (an invalid policy.yaml, a broken schema) as a
    SCHEMA finding at the file and line it names, so a pull request that breaks the policy
    still shows an annotation and a code-scanning alert; unusable history or a usage error
    as the run's failure. The exit status stays 2 (or 4).
    """
    root = repo_root(repo)
    with stops_reported(root, fmt, output), ExitStack() as stack:
        scope = None
        gate = changed_since is not None
        if changed_since is not None:
            from opsledger.scope import plan

            # only the loading limits are needed to plan; no record or catalog is read here
            scope = plan(root, changed_since, Workspace(root).policy.limits)
            if scope.everything:
                click.echo(
                    f"opsledger: note: {neutral.line(scope.everything)} changed since "
                    f"{neutral.short(changed_since, 80)}, which every record's verdict may "
                    "read: every record is audited",
                    err=True,
                )
                scope = None
        if not no_history and _history_rule_chosen(select, ignore):
            from opsledger.history.index import reading_ahead

            # git walks the history while the records are parsed
            history = None if scope is None else sorted(scope.history)
            stack.enter_context(reading_ahead(root, paths=history))
        with progress("Loading records") as update:
            ws = Workspace(
                root,
                as_of=as_of,
                use_history=not no_history,
                subset=None if scope is None else [root / p for p in sorted(scope.load)],
                history_paths=None if scope is None else sorted(scope.history),
                # the reported records, and the records whose histories their verdicts read
                history_records=None if scope is None else scope.report | scope.history,
                judged=None if scope is None else scope.report,
                walked=None if scope is None else scope.walked,
                progress=update,
                gate=gate,  # main's caches are read, never replaced
            )
            ws.ledger  # noqa: B018 (loaded under the progress bar)
        only: set[str] | None = None
        if paths:
            only = _records_at(ws.ledger, root, paths)
        if scope is not None:
            only = set(scope.report) if only is None else only & set(scope.report)
        chosen = (_split(select), _split(ignore))
        rules = selected_rules(ws.policy, *chosen)
        if all(r.id.startswith("GIT-") for r in rules) and ws.history_state is not None:
            raise OpsledgerError(
                f"every selected rule needs git history, which is {ws.history_state.note}: no "
                "rule would run; select other rules, or run where history is available"
            )
        with progress("Reading history") as update:
            ws.progress = update
            findings = ws.findings(*chosen, only=only)
        unavailable = ws.unavailable_rules(*chosen)
        excluded = _imported(ws, rules, only)
        # rules a partial load cannot judge: said, never silent (a note and the JSON; no
        # annotation on every pull request: nothing is wrong with it)
        left = [r.id for r in rules if r.whole_repository] if scope is not None else []
        report = Report(
            "audit",
            tuple(findings),
            len(ws.ledger.files) if only is None else _files_in(ws.ledger, only),
            extra={
                "commit": ws.commit,
                "as_of": format_timestamp(ws.as_of),
                # the records history rules skip, listed, never silently left out
                **({"imported": excluded} if excluded else {}),
                **({"left_to_full_audit": left} if left else {}),
            },
            rules=rule_metas(rules, root, fmt),
            subjects=subjects(ws.ledger, only),
            unavailable=tuple(unavailable),
        )
        write_output(audit_formats()[fmt](report), output)
        hold_to_exit(ws)
        if excluded:
            since = ws.policy.history_since
            click.echo(
                f"opsledger: note: {len(excluded)} records skipped by the history rules as "
                "imported (first committed "
                + (f"before history.since {since.isoformat()}, or " if since else "")
                + "with an external_id): "
                + neutral.short(", ".join(excluded), 300),
                err=True,
            )
        if unavailable:
            names = ", ".join(rule for rule, _ in unavailable)
            click.echo(f"opsledger: note: not run, {unavailable[0][1]}: {names}", err=True)
        if left:
            click.echo(f"opsledger: note: {GATE_LEAVES}: {', '.join(left)}", err=True)
        click.echo(summary_line(report), err=True)
        return EXIT_FINDINGS if failing(findings, fail_on) else EXIT_OK


def _imported(ws: Workspace, rules: Sequence[Rule], only: set[str] | None) -> list[str]:
    """The judged records the history rules skip as imported (history read for them)."""
    index = ws.history_index if any(r.id.startswith("GIT-") for r in rules) else None
    if index is None:
        return []
    return sorted(
        r.id for r in ws.ledger.records() if (only is None or r.id in only) and index.imported(r.id)
    )


#: why the PR gate leaves a rule to the full audit (:attr:`Rule.whole_repository`)
GATE_LEAVES = (
    "left to the full audit of the branch by the pull request gate (it reads every record "
    "of a kind, which the gate does not load)"
)


@contextmanager
def stops_reported(root: Path, fmt: str, output: Path | None) -> Iterator[None]:
    """A run that stops (a configuration error, unusable history) is still written in a CI
    format, then stops as it would have."""
    try:
        yield
    except OpsledgerError as exc:
        if fmt in CI_FORMATS:
            report = failure_report(root, exc.message, fmt, located=isinstance(exc, ConfigError))
            write_output(audit_formats()[fmt](report), output)
        raise


def failure_report(root: Path, message: str, fmt: str, *, located: bool) -> Report:
    """A run that stopped with ``message``. For a configuration error (``located``), one
    SCHEMA finding at the file, line and column the message begins with
    (``policy.yaml:12:3: …``; line 1 of a file it names without a line; line 1 of the
    policy file otherwise); always the message as the run's failure."""
    from opsledger.model.policy import POLICY_FILE
    from opsledger.rules import RULES_BY_ID

    path, line, column, text = POLICY_FILE, 1, 1, message
    match = _LOCATED.match(message)
    named = None if match is None else _relative(root, match["path"])
    if match is not None and named is not None:
        path, text = named, match["message"]
        line, column = int(match["line"] or 1), int(match["column"] or 1)
    finding = Finding(path, line, column, "SCHEMA", "error", text, None, "", _FIX)
    return Report(
        "audit",
        (finding,) if located else (),
        0,
        rules=rule_metas([RULES_BY_ID["SCHEMA"]()], root, fmt),
        failure=message,
    )


def _relative(root: Path, name: str) -> str | None:
    """``name`` as a path relative to ``root`` when it is a file there, else None."""
    target = (root / name).absolute()
    if not target.is_file() or not target.is_relative_to(root.absolute()):
        return None
    return target.relative_to(root.absolute()).as_posix()


def _files_in(ledger: Ledger, only: set[str]) -> int:
    """How many of the loaded files the run reports on: ``only`` names each by its path or
    its record's ID (or both: counted once)."""
    ids = {record.path: record.id for record in ledger.records()}
    return sum(1 for path in ledger.files if path in only or ids.get(path, path) in only)


def _records_at(ledger: Ledger, root: Path, paths: tuple[Path, ...]) -> set[str]:
    wanted: set[str] = set()
    for given in paths:
        target = Path(os.path.abspath(given))  # "records/../records" is "records"
        try:
            rel = target.relative_to(root).as_posix()
        except ValueError:
            raise OpsledgerError(f"{given}: outside the repository {root}") from None
        prefix = "" if rel == "." else rel

        hits = {r.id for r in ledger.records() if _inside(r.path, prefix)}
        hits |= {f for f in ledger.files if _inside(f, prefix)}
        if rel in (".", ledger.policy.path):
            hits.add(ledger.policy.path)  # WAIVER-EXPIRED and other findings on the policy itself
        if not hits and not target.exists():
            raise OpsledgerError(f"{given}: no such file")
        if not hits and not skipped(rel):  # a README, a folder without records...
            raise OpsledgerError(f"{given}: no governed record here; {NOT_GOVERNED}")
        wanted |= hits
    return wanted


def _inside(path: str, prefix: str) -> bool:
    """Is ``path`` the file or inside the folder ``prefix`` ("" is the repository root)?"""
    return not prefix or path == prefix or path.startswith(prefix.rstrip("/") + "/")
