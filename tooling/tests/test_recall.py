"""``site serve`` audits again after each edit, reusing the findings of a rule judging one
record at a time where nothing its judge read changed (:mod:`opsledger.rules.recall`), and
the verdicts of a record decided from the same objects (:class:`Obligations`).

Property: after any sequence of edits, at any "now", the audit with the last audit's
recall gives exactly the findings of a fresh audit. And the recall is used: an audit
with nothing changed judges no record again; an edit judges again the edited record (and
those whose verdicts it changed), and a new "now" the records whose verdicts moved and
the rules that read "now".
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from test_site_incremental import (
    EDITS,
    EVERY_EDIT,
    MOMENTS,
    _edit,
    _ids,
    apply_edit,
    demo_files,
)

from opsledger.findings import Finding
from opsledger.rules import RULES
from opsledger.rules.base import AS_OF, Judging, RecordRule
from opsledger.site.carry import Carry
from opsledger.site.data import collect
from opsledger.workspace import Workspace

from conftest import Repo, git, git_init


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, bytes]]:
    root = tmp_path_factory.mktemp("recall") / "gov"
    return root, demo_files(root, seed=7, records=80, commits=200)


class Served:
    """Audits as ``site serve`` runs them (:func:`opsledger.site.data.collect`, with what
    it carries): each load rereads, the history index is the last one while the commit is,
    each run's obligations start from the last run's and each audit recalls."""

    def __init__(self, root: Path) -> None:
        self.root, self.carry = root, Carry()

    def audit(self, when: str) -> list[Finding]:
        return collect(self.root, when, carry=self.carry).findings


def fresh(root: Path, when: str) -> list[Finding]:
    return Workspace(root, as_of=when).findings()


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(edits=EDITS)
@example(edits=EVERY_EDIT[:28])
@example(edits=EVERY_EDIT[28:])
@example(edits=[(2, which, 11, 1, 0) for which in range(4)])  # PIRs' incidents' times
@example(edits=[(0, 1, 0, 1, 0), (0, 1, 12, 0, 0), (0, 1, 0, 2, 0), (0, 1, 12, 0, 3)])  # commits
@example(edits=[(3, 0, 3, 0, when) for when in (1, 2, 3, 0)])  # no field edited, time passes
@example(edits=[(2, which, 5, 7, 0) for which in range(3)])  # PIRs of other incidents now
def test_a_recalled_audit_finds_what_a_fresh_one_finds(
    demo: tuple[Path, dict[str, bytes]], edits: list[tuple[int, int, int, int, int]]
) -> None:
    root, originals = demo
    ids = _ids(originals)
    served = Served(root)
    try:
        served.audit(MOMENTS[0])
        for folder, which, op, n, when in edits:
            apply_edit(root, originals, ids, (folder, which, op, n))
            carried, afresh = (
                collect(root, MOMENTS[when], carry=served.carry),
                collect(root, MOMENTS[when]),
            )
            assert carried.findings == afresh.findings
            assert carried.kpis == afresh.kpis  # edited_after_close reads the recall too
    finally:
        for rel, data in originals.items():
            (root / rel).write_bytes(data)


@pytest.fixture
def judged(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, bool]]:
    """Every judge call: (rule, record, whether it read "now")."""
    calls: list[tuple[str, str, bool]] = []
    for rule in RULES:
        if issubclass(rule, RecordRule) and "judge" in vars(rule):
            original = vars(rule)["judge"]

            def judge(
                self: RecordRule[Any], ctx: Judging, record: Any, _original: Any = original
            ) -> Iterator[Finding]:
                yield from _original(self, ctx, record)
                calls.append((self.id, record.id, bool(ctx.reads & AS_OF)))

            monkeypatch.setattr(rule, "judge", judge)
    return calls


def test_the_recall_judges_again_only_what_changed(
    demo: tuple[Path, dict[str, bytes]], judged: list[tuple[str, str, bool]]
) -> None:
    root, originals = demo
    served = Served(root)
    first = served.audit(MOMENTS[0])
    everything = len(judged)
    assert everything > 500  # every record, by each rule of its kind
    judged.clear()
    assert served.audit(MOMENTS[0]) == first
    assert judged == []  # nothing changed: nothing judged again
    rel = sorted(n for n in originals if n.startswith("records/incidents/"))[3]
    path = root / rel
    try:
        path.write_text(_edit(path.read_text("utf-8"), 0, 1, _ids(originals)) or "", "utf-8")
        expected = fresh(root, MOMENTS[0])
        judged.clear()
        assert served.audit(MOMENTS[0]) == expected
        edited = rel.rsplit("/", 1)[-1].removesuffix(".yaml")
        assert {record for _, record, _ in judged} == {edited}  # its title: nothing else
        expected = fresh(root, MOMENTS[1])  # another "now"
        judged.clear()
        assert served.audit(MOMENTS[1]) == expected
        assert 0 < len(judged) < everything / 2
        # judged again: where "now" was read, or a verdict read differs
        assert any(read for _, _, read in judged)
    finally:
        path.write_bytes(originals[rel])


def test_a_policy_edit_leaves_nothing_to_recall(demo: tuple[Path, dict[str, bytes]]) -> None:
    """Statements need 40 words now: no verdict moves, every vague statement is found."""
    root, _ = demo
    served = Served(root)
    before = served.audit(MOMENTS[0])
    policy = root / "policy.yaml"
    text = policy.read_text(encoding="utf-8")
    assert "  min_words: 4\n" in text
    try:
        policy.write_text(text.replace("  min_words: 4\n", "  min_words: 40\n"), "utf-8")
        after = served.audit(MOMENTS[0])
        assert after == fresh(root, MOMENTS[0])
        assert len(after) > len(before)
    finally:
        policy.write_text(text, encoding="utf-8")


def test_an_incident_verdict_follows_its_pir_edited_alone(repo: Repo) -> None:
    """A P1's PIR, never approved, edited from draft to in-review (the incident's file
    untouched): the incident's PIR verdict names the PIR's status, so it is decided again
    (it is decided from the incident and the PIRs reviewing it, not the incident alone)."""
    from opsledger.rules.examples import BASE

    for path, text in BASE.values():
        if path.startswith("records/pirs/"):
            text = text.replace("status: approved\n", "status: draft\n", 1)
        repo.write(path, text, dedent=False)
    git_init(repo.root)
    git(repo.root, "add", "-A", date="2026-03-05T10:00:00Z")
    git(repo.root, "commit", "-qm", "records", date="2026-03-05T10:00:00Z")
    served = Served(repo.root)
    when = "2026-04-30T12:00:00Z"  # the PIR was due in March
    before = [f.message for f in served.audit(when) if f.rule == "INC-PIR"]
    assert before == [f"PIR PIR-2026-0042 is draft; {before[0].split('; ', 1)[1]}"]
    pir = repo.root / BASE["pir"][0]
    pir.write_text(
        pir.read_text("utf-8").replace("status: draft\n", "status: in-review\n"), "utf-8"
    )
    assert served.audit(when) == fresh(repo.root, when)
    assert any("PIR PIR-2026-0042 is in-review" in f.message for f in fresh(repo.root, when))


def test_a_history_finding_moves_with_its_record_edited(
    demo: tuple[Path, dict[str, bytes]],
) -> None:
    """A record with a GIT-* finding gains a line above its fields: the history is the
    same, but the finding points into the file as it is now, so it is judged again."""
    root, originals = demo
    served = Served(root)
    found = next(f for f in served.audit(MOMENTS[0]) if f.rule.startswith("GIT-") and f.line > 1)
    path = root / found.path
    try:
        path.write_text(_edit(path.read_text("utf-8"), 8, 0, _ids(originals)) or "", "utf-8")
        after = served.audit(MOMENTS[0])
        assert after == fresh(root, MOMENTS[0])
        moved = [
            f
            for f in after
            if (f.rule, f.record, f.pointer) == (found.rule, found.record, found.pointer)
        ]
        assert [f.line for f in moved] == [found.line + 1]
    finally:
        path.write_bytes(originals[found.path])


def _swap_p2_p3(text: str) -> str:
    """The P2 and P3 blocks of ``priorities`` in the other order (P3 now ranks above P2)."""
    head, rest = text.split("  P2:\n", 1)
    p2, rest = rest.split("  P3:\n", 1)
    p3, tail = rest.split("  P4:\n", 1)
    return f"{head}  P3:\n{p3}  P2:\n{p2}  P4:\n{tail}"


@pytest.mark.parametrize(
    "edit",
    [
        lambda text: text.replace("pir_due_business_days: 10\n", "pir_due_business_days: 10.0\n"),
        _swap_p2_p3,
    ],
    ids=["10 is now 10.0", "P3 ranked above P2"],
)
def test_a_policy_edit_equal_as_data_is_an_edit(
    demo: tuple[Path, dict[str, bytes]], edit: Any
) -> None:
    """Two edits of policy.yaml whose data compares equal (10 == 10.0; mappings equal in
    any order) that change what is found: a verdict says "10.0 business days", the order
    of the priorities decides what is a downgrade. Nothing made under the old policy is
    reused (it was, by GIT-DOWNGRADE and by the PIR verdicts)."""
    root, _ = demo
    served = Served(root)
    before = served.audit(MOMENTS[0])
    policy = root / "policy.yaml"
    text = policy.read_text(encoding="utf-8")
    try:
        policy.write_text(edit(text), encoding="utf-8")
        carried = collect(root, MOMENTS[0], carry=served.carry)
        afresh = collect(root, MOMENTS[0])
        assert carried.findings == afresh.findings
        verdicts = [(afresh.verdicts.incident(i), i.id) for i in afresh.ledger.incidents.values()]
        assert [
            (carried.verdicts.incident(i), i.id) for i in carried.ledger.incidents.values()
        ] == (verdicts)
        changed = afresh.findings != before or "10.0 business days" in repr(verdicts)
        assert changed  # the edit is one the findings or the verdicts show
    finally:
        policy.write_text(text, encoding="utf-8")


def test_the_kpi_reads_the_runs_audit_and_no_other(
    demo: tuple[Path, dict[str, bytes]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """edited_after_close counts GIT-AFTER-CLOSE's edits: in the run of the audit, it reads
    the audit's findings from the recall (no history judged again); from another run (its
    own policy object, as after an edit of policy.yaml) it judges every history itself."""
    from opsledger.calendar import BusinessCalendar
    from opsledger.rules.base import Context
    from opsledger.rules.history import GitAfterClose

    root, _ = demo
    served = Served(root)
    data = collect(root, MOMENTS[0], carry=served.carry)
    judged: list[str] = []
    original = GitAfterClose.judge

    def judge(self: GitAfterClose, ctx: Any, kind: str, history: Any) -> Iterator[Finding]:
        judged.append(history.record_id)
        yield from original(self, ctx, kind, history)

    monkeypatch.setattr(GitAfterClose, "judge", judge)
    recall = served.carry.recall

    def findings(ledger: Any, history: Any) -> list[Finding]:
        calendar = BusinessCalendar.of(ledger.policy)
        ctx = Context(ledger, data.as_of, calendar, history, recall=recall)
        return list(GitAfterClose().check(ctx))

    same_run = findings(data.ledger, data.history)
    assert judged == []
    other = Workspace(root, as_of=MOMENTS[0])
    assert findings(other.ledger, other.history_index) == same_run
    assert len(judged) > 10  # every history judged afresh


def test_a_rule_read_in_part_is_judged_afresh_next_time(
    demo: tuple[Path, dict[str, bytes]],
) -> None:
    """An audit whose reader stopped reading a rule's findings early leaves that rule's
    results incomplete: the next audit of the same records judges the rule again on every
    record, and finds what a fresh audit finds (two changes with a placeholder rollback
    plan: the reader stops after the first one's finding)."""
    import re

    from opsledger.audit import AuditOptions, run_audit
    from opsledger.calendar import BusinessCalendar
    from opsledger.rules.base import Context
    from opsledger.rules.changes import ChgRollback
    from opsledger.rules.recall import Recall

    root, originals = demo
    changes = sorted(p for p in originals if p.startswith("records/changes/"))[:2]
    try:
        for rel in changes:
            text = originals[rel].decode()
            plan = re.sub(r"(?m)^  plan: .*$", "  plan: Rollback if needed.", text, count=1)
            (root / rel).write_text(plan, encoding="utf-8")
        ws = Workspace(root, as_of=MOMENTS[0])
        recall = Recall()
        options = AuditOptions(
            as_of=ws.as_of, history=ws.history_index, obligations=ws.obligations, recall=recall
        )
        expected = run_audit(ws.ledger, options)
        rule = ChgRollback()
        assert sum(f.rule == rule.id for f in expected) >= 2
        calendar = BusinessCalendar.of(ws.ledger.policy)
        ctx = Context(
            ws.ledger, ws.as_of, calendar, ws.history_index, ws.obligations, recall=recall
        )
        recall.begin(ctx)
        checked = rule.check(ctx)
        next(checked)  # the first finding only, then the reader stops
        checked.close()
        recall.end()
        assert run_audit(ws.ledger, options) == expected
    finally:
        for rel in changes:
            (root / rel).write_bytes(originals[rel])
