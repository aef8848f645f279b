"""Escaping and page paths: record text renders as itself, paths stay in their folder."""

from __future__ import annotations

import json
from html import unescape

import markdown
import pytest

from opsledger.site.links import Links, safe_name
from opsledger.site.sanitize import CSP_META, PageCheckError, check_page, clean
from opsledger.text.escape import csv_cell, front_matter_title, md, md_lines

EXTENSIONS = ["tables", "toc", "admonition", "attr_list", "md_in_html", "def_list", "abbr"]


def render(text: str) -> str:
    return markdown.markdown(text, extensions=EXTENSIONS)


@pytest.mark.parametrize(
    "payload",
    [
        "| a | b |",
        '!!! success "Approved"',
        "# Heading",
        "Setext\n===",
        "    indented code",
        "1. list",
        "- item",
        "> quote",
        "[x](javascript:alert(1))",
        "<script>alert(1)</script>",
        "text { onerror=alert(1) }",
        "*emphasis* _under_ `code` ~~strike~~",
        "<http://auto.link>",
        "&amp; &lt;",
        "term\n: definition",
        "*[HTML]: Hyper",
    ],
)
def test_markdown_structure_in_a_field_is_literal_text(payload: str) -> None:
    html = render("Value: " + md_lines(payload))
    assert html.startswith("<p>") and html.endswith("</p>")
    text = html[3:-4].replace("<br>", "\n")
    assert "<" not in text
    assert unescape(text) == "Value: " + "\n".join(
        " ".join(line.split()) for line in payload.splitlines()
    )


def test_a_table_row_payload_stays_in_its_cell() -> None:
    table = "| Field | Value |\n|---|---|\n| **Title** | " + md("x | y | z") + " |\n"
    html = render(table)
    assert html.count("<td>") == 2


def test_front_matter_title_cannot_break_out() -> None:
    value = front_matter_title("a</title><script>alert(1)</script>\nstatus: approved")
    assert "\n" not in value and "<" not in value
    assert json.loads(value) == (
        "a&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt; status: approved"
    )


def test_csv_cells_never_run_as_formulas() -> None:
    assert csv_cell("=1+1") == "'=1+1"
    assert csv_cell("@SUM(A1)") == "'@SUM(A1)"
    assert csv_cell("-2") == "'-2"
    assert csv_cell(-2) == "-2"
    assert csv_cell("plain") == "plain"
    assert csv_cell(None) == ""


def test_unsafe_ids_get_paths_inside_their_folder() -> None:
    assert safe_name("INC-2026-0001", "x") == "INC-2026-0001"
    for bad in ("../../etc/passwd", "/abs", "index", "a b", "", "\uff29\uff2e\uff23", ".hidden"):
        name = safe_name(bad, "records/incidents/" + bad)
        assert name.startswith("x-") and "/" not in name and ".." not in name
    links = Links()
    page = links.add_record("incident", "../../x", "records/incidents/x.yaml")
    assert page.startswith("incidents/x-") and page.endswith(".md")


@pytest.mark.parametrize("directory_urls", [False, True])
def test_relative_links(directory_urls: bool) -> None:
    links = Links(directory_urls)
    if directory_urls:
        assert links.href("index.md", "kpis/index.md") == "kpis/"
        assert links.href("changes/calendar/2026-03.md", "changes/CHG-1.md") == "../../CHG-1/"
    else:
        assert links.href("index.md", "kpis/index.md") == "kpis/index.html"
        assert links.href("changes/calendar/2026-03.md", "changes/CHG-1.md") == "../CHG-1.html"
    assert links.md_rel("changes/calendar/2026-03.md", "changes/CHG-1.md") == "../CHG-1.md"


def test_sanitiser_allow_list() -> None:
    dirty = (
        '<p onclick="x()">a<script>alert(1)</script><a href="javascript:alert(1)">j</a>'
        '<a href="data:text/html,x">d</a><a href="vbscript:x">v</a><a href="../ok.html">ok</a>'
        '<img src="http://evil.example/p.png" alt="t"><img src="charts/a.svg" alt="c">'
        '<iframe src="x"></iframe><h2 id="__config">h</h2><div style="color:red">s</div></p>'
    )
    out = clean(dirty)
    assert "onclick" not in out and "<script" not in out and "alert(1)" not in out
    assert "javascript:" not in out and "data:" not in out and "vbscript:" not in out
    assert 'href="../ok.html"' in out and 'src="charts/a.svg"' in out
    assert "evil.example" not in out and "<iframe" not in out and "style=" not in out
    assert 'id="x__config"' in out


def test_page_check() -> None:
    good = f"<!doctype html>\n<html>\n<head>\n{CSP_META}<meta charset=utf-8><title>t</title>"
    check_page(good + '<script src="assets/x.js"></script></head>', "p")
    with pytest.raises(PageCheckError, match="first element"):
        check_page("<!doctype html><html><head><title>t</title>" + CSP_META, "p")
    with pytest.raises(PageCheckError, match="inline"):
        check_page(good + "<script>alert(1)</script>", "p")
    with pytest.raises(PageCheckError, match="another host"):
        check_page(good + '<script src="https://cdn.example/x.js"></script>', "p")
