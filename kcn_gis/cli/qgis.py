"""``kcn-gis qgis-project``: write a QGIS project (.qgz) of an atlas, with the kcn_gis styles."""

from __future__ import annotations

import argparse
import sys

from kcn_gis.cli._common import add_as_of, add_atlas, open_from_args

__all__ = ["register"]


def _run(args: argparse.Namespace) -> int:
    from kcn_gis.interop.qgis_project import DERIVED_SUFFIX, write_qgis_project

    atlas = open_from_args(args)
    out = write_qgis_project(atlas, args.out, as_of=args.as_of, lang=args.lang)
    if not args.quiet:
        print(f"wrote {out} and {out.with_name(out.stem + DERIVED_SUFFIX)} (QGIS project, EPSG:9209)", file=sys.stderr)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``kcn-gis qgis-project`` to the kcn-gis parser."""
    p = sub.add_parser(
        "qgis-project",
        help="write a QGIS project (.qgz) of the atlas with its styles",
        description="Write a QGIS project of a GeoPackage atlas: province, banks, rivers, parks, plots, parcels "
        "and their clearance stage, styled as in the HTML maps, in EPSG:9209, opening on the province. "
        "The banks and the clearance stages on --as-of go to NAME_derived.gpkg beside the project; "
        "layer paths in the project are relative, so keep the files together.",
    )
    add_atlas(p)
    add_as_of(p)
    p.add_argument(
        "--lang", choices=("vi", "en"), default="vi", help="language of layer names and legend (default: vi)"
    )
    p.add_argument("--out", metavar="FILE.qgz", required=True, help="the project file to write")
    p.add_argument("--quiet", action="store_true", help="print nothing on success")
    p.set_defaults(func=_run)
