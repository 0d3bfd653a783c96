"""One region's work, run on a Dask worker (or in the driver with ``scheduler="sync"``).

A :class:`RegionTask` is small (paths, the region's outline, the rules): the worker reads
its piece of the shared road network from disk (:class:`~coverage.batch.clip.SharedNetwork`),
its homes and the facilities of its halo from Parquet, audits them
(:func:`coverage.audit.run.run_audit`), optionally proposes sites
(:func:`coverage.siting.propose.propose_sites`) and draws the region's map, writes its
rows as GeoParquet into the hive-partitioned ``rows/region=<slug>/`` folder and its
``summary.json`` last (the marker a rerun reads to skip an unchanged region), and returns
that small summary. Any error in a region's data is caught and returned as the region's
error: one bad county never stops the province.
"""

from __future__ import annotations

import json
import logging
import os
import time
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..config import AuditConfig
from ..engine.diagnostics import points_xy
from ..engine.whatif import straight_line_nearest
from ..errors import CoverageError, CoverageWarning
from ..publish.atomic import atomic_path, atomic_write_text
from .clip import SharedNetwork, widened

__all__ = ["CRASH_ONCE_ENV", "RegionTask", "SitingSpec", "run_region"]

logger = logging.getLogger(__name__)

#: fault injection for tests: ``"<slug>:<marker file>"`` makes the worker running that region
#: exit abruptly once (when the marker does not exist yet), as a killed worker would
CRASH_ONCE_ENV = "COVERAGE_BATCH_CRASH_ONCE"

#: the per-home columns a region writes (besides the demand layer's own id/name/weight)
ROW_COLUMNS = ("facility_id", "dist_m", "time_min", "covered_radius", "covered_time", "within_circle",
               "euclid_m", "false_coverage", "access_m", "status", "weight")  # fmt: skip


@dataclass(frozen=True)
class SitingSpec:
    """Site selection in every region: ``model`` and ``k`` new sites (or ``k_by_region``
    from a province budget), candidates from ``candidates_file`` (inside the region) or, by
    default, the centres of the region's uncovered clusters."""

    model: str = "mclp"
    k: int = 0
    rule: str = "radius"
    time_limit_s: float = 60.0
    candidates_file: str | None = None


@dataclass(frozen=True)
class RegionTask:
    """Everything a worker needs for one region (small: no data, only paths)."""

    position: int
    region_id: str
    region_name: str
    slug: str
    outline_wkb: bytes  # the region, in the network's CRS
    network_dir: str
    demand_file: str
    facilities_file: str
    out_dir: str
    config: AuditConfig
    weight_col: str | None
    input_hash: str
    halo_m: float
    home_region_only: bool = False
    region_map: bool = True
    siting: SitingSpec | None = None
    run_date: str | None = None
    title: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def region_dir(self) -> Path:
        return Path(self.out_dir) / "regions" / self.slug

    @property
    def rows_file(self) -> Path:
        return Path(self.out_dir) / "rows" / f"region={self.slug}" / "part-0.parquet"


def _crash_once(slug: str) -> None:
    spec = os.environ.get(CRASH_ONCE_ENV, "")
    if not spec or ":" not in spec:
        return
    which, marker = spec.split(":", 1)
    if which == slug and not os.path.exists(marker):
        Path(marker).write_text("crashed once\n", encoding="utf-8")
        logger.warning("fault injection: worker exits abruptly while running region %s", slug)
        os._exit(70)


