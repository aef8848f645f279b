"""One history decision for every command that needs history.

Real repositories: a full clone, a shallow clone, history rewritten locally with
``git replace --graft`` and with a grafts file, a folder outside git, a repository without
commits. Each command that needs history (audit with GIT-* rules, kpi, report, brief,
history, new, site build) stops with exit status 4 and one line saying what to do, unless
``--no-history`` is given; then every history-derived rule, figure or page says history is
unavailable, and why.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from conftest import ACKED, AS_OF, RUNBOOK, InvokeCli, Repo, git, git_init

SECOND = (
    ACKED.replace("INC-2026-0001", "INC-2026-0002")
    .replace("09:12", "10:12")
    .replace("09:20", "10:20")
)


@pytest.fixture(scope="module")
def origin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A governance repository with three commits (one incident deleted on the way)."""
    from conftest import SERVICES, defaults_dir

    root = tmp_path_factory.mktemp("origin") / "gov"
    shutil.copytree(defaults_dir() / "schemas", root / "schemas")
    shutil.copy(defaults_dir() / "policy.yaml", root / "policy.yaml")
    repo = Repo(root)
    repo.write("records/services.yaml", SERVICES)
    repo.write("runbooks/RB-0003-orders-db-pool.md", RUNBOOK)
    repo.write("records/incidents/INC-2026-0001.yaml", ACKED)
    repo.write("records/incidents/INC-2026-0003.yaml", ACKED.replace("0001", "0003"))
    git_init(root)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "first", date="2026-03-04T10:00:00Z")
    (root / "records/incidents/INC-2026-0003.yaml").unlink()
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "drop a duplicate", date="2026-03-04T11:00:00Z")
    repo.write("records/incidents/INC-2026-0002.yaml", SECOND)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "second", date="2026-03-04T12:00:00Z")
    return root


def _copy(origin: Path, target: Path, how: str) -> Path:
    if how == "shallow":
        git(origin, "clone", "-q", "--depth", "1", f"file://{origin}", str(target))
    elif how in ("full", "replaced", "grafts"):
        git(origin, "clone", "-q", f"file://{origin}", str(target))
        head = git(target, "rev-parse", "HEAD").strip()
        if how == "replaced":
            git(target, "replace", "--graft", head)  # HEAD now claims to be a root commit
        elif how == "grafts":
            (target / ".git/info/grafts").write_text(head + "\n")
    elif how == "no git":
        shutil.copytree(origin, target, ignore=shutil.ignore_patterns(".git"))
    elif how == "partial":  # a sparse checkout leaving the runbooks out
        git(origin, "clone", "-q", f"file://{origin}", str(target))
        git(target, "sparse-checkout", "set", "--no-cone", "/*", "!/runbooks/")
        assert not (target / "runbooks").exists()
    elif how == "owned":  # a CI container running as another user than the checkout's owner
        if os.geteuid() != 0:
            pytest.skip("giving the checkout to another user needs root")
        git(origin, "clone", "-q", f"file://{origin}", str(target))
        for path in [target, *target.rglob("*")]:
            os.lchown(path, 12345, 12345)
    return target


def commands(root: Path, out: Path) -> dict[str, list[str | Path]]:
    return {
        "audit": ["audit", "--repo", root, "--as-of", AS_OF, "--format", "json"],
        "kpi": ["kpi", "--repo", root, "--as-of", AS_OF, "--format", "json"],
        "report": ["report", "weekly", "--period", "2026-W10", "--repo", root, "--as-of", AS_OF],
        "brief": ["brief", "INC-2026-0001", "--repo", root, "--as-of", AS_OF],
        "new": ["new", "incident", "--repo", root, "--as-of", AS_OF],
        "site": ["site", "build", "--repo", root, "--output", out, "--as-of", AS_OF],
        "history": ["history", "INC-2026-0001", "--repo", root],
    }


FIX = {
    "shallow": ("shallow clone", "git fetch --unshallow"),
    "replaced": ("replace refs", "git replace -d"),
    "grafts": ("grafts", "remove that file"),
    "no git": ("no git history here", "git checkout"),
    "owned": ("repository owned by another user", "git config --global --add safe.directory"),
    "partial": ("partial checkout", "git sparse-checkout disable"),
}


