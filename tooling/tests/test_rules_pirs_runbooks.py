"""PIR-* and RB-* rules: a failing, a passing and a boundary case each, with exact positions."""

from __future__ import annotations

import re

import pytest

from conftest import Hit, Repo, audit_rule

PIR_PATH = "records/pirs/PIR-2026-0042.md"
RB_PATH = "runbooks/RB-0003-orders-db-pool.md"

# An approved PIR that passes every PIR rule as of 2026-03-31. Line numbers matter below.
PIR = """\
---
id: PIR-2026-0042
incident: INC-2026-0042
status: approved
authors: [lena.fischer@example.com]
reviewers:
  - by: priya.shah@example.com
    at: 2026-03-09T15:00:00Z
    decision: approved
root_cause: A deploy halved the orders-db connection pool size.
actions:
  - id: A1
    title: Add a saturation alert on orders-db pool usage above 80% with a link to RB-0003
    type: detective
    owner: lena.fischer@example.com
    due: "2026-04-30"
    status: open
    verification: The alert fires in the staging load test at 85% pool usage.
  - id: A2
    title: Document the failover procedure in RB-0004
    type: process
    owner: omar.haddad@example.com
    due: "2026-03-20"
    status: done
    verification: RB-0004 reviewed by the payments on-call rota on 19 March.
---

# PIR-2026-0042 - Checkout failing on orders-db pool exhaustion

## Summary

Checkout failed for about 20% of customers for 38 minutes.

## Impact

About 1,900 checkout attempts failed; no orders were lost.

## Timeline

| time | event |
|---|---|
| 09:12 | Pool saturation alert fires |
| 09:50 | Deploy rolled back; service restored |

## Root cause

The 09:00 deploy halved the connection pool size.

## Contributing factors

### Detection

No alert on pool saturation.

### Change review

The pool size change was not called out in the change record.

## Corrective actions

See A1 and A2 in the front matter.

## Lessons learned

Configuration changes to shared pools need a capacity check.
"""

# A runbook that passes every RB rule as of 2026-03-31 and covers orders-db.
RUNBOOK = """\
---
id: RB-0003
title: Orders database connection pool saturation
services: [orders-db]
owner: lena.fischer@example.com
last_reviewed: "2026-01-15"
review_every: 90d
---

# Orders database connection pool saturation

## Symptoms

PgBouncerPoolSaturation fires: pool usage above 80% for 5 minutes.

## Diagnosis

Run SHOW POOLS on the PgBouncer admin console and note cl_waiting per user.

## Mitigation

Pause the batch job holding the connections and terminate its sessions.

## Escalation

Tier 3: Database Reliability (PagerDuty orders-db) for locks or failover.

## Verification

cl_waiting at 0 and checkout-api PoolTimeout errors at 0 for 10 minutes.
"""


def edit(old: str, new: str, text: str = PIR) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def write_pir(repo: Repo, text: str = PIR) -> None:
    repo.write(PIR_PATH, text, dedent=False)


def write_runbook(repo: Repo, text: str = RUNBOOK) -> None:
    repo.write(RB_PATH, text, dedent=False)


def set_policy(repo: Repo, old: str, new: str) -> None:
    path = repo.root / "policy.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def no_vague_phrases(repo: Repo) -> None:
    path = repo.root / "policy.yaml"
    text, n = re.subn(
        r"  vague_phrases:\n(?:    - .*\n)+", "  vague_phrases: []\n", path.read_text("utf-8")
    )
    assert n == 1
    path.write_text(text, encoding="utf-8")


def at(hits: list[Hit]) -> list[tuple[int, int]]:
    return [(h.line, h.column) for h in hits]


PIR_RULES = ["PIR-SECTIONS", "PIR-ACTIONS", "PIR-VAGUE", "PIR-OVERDUE", "PIR-REVIEW"]
RB_RULES = ["RB-SECTIONS", "RB-STALE", "RB-COVERAGE"]


@pytest.mark.parametrize("rule", PIR_RULES)
def test_clean_pir_passes_every_pir_rule(repo: Repo, rule: str) -> None:
    write_pir(repo)
    assert audit_rule(repo, rule) == []


@pytest.mark.parametrize("rule", RB_RULES)
def test_clean_runbook_passes_every_runbook_rule(repo: Repo, rule: str) -> None:
    write_runbook(repo)
    assert audit_rule(repo, rule) == []


