"""kcn_gis.compiled.wanted: when the numba passes are taken."""

from __future__ import annotations

import sys

import pytest

from kcn_gis import compiled


def test_thresholds_and_the_switch(monkeypatch):
    pytest.importorskip("numba")
    monkeypatch.delenv("KCN_GIS_NUMBA", raising=False)
    monkeypatch.setitem(sys.modules, "numba", sys.modules["numba"])  # loaded
    assert compiled.wanted(1_000, use_from=500, load_from=10_000)
    assert not compiled.wanted(100, use_from=500, load_from=10_000)  # too small even when loaded
    monkeypatch.delitem(sys.modules, "numba")  # as in a fresh process
    assert not compiled.wanted(1_000, use_from=500, load_from=10_000)  # not worth loading numba for
    assert compiled.wanted(20_000, use_from=500, load_from=10_000)  # large enough to load it
    monkeypatch.setenv("KCN_GIS_NUMBA", "0")
    assert not compiled.wanted(20_000, use_from=500, load_from=10_000)


def test_without_numba_nothing_is_compiled(monkeypatch):
    monkeypatch.delenv("KCN_GIS_NUMBA", raising=False)
    monkeypatch.setattr(compiled, "_numba_installed", lambda: False)
    assert not compiled.wanted(10**9, use_from=0, load_from=0)
