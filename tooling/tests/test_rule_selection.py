"""Waivers, severity overrides and rule selection cannot switch the gate off silently."""

from __future__ import annotations

import json

import pytest

from conftest import INCIDENT, InvokeCli, Repo, finding_lines

INC = "records/incidents/INC-2026-0001.yaml"
AS_OF = "2026-03-31T12:00:00Z"
BROKEN = INCIDENT + "bogus: 1\n"  # a schema error
VAGUE = INCIDENT.replace(
    "impact: Checkout requests failed intermittently for about a fifth of customers.",
    "impact: TBD",
)


def waiver(rule: str, record: str, expires: str = "2026-12-31") -> str:
    return (
        "waivers:\n"
        f'  - rule: "{rule}"\n'
        f'    record: "{record}"\n'
        "    reason: Accepted while the team migrates the records from the old tool.\n"
        "    approved_by: priya.shah@example.com\n"
        f'    expires: "{expires}"\n'
    )


def set_policy(repo: Repo, old: str, new: str) -> str:
    path = repo.root / "policy.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    text = text.replace(old, new, 1)
    path.write_text(text, encoding="utf-8")
    return text


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def audit(cli: InvokeCli, repo: Repo, *args: str) -> tuple[int, str, str]:
    result = cli("audit", "--repo", repo.root, "--as-of", AS_OF, *args)
    return result.status, result.out, result.err


# ------------------------------------------------------------------ waivers


@pytest.mark.parametrize("rule", ["SCHEMA", "schema", "REF-ID", "WAIVER-EXPIRED"])
def test_integrity_rules_cannot_be_waived(repo: Repo, cli: InvokeCli, rule: str) -> None:
    repo.write(INC, BROKEN)
    text = set_policy(repo, "waivers: []", waiver(rule, "INC-2026-0001"))
    for command in ("audit", "validate", "kpi"):
        result = cli(command, "--repo", repo.root)
        assert result.status == 2, (command, result.out)
        line = line_of(text, f'rule: "{rule}"')
        assert f"policy.yaml:{line}:11: {rule.upper()} cannot be waived" in result.err


def test_the_schema_star_waiver_no_longer_lets_a_broken_record_pass(
    repo: Repo, cli: InvokeCli
) -> None:
    repo.write(INC, BROKEN)
    set_policy(repo, "waivers: []", waiver("SCHEMA", "*"))
    status, out, err = audit(cli, repo)
    assert status == 2 and "SCHEMA cannot be waived" in err and out == ""


def test_an_expired_waiver_cannot_be_hidden_by_another_waiver(repo: Repo, cli: InvokeCli) -> None:
    repo.write(INC, VAGUE)
    text = set_policy(
        repo,
        "waivers: []",
        waiver("INC-STATEMENT", "INC-2026-0001", "2026-01-31")
        + waiver("WAIVER-EXPIRED", "policy.yaml").replace("waivers:\n", ""),
    )
    status, _, err = audit(cli, repo)
    assert status == 2
    line = line_of(text, 'rule: "WAIVER-EXPIRED"')
    assert f"policy.yaml:{line}:11: WAIVER-EXPIRED cannot be waived" in err


@pytest.mark.parametrize(
    "record", ["*", "**", "?*", "[A-Z]*", "INC-*", "INC-2*", "records/*", "records/incidents/*"]
)
def test_a_waiver_matching_every_record_is_refused(repo: Repo, cli: InvokeCli, record: str) -> None:
    repo.write(INC, VAGUE)
    text = set_policy(repo, "waivers: []", waiver("INC-STATEMENT", record))
    status, _, err = audit(cli, repo)
    assert status == 2, err
    line = line_of(text, f'record: "{record}"')
    assert f"policy.yaml:{line}:13: waiver record {record!r} would waive INC-STATEMENT" in err


@pytest.mark.parametrize(
    "record",
    ["INC-2026-0001", "INC-2026-*", "INC-2026-000?", "records/incidents/INC-2026-0001.yaml",
     "records/incidents/2026/*", "records/incidents/INC-2026-*"],
)  # fmt: skip
def test_specific_waivers_still_waive(repo: Repo, cli: InvokeCli, record: str) -> None:
    text = VAGUE
    path = "records/incidents/2026/INC-2026-0001.yaml" if "2026/" in record else INC
    repo.write(path, text)
    set_policy(repo, "waivers: []", waiver("INC-STATEMENT", record))
    status, out, err = audit(cli, repo, "--format", "json", "--select", "INC-STATEMENT")
    assert status == 0, err
    findings = json.loads(out)["findings"]
    assert [(f["rule"], f["waived"]) for f in findings] == [("INC-STATEMENT", True)]


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("INC-*", "waiver rule 'INC-*' is a pattern; a waiver names one rule ID"),
        ("INC", "unknown rule 'INC'"),
        ("INC-STATMENT", "unknown rule 'INC-STATMENT'"),
    ],
)
def test_waiver_rules_must_be_one_known_rule(
    repo: Repo, cli: InvokeCli, rule: str, message: str
) -> None:
    text = set_policy(repo, "waivers: []", waiver(rule, "INC-2026-0001"))
    status, _, err = audit(cli, repo)
    assert status == 2
    line = line_of(text, f'rule: "{rule}"')
    assert f"policy.yaml:{line}:11: {message}" in err


