"""Nothing is lost through an output path: ``site build --output`` (MkDocs empties the
folder), ``site_dir`` of ``mkdocs.yml`` under plain ``mkdocs build``, and ``--output`` of every
command that writes a file never delete or overwrite what the repository governs."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ACKED, PROJECT, RUNBOOK, InvokeCli, Repo, git, git_init

AS_OF = "2026-03-31T12:00:00Z"


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (links as their target text), with its SHA-256."""
    seen: dict[str, str] = {}
    for here, dirs, files in os.walk(folder):
        for name in [*dirs, *files]:
            path = Path(here, name)
            rel = path.relative_to(folder).as_posix()
            if rel.startswith(".git/opsledger"):
                continue  # the tool's own state (history cache key, locks), not an output
            if path.is_symlink():
                seen[rel] = "-> " + os.readlink(path)
            elif path.is_file():
                seen[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return seen


@pytest.fixture
def gov(repo: Repo) -> Repo:
    """A committed repository with the site sources (mkdocs.yml, site/), a record and a
    runbook."""
    shutil.copy(PROJECT / "tooling/opsledger/defaults/init/mkdocs.yml", repo.root / "mkdocs.yml")
    repo.write("site/index.md", "# Our ledger\n")
    repo.write("records/incidents/INC-2026-0001.yaml", ACKED)
    repo.write("runbooks/RB-0003-orders-db-pool.md", RUNBOOK)
    git_init(repo.root)
    git(repo.root, "add", "-A")
    git(repo.root, "commit", "-q", "-m", "records")
    return repo


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


# --- site build --output --------------------------------------------------------------------

REFUSED_FOLDERS = [
    "records",
    "records/",
    "records/incidents",
    "records/../records",
    "./runbooks",
    "schemas",
    "site",
    "site/overrides",
    ".",
    "..",
    ".git",
    ".git/opsledger-site",
    ".github",
    ".gitlab",
]


@pytest.mark.parametrize("output", REFUSED_FOLDERS)
def test_site_build_refuses_governed_folders(
    gov: Repo, cli: InvokeCli, output: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = snapshot(gov.root)
    monkeypatch.chdir(gov.root)
    result = cli("site", "build", "--output", output, "--as-of", AS_OF)
    assert result.status == 2, result.err
    assert one_line(result.err).startswith(f"opsledger: error: --output {Path(output)}")
    assert snapshot(gov.root) == before


def test_site_build_refuses_links_to_governed_folders_and_the_root(
    gov: Repo, cli: InvokeCli, tmp_path: Path
) -> None:
    before = snapshot(gov.root)
    for name, target in (("to-records", gov.root / "records"), ("to-parent", tmp_path)):
        link = tmp_path / name
        link.symlink_to(target, target_is_directory=True)
        result = cli("site", "build", "--repo", gov.root, "--output", link, "--as-of", AS_OF)
        assert result.status == 2, result.err
        assert "governance repository" in one_line(result.err) or "governs" in result.err
    assert snapshot(gov.root) == before


def test_site_build_refuses_a_folder_of_other_files(
    gov: Repo, cli: InvokeCli, tmp_path: Path
) -> None:
    """A folder that is not a site built before (source code, someone's documents, another
    repository) is never emptied, inside the repository or outside it."""
    gov.write("tooling/app.py", "print('hello')\n")
    other = tmp_path / "documents"
    other.mkdir()
    (other / "thesis.odt").write_text("years of work")
    clone = tmp_path / "other-repo"
    shutil.copytree(gov.root / "records", clone / "records")
    (clone / ".git").mkdir()
    before = snapshot(tmp_path)
    for output in (gov.root / "tooling", other, clone, tmp_path):
        result = cli("site", "build", "--repo", gov.root, "--output", output, "--as-of", AS_OF)
        assert result.status == 2, (output, result.err)
        one_line(result.err)
    assert snapshot(tmp_path) == before


def test_site_build_into_new_empty_and_earlier_site_folders(
    gov: Repo, cli: InvokeCli, tmp_path: Path
) -> None:
    inside = gov.root / "public"
    empty = tmp_path / "empty"
    empty.mkdir()
    for output in (inside, empty, tmp_path / "new/site", inside):
        result = cli("site", "build", "--repo", gov.root, "--output", output, "--as-of", AS_OF)
        assert result.status == 0, result.err
        assert (output / "index.html").is_file()
    # a site opsledger built before is rebuilt in place: its mark says so
    assert (inside / ".opsledger-site").is_file()
    (inside / "old-page.html").write_text("<p>gone</p>")
    result = cli("site", "build", "--repo", gov.root, "--output", inside, "--as-of", AS_OF)
    assert result.status == 0, result.err
    assert not (inside / "old-page.html").exists()


def test_site_build_never_empties_a_folder_it_did_not_build(
    gov: Repo, cli: InvokeCli, tmp_path: Path
) -> None:
    """An index.html proves nothing (a GitHub Pages docs/ folder, a site another tool
    built, a home folder holding one): without the mark opsledger leaves in a site it
    built, the folder is refused and nothing in it is touched."""
    pages = tmp_path / "pages"
    (pages / "photos").mkdir(parents=True)
    (pages / "index.html").write_text("<html>")
    (pages / "thesis.docx").write_text("precious")
    (pages / "photos/p.jpg").write_text("x")
    for also in ("sitemap.xml", "404.html"):
        before = snapshot(tmp_path)
        result = cli("site", "build", "--repo", gov.root, "--output", pages, "--as-of", AS_OF)
        assert result.status == 2, result.err
        assert ".opsledger-site" in one_line(result.err)
        assert snapshot(tmp_path) == before
        (pages / also).write_text("<x/>")


def _mkdocs(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    mkdocs = Path(sys.executable).parent / "mkdocs"
    return subprocess.run(
        [str(mkdocs), "build", "-q"], cwd=root, env=env, capture_output=True, text=True
    )


@pytest.mark.parametrize("site_dir", ["records", "schemas", "runbooks/", "records/../records"])
def test_site_dir_of_mkdocs_yml_in_governed_folders_is_refused(
    gov: Repo, cli: InvokeCli, site_dir: str
) -> None:
    """Plain ``mkdocs build`` (the plugin refuses in on_config, before MkDocs empties the
    folder) and ``opsledger site build`` (one line, exit 2)."""
    config = gov.root / "mkdocs.yml"
    config.write_text(config.read_text() + f"site_dir: {site_dir}\n")
    before = snapshot(gov.root.parent)
    proc = _mkdocs(gov.root)
    assert proc.returncode != 0
    assert "site_dir" in proc.stderr
    assert snapshot(gov.root.parent) == before
    result = cli("site", "build", "--repo", gov.root, "--as-of", AS_OF)
    assert result.status == 2
    assert "site_dir" in one_line(result.err)
    assert snapshot(gov.root.parent) == before


@pytest.mark.parametrize("site_dir", [".", ".."])
def test_site_dir_holding_the_docs_dir_is_refused_by_mkdocs_itself(
    gov: Repo, cli: InvokeCli, site_dir: str
) -> None:
    config = gov.root / "mkdocs.yml"
    config.write_text(config.read_text() + f"site_dir: {site_dir}\n")
    before = snapshot(gov.root.parent)
    assert _mkdocs(gov.root).returncode != 0
    assert cli("site", "build", "--repo", gov.root, "--as-of", AS_OF).status == 2
    assert snapshot(gov.root.parent) == before


def test_plain_mkdocs_build_into_public_still_works(gov: Repo) -> None:
    assert _mkdocs(gov.root).returncode == 0
    assert _mkdocs(gov.root).returncode == 0  # and again over its own earlier build
    assert (gov.root / "public/index.html").is_file()


# --- --output FILE of every command ---------------------------------------------------------

COMMANDS = [
    ("audit", "--as-of", AS_OF),
    ("validate",),
    ("kpi", "--as-of", AS_OF),
    ("report", "weekly", "--period", "2026-W10", "--as-of", AS_OF),
    ("brief", "INC-2026-0001"),
]
GOVERNED_FILES = [
    "policy.yaml",
    "mkdocs.yml",
    "records/incidents/INC-2026-0001.yaml",
    "records/services.yaml",
    "records/incidents/INC-2026-0002.yaml",  # a new file in a record folder
    "records/../policy.yaml",
    "schemas/incident.schema.json",
    "runbooks/RB-0003-orders-db-pool.md",
    "site/index.md",
    ".git/config",
    ".github/workflows/governance.yml",
    ".github/CODEOWNERS",
    ".gitlab-ci.yml",  # GitLab's CI configuration, written by init --ci gitlab
    ".gitlab/CODEOWNERS",
    "docs/CODEOWNERS",
    "CODEOWNERS",
    ".pre-commit-config.yaml",
    ".gitattributes",
]


@pytest.mark.parametrize("command", COMMANDS, ids=[c[0] for c in COMMANDS])
def test_output_never_overwrites_governed_files(
    gov: Repo, cli: InvokeCli, command: tuple[str, ...]
) -> None:
    before = snapshot(gov.root)
    for output in GOVERNED_FILES:
        result = cli(*command, "--repo", gov.root, "--output", gov.root / output)
        assert result.status == 2, (output, result.err)
        assert one_line(result.err).startswith("opsledger: error: --output ")
    assert snapshot(gov.root) == before
    ok = cli(*command, "--repo", gov.root, "--output", gov.root / "out/report.txt")
    assert ok.status in (0, 1), ok.err
    assert (gov.root / "out/report.txt").is_file()


def test_output_through_a_link_is_refused(gov: Repo, cli: InvokeCli, tmp_path: Path) -> None:
    """A link committed in a pull request (``audit.json -> records/…`` or to a file outside
    the repository), or a hard link to policy.yaml, never gets the output written through
    it."""
    (gov.root / "audit.json").symlink_to("records/incidents/INC-2026-0001.yaml")
    outside = tmp_path / "bashrc"
    outside.write_text("# mine\n")
    (gov.root / "kpi.json").symlink_to(outside)
    os.link(gov.root / "policy.yaml", gov.root / "report.md")
    before = snapshot(gov.root)
    assert cli("audit", "--repo", gov.root, "--output", gov.root / "audit.json").status == 2
    assert cli("kpi", "--repo", gov.root, "--output", gov.root / "kpi.json").status == 2
    hard = cli("audit", "--repo", gov.root, "--output", gov.root / "report.md")
    assert hard.status == 2 and "hard links" in hard.err
    assert snapshot(gov.root) == before and outside.read_text() == "# mine\n"
    assert cli("kpi", "--repo", gov.root, "--output", "/dev/null").status == 0  # not a file


def test_output_into_another_governance_repository_is_refused(
    gov: Repo, cli: InvokeCli, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    shutil.copytree(gov.root, other, symlinks=True)
    before = snapshot(other)
    result = cli("audit", "--repo", gov.root, "--output", other / "policy.yaml")
    assert result.status == 2 and str(other) in result.err
    assert snapshot(other) == before


def test_import_problems_file_is_checked_before_importing(gov: Repo, cli: InvokeCli) -> None:
    export = PROJECT / "tooling/tests/data/servicenow-incident-events-sample.csv"
    before = snapshot(gov.root)
    for output in ("policy.yaml", "records/incidents/problems.csv", "schemas/x.csv"):
        result = cli(
            "import", "servicenow", export, "--repo", gov.root, "--timezone", "Europe/London",
            "--problems", gov.root / output,
        )  # fmt: skip
        assert result.status == 2, result.err
        assert one_line(result.err).startswith("opsledger: error: --problems ")
    assert snapshot(gov.root) == before
