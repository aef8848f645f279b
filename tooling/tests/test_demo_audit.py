"""The audit against the demo generator's answer key.

The generator lists every defect it planted (rule and record) in
``.opsledger/demo-defects.json``. The audit, history rules included, must find each one
and flag nothing on the records it generated clean.
"""

from __future__ import annotations

import gc
import json
import os
import pstats
import subprocess
import sys
import weakref
from pathlib import Path

import pytest

from opsledger.demo import generate_demo

from conftest import ACKED, InvokeCli, Repo, git, git_init

AS_OF = "2026-11-01T00:00:00Z"  # the day after the default 12-month demo ends


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("demo") / "repo"
    generate_demo(root, months=12, seed=7)
    return root


def test_audit_finds_every_planted_defect_and_nothing_else(demo: Path, cli: InvokeCli) -> None:
    planted = json.loads((demo / ".opsledger" / "demo-defects.json").read_text())
    expected = {(d["rule"], d["record"]) for d in planted}
    assert len(expected) >= 20
    assert {rule for rule, _ in expected if rule.startswith("GIT-")} == {
        "GIT-PROVENANCE",
        "GIT-AFTER-CLOSE",
        "GIT-BACKDATED",
        "GIT-DELETED",
        "GIT-LATE-RECORD",
        "GIT-DOWNGRADE",
        "GIT-RUBBER-STAMP",
    }
    result = cli(
        "audit", "--repo", demo, "--as-of", AS_OF, "--format", "json", "--fail-on", "never"
    )
    assert result.status == 0
    found = {(f["rule"], f["record"] or f["path"]) for f in json.loads(result.out)["findings"]}
    assert expected - found == set(), "planted defects the audit missed"
    assert found - expected == set(), "findings on records generated clean"


def test_demo_fails_the_gate_and_validates(demo: Path, cli: InvokeCli) -> None:
    assert cli("validate", "--repo", demo).status == 0
    assert cli("audit", "--repo", demo, "--as-of", AS_OF).status == 1


def test_regulatory_cases_are_in_the_key_and_found_exactly(demo: Path, cli: InvokeCli) -> None:
    """DORA is active in the demo policy; every P1 incident has a decision; the cases the
    key lists get exactly the verdicts it says, and the audit's REG-* findings are exactly
    the key's."""
    from opsledger.model.ledger import load_ledger
    from opsledger.obligations import Obligations
    from opsledger.timeutil import parse_timestamp

    cases = json.loads((demo / ".opsledger" / "demo-regulatory.json").read_text())
    by_case: dict[str, list[str]] = {}
    for case in cases:
        by_case.setdefault(case["case"], []).append(case["record"])
    assert {k: len(v) for k, v in by_case.items() if k != "not-reportable"} == {
        "on-time": 1,
        "backstop": 1,
        "open": 1,
        "upcoming": 1,
    }
    assert len(by_case["not-reportable"]) >= 3
    ledger = load_ledger(demo)
    assert [r.id for r in ledger.policy.regulatory] == ["dora"]
    p1 = sorted(i.id for i in ledger.incidents.values() if i.priority == "P1")
    assert sorted(c["record"] for c in cases) == p1
    obligations = Obligations(ledger, parse_timestamp(AS_OF))

    def states(record: str) -> dict[str, str]:
        clocks = obligations.regulatory(ledger.incidents[record])
        return {c.stage_id: c.verdict.state for c in clocks}

    (on_time,) = by_case["on-time"]
    assert states(on_time) == dict.fromkeys(
        ("classification", "initial", "intermediate", "final"), "met"
    )
    (backstop,) = by_case["backstop"]
    late = next(
        c for c in obligations.regulatory(ledger.incidents[backstop]) if c.stage_id == "initial"
    )
    assert (late.verdict.state, late.bound) == ("late", "no_later_than")
    (open_stage,) = by_case["open"]
    assert states(open_stage)["intermediate"] == "missing"
    (upcoming,) = by_case["upcoming"]
    assert states(upcoming)["final"] == "pending"
    for record in by_case["not-reportable"]:
        (filing,) = ledger.incidents[record].regulatory
        assert filing.decision == "not-reportable" and len(filing.reason or "") > 30
        assert states(record) == {"classification": "met"}
    result = cli(
        "audit", "--repo", demo, "--as-of", AS_OF, "--format", "json", "--fail-on", "never"
    )
    found = {
        (f["rule"], f["record"])
        for f in json.loads(result.out)["findings"]
        if f["rule"].startswith("REG-")
    }
    assert found == {(c["rule"], c["record"]) for c in cases if c["rule"]}
    planted = json.loads((demo / ".opsledger" / "demo-defects.json").read_text())
    assert found == {(d["rule"], d["record"]) for d in planted if d["rule"].startswith("REG-")}


