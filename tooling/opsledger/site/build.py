"""Building and serving the site from Python: what ``opsledger site build|serve`` call.

The repository's own ``mkdocs.yml`` is used when it has one (plain ``mkdocs build`` reads
the same file). A repository without one (a demo, a repository made before the site
existed) is built with the packaged default configuration and home page, in a temporary
folder outside the repository.
"""

from __future__ import annotations

import functools
import gc
import http.server
import os
import shutil
import sysconfig
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
import yaml

from opsledger.errors import ConfigError, OpsledgerError
from opsledger.outputs import check_site_folder
from opsledger.site.config_check import check_config, top_level_values
from opsledger.site.data import Stage
from opsledger.site.split import Messages, SplitFailed, terminable

if TYPE_CHECKING:
    from opsledger.site.plugin import OpsledgerPlugin

os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")  # the theme's banner is not our output

CONFIG = "mkdocs.yml"
#: each watched file with its modification time and size (:func:`snapshot`)
Snapshot = dict[str, tuple[int, int]]


@dataclass(frozen=True)
class BuildResult:
    index: Path  # the built index.html
    config: Path | None  # the repository's mkdocs.yml, or None for the packaged default
    pages: int
    #: the build's plugin, kept for :func:`refresh_site` (``keep=True``), else None
    plugin: OpsledgerPlugin | None = None


def _default_file(name: str) -> str:
    return (resources.files("opsledger") / "defaults" / "init" / name).read_text("utf-8")


@contextmanager
def config_file(root: Path, config: Path | None) -> Iterator[tuple[Path, bool]]:
    """The configuration to build with, and whether it is the packaged default."""
    if config is not None:
        if not config.is_file():
            raise ConfigError(f"{config}: no such MkDocs configuration file")
        if config.is_symlink():
            raise ConfigError(f"{config} is a symbolic link; the site build refuses links")
        yield config, False
        return
    own = root / CONFIG
    if os.path.lexists(own):
        if own.is_symlink():
            raise ConfigError(f"{own} is a symbolic link; the site build refuses links")
        if not own.is_file():  # a FIFO or device would hang or feed the build
            raise ConfigError(f"{own} is not a regular file; the site build refuses it")
        yield own, False
        return
    with tempfile.TemporaryDirectory(prefix="opsledger-site-") as tmp:
        data: dict[str, Any] = yaml.safe_load(_default_file("mkdocs.yml"))
        docs = Path(tmp, "docs")
        docs.mkdir()
        (docs / "index.md").write_text(_default_file("site-index.md"), encoding="utf-8")
        data["docs_dir"] = str(docs)
        data["site_dir"] = str(root / data.get("site_dir", "public"))
        data["plugins"] = [
            p if p != "opsledger" else {"opsledger": {"repo": str(root)}}
            for p in data.get("plugins", [])
        ]
        path = Path(tmp, CONFIG)
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        yield path, True


