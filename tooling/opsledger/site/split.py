"""Rendering a large site on two processors: a second process renders a block of record pages.

MkDocs renders one page after another in one process, and rendering (Markdown, the
sanitiser, the search plugin's indexing, the theme's template) is nearly all of a large
build. ``opsledger site build`` chooses a block of record pages (:func:`plan`: the end of
the last run of generated pages out of the navigation, about half the site's Markdown,
never the last page) and, once the navigation is made and before any page is read, forks.
The second process reads, renders, checks and writes the block's pages, and reads the
pages in the navigation too (every page's navigation shows their titles and what their
front matter says of them); the first reads and renders every other page. A page a
process does not render is not read there (unless it is in the navigation), gets an empty
template, is left out of that process's search index and is not written by it. Only the
first process writes the theme's pages (``404.html``, the sitemap) and copies the static
files.

The second process hands back what the rest of the build reads of its pages
(:class:`Result`): their search entries (spooled as :mod:`opsledger.site.search` spools
them), their anchors, links to anchors and titles (MkDocs checks every page's links to
other pages' anchors once all are built), and the messages it logged about them. The
first process takes them when it reaches the block, in page order, so the site and its
search index are those of a build in one process, byte for byte. The messages too: from
the start of a build that may split, every message is held with its place in the order one
process would say it (:class:`Messages`), and said in that order once the block is taken.

Where the second process cannot be started, the build goes on in one process. Where it
fails (an error in one of its pages, or it was killed), the first raises
:class:`SplitFailed` when it reaches the block; the caller drops what was held and builds
again in one process, where the same error comes the way it always does (see
:func:`opsledger.site.build.build_site`). Interrupted (Ctrl-C, ``SIGTERM``), the first
process stops the second and removes the hand-over folder; the second ends with the first
(Linux). Only ``opsledger site build`` splits; a plain ``mkdocs build`` with the plugin
renders in one process.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import pickle
import shutil
import signal
import sys
import tempfile
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

#: the fewest pages worth a second process (forking and handing back cost well under a
#: second; below this the pages cost less)
SPLIT_MIN = 2000
#: the most pages a second process is started for unasked (``--jobs 2`` asks): the memory of
#: two processes is measured up to here (10^4 records: 920 MB together, 888 MB alone); at
#: 10^5 records one process peaks at 3.7 GiB of the 4 GiB goal
SPLIT_MOST = 40_000

_RESULT = "result.pickle"
_ENTRIES = "entries.json"
_PR_SET_PDEATHSIG = 1


def processors() -> int:
    """How many processors this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


def can_fork() -> bool:
    return hasattr(os, "fork")


def auto_split() -> tuple[int | None, int | None]:
    """The fewest pages a second process is worth on this machine (None: it has one
    processor), and the most pages it is started for."""
    return (SPLIT_MIN if processors() >= 2 else None), SPLIT_MOST


def plan(pages: Sequence[tuple[str, int, bool]], least: int, most: int | None = None) -> list[str]:
    """The block the second process renders: ``pages`` are the documentation pages in the
    build's order, each as (source path, size, whether it may be rendered elsewhere: a
    generated page out of the navigation). The block is the end of the last run of such
    pages (never the last page, where this process finishes), as long as about half of all
    the pages' size; empty when it would hold fewer than ``least`` pages, or when there are
    more than ``most`` pages."""
    if len(pages) < 2 or (most is not None and len(pages) > most):
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
    #: its messages about the block's pages, each with its place (:class:`Messages`)
    said: list[tuple[tuple[int, int, int, int], logging.LogRecord]] = field(default_factory=list)


class SplitFailed(BaseException):
    """The second process did not finish its block: build again in one process.

    A ``BaseException``: MkDocs reports every ``Exception`` raised while building a page
    as that page's error; this is none."""


#: where a message falls in a one-process build: (phase, page position, 0 for a message
#: about that page or 1 for one after it, sequence number)
Place = tuple[int, int, int, int]


