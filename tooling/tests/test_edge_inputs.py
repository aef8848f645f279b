"""No input crashes a command: times outside the supported years (1900-2999), periods,
--as-of, full disks and unusable output paths, FIFOs named like records or schemas, and
paths that are not governed records given to validate or audit."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import (
    ACKED,
    INCIDENT,
    RUNBOOK,
    InvokeCli,
    Repo,
    git,
    git_init,
    without_history,
)

INC = "records/incidents/INC-2026-0001.yaml"
RESOLVED = ACKED.replace("status: open", "status: resolved") + (
    "mitigated_at: 2026-03-04T09:50:00Z\nresolved_at: 2026-03-04T10:30:00Z\n"
    "resolution: Restored the pool size and added an alert on saturation.\n"
)
EXE = Path(sys.executable).parent / "opsledger"
HAS_DEV_FULL = os.path.exists("/dev/full")


@pytest.fixture
def cli(cli: InvokeCli) -> InvokeCli:
    """These repositories are not in git (see :func:`conftest.without_history`)."""
    return without_history(cli)


def run_exe(
    repo: Repo, *args: str, stdout: object = subprocess.PIPE, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """The installed console script, in its own process (a hang becomes a failure); the
    commands that read history run with --no-history (these repositories are not in git)."""
    if args[:1] in (("audit",), ("kpi",)) or args[:2] == ("site", "build"):
        args = (*args, "--no-history")
    return subprocess.run(
        [str(EXE), *args],
        cwd=repo.root,
        stdout=stdout,  # type: ignore[arg-type]
        stderr=subprocess.PIPE,
        text=True,
        timeout=timeout,
        env={**os.environ, "CI": "true"},
        check=False,
    )


def commit_all(repo: Repo) -> None:
    git_init(repo.root)
    git(repo.root, "add", "-A")
    git(repo.root, "commit", "-q", "-m", "records")


def commands(incident: str = "INC-2026-0001") -> list[list[str]]:
    as_of = ["--as-of", "2026-03-31T12:00:00Z"]
    return [
        ["validate"],
        ["audit", *as_of],
        ["kpi", "--format", "json", *as_of],
        ["brief", incident],
        ["report", "weekly", "--period", "2026-W10", *as_of],
        ["report", "monthly", "--period", "2026-03", *as_of],
        ["history", incident],
    ]


# ------------------------------------------------------------------ record times out of range


@pytest.mark.parametrize(
    "value",
    [
        "0001-01-01T00:00:00+01:00",
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:00-01:00",
        "9999-12-31T23:59:59Z",
        "1899-12-31T23:59:59Z",
        "3000-01-01T00:00:00Z",
        # in range as written, outside it (or on its edge days) in UTC or in another
        # timezone: a site built in America/New_York made a period of 1899
        "1900-01-01T03:00:00Z",
        "1900-01-01T00:00:00+14:00",
        "2999-12-31T23:59:59-12:00",
        "2999-12-31T00:00:00Z",
    ],
)
def test_record_timestamps_outside_the_supported_years(
    repo: Repo, cli: InvokeCli, value: str
) -> None:
    repo.write(INC, RESOLVED.replace("detected_at: 2026-03-04T09:12:00Z", f"detected_at: {value}"))
    commit_all(repo)
    for command in commands():
        result = cli(*command, "--repo", repo.root)
        assert result.status in (0, 1), (command, result.err)
    result = cli("validate", "--repo", repo.root)
    assert result.status == 1
    assert f"{INC}:9:14: error SCHEMA " in result.out
    assert "outside the supported range 1900-2999" in result.out


def test_timestamps_at_the_edges_of_the_range_are_accepted(repo: Repo, cli: InvokeCli) -> None:
    """The first and last moments taken: a day inside the range in UTC, so in every
    timezone too."""
    text = INCIDENT.replace("2026-03-04T09:12:00Z", "1900-01-02T00:00:00Z")
    repo.write(INC, text)
    repo.write(
        "records/incidents/INC-2999-0001.yaml",
        INCIDENT.replace("INC-2026-0001", "INC-2999-0001").replace(
            "2026-03-04T09:12:00Z", "2999-12-30T23:59:59Z"
        ),
    )
    assert cli("validate", "--repo", repo.root).status == 0
    commit_all(repo)
    for command in commands():
        assert cli(*command, "--repo", repo.root).status in (0, 1), command


@pytest.mark.parametrize("value", ["0001-01-01", "9999-12-31", "1899-12-31", "3000-01-01"])
def test_record_dates_outside_the_supported_years(repo: Repo, cli: InvokeCli, value: str) -> None:
    repo.write("runbooks/RB-0003-orders-db-pool.md", RUNBOOK.replace("2026-03-01", value))
    repo.write(INC, RESOLVED)
    commit_all(repo)
    for command in commands():
        assert cli(*command, "--repo", repo.root).status in (0, 1), command
    result = cli("validate", "--repo", repo.root)
    assert "runbooks/RB-0003-orders-db-pool.md:6:16: error SCHEMA" in result.out


# ------------------------------------------------------------------ --as-of and --period


@pytest.mark.parametrize(
    "as_of", ["9999-12-31", "0001-01-01", "9999-12-31T23:59:59Z", "0001-01-01T00:00:00+01:00"]
)
def test_as_of_outside_the_supported_years_is_a_usage_error(
    repo: Repo, cli: InvokeCli, as_of: str
) -> None:
    repo.write(INC, RESOLVED)
    for command in (
        ["audit"],
        ["kpi"],
        ["report", "weekly", "--period", "2026-W10"],
        ["new", "incident", "--title", "Edge of time"],
    ):
        result = cli(*command, "--as-of", as_of, "--repo", repo.root)
        assert result.status == 2, (command, result.err)
        assert "--as-of" in result.err and "1900-2999" in result.err


@pytest.mark.parametrize(
    ("kind", "period"),
    [
        ("weekly", "9999-W52"),
        ("weekly", "0000-W01"),
        ("weekly", "3000-W01"),
        ("monthly", "0000-01"),
        ("monthly", "9999-12"),
        ("monthly", "1899-12"),
    ],
)
def test_report_periods_outside_the_supported_years(
    repo: Repo, cli: InvokeCli, kind: str, period: str
) -> None:
    result = cli("report", kind, "--period", period, "--repo", repo.root)
    assert result.status == 2, result.err
    assert f"--period {period!r}" in result.err and "1900-2999" in result.err


@pytest.mark.parametrize("option", ["--since", "--until"])
def test_kpi_period_bounds_outside_the_supported_years(
    repo: Repo, cli: InvokeCli, option: str
) -> None:
    result = cli("kpi", option, "9999-12-31", "--repo", repo.root)
    assert result.status == 2 and "1900-2999" in result.err


def test_report_periods_inside_the_range_still_work(repo: Repo, cli: InvokeCli) -> None:
    assert cli("report", "weekly", "--period", "2999-W52", "--repo", repo.root).status == 0
    assert cli("report", "monthly", "--period", "1900-01", "--repo", repo.root).status == 0


# ------------------------------------------------------------------ the filesystem refuses

OUTPUT_COMMANDS = [
    ["validate"],
    ["audit", "--as-of", "2026-03-31T12:00:00Z"],
    ["kpi", "--format", "json", "--as-of", "2026-03-31T12:00:00Z"],
    ["brief", "INC-2026-0001"],
    ["report", "weekly", "--period", "2026-W10"],
]


@pytest.mark.skipif(not HAS_DEV_FULL, reason="needs /dev/full")
@pytest.mark.parametrize("command", OUTPUT_COMMANDS, ids=lambda c: c[0])
def test_output_to_a_full_disk_is_one_line(repo: Repo, cli: InvokeCli, command: list[str]) -> None:
    repo.write(INC, RESOLVED.replace("impact: ", "impact: TBD ") + "bogus: 1\n")
    result = cli(*command, "--output", "/dev/full", "--repo", repo.root)
    assert result.status == 2, result.err
    assert result.err.endswith("--output /dev/full: cannot write: No space left on device\n")


@pytest.mark.parametrize("command", OUTPUT_COMMANDS, ids=lambda c: c[0])
def test_output_paths_the_filesystem_refuses(
    repo: Repo, cli: InvokeCli, tmp_path: Path, command: list[str]
) -> None:
    repo.write(INC, RESOLVED)
    a_file = tmp_path / "plain.txt"
    a_file.write_text("x", encoding="utf-8")
    for target, reason in (
        (a_file / "out.json", "cannot write: "),  # a file where a folder should be
        (tmp_path / ("x" * 300), "cannot write: File name too long"),  # ENAMETOOLONG
        (tmp_path / "dir" / ("x" * 300) / "out", "cannot write: File name too long"),
    ):
        result = cli(*command, "--output", target, "--repo", repo.root)
        assert result.status == 2, (target, result.err)
        (error,) = [line for line in result.err.splitlines() if "error" in line]
        assert error.startswith(f"opsledger: error: --output {target}: {reason}")
    result = cli(*command, "--output", tmp_path, "--repo", repo.root)  # a folder: usage error
    assert result.status == 2 and "is a directory" in result.err


@pytest.mark.skipif(not HAS_DEV_FULL, reason="needs /dev/full")
@pytest.mark.parametrize(
    "command", [["validate"], ["audit"], ["rules"], ["kpi", "--format", "csv"]], ids=str
)
def test_standard_output_on_a_full_disk_is_one_line(repo: Repo, command: list[str]) -> None:
    repo.write(INC, RESOLVED.replace("impact: ", "impact: TBD ") + "bogus: 1\n")
    with open("/dev/full", "w") as full:
        proc = run_exe(repo, *command, stdout=full)
    assert proc.returncode == 2, proc.stderr
    (error,) = [line for line in proc.stderr.splitlines() if "error" in line]
    assert error.startswith("opsledger: error: ") and "No space left on device" in error
    assert "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr


@pytest.mark.parametrize(
    "command",
    [["validate"], ["audit"], ["rules"], ["kpi"], ["history", "INC-2026-0001"], ["--help"]],
    ids=str,
)
def test_closed_standard_streams_are_one_line_and_the_right_status(
    repo: Repo, command: list[str], tmp_path: Path
) -> None:
    """Started with standard output closed (``>&-``): one line on standard error, exit
    status 2, as on a full disk. Started with standard error closed: nothing can be said,
    and the status is still the command's own (never an internal error)."""
    repo.write(INC, RESOLVED.replace("impact: ", "impact: TBD ") + "bogus: 1\n")
    if command[:1] in (["audit"], ["kpi"], ["history"]):
        command = [*command, "--no-history"] if command[0] != "history" else command
    words = " ".join(shlex.quote(w) for w in [str(EXE), *command])
    env = {**os.environ, "CI": "true"}
    closed_out = subprocess.run(
        ["sh", "-c", f"{words} >&-"], cwd=repo.root, capture_output=True, text=True, env=env
    )
    assert "Traceback" not in closed_out.stderr and "internal error" not in closed_out.stderr
    if command[0] == "history":  # not in git: history is unusable, said before any output
        assert closed_out.returncode == 4, closed_out.stderr
    else:
        assert closed_out.returncode == 2, closed_out.stderr
        (said,) = [row for row in closed_out.stderr.splitlines() if "error" in row]
        assert said.startswith("opsledger: error: ") and "standard output" in said, said
        assert "closed" in said or said.endswith("cannot write to standard output"), said
    expected = run_exe(repo, *command).returncode
    err = tmp_path / "err"
    closed_err = subprocess.run(
        ["sh", "-c", f"{words} 2>&- >{shlex.quote(str(err))}"], cwd=repo.root, env=env
    )
    assert closed_err.returncode == expected, (command, closed_err.returncode, expected)


