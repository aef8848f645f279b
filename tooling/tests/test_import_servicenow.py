"""``opsledger import servicenow``: the real sample, worked out by hand, and every safety net.

The sample is ``tooling/tests/data/servicenow-incident-events-sample.csv`` (198 rows, 32
incidents of a real instance's audit log, ``d/m/yyyy hh:mm``, ``?`` = empty; CC BY 4.0, see
the data README); ``OPSLEDGER_SERVICENOW_SAMPLE`` points elsewhere.

All imports use ``--timezone Europe/London``: in February and March 2016 that is UTC+0 (so
the sample's local times read as UTC), from 27 March 2016 UTC+1 (so April times lose an hour).
Line numbers are the file's: the header is line 1, the first incident row line 2.
"""

from __future__ import annotations

import csv
import itertools
import json
import os
import random
import re
import shutil
from collections import defaultdict
from datetime import UTC, date, datetime
from pathlib import Path
from statistics import mean
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from opsledger.errors import OpsledgerError
from opsledger.importers import ImportOptions, import_servicenow
from opsledger.importers.incident import clean_line
from opsledger.importers.policyedit import with_since
from opsledger.importers.render import render
from opsledger.loading import load_document, load_text
from opsledger.schemas import SchemaSet

from conftest import PROJECT, InvokeCli, Repo

SAMPLE = Path(
    os.environ.get(
        "OPSLEDGER_SERVICENOW_SAMPLE",
        PROJECT / "tooling" / "tests" / "data" / "servicenow-incident-events-sample.csv",
    )
)
needs_sample = pytest.mark.skipif(not SAMPLE.is_file(), reason=f"no ServiceNow sample at {SAMPLE}")
LONDON = ZoneInfo("Europe/London")
ADOPTED = "2026-03-02"
GAPS_P3_CLOSED = ["mitigated_at", "impact", "resolution", "notifications", "service"]
Row = dict[str, str]


# --- helpers ----------------------------------------------------------------------------


def read_sample() -> tuple[list[str], list[Row]]:
    with SAMPLE.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def write_csv(path: Path, header: list[str], rows: list[Row]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, header)
        writer.writeheader()
        writer.writerows(rows)
    return path


def run(cli: InvokeCli, repo: Repo, source: Path, *extra: str) -> Any:
    return cli(
        "import",
        "servicenow",
        source,
        "--repo",
        repo.root,
        "--timezone",
        "Europe/London",
        "--adopted-on",
        ADOPTED,
        *extra,
    )


def record(repo: Repo, record_id: str) -> dict[str, Any]:
    year = record_id.split("-")[1]
    data = load_document(repo.root / f"records/incidents/{year}/{record_id}.yaml").data
    assert isinstance(data, dict)
    return data


def files(repo: Repo) -> dict[str, bytes]:
    base = repo.root / "records/incidents"
    return {p.relative_to(base).as_posix(): p.read_bytes() for p in sorted(base.rglob("*.yaml"))}


def events(data: dict[str, Any]) -> list[tuple[str, str]]:
    return [(e["at"], e["event"]) for e in data["timeline"]]


# --- the real sample, worked out by hand --------------------------------------------------


