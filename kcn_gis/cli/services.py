"""``kcn-gis services housing|environment``: housing, services and environment around the parks."""

from __future__ import annotations

import argparse

from kcn_gis.cli._common import add_as_of, add_atlas, add_format, emit, open_from_args

__all__ = ["register"]

#: Record fields of ``services housing`` (the issue's contract).
HOUSING_FIELDS = (
    "park_id",
    "workers",
    "beds_within_reach",
    "beds_per_worker",
    "nearest_school_m",
    "nearest_kindergarten_m",
    "nearest_clinic_m",
    "nearest_market_m",
)
#: Record fields of ``services environment``.
ENVIRONMENT_FIELDS = (
    "park_id",
    "wastewater_plant",
    "wastewater_capacity_m3_day",
    "waste_storage",
    "days_operating_without_plant",
)


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``services`` with its ``housing`` and ``environment`` subcommands."""
    p = sub.add_parser(
        "services",
        help="worker housing and services within reach of each park; wastewater plants and waste storage",
    )
    inner = p.add_subparsers(dest="services_command", metavar="WHAT", required=True)
    h = inner.add_parser(
        "housing",
        help="beds per worker and the nearest school, kindergarten, clinic and market per park",
        description="Straight-line reach in EPSG:9209 metres from the park boundary (no road network). A housing "
        "project within reach of several parks is shared in proportion to their workers.",
    )
    add_atlas(h)
    add_as_of(h)
    h.add_argument("--reach-m", type=float, default=5000.0, metavar="M", help="reach in metres (default 5000)")
    add_format(h)
    h.set_defaults(func=_housing)
    e = inner.add_parser("environment", help="central wastewater plant, waste storage, days operating without a plant")
    add_atlas(e)
    add_as_of(e)
    add_format(e)
    e.set_defaults(func=_environment)


def _housing(args: argparse.Namespace) -> int:
    from kcn_gis.analytics import housing_coverage

    atlas = open_from_args(args)
    table = housing_coverage(
        atlas.parks, atlas.projects, atlas.facilities, plots=atlas.plots, as_of=args.as_of, reach_m=args.reach_m
    )
    emit(table[list(HOUSING_FIELDS)], args.format, args.out)
    return 0


def _environment(args: argparse.Namespace) -> int:
    from kcn_gis.analytics import environment_status

    atlas = open_from_args(args)
    table = environment_status(
        atlas.parks, atlas.facilities, as_of=args.as_of, projects=atlas.projects, plots=atlas.plots
    )
    emit(table[list(ENVIRONMENT_FIELDS)], args.format, args.out)
    return 0
