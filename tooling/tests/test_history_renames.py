"""History laundering by rename: a record is followed by its ID, whatever git's rename
detection says. Real git repositories, the real CLI, the full audit and the PR gate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import ACKED, AS_OF, RUNBOOK, InvokeCli, Repo, git, git_init

INC1 = "records/incidents/INC-2026-0001.yaml"
CLOSED = (
    ACKED.replace("status: open", "status: closed")
    + "mitigated_at: 2026-03-04T10:00:00Z\nresolved_at: 2026-03-04T11:00:00Z\n"
    "closed_at: 2026-03-04T12:00:00Z\n"
    "resolution: Restarted the connection pooler and raised the pool size to 80.\n"
)
SOFTER = "impact: A handful of customers saw a slower checkout page for a few minutes."
PIR1 = "records/pirs/PIR-2026-0001.md"
PIR = """\
---
id: PIR-2026-0001
incident: INC-2026-0001
status: approved
authors: [lena.fischer@example.com]
reviewers:
  - by: priya.shah@example.com
    at: 2026-03-05T10:00:00Z
    decision: approved
root_cause: A deploy halved the orders-db connection pool size.
actions: []
---
## Summary
Checkout failed.
"""
LENA = "Lena Fischer <lena.fischer@example.com>"
PRIYA = "Priya Shah <priya.shah@example.com>"
TOM = "Tom Becker <tom.becker@example.com>"


def commit(root: Path, message: str, when: str, who: str = LENA) -> str:
    git(root, "add", "-A", date=when, who=who)
    git(root, "commit", "-q", "-m", message, date=when, who=who)
    return git(root, "rev-parse", "HEAD").strip()


def rewritten(text: str, new_id: str | None = None, old_id: str = "INC-2026-0001") -> str:
    """``text`` with a softer impact (and another ID)."""
    lines = [SOFTER if line.startswith("impact:") else line for line in text.splitlines()]
    out = "\n".join(lines) + "\n"
    return out.replace(f"id: {old_id}", f"id: {new_id}") if new_id else out


def heavily_rewritten(text: str) -> str:
    """Most lines changed, so git's rename detection cannot pair the files."""
    swaps = {
        "title:": "title: Slow checkout page",
        "impact:": SOFTER,
        "resolution:": "resolution: The pooler recovered by itself after a short while.",
        "source:": "source: service-desk",
        "detection:": "detection: manual",
        "acknowledged_at:": "acknowledged_at: 2026-03-04T09:21:00Z",
        "mitigated_at:": "mitigated_at: 2026-03-04T10:01:00Z",
        "resolved_at:": "resolved_at: 2026-03-04T11:01:00Z",
        "closed_at:": "closed_at: 2026-03-04T12:01:00Z",
        "priority:": "priority: P4",
    }
    lines = [
        next((new for key, new in swaps.items() if line.startswith(key)), line)
        for line in text.splitlines()
    ]
    return "\n".join(lines) + "\n"


def git_findings(cli: InvokeCli, root: Path, *args: str) -> tuple[int, set[tuple[str, str, str]]]:
    result = cli(
        "audit", "--repo", root, "--as-of", AS_OF, "--format", "json", "--select", "GIT", *args
    )
    assert result.status in (0, 1), result.err
    found = json.loads(result.out)["findings"]
    return result.status, {(f["rule"], f["record"], f["path"]) for f in found}


def messages(cli: InvokeCli, root: Path, rule: str) -> list[str]:
    result = cli("audit", "--repo", root, "--as-of", AS_OF, "--format", "json", "--select", rule)
    return [f["message"] for f in json.loads(result.out)["findings"]]


@pytest.fixture
def closed(repo: Repo) -> Repo:
    """A closed incident and an approved PIR on main; work continues on branch ``pr``."""
    repo.write("runbooks/RB-0003-orders-db-pool.md", RUNBOOK, dedent=False)
    git_init(repo.root)
    commit(repo.root, "scaffold", "2026-03-01T08:00:00Z")
    repo.write(INC1, CLOSED, dedent=False)
    commit(repo.root, "INC-2026-0001 closed", "2026-03-04T12:05:00Z")
    repo.write(PIR1, PIR, dedent=False)
    commit(repo.root, "PIR approved", "2026-03-05T10:00:00Z", who=PRIYA)
    git(repo.root, "checkout", "-q", "-b", "pr")
    return repo


