"""``opsledger sample`` and ``opsledger sample verify`` on real git repositories: the
selection equals an independent computation of the published rule, the same seed gives the
same bytes, record files are byte for byte what git holds, verify names every edited,
deleted and added file, and bad input is a one-line error with its documented status."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import struct
import warnings
import zipfile
from pathlib import Path

import pytest

from opsledger.model.ledger import load_ledger

from conftest import INCIDENT, InvokeCli, Repo, Result, git, git_init

LENA = "Lena Fischer <lena.fischer@example.com>"
PRIYA = "Priya Shah <priya.shah@example.com>"
AS_OF = "2026-06-30T12:00:00Z"


def change(number: int, start: str, *, kind: str = "normal", extra: str = "") -> str:
    return f"""\
id: CHG-2026-{number:04d}
title: Raise the orders-db connection pool, step {number}
type: {kind}
risk: low
status: approved
services: [orders-db]
requested_by: lena.fischer@example.com
implementer: marco.rossi@example.com
description: Raise max_connections on orders-db from 60 to 120 and the pool to match.
justification: The pool was exhausted in INC-2026-0001; peak usage is 55 of 60 connections.
impact: Connections drop for about 5 seconds while pgbouncer reloads; checkout retries.
window:
  start: {start}
  end: {start[:11]}23:00:00Z
