"""The audit's view of imported records: one summarised gap finding, never a flood."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import INCIDENT, RUNBOOK, InvokeCli, Repo, finding_lines

SAMPLE = Path(
    os.environ.get(
        "OPSLEDGER_SERVICENOW_SAMPLE",
        Path(__file__).resolve().parent / "data" / "servicenow-incident-events-sample.csv",
    )
)

IMPORTED = INCIDENT.replace("status: open", "status: resolved").replace(
    "service: orders-db", "service: unknown"
) + (
    "resolved_at: 2026-03-04T11:00:00Z\nexternal_id: INC0000045\ncaused_by_change: CHG-2026-0404\n"
    "import_gaps: [acknowledged_at, mitigated_at, resolution, notifications, service]\n"
)


def test_gaps_are_one_summarised_warning(repo: Repo, cli: InvokeCli) -> None:
    repo.write("runbooks/RB-0003-orders-db-pool.md", RUNBOOK, dedent=False)
    repo.write("records/incidents/INC-2026-0001.yaml", IMPORTED)
    repo.write("records/incidents/INC-2026-0002.yaml", IMPORTED.replace("0001", "0002"))
    result = cli(
        "audit",
        "--repo",
        repo.root,
        "--select",
        "SCHEMA,REF-LINK",
        "--as-of",
        "2026-03-31T00:00:00Z",
    )
    assert result.status == 0, result.out
    assert finding_lines(result.out) == [
        "records/incidents:1:1: warning SCHEMA 2 imported incidents lack fields their source "
        "system did not have (acknowledged_at 2, mitigated_at 2, resolution 2, notifications 2, "
        "service 2); they are excluded from the KPIs that need them (e.g. INC-2026-0001) (fill "
        "the gaps where the facts are known, and remove them from import_gaps)"
    ]


def test_a_missing_field_must_be_listed_as_a_gap(repo: Repo, cli: InvokeCli) -> None:
    repo.write(
        "records/incidents/INC-2026-0001.yaml",
        IMPORTED.replace("mitigated_at, resolution,", "mitigated_at,"),
    )
    result = cli(
        "audit", "--repo", repo.root, "--select", "SCHEMA", "--as-of", "2026-03-31T00:00:00Z"
    )
    assert result.status == 1
    assert (
        "error SCHEMA imported record lacks 'resolution' without listing it in import_gaps"
        in result.out
    )


@pytest.mark.skipif(not SAMPLE.is_file(), reason="the ServiceNow sample is not beside the project")
def test_real_sample_audits_to_one_gap_summary(cli: InvokeCli, tmp_path: Path) -> None:
    root = tmp_path / "gov"
    assert cli("init", root, "--action-ref", "acme/opsledger@v0.1.0").status == 0
    imported = cli("import", "servicenow", SAMPLE, "--timezone", "Europe/London", "--repo", root)
    assert imported.status == 0, imported.err
    assert cli("validate", "--repo", root).status == 0
    result = cli(
        "audit",
        "--repo",
        root,
        "--ignore",
        "GIT",
        "--fail-on",
        "error",
        "--as-of",
        "2026-11-25T00:00:00Z",
    )
    assert result.status == 0, result.out
    rules = [line.split()[2] for line in finding_lines(result.out)]
    assert rules.count("SCHEMA") == 1 and "REF-LINK" not in rules
    assert "32 imported incidents lack" in result.out
