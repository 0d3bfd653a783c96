"""Province batch (coverage.batch) on a real 2-worker Dask LocalCluster (processes).

The oracle is the single-process audit of the whole area (:func:`coverage.audit.run.run_audit`):
cut into regions, run on the cluster and put back together, every home's row must equal it
bit for bit; with the halo halved it must *not* (so the equality tests can fail).
"""

from __future__ import annotations

import json
import os
import shutil
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from coverage.audit.run import run_audit
from coverage.batch import regions_from_column, regions_from_polygons, run_batch, split_budget
from coverage.batch.clip import SharedNetwork, halo_m, write_shared_network
from coverage.batch.task import CRASH_ONCE_ENV
from coverage.config import AuditConfig
from coverage.datasets.model_county import model_county
from coverage.errors import InputFileError

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
HENAN = SHARED / "osm" / "qingzu_puyang_henan.osm.bz2"
HANGZHOU = SHARED / "networks"
COMPARED = ["facility_id", "dist_m", "time_min", "covered_radius", "covered_time", "within_circle", "euclid_m",
            "false_coverage", "access_m", "status", "weight"]  # fmt: skip


@pytest.fixture(scope="module")
def marker(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fault") / "crashed-once"


@pytest.fixture(scope="module")
def cluster(marker: Path) -> object:
    """A real LocalCluster: 2 worker processes, 1 thread each. The worker running region
    "crashme" exits abruptly once (fault injection read by the workers' environment)."""
    from distributed import LocalCluster

    os.environ[CRASH_ONCE_ENV] = f"0001-crashme:{marker}"
    c = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=50)
    yield c
    c.close()
    os.environ.pop(CRASH_ONCE_ENV, None)


def _rows(res) -> pd.DataFrame:
    return res.rows().sort_values("row").reset_index(drop=True)


def _differences(rows: pd.DataFrame, ref: gpd.GeoDataFrame) -> dict[str, int]:
    ref = ref.reset_index(drop=True)
    assert len(rows) == len(ref)
    out = {}
    for col in COMPARED:
        a, b = rows[col].to_numpy(), ref[col].to_numpy()
        if a.dtype.kind == "f":
            same = (a == b) | (np.isinf(a) & np.isinf(b))  # bit for bit: no tolerance
        else:
            same = a.astype(str) == b.astype(str)
        out[col] = int((~same).sum())
    return out


def _points(lonlat: np.ndarray, n: int, rng: np.random.Generator, prefix: str, spread: float = 0.0003) -> gpd.GeoDataFrame:
    pick = lonlat[rng.integers(0, len(lonlat), n)] + rng.normal(0, spread, (n, 2))
    frame = {"id": [f"{prefix}{i}" for i in range(n)], "name": [f"{prefix.upper()} {i}" for i in range(n)]}
    if prefix == "h":
        frame["elderly"] = rng.integers(1, 30, n)
    return gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(pick[:, 0], pick[:, 1]), crs="EPSG:4326")


def _grid(lonlat: np.ndarray, n: int) -> gpd.GeoDataFrame:
    lo, hi = lonlat.min(0) - 0.01, lonlat.max(0) + 0.01
    xs, ys = np.linspace(lo[0], hi[0], n + 1), np.linspace(lo[1], hi[1], n + 1)
    boxes = [shapely.box(xs[i], ys[j], xs[i + 1], ys[j + 1]) for i in range(n) for j in range(n)]
    return gpd.GeoDataFrame({"zone_id": [f"g{i}" for i in range(n * n)]}, geometry=boxes, crs="EPSG:4326")


def _check_exact_and_halo(net, fac, dem, zones, cfg, tmp_path: Path, cluster) -> tuple[dict, dict]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = run_audit(net, fac, dem, config=cfg, with_service_areas=False).demand
    regions = regions_from_polygons(zones)
    full = run_batch(net, fac, dem, regions, tmp_path / "full", config=cfg, scheduler=cluster.scheduler_address,
                     region_maps=False)  # fmt: skip
    half = run_batch(net, fac, dem, regions, tmp_path / "half", config=cfg, scheduler=cluster.scheduler_address,
                     region_maps=False, halo_m=halo_m(cfg.search_cutoff_m, cfg.snap_tolerance_m) / 2)  # fmt: skip
    assert set(full.table["status"]) <= {"ok", "empty"}, full.table[["region_id", "error"]]
    assert (full.table["status"] == "ok").sum() >= 3
    return _differences(_rows(full), ref), _differences(_rows(half), ref)


