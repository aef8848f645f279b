"""Executable examples: each rule's failing and passing example, as data.

An example is a few record files, each an *overlay* on a complete base record of its kind
(:data:`BASE`) that passes every rule: the overlay's fields replace the base's (mappings
merge, lists are replaced, ``~`` removes a field; service catalog entries merge by ``id``;
a Markdown ``body`` replaces the base sections of the same headings). History rules' examples
are a short list of commits, each with its date, author and files, played into a real git
repository. The documentation shows the overlays as written, comments included, and a test
(``tests/test_rule_examples.py``) runs every example through the audit: the failing one
must make its rule fire, the passing one must leave it silent.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from opsledger.loading import load_text

#: "now" for the examples unless they say otherwise
AS_OF = "2026-03-31T12:00:00Z"

SERVICES = """\
- id: orders-db
  name: Orders database
  tier: 1
  owner: lena.fischer@example.com
  availability_target: 99.95
  escalation:
    - {tier: 2, team: platform-oncall}
    - {tier: 3, team: database-engineering}
  runbooks: [RB-0003]
- id: storefront
  name: Storefront
  tier: 2
  owner: omar.haddad@example.com
  availability_target: 99.9
"""

INCIDENT = """\
id: INC-2026-0042
title: Checkout failing - orders-db connection pool exhausted
priority: P1
status: closed
service: orders-db
detection: automated
source: monitoring
commander: lena.fischer@example.com
impact: About 20% of checkout attempts failed for 38 minutes; no orders were lost.
detected_at: 2026-03-04T09:12:00Z
acknowledged_at: 2026-03-04T09:17:00Z
bridge_opened_at: 2026-03-04T09:20:00Z
mitigated_at: 2026-03-04T09:50:00Z
resolved_at: 2026-03-04T10:40:00Z
closed_at: 2026-03-06T16:00:00Z
pir: PIR-2026-0042
runbooks_used: [RB-0003]
resolution: Rolled back the 09:00 deploy that halved the pool size and restarted the pods.
notifications:
  - at: 2026-03-04T09:25:00Z
    kind: initial
    audience: [customer-support, leadership]
    channel: status-page
    summary: Checkout is failing for some customers; the team is on it.
  - at: 2026-03-04T09:50:00Z
    kind: update
    audience: [customer-support, leadership]
    channel: status-page
    summary: Service restored by rolling back the 09:00 deploy; monitoring.
  - at: 2026-03-04T10:20:00Z
    kind: update
    audience: [customer-support, leadership]
    channel: status-page
    summary: Checkout stable for 30 minutes; the pool fix is being verified.
  - at: 2026-03-04T10:45:00Z
    kind: resolution
    audience: [customer-support, leadership]
    channel: status-page
    summary: Resolved; the review follows in PIR-2026-0042.
escalations:
  - at: 2026-03-04T09:30:00Z
    to_tier: 3
    team: database-engineering
    context: Pool exhausted on orders-db since 09:12, right after the 09:00 deploy.
    troubleshooting: Restarted two app pods and raised the pool to 80, with no change.
    impact_assessment: About 20% of checkouts failing and the share is rising.
"""

CHANGE = """\
id: CHG-2026-0107
title: Raise the orders-db connection pool to 120
type: normal
risk: high
status: implemented
services: [orders-db, storefront]
requested_by: lena.fischer@example.com
implementer: marco.rossi@example.com
description: Raise max_connections on orders-db from 60 to 120 and the pgbouncer pool to match.
justification: The pool was exhausted in INC-2026-0042; peak usage is now 55 of 60 connections.
impact: Connections drop for about 5 seconds while pgbouncer reloads; checkout retries absorb it.
window:
  start: 2026-03-10T21:00:00Z
  end: 2026-03-10T23:00:00Z
