"""Network distances from snapped facilities to snapped demand, in compiled code.

Facilities and demand sit *on edges* (see :mod:`coverage.engine.snapping`). Each facility becomes
a virtual node joined to the two ends of its edge by the partial edge lengths (plus its
off-road access walk), and scipy's Dijkstra (``scipy.sparse.csgraph.dijkstra``) runs from
all of them at once with a distance limit. A demand point on edge ``(u, v)`` at offset
``t`` then has distance ``access + min(D[u] + t, D[v] + len - t)``, or the direct walk
along the edge when a facility sits on the same edge.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from .costs import CostTable
from .network import RoadNetwork
from .snapping import SnapResult

__all__ = [
    "NearestResult",
    "cost_table",
    "nearest_facility",
    "node_distances",
    "point_distances",
    "single_source_distances",
    "source_graph",
]

logger = logging.getLogger(__name__)

_EPS = 1e-9  # scipy drops zero-weight edges; a nanometre is harmless


@dataclass(frozen=True, eq=False)
class NearestResult:
    """Nearest facility of every demand point.

    Attributes
    ----------
    facility
        Position of the nearest facility (``-1`` when none within the cutoff).
    dist_m
        Network distance including access walks (``inf`` beyond the cutoff).
    node_dist, node_src
        Distance and nearest facility for every network node (kept for what-if updates).
    """

    facility: np.ndarray
    dist_m: np.ndarray
    node_dist: np.ndarray
    node_src: np.ndarray


def source_graph(net: RoadNetwork, src: SnapResult, *, access_counts: bool = True) -> sp.csr_matrix:
    """The network's CSR graph plus one virtual node per source (rows ``n_nodes + i``),
    joined to both ends of the source's edge by the partial edge lengths."""
    n = net.n_nodes
    k = len(src)
    g = net.csr
    acc = src.access_m if access_counts else np.zeros(k)
    e = src.edge
    w_u = np.maximum(acc + src.offset_m, _EPS)
    w_v = np.maximum(acc + net.edge_len_m[e] - src.offset_m, _EPS)
    vid = np.arange(n, n + k)
    rows = np.concatenate([vid, vid])
    cols = np.concatenate([net.edge_u[e], net.edge_v[e]])
    data = np.concatenate([w_u, w_v])
    # a source on a self-loop has two entries to the same node: keep the minimum
    extra = _min_dupes(rows, cols, data, n + k)
    base = sp.csr_matrix((g.data, g.indices, np.concatenate([g.indptr, np.full(k, g.indptr[-1])])), shape=(n + k, n + k))
    out = (base + extra).tocsr()
    out.sort_indices()
    return out


def _min_dupes(rows: np.ndarray, cols: np.ndarray, data: np.ndarray, n: int) -> sp.csr_matrix:
    order = np.lexsort((data, cols, rows))
    r, c, d = rows[order], cols[order], data[order]
    first = np.ones(len(r), dtype=bool)
    first[1:] = (r[1:] != r[:-1]) | (c[1:] != c[:-1])
    return sp.csr_matrix((d[first], (r[first], c[first])), shape=(n, n))


