"""Walking on terrain: slope factors against their sources, hand-built sloped roads with
times worked out by hand, networkx directed Dijkstra as the oracle of the search, the DEM
reader on GeoTIFFs written here, and the model county's generated hill.

No package on the registry ships a real DEM tile that could be used here (pysheds 0.5's
wheel has none; ``elevation`` downloads tiles at run time), so the DEMs are written by the
tests and by :mod:`coverage.datasets.terrain`."""

from __future__ import annotations

import math

import numpy as np
import pyproj
import pytest
from conftest import grid_geo_m, grid_network

from coverage.audit.run import run_audit
from coverage.audit.terrain import terrain_audit
from coverage.config import AuditConfig, TerrainConfig
from coverage.engine.engine import Engine
from coverage.engine.network import network_from_segments
from coverage.engine.snapping import snap_points
from coverage.engine.terrain import terrain_costs, terrain_nearest, time_factor
from coverage.engine.whatif import AuditState
from coverage.errors import InputFileError, ParameterError

X0, Y0 = 700_000.0, 2_545_000.0  # the grid's origin (conftest.grid_network), EPSG:32649


def plane(slope_x: float = 0.1, slope_y: float = 0.0):
    """Heights of a tilted plane over the grid: exact for bilinear sampling and for grades."""
    return lambda xy: 100.0 + slope_x * (np.asarray(xy)[:, 0] - X0) + slope_y * (np.asarray(xy)[:, 1] - Y0)


# --------------------------------------------------------------------------- slope models
def test_tobler_normalised_to_the_flat():
    # W = 6 exp(-3.5 |S + 0.05|) km/h: 5.04 km/h on the flat, 6 km/h at S = -0.05
    w = lambda s: 6 * math.exp(-3.5 * abs(s + 0.05))  # noqa: E731
    for s in (-0.3, -0.1, -0.05, 0.0, 0.03, 0.08, 0.15, 0.4):
        assert time_factor(np.array([s]), "tobler")[0] == pytest.approx(w(0.0) / w(s), rel=1e-12)
    assert w(0.0) == pytest.approx(5.04, abs=0.005)


def test_din33466_factors_are_valhallas():
    # the issue quoted about x1.2 at +3 %, x1.6 at +8 %, x2.5 at +15 %, x0.9 at -3 %; the
    # source (valhalla src/sif/pedestriancost.cc lines 201-218) says 1.20, 1.57, 2.50, 0.88
    f = time_factor(np.array([0.03, 0.08, 0.15, -0.03]), "din33466")
    assert f.tolist() == [1.20, 1.57, 2.50, 0.88]
    # Valhalla's bucket: int(grade% * 0.6 + 6.5), grades clamped to -10 .. +15 %
    assert time_factor(np.array([0.0, 0.008, 0.009, -0.1, -0.5, 0.5]), "din33466").tolist() == [1.0, 1.0, 1.10, 1.33, 1.33, 2.50]
    with pytest.raises(ParameterError, match="slope model 'naismith'"):
        time_factor(np.zeros(1), "naismith")


# --------------------------------------------------------------------------- by hand
def test_sloped_grid_edge_times_by_hand():
    # 3 x 3 grid of 100 m blocks on a plane rising 10 % to the east
    net, _ = grid_network(3, 100.0)
    tc = terrain_costs(net, plane(0.1), model="tobler", speed_mps=0.8, sample_m=15.0)
    up, flat_ = math.exp(3.5 * (0.15 - 0.05)), 1.0  # +10 %: e^0.35; -10 %: |-0.05| - 0.05 = 0 -> 1
    dx = net.node_xy[net.edge_v, 0] - net.node_xy[net.edge_u, 0]
    east = dx > 1  # edges drawn u -> v eastwards
    assert tc.edge_fwd_m[east] == pytest.approx(100 * up, rel=1e-9)
    assert tc.edge_bwd_m[east] == pytest.approx(100 * flat_, rel=1e-9)
    north = np.abs(dx) < 1
    assert tc.edge_fwd_m[north] == pytest.approx(100.0) and tc.edge_bwd_m[north] == pytest.approx(100.0)
    assert tc.climb_m[east] == pytest.approx(10.0)
    # DIN 33466 (Valhalla): +10 % -> index 12 -> 1.83; -10 % -> index 0 -> 1.33
    din = terrain_costs(net, plane(0.1), model="din33466")
    assert din.edge_fwd_m[east] == pytest.approx(183.0) and din.edge_bwd_m[east] == pytest.approx(133.0)


