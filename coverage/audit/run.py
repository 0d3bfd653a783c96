"""The coverage audit on GeoDataFrames, and its outputs.

:func:`run_audit` is what notebooks and the CLI call: road network + facilities + demand
(+ zones) in, an :class:`AuditResult` out, with per-point results, per-facility catchment
totals, coverage summaries (overall and per zone, against a target), the false-coverage
list and road-following service areas. :func:`write_outputs` writes a GeoPackage, CSV
tables, a JSON record of the parameters and the interactive map, each file atomically.
"""

from __future__ import annotations

import datetime as _dt
import logging
import warnings
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd

from ..config import AuditConfig
from ..engine.costs import CostTable
from ..engine.network import RoadNetwork, component_report
from ..engine.routing import cost_table
from ..engine.service_areas import service_areas
from ..engine.snapping import EdgeIndex
from ..engine.whatif import (
    AuditState,
    check_extent,
    describe_points,
    layer_source,
    points_xy,
    summary_table,
    warn_if_off_road,
    warn_unreachable,
)
from ..errors import CRSError, DataWarning, InputFileError, ParameterError
from ..inputs.points import check_coord_system

__all__ = ["AuditResult", "audit_cost_table", "run_audit"]

logger = logging.getLogger(__name__)

WEIGHT_COLUMNS = ("elderly", "population", "households")


@dataclass(frozen=True, eq=False)
class AuditResult:
    """Everything a coverage audit found (all GeoDataFrames in EPSG:4326).

    Attributes
    ----------
    demand
        Input demand with ``facility_id, facility_name, dist_m, time_min, covered_radius,
        covered_time, within_circle, euclid_m, false_coverage, access_m, status, weight``.
    facilities
        Input facilities with ``n_nearest, weight_nearest, n_covered_radius,
        weight_covered_radius, n_covered_time, weight_covered_time, access_m, usable``.
    summary
        Overall coverage (one row).
    by_zone
        Coverage per zone (or ``None`` without zones).
    zones
        Zone polygons with coverage shares (or ``None``).
    service_areas
        Road-following reach of every facility for the radius and time rules.
    components
        Connected pieces of the road network.
    meta
        Parameters, CRS, data source, date and weight column.
    """

    config: AuditConfig
    network: RoadNetwork
    demand: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame
    summary: pd.DataFrame
    by_zone: pd.DataFrame | None
    zones: gpd.GeoDataFrame | None
    service_areas: gpd.GeoDataFrame | None
    components: pd.DataFrame
    meta: dict[str, object]
    state: AuditState = field(repr=False)

    @property
    def false_coverage(self) -> gpd.GeoDataFrame:
        """Demand a straight-line ``radius_m`` circle counts as covered but the roads do not."""
        return self.demand[self.demand["false_coverage"]]



def _weights(demand: gpd.GeoDataFrame, weight_col: str | None, source: str) -> tuple[np.ndarray, str]:
    if weight_col is not None:
        if weight_col not in demand.columns:
            raise InputFileError(
                f"{source}: weight column {weight_col!r} not found; columns are {list(demand.columns)}. "
                "Fix: pass one of them as weight_col"
            )
        col = weight_col
    else:
        col = next((c for c in WEIGHT_COLUMNS if c in demand.columns and demand[c].notna().any()), "")
    if not col:
        return np.ones(len(demand)), "count (no population column)"
    w = pd.to_numeric(demand[col], errors="coerce").to_numpy(dtype=float)
    return np.where(np.isfinite(w), w, 0.0), col