def move(repo: Repo, old: str, new: str, text: str) -> None:
    """``git mv`` then write ``text`` at the new path."""
    (repo.root / new).parent.mkdir(parents=True, exist_ok=True)
    git(repo.root, "mv", old, new)
    repo.write(new, text, dedent=False)


RENAMES = {
    "another ID": (INC1, "records/incidents/INC-2026-0002.yaml", "INC-2026-0002"),
    "another ID in a year folder": (
        INC1,
        "records/incidents/2026/INC-2026-0002.yaml",
        "INC-2026-0002",
    ),
    "into the changes folder": (INC1, "records/changes/CHG-2026-0001.yaml", "CHG-2026-0001"),
    "id edited in place": (INC1, INC1, "INC-2026-0002"),
}


@pytest.mark.parametrize(("old", "new", "new_id"), RENAMES.values(), ids=list(RENAMES))
def test_closed_incident_renamed_to_another_id_and_rewritten(
    closed: Repo, cli: InvokeCli, old: str, new: str, new_id: str
) -> None:
    root = closed.root
    if new != old:
        move(closed, old, new, rewritten(CLOSED, new_id))
    else:
        closed.write(old, rewritten(CLOSED, new_id), dedent=False)
    commit(root, "renumber", "2026-03-10T09:00:00Z", who=TOM)
    expected = {
        ("GIT-DELETED", "INC-2026-0001", old),
        ("GIT-AFTER-CLOSE", "INC-2026-0001", old),
    }
    status, found = git_findings(cli, root)
    assert status == 1 and expected <= found
    status, gate = git_findings(cli, root, "--changed-since", "main")
    assert status == 1 and expected <= gate  # the pull request gate sees the deletion


def test_rename_messages_name_what_the_record_became(closed: Repo, cli: InvokeCli) -> None:
    root = closed.root
    move(closed, INC1, "records/incidents/INC-2026-0002.yaml", rewritten(CLOSED, "INC-2026-0002"))
    sha = commit(root, "renumber", "2026-03-10T09:00:00Z", who=TOM)
    [deleted] = messages(cli, root, "GIT-DELETED")
    assert deleted == (
        f"INC-2026-0001 was deleted by commit {sha[:7]} by {TOM}, landed 2026-03-10T09:00:00Z: "
        "its content became INC-2026-0002 (a record keeps its ID for life)"
    )
    [edited] = messages(cli, root, "GIT-AFTER-CLOSE")
    assert edited.startswith(
        f"impact changed after the record was closed, when it became INC-2026-0002 ({sha[:7]} "
    )
    history = cli("history", "INC-2026-0001", "--repo", root, "--format", "json")
    trail = json.loads(history.out)["trail"]
    assert (trail[-1]["event"], trail[-1]["became"]) == ("deleted", "INC-2026-0002")


def test_approved_pir_moved_into_the_incidents_folder(closed: Repo, cli: InvokeCli) -> None:
    """The PIR's fields moved into a YAML file of the incidents folder under another ID,
    one edited: deleted, and edited after approval (the fields say what it became)."""
    root = closed.root
    front = PIR.split("---\n")[1]  # the front matter, as a YAML file holds it
    text = front.replace("id: PIR-2026-0001", "id: INC-2026-0009").replace(
        "root_cause: A deploy halved", "root_cause: Nobody could tell why"
    )
    move(closed, PIR1, "records/incidents/INC-2026-0009.yaml", text)
    commit(root, "not a PIR after all", "2026-03-10T09:00:00Z", who=TOM)
    _, found = git_findings(cli, root)
    assert {
        ("GIT-DELETED", "PIR-2026-0001", PIR1),
        ("GIT-AFTER-CLOSE", "PIR-2026-0001", PIR1),
    } <= found


