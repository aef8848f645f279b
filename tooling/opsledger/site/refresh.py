"""Rebuilding a served site after a record changed: only what changed.

``opsledger site serve`` keeps the MkDocs state of its last full build: the configuration,
the files (each generated page's Markdown), the navigation, the theme and each page's
entries in the search index. When records change, every page is generated again (the
audit, the KPIs and the index pages are of the whole repository, so any page may change;
what is made from unchanged records is carried: :mod:`.carry`), and only the pages whose
Markdown differs are rendered and written again; changed
downloads are rewritten and the search index is put together again from the kept entries
and the new ones. The result is the site a full build gives, file for file.

Where that cannot be promised, :func:`refresh` says so (None) and the caller builds in
full: a generated page added, removed or in another order, a title in the navigation
changed, or a plugin other than opsledger and the theme's search (its state is unknown).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import jinja2
from mkdocs.commands.build import _build_page, _populate_page
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files, InclusionLevel
from mkdocs.structure.nav import Navigation, Section
from mkdocs.structure.pages import Page

from opsledger.site.generate import Site, generated_files
from opsledger.site.search import (
    entry_json,
    known_plugins_only,
    ours,
    search_plugin,
    write_index,
)

if TYPE_CHECKING:
    from opsledger.site.plugin import OpsledgerPlugin


@dataclass
class Kept:
    """What one full build leaves for :func:`refresh`."""

    config: MkDocsConfig
    files: Files
    nav: Navigation
    env: jinja2.Environment | None = None
    #: the generated files' paths, in the order the build was given them
    generated: list[str] = field(default_factory=list)
    #: page (source path) -> how many search entries there were once it was indexed
    ends: dict[str, int] = field(default_factory=dict)
    #: page (source path) -> its entries in the search index, once built; or as the index
    #: file holds them (:meth:`entries_json`), once a refresh wrote them so
    entries: dict[str, list[dict[str, Any]] | bytes] = field(default_factory=dict)

    def entries_json(self, page: str) -> bytes:
        """The page's entries as the search index file holds them, joined by ``,``: held
        so from now on (a refresh that wrote the index file once writes it every time;
        the entries themselves are not needed again)."""
        found = self.entries[page]
        if not isinstance(found, bytes):
            found = self.entries[page] = b",".join(entry_json(e).encode("utf-8") for e in found)
        return found

    def serialise(self, own: object) -> None:
        """Hold every page's entries as the search index file holds them, where a refresh
        writes that file itself (:func:`~.search.ours`): done once after the full build,
        so the first refresh does not serialise every page's entries (a second at 10k
        records)."""
        if ours(self.config, own):
            for page in self.entries:
                self.entries_json(page)

    def entries_of(self, page: str) -> list[dict[str, Any]]:
        """The page's entries."""
        found = self.entries[page]
        return json.loads(b"[" + found + b"]") if isinstance(found, bytes) else found

    def indexed(self, page: Page) -> None:
        """Called once the search plugin has indexed ``page`` (after its template)."""
        search = search_plugin(self.config)
        if search is not None:
            self.ends[page.file.src_uri] = len(search.search_index.entries)

    def built(self) -> None:
        """Called after the build: split the search index into each page's entries, and
        hold the hand-written home page's text (the packaged default configuration's
        folder is temporary; a change to a hand-written page needs a full build anyway)."""
        home = self.files.get_file_from_path("index.md")
        if home is not None:
            home.content_string = home.content_string
        search = search_plugin(self.config)
        if search is None:
            return
        entries: list[dict[str, Any]] = search.search_index.entries
        start = 0
        for file in _pages(self.files):
            end = self.ends.get(file.src_uri, start)
            self.entries[file.src_uri] = entries[start:end]
            start = end
        self.ends = {}


def _same(file: File, content: str | bytes) -> bool:
    """Whether ``file`` holds ``content``, compared as held (a text, or its UTF-8 bytes:
    :class:`~.generate.Texts`), so the thousands of pages that did not change are not
    decoded. A held text UTF-8 cannot carry (a lone surrogate) differs from any bytes."""
    if isinstance(content, str):
        return bool(file.content_string == content)
    try:
        return bool(file.content_bytes == content)
    except UnicodeEncodeError:
        return False


def _pages(files: Files) -> list[File]:
    """The pages a build renders, in its order."""
    return list(files.documentation_pages(inclusion=InclusionLevel.is_included))


def _nav_titles(items: list[Any]) -> list[Any]:
    """Every title the navigation shows (on every page), in order."""
    out: list[Any] = []
    for item in items:
        out.append(item.title)
        if isinstance(item, Section):
            out.append(_nav_titles(item.children))
    return out


def refresh(plugin: OpsledgerPlugin, kept: Kept, site: Site) -> list[str] | None:
    """Bring the build ``kept`` up to date with ``site``, the pages generated afresh:
    render and write only the pages whose Markdown changed (and the home page when the
    part opsledger adds to a hand-written one changed), rewrite the changed downloads and
    the search index. Returns the pages rendered again, or None where only a full build
    can give the same site."""
    config, files = kept.config, kept.files
    search = search_plugin(config)
    if not known_plugins_only(config, plugin):
        return None
    new = list(generated_files(site, plugin.home_written))
    if [path for path, _, _ in new] != kept.generated or kept.env is None:
        return None
    pages: set[str] = set()
    assets: list[File] = []
    by_uri = files.src_uris  # a generated path is a source URI already
    for path, content, _ in new:
        file = by_uri.get(path) or files.get_file_from_path(path)
        if file is None:
            return None
        if _same(file, content):
            continue
        if isinstance(content, str):
            file.content_string = content
        else:
            file.content_bytes = content
        if file.is_documentation_page():
            pages.add(path)
        else:
            assets.append(file)
    before = plugin.site
    plugin.site = site
    if not plugin.home_written and (before is None or before.home != site.home):
        pages.add("index.md")  # the hand-written home page, with the dashboard below it
    doc_files = _pages(files)
    changed = [file for file in doc_files if file.src_uri in pages]
    titles = _nav_titles(kept.nav.items)
    for file in changed:
        assert file.page is not None
        _populate_page(file.page, config, files)
    if _nav_titles(kept.nav.items) != titles:
        return None
    if search is not None:
        search.search_index = type(search.search_index)(**search.search_index.config)
    for file in changed:
        assert file.page is not None
        _build_page(file.page, config, doc_files, kept.nav, kept.env)  # none is a draft
    for file in assets:
        file.copy_file()
    if search is not None:
        fresh = search.search_index.entries
        start = 0
        for file in changed:
            end = kept.ends.get(file.src_uri, start)
            kept.entries[file.src_uri] = fresh[start:end]
            start = end
        kept.ends = {}
        search.search_index.entries = []
        if not write_index(config, plugin, (kept.entries_json(f.src_uri) for f in doc_files)):
            search.search_index.entries = [e for f in doc_files for e in kept.entries_of(f.src_uri)]
            search.on_post_build(config=config)
    log_level = config.validation.links.anchors
    for file in changed:
        assert file.page is not None
        file.page.validate_anchor_links(files=files, log_level=log_level)
    return [file.src_uri for file in changed]
