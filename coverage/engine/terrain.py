"""Walking time on real terrain: grades along every edge, a slope–speed function, and a
directed search from the facilities.

Elevation is sampled along every edge's polyline, at its vertices and at least every
``sample_m`` metres between them (:func:`terrain_costs`; the elevation itself comes from a
function of metric coordinates, e.g. a DEM read by :mod:`coverage.inputs.terrain`). Each
piece between two samples has a horizontal length (the geodesic offsets of the network)
and a grade ``dz / dl`` that is uphill one way and downhill the other, so an edge has two
walking times. They are kept as *flat-equivalent metres*: the distance an older person
walks on the flat in the same time (``seconds × speed``), so 15 minutes at 0.8 m/s is
still 720 m and the searches keep their metre limits.

Slope models (:data:`SLOPE_MODELS`), each a time factor (time on the grade / time on the flat):

``tobler``
    Tobler's hiking function ``W = 6 exp(-3.5 |S + 0.05|)`` km/h (Tobler 1993, NCGIA
    Technical Report 93-1), normalised to the flat: ``exp(3.5 (|S + 0.05| - 0.05))``, so the
    flat elderly speed is kept and only its change with the grade ``S`` is taken from
    Tobler (fastest at S = -5 %, factor 0.839).
``din33466``
    The grade factors of Valhalla's pedestrian costing, derived from DIN 33466 with a
    modified Tobler correction downhill (``src/sif/pedestriancost.cc`` lines 169-218 at
    valhalla/valhalla 14582d2, :data:`VALHALLA_GRADE_FACTORS`), indexed as Valhalla does:
    ``int(grade% × 0.6 + 6.5)`` with the grade clamped to -10 … +15 %
    (``src/mjolnir/elevationbuilder.cc`` line 208, ``src/skadi/util.cc`` line 19). Valhalla
    applies the factor to a whole edge's energy-weighted mean grade; here it applies to
    every sampled piece, so a hill in the middle of a long edge still counts.

Stairs (``highway=steps``) add ``steps_s`` seconds per edge walked (spread over its length,
so a part of the flight costs its part); the default, 30 s, is Valhalla's
``kDefaultStepPenaltyFoot`` (``pedestriancost.cc`` line 46, charged on entering a steps
edge at line 782), where it is a routing penalty; here it is counted as time.

An optional crossing delay (``crossing_s``, default 0: off) is added where a walk on a minor
road arrives at a junction with a major road (``trunk``, ``primary``, ``secondary`` and
their links: :data:`MAJOR_ROADS`), the moment a pedestrian waits to cross. It is an
approximation of a node's turn costs without a turn graph: turning onto the major road
instead of crossing it is charged too, walking along the major road is not.

Direction matters: the trip that counts is home → facility, so :func:`terrain_nearest`
searches the *reversed* directed graph from the facilities (one multi-source Dijkstra),
and a home's time is its walk to the ends of its edge plus the ends' times to a facility.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from ..config import SLOPE_MODELS as _CONFIG_SLOPE_MODELS
from ..errors import ParameterError
from .network import RoadNetwork
from .routing import with_virtual_nodes
from .snapping import SnapResult

__all__ = [
    "MAJOR_ROADS",
    "SLOPE_MODELS",
    "VALHALLA_GRADE_FACTORS",
    "TerrainCosts",
    "terrain_costs",
    "terrain_nearest",
    "time_factor",
]

logger = logging.getLogger(__name__)

#: road classes whose crossing costs ``crossing_s`` (see the module docstring)
MAJOR_ROADS = frozenset({"trunk", "trunk_link", "primary", "primary_link", "secondary", "secondary_link"})

#: slope–speed functions :func:`time_factor` knows
SLOPE_MODELS = _CONFIG_SLOPE_MODELS

#: Valhalla's pedestrian ``kGradeBasedSpeedFactor`` (time multipliers, index 0 = -10 %,
#: 6 = flat, 15 = +15 %), src/sif/pedestriancost.cc lines 201-218, valhalla/valhalla 14582d2
VALHALLA_GRADE_FACTORS = np.array(
    [1.33, 1.22, 1.08, 0.97, 0.88, 0.92, 1.00, 1.10, 1.20, 1.33, 1.43, 1.57, 1.83, 2.03, 2.23, 2.50]
)

#: where each slope model comes from (printed with every terrain result)
SLOPE_SOURCES = {
    "tobler": (
        "Tobler W. (1993) Three presentations on geographical analysis and modeling: non-isotropic "
        "geographic modeling. NCGIA Technical Report 93-1: W = 6 exp(-3.5 |S + 0.05|) km/h, "
        "normalised to the flat (time factor exp(3.5 (|S + 0.05| - 0.05)))"
    ),
    "din33466": (
        "DIN 33466 grade factors as in Valhalla's pedestrian costing: kGradeBasedSpeedFactor, "
        "src/sif/pedestriancost.cc lines 201-218 (valhalla/valhalla 14582d2); grade index "
        "int(grade% x 0.6 + 6.5), src/mjolnir/elevationbuilder.cc line 208"
    ),
}

#: the short citation of each slope model (console lines)
SLOPE_CITATIONS = {
    "tobler": "Tobler 1993, NCGIA Technical Report 93-1",
    "din33466": "DIN 33466 factors of Valhalla's pedestrian costing, src/sif/pedestriancost.cc:201-218",
}

#: where the default stairs time comes from
STEPS_SOURCE = (
    "Valhalla pedestrian costing kDefaultStepPenaltyFoot = 30 s per steps edge "
    "(src/sif/pedestriancost.cc line 46, applied at line 782), counted here as walking time"
)


def time_factor(grade: np.ndarray, model: str) -> np.ndarray:
    """Walking-time multiplier (time on the grade / time on the flat) for grades ``dz/dl``
    (rise over horizontal run, positive uphill in the direction walked).

    >>> [round(float(x), 4) for x in time_factor(np.array([0.0, 0.1, -0.05, -0.1]), "tobler")]
    [1.0, 1.4191, 0.8395, 1.0]
    >>> time_factor(np.array([0.0, 0.03, 0.08, 0.15, -0.03, 0.5]), "din33466").tolist()
    [1.0, 1.2, 1.57, 2.5, 0.88, 2.5]
    """
    g = np.asarray(grade, dtype=np.float64)
    if model == "tobler":
        return np.asarray(np.exp(3.5 * (np.abs(g + 0.05) - 0.05)), dtype=np.float64)
    if model == "din33466":
        pct = np.clip(g * 100.0, -10.0, 15.0)
        idx = np.floor(pct * 0.6 + 6.5).astype(np.int64)
        return np.asarray(VALHALLA_GRADE_FACTORS[np.clip(idx, 0, 15)], dtype=np.float64)
    raise ParameterError(f"slope model {model!r}: choose one of {', '.join(SLOPE_MODELS)} (--slope-model)")


@dataclass(frozen=True, eq=False)
class TerrainCosts:
    """Direction-dependent walking costs of every edge, in flat-equivalent metres.

    The samples of edge ``e`` are ``ptr[e]`` to ``ptr[e + 1] - 1``: ``offset_m`` along the
    edge from ``u`` (0 … length), elevation ``z`` and the cumulative costs of walking from
    ``u`` to the sample (``fwd_m``) and from the sample back to ``u`` (``bwd_m``).
    """

    net: RoadNetwork
    model: str
    speed_mps: float
    steps_s: float
    ptr: np.ndarray
    offset_m: np.ndarray
    z: np.ndarray
    fwd_m: np.ndarray
    bwd_m: np.ndarray
    n_missing: int
    cross_fwd_m: np.ndarray | None = None
    cross_bwd_m: np.ndarray | None = None
    crossing_s: float = 0.0

    @property
    def arrive_v_m(self) -> np.ndarray:
        """Crossing delay of arriving at ``v`` walking ``u -> v`` (flat-equivalent metres)."""
        return self.cross_fwd_m if self.cross_fwd_m is not None else np.zeros(self.net.n_edges)

    @property
    def arrive_u_m(self) -> np.ndarray:
        """Crossing delay of arriving at ``u`` walking ``v -> u``."""
        return self.cross_bwd_m if self.cross_bwd_m is not None else np.zeros(self.net.n_edges)

    @property
    def edge_fwd_m(self) -> np.ndarray:
        """Cost of walking every edge ``u -> v``."""
        return self.fwd_m[self.ptr[1:] - 1]

    @property
    def edge_bwd_m(self) -> np.ndarray:
        """Cost of walking every edge ``v -> u``."""
        return self.bwd_m[self.ptr[1:] - 1]

    @property
    def climb_m(self) -> np.ndarray:
        """Metres climbed walking every edge ``u -> v`` (the sum of its rises)."""
        dz = np.diff(self.z)
        dz[self.ptr[1:-1] - 1] = 0.0  # no piece between the last sample of an edge and the next edge's first
        dz = np.where(np.isfinite(dz), dz, 0.0)
        up = np.concatenate([[0.0], np.cumsum(np.maximum(dz, 0.0))])
        return np.asarray(up[self.ptr[1:] - 1] - up[self.ptr[:-1]], dtype=np.float64)

    def _at(self, cum: np.ndarray, edge: np.ndarray, offset_m: np.ndarray) -> np.ndarray:
        """``cum`` interpolated at ``offset_m`` along ``edge`` (linear between samples: the
        grade, hence the factor, is constant on a piece)."""
        e = np.asarray(edge, dtype=np.int64)
        lens = self.net.edge_len_m
        off = np.clip(np.asarray(offset_m, dtype=np.float64), 0.0, lens[e])
        counts = np.diff(self.ptr)
        start = np.concatenate([[0.0], np.cumsum(lens + 1.0)[:-1]])
        g = self.offset_m + np.repeat(start, counts)
        pos = start[e] + off
        i = np.searchsorted(g, pos, side="right") - 1
        i = np.clip(i, self.ptr[e], self.ptr[e + 1] - 2)
        span = g[i + 1] - g[i]
        t = np.where(span > 0, (pos - g[i]) / np.where(span > 0, span, 1.0), 0.0)
        return np.asarray(cum[i] + (cum[i + 1] - cum[i]) * t, dtype=np.float64)

    def fwd(self, edge: np.ndarray, offset_m: np.ndarray) -> np.ndarray:
        """Cost of walking from ``u`` to ``offset_m`` along ``edge``."""
        return self._at(self.fwd_m, edge, offset_m)

    def bwd(self, edge: np.ndarray, offset_m: np.ndarray) -> np.ndarray:
        """Cost of walking from ``offset_m`` along ``edge`` back to ``u``."""
        return self._at(self.bwd_m, edge, offset_m)

    @cached_property
    def graph(self) -> sp.csr_matrix:
        """Directed node × node CSR matrix: entry ``[a, b]`` is the cost of walking from
        ``a`` to ``b`` (the cheaper of parallel edges; self-loops left out)."""
        net = self.net
        keep = net.edge_u != net.edge_v
        rows = np.concatenate([net.edge_u[keep], net.edge_v[keep]])
        cols = np.concatenate([net.edge_v[keep], net.edge_u[keep]])
        fwd = self.edge_fwd_m + self.arrive_v_m
        bwd = self.edge_bwd_m + self.arrive_u_m
        data = np.maximum(np.concatenate([fwd[keep], bwd[keep]]), 1e-9)
        return _min_csr(rows, cols, data, net.n_nodes)

    @cached_property
    def reverse_graph(self) -> sp.csr_matrix:
        """:attr:`graph` transposed: searching it from a facility gives walking costs *to* it."""
        g = self.graph.T.tocsr()
        g.sort_indices()
        return g

    def record(self) -> dict[str, object]:
        """The terrain parameters for output metadata."""
        return {"slope_model": self.model, "slope_source": SLOPE_SOURCES[self.model],
                "slope_citation": SLOPE_CITATIONS[self.model], "steps_seconds": self.steps_s,
                "steps_source": STEPS_SOURCE, "crossing_seconds": self.crossing_s, "samples": len(self.z),
                "samples_without_elevation": self.n_missing}  # fmt: skip


def _min_csr(rows: np.ndarray, cols: np.ndarray, data: np.ndarray, n: int) -> sp.csr_matrix:
    order = np.lexsort((data, cols, rows))
    r, c, d = rows[order], cols[order], data[order]
    first = np.ones(len(r), dtype=bool)
    first[1:] = (r[1:] != r[:-1]) | (c[1:] != c[:-1])
    m = sp.csr_matrix((d[first], (r[first], c[first])), shape=(n, n))
    m.sort_indices()
    return m


def _densify(net: RoadNetwork, sample_m: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Sample points of every edge: its vertices and enough points between them that no
    piece is longer than ``sample_m``. Returns ``(ptr, edge, offset_m, xy)``."""
    n_coords = np.diff(net.edge_ptr)
    seg_edge = np.repeat(np.arange(net.n_edges, dtype=np.int64), n_coords - 1)
    last = np.zeros(len(net.coord_xy), dtype=bool)
    last[net.edge_ptr[1:] - 1] = True
    a = np.flatnonzero(~last)  # first vertex of every segment
    seg_len = net.coord_m[a + 1] - net.coord_m[a]
    k = np.maximum(1, np.ceil(seg_len / sample_m - 1e-9)).astype(np.int64)  # pieces per segment
    seg_of = np.repeat(np.arange(len(a)), k)
    j = np.arange(int(k.sum())) - np.repeat(np.cumsum(k) - k, k)
    t = j / k[seg_of]
    ia = a[seg_of]
    off = net.coord_m[ia] + (net.coord_m[ia + 1] - net.coord_m[ia]) * t
    xy = net.coord_xy[ia] + (net.coord_xy[ia + 1] - net.coord_xy[ia]) * t[:, None]
    edge = seg_edge[seg_of]
    # append every edge's last vertex after its samples
    per_edge = np.bincount(edge, minlength=net.n_edges) + 1
    ptr = np.concatenate([[0], np.cumsum(per_edge)]).astype(np.int64)
    n = int(ptr[-1])
    is_last = np.zeros(n, dtype=bool)
    is_last[ptr[1:] - 1] = True
    out_off = np.empty(n)
    out_xy = np.empty((n, 2))
    out_edge = np.empty(n, dtype=np.int64)
    out_off[~is_last], out_xy[~is_last], out_edge[~is_last] = off, xy, edge
    lv = net.edge_ptr[1:] - 1
    out_off[is_last], out_xy[is_last], out_edge[is_last] = net.edge_len_m, net.coord_xy[lv], np.arange(net.n_edges)
    return ptr, out_edge, out_off, out_xy


