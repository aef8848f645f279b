"""Problems in the monthly review, the weekly scorecard and the brief."""

from __future__ import annotations

from test_kpi_problems import problems  # noqa: F401 (fixture)

from conftest import InvokeCli, Repo

AS_OF = "2026-03-31T12:00:00Z"


def test_monthly_review_has_a_problems_section(problems: Repo, cli: InvokeCli) -> None:  # noqa: F811
    args = ("report", "monthly", "--period", "2026-03", "--repo", problems.root)
    result = cli(*args, "--no-history", "--as-of", AS_OF)
    assert result.status == 0, result.err
    section = result.out.split("## Problems", 1)[1].split("\n## ", 1)[0]
    assert "| Problem backlog | 4 |" in section
    assert "New problems: 2." in section  # 0001 (03-21) and 0006 (03-20)
    assert "| PRB-2026-0001 | Pool exhausted (1) | new | 1 incidents |" in section
    assert "Known errors established: 1." in section  # 0006, 03-19
    assert "Fixed: 1." in section  # 0005 on 03-01, held
    assert "| PRB-2026-0005 | Pool exhausted (5) | resolved | ✓ held:" in section
    # 0004 was fixed in February; INC-2026-0042 (03-04) and INC-2026-0053 (03-10) came back
    assert "Recurred after the fix: 1." in section
    assert (
        "| PRB-2026-0004 | Pool exhausted (4) | resolved | INC-2026-0042, INC-2026-0053 |"
        in section
    )
    assert "Candidate clusters without a problem: 0." in section


def test_weekly_scorecard_shows_the_problem_backlog(problems: Repo, cli: InvokeCli) -> None:  # noqa: F811
    args = ("report", "weekly", "--period", "2026-W13", "--repo", problems.root)
    result = cli(*args, "--no-history", "--as-of", AS_OF)
    assert result.status == 0, result.err
    section = result.out.split("## Problems", 1)[1].split("\n## ", 1)[0]
    assert "| Problem backlog | 4 |" in section


def test_brief_names_the_problem_and_its_status(problems: Repo, cli: InvokeCli) -> None:  # noqa: F811
    result = cli(
        "brief", "INC-2026-0053", "--repo", problems.root, "--no-history", "--as-of", AS_OF
    )
    assert result.status == 0, result.err
    section = result.out.split("## Problem\n", 1)[1].split("\n## ", 1)[0]
    assert "Problem PRB-2026-0004 (Pool exhausted (4)) links this incident" in section
    assert "its status is **resolved**" in section
    assert "Fix held: ✗ recurred: INC-2026-0042, INC-2026-0053 detected after the fix" in section
    none = cli("brief", "INC-2026-0042", "--repo", problems.root, "--no-history", "--as-of", AS_OF)
    assert "Problem PRB-2026-0004" in none.out
    alone = cli("brief", "INC-2026-0052", "--repo", problems.root, "--no-history", "--as-of", AS_OF)
    assert "PRB-2026-0002" in alone.out and "**investigating**" in alone.out
