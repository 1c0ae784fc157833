"""``kcn-gis import``, ``kcn-gis export`` and ``kcn-gis raster``: real-world data in and out."""

from __future__ import annotations

import argparse
import sys

from kcn_gis.cli._common import add_as_of, add_atlas, add_format, emit, open_from_args

__all__ = ["register"]

_LAYERS = ("parks", "plots", "parcels", "province", "rivers", "facilities")


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``import``, ``export`` and ``raster`` to the kcn-gis parser."""
    p = sub.add_parser(
        "import",
        help="import a Shapefile, GeoPackage, GeoJSON, KML/KMZ, DXF, CSV or XLSX into an atlas layer",
        description="Import one file into one atlas layer, all or nothing: any error writes nothing and every "
        "problem is listed with its file, row and field. Legacy TCVN3/VNI text is converted to Unicode, the CRS "
        "is checked against Bắc Ninh (never guessed, never silently reprojected).",
    )
    p.add_argument("file", metavar="FILE")
    p.add_argument("--layer", required=True, choices=_LAYERS, help="the atlas layer to fill")
    p.add_argument(
        "--atlas", metavar="PATH", help="atlas GeoPackage (a new path creates an atlas) or postgresql:// URL"
    )
    p.add_argument("--crs", metavar="EPSG", help="CRS of a file that declares none, e.g. EPSG:9209")
    p.add_argument(
        "--assume-crs",
        metavar="EPSG|ALIAS",
        help="repair: read the coordinates in this CRS whatever the file says (logged). Aliases for known "
        "mistakes: vn2000-no-datum-shift, vn2000-wrong-towgs84-sign, vn2000-k0.9996, vn2000-lonlat-as-wgs84",
    )
    p.add_argument("--swap-xy", action="store_true", help="with --assume-crs: the file stores (northing, easting)")
    p.add_argument("--map", metavar="MAPPING.yaml", help="column mapping file (see docs/interop.md)")
    p.add_argument(
        "--encoding",
        metavar="ENC",
        help="text encoding: auto (default), tcvn3, vni, unicode, or a code page such as cp1258",
    )
    p.add_argument(
        "--mode",
        choices=("append", "replace"),
        default="append",
        help="append: add the features (ids must be new, default); replace: replace the features of the parks "
        "present in the file, keeping the other parks",
    )
    p.add_argument(
        "--replace-all",
        action="store_true",
        help="replace the WHOLE layer with the file (refused for an empty file, or when clearance events, plots "
        "or parcels would point to nothing)",
    )
    p.add_argument(
        "--strict", action="store_true", help="treat warnings of the consistency checks as errors (nothing written)"
    )
    p.add_argument(
        "--source-layer",
        metavar="NAME",
        help="layer of a multi-layer file, or sheet of a workbook (default: every data sheet, each kept in "
        "source_layer)",
    )
    p.add_argument(
        "--park",
        metavar="PARK_ID",
        help="the park of every feature (default: the park column, or the park whose boundary holds each feature)",
    )
    p.add_argument(
        "--set",
        metavar="COLUMN=VALUE",
        action="append",
        default=[],
        dest="set_values",
        help='a constant for every feature, e.g. --set commune="Xã Nam Sơn" --set map_sheet=12 (repeatable)',
    )
    p.add_argument("--xy", choices=("vn", "gis"), help="X/Y headers of tables: vn (X = northing, default) or gis")
    p.add_argument("--dry-run", action="store_true", help="show what would be imported; write nothing")
    p.add_argument("--problems", metavar="FILE.csv", help="also write every problem to this CSV file")
    p.set_defaults(func=_run_import)

    e = sub.add_parser(
        "export",
        help="export a layer as GeoPackage, GeoJSON, KML/KMZ, Shapefile, XLSX, DXF (or the atlas as GeoParquet)",
        description="Export one atlas layer. --audience investor keeps only the investor allow-list: holder data "
        "never leaves through it, and parcels cannot be exported for investors.",
    )
    add_atlas(e)
    e.add_argument("--layer", choices=_LAYERS, help="the layer (not needed for geoparquet)")
    e.add_argument(
        "--format", required=True, choices=("gpkg", "geojson", "kml", "kmz", "shp", "xlsx", "dxf", "geoparquet")
    )
    e.add_argument("--out", required=True, metavar="FILE", help="file to write (a directory for geoparquet)")
    e.add_argument("--audience", choices=("internal", "investor"), default="internal")
    e.add_argument("--partitions", type=int, metavar="K", help="geoparquet: number of spatial partitions")
    add_as_of(e)
    e.set_defaults(func=_run_export)

    r = sub.add_parser("raster", help="rasterize plots/parcels; zonal statistics of a raster per parcel")
    rsub = r.add_subparsers(dest="raster_command", metavar="ACTION", required=True)
    rz = rsub.add_parser("rasterize", help="write plot status or parcel stage as a GeoTIFF in the atlas CRS")
    add_atlas(rz)
    rz.add_argument("--layer", required=True, choices=("plots", "parcels", "parks"))
    rz.add_argument("--value", required=True, choices=("status", "stage"))
    rz.add_argument("--res", type=float, default=5.0, help="pixel size in metres (default 5)")
    rz.add_argument("--out", required=True, metavar="FILE.tif")
    add_as_of(rz)
    rz.set_defaults(func=_run_rasterize)
    zs = rsub.add_parser(
        "zonal",
        help="statistics of a raster (NDVI, land cover ...) per parcel; --check-clearance flags contradictions",
        description="Exact zonal statistics (pixels weighted by covered fraction, with exactextract) of one band "
        "per feature. --check-clearance flags vegetated parcels recorded as handed over and bare parcels still "
        "only notified. Exits 1 when parcels are flagged.",
    )
    zs.add_argument("raster", metavar="FILE.tif")
    add_atlas(zs)
    zs.add_argument("--layer", choices=("parcels", "plots", "parks"), default="parcels")
    zs.add_argument("--band", type=int, default=1)
    zs.add_argument("--method", choices=("auto", "exact", "center"), default="auto")
    zs.add_argument("--check-clearance", action="store_true", help="compare with the recorded clearance stage")
    zs.add_argument("--vegetated-above", type=float, default=0.4, help="mean above this = vegetated (NDVI 0.4)")
    zs.add_argument("--bare-below", type=float, default=0.2, help="mean below this = bare (NDVI 0.2)")
    add_as_of(zs)
    add_format(zs)
    zs.set_defaults(func=_run_zonal)


def _run_import(args: argparse.Namespace) -> int:
    from kcn_gis.errors import InputFileError, KcnGisError
    from kcn_gis.interop.importers.pipeline import commit_import, prepare_import
    from kcn_gis.store import check_writable

    if args.atlas is None and not args.dry_run:
        raise InputFileError(
            "give the atlas to import into with --atlas PATH (a new .gpkg path creates an atlas); the bundled "
            "atlas is read-only. Use --dry-run to only check the file."
        )
    if args.replace_all and args.mode == "append" and "--mode" in sys.argv:
        raise InputFileError("--replace-all replaces the whole layer; it cannot be combined with --mode append")
    mode = "replace_all" if args.replace_all else args.mode
    if args.atlas is not None and not args.dry_run:
        check_writable(args.atlas)  # read-only file or folder, bundled atlas: fail before reading anything
    steps = _Steps()
    result, target_atlas, atlas_path, to_write = prepare_import(
        args.file,
        args.layer,
        atlas=args.atlas,
        crs=args.crs,
        assume_crs=args.assume_crs,
        swap_xy=args.swap_xy,
        mapping=args.map,
        encoding=args.encoding,
        mode=mode,
        source_layer=args.source_layer,
        xy=args.xy,
        park=args.park,
        constants=_parse_set(args.set_values),
        on_step=steps,
        strict=args.strict,
    )
    steps.close()
    result.dry_run = args.dry_run

    def report() -> None:
        print(result.summary(), file=sys.stderr)
        if result.problems:
            table = result.problems_frame()
            print(table.to_string(index=False), file=sys.stderr)
            if args.problems:
                table.to_csv(args.problems, index=False)

    if args.dry_run or result.errors:
        report()
        if args.dry_run:
            if result.frame is not None and len(result.frame):
                preview = result.frame.drop(columns=result.frame.geometry.name).head(10)
                print(preview.to_string(index=False))
            return 1 if result.errors else 0
        print("nothing was written.", file=sys.stderr)
        return 1
    try:
        done = commit_import(result, target_atlas, atlas_path, to_write, source=args.file)
    except KcnGisError as exc:
        # refused at write time (a conflict with another program, the atlas locked, rows it would orphan):
        # the command ran and found a problem, so exit 1
        report()
        print(f"kcn-gis import: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    # the summary and this line are printed only once the transaction is committed
    report()
    n = 0 if done.frame is None else len(done.frame)
    how = {
        "append": "appended",
        "replace": "replaced the features of their park(s) with",
        "replace_all": "replaced the whole layer with",
    }[done.mode]
    print(f"wrote layer '{done.layer}' of {args.atlas}: {how} {n} feature(s) (committed)", file=sys.stderr)
    return 0


def _parse_set(items: list[str]) -> dict[str, str]:
    """``["commune=Xã Nam Sơn", "map_sheet=12"]`` -> ``{"commune": "Xã Nam Sơn", "map_sheet": "12"}``."""
    from kcn_gis.errors import InputFileError

    out: dict[str, str] = {}
    for item in items:
        col, sep, value = item.partition("=")
        if not sep or not col.strip():
            raise InputFileError(f'--set {item}: write it as COLUMN=VALUE, e.g. --set commune="Xã Nam Sơn"')
        out[col.strip()] = value.strip()
    return out


class _Steps:
    """A progress bar over the import steps: on a terminal only, and only once the import takes over 2 s."""

    _NAMES = ("read", "text", "columns", "crs", "model")

    def __init__(self) -> None:
        from tqdm import tqdm

        self.bar = tqdm(
            total=len(self._NAMES),
            desc="kcn-gis import",
            unit="step",
            file=sys.stderr,
            disable=not sys.stderr.isatty(),
            delay=2.0,
            leave=False,
        )

    def __call__(self, name: str) -> None:
        if name != self._NAMES[0]:
            self.bar.update(1)
        self.bar.set_postfix_str(name, refresh=False)  # drawn by update(), after the delay

    def close(self) -> None:
        self.bar.update(self.bar.total - self.bar.n)
        self.bar.close()


def _run_export(args: argparse.Namespace) -> int:
    from kcn_gis.errors import KcnGisError
    from kcn_gis.interop.exporters import export_layer

    if args.format != "geoparquet" and not args.layer:
        raise KcnGisError("--layer is required for this format")
    atlas = open_from_args(args)
    path = export_layer(
        atlas,
        args.layer,
        args.format,
        args.out,
        audience=args.audience,
        as_of=args.as_of,
        partitions=args.partitions,
    )
    print(f"wrote {path}", file=sys.stderr)
    return 0


def _run_rasterize(args: argparse.Namespace) -> int:
    from kcn_gis.interop.raster import rasterize_to_file

    atlas = open_from_args(args)
    events = atlas.clearance_events if args.layer == "parcels" else None
    path = rasterize_to_file(
        atlas.read(args.layer), args.layer, args.value, args.out, res=args.res, as_of=args.as_of, events=events
    )
    print(f"wrote {path}", file=sys.stderr)
    return 0


def _run_zonal(args: argparse.Namespace) -> int:
    from kcn_gis.errors import KcnGisError
    from kcn_gis.interop.raster import check_clearance, zonal_stats

    atlas = open_from_args(args)
    if args.check_clearance:
        if args.layer != "parcels":
            raise KcnGisError("--check-clearance works on --layer parcels")
        table = check_clearance(
            atlas.parcels,
            atlas.clearance_events,
            args.raster,
            as_of=args.as_of,
            vegetated_above=args.vegetated_above,
            bare_below=args.bare_below,
            band=args.band,
            method=args.method,
        )
        emit(table.reset_index(drop=True), args.format, args.out)
        flagged = int((table["flag"] != "").sum())
        print(f"{flagged} parcel(s) flagged", file=sys.stderr)
        return 1 if flagged else 0
    table = zonal_stats(atlas.read(args.layer), args.raster, band=args.band, method=args.method)
    emit(table.reset_index(drop=True), args.format, args.out)
    return 0
