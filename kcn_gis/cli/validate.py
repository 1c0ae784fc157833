"""``kcn-gis validate``: schema, CRS and geometry checks, plus consistency checks between layers.

With ``--fix NEW_ATLAS`` the invalid geometries are repaired into a *new* atlas
and every change is listed; the source atlas is never edited.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from kcn_gis.cli._common import UsageError, add_atlas, add_format, emit, open_from_args
from kcn_gis.errors import KcnGisError, Problem
from kcn_gis.progress import steps

__all__ = ["register"]

#: Schema problems that make the layers unusable for the consistency checks.
#: Consistency problems listed per check and layer; the rest are counted in one line (as the schema checks do).
_MAX_PER_CHECK = 50

_BLOCKING = frozenset({"missing_layer", "missing_column", "missing_geometry", "missing_crs", "wrong_crs"})


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "validate",
        help="check an atlas: layers, columns, values, CRS, geometry validity and consistency",
        description="Check an atlas against the data model, then check the layers against each other "
        "(plots outside their park, overlapping plots and parks, date order, unknown ids ...), and print a "
        "table of problems. Exits 1 when there are errors, 0 otherwise (warnings do not fail).",
    )
    add_atlas(p)
    add_format(p)
    p.add_argument(
        "--fix",
        metavar="NEW_ATLAS",
        help="write a new atlas (.gpkg) with the invalid geometries repaired and list every change; "
        "the source atlas is never edited",
    )
    p.set_defaults(func=_run)


def _consistency(atlas, schema: list[Problem]) -> tuple[list[Problem], dict[str, int]] | None:
    from kcn_gis.analytics import check_consistency
    from kcn_gis.schema import Layer

    needed = {str(Layer.PARKS), str(Layer.PLOTS), str(Layer.PARCELS), str(Layer.PROJECTS), str(Layer.CLEARANCE_EVENTS)}
    if any(p.check in _BLOCKING and (p.layer in needed or p.layer is None) for p in schema):
        return None
    if not atlas.crs.is_projected:
        return None
    # environment checks (B.II.4) only on atlases that record facilities; an atlas without any is not flagged
    facilities = atlas.facilities if len(atlas.facilities) else None
    found = check_consistency(
        parks=atlas.parks,
        plots=atlas.plots,
        parcels=atlas.parcels,
        projects=atlas.projects,
        facilities=facilities,
        reports=atlas.enterprise_reports,
        clearance_events=atlas.clearance_events,
    )
    seen = {(p.check, p.layer, p.row) for p in schema}
    shown: dict[tuple[str, str | None], int] = {}
    hidden: dict[tuple[str, str | None], tuple[Problem, int]] = {}
    located: list[Problem] = []
    for p in found:
        if (p.check, p.layer, p.row) in seen:
            continue  # already reported by the schema checks (invalid geometry)
        group = (p.check, p.layer)
        if shown.get(group, 0) >= _MAX_PER_CHECK:
            first, count = hidden.get(group, (p, 0))
            hidden[group] = (first, count + 1)
            continue
        shown[group] = shown.get(group, 0) + 1
        located.append(
            Problem(
                p.severity, p.check, p.message, layer=p.layer, row=p.row, field=p.field, ids=p.ids, file=atlas.location
            )
        )
    for (check, layer), (first, count) in hidden.items():
        located.append(
            Problem(
                first.severity,
                check,
                f"... and {count} more {layer} row(s) with the same problem "
                "(kcn_gis.analytics.check_consistency lists them all)",
                layer=layer,
                file=atlas.location,
            )
        )
    extra = {"error": 0, "warning": 0}
    for first, count in hidden.values():
        extra[first.severity] = extra.get(first.severity, 0) + count - 1  # the summary row itself is counted
    return located, extra


def _fix(atlas, target: str, schema: list[Problem], fmt: str) -> None:
    from kcn_gis.analytics import repair_geometries
    from kcn_gis.store import write_atlas

    if "://" not in target and Path(target).suffix.lower() != ".gpkg":
        raise UsageError(f"--fix {target}: the repaired atlas is written as a GeoPackage; give a .gpkg file name")
    if "://" not in atlas.location and Path(target).resolve() == Path(atlas.location).resolve():
        raise UsageError("--fix never edits the source atlas: give a NEW file name for the repaired atlas")
    if "://" not in target and Path(target).exists():
        raise UsageError(f"--fix {target}: the file exists; remove it or choose another name (nothing was written)")
    blocking = [p for p in schema if p.check in _BLOCKING]
    if blocking:
        raise KcnGisError.from_problems(
            blocking, header="--fix repairs geometries only; fix these structural problems first (nothing was written):"
        )
    layers = {name: atlas.read(name) for name in atlas.layer_names()}
    repaired, changes = repair_geometries(layers)
    stream = sys.stdout if fmt == "table" else sys.stderr
    if changes.empty:
        print(f"--fix: no invalid geometries to repair; {target} was not written", file=stream)
        return
    write_atlas(target, repaired, crs=atlas.crs, validate=False)
    print(f"\n--fix: wrote {target} with {len(changes)} change(s) (the source atlas is unchanged):", file=stream)
    with pd.option_context("display.max_colwidth", 80, "display.width", 200):
        print(changes.to_string(index=False, float_format=lambda x: f"{x:,.4f}"), file=stream)
    print(f"check it with: kcn-gis validate --atlas {target}", file=stream)


#: A GeoPackage of about 30 000 parcels with their clearance history (GeoParquet: about 200 000): from this
#: size on, the compiled overlap search is loaded in the background while the layers are read.
_LARGE_ATLAS_BYTES = 32 * 2**20


def _bytes(location: str) -> int:
    """Size on disk of a file atlas or a partitioned one (a folder); 0 for a database URL."""
    path = Path(location)
    if "://" in location or not path.exists():
        return 0
    if path.is_dir():
        return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    return path.stat().st_size


def _run(args: argparse.Namespace) -> int:
    from kcn_gis.memory import fewer_collections

    with fewer_collections():  # a million parcels are a million tracked objects: see there
        return _validate(args)


def _validate(args: argparse.Namespace) -> int:
    from kcn_gis.validation import problems_frame

    atlas = open_from_args(args, validate=False)
    if _bytes(atlas.location) >= _LARGE_ATLAS_BYTES:
        from kcn_gis.analytics.checks import prepare_overlap_search

        prepare_overlap_search()  # numba loads while the layers are read
    with steps("kcn-gis validate", ["layers", "consistency"]) as step:
        step("layers")
        problems = atlas.validate()  # reads each layer once; cached for the consistency checks
        step("consistency")
        consistency = _consistency(atlas, problems)
    extra = {"error": 0, "warning": 0}
    if consistency is None:
        print(
            f"{atlas.location}: consistency checks between layers skipped until the structural problems are fixed",
            file=sys.stderr,
        )
    else:
        problems += consistency[0]
        extra = consistency[1]
    frame = problems_frame(problems)
    errors = int((frame["severity"] == "error").sum()) + extra["error"]
    warnings = int((frame["severity"] == "warning").sum()) + extra["warning"]
    if frame.empty and args.format == "table":
        print(f"{atlas.location}: valid (0 errors, 0 warnings)")
    else:
        emit(frame, args.format, args.out)
        print(f"{atlas.location}: {errors} error(s), {warnings} warning(s)", file=sys.stderr)
    if args.fix:
        _fix(atlas, args.fix, problems, args.format)
    return 1 if errors else 0
