"""The repository's JSON Schemas (draft 2020-12): loading them, and checking a document.

Schemas live in the governance repository's ``schemas/`` folder (protected by
CODEOWNERS), so a team may extend them. Each error is mapped back to the line and column
of the offending value: for a missing property, the mapping that lacks it; for an
unexpected property, its key.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import jsonschema_rs
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource

from opsledger.errors import ConfigError
from opsledger.loading import Document
from opsledger.timeutil import parse_date, parse_timestamp

KINDS = ("incident", "change", "pir", "runbook", "services", "policy")
SHARED = "defs"
_REQUIRED = re.compile(r"^'(.+)' is a required property$")
_DEPENDENT = re.compile(r"^'(.+)' is a dependency of '(.+)'$")


@dataclass(frozen=True)
class SchemaProblem:
    """One schema error, already placed in the file."""

    path: tuple[str | int, ...]
    line: int
    column: int
    message: str


def format_checker() -> jsonschema.FormatChecker:
    """jsonschema's checker (with its format extras) plus opsledger's strict date-time and date.

    Overriding both with the parsers the model uses means the schema and the model can never
    disagree about what a valid timestamp is (an offset is required; ``T25:00`` and
    ``02-30`` fail).
    """
    checker = jsonschema.FormatChecker()

    def date_time(instance: object) -> bool:
        if isinstance(instance, str):
            parse_timestamp(instance)
        return True

    def date_only(instance: object) -> bool:
        if isinstance(instance, str):
            parse_date(instance)
        return True

    checker.checks("date-time", raises=ValueError)(date_time)
    checker.checks("date", raises=ValueError)(date_only)
    return checker


def _fast_validator(schema: dict[str, Any], checker: jsonschema.FormatChecker) -> Any:
    """A jsonschema-rs validator for the (inlined) schema, or None if it cannot build one.

    Every format the Python checker knows is delegated back to it, so the two engines can
    never disagree about a format; a test compares them over the adversarial corpus.
    """
    formats = {
        name: (lambda value, name=name: checker.conforms(value, name)) for name in checker.checkers
    }
    try:
        return jsonschema_rs.Draft202012Validator(
            schema, formats=formats, validate_formats=True, ignore_unknown_formats=False
        )
    except (jsonschema_rs.ValidationError, ValueError, TypeError):
        return None  # an unusual schema: Python jsonschema alone still gives the answer


def _read_json(path: Path) -> Any:
    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [k for k, _ in pairs]
        dupes = {k for k in keys if keys.count(k) > 1}
        if dupes:
            raise ConfigError(f"{path}: duplicate key {sorted(dupes)[0]!r} in schema")
        return dict(pairs)

    if path.is_symlink():
        raise ConfigError(f"{path}: schemas may not be symbolic links")
    try:
        return json.loads(path.read_text(encoding="utf-8"), object_pairs_hook=no_duplicates)
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: schema missing; restore it from 'opsledger init' or the project's schemas/"
        ) from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: schema is not UTF-8") from None


def inline_shared(node: Any, shared: dict[str, Any], prefix: str, *, local: bool = False) -> Any:
    """``node`` with every ``$ref`` to the shared definitions replaced by the definition.

    ``prefix`` is how other schemas refer to them (``defs.schema.json#/$defs/``); inside a
    definition being inlined (``local``), its own ``#/$defs/`` references are shared ones too.
    The shared definitions are not recursive, so inlining is exact; it halves validation
    time because jsonschema no longer resolves a reference for every value.
    """
    if isinstance(node, dict):
        ref = node.get("$ref")
        name = None
        if isinstance(ref, str):
            if ref.startswith(prefix):
                name = ref[len(prefix) :]
            elif local and ref.startswith("#/$defs/"):
                name = ref[len("#/$defs/") :]
        if name is not None and name in shared:
            rest = {
                k: inline_shared(v, shared, prefix, local=local)
                for k, v in node.items()
                if k != "$ref"
            }
            return {**inline_shared(shared[name], shared, prefix, local=True), **rest}
        return {k: inline_shared(v, shared, prefix, local=local) for k, v in node.items()}
    if isinstance(node, list):
        return [inline_shared(item, shared, prefix, local=local) for item in node]
    return node


class SchemaSet:
    """Validators for every record kind, built once per run."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.digest = hashlib.sha256()
        raw = {name: _read_json(directory / f"{name}.schema.json") for name in (SHARED, *KINDS)}
        for name in sorted(raw):
            self.digest.update(json.dumps(raw[name], sort_keys=True).encode())
        registry: Registry[Any] = Registry().with_resource(
            f"{SHARED}.schema.json", Resource.from_contents(raw[SHARED])
        )
        checker = format_checker()
        self._validators: dict[str, jsonschema.Draft202012Validator] = {}
        self._fast: dict[str, Any] = {}
        for kind in KINDS:
            try:
                jsonschema.Draft202012Validator.check_schema(raw[kind])
            except jsonschema.SchemaError as exc:
                raise ConfigError(
                    f"{directory / f'{kind}.schema.json'}: not a valid JSON Schema: {exc.message}"
                ) from None
            schema = inline_shared(
                raw[kind], raw[SHARED].get("$defs", {}), f"{SHARED}.schema.json#/$defs/"
            )
            self._validators[kind] = jsonschema.Draft202012Validator(
                schema, registry=registry, format_checker=checker
            )
            self._fast[kind] = _fast_validator(schema, checker)

    def is_valid(self, kind: str, data: Any) -> bool:
        """The fast answer (jsonschema-rs): does ``data`` match the ``kind`` schema?"""
        fast = self._fast.get(kind)
        if fast is None:
            return not any(True for _ in self._validators[kind].iter_errors(data))
        return bool(fast.is_valid(data))

    def check(self, kind: str, doc: Document) -> list[SchemaProblem]:
        """Every schema error of ``doc`` as a placed, readable problem (sorted by position).

        Valid documents (the common case) are recognised by jsonschema-rs; only invalid ones
        go through Python jsonschema, whose errors carry the paths we place and explain.
        """
        if self.is_valid(kind, doc.data):
            return []
        problems: list[SchemaProblem] = []
        for error in self._validators[kind].iter_errors(doc.data):
            problems.extend(_explain(error, doc))
        return sorted(problems, key=lambda p: (p.line, p.column, p.message))


def short(value: Any, limit: int = 40) -> str:
    """A value for a message: repr'd, never longer than ``limit`` characters."""
    text = repr(value) if not isinstance(value, bool) else str(value).lower()
    return text if len(text) <= limit else text[: limit - 1] + "…"


_TYPE_NAMES = {
    "string": "a string",
    "object": "a mapping",
    "array": "a list",
    "boolean": "true or false",
    "integer": "a whole number",
    "number": "a number",
    "null": "empty",
}


def _type_of(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "empty"
    if isinstance(value, int | float):
        return "a number"
    return "a string"


def _explain(error: ValidationError, doc: Document) -> Iterator[SchemaProblem]:
    path = tuple(error.absolute_path)
    validator = error.validator
    schema = error.schema if isinstance(error.schema, dict) else {}
    conditional = "then" in error.schema_path or "else" in error.schema_path
    when = f" ({schema['description']})" if conditional and "description" in schema else ""
    if validator == "required":
        match = _REQUIRED.match(error.message)
        name = match.group(1) if match else str(error.message)
        line, column = doc.position(path)
        yield SchemaProblem(path, line, column, f"missing required property '{name}'{when}")
        return
    if validator in ("additionalProperties", "unevaluatedProperties"):
        allowed = sorted(schema.get("properties", {}))
        instance = error.instance if isinstance(error.instance, dict) else {}
        for key in sorted(k for k in instance if k not in allowed):
            line, column = doc.position((*path, key), key=True)
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else f"; allowed: {', '.join(allowed)}"
            yield SchemaProblem(
                (*path, key), line, column, f"unexpected property {short(key)}{hint}"
            )
        return
    line, column = doc.position(path)
    value = error.instance
    expected: Any = error.validator_value
    if validator == "enum":
        options = ", ".join(str(v) for v in expected)
        message = f"must be one of {options} (got {short(value)})"
        if isinstance(value, bool):
            message += "; quote it if you meant text"
    elif validator == "const":
        message = f"must be {short(expected)} (got {short(value)})"
    elif validator == "type":
        names = [expected] if isinstance(expected, str) else list(expected)
        wanted = " or ".join(_TYPE_NAMES.get(n, n) for n in names)
        message = f"must be {wanted}, not {_type_of(value)} {short(value)}"
        if isinstance(value, int | float | bool) and "string" in names:
            message += "; quote it to make it text"
    elif validator == "format":
        reason = str(error.cause) if error.cause else f"not a valid {error.validator_value}"
        message = f"{short(value)}: {reason}"
    elif validator == "pattern":
        what = schema.get("description") or f"the pattern {error.validator_value}"
        message = f"{short(value)} is not valid: {what}"
    elif validator == "dependentRequired":
        match = _DEPENDENT.match(error.message)
        message = f"'{match.group(2)}' needs '{match.group(1)}' too" if match else error.message
    elif validator in ("minLength", "maxLength", "minItems", "maxItems"):
        message = f"{short(value)} is too {'short' if validator.startswith('min') else 'long'}"
        message += f" ({validator} {error.validator_value})"
    else:
        message = error.message if len(error.message) <= 200 else error.message[:199] + "…"
    yield SchemaProblem(path, line, column, message)
