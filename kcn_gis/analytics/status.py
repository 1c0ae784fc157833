"""Plot status on a date, derived from the plot's dates (never stored)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from kcn_gis.analytics._common import dates, on_or_before, require_columns
from kcn_gis.dates import DateLike, as_of_date
from kcn_gis.schema import Col, PlotStatus

__all__ = ["plot_status", "status_masks"]


def status_masks(plots: pd.DataFrame, as_of: DateLike | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Return boolean arrays ``(acquired, leased)`` for each plot on ``as_of``.

    ``acquired`` is ``acquired_on <= as_of``; ``leased`` is ``leased_on <= as_of``
    and (``lease_ended_on`` is null or ``as_of < lease_ended_on``). The two are
    independent: a plot leased without an ``acquired_on`` date is leased but not
    acquired (:func:`~kcn_gis.analytics.check_consistency` reports it).

    Parameters
    ----------
    plots : DataFrame
        Plots with ``acquired_on``, ``leased_on`` and ``lease_ended_on``.
    as_of : date-like, optional
        The date; ``None`` means today.
    """
    require_columns(plots, (Col.ACQUIRED_ON, Col.LEASED_ON, Col.LEASE_ENDED_ON), "plots")
    d = as_of_date(as_of)
    acquired = on_or_before(dates(plots, Col.ACQUIRED_ON), d)
    ended = dates(plots, Col.LEASE_ENDED_ON)
    leased = on_or_before(dates(plots, Col.LEASED_ON), d) & ~on_or_before(ended, d)
    return acquired, leased


def plot_status(plots: pd.DataFrame, as_of: DateLike | None = None) -> pd.Series:
    """Status of each plot on ``as_of``: ``"planned"``, ``"acquired"`` or ``"leased"``.

    Every plot is planned; ``acquired`` means ``acquired_on <= as_of``; ``leased``
    means ``leased_on <= as_of`` and (``lease_ended_on`` is null or
    ``as_of < lease_ended_on``). The highest status reached wins, so a plot whose
    lease has ended is ``acquired`` again.

    Parameters
    ----------
    plots : DataFrame or GeoDataFrame
        The ``plots`` layer (any CRS: no geometry is used).
    as_of : date-like, optional
        Date of the status (``None`` = today).

    Returns
    -------
    Series
        :class:`~kcn_gis.schema.PlotStatus` values as text, same index as ``plots``,
        named ``status``.

    Examples
    --------
    >>> import kcn_gis
    >>> from kcn_gis.analytics import plot_status
    >>> plots = kcn_gis.open_atlas().plots
    >>> sorted(plot_status(plots, "2011-12-26").unique())  # doctest: +SKIP
    ['acquired', 'leased', 'planned']
    """
    acquired, leased = status_masks(plots, as_of)
    values = np.where(
        leased, str(PlotStatus.LEASED), np.where(acquired, str(PlotStatus.ACQUIRED), str(PlotStatus.PLANNED))
    )
    return pd.Series(values, index=plots.index, name=str(Col.STATUS), dtype="str")
