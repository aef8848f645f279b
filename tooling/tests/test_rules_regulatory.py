"""Regulatory reporting clocks (SPEC §3.9): the deadline arithmetic against hand-computed
cases, the policy's regimes refused at their line when they cannot be honoured, and
REG-CLASSIFY / REG-DEADLINE / REF-LINK on planted records.

The regimes are the presets the default policy ships commented out (DORA, NIS2, GDPR),
uncommented: the tests hold the presets valid too. Every expected timestamp below was
computed by hand and is written out in UTC.
"""

from __future__ import annotations

import json
import re
import textwrap
from datetime import date

import pytest
from test_policy_values import set_policy

from opsledger.kpis.engine import KpiOptions, KpiResult, compute_kpis
from opsledger.model.ledger import load_ledger
from opsledger.obligations import Obligations
from opsledger.site.data import collect
from opsledger.site.generate import generate
from opsledger.timeutil import format_timestamp, parse_timestamp

from conftest import InvokeCli, Repo, audit_rule

AS_OF = "2026-12-31T12:00:00Z"


def activate(repo: Repo, *, only: tuple[str, ...] = ()) -> None:
    """Uncomment the regulatory presets of the default policy (optionally keeping only
    the regimes in ``only``)."""
    path = repo.root / "policy.yaml"
    text = path.read_text(encoding="utf-8")
    head, preset = text.split("# regulatory:\n", 1)
    lines = ["regulatory:"] + [line[2:] for line in preset.splitlines()]
    path.write_text(head + "\n".join(lines) + "\n", encoding="utf-8")
    if only:
        ledger = load_ledger(repo.root)
        keep = [r.id for r in ledger.policy.regulatory]
        assert set(only) <= set(keep)
        data = path.read_text(encoding="utf-8")
        for regime in keep:
            if regime not in only:
                start = data.index(f"    - id: {regime}\n")
                following = re.search(r"\n    - id: ", data[start + 1 :])
                end = start + 1 + following.start() + 1 if following else len(data)
                data = data[:start] + data[end:]
        path.write_text(data, encoding="utf-8")


def incident(
    repo: Repo,
    regulatory: str = "",
    *,
    id: str = "INC-2026-0001",
    priority: str = "P1",
    detected: str = "2026-03-04T09:12:00Z",
    category: str = "",
) -> str:
    text = f"""\
id: {id}
title: Payments gateway rejecting card authorisations
priority: {priority}
status: open
service: orders-db
detection: automated
source: monitoring
commander: lena.fischer@example.com
impact: Card payments failed for every customer for 50 minutes.
detected_at: {detected}
bridge_opened_at: {detected}
"""
    if category:
        text += f"category: {category}\n"
    if regulatory:
        text += "regulatory:\n" + textwrap.indent(textwrap.dedent(regulatory), "  ")
    repo.write(f"records/incidents/{id}.yaml", text, dedent=False)
    return id


def clocks(repo: Repo, as_of: str = AS_OF, id: str = "INC-2026-0001") -> dict[str, tuple[str, str]]:
    """``regime/stage`` → (state, due in UTC) for one incident."""
    ledger = load_ledger(repo.root)
    obligations = Obligations(ledger, parse_timestamp(as_of))
    found = {}
    for clock in obligations.regulatory(ledger.incidents[id]):
        v = clock.verdict
        due = format_timestamp(v.due) if v.due is not None else "-"
        found[f"{clock.regime.id}/{clock.stage_id}"] = (v.state, due)
    return found


# ------------------------------------------------------------ hand-computed deadlines


def test_the_24h_backstop_wins_over_classification_plus_4h(repo: Repo) -> None:
    activate(repo, only=("dora",))
    incident(
        repo,
        """\
        - regime: dora
          decision: reportable
          decided_at: 2026-03-05T07:00:00Z   # + 4h = 11:00; awareness + 24h = 09:12
          submissions:
            - {stage: initial, at: 2026-03-05T09:12:00Z, reference: NCA-1}   # exactly on it
        """,
    )
    found = clocks(repo)
    assert found["dora/classification"] == ("met", "2026-03-05T09:12:00Z")
    assert found["dora/initial"] == ("met", "2026-03-05T09:12:00Z")
    # the intermediate report runs 72h from the initial notification's submission
    assert found["dora/intermediate"] == ("missing", "2026-03-08T09:12:00Z")
    assert found["dora/final"] == ("pending", "-")


def test_one_second_after_the_deadline_is_late(repo: Repo) -> None:
    activate(repo, only=("dora",))
    incident(
        repo,
        """\
        - regime: dora
          decision: reportable
          decided_at: 2026-03-05T07:00:00Z
          submissions:
            - {stage: initial, at: 2026-03-05T09:12:01Z}
        """,
    )
    assert clocks(repo)["dora/initial"] == ("late", "2026-03-05T09:12:00Z")


