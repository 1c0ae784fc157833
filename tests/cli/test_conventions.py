"""One command line (issue 15): every command, discovered from the parser, follows the same conventions.

Commands are not listed by hand: :func:`kcn_gis.cli.leaf_parsers` walks the parser, so a new command
(``qgis-project`` ...) is checked as soon as it is registered. See ``docs/cli.md``.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from kcn_gis.cli import EXIT_DATA, EXIT_RUNTIME, EXIT_USAGE, build_parser, leaf_parsers, main
from kcn_gis.cli._common import FORMATS, parse_as_of

#: A PostgreSQL URL nothing listens on (port 1): connection refused at once.
DEAD_URL = "postgresql://kcn@127.0.0.1:1/nowhere"

#: Commands that compute a state on a date: they must take --as-of.
AS_OF_COMMANDS = {
    ("run",),
    ("report",),
    ("fill-rates",),
    ("balance",),
    ("map",),
    ("clearance", "progress"),
    ("clearance", "stalls"),
    ("clearance", "forecast"),
    ("clearance", "report"),
    ("services", "housing"),
    ("services", "environment"),
    ("export",),
    ("raster", "rasterize"),
    ("raster", "zonal"),
}

#: Commands whose data lives in a PostGIS database: a data problem needs a server (tests/postgis);
#: here they are checked for usage mistakes (2) and an unreachable database (3).
NEEDS_A_DATABASE = {("db", "init"), ("db", "migrate"), ("db", "roles"), ("db", "status"), ("db", "pull")}

COMMANDS = [path for path, _ in leaf_parsers(build_parser())]
CLASS_NAME = re.compile(r"\b(?:[A-Z][A-Za-z]*Error_?|KcnGisError|Traceback)\b")


def _parser(path: tuple[str, ...]) -> argparse.ArgumentParser:
    return dict(leaf_parsers(build_parser()))[path]


def _options(p: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    """Visible options of a command (hidden, deprecated aliases are not part of its conventions)."""
    return {s: a for a in p._actions if a.help != argparse.SUPPRESS for s in a.option_strings}


def _id(path: tuple[str, ...]) -> str:
    return " ".join(path)


def test_the_walk_finds_every_command_group():
    groups = {p[0] for p in COMMANDS}
    assert {"run", "validate", "import", "export", "fill-rates", "clearance", "db", "reports", "scenario"} <= groups
    assert ("db", "status") in COMMANDS and ("clearance", "timeline") in COMMANDS
    assert len(COMMANDS) >= 30


@pytest.mark.parametrize("path", COMMANDS, ids=_id)
def test_help_shows_the_common_options(path, capsys):
    assert main([*path, "--help"]) == 0
    text = capsys.readouterr().out
    for option in ("--atlas", "--quiet", "--verbose"):
        assert option in text, f"kcn-gis {_id(path)} --help lacks {option}"
    opts = _options(_parser(path))
    if "--format" in opts:  # --format is the output table format, wherever it appears
        assert set(opts["--format"].choices) <= set(FORMATS), _id(path)
    if path in AS_OF_COMMANDS:
        assert "--as-of" in opts, f"kcn-gis {_id(path)} computes a state on a date but has no --as-of"
    if "--as-of" in opts:  # the same parsing and the same default everywhere
        action = opts["--as-of"]
        assert action.type is parse_as_of and action.default == "today", _id(path)
        assert "latest" in text


@pytest.mark.parametrize("path", COMMANDS, ids=_id)
def test_a_usage_mistake_exits_2(path, capsys):
    assert main([*path, "--no-such-option"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "usage:" in err and "Traceback" not in err


def _fill_required(path: tuple[str, ...], p: argparse.ArgumentParser, tmp_path: Path) -> list[str]:
    """Values for the required arguments of a command, so that it runs as far as its data."""
    argv: list[str] = []
    by_dest = {"park": "N1", "period": "2011", "start": "2010", "end": "2011", "parcel_id": "S1-1-1"}
    for a in p._actions:
        if isinstance(a, argparse._HelpAction | argparse._VersionAction):
            continue
        positional = not a.option_strings
        if positional and a.nargs in ("?", "*"):
            continue
        if not positional and not a.required:
            continue
        if a.choices:
            value = str(next(iter(a.choices)))
        elif a.dest in by_dest:
            value = by_dest[a.dest]
        else:  # a file: a name in tmp_path with the extension the metavar asks for
            meta = str(a.metavar or a.dest)
            suffix = Path(meta.split("|")[0]).suffix or ".csv"
            value = str(tmp_path / f"{a.dest}{suffix}")
        argv += [value] if positional else [a.option_strings[-1], value]
    return argv


def _data_problem(path, tmp_path, broken_atlas) -> list[str]:
    bad = tmp_path / "bad.csv"
    bad.write_text("foo,bar\n1,2\n", encoding="utf-8")
    special = {
        ("import",): ["import", str(bad), "--layer", "plots", "--dry-run"],
        ("clearance", "import"): ["clearance", "import", str(bad), "--dry-run"],
        ("db", "push"): ["db", "push", "--from", str(broken_atlas), "--atlas", DEAD_URL],
        ("export",): ["export", "--layer", "plots", "--out", str(tmp_path / "p.gpkg"), "--atlas", str(broken_atlas)],
    }
    if path in special:
        return special[path]
    return [*path, *_fill_required(path, _parser(path), tmp_path), "--atlas", str(broken_atlas)]


@pytest.mark.parametrize("path", [p for p in COMMANDS if p not in NEEDS_A_DATABASE], ids=_id)
def test_a_data_problem_exits_1_with_a_plain_message(path, tmp_path, broken_atlas, capsys):
    argv = _data_problem(path, tmp_path, broken_atlas)
    assert main(argv) == EXIT_DATA, argv
    err = capsys.readouterr().err
    assert err.strip(), "a data problem must be explained"
    assert not CLASS_NAME.search(err), err  # no Python class names, no traceback


@pytest.mark.parametrize("path", [p for p in COMMANDS if p[0] == "db"], ids=_id)
def test_an_unreachable_database_exits_3(path, tmp_path, excel_atlas, capsys):
    argv = {
        ("db", "push"): ["db", "push", "--from", str(excel_atlas), "--atlas", DEAD_URL],
        ("db", "pull"): ["db", "pull", "--atlas", DEAD_URL, "--to", str(tmp_path / "copy.gpkg")],
    }.get(path, [*path, "--atlas", DEAD_URL])
    assert main(argv) == EXIT_RUNTIME
    err = capsys.readouterr().err
    assert "127.0.0.1" in err and not CLASS_NAME.search(err)
    assert not (tmp_path / "copy.gpkg").exists()


def test_an_unreachable_database_exits_3_for_any_command(capsys):
    assert main(["fill-rates", "--atlas", DEAD_URL]) == EXIT_RUNTIME
    assert "cannot connect" in capsys.readouterr().err


def test_db_commands_take_atlas_and_keep_the_positional_url(capsys):
    assert main(["db", "status", DEAD_URL]) == EXIT_RUNTIME  # the alias still works
    assert main(["db", "status", "--atlas", DEAD_URL]) == EXIT_RUNTIME
    capsys.readouterr()


def test_db_status_of_a_geopackage_is_a_usage_mistake_not_a_traceback(excel_atlas, capsys):
    assert main(["db", "status", str(excel_atlas)]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "postgresql://" in err and "kcn-gis validate --atlas" in err and not CLASS_NAME.search(err)


def test_verbose_shows_the_traceback_of_an_expected_error(broken_atlas, capsys):
    assert main(["fill-rates", "--atlas", str(broken_atlas), "-v"]) == EXIT_DATA
    err = capsys.readouterr().err
    assert "Traceback" in err and "is not a valid kcn_gis atlas" in err


def test_usage_mistakes_the_parser_cannot_see_exit_2(tmp_path, capsys):
    assert main(["fill-rates", "--format", "xlsx"]) == EXIT_USAGE
    assert "--out" in capsys.readouterr().err
    assert main(["export", "--layer", "plots", "--out", str(tmp_path / "p.what")]) == EXIT_USAGE
    assert "--to" in capsys.readouterr().err
    assert main(["import", str(tmp_path / "x.csv"), "--layer", "plots"]) == EXIT_USAGE  # no --atlas, no --dry-run
    assert "--atlas" in capsys.readouterr().err


def test_the_as_of_date_used_is_printed(excel_atlas, capsys):
    assert main(["fill-rates", "--atlas", str(excel_atlas), "--as-of", "26/12/2011", "--format", "json"]) == 0
    assert "as of 2011-12-26" in capsys.readouterr().err
    # latest: the last date recorded in any layer of the atlas (here the clearance event of 2011-03-01)
    assert main(["fill-rates", "--atlas", str(excel_atlas), "--as-of", "latest", "--format", "json"]) == 0
    assert "as of 2011-03-01 (the last date recorded in the atlas)" in capsys.readouterr().err
    assert main(["fill-rates", "--atlas", str(excel_atlas), "--format", "json"]) == 0
    import datetime as dt

    assert f"as of {dt.date.today().isoformat()} (today)" in capsys.readouterr().err


def test_quiet_silences_informational_lines_but_not_results(excel_atlas, tmp_path, capsys):
    out = tmp_path / "r.csv"
    assert main(["fill-rates", "--atlas", str(excel_atlas), "--out", str(out), "--quiet"]) == 0
    cap = capsys.readouterr()
    assert cap.err == "" and cap.out == "" and out.exists()
    assert main(["fill-rates", "--atlas", str(excel_atlas), "--out", str(out)]) == 0
    assert f"wrote {out}" in capsys.readouterr().err


def test_export_format_is_deprecated_for_to(excel_atlas, tmp_path, capsys):
    gpkg = tmp_path / "a.gpkg"
    assert (
        main(["export", "--atlas", str(excel_atlas), "--layer", "plots", "--format", "gpkg", "--out", str(gpkg)]) == 0
    )
    assert "deprecated" in capsys.readouterr().err and gpkg.exists()
    shp = tmp_path / "p.shp"  # the format follows from the extension
    assert main(["export", "--atlas", str(excel_atlas), "--layer", "plots", "--out", str(shp)]) == 0
    assert shp.exists() and "deprecated" not in capsys.readouterr().err
