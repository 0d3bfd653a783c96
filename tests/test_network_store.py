"""RoadNetwork.save / RoadNetwork.load (coverage/engine/_store.py): one ``.npz`` file, no
pickle, checked on load; ``read_network`` and every ``--network`` flag accept it."""

from __future__ import annotations

import logging
import pickle
import time
import zipfile

import geopandas as gpd
import numpy as np
import pytest
from conftest import shared_file

import coverage
from coverage.engine import _store
from coverage.engine.network import RoadNetwork
from coverage.errors import CRSError, InputFileError
from coverage.inputs.osm import read_network

ARRAYS = ("node_xy", "node_lonlat", "node_osmid", "edge_u", "edge_v", "edge_len_m", "edge_ptr", "coord_xy", "coord_m")
log = logging.getLogger(__name__)


def assert_same(a: RoadNetwork, b: RoadNetwork) -> None:
    for name in ARRAYS:
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and x.shape == y.shape, name
        np.testing.assert_array_equal(x, y, err_msg=name)
    for name in ("edge_highway", "edge_name"):
        x, y = getattr(a, name), getattr(b, name)
        assert (x is None) == (y is None), name
        if x is not None:
            assert y.dtype == x.dtype and list(x) == list(y), name
    assert (a.crs, a.source, a.meta) == (b.crs, b.source, b.meta)


def points(lonlat: np.ndarray, prefix: str) -> gpd.GeoDataFrame:
    ids = [f"{prefix}{i}" for i in range(len(lonlat))]
    return gpd.GeoDataFrame({"id": ids}, geometry=gpd.points_from_xy(lonlat[:, 0], lonlat[:, 1]), crs="EPSG:4326")


def same_audit(a: RoadNetwork, b: RoadNetwork, facilities: gpd.GeoDataFrame, demand: gpd.GeoDataFrame) -> None:
    ra, rb = coverage.run_audit(a, facilities, demand), coverage.run_audit(b, facilities, demand)
    np.testing.assert_array_equal(ra.demand["dist_m"].to_numpy(), rb.demand["dist_m"].to_numpy())
    assert ra.demand["facility_id"].tolist() == rb.demand["facility_id"].tolist()


def test_model_county_round_trip(tmp_path):
    county = coverage.model_county()
    net = county.network
    path = net.save(tmp_path / "county.npz")
    assert path == tmp_path / "county.npz" and [p.name for p in tmp_path.iterdir()] == ["county.npz"]
    back = RoadNetwork.load(path)
    assert_same(net, back)
    assert_same(net, read_network(path))
    same_audit(net, back, county.facilities, county.demand)


def test_compacted_meta_round_trip(tmp_path):
    from coverage.engine.network import compact

    net = compact(coverage.model_county().network)
    assert net.meta
    assert_same(net, RoadNetwork.load(net.save(tmp_path / "c.ylnet.npz")))


def test_henan_round_trip_and_timing(tmp_path):
    osm = shared_file("osm", "qingzu_puyang_henan.osm.bz2")
    t0 = time.perf_counter()
    net = read_network(osm)
    parse_s = time.perf_counter() - t0
    path = net.save(tmp_path / "qingzu.npz")
    t0 = time.perf_counter()
    back = read_network(path)
    load_s = time.perf_counter() - t0
    log.info("qingzu: parse %.4f s, load %.4f s", parse_s, load_s)  # measured, never asserted
    assert net.edge_name is not None and net.edge_highway is not None
    assert_same(net, back)
    rng = np.random.default_rng(7)
    lonlat = net.node_lonlat[net.components == 0]  # the largest piece: every home reachable
    fac = points(lonlat[rng.choice(len(lonlat), 5, replace=False)], "F")
    dem = points(lonlat[rng.choice(len(lonlat), 60, replace=False)] + rng.normal(0, 2e-4, (60, 2)), "D")
    same_audit(net, back, fac, dem)


def test_saved_crs_is_kept(tmp_path):
    net = coverage.model_county().network
    path = net.save(tmp_path / "n.npz")
    assert read_network(path, crs=net.crs).crs == net.crs
    with pytest.raises(CRSError, match=r"n\.npz: the saved network is in EPSG:32649, not EPSG:32650"):
        read_network(path, crs="EPSG:32650")
    with pytest.raises(InputFileError, match=r"n\.npz: .*drop --edges"):
        read_network(path, edges_path=path)


def _arrays(net: RoadNetwork, tmp_path) -> dict[str, np.ndarray]:
    path = net.save(tmp_path / "ok.npz")
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _write(path, arrays) -> None:
    with path.open("wb") as fh:
        np.savez(fh, **arrays)


def test_truncated(tmp_path):
    path = coverage.model_county().network.save(tmp_path / "t.npz")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputFileError, match=r"t\.npz: not a usable saved road network: .*damaged or truncated.*Fix:"):
        RoadNetwork.load(path)
    path.write_bytes(b"")
    with pytest.raises(InputFileError, match=r"t\.npz: "):
        read_network(path)


