"""GIT-* rules on hand-made history indexes: a failing, a passing and a boundary case each,
with exact positions, plus the bad input history brings (unreadable versions, renames,
deletions, dates out of order, identities differing in case or spaces).
"""

from __future__ import annotations

import dataclasses
import itertools
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from opsledger.audit import AuditOptions, run_audit
from opsledger.history.derive import first_done, status_since
from opsledger.history.index import build_history
from opsledger.history.model import Commit, HistoryIndex, Identity, RecordHistory, Version
from opsledger.loading import load_text
from opsledger.model.ledger import load_ledger
from opsledger.rules import RULES
from opsledger.timeutil import parse_timestamp

from conftest import INCIDENT, RUNBOOK, Hit, Repo, git, git_init

LENA = Identity("Lena Fischer", "lena.fischer@example.com")
PRIYA = Identity("Priya Shah", "priya.shah@example.com")
TOM = Identity("Tom Becker", "tom.becker@example.com")
AS_OF = "2026-06-30T12:00:00Z"

CHG_PATH = "records/changes/CHG-2026-0107.yaml"
CHG = """\
id: CHG-2026-0107
title: Raise the orders-db connection pool to 120
type: normal
risk: low
status: approved
services: [orders-db]
requested_by: lena.fischer@example.com
implementer: marco.rossi@example.com
description: Raise max_connections on orders-db from 60 to 120 and the pool to match.
justification: The pool was exhausted in INC-2026-0042; peak usage is 55 of 60 connections.
impact: Connections drop for about 5 seconds while pgbouncer reloads; checkout retries.
window:
  start: 2026-03-10T21:00:00Z
  end: 2026-03-10T23:00:00Z
rollback:
  plan: Set max_connections back to 60 with the pool-size playbook and reload pgbouncer.
  trigger: Checkout error rate above 1% or replication lag above 30 seconds.
  tested: true
  estimated_duration: 15m
approvals: []
"""
APPROVAL = """\
approvals:
  - by: {by}
    role: cab
    at: {at}
    decision: approved
"""
INC_PATH = "records/incidents/INC-2026-0001.yaml"
PIR_PATH = "records/pirs/PIR-2026-0001.md"
PIR = """\
---
id: PIR-2026-0001
incident: INC-2026-0001
status: in-review
authors: [lena.fischer@example.com]
root_cause: A deploy halved the orders-db connection pool size.
actions:
  - id: A1
    title: Alert on orders-db pool usage above 80%
    type: detective
    owner: lena.fischer@example.com
    due: "2026-04-30"
    status: open
    verification: The alert fires in the staging load test at 85% pool usage.
---
## Summary
Checkout failed.
"""
RB_PATH = "runbooks/RB-0003-orders-db-pool.md"

_shas = (f"{n:07x}".ljust(40, "0") for n in itertools.count(0xA1B2C30))


def data(text: str) -> dict[str, Any]:
    doc = load_text(text, markdown=text.startswith("---"))
    assert isinstance(doc.data, dict)
    return doc.data


def commit(
    when: str,
    who: Identity = LENA,
    *,
    landed: str | None = None,
    signed: bool = False,
    committer: Identity | None = None,
) -> Commit:
    sha = next(_shas)
    moment = parse_timestamp(when)
    return Commit(
        sha=sha,
        author=who,
        authored_at=moment,
        committer=committer or who,
        committed_at=moment,
        landed_sha=sha if landed is None else "f" * 40,
        landed_at=parse_timestamp(landed or when),
        signed=signed,
    )


def version(
    text: str | None,
    when: str,
    who: Identity = LENA,
    *,
    path: str = CHG_PATH,
    error: str | None = None,
    **kw: Any,
) -> Version:
    """A version with the fields of ``text`` (None: a deletion; with ``error``: unreadable)."""
    c = commit(when, who, **kw)
    if text is None:
        return Version(c, path, None, None)
    if error is not None:
        return Version(c, path, "b" + c.sha[1:], None, error)
    return Version(c, path, "b" + c.sha[1:], data(text))


def audit(
    repo: Repo, rule: str, *histories: tuple[str, list[Version]], since: date | None = None
) -> list[Hit]:
    index = HistoryIndex(head="f" * 40, since=since)
    for record_id, versions in histories:
        index.records[record_id] = RecordHistory(record_id, versions)
    options = AuditOptions(as_of=parse_timestamp(AS_OF), select=(rule,), history=index)
    return [
        Hit(f.path, f.line, f.column, f.rule, f.severity, f.message)
        for f in run_audit(load_ledger(repo.root), options)
    ]


def line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


def approved(by: str = "priya.shah@example.com", at: str = "2026-03-09T10:00:00Z") -> str:
    return CHG.replace("approvals: []\n", APPROVAL.format(by=by, at=at))


# ------------------------------------------------------------------ every rule


@pytest.mark.parametrize("rule", [r for r in RULES if r.id.startswith("GIT-")], ids=str)
def test_without_history_index_history_rules_find_nothing(repo: Repo, rule: Any) -> None:
    repo.write(CHG_PATH, approved(), dedent=False)
    ledger = load_ledger(repo.root)
    assert run_audit(ledger, AuditOptions(as_of=parse_timestamp(AS_OF), select=(rule.id,))) == []


def test_imported_records_are_skipped_by_every_history_rule(repo: Repo) -> None:
    repo.write(CHG_PATH, approved(), dedent=False)
    forged = [
        version(CHG, "2026-03-01T09:00:00Z"),
        version(approved(), "2026-03-12T09:00:00Z"),  # by Lena: forged and backdated
    ]
    assert audit(repo, "GIT", ("CHG-2026-0107", forged), since=date(2026, 3, 2)) == []
    assert {h.rule for h in audit(repo, "GIT", ("CHG-2026-0107", forged))} == {
        "GIT-PROVENANCE",
        "GIT-BACKDATED",
    }


# ------------------------------------------------------------------ GIT-PROVENANCE


def test_provenance_approval_added_by_someone_else(repo: Repo) -> None:
    text = approved()
    repo.write(CHG_PATH, text, dedent=False)
    history = [
        version(CHG, "2026-03-01T09:00:00Z"),
        version(text, "2026-03-09T10:05:00Z", Identity("LENA fischer", "Lena.Fischer@Example.com")),
    ]
    hits = audit(repo, "GIT-PROVENANCE", ("CHG-2026-0107", history))
    assert [(h.path, h.line, h.column) for h in hits] == [(CHG_PATH, line_of(text, "  - by:"), 9)]
    assert hits[0].message == (
        "approval by priya.shah@example.com (cab, approved) was added by commit "
        f"{history[1].commit.sha[:7]} by LENA fischer <Lena.Fischer@Example.com>, landed "
        "2026-03-09T10:05:00Z, not by priya.shah@example.com"
    )


