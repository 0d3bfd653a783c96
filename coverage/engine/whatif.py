"""The coverage audit: nearest facility, walking distance and time, and the two rules.

:func:`audit_arrays` is the fast core on coordinate arrays (used by the benchmark and by
the GeoDataFrame facade :func:`run_audit`). For every demand point it gives the nearest
facility by road, the network distance (m) and walking time (min) at the configured
older person's speed, whether the 1000 m coverage-radius rule and the 15-minute service
circle hold, and whether a straight-line 1000 m circle would count it as covered
("false coverage" when the circle says yes and the roads say no).

An :class:`AuditState` answers what-if questions (add or remove one facility) by
updating the node distances instead of starting again.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from ..config import AuditConfig
from ..errors import CoordinateError, ParameterError, SnapWarning
from .network import RoadNetwork
from .routing import node_distances, point_distances, single_source_distances
from .snapping import EdgeIndex, SnapResult

__all__ = [
    "AuditArrays",
    "AuditState",
    "audit_arrays",
    "check_extent",
    "describe_points",
    "layer_source",
    "points_xy",
    "require_reachable",
    "warn_unreachable",
]

logger = logging.getLogger(__name__)

STATUS_OK = "ok"
STATUS_BEYOND = "beyond_cutoff"
STATUS_UNREACHABLE = "unreachable"


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


def points_xy(gdf: gpd.GeoDataFrame, crs: str) -> np.ndarray:
    """Point coordinates of a GeoDataFrame in ``crs`` (n × 2)."""
    if gdf.crs is None:
        from ..errors import CRSError

        raise CRSError("a point layer has no CRS; read it with coverage.inputs.points.read_points or set .crs")
    g = gdf.geometry
    if len(g) and not (g.geom_type == "Point").all():
        g = g.representative_point()
    t = pyproj.Transformer.from_crs(gdf.crs, crs, always_xy=True)
    x, y = t.transform(g.x.to_numpy(), g.y.to_numpy())
    return np.column_stack([x, y])


@dataclass(eq=False)
class AuditState:
    """A finished audit kept ready for what-if questions.

    Build it with :meth:`AuditState.build`; :meth:`add_facility` and
    :meth:`remove_facility` return new :class:`AuditArrays` after updating only the part
    of the network the change touches.
    """

    net: RoadNetwork
    config: AuditConfig
    demand_xy: np.ndarray
    demand: SnapResult
    facility_xy: np.ndarray
    facilities: SnapResult
    usable: np.ndarray
    node_dist: np.ndarray
    node_src: np.ndarray
    index: EdgeIndex
    result: AuditArrays = field(init=False)
    open: np.ndarray = field(init=False)
    _euclid: np.ndarray = field(init=False, repr=False)
    _euclid_src: np.ndarray = field(init=False, repr=False)

    @classmethod
    def build(
        cls,
        net: RoadNetwork,
        facility_xy: np.ndarray,
        demand_xy: np.ndarray,
        *,
        config: AuditConfig | None = None,
        index: EdgeIndex | None = None,
        warn_far: bool = True,
        facility_layer: gpd.GeoDataFrame | None = None,
    ) -> AuditState:
        """Snap, route and flag (see :func:`audit_arrays`).

        ``warn_far=False`` leaves warning about facilities beyond the snap tolerance to the
        caller (:func:`coverage.audit.run.run_audit` names them with :func:`warn_unreachable`).
        When every facility is beyond it, :class:`~coverage.errors.CoordinateError` is
        raised (:func:`require_reachable`), naming the rows, ids and names of
        ``facility_layer`` (the layer ``facility_xy`` came from) when given.
        """
        cfg = config or AuditConfig()
        idx = index if index is not None else EdgeIndex(net)
        fxy = np.asarray(facility_xy, dtype=np.float64).reshape(-1, 2)
        dxy = np.asarray(demand_xy, dtype=np.float64).reshape(-1, 2)
        fs = idx.snap(fxy)
        ds = idx.snap(dxy)
        usable = fs.access_m <= cfg.snap_tolerance_m
        require_reachable(facility_layer, fs.access_m, cfg.snap_tolerance_m, label="facilities")
        if warn_far and (~usable).any():
            warnings.warn(
                f"{int((~usable).sum())} facilities are more than {cfg.snap_tolerance_m:g} m from any "
                "road and are left out of the network search (positions "
                f"{np.flatnonzero(~usable)[:10].tolist()}); check their coordinates",
                SnapWarning,
                stacklevel=2,
            )
        use = np.flatnonzero(usable)
        nd, local = node_distances(net, fs.take(use), limit_m=cfg.search_cutoff_m, access_counts=cfg.access_counts)
        ns = np.full(len(local), -1, dtype=np.int64)
        ns[local >= 0] = use[local[local >= 0]]  # positions among all facilities (none usable: all -1)
        st = cls(net, cfg, dxy, ds, fxy, fs, usable, nd, ns, idx)
        st.open = np.ones(len(fxy), dtype=bool)
        st._euclid, st._euclid_src = st._circle(np.arange(len(fxy)), np.arange(len(dxy)))
        st.result = st._flags()
        return st

    # -------------------------------------------------------------- internals
    def _circle(self, fac: np.ndarray, dem: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Straight-line distance from demand ``dem`` to the nearest of facilities ``fac``."""
        if len(fac) == 0:
            return np.full(len(dem), np.inf), np.full(len(dem), -1, dtype=np.int64)
        tree = cKDTree(self.facility_xy[fac])
        d, i = tree.query(self.demand_xy[dem], k=1)
        return d, fac[i]

    def _flags(self) -> AuditArrays:
        cfg = self.config
        use = np.flatnonzero(self.usable)
        fac, dist = point_distances(
            self.net,
            self.demand,
            self.node_dist,
            # point_distances reports source positions within the snap result it is given
            _compress(self.node_src, use),
            self.facilities.take(use),
            limit_m=cfg.search_cutoff_m,
            access_counts=cfg.access_counts,
        )
        fac = np.where(fac >= 0, use[np.maximum(fac, 0)], -1)
        unreachable = self.demand.access_m > cfg.snap_tolerance_m
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
        s = self.index.snap(p)
        new_id = len(self.facility_xy)
        self.facility_xy = np.vstack([self.facility_xy, p])
        self.facilities = SnapResult(
            np.concatenate([self.facilities.edge, s.edge]),
            np.concatenate([self.facilities.offset_m, s.offset_m]),
            np.concatenate([self.facilities.access_m, s.access_m]),
            np.vstack([self.facilities.proj_xy, s.proj_xy]),
        )
        ok = bool(s.access_m[0] <= self.config.snap_tolerance_m)
        self.open = np.append(self.open, True)
        de = np.hypot(self.demand_xy[:, 0] - p[0, 0], self.demand_xy[:, 1] - p[0, 1])
        closer = de < self._euclid
        self._euclid = np.where(closer, de, self._euclid)
        self._euclid_src = np.where(closer, new_id, self._euclid_src)
        self.usable = np.append(self.usable, ok)
        if ok:
            d_new = single_source_distances(
                self.net, s, 0, limit_m=self.config.search_cutoff_m, access_counts=self.config.access_counts
            )
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

    def _repair(self, affected: np.ndarray) -> None:
        net = self.net
        cfg = self.config
        n = net.n_nodes
        g = net.csr
        mask = np.zeros(n, dtype=bool)
        mask[affected] = True
        self.node_dist = self.node_dist.copy()
        self.node_src = self.node_src.copy()
        self.node_dist[affected] = np.inf
        self.node_src[affected] = -1
        # seeds: (affected node, distance, facility) from unaffected reached neighbours
        sub = g[affected]
        rows = np.repeat(np.arange(len(affected)), np.diff(sub.indptr))
        nb = sub.indices
        ok = ~mask[nb] & np.isfinite(self.node_dist[nb])
        seed_local = rows[ok]
        seed_d = self.node_dist[nb[ok]] + sub.data[ok]
        seed_src = self.node_src[nb[ok]]
        # ... and from open facilities on edges touching affected nodes
        use = np.flatnonzero(self.usable)
        if len(use):
            fe = self.facilities.edge[use]
            acc = self.facilities.access_m[use] if cfg.access_counts else np.zeros(len(use))
            for end, off in ((net.edge_u[fe], self.facilities.offset_m[use]), (net.edge_v[fe], net.edge_len_m[fe] - self.facilities.offset_m[use])):
                hit = mask[end]
                if hit.any():
                    local = np.searchsorted(affected, end[hit])
                    seed_local = np.concatenate([seed_local, local])
                    seed_d = np.concatenate([seed_d, acc[hit] + off[hit]])
                    seed_src = np.concatenate([seed_src, use[hit]])
        if len(seed_local) == 0:
            return
        k = len(affected)
        m = len(seed_local)
        inner = g[affected][:, affected]
        seed_rows = np.arange(k, k + m)
        extra = sp.csr_matrix((np.maximum(seed_d, 1e-9), (seed_rows, seed_local)), shape=(k + m, k + m))
        base = sp.csr_matrix((inner.data, inner.indices, np.concatenate([inner.indptr, np.full(m, inner.indptr[-1])])), shape=(k + m, k + m))
        graph = (base + extra).tocsr()
        dist, _, src = dijkstra(graph, directed=True, indices=seed_rows, min_only=True, limit=cfg.search_cutoff_m, return_predecessors=True)
        got = np.isfinite(dist[:k])
        self.node_dist[affected[got]] = dist[:k][got]
        self.node_src[affected[got]] = seed_src[src[:k][got] - k]


