"""``kcn-gis clearance ...``: land clearance progress per parcel (import, template, progress, stalls,
forecast, timeline, report). Thin: parse, call :mod:`kcn_gis.clearance`, print or write."""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import TYPE_CHECKING

import pandas as pd

from kcn_gis.cli._common import (
    UsageError,
    add_as_of,
    add_atlas,
    add_format,
    emit,
    note,
    open_from_args,
    parse_date,
    resolve_as_of,
)
from kcn_gis.errors import ClearanceError
from kcn_gis.progress import steps

if TYPE_CHECKING:
    from kcn_gis.store.base import Atlas

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``clearance`` subcommands to the kcn-gis parser."""
    p = sub.add_parser(
        "clearance",
        help="land clearance (bồi thường, GPMB) per parcel: import sheets, progress, stalls, forecast, report",
        description="Land clearance (bồi thường, giải phóng mặt bằng) per parcel.",
    )
    cmds = p.add_subparsers(dest="clearance_command", metavar="SUBCOMMAND", required=True)

    imp = cmds.add_parser(
        "import",
        help="import a progress sheet (XLSX/CSV); all rows or none",
        description="Import a clearance progress sheet. Any error: nothing is written and the exit code is 1. "
        "Importing the same file twice adds nothing the second time.",
    )
    imp.add_argument("file", metavar="FILE.xlsx|FILE.csv")
    imp.add_argument(
        "--atlas",
        metavar="PATH",
        help="atlas GeoPackage or postgresql:// URL to write to (required unless --dry-run: the bundled atlas "
        "is read-only)",
    )
    imp.add_argument("--park", metavar="PARK_ID", help="find parcels (commune + tờ + thửa) within this park only")
    imp.add_argument("--dry-run", action="store_true", help="validate and show what would change; write nothing")
    imp.add_argument("--recorded-by", metavar="NAME", help="who records the events (default: your login name)")
    imp.add_argument("--map", metavar="MAPPING.yaml", help="YAML mapping for other sheet layouts")
    imp.add_argument(
        "--encoding", metavar="ENC", help="text encoding: auto (default), unicode, tcvn3, vni, or a CSV code page"
    )
    imp.set_defaults(func=_import)

    tpl = cmds.add_parser("template", help="write a ready-to-fill progress sheet for a park")
    tpl.add_argument("--park", required=True, metavar="PARK_ID")
    tpl.add_argument("--out", required=True, metavar="FILE.xlsx")
    add_atlas(tpl)
    tpl.set_defaults(func=_template)

    prog = cmds.add_parser("progress", help="parcels and area in each stage, per park, on a date")
    prog.add_argument("--park", metavar="PARK_ID", action="append", help="only this park (repeatable)")
    add_atlas(prog)
    add_as_of(prog)
    add_format(prog)
    prog.add_argument(
        "--engine",
        choices=("memory", "dask"),
        default="memory",
        help="dask: --atlas is a partitioned GeoParquet directory, computed on a Dask cluster",
    )
    prog.add_argument(
        "--scheduler", metavar="tcp://HOST:PORT", help="with --engine dask: a running Dask scheduler (default: local)"
    )
    prog.set_defaults(func=_progress)

    st = cmds.add_parser("stalls", help="parcels without progress for N days (or with an open complaint)")
    st.add_argument("--park", metavar="PARK_ID", action="append", help="only this park (repeatable)")
    st.add_argument("--days", type=int, default=90, help="days without progress (default: 90)")
    st.add_argument("--disputed", action="store_true", help="list parcels with an open complaint instead")
    add_atlas(st)
    add_as_of(st)
    add_format(st)
    st.set_defaults(func=_stalls)

    fc = cmds.add_parser("forecast", help="completion forecast per park from the recent pace (ha/month)")
    fc.add_argument("--park", metavar="PARK_ID", action="append", help="only this park (repeatable)")
    fc.add_argument("--window-days", type=int, default=180, help="length of the recent window (default: 180)")
    add_atlas(fc)
    add_as_of(fc)
    add_format(fc)
    fc.set_defaults(func=_forecast)

    tl = cmds.add_parser("timeline", help="the full dated history of one parcel")
    tl.add_argument("parcel_id", metavar="PARCEL_ID")
    add_atlas(tl)
    add_format(tl)
    tl.set_defaults(func=_timeline)

    rep = cmds.add_parser("report", help="write the self-contained HTML review report of a park")
    rep.add_argument("--park", required=True, metavar="PARK_ID")
    rep.add_argument("--out", required=True, metavar="FILE.html")
    rep.add_argument(
        "--since", type=parse_date, metavar="YYYY-MM-DD", help="date of the previous review (default: 30 days before)"
    )
    rep.add_argument("--days", type=int, default=90, help="days without progress for a stall (default: 90)")
    add_atlas(rep)
    add_as_of(rep)
    rep.set_defaults(func=_report)


def _check_parks(atlas: Atlas, parks: list[str] | None) -> list[str] | None:
    """The park ids ``--park`` means (ids without case, names without diacritics), as the Python API resolves them."""
    from kcn_gis.clearance.progress import requested_parks

    if not parks:
        return parks
    return requested_parks(parks, pd.Index([]), atlas.parks)


def _import(args: argparse.Namespace) -> int:
    from kcn_gis.interop.clearance_sheets import import_sheet

    if args.atlas is None and not args.dry_run:
        raise UsageError(
            "give the atlas to import into with --atlas PATH (a GeoPackage or postgresql:// URL); the bundled "
            "atlas is read-only. Use --dry-run to only check the sheet."
        )
    atlas = open_from_args(args)
    who = args.recorded_by or getpass.getuser()
    try:
        result = import_sheet(
            atlas,
            args.file,
            recorded_by=who,
            dry_run=args.dry_run,
            mapping=args.map,
            park=args.park,
            encoding=args.encoding,
        )
    except ClearanceError as exc:
        if not exc.problems:
            raise
        _print_problems(list(exc.problems))
        n = sum(p.severity == "error" for p in exc.problems)
        print(f"kcn-gis clearance import: {n} error(s); nothing was written to {atlas.location}", file=sys.stderr)
        return 1
    _print_problems([p for p in result.problems if p.check != "sheet_skipped"])  # the summary lists those
    for s in result.sheets:
        if s.imported:
            name = f"sheet '{s.sheet}'" if s.sheet is not None else "table"
            print(f"{name}: read: {s.reason}", file=sys.stderr)
    if len(result.new_events):
        cols = ["sheet", "row", "event_id", "parcel_id", "event", "event_date", "reference", "note"]
        head = "would add" if result.dry_run else "added"
        print(f"{head}:")
        print(result.new_events[cols].to_string(index=False))
    print(result.summary())
    return 0


def _print_problems(problems: list) -> None:
    for p in problems:
        print(f"{p.severity}: {p} [{p.check}]", file=sys.stderr)


def _template(args: argparse.Namespace) -> int:
    from kcn_gis.interop.clearance_sheets import write_template

    atlas = open_from_args(args)
    out = write_template(atlas, args.park, args.out)
    note(f"wrote {out}")
    return 0


def _progress(args: argparse.Namespace) -> int:
    from kcn_gis.clearance import clearance_progress, progress_records

    if args.engine == "dask":
        from kcn_gis.dask_engine import clearance_progress_dask

        if not args.atlas:
            raise UsageError(
                "--engine dask needs --atlas DIR, a partitioned GeoParquet atlas "
                "(kcn-gis export --to geoparquet --partitions K)"
            )
        from kcn_gis.cli.analytics import dask_latest

        resolve_as_of(args, latest=lambda: dask_latest(str(args.atlas)))
        # the Dask engine shows the cluster's own progress bar and dashboard link on a terminal
        frame = clearance_progress_dask(args.atlas, as_of=args.as_of, park=args.park, scheduler=args.scheduler)
        emit(frame, args.format, args.out, json_records=progress_records(frame))
        return 0

    atlas = open_from_args(args)
    args.park = _check_parks(atlas, args.park)
    from kcn_gis.dask_engine import clearance_progress_parts, copartitioned

    if args.atlas and copartitioned(args.atlas):
        # a co-partitioned GeoParquet atlas: part by part in threads, reading only what the stages need
        # (the same frame, bit for bit, as the whole-layer computation below)
        frame = clearance_progress_parts(args.atlas, as_of=args.as_of, park=args.park)
    else:
        frame = clearance_progress(
            atlas.clearance_events, atlas.parcels, as_of=args.as_of, park=args.park, parks=atlas.parks
        )
    emit(frame, args.format, args.out, json_records=progress_records(frame))
    return 0


def _stalls(args: argparse.Namespace) -> int:
    from kcn_gis.clearance import disputed_parcels, stalled_parcels

    atlas = open_from_args(args)
    args.park = _check_parks(atlas, args.park)
    parcels = atlas.parcels
    if args.park:
        parcels = parcels[parcels["park_id"].isin(args.park).to_numpy()]
    if args.disputed:
        frame = disputed_parcels(atlas.clearance_events, parcels, as_of=args.as_of)
    else:
        frame = stalled_parcels(atlas.clearance_events, parcels, as_of=args.as_of, days=args.days)
    emit(pd.DataFrame(frame), args.format, args.out)
    return 0


def _forecast(args: argparse.Namespace) -> int:
    from kcn_gis.clearance import clearance_forecast

    atlas = open_from_args(args)
    args.park = _check_parks(atlas, args.park)
    frame = clearance_forecast(
        atlas.clearance_events,
        atlas.parcels,
        as_of=args.as_of,
        window_days=args.window_days,
        park=args.park,
        parks=atlas.parks,
    )
    if args.format == "table" and not args.out:
        for rec in frame.to_dict(orient="records"):
            print(f"{rec['park_id']}: {rec['message']}")
        return 0
    emit(frame, args.format, args.out)
    return 0


def _timeline(args: argparse.Namespace) -> int:
    from kcn_gis.clearance import parcel_timeline

    atlas = open_from_args(args)
    if args.parcel_id not in set(atlas.parcels["parcel_id"].astype(str)):
        raise ClearanceError(f"parcel '{args.parcel_id}' is not in {atlas.location}; check the parcel id (Mã thửa)")
    frame = parcel_timeline(atlas.clearance_events, args.parcel_id)
    cols = [
        "event_date",
        "event",
        "label",
        "stage_after",
        "reference",
        "note",
        "event_id",
        "corrects_event_id",
        "corrected_by",
        "recorded_at",
        "recorded_by",
    ]
    emit(frame[[c for c in cols if c in frame.columns]], args.format, args.out)
    return 0


def _report(args: argparse.Namespace) -> int:
    from kcn_gis.clearance import write_review_report

    atlas = open_from_args(args)
    with steps("kcn-gis clearance report", ["report"]) as step:
        step("report")
        out = write_review_report(atlas, args.park, args.out, as_of=args.as_of, since=args.since, days=args.days)
    note(f"wrote {out}")
    return 0
