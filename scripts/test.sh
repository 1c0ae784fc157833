#!/usr/bin/env bash
# Set everything up, then run the whole test suite (PostGIS and browser tests included where available).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/mypy kcn_gis
.venv/bin/python -m pytest "$@"
