"""``site serve`` makes each build after the first from what it carries (unchanged files'
records, what was made from them: :mod:`opsledger.site.carry`). Property: after any
sequence of edits to a demo repository's records, every page, download and the home
page generated with the carry are exactly those generated afresh, without it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from opsledger.demo import generate_demo
from opsledger.site.carry import Carry
from opsledger.site.data import collect
from opsledger.site.generate import Site, generate

from conftest import git

#: the moments the site is built as of (``site serve`` without ``--as-of`` builds as of
#: now): verdicts still pending at one are missed or met at the next, with no file edited
MOMENTS = (
    "2026-11-01T00:00:00Z",  # after the last commit
    "2026-10-15T14:30:00Z",  # the last incident minutes old
    "2026-10-16T12:00:00Z",
    "2026-10-25T00:00:00Z",
)
ID = re.compile(r"\b(?:INC|CHG|PIR|PRB|RB)-\d{4}(?:-\d{4})?\b")


def demo_files(root: Path, seed: int, records: int, commits: int) -> dict[str, bytes]:
    """A demo generated at ``root``: each record file's path and bytes as generated."""
    generate_demo(root, seed=seed, records=records, commits=commits)
    files = sorted(
        p for folder in ("records", "runbooks") for p in (root / folder).rglob("*") if p.is_file()
    )
    return {str(p.relative_to(root)): p.read_bytes() for p in files}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, bytes]]:
    root = tmp_path_factory.mktemp("incremental") / "gov"
    return root, demo_files(root, seed=5, records=160, commits=400)


def _ids(originals: dict[str, bytes]) -> list[str]:
    return sorted({m.group() for text in originals.values() for m in ID.finditer(text.decode())})


def _edit(text: str, op: int, n: int, ids: list[str]) -> str | None:
    """One edit of a record's text (None: the file is deleted)."""
    other = ids[n % len(ids)]
    lines = text.split("\n")
    if op == 0:  # the title
        return re.sub(r"(?m)^title: .*$", f"title: Edited {n}", text, count=1)
    if op == 1:  # the status
        status = ("open", "resolved", "closed", "implemented", "approved", "draft")[n % 6]
        return re.sub(r"(?m)^status: .*$", f"status: {status}", text, count=1)
    if op == 2:  # the priority, or the risk
        text = re.sub(r"(?m)^priority: .*$", f"priority: P{n % 4 + 1}", text, count=1)
        return re.sub(r"(?m)^risk: .*$", ("risk: high", "risk: low")[n % 2], text, count=1)
    if op == 3:  # a time dropped
        stamps = [i for i, line in enumerate(lines) if re.search(r"_at: |\bat: ", line)]
        if stamps:
            del lines[stamps[n % len(stamps)]]
        return "\n".join(lines)
    if op == 4:  # a time moved
        return re.sub(r"T(\d\d):", lambda m: f"T{(int(m.group(1)) + n) % 24:02d}:", text, count=2)
    if op == 5:  # a reference pointed elsewhere (not the record's own ID)
        refs = [i for i, line in enumerate(lines) if ID.search(line) and not line.startswith("id:")]
        if refs:
            at = refs[n % len(refs)]
            lines[at] = ID.sub(other, lines[at], count=1)
        return "\n".join(lines)
    if op == 6:  # another record's ID held
        return re.sub(r"(?m)^id: .*$", f"id: {other}", text, count=1)
    if op == 7:  # YAML broken
        return text.replace("\n", "\n: [", 1)
    if op == 8:  # a field no other record has (the downloads' columns change)
        return text.replace("\n", f"\nx_note_{n % 3}: added\n", 1)
    if op == 9:  # an approval, review or notification dropped
        starts = [i for i, line in enumerate(lines) if line.startswith("- by: ")]
        if starts:
            del lines[starts[n % len(starts)]]
        return "\n".join(lines)
    return None  # deleted


def _named(rel: str, text: str, originals: dict[str, bytes]) -> str:
    """The file of the first record ``text`` names (``rel`` itself when none)."""
    own = re.search(r"(?m)^id: (.*)$", text)
    for found in ID.finditer(text):
        if own is None or found.group() != own.group(1).strip():
            for name in originals:
                if name.rsplit("/", 1)[-1].startswith(found.group()):
                    return name
    return rel


