"""The record downloads, made as UTF-8 bytes one record at a time, are the texts the whole
tables give: compared with the CSV of every row at once and ``json.dumps`` of the whole
document."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import unicodedata
from pathlib import Path

import pytest

from opsledger.neutral import json_text
from opsledger.output.spreadsheet import cell, csv_line, csv_text
from opsledger.site.data import collect
from opsledger.site.downloads import _dumps, _flat, _json, _json_items, each_download

from conftest import ACKED, AS_OF, Repo


def _records(repo: Repo) -> None:
    title = "Orders database connection pool exhausted"
    repo.write("records/incidents/INC-2026-0001.yaml", ACKED)
    repo.write(
        "records/incidents/INC-2026-0002.yaml",
        ACKED.replace("INC-2026-0001", "INC-2026-0002").replace(
            title, '"Zahlungen — 東京 \\U0001F600, \\"quoted\\", =1+1"'
        )
        + "notes: |\n  two\n  lines, a tab\there\n",
    )


def test_record_downloads_are_the_whole_tables_texts(repo: Repo) -> None:
    _records(repo)
    data = collect(repo.root, AS_OF, use_history=False)
    made = dict(each_download(data))
    records = list(data.ledger.incidents.values())
    assert len(records) == 2
    keys: list[str] = []
    for r in records:
        keys.extend(k for k in r.data if k not in keys)
    keys = [k for k in keys if k != "id"]
    rows = [[r.id, r.path, *(_flat(r.data.get(k)) for k in keys)] for r in records]
    csv_whole = csv_text(["id", "path", *keys], rows)
    doc = {
        "version": 1,
        "commit": data.commit,
        "as_of": data.as_of.isoformat(),
        "records": [{"id": r.id, "path": r.path, "fields": dict(r.data)} for r in records],
    }
    json_whole = json_text(json.dumps(doc, ensure_ascii=False, default=str)) + "\n"
    assert "東京" in json_whole and "東京" in csv_whole
    assert made["incidents.csv"] == csv_whole.encode("utf-8")
    assert made["incidents.json"] == json_whole.encode("utf-8")
    # a kind with no records: the frame alone
    empty = json_text(json.dumps({**doc, "records": []}, ensure_ascii=False, default=str)) + "\n"
    assert made["pirs.json"] == empty.encode("utf-8")


@pytest.mark.parametrize(
    "hostile",
    [
        "x\ud800",  # a lone surrogate: a file name or git identity that is no UTF-8
        "x\udcff.yaml",
        "Mallory \u202e\x9b31m",  # a bidi override and a C1 control sequence introducer
        "a\u2028b\x1b]8;;https://evil.example\x07c",
        "##vso[task.setvariable variable=x]1",
    ],
)
def test_json_downloads_are_utf8_and_inert(repo: Repo, hostile: str) -> None:
    data = collect(repo.root, AS_OF, use_history=False)
    items = [{"id": hostile, "fields": {"title": hostile}}, {"id": "y"}]
    made = _json_items(data, "records", [_dumps(item).encode("utf-8") for item in items])
    text = made.decode("utf-8")  # always bytes, always UTF-8
    assert not any(unicodedata.category(c) in {"Cc", "Cf", "Cs", "Zl", "Zp"} for c in text[:-1])
    assert "##" not in text
    doc = {"version": 1, "commit": data.commit, "as_of": data.as_of.isoformat()}
    # the same values, escaped; a lone surrogate, which no valid JSON text holds, as the
    # text of its visible escape
    lone = re.compile("[\ud800-\udfff]")
    shown = json.loads(
        lone.sub(lambda m: f"\\\\u{ord(m.group()):04x}", json.dumps(items, ensure_ascii=False))
    )
    assert json.loads(text) == {**doc, "records": shown}
    assert json.loads(_json(data, "findings", items)) == {**doc, "findings": shown}


def test_site_build_with_a_file_name_that_is_no_utf8(repo: Repo, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """One stray file whose name is no UTF-8 is reported, and the site builds; its name
    reaches the findings download escaped."""
    _records(repo)
    folder = os.fsencode(repo.root / "records/incidents")
    with open(os.path.join(folder, b"\xff.yaml"), "wb") as handle:
        handle.write(ACKED.encode())
    out = tmp_path / "out"
    result = cli("site", "build", "--repo", repo.root, "--output", out, "--no-history")
    assert result.status == 0, result.err
    raw = (out / "downloads/findings.json").read_bytes()
    found = json.loads(raw.decode("utf-8"))["findings"]
    assert any(f["path"] == "records/incidents/\\udcff.yaml" for f in found), found
    assert b"\\\\udcff.yaml" in raw


def test_csv_lines_make_the_csv_text() -> None:
    rows: list[list[object]] = [
        ["=cmd", "line\r\nbreak", "Zürich — 東京"],
        [1.5, None, '"q"', "lone \ud800"],
    ]
    table: list[list[object]] = [["a", "b", "c"], *rows]
    for terminator in ("\r\n", "\n"):
        text = csv_text(["a", "b", "c"], rows, lineterminator=terminator)
        lines = [csv_line(row, lineterminator=terminator) for row in table]
        assert "".join(lines) == text
        # what one writer makes of the whole table, each cell neutralised: the same text
        whole = io.StringIO()
        writer = csv.writer(whole, lineterminator=terminator)
        for row in table:
            writer.writerow([cell(value) for value in row])
        assert whole.getvalue() == text
        assert text.startswith(f"a,b,c{terminator}'=cmd,") and "lone \\ud800" in text
        assert "".join(lines).encode("utf-8") == text.encode("utf-8")  # no lone surrogate
