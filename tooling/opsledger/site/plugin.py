"""The thin MkDocs adapter: ``plugins: [opsledger]`` in ``mkdocs.yml``.

At build time it loads the repository, runs the page functions of
:mod:`opsledger.site.generate` and hands MkDocs the pages as in-memory files (nothing is
written into ``site/``, nothing is committed). It also

* adds opsledger's theme layer (the CSP as first element of ``<head>``, the theme's inline
  scripts moved to files, the table script and styles), below the repository's own
  overrides (``site/overrides/`` or ``theme.custom_dir``) and above Material;
* sanitises every rendered page body with the allow-list of :mod:`opsledger.site.sanitize`
  and checks every finished page for the CSP and for stray scripts;
* refuses symlinks in the docs folder and the overrides, and a docs folder or overrides
  outside the configuration's folder, and reports a broken theme override as one clear
  error;
* renders every template in a Jinja sandbox (:func:`sandboxed`): an override from the
  repository cannot reach Python internals;
* keeps a large build's memory down (at 10^5 records MkDocs and the search plugin held
  every page's Markdown, HTML and search entries at once): generated pages are held as
  UTF-8 and dropped once read (:class:`~opsledger.site.generate.Texts`), rendered pages
  packed until written (:mod:`opsledger.site.shelf`), the search index spooled to a
  temporary file (:mod:`opsledger.site.search`); the site is the same byte for byte.

Everything else depends only on the page functions; MkDocs internals stay here.
"""

from __future__ import annotations

import gc
import os
import types
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment
from mkdocs.config import config_options as c
from mkdocs.config.base import Config, ValidationError
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin, event_priority
from mkdocs.structure.files import File, Files, InclusionLevel
from mkdocs.structure.nav import Navigation
from mkdocs.structure.pages import Page
from mkdocs.utils import write_file
from mkdocs.utils.templates import TemplateContext

from opsledger.errors import OpsledgerError
from opsledger.loading import Limits
from opsledger.loading.markdown import check_body
from opsledger.model.layout import linked_folder
from opsledger.outputs import check_site_folder, mark_site_folder
from opsledger.site.carry import Carry
from opsledger.site.data import Progress, Stage, collect, quiet
from opsledger.site.generate import NAV, Site, generate, generated_files
from opsledger.site.paging import PAGE_ROWS
from opsledger.site.refresh import Kept, refresh
from opsledger.site.sanitize import CSP, PageCheckError, check_page, clean
from opsledger.site.search import SearchSpool, search_plugin
from opsledger.site.shelf import Shelf, known_plugins_only
from opsledger.site.split import Messages, PageState, Split, SplitFailed, can_fork, plan

THEME_DIR = str(Path(__file__).with_name("theme"))


class _Rows(c.Type[int]):
    """A whole number of rows, at least 1 (``true`` or ``0`` is a mistake, not a size)."""

    def run_validation(self, value: object) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValidationError(f"expected a whole number of rows, at least 1; got {value!r}")
        return value


class OpsledgerConfig(Config):  # type: ignore[no-untyped-call]
    repo = c.Optional(c.Type(str))  # the governance repository (default: mkdocs.yml's folder)
    as_of = c.Optional(c.Type(str))  # fix "now" (timestamp, or date = end of that day)
    overrides = c.Type(str, default="overrides")  # hand-written overrides inside docs_dir
    #: build without git history (pages then say history is unavailable, and why); without
    #: it, a shallow clone or a folder outside git stops the build
    no_history = c.Type(bool, default=False)
    #: rows per page of a long index or findings table (split over pages beyond that)
    index_page_rows = _Rows(int, default=PAGE_ROWS)


