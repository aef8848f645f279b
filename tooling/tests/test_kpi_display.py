"""How a KPI reads: one formatter (durations in the largest sensible unit, ratios as
percentages, counts as integers), KPIs judged per priority shown and judged per priority,
and the same strings in ``opsledger kpi``, ``opsledger report`` and the site."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from html import unescape
from pathlib import Path

import markdown
import pytest
from test_kpis import RESOLUTION, incident, kpi

from opsledger.demo import generate_demo
from opsledger.kpis.display import bound_text, duration_text, value_text
from opsledger.model.policy import Target
from opsledger.site.data import collect
from opsledger.site.generate import generate

from conftest import AS_OF, InvokeCli, Repo

# --- the formatter ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minutes", "text"),
    [
        (0, "0.0 min"),
        (45, "45.0 min"),
        (59.94, "59.9 min"),
        (59.96, "1.0 h"),  # would read "60.0 min"
        (60, "1.0 h"),
        (1485.1, "24.8 h"),  # not 1485.1 min, not 1.0 d
        (2876.9, "47.9 h"),
        (2878, "2.0 d"),  # 47.97 h would read "48.0 h"
        (4608, "3.2 d"),
        (-90, "-1.5 h"),
        (-30, "-30.0 min"),
    ],
)
def test_durations_read_in_the_largest_sensible_unit(minutes: float, text: str) -> None:
    assert duration_text(minutes) == text
    assert value_text(minutes, "minutes") == text
    assert value_text(minutes / 60, "hours") == text
    assert value_text(minutes / 1440, "days") == text


def test_ratios_percentages_counts_and_nothing() -> None:
    assert value_text(0.9552, "ratio") == "95.5%"
    assert value_text(1, "ratio") == "100.0%"
    assert value_text(99.9521, "percent") == "99.952%"
    assert value_text(12.0, "count") == "12"
    assert value_text(None, "minutes") == "\u2013"
    assert bound_text(Target(min=0.95), "ratio") == "≥ 95.0%"
    assert bound_text(Target(max=120), "minutes") == "≤ 2.0 h"
    assert bound_text(Target(min=60, max=2880), "minutes") == "≥ 1.0 h, ≤ 2.0 d"
    assert bound_text(None, "count") == "\u2013"


# --- KPIs judged per priority ----------------------------------------------------------


def restored(repo: Repo, number: int, priority: str, minutes: int) -> None:
    """An incident of ``priority`` detected 2 March 09:00 and restored ``minutes`` later."""
    hours, mins = divmod(minutes, 60)
    days, hours = divmod(9 + hours, 24)
    incident(
        repo,
        number,
        "2026-03-02T09:00:00Z",
        priority=priority,
        status="mitigated",
        commander="lena.fischer@example.com" if priority in ("P1", "P2") else None,
        acknowledged_at="2026-03-02T09:01:00Z",
        mitigated_at=f"2026-03-{2 + days:02d}T{hours:02d}:{mins:02d}:00Z",
    )


def by_priority(repo: Repo) -> dict[str, tuple[float | None, int, str]]:
    result = kpi(repo, "mttr_restore")
    return {g.key: (g.value, g.n, g.status) for g in result.per_priority}


def test_p1_met_and_p2_missed_is_missed(repo: Repo, cli: InvokeCli) -> None:
    # policy: mttr_restore P1 <= 120 min, P2 <= 480 min, nothing for P3 and P4
    restored(repo, 1, "P1", 60)
    restored(repo, 2, "P1", 100)  # P1: mean(60, 100) = 80 <= 120: met
    restored(repo, 3, "P2", 600)  # P2: 600 > 480: missed
    restored(repo, 4, "P3", 3000)  # P3: no target, shown, not judged
    result = kpi(repo, "mttr_restore")
    assert by_priority(repo) == {
        "P1": (80, 2, "met"),
        "P2": (600, 1, "missed"),
        "P3": (3000, 1, "no target"),
    }
    assert result.status == "missed"
    # overall mean(60, 100, 600, 3000) = 940 min = 15.7 h, against nothing
    assert result.value == 940
    table = cli("kpi", "--kpi", "mttr_restore", "--as-of", AS_OF, "--repo", repo.root)
    assert table.status == 0, table.err
    rows = [re.split(r"\s{2,}", line) for line in table.out.splitlines()]
    dash, everything = "\u2013", "all priorities 15.7 h (median 5.8 h, p90 2.1 d)"
    assert rows[5:9] == [
        ["mttr_restore", everything, "by priority", "missed", "4", "0"],
        ["mttr_restore P1", "1.3 h (median 1.3 h, p90 1.7 h)", "≤ 2.0 h", "met", "2"],
        ["mttr_restore P2", "10.0 h (median 10.0 h, p90 10.0 h)", "≤ 8.0 h", "missed", "1"],
        ["mttr_restore P3", "2.1 d (median 2.1 d, p90 2.1 d)", dash, "no target", "1"],
    ]


def test_every_priority_met_is_met_and_a_priority_without_data_says_so(repo: Repo) -> None:
    restored(repo, 1, "P1", 120)  # exactly at the limit: met
    restored(repo, 2, "P3", 9000)  # no target: its 6.25 days do not count
    assert by_priority(repo) == {
        "P1": (120, 1, "met"),
        "P2": (None, 0, "no data"),
        "P3": (9000, 1, "no target"),
    }
    assert kpi(repo, "mttr_restore").status == "met"
    restored(repo, 3, "P2", 480)
    assert by_priority(repo)["P2"] == (480, 1, "met")
    assert kpi(repo, "mttr_restore").status == "met"


def test_no_priority_with_a_target_measured_is_no_data(repo: Repo) -> None:
    restored(repo, 1, "P4", 30)
    result = kpi(repo, "mttr_restore")
    assert result.status == "no data"
    assert [(g.key, g.status) for g in result.per_priority] == [
        ("P1", "no data"),
        ("P2", "no data"),
        ("P4", "no target"),
    ]


def test_a_plain_target_beside_per_priority_ones_is_each_other_priority_s(repo: Repo) -> None:
    policy = repo.root / "policy.yaml"
    policy.write_text(
        policy.read_text().replace(
            "  mttr_restore:\n    by_priority: {P1: {max: 120}, P2: {max: 480}}",
            "  mttr_restore:\n    max: 600\n    by_priority: {P1: {max: 120}}",
        )
    )
    restored(repo, 1, "P1", 60)
    restored(repo, 2, "P3", 700)  # judged against the plain 600: missed
    result = kpi(repo, "mttr_restore")
    assert {g.key: g.status for g in result.per_priority} == {"P1": "met", "P3": "missed"}
    assert result.status == "missed"  # the overall mean, 380, would have met 600


def test_per_priority_detail_in_json_csv_and_markdown(repo: Repo, cli: InvokeCli) -> None:
    restored(repo, 1, "P1", 60)
    restored(repo, 2, "P3", 3000)
    args = ("kpi", "--kpi", "mttr_restore", "--as-of", AS_OF, "--repo", repo.root, "--format")
    doc = json.loads(cli(*args, "json").out)
    entry = doc["kpis"][0]
    # the SPEC §5 contract keeps its keys; priorities live in groups and target
    assert list(entry)[:7] == ["id", "name", "value", "unit", "n", "target", "status"]
    assert entry["target"] == {
        "by_priority": {"P1": {"max": 120}, "P2": {"max": 480}},
        "status_by_priority": {"P1": "met", "P2": "no data"},
    }
    assert entry["status"] == "met"
    # groups are what was measured: P2 has none
    assert entry["groups"]["priority"]["P1"]["status"] == "met"
    assert entry["groups"]["priority"]["P3"]["status"] == "no target"
    assert set(entry["groups"]["priority"]) == {"P1", "P3"}
    rows = list(csv.DictReader(io.StringIO(cli(*args, "csv").out)))
    assert [(r["group"], r["value"], r["target_max"], r["status"]) for r in rows[1:]] == [
        ("P1", "60.0", "120.0", "met"),
        ("P3", "3000.0", "", "no target"),
    ]
    text = cli(*args, "markdown").out
    assert "| mttr\\_restore | all priorities 25.5 h (median 25.5 h, p90 2.1 d) |" in text
    assert "| mttr\\_restore P2 | \u2013 | ≤ 8.0 h | no data | 0 |  |" in text


# --- the same strings everywhere ------------------------------------------------------

DEMO_AS_OF = "2026-01-01T00:00:00Z"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("display") / "repo"
    generate_demo(root, months=2, seed=11)  # 2025-11-01 .. 2025-12-31
    return root


def cells(text: str) -> Iterator[list[str]]:
    """The rows of every Markdown table in ``text``, each cell as the reader sees it."""
    for line in text.splitlines():
        if line.startswith("| ") and not line.startswith("|---"):
            yield [cell_text(cell) for cell in re.split(r"(?<!\\)\|", line)[1:-1]]


def cell_text(cell: str) -> str:
    """A cell's text once rendered, a status without its mark (the site adds ✓ and ✗)."""
    html = markdown.markdown(cell.strip())
    text = unescape(re.sub(r"<[^>]+>", "", html)).strip()
    return re.sub(r"^[✓✗?-] (?=met|missed|no )", "", text)


