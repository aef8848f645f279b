"""Split a Markdown record into its YAML front matter and its body.

The front matter is the text between a first line ``---`` and the next line that is
exactly ``---``. The body is never parsed as YAML, so a body containing ``---`` and
``status: approved`` is just Markdown.
"""

from __future__ import annotations

from dataclasses import dataclass

from opsledger.loading.errors import LoadError


@dataclass(frozen=True)
class Split:
    front_matter: str
    body: str
    front_line: int  # file line of the front matter's first line (1-based)
    body_line: int  # file line of the body's first line (1-based)


def split_front_matter(text: str) -> Split:
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].rstrip("\r\n") != "---":
        raise LoadError(
            "no front matter: the file must start with a line '---'",
            1,
            1,
            hint="put the record's YAML fields between two '---' lines at the top",
        )
    for index in range(1, len(lines)):
        if lines[index].rstrip("\r\n") == "---":
            return Split(
                front_matter="".join(lines[1:index]),
                body="".join(lines[index + 1 :]),
                front_line=2,
                body_line=index + 2,
            )
    raise LoadError(
        "front matter is not closed",
        1,
        1,
        hint="end the YAML fields with a line '---'",
    )