def test_import_problems_file_on_a_full_disk(repo: Repo, cli: InvokeCli, tmp_path: Path) -> None:
    export = tmp_path / "export.csv"
    export.write_text(
        "number,state,priority,opened_at,short_description\nnot-a-number,New,1 - Critical,"
        "2026-03-04 09:12:00,x\n",
        encoding="utf-8",
    )
    target = tmp_path / "plain.txt"
    target.write_text("x", encoding="utf-8")
    result = cli(
        "import", "servicenow", export, "--timezone", "UTC", "--dry-run",
        "--problems", target / "problems.csv", "--repo", repo.root,
    )  # fmt: skip
    assert result.status == 2, result.err
    assert f"--problems {target / 'problems.csv'}: cannot write: " in result.err


# ------------------------------------------------------------------ FIFOs are never opened


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_named_like_a_record_is_refused_unopened(repo: Repo, tmp_path: Path) -> None:
    repo.write(INC, RESOLVED)
    os.mkfifo(repo.root / "records/incidents/INC-2026-0002.yaml")
    (repo.root / "records/incidents/2026").mkdir()
    os.mkfifo(repo.root / "records/incidents/2026/INC-2026-0045.yaml")  # where import writes
    for command in (["validate"], ["audit"], ["kpi"]):
        proc = run_exe(repo, *command)
        assert proc.returncode == 1 or command[0] == "kpi", (command, proc.stderr)
        if command[0] != "kpi":
            assert "INC-2026-0002.yaml:1:1: error SCHEMA is not a regular file" in proc.stdout
    export = tmp_path / "export.csv"
    export.write_text(
        "number,state,priority,opened_at,short_description\n"
        "INC0000045,New,3 - Moderate,2026-03-04 09:12:00,Orders slow\n",
        encoding="utf-8",
    )
    proc = run_exe(repo, "import", "servicenow", str(export), "--timezone", "UTC")
    assert proc.returncode != 3 and "Traceback" not in proc.stderr


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_named_like_a_schema_is_a_config_error(repo: Repo) -> None:
    (repo.root / "schemas/defs.schema.json").unlink()
    os.mkfifo(repo.root / "schemas/defs.schema.json")
    proc = run_exe(repo, "validate")
    assert proc.returncode == 2, proc.stderr
    assert "defs.schema.json: is not a regular file" in proc.stderr


