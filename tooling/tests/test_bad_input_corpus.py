"""Every bad input of the foundation issue in one repository, validated in one run.

Each file must be reported with its line and column and a recognisable message; the good
record beside them must stay clean; nothing may print a traceback or hang.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from conftest import INCIDENT, InvokeCli, Repo


def incident(n: int, extra: str = "", replace: tuple[str, str] = ("", "")) -> str:
    text = INCIDENT.replace("INC-2026-0001", f"INC-2026-{n:04d}")
    if replace[0]:
        assert replace[0] in text
        text = text.replace(*replace)
    return text + extra


def alias_bomb() -> str:
    lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x"]']
    lines += [f"a{i}: &a{i} [{','.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 7)]
    return "\n".join(lines) + "\n"


# file number → (content, expected line, expected column, message fragment)
CORPUS: dict[int, tuple[str | bytes, int, int, str]] = {
    1: (alias_bomb(), 1, 5, "anchor '&a0' is not allowed"),
    2: (incident(2, "base: {x: 1}\nmerged:\n  <<: {y: 2}\n"), 12, 3, "merge key"),
    3: (incident(3, "deep: " + "[" * 10_000 + "]" * 10_000 + "\n"), 10, 0, "nesting"),
    4: (incident(4, "status: closed\n"), 10, 1, "duplicate key 'status' (first defined on line 4)"),
    5: (
        incident(5, "notifications:\n  - at: 2026-03-04T09:20:00Z\n    at: x\n"),
        12,
        5,
        "duplicate key 'at'",
    ),
    6: (
        incident(6, "timeline: [{at: 2026-03-04T09:20:00Z, event: a, event: b}]\n"),
        10,
        49,
        "duplicate key 'event'",
    ),
    7: (
        incident(7, replace=("status: open", "status: no")),
        4,
        9,
        "must be one of open, mitigated, resolved, closed (got 'no')",
    ),
    8: (incident(8, replace=("P3", "012")), 3, 11, "(got '012')"),
    9: (incident(9, "category: 12:30\n"), 0, 0, ""),
    10: (
        incident(10, "escalations: [{at: 2026-03-04T09:20:00Z, to_tier: 0x1F, team: dba}]\n"),
        10,
        51,
        "(got '0x1F')",
    ),
    11: (incident(11, "scope: .nan\n"), 10, 8, "not-a-number"),
    12: (incident(12, "scope: -.inf\n"), 10, 8, "infinity"),
    13: (
        incident(13, replace=("2026-03-04T09:12:00Z", "2026-03-04")),
        9,
        14,
        "expected a timestamp",
    ),
    14: (incident(14, replace=("2026-03-04T09:12:00Z", "2026-03-04T09:12:00")), 9, 14, "no offset"),
    15: (
        incident(15, replace=("2026-03-04T09:12:00Z", "2026-03-04T25:00:00Z")),
        9,
        14,
        "not a real date and time",
    ),
    16: (
        incident(16, replace=("2026-03-04T09:12:00Z", "2026-02-30T09:12:00Z")),
        9,
        14,
        "not a real date and time",
    ),
    17: (
        incident(17, "title2: !!python/object/apply:os.system ['touch {marker}']\n"),
        10,
        9,
        "explicit tag",
    ),
    18: (incident(18, "blob: !!binary aGVsbG8=\n"), 10, 7, "explicit tag"),
    19: (incident(19, "tags: !!set {a, b}\n"), 10, 7, "explicit tag"),
    20: (incident(20, "impact2: '" + "x" * (2 * 1024 * 1024) + "'\n"), 1, 1, "over the limit"),
    21: (b"\xef\xbb\xbf" + incident(21).encode(), 1, 1, "byte-order mark"),
    22: (
        incident(22).replace("Checkout", "Caf\udce9").encode("utf-8", "surrogateescape"),
        8,
        12,
        "invalid UTF-8 byte 0xE9",
    ),
    23: (incident(23).replace("title: ", "title: a\x00").encode(), 2, 9, "U+0000"),
    24: (incident(24).replace("title: ", "title: \x1b[2J").encode(), 2, 8, "ESCAPE"),
    25: (incident(25).replace("service:", "serv\u200bice:").encode(), 5, 5, "ZERO WIDTH SPACE"),
    26: (
        incident(26).replace("impact: ", "impact: \u202e").encode(),
        8,
        9,
        "RIGHT-TO-LEFT OVERRIDE",
    ),
    27: (incident(27, "---\nid: INC-2026-0099\n"), 10, 1, "second YAML document"),
    28: ("", 1, 1, "no YAML data"),
    29: ("- id: INC-2026-0029\n- title: x\n", 1, 1, "must be a mapping, not a list"),
    30: (incident(30, "1: numeric key\n"), 10, 1, "key 1 is not a string"),
    31: (
        incident(31, replace=("id: INC-2026-0031", 'id: "INC-2026-0031\\n"')),
        1,
        5,
        "an incident ID like",
    ),
    32: (
        incident(32, replace=("id: INC-2026-0032", "id: INC-2026-\uff10032")),
        1,
        5,
        "an incident ID like",
    ),
    33: (incident(33, replace=("id: INC-2026-0033", "id: ../../x")), 1, 5, "an incident ID like"),
    34: (
        incident(34, replace=("id: INC-2026-0034", "id: INC-2026-0134")),
        1,
        5,
        "does not match id",
    ),
}
PIRS: dict[str, tuple[str, int, int, str]] = {
    "PIR-2026-0001": (
        "---\nid: PIR-2026-0001\nincident: INC-2026-0001\nstatus: draft\n"
        "authors: [a@example.com]\nroot_cause: x\nactions: []\n---\n"
        "## Summary\n\n---\nstatus: approved\n",
        0,
        0,
        "",
    ),
    "PIR-2026-0002": ("---\nid: PIR-2026-0002\nstatus: [\n---\nbody\n", 4, 1, "YAML syntax error"),
    "PIR-2026-0003": ("# Summary without front matter\n", 1, 1, "no front matter"),
}


@pytest.mark.usefixtures("parser")
def test_every_bad_file_is_reported_with_its_position(
    repo: Repo, cli: InvokeCli, tmp_path: Path
) -> None:
    marker = tmp_path / "pwned"
    for n, (content, *_) in CORPUS.items():
        rel = f"records/incidents/INC-2026-{n:04d}.yaml"
        if isinstance(content, bytes):
            repo.write_bytes(rel, content)
        else:
            repo.write(rel, content.replace("{marker}", str(marker)), dedent=False)
    for pir_id, (content, *_) in PIRS.items():
        repo.write(f"records/pirs/{pir_id}.md", content, dedent=False)
    repo.write("records/incidents/INC-2026-0100.yaml", incident(100))
    secret = tmp_path / "secret.env"
    secret.write_text("TOKEN=do-not-print-me\n")
    (repo.root / "records/incidents/INC-2026-0101.yaml").symlink_to(secret)
    (repo.root / "records/incidents/INC-2026-0102.yaml").symlink_to(repo.root / "policy.yaml")

    start = time.perf_counter()
    result = cli("validate", "--repo", repo.root, "--format", "json")
    assert time.perf_counter() - start < 30
    assert result.status == 1
    assert "Traceback" not in result.err
    assert "do-not-print-me" not in result.out + result.err
    assert not marker.exists()
    findings = json.loads(result.out)["findings"]
    by_path: dict[str, list[dict[str, object]]] = {}
    for finding in findings:
        by_path.setdefault(str(finding["path"]), []).append(finding)

    assert "records/incidents/INC-2026-0100.yaml" not in by_path  # the good one
    assert "records/pirs/PIR-2026-0001.md" not in by_path  # '---' in a body is just Markdown
    assert "records/incidents/INC-2026-0009.yaml" not in by_path  # 12:30 is text
    for n in (101, 102):
        (finding,) = by_path[f"records/incidents/INC-2026-{n:04d}.yaml"]
        assert "symbolic link" in str(finding["message"])
    expected = {f"records/incidents/INC-2026-{n:04d}.yaml": v[1:] for n, v in CORPUS.items()}
    expected |= {f"records/pirs/{k}.md": v[1:] for k, v in PIRS.items()}
    for path, (line, column, fragment) in expected.items():
        if not fragment:
            continue
        assert path in by_path, path
        messages = [str(f["message"]) for f in by_path[path]]
        hit = [f for f in by_path[path] if fragment in str(f["message"])]
        assert hit, (path, messages)
        if line:
            assert hit[0]["line"] == line, (path, hit[0])
        if column:
            assert hit[0]["column"] == column, (path, hit[0])