@pytest.mark.shared
@pytest.mark.skipif(not HENAN.exists(), reason="needs ../shared/data/osm/qingzu_puyang_henan.osm.bz2")
def test_township_in_three_pieces_equals_the_single_process_audit(tmp_path: Path, cluster) -> None:
    from coverage.inputs.osm import read_network

    net = read_network(HENAN)
    rng = np.random.default_rng(7)
    ll, xy = net.node_lonlat, net.node_xy
    # three pieces: a 2 km square in the middle of the town, the rest cut west / east of it
    c = np.median(xy, 0)
    middle = shapely.box(c[0] - 1000, c[1] - 1000, c[0] + 1000, c[1] + 1000)
    lo, hi = xy.min(0) - 2000, xy.max(0) + 2000
    west = shapely.box(lo[0], lo[1], c[0], hi[1]).difference(middle)
    east = shapely.box(c[0], lo[1], hi[0], hi[1]).difference(middle)
    zones = gpd.GeoDataFrame({"zone_id": ["middle", "west", "east"]}, geometry=[middle, west, east], crs=net.crs).to_crs(4326)
    # facilities 2.4-3 km from the middle square: its homes walk out of it to reach them, farther
    # than half the halo (3,000 m search limit + 500 m snap tolerance) reaches
    ring = np.flatnonzero((shapely.distance(middle, shapely.points(xy)) > 2400) & (shapely.distance(middle, shapely.points(xy)) < 3000))
    pick = rng.choice(ring, 6, replace=False)
    fac = gpd.GeoDataFrame({"id": [f"f{i}" for i in range(6)]}, geometry=gpd.points_from_xy(ll[pick, 0], ll[pick, 1]), crs="EPSG:4326")
    dem = _points(ll, 4000, rng, "h")
    full, half = _check_exact_and_halo(net, fac, dem, zones, AuditConfig(cutoff_m=3000), tmp_path, cluster)
    assert full == dict.fromkeys(COMPARED, 0)
    assert half["dist_m"] > 0 and half["status"] > 0  # without the whole halo, homes lose their facility
    # the straight line is measured to every facility of the area, whatever the roads' halo
    assert half["euclid_m"] == 0 and half["within_circle"] == 0


@pytest.mark.shared
@pytest.mark.skipif(not (HANGZHOU / "hangzhou_nodes.parquet").exists(), reason="needs ../shared/data/networks (Hangzhou)")
def test_hangzhou_crop_in_a_grid_equals_the_single_process_audit(tmp_path: Path, cluster) -> None:
    from coverage.engine.network import network_from_segments

    nodes = pd.read_parquet(HANGZHOU / "hangzhou_nodes.parquet")
    edges = pd.read_parquet(HANGZHOU / "hangzhou_edges.parquet")
    lon, lat = nodes["lon"].to_numpy(), nodes["lat"].to_numpy()
    h, xe, ye = np.histogram2d(lon, lat, bins=60)  # the city centre: the densest cell of roads
    i, j = np.unravel_index(np.argmax(h), h.shape)
    cx, cy = (xe[i] + xe[i + 1]) / 2, (ye[j] + ye[j + 1]) / 2
    inside = (np.abs(lon - cx) < 0.05) & (np.abs(lat - cy) < 0.04)  # about 10 km × 9 km of the city
    u, v = edges["u"].to_numpy(), edges["v"].to_numpy()
    keep = inside[u] & inside[v]
    used = np.unique(np.concatenate([u[keep], v[keep]]))
    su, sv = np.searchsorted(used, u[keep]), np.searchsorted(used, v[keep])
    net = network_from_segments(lon[used], lat[used], su, sv, seg_len_m=edges["length_m"].to_numpy()[keep], crs="EPSG:32651")
    rng = np.random.default_rng(3)
    ll = net.node_lonlat
    zones = _grid(ll, 3)
    # facilities 2.4-3 km from the middle cell: its homes walk farther out than half the halo reaches
    middle = zones.to_crs(net.crs).geometry.iloc[4]
    d = shapely.distance(middle, shapely.points(net.node_xy))
    ring = np.flatnonzero((d > 2400) & (d < 3000))
    pick = rng.choice(ring, 8, replace=False)
    fac = gpd.GeoDataFrame({"id": [f"f{i}" for i in range(8)]}, geometry=gpd.points_from_xy(ll[pick, 0], ll[pick, 1]), crs="EPSG:4326")
    dem = _points(ll, 20_000, rng, "h")
    cfg = AuditConfig(cutoff_m=3000)
    full, half = _check_exact_and_halo(net, fac, dem, zones, cfg, tmp_path, cluster)
    assert full == dict.fromkeys(COMPARED, 0)
    assert half["dist_m"] > 0
    assert half["euclid_m"] == 0 and half["within_circle"] == 0