def _reset_peak_rss() -> None:
    """Reset the kernel's peak-resident-memory mark of this process (Linux ≥ 4.0), so the
    region's figure is its own peak, not an earlier region's."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def _peak_rss_mb() -> float:
    """Peak resident memory of this process since :func:`_reset_peak_rss`, MB: the kernel's
    ``VmHWM`` (``ru_maxrss`` would be wrong here: it survives ``exec``, so a worker spawned
    by a large driver would report the driver's size). Memory-mapped network pages count."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return float(line.split()[1]) / 1024.0
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def read_points(path: str | os.PathLike[str]) -> gpd.GeoDataFrame:
    """A point layer written by the driver (Parquet with ``__lon``/``__lat``), in EPSG:4326."""
    frame = pd.read_parquet(path)
    geometry = gpd.points_from_xy(frame.pop("__lon").to_numpy(), frame.pop("__lat").to_numpy())
    return gpd.GeoDataFrame(frame, geometry=geometry, crs="EPSG:4326")


def _atomic_parquet(frame: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path, overwrite=True) as tmp:
        frame.to_parquet(tmp, index=False)


def _atomic_json(record: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(record, ensure_ascii=False, default=str, indent=1), overwrite=True)


def _halo_facilities(task: RegionTask, fxy: np.ndarray, outline: Any) -> np.ndarray:
    """Which facilities a home of the region may reach: those inside ``R ⊕ (H + t)`` (or,
    with ``home_region_only``, inside the region itself)."""
    area = outline if task.home_region_only else shapely.buffer(outline, widened(task.halo_m + task.config.snap_tolerance_m))
    shapely.prepare(area)
    return np.asarray(shapely.intersects_xy(area, fxy[:, 0], fxy[:, 1]))


def _beyond_reach(task: RegionTask, net: Any, demand: gpd.GeoDataFrame, dxy: np.ndarray) -> pd.DataFrame:
    """The audit columns of homes no facility can reach within the search limit, as the
    audit of the whole area gives them: off-road homes unreachable, the others beyond the limit."""
    from ..audit.summary import demand_weights
    from ..engine.engine import Engine

    eng = Engine.build(net, config=task.config, compact=False)
    access = eng.layer(dxy).access_m
    off_road = access > task.config.snap_tolerance_m
    n = len(demand)
    return pd.DataFrame({
        "facility_id": np.full(n, "", dtype=object), "dist_m": np.full(n, np.inf), "time_min": np.full(n, np.inf),
        "covered_radius": np.zeros(n, bool), "covered_time": np.zeros(n, bool), "within_circle": np.zeros(n, bool),
        "euclid_m": np.full(n, np.inf), "false_coverage": np.zeros(n, bool), "access_m": access,
        "status": np.where(off_road, "unreachable", "beyond_cutoff").astype(object),
        "weight": demand_weights(demand, task.weight_col, "demand")[0], "geometry": demand.geometry.to_numpy(),
    })  # fmt: skip


def _straight_line_m(crs: str, fxy: np.ndarray, dxy: np.ndarray) -> np.ndarray:
    """Straight-line distance of every home to the nearest facility, measured as the audit
    measures it (:func:`coverage.engine.whatif.straight_line_nearest`)."""
    from ..engine.network import to_lonlat

    return straight_line_nearest(fxy, to_lonlat(crs, fxy), dxy, to_lonlat(crs, dxy))[0]


def _rows(task: RegionTask, demand: gpd.GeoDataFrame, d: pd.DataFrame, all_fxy: np.ndarray, dxy: np.ndarray, crs: str) -> gpd.GeoDataFrame:
    """The region's per-home rows; the straight-line distance is to the nearest facility of
    the whole area (as the single-process audit measures it), not only of the halo.

    The region's audit already measured it to the facilities of the halo (every facility
    within H + t of the region, the buffer widened for projection error): where that
    distance is at most H + t, no facility outside the halo can be nearer, so it stands;
    the other homes (rare: none within the search limit) are measured to every facility.
    """
    euclid = d["euclid_m"].to_numpy(dtype=float).copy()
    if not task.home_region_only:  # with it, the halo's facilities are all a home may use
        far = ~(euclid <= task.halo_m + task.config.snap_tolerance_m)
        if far.any():
            euclid[far] = _straight_line_m(crs, all_fxy, dxy[far])
    radius = task.config.radius_m
    within = euclid <= radius + 1e-6
    keep = [c for c in ("row", "id", "name") if c in demand.columns]
    out = gpd.GeoDataFrame(demand[keep].reset_index(drop=True), geometry=demand.geometry.to_crs("EPSG:4326").to_numpy(), crs="EPSG:4326")
    out.insert(0, "region_id", task.region_id)
    for col in ROW_COLUMNS:
        out[col] = d[col].to_numpy()
    out["euclid_m"] = euclid
    out["within_circle"] = within
    out["false_coverage"] = within & ~d["covered_radius"].to_numpy()
    return out


def _summary(task: RegionTask, rows: pd.DataFrame, extra: dict[str, Any]) -> dict[str, Any]:
    w = rows["weight"].to_numpy(dtype=float)
    cr, ct = rows["covered_radius"].to_numpy(bool), rows["covered_time"].to_numpy(bool)
    status = rows["status"].astype(str).to_numpy()
    return {
        "region_id": task.region_id, "region_name": task.region_name, "slug": task.slug, "status": "ok", "error": "",
        "input_hash": task.input_hash, "n_homes": len(rows), "weight": float(w.sum()),
        "n_covered_radius": int(cr.sum()), "n_covered_time": int(ct.sum()), "n_covered_both": int((cr & ct).sum()),
        "weight_covered_radius": float(w[cr].sum()), "weight_covered_time": float(w[ct].sum()),
        "weight_covered_both": float(w[cr & ct].sum()),
        "n_unreachable": int((status == "unreachable").sum()), "n_beyond_limit": int((status == "beyond_cutoff").sum()),
        "n_false_coverage": int(rows["false_coverage"].sum()), **extra,
    }  # fmt: skip


def _failure(task: RegionTask, exc: BaseException, started: float) -> dict[str, Any]:
    known = isinstance(exc, (CoverageError, FileNotFoundError, ValueError))
    message = " ".join(str(exc).split()) or type(exc).__name__
    if not known:
        message = f"internal error {type(exc).__name__}: {message}"
        logger.error("region %s failed:\n%s", task.slug, traceback.format_exc())
    return {"region_id": task.region_id, "region_name": task.region_name, "slug": task.slug, "status": "failed",
            "error": message, "input_hash": task.input_hash, "n_homes": 0, "seconds": time.perf_counter() - started,
            "peak_rss_mb": _peak_rss_mb()}  # fmt: skip


def _worker_threads() -> int | None:
    """The threads the scheduler gave the Dask worker running this task (``None`` outside a
    worker: the driver's ``sync`` mode uses every core). A worker keeps to its share, so
    workers sharing a machine do not compete for the same cores; Parquet reading and
    writing (pyarrow's thread pool) follow the same share."""
    try:
        from distributed import get_worker

        n = int(get_worker().state.nthreads)
    except (ImportError, ValueError, AttributeError):
        return None
    import pyarrow as pa

    if pa.cpu_count() != n:
        pa.set_cpu_count(n)
    return n


def run_region(task: RegionTask) -> dict[str, Any]:
    """Audit one region (see the module docstring); returns its summary (also written to
    ``regions/<slug>/summary.json``), with ``status`` ``"ok"`` or ``"failed"`` and the error."""
    from ..engine.threads import limit_threads

    started = time.perf_counter()
    _crash_once(task.slug)
    _reset_peak_rss()
    with warnings.catch_warnings(record=True) as caught, limit_threads(_worker_threads()):
        warnings.simplefilter("always")
        try:
            summary = _run(task, started)
        except Exception as exc:  # the region fails alone; its error goes to the roll-up
            summary = _failure(task, exc, started)
            task.rows_file.unlink(missing_ok=True)
    # the region's data warnings (off-road homes, cut-off pieces ...) go to the roll-up
    notes = list(dict.fromkeys(f"{w.category.__name__}: {' '.join(str(w.message).split())}" for w in caught
                               if issubclass(w.category, CoverageWarning)))  # fmt: skip
    summary["warnings"] = " | ".join(notes)
    _atomic_json(summary, task.region_dir / "summary.json")
    return summary


def _run(task: RegionTask, started: float) -> dict[str, Any]:
    from ..audit.run import run_audit

    outline = shapely.from_wkb(task.outline_wkb)
    shared = SharedNetwork(task.network_dir)
    reach = widened(task.halo_m + 2 * task.config.snap_tolerance_m)
    edges = shared.edges_near(shapely.buffer(outline, reach))
    if len(edges) == 0:
        raise CoverageError(f"region {task.region_id!r}: no road of the network lies within {reach:,.0f} m of it. "
                            "Fix: give a network that covers this region (or leave the region out)")  # fmt: skip
    net = shared.piece(edges, source=f"{shared.manifest.get('source', '')} [region {task.region_id}]")
    t_clip = time.perf_counter() - started
    demand = read_points(task.demand_file)
    facilities = read_points(task.facilities_file)
    demand.attrs["source"] = task.extra.get("demand_source", "demand")  # messages name the user's files
    facilities.attrs["source"] = task.extra.get("facilities_source", "facilities")
    fxy = points_xy(facilities, net.crs)
    dxy = points_xy(demand, net.crs)
    near = _halo_facilities(task, fxy, outline)
    fac = facilities[near]
    res = None
    if len(fac):
        res = run_audit(net, fac, demand, config=task.config, weight_col=task.weight_col, with_service_areas=task.region_map,
                        run_date=task.run_date, title=f"{task.title} — {task.region_name}")  # fmt: skip
        audited = res.demand
    else:  # no facility within reach of the region: every home is beyond the search limit (or off the roads)
        audited = _beyond_reach(task, net, demand, dxy)
    all_fxy = fxy[near] if task.home_region_only else fxy
    rows = _rows(task, demand, audited, all_fxy, dxy, net.crs)
    _atomic_parquet(rows, task.rows_file)
    extra: dict[str, Any] = {"n_nodes": net.n_nodes, "n_edges": net.n_edges, "n_facilities_halo": len(fac), "clip_seconds": t_clip}
    if task.region_map and res is not None:
        _region_map(task, res)
    if task.siting is not None and task.siting.k > 0 and res is not None:
        try:
            extra.update(_siting(task, net, fac, demand, res))
        except CoverageError as exc:  # the audit stands; the proposal's problem is reported with it
            extra.update({"siting_model": task.siting.model, "siting_k": task.siting.k, "siting_status": "failed",
                          "siting_new": 0, "siting_error": " ".join(str(exc).split())})  # fmt: skip
    extra["seconds"] = time.perf_counter() - started
    extra["peak_rss_mb"] = _peak_rss_mb()
    return _summary(task, rows, extra)


def _region_map(task: RegionTask, res: Any) -> None:
    from ..publish.maps import audit_layers, write_map

    task.region_dir.mkdir(parents=True, exist_ok=True)
    write_map(task.region_dir / "map.html", audit_layers(res), overwrite=True)


def _siting(task: RegionTask, net: Any, fac: gpd.GeoDataFrame, demand: gpd.GeoDataFrame, res: Any) -> dict[str, Any]:
    """Propose ``k`` new sites in the region; the proof status and gap go to the roll-up."""
    from ..siting.candidates import gap_clusters
    from ..siting.propose import propose_sites

    spec = task.siting
    assert spec is not None
    flag = "covered_radius" if spec.rule == "radius" else "covered_time"
    if spec.candidates_file:
        cand = read_points(spec.candidates_file)
        outline = shapely.from_wkb(task.outline_wkb)
        cxy = points_xy(cand, net.crs)
        cand = cand[shapely.intersects_xy(outline, cxy[:, 0], cxy[:, 1])]
    else:
        uncovered = res.demand[~res.demand[flag]]
        cand = gap_clusters(uncovered, net, eps_m=task.config.radius_m / 2)[1] if len(uncovered) else uncovered.iloc[:0]
    if len(cand) == 0:
        return {"siting_model": spec.model, "siting_k": spec.k, "siting_status": "no candidates", "siting_new": 0}
    k = min(spec.k, len(cand))  # never more new sites than the region has candidates
    out = propose_sites(net, fac, demand, cand.reset_index(drop=True), model=spec.model, k_new=k, rule=spec.rule,
                        config=task.config, weight_col=task.weight_col, time_limit_s=spec.time_limit_s,
                        with_service_areas=False)  # fmt: skip
    proposed = out.proposed.copy()
    proposed.insert(0, "region_id", task.region_id)
    _atomic_parquet(proposed, task.region_dir / "proposed.parquet")
    meta = out.meta
    before_after = out.before_after
    return {
        "siting_model": spec.model, "siting_k": spec.k, "siting_new": len(proposed),
        "siting_status": str(meta.get("solver_status", "")), "siting_gap": meta.get("solver_gap"),
        "siting_objective": meta.get("solver_objective"), "siting_bound": meta.get("solver_best_bound"),
        "siting_after": json.loads(before_after.to_json(orient="records", force_ascii=False)),
    }  # fmt: skip