@pytest.fixture(autouse=True)
def _no_user_git_config(monkeypatch: pytest.MonkeyPatch) -> None:
    """git as the tests run it: no global or system setting (a safe.directory of the
    machine's) changes what a checkout is."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")


@pytest.mark.parametrize("how", sorted(FIX))
@pytest.mark.parametrize("command", ["audit", "kpi", "report", "brief", "new", "site", "history"])
def test_unusable_history_stops_every_command_with_status_4(
    origin: Path, tmp_path: Path, cli: InvokeCli, how: str, command: str
) -> None:
    root = _copy(origin, tmp_path / "checkout", how)
    before = sorted(p.name for p in (root / "records/incidents").iterdir())
    result = cli(*commands(root, tmp_path / "public")[command])
    reason, fix = FIX[how]
    assert result.status == 4, (result.status, result.err)
    assert result.out == ""
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert f"history unavailable ({reason})" in lines[0] and fix in lines[0]
    assert "--no-history" in lines[0]
    # nothing was written: no new record, no site
    assert sorted(p.name for p in (root / "records/incidents").iterdir()) == before
    assert not (tmp_path / "public").exists()


# (a partial checkout run with --no-history judges the files it has: runbooks left out
# are missing from the coverage, so its audit is not the clean one this test reads)
@pytest.mark.parametrize("how", sorted(set(FIX) - {"partial"}))
def test_no_history_says_what_is_unavailable_and_why(
    origin: Path, tmp_path: Path, cli: InvokeCli, how: str
) -> None:
    root = _copy(origin, tmp_path / "checkout", how)
    reason = FIX[how][0]
    note = f"history unavailable: {reason} (--no-history)"
    run = commands(root, tmp_path / "public")

    audit = cli(*run["audit"], "--no-history")
    assert audit.status == 0, audit.err
    unavailable = json.loads(audit.out)["unavailable"]
    assert {u["rule"] for u in unavailable} >= {"GIT-DELETED", "GIT-AFTER-CLOSE"}
    assert {u["reason"] for u in unavailable} == {note}
    assert f"not run, {note}: GIT-PROVENANCE" in audit.err

    kpis = json.loads(cli(*run["kpi"], "--no-history").out)["kpis"]
    pir = next(k for k in kpis if k["id"] == "pir_on_time_rate")
    assert (pir["value"], pir["status"], pir["notes"]) == (None, "no data", [note])

    report = cli(*run["report"], "--no-history")
    assert report.status == 0, report.err
    assert f"**{note.capitalize()}**" in report.out

    brief = cli(*run["brief"], "--no-history")
    assert brief.status == 0, brief.err
    assert f"Git {note}: the audit trail is not shown." in brief.out

    new = cli(*run["new"], "--no-history")
    assert new.status == 0, new.err
    assert f"{note}: the ID is free in the working tree" in new.err

    site = cli(*run["site"], "--no-history")
    assert site.status == 0, site.err
    page = (tmp_path / "public/incidents/INC-2026-0001.html").read_text(encoding="utf-8")
    assert note in page


def test_full_history_needs_no_flag_and_new_skips_a_deleted_id(
    origin: Path, tmp_path: Path, cli: InvokeCli
) -> None:
    root = _copy(origin, tmp_path / "checkout", "full")
    run = commands(root, tmp_path / "public")
    for name in ("audit", "kpi", "report", "brief", "history"):
        result = cli(*run[name])
        assert result.status in (0, 1), (name, result.err)
        assert "history unavailable" not in result.out, name
    # INC-2026-0003 was used and deleted: never handed out again
    assert cli(*run["new"]).out.strip() == "records/incidents/2026/INC-2026-0004.yaml"


def test_shallow_new_would_have_reused_a_deleted_id(
    origin: Path, tmp_path: Path, cli: InvokeCli
) -> None:
    """Why new needs history: in a shallow clone the deleted INC-2026-0003 is invisible."""
    root = _copy(origin, tmp_path / "checkout", "shallow")
    assert cli("new", "incident", "--repo", root, "--as-of", AS_OF).status == 4
    free = cli("new", "incident", "--repo", root, "--as-of", AS_OF, "--no-history")
    assert free.out.strip() == "records/incidents/2026/INC-2026-0003.yaml"
    assert "IDs used and deleted earlier in history could not be excluded" in free.err


def test_rewritten_history_is_refused_with_a_warm_cache(
    origin: Path, tmp_path: Path, cli: InvokeCli
) -> None:
    """The answer does not depend on the cache: a replace ref added after a full run (cache
    warm) is refused just the same."""
    root = _copy(origin, tmp_path / "checkout", "full")
    assert cli("audit", "--repo", root, "--as-of", AS_OF).status in (0, 1)
    head = git(root, "rev-parse", "HEAD").strip()
    git(root, "replace", "--graft", head)
    result = cli("audit", "--repo", root, "--as-of", AS_OF)
    assert result.status == 4 and "replace refs" in result.err
    git(root, "replace", "-d", head)
    assert cli("audit", "--repo", root, "--as-of", AS_OF).status in (0, 1)


def test_a_repository_without_commits_has_an_empty_usable_history(
    origin: Path, tmp_path: Path, cli: InvokeCli
) -> None:
    root = _copy(origin, tmp_path / "checkout", "no git")
    git_init(root)
    assert cli("audit", "--repo", root, "--as-of", AS_OF).status == 0
    assert cli("new", "incident", "--repo", root, "--as-of", AS_OF).status == 0
    missing = cli("history", "INC-2026-0001", "--repo", root)
    assert missing.status == 2 and "no such record in this branch's history" in missing.err


def test_rules_that_need_no_history_run_in_a_shallow_clone(
    origin: Path, tmp_path: Path, cli: InvokeCli
) -> None:
    root = _copy(origin, tmp_path / "checkout", "shallow")
    result = cli("audit", "--repo", root, "--as-of", AS_OF, "--ignore", "GIT")
    assert result.status == 0, result.err
    assert cli("kpi", "--repo", root, "--as-of", AS_OF, "--kpi", "mtta").status == 0
    assert cli("validate", "--repo", root).status == 0


def test_a_head_git_cannot_read_is_unusable_history(
    origin: Path, tmp_path: Path, cli: InvokeCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A branch pointing at a missing commit, or an object store that lost HEAD, is not an
    empty history: every history rule would pass on nothing."""
    root = _copy(origin, tmp_path / "checkout", "full")
    run = commands(root, tmp_path / "public")
    (root / ".git/refs/heads/main").write_text("0" * 39 + "1\n")
    (root / ".git/packed-refs").unlink(missing_ok=True)
    for name in ("audit", "kpi", "brief", "site"):
        result = cli(*run[name])
        assert result.status == 4, (name, result.err)
        assert "history unavailable (history unreadable)" in result.err, name
    fresh = _copy(origin, tmp_path / "other", "full")
    empty = tmp_path / "no-objects"
    empty.mkdir()
    monkeypatch.setenv("GIT_OBJECT_DIRECTORY", str(empty))
    result = cli("audit", "--repo", fresh, "--as-of", AS_OF, "--select", "GIT")
    assert result.status == 4 and "history unreadable" in result.err


