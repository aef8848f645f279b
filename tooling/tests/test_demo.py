"""The demo generator: schema-valid records, a deterministic history whose commits follow the
records' timelines, and planted defects that are real - and the only problems there are.

The history rules (GIT-*) are checked here by reading the generated history directly; the
record rules by running ``opsledger audit`` on the demo and comparing with the answer key.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import git
import pytest
import yaml
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource

from opsledger.cli import run
from opsledger.demo import DemoResult, generate_demo
from opsledger.demo.policyview import parse_policy

ALL_RULES = {
    "PRB-CANDIDATE",
    "PRB-RECURRED",
    "INC-NOTIFY",
    "INC-CADENCE",
    "INC-ACK",
    "INC-BRIDGE",
    "INC-STATEMENT",
    "INC-ESCALATION",
    "INC-PIR",
    "CHG-ROLLBACK",
    "CHG-TESTING",
    "CHG-SOD",
    "CHG-APPROVED-BEFORE",
    "CHG-NOTICE",
    "CHG-FREEZE",
    "CHG-COLLISION",
    "CHG-EMERGENCY",
    "PIR-VAGUE",
    "PIR-ACTIONS",
    "PIR-REVIEW",
    "RB-SECTIONS",
    "RB-STALE",
    "GIT-PROVENANCE",
    "GIT-AFTER-CLOSE",
    "GIT-BACKDATED",
    "GIT-DELETED",
    "GIT-LATE-RECORD",
    "GIT-DOWNGRADE",
    "GIT-RUBBER-STAMP",
    "REG-DEADLINE",
}
KIND_SCHEMA = {
    "incidents": "incident",
    "changes": "change",
    "pirs": "pir",
    "runbooks": "runbook",
}
NUMBERS = {"tier", "to_tier", "availability_target"}  # the only unquoted numbers
TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:00Z\Z")


# ---------------------------------------------------------------- fixtures and helpers


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> DemoResult:
    return generate_demo(tmp_path_factory.mktemp("demo") / "small", months=2, seed=3)


@pytest.fixture(scope="module")
def year(tmp_path_factory: pytest.TempPathFactory) -> DemoResult:
    return generate_demo(tmp_path_factory.mktemp("demo") / "year")


def validators() -> dict[str, Draft202012Validator]:
    folder = resources.files("opsledger").joinpath("defaults", "schemas")
    defs = json.loads(folder.joinpath("defs.schema.json").read_text(encoding="utf-8"))
    registry: Registry[Any] = Registry().with_resource(
        "defs.schema.json", Resource.from_contents(defs)
    )
    result = {}
    for name in ("incident", "change", "pir", "runbook", "services", "policy"):
        schema = json.loads(folder.joinpath(f"{name}.schema.json").read_text(encoding="utf-8"))
        result[name] = Draft202012Validator(
            schema, registry=registry, format_checker=FormatChecker()
        )
    return result


def split(text: str) -> tuple[str, str]:
    """YAML part and Markdown body of a front-matter file."""
    assert text.startswith("---\n")
    head, _, body = text[4:].partition("\n---\n")
    return head, body


LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse(path: str, text: str) -> Any:
    return yaml.load(split(text)[0] if path.endswith(".md") else text, Loader=LOADER)


def kind_of(path: str) -> str | None:
    parts = path.split("/")
    if parts[0] == "runbooks":
        return "runbook"
    if parts[0] == "records" and len(parts) > 2:
        return KIND_SCHEMA.get(parts[1])
    return None


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass
class Version:
    sha: str
    author: str
    at: datetime
    data: Any  # None once deleted


@functools.cache
def history(root: Path) -> dict[str, list[Version]]:
    """Every version of every record file, oldest first, from one ``git log`` pass."""
    repo = git.Repo(root)
    out = repo.git.log("--reverse", "--format=@%H %ae %at", "--raw", "--no-abbrev", "--no-renames")
    versions: dict[str, list[Version]] = {}
    sha = author = ""
    at = datetime.min
    for line in out.splitlines():
        if line.startswith("@"):
            sha, author, stamp = line[1:].split(" ")
            at = datetime.fromtimestamp(int(stamp), UTC)
        elif line.startswith(":"):
            meta, path = line.split("\t", 1)
            blob, status = meta.split()[3], meta.split()[4]
            if kind_of(path) is None:
                continue
            data = None
            if status != "D":
                text = repo.odb.stream(bytes.fromhex(blob)).read().decode("utf-8")
                data = parse(path, text)
                if path.endswith(".md"):  # the body counts for edits too
                    data["__body__"] = split(text)[1]
            versions.setdefault(path, []).append(Version(sha, author, at, data))
    repo.close()
    return versions


def entries(data: Any, key: str) -> set[tuple[str, str, str]]:
    return {(e["by"], e["at"], e["decision"]) for e in (data or {}).get(key) or []}


def history_findings(root: Path) -> set[tuple[str, str]]:
    """The GIT-* rules of SPEC §4 applied to the demo's history (default policy values)."""
    policy = parse_policy((root / "policy.yaml").read_text(encoding="utf-8"))
    cal = policy.calendar
    found: set[tuple[str, str]] = set()
    for path, versions in history(root).items():
        kind = kind_of(path)
        record = next(v.data["id"] for v in versions if v.data)
        if versions[-1].data is None:
            found.add(("GIT-DELETED", record))
        key = {"change": "approvals", "pir": "reviewers"}.get(kind or "")
        previous: Any = None
        closed = False
        final = {"incident": "closed", "pir": "approved"}.get(kind or "", "closed")
        stamps = 0
        for version in versions:
            data = version.data
            if key and data:
                for by, at, _decision in entries(data, key) - entries(previous, key):
                    if by != version.author:
                        found.add(("GIT-PROVENANCE", record))
                    if version.at - ts(at) > timedelta(hours=1):
                        found.add(("GIT-BACKDATED", record))
            lowered = (
                kind == "incident" and previous and data and previous["priority"] < data["priority"]
            )
            if lowered and data["priority"] in ("P3", "P4"):
                found.add(("GIT-DOWNGRADE", record))
            if closed and data != previous and previous is not None:
                if kind == "pir":
                    before = [{**a, "status": None} for a in previous["actions"]]
                    after = [{**a, "status": None} for a in data["actions"]]
                    changed = {**data, "actions": after} != {**previous, "actions": before}
                elif kind == "incident":
                    # a regulatory submission appended after closure is progress
                    changed = _without_filings(data) != _without_filings(previous) or not all(
                        new.get("submissions", [])[: len(old.get("submissions", []))]
                        == old.get("submissions", [])
                        for old, new in zip(
                            previous.get("regulatory", []), data.get("regulatory", []), strict=False
                        )
                    )
                else:
                    changed = True
                if changed:
                    found.add(("GIT-AFTER-CLOSE", record))
            if data:
                closed = closed or data.get("status") == final
            same = (
                previous
                and data
                and {**data, "last_reviewed": 0} == {**previous, "last_reviewed": 0}
            )
            if kind == "runbook" and same:
                stamps += 1
            previous = data if data is not None else previous
        if stamps >= 2:
            found.add(("GIT-RUBBER-STAMP", record))
        if kind == "incident":
            detected = ts(next(v.data for v in versions if v.data)["detected_at"])
            days = cal.business_days_between(detected, versions[0].at)
            if days > policy.late_record_business_days:
                found.add(("GIT-LATE-RECORD", record))
    return found


