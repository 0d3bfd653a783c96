"""Road-network readers: OSM XML, bz2, PBF, GraphML, node/edge tables; bad files."""

from __future__ import annotations

import bz2

import numpy as np
import pandas as pd
import pytest
from conftest import grid_network, shared_file

from coverage.engine.network import compact, component_report, utm_crs_for
from coverage.errors import InputFileError, NetworkError
from coverage.inputs.osm import read_network, read_network_tables, read_osm_features, walkable

QINGZU = ("osm", "qingzu_puyang_henan.osm.bz2")


def test_walk_filter():
    assert walkable({"highway": "residential"}) == "residential"
    assert walkable({"highway": "motorway"}) is None
    assert walkable({"highway": "cycleway"}) is None
    assert walkable({"highway": "cycleway", "foot": "yes"}) == "cycleway"
    assert walkable({"highway": "track", "access": "private"}) is None
    assert walkable({"highway": "pedestrian", "area": "yes"}) is None
    assert walkable({"highway": "service", "service": "private"}) is None
    assert walkable({"highway": "primary", "foot": "no"}) is None
    assert walkable({"building": "yes"}) is None


def test_utm_zone():
    assert utm_crs_for(115.0, 35.5) == "EPSG:32650"
    assert utm_crs_for(-102.3, 21.9) == "EPSG:32613"
    assert utm_crs_for(151.2, -33.9) == "EPSG:32756"


@pytest.mark.shared
def test_read_osm_bz2_real_township():
    net = read_network(shared_file(*QINGZU))
    assert net.crs == "EPSG:32650"
    # the file's walkable ways: unclassified, residential, tertiary, primary
    assert set(net.edge_highway) <= {"unclassified", "residential", "tertiary", "primary"}
    assert 600 < net.n_nodes < 800
    assert 250_000 < net.edge_len_m.sum() < 350_000
    # polylines start and end at their nodes, offsets run 0..length
    p = net.edge_ptr
    assert np.allclose(net.coord_xy[p[:-1]], net.node_xy[net.edge_u])
    assert np.allclose(net.coord_xy[p[1:] - 1], net.node_xy[net.edge_v])
    assert np.allclose(net.coord_m[p[1:] - 1], net.edge_len_m)
    # disconnected pieces are kept and reported
    rep = component_report(net)
    assert len(rep) > 1 and rep.n_nodes.sum() == net.n_nodes
    assert rep.share_length.iloc[0] > 0.95


@pytest.mark.shared
def test_pbf_and_graphml_give_the_same_network(tmp_path):
    import osmium

    src = shared_file(*QINGZU)
    xml = read_network(src)
    pbf = tmp_path / "qingzu.osm.pbf"
    with osmium.SimpleWriter(str(pbf)) as w:
        for obj in osmium.FileProcessor(str(src)):
            w.add(obj)
    net = read_network(pbf)
    assert net.n_nodes == xml.n_nodes and net.n_edges == xml.n_edges
    assert np.allclose(net.edge_len_m, xml.edge_len_m)
    # GraphML written by osmnx from the same roads (both directions, with geometry)
    import networkx as nx
    import osmnx as ox
    import shapely

    g = nx.MultiDiGraph(crs="EPSG:4326")
    for i, (lon, lat) in enumerate(xml.node_lonlat):
        g.add_node(int(xml.node_osmid[i]), x=float(lon), y=float(lat))
    lines = [np.asarray(line.coords) for line in xml.edges_frame(to_wgs84=True).geometry]  # each edge's polyline in WGS-84
    for e in range(xml.n_edges):
        u, v = int(xml.node_osmid[xml.edge_u[e]]), int(xml.node_osmid[xml.edge_v[e]])
        geom = shapely.LineString(lines[e])
        g.add_edge(u, v, length=float(xml.edge_len_m[e]), geometry=geom, highway=str(xml.edge_highway[e]))
        g.add_edge(v, u, length=float(xml.edge_len_m[e]), geometry=shapely.LineString(lines[e][::-1]), highway=str(xml.edge_highway[e]))
    gml = tmp_path / "qingzu.graphml"
    ox.save_graphml(g, gml)
    net2 = read_network(gml)
    assert net2.crs == xml.crs
    assert net2.n_nodes == xml.n_nodes
    assert net2.edge_len_m.sum() == pytest.approx(xml.edge_len_m.sum(), rel=1e-9)
    # same shortest-path distances between the same OSM nodes
    from scipy.sparse.csgraph import dijkstra

    o1 = np.argsort(xml.node_osmid)
    o2 = np.argsort(net2.node_osmid)
    d1 = dijkstra(xml.csr, indices=o1[:5])[:, o1]
    d2 = dijkstra(net2.csr, indices=o2[:5])[:, o2]
    assert np.allclose(d1, d2, atol=1e-6)


def test_pyrosm_shipped_pbf_reads():
    pyrosm = pytest.importorskip("pyrosm", reason="pyrosm (optional extra 'osmdata') not installed")
    path = pyrosm.get_data("test_pbf")
    net = read_network(path)
    assert net.n_edges > 100
    assert net.crs.startswith("EPSG:326")