@needs_sample
def test_sample_imports_into_records_that_validate(repo: Repo, cli: InvokeCli) -> None:
    before = (repo.root / "policy.yaml").read_text(encoding="utf-8")
    result = run(cli, repo, SAMPLE)
    assert result.status == 0, result.err
    assert "198 rows, 32 incidents (audit event log; dates d/m/yyyy" in result.out
    assert "32 created, 0 updated, 0 unchanged, 0 rows or incidents skipped" in result.out
    written = files(repo)
    numbers = {row["number"] for row in read_sample()[1]}
    assert set(written) == {f"2016/INC-2016-{int(n[3:]):04d}.yaml" for n in numbers}
    checked = cli("validate", "--repo", repo.root)
    assert checked.status == 0, checked.out
    assert "34 files checked, 0 errors" in checked.err  # 32 incidents, a problem, the catalog
    assert not list((repo.root / "records/incidents").glob(".import-*"))  # staging removed
    # never a naive timestamp: every time written is UTC with its Z
    times = re.findall(rb"(?:_at|at): (\S+)", b"".join(written.values()))
    assert times and all(re.fullmatch(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:00Z", t) for t in times)
    # adoption: exactly the one line of policy.yaml changed
    after = (repo.root / "policy.yaml").read_text(encoding="utf-8")
    assert after == before.replace("  since: null\n", f'  since: "{ADOPTED}"\n')
    assert after != before


@needs_sample
def test_timeline_with_reassignments_worked_by_hand(repo: Repo, cli: InvokeCli) -> None:
    """INC0000047, lines 6-14.

    line  mod  sys_updated_at   state               group     assigned_to
       6    0  29/2/2016 04:57  New                 Group 70  Resolver 89
       7    1  29/2/2016 05:30  Active              Group 24  Resolver 31
     8-11  2-5  …                Active              Group 24  Resolver 31   (nothing tracked)
      12    6  1/3/2016 09:14   Awaiting User Info  Group 24  Resolver 89
      13    7  1/3/2016 09:52   Resolved            Group 24  Resolver 89   close code 5
      14    8  6/3/2016 10:00   Closed

    opened_at 29/2/2016 04:40 → detected_at. The creation row already names an assignee:
    acknowledged at 04:57 (before it left New at 05:30). resolved_at and closed_at are the
    export's own. Priority 3 - Moderate → P3, contact Phone → manual/service-desk, cmdb_ci
    "?" → service unknown (a gap). No close notes → resolution is a gap, and the export has
    no impact statement, notifications or restoration time.
    """
    assert run(cli, repo, SAMPLE).status == 0
    assert record(repo, "INC-2016-0047") == {
        "id": "INC-2016-0047",
        "title": "Category 40 / Subcategory 215 / Symptom 471 (INC0000047)",
        "priority": "P3",
        "status": "closed",
        "service": "unknown",
        "detection": "manual",
        "source": "service-desk",
        "category": "Category 40",
        "impact": "No impact statement in the ServiceNow export (impact 2 - Medium, "
        "urgency 2 - Medium).",
        "detected_at": "2016-02-29T04:40:00Z",
        "acknowledged_at": "2016-02-29T04:57:00Z",
        "resolved_at": "2016-03-01T09:52:00Z",
        "closed_at": "2016-03-06T10:00:00Z",
        "timeline": [
            {
                "at": "2016-02-29T04:40:00Z",
                "event": "Opened in ServiceNow as INC0000047: state New, priority 3 - Moderate, "
                "assignment group Group 70, assigned to Resolver 89.",
            },
            {
                "at": "2016-02-29T05:30:00Z",
                "event": "State New → Active; reassigned from Group 70 to Group 24; "
                "assigned to Resolver 31.",
            },
            {
                "at": "2016-03-01T09:14:00Z",
                "event": "State Active → Awaiting User Info; assigned to Resolver 89.",
            },
            {
                "at": "2016-03-01T09:52:00Z",
                "event": "State Awaiting User Info → Resolved (close code: code 5).",
            },
            {"at": "2016-03-06T10:00:00Z", "event": "State Resolved → Closed."},
        ],
        "external_id": "INC0000047",
        "import_gaps": GAPS_P3_CLOSED,
    }


@needs_sample
def test_priority_raised_during_the_incident(repo: Repo, cli: InvokeCli) -> None:
    """INC0000062, lines 26-33: opened 29/2/2016 06:58 as 3 - Moderate; line 27 (07:29)
    raises it to 2 - High, line 28 (07:34) moves it from Group 70 to Group 23. It stays New
    and unassigned until line 32 (15:51) resolves it, so the first update leaving New is the
    resolution: acknowledged_at = resolved_at = 15:51. The record keeps the final priority,
    P2, so the major-incident fields ServiceNow does not have (commander, bridge, PIR) are
    gaps too."""
    assert run(cli, repo, SAMPLE).status == 0
    data = record(repo, "INC-2016-0062")
    assert (data["priority"], data["status"]) == ("P2", "closed")
    assert (data["detected_at"], data["acknowledged_at"], data["resolved_at"]) == (
        "2016-02-29T06:58:00Z",
        "2016-02-29T15:51:00Z",
        "2016-02-29T15:51:00Z",
    )
    assert data["closed_at"] == "2016-03-05T16:00:00Z"
    assert events(data)[1:4] == [
        ("2016-02-29T07:29:00Z", "Priority 3 - Moderate → 2 - High."),
        ("2016-02-29T07:34:00Z", "Reassigned from Group 70 to Group 23."),
        ("2016-02-29T15:51:00Z", "State New → Resolved (close code: code 7)."),
    ]
    assert data["import_gaps"] == [
        "mitigated_at",
        "impact",
        "resolution",
        "notifications",
        "commander",
        "bridge_opened_at",
        "pir",
        "service",
    ]


@needs_sample
def test_question_marks_everywhere_optional(repo: Repo, cli: InvokeCli) -> None:
    """INC0000093, lines 175-176: every optional field is "?" (resolved_at, assigned_to,
    sys_created_at, problem_id, rfc, caused_by, cmdb_ci, vendor). It was opened and
    resolved in the same minute (line 175: state Resolved at 29/2/2016 08:56, update 0),
    then closed on line 176 (5/3/2016 10:00). resolved_at "?" → the update that made it
    Resolved, 08:56; that update also left New → acknowledged 08:56. No assignee, no change,
    no caused_by_change."""
    assert run(cli, repo, SAMPLE).status == 0
    data = record(repo, "INC-2016-0093")
    assert {k: data.get(k) for k in ("acknowledged_at", "resolved_at", "closed_at")} == {
        "acknowledged_at": "2016-02-29T08:56:00Z",
        "resolved_at": "2016-02-29T08:56:00Z",
        "closed_at": "2016-03-05T10:00:00Z",
    }
    assert "caused_by_change" not in data and "reopened" not in data
    assert events(data) == [
        (
            "2016-02-29T08:56:00Z",
            "Opened in ServiceNow as INC0000093: state Resolved, priority 3 - Moderate, "
            "assignment group Group 70.",
        ),
        ("2016-03-05T10:00:00Z", "State Resolved → Closed."),
    ]
    assert data["service"] == "unknown" and data["import_gaps"] == GAPS_P3_CLOSED


@needs_sample
def test_linked_change_and_daylight_saving(repo: Repo, cli: InvokeCli) -> None:
    """INC0000074, lines 101-106: rfc CHG0000404 appears on line 104 (21/3/2016 11:07,
    still GMT); resolved 11/4/2016 14:39 and closed 16/4/2016 15:07 are British Summer
    Time, so an hour earlier in UTC. The sample has no caused_by, so rfc gives
    caused_by_change, numbered in the incident's year."""
    result = run(cli, repo, SAMPLE)
    assert result.status == 0
    assert "caused_by_change taken from rfc for 2 incidents" in result.out
    data = record(repo, "INC-2016-0074")
    assert data["caused_by_change"] == "CHG-2016-0404"
    assert ("2016-03-21T11:07:00Z", "Change CHG0000404 linked (rfc).") in events(data)
    assert (data["resolved_at"], data["closed_at"]) == (
        "2016-04-11T13:39:00Z",
        "2016-04-16T14:07:00Z",
    )


def _reopened_sample(tmp_path: Path) -> Path:
    """The sample with two reopens, built from real rows.

    INC0000045 (lines 2-5: New 01:23, Resolved 08:53, Resolved 11:29, Closed 5/3 12:00):
    a new update 3 at 10:02 puts it back to Active with reopen_count 1; the later updates
    are renumbered and keep reopen_count 1. Both signals in one update: one reopen.

    INC0000060 (lines 22-25: New, Active 2/3 08:52, Resolved 2/3 12:06, Closed 7/3 13:00):
    the state alone goes back (Resolved → Active at 2/3 15:30, reopen_count stays 0), is
    resolved again 3/3 09:00 and closed 8/3 09:00; resolved_at/closed_at become those.
    """
    header, rows = read_sample()
    out: list[Row] = []
    for row in rows:
        if row["number"] == "INC0000045" and row["sys_mod_count"] in ("3", "4"):
            if row["sys_mod_count"] == "3":
                out.append(
                    {
                        **row,
                        "incident_state": "Active",
                        "sys_updated_at": "29/2/2016 10:02",
                        "reopen_count": "1",
                    }
                )
            out.append({**row, "sys_mod_count": str(int(row["sys_mod_count"]) + 1)})
            out[-1]["reopen_count"] = "1"
        elif row["number"] == "INC0000060":
            row = {**row, "resolved_at": "3/3/2016 09:00", "closed_at": "8/3/2016 09:00"}
            if row["sys_mod_count"] == "3":
                for mod, state, at in (
                    ("3", "Active", "2/3/2016 15:30"),
                    ("4", "Resolved", "3/3/2016 09:00"),
                    ("5", "Closed", "8/3/2016 09:00"),
                ):
                    out.append({**row, "sys_mod_count": mod, "incident_state": state})
                    out[-1]["sys_updated_at"] = at
            else:
                out.append(row)
        else:
            out.append(row)
    return write_csv(tmp_path / "reopened.csv", header, out)


@needs_sample
def test_reopens_from_reopen_count_and_from_state(
    repo: Repo, cli: InvokeCli, tmp_path: Path
) -> None:
    assert run(cli, repo, _reopened_sample(tmp_path)).status == 0
    first = record(repo, "INC-2016-0045")
    assert first["reopened"] == [
        {
            "at": "2016-02-29T10:02:00Z",
            "reason": "Reopened in ServiceNow (state Resolved → Active; reopen count 0 → 1); "
            "the export records no reason.",
        }
    ]
    # left New when it was first resolved; the final resolution is the export's resolved_at
    assert (first["acknowledged_at"], first["resolved_at"]) == (
        "2016-02-29T08:53:00Z",
        "2016-02-29T11:29:00Z",
    )
    assert events(first)[1:4] == [
        ("2016-02-29T08:53:00Z", "State New → Resolved (close code: code 5)."),
        ("2016-02-29T10:02:00Z", "State Resolved → Active; reopen count 0 → 1."),
        ("2016-02-29T11:29:00Z", "State Active → Resolved (close code: code 5)."),
    ]
    second = record(repo, "INC-2016-0060")
    assert second["reopened"] == [
        {
            "at": "2016-03-02T15:30:00Z",
            "reason": "Reopened in ServiceNow (state Resolved → Active); "
            "the export records no reason.",
        }
    ]
    assert (second["resolved_at"], second["closed_at"]) == (
        "2016-03-03T09:00:00Z",
        "2016-03-08T09:00:00Z",
    )
    assert cli("validate", "--repo", repo.root).status == 0


# --- safe and repeatable ------------------------------------------------------------------


@needs_sample
def test_reimport_is_idempotent(repo: Repo, cli: InvokeCli) -> None:
    assert run(cli, repo, SAMPLE).status == 0
    before, policy = files(repo), (repo.root / "policy.yaml").read_bytes()
    again = run(cli, repo, SAMPLE, "--adopted-on", "2027-01-01")
    assert again.status == 0, again.err
    assert "0 created, 0 updated, 32 unchanged" in again.out
    assert "history.since" not in again.out  # already set: left alone
    assert files(repo) == before and (repo.root / "policy.yaml").read_bytes() == policy


@needs_sample
def test_newer_export_updates_the_same_records(repo: Repo, cli: InvokeCli, tmp_path: Path) -> None:
    """An export taken on 1 March 2016 (the rows updated before 1/3/2016 00:00), then the
    full one: the same 32 files are updated in place, none added."""
    header, rows = read_sample()
    early = [r for r in rows if "/2/2016 " in r["sys_updated_at"]]
    first = run(cli, repo, write_csv(tmp_path / "early.csv", header, early))
    assert first.status == 0 and "32 created" in first.out
    assert record(repo, "INC-2016-0047")["status"] == "open"
    later = run(cli, repo, SAMPLE)
    assert later.status == 0
    counts = re.search(r"0 created, (\d+) updated, (\d+) unchanged", later.out)
    assert counts is not None and int(counts[1]) > 0 and int(counts[1]) + int(counts[2]) == 32
    assert len(files(repo)) == 32
    assert record(repo, "INC-2016-0047")["status"] == "closed"
    externals = [load_text(text.decode()).data["external_id"] for text in files(repo).values()]
    assert sorted(externals) == sorted({r["number"] for r in rows})


@needs_sample
def test_reimport_keeps_what_people_filled_in(repo: Repo, cli: InvokeCli) -> None:
    assert run(cli, repo, SAMPLE).status == 0
    path = repo.root / "records/incidents/2016/INC-2016-0047.yaml"
    data = load_text(path.read_text(encoding="utf-8")).data
    data["impact"] = "Payroll clerks at one site could not print payslips for a day."
    data["service"] = "orders-db"
    data["mitigated_at"] = "2016-03-01T09:30:00Z"
    data["timeline"].append({"at": "2016-03-01T09:31:00Z", "event": "Workaround mailed."})
    data["import_gaps"] = ["resolution", "notifications"]
    path.write_text(render(data), encoding="utf-8")
    again = run(cli, repo, SAMPLE)
    assert again.status == 0
    kept = record(repo, "INC-2016-0047")
    assert kept["impact"].startswith("Payroll clerks") and kept["service"] == "orders-db"
    assert kept["mitigated_at"] == "2016-03-01T09:30:00Z"
    assert kept["import_gaps"] == ["resolution", "notifications"]
    assert ("2016-03-01T09:31:00Z", "Workaround mailed.") in events(kept)
    assert len(kept["timeline"]) == 6 and kept["status"] == "closed"
    third = run(cli, repo, SAMPLE)
    assert "0 created, 0 updated, 32 unchanged" in third.out


@needs_sample
def test_dry_run_writes_nothing(repo: Repo, cli: InvokeCli) -> None:
    policy = (repo.root / "policy.yaml").read_bytes()
    result = run(cli, repo, SAMPLE, "--dry-run")
    assert result.status == 0
    assert files(repo) == {} and (repo.root / "policy.yaml").read_bytes() == policy
    assert not [p for p in (repo.root / "records/incidents").rglob("*") if p.name != ".gitkeep"]
    assert (
        "would create records/incidents/2016/INC-2016-0045.yaml (INC-2016-0045 from INC0000045)"
        in result.out
    )
    assert result.out.count("would create ") == 32
    assert "dry run, nothing written: 32 created" in result.out
    assert f"history.since would be set to {ADOPTED}" in result.out


@needs_sample
def test_malformed_rows_are_reported_with_their_line_and_skipped(
    repo: Repo, cli: InvokeCli, tmp_path: Path
) -> None:
    """Line 10 loses a field, line 20 has 31 February as sys_updated_at, line 30 has no
    number, line 40 an empty state. Each is named by file and line and skipped; every other
    row is imported (exit status 1: not everything was)."""
    header, rows = read_sample()
    source = tmp_path / "broken.csv"
    write_csv(source, header, rows)
    lines = source.read_bytes().decode("utf-8").split("\r\n")
    lines[9] = lines[9].rsplit(",", 1)[0]
    cells = lines[19].split(",")
    cells[header.index("sys_updated_at")] = "31/2/2016 10:00"
    lines[19] = ",".join(cells)
    lines[29] = "," + lines[29].split(",", 1)[1]
    cells = lines[39].split(",")
    cells[header.index("incident_state")] = "?"
    lines[39] = ",".join(cells)
    source.write_bytes("\r\n".join(lines).encode("utf-8"))
    result = run(cli, repo, source, "--problems", tmp_path / "problems.csv")
    assert result.status == 1
    assert result.err.splitlines() == [
        f"opsledger: {source}:10: has 35 fields but the header has 36 (INC0000047)",
        f"opsledger: {source}:20: sys_updated_at '31/2/2016 10:00' is not a real date and "
        "time (INC0000057)",
        f"opsledger: {source}:30: has no incident number",
        f"opsledger: {source}:40: incident_state is empty (INC0000063)",
    ]
    assert "198 rows, 32 incidents (" in result.out
    assert "4 rows or incidents skipped" in result.out
    with (tmp_path / "problems.csv").open(newline="") as handle:
        assert [r[0] for r in csv.reader(handle)] == ["line", "10", "20", "30", "40"]
    assert cli("validate", "--repo", repo.root).status == 0


def test_bad_files_stop_with_one_line(repo: Repo, cli: InvokeCli, tmp_path: Path) -> None:
    cases = {
        "latin1.csv": b"number,incident_state,opened_at,priority\nINC1,New,1/2/2016 10:00,\xe9\n",
        "columns.csv": b"number,state,priority\nINC1,New,3 - Moderate\n",
        "quote.csv": b'number,state,opened_at,priority\nINC1,"New,1/2/2016 10:00,3\n',
        "empty.csv": b"",
        "mac.csv": b"number,incident_state,opened_at,priority\rINC1,New,1/2/2016 10:00,3\r",
    }
    expected = {
        "mac.csv": ":1: a line ends with a carriage return alone (an old Mac export); save the "
        "file with LF or CRLF line endings and import again",
        "latin1.csv": ":2: not valid utf-8 (byte 0xE9 at column 25)",
        "columns.csv": ": not a ServiceNow incident export: no opened_at column",
        "quote.csv": ":2: CSV error: unexpected end of data",
        "empty.csv": ": the file is empty",
    }
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
        result = run(cli, repo, tmp_path / name)
        assert result.status == 2, name
        assert len(result.err.strip().splitlines()) == 1, result.err
        assert f"{tmp_path / name}{expected[name]}" in result.err, result.err
        assert "Traceback" not in result.err
    missing = run(cli, repo, tmp_path / "nope.csv")
    assert missing.status == 2 and "cannot read" in missing.err
    assert files(repo) == {}


# --- dates and timezones ------------------------------------------------------------------

HEADER = ["number", "incident_state", "sys_mod_count", "sys_updated_at", "opened_at"]
HEADER += ["priority", "contact_type", "resolved_at", "closed_at"]


def tiny(path: Path, stamps: list[tuple[str, str]]) -> Path:
    """Incidents with one row each: (opened_at, resolved_at), all resolved."""
    rows = [
        {
            "number": f"INC{1000 + i:07d}",
            "incident_state": "Resolved",
            "sys_mod_count": "1",
            "sys_updated_at": resolved,
            "opened_at": opened,
            "priority": "3 - Moderate",
            "contact_type": "Email",
            "resolved_at": resolved,
            "closed_at": "?",
        }
        for i, (opened, resolved) in enumerate(stamps)
    ]
    return write_csv(path, HEADER, rows)


def test_ambiguous_dates_are_refused(repo: Repo, cli: InvokeCli, tmp_path: Path) -> None:
    source = tiny(
        tmp_path / "a.csv",
        [("3/4/2016 10:00", "3/4/2016 11:30"), ("5/6/2016 08:00", "7/6/2016 09:00")],
    )
    policy = (repo.root / "policy.yaml").read_bytes()
    result = run(cli, repo, source)
    assert result.status == 2
    assert result.err.strip() == (
        f"opsledger: error: {source}: the date format is ambiguous: every date fits both "
        "d/m/yyyy and m/d/yyyy (no day is over 12; e.g. '3/4/2016 10:00' on line 2); pass "
        "--date-format d/m/yyyy or --date-format m/d/yyyy as your ServiceNow instance writes "
        "dates"
    )
    assert files(repo) == {} and (repo.root / "policy.yaml").read_bytes() == policy
    # 3 April 2016 10:00 is British Summer Time (09:00 UTC); 4 March is GMT
    assert run(cli, repo, source, "--date-format", "dd/mm/yyyy").status == 0
    assert record(repo, "INC-2016-1000")["detected_at"] == "2016-04-03T09:00:00Z"


def test_month_first_dates(repo: Repo, cli: InvokeCli, tmp_path: Path) -> None:
    source = tiny(tmp_path / "m.csv", [("3/4/2016 10:00", "3/14/2016 11:30")])
    assert run(cli, repo, source).status == 0
    assert record(repo, "INC-2016-1000")["detected_at"] == "2016-03-04T10:00:00Z"
    assert record(repo, "INC-2016-1000")["resolved_at"] == "2016-03-14T11:30:00Z"


def test_mixed_date_formats_are_refused(repo: Repo, cli: InvokeCli, tmp_path: Path) -> None:
    source = tiny(
        tmp_path / "x.csv",
        [("29/2/2016 10:00", "29/2/2016 11:00"), ("2/29/2016 10:00", "3/1/2016 09:00")],
    )
    result = run(cli, repo, source)
    assert result.status == 2
    assert "more than one format (line 2 has '29/2/2016 10:00' and " in result.err
    assert "line 3 has '2/29/2016 10:00')" in result.err
    # told which one, the rows in the other format are reported and skipped
    forced = run(cli, repo, source, "--date-format", "d/m/yyyy")
    assert forced.status == 1
    assert (
        f"{source}:3: opened_at '2/29/2016 10:00' is not a date in the d/m/yyyy format"
        in forced.err
    )


def _reformat(stamp: str, style: str) -> str:
    if stamp == "?":
        return stamp
    day, clock = stamp.split(" ")
    d, m, y = (int(x) for x in day.split("/"))
    hh, mm = (int(x) for x in clock.split(":"))
    if style == "dd-mm-yyyy":
        return f"{d:02d}-{m:02d}-{y} {hh:02d}:{mm:02d}"
    if style == "mm/dd/yyyy am/pm":
        return f"{m:02d}/{d:02d}/{y} {(hh % 12) or 12:02d}:{mm:02d} {'PM' if hh >= 12 else 'AM'}"
    if style == "iso":
        return f"{y}-{m:02d}-{d:02d} {hh:02d}:{mm:02d}:00"
    local = datetime(y, m, d, hh, mm, tzinfo=LONDON)
    return local.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")  # "utc"


@needs_sample
@pytest.mark.parametrize("style", ["dd-mm-yyyy", "mm/dd/yyyy am/pm", "iso", "utc"])
def test_every_date_format_gives_the_same_records(
    style: str, repo: Repo, cli: InvokeCli, tmp_path: Path
) -> None:
    """The sample rewritten in another locale's format (or in UTC with a Z, which needs no
    --timezone) gives byte-identical records."""
    assert run(cli, repo, SAMPLE, "--no-adopt").status == 0
    baseline = files(repo)
    shutil.rmtree(repo.root / "records/incidents/2016")
    header, rows = read_sample()
    stamps = ("opened_at", "sys_created_at", "sys_updated_at", "resolved_at", "closed_at")
    changed = [{k: _reformat(v, style) if k in stamps else v for k, v in r.items()} for r in rows]
    source = write_csv(tmp_path / "styled.csv", header, changed)
    zone = () if style == "utc" else ("--timezone", "Europe/London")
    result = cli("import", "servicenow", source, "--repo", repo.root, "--no-adopt", *zone)
    assert result.status == 0, result.err
    assert files(repo) == baseline


def test_semicolons_and_a_byte_order_mark(repo: Repo, cli: InvokeCli, tmp_path: Path) -> None:
    source = tiny(tmp_path / "s.csv", [("29/2/2016 10:00", "29/2/2016 11:00")])
    text = source.read_text(encoding="utf-8").replace(",", ";")
    source.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    assert run(cli, repo, source).status == 0
    assert record(repo, "INC-2016-1000")["resolved_at"] == "2016-02-29T11:00:00Z"


def test_two_records_claiming_one_number(repo: Repo, cli: InvokeCli, tmp_path: Path) -> None:
    source = tiny(tmp_path / "d.csv", [("29/2/2016 10:00", "29/2/2016 11:00")])
    assert run(cli, repo, source).status == 0
    original = repo.root / "records/incidents/2016/INC-2016-1000.yaml"
    copy = original.with_name("INC-2016-9999.yaml")
    copy.write_text(original.read_text().replace("INC-2016-1000", "INC-2016-9999"))
    result = run(cli, repo, source)
    assert result.status == 1
    assert (
        f"{source}:2: records/incidents/2016/INC-2016-1000.yaml and "
        "records/incidents/2016/INC-2016-9999.yaml both have external_id INC0001000"
    ) in result.err


def test_nothing_imported_means_no_adoption(repo: Repo, cli: InvokeCli, tmp_path: Path) -> None:
    source = tiny(tmp_path / "e.csv", [("29/2/2016 10:00", "29/2/2016 11:00")])
    source.write_text(source.read_text().replace("INC0001000", ""))
    policy = (repo.root / "policy.yaml").read_bytes()
    result = run(cli, repo, source)
    assert result.status == 1 and f"{source}:2: has no incident number" in result.err
    assert "0 created" in result.out and "history.since" not in result.out
    assert (repo.root / "policy.yaml").read_bytes() == policy


@pytest.mark.parametrize("blocked", ["records/incidents/2016", "records/incidents"])
def test_a_file_where_a_folder_goes_stops_the_import_before_anything_is_written(
    repo: Repo, cli: InvokeCli, tmp_path: Path, blocked: str
) -> None:
    source = tiny(tmp_path / "f.csv", [("29/2/2016 10:00", "29/2/2016 11:00")])
    target = repo.root / blocked
    if target.is_dir():
        shutil.rmtree(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("not a folder\n")
    policy = (repo.root / "policy.yaml").read_bytes()
    result = run(cli, repo, source)
    assert result.status == 2, result.out + result.err
    assert result.err.strip().splitlines() == [
        f"opsledger: error: {target} is not a folder; nothing can be written into it "
        "(move the file away, then run again)"
    ]
    assert (repo.root / "policy.yaml").read_bytes() == policy
    assert target.read_text() == "not a folder\n"


def test_a_local_time_the_clocks_skipped_is_reported_never_imported(
    repo: Repo, cli: InvokeCli, tmp_path: Path
) -> None:
    """27/3/2016 01:30 never happened in Europe/London (01:00 GMT became 02:00 BST): its
    incident is reported with its line and skipped; the repeated hour in October is read
    as its first occurrence, as the module says."""
    source = tiny(
        tmp_path / "d.csv",
        [
            ("27/3/2016 01:30", "27/3/2016 03:00"),
            ("27/3/2016 00:59", "27/3/2016 02:00"),
            ("30/10/2016 01:30", "30/10/2016 02:30"),
        ],
    )
    result = run(cli, repo, source)
    assert result.status == 1, result.out + result.err
    assert (
        f"opsledger: {source}:2: '27/3/2016 01:30' does not exist in Europe/London (the clocks "
        "went forward past it); correct the row, or check --timezone; not imported (INC0001000)"
    ) in result.err.splitlines()
    assert "2 created" in result.out
    assert not (repo.root / "records/incidents/2016/INC-2016-1000.yaml").exists()
    assert record(repo, "INC-2016-1001")["detected_at"] == "2016-03-27T00:59:00Z"
    assert record(repo, "INC-2016-1001")["resolved_at"] == "2016-03-27T01:00:00Z"
    assert record(repo, "INC-2016-1002")["detected_at"] == "2016-10-30T00:30:00Z"


def test_a_long_number_is_quoted_cut(repo: Repo, cli: InvokeCli, tmp_path: Path) -> None:
    source = tiny(tmp_path / "n.csv", [("29/2/2016 10:00", "29/2/2016 11:00")])
    source.write_text(source.read_text().replace("INC0001000", "INC" + "9" * 200_000))
    result = run(cli, repo, source)
    assert result.status == 1 and len(result.out + result.err) < 2000, len(result.err)


def test_large_numbers_keep_all_their_digits(repo: Repo, cli: InvokeCli, tmp_path: Path) -> None:
    source = tiny(tmp_path / "n.csv", [("29/2/2016 10:00", "29/2/2016 11:00")])
    source.write_text(source.read_text().replace("INC0001000", "INC0123456"))
    assert run(cli, repo, source).status == 0
    assert record(repo, "INC-2016-123456")["external_id"] == "INC0123456"
    assert cli("validate", "--repo", repo.root).status == 0


def test_the_timezone_is_never_guessed(repo: Repo, cli: InvokeCli, tmp_path: Path) -> None:
    source = tiny(tmp_path / "t.csv", [("29/2/2016 10:00", "29/2/2016 11:00")])
    result = cli("import", "servicenow", source, "--repo", repo.root)
    assert result.status == 2
    assert (
        "times carry no timezone (e.g. '29/2/2016 10:00' on line 2); pass --timezone" in result.err
    )
    assert "--timezone Europe/London (the policy's timezone)" in result.err
    bad = cli("import", "servicenow", source, "--repo", repo.root, "--timezone", "Mars/Olympus")
    assert bad.status == 2 and "unknown timezone" in bad.err
    assert files(repo) == {}


# --- shapes and mapping -------------------------------------------------------------------


def _list_export(tmp_path: Path) -> Path:
    """The sample as a list export: each number's last update only, in a list export's
    column names ("state", no sys_mod_count)."""
    header, rows = read_sample()
    last: dict[str, Row] = {}
    for row in rows:
        if int(row["sys_mod_count"]) >= int(last.get(row["number"], row)["sys_mod_count"]):
            last[row["number"]] = row
    columns = [("state" if c == "incident_state" else c) for c in header if c != "sys_mod_count"]
    out = [
        {("state" if k == "incident_state" else k): v for k, v in r.items() if k != "sys_mod_count"}
        for r in last.values()
    ]
    return write_csv(tmp_path / "list.csv", columns, out)


@needs_sample
def test_list_export(repo: Repo, cli: InvokeCli, tmp_path: Path) -> None:
    """One row per incident: the same fields, but no history. INC0000047's row (line 14 of
    the sample) says Closed with its resolved_at/closed_at; when it was acknowledged is
    unknown (a gap), and the timeline holds what the row says."""
    result = run(cli, repo, _list_export(tmp_path))
    assert result.status == 0, result.err
    assert "32 rows, 32 incidents (list export;" in result.out
    data = record(repo, "INC-2016-0047")
    assert "acknowledged_at" not in data
    assert data["import_gaps"] == ["acknowledged_at", *GAPS_P3_CLOSED]
    assert (data["resolved_at"], data["closed_at"]) == (
        "2016-03-01T09:52:00Z",
        "2016-03-06T10:00:00Z",
    )
    assert events(data) == [
        (
            "2016-02-29T04:40:00Z",
            "Opened in ServiceNow as INC0000047 (at export: state Closed, priority 3 - Moderate, "
            "assignment group Group 24, assigned to Resolver 89).",
        ),
        ("2016-03-01T09:52:00Z", "Resolved in ServiceNow (close code: code 5)."),
        ("2016-03-06T10:00:00Z", "Closed in ServiceNow."),
    ]
    assert cli("validate", "--repo", repo.root).status == 0


@needs_sample
def test_mapping_options(repo: Repo, cli: InvokeCli) -> None:
    result = run(
        cli,
        repo,
        SAMPLE,
        "--service-from",
        "cmdb_ci",
        "--service-from",
        "assignment_group",
        "--service-map",
        "Group 24=orders-db",
        "--contact-map",
        "Phone=automated/monitoring",
        "--category-from",
        "both",
        "--change-field",
        "caused_by",
    )
    assert result.status == 0, result.err
    data = record(repo, "INC-2016-0047")  # final group: Group 24
    assert (data["service"], data["detection"], data["source"]) == (
        "orders-db",
        "automated",
        "monitoring",
    )
    assert data["category"] == "Category 40 / Subcategory 215"
    assert "service" not in data["import_gaps"]
    assert record(repo, "INC-2016-0045")["service"] == "group-56"
    assert "caused_by_change" not in record(repo, "INC-2016-0074")  # rfc not used
    assert "service keys not in records/services.yaml: group-23 (" in result.out


@needs_sample
def test_unknown_priorities_stop_the_import(repo: Repo, cli: InvokeCli, tmp_path: Path) -> None:
    header, rows = read_sample()
    for row in rows:
        row["priority"] = row["priority"].replace("4 - Low", "Sev B")
    source = write_csv(tmp_path / "p.csv", header, rows)
    result = run(cli, repo, source)
    assert result.status == 2
    assert "priority values with no mapping: 'Sev B' (30 rows, first on line 129)" in result.err
    assert "--priority-map 'Sev B=P3'" in result.err and files(repo) == {}
    mapped = run(cli, repo, source, "--priority-map", "Sev B=P1")
    assert mapped.status == 0
    assert record(repo, "INC-2016-0083")["priority"] == "P1"


@needs_sample
def test_unmapped_contact_type_is_a_gap(repo: Repo, cli: InvokeCli, tmp_path: Path) -> None:
    header, rows = read_sample()
    for row in rows:
        if row["number"] == "INC0000045":
            row["contact_type"] = "Carrier pigeon"
    result = run(cli, repo, write_csv(tmp_path / "c.csv", header, rows))
    assert result.status == 0
    data = record(repo, "INC-2016-0045")
    assert (data["detection"], data["source"]) == ("manual", "other")
    assert data["import_gaps"][-3:] == ["detection", "source", "service"]
    assert "'Carrier pigeon' (1)" in result.out


@needs_sample
def test_an_id_taken_by_another_record_is_not_overwritten(repo: Repo, cli: InvokeCli) -> None:
    native = repo.write(
        "records/incidents/2016/INC-2016-0045.yaml",
        "id: INC-2016-0045\ntitle: Written by hand\npriority: P4\nstatus: open\n"
        "service: orders-db\ndetection: manual\nsource: customer\n"
        "impact: One user could not log in to the orders portal.\n"
        "detected_at: 2016-01-05T10:00:00Z\n",
    )
    before = native.read_bytes()
    result = run(cli, repo, SAMPLE)
    assert result.status == 1
    assert (
        f"{SAMPLE}:2: INC-2016-0045 is already used by records/incidents/2016/INC-2016-0045.yaml "
        "(not imported from INC0000045); not imported (INC0000045)"
    ) in result.err
    assert "31 created" in result.out and native.read_bytes() == before


@needs_sample
def test_canceled_incidents_are_reported_not_imported(
    repo: Repo, cli: InvokeCli, tmp_path: Path
) -> None:
    header, rows = read_sample()
    for row in rows:
        if row["number"] == "INC0000088" and row["incident_state"] == "Closed":
            row["incident_state"] = "Canceled"
    result = run(cli, repo, write_csv(tmp_path / "x.csv", header, rows))
    assert result.status == 1
    assert ":157: canceled in ServiceNow (Canceled): not imported (INC0000088)" in result.err
    assert "INC-2016-0088" not in " ".join(files(repo))


# --- KPIs against an independent computation ----------------------------------------------


def independent_kpis(path: Path) -> tuple[dict[str, float], dict[str, int], float]:
    """MTTR to resolve per priority and the reopen rate, straight from the CSV.

    Per number, the rows in update order (sys_mod_count). The last row gives the status,
    the priority ("3 - Moderate" → P3) and the times; resolved_at is the export's, or when
    "?", the last update whose state became Resolved. Local times are Europe/London. A reopen
    is an update going from Resolved/Closed to another state, or a rise of reopen_count.
    The reopen rate counts the incidents that are resolved or closed, or were reopened.
    """

    def when(text: str) -> datetime:
        day, clock = text.split(" ")
        d, m, y = (int(x) for x in day.split("/"))
        hh, mm = (int(x) for x in clock.split(":"))
        return datetime(y, m, d, hh, mm, tzinfo=LONDON).astimezone(UTC)

    incidents: dict[str, list[Row]] = defaultdict(list)
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            incidents[row["number"]].append(row)
    minutes: dict[str, list[float]] = defaultdict(list)
    counted = reopened = 0
    done = ("Resolved", "Closed")
    for rows in incidents.values():
        rows.sort(key=lambda r: int(r["sys_mod_count"]))
        states = [r["incident_state"] for r in rows]
        counts = [int(r["reopen_count"]) for r in rows]
        back = any(a in done and b not in done for a, b in itertools.pairwise(states))
        more = counts[0] > 0 or any(b > a for a, b in itertools.pairwise(counts))
        last = rows[-1]
        if last["incident_state"] in done or back or more:
            counted += 1
            reopened += back or more
        if last["incident_state"] not in done:
            continue
        if last["resolved_at"] != "?":
            end = when(last["resolved_at"])
        else:
            into = [
                r
                for i, r in enumerate(rows)
                if r["incident_state"] == "Resolved" and (i == 0 or states[i - 1] != "Resolved")
            ]
            end = when(into[-1]["sys_updated_at"])
        took = (end - when(last["opened_at"])).total_seconds() / 60
        minutes["P" + last["priority"][0]].append(took)
    means = {p: mean(v) for p, v in sorted(minutes.items())}
    return means, {p: len(v) for p, v in sorted(minutes.items())}, reopened / counted


@needs_sample
@pytest.mark.parametrize("variant", ["sample", "with reopens"])
def test_kpis_match_an_independent_computation(
    variant: str, repo: Repo, cli: InvokeCli, tmp_path: Path
) -> None:
    source = SAMPLE if variant == "sample" else _reopened_sample(tmp_path)
    assert run(cli, repo, source).status == 0
    result = cli(
        "kpi",
        "--no-history",  # the imported records, not committed
        "--repo",
        repo.root,
        "--format",
        "json",
        "--since",
        "2016-01-01",
        "--until",
        "2017-01-01",
        "--as-of",
        "2026-11-25T12:00:00Z",
        "--kpi",
        "mttr_resolve,reopen_rate,mttr_restore",
        "--by",
        "priority",
    )
    assert result.status == 0, result.err
    kpis = {k["id"]: k for k in json.loads(result.out)["kpis"]}
    means, sizes, rate = independent_kpis(source)
    resolve = kpis["mttr_resolve"]
    groups = resolve["groups"]["priority"]
    assert {p: g["value"] for p, g in groups.items()} == pytest.approx(means, abs=1e-5)
    assert {p: g["n"] for p, g in groups.items()} == sizes
    assert resolve["n"] == sum(sizes.values()) == 31  # INC0000101 is still open
    assert kpis["reopen_rate"]["value"] == pytest.approx(rate, abs=1e-6)
    assert rate == (0.0 if variant == "sample" else 2 / 31)
    # the restoration time is not in ServiceNow: excluded with the reason, never zero
    restore = kpis["mttr_restore"]
    assert restore["value"] is None and restore["n"] == 0
    assert len(restore["excluded"]) == 31
    assert {e["reason"] for e in restore["excluded"]} == {
        "imported without mitigated_at (import_gaps)"
    }


# --- building blocks ----------------------------------------------------------------------


def test_policy_since_is_a_one_line_edit() -> None:
    schemas = SchemaSet(Path(str(PROJECT / "schemas")))
    day = date(2026, 3, 2)
    base = (PROJECT / "tooling/opsledger/defaults/policy.yaml").read_text(encoding="utf-8")
    edited = with_since(base, day, schemas)
    assert edited == base.replace("  since: null\n", '  since: "2026-03-02"\n')
    crlf = base.replace("\n", "\r\n")
    assert with_since(crlf, day, schemas) == edited.replace("\n", "\r\n")
    no_key = base.replace("  since: null\n", "")
    inserted = with_since(no_key, day, schemas)
    assert inserted == no_key.replace("history:\n", 'history:\n  since: "2026-03-02"\n', 1)
    start = base.index("history:")
    end = base.index("priorities:")
    no_block = base[:start] + base[end:]
    assert with_since(no_block, day, schemas) == no_block + 'history:\n  since: "2026-03-02"\n'
    with pytest.raises(OpsledgerError) as broken:  # one position, named once
        with_since("history: [unclosed\n", day, schemas)
    assert broken.value.message.startswith("policy.yaml:2:1: YAML syntax error: ")


@needs_sample
def test_a_set_since_is_left_alone(repo: Repo, cli: InvokeCli) -> None:
    policy = repo.root / "policy.yaml"
    policy.write_text(
        policy.read_text(encoding="utf-8").replace("since: null", 'since: "2025-01-01"'),
        encoding="utf-8",
    )
    before = policy.read_bytes()
    result = run(cli, repo, SAMPLE)
    assert result.status == 0 and policy.read_bytes() == before
    assert "history.since" not in result.out


NASTY = [
    "",
    " leading",
    "trailing ",
    "yes",
    "No",
    "null",
    "~",
    "12:30",
    "012",
    "1e3",
    ".nan",
    "2026-03-04",
    "- dash",
    "key: value",
    "a #comment",
    "# hash",
    "'quoted'",
    '"double"',
    "tab\there",
    "line\nbreak",
    "two\n\nparagraphs",
    "ends with newline\n",
    "colon:",
    "[flow]",
    "{flow}",
    "*alias",
    "&anchor",
    "!tag",
    "%directive",
    "@at",
    "`tick",
    "|pipe",
    ">fold",
    "État → résolu",
    "emoji 🚨 ok",
    "back\\slash",
    "<<",
    "ünïcödé: yes",
]


def test_render_round_trips_through_the_strict_loader() -> None:
    rng = random.Random(7)
    alphabet = "ab :#-'\"\\\n\t{}[],&*!|>%@`é→🚨"
    made = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12))) for _ in range(400)]
    strings = NASTY + made
    for text in strings:
        data = {
            "title": text,
            "timeline": [{"at": "2016-02-29T04:40:00Z", "event": text}],
            "import_gaps": [text, "impact"],
            "nested": {"list": [[text], {}, []], "n": 3, "flag": True, "none": None},
        }
        rendered = render(data, modeline="# comment")
        assert load_text(rendered).data == data, rendered


