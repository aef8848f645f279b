"""Deterministic YAML and front-matter output for generated records.

``yaml.safe_dump`` with insertion order kept, no line folding, no anchors or aliases (a list
object reused in two places is written twice) and no tags. Strings that a YAML 1.1 or 1.2
reader could take for something else (dates, timestamps, numbers, booleans, null, ``12:30``,
``0o17``, ``1e3``, ``y``/``n``...) are double-quoted; multi-line strings use literal blocks.
The libyaml emitter is used when available (the output is identical, only faster).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

_BaseDumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

_AMBIGUOUS = re.compile(
    r"""(?ix)
    (?: y|n|yes|no|on|off|true|false|null|~ )\Z         # booleans and null, 1.1 and 1.2
    | [-+]?\.?[0-9][0-9a-z_:.+-]*\Z                      # numbers, dates, times, 0o17, 1e3
    | [-+]?\.(?:inf|nan)\Z
    """
)


class _Dumper(_BaseDumper):  # type: ignore[misc]
    """SafeDumper that never emits anchors or aliases."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_str(dumper: Any, data: str) -> Any:
    style: str | None = None
    if "\n" in data:
        style = "|"
    elif not data or _AMBIGUOUS.match(data):
        style = '"'
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _represent_str)


def dump(data: Mapping[str, Any] | Sequence[Any]) -> str:
    """``data`` as a YAML document (no ``---`` marker), keys in insertion order."""
    text: str = yaml.dump(
        data,
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        width=1_000_000,
        default_flow_style=False,
        indent=2,
    )
    return text


def front_matter(data: Mapping[str, Any], body: str) -> str:
    """A Markdown file: ``---`` YAML front matter ``---``, a blank line, then ``body``."""
    return f"---\n{dump(data)}---\n\n{body.rstrip()}\n"