def refuse_symlinks(folder: Path, label: str, home: Path | None = None) -> None:
    """Raise when ``folder`` is, or contains, a symbolic link (MkDocs would follow it), or,
    given the configuration's folder ``home``, lies outside it or is reached through a link
    (MkDocs would publish whatever is there: a ``docs_dir`` of ``/home/ci`` or ``../..``)."""
    if home is not None:
        try:
            rel = Path(os.path.abspath(folder)).relative_to(os.path.abspath(home))
        except ValueError:
            raise PluginError(
                f"{label} {folder} is outside {home}; the site build publishes only the "
                "repository's own folders"
            ) from None
        linked = linked_folder(Path(os.path.abspath(home)), rel.as_posix())
        if linked is not None:
            raise PluginError(
                f"{label}: {home / linked} is a symbolic link; the site build refuses links"
            )
    if folder.is_symlink():
        raise PluginError(f"{label} {folder} is a symbolic link; the site build refuses links")
    for here, dirs, files in os.walk(folder, followlinks=False):
        for name in [*dirs, *files]:
            path = Path(here, name)
            if path.is_symlink():
                raise PluginError(
                    f"{path} is a symbolic link; the site build refuses links (MkDocs would "
                    "publish whatever it points at)"
                )
            if name in files and not path.is_file():  # a FIFO would hang MkDocs' copy
                raise PluginError(f"{path} is not a regular file; the site build refuses it")


