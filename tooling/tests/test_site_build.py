"""Building the site: plain ``mkdocs build`` and ``opsledger site build`` on small
repositories, the history notices, and bad configurations as one clear error."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from opsledger.site.generate import NAV

from conftest import ACKED, RUNBOOK, Repo, git, git_init

AS_OF = "2026-03-31T12:00:00Z"
PROJECT = Path(__file__).resolve().parents[2]


def _site_files(repo: Repo) -> None:
    shutil.copy(PROJECT / "tooling/opsledger/defaults/init/mkdocs.yml", repo.root / "mkdocs.yml")
    repo.write("site/index.md", "# Our ledger\n\nHand-written introduction.\n")


def _records(repo: Repo) -> None:
    repo.write("records/incidents/INC-2026-0001.yaml", ACKED)
    repo.write("runbooks/RB-0003-orders-db-pool.md", RUNBOOK)


def _build(cli, repo: Repo, out: Path, *extra: str):  # type: ignore[no-untyped-def]
    # outside git the site is built only with --no-history (pages then say why)
    flags = () if (repo.root / ".git").exists() else ("--no-history",)
    return cli(
        "site", "build", "--repo", repo.root, "--output", out, "--as-of", AS_OF, *flags, *extra
    )


def test_plain_mkdocs_build_from_the_root(repo: Repo, tmp_path: Path) -> None:
    _site_files(repo)
    _records(repo)
    git_init(repo.root)  # a governance repository: its history is what the site shows
    git(repo.root, "add", "-A")
    git(repo.root, "commit", "-q", "-m", "records")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    mkdocs = Path(sys.executable).parent / "mkdocs"
    proc = subprocess.run(
        [str(mkdocs), "build", "-q"], cwd=repo.root, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    public = repo.root / "public"
    home = (public / "index.html").read_text(encoding="utf-8")
    assert "Hand-written introduction." in home and "Key indicators" in home
    assert (public / "incidents/INC-2026-0001.html").is_file()
    assert (public / "downloads/incidents.csv").is_file()
    assert not (repo.root / "site/incidents").exists()  # nothing generated into site/
    nav = home.split('data-md-component="sidebar" data-md-type="navigation"', 1)[1]
    nav = nav.split('data-md-type="toc"', 1)[0]
    assert "INC-2026-0001" not in nav  # record pages stay out of the navigation
    assert "Incidents" in nav


def test_site_build_uses_the_packaged_config_without_mkdocs_yml(
    repo: Repo,
    cli,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    _records(repo)
    result = _build(cli, repo, tmp_path / "out")
    assert result.status == 0, result.err
    assert result.out.strip() == str(tmp_path / "out" / "index.html")
    assert "packaged default configuration" in result.err
    for entry in NAV:
        for value in entry.values():
            pages = [value] if isinstance(value, str) else [p for d in value for p in d.values()]
            for page in pages:
                assert (tmp_path / "out" / page.replace(".md", ".html")).is_file(), page


def test_history_notices(repo: Repo, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _records(repo)
    assert _build(cli, repo, tmp_path / "nogit").status == 0
    page = (tmp_path / "nogit/incidents/INC-2026-0001.html").read_text(encoding="utf-8")
    assert "no git history" in page

    git_init(repo.root)
    git(repo.root, "add", "-A")
    git(
        repo.root,
        "commit",
        "-q",
        "-m",
        "records",
        date="2026-03-04T10:00:00Z",
        who="Lena Fischer <lena.fischer@example.com>",
    )
    repo.write(
        "records/incidents/INC-2026-0001.yaml",
        ACKED.replace("status: open", "status: mitigated") + "mitigated_at: 2026-03-04T10:30:00Z\n",
    )
    git(
        repo.root,
        "commit",
        "-q",
        "-am",
        "mitigated",
        date="2026-03-04T11:00:00Z",
        who="Omar Haddad <omar.haddad@example.com>",
    )
    assert _build(cli, repo, tmp_path / "full").status == 0
    page = (tmp_path / "full/incidents/INC-2026-0001.html").read_text(encoding="utf-8")
    trail = page.split('id="audit-trail"', 1)[1]
    assert "Lena Fischer" in trail and "Omar Haddad" in trail
    assert "status: open → mitigated" in trail
    assert "mitigated_at: (none) → 2026-03-04T10:30:00Z" in trail

    clone = tmp_path / "shallow"
    subprocess.run(
        ["git", "clone", "-q", "--depth", "1", f"file://{repo.root}", str(clone)],
        check=True,
        capture_output=True,
    )
    result = cli(
        "site",
        "build",
        "--repo",
        clone,
        "--output",
        tmp_path / "s",
        "--as-of",
        AS_OF,
        "--no-history",
    )
    assert result.status == 0, result.err
    page = (tmp_path / "s/incidents/INC-2026-0001.html").read_text(encoding="utf-8")
    assert "history unavailable: shallow clone" in page


def test_missing_config_is_one_clear_error(repo: Repo, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = _build(cli, repo, tmp_path / "o", "--config", tmp_path / "nope.yml")
    assert result.status == 2
    assert result.err.strip().count("\n") == 0
    assert "no such MkDocs configuration file" in result.err


def test_broken_theme_override_is_one_clear_error(
    repo: Repo,
    cli,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    _site_files(repo)
    repo.write("site/overrides/main.html", '{% extends "base.html" %}\n{% block content %}\n')
    result = _build(cli, repo, tmp_path / "o")
    assert result.status == 2
    assert "broken theme override" in result.err and "main.html" in result.err
    assert "Traceback" not in result.err


def test_override_that_drops_the_csp_stops_the_build(
    repo: Repo,
    cli,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    _site_files(repo)
    repo.write(
        "site/overrides/main.html",
        '{% extends "base.html" %}\n{% block site_meta %}<meta charset="utf-8">{% endblock %}\n',
    )
    result = _build(cli, repo, tmp_path / "o")
    assert result.status == 2
    assert "Content-Security-Policy" in result.err


def test_hand_written_override_is_used_and_not_published(
    repo: Repo,
    cli,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    _site_files(repo)
    repo.write("site/overrides/partials/copyright.html", "<div>Internal use only</div>\n")
    assert _build(cli, repo, tmp_path / "o").status == 0
    assert "Internal use only" in (tmp_path / "o/index.html").read_text(encoding="utf-8")
    assert not (tmp_path / "o/overrides").exists()


def test_symlinks_are_refused(repo: Repo, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _site_files(repo)
    secret = tmp_path / "secret.txt"
    secret.write_text("TOKEN=hunter2\n", encoding="utf-8")
    (repo.root / "site/leak.md").symlink_to(secret)
    result = _build(cli, repo, tmp_path / "o")
    assert result.status == 2
    assert "symbolic link" in result.err and "hunter2" not in result.err
    assert not (tmp_path / "o").exists() or "hunter2" not in "".join(
        p.read_text(errors="replace") for p in (tmp_path / "o").rglob("*") if p.is_file()
    )


def test_symlinked_record_is_not_followed(repo: Repo, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    secret = tmp_path / "credentials.yaml"
    secret.write_text("id: INC-2026-0009\ntitle: TOKEN=hunter2\n", encoding="utf-8")
    (repo.root / "records/incidents/INC-2026-0009.yaml").symlink_to(secret)
    result = _build(cli, repo, tmp_path / "o")
    assert result.status == 0, result.err
    published = "".join(
        p.read_text(encoding="utf-8", errors="replace")
        for p in (tmp_path / "o").rglob("*")
        if p.is_file() and p.suffix in (".html", ".json", ".csv")
    )
    assert "hunter2" not in published
    assert "records/incidents/INC-2026-0009.yaml" in published  # listed as unreadable


def test_symlinked_mkdocs_yml_is_refused(repo: Repo, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _site_files(repo)
    real = tmp_path / "elsewhere.yml"
    (repo.root / "mkdocs.yml").rename(real)
    (repo.root / "mkdocs.yml").symlink_to(real)
    result = _build(cli, repo, tmp_path / "o")
    assert result.status == 2 and "symbolic link" in result.err


def test_generated_page_cannot_be_shadowed(repo: Repo, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _site_files(repo)
    repo.write("site/incidents/index.md", "# Fake index\n")
    result = _build(cli, repo, tmp_path / "o")
    assert result.status == 2 and "generated by opsledger" in result.err


def test_calendar_marks_freeze_and_collisions(
    repo: Repo,
    cli,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    change = """\
    id: {id}
    title: Upgrade {id}
    type: standard
    risk: low
    status: scheduled
    services: [orders-db]
    requested_by: omar.haddad@example.com
    implementer: lena.fischer@example.com
    description: Apply the monthly patch set to the orders database replicas.
    justification: Security patches must be applied within thirty days of release.
    impact: Replicas restart one at a time; no customer impact is expected.
    window: {{start: {start}, end: {end}}}
    rollback: {{plan: Restore the previous image from the registry, trigger: errors,
               tested: true, estimated_duration: 30m}}
    standard_template: db-patch
    """
    repo.write(
        "records/changes/CHG-2026-0001.yaml",
        change.format(id="CHG-2026-0001", start="2026-03-10T20:00:00Z", end="2026-03-10T23:00:00Z"),
    )
    repo.write(
        "records/changes/CHG-2026-0002.yaml",
        change.format(id="CHG-2026-0002", start="2026-03-10T22:00:00Z", end="2026-03-11T01:00:00Z"),
    )
    policy = (repo.root / "policy.yaml").read_text(encoding="utf-8")
    assert "freeze_windows:\n" in policy
    repo.write(
        "policy.yaml",
        policy.replace(
            "freeze_windows:\n",
            (
                "freeze_windows:\n  - {name: Quarter close, start: '2026-03-28T00:00:00Z', "
                "end: '2026-03-31T00:00:00Z'}\n"
            ),
        ),
        dedent=False,
    )
    assert _build(cli, repo, tmp_path / "o").status == 0
    month = (tmp_path / "o/changes/calendar/2026-03.html").read_text(encoding="utf-8")
    assert "⚠ collides with CHG-2026-0002" in month and "⚠ collides with CHG-2026-0001" in month
    # 28-30 March, and the 31st until 01:00 local time (policy zone Europe/London, BST)
    assert month.count("❄ Freeze: Quarter close") == 4
    assert 'class="ol-freeze"' in month


def test_site_serve_serves_the_built_site_on_localhost(repo: Repo) -> None:
    _records(repo)
    exe = Path(sys.executable).parent / "opsledger"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "CI": "true"}
    with subprocess.Popen(
        [
            str(exe),
            "site",
            "serve",
            "--repo",
            str(repo.root),
            "--port",
            "0",
            "--as-of",
            AS_OF,
            "--no-history",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    ) as proc:
        _fetch_then_stop(proc)


def _fetch_then_stop(proc: subprocess.Popen[str]) -> None:
    import time
    import urllib.request

    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("Serving "), proc.stderr.read() if proc.stderr else line
        url = line.split(" at ", 1)[1].split(" ", 1)[0]
        assert url.startswith("http://127.0.0.1:")
        deadline = time.monotonic() + 10
        while True:
            try:
                with urllib.request.urlopen(url + "incidents/INC-2026-0001.html") as response:
                    assert b"INC-2026-0001" in response.read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


def test_times_keep_their_seconds() -> None:
    """A submission one second after its deadline must not read as on the deadline."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from opsledger.site.common import when

    zone = ZoneInfo("Europe/London")
    assert when(datetime(2026, 3, 1, 15, 0, 1, tzinfo=UTC), zone) == "2026-03-01 15:00:01 +00:00"
    assert when(datetime(2026, 3, 1, 15, 0, 0, tzinfo=UTC), zone) == "2026-03-01 15:00 +00:00"
    assert when(datetime(2026, 7, 1, 15, 0, 0, tzinfo=UTC), zone) == "2026-07-01 16:00 +01:00"