def node_distances(
    net: RoadNetwork,
    src: SnapResult,
    *,
    limit_m: float,
    access_counts: bool = True,
    graph: sp.csr_matrix | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Distance from the nearest source to every node, and which source (``-1`` if none).

    One multi-source Dijkstra (``min_only=True``) bounded by ``limit_m``.
    """
    n = net.n_nodes
    if len(src) == 0:
        return np.full(n, np.inf), np.full(n, -1, dtype=np.int64)
    g = graph if graph is not None else source_graph(net, src, access_counts=access_counts)
    dist, _pred, sources = dijkstra(
        g, directed=True, indices=np.arange(n, n + len(src)), min_only=True, limit=limit_m, return_predecessors=True
    )
    s = np.where(sources[:n] >= 0, sources[:n] - n, -1).astype(np.int64)
    return dist[:n], s


def single_source_distances(
    net: RoadNetwork,
    src: SnapResult,
    i: int,
    *,
    limit_m: float,
    access_counts: bool = True,
) -> np.ndarray:
    """Distance from source ``i`` (on its edge, plus its access walk) to every node,
    ``inf`` beyond ``limit_m``: one Dijkstra from both ends of its edge, on the plain graph
    (no virtual node, so nothing is rebuilt)."""
    e = int(src.edge[i])
    acc = float(src.access_m[i]) if access_counts else 0.0
    w = np.array([acc + src.offset_m[i], acc + net.edge_len_m[e] - src.offset_m[i]])
    ends = np.array([net.edge_u[e], net.edge_v[e]])
    d = dijkstra(net.csr, directed=False, indices=ends, limit=max(limit_m - w.min(), 0.0))
    out = np.minimum(d[0] + w[0], d[1] + w[1])
    out[out > limit_m] = np.inf
    return out


def point_distances(
    net: RoadNetwork,
    pts: SnapResult,
    node_dist: np.ndarray,
    node_src: np.ndarray,
    src: SnapResult,
    *,
    limit_m: float,
    access_counts: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Nearest source and its distance for snapped points, from node distances.

    Combines the two ends of each point's edge with sources on the same edge.
    Ties go to the lower source position.
    """
    e = pts.edge
    acc = pts.access_m if access_counts else np.zeros(len(pts))
    u = net.edge_u[e]
    v = net.edge_v[e]
    du = node_dist[u] + pts.offset_m
    dv = node_dist[v] + (net.edge_len_m[e] - pts.offset_m)
    su = node_src[u]
    sv = node_src[v]
    best = np.where((dv < du) | ((dv == du) & (sv < su) & (sv >= 0)), dv, du)
    bsrc = np.where((dv < du) | ((dv == du) & (sv < su) & (sv >= 0)), sv, su)
    # sources on the same edge
    if len(src):
        sacc = src.access_m if access_counts else np.zeros(len(src))
        order = np.argsort(src.edge, kind="stable")
        se = src.edge[order]
        lo = np.searchsorted(se, e, side="left")
        hi = np.searchsorted(se, e, side="right")
        cnt = hi - lo
        for j in range(int(cnt.max()) if len(cnt) else 0):
            m = np.flatnonzero(cnt > j)
            f = order[lo[m] + j]
            d = np.abs(pts.offset_m[m] - src.offset_m[f]) + sacc[f]
            better = (d < best[m]) | ((d == best[m]) & (f < bsrc[m]))
            best[m[better]] = d[better]
            bsrc[m[better]] = f[better]
    total = best + acc
    out = total > limit_m
    total[out] = np.inf
    bsrc = np.where(out, -1, bsrc).astype(np.int64)
    return bsrc, total


def nearest_facility(
    net: RoadNetwork,
    facilities: SnapResult,
    demand: SnapResult,
    *,
    limit_m: float,
    access_counts: bool = True,
) -> NearestResult:
    """Nearest facility and network distance for every demand point, within ``limit_m``."""
    nd, ns = node_distances(net, facilities, limit_m=limit_m, access_counts=access_counts)
    fac, dist = point_distances(net, demand, nd, ns, facilities, limit_m=limit_m, access_counts=access_counts)
    return NearestResult(facility=fac, dist_m=dist, node_dist=nd, node_src=ns)


def cost_table(
    net: RoadNetwork,
    demand: SnapResult,
    sites: SnapResult,
    *,
    cutoff_m: float,
    access_counts: bool = True,
    demand_ids: np.ndarray | None = None,
    site_ids: np.ndarray | None = None,
    speed_mps: float = 0.8,
    chunk: int | None = None,
) -> CostTable:
    """Sparse demand × site network distances within ``cutoff_m``.

    Runs a bounded Dijkstra from every site (in chunks, so memory stays bounded), keeps the
    nodes each reaches, and spreads them to the demand points on the edges at those nodes.
    Use a compacted network (:func:`coverage.engine.network.compact`) for speed; both give the
    same distances.
    """
    n = net.n_nodes
    nd = len(demand)
    ns = len(sites)
    g = source_graph(net, sites, access_counts=access_counts)
    dacc = demand.access_m if access_counts else np.zeros(nd)
    sacc = sites.access_m if access_counts else np.zeros(ns)
    # node -> (demand, extra distance) incidence, both edge ends
    e = demand.edge
    inc_node = np.concatenate([net.edge_u[e], net.edge_v[e]])
    inc_dem = np.concatenate([np.arange(nd), np.arange(nd)])
    extra_all = np.concatenate([demand.offset_m, net.edge_len_m[e] - demand.offset_m]) + np.concatenate([dacc, dacc])
    order = np.argsort(inc_node, kind="stable")
    inc_dem = inc_dem[order]
    inc_extra = extra_all[order]
    inc_ptr = np.concatenate([[0], np.cumsum(np.bincount(inc_node, minlength=n))])
    # a node is worth spreading from only if some demand point can still be within the cutoff
    min_extra = np.full(n, np.inf)
    np.minimum.at(min_extra, inc_node, extra_all)
    if chunk is None:
        chunk = int(max(1, min(ns, 2e8 // max(n + ns, 1))))  # about 1.6 GB of float64 per chunk at most
        chunk = min(chunk, 512)
    parts_d: list[np.ndarray] = []
    parts_s: list[np.ndarray] = []
    parts_c: list[np.ndarray] = []
    for start in range(0, ns, chunk):
        idx = np.arange(start, min(ns, start + chunk))
        dist = dijkstra(g, directed=True, indices=n + idx, limit=cutoff_m)[:, :n]
        rows, nodes = np.nonzero(dist + min_extra[None, :] <= cutoff_m)
        base = dist[rows, nodes]
        counts = inc_ptr[nodes + 1] - inc_ptr[nodes]
        rep_rows = np.repeat(rows, counts)
        rep_base = np.repeat(base, counts)
        starts = np.repeat(inc_ptr[nodes], counts)
        within = np.arange(len(starts)) - np.repeat(np.cumsum(counts) - counts, counts)
        k = starts + within
        c = rep_base + inc_extra[k]
        keep = c <= cutoff_m
        parts_d.append(inc_dem[k[keep]])
        parts_s.append(idx[rep_rows[keep]])
        parts_c.append(c[keep])
        logger.debug("cost table: sites %d-%d done", idx[0], idx[-1])
    # same-edge pairs: walk along the shared edge
    s_order = np.argsort(sites.edge, kind="stable")
    se = sites.edge[s_order]
    lo = np.searchsorted(se, e, side="left")
    hi = np.searchsorted(se, e, side="right")
    cnt = hi - lo
    if cnt.sum():
        dd = np.repeat(np.arange(nd), cnt)
        within = np.arange(int(cnt.sum())) - np.repeat(np.cumsum(cnt) - cnt, cnt)
        ss = s_order[np.repeat(lo, cnt) + within]
        c = np.abs(demand.offset_m[dd] - sites.offset_m[ss]) + dacc[dd] + sacc[ss]
        parts_d.append(dd)
        parts_s.append(ss)
        parts_c.append(c)
    return CostTable.from_entries(
        np.concatenate(parts_d) if parts_d else np.zeros(0, np.int64),
        np.concatenate(parts_s) if parts_s else np.zeros(0, np.int64),
        np.concatenate(parts_c) if parts_c else np.zeros(0),
        n_demand=nd,
        n_sites=ns,
        cutoff_m=cutoff_m,
        demand_ids=demand_ids,
        site_ids=site_ids,
        speed_mps=speed_mps,
    )
