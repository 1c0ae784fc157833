"""The clearance review report: one self-contained HTML file per park that opens offline.

It holds a map of the parcels coloured by stage (inline SVG drawn from the
parcel geometries in the atlas's projected CRS), a burn-up chart of the area
handed over (inline SVG), the stage table, the stalled and disputed parcels,
the forecast and what changed since the previous review.

The file has no script and no external reference (no ``http://`` or
``https://`` at all); a Content-Security-Policy forbids loading anything.
Holder names appear (the report is internal); every value is HTML-escaped.
The numbers come from :mod:`kcn_gis.clearance` analytics; this module only
lays them out.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from kcn_gis.clearance.history import (
    NOT_STARTED,
    clearance_changes,
    events_since,
    parcel_stages,
    stage_label,
)
from kcn_gis.clearance.progress import PROGRESS_STAGES, burn_up, clearance_progress
from kcn_gis.clearance.stalls import clearance_forecast, disputed_parcels, stalled_parcels
from kcn_gis.crs import require_projected
from kcn_gis.dates import DateLike, as_of_date
from kcn_gis.errors import ClearanceError
from kcn_gis.schema import Col, Event
from kcn_gis.style import NOT_STARTED_COLOR, STAGE_COLORS

if TYPE_CHECKING:
    from kcn_gis.store import Atlas

__all__ = ["review_report_html", "stage_color", "write_review_report"]

log = logging.getLogger(__name__)

_DEFAULT_SINCE_DAYS = 30
_MAP_WIDTH = 720.0
_CHART_W, _CHART_H = 720.0, 300.0


def stage_color(stage: object) -> str:
    """Fill colour of a stage (``kcn_gis.style.STAGE_COLORS``); ``NOT_STARTED_COLOR`` for NA / not started."""
    if stage is None or (not isinstance(stage, str) and pd.isna(stage)) or stage == NOT_STARTED:
        return NOT_STARTED_COLOR
    return STAGE_COLORS[Event(str(stage))]


def _e(value: Any) -> str:
    """HTML-escape any value; NA becomes an empty string."""
    if value is None:
        return ""
    try:
        if not isinstance(value, str) and pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    return html.escape(str(value), quote=True)


def _d(value: Any) -> str:
    if value is None or pd.isna(value):
        return ""
    return f"{pd.Timestamp(value):%d/%m/%Y}"


def _ha(value: float) -> str:
    return f"{value:,.2f}"


def _table(headers: Sequence[str], rows: Iterable[Sequence[Any]], *, raw_cols: Sequence[int] = ()) -> str:
    """An HTML table; every cell is escaped except columns in ``raw_cols`` (already-built safe HTML)."""
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = []
    for r in rows:
        cells = "".join(f"<td>{c if i in raw_cols else _e(c)}</td>" for i, c in enumerate(r))
        body.append(f"<tr>{cells}</tr>")
    if not body:
        return f'<p class="none">{_e("Không có. / None.")}</p>'
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _swatch(color: str) -> str:
    return f'<span class="sw" style="background:{_e(color)}"></span>'


def _legend() -> str:
    items = [(NOT_STARTED, NOT_STARTED_COLOR)] + [(str(s), c) for s, c in STAGE_COLORS.items()]
    return (
        '<ul class="legend">'
        + "".join(
            f"<li>{_swatch(c)}{_e(stage_label(s, 'vi'))} <small>({_e(stage_label(s, 'en'))})</small></li>"
            for s, c in items
        )
        + "</ul>"
    )


# -- map ---------------------------------------------------------------------------------------------------------
def _ring_path(coords: np.ndarray, fx: Any, fy: Any) -> str:
    pts = " L".join(f"{fx(x):.1f},{fy(y):.1f}" for x, y in coords[:, :2])
    return f"M{pts} Z"


def _geom_path(geom: shapely.Geometry, fx: Any, fy: Any) -> str:
    parts: list[str] = []
    polys = getattr(geom, "geoms", [geom])
    for poly in polys:
        if poly.is_empty or not hasattr(poly, "exterior"):
            continue
        parts.append(_ring_path(np.asarray(poly.exterior.coords), fx, fy))
        parts += [_ring_path(np.asarray(r.coords), fx, fy) for r in poly.interiors]
    return " ".join(parts)


def _svg_map(parcels: gpd.GeoDataFrame, stages: pd.Series, holders: pd.Series, outline: gpd.GeoSeries | None) -> str:
    geoms = list(parcels.geometry.values)
    geoms_all = [*geoms, *outline.values] if outline is not None and len(outline) else geoms
    minx, miny, maxx, maxy = shapely.total_bounds(np.asarray(geoms_all, dtype=object))
    span_x, span_y = max(maxx - minx, 1.0), max(maxy - miny, 1.0)
    margin = 10.0
    scale = (_MAP_WIDTH - 2 * margin) / span_x
    height = span_y * scale + 2 * margin
    if height > 900:
        scale = (900 - 2 * margin) / span_y
        height = 900.0
    width = span_x * scale + 2 * margin

    def fx(x: float) -> float:
        return (x - minx) * scale + margin

    def fy(y: float) -> float:
        return (maxy - y) * scale + margin

    out = [
        f'<svg class="map" viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" height="{height:.0f}" '
        f'role="img" aria-label="{_e("Bản đồ thửa đất theo giai đoạn / parcels by stage")}">'
    ]
    for g, (pid, st, holder) in zip(geoms, zip(parcels[Col.PARCEL_ID], stages, holders, strict=True), strict=True):
        if g is None or g.is_empty:
            continue
        tip = f"{pid} - {stage_label(st)}" + (f" - {holder}" if isinstance(holder, str) and holder else "")
        out.append(
            f'<path d="{_geom_path(g, fx, fy)}" fill="{_e(stage_color(st))}" fill-rule="evenodd" '
            f'stroke="#555" stroke-width="0.6"><title>{_e(tip)}</title></path>'
        )
    if outline is not None:
        for g in outline.values:
            if g is not None and not g.is_empty:
                out.append(f'<path d="{_geom_path(g, fx, fy)}" fill="none" stroke="#222" stroke-width="1.5"/>')
    # scale bar
    bar_m = _nice(span_x / 4)
    bar_px = bar_m * scale
    y0 = height - 6
    out.append(
        f'<line x1="{margin}" y1="{y0}" x2="{margin + bar_px:.1f}" y2="{y0}" stroke="#000" stroke-width="2"/>'
        f'<text x="{margin}" y="{y0 - 4}" font-size="11">{_e(_fmt_m(bar_m))}</text>'
    )
    out.append("</svg>")
    return "".join(out)


def _nice(x: float) -> float:
    if x <= 0:
        return 1.0
    exp = 10 ** np.floor(np.log10(x))
    for m in (1, 2, 5, 10):
        if m * exp >= x:
            return float(m * exp)
    return float(10 * exp)


def _fmt_m(m: float) -> str:
    return f"{m / 1000:g} km" if m >= 1000 else f"{m:g} m"


# -- burn-up chart -------------------------------------------------------------------------------------------------
def _svg_burnup(burn: pd.DataFrame, total_ha: float, start: pd.Timestamp, end: pd.Timestamp) -> str:
    left, right, top, bottom = 60.0, 20.0, 20.0, 40.0
    w, h = _CHART_W - left - right, _CHART_H - top - bottom
    if end <= start:
        start = end - pd.Timedelta(days=30)
    ymax = max(total_ha, float(burn["area_ha"].max()) if len(burn) else 0.0, 1e-9) * 1.05
    t0, t1 = start.value, end.value

    def fx(t: pd.Timestamp) -> float:
        return left + (pd.Timestamp(t).value - t0) / (t1 - t0) * w

    def fy(v: float) -> float:
        return top + h - v / ymax * h

    parts = [
        f'<svg class="chart" viewBox="0 0 {_CHART_W:.0f} {_CHART_H:.0f}" width="{_CHART_W:.0f}" '
        f'height="{_CHART_H:.0f}" role="img" aria-label="{_e("Diện tích đã bàn giao / area handed over")}">',
        f'<rect x="{left}" y="{top}" width="{w}" height="{h}" fill="#fff" stroke="#999"/>',
    ]
    step = _nice(ymax / 5)
    v = 0.0
    while v <= ymax + 1e-9:
        y = fy(v)
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{left + w}" y2="{y:.1f}" stroke="#eee"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end">{_e(f"{v:g}")}</text>'
        )
        v += step
    for t in _time_ticks(start, end):
        x = fx(t)
        parts.append(
            f'<line x1="{x:.1f}" y1="{top + h}" x2="{x:.1f}" y2="{top + h + 4}" stroke="#333"/>'
            f'<text x="{x:.1f}" y="{top + h + 16}" font-size="11" text-anchor="middle">{_e(f"{t:%m/%Y}")}</text>'
        )
    parts.append(
        f'<line x1="{left}" y1="{fy(total_ha):.1f}" x2="{left + w}" y2="{fy(total_ha):.1f}" stroke="#444" '
        f'stroke-dasharray="6 4"/><text x="{left + w - 4}" y="{fy(total_ha) - 5:.1f}" font-size="11" '
        f'text-anchor="end">{_e(f"Tổng / total {_ha(total_ha)} ha")}</text>'
    )
    pts = [(fx(start), fy(0.0))]
    cur = 0.0
    for d, a in zip(burn["date"], burn["area_ha"], strict=True):
        if d < start:
            cur = float(a)
            pts[0] = (fx(start), fy(cur))
            continue
        x = fx(d)
        pts.append((x, fy(cur)))
        cur = float(a)
        pts.append((x, fy(cur)))
    pts.append((fx(end), fy(cur)))
    poly = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
    color = STAGE_COLORS[Event.HANDED_OVER]
    parts.append(f'<polyline points="{poly}" fill="none" stroke="{_e(color)}" stroke-width="2.5"/>')
    parts.append(
        f'<text x="{left - 44}" y="{top + h / 2:.1f}" font-size="11" transform="rotate(-90 {left - 44} '
        f'{top + h / 2:.1f})" text-anchor="middle">ha</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


def _time_ticks(start: pd.Timestamp, end: pd.Timestamp) -> list[pd.Timestamp]:
    months = (end.year - start.year) * 12 + end.month - start.month + 1
    every = next(m for m in (1, 2, 3, 6, 12, 24, 60, 120) if months / m <= 10)
    t = pd.Timestamp(year=start.year, month=start.month, day=1)
    out = []
    while t <= end:
        if t >= start and (t.month - 1) % min(every, 12) == 0 and (every < 12 or t.year % (every // 12) == 0):
            out.append(t)
        t = t + pd.DateOffset(months=1)
    return out


# -- the report ------------------------------------------------------------------------------------------------
_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,'Noto Sans',Arial,sans-serif;margin:24px;color:#222;
max-width:1100px}
h1{font-size:1.5em;margin-bottom:0}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ccc}
.sub{color:#555;margin-top:4px}
table{border-collapse:collapse;margin:8px 0;font-size:0.9em}
th,td{border:1px solid #ccc;padding:3px 7px;text-align:left;vertical-align:top}
th{background:#f4f4f4}td.num{text-align:right}
.sw{display:inline-block;width:14px;height:14px;border:1px solid #777;margin-right:6px;vertical-align:middle}
.legend{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:4px 18px}
.kpi{display:flex;gap:28px;flex-wrap:wrap}.kpi div{background:#f7f7f7;padding:8px 14px;border-radius:4px}
.kpi b{display:block;font-size:1.4em}.none{color:#666;font-style:italic}
svg{max-width:100%;height:auto;border:1px solid #ddd;background:#fcfcfc}
"""