def test_classification_plus_4h_wins_when_classified_early(repo: Repo) -> None:
    activate(repo, only=("dora",))
    incident(
        repo,
        """\
        - regime: dora
          decision: reportable
          decided_at: 2026-03-04T10:00:00Z
        """,
    )
    found = clocks(repo, "2026-03-04T13:59:59Z")
    assert found["dora/initial"] == ("pending", "2026-03-04T14:00:00Z")
    assert clocks(repo, "2026-03-04T14:00:01Z")["dora/initial"][0] == "missing"


def test_spring_forward_weekend_is_measured_in_utc(repo: Repo) -> None:
    """Europe moved its clocks forward on Sunday 29 March 2026 at 01:00 UTC."""
    activate(repo, only=("dora",))
    incident(
        repo,
        """\
        - regime: dora
          aware_at: 2026-03-28T23:30:00+01:00            # Saturday 22:30 UTC
          decision: reportable
          decided_at: 2026-03-29T09:00:00+02:00          # Sunday 07:00 UTC
          submissions:
            - {stage: initial, at: 2026-03-29T12:59:00+02:00}        # 10:59 UTC
            - {stage: intermediate, at: 2026-03-31T10:00:00Z}
        """,
        detected="2026-03-28T22:00:00Z",
    )
    found = clocks(repo)
    assert found["dora/classification"] == ("met", "2026-03-29T22:30:00Z")
    assert found["dora/initial"] == ("met", "2026-03-29T11:00:00Z")
    assert found["dora/intermediate"] == ("met", "2026-04-01T10:59:00Z")
    assert found["dora/final"] == ("missing", "2026-04-30T10:00:00Z")


def test_fall_back_weekend_is_measured_in_utc(repo: Repo) -> None:
    """Europe moved its clocks back on Sunday 25 October 2026 at 01:00 UTC: 24 hours after
    Saturday noon in Berlin (10:00 UTC) is 11:00 local time on Sunday, not noon."""
    activate(repo, only=("nis2",))
    incident(
        repo,
        """\
        - regime: nis2
          aware_at: 2026-10-24T12:00:00+02:00
          decision: reportable
          decided_at: 2026-10-24T13:00:00+02:00
          submissions:
            - {stage: early-warning, at: 2026-10-25T11:00:00+01:00}   # 10:00 UTC: on time
            - {stage: notification, at: 2026-10-27T11:00:01+01:00}    # one second late
        """,
        detected="2026-10-24T09:00:00Z",
    )
    found = clocks(repo)
    assert found["nis2/early-warning"] == ("met", "2026-10-25T10:00:00Z")
    assert found["nis2/notification"] == ("late", "2026-10-27T10:00:00Z")
    # the final report: one calendar month after the notification's submission
    assert found["nis2/final"] == ("missing", "2026-11-27T10:00:01Z")


@pytest.mark.parametrize(
    ("detected", "intermediate", "final_due"),
    [
        # 31 January → the last day of February, same time of day
        ("2026-01-27T09:00:00Z", "2026-01-31T15:00:00Z", "2026-02-28T15:00:00Z"),
        # leap year: 29 February
        ("2028-01-27T09:00:00Z", "2028-01-31T15:00:00Z", "2028-02-29T15:00:00Z"),
        # 23:00 on 30 January at -02:00 is 31 January 01:00 UTC: the month is added in UTC
        ("2028-01-27T09:00:00Z", "2028-01-30T23:00:00-02:00", "2028-02-29T01:00:00Z"),
        # 31 March → 30 April
        ("2026-03-27T09:00:00Z", "2026-03-31T08:00:00Z", "2026-04-30T08:00:00Z"),
    ],
)
def test_final_report_one_calendar_month_after_the_latest_intermediate(
    repo: Repo, detected: str, intermediate: str, final_due: str
) -> None:
    activate(repo, only=("dora",))
    id = f"INC-{detected[:4]}-0001"
    incident(
        repo,
        f"""\
        - regime: dora
          decision: reportable
          decided_at: {detected}
          submissions:
            - {{stage: initial, at: {detected}}}
            - {{stage: intermediate, at: {detected}}}
            - {{stage: intermediate, at: {intermediate}}}   # an updated report: the latest
        """,
        id=id,
        detected=detected,
    )
    found = clocks(repo, "2029-01-01T00:00:00Z", id=id)
    assert found["dora/intermediate"][0] == "met"
    assert found["dora/final"] == ("missing", final_due)


