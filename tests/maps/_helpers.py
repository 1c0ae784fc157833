"""Helpers of the map tests: read the page data back out of a rendered map, decode geometry."""

from __future__ import annotations

import json
import re

import numpy as np

_DATA = re.compile(r'<script type="application/json" id="([^"]+)">(.*?)</script>', re.S)


def _resolve(v, side):
    if isinstance(v, list):
        return [_resolve(x, side) for x in v]
    if isinstance(v, dict):
        if set(v) == {"$kcn"}:
            return side[v["$kcn"]]
        return {k: _resolve(x, side) for k, x in v.items()}
    return v


def page_data(html: str) -> dict:
    """The JSON page data of a kcn_gis map (exactly one per page), its big arrays put back in place."""
    found = _DATA.findall(html)
    assert len(found) == 1, f"expected one page-data element, found {len(found)}"
    name, text = found[0]
    side = re.findall(rf'<script type="application/json" data-kcn-arrays="{name}">(.*?)</script>', html, re.S)
    assert len(side) == 1, f"expected one side element of arrays, found {len(side)}"
    arrays = json.loads(side[0])
    assert all(isinstance(a, list) for a in arrays)
    return _resolve(json.loads(text), arrays)


def layer(data: dict, layer_id: str) -> dict:
    return next(x for x in data["layers"] if x["id"] == layer_id)


def column(lyr: dict, name: str) -> list:
    c = lyr["props"][name]
    return c["v"] if "v" in c else [c["d"][i] for i in c["i"]]


def classes_of(lyr: dict) -> list[dict]:
    cls = lyr["cls"]
    codes = [cls] * lyr["n"] if isinstance(cls, int) else cls
    return [lyr["classes"][c] for c in codes]


def decode(g: dict, n: int) -> list[list[np.ndarray]]:
    """Inverse of encode_geometry: per feature, a list of rings (lon, lat arrays, closing vertex dropped)."""
    scale = 10 ** g["p"]
    c = np.cumsum(np.asarray(g["c"], dtype=np.int64).reshape(-1, 2), axis=0) / scale if g["c"] else np.zeros((0, 2))
    at = 0

    def cnt(a, i):
        return a if isinstance(a, int) else a[i]

    out, part, ring = [], 0, 0
    for k in range(n):
        rings = []
        for _ in range(cnt(g["f"], k)):
            nr = 1 if g["t"] == "line" else cnt(g["r"], part)
            for _ in range(nr):
                m = cnt(g["n"], ring if g["t"] != "line" else part)
                rings.append(c[at : at + m])
                at += m
                ring += 1
            part += 1
        out.append(rings)
    assert at == len(c)
    return out
