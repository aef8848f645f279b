"""Types for incident scenarios: what broke, how it was noticed, mitigated and fixed.

Texts use ``{name}``, ``{key}``, ``{users}``, ``{unit}``, ``{alert}``, ``{team}`` and
``{vendor}`` from the service (see ``Service.words``). Statements are specific on purpose: none
of them uses a placeholder word of the policy (``tbd``, ``fixed``, ``resolved``, ``standard``…)
and no action title contains a vague phrase (``investigate``, ``improve monitoring``…); the
planted defects are the only exceptions.
"""

from __future__ import annotations

from dataclasses import dataclass

ALL_KINDS = (
    "web",
    "api",
    "payments",
    "db",
    "auth",
    "search",
    "wms",
    "queue",
    "batch",
    "workplace",
    "network",
)


@dataclass(frozen=True)
class Action:
    """A PIR action template: type, title, how completion is verified."""

    type: str
    title: str
    verification: str


@dataclass(frozen=True)
class Scenario:
    """One kind of incident."""

    key: str
    category: str
    kinds: tuple[str, ...]
    priorities: tuple[str, ...]
    title: str
    symptom: str
    troubleshooting: str
    mitigation: str
    fix: str
    cause: str
    factors: tuple[str, ...]
    actions: tuple[Action, ...]
    emergency: str
