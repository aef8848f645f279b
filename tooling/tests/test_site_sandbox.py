"""The theme's Jinja sandbox decides each attribute as an uncached check would, every time.

Its decisions are remembered by the types involved (the checks depend on nothing else);
an object that fakes its class is decided afresh each time. The payload tests in
``test_repository_code.py`` show the sandbox stopping real template attacks.
"""

from __future__ import annotations

import types
from typing import Any

import jinja2
import pytest
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from opsledger.site.plugin import sandboxed


class Disguised:
    """Claims to be of another class (``isinstance`` believes ``__class__``)."""

    def __init__(self, claimed: type) -> None:
        self.claimed = claimed

    @property  # type: ignore[misc]
    def __class__(self) -> type:
        return self.claimed


def _function() -> None:
    pass


class _Thing:
    name = "x"

    def method(self) -> None:
        pass


CASES: list[tuple[Any, str]] = [
    (_function, "__globals__"),
    (_function, "__name__"),
    (_function, "__code__"),
    (_Thing().method, "__func__"),
    (_Thing().method, "__self__"),
    (_Thing, "mro"),
    (_Thing, "name"),
    (_Thing(), "name"),
    (_Thing(), "_private"),
    (types, "FunctionType"),
    (jinja2.Environment(), "from_string"),
    ("text", "upper"),
    ("text", "__class__"),
    ({"a": 1}, "items"),
    ((x for x in ()), "gi_frame"),
    (_Thing(), "env"),
]


@pytest.fixture
def box() -> Any:
    return sandboxed(jinja2.Environment())


def _value(obj: Any, attr: str) -> Any:
    if attr == "env":
        return jinja2.Environment()
    return getattr(obj, attr, None)


def test_every_decision_is_the_uncached_one_twice_over(box: Any) -> None:
    expected = [box._decide(obj, attr, _value(obj, attr)) for obj, attr in CASES]
    assert True in expected and False in expected
    for _ in range(2):
        got = [box.is_safe_attribute(obj, attr, _value(obj, attr)) for obj, attr in CASES]
        assert got == expected


def test_refused_cases(box: Any) -> None:
    refused = {
        (getattr(obj, "__name__", type(obj).__name__), attr)
        for obj, attr in CASES
        if not box.is_safe_attribute(obj, attr, _value(obj, attr))
    }
    assert ("_function", "__globals__") in refused
    assert ("Environment", "from_string") in refused
    assert ("types", "FunctionType") in refused
    assert ("_Thing", "env") in refused  # an attribute whose value is an environment
    assert ("str", "upper") not in refused


def test_an_object_faking_its_class_is_decided_each_time(box: Any) -> None:
    safe = Disguised(str)
    unsafe = Disguised(jinja2.Environment)
    assert box.is_safe_attribute(safe, "claimed", str) is True
    assert box.is_safe_attribute(unsafe, "claimed", str) is False
    assert box.is_safe_attribute(safe, "claimed", str) is True
    assert box.is_safe_attribute(unsafe, "claimed", str) is False
    # nor does the disguise reach the remembered decision for its real type
    assert box.is_safe_attribute(_Thing(), "claimed", str) is True
    assert box.is_safe_attribute(unsafe, "claimed", str) is False


def _same(mine: Any, jinjas: Any) -> bool:
    if isinstance(jinjas, jinja2.Undefined):
        return type(mine) is type(jinjas) and mine._undefined_hint == jinjas._undefined_hint
    if getattr(jinjas, "__wrapped__", None) is not None:  # a sandboxed str.format
        return getattr(mine, "__wrapped__", None) == jinjas.__wrapped__ and mine is not jinjas
    return mine is jinjas or mine == jinjas


def test_attribute_lookups_are_jinjas_before_and_after_the_decisions_are_remembered(
    box: Any,
) -> None:
    cases = [
        *CASES,
        ("text", "format"),
        ("text", "format_map"),
        ({"a": 1}, "a"),  # an item reached with a dot
        ({"a": 1}, "missing"),
        (_Thing(), "missing"),
        (Disguised(jinja2.Environment), "claimed"),
    ]
    for _ in range(3):  # first decided, then remembered
        for obj, attr in cases:
            mine = box.getattr(obj, attr)
            jinjas = SandboxedEnvironment.getattr(box, obj, attr)
            assert _same(mine, jinjas), (obj, attr, mine, jinjas)


def test_str_format_stays_sandboxed_once_attributes_are_remembered(box: Any) -> None:
    template = box.from_string("{{ s.upper() }} {{ s.format(x) }}")
    assert template.render(s="{0}", x=1) == "{0} 1"
    attack = box.from_string("{{ s.format(x) }}")
    for _ in range(2):
        with pytest.raises(SecurityError):
            attack.render(s="{0.__class__.__mro__}", x=1)
