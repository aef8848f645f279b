"""``import servicenow``: the export's ``problem_id`` column becomes problem records, on the
real ServiceNow sample (tooling/tests/data): one per problem number, linking its imported
incidents, with external_id and import_gaps; idempotent; what people wrote is kept."""

from __future__ import annotations

import csv
from pathlib import Path

from test_import_servicenow import SAMPLE, needs_sample, read_sample, run, write_csv

from opsledger.loading import load_text

from conftest import InvokeCli, Repo

PATH = "records/problems/PRB-2016-0002.md"


def _expected() -> list[str]:
    """The incidents naming 'Problem ID  2' in the sample, as their record IDs, worked out
    from the CSV: INC0000057 -> INC-2016-0057 (all were opened in 2016), in detection
    (opened_at) order."""
    _, rows = read_sample()
    named = {r["number"]: r["opened_at"] for r in rows if r["problem_id"] == "Problem ID  2"}

    def opened(value: str) -> tuple[int, ...]:
        day, clock = value.split()
        d, m, y = (int(x) for x in day.split("/"))
        hh, mm = (int(x) for x in clock.split(":"))
        return (y, m, d, hh, mm)

    order = sorted(named, key=lambda n: (opened(named[n]), n))
    return [f"INC-2016-{int(n[3:]):04d}" for n in order]


@needs_sample
def test_sample_problem_becomes_a_problem_record(repo: Repo, cli: InvokeCli) -> None:
    result = run(cli, repo, SAMPLE)
    assert result.status == 0, result.err
    assert "problems (from problem_id): 1 created, 0 updated, 0 unchanged" in result.out
    assert sorted(p.name for p in (repo.root / "records/problems").iterdir()) == [
        "PRB-2016-0002.md"
    ]
    doc = load_text((repo.root / PATH).read_text(encoding="utf-8"), markdown=True)
    data = doc.data
    assert data["incidents"] == _expected()
    assert len(data["incidents"]) == 9
    assert data["external_id"] == "Problem-ID-2"
    assert data["status"] == "new"
    assert data["import_gaps"] == ["owner", "services"]  # the sample has no service either
    assert data["opened_at"] == "2016-02-29T06:10:00Z"  # INC0000057 opened 29/2/2016 06:10
    assert "owner" not in data
    checked = cli("validate", "--repo", repo.root)
    assert checked.status == 0, checked.out
    audit = cli("audit", "--repo", repo.root, "--no-history", repo.root / PATH)
    assert audit.status == 0, audit.out  # an imported new problem owes nothing yet


@needs_sample
def test_problem_import_is_idempotent_and_keeps_what_people_wrote(
    repo: Repo, cli: InvokeCli, tmp_path: Path
) -> None:
    header, rows = read_sample()
    early = [r for r in rows if r["number"] != "INC0000100"]
    assert run(cli, repo, write_csv(tmp_path / "early.csv", header, early)).status == 0
    path = repo.root / PATH
    first = load_text(path.read_text(encoding="utf-8"), markdown=True).data
    assert "INC-2016-0100" not in first["incidents"] and len(first["incidents"]) == 8
    # the owner takes it on
    text = path.read_text(encoding="utf-8").replace("status: new", "status: investigating")
    text = text.replace("- owner\n", "")
    text = text.replace("incidents:", "owner: lena.fischer@example.com\nincidents:", 1)
    text += "\n## Investigation\n\nThe nine incidents share one failing job.\n"
    path.write_text(text, encoding="utf-8")
    again = run(cli, repo, SAMPLE)
    assert again.status == 0, again.err
    assert "problems (from problem_id): 0 created, 1 updated, 0 unchanged" in again.out
    data = load_text(path.read_text(encoding="utf-8"), markdown=True)
    assert data.data["incidents"] == [*first["incidents"], "INC-2016-0100"]
    assert data.data["status"] == "investigating"
    assert data.data["owner"] == "lena.fischer@example.com"
    assert "The nine incidents share one failing job." in (data.body or "")
    before = path.read_bytes()
    third = run(cli, repo, SAMPLE)
    assert "problems (from problem_id): 0 created, 0 updated, 1 unchanged" in third.out
    assert path.read_bytes() == before
    assert len(list((repo.root / "records/problems").iterdir())) == 1


@needs_sample
def test_dry_run_and_hostile_problem_numbers(repo: Repo, cli: InvokeCli, tmp_path: Path) -> None:
    header, rows = read_sample()
    dry = run(cli, repo, SAMPLE, "--dry-run")
    assert "problem PRB-2016-0002 from Problem ID  2: create planned" in dry.out
    assert not (repo.root / "records/problems").exists() or not list(
        (repo.root / "records/problems").iterdir()
    )
    odd = [dict(r) for r in rows]
    for r in odd:
        if r["problem_id"] == "Problem ID  2":
            r["problem_id"] = "../../1e9\n::error::x"
    source = write_csv(tmp_path / "odd.csv", header, odd)
    result = run(cli, repo, source)
    assert result.status == 0, result.err
    made = list((repo.root / "records/problems").iterdir())
    assert [p.name for p in made] == ["PRB-2016-0019.md"]  # the digits of 1e9-error-x
    assert cli("validate", "--repo", repo.root).status == 0
    data = load_text(made[0].read_text(encoding="utf-8"), markdown=True).data
    assert data["external_id"] == "..-..-1e9-::error::x"  # one token: no slash, no line break
    with SAMPLE.open(newline="", encoding="utf-8") as handle:
        assert "problem_id" in next(csv.reader(handle))


@needs_sample
def test_problem_numbers_with_controls_or_too_many_digits(
    repo: Repo, cli: InvokeCli, tmp_path: Path
) -> None:
    """A number holding terminal, hyperlink or bidi controls leaves only its safe
    characters in the record (title and body too); one too long to name a record is
    skipped with a line saying so. Every record written passes validate."""
    header, rows = read_sample()
    odd = [dict(r) for r in rows]
    hostile = "PRB\x1b]8;;http://evil\x07click\x1b]8;;\x07 <b>\u202e"
    for r in odd:  # the sample's one problem, split in two by incident number
        if r["problem_id"]:
            r["problem_id"] = hostile if int(r["number"][3:]) % 2 else "PRB" + "9" * 40
    result = run(cli, repo, write_csv(tmp_path / "odd.csv", header, odd))
    assert result.status in (0, 1), result.err
    assert "too long to name a record; not imported" in result.out + result.err
    made = sorted((repo.root / "records/problems").iterdir())
    assert len(made) == 1
    text = made[0].read_text(encoding="utf-8")
    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
    checked = cli("validate", "--repo", repo.root)
    assert checked.status == 0, checked.out
