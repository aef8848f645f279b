"""History KPIs on hand-made history indexes (landing times chosen by hand) and on a real
temporary git repository."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from test_kpi_services_changes import action, change, write_pir
from test_kpis import AS_OF, RESOLUTION, incident, kpi, reasons

from opsledger.history.model import Commit, HistoryIndex, Identity, RecordHistory, Version
from opsledger.kpis import KPIS
from opsledger.timeutil import parse_timestamp

from conftest import InvokeCli, Repo, git, git_init

_shas = itertools.count(1)


def version(record_id: str, landed: str, data: Mapping[str, Any] | None) -> Version:
    """A version of ``record_id`` that landed on the branch at ``landed``."""
    when = parse_timestamp(landed)
    who = Identity("Lena Fischer", "lena.fischer@example.com")
    sha = f"{next(_shas):040x}"
    commit = Commit(sha, who, when, who, when, sha, when)
    folder = {"INC": "incidents", "CHG": "changes", "PIR": "pirs"}[record_id[:3]]
    return Version(commit, f"records/{folder}/{record_id}.yaml", "blob", data)


def index(*histories: tuple[str, list[Version]], since: date | None = None) -> HistoryIndex:
    return HistoryIndex("head", {rid: RecordHistory(rid, vs) for rid, vs in histories}, since)


HISTORY_IDS = [k.id for k in KPIS if k.history]


@pytest.mark.parametrize("kpi_id", HISTORY_IDS)
def test_history_kpis_without_history_say_no_data(repo: Repo, kpi_id: str) -> None:
    incident(repo, 1, "2026-03-02T09:00:00Z")
    result = kpi(repo, kpi_id)
    assert (result.value, result.status) == (None, "no data")
    assert result.notes == ("history unavailable",)


# --- PIR on time: business days across a weekend and two holidays -----------------------

RESOLVED_P1: dict[str, Any] = {
    "priority": "P1",
    "status": "resolved",
    "commander": "lena.fischer@example.com",
    "acknowledged_at": "2026-04-02T08:03:00Z",
    "bridge_opened_at": "2026-04-02T08:10:00Z",
    "mitigated_at": "2026-04-02T09:00:00Z",
    "resolved_at": "2026-04-02T10:00:00Z",
    "resolution": RESOLUTION,
}


def pir_versions(pir_id: str, approved_landed: str) -> list[Version]:
    return [
        version(pir_id, "2026-04-07T10:00:00Z", {"id": pir_id, "status": "draft"}),
        version(pir_id, approved_landed, {"id": pir_id, "status": "approved"}),
    ]


def test_pir_on_time_rate_counts_business_days(repo: Repo) -> None:
    # Resolved Thursday 2026-04-02. P1: 5 business days. Fri 3 April (Good Friday) and
    # Mon 6 April (Easter Monday) are holidays, Sat/Sun are not business days: Tue 7 (1),
    # Wed 8 (2), Thu 9 (3), Fri 10 (4), Mon 13 (5) -> due by the end of Monday 13 April in
    # London (BST): 2026-04-13T22:59:59.999999Z
    for number in (1, 2, 3, 4, 5):
        incident(repo, number, "2026-04-02T08:00:00Z", pir=f"PIR-2026-{number:04d}", **RESOLVED_P1)
    incident(
        repo,
        6,
        "2026-04-02T08:00:00Z",
        priority="P2",
        pir="PIR-2026-0006",
        **{k: v for k, v in RESOLVED_P1.items() if k != "priority"},
    )
    history = index(
        # 0001: approved 22:30 UTC = 23:30 BST on the 13th: on time
        ("PIR-2026-0001", pir_versions("PIR-2026-0001", "2026-04-13T22:30:00Z")),
        # 0002: approved 23:30 UTC = 00:30 BST on the 14th: late
        ("PIR-2026-0002", pir_versions("PIR-2026-0002", "2026-04-13T23:30:00Z")),
        # 0003: never approved on the branch (draft only): missed
        ("PIR-2026-0003", pir_versions("PIR-2026-0003", "2026-04-08T10:00:00Z")[:1]),
        # 0004: no PIR at all: missed. 0005: imported before adoption (2026-01-01)
        ("INC-2026-0005", [version("INC-2026-0005", "2025-12-20T10:00:00Z", {"status": "open"})]),
        ("PIR-2026-0006", pir_versions("PIR-2026-0006", "2026-04-20T10:00:00Z")),
        since=date(2026, 1, 1),
    )
    # as of 20 April noon: the P2 (10 business days: Mon 20 April) is not due yet
    result = kpi(repo, "pir_on_time_rate", history=history, as_of="2026-04-20T12:00:00Z")
    # on time: 0001 of 0001-0004 -> 1/4 = 0.25
    assert (result.value, result.n, result.status) == (0.25, 4, "missed")
    assert reasons(result) == [("INC-2026-0005", "imported before adoption")]


# --- actions on time -------------------------------------------------------------------


def test_action_on_time_rate(repo: Repo) -> None:
    incident(repo, 1, "2026-03-01T09:00:00Z")
    actions = [
        action("A1", "2026-03-10", "done"),  # done landed 23:30 on the 10th (GMT): on time
        action("A2", "2026-03-10", "done"),  # done landed 00:30 on the 11th: late
        action("A3", "2026-03-20", "open"),  # not done, due day over: late
        action("A4", "2026-04-15", "open"),  # not due yet: not counted
        action("A5", "2026-03-12", "wont-do"),  # excluded
    ]
    write_pir(repo, actions)
    base = {"id": "PIR-2026-0001", "status": "approved"}

    def state(**done: str) -> dict[str, Any]:
        return {
            **base,
            "actions": [{"id": a["id"], "status": done.get(a["id"], "open")} for a in actions],
        }

    history = index(
        (
            "PIR-2026-0001",
            [
                version("PIR-2026-0001", "2026-03-05T10:00:00Z", state()),
                version("PIR-2026-0001", "2026-03-10T23:30:00Z", state(A1="done")),
                version("PIR-2026-0001", "2026-03-11T00:30:00Z", state(A1="done", A2="done")),
            ],
        )
    )
    result = kpi(repo, "action_on_time_rate", history=history, by=("month",))
    # A1 on time; A2 and A3 late -> 1/3
    assert (round(result.value or 0, 4), result.n, result.status) == (0.3333, 3, "missed")
    assert reasons(result) == [("PIR-2026-0001#A5", "status wont-do")]
    assert {g.key: g.n for g in result.groups["month"]} == {"2026-03": 3}


# --- documentation lag, approval lead time ---------------------------------------------


def test_documentation_lag_median(repo: Repo) -> None:
    incident(repo, 1, "2026-03-02T09:00:00Z")
    incident(repo, 2, "2026-03-03T09:00:00Z")
    incident(repo, 3, "2026-03-05T09:00:00Z")
    incident(repo, 4, "2026-03-06T09:00:00Z")  # not committed yet
    incident(repo, 5, "2026-03-06T09:00:00Z")  # imported before adoption
    incident(repo, 6, "2026-03-06T09:00:00Z")  # its first version states no detection

    def first(rid: str, landed: str, detected: str) -> tuple[str, list[Version]]:
        return rid, [version(rid, landed, {"detected_at": detected})]

    history = index(
        first("INC-2026-0001", "2026-03-02T11:00:00Z", "2026-03-02T09:00:00Z"),  # 2 h
        first("INC-2026-0002", "2026-03-04T15:00:00Z", "2026-03-03T09:00:00Z"),  # 30 h
        first("INC-2026-0003", "2026-03-05T10:00:00Z", "2026-03-05T09:00:00Z"),  # 1 h
        first("INC-2026-0005", "2026-02-27T10:00:00Z", "2026-03-06T09:00:00Z"),
        ("INC-2026-0006", [version("INC-2026-0006", "2026-03-06T10:00:00Z", {})]),
        since=date(2026, 3, 1),
    )
    result = kpi(repo, "documentation_lag", history=history)
    # median(2, 30, 1) = 2 hours (mean 11 h beside it)
    assert (result.value, result.n, result.status) == (2, 3, "met")
    assert result.stats is not None and result.stats.mean == 11
    assert reasons(result) == [
        ("INC-2026-0004", "not committed on the branch yet"),
        ("INC-2026-0005", "imported before adoption"),
        (
            "INC-2026-0006",
            "neither its first nor its last committed version states a valid detected_at",
        ),
    ]


def approvals(*when: str) -> list[dict[str, Any]]:
    return [
        {"by": "priya.shah@example.com", "role": "cab", "at": at, "decision": "approved"}
        for at in when
    ]


def test_approval_lead_time_median(repo: Repo) -> None:
    c1 = change(
        repo,
        1,
        "2026-03-10T10:00:00Z",
        "2026-03-10T11:00:00Z",
        approvals=approvals("2026-03-08T09:00:00Z", "2026-03-09T09:00:00Z"),
    )
    c2 = change(repo, 2, "2026-03-12T10:00:00Z", "2026-03-12T11:00:00Z")
    c3 = change(repo, 3, "2026-03-20T10:00:00Z", "2026-03-20T11:00:00Z")
    c4 = change(
        repo,
        4,
        "2026-03-21T10:00:00Z",
        "2026-03-21T11:00:00Z",
        type="emergency",
        related_incident="INC-2026-0001",
    )
    c5 = change(repo, 5, "2026-03-22T10:00:00Z", "2026-03-22T11:00:00Z")
    from opsledger.model.ledger import load_ledger

    data = {c.id: dict(c.data) for c in load_ledger(repo.root).changes.values()}
    first = {k: v for k, v in data[c1].items() if k != "approvals"}
    history = index(
        # c1: Priya's two approvals landed together 9 March 10:00 -> 24 h before the
        # window (her second entry is no further approval: one per person, as the audit
        # counts)
        (
            c1,
            [
                version(c1, "2026-03-08T10:00:00Z", {**first, "approvals": []}),
                version(c1, "2026-03-09T10:00:00Z", data[c1]),
            ],
        ),
        # c2: approval landed 2 h after the window started -> -2 h
        (c2, [version(c2, "2026-03-12T12:00:00Z", data[c2])]),
        # c3: landed 15 March 10:00 -> 120 h
        (c3, [version(c3, "2026-03-15T10:00:00Z", data[c3])]),
        (c4, [version(c4, "2026-03-22T10:00:00Z", data[c4])]),  # emergency: not measured
        # c5: the committed version has no approval yet
        (c5, [version(c5, "2026-03-15T10:00:00Z", {**data[c5], "approvals": []})]),
    )
    result = kpi(repo, "approval_lead_time", history=history)
    # median(24, -2, 120) = 24 hours, exactly the 24 h minimum: met
    assert (result.value, result.n, result.status) == (24, 3, "met")
    assert reasons(result) == [("CHG-2026-0005", "an approval is not committed on the branch yet")]


# --- downgrades, edits after closure, reopens in history -------------------------------


def test_priority_downgrades(repo: Repo) -> None:
    for number in (1, 2, 3):
        incident(repo, number, "2026-03-02T09:00:00Z")
    history = index(
        (
            "INC-2026-0001",
            [
                version("INC-2026-0001", "2026-03-02T10:00:00Z", {"priority": "P1"}),
                version("INC-2026-0001", "2026-03-02T12:00:00Z", {"priority": "P2"}),
            ],
        ),
        (
            "INC-2026-0002",
            [
                version("INC-2026-0002", "2026-03-02T10:00:00Z", {"priority": "P3"}),
                version("INC-2026-0002", "2026-03-02T12:00:00Z", {"priority": "P2"}),
            ],
        ),
        ("INC-2026-0003", [version("INC-2026-0003", "2026-03-02T10:00:00Z", {"priority": "P2"})]),
    )
    result = kpi(repo, "priority_downgrades", history=history)
    # only INC-0001 was lowered (P1 -> P2); 0002 was raised: 1 of 3 examined, target max 0
    assert (result.value, result.n, result.status) == (1, 3, "missed")


def test_edited_after_close(repo: Repo) -> None:
    closed = {"status": "closed", "impact": "Checkout failed for a fifth of customers."}
    for number in (1, 2):
        incident(repo, number, "2026-03-02T09:00:00Z")
    write_pir(repo, [action("A1", "2026-04-30", "done")])
    write_pir(
        repo, [action("A1", "2026-04-30", "open")], id="PIR-2026-0002", incident="INC-2026-0002"
    )
    c1 = change(repo, 1, "2026-03-02T21:00:00Z", "2026-03-02T22:00:00Z")
    reopen = [{"at": "2026-03-05T09:00:00Z", "reason": "Errors came back."}]
    history = index(
        # edited: impact changed after closure
        (
            "INC-2026-0001",
            [
                version("INC-2026-0001", "2026-03-02T10:00:00Z", closed),
                version(
                    "INC-2026-0001",
                    "2026-03-03T10:00:00Z",
                    {**closed, "impact": "Checkout failed for everyone."},
                ),
            ],
        ),
        # not an edit: a reopen recorded in reopened (then edits while open)
        (
            "INC-2026-0002",
            [
                version("INC-2026-0002", "2026-03-02T10:00:00Z", closed),
                version(
                    "INC-2026-0002",
                    "2026-03-05T10:00:00Z",
                    {**closed, "status": "open", "reopened": reopen},
                ),
                version(
                    "INC-2026-0002",
                    "2026-03-05T11:00:00Z",
                    {**closed, "status": "open", "reopened": reopen, "impact": "x"},
                ),
            ],
        ),
        # not an edit: an approved PIR's action status moving on
        (
            "PIR-2026-0001",
            [
                version(
                    "PIR-2026-0001",
                    "2026-03-04T10:00:00Z",
                    {"status": "approved", "actions": [{"id": "A1", "status": "open"}]},
                ),
                version(
                    "PIR-2026-0001",
                    "2026-03-20T10:00:00Z",
                    {"status": "approved", "actions": [{"id": "A1", "status": "done"}]},
                ),
            ],
        ),
        # edited: an approved PIR's root cause rewritten
        (
            "PIR-2026-0002",
            [
                version(
                    "PIR-2026-0002",
                    "2026-03-04T10:00:00Z",
                    {"status": "approved", "root_cause": "A deploy."},
                ),
                version(
                    "PIR-2026-0002",
                    "2026-03-06T10:00:00Z",
                    {"status": "approved", "root_cause": "A config push."},
                ),
            ],
        ),
        # edited: a closed change's description changed
        (
            c1,
            [
                version(c1, "2026-03-03T10:00:00Z", {"status": "closed", "description": "a"}),
                version(c1, "2026-03-04T10:00:00Z", {"status": "closed", "description": "b"}),
            ],
        ),
    )
    result = kpi(repo, "edited_after_close", history=history)
    # edited: INC-0001, PIR-0002, CHG-0001 -> 3 of 5 records examined
    assert (result.value, result.n, result.status) == (3, 5, "missed")
    counted = sorted(o.record for o in result.observations if o.value)
    assert counted == ["CHG-2026-0001", "INC-2026-0001", "PIR-2026-0002"]


def test_reopen_rate_counts_status_reversal_in_history(repo: Repo) -> None:
    done = {
        k: RESOLVED_P1[k] for k in ("acknowledged_at", "mitigated_at", "resolved_at", "resolution")
    }
    incident(repo, 1, "2026-04-02T08:00:00Z", status="resolved", **done)
    incident(repo, 2, "2026-04-02T08:00:00Z", status="resolved", **done)
    history = index(
        # 0001 went resolved -> open -> resolved with no reopened entry: reopened
        (
            "INC-2026-0001",
            [
                version("INC-2026-0001", "2026-04-02T11:00:00Z", {"status": "resolved"}),
                version("INC-2026-0001", "2026-04-03T11:00:00Z", {"status": "open"}),
                version("INC-2026-0001", "2026-04-04T11:00:00Z", {"status": "resolved"}),
            ],
        ),
        (
            "INC-2026-0002",
            [version("INC-2026-0002", "2026-04-02T11:00:00Z", {"status": "resolved"})],
        ),
        # 0003 closed -> resolved with a reopened entry, then closed again with the entry
        # deleted: the committed reopen still counts
        (
            "INC-2026-0003",
            [
                version("INC-2026-0003", "2026-04-02T11:00:00Z", {"status": "closed"}),
                version(
                    "INC-2026-0003",
                    "2026-04-03T11:00:00Z",
                    {"status": "resolved", "reopened": [{"at": "2026-04-03T10:00:00Z"}]},
                ),
                version("INC-2026-0003", "2026-04-04T11:00:00Z", {"status": "closed"}),
            ],
        ),
    )
    incident(repo, 3, "2026-04-02T08:00:00Z", status="resolved", **done)
    result = kpi(repo, "reopen_rate", history=history, as_of="2026-04-10T00:00:00Z")
    # 2 reopened of 3 resolved
    assert (round(result.value, 6), result.n, result.notes) == (0.666667, 3, ())
    assert sorted(o.record for o in result.observations if o.value) == [
        "INC-2026-0001",
        "INC-2026-0003",
    ]


@pytest.mark.parametrize("bad", [["resolved"], {"a": 1}, 5])
def test_reopen_rate_reads_a_past_status_that_is_no_text_as_none(repo: Repo, bad: Any) -> None:
    """A past version's fields were never schema-checked: a status that is a list or a
    mapping is no status (it neither resolves nor reopens), and never an error."""
    done = {
        k: RESOLVED_P1[k] for k in ("acknowledged_at", "mitigated_at", "resolved_at", "resolution")
    }
    incident(repo, 1, "2026-04-02T08:00:00Z", status="resolved", **done)
    history = index(
        (
            "INC-2026-0001",
            [
                version("INC-2026-0001", "2026-04-02T11:00:00Z", {"status": "resolved"}),
                version("INC-2026-0001", "2026-04-03T11:00:00Z", {"status": bad}),
                version("INC-2026-0001", "2026-04-04T11:00:00Z", {"status": "open"}),
                version("INC-2026-0001", "2026-04-05T11:00:00Z", {"status": "resolved"}),
            ],
        ),
    )
    result = kpi(repo, "reopen_rate", history=history, as_of="2026-04-10T00:00:00Z")
    # resolved -> (not a status) -> open: no resolved-to-open transition is recorded
    assert (result.value, result.n) == (0.0, 1)


# --- on a real git repository ----------------------------------------------------------


def test_history_kpis_from_a_real_git_repository(repo: Repo) -> None:
    from opsledger.history.index import build_history

    root = repo.root
    adopted(root)
    detected = {"detected_at": "2026-03-02T09:00:00Z"}
    rid = incident(
        repo,
        1,
        "2026-03-02T09:00:00Z",
        priority="P1",
        status="open",
        commander="lena.fischer@example.com",
        bridge_opened_at="2026-03-02T09:10:00Z",
    )
    git(root, "add", "-A", date="2026-03-02T15:00:00Z")
    git(root, "commit", "-qm", f"{rid}: open", date="2026-03-02T15:00:00Z")  # 6 h after detection
    incident(
        repo,
        1,
        detected["detected_at"],
        priority="P2",
        status="open",
        commander="lena.fischer@example.com",
        bridge_opened_at="2026-03-02T09:10:00Z",
    )
    git(root, "commit", "-qam", f"{rid}: P2", date="2026-03-02T16:00:00Z")
    history = build_history(root, since=date(2026, 3, 1), use_cache=False)
    lag = kpi(repo, "documentation_lag", history=history)
    assert (lag.value, lag.n) == (6, 1)  # 15:00 - 09:00 = 6 hours
    downgrades = kpi(repo, "priority_downgrades", history=history)
    assert (downgrades.value, downgrades.n) == (1, 1)  # P1 -> P2 in the second commit


def test_kpi_yaml_fixture_round_trips() -> None:
    """The YAML helpers write strings, never YAML timestamps (the strict loader's contract)."""
    text = yaml.safe_dump({"at": "2026-03-02T09:00:00Z"})
    assert text.strip() == "at: '2026-03-02T09:00:00Z'"


def test_edits_landing_with_the_closing_merge_are_not_edits_after_close(repo: Repo) -> None:
    from dataclasses import replace

    incident(repo, 1, "2026-03-02T09:00:00Z")
    closed = version("INC-2026-0001", "2026-03-03T10:00:00Z", {"status": "closed", "impact": "a"})
    # a second commit of the same pull request lands with the same merge: not after closure
    same = version("INC-2026-0001", "2026-03-03T10:00:00Z", {"status": "closed", "impact": "b"})
    same = replace(same, commit=replace(same.commit, landed_sha=closed.commit.landed_sha))
    history = index(("INC-2026-0001", [closed, same]))
    assert kpi(repo, "edited_after_close", history=history).value == 0
    later = version("INC-2026-0001", "2026-03-04T10:00:00Z", {"status": "closed", "impact": "c"})
    history.records["INC-2026-0001"].versions.append(later)
    assert kpi(repo, "edited_after_close", history=history).value == 1


@pytest.mark.parametrize(
    ("first", "then"),
    [
        ("2026-03-02T09:00:00Z", "2026-03-06T09:00:00Z"),  # moved later after committing
        ("2026-03-06T09:00:00Z", "2026-03-02T09:00:00Z"),  # committed as if just detected
    ],
    ids=["moved-later", "moved-back"],
)
def test_documentation_lag_reads_one_detection_everywhere(
    repo: Repo, cli: InvokeCli, first: str, then: str
) -> None:
    """An incident detected on a Monday and first committed on Friday, its ``detected_at``
    edited afterwards (moved to Friday, or committed as Friday then set back to Monday):
    GIT-LATE-RECORD, the documentation_lag KPI and the brief measure from the same
    detection, the earliest any committed version stated, so no edit shortens the lag one
    of them shows (the KPI once read 1 hour where the audit found 4 business days)."""
    from opsledger.kpis import KpiOptions
    from opsledger.workspace import Workspace

    root = repo.root
    adopted(root)
    rid = incident(repo, 1, first)
    git(root, "add", "-A", date="2026-03-06T10:00:00Z")
    git(root, "commit", "-qm", f"{rid}: written up", date="2026-03-06T10:00:00Z")  # Friday
    incident(repo, 1, then)
    git(root, "commit", "-qam", f"{rid}: detection edited", date="2026-03-06T11:00:00Z")
    ws = Workspace(root, as_of=AS_OF)
    late = [f for f in ws.findings() if f.rule == "GIT-LATE-RECORD"]
    assert [(f.record, f.message.split(":")[0]) for f in late] == [
        (rid, "first committed 4 business days after detection (2026-03-02T09")
    ]
    report = ws.kpis(KpiOptions(as_of=ws.as_of, only=("documentation_lag",)))
    lag = report.results[0]
    assert (lag.value, lag.n) == (97, 1)  # Monday 09:00 to Friday 10:00, not 1 hour
    assert [(o.record, o.value) for o in lag.observations] == [(rid, 97)]
    brief = cli("brief", rid, "--repo", root, "--as-of", AS_OF)
    assert brief.status == 0, brief.err
    assert "first committed 4d 1h after detection" in brief.out, brief.out


def test_approval_lead_time_counts_the_approvals_the_audit_counts(repo: Repo) -> None:
    """A CAB approval landed 2 days before the window, then, after it started, an entry by
    someone not listed as an approver and a second CAB approval beyond the one required:
    CHG-APPROVED-BEFORE counts the first only, and so does the KPI (it measured the last
    entry: approved after the window)."""
    zed = {"by": "zed@example.com", "role": "cab", "at": "2026-03-12T12:00:00Z"}
    tom = {"by": "tom.becker@example.com", "role": "cab", "at": "2026-03-12T12:00:00Z"}
    entries = [
        *approvals("2026-03-08T09:00:00Z"),
        {**zed, "decision": "approved"},  # not listed as an approver: no approval
        {**tom, "decision": "approved"},  # listed, but one approval was required
    ]
    c1 = change(repo, 1, "2026-03-10T10:00:00Z", "2026-03-10T11:00:00Z", approvals=entries)
    from opsledger.model.ledger import load_ledger

    data = dict(load_ledger(repo.root).changes[c1].data)
    history = index(
        (
            c1,
            [
                version(c1, "2026-03-08T10:00:00Z", {**data, "approvals": data["approvals"][:1]}),
                version(c1, "2026-03-12T12:00:00Z", data),
            ],
        )
    )
    result = kpi(repo, "approval_lead_time", history=history)
    assert (result.value, result.n) == (48, 1)  # 8 March 10:00 to 10 March 10:00


def adopted(root: Path) -> None:
    """``root`` a git repository whose first commit (1 March) adopts opsledger."""
    git_init(root)
    git(root, "add", "-A", date="2026-03-01T10:00:00Z")
    git(root, "commit", "-qm", "Adopt opsledger", date="2026-03-01T10:00:00Z")


def pull_request_opening_a_year_early(repo: Repo) -> str:
    """On branch ``pr`` of an adopted repository: INC-2026-0001 opened at 09:10 on
    2 March with its detection a year early (2025-03-02T09:00:00Z). Returns its ID."""
    root = repo.root
    adopted(root)
    git(root, "checkout", "-qb", "pr")
    rid = incident(repo, 1, "2025-03-02T09:00:00Z")
    git(root, "add", "-A", date="2026-03-02T09:10:00Z")
    git(root, "commit", "-qm", f"{rid}: open", date="2026-03-02T09:10:00Z")
    return rid


def p1_with_its_pir_approved_in_time(repo: Repo) -> str:
    """A git repository: a P1 resolved Thursday 2 April (its PIR due by Monday 13 April),
    its PIR-2026-0001 committed approved on 7 April. Returns the incident's ID."""
    root = repo.root
    git_init(root)
    git(root, "add", "-A", date="2026-04-01T10:00:00Z")
    git(root, "commit", "-qm", "Adopt opsledger", date="2026-04-01T10:00:00Z")
    rid = incident(repo, 1, "2026-04-02T08:00:00Z", pir="PIR-2026-0001", **RESOLVED_P1)
    write_pir(repo, [], status="approved")
    git(root, "add", "-A", date="2026-04-07T10:00:00Z")
    git(root, "commit", "-qm", "PIR approved", date="2026-04-07T10:00:00Z")
    return rid


def test_a_pir_approved_then_set_back_to_draft_is_no_approved_pir(
    repo: Repo, cli: InvokeCli
) -> None:
    """A P1's PIR approved on the branch in time, then set back to draft: the incident has
    no approved PIR, with git history as without it (INC-PIR, the KPI and the brief once
    said 'met' from the first approval while the brief also said the PIR is draft)."""
    from opsledger.kpis import KpiOptions
    from opsledger.workspace import Workspace

    root = repo.root
    rid = p1_with_its_pir_approved_in_time(repo)
    write_pir(repo, [], status="draft")
    git(root, "commit", "-qam", "PIR back to draft", date="2026-04-08T10:00:00Z")
    as_of = "2026-04-30T12:00:00Z"
    for use_history in (True, False):
        ws = Workspace(root, as_of=as_of, use_history=use_history)
        verdict = ws.obligations.incident(ws.ledger.incidents[rid]).pir
        assert verdict is not None and verdict.state == "missing", (use_history, verdict)
        assert [f.record for f in ws.findings() if f.rule == "INC-PIR"] == [rid]
    ws = Workspace(root, as_of=as_of)
    report = ws.kpis(KpiOptions(as_of=ws.as_of, only=("pir_on_time_rate",)))
    assert (report.results[0].value, report.results[0].n) == (0, 1)
    brief = cli("brief", rid, "--repo", root, "--as-of", as_of)
    assert "PIR deadline: met" not in brief.out, brief.out
    # approved again after its due date (13 April): late, never 'met' from the first time
    write_pir(repo, [], status="approved")
    git(root, "commit", "-qam", "PIR approved again", date="2026-04-28T10:00:00Z")
    ws = Workspace(root, as_of=as_of)
    verdict = ws.obligations.incident(ws.ledger.incidents[rid]).pir
    assert verdict is not None and verdict.state == "late", verdict
    report = ws.kpis(KpiOptions(as_of=ws.as_of, only=("pir_on_time_rate",)))
    assert (report.results[0].value, report.results[0].n) == (0, 1)


def test_an_approved_pir_deleted_is_no_approved_pir(repo: Repo) -> None:
    """A P1's PIR approved in time, then its file deleted: no approved PIR, with history as
    without it (GIT-DELETED reports the deletion); a draft PIR added since is named as it
    is, never as once approved."""
    from opsledger.workspace import Workspace

    root = repo.root
    rid = p1_with_its_pir_approved_in_time(repo)
    git(root, "rm", "-q", "records/pirs/PIR-2026-0001.md")
    git(root, "commit", "-qm", "PIR deleted", date="2026-04-08T10:00:00Z")
    as_of = "2026-04-30T12:00:00Z"
    for use_history in (True, False):
        ws = Workspace(root, as_of=as_of, use_history=use_history)
        verdict = ws.obligations.incident(ws.ledger.incidents[rid]).pir
        assert verdict is not None and verdict.state == "missing", (use_history, verdict)
    write_pir(repo, [], status="draft", id="PIR-2026-0002")
    git(root, "add", "-A", date="2026-04-09T10:00:00Z")
    git(root, "commit", "-qm", "a draft PIR", date="2026-04-09T10:00:00Z")
    ws = Workspace(root, as_of=as_of)
    verdict = ws.obligations.incident(ws.ledger.incidents[rid]).pir
    assert verdict is not None and verdict.state == "missing"
    assert verdict.detail.startswith("PIR PIR-2026-0002 is draft;"), verdict.detail


def test_a_corrected_slip_in_the_detection_counts_for_nothing(repo: Repo) -> None:
    """Committed 30 minutes after detection; a later edit slips the detection back a year
    and the next corrects it: the record was never late (the earliest detection any
    version stated would make it late for ever)."""
    from opsledger.kpis import KpiOptions
    from opsledger.workspace import Workspace

    root = repo.root
    adopted(root)
    rid = incident(repo, 1, "2026-03-02T09:00:00Z")
    git(root, "add", "-A", date="2026-03-02T09:30:00Z")
    git(root, "commit", "-qm", f"{rid}: open", date="2026-03-02T09:30:00Z")
    incident(repo, 1, "2025-03-02T09:00:00Z")
    git(root, "commit", "-qam", f"{rid}: slip", date="2026-03-03T10:00:00Z")
    incident(repo, 1, "2026-03-02T09:00:00Z")
    git(root, "commit", "-qam", f"{rid}: corrected", date="2026-03-03T11:00:00Z")
    ws = Workspace(root, as_of=AS_OF)
    assert [f for f in ws.findings() if f.rule == "GIT-LATE-RECORD"] == []
    lag = ws.kpis(KpiOptions(as_of=ws.as_of, only=("documentation_lag",))).results[0]
    assert (lag.value, lag.n) == (0.5, 1)


def _lag(root: Path) -> tuple[list[str], float | None]:
    """GIT-LATE-RECORD's messages and the documentation_lag KPI, as of AS_OF."""
    from opsledger.kpis import KpiOptions
    from opsledger.workspace import Workspace

    ws = Workspace(root, as_of=AS_OF)
    late = [f.message for f in ws.findings() if f.rule == "GIT-LATE-RECORD"]
    kpi_value = ws.kpis(KpiOptions(as_of=ws.as_of, only=("documentation_lag",))).results[0]
    return late, kpi_value.value


def test_a_slip_inside_one_landing_never_reached_the_branch(repo: Repo) -> None:
    """A pull request writes the incident with its detection a year early, corrects it in
    its next commit, and is merged 30 minutes after the detection: within a landing only
    its end was on the branch, so the record was never late."""
    root = repo.root
    rid = pull_request_opening_a_year_early(repo)
    incident(repo, 1, "2026-03-02T09:00:00Z")
    git(root, "commit", "-qam", f"{rid}: year corrected", date="2026-03-02T09:20:00Z")
    git(root, "checkout", "-q", "main")
    git(root, "merge", "-q", "--no-ff", "-m", "merge", "pr", date="2026-03-02T09:30:00Z")
    assert _lag(root) == ([], 0.5)


def test_a_first_version_without_a_detection_gives_way_to_the_first_with_one(
    repo: Repo,
) -> None:
    """First committed on Monday 9 March with the detection still 'TBD', then given as
    Monday 2 March, then moved to 9 March: late from 2 March (moving it later hid it)."""
    root = repo.root
    adopted(root)
    rid = incident(repo, 1, "TBD")
    git(root, "add", "-A", date="2026-03-09T10:00:00Z")
    git(root, "commit", "-qm", f"{rid}: open", date="2026-03-09T10:00:00Z")
    for detected, when in (("2026-03-02T09:00:00Z", "11:00"), ("2026-03-09T09:00:00Z", "12:00")):
        incident(repo, 1, detected)
        git(root, "commit", "-qam", f"{rid}: detection", date=f"2026-03-09T{when}:00Z")
    late, value = _lag(root)
    assert [m.split(":")[0] for m in late] == [
        "first committed 5 business days after detection (2026-03-02T09"
    ]
    assert value == 169  # Monday 2 March 09:00 to Monday 9 March 10:00


def test_a_pir_is_judged_as_it_stood_at_the_as_of(repo: Repo) -> None:
    """Approved in time (7 April), set back to draft on 5 May, approved again on 10 May:
    as of 30 April it was approved in time (met); as of 20 May it has been approved since
    10 May (late)."""
    from opsledger.workspace import Workspace

    root = repo.root
    rid = p1_with_its_pir_approved_in_time(repo)
    write_pir(repo, [], status="draft")
    git(root, "commit", "-qam", "PIR back to draft", date="2026-05-05T10:00:00Z")
    write_pir(repo, [], status="approved")
    git(root, "commit", "-qam", "PIR approved again", date="2026-05-10T10:00:00Z")
    for as_of, state in (("2026-04-30T12:00:00Z", "met"), ("2026-05-20T12:00:00Z", "late")):
        ws = Workspace(root, as_of=as_of)
        verdict = ws.obligations.incident(ws.ledger.incidents[rid]).pir
        assert verdict is not None and verdict.state == state, (as_of, verdict)


def test_a_pir_that_cannot_be_read_now_holds_no_approval(repo: Repo) -> None:
    """Approved in time, then its file made unreadable: no approved PIR, with history as
    without it (as a deleted one)."""
    from opsledger.workspace import Workspace

    root = repo.root
    rid = p1_with_its_pir_approved_in_time(repo)
    repo.write("records/pirs/PIR-2026-0001.md", "---\nid: [unclosed\n---\n", dedent=False)
    git(root, "commit", "-qam", "PIR broken", date="2026-04-08T10:00:00Z")
    for use_history in (True, False):
        ws = Workspace(root, as_of="2026-04-30T12:00:00Z", use_history=use_history)
        verdict = ws.obligations.incident(ws.ledger.incidents[rid]).pir
        assert verdict is not None and verdict.state == "missing", (use_history, verdict)


def test_an_action_done_reopened_and_done_again_late_is_late(repo: Repo) -> None:
    """Done on 7 April (due 10 April), reopened on 8 April, done again on 25 April: late,
    as a PIR approved, set back and approved again after its due date is."""
    from opsledger.workspace import Workspace

    root = repo.root
    rid = p1_with_its_pir_approved_in_time(repo)
    del rid
    for status, when in (("done", "04-07"), ("open", "04-08"), ("done", "04-25")):
        write_pir(repo, [action("A1", "2026-04-10", status)], status="approved")
        git(root, "commit", "-qam", f"A1 {status}", date=f"2026-{when}T12:00:00Z")
    ws = Workspace(root, as_of="2026-04-30T12:00:00Z")
    [verdict] = ws.obligations.actions(ws.ledger.pirs["PIR-2026-0001"])
    assert verdict is not None and verdict.state == "late", verdict


def _pir_and_action(root: Path, rid: str, as_of: str) -> tuple[str, str]:
    """The PIR-due and A1's action-due verdicts' states, as of ``as_of``."""
    from opsledger.workspace import Workspace

    ws = Workspace(root, as_of=as_of)
    pir = ws.obligations.incident(ws.ledger.incidents[rid]).pir
    [action_verdict] = ws.obligations.actions(ws.ledger.pirs["PIR-2026-0001"])
    assert pir is not None and action_verdict is not None
    return pir.state, action_verdict.state


def test_what_held_at_the_as_of_decides_not_what_was_fixed_after_it(repo: Repo) -> None:
    """A1 done and the PIR approved in time, the PIR's file unreadable from 8 April and
    fixed on 5 May: as of 30 April the branch held no approval and no done action, and a
    later fix does not make them 'met' then; as of 20 May they count from 7 April."""
    root = repo.root
    rid = p1_with_its_pir_approved_in_time(repo)
    write_pir(repo, [action("A1", "2026-04-10", "done")], status="approved")
    git(root, "commit", "-qam", "A1 done", date="2026-04-07T11:00:00Z")
    repo.write("records/pirs/PIR-2026-0001.md", "---\nid: [unclosed\n---\n", dedent=False)
    git(root, "commit", "-qam", "PIR broken", date="2026-04-08T10:00:00Z")
    write_pir(repo, [action("A1", "2026-04-10", "done")], status="approved")
    git(root, "commit", "-qam", "PIR fixed", date="2026-05-05T10:00:00Z")
    # approved and done in the working tree, but not on the branch at the --as-of: the
    # time cannot be verified (no KPI counts it), never 'met' from a fix made later
    assert _pir_and_action(root, rid, "2026-04-30T12:00:00Z") == ("unverified", "unverified")
    from opsledger.workspace import Workspace

    ws = Workspace(root, as_of="2026-04-30T12:00:00Z")
    pir = ws.obligations.incident(ws.ledger.incidents[rid]).pir
    assert pir is not None and "(approval not on the branch at --as-of)" in pir.detail
    assert _pir_and_action(root, rid, "2026-05-20T12:00:00Z") == ("met", "met")


def test_an_action_reopened_after_the_as_of_is_judged_as_it_stood(repo: Repo) -> None:
    """A1 done in time (7 April), reopened with the PIR set back on 5 May: as of 30 April
    both stood done and approved (met), as the PIR's verdict already read it."""
    root = repo.root
    rid = p1_with_its_pir_approved_in_time(repo)
    write_pir(repo, [action("A1", "2026-04-10", "done")], status="approved")
    git(root, "commit", "-qam", "A1 done", date="2026-04-07T11:00:00Z")
    write_pir(repo, [action("A1", "2026-04-10", "open")], status="draft")
    git(root, "commit", "-qam", "reopened", date="2026-05-05T10:00:00Z")
    assert _pir_and_action(root, rid, "2026-04-30T12:00:00Z") == ("met", "met")
    assert _pir_and_action(root, rid, "2026-05-20T12:00:00Z") == ("missing", "missing")


def test_a_slip_in_a_landing_that_ended_unreadable_never_reached_the_branch(
    repo: Repo,
) -> None:
    """A pull request opens the incident with its detection a year early, then breaks the
    file, and is merged so; main fixes it with the real detection 30 minutes before the
    merge: the slip was never on the branch (the landing ended unreadable)."""
    root = repo.root
    rid = pull_request_opening_a_year_early(repo)
    path = root / "records/incidents" / f"{rid}.yaml"
    path.write_text(path.read_text() + "impact: [unclosed\n")
    git(root, "commit", "-qam", f"{rid}: broken", date="2026-03-02T09:20:00Z")
    git(root, "checkout", "-q", "main")
    git(root, "merge", "-q", "--no-ff", "-m", "merge", "pr", date="2026-03-02T09:30:00Z")
    incident(repo, 1, "2026-03-02T09:00:00Z")
    git(root, "commit", "-qam", f"{rid}: fixed", date="2026-03-02T10:00:00Z")
    assert _lag(root) == ([], 0.5)


def test_documentation_lag_of_an_imported_incident_is_judged_nowhere(
    repo: Repo, cli: InvokeCli
) -> None:
    """An incident imported from an earlier system (first committed carrying its
    ``external_id``) two weeks after its detection: its first commit is its import, not its
    writing up. GIT-LATE-RECORD does not judge it and the documentation_lag KPI leaves it
    out; the brief does not state a lag either (it once said "first committed 14d … after
    detection"), and says why."""
    from opsledger.kpis import KpiOptions
    from opsledger.workspace import Workspace

    root = repo.root
    adopted(root)
    rid = incident(repo, 1, "2026-03-02T09:00:00Z", external_id="INC0012345")
    git(root, "add", "-A", date="2026-03-16T10:00:00Z")
    git(root, "commit", "-qm", f"{rid}: imported", date="2026-03-16T10:00:00Z")
    ws = Workspace(root, as_of=AS_OF)
    assert ws.obligations.documentation(rid) is None
    assert [f for f in ws.findings() if f.rule == "GIT-LATE-RECORD"] == []
    lag = ws.kpis(KpiOptions(as_of=ws.as_of, only=("documentation_lag",))).results[0]
    assert (lag.value, lag.n, reasons(lag)) == (None, 0, [(rid, "imported before adoption")])
    brief = cli("brief", rid, "--repo", root, "--as-of", AS_OF)
    assert brief.status == 0, brief.err
    assert "first committed" not in brief.out, brief.out
    assert "imported from an earlier system" in brief.out, brief.out


def test_approval_lead_time_measures_the_changes_the_audit_judges(repo: Repo) -> None:
    """A policy whose normal changes need no approval (``approvals_required: 0``), and a
    change approved a day after its window started: CHG-APPROVED-BEFORE does not judge it,
    and the KPI does not measure it either (it once counted -24 hours: approved late)."""
    from opsledger.audit import AuditOptions, run_audit
    from opsledger.model.ledger import load_ledger

    policy = repo.root / "policy.yaml"
    text = policy.read_text()
    needed = "  normal:\n    approvals_required: 1\n"
    assert needed in text
    policy.write_text(text.replace(needed, "  normal:\n    approvals_required: 0\n"))
    late = {"by": "priya.shah@example.com", "role": "cab", "at": "2026-03-11T10:00:00Z"}
    entries = [{**late, "decision": "approved"}]
    c1 = change(repo, 1, "2026-03-10T10:00:00Z", "2026-03-10T11:00:00Z", approvals=entries)
    ledger = load_ledger(repo.root)
    history = index((c1, [version(c1, "2026-03-11T10:00:00Z", dict(ledger.changes[c1].data))]))
    options = AuditOptions(as_of=parse_timestamp(AS_OF), select=("CHG-APPROVED-BEFORE",))
    assert run_audit(ledger, options) == []
    result = kpi(repo, "approval_lead_time", history=history)
    assert (result.value, result.n, result.observations) == (None, 0, ())


def test_backlog_aged_counts_an_action_open_as_of_then(repo: Repo) -> None:
    """A PIR action due on 10 March, set done on the branch on 16 March: as of 12 March
    it is open and past its due date, as PIR-OVERDUE and the reports say; backlog_aged
    counts it too (it read today's status, 'done', and neither counted nor excluded it)."""
    incident(repo, 1, "2026-03-02T09:00:00Z")
    write_pir(repo, [action("A1", "2026-03-10", "done")], status="approved")

    def state(status: str) -> dict[str, Any]:
        return {
            "id": "PIR-2026-0001",
            "status": "approved",
            "actions": [{"id": "A1", "status": status}],
        }

    history = index(
        (
            "PIR-2026-0001",
            [
                version("PIR-2026-0001", "2026-03-03T12:00:00Z", state("open")),
                version("PIR-2026-0001", "2026-03-16T09:00:00Z", state("done")),
            ],
        )
    )
    then = kpi(repo, "backlog_aged", as_of="2026-03-12T12:00:00Z", history=history)
    aged = {o.record: o.value for o in then.observations}  # the incident is open too
    assert (aged.get("PIR-2026-0001#A1"), reasons(then)) == (True, [])
    later = kpi(repo, "backlog_aged", as_of="2026-03-20T12:00:00Z", history=history)
    assert "PIR-2026-0001#A1" not in {o.record for o in later.observations}  # done since