def test_home_to_facility_direction_by_hand():
    net, to_xy = grid_network(3, 100.0)
    tc = terrain_costs(net, plane(0.1), model="tobler", speed_mps=0.8)
    up = math.exp(0.35)
    west, east = snap_points(net, to_xy([[0.0, 0.0]])), snap_points(net, to_xy([[200.0, 0.0]]))
    z = np.zeros(1)
    # home east, facility west: 200 m downhill at 10 % = the flat time (Tobler)
    _, c = terrain_nearest(tc, west, east, limit_m=1e6, facility_access_m=z, demand_access_m=z)
    assert c[0] == pytest.approx(200.0)
    # home west, facility east: 200 m uphill
    _, c = terrain_nearest(tc, east, west, limit_m=1e6, facility_access_m=z, demand_access_m=z)
    assert c[0] == pytest.approx(200.0 * up)
    # a home 30 m along an edge and a facility 80 m along it (same edge, walking east, uphill)
    h, f = snap_points(net, to_xy([[30.0, 0.0]])), snap_points(net, to_xy([[80.0, 0.0]]))
    _, c = terrain_nearest(tc, f, h, limit_m=1e6, facility_access_m=z, demand_access_m=z)
    assert c[0] == pytest.approx(50.0 * up)
    _, c = terrain_nearest(tc, h, f, limit_m=1e6, facility_access_m=z, demand_access_m=z)
    assert c[0] == pytest.approx(50.0)
    # beyond the limit: none
    fac, c = terrain_nearest(tc, east, west, limit_m=250.0, facility_access_m=z, demand_access_m=z)
    assert fac[0] == -1 and np.isinf(c[0])


def test_audit_on_a_slope_by_hand():
    # one facility at the south-west corner; a plane rising 10 % to the north
    net, to_xy = grid_network(3, 100.0)
    cfg = AuditConfig(radius_m=1000, time_min=5, speed_mps=0.8)  # 240 m in 5 min
    st = AuditState.build(Engine.build(net, config=cfg, compact=False), to_xy([[0.0, 0.0]]), to_xy([[150.0, 30.0], [0.0, 200.0]]))
    assert st.result.covered_time.tolist() == [True, True]  # flat: 30 + 150 m and 200 m
    ta = terrain_audit(st, plane(0.0, 0.1), TerrainConfig(slope_model="tobler"))
    tobler = lambda g: math.exp(3.5 * (abs(g + 0.05) - 0.05))  # noqa: E731
    a30 = grid_geo_m([150, 30], [150, 0])[0]  # the off-road walk, geodesic (~29.997 m)
    # home 1: 3 m down to its road over a30, then 150 m along the flat y = 0 road
    home1 = a30 * tobler(-3.0 / a30) + 150.0
    # home 2 on the road at (0, 200): 200 m down the 10 % slope = the flat time (Tobler at -10 % is 1)
    assert ta.time_min * 0.8 * 60 == pytest.approx([home1, 200.0], rel=1e-9)
    assert ta.covered_time.tolist() == [True, True]
    # the plane tilted the other way: both walks are uphill now
    ta_up = terrain_audit(st, plane(0.0, -0.1))
    assert ta_up.time_min * 0.8 * 60 == pytest.approx([a30 * tobler(3.0 / a30) + 150.0, 200.0 * math.exp(0.35)], rel=1e-9)
    assert ta_up.covered_time.tolist() == [True, False]  # 283.8 m-equivalent > 240


def test_steps_add_their_seconds():
    lon = np.array([113.0, 113.001, 113.002])
    lat = np.array([23.0, 23.0, 23.0])
    net = network_from_segments(lon, lat, np.array([0, 1]), np.array([1, 2]), highway=np.array(["footway", "steps"], dtype=object))
    flat = lambda xy: np.zeros(len(xy))  # noqa: E731
    tc = terrain_costs(net, flat, speed_mps=0.8, steps_s=30.0)
    assert tc.edge_fwd_m == pytest.approx(net.edge_len_m + np.array([0.0, 30.0 * 0.8]))
    assert tc.edge_bwd_m == pytest.approx(net.edge_len_m + np.array([0.0, 30.0 * 0.8]))
    # half the flight: half the extra time
    assert tc.fwd(np.array([1]), np.array([net.edge_len_m[1] / 2]))[0] == pytest.approx(net.edge_len_m[1] / 2 + 12.0)


