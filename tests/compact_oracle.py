"""A plain chain-walking version of :func:`coverage.engine.network.compact`, kept as a test oracle
for the vectorised one."""

from __future__ import annotations

import numpy as np

from coverage.engine.network import RoadNetwork


def compact_by_walking(net: RoadNetwork) -> RoadNetwork:
    """Merge chains of degree-2 nodes into single polyline edges.

    Distances between the remaining nodes, and from any point on a road to them, are
    unchanged; the graph that many-source searches run on becomes much smaller (Hangzhou:
    482,083 nodes → about 70,000). Isolated cycles keep one node. Edges with different
    road classes are merged too (the class of the first piece is kept).
    """
    n = net.n_nodes
    deg = np.bincount(net.edge_u, minlength=n) + np.bincount(net.edge_v, minlength=n)
    keep = deg != 2
    # incidence lists: for node i, incident edge ids inc[ptr[i]:ptr[i+1]]
    ends = np.concatenate([net.edge_u, net.edge_v])
    eids = np.concatenate([np.arange(net.n_edges), np.arange(net.n_edges)])
    order = np.argsort(ends, kind="stable")
    inc = eids[order].tolist()
    inc_ptr = np.concatenate([[0], np.cumsum(np.bincount(ends, minlength=n))]).tolist()
    eu = net.edge_u.tolist()
    ev = net.edge_v.tolist()
    keep_l = keep.tolist()
    used = [False] * net.n_edges
    new_u: list[int] = []
    new_v: list[int] = []
    chains: list[list[tuple[int, bool]]] = []  # (edge, reversed?)

    def walk(start: int, e0: int) -> None:
        chain: list[tuple[int, bool]] = []
        node = start
        e = e0
        while True:
            used[e] = True
            rev = eu[e] != node
            chain.append((e, rev))
            node = eu[e] if rev else ev[e]
            if keep_l[node] or node == start:
                break
            a, b = inc[inc_ptr[node]], inc[inc_ptr[node] + 1]
            e = b if a == e else a
            if used[e]:
                break
        new_u.append(start)
        new_v.append(node)
        chains.append(chain)

    for s in np.flatnonzero(keep).tolist():
        for k in range(inc_ptr[s], inc_ptr[s + 1]):
            e = inc[k]
            if not used[e]:
                walk(s, e)
    # isolated cycles: nodes all of degree 2
    for e in range(net.n_edges):
        if not used[e]:
            keep_l[eu[e]] = True
            walk(eu[e], e)
    keep_arr = np.array(keep_l, dtype=bool)
    remap = np.full(n, -1, dtype=np.int64)
    remap[keep_arr] = np.arange(int(keep_arr.sum()))
    coord_xy, coord_m, new_ptr_a, lengths, hw = _polylines(net, chains)
    out = RoadNetwork(
        crs=net.crs,
        node_xy=net.node_xy[keep_arr],
        node_lonlat=net.node_lonlat[keep_arr],
        node_osmid=net.node_osmid[keep_arr],
        edge_u=remap[np.asarray(new_u, dtype=np.int64)],
        edge_v=remap[np.asarray(new_v, dtype=np.int64)],
        edge_len_m=lengths,
        edge_ptr=new_ptr_a,
        coord_xy=coord_xy,
        coord_m=coord_m,
        edge_highway=None if hw is None else np.asarray(hw, dtype=object),
        source=net.source,
        meta={**net.meta, "compacted_from_nodes": n, "compacted_from_edges": net.n_edges},
    )
    return out


def _polylines(net: RoadNetwork, chains: list[list[tuple[int, bool]]]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list | None]:
    """Coordinates, vertex offsets, pointers, lengths and road classes of the merged edges."""
    ptr = net.edge_ptr
    pieces_xy: list[np.ndarray] = []
    pieces_m: list[np.ndarray] = []
    lengths = np.empty(len(chains))
    hw = [] if net.edge_highway is not None else None
    new_ptr = [0]
    for i, chain in enumerate(chains):
        offset = 0.0
        first = True
        for e, rev in chain:
            xy = net.coord_xy[ptr[e] : ptr[e + 1]]
            m = net.coord_m[ptr[e] : ptr[e + 1]]
            if rev:
                xy = xy[::-1]
                m = net.edge_len_m[e] - m[::-1]
            if not first:
                xy = xy[1:]
                m = m[1:]
            pieces_xy.append(xy)
            pieces_m.append(m + offset)
            offset += net.edge_len_m[e]
            first = False
        lengths[i] = offset
        new_ptr.append(new_ptr[-1] + sum(len(p) for p in pieces_xy[-len(chain) :]))
        if hw is not None:
            hw.append(net.edge_highway[chain[0][0]])
    coord_xy = np.concatenate(pieces_xy)
    coord_m = np.concatenate(pieces_m)
    new_ptr_a = np.asarray(new_ptr, dtype=np.int64)
    coord_m[new_ptr_a[1:] - 1] = lengths
    return coord_xy, coord_m, new_ptr_a, lengths, hw
