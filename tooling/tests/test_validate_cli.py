"""``opsledger validate`` end to end on real repositories in temporary folders."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import INCIDENT, InvokeCli, Repo, finding_lines


def test_clean_repository(repo: Repo, cli: InvokeCli) -> None:
    repo.write("records/incidents/2026/INC-2026-0001.yaml", INCIDENT)
    result = cli("validate", "--repo", repo.root)
    assert result.status == 0, result.err
    assert result.out == ""
    assert "2 files checked, 0 errors" in result.err


def test_problem_line_format_and_exit_status(repo: Repo, cli: InvokeCli) -> None:
    repo.write("records/incidents/INC-2026-0001.yaml", INCIDENT.replace("P3", "P5"))
    result = cli("validate", "--repo", repo.root)
    assert result.status == 1
    assert finding_lines(result.out) == [
        "records/incidents/INC-2026-0001.yaml:3:11: error SCHEMA must be one of P1, P2, P3, P4 "
        "(got 'P5')"
    ]


def test_one_bad_file_never_hides_the_others(repo: Repo, cli: InvokeCli) -> None:
    repo.write("records/incidents/INC-2026-0001.yaml", "id: INC-2026-0001\nid: again\n")
    repo.write("records/incidents/INC-2026-0002.yaml", INCIDENT.replace("0001", "0002"))
    repo.write("records/incidents/INC-2026-0003.yaml", "a: &x 1\n")
    repo.write_bytes("records/incidents/INC-2026-0004.yaml", b"\xef\xbb\xbfid: x\n")
    repo.write("records/pirs/PIR-2026-0001.md", "no front matter\n")
    repo.write("runbooks/RB-0003-pool.md", "---\nid: RB-0003\n---\n")
    result = cli("validate", "--repo", repo.root)
    assert result.status == 1
    paths = [line.split(":")[0] for line in finding_lines(result.out)]
    assert "records/incidents/INC-2026-0002.yaml" not in paths
    for bad in ("INC-2026-0001", "INC-2026-0003", "INC-2026-0004", "PIR-2026-0001", "RB-0003"):
        assert any(bad in p for p in paths), bad
    assert "Traceback" not in result.err


def test_json_format(repo: Repo, cli: InvokeCli) -> None:
    repo.write("records/incidents/INC-2026-0001.yaml", INCIDENT + "extra: 1\n")
    result = cli("validate", "--repo", repo.root, "--format", "json")
    assert result.status == 1
    report = json.loads(result.out)
    assert report["version"] == 1
    assert report["summary"] == {"files": 2, "errors": 1, "warnings": 0, "waived": 0}
    (finding,) = report["findings"]
    assert finding["rule"] == "SCHEMA"
    assert finding["record"] == "INC-2026-0001"
    assert (finding["line"], finding["column"]) == (10, 1)
    assert finding["pointer"] == "/extra"


def test_works_from_any_folder_inside_the_repository(
    repo: Repo, cli: InvokeCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo.write("records/incidents/2026/INC-2026-0001.yaml", INCIDENT.replace("P3", "P9"))
    monkeypatch.chdir(repo.root / "records" / "incidents" / "2026")
    result = cli("validate")
    assert result.status == 1
    assert result.out.startswith("records/incidents/2026/INC-2026-0001.yaml:3:11:")


def test_paths_limit_what_is_checked(repo: Repo, cli: InvokeCli) -> None:
    good = repo.write("records/incidents/INC-2026-0001.yaml", INCIDENT)
    repo.write("records/incidents/INC-2026-0002.yaml", "broken: [\n")
    assert cli("validate", "--repo", repo.root, good).status == 0
    assert cli("validate", "--repo", repo.root, repo.root / "records").status == 1
    missing = cli("validate", "--repo", repo.root, repo.root / "records/nope.yaml")
    assert missing.status == 2
    assert "no such file" in missing.err


def test_not_in_a_repository_is_a_usage_error(tmp_path: Path, cli: InvokeCli) -> None:
    result = cli("validate", "--repo", tmp_path)
    assert result.status == 2
    assert result.err.count("\n") == 1
    assert "no policy.yaml" in result.err and "--repo" in result.err


def test_broken_policy_is_one_clear_error_with_its_line(repo: Repo, cli: InvokeCli) -> None:
    policy = (repo.root / "policy.yaml").read_text()
    (repo.root / "policy.yaml").write_text(
        policy.replace("acknowledge_within: 5m", "acknowledge_within: 5 minutes")
    )
    result = cli("validate", "--repo", repo.root)
    assert result.status == 2
    line = next(
        i for i, text in enumerate(policy.splitlines(), 1) if "acknowledge_within: 5m" in text
    )
    assert result.err.startswith(
        f"opsledger: error: policy.yaml:{line}:25: '5 minutes' is not valid"
    )
    assert result.err.count("\n") == 1


def test_policy_yaml_errors_have_positions(repo: Repo, cli: InvokeCli) -> None:
    (repo.root / "policy.yaml").write_text("version: 1\nversion: 2\n")
    result = cli("validate", "--repo", repo.root)
    assert result.status == 2
    assert "policy.yaml:2:1: " in result.err and "duplicate key 'version'" in result.err


def test_missing_schema_is_a_configuration_error(repo: Repo, cli: InvokeCli) -> None:
    (repo.root / "schemas" / "change.schema.json").unlink()
    result = cli("validate", "--repo", repo.root)
    assert result.status == 2
    assert "change.schema.json: schema missing" in result.err


def test_file_name_must_match_id(repo: Repo, cli: InvokeCli) -> None:
    repo.write("records/incidents/INC-2026-0009.yaml", INCIDENT)
    result = cli("validate", "--repo", repo.root)
    assert finding_lines(result.out) == [
        "records/incidents/INC-2026-0009.yaml:1:5: error REF-ID file name 'INC-2026-0009' does "
        "not match id 'INC-2026-0001' (rename the file to INC-2026-0001.yaml or correct the id)"
    ]


def test_ids_unique_case_insensitively(repo: Repo, cli: InvokeCli) -> None:
    repo.write("records/incidents/2025/INC-2026-0001.yaml", INCIDENT)
    repo.write("records/incidents/2026/INC-2026-0001.yaml", INCIDENT)
    lower = INCIDENT.replace("id: INC-2026-0001", "id: inc-2026-0001")
    repo.write("records/incidents/2027/inc-2026-0001.yaml", lower)
    result = cli("validate", "--repo", repo.root)
    dupes = [line for line in finding_lines(result.out) if "duplicate ID" in line]
    assert len(dupes) == 2
    assert all("already used by records/incidents/2025/INC-2026-0001.yaml" in d for d in dupes)


def test_record_in_the_wrong_folder(repo: Repo, cli: InvokeCli) -> None:
    text = INCIDENT.replace("INC-2026-0001", "CHG-2026-0001")
    repo.write("records/incidents/CHG-2026-0001.yaml", text)
    result = cli("validate", "--repo", repo.root)
    assert "REF-ID CHG-2026-0001 is a change ID but the file is in records/incidents/" in result.out


def test_wrong_extension_is_reported(repo: Repo, cli: InvokeCli) -> None:
    repo.write("records/incidents/INC-2026-0001.yml", INCIDENT)
    result = cli("validate", "--repo", repo.root)
    assert result.status == 1
    assert (
        "INC-2026-0001.yml:1:1: error REF-ID not a record file: records/incidents/ holds"
        in result.out
    )


def test_symlinked_record_never_leaks_its_target(
    repo: Repo, cli: InvokeCli, tmp_path: Path
) -> None:
    secret = tmp_path / "credentials"
    secret.write_text("id: INC-2026-0001\ntitle: AKIAIOSFODNN7EXAMPLE-wJalrXUtnFEMI\n")
    (repo.root / "records/incidents/INC-2026-0001.yaml").symlink_to(secret)
    (repo.root / "records/changes/linked").symlink_to(tmp_path)
    for fmt in ("text", "json"):
        result = cli("validate", "--repo", repo.root, "--format", fmt)
        assert result.status == 1
        assert "AKIA" not in result.out + result.err
        assert "symbolic link" in result.out
    assert "records/changes/linked" in result.out


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('id: "INC-2026-0001\\n"\n', "an incident ID like"),
        ("id: INC-\uff12\uff10\uff12\uff16-0001\n", "an incident ID like"),
        ("id: ../../x\n", "an incident ID like"),
    ],
)
def test_hostile_ids(repo: Repo, cli: InvokeCli, text: str, message: str) -> None:
    repo.write(
        "records/incidents/INC-2026-0001.yaml", INCIDENT.replace("id: INC-2026-0001\n", text)
    )
    result = cli("validate", "--repo", repo.root)
    assert result.status == 1
    assert message in result.out
    assert not (repo.root / "x").exists()


def test_unknown_option_is_a_usage_error(repo: Repo, cli: InvokeCli) -> None:
    result = cli("validate", "--repo", repo.root, "--format", "xml")
    assert result.status == 2
    assert "Invalid value for '--format'" in result.err


def test_console_script_runs_without_traceback(repo: Repo) -> None:
    repo.write("records/incidents/INC-2026-0001.yaml", "id: [\n")
    exe = Path(sys.executable).parent / "opsledger"
    proc = subprocess.run(
        [str(exe), "validate"],
        cwd=repo.root,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "CI": "true"},
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert "INC-2026-0001.yaml:2:1: error SCHEMA YAML syntax error" in proc.stdout
