"""One escaper for every Markdown output: the same hostile strings, written into records,
come out inert in the executive brief, the weekly and monthly reports, ``opsledger kpi
--format markdown`` and the site's pages, rendered by Python-Markdown (with the site's
extensions and more) and by a CommonMark/GFM renderer."""

from __future__ import annotations

import csv
import io
import re
from html.parser import HTMLParser

import markdown
import pytest
import yaml
from markdown_it import MarkdownIt

from opsledger.site.data import collect
from opsledger.site.generate import generate
from opsledger.text.escape import md, md_lines

from conftest import InvokeCli, Repo

AS_OF = "2026-03-31T12:00:00Z"
#: each tries one way in: HTML, links and images, attribute lists, block markers at the
#: start of a line, table pipes, code spans, emphasis, entities and line breaks
HOSTILE = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "\\<img src=x onerror=alert(2)>",
    "[click](javascript:alert(1))",
    "![pixel](http://evil.example/p.png)",
    "<http://evil.example/auto>",
    "text {: onerror=alert(1) } and { #id .cls }",
    "# Heading",
    "> quote",
    "- item",
    "+ item",
    "1. first",
    "2) second",
    "---",
    "=== setext",
    "| a | b |",
    "a | b",
    "`code` and ``more``",
    "*em* _under_ **strong** ~~strike~~",
    "line one\nline two\n    indented code",
    '!!! danger "Injected"',
    "??? note",
    ": definition",
    "*[HTML]: Hyper Text",
    "[^1]: footnote",
    "[ref]: http://evil.example/",
    "&lt;b&gt; &amp; &#60;i&#62;",
    "trailing backslash \\",
]
FRONT_MATTER = re.compile(r"\A---\n.*?\n---\n", re.DOTALL)
MARKDOWN_EXTENSIONS = [
    "tables",
    "toc",
    "admonition",
    "attr_list",
    "md_in_html",
    "def_list",
    "abbr",
    "footnotes",
]
#: elements that only the payloads could have made in these outputs
FORBIDDEN = {
    "script",
    "img",
    "blockquote",
    "ol",
    "hr",
    "dl",
    "dd",
    "abbr",
    "sup",
    "del",
    "s",
    "em",
    "pre",
    "details",
}


def flat(text: str) -> str:
    return " ".join(text.split())


