"""Calendar-month durations (``1mo``): added in UTC, clamped to the end of a shorter month
at the same time of day; refused with a clear message where a field takes fixed durations."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest

from opsledger.timeutil import (
    CALENDAR_DURATION_PATTERN,
    CalendarDuration,
    format_timestamp,
    parse_calendar_duration,
    parse_duration,
    parse_timestamp,
)

from conftest import PROJECT_SCHEMAS, InvokeCli, Repo, defaults_dir


def _after(duration: str, start: str) -> str:
    return format_timestamp(parse_calendar_duration(duration).after(parse_timestamp(start)))


@pytest.mark.parametrize(
    ("duration", "start", "expected"),
    [
        # month ends: clamped to the last day of the shorter month, same time of day
        ("1mo", "2026-01-31T10:00:00Z", "2026-02-28T10:00:00Z"),
        ("1mo", "2026-01-30T10:00:00Z", "2026-02-28T10:00:00Z"),
        ("1mo", "2026-03-31T23:59:00Z", "2026-04-30T23:59:00Z"),
        ("1mo", "2026-04-30T08:00:00Z", "2026-05-30T08:00:00Z"),
        # leap years: 29 February exists in 2028, not in 2100 (a century) but in 2000
        ("1mo", "2028-01-31T10:00:00Z", "2028-02-29T10:00:00Z"),
        ("1mo", "2100-01-31T10:00:00Z", "2100-02-28T10:00:00Z"),
        ("1mo", "2000-01-31T10:00:00Z", "2000-02-29T10:00:00Z"),
        ("12mo", "2028-02-29T12:00:00Z", "2029-02-28T12:00:00Z"),
        ("2mo", "2026-12-31T06:00:00Z", "2027-02-28T06:00:00Z"),
        # months are added to the UTC time: 23:30 on 31 January in Berlin is 22:30 UTC
        ("1mo", "2026-01-31T23:30:00+01:00", "2026-02-28T22:30:00Z"),
        # across the spring-forward weekend (Europe, 29 March 2026) a month is the same
        # UTC time of day, never shifted by the clock change
        ("1mo", "2026-03-15T09:00:00Z", "2026-04-15T09:00:00Z"),
        # fixed durations still measure elapsed time
        ("24h", "2026-03-28T12:00:00+01:00", "2026-03-29T11:00:00Z"),
        ("1w", "2026-10-20T00:00:00Z", "2026-10-27T00:00:00Z"),
        ("0mo", "2026-05-05T05:05:00Z", "2026-05-05T05:05:00Z"),
    ],
)
def test_calendar_durations_by_hand(duration: str, start: str, expected: str) -> None:
    assert _after(duration, start) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1mo", CalendarDuration(months=1)),
        ("120mo", CalendarDuration(months=120)),
        ("72h", CalendarDuration(fixed=timedelta(hours=72))),
        ("3650d", CalendarDuration(fixed=timedelta(days=3650))),
    ],
)
def test_calendar_durations_parse(text: str, expected: CalendarDuration) -> None:
    assert parse_calendar_duration(text) == expected


@pytest.mark.parametrize("text", ["121mo", "1m0", "mo", "1 mo", "1MO", "-1mo", "1.5mo", "1mo\n"])
def test_bad_calendar_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="1mo"):
        parse_calendar_duration(text)


def test_months_in_a_fixed_duration_say_why() -> None:
    with pytest.raises(ValueError, match=r"calendar months \(mo\) are not a fixed length"):
        parse_duration("1mo")


@pytest.mark.parametrize("folder", [PROJECT_SCHEMAS, defaults_dir() / "schemas"])
def test_schema_calendar_pattern_is_the_parser_grammar(folder: object) -> None:
    defs = json.loads((folder / "defs.schema.json").read_text(encoding="utf-8"))  # type: ignore[operator]
    pattern = defs["$defs"]["calendar_duration"]["pattern"]
    assert pattern == f"^{CALENDAR_DURATION_PATTERN}(?![\\s\\S])"


def test_months_in_a_fixed_policy_duration_is_a_config_error_at_its_line(
    repo: Repo, cli: InvokeCli
) -> None:
    path = repo.root / "policy.yaml"
    text = path.read_text(encoding="utf-8")
    text = text.replace("acknowledge_within: 5m", "acknowledge_within: 1mo", 1)
    path.write_text(text, encoding="utf-8")
    line = text[: text.index("acknowledge_within: 1mo")].count("\n") + 1
    result = cli("audit", "--repo", repo.root, "--as-of", "2026-03-31T12:00:00Z")
    assert result.status == 2, result.err
    assert re.search(rf"policy\.yaml:{line}:\d+: '1mo'", result.err), result.err
    assert "calendar months (mo) are not accepted here" in result.err
