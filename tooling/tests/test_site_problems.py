"""The site's problem pages: the portfolio, one page per problem (timeline of incidents,
actions and fix change), problems in the downloads and candidate clusters on the findings
page; hostile record text stays inert."""

from __future__ import annotations

import json
from pathlib import Path

from test_kpi_problems import problems  # noqa: F401 (fixture)
from test_rules_problems import incident

from conftest import InvokeCli, Repo

AS_OF = "2026-03-31T12:00:00Z"


def _build(cli: InvokeCli, repo: Repo, out: Path) -> None:
    result = cli(
        "site", "build", "--repo", repo.root, "--output", out, "--as-of", AS_OF, "--no-history"
    )
    assert result.status == 0, result.err


def _text(html: str) -> str:
    """The article's visible text, roughly: navigation and tags dropped."""
    import re

    article = html.split("<article", 1)[1].split("</article>", 1)[0]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", article))


def test_portfolio_problem_page_downloads_and_candidates(
    problems: Repo,  # noqa: F811
    cli: InvokeCli,
    tmp_path: Path,
) -> None:
    for n, day in ((71, "03-25"), (72, "03-26"), (73, "03-27")):
        incident(problems, n, day, category="dns")
    title = problems.root / "records/problems/PRB-2026-0002.md"
    title.write_text(
        title.read_text(encoding="utf-8").replace(
            "title: Pool exhausted (2)", 'title: "<script>alert(1)</script> pool"'
        ),
        encoding="utf-8",
    )
    out = tmp_path / "site"
    _build(cli, problems, out)
    portfolio = (out / "problems/index.html").read_text(encoding="utf-8")
    text = _text(portfolio)
    assert "6 problems: 4 open, 2 resolved." in text
    assert "1 recurring cluster(s) have no problem yet" in text
    assert "<script>alert(1)</script>" not in portfolio
    # open problems ranked by incidents in the last 90 days: 0001 (51, 03-01), 0002 (52),
    # 0003 (62), 0006 (63) one each; ties by impact (30 min each), then by ID
    open_part = text.split("Open problems", 1)[1].split("Known errors", 1)[0]
    order = [p for p in ("PRB-2026-0001", "PRB-2026-0002", "PRB-2026-0003", "PRB-2026-0006")]
    assert [open_part.index(p) for p in order] == sorted(open_part.index(p) for p in order)
    known = text.split("Known errors", 1)[1].split("Fixed problems", 1)[0]
    assert "PRB-2026-0003" in known and "Roll back the deploy" in known and "RB-0003" in known
    fixed = text.split("Fixed problems", 1)[1]
    assert "2 fixed; the fix held for 1" in fixed
    assert "✗ missed: recurred: INC-2026-0042, INC-2026-0053" in fixed
    assert "✓ met: held" in fixed

    page = _text((out / "problems/PRB-2026-0004.html").read_text(encoding="utf-8"))
    timeline = page.split("Timeline", 1)[1].split("Actions", 1)[0]
    assert (
        timeline.index("Problem opened")
        < timeline.index("Known error")
        < (timeline.index("Resolved"))
    )
    assert "after the fix" in timeline and "INC-2026-0053" in timeline
    assert "Fix change carried out (successful)" in timeline
    assert "CHG-2026-0107" in timeline
    assert "Fix held ✗ missed" in page

    rows = json.loads((out / "downloads/problems.json").read_text(encoding="utf-8"))["records"]
    assert [r["id"] for r in rows] == [f"PRB-2026-000{n}" for n in range(1, 7)]
    assert (out / "downloads/problems.csv").read_text(encoding="utf-8").startswith("id,path,")
    actions = json.loads((out / "downloads/problem-actions.json").read_text(encoding="utf-8"))
    assert {a["problem"] for a in actions["actions"]} == {
        f"PRB-2026-000{n}" for n in (2, 3, 4, 5, 6)
    }
    findings = _text((out / "findings/index.html").read_text(encoding="utf-8"))
    candidates = findings.split("Candidate problems", 1)[1]
    assert "INC-2026-0071 , INC-2026-0072 , INC-2026-0073 1h 30m" in candidates
    assert (
        "opsledger new problem --incident INC-2026-0071 --incident INC-2026-0072 "
        "--incident INC-2026-0073" in candidates
    )