def _zone_of(demand: gpd.GeoDataFrame, zones: gpd.GeoDataFrame | None, zone_col: str | None) -> pd.Series | None:
    if zone_col is not None:
        if zone_col not in demand.columns:
            raise InputFileError(f"demand: zone column {zone_col!r} not found. Fix: pass an existing column")
        return demand[zone_col].astype(str)
    if zones is None:
        return None
    if "zone_id" in demand.columns and demand["zone_id"].isin(zones["zone_id"]).all():
        return demand["zone_id"].astype(str)
    joined = gpd.sjoin(demand[["geometry"]], zones[["zone_id", "geometry"]].to_crs(demand.crs), how="left", predicate="within")
    joined = joined[~joined.index.duplicated(keep="first")]
    zone = joined["zone_id"].reindex(demand.index)
    out = zone.isna().to_numpy()
    zsrc, dsrc = layer_source(zones, "zones"), layer_source(demand, "demand")
    if out.all():
        zb, db = zones.to_crs("EPSG:4326").total_bounds, demand.total_bounds
        raise CRSError(
            f"{zsrc}: no demand point of {dsrc} lies in any zone (zones: lon {zb[0]:.4f} to "
            f"{zb[2]:.4f}, lat {zb[1]:.4f} to {zb[3]:.4f}; demand: lon {db[0]:.4f} to {db[2]:.4f}, "
            f"lat {db[1]:.4f} to {db[3]:.4f}); the zones' coordinate system does not match the "
            "points. Fix: check the zones file's CRS in QGIS (Layer Properties > Source), or "
            "pass the right coordinate system for Amap/Baidu outlines (--coord-system; coord_system= in Python)"
        )
    if out.any():
        warnings.warn(
            f"{dsrc}: {int(out.sum())} demand points lie in no zone of {zsrc} and are counted "
            f"as '(outside zones)': {describe_points(demand, np.flatnonzero(out))}. Fix: check "
            "that the zones cover the study area",
            DataWarning,
            stacklevel=3,
        )
    return zone.fillna("(outside zones)").astype(str)


def _warn_cut_off(network: RoadNetwork, demand: gpd.GeoDataFrame, st: AuditState, cfg: AuditConfig) -> None:
    """Warn about demand on disconnected pieces of the network that hold no facility."""
    comp = network.components
    if len(comp) == 0 or comp.max() == 0 or len(st.demand) == 0:
        return
    fcomp = comp[network.edge_u[st.facilities.edge[st.usable]]]
    dcomp = comp[network.edge_u[st.demand.edge]]
    cut = np.flatnonzero((st.demand.access_m <= cfg.snap_tolerance_m) & ~np.isin(dcomp, fcomp))
    if len(cut):
        warnings.warn(
            f"{network.source or 'road network'}: the network has {int(comp.max()) + 1} "
            f"disconnected pieces; {len(cut)} demand points of {layer_source(demand, 'demand')} "
            f"sit on pieces without any facility, so no facility reaches them by road: "
            f"{describe_points(demand, cut)}. Fix: use an extract that includes the connecting "
            "roads (clip with a larger boundary), or add the missing bridges and paths",
            DataWarning,
            stacklevel=3,
        )


