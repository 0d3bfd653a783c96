"""One engine per study: the network, its graph, its edge index and the snapped layers.

:meth:`Engine.build` compacts the road network (unless told not to), builds the routing
graph and the edge index once, and then answers every question the stages after it ask:
where points meet the roads (:meth:`Engine.layer`, each layer snapped once and kept),
nearest sources (:meth:`Engine.nearest`), the sparse demand × site cost table
(:meth:`Engine.cost_table`), road-following service areas (:meth:`Engine.service_areas`)
and, through :class:`coverage.engine.whatif.AuditState`, the audit and its what-if
questions. The audit (:func:`coverage.audit.run.run_audit`), cost tables
(:func:`coverage.audit.run.audit_cost_table`) and site selection
(:func:`coverage.siting.propose.propose_sites`) each build one when not given one; pass
the same engine to all of them to share the work::

    engine = Engine.build(network, config=cfg)
    table = audit_cost_table(network, demand, sites, cutoff_m=2000, engine=engine)
    result = propose_sites(network, facilities, demand, candidates, engine=engine, k_new=3)

A compacted network gives the same distances as the original up to the last bits of the
floating-point sums (chains of edges are added up once instead of edge by edge): the audit
routes on the network as given (``compact=False``), cost tables and site selection on the
compacted one, as they always have.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import scipy.sparse as sp

from ..config import AuditConfig
from ..errors import ParameterError
from .costs import CostTable
from .diagnostics import check_extent, points_xy
from .network import RoadNetwork
from .network import compact as compact_network
from .paths import road_paths
from .routing import cost_table, node_distances, point_distances, single_source_distances
from .service_areas import service_areas
from .snapping import EdgeIndex, SnapResult

__all__ = ["Engine", "Layer", "engine_for"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class Layer:
    """A point layer on the network: metric coordinates (``xy``, in the engine's CRS) and
    where each point meets the roads (``snap``)."""

    xy: np.ndarray
    snap: SnapResult

    def __len__(self) -> int:
        return len(self.xy)

    @property
    def access_m(self) -> np.ndarray:
        """Straight-line distance of each point to its road, metres."""
        return self.snap.access_m

    def take(self, idx: np.ndarray) -> Layer:
        """The points ``idx`` (positions or a mask), still snapped."""
        return Layer(self.xy[idx], self.snap.take(idx))


def _snapped(points: Layer | SnapResult) -> SnapResult:
    return points.snap if isinstance(points, Layer) else points


class Engine:
    """The road network of one study, ready for every search (see the module docstring).

    Attributes
    ----------
    network
        The network as given (maps, component reports, metadata).
    net
        The network searched: ``network`` compacted, or ``network`` itself.
    config
        Snap tolerance, access walks, walking speed and search cutoff.
    index
        The edge index of ``net`` (built once).
    """

    def __init__(self, network: RoadNetwork, net: RoadNetwork, config: AuditConfig, index: EdgeIndex) -> None:
        self.network = network
        self.net = net
        self.config = config
        self.index = index
        self._layers: dict[bytes, Layer] = {}

    @classmethod
    def build(cls, network: RoadNetwork, *, config: AuditConfig | None = None, compact: bool = True) -> Engine:
        """Compact ``network`` (unless ``compact=False``) and index its edges."""
        net = compact_network(network) if compact else network
        return cls(network, net, config or AuditConfig(), EdgeIndex(net))

    # -------------------------------------------------------------- the graph
    @property
    def crs(self) -> str:
        """The metric CRS everything is measured in."""
        return self.net.crs

    @property
    def graph(self) -> sp.csr_matrix:
        """The node × node CSR graph of :attr:`net` (built on first use, then kept)."""
        return self.net.csr

    # -------------------------------------------------------------- points
    def xy(self, points: gpd.GeoDataFrame) -> np.ndarray:
        """Coordinates of a point layer in :attr:`crs` (n × 2)."""
        return points_xy(points, self.crs)

    def snap(self, xy: np.ndarray) -> SnapResult:
        """Snap metric coordinates to the nearest edge (not kept: see :meth:`layer`)."""
        return self.index.snap(np.asarray(xy, dtype=np.float64).reshape(-1, 2))

    def layer(self, points: gpd.GeoDataFrame | np.ndarray) -> Layer:
        """A point layer (GeoDataFrame, or metric coordinates) snapped to the roads.

        Each set of coordinates is snapped once per engine: asking again for the same
        points (the demand of an audit and of a site selection) returns the kept layer.
        """
        xy = np.ascontiguousarray(points if isinstance(points, np.ndarray) else self.xy(points), dtype=np.float64).reshape(-1, 2)
        key = hashlib.blake2b(xy.tobytes(), digest_size=16).digest() + len(xy).to_bytes(8, "little")
        got = self._layers.get(key)
        if got is None:
            got = self._layers[key] = Layer(xy, self.snap(xy))
        return got

    def reachable(self, points: Layer | SnapResult) -> np.ndarray:
        """Which points lie within the snap tolerance of a road (the others reach nothing)."""
        return _snapped(points).access_m <= self.config.snap_tolerance_m

    def check_extent(self, points: gpd.GeoDataFrame, xy: np.ndarray, *, label: str) -> None:
        """Raise when every point lies outside the network (:func:`~coverage.engine.diagnostics.check_extent`)."""
        check_extent(self.net, points, xy, self.config.snap_tolerance_m, label=label)

    # -------------------------------------------------------------- searches
    def node_distances(self, sites: Layer | SnapResult, *, limit_m: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Nearest site of every node of :attr:`net` and its distance, ``(src, dist)``,
        within ``limit_m`` (default: the configured search cutoff)."""
        limit = self.config.search_cutoff_m if limit_m is None else limit_m
        return node_distances(self.net, _snapped(sites), limit_m=limit, access_counts=self.config.access_counts)

    def point_distances(
        self, points: Layer | SnapResult, node_src: np.ndarray, node_dist: np.ndarray, sites: Layer | SnapResult, *, limit_m: float | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Nearest site of every point and its distance, ``(src, dist)``, from the node
        results of :meth:`node_distances`."""
        limit = self.config.search_cutoff_m if limit_m is None else limit_m
        return point_distances(
            self.net, _snapped(points), node_src, node_dist, _snapped(sites), limit_m=limit, access_counts=self.config.access_counts
        )

    def nearest(self, sites: Layer | SnapResult, points: Layer | SnapResult, *, limit_m: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Nearest site of every point by road and its distance, ``(src, dist)``: ``-1`` and
        ``inf`` beyond ``limit_m`` (default: the configured search cutoff)."""
        src, dist = self.node_distances(sites, limit_m=limit_m)
        return self.point_distances(points, src, dist, sites, limit_m=limit_m)

    def single_source(self, sites: Layer | SnapResult, i: int, *, limit_m: float | None = None) -> np.ndarray:
        """Distance from site ``i`` to every node (``inf`` beyond ``limit_m``)."""
        limit = self.config.search_cutoff_m if limit_m is None else limit_m
        return single_source_distances(self.net, _snapped(sites), i, limit_m=limit, access_counts=self.config.access_counts)

    def cost_table(
        self,
        demand: Layer | SnapResult,
        sites: Layer | SnapResult,
        *,
        cutoff_m: float,
        demand_ids: np.ndarray | None = None,
        site_ids: np.ndarray | None = None,
    ) -> CostTable:
        """The sparse demand × site table of network distances within ``cutoff_m``
        (:func:`coverage.engine.routing.cost_table`), rows and columns named by the ids,
        walking times at the configured speed; points beyond the snap tolerance reach
        nothing (their rows and columns stay, empty)."""
        ds, ss = _snapped(demand), _snapped(sites)
        cfg = self.config
        table = cost_table(self.net, ds, ss, cutoff_m=cutoff_m, access_counts=cfg.access_counts)
        table = table.labelled(demand_ids=demand_ids, site_ids=site_ids, speed_mps=cfg.speed_mps)
        return table.without(demand=~self.reachable(ds), sites=~self.reachable(ss))

    def paths(self, origins: Layer | SnapResult, destinations: Layer | SnapResult) -> list[np.ndarray]:
        """The shortest road path from every origin to its destination (pairwise), as metric
        coordinates along the roads of :attr:`net` (:func:`coverage.engine.paths.road_paths`)."""
        return road_paths(self.net, _snapped(origins), _snapped(destinations))

    def service_areas(
        self,
        sites: Layer | SnapResult,
        *,
        limits_m: dict[str, float],
        ids: np.ndarray | None = None,
        names: np.ndarray | None = None,
    ) -> gpd.GeoDataFrame:
        """Road-following service areas of the sites for every named limit
        (:func:`coverage.engine.service_areas.service_areas`), in EPSG:4326."""
        return service_areas(
            self.net, _snapped(sites), limits_m=limits_m, ids=ids, names=names, access_counts=self.config.access_counts
        )


def engine_for(
    network: RoadNetwork, *, config: AuditConfig | None = None, engine: Engine | None = None, compact: bool = True
) -> Engine:
    """The study's engine: ``engine`` when given (it must be built on ``network``, with
    ``config`` if one is given too), else a new one (:meth:`Engine.build`)."""
    if engine is None:
        return Engine.build(network, config=config, compact=compact)
    if network is not engine.network and network is not engine.net:
        raise ParameterError("engine= was built on another road network than the one given; pass the network the engine was built on")
    if config is not None and config != engine.config:
        raise ParameterError(
            f"config= differs from the engine's ({config} vs {engine.config}); build the engine with "
            "that config (Engine.build(network, config=...)) or leave config out"
        )
    return engine
