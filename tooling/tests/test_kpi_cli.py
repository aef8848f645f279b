"""``opsledger kpi``: the JSON contract, CSV, Markdown, the plain table, grouping, errors."""

from __future__ import annotations

import csv
import io
import json

import pytest
from test_kpis import SPEC_IDS, incident

from conftest import AS_OF, InvokeCli, Repo, git, git_init

ACKED = {"acknowledged_at": "2026-03-02T09:05:00Z"}


def fill(repo: Repo) -> None:
    incident(repo, 1, "2026-03-02T09:00:00Z", **ACKED)  # MTTA 5
    incident(repo, 2, "2026-03-03T09:00:00Z", acknowledged_at="2026-03-03T09:15:00Z")  # 15
    incident(repo, 3, "2026-02-10T09:00:00Z", priority="P4", acknowledged_at="2026-02-10T09:40:00Z")
    incident(
        repo, 4, "2026-03-04T09:00:00Z", status="mitigated", mitigated_at="2026-03-04T10:00:00Z"
    )


def test_json_contract(repo: Repo, cli: InvokeCli) -> None:
    fill(repo)
    result = cli(
        "kpi",
        "--no-history",  # outside git
        "--repo",
        repo.root,
        "--format",
        "json",
        "--as-of",
        AS_OF,
        "--since",
        "2026-02-01",
        "--until",
        "2026-04-01",
        "--by",
        "month",
    )
    assert result.status == 0, result.err
    doc = json.loads(result.out)
    assert list(doc) == ["version", "commit", "as_of", "since", "until", "kpis"]
    assert (doc["version"], doc["commit"], doc["as_of"]) == (1, None, AS_OF)
    assert (doc["since"], doc["until"]) == ("2026-02-01", "2026-04-01")
    assert [k["id"] for k in doc["kpis"]] == SPEC_IDS
    for entry in doc["kpis"]:
        for key in ("id", "value", "unit", "n", "target", "status", "excluded", "groups"):
            assert key in entry, (entry["id"], key)
        assert entry["status"] in ("met", "missed", "no target", "no data")
    mtta = next(k for k in doc["kpis"] if k["id"] == "mtta")
    # mean(5, 15, 40) = 20 minutes; median 15; p90 40. INC-0004 is mitigated without an
    # acknowledgement: excluded with its reason
    assert (mtta["value"], mtta["unit"], mtta["n"]) == (20, "minutes", 3)
    assert mtta["stats"] == {"mean": 20, "median": 15, "p90": 40}
    assert mtta["excluded"] == [
        {"record": "INC-2026-0004", "reason": "status mitigated but no acknowledged_at"}
    ]
    assert mtta["target"]["by_priority"]["P1"] == {"max": 5}
    # P3: mean(5, 15) = 10 <= 60; P4: 40 <= 240
    assert mtta["groups"]["priority"]["P3"] == {
        "value": 10,
        "n": 2,
        "target": {"max": 60},
        "status": "met",
        "stats": {"mean": 10, "median": 10, "p90": 15},
    }
    assert mtta["groups"]["month"]["2026-02"]["value"] == 40
    assert mtta["groups"]["month"]["2026-03"]["value"] == 10
    # outside git: history KPIs have no data and say why, with a note on stderr
    pir = next(k for k in doc["kpis"] if k["id"] == "pir_on_time_rate")
    assert (pir["value"], pir["status"], pir["notes"]) == (
        None,
        "no data",
        ["history unavailable: no git history here (--no-history)"],
    )
    assert "no git history" in result.err


def test_json_names_the_commit(repo: Repo, cli: InvokeCli) -> None:
    fill(repo)
    git_init(repo.root)
    git(repo.root, "add", "-A")
    git(repo.root, "commit", "-qm", "records")
    head = git(repo.root, "rev-parse", "HEAD").strip()
    result = cli("kpi", "--repo", repo.root, "--format", "json", "--as-of", AS_OF)
    assert result.status == 0, result.err
    doc = json.loads(result.out)
    assert doc["commit"] == head
    lag = next(k for k in doc["kpis"] if k["id"] == "documentation_lag")
    # committed 2026-03-01T10:00Z, before every detection: negative lags, but a number
    assert lag["status"] != "no data" and lag["n"] == 4


