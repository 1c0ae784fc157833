"""Replace only what the user means, refuse orphans, and check the atlas as it would be after an import.

Old behaviour these reproduce: ``--mode replace`` with one park's parcels wiped every park's parcels
and orphaned the clearance events (0 errors reported); an empty file emptied the layer; the
duplicate_id hint advised ``--mode replace``; an overlapping park, a plot outside its park and
overlapping parcels were imported without a word.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely

import kcn_gis
from kcn_gis.errors import StoreError
from kcn_gis.schema import Col, Layer
from tests.safe_writes.conftest import PARK, cli, count, ids, parcel_grid, write_file

GB = "GB"  # KCN Gia Bình: 2 605 parcels, 469 of them with clearance events


def _park_parcels(path, park: str) -> gpd.GeoDataFrame:
    return pyogrio.read_dataframe(path, layer="parcels", where=f"park_id = '{park}'")


def _events_per_parcel(path) -> dict[str, int]:
    frame = pyogrio.read_dataframe(path, layer="clearance_events", read_geometry=False)
    return frame[Col.PARCEL_ID].value_counts().to_dict()


def test_mode_replace_replaces_only_the_parks_in_the_file(atlas_file, tmp_path, bundled_counts):
    gb = _park_parcels(atlas_file, GB)
    others = count(atlas_file, "parcels", f"park_id <> '{GB}'")
    assert len(gb) == 2605 and others == bundled_counts["parcels"] - 2605
    events_before = _events_per_parcel(atlas_file)
    # the park's surveyor sends the park's parcels back with corrected holder names
    fixed = gb.assign(**{Col.HOLDER_NAME: gb[Col.HOLDER_NAME].fillna("") + " (đã đối soát)"})
    done = cli(
        "import", str(write_file(fixed, tmp_path / "gb.gpkg")), "--layer", "parcels", "--atlas", str(atlas_file),
        "--mode", "replace",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "of other parks are kept" in done.stderr
    assert count(atlas_file, "parcels", f"park_id <> '{GB}'") == others  # the old code left 0 here
    after = _park_parcels(atlas_file, GB).set_index(Col.PARCEL_ID)
    assert len(after) == 2605
    assert after.loc[gb[Col.PARCEL_ID].iloc[0], Col.HOLDER_NAME].endswith("(đã đối soát)")
    assert _events_per_parcel(atlas_file) == events_before
    # and validate agrees: no event points to nothing
    done = cli("validate", "--atlas", str(atlas_file))
    assert "event_unknown_parcel" not in done.stdout + done.stderr


def test_replace_that_would_orphan_clearance_events_is_refused(atlas_file, tmp_path, bundled_counts):
    gb = _park_parcels(atlas_file, GB)
    events = _events_per_parcel(atlas_file)
    with_history = [p for p in gb[Col.PARCEL_ID] if p in events]
    dropped = with_history[:7]  # the file lacks 7 parcels that have a clearance history
    n_events = sum(events[p] for p in dropped)
    short = gb[~gb[Col.PARCEL_ID].isin(dropped)]
    before = atlas_file.read_bytes()
    done = cli(
        "import", str(write_file(short, tmp_path / "short.gpkg")), "--layer", "parcels", "--atlas", str(atlas_file),
        "--mode", "replace",
    )  # fmt: skip
    assert done.returncode == 1
    assert "event_unknown_parcel" in done.stderr
    assert done.stderr.count("event_unknown_parcel") == n_events
    assert "nothing was written" in done.stderr and "Traceback" not in done.stderr
    assert atlas_file.read_bytes() == before


def test_store_refuses_orphans_inside_the_transaction(atlas_file, bundled_counts):
    """Also when the caller skipped the import's checks: the store counts and names the orphans."""
    atlas = kcn_gis.open_atlas(atlas_file)
    gb = atlas.parcels[atlas.parcels[Col.PARK_ID] == GB]
    events = atlas.clearance_events
    keep = gb.iloc[:100]
    lost = events[events[Col.PARCEL_ID].isin(set(gb[Col.PARCEL_ID]) - set(keep[Col.PARCEL_ID]))]
    with pytest.raises(StoreError) as info:
        atlas.replace_parks(Layer.PARCELS, keep)
    msg = str(info.value)
    assert f"{len(lost)} row(s) of 'clearance_events' would point to {lost[Col.PARCEL_ID].nunique()} parcel_id" in msg
    assert "nothing was written" in msg and "event_id '" in msg
    assert count(atlas_file, "parcels") == bundled_counts["parcels"]
    # removing a park that plots still belong to is refused the same way
    parks = atlas.parks
    with pytest.raises(StoreError, match=r"row\(s\) of 'plots' would point to 1 park_id no longer in 'parks'"):
        atlas.write({Layer.PARKS: parks[parks[Col.PARK_ID] != "QV3"]})
    assert count(atlas_file, "parks") == bundled_counts["parks"]


