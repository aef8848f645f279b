"""Attacks on the PR gate with main's cached index (see test_gate_snapshot.py): hostile
pull requests, some on a main that did something odd first, for which the gate with
main's cache must give the output of the gate with an empty cache and the full audit's
findings for the records it reports, without walking more than the commits since main's
cached head and without writing main's cache. Real git repositories, the real CLI."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from test_gate_snapshot import (
    CHANGE,
    CHG,
    INC,
    PIR10,
    audit,
    commit,
    incident,
    main_history,
    move,
    pir,
    reported,
)
from test_history_renames import CLOSED, LENA, PIR, PIR1, PRIYA, TOM, rewritten

from opsledger.history.index import FOLDERS

from conftest import Caches, InvokeCli, Repo, git

Step = Callable[[Repo], None]
PRB = "records/problems/PRB-2026-0007.md"
Walked = list[tuple[tuple[str, ...], str | None]]


def nothing(repo: Repo) -> None:
    pass


# -- main first -----------------------------------------------------------------------------


def main_misnamed(repo: Repo) -> None:
    """INC-41 held in a file named INC-40."""
    repo.write(INC.format("INC-2026-0040"), incident(41), dedent=False)
    commit(repo.root, "misnamed", "2026-03-09T12:00:00Z", who=TOM)


def main_pir_reopened(repo: Repo) -> None:
    """PIR-10, approved in time, set back to draft."""
    repo.write(PIR10, pir(10, 10).replace("status: approved", "status: draft"), dedent=False)
    commit(repo.root, "PIR-10 reopened", "2026-03-09T12:00:00Z", who=TOM)


def main_lower_case_id(repo: Repo) -> None:
    repo.write(INC.format("inc-2026-0050"), incident(50).replace("INC-", "inc-"), dedent=False)
    commit(repo.root, "lower case", "2026-03-09T12:00:00Z", who=TOM)


def main_copy_then_delete(repo: Repo) -> None:
    """INC-2 copied into a year folder, its first file deleted later: a move in two steps."""
    repo.write(INC.format("2026/INC-2026-0002"), incident(2), dedent=False)
    commit(repo.root, "copied", "2026-03-09T12:00:00Z", who=TOM)
    (repo.root / INC.format("INC-2026-0002")).unlink()
    commit(repo.root, "old file removed", "2026-03-09T13:00:00Z", who=TOM)


def main_pir_deleted(repo: Repo) -> None:
    """PIR-10, approved in time, deleted."""
    (repo.root / PIR10).unlink()
    commit(repo.root, "PIR-10 deleted", "2026-03-09T12:00:00Z", who=TOM)


def main_colliding_change(repo: Repo) -> None:
    """CHG-2 on orders-db, its window overlapping CHG-1's."""
    text = CHANGE.replace("CHG-2026-0001", "CHG-2026-0002").replace("22:00", "22:30")
    repo.write(CHG.replace("0001", "0002"), text, dedent=False)
    commit(repo.root, "second change", "2026-03-09T12:00:00Z", who=PRIYA)


def main_escaped_colliding_change(repo: Repo) -> None:
    """CHG-2 overlapping CHG-1 on orders-db, the service spelled with a YAML escape (git
    grep, reading the text, does not see "orders-db" in it)."""
    text = CHANGE.replace("CHG-2026-0001", "CHG-2026-0002").replace("22:00", "22:30")
    text = text.replace("services: [orders-db]", 'services: ["orders\\x2Ddb"]')
    text = text.replace("orders-db pool", "connection pool")
    assert 'services: ["orders\\x2Ddb"]' in text and "orders-db" not in text
    repo.write(CHG.replace("0001", "0002"), text, dedent=False)
    commit(repo.root, "second change, escaped", "2026-03-09T12:00:00Z", who=PRIYA)


