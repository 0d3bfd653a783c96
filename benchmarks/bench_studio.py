"""Benchmark: the planning studio (``coverage serve``) on the whole Hangzhou road network.

Run on demand (not in CI), under the shared lock:

    flock /tmp/heavy.lock .venv/bin/python benchmarks/bench_studio.py     # 100,000 homes, 1,000 facilities

Builds the network from ``../shared/data/networks/hangzhou_{nodes,edges}.parquet`` and places
homes and facilities at random near the roads (seeded, as ``bench_audit.py`` does), then, in
this one process:

* time to first page ready: from the arrays in memory to the page and its ``/api/state``
  (all layers, figures, facilities) served by a real uvicorn server on loopback: network,
  audit (:class:`~coverage.studio.session.Studio`), app, server start, ``GET /`` and
  ``GET /api/state`` (goal < 5 s); with ``--browser`` also in headless Chromium until every
  layer is drawn; then every station's service areas as the page fetches them, in batches;
* end-to-end latency of 200 random edits (add / move / close, one third each) over HTTP:
  request in, updated figures and changed features out, parsed by the client (goal p95 < 100 ms);
  the same edits applied with the bare :class:`~coverage.engine.whatif.AuditState` calls
  (``add_facility`` / ``remove_facility``) on a second state in the same process, and the ratios;
* memory: resident set size every 100 edits over 1,000 edits (goal: flat).
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_audit import NET_DIR, _status_kb, random_points_near_roads  # noqa: E402

TOKEN = "bench-token"


def _layers(args):
    import geopandas as gpd

    nodes = pd.read_parquet(NET_DIR / "hangzhou_nodes.parquet")
    edges = pd.read_parquet(NET_DIR / "hangzhou_edges.parquet")
    lon, lat = nodes["lon"].to_numpy(np.float64), nodes["lat"].to_numpy(np.float64)
    u, v = edges["u"].to_numpy(np.int64), edges["v"].to_numpy(np.int64)
    length = edges["length_m"].to_numpy(np.float64)
    rng = np.random.default_rng(args.seed)
    dlon, dlat = random_points_near_roads(lon, lat, u, v, args.demand, rng)
    flon, flat = random_points_near_roads(lon, lat, u, v, args.facilities, rng)
    demand = gpd.GeoDataFrame({"id": [f"D{i}" for i in range(args.demand)], "elderly": rng.integers(1, 40, args.demand)},
                              geometry=gpd.points_from_xy(dlon, dlat), crs="EPSG:4326")  # fmt: skip
    fac = gpd.GeoDataFrame({"id": [f"F{i}" for i in range(args.facilities)], "name": [f"站点{i}" for i in range(args.facilities)]},
                           geometry=gpd.points_from_xy(flon, flat), crs="EPSG:4326")  # fmt: skip
    return (lon, lat, u, v, length), demand, fac, rng


def _edits(studio, rng, n: int, arrays) -> list[tuple[str, object]]:
    """``n`` random edits: add near a road, move an open station up to ~600 m, close one."""
    lon, lat, u, v, _ = arrays
    out = []
    for i in range(n):
        kind = ("add", "move", "close")[i % 3]
        if kind == "add":
            plon, plat = random_points_near_roads(lon, lat, u, v, 1, rng, spread_m=10)
            out.append(("add", (float(plon[0]), float(plat[0]))))
        else:
            out.append((kind, float(rng.random())))
    return out


def _pick(keys: list[str], r: float) -> str:
    return keys[min(int(r * len(keys)), len(keys) - 1)]


def _http_edit(http, studio, edit, rng) -> tuple[float, float]:
    """One edit over HTTP: seconds to its answer, and to its answer plus the new service
    areas (the page's second request, for a plan too large to send them inline)."""
    kind, arg = edit
    t = time.perf_counter()
    if kind == "add":
        r = http.post("/api/stations", json={"lon": arg[0], "lat": arg[1]})
    else:
        with studio.lock:
            keys = [s.key for s in studio.open_stations()]
        key = _pick(keys, arg)
        if kind == "close":
            r = http.delete(f"/api/stations/{key}")
        else:
            x, y = studio.stations[key].xy
            ll = studio.to_lonlat(np.array([[x + rng.normal(0, 150), y + rng.normal(0, 150)]]))[0]
            r = http.put(f"/api/stations/{key}", json={"lon": float(ll[0]), "lat": float(ll[1])})
    body = r.json()
    dt = time.perf_counter() - t
    if r.status_code != 200:
        raise RuntimeError(f"{kind}: {r.status_code} {r.text[:300]}")
    pending = [st["key"] for st in body["opened"] if st["areas_pending"]]
    if pending:
        http.get("/api/service_areas", params={"keys": ",".join(pending)}).json()
    return dt, time.perf_counter() - t


def _bare(state, log_slice) -> float:
    """The same primitive operations on a bare AuditState: seconds."""
    pos = state.__dict__.setdefault("_bench_pos", {f"e{i}": i for i in range(len(state.facility_xy))})
    t = time.perf_counter()
    for op, key, x, y in log_slice:
        if op == "open":
            state.add_facility((x, y))
            pos[key] = len(state.facility_xy) - 1
        else:
            state.remove_facility(pos[key])
    return time.perf_counter() - t


def _browser_ready(url: str) -> float | None:
    """Seconds from opening ``url`` in headless Chromium to the page's ready mark (every layer
    drawn, the panel filled); None without Chromium or selenium."""
    import shutil

    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        return None
    chromium, driver_path = shutil.which("chromium"), shutil.which("chromedriver") or "/usr/bin/chromedriver"
    if chromium is None or not Path(driver_path).exists():
        return None
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,900", "--disable-dev-shm-usage"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(driver_path), options=opts)
    try:
        t = time.perf_counter()
        driver.get(url)
        while driver.execute_script("return document.body.dataset.ready") != "1":
            if time.perf_counter() - t > 120:
                return float("inf")
            time.sleep(0.05)
        return time.perf_counter() - t
    finally:
        driver.quit()


def _pct(xs: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(xs) * 1000, q))


