"""Policy settings are declared once, next to the rule (or KPI) that reads them, and
everything else agrees with the declarations: the committed policy schemas are generated
from them, every setting of the shipped policies is declared, the typed ``Policy``
accessors read the same values as the generic reader, and the documentation lists them.
A new rule with a new setting needs no schema edit and no ``Policy`` field.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest

from opsledger.calendar import BusinessCalendar
from opsledger.errors import ConfigError
from opsledger.findings import Finding
from opsledger.kpis.settings import SETTINGS as KPI_SETTINGS
from opsledger.loading import load_document
from opsledger.model.ledger import load_ledger
from opsledger.model.policy import (
    ChangeTypePolicy,
    Policy,
    PriorityPolicy,
    Target,
    load_policy,
)
from opsledger.model.settings import CORE, DURATION, KEYS, LINES, REQUIRED, Setting
from opsledger.rules import RULES, Context, Rule
from opsledger.rules.examples import overlays
from opsledger.rules.history import BACKDATE_TOLERANCE
from opsledger.rules.incidents import ACKNOWLEDGE_WITHIN
from opsledger.rules.policy_schema import TARGETS, declared, policy_schema, render
from opsledger.schemas import SchemaSet

from conftest import INCIDENT, PROJECT, Repo, defaults_dir

ALL: list[Setting] = [*CORE, *declared()]
POLICIES = {
    "default": defaults_dir() / "policy.yaml",
    "project": PROJECT / "policy.yaml",
}
SCHEMAS = [PROJECT / target for target in TARGETS]


def ids(settings: list[Setting]) -> list[str]:
    return [s.path for s in settings]


# -- the schema -----------------------------------------------------------------------------
@pytest.mark.parametrize("target", TARGETS)
def test_committed_policy_schemas_are_the_generated_one(target: str) -> None:
    committed = (PROJECT / target).read_text(encoding="utf-8")
    assert committed == render(policy_schema()), (
        f"{target} is out of date: run python -m opsledger.rules.policy_schema"
    )


def schema_leaves(schema: Mapping[str, Any], setting: Setting) -> Iterator[Mapping[str, Any]]:
    """The schema of each concrete place of ``setting`` (an open map: its value schema)."""

    def walk(node: Mapping[str, Any], parts: tuple[str, ...]) -> Iterator[Mapping[str, Any]]:
        if not parts:
            yield node
            return
        head, rest = parts[0], parts[1:]
        name = re.fullmatch(r"<([a-z_]+)>", head)
        if name is None:
            properties = node.get("properties", {})
            assert head in properties, f"{setting.path}: no {head!r} in the schema"
            yield from walk(properties[head], rest)
        elif name[1] in KEYS:
            for key in KEYS[name[1]]:
                yield from walk(node["properties"][key], rest)
        else:
            value = node.get("additionalProperties")
            assert isinstance(value, dict), f"{setting.path}: {head} is not an open map"
            yield from walk(value, rest)

    yield from walk(schema, setting.parts)


@pytest.mark.parametrize("path", SCHEMAS, ids=["project", "packaged"])
@pytest.mark.parametrize("setting", ALL, ids=ids(ALL))
def test_every_declared_setting_is_in_the_schema_with_its_type(
    setting: Setting, path: Path
) -> None:
    schema = json.loads(path.read_text(encoding="utf-8"))
    leaves = list(schema_leaves(schema, setting))
    assert leaves
    for leaf in leaves:
        for key, value in setting.type.schema.items():
            assert leaf.get(key) == value, (setting.path, key, leaf)


def test_required_settings_are_required_by_the_schema() -> None:
    schema = policy_schema()
    for setting in declared():
        node: Mapping[str, Any] = schema
        for part in setting.parts[:-1]:
            concrete = KEYS[part[1:-1]][0] if part.startswith("<") else part
            if setting.required:  # its parents are required too
                assert concrete in node.get("required", []), setting.path
            node = node["properties"][concrete]
        last = setting.parts[-1]
        for concrete in KEYS[last[1:-1]] if last.startswith("<") else (last,):
            assert (concrete in node.get("required", [])) == setting.required, setting.path


# -- the shipped policies -------------------------------------------------------------------
def leaves(node: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Each place of the policy a declared setting must cover: a declared path, or else a
    scalar, a list or an empty map."""
    if any(s.matches(path) for s in ALL):
        return
    if isinstance(node, Mapping) and node:
        for key, value in node.items():
            yield from leaves(value, (*path, str(key)))
    else:
        yield path


@pytest.mark.parametrize("policy", POLICIES.values(), ids=POLICIES.keys())
def test_every_setting_of_the_shipped_policies_is_declared(policy: Path) -> None:
    undeclared = [".".join(p) for p in leaves(load_document(policy).data)]
    assert undeclared == [], f"declare these settings in their rule, KPI or CORE: {undeclared}"


def test_an_undeclared_setting_is_noticed() -> None:
    data = load_document(POLICIES["default"]).data
    data["history"]["squash_tolerance"] = "2h"
    data["priorities"]["P1"]["page_within"] = "1m"
    found = {".".join(p) for p in leaves(data)}
    assert found == {"history.squash_tolerance", "priorities.P1.page_within"}