def _without_filings(data: dict[str, Any]) -> dict[str, Any]:
    entries = data.get("regulatory", [])
    return {**data, "regulatory": [{**e, "submissions": None} for e in entries]}


def planted(result: DemoResult) -> set[tuple[str, str]]:
    return {(d.rule, d.record) for d in result.defects}


def record_files(root: Path) -> Iterator[tuple[str, str]]:
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_file() and not rel.startswith(".git/"):
            yield rel, path.read_text(encoding="utf-8")


# ---------------------------------------------------------------- tests


def test_small_demo_matches_the_schemas(small: DemoResult) -> None:
    schemas = validators()
    seen: dict[str, int] = {}
    for rel, text in record_files(small.path):
        kind = kind_of(rel)
        if rel == "records/services.yaml":
            kind = "services"
        elif rel == "policy.yaml":
            kind = "policy"
        if kind is None:
            continue
        data = parse(rel, text)
        errors = [f"{rel}: {e.json_path}: {e.message}" for e in schemas[kind].iter_errors(data)]
        assert not errors, errors
        seen[kind] = seen.get(kind, 0) + 1
        if kind in ("incident", "change", "pir", "runbook"):
            stem = Path(rel).stem
            assert stem == data["id"] or stem.startswith(data["id"] + "-")
    assert set(seen) == {"incident", "change", "pir", "runbook", "services", "policy"}
    assert seen["incident"] == small.incidents and seen["change"] == small.changes
    assert seen["pir"] == small.pirs and seen["runbook"] == small.runbooks