def test_the_gate_in_a_checkout_git_refuses_stops_with_status_4(
    origin: Path, tmp_path: Path, cli: InvokeCli
) -> None:
    root = _copy(origin, tmp_path / "checkout", "owned")
    result = cli("audit", "--repo", root, "--changed-since", "HEAD~1", "--as-of", AS_OF)
    assert result.status == 4, result.err
    assert result.err.strip().splitlines() == [
        "opsledger: error: --changed-since: repository owned by another user: git refuses to "
        "read a repository another user owns (a CI container running as another user than the "
        "checkout's owner); if you trust it, run 'git config --global --add safe.directory "
        f"{root}' and run again"
    ]


def test_a_sparse_checkout_leaving_out_files_nothing_reads_is_usable(
    origin: Path, tmp_path: Path, cli: InvokeCli
) -> None:
    root = _copy(origin, tmp_path / "checkout", "full")
    (root / "assets").mkdir()
    (root / "assets/logo.svg").write_text("<svg/>\n")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "a logo", date="2026-03-04T13:00:00Z")
    git(root, "sparse-checkout", "set", "--no-cone", "/*", "!/assets/")
    assert not (root / "assets").exists()
    result = cli(*commands(root, tmp_path / "public")["audit"])
    assert result.status in (0, 1) and "history unavailable" not in result.err, result.err


def test_an_unborn_branch_is_an_empty_history(origin: Path, tmp_path: Path, cli: InvokeCli) -> None:
    root = _copy(origin, tmp_path / "checkout", "full")
    git(root, "checkout", "-q", "--orphan", "fresh")
    assert cli("audit", "--repo", root, "--as-of", AS_OF, "--select", "GIT").status == 0


def test_a_governance_folder_inside_a_larger_git_repository(
    origin: Path, tmp_path: Path, cli: InvokeCli
) -> None:
    """History is read with paths from the git root: inside a monorepo it would find no
    record and pass every history rule. Refused, with what to do."""
    parent = tmp_path / "monorepo"
    _copy(origin, parent / "gov", "no git")
    git_init(parent)
    git(parent, "add", "-A")
    git(parent, "commit", "-q", "-m", "everything")
    gov = parent / "gov"
    result = cli("audit", "--repo", gov, "--as-of", AS_OF)
    assert result.status == 4
    assert "inside a larger git repository" in result.err and "--no-history" in result.err
    assert cli("audit", "--repo", gov, "--as-of", AS_OF, "--no-history").status == 0
    assert cli("validate", "--repo", gov).status == 0


def test_usage_errors_come_before_the_history_decision(
    origin: Path, tmp_path: Path, cli: InvokeCli
) -> None:
    root = _copy(origin, tmp_path / "checkout", "shallow")
    into_records = root / "records/incidents/INC-2026-0001.yaml"
    result = cli("audit", "--repo", root, "--as-of", AS_OF, "--output", into_records)
    assert result.status == 2 and "records" in result.err
    unknown = cli("new", "pir", "--repo", root, "--incident", "INC-2026-0999", "--as-of", AS_OF)
    assert unknown.status == 2 and "no such incident" in unknown.err
    bad = cli("kpi", "--repo", root, "--as-of", "yesterday")
    assert bad.status == 2


def test_selecting_only_history_rules_without_history_is_a_usage_error(
    origin: Path, tmp_path: Path, cli: InvokeCli
) -> None:
    """Running no rule is a usage error, also when every selected rule needs history."""
    root = _copy(origin, tmp_path / "checkout", "shallow")
    result = cli("audit", "--repo", root, "--as-of", AS_OF, "--select", "GIT", "--no-history")
    assert result.status == 2 and "no rule would run" in result.err
    mixed = cli("audit", "--repo", root, "--as-of", AS_OF, "--select", "GIT,INC", "--no-history")
    assert mixed.status == 0 and "not run" in mixed.err
