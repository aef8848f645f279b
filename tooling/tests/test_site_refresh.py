"""``site serve``'s partial rebuild gives exactly the site a full build gives.

Each test builds a repository keeping the build (as ``site serve`` does), changes records,
refreshes, and compares every file of the refreshed site with a fresh full build of the
changed repository made with an empty record and history cache (the refresh ran with the
cache the first build filled): byte for byte, nothing left out.
"""

from __future__ import annotations

import gc
import os
from pathlib import Path

import pytest

from opsledger.site import carry as carry_module
from opsledger.site.build import (
    BuildResult,
    build_site,
    changed_files,
    records_only,
    refresh_site,
    snapshot,
    watched,
)
from opsledger.timeutil import parse_timestamp

from conftest import ACKED, PROJECT, RUNBOOK, Repo, git, git_init, same_tree

AS_OF = parse_timestamp("2026-04-01T00:00:00Z")
CHANGE = """\
id: CHG-2026-0001
title: Raise the orders-db connection pool
type: normal
status: implemented
service: orders-db
risk: low
requested_by: lena.fischer@example.com
planned_start: 2026-03-10T20:00:00Z
planned_end: 2026-03-10T21:00:00Z
implementation_plan: Raise default_pool_size from 40 to 80 on the pgbouncer deployment.
rollback_plan: Set default_pool_size back to 40 and restart the pgbouncer pods.
approvals:
  - by: omar.haddad@example.com
    at: 2026-03-09T10:00:00Z
"""


@pytest.fixture(autouse=True)
def _fixed_build_date(monkeypatch: pytest.MonkeyPatch) -> None:
    """MkDocs dates the sitemap with the day it builds: fixed, so a test run that crosses
    midnight compares like with like."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(AS_OF.timestamp())))


def _repo(repo: Repo, own_config: bool) -> Repo:
    if own_config:
        repo.write("mkdocs.yml", (PROJECT / "mkdocs.yml").read_text(), dedent=False)
        repo.write("site/index.md", "# Ledger\n\nHand-written home page.\n")
    repo.write("records/incidents/INC-2026-0001.yaml", ACKED)
    repo.write(
        "records/incidents/INC-2026-0002.yaml",
        ACKED.replace("INC-2026-0001", "INC-2026-0002").replace("P3", "P2"),
    )
    repo.write("records/changes/CHG-2026-0001.yaml", CHANGE)
    repo.write("runbooks/RB-0003.md", RUNBOOK)
    git_init(repo.root)
    git(repo.root, "add", "-A")
    git(repo.root, "commit", "-q", "-m", "records")
    return repo


def _build(repo: Repo, out: Path, *, keep: bool = False) -> BuildResult:
    return build_site(repo.root, output=out, as_of=AS_OF, keep=keep)


def _fresh(repo: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> Path:
    """A full build of the repository as it is now, with an empty cache."""
    monkeypatch.setenv("OPSLEDGER_CACHE_DIR", str(tmp_path / f"cold-cache-{name}"))
    out = tmp_path / f"full-{name}"
    _build(repo, out)
    return out


@pytest.mark.parametrize("own_config", [True, False], ids=["mkdocs.yml", "packaged"])
def test_a_changed_record_refreshes_to_the_full_build(
    repo: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, own_config: bool
) -> None:
    _repo(repo, own_config)
    served = tmp_path / "served"
    kept = _build(repo, served, keep=True)
    record = repo.root / "records/incidents/INC-2026-0001.yaml"
    title = "Orders database connection pool exhausted"
    record.write_text(ACKED.replace(title, "Checkout <b>errors</b>"), encoding="utf-8")
    pages = refresh_site(kept)
    assert pages is not None
    assert "incidents/INC-2026-0001.md" in pages and "incidents/index.md" in pages
    assert "incidents/INC-2026-0002.md" not in pages and "runbooks/RB-0003.md" not in pages
    assert same_tree(served, _fresh(repo, tmp_path, monkeypatch, "1")) > 20
    # a second change on the same kept build: the refreshed state is itself refreshable
    record.write_text(ACKED.replace("P3", "P4"), encoding="utf-8")
    again = refresh_site(kept)
    assert again is not None and "incidents/INC-2026-0001.md" in again
    same_tree(served, _fresh(repo, tmp_path, monkeypatch, "2"))


def test_a_refresh_reads_history_again_only_after_a_commit(
    repo: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The history index (and the audit trails and bodies made from it) is carried from
    one build to the next while HEAD stays; after a commit the refreshed site shows it,
    as a full build does. (The hour is part of what is carried: fixed here, so a run
    across the hour reads the same.)"""
    monkeypatch.setattr(carry_module, "_hour", lambda: "2026-04-01T00")
    _repo(repo, True)
    served = tmp_path / "served"
    kept = _build(repo, served, keep=True)
    assert kept.plugin is not None and kept.plugin.carry is not None
    carry = kept.plugin.carry
    first = carry.history
    assert first is not None and carry.trails and carry.bodies
    book = repo.root / "runbooks/RB-0003.md"
    book.write_text(RUNBOOK.replace("one at a time", "one **at a time**"), encoding="utf-8")
    pages = refresh_site(kept)
    assert pages is not None and "runbooks/RB-0003.md" in pages
    assert carry.history is first  # HEAD unchanged: the same index, not read again
    assert "<strong>at a time</strong>" in (served / "runbooks/RB-0003.html").read_text()
    same_tree(served, _fresh(repo, tmp_path, monkeypatch, "body"))
    record = repo.root / "records/incidents/INC-2026-0001.yaml"
    record.write_text(ACKED.replace("a fifth", "a quarter"), encoding="utf-8")
    git(repo.root, "commit", "-qam", "impact", date="2026-03-20T10:00:00Z")
    record.write_text(ACKED.replace("a fifth", "a third"), encoding="utf-8")
    pages = refresh_site(kept)
    assert pages is not None and "incidents/INC-2026-0001.md" in pages
    assert carry.history is not None and carry.history is not first
    assert "impact: Checkout" in (served / "incidents/INC-2026-0001.html").read_text()
    same_tree(served, _fresh(repo, tmp_path, monkeypatch, "commit"))
    # an hour later the index is read again, whatever else stays
    again = carry.history
    monkeypatch.setattr(carry_module, "_hour", lambda: "2026-04-01T01")
    record.write_text(ACKED.replace("a fifth", "a half"), encoding="utf-8")
    assert refresh_site(kept) is not None and carry.history is not again


