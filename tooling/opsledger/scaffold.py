"""Scaffolding: the next free ID, record templates (``opsledger new``) and a new repository
(``opsledger init``). Functions return what they wrote; the CLI reports it.

A template validates against its schema except where the author must still decide, and
fails the audit only on the values the author must still write (``TBD`` statements, a
service to choose, actions to add), so a half-written record can never pass the gate.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path

from opsledger import ci, fileedit, gitio
from opsledger.errors import OpsledgerError
from opsledger.loading.text import forbidden_in_line
from opsledger.model.layout import KIND_BY_NAME, MAX_ID, Kind, refuse_linked_folder, walk
from opsledger.model.ledger import Ledger
from opsledger.model.records import Incident
from opsledger.obligations.problems import PROBLEM_SECTIONS
from opsledger.text.escape import md
from opsledger.timeutil import format_timestamp

TODO = "TBD"
CHOOSE_SERVICE = "choose-a-service"
#: the schemas' ``maxLength`` of a title
MAX_TITLE = 200
_ATTEMPTS = 100
#: an incident ID a PIR can be numbered after (an ID its schema refuses, such as one of
#: 5,000 digits, gets the next free PIR number instead)
_INCIDENT = re.compile(r"INC-([0-9]{4})-([0-9]{4,31})")
#: a record number an ID can hold (MAX_ID characters at most): a longer run of digits, in a
#: name or an id no schema takes, numbers nothing (int() refuses 4,300 digits)
_NUMBER = re.compile(r"([A-Z]+)-(?:([0-9]{4})-)?([0-9]{4,40})(?![0-9])")


def defaults() -> Path:
    return Path(str(resources.files("opsledger") / "defaults"))


def used_numbers(
    ledger: Ledger,
    kind: Kind,
    year: int | None,
    taken: Iterable[str] = (),
    *,
    history: bool = True,
) -> set[int]:
    """Numbers taken by ``kind`` (for ``year``) in the repository and anywhere in its history
    (``taken``: more file names or IDs in use; ``history=False``: the working tree only, for
    ``--no-history``)."""
    prefix = kind.example.split("-")[0]
    names = (
        {Path(p).name for p in gitio.paths_in_history(ledger.root, kind.folder)}
        if history
        else set()
    )
    names |= {Path(p).name for p in ledger.files}
    names |= set(taken)
    names |= {r.id for r in ledger.records()}
    numbers: set[int] = set()
    for name in names:
        match = _NUMBER.match(name.upper())
        if not match or match.group(1) != prefix:
            continue
        if year is not None and match.group(2) != str(year):
            continue
        numbers.add(int(match.group(3)))
    return numbers


def next_id(
    ledger: Ledger, kind_name: str, year: int, taken: Iterable[str] = (), *, history: bool = True
) -> str:
    kind = KIND_BY_NAME[kind_name]
    prefix = kind.example.split("-")[0]
    if kind_name == "runbook":
        used = used_numbers(ledger, kind, None, taken, history=history)
        found = f"{prefix}-{max(used, default=0) + 1:04d}"
    else:
        used = used_numbers(ledger, kind, year, taken, history=history)
        found = f"{prefix}-{year}-{max(used, default=0) + 1:04d}"
    if len(found) > MAX_ID:  # after a record numbered with every digit an ID may hold
        raise OpsledgerError(
            f"no {kind_name} ID is left after the highest one used ({max(used)}): the next "
            f"would be {len(found)} characters, over the {MAX_ID} the schemas take; give "
            "the record an unused lower number by hand"
        )
    return found


def slug(title: str) -> str:
    text = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    return text[:48].rstrip("-") or "runbook"


def _modeline(target: Path, root: Path, kind: str) -> str:
    depth = len(target.relative_to(root).parts) - 1
    return f"# yaml-language-server: $schema={'../' * depth}schemas/{kind}.schema.json"


def _q(text: str) -> str:
    """A YAML double-quoted scalar (safe for any title)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


