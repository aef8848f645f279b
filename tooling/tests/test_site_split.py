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

import errno
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from opsledger.cli import run
from opsledger.errors import OpsledgerError
from opsledger.site import plugin as plugin_module
from opsledger.site.build import build_site
from opsledger.site.plugin import OpsledgerPlugin
from opsledger.site.split import Split, plan
from opsledger.timeutil import parse_timestamp

from conftest import ACKED, PROJECT, RUNBOOK, Repo, git, git_init, same_tree

AS_OF = parse_timestamp("2026-04-01T00:00:00Z")
TITLE = "Orders database connection pool exhausted"
Plan = Callable[[Sequence[tuple[str, int, bool]], int, int | None], list[str]]


@pytest.fixture(autouse=True)
def _fixed_build_date(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """MkDocs dates the sitemap with the day it builds; the hand-over folders go to a
    temporary folder of the test's own, to be seen removed."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(AS_OF.timestamp())))
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))


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


def _widest(
    pages: Sequence[tuple[str, int, bool]], least: int, most: int | None = None
) -> list[str]:
    """The block as wide as it may be: the whole last run of record pages but the last page."""
    end = len(pages) - 1
    while end > 0 and not pages[end - 1][2]:
        end -= 1
    start = end
    while start > 0 and pages[start - 1][2]:
        start -= 1
    return [path for path, _, _ in pages[start:end]]


def _one(pages: Sequence[tuple[str, int, bool]], least: int, most: int | None = None) -> list[str]:
    """A block of one page: the first record page."""
    return [next(path for path, _, ok in pages if ok)]


PLANS: dict[str, Plan] = {"as built": plan, "widest": _widest, "one page": _one}
_blocks: list[list[str]] = []


@pytest.fixture(params=sorted(PLANS))
def chosen(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    choose = PLANS[request.param]

    def noted(
        pages: Sequence[tuple[str, int, bool]], least: int, most: int | None = None
    ) -> list[str]:
        block = choose(pages, least, most)
        _blocks.append(block)
        return block

    _blocks.clear()
    monkeypatch.setattr(plugin_module, "plan", noted)
    return str(request.param)


def _children(pid: int | None = None) -> list[str]:
    """The child processes of this process (or of ``pid``), Linux: a thread or process
    that ends while they are listed has none."""
    found: list[str] = []
    try:
        tasks = list(Path(f"/proc/{pid or os.getpid()}/task").iterdir())
    except FileNotFoundError:
        return found
    for task in tasks:
        try:
            found += (task / "children").read_text().split()
        except FileNotFoundError:
            continue
    return found


def _messages(caplog: pytest.LogCaptureFixture, out_dir: Path | None = None) -> list[str]:
    out = [f"{r.levelname} {r.name} {r.getMessage()}" for r in caplog.records]  # in order
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
    assert same_tree(one, two) > 40
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
    same_tree(tmp_path / "pNone", tmp_path / "p1")


EXTENSION = """\
import logging
import sys
import time
import warnings

from markdown.extensions import Extension
from markdown.preprocessors import Preprocessor


class _Warn(Preprocessor):
    def run(self, lines):
        first = lines[0] if lines else ""
        logging.getLogger("mkdocs.test_split").warning("page %s", first)
        if NOISY:
            sys.stdout.write(f"printed {first}\\n")  # one write: lines stay whole
            sys.stderr.write(f"written {first}\\n")
            warnings.warn(f"warned {first}", UserWarning)
            try:
                {}[first]
            except KeyError:
                logging.getLogger("split_test_own").warning("no %s", first, exc_info=True)
        if FAIL_ON and first.startswith(FAIL_ON):
            raise ValueError(f"cannot render {first[:30]}")
        if SLOW_ON and first.startswith(SLOW_ON):
            time.sleep(0.5)
        if any("INC-2026-0007" in line for line in lines):
            logging.getLogger("mkdocs.test_split").warning("INC-2026-0007 on %s", first)
            return [*lines, "", "[home](../index.md#no-such-anchor)"]
        return lines


class _Ext(Extension):
    def extendMarkdown(self, md):
        md.preprocessors.register(_Warn(md), "split_test", 1)


def makeExtension(**kwargs):
    return _Ext(**kwargs)
"""


def _extension(
    repo: Repo,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    *,
    fail_on: str = "",
    slow_on: str = "",
    noisy: bool = False,
    strict: bool = False,
) -> Path:
    """The repository's mkdocs.yml with a Markdown extension (module ``name``, one per
    test: a module is imported once) that warns of every page it reads, and of a page
    naming INC-2026-0007 (to which it adds a link to an anchor the home page does not
    have), fails on the page whose first line starts with ``fail_on`` and takes half a
    second over each page whose first line starts with ``slow_on``; ``noisy``, it also
    prints, writes to standard error, warns (Python) and logs a traceback for each page."""
    (tmp_path / "ext").mkdir(exist_ok=True)
    module = f"FAIL_ON = {fail_on!r}\nSLOW_ON = {slow_on!r}\nNOISY = {noisy!r}\n" + EXTENSION
    (tmp_path / "ext" / f"{name}.py").write_text(module, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path / "ext"))
    config = repo.root / "mkdocs.yml"
    text = config.read_text()
    if not strict:
        text = text.replace("strict: true\n", "")
    text = text.replace("markdown_extensions:\n", f"markdown_extensions:\n  - {name}\n")
    config.write_text(text, encoding="utf-8")
    return config


def test_the_second_processes_warnings_are_said_and_counted(
    repo: Repo, tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A warning while the second process renders its pages (here from a Markdown
    extension of the configuration) is said by the first and counted by a strict build; so
    is a link from one of its pages to an anchor another page does not have."""
    blocks = _widest_noted(monkeypatch)
    _repo(repo)
    config = _extension(repo, tmp_path, monkeypatch, "split_warn", strict=True)
    config.write_text(config.read_text() + "validation:\n  anchors: warn\n", encoding="utf-8")
    said = []
    for split in (None, 1):
        with pytest.raises(OpsledgerError) as failed:
            build_site(repo.root, output=tmp_path / f"o{split}", as_of=AS_OF, split=split)
        said.append((failed.value.message, _messages(caplog, tmp_path / f"o{split}")))
    assert len(blocks) == 1 and "incidents/INC-2026-0007.md" in blocks[0]
    warned = [m for m in said[0][1] if "INC-2026-0007 on" in m]
    assert len(warned) >= 2  # its own page, and the index pages that list it
    assert len([m for m in said[0][1] if "WARNING mkdocs.test_split page " in m]) > 40
    anchors = [m for m in said[0][1] if "does not contain an anchor '#no-such-anchor'" in m]
    assert any("'incidents/INC-2026-0007.md'" in m for m in anchors)
    assert said[0] == said[1]
    assert "Aborted with" in said[0][0]
    assert _children() == []