@pytest.mark.parametrize(
    ("definitions", "chain"),
    [
        ({"line": {"type": "string", "not": {"$ref": "#/$defs/line"}}}, "line -> line"),
        (
            {
                "line": {"$ref": "#/$defs/loop"},
                "loop": {"type": "array", "items": {"$ref": "#/$defs/line"}},
            },
            "line -> loop -> line",
        ),
    ],
)
def test_a_shared_definition_that_refers_to_itself_is_a_config_error(
    repo: Repo, definitions: dict[str, object], chain: str
) -> None:
    """The shared definitions are copied into each schema: one that refers to itself would
    be copied without end (an internal error, exit 3, before). It stops every run, whatever
    kinds of record the run reads: validate of one incident, and of nothing but the policy."""
    import json

    path = repo.root / "schemas/defs.schema.json"
    schema = json.loads(path.read_text(encoding="utf-8"))
    schema["$defs"].update(definitions)
    path.write_text(json.dumps(schema, indent=2), encoding="utf-8")
    repo.write(INC, RESOLVED)
    for args in ((INC,), ("policy.yaml",), ()):
        proc = run_exe(repo, "validate", *args)
        assert proc.returncode == 2, (args, proc.stderr)
        assert f"defs.schema.json: the shared definition 'line' refers to itself ({chain})" in (
            proc.stderr
        )
        assert len(proc.stderr.strip().splitlines()) == 1