def test_empty_file_never_replaces_anything(atlas_file, tmp_path, bundled_counts):
    empty = _park_parcels(atlas_file, GB).iloc[:0]
    src = write_file(empty, tmp_path / "empty.gpkg")
    before = atlas_file.read_bytes()
    for extra in (["--mode", "replace"], ["--replace-all"]):
        done = cli("import", str(src), "--layer", "parcels", "--atlas", str(atlas_file), *extra)
        assert done.returncode == 1, extra
        assert "never replaces anything" in done.stderr
    assert atlas_file.read_bytes() == before
    assert count(atlas_file, "parcels") == bundled_counts["parcels"]


def test_replace_all_replaces_the_whole_layer_only_when_asked(atlas_file, park_geometry, tmp_path, bundled_counts):
    everything = pyogrio.read_dataframe(atlas_file, layer="parcels")
    grid = parcel_grid(park_geometry, 40, prefix="RA")
    both = gpd.GeoDataFrame(pd.concat([everything, grid], ignore_index=True), geometry="geometry", crs=grid.crs)
    done = cli(
        "import", str(write_file(both, tmp_path / "all.gpkg")), "--layer", "parcels", "--atlas", str(atlas_file),
        "--replace-all",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "replaced the whole layer" in done.stderr
    assert count(atlas_file, "parcels") == bundled_counts["parcels"] + 40
    # the whole layer from a file of one park's new parcels would orphan every clearance event: refused
    done = cli(
        "import", str(write_file(grid, tmp_path / "grid.gpkg")), "--layer", "parcels", "--atlas", str(atlas_file),
        "--replace-all",
    )  # fmt: skip
    assert done.returncode == 1
    assert count(atlas_file, "parcels") == bundled_counts["parcels"] + 40


def test_duplicate_id_hint_does_not_suggest_a_destructive_option(atlas_file, tmp_path):
    gb = _park_parcels(atlas_file, GB).iloc[:3]
    done = cli("import", str(write_file(gb, tmp_path / "dup.gpkg")), "--layer", "parcels", "--atlas", str(atlas_file))
    assert done.returncode == 1
    assert done.stderr.count("is already in the atlas") == 3
    assert "--mode replace" not in done.stderr and "--replace-all" not in done.stderr
    assert "give it a new parcel_id" in done.stderr


def test_import_refuses_overlapping_parcels_with_area_and_ids(atlas_file, park_geometry, tmp_path, bundled_counts):
    grid = parcel_grid(park_geometry, 10, prefix="OV")
    first = cli("import", str(write_file(grid, tmp_path / "g.gpkg")), "--layer", "parcels", "--atlas", str(atlas_file))
    assert first.returncode == 0, first.stderr
    # a new 10 m x 10 m parcel shifted 4 m east of OV-000003: overlaps it by 6 m x 10 m = 60 m² and
    # OV-000004 by 4 m x 10 m = 40 m²
    x0, y0, _, _ = grid.geometry.iloc[3].bounds
    moved = grid.iloc[[3]].assign(**{Col.PARCEL_ID: "OV-NEW"})
    moved = moved.set_geometry([shapely.box(x0 + 4, y0, x0 + 14, y0 + 10)])
    done = cli("import", str(write_file(moved, tmp_path / "m.gpkg")), "--layer", "parcels", "--atlas", str(atlas_file))
    assert done.returncode == 1
    out = done.stderr
    assert "parcels 'OV-NEW' and 'OV-000003' overlap by 0.0060 ha (60 m²)" in out
    assert "parcels 'OV-NEW' and 'OV-000004' overlap by 0.0040 ha (40 m²)" in out
    assert count(atlas_file, "parcels") == bundled_counts["parcels"] + 10


def test_import_blocks_what_validate_rejects(atlas_file, tmp_path, bundled_counts):
    atlas = kcn_gis.open_atlas(atlas_file)
    parks = atlas.parks
    gb = parks[parks[Col.PARK_ID] == GB].geometry.iloc[0]
    # a new park that overlaps Gia Bình by a 200 m x 1 900 m strip = 38 ha
    gx0, gy0, gx1, _ = gb.bounds
    strip = shapely.box(gx0 - 1000, gy0, gx0 + 200, gy0 + 1900)
    overlap_ha = shapely.intersection(strip, gb).area / 10_000
    new_park = parks[parks[Col.PARK_ID] == GB].assign(**{Col.PARK_ID: "GB2", Col.NAME: "KCN Gia Bình II"})
    new_park = new_park.set_geometry([strip])
    done = cli("import", str(write_file(new_park, tmp_path / "p.gpkg")), "--layer", "parks", "--atlas", str(atlas_file))
    assert done.returncode == 1
    assert f"parks 'GB2' and '{GB}' overlap by {overlap_ha:,.4f} ha" in done.stderr
    assert count(atlas_file, "parks") == bundled_counts["parks"]
    # a plot 100 % outside its park
    plots = atlas.plots
    plot = plots[plots[Col.PARK_ID] == "QV3"].iloc[[0]].assign(**{Col.PLOT_ID: "QV3-OUT", Col.PROJECT_ID: None})
    plot = plot.set_geometry([shapely.box(gx1 + 10_000, gy0, gx1 + 10_100, gy0 + 100)])
    done = cli("import", str(write_file(plot, tmp_path / "o.gpkg")), "--layer", "plots", "--atlas", str(atlas_file))
    assert done.returncode == 1
    assert "plot 'QV3-OUT' lies 1.0000 ha (10,000 m²) outside its park 'QV3' (100.0% of the plot)" in done.stderr
    assert count(atlas_file, "plots") == bundled_counts["plots"]


def test_warnings_are_printed_and_strict_makes_them_errors(atlas_file, park_geometry, tmp_path, bundled_counts):
    # a parcel of park QV2 drawn 10 km east of the park: a warning (parcel_outside_park)
    grid = parcel_grid(park_geometry, 1, prefix="FAR")
    _, y0, x1, _ = park_geometry.bounds
    far = grid.set_geometry([shapely.box(x1 + 10_000, y0, x1 + 10_010, y0 + 10)])
    src = write_file(far, tmp_path / "far.gpkg")
    done = cli("import", str(src), "--layer", "parcels", "--atlas", str(atlas_file), "--strict")
    assert done.returncode == 1
    assert f"parcel 'FAR-000000' lies 0.0100 ha (100 m²) outside its park '{PARK}'" in done.stderr
    assert "(an error with --strict)" in done.stderr
    assert count(atlas_file, "parcels") == bundled_counts["parcels"]
    done = cli("import", str(src), "--layer", "parcels", "--atlas", str(atlas_file))
    assert done.returncode == 0, done.stderr
    assert "parcel_outside_park" in done.stderr and "1 warning(s)" in done.stderr
    assert "FAR-000000" in ids(atlas_file, "parcels", "parcel_id")


def test_validate_reports_overlapping_parcels_and_orphaned_events(tmp_path):
    from tests.conftest import box, make_layers

    layers = make_layers()
    parcels = layers[Layer.PARCELS]
    # a third parcel over the eastern half of S1-1-1 (E 5 125-5 250) and the western 50 m of S1-1-2:
    # 125 m x 1 000 m = 12.5 ha with S1-1-1, 50 m x 1 000 m = 5 ha with S1-1-2
    extra = parcels.iloc[[0]].assign(**{Col.PARCEL_ID: "S1-1-3", Col.PARCEL_NO: "3"})
    extra = extra.set_geometry([box(5_125, 1_000, 5_300, 2_000)])
    layers[Layer.PARCELS] = gpd.GeoDataFrame(
        pd.concat([parcels, extra], ignore_index=True), geometry="geometry", crs=parcels.crs
    )
    events = layers[Layer.CLEARANCE_EVENTS]
    layers[Layer.CLEARANCE_EVENTS] = pd.concat(
        [events, events.assign(**{Col.EVENT_ID: "E2", Col.PARCEL_ID: "S1-9-9"})], ignore_index=True
    )
    path = tmp_path / "bad.gpkg"
    kcn_gis.write_atlas(path, layers)
    done = cli("validate", "--atlas", str(path), "--format", "csv")
    assert done.returncode == 1
    out = done.stdout
    assert "parcels 'S1-1-1' and 'S1-1-3' overlap by 12.5000 ha (125,000 m²)" in out
    assert "parcels 'S1-1-2' and 'S1-1-3' overlap by 5.0000 ha (50,000 m²)" in out
    assert "clearance event 'E2' refers to parcel_id 'S1-9-9', which is not in the parcels layer" in out
