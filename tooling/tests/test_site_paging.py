"""Long index and findings tables split over pages of a bounded size (a repository of 10^5
incidents must not make one page of 10^5 rows): real MkDocs builds with a low
``index_page_rows``, every row on exactly one page, and every link between the pages
resolving to a built page."""

from __future__ import annotations

import posixpath
import re
from pathlib import Path

import pytest
import yaml

from opsledger.site.links import Links
from opsledger.site.paging import page_names, paged_table

from conftest import INCIDENT, Repo, git, git_init

AS_OF = "2026-12-31T12:00:00Z"
PROJECT = Path(__file__).resolve().parents[2]
COUNT = 7  # incidents, one a month: pages of 3 rows make three pages (3, 3, 1)
ROWS = 3
INCIDENT_LINK = re.compile(r'href="([^"#]*INC-2026-\d{4}(?:\.html|/))"')
HREF = re.compile(r'href="([^"#?]+)"')


def _repo(repo: Repo, *, directory_urls: bool) -> None:
    config = yaml.safe_load(
        (PROJECT / "tooling/opsledger/defaults/init/mkdocs.yml").read_text(encoding="utf-8")
    )
    config["use_directory_urls"] = directory_urls
    config["plugins"] = ["search", {"opsledger": {"index_page_rows": ROWS}}]
    repo.write("mkdocs.yml", yaml.safe_dump(config, sort_keys=False))
    repo.write("site/index.md", "# Our ledger\n")
    for n in range(1, COUNT + 1):
        text = INCIDENT.replace("INC-2026-0001", f"INC-2026-{n:04d}")
        text = text.replace("2026-03-04T09:12:00Z", f"2026-{n:02d}-04T09:12:00Z")
        repo.write(f"records/incidents/INC-2026-{n:04d}.yaml", text)
    git_init(repo.root)
    git(repo.root, "add", "-A")
    git(repo.root, "commit", "-q", "-m", "records")


def _file(out: Path, url_path: str) -> Path:
    """The built file a site-relative URL path names."""
    if url_path.endswith("/") or not url_path:
        return out / url_path / "index.html"
    return out / url_path


def _page_url(out: Path, built: Path) -> str:
    return built.relative_to(out).as_posix()


def _resolve(out: Path, built: Path, href: str) -> Path:
    base = posixpath.dirname(_page_url(out, built))
    target = posixpath.normpath(posixpath.join(base, href))
    return _file(out, target + ("/" if href.endswith("/") else ""))


def _main(html: str) -> str:
    """The page body (the navigation links to the first index page on every page)."""
    return html.split('<article class="md-content__inner', 1)[1].split("</article>", 1)[0]


@pytest.mark.parametrize("directory_urls", [False, True])
def test_long_tables_split_over_linked_pages(
    repo: Repo,
    cli,  # type: ignore[no-untyped-def]
    tmp_path: Path,
    directory_urls: bool,
) -> None:
    _repo(repo, directory_urls=directory_urls)
    out = tmp_path / "out"
    result = cli("site", "build", "--repo", repo.root, "--output", out, "--as-of", AS_OF)
    assert result.status == 0, result.err
    ext = "/index.html" if directory_urls else ".html"
    first = out / "incidents/index.html"
    pages = [first, out / f"incidents/pages/2{ext}", out / f"incidents/pages/3{ext}"]
    assert all(p.is_file() for p in pages), sorted(out.rglob("*.html"))
    assert not (out / f"incidents/pages/4{ext}").exists()
    seen: list[str] = []
    for number, built in enumerate(pages, start=1):
        body = _main(built.read_text(encoding="utf-8"))
        rows = [posixpath.basename(h.rstrip("/")) for h in INCIDENT_LINK.findall(body)]
        assert len(rows) == (ROWS if number < 3 else COUNT - 2 * ROWS), (built, rows)
        seen += rows
        assert f"Page {number} of 3" in body
        for href in HREF.findall(body):
            if "pages/" in href or href.rstrip("/").endswith(("index.html", "incidents")):
                assert _resolve(out, built, href).is_file(), (built, href)
        for href in INCIDENT_LINK.findall(body):
            assert _resolve(out, built, href).is_file(), (built, href)
    # every incident on exactly one page, newest first
    assert seen == [f"INC-2026-{n:04d}{'' if directory_urls else '.html'}" for n in range(7, 0, -1)]
    one = _main(first.read_text(encoding="utf-8"))
    assert "Next page" in one and "Previous page" not in one
    assert "every row is in" in one  # where the whole list is
    three = _main(pages[2].read_text(encoding="utf-8"))
    assert "Previous page" in three and "Next page" not in three
    # the split pages stay out of the navigation; the first index page is in it
    nav = first.read_text(encoding="utf-8").split('data-md-type="navigation"', 1)[1]
    assert "pages/2" not in nav.split('data-md-type="toc"', 1)[0]
    # a service's incident table continues on pages of its own, back-linked to the service
    service = out / (
        "services/orders-db/index.html" if directory_urls else "services/orders-db.html"
    )
    more = [out / f"services/orders-db/incidents/{n}{ext}" for n in (2, 3)]
    assert all(p.is_file() for p in more), sorted(out.glob("services/**/*.html"))
    listed: list[str] = []
    for built in [service, *more]:
        body = _main(built.read_text(encoding="utf-8"))
        listed += [posixpath.basename(h.rstrip("/")) for h in INCIDENT_LINK.findall(body)]
        assert body.count(f"Incidents ({COUNT})") == 1, built  # each page's one heading
        for href in HREF.findall(body):
            if "incidents/" in href or "orders-db" in href:
                assert _resolve(out, built, href).is_file(), (built, href)
    assert listed == seen
    # a rule with more findings than a page holds: its findings are split the same way
    findings = out / "findings"
    split = sorted(p.relative_to(findings).parts[0] for p in findings.glob(f"*/pages/2{ext}"))
    assert split, sorted(findings.rglob("*.html"))
    for rule in split:
        built = out / f"findings/{rule}/pages/2{ext}"
        body = _main(built.read_text(encoding="utf-8"))
        assert f"Findings: {rule}" in body and "Page 2 of" in body
        for href in HREF.findall(body):
            if "pages/" in href or rule in href:
                assert _resolve(out, built, href).is_file(), (built, href)


