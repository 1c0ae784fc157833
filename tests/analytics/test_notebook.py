"""The planner notebook runs end to end on the bundled atlas (executed with nbclient, kernel python3 of this venv)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "01_fill_rates_and_balance.ipynb"


def _text(nb) -> str:
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if "text" in out:
                parts.append(out["text"])
            for key in ("text/plain", "text/html"):
                if key in out.get("data", {}):
                    parts.append(out["data"][key])
    return "\n".join(parts)


def test_committed_notebook_has_no_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, "strip the notebook outputs before committing"


def test_uses_only_the_public_api():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    source = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "kcn_gis.open_atlas()" in source
    for line in source.splitlines():
        if "import" in line and "kcn_gis" in line:
            assert "._" not in line and "kcn_gis.store" not in line, line


@pytest.mark.notebook
@pytest.mark.slow
def test_notebook_executes(tmp_path):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    text = _text(nb)
    assert "Fill rate on planned area:  58.16%" in text
    assert "Fill rate on acquired area: 75.38%" in text
    assert "balance_index" in text
    png = tmp_path / "fill_rate_by_bank_2000_2011.png"
    assert png.read_bytes()[:4] == b"\x89PNG"