def test_crossing_a_major_road_by_hand():
    # 0 --footway-- 1 --footway-- 3, and a primary road 1 -- 2 ending at junction 1
    lon = np.array([113.0, 113.001, 113.001, 113.002])
    lat = np.array([23.0, 23.0, 23.001, 23.0])
    hw = np.array(["footway", "primary", "footway"], dtype=object)
    net = network_from_segments(lon, lat, np.array([0, 1, 1]), np.array([1, 2, 3]), highway=hw)
    flat = lambda xy: np.zeros(len(xy))  # noqa: E731
    tc = terrain_costs(net, flat, speed_mps=0.8, crossing_s=20.0)
    # arriving at junction 1 on a footway costs 20 s (16 m at 0.8 m/s), arriving at 0 or 3 nothing
    assert tc.arrive_v_m.tolist() == [16.0, 0.0, 0.0] and tc.arrive_u_m.tolist() == [0.0, 0.0, 16.0]
    home = snap_points(net, net.node_xy[[0]] + [30.0, 0.0])
    fac = snap_points(net, net.node_xy[[3]] - [30.0, 0.0])
    z = np.zeros(1)
    _, c = terrain_nearest(tc, fac, home, limit_m=1e6, facility_access_m=z, demand_access_m=z)
    assert c[0] == pytest.approx(net.edge_len_m[0] - home.offset_m[0] + 16.0 + fac.offset_m[0], abs=1e-9)
    off = terrain_costs(net, flat, speed_mps=0.8)
    _, c0 = terrain_nearest(off, fac, home, limit_m=1e6, facility_access_m=z, demand_access_m=z)
    assert c[0] - c0[0] == pytest.approx(16.0)


def test_unknown_heights_count_as_flat():
    net, _ = grid_network(3, 100.0)
    tc = terrain_costs(net, lambda xy: np.full(len(xy), np.nan))
    assert tc.edge_fwd_m == pytest.approx(net.edge_len_m) and tc.n_missing == len(tc.z)


# --------------------------------------------------------------------------- oracle
def _nx_costs(tc, fac, facc, dem, dacc):
    """Home -> nearest facility on the same directed weights, by networkx (one Dijkstra per home)."""
    import networkx as nx

    net = tc.net
    g = nx.DiGraph()
    for e in range(net.n_edges):
        u, v = int(net.edge_u[e]), int(net.edge_v[e])
        for a, b, w in ((u, v, tc.edge_fwd_m[e] + tc.arrive_v_m[e]), (v, u, tc.edge_bwd_m[e] + tc.arrive_u_m[e])):
            if a != b and (not g.has_edge(a, b) or g[a][b]["weight"] > w):
                g.add_edge(a, b, weight=float(w))
    for j in range(len(fac)):
        e, o = fac.edge[j : j + 1], fac.offset_m[j : j + 1]
        g.add_edge(int(net.edge_u[e[0]]), ("f", j), weight=float(tc.fwd(e, o)[0] + facc[j]))
        g.add_edge(int(net.edge_v[e[0]]), ("f", j), weight=float(tc.edge_bwd_m[e[0]] - tc.bwd(e, o)[0] + facc[j]))
    out = np.full(len(dem), np.inf)
    for i in range(len(dem)):
        e, p = dem.edge[i : i + 1], dem.offset_m[i : i + 1]
        h = ("h", i)
        g.add_edge(h, int(net.edge_u[e[0]]), weight=float(tc.bwd(e, p)[0] + tc.arrive_u_m[e[0]]))
        g.add_edge(h, int(net.edge_v[e[0]]), weight=float(tc.edge_fwd_m[e[0]] - tc.fwd(e, p)[0] + tc.arrive_v_m[e[0]]))
        for j in np.flatnonzero(fac.edge == e[0]):
            o = fac.offset_m[j : j + 1]
            w = (tc.fwd(e, o) - tc.fwd(e, p))[0] if o[0] >= p[0] else (tc.bwd(e, p) - tc.bwd(e, o))[0]
            g.add_edge(h, ("f", int(j)), weight=float(w + facc[j]))
        d = nx.single_source_dijkstra_path_length(g, h, weight="weight")
        best = min((d[("f", j)] for j in range(len(fac)) if ("f", j) in d), default=np.inf)
        out[i] = best + dacc[i]
        g.remove_node(h)
    return out


