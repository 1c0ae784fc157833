"""The one error hierarchy of kcn_gis.

Every error raised on purpose by the library derives from :class:`KcnGisError`.
Messages say *what* is wrong, *where* (file, layer, row, field) and *how to fix
it*. Build the message with :func:`locate` first, then raise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "CRSError",
    "ClearanceError",
    "ConcurrencyError",
    "ImportError_",
    "InputFileError",
    "KcnGisError",
    "MissingDependencyError",
    "Problem",
    "RiverSplitError",
    "ScenarioError",
    "SchemaError",
    "StoreError",
    "UnknownNameError",
    "locate",
]


def locate(
    *,
    file: object = None,
    layer: str | None = None,
    row: int | None = None,
    ident: str | None = None,
    field: str | None = None,
) -> str:
    """Return a location prefix such as ``atlas.gpkg layer 'plots' row 17 (plot_id 'QV-A12') field 'status'``.

    Rows are 1-based, as a user counts them in QGIS or a spreadsheet.
    """
    parts: list[str] = []
    if file is not None:
        parts.append(str(file))
    if layer is not None:
        parts.append(f"layer '{layer}'")
    if row is not None:
        parts.append(f"row {row}")
    if ident:
        parts.append(f"({ident})")
    if field is not None:
        parts.append(f"field '{field}'")
    return " ".join(parts)


@dataclass(frozen=True)
class Problem:
    """One problem found while validating or importing.

    Attributes
    ----------
    severity : str
        ``"error"`` (the data cannot be used as is) or ``"warning"``.
    check : str
        Short machine-readable name of the check, e.g. ``"missing_column"``.
    message : str
        Human-readable text that says what is wrong and how to fix it.
    layer, row, field, ids : optional
        Where the problem is. ``row`` is 1-based. ``ids`` lists the feature
        identifiers involved (e.g. two overlapping ``plot_id``).
    """

    severity: str
    check: str
    message: str
    layer: str | None = None
    row: int | None = None
    field: str | None = None
    ids: tuple[str, ...] = ()
    file: str | None = None

    def where(self) -> str:
        ident = ", ".join(self.ids) if self.ids else None
        return locate(file=self.file, layer=self.layer, row=self.row, ident=ident, field=self.field)

    def __str__(self) -> str:
        where = self.where()
        return f"{where}: {self.message}" if where else self.message


class KcnGisError(Exception):
    """Base class of every error kcn_gis raises on purpose.

    Parameters
    ----------
    message : str
        What is wrong and how to fix it.
    problems : sequence of Problem, optional
        The individual problems when there are several (e.g. a whole import).
    """

    def __init__(self, message: str, problems: Sequence[Problem] = ()) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__(message)

    @classmethod
    def from_problems(cls, problems: Sequence[Problem], *, header: str, limit: int = 20) -> KcnGisError:
        """Build one error whose message lists the first ``limit`` problems."""
        lines = [header]
        for p in problems[:limit]:
            lines.append(f"  - {p}")
        if len(problems) > limit:
            lines.append(f"  ... and {len(problems) - limit} more problem(s)")
        return cls("\n".join(lines), problems)


class SchemaError(KcnGisError, ValueError):
    """A layer, column, value or geometry does not follow the atlas data model."""


class CRSError(KcnGisError, ValueError):
    """A missing, geographic or unexpected coordinate reference system."""


class StoreError(KcnGisError, OSError):
    """An atlas cannot be opened, read or written."""


class ConcurrencyError(StoreError):
    """Someone else changed the data since it was read (optimistic locking)."""


class InputFileError(KcnGisError, ValueError):
    """An input file cannot be imported; nothing was written.

    A :class:`ValueError` (bad input), not an :class:`ImportError`:
    ``except ImportError`` catches :class:`MissingDependencyError` only.
    """


#: The former name of :class:`InputFileError`, kept as an alias (the same class).
ImportError_ = InputFileError


class ClearanceError(KcnGisError, ValueError):
    """A land-clearance event history is inconsistent or cannot be imported."""


class UnknownNameError(KcnGisError, ValueError):
    """A park id or name (or another name a user typed) matches nothing, or more than one thing."""


class RiverSplitError(KcnGisError, ValueError):
    """A river line cannot split the province into two banks."""


class ScenarioError(KcnGisError, ValueError):
    """A planning scenario file is malformed or cannot be applied to the atlas; nothing was written."""


class MissingDependencyError(KcnGisError, ImportError):
    """An optional dependency is not installed; the message names the extra."""

    @classmethod
    def for_extra(cls, package: str, extra: str, purpose: str) -> MissingDependencyError:
        return cls(f"{purpose} needs the optional package '{package}'. Install it with: pip install 'kcn_gis[{extra}]'")
