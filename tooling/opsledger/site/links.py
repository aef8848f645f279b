"""Where each generated page lives, and links between pages.

Page paths are built from record IDs only when the ID is a plain ASCII name; any other ID
(a record failing its schema may claim ``../../x``) gets a path made from a hash of its
file, so an output path always stays inside its folder.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from dataclasses import dataclass, field
from functools import lru_cache

from opsledger.text.escape import attr, html_text, md

FOLDERS = {
    "incident": "incidents",
    "change": "changes",
    "pir": "pirs",
    "runbook": "runbooks",
    "problem": "problems",
}
_SAFE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}")
_RESERVED = {"index", "calendar"}


def safe_name(name: str, source: str) -> str:
    """``name`` when it is a plain file name, else a stable name derived from ``source``."""
    if _SAFE.fullmatch(name) and name.casefold() not in _RESERVED:
        return name
    return "x-" + hashlib.sha1(source.encode("utf-8", "surrogatepass")).hexdigest()[:12]


def md_rel(source: str, target: str) -> str:
    """``posixpath.relpath(target, dirname(source) or ".")`` for page paths, with the
    folder-to-folder part worked out once per pair of folders (``relpath`` makes both paths
    absolute first, asking the operating system for the working folder: every link of tens
    of thousands of pages, measured at a tenth of generating them). The file name is
    appended to the folders' relative path; where that could differ from ``relpath`` (an
    absolute path, ``..``, a name that is a folder of ``source`` or not a plain name)
    ``relpath`` itself answers."""
    return _relative(posixpath.dirname(source), target)


def _relative(here: str, target: str) -> str:
    """``posixpath.relpath(target, here or ".")``, as :func:`md_rel` works it out."""
    folder, _, name = target.rpartition("/")
    if (
        name in ("", ".")
        or ".." in target  # above the working folder, relpath's answer depends on it
        or ".." in here
        or target[:1] == "/"
        or here[:1] == "/"
        or name in here.split("/")
    ):
        return posixpath.relpath(target, here or ".")
    up = _folders(here, folder)
    return name if up == "." else f"{up}/{name}"


@lru_cache(maxsize=1 << 12)
def _folders(here: str, there: str) -> str:
    return posixpath.relpath(there or ".", here or ".")


@dataclass
class Links:
    """Page paths (``incidents/INC-2026-0001.md``) by record ID and service ID."""

    directory_urls: bool = False
    records: dict[str, str] = field(default_factory=dict)
    services: dict[str, str] = field(default_factory=dict)
    #: files that could not be read as records (repository path -> page)
    problems: dict[str, str] = field(default_factory=dict)

    def add_record(self, kind: str, record_id: str, path: str) -> str:
        page = f"{FOLDERS[kind]}/{safe_name(record_id, path)}.md"
        self.records.setdefault(record_id, page)
        return page

    def add_service(self, service_id: str) -> str:
        page = f"services/{safe_name(service_id, 'service:' + service_id)}.md"
        self.services.setdefault(service_id, page)
        return page

    def add_problem(self, path: str) -> str:
        stem = path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
        page = f"unreadable/{safe_name(stem, 'file:' + path)}.md"
        if page in self.problems.values():
            page = f"unreadable/{safe_name('', 'file:' + path)}.md"
        self.problems.setdefault(path, page)
        return page

    def url(self, page: str) -> str:
        """The URL path of a page's source path, as MkDocs makes it."""
        if not self.directory_urls:
            return page[:-3] + ".html" if page.endswith(".md") else page
        if page.endswith("index.md"):
            return page[: -len("index.md")]
        return page[:-3] + "/" if page.endswith(".md") else page

    def href(self, source: str, target: str) -> str:
        """A relative URL from the page ``source`` to ``target`` (for raw HTML)."""
        here = self.url(source)
        here = here.rstrip("/") if here.endswith("/") or not here else posixpath.dirname(here)
        goal = self.url(target)
        rel = _relative(here, goal or ".")
        if (goal.endswith("/") or not goal) and not rel.endswith("/"):
            rel += "/"
        return rel

    def md_rel(self, source: str, target: str) -> str:
        """A relative ``.md`` path for a Markdown link (MkDocs turns it into a URL)."""
        return md_rel(source, target)

    def record(self, source: str, record_id: str | None, label: str | None = None) -> str:
        """A Markdown link to a record's page, or the escaped ID when it has none."""
        if not record_id:
            return ""
        text = md(label if label is not None else record_id)
        target = self.records.get(record_id)
        if target is None:
            return text
        return f"[{text}]({self.md_rel(source, target)})"

    def service(self, source: str, service_id: str | None) -> str:
        if not service_id:
            return ""
        target = self.services.get(service_id)
        if target is None:
            return md(service_id)
        return f"[{md(service_id)}]({self.md_rel(source, target)})"

    def page(self, source: str, target: str, label: str) -> str:
        return f"[{md(label)}]({self.md_rel(source, target)})"

    def html_record(self, source: str, record_id: str, label: str) -> str:
        """An ``<a>`` to a record's page for raw-HTML blocks (escaped text otherwise)."""
        target = self.records.get(record_id)
        if target is None:
            return html_text(label)
        return f'<a href="{attr(self.href(source, target))}">{html_text(label)}</a>'
