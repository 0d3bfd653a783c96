"""Snapping equals brute force (every segment of every edge checked)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import grid_geo_m, grid_network, shared_file
from hypothesis import given, settings
from hypothesis import strategies as st

from coverage.engine.snapping import EdgeIndex, snap_points
from coverage.inputs.osm import read_network


def brute_force(net, pts):
    """Distance from each point to every segment; returns (distance, projected point)."""
    _seg_edge, a, b, _off = net.segments()
    d = b - a
    l2 = (d**2).sum(1)
    out_d = np.empty(len(pts))
    out_p = np.empty((len(pts), 2))
    unique = np.empty(len(pts), dtype=bool)
    for i, p in enumerate(pts):
        t = np.clip(((p - a) * d).sum(1) / np.where(l2 > 0, l2, 1), 0, 1)
        proj = a + d * t[:, None]
        dist = np.hypot(*(p - proj).T)
        k = int(np.argmin(dist))
        out_d[i] = dist[k]
        out_p[i] = proj[k]
        # the nearest road position is unique unless another segment is as near elsewhere
        others = np.hypot(*(proj - proj[k]).T) > 1e-6
        unique[i] = not np.any(others & (dist <= dist[k] + 1e-9))
    return out_d, out_p, unique


def _geodesic(crs, a, b):
    """Independent oracle of the access walk: pyproj's inverse projection and Geod.inv."""
    import pyproj

    t = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    lon1, lat1 = t.transform(a[:, 0], a[:, 1])
    lon2, lat2 = t.transform(b[:, 0], b[:, 1])
    return np.asarray(pyproj.Geod(ellps="WGS84").inv(lon1, lat1, lon2, lat2)[2])


def _check(net, pts, snap):
    bd, bp, unique = brute_force(net, pts)
    # the nearest road position is found in the projection (same distance as brute force)...
    assert np.max(np.abs(np.hypot(*(snap.proj_xy - pts).T) - bd)) < 1e-6
    # ...and the walk to it is measured on the WGS-84 ellipsoid (within 0.1 mm of pyproj's
    # Geod: walks under 2 km take the closed form, see coverage.engine.network.geodesic_m)
    assert np.max(np.abs(snap.access_m - _geodesic(net.crs, pts, snap.proj_xy))) < 1e-4
    # where the nearest road position is unique the projected point is the same
    assert np.all(np.hypot(*(snap.proj_xy - bp).T)[unique] < 1e-6)
    # offsets are consistent with the polyline: 0 <= offset <= edge length
    assert np.all(snap.offset_m >= -1e-9)
    assert np.all(snap.offset_m <= net.edge_len_m[snap.edge] + 1e-9)


@pytest.mark.shared
def test_snapping_equals_brute_force_real_network(rng):
    net = read_network(shared_file("osm", "qingzu_puyang_henan.osm.bz2"))
    lo, hi = net.node_xy.min(0) - 500, net.node_xy.max(0) + 500
    pts = rng.uniform(lo, hi, (400, 2))
    _check(net, pts, snap_points(net, pts))
    # tiny pieces force the fallback paths; same answer
    _check(net, pts[:100], EdgeIndex(net, piece_m=5.0).snap(pts[:100], k=2))


def test_snap_offsets_on_grid():
    net, to_xy = grid_network(3, 100.0)
    s = snap_points(net, to_xy([[30.0, 4.0], [100.0, 160.0], [-20.0, -20.0]]))
    # the off-road walks on the ellipsoid: 4 m and 28.28 m in the projection (scale 1.00009 here)
    assert s.access_m == pytest.approx(grid_geo_m([[30, 4], [100, 160], [-20, -20]], [[30, 0], [100, 160], [0, 0]]), abs=1e-6)
    assert s.access_m == pytest.approx([4.0, 0.0, np.hypot(20, 20)], rel=2e-4)
    # first point: on the edge (0,0)-(100,0), 30 m from one end
    assert min(s.offset_m[0], net.edge_len_m[s.edge[0]] - s.offset_m[0]) == pytest.approx(30.0)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(-300, 700), st.floats(-300, 700)), min_size=1, max_size=30))
def test_snapping_property_matches_brute_force(points):
    net, to_xy = grid_network(4, 130.0, drop={((1, 1), (2, 1)), ((2, 2), (2, 3))})
    pts = to_xy(points)
    _check(net, pts, snap_points(net, pts))


def test_thread_limit_changes_nothing_but_speed():
    """A process given one core (a Dask worker of the batch) snaps exactly as one using all."""
    from coverage.engine.threads import engine_threads, limit_threads
    from coverage.errors import ParameterError

    net, to_xy = grid_network(12, 100.0)
    pts = to_xy(np.random.default_rng(5).uniform(-150, 1250, (3000, 2)))
    every = snap_points(net, pts)
    assert engine_threads() == -1
    with limit_threads(1):
        assert engine_threads() == 1
        with limit_threads(None):  # nested: every core again, then back to one
            assert engine_threads() == -1
        assert engine_threads() == 1
        one = snap_points(net, pts)
    assert engine_threads() == -1
    for field in ("edge", "offset_m", "access_m", "proj_xy", "point_lonlat"):
        np.testing.assert_array_equal(getattr(every, field), getattr(one, field))
    for bad in (0, -2, 1.5, True):
        with pytest.raises(ParameterError, match="threads"):
            with limit_threads(bad):
                pass
