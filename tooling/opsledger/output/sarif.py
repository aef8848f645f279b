"""SARIF 2.1.0 for code-scanning dashboards (GitHub code scanning and others).

Fingerprints use (rule, path, JSON pointer), not the line, so a finding keeps its identity
when lines are added above it. Waived findings carry an external suppression.

Each rule carries what code scanning shows beside an alert: ``shortDescription`` (the
rule's summary) and ``fullDescription`` (the opening of its documentation), each within
GitHub's 1,024 characters; ``help`` as text and Markdown (the rule's whole documentation:
what it checks, why auditors care, a failing and a passing example, the policy settings);
and ``helpUri``, the rule's page on the published site when ``site_url`` in ``mkdocs.yml``
says where that is.

GitHub rejects a SARIF file with more than 25,000 results in a run or over 10 MB (see
"SARIF support for code scanning"), and would then show nothing at all. The document is
written compactly and, when the findings do not fit, keeps the most severe ones (errors
before warnings before waived findings, each in report order) and says in a tool
notification how many were left out and where to see them all. Artifact locations are
percent-encoded relative URIs (a file name with a space, ``#``, ``?``, ``%`` or non-ASCII
characters is still a valid URI); message texts are made inert (:mod:`opsledger.neutral`).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from opsledger import __version__
from opsledger.findings import Finding
from opsledger.neutral import json_text, line, short
from opsledger.output import Report, RuleMeta, fingerprint

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {"error": "error", "warning": "warning"}
#: GitHub code scanning's hard limits for one upload (results per run, file size in bytes)
MAX_RESULTS = 25_000
MAX_BYTES = 10_000_000
#: longest message text kept in a result (a record value quoted in a message is cut)
MAX_MESSAGE = 2_000
#: GitHub's limit for a rule's shortDescription and fullDescription
MAX_DESCRIPTION = 1_024


def _dump(value: Any) -> str:
    return json_text(json.dumps(value, ensure_ascii=False, separators=(",", ":")))


def artifact_uri(path: str) -> str:
    """A repository path as a relative URI reference: every byte that is not unreserved
    percent-encoded, ``/`` kept (bytes of a non-UTF-8 file name encoded as they are)."""
    return quote(path, safe="/", errors="surrogateescape")


def _result(f: Finding, rule_index: dict[str, int]) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": f.rule,
        "level": LEVELS.get(f.severity, "warning"),
        "message": {"text": short(f.message + (f" ({f.fix})" if f.fix else ""), MAX_MESSAGE)},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": artifact_uri(f.path), "uriBaseId": "%SRCROOT%"},
                    "region": {"startLine": f.line, "startColumn": f.column},
                }
            }
        ],
        "partialFingerprints": {"opsledger/v1": fingerprint(f)},
    }
    if f.rule in rule_index:
        result["ruleIndex"] = rule_index[f.rule]
    if f.record:
        result["properties"] = {"record": line(f.record)}
    if f.waived:
        result["suppressions"] = [{"kind": "external", "justification": "waived in policy.yaml"}]
    return result


def _rule(rule: RuleMeta) -> dict[str, Any]:
    """A rule's descriptor: descriptions within GitHub's limits, help as text and Markdown."""
    opening = (rule.help or rule.summary).split("\n\n", 1)[0]
    descriptor: dict[str, Any] = {
        "id": rule.id,
        "name": rule.id.title().replace("-", ""),
        "shortDescription": {"text": short(rule.summary, MAX_DESCRIPTION)},
        "fullDescription": {"text": short(" ".join(opening.split()), MAX_DESCRIPTION)},
        "defaultConfiguration": {"level": LEVELS.get(rule.severity, "warning")},
    }
    if rule.help:
        descriptor["help"] = {"text": rule.help, "markdown": rule.help_markdown or rule.help}
    if rule.help_uri:
        descriptor["helpUri"] = rule.help_uri
    return descriptor


def _priority(f: Finding) -> int:
    if f.waived:
        return 2
    return 0 if f.severity == "error" else 1


def _document(report: Report, results: list[dict[str, Any]], omitted: int) -> dict[str, Any]:
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "opsledger",
                "version": __version__,
                "rules": [_rule(rule) for rule in report.rules],
            }
        },
    }
    # rules that could not run (history rules without history): never silently absent
    notes: list[dict[str, Any]] = [
        {
            "level": "warning",
            "message": {"text": f"{rule} not run: {why}"},
            "descriptor": {"id": rule},
        }
        for rule, why in report.unavailable
    ]
    if omitted:
        notes.append(
            {
                "level": "warning",
                "message": {
                    "text": f"{omitted} more findings are not in this file: GitHub code "
                    f"scanning accepts at most {MAX_RESULTS} results and {MAX_BYTES} "
                    "bytes per upload, so the most severe were kept; 'opsledger audit "
                    "--format json' lists every finding"
                },
            }
        )
        run["properties"] = {"omittedFindings": omitted}
    if report.failure:
        notes.append({"level": "error", "message": {"text": short(report.failure, MAX_MESSAGE)}})
    if notes:
        run["invocations"] = [
            {"executionSuccessful": not report.failure, "toolExecutionNotifications": notes}
        ]
    run["results"] = results
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def render_sarif(report: Report) -> str:
    rule_index = {rule.id: i for i, rule in enumerate(report.rules)}
    # the frame with a worst-case notification: what is left of the budget is for results
    frame = len(_dump(_document(report, [], 10**9)).encode())
    budget = MAX_BYTES - frame - 1  # the final line feed
    chosen: dict[int, dict[str, Any]] = {}
    findings = report.findings
    for position in sorted(range(len(findings)), key=lambda i: _priority(findings[i])):
        if len(chosen) == MAX_RESULTS:
            break
        result = _result(findings[position], rule_index)
        size = len(_dump(result).encode()) + (1 if chosen else 0)  # comma
        if size > budget:
            continue  # a smaller, less severe finding may still fit
        budget -= size
        chosen[position] = result
    results = [chosen[i] for i in sorted(chosen)]
    document = _document(report, results, len(findings) - len(results))
    return _dump(document) + "\n"