def run_audit(
    network: RoadNetwork,
    facilities: gpd.GeoDataFrame,
    demand: gpd.GeoDataFrame,
    *,
    zones: gpd.GeoDataFrame | None = None,
    config: AuditConfig | None = None,
    weight_col: str | None = None,
    zone_col: str | None = None,
    target: float | None = None,
    target_rule: str = "radius",
    with_service_areas: bool = True,
    title: str = "养老服务设施覆盖评估 Elderly-care service coverage audit",
    run_date: str | None = None,
) -> AuditResult:
    """Audit elderly-care coverage of ``demand`` by ``facilities`` over ``network``.

    Parameters
    ----------
    network
        The walking network (:func:`coverage.inputs.osm.read_network`).
    facilities, demand
        Point layers (:func:`coverage.inputs.points.read_points`), any CRS.
    zones
        Optional polygons with ``zone_id``/``zone_name`` (communities, villages).
    config
        Rules, walking speed and snap tolerance.
    weight_col
        Population column for weighted shares; default the first of ``elderly``,
        ``population``, ``households`` present, else counts.
    zone_col
        Demand column naming each point's zone (instead of a spatial join with ``zones``).
    target
        Coverage target (share 0–1) checked per zone and overall.
    target_rule
        Which rule the target applies to: ``"radius"``, ``"time"`` or ``"both"``.
    with_service_areas
        Compute road-following service areas (one search per facility).
    title
        Title used on maps and reports.
    run_date
        ISO date recorded in outputs (default today; pass one for reproducible files).

    Returns
    -------
    AuditResult
    """
    cfg = config or AuditConfig()
    if target is not None and not (0 <= target <= 1):
        raise ParameterError(f"target={target} (--target) must be a share between 0 and 1 (e.g. 0.9 for 90%)")
    if len(facilities) == 0:
        raise InputFileError("facilities: the layer has no facilities. Fix: give at least one facility")
    if len(demand) == 0:
        raise InputFileError("demand: the layer has no points")
    crs = network.crs
    fxy = points_xy(facilities, crs)
    dxy = points_xy(demand, crs)
    check_extent(network, facilities, fxy, cfg.snap_tolerance_m, label="facilities")
    check_extent(network, demand, dxy, cfg.snap_tolerance_m, label="demand points")
    idx = EdgeIndex(network)
    check_coord_system(network, facilities, label="facilities", index=idx)
    shifted = check_coord_system(network, demand, label="demand points", index=idx)
    st = AuditState.build(network, fxy, dxy, config=cfg, warn_far=False, facility_layer=facilities, index=idx)
    warn_unreachable(facilities, st.facilities.access_m, cfg.snap_tolerance_m, label="facilities", what="left out of the road search")
    warn_unreachable(demand, st.demand.access_m, cfg.snap_tolerance_m, label="demand points")
    if shifted is None:  # else check_coord_system said it, and which system fits
        warn_if_off_road(st.demand.access_m, label=f"{layer_source(demand, 'demand')}: demand points")
    _warn_cut_off(network, demand, st, cfg)
    r = st.result
    w, wcol = _weights(demand, weight_col, "demand")
    fac_ids = facilities["id"].astype(str).to_numpy() if "id" in facilities else np.arange(len(facilities)).astype(str)
    fac_names = facilities["name"].astype(str).to_numpy() if "name" in facilities else fac_ids
    d = demand.to_crs("EPSG:4326").copy()
    has = r.facility >= 0
    d["facility_id"] = np.where(has, fac_ids[np.maximum(r.facility, 0)], "")
    d["facility_name"] = np.where(has, fac_names[np.maximum(r.facility, 0)], "")
    d["dist_m"] = r.dist_m
    d["time_min"] = r.time_min
    d["covered_radius"] = r.covered_radius
    d["covered_time"] = r.covered_time
    d["within_circle"] = r.within_circle
    d["euclid_m"] = r.euclid_m
    d["false_coverage"] = r.false_coverage
    d["access_m"] = r.access_m
    d["status"] = r.status.astype(str)
    d["weight"] = w
    zone = _zone_of(d, zones, zone_col)
    zones_out = None
    by_zone = None
    if zone is not None:
        d["zone_id"] = zone.to_numpy()
        by_zone = summary_table(d, by="zone_id", target=target, target_rule=target_rule)
        if zones is not None:
            zmap = zones.set_index(zones["zone_id"].astype(str))
            if "zone_name" in zones:
                d["zone_name"] = d["zone_id"].map(zmap["zone_name"]).fillna(d["zone_id"])
                by_zone.insert(1, "zone_name", by_zone["zone_id"].map(zmap["zone_name"]).fillna(by_zone["zone_id"]))
            zones_out = zones.to_crs("EPSG:4326").merge(
                by_zone[["zone_id", "n_points", "share_radius", "share_time", "wshare_radius", "wshare_time"]
                        + (["target", "meets_target"] if target is not None else [])],
                on="zone_id",
                how="left",
            )
            if target is None:
                zones_out["target"] = np.nan
                zones_out["meets_target"] = None
            zones_out.attrs.update(zones.attrs)  # the file it came from, for messages
    summary = summary_table(d, target=target, target_rule=target_rule)
    # catchment totals per facility (demand whose nearest facility it is)
    f = facilities.to_crs("EPSG:4326").copy()
    nf = len(f)
    idx = np.maximum(r.facility, 0)
    f["n_nearest"] = np.bincount(idx[has], minlength=nf)
    f["weight_nearest"] = np.bincount(idx[has], weights=w[has], minlength=nf)
    for rule, flag in (("radius", r.covered_radius), ("time", r.covered_time)):
        f[f"n_covered_{rule}"] = np.bincount(idx[flag], minlength=nf)
        f[f"weight_covered_{rule}"] = np.bincount(idx[flag], weights=w[flag], minlength=nf)
    f["access_m"] = st.facilities.access_m
    f["usable"] = st.usable
    sa = None
    if with_service_areas:
        use = np.flatnonzero(st.usable)
        sa = service_areas(
            network,
            st.facilities.take(use),
            limits_m={"radius": cfg.radius_m, "time": cfg.walk_limit_m},
            ids=fac_ids[use],
            names=fac_names[use],
            access_counts=cfg.access_counts,
        )
    meta: dict[str, object] = {
        "title": title,
        "crs": crs,
        "speed_mps": cfg.speed_mps,
        "radius_m": cfg.radius_m,
        "time_min": cfg.time_min,
        "walk_limit_m": cfg.walk_limit_m,
        "source": network.source,
        "date": run_date or _dt.date.today().isoformat(),
        "weight_column": wcol,
        "target": target,
        "target_rule": target_rule,
        "parameters": cfg.as_record(),
        "n_demand": len(d),
        "n_facilities": nf,
    }
    return AuditResult(
        config=cfg,
        network=network,
        demand=d,
        facilities=f,
        summary=summary,
        by_zone=by_zone,
        zones=zones_out,
        service_areas=sa,
        components=component_report(network),
        meta=meta,
        state=st,
    )


