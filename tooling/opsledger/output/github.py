"""GitHub Actions workflow commands: one ``::error``/``::warning`` annotation per finding.

Each untrusted value is first made inert (:func:`opsledger.neutral.line`: control characters,
line breaks and CI command markers escaped), then escaped by the runner's rules: in the
message, ``%``, CR and LF; in properties, additionally ``:`` and ``,`` (a record title can
never break out of its annotation). The ``file`` property is the real path wherever that is
inert; a name holding a marker another runner runs anywhere in a line (``##vso[``) is
shown neutralised, naming no file.
"""

from __future__ import annotations

from opsledger.neutral import line, path_value
from opsledger.output import Report


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(report: Report) -> str:
    lines = []
    for f in report.findings:
        level = "notice" if f.waived else f.severity
        props = ",".join(
            f"{key}={escape_property(value)}"
            for key, value in (
                ("file", line(path_value(f.path))),
                ("line", line(f.line)),
                ("col", line(f.column)),
                ("title", line(f"{f.rule} {f.record or ''}".strip())),
            )
        )
        message = f.message + (f" ({f.fix})" if f.fix else "") + (" [waived]" if f.waived else "")
        lines.append(f"::{level} {props}::{escape_data(line(message))}")
    if report.unavailable:  # never silently absent: one notice naming every rule not run
        names = ", ".join(rule for rule, _ in report.unavailable)
        why = report.unavailable[0][1]
        title = escape_property("rules not run")
        lines.append(f"::warning title={title}::{escape_data(f'not run, {why}: {names}')}")
    if report.failure and not report.findings:  # the run stopped: one line says why
        title = escape_property("opsledger could not run")
        lines.append(f"::error title={title}::{escape_data(line(report.failure))}")
    return "".join(text + "\n" for text in lines)