testing:
  summary: Load test at twice peak traffic on staging with the new pool; p99 stayed under 80 ms.
  evidence: [https://ci.example.com/orders-db/load-test/runs/4411]
rollback:
  plan: Set max_connections back to 60 with the pool-size playbook and reload pgbouncer.
  trigger: Checkout error rate above 1% or replication lag above 30 seconds.
  tested: true
  estimated_duration: 15m
approvals:
  - {by: priya.shah@example.com, role: cab, at: 2026-03-09T10:00:00Z, decision: approved}
  - {by: omar.haddad@example.com, role: service-owner, at: 2026-03-09T11:00:00Z,
     decision: approved}
notifications:
  - {at: 2026-03-09T12:00:00Z, audience: [customer-support], channel: "slack:#changes"}
implementation:
  started_at: 2026-03-10T21:05:00Z
  completed_at: 2026-03-10T22:10:00Z
  outcome: successful
  validation: Pool usage peaked at 61% in the 22:00 batch and checkout p99 was unchanged.
"""

PIR = """\
---
id: PIR-2026-0042
incident: INC-2026-0042
status: approved
authors: [lena.fischer@example.com]
reviewers:
  - {by: priya.shah@example.com, at: 2026-03-09T15:00:00Z, decision: approved}
root_cause: A deploy at 09:00 halved the orders-db connection pool from 60 to 30.
contributing_factors:
  - The pool size was not part of the deploy review checklist.
actions:
  - id: A1
    title: Add a saturation alert on orders-db pool usage above 80%
    type: detective
    owner: lena.fischer@example.com
    due: "2026-04-30"
    status: open
    verification: The alert fires in the staging load test at 85% pool usage.
---
## Summary
Checkout failed for about 20% of customers for 38 minutes after a deploy halved the pool.

## Impact
About 1,900 checkout attempts failed; retries recovered most orders and none were lost.

## Timeline
| time | event |
|---|---|
| 09:00 | Deploy halves the orders-db connection pool |
| 09:12 | Pool saturation alert fires |
| 09:50 | Deploy rolled back; checkout recovers |

## Root cause
The deploy's configuration template set the pool size to 30 instead of 60.

## Contributing factors
The pool size was not part of the deploy review checklist.

## Corrective actions
A1 adds a saturation alert on orders-db pool usage above 80%.

## Lessons learned
Configuration changes that size shared resources need the same review as code.
"""

RUNBOOK = """\
---
id: RB-0003
title: Orders database connection pool exhaustion
services: [orders-db]
owner: lena.fischer@example.com
last_reviewed: "2026-03-01"
---
## Symptoms
Checkout latency above 2 s and the orders-db pool gauge above 90% on the orders dashboard.

## Diagnosis
Run `SELECT count(*) FROM pg_stat_activity` and compare with max_connections.

## Mitigation
Restart the pgbouncer pods one at a time; raise default_pool_size to 80 if load persists.

## Escalation
Page database-engineering through the orders-db escalation policy after 15 minutes.

## Verification
Pool usage stays under 60% for 30 minutes and checkout errors return to baseline.
"""

PROBLEM = """\
---
id: PRB-2026-0007
title: Deploys resize the orders-db connection pool without review
status: resolved
services: [orders-db]
owner: lena.fischer@example.com
opened_at: 2026-03-05T10:00:00Z
incidents: [INC-2026-0042]
root_cause: The deploy template sets the orders-db pool size, so any deploy can halve it unreviewed.
known_error_at: 2026-03-06T15:00:00Z
workaround: Roll back the deploy and restart the pgbouncer pods one at a time, as RB-0003 says.
runbooks: [RB-0003]
actions:
  - id: A1
    title: Move the orders-db pool size from the deploy template into reviewed config
    type: preventive
    owner: marco.rossi@example.com
    due: "2026-03-20"
    status: done
    verification: A deploy that changes the pool size fails the configuration check in CI.
fix_change: CHG-2026-0107
resolved_at: 2026-03-11T09:00:00Z
---
## Problem statement
Deploys that touch the orders-db configuration can shrink its connection pool (INC-2026-0042).

## Investigation
The pool size lives in the deploy template; three deploys in a year changed it unreviewed.

## Root cause
Any deploy can halve the pool because the template, not reviewed config, sets its size.

## Workaround
Roll back the deploy and restart the pgbouncer pods one at a time (RB-0003).

## Permanent fix
CHG-2026-0107 moved the pool size into reviewed configuration and raised it to 120.
"""

#: kind -> (path of the base record, its text); the policy's base is the default policy
BASE: Mapping[str, tuple[str, str]] = {
    "incident": ("records/incidents/INC-2026-0042.yaml", INCIDENT),
    "change": ("records/changes/CHG-2026-0107.yaml", CHANGE),
    "pir": ("records/pirs/PIR-2026-0042.md", PIR),
    "runbook": ("runbooks/RB-0003-orders-db-pool.md", RUNBOOK),
    "problem": ("records/problems/PRB-2026-0007.md", PROBLEM),
    "services": ("records/services.yaml", SERVICES),
}
FOLDERS = {
    "incident": "records/incidents/{}.yaml",
    "change": "records/changes/{}.yaml",
    "pir": "records/pirs/{}.md",
    "runbook": "runbooks/{}.md",
    "problem": "records/problems/{}.md",
}


class _Dumper(yaml.SafeDumper):
    """Never anchors and aliases (records refuse them), even for a value used twice."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


@dataclass(frozen=True)
class File:
    """One file of an example: the base record of ``kind`` (or, with ``id``, a copy of it
    under that ID and file name) with ``overlay`` and ``body`` applied; or its deletion."""

    kind: str
    overlay: str = ""
    body: str = ""
    id: str = ""
    deleted: bool = False

    @property
    def path(self) -> str:
        if self.kind == "policy":
            return "policy.yaml"
        if self.id:
            return FOLDERS[self.kind].format(self.id)
        return BASE[self.kind][0]

    def render(self) -> str:
        if self.deleted:
            return f"git rm {self.path}"
        parts = [textwrap.dedent(self.overlay).strip("\n"), textwrap.dedent(self.body).strip()]
        return "\n".join(p for p in parts if p)

    def text(self, policy: str) -> str:
        """The file's content: the base (``policy`` is the default policy's text) with the
        overlay applied."""
        base = policy if self.kind == "policy" else BASE[self.kind][1]
        markdown = self.kind in ("pir", "runbook", "problem")
        doc = load_text(base, markdown=markdown)
        data: Any = doc.data
        if self.id:
            data = {**data, "id": self.id}
        if self.overlay.strip():
            overlay = load_text(textwrap.dedent(self.overlay)).data
            data = merge_entries(data, overlay) if self.kind == "services" else merge(data, overlay)
        front = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1000)
        if not markdown:
            return front
        body = replace_sections(doc.body or "", textwrap.dedent(self.body))
        return f"---\n{front}---\n{body}"