def test_rules_are_registered_in_spec_order() -> None:
    from opsledger.rules import RULES, pirs, runbooks

    assert [r.id for r in pirs.RULES] == PIR_RULES
    assert [r.id for r in runbooks.RULES] == RB_RULES
    ids = [r.id for r in RULES]
    assert ids[ids.index("PIR-SECTIONS") :][:8] == PIR_RULES + RB_RULES


@pytest.mark.parametrize("rule", PIR_RULES + RB_RULES)
def test_documentation_has_the_five_sections(rule: str) -> None:
    from opsledger.rules import RULES_BY_ID

    sections = RULES_BY_ID[rule].doc_sections()
    assert list(sections) == [
        "What it checks",
        "Why auditors care",
        "Failing example",
        "Passing example",
        "Policy settings",
    ]
    assert all(sections.values())


class TestPirSections:
    def test_missing_section_at_the_body(self, repo: Repo) -> None:
        write_pir(repo, edit("## Timeline\n", "## Chronology\n"))
        hits = audit_rule(repo, "PIR-SECTIONS")
        assert at(hits) == [(27, 1)]  # the body's first line, after the closing ---
        assert hits[0].message == "required section 'Timeline' is missing"
        assert hits[0].severity == "error"

    def test_placeholder_section_at_its_heading(self, repo: Repo) -> None:
        write_pir(
            repo,
            edit(
                "The 09:00 deploy halved the connection pool size.\n",
                "TBD\n",
            ),
        )
        hits = audit_rule(repo, "PIR-SECTIONS")
        assert at(hits) == [(45, 1)]
        assert hits[0].message == "section 'Root cause' holds only a placeholder ('TBD')"

    def test_empty_section_and_bullet_placeholders(self, repo: Repo) -> None:
        text = edit("See A1 and A2 in the front matter.\n", "- TBD\n- n/a\n")
        text = edit("Checkout failed for about 20% of customers for 38 minutes.\n", "", text)
        write_pir(repo, text)
        hits = audit_rule(repo, "PIR-SECTIONS")
        assert [(h.line, h.message) for h in hits] == [
            (30, "section 'Summary' is empty"),
            (58, "section 'Corrective actions' holds only a placeholder ('TBD')"),
        ]

    def test_html_comment_only_is_empty(self, repo: Repo) -> None:
        write_pir(
            repo,
            edit(
                "Configuration changes to shared pools need a capacity check.\n",
                "<!-- what will we do differently? -->\n",
            ),
        )
        assert [h.message for h in audit_rule(repo, "PIR-SECTIONS")] == [
            "section 'Lessons learned' is empty"
        ]

    def test_heading_level_and_case_do_not_matter(self, repo: Repo) -> None:
        text = edit("## Timeline\n", "# TIMELINE\n")
        write_pir(repo, edit("## Root cause\n", "#### root  cause:\n", text))
        assert audit_rule(repo, "PIR-SECTIONS") == []

    def test_only_subsections_with_text_count_as_content(self, repo: Repo) -> None:
        # "Contributing factors" has no text of its own, only sub-headings with text.
        write_pir(repo)
        assert audit_rule(repo, "PIR-SECTIONS") == []
        text = edit("No alert on pool saturation.\n", "")
        write_pir(
            repo, edit("The pool size change was not called out in the change record.\n", "", text)
        )
        hits = audit_rule(repo, "PIR-SECTIONS")
        assert [(h.line, h.message) for h in hits] == [
            (49, "section 'Contributing factors' is empty")
        ]

    def test_heading_inside_a_code_fence_does_not_count(self, repo: Repo) -> None:
        text = PIR.split("## Lessons learned")[0] + "```\n## Lessons learned\nSee above.\n```\n"
        write_pir(repo, text)
        hits = audit_rule(repo, "PIR-SECTIONS")
        assert [h.message for h in hits] == ["required section 'Lessons learned' is missing"]

    def test_no_body_reports_every_section_at_line_1(self, repo: Repo) -> None:
        write_pir(repo, PIR.split("# PIR-2026-0042")[0].rstrip("\n") + "\n")
        hits = audit_rule(repo, "PIR-SECTIONS")
        assert len(hits) == 7
        assert {(h.line, h.column) for h in hits} == {(1, 1)}

    def test_required_sections_come_from_policy(self, repo: Repo) -> None:
        set_policy(repo, "    - Lessons learned\n", "    - Lessons learned\n    - Follow-up\n")
        write_pir(repo)
        assert [h.message for h in audit_rule(repo, "PIR-SECTIONS")] == [
            "required section 'Follow-up' is missing"
        ]


