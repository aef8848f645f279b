"""Structural rules: REF-LINK (every reference kind it checks, with its message, position and
fix), REF-ID (judging what loading saw: names, IDs, duplicates, stray files) and the SCHEMA
rule's share of the audit.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from opsledger.audit import AuditOptions, run_audit
from opsledger.findings import Finding
from opsledger.model.ledger import IdSeen, Stray, load_ledger
from opsledger.rules.references import RefId, load_findings

from conftest import INCIDENT, RUNBOOK, Hit, InvokeCli, Repo, audit_rule, finding_lines

AS_OF = datetime(2026, 3, 31, 12, tzinfo=UTC)

CHANGE = """\
id: CHG-2026-0107
title: Raise the orders-db connection pool to 120
type: normal
risk: low
status: approved
services: [orders-db, nowhere]
requested_by: lena.fischer@example.com
implementer: marco.rossi@example.com
description: Raise max_connections on orders-db from 60 to 120 and the pgbouncer pool to match.
justification: The pool was exhausted in INC-2026-0042; peak usage is now 55 of 60 connections.
impact: Connections drop for about 5 seconds while pgbouncer reloads; checkout retries absorb it.
window:
  start: 2026-03-10T21:00:00Z
  end: 2026-03-10T23:00:00Z
rollback:
  plan: Set max_connections back to 60 with the pool-size playbook and reload pgbouncer.
  trigger: Checkout error rate above 1% or replication lag above 30 seconds.
  tested: true
  estimated_duration: 15m
related_incident: INC-2026-0999
approvals:
  - by: priya.shah@example.com
    role: cab
    at: 2026-03-09T10:00:00Z
    decision: approved
  - by: omar.haddad@example.com
    role: release-captain
    at: 2026-03-09T11:00:00Z
    decision: approved