def apply_edit(
    root: Path, originals: dict[str, bytes], ids: list[str], edit: tuple[int, int, int, int]
) -> None:
    """One drawn edit (folder, file, which edit, its choice) made to the repository at
    ``root``: a file's text edited or deleted (a deleted one comes back as it was), or the
    working tree committed."""
    folder, which, op, n = edit
    names = sorted(name for name in originals if name.startswith(FOLDERS[folder]))
    rel = names[which % len(names)]
    path = root / rel
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if op == 12:  # the working tree committed as it is (audit trails, blobs change)
        git(root, "add", "-A")
        git(root, "commit", "-qm", "edits", "--allow-empty", date=COMMITTED)
        return
    if op == 13:  # another record's window and services taken: changes collide, or no more
        donor, text = originals[names[n % len(names)]].decode(), text or originals[rel].decode()
        for pattern in (r"(?m)^  start: .*$", r"(?m)^  end: .*$", r"(?m)^services:\n(- .*\n)+"):
            found = re.search(pattern, donor)
            if found is not None:
                text = re.sub(pattern, found.group().replace("\\", "\\\\"), text, count=1)
        path.write_text(text, encoding="utf-8")
        return
    if op == 11:  # the first record this one names is edited instead: its times
        rel, op = _named(rel, text, originals), 4
        path = root / rel
        text = path.read_text(encoding="utf-8") if path.exists() else ""
    edited = _edit(text, op, n, ids) if text else originals[rel].decode()
    if edited is None:
        path.unlink()
    else:
        path.write_text(edited, encoding="utf-8")


def _site(site: Site) -> tuple[object, ...]:
    return (
        dict(site.pages.held()),
        dict(site.records.held()),
        dict(site.assets.held()),
        site.home,
    )


#: the record folders: a file is drawn from one of them, each as likely (a demo holds
#: twenty changes for each PIR; an edit to a PIR is what changes its incident's verdicts)
FOLDERS = ("records/incidents/", "records/changes/", "records/pirs/", "runbooks/")
EDITS = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=len(FOLDERS) - 1),  # which folder
        st.integers(min_value=0, max_value=10_000),  # which file in it
        st.integers(min_value=0, max_value=13),  # which edit (12: a commit)
        st.integers(min_value=0, max_value=10_000),  # its choice
        st.integers(min_value=0, max_value=len(MOMENTS) - 1),  # as of when it is built
    ),
    min_size=1,
    max_size=5,
)
#: each edit of a file of each folder at least once
EVERY_EDIT = [(folder, 3 * op, op, op + 1, 0) for folder in range(len(FOLDERS)) for op in range(14)]
#: when the edits are committed: after the demo's last commit
COMMITTED = "2026-10-31T23:59:30Z"


@pytest.mark.slow
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(edits=EDITS)
@example(edits=EVERY_EDIT[:28])
@example(edits=EVERY_EDIT[28:])
@example(edits=[(2, which, 11, 1, 0) for which in range(4)])  # PIRs' incidents' times
@example(edits=[(0, 1, 0, 1, 0), (0, 1, 12, 0, 0), (0, 1, 0, 2, 0), (0, 1, 12, 0, 3)])  # commits
@example(edits=[(0, 5, 8, 0, 0), (0, 5, 10, 0, 0), (0, 5, 0, 0, 0)])  # a column, gone, back
@example(edits=[(3, 0, 3, 0, when) for when in (1, 2, 3, 0)])  # no field edited, time passes
@example(edits=[(1, 3, 13, 4, 0), (1, 5, 13, 4, 0), (1, 3, 10, 0, 0)])  # changes collide, then not
def test_a_carried_build_generates_the_fresh_site(
    demo: tuple[Path, dict[str, bytes]], edits: list[tuple[int, int, int, int, int]]
) -> None:
    root, originals = demo
    ids = _ids(originals)
    carry = Carry()
    try:
        generate(collect(root, MOMENTS[0], carry=carry))
        for folder, which, op, n, when in edits:
            apply_edit(root, originals, ids, (folder, which, op, n))
            carried = _site(generate(collect(root, MOMENTS[when], carry=carry)))
            fresh = _site(generate(collect(root, MOMENTS[when])))
            assert carried == fresh
    finally:
        for rel, data in originals.items():
            (root / rel).write_bytes(data)


def test_carry_reuses_what_one_record_made_only_under_equal_keys() -> None:
    """What :meth:`Carry.made` gives back, and when it makes it again."""
    made: list[str] = []

    def make(record: object) -> str:
        made.append(str(record))
        return f"page of {record}"

    carry, one, other = Carry(), ["one"], ["other"]
    carry.turn("setting")
    assert carry.made("p", one, 1, make) == "page of ['one']"
    carry.made("p", other, 1, make)
    carry.turn("setting")  # the next build, under the same setting
    assert carry.made("p", one, 1, make) == "page of ['one']"
    assert made == ["['one']", "['other']"]  # kept: not made again
    carry.made("p", one, 2, make)  # another key: made again
    carry.made("q", one, 1, make)  # another product: made on its own
    carry.made("p", ["one"], 1, make)  # an equal but other record object: made again
    assert made == ["['one']", "['other']", "['one']", "['one']", "['one']"]
    carry.turn("setting")  # 'other' was not used by the build before: dropped
    carry.made("p", other, 1, make)
    assert made[-1] == "['other']" and len(made) == 6
    carry.turn("another setting")  # nothing is kept across settings
    carry.made("p", other, 1, make)
    assert len(made) == 7
