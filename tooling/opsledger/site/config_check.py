"""Checking ``mkdocs.yml`` before MkDocs reads it: no YAML tag that runs code, no hooks.

MkDocs reads its configuration, and every file named by ``INHERIT:``, with PyYAML's full
(unsafe) loader: ``!!python/object/apply:os.system ["…"]`` runs a command the moment the
file is read, long before any plugin could object; ``hooks:`` makes MkDocs import Python
files from the repository. ``opsledger site build`` and ``site serve`` therefore read each of
those files first with PyYAML's composer, which builds nodes and never constructs a Python
object, and refuse (exit status 2, naming file, line and column):

* any tag but the plain YAML ones, MkDocs' own ``!ENV`` and ``!relative``, the harmless
  ``!!python/`` scalars and containers (``str``, ``int``, ``tuple``…), and
  ``!!python/name:`` of an object in the Markdown extension packages (``material``,
  ``pymdownx``, ``markdown``); ``!!python/object…``, ``!!python/module`` and every other
  ``!!python/name`` are refused;
* a ``hooks:`` entry (Python files run by MkDocs; a site built by opsledger needs none);
* aliases that refer to themselves or expand past :data:`MAX_NODES` values (a "billion
  laughs" document that MkDocs would expand while it reads its configuration);
* an ``INHERIT:`` that leaves the repository, is a symbolic link, or loops, or that names
  its file through a tag (``!ENV``) or a structure;
* a YAML merge key (``<<``) or a tagged or structured mapping key: either becomes
  ``INHERIT`` or ``hooks`` only when MkDocs constructs it.

Plain ``mkdocs build`` reads the file before the opsledger plugin runs, so only these two
commands can protect a build; ``mkdocs.yml`` and ``site/`` stay under CODEOWNERS, and the
site is never built from pull-request code (see the workflow ``opsledger init`` writes).
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from opsledger.errors import ConfigError

ALLOWED_PACKAGES = frozenset({"material", "pymdownx", "markdown"})
_YAML = "tag:yaml.org,2002:"
_PLAIN = {"str", "int", "float", "bool", "null", "seq", "map", "binary", "timestamp", "set"}
_PLAIN |= {"omap", "pairs", "merge", "value"}
_PYTHON = {"none", "bool", "str", "unicode", "bytes", "int", "long", "float", "complex"}
_PYTHON |= {"list", "tuple", "dict"}
ALLOWED_TAGS = frozenset(
    {_YAML + name for name in _PLAIN}
    | {f"{_YAML}python/{name}" for name in _PYTHON}
    | {"!ENV", "!relative"}
)
NAME_TAG = _YAML + "python/name:"
MAX_NODES = 100_000


def _refusal(tag: str) -> str | None:
    """Why ``tag`` is refused, or None when it is allowed."""
    if tag in ALLOWED_TAGS:
        return None
    if tag.startswith(NAME_TAG):
        target = tag[len(NAME_TAG) :]
        if target.split(".", 1)[0] in ALLOWED_PACKAGES and "." in target:
            return None
        return (
            f"!!python/name:{target} names an object outside the Markdown extension "
            f"packages ({', '.join(sorted(ALLOWED_PACKAGES))})"
        )
    shown = "!!" + tag[len(_YAML) :] if tag.startswith(_YAML) else tag
    if shown.startswith("!!python/"):
        return f"{shown} makes MkDocs' YAML loader run Python code"
    return f"the YAML tag {shown} is not one MkDocs understands"


def _compose(path: Path) -> yaml.Node | None:
    try:
        with path.open("rb") as handle:
            return yaml.compose(handle, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        raise ConfigError(f"{path}{where}: not valid YAML: {exc.problem or exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path}: nested too deeply to be a MkDocs configuration") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read: {exc.strerror}") from None


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _expanded_size(root: yaml.Node) -> int | None:
    """How many values the document has once every alias is expanded (capped just above
    :data:`MAX_NODES`), or None when an alias refers to a node that contains it."""
    size: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            total = 1 + sum(size[id(child)] for child in _children(node))
            size[key] = min(total, MAX_NODES + 1)
            open_nodes.discard(key)
            continue
        if key in size:
            continue
        if key in open_nodes:
            return None
        open_nodes.add(key)
        stack.append((node, True))
        for child in _children(node):
            if id(child) in open_nodes:
                return None
            if id(child) not in size:
                stack.append((child, False))
    return size[id(root)]


def _walk(root: yaml.Node) -> list[yaml.Node]:
    """Every node once (aliases share nodes), without recursion."""
    seen: set[int] = set()
    stack = [root]
    found: list[yaml.Node] = []
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        found.append(node)
        if isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack.extend((key, value))
    return found


def _where(path: Path, node: yaml.Node) -> str:
    return f"{path}:{node.start_mark.line + 1}:{node.start_mark.column + 1}"


def check_config(path: Path, repository: Path) -> None:
    """Raise :class:`ConfigError` when ``path`` (or a file it inherits) would run code, or
    inherit from outside ``repository`` and the folder of ``path``."""
    path = Path(os.path.abspath(path))
    homes = (Path(os.path.realpath(repository)), Path(os.path.realpath(path.parent)))
    _check(path, homes, [])


def _inside(path: Path, homes: tuple[Path, ...]) -> bool:
    real = Path(os.path.realpath(path))
    return any(real == home or home in real.parents for home in homes)


def _check(path: Path, homes: tuple[Path, ...], chain: list[Path]) -> None:
    if path in chain:
        raise ConfigError(f"{chain[-1]}: INHERIT loops back to {path}")
    if path.is_symlink():
        raise ConfigError(f"{path} is a symbolic link; the site build refuses links")
    root = _compose(path)
    if root is None:
        return
    size = _expanded_size(root)
    if size is None or size > MAX_NODES:
        bound = "an alias refers to itself" if size is None else f"over {MAX_NODES} values"
        raise ConfigError(f"{path}: its aliases expand without bound ({bound})")
    for node in _walk(root):
        why = _refusal(node.tag)
        if why is not None:
            raise ConfigError(
                f"{_where(path, node)}: {why}; opsledger site build refuses it (a name such as "
                "!!python/name:pymdownx.superfences.fence_code_format is allowed)"
            )
    for node in _walk(root):
        if isinstance(node, yaml.MappingNode):
            for key, _ in node.value:
                _check_key(path, key)
    if not (isinstance(root, yaml.MappingNode) and root.tag == _YAML + "map"):
        # a tagged root (!ENV [NOPE, {INHERIT: …}]) becomes a mapping only when MkDocs
        # constructs it, with keys this check would not see at the top
        raise ConfigError(
            f"{_where(path, root)}: a MkDocs configuration is a plain mapping of keys; "
            "opsledger site build refuses any other document"
        )
    for key, value in root.value:
        if key.value == "hooks":
            raise ConfigError(
                f"{_where(path, key)}: hooks: makes MkDocs run Python files from the "
                "repository; opsledger site build refuses them (its plugin needs none)"
            )
        if key.value == "INHERIT":
            if not (isinstance(value, yaml.ScalarNode) and value.tag == _YAML + "str"):
                raise ConfigError(
                    f"{_where(path, value)}: INHERIT names its file through a tag or a "
                    "structure; write the file's path plainly, so that this check reads the "
                    "file MkDocs will"
                )
            parent = Path(os.path.normpath(path.parent / value.value))
            if not _inside(parent, homes):
                raise ConfigError(
                    f"{_where(path, value)}: INHERIT names {value.value!r}, outside the "
                    f"repository {homes[0]}"
                )
            if not parent.is_file():
                raise ConfigError(f"{_where(path, value)}: INHERIT names a missing file")
            _check(parent, homes, [*chain, path])


#: the tags a mapping key may carry: plain YAML scalars, whose value is their text
_KEY_TAGS = frozenset(_YAML + name for name in ("str", "int", "float", "bool", "null"))


def _check_key(path: Path, key: yaml.Node) -> None:
    """A mapping key must be plain text (or a plain number): a merge key (``<<``) or a
    tagged or structured key (``? !ENV [NOPE, INHERIT]``) becomes ``INHERIT`` or ``hooks``
    only when MkDocs constructs it, out of this check's sight."""
    if isinstance(key, yaml.ScalarNode) and key.tag in _KEY_TAGS:
        return
    what = (
        "a YAML merge key (<<)"
        if key.tag == _YAML + "merge"
        else "a mapping key that is not plain text"
    )
    raise ConfigError(
        f"{_where(path, key)}: {what} hides which key it is until MkDocs reads the file; "
        "opsledger site build refuses it: write the keys out plainly"
    )


