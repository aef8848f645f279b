"""Git identities are written by whoever makes a commit, in any bytes: every output that
names a person (finding messages, ``history --format json``) shows
the same inert text, valid Unicode (a lone surrogate from bytes that are not UTF-8 makes a
JSON text strict parsers refuse)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from conftest import ACKED, AS_OF, InvokeCli, Repo, git, git_init

RAW = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff\ud800-\udfff]")


def _commit_as(root: Path, author: bytes) -> None:
    """Commit what is staged with ``author`` (raw bytes, not necessarily UTF-8) as author
    and committer, written as a commit object directly."""
    git(root, "add", "-A")
    tree = git(root, "write-tree").strip()
    parent = git(root, "rev-parse", "HEAD").strip()
    stamp = b"1773133200 +0000"  # 2026-03-10T09:00:00Z
    body = b"tree %s\nparent %s\nauthor %s %s\ncommitter %s %s\n\nedited\n" % (
        tree.encode(),
        parent.encode(),
        author,
        stamp,
        author,
        stamp,
    )
    sha = (
        subprocess.run(
            ["git", "hash-object", "-t", "commit", "-w", "--stdin", "--literally"],
            cwd=root,
            input=body,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .strip()
    )
    git(root, "update-ref", "HEAD", sha)


@pytest.mark.parametrize(
    "author",
    [
        b"Mal\x1b]0;PWN\x07\x1b[31mlory\xe2\x80\xae <m@x.io>",  # OSC, BEL, SGR, U+202E
        b"Bad\xffName <bad\xfe@x.io>",  # bytes that are not UTF-8: lone surrogates
    ],
    ids=["escapes", "not-utf-8"],
)
def test_git_identities_are_inert_and_valid_unicode_in_every_json(
    repo: Repo, cli: InvokeCli, author: bytes
) -> None:
    """A closed incident edited by a commit whose author is hostile: the finding naming
    that person, ``history --format json`` and the site's findings download hold the
    identity as visible escapes, never a control character or a lone surrogate (a JSON
    text with one is refused by strict parsers: it is no valid Unicode)."""
    git_init(repo.root)
    closed = ACKED.replace("status: open", "status: closed") + (
        "mitigated_at: 2026-03-04T10:00:00Z\nresolved_at: 2026-03-04T11:00:00Z\n"
        "closed_at: 2026-03-04T12:00:00Z\nresolution: Raised the pool size and restarted.\n"
    )
    repo.write("records/incidents/INC-2026-0001.yaml", closed, dedent=False)
    git(repo.root, "add", "-A")
    git(repo.root, "commit", "-qm", "closed", date="2026-03-04T12:05:00Z")
    repo.write("records/incidents/INC-2026-0001.yaml", closed + "category: db\n", dedent=False)
    _commit_as(repo.root, author)
    audit = cli("audit", "--repo", repo.root, "--as-of", AS_OF, "--format", "json")
    history = cli("history", "--repo", repo.root, "INC-2026-0001", "--format", "json")
    for out in (audit.out, history.out):
        document = json.loads(out)
        text = json.dumps(document, ensure_ascii=False)
        text.encode("utf-8")  # no lone surrogate: strict
        assert not RAW.search(text), text
    [edit] = [f for f in json.loads(audit.out)["findings"] if f["rule"] == "GIT-AFTER-CLOSE"]
    assert "\\x1b" in edit["message"] or "\\udcff" in edit["message"], edit["message"]
