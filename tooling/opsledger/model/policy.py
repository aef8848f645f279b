"""The governance policy (``policy.yaml``) as typed values.

Every number the audit and the KPIs use comes from here. The file is loaded with the same
strict loader as records and checked against ``schemas/policy.schema.json``; any problem is
a configuration error (exit status 2) naming file, line and column.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from opsledger.errors import ConfigError
from opsledger.loading import Document, Limits, LoadError, load_document
from opsledger.model import fields as f
from opsledger.model.policyread import PolicyReader, check_honourable, freeze_span
from opsledger.model.regulatory import Regime, read_regimes
from opsledger.schemas import SchemaSet, packaged_schemas

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
POLICY_FILE = "policy.yaml"


@dataclass(frozen=True)
class PriorityPolicy:
    acknowledge_within: timedelta
    initial_notification_within: timedelta
    update_every: timedelta
    restore_within: timedelta
    resolve_within: timedelta
    pir_required: bool
    bridge_within: timedelta | None = None
    pir_due_business_days: int | None = None
    notification_required: bool = True


@dataclass(frozen=True)
class ChangeTypePolicy:
    approvals_required: int
    approver_roles: tuple[str, ...]
    notify_before: timedelta
    approved_before_window: bool = False
    retrospective_approval_within_business_days: int | None = None


@dataclass(frozen=True)
class FreezeWindow:
    name: str
    start: datetime
    end: datetime
    services: tuple[str, ...] = ()


@dataclass(frozen=True)
class Waiver:
    index: int
    rule: str
    record: str
    reason: str
    approved_by: str
    expires: date


@dataclass(frozen=True)
class Target:
    min: float | None = None
    max: float | None = None
    by_priority: Mapping[str, Target] = field(default_factory=dict)


@dataclass(frozen=True)
class Policy:
    path: str
    doc: Document = field(repr=False, compare=False)
    timezone: ZoneInfo
    business_days: frozenset[int]
    holidays: frozenset[date]
    history_since: date | None
    late_record_business_days: int
    backdate_tolerance: timedelta
    rubber_stamp_repeats: int
    priorities: Mapping[str, PriorityPolicy]
    change_types: Mapping[str, ChangeTypePolicy]
    risk_approvals: Mapping[str, int]
    approvers: Mapping[str, frozenset[str]]
    freeze_windows: tuple[FreezeWindow, ...]
    vague_phrases: tuple[str, ...]
    action_max_due: timedelta
    runbook_review_every: timedelta
    runbook_sections: tuple[str, ...]
    pir_sections: tuple[str, ...]
    placeholders: tuple[str, ...]
    min_words: int
    min_chars: int
    backlog: Mapping[str, timedelta]
    kpi_targets: Mapping[str, Target]
    limits: Limits
    select: tuple[str, ...]
    ignore: tuple[str, ...]
    severity: Mapping[str, str]
    waivers: tuple[Waiver, ...]
    #: regulatory reporting regimes (``regulatory.regimes``; none by default)
    regulatory: tuple[Regime, ...] = ()


def _target(d: Mapping[str, Any]) -> Target:
    def num(key: str) -> float | None:
        value = d.get(key)
        return float(value) if isinstance(value, int | float) else None

    return Target(
        min=num("min"),
        max=num("max"),
        by_priority={p: _target(t) for p, t in f.mapping(d, "by_priority").items()},
    )


def fingerprint(policy: Policy) -> str:
    """Everything the policy says, exactly as written: its data with each mapping's key
    order and each value's type (``10`` is not ``10.0``: a verdict prints the value, and
    the order of ``priorities`` ranks them). Two loads with the same fingerprint read
    alike; what ``site serve`` compares before reusing anything made under a policy."""
    return repr(policy.doc.data)


def load_policy(root: Path, schemas: SchemaSet) -> Policy:
    """Load, validate and type ``policy.yaml``; raise :class:`ConfigError` on any problem."""
    path = root / POLICY_FILE
    try:
        doc = load_document(path)
    except LoadError as exc:
        raise ConfigError(exc.at(POLICY_FILE)) from None
    problems = schemas.check("policy", doc)
    own = ""
    if not problems and not schemas.same_as(packaged_schemas(), "policy"):
        # the policy is read by the shape opsledger's own schema gives it: a repository's
        # copy may be stricter, never looser (a value of another type or range would stop
        # the run with an internal error, or be read otherwise)
        problems = SchemaSet.of(packaged_schemas()).check("policy", doc)
        own = " (opsledger's own policy schema; schemas/policy.schema.json allows it)"
    if problems:
        first = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ConfigError(f"{POLICY_FILE}:{first.line}:{first.column}: {first.message}{more}{own}")
    read = PolicyReader(doc, POLICY_FILE)
    policy = _build(doc, read)
    check_honourable(policy, read)
    return policy


def _build(doc: Document, read: PolicyReader) -> Policy:
    """The typed policy; every duration, date and timestamp is read strictly (``0m`` is
    zero; a value the tool cannot parse is a ConfigError at its line, never a default)."""
    d: Mapping[str, Any] = doc.data
    zone = read.zone(("timezone",))

    def need(priority: str, key: str) -> timedelta:
        return read.required_duration(("priorities", priority, key))

    history = f.mapping(d, "history")
    changes = f.mapping(d, "changes")
    limits = f.mapping(d, "limits")
    rules = f.mapping(d, "rules")
    return Policy(
        path=POLICY_FILE,
        doc=doc,
        timezone=zone,
        business_days=frozenset(WEEKDAYS.index(day) for day in f.strings(d, "business_days")),
        holidays=frozenset(
            read.required_day(("holidays", i)) for i, _ in enumerate(d.get("holidays") or ())
        ),
        history_since=read.day(("history", "since")),
        late_record_business_days=int(history.get("late_record_business_days", 2)),
        backdate_tolerance=_default(
            read.duration(("history", "backdate_tolerance")), timedelta(hours=1)
        ),
        rubber_stamp_repeats=int(history.get("rubber_stamp_repeats", 2)),
        priorities={
            name: PriorityPolicy(
                acknowledge_within=need(name, "acknowledge_within"),
                initial_notification_within=need(name, "initial_notification_within"),
                update_every=need(name, "update_every"),
                restore_within=need(name, "restore_within"),
                resolve_within=need(name, "resolve_within"),
                pir_required=bool(p["pir_required"]),
                bridge_within=read.duration(("priorities", name, "bridge_within")),
                pir_due_business_days=p.get("pir_due_business_days"),
                notification_required=p.get("notification_required", True),
            )
            for name, p in f.mapping(d, "priorities").items()
        },
        change_types={
            name: ChangeTypePolicy(
                approvals_required=int(c["approvals_required"]),
                approver_roles=f.strings(c, "approver_roles"),
                notify_before=read.required_duration(("changes", name, "notify_before")),
                approved_before_window=bool(c.get("approved_before_window", False)),
                retrospective_approval_within_business_days=c.get(
                    "retrospective_approval_within_business_days"
                ),
            )
            for name, c in changes.items()
            if name != "risk_approvals"
        },
        risk_approvals=dict(f.mapping(changes, "risk_approvals")),
        approvers={
            role: frozenset(p.casefold() for p in people)
            for role, people in f.mapping(d, "approvers").items()
        },
        freeze_windows=tuple(
            FreezeWindow(w["name"], *freeze_span(read, i), f.strings(w, "services"))
            for i, w in f.mappings(d, "freeze_windows")
        ),
        vague_phrases=f.strings(f.mapping(d, "actions"), "vague_phrases"),
        action_max_due=read.required_duration(("actions", "max_due")),
        runbook_review_every=read.required_duration(("runbooks", "review_every")),
        runbook_sections=f.strings(f.mapping(d, "runbooks"), "required_sections"),
        pir_sections=f.strings(f.mapping(d, "pir"), "required_sections"),
        placeholders=f.strings(f.mapping(d, "statements"), "placeholders"),
        min_words=int(f.mapping(d, "statements")["min_words"]),
        min_chars=int(f.mapping(d, "statements")["min_chars"]),
        backlog={
            k: v
            for k in ("incident", "change", "action")
            if (v := read.duration(("backlog", k))) is not None
        },
        kpi_targets={k: _target(v) for k, v in f.mapping(d, "kpi_targets").items()},
        limits=Limits(
            max_file_bytes=int(limits.get("max_file_bytes", Limits.max_file_bytes)),
            max_depth=int(limits.get("max_depth", Limits.max_depth)),
            **{
                key: int(limits.get(key, getattr(Limits, key)))
                for key in (
                    "max_findings_per_rule_per_record",
                    "max_markdown_depth",
                    "max_markdown_delimiters",
                )
            },
        ),
        select=f.strings(rules, "select"),
        ignore=f.strings(rules, "ignore"),
        severity=dict(f.mapping(rules, "severity")),
        waivers=tuple(
            Waiver(
                i,
                w["rule"],
                w["record"],
                w["reason"],
                w["approved_by"],
                read.required_day(("waivers", i, "expires")),
            )
            for i, w in f.mappings(d, "waivers")
        ),
        regulatory=read_regimes(read),
    )


def _default(value: timedelta | None, default: timedelta) -> timedelta:
    """``value`` unless it is absent: a zero duration stays zero."""
    return default if value is None else value