@dataclass(frozen=True)
class Commit:
    """A commit of a history example: when it landed, who made it, what it wrote."""

    at: str
    author: str  # "Name <email>"
    files: tuple[File, ...]


@dataclass(frozen=True)
class Example:
    """Record files written over the base repository, or commits played into git."""

    files: tuple[File, ...] = ()
    commits: tuple[Commit, ...] = ()
    #: shown without the file's name (one overlay on the rule's own kind of record)
    bare: bool = False

    def render(self) -> str:
        """What the documentation shows."""
        if self.commits:
            blocks = []
            for n, commit in enumerate(self.commits, 1):
                head = f"# commit {n}: {commit.at} by {commit.author}"
                blocks.append("\n".join([head, *map(_shown, commit.files)]))
            return "\n".join(blocks)
        if self.bare:
            return "\n".join(f.render() for f in self.files)
        return "\n".join(map(_shown, self.files))


def _shown(file: File) -> str:
    text = file.render()
    if file.deleted:
        return text
    return f"# {file.path}\n{text}" if text else f"# {file.path}"


@dataclass(frozen=True)
class Examples:
    failing: Example
    passing: Example
    as_of: str = AS_OF


def example(*files: File) -> Example:
    """Files written over the base repository."""
    return Example(files)


def played(*commits: Commit) -> Example:
    """Commits played, in order, into a git repository holding the policy and catalog."""
    return Example(commits=commits)


def commit(at: str, author: str, *files: File) -> Commit:
    return Commit(at, author, files)


def overlays(
    kind: str, failing: str, passing: str, *, as_of: str = AS_OF, markdown: bool = False
) -> Examples:
    """One file of ``kind`` each: YAML overlays (``markdown``: body sections)."""

    def one(text: str) -> Example:
        return Example((File(kind, body=text) if markdown else File(kind, text),), bare=True)

    return Examples(one(failing), one(passing), as_of)


def merge(base: Any, overlay: Any) -> Any:
    """``overlay`` over ``base``: mappings merge (``~`` removes a key), anything else is
    replaced."""
    if isinstance(base, dict) and isinstance(overlay, dict):
        merged = dict(base)
        for key, value in overlay.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = merge(base.get(key), value)
        return merged
    return overlay


def merge_entries(base: list[Any], overlay: list[Any]) -> list[Any]:
    """The service catalog's entries merged by ``id`` (new ones added at the end)."""
    by_id = {entry["id"]: entry for entry in base}
    for entry in overlay:
        by_id[entry["id"]] = merge(by_id.get(entry["id"]), entry)
    return list(by_id.values())


def replace_sections(body: str, overlay: str) -> str:
    """The body with each ``## Heading`` section of ``overlay`` replacing the section of
    the same heading (or added at the end)."""
    sections = _sections(body)
    for heading, text in _sections(overlay).items():
        sections[heading] = text
    return "\n".join(f"{heading}\n{text.strip()}\n" for heading, text in sections.items())


def _sections(body: str) -> dict[str, str]:
    found: dict[str, str] = {}
    current = ""
    for line in body.splitlines():
        if line.startswith("## "):
            current = line.strip()
            found[current] = ""
        elif current:
            found[current] += line + "\n"
    return found
