"""Rendering a large site on two processors: a second process renders a block of record pages.

MkDocs renders one page after another in one process, and rendering (Markdown, the
sanitiser, the search plugin's indexing, the theme's template) is nearly all of a large
build. Once every page is known and none is read yet (``on_nav``), ``opsledger site build``
forks: the second process renders, checks and writes a block of the record pages (the last
run of pages out of the navigation, about half the site's Markdown, never the last page)
and skips every other page; this process skips the block. Each process goes through the
build's own steps for its pages; a page the other process renders is not read, gets the
empty template :data:`ELSEWHERE`, is left out of the search index and is not written.

The second process hands back what the rest of the build reads of its pages
(:class:`Result`): their search entries (spooled as :mod:`opsledger.site.search` spools
them), their anchors and links to anchors (MkDocs checks every page's links to other
pages' anchors once all are built), and the messages it logged (printed here, and counted
by a strict build). This process takes them when it reaches the block, in page order, so
the site, its search index and its messages are those of a build in one process; the
messages of the block are printed when this process reaches it.

Where the second process fails (an error in one of its pages, or it was killed), this one
raises :class:`SplitFailed` when it reaches the block, and the caller builds again in one
process, where the same error comes the way it always does (see
:func:`opsledger.site.build.build_site`). Only ``opsledger site build`` splits; a plain
``mkdocs build`` with the plugin renders in one process.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import shutil
import signal
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: the template a page rendered by the other process gets (in the theme layer: it renders
#: nothing, and the page is not written by this process)
ELSEWHERE = "opsledger/elsewhere.html"
#: the fewest pages worth a second process (forking and handing back cost well under a
#: second; below this the pages cost less)
SPLIT_MIN = 2000

_RESULT = "result.pickle"
_ENTRIES = "entries.json"


def processors() -> int:
    """How many processors this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


def can_fork() -> bool:
    return hasattr(os, "fork") and processors() >= 2


def plan(pages: Sequence[tuple[str, int, bool]], least: int) -> list[str]:
    """The block the second process renders: ``pages`` are the documentation pages in the
    build's order, each as (source path, size, whether it may be rendered elsewhere: a
    generated page out of the navigation). The block is the end of the last run of such
    pages (never the last page, where this process finishes), as long as about half of all
    the pages' size; empty when it would hold fewer than ``least`` pages."""
    if len(pages) < 2:
        return []
    end = len(pages) - 1  # the last page stays here
    while end > 0 and not pages[end - 1][2]:
        end -= 1
    half = sum(size for _, size, _ in pages) / 2
    start, held = end, 0
    while start > 0 and pages[start - 1][2] and held < half:
        start -= 1
        held += pages[start][1]
    block = [path for path, _, _ in pages[start:end]]
    return block if len(block) >= least else []


@dataclass
class PageState:
    """What the rest of a build reads of a page another process rendered."""

    anchors: set[str] | None
    links: dict[str, dict[str, str]] | None  # target page -> {anchor: the link as written}
    title: str | None


@dataclass
class Result:
    """What the second process hands back."""

    pages: dict[str, PageState] = field(default_factory=dict)
    entries: int = 0  # how many search entries the entries file holds
    records: list[logging.LogRecord] = field(default_factory=list)


class SplitFailed(BaseException):
    """The second process did not finish its block: build again in one process.

    A ``BaseException``: MkDocs reports every ``Exception`` raised while building a page
    as that page's error; this is none."""


class _Capture(logging.Handler):
    """The second process's messages, held to be handed back."""

    def __init__(self) -> None:
        super().__init__(logging.NOTSET)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        record.msg = record.getMessage()
        record.args = None
        record.exc_info = None
        record.exc_text = None
        record.stack_info = None
        self.records.append(record)


class _Skipped(logging.Filter):
    """MkDocs says of each page not written that it generated nothing: not of these."""

    def __init__(self, elsewhere: Any) -> None:
        super().__init__()
        self.elsewhere = elsewhere

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if message.startswith(_SKIPPED[0]) and message.endswith(_SKIPPED[1]):
            return not self.elsewhere(message[len(_SKIPPED[0]) : -len(_SKIPPED[1])])
        return True


#: what MkDocs says of a page that rendered to nothing (around its source path)
_SKIPPED = ("Page skipped: '", "'. Generated empty output.")
_BUILD_LOGGER = "mkdocs.commands.build"


class Split:
    """One side of a split build: which pages this process renders, and the hand-over."""

    def __init__(self, block: list[str]) -> None:
        self.block = set(block)
        self.first = block[0]
        self.last = block[-1]
        self.folder = Path(tempfile.mkdtemp(prefix="opsledger-split-"))
        self.pid = 0
        self.child = False
        self.capture: _Capture | None = None
        self._filter = _Skipped(self.elsewhere)
        logging.getLogger(_BUILD_LOGGER).addFilter(self._filter)

    def start(self) -> None:
        """Fork: the second process goes on with the block, this one with the rest."""
        pid = os.fork()
        if pid:
            self.pid = pid
            return
        self.child = True
        self.capture = _Capture()
        root = logging.getLogger()
        for logger in [root, *logging.Logger.manager.loggerDict.values()]:
            if isinstance(logger, logging.Logger):
                for handler in list(logger.handlers):
                    logger.removeHandler(handler)
                if logger is not root:
                    logger.propagate = True
        root.addHandler(self.capture)

    def elsewhere(self, path: str) -> bool:
        """Whether the page at source path ``path`` is rendered by the other process."""
        return (path in self.block) != self.child

    # -- the second process ---------------------------------------------------------------
    def finish(self, pages: dict[str, PageState], spool: Any | None) -> None:
        """Hand back the block's result and end the second process."""
        assert self.child and self.capture is not None
        try:
            entries = 0
            if spool is not None:
                with open(self.folder / _ENTRIES, "wb") as out:
                    entries = spool.dump(out)
            result = Result(pages, entries, self.capture.records)
            with open(self.folder / (_RESULT + ".tmp"), "wb") as out:
                pickle.dump(result, out, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(self.folder / (_RESULT + ".tmp"), self.folder / _RESULT)
        except BaseException:  # this process ends here, whatever happened
            os._exit(1)
        os._exit(0)

    def fail(self) -> None:
        """End the second process without a result (this process builds again alone)."""
        os._exit(1)

    # -- this process ---------------------------------------------------------------------
    def collect(self) -> tuple[Result, Path]:
        """Wait for the second process: its result, and the file of its search entries.
        Raises :class:`SplitFailed` when it did not finish its block."""
        assert not self.child
        status = self._wait()
        path = self.folder / _RESULT
        if status != 0 or not path.is_file():
            raise SplitFailed(f"the second rendering process ended with status {status}")
        with open(path, "rb") as held:
            result: Result = pickle.load(held)  # written by our own fork
        return result, self.folder / _ENTRIES

    def _wait(self) -> int:
        if not self.pid:
            return -1
        _, status = os.waitpid(self.pid, 0)
        self.pid = 0
        return os.waitstatus_to_exitcode(status)

    def emit(self, records: list[logging.LogRecord]) -> None:
        """Say here what the second process logged, as it would have been said here."""
        for record in records:
            logger = logging.getLogger(record.name)
            if logger.isEnabledFor(record.levelno):
                logger.handle(record)

    def stop(self) -> None:
        """End the split: the second process (if it still runs) is stopped, the hand-over
        folder removed. This process only."""
        if self.child:
            return
        if self.pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            self._wait()
        logging.getLogger(_BUILD_LOGGER).removeFilter(self._filter)
        shutil.rmtree(self.folder, ignore_errors=True)