def main_problem(repo: Repo) -> None:
    """PRB-7 on INC-1, resolved by CHG-1."""
    from opsledger.rules.examples import BASE

    text = BASE["problem"][1].replace("INC-2026-0042", "INC-2026-0001")
    repo.write(PRB, text.replace("CHG-2026-0107", "CHG-2026-0001"), dedent=False)
    commit(repo.root, "problem", "2026-03-09T12:00:00Z", who=TOM)


# -- the pull requests ----------------------------------------------------------------------


def pr_refers_to_unnamed(repo: Repo) -> None:
    """References to INC-5 (deleted on main) and to INC-41 (no file is named for it): the
    first has no file to report; the second resolves, as in a full load."""
    for number, target in ((1, "INC-2026-0005"), (2, "INC-2026-0041")):
        path = repo.root / INC.format(f"INC-2026-{number:04d}")
        path.write_text(path.read_text() + f"recurrence_of: {target}\n")
    commit(repo.root, "recurrences", "2026-03-10T09:00:00Z", who=TOM)


def pr_change_names_incident(repo: Repo) -> None:
    """The change names INC-10 (a P2 whose PIR was approved in time): INC-10 is reported
    and judged with its PIR, which the pull request does not touch."""
    repo.write(CHG, CHANGE + "related_incident: INC-2026-0010\n", dedent=False)
    commit(repo.root, "related incident", "2026-03-10T09:00:00Z", who=TOM)


def pr_second_draft_pir(repo: Repo) -> None:
    """A draft second PIR of INC-10, whose first PIR was approved in time and is a draft
    again: INC-10's PIR was approved in time (the first PIR's history says when)."""
    text = pir(11, 10).replace("status: approved", "status: draft")
    repo.write("records/pirs/PIR-2026-0011.md", text, dedent=False)
    commit(repo.root, "second PIR", "2026-03-10T09:00:00Z", who=PRIYA)


def pr_incident_names_change(repo: Repo) -> None:
    """INC-1 now names CHG-1 as its cause: CHG-1 is reported, and collides with CHG-2."""
    path = repo.root / INC.format("INC-2026-0001")
    path.write_text(path.read_text() + "caused_by_change: CHG-2026-0001\n")
    commit(repo.root, "cause", "2026-03-10T09:00:00Z", who=TOM)


def pr_nul_bytes(repo: Repo) -> None:
    """NUL characters (YAML escapes) where the gate's plan greps for words: a service of a
    reported change, the id of a changed record, the incident of a changed PIR. No argument
    can carry one: the gate must still judge, never stop with an internal error."""
    repo.write(CHG, CHANGE.replace("[orders-db]", '[orders-db, "a\\0b"]'), dedent=False)
    path = repo.root / INC.format("INC-2026-0001")
    path.write_text(path.read_text() + "caused_by_change: CHG-2026-0001\n")
    repo.write(
        INC.format("INC-2026-0061"),
        incident(61).replace("id: INC-2026-0061", 'id: "INC-2026-0061\\0"'),
        dedent=False,
    )
    text = pir(12, 10).replace("incident: INC-2026-0010", 'incident: "INC-2026-0010\\0"')
    assert '"INC-2026-0010\\0"' in text
    assert '"INC-2026-0061\\0"' in (repo.root / INC.format("INC-2026-0061")).read_text()
    repo.write("records/pirs/PIR-2026-0012.md", text, dedent=False)
    commit(repo.root, "NUL characters", "2026-03-10T09:00:00Z", who=TOM)


def pr_long_words(repo: Repo) -> None:
    """A reported change whose services no argument list can carry (one word of 200,000
    characters, an empty one, one across lines): the gate reads its words from standard
    input, and judges as the full audit does."""
    long_word = "x" * 200_000
    listed = f'[orders-db, "{long_word}", "", "pay\\nments"]'
    repo.write(CHG, CHANGE.replace("[orders-db]", listed), dedent=False)
    path = repo.root / INC.format("INC-2026-0001")
    path.write_text(path.read_text() + "caused_by_change: CHG-2026-0001\n")
    commit(repo.root, "long words", "2026-03-10T09:00:00Z", who=TOM)