def test_clean_line_drops_invisible_characters() -> None:
    assert clean_line("a\u200bb\u202ec\x1bd\r\ne\u2028f  g") == "abc d e f g"
    assert clean_line("x" * 300) == "x" * 199 + "…"


@needs_sample
def test_progress_is_reported(repo: Repo) -> None:
    calls: dict[str, list[tuple[int, int]]] = defaultdict(list)

    def stage(label: str) -> Any:
        from contextlib import nullcontext

        return nullcontext(lambda done, total: calls[label].append((done, total)))

    options = ImportOptions(timezone=LONDON, adopted_on=date(2026, 3, 2))
    import_servicenow(repo.root, SAMPLE, options, stage)
    size = SAMPLE.stat().st_size
    assert calls["Reading the export"][-1] == (size, size)
    assert calls["Building records"][-1] == (size, size)
    assert calls["Writing records"][-1] == (33, 33)  # 32 incidents and one problem


JUNK = ["", "?", "-1", "99/99/2016 10:00", "29/2/2016", "1/1/0001 00:00", "31/12/9999 23:59"]
JUNK += ["x" * 300, '"', "a,b", "\u202e", "Canceled", "8", "5 - Planning", "INC", "CHG", "1e9"]


@needs_sample
def test_mangled_exports_never_crash(repo: Repo, cli: InvokeCli, tmp_path: Path) -> None:
    """Random damage to the sample: every run ends with a status (0, 1 or 2), never an
    internal error, and whatever is written passes validate."""
    header, rows = read_sample()
    rng = random.Random(5)
    for attempt in range(40):
        target = tmp_path / f"repo{attempt}"
        shutil.copytree(repo.root, target)
        out = [dict(r) for r in rows]
        for _ in range(rng.randint(1, 12)):
            rng.choice(out)[rng.choice(header)] = rng.choice([*JUNK, rng.choice(rows)["number"]])
        if attempt % 3 == 0:
            rng.shuffle(out)
        source = write_csv(tmp_path / f"m{attempt}.csv", header, out)
        if attempt % 5 == 0:
            damaged = bytearray(source.read_bytes())
            for _ in range(3):
                damaged[rng.randrange(len(damaged))] = rng.randrange(256)
            source.write_bytes(bytes(damaged))
        result = cli(
            "import", "servicenow", source, "--repo", target, "--timezone", "Europe/London"
        )
        assert result.status in (0, 1, 2) and "internal error" not in result.err, result.err
        if result.status != 2:
            assert cli("validate", "--repo", target).status == 0, attempt