def test_provenance_identity_compared_without_case_and_spaces(repo: Repo) -> None:
    text = approved(by='" Priya.Shah@Example.COM "')
    repo.write(CHG_PATH, text, dedent=False)
    history = [
        version(CHG, "2026-03-01T09:00:00Z"),
        version(text, "2026-03-09T10:05:00Z", Identity("P. Shah", "PRIYA.SHAH@example.com ")),
    ]
    assert audit(repo, "GIT-PROVENANCE", ("CHG-2026-0107", history)) == []


def test_provenance_signed_commit_by_the_approver_counts(repo: Repo) -> None:
    text = approved()
    repo.write(CHG_PATH, text, dedent=False)

    def history(signed: bool) -> list[Version]:
        return [
            version(CHG, "2026-03-01T09:00:00Z"),
            version(text, "2026-03-09T10:05:00Z", TOM, committer=PRIYA, signed=signed),
        ]

    assert audit(repo, "GIT-PROVENANCE", ("CHG-2026-0107", history(True))) == []
    assert len(audit(repo, "GIT-PROVENANCE", ("CHG-2026-0107", history(False)))) == 1


def test_provenance_edited_decision_is_judged_by_who_edited_it(repo: Repo) -> None:
    rejected = approved().replace("decision: approved", "decision: rejected")
    repo.write(CHG_PATH, approved(), dedent=False)
    history = [
        version(CHG, "2026-03-01T09:00:00Z"),
        version(rejected, "2026-03-09T10:05:00Z", PRIYA),
        version(approved(), "2026-03-09T11:00:00Z", LENA),  # the requester flips it
    ]
    hits = audit(repo, "GIT-PROVENANCE", ("CHG-2026-0107", history))
    assert len(hits) == 1 and "Lena Fischer <lena.fischer@example.com>" in hits[0].message


def test_provenance_tolerates_unreadable_versions(repo: Repo) -> None:
    text = approved()
    repo.write(CHG_PATH, text, dedent=False)
    broken = "YAML syntax error at 3:1"

    def history(who: Identity) -> list[Version]:
        return [
            version(CHG, "2026-03-01T09:00:00Z"),
            version("", "2026-03-09T10:05:00Z", who, error=broken),  # adds it, breaks YAML
            version(text, "2026-03-09T10:30:00Z", TOM),  # fixes the syntax
        ]

    assert audit(repo, "GIT-PROVENANCE", ("CHG-2026-0107", history(PRIYA))) == []
    hits = audit(repo, "GIT-PROVENANCE", ("CHG-2026-0107", history(LENA)))
    assert len(hits) == 1 and "(after unreadable versions)" in hits[0].message


def test_provenance_pir_review(repo: Repo) -> None:
    text = PIR.replace(
        "root_cause:",
        "reviewers:\n  - by: priya.shah@example.com\n    at: 2026-03-09T15:00:00Z\n"
        "    decision: approved\nroot_cause:",
    )
    repo.write(PIR_PATH, text, dedent=False)
    for who, expected in ((PRIYA, 0), (LENA, 1)):
        history = [
            version(PIR, "2026-03-08T09:00:00Z", path=PIR_PATH),
            version(text, "2026-03-09T15:10:00Z", who, path=PIR_PATH),
        ]
        hits = audit(repo, "GIT-PROVENANCE", ("PIR-2026-0001", history))
        assert len(hits) == expected
    assert hits[0].message.startswith("review by priya.shah@example.com (approved) was added")
    assert (hits[0].path, hits[0].line) == (PIR_PATH, line_of(text, "  - by:"))


# ------------------------------------------------------------------ GIT-AFTER-CLOSE

CLOSED = INCIDENT.replace("status: open", "status: closed") + (
    "acknowledged_at: 2026-03-04T09:20:00Z\n"
    "mitigated_at: 2026-03-04T10:00:00Z\n"
    "resolved_at: 2026-03-04T11:00:00Z\n"
    "closed_at: 2026-03-05T09:00:00Z\n"
    "resolution: Rolled back the deploy that halved the pool; pool size restored to 60.\n"
)
SOFTER = CLOSED.replace("about a fifth of", "a few")
NOTICE = (
    "notifications:\n  - at: {at}\n    kind: {kind}\n    audience: [customer-support]\n"
    '    channel: "slack:#incidents"\n    summary: Checkout is working again.\n'
)


def closed_then(text: str, when: str = "2026-03-09T08:00:00Z", **kw: Any) -> list[Version]:
    return [
        version(INCIDENT, "2026-03-04T09:30:00Z", path=INC_PATH),
        version(CLOSED, "2026-03-05T09:05:00Z", path=INC_PATH),
        version(text, when, TOM, path=INC_PATH, **kw),
    ]


def test_after_close_names_fields_commit_author_and_times(repo: Repo) -> None:
    repo.write(INC_PATH, SOFTER, dedent=False)
    history = closed_then(SOFTER)
    hits = audit(repo, "GIT-AFTER-CLOSE", ("INC-2026-0001", history))
    assert [(h.path, h.line, h.column) for h in hits] == [(INC_PATH, line_of(SOFTER, "impact"), 9)]
    assert hits[0].message == (
        f"impact changed after the record was closed ({history[2].commit.sha[:7]} by Tom Becker "
        "<tom.becker@example.com>, landed 2026-03-09T08:00:00Z; closed by "
        f"{history[1].commit.sha[:7]} on 2026-03-05T09:05:00Z)"
    )


def test_after_close_edits_landing_with_the_closure_are_one_change(repo: Repo) -> None:
    repo.write(INC_PATH, SOFTER, dedent=False)
    history = closed_then(SOFTER, "2026-03-05T09:00:00Z")
    merged = [
        history[0],
        Version(
            Commit(**{**vars(history[1].commit), "landed_sha": "e" * 40}),
            INC_PATH,
            "b1",
            history[1].data,
        ),
        Version(
            Commit(**{**vars(history[2].commit), "landed_sha": "e" * 40}),
            INC_PATH,
            "b2",
            history[2].data,
        ),
    ]
    assert audit(repo, "GIT-AFTER-CLOSE", ("INC-2026-0001", merged)) == []


def test_after_close_proper_reopen_is_not_an_edit(repo: Repo) -> None:
    reopened = (
        CLOSED.replace("status: closed", "status: mitigated")
        .replace("closed_at: 2026-03-05T09:00:00Z\n", "")
        .replace("resolved_at: 2026-03-04T11:00:00Z\n", "")
        .replace(
            "resolution: Rolled back the deploy that halved the pool; pool size restored to 60.\n",
            "",
        )
        + "reopened:\n  - at: 2026-03-06T10:00:00Z\n"
        + "    reason: Errors returned at the morning peak.\n"
    )
    repo.write(INC_PATH, reopened, dedent=False)
    history = closed_then(reopened)
    assert audit(repo, "GIT-AFTER-CLOSE", ("INC-2026-0001", history)) == []
    unrecorded = reopened[: reopened.index("reopened:")]
    repo.write(INC_PATH, unrecorded, dedent=False)
    hits = audit(repo, "GIT-AFTER-CLOSE", ("INC-2026-0001", closed_then(unrecorded)))
    assert len(hits) == 1
    assert hits[0].message.startswith("closed_at, resolution, resolved_at, status changed after")


