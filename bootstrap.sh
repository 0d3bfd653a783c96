#!/usr/bin/env bash
# Set up everything on a fresh machine: a private virtual environment (.venv) with the
# project and its test tools, and (Debian/Ubuntu, as root) headless Chromium and a CJK font
# for the browser tests and the PNG/PDF exports. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")"
PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[test,osmdata]'
if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q chromium chromium-driver fonts-wqy-microhei >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null && apt-get install -y -q chromium chromium-driver fonts-wqy-microhei >/dev/null; } \
    || echo "bootstrap: could not install chromium; browser tests will be skipped" >&2
fi
echo "bootstrap: ready (.venv)"