def _county():
    mc = model_county()
    towns = mc.zones.dissolve(by="township", as_index=False)[["township", "geometry"]].rename(columns={"township": "zone_id"})
    return mc, towns


def test_model_county_townships_equal_the_audit_and_the_rollup_reads_the_rows(tmp_path: Path, cluster) -> None:
    mc, towns = _county()
    ref = run_audit(mc.network, mc.facilities, mc.demand, with_service_areas=False)
    res = run_batch(mc.network, mc.facilities, mc.demand, regions_from_polygons(towns), tmp_path / "b",
                    scheduler=cluster.scheduler_address, target=0.8)  # fmt: skip
    assert _differences(_rows(res), ref.demand) == dict.fromkeys(COMPARED, 0)
    cov = ref.coverage
    t = res.totals
    assert int(t["n_covered_radius"]) == int(ref.demand["covered_radius"].sum())
    assert t["weighted_share_time"] == pytest.approx(float((ref.demand["weight"] * ref.demand["covered_time"]).sum() / ref.demand["weight"].sum()))
    assert int(t["n_false_coverage"]) == int(ref.demand["false_coverage"].sum()) and cov is not None
    # per region: the rows of each township, counted by hand
    rows = _rows(res)
    for _, r in res.table.iterrows():
        mine = rows[rows["region_id"] == r["region_id"]]
        assert r["n_homes"] == len(mine) and r["n_covered_radius"] == int(mine["covered_radius"].sum())
        assert r["meets_target"] == (r["weighted_share_radius"] >= 0.8)
        assert (tmp_path / "b" / r["map"]).exists()
    for name in ("province.csv", "province.xlsx", "province.gpkg", "province_map.html", "batch.json"):
        assert (tmp_path / "b" / name).exists(), name
    html = (tmp_path / "b" / "province_map.html").read_text(encoding="utf-8")
    assert "regions/0000" in html and "石桥镇" in html


def test_rerun_skips_unchanged_regions_and_redoes_changed_ones(tmp_path: Path, cluster) -> None:
    mc, towns = _county()
    regions = regions_from_polygons(towns)
    first = run_batch(mc.network, mc.facilities, mc.demand, regions, tmp_path / "b", scheduler=cluster.scheduler_address,
                      region_maps=False)  # fmt: skip
    again = run_batch(mc.network, mc.facilities, mc.demand, regions, tmp_path / "b", scheduler=cluster.scheduler_address,
                      region_maps=False)  # fmt: skip
    assert all(s.get("reused") for s in again.summaries)
    pd.testing.assert_frame_equal(_rows(first), _rows(again))
    # one home's weight changes: only its region runs again
    dem = mc.demand.copy()
    dem.loc[dem.index[0], "elderly"] = 999
    third = run_batch(mc.network, mc.facilities, dem, regions, tmp_path / "b", scheduler=cluster.scheduler_address,
                      region_maps=False)  # fmt: skip
    reused = {s["region_id"]: bool(s.get("reused")) for s in third.summaries}
    home_region = third.rows().set_index("row").loc[0, "region_id"]
    assert reused[home_region] is False and sum(reused.values()) == len(reused) - 1


