"""The policy schema, generated from a hand-written base and the declared settings.

``policy.base.schema.json`` (next to this module) holds what the tool itself reads (the
:data:`~opsledger.model.settings.CORE` settings) and the shape of the maps; every setting a
rule or a KPI declares is added to it: its JSON Schema, its description, and ``required``
when it has no default (its parent objects then become required too). A ``<name>`` key
(``<priority>``) stands for each key of :data:`~opsledger.model.settings.KEYS`.

The project ships the result twice (``schemas/`` and the packaged defaults); a test holds
both to :func:`policy_schema`. After declaring or changing a setting, regenerate them::

    python -m opsledger.rules.policy_schema
"""

from __future__ import annotations

import copy
import json
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from opsledger.model.settings import CORE, KEYS, Setting

BASE = Path(__file__).with_name("policy.base.schema.json")
#: the generated copies, relative to the project's root
TARGETS = ("schemas/policy.schema.json", "tooling/opsledger/defaults/schemas/policy.schema.json")
PROJECT = Path(__file__).resolve().parents[3]


def declared(rules: Iterable[type[Any]] | None = None) -> list[Setting]:
    """Every setting the rules (default: the registry), the KPIs and sampling declare, each once,
    in declaration order; core settings excluded (the base holds them). Two different
    declarations of one path are an error."""
    if rules is None:
        from opsledger.rules import RULES

        rules = RULES
    from opsledger.kpis.settings import SETTINGS as KPI_SETTINGS
    from opsledger.sampling.settings import SETTINGS as SAMPLING_SETTINGS

    found: dict[str, Setting] = {}
    core = {setting.path for setting in CORE}
    others = [*KPI_SETTINGS, *SAMPLING_SETTINGS]
    for setting in [s for rule in rules for s in rule.settings] + others:
        if setting.path in core:
            continue
        known = found.setdefault(setting.path, setting)
        if known != setting:
            raise ValueError(f"{setting.path} is declared twice, differently: declare it once")
    return list(found.values())


def policy_schema(settings: Iterable[Setting] | None = None) -> dict[str, Any]:
    """The policy schema: the base with ``settings`` (default: :func:`declared`) added."""
    schema: dict[str, Any] = json.loads(BASE.read_text(encoding="utf-8"))
    schema.pop("$comment", None)
    for setting in declared() if settings is None else settings:
        _add(schema, setting)
    _expand(schema)
    _tidy(schema)
    return schema


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def _add(schema: dict[str, Any], setting: Setting) -> None:
    for name in setting.placeholders:
        if name not in KEYS:
            raise ValueError(
                f"{setting.path}: <{name}> is not a fixed set of keys ({', '.join(KEYS)}); "
                "an open map belongs in the base schema"
            )
    node = schema
    chain = [node]
    for part in setting.parts[:-1]:
        node = node.setdefault("properties", {}).setdefault(
            part, {"type": "object", "additionalProperties": False, "properties": {}}
        )
        chain.append(node)
    leaf = setting.parts[-1]
    properties = node.setdefault("properties", {})
    if leaf in properties:
        raise ValueError(f"{setting.path} is already in the base policy schema")
    properties[leaf] = {
        **copy.deepcopy(dict(setting.type.schema)),
        "title": _sentence(setting),
    }
    if setting.required:
        for parent, key in zip(chain, setting.parts, strict=False):
            required = parent.setdefault("required", [])
            if key not in required:
                required.append(key)


def _sentence(setting: Setting) -> str:
    text = setting.description
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def _expand(node: Any) -> None:
    """Replace each ``<name>`` key by one copy per key of :data:`KEYS` (in place)."""
    if isinstance(node, list):
        for item in node:
            _expand(item)
        return
    if not isinstance(node, dict):
        return
    for value in node.values():
        _expand(value)
    properties = node.get("properties")
    if isinstance(properties, dict) and any(_placeholder(k) for k in properties):
        expanded: dict[str, Any] = {}
        for key, value in properties.items():
            for concrete in _concrete(key):
                expanded[concrete] = copy.deepcopy(value)
        node["properties"] = expanded
    required = node.get("required")
    if isinstance(required, list):
        node["required"] = [concrete for key in required for concrete in _concrete(key)]


def _placeholder(key: str) -> str:
    return key[1:-1] if key.startswith("<") and key.endswith(">") else ""


def _concrete(key: str) -> tuple[str, ...]:
    name = _placeholder(key)
    return KEYS[name] if name else (key,)


def _tidy(node: Any) -> None:
    """``required`` in the order of ``properties``; empty ``required`` lists dropped."""
    if isinstance(node, list):
        for item in node:
            _tidy(item)
        return
    if not isinstance(node, dict):
        return
    for value in node.values():
        _tidy(value)
    required = node.get("required")
    properties = node.get("properties")
    if isinstance(required, list) and isinstance(properties, dict):
        order = {key: i for i, key in enumerate(properties)}
        node["required"] = sorted(required, key=lambda key: order.get(key, len(order)))
    if required == []:
        del node["required"]
    elif isinstance(required, list) and isinstance(properties, dict):
        keys = list(node)  # ``required`` just before ``properties``, as written by hand
        keys.remove("required")
        keys.insert(keys.index("properties"), "required")
        reordered = {key: node[key] for key in keys}
        node.clear()
        node.update(reordered)


def main(argv: Sequence[str] | None = None) -> int:
    """Write the generated schema over the project's copies (``--check``: only compare)."""
    args = list(sys.argv[1:] if argv is None else argv)
    text = render(policy_schema())
    stale = [t for t in TARGETS if (PROJECT / t).read_text(encoding="utf-8") != text]
    if "--check" in args:
        for target in stale:
            print(f"{target} is out of date: run python -m opsledger.rules.policy_schema")
        return 1 if stale else 0
    for target in stale:
        (PROJECT / target).write_text(text, encoding="utf-8")
        print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
