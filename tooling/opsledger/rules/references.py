"""Structural rules: SCHEMA (found while loading), REF-ID and REF-LINK.

Loading records what it saw of file names and IDs (:class:`~opsledger.model.ledger.IdSeen`,
stray files, catalog entries sharing an id); REF-ID judges it. ``opsledger validate``
reports :func:`load_findings`: SCHEMA and REF-ID, without the audit's other rules.
"""

from __future__ import annotations

from collections.abc import Iterator

from opsledger.findings import Finding, json_pointer
from opsledger.model.layout import KIND_BY_NAME, SERVICES_FILE, kind_of_id, stem_matches
from opsledger.model.ledger import IdSeen, Ledger
from opsledger.model.records import Record
from opsledger.model.regulatory import unresolved
from opsledger.model.settings import (
    APPROVERS,
    MAX_DEPTH,
    MAX_FILE_BYTES,
    MAX_MARKDOWN_DELIMITERS,
    MAX_MARKDOWN_DEPTH,
)
from opsledger.rules import link_shapes
from opsledger.rules.base import Context, Rule
from opsledger.rules.examples import Examples, File, example, overlays
from opsledger.rules.imports import gap_findings, imported


class Schema(Rule):
    """The record is well-formed YAML of its kind and matches its JSON Schema.

    What it checks:
      Strict YAML reading (no tags, anchors, aliases, merge keys or duplicate keys; YAML 1.2
      scalars; UTF-8 without control, invisible or bidirectional characters; one document;
      size and depth limits; symlinks refused, and so are record folders reached through
      one) and the kind's schema in ``schemas/``. One finding per error, at the offending
      value (a missing property at its mapping, an unexpected property at its key). The
      Markdown body of a PIR or runbook must stay within the Markdown limits: lists and
      quotes nested at most ``limits.max_markdown_depth`` deep, at most
      ``limits.max_markdown_delimiters`` link and emphasis delimiters in one paragraph; a
      body over them is reported at its line and shown as plain text on the site. Imported
      records (``external_id``): every field they lack must be listed in ``import_gaps``,
      and their gaps are summarised in one warning per record kind.

    Why auditors care:
      A record that does not match its schema cannot be trusted by any other check; a
      duplicate key or a YAML 1.1 surprise (``status: no`` read as false) changes what a
      record says without a reviewer seeing it.
    """

    id = "SCHEMA"
    kinds = ("incident", "change", "pir", "runbook", "problem", "services")
    summary = "record does not match its schema"
    settings = (MAX_FILE_BYTES, MAX_DEPTH, MAX_MARKDOWN_DEPTH, MAX_MARKDOWN_DELIMITERS)
    settings_note = (
        "The schemas themselves, in schemas/. An integrity rule: policy.yaml cannot waive, "
        "ignore or downgrade it (a configuration error). Timestamps and dates lie in the "
        "years 1900 to 2999."
    )
    examples = overlays(
        "incident",
        failing="""\
            status: no                          # not one of open, mitigated, resolved, closed
            detected_at: 2026-03-04T09:12:00    # no offset
            """,
        passing="""\
            status: closed
            detected_at: 2026-03-04T09:12:00Z
            """,
    )

    def check(self, ctx: Context) -> Iterator[Finding]:
        yield from (p for p in ctx.ledger.problems if p.rule == self.id)
        yield from gap_findings(list(ctx.ledger.incidents.values()), self.id)


