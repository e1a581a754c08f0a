#!/usr/bin/env bash
# The programs some tests drive, from Debian: chromium and chromedriver for the HTML
# report's browser test (tests/test_report_browser.py), tmux for the terminal test that
# reads the screen as a person sees it (tests/test_terminal_screen.py), and PostgreSQL's
# server programs (initdb, pg_ctl) for the results store's PostgreSQL tests, which start a
# throwaway server of their own (tests/postgres_server.py). Does nothing when they are there.
#   scripts/install-test-tools.sh             warn and go on when they cannot be installed
#   scripts/install-test-tools.sh --required  fail instead (CI)
set -uo pipefail
required=0
[ "${1:-}" = "--required" ] && required=1

give_up() {
    echo "install-test-tools: $1; the tests that need them will skip (apt-get install $packages)" >&2
    exit "$required"
}

# Debian keeps initdb off PATH, in /usr/lib/postgresql/VERSION/bin.
have_initdb() {
    command -v initdb >/dev/null || compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null
}

packages=""
command -v chromium >/dev/null && command -v chromedriver >/dev/null || packages="chromium chromium-driver"
command -v tmux >/dev/null || packages="$packages tmux"
have_initdb || packages="$packages postgresql"
[ -z "$packages" ] && exit 0
command -v apt-get >/dev/null || give_up "no apt-get here"
sudo=""
if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo="sudo -n"; else give_up "not root and no sudo"; fi
fi
export DEBIAN_FRONTEND=noninteractive
echo "install-test-tools: apt-get install $packages" >&2
# The package lists may be stale on a fresh machine: update once, then retry.
$sudo apt-get install -y --no-install-recommends $packages >/dev/null ||
    { $sudo apt-get update >/dev/null && $sudo apt-get install -y --no-install-recommends $packages >/dev/null; } ||
    give_up "apt-get install $packages failed"
for tool in chromium chromedriver tmux; do
    command -v "$tool" >/dev/null || give_up "installed, but $tool is not on PATH"
done
have_initdb || give_up "installed, but there is no initdb on PATH or in /usr/lib/postgresql/*/bin"
