"""``opsledger init`` and ``opsledger new``: end to end in real git repositories."""

from __future__ import annotations

import filecmp
import re
from pathlib import Path

import pytest
import yaml

from conftest import PROJECT, InvokeCli, finding_lines, git, git_init

NOW = "2026-03-02T10:00:00Z"


ACTION_REF = "acme/opsledger@v0.1.0"


def init_repo(cli: InvokeCli, tmp_path: Path) -> Path:
    root = tmp_path / "governance"
    result = cli("init", root, "--action-ref", ACTION_REF)
    assert result.status == 0, result.err
    git_init(root)
    git(root, "config", "user.email", "sam.okafor@example.com")
    return root


def test_init_scaffolds_a_valid_repository(cli: InvokeCli, tmp_path: Path) -> None:
    root = init_repo(cli, tmp_path)
    for rel in (
        "policy.yaml",
        "schemas/incident.schema.json",
        "records/services.yaml",
        "records/incidents/.gitkeep",
        "records/changes/.gitkeep",
        "records/pirs/.gitkeep",
        "runbooks/.gitkeep",
        "mkdocs.yml",
        "site/index.md",
        ".github/workflows/governance.yml",
        ".github/CODEOWNERS",
        ".pre-commit-config.yaml",
    ):
        assert (root / rel).is_file(), rel
    assert cli("validate", "--repo", root).status == 0
    assert cli("audit", "--repo", root, "--as-of", NOW).status == 0