class TestPirActions:
    def test_no_actions(self, repo: Repo) -> None:
        text = PIR.split("actions:\n")[0] + "actions: []\n---\n" + PIR.split("---\n", 2)[2]
        write_pir(repo, text)
        hits = audit_rule(repo, "PIR-ACTIONS")
        assert at(hits) == [(11, 10)]
        assert hits[0].message == "PIR has no actions"

    def test_missing_owner_due_and_type(self, repo: Repo) -> None:
        text = edit("    type: detective\n", "")
        text = edit("    owner: lena.fischer@example.com\n", "", text)
        text = edit('    due: "2026-04-30"\n', "", text)
        write_pir(repo, text)
        hits = audit_rule(repo, "PIR-ACTIONS")
        assert [(h.line, h.column, h.message) for h in hits] == [
            (12, 5, "action A1 has no due date"),
            (12, 5, "action A1 has no owner"),
            (12, 5, "action A1 has no type"),
        ]

    @pytest.mark.parametrize(
        ("verification", "why"),
        [("TBD", "is a placeholder ('TBD')"), ("Alert works", "is too short to be specific")],
    )
    def test_vague_verification(self, repo: Repo, verification: str, why: str) -> None:
        write_pir(
            repo,
            edit(
                "verification: The alert fires in the staging load test at 85% pool usage.",
                f"verification: {verification}",
            ),
        )
        hits = audit_rule(repo, "PIR-ACTIONS")
        assert at(hits) == [(18, 19)]
        assert hits[0].message.startswith(f"action A1 verification {why}")

    def test_missing_verification_at_the_action(self, repo: Repo) -> None:
        write_pir(
            repo,
            edit(
                "    verification: The alert fires in the staging load test at 85% pool usage.\n",
                "",
            ),
        )
        hits = audit_rule(repo, "PIR-ACTIONS")
        assert [(h.line, h.column, h.message) for h in hits] == [
            (12, 5, "action A1 verification is missing")
        ]

    # Approved 2026-03-09 (the first approving review); actions.max_due is 90d: 2026-06-07.
    def test_due_exactly_max_due_after_approval_passes(self, repo: Repo) -> None:
        write_pir(repo, edit('due: "2026-04-30"', 'due: "2026-06-07"'))
        assert audit_rule(repo, "PIR-ACTIONS") == []

    def test_due_later_than_max_due_after_approval(self, repo: Repo) -> None:
        write_pir(repo, edit('due: "2026-04-30"', 'due: "2026-06-08"'))
        hits = audit_rule(repo, "PIR-ACTIONS")
        assert at(hits) == [(16, 10)]
        assert hits[0].message == (
            "action A1 is due 2026-06-08, more than 90d after the PIR's approval on 2026-03-09"
        )

    def test_unapproved_pir_counts_from_today(self, repo: Repo) -> None:
        # today is 2026-03-31: the limit is 2026-06-29
        text = edit("status: approved", "status: in-review")
        text = edit("decision: approved", "decision: changes-requested", text)
        write_pir(repo, edit('due: "2026-04-30"', 'due: "2026-06-29"', text))
        assert audit_rule(repo, "PIR-ACTIONS") == []
        write_pir(repo, edit('due: "2026-04-30"', 'due: "2026-06-30"', text))
        hits = audit_rule(repo, "PIR-ACTIONS")
        assert hits[0].message == (
            "action A1 is due 2026-06-30, more than 90d after today (2026-03-31); "
            "the PIR is not approved yet"
        )

    def test_wrong_types_are_left_to_schema(self, repo: Repo) -> None:
        text = edit("    owner: lena.fischer@example.com\n", "    owner: [lena]\n")
        text = edit(
            "verification: The alert fires in the staging load test at 85% pool usage.",
            "verification: [The alert fires in the staging load test at 85% pool usage.]",
            text,
        )
        write_pir(repo, text)
        assert audit_rule(repo, "PIR-ACTIONS") == []
        assert {h.line for h in audit_rule(repo, "SCHEMA")} == {15, 18}


MUST_FLAG = [
    "Improve monitoring",
    "Be more careful with deploys",
    "Investigate the root cause",
    "Monitor better",
    "Review process",
]
MUST_NOT_FLAG = [
    "Add a saturation alert on orders-db pool usage above 80% with a link to RB-0003",
    "Rotate the payments TLS certificate with cert-manager and alert 21 days before expiry",
    "Document the failover procedure in RB-0004",
]


