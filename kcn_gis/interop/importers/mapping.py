"""Column mapping: from a file's headers and values to the atlas data model.

A source column is matched to a model column by its *normalised* header:
diacritics removed (đ -> d), lower case, only letters and digits kept, so
``"Số thửa"``, ``"SO_THUA"`` and ``"sothua"`` are the same header. Recognised
by default, for each layer (:data:`DEFAULT_HEADERS`):

* the model column name itself and its first 10 characters (Shapefile field names);
* its Vietnamese label from :mod:`kcn_gis.schema` (``"Thửa đất số"``, ``"Loại đất"`` ...);
* common Vietnamese headers of cadastral and park lists: *Số thửa*, *Số tờ*,
  *Loại đất*, *Diện tích*, *Chủ sử dụng*, *Tên KCN*, *Xã*, *Huyện*, *Mã lô* ...

A YAML mapping file overrides or extends this (see :func:`load_mapping` and
``docs/interop.md``)::

    columns:            # source header -> model column
      SH_THUA: parcel_no
    values:             # model column -> {source value: model value}
      land_use: {CN: industrial}
    defaults:           # constant values for columns the file lacks
      park_id: QV1
    templates:          # built from other model columns
      parcel_id: "{park_id}-{map_sheet}-{parcel_no}"
    geometry:           # coordinate tables only
      id: SO_HIEU_THUA
      x: X
      y: Y
      convention: vn    # X = northing, Y = easting (Vietnamese survey convention); "gis" = X easting
    sheets: ["Tổng hợp"]   # workbooks: only these sheets
    header_row: 2          # workbooks: the header row (default: found below the title rows)
    date_formats: ["%d/%m/%y"]   # extra day-first formats after dd/mm/yyyy

The same dialect describes clearance progress sheets (``kcn-gis clearance
import --map``): ``columns`` maps a header to ``event``, ``event_date``,
``parcel_no`` ..., ``values: {event: {"Đã nhận tiền": compensated}}`` adds
stage spellings.

Values of enumerations are matched the same forgiving way: the model value,
its Vietnamese and English labels and common abbreviations.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kcn_gis.errors import InputFileError
from kcn_gis.names import fold
from kcn_gis.schema import (
    ATLAS_LAYERS,
    CAPACITY_UNIT_LABELS,
    EVENT_LABELS,
    FACILITY_KIND_LABELS,
    HOLDER_TYPE_LABELS,
    LAND_USE_LABELS,
    PARK_STATUS_LABELS,
    Col,
    Event,
    HolderType,
    LandUse,
    Layer,
    ParkStatus,
    spec,
)

__all__ = [
    "COMMUNE_CODE",
    "DEFAULT_HEADERS",
    "HOLDER_ADDRESS",
    "PARK_NAME",
    "SOURCE_LAYER",
    "ColumnMapping",
    "commune_code",
    "load_mapping",
    "normalize_header",
]

#: Extra column kept from KML folders and DXF layers: the name of the folder or layer a feature came from.
SOURCE_LAYER = "source_layer"
#: Pseudo column "park name" (Tên KCN on plot and parcel lists), turned into ``park_id`` with the atlas's parks.
PARK_NAME = "_park_name"
#: Pseudo column "commune code" (MaXa of cadastral exports): used in default parcel ids, not stored.
COMMUNE_CODE = "_commune_code"
#: Pseudo column "address" (DiaChi of cadastral exports): recognised, not stored (no such column in the model).
HOLDER_ADDRESS = "_address"


def normalize_header(text: object) -> str:
    """``"Số thửa"`` -> ``"sothua"``: NFD, no combining marks, đ -> d, lower case, letters and digits only."""
    return re.sub(r"[^0-9a-z]", "", fold(text))


_COMMUNE_PREFIXES = ("xa", "phuong", "thitran")


def commune_code(name: object) -> str:
    """The short commune code used in parcel ids, as the bundled atlas builds them.

    The initials of the commune's name without ``Xã``/``Phường``/``Thị trấn``
    and without diacritics, upper case: ``"Xã Mão Điền"`` -> ``"MD"``,
    ``"Đông Tiến"`` -> ``"DT"``. Empty text gives ``""``.
    """
    words = [normalize_header(w) for w in str(name or "").split()]
    words = [w for w in words if w]
    if len(words) > 1 and words[0] in _COMMUNE_PREFIXES:
        words = words[1:]
    elif len(words) > 2 and words[0] == "thi" and words[1] == "tran":
        words = words[2:]
    return "".join(w[0] for w in words).upper()


_COMMON: dict[Layer, dict[str, str]] = {
    Layer.PROVINCE: {"ten": Col.NAME, "tentinh": Col.NAME, "name": Col.NAME},
    Layer.RIVERS: {"ten": Col.NAME, "tensong": Col.NAME, "name": Col.NAME},
    Layer.PARKS: {
        "tenkcn": Col.NAME,
        "tenkhucongnghiep": Col.NAME,
        "ten": Col.NAME,
        "makcn": Col.PARK_ID,
        "ma": Col.PARK_ID,
        "id": Col.PARK_ID,
        "tentienganh": Col.NAME_EN,
        "englishname": Col.NAME_EN,
        "huyen": Col.DISTRICT,
        "huyenthixa": Col.DISTRICT,
        "diaban": Col.DISTRICT,
        "tinhtrang": Col.STATUS,
        "trangthai": Col.STATUS,
        "dientich": Col.LISTED_AREA_HA,
        "dientichha": Col.LISTED_AREA_HA,
        "quymoha": Col.LISTED_AREA_HA,
        "chudautu": Col.DEVELOPER,
        "chudautuhatang": Col.DEVELOPER,
        "quyhoachchitiet": Col.DETAIL_PLAN_APPROVED,
        "qhct": Col.DETAIL_PLAN_APPROVED,
    },
    Layer.PLOTS: {
        "malo": Col.PLOT_ID,
        "lo": Col.PLOT_ID,
        "kyhieulo": Col.PLOT_ID,
        "makcn": Col.PARK_ID,
        "tenkcn": PARK_NAME,
        "mucdich": Col.LAND_USE,
        "mucdichsudung": Col.LAND_USE,
        "chucnang": Col.LAND_USE,
        "loaidat": Col.LAND_USE,
        "ngaythuhoi": Col.ACQUIRED_ON,
        "ngaychothue": Col.LEASED_ON,
        "ngaythue": Col.LEASED_ON,
        "ngaychamdutthue": Col.LEASE_ENDED_ON,
        "ngayhethanthue": Col.LEASE_ENDED_ON,
        "doanhnghiep": Col.TENANT,
        "doanhnghiepthue": Col.TENANT,
        "nhadautu": Col.TENANT,
        "tendoanhnghiep": Col.TENANT,
        "madua": Col.PROJECT_ID,
        "maduan": Col.PROJECT_ID,
    },
    Layer.PARCELS: {
        "mathua": Col.PARCEL_ID,
        "makcn": Col.PARK_ID,
        "tenkcn": PARK_NAME,
        "xa": Col.COMMUNE,
        "phuong": Col.COMMUNE,
        "xaphuong": Col.COMMUNE,
        "soto": Col.MAP_SHEET,
        "sotobando": Col.MAP_SHEET,
        "tobando": Col.MAP_SHEET,
        "tobandoso": Col.MAP_SHEET,
        "shbando": Col.MAP_SHEET,
        "toso": Col.MAP_SHEET,
        "sothua": Col.PARCEL_NO,
        "thuaso": Col.PARCEL_NO,
        "thuadatso": Col.PARCEL_NO,
        "shthua": Col.PARCEL_NO,
        "sohieuthua": Col.PARCEL_NO,
        "loaidat": Col.LAND_TYPE,
        "mucdichsudung": Col.LAND_TYPE,
        "kyhieuloaidat": Col.LAND_TYPE,
        "loaichusudung": Col.HOLDER_TYPE,
        "doituongsudung": Col.HOLDER_TYPE,
        "chusudung": Col.HOLDER_NAME,
        "chusd": Col.HOLDER_NAME,
        "tenchusd": Col.HOLDER_NAME,
        "tenchu": Col.HOLDER_NAME,
        "tenchusudung": Col.HOLDER_NAME,
        "chusohuu": Col.HOLDER_NAME,
        "dientich": Col.LEGAL_AREA_M2,
        "dientichm2": Col.LEGAL_AREA_M2,
        "dientichphaply": Col.LEGAL_AREA_M2,
        # headers of Vietnamese cadastral software exports (ViLIS, TMV.LIS, Famis/CadDB shapefiles)
        "sohieutobando": Col.MAP_SHEET,
        "mdsd": Col.LAND_TYPE,
        "kyhieumdsd": Col.LAND_TYPE,
        "loaidatmdsd": Col.LAND_TYPE,
        "dtpl": Col.LEGAL_AREA_M2,
        "hoten": Col.HOLDER_NAME,
        "hotenchusudung": Col.HOLDER_NAME,
        "tenxa": Col.COMMUNE,
        "tenxaphuong": Col.COMMUNE,
        "maxa": COMMUNE_CODE,
        "diachi": HOLDER_ADDRESS,
        "diachithuadat": HOLDER_ADDRESS,
    },
    Layer.FACILITIES: {  # schema version 2 (issue 18)
        "ma": Col.FACILITY_ID,
        "macongtrinh": Col.FACILITY_ID,
        "ten": Col.NAME,
        "loai": Col.KIND,
        "makcn": Col.PARK_ID,
        "congsuat": Col.CAPACITY,
        "quymo": Col.CAPACITY,
        "donvi": Col.CAPACITY_UNIT,
        "dientichsan": Col.FLOOR_AREA_M2,
        "tinhtrang": Col.STATUS,
        "ngayduavaosudung": Col.COMMISSIONED_ON,
    },
}


def _build_defaults() -> dict[Layer, dict[str, str]]:
    out: dict[Layer, dict[str, str]] = {}
    for layer in (Layer.PROVINCE, Layer.RIVERS, Layer.PARKS, Layer.PLOTS, Layer.PARCELS, Layer.FACILITIES):
        s = spec(layer)
        table: dict[str, str] = {}
        for c in s.columns:
            table[normalize_header(c.label_vi)] = c.name
        table.update({k: str(v) for k, v in _COMMON[layer].items()})
        for c in s.columns:  # the model's own names always win
            table[normalize_header(c.name)] = c.name
            table[normalize_header(c.name[:10])] = c.name
        table[normalize_header(SOURCE_LAYER)] = SOURCE_LAYER
        out[layer] = table
    return out


#: layer -> {normalised header: model column}; see :func:`normalize_header`.
DEFAULT_HEADERS: dict[Layer, dict[str, str]] = _build_defaults()


def _value_table(labels: Mapping[Any, tuple[str, str]], extra: Mapping[str, Any]) -> dict[str, str]:
    table: dict[str, str] = {}
    for value, (vi, en) in labels.items():
        for text in (str(value), vi, en):
            table[normalize_header(text)] = str(value)
    for text, value in extra.items():
        table[normalize_header(text)] = str(value)
    return table


#: model column -> {normalised value: model value}, for enumerations.
DEFAULT_VALUES: dict[str, dict[str, str]] = {
    Col.LAND_USE: _value_table(
        LAND_USE_LABELS,
        {
            "CN": LandUse.INDUSTRIAL,
            "đất công nghiệp": LandUse.INDUSTRIAL,
            "công nghiệp": LandUse.INDUSTRIAL,
            "SKK": LandUse.INDUSTRIAL,
            "SKC": LandUse.INDUSTRIAL,
            "DV": LandUse.SERVICES,
            "dịch vụ": LandUse.SERVICES,
            "TMD": LandUse.SERVICES,
            "HT": LandUse.INFRASTRUCTURE,
            "HTKT": LandUse.INFRASTRUCTURE,
            "giao thông": LandUse.INFRASTRUCTURE,
            "hạ tầng": LandUse.INFRASTRUCTURE,
            "hạ tầng kỹ thuật": LandUse.INFRASTRUCTURE,
            "DGT": LandUse.INFRASTRUCTURE,
            "CX": LandUse.GREEN,
            "cây xanh": LandUse.GREEN,
            "mặt nước": LandUse.GREEN,
            "khác": LandUse.OTHER,
        },
    ),
    Col.STATUS: _value_table(
        PARK_STATUS_LABELS,
        {
            "hoạt động": ParkStatus.OPERATING,
            "đã hoạt động": ParkStatus.OPERATING,
            "xây dựng": ParkStatus.CONSTRUCTION,
            "chuẩn bị": ParkStatus.PREPARING,
            "chuẩn bị đầu tư": ParkStatus.PREPARING,
            "quy hoạch": ParkStatus.PREPARING,
        },
    ),
    Col.HOLDER_TYPE: _value_table(
        HOLDER_TYPE_LABELS,
        {
            "hộ gia đình": HolderType.HOUSEHOLD,
            "cá nhân": HolderType.HOUSEHOLD,
            "hộ": HolderType.HOUSEHOLD,
            "GDC": HolderType.HOUSEHOLD,
            "tổ chức": HolderType.ORGANIZATION,
            "TKT": HolderType.ORGANIZATION,
            "TCN": HolderType.ORGANIZATION,
            "TCC": HolderType.ORGANIZATION,
            "TVN": HolderType.ORGANIZATION,
            "TNG": HolderType.ORGANIZATION,
            "TTG": HolderType.ORGANIZATION,
            "nhà nước": HolderType.STATE,
            "UBND": HolderType.STATE,
            "UBS": HolderType.STATE,
        },
    ),
    Col.EVENT: _value_table(EVENT_LABELS, {e.value: e for e in Event}),
    Col.KIND: _value_table(FACILITY_KIND_LABELS, {"nhà ở công nhân": "worker_housing", "XLNT": "wastewater_plant"}),
    Col.CAPACITY_UNIT: _value_table(CAPACITY_UNIT_LABELS, {"chỗ": "beds", "m3/ngđ": "m3_day", "m3/ngày": "m3_day"}),
}

#: column name -> every model value of an enumeration column of that name, over all layers.
_MODEL_VALUES: dict[str, frozenset[str]] = {}
for _s in ATLAS_LAYERS.values():
    for _c in _s.columns:
        if _c.enum is not None:
            _MODEL_VALUES[_c.name] = _MODEL_VALUES.get(_c.name, frozenset()) | {str(v) for v in _c.enum}

_TRUE = {normalize_header(t) for t in ("true", "yes", "1", "x", "có", "co", "đã duyệt", "đã phê duyệt", "t", "y")}
_FALSE = {normalize_header(t) for t in ("false", "no", "0", "không", "chưa", "chưa duyệt", "f", "n", "")}


@dataclass
class ColumnMapping:
    """How one source file maps to one atlas layer (see the module docstring for the YAML form)."""

    columns: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    defaults: dict[str, Any] = field(default_factory=dict)
    templates: dict[str, str] = field(default_factory=dict)
    geometry: dict[str, str] = field(default_factory=dict)
    encoding: str | None = None
    crs: str | None = None
    source: str | None = None  # the mapping file, for messages
    sheets: tuple[str, ...] | None = None
    header_row: int | None = None
    date_formats: tuple[str, ...] = ()

    def resolve(self, headers: list[str], layer: Layer) -> tuple[dict[str, str], list[str]]:
        """Return ``({source header: model column}, [unmapped headers])``.

        Explicit ``columns`` entries win over the defaults; a model column is
        taken by the first header that maps to it, in file order.
        """
        defaults = DEFAULT_HEADERS[layer]
        explicit = {normalize_header(k): v for k, v in self.columns.items()}
        taken: set[str] = set()
        out: dict[str, str] = {}
        unmapped: list[str] = []
        for pass_explicit in (True, False):
            for h in headers:
                if h in out:
                    continue
                key = normalize_header(h)
                target = explicit.get(key) if pass_explicit else defaults.get(key)
                if target is None or target in taken:
                    continue
                out[h] = target
                taken.add(target)
        unmapped = [h for h in headers if h not in out]
        return out, unmapped

    def translate(self, column: str, value: Any) -> tuple[Any, bool]:
        """Translate an enumeration or boolean value; returns ``(value, ok)``."""
        if value is None or (isinstance(value, float) and value != value):
            return None, True
        user = {normalize_header(k): v for k, v in self.values.get(column, {}).items()}
        key = normalize_header(value)
        if key in user:
            return user[key], True
        table = DEFAULT_VALUES.get(column)
        if table is not None:
            if key in table:
                return table[key], True
            if str(value) in _MODEL_VALUES.get(column, ()):  # a model value of another layer's enum (facilities)
                return str(value), True
            return value, False
        return value, True

    @staticmethod
    def to_bool(value: Any) -> tuple[Any, bool]:
        if value is None or (isinstance(value, float) and value != value):
            return None, True
        if isinstance(value, bool):
            return value, True
        key = normalize_header(value)
        if key in _TRUE:
            return True, True
        if key in _FALSE:
            return False, True
        return value, False


def load_mapping(source: str | os.PathLike[str] | Mapping[str, Any] | None) -> ColumnMapping:
    """Read a YAML mapping file (or take a dict) and return a :class:`ColumnMapping`.

    Raises
    ------
    InputFileError
        If the file cannot be read or has unknown sections; the message names the file.
    """
    if source is None:
        return ColumnMapping()
    where = None
    if isinstance(source, Mapping):
        data: Any = dict(source)
    else:
        import yaml

        where = str(source)
        try:
            data = yaml.safe_load(Path(source).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise InputFileError(f"mapping file {where} cannot be read: {exc}") from exc
    if not isinstance(data, Mapping):
        raise InputFileError(f"mapping file {where}: expected sections columns/values/defaults/templates/geometry")
    allowed = {
        "layer",
        "columns",
        "values",
        "defaults",
        "templates",
        "geometry",
        "encoding",
        "crs",
        "sheets",
        "header_row",
        "date_formats",
    }
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise InputFileError(
            f"mapping file {where}: unknown section(s) {', '.join(map(str, unknown))}; "
            f"allowed: {', '.join(sorted(allowed))}"
        )
    for sect in ("columns", "values", "defaults", "templates", "geometry"):
        if sect in data and not isinstance(data[sect], Mapping):
            raise InputFileError(f"mapping file {where}: section '{sect}' must be a mapping (key: value lines)")
    sheets = data.get("sheets")
    try:
        header_row = int(data["header_row"]) if data.get("header_row") is not None else None
    except (TypeError, ValueError):
        raise InputFileError(f"mapping file {where}: header_row must be a row number (1 = first row)") from None
    if header_row is not None and header_row < 1:
        raise InputFileError(f"mapping file {where}: header_row must be 1 or more")
    fmts = data.get("date_formats") or ()
    return ColumnMapping(
        columns={str(k): str(v) for k, v in (data.get("columns") or {}).items()},
        values={str(k): {str(a): str(b) for a, b in v.items()} for k, v in (data.get("values") or {}).items()},
        defaults=dict(data.get("defaults") or {}),
        templates={str(k): str(v) for k, v in (data.get("templates") or {}).items()},
        geometry={str(k): str(v) for k, v in (data.get("geometry") or {}).items()},
        encoding=str(data["encoding"]) if data.get("encoding") else None,
        crs=str(data["crs"]) if data.get("crs") else None,
        source=where,
        sheets=None if sheets is None else ((str(sheets),) if isinstance(sheets, str) else tuple(map(str, sheets))),
        header_row=header_row,
        date_formats=(fmts,) if isinstance(fmts, str) else tuple(str(x) for x in fmts),
    )
