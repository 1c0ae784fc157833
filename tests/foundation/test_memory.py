"""kcn_gis.memory: the command line's page policy for numpy."""

from __future__ import annotations


def test_small_pages_for_numpy_turns_numpy_huge_pages_off_unless_the_environment_says(monkeypatch):
    from numpy._core.multiarray import _set_madvise_hugepage

    from kcn_gis.memory import small_pages_for_numpy

    before = _set_madvise_hugepage(True)  # returns the previous setting
    try:
        monkeypatch.setenv("NUMPY_MADVISE_HUGEPAGE", "1")
        assert small_pages_for_numpy() is False
        assert _set_madvise_hugepage(True) is True  # left alone: the user's choice wins
        monkeypatch.delenv("NUMPY_MADVISE_HUGEPAGE")
        assert small_pages_for_numpy() is True
        assert _set_madvise_hugepage(True) is False  # it was off
    finally:
        _set_madvise_hugepage(before)