def build_site(
    root: Path,
    *,
    output: Path | None = None,
    config: Path | None = None,
    as_of: datetime | None = None,
    stage: Stage | None = None,
    use_history: bool = True,
    ready: Callable[[], object] | None = None,
    keep: bool = False,
    split: int | None = None,
    split_most: int | None = None,
) -> BuildResult:
    """Build the site of the repository at ``root``; MkDocs' errors become one-line
    :class:`OpsledgerError` messages (its warnings go to the ``mkdocs`` logger).
    ``ready`` runs once the output folder and the configuration have been checked, before
    MkDocs reads anything (the CLI's history decision: exit 4 before any work). ``stage``
    shows each phase (loading, history, audit, page generation, rendering) as it runs.
    ``keep``: the result keeps what :func:`refresh_site` needs to update the site later
    (``site serve``). ``split``: a block of at least this many record pages is rendered
    in a second process (:mod:`.split`; :func:`~.split.auto_split` gives what suits the
    machine), unless the site has more than ``split_most`` pages; None: one process. Where
    the second process fails, the site is built again in one process."""
    from mkdocs.commands.build import build
    from mkdocs.config import load_config

    from opsledger.site.plugin import OpsledgerPlugin, guard_site_dir

    if output is not None:
        check_site_folder(output, root=root)
    with config_file(root, config) as (path, default):
        if not default:
            check_config(path, root)  # before MkDocs' unsafe YAML loader sees it
        if ready is not None:
            ready()
        overrides: dict[str, Any] = {}
        if output is not None:
            overrides["site_dir"] = str(Path(os.path.abspath(output)))
        plugin: OpsledgerPlugin | None = None
        with _failures(lambda: plugin), terminable():
            while True:
                # a build that may split holds every message from here (MkDocs' own about
                # the configuration too), to say each once and in one process's order
                messages = Messages() if split else None
                if messages is not None:
                    messages.start()
                try:
                    cfg = load_config(config_file=str(path), **overrides)
                    found = cfg.plugins.get("opsledger")
                    if not isinstance(found, OpsledgerPlugin):
                        raise OpsledgerError(
                            f"{path} does not use the opsledger plugin; add '- opsledger' "
                            "under plugins:"
                        )
                    plugin = found
                    plugin.as_of_override = as_of
                    plugin.stage = stage
                    plugin.no_history_override = not use_history
                    plugin.keep = keep
                    plugin.split_min, plugin.split_most = split, split_most
                    plugin.messages = messages
                    if messages is not None:
                        messages.place = plugin.place
                    guard_site_dir(cfg, root, "--output" if output is not None else "site_dir")
                    build(cfg)
                except SplitFailed:
                    assert messages is not None and plugin is not None
                    if plugin.split is not None:
                        plugin.split.stop()
                        plugin.split = None
                    messages.drop()  # all said again by the build in one process
                    plugin.on_build_error(error=RuntimeError("the second process failed"))
                    split = None  # the same build in one process: its own error, if any
                    continue
                finally:
                    if plugin is not None and plugin.split is not None:
                        if plugin.split.child:
                            plugin.split.fail()  # never returns: the first process goes on
                        plugin.split.stop()  # interrupted: the second process stops too
                    if messages is not None:
                        messages.stop()
                break
        site_dir = Path(cfg.site_dir)
        pages = sum(1 for _ in site_dir.rglob("*.html"))
        kept = plugin if keep else None
        return BuildResult(site_dir / "index.html", None if default else path, pages, kept)


def settle() -> None:
    """In the process serving a kept build (``site serve``), once it is built: what the
    build left behind is collected, and what stays alive (the kept build, served for as
    long as the process runs) is moved out of the cyclic garbage collector's sight
    (:func:`gc.freeze`), where a rebuild's loading would move it anyway after collecting
    it all first (a second at 10k records). The next full build brings it back into sight.
    Only the process that serves calls it: it decides when that process's garbage is
    collected."""
    gc.collect()
    gc.freeze()


def refresh_site(result: BuildResult) -> list[str] | None:
    """Update a site built with ``keep=True`` after records changed: only the pages whose
    Markdown changed are rendered and written again. The pages rendered again, or None
    where only a full build gives the same site (then build again in full)."""
    plugin = result.plugin
    if plugin is None:
        return None
    with _failures(lambda: plugin):
        return plugin.refresh()


@contextmanager
def _failures(plugin: Callable[[], OpsledgerPlugin | None]) -> Iterator[None]:
    """MkDocs' and the theme's errors as one-line :class:`OpsledgerError` messages."""
    from mkdocs.exceptions import MkDocsException

    try:
        yield
    except MkDocsException as exc:
        found = plugin()
        failure = found.failure if found is not None else None
        if isinstance(failure, OpsledgerError):
            raise failure from None  # its own message and exit status (4: history)
        raise OpsledgerError(f"site build failed: {exc}") from None
    except jinja2.TemplateError as exc:  # a theme override the sandbox stopped, or broken
        raise OpsledgerError(f"site build failed: theme template: {exc}") from None
    except OSError as exc:
        raise OpsledgerError(f"site build failed: {exc}") from None
    except OpsledgerError:
        raise
    except Exception as exc:
        where = _raised_in(exc)
        if where is None:
            raise  # opsledger's own code: an internal error (exit 3), a bug to report
        # raised by what mkdocs.yml and the theme overrides bring in (a Markdown extension
        # given a function that does not fit, a template dividing by zero): the
        # repository's configuration, exit status 2
        first = (str(exc).strip().splitlines() or [""])[0]
        raise OpsledgerError(
            f"site build failed: {type(exc).__name__}: {first} (raised in {where}; check "
            "mkdocs.yml and the theme overrides)"
        ) from None


