"""Repository content never runs code, reaches the network or reads outside the repository.

``mkdocs.yml`` (and what it INHERITs) is checked with a composing YAML loader before MkDocs'
unsafe loader sees it; ``hooks:`` are refused; the site's folders stay in the repository;
record, schema and site folders reached through a symbolic link are refused like linked
files; a schema reference outside ``schemas/`` is a configuration error, never a request
or a file read; ``opsledger init`` protects the site and never builds it from pull requests.
"""

from __future__ import annotations

import http.server
import json
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import jsonschema_rs
import pytest
import yaml

from opsledger.schema_refs import refuse_retrieval

from conftest import ACKED, AS_OF, PROJECT, InvokeCli, Repo, git, git_init, without_history


@pytest.fixture
def cli(cli: InvokeCli) -> InvokeCli:
    """These repositories are not in git (see :func:`conftest.without_history`)."""
    return without_history(cli)


def site_files(repo: Repo, extra: str = "") -> Path:
    text = (PROJECT / "tooling/opsledger/defaults/init/mkdocs.yml").read_text(encoding="utf-8")
    repo.write("mkdocs.yml", text + extra, dedent=False)
    repo.write("site/index.md", "# Our ledger\n")
    return repo.root / "mkdocs.yml"


def build(cli: InvokeCli, repo: Repo, out: Path):  # type: ignore[no-untyped-def]
    # not in git: built with --no-history (the configuration is checked before history)
    return cli(
        "site", "build", "--repo", repo.root, "--output", out, "--as-of", AS_OF, "--no-history"
    )


# --- mkdocs.yml ------------------------------------------------------------------------------

RUNS = [
    '!!python/object/apply:os.system ["touch {flag}"]',
    '!!python/object/new:os.system ["touch {flag}"]',
    "!!python/object/apply:subprocess.call [[touch, {flag}]]",
    '!<tag:yaml.org,2002:python/object/apply:os.system> ["touch {flag}"]',
    "!!python/module:os",
    "!!python/name:os.system",
    "!!python/name:materialx.system",
    "!!python/object:os.PathLike {{}}",
    "!custom/tag x",
]


@pytest.mark.parametrize("value", RUNS)
def test_code_running_yaml_tags_are_refused_before_mkdocs_reads_them(
    repo: Repo, cli: InvokeCli, tmp_path: Path, value: str
) -> None:
    flag = tmp_path / "pwned"
    config = site_files(repo, f"extra:\n  x: {value.format(flag=flag)}\n")
    line = config.read_text(encoding="utf-8").splitlines().index("extra:") + 2
    result = build(cli, repo, tmp_path / "o")
    assert result.status == 2, result.err
    assert f"mkdocs.yml:{line}:6: " in result.err and "refuses it" in result.err
    assert not flag.exists()
    assert not (tmp_path / "o").exists()


def test_a_tag_directive_cannot_hide_the_python_tags(
    repo: Repo, cli: InvokeCli, tmp_path: Path
) -> None:
    flag = tmp_path / "pwned"
    text = (PROJECT / "tooling/opsledger/defaults/init/mkdocs.yml").read_text(encoding="utf-8")
    repo.write(
        "mkdocs.yml",
        f"%TAG !p! tag:yaml.org,2002:python/\n---\n{text}extra:\n"
        f'  x: !p!object/apply:os.system ["touch {flag}"]\n',
        dedent=False,
    )
    repo.write("site/index.md", "# Our ledger\n")
    result = build(cli, repo, tmp_path / "o")
    assert result.status == 2 and "python/object/apply:os.system" in result.err
    assert not flag.exists()


def test_hooks_are_refused(repo: Repo, cli: InvokeCli, tmp_path: Path) -> None:
    flag = tmp_path / "pwned"
    repo.write("site/hook.py", f"open({str(flag)!r}, 'w').write('ran')\n")
    config = site_files(repo, "hooks:\n  - site/hook.py\n")
    line = config.read_text(encoding="utf-8").splitlines().index("hooks:") + 1
    result = build(cli, repo, tmp_path / "o")
    assert result.status == 2
    assert f"mkdocs.yml:{line}:1: hooks:" in result.err
    assert not flag.exists()


def test_inherited_files_are_checked_too(repo: Repo, cli: InvokeCli, tmp_path: Path) -> None:
    flag = tmp_path / "pwned"
    repo.write(
        "config/base.yml", f'extra:\n  x: !!python/object/apply:os.system ["touch {flag}"]\n'
    )
    site_files(repo, "INHERIT: config/base.yml\n")
    result = build(cli, repo, tmp_path / "o")
    assert result.status == 2 and "config/base.yml:2:6:" in result.err
    assert not flag.exists()
    outside = tmp_path / "outside.yml"
    outside.write_text("site_name: elsewhere\n", encoding="utf-8")
    site_files(repo, f"INHERIT: {outside}\n")
    result = build(cli, repo, tmp_path / "o")
    assert result.status == 2 and "outside the repository" in result.err
    repo.write("config/base.yml", "INHERIT: ../mkdocs.yml\n")
    site_files(repo, "INHERIT: config/base.yml\n")
    result = build(cli, repo, tmp_path / "o")
    assert result.status == 2 and "INHERIT loops" in result.err


@pytest.mark.parametrize(
    ("first", "said"),
    [
        ("INHERIT: !ENV [NOPE, site/evil.yml]\n", "INHERIT names its file through a tag"),
        ("<<: {INHERIT: site/evil.yml}\n", "a YAML merge key (<<)"),
        ("<<: {hooks: [site/evil_hook.py]}\n", "a YAML merge key (<<)"),
        ("? !ENV [NOPE, INHERIT]\n: site/evil.yml\n", "a mapping key that is not plain text"),
        ("? [INHERIT]\n: site/evil.yml\n", "a mapping key that is not plain text"),
    ],
    ids=["inherit-through-env", "inherit-in-merge", "hooks-in-merge", "env-key", "list-key"],
)
def test_a_key_or_inherit_the_check_cannot_read_is_refused(
    repo: Repo, cli: InvokeCli, tmp_path: Path, first: str, said: str
) -> None:
    """Found by an attack: INHERIT given through !ENV, INHERIT or hooks: inside a YAML merge
    key, or a key that MkDocs constructs into INHERIT, reached a file with
    !!python/object/apply (or a hook) that the check never read: the code ran and the site
    built (exit 0). Each is refused before MkDocs reads the file."""
    flag = tmp_path / "pwned"
    repo.write("site/evil.yml", f'site_author: !!python/object/apply:os.system ["touch {flag}"]\n')
    repo.write("site/evil_hook.py", f"open({str(flag)!r}, 'w').write('ran')\n")
    config = site_files(repo)
    config.write_text(first + config.read_text(encoding="utf-8"), encoding="utf-8")
    result = build(cli, repo, tmp_path / "o")
    assert result.status == 2, result.err
    assert "mkdocs.yml:1:" in result.err and said in result.err, result.err
    assert not flag.exists()


@pytest.mark.parametrize("document", ["!ENV [NOPE, {INHERIT: site/evil.yml}]", "[1, 2]"])
def test_a_configuration_that_is_not_a_plain_mapping_is_refused(
    repo: Repo, cli: InvokeCli, tmp_path: Path, document: str
) -> None:
    """Found in the last read of the fix above: a tagged document
    (``!ENV [NOPE, {INHERIT: site/evil.yml}]``) becomes a mapping with INHERIT only when
    MkDocs constructs it; the inherited file's code ran (the build then failed)."""
    flag = tmp_path / "pwned"
    repo.write("site/evil.yml", f'site_author: !!python/object/apply:os.system ["touch {flag}"]\n')
    site_files(repo)
    (repo.root / "mkdocs.yml").write_text(document + "\n", encoding="utf-8")
    result = build(cli, repo, tmp_path / "o")
    assert result.status == 2, result.err
    assert "mkdocs.yml:1:1: a MkDocs configuration is a plain mapping" in result.err
    assert not flag.exists()


@pytest.mark.parametrize("where", ["/etc", "..", "../records"])
def test_the_plugins_overrides_stay_in_the_docs_folder(
    repo: Repo, cli: InvokeCli, tmp_path: Path, where: str
) -> None:
    """Found by an attack: the opsledger plugin's ``overrides`` option was joined to the
    docs folder unchecked: an absolute path or '..' published the machine's files (or the
    raw repository) with the site, and '/' walked the whole disk."""
    config = site_files(repo)
    text = config.read_text(encoding="utf-8")
    assert "  - opsledger\n" in text
    config.write_text(text.replace("  - opsledger\n", f"  - opsledger: {{overrides: {where}}}\n"))
    result = build(cli, repo, tmp_path / "o")
    assert result.status == 2, result.err
    assert "the opsledger overrides" in result.err and "is outside" in result.err
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").rglob("policy.yaml"))


def test_allowed_tags_build(repo: Repo, cli: InvokeCli, tmp_path: Path) -> None:
    """The Markdown extension objects Material's documentation uses, and MkDocs' !ENV."""
    site_files(
        repo,
        "extra:\n  owner: !ENV [OPSLEDGER_TEST_UNSET, governance team]\n"
        "  pair: !!python/tuple [a, b]\n",
    )
    config = repo.root / "mkdocs.yml"
    config.write_text(
        config.read_text(encoding="utf-8").replace(
            "markdown_extensions:\n",
            "markdown_extensions:\n"
            "  - pymdownx.emoji:\n"
            "      emoji_index: !!python/name:material.extensions.emoji.twemoji\n"
            "      emoji_generator: !!python/name:material.extensions.emoji.to_svg\n"
            "  - pymdownx.superfences:\n"
            "      custom_fences:\n"
            "        - name: mermaid\n"
            "          class: mermaid\n"
            "          format: !!python/name:pymdownx.superfences.fence_code_format\n",
        ),
        encoding="utf-8",
    )
    repo.write("records/incidents/INC-2026-0001.yaml", ACKED)
    result = build(cli, repo, tmp_path / "o")
    assert result.status == 0, result.err
    assert (tmp_path / "o/incidents/INC-2026-0001.html").is_file()


def test_site_folders_stay_in_the_repository(repo: Repo, cli: InvokeCli, tmp_path: Path) -> None:
    elsewhere = tmp_path / "home"
    elsewhere.mkdir()
    (elsewhere / "secret.md").write_text("TOKEN=hunter2\n", encoding="utf-8")
    config = site_files(repo)
    config.write_text(
        config.read_text(encoding="utf-8").replace("docs_dir: site", f"docs_dir: {elsewhere}"),
        encoding="utf-8",
    )
    result = build(cli, repo, tmp_path / "o")
    assert result.status == 2 and "outside" in result.err
    published = [p.read_text(errors="replace") for p in (tmp_path / "o").rglob("*.html")]
    assert not any("hunter2" in text for text in published)


# --- folders reached through a symbolic link -----------------------------------------------


@pytest.mark.parametrize("folder", ["records", "records/incidents", "runbooks"])
def test_linked_record_folders_are_refused_unread(
    repo: Repo, cli: InvokeCli, tmp_path: Path, folder: str
) -> None:
    target = tmp_path / "elsewhere"
    shutil.copytree(repo.root / folder, target)
    secret = "title: TOKEN=hunter2\n"
    inside = "incidents/" if folder == "records" else ""
    (target / f"{inside}INC-2026-0001.yaml").write_text(ACKED + secret, encoding="utf-8")
    (target / "RB-0001-x.md").write_text("---\nid: RB-0001\n" + secret + "---\n", "utf-8")
    shutil.rmtree(repo.root / folder)
    (repo.root / folder).symlink_to(target, target_is_directory=True)
    for args in (["validate"], ["audit", "--as-of", AS_OF], ["validate", repo.root / folder]):
        result = cli(*args, "--repo", repo.root)
        assert result.status == 1, result.err
        assert f"{folder}:1:1: error REF-ID is a symbolic link" in result.out
        assert "hunter2" not in result.out + result.err
        assert "INC-2026-0001" not in result.out


def test_writing_through_a_linked_folder_is_refused(
    repo: Repo, cli: InvokeCli, tmp_path: Path
) -> None:
    target = tmp_path / "elsewhere"
    target.mkdir()
    shutil.rmtree(repo.root / "records/incidents")
    (repo.root / "records/incidents").symlink_to(target, target_is_directory=True)
    git_init(repo.root)
    git(repo.root, "add", "-A")
    git(repo.root, "commit", "-q", "-m", "init")
    result = cli("new", "incident", "--repo", repo.root, "--title", "x")
    assert result.status == 2 and "symbolic link" in result.err
    source = tmp_path / "export.csv"
    source.write_text(
        "number,incident_state,opened_at,priority\nINC0000001,New,1/2/2016 10:00,3 - Moderate\n",
        encoding="utf-8",
    )
    result = cli("import", "servicenow", source, "--repo", repo.root, "--timezone", "UTC")
    assert result.status == 2 and "symbolic link" in result.err
    assert list(target.rglob("*")) == []


def test_linked_services_and_schemas_are_refused(
    repo: Repo, cli: InvokeCli, tmp_path: Path
) -> None:
    moved = tmp_path / "schemas"
    (repo.root / "schemas").rename(moved)
    (repo.root / "schemas").symlink_to(moved, target_is_directory=True)
    result = cli("validate", "--repo", repo.root)
    assert result.status == 2 and "schemas folder may not be a symbolic link" in result.err
    (repo.root / "schemas").unlink()
    moved.rename(repo.root / "schemas")
    records = tmp_path / "records"
    (repo.root / "records").rename(records)
    (records / "services.yaml").write_text("- id: TOKEN=hunter2\n", encoding="utf-8")
    (repo.root / "records").symlink_to(records, target_is_directory=True)
    result = cli("validate", "--repo", repo.root)
    assert "records/services.yaml:1:1: error SCHEMA records is a symbolic link" in result.out
    assert "hunter2" not in result.out


# --- schemas never fetch ----------------------------------------------------------------------


@pytest.fixture
def listener() -> Iterator[tuple[str, list[str]]]:
    """A local HTTP server that records every request made to it."""
    requests: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requests.append(self.path)
            body = b'{"type": "string"}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", requests
    server.shutdown()
    server.server_close()


def with_reference(repo: Repo, key: str, value: str, where: str = "title") -> int:
    path = repo.root / "schemas/incident.schema.json"
    schema = json.loads(path.read_text(encoding="utf-8"))
    schema["properties"][where] = {key: value}
    text = json.dumps(schema, indent=2)
    path.write_text(text, encoding="utf-8")
    return text[: text.index(f'"{key}": {json.dumps(value)}')].count("\n") + 1


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("$ref", "{url}/schema.json"),
        ("$ref", "{url}/schema.json#/x"),
        ("$dynamicRef", "{url}/schema.json#meta"),
        ("$ref", "file:///etc/passwd"),
        ("$ref", "file://{secret}"),
        ("$ref", "../../secret.json"),
        ("$ref", "defs.schema.json#/$defs/nothing-here"),
        ("$ref", "#/$defs/nothing-here"),
    ],
)
def test_schema_references_outside_schemas_are_a_config_error(
    repo: Repo,
    cli: InvokeCli,
    tmp_path: Path,
    listener: tuple[str, list[str]],
    key: str,
    value: str,
) -> None:
    url, requests = listener
    secret = tmp_path / "secret.json"
    secret.write_text('{"type": "string", "const": "hunter2"}', encoding="utf-8")
    reference = value.format(url=url, secret=secret)
    line = with_reference(repo, key, reference)
    repo.write("records/incidents/INC-2026-0001.yaml", ACKED)
    result = cli("validate", "--repo", repo.root)
    assert result.status == 2, result.err
    assert f"schemas/incident.schema.json:{line}: {key} " in result.err
    assert "never fetches or reads" in result.err
    assert requests == []