def _compress(node_src: np.ndarray, use: np.ndarray) -> np.ndarray:
    """Map facility positions to positions within ``use`` (sorted), ``-1`` kept."""
    out = np.full(len(node_src), -1, dtype=np.int64)
    ok = node_src >= 0
    out[ok] = np.searchsorted(use, node_src[ok])
    return out


def audit_arrays(
    net: RoadNetwork,
    facility_xy: np.ndarray,
    demand_xy: np.ndarray,
    *,
    config: AuditConfig | None = None,
    index: EdgeIndex | None = None,
) -> AuditArrays:
    """Audit demand points against facilities on a network (metric coordinates).

    Parameters
    ----------
    net
        The road network.
    facility_xy, demand_xy
        Coordinates in ``net.crs`` (n × 2).
    config
        Rules and walking speed (:class:`coverage.config.AuditConfig`).
    index
        A prebuilt :class:`coverage.engine.snapping.EdgeIndex` to reuse.

    Returns
    -------
    AuditArrays
    """
    st = AuditState.build(net, facility_xy, demand_xy, config=config, index=index)
    warn_if_off_road(st.demand.access_m, label="demand points")
    return st.result


def warn_if_off_road(access_m: np.ndarray, *, label: str, threshold_m: float = 150.0) -> None:
    """Warn when points sit systematically off the roads (median > ``threshold_m``),
    the signature of GCJ-02/BD-09 coordinates declared as WGS-84."""
    if len(access_m) >= 5:
        med = float(np.median(access_m))
        if med > threshold_m:
            warnings.warn(
                f"{label}: the median distance to the nearest road is {med:.0f} m; the points sit "
                "systematically off the roads. If they come from Amap/Tencent (GCJ-02) or Baidu "
                "(BD-09), declare it: --coord-system gcj02 or bd09 (coord_system='gcj02' or 'bd09' "
                "when reading them in Python)",
                SnapWarning,
                stacklevel=3,
            )


