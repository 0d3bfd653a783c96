"""Run the audit (and site selection) for every region of a province on Dask distributed.

:func:`run_batch` prepares the work on the driver (the shared road network as
memory-mappable arrays, every region's homes and the facilities as Parquet, a content hash
per region), sends one small :class:`~coverage.batch.task.RegionTask` per region to the
workers, follows them as they finish (progress, homes per second, ETA) and rolls the
regions' Parquet rows up into the province tables (:mod:`coverage.batch.rollup`).

Scheduler: ``None`` starts a :class:`distributed.LocalCluster` of worker *processes* (one
thread each); an address (``"tcp://host:8786"``) uses a running scheduler, so the same call
runs on dask-jobqueue, Kubernetes or a cloud cluster (the output and work folders must then
be on a file system every worker sees); ``"sync"`` runs the regions one after another in
this process (debugging, tests, the single-process baseline).

Faults: a region whose data is bad fails alone (its error is in the roll-up); a worker that
dies mid-task is replaced and its task retried by the scheduler (``retries``); a rerun skips
every region whose inputs (network, its homes, the facilities of its halo, the rules) have
not changed, so a province run resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .. import __version__
from ..audit.run import options_from
from ..audit.summary import demand_weights
from ..config import AuditConfig
from ..engine.diagnostics import check_extent, layer_transformer, points_xy
from ..engine.network import RoadNetwork
from ..errors import InputFileError, ParameterError
from ..publish.atomic import atomic_write_bytes
from .clip import halo_m, widened, write_shared_network
from .regions import Regions, assign_homes
from .task import RegionTask, SitingSpec, run_region

__all__ = ["BatchOptions", "BatchResult", "run_batch", "split_budget"]

logger = logging.getLogger(__name__)

#: the batch's own format version (part of every region's content hash)
BATCH_VERSION = 2
Progress = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class BatchOptions:
    """How a batch runs.

    Parameters
    ----------
    scheduler
        ``None``: a new LocalCluster of ``n_workers`` processes; an address
        (``"tcp://host:8786"``): that scheduler; ``"sync"``: in this process, one region after
        another.
    n_workers, memory_limit
        The LocalCluster's worker processes and each one's memory limit (``"2GB"``; default
        Dask's share of the machine).
    halo_m
        The halo around each region (default the search cutoff plus the snap tolerance,
        which makes the result exact: :mod:`coverage.batch.clip`). A smaller one is only for
        showing what goes wrong without it.
    home_region_only
        Homes may use only the facilities of their own region (default: the nearest one,
        whichever county runs it).
    region_maps
        Write each region's interactive map (``regions/<region>/map.html``).
    siting, budget
        Site selection in every region (:class:`~coverage.batch.task.SitingSpec`); with a
        ``budget``, that many new sites for the whole province, split among the regions by
        their uncovered older people (:func:`split_budget`).
    weight_col, target, target_rule
        Population column, coverage target (share) and the rule it is checked on.
    resume
        Skip regions whose inputs are unchanged since the last run into the same folder.
    retries
        How often the scheduler retries a region whose worker died.
    work_dir
        Where the prepared inputs go (default ``<out>/_work``).
    report
        Also write the province report (``province_report.html``).
    title, run_date
        Shown in the outputs.
    """

    scheduler: str | None = None
    n_workers: int = 2
    memory_limit: str | None = None
    halo_m: float | None = None
    home_region_only: bool = False
    region_maps: bool = True
    siting: SitingSpec | None = None
    budget: int | None = None
    weight_col: str | None = None
    target: float | None = None
    target_rule: str = "radius"
    resume: bool = True
    retries: int = 2
    work_dir: str | None = None
    report: bool = False
    title: str = "省级养老服务设施覆盖评估 Province elderly-care coverage"
    run_date: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.n_workers, int) or self.n_workers < 1:
            raise ParameterError(f"n_workers={self.n_workers!r} (--workers) must be a whole number of at least 1")
        if self.halo_m is not None and not (self.halo_m >= 0):
            raise ParameterError(f"halo_m={self.halo_m!r} (--halo) must be a distance in metres, 0 or more")
        if self.budget is not None and (self.budget < 0 or self.siting is None):
            raise ParameterError("budget (--budget) needs a site model (--model) and must be 0 or more")
        if self.target is not None and not (0 <= self.target <= 1):
            raise ParameterError(f"target={self.target} (--target) must be a share between 0 and 1")


@dataclass(frozen=True, eq=False)
class BatchResult:
    """A finished batch: the per-region table, the province totals, the homes outside every
    region, each region's summary (errors included) and the files written."""

    table: pd.DataFrame
    totals: dict[str, Any]
    outside: gpd.GeoDataFrame
    summaries: list[dict[str, Any]]
    regions: Regions
    out_dir: Path
    rows_files: list[Path]
    seconds: float
    paths: dict[str, Path]
    meta: dict[str, Any]

    @property
    def failed(self) -> pd.DataFrame:
        """The regions that failed, with their errors."""
        return self.table[self.table["status"] == "failed"][["region_id", "region_name", "error"]]

    def rows(self, columns: list[str] | None = None) -> pd.DataFrame:
        """Every home's row, read back from the regions' Parquet files."""
        from .rollup import read_rows

        return read_rows(self.rows_files, columns)


def split_budget(need: np.ndarray, budget: int) -> np.ndarray:
    """Split ``budget`` new sites among regions in proportion to ``need`` (uncovered older
    people), by largest remainders (Hamilton): whole numbers summing to ``budget``; ties go
    to the region listed first. No need anywhere: nothing is allocated."""
    need = np.maximum(np.asarray(need, dtype=float), 0.0)
    if budget <= 0 or need.sum() <= 0:
        return np.zeros(len(need), dtype=np.int64)
    quota = need / need.sum() * budget
    base = np.floor(quota).astype(np.int64)
    left = int(budget - base.sum())
    order = np.lexsort((np.arange(len(need)), -(quota - base)))
    base[order[:left]] += 1
    return base


# --------------------------------------------------------------------------- preparation
def _hash(*parts: Any) -> str:
    h = hashlib.blake2b(digest_size=16)
    for p in parts:
        h.update(p if isinstance(p, bytes) else json.dumps(p, sort_keys=True, default=str, ensure_ascii=False).encode())
    return h.hexdigest()


def _row_hashes(frame: gpd.GeoDataFrame) -> np.ndarray:
    """One 64-bit hash per row of the layer's attributes (the facilities: hashed once, the
    subset of each region's halo taken from them)."""
    plain = _attributes(frame)
    if not len(plain.columns):
        return np.zeros(len(frame), dtype=np.uint64)
    return pd.util.hash_pandas_object(plain, index=False).to_numpy()


def _subset_hash(rowhash: np.ndarray, xy: np.ndarray, idx: np.ndarray) -> bytes:
    return hashlib.blake2b(np.ascontiguousarray(xy[idx]).tobytes() + rowhash[idx].tobytes(), digest_size=16).digest()


@dataclass
class _Prepared:
    tasks: list[RegionTask]
    empty: list[dict[str, Any]]
    outside: gpd.GeoDataFrame
    n_homes: int


def _with_ids(facilities: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    f = facilities.to_crs("EPSG:4326").reset_index(drop=True)
    if "id" not in f.columns:
        f = f.assign(id=np.arange(len(f)).astype(str))
    return f


def _prepare(net: RoadNetwork, facilities: gpd.GeoDataFrame, demand: gpd.GeoDataFrame, regions: Regions,
             out: Path, cfg: AuditConfig, opts: BatchOptions, on_task: Callable[[RegionTask], None] | None = None) -> _Prepared:  # fmt: skip
    # everything that can be refused is refused before anything is written
    fac = _with_ids(facilities)
    fll, fxy = _coordinates(fac, net.crs)
    dem = demand.to_crs("EPSG:4326").reset_index(drop=True)
    dem = dem.assign(row=np.arange(len(dem)))
    dll, dxy = _coordinates(dem, net.crs)
    check_extent(net, facilities, fxy, cfg.snap_tolerance_m, label="facilities")
    check_extent(net, demand, dxy, cfg.snap_tolerance_m, label="demand points")
    where = assign_homes(regions, dem, dxy, net.crs)
    if (where < 0).all():
        raise InputFileError(
            f"{regions.source}: none of the {len(dem):,} demand points lies in any region. Fix: check that the regions "
            "cover the demand and share its coordinate system (--regions-coord-system gcj02 for Amap/Tencent outlines)"
        )
    work = Path(opts.work_dir) if opts.work_dir else out / "_work"
    (work / "demand").mkdir(parents=True, exist_ok=True)
    net_hash = write_shared_network(net, work / "network")
    fac_file = work / "facilities.parquet"
    _write_points(_attributes(fac), fll, fac_file)
    dplain = _attributes(dem)
    halo = opts.halo_m if opts.halo_m is not None else halo_m(cfg.search_cutoff_m, cfg.snap_tolerance_m)
    outlines = regions.geometry.to_crs(net.crs).to_numpy()
    common = {"net": net_hash, "config": cfg.as_record(), "halo": halo, "home_only": opts.home_region_only,
              "maps": opts.region_maps, "version": [__version__, BATCH_VERSION], "weight": opts.weight_col}  # fmt: skip
    frow = _row_hashes(fac)
    # where every facility stands (straight-line distances are measured to all of them);
    # the attributes count only for the facilities of a region's halo
    common["facilities"] = hashlib.blake2b(np.ascontiguousarray(fxy).tobytes(), digest_size=16).hexdigest()
    tasks, empty = [], []
    # the homes grouped by region in one stable sort (radix for up to 32,767 regions)
    key = where.astype(np.int16) if len(regions) < np.iinfo(np.int16).max else where
    order = np.argsort(key, kind="stable")
    bounds = np.searchsorted(key[order], np.arange(len(regions) + 1))
    for r, (rid, name, sl) in enumerate(zip(regions.ids, regions.names, regions.slugs)):
        idx = order[bounds[r] : bounds[r + 1]]  # ascending, as np.flatnonzero(where == r)
        if len(idx) == 0:
            empty.append({"region_id": str(rid), "region_name": str(name), "slug": sl, "status": "empty",
                          "error": "no demand point lies in this region", "n_homes": 0})  # fmt: skip
            continue
        area = shapely.buffer(outlines[r], widened(halo + cfg.snap_tolerance_m))
        near = shapely.intersects_xy(area, fxy[:, 0], fxy[:, 1])
        wkb = shapely.to_wkb(outlines[r])
        # the region's homes as the worker will read them: their Parquet bytes are hashed
        # (attributes and coordinates, to the last bit) and written unless unchanged
        data = _points_parquet(dplain.iloc[idx], dll[idx])
        homes_hash = hashlib.blake2b(data, digest_size=16).digest()
        ihash = _hash(common, wkb, homes_hash, _subset_hash(frow, fxy, np.flatnonzero(near)))
        dfile = work / "demand" / f"{sl}.parquet"
        if not (opts.resume and _unchanged(out, sl, ihash) and dfile.exists()):
            atomic_write_bytes(dfile, data, overwrite=True)
        tasks.append(RegionTask(
            position=r, region_id=str(rid), region_name=str(name), slug=sl, outline_wkb=wkb, network_dir=str(work / "network"),
            demand_file=str(dfile), facilities_file=str(fac_file), out_dir=str(out), config=cfg, weight_col=opts.weight_col,
            input_hash=ihash, halo_m=halo, home_region_only=opts.home_region_only, region_map=opts.region_maps,
            siting=opts.siting if opts.budget is None else None, run_date=opts.run_date, title=opts.title,
            extra={"n_homes": len(idx), "demand_source": str(demand.attrs.get("source") or "demand"),
                   "facilities_source": str(facilities.attrs.get("source") or "facilities")},
        ))  # fmt: skip
        if on_task is not None:  # the workers start on it while the next regions are prepared
            on_task(tasks[-1])
    outside = dem.iloc[np.flatnonzero(where < 0)]
    if len(outside):
        logger.warning("%d demand points lie in no region (listed in outside_regions.csv)", len(outside))
    return _Prepared(tasks, empty, outside, len(dem))


def _coordinates(points: gpd.GeoDataFrame, crs: str) -> tuple[np.ndarray, np.ndarray]:
    """Longitude/latitude and metric coordinates in ``crs`` of a point layer in EPSG:4326,
    read once for all regions: the numbers :func:`~coverage.engine.diagnostics.points_xy`
    gives for the whole layer, to the last bit (the same transformer on the same numbers)."""
    geoms = points.geometry.to_numpy()
    if len(geoms) and not (shapely.get_type_id(geoms) == 0).all():  # not all points: as the readers do
        return points_xy(points, "EPSG:4326"), points_xy(points, crs)
    ll = shapely.get_coordinates(geoms)
    x, y = layer_transformer(points.crs.to_wkt(), str(crs)).transform(ll[:, 0], ll[:, 1])
    return ll, np.column_stack([x, y])


def _attributes(points: gpd.GeoDataFrame) -> pd.DataFrame:
    return pd.DataFrame(points.drop(columns=points.geometry.name))


def _points_parquet(frame: pd.DataFrame, lonlat: np.ndarray) -> bytes:
    """A point layer (its attributes and EPSG:4326 coordinates) as plain Parquet bytes with
    ``__lon``/``__lat`` columns (faster than WKB for millions of points; the same coordinates
    to the last bit)."""
    import io

    buf = io.BytesIO()
    frame.assign(__lon=lonlat[:, 0], __lat=lonlat[:, 1]).to_parquet(buf, index=False)
    return buf.getvalue()


def _write_points(frame: pd.DataFrame, lonlat: np.ndarray, path: Path) -> None:
    """:func:`_points_parquet` written atomically to ``path``."""
    atomic_write_bytes(path, _points_parquet(frame, lonlat), overwrite=True)


def _unchanged(out: Path, slug: str, input_hash: str) -> bool:
    """Whether the region's last run (``summary.json``) used exactly these inputs and succeeded."""
    path = out / "regions" / slug / "summary.json"
    try:
        rec = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    rows = out / "rows" / f"region={slug}" / "part-0.parquet"
    return rec.get("status") == "ok" and rec.get("input_hash") == input_hash and rows.exists()


# --------------------------------------------------------------------------- running
def _has_bokeh() -> bool:
    import importlib.util

    return importlib.util.find_spec("bokeh") is not None


def _dashboard(client: Any) -> str | None:
    """The Dask dashboard's address, when the cluster serves one (it needs bokeh:
    ``pip install 'yanglao-coverage[dashboard]'``); ``None`` otherwise."""
    if client is None:
        return None
    link = client.dashboard_link if (_has_bokeh() or client.cluster is None) else None
    if link:
        logger.info("Dask dashboard: %s", link)
    else:
        logger.info("no Dask dashboard (it needs bokeh: pip install 'yanglao-coverage[dashboard]')")
    return link or None


def _client(opts: BatchOptions) -> tuple[Any, Any]:
    from distributed import Client, LocalCluster

    if opts.scheduler:
        logger.info("connecting to the Dask scheduler at %s ...", opts.scheduler)
        return Client(opts.scheduler, timeout="30s"), None
    cluster = LocalCluster(n_workers=opts.n_workers, threads_per_worker=1, processes=True,
                           dashboard_address=":0",
                           memory_limit=opts.memory_limit or "auto", silence_logs=logging.ERROR)  # fmt: skip
    return Client(cluster), cluster


class _Tracker:
    """Regions done / total, homes per second and the time left, reported as they finish."""

    def __init__(self, total: int, homes: int, progress: Progress | None, dashboard: str | None = None) -> None:
        self.total, self.homes, self.progress, self.dashboard = total, homes, progress, dashboard
        self.done, self.homes_done, self.t0 = 0, 0, time.perf_counter()

    def __call__(self, summary: dict[str, Any]) -> None:
        self.done += 1
        self.homes_done += int(summary.get("n_homes") or 0)
        elapsed = time.perf_counter() - self.t0
        rate = self.homes_done / elapsed if elapsed > 0 else 0.0
        eta = (self.homes - self.homes_done) / rate if rate > 0 else float("nan")
        event = {"done": self.done, "total": self.total, "homes_done": self.homes_done, "homes": self.homes,
                 "homes_per_s": rate, "eta_s": eta, "elapsed_s": elapsed, "region": summary,
                 "dashboard": self.dashboard}  # fmt: skip
        logger.info("region %s: %s (%d/%d regions, %.0f homes/s)", summary.get("region_id"), summary.get("status"),
                    self.done, self.total, rate)  # fmt: skip
        if self.progress is not None:
            self.progress(event)


class _Submitter:
    """Sends each region to the cluster as soon as it is prepared (unless a rerun skips it),
    so the workers run while the driver prepares the next regions."""

    def __init__(self, client: Any, opts: BatchOptions) -> None:
        self.client, self.opts = client, opts
        self.futures: dict[int, Any] = {}

    def __call__(self, t: RegionTask) -> None:
        if self.client is None or (self.opts.resume and _unchanged(Path(t.out_dir), t.slug, t.input_hash)):
            return
        self.send(t)

    def send(self, t: RegionTask) -> Any:
        """Submit ``t`` (once); the largest regions run first (a long task started last would
        keep the other workers waiting)."""
        if t.position not in self.futures:
            self.futures[t.position] = self.client.submit(
                run_region, t, key=f"region-{t.slug}-{t.input_hash[:10]}", retries=self.opts.retries, pure=False,
                priority=int(t.extra.get("n_homes", 0)),
            )
        return self.futures[t.position]


def _execute(tasks: list[RegionTask], track: _Tracker, submit: _Submitter) -> list[dict[str, Any]]:
    if submit.client is None:
        out = []
        for t in tasks:
            s = run_region(t)
            track(s)
            out.append(s)
        return out
    from distributed import as_completed

    futures = {submit.send(t): t for t in tasks}
    results: dict[int, dict[str, Any]] = {}
    for fut in as_completed(futures):
        t = futures[fut]
        try:
            s = fut.result()
        except Exception as exc:  # the worker died more often than retries allow, or the task could not run
            s = {"region_id": t.region_id, "region_name": t.region_name, "slug": t.slug, "status": "failed",
                 "error": f"{type(exc).__name__}: {' '.join(str(exc).split())}", "input_hash": t.input_hash, "n_homes": 0}  # fmt: skip
        results[t.position] = s
        track(s)
    return [results[t.position] for t in tasks]


def _reused(task: RegionTask) -> dict[str, Any]:
    rec = json.loads((task.region_dir / "summary.json").read_text(encoding="utf-8"))
    rec["reused"] = True
    return rec


def _run_tasks(tasks: list[RegionTask], opts: BatchOptions, track: _Tracker, submit: _Submitter) -> list[dict[str, Any]]:
    todo = [t for t in tasks if t.position in submit.futures or not (opts.resume and _unchanged(Path(t.out_dir), t.slug, t.input_hash))]
    done = {t.position: _reused(t) for t in tasks if t not in todo}
    for s in done.values():
        track(s)
    if done:
        logger.info("%d regions unchanged since the last run: skipped", len(done))
    for t, s in zip(todo, _execute(todo, track, submit)):
        done[t.position] = s
    return [done[t.position] for t in tasks]


def _budget_pass(tasks: list[RegionTask], first: list[dict[str, Any]], opts: BatchOptions, track: _Tracker,
                 client: Any) -> list[dict[str, Any]]:  # fmt: skip
    """With a province budget: split it by each region's uncovered people, then propose
    that many sites in every region that gets some."""
    assert opts.siting is not None and opts.budget is not None
    rule = opts.siting.rule if opts.siting.rule in ("radius", "time") else "radius"
    need = np.array([(s.get("weight") or 0) - (s.get(f"weight_covered_{rule}") or 0) if s.get("status") == "ok" else 0 for s in first])
    ks = split_budget(need, opts.budget)
    again = [replace(t, siting=replace(opts.siting, k=int(k)), input_hash=_hash(t.input_hash, asdict(opts.siting), int(k)))
             for t, k in zip(tasks, ks) if k > 0]  # fmt: skip
    logger.info("province budget %d split among %d regions by uncovered people: %s", opts.budget, len(again),
                {t.region_id: t.siting.k for t in again if t.siting})  # fmt: skip
    track.total += len(again)
    track.homes += sum(int(s.get("n_homes") or 0) for t, s in zip(tasks, first) if any(a.position == t.position for a in again))
    redo = {t.position: s for t, s in zip(again, _run_tasks(again, opts, track, _Submitter(client, opts)))}
    return [redo.get(t.position, s) for t, s in zip(tasks, first)]


def run_batch(  # noqa: PLR0913  (the layers of a whole province, its regions, folder, rules and progress)
    network: RoadNetwork,
    facilities: gpd.GeoDataFrame,
    demand: gpd.GeoDataFrame,
    regions: Regions,
    out_dir: str | Path,
    *,
    config: AuditConfig | None = None,
    options: BatchOptions | None = None,
    progress: Progress | None = None,
    candidates: gpd.GeoDataFrame | None = None,
    **keywords: Any,
) -> BatchResult:
    """Audit every region on Dask (see the module docstring) and roll the results up.

    Parameters
    ----------
    network
        The road network of the whole area (one file: OSM, GraphML or a saved network).
    facilities, demand
        Point layers of the whole area, any CRS.
    regions
        :func:`~coverage.batch.regions.regions_from_polygons` or
        :func:`~coverage.batch.regions.regions_from_column`.
    out_dir
        The batch folder: ``rows/region=<region>/`` (GeoParquet, one row per home),
        ``regions/<region>/`` (summary, map, proposed sites) and the province outputs
        (:func:`coverage.batch.rollup.write_province`).
    config
        The rules (as for :func:`~coverage.audit.run.run_audit`).
    options, **keywords
        :class:`BatchOptions` (or its fields as keywords).
    candidates
        Candidate sites of the whole area for the site selection (each region takes those
        inside it); default the centres of each region's clusters of uncovered homes.
    progress
        Called with a dict (``done``, ``total``, ``homes_done``, ``homes``, ``homes_per_s``,
        ``eta_s``, ``region``, ``dashboard``: the Dask dashboard's address or None) each
        time a region finishes.
    """
    opts: BatchOptions = options_from(BatchOptions, options, keywords, "run_batch")
    cfg = config or AuditConfig()
    if len(facilities) == 0:
        raise InputFileError("facilities: the layer has no facilities. Fix: give at least one facility")
    if len(demand) == 0:
        raise InputFileError("demand: the layer has no points")
    t0 = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    wcol = demand_weights(demand, opts.weight_col, "demand")[1]
    opts = replace(opts, weight_col=None if wcol.startswith("count") else wcol)
    if candidates is not None and opts.siting is not None:
        work = Path(opts.work_dir) if opts.work_dir else out / "_work"
        work.mkdir(parents=True, exist_ok=True)
        cand = candidates.to_crs("EPSG:4326").reset_index(drop=True)
        _write_points(_attributes(cand), _coordinates(cand, "EPSG:4326")[0], work / "candidates.parquet")
        opts = replace(opts, siting=replace(opts.siting, candidates_file=str(work / "candidates.parquet")))
    client, cluster = (None, None) if opts.scheduler == "sync" else _client(opts)
    t_cluster = time.perf_counter() - t0
    try:
        dashboard = _dashboard(client)
        submit = _Submitter(client, opts)
        # each region goes to the workers as soon as its inputs are written
        prep = _prepare(network, facilities, demand, regions, out, cfg, opts, on_task=submit)
        t_prep = time.perf_counter() - t0 - t_cluster
        logger.info("%d regions (%d without homes), %d homes, %d facilities; halo %.0f m", len(regions), len(prep.empty),
                    prep.n_homes, len(facilities), prep.tasks[0].halo_m if prep.tasks else 0)  # fmt: skip
        track = _Tracker(len(prep.tasks), prep.n_homes - len(prep.outside), progress, dashboard)
        track.t0 = t0 + t_cluster  # homes per second from the cluster's start, not before it
        summaries = _run_tasks(prep.tasks, opts, track, submit)
        if opts.budget is not None:
            summaries = _budget_pass(prep.tasks, summaries, opts, track, client)
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
    from .rollup import province_result

    t_tasks = time.perf_counter() - t0 - t_cluster - t_prep  # the regions still running once all were prepared
    res = province_result(regions, prep.tasks, summaries + prep.empty, prep.outside, out, cfg, opts,
                          seconds=time.perf_counter() - t0, network=network, raster=demand.attrs.get("raster"))  # fmt: skip
    res.meta.update(cluster_s=t_cluster, prepare_s=t_prep, tasks_s=t_tasks,
                    rollup_s=time.perf_counter() - t0 - t_cluster - t_prep - t_tasks)  # fmt: skip
    return res