class RefId(Rule):
    """File names, IDs and kinds agree, and every ID is unique.

    What it checks:
      The file name stem equals the record's ``id`` (a runbook may add ``-slug``); the ID
      matches its kind's pattern in ASCII and the file sits in that kind's folder; no two
      records share an ID, compared case-insensitively; files in record folders are records.

    Why auditors care:
      Links, history and the published site all key on the ID. Two records with one ID, or a
      file whose name says another ID, make the audit trail point at the wrong evidence.
    """

    id = "REF-ID"
    kinds = ("incident", "change", "pir", "runbook", "problem", "services")
    summary = "file name, ID or kind mismatch, or duplicate ID"
    settings_note = (
        "An integrity rule: policy.yaml cannot waive, ignore or downgrade it (a duplicate is "
        "not loaded at all, so waiving it would hide a record)."
    )
    examples = Examples(
        example(File("incident", "id: INC-2026-0001", id="INC-2026-0009")),
        example(File("incident", "id: INC-2026-0001", id="INC-2026-0001")),
    )

    def check(self, ctx: Context) -> Iterator[Finding]:
        yield from self.judge(ctx.ledger)

    def judge(self, ledger: Ledger) -> Iterator[Finding]:
        """The findings on what loading saw of ``ledger``'s names and IDs."""
        for stray in ledger.strays:
            yield Finding(stray.path, 1, 1, self.id, self.severity, stray.why)
        for seen in ledger.ids:
            folder = KIND_BY_NAME[seen.folder]
            rid = _clip(seen.id)

            def problem(message: str, fix: str, seen: IdSeen = seen) -> Finding:
                return Finding(
                    seen.path,
                    seen.line,
                    seen.column,
                    self.id,
                    self.severity,
                    message,
                    seen.id,
                    "/id",
                    fix,
                )

            owner = kind_of_id(seen.id)
            if owner is not None and owner is not folder:
                yield problem(
                    f"{seen.id} is a {owner.name} ID but the file is in {folder.folder}/",
                    f"move the file to {owner.folder}/",
                )
            if not stem_matches(folder, seen.stem, seen.id):
                yield problem(
                    f"file name {seen.stem!r} does not match id {rid!r}",
                    f"rename the file to {rid}{folder.suffix} or correct the id",
                )
            if seen.taken_by is not None:
                yield problem(
                    f"duplicate ID {rid!r}: already used by {seen.taken_by}",
                    "give this record the next free ID",
                )
        doc = ledger.services_doc
        for index in ledger.service_twins:
            if doc is None:
                break
            line, column = doc.position((index, "id"))
            yield Finding(
                SERVICES_FILE,
                line,
                column,
                self.id,
                self.severity,
                f"duplicate service id {doc.data[index]['id']!r}",
                None,
                f"/{index}/id",
                "service ids must be unique",
            )


def load_findings(ledger: Ledger) -> list[Finding]:
    """What ``opsledger validate`` reports: loading's SCHEMA problems and REF-ID."""
    return sorted([*ledger.problems, *RefId().judge(ledger)])


def _clip(text: str, limit: int = 40) -> str:
    text = text.encode("unicode_escape").decode("ascii")
    return text if len(text) <= limit else text[: limit - 1] + "…"