def test_several_regimes_on_one_incident(repo: Repo) -> None:
    activate(repo)
    incident(
        repo,
        """\
        - regime: dora
          decision: reportable
          decided_at: 2026-03-04T10:00:00Z
          submissions:
            - {stage: initial, at: 2026-03-04T13:00:00Z, reference: NCA-7}
        - regime: nis2
          decision: reportable
          decided_at: 2026-03-04T10:00:00Z
          submissions:
            - {stage: early-warning, at: 2026-03-05T10:00:00Z}
        - regime: gdpr
          decision: reportable
          decided_at: 2026-03-04T11:00:00Z
          submissions:
            - {stage: notification, at: 2026-03-07T09:12:00Z, reference: DPA-2026-31}
        """,
        category="personal-data-breach",
    )
    found = clocks(repo, "2026-03-06T12:00:00Z")
    assert found == {
        "dora/classification": ("met", "2026-03-05T09:12:00Z"),
        "dora/initial": ("met", "2026-03-04T14:00:00Z"),
        "dora/intermediate": ("pending", "2026-03-07T13:00:00Z"),
        "dora/final": ("pending", "-"),
        "nis2/classification": ("met", "2026-03-05T09:12:00Z"),
        "nis2/early-warning": ("late", "2026-03-05T09:12:00Z"),
        "nis2/notification": ("pending", "2026-03-07T09:12:00Z"),
        "nis2/final": ("pending", "-"),
        "gdpr/notification": ("met", "2026-03-07T09:12:00Z"),
    }


def test_a_regime_out_of_scope_starts_no_clock(repo: Repo) -> None:
    activate(repo)
    incident(repo, priority="P3")
    assert clocks(repo) == {}


def test_an_unclassified_incident_in_scope_has_a_classification_clock(repo: Repo) -> None:
    activate(repo, only=("dora",))
    incident(repo)
    assert clocks(repo, "2026-03-05T09:12:00Z") == {
        "dora/classification": ("pending", "2026-03-05T09:12:00Z")
    }
    assert clocks(repo, "2026-03-05T09:12:01Z")["dora/classification"][0] == "missing"


def test_not_reportable_starts_no_stage(repo: Repo) -> None:
    activate(repo, only=("dora",))
    incident(
        repo,
        """\
        - regime: dora
          decision: not-reportable
          decided_at: 2026-03-04T12:00:00Z
          reason: Internal reporting tool only; no clients or critical functions affected.
        """,
    )
    assert clocks(repo) == {"dora/classification": ("met", "2026-03-05T09:12:00Z")}


# ------------------------------------------------------------------ the rules


def test_reg_deadline_flags_late_and_open_stages_at_their_lines(repo: Repo) -> None:
    activate(repo, only=("dora",))
    incident(
        repo,
        """\
        - regime: dora
          decision: reportable
          decided_at: 2026-03-05T07:00:00Z
          submissions:
            - {stage: initial, at: 2026-03-05T11:30:00Z, reference: NCA-1}
        """,
    )
    hits = audit_rule(repo, "REG-DEADLINE", "2026-03-31T12:00:00Z")
    text = (repo.root / "records/incidents/INC-2026-0001.yaml").read_text(encoding="utf-8")
    lines = text.splitlines()
    at_line = next(n for n, line in enumerate(lines, 1) if "stage: initial" in line)
    # the late one at its submission; the open one at the submissions list (its value)
    assert [(h.line, h.severity) for h in hits] == [(at_line, "error"), (at_line, "error")]
    late, missing = sorted(hits, key=lambda h: "intermediate" in h.message)
    assert late.message == (
        "DORA initial notification: submitted 2026-03-05T11:30:00Z; due by "
        "2026-03-05T09:12:00Z (4h after the classification, no later than 24h after "
        "awareness; the 24h backstop after awareness came first)"
    )
    assert missing.message == (
        "DORA intermediate report: not submitted; was due by 2026-03-08T11:30:00Z "
        "(72h after the initial notification)"
    )
    # the same record, as of a moment before the intermediate deadline: only the late one
    assert len(audit_rule(repo, "REG-DEADLINE", "2026-03-08T11:30:00Z")) == 1


