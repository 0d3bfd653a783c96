"""Province-scale batch: a synthetic province from the Hangzhou road network, on Dask.

Reads ``../shared/data/networks/hangzhou_{nodes,edges}.parquet`` (482,083 nodes, 508,817
edges) and lays ``--copies`` copies of it side by side (``--columns`` per row), each joined
to its neighbours by a few link roads, into one network (10 copies: 4.8 M nodes). Homes
(``--homes``, default 10 M) and facilities (``--facilities``, 10 k) are placed on random
edges with a 40 m jitter; regions are ``--regions`` per copy (100 in all), cut like a k-d tree
so that each holds about as many homes (counties are drawn around people).

Reports, in one run (each figure is the wall time of :func:`coverage.batch.run_batch`, from
inputs in memory to the province outputs written):

* single-process audit of the whole province (``run_audit``), when ``--single``;
* the batch on a LocalCluster of 1 worker process, then of 2 (``resume=False``: every
  region runs), with the ratio 2-worker / 1-worker;
* each worker's peak memory (the largest ``ru_maxrss`` a region task saw in its process),
  homes per second.

Run: ``.venv/bin/python benchmarks/bench_batch.py`` (about 5 minutes with the single
process run; ``--homes 1000000 --copies 2`` for a quick look).
"""

from __future__ import annotations

import argparse
import logging
import resource
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

NET_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "networks"
CRS = "EPSG:32651"


