"""The Dask engine: fill rates, river balance and clearance progress on dask-geopandas / ``dask.distributed``.

For atlases larger than one machine's memory (a national view: tens of
millions of parcels). The input is a spatially partitioned GeoParquet atlas
(:mod:`kcn_gis.store.geoparquet`, written by ``kcn-gis export --to
geoparquet --partitions K`` or ``bench/synth.py --out DIR.parquet``).

How it works:

* the small layers (province, rivers, parks, projects) are read into the
  client and sent to every task;
* the large layers (plots, parcels, clearance events) are dask-geopandas
  frames with one partition per GeoParquet part;
* each partition is computed with the **same in-memory functions** as the
  default engine (:func:`kcn_gis.analytics.fill_rates`,
  :func:`kcn_gis.clearance.clearance_progress`), and the additive results
  (hectares, counts) are summed across partitions; ratios are recomputed from
  the sums. So both engines follow one definition and agree to rounding
  (well below 1e-6 ha);
* clearance events are co-partitioned with their parcels (part *i* of both),
  so the per-parcel stage needs no shuffle; for other layouts both tables are
  hash-shuffled on ``parcel_id`` first.

Schedulers: ``scheduler=None`` starts a local cluster (2 worker processes, one
thread each) for the call; ``"tcp://HOST:PORT"`` connects to a running
``dask scheduler`` (see ``docs/scale.md``); a ``distributed.Client`` is used
as is; ``"threads"`` starts an in-process cluster (tests, notebooks).
Every worker must be able to read the parquet directory (a shared file
system or object store path).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

import kcn_gis.progress as kcn_progress
from kcn_gis import compiled, cores
from kcn_gis.analytics import balance, fill
from kcn_gis.analytics.banks import DUONG, split_banks
from kcn_gis.analytics.fill import with_park_names
from kcn_gis.analytics.pieces import GroupBy
from kcn_gis.clearance import progress
from kcn_gis.clearance.history import STATE_COLUMNS
from kcn_gis.dates import DateLike, as_of_date
from kcn_gis.errors import KcnGisError, MissingDependencyError
from kcn_gis.schema import Col, LandUse, Layer
from kcn_gis.store.geoparquet import layer_parts, read_layer, read_manifest, read_part

__all__ = [
    "clearance_progress_dask",
    "clearance_progress_parts",
    "copartitioned",
    "dask_client",
    "fill_rates_dask",
    "river_balance_dask",
]

log = logging.getLogger(__name__)

_FILL_SUMS = ("planned_ha", "acquired_ha", "leased_ha")


def _require_dask() -> None:
    try:
        import dask.dataframe  # noqa: F401
        import dask_geopandas  # noqa: F401
        import distributed  # noqa: F401
    except ImportError as exc:
        raise MissingDependencyError.for_extra(exc.name or "dask-geopandas", "dask", "The Dask engine") from exc


@contextlib.contextmanager
def dask_client(scheduler: Any = None, *, n_workers: int = 2, threads_per_worker: int = 1) -> Iterator[Any]:
    """A ``distributed.Client`` for the engine, closed afterwards if this function started it.

    Parameters
    ----------
    scheduler : None, str or distributed.Client
        ``None`` or ``"local"``: a local cluster of ``n_workers`` processes for
        the duration of the call. ``"threads"``: an in-process cluster (one
        worker, ``n_workers`` threads). ``"tcp://HOST:PORT"`` (or ``tls://``):
        connect to that scheduler. A ``Client``: used as is and left open.
    """
    _require_dask()
    from distributed import Client, LocalCluster

    if isinstance(scheduler, Client):
        yield scheduler
        return
    # the dashboard on a free port: 8787 may be held by another run on the same machine
    if scheduler is None or scheduler == "local":
        cluster = LocalCluster(
            n_workers=n_workers, threads_per_worker=threads_per_worker, processes=True, dashboard_address=":0"
        )
    elif scheduler == "threads":
        cluster = LocalCluster(n_workers=1, threads_per_worker=n_workers, processes=False, dashboard_address=":0")
    elif isinstance(scheduler, str) and "://" in scheduler:
        log.info("connecting to the Dask scheduler %s", scheduler)
        client = Client(scheduler)
        try:
            yield client
        finally:
            client.close()
        return
    else:
        raise KcnGisError(
            f"scheduler={scheduler!r}: use None (a local cluster), 'threads', 'tcp://HOST:PORT' or a distributed.Client"
        )
    client = Client(cluster)
    if kcn_progress.enabled():  # on a terminal, unless --quiet: where to watch the cluster work
        print(f"Dask dashboard: {client.dashboard_link}", file=sys.stderr)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def _compute(client: Any, work: Any, desc: str) -> Any:
    """``client.compute(work, sync=True)``, with Dask's progress bar of the tasks on a terminal.

    The bar (``distributed.progress``) is drawn on standard error, and only when
    :func:`kcn_gis.progress.enabled` (a terminal, no ``--quiet``), so piped output stays clean.
    """
    if not kcn_progress.enabled():
        return client.compute(work, sync=True)
    from distributed import progress as dask_progress

    futures = client.compute(work)
    print(f"{desc}: {client.dashboard_link}", file=sys.stderr)
    with contextlib.redirect_stdout(sys.stderr):  # the text bar writes to stdout
        dask_progress(futures)
        print(file=sys.stderr)
    return client.gather(futures)


def _check_dir(parquet_dir: str | os.PathLike[str]) -> Path:
    path = Path(parquet_dir)
    read_manifest(path)  # raises StoreError with a hint when it is not a partitioned atlas
    return path


def _read_spatial_part(path: str, columns: list[str] | None = None) -> gpd.GeoDataFrame:
    if columns is not None and Col.GEOMETRY not in columns:
        columns = [*columns, Col.GEOMETRY]
    return gpd.read_parquet(path, columns=columns)


def _read_table_part(path: str, columns: list[str] | None = None) -> pd.DataFrame:
    return pd.read_parquet(path, columns=columns)


def _read_ddf(directory: Path, layer: Layer, columns: Sequence[str] | None = None) -> Any:
    """A dask(-geopandas) frame with exactly one partition per GeoParquet part, in part order."""
    import dask.dataframe as dd
    import dask_geopandas  # noqa: F401  (registers the dask-geopandas collections)
    import pyarrow.compute as pc

    parts = [str(p) for p in layer_parts(directory, layer)]
    spatial = layer not in (Layer.CLEARANCE_EVENTS, Layer.PROJECTS)
    cols = None if columns is None else list(columns)
    if spatial and cols is not None and Col.GEOMETRY not in cols:
        cols = [*cols, Col.GEOMETRY]
    # the empty frame with the parts' columns and dtypes: a filter that is always false reads no rows
    reader = gpd.read_parquet if spatial else pd.read_parquet
    meta = reader(parts[0], columns=cols, filters=pc.scalar(False))
    func = _read_spatial_part if spatial else _read_table_part
    return dd.from_map(func, parts, columns=cols, meta=meta, label=f"read-{layer}")


# -- fill rates -------------------------------------------------------------------------------------------------------
def _fill_part(plots: gpd.GeoDataFrame, parks: gpd.GeoDataFrame, banks: Any, kw: dict[str, Any]) -> pd.DataFrame:
    with cores.limit(1):  # a task is one core's work: the other cores run the other workers
        return fill.fill_rates(plots, parks, banks=banks, **kw)


def _sum_fill(parts: pd.DataFrame, key: str, template: pd.DataFrame) -> pd.DataFrame:
    """Sum per-partition hectares by key (in the template's key order); :func:`fill.finish` adds the rates."""
    sums = parts.groupby(key, sort=False)[list(_FILL_SUMS)].sum()
    out = template[[key]].copy()
    for c in _FILL_SUMS:
        out[c] = sums[c].reindex(out[key].to_numpy()).fillna(0.0).to_numpy()
    return fill.finish(out)


def _fill_ddf(
    directory: Path, parks: gpd.GeoDataFrame, banks: Any, kw: dict[str, Any]
) -> tuple[Any, pd.DataFrame, str]:
    plots = _read_ddf(directory, Layer.PLOTS)
    template = fill.fill_rates(plots._meta, parks, banks=banks, **kw)
    key = str(template.columns[0])
    parts = plots.map_partitions(_fill_part, parks, banks, kw, meta=template.iloc[:0])
    return parts, template, key


def fill_rates_dask(
    parquet_dir: str | os.PathLike[str],
    *,
    as_of: DateLike | None = None,
    by: GroupBy = "park",
    parks_included: str = "operating",
    land_uses: Sequence[str] = (str(LandUse.INDUSTRIAL),),
    river: str = DUONG,
    province_name: str | None = None,
    scheduler: Any = None,
) -> pd.DataFrame:
    """:func:`kcn_gis.analytics.fill_rates` on a partitioned GeoParquet atlas, with Dask.

    Parameters
    ----------
    parquet_dir : path
        A partitioned atlas (:func:`kcn_gis.store.geoparquet.write_partitioned`),
        in a projected CRS (EPSG:9209, metres). Every worker must be able to read it.
    as_of, by, parks_included, land_uses, province_name
        As for :func:`~kcn_gis.analytics.fill_rates`. ``by="bank"`` splits the
        province with :func:`~kcn_gis.analytics.split_banks` along ``river``.
    river : str, default "Sông Đuống"
        The river for ``by="bank"``.
    scheduler : None, str or distributed.Client
        See :func:`dask_client` (default: a local 2-process cluster).

    Returns
    -------
    DataFrame
        The same columns and rows as the in-memory function (hectares and fractions 0-1).
    """
    _require_dask()
    directory = _check_dir(parquet_dir)
    parks = read_layer(directory, Layer.PARKS)
    banks = None
    if by == "bank":
        banks = split_banks(read_layer(directory, Layer.PROVINCE), read_layer(directory, Layer.RIVERS), river=river)
    kw = {
        "as_of": as_of_date(as_of),
        "by": by,
        "parks_included": parks_included,
        "land_uses": tuple(land_uses),
        "province_name": province_name,
    }
    parts, template, key = _fill_ddf(directory, parks, banks, kw)
    with dask_client(scheduler) as client:
        computed = _compute(client, parts, "fill rates")
    out = _sum_fill(computed, key, template)
    return with_park_names(out, parks) if by == "park" else out


def _with_project(plots: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return plots[plots[Col.PROJECT_ID].notna().to_numpy()]


# -- river balance ----------------------------------------------------------------------------------------------------
def river_balance_dask(
    parquet_dir: str | os.PathLike[str],
    *,
    as_of: DateLike | None = None,
    river: str = DUONG,
    parks_included: str = "operating",
    land_uses: Sequence[str] = (str(LandUse.INDUSTRIAL),),
    scheduler: Any = None,
) -> pd.DataFrame:
    """:func:`kcn_gis.analytics.river_balance` on a partitioned GeoParquet atlas, with Dask.

    The planned, acquired and leased land per bank (clipping every plot to its
    park and splitting it by the river) is computed partition by partition on
    the cluster. Parks, projects and the plots that carry a project (to place
    projects on the banks by area share) are small and are handled in memory.

    Parameters
    ----------
    parquet_dir : path
        A partitioned atlas in a projected CRS (EPSG:9209, metres).
    as_of, river, parks_included, land_uses
        As for :func:`~kcn_gis.analytics.river_balance`.
    scheduler : None, str or distributed.Client
        See :func:`dask_client`.

    Returns
    -------
    DataFrame
        One row per bank, the same columns as the in-memory function.
    """
    _require_dask()
    directory = _check_dir(parquet_dir)
    province = read_layer(directory, Layer.PROVINCE)
    rivers = read_layer(directory, Layer.RIVERS)
    parks = read_layer(directory, Layer.PARKS)
    projects = read_layer(directory, Layer.PROJECTS)
    d = as_of_date(as_of)
    banks = split_banks(province, rivers, river=river)
    kw = {
        "as_of": d,
        "by": "bank",
        "parks_included": parks_included,
        "land_uses": tuple(land_uses),
        "province_name": None,
    }
    parts, template, key = _fill_ddf(directory, parks, banks, kw)
    plots = _read_ddf(directory, Layer.PLOTS)
    with_project = plots.map_partitions(_with_project, meta=plots._meta)
    with dask_client(scheduler) as client:
        computed, project_plots = _compute(client, [parts, with_project], "river balance")
    fill_sums = _sum_fill(computed, key, template)
    out = balance.river_balance(
        province,
        rivers,
        parks,
        project_plots,
        projects,
        as_of=d,
        river=river,
        parks_included=parks_included,
        land_uses=land_uses,
    )
    pos = pd.Index(fill_sums[key].astype(object)).get_indexer(out[key].astype(object))
    for c in (*_FILL_SUMS, "fill_rate_planned", "fill_rate_acquired"):
        out[c] = fill_sums[c].to_numpy()[pos]
    return balance.finish(out)


# -- clearance progress -----------------------------------------------------------------------------------------------
def _progress_part(parcels: gpd.GeoDataFrame, events: pd.DataFrame, kw: dict[str, Any]) -> pd.DataFrame:
    with cores.limit(1):
        return progress.clearance_progress(events, parcels, **kw)


def _columns_of(part: str) -> list[str]:
    import pyarrow.parquet as pq

    return list(pq.read_schema(part).names)


def _load_kernels() -> None:
    """Import the compiled parcel areas and stage pass in this worker (once; nothing without numba).

    A worker computes many parts: the 0.5-0.8 s numba costs to load once saves about 0.17 s of each
    500,000-parcel part. In-memory runs load it only for very large inputs (see
    :func:`kcn_gis.store.arrow.wkb_polygon_area`).
    """
    if not compiled.wanted(1, use_from=0, load_from=0):  # numba installed and not turned off
        return
    try:
        import kcn_gis.clearance._state_numba
        import kcn_gis.store._wkb_numba  # noqa: F401
    except ImportError:
        return


def _read_progress_parts(
    parcel_part: str, event_part: str, event_columns: list[str], crs: Any
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """The parcels and events of one co-partitioned pair of parts, as far as the stages need them."""
    parcels = read_part(
        parcel_part, Layer.PARCELS, columns=[Col.PARCEL_ID, Col.PARK_ID], crs=crs, categorical=[Col.PARK_ID]
    )
    events = read_part(
        event_part,
        Layer.CLEARANCE_EVENTS,
        columns=event_columns,
        defer=[c for c in (Col.EVENT_ID, Col.CORRECTS_EVENT_ID) if c in event_columns],  # only for corrections
        categorical=[Col.EVENT],
    )
    return parcels, events


def _event_columns(directory: Path) -> list[str]:
    present = set(_columns_of(str(layer_parts(directory, Layer.CLEARANCE_EVENTS)[0])))
    return [c for c in STATE_COLUMNS if c in present]  # corrects_event_id may be absent


def copartitioned(parquet_dir: str | os.PathLike[str]) -> bool:
    """Whether a partitioned GeoParquet atlas keeps each parcel's events in the part of the parcel.

    ``kcn-gis export --to geoparquet`` and ``bench/synth.py`` write atlases so (the manifest says it);
    corrections name events of their own parcel (the sheet import refuses others; ``kcn-gis validate``
    reports them as ``correction_other_parcel``), so every part's stages can be derived from that part alone.
    """
    directory = Path(parquet_dir)
    try:
        manifest = read_manifest(directory)
        n_parcels = len(layer_parts(directory, Layer.PARCELS))
        n_events = len(layer_parts(directory, Layer.CLEARANCE_EVENTS))
    except (KcnGisError, OSError):
        return False
    linked = manifest.get("copartitioned", {}).get(str(Layer.CLEARANCE_EVENTS)) == str(Layer.PARCELS)
    return bool(linked and n_parcels == n_events and n_parcels > 0)


def clearance_progress_parts(
    parquet_dir: str | os.PathLike[str],
    *,
    as_of: DateLike | None = None,
    park: str | Iterable[str] | None = None,
    threads: int | None = None,
) -> pd.DataFrame:
    """:func:`kcn_gis.clearance.clearance_progress` on a co-partitioned GeoParquet atlas, part by part, here.

    No Dask: each pair of parts (parcels and their events) is read and its parcels' stages derived in
    a thread of this process, reading only the columns the stages need (as the Dask engine's tasks
    do); the per-parcel rows of all parts are then summed once, in layer order, so the result is the
    same frame, bit for bit, as ``clearance_progress(atlas.clearance_events, atlas.parcels, ...)`` on
    the whole atlas. ``kcn-gis clearance progress`` uses it for such atlases.

    Parameters
    ----------
    parquet_dir : path
        A partitioned atlas with co-partitioned events (:func:`copartitioned`); parcels in a
        projected CRS (EPSG:9209, metres).
    as_of, park
        As for :func:`~kcn_gis.clearance.clearance_progress` (park names resolve against the parks layer).
    threads : int, optional
        Parts read and derived at once. Default: the available cores (:func:`kcn_gis.cores.available`).

    Returns
    -------
    DataFrame
        One row per park (areas in ha), as :func:`~kcn_gis.clearance.clearance_progress`.

    Raises
    ------
    KcnGisError
        If the atlas is not co-partitioned (use ``open_atlas(...)`` and the in-memory function, or
        :func:`clearance_progress_dask`, which shuffles).
    """
    from concurrent.futures import ThreadPoolExecutor

    directory = _check_dir(parquet_dir)
    if not copartitioned(directory):
        raise KcnGisError(
            f"{directory}: clearance events are not co-partitioned with parcels; compute on the opened atlas "
            "(kcn_gis.open_atlas) or re-export it with kcn-gis export --to geoparquet --partitions K"
        )
    crs = read_manifest(directory).get("crs")
    columns = _event_columns(directory)
    when = as_of_date(as_of)
    pairs = list(
        zip(
            [str(p) for p in layer_parts(directory, Layer.PARCELS)],
            [str(p) for p in layer_parts(directory, Layer.CLEARANCE_EVENTS)],
            strict=True,
        )
    )

    def rows(pair: tuple[str, str]) -> tuple[pd.Series, np.ndarray, np.ndarray, np.ndarray]:
        with cores.limit(1):  # one part per core: the part's reads and lookups stay in its thread
            parcels, events = _read_progress_parts(*pair, columns, crs)
            return progress.parcel_rows(events, parcels, as_of=when)

    n = max(1, min(threads or cores.available(), len(pairs)))
    desc = "clearance progress, parts"
    if n > 1:
        with ThreadPoolExecutor(n, thread_name_prefix="kcn_gis-part") as pool:
            done = list(kcn_progress.track(pool.map(rows, pairs), desc=desc, total=len(pairs), unit="part"))
    else:
        done = list(kcn_progress.track(map(rows, pairs), desc=desc, total=len(pairs), unit="part"))
    park_ids = pd.api.types.union_categoricals([pd.Categorical(d[0]) for d in done], ignore_order=True)
    known = read_layer(directory, Layer.PARKS)
    known = known[[c for c in (Col.PARK_ID, Col.NAME, Col.NAME_EN) if c in known.columns]]
    return progress.progress_of_rows(
        park_ids,
        np.concatenate([d[1] for d in done]),
        np.concatenate([d[2] for d in done]),
        np.concatenate([d[3] for d in done]),
        park=park,
        parks=known if park is not None else None,
    )


def _progress_of_parts(
    parcel_part: str, event_part: str, event_columns: list[str], crs: Any, kw: dict[str, Any]
) -> pd.DataFrame:
    """Progress of one co-partitioned pair of parts, read and computed in one task.

    Only the columns the stages need are read, each part in this task's thread (a worker is one
    core's work): event kinds and park ids from the files' dictionaries, event ids only if a
    correction names one. The parcel geometries stay WKB: their areas come from the bytes (the same
    values as shapely's), so no shape is built.
    """
    _load_kernels()
    with cores.limit(1):
        parcels, events = _read_progress_parts(parcel_part, event_part, event_columns, crs)
        return progress.clearance_progress(events, parcels, **kw)


def _bucket(frame: pd.DataFrame, k: int) -> pd.DataFrame:
    out = frame.copy()
    ids = out[Col.PARCEL_ID].astype(object).to_numpy()
    out["_bucket"] = (pd.util.hash_array(ids) % np.uint64(k)).astype("int64")
    return out


def _drop_bucket(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns="_bucket")


def clearance_progress_dask(
    parquet_dir: str | os.PathLike[str],
    *,
    as_of: DateLike | None = None,
    park: str | Iterable[str] | None = None,
    scheduler: Any = None,
) -> pd.DataFrame:
    """:func:`kcn_gis.clearance.clearance_progress` on a partitioned GeoParquet atlas, with Dask.

    Each parcel part is processed with its co-partitioned events (no shuffle);
    for other layouts both tables are hash-shuffled on ``parcel_id`` first.
    Counts and hectares are summed per park across partitions and
    ``handed_over_share`` is recomputed.

    Parameters
    ----------
    parquet_dir : path
        A partitioned atlas; parcels in a projected CRS (EPSG:9209, metres).
    as_of, park
        As for :func:`~kcn_gis.clearance.clearance_progress`.
    scheduler : None, str or distributed.Client
        See :func:`dask_client`.

    Returns
    -------
    DataFrame
        One row per park, the same columns as the in-memory function (areas in ha).
    """
    _require_dask()
    directory = _check_dir(parquet_dir)
    manifest = read_manifest(directory)
    parcels = _read_ddf(directory, Layer.PARCELS, [Col.PARCEL_ID, Col.PARK_ID])
    event_parts = [str(p) for p in layer_parts(directory, Layer.CLEARANCE_EVENTS)]
    present = set(_columns_of(event_parts[0]))
    event_columns = [c for c in STATE_COLUMNS if c in present]  # recorded_at, corrects_event_id may be absent
    events = _read_ddf(directory, Layer.CLEARANCE_EVENTS, event_columns)
    wanted = None
    kw: dict[str, Any] = {"as_of": as_of_date(as_of), "park": None}
    if park is not None:  # resolved once, as the in-memory function does (ids without case, names)
        known = read_layer(directory, Layer.PARKS)
        known = known[[c for c in (Col.PARK_ID, Col.NAME, Col.NAME_EN) if c in known.columns]]
        present = pd.Index(parcels[Col.PARK_ID].dropna().unique().compute())
        wanted = progress.requested_parks(park, present, known)
        kw = {"as_of": kw["as_of"], "park": wanted, "parks": known}
    template = progress.clearance_progress(events._meta, parcels._meta, **kw)
    aligned = (
        manifest.get("copartitioned", {}).get(str(Layer.CLEARANCE_EVENTS)) == str(Layer.PARCELS)
        and parcels.npartitions == events.npartitions
    )
    import dask.dataframe as dd

    if aligned:  # one task per pair of parts: read what the stages need and compute, nothing moves between tasks
        parts = dd.from_map(
            _progress_of_parts,
            [str(p) for p in layer_parts(directory, Layer.PARCELS)],
            event_parts,
            event_columns=event_columns,  # not 'columns': from_map takes that for a projection
            crs=manifest.get("crs"),
            kw=kw,
            meta=template.iloc[:0],
            label="clearance-progress",
            enforce_metadata=False,
        )
    else:
        log.info("clearance events are not co-partitioned with parcels: shuffling both on parcel_id")
        k = max(parcels.npartitions, events.npartitions)
        parcels = parcels.map_partitions(_bucket, k).shuffle(on="_bucket", npartitions=k)
        events = events.map_partitions(_bucket, k).shuffle(on="_bucket", npartitions=k)
        parcels = parcels.map_partitions(_drop_bucket)
        events = events.map_partitions(_drop_bucket)
        parts = dd.map_partitions(_progress_part, parcels, events, kw, meta=template.iloc[:0], align_dataframes=False)
    with dask_client(scheduler) as client:
        computed = _compute(client, parts, "clearance progress")
    additive = [c for c in template.columns if c not in ("park_id", "handed_over_share")]
    sums = computed.groupby("park_id", sort=wanted is None)[additive].sum()
    order = wanted if wanted is not None else sorted(str(p) for p in sums.index)
    sums = sums.reindex(order)
    out = pd.DataFrame({"park_id": pd.array(order, dtype="str")})
    for c in additive:
        out[c] = sums[c].fillna(0).astype(template[c].dtype).to_numpy()
    return progress.finish(out)[list(template.columns)]
