"""REF-LINK on references that resolve but cannot be right: more than one PIR for an
incident, an incident's ``pir`` naming another incident's review, ``recurrence_of`` naming
the incident itself, a later incident or going round in a cycle; in a full audit and in a
pull request's scope; and ``opsledger new pir`` refusing a second PIR unless told."""

from __future__ import annotations

import pytest

from conftest import ACKED, AS_OF, RUNBOOK, InvokeCli, Repo, audit_rule, git, git_init

INC = "records/incidents/INC-2026-{n}.yaml"
PIR_PATH = "records/pirs/PIR-2026-{n}.md"


@pytest.fixture
def repo(repo: Repo) -> Repo:
    """The minimal repository plus orders-db's runbook: no other REF-LINK finding."""
    repo.write("runbooks/RB-0003-orders-db-pool.md", RUNBOOK, dedent=False)
    return repo


def incident(n: str, *extra: str, detected: str = "2026-03-04T09:12:00Z") -> str:
    text = ACKED.replace("INC-2026-0001", f"INC-2026-{n}").replace("2026-03-04T09:12:00Z", detected)
    return text + "".join(line + "\n" for line in extra)


def pir(n: str, incident_n: str) -> str:
    return (
        f"---\nid: PIR-2026-{n}\nincident: INC-2026-{incident_n}\nstatus: draft\n"
        "authors: [lena.fischer@example.com]\nroot_cause: A deploy halved the pool.\n"
        "actions: []\n---\n## Summary\nCheckout failed.\n"
    )


def links(repo: Repo) -> list[tuple[str, int, int, str]]:
    return [(h.path, h.line, h.column, h.message) for h in audit_rule(repo, "REF-LINK")]


def test_one_pir_per_incident_is_clean(repo: Repo) -> None:
    repo.write(INC.format(n="0001"), incident("0001", "pir: PIR-2026-0001"), dedent=False)
    repo.write(PIR_PATH.format(n="0001"), pir("0001", "0001"), dedent=False)
    assert links(repo) == []


def test_second_pir_for_an_incident_is_reported(repo: Repo) -> None:
    repo.write(INC.format(n="0001"), incident("0001", "pir: PIR-2026-0001"), dedent=False)
    repo.write(PIR_PATH.format(n="0001"), pir("0001", "0001"), dedent=False)
    repo.write(PIR_PATH.format(n="0002"), pir("0002", "0001"), dedent=False)
    assert links(repo) == [
        (
            "records/pirs/PIR-2026-0002.md",
            3,
            11,
            "incident INC-2026-0001 has 2 PIRs (PIR-2026-0001, PIR-2026-0002); its pir field "
            "names PIR-2026-0001",
        )
    ]


def test_several_pirs_and_none_named_are_all_reported(repo: Repo) -> None:
    repo.write(INC.format(n="0001"), incident("0001"), dedent=False)
    repo.write(PIR_PATH.format(n="0001"), pir("0001", "0001"), dedent=False)
    repo.write(PIR_PATH.format(n="0002"), pir("0002", "0001"), dedent=False)
    found = links(repo)
    assert [(path, line) for path, line, _, _ in found] == [
        ("records/pirs/PIR-2026-0001.md", 3),
        ("records/pirs/PIR-2026-0002.md", 3),
    ]
    assert all("an incident has one PIR" in message for *_, message in found)


def test_incident_naming_another_incidents_pir(repo: Repo) -> None:
    repo.write(INC.format(n="0001"), incident("0001", "pir: PIR-2026-0002"), dedent=False)
    repo.write(INC.format(n="0002"), incident("0002", "pir: PIR-2026-0002"), dedent=False)
    repo.write(PIR_PATH.format(n="0002"), pir("0002", "0002"), dedent=False)
    assert links(repo) == [
        (
            INC.format(n="0001"),
            11,
            6,
            "pir PIR-2026-0002 is the review of INC-2026-0002, not of this incident",
        )
    ]


def test_recurrence_of_itself(repo: Repo) -> None:
    repo.write(INC.format(n="0001"), incident("0001", "recurrence_of: INC-2026-0001"))
    assert links(repo) == [
        (INC.format(n="0001"), 11, 16, "recurrence_of names the incident itself")
    ]


def test_recurrence_cycle_is_reported_on_each_member(repo: Repo) -> None:
    repo.write(INC.format(n="0001"), incident("0001", "recurrence_of: INC-2026-0003"))
    repo.write(INC.format(n="0002"), incident("0002", "recurrence_of: INC-2026-0001"))
    repo.write(INC.format(n="0003"), incident("0003", "recurrence_of: INC-2026-0002"))
    assert [(p[-14:], m) for p, _, _, m in links(repo)] == [
        (
            "2026-0001.yaml",
            "recurrence_of goes round in a cycle: INC-2026-0001 -> INC-2026-0003 -> "
            "INC-2026-0002 -> INC-2026-0001",
        ),
        (
            "2026-0002.yaml",
            "recurrence_of goes round in a cycle: INC-2026-0002 -> INC-2026-0001 -> "
            "INC-2026-0003 -> INC-2026-0002",
        ),
        (
            "2026-0003.yaml",
            "recurrence_of goes round in a cycle: INC-2026-0003 -> INC-2026-0002 -> "
            "INC-2026-0001 -> INC-2026-0003",
        ),
    ]


