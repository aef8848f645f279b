"""The one module of opsledger that talks to git (through GitPython).

Everything else in the package works on plain data; functions here create repositories,
write history and read it back. Keep each function small and typed.
"""

from __future__ import annotations

import codecs
import contextlib
import hashlib
import importlib.util
import os
import queue
import shlex
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING


def _lazy(name: str) -> ModuleType:
    """``name`` imported when first used (the standard library's LazyLoader recipe).

    GitPython costs a tenth of a second to import; ``opsledger --help`` and a pre-commit
    ``validate`` never talk to git and should not pay it."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.loader is not None, name
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


if TYPE_CHECKING:
    import git

    from opsledger.errors import OpsledgerError
else:
    git = _lazy("git")


def load() -> None:
    """Import GitPython now, in this thread: call before git is first used from another
    thread (the lazy import is not thread-safe before Python 3.12: a second thread could
    see the module half made)."""
    git.Repo  # noqa: B018 (the attribute access runs the import)


def init_repo(path: Path) -> None:
    """``git init`` at ``path`` (created if missing) with ``main`` as the initial branch."""
    path.mkdir(parents=True, exist_ok=True)
    repo = git.Repo.init(path, mkdir=False)
    try:
        # Point HEAD at main whatever init.defaultBranch says (works on any git version).
        repo.git.symbolic_ref("HEAD", "refs/heads/main")
    finally:
        repo.close()


def fast_import(path: Path, stream: bytes | Iterable[bytes]) -> None:
    """Run ``git fast-import --quiet`` once at ``path`` on ``stream``.

    ``stream`` is the whole stream, or an iterable of its chunks: chunks are written while
    git reads them, so producing the stream and importing it overlap.
    """
    repo = git.Repo(path)
    try:
        handle = repo.git.execute(
            ["git", "fast-import", "--quiet"], istream=subprocess.PIPE, as_process=True
        )
        stdin = handle.proc.stdin if handle.proc is not None else None
        if stdin is None:
            raise RuntimeError("git fast-import did not start with a standard input")
        try:
            for chunk in [stream] if isinstance(stream, bytes) else stream:
                stdin.write(chunk)
        except BrokenPipeError:
            pass  # git stopped reading: wait() below raises with git's own message
        finally:
            with contextlib.suppress(BrokenPipeError):
                stdin.close()
        handle.wait()
    finally:
        repo.close()


def checkout_head(path: Path) -> None:
    """Populate the index and work tree from ``HEAD`` (after a fast-import)."""
    repo = git.Repo(path)
    try:
        repo.git.reset("--hard", "--quiet")
    finally:
        repo.close()


def head_sha(path: Path) -> str:
    """The commit id ``HEAD`` points at."""
    repo = git.Repo(path)
    try:
        return str(repo.head.commit.hexsha)
    finally:
        repo.close()


def commit_count(path: Path) -> int:
    """The number of commits reachable from ``HEAD``."""
    repo = git.Repo(path)
    try:
        return int(repo.git.rev_list("--count", "HEAD"))
    finally:
        repo.close()


SHALLOW_HELP = (
    "this is a shallow clone, so history is incomplete; fetch the full history "
    "(actions/checkout with 'fetch-depth: 0', or 'git fetch --unshallow') and run again"
)
REPLACED_HELP = (
    "history was rewritten locally with replace refs, so commits are not what they claim; "
    "remove them ('git replace -d' each one listed by 'git replace -l') and run again"
)
GRAFTED_HELP = (
    "history was rewritten locally with a grafts file ({path}), so commits are not what "
    "they claim; remove that file and run again"
)
UNREADABLE_HELP = (
    "git cannot read the commit HEAD points at (a missing object or a damaged pack), so "
    "history cannot be read; repair the clone ('git fsck', or clone again) and run again"
)
NESTED_HELP = (
    "history is read only when the governance repository (the folder holding policy.yaml) "
    "is the root of its git repository; make it a repository of its own"
)
PARTIAL_HELP = (
    "{count} tracked files are left out of the working tree (sparse checkout or "
    "skip-worktree; the first: {first}), so not every record would be judged; check out "
    "everything ('git sparse-checkout disable', 'git update-index --no-skip-worktree FILE') "
    "and run again"
)
DUBIOUS_HELP = (
    "git refuses to read a repository another user owns (a CI container running as another "
    "user than the checkout's owner); if you trust it, run 'git config --global --add "
    "safe.directory {path}' and run again"
)
NO_GIT_HELP = (
    "this folder is not in a git repository, so there is no history to read; run in the "
    "governance repository's git checkout"
)


@dataclass(frozen=True)
class HistoryProblem:
    """Why this checkout's history cannot be trusted: a short reason and what to do."""

    reason: str  # "shallow clone", "replace refs", "grafts", "no git history here"
    help: str


