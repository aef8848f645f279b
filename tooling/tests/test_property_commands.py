"""Property: for records and policies generated within the schemas and at their edges
(timestamps at the year bounds and across daylight-saving changes, durations from 0 to the
ten-year bound and one past it, astral and combining characters, long texts, empty and
longer lists), written into a real git repository, no command exits 3, every finding and
every error names file:line:column, and ``validate`` and ``audit`` agree on which records
match their schemas.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opsledger.cli import run

from conftest import SERVICES, defaults_dir, git, git_init

AS_OF = "2026-06-30T12:00:00Z"
OFFSETS = ["Z", "+00:00", "+01:00", "-05:00", "+05:45", "+14:00", "-12:00"]
EDGE_TIMESTAMPS = [
    "1900-01-01T00:00:00+14:00",  # the first day, before 1900 in UTC
    "1900-01-01T00:00:00Z",
    "2999-12-31T23:59:59-12:00",  # the last day, after 2999 in UTC
    "2999-12-31T23:59:59.999999Z",
    "2026-03-29T00:59:59Z",  # Europe/London springs forward at 01:00 UTC
    "2026-03-29T02:30:00+01:00",
    "2026-10-25T01:30:00+01:00",  # the repeated hour when clocks go back
    "2026-10-25T01:30:00+00:00",
    "2028-02-29T12:00:00Z",
    "0001-01-01T00:00:00+01:00",  # outside the range: a schema error, never a crash
    "9999-12-31T23:59:59-01:00",
    "1899-12-31T23:59:59Z",
]
EDGE_DATES = ["1900-01-01", "2999-12-31", "2028-02-29", "0001-01-01", "9999-12-31"]
BOUNDS = {"m": 5256000, "h": 87600, "d": 3650, "w": 521}
PEOPLE = ["priya.shah@example.com", "tom.becker@example.com", "lena.fischer@example.com"]
FINDING = re.compile(r"^[^\s:]+:[0-9]+:[0-9]+: (error|warning) [A-Z][A-Z-]+ ")
CONFIG_ERROR = re.compile(r"^opsledger: error: policy\.yaml:[0-9]+:[0-9]+: ")


def timestamps() -> st.SearchStrategy[str]:
    moments = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2999, 12, 31))
    written = st.builds(
        lambda moment, offset: moment.strftime("%Y-%m-%dT%H:%M:%S") + offset,
        moments,
        st.sampled_from(OFFSETS),
    )
    near = st.builds(  # realistic times around the as-of date, so the rules have work
        lambda minutes, offset: (
            (datetime(2026, 3, 1) + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S")
            + offset
        ),
        st.integers(0, 200_000),
        st.sampled_from(OFFSETS),
    )
    return st.one_of(near, written, st.sampled_from(EDGE_TIMESTAMPS))


def dates() -> st.SearchStrategy[str]:
    days = st.dates(min_value=datetime(1900, 1, 1).date(), max_value=datetime(2999, 12, 31).date())
    return st.one_of(days.map(lambda d: d.isoformat()), st.sampled_from(EDGE_DATES))


def durations() -> st.SearchStrategy[str]:
    def one(unit: str) -> st.SearchStrategy[str]:
        bound = BOUNDS[unit]
        count = st.one_of(st.integers(0, 100), st.sampled_from([0, bound, bound + 1]))
        return count.map(lambda n: f"{n}{unit}")

    return st.sampled_from(sorted(BOUNDS)).flatmap(one)


def texts(min_size: int = 1) -> st.SearchStrategy[str]:
    letters = st.characters(
        codec="utf-8",
        categories=("L", "M", "N", "P", "S", "Zs"),  # letters, combining marks, digits...
    )
    astral = st.sampled_from(["\U0001f525", "\U0001d4b3", "e\u0301", "\u0915\u094d\u0937", "𐍈"])
    plain = st.lists(st.one_of(letters, astral), min_size=min_size, max_size=60).map("".join)
    long = st.integers(190, 260).map(lambda n: "Root cause: " + "pool " * n)
    return st.one_of(plain, long)


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


@st.composite
def incidents(draw: st.DrawFn, number: int) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": f"INC-2026-{number:04d}",
        "title": draw(texts()),
        "priority": draw(st.sampled_from(["P1", "P2", "P3", "P4"])),
        "status": draw(st.sampled_from(["open", "mitigated", "resolved", "closed"])),
        "service": draw(st.sampled_from(["orders-db", "storefront"])),
        "detection": draw(st.sampled_from(["automated", "manual"])),
        "source": draw(st.sampled_from(["monitoring", "customer", "other"])),
        "impact": draw(texts()),
        "detected_at": draw(timestamps()),
    }
    for key in ("acknowledged_at", "bridge_opened_at", "mitigated_at", "resolved_at", "closed_at"):
        value = draw(maybe(timestamps()))
        if value is not None:
            record[key] = value
    if draw(st.booleans()):
        record["commander"] = draw(st.sampled_from(PEOPLE))
        record["resolution"] = draw(texts())
    record["notifications"] = draw(
        st.lists(
            st.fixed_dictionaries(
                {
                    "at": timestamps(),
                    "kind": st.sampled_from(["initial", "update", "resolution"]),
                    "audience": st.lists(texts(), min_size=1, max_size=3),
                    "channel": st.sampled_from(["email", "status page"]),
                    "summary": texts(),
                }
            ),
            max_size=4,
        )
    )
    return record


@st.composite
def changes(draw: st.DrawFn) -> dict[str, Any]:
    start = draw(timestamps())
    return {
        "id": "CHG-2026-0001",
        "title": draw(texts()),
        "type": draw(st.sampled_from(["standard", "normal", "emergency"])),
        "risk": draw(st.sampled_from(["low", "medium", "high"])),
        "status": draw(st.sampled_from(["requested", "approved", "implemented", "closed"])),
        "services": draw(st.lists(st.sampled_from(["orders-db", "storefront"]), max_size=2)),
        "requested_by": PEOPLE[0],
        "implementer": draw(st.sampled_from(PEOPLE)),
        "description": draw(texts()),
        "justification": draw(texts()),
        "impact": draw(texts()),
        "window": {"start": start, "end": draw(st.one_of(st.just(start), timestamps()))},
        "rollback": {
            "plan": draw(texts()),
            "trigger": draw(texts()),
            "tested": draw(st.booleans()),
            "estimated_duration": draw(durations()),
        },
        "approvals": draw(
            st.lists(
                st.fixed_dictionaries(
                    {
                        "by": st.sampled_from(PEOPLE),
                        "role": st.sampled_from(["cab", "service-owner"]),
                        "at": timestamps(),
                        "decision": st.sampled_from(["approved", "rejected"]),
                    }
                ),
                max_size=3,
            )
        ),
    }


@st.composite
def pirs(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    front = {
        "id": "PIR-2026-0001",
        "incident": "INC-2026-0001",
        "status": draw(st.sampled_from(["draft", "in-review", "approved"])),
        "authors": [PEOPLE[2]],
        "reviewers": draw(
            st.lists(
                st.fixed_dictionaries(
                    {
                        "by": st.sampled_from(PEOPLE),
                        "at": timestamps(),
                        "decision": st.sampled_from(["approved", "changes-requested"]),
                    }
                ),
                max_size=2,
            )
        ),
        "root_cause": draw(texts()),
        "actions": draw(
            st.lists(
                st.fixed_dictionaries(
                    {
                        "id": st.sampled_from(["A1", "A2", "A3"]),
                        "title": texts(),
                        "type": st.sampled_from(["corrective", "preventive"]),
                        "owner": st.sampled_from(PEOPLE),
                        "due": dates(),
                        "status": st.sampled_from(["open", "done"]),
                        "verification": texts(),
                    }
                ),
                max_size=3,
            )
        ),
    }
    sections = draw(
        st.lists(st.sampled_from(["Summary", "Impact", "Timeline", "Root cause"]), max_size=4)
    )
    body = "".join(f"## {name}\n{draw(texts())}\n\n" for name in sections)
    return front, body


@st.composite
def policy_edits(draw: st.DrawFn) -> dict[str, str]:
    return {
        "backdate_tolerance: 1h": f"backdate_tolerance: {draw(durations())}",
        "acknowledge_within: 5m": f"acknowledge_within: {draw(durations())}",
        "update_every: 60m": f"update_every: {draw(durations())}",
        "max_due: 90d": f"max_due: {draw(durations())}",
        "timezone: Europe/London": "timezone: "
        + draw(st.sampled_from(["Europe/London", "UTC", "Pacific/Kiritimati", "Asia/Kathmandu"])),
        '- "2026-12-25"': f'- "{draw(dates())}"',
    }


@dataclass
class Outcome:
    status: int
    out: str
    err: str


def invoke(*args: str | Path) -> Outcome:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = run([str(a) for a in args])
    return Outcome(status, out.getvalue(), err.getvalue())


def dump(data: Any) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=4096)


def write_repo(root: Path, policy: dict[str, str], records: dict[str, str]) -> None:
    shutil.copytree(defaults_dir() / "schemas", root / "schemas")
    text = (defaults_dir() / "policy.yaml").read_text(encoding="utf-8")
    for old, new in policy.items():
        assert old in text, old
        text = text.replace(old, new, 1)
    (root / "policy.yaml").write_text(text, encoding="utf-8")
    for folder in ("records/incidents", "records/changes", "records/pirs", "runbooks"):
        (root / folder).mkdir(parents=True)
    (root / "records/services.yaml").write_text(SERVICES, encoding="utf-8")
    for rel, content in records.items():
        (root / rel).write_text(content, encoding="utf-8")
    git_init(root)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "records", date="2026-05-01T10:00:00Z")


def schema_findings(findings: list[dict[str, Any]]) -> set[tuple[Any, ...]]:
    return {
        (f["path"], f["line"], f["column"], f["rule"], f["message"])
        for f in findings
        if f["rule"] in ("SCHEMA", "REF-ID") and f["severity"] == "error"
    }


@pytest.mark.slow
@settings(
    # a modest count keeps the run near 20 s; OPSLEDGER_PROPERTY_EXAMPLES=500 for a soak
    max_examples=int(os.environ.get("OPSLEDGER_PROPERTY_EXAMPLES", "12")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    first=incidents(1),
    second=incidents(2),
    change=changes(),
    pir=pirs(),
    policy=policy_edits(),
)
def test_no_command_crashes_and_validate_agrees_with_audit(
    first: dict[str, Any],
    second: dict[str, Any],
    change: dict[str, Any],
    pir: tuple[dict[str, Any], str],
    policy: dict[str, str],
) -> None:
    front, body = pir
    records = {
        "records/incidents/INC-2026-0001.yaml": dump(first),
        "records/incidents/INC-2026-0002.yaml": dump(second),
        "records/changes/CHG-2026-0001.yaml": dump(change),
        "records/pirs/PIR-2026-0001.md": f"---\n{dump(front)}---\n{body}",
    }
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "gov"
        root.mkdir()
        write_repo(root, policy, records)
        base = ("--repo", root)
        results = {
            "validate": invoke("validate", *base),
            "validate-json": invoke("validate", "--format", "json", *base),
            "audit": invoke("audit", "--format", "json", "--as-of", AS_OF, *base),
            "kpi": invoke("kpi", "--format", "json", "--as-of", AS_OF, *base),
            "brief": invoke("brief", "INC-2026-0001", *base),
        }
    for name, result in results.items():
        assert result.status != 3, (name, result.err)
        for line in result.err.splitlines():
            if line.startswith("opsledger: error:"):
                # the generated records are never a configuration error; the policy can be
                assert CONFIG_ERROR.match(line), (name, line)
    if results["validate"].status == 2:
        assert all(r.status == 2 for r in results.values()), results
        return
    for line in results["validate"].out.splitlines():
        assert FINDING.match(line), line
    validated = json.loads(results["validate-json"].out)["findings"]
    audited = json.loads(results["audit"].out)["findings"]
    for finding in audited:
        assert finding["path"] and finding["line"] >= 1 and finding["column"] >= 1, finding
    assert schema_findings(validated) == schema_findings(audited)
