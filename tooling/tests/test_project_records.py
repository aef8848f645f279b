"""The project gates its own example records: they must load and validate cleanly."""

from __future__ import annotations

import filecmp
from collections import Counter

from opsledger.model.ledger import load_ledger
from opsledger.rules.references import load_findings

from conftest import PROJECT, InvokeCli, defaults_dir


def test_bundled_records_validate_cleanly(cli: InvokeCli) -> None:
    result = cli("validate", "--repo", PROJECT)
    assert result.status == 0, result.out
    assert result.out == ""


def test_bundled_records_pass_the_audit_gate(cli: InvokeCli) -> None:
    # Judged as of now, as CI judges a pull request: errors fail the gate; warnings (a
    # runbook due for review, an overdue action) are reported but do not.
    result = cli("audit", "--repo", PROJECT, "--fail-on", "error")
    assert result.status == 0, result.out


def test_bundled_records_read_like_a_quarter_of_operations() -> None:
    ledger = load_ledger(PROJECT)
    assert ledger.problems == []
    assert load_findings(ledger) == []  # SCHEMA and REF-ID, as validate reports them
    incidents = list(ledger.incidents.values())
    assert len(incidents) >= 15
    assert {i.priority for i in incidents} == {"P1", "P2", "P3", "P4"}
    assert {i.detection for i in incidents} == {"automated", "manual"}
    assert any(i.reopened for i in incidents)
    assert any(i.caused_by_change in ledger.changes for i in incidents)
    assert any(i.notifications for i in incidents)
    assert any(i.escalations for i in incidents)
    changes = list(ledger.changes.values())
    assert len(changes) >= 12
    assert {c.type for c in changes} == {"standard", "normal", "emergency"}
    assert {"successful", "failed", "rolled-back"} <= {c.outcome for c in changes}
    assert len(ledger.pirs) >= 4
    assert all(p.actions for p in ledger.pirs.values())
    assert len(ledger.runbooks) >= 6
    assert len(ledger.services) >= 8
    assert set(Counter(s.tier for s in ledger.services.values())) == {1, 2, 3}


def test_repository_schemas_match_the_packaged_defaults() -> None:
    # `opsledger init` and `opsledger demo` ship the packaged copy; the project's own
    # schemas/ must be the same files.
    packaged = defaults_dir() / "schemas"
    names = sorted(p.name for p in packaged.glob("*.json"))
    assert names == sorted(p.name for p in (PROJECT / "schemas").glob("*.json"))
    _, mismatch, errors = filecmp.cmpfiles(packaged, PROJECT / "schemas", names, shallow=False)
    assert mismatch == [] and errors == []


def test_brief_and_reports_render_for_the_bundled_records(cli: InvokeCli) -> None:
    brief = cli("brief", "INC-2026-0002", "--repo", PROJECT)
    assert brief.status == 0, brief.err
    assert brief.out.startswith("# Executive brief: ")
    assert "Post-incident review PIR-2026-0001 is **approved**." in brief.out
    weekly = cli("report", "weekly", "--period", "2026-W28", "--repo", PROJECT)
    assert weekly.status == 0, weekly.err
    assert "# Weekly operations scorecard: 2026-W28" in weekly.out
    monthly = cli("report", "monthly", "--period", "2026-07", "--repo", PROJECT)
    assert monthly.status == 0, monthly.err
    assert "## Availability of tier-1 services" in monthly.out