def history_problem(path: Path) -> HistoryProblem | None:
    """The one decision on whether git history here is usable (None: it is).

    Unusable: no git repository; a shallow clone (history truncated); replace refs or a
    grafts file (history rewritten locally, so what a commit says depends on local state).
    A repository without commits has a complete, empty history: usable.
    """
    repo = _open(path)
    if repo is None:
        return HistoryProblem("no git history here", NO_GIT_HELP)
    try:
        try:
            shallow = str(repo.git.rev_parse("--is-shallow-repository")).strip()
        except git.GitCommandError as exc:  # git refuses this repository outright
            return _refused(exc, Path(repo.working_tree_dir or path))
        if shallow == "true":
            return HistoryProblem("shallow clone", SHALLOW_HELP)
        base = os.environ.get("GIT_REPLACE_REF_BASE") or "refs/replace/"
        if str(repo.git.for_each_ref("--count=1", "--format=%(refname)", base)).strip():
            return HistoryProblem("replace refs", REPLACED_HELP)
        grafts = [os.environ.get("GIT_GRAFT_FILE") or ""]
        grafts.append(str(repo.git.rev_parse("--git-path", "info/grafts")).strip())
        top = Path(repo.working_tree_dir or path)
        for name in filter(None, grafts):
            file = Path(name) if Path(name).is_absolute() else top / name
            if file.is_file() and file.stat().st_size > 0:
                return HistoryProblem("grafts", GRAFTED_HELP.format(path=name))
        problem = _unreadable_head(repo) or _nested(repo, path) or _partial(repo, path)
        if problem is not None:
            return problem
    finally:
        repo.close()
    return None


def _flagged(repo: git.Repo) -> list[tuple[str, bool]]:
    """Tracked files git is told to take as unchanged (``assume-unchanged``, or
    ``skip-worktree``: a sparse checkout leaves them out of the working tree), each with
    whether it is skip-worktree; paths as ``git ls-files`` gives them from the top."""
    listed = str(repo.git.ls_files("-v", "-z", "--", ".")).split("\0")
    return [
        (entry[2:], entry[0] in "Ss")
        for entry in listed
        if len(entry) > 2 and (entry[0].islower() or entry[0] == "S")
    ]


def _partial(repo: git.Repo, path: Path) -> HistoryProblem | None:
    """A checkout that leaves tracked files of the governance repository out of the working
    tree (a sparse checkout, skip-worktree): every command would judge fewer records than
    the branch holds, silently."""
    from opsledger.model.layout import read_by_commands
    from opsledger.neutral import short

    top = Path(repo.working_tree_dir or path)
    gone = [
        name
        for name, skipped in _flagged(repo)
        if skipped and read_by_commands(name) and not os.path.lexists(top / name)
    ]
    if not gone:
        return None
    return HistoryProblem(
        "partial checkout",
        PARTIAL_HELP.format(count=len(gone), first=short(gone[0], 120)),
    )


def _refused(exc: git.GitCommandError, top: Path) -> HistoryProblem:
    """Why git will not read the repository at ``top`` at all, and what to do."""
    said = str(exc.stderr or "")
    if "dubious ownership" in said:
        return HistoryProblem(
            "repository owned by another user",
            DUBIOUS_HELP.format(path=shlex.quote(str(top))),
        )
    first = next((line for line in said.splitlines() if line.strip()), "")
    first = first.strip().removeprefix("stderr:").strip().strip("'")
    return HistoryProblem(
        "git cannot read the repository",
        f"git stopped: {first[:200] or f'exit status {exc.status}'}; fix what it says (or run "
        "without history: --no-history) and run again",
    )


def _unreadable_head(repo: git.Repo) -> HistoryProblem | None:
    """HEAD names a branch that exists but does not lead to a readable commit (a ref to a
    missing object, a damaged pack, an empty object store). A branch not yet born (no
    commits) is not a problem: its history is empty."""
    try:
        repo.git.rev_parse("--verify", "--quiet", "HEAD^{commit}")
        return None
    except git.GitCommandError:
        pass
    try:
        branch = str(repo.git.symbolic_ref("--quiet", "HEAD")).strip()
    except git.GitCommandError:
        branch = ""  # a detached HEAD that does not resolve
    if branch and not _ref_exists(repo, branch):
        return None  # unborn: no commits yet
    return HistoryProblem("history unreadable", UNREADABLE_HELP)