class OpsledgerPlugin(BasePlugin[OpsledgerConfig]):  # type: ignore[no-untyped-call]
    #: set by ``opsledger site build``: "now"
    as_of_override: datetime | None = None
    no_history_override: bool = False
    #: set by ``opsledger site serve``: keep what :meth:`refresh` needs after the build
    keep: bool = False
    #: set by ``opsledger site build``: render a block of at least this many record pages
    #: in a second process (:mod:`opsledger.site.split`); None: all in this one
    split_min: int | None = None
    #: ... unless the site has more than this many pages (None: however many)
    split_most: int | None = None
    #: the expected failure that stopped the build (``opsledger site build`` re-raises it
    #: with its own exit status, e.g. 4 for unusable history)
    failure: OpsledgerError | None = None

    def __init__(self) -> None:
        super().__init__()
        self.site: Site | None = None
        self.home_written = False
        self.overrides: Path | None = None
        self.kept: Kept | None = None
        #: what a kept build (serve) carries to the next (:mod:`opsledger.site.carry`)
        self.carry: Carry | None = None
        #: the search index's entries, set aside page by page (:mod:`opsledger.site.search`)
        self.spool: SearchSpool | None = None
        self.ahead: Path | None = None  # the repository a read-ahead was started for
        #: rendered pages' Markdown and HTML, packed until written (:mod:`.shelf`)
        self.shelf: Shelf | None = None
        self.generated: list[str] = []  # the generated files' paths, in order
        self.sizes: dict[str, int] = {}  # each generated page's size (:func:`plan`)
        #: the build's files, and its split between two processes (:mod:`.split`), if any
        self.files: Files | None = None
        self.split: Split | None = None
        #: the build's messages, held in page order while it may split (set by build_site)
        self.messages: Messages | None = None
        self._config: MkDocsConfig | None = None
        self._order: dict[str, int] = {}  # page source path -> its place in the build
        self._phase_no = 0  # 0 before the pages are read, 1 reading, 2 and 3 writing them
        self._last = -1  # the place of the last page a message was about
        self._searched: dict[str, Any] = {}  # pages skipped here -> their own metadata
        self._shown: set[str] = set()  # the pages in the navigation (their source paths)
        self.limits = Limits()  # the policy's, once the repository is read
        #: set by ``opsledger site build``: shows each phase (a progress bar on a terminal)
        self.stage: Stage | None = None
        self._phase = ExitStack()
        self._update: Progress | None = None
        self._done = 0
        self._total = 0

    # -- progress -----------------------------------------------------------------------
    def _start(self, label: str, total: int) -> None:
        self._end()
        if self.stage is not None:
            self._update = self._phase.enter_context(self.stage(label))
        self._done, self._total = 0, total

    def _step(self) -> None:
        self._done += 1
        if self._update is not None and (self._done % 32 == 0 or self._done == self._total):
            self._update(self._done, self._total)

    def _end(self) -> None:
        self._phase.close()
        self._update = None

    # -- configuration ----------------------------------------------------------------
    def on_config(self, config: MkDocsConfig) -> MkDocsConfig:
        self._config = config
        docs = Path(config.docs_dir)
        _guard_site_dir(config, self._root(config))
        home = Path(config.config_file_path or "mkdocs.yml").parent
        refuse_symlinks(docs, "docs_dir", home)
        dirs = config.theme.dirs
        position = 1 if config.theme.custom_dir else 0
        if config.theme.custom_dir:
            refuse_symlinks(Path(config.theme.custom_dir), "theme.custom_dir", home)
            self.overrides = Path(config.theme.custom_dir)
        elif (docs / self.config.overrides).is_dir():
            # inside docs_dir, without links: an absolute path or '..' would publish the
            # machine's files (and '/' would walk them all)
            refuse_symlinks(docs / self.config.overrides, "the opsledger overrides", docs)
            self.overrides = docs / self.config.overrides
            dirs.insert(0, str(self.overrides))
            position = 1
        if THEME_DIR not in dirs:
            dirs.insert(position, THEME_DIR)
        config.extra_css.append("assets/opsledger/site.css")
        config.extra_javascript.append("assets/opsledger/tables.js")
        for name in ("tables", "toc"):
            if name not in config.markdown_extensions:
                config.markdown_extensions.append(name)
        config.nav = _with_generated_nav(config.nav)
        if not (self.no_history_override or self.config.no_history):
            from opsledger.history.index import read_ahead

            # git walks the history (a long log on a large repository, in its own
            # process) while MkDocs reads the docs folder and the records are parsed;
            # the index is built from the same log either way
            self.ahead = self._root(config)
            read_ahead(self.ahead)
        return config

    def _root(self, config: MkDocsConfig) -> Path:
        if self.config.repo:
            base = Path(config.config_file_path or ".").parent
            return (base / self.config.repo).resolve()
        return Path(config.config_file_path or "mkdocs.yml").resolve().parent

    # -- pages --------------------------------------------------------------------------
    def _generate(self, config: MkDocsConfig) -> Site:
        """Load, audit and measure the repository, and make every page from it."""
        stage = self.stage or quiet
        as_of = self.as_of_override or self.config.as_of
        use_history = not (self.no_history_override or self.config.no_history)
        try:
            if self.keep and self.carry is None:
                self.carry = Carry()
            data = collect(
                self._root(config),
                as_of,
                use_history=use_history,
                stage=stage,
                carry=self.carry if self.keep else None,
            )
        except OpsledgerError as exc:
            self.failure = exc
            raise PluginError(f"opsledger: {exc.message}") from None
        self.limits = data.ledger.policy.limits
        with stage("Generating pages") as update:
            return generate(
                data,
                directory_urls=config.use_directory_urls,
                page_rows=self.config.index_page_rows,
                progress=update,
            )

    def on_files(self, files: Files, *, config: MkDocsConfig) -> Files:
        self.site = site = self._generate(config)
        if self.overrides is not None and _inside(self.overrides, Path(config.docs_dir)):
            prefix = self.overrides.relative_to(Path(config.docs_dir)).as_posix() + "/"
            for file in list(files):
                if file.src_uri.startswith(prefix):
                    files.remove(file)
        self.home_written = files.get_file_from_path("index.md") is None
        problem = _written_page_problem(files, config, self.limits)
        if problem is not None:
            self.failure = OpsledgerError(problem)  # the whole message: site build says it
            raise PluginError(problem)  # plain mkdocs build: its own error, no traceback
        self.generated = []
        for path, content, in_nav in generated_files(site, self.home_written):
            _add(files, config, path, content, in_nav)
            self.generated.append(path)
            self.sizes[path] = len(content)
        # The records, history and findings are not needed any more: free them, and keep
        # the garbage collector from walking the page texts again and again while MkDocs
        # renders thousands of pages (measured: seconds on 10k records).
        for texts in (site.pages, site.records, site.assets):
            texts.clear()
        gc.collect()
        gc.freeze()
        # A kept build (serve) renders pages again later: it holds them as they are.
        self.shelf = Shelf() if not self.keep and known_plugins_only(config, self) else None
        self._start("Rendering pages", len(files.documentation_pages()))
        return files

    def on_nav(self, nav: Navigation, *, config: MkDocsConfig, files: Files) -> Navigation:
        if self.keep:
            self.kept = Kept(config, files, nav, generated=self.generated)
        self.files = files
        self._phase_no, self._last = 1, -1
        self._shown = {page.file.src_uri for page in nav.pages}
        self.split = self._split(config, files)
        if self.split is not None:
            # no progress bar (nor its drawing thread, nor its lock) at the fork: the second
            # process leaves the terminal alone; the first draws its bar again
            total = self._total
            self._end()
            if not self.split.start():
                self.split = None  # no second process: this one renders every page
            elif self.split.child:
                self.stage, self._update = None, None
            if self.split is None or not self.split.child:
                self._start("Rendering pages", total)
        if self.split is None and self.messages is not None:
            self.messages.stop()  # one process: each message is said as it comes
        return nav

    def place(self) -> tuple[int, int, int]:
        """Where the build is, for a message (:class:`~.split.Messages`): the phase, the
        place of the page it is about (or of the last page before it), and 0 for a message
        about that page or 1 for one after it."""
        config = self._config
        page = config._current_page if config is not None else None
        if page is None:
            return (self._phase_no, self._last, 1)
        if self._phase_no == 2:
            self._phase_no = 3  # the first page written
        self._last = self._order.get(page.file.src_uri, -1)
        return (self._phase_no, self._last, 0)

    def _split(self, config: MkDocsConfig, files: Files) -> Split | None:
        """The block of record pages a second process is to render (:mod:`.split`), where
        that gives the same site, else None: no plugin but this one and the theme's search
        (the shelf is used), whose index, if any, is spooled; and no template but
        Material's and opsledger's theme layer, which read of other pages only those in the
        navigation (a theme override or an extra template may read any page's title, and a
        process has not read every page)."""
        if (
            self.split_min is None
            or self.messages is None
            or self.keep
            or self.shelf is None
            or not can_fork()
            or config.theme.name != "material"
            or config.theme.custom_dir
            or self.overrides is not None
            or config.extra_templates
        ):
            return None
        search = search_plugin(config)
        if search is not None and search.config.enabled and not SearchSpool.possible(config, self):
            return None
        docs = files.documentation_pages(inclusion=InclusionLevel.is_included)
        self._order = {f.src_uri: n for n, f in enumerate(docs)}
        pages = [
            (f.src_uri, self.sizes.get(f.src_uri, 0), self._elsewhere_allowed(f)) for f in docs
        ]
        block = plan(pages, self.split_min, self.split_most)
        if not block:
            return None
        return Split(block, {self._order[path] for path in block}, self.messages)

    def _elsewhere_allowed(self, file: File) -> bool:
        """Whether a page may be rendered by the second process: a generated page out of
        the navigation (every page's navigation shows the titles of the pages in it; a
        record page is in it only where ``mkdocs.yml`` names it)."""
        return isinstance(file, _Generated) and file.src_uri not in self._shown

    def on_pre_page(self, page: Page, *, config: MkDocsConfig, files: Files) -> Page:
        split = self.split
        if split is None:
            return page
        path = page.file.src_uri
        split.reading(path)
        if not split.elsewhere(path) or (split.child and path in self._shown):
            return page  # rendered here; or read for the navigation every page shows
        # rendered by the other process: not read here (its Markdown is dropped)
        if isinstance(page.file, _Generated):
            page.file.release()
        page.content = ""  # the search plugin reads the content of every page it is given
        return _StandIn(page.file)

    @event_priority(100)  # before the search plugin indexes the page
    def on_page_context(
        self, context: TemplateContext, *, page: Page, config: MkDocsConfig, nav: Navigation
    ) -> TemplateContext:
        split = self.split
        if split is not None and split.elsewhere(page.file.src_uri):
            if not split.child and page.file.src_uri == split.first:
                self._take_block(split)
            # rendered by the other process: left out of this one's search index (its own
            # metadata, which other pages' navigation reads, is given back once it is done)
            self._searched[page.file.src_uri] = page.meta
            page.meta = {**page.meta, "search": {"exclude": True}}
            if page.content is None:
                page.content = ""
            return context
        if self.shelf is not None:
            self.shelf.take(page)
        return context

    def _take_block(self, split: Split) -> None:
        """Reached the block the second process renders: wait for it, and take what it
        hands back, in page order (raises :class:`SplitFailed` when it did not finish)."""
        result, entries = split.collect()
        if self.spool is not None:
            self.spool.splice(entries, result.entries)
        files = self.files
        assert files is not None
        for path, state in result.pages.items():
            file = files.get_file_from_path(path)
            assert file is not None and file.page is not None
            page = file.page
            page.present_anchor_ids = state.anchors
            page._title_from_render = state.title
            if state.links is not None:
                page.links_to_anchors = {}
                for target, links in state.links.items():
                    found = files.get_file_from_path(target)
                    assert found is not None
                    page.links_to_anchors[found] = links
        split.say(result.said)
        assert self.messages is not None
        self.messages.release()  # every message before the block's, in one process's order

    def _block_state(self, split: Split) -> dict[str, PageState]:
        """What the first process reads of the block's pages (the second process)."""
        files = self.files
        assert files is not None
        out: dict[str, PageState] = {}
        for path in sorted(split.block):
            file = files.get_file_from_path(path)
            assert file is not None and file.page is not None
            page = file.page
            links = page.links_to_anchors
            out[path] = PageState(
                None if page.present_anchor_ids is None else set(page.present_anchor_ids),
                None if links is None else {f.src_uri: dict(v) for f, v in links.items()},
                page._title_from_render,
            )
        return out

    @event_priority(-50)  # after the search plugin has written its index
    def on_post_build(self, *, config: MkDocsConfig) -> None:
        if self.ahead is not None:  # used by the build, unless it read no history
            from opsledger.history.index import drop_read_ahead

            drop_read_ahead(self.ahead)
            self.ahead = None
        self._end()
        gc.unfreeze()
        if self.spool is not None:
            self.spool.write(config)
            self.spool = None
        if self.kept is not None:
            self.kept.built()
            self.kept.serialise(self)
        if self.split is not None:
            self.split.stop()
            self.split = None
        if self.messages is not None:
            self.messages.stop()

    def on_build_error(self, *, error: Exception) -> None:
        if self.ahead is not None:  # a build that stopped before its history was read
            from opsledger.history.index import drop_read_ahead

            drop_read_ahead(self.ahead)
            self.ahead = None
        self._end()
        gc.unfreeze()
        self.kept = None
        self.shelf = None
        if self.spool is not None:
            self.spool.close()
            self.spool = None
        split, self.split = self.split, None
        if split is not None:
            if split.child:
                split.fail()  # the first process builds again alone, and says why
            split.stop()
            if split.started and not split.taken:
                # what the second process would have said (and an error of its own) comes
                # first in one process's order: built again in one process, this error is
                # said as one process says it, after them
                raise SplitFailed("the build failed before the second process's pages were taken")
        if self.messages is not None:
            self.messages.stop()  # what was held is said: the error among it

    def refresh(self) -> list[str] | None:
        """Bring the kept build (``keep``) up to date with the repository: every page is
        generated again, and only those whose Markdown changed are rendered and written
        again (with the downloads that changed and the search index); the rest of the
        built site stays. The pages rendered again, or None where only a full build can
        give the same site (see :func:`opsledger.site.refresh.refresh`)."""
        if self.kept is None:
            return None
        with _collector_paused():
            return refresh(self, self.kept, self._generate(self.kept.config))

    def on_page_markdown(
        self, markdown: str, *, page: Page, config: MkDocsConfig, files: Files
    ) -> str:
        if isinstance(page, _StandIn):
            return markdown
        if not self.keep and isinstance(page.file, _Generated):
            page.file.release()  # read: the page has its Markdown (a kept build reads again)
        if page.file.src_uri == "index.md" and not self.home_written and self.site is not None:
            return markdown.rstrip() + "\n\n" + self.site.home
        return markdown

    def on_page_content(self, html: str, *, page: Page, config: MkDocsConfig, files: Files) -> str:
        self._step()
        if isinstance(page, _StandIn):
            return html
        if self.shelf is not None:
            return self.shelf.put(page, clean(html))
        return clean(html)

    # -- theme ----------------------------------------------------------------------------
    def on_env(
        self, env: jinja2.Environment, *, config: MkDocsConfig, files: Files
    ) -> jinja2.Environment:
        self._start("Writing pages", len(files.documentation_pages()))
        # A kept build (serve) splits the search plugin's entries by page after the build.
        self.spool = None if self.keep else SearchSpool.start(config, self)
        self._phase_no, self._last = 2, -1
        env = sandboxed(env)
        env.globals["opsledger_csp"] = CSP
        split = self.split
        if split is not None:
            assert isinstance(env, _Sandbox)
            env.skip = lambda: _skipped(config, split)
            if split.child:  # the first process copies the static files, not this one
                for file in files:
                    if not file.is_documentation_page():
                        file.inclusion = InclusionLevel.EXCLUDED
        if self.overrides is not None:
            _check_templates(env, self.overrides)
        if self.kept is not None:
            self.kept.env = env
        return env

    def on_post_page(self, output: str, *, page: Page, config: MkDocsConfig) -> str:
        self._step()
        split = self.split
        if split is not None and split.elsewhere(page.file.src_uri):
            page.meta = self._searched.pop(page.file.src_uri, page.meta)
            return ""  # rendered, checked and written by the other process
        # the search plugin indexed the page before its template ran
        if self.kept is not None:
            self.kept.indexed(page)
        if self.spool is not None:
            self.spool.take()
        try:
            check_page(output, page.file.src_uri)
        except PageCheckError as exc:
            raise PluginError(str(exc)) from None
        # The page is written next and its HTML is read by nothing after that (the search
        # plugin indexed it before the template ran; other pages' templates read only the
        # navigation): free it rather than hold every page's HTML until the build ends
        # (at 10^5 records, gigabytes). A kept build (serve) renders a page again from its
        # Markdown, which stays.
        page.content = None
        if not self.keep and page.file.src_uri not in self._shown:
            page.markdown = None  # a page in the navigation keeps it: its title reads it
        if split is not None and split.child and page.file.src_uri == split.last:
            # the block's last page: written as MkDocs writes a page, then handed back
            if output.strip():
                write_file(
                    output.encode("utf-8", errors="xmlcharrefreplace"), page.file.abs_dest_path
                )
            split.finish(self._block_state(split), self.spool)
        return output

    def on_post_template(
        self, output_content: str, *, template_name: str, config: MkDocsConfig
    ) -> str:
        if self.split is not None and self.split.child:
            return ""  # the theme's pages are written by the first process
        if template_name.endswith(".html"):
            try:
                check_page(output_content, template_name)
            except PageCheckError as exc:
                raise PluginError(str(exc)) from None
        return output_content