class TestPirVague:
    @pytest.mark.parametrize("title", MUST_FLAG)
    def test_vague_titles_are_flagged(self, repo: Repo, title: str) -> None:
        write_pir(
            repo, edit("title: Document the failover procedure in RB-0004", f"title: {title}")
        )
        hits = audit_rule(repo, "PIR-VAGUE")
        assert at(hits) == [(20, 12)]
        assert hits[0].message.startswith("action A2 title ")

    @pytest.mark.parametrize("title", MUST_NOT_FLAG)
    def test_specific_titles_pass(self, repo: Repo, title: str) -> None:
        write_pir(
            repo, edit("title: Document the failover procedure in RB-0004", f"title: {title}")
        )
        assert audit_rule(repo, "PIR-VAGUE") == []

    def test_policy_phrase_message(self, repo: Repo) -> None:
        write_pir(
            repo, edit("title: Document the failover procedure in RB-0004", "title: Monitor better")
        )
        assert audit_rule(repo, "PIR-VAGUE")[0].message == (
            "action A2 title contains the vague phrase 'monitor better'"
        )

    @pytest.mark.parametrize(
        ("title", "message"),
        [
            ("Improve the alerting", "starts with 'improve' and names nothing measurable"),
            ("Monitor disk usage closely", "starts with 'monitor' and names nothing measurable"),
            ("Fix it", "is too short to say what will be done (2 words)"),
        ],
    )
    def test_heuristics_without_policy_phrases(self, repo: Repo, title: str, message: str) -> None:
        no_vague_phrases(repo)
        write_pir(
            repo, edit("title: Document the failover procedure in RB-0004", f"title: {title}")
        )
        hits = audit_rule(repo, "PIR-VAGUE")
        assert [h.message for h in hits] == [f"action A2 title {message}"]

    @pytest.mark.parametrize(
        "title",
        [
            "Monitor orders-db pool usage",  # identifier with a hyphen
            "Review the alert thresholds quarterly at 80%",  # a number
            "Ensure login.example.com renews automatically",  # a dotted name
            "Review RB-0004 with the payments team",  # a record ID
        ],
    )
    def test_vague_verb_with_measurable_detail_passes(self, repo: Repo, title: str) -> None:
        no_vague_phrases(repo)
        write_pir(
            repo, edit("title: Document the failover procedure in RB-0004", f"title: {title}")
        )
        assert audit_rule(repo, "PIR-VAGUE") == []

    def test_phrases_match_whole_words_only(self, repo: Repo) -> None:
        # "investigate" is a policy phrase; "investigated" in a specific title is not it
        write_pir(
            repo,
            edit(
                "title: Document the failover procedure in RB-0004",
                "title: Document the investigated failover steps in RB-0004",
            ),
        )
        assert audit_rule(repo, "PIR-VAGUE") == []


class TestPirOverdue:
    def test_past_due_open_action_is_a_warning(self, repo: Repo) -> None:
        write_pir(repo, edit('due: "2026-04-30"', 'due: "2026-03-30"'))
        hits = audit_rule(repo, "PIR-OVERDUE")
        assert [(h.line, h.column, h.severity) for h in hits] == [(16, 10, "warning")]
        assert hits[0].message == "action A1 is 1 day overdue (due 2026-03-30, status open)"

    def test_due_today_is_not_overdue(self, repo: Repo) -> None:
        write_pir(repo, edit('due: "2026-04-30"', 'due: "2026-03-31"'))
        assert audit_rule(repo, "PIR-OVERDUE") == []

    def test_today_is_the_policy_timezone_day(self, repo: Repo) -> None:
        # 2026-03-31T23:30Z is already 1 April in Europe/London (BST)
        write_pir(repo, edit('due: "2026-04-30"', 'due: "2026-03-31"'))
        hits = audit_rule(repo, "PIR-OVERDUE", as_of="2026-03-31T23:30:00Z")
        assert [h.message for h in hits] == [
            "action A1 is 1 day overdue (due 2026-03-31, status open)"
        ]

    def test_in_progress_counts_done_does_not(self, repo: Repo) -> None:
        text = edit('due: "2026-04-30"', 'due: "2026-03-01"')
        write_pir(repo, edit("status: open", "status: in-progress", text))
        assert [h.message for h in audit_rule(repo, "PIR-OVERDUE")] == [
            "action A1 is 30 days overdue (due 2026-03-01, status in-progress)"
        ]
        # A2 is done and was due 2026-03-20: never overdue
        write_pir(repo, edit("status: open", "status: wont-do", text))
        assert audit_rule(repo, "PIR-OVERDUE") == []