def _ref_exists(repo: git.Repo, ref: str) -> bool:
    """Whether ``ref`` is written down (loose or packed), whatever it points at: git's own
    commands skip a ref whose object is missing, which would make it look unborn."""
    top = Path(repo.working_tree_dir or repo.git_dir)

    def git_path(name: str) -> Path:
        found = Path(str(repo.git.rev_parse("--git-path", name)).strip())
        return found if found.is_absolute() else top / found

    if git_path(ref).is_file():
        return True
    packed = git_path("packed-refs")
    if not packed.is_file():
        return False
    lines = packed.read_text(encoding="utf-8", errors="replace").splitlines()
    return any(line.split(" ", 1)[-1] == ref for line in lines if not line.startswith("#"))


def _nested(repo: git.Repo, path: Path) -> HistoryProblem | None:
    """The governance repository (``path``, its root) is a subfolder of the git repository:
    history is read with paths from the git root, so it would find none of the records."""
    top = repo.working_tree_dir
    if top is None or Path(os.path.realpath(top)) == Path(os.path.realpath(path)):
        return None
    return HistoryProblem("governance repository inside a larger git repository", NESTED_HELP)


def _open(path: Path) -> git.Repo | None:
    try:
        return git.Repo(path, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return None


def describe_head(path: Path) -> str | None:
    """The commit ``HEAD`` points at, or None outside git, before the first commit, or
    where git will not read the repository."""
    repo = _open(path)
    if repo is None:
        return None
    try:
        return str(repo.head.commit.hexsha)
    except ValueError:  # no commits yet
        return None
    except (git.GitCommandError, OSError):
        # git refuses the repository (another user's: see history_problem, which stops
        # every run that needs history); under --no-history the run names no commit
        return None
    finally:
        repo.close()


def _changed_names(repo: git.Repo, base: str, prefix: str, folders: tuple[str, ...]) -> list[str]:
    """What :func:`changed_paths` finds, as git names it (relative to the top folder)."""
    names = repo.git.diff("--name-only", "-z", "--no-renames", base, "--", ".").split("\0")
    names += repo.git.ls_files("--others", "--exclude-standard", "-z").split("\0")
    if folders:
        inside = [f if prefix == "." else f"{prefix}/{f}" for f in folders]
        names += repo.git.ls_files("--others", "-z", "--", *inside).split("\0")
    # files git is told to take as unchanged (assume-unchanged, skip-worktree): git diff
    # does not look at them, the full audit reads them as they are
    names += [name for name, _ in _flagged(repo)]
    touched = ["--format=", "--name-only", "-z", "--no-renames", "--full-history"]
    touched += ["--diff-merges=first-parent", f"{base}..HEAD", "--", "."]
    names += [n.strip("\n") for n in repo.git.log(*touched).split("\0")]
    return [str(name) for name in names]


def changed_paths(path: Path, ref: str, folders: tuple[str, ...] = ()) -> list[str]:
    """Files changed since the merge base of ``ref`` and HEAD: committed, staged, unstaged
    and untracked (under ``folders``, ignored ones too: a walk of them reads every file),
    relative to ``path`` (the governance repository's root); a changed submodule or
    nested clone is named by its folder. Committed
    means touched by any commit since the merge base, not only what differs from it: an
    edit undone by a later commit, or a record added then deleted, is still in the
    history the GIT-* rules judge.

    Raises :class:`~opsledger.errors.OpsledgerError` with what to do for an unknown ref (or
    one git would take for an option), a shallow clone or a folder outside git.
    """
    from opsledger.errors import EXIT_SHALLOW, OpsledgerError

    if not ref or ref.startswith("-"):
        raise OpsledgerError(
            f"--changed-since: {_shown_ref(ref)} is not a branch, tag or commit; pass the "
            "branch the pull request goes into (for example origin/main)"
        )
    repo = _open(path)
    if repo is None:
        raise OpsledgerError(f"--changed-since needs a git repository; {path} is not in one")
    try:
        try:
            shallow = repo.git.rev_parse("--is-shallow-repository").strip()
        except git.GitCommandError as exc:  # git refuses this repository outright
            refused = _refused(exc, Path(repo.working_tree_dir or path))
            raise OpsledgerError(
                f"--changed-since: {refused.reason}: {refused.help}", status=EXIT_SHALLOW
            ) from None
        if shallow == "true":
            raise OpsledgerError(f"--changed-since: {SHALLOW_HELP}", status=EXIT_SHALLOW)
        try:
            base = repo.git.merge_base(ref, "HEAD").strip()
        except git.GitCommandError:
            raise OpsledgerError(
                f"--changed-since: unknown ref {_shown_ref(ref)} or no common history with "
                "HEAD; fetch it first (for example 'git fetch origin main') and pass origin/main"
            ) from None
        top = Path(repo.working_tree_dir or path)
        prefix = Path(path).resolve().relative_to(top.resolve()).as_posix()
        try:
            names = _changed_names(repo, base, prefix, folders)
        except git.GitCommandError as exc:  # an object git needs is missing or damaged
            raise OpsledgerError(
                f"--changed-since: {_unreadable(exc).message}", status=EXIT_SHALLOW
            ) from None
    finally:
        repo.close()
    strip = "" if prefix == "." else prefix + "/"
    found = {n.rstrip("/")[len(strip) :] for n in names if n and n.startswith(strip)}
    # a .gitattributes above the governance repository applies to its files too
    found |= {
        os.path.relpath(n, prefix)
        for n in names
        if n and not n.startswith(strip) and n.rsplit("/", 1)[-1] == ".gitattributes"
    }
    return sorted(found - {""})


def _shown_ref(ref: str) -> str:
    """A ref as an error message names it: quoted, and cut when long."""
    return repr(ref if len(ref) <= 80 else ref[:79] + "…")


def user_email(path: Path) -> str | None:
    """The ``user.email`` git would record for a commit made in ``path``, if any."""
    repo = _open(path)
    if repo is None:
        return None
    try:
        return str(repo.git.config("user.email")).strip() or None
    except git.GitCommandError:
        return None
    finally:
        repo.close()


def paths_in_history(path: Path, folder: str) -> set[str]:
    """Every file path under ``folder`` that any commit on any ref ever touched (one call)."""
    repo = _open(path)
    if repo is None:
        return set()
    try:
        output = repo.git.log("--all", "--format=", "--name-only", "-z", "--", folder)
    except git.GitCommandError:  # no commits yet
        return set()
    finally:
        repo.close()
    return {name.strip("\n") for name in output.split("\0") if name.strip("\n")}


# --- history: the few calls the history index needs (one pass, never one call per file) ---

#: commit, parents, author, its date (Unix seconds), committer, its date, signature, and
#: both dates as git stored them (``--date=raw``: seconds and offset, to check the offset)
LOG_FIELDS = ("%H", "%P", "%an", "%ae", "%at", "%cn", "%ce", "%ct", "%G?", "%ad", "%cd")


def is_shallow(path: Path) -> bool:
    repo = _open(path)
    if repo is None:
        return False
    try:
        return str(repo.git.rev_parse("--is-shallow-repository")).strip() == "true"
    finally:
        repo.close()


def is_ancestor(path: Path, older: str, newer: str) -> bool:
    """True when commit ``older`` exists and is an ancestor of (or equal to) ``newer``."""
    repo = _open(path)
    if repo is None:
        return False
    try:
        repo.git.merge_base("--is-ancestor", older, newer)
        return True
    except git.GitCommandError:
        return False
    finally:
        repo.close()


def commit_graph(
    path: Path, exclude: str | None = None, *, tip: str = "HEAD"
) -> list[tuple[str, list[str], str]]:
    """Every commit reachable from ``tip`` (and not from ``exclude``) with its parents and
    its committer date as git prints it (Unix seconds, self-asserted: checked where it is
    used), children before parents. ``tip``: a commit id read before, so that every walk
    of one run sees the same commits however the branch moves meanwhile."""
    repo = _open(path)
    if repo is None:
        return []
    try:
        if not _has_head(repo):
            return []
        limit = ["^" + exclude] if exclude else []
        output = str(repo.git.rev_list("--parents", "--topo-order", "--timestamp", tip, *limit))
    except git.GitCommandError as exc:
        raise _unreadable(exc) from None
    finally:
        repo.close()
    graph = []
    for line in output.splitlines():
        parts = line.split()  # the date, the commit, its parents
        if len(parts) >= 2:
            graph.append((parts[1], parts[2:], parts[0]))
    return graph


def raw_log(
    path: Path, folders: tuple[str, ...], exclude: str | None = None, *, tip: str = "HEAD"
) -> str:
    """One ``git log`` over every commit reachable from HEAD that touched ``folders``:
    NUL-separated commit fields (``LOG_FIELDS``, the first prefixed with U+001E) followed by
    the commit's raw changes (``-z --raw --no-abbrev``), oldest first. Renames are never
    paired (``--no-renames``): a moved file is a deletion and an addition, and the history
    index decides by record ID what moved. Merge commits show their changes against the
    first parent (what landed). With ``exclude``, only commits not reachable from it.

    Raises :class:`~opsledger.errors.OpsledgerError` (history unusable) when git cannot
    read the history: an empty answer would look like a history without records."""
    return "".join(raw_log_chunks(path, folders, exclude, tip=tip))


def paths_ever(path: Path, folders: tuple[str, ...], *, tip: str = "HEAD") -> set[str]:
    """Every path under ``folders`` that a commit reachable from ``tip`` added, changed or
    deleted (a merge: against its first parent). One ``git log`` call over those folders
    only (git prunes every other tree)."""
    repo = _open(path)
    if repo is None or not folders:
        return set()
    try:
        if not _has_head(repo):
            return set()
        args = ["--format=", "--name-only", "-z", "--no-renames", "--full-history"]
        args += ["--diff-merges=first-parent", tip, "--"]
        output = str(repo.git.log(*args, *(f":(literal){f}" for f in folders)))
    except git.GitCommandError as exc:
        raise _unreadable(exc) from None
    finally:
        repo.close()
    return {name.strip("\n") for name in output.split("\0") if name.strip("\n")}


def raw_log_chunks(
    path: Path, folders: tuple[str, ...], exclude: str | None = None, *, tip: str = "HEAD"
) -> Iterator[str]:
    """:func:`raw_log` as it arrives, in pieces (their concatenation is :func:`raw_log`'s
    text): the history index reads blobs while git is still walking the history. ``tip``:
    as for :func:`commit_graph`."""
    repo = _open(path)
    if repo is None:
        return
    try:
        if not _has_head(repo):
            return
        top = repo.working_tree_dir or repo.git_dir
    finally:
        repo.close()
    fmt = "%x1e" + "%x00".join(LOG_FIELDS) + "%x00"
    args = [
        git.Git.GIT_PYTHON_GIT_EXECUTABLE or "git",
        "log",
        "--topo-order",
        "--reverse",
        "--full-history",
        "--diff-merges=first-parent",
        "-z",
        "--raw",
        "--no-abbrev",
        "--no-renames",
        "--date=raw",
        # names and messages in UTF-8 whatever the repository's i18n.logOutputEncoding (it
        # follows i18n.commitEncoding: a latin-1 repository would print latin-1 bytes)
        "--encoding=UTF-8",
        f"--format={fmt}",
        tip,
        *(["^" + exclude] if exclude else []),
        "--",
        *(f":(literal){f}" for f in folders),  # a record's path is no pattern
    ]
    # git's messages in English, as through GitPython; its errors go to a file, never a
    # pipe nobody reads while the log is being read
    env = {**os.environ, "LANGUAGE": "C", "LC_ALL": "C"}
    decoder = codecs.getincrementaldecoder("utf-8")("surrogateescape")
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(
            args, cwd=top, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errors
        )
        assert proc.stdout is not None
        out = proc.stdout.fileno()
        try:
            held = ""  # a last newline is git's, not the log's: dropped at the end
            while data := os.read(out, 1 << 16):
                text = held + decoder.decode(data)
                held = "\n" if text.endswith("\n") else ""
                if text[: len(text) - len(held)]:
                    yield text[: len(text) - len(held)]
            tail = decoder.decode(b"", final=True)
            if tail:
                yield (held + tail).removesuffix("\n")
        finally:
            if proc.poll() is None:
                proc.kill()  # the reader stopped early
            proc.stdout.close()
            status = proc.wait()
        if status != 0:
            errors.seek(0)
            raise unreadable_history(errors.read().decode("utf-8", "replace")) from None


def _has_head(repo: git.Repo) -> bool:
    try:
        repo.git.rev_parse("--verify", "--quiet", "HEAD^{commit}")
        return True
    except git.GitCommandError:  # no commits yet
        return False


def _unreadable(exc: git.GitCommandError) -> OpsledgerError:
    return unreadable_history(str(exc.stderr))


def unreadable_history(stderr: str) -> OpsledgerError:
    """The error (exit status 4) for a history git cannot read in full (a missing tree or
    blob: a damaged object store, a partial clone whose remote cannot be reached); the last
    line of what git said, or ``stderr`` as the reason."""
    from opsledger.errors import EXIT_SHALLOW, OpsledgerError

    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    reason = lines[-1].removeprefix("stderr: ").strip("'\" ") if lines else "git failed"
    return OpsledgerError(
        f"git cannot read this branch's history ({reason[:200]}); history rules and figures "
        "are never computed from part of it: repair the repository ('git fsck' shows what "
        "is wrong) and run again",
        status=EXIT_SHALLOW,
    )


def git_common_dir(path: Path) -> Path | None:
    """The repository's git directory shared by its worktrees (``.git``), or None outside
    git. Nothing in it can come from a pull request."""
    repo = _open(path)
    if repo is None:
        return None
    try:
        return Path(repo.common_dir).resolve()
    finally:
        repo.close()


def deletions(
    path: Path, pairs: list[tuple[str, str]], folders: tuple[str, ...]
) -> dict[str, list[str]]:
    """For each (commit, parent), the files under ``folders`` the commit deleted compared
    with that parent (renames never paired). One ``git diff-tree --stdin`` call."""
    found: dict[str, list[str]] = {}
    for commit, changes in name_status(path, pairs, folders).items():
        gone = [name for status, name in changes if status == "D"]
        if gone:
            found[commit] = gone
    return found


def name_status(
    path: Path, pairs: list[tuple[str, str]], folders: tuple[str, ...]
) -> dict[str, list[tuple[str, str]]]:
    """For each (commit, parent), the files under ``folders`` the commit changed compared
    with that parent, each as (status letter, path) (renames never paired). One
    ``git diff-tree --stdin`` call."""
    repo = _open(path)
    if repo is None or not pairs:
        return {}
    args = ["git", "diff-tree", "--stdin", "-r", "--no-renames", "-z", "--name-status"]
    try:
        with tempfile.TemporaryFile() as lines:
            lines.write("".join(f"{commit} {parent}\n" for commit, parent in pairs).encode())
            lines.seek(0)
            output = str(repo.git.execute([*args, "--", *folders], istream=lines))
    except git.GitCommandError as exc:
        raise _unreadable(exc) from None
    finally:
        repo.close()
    found: dict[str, list[tuple[str, str]]] = {}
    tokens = output.split("\0")
    commit, i = "", 0
    while i < len(tokens):
        token = tokens[i].strip("\n")
        if len(token) in (40, 64) and all(c in "0123456789abcdef" for c in token):
            commit, i = token, i + 1
        elif token and i + 1 < len(tokens):
            found.setdefault(commit, []).append((token[:1], tokens[i + 1]))
            i += 2
        else:
            i += 1
    return found


def read_blob(path: Path, sha: str) -> bytes | None:
    """One blob's content, or None (see :func:`read_blobs`)."""
    for _, data in read_blobs(path, [sha]):
        return data
    return None


def read_blobs(path: Path, shas: Iterable[str]) -> Iterator[tuple[str, bytes | None]]:
    """Each blob's content, in order, through one ``git cat-file --batch --buffer`` run: the
    ids are written by a thread while the answers are read, so git never waits for a
    round trip per blob. None for an id git has no blob for (a damaged repository, or an
    id that names something else).

    ``shas`` may be a generator that is still finding them (the history index's walk of
    the log): it runs in the writing thread, each id is sent as soon as it is found, and
    an exception it raises is raised here once the blobs sent before it are read."""
    listed = isinstance(shas, (list, tuple))
    if listed and not shas:
        return
    repo = git.Repo(path, search_parent_directories=True)
    try:
        handle = repo.git.execute(
            ["git", "cat-file", "--batch", "--buffer"], istream=subprocess.PIPE, as_process=True
        )
        proc = handle.proc
        assert proc is not None and proc.stdin is not None and proc.stdout is not None
        stdin, stdout = proc.stdin, proc.stdout
        sent: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        failed: list[BaseException] = []

        def feed() -> None:
            try:
                with contextlib.suppress(BrokenPipeError, ValueError):
                    for sha in shas:
                        stdin.write(sha.encode("ascii") + b"\n")
                        sent.put(sha)
                        if not listed:
                            stdin.flush()  # the next id may be a while coming
            except BaseException as exc:  # the generator's: raised by the reader
                failed.append(exc)
            finally:
                sent.put(None)
                with contextlib.suppress(BrokenPipeError, ValueError, OSError):
                    stdin.close()

        writer = threading.Thread(target=feed, daemon=True)
        writer.start()
        finished = False
        try:
            while (sha := sent.get()) is not None:
                header = stdout.readline().split()
                if len(header) != 3:  # "<id> missing", or git stopped
                    yield sha, None
                    continue
                data = stdout.read(int(header[2]))
                stdout.read(1)  # the newline after the content
                yield sha, data if header[1] == b"blob" else None
            finished = True
        finally:
            if not finished:  # the reader stopped early: git may be blocked writing
                proc.kill()
            writer.join()
            with contextlib.suppress(git.GitCommandError, OSError):
                handle.wait()
            for stream in (stdout, proc.stderr):
                if stream is not None:
                    stream.close()
        if failed:
            raise failed[0]
    finally:
        repo.close()


def files_mentioning(
    path: Path,
    words: set[str],
    folders: tuple[str, ...],
    *,
    whole: bool = True,
    icase: bool = False,
) -> set[str]:
    """Files under ``folders`` (working tree, tracked or not) containing any of ``words`` as a
    whole word (``whole``; else anywhere; in any case with ``icase``), relative to
    ``path``: one ``git grep`` call whatever the number of words, read from its standard
    input (one per line: a word across lines finds more files, never fewer), as no
    argument list holds a record's worth.

    git refuses a pattern much longer than 32,000 characters: a longer word is looked for
    by its first :data:`GREP_PREFIX` characters anywhere (a second call; every file holding
    the word holds them). A word no file git reads as text can hold is left out: one with a
    NUL or a lone surrogate (a record's text cannot hold either: the strict loader refuses
    them, and one spelled as an escape is found as an escape). Raises
    :class:`~opsledger.errors.OpsledgerError` when git grep fails: no match is never
    assumed."""
    words = {word for word in words if "\0" not in word and _utf8(word) is not None}
    short = {word for word in words if len(word) <= GREP_PREFIX}
    found = _grep(path, short, folders, whole=whole, icase=icase)
    long_words = {word[:GREP_PREFIX] for word in words - short}
    return found | _grep(path, long_words, folders, whole=False, icase=icase)


#: the longest word given to git grep whole (see :func:`files_mentioning`)
GREP_PREFIX = 16_384


def _grep(
    path: Path, words: set[str], folders: tuple[str, ...], *, whole: bool, icase: bool = False
) -> set[str]:
    from opsledger.errors import OpsledgerError

    if not words:
        return set()
    repo = _open(path)
    if repo is None:
        return set()
    try:
        top = Path(repo.working_tree_dir or path).resolve()
        prefix = Path(path).resolve().relative_to(top).as_posix()
        args = ["git", "grep", "-l", "-z", *(["-w"] if whole else []), "-F", "--untracked"]
        args.append("--no-exclude-standard")  # ignored files too: the walk reads them
        if icase:
            args.append("-i")
        scoped = [f"{'' if prefix == '.' else prefix + '/'}{f}" for f in folders]
        with tempfile.TemporaryFile() as patterns:
            patterns.write("".join(f"{word}\n" for word in sorted(words)).encode("utf-8"))
            patterns.seek(0)
            # every file as text: a .gitattributes marking records binary (``-diff``) must
            # not hide them from the search
            output = str(
                repo.git.execute([*args, "--text", "-f", "-", "--", *scoped], istream=patterns)
            )
    except git.GitCommandError as exc:
        if exc.status == 1:  # no match
            return set()
        lines = [line.strip() for line in str(exc.stderr).splitlines() if line.strip()]
        reason = lines[-1].removeprefix("stderr: ").strip("'\" ") if lines else "git failed"
        raise OpsledgerError(
            f"git grep failed ({reason[:200]}), so the records linked to the changed ones "
            "cannot be found; repair the repository, or run the full audit (without "
            "--changed-since)"
        ) from None
    finally:
        repo.close()
    strip = "" if prefix == "." else prefix + "/"
    return {n[len(strip) :] for n in output.split("\0") if n.startswith(strip) and n}


def _utf8(text: str) -> bytes | None:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return None


# --- approvals: who is committing, and a commit of one file ---


def author_identity(path: Path) -> tuple[str, str] | None:
    """The author (name, e-mail) git would record for a commit made in ``path``, or None
    when no e-mail address is set (environment or configuration): an address git would
    guess from the host name is never used. The name may be git's guess."""
    runner = git.Git(str(path))
    try:
        runner.execute(["git", "-c", "user.useConfigOnly=true", "var", "GIT_AUTHOR_IDENT"])
    except git.GitCommandError as exc:
        if "no email" in str(exc.stderr):
            return None
    except git.CommandError:  # no git at all
        return None
    try:
        ident = str(runner.execute(["git", "var", "GIT_AUTHOR_IDENT"]))
    except git.CommandError:
        return None
    name, _, rest = ident.strip().rpartition(" <")
    email = rest.split(">", 1)[0].strip()
    return (name, email) if email else None


def uncommitted(path: Path, file: Path) -> bool:
    """True when ``file`` is untracked, or differs from HEAD (staged or not)."""
    repo = _open(path)
    if repo is None:
        return True
    try:
        tracked = repo.git.ls_files("--", str(file)).strip()
        status = repo.git.status("--porcelain", "--", str(file)).strip()
    finally:
        repo.close()
    return not tracked or bool(status)


def commit_file(path: Path, file: Path, message: str) -> str:
    """Commit the working-tree content of ``file`` alone (other staged changes stay staged)
    with the current git identity (and its signing settings); return the new commit id.

    Raises :class:`~opsledger.errors.OpsledgerError` with git's reason when it refuses.
    """
    from opsledger.errors import OpsledgerError

    repo = _open(path)
    if repo is None:
        raise OpsledgerError(f"{path} is not in a git repository; run without --commit")
    try:
        repo.git.execute(["git", "commit", "-q", "-m", message, "--only", "--", str(file)])
        return str(repo.head.commit.hexsha)
    except git.GitCommandError as exc:
        lines = [line.strip() for line in str(exc.stderr).splitlines() if line.strip()]
        reason = lines[-1].removeprefix("stderr: ").strip("'\" ") if lines else "git failed"
        raise OpsledgerError(f"git commit failed: {reason}") from None
    finally:
        repo.close()


def private_dir(path: Path, name: str) -> Path | None:
    """A folder for opsledger's own files inside the git directory of the repository holding
    ``path`` (per worktree; never committed), one per governance root within that repository;
    None outside git."""
    try:
        output = git.Git(str(path)).execute(
            ["git", "rev-parse", "--git-path", name, "--show-prefix"],
            strip_newline_in_stdout=False,
        )
    except (git.CommandError, OSError):
        return None
    lines = str(output).split("\n")
    if not lines or not lines[0]:
        return None
    folder = Path(path, lines[0])  # --git-path is relative to ``path`` unless absolute
    prefix = lines[1].strip() if len(lines) > 1 else ""
    if prefix:
        folder = folder / ("sub-" + hashlib.sha256(prefix.encode()).hexdigest()[:16])
    return folder


# --- snapshots of one commit (auditor sampling and its verification) ---


def commit_exists(path: Path, sha: str) -> bool:
    """True when ``sha`` (a full commit id) names a commit git can read here."""
    repo = _open(path)
    if repo is None:
        return False
    try:
        found = str(repo.git.rev_parse("--verify", "--quiet", f"{sha}^{{commit}}")).strip()
        return found == sha
    except git.GitCommandError:
        return False
    finally:
        repo.close()


def dirty(path: Path, names: tuple[str, ...]) -> list[str]:
    """The files under ``names`` (relative to ``path``) that differ from HEAD: modified,
    staged, deleted or untracked."""
    repo = _open(path)
    if repo is None:
        return []
    try:
        output = str(repo.git.status("--porcelain", "-z", "--untracked-files=all", "--", *names))
    finally:
        repo.close()
    return sorted({entry[3:] for entry in output.split("\0") if len(entry) > 3})


def tree_blobs(path: Path, commit: str, names: tuple[str, ...]) -> dict[str, str]:
    """Every file under ``names`` in ``commit``: repository path -> blob id (one call)."""
    repo = _open(path)
    if repo is None:
        return {}
    try:
        output = str(repo.git.ls_tree("-r", "-z", "--full-tree", commit, "--", *names))
    except git.GitCommandError as exc:
        raise _unreadable(exc) from None
    finally:
        repo.close()
    found: dict[str, str] = {}
    for entry in output.split("\0"):
        meta, _, name = entry.partition("\t")
        parts = meta.split()
        if name and len(parts) == 3 and parts[1] == "blob":
            found[name] = parts[2]
    return found


def snapshot(path: Path, commit: str, dest: Path) -> None:
    """Check ``commit`` out at ``dest`` (a new folder) as a repository sharing ``path``'s
    objects (``git clone --shared``: nothing is copied and nothing in ``path`` changes),
    with HEAD detached at ``commit``: its history is the history as of that commit."""
    repo = _open(path)
    if repo is None:
        raise ValueError(f"{path} is not in a git repository")
    try:
        top = Path(repo.working_tree_dir or path)
    finally:
        repo.close()
    runner = git.Git(str(dest.parent))
    runner.execute(["git", "clone", "--quiet", "--shared", "--no-checkout", str(top), str(dest)])
    clone = git.Repo(dest)
    try:
        clone.git.execute(
            ["git", "-c", "advice.detachedHead=false", "checkout", "--quiet", "--detach", commit]
        )
    finally:
        clone.close()
