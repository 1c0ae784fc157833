"""Readers: one per input format, each returning a :class:`SourceData` (raw columns, raw coordinates).

Nothing here maps columns, converts encodings or reprojects: readers keep
what the file says, record where each feature came from (1-based row, source
layer) and report row-level problems. Formats:

* GeoPackage, GeoJSON, Shapefile (pyogrio/GDAL). Shapefile text is read byte
  for byte (ISO-8859-1) unless the ``.cpg`` says UTF-8, so that legacy TCVN3
  and VNI text survives to :mod:`kcn_gis.interop.vntext`.
* KML/KMZ (GDAL's LIBKML driver): each folder becomes the ``source_layer`` of
  its placemarks, ``ExtendedData`` fields become columns.
* DXF (ezdxf): closed polylines become polygons, TEXT/MTEXT inside a polygon
  its attributes, layer names are kept (:func:`read_dxf`).
* CSV/XLSX: WKT, point or vertex tables (:func:`read_table`).
"""

from __future__ import annotations

import logging
import os
import re
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, overload

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS

from kcn_gis.errors import InputFileError, MissingDependencyError, Problem
from kcn_gis.interop.importers.mapping import SOURCE_LAYER, ColumnMapping, normalize_header
from kcn_gis.interop.importers.tables import SheetProblem

__all__ = [
    "DXF_XDATA_APP",
    "FORMATS",
    "SourceData",
    "detect_format",
    "read_dxf",
    "read_source",
    "read_table",
    "read_vector",
]

log = logging.getLogger(__name__)

#: Input formats by name -> file suffixes.
FORMATS: dict[str, tuple[str, ...]] = {
    "gpkg": (".gpkg",),
    "geojson": (".geojson", ".json"),
    "shp": (".shp",),
    "kml": (".kml",),
    "kmz": (".kmz",),
    "dxf": (".dxf",),
    "csv": (".csv", ".txt"),
    "xlsx": (".xlsx", ".xlsm"),
}
#: XDATA application name under which kcn_gis stores attributes in the DXF files it writes.
DXF_XDATA_APP = "KCN_GIS"

# Columns LIBKML adds to every layer; kept only when they carry something.
_KML_BOOKKEEPING: tuple[str, ...] = (
    "id",
    "timestamp",
    "begin",
    "end",
    "altitudeMode",
    "tessellate",
    "extrude",
    "visibility",
    "drawOrder",
    "icon",
    "snippet",
)


class RowNumbers(Sequence[int]):
    """File rows (1-based), one per feature, held as one int64 array; items come out as Python ints.

    A list of Python ints costs about 36 bytes a row on the heap, among the geometries; a
    vertex table of 100,000 parcels would hold 4 MB of them for the whole import.
    """

    __slots__ = ("_rows",)

    def __init__(self, rows: Iterable[int] | np.ndarray) -> None:
        self._rows = np.asarray(rows if isinstance(rows, np.ndarray) else list(rows), dtype=np.int64).reshape(-1)

    def __len__(self) -> int:
        return len(self._rows)

    @overload
    def __getitem__(self, i: int) -> int: ...

    @overload
    def __getitem__(self, i: slice) -> RowNumbers: ...

    def __getitem__(self, i: int | slice) -> int | RowNumbers:
        if isinstance(i, slice):
            return RowNumbers(self._rows[i])
        return int(self._rows[i])

    def __iter__(self) -> Iterator[int]:
        for start in range(0, len(self._rows), 65_536):
            yield from self._rows[start : start + 65_536].tolist()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, RowNumbers):
            return bool(np.array_equal(self._rows, other._rows))
        if isinstance(other, Sequence) and not isinstance(other, str):
            return len(other) == len(self) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"RowNumbers({self._rows.tolist()!r})" if len(self) <= 20 else f"RowNumbers(<{len(self)} rows>)"


@dataclass
class SourceData:
    """What a reader found in a file, untouched.

    Attributes
    ----------
    frame : GeoDataFrame
        One row per feature, source columns as they are; ``frame.crs`` is what
        the file declares (None when it declares nothing).
    path : Path
    fmt : str
        Format name (key of :data:`FORMATS`).
    rows : sequence of int
        1-based row (feature, table row or DXF entity ordinal) in the file, per feature
        (a list, or :class:`RowNumbers` for large tables).
    problems : list of Problem
        Row-level problems found while reading.
    notes : list of str
        What the reader did (e.g. "closed 3 rings").
    encoding_hint : str or None
        ``"legacy"`` when text was read byte for byte from a single-byte code page.
    sheets : list of str, optional
        For a workbook read sheet by sheet: the sheet of each feature (its row is in that sheet).
    """

    frame: gpd.GeoDataFrame
    path: Path
    fmt: str
    rows: Sequence[int]
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    encoding_hint: str | None = None
    xy_convention: str | None = None
    sheets: list[str] | None = None


def detect_format(path: str | os.PathLike[str]) -> str:
    """Return the format name of ``path`` from its suffix.

    Raises
    ------
    InputFileError
        For an unknown suffix; the message lists the formats.
    """
    suffix = Path(path).suffix.lower()
    for name, suffixes in FORMATS.items():
        if suffix in suffixes:
            return name
    known = ", ".join(s for v in FORMATS.values() for s in v)
    raise InputFileError(f"{path}: unknown file type '{suffix}'; kcn-gis import reads {known}")


def read_source(
    path: str | os.PathLike[str],
    *,
    fmt: str | None = None,
    source_layer: str | None = None,
    encoding: str | None = None,
    mapping: ColumnMapping | None = None,
    xy_convention: str | None = None,
    geometry: str = "polygon",
) -> SourceData:
    """Read any supported file into a :class:`SourceData`.

    Parameters
    ----------
    path : path-like
    fmt : str, optional
        Format name; default from the suffix (:func:`detect_format`).
    source_layer : str, optional
        Layer of a multi-layer GeoPackage (or sheet of a workbook).
    encoding : str, optional
        A Python/GDAL code page for the file's text (``"cp1258"``, ``"utf-8"``), or
        ``"tcvn3"``/``"vni"``/``"auto"`` (text is then read byte for byte and
        converted later by :mod:`kcn_gis.interop.vntext`).
    mapping : ColumnMapping, optional
        Its ``geometry`` section tells the table reader which columns hold X, Y, ids or WKT.
    xy_convention : {"vn", "gis"}, optional
        For tables with ``X``/``Y`` headers: ``vn`` (default) reads X as northing.
    geometry : {"polygon", "line"}
        What the target layer holds; DXF reads closed or open polylines accordingly.

    Raises
    ------
    InputFileError
        When the file cannot be read at all.
    """
    p = Path(path)
    if not p.exists():
        raise InputFileError(f"{p}: file not found")
    fmt = fmt or detect_format(p)
    if fmt == "dxf":
        return read_dxf(p, geometry=geometry)
    if fmt in ("csv", "xlsx"):
        return read_table(p, fmt=fmt, sheet=source_layer, encoding=encoding, mapping=mapping, xy=xy_convention)
    return read_vector(p, fmt=fmt, source_layer=source_layer, encoding=encoding)