#: a word YAML reads as the same string, unquoted: it starts with a letter, and is none of
#: the words YAML 1.1 reads as true, false or null (a number, ``2026``, starts with a digit)
_BARE = re.compile(r"[A-Za-z][A-Za-z0-9._@+-]*")
_TYPED = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null", "nan", "inf"})


def _scalar(text: str) -> str:
    """A YAML scalar for a value read from another record: as it is when it is a plain
    word that stays a string (an ID), else double-quoted (a service key ``2026``, a word
    such as ``true``, anything a record the schema refuses can hold)."""
    if _BARE.fullmatch(text) and text.casefold() not in _TYPED:
        return text
    return _q(text)


def _paragraphs(text: str) -> str:
    """Markdown for another record's multi-line text: each line escaped (:func:`md`), the
    blank lines between paragraphs kept; it renders as the text, never as a heading, a
    fence, a link or HTML of the new record."""
    return "\n".join(md(line) for line in text.splitlines()).strip("\n")


@dataclass(frozen=True)
class Created:
    id: str
    path: Path


def new_record(
    ledger: Ledger,
    kind: str,
    *,
    now: datetime,
    title: str | None = None,
    incident: str | None = None,
    history: bool | Callable[[], bool] = True,
    another: bool = False,
    incidents: Sequence[str] = (),
) -> Created:
    """Write a template for a new record of ``kind`` and return its ID and path. The ID is
    free in the working tree and, with ``history`` (the caller has established that git
    history is usable), in every commit of every branch; a callable ``history`` decides
    that only once the arguments are known to be valid (a usage error comes first). A PIR
    for an incident that already has one is refused unless ``another`` is set. A problem
    links ``incidents`` (one or more, none already linked to a problem)."""
    bad = forbidden_in_line(title) if title is not None else None
    if bad is not None:  # the record would be refused at its title: say so now
        raise OpsledgerError(f"--title holds {bad}; a title is one line of visible text")
    if title is not None and len(title) > MAX_TITLE:
        raise OpsledgerError(
            f"--title has {len(title)} characters; a title holds at most {MAX_TITLE} (the "
            "schema's limit): say the rest in the record"
        )
    root = ledger.root
    year = now.astimezone(ledger.policy.timezone).year
    me = gitio.user_email(root) or "you@example.com"
    source: Incident | None = None
    if kind == "pir":
        if incident is None:
            raise OpsledgerError("new pir needs --incident INC-…: the incident it reviews")
        source = ledger.incidents.get(incident)
        if source is None:
            raise OpsledgerError(f"--incident {incident}: no such incident in this repository")
        existing = existing_pirs(ledger, source)
        if existing and not another:
            raise OpsledgerError(
                f"{source.id} already has a PIR ({', '.join(existing)}); an incident has one "
                "review: edit it, or pass --another to write a second one (the audit reports "
                "it under REF-LINK until a waiver gives the reason)"
            )
    sources = _problem_sources(ledger, incidents) if kind == "problem" else ()
    if callable(history):
        history = history()
    with fileedit.locked(root, f"opsledger new {kind}") as state:
        # Under the lock the folder is read again: a record another command has just
        # created is seen, and a name taken by any other writer meanwhile is skipped.
        taken = {Path(entry.path).name for entry in walk(root)}
        for _ in range(_ATTEMPTS):
            record_id = next_id(ledger, kind, year, taken, history=history)
            conventional = _INCIDENT.fullmatch(source.id) if source is not None else None
            if conventional is not None:  # the PIR numbered as its incident, when free
                year_of, number = int(conventional[1]), int(conventional[2])
                used = used_numbers(ledger, KIND_BY_NAME["pir"], year_of, taken, history=history)
                if number not in used:
                    record_id = f"PIR-{conventional[1]}-{conventional[2]}"
            target, text = _template(ledger, kind, record_id, title, now, me, source, sources)
            if fileedit.create_exclusive(target, text.encode(), temp_dir=fileedit.temp_dir(state)):
                return Created(record_id, target)
            taken.add(target.name)
    raise OpsledgerError(f"no free {kind} ID found after {_ATTEMPTS} tries; run again")


