"""The audit's arrays and the what-if engine.

:class:`AuditState` holds a finished audit on an :class:`~coverage.engine.engine.Engine`:
for every demand point the nearest facility by road, the network distance (m) and walking
time (min) at the configured older person's speed, whether the 1000 m coverage-radius rule
and the 15-minute service circle hold, and whether a straight-line 1000 m circle would
count it as covered ("false coverage" when the circle says yes and the roads say no). It
answers what-if questions (add or remove one facility) by updating the node distances
instead of starting again. The GeoDataFrame audit is :func:`coverage.audit.run.run_audit`.

Walking times here are flat (distance / speed). An audit on terrain (``--dem``) measures its
terrain-aware times once, with :func:`coverage.audit.terrain.terrain_audit`; the what-if
answers do not update them (run ``terrain_audit`` on the state again for a changed set).
Straight-line distances are geodesics, like every length (the nearest facility found in the
metric CRS, measured on the ellipsoid).
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from ..config import AuditConfig
from ..errors import ParameterError, SnapWarning
from .diagnostics import require_reachable
from .engine import Engine, Layer
from .network import RoadNetwork, geodesic_m, to_lonlat
from .routing import with_virtual_nodes
from .snapping import SnapResult

__all__ = [
    "STATUSES",
    "STATUS_BEYOND",
    "STATUS_OK",
    "STATUS_UNREACHABLE",
    "AuditArrays",
    "AuditState",
]

logger = logging.getLogger(__name__)

#: a demand point reached by road within the search cutoff
STATUS_OK = "ok"
#: a demand point no facility reaches within the search cutoff
STATUS_BEYOND = "beyond_cutoff"
#: a demand point farther than the snap tolerance from any road
STATUS_UNREACHABLE = "unreachable"
STATUSES = (STATUS_OK, STATUS_BEYOND, STATUS_UNREACHABLE)


@dataclass(frozen=True, eq=False)
class AuditArrays:
    """Per-demand-point audit results (arrays aligned with the demand input).

    ``facility`` is ``-1`` and ``dist_m``/``time_min`` are ``inf`` where no usable facility
    is within the search cutoff or the point is farther than the snap tolerance from any
    road (``status`` says which).
    """

    facility: np.ndarray
    dist_m: np.ndarray
    time_min: np.ndarray
    covered_radius: np.ndarray
    covered_time: np.ndarray
    within_circle: np.ndarray
    euclid_m: np.ndarray
    access_m: np.ndarray
    status: np.ndarray

    @property
    def false_coverage(self) -> np.ndarray:
        """Counted by a straight-line circle of ``radius_m`` but not by the road network."""
        return self.within_circle & ~self.covered_radius


def straight_line_nearest(
    fac_xy: np.ndarray, fac_ll: np.ndarray, dem_xy: np.ndarray, dem_ll: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Straight-line distance from every demand point to its nearest facility, and which
    facility (positions; ``inf``/``-1`` without facilities): the nearest found in the metric
    CRS (``*_xy``), the distance measured on the ellipsoid between the points' longitudes
    and latitudes (``*_ll``), like every road length (:func:`~coverage.engine.network.geodesic_m`).
    The audit's circle and the province batch both measure it here."""
    if len(fac_xy) == 0:
        return np.full(len(dem_xy), np.inf), np.full(len(dem_xy), -1, dtype=np.int64)
    _d, i = cKDTree(fac_xy).query(dem_xy, k=1)
    i = np.asarray(i, dtype=np.int64)
    dll, fll = dem_ll, fac_ll[i]
    return geodesic_m(dll[:, 0], dll[:, 1], fll[:, 0], fll[:, 1]), i


