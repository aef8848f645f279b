"""``opsledger approve``: the text edit (everything else byte for byte), the refusals, and the
commit that GIT-PROVENANCE verifies - end to end on real git repositories."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from opsledger.approve import add_entry
from opsledger.audit import AuditOptions, run_audit
from opsledger.errors import OpsledgerError
from opsledger.history.index import build_history
from opsledger.model.ledger import load_ledger
from opsledger.timeutil import parse_timestamp

from conftest import InvokeCli, Repo, git, git_init

CHG_PATH = "records/changes/2026/CHG-2026-0107.yaml"
CHG = """\
# yaml-language-server: $schema=../../../schemas/change.schema.json
id: CHG-2026-0107
title: "Raise the orders-db connection pool to 120"
type: normal            # standard, normal, emergency
risk: low
status: requested
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
approvals: []           # added with: opsledger approve CHG-2026-0107 --role ROLE
notifications: []
"""
PIR_PATH = "records/pirs/PIR-2026-0001.md"
PIR = """\
---
id: PIR-2026-0001
incident: INC-2026-0001
status: in-review
authors: [lena.fischer@example.com]
reviewers: []           # added with: opsledger approve PIR-2026-0001 --role reviewer
root_cause: A deploy halved the orders-db connection pool size.
actions: []
---
## Summary

reviewers: [{by: nobody@example.com}]
---
Checkout failed for 38 minutes.
"""
PRIYA = "Priya Shah <priya.shah@example.com>"
LENA = "Lena Fischer <lena.fischer@example.com>"
ENTRY = {"by": "priya.shah@example.com", "role": "cab", "at": "2026-03-09T10:00:00Z"}
ENTRY["decision"] = "approved"


# ------------------------------------------------------------------ the text edit


def test_empty_flow_list_becomes_a_block_and_nothing_else_moves() -> None:
    updated = add_entry(CHG, "approvals", ENTRY, markdown=False)
    assert updated == CHG.replace("approvals: []", "approvals: ").replace(
        "--role ROLE\n",
        "--role ROLE\n  - by: priya.shah@example.com\n    role: cab\n"
        "    at: 2026-03-09T10:00:00Z\n    decision: approved\n",
    )


def test_block_list_gets_a_new_last_item_with_its_indentation() -> None:
    text = (
        "id: CHG-2026-0107\napprovals:\n- by: tom.becker@example.com   # first\n  role: cab\n"
        "  at: 2026-03-08T10:00:00Z\n  decision: rejected\n  conditions: |+\n    keep me\n\n"
        "# the notifications\nnotifications: []\n"
    )
    updated = add_entry(text, "approvals", ENTRY, markdown=False)
    assert updated == text.replace(
        "    keep me\n\n",
        "    keep me\n\n- by: priya.shah@example.com\n  role: cab\n  at: 2026-03-09T10:00:00Z\n"
        "  decision: approved\n",
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (  # no such key: a new block at the end, even without a final newline
            "id: CHG-2026-0107",
            "id: CHG-2026-0107\napprovals:\n  - by: priya.shah@example.com\n    role: cab\n"
            "    at: 2026-03-09T10:00:00Z\n    decision: approved\n",
        ),
        (  # an empty value
            "approvals:\nid: CHG-2026-0107\n",
            "approvals:\n  - by: priya.shah@example.com\n    role: cab\n"
            "    at: 2026-03-09T10:00:00Z\n    decision: approved\nid: CHG-2026-0107\n",
        ),
        (  # a flow list with entries stays a flow list
            "approvals: [{by: tom.becker@example.com, role: cab}]  # one\nid: CHG-2026-0107\n",
            "approvals: [{by: tom.becker@example.com, role: cab}, {by: priya.shah@example.com, "
            'role: cab, at: "2026-03-09T10:00:00Z", decision: approved}]  # one\n'
            "id: CHG-2026-0107\n",
        ),
    ],
)
def test_other_shapes_of_the_list(text: str, expected: str) -> None:
    assert add_entry(text, "approvals", ENTRY, markdown=False) == expected


def test_windows_line_endings_are_kept() -> None:
    text = CHG.replace("\n", "\r\n")
    updated = add_entry(text, "approvals", ENTRY, markdown=False)
    assert "\n" not in updated.replace("\r\n", "")
    assert updated.count("\r\n") == text.count("\r\n") + 4


def test_pir_front_matter_edited_and_body_untouched() -> None:
    review = {"by": "priya.shah@example.com", "at": "2026-03-09T10:00:00Z"}
    review["decision"] = "changes-requested"
    updated = add_entry(PIR, "reviewers", review, markdown=True)
    head, _, body = updated.partition("\n---\n")
    assert body == PIR.partition("\n---\n")[2]
    assert head.endswith(
        "reviewers:            # added with: opsledger approve PIR-2026-0001 --role reviewer\n"
        "  - by: priya.shah@example.com\n    at: 2026-03-09T10:00:00Z\n"
        "    decision: changes-requested\nroot_cause: A deploy halved the orders-db connection "
        "pool size.\nactions: []"
    )


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("approvals: {by: x}\n", "approvals is not a list"),
        ("approvals: [\n", "fix it first"),
        ("{id: CHG-2026-0107}\n", "not a block mapping"),
    ],
)
def test_what_cannot_be_edited_is_refused_with_the_entry_to_add_by_hand(
    text: str, why: str
) -> None:
    with pytest.raises(OpsledgerError, match=why) as caught:
        add_entry(text, "approvals", ENTRY, markdown=False)
    if "by hand" in caught.value.message:
        assert caught.value.message.endswith(
            "add it under approvals by hand: {by: priya.shah@example.com, role: cab, at: "
            '"2026-03-09T10:00:00Z", decision: approved}'
        )


def test_values_that_yaml_would_change_are_quoted() -> None:
    entry = {**ENTRY, "role": "null", "by": "1st@example.com"}
    updated = add_entry("id: X\napprovals: []\n", "approvals", entry, markdown=False)
    assert '- by: "1st@example.com"\n    role: "null"\n' in updated


# ------------------------------------------------------------------ the command, on real git

INC_PATH = "records/incidents/2026/INC-2026-0001.yaml"
STANDARD_PATH = "records/changes/2026/CHG-2026-0108.yaml"


@pytest.fixture
def gov(repo: Repo, monkeypatch: pytest.MonkeyPatch) -> Repo:
    """A committed repository with a change, a standard change, a PIR and an incident; the
    current git identity is Priya Shah (a CAB member) and git's clock is 10:02."""
    from conftest import INCIDENT

    repo.write(CHG_PATH, CHG, dedent=False)
    repo.write(
        STANDARD_PATH,
        CHG.replace("0107", "0108").replace("type: normal ", "type: standard")
        + "standard_template: pool-resize\n",
        dedent=False,
    )
    repo.write(PIR_PATH, PIR, dedent=False)
    repo.write(INC_PATH, INCIDENT, dedent=False)
    git_init(repo.root)
    git(repo.root, "add", "-A")
    git(repo.root, "commit", "-q", "-m", "records", date="2026-03-08T09:00:00Z", who=LENA)
    for key, value in {
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Priya Shah",
        "GIT_AUTHOR_EMAIL": "priya.shah@example.com",
        "GIT_COMMITTER_NAME": "Priya Shah",
        "GIT_COMMITTER_EMAIL": "priya.shah@example.com",
        "GIT_AUTHOR_DATE": "2026-03-09T10:02:00Z",
        "GIT_COMMITTER_DATE": "2026-03-09T10:02:00Z",
    }.items():
        monkeypatch.setenv(key, value)
    return repo