def test_demo_has_problems_in_every_state(demo: Path) -> None:
    from opsledger.workspace import Workspace

    ws = Workspace(demo, as_of=AS_OF, use_history=False)
    problems = list(ws.ledger.problem_records.values())
    verdicts = {p.id: ws.obligations.problem(p) for p in problems}
    known = [p for p in problems if p.status == "known-error" and p.runbooks and p.workaround]
    assert known and all(ws.ledger.exists(r) for p in known for r in p.runbooks)
    held = [p for p in problems if (v := verdicts[p.id].fix_held) is not None and v.state == "met"]
    recurred = [p.id for p in problems if (v := verdicts[p.id].fix_held) is not None and v.failed]
    assert held and all(verdicts[p.id].fix_change.state == "met" for p in held)  # type: ignore[union-attr]
    planted = json.loads((demo / ".opsledger" / "demo-defects.json").read_text())
    assert sorted(d["record"] for d in planted if d["rule"] == "PRB-RECURRED") == recurred
    candidates = [d for d in planted if d["rule"] == "PRB-CANDIDATE"]
    on_purpose = [d for d in candidates if "on purpose" in d["note"]]
    assert len(on_purpose) == 1
    assert sorted(c.unlinked[-1].id for c in ws.obligations.candidates) == sorted(
        d["record"] for d in candidates
    )