def kpi_lines(text: str, names: dict[str, str]) -> dict[tuple[str, str | None], list[str]]:
    """(KPI id, priority or None) -> [value, target, status] from a KPIs table whose first
    column names the KPI (by id or by name) and maybe a priority."""
    out: dict[tuple[str, str | None], list[str]] = {}
    for row in cells(text):
        if len(row) < 4:
            continue
        head, _, priority = row[0].partition(" P")
        key = names.get(row[0]) or names.get(head)
        if key is None:
            continue
        out[(key, f"P{priority}" if priority and row[0] not in names else None)] = row[1:4]
    return out


def test_a_kpi_reads_the_same_in_kpi_report_and_site(demo: Path, cli: InvokeCli) -> None:
    site = generate(collect(demo, DEMO_AS_OF))
    report = collect(demo, DEMO_AS_OF).kpis
    assert report is not None
    names = {r.kpi.id: r.kpi.id for r in report.results}
    names.update({r.kpi.name: r.kpi.id for r in report.results})
    markdown_out = cli("kpi", "--format", "markdown", "--as-of", DEMO_AS_OF, "--repo", demo).out
    in_kpi = kpi_lines(markdown_out.split("## By")[0], names)
    in_site = kpi_lines(site.pages["kpis/index.md"].split("\n## ")[0], names)
    assert len(in_kpi) == len(report.results) + 4 + 4 + 4  # mtta and MTTR per priority
    assert in_site == in_kpi
    # the tiles: each KPI's value (or each priority's) as the tables begin it
    tiles = re.findall(r'<a class="ol-tile [^>]*>(.*?)</a>', site.home)
    assert len(tiles) == len(report.results)
    for tile in tiles:
        name = unescape(re.search(r'ol-tile__name">([^<]*)<', tile)[1])  # type: ignore[index]
        kpi_id = names[name]
        values = re.findall(r'ol-tile__value">([^<]*)<', tile)
        per = re.findall(r'ol-tile__key">(P[0-9])</span> <strong>([^<]*)</strong>', tile)
        if values:
            assert in_kpi[(kpi_id, None)][0].startswith(unescape(values[0])), kpi_id
        for priority, value in per:
            assert in_kpi[(kpi_id, priority)][0].startswith(unescape(value)), (kpi_id, priority)
        assert values or per
    # the reports: the same KPI over the same period reads the same
    for kind, period, since, until in (
        ("weekly", "2025-W50", "2025-12-08", "2025-12-15"),
        ("monthly", "2025-12", "2025-12-01", "2026-01-01"),
    ):
        shown = cli("report", kind, "--period", period, "--as-of", DEMO_AS_OF, "--repo", demo)
        same = cli(
            "kpi",
            "--format",
            "markdown",
            "--since",
            since,
            "--until",
            until,
            "--as-of",
            DEMO_AS_OF,
            "--repo",
            demo,
        )
        expected = kpi_lines(same.out.split("## By")[0], names)
        in_report = report_lines(shown.out, names)
        assert len(in_report) >= (12 if kind == "weekly" else 4)
        for key, value in in_report.items():
            assert value == expected[key], (kind, key)