@contextmanager
def _collector_paused() -> Iterator[None]:
    """A served site's rebuild with the cyclic garbage collector paused: what the last
    rebuild left behind (the rendered pages' element trees hold reference cycles) is
    collected first, once, and the rebuild then runs without the collector walking the
    heap again and again (measured: a tenth of a rebuild at 10k records). Collecting
    first also keeps the loading's :func:`gc.freeze` from moving that garbage where it is
    never collected (a served site grew by thousands of objects with every rebuild)."""
    enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def guard_site_dir(config: MkDocsConfig, root: Path, label: str = "site_dir") -> None:
    """MkDocs empties site_dir before building: refuse one holding what must stay
    (:class:`OpsledgerError`), else mark it as a site folder."""
    protect = [Path(config.docs_dir)]
    if config.config_file_path:
        protect.append(Path(config.config_file_path))
    if config.theme.custom_dir:
        protect.append(Path(config.theme.custom_dir))
    site_dir = Path(config.site_dir)
    check_site_folder(site_dir, root=root, protect=protect, label=label)
    mark_site_folder(site_dir)


def _guard_site_dir(config: MkDocsConfig, root: Path) -> None:
    try:
        guard_site_dir(config, root)
    except OpsledgerError as exc:
        raise PluginError(exc.message) from None