def terrain_costs(
    net: RoadNetwork,
    elevation: Callable[[np.ndarray], np.ndarray],
    *,
    model: str = "tobler",
    speed_mps: float = 0.8,
    steps_s: float = 30.0,
    sample_m: float = 15.0,
    crossing_s: float = 0.0,
) -> TerrainCosts:
    """Sample ``elevation`` (a function of metric coordinates in ``net.crs``, n × 2 → n
    heights in metres, NaN where unknown) along every edge and turn the grades into
    direction-dependent costs (see the module docstring). Pieces with an unknown height at
    either end count as flat (and are counted in ``n_missing``)."""
    time_factor(np.zeros(1), model)  # refuses an unknown model before any work
    if not (np.isfinite(sample_m) and sample_m > 0):
        raise ParameterError(f"sample_m={sample_m!r} must be a positive distance in metres")
    for name, value, flag in (("steps_s", steps_s, "--steps-seconds"), ("crossing_s", crossing_s, "--crossing-seconds")):
        if not (np.isfinite(value) and value >= 0):
            raise ParameterError(f"{name}={value!r} ({flag}) must be a time of 0 s or more")
    ptr, edge, off, xy = _densify(net, sample_m)
    z = np.asarray(elevation(xy), dtype=np.float64).reshape(-1)
    if len(z) != len(off):
        raise ParameterError(f"the elevation function returned {len(z)} heights for {len(off)} points")
    dl = np.diff(off)
    dz = np.diff(z)
    piece = np.ones(len(dl), dtype=bool)
    piece[ptr[1:-1] - 1] = False  # the step from an edge's last sample to the next edge's first is no piece
    known = np.isfinite(dz)
    grade = np.where(known & (dl > 0), dz / np.where(dl > 0, dl, 1.0), 0.0)
    cost_f = dl * time_factor(grade, model)
    cost_b = dl * time_factor(-grade, model)
    if steps_s > 0 and net.edge_highway is not None:
        steps = np.asarray(net.edge_highway == "steps", dtype=bool)
        lens = net.edge_len_m[edge[:-1]]
        extra = np.where(steps[edge[:-1]] & (lens > 0), dl / np.where(lens > 0, lens, 1.0), 0.0) * steps_s * speed_mps
        cost_f, cost_b = cost_f + extra, cost_b + extra
    cost_f = np.where(piece, cost_f, 0.0)
    cost_b = np.where(piece, cost_b, 0.0)
    fwd = np.concatenate([[0.0], np.cumsum(cost_f)])
    bwd = np.concatenate([[0.0], np.cumsum(cost_b)])
    base = np.repeat(np.arange(net.n_edges), np.diff(ptr))
    first = ptr[:-1][base]
    fwd, bwd = fwd - fwd[first], bwd - bwd[first]
    n_missing = int((~np.isfinite(z)).sum())
    if n_missing:
        logger.warning("terrain: %d of %d sample points have no elevation (outside the DEM or no data); "
                       "pieces touching them count as flat", n_missing, len(z))  # fmt: skip
    cross_f, cross_b = _crossings(net, crossing_s * speed_mps)
    return TerrainCosts(net, model, float(speed_mps), float(steps_s), ptr, off, z, fwd, bwd, n_missing, cross_f, cross_b, float(crossing_s))


