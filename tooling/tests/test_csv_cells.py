"""Every CSV opsledger writes opens in a spreadsheet as data: no cell, header or not, runs as
a formula (site downloads, ``import servicenow --problems``, ``kpi --format csv``)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from opsledger.output.spreadsheet import cell, csv_text
from opsledger.site.data import collect
from opsledger.site.downloads import downloads

from conftest import ACKED, AS_OF, InvokeCli, Repo, without_history

FORMULAS = [
    '=HYPERLINK("http://evil.example")',
    "+1+1",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(A1:A2)",
    "\t=1+1",
    "\r=1+1",
    "\n=1+1",
    '\uff1dHYPERLINK("http://evil.example")',
    "\uff0b1",
    "\uff0d1",
    "\uff20SUM(A1)",
]


@pytest.fixture
def cli(cli: InvokeCli) -> InvokeCli:
    """These repositories are not in git (see :func:`conftest.without_history`)."""
    return without_history(cli)


def formula_cells(text: str) -> list[str]:
    """Cells a spreadsheet would evaluate: starting with a formula sign, after parsing."""
    signs = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")
    return [c for row in csv.reader(io.StringIO(text)) for c in row if c.startswith(signs)]


@pytest.mark.parametrize("value", FORMULAS)
def test_formula_cells_are_text(value: str) -> None:
    shown = cell(value)
    assert isinstance(shown, str) and shown.startswith(("'", "\\"))  # quoted, or \t \r shown
    assert not formula_cells(csv_text([value], [[value]]))


def test_numbers_stay_numbers_and_plain_text_stays() -> None:
    assert cell(-2) == -2 and cell(0.5) == 0.5
    assert cell("plain") == "plain" and cell(None) == ""
    rows = list(csv.reader(io.StringIO(csv_text(["a", "b"], [[-3.5, "x\ny"]]))))
    assert rows == [["a", "b"], ["-3.5", "x\ny"]]


def test_site_csv_downloads_neutralise_the_header_row(repo: Repo) -> None:
    """A schema-invalid record may carry any key; keys become the CSV header."""
    extra = "".join(f"{json.dumps(key)}: x\n" for key in FORMULAS[:4])
    repo.write("records/incidents/INC-2026-0001.yaml", ACKED + extra)
    repo.write(
        "records/incidents/INC-2026-0002.yaml",
        ACKED.replace("0001", "0002").replace("orders-db", '"=1+1"'),
    )
    files = downloads(collect(repo.root, AS_OF, use_history=False))  # not in git
    header = next(csv.reader(io.StringIO(files["incidents.csv"])))
    assert '\'=HYPERLINK("http://evil.example")' in header
    for name, text in files.items():
        if name.endswith(".csv"):
            assert not formula_cells(text), name


def test_import_problems_file_neutralises_cells(repo: Repo, cli: InvokeCli, tmp_path: Path) -> None:
    source = tmp_path / "export.csv"
    source.write_text(
        "number,incident_state,opened_at,priority\n"
        '"=HYPERLINK(""http://evil.example"")",New,1/2/2016 10:00,3 - Moderate\n'
        '"\uff20SUM(A1)",,1/2/2016 10:00,3 - Moderate\n',
        encoding="utf-8",
    )
    problems = tmp_path / "problems.csv"
    result = cli(
        "import",
        "servicenow",
        source,
        "--repo",
        repo.root,
        "--timezone",
        "Europe/London",
        "--dry-run",
        "--problems",
        problems,
    )
    assert result.status == 1
    text = problems.read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    assert [r[1] for r in rows[1:]] == ['\'=HYPERLINK("http://evil.example")', "'\uff20SUM(A1)"]
    assert not formula_cells(text)


def test_kpi_csv_neutralises_group_keys(repo: Repo, cli: InvokeCli) -> None:
    repo.write(
        "records/incidents/INC-2026-0001.yaml",
        ACKED.replace("service: orders-db", 'service: "=HYPERLINK(\\"http://evil.example\\")"'),
    )
    result = cli("kpi", "--repo", repo.root, "--as-of", AS_OF, "--by", "service", "--format", "csv")
    assert result.status == 0, result.err
    assert "'=HYPERLINK" in result.out
    assert not formula_cells(result.out)
