"""Pull requests shaped to pass the PR gate (``audit --changed-since``) while the full
audit of the same tree fails: each must be caught by the gate, with the finding the full
audit gives. Real git repositories, the real CLI, the gate with an empty cache and with
main's."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from test_gate_snapshot import (
    AS_OF,
    CHANGE,
    CHG,
    INC,
    audit,
    commit,
    main_history,
    move,
    pir,
    reported,
)
from test_history_renames import CLOSED, PIR1, TOM

from opsledger.cli.audit import GATE_LEAVES

from conftest import Caches, InvokeCli, Repo, git

Step = Callable[[Repo], None]
#: a second change on CHG-2026-0001's service, in an overlapping window
COLLIDING = CHANGE.replace("CHG-2026-0001", "CHG-2026-0002").replace("23:00:00Z", "23:30:00Z")


def gate_and_full(
    repo: Repo, cli: InvokeCli, caches: Caches, on_main: Step, pull_request: Step
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """``on_main`` on main (its full audit cached), then ``pull_request`` on a branch: the
    gate's findings with main's cache, with an empty cache, and the full audit's."""
    main_history(repo)
    on_main(repo)
    caches.use(caches.main)
    audit(cli, repo.root)
    git(repo.root, "checkout", "-q", "-b", "pr")
    pull_request(repo)
    _, warm = audit(cli, repo.root, "--changed-since", "main")
    caches.fresh()
    _, cold = audit(cli, repo.root, "--changed-since", "main")
    caches.fresh()
    _, full = audit(cli, repo.root)
    return warm, cold, full


def nothing(repo: Repo) -> None:
    pass


def marked_binary(repo: Repo) -> None:
    """Every record marked binary for git (``-diff``): git grep skips binary files."""
    repo.write(".gitattributes", "records/** -diff\n", dedent=False)
    commit(repo.root, "attributes", "2026-03-09T11:00:00Z", who=TOM)


def colliding_change(repo: Repo) -> None:
    repo.write(CHG.replace("0001", "0002"), COLLIDING, dedent=False)
    commit(repo.root, "a colliding change", "2026-03-10T09:00:00Z", who=TOM)


def attributes_and_colliding_change(repo: Repo) -> None:
    marked_binary(repo)
    colliding_change(repo)


def service_renamed(repo: Repo) -> None:
    """The catalog's service renamed: every record naming the old one breaks."""
    path = repo.root / "records/services.yaml"
    path.write_text(path.read_text().replace("id: orders-db", "id: orders-database"))
    commit(repo.root, "catalog", "2026-03-10T09:00:00Z", who=TOM)


def schema_tightened(repo: Repo) -> None:
    """A field every incident lacks made required."""
    path = repo.root / "schemas/incident.schema.json"
    path.write_text(path.read_text().replace('"required": [', '"required": ["x_extra", ', 1))
    commit(repo.root, "schema", "2026-03-10T09:00:00Z", who=TOM)


def stray_file(repo: Repo) -> None:
    """A copy of a record under a name that is no record file's."""
    text = (repo.root / INC.format("INC-2026-0001")).read_text()
    repo.write("records/incidents/INC-2026-0100.yml", text, dedent=False)
    commit(repo.root, "stray", "2026-03-10T09:00:00Z", who=TOM)


def edited_then_reverted(repo: Repo) -> None:
    """A closed incident's priority changed, then the commit reverted: no net change."""
    path = repo.root / INC.format("INC-2026-0001")
    text = path.read_text()
    path.write_text(text.replace("priority: P3", "priority: P4"))
    commit(repo.root, "lower", "2026-03-10T09:00:00Z", who=TOM)
    path.write_text(text)
    commit(repo.root, "revert", "2026-03-10T10:00:00Z", who=TOM)


def added_then_deleted(repo: Repo) -> None:
    path = INC.format("INC-2026-0040")
    repo.write(path, CLOSED.replace("INC-2026-0001", "INC-2026-0040"), dedent=False)
    commit(repo.root, "add", "2026-03-10T09:00:00Z", who=TOM)
    (repo.root / path).unlink()
    commit(repo.root, "delete", "2026-03-10T10:00:00Z", who=TOM)


RUNBOOK_PATH = "runbooks/RB-0003-orders-db-pool.md"