def test_a_change_nothing_shows_renders_nothing_again(repo: Repo, tmp_path: Path) -> None:
    _repo(repo, True)
    served = tmp_path / "served"
    kept = _build(repo, served, keep=True)
    before = {p: p.stat().st_mtime_ns for p in served.rglob("*.html")}
    record = repo.root / "records/incidents/INC-2026-0002.yaml"
    record.write_text(record.read_text() + "# a comment: no field changed\n", encoding="utf-8")
    assert refresh_site(kept) == []
    assert {p: p.stat().st_mtime_ns for p in served.rglob("*.html")} == before


def test_an_added_record_needs_a_full_build(repo: Repo, tmp_path: Path) -> None:
    """A new page changes the set of pages (links, navigation, sitemap): refresh says so."""
    _repo(repo, True)
    kept = _build(repo, tmp_path / "served", keep=True)
    repo.write(
        "records/incidents/INC-2026-0003.yaml",
        ACKED.replace("INC-2026-0001", "INC-2026-0003"),
    )
    assert refresh_site(kept) is None


def test_a_build_not_kept_cannot_be_refreshed(repo: Repo, tmp_path: Path) -> None:
    _repo(repo, True)
    assert refresh_site(_build(repo, tmp_path / "out")) is None


def test_a_refreshed_site_keeps_the_files_it_did_not_render(repo: Repo, tmp_path: Path) -> None:
    """The record pages nothing changed are the ones written by the first build."""
    _repo(repo, True)
    served = tmp_path / "served"
    kept = _build(repo, served, keep=True)
    untouched = served / "runbooks" / "RB-0003.html"
    stamp = untouched.stat().st_mtime_ns
    os.utime(untouched, ns=(stamp - 10**9, stamp - 10**9))
    record = repo.root / "records/incidents/INC-2026-0001.yaml"
    record.write_text(ACKED.replace("P3", "P2"), encoding="utf-8")
    assert refresh_site(kept)
    assert untouched.stat().st_mtime_ns == stamp - 10**9


def test_serve_refreshes_after_record_changes_only(repo: Repo, tmp_path: Path) -> None:
    """What ``site serve`` refreshes after, and what it builds in full after."""
    _repo(repo, True)
    paths = watched(repo.root)
    seen = snapshot(paths)
    record = repo.root / "records/incidents/INC-2026-0001.yaml"
    record.write_text(ACKED.replace("P3", "P2"), encoding="utf-8")
    repo.write("runbooks/RB-0003.md", RUNBOOK.replace("15 minutes", "10 minutes"))
    now = snapshot(paths)
    changed = changed_files(seen, now)
    assert changed == {str(record), str(repo.root / "runbooks/RB-0003.md")}
    assert records_only(repo.root, changed)
    for rel in ("policy.yaml", "site/extra.md", "mkdocs.yml", "schemas/incident.schema.json"):
        path = repo.root / rel
        path.write_text(path.read_text() + "\n" if path.exists() else "# Extra\n")
        later = snapshot(paths)
        assert str(path) in changed_files(now, later), rel
        assert not records_only(repo.root, changed_files(now, later)), rel
        now = later


def test_a_held_text_utf8_cannot_carry_differs_from_any_bytes() -> None:
    """A page held as a text with a lone surrogate (no UTF-8 carries it) compared with a
    page held as bytes: different, and no error (the refresh renders it again)."""
    from mkdocs.structure.files import File

    from opsledger.site.refresh import _same

    page = File("incidents/INC-1.md", None, "/nowhere", use_directory_urls=False)
    page.content_string = "lone \ud800"
    assert not _same(page, "lone \ud800".encode("utf-8", "surrogatepass"))
    assert _same(page, "lone \ud800")
    page.content_bytes = "Zürich".encode()
    assert _same(page, "Zürich".encode()) and not _same(page, b"Zurich")


def test_serving_leaves_no_garbage_out_of_the_collectors_reach(repo: Repo, tmp_path: Path) -> None:
    """Each rebuild's loading hides what is alive from the cyclic collector (gc.freeze);
    the garbage the rebuild before left (the rendered pages' element trees hold reference
    cycles) is collected first, so a served site does not grow with every edit."""
    _repo(repo, True)
    kept = _build(repo, tmp_path / "served", keep=True)
    record = repo.root / "records/incidents/INC-2026-0001.yaml"
    title = "Orders database connection pool exhausted"
    frozen = []
    try:
        for n in range(8):
            record.write_text(ACKED.replace(title, f"Checkout errors, take {n}"), encoding="utf-8")
            assert refresh_site(kept)
            frozen.append(gc.get_freeze_count())
    finally:
        gc.unfreeze()
    # the first rebuilds may fill caches that live on; from then on nothing accumulates
    assert frozen[-1] - frozen[3] < 100, frozen
