#!/usr/bin/env bash
# Install opsledger and run its main job on a generated demo repository: a year of a
# mid-size company's operations with its git history, validated and audited, then the
# project's own bundled records put through the same gate.
#   scripts/demo.sh [DEMO_DIR]      (default: ./demo, regenerated on each run)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
DEMO="${1:-$ROOT/demo}"
if [ -e "$DEMO" ]; then
    if [ -f "$DEMO/.opsledger/demo-defects.json" ]; then
        rm -rf "$DEMO"   # a demo repository made by an earlier run
    else
        echo "$DEMO exists and is not a generated demo repository; pass another folder" >&2
        exit 2
    fi
fi

OUT="$DEMO.out"   # reports about the demo, kept outside its working tree
rm -rf "$OUT" && mkdir -p "$OUT"
echo "== Generating the demo repository in $DEMO"
opsledger demo "$DEMO" --months 12 --seed 7

# The demo's year ends on 2026-10-31; judge it as of the day after, so the result is the
# same on every machine and every day.
AS_OF=2026-11-01T00:00:00Z

echo
echo "== opsledger validate (demo repository: schema checks only)"
status=0
opsledger validate --repo "$DEMO" >"$OUT/validate.txt" || status=$?
if [ "$status" -gt 1 ]; then cat "$OUT/validate.txt"; exit "$status"; fi
if [ -s "$OUT/validate.txt" ]; then
    head -n 15 "$OUT/validate.txt"
    echo "   … full list in $OUT/validate.txt"
fi

echo
echo "== opsledger audit (demo repository: planted defects show up as findings)"
opsledger audit --repo "$DEMO" --as-of "$AS_OF" --fail-on never >"$OUT/audit.txt"
head -n 25 "$OUT/audit.txt"
echo "   … full list in $OUT/audit.txt; by rule:"
awk '{print $3}' "$OUT/audit.txt" | sort | uniq -c | sort -rn | head -n 40
echo "   (a pull request adding records like these would fail the gate: --fail-on error)"

echo
echo "== opsledger kpi (demo repository: operational KPIs against policy targets; timings from git)"
opsledger kpi --repo "$DEMO" --as-of "$AS_OF" --format json --output "$OUT/kpis.json"
opsledger kpi --repo "$DEMO" --as-of "$AS_OF" --format markdown --output "$OUT/kpis.md"
opsledger kpi --repo "$DEMO" --as-of "$AS_OF" | head -n 32
echo "   … KPIs as JSON and Markdown in $OUT/"
opsledger report monthly --period 2026-10 --repo "$DEMO" --as-of "$AS_OF" --output "$OUT/monthly-2026-10.md"
echo "   monthly service review for 2026-10: $OUT/monthly-2026-10.md"

echo
echo "== opsledger site build (demo repository: the audit-ready site, offline)"
opsledger site build --repo "$DEMO" --as-of "$AS_OF" --output "$OUT/site"

echo
echo "== opsledger audit --fail-on error (the project's own records/ and runbooks/)"
opsledger audit --repo "$ROOT" --fail-on error
echo
echo "Done. The demo repository is in $DEMO (git log --stat there shows its history);"
echo "its site: $OUT/site/index.html"
