"""Policy settings declared where they are used, and one typed reader for all of them.

A :class:`Setting` names a value in ``policy.yaml`` by its dotted path (``<name>`` stands
for a key of a map: ``priorities.<priority>.acknowledge_within``), its type, its default
(the value when the policy does not set it, or :data:`REQUIRED`) and what it means. Rules
declare the settings they read next to their ``check`` (``Rule.settings``), the KPIs theirs
in :mod:`opsledger.kpis.settings`, and :data:`CORE` lists those the tool itself reads
(time zone, calendar, limits, rule selection, waivers, approvers…).

From the declarations come the policy schema (:mod:`opsledger.rules.policy_schema`), each
rule's documented "Policy settings" and :meth:`Setting.read`, which reads any setting from
the policy document with the project's one duration and date parsers. The typed
:class:`~opsledger.model.policy.Policy` accessors are held to the same values by a test.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final
from zoneinfo import ZoneInfo

from opsledger.errors import ConfigError
from opsledger.model.policy import WEEKDAYS
from opsledger.timeutil import parse_calendar_duration, parse_date, parse_duration

DEFS = "defs.schema.json#/$defs/"

#: Map keys that stand for a fixed set (SPEC §3): the schema has one entry for each.
KEYS: Final[Mapping[str, tuple[str, ...]]] = {
    "priority": ("P1", "P2", "P3", "P4"),
    "type": ("standard", "normal", "emergency"),
    "risk": ("low", "medium", "high"),
}
_PLACEHOLDER = re.compile(r"<([a-z_]+)>")


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


#: The default of a setting the policy must set (the schema requires it).
REQUIRED: Final = _Required()


@dataclass(frozen=True)
class SettingType:
    """What kind of value a setting holds: its name in the documentation, its JSON Schema
    and how a schema-valid YAML value becomes the typed value rules read."""

    name: str
    schema: Mapping[str, Any]
    convert: Callable[[Any], Any] | None = field(default=None, compare=False)

    def refine(self, **schema: Any) -> SettingType:
        """The same type with further schema constraints (``minimum=1``, ``uniqueItems``)."""
        return replace(self, schema={**self.schema, **schema})


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(item for item in value if isinstance(item, str))


DURATION = SettingType(
    "duration like 15m, 4h, 2d or 1w", {"$ref": DEFS + "duration"}, parse_duration
)
#: a fixed duration or calendar months (``1mo``), for the fields that take months
CALENDAR_DURATION = SettingType(
    "duration like 4h, 2d, 1w or 1mo (calendar months)",
    {"$ref": DEFS + "calendar_duration"},
    parse_calendar_duration,
)
INTEGER = SettingType("whole number", {"type": "integer"}, int)
BOOLEAN = SettingType("true or false", {"type": "boolean"}, bool)
LINES = SettingType(
    "list of one-line texts", {"type": "array", "items": {"$ref": DEFS + "line"}}, _strings
)
TEXT = SettingType("text", {"$ref": DEFS + "text"}, str)
DATE = SettingType(
    "date YYYY-MM-DD or null",
    {"oneOf": [{"$ref": DEFS + "date"}, {"type": "null"}]},
    parse_date,
)
DATES = SettingType(
    "list of dates YYYY-MM-DD",
    {"type": "array", "items": {"$ref": DEFS + "date"}},
    lambda value: frozenset(parse_date(day) for day in value),
)
WEEKDAY_SET = SettingType(
    "list of weekdays (mon…sun)",
    {"type": "array", "items": {"enum": list(WEEKDAYS)}},
    lambda value: frozenset(WEEKDAYS.index(day) for day in value),
)
TIMEZONE = SettingType("IANA time zone name", {"type": "string"}, ZoneInfo)
PEOPLE = SettingType(
    "list of e-mail addresses",
    {"$ref": DEFS + "people"},
    lambda value: frozenset(person.casefold() for person in value),
)
VERSION = SettingType("format version (1)", {"const": 1}, int)
SEVERITIES = SettingType("map of rule ID to error or warning", {"type": "object"}, dict)
#: structured values the Policy reads into its own types (freeze windows, waivers,
#: KPI targets); the reader returns them as written
FREEZE_WINDOWS = SettingType("list of {name, start, end, services}", {"type": "array"})
WAIVER_LIST = SettingType("list of {rule, record, reason, approved_by, expires}", {"type": "array"})
TARGET = SettingType("{min, max, by_priority}", {"type": "object"})


@dataclass(frozen=True)
class Setting:
    """One value of ``policy.yaml``, declared once where it is used."""

    path: str
    type: SettingType
    default: Any
    description: str
    #: where the typed :class:`~opsledger.model.policy.Policy` holds it (same ``<name>``
    #: placeholders; ``[key]`` looks up a map), or None when only :meth:`read` reads it
    accessor: str | None = None

    @property
    def parts(self) -> tuple[str, ...]:
        return tuple(self.path.split("."))

    @property
    def placeholders(self) -> tuple[str, ...]:
        """The names of the map keys in the path, in order (``("priority",)``)."""
        return tuple(_PLACEHOLDER.findall(self.path))

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    def concrete(self, **keys: str) -> tuple[str, ...]:
        """The path with its placeholders filled from ``keys``."""
        missing = set(self.placeholders) - set(keys)
        if missing:
            raise TypeError(f"{self.path}: give {', '.join(sorted(missing))}")
        return tuple(_PLACEHOLDER.sub(lambda m: keys[m[1]], part) for part in self.parts)

    def read(self, data: Any, **keys: str) -> Any:
        """The typed value in the policy document ``data`` (``policy.doc.data``), or the
        declared default when the policy does not set it. ``keys`` fill the placeholders."""
        node = data
        path = self.concrete(**keys)
        for part in path:
            node = node.get(part) if isinstance(node, Mapping) else None
            if node is None:
                break
        if node is None:
            if self.required:
                raise ConfigError(
                    f"policy.yaml: {'.'.join(path)} is not set; add it ({self.description})"
                )
            node = self.default
        if node is None or self.type.convert is None:
            return node
        return self.type.convert(node)

    def expansions(self, data: Any = None) -> Iterator[dict[str, str]]:
        """Every filling of the placeholders: the fixed sets of :data:`KEYS`, and for other
        maps the keys the policy document ``data`` holds."""
        yield from _fill(self.parts, data, {})

    def documentation(self) -> str:
        if self.required:
            when = "required"
        elif self.default is None:
            when = "optional"
        else:
            when = f"default {_yaml(self.default)}"
        return f"``{self.path}`` ({self.type.name}; {when}): {self.description}."

    def matches(self, path: tuple[str, ...]) -> bool:
        """Whether the concrete ``path`` is this setting (any key for a placeholder)."""
        return len(path) == len(self.parts) and all(
            mine == theirs or _PLACEHOLDER.fullmatch(mine) is not None
            for mine, theirs in zip(self.parts, path, strict=True)
        )


def _fill(parts: tuple[str, ...], node: Any, keys: dict[str, str]) -> Iterator[dict[str, str]]:
    if not parts:
        yield dict(keys)
        return
    head, rest = parts[0], parts[1:]
    name = _PLACEHOLDER.fullmatch(head)
    if name is None:
        yield from _fill(rest, node.get(head) if isinstance(node, Mapping) else None, keys)
        return
    found = KEYS.get(name[1])
    options = found if found is not None else tuple(node) if isinstance(node, Mapping) else ()
    for key in options:
        child = node.get(key) if isinstance(node, Mapping) else None
        yield from _fill(rest, child, {**keys, name[1]: key})


def _yaml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(map(_yaml, value)) + "]"
    return str(value)


# -- what the tool itself reads (its schema is written in the base policy schema) ---------
VERSION_SETTING = Setting("version", VERSION, REQUIRED, "the policy format version")
TIMEZONE_SETTING = Setting(
    "timezone",
    TIMEZONE,
    REQUIRED,
    "the time zone of business days, due dates and 'today'",
    "timezone",
)
BUSINESS_DAYS = Setting(
    "business_days",
    WEEKDAY_SET,
    REQUIRED,
    "the weekdays that count as business days",
    "business_days",
)
HOLIDAYS = Setting("holidays", DATES, REQUIRED, "days that are not business days", "holidays")
HISTORY_SINCE = Setting(
    "history.since",
    DATE,
    None,
    "the day the repository became the system of record; records first committed before "
    "it were imported and are skipped by history rules and history KPIs",
    "history_since",
)
PRIORITY_DESCRIPTION = Setting(
    "priorities.<priority>.description",
    TEXT,
    None,
    "what the priority means, shown to people choosing one",
)
APPROVERS = Setting(
    "approvers.<role>",
    PEOPLE,
    (),
    "the people allowed to approve in each role (the known roles)",
    "approvers[<role>]",
)
FREEZE = Setting(
    "freeze_windows",
    FREEZE_WINDOWS,
    REQUIRED,
    "periods in which changes need a recorded freeze exception",
    "freeze_windows",
)
WAIVERS = Setting(
    "waivers",
    WAIVER_LIST,
    (),
    "accepted risks: a rule's findings for a record, approved by a person until a date",
    "waivers",
)
MAX_FILE_BYTES = Setting(
    "limits.max_file_bytes",
    INTEGER,
    1048576,
    "the largest record file read, in bytes",
    "limits.max_file_bytes",
)
MAX_DEPTH = Setting(
    "limits.max_depth", INTEGER, 32, "the deepest YAML nesting read", "limits.max_depth"
)
MAX_FINDINGS = Setting(
    "limits.max_findings_per_rule_per_record",
    INTEGER,
    50,
    "findings listed per rule and record; beyond, one '…and N more' finding",
    "limits.max_findings_per_rule_per_record",
)
MAX_MARKDOWN_DEPTH = Setting(
    "limits.max_markdown_depth",
    INTEGER,
    16,
    "the deepest nesting of lists and block quotes in a PIR or runbook body",
    "limits.max_markdown_depth",
)
MAX_MARKDOWN_DELIMITERS = Setting(
    "limits.max_markdown_delimiters",
    INTEGER,
    1000,
    "link and emphasis delimiters in one paragraph, heading or table cell of a body",
    "limits.max_markdown_delimiters",
)
SELECT = Setting("rules.select", LINES, (), "the rules to run (default: all)", "select")
IGNORE = Setting("rules.ignore", LINES, (), "rules not to run", "ignore")
SEVERITY = Setting(
    "rules.severity", SEVERITIES, {}, "a severity for a rule other than its own", "severity"
)
KPI_TARGETS = Setting(
    "kpi_targets.<kpi>",
    TARGET,
    None,
    "the target a KPI is judged against (overall or by priority)",
    "kpi_targets[<kpi>]",
)

#: Settings the tool reads outside any one rule or KPI. Their schema is the hand-written
#: part of the policy schema (``opsledger/rules/policy.base.schema.json``).
CORE: tuple[Setting, ...] = (
    VERSION_SETTING,
    TIMEZONE_SETTING,
    BUSINESS_DAYS,
    HOLIDAYS,
    HISTORY_SINCE,
    PRIORITY_DESCRIPTION,
    APPROVERS,
    FREEZE,
    KPI_TARGETS,
    MAX_FILE_BYTES,
    MAX_DEPTH,
    MAX_FINDINGS,
    MAX_MARKDOWN_DEPTH,
    MAX_MARKDOWN_DELIMITERS,
    SELECT,
    IGNORE,
    SEVERITY,
    WAIVERS,
)
#: The calendar every business-day deadline uses.
CALENDAR: tuple[Setting, ...] = (BUSINESS_DAYS, HOLIDAYS, TIMEZONE_SETTING)
