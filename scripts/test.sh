#!/usr/bin/env bash
# Command 2: install what the suite needs, then lint, type-check and run every test on SQLite
# and PostgreSQL. Works as root on a clean Debian machine (CI) and as a normal user.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_updated=""
apt_install() {
  if [ -z "$apt_updated" ]; then as_root apt-get update -qq; apt_updated=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# A throwaway PostgreSQL is started by the tests themselves unless TRACKING_TEST_POSTGRES_URL
# names a server; they need Debian's server binaries and psql for that.
if [ -z "${TRACKING_TEST_POSTGRES_URL:-}" ] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  apt_install postgresql
fi
command -v psql >/dev/null || apt_install postgresql-client
# The browser test drives Debian's Chromium through Playwright (which downloads no browser).
command -v chromium >/dev/null || apt_install chromium
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv || { apt_install python3-venv && "$PYTHON" -m venv .venv; }
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'
.venv/bin/python -m tracking ui install

.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/pytest -q -p no:cacheprovider "$@"