class _Sandbox(SandboxedEnvironment):
    """Jinja's sandbox (no ``_``-attributes such as ``''.__class__.__mro__``, no unsafe
    callables), also refusing every attribute of a template environment or a module: MkDocs
    hands templates objects whose methods return an unsandboxed environment
    (``config.theme.get_env().from_string(…)``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: while a page another process renders is being built here: its template
        #: renders nothing (:mod:`.split`)
        self.skip: Callable[[], bool] | None = None
        self._nothing: jinja2.Template | None = None
        #: decisions by (type of the object, attribute, type of the value): every check
        #: below and Jinja's own depend on nothing else (measured: a tenth of the template
        #: rendering time on 10k pages went into deciding the same few hundred cases)
        self._decided: dict[tuple[type, str, type], bool] = {}

    def getattr(self, obj: Any, attribute: str) -> Any:
        """Jinja's sandboxed ``obj.attribute``, with a shortcut for the common case (every
        ``page.title``, ``nav_item.url`` of every page): an attribute already decided safe
        for these types, whose value is not a method (only ``str.format`` and
        ``format_map`` are wrapped), is returned as is. Anything else takes Jinja's path."""
        try:
            value = getattr(obj, attribute)
        except AttributeError:  # an item reached with a dot (``config.extra.x``), as Jinja
            try:
                return obj[attribute]
            except (TypeError, LookupError):
                return self.undefined(obj=obj, name=attribute)
        kind = value.__class__
        if kind is not types.MethodType and kind is not types.BuiltinMethodType:
            owner = obj.__class__
            if (
                owner is type(obj)
                and kind is type(value)
                and self._decided.get((owner, attribute, kind)) is True
            ):
                return value
        return super().getattr(obj, attribute)

    def get_template(self, name: Any, *args: Any, **kwargs: Any) -> jinja2.Template:
        if self.skip is not None and self.skip():
            if self._nothing is None:
                self._nothing = self.from_string("")
            return self._nothing
        return super().get_template(name, *args, **kwargs)

    def is_safe_attribute(self, obj: object, attr: str, value: object) -> bool:
        if obj.__class__ is not type(obj) or value.__class__ is not type(value):
            return self._decide(obj, attr, value)  # a faked __class__ fools isinstance
        key = (type(obj), attr, type(value))
        found = self._decided.get(key)
        if found is None:
            found = self._decided[key] = self._decide(obj, attr, value)
        return found

    def _decide(self, obj: object, attr: str, value: object) -> bool:
        if isinstance(obj, jinja2.Environment | types.ModuleType):
            return False
        if isinstance(value, jinja2.Environment | types.ModuleType):
            return False
        return bool(super().is_safe_attribute(obj, attr, value))