class Page(HTMLParser):
    """Rendered HTML: its text (cells and line breaks kept apart), tags and attributes."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    @property
    def text(self) -> str:
        return flat("".join(self.parts))


def renderings(text: str) -> dict[str, Page]:
    gfm = MarkdownIt("commonmark").enable(["table", "strikethrough"])
    return {
        "python-markdown": Page(markdown.markdown(text, extensions=MARKDOWN_EXTENSIONS)),
        "commonmark+gfm": Page(gfm.render(text)),
    }


def assert_inert(
    name: str, text: str, payloads: list[str], *, allow: frozenset[str] | set[str] = frozenset()
) -> None:
    """Every payload reads as itself in ``text`` rendered, and made no element."""
    for renderer, page in renderings(text).items():
        where = f"{name} ({renderer})"
        for payload in payloads:
            assert flat(payload) in page.text, f"{where}: {payload!r} not shown as text"
        for tag, attrs in page.tags:
            assert tag not in FORBIDDEN - allow, f"{where}: <{tag} {attrs}>"
            assert not any(a.startswith("on") for a in attrs), f"{where}: <{tag} {attrs}>"
            for url in (attrs.get(a) or "" for a in ("href", "src", "srcset", "action", "data")):
                assert not url.startswith(("http", "javascript", "//")), f"{where}: {url}"
        assert "alert(" not in "".join(str(a) for _, a in page.tags), where


@pytest.mark.parametrize("payload", HOSTILE)
def test_md_renders_every_payload_as_itself(payload: str) -> None:
    assert_inert("md", "Value: " + md(payload), [payload])
    assert_inert("md at line start", md(payload), [payload])
    assert_inert(
        "md in a table cell", "| a | b |\n|---|---|\n| x | " + md(payload) + " |", [payload]
    )
    lines = md_lines(payload)
    for renderer, page in renderings("Value: " + lines).items():
        assert page.text == flat("Value: " + payload), renderer


def test_md_stays_readable_as_plain_text() -> None:
    # the Markdown of reports is also read as it is: addresses, times, percentages and
    # parentheses are left alone
    assert md("lena.fischer@example.com at 09:12 (80% of 2026-03-04)") == (
        "lena.fischer@example.com at 09:12 (80% of 2026-03-04)"
    )
    assert md("a|<b>") == "a\\|&lt;b&gt;"
    assert md("3.5 hours") == "3.5 hours"  # no list marker without a space
    assert md("12. item") == "12\\. item"


def hostile_repo(repo: Repo) -> None:
    """Two incidents per payload (so every payload is a recurring service/category pair),
    each payload in the title, impact, category, service, resolution and a notification,
    and a PIR whose actions carry them."""
    actions = []
    for i, payload in enumerate(HOSTILE):
        for k in (0, 1):
            number = 2 * i + k + 1
            record = {
                "id": f"INC-2026-{number:04d}",
                "title": payload,
                "priority": "P2",
                "status": "resolved",
                "service": payload,
                "detection": "manual",
                "source": "service-desk",
                "category": payload,
                "commander": "lena.fischer@example.com",
                "impact": payload,
                "detected_at": f"2026-03-{2 + k:02d}T09:00:00Z",
                "acknowledged_at": f"2026-03-{2 + k:02d}T09:05:00Z",
                "bridge_opened_at": f"2026-03-{2 + k:02d}T09:10:00Z",
                "mitigated_at": f"2026-03-{2 + k:02d}T10:00:00Z",
                "resolved_at": f"2026-03-{2 + k:02d}T11:00:00Z",
                "resolution": payload,
                "notifications": [
                    {
                        "at": f"2026-03-{2 + k:02d}T09:20:00Z",
                        "kind": "initial",
                        "audience": [payload],
                        "channel": payload,
                        "summary": payload,
                    }
                ],
            }
            repo.write(
                f"records/incidents/INC-2026-{number:04d}.yaml",
                yaml.safe_dump(record, sort_keys=False),
                dedent=False,
            )
        actions.append(
            {
                "id": f"A{i + 1}",
                "title": payload,
                "type": "corrective",
                "owner": payload,
                "due": "2026-03-05",
                "status": "open",
            }
        )
    pir = {
        "id": "PIR-2026-0001",
        "incident": "INC-2026-0001",
        "status": "in-review",
        "authors": ["lena.fischer@example.com"],
        "root_cause": HOSTILE[0],
        "actions": actions,
    }
    repo.write(
        "records/pirs/PIR-2026-0001.md",
        "---\n" + yaml.safe_dump(pir, sort_keys=False) + "---\n\n## Summary\n\nText.\n",
        dedent=False,
    )


def test_hostile_text_is_inert_in_brief_reports_kpis_and_site(repo: Repo, cli: InvokeCli) -> None:
    hostile_repo(repo)
    root = repo.root
    outputs: dict[str, tuple[str, list[str]]] = {}
    for i, payload in enumerate(HOSTILE):
        brief = cli("brief", f"INC-2026-{2 * i + 1:04d}", "--repo", root, "--no-history")
        assert brief.status == 0, brief.err
        outputs[f"brief {i}"] = (brief.out, [payload])
    weekly = cli(
        "report", "weekly", "--period", "2026-W10", "--as-of", AS_OF, "--repo", root, "--no-history"
    )
    monthly = cli(
        "report", "monthly", "--period", "2026-03", "--as-of", AS_OF, "--repo", root, "--no-history"
    )
    kpis = cli(
        "kpi",
        "--format",
        "markdown",
        "--by",
        "service",
        "--as-of",
        AS_OF,
        "--repo",
        root,
        "--no-history",
    )
    for name, result in (("weekly", weekly), ("monthly", monthly), ("kpi markdown", kpis)):
        assert result.status == 0, (name, result.err)
    # weekly: every payload in the overdue actions; monthly: the first ten recurring pairs
    outputs["weekly"] = (weekly.out, HOSTILE)
    recurring = [p for p in HOSTILE if f"| {md(p)} | {md(p)} | 2 |" in monthly.out]
    assert len(recurring) == 10
    outputs["monthly"] = (monthly.out, recurring)
    outputs["kpi markdown"] = (kpis.out, HOSTILE)
    site = generate(collect(root, AS_OF, use_history=False))
    pages = {**site.pages, **site.records}
    outputs["site incident"] = (pages["incidents/INC-2026-0001.md"], [HOSTILE[0]])
    outputs["site actions"] = (pages["actions.md"], HOSTILE)
    outputs["site KPIs"] = (pages["kpis/index.md"], HOSTILE)
    for i, payload in enumerate(HOSTILE):
        outputs[f"site incident {i}"] = (pages[f"incidents/INC-2026-{2 * i + 1:04d}.md"], [payload])
    for name, (text, payloads) in outputs.items():
        if name.startswith("site"):
            # the site's pages have front matter, charts and emphasised notes of their own
            text = FRONT_MATTER.sub("", text)
            assert_inert(name, text, payloads, allow={"img", "em"})
        else:
            assert_inert(name, text, payloads)


def test_schema_breaking_values_are_escaped_too(repo: Repo, cli: InvokeCli) -> None:
    """Fields a schema would restrict (priority, statuses, outcomes) still reach the brief and
    the reports when a record fails its schema: escaped like any other text."""
    payload = "<img src=x onerror=alert(1)> [x](javascript:alert(2))"
    incident = {
        "id": "INC-2026-0001",
        "title": "Checkout down",
        "priority": payload,
        "status": "mitigated",
        "service": "orders-db",
        "detection": "manual",
        "source": "service-desk",
        "impact": "Checkout failed.",
        "detected_at": "2026-03-02T09:00:00Z",
        "acknowledged_at": "2026-03-02T09:05:00Z",
        "mitigated_at": "2026-03-02T10:00:00Z",
        "pir": "PIR-2026-0001",
    }
    repo.write("records/incidents/INC-2026-0001.yaml", yaml.safe_dump(incident), dedent=False)
    pir = {"id": "PIR-2026-0001", "incident": "INC-2026-0001", "status": payload}
    repo.write("records/pirs/PIR-2026-0001.md", f"---\n{yaml.safe_dump(pir)}---\n", dedent=False)
    change = {
        "id": "CHG-2026-0001",
        "title": "Raise the pool",
        "type": "normal",
        "status": payload,
        "window": {"start": "2026-03-05T20:00:00Z", "end": "2026-03-05T21:00:00Z"},
    }
    repo.write("records/changes/CHG-2026-0001.yaml", yaml.safe_dump(change), dedent=False)
    brief = cli("brief", "INC-2026-0001", "--repo", repo.root, "--no-history")
    monthly = cli(
        "report",
        "monthly",
        "--period",
        "2026-03",
        "--as-of",
        AS_OF,
        "--repo",
        repo.root,
        "--no-history",
    )
    weekly = cli(
        "report",
        "weekly",
        "--period",
        "2026-W10",
        "--as-of",
        AS_OF,
        "--repo",
        repo.root,
        "--no-history",
    )
    for name, result in (("brief", brief), ("monthly", monthly), ("weekly", weekly)):
        assert result.status == 0, (name, result.err)
        assert_inert(name, result.out, [payload])


def test_kpi_csv_cells_from_records_never_run_as_formulas(repo: Repo, cli: InvokeCli) -> None:
    record = {
        "id": "INC-2026-0001",
        "title": "Checkout down",
        "priority": "P3",
        "status": "open",
        "service": '=HYPERLINK("http://evil.example/","x")',
        "detection": "manual",
        "source": "service-desk",
        "impact": "Checkout failed.",
        "detected_at": "2026-03-02T09:00:00Z",
    }
    repo.write("records/incidents/INC-2026-0001.yaml", yaml.safe_dump(record), dedent=False)
    result = cli(
        "kpi",
        "--format",
        "csv",
        "--by",
        "service",
        "--as-of",
        AS_OF,
        "--repo",
        repo.root,
        "--no-history",
    )
    assert result.status == 0, result.err
    rows = list(csv.DictReader(io.StringIO(result.out)))
    groups = {row["group"] for row in rows if row["dimension"] == "service"}
    assert '\'=HYPERLINK("http://evil.example/","x")' in groups
    assert not any(group.startswith(("=", "+", "-", "@")) for group in groups)