def test_reg_classify_flags_missing_late_unreasoned_and_impossible_decisions(
    repo: Repo,
) -> None:
    activate(repo, only=("dora",))
    incident(repo, id="INC-2026-0001")  # never classified
    incident(
        repo,
        """\
        - regime: dora
          decision: not-reportable
          decided_at: 2026-03-06T09:12:00Z
        """,
        id="INC-2026-0002",
    )
    incident(
        repo,
        """\
        - regime: dora
          aware_at: 2026-03-04T10:00:00Z
          decision: reportable
          decided_at: 2026-03-04T09:30:00Z
        """,
        id="INC-2026-0003",
    )
    hits = audit_rule(repo, "REG-CLASSIFY", "2026-03-31T12:00:00Z")
    assert sorted((h.path.rsplit("/", 1)[-1], h.message) for h in hits) == [
        (
            "INC-2026-0001.yaml",
            "no reportable / not-reportable decision; DORA classification is due 24h after "
            "awareness (2026-03-05T09:12:00Z)",
        ),
        (
            "INC-2026-0002.yaml",
            "decided not-reportable at 2026-03-06T09:12:00Z; DORA classification is due 24h "
            "after awareness (2026-03-05T09:12:00Z)",
        ),
        ("INC-2026-0002.yaml", "dora decided not reportable without a reason"),
        (
            "INC-2026-0003.yaml",
            "dora decided_at is before awareness (2026-03-04T10:00:00Z): a decision cannot "
            "precede awareness",
        ),
    ]


def test_no_regime_no_finding(repo: Repo) -> None:
    incident(repo)
    assert audit_rule(repo, "REG-CLASSIFY") == []
    assert audit_rule(repo, "REG-DEADLINE") == []


def test_ref_link_names_an_unknown_regime_and_an_unknown_stage(repo: Repo) -> None:
    activate(repo, only=("dora",))
    incident(
        repo,
        """\
        - regime: dora
          decision: reportable
          decided_at: 2026-03-04T10:00:00Z
          submissions:
            - {stage: early-warning, at: 2026-03-04T11:00:00Z}
        - regime: sox
          decision: reportable
          decided_at: 2026-03-04T10:00:00Z
        """,
    )
    hits = audit_rule(repo, "REF-LINK", record="INC-2026-0001")
    messages = [h.message for h in hits]
    assert messages == [
        "regime 'dora' has no stage 'early-warning' (stages: initial, intermediate, final)",
        "regime 'sox' is not in policy.yaml regulatory.regimes (active: dora)",
    ]
    text = (repo.root / "records/incidents/INC-2026-0001.yaml").read_text(encoding="utf-8")
    lines = text.splitlines()
    assert hits[0].line == next(n for n, s in enumerate(lines, 1) if "early-warning" in s)
    assert hits[1].line == next(n for n, s in enumerate(lines, 1) if "sox" in s)


def test_a_regime_listed_twice_is_a_finding_at_the_second(repo: Repo) -> None:
    """A "not-reportable" entry before a "reportable" one for the same regime would
    otherwise erase every deadline without a word."""
    activate(repo, only=("dora",))
    incident(
        repo,
        """\
        - regime: dora
          decision: not-reportable
          decided_at: 2026-03-04T10:00:00Z
          reason: Storefront only; no client transaction failed during the incident.
        - regime: dora
          decision: reportable
          decided_at: 2026-03-04T10:00:00Z
        """,
    )
    hits = audit_rule(repo, "REF-LINK", record="INC-2026-0001")
    assert [h.message for h in hits] == [
        "regime 'dora' is listed again (first in entry 1); the clocks read only the first"
    ]
    text = (repo.root / "records/incidents/INC-2026-0001.yaml").read_text(encoding="utf-8")
    regimes = [n for n, s in enumerate(text.splitlines(), 1) if "regime: dora" in s]
    assert hits[0].line == regimes[1] and hits[0].severity == "error"


def test_a_second_initial_notification_moves_no_deadline(repo: Repo) -> None:
    """The intermediate report runs from the initial notification: filing another
    "initial" later cannot extend it (only a stage marked ``updates`` moves the next)."""
    activate(repo, only=("dora",))
    incident(
        repo,
        """\
        - regime: dora
          decision: reportable
          decided_at: 2026-03-04T10:00:00Z
          submissions:
            - {stage: initial, at: 2026-03-04T12:00:00Z, reference: R0}
            - {stage: initial, at: 2026-03-06T12:00:00Z, reference: R0b}
            - {stage: intermediate, at: 2026-03-08T12:00:00Z, reference: R1}
        """,
    )
    found = clocks(repo, "2026-03-31T12:00:00Z")
    # due 72h after the first initial notification, 2026-03-04T12:00Z
    assert found["dora/intermediate"] == ("late", "2026-03-07T12:00:00Z")
    hits = audit_rule(repo, "REG-DEADLINE", record="INC-2026-0001")
    assert any("intermediate" in h.message for h in hits)


def test_a_regime_the_policy_lacks_changes_no_verdict_and_does_not_crash(
    repo: Repo, cli: InvokeCli
) -> None:
    incident(repo, "- regime: dora\n  decision: reportable\n  decided_at: 2026-03-04T10:00:00Z\n")
    result = cli("audit", "--no-history", "--repo", repo.root, "--as-of", "2026-03-31T12:00:00Z")
    assert result.status == 1, result.err
    assert "REF-LINK" in result.out and "REG-" not in result.out


