"""Recording an approval (``opsledger approve``): a change's ``approvals`` entry or a PIR's
``reviewers`` entry, by the current git identity, optionally committed on its own.

The record's text is edited, never rewritten: the new entry's YAML lines are inserted
where the list ends (found from the YAML node positions) and everything else - comments,
quoting, order, the Markdown body - stays byte for byte. The result is loaded again with
the strict loader and must mean exactly the old record plus the new entry, else nothing
is written. Checks refuse what the audit would reject: a person not listed for the role, a
role that may not approve the change type, the requester or implementer (segregation of
duties), a PIR's own author. The commit, authored by the approver, is the evidence
GIT-PROVENANCE verifies.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from opsledger import fileedit, gitio
from opsledger.errors import OpsledgerError
from opsledger.history.model import identity_key
from opsledger.loading import LoadError, load_text
from opsledger.loading.text import decode_strict
from opsledger.model.ledger import Ledger, load_ledger
from opsledger.model.records import Change, Pir
from opsledger.timeutil import format_timestamp

DECISIONS = {
    "change": ("approved", "rejected"),
    "pir": ("approved", "changes-requested", "rejected"),
}
#: the role name a PIR review may give without being a role of ``approvers``
REVIEWER = "reviewer"
_PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9._%+@-]*\Z")
_RESERVED = {"null", "true", "false", "yes", "no", "on", "off", "y", "n", "~"}


@dataclass(frozen=True)
class Recorded:
    """What ``approve`` did."""

    record_id: str
    path: Path
    by: str
    role: str | None  # None for a PIR review
    decision: str
    at: datetime
    commit: str | None = None
    notes: tuple[str, ...] = ()

    @property
    def message(self) -> str:
        """The commit message: ``CHG-2026-0107: approved by x@example.com as cab``."""
        role = f" as {self.role}" if self.role else ""
        return f"{self.record_id}: {self.decision} by {self.by}{role}"


def approve(
    root: Path,
    record_id: str,
    *,
    role: str | None,
    decision: str,
    now: datetime,
    commit: bool = False,
) -> Recorded:
    """Add an approval or review of ``record_id`` by the current git identity at ``now``;
    with ``commit``, commit that file alone. Raises :class:`OpsledgerError` on refusal."""
    identity = gitio.author_identity(root)
    if identity is None:
        raise OpsledgerError(
            "no git identity: set it with 'git config user.email you@example.com' (and "
            "user.name); approvals are recorded under the address git commits with"
        )
    with fileedit.locked(root, "opsledger approve") as state:
        return _approve(
            root,
            record_id,
            by=identity[1],
            role=role,
            decision=decision,
            now=now,
            commit=commit,
            temp_dir=fileedit.temp_dir(state),
        )


def _approve(
    root: Path,
    record_id: str,
    *,
    by: str,
    role: str | None,
    decision: str,
    now: datetime,
    commit: bool,
    temp_dir: Path,
) -> Recorded:
    """The approval, holding the repository's edit lock: what is read is what is edited."""
    ledger, record = _load(root, record_id)
    path = ledger.root / record.path
    if commit and gitio.describe_head(root) is None:
        raise OpsledgerError("--commit needs a git repository with at least one commit")
    if commit and gitio.uncommitted(root, path):
        raise OpsledgerError(
            f"{record.path} has uncommitted changes (or is not committed yet): commit them "
            "first, so that the approval commit holds the approval alone"
        )
    if isinstance(record, Change):
        entry, notes = _change_entry(ledger, record, by, role, decision, now)
        field = "approvals"
    else:
        entry, notes = _review_entry(ledger, record, by, role, decision, now)
        field = "reviewers"
    original = path.read_bytes()
    text = decode_strict(original)
    updated = add_entry(text, field, entry, markdown=path.suffix == ".md").encode("utf-8")
    _check_schema(ledger, record.kind, updated.decode("utf-8"), field, record.path)
    fileedit.replace_if(path, original, updated, temp_dir=temp_dir)
    done = Recorded(record.id, path, by, entry.get("role"), decision, now, notes=tuple(notes))
    if not commit:
        return done
    try:
        sha = gitio.commit_file(root, path, done.message)
    except OpsledgerError as exc:
        try:
            fileedit.replace_if(path, updated, original, temp_dir=temp_dir)
        except (OSError, fileedit.Conflict) as undo:  # someone else's edit stays
            raise OpsledgerError(
                f"{exc.message}; {record.path} keeps the approval, uncommitted ({undo})"
            ) from None
        raise OpsledgerError(f"{exc.message}; {record.path} is unchanged") from None
    return dataclasses.replace(done, commit=sha)


