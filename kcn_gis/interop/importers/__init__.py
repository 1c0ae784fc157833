"""Bringing real-world files into an atlas: Shapefile, GeoPackage, GeoJSON, KML/KMZ, DXF, CSV/XLSX.

:func:`import_file` is the one entry point (``kcn-gis import`` calls it). It is
all or nothing: any error writes nothing, and every problem names the file,
layer, row and field. See ``docs/interop.md``.
"""

from __future__ import annotations

from kcn_gis.interop.importers.mapping import (
    DEFAULT_HEADERS,
    SOURCE_LAYER,
    ColumnMapping,
    load_mapping,
    normalize_header,
)
from kcn_gis.interop.importers.pipeline import IMPORTABLE_LAYERS, MODES, ImportResult, import_file, prepare_import
from kcn_gis.interop.importers.readers import FORMATS, SourceData, detect_format, read_dxf, read_source, read_table

__all__ = [
    "DEFAULT_HEADERS",
    "FORMATS",
    "IMPORTABLE_LAYERS",
    "MODES",
    "SOURCE_LAYER",
    "ColumnMapping",
    "ImportResult",
    "SourceData",
    "detect_format",
    "import_file",
    "load_mapping",
    "normalize_header",
    "prepare_import",
    "read_dxf",
    "read_source",
    "read_table",
]
