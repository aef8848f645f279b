#!/usr/bin/env bash
# Install Debian's Chromium and ChromeDriver for the site's browser tests, when missing.
# Idempotent and non-interactive; never downloads a browser build of its own (Playwright is
# pointed at /usr/bin/chromium). Needs root (or sudo) the first time only.
set -euo pipefail
if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-browser: no apt-get here; install Chromium yourself (browser tests will skip)" >&2
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; else
        echo "install-browser: not root and no sudo; browser tests will skip" >&2
        exit 0
    fi
fi
export DEBIAN_FRONTEND=noninteractive
echo "== installing chromium and chromium-driver (Debian packages)"
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
/usr/bin/chromium --version
