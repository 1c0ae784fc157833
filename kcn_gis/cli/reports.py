"""``kcn-gis reports status|missing|import|template``: the enterprises' periodic statistical reports."""

from __future__ import annotations

import argparse
import sys

from kcn_gis.cli._common import add_atlas, add_format, emit, note, open_from_args, records

__all__ = ["register"]


def _period(text: str) -> str:
    """``--period``: checked when parsed, so a misspelt period is a usage mistake (exit 2)."""
    from kcn_gis.analytics.reporting import period_bounds
    from kcn_gis.errors import KcnGisError

    try:
        period_bounds(text)
    except KcnGisError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text.strip()


#: Record fields of ``reports status`` (the issue's contract).
STATUS_FIELDS = ("park_id", "due", "filed_on_time", "filed_late", "not_filed", "filed_share", "missing")


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``reports`` with its ``status``, ``missing``, ``import`` and ``template`` subcommands."""
    p = sub.add_parser(
        "reports", help="enterprises' periodic statistical reports: status, non-filers, import, template"
    )
    inner = p.add_subparsers(dest="reports_command", metavar="WHAT", required=True)
    s = inner.add_parser("status", help="per park and province: due, filed on time, late, not filed, share filed")
    add_atlas(s)
    s.add_argument("--period", required=True, type=_period, help="YYYY, YYYY-Qn or YYYY-MM")
    add_format(s)
    s.set_defaults(func=_status)
    m = inner.add_parser("missing", help="the projects that did not file for the period, with their investor")
    add_atlas(m)
    m.add_argument("--period", required=True, type=_period, help="YYYY, YYYY-Qn or YYYY-MM")
    add_format(m)
    m.set_defaults(func=_missing)
    i = inner.add_parser(
        "import",
        help="import a reports workbook (one sheet per period, one row per enterprise, Vietnamese headers)",
        description="All or nothing: every problem is listed with its sheet, row and column, and nothing is written "
        "if there is one. Re-importing adds nothing; a changed row is stored as a new revision.",
    )
    i.add_argument("file", metavar="FILE.xlsx")
    add_atlas(i)
    i.add_argument("--recorded-by", metavar="NAME", help="who records the reports (default: the login name)")
    i.set_defaults(func=_import)
    t = inner.add_parser("template", help="write a fill-in workbook listing the projects that must report")
    add_atlas(t)
    t.add_argument(
        "--period", required=True, type=_period, action="append", help="YYYY, YYYY-Qn or YYYY-MM (repeatable)"
    )
    t.add_argument("--out", required=True, metavar="FILE.xlsx", help="the workbook to write")
    t.set_defaults(func=_template)


def _status(args: argparse.Namespace) -> int:
    from kcn_gis.analytics import reporting_status

    atlas = open_from_args(args)
    table = reporting_status(
        atlas.projects, atlas.enterprise_reports, period=args.period, plots=atlas.plots, parks=atlas.parks
    )
    shown = table[list(STATUS_FIELDS)]
    flat = shown.assign(missing=shown["missing"].map(" ".join)) if args.format in ("csv", "xlsx", "table") else shown
    emit(flat, args.format, args.out, json_records=records(shown))
    return 0


def _missing(args: argparse.Namespace) -> int:
    from kcn_gis.analytics import non_filers

    atlas = open_from_args(args)
    emit(non_filers(atlas.projects, atlas.enterprise_reports, period=args.period, plots=atlas.plots), args.format,
         args.out)  # fmt: skip
    return 0


def _import(args: argparse.Namespace) -> int:
    from kcn_gis.reports_intake import import_reports

    atlas = open_from_args(args)
    summary = import_reports(atlas, args.file, recorded_by=args.recorded_by)
    print(
        f"{args.file}: {summary['added']} report(s) added ({summary['corrections']} correction(s)), "
        f"{summary['unchanged']} unchanged, {summary['skipped_blank']} template row(s) not filled in",
        file=sys.stderr,
    )
    return 0


def _template(args: argparse.Namespace) -> int:
    from kcn_gis.reports_intake import write_template

    atlas = open_from_args(args)
    n = write_template(args.out, atlas.projects, periods=args.period)
    note(f"wrote {args.out}: {n} project row(s) to fill in")
    return 0