def _template(
    ledger: Ledger,
    kind: str,
    record_id: str,
    title: str | None,
    now: datetime,
    me: str,
    source: Incident | None,
    sources: Sequence[Incident] = (),
) -> tuple[Path, str]:
    """Where the new record goes, and its text."""
    root = ledger.root
    year = now.astimezone(ledger.policy.timezone).year
    k = KIND_BY_NAME[kind]
    folder = root / k.folder
    if kind in ("incident", "change"):
        folder = folder / str(year)
    name = f"{record_id}-{slug(title or 'new runbook')}" if kind == "runbook" else record_id
    refuse_linked_folder(root, folder.relative_to(root).as_posix())  # never write through one
    target = folder / f"{name}{k.suffix}"
    builders = {"incident": _incident, "change": _change, "pir": _pir, "runbook": _runbook}
    if kind == "problem":
        text = _problem(ledger, record_id, title, now, me, sources)
    else:
        text = builders[kind](ledger, record_id, title, now, me, source)
    modeline = _modeline(target, root, kind)
    text = f"---\n{modeline}\n{text}" if k.suffix == ".md" else f"{modeline}\n{text}"
    return target, text


def _problem_sources(ledger: Ledger, wanted: Sequence[str]) -> tuple[Incident, ...]:
    """The incidents a new problem links, checked: each exists, none is linked yet."""
    if not wanted:
        raise OpsledgerError(
            "new problem needs --incident INC-… (once per incident it explains); "
            "'opsledger problems suggest' lists recurring clusters"
        )
    found: list[Incident] = []
    linked = {i: p.id for p in ledger.problem_records.values() for i in p.incidents}
    for incident_id in dict.fromkeys(wanted):
        inc = ledger.incidents.get(incident_id)
        if inc is None:
            raise OpsledgerError(f"--incident {incident_id}: no such incident in this repository")
        if incident_id in linked:
            raise OpsledgerError(
                f"--incident {incident_id}: already linked to {linked[incident_id]}; add the "
                "other incidents to that problem's incidents instead"
            )
        found.append(inc)
    return tuple(sorted(found, key=lambda i: (i.detected_at is None, i.detected_at, i.id)))


def _problem(
    ledger: Ledger, rid: str, title: str | None, now: datetime, me: str, sources: Sequence[Incident]
) -> str:
    services = sorted({i.service for i in sources if i.service}) or [CHOOSE_SERVICE]
    categories = sorted({i.category.casefold() for i in sources if i.category})
    first = next((i.detected_at for i in sources if i.detected_at is not None), None)
    default = f"Recurring {' / '.join(categories) or 'incidents'} on {', '.join(services)}"
    listed = "\n".join(
        f"- {md(i.id)} ({format_timestamp(i.detected_at) if i.detected_at else 'no detection time'}"
        f", {md(i.priority or '?')}): {md(i.title)}"
        for i in sources
    )
    since = f" since {format_timestamp(first)}" if first is not None else ""
    on = ", ".join(md(s) for s in services)
    statement = f"{len(sources)} incidents on {on}{since}:\n\n{listed}"
    body = {"Problem statement": statement}
    wanted = PROBLEM_SECTIONS.read(ledger.policy.doc.data)
    sections = "\n".join(f"## {s}\n\n{body.get(s, TODO)}\n" for s in wanted)
    incidents = "\n".join(f"  - {_scalar(i.id)}" for i in sources)
    return f"""id: {rid}
title: {_q(title or default)}
status: new             # new, investigating, known-error, resolved, closed
services: [{", ".join(_scalar(s) for s in services)}]
owner: {me}
opened_at: {format_timestamp(now)}
incidents:              # the incidents this problem explains; add recurrences at the end
{incidents}
# from investigating: actions (each {{id: A1, title, type, owner, due, status, verification}})
# from known-error: root_cause, known_error_at, workaround, runbooks
# when resolved: fix_change (the change that removed the cause), resolved_at
---
{sections}"""


