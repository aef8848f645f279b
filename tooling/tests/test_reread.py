"""``site serve`` loads again only the record files whose bytes changed
(:class:`opsledger.model.ledger.Reread`): after any sequence of edits, the Ledger is
equal to a fresh load's, field by field, and an unchanged file's record is the same object.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opsledger import parsecache
from opsledger.loading import Limits
from opsledger.model.ledger import Ledger, Reread, load_ledger

from conftest import ACKED, RUNBOOK, SERVICES, defaults_dir, git, git_init

FILES = (
    "records/incidents/INC-2026-0001.yaml",
    "records/incidents/INC-2026-0002.yaml",
    "runbooks/RB-0003.md",
)
TEXTS = {
    FILES[0]: ACKED,
    FILES[1]: ACKED.replace("INC-2026-0001", "INC-2026-0002").replace("P3", "P2"),
    FILES[2]: RUNBOOK,
}


def _variant(path: str, which: int) -> str | bytes | None:
    """The file at ``path`` in one of several states: as written, edited, broken in its
    YAML, against its schema, holding another file's ID, holding no ID, gone, not UTF-8."""
    text = TEXTS[path]
    return [
        text,
        text.replace("title: ", "title: Edited "),
        text.replace("title: ", "title: [unclosed "),
        text.replace("P3", "P9").replace("P2", "P9").replace("owner: ", "owner: 7"),
        text.replace("INC-2026-0002", "INC-2026-0001").replace("RB-0003", "INC-2026-0001"),
        text.replace("id: ", "ref: "),
        None,
        b"\xff\xfe" + text.encode(),
    ][which]


def _state(ledger: Ledger) -> tuple[object, ...]:
    return (
        ledger.incidents,
        ledger.runbooks,
        ledger.problems,
        ledger.ids,
        ledger.strays,
        ledger.files,
        ledger.known,
    )


def _repo(root: Path, with_git: bool) -> None:
    shutil.copytree(defaults_dir() / "schemas", root / "schemas")
    shutil.copy(defaults_dir() / "policy.yaml", root / "policy.yaml")
    (root / "records/incidents").mkdir(parents=True)
    (root / "runbooks").mkdir()
    (root / "records/services.yaml").write_text(SERVICES, encoding="utf-8")
    for path, text in TEXTS.items():
        (root / path).write_text(text, encoding="utf-8")
    if with_git:  # with a repository key, the parse cache is used (and kept in use)
        git_init(root)
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", "records")


@settings(max_examples=40, deadline=None)
@given(
    with_git=st.booleans(),
    edits=st.lists(
        st.tuples(st.sampled_from(FILES), st.integers(min_value=0, max_value=7)),
        min_size=1,
        max_size=6,
    ),
)
def test_a_reread_load_is_a_fresh_load(with_git: bool, edits: list[tuple[str, int]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "gov"
        _repo(root, with_git)
        reread = Reread()
        before = load_ledger(root, reread=reread)
        for path, which in edits:
            content = _variant(path, which)
            target = root / path
            if content is None:
                target.unlink(missing_ok=True)
            elif isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content, encoding="utf-8")
            again = load_ledger(root, reread=reread)
            fresh = load_ledger(root)
            assert _state(again) == _state(fresh)
            for kept in again.records():  # the same bytes: the same record object
                old = before.get(kept.id)
                if old is not None and old.path == kept.path and old.doc == kept.doc:
                    assert old is kept
            before = again


def test_other_schemas_or_limits_read_every_file_again(tmp_path: Path) -> None:
    root = tmp_path / "gov"
    _repo(root, False)
    long = ACKED.replace("customers.", "customers." + " More detail." * 80)
    (root / FILES[0]).write_text(long, encoding="utf-8")
    assert len(long) > 1024
    reread = Reread()
    first = load_ledger(root, reread=reread)
    assert (
        load_ledger(root, reread=reread).incidents["INC-2026-0001"]
        is (first.incidents["INC-2026-0001"])
    )
    schema = root / "schemas/incident.schema.json"
    schema.write_text(schema.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    other = load_ledger(root, reread=reread)
    assert other.incidents["INC-2026-0001"] is not first.incidents["INC-2026-0001"]
    policy = root / "policy.yaml"
    text = policy.read_text(encoding="utf-8")
    assert "max_file_bytes: 1048576" in text
    policy.write_text(text.replace("max_file_bytes: 1048576", "max_file_bytes: 1024"))
    small = load_ledger(root, reread=reread)
    assert _state(small) == _state(load_ledger(root))
    assert "INC-2026-0001" not in small.incidents  # over the new limit: not loaded


def test_a_warm_reread_parses_what_changed_without_the_cache_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first load reads the parse cache file; the next ones (every file's parse at
    hand) parse the few files that changed without opening it, until the schemas or
    the limits change."""
    root = tmp_path / "gov"
    _repo(root, True)
    opened: list[Path] = []
    real = parsecache.open_cache

    def counted(at: Path, limits: Limits) -> parsecache.ParseCache | None:
        opened.append(at)
        return real(at, limits)

    monkeypatch.setattr(parsecache, "open_cache", counted)
    reread = Reread()
    load_ledger(root, reread=reread)
    assert len(opened) == 1
    (root / FILES[0]).write_text(TEXTS[FILES[0]].replace("title: ", "title: New "))
    again = load_ledger(root, reread=reread)
    assert len(opened) == 1 and (again.incidents["INC-2026-0001"].title or "").startswith("New ")
    assert _state(again) == _state(load_ledger(root))
    schema = root / "schemas/incident.schema.json"
    schema.write_text(schema.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    load_ledger(root, reread=reread)
    assert len(opened) == 3  # the fresh load above, and this one: every file read again