def test_a_killed_worker_is_retried_and_the_result_is_unchanged(tmp_path: Path, cluster, marker: Path) -> None:
    mc, towns = _county()
    towns = towns.assign(zone_id=["a-town", "crashme"])
    regions = regions_from_polygons(towns)
    assert regions.slugs[1] == "0001-crashme" and not marker.exists()
    res = run_batch(mc.network, mc.facilities, mc.demand, regions, tmp_path / "b", scheduler=cluster.scheduler_address,
                    region_maps=False)  # fmt: skip
    assert marker.exists()  # the worker did die once
    assert (res.table["status"] == "ok").all()
    ref = run_audit(mc.network, mc.facilities, mc.demand, with_service_areas=False)
    assert _differences(_rows(res), ref.demand) == dict.fromkeys(COMPARED, 0)


def test_bad_regions_fail_alone_and_nothing_is_lost(tmp_path: Path, cluster) -> None:
    mc, towns = _county()
    far = shapely.box(120.0, 30.0, 120.05, 30.05)  # no road for 1000 km, but one home inside
    empty = shapely.box(0.0, 0.0, 0.01, 0.01)
    zones = gpd.GeoDataFrame({"zone_id": [*towns["zone_id"], "far", "empty"]},
                             geometry=[*towns.geometry, far, empty], crs="EPSG:4326")  # fmt: skip
    dem = pd.concat([mc.demand, gpd.GeoDataFrame({"id": ["lost", "stray"], "elderly": [5, 7]},
                    geometry=gpd.points_from_xy([120.02, 100.0], [30.02, 10.0]), crs="EPSG:4326")], ignore_index=True)  # fmt: skip
    res = run_batch(mc.network, mc.facilities, dem, regions_from_polygons(zones), tmp_path / "b",
                    scheduler=cluster.scheduler_address, region_maps=False)  # fmt: skip
    status = dict(zip(res.table["region_id"], res.table["status"]))
    assert status == {towns["zone_id"].iloc[0]: "ok", towns["zone_id"].iloc[1]: "ok", "far": "failed", "empty": "empty"}
    err = res.table.set_index("region_id").loc["far", "error"]
    assert "no road" in err and "far" in err
    # nothing lost: every home is in a region's rows, a failed region's count, or the outside list
    assert res.totals["n_homes"] == len(mc.demand)
    assert list(res.outside["id"]) == ["stray"]
    outside_csv = pd.read_csv(tmp_path / "b" / "outside_regions.csv", encoding="utf-8-sig")
    assert list(outside_csv["id"]) == ["stray"]


def test_overlapping_regions_are_refused_before_anything_is_written(tmp_path: Path) -> None:
    mc, towns = _county()
    grown = towns.assign(geometry=towns.to_crs(32649).buffer(300).to_crs(4326))
    with pytest.raises(InputFileError, match="overlap") as exc:
        run_batch(mc.network, mc.facilities, mc.demand, regions_from_polygons(grown), tmp_path / "b", scheduler="sync")
    assert "石桥镇" in str(exc.value) and "城关街道" in str(exc.value)
    assert not any(p.is_file() for p in (tmp_path / "b").rglob("*"))


def test_regions_from_a_demand_column(tmp_path: Path) -> None:
    mc = model_county()
    dem = mc.demand.copy()
    zone_town = mc.zones.set_index("zone_id")["township"]
    dem["town"] = dem["zone_id"].map(zone_town) if "zone_id" in dem else None
    if dem["town"].isna().all():
        pytest.skip("the model county's demand names no zone")
    res = run_batch(mc.network, mc.facilities, dem, regions_from_column(dem, "town"), tmp_path / "b", scheduler="sync",
                    region_maps=False)  # fmt: skip
    ref = run_audit(mc.network, mc.facilities, dem, with_service_areas=False)
    assert _differences(_rows(res), ref.demand.loc[dem["town"].notna().to_numpy()]) == dict.fromkeys(COMPARED, 0)