def runbook_to_dot_file(repo: Repo) -> None:
    """A runbook renamed to a name the walk skips: gone, and its ID with it."""
    git(repo.root, "mv", RUNBOOK_PATH, "runbooks/.RB-0003-orders-db-pool.md")
    commit(repo.root, "hidden", "2026-03-10T09:00:00Z", who=TOM)


def runbook_to_readme(repo: Repo) -> None:
    git(repo.root, "mv", RUNBOOK_PATH, "runbooks/README.md")
    commit(repo.root, "hidden", "2026-03-10T09:00:00Z", who=TOM)


def incident_to_dot_folder(repo: Repo) -> None:
    (repo.root / "records/incidents/.old").mkdir()
    git(repo.root, "mv", INC.format("INC-2026-0001"), "records/incidents/.old/INC-2026-0001.yaml")
    commit(repo.root, "hidden", "2026-03-10T09:00:00Z", who=TOM)


ESCAPED = INC.format("2026/INC-2026-0002")


def escaped_id(repo: Repo) -> None:
    """INC-2, moved to a year folder, its ``id`` spelled with an escape: the same ID, not
    the same text."""
    text = (repo.root / INC.format("INC-2026-0002")).read_text()
    text = text.replace("id: INC-2026-0002", 'id: "INC-2026-000\\x32"')
    move(repo, INC.format("INC-2026-0002"), ESCAPED, text)
    commit(repo.root, "escaped", "2026-03-09T11:00:00Z", who=TOM)


def duplicate_of_escaped(repo: Repo) -> None:
    """A copy read before it (2025/ before 2026/): the duplicate is the file on main."""
    text = (repo.root / ESCAPED).read_text()
    repo.write(
        "records/incidents/2025/INC-2026-0002.yaml",
        text.replace('id: "INC-2026-000\\x32"', "id: INC-2026-0002"),
        dedent=False,
    )
    commit(repo.root, "duplicate", "2026-03-10T09:00:00Z", who=TOM)


def nested_repository(repo: Repo) -> None:
    """A year folder that is a git repository of its own, added as a submodule link."""
    folder = repo.root / "records/incidents/2027"
    folder.mkdir(parents=True)
    text = CLOSED.replace("INC-2026-0001", "INC-2027-0001").replace("P3", "P9")
    (folder / "INC-2027-0001.yaml").write_text(text)
    git(folder, "init", "-q")
    git(folder, "add", "-A")
    git(folder, "commit", "-qm", "nested")
    commit(repo.root, "a nested repository", "2026-03-10T09:00:00Z", who=TOM)


def ignored_untracked(repo: Repo) -> None:
    """A record not committed, in a folder git is told to ignore (a local run)."""
    exclude = repo.root / ".git/info/exclude"
    exclude.write_text(exclude.read_text() + "records/incidents/2027/\n")
    text = CLOSED.replace("INC-2026-0001", "INC-2027-0001").replace("P3", "P9")
    repo.write("records/incidents/2027/INC-2027-0001.yaml", text, dedent=False)


def catalog_without_runbooks(repo: Repo) -> None:
    """orders-db (tier 1) covered only by RB-3's own services list."""
    path = repo.root / "records/services.yaml"
    path.write_text(path.read_text().replace("  runbooks: [RB-0003]\n", ""))
    commit(repo.root, "catalog", "2026-03-09T11:00:00Z", who=TOM)


def runbook_serves_another(repo: Repo) -> None:
    path = repo.root / RUNBOOK_PATH
    path.write_text(path.read_text().replace("services: [orders-db]", "services: [storefront]"))
    commit(repo.root, "runbook moved to another service", "2026-03-10T09:00:00Z", who=TOM)


def incident_names_a_pir_to_come(repo: Repo) -> None:
    """INC-1 names PIR-9, which does not exist yet (PIR-1 reviews it)."""
    path = repo.root / INC.format("INC-2026-0001")
    path.write_text(path.read_text() + "pir: PIR-2026-0009\n")
    commit(repo.root, "names its PIR", "2026-03-09T11:00:00Z", who=TOM)