def test_after_close_a_reopen_excuses_only_itself(repo: Repo) -> None:
    """A reopen is the status, the new reopened entry and what the states it leaves held,
    cleared: any other field the same commit changes is an edit after closure, and
    rewriting an earlier reopen entry is no reopen at all."""
    entry = "reopened:\n  - at: 2026-03-06T10:00:00Z\n    reason: Errors returned at peak.\n"
    reopen = (
        CLOSED.replace("status: closed", "status: resolved").replace(
            "closed_at: 2026-03-05T09:00:00Z\n", ""
        )
        + entry
    )
    sneaky = reopen.replace("priority: P3", "priority: P4").replace("about a fifth of", "a few")
    repo.write(INC_PATH, sneaky, dedent=False)
    hits = audit(repo, "GIT-AFTER-CLOSE", ("INC-2026-0001", closed_then(sneaky)))
    assert [h.message.split(" changed after")[0] for h in hits] == ["impact, priority"]
    moved = reopen.replace("resolved_at: 2026-03-04T11:00:00Z", "resolved_at: 2026-03-04T10:30:00Z")
    repo.write(INC_PATH, moved, dedent=False)
    hits = audit(repo, "GIT-AFTER-CLOSE", ("INC-2026-0001", closed_then(moved)))
    assert [h.message.split(" changed after")[0] for h in hits] == ["resolved_at"]
    # a reopen that also adds a timeline entry and a notice: the reopen itself
    noted = (
        reopen
        + "timeline:\n  - {at: 2026-03-06T10:00:00Z, event: Errors returned at peak.}\n"
        + NOTICE.format(at="2026-03-06T10:05:00Z", kind="update")
    )
    repo.write(INC_PATH, noted, dedent=False)
    assert audit(repo, "GIT-AFTER-CLOSE", ("INC-2026-0001", closed_then(noted))) == []
    # entries dated before the closing, added by the reopen: backfilling (a notice "sent"
    # a minute after detection answers INC-NOTIFY), never part of the reopen
    backfilled = (
        reopen
        + "timeline:\n  - {at: 2026-03-04T09:20:00Z, event: Paged the on-call.}\n"
        + NOTICE.format(at="2026-03-04T09:13:00Z", kind="initial")
    )
    repo.write(INC_PATH, backfilled, dedent=False)
    hits = audit(repo, "GIT-AFTER-CLOSE", ("INC-2026-0001", closed_then(backfilled)))
    assert len(hits) == 1
    assert hits[0].message.startswith("notifications.0.at, notifications.0.audience, ")
    assert "notifications.0.kind and 3 more changed after" in hits[0].message  # + timeline
    # a closed incident that was reopened before: rewriting that entry while adding one
    twice = CLOSED + entry
    again = (
        twice.replace("status: closed", "status: resolved")
        .replace("closed_at: 2026-03-05T09:00:00Z\n", "")
        .replace("Errors returned at peak.", "Nothing happened.")
        + "  - at: 2026-03-10T10:00:00Z\n    reason: Errors again.\n"
    )
    history = [
        version(INCIDENT, "2026-03-04T09:30:00Z", path=INC_PATH),
        version(twice, "2026-03-07T09:05:00Z", path=INC_PATH),
        version(again, "2026-03-10T10:05:00Z", TOM, path=INC_PATH),
    ]
    repo.write(INC_PATH, again, dedent=False)
    hits = audit(repo, "GIT-AFTER-CLOSE", ("INC-2026-0001", history))
    assert len(hits) == 1 and hits[0].message.startswith("closed_at, reopened.0.reason, ")


def test_after_close_a_landing_that_reopens_and_closes_again_is_judged_whole(
    repo: Repo,
) -> None:
    """Commits landing together count as one: a pull request that reopens a closed
    incident, edits it and closes it again has changed a closed record unless its reopen
    entry lands with it; a reopen entry that landed is never dropped later."""
    entry = "reopened:\n  - at: 2026-03-10T09:00:00Z\n    reason: Errors returned at peak.\n"
    reopen = (
        CLOSED.replace("status: closed", "status: resolved").replace(
            "closed_at: 2026-03-05T09:00:00Z\n", ""
        )
        + entry
    )
    softened = reopen.replace("about a fifth of", "a few")
    merged = "2026-03-10T10:00:00Z"

    def landing(final: str) -> list[Version]:
        return [
            version(INCIDENT, "2026-03-04T09:30:00Z", path=INC_PATH),
            version(CLOSED, "2026-03-05T09:05:00Z", path=INC_PATH),
            version(reopen, "2026-03-10T09:05:00Z", TOM, path=INC_PATH, landed=merged),
            version(softened, "2026-03-10T09:10:00Z", TOM, path=INC_PATH, landed=merged),
            version(final, "2026-03-10T09:15:00Z", TOM, path=INC_PATH, landed=merged),
        ]

    repo.write(INC_PATH, SOFTER, dedent=False)  # closed again, the reopen entry dropped
    hits = audit(repo, "GIT-AFTER-CLOSE", ("INC-2026-0001", landing(SOFTER)))
    assert [h.message.split(" changed after")[0] for h in hits] == ["impact"]
    assert "landed 2026-03-10T10:00:00Z; closed by" in hits[0].message
    repo.write(INC_PATH, SOFTER + entry, dedent=False)  # the reopen stays recorded
    assert audit(repo, "GIT-AFTER-CLOSE", ("INC-2026-0001", landing(SOFTER + entry))) == []
    # a reopen that landed on its own, its entry dropped by the landing that closes again
    history = [
        version(INCIDENT, "2026-03-04T09:30:00Z", path=INC_PATH),
        version(CLOSED, "2026-03-05T09:05:00Z", path=INC_PATH),
        version(reopen, "2026-03-10T09:05:00Z", TOM, path=INC_PATH),
        version(SOFTER, "2026-03-12T09:05:00Z", TOM, path=INC_PATH),
    ]
    repo.write(INC_PATH, SOFTER, dedent=False)
    hits = audit(repo, "GIT-AFTER-CLOSE", ("INC-2026-0001", history))
    assert [h.message.split(" changed after")[0] for h in hits] == ["reopened"]


