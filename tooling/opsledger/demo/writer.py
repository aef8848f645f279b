"""The ``git fast-import`` stream for the planned commits.

One stream, one ``git fast-import`` run: author and committer are the person doing the work,
dates are UTC (``+0000``) epoch seconds, file contents are inline. A file whose content did
not change is left out of its commit, and a commit left with no change is skipped, so the
history never holds empty commits. The stream is produced lazily, one commit per chunk, so
git imports while later commits are still being rendered. Identical inputs give identical
bytes, hence identical commit IDs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from opsledger.demo.history import Commit

BRANCH = b"refs/heads/main"


def _data(payload: bytes) -> bytes:
    return b"data %d\n%s\n" % (len(payload), payload)


class Stream:
    """The fast-import stream of ``commits``; iterate it once, then read ``written``."""

    def __init__(
        self, commits: list[Commit], progress: Callable[[int, int], None] | None = None
    ) -> None:
        self.commits = commits
        self.progress = progress
        self.written = 0

    def __iter__(self) -> Iterator[bytes]:
        current: dict[str, str] = {}
        total = len(self.commits)
        for number, commit in enumerate(self.commits, start=1):
            body: list[bytes] = []
            for edit in commit.edits:
                content = edit.content()
                if content is None:
                    if edit.path in current:
                        del current[edit.path]
                        body.append(b"D %s\n" % edit.path.encode())
                    continue
                if current.get(edit.path) == content:
                    continue
                current[edit.path] = content
                body.append(b"M 100644 inline %s\n" % edit.path.encode() + _data(content.encode()))
            if body:
                self.written += 1
                ident = commit.author.git_ident.encode()
                stamp = b"%d +0000" % int(commit.at.timestamp())
                head = b"commit %s\nauthor %s %s\ncommitter %s %s\n" % (
                    BRANCH,
                    ident,
                    stamp,
                    ident,
                    stamp,
                )
                yield head + _data(commit.message.encode()) + b"".join(body) + b"\n"
            if self.progress is not None and (number % 500 == 0 or number == total):
                self.progress(number, total)
        yield b"done\n"

    def to_bytes(self) -> bytes:
        """The whole stream at once."""
        return b"".join(self)