def test_init_refuses_a_non_empty_folder(cli: InvokeCli, tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    result = cli("init", tmp_path)
    assert result.status == 2
    assert "not an empty folder" in result.err
    assert (tmp_path / "keep.txt").read_text() == "mine"


def test_codeowners_protect_the_rules_of_the_game(cli: InvokeCli, tmp_path: Path) -> None:
    root = init_repo(cli, tmp_path)
    owned = {
        line.split()[0]
        for line in (root / ".github/CODEOWNERS").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {"/policy.yaml", "/schemas/", "/mkdocs.yml", "/.github/workflows/"} <= owned


def test_gitlab_reads_its_code_owners_where_gitlab_looks(cli: InvokeCli, tmp_path: Path) -> None:
    """GitLab reads CODEOWNERS from the root, docs/ or .gitlab/, never .github/: the
    GitLab configuration's code owners protect its CI file and the rules of the game."""
    root = tmp_path / "gl"
    assert cli("init", root, "--ci", "gitlab").status == 0
    assert not (root / ".github").exists()
    owned = {
        line.split()[0]
        for line in (root / ".gitlab/CODEOWNERS").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {"/policy.yaml", "/schemas/", "/.gitlab-ci.yml", "/.gitlab/"} <= owned


def test_workflow_gates_pull_requests_and_publishes_the_site(
    cli: InvokeCli, tmp_path: Path
) -> None:
    root = init_repo(cli, tmp_path)
    workflow = yaml.safe_load((root / ".github/workflows/governance.yml").read_text())
    assert set(workflow[True]) == {"pull_request", "push"}  # PyYAML reads 'on' as True
    assert workflow[True]["push"]["branches"] == ["main"]
    audit = workflow["jobs"]["audit"]
    assert "if" not in audit  # pull requests and pushes to main: code scanning's baseline
    steps = audit["steps"]
    assert steps[0]["with"]["fetch-depth"] == 0
    gate = next(step for step in steps if step.get("id") == "gate")
    assert gate["uses"] == ACTION_REF  # opsledger's own Action, not a package index
    assert gate["with"] == {"command": "audit", "sarif-file": "opsledger.sarif"}
    upload = next(step for step in steps if "upload-sarif" in step.get("uses", ""))
    assert upload["with"]["sarif_file"] == "${{ steps.gate.outputs.sarif-file }}"
    assert "always()" in upload["if"]
    for job in workflow["jobs"].values():
        assert 0 < job["timeout-minutes"] <= 30
        assert not any("run" in step for step in job["steps"])  # no shell line at all
    site = workflow["jobs"]["site"]
    assert site["if"] == "github.event_name == 'push' && github.ref == 'refs/heads/main'"
    assert any("deploy-pages" in step.get("uses", "") for step in site["steps"])
    assert any(step.get("with") == {"command": "site"} for step in site["steps"])


def test_third_party_actions_are_pinned_by_version_with_a_comment(
    cli: InvokeCli, tmp_path: Path
) -> None:
    root = init_repo(cli, tmp_path)
    for path in (root / ".github/workflows/governance.yml", PROJECT / "action.yml"):
        uses = [
            line.split("uses:", 1)[1].strip()
            for line in path.read_text().splitlines()
            if "uses:" in line and not line.lstrip().startswith("#")
        ]
        third_party = [u for u in uses if not u.startswith((ACTION_REF, "./"))]
        assert third_party, path
        for entry in third_party:
            ref, _, comment = entry.partition("#")
            version = ref.strip().rsplit("@", 1)[1]
            assert re.fullmatch(r"v[0-9]+\.[0-9]+\.[0-9]+", version), entry
            assert comment.strip() == version, entry


def test_the_placeholder_is_reported_until_replaced(cli: InvokeCli, tmp_path: Path) -> None:
    root = tmp_path / "governance"
    result = cli("init", root, "--ci", "github", "--ci", "gitlab")
    assert result.status == 0
    assert "placeholder OWNER/REPO@REF" in result.err
    git_init(root)
    status = cli("audit", "--repo", root, "--as-of", NOW)
    assert status.status == 1
    places = [line.split(": error ")[0] for line in finding_lines(status.out)]
    workflow = (root / ".github/workflows/governance.yml").read_text().splitlines()
    uses = [n for n, text in enumerate(workflow, 1) if "uses: OWNER/REPO@REF" in text]
    assert len(uses) == 2
    assert places == [
        *(f".github/workflows/governance.yml:{n}:15" for n in uses),
        ".gitlab-ci.yml:11:38",
        ".pre-commit-config.yaml:6:30",
    ]
    assert all(" REF-LINK " in line for line in finding_lines(status.out))
    # replaced by hand, as the README says: the gate passes
    for rel in (".github/workflows/governance.yml", ".gitlab-ci.yml", ".pre-commit-config.yaml"):
        path = root / rel
        path.write_text(path.read_text().replace("OWNER/REPO", "acme/opsledger"))
    assert cli("audit", "--repo", root, "--as-of", NOW).status == 0


@pytest.mark.parametrize(
    "ref",
    [
        "acme",
        "acme/opsledger",
        "acme/opsledger@",
        "acme opsledger@v1",
        "-x/y@v1",
        "acme/../x@v1",
        "acme/opsledger@v1;rm -rf /",
        "https://github.com/acme/opsledger@v1",
    ],
)
def test_an_unknown_action_ref_format_is_a_usage_error(
    cli: InvokeCli, tmp_path: Path, ref: str
) -> None:
    result = cli("init", tmp_path / "governance", "--action-ref", ref)
    assert result.status == 2
    assert "expected OWNER/REPO@REF" in result.err
    assert len(result.err.strip().splitlines()) == 1
    assert not (tmp_path / "governance").exists()


def test_pre_commit_config_installs_opsledger_from_its_repository(
    cli: InvokeCli, tmp_path: Path
) -> None:
    root = init_repo(cli, tmp_path)
    config = yaml.safe_load((root / ".pre-commit-config.yaml").read_text())
    (repo,) = config["repos"]
    assert repo["repo"] == "https://github.com/acme/opsledger"
    assert repo["rev"] == "v0.1.0"
    assert [h["id"] for h in repo["hooks"]] == ["opsledger-validate", "opsledger-audit"]
    hooks = yaml.safe_load((PROJECT / ".pre-commit-hooks.yaml").read_text())
    for hook in hooks:
        assert hook["language"] == "python"  # pre-commit installs this repository
        files = re.compile(hook["files"])
        for covered in (
            "policy.yaml",
            "records/services.yaml",
            "records/pirs/PIR-2026-0001.md",
            "records/incidents/2026/INC-2026-0001.yaml",
            "runbooks/RB-0001-x.md",
        ):
            assert files.search(covered), (hook["id"], covered)
        assert not files.search("README.md") and not files.search("site/index.md")


def test_gitlab_ci_reports_code_quality_and_junit(cli: InvokeCli, tmp_path: Path) -> None:
    root = tmp_path / "governance"
    assert cli("init", root, "--ci", "gitlab", "--action-ref", ACTION_REF).status == 0
    assert not (root / ".github/workflows").exists()
    config = yaml.safe_load((root / ".gitlab-ci.yml").read_text())
    assert config["variables"]["GIT_DEPTH"] == "0"
    assert config["variables"]["OPSLEDGER"] == "git+https://github.com/acme/opsledger@v0.1.0"
    job = config["opsledger-audit"]
    assert job["artifacts"]["reports"] == {
        "codequality": "gl-code-quality-report.json",
        "junit": "opsledger-junit.xml",
    }
    assert job["artifacts"]["when"] == "always"
    script = "\n".join(job["script"])
    assert "--format codeclimate" in script and "--format junit" in script
    assert config["pages"]["rules"] == [{"if": "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH"}]


def test_init_ships_the_projects_own_schemas_and_site_config(
    cli: InvokeCli, tmp_path: Path
) -> None:
    root = init_repo(cli, tmp_path)
    names = sorted(p.name for p in (PROJECT / "schemas").glob("*.json"))
    _, mismatch, errors = filecmp.cmpfiles(
        PROJECT / "schemas", root / "schemas", names, shallow=False
    )
    assert mismatch == errors == []
    assert (root / "mkdocs.yml").read_text() == (PROJECT / "mkdocs.yml").read_text()


def test_init_new_audit_end_to_end(cli: InvokeCli, tmp_path: Path) -> None:
    root = init_repo(cli, tmp_path)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "scaffold")
    created = {}
    for kind in ("incident", "change", "runbook"):
        result = cli("new", kind, "--repo", root, "--title", f"First {kind}", "--as-of", NOW)
        assert result.status == 0, result.err
        created[kind] = result.out.strip()
    result = cli("new", "pir", "--repo", root, "--incident", "INC-2026-0001", "--as-of", NOW)
    created["pir"] = result.out.strip()
    assert created == {
        "incident": "records/incidents/2026/INC-2026-0001.yaml",
        "change": "records/changes/2026/CHG-2026-0001.yaml",
        "runbook": "runbooks/RB-0001-first-runbook.md",
        "pir": "records/pirs/PIR-2026-0001.md",
    }
    assert (
        (root / created["incident"])
        .read_text()
        .startswith("# yaml-language-server: $schema=../../../schemas/incident.schema.json\n")
    )
    assert (
        (root / created["pir"])
        .read_text()
        .startswith("---\n# yaml-language-server: $schema=../../schemas/pir.schema.json\n")
    )
    # templates are schema-valid ...
    assert cli("validate", "--repo", root).status == 0
    # ... and fail the audit only on what the author must still write
    result = cli("audit", "--repo", root, "--as-of", "2026-03-02T10:30:00Z")
    assert result.status == 1
    messages = finding_lines(result.out)
    assert all(
        "'choose-a-service'" in m
        or "('TBD')" in m
        or "PIR has no actions" in m
        or "without testing evidence" in m
        for m in messages
    ), messages

    # the author fills them in; the gate passes
    incident = root / created["incident"]
    incident.write_text(
        incident.read_text()
        .replace("service: choose-a-service", "service: example-service")
        .replace("impact: TBD", "impact: Staff could not open the wiki for 20 minutes.")
    )
    result = cli("audit", "--repo", root, incident, "--as-of", "2026-03-02T10:30:00Z")
    assert result.status == 0, result.out


def test_pir_prefilled_from_its_incident(cli: InvokeCli, tmp_path: Path) -> None:
    root = init_repo(cli, tmp_path)
    cli("new", "incident", "--repo", root, "--title", "Wiki down", "--as-of", NOW)
    path = (
        root
        / cli(
            "new", "pir", "--repo", root, "--incident", "INC-2026-0001", "--as-of", NOW
        ).out.strip()
    )
    text = path.read_text()
    assert "incident: INC-2026-0001" in text
    assert "authors: [sam.okafor@example.com]" in text
    assert "## Timeline\n\n- 2026-03-02T10:00:00Z Detected." in text
    assert "Wiki down (INC-2026-0001, P3, service choose-a-service)" in text


def test_pir_for_unknown_incident(cli: InvokeCli, tmp_path: Path) -> None:
    root = init_repo(cli, tmp_path)
    result = cli("new", "pir", "--repo", root, "--incident", "INC-2026-0404")
    assert result.status == 2
    assert "no such incident" in result.err


def test_ids_are_never_reused_even_after_deletion(cli: InvokeCli, tmp_path: Path) -> None:
    root = init_repo(cli, tmp_path)
    for _ in range(2):
        cli("new", "incident", "--repo", root, "--as-of", NOW)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "two incidents")
    git(root, "rm", "-q", "records/incidents/2026/INC-2026-0002.yaml")
    git(root, "commit", "-q", "-m", "delete the second")
    result = cli("new", "incident", "--repo", root, "--as-of", NOW)
    assert result.out.strip() == "records/incidents/2026/INC-2026-0003.yaml"
    # a new year starts again at 0001
    result = cli("new", "incident", "--repo", root, "--as-of", "2027-01-04T09:00:00Z")
    assert result.out.strip() == "records/incidents/2027/INC-2027-0001.yaml"


def test_new_where_a_file_stands_for_the_year_folder(cli: InvokeCli, tmp_path: Path) -> None:
    root = init_repo(cli, tmp_path)
    (root / "records/changes/2026").write_text("not a folder\n")
    result = cli("new", "change", "--repo", root, "--as-of", NOW, "--no-history")
    assert result.status == 2
    assert result.err.strip().splitlines() == [
        f"opsledger: error: {root / 'records/changes/2026'} is not a folder; nothing can be "
        "written into it (move the file away, then run again)"
    ]
    assert (root / "records/changes/2026").read_text() == "not a folder\n"


def test_new_outside_git_still_works(cli: InvokeCli, tmp_path: Path) -> None:
    root = tmp_path / "plain"
    cli("init", root)
    refused = cli("new", "change", "--repo", root, "--as-of", NOW)
    assert refused.status == 4 and "--no-history" in refused.err  # IDs in history unknown
    result = cli("new", "change", "--repo", root, "--as-of", NOW, "--no-history")
    assert result.status == 0
    assert "requested_by: you@example.com" in (root / result.out.strip()).read_text()


@pytest.mark.parametrize(
    ("title", "named"),
    [
        ("x\x1b[31mred", "U+001B ESCAPE"),
        ("two\n::error::lines", "U+000A LINE FEED"),
        ("abc\u202edef", "U+202E RIGHT-TO-LEFT OVERRIDE"),
        ("one\u2028two", "U+2028 LINE SEPARATOR"),
    ],
)
def test_a_title_the_record_would_refuse_is_a_usage_error(
    cli: InvokeCli, tmp_path: Path, title: str, named: str
) -> None:
    """``new`` never writes a record its own validation refuses: a control, line break
    or bidirectional character in --title is exit 2, one line, nothing written."""
    root = tmp_path / "gov"
    cli("init", root)
    for kind in ("incident", "change"):
        result = cli("new", kind, "--repo", root, "--as-of", NOW, "--no-history", "--title", title)
        assert result.status == 2 and named in result.err
        assert len(result.err.strip().splitlines()) == 1 and "\x1b" not in result.err
    assert not list((root / "records").rglob("*-2026-*"))
    ok = cli("new", "incident", "--repo", root, "--as-of", NOW, "--no-history", "--title", "Fine")
    assert ok.status == 0


HOSTILE_TITLE = "Queue delay [Reset your SSO password](https://evil.example/phish) <b>x</b>"
HOSTILE_IMPACT = (
    "Staff could not load reports.\n## Root cause\nNothing to see, approved by CAB.\n"
    "    indented code\n| a | b |\n|---|---|\n<https://evil.example/auto>\n```\n"
)


def _hostile_incident(cli: InvokeCli, tmp_path: Path, number: int = 1) -> Path:
    root = tmp_path / "governance"
    if not root.exists():
        root = init_repo(cli, tmp_path)
    created = cli("new", "incident", "--repo", root, "--title", "Wiki down", "--as-of", NOW)
    path = root / created.out.strip()
    data = yaml.safe_load(path.read_text())
    data.update(title=HOSTILE_TITLE, impact=HOSTILE_IMPACT)
    data["timeline"] = [{"at": "2026-03-02T10:05:00Z", "event": "[click](javascript:x) # ```"}]
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return root


def _body_html(path: Path) -> str:
    import markdown

    body = path.read_text().split("\n---\n", 1)[1]
    return markdown.markdown(body, extensions=["tables", "attr_list", "md_in_html"])


def test_a_pir_prefilled_from_a_hostile_incident_renders_as_its_text(
    cli: InvokeCli, tmp_path: Path
) -> None:
    """The incident's title, impact and timeline are copied into the new PIR's body as text:
    no link, heading, table, code block or HTML of the incident's making, and every section
    the template writes stays a section (an unclosed fence in the impact once swallowed
    them, and an injected '## Root cause' stood for the real one)."""
    root = _hostile_incident(cli, tmp_path)
    made = cli("new", "pir", "--repo", root, "--incident", "INC-2026-0001", "--as-of", NOW)
    assert made.status == 0, made.err
    html = _body_html(root / made.out.strip())
    for injected in ("<a ", "<b>", "<table", "<pre", "<code", "<h1", "<h3"):
        assert injected not in html, (injected, html)
    sections = re.findall(r"<h2>(.*?)</h2>", html)
    assert sections[:3] == ["Summary", "Impact", "Timeline"]
    assert sections.count("Root cause") == 1  # the template's own, not the impact's
    assert sections[-1] == "Lessons learned"  # nothing swallowed the last ones
    assert "Reset your SSO password" in html and "Nothing to see, approved by CAB." in html


def test_a_problem_prefilled_from_hostile_incidents_renders_as_their_text(
    cli: InvokeCli, tmp_path: Path
) -> None:
    root = _hostile_incident(cli, tmp_path)
    _hostile_incident(cli, tmp_path)
    second = root / "records/incidents/2026/INC-2026-0002.yaml"
    data = yaml.safe_load(second.read_text())
    data["service"] = "x], owner: [evil"  # the schema refuses it; the record still loads
    second.write_text(yaml.safe_dump(data, sort_keys=False))
    made = cli(
        "new", "problem", "--repo", root, "--no-history", "--as-of", NOW,
        "--incident", "INC-2026-0001", "--incident", "INC-2026-0002",
    )  # fmt: skip
    assert made.status == 0, made.err
    html = _body_html(root / made.out.strip())
    for injected in ("<a ", "<b>", "<table", "<pre", "<code"):
        assert injected not in html, (injected, html)
    assert html.count("Reset your SSO password") == 2
    front = yaml.safe_load((root / made.out.strip()).read_text().split("\n---\n", 1)[0])
    assert front["owner"] == "sam.okafor@example.com"
    assert "x], owner: [evil" in front["services"]


def test_a_pir_for_an_incident_whose_id_no_schema_takes(cli: InvokeCli, tmp_path: Path) -> None:
    """An incident whose ``id`` holds 5,000 digits (refused by its schema, still loaded):
    its PIR takes the next free number, never an internal error (int() refuses 4,300
    digits)."""
    root = init_repo(cli, tmp_path)
    made = cli("new", "incident", "--repo", root, "--title", "Wiki down", "--as-of", NOW)
    path = root / made.out.strip()
    long_id = "INC-2026-" + "9" * 5000
    path.write_text(path.read_text().replace("id: INC-2026-0001", f"id: {long_id}"))
    result = cli("new", "pir", "--repo", root, "--incident", long_id, "--as-of", NOW)
    assert result.status == 0, result.err
    assert result.out.strip() == "records/pirs/PIR-2026-0001.md"


def test_a_title_longer_than_the_schema_takes_is_a_usage_error(
    cli: InvokeCli, tmp_path: Path
) -> None:
    root = init_repo(cli, tmp_path)
    result = cli("new", "incident", "--repo", root, "--title", "x" * 3000, "--as-of", NOW)
    assert result.status == 2 and "--title has 3000 characters" in result.err
    assert not list((root / "records/incidents").rglob("*.yaml"))
    fits = cli("new", "incident", "--repo", root, "--title", "x" * 200, "--as-of", NOW)
    assert fits.status == 0, fits.err
    assert cli("validate", "--repo", root).status == 0


@pytest.mark.parametrize("key", ["2026", "true", "null", "1.5", "no", "on"])
def test_a_problem_names_services_whose_keys_yaml_would_type_as_strings(
    cli: InvokeCli, tmp_path: Path, key: str
) -> None:
    """A service key a plain YAML scalar would read as a number, a boolean or null is
    written quoted: the new problem names the service, and validates."""
    root = init_repo(cli, tmp_path)
    catalog = root / "records/services.yaml"
    data = yaml.safe_load(catalog.read_text())
    data[0]["id"] = key
    catalog.write_text(yaml.safe_dump(data, sort_keys=False))
    for _ in range(2):
        made = cli("new", "incident", "--repo", root, "--title", "Wiki down", "--as-of", NOW)
        path = root / made.out.strip()
        path.write_text(path.read_text().replace("service: choose-a-service", f"service: '{key}'"))
    made = cli(
        "new", "problem", "--repo", root, "--no-history", "--as-of", NOW,
        "--incident", "INC-2026-0001", "--incident", "INC-2026-0002",
    )  # fmt: skip
    assert made.status == 0, made.err
    front = yaml.safe_load((root / made.out.strip()).read_text().split("\n---\n", 1)[0])
    assert front["services"] == [key]