_DEEP_LIST = "# Deep\n\n" + "".join("    " * i + "- x\n" for i in range(800))


def _theme_override(repo: Repo) -> None:
    text = (repo.root / "mkdocs.yml").read_text(encoding="utf-8")
    text = text.replace("  name: material\n", "  name: material\n  custom_dir: site/overrides\n", 1)
    (repo.root / "mkdocs.yml").write_text(text, encoding="utf-8")
    repo.write("site/overrides/partials/footer.html", "{{ 1 // 0 }}\n")


def _config(old: str, new: str):  # type: ignore[no-untyped-def]
    def change(repo: Repo) -> None:
        text = (repo.root / "mkdocs.yml").read_text(encoding="utf-8")
        assert old in text, old
        (repo.root / "mkdocs.yml").write_text(text.replace(old, new, 1), encoding="utf-8")

    return change


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (lambda r: r.write("site/deep.md", _DEEP_LIST), "site/deep.md:19:1: Markdown lists"),
        (
            lambda r: r.write("site/deep.md", "# D\n\n" + "[" * 20000 + "x" + "]" * 20000),
            "site/deep.md:3:1: 40000 link and emphasis delimiters",
        ),
        (
            lambda r: r.write_bytes("site/bad.md", b"# Bad \xff\xfe bytes\n"),
            "site/bad.md: not valid UTF-8 (byte 7)",
        ),
        (_theme_override, "ZeroDivisionError: integer division or modulo by zero (raised in "),
        (
            _config(
                "      permalink: true\n",
                "      permalink: true\n      slugify: !!python/name:markdown.util.code_escape\n",
            ),
            "TypeError: code_escape() takes 1 positional argument",
        ),
        (
            _config("  - tables\n", "  - tables\n  - admonition: {x: 1}\n"),
            "Failed to load extension 'admonition'",
        ),
    ],
    ids=[
        "page-nested-800-deep",
        "page-of-brackets",
        "page-not-utf8",
        "template-error",
        "slugify",
        "extension",
    ],
)
def test_a_page_or_configuration_mkdocs_cannot_build_is_one_line(
    repo: Repo, tmp_path: Path, change: Any, said: str
) -> None:
    """Found by an attack: a hand-written page nested 800 deep (RecursionError in the
    Markdown renderer), a theme override dividing by zero and a Markdown extension given a
    function that does not fit were internal errors (exit 3); a paragraph of 40,000
    brackets took minutes; an extension's bad option printed MkDocs' traceback on a line
    of its own. Each is now one line, exit status 2, at once."""
    _site_files(repo)
    _records(repo)
    change(repo)
    exe = Path(sys.executable).parent / "opsledger"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "CI": "true"}
    args = ["site", "build", "--repo", str(repo.root), "--output", str(tmp_path / "o")]
    proc = subprocess.run(
        [str(exe), *args, "--as-of", AS_OF, "--no-history"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert said in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