def second_pir_named(repo: Repo) -> None:
    """PIR-9 added for INC-1: PIR-1, unchanged, is now its second PIR."""
    text = (repo.root / PIR1).read_text().replace("PIR-2026-0001", "PIR-2026-0009")
    repo.write("records/pirs/PIR-2026-0009.md", text, dedent=False)
    commit(repo.root, "the named PIR", "2026-03-10T09:00:00Z", who=TOM)


def pirs_of_another_incident(repo: Repo) -> None:
    """PIR-5 and PIR-7 both review INC-2; PIR-5's text mentions INC-1."""
    text = pir(5, 2).replace("Checkout failed.", "Checkout failed, as in INC-2026-0001.")
    repo.write("records/pirs/PIR-2026-0005.md", text, dedent=False)
    repo.write("records/pirs/PIR-2026-0007.md", pir(7, 2), dedent=False)
    commit(repo.root, "two PIRs for INC-2", "2026-03-09T11:00:00Z", who=TOM)


def pir_edited(repo: Repo) -> None:
    path = repo.root / PIR1
    path.write_text(path.read_text().replace("Checkout failed.", "Checkout failed badly."))
    commit(repo.root, "PIR-1 edited", "2026-03-10T09:00:00Z", who=TOM)


def lower_case_holder(repo: Repo) -> None:
    """INC-50's file holds the ID inc-2026-0100 (lower case: a schema error on main)."""
    text = CLOSED.replace("INC-2026-0001", "inc-2026-0100")
    repo.write(INC.format("INC-2026-0050"), text, dedent=False)
    commit(repo.root, "lower case", "2026-03-09T11:00:00Z", who=TOM)


def same_id_upper_case(repo: Repo) -> None:
    repo.write(INC.format("INC-2026-0100"), CLOSED.replace("0001", "0100"), dedent=False)
    commit(repo.root, "INC-100", "2026-03-10T09:00:00Z", who=TOM)


def approval_dated_before_its_parent(repo: Repo) -> None:
    """A change approved in a commit dated before the commit before it on the branch (an
    empty one, which changes no record): it cannot have landed before its parent."""
    commit(repo.root, "main moves on", "2026-03-20T10:00:00Z", who=TOM)
    approved = COLLIDING.replace("CHG-2026-0002", "CHG-2026-0003").replace(
        "2026-03-05T12:00:00Z", "2026-03-11T10:00:00Z"
    )
    repo.write(CHG.replace("0001", "0003"), approved, dedent=False)
    commit(repo.root, "approved", "2026-03-11T10:20:00Z", who="Priya Shah <priya.shah@example.com>")


def edit_hidden_from_git(flag: str) -> Step:
    """A record edited in the working tree after git was told to take it as unchanged:
    git diff does not look at it, the full audit reads it."""

    def step(repo: Repo) -> None:
        path = INC.format("INC-2026-0002")
        git(repo.root, "update-index", flag, path)
        target = repo.root / path
        target.write_text(target.read_text().replace("priority: P3", "priority: P9"))

    return step


def clustered(number: int, day: int) -> str:
    """A closed incident on orders-db in the category ``pool``, detected on ``day``."""
    text = CLOSED.replace("INC-2026-0001", f"INC-2026-{number:04d}") + "category: pool\n"
    return text.replace("2026-03-04T", f"2026-03-{day:02d}T")


def two_in_a_category(repo: Repo) -> None:
    for number, day in ((20, 11), (21, 12)):
        repo.write(INC.format(f"INC-2026-{number:04d}"), clustered(number, day), dedent=False)
    commit(repo.root, "two incidents in one category", "2026-03-12T18:00:00Z", who=TOM)


def a_third_in_the_category(repo: Repo) -> None:
    """A third incident on the same service and category: a recurring cluster without a
    problem (PRB-CANDIDATE, a warning on its incidents)."""
    repo.write(INC.format("INC-2026-0022"), clustered(22, 13), dedent=False)
    commit(repo.root, "a third", "2026-03-13T18:00:00Z", who=TOM)


def found(findings: list[dict[str, Any]], rule: str, where: str) -> list[dict[str, Any]]:
    return [f for f in findings if f["rule"] == rule and where in (f["path"], f["record"])]


