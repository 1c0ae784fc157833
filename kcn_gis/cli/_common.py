"""Argument and output helpers shared by the subcommand modules (CLI only).

The conventions they implement are documented in ``docs/cli.md``: ``--atlas``,
``--format`` (table, json, csv, xlsx) with ``--out``, ``--as-of`` (a date,
``today`` or ``latest``), ``--quiet``/``--verbose`` and the exit codes.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from kcn_gis import progress as _progress
from kcn_gis.dates import as_of_date
from kcn_gis.errors import KcnGisError
from kcn_gis.jsonsafe import json_safe

__all__ = [
    "FORMATS",
    "UsageError",
    "add_as_of",
    "add_atlas",
    "add_format",
    "context",
    "emit",
    "last_recorded_date",
    "note",
    "open_from_args",
    "parse_as_of",
    "parse_date",
    "progress",
    "records",
    "resolve_as_of",
]

FORMATS = ("table", "json", "csv", "xlsx")
#: ``--format`` that follows from the ``--out`` extension when ``--format`` is not given.
_FORMAT_BY_SUFFIX = {".csv": "csv", ".xlsx": "xlsx", ".json": "json", ".txt": "table"}
T = TypeVar("T")

#: What the running command knows for the ``info`` sheet of an XLSX and for messages (set by
#: :func:`kcn_gis.cli.main` and :func:`open_from_args`; one command per process).
context: dict[str, Any] = {"quiet": False, "bom": False}


class UsageError(KcnGisError, ValueError):
    """The command line is wrong (a missing, conflicting or misspelt option): exit code 2.

    Raised by the CLI for mistakes argparse cannot see, such as ``--format xlsx``
    without ``--out``.
    """


def note(message: str) -> None:
    """An informational line on standard error (``wrote FILE``, the date used); silenced by ``--quiet``."""
    if not context.get("quiet"):
        print(message, file=sys.stderr)


def parse_date(text: str) -> pd.Timestamp:
    """Parse a date argument for argparse with :func:`kcn_gis.dates.as_of_date` (ISO, or day first)."""
    try:
        return as_of_date(text, what="date")
    except KcnGisError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def parse_as_of(text: str) -> pd.Timestamp | str:
    """``--as-of``: a date (ISO or day first), ``today``, or ``latest`` (the atlas's last recorded date)."""
    word = text.strip().lower()
    if word in ("today", "latest"):
        return word
    return parse_date(text)


def add_atlas(p: argparse.ArgumentParser, help: str | None = None) -> None:
    p.add_argument(
        "--atlas",
        metavar="PATH",
        help=help or "GeoPackage file or postgresql:// URL (default: the bundled Bắc Ninh 2011 atlas)",
    )


def add_as_of(p: argparse.ArgumentParser, default_help: str = "today") -> None:
    p.add_argument(
        "--as-of",
        type=parse_as_of,
        default="today",
        metavar="YYYY-MM-DD|today|latest",
        help=f"compute the state on this date; 'latest' is the last date recorded in the atlas "
        f"(default: {default_help}). The date used is printed on standard error.",
    )


def add_format(p: argparse.ArgumentParser, *, out_required: bool = False) -> None:
    p.add_argument(
        "--format",
        choices=FORMATS,
        default=None,
        help="output table format (default: from the --out extension .csv/.xlsx/.json, else table)",
    )
    p.add_argument(
        "--out",
        metavar="FILE",
        required=out_required,
        help="write to FILE instead of standard output (required for xlsx); a .csv file gets a UTF-8 BOM for Excel",
    )
    p.add_argument("--bom", action="store_true", help="csv on standard output: start with a UTF-8 BOM too")


def output_format(args: argparse.Namespace) -> str:
    """The table format: ``--format``, else from the ``--out`` extension, else ``table``."""
    fmt = getattr(args, "format", None)
    if fmt:
        return str(fmt)
    out = getattr(args, "out", None)
    if out:
        return _FORMAT_BY_SUFFIX.get(Path(out).suffix.lower(), "table")
    return "table"


def last_recorded_date(atlas: Any) -> pd.Timestamp | None:
    """The last date recorded in the atlas: the latest value of any date column of any layer (None if none)."""
    from kcn_gis.schema import ATLAS_LAYERS

    latest: pd.Timestamp | None = None
    for name, s in ATLAS_LAYERS.items():
        cols = [c.name for c in s.columns if c.kind == "date"]
        if not cols:
            continue
        frame = atlas.read(name)
        for c in cols:
            if c in frame.columns:
                v = pd.to_datetime(frame[c], errors="coerce").max()
                if not pd.isna(v) and (latest is None or v > latest):
                    latest = pd.Timestamp(v).normalize()
    return latest


def resolve_as_of(args: argparse.Namespace, atlas: Any = None, *, latest: Any = None) -> pd.Timestamp | None:
    """Turn ``args.as_of`` (a date, ``"today"`` or ``"latest"``) into a date, store it back and print it.

    ``latest`` is a callable returning the last recorded date, for commands
    that do not open an atlas (Dask engines); by default it is read from ``atlas``.
    """
    if not hasattr(args, "as_of"):
        return None
    value = args.as_of
    how = ""
    if value is None or (isinstance(value, str) and value == "today"):
        value, how = pd.Timestamp.today().normalize(), " (today)"
    elif isinstance(value, str) and value == "latest":
        found = latest() if latest is not None else (last_recorded_date(atlas) if atlas is not None else None)
        if found is None:
            value, how = pd.Timestamp.today().normalize(), " (today: the atlas records no date)"
        else:
            value, how = found, " (the last date recorded in the atlas)"
    value = pd.Timestamp(value)
    args.as_of = value
    context["as_of"] = value
    note(f"as of {value.date().isoformat()}{how}")
    return value


def open_from_args(args: argparse.Namespace, *, validate: bool = True) -> Any:
    """Open ``--atlas`` (default: the bundled atlas), resolve ``--as-of`` against it and print the date used."""
    from kcn_gis.store import open_atlas

    atlas = open_atlas(getattr(args, "atlas", None), validate=validate)
    context["atlas"] = atlas.location
    context["crs"] = atlas.crs.to_string()
    resolve_as_of(args, atlas)
    return atlas


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Frame rows as JSON-ready dicts (NaN -> null, dates -> ISO text)."""
    return [{str(k): json_safe(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]


def _info() -> dict[str, Any]:
    info: dict[str, Any] = {}
    if context.get("command"):
        info["command"] = context["command"]
    info["atlas"] = context.get("atlas", "")
    if context.get("as_of") is not None:
        info["as_of"] = pd.Timestamp(context["as_of"]).date()
    info["crs"] = context.get("crs", "EPSG:9209")
    return info


def emit(
    frame: pd.DataFrame,
    fmt: str | None,
    out: str | None,
    *,
    json_records: list[dict[str, Any]] | None = None,
    sheet: str | None = None,
) -> None:
    """Write ``frame`` as a table, JSON list of records, CSV or XLSX, to ``out`` or standard output.

    ``fmt`` None follows the ``out`` extension. CSV and XLSX files go through
    :func:`kcn_gis.interop.exporters.tables.write_table` (UTF-8 BOM, numbers
    rounded per unit, named sheets, ``info`` sheet); JSON is never rounded. The
    ``wrote FILE`` line is printed after the file is written.
    """
    from kcn_gis.interop.exporters.tables import table_text, write_table

    if fmt is None:
        fmt = _FORMAT_BY_SUFFIX.get(Path(out).suffix.lower(), "table") if out else "table"
    if fmt == "json":
        text = json.dumps(json_records if json_records is not None else records(frame), ensure_ascii=False, indent=2)
        text += "\n"
    elif fmt in ("csv", "xlsx") and out:
        name = sheet or str(context.get("sheet") or "table")
        write_table(frame, out, fmt=fmt, sheet=name, info=_info())
        note(f"wrote {out}")
        return
    elif fmt == "xlsx":
        raise UsageError("--format xlsx writes a workbook: give --out FILE.xlsx")
    else:
        text = table_text(frame, fmt, bom=fmt == "csv" and bool(context.get("bom")))
    if out:
        Path(out).write_text(text, encoding="utf-8")
        note(f"wrote {out}")
    else:
        sys.stdout.write(text)


def progress(items: Iterable[T], *, desc: str, total: int | None = None, quiet: bool = False) -> Iterator[T]:
    """Wrap ``items`` in a progress bar (:func:`kcn_gis.progress.track`): on a terminal only, not when ``quiet``."""
    if quiet:
        yield from items
        return
    yield from _progress.track(items, desc=desc, total=total, unit="step")
