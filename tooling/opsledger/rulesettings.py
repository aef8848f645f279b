"""Which rules run, at which severity, and what a waiver may cover: settings that must
never switch the gate off silently.

Integrity rules (:data:`INTEGRITY`: SCHEMA, REF-ID, WAIVER-EXPIRED) judge the gate's own
inputs: a record that does not match its schema, a duplicated or misnamed ID (the duplicate
is not even loaded), a risk acceptance past its expiry. policy.yaml can neither ignore,
downgrade nor waive them, and ``rules.select`` always includes them; each such attempt is a
configuration error naming ``policy.yaml:line:column``; ``--ignore`` cannot drop them
either (exit status 2). On the command line ``--select`` still focuses a run on any rules
(a developer checking one rule), but a selection that leaves no rule at all is a usage
error, never "0 errors".

A waiver names one rule by its exact ID (a glob or an unknown ID waived nothing before,
silently) and one record, or a glob no wider than a kind and year (``INC-2026-*``) or a
subfolder (``records/incidents/2025/*``): ``*``, ``?*``, ``[A-Z]*`` or ``INC-*`` would
waive the rule for every record and are refused.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, NoReturn

from opsledger import rules as registry
from opsledger.errors import ConfigError, OpsledgerError
from opsledger.model.layout import KINDS
from opsledger.model.policy import Policy
from opsledger.neutral import short

if TYPE_CHECKING:
    from opsledger.rules import Rule

INTEGRITY = frozenset({"SCHEMA", "REF-ID", "WAIVER-EXPIRED"})
_WILDCARDS = re.compile(r"[*?\[]")
_SPECIFIC = re.compile(r"(?:INC|CHG|PIR|PRB)-[0-9]{4}|RB-[0-9]{2}")


def expand(token: str) -> set[str]:
    """Rule IDs named by ``token``: an ID, a glob (``REF-*``) or a family (``INC``)."""
    token = token.strip().upper()
    if not token:
        return set()
    matches = {
        rid for rid in registry.RULES_BY_ID if rid == token or fnmatch.fnmatchcase(rid, token)
    }
    return matches or {rid for rid in registry.RULES_BY_ID if rid.startswith(token + "-")}


def _unknown(item: str, where: str) -> str:
    return f"unknown rule {item!r} in {where}; valid rules: {', '.join(registry.RULES_BY_ID)}"


def _expand_all(items: Iterable[str], where: str) -> set[str]:
    chosen: set[str] = set()
    for item in items:
        found = expand(item)
        if not found and item.strip():
            raise OpsledgerError(_unknown(item, where))
        chosen |= found
    return chosen


def selected_rules(policy: Policy, select: Iterable[str], ignore: Iterable[str]) -> list[Rule]:
    """Rules to run: command-line --select replaces policy's; ignores add up.

    policy.yaml's ``rules.select`` always includes the integrity rules. A selection that
    leaves no rule is an OpsledgerError (exit status 2).
    """
    check_rule_settings(policy)
    select, ignore = tuple(select), tuple(ignore)
    cli_select = _expand_all(select, "--select")
    from_policy = _expand_all(policy.select, "policy.yaml rules.select")
    wanted = cli_select or (from_policy | INTEGRITY if from_policy else set(registry.RULES_BY_ID))
    unwanted = _expand_all(ignore, "--ignore") | _expand_all(policy.ignore, "rules.ignore")
    if unwanted & INTEGRITY:
        raise OpsledgerError(
            f"--ignore {','.join(ignore)}: {', '.join(sorted(unwanted & INTEGRITY))} cannot be "
            "ignored (integrity rules always run); use --select to focus a run on other rules"
        )
    rules = [rule() for rule in registry.RULES if rule.id in wanted and rule.id not in unwanted]
    if not rules:
        given = " ".join([*(f"--select {s}" for s in select), *(f"--ignore {i}" for i in ignore)])
        raise OpsledgerError(
            f"no rule left to run ({given or 'policy.yaml rules'}): an audit of nothing "
            "would pass everything; select at least one rule"
        )
    return rules


def check_kpi_targets(policy: Policy) -> None:
    """Refuse a ``kpi_targets`` entry that names no KPI: the KPIs, the reports and the site
    would stop on it (exit status 2), so the gate stops on it first, at its line."""
    if not policy.kpi_targets:
        return
    from opsledger.kpis.registry import KPIS_BY_ID  # not for validate of records alone

    for name, target in policy.kpi_targets.items():
        if name not in KPIS_BY_ID:
            line, column = policy.doc.position(("kpi_targets", name), key=True)
            raise ConfigError(
                f"{policy.path}:{line}:{column}: unknown KPI {short(name, 80)!r} in kpi_targets; "
                f"valid KPIs: {', '.join(KPIS_BY_ID)}"
            )
        if name == "availability" and (target.max is not None or target.by_priority):
            # each tier-1 service is judged against its availability_target (the catalog),
            # this min standing in where it has none: a max or a per-priority target
            # would be shown and never applied
            extra = "max" if target.max is not None else "by_priority"
            line, column = policy.doc.position(("kpi_targets", name, extra), key=True)
            raise ConfigError(
                f"{policy.path}:{line}:{column}: kpi_targets.availability takes only min (the "
                "availability a tier-1 service without its own availability_target in "
                "records/services.yaml must reach); remove "
                f"{extra}"
            )


def check_rule_settings(policy: Policy) -> None:
    """Refuse rule settings and waivers in policy.yaml that would disable the gate."""
    doc = policy.doc

    def fail(path: tuple[str | int, ...], message: str, *, key: bool = False) -> NoReturn:
        line, column = doc.position(path, key=key)
        raise ConfigError(f"{policy.path}:{line}:{column}: {message}")

    for part, items in (("select", policy.select), ("ignore", policy.ignore)):
        for i, item in enumerate(items):
            found = expand(item)
            if not found and item.strip():
                fail(("rules", part, i), _unknown(item, f"rules.{part}"))
            if part == "ignore" and found & INTEGRITY:
                fail(
                    ("rules", part, i),
                    f"{', '.join(sorted(found & INTEGRITY))} cannot be ignored: integrity rules "
                    "always run (a record that fails them must fail the gate)",
                )
    for name in policy.severity:
        rule = name.strip().upper()
        if rule not in registry.RULES_BY_ID:
            fail(("rules", "severity", name), _unknown(name, "rules.severity"), key=True)
        if rule in INTEGRITY:
            fail(
                ("rules", "severity", name),
                f"the severity of {rule} cannot be changed: it is an integrity rule",
                key=True,
            )
    for waiver in policy.waivers:
        rule = waiver.rule.strip().upper()
        at = ("waivers", waiver.index, "rule")
        if _WILDCARDS.search(rule):
            fail(at, f"waiver rule {waiver.rule!r} is a pattern; a waiver names one rule ID")
        if rule not in registry.RULES_BY_ID:
            fail(at, _unknown(waiver.rule, "waivers"))
        if rule in INTEGRITY:
            fail(
                at,
                f"{rule} cannot be waived: fix the record instead "
                "(integrity rules are never waived)",
            )
        if too_broad(waiver.record):
            fail(
                ("waivers", waiver.index, "record"),
                f"waiver record {waiver.record!r} would waive {rule} for every record; "
                "name one record (INC-2026-0042), or a kind and year (INC-2026-*)",
            )
    from opsledger.sampling.settings import SIZES, out_of_order

    wrong = out_of_order(SIZES.read(doc.data))
    if wrong is not None:
        fail(("sampling", "sizes", wrong[0]), wrong[1])


def too_broad(pattern: str) -> bool:
    """Would this waiver record glob cover a whole kind (or everything)?"""
    wildcard = _WILDCARDS.search(pattern)
    if wildcard is None:
        return False  # one record ID or path
    literal = pattern[: wildcard.start()]
    for kind in KINDS:
        folder = kind.folder + "/"
        if literal.startswith(folder):
            rest = literal[len(folder) :]
            if "/" in rest.strip("/") or (rest.endswith("/") and rest.strip("/")):
                return False  # a subfolder: records/incidents/2025/*
            return _SPECIFIC.match(rest) is None
    return _SPECIFIC.match(literal) is None