def sandboxed(env: jinja2.Environment) -> jinja2.Environment:
    """The theme's environment as a Jinja sandbox: a template (a theme override from the
    repository) can use what the theme passes it but not reach Python internals, so it
    cannot run code on the machine that builds. Defence in depth only: ``site/`` stays
    under CODEOWNERS and the site is never built from pull-request code."""
    box = _Sandbox(
        loader=env.loader,
        auto_reload=False,
        autoescape=env.autoescape,
        extensions=[type(extension) for extension in env.extensions.values()],
    )
    box.filters.update(env.filters)
    box.tests.update(env.tests)
    box.globals.update(env.globals)
    if hasattr(env, "newstyle_gettext"):  # set by the i18n extension MkDocs installs
        box.newstyle_gettext = env.newstyle_gettext  # type: ignore[attr-defined]
    return box


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def _add(files: Files, config: MkDocsConfig, path: str, content: str | bytes, in_nav: bool) -> None:
    if files.get_file_from_path(path) is not None:
        raise PluginError(
            f"{config.docs_dir}/{path} is generated by opsledger at build time; "
            "remove or rename the hand-written file"
        )
    inclusion = InclusionLevel.INCLUDED if in_nav else InclusionLevel.NOT_IN_NAV
    files.append(_Generated.generated(config, path, content=content, inclusion=inclusion))


