"""The CI configuration ``opsledger init`` writes, and the placeholder it starts with.

opsledger is installed in CI from its own repository, never from a package index: the
GitHub workflow uses the repository's Action (``uses: OWNER/REPO@REF``), the GitLab job and
the pre-commit hooks install from the same repository and revision. ``init --action-ref``
names them; without it they hold :data:`PLACEHOLDER`, which the README tells users to
replace and which :func:`placeholders` finds (REF-LINK reports each place) until they do.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from opsledger.errors import OpsledgerError

PLACEHOLDER_REPO = "OWNER/REPO"
PLACEHOLDER_REF = "REF"
PLACEHOLDER = f"{PLACEHOLDER_REPO}@{PLACEHOLDER_REF}"
#: GitHub's owner/repository names, an optional folder inside, and a git revision
_ACTION_REF = re.compile(
    r"(?P<owner>[A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))/(?P<repo>[A-Za-z0-9._-]{1,100})"
    r"(?P<path>(?:/[A-Za-z0-9._-]+)*)@(?P<ref>[A-Za-z0-9][A-Za-z0-9._/+-]{0,254})"
)
#: the CI files ``init`` may write, where the placeholder is looked for
CI_FILES = (
    ".github/workflows/*.yml",
    ".github/workflows/*.yaml",
    ".gitlab-ci.yml",
    ".pre-commit-config.yaml",
)
_MAX_BYTES = 1_000_000


@dataclass(frozen=True)
class ActionRef:
    """Where opsledger's Action lives: ``owner/repo[/path]@ref``."""

    owner: str
    repo: str
    path: str
    ref: str

    @property
    def uses(self) -> str:
        return f"{self.owner}/{self.repo}{self.path}@{self.ref}"

    @property
    def repository(self) -> str:
        """The git URL of the repository (pre-commit's ``repo``, GitLab's install)."""
        return f"https://github.com/{self.owner}/{self.repo}"


def parse_action_ref(text: str) -> ActionRef:
    """``OWNER/REPO@REF`` (or ``OWNER/REPO/PATH@REF``) as an :class:`ActionRef`; anything
    else is a usage error (exit status 2)."""
    match = _ACTION_REF.fullmatch(text)
    if match is None or ".." in text or text.endswith((".", "/")):
        raise OpsledgerError(
            f"--action-ref {text!r}: expected OWNER/REPO@REF, the GitHub repository holding "
            "opsledger and a tag, branch or commit (for example acme/opsledger@v0.1.0)"
        )
    return ActionRef(match["owner"], match["repo"], match["path"], match["ref"])


DEFAULT_REF = parse_action_ref(PLACEHOLDER)


def fill(template: str, ref: ActionRef) -> str:
    """A CI template with the placeholder replaced by ``ref`` (kept when it is the default)."""
    text = template.replace(f"uses: {PLACEHOLDER}", f"uses: {ref.uses}")
    text = text.replace(f"https://github.com/{PLACEHOLDER}", f"{ref.repository}@{ref.ref}")
    text = text.replace(f"https://github.com/{PLACEHOLDER_REPO}", ref.repository)
    return text.replace(f"rev: {PLACEHOLDER_REF}", f"rev: {ref.ref}")


@dataclass(frozen=True)
class Placeholder:
    path: str
    line: int
    column: int


def placeholders(root: Path) -> list[Placeholder]:
    """Every place a CI file of ``root`` still names :data:`PLACEHOLDER_REPO` (links,
    oversized and unreadable files are skipped unread: they are not the ones init wrote)."""
    found: list[Placeholder] = []
    for pattern in CI_FILES:
        for path in sorted(root.glob(pattern)):
            rel = path.relative_to(root).as_posix()
            try:
                if os.path.islink(path) or not path.is_file():
                    continue
                if path.stat().st_size > _MAX_BYTES:
                    continue
                text = path.read_bytes().decode("utf-8", "replace")
            except OSError:
                continue
            for number, content in enumerate(text.splitlines(), 1):
                column = content.find(PLACEHOLDER_REPO)
                if column >= 0 and not content.lstrip().startswith("#"):
                    found.append(Placeholder(rel, number, column + 1))
    return found
