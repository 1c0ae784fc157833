"""The 'around the parks' notebook runs end to end on the bundled atlas, using the public API only."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.analytics.test_notebook import _text

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "04_around_the_parks.ipynb"


def test_committed_notebook_has_no_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, "strip the notebook outputs before committing"


def test_uses_only_the_public_api():
    source = "\n".join(c.source for c in nbformat.read(NOTEBOOK, as_version=4).cells if c.cell_type == "code")
    assert "kcn_gis.open_atlas()" in source
    for line in source.splitlines():
        if "import" in line and "kcn_gis" in line:
            assert "._" not in line and "kcn_gis.store" not in line, line


@pytest.mark.notebook
@pytest.mark.slow
def test_notebook_executes(tmp_path):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    text = _text(nb)
    assert "Worker beds within reach: 16,512 for 87,053 workers" in text
    assert "output 142,704 bn VND, exports 6,512 M USD, budget 2,653 bn VND" in text
    assert "days_operating_without_plant" in text