testing:
  summary: Load test in staging at 2x peak traffic with the new pool size.
  evidence: [https://ci.example.com/orders-db/load-test/4711]
rollback:
  plan: Set max_connections back to 60 with the pool-size playbook and reload pgbouncer.
  trigger: Checkout error rate above 1% or replication lag above 30 seconds.
  tested: true
  estimated_duration: 15m
notifications:
  - {{at: 2026-01-02T09:00:00Z, audience: [orders-team], channel: email}}
{extra}"""


APPROVAL = """\
approvals:
  - {by: priya.shah@example.com, role: cab, decision: approved, at: 2026-01-03T10:00:00Z}
"""


def q1_start(number: int) -> str:
    month, day = 1 + (number - 1) % 3, 5 + number
    return f"2026-{month:02d}-{day:02d}T21:00:00Z"


@pytest.fixture
def history(repo: Repo) -> Repo:
    """Fifteen changes with windows in 2026-Q1 (one emergency, for INC-2026-0001), two in
    Q2; approvals committed by the approver, except CHG-2026-0003's (typed in by Lena)."""
    git_init(repo.root)
    repo.write("records/incidents/INC-2026-0001.yaml", INCIDENT)
    for number in range(1, 16):
        kind = "emergency" if number == 5 else "normal"
        extra = "related_incident: INC-2026-0001\n" if number == 5 else ""
        repo.write(
            f"records/changes/CHG-2026-{number:04d}.yaml",
            change(number, q1_start(number), kind=kind, extra=extra),
        )
    for number in (16, 17):
        repo.write(
            f"records/changes/CHG-2026-{number:04d}.yaml", change(number, "2026-04-10T21:00:00Z")
        )
    git(repo.root, "add", "-A")
    git(repo.root, "commit", "-qm", "records", date="2026-01-02T10:00:00Z", who=LENA)
    for number in range(1, 18):
        path = repo.root / f"records/changes/CHG-2026-{number:04d}.yaml"
        path.write_text(path.read_text() + APPROVAL)
        who = LENA if number == 3 else PRIYA
        git(repo.root, "commit", "-qam", f"approve {number}", date="2026-01-03T10:05:00Z", who=who)
    return repo


def sample_args(
    root: Path, out: Path, *extra: str, period: str = "2026-Q1", seed: str = "s"
) -> list[str | Path]:
    """``opsledger sample`` of changes as of AS_OF."""
    return [
        *("sample", "--repo", root, "--kind", "change", "--period", period),
        *("--seed", seed, "--as-of", AS_OF, "--output", out, *extra),
    ]


def rule(seed: str, ids: list[str], n: int) -> list[str]:
    """The published rule, computed independently of opsledger."""
    digests = {rid: hashlib.sha256(f"{seed}:{rid}".encode()).hexdigest() for rid in ids}
    return sorted(ids, key=lambda rid: digests[rid])[:n]


def draw(cli: InvokeCli, repo: Repo, out: Path, *args: str) -> dict:
    result = cli(*sample_args(repo.root, out, *args, seed="audit-7"))
    assert result.status == 0, result.err
    return json.loads((out / "manifest.json").read_text())


def test_the_selection_is_the_published_rule(history: Repo, cli: InvokeCli, tmp_path: Path) -> None:
    manifest = draw(cli, history, tmp_path / "b")
    rows = list(csv.DictReader(io.StringIO((tmp_path / "b/population.csv").read_text())))
    q1 = [f"CHG-2026-{n:04d}" for n in range(1, 16)]
    assert [r["id"] for r in rows] == q1  # Q2 changes are not in the population
    assert manifest["population"]["count"] == 15
    # 15 records: up to 52 -> 5 (policy.yaml sampling.sizes)
    assert manifest["sample"] == rule("audit-7", q1, 5)
    assert manifest["size"] == {
        "n": 5,
        "from": "policy.yaml sampling.sizes",
        "asked": None,
        "note": "",
    }
    pop = (tmp_path / "b/population.csv").read_bytes()
    assert manifest["population"]["sha256"] == hashlib.sha256(pop).hexdigest()
    folders = sorted(p.name for p in (tmp_path / "b").iterdir() if p.is_dir())
    assert folders == [f"{i:02d}-{rid}" for i, rid in enumerate(manifest["sample"], 1)]
    head = git(history.root, "rev-parse", "HEAD").strip()
    assert manifest["commit"] == head
    for row in rows:  # the blob id is the file's at the commit
        assert row["blob"] == git(history.root, "rev-parse", f"HEAD:{row['path']}").strip()
    selection = list(csv.DictReader(io.StringIO((tmp_path / "b/selection.csv").read_text())))
    assert [r["id"] for r in selection][:5] == manifest["sample"]
    assert all(
        r["sha256(audit-7:id)"] == hashlib.sha256(f"audit-7:{r['id']}".encode()).hexdigest()
        for r in selection
    )


def test_same_seed_same_bytes_another_seed_another_sample(
    history: Repo, cli: InvokeCli, tmp_path: Path
) -> None:
    one = draw(cli, history, tmp_path / "one")
    two = draw(cli, history, tmp_path / "two")
    for name in ("population.csv", "selection.csv", "summary.md"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()
    assert one["sample"] == two["sample"]
    assert {k: v for k, v in one["files"].items()} == two["files"]
    result = cli(*sample_args(history.root, tmp_path / "three", seed="other"))
    assert result.status == 0
    three = json.loads((tmp_path / "three/manifest.json").read_text())
    assert three["sample"] == rule("other", [f"CHG-2026-{n:04d}" for n in range(1, 16)], 5)
    assert (tmp_path / "three/population.csv").read_bytes() == (
        tmp_path / "one/population.csv"
    ).read_bytes()


def test_record_files_are_what_git_holds_with_trail_findings_and_provenance(
    history: Repo, cli: InvokeCli, tmp_path: Path
) -> None:
    manifest = draw(cli, history, tmp_path / "b", "--n", "15")
    commit = manifest["commit"]
    for order, rid in enumerate(manifest["sample"], 1):
        folder = tmp_path / "b" / f"{order:02d}-{rid}"
        shown = git(history.root, "show", f"{commit}:records/changes/{rid}.yaml")
        assert (folder / f"{rid}.yaml").read_bytes() == shown.encode()
        trail = json.loads((folder / "history.json").read_text())
        assert [row["event"] for row in trail["trail"]] == ["created", "changed"]
        assert (folder / "history.txt").read_text().splitlines()[0].endswith(LENA)
    # the history JSON is what `opsledger history ID --format json` prints
    shown = cli("history", "--repo", history.root, "CHG-2026-0001", "--format", "json")
    folder = tmp_path / "b" / f"{manifest['sample'].index('CHG-2026-0001') + 1:02d}-CHG-2026-0001"
    assert (folder / "history.json").read_text() == shown.out
    # the approval typed in by Lena for Priya: GIT-PROVENANCE failed, an exception
    bad = tmp_path / "b" / f"{manifest['sample'].index('CHG-2026-0003') + 1:02d}-CHG-2026-0003"
    entry = json.loads((bad / "approvals.json").read_text())["entries"][0]
    assert entry["added_by"]["author"] == LENA
    assert entry["verdicts"]["GIT-PROVENANCE"]["verdict"] == "failed"
    assert entry["verdicts"]["GIT-BACKDATED"]["verdict"] == "passed"
    findings = json.loads((bad / "findings.json").read_text())
    assert findings["passes_every_control"] is False
    assert "GIT-PROVENANCE" in {f["rule"] for f in findings["findings"]}
    summary = (bad / "summary.md").read_text()
    assert "**Result: EXCEPTION.** Failed: GIT-PROVENANCE" in summary
    assert (
        "| GIT-PROVENANCE: approval or review entry not committed by the person it names "
        "| ✗ failed |" in summary
    )
    good = tmp_path / "b" / f"{manifest['sample'].index('CHG-2026-0001') + 1:02d}-CHG-2026-0001"
    good_entry = json.loads((good / "approvals.json").read_text())["entries"][0]
    assert good_entry["verdicts"]["GIT-PROVENANCE"]["verdict"] == "passed"
    assert good_entry["added_by"]["author"] == PRIYA
    # the emergency change carries its incident, byte for byte
    emergency = (
        tmp_path / "b" / f"{manifest['sample'].index('CHG-2026-0005') + 1:02d}-CHG-2026-0005"
    )
    linked = (emergency / "linked/INC-2026-0001.yaml").read_bytes()
    assert (
        linked
        == git(history.root, "show", f"{commit}:records/incidents/INC-2026-0001.yaml").encode()
    )
    # the pass rate: the sample's records with no unwaived error finding, exceptions named
    passed = manifest["results"]["passed"]
    top = (tmp_path / "b/summary.md").read_text()
    assert f"**Audit evidence pass rate of the sample: {passed} of 15" in top
    assert "- CHG-2026-0003 (`" in top
    assert "audit_pass_rate" in top
    assert "CHG-2026-0003" in manifest["results"]["exceptions"]


def test_the_pass_rate_agrees_with_the_audit(history: Repo, cli: InvokeCli, tmp_path: Path) -> None:
    """A sampled record passes exactly when the audit reports no unwaived error for it."""
    manifest = draw(cli, history, tmp_path / "b", "--n", "15")
    audit = cli(
        "audit", "--repo", history.root, "--as-of", AS_OF, "--format", "json", "--fail-on", "never"
    )
    failing = {
        f["record"]
        for f in json.loads(audit.out)["findings"]
        if f["severity"] == "error" and not f["waived"]
    }
    expected = {rid for rid in manifest["sample"] if rid in failing}
    assert set(manifest["results"]["exceptions"]) == expected
    assert manifest["results"]["passed"] == 15 - len(expected)


def test_verify_holds_and_names_each_edit(history: Repo, cli: InvokeCli, tmp_path: Path) -> None:
    manifest = draw(cli, history, tmp_path / "b")
    ok = cli("sample", "verify", tmp_path / "b", "--repo", history.root)
    assert ok.status == 0, ok.out + ok.err
    assert "verified" in ok.out
    first = f"01-{manifest['sample'][0]}/{manifest['sample'][0]}.yaml"
    record = tmp_path / "b" / first
    record.write_bytes(record.read_bytes().replace(b"orders-db", b"orders-dc", 1))  # one byte
    (tmp_path / "b/README.md").unlink()
    (tmp_path / "b/extra.txt").write_text("added\n")
    bad = cli("sample", "verify", tmp_path / "b", "--repo", history.root)
    assert bad.status == 1
    assert f"{first}: changed" in bad.out
    assert "README.md: missing" in bad.out
    assert "extra.txt: added" in bad.out


def test_verify_catches_a_manifest_edited_to_match(
    history: Repo, cli: InvokeCli, tmp_path: Path
) -> None:
    manifest = draw(cli, history, tmp_path / "b")
    name = f"01-{manifest['sample'][0]}/findings.json"
    path = tmp_path / "b" / name
    edited = path.read_bytes().replace(
        b'"passes_every_control": false', b'"passes_every_control": true'
    )
    edited = edited.replace(b"GIT-PROVENANCE", b"GIT-PROVENANCF") + b" "
    path.write_bytes(edited)
    manifest["files"][name] = hashlib.sha256(edited).hexdigest()
    (tmp_path / "b/manifest.json").write_text(json.dumps(manifest, indent=2))
    bad = cli("sample", "verify", tmp_path / "b", "--repo", history.root)
    assert bad.status == 1
    assert f"{name}: differs from what the repository gives at the commit" in bad.out


def test_verify_at_an_older_commit_and_from_the_zip(
    history: Repo, cli: InvokeCli, tmp_path: Path
) -> None:
    manifest = draw(cli, history, tmp_path / "b", "--zip")
    assert (tmp_path / "b.zip").is_file()
    with zipfile.ZipFile(tmp_path / "b.zip") as zf:
        assert sorted(zf.namelist()) == sorted(
            f"b/{n}" for n in [*manifest["files"], "manifest.json"]
        )
    # the repository moves on: a record of the sample changes, and one is uncommitted
    path = history.root / "records/changes" / f"{manifest['sample'][0]}.yaml"
    path.write_text(path.read_text().replace("step", "stage"))
    git(history.root, "commit", "-qam", "retitle", date="2026-05-01T10:00:00Z", who=LENA)
    path.write_text(path.read_text() + "# uncommitted\n")
    for target in (tmp_path / "b", tmp_path / "b.zip"):
        ok = cli("sample", "verify", target, "--repo", history.root)
        assert ok.status == 0, ok.out + ok.err
    assert git(history.root, "worktree", "list").count("\n") == 1  # nothing left behind
    assert "# uncommitted" in path.read_text()


def test_records_that_cannot_be_placed_are_said_with_why(
    history: Repo, cli: InvokeCli, tmp_path: Path
) -> None:
    result = cli(*sample_args(history.root, tmp_path / "clean"))
    assert result.status == 0 and "could not be placed" not in result.err
    assert "could not be placed" not in (tmp_path / "clean/README.md").read_text()
    bad = change(20, "2026-02-10T21:00:00Z").replace("start: 2026-02-10T21:00:00Z", "start: soon")
    history.write("records/changes/CHG-2026-0020.yaml", bad)
    undated = change(21, "2026-02-10T21:00:00Z").replace("  start: 2026-02-10T21:00:00Z\n", "")
    history.write("records/changes/CHG-2026-0021.yaml", undated)
    git(history.root, "add", "-A")
    git(history.root, "commit", "-qm", "two undated", date="2026-05-01T10:00:00Z", who=LENA)
    out = tmp_path / "b"
    result = cli(*sample_args(history.root, out))
    assert result.status == 0, result.err
    said = "2 records could not be placed in a period (listed in summary.md)"
    assert said in result.err
    assert said in (out / "README.md").read_text()
    reasons = {
        e["record"]: e["reason"]
        for e in json.loads((out / "manifest.json").read_text())["population"]["unplaced"]
    }
    assert reasons == {
        "CHG-2026-0020": "window.start is not a valid timestamp: cannot place it in a period",
        "CHG-2026-0021": "no window.start: cannot place it in a period",
    }
    summary = (out / "summary.md").read_text()
    assert "CHG-2026-0020: window.start is not a valid timestamp" in summary
    assert cli("sample", "verify", out, "--repo", history.root).status == 0


def test_verify_notes_a_bundle_drawn_from_another_branch(
    history: Repo, cli: InvokeCli, tmp_path: Path
) -> None:
    draw(cli, history, tmp_path / "main")
    ok = cli("sample", "verify", tmp_path / "main", "--repo", history.root)
    assert ok.status == 0 and "not on the current branch" not in ok.err
    main = git(history.root, "rev-parse", "--abbrev-ref", "HEAD").strip()
    git(history.root, "checkout", "-qb", "side")
    path = history.root / "records/changes/CHG-2026-0001.yaml"
    path.write_text(path.read_text().replace("step", "stage"))
    git(history.root, "commit", "-qam", "side edit", date="2026-05-01T10:00:00Z", who=LENA)
    draw(cli, history, tmp_path / "side")
    git(history.root, "checkout", "-q", main)
    result = cli("sample", "verify", tmp_path / "side", "--repo", history.root)
    assert result.status == 0, result.out + result.err
    assert "verified" in result.out
    notes = [t for t in result.err.splitlines() if "not on the current branch" in t]
    assert len(notes) == 1 and "another branch" in notes[0]


def test_verify_without_its_repository_or_commit_is_a_usage_error(
    history: Repo, cli: InvokeCli, tmp_path: Path
) -> None:
    manifest = draw(cli, history, tmp_path / "b")
    assert cli("sample", "verify", tmp_path / "b", "--repo", tmp_path / "nowhere").status == 2
    manifest["commit"] = "0" * 40
    (tmp_path / "b/manifest.json").write_text(json.dumps(manifest))
    result = cli("sample", "verify", tmp_path / "b", "--repo", history.root)
    assert result.status == 2
    assert "0000000000000000000000000000000000000000" in result.err
    assert cli("sample", "verify", tmp_path / "missing", "--repo", history.root).status == 2


def _one_line(result: Result, status: int) -> None:
    assert result.status == status, result.out + result.err
    assert "Traceback" not in result.err


def test_verify_of_a_crafted_folder_is_a_difference_never_a_crash_or_a_hang(
    history: Repo, cli: InvokeCli, tmp_path: Path
) -> None:
    out = tmp_path / "b"
    draw(cli, history, out)
    ok = cli("sample", "verify", out, "--repo", history.root)
    _one_line(ok, 0)
    manifest = (out / "manifest.json").read_bytes()
    deep = out / "deep"
    deep.mkdir()
    path = deep
    for _ in range(1100):
        path = path / "d"
        path.mkdir()
    os.mkfifo(out / "pipe")
    big = out / "big.bin"
    with big.open("wb") as stream:
        stream.truncate(65 * 1024 * 1024)  # sparse: larger than any file of a bundle
    try:
        result = cli("sample", "verify", out, "--repo", history.root)
    finally:
        while path != deep:  # pytest's own clean-up recurses per folder
            path.rmdir()
            path = path.parent
    _one_line(result, 1)
    assert "pipe: a named pipe, not a file of the bundle" in result.out
    assert "big.bin: larger than a bundle's files" in result.out
    assert "folders nested deeper than" in result.out
    # the manifest itself: a pipe, a link, deeply nested JSON
    (out / "manifest.json").unlink()
    os.mkfifo(out / "manifest.json")
    result = cli("sample", "verify", out, "--repo", history.root)
    _one_line(result, 1)
    assert "manifest.json: a named pipe" in result.out
    (out / "manifest.json").unlink()
    (tmp_path / "real.json").write_bytes(manifest)
    (out / "manifest.json").symlink_to(tmp_path / "real.json")
    result = cli("sample", "verify", out, "--repo", history.root)
    _one_line(result, 1)
    assert "manifest.json: a symbolic link" in result.out and "JSON" not in result.out
    (out / "manifest.json").unlink()
    (out / "manifest.json").write_text("[" * 100_000)
    result = cli("sample", "verify", out, "--repo", history.root)
    _one_line(result, 1)
    assert "manifest.json: not valid JSON" in result.out


def _patched(data: bytes, name: bytes, change: str) -> bytes:
    """``data`` (a zip of one stored entry ``name``) with a hostile change to its headers."""
    local = data.index(b"PK\x03\x04")
    central = data.index(b"PK\x01\x02")
    out = bytearray(data)
    if change == "crc":
        for at in (local + 14, central + 16):
            out[at] ^= 0xFF
    elif change == "size":
        for at in (local + 22, central + 24):
            struct.pack_into("<I", out, at, 3)
    elif change == "encrypted":
        for at in (local + 6, central + 8):
            out[at] |= 0x01
    elif change == "method":
        for at in (local + 8, central + 10):
            struct.pack_into("<H", out, at, 99)
    assert name in out
    return bytes(out)


@pytest.mark.parametrize("change", ["crc", "size", "encrypted", "method", "deep"])
def test_verify_of_a_crafted_zip_is_not_a_bundle(
    history: Repo, cli: InvokeCli, tmp_path: Path, change: str
) -> None:
    archive = tmp_path / "b.zip"
    buffer = io.BytesIO()
    name = "b/" + "d/" * 2000 + "x.txt" if change == "deep" else "b/manifest.json"
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr(name, b'{"version": 1, "tool": "opsledger", "files": {}}')
    data = buffer.getvalue()
    archive.write_bytes(data if change == "deep" else _patched(data, name.encode(), change))
    result = cli("sample", "verify", archive, "--repo", history.root)
    _one_line(result, 2)
    assert "not a sample bundle" in result.err and result.err.count("\n") == 1


@pytest.mark.parametrize(
    ("twin", "forged_first"),
    [
        ("b/summary.md", True),
        ("b/summary.md", False),
        ("b/SUMMARY.md", True),  # one file on a case-insensitive disk
        ("b/./summary.md", True),
        ("b//summary.md", False),
    ],
)
def test_verify_refuses_a_zip_holding_a_name_twice(
    history: Repo, cli: InvokeCli, tmp_path: Path, twin: str, forged_first: bool
) -> None:
    """Which copy of a name an unpacker keeps differs between tools: a bundle holding a
    name twice is refused, whichever copy is the genuine one."""
    draw(cli, history, tmp_path / "b")
    genuine = sorted(p for p in (tmp_path / "b").rglob("*") if p.is_file())
    archive = tmp_path / "b.zip"
    with zipfile.ZipFile(archive, "w") as zf, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns of the duplicate it writes
        if forged_first:
            zf.writestr(twin, b"forged")
        for path in genuine:
            zf.writestr(path.relative_to(tmp_path).as_posix(), path.read_bytes())
        if not forged_first:
            zf.writestr(twin, b"forged")
    result = cli("sample", "verify", archive, "--repo", history.root)
    _one_line(result, 2)
    assert "not a sample bundle: it holds " in result.err and " twice " in result.err
    assert "summary.md" in result.err.lower()


@pytest.mark.parametrize("field", ["seed", "kind"])
def test_verify_quotes_a_long_manifest_value_cut(
    history: Repo, cli: InvokeCli, tmp_path: Path, field: str
) -> None:
    out = tmp_path / "b"
    manifest = draw(cli, history, out)
    manifest[field] = "x" * 100_000
    (out / "manifest.json").write_text(json.dumps(manifest))
    result = cli("sample", "verify", out, "--repo", history.root)
    _one_line(result, 1)
    assert "x" * 79 + "…" in result.out and len(result.out + result.err) < 1000


def test_verify_shows_a_long_member_name_cut(history: Repo, cli: InvokeCli, tmp_path: Path) -> None:
    archive = tmp_path / "b.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("b/../" + "x" * 5000, b"")
    result = cli("sample", "verify", archive, "--repo", history.root)
    _one_line(result, 2)
    assert "unsafe name" in result.err and len(result.err) < 400


def test_verify_of_a_file_that_is_no_zip_says_so(
    history: Repo, cli: InvokeCli, tmp_path: Path
) -> None:
    archive = tmp_path / "b.zip"
    archive.write_bytes(b"not a zip at all")
    result = cli("sample", "verify", archive, "--repo", history.root)
    _one_line(result, 2)
    assert "not a sample bundle: not a zip archive" in result.err
    missing = cli("sample", "verify", tmp_path / "gone.zip", "--repo", history.root)
    _one_line(missing, 2)
    assert "no such bundle folder" in missing.err


@pytest.mark.parametrize(
    "method", [zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA], ids=str
)
def test_verify_of_a_zip_with_damaged_compressed_data_is_not_a_bundle(
    history: Repo, cli: InvokeCli, tmp_path: Path, method: int
) -> None:
    """Each of zipfile's decompressors raises its own error on damaged data."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as zf:
        zf.writestr("b/manifest.json", b'{"version": 1, "files": {}}' * 200)
    data = bytearray(buffer.getvalue())
    local = data.index(b"PK\x03\x04")
    start = local + 30 + int.from_bytes(data[local + 26 : local + 28], "little")
    start += int.from_bytes(data[local + 28 : local + 30], "little")
    for at in range(start + 4, start + 40):
        data[at] ^= 0xFF
    archive = tmp_path / "b.zip"
    archive.write_bytes(bytes(data))
    result = cli("sample", "verify", archive, "--repo", history.root)
    _one_line(result, 2)
    assert "not a sample bundle" in result.err and result.err.count("\n") == 1


@pytest.mark.parametrize("value", [5, True, None, {"a": 1}, "INC-2026-0001", ["x"] * 5000])
def test_verify_names_a_manifest_sample_of_any_shape(
    history: Repo, cli: InvokeCli, tmp_path: Path, value: object
) -> None:
    out = tmp_path / "b"
    draw(cli, history, out)
    path = out / "manifest.json"
    data = json.loads(path.read_text())
    data["sample"] = value
    path.write_text(json.dumps(data))
    result = cli("sample", "verify", out, "--repo", history.root)
    _one_line(result, 1)
    [line] = [line for line in result.out.splitlines() if "sample: " in line]
    assert "but the rule gives" in line and len(line) < 1000


def test_n_larger_than_the_population_takes_it_whole(
    history: Repo, cli: InvokeCli, tmp_path: Path
) -> None:
    result = cli(*sample_args(history.root, tmp_path / "b", "--n", "9", period="2026-04"))
    assert result.status == 0
    assert "--n 9 is larger than the population (2): the whole population is taken" in result.err
    manifest = json.loads((tmp_path / "b/manifest.json").read_text())
    assert sorted(manifest["sample"]) == ["CHG-2026-0016", "CHG-2026-0017"]


def test_filters_and_policy_sizes(history: Repo, cli: InvokeCli, tmp_path: Path) -> None:
    manifest = draw(cli, history, tmp_path / "e", "--where", "type=emergency")
    assert manifest["sample"] == ["CHG-2026-0005"]
    assert manifest["where"] == {"type": ["emergency"]}
    policy = history.root / "policy.yaml"
    policy.write_text(
        policy.read_text().replace("    - {up_to: 52, size: 5}", "    - {up_to: 52, size: 7}")
    )
    git(history.root, "commit", "-qam", "sample more", date="2026-05-01T10:00:00Z", who=LENA)
    manifest = draw(cli, history, tmp_path / "p")
    assert manifest["sample"] == rule("audit-7", [f"CHG-2026-{n:04d}" for n in range(1, 16)], 7)
    policy.write_text(policy.read_text().replace("{up_to: 52, size: 7}", "{up_to: 5, size: 7}"))
    git(history.root, "commit", "-qam", "out of order", date="2026-05-02T10:00:00Z", who=LENA)
    result = cli(*sample_args(history.root, tmp_path / "x"))
    assert result.status == 2
    assert "sampling.sizes" in result.err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--kind", "widget"), "'widget' is not one of"),
        (("--period", "2026-Q5"), "--period '2026-Q5'"),
        (("--period", "2027-Q1"), "starts after"),
        (("--n", "0"), "at least one record"),
        (("--where", "colour=red"), "cannot be filtered on 'colour'"),
        (("--where", "type"), "write FIELD=VALUE"),
        (("--seed", "a b"), "--seed 'a b'"),
        (("--where", "type=nothing"), "nothing to sample"),
        (("--period", "2026-Q2"), "is before the end of --period 2026-Q2"),
        (("--as-of", "2026-03-15T00:00:00Z"), "is before the end of --period 2026-Q1"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    history: Repo, cli: InvokeCli, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    base = {"--kind": "change", "--period": "2026-Q1", "--seed": "s", "--as-of": AS_OF}
    base.update(dict(zip(args[::2], args[1::2], strict=True)) if len(args) == 2 else {})
    words = [w for pair in base.items() for w in pair]
    result = cli("sample", "--repo", history.root, *words, "--output", tmp_path / "b")
    assert result.status == 2
    assert message in result.err
    assert "Traceback" not in result.err
    assert not (tmp_path / "b").exists()


def test_output_folders_that_are_refused(history: Repo, cli: InvokeCli, tmp_path: Path) -> None:
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("keep me\n")
    result = cli(*sample_args(history.root, busy))
    assert result.status == 2 and "--force" in result.err
    assert (busy / "notes.txt").read_text() == "keep me\n"
    # --force replaces only an earlier bundle: never unrelated files
    result = cli(*sample_args(history.root, busy, "--force"))
    assert result.status == 2 and "earlier sample bundle" in result.err
    assert (busy / "notes.txt").read_text() == "keep me\n"
    for governed in (history.root / "records/bundle", history.root, history.root / "schemas"):
        result = cli(*sample_args(history.root, governed, "--force"))
        assert result.status == 2, governed
        assert "choose another path" in result.err
    assert (history.root / "policy.yaml").is_file()


def test_force_replaces_an_earlier_bundle_and_nothing_else(
    history: Repo, cli: InvokeCli, tmp_path: Path
) -> None:
    out = tmp_path / "b"
    draw(cli, history, out)
    assert cli(*sample_args(history.root, out, "--force", seed="other")).status == 0
    assert json.loads((out / "manifest.json").read_text())["seed"] == "other"
    keep = tmp_path / "keep.txt"
    keep.write_text("outside\n")
    hostile = {
        "a git repository deeper down": lambda: git(out / "01-x", "init", "-q", "nested"),
        "an unlisted file deeper down": lambda: (out / "01-x" / "notes.txt").write_text("x"),
        "a link out of the folder": lambda: (out / "link").symlink_to(keep),
        "a manifest of something else": lambda: (out / "manifest.json").write_text(
            json.dumps({"version": 1, "tool": "opsledger", "files": {}})
        ),
        "a manifest that is a link": lambda: (
            (out / "manifest.json").unlink(),
            (out / "manifest.json").symlink_to(keep),
        ),
    }
    for what, plant in hostile.items():
        draw(cli, history, out, "--force")
        (out / "01-x").mkdir(exist_ok=True)
        plant()
        before = sorted(p.relative_to(out).as_posix() for p in out.rglob("*"))
        result = cli(*sample_args(history.root, out, "--force"))
        assert result.status == 2, what
        assert "earlier sample bundle" in result.err and result.err.count("\n") == 1, what
        assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == before, what
        assert keep.read_text() == "outside\n"
        for path in sorted(out.rglob("*"), reverse=True):  # clear for the next case
            if path.is_symlink() or path.is_file():
                path.unlink()
            else:
                path.rmdir()
        out.rmdir()


def test_zip_is_staged_safely_and_a_non_file_archive_is_refused_first(
    history: Repo, cli: InvokeCli, tmp_path: Path
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep\n")
    (tmp_path / ".b.zip.partial").symlink_to(victim)  # the old fixed staging name
    draw(cli, history, tmp_path / "b", "--zip")
    assert victim.read_text() == "keep\n"
    assert zipfile.is_zipfile(tmp_path / "b.zip")
    assert not list(tmp_path.glob(".b.zip.*.partial"))
    (tmp_path / "c.zip").mkdir()
    result = cli(*sample_args(history.root, tmp_path / "c", "--zip", "--force"))
    assert result.status == 2 and "not a regular file" in result.err
    assert not (tmp_path / "c").exists()
    assert not list(tmp_path.glob(".c.zip*")) and not list(tmp_path.glob(".opsledger-sample-*"))
    (tmp_path / "d.zip").symlink_to(victim)
    result = cli(*sample_args(history.root, tmp_path / "d", "--zip", "--force"))
    assert result.status == 2 and not (tmp_path / "d").exists()
    assert victim.read_text() == "keep\n"


def test_zip_force_replaces_only_an_earlier_bundle_archive(
    history: Repo, cli: InvokeCli, tmp_path: Path
) -> None:
    """--force replaces OUTPUT.zip only when it is an earlier bundle's archive, as it
    replaces the folder only when it is an earlier bundle."""
    out = tmp_path / "b"
    draw(cli, history, out, "--zip")
    assert cli(*sample_args(history.root, out, "--zip", "--force")).status == 0
    earlier = (tmp_path / "b.zip").read_bytes()
    manifest = (out / "manifest.json").read_bytes()

    def archive(*extra: tuple[str, str], keep: bool = True) -> bytes:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as zf:
            if keep:
                with zipfile.ZipFile(io.BytesIO(earlier)) as old:
                    for info in old.infolist():
                        zf.writestr(info, old.read(info))
            for name, text in extra:
                zf.writestr(name, text)
        return buffer.getvalue()

    for name, content in [
        ("plain text", b"precious\n"),
        ("a zip of other files", archive(("b/notes.txt", "mine"), keep=False)),
        ("a bundle archive with a file added", archive(("b/notes.txt", "mine"))),
        ("a bundle archive of another folder", earlier.replace(b"b/", b"x/")),
        ("a damaged zip", earlier[: len(earlier) // 2]),
    ]:
        (tmp_path / "b.zip").write_bytes(content)
        result = cli(*sample_args(history.root, out, "--zip", "--force"))
        assert result.status == 2, name
        assert "--force replaces only an earlier sample bundle" in result.err, name
        assert (tmp_path / "b.zip").read_bytes() == content, name
        assert (out / "manifest.json").read_bytes() == manifest, name


def test_a_shallow_clone_stops_with_exit_4(history: Repo, cli: InvokeCli, tmp_path: Path) -> None:
    clone = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{history.root}", str(clone))
    result = cli(*sample_args(clone, tmp_path / "b"))
    assert result.status == 4
    assert "git fetch --unshallow" in result.err
    assert not (tmp_path / "b").exists()
    # a usage error is one before history is looked at
    result = cli(*sample_args(clone, tmp_path / "b", period="2026-Q9"))
    assert result.status == 2 and "--period '2026-Q9'" in result.err


def test_untrusted_text_stays_inert(repo: Repo, cli: InvokeCli, tmp_path: Path) -> None:
    git_init(repo.root)
    hostile = (
        change(1, "2026-02-10T21:00:00Z")
        .replace(
            "title: Raise the orders-db connection pool, step 1",
            'title: "| **x** <img src=x onerror=alert(1)> [a](javascript:alert(1))"',
        )
        .replace("risk: low", 'risk: "=HYPERLINK(\\"http://x\\")"')
    )
    repo.write("records/changes/CHG-2026-0001.yaml", hostile)
    git(repo.root, "add", "-A")
    git(
        repo.root,
        "commit",
        "-qm",
        "::error ::hostile",
        date="2026-01-02T10:00:00Z",
        who="=cmd|' /C calc'!A0 <lena.fischer@example.com>",
    )
    path = repo.root / "records/changes/CHG-2026-0001.yaml"
    path.write_text(
        path.read_text()
        .replace("description: Raise", 'description: "Raise\\n::error file=x::owned\\n"\nx: ')
        .replace("\nx: ", "\n# ")
    )
    git(repo.root, "commit", "-qam", "edit", date="2026-01-03T10:00:00Z", who=LENA)
    result = cli(*sample_args(repo.root, tmp_path / "b"))
    assert result.status == 0, result.err
    summary = (tmp_path / "b/01-CHG-2026-0001/summary.md").read_text()
    assert "<img" not in summary and "&lt;img" in summary
    assert "\\| \\*\\*x\\*\\*" in summary
    population = (tmp_path / "b/population.csv").read_text()
    assert "\"'=HYPERLINK(" in population  # a spreadsheet shows it as text
    trail = (tmp_path / "b/01-CHG-2026-0001/history.txt").read_text()
    assert "description: " in trail
    assert not any(line.lstrip().startswith("::") for line in trail.splitlines())


def test_the_site_page_offers_the_same_populations(
    history: Repo, cli: InvokeCli, tmp_path: Path
) -> None:
    from opsledger.site.data import collect
    from opsledger.site.generate import NAV, generate

    draw(cli, history, tmp_path / "b")
    site = generate(collect(history.root, AS_OF))
    bundle = (tmp_path / "b/population.csv").read_bytes().decode()
    assert site.assets["sampling/change-2026-Q1.csv"] == bundle
    assert "sampling/change-2026-Q2.csv" in site.assets
    assert "sampling/incident-2026-Q1.csv" in site.assets
    page = site.pages["sampling/index.md"]
    assert "[2026-Q1](change-2026-Q1.csv) (15)" in page
    assert "printf '%s' 'SEED:ID' | sha256sum" in page
    assert "| 13 to 52 | 5 |" in page
    audit = next(item["Audit"] for item in NAV if "Audit" in item)
    assert {"Audit sampling": "sampling/index.md"} in audit


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A realistic repository: three months of the demo's records and history."""
    from opsledger.demo import generate_demo

    root = tmp_path_factory.mktemp("demo") / "repo"
    generate_demo(root, months=3, seed=3)
    return root


def test_incidents_and_pirs_of_the_demo(demo: Path, cli: InvokeCli, tmp_path: Path) -> None:
    base = [
        "sample",
        "--repo",
        demo,
        "--period",
        "2025-Q4",
        "--seed",
        "q4",
        "--as-of",
        "2026-02-01",
    ]
    out = tmp_path / "inc"
    result = cli(*base, "--kind", "incident", "--where", "priority=P1,P2", "--output", out, "--zip")
    assert result.status == 0, result.err
    manifest = json.loads((out / "manifest.json").read_text())
    rows = list(csv.DictReader(io.StringIO((out / "population.csv").read_text())))
    assert rows and {r["priority"] for r in rows} <= {"P1", "P2"}
    assert manifest["sample"] == rule("q4", [r["id"] for r in rows], len(manifest["sample"]))
    commit = manifest["commit"]
    linked = sorted(out.glob("*/linked/PIR-*.md"))
    assert linked, "a sampled P1/P2 incident carries its PIR"
    for path in linked:
        pir = path.stem
        shown = git(demo, "show", f"{commit}:records/pirs/{pir}.md")
        assert path.read_bytes() == shown.encode()
    assert cli("sample", "verify", tmp_path / "inc.zip", "--repo", demo).status == 0
    out = tmp_path / "pir"
    assert cli(*base, "--kind", "pir", "--output", out).status == 0
    manifest = json.loads((out / "manifest.json").read_text())
    for order, pir in enumerate(manifest["sample"], 1):
        folder = out / f"{order:02d}-{pir}"
        reviews = json.loads((folder / "approvals.json").read_text())["entries"]
        assert all(r["kind"] == "review" and "GIT-PROVENANCE" in r["verdicts"] for r in reviews)
        assert len(list((folder / "linked").glob("INC-*.yaml"))) == 1
    assert cli("sample", "verify", out, "--repo", demo).status == 0


def test_problems_of_the_demo(demo: Path, cli: InvokeCli, tmp_path: Path) -> None:
    out = tmp_path / "prb"
    args = ("sample", "--repo", demo, "--kind", "problem", "--period", "2025-Q4")
    result = cli(*args, "--seed", "q4", "--as-of", "2026-02-01", "--output", out)
    assert result.status == 0, result.err
    manifest = json.loads((out / "manifest.json").read_text())
    header = next(csv.reader(io.StringIO((out / "population.csv").read_text())))
    assert len(header) == len(set(header)), header  # each column once
    rows = list(csv.DictReader(io.StringIO((out / "population.csv").read_text())))
    ledger = load_ledger(demo)
    opened = [
        p.id
        for p in ledger.problem_records.values()
        if p.opened_at is not None and p.opened_at.year == 2025  # Q4: the demo starts in Nov
    ]
    assert sorted(r["id"] for r in rows) == sorted(opened) and opened
    assert manifest["sample"] == rule("q4", [r["id"] for r in rows], len(manifest["sample"]))
    for order, prb in enumerate(manifest["sample"], 1):
        linked = {p.name.split(".")[0] for p in (out / f"{order:02d}-{prb}" / "linked").iterdir()}
        assert set(ledger.problem_records[prb].incidents) <= linked
    assert cli("sample", "verify", out, "--repo", demo).status == 0


@pytest.mark.parametrize(
    ("population", "size"),
    [(1, 1), (2, 2), (12, 2), (13, 5), (52, 5), (53, 25), (250, 25), (251, 40), (9999, 40)],
)
def test_the_default_sizes_are_the_specifications(population: int, size: int) -> None:
    from opsledger.sampling.settings import DEFAULT_SIZES, SIZES, size_for

    sizes = SIZES.type.convert([dict(entry) for entry in DEFAULT_SIZES])  # type: ignore[misc]
    assert size_for(population, sizes) == size


@pytest.mark.parametrize(
    ("sizes", "message"),
    [
        ("[{up_to: 50, size: 5}, {up_to: 20, size: 2}, {size: 40}]", "up_to 20 must be larger"),
        ("[{size: 5}, {up_to: 20, size: 2}]", "only the last entry may omit up_to"),
    ],
)
def test_sizes_out_of_order_are_refused_by_every_command(
    history: Repo, cli: InvokeCli, tmp_path: Path, sizes: str, message: str
) -> None:
    """One policy, one verdict: the table ``sample`` cannot use is refused by the audit,
    the KPIs and validate too, at its place in policy.yaml."""
    policy = history.root / "policy.yaml"
    text = policy.read_text()
    start = text.index("sampling:\n  sizes:\n")
    end = text.index("\n\n", start)
    policy.write_text(text[:start] + f"sampling:\n  sizes: {sizes}" + text[end:])
    line = text[:start].count("\n") + 2  # the "  sizes: [...]" line
    for args in (
        ["audit", "--repo", history.root],
        ["kpi", "--repo", history.root],
        ["validate", "--repo", history.root],
        sample_args(history.root, tmp_path / "out"),
    ):
        result = cli(*args)
        assert result.status == 2, (args, result.err)
        assert message in result.err and f"policy.yaml:{line}:" in result.err


def test_a_record_blob_git_cannot_read_stops_with_status_4(
    history: Repo, cli: InvokeCli, tmp_path: Path
) -> None:
    """A sampled record's blob gone from the object store (a damaged repository; the
    history index still answers from its cache): the bundle cannot hold what git holds, and
    says so as every other history that cannot be read in full does (exit 4), never a
    usage error."""
    draw(cli, history, tmp_path / "warm", "--n", "15")  # the history index cached
    blob = git(history.root, "rev-parse", "HEAD:records/changes/CHG-2026-0001.yaml").strip()
    (history.root / ".git" / "objects" / blob[:2] / blob[2:]).unlink()
    result = cli(*sample_args(history.root, tmp_path / "b", "--n", "15", seed="audit-7"))
    assert result.status == 4, (result.status, result.err)
    assert f"git cannot read this branch's history (missing blob {blob}" in result.err
    assert "records/changes/CHG-2026-0001.yaml" in result.err
    assert not (tmp_path / "b" / "manifest.json").exists()
