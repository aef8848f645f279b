"""One field diff for history: the site's audit trail and ``opsledger history --format
json`` list the same field changes for every version of a record, on a real git
repository whose records change lists of mappings (approvals, notifications, actions),
nested mappings (window, rollback), and gain, lose, reorder and reshape fields."""

from __future__ import annotations

import copy
import json
import random
from html.parser import HTMLParser
from typing import Any

import markdown
import pytest
import yaml

from opsledger.history.model import FieldChange, _flatten, diff_fields, value_text
from opsledger.site.common import audit_trail
from opsledger.site.data import collect

from conftest import InvokeCli, Repo, git, git_init

AS_OF = "2026-04-30T12:00:00Z"
CHANGE: dict[str, Any] = {
    "id": "CHG-2026-0001",
    "title": "Raise the orders-db connection pool to 120",
    "type": "normal",
    "risk": "medium",
    "status": "requested",
    "services": ["orders-db"],
    "requested_by": "lena.fischer@example.com",
    "implementer": "marco.rossi@example.com",
    "description": "Raise max_connections on orders-db from 60 to 120.",
    "justification": "The pool was exhausted in INC-2026-0001.",
    "impact": "Connections drop for 5 seconds while pgbouncer reloads.",
    "window": {"start": "2026-03-10T20:00:00Z", "end": "2026-03-10T21:00:00Z"},
    "testing": {"summary": "Load test on staging.", "evidence": ["https://ci.example.com/1"]},
    "rollback": {
        "plan": "Set max_connections back to 60.",
        "trigger": "Checkout errors above 1%.",
        "tested": True,
        "estimated_duration": "15m",
    },
}
APPROVAL = {"by": "omar.haddad@example.com", "role": "service-owner", "decision": "approved"}
INCIDENT: dict[str, Any] = {
    "id": "INC-2026-0001",
    "title": "Orders database connection pool exhausted",
    "priority": "P2",
    "status": "open",
    "service": "orders-db",
    "detection": "automated",
    "source": "monitoring",
    "commander": "lena.fischer@example.com",
    "impact": "Checkout failed for a fifth of customers.",
    "detected_at": "2026-03-04T09:12:00Z",
}
NOTICE = {"kind": "initial", "audience": ["customers"], "channel": "status-page"}
PIR: dict[str, Any] = {
    "id": "PIR-2026-0001",
    "incident": "INC-2026-0001",
    "status": "draft",
    "authors": ["lena.fischer@example.com"],
    "root_cause": "A deploy halved the pool.",
}


def action(action_id: str, status: str = "open", **extra: Any) -> dict[str, Any]:
    return {
        "id": action_id,
        "title": f"Action {action_id}",
        "type": "corrective",
        "owner": "lena.fischer@example.com",
        "due": "2026-04-15",
        "status": status,
        **extra,
    }


def change_versions() -> list[dict[str, Any] | str | None]:
    """Each commit's CHG-2026-0001: a mapping, unreadable text, or None (deleted)."""
    v1 = copy.deepcopy(CHANGE)
    v2 = copy.deepcopy(v1)  # first approval, window moved, rollback no longer tested
    v2["approvals"] = [{**APPROVAL, "at": "2026-03-05T10:00:00Z"}]
    v2["window"]["start"] = "2026-03-11T20:00:00Z"
    v2["rollback"]["tested"] = False
    v3 = copy.deepcopy(v2)  # second approval with conditions; estimated duration removed
    v3["approvals"].append(
        {**APPROVAL, "by": "priya.shah@example.com", "role": "cab", "at": "2026-03-06T10:00:00Z"}
    )
    v3["approvals"][0]["conditions"] = "Only after the backup check."
    del v3["rollback"]["estimated_duration"]
    v3["notifications"] = [{"at": "2026-03-07T09:00:00Z", "audience": ["ops"], "channel": "email"}]
    v4 = copy.deepcopy(v3)  # the first approval removed: the second moves up
    del v4["approvals"][0]
    v4["notifications"][0]["audience"] = ["ops", "support"]
    v4["status"] = "approved"
    v5 = copy.deepcopy(v4)  # rollback becomes text, window loses its end, testing removed
    v5["rollback"] = "See the runbook."
    del v5["window"]["end"]
    del v5["testing"]
    v6 = copy.deepcopy(v5)  # the reverse: rollback a mapping again, approvals a scalar
    v6["rollback"] = {"plan": "Set it back.", "tested": True}
    v6["approvals"] = "pending"
    return [v1, v2, v3, "id: [unclosed\n", v4, v5, v6, None, v1]