def test_recurrence_chain_to_earlier_incidents_is_clean_later_is_not(repo: Repo) -> None:
    repo.write(INC.format(n="0001"), incident("0001"))
    repo.write(
        INC.format(n="0002"),
        incident("0002", "recurrence_of: INC-2026-0001", detected="2026-03-10T08:00:00Z"),
    )
    repo.write(
        INC.format(n="0003"),
        incident("0003", "recurrence_of: INC-2026-0002", detected="2026-03-20T08:00:00Z"),
    )
    assert links(repo) == []
    repo.write(
        INC.format(n="0001"),
        incident("0001", "recurrence_of: INC-2026-0003", detected="2026-03-21T08:00:00Z"),
    )
    cycle = [m for *_, m in links(repo)]  # a cycle, not also "later" on the member closing it
    assert len(cycle) == 3 and all(m.startswith("recurrence_of goes round") for m in cycle)
    repo.write(INC.format(n="0004"), incident("0004", "recurrence_of: INC-2026-0002"))
    assert (
        INC.format(n="0004"),
        11,
        16,
        "recurrence_of names INC-2026-0002, detected after this incident",
    ) in links(repo)


def test_long_recurrence_chain_is_linear(repo: Repo) -> None:
    """A long chain closed into a cycle is found in one walk (no quadratic blow-up)."""
    n = 1500
    for i in range(1, n + 1):
        nxt = i % n + 1
        repo.write(
            INC.format(n=f"{i:04d}"), incident(f"{i:04d}", f"recurrence_of: INC-2026-{nxt:04d}")
        )
    found = links(repo)
    assert len(found) == n
    assert all(" -> " in message for *_, message in found)


# ------------------------------------------------------------------ the pull request gate


def pr_gate(cli: InvokeCli, repo: Repo) -> tuple[int, str]:
    result = cli(
        "audit", "--repo", repo.root, "--as-of", AS_OF, "--changed-since", "main",
        "--select", "REF-LINK",
    )  # fmt: skip
    return result.status, result.out


def committed_main(repo: Repo) -> None:
    git_init(repo.root)
    git(repo.root, "add", "-A")
    git(repo.root, "commit", "-q", "-m", "main")
    git(repo.root, "checkout", "-q", "-b", "pr")


def test_pr_adding_a_second_pir_fails_the_gate(repo: Repo, cli: InvokeCli) -> None:
    repo.write(INC.format(n="0001"), incident("0001", "pir: PIR-2026-0001"), dedent=False)
    repo.write(PIR_PATH.format(n="0001"), pir("0001", "0001"), dedent=False)
    for i in range(2, 6):  # unrelated records the scope must not need
        repo.write(INC.format(n=f"{i:04d}"), incident(f"{i:04d}"))
    committed_main(repo)
    assert pr_gate(cli, repo) == (0, "")
    repo.write(PIR_PATH.format(n="0002"), pir("0002", "0001"), dedent=False)
    status, out = pr_gate(cli, repo)
    assert status == 1
    assert "records/pirs/PIR-2026-0002.md:3:11: error REF-LINK incident INC-2026-0001 has 2" in out


def test_pr_closing_a_recurrence_cycle_fails_the_gate(repo: Repo, cli: InvokeCli) -> None:
    """The cycle runs through records neither changed nor naming the changed one."""
    repo.write(INC.format(n="0001"), incident("0001"))
    for i in range(2, 5):
        repo.write(
            INC.format(n=f"{i:04d}"), incident(f"{i:04d}", f"recurrence_of: INC-2026-{i - 1:04d}")
        )
    committed_main(repo)
    assert pr_gate(cli, repo) == (0, "")
    repo.write(INC.format(n="0001"), incident("0001", "recurrence_of: INC-2026-0004"))
    status, out = pr_gate(cli, repo)
    assert status == 1
    assert (
        "records/incidents/INC-2026-0001.yaml:11:16: error REF-LINK recurrence_of goes round "
        "in a cycle: INC-2026-0001 -> INC-2026-0004 -> INC-2026-0003 -> INC-2026-0002 -> "
        "INC-2026-0001"
    ) in out


# ------------------------------------------------------------------ opsledger new pir


def test_new_pir_refuses_a_second_pir_unless_told(repo: Repo, cli: InvokeCli) -> None:
    repo.write(INC.format(n="0001"), incident("0001"), dedent=False)
    first = cli("new", "pir", "--no-history", "--repo", repo.root, "--incident", "INC-2026-0001")
    assert (first.status, first.out.strip()) == (0, "records/pirs/PIR-2026-0001.md")
    again = cli("new", "pir", "--no-history", "--repo", repo.root, "--incident", "INC-2026-0001")
    assert again.status == 2
    assert "INC-2026-0001 already has a PIR (PIR-2026-0001)" in again.err
    assert "--another" in again.err
    assert sorted(p.name for p in (repo.root / "records/pirs").iterdir()) == ["PIR-2026-0001.md"]
    told = cli(
        "new",
        "pir",
        "--no-history",
        "--repo",
        repo.root,
        "--incident",
        "INC-2026-0001",
        "--another",
    )
    assert (told.status, told.out.strip()) == (0, "records/pirs/PIR-2026-0002.md")
    assert "incident: INC-2026-0001" in (repo.root / told.out.strip()).read_text()


def test_new_pir_counts_an_unreadable_pir_file_of_the_incident(repo: Repo, cli: InvokeCli) -> None:
    repo.write(INC.format(n="0001"), incident("0001"), dedent=False)
    repo.write(PIR_PATH.format(n="0001"), "---\nid: [broken\n---\n", dedent=False)
    result = cli("new", "pir", "--no-history", "--repo", repo.root, "--incident", "INC-2026-0001")
    assert result.status == 2 and "already has a PIR (PIR-2026-0001)" in result.err


def test_new_help_documents_another(cli: InvokeCli) -> None:
    result = cli("new", "--help")
    assert "--another" in result.out and "already has a PIR" in " ".join(result.out.split())
