"""Network distances against an independent oracle: networkx Dijkstra on the same graph,
with the on-edge offset arithmetic done separately here."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from conftest import grid_geo_m, grid_network, nearest_facility, shared_file

from coverage.engine.network import compact
from coverage.engine.routing import cost_table
from coverage.engine.snapping import snap_points
from coverage.inputs.osm import read_network


def _oracle_from(net, g, snap, j):
    """networkx distances from source j (on its edge, plus access) to every node."""
    e = int(snap.edge[j])
    u, v = int(net.edge_u[e]), int(net.edge_v[e])
    h = g.copy()
    h.add_edge("src", u, length=float(snap.access_m[j] + snap.offset_m[j]))
    h.add_edge("src", v, length=float(snap.access_m[j] + net.edge_len_m[e] - snap.offset_m[j]))
    return nx.single_source_dijkstra_path_length(h, "src", weight="length")


def _oracle_point(net, dist, snap_d, i, snap_s, j):
    e = int(snap_d.edge[i])
    u, v = int(net.edge_u[e]), int(net.edge_v[e])
    best = min(dist.get(u, np.inf) + snap_d.offset_m[i], dist.get(v, np.inf) + net.edge_len_m[e] - snap_d.offset_m[i])
    if int(snap_s.edge[j]) == e:
        best = min(best, abs(snap_d.offset_m[i] - snap_s.offset_m[j]) + snap_s.access_m[j])
    return best + snap_d.access_m[i]


def _random_points(net, rng, n, spread=80.0):
    e = rng.integers(0, net.n_edges, n)
    f = rng.random(n)
    a = net.node_xy[net.edge_u[e]]
    b = net.node_xy[net.edge_v[e]]
    return a + (b - a) * f[:, None] + rng.normal(0, spread, (n, 2))


@pytest.mark.shared
@pytest.mark.parametrize("name", ["qingzu_puyang_henan.osm.bz2", "aguascalientes.osm.bz2"])
def test_distances_equal_networkx_oracle(name, rng):
    net = read_network(shared_file("osm", name))
    g = nx.Graph()
    g.add_nodes_from(range(net.n_nodes))
    for u, v, w in zip(net.edge_u.tolist(), net.edge_v.tolist(), net.edge_len_m.tolist()):
        if u != v and (not g.has_edge(u, v) or g[u][v]["length"] > w):
            g.add_edge(u, v, length=w)
    d = snap_points(net, _random_points(net, rng, 250))
    f = snap_points(net, _random_points(net, rng, 12))
    res = nearest_facility(net, f, d, limit_m=np.inf)
    per_src = [_oracle_from(net, g, f, j) for j in range(len(f))]
    oracle = np.array([[_oracle_point(net, per_src[j], d, i, f, j) for j in range(len(f))] for i in range(len(d))])
    best = oracle.min(axis=1)
    finite = np.isfinite(best)
    assert finite.sum() > 200
    assert np.array_equal(np.isfinite(res.dist_m), finite)
    assert np.max(np.abs(res.dist_m[finite] - best[finite])) < 0.01
    # the reported facility is one at that distance
    chosen = oracle[np.arange(len(d))[finite], res.facility[finite]]
    assert np.max(np.abs(chosen - best[finite])) < 0.01
    # the sparse cost table within 1500 m equals the oracle matrix, on the raw and compact graph
    for graph in (net, compact(net)):
        dd = snap_points(graph, d.proj_xy + 0.0) if graph is not net else d
        ff = snap_points(graph, f.proj_xy + 0.0) if graph is not net else f
        if graph is not net:
            # same positions on the road: restore the access walks of the originals
            dd = type(dd)(dd.edge, dd.offset_m, d.access_m, dd.proj_xy)
            ff = type(ff)(ff.edge, ff.offset_m, f.access_m, ff.proj_xy)
        table = cost_table(graph, dd, ff, cutoff_m=1500.0)
        dense = np.full(oracle.shape, np.inf)
        dense[table.demand_idx, table.site_idx] = table.dist_m
        inside = oracle <= 1500.0
        assert np.array_equal(np.isfinite(dense), inside)
        assert np.max(np.abs(dense[inside] - oracle[inside])) < 0.01


def test_cutoff_and_same_edge_cases():
    net, to_xy = grid_network(3, 100.0)
    # facility and demand on the same edge (y = 0), 60 m apart along it, 5 m and 7 m off road
    f = snap_points(net, to_xy([[20.0, 5.0]]))
    d = snap_points(net, to_xy([[80.0, -7.0], [200.0, 200.0]]))
    res = nearest_facility(net, f, d, limit_m=250.0)
    # off-road walks are measured on the ellipsoid (pyproj oracle), the grid's roads as given
    a5, a7, a_far = grid_geo_m([[20, 5], [80, -7], [200, 200]], [[20, 0], [80, 0], [200, 200]])
    assert res.dist_m[0] == pytest.approx(60 + a5 + a7, abs=1e-6)
    # (200, 200): 5 m access + 80 m to (100, 0) + 100 + 200 m of grid = 385 m, beyond 250 m
    assert np.isinf(res.dist_m[1]) and res.facility[1] == -1
    res = nearest_facility(net, f, d, limit_m=1e6)
    assert a_far == 0 and res.dist_m[1] == pytest.approx(a5 + 80 + 100 + 200, abs=1e-6)


def test_disconnected_component_is_unreachable():
    net, to_xy = grid_network(4, 100.0, drop={((1, j), (2, j)) for j in range(4)})
    assert net.components.max() == 1
    f = snap_points(net, to_xy([[0.0, 0.0]]))
    d = snap_points(net, to_xy([[300.0, 300.0], [100.0, 300.0]]))
    res = nearest_facility(net, f, d, limit_m=1e6)
    assert np.isinf(res.dist_m[0])
    assert res.dist_m[1] == pytest.approx(400.0)