def _load(root: Path, record_id: str) -> tuple[Ledger, Change | Pir]:
    """The ledger and the record. Every record is loaded, as the audit loads them: a file
    named otherwise may hold the ID in its ``id`` field, and which file is the record then
    depends on their order, so an ID claimed by several files is refused (as ``brief``
    refuses it)."""
    ledger = load_ledger(root)
    claimed = ledger.claimants(record_id)
    if not claimed:
        raise OpsledgerError(f"{record_id}: no such change or PIR in this repository")
    if len(claimed) > 1:
        raise OpsledgerError(
            f"{record_id} is claimed by several files ({', '.join(claimed)}); keep one "
            "(the audit reports the others: REF-ID) and run again"
        )
    wanted = record_id.casefold()
    record = next((r for r in ledger.records() if r.id.casefold() == wanted), None)
    if isinstance(record, Change | Pir):
        return ledger, record
    if record is not None:
        raise OpsledgerError(
            f"{record.id} is not a change or a PIR: only those are approved or reviewed"
        )
    where = ""
    for problem in ledger.problems:
        if problem.path == claimed[0]:
            where = f" ({problem.path}:{problem.line}:{problem.column}: {problem.message})"
            break
    raise OpsledgerError(f"{record_id} cannot be read{where}; fix it first (opsledger validate)")


def _decision(kind: str, decision: str) -> None:
    if decision not in DECISIONS[kind]:
        raise OpsledgerError(
            f"--decision {decision}: a {'change' if kind == 'change' else 'PIR review'} "
            f"decision is one of {', '.join(DECISIONS[kind])}"
        )


def _change_entry(
    ledger: Ledger, chg: Change, by: str, role: str | None, decision: str, now: datetime
) -> tuple[dict[str, str], list[str]]:
    _decision("change", decision)
    policy = ledger.policy
    tp = policy.change_types.get(chg.type or "")
    if tp is None:
        raise OpsledgerError(f"{chg.id}: change type {chg.type!r} has no policy in policy.yaml")
    if not tp.approver_roles:
        raise OpsledgerError(
            f"{chg.id} is a {chg.type} change: no role may approve it "
            f"(changes.{chg.type}.approver_roles is empty; standard changes are pre-approved)"
        )
    allowed = ", ".join(tp.approver_roles)
    if role is None:
        raise OpsledgerError(f"{chg.id}: say in which role you approve: --role ({allowed})")
    if role not in tp.approver_roles:
        raise OpsledgerError(
            f"role {role} may not approve {chg.type} changes (changes.{chg.type}."
            f"approver_roles: {allowed})"
        )
    me = identity_key(by)
    if me not in policy.approvers.get(role, frozenset()):
        raise OpsledgerError(f"{by} is not listed under approvers.{role} in policy.yaml")
    duties = [
        name
        for name, who in (("requester", chg.requested_by), ("implementer", chg.implementer))
        if who is not None and identity_key(who) == me
    ]
    if duties:
        raise OpsledgerError(
            f"segregation of duties: {by} is the {' and '.join(duties)} of {chg.id} and may "
            "not approve it"
        )
    mine = [a for a in chg.approvals if identity_key(a.by or "") == me and a.role == role]
    if mine and mine[-1].decision == decision:
        raise OpsledgerError(f"{chg.id}: {by} already {decision} it as {role}")
    notes = []
    if chg.status in ("closed", "cancelled"):
        notes.append(
            f"{chg.id} is {chg.status}: an approval added now is an edit after closure "
            "(GIT-AFTER-CLOSE) unless it lands together with the status change"
        )
    entry = {"by": by, "role": role, "at": format_timestamp(now), "decision": decision}
    return entry, notes


def _review_entry(
    ledger: Ledger, pir: Pir, by: str, role: str | None, decision: str, now: datetime
) -> tuple[dict[str, str], list[str]]:
    _decision("pir", decision)
    me = identity_key(by)
    if role is not None and role != REVIEWER:
        if role not in ledger.policy.approvers:
            raise OpsledgerError(
                f"--role {role}: not a role under approvers in policy.yaml; a PIR review "
                f"needs no role (or --role {REVIEWER})"
            )
        if me not in ledger.policy.approvers[role]:
            raise OpsledgerError(f"{by} is not listed under approvers.{role} in policy.yaml")
    if me in {identity_key(a) for a in pir.authors}:
        raise OpsledgerError(f"{by} is an author of {pir.id}: authors may not review their own PIR")
    mine = [r for r in pir.reviewers if identity_key(r.by or "") == me]
    if mine and mine[-1].decision == decision:
        raise OpsledgerError(f"{pir.id}: {by} already reviewed it ({decision})")
    notes = []
    if pir.status == "approved":
        notes.append(
            f"{pir.id} is already approved: a review added now is an edit after approval "
            "(GIT-AFTER-CLOSE) unless it lands together with the approval"
        )
    return {"by": by, "at": format_timestamp(now), "decision": decision}, notes


# --- the text edit ---------------------------------------------------------------------


def _scalar(value: str, *, flow: bool) -> str:
    """``value`` as a YAML scalar: plain when unambiguous, else double-quoted."""
    plain = _PLAIN.match(value) and value.lower() not in _RESERVED
    if plain and not (flow and ":" in value):
        return value
    if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+(Z|[+-][0-9:]+)", value) and not flow:
        return value  # timestamps stay plain, as records write them
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _block_item(entry: dict[str, str], indent: int, newline: str) -> str:
    pad = " " * indent
    lines = [
        f"{pad}{'- ' if i == 0 else '  '}{key}: {_scalar(value, flow=False)}"
        for i, (key, value) in enumerate(entry.items())
    ]
    return newline.join(lines) + newline