def existing_pirs(ledger: Ledger, incident: Incident) -> list[str]:
    """The PIRs that review ``incident``: those naming it, and the file its PIR would have
    by convention (``PIR-`` plus its number) even when that file cannot be read."""
    found = {p.id for p in ledger.pirs.values() if p.incident == incident.id}
    conventional = "PIR-" + incident.id.removeprefix("INC-")
    if ledger.pirs.get(conventional) is None and ledger.known.get(conventional.casefold()):
        found.add(conventional)
    return sorted(found)


def _services_hint(ledger: Ledger) -> str:
    keys = ", ".join(sorted(ledger.services)) or "none yet: add records/services.yaml"
    return f"# services: {keys}"


def _incident(
    ledger: Ledger, rid: str, title: str | None, now: datetime, me: str, _: Incident | None
) -> str:
    return f"""id: {rid}
title: {_q(title or TODO)}
priority: P3            # P1 critical … P4 low (see policy.yaml priorities)
status: open            # open, mitigated, resolved, closed
service: {CHOOSE_SERVICE}
{_services_hint(ledger)}
detection: manual       # automated (monitoring) or manual (a person reported it)
source: service-desk    # monitoring, service-desk, customer, vendor, security, other
impact: {TODO}             # business impact in plain language
detected_at: {format_timestamp(now)}
# acknowledged_at: when a person first acknowledged it (required once mitigated)
notifications: []
timeline:
  - at: {format_timestamp(now)}
    event: Incident record opened by {me}.
"""


