"""Formatters: one function per output format, all over the same findings.

``FORMATS`` maps a format name to a function ``(report) -> str``; adding a format is one
function and one entry.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from opsledger.findings import Finding
from opsledger.neutral import json_text, line


@dataclass(frozen=True)
class RuleMeta:
    """What a formatter needs to know about a rule that ran."""

    id: str
    severity: str
    summary: str
    kinds: tuple[str, ...]
    help: str = ""
    #: the documentation as Markdown (SARIF ``help.markdown``)
    help_markdown: str = ""
    #: the rule's page on the published site, when its address is known
    help_uri: str = ""


@dataclass(frozen=True)
class Subject:
    """A record the run judged (JUnit reports one test case per rule and subject)."""

    record: str
    path: str
    kind: str


@dataclass(frozen=True)
class Report:
    """What a check run produced: the findings and facts about the run."""

    command: str
    findings: tuple[Finding, ...]
    files: int
    extra: dict[str, Any] = field(default_factory=dict)
    rules: tuple[RuleMeta, ...] = ()
    subjects: tuple[Subject, ...] = ()
    #: (rule, reason) for selected rules that could not run (history rules without history)
    unavailable: tuple[tuple[str, str], ...] = ()
    #: why the run stopped before judging the records (a configuration error), if it did
    failure: str = ""

    def summary(self) -> dict[str, Any]:
        active = [f for f in self.findings if not f.waived]
        return {
            "files": self.files,
            "errors": sum(f.severity == "error" for f in active),
            "warnings": sum(f.severity == "warning" for f in active),
            "waived": len(self.findings) - len(active),
        }


def fingerprint(f: Finding, *, exact: bool = False) -> str:
    """A finding's identity across runs: its rule, file and JSON pointer, never its line, so
    it survives lines added above it. ``exact`` adds the record and the message, for
    formats where two findings must never share one (GitLab Code Quality shows one issue
    per fingerprint)."""
    parts = [f.rule, f.path, f.pointer]
    if exact:
        parts += [f.record or "", f.message]
    key = "\0".join(parts).encode(errors="surrogateescape")
    return hashlib.sha256(key).hexdigest()


def render_text(report: Report) -> str:
    """One line per finding, inert on a terminal and in a CI log (see :mod:`opsledger.neutral`)."""
    return "".join(text_line(f) + "\n" for f in report.findings)


def text_line(f: Finding) -> str:
    """``path:line:column: severity RULE message (fix)``, with untrusted text made inert."""
    tail = f" ({f.fix})" if f.fix else ""
    waived = " [waived]" if f.waived else ""
    return line(f"{f.path}:{f.line}:{f.column}: {f.severity} {f.rule} {f.message}{tail}{waived}")


def render_json(report: Report) -> str:
    document: dict[str, Any] = {"version": 1, **report.extra}
    document["findings"] = [f.as_dict() for f in report.findings]
    if report.unavailable:
        document["unavailable"] = [{"rule": r, "reason": why} for r, why in report.unavailable]
    document["summary"] = report.summary()
    return json_text(json.dumps(document, indent=2, ensure_ascii=False, sort_keys=False)) + "\n"


FORMATS: dict[str, Callable[[Report], str]] = {
    "text": render_text,
    "json": render_json,
}


def audit_formats() -> dict[str, Callable[[Report], str]]:
    """The formats of ``opsledger audit``: text and JSON plus the CI formats (GitHub
    annotations, JUnit, SARIF, GitLab Code Quality)."""
    from opsledger.output.codeclimate import render_codeclimate
    from opsledger.output.github import render_github
    from opsledger.output.junit import render_junit
    from opsledger.output.sarif import render_sarif

    return {
        **FORMATS,
        "junit": render_junit,
        "sarif": render_sarif,
        "github": render_github,
        "codeclimate": render_codeclimate,
    }


def summary_line(report: Report) -> str:
    s = report.summary()
    parts = [f"{s['files']} files checked", f"{s['errors']} errors", f"{s['warnings']} warnings"]
    if s["waived"]:
        parts.append(f"{s['waived']} waived")
    return ", ".join(parts)