def _nested(levels: int, leaf: object) -> object:
    node = leaf
    for _ in range(levels):
        node = {"type": "array", "items": node}
    return node


def _chained(count: int, levels: int) -> dict[str, object]:
    """``count`` shared definitions, each ``levels`` deep, each ending in the next."""
    chain: dict[str, object] = {f"d{count}": {"type": "string"}}
    for i in range(count):
        chain[f"d{i}"] = _nested(levels, {"$ref": f"#/$defs/d{i + 1}"})
    return chain


@pytest.mark.parametrize(
    ("schema", "change", "message"),
    [
        ("defs", lambda s: "[" * 100_000 + "]" * 100_000, "nested too deeply to be read"),
        ("defs", lambda s: {**s, "$defs": {**s["$defs"], "deep": _nested(70, {})}}, "more than 64"),
        ("incident", lambda s: {**s, "$defs": {"deep": _nested(70, {})}}, "more than 64"),
        (
            "defs",
            lambda s: {**s, "$defs": {**s["$defs"], **_chained(12, 40)}},
            "more than 256 levels deep once the shared definitions are copied in",
        ),
    ],
    ids=["past-the-decoder", "deep-definition", "deep-kind", "deep-once-inlined"],
)
def test_a_schema_nested_too_deeply_is_a_config_error(
    repo: Repo, schema: str, change: object, message: str
) -> None:
    """Siblings of the recursive definition: a schema nested past the JSON decoder's limit,
    or shared definitions only a few levels deep each but chained to hundreds of levels
    once copied in, stopped a run reading such a record with an internal error
    (RecursionError, exit 3). Every schema nested beyond a bound none of ours comes near
    (64 levels as written, 256 once the definitions are copied in) is now one line naming
    the file (exit 2), before any walker of it (the reference check, inlining, either
    engine) recurses that deep, whatever kinds the run reads."""
    import json

    path = repo.root / f"schemas/{schema}.schema.json"
    changed = change(json.loads(path.read_text(encoding="utf-8")))  # type: ignore[operator]
    text = changed if isinstance(changed, str) else json.dumps(changed)
    path.write_text(text, encoding="utf-8")
    repo.write(INC, RESOLVED)
    proc = run_exe(repo, "validate", INC)
    assert proc.returncode == 2, proc.stderr
    assert f"{schema}.schema.json: " in proc.stderr and message in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("(", "missing ), unterminated subpattern"),
        ("(?<=a+)b", "look-behind requires fixed-width pattern"),
        ("a{2,1}", "min repeat greater than max repeat"),
    ],
)
@pytest.mark.parametrize("keyword", ["pattern", "patternProperties"])
def test_a_schema_pattern_that_is_not_a_regex_is_a_config_error(
    repo: Repo, pattern: str, reason: str, keyword: str
) -> None:
    """A pattern Python's ``re`` cannot compile was an internal error (exit 3) once a record
    reached it. It is one line naming the file, the keyword and where it is (exit 2), for
    every run; the same text inside data (an ``enum`` value) is not a pattern."""
    import json

    path = repo.root / "schemas/incident.schema.json"
    schema = json.loads(path.read_text(encoding="utf-8"))
    title = schema["properties"]["title"]
    if keyword == "pattern":
        schema["properties"]["title"] = {**title, "pattern": pattern}
    else:
        schema["properties"]["extra"] = {"type": "object", "patternProperties": {pattern: {}}}
    path.write_text(json.dumps(schema), encoding="utf-8")
    repo.write(INC, RESOLVED)
    for args in ((INC,), ("policy.yaml",)):
        proc = run_exe(repo, "validate", *args)
        assert proc.returncode == 2, proc.stderr
        where = "/properties/title" if keyword == "pattern" else "/properties/extra"
        assert f"incident.schema.json: {keyword} " in proc.stderr and where in proc.stderr
        assert reason in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    schema["properties"]["title"] = {**title, "not": {"enum": [{"pattern": pattern}]}}
    schema["properties"].pop("extra", None)
    path.write_text(json.dumps(schema), encoding="utf-8")
    proc = run_exe(repo, "validate", INC)
    assert proc.returncode == 0, proc.stderr