def test_approved_pir_moved_as_markdown_into_a_yaml_file(closed: Repo, cli: InvokeCli) -> None:
    """The whole Markdown file moved to a ``.yaml`` path: read there as YAML, as the working
    tree reads it (it is no YAML record: a second document), in history too; the approved
    PIR is reported deleted."""
    root = closed.root
    text = PIR.replace("id: PIR-2026-0001", "id: INC-2026-0009")
    move(closed, PIR1, "records/incidents/INC-2026-0009.yaml", text)
    commit(root, "not a PIR after all", "2026-03-10T09:00:00Z", who=TOM)
    _, found = git_findings(cli, root)
    assert ("GIT-DELETED", "PIR-2026-0001", PIR1) in found
    audit = cli("audit", "--repo", root, "--as-of", AS_OF, "--format", "json", "--select", "SCHEMA")
    schema = json.loads(audit.out)["findings"]
    assert [f["path"] for f in schema] == ["records/incidents/INC-2026-0009.yaml"]
    history = cli("history", "INC-2026-0009", "--repo", root, "--format", "json")
    [version] = json.loads(history.out)["trail"]
    assert "second YAML document" in version["error"]


def test_case_only_rename_is_the_same_record_edited_after_close(
    closed: Repo, cli: InvokeCli
) -> None:
    """IDs are unique case-insensitively: inc-2026-0001 is INC-2026-0001 edited."""
    root = closed.root
    lower = "records/incidents/inc-2026-0001.yaml"
    git(root, "mv", INC1, lower)
    closed.write(lower, rewritten(CLOSED, "inc-2026-0001"), dedent=False)
    commit(root, "lower case", "2026-03-10T09:00:00Z", who=TOM)
    _, found = git_findings(cli, root)
    assert ("GIT-AFTER-CLOSE", "INC-2026-0001", lower) in found
    [edited] = messages(cli, root, "GIT-AFTER-CLOSE")
    assert edited.startswith("id, impact changed after the record was closed")


def test_record_first_committed_with_a_misspelt_id_is_still_judged(
    repo: Repo, cli: InvokeCli
) -> None:
    """Its history is keyed by the valid spelling, never skipped as an unknown kind."""
    repo.write("runbooks/RB-0003-orders-db-pool.md", RUNBOOK, dedent=False)
    git_init(repo.root)
    lower = "records/incidents/inc-2026-0001.yaml"
    repo.write(lower, CLOSED.replace("id: INC-2026-0001", "id: inc-2026-0001"), dedent=False)
    commit(repo.root, "closed, id misspelt", "2026-03-04T12:05:00Z")
    git(repo.root, "mv", lower, INC1)
    repo.write(INC1, rewritten(CLOSED), dedent=False)
    commit(repo.root, "id corrected, impact softened", "2026-03-10T09:00:00Z", who=TOM)
    _, found = git_findings(cli, repo.root)
    assert ("GIT-AFTER-CLOSE", "INC-2026-0001", INC1) in found
    history = cli("history", "INC-2026-0001", "--repo", repo.root, "--format", "json")
    assert [row["path"] for row in json.loads(history.out)["trail"]] == [lower, INC1]


SAME_ID_MOVES = {
    "out of a year folder": ("records/incidents/2026/INC-2026-0001.yaml", INC1),
    "into a year folder": (INC1, "records/incidents/2026/INC-2026-0001.yaml"),
    "into another kind's folder": (INC1, "records/changes/INC-2026-0001.yaml"),
}


@pytest.mark.parametrize(("old", "new"), SAME_ID_MOVES.values(), ids=list(SAME_ID_MOVES))
def test_move_under_the_same_id_is_not_a_deletion_but_a_rewrite_is_an_edit(
    repo: Repo, cli: InvokeCli, old: str, new: str
) -> None:
    """Rewritten beyond git's rename detection: a deletion and an addition for git."""
    repo.write("runbooks/RB-0003-orders-db-pool.md", RUNBOOK, dedent=False)
    git_init(repo.root)
    repo.write(old, CLOSED, dedent=False)
    commit(repo.root, "closed", "2026-03-04T12:05:00Z")
    git(repo.root, "checkout", "-q", "-b", "pr")
    move(repo, old, new, heavily_rewritten(CLOSED))
    commit(repo.root, "tidy", "2026-03-10T09:00:00Z", who=TOM)
    paired = git(repo.root, "diff", "-M", "--name-status", "HEAD~1", "HEAD")
    assert not paired.startswith("R"), paired  # git does not see a rename
    for args in ((), ("--changed-since", "main")):
        _, found = git_findings(cli, repo.root, *args)
        assert ("GIT-AFTER-CLOSE", "INC-2026-0001", new) in found
        assert not any(rule == "GIT-DELETED" for rule, _, _ in found)