def main(argv: list[str] | None = None) -> int:  # long: one benchmark run, step by step with its printout
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--demand", type=int, default=100_000)
    ap.add_argument("--facilities", type=int, default=1_000)
    ap.add_argument("--edits", type=int, default=200, help="timed edits (default 200)")
    ap.add_argument("--memory-edits", type=int, default=1_000, help="edits of the memory run (default 1,000)")
    ap.add_argument("--cutoff", type=float, default=1000.0, help="search limit, m (as bench_audit.py; default 1000)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--browser", action="store_true", help="also time the page in headless Chromium until every layer is drawn")
    args = ap.parse_args(argv)
    if not (NET_DIR / "hangzhou_nodes.parquet").exists():
        print(f"skipped: {NET_DIR} is absent (../shared/data not beside the project)")
        return 0
    import httpx

    from coverage.audit.run import AuditOptions
    from coverage.config import AuditConfig
    from coverage.engine.network import network_from_segments
    from coverage.engine.whatif import AuditState
    from coverage.studio import Studio, create_app
    from coverage.studio.server import start_in_thread

    arrays, demand, fac, rng = _layers(args)
    lon, lat, u, v, length = arrays
    cfg = AuditConfig(radius_m=1000.0, cutoff_m=args.cutoff)
    print(f"Hangzhou: {len(lon):,} nodes, {len(u):,} edges; {len(demand):,} homes, {len(fac):,} facilities; "
          f"radius {cfg.radius_m:g} m, walk {cfg.walk_limit_m:g} m, search limit {cfg.search_cutoff_m:g} m")  # fmt: skip

    # ---------------------------------------------------------------- first page ready
    t0 = time.perf_counter()
    net = network_from_segments(lon, lat, u, v, seg_len_m=length, crs="EPSG:32651", source="Hangzhou (OpenStreetMap)")
    t_net = time.perf_counter()
    studio = Studio(net, fac, demand, config=cfg, options=AuditOptions(run_date="2026-01-01"))
    t_audit = time.perf_counter()
    srv = start_in_thread(create_app(studio, token=TOKEN, rate=1e6, burst=10**6))
    http = httpx.Client(base_url=srv.base, headers={"X-Studio-Token": TOKEN}, timeout=60)
    page = http.get("/", params={"token": TOKEN})
    state = http.get("/api/state")
    n_bytes = len(state.content)
    state.json()
    t_ready = time.perf_counter()
    assert page.status_code == 200 and state.status_code == 200
    print(f"  first page ready: {t_ready - t0:6.2f} s   (goal < 5 s)  [network {t_net - t0:.2f} s, audit {t_audit - t_net:.2f} s, "
          f"server + page + /api/state {t_ready - t_audit:.2f} s, state {n_bytes / 1e6:.1f} MB]")  # fmt: skip
    if args.browser:
        t_b = time.perf_counter()
        ready = _browser_ready(f"{srv.base}/?token={TOKEN}")
        if ready is None:
            print("  browser: skipped (no headless Chromium / chromedriver / selenium)")
        else:
            print(f"  in headless Chromium: page opened -> every layer drawn {ready:6.2f} s (browser start included: "
                  f"{time.perf_counter() - t_b:.2f} s); from the arrays: {t_audit - t0 + (time.perf_counter() - t_b):.2f} s")  # fmt: skip
    keys = [st["key"] for st in state.json()["stations"] if st["areas_pending"]]
    t = time.perf_counter()
    for i in range(0, len(keys), 100):
        http.get("/api/service_areas", params={"keys": ",".join(keys[i : i + 100])}).json()
    print(f"  then every station's service areas, in batches of 100 as the page asks: {time.perf_counter() - t:6.2f} s "
          f"({len(keys)} stations)")

    # ---------------------------------------------------------------- latency
    bare = AuditState.build(studio.engine, studio.engine.xy(fac), studio.engine.xy(demand), warn_far=False)
    edits = _edits(studio, rng, args.edits, arrays)
    lat_http: dict[str, list[float]] = {"add": [], "move": [], "close": []}
    lat_areas: dict[str, list[float]] = {"add": [], "move": [], "close": []}
    lat_bare: dict[str, list[float]] = {"add": [], "move": [], "close": []}
    for e in edits:
        n_log = len(studio.log)
        try:
            answer, with_areas = _http_edit(http, studio, e, rng)
        except RuntimeError as exc:
            print(f"    refused: {exc}")
            continue
        lat_http[e[0]].append(answer)
        lat_areas[e[0]].append(with_areas)
        lat_bare[e[0]].append(_bare(bare, studio.log[n_log:]))
    assert np.allclose(bare.result.dist_m, studio.state.result.dist_m, rtol=0, atol=1e-6), "the bare state and the studio disagree"
    every_http = [x for xs in lat_http.values() for x in xs]
    every_bare = [x for xs in lat_bare.values() for x in xs]
    print(f"  {args.edits} random edits over HTTP (request in, figures and changed features out):")
    for kind in ("add", "move", "close"):
        h, b = lat_http[kind], lat_bare[kind]
        print(f"    {kind:<6s} n={len(h):3d}  p50 {_pct(h, 50):6.1f} ms  p95 {_pct(h, 95):6.1f} ms   bare AuditState p50 "
              f"{_pct(b, 50):6.1f} ms  p95 {_pct(b, 95):6.1f} ms   ratio p95 {_pct(h, 95) / max(_pct(b, 95), 1e-9):4.2f}x   "
              f"with service areas p95 {_pct(lat_areas[kind], 95):6.1f} ms")  # fmt: skip
    print(f"    ALL    p50 {_pct(every_http, 50):6.1f} ms  p95 {_pct(every_http, 95):6.1f} ms  (goal p95 < 100 ms); "
          f"bare p95 {_pct(every_bare, 95):6.1f} ms; ratio p95 {_pct(every_http, 95) / max(_pct(every_bare, 95), 1e-9):4.2f}x, "
          f"median per-edit ratio {statistics.median(h / max(b, 1e-9) for h, b in zip(every_http, every_bare, strict=True)):4.2f}x")  # fmt: skip
    every_areas = [x for xs in lat_areas.values() for x in xs]
    print(f"    ALL with the new service areas (second request): p50 {_pct(every_areas, 50):6.1f} ms  p95 {_pct(every_areas, 95):6.1f} ms")

    # ---------------------------------------------------------------- memory
    del bare
    gc.collect()
    more = _edits(studio, rng, args.memory_edits, arrays)
    rss = [_status_kb("VmRSS") / 1024]
    refused = 0
    for i, e in enumerate(more, 1):
        try:
            _http_edit(http, studio, e, rng)
        except RuntimeError:  # a move or add off the roads (refused with 422): counted
            refused += 1
        if i % 100 == 0:
            gc.collect()
            rss.append(_status_kb("VmRSS") / 1024)
    steps = " ".join(f"{x:.0f}" for x in rss)
    print(f"  memory over {args.memory_edits:,} more edits (RSS MiB every 100): {steps}")
    print(f"    growth first->last {rss[-1] - rss[0]:+.0f} MiB; second half {rss[-1] - rss[len(rss) // 2]:+.0f} MiB  (goal: flat); "
          f"{refused} edits refused (off the roads)")
    http.close()
    srv.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