class TestPirReview:
    def test_author_approving_own_pir(self, repo: Repo) -> None:
        write_pir(repo, edit("by: priya.shah@example.com", "by: ' Lena.Fischer@Example.com '"))
        hits = audit_rule(repo, "PIR-REVIEW")
        assert at(hits) == [(7, 3)]
        assert hits[0].message == "PIR is approved but only its authors approved it"

    def test_no_reviewers(self, repo: Repo) -> None:
        text = edit(
            "reviewers:\n  - by: priya.shah@example.com\n    at: 2026-03-09T15:00:00Z\n"
            "    decision: approved\n",
            "",
        )
        write_pir(repo, text)
        hits = audit_rule(repo, "PIR-REVIEW")
        assert at(hits) == [(4, 9)]
        assert hits[0].message == "PIR is approved but has no reviewers"

    def test_reviewer_did_not_approve(self, repo: Repo) -> None:
        write_pir(repo, edit("decision: approved", "decision: changes-requested"))
        assert [h.message for h in audit_rule(repo, "PIR-REVIEW")] == [
            "PIR is approved but no reviewer approved it"
        ]

    def test_draft_needs_no_reviewer(self, repo: Repo) -> None:
        text = edit("by: priya.shah@example.com", "by: lena.fischer@example.com")
        write_pir(repo, edit("status: approved", "status: draft", text))
        assert audit_rule(repo, "PIR-REVIEW") == []

    def test_one_independent_approval_is_enough(self, repo: Repo) -> None:
        write_pir(
            repo,
            edit(
                "reviewers:\n",
                "reviewers:\n  - by: lena.fischer@example.com\n    at: 2026-03-09T14:00:00Z\n"
                "    decision: approved\n",
            ),
        )
        assert audit_rule(repo, "PIR-REVIEW") == []


class TestRbSections:
    def test_missing_section(self, repo: Repo) -> None:
        write_runbook(repo, edit("## Escalation\n", "## Who to call\n", RUNBOOK))
        hits = audit_rule(repo, "RB-SECTIONS")
        assert at(hits) == [(9, 1)]
        assert hits[0].message == "required section 'Escalation' is missing"

    def test_placeholder_section(self, repo: Repo) -> None:
        write_runbook(
            repo,
            edit(
                "Pause the batch job holding the connections and terminate its sessions.\n",
                "n/a.\n",
                RUNBOOK,
            ),
        )
        hits = audit_rule(repo, "RB-SECTIONS")
        assert at(hits) == [(20, 1)]
        assert hits[0].message == "section 'Mitigation' holds only a placeholder ('n/a.')"

    def test_any_heading_level_and_case(self, repo: Repo) -> None:
        write_runbook(repo, edit("## Escalation\n", "### ESCALATION\n", RUNBOOK))
        assert audit_rule(repo, "RB-SECTIONS") == []


class TestRbStale:
    # last_reviewed 2026-01-15 with review_every 90d: due again on 2026-04-15.
    def test_review_due_today_passes(self, repo: Repo) -> None:
        write_runbook(repo)
        assert audit_rule(repo, "RB-STALE", as_of="2026-04-15T12:00:00Z") == []

    def test_one_day_late_is_a_warning(self, repo: Repo) -> None:
        write_runbook(repo)
        hits = audit_rule(repo, "RB-STALE", as_of="2026-04-16T12:00:00Z")
        assert [(h.line, h.column, h.severity) for h in hits] == [(6, 16, "warning")]
        assert hits[0].message == (
            "last reviewed 2026-01-15, 91 days ago; runbooks are reviewed every 90d"
        )

    def test_policy_default_when_the_runbook_has_none(self, repo: Repo) -> None:
        # runbooks.review_every is 180d: 2026-01-15 + 180d = 2026-07-14
        write_runbook(repo, edit("review_every: 90d\n", "", RUNBOOK))
        assert audit_rule(repo, "RB-STALE", as_of="2026-07-14T12:00:00Z") == []
        hits = audit_rule(repo, "RB-STALE", as_of="2026-07-15T12:00:00Z")
        assert hits[0].message.endswith("every 180d")

    def test_policy_can_raise_the_severity(self, repo: Repo) -> None:
        set_policy(repo, "  severity: {}", "  severity: {RB-STALE: error}")
        write_runbook(repo)
        hits = audit_rule(repo, "RB-STALE", as_of="2026-04-16T12:00:00Z")
        assert [h.severity for h in hits] == ["error"]

    def test_invalid_review_every_is_left_to_schema(self, repo: Repo) -> None:
        write_runbook(repo, edit("review_every: 90d", "review_every: 3 months", RUNBOOK))
        assert audit_rule(repo, "RB-STALE", as_of="2027-01-01T12:00:00Z") == []