def test_a_failed_second_process_means_one_process_builds_again(
    repo: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The second process ends without handing back its block (killed, out of memory):
    the site is built again in one process, the same site, and each message is said once."""
    _repo(repo)
    config = repo.root / "mkdocs.yml"  # a key MkDocs warns of as it reads the configuration
    text = config.read_text().replace("strict: true\n", "") + "split_unknown_key: 1\n"
    config.write_text(text, encoding="utf-8")
    caplog.set_level(logging.INFO, logger="mkdocs")
    build_site(repo.root, output=tmp_path / "one", as_of=AS_OF, split=None)
    alone = _messages(caplog, tmp_path / "one")
    assert len([m for m in alone if "split_unknown_key" in m]) == 1
    monkeypatch.setattr(Split, "finish", lambda self, pages, spool: os._exit(9))
    tries: list[int | None] = []
    original = OpsledgerPlugin.on_nav

    def counted(self: OpsledgerPlugin, nav, *, config, files):  # type: ignore[no-untyped-def]
        tries.append(self.split_min)
        return original(self, nav, config=config, files=files)

    monkeypatch.setattr(OpsledgerPlugin, "on_nav", counted)
    build_site(repo.root, output=tmp_path / "two", as_of=AS_OF, split=1)
    assert tries == [1, None]  # split, failed; then alone
    assert _messages(caplog, tmp_path / "two") == alone
    same_tree(tmp_path / "one", tmp_path / "two")
    assert _children() == []
    assert list((tmp_path / "tmp").iterdir()) == []


def _widest_noted(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    blocks: list[list[str]] = []

    def noted(
        pages: Sequence[tuple[str, int, bool]], least: int, most: int | None = None
    ) -> list[str]:
        blocks.append(_widest(pages, least, most))
        return blocks[-1]

    monkeypatch.setattr(plugin_module, "plan", noted)
    return blocks


def test_an_error_in_the_second_processes_pages_is_the_one_process_error(
    repo: Repo, tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A record page the second process renders fails (here a Markdown extension of the
    configuration raises on it): the error, and every message before it, are those of
    one process."""
    blocks = _widest_noted(monkeypatch)
    _repo(repo)
    _extension(repo, tmp_path, monkeypatch, "split_raise_block", fail_on="# INC-2026-0006")
    caplog.set_level(logging.INFO, logger="mkdocs")
    said = []
    for split in (None, 1):
        with pytest.raises(OpsledgerError) as failed:
            build_site(repo.root, output=tmp_path / f"o{split}", as_of=AS_OF, split=split)
        messages = _messages(caplog, tmp_path / f"o{split}")
        said.append((failed.value.message, failed.value.status, messages))
    assert any("incidents/INC-2026-0006.md" in path for path in blocks[0])
    assert said[0] == said[1]
    assert "ValueError: cannot render # INC-2026-0006" in said[0][0]
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
    assert plan(pages, 1, len(pages)) == plan(pages, 1)
    assert plan(pages, 1, len(pages) - 1) == []  # more pages than a second process is for
    # the run reaches the last page: that page stays with the first process
    tail = pages[:-1]
    assert plan(tail, 1) == [f"incidents/INC-{n}.md" for n in range(3, 19)]
    # only the last run: a page in the navigation between two runs is never in the block
    gap = [*pages[:5], ("changes/index.md", 0, False), *pages[5:]]
    assert all(path.startswith("incidents/INC-") for path in plan(gap, 1))
    assert "incidents/INC-2.md" not in plan(gap, 1)
    assert plan([("a.md", 5, True)], 1) == []
    assert plan([("a.md", 5, False), ("b.md", 5, False)], 1) == []


def test_site_build_jobs(
    repo: Repo,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``opsledger site build --jobs 2`` renders with two processes whatever the site's
    size, ``--jobs 1`` with one: the same site; any other count is a usage error."""
    _repo(repo)
    monkeypatch.setenv("OPSLEDGER_CACHE_DIR", str(tmp_path / "cache"))
    asked: list[int] = []
    monkeypatch.setattr(
        plugin_module, "plan", lambda pages, least, most: asked.append((least, most)) or []
    )
    said = {}
    for jobs in ("1", "2", "3", "0"):
        args = ["site", "build", "--repo", str(repo.root), "--as-of", "2026-04-01"]
        status = run([*args, "--jobs", jobs, "--output", str(tmp_path / f"jobs{jobs}")])
        said[jobs] = (status, capsys.readouterr().err)
    assert asked == [(1, None)]  # --jobs 2: a block of any size; --jobs 1: never asked
    for bad in ("3", "0"):
        assert said[bad][0] == 2
        assert "--jobs" in said[bad][1] and "Traceback" not in said[bad][1]
    monkeypatch.setattr(plugin_module, "plan", _widest)
    for jobs in ("1", "2"):
        args = ["site", "build", "--repo", str(repo.root), "--as-of", "2026-04-01"]
        status = run([*args, "--jobs", jobs, "--output", str(tmp_path / f"jobs{jobs}")])
        said[jobs] = (status, capsys.readouterr().err)
    assert said["1"] == said["2"] == (0, "")
    assert same_tree(tmp_path / "jobs1", tmp_path / "jobs2") > 40
    assert _children() == []
    assert list((tmp_path / "tmp").iterdir()) == []


def test_the_navigation_shows_what_one_process_shows(repo: Repo, tmp_path: Path) -> None:
    """Every page's navigation reads the pages in it: their front matter (the home page's
    subtitle) and their titles, from the navigation, their first heading or their file name.
    The second process reads them as the first does; and a page in the navigation keeps
    what its title is read from once it is written (its title was 'None' on every page
    written after it)."""
    home = "---\nsubtitle: Start here\n---\n# Ledger\n\nHand-written.\n"
    _repo(repo, home=home)
    repo.write("site/guide.md", "# Guide proper title\n\nText.\n", dedent=False)
    repo.write("site/notitle.md", "Text without a heading.\n", dedent=False)
    config = repo.root / "mkdocs.yml"
    text = config.read_text().replace(
        "  - Home: index.md\n", "  - Home: index.md\n  - guide.md\n  - notitle.md\n"
    )
    config.write_text(text, encoding="utf-8")
    git(repo.root, "add", "-A")
    git(repo.root, "commit", "-qm", "pages")
    for split in (None, 1):
        build_site(repo.root, output=tmp_path / f"o{split}", as_of=AS_OF, split=split)
    same_tree(tmp_path / "oNone", tmp_path / "o1")
    page = (tmp_path / "o1" / "incidents" / "INC-2026-0005.html").read_text()
    assert "Start here" in page and "Guide proper title" in page and "Notitle" in page
    assert ">None<" not in page.replace(" ", "").replace("\n", "")


def test_no_second_process_when_none_can_be_started(
    repo: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No memory or no process left for a copy of a large build: one process builds."""
    _repo(repo)
    build_site(repo.root, output=tmp_path / "one", as_of=AS_OF, split=None)

    def no_fork() -> int:
        raise OSError(errno.ENOMEM, "Cannot allocate memory")

    monkeypatch.setattr(os, "fork", no_fork)
    build_site(repo.root, output=tmp_path / "two", as_of=AS_OF, split=1)
    same_tree(tmp_path / "one", tmp_path / "two")
    assert list((tmp_path / "tmp").iterdir()) == []
    assert all(not f for f in (h.filters for h in logging.getLogger().handlers))


BUILDER = """\
import logging
import sys
from pathlib import Path

from opsledger.site import plugin
from opsledger.site.build import build_site
from opsledger.timeutil import parse_timestamp
from test_site_split import _widest

plugin.plan = _widest  # as the tests in process choose it
logging.basicConfig(level=logging.WARNING, format="%(message)s")
at = parse_timestamp("2026-04-01T00:00:00Z")
split = None if sys.argv[3] == "none" else int(sys.argv[3])
build_site(Path(sys.argv[1]), output=Path(sys.argv[2]), as_of=at, split=split)
"""


def _descendants(pid: int) -> list[int]:
    found: list[int] = []
    for kid in map(int, _children(pid)):
        found += [kid, *_descendants(kid)]
    return found


@pytest.mark.parametrize("how", ["SIGTERM to the build", "Ctrl-C"])
def test_an_interrupted_build_leaves_no_second_process(
    repo: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    """The build stopped while the second process renders (a CI job cancelled, Ctrl-C):
    the second process ends too, and the hand-over folder is removed."""
    _repo(repo)
    _extension(repo, tmp_path, monkeypatch, "split_slow", slow_on="# INC-")
    (tmp_path / "builder.py").write_text(BUILDER, encoding="utf-8")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(tmp_path / "ext"), str(Path(__file__).parent)]),
        "TMPDIR": str(tmp_path / "tmp"),
        "OPSLEDGER_CACHE_DIR": str(tmp_path / "cache"),
    }
    cmd = [sys.executable, str(tmp_path / "builder.py"), str(repo.root), str(tmp_path / "out"), "1"]
    with open(tmp_path / "stderr", "wb") as err:
        build = subprocess.Popen(cmd, env=env, start_new_session=True, stderr=err)
        second: list[int] = []
        for _ in range(600):  # until the second process renders (the slow pages are its)
            second = [p for p in _descendants(build.pid) if _runs(p, b"builder.py")]
            if second or build.poll() is not None:
                break
            time.sleep(0.05)
        assert second, (tmp_path / "stderr").read_text()
        time.sleep(0.3)
        if how == "Ctrl-C":
            os.killpg(build.pid, signal.SIGINT)  # the terminal signals the whole group
        else:
            build.send_signal(signal.SIGTERM)  # a job runner signals the build alone
        status = build.wait(timeout=60)
    if how == "Ctrl-C":
        assert status == -signal.SIGINT  # Python ends by the signal, as one process does
    else:
        assert status == -signal.SIGTERM  # ended by the signal, as one process is
    # what was held to be said in order is said on the way out
    assert "page # Ledger" in (tmp_path / "stderr").read_text()
    for _ in range(100):
        alive = [p for p in second if _runs(p, b"builder.py")]
        if not alive:
            break
        time.sleep(0.05)
    assert alive == []
    assert list((tmp_path / "tmp").iterdir()) == []