@pytest.mark.parametrize(("model", "crossing_s"), [("tobler", 0.0), ("din33466", 0.0), ("tobler", 25.0)])
def test_directed_search_equals_networkx(rng, model, crossing_s):
    import dataclasses

    net, to_xy = grid_network(7, 90.0, drop={((2, 2), (3, 2)), ((4, 1), (4, 2)), ((1, 5), (2, 5))})
    # a primary road along y = 270 m and some stairs
    y = net.node_xy[:, 1] - Y0
    hw = np.where((np.abs(y[net.edge_u] - 270) < 1) & (np.abs(y[net.edge_v] - 270) < 1), "primary", "residential").astype(object)
    hw[::11] = "steps"
    net = dataclasses.replace(net, edge_highway=hw)
    hills = lambda xy: 40 * np.sin((xy[:, 0] - X0) / 150.0) + 25 * np.cos((xy[:, 1] - Y0) / 110.0)  # noqa: E731
    tc = terrain_costs(net, hills, model=model, steps_s=20.0, sample_m=12.0, crossing_s=crossing_s)
    assert (tc.arrive_v_m.sum() > 0) == (crossing_s > 0)
    fac = snap_points(net, to_xy(rng.uniform(-20, 560, (4, 2))))
    dem = snap_points(net, to_xy(rng.uniform(-20, 560, (60, 2))))
    facc, dacc = rng.uniform(0, 40, len(fac)), rng.uniform(0, 40, len(dem))
    _src, cost = terrain_nearest(tc, fac, dem, limit_m=1e7, facility_access_m=facc, demand_access_m=dacc)
    oracle = _nx_costs(tc, fac, facc, dem, dacc)
    assert np.max(np.abs(cost - oracle)) < 0.01
    # direction matters here: the trip to the facility is not the trip back
    assert not np.allclose(tc.edge_fwd_m, tc.edge_bwd_m)


# --------------------------------------------------------------------------- DEM files
def _write_plane_tif(path, *, crs="EPSG:4326", bounds=(112.99, 22.99, 113.02, 23.02), px=0.0005, z=None, nodata=None):
    import rasterio
    from affine import Affine

    left, bottom, right, top = bounds
    w, h = round((right - left) / px), round((top - bottom) / px)
    cx = left + (np.arange(w) + 0.5) * px
    cy = top - (np.arange(h) + 0.5) * px
    gx, gy = np.meshgrid(cx, cy)
    data = (50.0 + 2000.0 * (gx - 113.0) + 3000.0 * (gy - 23.0)) if z is None else z(gx, gy)
    profile = {"driver": "GTiff", "width": w, "height": h, "count": 1, "dtype": "float64", "crs": crs,
               "transform": Affine(px, 0, left, 0, -px, top), "nodata": nodata}  # fmt: skip
    if crs is None:
        profile.pop("crs")
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data, 1)
    return path


def test_read_dem_window_and_bilinear_plane(tmp_path):
    from coverage.inputs.terrain import read_dem

    lon = np.array([113.000, 113.004, 113.004])
    lat = np.array([23.000, 23.000, 23.003])
    net = network_from_segments(lon, lat, np.array([0, 1]), np.array([1, 2]))
    path = _write_plane_tif(tmp_path / "plane.tif")
    dem = read_dem(path, net, margin_m=100.0)
    assert dem.z.shape[0] < 60 and dem.z.shape[1] < 60  # a window, not the whole 60 x 60 raster
    z = dem.sampler(net.crs)(net.node_xy)
    assert z == pytest.approx(50.0 + 2000.0 * (lon - 113.0) + 3000.0 * (lat - 23.0), abs=1e-6)
    with pytest.raises(InputFileError, match="far.tif: the DEM .* does not cover the road network"):
        read_dem(_write_plane_tif(tmp_path / "far.tif", bounds=(120.0, 30.0, 120.01, 30.01)), net)
    with pytest.raises(InputFileError, match="nocrs.tif: the DEM has no coordinate reference system"):
        read_dem(_write_plane_tif(tmp_path / "nocrs.tif", crs=None), net)
    (tmp_path / "junk.tif").write_bytes(b"not a tiff")
    with pytest.raises(InputFileError, match="junk.tif: cannot read the DEM"):
        read_dem(tmp_path / "junk.tif", net)