# ------------------------------------------------------- a policy that cannot be honoured


def _regime_with(repo: Repo, old: str, new: str) -> int:
    activate(repo, only=("nis2",) if "notification" in old + new else ("dora",))
    return set_policy(repo, old, new)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "after: initial,",
            "after: preliminary,",
            "after: no stage 'preliminary' in this regime; use one of awareness, "
            "classification, initial",
        ),
        (
            "after: classification,",
            "after: final,",
            "after: a cycle of stages (initial → final → intermediate → initial)",
        ),
        (
            "after: intermediate}",
            "after: final}",
            "after: a cycle of stages (final → final)",
        ),
        (
            "within: 24h, after: awareness}",
            "within: 24h, after: notification}",
            "after: stage 'notification' comes later in the list; list stages in the order",
        ),
        (
            "no_later_than: 24h}",
            "no_later_than: 1mo}",
            "calendar months (mo) are not accepted here",
        ),
        ("classify_within: 24h", "classify_within: 1mo", "calendar months (mo) are not"),
        ("within: 72h, after: initial,", "within: 13mo13, after: initial,", "1mo (calendar"),
        (
            "{id: final, name: final report",
            "{id: initial, name: final report",
            "stage id 'initial' is listed twice",
        ),
    ],
)
def test_bad_regimes_are_config_errors_at_their_line(
    repo: Repo, cli: InvokeCli, old: str, new: str, message: str
) -> None:
    line = _regime_with(repo, old, new)
    for command in (["validate"], ["audit"], ["kpi", "--format", "json"]):
        result = cli(*command, "--repo", repo.root)
        assert result.status == 2, (command, result.err)
        assert re.search(rf"policy\.yaml:{line}:\d+: ", result.err), result.err
        assert message in result.err, result.err
        assert result.err.count("\n") == 1


# ------------------------------------------------------------------ the KPI


def kpi_result(repo: Repo, as_of: str) -> KpiResult:
    options = KpiOptions(
        as_of=parse_timestamp(as_of),
        since=date(2026, 3, 1),
        until=date(2026, 4, 1),
        only=("regulatory_on_time_rate",),
    )
    return compute_kpis(load_ledger(repo.root), None, options).results[0]


def _planted(repo: Repo) -> None:
    """March 2026 under DORA: one incident on time, one missing the 24h backstop and one
    with an open stage; one not reportable; one never classified; one in April."""
    activate(repo, only=("dora",))
    incident(
        repo,
        """\
        - regime: dora
          decision: reportable
          decided_at: 2026-03-02T10:00:00Z
          submissions:
            - {stage: initial, at: 2026-03-02T13:00:00Z, reference: NCA-1}
            - {stage: intermediate, at: 2026-03-04T09:00:00Z, reference: NCA-1}
        """,
        id="INC-2026-0001",
        detected="2026-03-02T09:00:00Z",
    )
    incident(
        repo,
        """\
        - regime: dora
          decision: reportable
          decided_at: 2026-03-11T08:00:00Z
        """,
        id="INC-2026-0002",
        detected="2026-03-10T09:00:00Z",
    )
    incident(
        repo,
        """\
        - regime: dora
          decision: reportable
          decided_at: 2026-03-29T10:00:00Z
          submissions:
            - {stage: initial, at: 2026-03-29T12:00:00Z}
        """,
        id="INC-2026-0003",
        detected="2026-03-29T09:00:00Z",
    )
    incident(
        repo,
        """\
        - regime: dora
          decision: not-reportable
          decided_at: 2026-03-15T10:00:00Z
          reason: Internal tool only; no clients or critical functions affected.
        """,
        id="INC-2026-0004",
        detected="2026-03-15T09:00:00Z",
    )
    incident(repo, id="INC-2026-0005", detected="2026-03-31T08:00:00Z")


def test_regulatory_on_time_rate_by_regime_and_stage_with_exclusions(repo: Repo) -> None:
    _planted(repo)
    result = kpi_result(repo, "2026-03-31T12:00:00Z")
    # due in March: 0001 initial (met), intermediate (met; 72h after the initial);
    # 0002 initial (missing: 24h backstop 2026-03-11T09:00Z); 0003 initial (met)
    assert (result.n, round(result.value or 0, 4)) == (4, 0.75)
    assert {g.key: (g.n, g.value) for g in result.groups["regime"]} == {"dora": (4, 0.75)}
    assert {g.key: (g.n, g.value) for g in result.groups["stage"]} == {
        "dora/initial": (3, 2 / 3),
        "dora/intermediate": (1, 1.0),
    }
    # 0003's intermediate report is due 2026-04-01T12:00Z: April's, not March's
    assert [(e.record, e.reason) for e in result.excluded] == [
        (
            "INC-2026-0002",
            "dora/final: not due yet: 1mo after the intermediate report, and the "
            "intermediate report is not submitted",
        ),
        (
            "INC-2026-0002",
            "dora/intermediate: not due yet: 72h after the initial notification, and the "
            "initial notification is not submitted",
        ),
        (
            "INC-2026-0003",
            "dora/final: not due yet: 1mo after the intermediate report, and the "
            "intermediate report is not submitted",
        ),
        (
            "INC-2026-0004",
            "dora: decided not reportable (Internal tool only; no clients or critical "
            "functions affected.)",
        ),
        ("INC-2026-0005", "dora: not classified yet, no stage due"),
    ]
    # as of 2 April the intermediate report of 0003 is still open but due in April
    april = kpi_result(repo, "2026-04-02T12:00:00Z")
    assert (april.n, round(april.value or 0, 4)) == (4, 0.75)


