"""Shared fixtures: real governance repositories in temporary folders and a CLI runner."""

from __future__ import annotations

import shutil
import subprocess
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pytest

from opsledger import gitio
from opsledger.cli import run
from opsledger.loading import yamlstrict

PROJECT = Path(__file__).resolve().parents[2]
PROJECT_SCHEMAS = PROJECT / "schemas"


def project_copy(dest: Path) -> Path:
    """This project's source tree as a checkout holds it (the files git tracks and the new
    ones it does not ignore, as they are in the working tree), copied to ``dest``: what a
    test builds or installs from there writes into its own folder. Building in place shares
    PROJECT/build between tests running at once (setuptools' bdist folder: a parallel
    install failed with "File exists")."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=PROJECT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = PROJECT / name
        if not source.is_file():  # deleted in the working tree and not yet committed
            continue
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    return dest


SERVICES = """\
- id: orders-db
  name: Orders database
  tier: 1
  owner: lena.fischer@example.com
  availability_target: 99.95
  runbooks: [RB-0003]
- id: storefront
  name: Storefront
  tier: 2
  owner: omar.haddad@example.com
  availability_target: 99.9
"""

INCIDENT = """\
id: INC-2026-0001
title: Orders database connection pool exhausted
priority: P3
status: open
service: orders-db
detection: automated
source: monitoring
impact: Checkout requests failed intermittently for about a fifth of customers.
detected_at: 2026-03-04T09:12:00Z
"""


@dataclass
class Repo:
    """A governance repository under a temporary folder."""

    root: Path

    def write(self, rel: str, text: str, *, dedent: bool = True) -> Path:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text) if dedent else text, encoding="utf-8")
        return path

    def write_bytes(self, rel: str, data: bytes) -> Path:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path


def defaults_dir() -> Path:
    return Path(str(resources.files("opsledger") / "defaults"))


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    """A minimal valid repository: default schemas and policy, two services, no records."""
    root = tmp_path / "gov"
    shutil.copytree(defaults_dir() / "schemas", root / "schemas")
    shutil.copy(defaults_dir() / "policy.yaml", root / "policy.yaml")
    for folder in ("records/incidents", "records/changes", "records/pirs", "runbooks"):
        (root / folder).mkdir(parents=True)
    r = Repo(root)
    r.write("records/services.yaml", SERVICES)
    return r


@dataclass
class Result:
    status: int
    out: str
    err: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """Run the real ``opsledger`` entry point in-process and capture what it prints."""

    def invoke(*args: str | Path) -> Result:
        capsys.readouterr()
        status = run([str(a) for a in args])
        captured = capsys.readouterr()
        return Result(status, captured.out, captured.err)

    return invoke


@pytest.fixture(params=sorted(yamlstrict.PARSERS))
def parser(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Run a test once with libyaml's C parser and once with the pure-Python one."""
    monkeypatch.setattr(yamlstrict, "DEFAULT_PARSER", request.param)
    yield request.param


def finding_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


InvokeCli = Callable[..., Result]


AS_OF = "2026-03-31T12:00:00Z"


@dataclass(frozen=True)
class Hit:
    """A finding reduced to what rule tests assert: position, rule, message."""

    path: str
    line: int
    column: int
    rule: str
    severity: str
    message: str


def audit_rule(
    repo: Repo, rule: str, as_of: str = AS_OF, *, record: str | None = None
) -> list[Hit]:
    """Run one rule over ``repo`` and return its findings (optionally for one record)."""
    from opsledger.audit import AuditOptions, run_audit
    from opsledger.model.ledger import load_ledger
    from opsledger.timeutil import parse_timestamp

    ledger = load_ledger(repo.root)
    findings = run_audit(ledger, AuditOptions(as_of=parse_timestamp(as_of), select=(rule,)))
    return [
        Hit(f.path, f.line, f.column, f.rule, f.severity, f.message)
        for f in findings
        if f.rule == rule and (record is None or f.record == record)
    ]


