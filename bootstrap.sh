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
# system packages: Chromium and its driver (map/report/studio checks, PNG/PDF export), a CJK font, pdftoppm
PKGS="chromium chromium-driver fonts-wqy-microhei poppler-utils"
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  missing=""
  for p in $PKGS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
  if [ -n "$missing" ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q $missing >/dev/null 2>&1 \
      || { apt-get update -q >/dev/null && apt-get install -y -q $missing >/dev/null; } \
      || echo "bootstrap: could not install$missing; browser and PDF tests will be skipped" >&2
  fi
fi
echo "bootstrap: ready (.venv)"