def test_regulatory_on_time_rate_without_regimes_has_no_data(repo: Repo) -> None:
    incident(repo)
    result = kpi_result(repo, "2026-03-31T12:00:00Z")
    assert (result.n, result.value, result.status) == (0, None, "no data")


def test_regulatory_kpi_in_every_kpi_format(repo: Repo, cli: InvokeCli) -> None:
    _planted(repo)
    common = ("--no-history", "--repo", repo.root, "--as-of", "2026-03-31T12:00:00Z")
    period = ("--since", "2026-03-01", "--until", "2026-04-01")
    doc = json.loads(cli("kpi", "--format", "json", *period, *common).out)
    found = next(k for k in doc["kpis"] if k["id"] == "regulatory_on_time_rate")
    assert (found["value"], found["n"]) == (0.75, 4)
    assert found["groups"]["stage"]["dora/initial"]["n"] == 3
    assert {"record": "INC-2026-0005", "reason": "dora: not classified yet, no stage due"} in (
        found["excluded"]
    )
    for fmt in ("table", "markdown", "csv"):
        result = cli("kpi", "--format", fmt, *period, *common)
        assert result.status == 0, result.err
        assert "regulatory" in result.out.lower()


# ------------------------------------------------------------------ the reports


def test_monthly_review_has_a_regulatory_reporting_section(repo: Repo, cli: InvokeCli) -> None:
    _planted(repo)
    hostile = "Internal tool only | <script>alert(1)</script> *no clients*"
    path = repo.root / "records/incidents/INC-2026-0004.yaml"
    text = path.read_text(encoding="utf-8").replace(
        "Internal tool only; no clients or critical functions affected.", f'"{hostile}"'
    )
    path.write_text(text, encoding="utf-8")
    result = cli(
        "report", "monthly", "--period", "2026-03", "--no-history", "--as-of",
        "2026-03-31T12:00:00Z", "--repo", repo.root,
    )  # fmt: skip
    assert result.status == 0, result.err
    section = result.out.split("## Regulatory reporting\n", 1)[1]
    assert "Reportable incidents this month: 3 (INC-2026-0001 DORA, INC-2026-0002 DORA, " in (
        section
    )
    assert "<script>" not in section
    assert (
        "- INC-2026-0004 DORA: Internal tool only \\| &lt;script&gt;alert(1)&lt;/script&gt; "
        "\\*no clients\\*"
    ) in section
    # the KPI's figures: 3 of the 4 stages due in March on time
    assert "| all | 75.0% | 4 |" in section
    assert "| dora/initial | 66.7% | 3 |" in section
    assert "Classification decisions late or missing: 0." in section
    on_time = section.split("### Stages on time (3)\n", 1)[1].split("###", 1)[0]
    assert on_time.count("✓ on time") == 3
    missed = section.split("### Stages missed or late (1)\n", 1)[1].split("###", 1)[0]
    assert "| INC-2026-0002 | DORA | initial notification | 2026-03-11 09:00" in missed
    assert "✗ missed" in missed
    still_open = section.split("### Open, with their deadlines (", 1)[1]
    assert "| INC-2026-0003 | DORA | intermediate report | 2026-04-01 " in still_open
    assert "| INC-2026-0005 | DORA | classification | 2026-04-01 " in still_open


def test_weekly_scorecard_lists_the_coming_weeks_deadlines(repo: Repo, cli: InvokeCli) -> None:
    _planted(repo)
    result = cli(
        "report", "weekly", "--period", "2026-W13", "--no-history", "--as-of",
        "2026-03-31T12:00:00Z", "--repo", repo.root,
    )  # fmt: skip
    assert result.status == 0, result.err
    section = result.out.split("## Regulatory deadlines in the coming week (", 1)[1]
    rows = [line for line in section.splitlines() if line.startswith("| INC-")]
    assert [row.split(" | ")[:3] for row in rows] == [
        ["| INC-2026-0003", "DORA", "classification"],
        ["| INC-2026-0005", "DORA", "classification"],
        ["| INC-2026-0003", "DORA", "intermediate report"],
        ["| INC-2026-0001", "DORA", "final report"],
    ]


