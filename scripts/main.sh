#!/usr/bin/env bash
# Set everything up, then run the main job on the bundled Bắc Ninh 2011 atlas:
# the reconciliation report, the three maps and the clearance review reports, into maps/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/kcn-gis run --out-dir maps "$@"
