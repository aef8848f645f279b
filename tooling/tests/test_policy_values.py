"""policy.yaml is never loosened silently: zero is zero, schema and parser accept the same
durations (zero to ten years), and a policy the tool cannot honour is a configuration
error naming policy.yaml:line:column."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest

from opsledger.loading import load_text
from opsledger.model.ledger import load_ledger
from opsledger.schemas import SchemaSet
from opsledger.timeutil import DURATION_PATTERN, parse_duration

from conftest import PROJECT_SCHEMAS, RUNBOOK, InvokeCli, Repo, defaults_dir

SCHEMA_COPIES = (PROJECT_SCHEMAS, defaults_dir() / "schemas")


def set_policy(repo: Repo, old: str, new: str) -> int:
    """Replace ``old`` in policy.yaml; the 1-based line of the replacement."""
    path = repo.root / "policy.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    text = text.replace(old, new, 1)
    path.write_text(text, encoding="utf-8")
    return text[: text.index(new)].count("\n") + 1


def policy_line(repo: Repo, needle: str) -> int:
    lines = (repo.root / "policy.yaml").read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if needle in line)


# ------------------------------------------------------------------ zero is zero


def test_zero_backdate_tolerance_is_zero(repo: Repo) -> None:
    set_policy(repo, "backdate_tolerance: 1h", "backdate_tolerance: 0m")
    assert load_ledger(repo.root).policy.backdate_tolerance == timedelta(0)


def test_absent_backdate_tolerance_keeps_its_documented_default(repo: Repo) -> None:
    set_policy(repo, "  backdate_tolerance: 1h\n", "")
    assert load_ledger(repo.root).policy.backdate_tolerance == timedelta(hours=1)


def test_zero_durations_elsewhere_stay_zero(repo: Repo) -> None:
    set_policy(repo, "acknowledge_within: 5m", "acknowledge_within: 0m")
    set_policy(repo, "bridge_within: 15m", "bridge_within: 0h")
    set_policy(repo, "incident: 14d", "incident: 0d")
    policy = load_ledger(repo.root).policy
    assert policy.priorities["P1"].acknowledge_within == timedelta(0)
    assert policy.priorities["P1"].bridge_within == timedelta(0)
    assert policy.backlog["incident"] == timedelta(0)


# ------------------------------------------------------------------ one duration grammar

EDGES = [
    "0m", "00m", "015m", "1m", "15m", "4h", "2d", "1w",
    "5256000m", "5256001m", "1000000m", "9999999m", "99999999999999999999m",
    "87600h", "87601h", "3650d", "3651d", "521w", "522w", "999999w",
    "", "m", "1", "-1m", "+1m", "1.5h", "1h30m", "15M", "15 m", " 15m", "15m\n", "15mo",
    "\u0661\u0665m", "\uff11\uff15m", "1y",
]  # fmt: skip


def _schema_accepts(schemas: SchemaSet, value: str) -> bool:
    doc = load_text((defaults_dir() / "policy.yaml").read_text(encoding="utf-8"))
    doc.data["runbooks"]["review_every"] = value
    return schemas.is_valid("policy", doc.data) and not schemas.check("policy", doc)


def _parser_accepts(value: str) -> bool:
    try:
        parse_duration(value)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("value", EDGES, ids=repr)
def test_schema_and_parser_accept_the_same_durations(value: str) -> None:
    schemas = SchemaSet(PROJECT_SCHEMAS)
    assert _schema_accepts(schemas, value) == _parser_accepts(value)


@pytest.mark.parametrize(
    ("value", "ok"),
    [("0m", True), ("5256000m", True), ("5256001m", False), ("3650d", True), ("3651d", False),
     ("521w", True), ("522w", False), ("87600h", True), ("87601h", False), ("1000000m", True),
     ("9999999m", False), ("999999w", False)],
)  # fmt: skip
def test_durations_are_bounded_at_ten_years(value: str, ok: bool) -> None:
    assert _parser_accepts(value) is ok
    if ok:
        assert parse_duration(value) <= timedelta(days=3650)


@pytest.mark.parametrize("folder", SCHEMA_COPIES, ids=["schemas", "packaged"])
def test_schema_duration_pattern_is_the_parser_grammar(folder: Path) -> None:
    defs = json.loads((folder / "defs.schema.json").read_text(encoding="utf-8"))
    assert defs["$defs"]["duration"]["pattern"] == f"^{DURATION_PATTERN}(?![\\s\\S])"


def test_both_schema_copies_are_identical() -> None:
    for path in sorted(PROJECT_SCHEMAS.glob("*.json")):
        packaged = defaults_dir() / "schemas" / path.name
        assert packaged.read_bytes() == path.read_bytes(), path.name


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("backdate_tolerance: 1h", "backdate_tolerance: 1000000000m"),
        ("backdate_tolerance: 1h", "backdate_tolerance: 9999999m"),
        ("max_due: 90d", "max_due: 999999w"),
        ("update_every: 30m", "update_every: 3651d"),
    ],
)
def test_out_of_range_duration_is_a_config_error_with_its_line(
    repo: Repo, cli: InvokeCli, old: str, new: str
) -> None:
    line = set_policy(repo, old, new)
    for command in (["validate"], ["audit"], ["kpi", "--format", "json"]):
        result = cli(*command, "--repo", repo.root)
        assert result.status == 2, (command, result.err)
        assert re.search(rf"policy\.yaml:{line}:\d+: .*{new.split(': ')[1]}", result.err)
        assert "up to ten years" in result.err
        assert result.err.count("\n") == 1


def _relax_duration_schema(repo: Repo) -> None:
    """The unbounded pattern older repositories still carry in their schemas/ copy."""
    path = repo.root / "schemas" / "defs.schema.json"
    defs = json.loads(path.read_text(encoding="utf-8"))
    defs["$defs"]["duration"]["pattern"] = "^[0-9]+(m|h|d|w)(?![\\s\\S])"
    path.write_text(json.dumps(defs), encoding="utf-8")


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("max_due: 90d", "max_due: 999999w"),  # overflowed date arithmetic
        ("acknowledge_within: 5m", "acknowledge_within: 9999999m"),  # an AssertionError
        ("backdate_tolerance: 1h", "backdate_tolerance: 6000000m"),  # became 1h
    ],
)
def test_a_looser_repository_schema_cannot_loosen_the_parser(
    repo: Repo, cli: InvokeCli, old: str, new: str
) -> None:
    _relax_duration_schema(repo)
    line = set_policy(repo, old, new)
    result = cli("audit", "--repo", repo.root, "--as-of", "2026-03-31T12:00:00Z")
    assert result.status == 2, result.err
    assert f"policy.yaml:{line}:" in result.err and "up to ten years" in result.err


# ---------------------------------------------------------- policies that cannot be honoured


def test_freeze_window_ending_before_it_starts_is_refused(repo: Repo, cli: InvokeCli) -> None:
    set_policy(repo, 'end: "2027-01-04T08:00:00Z"', 'end: "2026-12-01T08:00:00Z"')
    line = policy_line(repo, 'end: "2026-12-01T08:00:00Z"')
    for command in ("validate", "audit", "kpi"):
        result = cli(command, "--repo", repo.root)
        assert result.status == 2, result.err
        assert f"policy.yaml:{line}:10: freeze window ends at or before its start" in result.err


def test_freeze_window_of_zero_length_is_refused(repo: Repo, cli: InvokeCli) -> None:
    set_policy(repo, 'end: "2027-01-04T08:00:00Z"', 'end: "2026-12-18T18:00:00Z"')
    assert cli("validate", "--repo", repo.root).status == 2


def test_a_valid_freeze_window_still_loads(repo: Repo) -> None:
    (window,) = load_ledger(repo.root).policy.freeze_windows
    assert window.end - window.start == timedelta(days=16, hours=14)


def test_empty_business_days_is_refused_even_by_a_looser_schema(repo: Repo, cli: InvokeCli) -> None:
    path = repo.root / "schemas" / "policy.schema.json"
    schema = json.loads(path.read_text(encoding="utf-8"))
    del schema["properties"]["business_days"]["minItems"]
    path.write_text(json.dumps(schema), encoding="utf-8")
    line = set_policy(repo, "business_days: [mon, tue, wed, thu, fri]", "business_days: []")
    result = cli("audit", "--repo", repo.root)
    assert result.status == 2, result.err
    # opsledger's own policy schema refuses it first; check_honourable would too
    assert f"policy.yaml:{line}:16: " in result.err
    assert "opsledger's own policy schema" in result.err and result.err.count("\n") == 1


def _loosen_policy_schema(repo: Repo) -> None:
    (repo.root / "schemas" / "policy.schema.json").write_text('{"type": "object"}\n', "utf-8")


@pytest.mark.parametrize(
    ("old", "new", "needle"),
    [
        ("late_record_business_days: 2", "late_record_business_days: abc", "abc"),
        (
            "business_days: [mon, tue, wed, thu, fri]",
            "business_days: [mon, funday]",
            "business_days",
        ),
        ("min_words: 4", "min_words: [1]", "min_words"),
        ("pir_due_business_days: 5", "pir_due_business_days: 999999999", "999999999"),
        ("known_error_within: 20", "known_error_within: 3000000", "3000000"),
    ],
)
def test_a_looser_policy_schema_cannot_loosen_what_the_tool_reads(
    repo: Repo, cli: InvokeCli, old: str, new: str, needle: str
) -> None:
    """schemas/policy.schema.json comes from pull requests like the policy: a copy that
    allows anything let a value of another type or range through to the code that reads
    the policy (ValueError, TypeError, KeyError, OverflowError: exit 3 in validate, audit
    and kpi). The policy is also held to opsledger's own schema, at the value's line."""
    _loosen_policy_schema(repo)
    line = set_policy(repo, old, new)
    for command in (["validate"], ["audit"], ["kpi", "--format", "json"]):
        result = cli(*command, "--repo", repo.root)
        assert result.status == 2, (command, result.err)
        assert f"policy.yaml:{line}:" in result.err, result.err
        assert "opsledger's own policy schema" in result.err and result.err.count("\n") == 1


def test_a_looser_policy_schema_cannot_drop_a_block_the_tool_reads(
    repo: Repo, cli: InvokeCli
) -> None:
    _loosen_policy_schema(repo)
    path = repo.root / "policy.yaml"
    text = path.read_text(encoding="utf-8")
    start = text.index("\nstatements:\n") + 1
    end = text.index("\n\n", start)
    path.write_text(text[:start] + text[end + 2 :], encoding="utf-8")
    result = cli("audit", "--repo", repo.root)
    assert result.status == 2, result.err
    assert "statements" in result.err and "opsledger's own policy schema" in result.err


def test_a_problem_deadline_years_away_is_a_config_error(repo: Repo, cli: InvokeCli) -> None:
    """``problems.known_error_within`` had no maximum: 3,000,000 business days overflowed
    the date of every problem's deadline (exit 3). Ten years of business days at most."""
    line = set_policy(repo, "known_error_within: 20", "known_error_within: 3000000")
    for command in (["validate"], ["audit"], ["kpi", "--format", "json"]):
        result = cli(*command, "--repo", repo.root)
        assert result.status == 2, (command, result.err)
        assert f"policy.yaml:{line}:23: 3000000 is greater than the maximum of 2600" in result.err
    set_policy(repo, "known_error_within: 3000000", "known_error_within: 2600")
    assert cli("validate", "--repo", repo.root).status == 0


