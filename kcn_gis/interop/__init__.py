"""The interop wing: what crosses the boundary between kcn_gis and other software's files.

* :mod:`~kcn_gis.interop.importers` - Shapefile, KML, DXF, GeoJSON, CSV and XLSX into an atlas, all or
  nothing; the one table reader (header blocks, merged cells, day-first dates) and the YAML mapping dialect.
* :mod:`~kcn_gis.interop.exporters` - exports for internal users and investors (GeoPackage, Shapefile,
  KML, DXF, CSV/XLSX tables) and charts.
* :mod:`~kcn_gis.interop.raster` - rasterize plots and parcels; zonal statistics of a user's raster.
* :mod:`~kcn_gis.interop.crsdetect` - which CRS a file's coordinates are really in.
* :mod:`~kcn_gis.interop.vntext` - Vietnamese text repair (TCVN3, VNI, NFC).

Each module has its own rank in ``docs/architecture.md``: the text and CRS helpers sit low (anything may
use them), the importers below the clearance workflows that read progress workbooks through them, and
the exporters and rasters with the other outputs. This package's ``__init__`` imports nothing, so that
importing one of them does not pull in the others.
"""