def pr_incident_edited(repo: Repo) -> None:
    """INC-1 edited: PRB-7, which lists it, is reported, and judged with its fix change."""
    path = repo.root / INC.format("INC-2026-0001")
    path.write_text(path.read_text().replace("Checkout", "The checkout"))
    commit(repo.root, "edit", "2026-03-10T09:00:00Z", who=TOM)


def pr_renames(repo: Repo) -> None:
    """A case-only rename with an edit, a move into another kind's folder, a runbook
    renamed to another slug, and a record moved out of records/ and back, edited."""
    root = repo.root
    git(root, "mv", INC.format("INC-2026-0001"), INC.format("inc-2026-0001"))
    repo.write(INC.format("inc-2026-0001"), rewritten(CLOSED), dedent=False)
    move(
        repo,
        INC.format("INC-2026-0002"),
        CHG.replace("CHG-2026-0001", "INC-2026-0002"),
        incident(2),
    )
    git(root, "mv", "runbooks/RB-0003-orders-db-pool.md", "runbooks/RB-0003-pool.md")
    (root / "archive").mkdir()
    git(root, "mv", INC.format("INC-2026-0007"), "archive/INC-2026-0007.yaml")
    commit(root, "moved", "2026-03-10T09:00:00Z", who=TOM)
    git(root, "mv", "archive/INC-2026-0007.yaml", INC.format("INC-2026-0007"))
    repo.write(INC.format("INC-2026-0007"), rewritten(incident(7)), dedent=False)
    commit(root, "back", "2026-03-10T10:00:00Z", who=TOM)


def pr_spelling_corrected(repo: Repo) -> None:
    """An ID first committed in lower case (on main), corrected with its file's name."""
    move(repo, INC.format("inc-2026-0050"), INC.format("INC-2026-0050"), rewritten(incident(50)))
    commit(repo.root, "spelling", "2026-03-10T09:00:00Z", who=TOM)


def pr_crafted_names(repo: Repo) -> None:
    """File names with a space, a leading dash, a newline, non-ASCII letters and glob
    characters (a path given to git is a pattern)."""
    names = ("INC-2026-0001 copy", "-INC-2026-0041", "INC-2026-0042\nx", "INC-2026-ÖÖ", "INC-*")
    for name in names:
        repo.write(INC.format(name), rewritten(CLOSED), dedent=False)
    repo.write(INC.format("INC-2026-000[1-9]"), rewritten(CLOSED), dedent=False)
    commit(repo.root, "names", "2026-03-10T09:00:00Z", who=TOM)


def pr_backdated_approval(repo: Repo) -> None:
    """Tom adds Lena's approval to the change and edits the approved PIR, in a commit
    dated before main's cached head."""
    text = CHANGE.replace("medium", "low") + (
        "  - by: lena.fischer@example.com\n    at: 2026-03-05T13:00:00Z\n    decision: approved\n"
    )
    repo.write(CHG, text, dedent=False)
    repo.write(PIR1, PIR.replace("Checkout failed.", "Checkout failed badly."), dedent=False)
    commit(repo.root, "approval", "2026-03-02T09:00:00Z", who=TOM)


def pr_adoption_moved(repo: Repo) -> None:
    """history.since moved after most of main's records (they become imported)."""
    path = repo.root / "policy.yaml"
    path.write_text(path.read_text().replace("  since: null", "  since: 2026-03-06"))
    repo.write(INC.format("INC-2026-0001"), rewritten(CLOSED), dedent=False)
    commit(repo.root, "adopted later", "2026-03-10T09:00:00Z", who=TOM)


def pr_merges_old_branch(repo: Repo) -> None:
    """A branch forked from main before its cached head, editing records then, merged in."""
    root = repo.root
    git(root, "checkout", "-q", "-b", "old", "main~3")
    repo.write(INC.format("INC-2026-0002"), rewritten(incident(2)), dedent=False)
    repo.write(PIR1, PIR.replace("status: approved", "status: draft"), dedent=False)
    commit(root, "old edits", "2026-03-06T12:00:00Z", who=LENA)
    git(root, "checkout", "-q", "pr")
    git(root, "merge", "-q", "--no-ff", "-m", "merge old", "old", date="2026-03-10T11:00:00Z")


