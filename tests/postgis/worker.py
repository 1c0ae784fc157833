"""A separate OS process for the concurrency tests: ``python worker.py MODE ATLAS ...``.

Modes
-----
import ATLAS SHEET WHO GO_FILE
    Wait until GO_FILE exists, then ``kcn_gis.interop.clearance_sheets.import_sheet`` the sheet; print the
    number of events written.
append ATLAS PREFIX FIRST LAST GO_FILE
    Wait for GO_FILE, then append events ``PREFIX-FIRST .. PREFIX-LAST`` one small batch at a
    time, without any lock (the store's idempotent append is all that protects them).
hang-import ATLAS SHEET WHO READY_FILE
    Import the sheet, but stop after the rows were inserted and before the commit; create
    READY_FILE and sleep, waiting to be killed.
edit ATLAS PLOT TENANT READ_FILE GO_FILE
    Read the plots, create READ_FILE, wait for GO_FILE, set PLOT's tenant and save with
    optimistic locking; print ``saved`` or ``conflict``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path


def _wait(path: str, timeout: float = 120.0) -> None:
    end = time.monotonic() + timeout
    while not Path(path).exists():
        if time.monotonic() > end:
            raise SystemExit(f"timed out waiting for {path}")
        time.sleep(0.01)


def _events(prefix: str, first: int, last: int):
    import pandas as pd

    from kcn_gis.schema import Col

    n = last - first + 1
    return pd.DataFrame(
        {
            Col.EVENT_ID: [f"{prefix}-{i:05d}" for i in range(first, last + 1)],
            Col.PARCEL_ID: ["S1-1-2"] * n,
            Col.EVENT: ["complaint"] * n,
            Col.EVENT_DATE: [pd.Timestamp("2011-06-01")] * n,
            Col.REFERENCE: [f"đơn {i}" for i in range(first, last + 1)],
            Col.NOTE: [None] * n,
            Col.RECORDED_AT: [pd.Timestamp("2011-06-02 10:00:00")] * n,
            Col.RECORDED_BY: ["worker"] * n,
            Col.CORRECTS_EVENT_ID: [None] * n,
        }
    )


def _hang(ready: str) -> None:
    Path(ready).touch()
    time.sleep(600)


def _patch_hang(ready: str) -> None:
    """Make the next append stop after its INSERT and before its COMMIT, on either backend."""
    import kcn_gis.store.gpkg_sql as gpkg  # the GeoPackage store opens its write connections here
    import kcn_gis.store.postgis as pg

    original = pg.PostGISBackend._insert_new

    def insert_then_hang(self, *args, **kwargs):
        n = original(self, *args, **kwargs)
        assert n > 0, "nothing inserted; the test would prove nothing"
        _hang(ready)
        return n

    pg.PostGISBackend._insert_new = insert_then_hang

    real_connect = gpkg.sqlite3.connect

    class _Conn:
        def __init__(self, con):
            self._con = con

        def execute(self, statement, *args):
            if statement.strip().upper() == "COMMIT":
                _hang(ready)
            return self._con.execute(statement, *args)

        def __getattr__(self, name):
            return getattr(self._con, name)

    class _Sqlite:
        def __getattr__(self, name):
            return getattr(gpkg.sqlite3_real, name)

        @staticmethod
        def connect(*args, **kwargs):
            return _Conn(real_connect(*args, **kwargs))

    gpkg.sqlite3_real = gpkg.sqlite3
    gpkg.sqlite3 = _Sqlite()


def main(argv: list[str]) -> int:
    import kcn_gis
    from kcn_gis.schema import Col, Layer

    mode, atlas_path = argv[0], argv[1]
    if mode == "import":
        from kcn_gis.interop.clearance_sheets import import_sheet

        sheet, who, go = argv[2:5]
        atlas = kcn_gis.open_atlas(atlas_path)
        _wait(go)
        result = import_sheet(atlas, sheet, recorded_by=who)
        print(int(result.written))
        return 0
    if mode == "append":
        prefix, first, last, go = argv[2], int(argv[3]), int(argv[4]), argv[5]
        atlas = kcn_gis.open_atlas(atlas_path)
        _wait(go)
        written = 0
        for start in range(first, last + 1, 10):
            written += atlas.append(Layer.CLEARANCE_EVENTS, _events(prefix, start, min(start + 9, last)))
        print(written)
        return 0
    if mode == "hang-import":
        from kcn_gis.interop.clearance_sheets import import_sheet

        sheet, who, ready = argv[2:5]
        _patch_hang(ready)
        atlas = kcn_gis.open_atlas(atlas_path)
        import_sheet(atlas, sheet, recorded_by=who)
        return 3  # not reached: killed while hanging
    if mode == "edit":
        plot, tenant, read_file, go = argv[2:6]
        atlas = kcn_gis.open_atlas(atlas_path)
        plots = atlas.plots
        Path(read_file).touch()
        _wait(go)
        rows = plots[plots[Col.PLOT_ID] == plot].copy()
        rows[Col.TENANT] = tenant
        try:
            atlas.edit(Layer.PLOTS, rows)
        except kcn_gis.ConcurrencyError:
            print("conflict")
            return 0
        print("saved")
        return 0
    raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
