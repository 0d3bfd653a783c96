"""Property-based checks of network distances (hypothesis): agreement with networkx,
symmetry on an undirected network, and the triangle inequality."""

from __future__ import annotations

from itertools import pairwise

import networkx as nx
import numpy as np
from conftest import grid_network, nearest_facility
from hypothesis import given, settings
from hypothesis import strategies as st

from coverage.engine.routing import cost_table
from coverage.engine.snapping import snap_points

_NET, _TO_XY = grid_network(5, 110.0, drop={((1, 1), (2, 1)), ((3, 2), (3, 3)), ((0, 4), (1, 4))})

coords = st.tuples(st.floats(-60, 500), st.floats(-60, 500))


def _pair_table(points):
    s = snap_points(_NET, _TO_XY(points))
    t = cost_table(_NET, s, s, cutoff_m=1e7)
    m = np.full((len(points), len(points)), np.inf)
    m[t.demand_idx, t.site_idx] = t.dist_m
    return m, s


@settings(max_examples=40, deadline=None)
@given(st.lists(coords, min_size=2, max_size=8))
def test_symmetric_and_triangle(points):
    m, _ = _pair_table(points)
    assert np.all(np.isfinite(m))  # one connected grid
    assert np.allclose(m, m.T, atol=1e-6)
    n = len(points)
    for k in range(n):
        # d(i, j) <= d(i, k) + d(k, j), where d(k, k) counts k's access walk twice
        via = m[:, k][:, None] + m[k, :][None, :] - m[k, k]
        assert np.all(m <= via + 1e-6)


@settings(max_examples=30, deadline=None)
@given(st.lists(coords, min_size=1, max_size=6), st.lists(coords, min_size=1, max_size=6))
def test_agrees_with_networkx(fac_pts, dem_pts):
    f = snap_points(_NET, _TO_XY(fac_pts))
    d = snap_points(_NET, _TO_XY(dem_pts))
    res = nearest_facility(_NET, f, d, limit_m=1e7)
    g = nx.Graph()
    for u, v, w in zip(_NET.edge_u.tolist(), _NET.edge_v.tolist(), _NET.edge_len_m.tolist()):
        g.add_edge(("n", u), ("n", v), length=w)
    # split edges at every facility and demand position: the oracle never sees offsets arithmetic
    pts = {}
    for tag, s in (("f", f), ("d", d)):
        for i in range(len(s)):
            pts.setdefault(int(s.edge[i]), []).append((float(s.offset_m[i]), (tag, i), float(s.access_m[i])))
    for e, items in pts.items():
        u, v, length = ("n", int(_NET.edge_u[e])), ("n", int(_NET.edge_v[e])), float(_NET.edge_len_m[e])
        if g.has_edge(u, v):
            g.remove_edge(u, v)
        chain = [(0.0, u), *sorted((o, ("p", tag_i)) for o, tag_i, _ in items), (length, v)]
        for (o1, a), (o2, b) in pairwise(chain):
            g.add_edge(a, b, length=o2 - o1)
        for _o, tag_i, acc in items:
            g.add_edge(("p", tag_i), tag_i, length=acc)
    dist = nx.multi_source_dijkstra_path_length(g, {("f", i) for i in range(len(f))}, weight="length")
    oracle = np.array([dist[("d", i)] for i in range(len(d))])
    assert np.allclose(res.dist_m, oracle, atol=1e-6)