def test_command_help_documents_the_defaults(cli: InvokeCli) -> None:
    result = cli("import", "servicenow", "--help")
    assert result.status == 0
    for text in ("1 - Critical=P1", "--timezone", "--date-format", "--dry-run", "cmdb_ci"):
        assert text in result.out


_ATTACK_HEADER = "number,incident_state,opened_at,sys_updated_at,priority,sys_mod_count,caused_by"


@pytest.mark.parametrize(
    ("row", "said"),
    [
        (
            "INC1,New,2016-02-29 01:16+99:99,2016-02-29 01:20+99:99,2 - High,0,",
            "has a timezone offset +99:99 outside -23:59 to +23:59",
        ),
        ("INC1,New,2016-02-29 01:16,2016-02-29 01:20,2 - High,²,", "is not a whole number"),
        (
            "INC1,New,2016-02-29 01:16,2016-02-29 01:20,2 - High," + "9" * 4301 + ",",
            "is not a whole number below a billion",
        ),
        (
            "INC1,New,1900-01-01 00:00+23:59,1900-01-01 00:00+23:59,2 - High,0,",
            "is on the first or last day of 1900-2999",
        ),
        (
            "INC1,New,2999-12-31 23:59-23:59,2999-12-31 23:59-23:59,2 - High,0,",
            "is on the first or last day of 1900-2999",
        ),
    ],
    ids=["offset-99h", "unicode-digit", "4301-digits", "utc-before-1900", "utc-after-2999"],
)
def test_a_row_no_record_can_hold_is_skipped_with_its_line(
    repo: Repo, cli: InvokeCli, tmp_path: Path, row: str, said: str
) -> None:
    """Found by an attack: an offset of 24 hours or more (ValueError), a count written with
    a Unicode digit or 4,301 digits (ValueError) were internal errors (exit 3); a time on
    1900-01-01 east of UTC imported as 1899, which the schema then refuses. Each row is
    skipped at its line (exit 1) and nothing is written."""
    source = tmp_path / "attack.csv"
    source.write_text(f"{_ATTACK_HEADER}\n{row}\n", encoding="utf-8")
    result = run(cli, repo, source)
    assert result.status == 1, result.err
    assert "attack.csv:2: " in result.err and said in result.err, result.err
    assert not list((repo.root / "records/incidents").rglob("*.yaml"))


