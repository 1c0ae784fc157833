"""``kcn-gis scenario compare|milestones|map|backtest``: thin wrappers over :mod:`kcn_gis.scenario`."""

from __future__ import annotations

import argparse

import pandas as pd

from kcn_gis.cli._common import UsageError, add_atlas, add_format, emit, note, open_from_args, parse_date
from kcn_gis.progress import steps

__all__ = ["register"]

_RATES = ("fill_rate_planned", "fill_rate_acquired", "leased_ha_share")


def _years(text: str) -> list[int]:
    try:
        years = [int(y) for y in text.replace(" ", "").split(",") if y]
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a list of years; write e.g. 2015,2020") from None
    if not years:
        raise argparse.ArgumentTypeError("give at least one year, e.g. 2015,2020")
    return years


def _add_model(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--history-end",
        type=parse_date,
        metavar="YYYY-MM-DD",
        help="fit the model on the history up to this date (default: the latest plot date)",
    )


def _for_table(frame: pd.DataFrame, fmt: str) -> pd.DataFrame:
    if fmt != "table":
        return frame
    out = frame.copy()
    for c in _RATES:
        if c in out.columns:
            out[c] = out[c] * 100
            out = out.rename(columns={c: f"{c}_pct"})
    return out


def _compare(args: argparse.Namespace) -> int:
    from kcn_gis.scenario import compare_scenarios

    atlas = open_from_args(args)
    with steps("kcn-gis scenario compare", ["project"]) as step:
        step("project")
        frame = compare_scenarios(atlas, args.scenarios, years=args.years, history_end=args.history_end)
    emit(_for_table(frame, args.format), args.format, args.out)
    return 0


def _milestones(args: argparse.Namespace) -> int:
    from kcn_gis.scenario import project_scenarios, scenario_milestones

    atlas = open_from_args(args)
    states = project_scenarios(atlas, args.scenarios, horizon=args.horizon, history_end=args.history_end)
    frame = scenario_milestones(states)
    for c in frame.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[c]):  # not reached: None (NaT would print as 'NaT')
            empty = "-" if args.format == "table" else None
            frame[c] = pd.Series([empty if pd.isna(d) else d.date() for d in frame[c]], dtype=object, index=frame.index)
    emit(frame, args.format, args.out)
    return 0


def _map(args: argparse.Namespace) -> int:
    from kcn_gis.maps import save_map
    from kcn_gis.maps.scenario import plot_scenarios, scenario_map
    from kcn_gis.scenario import compare_states, project_scenarios

    atlas = open_from_args(args)
    last = max(args.years)
    states = project_scenarios(atlas, [args.scenario], horizon=last, history_end=args.history_end)
    first = states[0].fit.fit_year if states[0].fit is not None else min(args.years)
    series = compare_states(states, range(min(first, min(args.years)), last + 1))
    panel = series[series["year"].isin(args.years)]
    fig = plot_scenarios(series, title=states[-1].name)
    m = scenario_map(states[-1], panel, lang=args.lang, chart=fig)
    out = save_map(m, args.out, offline=args.offline)
    if args.chart:
        plot_scenarios(series, args.chart, title=states[-1].name)
    note(f"wrote {out} ({'offline' if args.offline else 'online'} scenario map)")
    if args.chart:
        note(f"wrote {args.chart}")
    return 0


def _backtest(args: argparse.Namespace) -> int:
    from kcn_gis.scenario import backtest_projection

    atlas = open_from_args(args)
    if args.year <= args.fit_until.year:
        raise UsageError(f"--year {args.year} must be after --fit-until {args.fit_until.date()}")
    emit(backtest_projection(atlas, fit_until=args.fit_until, target_year=args.year), args.format, args.out)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``kcn-gis scenario`` to the kcn-gis parser."""
    p = sub.add_parser(
        "scenario",
        help="what-if scenarios for the park plan, compared on fill and the north/south balance",
        description="Apply planning scenarios (YAML, see docs/scenarios.md) to the atlas in memory - nothing is "
        "written to the atlas - and compare them with the baseline.",
    )
    ssub = p.add_subparsers(dest="scenario_command", metavar="ACTION", required=True)

    c = ssub.add_parser(
        "compare",
        help="park count, area, planned/acquired/leased land with ranges, fill rates, shares and balance index",
        description="One row per scenario (the baseline first), year (31 December) and bank (north, south, "
        "province). Rates and shares are fractions 0-1 in JSON/CSV/XLSX and percentages in the table.",
    )
    c.add_argument("scenarios", nargs="*", metavar="SCEN.yaml", help="scenario files (none: the baseline only)")
    c.add_argument("--years", type=_years, default=[2015, 2020], metavar="Y1,Y2", help="years (default 2015,2020)")
    add_atlas(c)
    _add_model(c)
    add_format(c)
    c.set_defaults(func=_compare)

    ms = ssub.add_parser(
        "milestones",
        help="per park: the projected dates when 50 %% and 100 %% of its planned industrial land is leased",
    )
    ms.add_argument("scenarios", nargs="*", metavar="SCEN.yaml", help="scenario files (none: the baseline only)")
    ms.add_argument("--horizon", type=int, default=2030, metavar="YEAR", help="last projected year (default 2030)")
    add_atlas(ms)
    _add_model(ms)
    add_format(ms)
    ms.set_defaults(func=_milestones)

    mp = ssub.add_parser("map", help="the planning map of a scenario beside the baseline, with the balance chart")
    mp.add_argument("scenario", metavar="SCEN.yaml", help="the scenario file")
    mp.add_argument("--out", metavar="FILE.html", required=True, help="output HTML file")
    mp.add_argument("--years", type=_years, default=[2015, 2020], metavar="Y1,Y2", help="years in the panel")
    mp.add_argument("--chart", metavar="FILE.png", help="also write the chart as PNG or SVG")
    mp.add_argument("--lang", choices=("vi", "en"), default="vi", help="language shown first (default: vi)")
    mp.add_argument("--offline", action="store_true", help="one self-contained file: no tiles, no network needed")
    add_atlas(mp)
    _add_model(mp)
    mp.set_defaults(func=_map)

    bt = ssub.add_parser(
        "backtest",
        help="fit the model on the history up to a date, project a later year and compare with what happened",
    )
    bt.add_argument("--fit-until", type=parse_date, default=pd.Timestamp("2008-12-31"), metavar="YYYY-MM-DD")
    bt.add_argument("--year", type=int, default=2011, metavar="YEAR", help="year projected and checked (default 2011)")
    add_atlas(bt)
    add_format(bt)
    bt.set_defaults(func=_backtest)
