"""Snap points to the nearest road edge (not node), exactly.

Every edge polyline is cut into straight segments; the segments are cut again into pieces
no longer than ``piece_m`` whose midpoints go into a KD-tree. A segment at distance ``d``
from a point has a piece midpoint within ``d + piece_m / 2``, so once the ``k``-th nearest
midpoint is farther than the best exact distance found plus ``piece_m / 2`` the answer is
proven; the few points where that fails are finished with a radius query. The result is
the same as checking every segment (tests compare with brute force), at KD-tree speed.

The nearest point is found in the network's metric CRS (a conformal projection: the foot of
the perpendicular is the same to well under a millimetre), but every distance reported is
a length on the WGS-84 ellipsoid like the roads' own: the along-edge offset interpolates
the geodesic vertex offsets (``coord_m``), and the off-road access walk is the geodesic
distance between the point and its foot on the road (:func:`~coverage.engine.network.geodesic_m`),
not the projected one, which a UTM zone's scale (0.9996 at its meridian, up to 1.001 at its
edge) would make up to 0.1 % wrong.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from .network import RoadNetwork, geodesic_m, to_lonlat
from .threads import engine_threads

__all__ = ["EdgeIndex", "SnapResult", "snap_points"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class SnapResult:
    """Where each point meets the road network.

    Attributes
    ----------
    edge
        Edge of the nearest road (``int64``).
    offset_m
        Distance along that edge from its ``u`` end to the snapped position, metres.
    access_m
        Straight-line distance from the point to the road, metres on the WGS-84 ellipsoid.
    proj_xy
        The snapped position (metric CRS).
    point_lonlat
        The points themselves in WGS-84 (n × 2), as measured for ``access_m`` (kept so that
        other straight lines from them need no second projection), or None.
    """

    edge: np.ndarray
    offset_m: np.ndarray
    access_m: np.ndarray
    proj_xy: np.ndarray
    point_lonlat: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.edge)

    def take(self, idx: np.ndarray) -> SnapResult:
        """The rows ``idx``."""
        ll = None if self.point_lonlat is None else self.point_lonlat[idx]
        return SnapResult(self.edge[idx], self.offset_m[idx], self.access_m[idx], self.proj_xy[idx], ll)


class EdgeIndex:
    """A reusable spatial index over a network's edge segments."""

    def __init__(self, net: RoadNetwork, *, piece_m: float | None = None) -> None:
        seg_edge, a, b, off = net.segments()
        d = b - a
        seg_len = np.hypot(d[:, 0], d[:, 1])
        end_m = np.empty_like(off)
        # distance along the edge at the segment end (from coord_m of the next vertex)
        nxt = off.copy()
        nxt[:-1] = off[1:]
        last = np.ones(len(off), dtype=bool)
        last[:-1] = seg_edge[1:] != seg_edge[:-1]
        nxt[last] = net.edge_len_m[seg_edge[last]]
        end_m[:] = nxt
        if piece_m is None:
            # a piece length near the typical segment keeps the tree small and k small
            piece_m = float(np.clip(np.percentile(seg_len, 50), 10.0, 100.0)) if len(seg_len) else 50.0
        n_pieces = np.maximum(1, np.ceil(seg_len / piece_m)).astype(np.int64)
        piece_seg = np.repeat(np.arange(len(seg_len), dtype=np.int64), n_pieces)
        first = np.repeat(np.cumsum(n_pieces) - n_pieces, n_pieces)
        k = np.arange(len(piece_seg)) - first
        frac = (k + 0.5) / n_pieces[piece_seg]
        mid = a[piece_seg] + d[piece_seg] * frac[:, None]
        self.crs = net.crs
        self.piece_m = float(piece_m)
        self.half = float(np.max(seg_len / n_pieces) / 2.0) if len(seg_len) else 0.0
        self.seg_edge = seg_edge
        self.ax = np.ascontiguousarray(a[:, 0])
        self.ay = np.ascontiguousarray(a[:, 1])
        self.dx = np.ascontiguousarray(d[:, 0])
        self.dy = np.ascontiguousarray(d[:, 1])
        self.seg_len2 = seg_len**2
        self.off0 = off
        self.off1 = end_m
        self.piece_seg = piece_seg
        self.tree = cKDTree(mid, balanced_tree=False, compact_nodes=False)

    def _choose(self, pts: np.ndarray, segs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Nearest of the candidate segments ``segs[i, :]`` for each point ``pts[i]``."""
        ax = self.ax[segs]
        ay = self.ay[segs]
        dx = self.dx[segs]
        dy = self.dy[segs]
        rx = pts[:, :1] - ax
        ry = pts[:, 1:2] - ay
        l2 = self.seg_len2[segs]
        t = rx * dx + ry * dy
        np.divide(t, l2, out=t, where=l2 > 0)
        t[l2 <= 0] = 0.0
        np.clip(t, 0.0, 1.0, out=t)
        ex = rx - dx * t
        ey = ry - dy * t
        dist = np.hypot(ex, ey)
        # ties (a point nearest to a vertex that several segments share) go to the lowest
        # segment, so the answer never depends on how the index was built: a region's piece
        # of a network snaps exactly as the whole network does (coverage.batch)
        tied = dist == dist.min(axis=1, keepdims=True)
        j = np.argmin(np.where(tied, segs, np.iinfo(np.int64).max), axis=1)
        rows = np.arange(len(pts))
        return segs[rows, j], dist[rows, j], t[rows, j]

    def snap(self, xy: np.ndarray, *, k: int = 8, workers: int | None = None, chunk: int = 200_000) -> SnapResult:
        """Snap metric coordinates ``xy`` (n × 2) to the nearest edge.

        Points are processed ``chunk`` at a time so that memory stays bounded (about
        0.3 GB per 200,000 points) however many there are.
        """
        if workers is None:  # every core, unless the caller limited it (coverage.engine.threads)
            workers = engine_threads()
        pts = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        if len(pts) > chunk:
            parts = [self.snap(pts[i : i + chunk], k=k, workers=workers, chunk=chunk) for i in range(0, len(pts), chunk)]
            return SnapResult(
                np.concatenate([p.edge for p in parts]),
                np.concatenate([p.offset_m for p in parts]),
                np.concatenate([p.access_m for p in parts]),
                np.concatenate([p.proj_xy for p in parts]),
                np.concatenate([p.point_lonlat for p in parts if p.point_lonlat is not None]),
            )
        n = len(pts)
        if n == 0:
            return SnapResult(np.zeros(0, np.int64), np.zeros(0), np.zeros(0), np.zeros((0, 2)), np.zeros((0, 2)))
        n_pieces = len(self.piece_seg)
        best_seg = np.zeros(n, dtype=np.int64)
        best_d = np.zeros(n)
        best_t = np.zeros(n)
        todo = np.arange(n)
        for kk in (k, 8 * k):
            kk = int(min(kk, n_pieces))
            dk, ik = self.tree.query(pts[todo], k=kk, workers=workers)
            dk = dk.reshape(len(todo), kk)
            ik = ik.reshape(len(todo), kk)
            s, dd, tt = self._choose(pts[todo], self.piece_seg[ik])
            best_seg[todo], best_d[todo], best_t[todo] = s, dd, tt
            if kk == n_pieces:
                todo = todo[:0]
                break
            todo = todo[dk[:, -1] <= dd + self.half]
            if len(todo) == 0:
                break
        if len(todo):
            radius = best_d[todo] + self.half + 1e-9
            lists = self.tree.query_ball_point(pts[todo], radius, workers=workers)
            for j, i in enumerate(todo.tolist()):
                cand = np.unique(self.piece_seg[np.asarray(lists[j], dtype=np.int64)])
                s, dd, tt = self._choose(pts[i : i + 1], cand[None, :])
                best_seg[i], best_d[i], best_t[i] = s[0], dd[0], tt[0]
            logger.debug("snapping: %d of %d points needed a radius query", len(todo), n)
        edge = self.seg_edge[best_seg]
        offset = self.off0[best_seg] + best_t * (self.off1[best_seg] - self.off0[best_seg])
        proj = np.column_stack(
            [self.ax[best_seg] + self.dx[best_seg] * best_t, self.ay[best_seg] + self.dy[best_seg] * best_t]
        )
        # the off-road walk measured like the roads: on the ellipsoid
        pll, fll = to_lonlat(self.crs, pts), to_lonlat(self.crs, proj)
        access = geodesic_m(pll[:, 0], pll[:, 1], fll[:, 0], fll[:, 1])
        return SnapResult(edge.astype(np.int64), offset, access, proj, pll)


def snap_points(net: RoadNetwork, xy: np.ndarray) -> SnapResult:
    """Snap metric coordinates ``xy`` (n × 2, in ``net.crs``) to the nearest edge of ``net``
    (exact; see the module docstring), building the edge index for this once. A study keeps
    its index in its :class:`~coverage.engine.engine.Engine` (:meth:`Engine.layer
    <coverage.engine.engine.Engine.layer>`)."""
    return EdgeIndex(net).snap(xy)