def test_after_close_reopen_landings_reported_once_squashed_and_odd(repo: Repo) -> None:
    """A dropped reopen entry is one finding (not one per later change); a reopen and a
    closing squashed into one commit, its entry recorded, is no edit; a ``reopened`` that
    is no list is an edit, never a crash."""
    entry = "reopened:\n  - at: 2026-03-10T09:00:00Z\n    reason: Errors returned at peak.\n"
    reopen = (
        CLOSED.replace("status: closed", "status: resolved").replace(
            "closed_at: 2026-03-05T09:00:00Z\n", ""
        )
        + entry
    )
    dropped = reopen.replace(entry, "")
    history = [
        version(INCIDENT, "2026-03-04T09:30:00Z", path=INC_PATH),
        version(CLOSED, "2026-03-05T09:05:00Z", path=INC_PATH),
        version(reopen, "2026-03-10T09:05:00Z", TOM, path=INC_PATH),
        version(dropped, "2026-03-11T09:05:00Z", path=INC_PATH),
        version(
            dropped.replace("about a fifth of", "a few"), "2026-03-12T09:05:00Z", path=INC_PATH
        ),
        version(
            dropped.replace("about a fifth of", "some"), "2026-03-13T09:05:00Z", TOM, path=INC_PATH
        ),
    ]
    repo.write(INC_PATH, dropped.replace("about a fifth of", "some"), dedent=False)
    hits = audit(repo, "GIT-AFTER-CLOSE", ("INC-2026-0001", history))
    assert [h.message.split(" changed after")[0] for h in hits] == ["reopened"]
    assert history[3].commit.sha[:7] in hits[0].message
    squashed = SOFTER.replace("closed_at: 2026-03-05T09:00:00Z", "closed_at: 2026-03-10T12:00:00Z")
    squashed += entry
    repo.write(INC_PATH, squashed, dedent=False)
    assert audit(repo, "GIT-AFTER-CLOSE", ("INC-2026-0001", closed_then(squashed))) == []
    odd = [
        version(INCIDENT, "2026-03-04T09:30:00Z", path=INC_PATH),
        version(CLOSED + "reopened: 5\n", "2026-03-05T09:05:00Z", path=INC_PATH),
        version(reopen, "2026-03-10T09:05:00Z", TOM, path=INC_PATH),
    ]
    repo.write(INC_PATH, reopen, dedent=False)
    hits = audit(repo, "GIT-AFTER-CLOSE", ("INC-2026-0001", odd))
    assert hits and hits[0].message.startswith("closed_at, reopened")


def test_an_entry_taken_out_and_put_back_in_one_landing_counts_from_its_first_commit(
    repo: Repo,
) -> None:
    """Priya adds her approval, Lena takes it out and puts it back, in one pull request:
    the landing's end holds it, its first holder in that landing added it. The same
    versions judged one commit at a time (the pull request's gate, a fast-forward) give
    the same answer."""
    text = approved(at="2026-03-05T09:00:00Z")
    repo.write(CHG_PATH, text, dedent=False)
    for landed in ("2026-03-05T09:30:00Z", None):
        history = [
            version(CHG, "2026-03-01T09:00:00Z"),
            version(text, "2026-03-05T09:05:00Z", PRIYA, landed=landed),
            version(CHG, "2026-03-05T09:10:00Z", LENA, landed=landed),
            version(text, "2026-03-05T09:15:00Z", LENA, landed=landed),
        ]
        assert audit(repo, "GIT-PROVENANCE", ("CHG-2026-0107", history)) == [], landed


def test_after_close_late_resolution_notice_is_allowed_backfill_is_not(repo: Repo) -> None:
    late = CLOSED + NOTICE.format(at="2026-03-06T09:00:00Z", kind="resolution")
    repo.write(INC_PATH, late, dedent=False)
    assert audit(repo, "GIT-AFTER-CLOSE", ("INC-2026-0001", closed_then(late))) == []
    backfill = CLOSED + NOTICE.format(at="2026-03-04T09:40:00Z", kind="initial")
    repo.write(INC_PATH, backfill, dedent=False)
    hits = audit(repo, "GIT-AFTER-CLOSE", ("INC-2026-0001", closed_then(backfill)))
    assert len(hits) == 1 and hits[0].message.startswith("notifications.0.at, notifications.0")
    assert (hits[0].line, hits[0].column) == (line_of(backfill, "  - at:"), 3)


def test_after_close_pir_action_progress_is_allowed(repo: Repo) -> None:
    approved_pir = PIR.replace("status: in-review", "status: approved")
    done = approved_pir.replace("status: open", "status: done\n    tracker: OPS-1234")
    retitled = approved_pir.replace("above 80%", "above 90%")
    for text, expected in ((done, []), (retitled, ["actions"])):
        repo.write(PIR_PATH, text, dedent=False)
        history = [
            version(PIR, "2026-03-08T09:00:00Z", path=PIR_PATH),
            version(approved_pir, "2026-03-09T15:00:00Z", PRIYA, path=PIR_PATH),
            version(text, "2026-04-20T09:00:00Z", path=PIR_PATH),
        ]
        hits = audit(repo, "GIT-AFTER-CLOSE", ("PIR-2026-0001", history))
        assert [h.message.split(" ")[0] for h in hits] == [f"{e}.A1.title" for e in expected]
    assert "changed after the record was approved" in hits[0].message


def test_after_close_pir_body_compared_when_the_index_records_it(repo: Repo) -> None:
    approved_pir = PIR.replace("status: in-review", "status: approved")
    repo.write(PIR_PATH, approved_pir, dedent=False)
    history = [
        version(PIR, "2026-03-08T09:00:00Z", path=PIR_PATH),
        version(approved_pir, "2026-03-09T15:00:00Z", PRIYA, path=PIR_PATH),
        version(approved_pir, "2026-04-20T09:00:00Z", path=PIR_PATH),
    ]
    bodies: list[Version] = [
        dataclasses.replace(v, body=b) for v, b in zip(history, ["a", "a", "b"], strict=True)
    ]
    hits = audit(repo, "GIT-AFTER-CLOSE", ("PIR-2026-0001", bodies))
    assert [h.message.split(" ")[0] for h in hits] == ["body"]
    assert audit(repo, "GIT-AFTER-CLOSE", ("PIR-2026-0001", history)) == []


def test_after_close_unreadable_version_and_closed_change(repo: Repo) -> None:
    repo.write(INC_PATH, CLOSED, dedent=False)
    history = closed_then("", error="YAML syntax error at 2:1")
    history.append(version(CLOSED, "2026-03-09T09:00:00Z", TOM, path=INC_PATH))  # restored
    hits = audit(repo, "GIT-AFTER-CLOSE", ("INC-2026-0001", history))
    assert [h.message.split(" changed")[0] for h in hits] == ["(unreadable)"]
    closed = approved().replace("status: approved", "status: closed")
    repo.write(CHG_PATH, closed.replace("low", "medium", 1), dedent=False)
    changes = [
        version(closed, "2026-03-11T09:00:00Z", PRIYA),
        version(closed.replace("risk: low", "risk: medium"), "2026-03-12T09:00:00Z", LENA),
    ]
    hits = audit(repo, "GIT-AFTER-CLOSE", ("CHG-2026-0107", changes))
    assert [h.message.split(" ")[0] for h in hits] == ["risk"]