@pytest.mark.parametrize("zone", ["America", "Europe", "Etc", "../../etc/passwd", "/etc/localtime"])
def test_timezone_that_is_not_a_zone_is_a_config_error(
    repo: Repo, cli: InvokeCli, zone: str
) -> None:
    line = set_policy(repo, "timezone: Europe/London", f"timezone: {zone}")
    for command in ("validate", "audit", "kpi"):
        result = cli(command, "--repo", repo.root)
        assert result.status == 2, result.err
        assert f"policy.yaml:{line}:" in result.err and result.err.count("\n") == 1
        if "/" not in zone:  # the schema's pattern refuses paths before the zone lookup
            assert f"unknown timezone {zone!r}" in result.err


@pytest.mark.parametrize("zone", ["a/" * 300 + "b", "Europe/" + "x" * 500, "A/B/C/D/E"])
def test_a_zone_name_no_iana_zone_comes_near_is_a_config_error(
    repo: Repo, cli: InvokeCli, tmp_path: Path, zone: str
) -> None:
    """Hundreds of parts made Python's fallback lookup recurse past its limit (an
    internal error, exit 3): one line, exit 2, the name cut short."""
    line = set_policy(repo, "timezone: Europe/London", f"timezone: {zone}")
    for command in ("validate", "audit", "kpi"):
        result = cli(command, "--repo", repo.root)
        assert result.status == 2, result.err
        assert result.err.count("\n") == 1 and len(result.err) < 400, result.err
        assert f"policy.yaml:{line}:11: unknown timezone" in result.err
    set_policy(repo, f"timezone: {zone}", "timezone: Europe/London")
    export = tmp_path / "export.csv"
    export.write_text("number,opened_at\nINC0000001,2026-03-04 09:12:00\n", encoding="utf-8")
    result = cli("import", "servicenow", export, "--timezone", zone, "--repo", repo.root)
    assert result.status == 2 and "--timezone: unknown timezone" in result.err, result.err
    assert result.err.count("\n") == 1 and len(result.err) < 400, result.err


