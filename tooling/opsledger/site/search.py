"""The theme's search index, written without holding it whole.

Material's search plugin keeps an entry (location, title, text) for every section of every
page and, once the build ends, serialises them all into one JSON string, encodes that into
bytes and writes ``search/search_index.json``: at 10^5 records hundreds of megabytes of
entries, then the string and the bytes on top of them, the largest resident set of the
build. :class:`SearchSpool` takes each page's entries as soon as the plugin has made them,
serialises them exactly as the plugin does (``json.dumps`` with its separators and
``default``) into a temporary file, and at the end writes the same file, byte for byte,
from that spool: the plugin's own serialisation of its configuration with no entries,
around the spooled ones.

It runs only where the result is certain to be the plugin's: the plugin enabled and not
keeping an index between builds (``mkdocs serve --dirty``), no plugin but the search
plugin and opsledger (another one might read the entries, or the file before it is
complete), and the plugin's index of no entries ending in ``"docs":[]}``, which the
spooled entries then fill (:func:`ours`). Elsewhere the plugin writes its index itself,
as before. ``site serve``'s refresh writes the index the same way (:func:`write_index`),
from each page's entries serialised once (:mod:`.refresh`).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from typing import IO, Any

from mkdocs.config.defaults import MkDocsConfig

#: the theme's search plugin: its index is the one state of a build besides the pages
SEARCH = "material.plugins.search.plugin"
#: how the plugin's index of no entries ends: the spooled entries go between the brackets
EMPTY = '"docs":[]}'


def search_plugin(config: MkDocsConfig) -> Any | None:
    """The configuration's search plugin (Material's), or None."""
    for plugin in config.plugins.values():
        if type(plugin).__module__ == SEARCH:
            return plugin
    return None


def known_plugins_only(config: MkDocsConfig, own: object) -> bool:
    """Whether the configuration's plugins are opsledger (``own``) and at most the
    theme's search plugin (hooks count as plugins): whether what a build holds between
    its events is known."""
    search = search_plugin(config)
    return all(p is own or p is search for p in config.plugins.values())


def entry_json(entry: dict[str, Any]) -> str:
    """One entry as the search plugin serialises it within its index."""
    return json.dumps(entry, separators=(",", ":"), default=str)


class SearchSpool:
    """Each page's search entries, serialised and set aside as the page is indexed."""

    def __init__(self, search: Any) -> None:
        self.search = search
        # closed by write() or close(): the spool lives from the first page to the end
        self.spool: IO[bytes] | None = tempfile.TemporaryFile(prefix="opsledger-search-")  # noqa: SIM115
        self.count = 0

    @classmethod
    def start(cls, config: MkDocsConfig, own: object) -> SearchSpool | None:
        """A spool for this build's search index, or None where the search plugin must
        write it itself (see the module's description). ``own``: the opsledger plugin.
        Called once every plugin is configured and before any page is indexed."""
        return cls(search_plugin(config)) if cls.possible(config, own) else None

    @staticmethod
    def possible(config: MkDocsConfig, own: object) -> bool:
        """Whether :meth:`start` gives a spool."""
        search = search_plugin(config)
        return search is not None and not search.search_index.entries and ours(config, own)

    def take(self) -> None:
        """Set aside the entries the search plugin has made since the last call (one
        page's, called once it has indexed that page)."""
        assert self.spool is not None
        entries: list[dict[str, Any]] = self.search.search_index.entries
        for entry in entries:
            if self.count:
                self.spool.write(b",")
            self.spool.write(entry_json(entry).encode("utf-8"))
            self.count += 1
        entries.clear()

    def dump(self, out: IO[bytes]) -> int:
        """Copy the entries spooled so far to ``out`` (as :meth:`splice` takes them): how
        many there are."""
        assert self.spool is not None
        self.take()
        self.spool.seek(0)
        shutil.copyfileobj(self.spool, out, 1 << 20)
        return self.count

    def splice(self, path: str | os.PathLike[str], count: int) -> None:
        """Spool, after the entries spooled so far, the ``count`` entries another spool
        dumped to ``path`` (the pages another process indexed, :mod:`opsledger.site.split`)."""
        assert self.spool is not None
        if not count:
            return
        self.take()
        if self.count:
            self.spool.write(b",")
        with open(path, "rb") as held:
            shutil.copyfileobj(held, self.spool, 1 << 20)
        self.count += count

    def write(self, config: MkDocsConfig) -> None:
        """Write ``search/search_index.json`` (over what the plugin wrote of its index,
        then empty): the plugin's index of no entries, with every spooled entry in it."""
        assert self.spool is not None
        index = self.search.search_index
        if index.entries:  # made after the last page (none is): spooled the same way
            self.take()
        frame = _frame(index)
        assert frame.endswith(EMPTY)
        spool = self.spool
        spool.seek(0)
        _write(config, frame, lambda out: shutil.copyfileobj(spool, out, 1 << 20))
        self.close()

    def close(self) -> None:
        if self.spool is not None:
            self.spool.close()
            self.spool = None


def ours(config: MkDocsConfig, own: object) -> bool:
    """Whether opsledger (``own``) may write the search index file from entries it
    serialised itself (see the module's description): the search plugin enabled, keeping
    no index between builds, its index of no entries ending in ``"docs":[]}``, and no
    plugin but it and opsledger."""
    search = search_plugin(config)
    if search is None or not search.config.enabled:
        return False
    if search.is_dirty or search.search_index_prev is not None:
        return False
    if not known_plugins_only(config, own):
        return False
    return _frame(search.search_index).endswith(EMPTY)


def write_index(config: MkDocsConfig, own: object, parts: Iterable[bytes]) -> bool:
    """Write ``search/search_index.json`` as the search plugin's ``on_post_build`` would
    with its entries given serialised: each part the UTF-8 of one or more entries as
    :func:`entry_json` gives them, joined by ``,`` (``site serve`` keeps each page's).
    False, writing nothing and reading no part, where only the plugin can write it
    (:func:`ours`)."""
    search = search_plugin(config)
    if search is None or not ours(config, own):
        return False
    frame = _frame(search.search_index)
    _write(config, frame, lambda out: out.write(b",".join(p for p in parts if p)))
    return True


def _write(config: MkDocsConfig, frame: str, entries: Callable[[IO[bytes]], object]) -> None:
    """The index file: ``frame`` (the plugin's index of no entries) with the entries
    ``entries`` writes between its brackets."""
    path = os.path.join(config.site_dir, "search", "search_index.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as out:
        out.write(frame[: -len("]}")].encode("utf-8"))
        entries(out)
        out.write(b"]}")


def _frame(index: Any) -> str:
    """The plugin's serialisation of ``index`` as it holds no entries."""
    held, index.entries = index.entries, []
    try:
        return str(index.generate_search_index(None))
    finally:
        index.entries = held