_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_STDLIB = os.path.abspath(sysconfig.get_paths()["stdlib"])


def _raised_in(exc: BaseException) -> str | None:
    """Who raised ``exc``: the module (or template file) of the innermost frame that is
    not the standard library's, or None when that frame is opsledger's own Python code
    (a standard-library function opsledger called wrongly is opsledger's bug)."""
    frames = []
    tb = exc.__traceback__
    while tb is not None:
        frames.append(tb.tb_frame)
        tb = tb.tb_next
    for frame in reversed(frames):
        filename = os.path.abspath(frame.f_code.co_filename)
        if filename.endswith(".py") and filename.startswith(_PACKAGE + os.sep):
            return None
        if frame.f_code.co_filename.startswith("<frozen "):  # the standard library, frozen
            continue
        if filename.startswith(_STDLIB + os.sep) and "site-packages" not in filename:
            continue
        module = frame.f_globals.get("__name__")
        return module if isinstance(module, str) and module != "__main__" else filename
    return None


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def make_server(
    folder: Path | Callable[[], Path], host: str = "127.0.0.1", port: int = 8000
) -> http.server.HTTPServer:
    """A static file server for a built site (the caller runs ``serve_forever``).
    ``folder``: the site's folder, or what gives it for each request (``site serve``
    switches to a new build's folder once that build succeeded)."""
    if not callable(folder):
        handler = functools.partial(_QuietHandler, directory=str(folder))
        return http.server.ThreadingHTTPServer((host, port), handler)
    where = folder

    def each(*args: Any, **kwargs: Any) -> _QuietHandler:
        return _QuietHandler(*args, directory=str(where()), **kwargs)

    return http.server.ThreadingHTTPServer((host, port), each)


def watched(root: Path, config: Path | None = None) -> list[Path]:
    """What a served site is built from, so ``site serve`` rebuilds when any of it changes:
    the record folders, ``schemas/``, the policy, the MkDocs configuration and the site's
    pages (``docs_dir``, theme overrides included when they live there)."""
    from opsledger.model.layout import KINDS
    from opsledger.model.policy import POLICY_FILE

    path = config if config is not None else root / CONFIG
    docs = top_level_values(path).get("docs_dir", "site" if path.exists() else "")
    folders = sorted({k.folder.split("/")[0] for k in KINDS})
    paths = [root / name for name in (*folders, "schemas", POLICY_FILE)]
    paths.append(path)
    if docs:
        paths.append(Path(os.path.normpath(path.parent / docs)))
    return paths


def snapshot(paths: list[Path]) -> Snapshot:
    """Each file under ``paths`` (links not followed) with its modification time and size:
    two snapshots differ when a file was added, removed or changed."""
    seen: dict[str, tuple[int, int]] = {}

    def add(path: str) -> None:
        try:
            info = os.lstat(path)
        except OSError:
            return
        seen[path] = (info.st_mtime_ns, info.st_size)

    for top in paths:
        if not os.path.isdir(top) or os.path.islink(top):
            add(str(top))
            continue
        for here, dirs, files in os.walk(top):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            for name in files:
                add(os.path.join(here, name))
    return seen


def changed_files(before: Snapshot, after: Snapshot) -> set[str]:
    """The files added, removed or changed between two :func:`snapshot` results."""
    return {path for path in before.keys() | after.keys() if before.get(path) != after.get(path)}


def records_only(root: Path, paths: set[str]) -> bool:
    """Whether every one of ``paths`` is under a record folder (``records/``,
    ``runbooks/``): what :func:`refresh_site` can follow without a full build."""
    from opsledger.model.layout import KINDS

    folders = {os.path.join(root, k.folder.split("/")[0]) + os.sep for k in KINDS}
    return all(any(path.startswith(folder) for folder in folders) for path in paths)


def remove_tree(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