@pytest.mark.parametrize("zone", ["localtime", "posixrules", "posix/Europe/London", "right/UTC"])
def test_a_zone_the_machine_decides_is_a_config_error(
    repo: Repo, cli: InvokeCli, tmp_path: Path, zone: str
) -> None:
    """``localtime`` is whatever zone the machine running the tool is set to: the same
    commit would give other deadlines and KPIs on another machine."""
    line = set_policy(repo, "timezone: Europe/London", f"timezone: {zone}")
    for command in ("validate", "audit", "kpi"):
        result = cli(command, "--repo", repo.root)
        assert result.status == 2, result.err
        assert result.err.count("\n") == 1, result.err
        assert f"policy.yaml:{line}:11: timezone {zone!r} is a file of this machine's" in (
            result.err
        )
    set_policy(repo, f"timezone: {zone}", "timezone: Europe/London")
    export = tmp_path / "export.csv"
    export.write_text("number,opened_at\nINC0000001,2026-03-04 09:12:00\n", encoding="utf-8")
    result = cli("import", "servicenow", export, "--timezone", zone, "--repo", repo.root)
    assert result.status == 2 and "--timezone" in result.err, result.err


@pytest.mark.parametrize("zone", ["Europe", "America", "Etc/", ""])
def test_import_timezone_that_is_not_a_zone_is_a_usage_error(
    repo: Repo, cli: InvokeCli, tmp_path: Path, zone: str
) -> None:
    export = tmp_path / "export.csv"
    export.write_text("number,opened_at\nINC0000001,2026-03-04 09:12:00\n", encoding="utf-8")
    result = cli("import", "servicenow", export, "--timezone", zone, "--repo", repo.root)
    assert result.status == 2, result.err
    assert "--timezone" in result.err and "unknown timezone" in result.err


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ('  - "2026-01-01"', '  - "0001-01-01"'),
        ('  - "2026-01-01"', '  - "9999-12-31"'),
        ("since: null", 'since: "9999-12-31"'),
        ('start: "2026-12-18T18:00:00Z"', 'start: "0001-01-01T00:00:00+01:00"'),
    ],
)
def test_policy_dates_outside_the_supported_years_are_config_errors(
    repo: Repo, cli: InvokeCli, old: str, new: str
) -> None:
    line = set_policy(repo, old, new)
    result = cli("audit", "--repo", repo.root)
    assert result.status == 2, result.err
    assert f"policy.yaml:{line}:" in result.err
    if "since" not in old:  # since is "a date or null": the schema says neither matched
        assert "outside the supported range 1900-2999" in result.err


