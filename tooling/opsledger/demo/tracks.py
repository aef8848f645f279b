"""From plans to files: one ``Track`` per record, plus the set-up and answer-key commits.

A track's ``render`` gives the file as of a moment (YAML with a schema modeline for
incidents and changes, front matter and Markdown for PIRs and runbooks, nothing once a record
is deleted). The set-up commit, dated a few days before the period, adopts opsledger: README,
policy, schemas, service catalog and the runbooks as they were then. The last commit, by the
generator itself, adds the answer key.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime

from opsledger.demo import change_doc, incident_doc, pir_doc, repo_files, runbooks
from opsledger.demo.changes import Change
from opsledger.demo.clock import DAY, MINUTE, work_time
from opsledger.demo.context import Ctx
from opsledger.demo.defects import PlantedDefect
from opsledger.demo.history import Commit, Edit, Track, trim
from opsledger.demo.incidents import Incident
from opsledger.demo.people import Person
from opsledger.demo.pirs import Pir
from opsledger.demo.yamlout import dump
from opsledger.scaffold import site_files

GENERATOR = Person("opsledger demo", "demo-generator@example.com", "operations")


def _runbook(book: runbooks.Runbook, sections: tuple[str, ...]) -> Track:
    def render(moment: datetime) -> str | None:
        return runbooks.render(book, sections, moment)

    return Track(book.path, render, runbooks.steps(book))


def _incident(incident: Incident) -> Track:
    def render(moment: datetime) -> str | None:
        data = incident_doc.snapshot(incident, moment)
        return None if data is None else incident_doc.SCHEMA_LINE + dump(data)

    return Track(incident.path, render, incident_doc.steps(incident))


def _change(change: Change, needed: int) -> Track:
    def render(moment: datetime) -> str | None:
        return change_doc.SCHEMA_LINE + dump(change_doc.snapshot(change, needed, moment))

    return Track(change.path, render, change_doc.steps(change))


def _pir(pir: Pir, sections: tuple[str, ...]) -> Track:
    def render(moment: datetime) -> str | None:
        return pir_doc.render(pir, sections, moment)

    return Track(pir.path, render, pir_doc.steps(pir))


def build_tracks(
    ctx: Ctx,
    books: list[runbooks.Runbook],
    incidents: list[Incident],
    changes: list[Change],
    pirs: list[Pir],
) -> list[Track]:
    """Every record's track, cut to the period."""
    policy = ctx.policy
    tracks = [_runbook(book, policy.runbook_sections) for book in books]
    tracks += [_incident(incident) for incident in incidents]
    tracks += [_change(c, policy.approvals_needed(c.type, c.risk)) for c in changes]
    tracks += [_pir(pir, policy.pir_sections) for pir in pirs]
    trim(ctx, tracks)
    return tracks


def _text(path: str, make: Callable[[], str]) -> Edit:
    def content() -> str | None:
        return make()

    return Edit(path, content)


def setup_commit(
    ctx: Ctx,
    books: list[runbooks.Runbook],
    counts: dict[str, int],
    defects: int,
    schemas: list[tuple[str, bytes]],
) -> Commit:
    """The commit that adopts opsledger, a few days before the period starts."""
    rng = random.Random(f"opsledger-demo:{ctx.seed}:setup")
    at = work_time(rng, ctx.policy.calendar, ctx.start_dt - 4 * DAY, ctx.start_dt - DAY)
    readme = repo_files.readme(
        start=ctx.start, end=ctx.end, seed=ctx.seed, counts=counts, defects=defects
    )
    edits = [
        _text("README.md", lambda: readme),
        _text("policy.yaml", lambda: ctx.policy.text),
        _text("records/services.yaml", lambda: repo_files.services_yaml(ctx.services)),
    ]
    edits += [_text(f"schemas/{name}", data.decode) for name, data in schemas]
    # mkdocs.yml and site/ exactly as 'opsledger init' writes them: plain 'mkdocs build'
    edits += [_text(rel, data.decode) for rel, data in site_files()]
    for book in books:
        track = _runbook(book, ctx.policy.runbook_sections)
        edits.append(Edit(book.path, _at(track, at)))
    message = "Adopt opsledger: policy, schemas, service catalog and runbooks"
    return Commit(at, ctx.people.head_of_operations, message, tuple(edits))


def _at(track: Track, moment: datetime) -> Callable[[], str | None]:
    def content() -> str | None:
        return track.render(moment)

    return content


def answer_commit(ctx: Ctx, defects: list[PlantedDefect]) -> Commit:
    """The generator's last commit: ``.opsledger/demo-defects.json``."""
    edit = _text(repo_files.DEFECTS_PATH, lambda: repo_files.answer_key(defects))
    message = "Add the demo answer key: planted defects and the rules that should catch them"
    return Commit(ctx.end_dt - MINUTE, GENERATOR, message, (edit,))