def province(copies: int, columns: int, gap_m: float = 2000.0):
    """The synthetic province's RoadNetwork (copies of Hangzhou in a grid, joined by link roads)."""
    from coverage.engine.network import RoadNetwork

    nodes = pd.read_parquet(NET_DIR / "hangzhou_nodes.parquet")
    edges = pd.read_parquet(NET_DIR / "hangzhou_edges.parquet")
    fwd = pyproj.Transformer.from_crs("EPSG:4326", CRS, always_xy=True)
    x, y = fwd.transform(nodes["lon"].to_numpy(), nodes["lat"].to_numpy())
    xy0 = np.column_stack([x, y])
    u0, v0, len0 = edges["u"].to_numpy(np.int64), edges["v"].to_numpy(np.int64), edges["length_m"].to_numpy(np.float64)
    w = xy0[:, 0].max() - xy0[:, 0].min() + gap_m
    h = xy0[:, 1].max() - xy0[:, 1].min() + gap_m
    n0 = len(xy0)
    xys, us, vs, lens = [], [], [], []
    for c in range(copies):
        off = np.array([(c % columns) * w, (c // columns) * h])
        xys.append(xy0 + off)
        us.append(u0 + c * n0)
        vs.append(v0 + c * n0)
        lens.append(len0)
    xy = np.concatenate(xys)
    # link roads: the 3 easternmost nodes of a copy to the 3 westernmost of the next in its row
    east, west = np.argsort(-xy0[:, 0])[:3], np.argsort(xy0[:, 0])[:3]
    for c in range(copies - 1):
        if (c + 1) % columns == 0:
            continue
        a, b = east + c * n0, west + (c + 1) * n0
        us.append(a)
        vs.append(b)
        lens.append(np.hypot(*(xy[a] - xy[b]).T))
    u, v, length = np.concatenate(us), np.concatenate(vs), np.concatenate(lens)
    inv = pyproj.Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
    lon, lat = inv.transform(xy[:, 0], xy[:, 1])
    m = len(u)
    coord_xy = np.empty((2 * m, 2))
    coord_xy[0::2], coord_xy[1::2] = xy[u], xy[v]
    coord_m = np.zeros(2 * m)
    coord_m[1::2] = length
    net = RoadNetwork(crs=CRS, node_xy=xy, node_lonlat=np.column_stack([lon, lat]), node_osmid=np.arange(len(xy), dtype=np.int64),
                      edge_u=u, edge_v=v, edge_len_m=length, edge_ptr=np.arange(0, 2 * m + 1, 2, dtype=np.int64),
                      coord_xy=coord_xy, coord_m=coord_m, source="synthetic province (Hangzhou × %d)" % copies)  # fmt: skip
    return net, (w, h, xy0.min(0))


def points(net, n: int, rng: np.random.Generator, prefix: str, weights: bool) -> gpd.GeoDataFrame:
    e = rng.integers(0, net.n_edges, n)
    f = rng.random(n)
    a, b = net.node_xy[net.edge_u[e]], net.node_xy[net.edge_v[e]]
    p = a + (b - a) * f[:, None] + rng.normal(0, 40.0, (n, 2))
    lon, lat = pyproj.Transformer.from_crs(CRS, "EPSG:4326", always_xy=True).transform(p[:, 0], p[:, 1])
    data = {"id": np.char.add(prefix, np.arange(n).astype(str))}
    if weights:
        data["elderly"] = rng.integers(1, 30, n)
    return gpd.GeoDataFrame(data, geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")


def _split(box: tuple[float, float, float, float], pts: np.ndarray, n: int) -> list:
    """``n`` boxes with about as many of ``pts`` each: cut across the longer side at the
    right quantile, and again in each half (a k-d tree)."""
    if n == 1:
        return [shapely.box(*box)]
    x0, y0, x1, y1 = box
    axis = 0 if (x1 - x0) >= (y1 - y0) else 1
    k = n // 2
    cut = float(np.quantile(pts[:, axis], k / n)) if len(pts) else ((x0 + x1) / 2 if axis == 0 else (y0 + y1) / 2)
    lo_box = (x0, y0, cut, y1) if axis == 0 else (x0, y0, x1, cut)
    hi_box = (cut, y0, x1, y1) if axis == 0 else (x0, cut, x1, y1)
    below = pts[:, axis] < cut
    return _split(lo_box, pts[below], k) + _split(hi_box, pts[~below], n - k)


def county_regions(homes: gpd.GeoDataFrame, copies: int, columns: int, per_copy: int, frame: tuple[float, float, np.ndarray]):
    """``per_copy`` regions in every copy, with about as many homes each (counties are drawn
    around people, not on a grid)."""
    from coverage.batch import regions_from_polygons

    w, h, origin = frame
    t = pyproj.Transformer.from_crs("EPSG:4326", CRS, always_xy=True)
    xy = np.column_stack(t.transform(homes.geometry.x.to_numpy(), homes.geometry.y.to_numpy()))
    boxes = []
    for c in range(copies):
        x0, y0 = origin[0] + (c % columns) * w - 1000, origin[1] + (c // columns) * h - 1000
        box = (x0, y0, x0 + w, y0 + h)
        inside = (xy[:, 0] >= box[0]) & (xy[:, 0] < box[2]) & (xy[:, 1] >= box[1]) & (xy[:, 1] < box[3])
        boxes += _split(box, xy[inside], per_copy)
    ids = [f"county-{i:03d}" for i in range(len(boxes))]
    zones = gpd.GeoDataFrame({"zone_id": ids, "zone_name": ids}, geometry=boxes, crs=CRS).to_crs("EPSG:4326")
    return regions_from_polygons(zones, source="synthetic counties")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--copies", type=int, default=10)
    p.add_argument("--columns", type=int, default=5)
    p.add_argument("--homes", type=int, default=10_000_000)
    p.add_argument("--facilities", type=int, default=10_000)
    p.add_argument("--regions", type=int, default=10, help="regions per copy, with about as many homes each (default 10)")
    p.add_argument("--single", action=argparse.BooleanOptionalAction, default=True, help="also run the single-process audit")
    p.add_argument("--memory-limit", default="4GB", help="LocalCluster memory limit per worker")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if not (NET_DIR / "hangzhou_nodes.parquet").exists():
        print(f"skipped: {NET_DIR} is absent (../shared/data/networks)")
        return 0
    logging.basicConfig(level=logging.WARNING)
    warnings.simplefilter("ignore")
    import distributed  # noqa: F401  (its import sets its loggers to INFO)

    logging.getLogger("distributed").setLevel(logging.WARNING)
    from coverage.audit.run import run_audit
    from coverage.batch import run_batch
    from coverage.config import AuditConfig

    t = time.perf_counter()
    net, frame = province(args.copies, args.columns)
    rng = np.random.default_rng(args.seed)
    homes = points(net, args.homes, rng, "h", weights=True)
    fac = points(net, args.facilities, rng, "f", weights=False)
    regions = county_regions(homes, args.copies, args.columns, args.regions, frame)
    print(f"synthetic province: Hangzhou × {args.copies}: {net.n_nodes:,} nodes, {net.n_edges:,} edges; {len(homes):,} homes, "
          f"{len(fac):,} facilities, {len(regions)} regions (built in {time.perf_counter() - t:.1f} s)")  # fmt: skip
    cfg = AuditConfig()
    work = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    results: dict[str, float] = {}
    try:
        for workers in (1, 2):
            out = work / f"w{workers}"
            t = time.perf_counter()
            res = run_batch(net, fac, homes, regions, out, config=cfg, n_workers=workers, region_maps=False, resume=False,
                            memory_limit=args.memory_limit, work_dir=str(work / "prepared"))  # fmt: skip
            results[f"w{workers}"] = time.perf_counter() - t
            peak = max(float(s.get("peak_rss_mb") or 0) for s in res.summaries)
            failed = int((res.table["status"] == "failed").sum())
            m = res.meta
            print(f"    (cluster start {m['cluster_s']:.1f} s, prepare {m['prepare_s']:.1f} s while the first regions run, "
                  f"then regions {m['tasks_s']:.1f} s, roll-up {m['rollup_s']:.1f} s)")  # fmt: skip
            print(f"  LocalCluster, {workers} worker process{'es' if workers > 1 else ''}: {results[f'w{workers}']:7.1f} s, "
                  f"{len(homes) / results[f'w{workers}']:,.0f} homes/s, peak per worker {peak:,.0f} MB, "
                  f"{failed} regions failed, covered (1000 m) {res.totals['share_radius']:.2%}")  # fmt: skip
        print(f"  ratio 2 workers / 1 worker: {results['w2'] / results['w1']:.2f} (goal ≤ 0.60)")
        if args.single:
            before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            t = time.perf_counter()
            ref = run_audit(net, fac, homes, config=cfg, with_service_areas=False)
            single = time.perf_counter() - t
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(f"  single process (run_audit of the whole province): {single:7.1f} s, {len(homes) / single:,.0f} homes/s, "
                  f"process peak {peak:,.0f} MB (was {before:,.0f} MB before); covered (1000 m) "
                  f"{ref.demand['covered_radius'].mean():.2%}")  # fmt: skip
            print(f"  ratio 2 workers / single process: {results['w2'] / single:.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
