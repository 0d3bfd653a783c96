"""Shared fixtures. Data under ../shared is for tests only; tests skip when it is absent."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SHARED_DATA = SHARED / "data"
SHARED_BENCH = SHARED / "bench"


def shared_file(*parts: str) -> Path:
    """Path to a file under ../shared/data, or skip the test with a reason."""
    p = SHARED_DATA.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"reference data {p} is absent (../shared is not beside the project)")
    return p


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


def grid_network(n: int = 5, step: float = 250.0, *, drop: set[tuple[tuple[int, int], tuple[int, int]]] | None = None):
    """An n × n street grid with ``step`` m blocks near (113 E, 23 N), in EPSG:32649.

    Node (i, j) sits at x = i * step, y = j * step (metres) from the grid origin; returns
    the network and a function mapping metric grid offsets to WGS-84.
    """
    import pyproj

    from coverage.engine.network import network_from_segments

    x0, y0 = 700_000.0, 2_545_000.0
    ids = {}
    xy = []
    for j in range(n):
        for i in range(n):
            ids[(i, j)] = len(xy)
            xy.append((x0 + i * step, y0 + j * step))
    segs = []
    for j in range(n):
        for i in range(n):
            for a, b in (((i, j), (i + 1, j)), ((i, j), (i, j + 1))):
                if b[0] < n and b[1] < n and not (drop and ((a, b) in drop or (b, a) in drop)):
                    segs.append((ids[a], ids[b]))
    xy = np.asarray(xy)
    t = pyproj.Transformer.from_crs("EPSG:32649", "EPSG:4326", always_xy=True)
    lon, lat = t.transform(xy[:, 0], xy[:, 1])
    s = np.asarray(segs)
    lengths = np.hypot(*(xy[s[:, 0]] - xy[s[:, 1]]).T)
    net = network_from_segments(lon, lat, s[:, 0], s[:, 1], seg_len_m=lengths, crs="EPSG:32649")

    def to_xy(pts):
        return np.asarray(pts, dtype=float) + np.array([x0, y0])

    return net, to_xy


def grid_geo_m(a, b):
    """Ellipsoidal (WGS-84) distance between grid offsets ``a`` and ``b`` (pairs of metres
    from the origin of :func:`grid_network`), pairwise, measured independently with
    pyproj: what the engine reports for an off-road walk, where the grid's own road lengths
    are the given metres."""
    import pyproj

    x0, y0 = 700_000.0, 2_545_000.0
    t = pyproj.Transformer.from_crs("EPSG:32649", "EPSG:4326", always_xy=True)
    a = np.asarray(a, dtype=float).reshape(-1, 2) + np.array([x0, y0])
    b = np.asarray(b, dtype=float).reshape(-1, 2) + np.array([x0, y0])
    lon1, lat1 = t.transform(a[:, 0], a[:, 1])
    lon2, lat2 = t.transform(b[:, 0], b[:, 1])
    return np.asarray(pyproj.Geod(ellps="WGS84").inv(lon1, lat1, lon2, lat2)[2])


def nearest_facility(net, facilities, demand, *, limit_m: float, access_counts: bool = True):
    """Nearest facility and network distance of every demand point within ``limit_m``
    (``.facility``, ``.dist_m``): the two routing steps, node then point distances."""
    from types import SimpleNamespace

    from coverage.engine.routing import node_distances, point_distances

    src, dist = node_distances(net, facilities, limit_m=limit_m, access_counts=access_counts)
    fac, d = point_distances(net, demand, src, dist, facilities, limit_m=limit_m, access_counts=access_counts)
    return SimpleNamespace(facility=fac, dist_m=d)
