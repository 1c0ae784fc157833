"""Copy a synthetic atlas and plant known problems in it, to check that ``kcn-gis validate`` finds them all.

``python bench/plant_errors.py SOURCE.gpkg TARGET.gpkg`` reads SOURCE (never written) and writes TARGET with:

* parcels: one shifted by 3 m onto its neighbour (overlap), one copied under a new id (exact duplicate
  geometry), one shrunk to sit inside another (containment), one shifted by 2 cm (a sliver below 1 m²,
  tolerated), one bow-tie (invalid ring), one empty geometry, one duplicate ``parcel_id``, one unknown
  ``park_id``, one pushed 40 m out of its park;
* plots: one shifted 5 m onto its neighbour;
* clearance events: two orphans (a ``parcel_id`` that is not in the parcels layer) and one duplicate ``event_id``;
* an unknown ``event`` value and a required field left empty.

The rows touched are printed; the validate output of two kcn_gis versions on TARGET can then be diffed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from shapely.affinity import translate

import kcn_gis
from kcn_gis.schema import Col, Layer
from kcn_gis.store import write_atlas


def plant(source: Path, target: Path) -> None:
    atlas = kcn_gis.open_atlas(source, validate=False)
    layers = {name: atlas.read(name) for name in atlas.layer_names()}
    parcels = layers[str(Layer.PARCELS)].copy()
    g = np.asarray(parcels.geometry.values, dtype=object).copy()
    n = len(parcels)
    pick = [n // 7 * k for k in range(1, 7)]
    g[pick[0]] = translate(g[pick[0]], 3.0, 0.0)  # overlaps its neighbours
    x0, y0, x1, y1 = shapely.bounds(g[pick[2]])
    g[pick[1]] = shapely.Polygon([(x0, y0), (x1, y1), (x1, y0), (x0, y1)])  # bow-tie over pick[2]'s box: invalid
    g[pick[3]] = translate(g[pick[3]], 0.0, 0.02)  # 2 cm: a sliver below the 1 m² tolerance
    g[pick[4]] = shapely.Polygon()  # empty
    g[pick[5]] = translate(g[pick[5]], 40.0, 0.0)
    parcels = parcels.set_geometry(g)
    extra = parcels.iloc[[pick[2], pick[2] + 1]].copy()
    extra[Col.PARCEL_ID] = extra[Col.PARCEL_ID] + ["-COPY", "-INNER"]
    inner = shapely.buffer(extra.geometry.values[1], -2.0)  # strictly inside the original
    extra = extra.set_geometry([extra.geometry.values[0], inner])
    dup = parcels.iloc[[pick[3] + 5]].copy()  # same parcel_id as an existing row, geometry far away
    dup = dup.set_geometry([translate(dup.geometry.values[0], 0.0, 50_000.0)])
    unknown = parcels.iloc[[pick[4] + 3]].copy()
    unknown[Col.PARCEL_ID] = unknown[Col.PARCEL_ID] + "-X"
    unknown[Col.PARK_ID] = "NO-SUCH-PARK"
    unknown = unknown.set_geometry([translate(unknown.geometry.values[0], 0.0, -50_000.0)])
    parcels = pd.concat([parcels, extra, dup, unknown], ignore_index=True)
    layers[str(Layer.PARCELS)] = parcels

    plots = layers[str(Layer.PLOTS)].copy()
    pg = np.asarray(plots.geometry.values, dtype=object).copy()
    pg[len(plots) // 2] = translate(pg[len(plots) // 2], 5.0, 0.0)
    layers[str(Layer.PLOTS)] = plots.set_geometry(pg)

    ev = layers[str(Layer.CLEARANCE_EVENTS)].copy()
    m = len(ev)
    ev.loc[m // 3, Col.PARCEL_ID] = "GONE-1"
    ev.loc[2 * m // 3, Col.PARCEL_ID] = "GONE-2"
    ev.loc[m // 2, Col.EVENT_ID] = ev.loc[m // 2 + 1, Col.EVENT_ID]
    ev[Col.EVENT] = ev[Col.EVENT].astype(object)
    ev.loc[m // 4, Col.EVENT] = "demolished"
    ev.loc[m // 5, Col.EVENT_DATE] = pd.NaT
    layers[str(Layer.CLEARANCE_EVENTS)] = ev
    print("parcels rows (0-based) touched:", pick, "appended:", list(range(n, len(parcels))))
    write_atlas(target, layers, crs=atlas.crs, validate=False)


if __name__ == "__main__":
    src, dst = Path(sys.argv[1]), Path(sys.argv[2])
    if dst.exists():
        sys.exit(f"{dst} exists; remove it first")
    plant(src, dst)
    print(f"wrote {dst}")
