"""Pure spatial analytics: frames in, frames out, no I/O.

Every function takes GeoDataFrames in a projected CRS (EPSG:9209 for Bắc Ninh),
raises :class:`~kcn_gis.errors.CRSError` on a geographic or missing CRS, keeps
its input untouched and returns DataFrames with units in the column names.
"""

from __future__ import annotations

__all__: list[str] = []