def test_audit_output_is_byte_identical_with_the_caches_cold_warm_and_off(
    demo: Path, cli: InvokeCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Speed never changes a result: the JSON and SARIF of the full audit (history rules
    included) are the same bytes whether the parsed-record and history caches are empty
    (written by this run), warm (read back) or cannot be kept at all."""

    def outputs(cache: Path) -> dict[str, bytes]:
        monkeypatch.setenv("OPSLEDGER_CACHE_DIR", str(cache))
        found = {}
        for form in ("json", "sarif"):
            out = tmp_path / f"audit.{form}"
            result = cli(
                "audit", "--repo", demo, "--as-of", AS_OF, "--format", form,
                "--fail-on", "never", "--output", out,
            )  # fmt: skip
            assert result.status == 0, result.err
            found[form] = out.read_bytes()
        return found

    cache = tmp_path / "cache"
    cold = outputs(cache)
    kept = sorted(p.name.rsplit("-", 1)[0] for p in cache.iterdir())
    # the warm run reads the cached index; without it, the log and blob caches
    assert kept == ["history-blobs", "history-index", "history-log", "records"]
    warm = outputs(cache)
    for path in cache.glob("history-index-*"):
        path.unlink()
    assert outputs(cache) == cold
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder would be\n")
    off = outputs(blocked / "cache")
    assert warm == cold
    assert off == cold
    assert b'"GIT-PROVENANCE"' in cold["json"] and b'"GIT-PROVENANCE"' in cold["sarif"]


def test_the_console_script_writes_the_whole_audit_and_its_status(
    demo: Path, cli: InvokeCli
) -> None:
    """The installed ``opsledger`` ends the process as soon as the audit is written (its
    records and history are not freed one by one): what it wrote to a pipe and its exit
    status are those of the same audit run in-process."""
    args = ["audit", "--repo", str(demo), "--as-of", AS_OF, "--format", "sarif"]
    exe = Path(sys.executable).parent / "opsledger"
    env = {**os.environ, "CI": "true"}
    proc = subprocess.run([exe, *args], capture_output=True, env=env, check=False)
    inside = cli(*args)
    assert (proc.returncode, inside.status) == (1, 1), proc.stderr
    assert len(proc.stdout) > 1 << 16  # more than a pipe holds: written while read
    assert proc.stdout.decode("utf-8") == inside.out
    assert proc.stderr.decode("utf-8").splitlines()[-1].endswith("warnings")


def test_a_profiled_console_script_still_writes_its_profile(repo: Repo, tmp_path: Path) -> None:
    """Under a profiler (or a coverage tracer), which writes its results at exit, the
    console script exits as usual."""
    repo.write(
        "records/incidents/INC-2026-0001.yaml", ACKED.replace("INC-2026-0042", "INC-2026-0001")
    )
    git_init(repo.root)
    git(repo.root, "add", "-A")
    git(repo.root, "commit", "-q", "-m", "records")
    profile = tmp_path / "audit.prof"
    exe = Path(sys.executable).parent / "opsledger"
    proc = subprocess.run(
        [sys.executable, "-m", "cProfile", "-o", profile, exe, "audit", "--as-of", AS_OF],
        cwd=repo.root,
        capture_output=True,
        env={**os.environ, "CI": "true"},
        check=False,
    )
    assert proc.returncode in (0, 1), proc.stderr
    assert b"files checked" in proc.stderr
    assert pstats.Stats(str(profile)).get_stats_profile().func_profiles  # the profile is whole


def test_a_dropped_workspace_is_freed_without_the_cycle_collector(demo: Path) -> None:
    """A workspace hides what it loads from the cyclic garbage collector (gc.freeze), which
    is right only while the records, the history and what the audit derives from them form
    no reference cycles: dropping the workspace must free them by reference counting alone
    (in a long-lived process, the site's live preview, a cycle would be kept forever)."""
    from opsledger.workspace import Workspace

    ws = Workspace(demo, as_of=AS_OF)
    assert ws.findings() and ws.history_index is not None
    watched = [weakref.ref(ws.ledger), weakref.ref(ws.history_index), weakref.ref(ws.obligations)]
    watched.append(weakref.ref(next(iter(ws.ledger.incidents.values()))))
    enabled = gc.isenabled()
    gc.disable()
    try:
        del ws
        assert [ref() is None for ref in watched] == [True] * len(watched)
    finally:
        gc.unfreeze()
        if enabled:
            gc.enable()


def test_a_longer_demo_ends_on_the_same_day_and_keeps_its_answer_key(
    tmp_path: Path, cli: InvokeCli
) -> None:
    """18 months end on the day 12 do (they once ran from the same first day into the
    future, and the audit flooded with times 'in the future'): nothing is dated after it,
    and the audit finds exactly what was planted."""
    root = tmp_path / "long"
    result = generate_demo(root, months=18, seed=3, records=400)
    assert result.as_of.isoformat() == AS_OF.replace("Z", "+00:00")
    last = git(root, "log", "-1", "--format=%cI").strip()
    assert last <= "2026-11-01T00:00:00+00:00", last
    planted = json.loads((root / ".opsledger" / "demo-defects.json").read_text())
    expected = {(d["rule"], d["record"]) for d in planted}
    audit = cli("audit", "--repo", root, "--as-of", AS_OF, "--format", "json", "--fail-on", "never")
    found = {(f["rule"], f["record"] or f["path"]) for f in json.loads(audit.out)["findings"]}
    assert expected - found == set(), "planted defects the audit missed"
    assert found - expected == set(), "findings on records generated clean"
