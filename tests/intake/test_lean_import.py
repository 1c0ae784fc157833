"""The pieces that keep a large import's memory low must not change what it imports.

The memory itself is measured by ``bench/import_table.py``, not here; these tests check
that the lean representations behave exactly like the plain ones they replace.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from kcn_gis.interop.importers.pipeline import _default_parcel_ids
from kcn_gis.interop.importers.readers import RowNumbers
from kcn_gis.memory import lean, leanly
from kcn_gis.schema import Col


def test_row_numbers_behave_as_the_list_they_replace():
    plain = [2, 3, 7, 11, 12]
    rows = RowNumbers(np.array(plain))
    assert len(rows) == 5 and list(rows) == plain and rows == plain and rows == RowNumbers(plain)
    assert rows[0] == 2 and rows[-1] == 12 and type(rows[np.int64(2)]) is int
    assert rows[1:3] == [3, 7] and isinstance(rows[1:3], RowNumbers)
    assert rows != [2, 3, 7, 11] and rows != [2, 3, 7, 11, 13]
    assert 7 in rows and 8 not in rows
    with pytest.raises(IndexError):
        rows[5]
    big = RowNumbers(np.arange(200_000) + 2)  # iterated in blocks: every row, in order
    assert sum(1 for _ in big) == 200_000 and list(big)[-1] == 200_001


def test_lean_runs_arrow_on_the_system_allocator_and_puts_the_pool_back():
    before = pa.default_memory_pool().backend_name
    with lean():
        assert pa.default_memory_pool().backend_name == "system"
        inner = pa.array(["Xã Mão Điền"] * 1000)  # allocated inside, freed after: to the pool it came from
        with lean():
            assert pa.default_memory_pool().backend_name == "system"
        assert pa.default_memory_pool().backend_name == "system"
    assert pa.default_memory_pool().backend_name == before
    assert inner.to_pylist()[0] == "Xã Mão Điền"
    del inner

    @leanly
    def job(x: int) -> str:
        """A job."""
        return f"{x}:{pa.default_memory_pool().backend_name}"

    assert job(3) == "3:system" and job.__doc__ == "A job."
    assert pa.default_memory_pool().backend_name == before


def test_lean_in_two_threads_puts_the_pool_back_once_both_are_done():
    import threading

    before = pa.default_memory_pool().backend_name
    inside, release_first, seen = threading.Event(), threading.Event(), []

    def first() -> None:
        with lean():
            inside.set()
            release_first.wait(10)

    t = threading.Thread(target=first)
    t.start()
    inside.wait(10)
    with lean():  # enters while the first runs; the first leaves while this one still runs
        release_first.set()
        t.join(10)
        seen.append(pa.default_memory_pool().backend_name)
    assert seen == ["system"]  # the first one's exit did not take the pool away from the second
    assert pa.default_memory_pool().backend_name == before


def test_lean_puts_the_pool_back_when_the_job_fails():
    before = pa.default_memory_pool().backend_name
    with pytest.raises(ZeroDivisionError), lean():
        1 / 0  # noqa: B018
    assert pa.default_memory_pool().backend_name == before


def test_default_parcel_ids_pad_digits_only_and_join_in_arrow():
    out = pd.DataFrame(
        {
            Col.PARK_ID: ["B1", "B1", None, "Q2", "B1"],
            Col.COMMUNE: ["Xã Mão Điền", "Phường An Bình", None, "Xã Nam Sơn", "Xã Mão Điền"],
            Col.MAP_SHEET: pd.array([1, 12.0, None, "3a", " 7 "], dtype=object),
            Col.PARCEL_NO: pd.array(["5", "123", "", "0012", 99999], dtype=object),
        }
    )
    got = _default_parcel_ids(out)
    # sheet 2 digits and parcel 4 digits when they are digits; 12.0 is the number 12; other text as written
    assert got.tolist() == ["B1-MD-01-0005", "B1-AB-12-0123", "---", "Q2-NS-3a-0012", "B1-MD-07-99999"]
    assert got.dtype == "str"


def test_fewer_collections_raises_the_thresholds_and_puts_them_back_nested_threaded_and_on_failure():
    import gc
    import threading

    from kcn_gis.memory import YOUNG_THRESHOLD, fewer_collections

    before = gc.get_threshold()
    with fewer_collections():
        assert gc.get_threshold()[0] == YOUNG_THRESHOLD
        with fewer_collections():  # nested: still raised inside, not restored by the inner exit
            pass
        assert gc.get_threshold()[0] == YOUNG_THRESHOLD
        inside, done = threading.Event(), threading.Event()

        def other() -> None:
            with fewer_collections():
                inside.set()
                done.wait(10)

        t = threading.Thread(target=other)
        t.start()
        inside.wait(10)
    assert gc.get_threshold()[0] == YOUNG_THRESHOLD  # the other thread's block still runs
    done.set()
    t.join(10)
    assert gc.get_threshold() == before
    with pytest.raises(ZeroDivisionError), fewer_collections():
        1 / 0  # noqa: B018
    assert gc.get_threshold() == before
    # cycles are still collected inside: a cycle made there is freed by a later collection
    import weakref

    class Node:
        pass

    with fewer_collections():
        a, b = Node(), Node()
        a.other, b.other = b, a
        ref = weakref.ref(a)
        del a, b
        gc.collect()
        assert ref() is None


def test_validate_runs_with_fewer_collections_and_other_commands_do_not(monkeypatch, capsys):
    import contextlib
    import gc

    from kcn_gis import memory
    from kcn_gis.cli import main

    entered = []
    real = memory.fewer_collections

    @contextlib.contextmanager
    def recording():
        with real():
            entered.append(gc.get_threshold()[0])
            yield

    monkeypatch.setattr(memory, "fewer_collections", recording)
    before = gc.get_threshold()
    assert main(["validate"]) == 0
    assert "0 error(s)" in capsys.readouterr().err  # the bundled atlas has warnings only
    assert entered == [memory.YOUNG_THRESHOLD]  # the command ran inside it
    assert gc.get_threshold() == before
    assert main(["fill-rates", "--by", "park", "--format", "json"]) == 0
    assert entered == [memory.YOUNG_THRESHOLD]  # other commands keep Python's defaults
