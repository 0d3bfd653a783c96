"""Network distances from snapped facilities to snapped demand, in compiled code.

Facilities and demand sit *on edges* (see :mod:`coverage.engine.snapping`). Each facility becomes
a virtual node joined to the two ends of its edge by the partial edge lengths (plus its
off-road access walk), and scipy's Dijkstra (``scipy.sparse.csgraph.dijkstra``) runs from
all of them at once with a distance limit. A demand point on edge ``(u, v)`` at offset
``t`` then has distance ``access + min(D[u] + t, D[v] + len - t)``, or the direct walk
along the edge when a facility sits on the same edge.

Every function that answers "which source, how far" returns ``(source, distance)`` in that
order, per node (:func:`node_distances`) or per point (:func:`point_distances`). The
network is usually reached through :class:`coverage.engine.engine.Engine`, which keeps the
graph, the edge index and the snapped layers of one study.
"""

from __future__ import annotations

import logging

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from .costs import CostTable, min_over_duplicates
from .network import RoadNetwork
from .snapping import SnapResult

__all__ = [
    "cost_table",
    "node_distances",
    "point_distances",
    "single_source_distances",
    "source_graph",
    "with_virtual_nodes",
]

logger = logging.getLogger(__name__)

_EPS = 1e-9  # scipy drops zero-weight edges; a nanometre is harmless


def with_virtual_nodes(base: sp.csr_matrix, rows: np.ndarray, cols: np.ndarray, data: np.ndarray, n_virtual: int) -> sp.csr_matrix:
    """``base`` (n × n) padded with ``n_virtual`` extra nodes (rows and columns ``n ..``)
    and the directed links ``rows[i] -> cols[i]`` of length ``data[i]`` (the shortest when a
    pair repeats): the graph a multi-source search runs on, its sources being the extra
    nodes. The routing of sources and the what-if repair both build their graphs here."""
    n = base.shape[0] + n_virtual
    extra = _min_dupes(rows, cols, data, n)
    padded = sp.csr_matrix((base.data, base.indices, np.concatenate([base.indptr, np.full(n_virtual, base.indptr[-1])])), shape=(n, n))
    out = (padded + extra).tocsr()
    out.sort_indices()
    return out


def source_graph(net: RoadNetwork, src: SnapResult, *, access_counts: bool = True) -> sp.csr_matrix:
    """The network's CSR graph plus one virtual node per source (rows ``n_nodes + i``),
    joined to both ends of the source's edge by the partial edge lengths."""
    n = net.n_nodes
    k = len(src)
    acc = src.access_m if access_counts else np.zeros(k)
    e = src.edge
    w_u = np.maximum(acc + src.offset_m, _EPS)
    w_v = np.maximum(acc + net.edge_len_m[e] - src.offset_m, _EPS)
    vid = np.arange(n, n + k)
    rows = np.concatenate([vid, vid])
    cols = np.concatenate([net.edge_u[e], net.edge_v[e]])
    data = np.concatenate([w_u, w_v])
    # a source on a self-loop has two entries to the same node: keep the minimum
    return with_virtual_nodes(net.csr, rows, cols, data, k)


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
    """The nearest source of every node (``-1`` if none within ``limit_m``) and its distance
    (``inf`` if none): ``(node_src, node_dist)``.

    One multi-source Dijkstra (``min_only=True``) bounded by ``limit_m``.
    """
    n = net.n_nodes
    if len(src) == 0:
        return np.full(n, -1, dtype=np.int64), np.full(n, np.inf)
    g = graph if graph is not None else source_graph(net, src, access_counts=access_counts)
    dist, _pred, sources = dijkstra(
        g, directed=True, indices=np.arange(n, n + len(src)), min_only=True, limit=limit_m, return_predecessors=True
    )
    s = np.where(sources[:n] >= 0, sources[:n] - n, -1).astype(np.int64)
    return s, dist[:n]


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