def test_a_runbook_review_every_of_zero_is_zero_not_the_policy_default(
    repo: Repo, cli: InvokeCli
) -> None:
    text = RUNBOOK.replace(
        'last_reviewed: "2026-03-01"', 'last_reviewed: "2026-03-01"\nreview_every: 0d'
    )
    repo.write("runbooks/RB-0003-orders-db-pool.md", text, dedent=False)
    result = cli("audit", "--repo", repo.root, "--select", "RB-STALE", "--as-of", "2026-03-31")
    assert "RB-STALE" in result.out, result.err
    repo.write("runbooks/RB-0003-orders-db-pool.md", RUNBOOK, dedent=False)  # policy: 180d
    result = cli("audit", "--repo", repo.root, "--select", "RB-STALE", "--as-of", "2026-03-31")
    assert "RB-STALE" not in result.out


def test_a_zero_bridge_clock_still_makes_a_priority_major_for_availability(
    repo: Repo, cli: InvokeCli
) -> None:
    outage = (
        "id: INC-2026-0001\ntitle: Orders database down for every customer\npriority: P1\n"
        "status: mitigated\nservice: orders-db\ndetection: automated\nsource: monitoring\n"
        "commander: lena.fischer@example.com\n"
        "impact: Every checkout failed while the orders database refused connections.\n"
        "detected_at: 2026-03-04T09:00:00Z\nacknowledged_at: 2026-03-04T09:02:00Z\n"
        "bridge_opened_at: 2026-03-04T09:05:00Z\nmitigated_at: 2026-03-04T10:00:00Z\n"
    )
    repo.write("records/incidents/INC-2026-0001.yaml", outage)

    def availability() -> object:
        result = cli(
            "kpi", "--kpi", "availability", "--format", "json", "--since", "2026-03-01",
            "--until", "2026-04-01", "--as-of", "2026-04-01", "--repo", repo.root,
        )  # fmt: skip
        assert result.status == 0, result.err
        (kpi,) = json.loads(result.out)["kpis"]
        return kpi["value"]

    measured = availability()
    assert measured is not None and measured < 100
    set_policy(repo, "bridge_within: 15m", "bridge_within: 0m")
    assert availability() == measured
