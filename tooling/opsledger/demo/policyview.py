"""The demo's policy: the packaged default policy, adapted to the generated period, and parsed.

The demo repository ships the package's ``defaults/policy.yaml`` nearly verbatim. Two additions
keep it truthful for any period: a year-end freeze window for every year end the period
crosses that the default does not already list, and the fixed bank holidays (New Year,
Christmas, Boxing Day, with weekend substitutes) inside the period that it does not list.
``history.since`` is set to ``null`` (every record was born in this repository). The generator
reads its deadlines from the same text it writes, so the records and the policy always agree.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from typing import Any

import yaml

from opsledger.demo.clock import DAY, Calendar, ts
from opsledger.timeutil import parse_duration  # the one duration grammar

PRIORITIES = ("P1", "P2", "P3", "P4")
CHANGE_TYPES = ("standard", "normal", "emergency")


def default_text(*parts: str) -> str:
    """A text file of the package's ``defaults`` folder."""
    node = resources.files("opsledger").joinpath("defaults", *parts)
    return node.read_text(encoding="utf-8")


def schema_files() -> list[tuple[str, bytes]]:
    """``(file name, bytes)`` of every JSON Schema in the package defaults, sorted by name."""
    folder = resources.files("opsledger").joinpath("defaults", "schemas")
    items = [(node.name, node.read_bytes()) for node in folder.iterdir()]
    return sorted((name, data) for name, data in items if name.endswith(".json"))


@dataclass(frozen=True)
class PriorityRules:
    """The clocks of one priority."""

    acknowledge: timedelta
    bridge: timedelta | None
    initial: timedelta
    update: timedelta
    restore: timedelta
    resolve: timedelta
    pir_required: bool
    pir_due_business_days: int
    notification_required: bool


@dataclass(frozen=True)
class ChangeRules:
    """The approval and notice rules of one change type."""

    approvals_required: int
    roles: tuple[str, ...]
    notify_before: timedelta
    retrospective_business_days: int


@dataclass(frozen=True)
class Freeze:
    """A change freeze window; ``services`` empty means every service."""

    name: str
    start: datetime
    end: datetime
    services: tuple[str, ...]

    def hits(self, keys: list[str], start: datetime, end: datetime) -> bool:
        """True when a window ``[start, end]`` on ``keys`` overlaps this freeze."""
        if self.services and not set(keys) & set(self.services):
            return False
        return start < self.end and end > self.start


@dataclass(frozen=True)
class PolicyView:
    """The numbers the generator plans against, read from the demo's policy text."""

    text: str
    calendar: Calendar
    priorities: Mapping[str, PriorityRules]
    changes: Mapping[str, ChangeRules]
    risk_approvals: Mapping[str, int]
    approvers: Mapping[str, tuple[str, ...]]
    freezes: tuple[Freeze, ...]
    vague_phrases: tuple[str, ...]
    max_due: timedelta
    review_every: timedelta
    runbook_sections: tuple[str, ...]
    pir_sections: tuple[str, ...]
    placeholders: tuple[str, ...]
    min_words: int
    min_chars: int
    late_record_business_days: int

    def approvals_needed(self, change_type: str, risk: str) -> int:
        """Approvals a change of this type and risk needs (the larger of type and risk)."""
        rules = self.changes[change_type]
        if rules.approvals_required == 0 and not rules.roles:
            return 0
        return max(rules.approvals_required, self.risk_approvals.get(risk, 0))

    def in_freeze(self, keys: list[str], start: datetime, end: datetime) -> bool:
        """True when the window overlaps any freeze for any of ``keys``."""
        return any(freeze.hits(keys, start, end) for freeze in self.freezes)


def _bank_holidays(year: int) -> list[date]:
    """New Year's Day, Christmas Day and Boxing Day with weekend substitute days."""
    result: list[date] = []
    new_year = date(year, 1, 1)
    while new_year.weekday() >= 5:
        new_year += DAY
    result.append(new_year)
    christmas, boxing = date(year, 12, 25), date(year, 12, 26)
    taken: set[date] = set()
    for holiday in (christmas, boxing):
        observed = holiday
        while observed.weekday() >= 5 or observed in taken:
            observed += DAY
        taken.add(observed)
        result.append(observed)
    return result


def _year_end_freeze(year: int) -> tuple[datetime, datetime]:
    return datetime(year, 12, 18, 18, 0, tzinfo=UTC), datetime(year + 1, 1, 4, 8, 0, tzinfo=UTC)