def test_csv(repo: Repo, cli: InvokeCli) -> None:
    fill(repo)
    result = cli(
        "kpi",
        "--repo",
        repo.root,
        "--format",
        "csv",
        "--as-of",
        AS_OF,
        "--kpi",
        "mtta,incident_volume",
        "--by",
        "quarter",
    )
    assert result.status == 0, result.err
    rows = list(csv.DictReader(io.StringIO(result.out)))
    top = [r for r in rows if not r["dimension"]]
    assert [(r["kpi"], r["value"], r["n"], r["status"]) for r in top] == [
        ("incident_volume", "4", "4", "no target"),
        ("mtta", "20.0", "3", "met"),
    ]
    assert top[1]["median"] == "15.0" and top[1]["p90"] == "40.0" and top[1]["excluded"] == "1"
    quarter = [(r["kpi"], r["group"], r["value"]) for r in rows if r["dimension"] == "quarter"]
    assert quarter == [("incident_volume", "2026-Q1", "4"), ("mtta", "2026-Q1", "20.0")]
    p1 = next(r for r in rows if r["kpi"] == "mtta" and r["group"] == "P3")
    assert (p1["target_max"], p1["status"]) == ("60.0", "met")


def test_markdown_and_escaping(repo: Repo, cli: InvokeCli) -> None:
    fill(repo)
    repo.write("records/services.yaml", "- {id: 'a|<b>', name: X, tier: 2, owner: x@example.com}\n")
    incident(repo, 5, "2026-03-05T09:00:00Z", service="a|<b>")
    result = cli(
        "kpi",
        "--repo",
        repo.root,
        "--format",
        "markdown",
        "--as-of",
        AS_OF,
        "--by",
        "service",
        "--kpi",
        "incident_volume",
    )
    assert result.status == 0, result.err
    out = result.out
    assert out.startswith("# KPIs\n")
    assert "| KPI | Value | Target | Status | n | Excluded |" in out
    assert "## By service" in out and "## Definitions" in out
    assert "a\\|&lt;b&gt;" in out and "<b>" not in out
    assert "(`incident_volume`, count)" in out


def test_table_is_plain_when_piped(repo: Repo, cli: InvokeCli) -> None:
    fill(repo)
    result = cli("kpi", "--no-history", "--repo", repo.root, "--as-of", AS_OF)
    assert result.status == 0, result.err
    assert "\x1b[" not in result.out
    lines = result.out.splitlines()
    assert lines[0].startswith("KPIs from the first record now, as of 2026-03-31T12:00:00Z")
    mtta = next(line for line in lines if line.startswith("mtta "))
    assert "20.0 min (median 15.0 min, p90 40.0 min)" in mtta and "met" in mtta


def test_output_file(repo: Repo, cli: InvokeCli) -> None:
    fill(repo)
    target = repo.root / "out" / "kpis.json"
    result = cli(
        "kpi",
        "--no-history",
        "--repo",
        repo.root,
        "--format",
        "json",
        "--as-of",
        AS_OF,
        "--output",
        target,
    )
    assert result.status == 0 and result.out == ""
    assert json.loads(target.read_text())["version"] == 1


