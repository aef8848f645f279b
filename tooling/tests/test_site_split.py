"""A site rendered on two processes is the site rendered on one, byte for byte.

Real MkDocs builds of one repository, once in one process and once with a block of record
pages rendered by a second process (:mod:`opsledger.site.split`): every file of the two
sites is compared, the search index included; the messages MkDocs logs (a strict build
counts them) are the same; links from a hand-written page to anchors of a page the second
process rendered are checked as in one process; where the second process fails the site
is built again in one process, and an error in one of its pages is the error one process
gives. The block is chosen three ways (as the build chooses it, as wide as it may be, one
page), so each edge of the hand-over is crossed.
"""

from __future__ import annotations

import filecmp
import logging
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from mkdocs.commands.build import build
from mkdocs.config import load_config
from mkdocs.exceptions import Abort

from opsledger.errors import OpsledgerError
from opsledger.site import plugin as plugin_module
from opsledger.site.build import build_site
from opsledger.site.plugin import OpsledgerPlugin
from opsledger.site.split import Split, plan
from opsledger.timeutil import parse_timestamp

from conftest import ACKED, PROJECT, RUNBOOK, Repo, git, git_init

AS_OF = parse_timestamp("2026-04-01T00:00:00Z")
TITLE = "Orders database connection pool exhausted"
Plan = Callable[[Sequence[tuple[str, int, bool]], int], list[str]]


