"""A second kcn-gis process for the concurrency tests: prepare an import, wait at a barrier, commit.

``python import_worker.py FILE LAYER ATLAS BARRIER_DIR NAME PARTIES`` prepares the import (reads
the atlas and the file), creates ``BARRIER_DIR/NAME``, waits until ``PARTIES`` such files exist,
then commits. So every party has read the atlas before any of them writes: the worst case for a
store that writes back what it read. Exit code 0 (written) or 1 (refused, message on stderr).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from kcn_gis.errors import KcnGisError
from kcn_gis.interop.importers.pipeline import commit_import, prepare_import


def main() -> int:
    file, layer, atlas, barrier, name, parties = sys.argv[1:7]
    result, target, path, rows = prepare_import(file, layer, atlas=atlas)
    if result.errors:
        print("\n".join(str(p) for p in result.errors), file=sys.stderr)
        return 1
    folder = Path(barrier)
    (folder / name).touch()
    deadline = time.monotonic() + 300
    while len(list(folder.iterdir())) < int(parties) and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        commit_import(result, target, path, rows, source=file)
    except KcnGisError as exc:
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
