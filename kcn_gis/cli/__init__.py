"""The ``kcn-gis`` command line: thin wrappers that parse, call the library and print or write.

Each subcommand group lives in its own module with a ``register(subparsers)``
function; this module only assembles them and turns library errors into
readable messages and exit codes:

* 0 - success;
* 1 - the command ran and found problems (e.g. ``validate`` found errors);
* 2 - the command could not run (bad input, bad arguments, missing file).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from types import ModuleType

from kcn_gis.errors import KcnGisError

__all__ = ["main"]


def _modules() -> tuple[ModuleType, ...]:
    """The subcommand modules, in the order their commands appear in ``--help``."""
    from kcn_gis.cli import analytics, clearance, db, interop, maps, report, reports, run, scenario, services, validate
    from kcn_gis.cli import qgis as qgis_project

    return (run, validate, report, analytics, clearance, maps, scenario, services, reports, interop, qgis_project, db)


def build_parser() -> argparse.ArgumentParser:
    from kcn_gis._version import __version__

    parser = argparse.ArgumentParser(
        prog="kcn-gis",
        description="Geospatial planning of industrial parks (khu công nghiệp) in Bắc Ninh. "
        "Every command works on an atlas: a GeoPackage (default: the bundled Bắc Ninh 2011 atlas) "
        "or a postgresql:// URL.",
    )
    parser.add_argument("--version", action="version", version=f"kcn-gis {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log more (-v info, -vv debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in _modules():
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``kcn-gis`` command line and return its exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args) or 0)
    except KcnGisError as exc:
        print(f"kcn-gis {args.command}: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # pragma: no cover - interactive
        print("interrupted; nothing was half-written", file=sys.stderr)
        return 130