def test_yaml_is_plain_and_quoted_where_yaml_1_1_would_misread(small: DemoResult) -> None:
    for rel, text in record_files(small.path):
        if kind_of(rel) is None and rel != "records/services.yaml":
            continue
        source = split(text)[0] if rel.endswith(".md") else text
        for event in yaml.parse(source):
            assert not isinstance(event, yaml.AliasEvent), rel
            assert getattr(event, "anchor", None) is None, rel
            assert getattr(event, "tag", None) is None, rel
        for line in source.splitlines():
            match = re.match(r"\s*(?:- )?([a-z_]+): (.*)", line)
            if match and re.match(r"[0-9]", match[2]):
                assert match[2].startswith('"') or match[1] in NUMBERS, (rel, line)
        data = yaml.safe_load(source)
        for value in walk(data):
            if isinstance(value, str) and "T" in value and value[:4].isdigit():
                assert TIMESTAMP.match(value), (rel, value)


def walk(value: Any) -> Iterator[Any]:
    yield value
    if isinstance(value, dict):
        for item in value.values():
            yield from walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk(item)


def test_small_demo_passes_opsledger_validate(small: DemoResult) -> None:
    assert run(["validate", "--repo", str(small.path)]) == 0


def test_same_arguments_give_the_same_commits(tmp_path: Path) -> None:
    first = generate_demo(tmp_path / "a", months=1, seed=11)
    second = generate_demo(tmp_path / "b", months=1, seed=11)
    other = generate_demo(tmp_path / "c", months=1, seed=12)
    assert first.head == second.head
    assert first.defects == second.defects
    assert other.head != first.head
    log = [git.Repo(r.path).git.log("--format=%H") for r in (first, second)]
    assert log[0] == log[1] and len(log[0].split()) == first.commits


def test_non_empty_destination_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(ValueError, match="not empty"):
        generate_demo(tmp_path, months=1)
    with pytest.raises(ValueError, match="not a folder"):
        generate_demo(tmp_path / "notes.txt", months=1)
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "keep me"