def test_after_close_rename_is_no_change(repo: Repo) -> None:
    repo.write(INC_PATH, CLOSED, dedent=False)
    history = closed_then(CLOSED)
    history[2] = version(CLOSED, "2026-03-09T08:00:00Z", TOM, path="records/incidents/x.yaml")
    assert audit(repo, "GIT-AFTER-CLOSE", ("INC-2026-0001", history)) == []


# ------------------------------------------------------------------ GIT-BACKDATED


@pytest.mark.parametrize(
    ("landed", "found"),
    [("2026-03-09T11:00:00Z", False), ("2026-03-09T11:00:01Z", True)],  # tolerance 1h
)
def test_backdated_approval_against_the_landing_time(repo: Repo, landed: str, found: bool) -> None:
    text = approved()
    repo.write(CHG_PATH, text, dedent=False)
    history = [
        version(CHG, "2026-03-01T09:00:00Z"),
        version(text, "2026-03-09T10:01:00Z", PRIYA, landed=landed),  # a merged pull request
    ]
    hits = audit(repo, "GIT-BACKDATED", ("CHG-2026-0107", history))
    assert [(h.line, h.column) for h in hits] == ([(line_of(text, "    at:"), 9)] if found else [])
    if found:
        assert hits[0].message == (
            "approval by priya.shah@example.com claims 2026-03-09T10:00:00Z but commit "
            f"{history[1].commit.sha[:7]} by Priya Shah <priya.shah@example.com>, landed "
            "2026-03-09T11:00:01Z: 1h 00m later, over the 1h 00m tolerance"
        )


@pytest.mark.parametrize("rule", ["GIT-BACKDATED", "GIT-PROVENANCE"])
def test_an_approval_only_a_side_commit_held_counts_from_the_landing_that_kept_it(
    repo: Repo, rule: str
) -> None:
    """A pull request adds Priya's approval in one commit (by Priya, on time) and takes it
    out in the next: its merge never put it on the branch. Typed in by Lena weeks later,
    the approval is judged by that later commit, never by the hidden side commit."""
    text = approved(at="2026-03-05T09:00:00Z")
    repo.write(CHG_PATH, text, dedent=False)
    merge = "2026-03-05T09:30:00Z"
    history = [
        version(CHG, "2026-03-01T09:00:00Z"),
        version(text, "2026-03-05T09:05:00Z", PRIYA, landed=merge),  # side commit
        version(CHG, "2026-03-05T09:10:00Z", PRIYA, landed=merge),  # taken out again
        version(text, "2026-03-20T10:00:00Z", LENA),
    ]
    hits = audit(repo, rule, ("CHG-2026-0107", history))
    assert len(hits) == 1 and history[3].commit.sha[:7] in hits[0].message, hits
    # kept by the merge: the side commit that added it is the one judged
    kept = [*history[:2], version(text, "2026-03-05T09:10:00Z", PRIYA, landed=merge)]
    assert audit(repo, rule, ("CHG-2026-0107", kept)) == []


def test_a_status_or_action_only_a_side_commit_held_counts_from_the_landing_that_kept_it() -> None:
    """The same for a PIR's approval and an action done (the on-time obligations)."""
    approved_pir = {"status": "approved", "actions": [{"id": "A1", "status": "done"}]}
    draft = {"status": "draft", "actions": [{"id": "A1", "status": "open"}]}
    merge = "2026-03-06T09:30:00Z"
    side = Version(
        commit("2026-03-06T09:00:00Z", PRIYA, landed=merge), PIR_PATH, "b1", approved_pir
    )
    undone = Version(commit("2026-03-06T09:10:00Z", PRIYA, landed=merge), PIR_PATH, "b2", draft)
    late = Version(commit("2026-03-27T09:00:00Z", PRIYA), PIR_PATH, "b3", approved_pir)
    trail = RecordHistory("PIR-2026-0001", [side, undone, late])
    assert status_since(trail, "approved") is late
    assert first_done(trail) == {"A1": late}
    kept = RecordHistory("PIR-2026-0001", [side, late])
    assert status_since(kept, "approved") is side
    assert first_done(kept) == {"A1": side}


def test_backdated_commit_dates_out_of_order(repo: Repo) -> None:
    """A commit whose date was set back: flagged, and its approval measured from the
    previous version's landing."""
    text = approved(at="2026-03-05T10:00:00Z")
    repo.write(CHG_PATH, text, dedent=False)
    history = [
        version(CHG, "2026-03-01T09:00:00Z"),
        version(CHG.replace("risk: low", "risk: low "), "2026-03-09T09:00:00Z", TOM),
        version(text, "2026-03-05T10:05:00Z", PRIYA),  # landed "before" the previous one
    ]
    hits = audit(repo, "GIT-BACKDATED", ("CHG-2026-0107", history))
    assert [h.line for h in hits] == [1, line_of(text, "    at:")]
    assert hits[0].message.endswith(
        "landed 2026-03-05T10:05:00Z: 3d 22h before an earlier version of the record landed "
        "(2026-03-09T09:00:00Z); commit dates out of order"
    )
    assert "(its own date says 2026-03-05T10:05:00Z): 3d 23h later" in hits[1].message


def test_backdated_pir_review(repo: Repo) -> None:
    text = PIR.replace(
        "root_cause:",
        "reviewers:\n  - by: priya.shah@example.com\n    at: 2026-03-01T15:00:00Z\n"
        "    decision: approved\nroot_cause:",
    )
    repo.write(PIR_PATH, text, dedent=False)
    history = [version(text, "2026-03-09T15:10:00Z", PRIYA, path=PIR_PATH)]
    hits = audit(repo, "GIT-BACKDATED", ("PIR-2026-0001", history))
    assert [h.message.split(" claims")[0] for h in hits] == ["review by priya.shah@example.com"]


# ------------------------------------------------------------------ GIT-DELETED


def test_deleted_record_points_at_the_path_it_had(repo: Repo) -> None:
    old = "records/incidents/2026/INC-2026-0001.yaml"
    history = [
        version(INCIDENT, "2026-03-04T09:30:00Z", path=old),
        version(None, "2026-03-04T12:00:00Z", TOM, path=old),
    ]
    hits = audit(repo, "GIT-DELETED", ("INC-2026-0001", history))
    assert [(h.path, h.line, h.column, h.severity) for h in hits] == [(old, 1, 1, "error")]
    assert hits[0].message == (
        f"INC-2026-0001 was deleted by commit {history[1].commit.sha[:7]} by Tom Becker "
        "<tom.becker@example.com>, landed 2026-03-04T12:00:00Z"
    )
    assert audit(repo, "GIT-DELETED", ("INC-2026-0001", history), since=date(2026, 3, 5)) == []


