"""The built site in a real browser: Debian's headless Chromium driven by Playwright
(never a downloaded browser). Marked slow; scripts/test.sh installs Chromium first.

On a demo repository: the home page, an incident page, the change calendar, the index
filters and search render and work, with the theme's scripts running under the CSP, no
CSP violation, and no request leaving localhost. On the adversarial corpus: no payload
runs. Screenshots of key pages (the problem portfolio among them) are kept in
tooling/tests/artifacts/.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from test_site_corpus import write_corpus

from opsledger.demo import generate_demo
from opsledger.model.ledger import load_ledger
from opsledger.site.build import build_site, make_server
from opsledger.timeutil import parse_timestamp

from conftest import Repo, defaults_dir

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent / "artifacts"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WATCH = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__csp.push(e.violatedDirective + ' ' + e.blockedURI);
});
"""


@dataclass
class Browser:
    page: Any
    base: str
    outside: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def open(self, path: str) -> None:
        self.page.goto(self.base + path)
        self.page.wait_for_load_state("networkidle")

    def violations(self) -> list[str]:
        found = list(self.page.evaluate("window.__csp || []"))
        return found + [m for m in self.console if "Content Security Policy" in m]


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium not installed (scripts/install-browser.sh installs it)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p, tempfile.TemporaryDirectory() as profile:
        context = p.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            args=FLAGS,
            headless=True,
            viewport={"width": 1280, "height": 900},
        )
        yield context
        context.close()


def _serve(folder: Path) -> tuple[str, Any]:
    server = make_server(folder, port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}/", server


@pytest.fixture
def browser(chromium: Any, request: pytest.FixtureRequest) -> Iterator[Browser]:
    folder: Path = (
        request.param if hasattr(request, "param") else request.getfixturevalue("demo_site")
    )
    base, server = _serve(folder)
    b = Browser(chromium.new_page(), base)

    def route(r: Any) -> None:
        host = urlsplit(r.request.url).hostname
        if host in ("127.0.0.1", "localhost"):
            r.continue_()
        else:
            b.outside.append(r.request.url)
            r.abort()

    b.page.route("**/*", route)
    b.page.add_init_script(WATCH)
    b.page.on("console", lambda m: b.console.append(f"{m.type}: {m.text}"))

    def dialog(d: Any) -> None:
        b.dialogs.append(d.message)
        d.dismiss()

    b.page.on("dialog", dialog)
    yield b
    b.page.close()
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("demo") / "repo"
    generate_demo(root, months=3, seed=7)
    out = root.parent / "public"
    build_site(root, output=out, as_of=parse_timestamp("2026-02-01T00:00:00Z"))
    return root, out


@pytest.fixture
def demo_site(demo: tuple[Path, Path]) -> Path:
    return demo[1]


@pytest.fixture(scope="module")
def corpus_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("corpus") / "gov"
    shutil.copytree(defaults_dir() / "schemas", root / "schemas")
    shutil.copy(defaults_dir() / "policy.yaml", root / "policy.yaml")
    for folder in ("records/incidents", "records/changes", "records/pirs", "runbooks"):
        (root / folder).mkdir(parents=True)
    write_corpus(Repo(root))
    out = root.parent / "public"
    # the corpus is not in git: built with --no-history (its pages then say so)
    build_site(root, output=out, as_of=parse_timestamp("2026-03-31T12:00:00Z"), use_history=False)
    return out


def _clean(b: Browser) -> None:
    assert b.outside == [], b.outside
    assert b.violations() == [], b.violations()
    assert b.dialogs == []
    assert [m for m in b.console if m.startswith("error")] == []
    # the theme's own scripts ran (its bundle swaps the no-js class)
    assert b.page.evaluate("document.documentElement.classList.contains('js')")


