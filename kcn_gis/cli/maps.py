"""``kcn-gis map investor|planning|clearance``: write an interactive HTML map."""

from __future__ import annotations

import argparse

from kcn_gis.cli._common import add_as_of, add_atlas, note, open_from_args
from kcn_gis.progress import steps

__all__ = ["register"]

_KINDS = ("investor", "planning", "clearance")


def _run(args: argparse.Namespace) -> int:
    from kcn_gis.maps import clearance_map, investor_map, planning_map, save_map

    atlas = open_from_args(args)
    common = {"lang": args.lang, "as_of": args.as_of, "park": args.park}
    with steps(f"kcn-gis map {args.kind}", ["build", "save"]) as step:
        step("build")
        if args.kind == "investor":
            m = investor_map(atlas, **common)
        elif args.kind == "planning":
            m = planning_map(atlas, **common)
        else:
            m = clearance_map(atlas, time_slider=args.time_slider, **common)
        step("save")
        out = save_map(m, args.out, offline=args.offline)
    note(f"wrote {out} ({'offline' if args.offline else 'online'} {args.kind} map)")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``kcn-gis map`` to the kcn-gis parser."""
    p = sub.add_parser(
        "map",
        help="write an interactive HTML map (investor, planning or clearance)",
        description="Write an interactive HTML map of the atlas for investors, planners or clearance reviews. "
        "Both languages are in the page; --lang picks the one shown first.",
    )
    p.add_argument("kind", choices=_KINDS, help="which map")
    add_atlas(p)
    add_as_of(p)
    p.add_argument("--lang", choices=("vi", "en"), default="vi", help="language shown first (default: vi)")
    p.add_argument(
        "--offline",
        action="store_true",
        help="one self-contained file: scripts inlined, no tiles, no network needed",
    )
    p.add_argument("--park", metavar="PARK_ID", help="only this park")
    p.add_argument("--time-slider", action="store_true", help="clearance map: add a slider over the event dates")
    p.add_argument("--out", metavar="FILE.html", required=True, help="output HTML file")
    p.set_defaults(func=_run)