def pr_edit_moved(repo: Repo) -> None:
    """INC-2, moved in two steps on main, edited: first committed on time, at its old path."""
    repo.write(INC.format("2026/INC-2026-0002"), rewritten(incident(2)), dedent=False)
    commit(repo.root, "edit", "2026-03-10T09:00:00Z", who=TOM)


def pr_new_at_renamed_path(repo: Repo) -> None:
    """A new record at the path of INC-3, which main renamed to another ID: INC-3's
    deletion names the record that took its content, whose file the pull request does not
    touch."""
    repo.write(INC.format("INC-2026-0003"), incident(33), dedent=False)
    commit(repo.root, "a new record at an old path", "2026-03-10T09:00:00Z", who=TOM)


def pr_implausible_date(repo: Repo) -> None:
    """A commit dated before git existed: it counts as landed with the nearest earlier
    landing on the branch (main's last), not the last one of the paths it touched."""
    repo.write(INC.format("INC-2026-0001"), rewritten(CLOSED), dedent=False)
    commit(repo.root, "from 2001", "@1000000000 +0000", who=TOM)


def pr_id_to_deleted(repo: Repo) -> None:
    """INC-2's ``id`` edited in place to INC-5, deleted on main: INC-5's history goes on."""
    repo.write(INC.format("INC-2026-0002"), incident(5), dedent=False)
    commit(repo.root, "id edited to a deleted one", "2026-03-10T09:00:00Z", who=TOM)


def pr_deleted_back_elsewhere(repo: Repo) -> None:
    """INC-5, deleted on main, added back in a year folder: its history goes on."""
    repo.write(INC.format("2026/INC-2026-0005"), incident(5), dedent=False)
    commit(repo.root, "added back", "2026-03-10T09:00:00Z", who=TOM)


def pr_uncommitted(repo: Repo) -> None:
    """Nothing committed: HEAD is main's cached head."""
    repo.write(INC.format("INC-2026-0001"), rewritten(CLOSED), dedent=False)
    repo.write(INC.format("INC-2026-0051"), incident(51), dedent=False)


ATTACKS: dict[str, tuple[Step, Step]] = {
    "references without a file named for them": (main_misnamed, pr_refers_to_unnamed),
    "a change names an incident": (nothing, pr_change_names_incident),
    "second PIR, the first reopened": (main_pir_reopened, pr_second_draft_pir),
    "an incident's PIR deleted": (main_pir_deleted, pr_change_names_incident),
    "an incident names a colliding change": (main_colliding_change, pr_incident_names_change),
    "the colliding change's service escaped": (
        main_escaped_colliding_change,
        pr_incident_names_change,
    ),
    "NUL characters where the plan greps": (main_colliding_change, pr_nul_bytes),
    "words no argument list can carry": (main_colliding_change, pr_long_words),
    "a problem's fix change": (main_problem, pr_incident_edited),
    "renames": (nothing, pr_renames),
    "spelling corrected": (main_lower_case_id, pr_spelling_corrected),
    "crafted names": (nothing, pr_crafted_names),
    "backdated approval": (nothing, pr_backdated_approval),
    "adoption moved": (nothing, pr_adoption_moved),
    "old branch merged": (nothing, pr_merges_old_branch),
    "uncommitted": (nothing, pr_uncommitted),
    # the landing an implausible date takes comes from the branch's first-parent dates,
    # which the commit graph carries: the same with or without a cache
    "implausible date": (nothing, pr_implausible_date),
}
#: where the gate without a cache, walking only the pull request's paths, judges otherwise
#: than the full audit (the gate with main's cache does not): known limits, each a strict
#: xfail below. Reading the whole branch's log when unsure made that gate take minutes on
#: the 10k-record / 30k-commit benchmark repository (an ``icase`` glob log, then a full
#: rebuild), against its 3 s goal
COLD_LIMITS: dict[str, tuple[Step, Step]] = {
    "moved in two steps": (main_copy_then_delete, pr_edit_moved),
    "new record at a renamed-away path": (nothing, pr_new_at_renamed_path),
    "id edited to a deleted one": (nothing, pr_id_to_deleted),
    "deleted one added back elsewhere": (nothing, pr_deleted_back_elsewhere),
}


