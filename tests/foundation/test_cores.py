"""kcn_gis.cores: the cores a step may use, the per-thread limit, and the steps that obey it."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import numpy as np
import pytest
import shapely

from kcn_gis import cores
from kcn_gis.errors import KcnGisError


def test_available_counts_the_cores_this_process_may_run_on() -> None:
    assert cores.available() == len(os.sched_getaffinity(0))
    # pinned to one core (taskset, a container's cpuset): one, whatever the machine has
    code = "import os; os.sched_setaffinity(0, {min(os.sched_getaffinity(0))}); from kcn_gis import cores; print(cores.available())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "1"


def test_limit_holds_in_its_block_and_thread_and_only_narrows() -> None:
    before = cores.available()
    seen: list[int] = []
    with cores.limit(1):
        assert cores.available() == 1
        with cores.limit(64):
            assert cores.available() == 1  # an inner block never widens the outer limit
        other = threading.Thread(target=lambda: seen.append(cores.available()))
        other.start()
        other.join()
    assert cores.available() == before
    assert seen == [before]  # another thread is not limited
    with pytest.raises(KcnGisError, match="at least 1 core"), cores.limit(0):
        pass


class _NoThreads:
    def __init__(self, *args, **kwargs) -> None:
        raise AssertionError("a thread pool was started under cores.limit(1)")


def test_clearance_progress_and_the_overlap_sweep_start_no_threads_under_a_limit(monkeypatch) -> None:
    from kcn_gis.analytics import _sat_numba
    from kcn_gis.clearance import clearance_progress
    from kcn_gis.clearance import progress as progress_module
    from tests.clearance.conftest import make_events, make_parcels

    events, parcels = make_events(), make_parcels()
    monkeypatch.setattr(progress_module, "_AREA_BESIDE_FROM", 0)
    monkeypatch.setattr(_sat_numba, "THREADED_FROM", 0)
    monkeypatch.setattr(progress_module, "ThreadPoolExecutor", _NoThreads)
    monkeypatch.setattr(_sat_numba, "ThreadPoolExecutor", _NoThreads)
    boxes = np.array([[0.0, 0.0, 1.0, 1.0], [0.5, 0.5, 2.0, 2.0], [5.0, 5.0, 6.0, 6.0]])
    no_ring = np.full(3, -1, dtype=np.int64)
    empty = np.zeros(0)
    sweep_args = (boxes, no_ring, empty, empty, np.zeros(0, np.int64), np.zeros(0, np.int64))
    sweep_args += (np.zeros(0), np.zeros(0, np.int64), np.zeros(0, np.int64))
    with pytest.raises(AssertionError, match="thread pool"):
        clearance_progress(events, parcels, as_of="2011-12-26")  # without a limit the areas go to a thread
    with pytest.raises(AssertionError, match="thread pool"):
        _sat_numba.sweep(*sweep_args)
    with cores.limit(1):
        got = clearance_progress(events, parcels, as_of="2011-12-26")
        i, j, _ = _sat_numba.sweep(*sweep_args)
    assert got["parcels_total"].sum() == len(parcels)
    assert list(zip(i.tolist(), j.tolist(), strict=True)) == [(0, 1)]
    assert shapely.area(parcels.geometry.values).sum() / 1e4 == pytest.approx(got["area_total_ha"].sum())
