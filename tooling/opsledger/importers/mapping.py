"""How ServiceNow values become opsledger fields: the documented defaults and overrides.

Defaults (each can be overridden on the command line):

* **priority**: by the leading number, ``1 - Critical`` → P1, ``2 - High`` → P2,
  ``3 - Moderate`` → P3, ``4 - Low`` → P4, ``5 - Planning`` → P4; the bare words
  (critical, high, moderate/medium, low, planning) map the same way. Any other value stops
  the import and asks for ``--priority-map "VALUE=P2"``.
* **state**: New → open, Resolved → resolved, Closed → closed, Canceled → not imported
  (reported); every other state (Active, In Progress, On Hold, Awaiting …) → open.
  Numeric states (1 New, 2 In Progress, 3 On Hold, 6 Resolved, 7 Closed, 8 Canceled) too.
* **service**: from ``cmdb_ci`` (``--service-from`` picks ``assignment_group`` or
  ``category`` instead; repeat it for a fallback order), turned into a service key
  (``SAP ERP`` → ``sap-erp``) unless ``--service-map "SAP ERP=erp"`` says otherwise. Empty
  (``?``) → ``--default-service`` (``unknown``) with ``service`` listed in ``import_gaps``.
* **detection/source** from ``contact_type``: phone, e-mail, walk-in, chat, self-service,
  portal, virtual agent → manual / service-desk; monitoring, event, alert, automated →
  automated / monitoring. Anything else (or empty) → manual / other with ``detection`` and
  ``source`` listed in ``import_gaps``; ``--contact-map "Integration=automated/monitoring"``
  adds a mapping.
* **category**: ``category`` (``--category-from subcategory`` or ``both``, written
  ``Category / Subcategory``). Empty → ``category`` listed in ``import_gaps``.
* **caused_by_change**: ``caused_by`` (ServiceNow "Caused by Change"), else ``rfc``
  ("Change Request", which may be the fix rather than the cause: ``--change-field
  caused_by`` uses only the first). ``CHG0000404`` → ``CHG-<incident year>-0404``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from opsledger.errors import OpsledgerError

PRIORITIES = ("P1", "P2", "P3", "P4")
_PRIORITY_NUMBERS = {"1": "P1", "2": "P2", "3": "P3", "4": "P4", "5": "P4"}
_PRIORITY_WORDS = {
    "critical": "P1",
    "high": "P2",
    "moderate": "P3",
    "medium": "P3",
    "low": "P4",
    "planning": "P4",
}

NEW, OPEN, RESOLVED, CLOSED, CANCELED = "new", "open", "resolved", "closed", "canceled"
_STATES = {
    "new": NEW,
    "1": NEW,
    "resolved": RESOLVED,
    "6": RESOLVED,
    "closed": CLOSED,
    "7": CLOSED,
    "canceled": CANCELED,
    "cancelled": CANCELED,
    "8": CANCELED,
}

MANUAL_DESK = ("manual", "service-desk")
AUTOMATED = ("automated", "monitoring")
CONTACT_DEFAULTS: Mapping[str, tuple[str, str]] = {
    **dict.fromkeys(
        (
            "phone",
            "email",
            "e mail",
            "walk in",
            "walkin",
            "chat",
            "self service",
            "selfservice",
            "portal",
            "service portal",
            "virtual agent",
        ),
        MANUAL_DESK,
    ),
    **dict.fromkeys(
        (
            "monitoring",
            "event",
            "event monitoring",
            "event management",
            "alert",
            "alerts",
            "automated",
            "automatic",
        ),
        AUTOMATED,
    ),
}
SOURCES = ("monitoring", "service-desk", "customer", "vendor", "security", "other")
SERVICE_FIELDS = ("cmdb_ci", "assignment_group", "category")
CHANGE_FIELDS = ("caused_by", "rfc")
_KEY = re.compile(r"[a-z0-9][a-z0-9-]{0,62}\Z")
_NUMBER = re.compile(r"[A-Za-z]*0*([0-9]+)\Z")


def state_class(value: str) -> str:
    return _STATES.get(value.strip().casefold(), OPEN)


def contact_key(value: str) -> str:
    return " ".join(re.split(r"[\s_-]+", value.casefold())).strip()


def service_key(value: str) -> str:
    """``SAP ERP`` → ``sap-erp``; '' when nothing usable is left."""
    ascii_text = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    key = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return key[:63].rstrip("-")


def number_of(external: str) -> int | None:
    """``INC0012345`` → 12345; None when the value has no trailing number."""
    match = _NUMBER.match(external)
    if match is None or len(match.group(1)) > 1000:
        return None  # no number, or one of digits int() refuses (over 4,300) or no ID holds
    return int(match.group(1))


@dataclass(frozen=True)
class FieldMap:
    """Every mapping choice of one import (see the module documentation for defaults)."""

    priorities: Mapping[str, str] = field(default_factory=dict)
    contacts: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    service_from: tuple[str, ...] = ("cmdb_ci",)
    services: Mapping[str, str] = field(default_factory=dict)
    default_service: str = "unknown"
    category_from: str = "category"
    change_fields: tuple[str, ...] = CHANGE_FIELDS

    def priority(self, value: str) -> str | None:
        """``1 - Critical`` → P1…; None when the value maps to nothing."""
        text = value.strip()
        chosen = self.priorities.get(text.casefold())
        if chosen is not None:
            return chosen
        lead = re.match(r"([0-9]+)\b", text)
        if lead:
            return _PRIORITY_NUMBERS.get(lead.group(1))
        word = text.rsplit("-", 1)[-1].strip().casefold()
        return _PRIORITY_WORDS.get(word)

    def contact(self, value: str) -> tuple[str, str] | None:
        key = contact_key(value)
        return self.contacts.get(key) or CONTACT_DEFAULTS.get(key)

    def service(self, values: Mapping[str, str]) -> str | None:
        """The service key from the first non-empty ``service_from`` field, or None."""
        for name in self.service_from:
            raw = values.get(name, "")
            if not raw:
                continue
            mapped = self.services.get(raw.casefold())
            if mapped is not None:
                return mapped
            key = service_key(raw)
            if key:
                return key
        return None

    def category(self, category: str, subcategory: str) -> str:
        if self.category_from == "subcategory":
            return subcategory
        if self.category_from == "both":
            return " / ".join(part for part in (category, subcategory) if part)
        return category


def _pairs(option: str, values: Iterable[str]) -> Iterable[tuple[str, str]]:
    for item in values:
        raw, sep, target = item.rpartition("=")
        if not sep or not raw.strip() or not target.strip():
            raise OpsledgerError(f"{option} {item!r}: write it as 'SERVICENOW VALUE=VALUE'")
        yield raw.strip(), target.strip()


def build_mapping(
    *,
    priority_map: Iterable[str] = (),
    contact_map: Iterable[str] = (),
    service_from: Iterable[str] = (),
    service_map: Iterable[str] = (),
    default_service: str = "unknown",
    category_from: str = "category",
    change_fields: Iterable[str] = (),
) -> FieldMap:
    """Check the command-line overrides and build the mapping."""
    priorities: dict[str, str] = {}
    for raw, target in _pairs("--priority-map", priority_map):
        if target.upper() not in PRIORITIES:
            raise OpsledgerError(f"--priority-map {raw}={target}: the target must be P1…P4")
        priorities[raw.casefold()] = target.upper()
    contacts: dict[str, tuple[str, str]] = {}
    for raw, target in _pairs("--contact-map", contact_map):
        detection, _, source = target.lower().partition("/")
        if detection not in ("automated", "manual"):
            raise OpsledgerError(
                f"--contact-map {raw}={target}: start with automated or manual, "
                "optionally followed by /SOURCE (e.g. automated/monitoring)"
            )
        source = source or ("monitoring" if detection == "automated" else "service-desk")
        if source not in SOURCES:
            raise OpsledgerError(
                f"--contact-map {raw}={target}: source must be one of {', '.join(SOURCES)}"
            )
        contacts[contact_key(raw)] = (detection, source)
    services: dict[str, str] = {}
    for raw, target in _pairs("--service-map", service_map):
        if not _KEY.match(target):
            raise OpsledgerError(
                f"--service-map {raw}={target}: a service key is lower-case letters, digits "
                "and hyphens, as in records/services.yaml"
            )
        services[raw.casefold()] = target
    if not _KEY.match(default_service):
        raise OpsledgerError(
            f"--default-service {default_service!r}: a service key is lower-case letters, "
            "digits and hyphens"
        )
    return FieldMap(
        priorities=priorities,
        contacts=contacts,
        service_from=tuple(dict.fromkeys(service_from)) or ("cmdb_ci",),
        services=services,
        default_service=default_service,
        category_from=category_from,
        change_fields=tuple(dict.fromkeys(change_fields)) or CHANGE_FIELDS,
    )