def review_report_html(
    *,
    park: pd.Series,
    parcels: gpd.GeoDataFrame,
    events: pd.DataFrame,
    as_of: DateLike | None = None,
    since: DateLike | None = None,
    days: int = 90,
    window_days: int = 180,
    outline: gpd.GeoSeries | None = None,
) -> str:
    """Build the review report of one park as a self-contained HTML string.

    Parameters
    ----------
    park : Series
        The park's row of the ``parks`` layer (``park_id``, ``name``, ...).
    parcels : GeoDataFrame
        The park's parcels, in a projected CRS (EPSG:9209); areas in ha from geometry.
    events : DataFrame
        The clearance events (of these parcels or all; others are ignored).
    as_of : date-like, optional
        The review date. Default: today.
    since : date-like, optional
        Date of the previous review. Default: 30 days before ``as_of``.
    days : int, default 90
        Days without progress after which a parcel is stalled.
    window_days : int, default 180
        Window of the forecast pace.
    outline : GeoSeries, optional
        The park boundary, drawn over the parcels.

    Returns
    -------
    str
        The HTML document. All values are escaped; there is no script and no external URL.
    """
    require_projected(parcels, "parcels")
    asof = as_of_date(as_of)
    since_ts = as_of_date(since, what="since") if since is not None else asof - pd.Timedelta(days=_DEFAULT_SINCE_DAYS)
    pid = str(park[Col.PARK_ID])
    mine = parcels[(parcels[Col.PARK_ID] == pid).to_numpy()]
    ids = set(mine[Col.PARCEL_ID].astype(object))
    ev = events[events[Col.PARCEL_ID].isin(ids).to_numpy()]
    holders = (
        mine[Col.HOLDER_NAME] if Col.HOLDER_NAME in mine else pd.Series([None] * len(mine), index=mine.index)
    ).astype(object)
    holder_of = dict(zip(mine[Col.PARCEL_ID], holders, strict=True))

    st = parcel_stages(ev, mine, as_of=asof)
    prog = clearance_progress(ev, mine, as_of=asof, park=pid).iloc[0]
    fc = clearance_forecast(ev, mine, as_of=asof, park=pid, window_days=window_days).iloc[0]
    stalled = stalled_parcels(ev, mine, as_of=asof, days=days)
    disputed = disputed_parcels(ev, mine, as_of=asof)
    changes = clearance_changes(ev, mine, since=since_ts, as_of=asof)
    new_events = events_since(ev, since=since_ts, as_of=asof)
    burn = burn_up(ev, mine, park=pid, as_of=asof)

    name = park.get(Col.NAME, pid)
    name_en = park.get(Col.NAME_EN, "")
    title = f"Rà soát bồi thường, GPMB - {name} ({pid}) - {asof:%d/%m/%Y}"
    share = prog["handed_over_share"]
    share_txt = "-" if pd.isna(share) else f"{share:.1%}"
    parts: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="vi"><head><meta charset="utf-8">',
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_e(f'Tiến độ bồi thường, giải phóng mặt bằng: {name}')}</h1>",
        f'<p class="sub">{_e(f"{name_en} ({pid}) - land clearance review as of {asof:%d/%m/%Y}")}. '
        f"{_e(f'Số liệu đến ngày {asof:%d/%m/%Y}; diện tích tính từ hình học thửa đất (VN-2000), đơn vị ha.')}</p>",
        '<div class="kpi">',
        f"<div><b>{_e(int(prog['parcels_total']))}</b>{_e('thửa / parcels')}</div>",
        f"<div><b>{_e(_ha(prog['area_total_ha']))} ha</b>{_e('tổng diện tích / total area')}</div>",
        f"<div><b>{_e(_ha(prog['handed_over_ha']))} ha</b>{_e(f'đã bàn giao / handed over ({share_txt})')}</div>",
        f"<div><b>{_e(int(prog['open_complaints']))}</b>{_e('khiếu nại chưa giải quyết / open complaints')}</div>",
        f"<div><b>{_e(len(stalled))}</b>{_e(f'thửa chậm tiến độ / stalled ({days} ngày)')}</div>",
        "</div>",
        f"<h2>{_e('Bản đồ thửa đất theo giai đoạn / Parcels by stage')}</h2>",
        _legend(),
        _svg_map(mine, st["stage"], holders, outline) if len(mine) else '<p class="none">-</p>',
        f"<h2>{_e('Diện tích đã bàn giao theo thời gian / Area handed over (burn-up)')}</h2>",
    ]
    first = pd.to_datetime(ev[Col.EVENT_DATE]).min() if len(ev) else asof - pd.Timedelta(days=365)
    first = min(pd.Timestamp(first), asof - pd.Timedelta(days=30))
    parts.append(_svg_burnup(burn, float(prog["area_total_ha"]), pd.Timestamp(first.year, first.month, 1), asof))
    parts.append(f"<p>{_e('Dự báo / Forecast')}: {_e(fc['message'])}</p>")

    # stage table
    total = float(prog["area_total_ha"])
    rows = []
    for s in PROGRESS_STAGES:
        n = int(prog[f"{s}_parcels"])
        a = float(prog["handed_over_ha" if s == str(Event.HANDED_OVER) else f"{s}_ha"])
        rows.append(
            [
                _swatch(stage_color(s)) + _e(stage_label(s, "vi")),
                stage_label(s, "en"),
                str(n),
                _ha(a),
                "-" if total <= 0 else f"{a / total:.1%}",
            ]
        )
    rows.append(["<b>Tổng</b>", "Total", str(int(prog["parcels_total"])), _ha(total), "100%" if total > 0 else "-"])
    parts.append(f"<h2>{_e('Bảng giai đoạn / Stage table')}</h2>")
    parts.append(
        _table(["Giai đoạn", "Stage", "Số thửa / parcels", "Diện tích (ha)", "% diện tích"], rows, raw_cols=(0,))
    )

    # stalled
    parts.append(f"<h2>{_e(f'Thửa chậm tiến độ (không tiến triển từ {days} ngày) / Stalled parcels')}</h2>")
    parts.append(
        _table(
            ["Mã thửa", "Xã", "Tờ", "Thửa", "Chủ sử dụng", "Giai đoạn", "Tiến triển cuối", "Số ngày",
             "Sự kiện cuối", "Ngày", "Số QĐ", "Ghi chú", "ha"],
            (
                [
                    r[Col.PARCEL_ID], r.get(Col.COMMUNE), r.get(Col.MAP_SHEET), r.get(Col.PARCEL_NO),
                    holder_of.get(r[Col.PARCEL_ID]), stage_label(r["stage"]), _d(r["last_progress_date"]),
                    str(r["days_without_progress"]), stage_label(r["last_event"]), _d(r["last_event_date"]),
                    r["last_event_reference"], r["last_event_note"], _ha(r["area_ha"]),
                ]
                for r in stalled.to_dict(orient="records")
            ),
        )
    )  # fmt: skip
    # disputed
    parts.append(f"<h2>{_e('Thửa có khiếu nại chưa giải quyết / Disputed parcels')}</h2>")
    parts.append(
        _table(
            ["Mã thửa", "Xã", "Tờ", "Thửa", "Chủ sử dụng", "Giai đoạn", "Ngày khiếu nại", "Số ngày",
             "Số văn bản", "Ghi chú", "Cưỡng chế", "ha"],
            (
                [
                    r[Col.PARCEL_ID], r.get(Col.COMMUNE), r.get(Col.MAP_SHEET), r.get(Col.PARCEL_NO),
                    holder_of.get(r[Col.PARCEL_ID]), stage_label(r["stage"]), _d(r["complaint_date"]),
                    str(r["days_open"]), r["complaint_reference"], r["complaint_note"], _d(r["enforcement_date"]),
                    _ha(r["area_ha"]),
                ]
                for r in disputed.to_dict(orient="records")
            ),
        )
    )  # fmt: skip
    # changes since
    label_since = f"{since_ts:%d/%m/%Y}" + ("" if since is not None else f" ({_DEFAULT_SINCE_DAYS} ngày trước)")
    parts.append(f"<h2>{_e(f'Thay đổi từ lần rà soát trước ({label_since}) / Changes since the previous review')}</h2>")
    parts.append(
        _table(
            ["Mã thửa", "Chủ sử dụng", "Giai đoạn trước", "Giai đoạn nay", "Khiếu nại trước", "Khiếu nại nay"],
            (
                [
                    r[Col.PARCEL_ID], holder_of.get(r[Col.PARCEL_ID]), stage_label(r["stage_before"]),
                    stage_label(r["stage_after"]), "có" if r["complaint_before"] else "không",
                    "có" if r["complaint_after"] else "không",
                ]
                for r in changes.to_dict(orient="records")
            ),
        )
    )  # fmt: skip
    parts.append(f"<h3>{_e('Sự kiện mới ghi nhận / New events')}</h3>")
    parts.append(
        _table(
            ["Ngày", "Mã thửa", "Sự kiện", "Số QĐ", "Ghi chú", "Người ghi", "Thời điểm ghi (UTC)"],
            (
                [
                    _d(r.get(Col.EVENT_DATE)), r.get(Col.PARCEL_ID), stage_label(r.get(Col.EVENT)),
                    r.get(Col.REFERENCE), r.get(Col.NOTE), r.get(Col.RECORDED_BY),
                    "" if pd.isna(r.get(Col.RECORDED_AT)) else f"{pd.Timestamp(r.get(Col.RECORDED_AT)):%d/%m/%Y %H:%M}",
                ]
                for r in new_events.to_dict(orient="records")
            ),
        )
    )  # fmt: skip
    generated = dt.datetime.now(dt.UTC).strftime("%d/%m/%Y %H:%M UTC")
    parts.append(
        f'<p class="sub">{_e(f"Tạo bởi kcn_gis lúc {generated}. Tài liệu nội bộ: có tên chủ sử dụng đất.")}</p>'
    )
    parts.append("</body></html>")
    return "\n".join(parts)