def describe_points(
    gdf: gpd.GeoDataFrame, idx: np.ndarray, *, dist_m: np.ndarray | None = None, limit: int = 8, names: bool = False
) -> str:
    """The points ``idx`` of a layer as the user sees them: ``"row 8 (D7, 2986 m)"``.

    Rows are ``source_row`` (spreadsheet rows, or feature numbers for vector files, as
    :func:`coverage.inputs.points.read_points` records them), else 1-based positions; the id
    (with ``names=True`` followed by the ``name``: ``"row 2 (F9 山里站, 1012 m)"``) and,
    with ``dist_m``, the distance of each point are added.
    """
    idx = np.asarray(idx, dtype=np.int64)
    vector = "geometry" in (gdf.attrs.get("coordinate_columns") or {})
    word = "position" if "source_row" not in gdf else "feature" if vector else "row"
    rows = pd.to_numeric(gdf["source_row"], errors="coerce").to_numpy(float)[idx] if "source_row" in gdf else idx + 1.0
    ids = gdf["id"].astype(str).to_numpy()[idx] if "id" in gdf else None
    if names and "name" in gdf:
        label = gdf["name"].fillna("").astype(str).to_numpy()[idx]
        ids = label if ids is None else np.array([f"{i} {n}".strip() for i, n in zip(ids, label, strict=True)])
    items = []
    for k in range(min(len(idx), limit)):
        extra = [str(ids[k])] if ids is not None else []
        if dist_m is not None:
            extra.append(f"{float(dist_m[idx[k]]):.0f} m")
        # a point added by the program (a gap centre ...) has no row: its position in the layer
        where = f"{word} {int(rows[k])}" if np.isfinite(rows[k]) else f"position {int(idx[k]) + 1}"
        items.append(where + (f" ({', '.join(extra)})" if extra else ""))
    more = f"; ... and {len(idx) - limit} more" if len(idx) > limit else ""
    return "; ".join(items) + more