CAUGHT: dict[str, tuple[Step, Step, str, str]] = {
    # (on main, on the pull request, a rule, the record or path it must be reported at)
    "records marked binary on main": (
        marked_binary,
        colliding_change,
        "CHG-COLLISION",
        "CHG-2026-0002",
    ),
    "records marked binary by the pull request": (
        nothing,
        attributes_and_colliding_change,
        "CHG-COLLISION",
        "CHG-2026-0002",
    ),
    "a service renamed in the catalog": (nothing, service_renamed, "REF-LINK", "CHG-2026-0001"),
    "a schema tightened": (nothing, schema_tightened, "SCHEMA", "INC-2026-0002"),
    "a file in a record folder that is no record": (
        nothing,
        stray_file,
        "REF-ID",
        "records/incidents/INC-2026-0100.yml",
    ),
    "an edit reverted": (nothing, edited_then_reverted, "GIT-AFTER-CLOSE", "INC-2026-0001"),
    "a record added then deleted": (nothing, added_then_deleted, "GIT-DELETED", "INC-2026-0040"),
    "a runbook renamed to a dot file: deleted": (
        nothing,
        runbook_to_dot_file,
        "GIT-DELETED",
        "RB-0003",
    ),
    "a runbook renamed to a dot file: the catalog names it": (
        nothing,
        runbook_to_dot_file,
        "REF-LINK",
        "records/services.yaml",
    ),
    "a runbook renamed README.md": (nothing, runbook_to_readme, "GIT-DELETED", "RB-0003"),
    "an incident moved into a dot folder": (
        nothing,
        incident_to_dot_folder,
        "GIT-DELETED",
        "INC-2026-0001",
    ),
    "a duplicate of an ID spelled with an escape": (
        escaped_id,
        duplicate_of_escaped,
        "REF-ID",
        ESCAPED,
    ),
    "a nested repository": (nothing, nested_repository, "REF-ID", "records/incidents/2027"),
    "an ignored untracked record": (
        nothing,
        ignored_untracked,
        "SCHEMA",
        "records/incidents/2027/INC-2027-0001.yaml",
    ),
    "a second PIR for an incident: the finding on the other": (
        incident_names_a_pir_to_come,
        second_pir_named,
        "REF-LINK",
        "PIR-2026-0001",
    ),
    "a PIR mentioning a reported incident, reviewing another": (
        pirs_of_another_incident,
        pir_edited,
        "PIR-REVIEW",  # any rule: the gate's report is checked against the full audit's
        "PIR-2026-0001",
    ),
    "an ID held in lower case by another file": (
        lower_case_holder,
        same_id_upper_case,
        "REF-ID",
        "INC-2026-0100",
    ),
    "an approval dated before its parent on the branch": (
        nothing,
        approval_dated_before_its_parent,
        "GIT-BACKDATED",
        "CHG-2026-0003",
    ),
    "an edit git is told to ignore (assume-unchanged)": (
        nothing,
        edit_hidden_from_git("--assume-unchanged"),
        "SCHEMA",
        "INC-2026-0002",
    ),
    "an edit git is told to ignore (skip-worktree)": (
        nothing,
        edit_hidden_from_git("--skip-worktree"),
        "SCHEMA",
        "INC-2026-0002",
    ),
    "a runbook no longer covering a tier-1 service": (
        catalog_without_runbooks,
        runbook_serves_another,
        "RB-COVERAGE",
        "records/services.yaml",
    ),
}


@pytest.mark.parametrize("steps", CAUGHT.values(), ids=list(CAUGHT))
def test_the_gate_catches(
    repo: Repo, cli: InvokeCli, caches: Caches, steps: tuple[Step, Step, str, str]
) -> None:
    on_main, pull_request, rule, where = steps
    warm, cold, full = gate_and_full(repo, cli, caches, on_main, pull_request)
    expected = found(full, rule, where)
    assert expected or rule == "PIR-REVIEW", f"no {rule} at {where}: the case tests nothing"
    assert found(warm, rule, where) == expected
    assert found(cold, rule, where) == expected
    # and for every record the gate reports, the full audit's findings: no more, no fewer
    assert warm == reported(full, repo.root)
    assert cold == warm


