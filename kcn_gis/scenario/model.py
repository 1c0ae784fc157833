"""Planning scenarios: the YAML file format, its loader and the located checks of each change.

A scenario is a list of changes to an atlas (``add_park``, ``resize_park``,
``drop_park``, ``rephase``, ``set_status``), written by hand and reviewed in a
diff. See ``docs/scenarios.md`` for the format. Loading checks everything that
can be checked without the atlas (fields, types, dates, schedules, WKT);
:func:`kcn_gis.scenario.apply_scenario` checks the rest against the atlas.
Every error names the scenario file, the change (1-based index and kind), the
field and the problem.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import shapely

from kcn_gis.errors import Problem, ScenarioError
from kcn_gis.schema import ParkStatus

__all__ = ["BASELINE", "CHANGE_KINDS", "Change", "Scenario", "bundled_scenarios", "load_scenario", "scenario_from_dict"]

log = logging.getLogger(__name__)

#: Name of the scenario without changes (today's atlas projected with the fitted model).
BASELINE = "baseline"

#: Field -> required? for each change kind.
CHANGE_KINDS: dict[str, dict[str, bool]] = {
    "add_park": {
        "park_id": True,
        "name": True,
        "name_en": False,
        "district": True,
        "boundary": True,
        "status": True,
        "industrial_share": False,
        "schedule": False,
        "listed_area_ha": False,
        "developer": False,
        "detail_plan_approved": False,
    },
    "resize_park": {"park_id": True, "boundary": False, "buffer_m": False, "industrial_share": False},
    "drop_park": {"park_id": True},
    "rephase": {"park_id": True, "shift_months": False, "status": False, "schedule": False},
    "set_status": {"park_id": True, "status": True, "on": True},
}
_TOP_FIELDS = ("name", "name_vi", "description", "base", "changes")
_SCHEDULE_FIELDS = ("acquired_ha", "leased_ha")


@dataclass(frozen=True)
class Change:
    """One change of a scenario, with its parsed fields.

    Attributes
    ----------
    kind : str
        One of :data:`CHANGE_KINDS`.
    index : int
        1-based position in the file it comes from (as a reader counts).
    params : mapping
        Parsed fields: ``boundary`` as a shapely geometry (EPSG:9209 metres),
        dates as ``pandas.Timestamp``, ``status`` as ``{status: Timestamp}``,
        ``schedule`` as ``{"acquired_ha" | "leased_ha": {Timestamp: hectares}}``
        (cumulative hectares at each date; a year ``Y`` in the file is 31 December of ``Y``).
    source : str
        The scenario file (or ``"<dict>"``).
    """

    kind: str
    index: int
    params: Mapping[str, Any]
    source: str

    @property
    def park_id(self) -> str:
        return str(self.params["park_id"])

    def where(self, fld: str | None = None) -> str:
        """``scen.yaml change 3 (add_park LT) field 'boundary'``: where a problem is."""
        text = f"{self.source} change {self.index} ({self.kind} {self.params.get('park_id', '?')})"
        return f"{text} field '{fld}'" if fld else text

    def problem(self, fld: str | None, message: str, check: str = "scenario") -> Problem:
        # the location is in the message (Problem's own fields would print it twice)
        return Problem("error", check, f"{self.where(fld)}: {message}")


@dataclass(frozen=True)
class Scenario:
    """A named list of changes to an atlas (the changes of its ``base`` come first).

    Attributes
    ----------
    name : str
        Shown in tables and maps. ``"baseline"`` is reserved for the atlas without changes.
    changes : tuple of Change
    source : str, optional
        The file it was read from.
    description : str
        Free text from the file.
    """

    name: str
    changes: tuple[Change, ...] = ()
    source: str | None = None
    description: str = ""
    bases: tuple[str, ...] = field(default=())

    @classmethod
    def baseline(cls) -> Scenario:
        """The scenario with no change: the atlas as it is, projected with the model."""
        return cls(BASELINE)


def _fail(problems: list[Problem], header: str) -> None:
    if problems:
        raise ScenarioError.from_problems(problems, header=header)  # type: ignore[misc]


def _date(value: Any) -> pd.Timestamp | None:
    if isinstance(value, dt.date):
        return pd.Timestamp(value).normalize()
    if isinstance(value, str):
        try:
            ts = pd.Timestamp(dt.date.fromisoformat(value.strip()))
        except ValueError:
            return None
        return ts
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    v = float(value)
    return v if v == v and abs(v) != float("inf") else None


def _status_dates(change: Change, value: Any, fld: str, problems: list[Problem]) -> dict[str, pd.Timestamp]:
    valid = [str(s) for s in ParkStatus]
    if not isinstance(value, Mapping) or not value:
        problems.append(
            change.problem(
                fld, "give the status dates as a mapping, e.g. {construction: 2012-06-01, operating: 2013-01-01}"
            )
        )
        return {}
    out: dict[str, pd.Timestamp] = {}
    for k, v in value.items():
        if str(k) not in valid:
            problems.append(change.problem(f"{fld}.{k}", f"'{k}' is not a park status; use one of {', '.join(valid)}"))
            continue
        d = _date(v)
        if d is None:
            problems.append(change.problem(f"{fld}.{k}", f"{v!r} is not a date; write it as YYYY-MM-DD"))
            continue
        out[str(k)] = d
    order = [s for s in ("preparing", "construction", "operating") if s in out]
    for a, b in itertools.pairwise(order):
        if out[b] < out[a]:
            problems.append(
                change.problem(
                    f"{fld}.{b}", f"{b} on {out[b].date()} is before {a} on {out[a].date()}; a park is {a} first"
                )
            )
    return out


def _schedule(change: Change, value: Any, problems: list[Problem]) -> dict[str, dict[pd.Timestamp, float]]:
    fld = "schedule"
    if not isinstance(value, Mapping):
        problems.append(change.problem(fld, "give acquired_ha and/or leased_ha, each as {year: cumulative hectares}"))
        return {}
    out: dict[str, dict[pd.Timestamp, float]] = {}
    for k, v in value.items():
        if k not in _SCHEDULE_FIELDS:
            problems.append(
                change.problem(f"{fld}.{k}", f"unknown field; a schedule has {', '.join(_SCHEDULE_FIELDS)}")
            )
            continue
        if not isinstance(v, Mapping) or not v:
            problems.append(
                change.problem(f"{fld}.{k}", "give cumulative hectares per year, e.g. {2013: 10, 2014: 20}")
            )
            continue
        steps: dict[pd.Timestamp, float] = {}
        for year, ha in v.items():
            if isinstance(year, bool) or not isinstance(year, int) or not 1900 <= year <= 2200:
                problems.append(change.problem(f"{fld}.{k}", f"{year!r} is not a year; write e.g. 2013"))
                continue
            n = _number(ha)
            if n is None or n < 0:
                problems.append(change.problem(f"{fld}.{k}.{year}", f"{ha!r} is not a number of hectares >= 0"))
                continue
            steps[pd.Timestamp(year=year, month=12, day=31)] = n
        ordered = sorted(steps)
        for a, b in itertools.pairwise(ordered):
            if steps[b] < steps[a]:
                problems.append(
                    change.problem(
                        f"{fld}.{k}.{b.year}",
                        f"{steps[b]:g} ha is less than {steps[a]:g} ha in {a.year}; the schedule is cumulative "
                        "(hectares held at 31 December), so it never goes down",
                    )
                )
        out[k] = dict(sorted(steps.items()))
    acq, lea = out.get("acquired_ha"), out.get("leased_ha")
    if acq and lea:
        for d, ha in lea.items():
            held = [v for a, v in acq.items() if a <= d]
            if ha > (held[-1] if held else 0.0) + 1e-9:
                problems.append(
                    change.problem(
                        f"{fld}.leased_ha.{d.year}",
                        f"{ha:g} ha leased but only {held[-1] if held else 0:g} ha acquired by then; "
                        "land is acquired before it is leased",
                    )
                )
    return out


def _boundary(change: Change, value: Any, base_dir: Path | None, problems: list[Problem]) -> Any:
    fld = "boundary"
    geom: Any = None
    if isinstance(value, str):
        try:
            geom = shapely.from_wkt(value)
        except Exception as exc:
            problems.append(change.problem(fld, f"is not valid WKT ({exc}); write e.g. 'POLYGON ((x y, ...))'"))
            return None
    elif isinstance(value, Mapping) and "file" in value:
        geom = _boundary_from_file(change, value, base_dir, problems)
        if geom is None:
            return None
    else:
        problems.append(change.problem(fld, "give WKT in EPSG:9209 or {file: parks.geojson, id: PARK_ID}"))
        return None
    if geom is None or geom.is_empty or geom.geom_type not in ("Polygon", "MultiPolygon"):
        problems.append(change.problem(fld, "must be a non-empty POLYGON or MULTIPOLYGON"))
        return None
    if not shapely.is_valid(geom):
        problems.append(
            change.problem(fld, f"is not a valid polygon ({shapely.is_valid_reason(geom)}); fix it in QGIS first")
        )
        return None
    minx, miny, maxx, maxy = geom.bounds
    if not (100_000 <= minx <= maxx <= 1_000_000 and 1_000_000 <= miny <= maxy <= 3_000_000):
        problems.append(
            change.problem(
                fld,
                f"coordinates {minx:.1f} {miny:.1f} do not look like EPSG:9209 metres (easting ~500 000, "
                "northing ~2 300 000); give the boundary in the atlas CRS (nothing is reprojected)",
            )
        )
        return None
    return geom


def _boundary_from_file(
    change: Change, value: Mapping[str, Any], base_dir: Path | None, problems: list[Problem]
) -> Any:
    import geopandas as gpd

    from kcn_gis.crs import WORKING_CRS, same_crs

    fld = "boundary.file"
    path = Path(str(value["file"]))
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    if not path.exists():
        problems.append(change.problem(fld, f"{path} does not exist (paths are relative to the scenario file)"))
        return None
    try:
        frame = gpd.read_file(path)
    except Exception as exc:
        problems.append(change.problem(fld, f"{path} cannot be read: {exc}"))
        return None
    if frame.crs is None or not same_crs(frame.crs, WORKING_CRS):
        problems.append(
            change.problem(
                fld,
                f"{path} is in {frame.crs.to_string() if frame.crs else 'no CRS'}; give it in EPSG:9209 (nothing is reprojected)",
            )
        )
        return None
    ident = str(value.get("id", change.params.get("park_id")))
    key = "park_id" if "park_id" in frame.columns else "id" if "id" in frame.columns else None
    if key is None:
        problems.append(change.problem(fld, f"{path} has no 'park_id' (or 'id') column to find '{ident}'"))
        return None
    hit = frame[frame[key].astype(str) == ident]
    if len(hit) != 1:
        problems.append(change.problem(fld, f"{path} has {len(hit)} features with {key} '{ident}'; it needs exactly 1"))
        return None
    return hit.geometry.iloc[0]


def _parse_change(raw: Any, index: int, source: str, base_dir: Path | None, problems: list[Problem]) -> Change | None:
    if not isinstance(raw, Mapping) or len(raw) != 1:
        problems.append(
            Problem(
                "error",
                "scenario",
                f"{source} change {index}: write each change as one key ({', '.join(CHANGE_KINDS)}) with its fields",
            )
        )
        return None
    kind, body = next(iter(raw.items()))
    if kind not in CHANGE_KINDS:
        problems.append(
            Problem(
                "error",
                "scenario",
                f"{source} change {index} ({kind}): unknown change; use one of {', '.join(CHANGE_KINDS)}",
            )
        )
        return None
    stub = Change(kind, index, dict(body) if isinstance(body, Mapping) else {}, source)
    if not isinstance(body, Mapping):
        problems.append(stub.problem(None, "give the fields of the change as a mapping"))
        return None
    fields = CHANGE_KINDS[kind]
    n0 = len(problems)
    for k in body:
        if k not in fields:
            problems.append(stub.problem(str(k), f"unknown field; {kind} takes {', '.join(fields)}"))
    for k, required in fields.items():
        if required and body.get(k) in (None, ""):
            problems.append(stub.problem(k, "is required"))
    if len(problems) > n0:
        return None
    p: dict[str, Any] = {"park_id": str(body["park_id"]).strip()}
    if not p["park_id"]:
        problems.append(stub.problem("park_id", "is empty"))
    if kind == "add_park":
        for k in ("name", "name_en", "district", "developer"):
            if body.get(k) is not None:
                p[k] = str(body[k])
        p["boundary"] = _boundary(stub, body["boundary"], base_dir, problems)
        p["status"] = _status_dates(stub, body["status"], "status", problems)
        if "listed_area_ha" in body:
            p["listed_area_ha"] = _number(body["listed_area_ha"])
        p["detail_plan_approved"] = bool(body.get("detail_plan_approved", True))
    if kind in ("add_park", "resize_park") and body.get("industrial_share") is not None:
        share = _number(body["industrial_share"])
        if share is None or not 0 < share <= 1:
            problems.append(
                stub.problem("industrial_share", f"{body['industrial_share']!r} must be a fraction in (0, 1]")
            )
        p["industrial_share"] = share
    if kind == "resize_park":
        has_b, has_m = body.get("boundary") is not None, body.get("buffer_m") is not None
        if has_b == has_m:
            problems.append(
                stub.problem("boundary", "give either a new boundary or buffer_m (metres), not both or none")
            )
        elif has_b:
            p["boundary"] = _boundary(stub, body["boundary"], base_dir, problems)
        else:
            m = _number(body["buffer_m"])
            if m is None or m == 0:
                problems.append(stub.problem("buffer_m", f"{body['buffer_m']!r} must be a non-zero number of metres"))
            p["buffer_m"] = m
    if kind in ("add_park", "rephase") and body.get("schedule") is not None:
        p["schedule"] = _schedule(stub, body["schedule"], problems)
    if kind == "rephase":
        if body.get("shift_months") is None and body.get("status") is None and body.get("schedule") is None:
            problems.append(
                stub.problem("shift_months", "give shift_months, or the status dates and/or schedule to set")
            )
        if body.get("shift_months") is not None:
            m = body["shift_months"]
            if isinstance(m, bool) or not isinstance(m, int):
                problems.append(
                    stub.problem("shift_months", f"{m!r} must be a whole number of months (negative = earlier)")
                )
            p["shift_months"] = m
        if body.get("status") is not None:
            p["status"] = _status_dates(stub, body["status"], "status", problems)
    if kind == "set_status":
        valid = [str(s) for s in ParkStatus]
        if str(body["status"]) not in valid:
            problems.append(
                stub.problem("status", f"'{body['status']}' is not a park status; use one of {', '.join(valid)}")
            )
        p["status"] = str(body["status"])
        d = _date(body["on"])
        if d is None:
            problems.append(stub.problem("on", f"{body['on']!r} is not a date; write it as YYYY-MM-DD"))
        p["on"] = d
    return Change(kind, index, p, source)


def scenario_from_dict(
    data: Mapping[str, Any], *, source: str = "<dict>", base_dir: str | os.PathLike[str] | None = None
) -> Scenario:
    """Build a :class:`Scenario` from the parsed content of a scenario file (a mapping).

    Parameters
    ----------
    data : mapping
        ``name``, ``changes`` and optionally ``base`` (a file, relative to ``base_dir``) and ``description``.
    source : str
        Shown in error messages.
    base_dir : path, optional
        Folder that ``base:`` and geometry files are relative to.

    Raises
    ------
    ScenarioError
        Naming the file, the change (index and kind), the field and the problem, for every problem found.
    """
    return _from_dict(data, source=source, base_dir=Path(base_dir) if base_dir else None, seen=())


def _from_dict(data: Any, *, source: str, base_dir: Path | None, seen: tuple[str, ...]) -> Scenario:
    problems: list[Problem] = []
    if not isinstance(data, Mapping):
        raise ScenarioError(f"{source}: a scenario is a mapping with name and changes; see docs/scenarios.md")
    for k in data:
        if k not in _TOP_FIELDS:
            problems.append(
                Problem("error", "scenario", f"{source}: unknown top-level field '{k}'; use {', '.join(_TOP_FIELDS)}")
            )
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.append(Problem("error", "scenario", f"{source} field 'name': is required (shown in tables and maps)"))
    elif name.strip() == BASELINE:
        problems.append(
            Problem("error", "scenario", f"{source} field 'name': '{BASELINE}' is reserved; choose another")
        )
    inherited: tuple[Change, ...] = ()
    bases: tuple[str, ...] = ()
    if data.get("base") is not None:
        base_path = Path(str(data["base"]))
        if not base_path.is_absolute() and base_dir is not None:
            base_path = base_dir / base_path
        key = str(base_path.resolve())
        if key in seen:
            problems.append(
                Problem("error", "scenario", f"{source} field 'base': {base_path} extends itself (a cycle)")
            )
        elif not base_path.exists():
            problems.append(Problem("error", "scenario", f"{source} field 'base': {base_path} does not exist"))
        else:
            base = _load(base_path, seen=seen)
            inherited, bases = base.changes, (*base.bases, str(base_path))
    raw_changes = data.get("changes")
    changes: list[Change] = []
    if raw_changes is None and not inherited:
        problems.append(Problem("error", "scenario", f"{source} field 'changes': a scenario needs at least one change"))
    elif (raw_changes is not None and not isinstance(raw_changes, Sequence)) or isinstance(raw_changes, str):
        problems.append(Problem("error", "scenario", f"{source} field 'changes': give a list of changes"))
    else:
        for i, raw in enumerate(raw_changes or (), start=1):
            c = _parse_change(raw, i, source, base_dir, problems)
            if c is not None:
                changes.append(c)
    _fail(problems, f"{source} is not a valid scenario (nothing was changed or written):")
    return Scenario(
        name=str(name).strip(),
        changes=(*inherited, *changes),
        source=source,
        description=str(data.get("description") or ""),
        bases=bases,
    )


def _loader() -> Any:
    """A YAML SafeLoader where only true/false are booleans and dates stay text.

    YAML 1.1 also reads on/off/yes/no as booleans (and ``on:`` is a field of
    ``set_status``); dates are parsed by this module so that a bad one gets a located error.
    """
    import re

    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.yaml_implicit_resolvers = {
        k: [(tag, rx) for tag, rx in v if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp")]
        for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    Loader.add_implicit_resolver(
        "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
    )
    return Loader


def _load(path: Path, *, seen: tuple[str, ...] = ()) -> Scenario:
    import yaml

    loader = _loader()

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read the scenario file ({exc})") from exc
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{path}: is not UTF-8 text ({exc}); save it as UTF-8") from exc
    try:
        data = yaml.load(text, Loader=loader)
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{path}: is not valid YAML: {exc}") from exc
    return _from_dict(data, source=str(path), base_dir=path.parent, seen=(*seen, str(path.resolve())))


def load_scenario(path: str | os.PathLike[str]) -> Scenario:
    """Read and check a scenario file (YAML, UTF-8); a ``base:`` file is read first and its changes come first.

    Geometry is WKT in EPSG:9209 (metres) or a GeoPackage/GeoJSON beside the file
    (``{file: parks.geojson, id: LT}``), never reprojected. Years in schedules
    mean 31 December of that year; values are cumulative hectares.

    Parameters
    ----------
    path : path
        The ``.yaml`` file.

    Returns
    -------
    Scenario

    Raises
    ------
    ScenarioError
        If the file is malformed; the message names the file, the change (1-based index and
        kind), the field and the problem, for every problem found.

    Examples
    --------
    >>> import kcn_gis
    >>> s = kcn_gis.load_scenario("data/scenarios/gia_binh_2013.yaml")  # doctest: +SKIP
    >>> [c.kind for c in s.changes]  # doctest: +SKIP
    ['set_status', 'set_status']
    """
    p = Path(path)
    if not p.exists():
        raise ScenarioError(f"{p}: no such scenario file")
    return _load(p)


def bundled_scenarios() -> list[Path]:
    """Paths of the example scenarios shipped in ``data/scenarios/`` (sorted by file name).

    They apply to the bundled Bắc Ninh 2011 atlas (EPSG:9209); each file's comments say what it assumes.
    """
    folder = Path(__file__).resolve().parents[2] / "data" / "scenarios"
    return sorted(folder.glob("*.yaml"))