def test_declared_defaults_are_the_default_policys_values() -> None:
    data = load_document(POLICIES["default"]).data
    checked = 0
    for setting in ALL:
        if setting.placeholders or setting.default in (None, REQUIRED) or not setting.type.convert:
            continue
        node = data
        for part in setting.parts:
            node = node.get(part) if isinstance(node, Mapping) else None
        if node is not None:
            assert setting.read(data) == setting.type.convert(setting.default), setting.path
            checked += 1
    assert checked >= 5


# -- the typed Policy agrees with the declarations --------------------------------------------
def resolve(obj: Any, accessor: str, keys: Mapping[str, str]) -> Any:
    """``priorities[<priority>].acknowledge_within`` on a Policy."""
    for attribute, key in re.findall(r"(\w+)|\[([^\]]+)\]", accessor):
        if attribute:
            obj = getattr(obj, attribute)
        else:
            name = re.fullmatch(r"<([a-z_]+)>", key)
            obj = obj.get(keys[name[1]] if name else key)
    return obj


def loaded(path: Path) -> Policy:
    return load_policy(path.parent, SchemaSet(PROJECT / "schemas"))


@pytest.mark.parametrize("name", POLICIES)
def test_policy_accessors_read_what_the_generic_reader_reads(name: str) -> None:
    policy = loaded(POLICIES[name])
    data = policy.doc.data
    compared = 0
    for setting in ALL:
        if setting.accessor is None:
            continue
        for keys in setting.expansions(data):
            typed = resolve(policy, setting.accessor, keys)
            generic = setting.read(data, **keys)
            if isinstance(typed, Target):  # structured: the Policy has its own types
                assert (typed.min, typed.max) == (generic.get("min"), generic.get("max"))
                assert set(typed.by_priority) == set(generic.get("by_priority", {}))
            elif setting.type.convert is None:
                assert len(typed) == len(generic or ()), setting.path
            else:
                assert typed == generic, (setting.path, keys, typed, generic)
            compared += 1
    assert compared > 60


def test_every_policy_field_is_a_declared_setting() -> None:
    accessors = [s.accessor for s in ALL if s.accessor]
    roots = {re.split(r"[.\[]", a)[0] for a in accessors}
    fields = {f.name for f in dataclasses.fields(Policy)} - {"path", "doc"}
    assert fields - roots == set(), "declare a Setting with this accessor"
    for cls, prefix in (
        (PriorityPolicy, "priorities[<priority>]"),
        (ChangeTypePolicy, "change_types[<type>]"),
    ):
        for f in dataclasses.fields(cls):
            assert f"{prefix}.{f.name}" in accessors, f"{cls.__name__}.{f.name} is not declared"


def test_the_reader_uses_defaults_and_refuses_a_missing_required_setting() -> None:
    assert BACKDATE_TOLERANCE.read({}) == timedelta(hours=1)
    assert BACKDATE_TOLERANCE.read({"history": {"backdate_tolerance": "2d"}}) == timedelta(days=2)
    assert ACKNOWLEDGE_WITHIN.read(
        {"priorities": {"P1": {"acknowledge_within": "1w"}}}, priority="P1"
    ) == timedelta(weeks=1)
    with pytest.raises(ConfigError, match=r"priorities\.P2\.acknowledge_within is not set"):
        ACKNOWLEDGE_WITHIN.read({"priorities": {"P1": {}}}, priority="P2")
    with pytest.raises(TypeError, match="give priority"):
        ACKNOWLEDGE_WITHIN.read({})


# -- declarations are consistent --------------------------------------------------------------
def test_a_setting_declared_twice_differently_is_refused() -> None:
    twin = dataclasses.replace(BACKDATE_TOLERANCE, default="2h")

    class Twin(Rule):
        settings: ClassVar[tuple[Setting, ...]] = (twin,)

    with pytest.raises(ValueError, match="declared twice"):
        declared([*RULES, Twin])


def test_open_maps_and_base_settings_cannot_be_generated() -> None:
    open_map = Setting("teams.<team>.pager", LINES, None, "who is paged")
    with pytest.raises(ValueError, match="not a fixed set of keys"):
        policy_schema([open_map])
    in_base = Setting("history.since", DURATION, None, "twice")
    with pytest.raises(ValueError, match="already in the base"):
        policy_schema([in_base])


def test_shared_settings_are_declared_once() -> None:
    by_path: dict[str, Setting] = {}
    for setting in [*CORE, *(s for r in RULES for s in r.settings), *KPI_SETTINGS]:
        assert by_path.setdefault(setting.path, setting) is setting, setting.path


@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_documentation_lists_the_declared_settings(rule: type[Rule]) -> None:
    section = rule.doc_sections()["Policy settings"]
    for setting in rule.settings:
        assert f"``{setting.path}``" in section, (rule.id, setting.path)
    if not rule.settings:
        assert section.strip().startswith("none.")