def incident_versions() -> list[dict[str, Any] | str | None]:
    v1 = copy.deepcopy(INCIDENT)
    v2 = copy.deepcopy(v1)
    v2["notifications"] = [{**NOTICE, "at": "2026-03-04T09:30:00Z"}]
    v2["acknowledged_at"] = "2026-03-04T09:20:00Z"
    v3 = copy.deepcopy(v2)
    v3["notifications"].append({**NOTICE, "kind": "update", "at": "2026-03-04T10:30:00Z"})
    v3["notifications"][0]["audience"] = "customers"  # a list becomes a scalar
    v3["timeline"] = [{"at": "2026-03-04T09:40:00Z", "event": "Pool raised"}]
    v4 = copy.deepcopy(v3)
    v4["notifications"] = v4["notifications"][::-1]  # reordered: positions swap
    v4["status"] = "resolved"
    v4["priority"] = "P3"
    del v4["commander"]
    return [v1, v2, v3, v4]


def pir_versions() -> list[dict[str, Any] | str | None]:
    v1 = {**PIR, "actions": [action("A1"), action("A2")]}
    v2 = {**PIR, "actions": [action("A2"), action("A1")]}  # reordered: keyed by id, no change
    v3 = {**PIR, "actions": [action("A2", "done"), action("A3", verification="Alert fired.")]}
    v4 = {**PIR, "status": "approved", "actions": [action("A2", "done"), action("A2")]}
    v5 = {**PIR, "status": "approved", "actions": [action("A2", "done"), {"title": "no id"}]}
    return [v1, v2, v3, v4, v5]


RECORDS = {
    "CHG-2026-0001": ("records/changes/CHG-2026-0001.yaml", change_versions()),
    "INC-2026-0001": ("records/incidents/INC-2026-0001.yaml", incident_versions()),
    "PIR-2026-0001": ("records/pirs/PIR-2026-0001.md", pir_versions()),
}


def write(repo: Repo, path: str, version: dict[str, Any] | str | None) -> None:
    target = repo.root / path
    if version is None:
        target.unlink()
        return
    text = version if isinstance(version, str) else yaml.safe_dump(version, sort_keys=False)
    if path.endswith(".md"):
        text = f"---\n{text}---\n## Summary\nPool exhausted after a deploy.\n"
    repo.write(path, text, dedent=False)


@pytest.fixture
def history_repo(repo: Repo) -> Repo:
    git_init(repo.root)
    git(repo.root, "add", "-A")
    git(repo.root, "commit", "-qm", "scaffold", date="2026-03-01T08:00:00Z")
    step = 0
    for path, versions in RECORDS.values():
        for version in versions:
            step += 1
            write(repo, path, version)
            when = f"2026-03-{1 + step // 8:02d}T{8 + step % 8:02d}:00:00Z"
            git(repo.root, "add", "-A", date=when)
            git(repo.root, "commit", "-qm", f"{path} step {step}", date=when)
    return repo