SERVICES_WITHOUT_RUNBOOKS = """\
- id: orders-db
  name: Orders database
  tier: 1
  owner: lena.fischer@example.com
  availability_target: 99.95
- id: storefront
  name: Storefront
  tier: 2
  owner: omar.haddad@example.com
  availability_target: 99.9
"""


class TestRbCoverage:
    def test_tier_1_service_without_runbook(self, repo: Repo) -> None:
        hits = audit_rule(repo, "RB-COVERAGE")  # orders-db lists RB-0003, which does not exist
        assert [(h.path, h.line, h.column) for h in hits] == [("records/services.yaml", 1, 7)]
        assert (
            hits[0].message
            == "tier-1 service 'orders-db' has no runbook (RB-0003 listed but not found)"
        )

    def test_runbook_listing_the_service_covers_it(self, repo: Repo) -> None:
        repo.write("records/services.yaml", SERVICES_WITHOUT_RUNBOOKS, dedent=False)
        write_runbook(repo)
        assert audit_rule(repo, "RB-COVERAGE") == []

    def test_service_runbooks_entry_covers_it(self, repo: Repo) -> None:
        # RB-0003 exists but lists another service; the catalog entry still names it
        write_runbook(repo, edit("services: [orders-db]", "services: [storefront]", RUNBOOK))
        assert audit_rule(repo, "RB-COVERAGE") == []

    def test_tier_2_needs_no_runbook(self, repo: Repo) -> None:
        repo.write("records/services.yaml", SERVICES_WITHOUT_RUNBOOKS, dedent=False)
        hits = audit_rule(repo, "RB-COVERAGE")
        assert [(h.line, h.column, h.message) for h in hits] == [
            (1, 7, "tier-1 service 'orders-db' has no runbook")
        ]


PARTIAL_PIR = """\
---
id: PIR-2026-0042
status: approved
authors: lena.fischer@example.com
reviewers: [{by: 7, decision: approved}, nonsense]
actions:
  - id: A1
    title: 42
    due: "2026-02-30"
    status: open
  - just a string
---
"""

PARTIAL_RUNBOOK = """\
---
id: RB-0003
services: orders-db
last_reviewed: yesterday
review_every: 90d
---
## Symptoms
"""


@pytest.mark.parametrize("rule", PIR_RULES + RB_RULES)
def test_partially_invalid_records_do_not_crash(repo: Repo, rule: str) -> None:
    write_pir(repo, PARTIAL_PIR)
    write_runbook(repo, PARTIAL_RUNBOOK)
    repo.write("records/services.yaml", "- id: orders-db\n  tier: one\n- 3\n", dedent=False)
    hits = audit_rule(repo, rule)
    assert all(h.rule == rule for h in hits)


def test_partially_invalid_records_report_only_what_can_be_judged(repo: Repo) -> None:
    write_pir(repo, PARTIAL_PIR)
    write_runbook(repo, PARTIAL_RUNBOOK)
    assert audit_rule(repo, "PIR-VAGUE") == []
    assert audit_rule(repo, "PIR-OVERDUE") == []
    assert audit_rule(repo, "RB-STALE") == []
    assert audit_rule(repo, "PIR-REVIEW") == []  # the approval's reviewer is unreadable
    assert [h.message for h in audit_rule(repo, "PIR-ACTIONS")] == [
        "action A1 has no owner",
        "action A1 has no type",
        "action A1 verification is missing",
    ]


def test_a_review_dated_after_now_is_a_finding_and_does_not_count(repo: Repo) -> None:
    """The only independent approval dated after --as-of: reported at its ``at``, and the
    approved PIR has no independent approval yet."""
    write_pir(repo, edit("    at: 2026-03-09T15:00:00Z\n", "    at: 2026-09-01T15:00:00Z\n"))
    hits = audit_rule(repo, "PIR-REVIEW", "2026-06-01T00:00:00Z")
    messages = [h.message for h in hits]
    assert any("is dated 2026-09-01T15:00:00Z, after now" in m for m in messages), messages
    assert any(m.startswith("PIR is approved but") for m in messages), messages
    assert audit_rule(repo, "PIR-REVIEW", "2026-09-02T00:00:00Z") == []