# -- a new rule with a new setting --------------------------------------------------------------
REOPEN_WITHIN = Setting(
    "sample_rule.reopen_within",
    DURATION,
    "7d",
    "how long after closure an incident may be reopened instead of opening a new one",
)


class IncReopenedLate(Rule):
    """An incident was reopened long after it was closed.

    What it checks:
      Each ``reopened`` entry is at most ``sample_rule.reopen_within`` after ``closed_at``.

    Why auditors care:
      A late reopen hides a new incident inside an old record.
    """

    id = "INC-REOPENED-LATE"
    summary = "incident reopened long after closure"
    kinds = ("incident",)
    settings = (REOPEN_WITHIN,)
    examples = overlays("incident", failing="reopened: []", passing="reopened: []")

    def check(self, ctx: Context) -> Iterator[Finding]:
        limit = ctx.setting(REOPEN_WITHIN)
        for inc in ctx.ledger.incidents.values():
            for entry in inc.reopened:
                if inc.closed_at and entry.at and entry.at - inc.closed_at > limit:
                    yield self.finding(inc, "reopened late", "reopened", entry.index, "at")


REOPENED = INCIDENT.replace("status: open", "status: closed") + (
    "acknowledged_at: 2026-03-04T09:20:00Z\nmitigated_at: 2026-03-04T09:40:00Z\n"
    "resolved_at: 2026-03-04T10:00:00Z\nclosed_at: 2026-03-05T10:00:00Z\n"
    "resolution: Restarted the connection pooler and confirmed checkout recovered.\n"
    "reopened:\n  - {at: 2026-03-09T10:00:00Z, reason: The errors came back after the weekend.}\n"
)


def with_new_rule(repo: Repo, setting: str, monkeypatch: pytest.MonkeyPatch) -> Repo:
    """The rule declared and both copies of the policy schema regenerated, as
    ``python -m opsledger.rules.policy_schema`` does (the packaged copy here a folder of
    the test's: the policy is held to it too)."""
    import shutil

    from opsledger.model import policy as policy_module

    schema = render(policy_schema(declared([*RULES, IncReopenedLate])))
    (repo.root / "schemas/policy.schema.json").write_text(schema, encoding="utf-8")
    packaged = repo.root.parent / "packaged-schemas"
    shutil.copytree(defaults_dir() / "schemas", packaged, dirs_exist_ok=True)
    (packaged / "policy.schema.json").write_text(schema, encoding="utf-8")
    monkeypatch.setattr(policy_module, "packaged_schemas", lambda: packaged)
    policy = repo.root / "policy.yaml"
    policy.write_text(policy.read_text(encoding="utf-8") + setting, encoding="utf-8")
    repo.write("records/incidents/INC-2026-0001.yaml", REOPENED)
    return repo


def findings(repo: Repo) -> list[Finding]:
    ledger = load_ledger(repo.root)
    as_of = datetime(2026, 3, 31, tzinfo=UTC)
    ctx = Context(ledger, as_of, BusinessCalendar.of(ledger.policy))
    return list(IncReopenedLate().check(ctx))


def test_a_new_rule_reads_its_new_setting_without_a_policy_field(
    repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_new_rule(repo, "sample_rule:\n  reopen_within: 3d\n", monkeypatch)
    assert [f.message for f in findings(repo)] == ["reopened late"]  # 4 days after closure


def test_a_new_setting_has_its_declared_default(
    repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_new_rule(repo, "", monkeypatch)
    assert findings(repo) == []  # 4 days is within the default 7d


def test_the_generated_schema_types_the_new_setting(
    repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_new_rule(repo, "sample_rule:\n  reopen_within: soon\n", monkeypatch)
    with pytest.raises(ConfigError, match="'soon' is not valid: a duration like 15m"):
        load_ledger(repo.root)


def test_without_regenerating_the_schema_refuses_the_new_setting(repo: Repo) -> None:
    policy = repo.root / "policy.yaml"
    policy.write_text(policy.read_text() + "sample_rule:\n  reopen_within: 3d\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="unexpected property 'sample_rule'"):
        load_ledger(repo.root)


def test_the_new_rule_documents_its_setting() -> None:
    section = IncReopenedLate.doc_sections()["Policy settings"]
    assert section.strip().startswith("``sample_rule.reopen_within`` (duration like 15m, 4h, 2d or")
    assert "default 7d" in section
    leaf = policy_schema(declared([IncReopenedLate]))["properties"]["sample_rule"]
    assert leaf["properties"]["reopen_within"]["title"].startswith("How long after")
    assert "required" not in leaf  # it has a default


def test_regenerating_writes_both_copies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from opsledger.rules import policy_schema as module

    for target in TARGETS:
        (tmp_path / target).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / target).write_text("{}\n", encoding="utf-8")
    monkeypatch.setattr(module, "PROJECT", tmp_path)
    assert module.main(["--check"]) == 1
    assert module.main([]) == 0
    assert module.main(["--check"]) == 0
    for target in TARGETS:
        assert (tmp_path / target).read_text(encoding="utf-8") == render(policy_schema())
