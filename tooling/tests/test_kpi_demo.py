"""KPIs on a generated demo year: every KPI has something to show, and the history KPIs
find exactly the planted history defects of the demo's answer key."""

from __future__ import annotations

import json

import pytest

from opsledger.demo import DemoResult, generate_demo
from opsledger.history.index import build_history
from opsledger.kpis import KpiOptions, KpiReport, compute_kpis
from opsledger.kpis.trail import downgraded
from opsledger.model.ledger import load_ledger


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoResult:
    return generate_demo(tmp_path_factory.mktemp("demo") / "year")


@pytest.fixture(scope="module")
def report(demo: DemoResult) -> KpiReport:
    ledger = load_ledger(demo.path)
    history = build_history(demo.path, since=ledger.policy.history_since, use_cache=False)
    return compute_kpis(ledger, history, KpiOptions(as_of=demo.as_of, by=("month",)))


def planted(demo: DemoResult, rule: str) -> set[str]:
    key = json.loads((demo.path / ".opsledger" / "demo-defects.json").read_text())
    return {item["record"] for item in key if item["rule"] == rule}


def test_every_kpi_has_data_on_the_demo(report: KpiReport) -> None:
    for result in report.results:
        assert result.status != "no data", result.kpi.id
        assert result.n > 0, result.kpi.id
        assert result.groups["month"], result.kpi.id


def test_history_kpis_find_the_planted_defects(demo: DemoResult, report: KpiReport) -> None:
    ledger = load_ledger(demo.path)
    history = build_history(demo.path, since=ledger.policy.history_since, use_cache=False)
    assert report.get("edited_after_close").value == len(planted(demo, "GIT-AFTER-CLOSE"))
    lowered = {
        rid for rid, trail in history.records.items() if rid[:3] == "INC" and downgraded(trail)
    }
    assert lowered == planted(demo, "GIT-DOWNGRADE")
    assert report.get("priority_downgrades").value == len(lowered)


def test_late_pirs_are_missed(demo: DemoResult, report: KpiReport) -> None:
    late = report.get("pir_on_time_rate")
    assert late.value is not None and late.value < 1
    assert late.status == "missed"