def test_quiet_with_progress_and_empty_folder_accepted(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    calls: list[tuple[int, int]] = []
    (tmp_path / "empty").mkdir()
    result = generate_demo(
        tmp_path / "empty", months=1, seed=2, progress=lambda d, t: calls.append((d, t))
    )
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    assert calls and calls[-1][0] == calls[-1][1]
    assert git.Repo(result.path).active_branch.name == "main"
    assert not git.Repo(result.path).is_dirty(untracked_files=True)


def test_history_is_chronological_and_follows_the_records(year: DemoResult) -> None:
    repo = git.Repo(year.path)
    commits = list(repo.iter_commits("main", first_parent=True))[::-1]
    times = [c.authored_datetime for c in commits]
    assert times == sorted(times)
    assert all(
        c.author.email == c.committer.email and c.authored_date == c.committed_date for c in commits
    )
    assert times[-1] < year.as_of
    versions = history(year.path)
    late = {d.record for d in year.defects if d.rule == "GIT-LATE-RECORD"}
    for path, items in versions.items():
        first = next(v.data for v in items if v.data)
        if kind_of(path) == "incident":
            lag = items[0].at - ts(first["detected_at"])
            assert lag >= timedelta(0), path
            assert (lag > timedelta(days=2)) == (first["id"] in late), (path, lag)
    forged = {d.record for d in year.defects if d.rule == "GIT-PROVENANCE"}
    approvals = 0
    for path, items in versions.items():
        if kind_of(path) != "change" or items[-1].data["id"] in forged:
            continue
        previous: Any = None
        for version in items:
            for by, _at, _decision in entries(version.data, "approvals") - entries(
                previous, "approvals"
            ):
                assert version.author == by, path
                approvals += 1
            previous = version.data
    assert approvals > 300
    head = repo.head.commit.tree
    for path, items in versions.items():
        final = items[-1].data
        if kind_of(path) == "pir" and final["status"] == "approved":
            moment = next(v for v in items if v.data and v.data["status"] == "approved")
            assert moment.author in {r["by"] for r in final["reviewers"]}
            incident = parse(
                "x.yaml",
                head[f"records/incidents/{final['incident'][4:8]}/{final['incident']}.yaml"]
                .data_stream.read()
                .decode(),
            )
            assert moment.at > ts(incident["resolved_at"])
    repo.close()


def test_a_year_plants_every_defect_kind(year: DemoResult) -> None:
    assert {d.rule for d in year.defects} == ALL_RULES
    key = json.loads((year.path / ".opsledger" / "demo-defects.json").read_text(encoding="utf-8"))
    assert key == [d.to_dict() for d in year.defects]
    assert len({(d.rule, d.record) for d in year.defects}) == len(year.defects)
    records: dict[str, str] = {}
    for d in year.defects:
        assert records.setdefault(d.record, d.rule) == d.rule or d.rule == "CHG-COLLISION"
        exists = (year.path / d.path).is_file()
        assert exists == (d.rule != "GIT-DELETED"), d
    total = year.incidents + year.changes + year.pirs + year.runbooks
    assert 0.03 < len(year.defects) / total < 0.12
    assert 300 <= year.incidents <= 520 and 360 <= year.changes <= 640
    assert 8 <= year.services <= 12 and year.commits > 3000


def test_history_defects_are_exactly_the_planted_ones(year: DemoResult) -> None:
    expected = {item for item in planted(year) if item[0].startswith("GIT-")}
    assert history_findings(year.path) == expected


def test_audit_finds_the_planted_record_defects_and_nothing_else(
    year: DemoResult, tmp_path: Path
) -> None:
    report = tmp_path / "audit.json"
    status = run(
        [
            "audit",
            "--repo",
            str(year.path),
            "--as-of",
            "2026-11-01T00:00:00Z",
            "--format",
            "json",
            "--output",
            str(report),
            "--fail-on",
            "never",
        ]
    )
    assert status == 0
    findings = {(f["rule"], f["record"]) for f in json.loads(report.read_text())["findings"]}
    expected = planted(year)
    assert findings <= expected, sorted(findings - expected)
    reported_rules = {rule for rule, _ in findings}
    missing = {
        item
        for item in expected - findings
        if not item[0].startswith("GIT-") or item[0] in reported_rules
    }
    assert not missing, sorted(missing)


def test_scaling_arguments_set_volume_and_keep_year_folders(tmp_path: Path) -> None:
    result = generate_demo(tmp_path / "big", months=3, seed=5, records=900, commits=2500)
    files = result.incidents + result.changes + result.pirs + result.runbooks + 1
    assert 750 <= files <= 1050, result.counts
    assert 2100 <= result.commits <= 2700
    folders = {p.parent.name for p in (result.path / "records").rglob("INC-*.yaml")}
    assert folders <= {"2025", "2026"}
    few = generate_demo(tmp_path / "few", months=3, seed=5, records=900, commits=2200)
    assert few.incidents == result.incidents and 2000 <= few.commits <= 2400


def test_policy_covers_the_period(small: DemoResult) -> None:
    policy = parse_policy((small.path / "policy.yaml").read_text(encoding="utf-8"))
    assert any(
        f.start < small.as_of and f.end > datetime(2025, 11, 1, tzinfo=UTC) for f in policy.freezes
    )
    assert date(2025, 12, 25) in policy.calendar.holidays
    assert "since: null" in (small.path / "policy.yaml").read_text(encoding="utf-8")


@pytest.mark.slow
def test_benchmark_volume(tmp_path: Path) -> None:
    """The benchmark repository has the size asked for (its speed is tooling/bench's)."""
    result = generate_demo(tmp_path / "bench", records=10_000, commits=30_000)
    files = result.incidents + result.changes + result.pirs + result.runbooks + 1
    assert 9000 <= files <= 11000 and 27000 <= result.commits <= 31000
