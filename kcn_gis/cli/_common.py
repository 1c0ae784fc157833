"""Argument and output helpers shared by the subcommand modules (CLI only)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from kcn_gis.dates import as_of_date
from kcn_gis.errors import KcnGisError
from kcn_gis.jsonsafe import json_safe

__all__ = [
    "FORMATS",
    "add_as_of",
    "add_atlas",
    "add_format",
    "emit",
    "open_from_args",
    "parse_date",
    "progress",
    "records",
]

FORMATS = ("table", "json", "csv", "xlsx")
T = TypeVar("T")


def parse_date(text: str) -> pd.Timestamp:
    """Parse a date argument for argparse with :func:`kcn_gis.dates.as_of_date` (ISO, or day first)."""
    try:
        return as_of_date(text, what="date")
    except KcnGisError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_atlas(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--atlas",
        metavar="PATH",
        help="GeoPackage file or postgresql:// URL (default: the bundled Bắc Ninh 2011 atlas)",
    )


def add_as_of(p: argparse.ArgumentParser, default_help: str = "today") -> None:
    p.add_argument(
        "--as-of",
        type=parse_date,
        metavar="YYYY-MM-DD",
        help=f"compute the state on this date (default: {default_help})",
    )


def add_format(p: argparse.ArgumentParser, *, out_required: bool = False) -> None:
    p.add_argument("--format", choices=FORMATS, default="table", help="output format (default: table)")
    p.add_argument(
        "--out",
        metavar="FILE",
        required=out_required,
        help="write to FILE instead of standard output (required for xlsx)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress output")


def open_from_args(args: argparse.Namespace, *, validate: bool = True) -> Any:
    from kcn_gis.store import open_atlas

    return open_atlas(getattr(args, "atlas", None), validate=validate)


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Frame rows as JSON-ready dicts (NaN -> null, dates -> ISO text)."""
    return [{str(k): json_safe(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]


def emit(
    frame: pd.DataFrame,
    fmt: str,
    out: str | None,
    *,
    json_records: list[dict[str, Any]] | None = None,
    float_format: str = "{:,.2f}",
) -> None:
    """Write ``frame`` as a table, JSON list of records, CSV or XLSX, to ``out`` or standard output."""
    if fmt == "xlsx":
        if not out:
            raise KcnGisError("--format xlsx needs --out FILE.xlsx")
        frame.to_excel(out, index=False)
        print(f"wrote {out}", file=sys.stderr)
        return
    if fmt == "json":
        text = json.dumps(json_records if json_records is not None else records(frame), ensure_ascii=False, indent=2)
    elif fmt == "csv":
        text = frame.to_csv(index=False)
    else:
        text = frame.to_string(index=False, float_format=lambda x: float_format.format(x))
    if out:
        Path(out).write_text(text + ("\n" if not text.endswith("\n") else ""), encoding="utf-8")
        print(f"wrote {out}", file=sys.stderr)
    else:
        print(text)


def progress(items: Iterable[T], *, desc: str, total: int | None = None, quiet: bool = False) -> Iterator[T]:
    """Wrap ``items`` in a tqdm progress bar on a terminal; plain iteration otherwise or when ``quiet``."""
    if quiet or not sys.stderr.isatty():
        yield from items
        return
    from tqdm import tqdm

    yield from tqdm(items, desc=desc, total=total, file=sys.stderr)