def layer_source(gdf: gpd.GeoDataFrame, label: str) -> str:
    """The file a layer was read from (``gdf.attrs["source"]``), else ``label``."""
    return str(gdf.attrs.get("source") or label)


def warn_unreachable(gdf: gpd.GeoDataFrame, access_m: np.ndarray, tolerance_m: float, *, label: str, what: str = "flagged unreachable") -> np.ndarray:
    """Warn (:class:`~coverage.errors.SnapWarning`) about points farther than ``tolerance_m``
    from every road, naming their rows, ids and distances; returns their positions.

    Such points are never snapped to a road kilometres away: the audit flags them
    ``"unreachable"`` and the site models leave them out.
    """
    far = np.flatnonzero(np.asarray(access_m) > tolerance_m)
    if len(far):
        warnings.warn(
            f"{layer_source(gdf, label)}: {len(far)} {label} farther than the snap tolerance "
            f"({tolerance_m:g} m) from any road, {what}: {describe_points(gdf, far, dist_m=access_m)}. "
            "Fix: check their coordinates and coordinate system (--coord-system), use a network "
            "that covers them, or raise the snap tolerance (--snap-tolerance; snap_tolerance_m= in Python)",
            SnapWarning,
            stacklevel=3,
        )
    return far


def require_reachable(gdf: gpd.GeoDataFrame | None, access_m: np.ndarray, tolerance_m: float, *, label: str) -> None:
    """Raise :class:`~coverage.errors.CoordinateError` when a non-empty layer has no point
    within ``tolerance_m`` of a road: none could be routed from, so nothing is left to
    audit or choose. The message names every point (row, id, name and its distance to the
    nearest road) and the snap-tolerance setting. ``gdf=None`` names positions only.
    """
    access = np.asarray(access_m, dtype=np.float64)
    if len(access) == 0 or (access <= tolerance_m).any():
        return
    everyone = np.arange(len(access))
    if gdf is not None:
        src = f"{layer_source(gdf, label)}: "
        points = describe_points(gdf, everyone, dist_m=access, names=True)
    else:
        src = ""
        points = "; ".join(f"position {k + 1} ({access[k]:.0f} m)" for k in everyone[:8])
        points += f"; ... and {len(access) - 8} more" if len(access) > 8 else ""
    raise CoordinateError(
        f"{src}all {len(access)} {label} are farther than the snap tolerance "
        f"({tolerance_m:g} m) from any road, so none can be reached by road: {points}. Fix: "
        "check their coordinates and coordinate system (--coord-system), use a road network "
        "that covers them, or raise the snap tolerance (--snap-tolerance METRES; "
        "snap_tolerance_m= in Python)"
    )