class Messages:
    """Every message of a build that may split, held with its place in the order a
    one-process build says them (phase of the build, the page it is about, or the last
    page before it) and said in that order by :meth:`release`.

    Each logging handler there is when the build starts holds what it is given
    (:class:`_Hold`); MkDocs' strict-mode counter, added later, counts each message as it
    comes (the count does not depend on the order). ``place`` gives where the build is;
    :attr:`keep` whether this process says a message at all (a process says nothing of a
    page the other one renders)."""

    def __init__(self, place: Callable[[], tuple[int, int, int]] = lambda: (0, -1, 1)) -> None:
        self.place = place
        self.thread = threading.get_ident()  # the building thread: others' are not held
        self.keep: Callable[[tuple[int, int, int]], bool] = lambda where: True
        self.held: list[tuple[Place, logging.Handler, logging.LogRecord]] = []
        self.holding = True
        self.releasing = False
        self.capture: _Capture | None = None  # the second process's hand-back
        self._shown: Any = None  # warnings.showwarning as it was
        self._holds: list[tuple[logging.Handler, _Hold]] = []
        self._count = 0

    def start(self) -> None:
        self._shown = warnings.showwarning
        warnings.showwarning = self._warning
        handlers = [h for logger in _loggers() for h in logger.handlers]
        if logging.lastResort is not None:  # what says a message no handler takes
            handlers.append(logging.lastResort)
        for handler in handlers:
            if not any(h is handler for h, _ in self._holds):
                hold = _Hold(self, handler)
                handler.addFilter(hold)
                self._holds.append((handler, hold))

    def placed(self, record: logging.LogRecord) -> Place | None:
        """The record's place (given once, as it is first seen), or None where this
        process does not say it."""
        place: Place | None = getattr(record, "opsledger_place", None)
        if place is None:
            where = self.place()
            if not self.keep(where):
                record.opsledger_place = ()
                return None
            self._count += 1
            place = record.opsledger_place = (*where, self._count)
        return place or None

    def release(self) -> None:
        """Say every held message, in the one-process order; from now on say each as it
        comes."""
        held, self.held = sorted(self.held, key=lambda h: h[0]), []
        self.holding = False
        self.releasing = True  # what saying them logs (a warning's hook) passes as it is
        try:
            for _, handler, record in held:
                handler.handle(record)
        finally:
            self.releasing = False

    def drop(self) -> None:
        """Forget what is held (the build starts again), and stop holding."""
        self.held = []
        self.stop()

    def stop(self) -> None:
        """Say what is held, and take the holds off the handlers and the warning hook
        (whatever a message's handler raises on the way)."""
        try:
            self.release()
        finally:
            for handler, hold in self._holds:
                handler.removeFilter(hold)
            self._holds = []
            if warnings.showwarning == self._warning:  # not one installed since
                warnings.showwarning = self._shown
            self.holding = False

    def show(self, shown: tuple[Any, ...]) -> None:
        """Show a Python warning (``warnings.showwarning``'s arguments) through the hook
        there was when the build started: Python's own, or the caller's."""
        hook = self._shown if self._shown is not None else warnings.showwarning
        hook(*shown)

    def _warning(
        self,
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        """A Python warning (``warnings.showwarning``), held in its place among the
        messages and shown, once said, through the hook there was (the second process
        hands it back)."""
        shown = (message, category, filename, lineno, file, line)
        if file is not None or threading.get_ident() != self.thread or not self.holding:
            self.show(shown)
            return
        record = logging.LogRecord("py.warnings", logging.WARNING, filename, lineno, "", None, None)
        record.opsledger_warning = shown
        place = self.placed(record)
        if place is None:
            return
        if self.capture is not None:  # the second process: handed back
            self.capture.said.append((place, record))
        else:
            self.warned(record)

    def warned(self, record: logging.LogRecord) -> None:
        """Show a Python warning (placed: its record), or hold it in its place."""
        place = self.placed(record)
        if place is None:
            return
        if self.holding:
            self.held.append((place, _Shown(self), record))
        else:
            self.show(getattr(record, "opsledger_warning"))  # noqa: B009 - set by _warning


class _Hold(logging.Filter):
    """One handler's part of :class:`Messages`."""

    def __init__(self, messages: Messages, handler: logging.Handler) -> None:
        super().__init__()
        self.messages = messages
        self.handler = handler

    def filter(self, record: logging.LogRecord) -> bool:
        messages = self.messages
        if record.thread != messages.thread or messages.releasing:
            return True  # another thread's, or logged as a held one is said: as it comes
        place = messages.placed(record)
        if place is None:
            return False
        if not messages.holding:
            return True
        messages.held.append((place, self.handler, record))
        return False


def _loggers() -> list[logging.Logger]:
    out = [logging.getLogger()]
    out += [x for x in logging.Logger.manager.loggerDict.values() if isinstance(x, logging.Logger)]
    return out


class _Shown(logging.Handler):
    """Shows a held Python warning through the hook there was (:meth:`Messages.show`)."""

    def __init__(self, messages: Messages) -> None:
        super().__init__()
        self.messages = messages

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.show(getattr(record, "opsledger_warning"))  # noqa: B009 - see _warning


class _Capture(logging.Handler):
    """The second process's messages about its pages, held to be handed back."""

    def __init__(self, messages: Messages) -> None:
        super().__init__(logging.NOTSET)
        self.messages = messages
        self.said: list[tuple[Place, logging.LogRecord]] = []

    def emit(self, record: logging.LogRecord) -> None:
        place = self.messages.placed(record)
        if place is None:
            return
        record.msg = record.getMessage()
        record.args = None
        if record.exc_info and not record.exc_text:  # the traceback, as text: it pickles
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.exc_info = None
        self.said.append((place, record))


class Split:
    """One side of a split build: which pages this process renders, and the hand-over.
    ``block``: the source paths of the block's pages; ``positions``: their places in the
    build's order; ``messages``: the build's held messages."""

    def __init__(self, block: list[str], positions: set[int], messages: Messages) -> None:
        self.block = set(block)
        self.positions = positions
        self.first = block[0]
        self.last = block[-1]
        self.messages = messages
        self.folder: Path | None = None
        self.pid = 0
        self.child = False
        self.started = False
        self.capture: _Capture | None = None
        self._parent = os.getpid()
        self.taken = False  # the first process took the block's result
        self._stdout: Any = None
        self._stderr: Any = None
        self._null: Any = None

    def start(self) -> bool:
        """Fork: the second process goes on with the block, this one with the rest. False
        where no second process could be started (this one goes on alone)."""
        self.started = True
        for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
            with contextlib.suppress(OSError, ValueError, AttributeError):
                if stream is not None:
                    stream.flush()  # else what it holds is written by both processes
        try:
            self.folder = Path(tempfile.mkdtemp(prefix="opsledger-split-"))
            pid = os.fork()
        except OSError:  # no memory or no process left for a copy: one process it is
            self.stop()
            return False
        if pid:
            self.pid = pid
            self.messages.keep = lambda where: not (where[2] == 0 and where[1] in self.positions)
            return True
        self.child = True
        self._second()
        return True

    def _second(self) -> None:
        """Make this the second process: it ends with the first, says nothing itself (its
        messages about the block are handed back) and leaves the terminal alone."""
        with contextlib.suppress(AttributeError, OSError):  # Linux: killed when it is
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != self._parent:
            os._exit(1)  # the first process ended already
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        if sys.__stdout__ is not None:
            sys.stdout = sys.__stdout__  # not a progress bar's proxy, whose lock may be held
        if sys.__stderr__ is not None:
            sys.stderr = sys.__stderr__
        self._stdout, self._stderr = sys.stdout, sys.stderr
        self._null = open(os.devnull, "w")  # noqa: SIM115 - for as long as this process lives
        messages = self.messages
        messages.held = []
        messages.keep = lambda where: where[2] == 0 and where[1] in self.positions
        self.capture = messages.capture = _Capture(messages)
        root = logging.getLogger()
        for logger in _loggers():
            for handler in list(logger.handlers):
                logger.removeHandler(handler)
            if logger is not root:
                logger.propagate = True
        root.addHandler(self.capture)

    def reading(self, path: str) -> None:
        """The second process is about to read the page at ``path``: what a Markdown
        extension prints is printed by the process that renders the page (the second reads
        the pages in the navigation too, which the first prints of)."""
        if self.child:
            ours = path in self.block
            sys.stdout = self._stdout if ours else self._null
            sys.stderr = self._stderr if ours else self._null

    def elsewhere(self, path: str) -> bool:
        """Whether the page at source path ``path`` is rendered by the other process."""
        return (path in self.block) != self.child

    # -- the second process ---------------------------------------------------------------
    def finish(self, pages: dict[str, PageState], spool: Any | None) -> None:
        """Hand back the block's result and end the second process."""
        assert self.child and self.capture is not None and self.folder is not None
        try:
            entries = 0
            if spool is not None:
                with open(self.folder / _ENTRIES, "wb") as out:
                    entries = spool.dump(out)
            result = Result(pages, entries, self.capture.said)
            with open(self.folder / (_RESULT + ".tmp"), "wb") as out:
                pickle.dump(result, out, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(self.folder / (_RESULT + ".tmp"), self.folder / _RESULT)
        except BaseException:  # this process ends here, whatever happened
            os._exit(1)
        os._exit(0)

    def fail(self) -> None:
        """End the second process without a result (the first builds again alone)."""
        os._exit(1)

    # -- the first process ----------------------------------------------------------------
    def collect(self) -> tuple[Result, Path]:
        """Wait for the second process: its result, and the file of its search entries.
        Raises :class:`SplitFailed` when it did not finish its block."""
        assert not self.child and self.folder is not None
        status = self._wait()
        path = self.folder / _RESULT
        if status != 0 or not path.is_file():
            raise SplitFailed(f"the second rendering process ended with status {status}")
        with open(path, "rb") as held:
            result: Result = pickle.load(held)  # written by our own fork
        self.taken = True
        return result, self.folder / _ENTRIES

    def say(self, said: list[tuple[Place, logging.LogRecord]]) -> None:
        """Say here, in their places, the messages the second process handed back."""
        for place, record in said:
            record.opsledger_place = place
            if getattr(record, "opsledger_warning", None) is not None:
                self.messages.warned(record)
                continue
            logger = logging.getLogger(record.name)
            if logger.isEnabledFor(record.levelno):
                logger.handle(record)

    def _wait(self) -> int:
        if not self.pid:
            return -1
        try:
            _, status = os.waitpid(self.pid, 0)
        except ChildProcessError:
            # reaped already: an interrupt (Ctrl-C, whose signal ended the second process
            # too) came after the wait that reaped it returned and before it said so; an
            # error here would stand in for the interrupt (the build failed, status 1)
            self.pid = 0
            return -1
        self.pid = 0
        return os.waitstatus_to_exitcode(status)

    def stop(self) -> None:
        """End the split: the second process (if it still runs) is stopped, the hand-over
        folder removed. This process only."""
        if self.child:
            return
        if self.pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            self._wait()
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None


class Terminated(BaseException):
    """``SIGTERM`` arrived while a build that may split ran (see :func:`terminable`)."""


@contextlib.contextmanager
def terminable() -> Iterator[None]:
    """While a build that may split runs, ``SIGTERM`` (a cancelled CI job) raises
    :class:`Terminated` in the building thread, as Ctrl-C raises ``KeyboardInterrupt``:
    the second process is stopped, the hand-over folder removed and the held messages said
    on the way out; then this process ends by the signal, as it would have (exit status
    143). Where ``SIGTERM`` already has a handler, or not in the main thread, nothing
    changes."""
    try:
        before = signal.getsignal(signal.SIGTERM)
        if before is not signal.SIG_DFL:
            before = None
        else:
            signal.signal(signal.SIGTERM, _terminated)
    except ValueError:  # not the main thread
        before = None
    try:
        yield
    except Terminated:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)
        raise  # not reached: the signal ends the process
    finally:
        if before is not None:
            signal.signal(signal.SIGTERM, before)


def _terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated
