"""The one JSON-safe converter: pandas/numpy values to plain JSON values (CLI output, map pages).

Missing values (None, NaN, NaT, ``pd.NA``, ±inf) become ``None`` (JSON ``null``), dates
ISO text (``"2011-12-26"``, or with the time when it is not midnight), numpy scalars
Python ones, mappings and sequences are converted item by item (keys as text), and
any other object its text.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["json_safe"]


def json_safe(v: Any, *, digits: int | None = None) -> Any:
    """A value that :func:`json.dumps` writes as valid JSON (``allow_nan=False``).

    Parameters
    ----------
    v : any
        A scalar, mapping or sequence (nested).
    digits : int, optional
        Round floats to this many decimals, and write integral floats as integers
        (the compact map encoding). By default floats are kept as they are.

    Returns
    -------
    None, bool, int, float, str, list or dict
    """
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, Mapping):
        return {str(k): json_safe(x, digits=digits) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [json_safe(x, digits=digits) for x in v]
    if isinstance(v, pd.Timestamp):
        if pd.isna(v):
            return None
        return v.date().isoformat() if v == v.normalize() else v.isoformat()
    if isinstance(v, dt.date):  # also datetime.datetime
        return v.isoformat()
    if isinstance(v, np.datetime64):
        return json_safe(pd.Timestamp(v), digits=digits)
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, bool | int | str):
        return v
    if isinstance(v, float):
        if math.isnan(v) or math.isinf(v):
            return None
        if digits is None:
            return v
        r = round(v, digits)
        return int(r) if r == int(r) and abs(r) < 2**53 else r
    try:
        if pd.isna(v):
            return None
    except (TypeError, ValueError):
        pass
    return str(v)