# ------------------------------------------------------------------ severity overrides


@pytest.mark.parametrize("rule", ["SCHEMA", "REF-ID", "WAIVER-EXPIRED"])
def test_integrity_rules_cannot_be_downgraded(repo: Repo, cli: InvokeCli, rule: str) -> None:
    repo.write(INC, BROKEN)
    text = set_policy(repo, "severity: {}", f"severity:\n    {rule}: warning")
    status, _, err = audit(cli, repo, "--fail-on", "error")
    assert status == 2
    line = line_of(text, f"{rule}: warning")
    assert f"policy.yaml:{line}:5: the severity of {rule}" in err


def test_unknown_severity_override_names_its_line(repo: Repo, cli: InvokeCli) -> None:
    text = set_policy(repo, "severity: {}", "severity:\n    INC-ACKK: warning")
    status, _, err = audit(cli, repo)
    assert status == 2
    line = line_of(text, "INC-ACKK")
    assert f"policy.yaml:{line}:5: unknown rule 'INC-ACKK'" in err


def test_other_rules_can_still_be_downgraded(repo: Repo, cli: InvokeCli) -> None:
    repo.write(INC, VAGUE)
    set_policy(repo, "severity: {}", "severity: {INC-STATEMENT: warning}")
    status, out, _ = audit(cli, repo, "--select", "INC-STATEMENT")
    assert status == 0, out
    assert "warning INC-STATEMENT" in out


# ------------------------------------------------------------------ selection


@pytest.mark.parametrize(
    "args",
    [
        ("--select", "INC-ACK", "--ignore", "INC-ACK"),
        ("--select", "INC", "--ignore", "INC-*"),
        ("--select", "GIT-DELETED,INC-PIR", "--ignore", "GIT,INC"),
    ],
)
def test_a_selection_that_leaves_no_rule_is_a_usage_error(
    repo: Repo, cli: InvokeCli, args: tuple[str, ...]
) -> None:
    repo.write(INC, BROKEN)
    status, out, err = audit(cli, repo, *args)
    assert status == 2, out
    assert "no rule left to run" in err and out == ""


@pytest.mark.parametrize("ignored", ["SCHEMA", "REF-ID", "WAIVER-EXPIRED", "REF", "*", "W*"])
def test_policy_cannot_ignore_integrity_rules(repo: Repo, cli: InvokeCli, ignored: str) -> None:
    repo.write(INC, BROKEN)
    text = set_policy(repo, "ignore: []", f'ignore: ["{ignored}"]')
    for command in ("audit", "validate"):
        result = cli(command, "--repo", repo.root)
        assert result.status == 2, result.out
        line = line_of(text, "ignore: [")
        assert f"policy.yaml:{line}:12:" in result.err
        assert "cannot be ignored" in result.err


def test_policy_select_always_keeps_integrity_rules(repo: Repo, cli: InvokeCli) -> None:
    repo.write(INC, BROKEN)
    set_policy(repo, "select: []", "select: [INC-ACK]")
    status, out, _ = audit(cli, repo)
    assert status == 1
    assert "error SCHEMA unexpected property 'bogus'" in out


def test_policy_selection_with_unknown_rule_names_its_line(repo: Repo, cli: InvokeCli) -> None:
    text = set_policy(repo, "select: []", "select: [INC-ACK, NOPE-1]")
    status, _, err = audit(cli, repo)
    assert status == 2
    line = line_of(text, "NOPE-1")
    assert f"policy.yaml:{line}:" in err and "unknown rule 'NOPE-1'" in err


def test_command_line_focus_still_works(repo: Repo, cli: InvokeCli) -> None:
    repo.write(INC, VAGUE + "bogus: 1\n")
    status, out, _ = audit(cli, repo, "--select", "INC-STATEMENT")
    assert status == 1
    assert {line.split()[2] for line in finding_lines(out)} == {"INC-STATEMENT"}


@pytest.mark.parametrize("ignored", ["SCHEMA", "ref-id", "WAIVER-EXPIRED", "REF", "*", "S*"])
def test_the_command_line_cannot_ignore_integrity_rules(
    repo: Repo, cli: InvokeCli, ignored: str
) -> None:
    repo.write(INC, BROKEN)
    status, out, err = audit(cli, repo, "--ignore", ignored)
    assert status == 2 and out == ""
    assert "cannot be ignored" in err


def test_ignoring_other_rules_still_works(repo: Repo, cli: InvokeCli) -> None:
    repo.write(INC, BROKEN)
    status, out, _ = audit(cli, repo, "--ignore", "GIT,INC,RB,REF-LINK")
    assert status == 1
    assert {line.split()[2] for line in finding_lines(out)} == {"SCHEMA"}
