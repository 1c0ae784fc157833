"""``kcn-gis validate``: schema, CRS and geometry checks, plus consistency checks between layers."""

from __future__ import annotations

import argparse
import sys

from kcn_gis.cli._common import add_atlas, add_format, emit, open_from_args

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "validate",
        help="check an atlas: layers, columns, values, CRS, geometry validity and consistency",
        description="Check an atlas against the data model and print a table of problems. "
        "Exits 1 when there are errors, 0 otherwise (warnings do not fail).",
    )
    add_atlas(p)
    add_format(p)
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from kcn_gis.validation import problems_frame

    atlas = open_from_args(args, validate=False)
    problems = atlas.validate()
    frame = problems_frame(problems)
    errors = int((frame["severity"] == "error").sum())
    warnings = int((frame["severity"] == "warning").sum())
    if frame.empty and args.format == "table":
        print(f"{atlas.location}: valid (0 errors, 0 warnings)")
    else:
        emit(frame, args.format, args.out)
        print(f"{atlas.location}: {errors} error(s), {warnings} warning(s)", file=sys.stderr)
    return 1 if errors else 0