def _written_page_problem(files: Files, config: MkDocsConfig, limits: Limits) -> str | None:
    """The hand-written pages (``site/``) are held to the Markdown limits of a record body:
    nested past ``limits.max_markdown_depth`` the Markdown renderer recursed until Python
    stopped it (an internal error), and a paragraph of tens of thousands of ``[`` took it
    minutes. The first page over a limit, at its line, or None."""
    for file in files.documentation_pages():
        if isinstance(file, _Generated) or file.abs_src_path is None:
            continue
        try:
            text = file.content_string
        except UnicodeDecodeError as exc:
            where = f"{config.docs_dir}/{file.src_uri}"
            return f"{where}: not valid UTF-8 (byte {exc.start + 1}); save the page as UTF-8"
        found = check_body(text, limits)
        if found:
            where = f"{config.docs_dir}/{file.src_uri}:{found[0].line}:1"
            return f"{where}: {found[0].message}; split or flatten the page"
    return None


def _skipped(config: MkDocsConfig, split: Split) -> bool:
    """Whether the page being built is one the other process renders."""
    page = config._current_page
    return page is not None and split.elsewhere(page.file.src_uri)


class _StandIn(Page):
    """What the build reads and renders in place of a page the other process renders:
    nothing (:meth:`OpsledgerPlugin.on_pre_page`)."""

    def __init__(self, file: File) -> None:
        self.file = file
        self.markdown = None
        self.content = None
        self.meta = {}

    def read_source(self, config: MkDocsConfig) -> None:
        self.markdown = ""

    def render(self, config: MkDocsConfig, files: Files) -> None:
        self.content = ""