# ------------------------------------------------------------------ the site


def test_regulatory_calendar_and_incident_clocks_on_the_site(repo: Repo) -> None:
    _planted(repo)
    hostile = "NCA-<img src=x onerror=alert(1)>|*"
    path = repo.root / "records/incidents/INC-2026-0001.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace(
            "reference: NCA-1}", f'reference: "{hostile}"}}', 1
        ),
        encoding="utf-8",
    )
    site = generate(collect(repo.root, "2026-03-31T12:00:00Z", use_history=False))
    calendar = site.pages["regulatory.md"]
    sections = calendar.split("\n## ")
    titles = [s.split("\n", 1)[0] for s in sections[1:]]
    assert titles == [
        "Upcoming (3)",
        "Waiting for an earlier stage (3)",
        "Missed or late (1)",
        "Met (7)",
    ]
    upcoming = [line for line in sections[1].splitlines() if line.startswith("| [")]
    # soonest first: 0005's classification (01 Apr 09:00 BST), then 0003's intermediate
    assert "INC-2026-0005" in upcoming[0] and "| 2026-04-01 09:00 +01:00 |" in upcoming[0]
    assert "INC-2026-0003" in upcoming[1] and "| 2026-04-01 13:00 +01:00 |" in upcoming[1]
    assert "INC-2026-0001" in upcoming[2] and "| 2026-04-04 10:00 +01:00 |" in upcoming[2]
    missed = [line for line in sections[3].splitlines() if line.startswith("| [")]
    assert len(missed) == 1 and "INC-2026-0002" in missed[0] and "✗ missed" in missed[0]
    assert "INC-2026-0002.md)" in missed[0]
    assert "<img" not in calendar
    page = site.records[next(p for p in site.records if p.endswith("INC-2026-0001.md"))]
    clocks = page.split("## Regulatory clocks\n", 1)[1].split("\n## ", 1)[0]
    assert "**DORA**: reportable (decided 2026-03-02 10:00 +00:00)" in clocks
    rows = [line for line in clocks.splitlines() if line.startswith("| DORA")]
    assert [row.split(" | ")[1] for row in rows] == [
        "classification",
        "initial notification",
        "intermediate report",
        "final report",
    ]
    assert "| 2026-03-02 14:00 +00:00 | 2026-03-02 13:00 +00:00 | ✓ met |" in rows[1]
    assert "<img" not in clocks and "&lt;img" in clocks
    assert "| 2026-04-04 10:00 +01:00 | — | pending |" in rows[3]
    # a not-reportable decision shows its classification only
    quiet = next(p for p in site.records if p.endswith("INC-2026-0004.md"))
    assert "## Regulatory clocks" in site.records[quiet]  # not reportable: still classified
    assert "not-reportable (decided 2026-03-15 10:00 +00:00)" in site.records[quiet]


def test_no_regime_no_clocks_on_the_site(repo: Repo) -> None:
    incident(repo)
    site = generate(collect(repo.root, "2026-03-31T12:00:00Z", use_history=False))
    assert "No regulatory regime is active" in site.pages["regulatory.md"]
    page = next(p for p in site.records if p.endswith("INC-2026-0001.md"))
    assert "Regulatory clocks" not in site.records[page]


# ------------------------------------------------------------------ the draft submission


def _brief(cli: InvokeCli, repo: Repo, *args: str) -> tuple[int, str, str]:
    result = cli(
        "brief", *args, "--no-history", "--as-of", "2026-03-31T12:00:00Z", "--repo", repo.root
    )
    return result.status, result.out, result.err


