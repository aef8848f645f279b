"""The adversarial corpus: records whose every text field holds an injection payload.

Built with ``opsledger site build`` and checked in the built HTML: nothing a record says
becomes an element, an attribute, a script, a link with a bad scheme, or Markdown
structure. ``write_corpus`` is shared with the browser tests (test_site_browser.py).
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conftest import RUNBOOK, Repo

AS_OF = "2026-03-31T12:00:00Z"
#: each payload tries one way in; PWN marks the script each would run
PAYLOADS = [
    "<script>window.__pwned='script'</script>",
    "<img src=x onerror=\"window.__pwned='onerror'\">",
    "[click me](javascript:window.__pwned='jslink')",
    "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[vb](vbscript:msgbox(1))",
    "text { onerror=window.__pwned='attrlist' } more",
    "</title><script>window.__pwned='title'</script>",
    "<iframe src=\"javascript:window.__pwned='iframe'\"></iframe>",
    '<meta http-equiv="refresh" content="0;url=http://evil.example/">',
    "| injected | table | row |",
    '!!! success "Approved"',
    "# Injected heading",
    '"><svg onload="window.__pwned=\'svg\'">',
    "![tracker](http://evil.example/pixel.png)",
]
PAYLOAD = " ".join(PAYLOADS)
#: what a body may not hold, written as HTML entities (the renderer decodes them)
ENTITIES = "Approved by &#8238;reganam&#8236; the CFO.&#8203; &#x2066;x&#x2069; a&#x2028;b"


def _q(text: str) -> str:
    """A YAML double-quoted scalar."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_corpus(repo: Repo) -> None:
    """Add the hostile records to a repository made by the ``repo`` fixture."""
    p = _q(PAYLOAD)
    repo.write(
        "records/incidents/INC-2026-0001.yaml",
        f"""\
        id: INC-2026-0001
        title: {_q("Checkout down </title><script>window.__pwned='title'</script> | x |")}
        priority: P1
        status: resolved
        service: orders-db
        detection: automated
        source: monitoring
        category: {p}
        commander: lena.fischer@example.com
        impact: {p}
        resolution: {p}
        detected_at: 2026-03-04T09:12:00Z
        acknowledged_at: 2026-03-04T09:15:00Z
        bridge_opened_at: 2026-03-04T09:20:00Z
        mitigated_at: 2026-03-04T10:00:00Z
        resolved_at: 2026-03-04T11:00:00Z
        external_id: {p}
        notifications:
          - at: 2026-03-04T09:20:00Z
            kind: initial
            audience: [{p}]
            channel: {p}
            summary: {p}
        escalations:
          - at: 2026-03-04T09:30:00Z
            to_tier: 2
            team: {p}
            context: {p}
            troubleshooting: {p}
            impact_assessment: {p}
        timeline:
          - at: 2026-03-04T09:12:00Z
            event: {p}
        """,
    )
    # every field, enums included, holds a payload: fails its schema, still gets a page
    repo.write(
        "records/incidents/INC-2026-0002.yaml",
        f"""\
        id: INC-2026-0002
        title: {p}
        priority: {p}
        status: {p}
        service: {p}
        detection: {p}
        source: {p}
        impact: {p}
        detected_at: 2026-03-05T09:12:00Z
        caused_by_change: {p}
        runbooks_used: [{p}]
        """,
    )
    repo.write("records/incidents/INC-2026-0003.yaml", "id: INC-2026-0003\ntitle: [unclosed\n")
    repo.write(
        "records/changes/CHG-2026-0001.yaml",
        f"""\
        id: CHG-2026-0001
        title: {p}
        type: normal
        risk: high
        status: scheduled
        services: [orders-db]
        requested_by: omar.haddad@example.com
        implementer: lena.fischer@example.com
        description: {p}
        justification: {p}
        impact: {p}
        window: {{start: 2026-03-20T22:00:00Z, end: 2026-03-21T01:00:00Z}}
        testing: {{summary: {p}, evidence: [{p}]}}
        rollback: {{plan: {p}, trigger: {p}, tested: true, estimated_duration: 30m}}
        approvals:
          - {{by: omar.haddad@example.com, role: {p}, at: 2026-03-10T10:00:00Z, decision: approved,
             conditions: {p}}}
        """,
    )
    body = "\n\n".join(f"## Section {i}\n\n{text}" for i, text in enumerate(PAYLOADS))
    repo.write(
        "records/pirs/PIR-2026-0001.md",
        f"""\
        ---
        id: PIR-2026-0001
        incident: INC-2026-0001
        title: {p}
        status: draft
        authors: [lena.fischer@example.com]
        root_cause: {p}
        contributing_factors: [{p}]
        actions:
          - {{id: A1, title: {p}, type: corrective, owner: lena.fischer@example.com,
             due: "2026-03-20", status: open, verification: {p}}}
        ---
        """,
    )
    with (repo.root / "records/pirs/PIR-2026-0001.md").open("a", encoding="utf-8") as f:
        f.write(body + "\n<script>window.__pwned='body'</script>\n\n" + ENTITIES + "\n")
    repo.write(
        "runbooks/RB-0003-orders-db-pool.md",
        RUNBOOK.replace("## Symptoms\n", "## Symptoms\n" + "\n\n".join(PAYLOADS) + "\n\n"),
        dedent=False,
    )
    repo.write(
        "records/services.yaml",
        f"""\
        - id: orders-db
          name: {p}
          tier: 1
          owner: lena.fischer@example.com
          availability_target: 99.95
          runbooks: [RB-0003]
        """,
    )


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def elements(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Elements()
    parser.feed(html)
    return parser.tags


def assert_inert(path: Path) -> None:
    """No element, attribute, script or link in ``path`` comes from a record."""
    html = path.read_text(encoding="utf-8")
    where = path.name
    assert re.match(
        r'\s*<!doctype html>\s*<html[^>]*>\s*<head>\s*<meta http-equiv="Content-Security-Policy"',
        html,
        re.I,
    ), where
    article = html.split('<article class="md-content__inner md-typeset">', 1)[-1]
    article = article.split("</article>", 1)[0]
    for tag, _ in elements(article):
        assert tag not in ("iframe", "object", "embed", "svg", "base", "form", "style"), (
            where,
            tag,
        )
    for tag, attrs in elements(html):
        if tag == "meta":
            assert attrs.get("http-equiv") in (None, "Content-Security-Policy"), (where, attrs)
        if tag == "script":
            assert attrs.get("src") or attrs.get("type") == "application/json", (where, attrs)
        for name, value in attrs.items():
            assert not name.startswith("on"), (where, tag, name)
            text = (value or "").strip().lower()
            if name in ("href", "src", "action", "formaction"):
                assert not text.startswith(("javascript:", "data:", "vbscript:")), (where, value)
                if tag in ("img", "script"):
                    assert "evil.example" not in text, (where, value)
    assert "__pwned='script'</script>" not in html, where
    assert 'class="admonition success"' not in html, where
    assert "<h1>Injected heading" not in html and '<h1 id="injected-heading"' not in html


@pytest.fixture
def corpus_site(repo: Repo, cli, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    write_corpus(repo)
    out = tmp_path / "public"
    result = cli(
        "site", "build", "--repo", repo.root, "--output", out, "--as-of", AS_OF, "--no-history"
    )
    assert result.status == 0, result.err
    return out


def test_every_page_of_the_corpus_is_inert(corpus_site: Path) -> None:
    pages = sorted(corpus_site.rglob("*.html"))
    assert len(pages) > 20
    for page in pages:
        assert_inert(page)


def test_payloads_show_as_text(corpus_site: Path) -> None:
    html = (corpus_site / "incidents/INC-2026-0001.html").read_text(encoding="utf-8")
    title = re.search(r"<title>(.*?)</title>", html, re.S)
    assert title is not None
    assert "&lt;/title&gt;&lt;script&gt;" in title.group(1)
    assert "&lt;script&gt;window.__pwned=" in html  # the text, escaped, is on the page
    # the table-row payload stays inside its cell: the fields table has two columns
    fields = html.split("<table>", 1)[1].split("</table>", 1)[0]
    for row in re.findall(r"<tr>(.*?)</tr>", fields, re.S):
        assert len(re.findall(r"<t[dh]\b", row)) == 2, row


def test_schema_failure_and_unreadable_file_get_pages(corpus_site: Path) -> None:
    bad = (corpus_site / "incidents/INC-2026-0002.html").read_text(encoding="utf-8")
    assert "Schema errors" in bad and "does not match its schema" in bad
    assert "SCHEMA" in bad
    problems = list((corpus_site / "unreadable").glob("*.html"))
    unreadable = [p for p in problems if "INC-2026-0003" in p.name]
    assert unreadable, problems
    text = unreadable[0].read_text(encoding="utf-8")
    assert "records/incidents/INC-2026-0003.yaml" in text and "Not readable" in text
    index = (corpus_site / "incidents/index.html").read_text(encoding="utf-8")
    assert "Files that could not be read" in index


def test_body_html_is_text_and_bad_links_are_gone(corpus_site: Path) -> None:
    html = (corpus_site / "pirs/PIR-2026-0001.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;window.__pwned='body'&lt;/script&gt;" in html
    assert "&lt;iframe" in html
    assert ">click me</a>" in html  # the link text stays, its javascript: href does not
    assert 'href="javascript:' not in html and 'href="data:' not in html
    assert 'href="vbscript:' not in html
    assert not [tag for tag in re.findall(r"<img[^>]*>", html) if "evil.example" in tag]


def test_a_body_cannot_publish_invisible_or_bidi_characters_as_entities(
    corpus_site: Path,
) -> None:
    """A right-to-left override written ``&#8238;`` reorders what an auditor reads
    ("reganam" shows as "manager"): shown as its escape, in the page and its search entry,
    as a record's fields show one."""
    from opsledger.loading.text import FORBIDDEN

    for page in ("pirs/PIR-2026-0001.html", "search/search_index.json"):
        text = (corpus_site / page).read_text(encoding="utf-8")
        if page.endswith(".json"):
            text = json.dumps(json.loads(text), ensure_ascii=False)
        assert FORBIDDEN.search(text) is None, (page, FORBIDDEN.search(text))
    html = (corpus_site / "pirs/PIR-2026-0001.html").read_text(encoding="utf-8")
    assert "Approved by \\u202ereganam\\u202c the CFO.\\u200b \\u2066x\\u2069 a\\u2028b" in html


def test_csv_download_neutralises_formulas(repo: Repo, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    write_corpus(repo)
    repo.write(
        "records/incidents/INC-2026-0001.yaml",
        (repo.root / "records/incidents/INC-2026-0001.yaml")
        .read_text(encoding="utf-8")
        .replace("category:", 'category: "=HYPERLINK(\\"http://evil.example\\")"\nx_was_category:'),
        dedent=False,
    )
    out = tmp_path / "public"
    built = cli(
        "site", "build", "--repo", repo.root, "--output", out, "--as-of", AS_OF, "--no-history"
    )
    assert built.status == 0
    csv_text = (out / "downloads/incidents.csv").read_text(encoding="utf-8")
    assert "'=HYPERLINK" in csv_text