def test_a_linked_change_number_no_id_can_hold_is_not_linked(
    repo: Repo, cli: InvokeCli, tmp_path: Path
) -> None:
    source = tmp_path / "attack.csv"
    row = "INC1,New,2016-02-29 01:16,2016-02-29 01:20,2 - High,0,CHG" + "9" * 4301
    source.write_text(f"{_ATTACK_HEADER}\n{row}\n", encoding="utf-8")
    result = run(cli, repo, source)
    assert result.status == 0, result.err
    assert "caused_by_change" not in record(repo, "INC-2016-0001")


@pytest.mark.parametrize(
    ("encoding", "said"),
    [
        ("utf-16", "does not end a line with a single newline byte"),
        ("utf-32-le", "does not end a line with a single newline byte"),
        ("rot13", "unknown text encoding"),
        ("base64", "unknown text encoding"),
        ("zlib", "unknown text encoding"),
        ("undefined", "unknown text encoding"),  # a codec that refuses every text
    ],
)
def test_an_encoding_the_file_cannot_be_read_in_is_a_usage_error(
    repo: Repo, cli: InvokeCli, tmp_path: Path, encoding: str, said: str
) -> None:
    """``--encoding utf-16`` on a file without a byte-order mark, and codecs that are not
    text encodings (rot13, base64, zlib), were internal errors (exit 3)."""
    source = tmp_path / "attack.csv"
    row = "INC1,New,2016-02-29 01:16,2016-02-29 01:20,2 - High,0,"
    source.write_text(f"{_ATTACK_HEADER}\n{row}\n", encoding="utf-8")
    result = run(cli, repo, source, "--encoding", encoding)
    assert result.status == 2, result.err
    assert f"--encoding {encoding!r}: " in result.err and said in result.err


@needs_sample
@pytest.mark.parametrize("dry_run", [False, True])
def test_no_record_is_imported_into_a_nested_repository(
    repo: Repo, cli: InvokeCli, dry_run: bool
) -> None:
    """A year folder that is a git repository of its own: every command refuses what it
    holds, so the import writes nothing there and says why."""
    (repo.root / "records/incidents/2016").mkdir(parents=True)
    (repo.root / "records/incidents/2016/.git").write_text("gitdir: /elsewhere\n")
    result = run(cli, repo, SAMPLE, *(["--dry-run"] if dry_run else []))
    assert result.status == 2, result.err
    assert "records/incidents/2016 is a git repository of its own" in result.err
    assert list((repo.root / "records/incidents/2016").iterdir()) == [
        repo.root / "records/incidents/2016/.git"
    ]