def check_extent(net: RoadNetwork, gdf: gpd.GeoDataFrame, xy: np.ndarray, tolerance_m: float, *, label: str) -> None:
    """Raise :class:`~coverage.errors.CoordinateError` when every point of a layer lies
    outside the road network's extent (grown by ``tolerance_m``), saying so when the points
    would fall inside with latitude and longitude swapped.

    ``xy`` are the points in ``net.crs`` (:func:`points_xy`).
    """
    if len(xy) == 0 or net.n_edges == 0:
        return
    lo = net.coord_xy.min(axis=0) - tolerance_m
    hi = net.coord_xy.max(axis=0) + tolerance_m

    def inside(p: np.ndarray) -> np.ndarray:
        return np.all((p >= lo) & (p <= hi), axis=1)

    if inside(xy).any():
        return
    ll = points_xy(gdf, "EPSG:4326")
    lon, lat = pyproj.Transformer.from_crs(net.crs, "EPSG:4326", always_xy=True).transform(*net.coord_xy.T)
    nll = np.column_stack([lon, lat])
    ext = (
        f"lon {nll[:, 0].min():.4f} to {nll[:, 0].max():.4f}, "
        f"lat {nll[:, 1].min():.4f} to {nll[:, 1].max():.4f}"
    )
    pts = (
        f"lon {ll[:, 0].min():.4f} to {ll[:, 0].max():.4f}, "
        f"lat {ll[:, 1].min():.4f} to {ll[:, 1].max():.4f}"
    )
    src = layer_source(gdf, label)
    ok = np.abs(ll[:, 0]) <= 90
    if ok.any():
        t = pyproj.Transformer.from_crs("EPSG:4326", net.crs, always_xy=True)
        sx, sy = t.transform(ll[ok, 1], ll[ok, 0])
        if inside(np.column_stack([sx, sy])).mean() >= 0.5:
            raise CoordinateError(
                f"{src}: latitude and longitude look swapped: all {len(xy)} {label} lie outside "
                f"the road network ({ext}) but fall inside it with the two swapped (points: "
                f"{pts}). Fix: correct the headers (swap the names of the two coordinate columns; "
                f"lon_col/lat_col in Python)"
            )
    raise CoordinateError(
        f"{src}: all {len(xy)} {label} lie outside the road network's extent (network "
        f"{net.source or ''}: {ext}; points: {pts}). Fix: use a road network that covers the "
        "points (a larger extract), or check the coordinates and their coordinate system (--coord-system)"
    )


def summary_table(
    frame: pd.DataFrame,
    *,
    by: str | None = None,
    weight: str = "weight",
    target: float | None = None,
    target_rule: str = "radius",
) -> pd.DataFrame:
    """Coverage counts and shares, overall (``by=None``) or per group.

    Columns: ``n_points, n_covered_radius, share_radius, n_covered_time, share_time,
    weight_total, weight_covered_radius, wshare_radius, weight_covered_time, wshare_time,
    n_false_coverage, n_unreachable, n_beyond_cutoff`` and, with a target, ``target`` and
    ``meets_target`` (share of points covered under ``target_rule`` ≥ target).
    """
    if target_rule not in {"radius", "time", "both"}:
        raise ParameterError(f"target_rule={target_rule!r}; choose 'radius', 'time' or 'both'")
    f = frame.copy()
    f["_w"] = f[weight].astype(float).fillna(0.0)
    f["_cr"] = f["covered_radius"].astype(bool)
    f["_ct"] = f["covered_time"].astype(bool)
    f["_wr"] = f["_w"] * f["_cr"]
    f["_wt"] = f["_w"] * f["_ct"]
    f["_fc"] = f["false_coverage"].astype(bool)
    f["_un"] = f["status"] == STATUS_UNREACHABLE
    f["_bc"] = f["status"] == STATUS_BEYOND
    f["_all"] = "all"
    key = by if by is not None else "_all"
    g = f.groupby(key, sort=True, dropna=False)
    out = pd.DataFrame(
        {
            "n_points": g.size(),
            "n_covered_radius": g["_cr"].sum(),
            "n_covered_time": g["_ct"].sum(),
            "weight_total": g["_w"].sum(),
            "weight_covered_radius": g["_wr"].sum(),
            "weight_covered_time": g["_wt"].sum(),
            "n_false_coverage": g["_fc"].sum(),
            "n_unreachable": g["_un"].sum(),
            "n_beyond_cutoff": g["_bc"].sum(),
        }
    )
    out["share_radius"] = out["n_covered_radius"] / out["n_points"]
    out["share_time"] = out["n_covered_time"] / out["n_points"]
    wt = out["weight_total"].where(out["weight_total"] > 0)
    out["wshare_radius"] = out["weight_covered_radius"] / wt
    out["wshare_time"] = out["weight_covered_time"] / wt
    if target is not None:
        share = {"radius": out["share_radius"], "time": out["share_time"]}.get(
            target_rule, np.minimum(out["share_radius"], out["share_time"])
        )
        out["target"] = target
        out["meets_target"] = share >= target - 1e-12
    out.index.name = by or "scope"
    return out.reset_index()
