"""The vectorised page-data encoders against the per-value encoders they replaced.

``_old_encode_column``, ``_old_encode_geometry`` and ``_old_safe_json`` below are the
previous implementations (one Python call per value, per part), kept here as the
reference: the fast encoders must give the same JSON values, escaped the same way.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from kcn_gis.crs import to_wgs84
from kcn_gis.jsonsafe import json_safe
from kcn_gis.maps.layers import (
    DictColumn,
    Encoded,
    array_json,
    encode_column,
    encode_geometry,
    encode_props,
    geometry_arrays,
    iter_json,
    lonlat_transform,
    safe_json,
)


# -- the reference: the per-value encoders as they were ---------------------------------------------
def _old_safe_json(obj):
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for a, b in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(a, b)
    return text


def _missing(v):
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    return isinstance(v, float) and math.isnan(v)


def _old_encode_column(values, digits=4):
    """What encode_props did with each column: a list of Python values, factorised as objects."""
    obj = pd.Series(list(values), dtype=object)
    n = len(obj)
    if n == 0:
        return {"v": []}
    if any(isinstance(v, (dict, list, tuple)) for v in obj.tolist()):
        seen, uniq, codes = {}, [], []
        for v in obj.tolist():
            key = id(v) if isinstance(v, (dict, list, tuple)) else id(None) if _missing(v) else None
            if key is None:
                v = str(v)
                key = hash(("s", v))
            if key not in seen:
                seen[key] = len(uniq)
                uniq.append(None if _missing(v) else json_safe(v, digits=digits))
            codes.append(seen[key])
        codes = np.asarray(codes)
    else:
        codes, labels = pd.factorize(obj, use_na_sentinel=True)
        uniq = [json_safe(v, digits=digits) for v in labels]
        if (codes < 0).any():
            codes = np.where(codes < 0, len(uniq), codes)
            uniq.append(None)
    if len(uniq) * 2 <= n:
        return {"d": uniq, "i": codes.tolist()}
    return {"v": [uniq[c] for c in codes.tolist()]}


def _old_encode_geometry(geoms, precision=6):
    arr = np.asarray(geoms, dtype=object)
    n = len(arr)
    arr = np.where(pd.isna(arr), shapely.Polygon(), arr) if n else arr
    types = set(shapely.get_type_id(arr[~shapely.is_empty(arr)]).tolist()) if n else set()
    is_line = bool(types) and types <= {1, 5}

    def counts(idx, m):
        return np.bincount(idx, minlength=m).astype(np.int64) if len(idx) else np.zeros(m, dtype=np.int64)

    def compact(c):
        return int(c[0]) if len(c) and (c == c[0]).all() else c.tolist()

    parts, part_idx = shapely.get_parts(arr, return_index=True)
    out = {"t": "line" if is_line else "polygon", "p": precision, "f": compact(counts(part_idx, n))}
    if is_line:
        rings = parts
    else:
        rings, ring_idx = shapely.get_rings(parts, return_index=True)
        out["r"] = compact(counts(ring_idx, len(parts)))
    coords, coord_idx = shapely.get_coordinates(rings, return_index=True)
    npts = counts(coord_idx, len(rings))
    if not is_line and len(coords):
        keep = np.ones(len(coords), dtype=bool)
        keep[np.cumsum(npts) - 1] = False
        coords, npts = coords[keep], npts - 1
    out["n"] = compact(npts)
    q = np.round(coords * 10**precision).astype(np.int64)
    flat = q.reshape(-1)
    if len(flat):
        d = np.empty_like(q)
        d[0], d[1:] = q[0], q[1:] - q[:-1]
        flat = d.reshape(-1)
    out["c"] = flat.tolist()
    return out


def _decoded(col):
    return col["v"] if "v" in col else [col["d"][i] for i in col["i"]]


HOSTILE = [
    "</script><script>alert(1)</script>",
    "a < b > c & d",
    "say \"hi\" and 'bye'",
    "back\\slash",
    "Xã Phương Liễu",
    unicodedata.normalize("NFD", "Đình Tổ"),  # decomposed text is kept as it is, not normalised
    "",
    "\u2028line\u2029sep",
    "url(http://example.org/x.png)",
]

COLUMNS = {
    "repeated text with nulls": ["a", "b", "a", "a", None, "a", np.nan, "a"],
    "hostile text, unique": HOSTILE,
    "hostile text, repeated": HOSTILE * 3 + [None] * 2,
    "text as pandas str": pd.Series(HOSTILE * 2 + [None], dtype="str"),
    "text as object": pd.Series(["Tiên Du", None, "Tiên Du", "Yên Phong"] * 3, dtype=object),
    "all missing": [None, None, None],
    "empty": [],
    "floats": [1.23456789, 2.0, np.nan, -0.0, 1e-5, 1e16, 123456.78905, float("inf"), 2.0, 1.00005, 0.12345],
    "floats repeated": [852.6, 685.8, 852.6, 852.6, np.nan, 852.6],
    "ints": [1, 2, 3, 1, 1, 1, 1, 1],
    "big ints": [2**40, -(2**40), 7, 2**40],
    "nullable ints": pd.Series([1, None, 2, 1, 1, 1], dtype="Int64"),
    "bools": [True, False, True, True],
    "bools with None": [True, None, False, True, True, True],
    "timestamps": [pd.Timestamp("2011-12-26"), pd.NaT, pd.Timestamp("2011-12-26 10:30"), pd.Timestamp("2011-12-26")],
    "datetime64 with NaT": pd.Series(pd.to_datetime(["2010-07-24", None, "2011-01-20", "2010-07-24"]).to_numpy()),
    "far-future dates in ms": pd.Series(np.array(["2300-01-01", "NaT", "2070-06-30T12:00"], dtype="datetime64[ms]")),
    "mixed objects": [1.23456789, 2.0, np.nan, pd.Timestamp("2011-12-26"), "x"],
    "lists": [["a", "b"], [], None, ["c"]],
}


@pytest.mark.parametrize("name", list(COLUMNS))
def test_fast_column_encoding_equals_the_per_value_encoding(name):
    values = COLUMNS[name]
    old = _old_encode_column(values)
    new = encode_column(values)
    assert _decoded(new) == _decoded(old)
    assert set(new) == set(old)  # the same choice of dictionary or plain values
    if "d" in old:
        # the same uniques, most common first (ties: first seen first), so common values get short codes
        assert sorted(map(json.dumps, new["d"])) == sorted(map(json.dumps, old["d"]))
        counts = np.bincount(new["i"], minlength=len(new["d"]))
        assert (np.diff(counts) <= 0).all()
    # and every piece is HTML-safe JSON that reads back the same values
    for piece in encode_props({"c": values})["c"].values():
        assert isinstance(piece, Encoded)
        assert not {"<", ">", "&", "\u2028", "\u2029"} & set(piece.text)


def test_float_rounding_matches_python_round_on_ties():
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.random(5000) * 1000, np.round(rng.random(2000) * 1000, 4) + 0.00005, [0.00005, 2.67675]])
    got = json.loads(array_json(x, digits=4).text)
    assert got == [json_safe(v, digits=4) for v in x.tolist()]
    raw = json.loads(array_json(x[:100]).text)
    assert raw == x[:100].tolist()


def test_text_keeps_nfc_and_escapes_markup_inside_the_page_data():
    props = encode_props({"name": HOSTILE, "rep": HOSTILE * 3})
    text = safe_json({"props": props})
    assert "<" not in text and ">" not in text and "&" not in text
    back = json.loads(text)["props"]
    assert _decoded(back["name"]) == HOSTILE
    assert _decoded(back["rep"]) == HOSTILE * 3
    assert unicodedata.is_normalized("NFC", _decoded(back["name"])[4])
    assert not unicodedata.is_normalized("NFC", _decoded(back["name"])[5])  # not silently changed either


def test_dict_column_equals_one_shared_object_per_value():
    names = [{"vi": "KCN Yên Phong", "en": "Yên Phong <IP>"}, {"vi": "KCN Quế Võ", "en": "Quế Võ & co"}]
    codes = np.array([0, 1, 0, 0, -1, 0, 1, 0])
    objs = [names[c] if c >= 0 else None for c in codes]
    col = encode_column(DictColumn(codes, names))
    assert _decoded(col) == _decoded(_old_encode_column(objs))
    assert col["d"] == [names[0], names[1], None] and col["i"] == [0, 1, 0, 0, 2, 0, 1, 0]
    mostly_unique = DictColumn(np.array([0, 1, -1]), names)
    assert encode_column(mostly_unique) == _old_encode_column([names[0], names[1], None])


def test_iter_json_equals_the_old_safe_json_for_plain_values():
    obj = {
        "title": {"vi": "Bản đồ <giải phóng mặt bằng>", "en": "Clearance & review"},
        "layers": [{"id": "x", "cls": [0, 1, 2], "props": {}}, {"id": "y", "cls": 3}],
        "slider": None,
        "n": 1.5,
        1: True,
    }
    assert safe_json(obj) == _old_safe_json(obj)
    with_arrays = {"c": np.array([5, -3, 120000000]), "f": np.array([1.5, np.nan]), "e": Encoded("[1,2]")}
    assert json.loads("".join(iter_json(with_arrays))) == {"c": [5, -3, 120000000], "f": [1.5, None], "e": [1, 2]}
    with pytest.raises(ValueError):
        safe_json({"x": [float("nan")]})


def _geoms():
    hole = shapely.Polygon([(0, 0), (10, 0), (10, 10), (0, 10)], [[(2, 2), (3, 2), (3, 3)]])
    return [
        [shapely.box(0, 0, 1, 1), None, shapely.Polygon(), shapely.MultiPolygon([shapely.box(5, 5, 6, 6), hole])],
        [hole, shapely.MultiPolygon(), shapely.box(0.5, 0.5, 0.75, 0.9)],
        [shapely.box(i, 0, i + 0.5, 0.5) for i in range(5)],
        [shapely.Polygon([(0, 0), (1, 0), (1.5, 0.7), (1, 1), (0, 1), (-0.2, 0.5)]), shapely.box(3, 3, 4, 4), None],
        [shapely.LineString([(0, 0), (1, 1)]), None, shapely.MultiLineString([[(0, 0), (1, 1)], [(2, 2), (3, 3)]])],
        [],
    ]


@pytest.mark.parametrize("case", range(6))
def test_fast_geometry_encoding_equals_the_per_part_encoding(case):
    geoms = [None if g is None else shapely.affinity.translate(g, 106, 21) for g in _geoms()[case]]
    assert encode_geometry(geoms) == _old_encode_geometry(geoms)


def test_geometry_reprojected_once_equals_reprojecting_the_geometries_first():
    rng = np.random.default_rng(3)
    x0, y0 = 560_000 + rng.random(400) * 5000, 2_335_000 + rng.random(400) * 5000
    cells = shapely.box(x0, y0, x0 + 16, y0 + 32)
    cells[7] = shapely.Polygon([(x0[7], y0[7]), (x0[7] + 20, y0[7]), (x0[7] + 10, y0[7] + 9)], [])
    frame = gpd.GeoDataFrame(geometry=cells, crs="EPSG:9209")
    old = _old_encode_geometry(np.asarray(to_wgs84(frame).geometry.values))
    new = geometry_arrays(np.asarray(frame.geometry.values), transform=lonlat_transform(frame.crs, what="test"))
    assert {k: v.tolist() if isinstance(v, np.ndarray) else v for k, v in new.items()} == old
    assert lonlat_transform("EPSG:4326", what="test") is None


def test_large_layers_are_reprojected_on_two_threads_with_the_same_numbers(monkeypatch):
    from kcn_gis.crs import wgs84_transformer
    from kcn_gis.maps import layers

    rng = np.random.default_rng(4)
    xy = np.column_stack([560_000 + rng.random(5000) * 9000, 2_335_000 + rng.random(5000) * 9000])
    expected = np.column_stack(wgs84_transformer("EPSG:9209").transform(xy[:, 0], xy[:, 1]))
    monkeypatch.setattr(layers, "_PARALLEL_VERTICES", 100)
    got = lonlat_transform("EPSG:9209", what="test")(xy)
    assert np.array_equal(got, expected)


def test_saved_file_is_the_rendered_page_and_the_page_around_the_data_is_still_checked(hostile_atlas, tmp_path):
    from branca.element import Element

    from kcn_gis.errors import KcnGisError
    from kcn_gis.maps import clearance_map, render_html, save_map

    def ids(text):  # element ids are random per map
        return re.sub(r"_[0-9a-f]{32}", "_ID", text)

    for offline in (False, True):  # a fresh map each: folium adds tile code again on a second render
        saved = save_map(
            clearance_map(hostile_atlas, as_of="2011-12-26"), tmp_path / f"c{offline}.html", offline=offline
        )
        page = render_html(clearance_map(hostile_atlas, as_of="2011-12-26"), offline=offline)
        assert ids(saved.read_text(encoding="utf-8")) == ids(page)  # streamed = rendered
    m = clearance_map(hostile_atlas, as_of="2011-12-26", time_slider=True)
    page = render_html(m, offline=True)
    assert "@@kcn-gis-page-data" not in page and page.count('<script type="application/json" data-kcn-arrays=') == 1
    m.get_root().html.add_child(Element('<img src="https://x.org/a.png">'))
    with pytest.raises(KcnGisError, match="network references"):
        save_map(m, tmp_path / "bad.html", offline=True)
    assert not (tmp_path / "bad.html").exists()
