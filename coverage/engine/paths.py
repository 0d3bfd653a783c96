"""Road-following paths between snapped points (the line a move or a walk takes on a map).

:func:`road_paths` gives, for pairs of snapped points, the shortest path along the roads as
metric coordinates: from the first point's snapped position along its edge to a node, node
to node along the edges' own polylines, and along the last edge to the second point's
snapped position. Every vertex lies on an edge of the network, so a map drawing these lines
shows roads, not straight lines across fields. The distances are the ones
:mod:`coverage.engine.routing` measures (the same graph, without the off-road access walks).
"""

from __future__ import annotations

import logging
from itertools import pairwise

import numpy as np
from scipy.sparse.csgraph import dijkstra

from .network import RoadNetwork
from .snapping import SnapResult

__all__ = ["edge_piece", "road_paths"]

logger = logging.getLogger(__name__)

_NO_PRED = -9999  # scipy's predecessor of a search's own source


def edge_piece(net: RoadNetwork, e: int, t0: float, t1: float) -> np.ndarray:
    """The polyline of edge ``e`` from ``t0`` to ``t1`` metres along it (from its ``u``
    end), reversed when ``t0 > t1``: the end points interpolated, the vertices between
    them kept (k × 2, metric)."""
    lo, hi = int(net.edge_ptr[e]), int(net.edge_ptr[e + 1])
    xy, m = net.coord_xy[lo:hi], net.coord_m[lo:hi]
    a, b = (t0, t1) if t0 <= t1 else (t1, t0)
    ends = net.interpolate(np.array([e, e]), np.array([a, b]))
    inner = xy[(m > a) & (m < b)]
    out = np.vstack([ends[:1], inner, ends[1:]])
    return out[::-1] if t0 > t1 else out


def _edge_of_pair(net: RoadNetwork) -> dict[tuple[int, int], int]:
    """The shortest edge between every pair of joined nodes (the one the graph uses)."""
    keep = net.edge_u != net.edge_v
    e = np.flatnonzero(keep)
    a = np.minimum(net.edge_u[e], net.edge_v[e])
    b = np.maximum(net.edge_u[e], net.edge_v[e])
    order = np.lexsort((net.edge_len_m[e], b, a))[::-1]  # the shortest written last wins
    return {(int(a[i]), int(b[i])): int(e[i]) for i in order}


def _node_chain(pred: np.ndarray, target: int) -> list[int]:
    """The nodes from the search's source to ``target`` (``pred`` of one source)."""
    chain = [target]
    while pred[chain[-1]] != _NO_PRED:
        chain.append(int(pred[chain[-1]]))
    return chain[::-1]


def _follow(net: RoadNetwork, chain: list[int], pairs: dict[tuple[int, int], int]) -> list[np.ndarray]:
    """The polylines of the edges joining consecutive nodes of ``chain``."""
    parts = []
    for p, q in pairwise(chain):
        e = pairs[(min(p, q), max(p, q))]
        forward = int(net.edge_u[e]) == p
        parts.append(edge_piece(net, e, 0.0, float(net.edge_len_m[e])) if forward
                     else edge_piece(net, e, float(net.edge_len_m[e]), 0.0))  # fmt: skip
    return parts


def _join(parts: list[np.ndarray]) -> np.ndarray:
    """Concatenate polylines, dropping repeated vertices."""
    xy = np.vstack(parts)
    keep = np.ones(len(xy), dtype=bool)
    keep[1:] = np.any(np.abs(np.diff(xy, axis=0)) > 1e-9, axis=1)
    return xy[keep]


def _one_path(
    net: RoadNetwork, a: SnapResult, b: SnapResult, i: int, dist: np.ndarray, pred: np.ndarray,
    pairs: dict[tuple[int, int], int],
) -> np.ndarray:  # fmt: skip
    """Path ``i`` from the searches (``dist``/``pred`` rows: from ``a``'s edge's u and v)."""
    ea, eb = int(a.edge[i]), int(b.edge[i])
    ta, tb = float(a.offset_m[i]), float(b.offset_m[i])
    la, lb = float(net.edge_len_m[ea]), float(net.edge_len_m[eb])
    starts = ((int(net.edge_u[ea]), ta, 0.0), (int(net.edge_v[ea]), la - ta, la))
    ends = ((int(net.edge_u[eb]), tb, 0.0), (int(net.edge_v[eb]), lb - tb, lb))
    best = (abs(ta - tb), -1, -1) if ea == eb else (np.inf, -1, -1)
    for s, (_n, cost_a, _ta_end) in enumerate(starts):
        for t, (node, cost_b, _tb_end) in enumerate(ends):
            total = cost_a + dist[s, node] + cost_b
            if total < best[0] - 1e-9:
                best = (total, s, t)
    if not np.isfinite(best[0]):
        return np.zeros((0, 2))
    if best[1] < 0:  # along the shared edge
        return edge_piece(net, ea, ta, tb)
    s, t = best[1], best[2]
    node = ends[t][0]
    chain = _node_chain(pred[s], node)
    parts = [edge_piece(net, ea, ta, starts[s][2]), *_follow(net, chain, pairs), edge_piece(net, eb, ends[t][2], tb)]
    return _join(parts)


def road_paths(net: RoadNetwork, a: SnapResult, b: SnapResult) -> list[np.ndarray]:
    """The shortest road path from every ``a[i]`` to ``b[i]`` (snapped positions).

    Parameters
    ----------
    net
        The network the points were snapped to.
    a, b
        Origins and destinations, pairwise (same length).

    Returns
    -------
    list of numpy.ndarray
        Per pair, the path's metric coordinates (k × 2, from ``a[i]``'s snapped position to
        ``b[i]``'s, every vertex on an edge); ``0 × 2`` when no road joins them.

    Notes
    -----
    One Dijkstra with predecessors per distinct origin (from both ends of its edge).
    """
    if len(a) != len(b):
        raise ValueError(f"road_paths: {len(a)} origins but {len(b)} destinations")
    pairs = _edge_of_pair(net)
    out: list[np.ndarray] = [np.zeros((0, 2))] * len(a)
    key = np.column_stack([a.edge.astype(np.float64), a.offset_m])
    _, first, groups = np.unique(key, axis=0, return_index=True, return_inverse=True)
    for g, row in enumerate(first):
        ea = int(a.edge[row])
        dist, pred = dijkstra(net.csr, directed=False, indices=[int(net.edge_u[ea]), int(net.edge_v[ea])],
                              return_predecessors=True)  # fmt: skip
        for i in np.flatnonzero(np.asarray(groups).ravel() == g):
            out[i] = _one_path(net, a, b, int(i), dist, pred, pairs)
    logger.debug("road paths: %d pairs from %d origins", len(a), len(first))
    return out
