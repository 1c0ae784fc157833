#!/usr/bin/env bash
# Set everything up, then run the main job on the bundled Bắc Ninh 2011 atlas:
# the reconciliation report, the three maps and the clearance review reports, into maps/.
# --as-of 2011-12-26: the date of the Board's report the bundled atlas reconstructs (the command's own
# default is today, as for every kcn-gis command; see docs/cli.md). A later --as-of given to this script wins.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/kcn-gis run --out-dir maps --as-of 2011-12-26 "$@"
