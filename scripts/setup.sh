#!/usr/bin/env bash
# Set up everything kcn_gis needs on a fresh machine, idempotently:
#   - Debian packages for the browser, PostGIS and QGIS (python3-qgis) tests (when run as root with apt-get);
#   - a virtual environment in .venv/ with kcn_gis installed in editable mode, with all extras;
#   - the bundled Bắc Ninh 2011 atlas, built from the facts tables in kcn_gis/bundled/ into data/geo/ (not committed).
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
export DEBIAN_FRONTEND=noninteractive

want_debs=(chromium postgresql postgresql-15-postgis-3 python3-qgis)
missing=()
for d in "${want_debs[@]}"; do
  dpkg -s "$d" >/dev/null 2>&1 || missing+=("$d")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing Debian packages: ${missing[*]}"
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "setup: note: Debian packages ${missing[*]} are missing and this is not a root shell;"
    echo "       browser, PostGIS and QGIS tests will be skipped (install them with sudo apt-get install ${missing[*]})."
  fi
fi

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
echo "setup: installing kcn_gis (editable) with its extras into .venv"
.venv/bin/python -m pip install -q -e ".[dev]"
# byte-compile kcn_gis once: an editable install is not compiled by pip, and where PYTHONDONTWRITEBYTECODE is
# set (as on the CI machines) every `kcn-gis` process would otherwise compile ~60 modules again (~60 ms)
.venv/bin/python -m compileall -q kcn_gis >/dev/null

if [ ! -f data/geo/bac_ninh_2011.gpkg ]; then
  echo "setup: building the bundled atlas data/geo/bac_ninh_2011.gpkg"
  .venv/bin/python -m kcn_gis.cli.bundled --out data/geo/bac_ninh_2011.gpkg
fi
echo "setup: done"