def test_a_shared_definition_that_is_not_a_schema_is_a_config_error(repo: Repo) -> None:
    """The shared definitions are held to the meta-schema as the record schemas are: a
    definition that is a number was an internal error where it was inlined (exit 3). A
    boolean one is a schema: it is referred to, not copied in."""
    import json

    path = repo.root / "schemas/defs.schema.json"
    schema = json.loads(path.read_text(encoding="utf-8"))
    repo.write(INC, RESOLVED)
    for value, status in ((5, 2), (True, 0)):
        path.write_text(
            json.dumps({**schema, "$defs": {**schema["$defs"], "line": value}}), encoding="utf-8"
        )
        proc = run_exe(repo, "validate", INC)
        assert proc.returncode == status, proc.stderr
    path.write_text(json.dumps({**schema, "$defs": {**schema["$defs"], "line": 5}}), "utf-8")
    proc = run_exe(repo, "validate", INC)
    assert "defs.schema.json: not a valid JSON Schema" in proc.stderr


# ------------------------------------------------------------------ validate / audit: not records


@pytest.mark.parametrize("command", ["validate", "audit"])
@pytest.mark.parametrize(
    "path", ["README.md", "site/index.md", "records/changes", "site", "tooling/x.py"]
)
def test_a_path_without_governed_records_is_refused(
    repo: Repo, cli: InvokeCli, command: str, path: str
) -> None:
    repo.write("README.md", "# Governance\n")
    repo.write("site/index.md", "# Home\n")
    repo.write("tooling/x.py", "print('x')\n")
    repo.write(INC, RESOLVED)
    result = cli(command, "--repo", repo.root, repo.root / path)
    assert result.status == 2, result.out
    assert path in result.err and "nothing was checked" in result.err
    assert "files checked" not in result.err