def test_a_changed_catalog_is_judged_for_every_record(
    repo: Repo, cli: InvokeCli, caches: Caches
) -> None:
    """A change to what every verdict may read (here the service catalog) makes the gate
    the full audit: the same findings, and a note saying why. Main's history caches are
    read, not written (the pull request's head is not cached as main's)."""
    main_history(repo)
    caches.use(caches.main)
    audit(cli, repo.root)
    held = {f.name: f.read_bytes() for f in caches.main.glob("history-*.bin")}
    assert len(held) >= 3  # the index, the log and the blobs
    # forked before main's head: main's index cannot be continued, the log is read
    git(repo.root, "checkout", "-q", "-b", "pr", "main~1")
    service_renamed(repo)
    result = cli("audit", "--changed-since", "main", "--repo", str(repo.root))
    assert "records/services.yaml changed since main" in result.err
    assert "every record is audited" in result.err
    assert {f.name: f.read_bytes() for f in caches.main.glob("history-*.bin")} == held
    _, warm = audit(cli, repo.root, "--changed-since", "main")
    caches.fresh()
    _, cold = audit(cli, repo.root, "--changed-since", "main")
    caches.fresh()
    _, full = audit(cli, repo.root)
    assert warm == cold == full


@pytest.mark.parametrize("ref", ["--fork-point", "--octopus", "-", ""])
def test_a_ref_git_would_read_as_an_option_is_refused(repo: Repo, cli: InvokeCli, ref: str) -> None:
    main_history(repo)
    git(repo.root, "checkout", "-q", "-b", "pr")
    colliding_change(repo)
    result = cli("audit", f"--changed-since={ref}", "--repo", str(repo.root))
    assert result.status == 2, result.err
    assert "is not a branch, tag or commit" in result.err
    assert len(result.err.strip().splitlines()) == 1


def test_a_long_unknown_ref_is_cut_in_the_message(repo: Repo, cli: InvokeCli) -> None:
    main_history(repo)
    result = cli("audit", "--changed-since", "x" * 5000, "--repo", str(repo.root))
    assert result.status == 2
    assert "unknown ref" in result.err
    assert len(result.err) < 400


def test_an_empty_id_is_no_record_empty_references_find(repo: Repo, cli: InvokeCli) -> None:
    """An incident whose ``id`` is empty is reported for it (SCHEMA), and is not what the
    other incidents' missing references (read as empty) find: no other record gets a
    finding it did not have."""
    main_history(repo)
    _, before = audit(cli, repo.root)
    path = repo.root / INC.format("INC-2026-0002")
    path.write_text(path.read_text().replace("id: INC-2026-0002", 'id: ""'))
    _, after = audit(cli, repo.root)
    assert found(after, "SCHEMA", "records/incidents/INC-2026-0002.yaml")
    others = [f for f in after if f["path"] != "records/incidents/INC-2026-0002.yaml"]
    assert [f for f in others if f not in before] == []


def test_files_checked_counts_each_file_once(repo: Repo, cli: InvokeCli) -> None:
    main_history(repo)
    one = INC.format("INC-2026-0001")
    result = cli("audit", str(repo.root / one), "--repo", str(repo.root))
    assert "1 files checked" in result.err
    folder = Path("records") / ".." / "records" / "incidents"
    result = cli("audit", str(repo.root / folder), "--repo", str(repo.root))
    assert result.status in (0, 1), result.err
    files = sum(1 for p in (repo.root / "records/incidents").rglob("*.yaml"))
    assert f"{files} files checked" in result.err


def test_records_in_a_nested_repository_are_refused_by_every_command(
    repo: Repo, cli: InvokeCli
) -> None:
    """A record folder (or a folder in one) that is a git repository of its own holds
    records whose history is not this repository's: validate and audit refuse it, whether
    given the folder, a file in it or nothing."""
    main_history(repo)
    nested_repository(repo)
    inside = repo.root / "records/incidents/2027/INC-2027-0001.yaml"
    for args in ((), (str(inside),), (str(inside.parent),)):
        result = cli("validate", *args, "--repo", str(repo.root))
        assert result.status == 1, result.err
        assert "records/incidents/2027" in result.out
        assert "a git repository of its own" in result.out
        assert "P9" not in result.out  # never read
    # the record folder itself, and records/ above the record folders
    git(repo.root / "records/changes", "init", "-q")
    result = cli("validate", "--repo", str(repo.root))
    assert "records/changes:1:1: error REF-ID is a git repository of its own" in result.out
    git(repo.root / "records", "init", "-q")
    result = cli("validate", "--repo", str(repo.root))
    assert "records:1:1: error REF-ID is a git repository of its own" in result.out
    assert "INC-2026-0001" not in result.out  # no record under it is read
    # and nothing is written into one
    made = cli("new", "incident", "--repo", str(repo.root), "--title", "x")
    assert made.status == 2 and "is a git repository of its own" in made.err