class _Generated(File):
    """A generated page or asset, its content held in memory."""

    def release(self) -> None:
        """Drop the content once MkDocs has read the page: a build reads it once, before
        it renders the page, and never again (at 10^5 records the pages' Markdown is half
        a gigabyte held to the end). Read again, the file fails loudly: it has neither
        content nor a source path."""
        self._content = None


def _with_generated_nav(nav: Any) -> list[Any]:
    """The configured navigation (or Home) followed by the generated sections not in it."""
    items: list[Any] = list(nav) if nav else [{"Home": "index.md"}]
    named = set(_pages_in(items))
    for entry in NAV:
        if not set(_pages_in([entry])) & named:
            items.append(entry)
    return items


def _pages_in(items: Any) -> list[str]:
    out: list[str] = []
    for item in items if isinstance(items, list) else [items]:
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict):
            for value in item.values():
                out.extend(_pages_in(value))
    return out


def _check_templates(env: jinja2.Environment, folder: Path) -> None:
    """Compile every template of the repository's overrides: one clear error if broken."""
    for path in sorted(folder.rglob("*.html")):
        name = path.relative_to(folder).as_posix()
        try:
            env.get_template(name)
        except jinja2.TemplateSyntaxError as exc:
            raise PluginError(f"broken theme override {path}:{exc.lineno}: {exc.message}") from None
        except jinja2.TemplateError as exc:
            raise PluginError(f"broken theme override {path}: {exc}") from None