def audit_cost_table(
    network: RoadNetwork,
    demand: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame,
    *,
    cutoff_m: float,
    config: AuditConfig | None = None,
    labels: tuple[str, str] = ("demand points", "sites"),
) -> CostTable:
    """The sparse demand × site cost table within ``cutoff_m`` (see :func:`coverage.engine.routing.cost_table`).

    Raises :class:`~coverage.errors.CoordinateError` (naming the layer by ``labels``) when
    every point of a layer lies outside the network's extent or farther than the snap
    tolerance from any road: the table would be empty.
    """
    from ..engine.network import compact
    from ..engine.snapping import EdgeIndex
    from ..engine.whatif import require_reachable

    cfg = config or AuditConfig()
    net = compact(network)
    idx = EdgeIndex(net)
    dxy, sxy = points_xy(demand, net.crs), points_xy(sites, net.crs)
    check_extent(net, demand, dxy, cfg.snap_tolerance_m, label=labels[0])
    check_extent(net, sites, sxy, cfg.snap_tolerance_m, label=labels[1])
    ds = idx.snap(dxy)
    ss = idx.snap(sxy)
    require_reachable(demand, ds.access_m, cfg.snap_tolerance_m, label=labels[0])
    require_reachable(sites, ss.access_m, cfg.snap_tolerance_m, label=labels[1])
    ids = demand["id"].astype(str).to_numpy() if "id" in demand else None
    sids = sites["id"].astype(str).to_numpy() if "id" in sites else None
    table = cost_table(net, ds, ss, cutoff_m=cutoff_m, access_counts=cfg.access_counts, demand_ids=ids, site_ids=sids, speed_mps=cfg.speed_mps)
    # points beyond the snap tolerance reach nothing
    tol = cfg.snap_tolerance_m
    table = table.without(demand=ds.access_m > tol, sites=ss.access_m > tol)
    return table
