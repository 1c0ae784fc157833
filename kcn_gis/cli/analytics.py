"""``kcn-gis fill-rates``, ``kcn-gis balance`` and ``kcn-gis trend``: thin wrappers over :mod:`kcn_gis.analytics`."""

from __future__ import annotations

import argparse

import pandas as pd

from kcn_gis.cli._common import (
    UsageError,
    add_as_of,
    add_atlas,
    add_format,
    emit,
    last_recorded_date,
    note,
    open_from_args,
    resolve_as_of,
)
from kcn_gis.schema import DUONG

__all__ = ["register"]

_RATES = ("fill_rate_planned", "fill_rate_acquired")


def _add_common(p: argparse.ArgumentParser) -> None:
    add_atlas(p)
    add_as_of(p)
    p.add_argument(
        "--all-parks",
        action="store_true",
        help="count every park (default: only operating parks, the official definition)",
    )
    p.add_argument(
        "--land-use",
        action="append",
        metavar="USE",
        help="plot land use that counts (repeatable; default: industrial)",
    )


def _add_river(p: argparse.ArgumentParser) -> None:
    p.add_argument("--river", default=DUONG, help=f"river that splits the province (default: {DUONG})")


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``fill-rates``, ``balance`` and ``trend`` to the kcn-gis parser."""
    p = sub.add_parser(
        "fill-rates",
        help="planned, acquired and leased land and fill rates per park, district, bank or province",
        description="Fill rates computed from the plot geometry on a date. Rates are fractions 0-1 in JSON/CSV/XLSX "
        "and percentages in the table. See docs/analytics.md for the definitions.",
    )
    _add_common(p)
    p.add_argument("--by", choices=("park", "district", "bank", "province"), default="park", help="grouping")
    _add_river(p)
    _add_engine(p)
    add_format(p)
    p.set_defaults(func=_fill_rates)

    p = sub.add_parser(
        "balance",
        help="north/south balance of the Đuống: parks, land, fill rates, projects and workers per bank",
        description="Split the province by the river and compare the two banks on a date.",
    )
    _add_common(p)
    _add_river(p)
    _add_engine(p)
    add_format(p)
    p.set_defaults(func=_balance)

    p = sub.add_parser(
        "trend",
        help="yearly fill rates (and the bank balance) as of 31 December, optionally as a PNG/SVG chart",
    )
    add_atlas(p)
    p.add_argument("--from", dest="start", type=int, required=True, metavar="YEAR", help="first year")
    p.add_argument("--to", dest="end", type=int, required=True, metavar="YEAR", help="last year")
    p.add_argument("--by", choices=("bank", "park", "district", "province"), default="bank", help="grouping")
    p.add_argument("--all-parks", action="store_true", help="count every park (default: operating parks only)")
    p.add_argument("--land-use", action="append", metavar="USE", help="plot land use that counts (repeatable)")
    _add_river(p)
    p.add_argument("--chart", metavar="FILE", help="also draw the series to FILE.png or FILE.svg")
    p.add_argument(
        "--value", default="fill_rate_planned", help="column drawn in the chart (default: fill_rate_planned)"
    )
    add_format(p)
    p.set_defaults(func=_trend)


def _add_engine(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--engine",
        choices=("memory", "dask"),
        default="memory",
        help="memory (default): the atlas in one process; dask: a partitioned GeoParquet atlas "
        "(--atlas DIR written by kcn-gis export --to geoparquet --partitions K) on a Dask cluster",
    )
    p.add_argument(
        "--scheduler",
        metavar="tcp://HOST:PORT",
        help="with --engine dask: a running Dask scheduler (default: a local cluster of 2 processes)",
    )


def _dask_atlas(args: argparse.Namespace) -> str:
    if not args.atlas:
        raise UsageError(
            "--engine dask needs --atlas DIR, a partitioned GeoParquet atlas "
            "(write one with kcn-gis export --to geoparquet --partitions K)"
        )
    path = str(args.atlas)
    resolve_as_of(args, latest=lambda: dask_latest(path))
    return path


def dask_latest(path: str) -> pd.Timestamp | None:
    """``--as-of latest`` for a partitioned GeoParquet atlas: the last date recorded in any of its layers."""
    from kcn_gis.store.geoparquet import read_layer

    class _Layers:
        def read(self, name: str) -> pd.DataFrame:
            try:
                return read_layer(path, name)
            except Exception:  # a layer the partitioned atlas does not hold holds no date
                return pd.DataFrame()

    return last_recorded_date(_Layers())


def _options(args: argparse.Namespace) -> dict:
    opts: dict = {"parks_included": "all" if args.all_parks else "operating"}
    if args.land_use:
        opts["land_uses"] = tuple(args.land_use)
    return opts


def _province_name(atlas) -> str | None:
    from kcn_gis.schema import Col

    names = [str(n) for n in atlas.province[Col.NAME].dropna().unique()]
    return ", ".join(names) if names else None


def _for_table(frame: pd.DataFrame, fmt: str) -> pd.DataFrame:
    """In the human table, show fractions as percentages (columns renamed ``..._pct``)."""
    if fmt != "table":
        return frame
    out = frame.copy()
    for c in list(out.columns):
        if c in _RATES or c.endswith("_share"):
            out[c] = out[c] * 100
            out = out.rename(columns={c: f"{c}_pct"})
    return out


def _emit(frame: pd.DataFrame, args: argparse.Namespace) -> None:
    emit(_for_table(frame, args.format), args.format, args.out)


def _fill_rates(args: argparse.Namespace) -> int:
    from kcn_gis.analytics import fill_rates, split_banks

    if args.engine == "dask":
        from kcn_gis.dask_engine import fill_rates_dask
        from kcn_gis.schema import Col, Layer
        from kcn_gis.store.geoparquet import read_layer

        path = _dask_atlas(args)
        name = None
        if args.by == "province":
            names = [str(n) for n in read_layer(path, Layer.PROVINCE)[Col.NAME].dropna().unique()]
            name = ", ".join(names) if names else None
        # the Dask engine shows the cluster's own progress bar and dashboard link on a terminal
        frame = fill_rates_dask(
            path,
            as_of=args.as_of,
            by=args.by,
            river=args.river,
            province_name=name,
            scheduler=args.scheduler,
            **_options(args),
        )
        _emit(frame, args)
        return 0

    atlas = open_from_args(args)
    banks = split_banks(atlas.province, atlas.rivers, river=args.river) if args.by == "bank" else None
    name = _province_name(atlas) if args.by == "province" else None
    frame = fill_rates(
        atlas.plots, atlas.parks, as_of=args.as_of, by=args.by, banks=banks, province_name=name, **_options(args)
    )
    _emit(frame, args)
    return 0


def _balance(args: argparse.Namespace) -> int:
    from kcn_gis.analytics import river_balance

    if args.engine == "dask":
        from kcn_gis.dask_engine import river_balance_dask

        path = _dask_atlas(args)
        # the Dask engine shows the cluster's own progress bar and dashboard link on a terminal
        frame = river_balance_dask(
            path, as_of=args.as_of, river=args.river, scheduler=args.scheduler, **_options(args)
        )
        _emit(frame, args)
        return 0

    atlas = open_from_args(args)
    frame = river_balance(
        atlas.province,
        atlas.rivers,
        atlas.parks,
        atlas.plots,
        atlas.projects,
        as_of=args.as_of,
        river=args.river,
        **_options(args),
    )
    _emit(frame, args)
    return 0


def _trend(args: argparse.Namespace) -> int:
    from kcn_gis.analytics import fill_rate_trend, plot_trend, split_banks

    atlas = open_from_args(args)
    banks = split_banks(atlas.province, atlas.rivers, river=args.river) if args.by == "bank" else None
    name = _province_name(atlas) if args.by == "province" else None
    frame = fill_rate_trend(
        atlas.plots,
        atlas.parks,
        start=args.start,
        end=args.end,
        by=args.by,
        banks=banks,
        province_name=name,
        **_options(args),
    )
    if args.chart:
        from kcn_gis.interop.exporters.charts import write_chart

        write_chart(plot_trend(frame, value=args.value, title=f"{args.value} {args.start}-{args.end}"), args.chart)
        note(f"wrote {args.chart}")
    _emit(frame, args)
    return 0