def _change(
    ledger: Ledger, rid: str, title: str | None, now: datetime, me: str, _: Incident | None
) -> str:
    start = (now + timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    return f"""id: {rid}
title: {_q(title or TODO)}
type: normal            # standard (pre-approved template), normal, emergency
risk: low               # low, medium, high
status: draft
services: [{CHOOSE_SERVICE}]
{_services_hint(ledger)}
requested_by: {me}
implementer: {me}
description: {TODO}
justification: {TODO}
impact: {TODO}             # risk and impact analysis
window:
  start: {format_timestamp(start)}
  end: {format_timestamp(start + timedelta(hours=1))}
testing:
  summary: {TODO}
  evidence: []          # links or repository paths
rollback:
  plan: {TODO}
  trigger: {TODO}
  tested: false
  estimated_duration: 30m
approvals: []           # added with: opsledger approve {rid} --role ROLE
notifications: []
"""


def _pir(
    ledger: Ledger, rid: str, title: str | None, now: datetime, me: str, source: Incident | None
) -> str:
    assert source is not None
    lines = [
        f"- {format_timestamp(t.at)} {md(t.event)}"
        for t in source.timeline
        if t.at is not None and t.event
    ]
    for label, moment in (
        ("Detected", source.detected_at),
        ("Acknowledged", source.acknowledged_at),
        ("Bridge opened", source.bridge_opened_at),
        ("Mitigated (service restored)", source.mitigated_at),
        ("Resolved", source.resolved_at),
    ):
        if moment is not None:
            lines.append(f"- {format_timestamp(moment)} {label}.")
    timeline = "\n".join(sorted(set(lines))) or TODO
    body = {
        "Summary": f"{md(source.title) or TODO} ({md(source.id)}, {md(source.priority)}, "
        f"service {md(source.service)}).\n\n{TODO}",
        "Impact": _paragraphs(source.impact or "") or TODO,
        "Timeline": timeline,
    }
    sections = "\n".join(f"## {s}\n\n{body.get(s, TODO)}\n" for s in ledger.policy.pir_sections)
    return f"""id: {rid}
incident: {_scalar(source.id)}
title: {_q(title or f"Post-incident review: {source.title or source.id}")}
status: draft           # draft, in-review, approved
authors: [{me}]
reviewers: []           # added with: opsledger approve {rid} --role reviewer
root_cause: {TODO}
contributing_factors: []
actions: []             # each: {{id: A1, title, type, owner, due, status: open, verification}}
---
{sections}"""


def _runbook(
    ledger: Ledger, rid: str, title: str | None, now: datetime, me: str, _: Incident | None
) -> str:
    sections = "\n".join(f"## {s}\n\n{TODO}\n" for s in ledger.policy.runbook_sections)
    return f"""id: {rid}
title: {_q(title or TODO)}
services: [{CHOOSE_SERVICE}]
owner: {me}
last_reviewed: "{now.astimezone(ledger.policy.timezone).date().isoformat()}"
---
{sections}"""


INIT_FILES = {
    "mkdocs.yml": "init/mkdocs.yml",
    "site/index.md": "init/site-index.md",
    ".pre-commit-config.yaml": "init/pre-commit-config.yaml",
    "records/services.yaml": "init/services.yaml",
    "README.md": "init/README.md",
    ".gitignore": "init/gitignore",
    "policy.yaml": "policy.yaml",
}
#: the CI systems ``init --ci`` writes a configuration for
CI_FILES = {
    "github": (".github/workflows/governance.yml", "init/governance.yml"),
    "gitlab": (".gitlab-ci.yml", "init/gitlab-ci.yml"),
}
#: where each CI system reads code owners from (GitLab never reads .github/CODEOWNERS)
CODEOWNERS_FILES = {"github": ".github/CODEOWNERS", "gitlab": ".gitlab/CODEOWNERS"}
#: the site sources ``init`` and ``demo`` both write, so plain ``mkdocs build`` works
SITE_FILES = ("mkdocs.yml", "site/index.md")
#: files holding where opsledger is installed from (see :mod:`opsledger.ci`)
_FILLED = {".pre-commit-config.yaml", *(rel for rel, _ in CI_FILES.values())}


def site_files() -> list[tuple[str, bytes]]:
    """``(path, bytes)`` of the site sources a new repository starts with: ``mkdocs.yml``
    and the home page in ``site/``."""
    src = defaults()
    return [(rel, (src / INIT_FILES[rel]).read_bytes()) for rel in SITE_FILES]


def init_repository(
    target: Path, *, action_ref: ci.ActionRef = ci.DEFAULT_REF, systems: Iterable[str] = ("github",)
) -> list[Path]:
    """Scaffold a governance repository in ``target`` (missing or empty); return its files.
    ``systems`` names the CI configurations to write (``github``, ``gitlab``); they and the
    pre-commit configuration install opsledger from ``action_ref``."""
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise OpsledgerError(f"{target} exists and is not an empty folder")
    src = defaults()
    sources: dict[str, Path | None] = {
        f"schemas/{p.name}": p for p in sorted((src / "schemas").iterdir()) if p.is_file()
    }
    sources |= {rel: src / template for rel, template in INIT_FILES.items()}
    sources |= {CI_FILES[name][0]: src / CI_FILES[name][1] for name in systems}
    sources |= {CODEOWNERS_FILES[name]: src / "init/CODEOWNERS" for name in systems}
    for folder in (
        "records/incidents",
        "records/changes",
        "records/pirs",
        "records/problems",
        "runbooks",
    ):
        sources[f"{folder}/.gitkeep"] = None
    written: list[Path] = []
    for rel, origin in sources.items():
        path = target / rel
        data = origin.read_bytes() if origin is not None else b""
        if rel in _FILLED:
            data = ci.fill(data.decode("utf-8"), action_ref).encode("utf-8")
        if not fileedit.create_exclusive(path, data):
            raise OpsledgerError(
                f"{path} appeared while init was writing (another init at the same time?); "
                "it was left as it is"
            )
        written.append(path)
    return written