@pytest.mark.parametrize(("count", "depth"), [(450, 1), (600, 15)], ids=["many", "long"])
def test_a_pull_request_of_many_records_or_long_paths_is_judged_as_the_full_audit(
    repo: Repo, cli: InvokeCli, caches: Caches, count: int, depth: int
) -> None:
    """Beyond what is worth reading path by path (or what fits on git's command line:
    600 paths of about 3,700 characters), the gate reads the whole branch's history: no
    internal error, the full audit's findings."""

    def many(repo: Repo) -> None:
        folder = "records/incidents/" + "/".join(["d" * 240] * depth)
        for n in range(count):
            number = f"INC-2027-{n + 1000:04d}"
            text = CLOSED.replace("INC-2026-0001", number).replace("P3", "P9" if n % 7 else "P3")
            repo.write(f"{folder}/{number}.yaml", text, dedent=False)
        commit(repo.root, "bulk import", "2026-03-10T09:00:00Z", who=TOM)

    warm, cold, full = gate_and_full(repo, cli, caches, nothing, many)
    new = [f for f in full if f["path"].startswith("records/incidents/d")]
    assert len({f["path"] for f in new if f["rule"] == "SCHEMA"}) == count - len(range(0, count, 7))
    assert [f for f in warm if f in new] == new
    assert [f for f in cold if f in new] == new
    assert [f for f in warm if f not in full] == [] == [f for f in cold if f not in full]


def test_a_gitattributes_above_a_nested_governance_repository_widens_the_gate(
    repo: Repo, cli: InvokeCli
) -> None:
    """The governance repository in a folder of a larger one (run without history): a
    .gitattributes above it applies to its files too."""
    outer = repo.root.parent
    repo.write(INC.format("INC-2026-0001"), CLOSED, dedent=False)
    git(outer, "init", "-q", "-b", "main")
    git(outer, "add", "-A")
    git(outer, "commit", "-qm", "start")
    git(outer, "checkout", "-q", "-b", "pr")
    (outer / ".gitattributes").write_text("gov/records/** -diff\n")
    git(outer, "add", "-A")
    git(outer, "commit", "-qm", "attributes")
    result = cli("audit", "--changed-since", "main", "--no-history", "--repo", str(repo.root))
    assert result.status in (0, 1), result.err
    assert "../.gitattributes changed since main" in result.err


def test_the_gate_says_it_leaves_recurring_clusters_to_the_full_audit(
    repo: Repo, cli: InvokeCli, caches: Caches
) -> None:
    """A recurring cluster may hold any incident, which the gate does not load: it leaves
    PRB-CANDIDATE to the full audit of the branch, and says so, never silently."""
    warm, cold, full = gate_and_full(repo, cli, caches, two_in_a_category, a_third_in_the_category)
    assert found(full, "PRB-CANDIDATE", "INC-2026-0022")
    assert not found(warm, "PRB-CANDIDATE", "INC-2026-0022") and cold == warm
    assert warm == [f for f in reported(full, repo.root) if f["rule"] != "PRB-CANDIDATE"]
    result = cli(
        "audit", "--repo", repo.root, "--as-of", AS_OF, "--format", "json",
        "--changed-since", "main",
    )  # fmt: skip
    document = json.loads(result.out)
    assert document["left_to_full_audit"] == ["PRB-CANDIDATE"]
    assert "unavailable" not in document  # nothing is wrong with the pull request
    assert f"opsledger: note: {GATE_LEAVES}: PRB-CANDIDATE\n" in result.err
    full_run = cli("audit", "--repo", repo.root, "--as-of", AS_OF, "--format", "json")
    assert "left_to_full_audit" not in json.loads(full_run.out)
    assert GATE_LEAVES not in full_run.err
