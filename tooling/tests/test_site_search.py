"""The search index written from a spool of each page's entries is the search plugin's own.

Real MkDocs builds of one repository: once as ``opsledger site build`` builds (the entries
spooled page by page, :mod:`opsledger.site.search`) and once keeping the build as ``site
serve`` does, where Material's search plugin writes its index itself, unchanged. Every
file of the two sites is compared byte for byte.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from mkdocs.commands.build import build
from mkdocs.config import load_config
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.plugins import BasePlugin, event_priority
from mkdocs.structure.files import Files

from opsledger.site.generate import Texts
from opsledger.site.plugin import OpsledgerPlugin
from opsledger.site.search import search_plugin
from opsledger.site.shelf import pack, unpack
from opsledger.timeutil import parse_timestamp

from conftest import ACKED, PROJECT, RUNBOOK, Repo, git, git_init, same_tree

AS_OF = parse_timestamp("2026-04-01T00:00:00Z")
HOME = """\
---
search:
  boost: 2.5
tags:
  - ledger
  - 2026
---
# Ledger

Hand-written home page, with “quotes”, a tab\there, Zürich — and 東京.

## A section with a backslash \\\\ and "double quotes"

Text.
"""
HIDDEN = """\
---
search:
  exclude: true
---
# Not searched

Nothing here is indexed.
"""


@pytest.fixture(autouse=True)
def _fixed_build_date(monkeypatch: pytest.MonkeyPatch) -> None:
    """MkDocs dates the sitemap with the day it builds."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(AS_OF.timestamp())))


def _repo(repo: Repo, plugins: str = "") -> Repo:
    config = (PROJECT / "mkdocs.yml").read_text()
    if plugins:
        config = config.replace("  - opsledger\n", f"  - opsledger\n{plugins}")
    repo.write("mkdocs.yml", config, dedent=False)
    repo.write("site/index.md", HOME, dedent=False)
    repo.write("site/hidden.md", HIDDEN, dedent=False)
    title = "Orders database connection pool exhausted"
    repo.write("records/incidents/INC-2026-0001.yaml", ACKED)
    repo.write(
        "records/incidents/INC-2026-0002.yaml",
        ACKED.replace("INC-2026-0001", "INC-2026-0002").replace(title, "Zahlungen <b>gestört</b>"),
    )
    repo.write("runbooks/RB-0003.md", RUNBOOK)
    git_init(repo.root)
    git(repo.root, "add", "-A")
    git(repo.root, "commit", "-q", "-m", "records")
    return repo


_shelved: list[int] = []


def _build(repo: Repo, out: Path, *, keep: bool) -> Any:
    """Build with MkDocs itself; the search plugin as the build left it (and in
    ``_shelved`` how many pages the shelf still held once the build ended, if it was used)."""
    config = load_config(config_file=str(repo.root / "mkdocs.yml"), site_dir=str(out))
    plugin = config.plugins["opsledger"]
    assert isinstance(plugin, OpsledgerPlugin)
    plugin.as_of_override = AS_OF
    plugin.keep = keep
    _shelved.clear()
    build(config)
    if plugin.shelf is not None:
        _shelved.append(len(plugin.shelf))
    return search_plugin(config)


def test_the_spooled_index_is_the_search_plugins_own(repo: Repo, tmp_path: Path) -> None:
    _repo(repo)
    spooled, own = tmp_path / "spooled", tmp_path / "own"
    search = _build(repo, spooled, keep=False)
    assert search.search_index.entries == []  # each page's entries went to the spool
    assert _shelved == [0]  # every page was shelved, then given back before its template
    search = _build(repo, own, keep=True)
    assert len(search.search_index.entries) > 20  # the plugin kept and wrote them itself
    assert same_tree(spooled, own) > 20
    index = json.loads((spooled / "search/search_index.json").read_text(encoding="utf-8"))
    docs = index["docs"]
    assert [d["location"] for d in docs] == [e["location"] for e in search.search_index.entries]
    home = [d for d in docs if d["location"] == "index.html"]
    assert home and home[0]["boost"] == 2.5 and home[0]["tags"] == ["ledger", "2026"]
    assert any("Zahlungen" in d["title"] for d in docs)
    assert not any(d["location"].startswith("hidden.html") for d in docs)


def test_another_plugin_leaves_the_index_to_the_search_plugin(repo: Repo, tmp_path: Path) -> None:
    """A plugin other than search and opsledger might read the entries or the file while
    the build ends: the search plugin then writes its index itself."""
    _repo(repo, plugins="  - tags\n")
    search = _build(repo, tmp_path / "with-tags", keep=False)
    assert len(search.search_index.entries) > 20
    index = json.loads((tmp_path / "with-tags/search/search_index.json").read_text("utf-8"))
    assert [d["location"] for d in index["docs"]] == [
        e["location"] for e in search.search_index.entries
    ]


class _Files(BasePlugin):  # type: ignore[type-arg,no-untyped-call]
    """A plugin that only remembers the build's files (after opsledger added its own)."""

    files: Files | None = None

    @event_priority(-100)
    def on_files(self, files: Files, *, config: MkDocsConfig) -> Files:
        self.files = files
        return files


def test_generated_pages_are_released_once_read(repo: Repo, tmp_path: Path) -> None:
    """A build that is not kept drops each generated page's Markdown once MkDocs has read
    it (a kept build, ``site serve``, holds it: it renders pages again) and writes the
    same site, file for file."""
    _repo(repo)
    held: dict[bool, dict[str, object]] = {}
    for keep in (False, True):
        config = load_config(
            config_file=str(repo.root / "mkdocs.yml"), site_dir=str(tmp_path / str(keep))
        )
        plugin = config.plugins["opsledger"]
        assert isinstance(plugin, OpsledgerPlugin)
        plugin.as_of_override, plugin.keep = AS_OF, keep
        seen = config.plugins["files-seen"] = _Files()
        build(config)
        assert seen.files is not None
        pages = [f for f in seen.files.documentation_pages() if f.src_uri in plugin.generated]
        assert len(pages) > 20
        held[keep] = {f.src_uri: f._content for f in pages}
    assert set(held[False].values()) == {None}
    assert None not in held[True].values()
    # a page with a character beyond Latin-1 (the em dash of a missing value) is held as
    # its UTF-8 bytes, an ASCII page as text
    assert isinstance(held[True]["incidents/INC-2026-0002.md"], bytes)
    same_tree(tmp_path / "False", tmp_path / "True")


def test_texts_give_back_what_they_were_given() -> None:
    texts = Texts()
    samples = {
        "ascii.md": "# Plain\n",
        "latin.md": "# Zürich\n",
        "wide.md": "# Orders — 東京 \U0001f600\n",
        "surrogate.md": "# lone \ud800 surrogate\n",
        "bom.csv": "\ufeffid,title\n",
        "crlf.csv": "a\r\nb\rc\n",
    }
    for path, text in samples.items():
        texts[path] = text
    assert dict(texts) == samples
    held = dict(texts.held())
    assert held["wide.md"] == samples["wide.md"].encode("utf-8")
    assert held["ascii.md"] == samples["ascii.md"]
    assert held["surrogate.md"] == samples["surrogate.md"]  # UTF-8 cannot carry it
    assert held["bom.csv"] == samples["bom.csv"]  # MkDocs would drop the mark from bytes


def test_packed_texts_come_back_unchanged() -> None:
    for text in (
        "",
        "# Plain",
        "Zürich — 東京 \U0001f600",
        "a \ud83d\ude00 pair, a lone \ud800",
        "\ufeffx\r\n",
    ):
        assert unpack(pack(text)) == text