def test_usage_errors_are_one_line(repo: Repo, cli: InvokeCli) -> None:
    bad_date = cli("kpi", "--repo", repo.root, "--since", "2026-13-01")
    assert bad_date.status == 2 and bad_date.err.count("\n") == 1
    assert "--since '2026-13-01'" in bad_date.err
    backwards = cli("kpi", "--repo", repo.root, "--since", "2026-04-01", "--until", "2026-03-01")
    assert backwards.status == 2 and "must be before" in backwards.err
    unknown = cli("kpi", "--repo", repo.root, "--kpi", "mttx")
    assert unknown.status == 2 and "unknown KPI 'mttx'" in unknown.err
    policy = repo.root / "policy.yaml"
    text = policy.read_text().replace("  mttb:\n", "  mtbb:\n")
    policy.write_text(text)
    line = text[: text.index("  mtbb:")].count("\n") + 1
    where = f"policy.yaml:{line}:3: unknown KPI 'mtbb' in kpi_targets; valid KPIs: "
    # every command that reads the policy stops at the line, the gate and validate too
    for command in (("kpi",), ("audit",), ("report", "weekly", "--period", "2026-W10")):
        typo = cli(*command, "--repo", repo.root)
        assert typo.status == 2, (command, typo.err)
        assert typo.err.count("\n") == 1 and where in typo.err, (command, typo.err)
    for validated in ((), (str(policy),)):
        typo = cli("validate", "--repo", repo.root, *validated)
        assert typo.status == 2 and where in typo.err, typo.err


@pytest.mark.parametrize("extra", ["max: 100", "by_priority: {P1: {min: 100}}"])
def test_an_availability_target_never_applied_is_refused(
    repo: Repo, cli: InvokeCli, extra: str
) -> None:
    """Each tier-1 service is judged against its own availability_target (the policy's min
    stands in where it has none): a max or a per-priority target would be shown as the
    KPI's target and never applied."""
    policy = repo.root / "policy.yaml"
    text = policy.read_text().replace(
        "availability: {min: 99.9}", f"availability: {{min: 99.9, {extra}}}"
    )
    assert extra in text
    policy.write_text(text)
    line = text[: text.index("availability: {min")].count("\n") + 1
    for command in ("kpi", "audit"):
        result = cli(command, "--repo", repo.root)
        assert result.status == 2, result.err
        assert f"policy.yaml:{line}:" in result.err
        assert "kpi_targets.availability takes only min" in result.err


def test_help_documents_every_option(cli: InvokeCli) -> None:
    result = cli("kpi", "--help")
    assert result.status == 0
    for option in (
        "--since",
        "--until",
        "--by",
        "--format",
        "--as-of",
        "--kpi",
        "--output",
        "--repo",
    ):
        assert option in result.out
    for name in ("month", "quarter", "priority", "service", "table", "json", "csv", "markdown"):
        assert name in result.out


def test_table_on_a_terminal_is_drawn_with_rich(
    repo: Repo, cli: InvokeCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    from opsledger.cli import kpi as kpi_cli

    fill(repo)
    monkeypatch.setattr(kpi_cli, "on_terminal", lambda: True)
    result = cli("kpi", "--repo", repo.root, "--as-of", AS_OF, "--kpi", "mtta")
    assert result.status == 0, result.err
    assert "━" in result.out or "─" in result.out  # box drawing
    assert "mtta" in result.out and "By priority" in result.out


def test_shallow_clone_stops_with_status_4(
    repo: Repo, cli: InvokeCli, tmp_path_factory: pytest.TempPathFactory
) -> None:
    fill(repo)
    git_init(repo.root)
    git(repo.root, "add", "-A")
    git(repo.root, "commit", "-qm", "first")
    incident(repo, 9, "2026-03-09T09:00:00Z")
    git(repo.root, "add", "-A")
    git(repo.root, "commit", "-qm", "second")
    clone = tmp_path_factory.mktemp("shallow") / "clone"
    git(repo.root, "clone", "-q", "--depth", "1", f"file://{repo.root}", str(clone))
    result = cli("kpi", "--repo", clone, "--as-of", AS_OF)
    assert result.status == 4
    assert "git fetch --unshallow" in result.err and result.out == ""
    # KPIs from the records alone need no history: they still work in a shallow clone
    records_only = cli(
        "kpi", "--repo", clone, "--as-of", AS_OF, "--kpi", "mtta", "--format", "json"
    )
    assert records_only.status == 0, records_only.err
