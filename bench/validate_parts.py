"""Where ``kcn-gis validate`` spends its time: each read, schema check and consistency check, timed alone.

``python bench/validate_parts.py ATLAS.gpkg`` runs the same functions as ``kcn-gis validate`` (schema
checks per layer and column, then each consistency check) one after the other in one process and prints
seconds per part, largest first, with its share of the total. It is a profile, not a benchmark: the
benchmark is ``bench/run.py --steps validate`` (fresh process, against plain geopandas).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from kcn_gis import open_atlas
from kcn_gis.analytics import checks
from kcn_gis.analytics.reporting import reporting_problems
from kcn_gis.schema import ATLAS_LAYERS, Col, Layer
from kcn_gis.store.base import coerce_layer
from kcn_gis.validation import _check_column, _check_geometry

TIMES: dict[str, float] = {}


@contextmanager
def part(name: str) -> Iterator[None]:
    t0 = time.perf_counter()
    yield
    TIMES[name] = TIMES.get(name, 0.0) + time.perf_counter() - t0


def main(path: str) -> None:
    atlas = open_atlas(path, validate=False)
    frames = {}
    for name, s in ATLAS_LAYERS.items():
        with part(f"read {name}"):
            raw = atlas._take_versions(s, atlas.backend.read_layer(str(name)))
        with part(f"coerce {name}"):
            frames[str(name)] = f = coerce_layer(s, raw)
        for c in s.columns:
            if c.name in f.columns:
                with part(f"schema {name}.{c.name}"):
                    _check_column(f, s, c, None)
        if s.geometry is not None:
            with part(f"schema {name} geometry (null, empty, type, is_valid)"):
                _check_geometry(f, s, None)
    parks, plots, parcels = frames["parks"], frames["plots"], frames["parcels"]
    fixed = {}
    for f, layer in ((parks, "parks"), (plots, "plots"), (parcels, "parcels")):
        with part(f"consistency {layer}: is_valid again + repair in memory"):
            _, fixed[layer] = checks._prepared(f)
    with part("consistency overlapping_parks"):
        checks._park_overlaps(parks, fixed["parks"], 1.0)
    inside = dict(tolerance_m2=1.0)
    with part("consistency plots inside own park"):
        checks._inside_own_park(
            plots,
            parks,
            fixed["plots"],
            fixed["parks"],
            layer=Layer.PLOTS,
            key=str(Col.PLOT_ID),
            unknown_check="plot_unknown_park",
            outside_check="plot_outside_park",
            **inside,
        )
    with part("consistency overlapping_plots / double_leasing"):
        checks._plot_overlaps(plots, fixed["plots"], 1.0)
    with part("consistency plot dates"):
        checks._date_checks(plots)
    with part("consistency parcels inside own park"):
        checks._inside_own_park(
            parcels,
            parks,
            fixed["parcels"],
            fixed["parks"],
            layer=Layer.PARCELS,
            key=str(Col.PARCEL_ID),
            unknown_check="parcel_unknown_park",
            outside_check="parcel_outside_park",
            **inside,
        )
    with part("consistency overlapping_parcels"):
        checks._parcel_overlaps(parcels, fixed["parcels"], 1.0, None)
    with part("consistency projects"):
        checks._project_checks(plots, frames["projects"])
    with part("consistency orphan events"):
        checks._event_orphans(frames["clearance_events"], parcels)
    with part("consistency facilities + reports"):
        if len(frames["facilities"]):
            checks._facility_checks(parks, frames["facilities"], frames["projects"], plots, None)
        reporting_problems(frames["projects"], frames["enterprise_reports"])
    total = sum(TIMES.values())
    print(f"total {total:.2f} s")
    for name, sec in sorted(TIMES.items(), key=lambda kv: -kv[1]):
        if sec >= 0.01:
            print(f"{sec:8.3f} s {100 * sec / total:5.1f} %  {name}")


if __name__ == "__main__":
    main(sys.argv[1])
