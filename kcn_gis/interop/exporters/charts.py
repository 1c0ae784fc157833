"""Writing charts: a matplotlib figure drawn by the analytics (e.g. :func:`kcn_gis.analytics.plot_trend`) to a file."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

from kcn_gis.errors import KcnGisError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["CHART_FORMATS", "write_chart"]

log = logging.getLogger(__name__)

#: File suffixes a chart can be written as.
CHART_FORMATS = (".png", ".svg")


def write_chart(figure: Figure, path: str | os.PathLike[str], *, dpi: int = 150) -> Path:
    """Write a figure as PNG or SVG, chosen by the file suffix.

    Parameters
    ----------
    figure : matplotlib.figure.Figure
        The chart, e.g. from :func:`kcn_gis.analytics.plot_trend`.
    path : path-like
        ``.png`` or ``.svg`` file; its folder must exist.
    dpi : int, default 150
        Resolution of a PNG (dots per inch).

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    KcnGisError
        If the suffix is not ``.png`` or ``.svg``.
    """
    out = Path(path)
    suffix = out.suffix.lower()
    if suffix not in CHART_FORMATS:
        raise KcnGisError(f"{out}: the chart is written as .png or .svg; change the file name")
    figure.savefig(out, format=suffix.lstrip("."), dpi=dpi)
    log.info("wrote chart %s", out)
    return out
