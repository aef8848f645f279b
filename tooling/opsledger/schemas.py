"""The repository's JSON Schemas (draft 2020-12): loading them, and checking a document.

Schemas live in the governance repository's ``schemas/`` folder (protected by
CODEOWNERS), so a team may extend them; a reference outside that folder is a configuration
error and nothing is ever fetched (:mod:`opsledger.schema_refs`). Each error is mapped back
to the line and column of the offending value: for a missing property, the mapping that
lacks it; for an unexpected property, its key.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import jsonschema_rs

from opsledger.errors import ConfigError
from opsledger.loading import Document, LoadError, read_bytes
from opsledger.schema_refs import check_references, refuse_retrieval
from opsledger.timeutil import parse_date, parse_timestamp

if TYPE_CHECKING:
    import jsonschema
    from jsonschema.exceptions import ValidationError

KINDS = ("incident", "change", "pir", "runbook", "problem", "services", "policy")
SHARED = "defs"
SCHEMA_MAX_BYTES = 4 * 1024 * 1024
#: no schema of ours nests a dozen levels deep: one nested deeper than this, as written or
#: once the shared definitions are copied in, is refused before any walker of it (the
#: reference check, inlining, either engine) recurses that deep
SCHEMA_MAX_DEPTH = 64
SCHEMA_MAX_DEPTH_INLINED = 256
_DEPTH_HELP = "schemas are never nested this deep; restore them from 'opsledger init'"
_REQUIRED = re.compile(r"^'(.+)' is a required property$")
_DEPENDENT = re.compile(r"^'(.+)' is a dependency of '(.+)'$")


@dataclass(frozen=True)
class SchemaProblem:
    """One schema error, already placed in the file."""

    path: tuple[str | int, ...]
    line: int
    column: int
    message: str


def _date_time(instance: object) -> bool:
    if isinstance(instance, str):
        parse_timestamp(instance)  # raises ValueError with the reason
    return True


def _date(instance: object) -> bool:
    if isinstance(instance, str):
        parse_date(instance)
    return True


def _email(instance: object) -> bool:
    # jsonschema's own "email" semantics; the schemas add a stricter pattern.
    if isinstance(instance, str) and "@" not in instance:
        raise ValueError("not a valid email")
    return True


#: The formats opsledger defines itself, shared by both validation engines so they can never
#: disagree: timestamps need an explicit offset; ``T25:00`` and ``02-30`` fail.
FORMATS = {"date-time": _date_time, "date": _date, "email": _email}


def _conforms(check: Any) -> Any:
    def predicate(value: object) -> bool:
        try:
            return bool(check(value))
        except ValueError:
            return False

    return predicate


#: the formats whose checker comes from rfc3987_syntax, which compiles some forty grammars
#: when imported (over 2 s, on every run that needed jsonschema: jsonschema imports it
#: whole for its format extras); imported only for a schema that uses one of them
IRI_FORMATS = {"iri": "iri", "iri-reference": "iri_reference"}  # format: its rule
_SLOW_LIBRARY = "rfc3987_syntax"


def python_jsonschema() -> ModuleType:
    """jsonschema (the Python engine), imported without rfc3987_syntax unless something
    imported that already: :func:`format_checker` adds its two formats where a schema uses
    them, so every format a schema names is still checked."""
    if "jsonschema" not in sys.modules and _SLOW_LIBRARY not in sys.modules:
        sys.modules[_SLOW_LIBRARY] = None  # type: ignore[assignment]  # its import fails
        try:
            import jsonschema
        finally:
            if sys.modules.get(_SLOW_LIBRARY, False) is None:
                del sys.modules[_SLOW_LIBRARY]
    import jsonschema

    return jsonschema


def format_checker(used: set[str] | frozenset[str] = frozenset()) -> jsonschema.FormatChecker:
    """jsonschema's checker (with its format extras) with opsledger's own formats on top,
    and the IRI formats where ``used`` (the formats a schema names) holds one."""
    checker: jsonschema.FormatChecker = python_jsonschema().FormatChecker()
    for name, check in FORMATS.items():
        checker.checks(name, raises=ValueError)(check)
    for name in set(IRI_FORMATS) & set(used) - set(checker.checkers):
        try:
            from rfc3987_syntax import is_valid_syntax  # type: ignore[import-untyped]
        except ImportError:  # not installed: jsonschema would not check it either
            break
        checker.checks(name, raises=ValueError)(_iri_check(is_valid_syntax, IRI_FORMATS[name]))
    return checker


def _iri_check(is_valid_syntax: Any, rule: str) -> Any:
    def check(instance: object) -> bool:
        return not isinstance(instance, str) or bool(is_valid_syntax(rule, instance))

    return check


def _formats_used(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["format"]} if isinstance(node.get("format"), str) else set()
        for value in node.values():
            found |= _formats_used(value)
        return found
    if isinstance(node, list):
        return set().union(*(_formats_used(item) for item in node)) if node else set()
    return set()


def _fast_validator(schema: dict[str, Any]) -> Any:
    """A jsonschema-rs validator for the (inlined) schema, or None when it cannot be used.

    It is used only when every format in the schema is one of opsledger's own (the
    Python engine alone judges other formats), so a test can hold both engines to the
    same answer over the adversarial corpus.
    """
    if not _formats_used(schema) <= set(FORMATS):
        return None
    try:
        return jsonschema_rs.Draft202012Validator(
            schema,
            formats={name: _conforms(check) for name, check in FORMATS.items()},
            validate_formats=True,
            retriever=refuse_retrieval,  # never a request or a file read
        )
    except (jsonschema_rs.ValidationError, ValueError, TypeError):
        return None


#: schema sets built in this process, by directory and schema bytes (the most recent last)
_BUILT: dict[bytes, SchemaSet] = {}
_KEEP = 4


def _read_files(directory: Path) -> dict[str, bytes]:
    """The bytes of every schema file in ``directory`` (shared definitions first)."""
    if directory.is_symlink():
        raise ConfigError(f"{directory}: the schemas folder may not be a symbolic link")
    return {name: _read_schema(directory / f"{name}.schema.json") for name in (SHARED, *KINDS)}


def _read_schema(path: Path) -> bytes:
    if path.is_symlink():
        raise ConfigError(f"{path}: schemas may not be symbolic links")
    if not os.path.lexists(path):
        raise ConfigError(
            f"{path}: schema missing; restore it from 'opsledger init' or the project's schemas/"
        )
    try:  # a FIFO or device named like a schema is refused unopened
        return read_bytes(path, SCHEMA_MAX_BYTES)
    except LoadError as exc:
        raise ConfigError(f"{path}: {exc.message}") from None


def _parse_json(path: Path, data: bytes) -> Any:
    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [k for k, _ in pairs]
        dupes = {k for k in keys if keys.count(k) > 1}
        if dupes:
            raise ConfigError(f"{path}: duplicate key {sorted(dupes)[0]!r} in schema")
        return dict(pairs)

    try:
        found = json.loads(data.decode("utf-8"), object_pairs_hook=no_duplicates)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: schema is not UTF-8") from None
    except RecursionError:  # the decoder's own limit, about a thousand levels
        raise ConfigError(f"{path}: nested too deeply to be read; {_DEPTH_HELP}") from None
    if _deeper_than(found, SCHEMA_MAX_DEPTH):
        raise ConfigError(f"{path}: nested more than {SCHEMA_MAX_DEPTH} levels deep; {_DEPTH_HELP}")
    return found


#: keywords whose values are data, not schemas: a "pattern" key inside them is not a regex
_DATA_KEYWORDS = frozenset({"enum", "const", "default", "examples"})


def _check_patterns(path: Path, schema: Any) -> None:
    """Every regular expression of ``schema`` (``pattern``, the keys of
    ``patternProperties``) compiles as Python's ``re`` reads it, which the Python engine
    uses: one that does not was an internal error when a record was checked against it."""
    stack: list[tuple[Any, str]] = [(schema, "")]
    while stack:
        node, pointer = stack.pop()
        if isinstance(node, list):
            stack.extend((item, f"{pointer}/{i}") for i, item in enumerate(node))
            continue
        if not isinstance(node, dict):
            continue
        found = [("pattern", node["pattern"])] if isinstance(node.get("pattern"), str) else []
        if isinstance(node.get("patternProperties"), dict):
            found += [("patternProperties", key) for key in node["patternProperties"]]
        for keyword, pattern in found:
            try:
                re.compile(pattern)
            except (re.error, RecursionError, OverflowError) as exc:
                reason = exc.msg if isinstance(exc, re.error) else type(exc).__name__
                raise ConfigError(
                    f"{path}: {keyword} {short(pattern)} at {pointer or '/'} is not a regular "
                    f"expression ({reason}); write one that ECMA 262 and Python both read"
                ) from None
        for key, value in node.items():
            if key not in _DATA_KEYWORDS:
                escaped = key.replace("~", "~0").replace("/", "~1")
                stack.append((value, f"{pointer}/{escaped}"))


def _deeper_than(node: Any, limit: int) -> bool:
    """Does ``node`` nest more than ``limit`` mappings and lists deep? (no recursion)"""
    stack = [(node, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > limit:
                return True
            items = value.values() if isinstance(value, dict) else value
            stack.extend((item, depth + 1) for item in items)
    return False


class RecursiveDefinition(ValueError):
    """A shared definition that refers to itself, directly or through others."""

    def __init__(self, chain: tuple[str, ...]) -> None:
        super().__init__(" -> ".join(chain))
        self.chain = chain


def inline_shared(
    node: Any,
    shared: dict[str, Any],
    prefix: str,
    *,
    local: bool = False,
    within: tuple[str, ...] = (),
) -> Any:
    """``node`` with every ``$ref`` to the shared definitions replaced by the definition.

    ``prefix`` is how other schemas refer to them (``defs.schema.json#/$defs/``); inside a
    definition being inlined (``local``), its own ``#/$defs/`` references are shared ones too.
    Inlining is exact because the shared definitions are not recursive (one that is raises
    :class:`RecursiveDefinition`; ``within``: the definitions being inlined around
    ``node``); it halves validation time because jsonschema no longer resolves a reference
    for every value.
    """
    if isinstance(node, dict):
        ref = node.get("$ref")
        name = None
        if isinstance(ref, str):
            if ref.startswith(prefix):
                name = ref[len(prefix) :]
            elif local and ref.startswith("#/$defs/"):
                name = ref[len("#/$defs/") :]
        if name is not None and isinstance(shared.get(name), dict):  # a boolean one stays a $ref
            if name in within:
                raise RecursiveDefinition((*within[within.index(name) :], name))
            rest = {
                k: inline_shared(v, shared, prefix, local=local, within=within)
                for k, v in node.items()
                if k != "$ref"
            }
            found = inline_shared(shared[name], shared, prefix, local=True, within=(*within, name))
            return {**found, **rest}
        return {
            k: inline_shared(v, shared, prefix, local=local, within=within) for k, v in node.items()
        }
    if isinstance(node, list):
        return [inline_shared(item, shared, prefix, local=local, within=within) for item in node]
    return node


def packaged_schemas() -> Path:
    """The schemas opsledger ships (``opsledger init`` copies them into a repository): files
    of the installed package (importlib.resources would cost a validate 7 ms to import)."""
    return Path(__file__).resolve().parent / "defaults" / "schemas"


class SchemaSet:
    """Validators for every record kind, each compiled when first used (every schema is
    checked when the set is built).

    Valid documents (the common case) are recognised by jsonschema-rs. Python jsonschema,
    whose errors carry the paths we place and explain, is imported and built only when a
    document is invalid (its format extras take most of a second to import).
    """

    @classmethod
    def of(cls, directory: Path) -> SchemaSet:
        """The set for ``directory``, built once per process for the same schema bytes (a
        run reads its policy, plans a PR gate's scope and loads its records with one; a
        changed file is a new set)."""
        files = _read_files(directory)
        key = hashlib.sha256(os.fsencode(os.path.abspath(directory)))
        for name, data in files.items():
            key.update(b"\0%s\0%d\0" % (name.encode(), len(data)))
            key.update(data)
        built = _BUILT.pop(key.digest(), None) or cls(directory, files)
        _BUILT[key.digest()] = built  # the most recent last
        while len(_BUILT) > _KEEP:
            del _BUILT[next(iter(_BUILT))]
        return built

    def __init__(self, directory: Path, files: dict[str, bytes] | None = None) -> None:
        """The validators of the schemas in ``directory`` (``files``: their bytes, read)."""
        if files is None:
            files = _read_files(directory)
        self.directory = directory
        self._files = files
        raw = {name: _parse_json(directory / f"{name}.schema.json", files[name]) for name in files}
        for name, document in raw.items():  # before any engine sees a reference
            check_references(
                directory / f"{name}.schema.json", document, f"{SHARED}.schema.json", raw[SHARED]
            )
        self._raw = raw
        self._schemas: dict[str, dict[str, Any]] = {}
        self._fast: dict[str, Any] = {}
        self._slow: dict[str, jsonschema.Draft202012Validator] = {}
        # every schema is judged now, so a broken one stops any run: not a JSON Schema, or
        # a shared definition that refers to itself (it could not be inlined)
        for kind in (SHARED, *KINDS):
            if not jsonschema_rs.meta.is_valid(raw[kind]):
                self._explain_bad_schema(kind)
            _check_patterns(directory / f"{kind}.schema.json", raw[kind])
        shared = self._shared()
        for name in shared:
            self._inline({"$ref": f"{SHARED}.schema.json#/$defs/{name}"})

    def same_as(self, directory: Path, kind: str) -> bool:
        """Is the ``kind`` schema, with the shared definitions, byte for byte the one in
        ``directory``?"""
        try:
            return all(
                self._files[name] == (directory / f"{name}.schema.json").read_bytes()
                for name in (kind, SHARED)
            )
        except OSError:
            return False

    def _shared(self) -> dict[str, Any]:
        found = self._raw[SHARED].get("$defs", {})
        return found if isinstance(found, dict) else {}

    def _inline(self, node: Any, kind: str = SHARED) -> Any:
        """``node`` (of the ``kind`` schema) with the shared definitions copied in."""
        path = self.directory / f"{kind}.schema.json"
        try:
            found = inline_shared(node, self._shared(), f"{SHARED}.schema.json#/$defs/")
        except RecursiveDefinition as exc:
            raise ConfigError(
                f"{self.directory / f'{SHARED}.schema.json'}: the shared definition "
                f"{exc.chain[0]!r} refers to itself ({' -> '.join(exc.chain)}); shared "
                "definitions are copied into each schema and may not be recursive"
            ) from None
        except RecursionError:
            found = None
        if found is None or _deeper_than(found, SCHEMA_MAX_DEPTH_INLINED):
            raise ConfigError(
                f"{path}: nested more than {SCHEMA_MAX_DEPTH_INLINED} levels deep once the "
                f"shared definitions are copied in; {_DEPTH_HELP}"
            )
        return found

    def _schema(self, kind: str) -> dict[str, Any]:
        """The ``kind`` schema with the shared definitions inlined, on first use (a
        ``validate`` of a few files compiles the schemas of their kinds, the policy's and
        the service catalog's, not the others)."""
        if kind not in self._schemas:
            self._schemas[kind] = self._inline(self._raw[kind], kind)
        return self._schemas[kind]

    def _explain_bad_schema(self, kind: str) -> None:
        jsonschema = python_jsonschema()
        path = self.directory / f"{kind}.schema.json"
        try:
            jsonschema.Draft202012Validator.check_schema(self._raw[kind])
        except jsonschema.SchemaError as exc:
            raise ConfigError(f"{path}: not a valid JSON Schema: {exc.message}") from None
        raise ConfigError(f"{path}: not a valid JSON Schema")

    def validator(self, kind: str) -> jsonschema.Draft202012Validator:
        """The Python jsonschema validator for ``kind`` (built on first use)."""
        if kind not in self._slow:
            jsonschema = python_jsonschema()
            from referencing import Registry, Resource

            refusing = Registry(retrieve=refuse_retrieval)  # type: ignore[call-arg]
            registry: Registry[Any] = refusing.with_resource(
                f"{SHARED}.schema.json", Resource.from_contents(self._raw[SHARED])
            )
            # the shared definitions too: a reference into one (``#/$defs/x/items``, an
            # anchor) is resolved through the registry, not inlined
            used = _formats_used(self._schema(kind)) | _formats_used(self._raw[SHARED])
            self._slow[kind] = jsonschema.Draft202012Validator(
                self._schema(kind), registry=registry, format_checker=format_checker(used)
            )
        return self._slow[kind]

    def is_valid(self, kind: str, data: Any) -> bool:
        """Does ``data`` match the ``kind`` schema? (jsonschema-rs when it can answer)"""
        if kind not in self._fast:  # built on first use, as the schema is inlined
            self._fast[kind] = _fast_validator(self._schema(kind))
        fast = self._fast[kind]
        if fast is None:
            return not any(True for _ in self.validator(kind).iter_errors(data))
        return bool(fast.is_valid(data))

    def check(self, kind: str, doc: Document) -> list[SchemaProblem]:
        """Every schema error of ``doc`` as a placed, readable problem (sorted by position)."""
        if self.is_valid(kind, doc.data):
            return []
        problems: list[SchemaProblem] = []
        for error in self.validator(kind).iter_errors(doc.data):
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


def _repeated(items: list[Any]) -> tuple[int, int | None]:
    """The positions of the first item listed again and of its repetition ((0, None) when
    none is found by its JSON text: JSON Schema also takes 1 and 1.0 for the same)."""
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        key = json.dumps(item, sort_keys=True, default=str)
        if key in seen:
            return seen[key], index
        seen[key] = index
    return 0, None


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
    elif validator == "uniqueItems" and isinstance(value, list):
        # at the repeated item, named: the list itself may be too long to show
        first, again = _repeated(value)
        if again is not None:
            line, column = doc.position((*path, again))
            path = (*path, again)
            message = (
                f"{short(value[again])} is listed twice (items {first + 1} and {again + 1}); "
                "list each once"
            )
        else:
            message = "has an item listed twice; list each once"
    else:
        message = error.message if len(error.message) <= 200 else error.message[:199] + "…"
    yield SchemaProblem(path, line, column, message)
