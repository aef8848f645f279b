"""GitLab Code Quality (the Code Climate issue format): a JSON list of issues.

GitLab shows these in a merge request's Code Quality widget and diff when a job declares the
file as ``artifacts: reports: codequality``. Each issue carries what GitLab reads:
``description``, ``check_name`` (the rule), ``fingerprint`` (stable when lines are added
above the finding, unique per finding: GitLab shows one issue per fingerprint),
``severity`` and ``location.path`` / ``location.lines.begin``. Errors are ``major``,
warnings ``minor``, waived findings ``info``. Rules that could not run (history rules
without history) are one ``info`` issue on the policy file, and a run that stopped (unusable
history, a usage error) one ``major`` issue there: never silently absent.
Texts are made inert (:mod:`opsledger.neutral`), like every other format.
"""

from __future__ import annotations

import json
from typing import Any

from opsledger.findings import Finding
from opsledger.model.policy import POLICY_FILE
from opsledger.neutral import json_text, line, path_value, short
from opsledger.output import Report, fingerprint

SEVERITIES = {"error": "major", "warning": "minor"}
#: longest description kept (a record value quoted in a message is cut)
MAX_DESCRIPTION = 2_000


def _issue(f: Finding) -> dict[str, Any]:
    text = f.message + (f" ({f.fix})" if f.fix else "") + (" [waived]" if f.waived else "")
    if f.record:
        text = f"{f.record}: {text}"
    return {
        "type": "issue",
        "check_name": f.rule,
        "description": short(line(text), MAX_DESCRIPTION),
        "categories": ["Compliance"],
        "fingerprint": fingerprint(f, exact=True),
        "severity": "info" if f.waived else SEVERITIES.get(f.severity, "minor"),
        "location": {"path": path_value(f.path), "lines": {"begin": max(f.line, 1)}},
    }


def render_codeclimate(report: Report) -> str:
    issues = [_issue(f) for f in report.findings]
    if report.unavailable:
        policy = next((s.path for s in report.subjects if s.kind == "policy"), POLICY_FILE)
        names = ", ".join(rule for rule, _ in report.unavailable)
        note = Finding(
            policy,
            1,
            1,
            "opsledger",
            "warning",
            f"not run, {report.unavailable[0][1]}: {names}",
            pointer="/unavailable",
        )
        issues.append(_issue(note) | {"severity": "info"})
    if report.failure and not report.findings:  # the run stopped: one issue says why
        stop = Finding(POLICY_FILE, 1, 1, "opsledger", "error", report.failure, pointer="/")
        issues.append(_issue(stop))
    return json_text(json.dumps(issues, indent=2, ensure_ascii=False)) + "\n"
