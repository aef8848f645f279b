#!/usr/bin/env bash
# Install opsledger and run its main job on a generated demo repository:
# a year of a mid-size company's operations with its git history, then validate it
# and the project's own bundled records.
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

echo "== Generating the demo repository in $DEMO"
opsledger demo "$DEMO" --months 12 --seed 7

echo
echo "== opsledger validate (demo repository; planted schema defects are expected)"
status=0
opsledger validate --repo "$DEMO" || status=$?
if [ "$status" -gt 1 ]; then exit "$status"; fi

echo
echo "== opsledger validate (the project's own records/ and runbooks/)"
opsledger validate --repo "$ROOT"
echo
echo "Done. The demo repository is in $DEMO (git log --stat there shows its history)."