def test_schema_meta_and_id_cannot_point_elsewhere(
    repo: Repo, cli: InvokeCli, listener: tuple[str, list[str]]
) -> None:
    url, requests = listener
    path = repo.root / "schemas/incident.schema.json"
    schema = json.loads(path.read_text(encoding="utf-8"))
    original = dict(schema)
    for key, value in (("$schema", f"{url}/meta"), ("$id", f"{url}/incident.schema.json")):
        path.write_text(json.dumps({**original, key: value}, indent=2), encoding="utf-8")
        result = cli("validate", "--repo", repo.root)
        assert result.status == 2 and key in result.err, result.err
    assert requests == []


def test_the_fast_engine_never_fetches(listener: tuple[str, list[str]]) -> None:
    url, requests = listener
    schema = {"properties": {"a": {"$ref": f"{url}/x.json"}}}
    with pytest.raises(jsonschema_rs.ValidationError):
        jsonschema_rs.Draft202012Validator(schema, retriever=refuse_retrieval)
    assert requests == []


# --- what opsledger init writes --------------------------------------------------------------


def test_init_protects_the_site_and_never_builds_it_from_pull_requests(
    cli: InvokeCli, tmp_path: Path
) -> None:
    root = tmp_path / "gov"
    assert cli("init", root).status == 0
    owned = {
        line.split()[0]
        for line in (root / ".github/CODEOWNERS").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {"/mkdocs.yml", "/site/", "/.pre-commit-config.yaml", "/schemas/"} <= owned
    workflow = yaml.safe_load((root / ".github/workflows/governance.yml").read_text())
    triggers = workflow[True]  # YAML 1.1 reads the key 'on' as true
    assert "pull_request_target" not in triggers
    site = workflow["jobs"]["site"]
    assert site["if"] == "github.event_name == 'push' && github.ref == 'refs/heads/main'"
    # the site is built by the Action's 'site' command, which runs 'opsledger site build'
    assert any(step.get("with", {}).get("command") == "site" for step in site["steps"])
    action = (PROJECT / "action.yml").read_text()
    assert '"$opsledger" site build' in action
    assert "mkdocs build" not in action  # the unchecked loader
    for name, job in workflow["jobs"].items():
        assert not any("mkdocs" in step.get("run", "") for step in job["steps"])
        if name != "site":
            assert not any(s.get("with", {}).get("command") == "site" for s in job["steps"])


@pytest.mark.parametrize(
    "payload",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ config.theme.get_env().from_string('{{ 7 * 7 }}').render() }}",
        "{{ lipsum.__globals__.os.system('touch FLAG') }}",
        "{{ cycler.__init__.__globals__.os.system('touch FLAG') }}",
    ],
)
def test_theme_overrides_render_in_a_sandbox(
    repo: Repo, cli: InvokeCli, tmp_path: Path, payload: str
) -> None:
    """Jinja in site/overrides/ can use what the theme gives it, not Python itself."""
    flag = tmp_path / "pwned"
    site_files(repo)
    repo.write("site/overrides/partials/copyright.html", payload.replace("FLAG", str(flag)))
    result = build(cli, repo, tmp_path / "o")
    assert result.status == 2, result.err
    assert "site build failed" in result.err and "unsafe" in result.err
    assert not flag.exists()
    assert "49" not in "".join(p.read_text() for p in (tmp_path / "o").rglob("*.html"))


@pytest.mark.parametrize(
    "extra",
    [
        "extra:\n  loop: &a [1, *a]\n",
        "extra:\n  a: &a [x, x, x, x, x, x, x, x, x, x]\n"
        + "".join(
            f"  {chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 10)}]\n"
            for i in range(8)
        ),
    ],
)
def test_alias_bombs_in_mkdocs_yml_are_refused(
    repo: Repo, cli: InvokeCli, tmp_path: Path, extra: str
) -> None:
    site_files(repo, extra)
    result = build(cli, repo, tmp_path / "o")
    assert result.status == 2 and "aliases expand without bound" in result.err
