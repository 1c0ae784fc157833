"""``kcn-gis report``: every figure of the Board's 2011 report beside the same figure computed from the atlas."""

from __future__ import annotations

import argparse
import math

import pandas as pd

from kcn_gis.cli._common import add_as_of, add_atlas, add_format, emit, note, open_from_args, records

__all__ = ["register"]

#: Decimals shown per unit in the table format.
_DECIMALS = {"%": 2, "ha": 2, "bn USD": 3, "M USD/project": 2, "M USD/ha": 2}


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``kcn-gis report`` to the parser."""
    p = sub.add_parser(
        "report",
        help="reconcile the atlas with the Board's 2011 report, figure by figure",
        description="Print every figure of the Bắc Ninh Industrial Parks Management Board's report of 26/12/2011 "
        "that the data model covers, beside the same figure computed from the atlas (areas from geometry in "
        "EPSG:9209 hectares, fill rates, projects, workforce), and their difference. Rows marked \"report's own "
        "arithmetic\" recompute a figure from the report's other figures, showing where the report disagrees "
        "with itself (4.1 bn USD / 527 projects = 7.78, not 7.73, M USD per project).",
    )
    add_atlas(p)
    add_as_of(p, default_help="today; the bundled atlas reconstructs 2011-12-26")
    add_format(p)
    p.set_defaults(func=_run)


def _fmt(value: float, unit: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    decimals = _DECIMALS.get(unit, 0)
    value = round(float(value), decimals) + 0.0  # no "-0.00"
    return f"{value:,.{decimals}f}"


def display_table(frame: pd.DataFrame) -> pd.DataFrame:
    """A display copy: numbers formatted per unit, text left as is."""
    out = frame.copy()
    for col in ("report_value", "computed_value", "difference"):
        out[col] = [_fmt(v, u) for v, u in zip(frame[col], frame["unit"], strict=True)]
    return out


def _run(args: argparse.Namespace) -> int:
    from kcn_gis.reconcile import reconcile

    atlas = open_from_args(args)
    as_of = args.as_of if args.as_of is not None else pd.Timestamp.today().normalize()
    table = reconcile(
        parks=atlas.parks, plots=atlas.plots, projects=atlas.projects, as_of=as_of, reports=atlas.enterprise_reports
    )
    if args.format == "table":
        note(f"{atlas.location}: reconciliation with the Board's report of 2011-12-26, as of {as_of.date()}")
        emit(display_table(table), "table", args.out)
    else:
        emit(table, args.format, args.out, json_records=records(table) if args.format == "json" else None)
    return 0