def report_lines(text: str, names: dict[str, str]) -> dict[tuple[str, str | None], list[str]]:
    """The KPI rows of a report: ``| KPI | Value | n | Target | Status |`` and, by priority,
    ``| KPI | Priority | n | Value | Target | Status |``; as [value, target, status]."""
    out: dict[tuple[str, str | None], list[str]] = {}
    for row in cells(text):
        head, _, priority = row[0].partition(" P")
        if len(row) == 5 and (row[0] in names or head in names):
            key = names.get(row[0]) or names[head]
            out[(key, f"P{priority}" if row[0] not in names else None)] = [row[1], *row[3:5]]
        elif len(row) == 6 and row[0] in names:
            out[(names[row[0]], None if row[1] == "all" else row[1])] = [row[3], *row[4:6]]
    return out


def test_a_day_long_restore_reads_in_hours(repo: Repo) -> None:
    """The restore time of a P3 that took a day reads 24.8 h, not 1485.1 min."""
    incident(
        repo,
        1,
        "2026-03-02T09:00:00Z",
        status="resolved",
        acknowledged_at="2026-03-02T09:01:00Z",
        mitigated_at="2026-03-03T09:45:06Z",  # 24 h 45 min 6 s = 1485.1 min
        resolved_at="2026-03-03T10:00:00Z",
        resolution=RESOLUTION,
    )
    result = kpi(repo, "mttr_restore")
    assert value_text(result.value, "minutes") == "24.8 h"
