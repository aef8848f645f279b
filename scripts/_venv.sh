# Sourced by the set-up scripts: make .venv with the project installed (editable).
# Usage: . scripts/_venv.sh [extra]   (extra: "test" installs the test tools too)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-python3}"
if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "opsledger needs Python 3.11 or newer (set PYTHON=/path/to/python3.11)" >&2
    exit 2
fi
if [ ! -x "$ROOT/.venv/bin/python" ]; then
    "$PY" -m venv "$ROOT/.venv"
fi
VENV="$ROOT/.venv"
spec="$ROOT"
if [ "${1:-}" = "test" ]; then spec="$ROOT[test]"; fi
pip_install() {
    # (some machines' pip configuration names local indexes that do not exist: not our concern)
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$@" \
        2> >(grep -v "^WARNING: Location '.*' is ignored" >&2)
}
pip_install --upgrade pip
pip_install -e "$spec"
export PATH="$VENV/bin:$PATH"