def test_brief_drafts_a_regulatory_submission_in_markdown_and_json(
    repo: Repo, cli: InvokeCli
) -> None:
    _planted(repo)
    path = repo.root / "records/incidents/INC-2026-0003.yaml"
    text = path.read_text(encoding="utf-8").replace(
        "Card payments failed for every customer for 50 minutes.",
        "Card payments failed <b>for</b> *every* customer | [link](javascript:alert(1))",
    )
    path.write_text(text, encoding="utf-8")
    status, out, err = _brief(
        cli, repo, "INC-2026-0003", "--regulatory", "dora", "--stage", "intermediate"
    )
    assert status == 0, err
    assert out.startswith("# DRAFT DORA intermediate report: INC-2026-0003\n")
    assert "It has not been submitted to anyone" in out
    assert (
        "- Stage: intermediate report; deadline 2026-04-01T12:00:00Z (open): not submitted "
        "yet; due by 2026-04-01T12:00:00Z (72h after the initial notification)"
    ) in out
    assert "- Detected: 2026-03-29T09:00:00Z" in out
    assert "- Classified: reportable at 2026-03-29T10:00:00Z" in out
    assert "- initial at 2026-03-29T12:00:00Z" in out
    assert "<b>" not in out
    assert (
        "Card payments failed &lt;b&gt;for&lt;/b&gt; \\*every\\* customer \\| "
        "\\[link\\](javascript:alert(1))"
    ) in out
    assert "- root cause: not established" in out
    status, out, err = _brief(
        cli, repo, "INC-2026-0003", "--regulatory", "dora", "--stage", "intermediate",
        "--format", "json",
    )  # fmt: skip
    assert status == 0, err
    doc = json.loads(out)
    assert doc["draft"] is True and doc["version"] == 1
    assert doc["stage"] == {
        "id": "intermediate",
        "name": "intermediate report",
        "deadline": "2026-04-01T12:00:00Z",
        "verdict": "pending",
        "rule": "not submitted yet; due by 2026-04-01T12:00:00Z (72h after the initial "
        "notification)",
    }
    assert doc["impact"] == (
        "Card payments failed <b>for</b> *every* customer | [link](javascript:alert(1))"
    )
    assert doc["submissions"] == [
        {"stage": "initial", "at": "2026-03-29T12:00:00Z", "reference": None}
    ]


def test_brief_regulatory_defaults_to_the_first_open_stage(repo: Repo, cli: InvokeCli) -> None:
    _planted(repo)
    status, out, err = _brief(cli, repo, "INC-2026-0001", "--regulatory", "dora")
    assert status == 0, err
    assert out.startswith("# DRAFT DORA final report: INC-2026-0001\n")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--regulatory", "nis2"), "--regulatory 'nis2': no such regime (active: dora)"),
        (
            ("--regulatory", "dora", "--stage", "early-warning"),
            "--stage 'early-warning': dora has no such stage (stages: initial, intermediate, "
            "final)",
        ),
        (("--stage", "initial"), "--stage and --format json go with --regulatory REGIME"),
        (("--format", "json"), "--stage and --format json go with --regulatory REGIME"),
    ],
)
def test_brief_regulatory_usage_errors(
    repo: Repo, cli: InvokeCli, args: tuple[str, ...], message: str
) -> None:
    _planted(repo)
    status, out, err = _brief(cli, repo, "INC-2026-0001", *args)
    assert (status, out) == (2, "")
    assert message in err and err.count("\n") == 1


def test_executive_brief_shows_the_regulatory_verdicts(repo: Repo, cli: InvokeCli) -> None:
    _planted(repo)
    status, out, err = _brief(cli, repo, "INC-2026-0002")
    assert status == 0, err
    section = out.split("## Regulatory reporting\n", 1)[1]
    assert (
        "| DORA initial notification | missed (not done) | not submitted; was due by "
        "2026-03-11T09:00:00Z (4h after the classification, no later than 24h after "
        "awareness; the 24h backstop after awareness came first) |"
    ) in section


def test_a_missing_reason_is_one_finding_by_reg_classify(repo: Repo, cli: InvokeCli) -> None:
    activate(repo, only=("dora",))
    incident(
        repo,
        """\
        - regime: dora
          decision: not-reportable
          decided_at: 2026-03-04T10:00:00Z
        """,
    )
    common = ("--no-history", "--as-of", "2026-03-31T12:00:00Z", "--format", "json")
    result = cli("audit", "--repo", repo.root, *common, "--fail-on", "never")
    found = [
        (f["rule"], f["message"])
        for f in json.loads(result.out)["findings"]
        if f["record"] == "INC-2026-0001" and f["rule"] in ("SCHEMA", "REG-CLASSIFY", "REF-LINK")
    ]
    assert found == [("REG-CLASSIFY", "dora decided not reportable without a reason")]
    assert cli("validate", "--repo", repo.root).status == 0


def test_an_imported_incident_without_a_decision_starts_no_clock(repo: Repo) -> None:
    activate(repo, only=("dora",))
    incident(repo)
    path = repo.root / "records/incidents/INC-2026-0001.yaml"
    with path.open("a", encoding="utf-8") as out:
        out.write("external_id: INC0012345\nimport_gaps: [acknowledged_at]\n")
    assert clocks(repo) == {}
    with path.open("a", encoding="utf-8") as out:
        out.write(
            "regulatory:\n  - {regime: dora, decision: reportable, "
            "decided_at: 2026-03-04T10:00:00Z}\n"
        )
    assert clocks(repo)["dora/classification"] == ("met", "2026-03-05T09:12:00Z")
