"""notebooks/03_investor_map.ipynb runs top to bottom and shows the investor map."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "03_investor_map.ipynb"

pytestmark = [pytest.mark.notebook, pytest.mark.slow]


def _bundled_available() -> bool:
    from kcn_gis import bundled_atlas_path

    # the facts tables and the builder ship in the package, so a missing atlas can always be built,
    # unless its place is not writable
    path = bundled_atlas_path()
    return path.exists() or os.access(next(p for p in path.parents if p.exists()), os.W_OK)


def test_notebook_is_stored_without_outputs():
    import nbformat

    nb = nbformat.read(NOTEBOOK, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code)


def test_investor_notebook_executes(hostile_atlas, monkeypatch, tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    if not _bundled_available():
        # the bundled atlas cannot be built in this checkout: run the notebook on the tiny test atlas
        monkeypatch.setenv("KCN_GIS_BUNDLED_ATLAS", str(hostile_atlas.location))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    shown = [
        o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.get("output_type") == "execute_result"
    ]
    html = "".join(o["data"].get("text/html", "") for o in shown)
    assert "leaflet" in html.lower() and "kcn" in html.lower()  # the map is displayed inline
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "investor.html" in printed and " MB" in printed
