"""Adoption without this repository's source: the demo builds with plain MkDocs, the site
server rebuilds on edits, the package declares its licence and version once."""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import time
import tomllib
import urllib.request
from importlib import metadata
from pathlib import Path

import pytest

import opsledger
from opsledger.scaffold import SITE_FILES, site_files
from opsledger.site.build import snapshot, watched

from conftest import ACKED, PROJECT, InvokeCli, Repo, git, git_init

BIN = Path(sys.executable).parent


def test_demo_writes_the_site_sources_init_writes_and_plain_mkdocs_builds(
    cli: InvokeCli, tmp_path: Path
) -> None:
    demo = tmp_path / "demo"
    assert cli("demo", demo, "--months", "1").status == 0
    init = tmp_path / "init"
    assert cli("init", init).status == 0
    for rel in SITE_FILES:
        assert (demo / rel).read_bytes() == (init / rel).read_bytes(), rel
    assert dict(site_files()) == {rel: (init / rel).read_bytes() for rel in SITE_FILES}
    assert git(demo, "status", "--porcelain") == ""  # committed, in the adoption commit
    result = subprocess.run(
        [str(BIN / "mkdocs"), "build", "--strict"],
        cwd=demo,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert (demo / "public/index.html").is_file()
    assert any((demo / "public/incidents").glob("INC-*.html"))


def test_site_serve_watches_records_policy_schemas_and_site_pages(repo: Repo) -> None:
    repo.write("mkdocs.yml", (PROJECT / "mkdocs.yml").read_text(), dedent=False)
    repo.write("site/index.md", "# Ledger\n")
    paths = watched(repo.root)
    root = repo.root
    for expected in ("records", "runbooks", "schemas", "policy.yaml", "mkdocs.yml", "site"):
        assert root / expected in paths, expected
    before = snapshot(paths)
    for rel, text in (
        ("records/incidents/INC-2026-0001.yaml", ACKED),
        ("policy.yaml", (root / "policy.yaml").read_text() + "\n# edited\n"),
        ("site/about.md", "# About\n"),
        ("runbooks/RB-0001-x.md", "---\nid: RB-0001\n---\n"),
    ):
        repo.write(rel, text, dedent=False)
        after = snapshot(paths)
        assert after != before, rel
        before = after
    (root / "site/about.md").unlink()
    assert snapshot(paths) != before
    # a docs_dir of another name is watched instead of site/
    repo.write("mkdocs.yml", "site_name: x\ndocs_dir: pages\n")
    assert root / "pages" in watched(repo.root) and root / "site" not in watched(repo.root)


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        text: str = response.read().decode("utf-8")
        return text


def _wait_for(check: object, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if callable(check) and check():
                return
        # not served yet, or a page read while the rebuild rewrote it (its length changed
        # under the response: http.client.IncompleteRead); asked again
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(0.5)
    raise AssertionError("the served site did not change")


def test_site_serve_rebuilds_when_a_record_changes(repo: Repo, tmp_path: Path) -> None:
    repo.write("mkdocs.yml", (PROJECT / "mkdocs.yml").read_text(), dedent=False)
    repo.write("site/index.md", "# Ledger\n")
    record = repo.write("records/incidents/INC-2026-0001.yaml", ACKED)
    git_init(repo.root)
    git(repo.root, "add", "-A")
    git(repo.root, "commit", "-q", "-m", "records")
    log = tmp_path / "serve.log"
    with (
        log.open("w") as errors,
        subprocess.Popen(
            [str(BIN / "opsledger"), "site", "serve", "--port", "0", "--repo", str(repo.root)],
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
            env={**os.environ, "CI": "1"},
        ) as process,
    ):
        try:
            assert process.stdout is not None
            first = process.stdout.readline()
            assert first.startswith("Serving "), first + log.read_text()
            base = first.split(" at ", 1)[1].split(" ", 1)[0]
            page = base + "incidents/INC-2026-0001.html"
            assert "Unmistakable new title" not in _get(page)
            title = next(t for t in ACKED.splitlines() if t.startswith("title:"))
            record.write_text(record.read_text().replace(title, "title: Unmistakable new title"))
            _wait_for(lambda: "Unmistakable new title" in _get(page))
            _wait_for(lambda: "Rebuilt the site" in log.read_text())
            # a full build that fails once MkDocs has begun (a site page no UTF-8) says
            # why; the last good site stays served, every page of it; mended, it is
            # built again
            extra = repo.write_bytes("site/extra.md", b"# Extra \xff\n")
            _wait_for(lambda: "site/extra.md: not valid UTF-8" in log.read_text())
            assert "Unmistakable new title" in _get(page)
            assert "INC-2026-0001" in _get(base + "incidents/")
            extra.unlink()
            _wait_for(lambda: log.read_text().count("Rebuilt the site (in full)") >= 1)
            assert "Unmistakable new title" in _get(page)
        finally:
            process.terminate()
            process.wait(timeout=30)


def test_version_is_defined_once() -> None:
    project = tomllib.loads((PROJECT / "pyproject.toml").read_text())["project"]
    assert "version" not in project and project["dynamic"] == ["version"]
    assert metadata.version("opsledger") == opsledger.__version__
    shown = subprocess.run(
        [str(BIN / "opsledger"), "--version"], capture_output=True, text=True, check=True
    ).stdout
    assert shown.strip() == f"opsledger, version {opsledger.__version__}"


def test_licence_file_matches_the_declared_licence() -> None:
    project = tomllib.loads((PROJECT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "Apache-2.0"
    assert project["license-files"] == ["LICENSE"]
    text = (PROJECT / "LICENSE").read_text()
    assert text.split()[:4] == ["Apache", "License", "Version", "2.0,"]
    assert "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION" in text
    assert project["requires-python"] == ">=3.11"
    classifiers = project["classifiers"]
    assert "Programming Language :: Python :: 3.11" in classifiers
    assert not any(c.startswith("License ::") for c in classifiers)  # SPDX expression only


@pytest.mark.parametrize("rel", ["action.yml", "LICENSE", ".pre-commit-hooks.yaml"])
def test_repository_root_files_exist(rel: str) -> None:
    assert (PROJECT / rel).is_file()
