"""The one period type: weeks, months, quarters, years and day ranges as local dates."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from opsledger.errors import OpsledgerError
from opsledger.period import Period, days, label_of, parse_period

from conftest import InvokeCli, Repo

LONDON = ZoneInfo("Europe/London")


@pytest.mark.parametrize(
    ("text", "since", "until", "kind"),
    [
        ("2026-W10", date(2026, 3, 2), date(2026, 3, 9), "week"),
        ("2026-W01", date(2025, 12, 29), date(2026, 1, 5), "week"),  # ISO week of 2026
        ("2026-03", date(2026, 3, 1), date(2026, 4, 1), "month"),
        ("2026-12", date(2026, 12, 1), date(2027, 1, 1), "month"),
        ("2026-Q1", date(2026, 1, 1), date(2026, 4, 1), "quarter"),
        ("2026-Q4", date(2026, 10, 1), date(2027, 1, 1), "quarter"),
        ("2026", date(2026, 1, 1), date(2027, 1, 1), "year"),
        ("2026-03-04", date(2026, 3, 4), date(2026, 3, 5), "days"),
        ("2026-03-01..2026-03-15", date(2026, 3, 1), date(2026, 3, 16), "days"),
    ],
)
def test_parse(text: str, since: date, until: date, kind: str) -> None:
    period = parse_period(text, LONDON)
    assert (period.since, period.until, period.kind) == (since, until, kind)
    assert str(period) == text and period.label == text
    assert period.zone == LONDON


def test_bounds_are_local_midnights_in_the_policy_timezone() -> None:
    # London moves to BST on 2026-03-29: April starts at 23:00 UTC on 31 March
    march = parse_period("2026-03", LONDON)
    assert march.start == datetime(2026, 3, 1, tzinfo=UTC)
    assert march.end == datetime(2026, 3, 31, 23, tzinfo=UTC)
    assert march.contains(datetime(2026, 3, 31, 22, 59, tzinfo=UTC))
    assert not march.contains(datetime(2026, 3, 31, 23, 0, tzinfo=UTC))  # [since, until)
    assert not march.contains(None)
    assert march.last == date(2026, 3, 31)
    assert march.contains_day(date(2026, 3, 31)) and not march.contains_day(date(2026, 4, 1))


def test_open_ends() -> None:
    anything = Period()
    assert not anything.bounded and anything.contains(datetime(1990, 1, 1, tzinfo=UTC))
    since = Period(date(2026, 3, 1))
    assert since.bounded and since.end is None and str(since) == "2026-03-01 to now"


def test_shift_and_naming() -> None:
    assert parse_period("2026-03").shift(-2) == Period.of("month", date(2026, 1, 1))
    assert parse_period("2026-01").shift(-2).label == "2025-11"
    assert parse_period("2026-Q1").shift(1).label == "2026-Q2"
    assert parse_period("2026-W01").shift(-1).label == "2025-W52"
    assert parse_period("2026").shift(1).label == "2027"
    assert days(date(2026, 3, 1), date(2026, 3, 7)).shift(1).label == "2026-03-08..2026-03-14"
    assert label_of("quarter", date(2026, 11, 30)) == "2026-Q4"


@pytest.mark.parametrize(
    ("text", "kinds", "says"),
    [
        ("2026-13", ("month",), "no such month; write a month like 2026-03"),
        ("2026-W60", ("week",), "2026 has no ISO week 60; write an ISO week like 2026-W10"),
        ("2027-W53", ("week",), "2027 has no ISO week 53"),
        ("2026-Q5", ("quarter",), "write a quarter like 2026-Q1"),
        ("2026-02-30", ("days",), "no such day"),
        ("2026-03-15..2026-03-01", ("days",), "the last day is before the first"),
        ("9999-12", ("month",), "out of range (years 1900-2999)"),
        ("9999-W52", ("week",), "out of range"),
        ("0000", ("year",), "out of range"),
        ("2026-03-01..3000-01-01", ("days",), "out of range"),
        ("march", ("week", "month"), "write an ISO week like 2026-W10 or a month like 2026-03"),
        ("2026-03\n", ("month",), "write a month like 2026-03"),
        ("2026-W10", ("month",), "write a month like 2026-03"),
        ("\uff12\uff10\uff12\uff16-03", ("month",), "write a month like 2026-03"),
    ],
)
def test_parse_errors_say_what_to_write(text: str, kinds: tuple[str, ...], says: str) -> None:
    with pytest.raises(OpsledgerError) as info:
        parse_period(text, LONDON, kinds=kinds)  # type: ignore[arg-type]
    message = info.value.message
    assert message.startswith(f"--period {text!r}: ") and says in message
    assert "\n" not in message


@pytest.mark.parametrize("period", ["0001-01", "9999-12", "2026-W00", "2026-00"])
def test_report_period_errors_are_one_line_usage_errors(
    repo: Repo, cli: InvokeCli, period: str
) -> None:
    result = cli("report", "monthly", "--period", period, "--repo", repo.root)
    assert result.status == 2, result.err
    assert result.err.count("\n") == 1 and "--period" in result.err


@pytest.mark.parametrize(("option", "day"), [("--since", "0001-01-01"), ("--until", "9999-12-31")])
def test_kpi_days_beyond_the_calendar_are_usage_errors(
    repo: Repo, cli: InvokeCli, option: str, day: str
) -> None:
    # in a timezone ahead of UTC, the local midnight of 0001-01-01 is before year 1 in UTC
    policy = repo.root / "policy.yaml"
    policy.write_text(policy.read_text().replace("Europe/London", "Asia/Tokyo"))
    result = cli("kpi", option, day, "--format", "json", "--repo", repo.root)
    assert result.status == 2, result.err
    assert result.err.splitlines()[-1] == (
        f"opsledger: error: {option} {day!r}: year {day[:4]} is outside the supported range "
        "1900-2999"
    )


@pytest.mark.parametrize(
    ("kind", "period"), [("monthly", "2999-12"), ("weekly", "2999-W52"), ("monthly", "1900-01")]
)
def test_the_first_and_last_periods_of_the_range_are_reported(
    repo: Repo, cli: InvokeCli, kind: str, period: str
) -> None:
    """2999-12 ends on 3000-01-01 (excluded): a period inside the range, not an error
    about an --until nobody gave."""
    result = cli("report", kind, "--period", period, "--repo", repo.root, "--no-history")
    assert result.status == 0, result.err
    assert "--until" not in result.err