def test_moved_record_is_not_deleted(repo: Repo) -> None:
    """Deleted at one path and added at another without rename detection: the ID lives on."""
    repo.write(INC_PATH, INCIDENT, dedent=False)
    old = "records/incidents/2026/INC-2026-0001.yaml"
    history = [
        version(INCIDENT, "2026-03-04T09:30:00Z", path=old),
        version(INCIDENT, "2026-03-05T09:00:00Z", path=INC_PATH),
        version(None, "2026-03-05T09:00:00Z", path=old),
    ]
    assert audit(repo, "GIT-DELETED", ("INC-2026-0001", history)) == []


# ------------------------------------------------------------------ GIT-LATE-RECORD


@pytest.mark.parametrize(
    ("first", "days"),
    [
        ("2026-03-06T23:59:00Z", None),  # Wednesday detection, Friday: 2 business days
        ("2026-03-07T10:00:00Z", None),  # Saturday is no business day
        ("2026-03-09T00:30:00Z", 3),  # Monday
    ],
)
def test_late_record_counts_business_days(repo: Repo, first: str, days: int | None) -> None:
    repo.write(INC_PATH, INCIDENT, dedent=False)  # detected Wednesday 2026-03-04T09:12:00Z
    history = [version(INCIDENT, first, path=INC_PATH)]
    hits = audit(repo, "GIT-LATE-RECORD", ("INC-2026-0001", history))
    if days is None:
        assert hits == []
        return
    assert [(h.line, h.column, h.severity) for h in hits] == [
        (line_of(INCIDENT, "detected_at"), 14, "warning")
    ]
    assert hits[0].message == (
        f"first committed {days} business days after detection (2026-03-04T09:12:00Z): commit "
        f"{history[0].commit.sha[:7]} by Lena Fischer <lena.fischer@example.com>, landed "
        f"{first}; policy allows 2"
    )


def test_late_record_uses_detection_as_first_stated(repo: Repo) -> None:
    moved = INCIDENT.replace("2026-03-04T09:12:00Z", "2026-03-08T09:12:00Z")
    repo.write(INC_PATH, moved, dedent=False)
    history = [
        version("", "2026-03-10T09:00:00Z", path=INC_PATH, error="YAML syntax error at 1:1"),
        version(INCIDENT, "2026-03-10T09:05:00Z", path=INC_PATH),
        version(moved, "2026-03-10T10:00:00Z", path=INC_PATH),  # detection moved later
    ]
    hits = audit(repo, "GIT-LATE-RECORD", ("INC-2026-0001", history))
    assert len(hits) == 1 and "(2026-03-04T09:12:00Z)" in hits[0].message
    assert f"commit {history[0].commit.sha[:7]}" in hits[0].message  # the first, unreadable one


# ------------------------------------------------------------------ GIT-DOWNGRADE


@pytest.mark.parametrize(
    ("priorities", "lost"),
    [
        (["P2", "P3"], "PIR and notification"),
        (["P1", "P2"], None),  # both need a PIR and notifications
        (["P3", "P4"], None),
        (["P2", "P3", "P2"], None),  # put back
        (["P4", "P1", "P4"], "PIR and notification"),
    ],
)
def test_downgrade_removing_obligations(
    repo: Repo, priorities: list[str], lost: str | None
) -> None:
    texts = [INCIDENT.replace("priority: P3", f"priority: {p}") for p in priorities]
    repo.write(INC_PATH, texts[-1], dedent=False)
    history = [
        version(text, f"2026-03-04T{10 + i:02d}:00:00Z", path=INC_PATH)
        for i, text in enumerate(texts)
    ]
    hits = audit(repo, "GIT-DOWNGRADE", ("INC-2026-0001", history))
    if lost is None:
        assert hits == []
        return
    old, new = priorities[-2:]
    assert [(h.line, h.column) for h in hits] == [(3, 11)]
    assert hits[0].message == (
        f"priority lowered from {old} to {new} by commit {history[-1].commit.sha[:7]} by Lena "
        f"Fischer <lena.fischer@example.com>, landed {history[-1].landed_at:%Y-%m-%dT%H:%M:%SZ}, "
        f"removing the {lost} requirement"
    )


FILED = """\
regulatory:
  - regime: dora
    decision: reportable
    decided_at: 2026-03-04T10:00:00Z
    submissions:
      - {stage: initial, at: 2026-03-04T11:00:00Z, reference: NCA-1}
"""


def test_downgrade_out_of_a_regime_and_reports_withdrawn(repo: Repo) -> None:
    """Lowering a P2 out of DORA's scope, turning a reportable decision into
    not-reportable, or deleting a submission already recorded removes a duty owed to an
    authority; the current version restoring it clears the finding."""
    from test_rules_regulatory import activate

    activate(repo, only=("dora",))  # the preset: DORA applies to P1 and P2
    p2 = INCIDENT.replace("priority: P3", "priority: P2")
    reportable = p2 + FILED
    flipped = p2 + FILED.replace("decision: reportable", "decision: not-reportable").replace(
        "    submissions:\n      - {stage: initial, at: 2026-03-04T11:00:00Z, reference: NCA-1}\n",
        "    reason: Only the internal wiki was down; no client service was affected.\n",
    )

    def hits(*texts: str) -> list[str]:
        repo.write(INC_PATH, texts[-1], dedent=False)
        history = [
            version(text, f"2026-03-0{4 + i}T12:00:00Z", path=INC_PATH)
            for i, text in enumerate(texts)
        ]
        return [h.message for h in audit(repo, "GIT-DOWNGRADE", ("INC-2026-0001", history))]

    lowered = hits(reportable, INCIDENT)  # P3, entry gone
    assert any("removing the DORA notification" in m for m in lowered)
    assert any("the dora decision changed from reportable to nothing" in m for m in lowered)
    withdrawn = hits(reportable, flipped)
    assert len(withdrawn) == 1
    assert "the dora decision changed from reportable to not-reportable by commit" in withdrawn[0]
    assert hits(reportable, flipped, reportable) == []  # restored: nothing removed now
    assert hits(p2, reportable) == []  # filing a report is no downgrade


# ------------------------------------------------------------------ GIT-RUBBER-STAMP

REVIEWED = RUNBOOK.replace("2026-03-01", "{day}")


def reviews(*steps: tuple[str, str]) -> list[Version]:
    """Runbook versions (last_reviewed, body) with their bodies recorded."""
    return [
        dataclasses.replace(
            version(REVIEWED.format(day=day), f"{day}T10:00:00Z", path=RB_PATH), body=b
        )
        for day, b in steps
    ]


