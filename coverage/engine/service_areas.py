"""Road-following service areas: the parts of the road network a facility reaches.

For a facility and a limit ``L`` (1000 m, or the 15-minute walk), each edge ``(u, v)`` of
length ``l`` is reached from ``u`` up to ``L - D[u]`` along it, from ``v`` back to
``l - (L - D[v])``, and along the facility's own edge both ways from its position. The
union of those pieces, cut out of the edge polylines (partial edges included), is the
service area: what older people can actually walk, not a circle and not a convex hull.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from .network import RoadNetwork
from .routing import single_source_distances
from .snapping import SnapResult

__all__ = ["reach_intervals", "service_areas"]

logger = logging.getLogger(__name__)


def reach_intervals(
    net: RoadNetwork,
    snap: SnapResult,
    i: int,
    limit_m: float,
    *,
    access_counts: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Reached pieces of edges for source ``i``: ``(edge, start_m, end_m)`` arrays, merged
    per edge, distances measured along each edge from its ``u`` end."""
    e0 = int(snap.edge[i])
    acc = float(snap.access_m[i]) if access_counts else 0.0
    if acc > limit_m:
        return np.zeros(0, np.int64), np.zeros(0), np.zeros(0)
    off = float(snap.offset_m[i])
    l0 = float(net.edge_len_m[e0])
    dn = single_source_distances(net, snap, i, limit_m=limit_m, access_counts=access_counts)
    lens = net.edge_len_m
    du = dn[net.edge_u]
    dv = dn[net.edge_v]
    rem_u = limit_m - du
    rem_v = limit_m - dv
    edges: list[np.ndarray] = []
    starts: list[np.ndarray] = []
    stops: list[np.ndarray] = []
    a = np.flatnonzero(rem_u >= 0)
    edges.append(a)
    starts.append(np.zeros(len(a)))
    stops.append(np.minimum(lens[a], rem_u[a]))
    b = np.flatnonzero(rem_v >= 0)
    edges.append(b)
    starts.append(np.maximum(0.0, lens[b] - rem_v[b]))
    stops.append(lens[b].copy())
    r = limit_m - acc
    edges.append(np.array([e0]))
    starts.append(np.array([max(0.0, off - r)]))
    stops.append(np.array([min(l0, off + r)]))
    e = np.concatenate(edges)
    s = np.concatenate(starts)
    t = np.concatenate(stops)
    order = np.lexsort((s, e))
    e, s, t = e[order], s[order], t[order]
    # merge overlapping intervals on the same edge
    out_e: list[int] = []
    out_s: list[float] = []
    out_t: list[float] = []
    for ee, ss, tt in zip(e.tolist(), s.tolist(), t.tolist()):
        if out_e and out_e[-1] == ee and ss <= out_t[-1] + 1e-9:
            out_t[-1] = max(out_t[-1], tt)
        else:
            out_e.append(ee)
            out_s.append(ss)
            out_t.append(tt)
    return np.asarray(out_e, dtype=np.int64), np.asarray(out_s), np.asarray(out_t)


def _cut(net: RoadNetwork, e: int, a: float, b: float) -> np.ndarray:
    """The piece of edge ``e`` between ``a`` and ``b`` metres from ``u`` (k × 2 coords)."""
    p0, p1 = net.edge_ptr[e], net.edge_ptr[e + 1]
    xy = net.coord_xy[p0:p1]
    m = net.coord_m[p0:p1]
    inner = (m > a) & (m < b)
    xa = np.interp(a, m, xy[:, 0])
    ya = np.interp(a, m, xy[:, 1])
    xb = np.interp(b, m, xy[:, 0])
    yb = np.interp(b, m, xy[:, 1])
    return np.vstack([[xa, ya], xy[inner], [xb, yb]])


def service_areas(
    net: RoadNetwork,
    snap: SnapResult,
    *,
    limits_m: dict[str, float],
    ids: list[str] | np.ndarray | None = None,
    names: list[str] | np.ndarray | None = None,
    access_counts: bool = True,
    to_wgs84: bool = True,
) -> gpd.GeoDataFrame:
    """Road-following service areas of every source for every named limit.

    Parameters
    ----------
    net
        The road network.
    snap
        The snapped facilities.
    limits_m
        ``{rule: limit}``, e.g. ``{"radius": 1000, "time": 720}``.
    ids, names
        Facility labels.
    access_counts
        Whether the facility's off-road access walk uses up part of the limit.
    to_wgs84
        Return geometries in EPSG:4326 (else in ``net.crs``).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per facility and rule: ``facility_id, facility_name, rule, limit_m,
        road_m`` (length of road reached) and a MultiLineString geometry.
    """
    n = len(snap)
    ids = np.arange(n).astype(str) if ids is None else np.asarray(ids).astype(str)
    names = ids if names is None else np.asarray(names).astype(str)
    rows = []
    geoms = []
    t = pyproj.Transformer.from_crs(net.crs, "EPSG:4326", always_xy=True) if to_wgs84 else None
    for rule, limit in limits_m.items():
        for i in range(n):
            e, a, b = reach_intervals(net, snap, i, float(limit), access_counts=access_counts)
            lines = []
            for ee, aa, bb in zip(e.tolist(), a.tolist(), b.tolist()):
                if bb - aa <= 1e-6:
                    continue
                c = _cut(net, ee, aa, bb)
                if t is not None:
                    x, y = t.transform(c[:, 0], c[:, 1])
                    c = np.column_stack([x, y])
                lines.append(shapely.linestrings(c))
            geoms.append(shapely.multilinestrings(lines) if lines else shapely.from_wkt("MULTILINESTRING EMPTY"))
            rows.append(
                {
                    "facility_id": ids[i],
                    "facility_name": names[i],
                    "rule": rule,
                    "limit_m": float(limit),
                    "road_m": float(np.sum(b - a)) if len(e) else 0.0,
                }
            )
    df = pd.DataFrame(rows, columns=["facility_id", "facility_name", "rule", "limit_m", "road_m"])
    return gpd.GeoDataFrame(df, geometry=geoms, crs="EPSG:4326" if to_wgs84 else net.crs)