"""

PIR = """\
---
id: PIR-2026-0042
incident: INC-2026-0999
status: draft
authors: [lena.fischer@example.com]
root_cause: A deploy halved the connection pool size.
actions: []
---
## Summary
Checkout failed.
"""


def linked(repo: Repo) -> Repo:
    repo.write("runbooks/RB-0003-orders-db-pool.md", RUNBOOK, dedent=False)
    return repo


def hits(repo: Repo) -> list[tuple[str, int, int, str]]:
    return [(h.path, h.line, h.column, h.message) for h in audit_rule(repo, "REF-LINK")]


def fixes(repo: Repo) -> list[str]:
    ledger = load_ledger(repo.root)
    found = run_audit(ledger, AuditOptions(as_of=AS_OF, select=("REF-LINK",)))
    return [f.fix for f in found]


# -- REF-LINK -----------------------------------------------------------------------------------
class TestIncidentReferences:
    PATH = "records/incidents/INC-2026-0001.yaml"

    def test_every_reference_resolves(self, repo: Repo) -> None:
        linked(repo)
        repo.write(self.PATH, INCIDENT + "runbooks_used: [RB-0003]\n")
        assert hits(repo) == []

    def test_unknown_service(self, repo: Repo) -> None:
        linked(repo)
        repo.write(self.PATH, INCIDENT.replace("service: orders-db", "service: nowhere"))
        assert hits(repo) == [(self.PATH, 5, 10, "service 'nowhere' does not exist")]
        assert fixes(repo) == ["correct the reference or add the service"]

    @pytest.mark.parametrize(
        ("field", "value", "what"),
        [
            ("caused_by_change", "CHG-2026-0999", "caused by change"),
            ("recurrence_of", "INC-2026-0999", "recurrence of"),
            ("pir", "PIR-2026-0999", "pir"),
        ],
    )
    def test_missing_record(self, repo: Repo, field: str, value: str, what: str) -> None:
        linked(repo)
        repo.write(self.PATH, INCIDENT + f"{field}: {value}\n")
        assert hits(repo) == [(self.PATH, 10, len(field) + 3, f"{what} {value!r} does not exist")]
        assert fixes(repo) == [f"correct the reference or add the {what}"]

    def test_existing_records_resolve(self, repo: Repo) -> None:
        linked(repo)
        other = INCIDENT.replace("INC-2026-0001", "INC-2026-0002")
        repo.write("records/incidents/INC-2026-0002.yaml", other)
        repo.write("records/changes/CHG-2026-0107.yaml", CHANGE)
        # the PIR reviews this incident (a pir naming another incident's review is a finding)
        review = PIR.replace("incident: INC-2026-0999", "incident: INC-2026-0001")
        repo.write("records/pirs/PIR-2026-0042.md", review, dedent=False)
        extra = (
            "caused_by_change: CHG-2026-0107\nrecurrence_of: INC-2026-0002\npir: PIR-2026-0042\n"
        )
        repo.write(self.PATH, INCIDENT + extra)
        assert [h for h in hits(repo) if h[0] == self.PATH] == []

    def test_each_missing_runbook_at_its_entry(self, repo: Repo) -> None:
        linked(repo)
        repo.write(self.PATH, INCIDENT + "runbooks_used: [RB-0003, RB-0999]\n")
        assert hits(repo) == [(self.PATH, 10, 26, "runbook 'RB-0999' does not exist")]
        assert fixes(repo) == ["correct the reference or add the runbook"]

    def test_imported_incidents_name_what_the_source_did_not_import(self, repo: Repo) -> None:
        # the source system's change and a service listed as an import gap are not dangling
        linked(repo)
        imported = (
            INCIDENT.replace("service: orders-db", "service: legacy-erp")
            + "caused_by_change: CHG-2025-0001\nexternal_id: INC0012345\n"
            + "import_gaps: [service]\n"
        )
        repo.write(self.PATH, imported)
        assert hits(repo) == []
        repo.write(self.PATH, imported.replace("import_gaps: [service]", "import_gaps: [pir]"))
        assert hits(repo) == [(self.PATH, 5, 10, "service 'legacy-erp' does not exist")]


class TestChangeReferences:
    PATH = "records/changes/CHG-2026-0107.yaml"

    def test_service_incident_and_approver_role(self, repo: Repo) -> None:
        linked(repo)
        repo.write(self.PATH, CHANGE)
        assert hits(repo) == [
            (self.PATH, 6, 23, "service 'nowhere' does not exist"),
            (self.PATH, 20, 19, "incident 'INC-2026-0999' does not exist"),
            (self.PATH, 27, 11, "approver role 'release-captain' does not exist"),
        ]
        assert fixes(repo) == [
            "correct the reference or add the service",
            "correct the reference or add the incident",
            "correct the reference or add the approver role",
        ]

    def test_roles_come_from_the_policy(self, repo: Repo) -> None:
        linked(repo)
        policy = repo.root / "policy.yaml"
        text = policy.read_text(encoding="utf-8")
        policy.write_text(
            text.replace(
                "approvers:\n", "approvers:\n  release-captain: [omar.haddad@example.com]\n"
            ),
            encoding="utf-8",
        )
        repo.write(self.PATH, CHANGE)
        assert [h[3] for h in hits(repo)] == [
            "service 'nowhere' does not exist",
            "incident 'INC-2026-0999' does not exist",
        ]


def test_pir_incident(repo: Repo) -> None:
    linked(repo)
    repo.write("records/pirs/PIR-2026-0042.md", PIR, dedent=False)
    assert hits(repo) == [
        ("records/pirs/PIR-2026-0042.md", 3, 11, "incident 'INC-2026-0999' does not exist")
    ]


def test_runbook_services(repo: Repo) -> None:
    repo.write(
        "runbooks/RB-0003-orders-db-pool.md",
        RUNBOOK.replace("services: [orders-db]", "services: [orders-db, nowhere]"),
        dedent=False,
    )
    assert hits(repo) == [
        ("runbooks/RB-0003-orders-db-pool.md", 4, 23, "service 'nowhere' does not exist")
    ]


def test_service_catalog_runbooks(repo: Repo) -> None:
    # the catalog's orders-db lists RB-0003, which does not exist: reported in the catalog
    assert hits(repo) == [("records/services.yaml", 6, 14, "runbook 'RB-0003' does not exist")]
    ledger = load_ledger(repo.root)
    (finding,) = run_audit(ledger, AuditOptions(as_of=AS_OF, select=("REF-LINK",)))
    assert (finding.record, finding.pointer) == (None, "/0/runbooks/0")
    linked(repo)
    assert hits(repo) == []


def test_ci_placeholder_is_a_reference_to_nothing(repo: Repo, tmp_path: Path) -> None:
    linked(repo)
    workflow = "jobs:\n  audit:\n    steps:\n      # uses: OWNER/REPO@REF is the placeholder\n"
    repo.write(".github/workflows/governance.yml", workflow + "      - uses: OWNER/REPO@REF\n")
    repo.write(".gitlab-ci.yml", 'variables:\n  OPSLEDGER: "git+https://github.com/acme/x@v1"\n')
    found = audit_rule(repo, "REF-LINK")
    assert [(h.path, h.line, h.column, h.rule) for h in found] == [
        (".github/workflows/governance.yml", 5, 15, "REF-LINK")
    ]  # the comment naming the placeholder is not a use of it
    assert "placeholder OWNER/REPO" in found[0].message
    # a link is never followed, an oversized file never read: neither is what init wrote
    (repo.root / ".github/workflows/governance.yml").unlink()
    outside = tmp_path / "elsewhere.yml"
    outside.write_text("      - uses: OWNER/REPO@REF\n")
    (repo.root / ".github/workflows/linked.yml").symlink_to(outside)
    repo.write(".github/workflows/huge.yml", "# x\n" * 400_000 + "uses: OWNER/REPO@REF\n")
    assert audit_rule(repo, "REF-LINK") == []


# -- REF-ID -------------------------------------------------------------------------------------
def ref_id(repo: Repo) -> list[Hit]:
    return audit_rule(repo, "REF-ID")


def test_loading_records_what_it_saw(repo: Repo) -> None:
    repo.write("records/incidents/INC-2026-0009.yaml", INCIDENT)
    repo.write("records/incidents/2026/INC-2026-0001.yaml", INCIDENT)
    repo.write("records/incidents/notes.txt", "scratch\n")
    ledger = load_ledger(repo.root)
    assert ledger.problems == []  # loading judges no name or ID
    # the folder's own files are read before its subfolders': INC-2026-0009.yaml comes first
    assert ledger.ids == [
        IdSeen(
            "records/incidents/INC-2026-0009.yaml",
            "incident",
            "INC-2026-0009",
            "INC-2026-0001",
            1,
            5,
            None,
        ),
        IdSeen(
            "records/incidents/2026/INC-2026-0001.yaml",
            "incident",
            "INC-2026-0001",
            "INC-2026-0001",
            1,
            5,
            "records/incidents/INC-2026-0009.yaml",
        ),
    ]
    assert ledger.strays == [
        Stray(
            "records/incidents/notes.txt",
            "not a record file: records/incidents/ holds files named like INC-2026-0042.yaml",
        )
    ]
    # the first file holding the ID is registered, the duplicate is not
    assert [i.path for i in ledger.incidents.values()] == ["records/incidents/INC-2026-0009.yaml"]


def test_file_name_must_match_id(repo: Repo) -> None:
    repo.write("records/incidents/INC-2026-0009.yaml", INCIDENT)
    assert [(h.line, h.column, h.message) for h in ref_id(repo)] == [
        (1, 5, "file name 'INC-2026-0009' does not match id 'INC-2026-0001'")
    ]


def test_runbook_may_add_a_slug_but_not_another_number(repo: Repo) -> None:
    repo.write("runbooks/RB-0003-orders-db-pool.md", RUNBOOK, dedent=False)
    assert ref_id(repo) == []
    (repo.root / "runbooks/RB-0003-orders-db-pool.md").rename(repo.root / "runbooks/RB-00031.md")
    assert [h.message for h in ref_id(repo)] == ["file name 'RB-00031' does not match id 'RB-0003'"]


def test_record_in_another_kinds_folder(repo: Repo) -> None:
    text = INCIDENT.replace("INC-2026-0001", "CHG-2026-0001")
    repo.write("records/incidents/CHG-2026-0001.yaml", text)
    assert [(h.line, h.column, h.message) for h in ref_id(repo)] == [
        (1, 5, "CHG-2026-0001 is a change ID but the file is in records/incidents/")
    ]


def test_duplicates_compared_case_insensitively(repo: Repo) -> None:
    repo.write("records/incidents/2025/INC-2026-0001.yaml", INCIDENT)
    lower = INCIDENT.replace("id: INC-2026-0001", "id: inc-2026-0001")
    repo.write("records/incidents/2026/inc-2026-0001.yaml", lower)
    assert [(h.path, h.message) for h in ref_id(repo)] == [
        (
            "records/incidents/2026/inc-2026-0001.yaml",
            "duplicate ID 'inc-2026-0001': already used by "
            "records/incidents/2025/INC-2026-0001.yaml",
        )
    ]


def test_stray_files_and_linked_folders(repo: Repo) -> None:
    repo.write("records/incidents/INC-2026-0001.yml", INCIDENT)
    (repo.root / "records/changes/linked").symlink_to(repo.root / "runbooks")
    assert [(h.path, h.line, h.column, h.message) for h in ref_id(repo)] == [
        (
            "records/changes/linked",
            1,
            1,
            "is a symbolic link; links are refused and never followed",
        ),
        (
            "records/incidents/INC-2026-0001.yml",
            1,
            1,
            "not a record file: records/incidents/ holds files named like INC-2026-0042.yaml",
        ),
    ]


def test_duplicate_service_id(repo: Repo) -> None:
    repo.write(
        "records/services.yaml",
        "- {id: orders-db, name: Orders, tier: 2, owner: a@example.com, availability_target: 99}\n"
        "- {id: orders-db, name: Again, tier: 2, owner: a@example.com, availability_target: 99}\n",
    )
    assert [(h.path, h.line, h.column, h.message) for h in ref_id(repo)] == [
        ("records/services.yaml", 2, 8, "duplicate service id 'orders-db'")
    ]


def test_long_or_hostile_ids_are_clipped_and_escaped(repo: Repo) -> None:
    repo.write("records/incidents/INC-2026-0001.yaml", INCIDENT)
    hostile = INCIDENT.replace("id: INC-2026-0001", 'id: "INC-2026-0001\\u2028' + "9" * 60 + '"')
    repo.write("records/incidents/INC-2026-0002.yaml", hostile)
    (message,) = [h.message for h in ref_id(repo)]
    assert (
        message
        == "file name 'INC-2026-0002' does not match id 'INC-2026-0001\\\\u2028" + "9" * 20 + "…'"
    )


def test_validate_and_audit_report_the_same_ref_id_findings(repo: Repo, cli: InvokeCli) -> None:
    repo.write("records/incidents/INC-2026-0009.yaml", INCIDENT)
    repo.write("records/incidents/2026/INC-2026-0001.yaml", INCIDENT)
    ledger = load_ledger(repo.root)
    judged = [f for f in load_findings(ledger) if f.rule == "REF-ID"]
    audited = run_audit(ledger, AuditOptions(as_of=AS_OF, select=("REF-ID",)))
    assert judged == audited == sorted(RefId().judge(ledger))
    assert len(judged) == 2
    validate = cli("validate", "--repo", repo.root)
    assert len([line for line in finding_lines(validate.out) if " REF-ID " in line]) == 2


def test_partial_load_sees_ids_of_files_not_read(repo: Repo) -> None:
    repo.write("records/incidents/INC-2026-0001.yaml", INCIDENT)
    repo.write("records/incidents/2026/INC-2026-0001.yaml", INCIDENT)
    ledger = load_ledger(repo.root, [repo.root / "records/incidents/2026/INC-2026-0001.yaml"])
    assert [(f.path, f.message) for f in RefId().judge(ledger)] == [
        (
            "records/incidents/2026/INC-2026-0001.yaml",
            "duplicate ID 'INC-2026-0001': already used by records/incidents/INC-2026-0001.yaml",
        )
    ]


# -- SCHEMA -------------------------------------------------------------------------------------
def test_schema_rule_reports_what_loading_found(repo: Repo) -> None:
    repo.write(
        "records/incidents/INC-2026-0001.yaml", INCIDENT.replace("status: open", "status: no")
    )
    found: list[Finding] = run_audit(
        load_ledger(repo.root), AuditOptions(as_of=AS_OF, select=("SCHEMA",))
    )
    assert [(f.line, f.column, f.rule) for f in found] == [(4, 9, "SCHEMA")]
    assert found[0].message.startswith("must be one of open, mitigated, resolved, closed")
