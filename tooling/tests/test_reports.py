"""``opsledger report weekly|monthly`` on a generated repository with real history."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from opsledger.demo import generate_demo
from opsledger.model.ledger import load_ledger

from conftest import InvokeCli

AS_OF = "2026-01-01T00:00:00Z"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("reports") / "repo"
    generate_demo(root, months=2, seed=11)  # 2025-11-01 .. 2025-12-31
    return root


def test_weekly_scorecard(demo: Path, cli: InvokeCli) -> None:
    result = cli("report", "weekly", "--period", "2025-W46", "--as-of", AS_OF, "--repo", demo)
    assert result.status == 0, result.err
    text = result.out
    # independent count: incidents detected Mon 10 Nov .. Sun 16 Nov 2025 (London = UTC in Nov)
    ledger = load_ledger(demo)
    week = [
        i
        for i in ledger.incidents.values()
        if i.detected_at and date(2025, 11, 10) <= i.detected_at.date() < date(2025, 11, 17)
    ]
    assert text.startswith("# Weekly operations scorecard: 2025-W46\n")
    assert f"{len(week)} incidents detected" in text
    counts = Counter(i.priority for i in week)
    for priority in ("P1", "P2", "P3", "P4"):
        assert f"| {priority} | {counts.get(priority, 0)} |" in text
    for heading in (
        "## Response times by priority",
        "## Compliance",
        "## Top services and categories",
        "## Changes",
        "## Overdue actions at the end of the week",
        "## New findings",
    ):
        assert heading in text


def test_monthly_service_review(demo: Path, cli: InvokeCli, tmp_path: Path) -> None:
    out = tmp_path / "review.md"
    result = cli(
        "report",
        "monthly",
        "--period",
        "2025-12",
        "--as-of",
        AS_OF,
        "--repo",
        demo,
        "--output",
        out,
    )
    assert result.status == 0, result.err
    text = out.read_text()
    ledger = load_ledger(demo)
    tier1 = [s for s in ledger.services.values() if s.tier == 1]
    assert text.startswith("# Monthly service review: 2025-12\n")
    for service in tier1:
        assert f"| {service.name} |" in text
    assert "| 2025-11 |" in text and "| 2025-12 |" in text  # the trend months
    for heading in ("## Recurring issues", "## Change outcomes", "## Open risks"):
        assert heading in text


@pytest.mark.parametrize(
    ("kind", "period"),
    [
        ("weekly", "2026-10"),
        ("monthly", "2026-W10"),
        ("monthly", "2026-13"),
        ("weekly", "2026-W60"),
    ],
)
def test_bad_period_is_a_usage_error(demo: Path, cli: InvokeCli, kind: str, period: str) -> None:
    result = cli("report", kind, "--period", period, "--repo", demo)
    assert result.status == 2
    assert "--period" in result.err
