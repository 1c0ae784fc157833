"""kill -9 during the write phase of a large import: the atlas is as before or has the whole import.

The import is 20 000 parcels (10 m squares in park QV2). The write phase begins when SQLite's
rollback journal (DELETE mode) or the -wal file (WAL mode) appears beside the atlas; the test
kills ``kcn-gis import`` with SIGKILL at several delays after that, then opens the atlas as the
next user would.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import time

import pytest

import kcn_gis
from kcn_gis.store import bundled_atlas_path
from tests.safe_writes.conftest import assert_valid_geopackage, count, parcel_grid, start_cli, write_file

N = 20_000


@pytest.fixture(scope="module")
def big_file(tmp_path_factory, park_geometry):
    return write_file(parcel_grid(park_geometry, N, prefix="K"), tmp_path_factory.mktemp("crash") / "k.gpkg")


def _in_write_phase(path, journal_mode: str) -> bool:
    side = path.with_name(path.name + ("-journal" if journal_mode == "delete" else "-wal"))
    try:
        return side.exists() and side.stat().st_size > 0
    except FileNotFoundError:
        return False


@pytest.mark.slow
@pytest.mark.parametrize(("journal_mode", "delays"), [("delete", (0.0, 0.05, 0.2, 0.5, 1.0)), ("wal", (0.0, 0.1, 0.4))])
def test_sigkill_during_the_write_leaves_before_or_all(tmp_path, big_file, bundled_counts, journal_mode, delays):
    outcomes = []
    for i, delay in enumerate(delays):
        atlas = tmp_path / f"atlas_{i}.gpkg"
        shutil.copyfile(bundled_atlas_path(), atlas)
        with sqlite3.connect(atlas) as con:
            assert con.execute(f"PRAGMA journal_mode={journal_mode}").fetchone()[0] == journal_mode
        if journal_mode == "wal":
            wal = atlas.with_name(atlas.name + "-wal")
            wal.unlink(missing_ok=True)
        proc = start_cli("import", str(big_file), "--layer", "parcels", "--atlas", str(atlas))
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and proc.poll() is None and not _in_write_phase(atlas, journal_mode):
            time.sleep(0.005)
        if delay:
            time.sleep(delay)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=120)
        # the next user opens the atlas (a hot journal is rolled back on open)
        reopened = kcn_gis.open_atlas(atlas)
        n = len(reopened.parcels)
        assert n in (bundled_counts["parcels"], bundled_counts["parcels"] + N), f"delay {delay}: {n} parcels"
        assert_valid_geopackage(atlas)
        assert count(atlas, "clearance_events") == bundled_counts["clearance_events"]
        outcomes.append(("killed" if proc.returncode == -signal.SIGKILL else "finished", n))
    # at least one kill landed inside the write transaction and was rolled back completely
    assert ("killed", bundled_counts["parcels"]) in outcomes, outcomes