def _runs(pid: int, what: bytes) -> bool:
    """Whether process ``pid`` runs (not a zombie) a command line holding ``what``."""
    try:
        state = Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()[0]
        return state != b"Z" and what in Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, IndexError):
        return False


def test_a_failure_before_the_block_is_taken_is_the_one_process_failure(
    repo: Repo, tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first process fails after the second started and before it took the block (the
    generated home page, read after the block, fails): one process says the block's
    messages first; the same error and messages, in the same order."""
    blocks = _widest_noted(monkeypatch)
    _repo(repo)
    (repo.root / "site" / "index.md").unlink()  # the home page is generated, and last
    home = "# Operations governance ledger"
    _extension(repo, tmp_path, monkeypatch, "split_raise_home", fail_on=home)
    caplog.set_level(logging.INFO, logger="mkdocs")
    said = []
    for split in (None, 1):
        with pytest.raises(OpsledgerError) as failed:
            build_site(repo.root, output=tmp_path / f"o{split}", as_of=AS_OF, split=split)
        said.append((failed.value.message, _messages(caplog, tmp_path / f"o{split}")))
    assert blocks and blocks[0]
    assert "ValueError: cannot render # Operations governance" in said[0][0]
    assert len([m for m in said[0][1] if "WARNING mkdocs.test_split page " in m]) > 40
    assert said[0] == said[1]
    assert _children() == []
    assert list((tmp_path / "tmp").iterdir()) == []


def test_a_record_page_named_in_the_navigation(repo: Repo, tmp_path: Path) -> None:
    """``mkdocs.yml`` names a record page in its navigation: every page shows its title,
    so it is read by both processes and never left to the second alone."""
    _repo(repo)
    config = repo.root / "mkdocs.yml"
    named = "  - Home: index.md\n  - rules/INC-ACK.md\n  - incidents/INC-2026-0003.md\n"
    config.write_text(config.read_text().replace("  - Home: index.md\n", named), encoding="utf-8")
    for split in (None, 1):
        build_site(repo.root, output=tmp_path / f"o{split}", as_of=AS_OF, split=split)
    same_tree(tmp_path / "oNone", tmp_path / "o1")
    for page in ("404.html", "rules/REF-ID.html", "incidents/INC-2026-0008.html"):
        text = (tmp_path / "o1" / page).read_text()
        assert "INC-ACK" in text and "INC-2026-0003" in text, page
        assert ">None<" not in text.replace(" ", "").replace("\n", ""), page


def test_other_threads_messages_are_neither_held_nor_lost(repo: Repo, tmp_path: Path) -> None:
    """A program building the site while its own threads log: their messages reach their
    handlers as they come, every one."""
    import threading

    _repo(repo)
    got: list[str] = []

    class _Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            got.append(record.getMessage())

    logger = logging.getLogger("split_test_app")
    handler = _Keep()
    logger.addHandler(handler)
    logger.propagate = False
    stop = threading.Event()
    sent: list[str] = []

    late: list[str] = []

    def beat() -> None:
        while not stop.is_set():
            sent.append(f"beat {len(sent)}")
            logger.warning(sent[-1])
            if got[-1:] != sent[-1:]:
                late.append(sent[-1])  # held back, or lost
            time.sleep(0.002)

    thread = threading.Thread(target=beat)
    thread.start()
    try:
        build_site(repo.root, output=tmp_path / "o", as_of=AS_OF, split=1)
    finally:
        stop.set()
        thread.join()
        logger.removeHandler(handler)
    assert len(sent) > 50
    assert late == []
    assert got == sent


@pytest.mark.parametrize("what", ["site/overrides", "theme.custom_dir", "extra_templates"])
def test_templates_that_may_read_any_page_keep_one_process(
    repo: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, what: str
) -> None:
    """A theme override or an extra template may read every page's title (``pages``), and
    a process has not read every page: one process renders such a site (so does a theme
    other than Material, whose pages the site build's checks refuse anyway)."""
    asked: list[int] = []
    monkeypatch.setattr(plugin_module, "plan", lambda pages, least, most: asked.append(1) or [])
    _repo(repo)
    config = repo.root / "mkdocs.yml"
    text = config.read_text()
    if what == "site/overrides":
        repo.write("site/overrides/partials/copyright.html", "<p>Ours</p>\n", dedent=False)
    elif what == "theme.custom_dir":
        repo.write("theme/partials/copyright.html", "<p>Ours</p>\n", dedent=False)
        text = text.replace("  name: material\n", "  name: material\n  custom_dir: theme\n")
    else:
        repo.write("site/titles.txt", "<p>{{ pages | length }} pages</p>\n", dedent=False)
        text += "extra_templates:\n  - titles.txt\n"
    config.write_text(text, encoding="utf-8")
    build_site(repo.root, output=tmp_path / "o", as_of=AS_OF, split=1)
    assert asked == []
    build_site(repo.root, output=tmp_path / "p", as_of=AS_OF, split=1)  # and it builds


def test_what_extensions_print_warn_and_trace_is_said_once(
    repo: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Markdown extension that prints, writes to standard error, raises Python warnings
    and logs tracebacks for each page: each is said once, as one process says it (Python
    warnings and messages in one process's order, tracebacks whole); what is printed or
    written directly is said once, by the process that renders the page (the two
    processes' lines interleave). Built in a process of its own: the test runner turns
    Python warnings into errors."""
    _repo(repo)
    _extension(repo, tmp_path, monkeypatch, "split_noisy", noisy=True)
    (tmp_path / "builder.py").write_text(BUILDER, encoding="utf-8")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(tmp_path / "ext"), str(Path(__file__).parent)]),
        "PYTHONWARNINGS": "default",
        "PYTHONUNBUFFERED": "1",  # each line one write (buffered, two processes' cut lines)
        "OPSLEDGER_CACHE_DIR": str(tmp_path / "cache"),
        "SOURCE_DATE_EPOCH": str(int(AS_OF.timestamp())),
    }
    said = []
    for split in ("none", "1"):
        cmd = [sys.executable, str(tmp_path / "builder.py"), str(repo.root)]
        cmd += [str(tmp_path / f"o{split}"), split]
        ran = subprocess.run(cmd, env=env, capture_output=True, text=True)
        assert ran.returncode == 0, ran.stderr[-2000:]
        said.append((ran.stdout, ran.stderr))
    (out1, err1), (out2, err2) = said
    warned = [line for line in err1.splitlines() if "UserWarning: warned" in line]
    assert len(warned) > 40
    assert err1.count("Traceback (most recent call last)") == len(warned)
    # Python warnings and logged messages (with their tracebacks) in one process's order
    held = [line for line in err1.splitlines() if not line.startswith("written ")]
    assert [line for line in err2.splitlines() if not line.startswith("written ")] == held
    # printed and written directly: each once
    assert sorted(out1.splitlines()) == sorted(out2.splitlines())
    written = sorted(line for line in err1.splitlines() if line.startswith("written "))
    assert sorted(line for line in err2.splitlines() if line.startswith("written ")) == written
    same_tree(tmp_path / "onone", tmp_path / "o1")


def test_the_progress_bar_is_the_first_processes_alone(repo: Repo, tmp_path: Path) -> None:
    """No phase of the progress display is open when the second process starts: it
    neither draws on the terminal nor closes the first's display (whose drawing thread
    may hold its lock at that moment: the second would wait for it for ever)."""
    import contextlib
    from collections.abc import Iterator

    _repo(repo)
    log = tmp_path / "phases"

    @contextlib.contextmanager
    def stage(label: str) -> Iterator[None]:
        with open(log, "a") as out:
            out.write(f"{os.getpid()} open {label}\n")
        try:
            yield None
        finally:
            with open(log, "a") as out:
                out.write(f"{os.getpid()} close {label}\n")

    build_site(repo.root, output=tmp_path / "o", as_of=AS_OF, split=1, stage=stage)
    lines = log.read_text().splitlines()
    assert {line.split()[0] for line in lines} == {str(os.getpid())}, lines
    assert "Rendering pages" in log.read_text() and "Writing pages" in log.read_text()


class _Kept(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append(record.getMessage())


@pytest.mark.parametrize(
    "hook", ["warnings.catch_warnings(record=True)", "logging.captureWarnings"]
)
def test_python_warnings_reach_the_callers_own_hook(
    repo: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hook: str
) -> None:
    """A program that takes Python warnings itself (records them, or routes them to
    logging) gets every one of the build's, in one process's order."""
    import warnings

    _repo(repo)
    _extension(repo, tmp_path, monkeypatch, "split_hooked", noisy=True)
    got: dict[int | None, list[str]] = {}
    for split in (None, 1):
        with warnings.catch_warnings(record=True) as recorded:
            warnings.simplefilter("always")
            if hook == "logging.captureWarnings":
                handler = _Kept()
                logging.getLogger("py.warnings").addHandler(handler)
                logging.captureWarnings(True)
                try:
                    build_site(repo.root, output=tmp_path / f"o{split}", as_of=AS_OF, split=split)
                finally:
                    logging.captureWarnings(False)
                    logging.getLogger("py.warnings").removeHandler(handler)
                got[split] = [m for m in handler.seen if "warned" in m]
            else:
                build_site(repo.root, output=tmp_path / f"o{split}", as_of=AS_OF, split=split)
                got[split] = [str(w.message) for w in recorded if "warned" in str(w.message)]
    assert len(got[None]) > 40
    assert got[1] == got[None]


def test_stopping_a_split_whose_second_process_was_reaped_already() -> None:
    """Ctrl-C signals both processes: the second ends, the first's wait for it returns,
    and the interrupt arrives before that wait says it reaped the process. Stopping the
    split then waits for a process that is gone: the interrupt stays what ends the build
    (it failed with "No child processes", exit status 1, once under load)."""
    from opsledger.site.split import Messages, Split

    split = Split(["incidents/INC-2026-0001.md"], {1}, Messages())
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)  # reaped, as the interrupted wait did
    split.pid = pid
    split.stop()
    assert split.pid == 0
