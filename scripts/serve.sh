#!/usr/bin/env bash
# Command 1: install the server into ./.venv and serve http://127.0.0.1:5000 on ./mlruns.db
# (SQLite) with artifacts in ./mlartifacts. Extra arguments go to `tracking serve`.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  if ! "$PYTHON" -m venv .venv 2>/dev/null; then
    # Debian ships venv separately from python3.
    if [ "$(id -u)" = 0 ]; then apt-get update -qq; apt-get install -y -qq python3-venv >/dev/null
    else sudo apt-get update -qq; sudo apt-get install -y -qq python3-venv >/dev/null; fi
    rm -rf .venv; "$PYTHON" -m venv .venv
  fi
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q .
# The MLflow web UI build (pinned, sha256-checked; a no-op once installed, so later runs are offline).
.venv/bin/python -m tracking ui install
exec .venv/bin/python -m tracking serve "$@"
