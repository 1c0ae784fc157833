"""Whether a step takes its compiled (numba) pass: one rule for the parcel areas, stages and sums.

numba comes with the ``fast`` extra. Importing it and readying its first compiled function costs
0.5-0.8 s of CPU in a fresh process (it imports scipy), more than the numpy paths of these steps
cost at a million parcels. So a compiled pass is taken when numba is loaded already (by the overlap
search of ``kcn-gis validate``, or by a Dask worker for its many parts) and the input is not tiny,
or when the input is so large that loading pays. ``KCN_GIS_NUMBA=0`` turns every compiled pass off;
each numpy path gives the same values (the tests run both).
"""

from __future__ import annotations

import functools
import importlib.util
import os
import sys

__all__ = ["wanted"]


@functools.cache
def _numba_installed() -> bool:
    return importlib.util.find_spec("numba") is not None


def wanted(n: int, *, use_from: int, load_from: int) -> bool:
    """Whether a compiled pass is worth taking for an input of ``n`` items (values, events, parcels).

    Parameters
    ----------
    n : int
        The size of the input.
    use_from : int
        The smallest input for which the compiled pass is worth it when numba is loaded already.
    load_from : int
        The smallest input for which it is worth loading numba for it.

    Returns
    -------
    bool
        False without numba, with ``KCN_GIS_NUMBA=0``, or below the thresholds. The caller imports its
        compiled module (and falls back to numpy if that fails).
    """
    if n < use_from or os.environ.get("KCN_GIS_NUMBA", "1") == "0":
        return False
    if "numba" not in sys.modules and n < load_from:
        return False
    return _numba_installed()
