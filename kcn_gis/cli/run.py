"""``kcn-gis run``: the main job on an atlas — report, analytics, maps and clearance reviews in one go."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import pandas as pd

from kcn_gis.cli._common import add_atlas, open_from_args, parse_date, progress, records
from kcn_gis.schema import Col

__all__ = ["register"]

log = logging.getLogger(__name__)

#: The date of the Board's report that the bundled atlas reconstructs.
REPORT_DATE = pd.Timestamp("2011-12-26")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "run",
        help="the main job: reconciliation report, fill rates, river balance, maps and clearance reviews",
        description="Run the whole pipeline on an atlas (default: the bundled Bắc Ninh 2011 atlas) and write "
        "everything into --out-dir: report.txt/json, fill_rates.csv, balance.csv, housing.csv, environment.csv, "
        "reporting.csv, trend.png, investor.html, "
        "planning.html, clearance.html and one clearance review per park in land clearance.",
    )
    add_atlas(p)
    p.add_argument("--out-dir", default="maps", metavar="DIR", help="output folder (default: maps)")
    p.add_argument(
        "--as-of",
        type=parse_date,
        default=REPORT_DATE,
        metavar="YYYY-MM-DD",
        help="reference date (default: 2011-12-26, the date of the Board's report)",
    )
    p.add_argument(
        "--online",
        action="store_true",
        help="maps load Leaflet and tiles from the internet (default: self-contained offline maps)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from kcn_gis import analytics, clearance, maps
    from kcn_gis.interop.exporters.charts import write_chart
    from kcn_gis.reconcile import reconcile

    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    # Opened unchecked: the validate step below checks every layer once and caches it for the rest.
    atlas = open_from_args(args, validate=False)
    as_of = args.as_of
    written: list[Path] = []

    def write_text(name: str, text: str) -> None:
        path = out / name
        path.write_text(text, encoding="utf-8")
        written.append(path)

    steps = ["validate", "report", "analytics", "maps", "clearance"]
    for step in progress(steps, desc="kcn-gis run", quiet=args.quiet):
        if step == "validate":
            problems = atlas.validate()
            if not any(p.severity == "error" for p in problems):  # the layers are usable: check them together
                problems += analytics.check_consistency(
                    parks=atlas.parks,
                    plots=atlas.plots,
                    parcels=atlas.parcels,
                    projects=atlas.projects,
                    facilities=atlas.facilities if len(atlas.facilities) else None,
                    as_of=as_of,
                    reports=atlas.enterprise_reports,
                )
            errors = [p for p in problems if p.severity == "error"]
            if errors:
                for p in errors[:20]:
                    print(f"error: {p}", file=sys.stderr)
                print(f"{atlas.location}: {len(errors)} error(s); fix them first (kcn-gis validate)", file=sys.stderr)
                return 1
        elif step == "report":
            table = reconcile(
                parks=atlas.parks,
                plots=atlas.plots,
                projects=atlas.projects,
                as_of=as_of,
                reports=atlas.enterprise_reports,
            )
            from kcn_gis.cli.report import display_table

            text = display_table(table).to_string(index=False)
            text += "\n\n" + _around_parks_lines(atlas, as_of, out, written)
            write_text("report.txt", text + "\n")
            write_text("report.json", json.dumps(records(table), ensure_ascii=False, indent=2) + "\n")
            print(f"Reconciliation with the Board's report, as of {as_of.date()}:\n{text}\n")
        elif step == "analytics":
            banks = analytics.split_banks(atlas.province, atlas.rivers)
            rates = analytics.fill_rates(atlas.plots, atlas.parks, as_of=as_of, by="park")
            rates.to_csv(out / "fill_rates.csv", index=False)
            written.append(out / "fill_rates.csv")
            balance = analytics.river_balance(
                atlas.province, atlas.rivers, atlas.parks, atlas.plots, atlas.projects, as_of=as_of
            )
            balance.to_csv(out / "balance.csv", index=False)
            written.append(out / "balance.csv")
            trend = analytics.fill_rate_trend(
                atlas.plots, atlas.parks, start=2000, end=as_of.year, by="bank", banks=banks
            )
            import matplotlib.pyplot as plt

            fig = analytics.plot_trend(trend)
            write_chart(fig, out / "trend.png")
            plt.close(fig)
            written.append(out / "trend.png")
            from kcn_gis.analytics.balance import BALANCE_COLUMNS

            # The record fields, then the two numbers that answer "is the south catching up?".
            shown = [*BALANCE_COLUMNS[:8], "leased_ha_share", "balance_index"]
            print("North/south balance across the Sông Đuống:")
            print(balance[shown].round(3).to_string(index=False), "\n")
        elif step == "maps":
            offline = not args.online
            for name, builder in (
                ("investor", maps.investor_map),
                ("planning", maps.planning_map),
                ("clearance", maps.clearance_map),
            ):
                path = out / f"{name}.html"
                maps.save_map(builder(atlas, as_of=as_of), path, offline=offline)
                written.append(path)
        elif step == "clearance":
            parks_in_clearance = sorted(set(atlas.parcels[Col.PARK_ID]))
            for park_id in parks_in_clearance:
                path = out / f"clearance_review_{park_id}.html"
                clearance.write_review_report(atlas, park_id, path, as_of=as_of)
                written.append(path)
    print("wrote:")
    for path in written:
        print(f"  {path}")
    return 0


def _around_parks_lines(atlas, as_of: pd.Timestamp, out: Path, written: list[Path]) -> str:
    """Write housing.csv, environment.csv and reporting.csv; return their summary lines for report.txt."""
    from kcn_gis.analytics import environment_status, housing_coverage, reporting_status

    housing = housing_coverage(atlas.parks, atlas.projects, atlas.facilities, plots=atlas.plots, as_of=as_of)
    env = environment_status(atlas.parks, atlas.facilities, as_of=as_of, projects=atlas.projects, plots=atlas.plots)
    period = str(as_of.year)
    rep = reporting_status(
        atlas.projects, atlas.enterprise_reports, period=period, plots=atlas.plots, parks=atlas.parks
    )
    for name, frame in (("housing.csv", housing), ("environment.csv", env), ("reporting.csv", rep)):
        frame = frame.assign(missing=frame["missing"].map(" ".join)) if "missing" in frame else frame
        frame.to_csv(out / name, index=False)
        written.append(out / name)
    prov = housing[housing["park_id"] == "province"].iloc[0]
    op = env[env["status"] == "operating"]
    without = op[~op["wastewater_plant"]]
    prow = rep[rep["park_id"] == "province"].iloc[0]
    share = f"{prow['filed_share']:.1%}" if prow["due"] else "n/a"
    lines = [
        f"Worker housing (C.3), as of {as_of.date()}: {prov['beds_within_reach']:,.0f} beds within reach of the "
        f"parks for {int(prov['workers']):,} workers ({prov['beds_per_worker']:.3f} beds per worker); housing.csv",
        f"Environment (B.II.4): {len(without)} of {len(op)} operating parks without a central wastewater plant in "
        f"service, {int((~op['waste_storage']).sum())} without temporary waste storage; environment.csv",
        f"Statistical reports (B.II.3) for {period}: {int(prow['due']) - int(prow['not_filed'])} of "
        f"{int(prow['due'])} due projects filed ({share}), {int(prow['filed_late'])} late, "
        f"{int(prow['not_filed'])} not filed; sums {'complete' if prow['complete'] else 'incomplete'}; reporting.csv",
    ]
    return "\n".join(lines)
