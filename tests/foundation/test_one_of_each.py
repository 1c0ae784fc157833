"""One of each: one date normaliser for ``as_of`` (API and CLI agree, day first), one JSON-safe converter, InputFileError.

The tiny atlas (tests/conftest.py) has plot P1 (40 ha industrial, park N1) leased on
2006-06-01. "01/06/2006" read day first is 1 June 2006 (P1 leased, 40 ha); read month
first it would be 6 January 2006 (nothing leased) - so the leased hectares show which
reading was used.
"""

from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np
import pandas as pd
import pytest

from kcn_gis.analytics import fill_rates
from kcn_gis.clearance import clearance_progress
from kcn_gis.cli import main
from kcn_gis.dates import as_of_date
from kcn_gis.errors import KcnGisError
from kcn_gis.jsonsafe import json_safe
from kcn_gis.schema import Layer


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("05/11/2011", dt.date(2011, 11, 5)),  # day first, as in Vietnam
        ("5/11/2011", dt.date(2011, 11, 5)),
        ("05.11.2011", dt.date(2011, 11, 5)),
        ("05-11-2011", dt.date(2011, 11, 5)),
        ("2011-11-05", dt.date(2011, 11, 5)),
        ("2011-11-05T17:45:00", dt.date(2011, 11, 5)),
        ("2011/11/05", dt.date(2011, 11, 5)),
        ("20111105", dt.date(2011, 11, 5)),
        (20111105, dt.date(2011, 11, 5)),
        (np.int64(20111105), dt.date(2011, 11, 5)),
        ("5 Nov 2011", dt.date(2011, 11, 5)),
        (dt.date(2011, 11, 5), dt.date(2011, 11, 5)),
        (dt.datetime(2011, 11, 5, 23, 59), dt.date(2011, 11, 5)),
        (pd.Timestamp("2011-11-05 23:30", tz="Asia/Ho_Chi_Minh"), dt.date(2011, 11, 5)),
        (np.datetime64("2011-11-05T08:00"), dt.date(2011, 11, 5)),
    ],
)
def test_as_of_forms(value, expected):
    ts = as_of_date(value)
    assert ts.date() == expected
    assert ts == ts.normalize() and ts.tzinfo is None


@pytest.mark.parametrize(
    ("value", "match"),
    [
        (1324857600, "YYYYMMDD"),  # seconds since 1970: refused, never 1970 or 2011 by accident
        (2011, "YYYYMMDD"),
        (True, "not a date"),
        ("31/02/2011", "not a valid date"),
        ("2011-13-01", "not a valid date"),
        ("05/11/11", "not a date"),  # two-digit year: ambiguous
        ("soon", "not a date"),
        ("", "not a date"),
        (float("nan"), "missing"),
        (pd.NaT, "NaT|missing"),
        (3.5, "not a date"),
    ],
)
def test_bad_as_of_is_refused_clearly(value, match):
    with pytest.raises(KcnGisError, match=match):
        as_of_date(value)


def test_as_of_none_is_today():
    assert as_of_date(None) == pd.Timestamp(dt.date.today())


def test_python_api_reads_day_first(tiny_layers):
    plots, parks = tiny_layers[Layer.PLOTS], tiny_layers[Layer.PARKS]
    june = fill_rates(plots, parks, as_of="01/06/2006", by="province")
    assert june["leased_ha"].iloc[0] == pytest.approx(40.0)
    january = fill_rates(plots, parks, as_of="2006-01-06", by="province")
    assert january["leased_ha"].iloc[0] == pytest.approx(0.0)
    assert fill_rates(plots, parks, as_of=20060601, by="province")["leased_ha"].iloc[0] == pytest.approx(40.0)
    with pytest.raises(KcnGisError, match="YYYYMMDD"):
        fill_rates(plots, parks, as_of=1149120000, by="province")  # 2006-06-01 as a Unix timestamp


