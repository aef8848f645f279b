"""JUnit XML: one test case per rule and record judged; a finding makes it fail.

CI systems show JUnit results as a test report, so an engineer sees "CHG-ROLLBACK /
CHG-2026-0107 failed" beside the build's own tests. Warnings and waived findings do not
fail a test case; they are written to its ``system-out``. Each test case carries the
``file`` attribute (the record's path), which GitLab and other CI test reports link to.

Every name, message and line is made inert by :mod:`opsledger.neutral` (control characters,
surrogates and noncharacters become visible escapes), which also keeps the document valid
XML: ElementTree would write a control character from a record as it is.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import defaultdict

from opsledger.findings import Finding
from opsledger.neutral import line
from opsledger.output import Report, text_line


def render_junit(report: Report) -> str:
    by_case: dict[tuple[str, str], list[Finding]] = defaultdict(list)
    for f in report.findings:
        by_case[(f.rule, f.record or f.path)].append(f)
    suites = ET.Element("testsuites", name="opsledger " + report.command)
    total = failed = 0
    not_run = {rule_id for rule_id, _ in report.unavailable}
    files = {s.record: s.path for s in report.subjects}
    for f in report.findings:
        files.setdefault(f.record or f.path, f.path)
    for rule in report.rules:
        if rule.id in not_run:
            continue
        subjects = [s.record for s in report.subjects if s.kind in rule.kinds]
        extra = sorted({key for (rid, key) in by_case if rid == rule.id} - set(subjects))
        names = subjects + extra
        suite = ET.SubElement(suites, "testsuite", name=rule.id)
        suite_failures = 0
        for name in names:
            case = ET.SubElement(
                suite, "testcase", classname=rule.id, name=line(name), file=line(files[name])
            )
            findings = by_case.get((rule.id, name), [])
            errors = [f for f in findings if f.severity == "error" and not f.waived]
            if errors:
                suite_failures += 1
                failure = ET.SubElement(
                    case, "failure", message=line(errors[0].message), type=rule.id
                )
                failure.text = "\n".join(text_line(f) for f in errors)
            others = [f for f in findings if f not in errors]
            if others:
                ET.SubElement(case, "system-out").text = "\n".join(text_line(f) for f in others)
        suite.set("tests", str(len(names)))
        suite.set("failures", str(suite_failures))
        suite.set("errors", "0")
        total += len(names)
        failed += suite_failures
    for rule_id, why in report.unavailable:  # a rule that could not run is a skipped case
        suite = ET.SubElement(suites, "testsuite", name=rule_id, tests="1", skipped="1")
        case = ET.SubElement(suite, "testcase", classname=rule_id, name="(not run)")
        ET.SubElement(case, "skipped", message=why)
        total += 1
    if report.failure and not report.findings:  # the run stopped: one case in error
        suite = ET.SubElement(suites, "testsuite", name="opsledger", tests="1", errors="1")
        case = ET.SubElement(suite, "testcase", classname="opsledger", name="(run)")
        ET.SubElement(case, "error", message=line(report.failure))
        total += 1
    suites.set("tests", str(total))
    suites.set("failures", str(failed))
    suites.set("errors", "1" if report.failure and not report.findings else "0")
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"