def git(root: Path, *args: str, date: str = "2026-03-01T10:00:00Z", who: str = "") -> str:
    """Run git in ``root`` with fixed author/committer dates (and identity, if given)."""
    import os
    import subprocess

    name, _, email = who.partition("<")
    env = {
        **os.environ,
        "GIT_AUTHOR_DATE": date,
        "GIT_COMMITTER_DATE": date,
        "GIT_AUTHOR_NAME": name.strip() or "Test Author",
        "GIT_AUTHOR_EMAIL": email.rstrip(">") or "author@example.com",
        "GIT_COMMITTER_NAME": name.strip() or "Test Author",
        "GIT_COMMITTER_EMAIL": email.rstrip(">") or "author@example.com",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    proc = subprocess.run(
        ["git", *args], cwd=root, env=env, capture_output=True, text=True, check=True
    )
    return proc.stdout


def git_init(root: Path) -> None:
    git(root, "init", "-q", "-b", "main")


RUNBOOK = """\
---
id: RB-0003
title: Orders database connection pool exhaustion
services: [orders-db]
owner: lena.fischer@example.com
last_reviewed: "2026-03-01"
---
## Symptoms
Checkout latency above 2 s and the orders-db pool gauge above 90% on the orders dashboard.

## Diagnosis
Run `SELECT count(*) FROM pg_stat_activity` and compare with max_connections.

## Mitigation
Restart the pgbouncer pods one at a time; raise default_pool_size to 80 if load persists.

## Escalation
Page database-engineering through the orders-db escalation policy after 15 minutes.

## Verification
Pool usage stays under 60% for 30 minutes and checkout errors return to baseline.
"""

ACKED = INCIDENT + "acknowledged_at: 2026-03-04T09:20:00Z\n"


@pytest.fixture(autouse=True)
def _private_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every test gets its own record cache folder (never the user's ~/.cache)."""
    monkeypatch.setenv("OPSLEDGER_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


#: the commands that read git history (they need --no-history outside git)
HISTORY_COMMANDS = (("audit",), ("kpi",), ("report",), ("brief",), ("site", "build"))


def without_history(cli: InvokeCli) -> InvokeCli:
    """The CLI for repositories outside git: the commands that read history run with
    --no-history (without it they stop with exit 4, tested in test_history_decision)."""

    def invoke(*args: str | Path) -> Result:
        words = tuple(str(a) for a in args[:2])
        reads = any(words[: len(c)] == c for c in HISTORY_COMMANDS)
        if reads and "--no-history" not in args:
            args = (*args, "--no-history")
        return cli(*args)

    return invoke


#: an incident a pull request adds, with a placeholder impact statement (INC-STATEMENT)
PLACEHOLDER_INCIDENT = """\
id: INC-2026-0002
title: Storefront search returns no results
priority: P3
status: open
service: storefront
detection: manual
source: service-desk
impact: TBD
detected_at: 2026-03-05T08:00:00Z
"""


def pull_request(root: Path, *ci: str) -> str:
    """Make a governance repository with ``opsledger init`` (``ci``: its ``--ci`` choices)
    in ``root``: a clean main branch with the catalog and orders-db's runbook, then a branch
    ``add-incident`` whose head adds :data:`PLACEHOLDER_INCIDENT`. Returns the base commit."""
    import subprocess
    import sys

    init = [str(Path(sys.executable).parent / "opsledger"), "init", str(root)]
    init += [arg for name in ci for arg in ("--ci", name)]
    subprocess.run(
        [*init, "--action-ref", "acme/opsledger@v0.1.0"], check=True, capture_output=True
    )
    (root / "records/services.yaml").write_text(SERVICES)
    (root / "runbooks/RB-0003-orders-db-pool.md").write_text(RUNBOOK)
    git_init(root)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "Adopt opsledger")
    base = git(root, "rev-parse", "HEAD").strip()
    git(root, "checkout", "-q", "-b", "add-incident")
    (root / "records/incidents/INC-2026-0002.yaml").write_text(PLACEHOLDER_INCIDENT)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "Record the search outage", date="2026-03-05T09:00:00Z")
    return base


@pytest.fixture
def git_logs(monkeypatch: pytest.MonkeyPatch) -> list[str | None]:
    """The ``exclude`` of every history log read from git from now on (None: the whole
    history), in order: what the history index asked git to walk."""
    logs: list[str | None] = []
    original = gitio.raw_log_chunks

    def spy(
        path: Path, folders: tuple[str, ...], exclude: str | None = None, tip: str = "HEAD"
    ) -> Iterator[str]:
        logs.append(exclude)
        return original(path, folders, exclude, tip=tip)

    monkeypatch.setattr(gitio, "raw_log_chunks", spy)
    return logs


# -- the PR gate with main's cached index (test_gate_snapshot*.py) ----------------------


@pytest.fixture
def walked(monkeypatch: pytest.MonkeyPatch) -> list[tuple[tuple[str, ...], str | None]]:
    """(paths, exclude) of every log git is asked to walk from now on."""
    found: list[tuple[tuple[str, ...], str | None]] = []
    original = gitio.raw_log_chunks

    def spy(
        path: Path, folders: tuple[str, ...], exclude: str | None = None, tip: str = "HEAD"
    ) -> Iterator[str]:
        found.append((tuple(folders), exclude))
        return original(path, folders, exclude, tip=tip)

    monkeypatch.setattr(gitio, "raw_log_chunks", spy)
    return found


class Caches:
    """Cache folders: ``main``'s (where a full audit of main left its index), fresh ones."""

    def __init__(self, base: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.base, self.monkeypatch, self.count = base, monkeypatch, 0
        self.main = base / "main"

    def use(self, folder: Path) -> Path:
        self.monkeypatch.setenv("OPSLEDGER_CACHE_DIR", str(folder))
        return folder

    def fresh(self) -> Path:
        self.count += 1
        return self.use(self.base / f"fresh-{self.count}")

    def index_file(self) -> Path:
        (found,) = self.main.glob("history-index-*.bin")
        return found


@pytest.fixture
def caches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Caches:
    return Caches(tmp_path / "caches", monkeypatch)


def same_tree(left: Path, right: Path) -> int:
    """Assert both folders hold the same files with the same bytes; how many there are."""
    import filecmp

    names = {p.relative_to(left).as_posix() for p in left.rglob("*") if p.is_file()}
    other = {p.relative_to(right).as_posix() for p in right.rglob("*") if p.is_file()}
    assert names == other, sorted(names ^ other)
    differ = [n for n in sorted(names) if not filecmp.cmp(left / n, right / n, shallow=False)]
    assert differ == [], differ
    return len(names)
