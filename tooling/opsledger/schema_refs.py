"""A schema never reaches outside ``schemas/``: every reference is checked before a validator
is built, and neither engine may fetch or read anything.

The schemas come from the repository, so from pull requests. Given a ``$ref`` it does not
hold, jsonschema-rs fetches an ``http(s)`` URL and reads a ``file://`` path while it compiles
the schema (``file:///etc/passwd`` was read and parsed), and python-jsonschema fails only
when a record is validated. :func:`check_references` therefore refuses, as a configuration
error naming the file, line and JSON pointer:

* a ``$schema`` other than the draft 2020-12 meta-schema (another one would be fetched);
* an ``$id`` (it would rebase every relative reference, possibly onto a URL);
* a ``$ref`` or ``$dynamicRef`` that is not a fragment of the same file (``#/$defs/x``,
  ``#anchor``) or of the shared definitions (``defs.schema.json#/$defs/x``), or that does
  not resolve there.

Both engines are also given a retriever that refuses every URI, so a reference this check
missed would still be an error, never a request.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import unquote

from opsledger.errors import ConfigError

META_SCHEMA = "https://json-schema.org/draft/2020-12/schema"
REFERENCE_KEYS = ("$ref", "$dynamicRef")


def refuse_retrieval(uri: str) -> NoReturn:
    """The retriever both engines get: nothing is ever fetched or read."""
    raise ValueError(
        f"{uri}: opsledger never fetches or reads a schema outside schemas/ (no network and "
        "no other file at validation time)"
    )


def _nodes(node: Any, pointer: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    stack = [(pointer, node)]
    while stack:
        where, here = stack.pop()
        if isinstance(here, dict):
            yield where, here
            for key, value in here.items():
                escaped = str(key).replace("~", "~0").replace("/", "~1")
                stack.append((f"{where}/{escaped}", value))
        elif isinstance(here, list):
            stack.extend((f"{where}/{i}", value) for i, value in enumerate(here))


def _resolves(document: Any, fragment: str) -> bool:
    fragment = unquote(fragment)
    if not fragment.startswith("/"):
        if not fragment:
            return True
        return any(
            node.get("$anchor") == fragment or node.get("$dynamicAnchor") == fragment
            for _, node in _nodes(document)
        )
    here = document
    for token in fragment[1:].split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(here, dict) and token in here:
            here = here[token]
        elif isinstance(here, list) and token.isdigit() and int(token) < len(here):
            here = here[int(token)]
        else:
            return False
    return True


def _line(path: Path, key: str, value: Any) -> int:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return 1
    at = text.find(f"{json.dumps(key)}: {json.dumps(value)}")
    return text.count("\n", 0, at) + 1 if at >= 0 else 1


def check_references(path: Path, document: Any, shared_name: str, shared: Any) -> None:
    """Raise :class:`ConfigError` for the first reference of ``document`` (read from
    ``path``) that could leave the repository's schemas or does not resolve."""

    def fail(key: str, value: Any, where: str, why: str) -> NoReturn:
        raise ConfigError(
            f"{path}:{_line(path, key, value)}: {key} {json.dumps(value)} at "
            f"{where or '/'}: {why}; opsledger never fetches or reads a schema from elsewhere"
        )

    for where, node in _nodes(document):
        if "$schema" in node and node["$schema"] != META_SCHEMA:
            fail("$schema", node["$schema"], where, f"only {META_SCHEMA} is supported")
        if "$id" in node:
            fail("$id", node["$id"], where, "$id is not supported (it rebases references)")
        for key in REFERENCE_KEYS:
            if key not in node:
                continue
            value = node[key]
            if not isinstance(value, str):
                fail(key, value, where, "a reference must be text")
            target, _, fragment = value.partition("#")
            if target == "":
                if not _resolves(document, fragment):
                    fail(key, value, where, "it does not resolve in this file")
            elif target == shared_name:
                if not _resolves(shared, fragment):
                    fail(key, value, where, f"it does not resolve in {shared_name}")
            else:
                fail(key, value, where, f"only '#…' and '{shared_name}#…' references are allowed")