def as_identity(monkeypatch: pytest.MonkeyPatch, email: str | None) -> None:
    for role in ("AUTHOR", "COMMITTER"):
        if email is None:
            monkeypatch.delenv(f"GIT_{role}_EMAIL")
        else:
            monkeypatch.setenv(f"GIT_{role}_EMAIL", email)


def history_findings(root: Path) -> list[tuple[str, str, str]]:
    ledger = load_ledger(root)
    index = build_history(root, since=ledger.policy.history_since, limits=ledger.policy.limits)
    options = AuditOptions(
        as_of=parse_timestamp("2026-03-31T00:00:00Z"), select=("GIT",), history=index
    )
    return [(f.rule, f.record or "", f.message) for f in run_audit(ledger, options)]


def test_approve_commit_is_verified_by_provenance(gov: Repo, cli: InvokeCli) -> None:
    result = cli(
        "approve", "CHG-2026-0107", "--role", "cab", "--commit",
        "--as-of", "2026-03-09T10:00:00Z", "--repo", gov.root,
    )  # fmt: skip
    assert result.status == 0, result.err
    assert result.out == f"{CHG_PATH}\n"
    head = git(gov.root, "rev-parse", "HEAD").strip()
    assert result.err == (
        "CHG-2026-0107: approved by priya.shah@example.com as cab at 2026-03-09T10:00:00Z; "
        f"committed {head[:10]}\n"
    )
    shown = git(gov.root, "show", "--format=%an <%ae>|%s", "--name-only", "HEAD").split("\n")
    assert shown[:3] == [
        f"{PRIYA}|CHG-2026-0107: approved by priya.shah@example.com as cab",
        "",
        CHG_PATH,
    ]
    assert git(gov.root, "status", "--porcelain") == ""
    assert (gov.root / CHG_PATH).read_text() == add_entry(CHG, "approvals", ENTRY, markdown=False)
    assert history_findings(gov.root) == []