@pytest.mark.parametrize("command", ["validate", "audit"])
def test_governed_paths_are_still_checked(repo: Repo, cli: InvokeCli, command: str) -> None:
    repo.write(INC, RESOLVED)
    repo.write("records/incidents/README.md", "# What goes here\n")
    for path in (INC, "records", "records/incidents", ".", "policy.yaml", "records/services.yaml"):
        result = (
            cli(command, "--repo", repo.root, "--as-of", "2026-03-31T12:00:00Z", repo.root / path)
            if command == "audit"
            else cli(command, "--repo", repo.root, repo.root / path)
        )
        assert result.status in (0, 1), (path, result.err)
    # a folder README is skipped by design (pre-commit passes it), never an error
    readme = cli(command, "--repo", repo.root, repo.root / "records/incidents/README.md")
    assert readme.status == 0, readme.err


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
@pytest.mark.parametrize("where", ["mkdocs.yml", "site/notes.md"])
def test_a_fifo_in_the_site_sources_is_refused(cli: InvokeCli, tmp_path: Path, where: str) -> None:
    root = tmp_path / "fresh"
    assert cli("init", root).status == 0
    fresh = Repo(root)
    if where == "mkdocs.yml":
        (root / where).unlink()
    os.mkfifo(root / where)
    proc = run_exe(fresh, "site", "build", "--output", str(tmp_path / "out"), timeout=90)
    assert proc.returncode == 2, proc.stderr
    assert "is not a regular file" in proc.stderr and "Traceback" not in proc.stderr


def test_no_id_left_after_the_longest_number_is_a_usage_error(repo: Repo) -> None:
    """Found by an attack: after a record numbered with every digit an ID may hold
    (``INC-2026-`` and 31 nines, 40 characters), ``opsledger new`` wrote ``INC-2026-1``
    and 31 zeros, 41 characters, which its own schema refuses. It says no ID is left."""
    longest = "INC-2026-" + "9" * 31
    repo.write(f"records/incidents/{longest}.yaml", RESOLVED.replace("INC-2026-0001", longest))
    assert run_exe(repo, "validate").returncode == 0
    args = ("--title", "Checkout errors", "--as-of", "2026-06-01", "--no-history")
    proc = run_exe(repo, "new", "incident", *args)
    assert proc.returncode == 2, proc.stderr
    assert "no incident ID is left" in proc.stderr and "over the 40" in proc.stderr
    assert not list((repo.root / "records/incidents").rglob("INC-2026-1*.yaml"))


def test_numbers_of_thousands_of_digits_are_no_numbers(repo: Repo) -> None:
    """``int()`` refuses a string of over 4,300 digits (ValueError, exit 3 before): a
    record id of 5,000 digits (which its schema refuses) numbers nothing for ``opsledger
    new``, and a committed version with a priority of 5,000 digits ranks nothing for the
    priority-downgrade KPI."""
    import re

    priority = re.search(r"priority: (P[0-9])", RESOLVED)
    assert priority is not None
    huge = "INC-2026-" + "9" * 5000
    repo.write(INC, RESOLVED.replace("priority: " + priority[1], "priority: P" + "9" * 5000))
    git_init(repo.root)
    git(repo.root, "add", "-A")
    git(repo.root, "commit", "-q", "-m", "a priority no rank holds")
    repo.write(INC, RESOLVED)
    git(repo.root, "commit", "-q", "-a", "-m", "fixed")
    proc = run_exe(repo, "kpi", "--as-of", "2026-11-01")
    assert proc.returncode in (0, 1), proc.stderr
    repo.write("records/incidents/INC-2026-0002.yaml", RESOLVED.replace("INC-2026-0001", huge))
    proc = run_exe(repo, "new", "incident", "--title", "Checkout errors", "--as-of", "2026-06-01")
    assert proc.returncode == 0, proc.stderr
    assert "INC-2026-0003" in proc.stdout