def adapt_policy_text(text: str, start: date, end: date) -> str:
    """The default policy text with holidays and freezes for the period, ``since: null``."""
    data: dict[str, Any] = yaml.safe_load(text)
    holidays = {str(item) for item in data.get("holidays") or []}
    for year in range(start.year, end.year + 1):
        holidays.update(item.isoformat() for item in _bank_holidays(year) if start <= item < end)
    block = "".join(f'  - "{item}"\n' for item in sorted(holidays))
    text = re.sub(r"(?m)^holidays:[^\n]*\n(?:  - [^\n]*\n)*", f"holidays:\n{block}", text, count=1)

    freezes = data.get("freeze_windows") or []
    starts = {str(item.get("start")) for item in freezes}
    extra = ""
    for year in range(start.year - 1, end.year + 1):
        begin, finish = _year_end_freeze(year)
        if begin.date() < end and finish.date() > start and ts(begin) not in starts:
            extra += (
                f"  - name: Year-end trading freeze {year}\n"
                f'    start: "{ts(begin)}"\n'
                f'    end: "{ts(finish)}"\n'
            )
    if extra:
        match = re.search(r"(?m)^freeze_windows:[^\n]*\n((?:  [^\n]*\n)*)", text)
        if match is not None and not match.group(0).rstrip().endswith("[]"):
            text = text[: match.end()] + extra + text[match.end() :]
        elif match is not None:
            text = text[: match.start()] + "freeze_windows:\n" + extra + text[match.end() :]
    return re.sub(r"(?m)^(history:\n(?:  [^\n]*\n)*?  since:)[^\n]*", r"\1 null", text, count=1)


def _rules(data: Mapping[str, Any]) -> PriorityRules:
    bridge = data.get("bridge_within")
    return PriorityRules(
        acknowledge=parse_duration(data["acknowledge_within"]),
        bridge=parse_duration(bridge) if bridge else None,
        initial=parse_duration(data["initial_notification_within"]),
        update=parse_duration(data["update_every"]),
        restore=parse_duration(data["restore_within"]),
        resolve=parse_duration(data["resolve_within"]),
        pir_required=bool(data.get("pir_required")),
        pir_due_business_days=int(data.get("pir_due_business_days") or 10),
        notification_required=bool(data.get("notification_required", True)),
    )


def parse_policy(text: str) -> PolicyView:
    """Read the planning numbers from a policy text."""
    data: dict[str, Any] = yaml.safe_load(text)
    changes = {
        name: ChangeRules(
            approvals_required=int(data["changes"][name]["approvals_required"]),
            roles=tuple(data["changes"][name]["approver_roles"]),
            notify_before=parse_duration(data["changes"][name]["notify_before"]),
            retrospective_business_days=int(
                data["changes"][name].get("retrospective_approval_within_business_days", 2)
            ),
        )
        for name in CHANGE_TYPES
    }
    freezes = tuple(
        Freeze(
            name=str(item["name"]),
            start=datetime.fromisoformat(str(item["start"]).replace("Z", "+00:00")),
            end=datetime.fromisoformat(str(item["end"]).replace("Z", "+00:00")),
            services=tuple(item.get("services") or ()),
        )
        for item in data.get("freeze_windows") or []
    )
    history = data.get("history") or {}
    return PolicyView(
        text=text,
        calendar=Calendar.from_policy(
            data["timezone"], data["business_days"], [str(d) for d in data["holidays"]]
        ),
        priorities={name: _rules(data["priorities"][name]) for name in PRIORITIES},
        changes=changes,
        risk_approvals={k: int(v) for k, v in data["changes"]["risk_approvals"].items()},
        approvers={role: tuple(people) for role, people in data["approvers"].items()},
        freezes=freezes,
        vague_phrases=tuple(str(p).lower() for p in data["actions"]["vague_phrases"]),
        max_due=parse_duration(data["actions"]["max_due"]),
        review_every=parse_duration(data["runbooks"]["review_every"]),
        runbook_sections=tuple(data["runbooks"]["required_sections"]),
        pir_sections=tuple(data["pir"]["required_sections"]),
        placeholders=tuple(str(p).lower() for p in data["statements"]["placeholders"]),
        min_words=int(data["statements"]["min_words"]),
        min_chars=int(data["statements"]["min_chars"]),
        late_record_business_days=int(history.get("late_record_business_days", 2)),
    )


def load_demo_policy(start: date, end: date) -> PolicyView:
    """The demo policy for the period ``[start, end)``."""
    # (imported here: the regulatory planner needs the context, which needs this view)
    from opsledger.demo.regulatory import policy_text

    text = adapt_policy_text(default_text("policy.yaml"), start, end)
    return parse_policy(policy_text(text))