def test_identity_is_recorded_raw_and_compared_without_case(
    gov: Repo, cli: InvokeCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    as_identity(monkeypatch, "Priya.Shah@Example.com")
    result = cli("approve", "chg-2026-0107", "--role", "cab", "--commit", "--repo", gov.root)
    assert result.status == 0, result.err
    assert "  - by: Priya.Shah@Example.com\n" in (gov.root / CHG_PATH).read_text()
    assert history_findings(gov.root) == []


def test_approval_committed_by_someone_else_is_a_provenance_finding(gov: Repo) -> None:
    """The requester types Priya's approval in herself; a .mailmap claiming her address is
    Priya's changes nothing (identities are the raw ones git recorded)."""
    path = gov.root / CHG_PATH
    path.write_text(add_entry(CHG, "approvals", ENTRY, markdown=False))
    (gov.root / ".mailmap").write_text(f"{PRIYA} {LENA}\n")
    git(gov.root, "add", "-A")
    git(gov.root, "commit", "-q", "-m", "approved", date="2026-03-09T10:02:00Z", who=LENA)
    sha = git(gov.root, "rev-parse", "HEAD").strip()
    assert history_findings(gov.root) == [
        (
            "GIT-PROVENANCE",
            "CHG-2026-0107",
            f"approval by priya.shah@example.com (cab, approved) was added by commit {sha[:7]} "
            f"by {LENA}, landed 2026-03-09T10:02:00Z, not by priya.shah@example.com",
        )
    ]


def test_pir_review_committed_and_verified(gov: Repo, cli: InvokeCli) -> None:
    result = cli(
        "approve", "PIR-2026-0001", "--role", "reviewer", "--decision", "changes-requested",
        "--commit", "--as-of", "2026-03-09T10:00:00Z", "--repo", gov.root,
    )  # fmt: skip
    assert result.status == 0, result.err
    assert result.err.startswith(
        "PIR-2026-0001: changes-requested by priya.shah@example.com at 2026-03-09T10:00:00Z;"
    )
    text = (gov.root / PIR_PATH).read_text()
    assert "  - by: priya.shah@example.com\n    at: 2026-03-09T10:00:00Z\n" in text
    assert history_findings(gov.root) == []


REFUSALS = [
    (["CHG-2026-0107", "--role", "cab"], "grace.kim@example.com", "grace.kim@example.com is "
     "not listed under approvers.cab in policy.yaml"),
    (["CHG-2026-0107", "--role", "emergency-cab"], None, "role emergency-cab may not approve "
     "normal changes (changes.normal.approver_roles: cab, service-owner)"),
    (["CHG-2026-0107"], None, "CHG-2026-0107: say in which role you approve: --role (cab, "
     "service-owner)"),
    (["CHG-2026-0107", "--role", "service-owner"], "lena.fischer@example.com", "segregation "
     "of duties: lena.fischer@example.com is the requester of CHG-2026-0107 and may not "
     "approve it"),
    (["CHG-2026-0107", "--role", "service-owner"], "Marco.Rossi@example.com ", "segregation "
     "of duties: Marco.Rossi@example.com is the implementer of CHG-2026-0107"),
    (["CHG-2026-0107", "--role", "cab", "--decision", "changes-requested"], None, "--decision "
     "changes-requested: a change decision is one of approved, rejected"),
    (["CHG-2026-0108", "--role", "cab"], None, "CHG-2026-0108 is a standard change: no role "
     "may approve it"),
    (["PIR-2026-0001"], "lena.fischer@example.com", "lena.fischer@example.com is an author of "
     "PIR-2026-0001: authors may not review their own PIR"),
    (["PIR-2026-0001", "--role", "boss"], None, "--role boss: not a role under approvers in "
     "policy.yaml"),
    (["CHG-2026-0999", "--role", "cab"], None, "CHG-2026-0999: no such change or PIR in this "
     "repository"),
    (["INC-2026-0001", "--role", "cab"], None, "INC-2026-0001 is not a change or a PIR"),
    (["CHG-2026-0107", "--role", "cab"], "", "no git identity: set it with 'git config "
     "user.email you@example.com'"),
]  # fmt: skip


@pytest.mark.parametrize(("args", "who", "message"), REFUSALS)
def test_refusals_are_one_line_with_exit_2_and_change_nothing(
    gov: Repo,
    cli: InvokeCli,
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    who: str | None,
    message: str,
) -> None:
    if who is not None:
        as_identity(monkeypatch, who or None)
    result = cli("approve", *args, "--repo", gov.root)
    assert result.status == 2
    assert result.out == ""
    assert result.err.startswith(f"opsledger: error: {message}")
    assert result.err.count("\n") == 1
    assert git(gov.root, "status", "--porcelain") == ""


def test_duplicate_and_dirty_file_refused(gov: Repo, cli: InvokeCli) -> None:
    assert cli("approve", "CHG-2026-0107", "--role", "cab", "--repo", gov.root).status == 0
    again = cli("approve", "CHG-2026-0107", "--role", "cab", "--repo", gov.root)
    assert again.status == 2
    assert "CHG-2026-0107: priya.shah@example.com already approved it as cab" in again.err
    dirty = cli(
        "approve", "CHG-2026-0107", "--role", "cab", "--decision", "rejected", "--commit",
        "--repo", gov.root,
    )  # fmt: skip
    assert dirty.status == 2
    assert f"{CHG_PATH} has uncommitted changes (or is not committed yet)" in dirty.err
    assert git(gov.root, "log", "--format=%s", "-1") == "records\n"


@pytest.mark.parametrize("other", ["CHG-2026-0100.yaml", "CHG-2026-0200.yaml", "x.yaml"])
def test_an_id_another_file_also_claims_is_refused(gov: Repo, cli: InvokeCli, other: str) -> None:
    """A file named otherwise that holds the ID in its ``id`` field claims it too: which of
    the two the audit judges as the record depends on their order, so neither is edited
    (as ``brief`` refuses to pick one)."""
    folder = (gov.root / CHG_PATH).parent
    copy = CHG.replace("type: normal ", "type: normal")
    (folder / other).write_text(copy, encoding="utf-8")
    before = (gov.root / CHG_PATH).read_bytes()
    result = cli("approve", "CHG-2026-0107", "--role", "cab", "--repo", gov.root)
    assert result.status == 2, result.err
    assert "CHG-2026-0107 is claimed by several files (" in result.err
    assert f"{folder.relative_to(gov.root).as_posix()}/{other}" in result.err
    assert (gov.root / CHG_PATH).read_bytes() == before


def test_failed_commit_leaves_the_file_as_it_was(gov: Repo, cli: InvokeCli) -> None:
    hook = gov.root / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\necho 'records are frozen today' >&2\nexit 1\n")
    hook.chmod(0o755)
    before = (gov.root / CHG_PATH).read_bytes()
    result = cli("approve", "CHG-2026-0107", "--role", "cab", "--commit", "--repo", gov.root)
    assert result.status == 2
    assert result.err == (
        f"opsledger: error: git commit failed: records are frozen today; {CHG_PATH} is unchanged\n"
    )
    assert (gov.root / CHG_PATH).read_bytes() == before


def test_notes_for_a_closed_change(gov: Repo, cli: InvokeCli) -> None:
    (gov.root / CHG_PATH).write_text(CHG.replace("status: requested", "status: closed"))
    result = cli("approve", "CHG-2026-0107", "--role", "cab", "--repo", gov.root)
    assert result.status == 0
    assert result.err.splitlines()[1] == (
        "opsledger: note: CHG-2026-0107 is closed: an approval added now is an edit after "
        "closure (GIT-AFTER-CLOSE) unless it lands together with the status change"
    )


def test_without_git_the_approval_is_written_but_not_committed(
    repo: Repo, cli: InvokeCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo.write(CHG_PATH, CHG, dedent=False)
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "tom.becker@example.com")
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(repo.root.parent))
    refused = cli("approve", "CHG-2026-0107", "--role", "cab", "--commit", "--repo", repo.root)
    assert refused.status == 2
    assert refused.err == (
        "opsledger: error: --commit needs a git repository with at least one commit\n"
    )
    done = cli("approve", "CHG-2026-0107", "--role", "cab", "--repo", repo.root)
    assert done.status == 0, done.err
    assert "  - by: tom.becker@example.com\n" in (repo.root / CHG_PATH).read_text()