def test_wrong_version(tmp_path):
    arrays = _arrays(coverage.model_county().network, tmp_path)
    arrays["version"] = np.array(_store.VERSION + 1)
    _write(tmp_path / "v.npz", arrays)
    with pytest.raises(InputFileError, match=rf"v\.npz: .*format version {_store.VERSION + 1}, this program reads version {_store.VERSION}"):
        read_network(tmp_path / "v.npz")
    del arrays["format"]
    _write(tmp_path / "f.npz", arrays)
    with pytest.raises(InputFileError, match=r"f\.npz: .*'format' is missing"):
        RoadNetwork.load(tmp_path / "f.npz")


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda a: a["edge_u"].__setitem__(3, 10**6), r"1 edge_u indices lie outside the 661 nodes \(e\.g\. edge 3\)"),
        (lambda a: a["edge_v"].__setitem__(0, -1), r"1 edge_v indices lie outside"),
        (lambda a: a["edge_len_m"].__setitem__(1, np.nan), r"1 edge lengths are negative or not finite \(e\.g\. edge 1\)"),
        (lambda a: a["edge_len_m"].__setitem__(2, -5.0), r"edge lengths are negative"),
        (lambda a: a.update(edge_ptr=a["edge_ptr"][:-1]), r"'edge_ptr' has shape \(765,\)"),
        (lambda a: a.update(node_xy=a["node_xy"].astype(np.float32).astype(np.int64)), r"'node_xy' has dtype int64"),
        (lambda a: a["edge_ptr"].__setitem__(-1, 10**6), r"edge_ptr does not split"),
        (lambda a: a.pop("coord_m"), r"array 'coord_m' is missing"),
        (lambda a: a.update(meta=np.array("[1")), r"its meta is not JSON"),
    ],
)
def test_inconsistent_arrays(tmp_path, change, match):
    arrays = _arrays(coverage.model_county().network, tmp_path)
    change(arrays)
    _write(tmp_path / "bad.npz", arrays)
    with pytest.raises(InputFileError, match=r"bad\.npz: not a usable saved road network: .*" + match):
        RoadNetwork.load(tmp_path / "bad.npz")


def test_pickle_is_refused(tmp_path):
    arrays = _arrays(coverage.model_county().network, tmp_path)
    arrays["edge_name"] = np.array([object()] * len(arrays["edge_u"]), dtype=object)
    with (tmp_path / "obj.npz").open("wb") as fh:
        np.savez(fh, **arrays)  # allow_pickle=True by default: an object array is pickled
    with pytest.raises(InputFileError, match=r"obj\.npz: .*pickled Python objects, which are never loaded"):
        read_network(tmp_path / "obj.npz")
    (tmp_path / "plain.npz").write_bytes(pickle.dumps({"edge_u": [1, 2]}))
    with pytest.raises(InputFileError, match=r"plain\.npz: .*pickled"):
        RoadNetwork.load(tmp_path / "plain.npz")
    np.save(tmp_path / "single.npy", np.arange(3))
    (tmp_path / "single.npy").rename(tmp_path / "single.npz")
    with pytest.raises(InputFileError, match=r"single\.npz: .*single array"):
        RoadNetwork.load(tmp_path / "single.npz")


def test_not_a_zip_and_missing(tmp_path):
    (tmp_path / "text.npz").write_text("hello", encoding="utf-8")
    with pytest.raises(InputFileError, match=r"text\.npz: not a usable saved road network"):
        RoadNetwork.load(tmp_path / "text.npz")
    with pytest.raises(InputFileError, match=r"gone\.npz: file not found"):
        read_network(tmp_path / "gone.npz")
    assert zipfile.is_zipfile(coverage.model_county().network.save(tmp_path / "ok.npz"))


def test_failed_save_leaves_nothing(tmp_path, monkeypatch):
    net = coverage.model_county().network

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(_store.np, "savez", boom)
    with pytest.raises(OSError, match="disk full"):
        net.save(tmp_path / "x.npz")
    assert list(tmp_path.iterdir()) == []


def test_cli_audit_takes_the_saved_network(tmp_path):
    from pathlib import Path

    import pandas as pd

    from coverage.cli.commands import main

    bad = Path(__file__).parent / "data" / "bad"
    saved = read_network(bad / "town.osm").save(tmp_path / "town.npz")
    tables = {}
    for name, network in (("osm", bad / "town.osm"), ("npz", saved)):
        out = tmp_path / name
        argv = ["audit", "--network", str(network), "--facilities", str(bad / "town_facilities.csv"),
                "--demand", str(bad / "town_demand.csv"), "--out", str(out)]
        assert main(argv) == 0
        tables[name] = sorted(p.relative_to(out) for p in out.rglob("*.csv"))
        assert tables[name]
    for rel in tables["osm"]:
        a = pd.read_csv(tmp_path / "osm" / rel)
        b = pd.read_csv(tmp_path / "npz" / rel)
        if "dist_m" in a:
            np.testing.assert_array_equal(a["dist_m"].to_numpy(), b["dist_m"].to_numpy())
    assert tables["osm"] == tables["npz"]