@pytest.mark.parametrize(
    ("steps", "run"),
    [
        ([("2026-01-05", "a"), ("2026-02-05", "a"), ("2026-03-05", "a")], 2),
        ([("2026-01-05", "a"), ("2026-02-05", "a"), ("2026-03-05", "b")], None),
        (
            [("2026-01-05", "a"), ("2026-02-05", "a"), ("2026-03-05", "b"), ("2026-04-05", "b")],
            None,
        ),
        ([("2026-01-05", "a"), ("2026-02-05", "b"), ("2026-03-05", "b"), ("2026-04-05", "b")], 2),
    ],
)
def test_rubber_stamp_trailing_run(
    repo: Repo, steps: list[tuple[str, str]], run: int | None
) -> None:
    final = REVIEWED.format(day=steps[-1][0])
    repo.write(RB_PATH, final, dedent=False)
    hits = audit(repo, "GIT-RUBBER-STAMP", ("RB-0003", reviews(*steps)))
    if run is None:
        assert hits == []
        return
    assert [(h.line, h.column, h.severity) for h in hits] == [
        (line_of(final, "last_reviewed"), 16, "warning")
    ]
    assert hits[0].message.startswith(f"the last {run} reviews only changed last_reviewed")
    assert hits[0].message.endswith("policy flags 2 in a row")


def test_rubber_stamp_needs_the_body_and_ignores_renames(repo: Repo) -> None:
    repo.write(RB_PATH, REVIEWED.format(day="2026-03-05"), dedent=False)
    stamps = reviews(("2026-01-05", "a"), ("2026-02-05", "a"), ("2026-03-05", "a"))
    moved = dataclasses.replace(stamps[2], path="runbooks/RB-0003-pool.md")
    assert len(audit(repo, "GIT-RUBBER-STAMP", ("RB-0003", [*stamps, moved]))) == 1
    unknown = [Version(v.commit, v.path, v.blob, v.data) for v in stamps]
    assert audit(repo, "GIT-RUBBER-STAMP", ("RB-0003", unknown)) == []


# ------------------------------------------------------------------ on real git repositories

GIT_LENA = "Lena Fischer <lena.fischer@example.com>"
GIT_PRIYA = "Priya Shah <priya.shah@example.com>"
GIT_TOM = "Tom Becker <tom.becker@example.com>"


def commit_all(root: Path, message: str, when: str, who: str = GIT_LENA, **dates: str) -> str:
    """Commit everything; ``committed=`` gives the committer a date of its own."""
    import os
    import subprocess

    git(root, "add", "-A", date=when, who=who)
    name, _, email = who.partition(" <")
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": name,
        "GIT_AUTHOR_EMAIL": email.rstrip(">"),
        "GIT_COMMITTER_NAME": name,
        "GIT_COMMITTER_EMAIL": email.rstrip(">"),
        "GIT_AUTHOR_DATE": when,
        "GIT_COMMITTER_DATE": dates.get("committed", when),
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    subprocess.run(["git", "commit", "-q", "-m", message], cwd=root, env=env, check=True)
    return git(root, "rev-parse", "HEAD").strip()


def git_findings(root: Path, rule: str = "GIT") -> list[Hit]:
    ledger = load_ledger(root)
    index = build_history(root, since=ledger.policy.history_since, limits=ledger.policy.limits)
    options = AuditOptions(as_of=parse_timestamp(AS_OF), select=(rule,), history=index)
    return [
        Hit(f.path, f.line, f.column, f.rule, f.severity, f.message)
        for f in run_audit(ledger, options)
    ]


@pytest.fixture
def gitrepo(repo: Repo) -> Repo:
    git_init(repo.root)
    commit_all(repo.root, "scaffold", "2026-03-01T08:00:00Z")
    return repo


def test_git_closure_and_edits_merged_together_are_one_change(gitrepo: Repo) -> None:
    root = gitrepo.root
    gitrepo.write(INC_PATH, INCIDENT, dedent=False)
    commit_all(root, "INC-2026-0001 opened", "2026-03-04T09:30:00Z")
    git(root, "checkout", "-q", "-b", "close")
    gitrepo.write(INC_PATH, CLOSED, dedent=False)
    commit_all(root, "close", "2026-03-05T09:05:00Z")
    gitrepo.write(INC_PATH, SOFTER, dedent=False)
    commit_all(root, "wording", "2026-03-05T09:10:00Z", GIT_TOM)
    git(root, "checkout", "-q", "main")
    git(root, "merge", "-q", "--no-ff", "-m", "Merge close", "close", date="2026-03-05T12:00:00Z")
    assert git_findings(root, "GIT-AFTER-CLOSE") == []
    gitrepo.write(INC_PATH, SOFTER.replace("Checkout requests", "Some checkout requests"))
    sha = commit_all(root, "softer still", "2026-03-09T08:00:00Z", GIT_TOM)
    merge = git(root, "rev-parse", "HEAD~1").strip()
    hits = git_findings(root, "GIT-AFTER-CLOSE")
    assert [(h.path, h.line, h.column) for h in hits] == [(INC_PATH, line_of(SOFTER, "impact"), 9)]
    close = git(root, "rev-parse", "HEAD~1^2~1").strip()
    assert hits[0].message == (
        f"impact changed after the record was closed ({sha[:7]} by {GIT_TOM}, landed "
        f"2026-03-09T08:00:00Z; closed by {close[:7]} on 2026-03-05T12:00:00Z)"
    )
    assert merge != close


def test_git_backdated_approval_in_a_pull_request_and_dates_out_of_order(gitrepo: Repo) -> None:
    root = gitrepo.root
    gitrepo.write(CHG_PATH, CHG, dedent=False)
    commit_all(root, "CHG requested", "2026-03-06T09:00:00Z")
    git(root, "checkout", "-q", "-b", "approve")
    gitrepo.write(CHG_PATH, approved(at="2026-03-09T10:00:00Z"), dedent=False)
    commit_all(root, "approved", "2026-03-09T10:05:00Z", GIT_PRIYA)
    git(root, "checkout", "-q", "main")
    git(root, "merge", "-q", "--no-ff", "-m", "Merge", "approve", date="2026-03-09T16:00:00Z")
    hits = git_findings(root)
    at = line_of(approved(), "    at:")
    assert [(h.rule, h.line) for h in hits] == [("GIT-BACKDATED", at)]
    assert "landed 2026-03-09T16:00:00Z: 6h 00m later, over the 1h 00m tolerance" in hits[0].message
    gitrepo.write(
        CHG_PATH,
        approved(at="2026-03-09T10:00:00Z").replace("status: approved", "status: scheduled"),
    )
    sha = commit_all(root, "scheduled", "2026-03-10T09:00:00Z", committed="2026-03-02T09:00:00Z")
    hits = git_findings(root, "GIT-BACKDATED")
    assert [h.line for h in hits] == [1, at]
    # a commit cannot land before the one before it on the branch: it lands then, and
    # the date it claims is reported
    assert hits[0].message == (
        f"commit {sha[:7]} by {GIT_LENA} claims 2026-03-02T09:00:00Z, 7d 7h before the commit "
        "before it on the branch landed (2026-03-09T16:00:00Z); commit dates out of order"
    )