def test_site_selection_per_region_and_a_budget_split_by_need(tmp_path: Path) -> None:
    mc, towns = _county()
    regions = regions_from_polygons(towns)
    from coverage.batch import SitingSpec

    res = run_batch(mc.network, mc.facilities, mc.demand, regions, tmp_path / "k", scheduler="sync", region_maps=False,
                    siting=SitingSpec(model="mclp", k=1))  # fmt: skip
    assert (res.table["siting_status"] == "optimal").all(), res.table[["siting_status", "error"]]
    assert (res.table["siting_new"] <= 1).all()
    proposed = pd.concat([pd.read_parquet(tmp_path / "k" / "regions" / sl / "proposed.parquet") for sl in res.regions.slugs])
    assert len(proposed) == res.table["siting_new"].sum() and set(proposed["region_id"]) <= set(res.table["region_id"])
    budget = run_batch(mc.network, mc.facilities, mc.demand, regions, tmp_path / "budget", scheduler="sync",
                       region_maps=False, siting=SitingSpec(model="mclp"), budget=3)  # fmt: skip
    need = (res.table["weight"] - res.table["weight"] * res.table["weighted_share_radius"]).to_numpy()
    ks = split_budget(need, 3)
    got = budget.table["siting_k"].fillna(0).astype(int).to_numpy()
    assert got.sum() == 3 and (got == ks).all()


def test_split_budget_by_largest_remainder() -> None:
    assert split_budget(np.array([50.0, 30.0, 20.0]), 10).tolist() == [5, 3, 2]
    assert split_budget(np.array([1.0, 1.0, 1.0]), 2).tolist() == [1, 1, 0]  # ties: listed first
    assert split_budget(np.array([0.0, 0.0]), 4).tolist() == [0, 0]
    got = split_budget(np.array([7.0, 2.0, 1.0]), 4)  # quotas 2.8, 0.8, 0.4
    assert got.tolist() == [3, 1, 0] and got.sum() == 4


