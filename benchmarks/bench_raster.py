"""Benchmark: the whole Wuhan 60+ population raster to demand points, and an audit of them.

Run on demand (not in CI):

    .venv/bin/python benchmarks/bench_raster.py              # reader, baseline, audit
    .venv/bin/python benchmarks/bench_raster.py --no-audit   # the readers only

Reads ``../shared/data/population/wuhan_pop60plus_100m.tif`` (WorldPop 60+, 3 arc-seconds,
1662 x 1668 cells, about 1.94 million people) and ``wuhan_boundary.geojson``. The shared
boundary has one damaged byte (line 5, ``"5",m"name"``): it is mended in a temporary copy,
and said so.

In this one process, each step timed with the process's true peak resident memory (the
kernel's VmHWM mark, reset before the step) and the peak of Python/numpy allocations
(tracemalloc, in a separate run of the same step so the timing is not slowed):

* baseline: the naive recipe -- ``rasterio`` ``read()`` of the whole raster, a
  ``geometry_mask`` of the boundary over all of it, the populated cells inside to points;
* :func:`coverage.inputs.raster.demand_from_rasters` with its default windows and with small
  windows (what a province raster gets);
* the audit of all the cells against a road network. **No Wuhan road network is at hand**
  (``../shared`` holds Hangzhou's, which may not be overlaid): a **generated** one is used, a
  street grid of ``--spacing`` m (default 250 m) over the boundary, nodes jittered by up to
  a fifth of the spacing and a tenth of the links dropped (seeded), with ``--facilities``
  (default 1,500) facilities at random nodes.

Prints seconds, peak memory, points per second and the ratios against the baseline.
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import tracemalloc
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
POP = ROOT.parent / "shared" / "data" / "population"

from bench_audit import Step  # noqa: E402  (the same VmHWM step timer as the audit benchmark)


def mended_boundary(folder: Path) -> Path:
    text = (POP / "wuhan_boundary.geojson").read_text(encoding="utf-8")
    fixed = text.replace('"5",m"name"', '"5", "name"')
    if fixed != text:
        print("  note: the shared wuhan_boundary.geojson has a damaged byte (line 5); read from a mended temporary copy")
    out = folder / "wuhan_boundary.geojson"
    out.write_text(fixed, encoding="utf-8")
    return out


def baseline(tif: Path, boundary: Path):
    """The naive recipe: the whole raster in memory, masked, to the same points (ids, rows,
    columns, people) as the reader gives."""
    import geopandas as gpd
    import rasterio
    import shapely
    from rasterio.features import geometry_mask

    outline = shapely.union_all(gpd.read_file(boundary).geometry.values)
    with rasterio.open(tif) as src:
        a = src.read(1, masked=True).astype(np.float64).filled(0.0)
        inside = ~geometry_mask([outline], out_shape=a.shape, transform=src.transform)
        t = src.transform
    r, c = np.nonzero(inside & (a > 0))
    x, y = t.c + (c + 0.5) * t.a, t.f + (r + 0.5) * t.e
    ids = [f"r{i}c{j}" for i, j in zip(r.tolist(), c.tolist(), strict=True)]
    return gpd.GeoDataFrame({"id": ids, "name": ids, "elderly": a[r, c], "cell_row": r.astype(np.int32), "cell_col": c.astype(np.int32),
                             "placement": "cell centre"}, geometry=gpd.points_from_xy(x, y), crs="EPSG:4326")  # fmt: skip


def province_raster(tif: Path, folder: Path, size: int) -> Path:
    """A GENERATED "province" grid: ``size`` x ``size`` cells on the Wuhan grid (3 arc-seconds),
    Wuhan's cells in their place and zeros elsewhere (tiled 256 x 256, deflate), so that the
    boundary covers a small part of a large raster, as a county in a province does."""
    import rasterio
    from rasterio.transform import from_origin

    with rasterio.open(tif) as src:
        a = src.read(1)
        t, nodata = src.transform, src.nodata
    pad_r, pad_c = (size - a.shape[0]) // 2, (size - a.shape[1]) // 2
    out = folder / "province_60plus.tif"
    profile = {"driver": "GTiff", "dtype": "float32", "width": size, "height": size, "count": 1, "crs": "EPSG:4326", "nodata": nodata,
               "transform": from_origin(t.c - pad_c * t.a, t.f - pad_r * t.e, t.a, -t.e), "tiled": True, "blockxsize": 256,
               "blockysize": 256, "compress": "deflate"}  # fmt: skip
    with rasterio.open(out, "w", **profile) as dst:
        for r0 in range(0, size, 256):  # written by strips: the full grid is never in memory here
            strip = np.zeros((min(256, size - r0), size), dtype=np.float32)
            lo, hi = max(r0, pad_r), min(r0 + strip.shape[0], pad_r + a.shape[0])
            if lo < hi:
                strip[lo - r0:hi - r0, pad_c:pad_c + a.shape[1]] = a[lo - pad_r:hi - pad_r]
            dst.write(strip, 1, window=rasterio.windows.Window(0, r0, size, strip.shape[0]))
    return out


def traced_peak(fn) -> float:
    """Peak of Python/numpy allocations during ``fn()``, MiB."""
    gc.collect()
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def generated_network(outline, spacing: float, rng: np.random.Generator):
    """A jittered street grid over ``outline`` (WGS-84), in its UTM zone (EPSG:32650)."""
    import pyproj
    import shapely

    from coverage.engine.network import network_from_segments

    to_utm = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:32650", always_xy=True)
    utm = shapely.transform(outline, lambda xy: np.column_stack(to_utm.transform(xy[:, 0], xy[:, 1])))
    area = shapely.buffer(utm, 2 * spacing)
    shapely.prepare(area)
    x0, y0, x1, y1 = area.bounds
    nx_, ny_ = int((x1 - x0) // spacing) + 1, int((y1 - y0) // spacing) + 1
    gx, gy = np.meshgrid(x0 + np.arange(nx_) * spacing, y0 + np.arange(ny_) * spacing)
    keep = shapely.contains_xy(area, gx, gy)
    idx = np.full(gx.shape, -1, dtype=np.int64)
    idx[keep] = np.arange(int(keep.sum()))
    jit = spacing / 5
    px = gx[keep] + rng.uniform(-jit, jit, int(keep.sum()))
    py = gy[keep] + rng.uniform(-jit, jit, int(keep.sum()))
    u = np.concatenate([idx[:, :-1].ravel(), idx[:-1, :].ravel()])
    v = np.concatenate([idx[:, 1:].ravel(), idx[1:, :].ravel()])
    ok = (u >= 0) & (v >= 0) & (rng.random(len(u)) > 0.1)
    lon, lat = to_utm.transform(px, py, direction="INVERSE")
    net = network_from_segments(np.asarray(lon), np.asarray(lat), u[ok], v[ok], crs="EPSG:32650",
                                source="GENERATED jittered street grid over Wuhan (not real roads)")  # fmt: skip
    return net, np.asarray(lon), np.asarray(lat)


def wuhan_readers(tif: Path, boundary: Path, small_window: int, results: dict) -> tuple:
    """The baseline and the reader (default and small windows) on the Wuhan raster."""
    from coverage.inputs.raster import MAX_CELLS, demand_from_rasters

    demand_from_rasters(tif, boundary=boundary)  # warm the file cache and imports: every run reads a warm file
    with Step("baseline: rasterio read() whole + geometry_mask -> points", results):
        base = baseline(tif, boundary)
    with Step(f"demand_from_rasters, windows of <= {MAX_CELLS:,} cells", results):
        dem = demand_from_rasters(tif, boundary=boundary)
    with Step(f"demand_from_rasters, windows of <= {small_window:,} cells", results):
        small = demand_from_rasters(tif, boundary=boundary, max_cells=small_window)
    mem = {"baseline": traced_peak(lambda: baseline(tif, boundary)),
           "default": traced_peak(lambda: demand_from_rasters(tif, boundary=boundary)),
           "small": traced_peak(lambda: demand_from_rasters(tif, boundary=boundary, max_cells=small_window))}  # fmt: skip
    n, total = len(dem), float(dem["elderly"].sum())
    assert len(small) == n and abs(float(small["elderly"].sum()) - total) <= 1e-9 * total
    print(f"  {n:,} demand points (populated cells inside the boundary), {total:,.1f} people aged 60+; "
          f"baseline {len(base):,} points, {float(base['elderly'].sum()):,.1f} (difference {abs(total - float(base['elderly'].sum())) / total:.2e})")  # fmt: skip
    tb = results["baseline: rasterio read() whole + geometry_mask -> points"][0]
    for key, label in (("default", f"windows of <= {MAX_CELLS:,} cells"), ("small", f"windows of <= {small_window:,} cells")):
        t = results[f"demand_from_rasters, {label}"][0]
        print(f"  reader, {label}: {t:.2f} s ({n / t:,.0f} points/s; {t / tb:.2f}x the baseline's {tb:.2f} s), "
              f"numpy/Python peak {mem[key]:.0f} MiB ({mem[key] / mem['baseline']:.2f}x the baseline's {mem['baseline']:.0f} MiB)")  # fmt: skip
    return dem, total


def province_run(tif: Path, boundary: Path, folder: Path, size: int, results: dict) -> None:
    """Baseline and reader on the generated province grid."""
    from coverage.inputs.raster import demand_from_rasters

    prov = province_raster(tif, folder, size)
    print(f"\ngenerated province grid {size:,} x {size:,} cells ({size**2 / 1e6:.0f} M cells; Wuhan's cells in the middle, "
          f"zeros around), {prov.stat().st_size / 2**20:.1f} MiB on disk")  # fmt: skip
    demand_from_rasters(prov, boundary=boundary)
    kb, kw = "province: baseline read() whole + geometry_mask -> points", "province: demand_from_rasters (the boundary's window)"
    with Step(kb, results):
        pbase = baseline(prov, boundary)
    with Step(kw, results):
        pdem = demand_from_rasters(prov, boundary=boundary)
    mb, mw = traced_peak(lambda: baseline(prov, boundary)), traced_peak(lambda: demand_from_rasters(prov, boundary=boundary))
    tb, tw = results[kb][0], results[kw][0]
    total = float(pdem["elderly"].sum())
    same = len(pbase) == len(pdem) and abs(float(pbase["elderly"].sum()) - total) <= 1e-9 * total
    print(f"  province: reader {tw:.2f} s vs baseline {tb:.2f} s ({tb / tw:.1f}x faster); numpy/Python peak {mw:.0f} MiB vs "
          f"{mb:.0f} MiB ({mb / mw:.1f}x less); cells read {pdem.attrs['raster']['cells_read']:,} of {size**2:,}; "
          f"same points and total as the baseline: {same}")  # fmt: skip


def audit_run(dem, total: float, outline, spacing: float, n_facilities: int, results: dict) -> None:
    """The audit of every cell against the generated network."""
    import geopandas as gpd

    from coverage import run_audit

    n = len(dem)
    rng = np.random.default_rng(12)
    print()
    with Step(f"generated network: {spacing:g} m jittered grid over Wuhan", results):
        net, lon, lat = generated_network(outline, spacing, rng)
    pick = rng.choice(net.n_nodes, n_facilities, replace=False)
    fac = gpd.GeoDataFrame({"id": [f"F{i}" for i in range(len(pick))]}, geometry=gpd.points_from_xy(lon[pick], lat[pick]), crs="EPSG:4326")
    print(f"  network: {net.n_nodes:,} nodes, {net.n_edges:,} edges, {net.edge_len_m.sum() / 1000:,.0f} km; {len(fac):,} facilities")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # cells beyond the generated grid's reach are reported unreachable
        with Step(f"audit of {n:,} raster cells (no service areas)", results):
            res = run_audit(net, fac, dem, with_service_areas=False)
    t = results[f"audit of {n:,} raster cells (no service areas)"][0]
    cov = res.coverage
    print(f"  audit: {t:.2f} s, {n / t:,.0f} points/s; weight audited {cov.weight_total:,.1f} (= raster total: "
          f"{abs(cov.weight_total - total) <= 1e-9 * total}); unreachable {cov.counts['unreachable']:,} cells, "
          f"{cov.weights['unreachable']:,.1f} people")  # fmt: skip
    for line in cov.lines()[1:4]:
        print(line)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--no-audit", action="store_true", help="time the readers only")
    ap.add_argument("--spacing", type=float, default=250.0, help="street spacing of the generated network, m")
    ap.add_argument("--facilities", type=int, default=1500, help="facilities at random nodes")
    ap.add_argument("--small-window", type=int, default=1 << 16, help="cells per window of the small-window run")
    ap.add_argument("--province", type=int, default=6000, help="side of the generated province grid, cells (0: skip)")
    args = ap.parse_args()
    tif = POP / "wuhan_pop60plus_100m.tif"
    if not tif.exists():
        print(f"skipped: {tif} is absent (../shared is not beside the project)")
        return 0
    from coverage.inputs.raster import boundary_polygon

    results: dict[str, tuple[float, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        boundary = mended_boundary(Path(tmp))
        outline, _ = boundary_polygon(boundary)
        print(f"raster {tif.name}, boundary {boundary.name}")
        dem, total = wuhan_readers(tif, boundary, args.small_window, results)
        if args.province:
            province_run(tif, boundary, Path(tmp), args.province, results)
    if not args.no_audit:
        audit_run(dem, total, outline, args.spacing, args.facilities, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
