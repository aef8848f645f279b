"""The one module of opsledger that talks to git (through GitPython).

Everything else in the package works on plain data; functions here create repositories,
write history and read it back. Keep each function small and typed.
"""

from __future__ import annotations

import contextlib
import hashlib
import subprocess
from collections.abc import Iterable
from pathlib import Path

import git


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


def _open(path: Path) -> git.Repo | None:
    try:
        return git.Repo(path, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return None


def describe_head(path: Path) -> str | None:
    """The commit ``HEAD`` points at, or None outside git or before the first commit."""
    repo = _open(path)
    if repo is None:
        return None
    try:
        return str(repo.head.commit.hexsha)
    except ValueError:  # no commits yet
        return None
    finally:
        repo.close()


def changed_paths(path: Path, ref: str) -> list[str]:
    """Files changed since the merge base of ``ref`` and HEAD: committed, staged, unstaged
    and untracked, relative to ``path`` (the governance repository's root).

    Raises :class:`~opsledger.errors.OpsledgerError` with what to do for an unknown ref, a
    shallow clone or a folder outside git.
    """
    from opsledger.errors import EXIT_SHALLOW, OpsledgerError

    repo = _open(path)
    if repo is None:
        raise OpsledgerError(f"--changed-since needs a git repository; {path} is not in one")
    try:
        if repo.git.rev_parse("--is-shallow-repository").strip() == "true":
            raise OpsledgerError(f"--changed-since: {SHALLOW_HELP}", status=EXIT_SHALLOW)
        try:
            base = repo.git.merge_base(ref, "HEAD").strip()
        except git.GitCommandError:
            raise OpsledgerError(
                f"--changed-since: unknown ref {ref!r} or no common history with HEAD; fetch "
                f"it first (for example 'git fetch origin main') and pass origin/main"
            ) from None
        top = Path(repo.working_tree_dir or path)
        prefix = Path(path).resolve().relative_to(top.resolve()).as_posix()
        names = repo.git.diff("--name-only", "-z", "--no-renames", base, "--", ".").split("\0")
        names += repo.git.ls_files("--others", "--exclude-standard", "-z").split("\0")
    finally:
        repo.close()
    strip = "" if prefix == "." else prefix + "/"
    return sorted({n[len(strip) :] for n in names if n and n.startswith(strip)})


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

LOG_FIELDS = ("%H", "%P", "%an", "%ae", "%at", "%cn", "%ce", "%ct", "%G?")


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


def commit_graph(path: Path, exclude: str | None = None) -> list[tuple[str, list[str]]]:
    """Every commit reachable from HEAD (and not from ``exclude``) with its parents,
    children before parents."""
    repo = _open(path)
    if repo is None:
        return []
    try:
        limit = ["^" + exclude] if exclude else []
        output = str(repo.git.rev_list("--parents", "--topo-order", "HEAD", *limit))
    except git.GitCommandError:  # no commits yet
        return []
    finally:
        repo.close()
    graph = []
    for line in output.splitlines():
        shas = line.split()
        if shas:
            graph.append((shas[0], shas[1:]))
    return graph


def raw_log(path: Path, folders: tuple[str, ...], exclude: str | None = None) -> str:
    """One ``git log`` over every commit reachable from HEAD that touched ``folders``:
    NUL-separated commit fields (``LOG_FIELDS``, the first prefixed with U+001E) followed by
    the commit's raw changes (``-z --raw --no-abbrev``, renames detected), oldest first.
    Merge commits show their changes against the first parent (what landed). With
    ``exclude``, only commits not reachable from it."""
    repo = _open(path)
    if repo is None:
        return ""
    fmt = "%x1e" + "%x00".join(LOG_FIELDS) + "%x00"
    try:
        return str(
            repo.git.log(
                "--topo-order",
                "--reverse",
                "--full-history",
                "--diff-merges=first-parent",
                "-z",
                "--raw",
                "--no-abbrev",
                "-M",
                f"--format={fmt}",
                "HEAD",
                *(["^" + exclude] if exclude else []),
                "--",
                *folders,
            )
        )
    except git.GitCommandError:  # no commits yet
        return ""
    finally:
        repo.close()


class BlobReader:
    """Blob contents through one persistent ``git cat-file --batch`` process."""

    def __init__(self, path: Path) -> None:
        self._repo = git.Repo(path, search_parent_directories=True)

    def read(self, sha: str) -> bytes:
        _, _, _, data = self._repo.git.get_object_data(sha)
        return bytes(data)

    def close(self) -> None:
        self._repo.close()

    def __enter__(self) -> BlobReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def files_mentioning(path: Path, words: set[str], folders: tuple[str, ...]) -> set[str]:
    """Files under ``folders`` (working tree, tracked or not) containing any of ``words`` as a
    whole word, relative to ``path``. One ``git grep`` call, whatever the number of words."""
    if not words:
        return set()
    repo = _open(path)
    if repo is None:
        return set()
    try:
        top = Path(repo.working_tree_dir or path).resolve()
        prefix = Path(path).resolve().relative_to(top).as_posix()
        args = ["-l", "-z", "-w", "-F", "--untracked", "-I"]
        for word in sorted(words):
            args += ["-e", word]
        scoped = [f"{'' if prefix == '.' else prefix + '/'}{f}" for f in folders]
        output = str(repo.git.grep(*args, "--", *scoped))
    except git.GitCommandError:  # no match: git grep exits 1
        return set()
    finally:
        repo.close()
    strip = "" if prefix == "." else prefix + "/"
    return {n[len(strip) :] for n in output.split("\0") if n.startswith(strip) and n}


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