def _end_of_line(text: str, index: int) -> int:
    """The index just after the line break ending the line that holds ``index``."""
    found = text.find("\n", index)
    return len(text) if found < 0 else found + 1


def _last_content(node: yaml.Node) -> int:
    """The index just after the last character of ``node``'s own content (block
    collections' end marks run on to the next token, past comments and blank lines)."""
    if isinstance(node, yaml.ScalarNode) or getattr(node, "flow_style", False):
        return int(node.end_mark.index)
    children: list[yaml.Node] = []
    for item in node.value:
        children.extend(item if isinstance(item, tuple) else (item,))
    return max((_last_content(child) for child in children), default=node.start_mark.index)


def _insert(yaml_text: str, field: str, entry: dict[str, str], newline: str) -> str:
    """``yaml_text`` (a top-level block mapping) with ``entry`` appended to list ``field``."""
    root = yaml.compose(yaml_text, Loader=yaml.SafeLoader)
    if not isinstance(root, yaml.MappingNode) or root.flow_style:
        raise ValueError("the record is not a block mapping")
    value = next((v for k, v in root.value if getattr(k, "value", None) == field), None)
    if value is None:  # no such key yet: a new block at the end
        text = yaml_text if yaml_text.endswith("\n") or not yaml_text else yaml_text + newline
        return text + f"{field}:{newline}" + _block_item(entry, 2, newline)
    if isinstance(value, yaml.SequenceNode) and value.flow_style and value.value:
        end = _last_content(value.value[-1])
        items = ", ".join(f"{k}: {_scalar(v, flow=True)}" for k, v in entry.items())
        return yaml_text[:end] + f", {{{items}}}" + yaml_text[end:]
    if isinstance(value, yaml.SequenceNode) and value.value:
        at = _last_content(value.value[-1])
        at = at if yaml_text[at - 1 : at] == "\n" else _end_of_line(yaml_text, at)
        if at == len(yaml_text) and not yaml_text.endswith("\n"):
            yaml_text += newline
            at = len(yaml_text)
        return (
            yaml_text[:at] + _block_item(entry, value.start_mark.column, newline) + yaml_text[at:]
        )
    empty = isinstance(value, yaml.SequenceNode) or value.tag == "tag:yaml.org,2002:null"
    if not empty:
        raise ValueError(f"{field} is not a list")
    start, end = value.start_mark.index, value.end_mark.index
    text = yaml_text[:start] + yaml_text[end:]  # drop '[]', 'null' or '~'
    at = _end_of_line(text, start)
    if at == len(text) and not text.endswith("\n"):
        text += newline
        at = len(text)
    return text[:at] + _block_item(entry, 2, newline) + text[at:]


def add_entry(text: str, field: str, entry: dict[str, str], *, markdown: bool) -> str:
    """``text`` with ``entry`` appended to the list ``field`` of its YAML (a Markdown
    record's front matter), everything else unchanged; verified by loading it again.

    Raises :class:`OpsledgerError` when the file cannot be edited that way."""
    newline = "\r\n" if "\r\n" in text else "\n"
    try:
        before = load_text(text, markdown=markdown)
    except LoadError as exc:
        raise OpsledgerError(f"line {exc.line}:{exc.column}: {exc.message}; fix it first") from None
    head, tail = "", ""
    yaml_text = text
    if markdown:
        first = text.index("\n") + 1
        close = re.compile(r"^---\r?$", re.M).search(text, first)
        assert close is not None  # the loader found the front matter
        head, yaml_text, tail = text[:first], text[first : close.start()], text[close.start() :]
    try:
        updated = head + _insert(yaml_text, field, entry, newline) + tail
        after = load_text(updated, markdown=markdown)
    except (ValueError, yaml.YAMLError, LoadError) as exc:
        raise OpsledgerError(_by_hand(field, entry, str(exc).splitlines()[0])) from None
    expected: Any = copy.deepcopy(before.data)
    if isinstance(expected, dict):
        listed = expected.get(field)
        expected[field] = [*(listed if isinstance(listed, list) else []), entry]
    if after.data != expected or after.body != before.body:
        raise OpsledgerError(_by_hand(field, entry, "the edit would change other fields"))
    return updated


def _by_hand(field: str, entry: dict[str, str], why: str) -> str:
    items = ", ".join(f"{k}: {_scalar(v, flow=True)}" for k, v in entry.items())
    return (
        f"cannot add the entry to the file's text ({why}); add it under {field} by hand: "
        f"{{{items}}}"
    )


def _check_schema(ledger: Ledger, kind: str, text: str, field: str, rel: str) -> None:
    doc = load_text(text, markdown=rel.endswith(".md"), limits=ledger.policy.limits)
    count = len(doc.data.get(field) or []) if isinstance(doc.data, dict) else 0
    for problem in ledger.schemas.check(kind, doc):
        if tuple(problem.path[:2]) == (field, count - 1):
            raise OpsledgerError(f"the new {field} entry would not be valid: {problem.message}")