def _shot(b: Browser, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    b.page.screenshot(path=str(ARTIFACTS / name), full_page=False)


def _p1_incident(root: Path) -> str:
    ledger = load_ledger(root)
    chosen = [i for i in ledger.incidents.values() if i.priority == "P1" and i.notifications]
    chosen = chosen or [i for i in ledger.incidents.values() if i.notifications]
    return sorted(chosen, key=lambda i: i.id)[0].id


def test_home_page(browser: Browser) -> None:
    browser.open("index.html")
    assert browser.page.locator(".ol-tile").count() > 10
    assert browser.page.locator("img.ol-chart").count() >= 3
    for img in browser.page.locator("img.ol-chart").all():
        assert img.evaluate("i => i.complete && i.naturalWidth > 0")
        assert img.get_attribute("alt")
    _shot(browser, "site-home.png")
    _clean(browser)


def test_incident_page(browser: Browser, demo: tuple[Path, Path]) -> None:
    incident = _p1_incident(demo[0])
    browser.open(f"incidents/{incident}.html")
    text = browser.page.locator("article").inner_text()
    for heading in ("Timings", "Notifications", "Linked records", "Findings", "Audit trail"):
        assert heading in text
    assert "on time" in text or "late" in text
    trail = browser.page.locator("#audit-trail ~ .md-typeset__scrollwrap, #audit-trail + table")
    assert "history unavailable" not in text and "no git history" not in text
    assert trail.count() >= 1
    _shot(browser, "site-incident.png")
    browser.page.evaluate("document.getElementById('notifications').scrollIntoView()")
    _shot(browser, "site-incident-notifications.png")
    _clean(browser)


def test_change_calendar(browser: Browser) -> None:
    browser.open("changes/calendar/2025-12.html")
    assert browser.page.locator("table.ol-calendar td").count() >= 28
    assert browser.page.locator("td.ol-freeze").count() > 5
    assert browser.page.locator("table.ol-calendar a").count() > 5
    assert "Freeze:" in browser.page.locator("table.ol-calendar").inner_text()
    _shot(browser, "site-calendar.png")
    _clean(browser)


def test_regulatory_calendar_and_incident_clocks(browser: Browser, demo: tuple[Path, Path]) -> None:
    """The demo's DORA case on the regulatory calendar, followed to its incident page,
    whose Regulatory clocks rows carry the obligations' verdicts."""
    from opsledger.obligations import Obligations
    from opsledger.site.common import VERDICT_MARKS

    cases = json.loads((demo[0] / ".opsledger" / "demo-regulatory.json").read_text())
    record = next(c["record"] for c in cases if c["case"] != "not-reportable")
    browser.open("regulatory.html")
    calendar = browser.page.locator("article").inner_text()
    assert "Regulatory calendar" in calendar and "DORA" in calendar
    for heading in ("Upcoming", "Missed or late", "Met"):
        assert heading in calendar
    _shot(browser, "site-regulatory.png")
    browser.page.locator("article table a", has_text=record).first.click()
    browser.page.wait_for_load_state("networkidle")
    assert browser.page.url.endswith(f"incidents/{record}.html")
    text = browser.page.locator("article").inner_text()
    assert "Regulatory clocks" in text and "DORA: reportable" in text
    rows = browser.page.locator(
        "#regulatory-clocks ~ .md-typeset__scrollwrap table tbody tr, "
        "#regulatory-clocks + table tbody tr"
    )
    ledger = load_ledger(demo[0])
    clocks = Obligations(ledger, parse_timestamp("2026-02-01T00:00:00Z")).regulatory(
        ledger.incidents[record]
    )
    assert rows.count() >= len(clocks) > 1
    for n, clock in enumerate(clocks):
        cells = rows.nth(n).locator("td")
        assert cells.nth(1).inner_text().strip() == clock.stage_name
        assert cells.nth(4).inner_text().strip() == VERDICT_MARKS[clock.verdict.state]
    browser.page.evaluate("document.getElementById('regulatory-clocks').scrollIntoView()")
    _shot(browser, "site-incident-regulatory.png")


def test_problem_portfolio_and_a_problem_page(browser: Browser) -> None:
    browser.open("problems/index.html")
    text = browser.page.locator("article").inner_text()
    for heading in ("Open problems", "Known errors", "Fixed problems"):
        assert heading in text
    links = browser.page.locator("article table a[href*='PRB-']")
    assert links.count() > 0
    select = browser.page.locator("div.ol-filter select").first  # Status
    assert select.count() == 1
    _shot(browser, "site-problems.png")
    _clean(browser)
    links.first.click()
    browser.page.wait_for_load_state("networkidle")
    page = browser.page.locator("article").inner_text()
    for heading in ("Against policy", "Timeline", "Actions", "Linked records", "Audit trail"):
        assert heading in page
    assert "Incident detected" in page
    _clean(browser)


def test_index_filters_and_sorting(browser: Browser) -> None:
    browser.open("incidents/index.html")
    rows = browser.page.locator("article table tbody tr")
    total = rows.count()
    select = browser.page.locator("div.ol-filter select").first  # Priority
    select.select_option("P1")
    visible = browser.page.locator("article table tbody tr:not([hidden])")
    assert 0 < visible.count() < total
    for row in visible.all():
        assert row.locator("td").nth(2).inner_text().strip() == "P1"
    assert f"of {total} rows" in browser.page.locator("output.ol-filter__count").inner_text()
    browser.page.locator("th button.ol-sort", has_text="Detected").click()
    first = visible.first.locator("td").nth(5).inner_text()
    last = visible.last.locator("td").nth(5).inner_text()
    assert first <= last
    _clean(browser)


def test_search_works_offline(browser: Browser) -> None:
    browser.open("index.html")
    browser.page.locator("input.md-search__input").click()
    browser.page.keyboard.type("checkout", delay=30)
    browser.page.wait_for_selector(".md-search-result__item", timeout=15000)
    assert browser.page.locator(".md-search-result__item").count() > 0
    meta = browser.page.locator(".md-search-result__meta").inner_text()
    assert "matching document" in meta
    _shot(browser, "site-search.png")
    _clean(browser)


def test_searching_the_corpus_runs_nothing(chromium: Any, corpus_site: Path) -> None:
    base, server = _serve(corpus_site)
    page = chromium.new_page()
    page.add_init_script(WATCH)
    try:
        page.goto(base + "index.html")
        page.wait_for_load_state("networkidle")
        page.locator("input.md-search__input").click()
        page.keyboard.type("injected heading", delay=30)
        page.wait_for_selector(".md-search-result__item", timeout=15000)
        page.wait_for_timeout(500)
        assert page.evaluate("window.__pwned") is None
        assert page.evaluate("window.__csp") == []
        assert page.locator(".md-search-result script, .md-search-result img").count() == 0
    finally:
        page.close()
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    "path",
    [
        "incidents/INC-2026-0001.html",
        "incidents/INC-2026-0002.html",
        "changes/CHG-2026-0001.html",
        "pirs/PIR-2026-0001.html",
        "runbooks/RB-0003.html",
        "services/orders-db.html",
        "incidents/index.html",
        "actions.html",
        "changes/calendar/2026-03.html",
    ],
)
def test_adversarial_corpus_is_inert(chromium: Any, corpus_site: Path, path: str) -> None:
    base, server = _serve(corpus_site)
    page = chromium.new_page()
    outside: list[str] = []
    console: list[str] = []
    dialogs: list[str] = []
    page.route(
        "**/*",
        lambda r: (
            r.continue_()
            if urlsplit(r.request.url).hostname == "127.0.0.1"
            else (outside.append(r.request.url), r.abort())
        ),
    )
    page.add_init_script(WATCH)
    page.on("console", lambda m: console.append(m.text))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    try:
        page.goto(base + path)
        page.wait_for_load_state("networkidle")
        for link in page.locator("article a").all()[:200]:
            href = (link.get_attribute("href") or "").strip().lower()
            assert not href.startswith(("javascript:", "data:", "vbscript:")), href
        assert page.evaluate("window.__pwned") is None
        assert page.evaluate("window.__csp") == []
        assert [m for m in console if "Content Security Policy" in m] == []
        assert dialogs == [] and outside == []
        assert page.url == base + path  # no meta refresh took the page away
        assert page.locator("article iframe, article svg, article script").count() == 0
        if path == "incidents/INC-2026-0001.html":
            assert "</title><script>" in page.title()
            _shot(Browser(page, base), "site-corpus-incident.png")
    finally:
        page.close()
        server.shutdown()
        server.server_close()