@dataclass(eq=False)
class AuditState:
    """A finished audit kept ready for what-if questions.

    Build it with :meth:`AuditState.build` on an :class:`~coverage.engine.engine.Engine`;
    :meth:`add_facility` and :meth:`remove_facility` return new :class:`AuditArrays` after
    updating only the part of the network the change touches.
    """

    engine: Engine
    demand_xy: np.ndarray
    demand: SnapResult
    facility_xy: np.ndarray
    facilities: SnapResult
    usable: np.ndarray
    node_dist: np.ndarray
    node_src: np.ndarray
    result: AuditArrays = field(init=False)
    open: np.ndarray = field(init=False)
    _euclid: np.ndarray = field(init=False, repr=False)
    _euclid_src: np.ndarray = field(init=False, repr=False)
    _demand_ll: np.ndarray = field(init=False, repr=False)
    _facility_ll: np.ndarray = field(init=False, repr=False)

    @property
    def net(self) -> RoadNetwork:
        """The network searched (the engine's)."""
        return self.engine.net

    @property
    def config(self) -> AuditConfig:
        """Rules, walking speed and snap tolerance (the engine's)."""
        return self.engine.config

    @classmethod
    def build(
        cls,
        engine: Engine,
        facilities: Layer | np.ndarray,
        demand: Layer | np.ndarray,
        *,
        warn_far: bool = True,
        facility_layer: gpd.GeoDataFrame | None = None,
    ) -> AuditState:
        """Snap (through the engine, which keeps the layers), route and flag.

        ``facilities`` and ``demand`` are snapped layers (:meth:`Engine.layer
        <coverage.engine.engine.Engine.layer>`) or metric coordinates in the engine's CRS.
        ``warn_far=False`` leaves warning about facilities beyond the snap tolerance to the
        caller (:func:`coverage.audit.run.run_audit` names them with
        :func:`~coverage.engine.diagnostics.warn_unreachable`). When every facility is
        beyond it, :class:`~coverage.errors.CoordinateError` is raised
        (:func:`~coverage.engine.diagnostics.require_reachable`), naming the rows, ids and
        names of ``facility_layer`` (the layer the facilities came from) when given.
        """
        fl = facilities if isinstance(facilities, Layer) else engine.layer(facilities)
        dl = demand if isinstance(demand, Layer) else engine.layer(demand)
        tol = engine.config.snap_tolerance_m
        usable = engine.reachable(fl)
        require_reachable(facility_layer, fl.access_m, tol, label="facilities")
        if warn_far and (~usable).any():
            warnings.warn(
                f"{int((~usable).sum())} facilities are more than {tol:g} m from any "
                "road and are left out of the network search (positions "
                f"{np.flatnonzero(~usable)[:10].tolist()}); check their coordinates",
                SnapWarning,
                stacklevel=2,
            )
        use = np.flatnonzero(usable)
        local, nd = engine.node_distances(fl.snap.take(use))
        ns = np.full(len(local), -1, dtype=np.int64)
        ns[local >= 0] = use[local[local >= 0]]  # positions among all facilities (none usable: all -1)
        st = cls(engine, dl.xy, dl.snap, fl.xy, fl.snap, usable, nd, ns)
        st.open = np.ones(len(fl), dtype=bool)
        st._demand_ll = dl.snap.point_lonlat if dl.snap.point_lonlat is not None else to_lonlat(engine.crs, dl.xy)
        st._facility_ll = fl.snap.point_lonlat if fl.snap.point_lonlat is not None else to_lonlat(engine.crs, fl.xy)
        st._euclid, st._euclid_src = st._circle(np.arange(len(fl)), np.arange(len(dl)))
        st.result = st._flags()
        return st

    # -------------------------------------------------------------- internals
    def _circle(self, fac: np.ndarray, dem: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Straight-line distance from demand ``dem`` to the nearest of facilities ``fac``:
        the nearest found in the metric CRS, its distance measured on the ellipsoid like
        every road length (:func:`~coverage.engine.network.geodesic_m`)."""
        d, i = straight_line_nearest(self.facility_xy[fac], self._facility_ll[fac], self.demand_xy[dem], self._demand_ll[dem])
        return d, np.where(i >= 0, fac[np.maximum(i, 0)], -1)

    def _flags(self) -> AuditArrays:
        cfg = self.config
        use = np.flatnonzero(self.usable)
        # point_distances reports source positions within the snap result it is given
        fac, dist = self.engine.point_distances(self.demand, _compress(self.node_src, use), self.node_dist, self.facilities.take(use))
        fac = np.where(fac >= 0, use[np.maximum(fac, 0)], -1)
        unreachable = ~self.engine.reachable(self.demand)
        dist = np.where(unreachable, np.inf, dist)
        fac = np.where(unreachable, -1, fac)
        time_min = dist / cfg.speed_mps / 60.0
        # a micrometre of slack: zero-length links in the routing graph weigh 1e-9 m
        covered_radius = dist <= cfg.radius_m + 1e-6
        covered_time = dist <= cfg.walk_limit_m + 1e-6
        euclid = self._euclid
        status = np.where(unreachable, STATUS_UNREACHABLE, np.where(np.isfinite(dist), STATUS_OK, STATUS_BEYOND))
        return AuditArrays(
            facility=fac,
            dist_m=dist,
            time_min=time_min,
            covered_radius=covered_radius,
            covered_time=covered_time,
            within_circle=euclid <= cfg.radius_m + 1e-6,
            euclid_m=euclid,
            access_m=self.demand.access_m,
            status=status.astype(object),
        )

    # -------------------------------------------------------------- what-if
    def add_facility(self, xy: tuple[float, float] | np.ndarray) -> AuditArrays:
        """Add one facility at metric coordinates ``xy``; returns the updated results.

        Only a Dijkstra from the new facility, bounded by the cutoff, is run.
        """
        p = np.asarray(xy, dtype=np.float64).reshape(1, 2)
        s = self.engine.snap(p)
        new_id = len(self.facility_xy)
        self.facility_xy = np.vstack([self.facility_xy, p])
        self.facilities = SnapResult(
            np.concatenate([self.facilities.edge, s.edge]),
            np.concatenate([self.facilities.offset_m, s.offset_m]),
            np.concatenate([self.facilities.access_m, s.access_m]),
            np.vstack([self.facilities.proj_xy, s.proj_xy]),
            None if self.facilities.point_lonlat is None or s.point_lonlat is None else np.vstack([self.facilities.point_lonlat, s.point_lonlat]),
        )
        ok = bool(self.engine.reachable(s)[0])
        self.open = np.append(self.open, True)
        pll = to_lonlat(self.engine.crs, p)
        self._facility_ll = np.vstack([self._facility_ll, pll])
        # measure on the ellipsoid only where the new facility can be the nearer: a metric
        # CRS's scale stays within 2 % of 1 over a study area (a UTM zone: 0.9996 .. 1.001)
        dp = np.hypot(self.demand_xy[:, 0] - p[0, 0], self.demand_xy[:, 1] - p[0, 1])
        cand = np.flatnonzero(~(dp >= 1.02 * self._euclid))
        de = np.full(len(dp), np.inf)
        dll = self._demand_ll[cand]
        de[cand] = geodesic_m(dll[:, 0], dll[:, 1], np.full(len(cand), pll[0, 0]), np.full(len(cand), pll[0, 1]))
        closer = de < self._euclid
        self._euclid = np.where(closer, de, self._euclid)
        self._euclid_src = np.where(closer, new_id, self._euclid_src)
        self.usable = np.append(self.usable, ok)
        if ok:
            d_new = self.engine.single_source(s, 0)
            better = d_new < self.node_dist
            self.node_dist = np.where(better, d_new, self.node_dist)
            self.node_src = np.where(better, new_id, self.node_src)
        self.result = self._flags()
        return self.result

    def remove_facility(self, position: int) -> AuditArrays:
        """Close the facility at ``position``; returns the updated results.

        Only the nodes it served are searched again, seeded from their neighbours and from
        facilities on their edges.
        """
        if not (0 <= position < len(self.facility_xy)) or not self.open[position]:
            raise ParameterError(f"remove_facility: no open facility at position {position}")
        self.open = self.open.copy()
        self.open[position] = False
        hit = np.flatnonzero(self._euclid_src == position)
        if len(hit):
            self._euclid = self._euclid.copy()
            self._euclid_src = self._euclid_src.copy()
            self._euclid[hit], self._euclid_src[hit] = self._circle(np.flatnonzero(self.open), hit)
        self.usable = self.usable.copy()
        self.usable[position] = False
        affected = np.flatnonzero(self.node_src == position)
        if len(affected):
            self._repair(affected)
        self.result = self._flags()
        return self.result

    def _seeds(self, affected: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Where a search over the ``affected`` nodes (sorted) starts: ``(local node,
        distance, facility)`` from their unaffected reached neighbours and from the open
        facilities on edges touching them."""
        net = self.net
        g = self.engine.graph
        mask = np.zeros(net.n_nodes, dtype=bool)
        mask[affected] = True
        sub = g[affected]
        rows = np.repeat(np.arange(len(affected)), np.diff(sub.indptr))
        nb = sub.indices
        ok = ~mask[nb] & np.isfinite(self.node_dist[nb])
        seed_local = rows[ok]
        seed_d = self.node_dist[nb[ok]] + sub.data[ok]
        seed_src = self.node_src[nb[ok]]
        use = np.flatnonzero(self.usable)
        if len(use):
            fe = self.facilities.edge[use]
            acc = self.facilities.access_m[use] if self.config.access_counts else np.zeros(len(use))
            for end, off in ((net.edge_u[fe], self.facilities.offset_m[use]), (net.edge_v[fe], net.edge_len_m[fe] - self.facilities.offset_m[use])):
                hit = mask[end]
                if hit.any():
                    local = np.searchsorted(affected, end[hit])
                    seed_local = np.concatenate([seed_local, local])
                    seed_d = np.concatenate([seed_d, acc[hit] + off[hit]])
                    seed_src = np.concatenate([seed_src, use[hit]])
        return seed_local, seed_d, seed_src

    def _repair(self, affected: np.ndarray) -> None:
        """Search the nodes the closed facility served again, on the subgraph they form."""
        self.node_dist = self.node_dist.copy()
        self.node_src = self.node_src.copy()
        self.node_dist[affected] = np.inf
        self.node_src[affected] = -1
        seed_local, seed_d, seed_src = self._seeds(affected)
        if len(seed_local) == 0:
            return
        k = len(affected)
        m = len(seed_local)
        inner = self.engine.graph[affected][:, affected]
        seed_rows = np.arange(k, k + m)
        graph = with_virtual_nodes(inner, seed_rows, seed_local, np.maximum(seed_d, 1e-9), m)
        dist, _, src = dijkstra(graph, directed=True, indices=seed_rows, min_only=True, limit=self.config.search_cutoff_m, return_predecessors=True)
        got = np.isfinite(dist[:k])
        self.node_dist[affected[got]] = dist[:k][got]
        self.node_src[affected[got]] = seed_src[src[:k][got] - k]


def _compress(node_src: np.ndarray, use: np.ndarray) -> np.ndarray:
    """Map facility positions to positions within ``use`` (sorted), ``-1`` kept."""
    out = np.full(len(node_src), -1, dtype=np.int64)
    ok = node_src >= 0
    out[ok] = np.searchsorted(use, node_src[ok])
    return out