@pytest.fixture(autouse=True)
def _fixed_build_date(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """MkDocs dates the sitemap with the day it builds; the hand-over folders go to a
    temporary folder of the test's own, to be seen removed."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(AS_OF.timestamp())))
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    monkeypatch.setattr("opsledger.site.split.can_fork", lambda: True)  # one processor too


def _repo(repo: Repo, *, home: str = "# Ledger\n\nHand-written, with “quotes” and 東京.\n") -> Repo:
    repo.write("mkdocs.yml", (PROJECT / "mkdocs.yml").read_text(), dedent=False)
    repo.write("site/index.md", home, dedent=False)
    for n in range(1, 9):
        ident = f"INC-2026-{n:04d}"
        text = ACKED.replace("INC-2026-0001", ident)
        if n % 3 == 0:
            text = text.replace(TITLE, f"Zahlungen <b>gestört</b> {n} — 東京")
        repo.write(f"records/incidents/{ident}.yaml", text)
    repo.write("runbooks/RB-0003.md", RUNBOOK)
    git_init(repo.root)
    git(repo.root, "add", "-A")
    git(repo.root, "commit", "-q", "-m", "records")
    return repo


def _widest(pages: Sequence[tuple[str, int, bool]], least: int) -> list[str]:
    """The block as wide as it may be: the whole last run of record pages but the last page."""
    end = len(pages) - 1
    while end > 0 and not pages[end - 1][2]:
        end -= 1
    start = end
    while start > 0 and pages[start - 1][2]:
        start -= 1
    return [path for path, _, _ in pages[start:end]]


def _one(pages: Sequence[tuple[str, int, bool]], least: int) -> list[str]:
    """A block of one page: the first record page."""
    return [next(path for path, _, ok in pages if ok)]


PLANS: dict[str, Plan] = {"as built": plan, "widest": _widest, "one page": _one}
_blocks: list[list[str]] = []


@pytest.fixture(params=sorted(PLANS))
def chosen(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    choose = PLANS[request.param]

    def noted(pages: Sequence[tuple[str, int, bool]], least: int) -> list[str]:
        block = choose(pages, least)
        _blocks.append(block)
        return block

    _blocks.clear()
    monkeypatch.setattr(plugin_module, "plan", noted)
    return str(request.param)


def _same_tree(left: Path, right: Path) -> int:
    names = {p.relative_to(left).as_posix() for p in left.rglob("*") if p.is_file()}
    other = {p.relative_to(right).as_posix() for p in right.rglob("*") if p.is_file()}
    assert names == other, sorted(names ^ other)
    differ = [n for n in sorted(names) if not filecmp.cmp(left / n, right / n, shallow=False)]
    assert differ == [], differ
    return len(names)


def _children() -> list[str]:
    """This process's child processes (Linux)."""
    found: list[str] = []
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        found += (task / "children").read_text().split()
    return found


def _messages(caplog: pytest.LogCaptureFixture, out_dir: Path | None = None) -> list[str]:
    out = sorted(f"{r.levelname} {r.name} {r.getMessage()}" for r in caplog.records)
    if out_dir is not None:
        out = [m.replace(str(out_dir), "OUT") for m in out]
    caplog.clear()
    return [m for m in out if "Documentation built in" not in m]


def test_two_processes_build_the_site_one_builds(
    repo: Repo, tmp_path: Path, chosen: str, caplog: pytest.LogCaptureFixture
) -> None:
    _repo(repo)
    caplog.set_level(logging.INFO, logger="mkdocs")
    one, two = tmp_path / "one", tmp_path / "two"
    build_site(repo.root, output=one, as_of=AS_OF, split=None)
    alone = _messages(caplog, one)
    assert _blocks == []  # one process: no block asked for
    build_site(repo.root, output=two, as_of=AS_OF, split=1)
    split = _messages(caplog, two)
    assert len(_blocks) == 1 and _blocks[0], chosen  # the second process had pages
    assert any(p.startswith("incidents/INC-") for p in _blocks[0]) or chosen != "widest"
    assert _same_tree(one, two) > 40
    assert split == alone  # nor a "Page skipped" for the pages the other process wrote
    assert _children() == []
    assert list((tmp_path / "tmp").iterdir()) == []  # the hand-over folder is gone


def test_anchors_of_the_second_processes_pages_are_checked(
    repo: Repo, tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hand-written page's links to anchors of a page the second process rendered: a
    missing anchor is the strict build's warning, as in one process; a present one is not."""
    monkeypatch.setattr(plugin_module, "plan", _widest)
    target = "incidents/INC-2026-0005.md"
    good = f"# Ledger\n\n[timeline]({target}#timeline)\n"
    _repo(repo, home=good + f"[gone]({target}#no-such-anchor)\n")
    config = repo.root / "mkdocs.yml"
    config.write_text(config.read_text() + "validation:\n  anchors: warn\n", encoding="utf-8")
    git(repo.root, "commit", "-qam", "anchors checked")
    said = []
    for split in (None, 1):
        with pytest.raises(OpsledgerError) as failed:
            build_site(repo.root, output=tmp_path / f"o{split}", as_of=AS_OF, split=split)
        said.append((failed.value.message, _messages(caplog, tmp_path / f"o{split}")))
    assert said[0] == said[1]
    assert "Aborted with 1 warnings in strict mode" in said[0][0]
    assert any("does not contain an anchor '#no-such-anchor'" in m for m in said[0][1])
    repo.write("site/index.md", good, dedent=False)
    for split in (None, 1):  # the anchor the second process's page has is found
        build_site(repo.root, output=tmp_path / f"p{split}", as_of=AS_OF, split=split)
    _same_tree(tmp_path / "pNone", tmp_path / "p1")


WARN_EXTENSION = """\
import logging

from markdown.extensions import Extension
from markdown.preprocessors import Preprocessor


class _Warn(Preprocessor):
    def run(self, lines):
        if any("INC-2026-0007" in line for line in lines):
            logging.getLogger("mkdocs.test_split").warning("INC-2026-0007 on %s", lines[0])
            return [*lines, "", "[home](../index.md#no-such-anchor)"]
        return lines


class _Ext(Extension):
    def extendMarkdown(self, md):
        md.preprocessors.register(_Warn(md), "split_warn", 1)


def makeExtension(**kwargs):
    return _Ext(**kwargs)
"""


def test_the_second_processes_warnings_are_said_and_counted(
    repo: Repo, tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A warning while the second process renders its pages (here from a Markdown
    extension of the configuration) is said by the first and counted by a strict build; so
    is a link from one of its pages to an anchor another page does not have."""
    monkeypatch.setattr(plugin_module, "plan", _widest)
    (tmp_path / "ext").mkdir()
    (tmp_path / "ext" / "split_warn.py").write_text(WARN_EXTENSION, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path / "ext"))
    _repo(repo)
    config = repo.root / "mkdocs.yml"
    text = config.read_text().replace(
        "markdown_extensions:\n", "markdown_extensions:\n  - split_warn\n"
    )
    config.write_text(text + "validation:\n  anchors: warn\n", encoding="utf-8")
    said = []
    for split in (None, 1):
        cfg = load_config(config_file=str(config), site_dir=str(tmp_path / f"o{split}"))
        plugin = cfg.plugins["opsledger"]
        assert isinstance(plugin, OpsledgerPlugin)
        plugin.as_of_override = AS_OF
        plugin.split_min = split
        _blocks.clear()
        with pytest.raises(Abort) as aborted:
            build(cfg)
        said.append((str(aborted.value), _messages(caplog, tmp_path / f"o{split}")))
    warned = [m for m in said[0][1] if "INC-2026-0007 on" in m]
    assert len(warned) >= 2  # its own page, and the index pages that list it
    anchors = [m for m in said[0][1] if "does not contain an anchor '#no-such-anchor'" in m]
    assert any("'incidents/INC-2026-0007.md'" in m for m in anchors)
    assert said[0] == said[1]
    assert "Aborted with" in said[0][0]
    assert _children() == []


def test_a_failed_second_process_means_one_process_builds_again(
    repo: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second process ends without handing back its block (killed, out of memory):
    the site is built again in one process, the same site."""
    _repo(repo)
    build_site(repo.root, output=tmp_path / "one", as_of=AS_OF, split=None)
    monkeypatch.setattr(Split, "finish", lambda self, pages, spool: os._exit(9))
    tries: list[int | None] = []
    original = OpsledgerPlugin.on_nav

    def counted(self: OpsledgerPlugin, nav, *, config, files):  # type: ignore[no-untyped-def]
        tries.append(self.split_min)
        return original(self, nav, config=config, files=files)

    monkeypatch.setattr(OpsledgerPlugin, "on_nav", counted)
    build_site(repo.root, output=tmp_path / "two", as_of=AS_OF, split=1)
    assert tries == [1, None]  # split, failed; then alone
    _same_tree(tmp_path / "one", tmp_path / "two")
    assert _children() == []
    assert list((tmp_path / "tmp").iterdir()) == []


BROKEN = """\
{% extends "base.html" %}
{% block site_meta %}<meta http-equiv="Content-Security-Policy" content="{{ opsledger_csp }}">
{{ super() }}{% endblock %}
{% block content %}{% if "INC-2026-0006" in page.file.src_uri %}{{ 1 // 0 }}{% endif %}\
{{ super() }}{% endblock %}
"""


def test_an_error_in_the_second_processes_pages_is_the_one_process_error(
    repo: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A theme override that fails on one record page the second process renders: the
    build fails with the error one process gives."""
    monkeypatch.setattr(plugin_module, "plan", _widest)
    _repo(repo)
    repo.write("site/overrides/main.html", BROKEN, dedent=False)
    git(repo.root, "add", "-A")
    git(repo.root, "commit", "-qm", "override")
    said = []
    for split in (None, 1):
        with pytest.raises(OpsledgerError) as failed:
            build_site(repo.root, output=tmp_path / f"o{split}", as_of=AS_OF, split=split)
        said.append((failed.value.message, failed.value.status))
    assert said[0] == said[1]
    assert "ZeroDivisionError" in said[0][0]
    assert _children() == []
    assert list((tmp_path / "tmp").iterdir()) == []


def _pages(*spec: tuple[str, int, bool]) -> list[tuple[str, int, bool]]:
    return list(spec)


def test_the_block_is_the_end_of_the_last_run_of_record_pages_never_the_last_page() -> None:
    pages = _pages(
        ("index.md", 10, False),
        ("incidents/index.md", 100, False),
        *((f"incidents/INC-{n}.md", 10, True) for n in range(20)),
        ("index-generated.md", 10, False),
    )
    # 320 in all: the block holds about half, from the end of the run back
    assert plan(pages, 1) == [f"incidents/INC-{n}.md" for n in range(4, 20)]
    assert plan(pages, 17) == []  # fewer pages than asked for: one process
    # the run reaches the last page: that page stays with the first process
    tail = pages[:-1]
    assert plan(tail, 1) == [f"incidents/INC-{n}.md" for n in range(3, 19)]
    # only the last run: a page in the navigation between two runs is never in the block
    gap = [*pages[:5], ("changes/index.md", 0, False), *pages[5:]]
    assert all(path.startswith("incidents/INC-") for path in plan(gap, 1))
    assert "incidents/INC-2.md" not in plan(gap, 1)
    assert plan([("a.md", 5, True)], 1) == []
    assert plan([("a.md", 5, False), ("b.md", 5, False)], 1) == []