def test_plain_move_under_the_same_id_is_clean(closed: Repo, cli: InvokeCli) -> None:
    move(closed, INC1, "records/incidents/2026/INC-2026-0001.yaml", CLOSED)
    commit(closed.root, "year folders", "2026-03-10T09:00:00Z", who=TOM)
    assert git_findings(cli, closed.root) == (0, set())


def test_rename_in_a_merged_branch(closed: Repo, cli: InvokeCli) -> None:
    root = closed.root
    git(root, "checkout", "-q", "-b", "renumber")
    move(closed, INC1, "records/incidents/INC-2026-0002.yaml", rewritten(CLOSED, "INC-2026-0002"))
    commit(root, "renumber", "2026-03-10T09:00:00Z", who=TOM)
    git(root, "checkout", "-q", "pr")
    git(
        root,
        "merge",
        "-q",
        "--no-ff",
        "-m",
        "Merge renumber",
        "renumber",
        date="2026-03-11T09:00:00Z",
    )
    merge = git(root, "rev-parse", "HEAD").strip()
    for args in ((), ("--changed-since", "main")):
        _, found = git_findings(cli, root, *args)
        assert {
            ("GIT-DELETED", "INC-2026-0001", INC1),
            ("GIT-AFTER-CLOSE", "INC-2026-0001", INC1),
        } <= found
    [deleted] = messages(cli, root, "GIT-DELETED")
    assert "landed 2026-03-11T09:00:00Z" in deleted and merge != git(root, "rev-parse", "HEAD~1")


def test_merge_commit_that_deletes_and_renames(closed: Repo, cli: InvokeCli) -> None:
    """An evil merge: the merge commit itself renames one record and deletes another."""
    root = closed.root
    git(root, "checkout", "-q", "-b", "side")
    closed.write("records/incidents/INC-2026-0003.yaml", ACKED.replace("0001", "0003"))
    commit(root, "another incident", "2026-03-09T09:00:00Z")
    git(root, "checkout", "-q", "pr")
    git(root, "merge", "-q", "--no-ff", "--no-commit", "side", date="2026-03-10T09:00:00Z")
    git(root, "mv", INC1, "records/incidents/INC-2026-0002.yaml")
    closed.write(
        "records/incidents/INC-2026-0002.yaml", rewritten(CLOSED, "INC-2026-0002"), dedent=False
    )
    git(root, "rm", "-q", PIR1)
    commit(root, "Merge side", "2026-03-10T09:00:00Z", who=TOM)
    _, found = git_findings(cli, root, "--changed-since", "main")
    assert {
        ("GIT-DELETED", "INC-2026-0001", INC1),
        ("GIT-AFTER-CLOSE", "INC-2026-0001", INC1),
        ("GIT-DELETED", "PIR-2026-0001", PIR1),
    } <= found


def test_closed_record_deleted_then_added_back_rewritten(closed: Repo, cli: InvokeCli) -> None:
    root = closed.root
    git(root, "rm", "-q", INC1)
    commit(root, "gone", "2026-03-10T09:00:00Z", who=TOM)
    closed.write(INC1, rewritten(CLOSED), dedent=False)
    commit(root, "back", "2026-03-11T09:00:00Z", who=TOM)
    for args in ((), ("--changed-since", "main")):
        _, found = git_findings(cli, root, *args)
        assert ("GIT-AFTER-CLOSE", "INC-2026-0001", INC1) in found
    closed.write(INC1, CLOSED, dedent=False)
    commit(root, "restored as it was", "2026-03-12T09:00:00Z", who=TOM)
    assert git_findings(cli, root)[1] >= {("GIT-AFTER-CLOSE", "INC-2026-0001", INC1)}