def write_review_report(
    atlas: Atlas,
    park_id: str,
    path: str | os.PathLike[str],
    *,
    as_of: DateLike | None = None,
    since: DateLike | None = None,
    days: int = 90,
    window_days: int = 180,
) -> Path:
    """Write the clearance review report of one park to a self-contained HTML file.

    Parameters
    ----------
    atlas : Atlas
        The atlas (``kcn_gis.open_atlas(...)``), in its projected CRS (EPSG:9209).
    park_id : str
        The park (``parks.park_id``).
    path : path-like
        The ``.html`` file to write (its folder is created).
    as_of : date-like, optional
        The review date. Default: today.
    since : date-like, optional
        The previous review's date, for "what changed". Default: 30 days before ``as_of``.
    days, window_days : int
        Stall threshold and forecast window, in days.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    ClearanceError
        If the park is not in the atlas (the message lists the park ids).
    """
    parks = atlas.parks
    row = parks[(parks[Col.PARK_ID] == park_id).to_numpy()]
    if row.empty:
        have = ", ".join(sorted(map(str, parks[Col.PARK_ID])))
        raise ClearanceError(f"park '{park_id}' is not in {atlas.location}; parks: {have}")
    text = review_report_html(
        park=row.iloc[0],
        parcels=atlas.parcels,
        events=atlas.clearance_events,
        as_of=as_of,
        since=since,
        days=days,
        window_days=window_days,
        outline=row.geometry,
    )
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, out)
    log.info("wrote the clearance review of %s to %s", park_id, out)
    return out