def _same_edge(src_edge: np.ndarray, pts_edge: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sources on the edge of every point: ``order[lo[i] : lo[i] + cnt[i]]`` are the sources
    on point ``i``'s edge (``order`` sorts the sources by edge, stably)."""
    order = np.argsort(src_edge, kind="stable")
    se = src_edge[order]
    lo = np.searchsorted(se, pts_edge, side="left")
    hi = np.searchsorted(se, pts_edge, side="right")
    return order, lo, hi - lo


def point_distances(
    net: RoadNetwork,
    pts: SnapResult,
    node_src: np.ndarray,
    node_dist: np.ndarray,
    src: SnapResult,
    *,
    limit_m: float,
    access_counts: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Nearest source of snapped points and its distance, ``(src, dist)``, from the node
    results of :func:`node_distances`.

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
        order, lo, cnt = _same_edge(src.edge, e)
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


class _Incidence:
    """Demand points reached through each node: both ends of every point's edge, with the
    extra distance from the node to the point (along the edge plus the access walk)."""

    def __init__(self, net: RoadNetwork, demand: SnapResult, dacc: np.ndarray) -> None:
        n, nd = net.n_nodes, len(demand)
        e = demand.edge
        inc_node = np.concatenate([net.edge_u[e], net.edge_v[e]])
        inc_dem = np.concatenate([np.arange(nd), np.arange(nd)])
        extra_all = np.concatenate([demand.offset_m, net.edge_len_m[e] - demand.offset_m]) + np.concatenate([dacc, dacc])
        order = np.argsort(inc_node, kind="stable")
        self.dem = inc_dem[order]
        self.extra = extra_all[order]
        self.ptr = np.concatenate([[0], np.cumsum(np.bincount(inc_node, minlength=n))])
        # a node is worth spreading from only if some demand point can still be within the cutoff
        self.min_extra = np.full(n, np.inf)
        np.minimum.at(self.min_extra, inc_node, extra_all)

    def spread(self, dist: np.ndarray, idx: np.ndarray, cutoff_m: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(demand, site, distance)`` within ``cutoff_m`` from the node distances ``dist``
        (one row per site of ``idx``)."""
        rows, nodes = np.nonzero(dist + self.min_extra[None, :] <= cutoff_m)
        base = dist[rows, nodes]
        counts = self.ptr[nodes + 1] - self.ptr[nodes]
        rep_rows = np.repeat(rows, counts)
        rep_base = np.repeat(base, counts)
        starts = np.repeat(self.ptr[nodes], counts)
        within = np.arange(len(starts)) - np.repeat(np.cumsum(counts) - counts, counts)
        k = starts + within
        c = rep_base + self.extra[k]
        keep = c <= cutoff_m
        return self.dem[k[keep]], idx[rep_rows[keep]], c[keep]


def _same_edge_pairs(demand: SnapResult, sites: SnapResult, dacc: np.ndarray, sacc: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """``(demand, site, distance)`` of the pairs on the same edge: the walk along it."""
    s_order, lo, cnt = _same_edge(sites.edge, demand.edge)
    if not cnt.sum():
        return None
    dd = np.repeat(np.arange(len(demand)), cnt)
    within = np.arange(int(cnt.sum())) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    ss = s_order[np.repeat(lo, cnt) + within]
    c = np.abs(demand.offset_m[dd] - sites.offset_m[ss]) + dacc[dd] + sacc[ss]
    return dd, ss, c


def cost_table(
    net: RoadNetwork,
    demand: SnapResult,
    sites: SnapResult,
    *,
    cutoff_m: float,
    access_counts: bool = True,
    chunk: int | None = None,
) -> CostTable:
    """Sparse demand × site network distances within ``cutoff_m``.

    Runs a bounded Dijkstra from every site (in chunks, so memory stays bounded), keeps the
    nodes each reaches, and spreads them to the demand points on the edges at those nodes.
    Use a compacted network (:func:`coverage.engine.network.compact`) for speed; both give the
    same distances. Rows and columns are labelled by position; :meth:`Engine.cost_table
    <coverage.engine.engine.Engine.cost_table>` names them and leaves out the points beyond the
    snap tolerance.
    """
    n = net.n_nodes
    nd = len(demand)
    ns = len(sites)
    g = source_graph(net, sites, access_counts=access_counts)
    dacc = demand.access_m if access_counts else np.zeros(nd)
    sacc = sites.access_m if access_counts else np.zeros(ns)
    inc = _Incidence(net, demand, dacc)
    if chunk is None:
        chunk = int(max(1, min(ns, 2e8 // max(n + ns, 1))))  # about 1.6 GB of float64 per chunk at most
        chunk = min(chunk, 512)
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    small = np.int32 if max(nd, ns) < np.iinfo(np.int32).max else np.int64
    for start in range(0, ns, chunk):
        idx = np.arange(start, min(ns, start + chunk))
        dist = dijkstra(g, directed=True, indices=n + idx, limit=cutoff_m)[:, :n]
        # each chunk's duplicates (a point reached through both ends of its edge) dropped at
        # once, in compact integers: the parts hold each pair once, not twice, at 16 bytes
        d_, s_, c_ = min_over_duplicates(*inc.spread(dist, idx, cutoff_m))
        parts.append((d_.astype(small), s_.astype(small), c_))
        del dist
        logger.debug("cost table: sites %d-%d done", idx[0], idx[-1])
    same = _same_edge_pairs(demand, sites, dacc, sacc)
    if same is not None:
        parts.append((same[0].astype(small), same[1].astype(small), same[2]))
    entries = [np.concatenate([p[k] for p in parts]) if parts else np.zeros(0) for k in range(3)]
    parts.clear()  # the parts' memory goes back before the table is sorted
    return CostTable.from_entries(entries[0], entries[1], entries[2], n_demand=nd, n_sites=ns, cutoff_m=cutoff_m)