def _crossings(net: RoadNetwork, delay_m: float) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The crossing delay of arriving at each end of every edge: a minor edge arriving at a
    junction that a major road touches (see the module docstring); ``None`` when off."""
    if delay_m <= 0 or net.edge_highway is None:
        return None, None
    major = np.isin(net.edge_highway.astype(str), sorted(MAJOR_ROADS))
    at_major = np.zeros(net.n_nodes, dtype=bool)
    at_major[net.edge_u[major]] = True
    at_major[net.edge_v[major]] = True
    minor = ~major
    return (np.where(minor & at_major[net.edge_v], delay_m, 0.0), np.where(minor & at_major[net.edge_u], delay_m, 0.0))


def terrain_nearest(
    tc: TerrainCosts,
    facilities: SnapResult,
    demand: SnapResult,
    *,
    limit_m: float,
    facility_access_m: np.ndarray,
    demand_access_m: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Nearest facility of every demand point by walking time on the terrain, home →
    facility, and its cost in flat-equivalent metres: ``(facility, cost)``, ``-1`` and
    ``inf`` beyond ``limit_m``.

    ``facility_access_m`` and ``demand_access_m`` are the costs of the off-road walks (road
    → facility, home → road), flat-equivalent metres; pass only the facilities to use.
    One Dijkstra from all facilities on the reversed directed graph gives every node's cost
    *to* its nearest facility; a home adds its walk to either end of its edge, or walks
    along its edge straight to a facility on it.
    """
    net = tc.net
    n, k = net.n_nodes, len(facilities)
    nd = len(demand)
    if k == 0:
        return np.full(nd, -1, dtype=np.int64), np.full(nd, np.inf)
    fe, fo = facilities.edge, facilities.offset_m
    facc = np.asarray(facility_access_m, dtype=np.float64)
    to_fac_from_u = tc.fwd(fe, fo) + facc  # walk u -> facility
    to_fac_from_v = tc.edge_bwd_m[fe] - tc.bwd(fe, fo) + facc  # walk v -> facility
    vid = np.arange(n, n + k)
    g = with_virtual_nodes(
        tc.reverse_graph,
        np.concatenate([vid, vid]),
        np.concatenate([net.edge_u[fe], net.edge_v[fe]]),
        np.maximum(np.concatenate([to_fac_from_u, to_fac_from_v]), 1e-9),
        k,
    )
    dist, _pred, src = dijkstra(g, directed=True, indices=vid, min_only=True, limit=limit_m, return_predecessors=True)
    node_d, node_s = dist[:n], np.where(src[:n] >= 0, src[:n] - n, -1)
    e, p = demand.edge, demand.offset_m
    via_u = tc.bwd(e, p) + tc.arrive_u_m[e] + node_d[net.edge_u[e]]  # home -> u, then on
    via_v = tc.edge_fwd_m[e] - tc.fwd(e, p) + tc.arrive_v_m[e] + node_d[net.edge_v[e]]  # home -> v, then on
    take_v = via_v < via_u
    best = np.where(take_v, via_v, via_u)
    bsrc = np.where(take_v, node_s[net.edge_v[e]], node_s[net.edge_u[e]]).astype(np.int64)
    _same_edge_walks(tc, facilities, facc, demand, best, bsrc)
    total = best + np.asarray(demand_access_m, dtype=np.float64)
    out = ~(total <= limit_m)
    total[out] = np.inf
    bsrc[out] = -1
    return bsrc, total


def _same_edge_walks(tc: TerrainCosts, fac: SnapResult, facc: np.ndarray, dem: SnapResult, best: np.ndarray, bsrc: np.ndarray) -> None:
    """Walk straight along the edge to a facility on the same edge where that is cheaper
    (``best``/``bsrc`` updated in place)."""
    order = np.argsort(fac.edge, kind="stable")
    se = fac.edge[order]
    lo = np.searchsorted(se, dem.edge, side="left")
    cnt = np.searchsorted(se, dem.edge, side="right") - lo
    for j in range(int(cnt.max()) if len(cnt) else 0):
        m = np.flatnonzero(cnt > j)
        f = order[lo[m] + j]
        e, p, o = dem.edge[m], dem.offset_m[m], fac.offset_m[f]
        ahead = tc.fwd(e, o) - tc.fwd(e, p)  # facility further along: walk towards v
        behind = tc.bwd(e, p) - tc.bwd(e, o)  # facility behind: walk towards u
        d = np.where(o >= p, ahead, behind) + facc[f]
        better = (d < best[m]) | ((d == best[m]) & (f < bsrc[m]))
        best[m[better]] = d[better]
        bsrc[m[better]] = f[better]