# ---------------------------------------------------------------------------------------------------
_LEGACY_NAMES = {"tcvn3", "vni", "auto"}


def _shapefile_encoding(path: Path, encoding: str | None) -> tuple[str | None, str | None]:
    """Return (encoding for pyogrio, hint) for a Shapefile."""
    if encoding and encoding.lower() not in _LEGACY_NAMES:
        return encoding, None
    if encoding and encoding.lower() in ("tcvn3", "vni"):
        return "latin1", "legacy"
    cpg = path.with_suffix(".cpg")
    if not cpg.exists():
        cpg = path.with_suffix(".CPG")
    declared = cpg.read_text(encoding="ascii", errors="replace").strip() if cpg.exists() else ""
    if normalize_header(declared) in ("utf8", "65001"):
        return "utf-8", None
    # no .cpg, or a single-byte code page: read byte for byte and let vntext decide
    return "latin1", "legacy"


def read_vector(path: Path, *, fmt: str, source_layer: str | None = None, encoding: str | None = None) -> SourceData:
    """Read a GeoPackage, GeoJSON, Shapefile or KML/KMZ with pyogrio (GDAL)."""
    hint = None
    kwargs: dict[str, Any] = {}
    if fmt == "shp":
        enc, hint = _shapefile_encoding(path, encoding)
        kwargs["encoding"] = enc
    elif encoding and encoding.lower() not in _LEGACY_NAMES:
        kwargs["encoding"] = encoding
    try:
        # QGIS's (and kcn_gis's) style table is not data: a GeoPackage with styles is still one layer
        layers = [str(n) for n, _ in pyogrio.list_layers(path) if str(n) != "layer_styles"]
    except Exception as exc:
        raise InputFileError(f"{path}: cannot be opened as {fmt}: {exc}") from exc
    if fmt in ("kml", "kmz"):
        chosen = [source_layer] if source_layer else layers
    elif source_layer:
        chosen = [source_layer]
    elif len(layers) == 1:
        chosen = layers
    else:
        raise InputFileError(
            f"{path} has {len(layers)} layers ({', '.join(layers)}); choose one with --source-layer NAME"
        )
    missing = [n for n in chosen if n not in layers]
    if missing:
        raise InputFileError(f"{path} has no layer '{missing[0]}'; its layers are: {', '.join(layers)}")
    frames: list[gpd.GeoDataFrame] = []
    for name in chosen:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                df = pyogrio.read_dataframe(path, layer=name, **kwargs)
        except Exception as exc:
            raise InputFileError(f"{path} layer '{name}' cannot be read: {exc}") from exc
        if not isinstance(df, gpd.GeoDataFrame):
            df = gpd.GeoDataFrame(df, geometry=gpd.GeoSeries([None] * len(df)))
        if fmt in ("kml", "kmz"):
            df = _clean_kml(df).rename(columns=_kml_field_names(path))
            df[SOURCE_LAYER] = name
        frames.append(df)
    crs = frames[0].crs if frames else None
    if fmt in ("kml", "kmz"):
        crs = CRS.from_epsg(4326)  # KML is WGS 84 longitude/latitude by definition
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    frame = gpd.GeoDataFrame(frame, geometry=frame.geometry.name, crs=None)
    frame = frame.set_crs(crs, allow_override=True) if crs is not None else frame
    src = SourceData(frame=frame, path=path, fmt=fmt, rows=list(range(1, len(frame) + 1)), encoding_hint=hint)
    if fmt in ("kml", "kmz") and len(chosen) > 1:
        src.notes.append(f"read {len(chosen)} KML folders: {', '.join(chosen)} (kept in '{SOURCE_LAYER}')")
    return src


def _kml_field_names(path: Path) -> dict[str, str]:
    """Map the field names LIBKML made ASCII (each non-ASCII byte -> ``_``) back to the names in the KML.

    ``<Data name="Mã KCN">`` becomes the field ``M___KCN`` in GDAL; this returns
    ``{"M___KCN": "Mã KCN"}`` for every ``Data``/``SimpleData``/``SimpleField`` name.
    """
    import zipfile
    from xml.etree import ElementTree as ET

    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as zf:
                inner = next((n for n in zf.namelist() if n.lower().endswith(".kml")), None)
                if inner is None:
                    return {}
                data = zf.read(inner)
        else:
            data = path.read_bytes()
        root = ET.fromstring(data)
    except (OSError, ET.ParseError, zipfile.BadZipFile):
        return {}
    names: set[str] = set()
    for el in root.iter():
        tag = el.tag.rsplit("}", 1)[-1]
        if tag in ("Data", "SimpleData", "SimpleField") and el.get("name"):
            names.add(str(el.get("name")))

    def mangle(name: str) -> str:
        return "".join(
            chr(b) if chr(b).isascii() and (chr(b).isalnum() or chr(b) == "_") else "_" for b in name.encode()
        )

    return {mangle(n): n for n in names if mangle(n) != n}