class RefLink(Rule):
    """Every reference between records resolves.

    What it checks:
      Incidents: ``service``, ``caused_by_change``, ``recurrence_of``, ``runbooks_used``,
      ``pir``, and each ``regulatory`` entry's regime (in ``policy.yaml``
      ``regulatory.regimes``) and submission stages (the regime's stages). Changes:
      ``services``, ``related_incident``, and each approval's ``role`` is a role in
      ``policy.yaml`` ``approvers``. PIRs: ``incident``. Runbooks: ``services``.
      Problems: ``services``, each of ``incidents`` (listed once), ``runbooks`` and
      ``fix_change``; a problem whose incidents name each other round a ``recurrence_of``
      cycle links itself through them.
      The service catalog: each service's ``runbooks``. And references that resolve but
      cannot be right: an incident with more than one PIR (each PIR but the one the
      incident's ``pir`` names is reported; when it names none, every one), an incident's
      ``pir`` naming the review of another incident, and ``recurrence_of`` naming the
      incident itself, a later incident, or going round in a cycle.

    Why auditors care:
      A PIR for an incident that does not exist, or a change naming an unknown service,
      breaks the chain of evidence the audit and the KPIs follow; a gate that names no real
      Action never runs.
    """

    id = "REF-LINK"
    kinds = ("incident", "change", "pir", "runbook", "problem", "services")
    summary = "reference to a record, service or role that does not exist"
    settings = (APPROVERS,)
    examples = overlays(
        "incident",
        failing="caused_by_change: CHG-2026-0999   # no such change record",
        passing="caused_by_change: CHG-2026-0107   # records/changes/CHG-2026-0107.yaml exists",
    )

    def check(self, ctx: Context) -> Iterator[Finding]:
        ledger = ctx.ledger
        services, roles = ledger.services, ledger.policy.approvers

        def missing(record: Record, what: str, value: str, *path: str | int) -> Finding:
            return self.finding(
                record,
                f"{what} {value!r} does not exist",
                *path,
                fix=f"correct the reference or add the {what}",
            )

        for inc in ledger.incidents.values():
            if imported(inc) and "service" in inc.import_gaps:
                pass  # summarised with the other import gaps (SCHEMA)
            elif inc.service and inc.service not in services:
                yield missing(inc, "service", inc.service, "service")
            for field, value in (
                ("caused_by_change", inc.caused_by_change),
                ("recurrence_of", inc.recurrence_of),
                ("pir", inc.pir),
            ):
                if value and not ledger.exists(value):
                    if field == "caused_by_change" and inc.external_id is not None:
                        continue  # the source system's change was not imported
                    yield missing(inc, field.replace("_", " "), value, field)
            for i, runbook in enumerate(inc.runbooks_used):
                if not ledger.exists(runbook):
                    yield missing(inc, "runbook", runbook, "runbooks_used", i)
            for message, where, fix in unresolved(inc.regulatory, ledger.policy.regulatory):
                yield self.finding(inc, message, *where, fix=fix)
        for chg in ledger.changes.values():
            for i, key in enumerate(chg.services):
                if key not in services:
                    yield missing(chg, "service", key, "services", i)
            if chg.related_incident and not ledger.exists(chg.related_incident):
                yield missing(chg, "incident", chg.related_incident, "related_incident")
            for approval in chg.approvals:
                if approval.role and approval.role not in roles:
                    yield missing(
                        chg, "approver role", approval.role, "approvals", approval.index, "role"
                    )
        for pir in ledger.pirs.values():
            if pir.incident and not ledger.exists(pir.incident):
                yield missing(pir, "incident", pir.incident, "incident")
        for rb in ledger.runbooks.values():
            for i, key in enumerate(rb.services):
                if key not in services:
                    yield missing(rb, "service", key, "services", i)
        for prb in ledger.problem_records.values():
            gap = prb.external_id is not None and "services" in prb.import_gaps
            for i, key in enumerate(() if gap else prb.services):
                if key not in services:
                    yield missing(prb, "service", key, "services", i)
            for i, inc_id in enumerate(prb.incidents):
                if not ledger.exists(inc_id):
                    yield missing(prb, "incident", inc_id, "incidents", i)
            for i, runbook in enumerate(prb.runbooks):
                if not ledger.exists(runbook):
                    yield missing(prb, "runbook", runbook, "runbooks", i)
            if prb.fix_change and not ledger.exists(prb.fix_change):
                yield missing(prb, "change", prb.fix_change, "fix_change")
        for problem in link_shapes.problems(ledger):
            yield self.finding(problem.record, problem.message, *problem.at, fix=problem.fix)
        doc = ledger.services_doc
        for entry in services.values():
            for i, runbook in enumerate(entry.runbooks):
                if not ledger.exists(runbook) and doc is not None:
                    path: tuple[str | int, ...] = (entry.index, "runbooks", i)
                    line, column = doc.position(path)
                    yield Finding(
                        SERVICES_FILE,
                        line,
                        column,
                        self.id,
                        self.severity,
                        f"runbook {runbook!r} does not exist",
                        None,
                        json_pointer(path),
                        "correct the reference or add the runbook",
                    )
        from opsledger import ci  # here: validate (REF-ID only) never needs it

        for place in ci.placeholders(ledger.root):
            yield Finding(
                place.path,
                place.line,
                place.column,
                self.id,
                self.severity,
                f"the CI configuration still names the placeholder {ci.PLACEHOLDER_REPO} "
                "instead of the repository opsledger is installed from",
                None,
                f"/line/{place.line}",
                f"replace {ci.PLACEHOLDER} with the repository and tag opsledger comes from, "
                "as 'opsledger init --action-ref OWNER/REPO@REF' would write it",
            )


RULES: tuple[type[Rule], ...] = (Schema, RefId, RefLink)
