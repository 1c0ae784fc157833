"""The scenario notebook runs end to end on the bundled atlas (executed with nbclient, kernel python3 of this venv)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "04_plan_scenarios.ipynb"


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
            assert line.strip() == "import kcn_gis", line
    import kcn_gis

    for name in {w.split("(")[0] for w in source.replace("kcn_gis.", " kcn_gis.").split() if w.startswith("kcn_gis.")}:
        assert name.removeprefix("kcn_gis.") in kcn_gis.__all__, name


@pytest.mark.notebook
@pytest.mark.slow
def test_notebook_executes(tmp_path):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    text = _text(nb)
    assert "Fill rate on planned area:  58.16%" in text
    assert "Fill rate on acquired area: 75.38%" in text
    for name in ("Gia Bình 2013", "Thuận Thành II +200 ha", "Khu Nam 2013", "balance_index", "within_range"):
        assert name in text, name
    assert (tmp_path / "scenario_leased_by_bank.png").read_bytes()[:4] == b"\x89PNG"
    html = (tmp_path / "luong_tai_scenario.html").read_text(encoding="utf-8")
    assert "data:image/png;base64," in html and "KCN Lương Tài" in html
