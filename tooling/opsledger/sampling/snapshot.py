"""The repository as it was at one commit, opened as a :class:`Workspace`.

A sample is always of a commit. Where the checkout is at that commit and its governed
files are unchanged, the repository itself is used (its history cache warm). Otherwise
(uncommitted edits, or ``sample verify`` of a bundle made at an earlier commit) the commit
is checked out into a temporary folder as a ``git clone --shared`` of the repository: the
same objects, nothing copied and nothing changed in the repository, HEAD detached at the
commit. Its history is then the branch's history as of that commit (the first-parent
chain from it), so population, selection, findings and provenance verdicts are those the
one audit computes there: ``sample verify`` re-derives, it never judges a second way.
(A ``git archive`` of the commit has no history, and a ``git worktree`` writes into the
repository's ``.git``.)
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from opsledger import gitio
from opsledger.model.layout import KINDS
from opsledger.model.policy import POLICY_FILE
from opsledger.workspace import Workspace

#: what a sample is derived from: a change here makes the checkout differ from its commit
GOVERNED = (*dict.fromkeys(k.folder.split("/")[0] for k in KINDS), "schemas", POLICY_FILE)


@dataclass(frozen=True)
class Opened:
    workspace: Workspace
    #: uncommitted files left out (the checkout was at the commit, but edited)
    left_out: tuple[str, ...] = ()


@contextmanager
def opened_at(root: Path, commit: str, as_of: str) -> Iterator[Opened]:
    """A Workspace of the repository at ``root`` as it was at ``commit``. History must
    have been found usable first (``Workspace(root).history_state``)."""
    changed = tuple(gitio.dirty(root, GOVERNED))
    if gitio.describe_head(root) == commit and not changed:
        yield Opened(Workspace(root, as_of=as_of))
        return
    here = changed if gitio.describe_head(root) == commit else ()
    with tempfile.TemporaryDirectory(prefix="opsledger-sample-") as folder:
        checkout = Path(folder) / "checkout"
        gitio.snapshot(root, commit, checkout)
        yield Opened(Workspace(checkout, as_of=as_of, history_cache=False), here)
