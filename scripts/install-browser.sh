#!/usr/bin/env bash
# Debian's chromium and chromedriver, for the HTML report's browser test
# (tests/test_report_browser.py). Does nothing when both are on PATH.
#   scripts/install-browser.sh             warn and go on when they cannot be installed
#   scripts/install-browser.sh --required  fail instead (CI)
set -uo pipefail
required=0
[ "${1:-}" = "--required" ] && required=1

give_up() {
    echo "install-browser: $1; the browser test will skip (install chromium and chromium-driver to run it)" >&2
    exit "$required"
}

if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then
    exit 0
fi
command -v apt-get >/dev/null || give_up "no apt-get here"
sudo=""
if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo="sudo -n"; else give_up "not root and no sudo"; fi
fi
export DEBIAN_FRONTEND=noninteractive
packages="chromium chromium-driver"
echo "install-browser: apt-get install $packages" >&2
# The package lists may be stale on a fresh machine: update once, then retry.
$sudo apt-get install -y --no-install-recommends $packages >/dev/null ||
    { $sudo apt-get update >/dev/null && $sudo apt-get install -y --no-install-recommends $packages >/dev/null; } ||
    give_up "apt-get install $packages failed"
command -v chromium >/dev/null && command -v chromedriver >/dev/null || give_up "installed, but not on PATH"