@pytest.mark.parametrize("steps", ATTACKS.values(), ids=list(ATTACKS))
def test_warm_gate_holds(
    repo: Repo, cli: InvokeCli, caches: Caches, walked: Walked, steps: tuple[Step, Step]
) -> None:
    attack(repo, cli, caches, walked, steps, cold=True)


@pytest.mark.parametrize("steps", COLD_LIMITS.values(), ids=list(COLD_LIMITS))
def test_warm_gate_holds_where_the_cold_gate_does_not(
    repo: Repo, cli: InvokeCli, caches: Caches, walked: Walked, steps: tuple[Step, Step]
) -> None:
    attack(repo, cli, caches, walked, steps, cold=False)


@pytest.mark.xfail(
    strict=True,
    reason="known: without a cache the gate walks the log of the pull request's paths; a "
    "record's past at other paths (a copy, an ID given again, a path reused) is not in it, "
    "and it judges otherwise than the full audit",
)
@pytest.mark.parametrize("steps", COLD_LIMITS.values(), ids=list(COLD_LIMITS))
def test_cold_gate_limits(
    repo: Repo, cli: InvokeCli, caches: Caches, walked: Walked, steps: tuple[Step, Step]
) -> None:
    attack(repo, cli, caches, walked, steps, cold=True)


def attack(
    repo: Repo,
    cli: InvokeCli,
    caches: Caches,
    walked: Walked,
    steps: tuple[Step, Step],
    *,
    cold: bool,
) -> None:
    """Main's history and ``steps``' first on main, its full audit (index cached), then
    ``steps``' second on a pull request branch: the gate with main's cache continues it
    without writing it and reports the full audit's findings of its records; ``cold``: the
    gate with an empty cache prints the same."""
    on_main, pull_request = steps
    main_history(repo)
    on_main(repo)
    root = repo.root
    caches.use(caches.main)
    audit(cli, root)  # main's full audit: its index cached
    cached = caches.index_file().read_bytes()
    head = git(root, "rev-parse", "HEAD").strip()
    git(root, "checkout", "-q", "-b", "pr")
    pull_request(repo)
    del walked[:]
    warm, warm_found = audit(cli, root, "--changed-since", "main")
    assert all(w == (FOLDERS, head) for w in walked), walked  # the cache continued
    assert caches.index_file().read_bytes() == cached
    caches.fresh()
    _, full = audit(cli, root)
    assert warm_found == reported(full, root)
    if cold:
        caches.fresh()
        without, _ = audit(cli, root, "--changed-since", "main")
        assert warm == without


def pr_id_once_held_by_a_misnamed_file(repo: Repo) -> None:
    """INC-2's ``id`` edited to INC-31, which main held only in the file named INC-30 (its
    ``id`` corrected to INC-30 since)."""
    repo.write(INC.format("INC-2026-0002"), incident(31), dedent=False)
    commit(repo.root, "id edited to INC-31", "2026-03-10T09:00:00Z", who=TOM)


@pytest.mark.xfail(
    strict=True,
    reason="known: the gate without a cache finds an ID's files by their names; INC-31's "
    "past in a file named otherwise is not in the pull request's paths log, so it reports a "
    "late first commit the full audit does not (finding it would mean reading every blob "
    "of the branch, as a full build does)",
)
def test_cold_gate_misses_an_id_once_held_by_a_misnamed_file(
    repo: Repo, cli: InvokeCli, caches: Caches, walked: Walked
) -> None:
    attack(repo, cli, caches, walked, (nothing, pr_id_once_held_by_a_misnamed_file), cold=True)