def test_node_edge_tables(tmp_path):
    nodes = pd.DataFrame({"node_id": [10, 20, 30], "lon": [113.0, 113.001, 113.002], "lat": [23.0, 23.0, 23.0]})
    edges = pd.DataFrame({"u": [10, 20], "v": [20, 30], "length_m": [102.5, 103.0]})
    nodes.to_parquet(tmp_path / "n.parquet")
    edges.to_parquet(tmp_path / "e.parquet")
    net = read_network_tables(tmp_path / "n.parquet", tmp_path / "e.parquet")
    assert net.edge_len_m.tolist() == [102.5, 103.0]
    assert net.node_osmid.tolist() == [10, 20, 30]
    edges.loc[1, "v"] = 99
    edges.to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(NetworkError, match=r"bad.csv: 1 edges name nodes missing"):
        read_network(tmp_path / "n.parquet", edges_path=tmp_path / "bad.csv")


def test_compact_keeps_distances():
    net, _ = grid_network(6, 100.0, drop={((2, 2), (3, 2)), ((2, 3), (3, 3))})
    c = compact(net)
    assert c.n_nodes < net.n_nodes
    assert c.edge_len_m.sum() == pytest.approx(net.edge_len_m.sum())
    from scipy.sparse.csgraph import dijkstra

    keep = np.flatnonzero(np.isin(net.node_osmid, c.node_osmid))
    full = dijkstra(net.csr, indices=keep)[:, keep]
    small = dijkstra(c.csr)
    assert np.allclose(full, small)


@pytest.mark.shared
def test_bad_osm_files(tmp_path):
    text = bz2.decompress(shared_file(*QINGZU).read_bytes())
    trunc = tmp_path / "truncated.osm"
    trunc.write_bytes(text[: len(text) // 2])
    with pytest.raises(NetworkError, match="truncated.osm: cannot parse"):
        read_network(trunc)
    empty = tmp_path / "empty.osm"
    empty.write_bytes(b"")
    with pytest.raises(NetworkError, match="empty.osm: the file is empty"):
        read_network(empty)
    noroad = tmp_path / "buildings.osm"
    noroad.write_text(
        '<?xml version="1.0"?><osm version="0.6"><node id="1" lat="1" lon="1"/><node id="2" lat="1.001" lon="1"/>'
        '<way id="5"><nd ref="1"/><nd ref="2"/><tag k="highway" v="motorway"/></way></osm>'
    )
    with pytest.raises(NetworkError, match="no walkable roads"):
        read_network(noroad)
    with pytest.raises(InputFileError, match="file not found"):
        read_network(tmp_path / "missing.osm.pbf")
    with pytest.raises(InputFileError, match="unknown network file type"):
        (tmp_path / "roads.shp").write_text("x")
        read_network(tmp_path / "roads.shp")


@pytest.mark.shared
def test_osm_features_villages():
    df = read_osm_features(shared_file(*QINGZU), tags={"place": {"village", "hamlet", "town"}})
    counts = df["value"].value_counts().to_dict()
    assert counts == {"village": 54, "hamlet": 4, "town": 2}
    assert df["name"].str.len().gt(0).all()


def test_compact_matches_chain_walk_on_awkward_shapes():
    """Isolated cycles, loops hanging off a junction, self-loops and parallel edges."""
    from compact_oracle import compact_by_walking
    from scipy.sparse.csgraph import dijkstra

    from coverage.engine.network import network_from_segments

    lon = 113.0 + np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]) * 0.001
    lat = 23.0 + np.array([0, 0, 0, 1, 1, 2, 3, 3, 4, 4, 5, 6, 6, 7]) * 0.001
    segs = [
        (0, 1), (1, 2), (2, 0),  # triangle: all degree 2, an isolated cycle
        (3, 4), (4, 5), (5, 6), (6, 4),  # a loop 4-5-6-4 hanging off junction 4 (degree 3)
        (7, 8), (8, 9), (9, 9),  # a self-loop at 9 (degree 3 with it)
        (10, 11), (11, 12), (10, 13), (13, 12),  # two parallel paths 10..12
        (12, 3),
    ]
    s = np.array(segs)
    net = network_from_segments(lon, lat, s[:, 0], s[:, 1])
    a, b = compact(net), compact_by_walking(net)
    assert a.n_nodes == b.n_nodes and a.n_edges == b.n_edges
    assert a.edge_len_m.sum() == pytest.approx(net.edge_len_m.sum())
    assert sorted(a.node_osmid.tolist()) == sorted(b.node_osmid.tolist())
    oa, ob = np.argsort(a.node_osmid), np.argsort(b.node_osmid)
    assert np.allclose(dijkstra(a.csr)[np.ix_(oa, oa)], dijkstra(b.csr)[np.ix_(ob, ob)])
    p = a.edge_ptr
    assert np.allclose(a.coord_xy[p[:-1]], a.node_xy[a.edge_u])
    assert np.allclose(a.coord_xy[p[1:] - 1], a.node_xy[a.edge_v])
    assert np.allclose(a.coord_m[p[1:] - 1], a.edge_len_m)
    # snapping on the compact network gives the same access distances and road positions
    from coverage.engine.snapping import snap_points

    rng = np.random.default_rng(3)
    pts = rng.uniform(net.node_xy.min(0) - 50, net.node_xy.max(0) + 50, (200, 2))
    sa, sn = snap_points(a, pts), snap_points(net, pts)
    assert np.allclose(sa.access_m, sn.access_m)
    assert np.allclose(a.interpolate(sa.edge, sa.offset_m), sa.proj_xy)
