"""SARIF 2.1.0 for code-scanning dashboards (GitHub code scanning and others).

Fingerprints use (rule, path, JSON pointer), not the line, so a finding keeps its identity
when lines are added above it. Waived findings carry an external suppression.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from opsledger import __version__
from opsledger.output import Report

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {"error": "error", "warning": "warning"}


def render_sarif(report: Report) -> str:
    rule_index = {rule.id: i for i, rule in enumerate(report.rules)}
    results: list[dict[str, Any]] = []
    for f in report.findings:
        result: dict[str, Any] = {
            "ruleId": f.rule,
            "level": LEVELS.get(f.severity, "warning"),
            "message": {"text": f.message + (f" ({f.fix})" if f.fix else "")},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": f.path, "uriBaseId": "%SRCROOT%"},
                        "region": {"startLine": f.line, "startColumn": f.column},
                    }
                }
            ],
            "partialFingerprints": {
                "opsledger/v1": hashlib.sha256(
                    f"{f.rule}\0{f.path}\0{f.pointer}".encode()
                ).hexdigest()
            },
        }
        if f.rule in rule_index:
            result["ruleIndex"] = rule_index[f.rule]
        if f.record:
            result["properties"] = {"record": f.record}
        if f.waived:
            result["suppressions"] = [
                {"kind": "external", "justification": "waived in policy.yaml"}
            ]
        results.append(result)
    document = {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "opsledger",
                        "version": __version__,
                        "rules": [
                            {
                                "id": rule.id,
                                "name": rule.id.title().replace("-", ""),
                                "shortDescription": {"text": rule.summary},
                                "fullDescription": {"text": rule.help or rule.summary},
                                "defaultConfiguration": {
                                    "level": LEVELS.get(rule.severity, "warning")
                                },
                            }
                            for rule in report.rules
                        ],
                    }
                },
                "results": results,
                **_invocations(report),
            }
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _invocations(report: Report) -> dict[str, Any]:
    """Rules that could not run, as tool execution notifications (never silently absent)."""
    if not report.unavailable:
        return {}
    notes = [
        {
            "level": "warning",
            "message": {"text": f"{rule} not run: {why}"},
            "descriptor": {"id": rule},
        }
        for rule, why in report.unavailable
    ]
    return {"invocations": [{"executionSuccessful": True, "toolExecutionNotifications": notes}]}