def test_clearance_refuses_a_timestamp_integer(tiny_layers):
    with pytest.raises(KcnGisError, match="YYYYMMDD"):
        clearance_progress(tiny_layers[Layer.CLEARANCE_EVENTS], tiny_layers[Layer.PARCELS], as_of=1324857600)


def test_cli_and_python_agree(tiny_atlas_path, tiny_layers, capsys):
    for text in ("01/06/2006", "2006-06-01", "20060601"):
        assert (
            main(
                ["fill-rates", "--atlas", str(tiny_atlas_path), "--as-of", text, "--by", "province", "--format", "json"]
            )
            == 0
        )
        rows = json.loads(capsys.readouterr().out)
        assert rows[0]["leased_ha"] == pytest.approx(40.0), text
    with pytest.raises(SystemExit) as exc:
        main(["fill-rates", "--atlas", str(tiny_atlas_path), "--as-of", "1149120000"])
    assert exc.value.code == 2
    assert "YYYYMMDD" in capsys.readouterr().err


def test_json_safe():
    value = {
        1: np.int64(3),
        "f": np.float64(0.125),
        "nan": float("nan"),
        "inf": np.inf,
        "nat": pd.NaT,
        "na": pd.NA,
        "day": pd.Timestamp("2011-12-26"),
        "when": pd.Timestamp("2011-12-26 16:16"),
        "d": dt.date(2011, 12, 26),
        "dt64": np.datetime64("2011-12-26"),
        "b": np.bool_(True),
        "list": [np.int32(1), None, (np.float32(2.5),)],
        "text": "Sông Đuống",
    }
    got = json_safe(value)
    assert got == {
        "1": 3,
        "f": 0.125,
        "nan": None,
        "inf": None,
        "nat": None,
        "na": None,
        "day": "2011-12-26",
        "when": "2011-12-26T16:16:00",
        "d": "2011-12-26",
        "dt64": "2011-12-26",
        "b": True,
        "list": [1, None, [2.5]],
        "text": "Sông Đuống",
    }
    assert type(got["1"]) is int and type(got["b"]) is bool
    json.dumps(got, allow_nan=False)
    # the compact map encoding rounds and writes integral floats as integers
    assert json_safe(2.0, digits=2) == 2 and type(json_safe(2.0, digits=2)) is int
    assert json_safe(1 / 3, digits=4) == 0.3333
    assert json_safe(2.0) == 2.0 and type(json_safe(2.0)) is float
    assert math.isclose(json_safe(np.float64(1e-9)), 1e-9)


def test_input_file_error_is_a_value_error_not_an_import_error():
    from kcn_gis import errors

    assert errors.ImportError_ is errors.InputFileError  # the former name stays an alias
    assert issubclass(errors.InputFileError, errors.KcnGisError) and issubclass(errors.InputFileError, ValueError)
    assert not issubclass(errors.InputFileError, ImportError)
    assert issubclass(errors.MissingDependencyError, ImportError)
    try:
        raise errors.InputFileError("plots.csv row 3: bad")
    except ImportError:  # pragma: no cover - must not catch it
        pytest.fail("except ImportError caught an input-file error")
    except ValueError as exc:
        assert "row 3" in str(exc)


def test_one_import_result_for_both_import_sides(tmp_path):
    """A file import and a clearance workbook import return the same class (the workbook's adds events)."""
    import kcn_gis
    from kcn_gis.interop.clearance_sheets import SheetImportResult
    from kcn_gis.interop.importers import ImportResult

    assert kcn_gis.ImportResult is ImportResult
    assert issubclass(SheetImportResult, ImportResult)
    shared = {"layer", "source", "frame", "problems", "notes", "written", "dry_run", "fmt", "mode"}
    import dataclasses

    base = {f.name for f in dataclasses.fields(ImportResult)}
    assert shared <= base
    import pandas as pd

    r = SheetImportResult(source="x.xlsx", new_events=pd.DataFrame({"a": [1]}), duplicates=pd.DataFrame())
    assert r.path == r.source == "x.xlsx" and r.frame is r.new_events and r.layer == "clearance_events"
    assert r.written == 0 and r.ok and r.problems_frame().empty