def _clean_kml(df: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    drop = []
    for c in _KML_BOOKKEEPING:
        if c in df.columns:
            s = df[c]
            if c in ("tessellate", "extrude", "visibility", "drawOrder") or s.isna().all():
                drop.append(c)
    if "description" in df.columns and df["description"].isna().all():
        drop.append("description")
    return df.drop(columns=drop)


# ---------------------------------------------------------------------------------------------------
_NUMBER = re.compile(r"^\s*\d+(?:[.,]\d+)?\s*(?:m2|m²)?\s*$", re.IGNORECASE)
_INTEGER = re.compile(r"^\s*\d+[a-zA-Z]?\s*$")
_LAND_CODE = re.compile(r"^\s*[A-Z]{2,4}(?:\+[A-Z]{2,4})*\s*$")
_KEY_VALUE = re.compile(r"^\s*([^:=]{1,40}?)\s*[:=]\s*(.+?)\s*$")


def _dxf_texts(msp: Any) -> list[tuple[float, float, str, str]]:
    out = []
    for e in msp.query("TEXT MTEXT"):
        if e.dxftype() == "MTEXT":
            text = e.plain_text()
            x, y = e.dxf.insert.x, e.dxf.insert.y
        else:
            text = e.dxf.text
            # aligned text: the alignment point is the visual anchor; the insertion point otherwise
            anchor = e.dxf.align_point if e.dxf.hasattr("align_point") and (e.dxf.halign or e.dxf.valign) else None
            x, y = (anchor.x, anchor.y) if anchor is not None else (e.dxf.insert.x, e.dxf.insert.y)
        if text and text.strip():
            out.append((float(x), float(y), str(text), str(e.dxf.layer)))
    return out


def _dxf_attribs(msp: Any) -> list[tuple[float, float, str, str]]:
    """Block attributes (INSERT + ATTRIB) as labels ``TAG: value`` at the block's insertion point.

    MicroStation/Famis exports often place one block per parcel whose
    attributes hold the parcel number, land type, area and holder (tags such
    as ``SOTHUA``, ``LOAIDAT``, ``DIENTICH``); the tag becomes the field name,
    which the column mapping then recognises like any header.
    """
    out = []
    for ins in msp.query("INSERT"):
        x, y = float(ins.dxf.insert.x), float(ins.dxf.insert.y)
        for att in ins.attribs:
            text = str(att.dxf.text or "").strip()
            tag = str(att.dxf.tag or "").strip()
            if text and tag and not re.search(r"[:=]", tag):
                out.append((x, y, f"{tag}: {text}", str(att.dxf.layer)))
    return out


def _ring_points(entity: Any) -> Any:
    """The vertices of a polyline as an (n, 2) array, or a list of (x, y) for arcs (flattened to 1 mm).

    A straight LWPOLYLINE in the world plane (the cadastral case) is read straight from ezdxf's
    vertex array, with no Python loop per vertex.
    """
    from ezdxf import path as ezpath

    if entity.dxftype() == "LWPOLYLINE":
        ext = entity.dxf.extrusion
        arr = np.asarray(entity.lwpoints.values, dtype="float64").reshape(-1, 5)
        if not arr[:, 4].any() and (abs(ext[0]), abs(ext[1]), ext[2]) == (0.0, 0.0, 1.0):
            return arr[:, :2].copy()

    p = ezpath.make_path(entity)
    return [(v.x, v.y) for v in p.flattening(distance=0.001)]


def _xdata(entity: Any) -> dict[str, str] | None:
    if not entity.has_xdata(DXF_XDATA_APP):
        return None
    out: dict[str, str] = {}
    last = None
    for code, value in entity.get_xdata(DXF_XDATA_APP):
        if code != 1000:
            continue
        text = str(value)
        if text.startswith("+") and last is not None:  # continuation of a long value
            out[last] += text[1:]
            continue
        if "=" in text:
            k, v = text.split("=", 1)
            out[k] = v
            last = k
    return out


def _label_fields(texts: Iterable[tuple[str, str]]) -> tuple[dict[str, str], list[str]]:
    """Turn the labels inside one polygon into fields.

    A ``key: value`` label is a named field; a lone integer the parcel number
    (``parcel_no``), a decimal number the area (``legal_area_m2``), a 2-4
    capital-letter code the land type (``land_type``). Labels on a layer whose
    name says what they are (``SOTHUA``, ``LOAIDAT``, ``DIENTICH`` ...) are
    taken by the layer name. Returns (fields, labels that could not be placed).
    """
    fields: dict[str, str] = {}
    left: list[str] = []
    for raw, layer in texts:
        for line in re.split(r"[\n\r]+|\\P", raw):
            text = line.strip()
            if not text:
                continue
            lay = normalize_header(layer)
            kv = _KEY_VALUE.match(text)
            if kv:
                fields.setdefault(kv.group(1).strip(), kv.group(2).strip())
            elif "thua" in lay and "parcel_no" not in fields:
                fields["parcel_no"] = text
            elif "loaidat" in lay and "land_type" not in fields:
                fields["land_type"] = text
            elif ("dientich" in lay or lay.startswith("dt")) and "legal_area_m2" not in fields:
                fields["legal_area_m2"] = re.sub(r"\s*(m2|m²)$", "", text)
            elif "chusudung" in lay and "holder_name" not in fields:
                fields["holder_name"] = text
            elif _INTEGER.match(text) and "parcel_no" not in fields:
                fields["parcel_no"] = text
            elif _NUMBER.match(text) and "legal_area_m2" not in fields:
                fields["legal_area_m2"] = re.sub(r"\s*(m2|m²)$", "", text, flags=re.IGNORECASE)
            elif _LAND_CODE.match(text) and "land_type" not in fields:
                fields["land_type"] = text
            else:
                left.append(text)
    return fields, left


def read_dxf(path: Path, *, geometry: str = "polygon") -> SourceData:
    """Read a cadastral DXF drawing with ezdxf.

    * Closed LWPOLYLINE/POLYLINE entities (or open ones whose ends meet) become
      polygons; arcs (bulges) are flattened to 1 mm. Layer names are kept in
      ``source_layer``.
    * TEXT/MTEXT whose anchor lies inside a polygon become its attributes (the
      smallest polygon holding it): see :func:`_label_fields`. A parcel label
      like ``12`` / ``LUC`` / ``345.6`` gives ``parcel_no``, ``land_type`` and
      ``legal_area_m2``; ``Chủ sử dụng: Nguyễn Văn A`` gives a named field.
    * Attributes stored by kcn_gis itself as XDATA (application ``KCN_GIS``)
      are read exactly, and win over labels.

    With ``geometry="line"`` (the ``rivers`` layer) open polylines become lines
    instead, with their XDATA attributes; closed ones are ignored.

    DXF has no CRS: the frame's CRS is None (declare it with ``--crs``).
    """
    if geometry == "line":
        return _read_dxf_lines(path)
    try:
        import ezdxf
    except ImportError as exc:  # pragma: no cover - ezdxf is a dev dependency
        raise MissingDependencyError.for_extra("ezdxf", "cad", "Reading DXF drawings") from exc
    try:
        doc = ezdxf.readfile(path)
    except (OSError, ezdxf.DXFStructureError) as exc:
        raise InputFileError(f"{path}: cannot be read as DXF: {exc}") from exc
    msp = doc.modelspace()
    problems: list[Problem] = []
    polys: list[shapely.Polygon] = []
    attrs: list[dict[str, str]] = []
    layers: list[str] = []
    handles: list[str] = []
    open_skipped = 0
    holes: dict[str, list[shapely.Polygon]] = {}
    for e in msp.query("LWPOLYLINE POLYLINE"):
        pts = _ring_points(e)
        closed = bool(getattr(e, "closed", False) or getattr(e, "is_closed", False))
        if not closed and len(pts) >= 4 and np.allclose(pts[0], pts[-1]):
            closed = True
        if not closed:
            open_skipped += 1
            continue
        if len(pts) < 3:
            problems.append(
                Problem(
                    "error",
                    "bad_geometry",
                    "closed polyline with fewer than 3 vertices",
                    row=len(polys) + 1,
                    field="geometry",
                    ids=(f"handle {e.dxf.handle}",),
                    file=str(path),
                )
            )
            continue
        xd = _xdata(e)
        poly = shapely.Polygon(pts)
        if xd is not None and xd.get("_ring") == "hole":
            holes.setdefault(xd.get("_feature", ""), []).append(poly)
            continue
        polys.append(poly)
        attrs.append(xd or {})
        layers.append(str(e.dxf.layer))
        handles.append(str(e.dxf.handle))
    # multi-part features written by kcn_gis share a _feature id: merge them back
    feature_ids = [a.get("_feature") for a in attrs]
    plain = _dxf_texts(msp)
    attribs = _dxf_attribs(msp)
    texts = plain + attribs
    inside: dict[int, list[tuple[str, str]]] = {}
    unplaced = len(texts)
    placed_attribs = 0
    if polys and texts:
        # every label at once: the smallest polygon holding its anchor
        pts = shapely.points(np.array([(t[0], t[1]) for t in texts], dtype="float64"))
        li, pi = shapely.STRtree(polys).query(pts, predicate="within")
        areas = shapely.area(np.asarray(polys, dtype=object))
        order = np.lexsort([areas[pi], li])
        li, pi = li[order], pi[order]
        first = np.ones(len(li), dtype=bool)
        first[1:] = li[1:] != li[:-1]
        for k, i in zip(li[first].tolist(), pi[first].tolist(), strict=True):
            inside.setdefault(i, []).append((texts[k][2], texts[k][3]))
        unplaced = len(texts) - int(first.sum())
        placed_attribs = int((li[first] >= len(plain)).sum())
    rows: list[dict[str, Any]] = []
    parts: list[list[shapely.Polygon]] = []
    row_numbers: list[int] = []
    merged: dict[str, int] = {}
    for i, poly in enumerate(polys):
        fid = feature_ids[i]
        if fid and fid in merged:
            parts[merged[fid]].append(poly)
            continue
        if attrs[i]:
            rec: dict[str, Any] = {k: v for k, v in attrs[i].items() if not k.startswith("_")}
        else:
            fields, left = _label_fields(inside.get(i, []))
            rec = dict(fields)
            if left:
                rec["dxf_labels"] = " | ".join(left)
        rec[SOURCE_LAYER] = layers[i]
        if fid:
            merged[fid] = len(parts)
        rows.append(rec)
        parts.append([poly])
        row_numbers.append(i + 1)
    for fid, hs in holes.items():
        if fid in merged:
            j = merged[fid]
            for h in hs:
                for k, part in enumerate(parts[j]):
                    if part.contains(h.representative_point()):
                        parts[j][k] = shapely.Polygon(
                            part.exterior.coords, [*(r.coords for r in part.interiors), h.exterior.coords]
                        )
                        break
    geoms = [p[0] if len(p) == 1 else shapely.MultiPolygon(p) for p in parts]
    frame = gpd.GeoDataFrame(pd.DataFrame(rows), geometry=gpd.GeoSeries(geoms), crs=None)
    src = SourceData(frame=frame, path=path, fmt="dxf", rows=row_numbers, problems=problems)
    src.notes.append(
        f"{len(frame)} polygon(s) from closed polylines, {len(texts) - unplaced} label(s) placed"
        + (f" ({placed_attribs} of them block attributes, INSERT/ATTRIB)" if attribs else "")
    )
    if open_skipped:
        src.notes.append(f"{open_skipped} open polyline(s) ignored (not boundaries)")
    if unplaced:
        src.problems.append(
            Problem(
                "warning",
                "label_outside",
                f"{unplaced} TEXT/MTEXT/ATTRIB label(s) lie inside no closed polyline and were not used",
                file=str(path),
            )
        )
    return src


def _read_dxf_lines(path: Path) -> SourceData:
    import ezdxf

    try:
        doc = ezdxf.readfile(path)
    except (OSError, ezdxf.DXFStructureError) as exc:
        raise InputFileError(f"{path}: cannot be read as DXF: {exc}") from exc
    rows: list[dict[str, Any]] = []
    parts: list[list[shapely.LineString]] = []
    numbers: list[int] = []
    merged: dict[str, int] = {}
    for i, e in enumerate(doc.modelspace().query("LWPOLYLINE POLYLINE LINE")):
        if bool(getattr(e, "closed", False) or getattr(e, "is_closed", False)):
            continue
        pts = [(e.dxf.start.x, e.dxf.start.y), (e.dxf.end.x, e.dxf.end.y)] if e.dxftype() == "LINE" else _ring_points(e)
        if len(pts) < 2:
            continue
        line = shapely.LineString(pts)
        xd = (_xdata(e) if e.dxftype() != "LINE" else None) or {}
        fid = xd.get("_feature")
        if fid and fid in merged:
            parts[merged[fid]].append(line)
            continue
        rec: dict[str, Any] = {k: v for k, v in xd.items() if not k.startswith("_")}
        rec[SOURCE_LAYER] = str(e.dxf.layer)
        if fid:
            merged[fid] = len(parts)
        rows.append(rec)
        parts.append([line])
        numbers.append(i + 1)
    geoms = [p[0] if len(p) == 1 else shapely.MultiLineString(p) for p in parts]
    frame = gpd.GeoDataFrame(pd.DataFrame(rows), geometry=gpd.GeoSeries(geoms), crs=None)
    return SourceData(
        frame=frame, path=path, fmt="dxf", rows=numbers, notes=[f"{len(frame)} line(s) from open polylines"]
    )


# ---------------------------------------------------------------------------------------------------
_X_HEADERS = {"x", "toadox", "xm", "toadoxm"}
_Y_HEADERS = {"y", "toadoy", "ym", "toadoym"}
_E_HEADERS = {"e", "easting", "dong", "lon", "lng", "long", "longitude", "kinhdo"}
_N_HEADERS = {"n", "northing", "bac", "lat", "latitude", "vido"}
_ID_HEADERS = ("ring", "ringid", "polygon", "feature", "featureid", "sohieuthua", "mathua", "sothua", "malo", "id")
_ORDER_HEADERS = ("stt", "order", "thutu", "vertex", "diem", "sohieudiem", "tendiem")
_WKT_HEADERS = ("wkt", "geometry", "geom", "hinhhoc")


def _find(headers: list[str], candidates: Iterable[str]) -> str | None:
    norm = {normalize_header(h): h for h in headers}
    for c in candidates:
        if c in norm:
            return norm[c]
    return None


def _to_float(v: Any) -> float | None:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return None
    if isinstance(v, int | float | np.integer | np.floating):
        return float(v)
    text = str(v).strip().replace(" ", "").replace("\u00a0", "")
    if not text:
        return None
    if "," in text and "." in text:
        text = text.replace(".", "").replace(",", ".") if text.rfind(",") > text.rfind(".") else text.replace(",", "")
    elif "," in text:
        text = text.replace(",", ".")
    try:
        return float(text)
    except ValueError:
        return None


def _floats(values: pd.Series) -> np.ndarray:
    """Coordinates as float64, vectorised: ``1234.5``, ``1234,5``, ``1.234,5``, ``1 234.5`` (NaN when not a number)."""
    if isinstance(values.dtype, pd.CategoricalDtype):  # each distinct text is parsed once
        parsed = _floats(pd.Series(values.cat.categories))
        codes = values.cat.codes.to_numpy()
        return np.where(codes >= 0, np.append(parsed, np.nan)[codes], np.nan)
    if pd.api.types.is_numeric_dtype(values.dtype):
        return values.to_numpy(dtype="float64", na_value=np.nan)
    try:  # the common case, plain numbers: one cast in C
        return values.astype("float64").to_numpy(dtype="float64", na_value=np.nan)
    except (ValueError, TypeError):
        pass
    s = values.astype("string").str.strip().str.replace("\u00a0", "", regex=False).str.replace(" ", "", regex=False)
    has_comma = s.str.contains(",", regex=False).fillna(False).to_numpy(bool)
    if has_comma.any():
        has_dot = s.str.contains(".", regex=False).fillna(False).to_numpy(bool)
        last_comma = s.str.rfind(",").fillna(-1).to_numpy()
        last_dot = s.str.rfind(".").fillna(-1).to_numpy()
        eu = has_comma & has_dot & (last_comma > last_dot)  # 1.234,5
        us = has_comma & has_dot & ~eu  # 1,234.5
        only = has_comma & ~has_dot  # 1234,5
        s = s.copy()
        s[eu] = s[eu].str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
        s[us] = s[us].str.replace(",", "", regex=False)
        s[only] = s[only].str.replace(",", ".", regex=False)
    return pd.to_numeric(s, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def _bad_numbers(
    table: pd.DataFrame, col: str, values: np.ndarray, rows: np.ndarray, fname: str, problems: list[Problem]
) -> None:
    raw = table[col]
    given = _codes(raw)[0] >= 0
    for i in np.flatnonzero(np.isnan(values) & given):  # only the bad cells are visited
        problems.append(
            Problem(
                "error",
                "bad_coordinate",
                f"'{raw.iat[i]}' is not a number",
                row=int(rows[i]),
                field=col,
                file=fname,
            )
        )
    for i in np.flatnonzero(~given):
        problems.append(
            Problem("error", "bad_coordinate", "the coordinate is empty", row=int(rows[i]), field=col, file=fname)
        )


def _table_known(key: str) -> bool:
    from kcn_gis.interop.importers.mapping import DEFAULT_HEADERS

    geo = _X_HEADERS | _Y_HEADERS | _E_HEADERS | _N_HEADERS | set(_ID_HEADERS) | set(_ORDER_HEADERS)
    return key in geo or key in _WKT_HEADERS or any(key in t for t in DEFAULT_HEADERS.values())


class _ArrowCannotReadError(Exception):
    """The Arrow CSV reader cannot take this file (ragged rows ...): pandas' parser will, and says where."""


def _header_names(header: list[str], width: int) -> list[str]:
    """Column names as pandas gives them: blanks are ``Unnamed: i``, repeats get ``.1``, ``.2`` ..."""
    names: list[str] = []
    seen: dict[str, int] = {}
    for i in range(width):
        name = header[i].strip() if i < len(header) and header[i].strip() else f"Unnamed: {i}"
        if name in seen:
            seen[name] += 1
            while f"{name}.{seen[name]}" in seen:
                seen[name] += 1
            name = f"{name}.{seen[name]}"
        seen.setdefault(name, 0)
        names.append(name)
    return names


def _arrow_csv(path: Path, encoding: str, delimiter: str, skip: int, header: list[str]) -> pd.DataFrame:
    """Read a CSV with Arrow, every column as dictionary-encoded text, into a frame of categorical columns.

    A vertex table repeats each parcel's attributes on every vertex row: as categories each value is
    stored once and each cell is a 4-byte code, so the table takes about half the size of the file in
    memory instead of several times it. Text is kept exactly as written (no number inference).
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    if not header:
        raise _ArrowCannotReadError
    names = _header_names(header, len(header))
    text = pa.dictionary(pa.int32(), pa.string())
    chunks: dict[str, list[Any]] = {n: [] for n in names}
    try:
        # streamed a block at a time on one thread: only the dictionary-encoded blocks are ever held
        reader = pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(
                skip_rows=skip + 1, column_names=names, encoding=encoding, block_size=1 << 20, use_threads=False
            ),
            parse_options=pacsv.ParseOptions(delimiter=delimiter),
            convert_options=pacsv.ConvertOptions(
                column_types={n: text for n in names},
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
            ),
        )
        for batch in reader:
            for i, n in enumerate(names):
                chunks[n].append(batch.column(i))
        del reader
    except pa.ArrowInvalid as exc:
        if "utf8" in str(exc).lower().replace("-", ""):
            raise UnicodeDecodeError("utf-8", b"", 0, 1, str(exc)) from None
        raise _ArrowCannotReadError from exc
    columns: dict[str, Any] = {}
    for name in names:
        # one dictionary for the column (each block had its own), then codes for pandas; the Arrow
        # memory of each column is given back before the next, so the blocks are never held twice
        one = pa.Table.from_arrays([pa.chunked_array(chunks.pop(name), type=text)], names=[name])
        col = one.unify_dictionaries().column(0)
        del one
        dictionary = col.chunk(0).dictionary if col.num_chunks else pa.array([], pa.string())
        if 16 * len(dictionary) > col.length():
            # mostly distinct values (coordinates, ids): plain Arrow text, as categories would cost a hash
            # table of every value on top of the text
            plain = pd.Series(col.cast(pa.string()).to_pandas(), dtype="str")
            del col, dictionary
            _release_arrow_memory()
            columns[name] = plain
            continue
        codes = np.concatenate(
            [c.indices.fill_null(-1).to_numpy(zero_copy_only=False) for c in col.chunks] or [np.zeros(0, np.int32)]
        )
        categories = pd.Index(dictionary.to_pandas(), dtype="str")
        del col, dictionary
        _release_arrow_memory()
        columns[name] = pd.Categorical.from_codes(codes, categories=categories)
    return pd.DataFrame(columns, copy=False)


def _csv_frame(path: Path, encoding: str | None, mapping: ColumnMapping) -> tuple[pd.DataFrame, np.ndarray, str | None]:
    """A CSV as text columns, its header found below title rows; returns (frame, 1-based rows, encoding hint).

    The file is parsed by Arrow straight from disk (no decoded copy of it in memory) into categorical
    columns of text (see :func:`_arrow_csv`): as UTF-8 when its bytes are valid UTF-8, else byte for byte
    (ISO-8859-1) for :mod:`kcn_gis.interop.vntext` to repair. A file Arrow cannot parse (ragged rows) is
    read by pandas' parser, whose error says where.
    """
    import csv as _csv

    from kcn_gis.interop.importers.tables import RawSheet, find_header_block

    enc = (encoding or "auto").lower()
    hint = None
    if enc in ("tcvn3", "vni"):
        py_enc, hint = "latin-1", "legacy"
    elif enc in ("auto", "unicode", "utf-8", "utf8"):
        py_enc = "utf-8-sig"
    else:
        py_enc = enc
    with open(path, "rb") as fh:
        head_bytes = fh.read(64_000)
    head = head_bytes.decode("utf-8" if py_enc == "utf-8-sig" else py_enc, errors="replace").lstrip("\ufeff")
    lines = head.splitlines()[:26]
    try:
        delimiter = _csv.Sniffer().sniff(lines[0] if lines else "", delimiters=",;\t").delimiter
    except _csv.Error:
        delimiter = ","
    skip = 0
    if mapping.header_row is not None:
        skip = mapping.header_row - 1
    else:
        cells = [[v or None for v in r] for r in _csv.reader(lines, delimiter=delimiter)]
        found = find_header_block(RawSheet(None, cells), _table_known)
        if found is not None:
            skip = found[0]

    def parse(text_encoding: str) -> pd.DataFrame:
        top = head_bytes.decode(text_encoding, errors="replace").lstrip("\ufeff").splitlines()
        header = next(_csv.reader([top[skip]], delimiter=delimiter), []) if skip < len(top) else []
        try:
            return _arrow_csv(path, text_encoding.removesuffix("-sig"), delimiter, skip, header)
        except _ArrowCannotReadError:
            pass
        except UnicodeDecodeError:
            raise
        # ragged rows and other oddities: pandas' own parser, which says where
        kwargs: dict[str, Any] = {"dtype": str, "keep_default_na": False, "na_values": [""], "sep": delimiter}
        return pd.read_csv(path, encoding=text_encoding, encoding_errors="strict", skiprows=skip, **kwargs)

    try:
        try:
            table = parse(py_enc)
        except UnicodeDecodeError:
            if enc != "auto":
                raise InputFileError(f"{path}: is not {py_enc} text; give its encoding with --encoding") from None
            table, hint = parse("latin-1"), "legacy"  # not UTF-8: byte for byte, TCVN3/VNI decided per column
    except LookupError as exc:
        raise InputFileError(f"{path}: unknown encoding '{enc}': {exc}") from exc
    except (ValueError, pd.errors.ParserError) as exc:
        raise InputFileError(f"{path}: cannot be read as csv: {exc}") from exc
    rows = np.arange(len(table)) + skip + 2
    return table, rows, hint


def _xlsx_frames(
    path: Path, sheet: str | None, encoding: str | None, mapping: ColumnMapping
) -> tuple[list[tuple[str, pd.DataFrame, np.ndarray]], CRS | None, list[str]]:
    """The data sheets of a workbook as frames (header found below title rows, merged headers joined)."""
    from kcn_gis.interop.importers.tables import cell_text, read_raw_sheets, table_block

    raws = read_raw_sheets(path, encoding=encoding)
    names = [r.name or "" for r in raws]
    if sheet is not None and sheet not in names:
        raise InputFileError(f"{path} has no sheet '{sheet}'; its sheets are: {', '.join(names)}")
    crs: CRS | None = None
    notes: list[str] = []
    out: list[tuple[str, pd.DataFrame, np.ndarray]] = []
    for raw in raws:
        name = raw.name or ""
        if normalize_header(name) == "info":
            kv = {cell_text(r[0]): cell_text(r[1]) for r in raw.cells[1:] if len(r) >= 2}
            if kv.get("crs"):
                crs = CRS.from_user_input(kv["crs"])
            continue
        if sheet is not None and name != sheet:
            continue
        if sheet is None and raw.hidden:
            notes.append(f"sheet '{name}' is hidden: not read")
            continue
        block = table_block(raw, _table_known, header_row=mapping.header_row)
        if block is None:
            notes.append(f"sheet '{name}' has no header row: not read")
            continue
        headers: list[str] = []
        for i, h in enumerate(block.headers):
            label = h if h is not None else f"column {block.label(i)}"
            if block.parents[i] and block.parents[i] != h and h is not None and normalize_header(h) in ("", "x", "y"):
                label = f"{block.parents[i]} {h}"
            while label in headers:
                label += "_"
            headers.append(label)
        frame = pd.DataFrame(block.data, columns=headers, dtype=object)
        keep = frame.notna().any(axis=1).to_numpy()
        rows = np.asarray(block.rows)[keep]
        frame = frame[keep].reset_index(drop=True)
        frame = frame.loc[:, [h for h in headers if not (h.startswith("column ") and frame[h].isna().all())]]
        out.append((name, frame, rows))
    return out, crs, notes


def read_table(
    path: Path,
    *,
    fmt: str,
    sheet: str | None = None,
    encoding: str | None = None,
    mapping: ColumnMapping | None = None,
    xy: str | None = None,
) -> SourceData:
    """Read a CSV or XLSX table of geometries, vectorised (no Python loop per row or per polygon).

    Three shapes are understood:

    * a **WKT** column (``wkt``/``geometry``): one feature per row;
    * a **vertex table**: X/Y columns and a ring id column (``Số hiệu thửa``,
      ``ring``, ``id`` ...): consecutive vertices of one polygon share the id;
      an order column (``STT``) sorts them; rings are closed if needed;
    * a **point table**: X/Y columns and no id column: one point per row.

    Headers ``X``/``Y`` follow the Vietnamese survey convention (X = northing,
    Y = easting) unless ``xy="gis"``; ``E``/``N``, ``Easting``/``Northing``,
    ``lon``/``lat`` are unambiguous. A sheet named ``info`` with ``key``/``value``
    rows (written by kcn-gis export) gives the CRS.

    The header may sit below title rows (it is found by
    :func:`kcn_gis.interop.importers.tables.find_header_block`). A workbook with
    several data sheets is read whole, each feature keeping its sheet in
    ``source_layer``, unless ``sheet`` names one (``--source-layer``).
    """
    mapping = mapping or ColumnMapping()
    crs: CRS | None = None
    notes: list[str] = []
    hint = None
    if fmt == "csv":
        table, rows, hint = _csv_frame(path, encoding, mapping)
        parts: list[tuple[str | None, pd.DataFrame, np.ndarray]] = [(None, table, rows)]
    else:
        frames, crs, notes = _xlsx_frames(path, sheet, encoding, mapping)
        if not frames:
            raise InputFileError(f"{path}: no sheet with a header; " + "; ".join(notes))
        parts = [(n, t, r) for n, t, r in frames]
        if len(frames) > 1:
            notes.append(
                f"read {len(frames)} sheets: {', '.join(str(n) for n, _, _ in frames)} (each kept in "
                f"'{SOURCE_LAYER}'); to import one, choose it with --source-layer NAME"
            )
    built: list[SourceData] = []
    names = [(n, None) for n, _, _ in parts]
    while parts:
        name, table, rows = parts.pop(0)
        holder = [table]
        del table  # _table_geometries drops the vertex rows once it has what it needs
        src = _table_geometries(path, fmt, holder, rows, mapping, xy, crs)
        if name is not None and len(parts) > 1:
            src.frame[SOURCE_LAYER] = name
            for i, p in enumerate(src.problems):
                src.problems[i] = SheetProblem(
                    p.severity, p.check, p.message, row=p.row, field=p.field, file=p.file, sheet=name
                )
        built.append(src)
    if len(built) == 1:
        out = built[0]
    else:
        frame = pd.concat([b.frame for b in built], ignore_index=True)
        out = SourceData(
            gpd.GeoDataFrame(frame, geometry="geometry", crs=crs),
            path,
            fmt,
            [r for b in built for r in b.rows],
            [p for b in built for p in b.problems],
            [n for b in built for n in b.notes],
            xy_convention=built[0].xy_convention,
            sheets=[str(name) for (name, _), b in zip(names, built, strict=True) for _ in b.rows],
        )
    out.notes = notes[:0] + out.notes + notes
    out.encoding_hint = hint
    return out


def _release_arrow_memory() -> None:
    """Give memory freed so far back to the system (see :mod:`kcn_gis.memory`), so that the peak stays low."""
    from kcn_gis.memory import release

    release()


def _table_geometries(
    path: Path,
    fmt: str,
    holder: list[pd.DataFrame],
    rows: np.ndarray,
    mapping: ColumnMapping,
    xy: str | None,
    crs: CRS | None,
) -> SourceData:
    """Features from one table; ``holder`` holds the table and is emptied, so that the vertex rows can be freed.

    A vertex table is grouped on integer codes (:func:`_codes`): each attribute keeps its first non-empty
    value per polygon, and only the polygons whose rows disagree are visited in Python.
    """
    table = holder.pop()
    geo = {k.lower(): v for k, v in mapping.geometry.items()}
    headers = [str(c) for c in table.columns]
    table.columns = headers
    problems: list[Problem] = []
    notes: list[str] = []
    fname = str(path)
    wkt_col = geo.get("wkt") or _find(headers, _WKT_HEADERS)
    if wkt_col:
        table = _plain(table)
        row_list = [int(r) for r in rows]
        text = table[wkt_col].astype("string").str.strip()
        arr = text.fillna("").to_numpy(dtype=object)
        geoms = shapely.from_wkt(np.where(arr == "", None, arr), on_invalid="ignore")
        for i in np.flatnonzero(pd.isna(geoms) & (arr != "")):
            problems.append(
                Problem(
                    "error", "bad_wkt", f"not valid WKT: '{arr[i][:40]}'", row=row_list[i], field=wkt_col, file=fname
                )
            )
        frame = gpd.GeoDataFrame(table.drop(columns=[wkt_col]), geometry=gpd.GeoSeries(geoms), crs=crs)
        return SourceData(frame, path, fmt, row_list, problems, notes)
    # X/Y columns
    convention = (xy or geo.get("convention") or "vn").lower()
    e_col = geo.get("e") or geo.get("easting") or _find(headers, sorted(_E_HEADERS))
    n_col = geo.get("n") or geo.get("northing") or _find(headers, sorted(_N_HEADERS))
    x_col = geo.get("x") or _find(headers, sorted(_X_HEADERS))
    y_col = geo.get("y") or _find(headers, sorted(_Y_HEADERS))
    if not (e_col and n_col):
        if x_col and y_col:
            if convention == "gis":
                e_col, n_col = x_col, y_col
                notes.append(f"columns '{x_col}'/'{y_col}' read as X = easting, Y = northing (--xy gis)")
            else:
                e_col, n_col = y_col, x_col
                notes.append(
                    f"columns '{x_col}'/'{y_col}' read in the Vietnamese survey convention: X = northing, "
                    "Y = easting (use --xy gis if X is the easting)"
                )
        else:
            raise InputFileError(
                f"{path}: no geometry found. Give a WKT column (wkt), or coordinate columns X and Y "
                "(Vietnamese convention: X = northing) or E and N, plus a ring id column for polygons; or name "
                "them in the mapping file's geometry section."
            )
    east = _floats(table[e_col])
    north = _floats(table[n_col])
    _bad_numbers(table, e_col, east, rows, fname, problems)
    _bad_numbers(table, n_col, north, rows, fname, problems)
    id_col = geo.get("id") or _find(headers, _ID_HEADERS)
    coord_cols = {e_col, n_col}
    if id_col is None:
        table = _plain(table)
        ok = ~(np.isnan(east) | np.isnan(north))
        pts = np.full(len(table), None, dtype=object)
        pts[ok] = shapely.points(east[ok], north[ok])
        frame = gpd.GeoDataFrame(table.drop(columns=list(coord_cols)), geometry=gpd.GeoSeries(pts), crs=crs)
        return SourceData(frame, path, fmt, [int(r) for r in rows], problems, notes, xy_convention=convention)
    order_col = geo.get("order") or _find(headers, _ORDER_HEADERS)
    part_col = geo.get("ring_part") or _find(headers, ("part", "ringpart", "vong", "lo_trong"))
    id_codes, id_cats = _codes(table[id_col])
    sheet_col = _find(headers, ("soto", "tobando", "sotobando", "tobandoso", "shbando", "toso"))
    by_sheet = (
        normalize_header(id_col) in ("sothua", "sohieuthua", "thuaso", "shthua") and sheet_col is not None
    ) and "id" not in geo
    if by_sheet:
        # parcel numbers repeat from one map sheet to the next: a ring is one sheet's parcel
        assert sheet_col is not None
        s_codes, s_cats = _codes(table[sheet_col])
        width = len(id_cats) + 1
        codes, first = pd.factorize((s_codes + 1) * width + (id_codes + 1), sort=False)
        first_sheet, first_number = np.asarray(first) // width - 1, np.asarray(first) % width - 1

        def label(k: int) -> str:
            return f"{_cat_text(s_cats, first_sheet[k])}/{_cat_text(id_cats, first_number[k])}"

        notes.append(f"vertex rows grouped by '{sheet_col}' and '{id_col}' (parcel numbers repeat per map sheet)")
    else:
        codes, first = pd.factorize(id_codes, sort=False)
        first_id = np.asarray(first)

        def label(k: int) -> str:
            return _cat_text(id_cats, first_id[k])

    del id_codes
    n_poly = len(first)
    first_pos = np.full(n_poly, len(codes), dtype=np.int64)
    np.minimum.at(first_pos, codes, np.arange(len(codes)))
    first_row = rows[first_pos]
    # the attributes first (a value per polygon), so that the vertex table is freed before the rings are built
    attr_cols = [c for c in headers if c not in coord_cols and c not in {order_col, part_col}]
    out = pd.DataFrame(
        {
            c: _first_per_group(table[c], codes, n_poly, c, first_row, label, fname, problems, c != id_col)
            for c in attr_cols
        },
        index=pd.RangeIndex(n_poly),
    )
    part_raw = _codes(table[part_col])[0] if part_col else None
    order_vals = _floats(table[order_col]) if order_col else None
    n_rows = len(table)
    del table  # the vertex rows are no longer needed
    _release_arrow_memory()
    part_codes = pd.factorize(part_raw, sort=False)[0] if part_raw is not None else np.zeros(n_rows, np.int64)
    keys: list[np.ndarray] = [np.arange(n_rows)]
    if order_vals is not None:
        keys.append(np.where(np.isnan(order_vals), np.inf, order_vals))
    keys += [part_codes, codes]
    perm = np.lexsort(keys)  # by polygon, then ring part (in file order of first sight), then order, then file row
    del keys
    valid = ~(np.isnan(east) | np.isnan(north))
    perm = perm[valid[perm]]
    pc, rc = codes[perm], part_codes[perm]
    xs, ys = east[perm], north[perm]
    del part_codes, east, north, valid, codes
    # ring boundaries: a new ring where polygon or part changes
    new_ring = np.ones(len(perm), dtype=bool)
    if len(perm):
        new_ring[1:] = (pc[1:] != pc[:-1]) | (rc[1:] != rc[:-1])
    ring_id = np.cumsum(new_ring) - 1
    n_rings = int(ring_id[-1]) + 1 if len(perm) else 0
    starts = np.flatnonzero(new_ring)
    ends = np.append(starts[1:], len(perm)) - 1
    counts = ends - starts + 1
    closed = (xs[starts] == xs[ends]) & (ys[starts] == ys[ends]) if n_rings else np.zeros(0, bool)
    distinct = counts - closed.astype(int)
    ring_poly = pc[starts] if n_rings else np.zeros(0, np.int64)
    del pc, rc, new_ring
    good_ring = distinct >= 3
    # the first ring of each polygon is its shell; a polygon whose shell is bad has no geometry
    first_ring_of_poly = np.full(n_poly, -1, dtype=np.int64)
    if n_rings:
        first_ring_of_poly[ring_poly[::-1]] = np.arange(n_rings)[::-1]
    shell_ok = np.zeros(n_poly, dtype=bool)
    has_ring = first_ring_of_poly >= 0
    shell_ok[has_ring] = good_ring[first_ring_of_poly[has_ring]]
    use_ring = good_ring & shell_ok[ring_poly] if n_rings else good_ring
    keep_vertex = use_ring[ring_id] if len(perm) else np.zeros(0, bool)
    n_closed = int((~closed & good_ring).sum())
    for k in np.flatnonzero(~shell_ok):
        problems.append(
            Problem(
                "error",
                "too_few_vertices",
                f"polygon '{label(int(k))}' has fewer than 3 vertices",
                row=int(first_row[k]),
                field=id_col,
                file=fname,
            )
        )
    geoms = np.full(n_poly, None, dtype=object)
    if keep_vertex.any():
        # drop the closing vertex of closed rings (linearrings() closes every ring), then every vertex array
        # but the three the rings are built from, so that they are not held while the polygons are made
        keep_vertex[ends[closed]] = False
        xs, ys, ring_id = xs[keep_vertex], ys[keep_vertex], ring_id[keep_vertex]
        del perm, keep_vertex, starts, ends, closed, counts, distinct
        _release_arrow_memory()
        _build_polygons(geoms, xs, ys, ring_id, ring_poly, use_ring)
    frame = gpd.GeoDataFrame(out, geometry=gpd.GeoSeries(geoms), crs=crs)
    notes.append(f"built {len(frame)} polygon(s) from vertex rows grouped by '{id_col}'")
    if n_closed:
        notes.append(f"closed {n_closed} ring(s) whose last vertex did not repeat the first")
    return SourceData(frame, path, fmt, RowNumbers(first_row), problems, notes, xy_convention=convention)


def _build_polygons(
    geoms: np.ndarray, xs: np.ndarray, ys: np.ndarray, ring_of: np.ndarray, ring_poly: np.ndarray, use_ring: np.ndarray
) -> None:
    """Fill ``geoms[polygon]`` from vertices sorted by ring (``ring_of``: ring of each vertex, ascending).

    Built a block of polygons at a time, so that the rings shapely makes before cloning them into
    polygons never exist for the whole table at once (they would double the peak memory).
    """
    used = np.flatnonzero(use_ring)  # the rings that are built, ascending (= the distinct values of ring_of)
    dense_ring = np.searchsorted(used, ring_of)  # vertex -> 0..len(used)-1
    polys_of_used = ring_poly[used]
    upoly = np.unique(polys_of_used)
    dense_poly = np.searchsorted(upoly, polys_of_used)  # ring -> 0..len(upoly)-1, ascending
    block = 4_096
    for p0 in range(0, len(upoly), block):
        p1 = min(p0 + block, len(upoly))
        r0, r1 = np.searchsorted(dense_poly, [p0, p1])
        v0, v1 = np.searchsorted(dense_ring, [r0, r1])
        coords = np.column_stack([xs[v0:v1], ys[v0:v1]])
        rings = shapely.linearrings(coords, indices=dense_ring[v0:v1] - r0)
        geoms[upoly[p0:p1]] = shapely.polygons(rings, indices=dense_poly[r0:r1] - p0)
        del rings, coords


def _cat_text(cats: pd.Index, code: int) -> str:
    return "" if code < 0 else str(cats[code])


def _plain(table: pd.DataFrame) -> pd.DataFrame:
    """The table with its categorical text columns (from :func:`_arrow_csv`) back as plain text columns."""
    cat = {c: table[c].cat.categories.dtype for c in table.columns if isinstance(table[c].dtype, pd.CategoricalDtype)}
    return table.astype(cat) if cat else table


def _codes(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """A column as int64 codes into its distinct values (-1: empty); cells of spaces only count as empty."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes = values.cat.codes.to_numpy().astype(np.int64)
        cats = values.cat.categories
    else:
        raw, uniq = pd.factorize(values, sort=False)
        codes, cats = raw.astype(np.int64), pd.Index(uniq, dtype=values.dtype if values.dtype == object else None)
    if len(cats):
        if pd.api.types.is_string_dtype(cats.dtype):
            blank = (cats.astype("string").str.strip() == "").fillna(False).to_numpy(bool)
        else:
            blank = np.array([isinstance(v, str) and not v.strip() for v in cats], dtype=bool)
        if blank.any():
            codes = np.where(np.append(blank, False)[codes], -1, codes)
    return codes, cats


def _first_per_group(
    values: pd.Series,
    group: np.ndarray,
    n_groups: int,
    col: str,
    first_row: np.ndarray,
    label: Any,
    fname: str,
    problems: list[Problem],
    check_conflicts: bool,
) -> pd.Series:
    """The first non-empty value of each group (as ``groupby().first()``); a warning per group whose rows disagree."""
    codes, cats = _codes(values)
    rows = np.flatnonzero(codes >= 0)[::-1]
    first = np.full(n_groups, -1, dtype=np.int64)
    first[group[rows]] = codes[rows]  # rows run backwards: the last write, the first row, wins
    if check_conflicts and len(rows):
        g = group[rows]
        bad = np.unique(g[codes[rows] != first[g]])  # a row whose value is not its polygon's first value
        del g
        if len(bad):  # only the rows of the conflicting polygons are visited, grouped by one stable sort
            sel = np.sort(rows[np.isin(group[rows], bad)])
            sel = sel[np.argsort(group[sel], kind="stable")]
            splits = np.flatnonzero(np.diff(group[sel])) + 1
            for part in np.split(sel, splits):
                k = int(group[part[0]])
                uniq = pd.unique(np.array([str(cats[c]) for c in codes[part]], dtype=object))
                problems.append(
                    Problem(
                        "warning",
                        "conflicting_values",
                        f"polygon '{label(k)}': rows disagree on '{col}' ({', '.join(uniq[:3])}); the first was used",
                        row=int(first_row[k]),
                        field=col,
                        file=fname,
                    )
                )
    del rows, codes
    taken = cats.take(first, allow_fill=True, fill_value=None)  # Arrow text stays Arrow text: no Python objects
    target = cats.dtype if isinstance(values.dtype, pd.CategoricalDtype) else values.dtype
    return pd.Series(taken, copy=False).astype(target)