def test_deletion_with_an_unrelated_new_record_is_a_plain_deletion(
    closed: Repo, cli: InvokeCli
) -> None:
    root = closed.root
    git(root, "rm", "-q", INC1)
    other = (
        "id: INC-2026-0002\ntitle: Storefront images missing\npriority: P4\nstatus: open\n"
        "service: storefront\ndetection: manual\nsource: customer\n"
        "impact: Product pages showed broken images for some visitors.\n"
        "detected_at: 2026-03-10T08:30:00Z\nacknowledged_at: 2026-03-10T08:40:00Z\n"
    )
    closed.write("records/incidents/INC-2026-0002.yaml", other, dedent=False)
    sha = commit(root, "swap", "2026-03-10T09:00:00Z", who=TOM)
    assert messages(cli, root, "GIT-DELETED") == [
        f"INC-2026-0001 was deleted by commit {sha[:7]} by {TOM}, landed 2026-03-10T09:00:00Z"
    ]
    assert messages(cli, root, "GIT-AFTER-CLOSE") == []


def test_warm_history_cache_does_not_hide_the_rename(closed: Repo, cli: InvokeCli) -> None:
    root = closed.root
    assert git_findings(cli, root) == (0, set())  # caches the history so far
    move(closed, INC1, "records/incidents/INC-2026-0002.yaml", rewritten(CLOSED, "INC-2026-0002"))
    commit(root, "renumber", "2026-03-10T09:00:00Z", who=TOM)
    expected = {("GIT-DELETED", "INC-2026-0001", INC1), ("GIT-AFTER-CLOSE", "INC-2026-0001", INC1)}
    for _ in range(2):  # appended to the cache, then read back from it
        assert expected <= git_findings(cli, root)[1]


CHG = "records/changes/CHG-2026-0107.yaml"


@pytest.mark.parametrize("approver", [PRIYA, LENA], ids=["approver", "requester"])
def test_pr_gate_follows_a_record_back_through_an_earlier_move(
    repo: Repo, cli: InvokeCli, approver: str
) -> None:
    """A change approved, then moved to a year folder, then edited in a pull request: the
    gate judges the approval by the commit that added it, as the full audit does, not by
    the commit that moved the file."""
    from test_rules_history import approved

    repo.write("runbooks/RB-0003-orders-db-pool.md", RUNBOOK, dedent=False)
    git_init(repo.root)
    repo.write(CHG, approved(at="2026-03-09T10:00:00Z"), dedent=False)
    added = commit(repo.root, "approved", "2026-03-09T10:05:00Z", who=approver)
    moved = "records/changes/2026/CHG-2026-0107.yaml"
    move(repo, CHG, moved, approved(at="2026-03-09T10:00:00Z"))
    commit(repo.root, "year folders", "2026-03-09T11:00:00Z", who=TOM)
    git(repo.root, "checkout", "-q", "-b", "pr")
    repo.write(moved, approved(at="2026-03-09T10:00:00Z").replace("to 120", "to 120 "))
    commit(repo.root, "wording", "2026-03-09T12:00:00Z", who=TOM)
    full = messages(cli, repo.root, "GIT-PROVENANCE")
    gate = cli(
        "audit", "--repo", repo.root, "--as-of", AS_OF, "--format", "json",
        "--select", "GIT-PROVENANCE", "--changed-since", "main",
    )  # fmt: skip
    assert [f["message"] for f in json.loads(gate.out)["findings"]] == full
    assert len(full) == (0 if approver == PRIYA else 1)
    assert all(f"added by commit {added[:7]} by {LENA}" in m for m in full)


def test_imported_record_renamed_after_adoption(closed: Repo, cli: InvokeCli) -> None:
    """Imported records skip the history rules about commit times, but a deletion after
    adoption (here a rename to another ID) is still a deletion."""
    root = closed.root
    imported = CLOSED + "external_id: INC0012345\n"
    closed.write(INC1, imported, dedent=False)
    policy = root / "policy.yaml"
    policy.write_text(policy.read_text().replace("  since: null", '  since: "2026-03-06"'))
    commit(root, "imported, then adopted", "2026-03-05T12:00:00Z")
    assert git_findings(cli, root) == (0, set())
    move(closed, INC1, "records/incidents/INC-2026-0002.yaml", rewritten(imported, "INC-2026-0002"))
    commit(root, "renumber", "2026-03-10T09:00:00Z", who=TOM)
    for args in ((), ("--changed-since", "main")):
        assert ("GIT-DELETED", "INC-2026-0001", INC1) in git_findings(cli, root, *args)[1]