def test_git_deleted_renamed_and_late_records(gitrepo: Repo) -> None:
    root = gitrepo.root
    old = "records/incidents/2026/INC-2026-0001.yaml"
    gitrepo.write(old, INCIDENT, dedent=False)
    commit_all(root, "opened", "2026-03-09T10:00:00Z")  # 3 business days after detection
    git(root, "mv", old, INC_PATH)
    commit_all(root, "flatten", "2026-03-09T11:00:00Z")
    second = INCIDENT.replace("0001", "0002").replace("P3", "P2")
    gitrepo.write("records/incidents/INC-2026-0002.yaml", second, dedent=False)
    commit_all(root, "opened", "2026-03-04T09:40:00Z", committed="2026-03-09T11:30:00Z")
    gitrepo.write("records/incidents/INC-2026-0002.yaml", second.replace("P2", "P3"))
    commit_all(root, "not that bad", "2026-03-09T12:00:00Z", GIT_TOM)
    git(root, "rm", "-q", "records/incidents/INC-2026-0002.yaml")
    gone = commit_all(root, "duplicate", "2026-03-09T13:00:00Z", GIT_TOM)
    hits = git_findings(root)
    assert [(h.rule, h.path, h.line) for h in hits] == [
        ("GIT-LATE-RECORD", INC_PATH, 9),
        ("GIT-DELETED", "records/incidents/INC-2026-0002.yaml", 1),
    ]
    assert hits[1].message == (
        f"INC-2026-0002 was deleted by commit {gone[:7]} by {GIT_TOM}, landed 2026-03-09T13:00:00Z"
    )


def test_git_downgrade_provenance_and_unreadable_versions(gitrepo: Repo) -> None:
    root = gitrepo.root
    p2 = INCIDENT.replace("P3", "P2")
    gitrepo.write(INC_PATH, p2, dedent=False)
    commit_all(root, "opened", "2026-03-04T09:30:00Z")
    gitrepo.write(INC_PATH, "id: [broken\n", dedent=False)
    commit_all(root, "oops", "2026-03-04T10:00:00Z")
    gitrepo.write(INC_PATH, INCIDENT, dedent=False)
    lowered = commit_all(root, "P3 after all", "2026-03-04T10:30:00Z", GIT_TOM)
    gitrepo.write(CHG_PATH, approved(at="2026-03-04T10:40:00Z"), dedent=False)
    forged = commit_all(
        root, "approved", "2026-03-04T10:45:00Z", " LENA <Lena.Fischer@example.com>"
    )
    hits = git_findings(root)
    assert [(h.rule, h.path) for h in hits] == [
        ("GIT-PROVENANCE", CHG_PATH),
        ("GIT-DOWNGRADE", INC_PATH),
    ]
    assert f"added by commit {forged[:7]} by LENA <Lena.Fischer@example.com>" in hits[0].message
    assert hits[1].message == (
        f"priority lowered from P2 to P3 by commit {lowered[:7]} by {GIT_TOM}, landed "
        "2026-03-04T10:30:00Z, removing the PIR and notification requirement"
    )


def test_git_records_imported_before_adoption_are_skipped(gitrepo: Repo) -> None:
    root = gitrepo.root
    gitrepo.write(CHG_PATH, approved(at="2026-02-01T10:00:00Z"), dedent=False)
    commit_all(root, "import", "2026-03-02T09:00:00Z")
    assert {h.rule for h in git_findings(root)} == {"GIT-BACKDATED", "GIT-PROVENANCE"}
    policy = root / "policy.yaml"
    policy.write_text(policy.read_text().replace("  since: null", '  since: "2026-03-03"'))
    commit_all(root, "adopted", "2026-03-03T09:00:00Z")
    assert git_findings(root) == []


def test_git_runbook_reviews(gitrepo: Repo) -> None:
    """Front matter alone cannot tell a review from a stamp: only when the history index
    records Markdown bodies are stamp-only reviews reported."""
    root = gitrepo.root
    reviewed = REVIEWED.replace("Restart the pgbouncer", "Restart the {day} pgbouncer")
    for day in ("2026-01-05", "2026-02-05", "2026-03-05"):
        gitrepo.write(RB_PATH, reviewed.format(day=day), dedent=False)  # body edited each time
        commit_all(root, "review", f"{day}T10:00:00Z")
    for day in ("2026-04-05", "2026-05-05"):
        gitrepo.write(
            RB_PATH,
            reviewed.format(day=day).replace(day + " pgbouncer", "2026-03-05 pgbouncer"),
            dedent=False,
        )
        commit_all(root, "review", f"{day}T10:00:00Z")
    bodies = "body" in {f.name for f in dataclasses.fields(Version)}
    assert len(git_findings(root, "GIT-RUBBER-STAMP")) == (1 if bodies else 0)


REG = (
    "regulatory:\n  - regime: dora\n    decision: {decision}\n"
    "    decided_at: 2026-03-04T10:00:00Z\n    submissions:\n"
    "      - {{stage: initial, at: 2026-03-04T13:00:00Z, reference: NCA-1}}\n"
)


def test_after_close_a_regulatory_submission_filed_later_is_progress(repo: Repo) -> None:
    filed = CLOSED + REG.format(decision="reportable")
    later = filed + "      - {stage: final, at: 2026-04-02T10:00:00Z, reference: NCA-1}\n"
    repo.write(INC_PATH, later, dedent=False)
    history = [
        version(INCIDENT, "2026-03-04T09:30:00Z", path=INC_PATH),
        version(filed, "2026-03-05T09:05:00Z", path=INC_PATH),
        version(later, "2026-04-02T10:10:00Z", TOM, path=INC_PATH),
    ]
    assert audit(repo, "GIT-AFTER-CLOSE", ("INC-2026-0001", history)) == []
    # the decision itself rewritten after closure is an edit, submissions or not
    rewritten = later.replace("decision: reportable", "decision: not-reportable")
    repo.write(INC_PATH, rewritten, dedent=False)
    history[2] = version(rewritten, "2026-04-02T10:10:00Z", TOM, path=INC_PATH)
    hits = audit(repo, "GIT-AFTER-CLOSE", ("INC-2026-0001", history))
    assert len(hits) == 1
    assert hits[0].message.startswith(
        "regulatory.0.decision, regulatory.0.submissions.1.at, regulatory.0.submissions.1"
    )
