"""Links between generated pages: the relative path of a Markdown link is exactly what
``posixpath.relpath`` gives, for page paths and for paths no page has (``..``, ``.``,
absolute, a file name that is also a folder of the linking page)."""

from __future__ import annotations

import posixpath

from hypothesis import given
from hypothesis import strategies as st

from opsledger.site.links import Links, md_rel

PARTS = st.sampled_from(["incidents", "pages", "changes", "x.md", "INC-1.md", ".", "..", ""])
PATHS = st.builds(
    lambda absolute, parts: ("/" if absolute else "") + "/".join(parts),
    st.booleans(),
    st.lists(PARTS, min_size=1, max_size=4),
)


@given(PATHS, PATHS)
def test_md_rel_is_relpath(source: str, target: str) -> None:
    here = posixpath.dirname(source) or "."
    try:
        expected = posixpath.relpath(target, here)
    except ValueError:  # relpath refuses an empty target; so does md_rel
        expected = None
    if expected is None:
        try:
            md_rel(source, target)
        except ValueError:
            return
        raise AssertionError(f"md_rel({source!r}, {target!r}) did not refuse")
    assert md_rel(source, target) == expected


@given(PATHS, PATHS, st.booleans())
def test_href_is_relpath_of_the_urls(source: str, target: str, directory_urls: bool) -> None:
    """The raw-HTML link between two pages: ``relpath`` of their URLs (a folder URL keeps
    its slash), worked out as :func:`md_rel` works it out."""
    links = Links(directory_urls)
    here = links.url(source)
    here = here.rstrip("/") if here.endswith("/") or not here else posixpath.dirname(here)
    goal = links.url(target)
    try:
        expected = posixpath.relpath(goal or ".", here or ".")
    except ValueError:
        return
    if (goal.endswith("/") or not goal) and not expected.endswith("/"):
        expected += "/"
    assert links.href(source, target) == expected


def test_record_links_between_folders() -> None:
    links = Links()
    page = links.add_record("incident", "INC-2026-0001", "records/incidents/INC-2026-0001.yaml")
    assert links.md_rel("incidents/INC-2026-0002.md", page) == "INC-2026-0001.md"
    assert links.md_rel("incidents/pages/2.md", page) == "../INC-2026-0001.md"
    assert links.md_rel("index.md", page) == "incidents/INC-2026-0001.md"
    assert links.md_rel("changes/CHG-1.md", page) == "../incidents/INC-2026-0001.md"
    assert links.record("changes/CHG-1.md", "INC-2026-0001") == (
        "[INC-2026-0001](../incidents/INC-2026-0001.md)"
    )