# --------------------------------------------------------------------------- the generated hill
def test_model_county_hill_file_and_audit(tmp_path):
    from coverage.datasets.model_county import model_county
    from coverage.datasets.terrain import (
        DEM_DESCRIPTION,
        hill_elevation,
        model_county_dem,
        write_model_county_dem,
    )
    from coverage.inputs.terrain import read_dem

    mc = model_county()
    path = write_model_county_dem(tmp_path / "terrain_dem.tif")
    dem = read_dem(path, mc.network)
    assert dem.description == DEM_DESCRIPTION and "not measured" in dem.description
    # the file holds the surface: bilinear between 25 m pixels is within 0.1 m of it on every road
    xy = mc.network.coord_xy
    z = dem.sampler(mc.network.crs)(xy)
    assert np.max(np.abs(z - hill_elevation(xy))) < 0.1
    assert np.array_equal(model_county_dem().sampler(mc.network.crs)(xy), z)  # file = memory
    res = run_audit(mc.network, mc.facilities, mc.demand, dem=dem, with_service_areas=False, run_date="2026-01-01")
    d = res.demand
    # the figures are the columns: recount them by hand
    cov = res.coverage
    assert cov.count("time_terrain") == int((d["terrain_time_min"] <= 15 + 1e-9).sum()) == int(d["covered_time_terrain"].sum())
    assert cov.counts["terrain_out"] == int((d["covered_time"] & ~d["covered_time_terrain"]).sum()) >= 1
    assert res.meta["terrain"]["slope_model"] == "tobler" and "Tobler" in res.meta["terrain"]["slope_source"]
    lines = "\n".join(cov.lines())
    assert "15 min walk at 0.8 m/s on terrain (Tobler 1993):" in lines and "taken out of the 15 min walk" in lines
    with pytest.raises(ParameterError, match="needs an elevation model"):
        run_audit(mc.network, mc.facilities, mc.demand, terrain=TerrainConfig(), with_service_areas=False)


def test_terrain_cli_and_bad_flags(tmp_path, capsys):
    from coverage.cli import main

    out = tmp_path / "t"
    assert main(["audit", "--quiet", "--date", "2026-01-01", "--dem", "model-county", "--slope-model", "din33466", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "on terrain (DIN 33466 / Valhalla):" in text and "pedestriancost.cc:201-218" in text
    import json

    assert json.loads((out / "parameters.json").read_text(encoding="utf-8"))["terrain"]["slope_model"] == "din33466"
    assert main(["audit", "--quiet", "--steps-seconds", "10", "--out", str(tmp_path / "u")]) != 0
    assert "need --dem" in capsys.readouterr().err
    assert main(["audit", "--quiet", "--dem", str(tmp_path / "missing.tif"), "--out", str(tmp_path / "v")]) != 0
    assert "missing.tif: no such DEM file" in capsys.readouterr().err


def test_geodesic_grid_constants():
    # the grid's UTM scale near x = 700 km: the projected 100 m is ~99.99 m on the ellipsoid
    assert grid_geo_m([0, 0], [100, 0])[0] == pytest.approx(100.0, rel=2e-4)
    assert pyproj.CRS("EPSG:32649").is_projected


def test_hostile_dem_label_is_inert(tmp_path):
    """A DEM's own description is text from a stranger's file: escaped in the map, report and
    workbook, never evaluated as a template."""
    import dataclasses

    from coverage.datasets.model_county import model_county
    from coverage.datasets.terrain import model_county_dem
    from coverage.publish.audit_package import committee_package, write_outputs

    mc = model_county()
    bad = "<script>alert(1)</script>{{ 6*7 }}~DEM"
    dem = dataclasses.replace(model_county_dem(), description=bad)
    res = run_audit(mc.network, mc.facilities, mc.demand, dem=dem, run_date="2026-01-01", with_service_areas=False)
    out = tmp_path / "o"
    paths = write_outputs(res, out)
    committee_package(res, out, map_html=paths["map"], pdf=False, map_picture=False)
    for name in ("audit_map.html", "audit_report.html"):
        page = (out / name).read_text(encoding="utf-8")
        assert "<script>alert(1)" not in page and "42~DEM" not in page, name
        assert "alert(1)" in page  # shown, escaped
    import json

    assert json.loads((out / "parameters.json").read_text(encoding="utf-8"))["terrain"]["dem_description"] == bad
