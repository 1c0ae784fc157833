"""The result of an import: one shape for every import of kcn_gis.

Both import sides return it: a file into a layer (:func:`kcn_gis.interop.importers.import_file`) and a
clearance progress workbook into the event history
(:func:`kcn_gis.interop.clearance_sheets.import_sheet`, a subclass with the events' particulars).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import pandas as pd

from kcn_gis.errors import Problem
from kcn_gis.interop.crsdetect import CRSDiagnosis
from kcn_gis.interop.importers.tables import problems_table
from kcn_gis.interop.vntext import TextChange

__all__ = ["ImportResult"]


@dataclass(kw_only=True)
class ImportResult:
    """What an import did (or, with ``dry_run``, would do): the one result of every import.

    :func:`kcn_gis.import_file` returns it as is; a clearance workbook import
    (:func:`kcn_gis.import_sheet`) returns :class:`kcn_gis.interop.clearance_sheets.SheetImportResult`,
    the same class with what is particular to events added.

    Attributes
    ----------
    layer : str
        The atlas layer.
    source : str
        The file read.
    frame : GeoDataFrame
        The imported features in the data model, in the atlas CRS (EPSG:9209).
    problems : list of Problem
        Errors and warnings, each with file, layer, row (1-based, as in the file) and field.
    text_changes : list of TextChange
        Every text value converted to Unicode NFC (TCVN3, VNI, NFD), with its row.
    diagnosis : CRSDiagnosis or None
        What the coordinates were found to be.
    notes : list of str
        What was done: reprojection, repairs, column mapping, closed rings ...
    written : int
        The number of rows written into the atlas (0 = the atlas was not changed, e.g. a dry run).
    """

    layer: str
    source: str
    fmt: str = ""
    mode: str = "append"
    dry_run: bool = False
    frame: gpd.GeoDataFrame | None = None
    problems: list[Problem] = field(default_factory=list)
    text_changes: list[TextChange] = field(default_factory=list)
    diagnosis: CRSDiagnosis | None = None
    notes: list[str] = field(default_factory=list)
    column_map: dict[str, str] = field(default_factory=dict)
    written: int = 0
    layer_rows_after: int | None = None

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity != "error"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def problems_frame(self) -> pd.DataFrame:
        """Problems as the one import problems table (:func:`kcn_gis.interop.importers.tables.problems_table`)."""
        return problems_table(self.problems)

    def summary(self) -> str:
        """A few lines for people: what was read, converted, reprojected and (would be) written."""
        n = 0 if self.frame is None else len(self.frame)
        verb = "would import" if self.dry_run else ("imported" if self.written else "did not import")
        lines = [f"{self.source}: {verb} {n} feature(s) into layer '{self.layer}' (mode {self.mode})"]
        if self.column_map:
            pairs = ", ".join(f"{k} -> {v}" for k, v in self.column_map.items())
            lines.append(f"  columns: {pairs}")
        for note in self.notes:
            lines.append(f"  {note}")
        if self.text_changes:
            kinds: dict[str, int] = {}
            for c in self.text_changes:
                kinds[c.how] = kinds.get(c.how, 0) + 1
            txt = ", ".join(f"{v} from {k.upper() if k != 'nfc' else 'NFD/non-NFC'}" for k, v in kinds.items())
            ex = self.text_changes[0]
            lines.append(f"  text converted to Unicode NFC: {txt} (e.g. '{ex.before}' -> '{ex.after}')")
        if self.diagnosis is not None and self.diagnosis.message:
            lines.append(f"  CRS: {self.diagnosis.message}")
        if self.layer_rows_after is not None:
            lines.append(f"  layer '{self.layer}' has {self.layer_rows_after} feature(s) after the import")
        lines.append(f"  {len(self.errors)} error(s), {len(self.warnings)} warning(s)")
        return "\n".join(lines)