def test_a_table_that_fits_is_one_page_without_page_links(tmp_path: Path) -> None:
    links = Links()

    def row(page: str, n: int) -> tuple[str]:
        return (str(n),)

    for count in (0, 1, ROWS):
        pages = paged_table(
            links, "incidents/index.md", list(range(count)), ["N"], row, page_rows=ROWS
        )
        assert list(pages) == ["incidents/index.md"]
        assert not any("Page " in line for line in pages["incidents/index.md"])
        assert sum(line.startswith("| ") for line in pages["incidents/index.md"]) == count + 1
    pages = paged_table(
        links, "incidents/index.md", list(range(ROWS + 1)), ["N"], row, page_rows=ROWS
    )
    assert list(pages) == ["incidents/index.md", "incidents/pages/2.md"]
    assert "| 3 |" in pages["incidents/pages/2.md"]
    assert "| 3 |" not in pages["incidents/index.md"]


def test_page_names_stay_out_of_record_page_paths() -> None:
    # a record page is FOLDER/NAME.md; the further pages sit one folder deeper
    assert page_names("incidents/index.md", 3) == [
        "incidents/index.md",
        "incidents/pages/2.md",
        "incidents/pages/3.md",
    ]
    assert page_names("findings/INC-ACK.md", 2) == [
        "findings/INC-ACK.md",
        "findings/INC-ACK/pages/2.md",
    ]
    assert page_names("incidents/index.md", 1) == ["incidents/index.md"]


def test_hostile_labels_are_escaped() -> None:
    links = Links()
    pages = paged_table(
        links,
        "findings/X.md",
        ["<script>a", "[b](javascript:x)", "c", "d"],
        ["Record"],
        lambda page, item: (item,),
        page_rows=2,
        label=lambda item: item,
    )
    listing = next(line for line in pages["findings/X.md"] if line.startswith("Pages: "))
    assert "<script>" not in listing and "&lt;script&gt;a" in listing
    assert "\\[b\\](javascript:x)" in listing  # brackets escaped: text, not a link


@pytest.mark.parametrize("value", [0, -5, True, "abc", "\x1b[31mred"])
def test_a_page_size_that_is_not_a_row_count_stops_the_build(
    repo: Repo,
    cli,  # type: ignore[no-untyped-def]
    tmp_path: Path,
    value: object,
) -> None:
    _repo(repo, directory_urls=False)
    config = yaml.safe_load((repo.root / "mkdocs.yml").read_text(encoding="utf-8"))
    config["plugins"] = ["search", {"opsledger": {"index_page_rows": value}}]
    repo.write("mkdocs.yml", yaml.safe_dump(config, sort_keys=False))
    out = tmp_path / "out"
    result = cli("site", "build", "--repo", repo.root, "--output", out, "--as-of", AS_OF)
    assert result.status == 2, (result.status, result.err)
    assert "index_page_rows" in result.err and "at least 1" in result.err
    assert "\x1b" not in result.err
    assert not (out / "index.html").exists()
