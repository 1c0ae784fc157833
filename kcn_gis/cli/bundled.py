"""``python -m kcn_gis.cli.bundled``: build the bundled Bắc Ninh 2011 atlas (used by ``scripts/setup.sh``).

Not a ``kcn-gis`` subcommand: :func:`kcn_gis.open_atlas` builds the atlas by itself
on first use; this entry point builds it ahead of time, or into another file.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from kcn_gis.store import build_bundled_atlas, bundled_atlas_path

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Build the bundled atlas (EPSG:9209) into ``--out`` and return the exit code."""
    default_out = bundled_atlas_path()
    parser = argparse.ArgumentParser(
        prog="python -m kcn_gis.cli.bundled", description="Build the bundled Bắc Ninh 2011 atlas."
    )
    parser.add_argument("--out", type=Path, default=default_out, help=f"output GeoPackage (default {default_out})")
    parser.add_argument("--replace", action="store_true", help="rebuild even when the file exists")
    args = parser.parse_args(argv)
    out = build_bundled_atlas(args.out, replace=args.replace)
    print(f"wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
