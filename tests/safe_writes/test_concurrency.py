"""Other programs on the same atlas: a WAL-mode editor, simultaneous imports, a locked file, QGIS.

Every other program is a real second process. On the old store each of these lost data: the import
moved a new file over one that another process had open in WAL mode (``database disk image is
malformed`` afterwards), and two imports both wrote back the whole layer as they had read it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.safe_writes.conftest import (
    PARK,
    REPO,
    assert_valid_geopackage,
    cli,
    count,
    ids,
    parcel_grid,
    start_cli,
    write_file,
)

WORKER = Path(__file__).with_name("import_worker.py")

# A second program that edits the atlas in WAL mode (as QGIS does while editing), commits the edit,
# keeps the file open and never checkpoints: the edit lives only in the -wal file until it exits.
# (It edits the projects table: plain sqlite3 lacks the ST_* functions of the spatial layers' triggers.)
_WAL_EDITOR = textwrap.dedent(
    """
    import sqlite3, sys
    con = sqlite3.connect(sys.argv[1], isolation_level=None)
    assert con.execute("PRAGMA journal_mode=WAL").fetchone()[0] == "wal"
    con.execute("PRAGMA wal_autocheckpoint=0")
    con.execute("UPDATE projects SET investor = ? WHERE project_id = ?", (sys.argv[3], sys.argv[2]))
    assert con.total_changes == 1
    print("edited", flush=True)
    sys.stdin.readline()  # hold the file open until told to stop
    print(con.execute("SELECT investor FROM projects WHERE project_id = ?", (sys.argv[2],)).fetchone()[0], flush=True)
    con.close()
    """
)

# Holds the write lock (an open write transaction) until told to stop.
_LOCK_HOLDER = textwrap.dedent(
    """
    import sqlite3, sys
    con = sqlite3.connect(sys.argv[1], isolation_level=None)
    con.execute("BEGIN IMMEDIATE")
    con.execute("UPDATE kcn_gis_meta SET value = value WHERE key = 'crs'")
    print("locked", flush=True)
    sys.stdin.readline()
    con.execute("ROLLBACK")
    """
)


def test_import_while_another_process_holds_an_uncheckpointed_wal_edit(atlas_file, park_geometry, tmp_path):
    project = _first(atlas_file, "projects", "project_id")
    name = "Công ty TNHH Điện tử Bắc Ninh (đã sửa)"
    editor = subprocess.Popen(
        [sys.executable, "-c", _WAL_EDITOR, str(atlas_file), project, name],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert editor.stdout is not None and editor.stdin is not None
        assert editor.stdout.readline().strip() == "edited"
        wal = atlas_file.with_name(atlas_file.name + "-wal")
        assert wal.exists() and wal.stat().st_size > 0  # the edit is only in the WAL
        grid = parcel_grid(park_geometry, 500, prefix="W")
        done = cli(
            "import", str(write_file(grid, tmp_path / "w.gpkg")), "--layer", "parcels", "--atlas", str(atlas_file)
        )
        assert done.returncode == 0, done.stderr
        # while the editor still holds the file open: everything is there, nothing is corrupt
        assert count(atlas_file, "parcels", f"park_id = '{PARK}'") == 500
        assert _investor(atlas_file, project) == name
        editor.stdin.write("\n")
        editor.stdin.flush()
        assert editor.stdout.readline().strip() == name  # the editor's own connection still works
    finally:
        editor.communicate(timeout=60)
    assert editor.returncode == 0
    assert _investor(atlas_file, project) == name
    assert count(atlas_file, "parcels", f"park_id = '{PARK}'") == 500
    assert_valid_geopackage(atlas_file)
    # the file is still in the journal mode its editor set; kcn-gis never changes it
    import sqlite3

    with sqlite3.connect(atlas_file) as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


@pytest.mark.parametrize("round_", [1, 2, 3])
def test_two_simultaneous_imports_both_land(atlas_file, park_geometry, tmp_path, bundled_counts, round_):
    """Two ``kcn-gis import`` processes started together; both land."""
    grid = parcel_grid(park_geometry, 3000, prefix=f"C{round_}")
    a = write_file(grid.iloc[:1500], tmp_path / "a.gpkg")
    b = write_file(grid.iloc[1500:], tmp_path / "b.gpkg")
    procs = [start_cli("import", str(f), "--layer", "parcels", "--atlas", str(atlas_file)) for f in (a, b)]
    outs = [p.communicate(timeout=600) for p in procs]
    for p, (_, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
    stored = ids(atlas_file, "parcels", "parcel_id")
    assert set(grid["parcel_id"]) <= stored
    assert len(stored) == bundled_counts["parcels"] + 3000
    assert_valid_geopackage(atlas_file)


def _workers(files, atlas_file, barrier) -> list[subprocess.CompletedProcess[str]]:
    barrier.mkdir()
    procs = [
        subprocess.Popen(
            [sys.executable, str(WORKER), str(f), "parcels", str(atlas_file), str(barrier), f"w{i}", str(len(files))],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
        )
        for i, f in enumerate(files)
    ]
    return [subprocess.CompletedProcess(p.args, p.wait(timeout=600), *p.communicate()) for p in procs]


@pytest.mark.parametrize("round_", [1, 2, 3])
def test_imports_that_read_before_either_writes_both_land(atlas_file, park_geometry, tmp_path, bundled_counts, round_):
    """The worst case, made certain by a barrier: both processes read the atlas, then both write."""
    grid = parcel_grid(park_geometry, 2000, prefix=f"B{round_}")
    files = [write_file(grid.iloc[:1000], tmp_path / "a.gpkg"), write_file(grid.iloc[1000:], tmp_path / "b.gpkg")]
    done = _workers(files, atlas_file, tmp_path / "barrier")
    assert [d.returncode for d in done] == [0, 0], [d.stderr for d in done]
    stored = ids(atlas_file, "parcels", "parcel_id")
    assert set(grid["parcel_id"]) <= stored  # the old store kept only the last writer's 1 000
    assert len(stored) == bundled_counts["parcels"] + 2000
    assert_valid_geopackage(atlas_file)


def test_conflict_found_at_commit_is_refused_with_a_clear_message(atlas_file, park_geometry, tmp_path, bundled_counts):
    same = write_file(parcel_grid(park_geometry, 500, prefix="X"), tmp_path / "x.gpkg")
    twin = tmp_path / "x2.gpkg"
    shutil.copyfile(same, twin)
    done = _workers([same, twin], atlas_file, tmp_path / "barrier")
    assert sorted(d.returncode for d in done) == [0, 1], [d.stderr for d in done]
    loser = next(d.stderr for d in done if d.returncode == 1)
    assert loser.startswith("ConcurrencyError: ")
    assert "already stored; another program added them since this one read the atlas. Nothing was written" in loser
    assert count(atlas_file, "parcels") == bundled_counts["parcels"] + 500


def test_conflicting_simultaneous_imports_one_fails_with_a_conflict(
    atlas_file, park_geometry, tmp_path, bundled_counts
):
    same = write_file(parcel_grid(park_geometry, 2000, prefix="D"), tmp_path / "d.gpkg")
    twin = tmp_path / "d2.gpkg"
    shutil.copyfile(same, twin)
    procs = [start_cli("import", str(f), "--layer", "parcels", "--atlas", str(atlas_file)) for f in (same, twin)]
    outs = [p.communicate(timeout=600) for p in procs]
    codes = sorted(p.returncode for p in procs)
    assert codes == [0, 1], [o[1][-2000:] for o in outs]
    loser = next(err for p, (_, err) in zip(procs, outs, strict=True) if p.returncode == 1)
    # either it saw the other's rows when it read the atlas (duplicate_id), or it found them at commit
    assert ("already in the atlas" in loser) or ("another program" in loser)
    assert "ConcurrencyError" not in loser  # no class names in messages
    assert "Traceback" not in loser
    assert count(atlas_file, "parcels") == bundled_counts["parcels"] + 2000  # once, not twice, not zero


def test_locked_atlas_fails_clearly_after_the_busy_timeout(atlas_file, park_geometry, tmp_path, bundled_counts):
    holder = subprocess.Popen(
        [sys.executable, "-c", _LOCK_HOLDER, str(atlas_file)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdin is not None
        assert holder.stdout.readline().strip() == "locked"
        src = write_file(parcel_grid(park_geometry, 10, prefix="L"), tmp_path / "l.gpkg")
        done = cli(
            "import", str(src), "--layer", "parcels", "--atlas", str(atlas_file), env={"KCN_GIS_BUSY_TIMEOUT": "1"}
        )
        assert done.returncode == 1, done.stderr
        assert f"{atlas_file} is locked: another program" in done.stderr
        assert "is writing to it" in done.stderr and "Traceback" not in done.stderr
        holder.stdin.write("\n")
        holder.stdin.flush()
    finally:
        holder.communicate(timeout=60)
    assert count(atlas_file, "parcels") == bundled_counts["parcels"]
    # once the other program is done, the same import goes through
    done = cli("import", str(src), "--layer", "parcels", "--atlas", str(atlas_file))
    assert done.returncode == 0, done.stderr
    assert count(atlas_file, "parcels") == bundled_counts["parcels"] + 10


# --- QGIS ------------------------------------------------------------------------------------------
_QGIS_PYTHON = "/usr/bin/python3"


def _qgis_available() -> bool:
    if not os.path.exists(_QGIS_PYTHON):
        return False
    probe = subprocess.run(
        [_QGIS_PYTHON, "-c", "import qgis.core"],
        capture_output=True,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        timeout=120,
    )
    return probe.returncode == 0


# Edits a parcel through QgsVectorLayer (start editing, change an attribute, commit), as a QGIS user
# does, keeps the layer open, waits, then reports what QGIS reads.
_QGIS_EDITOR = textwrap.dedent(
    """
    import sys
    from qgis.core import QgsApplication, QgsVectorLayer, QgsFeatureRequest
    app = QgsApplication([], False)
    app.initQgis()
    path, parcel_id, name = sys.argv[1:4]
    layer = QgsVectorLayer(f"{path}|layername=parcels", "parcels", "ogr")
    assert layer.isValid(), "QGIS cannot open the atlas"
    feat = next(layer.getFeatures(QgsFeatureRequest().setFilterExpression(f"parcel_id = '{parcel_id}'")))
    assert layer.startEditing()
    assert layer.changeAttributeValue(feat.id(), layer.fields().indexOf("holder_name"), name)
    assert layer.commitChanges(), layer.commitErrors()
    print("edited", flush=True)
    sys.stdin.readline()
    layer.reload()
    n = layer.featureCount()
    got = next(layer.getFeatures(QgsFeatureRequest().setFilterExpression(f"parcel_id = '{parcel_id}'")))
    print(n, got["holder_name"], sep="|", flush=True)
    """
)


def test_qgis_edit_and_kcn_gis_import_share_the_atlas(atlas_file, park_geometry, tmp_path, bundled_counts):
    if not _qgis_available():
        pytest.skip(f"QGIS is not installed ({_QGIS_PYTHON} -c 'import qgis.core' fails; apt-get install python3-qgis)")
    first = _first(atlas_file, "parcels", "parcel_id")
    name = "Hộ Lê Văn Tám (sửa trong QGIS)"
    qgis = subprocess.Popen(
        [_QGIS_PYTHON, "-c", _QGIS_EDITOR, str(atlas_file), first, name],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": ""},
    )
    try:
        assert qgis.stdout is not None and qgis.stdin is not None
        line = qgis.stdout.readline().strip()
        assert line == "edited", qgis.stderr.read() if qgis.stderr else line
        grid = parcel_grid(park_geometry, 300, prefix="Q")
        done = cli(
            "import", str(write_file(grid, tmp_path / "q.gpkg")), "--layer", "parcels", "--atlas", str(atlas_file)
        )
        assert done.returncode == 0, done.stderr
        qgis.stdin.write("\n")
        qgis.stdin.flush()
        n, seen = qgis.stdout.readline().strip().split("|")
    finally:
        qgis.communicate(timeout=120)
    assert int(n) == bundled_counts["parcels"] + 300  # QGIS sees the import
    assert seen == name
    assert _holder(atlas_file, first) == name  # and the import kept QGIS's edit
    assert_valid_geopackage(atlas_file)


def _first(path, layer: str, key: str) -> str:
    import sqlite3

    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as con:
        return con.execute(f'SELECT "{key}" FROM "{layer}" ORDER BY fid LIMIT 1').fetchone()[0]


def _investor(path, project_id: str) -> str:
    import sqlite3

    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as con:
        return con.execute("SELECT investor FROM projects WHERE project_id = ?", (project_id,)).fetchone()[0]


def _holder(path, parcel_id: str) -> str:
    import sqlite3

    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as con:
        return con.execute("SELECT holder_name FROM parcels WHERE parcel_id = ?", (parcel_id,)).fetchone()[0]