def test_shared_network_pieces_keep_every_array(tmp_path: Path) -> None:
    net = model_county().network
    write_shared_network(net, tmp_path / "net")
    shared = SharedNetwork(tmp_path / "net")
    whole = shared.piece(np.arange(net.n_edges))
    for name in ("node_xy", "node_lonlat", "node_osmid", "edge_u", "edge_v", "edge_len_m", "edge_ptr", "coord_xy", "coord_m"):
        np.testing.assert_array_equal(getattr(whole, name), getattr(net, name), err_msg=name)
    if net.edge_name is not None:
        assert list(whole.edge_name) == list(net.edge_name)
    some = np.arange(0, net.n_edges, 3)
    piece = shared.piece(some)
    # the piece's edges are the chosen ones, in order, with their own nodes and geometry
    np.testing.assert_array_equal(piece.edge_len_m, net.edge_len_m[some])
    np.testing.assert_array_equal(piece.node_osmid[piece.edge_u], net.node_osmid[net.edge_u[some]])
    for k in (0, len(some) - 1):
        a = piece.coord_xy[piece.edge_ptr[k] : piece.edge_ptr[k + 1]]
        b = net.coord_xy[net.edge_ptr[some[k]] : net.edge_ptr[some[k] + 1]]
        np.testing.assert_array_equal(a, b)
    # the same network written again is kept as it is (content hash)
    stamp = (tmp_path / "net" / "manifest.json").stat().st_mtime_ns
    assert write_shared_network(net, tmp_path / "net") == shared.hash
    assert (tmp_path / "net" / "manifest.json").stat().st_mtime_ns == stamp
    manifest = json.loads((tmp_path / "net" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["format"] == "coverage.SharedNetwork"
    shutil.rmtree(tmp_path / "net")


def test_a_sliver_between_neighbours_is_no_overlap() -> None:
    from coverage.batch.regions import assign_homes

    # two neighbours whose shared boundary was drawn twice, a nanometre apart
    a = shapely.box(112.70, 25.20, 112.80, 25.30)
    b = shapely.box(112.80 - 1e-11, 25.20, 112.90, 25.30)
    zones = gpd.GeoDataFrame({"zone_id": ["a", "b"]}, geometry=[a, b], crs="EPSG:4326")
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy([112.75, 112.80 - 5e-12, 112.85, 113.5], [25.25] * 4), crs="EPSG:4326")
    xy = np.column_stack([pts.geometry.x, pts.geometry.y])
    assert assign_homes(regions_from_polygons(zones), pts, xy, "EPSG:4326").tolist() == [0, 0, 1, -1]
    # a real overlap (a tenth of each region) is refused, naming both
    c = shapely.box(112.79, 25.20, 112.90, 25.30)
    zones = gpd.GeoDataFrame({"zone_id": ["a", "c"]}, geometry=[a, c], crs="EPSG:4326")
    with pytest.raises(InputFileError, match="'a'.*'c'.*overlap"):
        assign_homes(regions_from_polygons(zones), pts.iloc[[1]], xy[[1]], "EPSG:4326")


def test_workers_keep_to_their_thread_share(cluster) -> None:
    """A worker given one thread by its scheduler snaps and reads Parquet with one (two
    workers on two cores would otherwise each use both); outside a worker: every core."""
    from distributed import Client

    from coverage.batch.task import _worker_threads

    with Client(cluster.scheduler_address) as client:
        assert client.submit(_worker_threads, pure=False).result() == 1
    assert _worker_threads() is None


def test_region_figures_are_the_sums_of_its_rows(tmp_path: Path) -> None:
    """The roll-up sums each region's rows file; here counted by hand."""
    from coverage.batch.rollup import read_figures

    rows = pd.DataFrame({
        "region_id": "a", "weight": [2.0, 3.0, 5.0, 7.0, 11.0],
        "covered_radius": [True, True, False, False, False], "covered_time": [True, False, True, False, False],
        "status": ["ok", "ok", "ok", "unreachable", "beyond_cutoff"], "false_coverage": [False, False, True, False, False],
    })  # fmt: skip
    rows.to_parquet(tmp_path / "a.parquet")
    rows.iloc[:1].assign(region_id="b").to_parquet(tmp_path / "b.parquet")
    f = read_figures({"a": tmp_path / "a.parquet", "b": tmp_path / "b.parquet", "gone": tmp_path / "missing.parquet"})
    assert f.loc["a"].to_dict() == {"n": 5, "w": 28.0, "n_radius": 2, "n_time": 2, "n_both": 1, "w_radius": 5.0, "w_time": 7.0,
                                    "w_both": 2.0, "n_unreachable": 1, "n_beyond_limit": 1, "n_false_coverage": 1}  # fmt: skip
    assert f.loc["b", "n"] == 1 and f.loc["b", "n_unreachable"] == 0 and "gone" not in f.index


def test_batch_on_a_population_grid_keeps_every_person(tmp_path: Path, capsys) -> None:
    """``coverage batch --demand-raster``: the grid's people are audited in the regions or
    listed outside every region; their sum is the raster's (read independently)."""
    import rasterio

    from coverage.cli.commands import main
    from coverage.datasets.population import write_population

    tif = write_population(tmp_path / "pop.tif")
    with rasterio.open(tif) as src:
        band = src.read(1, masked=True)
        total = float(band[band > 0].sum())
    out = tmp_path / "b"
    assert main(["batch", "--demand-raster", str(tif), "--scheduler", "sync", "--no-region-maps", "--out", str(out), "--quiet"]) == 0
    table = pd.read_csv(out / "province.csv", encoding="utf-8-sig")
    audited = float(table.loc[table["status"] == "ok", "weight"].sum())
    outside = pd.read_csv(out / "outside_regions.csv", encoding="utf-8-sig")
    assert len(outside) > 0  # the generated grid reaches beyond the two townships
    assert audited + float(outside["elderly"].sum()) == pytest.approx(total, rel=1e-4)
    assert "raster demand:" in capsys.readouterr().out
    grid = json.loads((out / "batch.json").read_text(encoding="utf-8"))["demand_raster"]
    assert grid["people_audited"] + grid["people_outside_regions"] == pytest.approx(total, rel=1e-4)