def top_level_values(path: Path) -> dict[str, str]:
    """The plain scalar values at the top of the MkDocs configuration ``path`` (``site_url``,
    ``docs_dir``…), read as nodes like :func:`check_config` does: nothing in the file is
    ever constructed or run. Empty when the file is missing, unreadable or a link; a tagged
    value (``!ENV``, known only at build time) is left out."""
    if path.is_symlink() or not path.is_file():
        return {}
    try:
        root = _compose(path)
    except ConfigError:
        return {}
    if not isinstance(root, yaml.MappingNode):
        return {}
    return {
        str(key.value): str(value.value)
        for key, value in root.value
        if isinstance(key, yaml.ScalarNode)
        and isinstance(value, yaml.ScalarNode)
        and value.tag.startswith(_YAML)
    }


def rule_page_address(path: Path) -> str | None:
    """Where the published site shows a rule's page, as a template with ``{rule}``: from
    ``site_url`` (an http(s) address) and ``use_directory_urls`` of the MkDocs
    configuration ``path``; None when it names no plain web address."""
    values = top_level_values(path)
    url = values.get("site_url", "")
    if not url.startswith(("https://", "http://")):
        return None
    if any(c.isspace() or c in '"<>{}' for c in url):
        return None
    directory_urls = values.get("use_directory_urls", "true").lower() != "false"
    page = "rules/{rule}/" if directory_urls else "rules/{rule}.html"
    return url.rstrip("/") + "/" + page