class Trail(HTMLParser):
    """The audit-trail table of a rendered record page: one list of cell texts per row,
    line breaks inside a cell kept."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[list[str]] = []
        self.cell: list[str] | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag == "td":
            self.cell = []
        elif tag == "br" and self.cell is not None:
            self.cell.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self.cell is not None:
            self.rows[-1].append("".join(self.cell))
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def site_rows(repo: Repo, record_id: str) -> list[tuple[str, list[str]]]:
    """(short commit, the lines of its "Fields changed" cell) per version, as shown."""
    data = collect(repo.root, AS_OF)
    html = markdown.markdown("\n".join(audit_trail(data, record_id)), extensions=["tables"])
    rows = [row for row in Trail(html).rows if row]
    return [(row[0], row[3].split("\n")) for row in rows]


def cli_rows(cli: InvokeCli, repo: Repo, record_id: str) -> list[dict[str, Any]]:
    result = cli("history", record_id, "--format", "json", "--repo", repo.root)
    assert result.status == 0, result.err
    return list(json.loads(result.out)["trail"])


@pytest.mark.parametrize("record_id", sorted(RECORDS))
def test_site_and_history_command_show_the_same_changes(
    history_repo: Repo, cli: InvokeCli, record_id: str
) -> None:
    trail = cli_rows(cli, history_repo, record_id)
    shown = site_rows(history_repo, record_id)
    assert len(trail) == len(RECORDS[record_id][1]) == len(shown)
    changed = 0
    for row, (commit, cell) in zip(trail, shown, strict=True):
        assert commit == row["commit"][:10]
        if row["event"] != "changed":
            assert cell[0].startswith(row["event"]), (cell, row["event"])
            continue
        expected = [
            f"{c['field']}: {value_text(c['old'])} → {value_text(c['new'])}" for c in row["changes"]
        ]
        assert cell == (expected or ["no field changed"]), row["commit"]
        changed += 1
    assert changed >= 3


def test_the_changes_are_the_expected_ones(history_repo: Repo, cli: InvokeCli) -> None:
    trail = cli_rows(cli, history_repo, "CHG-2026-0001")
    fields = [[c["field"] for c in row.get("changes", [])] for row in trail]
    events = [row["event"] for row in trail]
    assert events == [
        "created",
        "changed",
        "changed",
        "unreadable",
        "changed",
        "changed",
        "changed",
        "deleted",
        "changed",
    ]
    assert fields[1] == [
        "approvals.0.at",
        "approvals.0.by",
        "approvals.0.decision",
        "approvals.0.role",
        "rollback.tested",
        "window.start",
    ]
    assert "approvals.0.conditions" in fields[2] and "approvals.1.by" in fields[2]
    assert "rollback.estimated_duration" in fields[2] and "notifications.0.audience" in fields[2]
    # the unreadable version is skipped: v4 is compared with v3
    assert "approvals.1.by" in fields[4] and "notifications.0.audience" in fields[4]
    assert fields[5] == [
        "rollback",
        "rollback.plan",
        "rollback.tested",
        "rollback.trigger",
        "testing.evidence",
        "testing.summary",
        "window.end",
    ]
    pir = cli_rows(cli, history_repo, "PIR-2026-0001")
    assert pir[1]["changes"] == []  # reordering actions keyed by id changes nothing
    assert [c["field"] for c in pir[2]["changes"]] == [
        "actions.A1.due",
        "actions.A1.id",
        "actions.A1.owner",
        "actions.A1.status",
        "actions.A1.title",
        "actions.A1.type",
        "actions.A2.status",
        "actions.A3.due",
        "actions.A3.id",
        "actions.A3.owner",
        "actions.A3.status",
        "actions.A3.title",
        "actions.A3.type",
        "actions.A3.verification",
    ]


def reference(old: dict[str, Any], new: dict[str, Any]) -> list[FieldChange]:
    """The definition the walk must agree with: flatten both versions, compare by name."""
    before, after = _flatten(old), _flatten(new)
    return [
        FieldChange(name, before.get(name), after.get(name))
        for name in sorted(set(before) | set(after))
        if before.get(name) != after.get(name)
    ]


def mutate(rng: random.Random, value: Any, depth: int = 0) -> Any:
    """A random edit of a record-like value: change, drop, add, reorder, reshape."""
    choice = rng.random()
    if isinstance(value, dict) and value and choice < 0.7:
        out = dict(value)
        key = rng.choice(list(out))
        roll = rng.random()
        if roll < 0.2:
            del out[key]
        elif roll < 0.35:
            out[f"k{rng.randint(0, 3)}"] = rng.choice([None, 1, "x", [1], {"a": 1}])
        else:
            out[key] = mutate(rng, out[key], depth + 1)
        return out
    if isinstance(value, list) and value and choice < 0.7:
        out_list = list(value)
        roll = rng.random()
        if roll < 0.2:
            out_list.reverse()
        elif roll < 0.4:
            del out_list[rng.randrange(len(out_list))]
        elif roll < 0.55:
            out_list.append(copy.deepcopy(rng.choice(out_list)))  # maybe a duplicate id
        else:
            index = rng.randrange(len(out_list))
            out_list[index] = mutate(rng, out_list[index], depth + 1)
        return out_list
    return rng.choice([None, 0, 1, "text", True, [], {}, ["a"], {"id": "A1"}, [{"id": "A9"}]])


def test_walk_agrees_with_the_flattened_definition() -> None:
    rng = random.Random(20260304)
    seeds = [c for c in change_versions() if isinstance(c, dict)]
    seeds += [c for c in incident_versions() + pir_versions() if isinstance(c, dict)]
    for _ in range(3000):
        old = copy.deepcopy(rng.choice(seeds))
        for _ in range(rng.randint(1, 3)):
            old = mutate(rng, old)
        new = old
        for _ in range(rng.randint(1, 3)):
            new = mutate(rng, new)
        if isinstance(old, dict) and isinstance(new, dict):
            assert diff_fields(old, new) == reference(old, new), (old, new)
