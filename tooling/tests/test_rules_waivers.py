"""WAIVER-EXPIRED: a waiver past its expiry date is a finding at its ``expires``, judged on
the policy's calendar day; an expired waiver waives nothing. (End to end, with the other
output formats: ``test_audit_cli.py``.)"""

from __future__ import annotations

import pytest

from opsledger.audit import AuditOptions, run_audit
from opsledger.model.ledger import load_ledger
from opsledger.timeutil import parse_timestamp

from conftest import Repo, audit_rule

WAIVER = """\
waivers:
  - rule: RB-STALE
    record: RB-0003
    reason: The orders-db runbook is being rewritten for the new cluster.
    approved_by: priya.shah@example.com
    expires: "{expires}"
"""


def waive(repo: Repo, expires: str) -> int:
    """Put one waiver in the policy; return the line of its ``expires``."""
    policy = repo.root / "policy.yaml"
    text = policy.read_text(encoding="utf-8").replace(
        "waivers: []\n", WAIVER.format(expires=expires)
    )
    policy.write_text(text, encoding="utf-8")
    return next(n for n, line in enumerate(text.splitlines(), 1) if "expires:" in line)


def test_expired_waiver_is_reported_at_its_expiry(repo: Repo) -> None:
    line = waive(repo, "2026-03-30")
    hits = audit_rule(repo, "WAIVER-EXPIRED")
    assert [(h.path, h.line, h.column, h.severity, h.message) for h in hits] == [
        ("policy.yaml", line, 14, "error", "waiver of RB-STALE for RB-0003 expired on 2026-03-30")
    ]


def test_waiver_expiring_today_is_still_valid(repo: Repo) -> None:
    waive(repo, "2026-03-31")
    assert audit_rule(repo, "WAIVER-EXPIRED") == []


@pytest.mark.parametrize(
    ("as_of", "expired"),
    [
        # London is on BST (UTC+1) from 29 March: 23:30Z on the 31st is already 1 April there
        ("2026-03-31T22:59:00Z", False),
        ("2026-03-31T23:00:00Z", True),
    ],
)
def test_today_is_the_policy_timezones_day(repo: Repo, as_of: str, expired: bool) -> None:
    waive(repo, "2026-03-31")
    assert bool(audit_rule(repo, "WAIVER-EXPIRED", as_of)) == expired


def test_an_expired_waiver_waives_nothing(repo: Repo) -> None:
    waive(repo, "2026-03-30")
    repo.write(
        "runbooks/RB-0003-orders-db-pool.md",
        "---\nid: RB-0003\ntitle: Orders database pool\nservices: [orders-db]\n"
        'owner: lena.fischer@example.com\nlast_reviewed: "2025-01-01"\n---\n## Symptoms\nSlow.\n',
        dedent=False,
    )
    ledger = load_ledger(repo.root)
    found = run_audit(
        ledger, AuditOptions(as_of=parse_timestamp("2026-03-31T12:00:00Z"), select=("RB-STALE",))
    )
    assert [(f.rule, f.waived) for f in found] == [("RB-STALE", False)]
    found = run_audit(
        ledger, AuditOptions(as_of=parse_timestamp("2026-03-29T12:00:00Z"), select=("RB-STALE",))
    )
    assert [(f.rule, f.waived) for f in found] == [("RB-STALE", True)]
