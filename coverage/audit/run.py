"""The coverage audit on GeoDataFrames.

:func:`run_audit` is what notebooks and the CLI call: road network + facilities + demand
(+ zones) in, an :class:`AuditResult` out, with per-point results, per-facility catchment
totals, coverage summaries (overall and per zone, against a target), the false-coverage
list and road-following service areas. It checks the layers against the network, then
asks the study's :class:`~coverage.engine.engine.Engine` (snapping, routing, what-if
state) and turns the arrays into tables (:func:`audit_result`). :func:`audit_cost_table`
gives the sparse demand × site cost table the site models read. The outputs are written by
:mod:`coverage.publish.audit_package`.
"""

from __future__ import annotations

import datetime as _dt
import logging
import warnings
from dataclasses import dataclass, field, fields, replace
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from ..config import AuditConfig, TerrainConfig
from ..engine.costs import CostTable
from ..engine.diagnostics import (
    describe_points,
    layer_source,
    require_reachable,
    warn_if_off_road,
    warn_unreachable,
)
from ..engine.engine import Engine, engine_for
from ..engine.network import RoadNetwork, component_report
from ..engine.whatif import AuditState
from ..errors import DataWarning, InputFileError, ParameterError
from ..inputs.points import check_coord_system
from .summary import TARGET_RULES, CoverageSummary, demand_weights
from .terrain import TerrainAudit, terrain_audit
from .zones import zone_tables

__all__ = ["AuditOptions", "AuditResult", "audit_cost_table", "audit_result", "options_from", "run_audit"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AuditOptions:
    """How an audit reports (the rules themselves are the :class:`~coverage.config.AuditConfig`).

    Parameters
    ----------
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
    dem
        Optional elevation model: a :class:`~coverage.inputs.terrain.DEM`
        (:func:`~coverage.inputs.terrain.read_dem`; the model county's generated hill is
        :func:`coverage.datasets.terrain.model_county_dem`), or a function of metric
        coordinates in the audit's CRS (n × 2) returning heights in metres. With it the audit
        also measures the 15-minute circle walked on the terrain
        (:func:`~coverage.audit.terrain.terrain_audit`); the flat figures are unchanged.
    terrain
        The slope model and stairs time (:class:`~coverage.config.TerrainConfig`; default
        Tobler, 30 s per flight of stairs); needs ``dem``.
    """

    weight_col: str | None = None
    zone_col: str | None = None
    target: float | None = None
    target_rule: str = TARGET_RULES[0]
    with_service_areas: bool = True
    title: str = "养老服务设施覆盖评估 Elderly-care service coverage audit"
    run_date: str | None = None
    dem: Any = None
    terrain: TerrainConfig | None = None

    def __post_init__(self) -> None:
        if self.target is not None and not (0 <= self.target <= 1):
            raise ParameterError(f"target={self.target} (--target) must be a share between 0 and 1 (e.g. 0.9 for 90%)")


def options_from(cls: type[Any], options: Any, keywords: dict[str, Any], caller: str) -> Any:
    """``options`` (an instance of the options dataclass ``cls``, or None for its defaults)
    with the keyword arguments given to ``caller`` applied on top."""
    unknown = sorted(set(keywords) - {f.name for f in fields(cls)})
    if unknown:
        raise TypeError(f"{caller}() got an unexpected keyword argument {unknown[0]!r}")
    if options is None:
        return cls(**keywords)
    return replace(options, **keywords) if keywords else options


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
        Overall coverage (one row: :meth:`CoverageSummary.table
        <coverage.audit.summary.CoverageSummary.table>` of :attr:`coverage`).
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
    coverage
        The audit's figures, named by their rule (:class:`~coverage.audit.summary.CoverageSummary`):
        every output (console, report, Excel, CSV, map legend) reads its numbers from it.
    terrain
        Walking times on the terrain (:class:`~coverage.audit.terrain.TerrainAudit`) when the
        audit was given a DEM, else ``None``; the demand table then also has
        ``terrain_time_min, terrain_facility_id, covered_time_terrain, terrain_out``.
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
    coverage: CoverageSummary = field(repr=False)
    terrain: TerrainAudit | None = field(default=None, repr=False)

    @property
    def false_coverage(self) -> gpd.GeoDataFrame:
        """Demand a straight-line ``radius_m`` circle counts as covered but the roads do not."""
        return self.demand[self.demand["false_coverage"]]

    @property
    def engine(self) -> Engine:
        """The engine the audit asked (pass it on to cost tables and site selection)."""
        return self.state.engine


def _warn_cut_off(demand: gpd.GeoDataFrame, st: AuditState) -> None:
    """Warn about demand on disconnected pieces of the network that hold no facility."""
    network, cfg = st.net, st.config
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
    engine: Engine | None = None,
    options: AuditOptions | None = None,
    **keywords: Any,
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
    engine
        The study's :class:`~coverage.engine.engine.Engine` (built on ``network``) to ask;
        default a new one on the network as given.
    options, **keywords
        How to report (:class:`AuditOptions`): ``weight_col``, ``zone_col``, ``target``,
        ``target_rule``, ``with_service_areas``, ``title``, ``run_date``, ``dem``,
        ``terrain``, as an ``AuditOptions`` or as keywords (which override it). With
        ``dem`` the audit also measures the 15-minute circle on the terrain.

    Returns
    -------
    AuditResult
    """
    opts: AuditOptions = options_from(AuditOptions, options, keywords, "run_audit")
    if len(facilities) == 0:
        raise InputFileError("facilities: the layer has no facilities. Fix: give at least one facility")
    if len(demand) == 0:
        raise InputFileError("demand: the layer has no points")
    dem, terrain = opts.dem, opts.terrain
    if terrain is not None and dem is None:
        raise ParameterError("terrain= (--slope-model, --steps-seconds) needs an elevation model: pass dem= (--dem FILE.tif)")
    eng = engine_for(network, config=config, engine=engine, compact=False)
    st = _audit_state(eng, facilities, demand)
    ta = None
    if dem is not None:
        if hasattr(dem, "sampler"):
            ta = terrain_audit(st, dem.sampler(eng.crs), terrain, source=dem.record())
        else:
            ta = terrain_audit(st, dem, terrain, source={"dem": getattr(dem, "__name__", "elevation function")})
    return audit_result(st, facilities, demand, zones=zones, options=opts, terrain=ta)


def _audit_state(eng: Engine, facilities: gpd.GeoDataFrame, demand: gpd.GeoDataFrame) -> AuditState:
    """Check both layers against the network, snap, route and flag; warn about points the
    roads cannot reach."""
    tol = eng.config.snap_tolerance_m
    fxy = eng.xy(facilities)
    dxy = eng.xy(demand)
    eng.check_extent(facilities, fxy, label="facilities")
    eng.check_extent(demand, dxy, label="demand points")
    check_coord_system(eng.net, facilities, label="facilities", index=eng.index)
    shifted = check_coord_system(eng.net, demand, label="demand points", index=eng.index)
    st = AuditState.build(eng, eng.layer(fxy), eng.layer(dxy), warn_far=False, facility_layer=facilities)
    warn_unreachable(facilities, st.facilities.access_m, tol, label="facilities", what="left out of the road search")
    warn_unreachable(demand, st.demand.access_m, tol, label="demand points")
    if shifted is None:  # else check_coord_system said it, and which system fits
        warn_if_off_road(st.demand.access_m, label=f"{layer_source(demand, 'demand')}: demand points")
    _warn_cut_off(demand, st)
    return st


def _labels(layer: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Ids (``id``, else positions) and names (``name``, else the ids) of a point layer."""
    ids = layer["id"].astype(str).to_numpy() if "id" in layer else np.arange(len(layer)).astype(str)
    names = layer["name"].astype(str).to_numpy() if "name" in layer else ids
    return ids, names


def _demand_frame(demand: gpd.GeoDataFrame, st: AuditState, facilities: gpd.GeoDataFrame, w: np.ndarray) -> gpd.GeoDataFrame:
    """The demand layer (EPSG:4326) with its audit columns."""
    r = st.result
    fac_ids, fac_names = _labels(facilities)
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
    return d


def _terrain_columns(d: gpd.GeoDataFrame, ta: TerrainAudit, facilities: gpd.GeoDataFrame) -> None:
    """The terrain-aware columns of the demand table (in place)."""
    fac_ids, _names = _labels(facilities)
    has = ta.facility >= 0
    d["terrain_time_min"] = ta.time_min
    d["terrain_facility_id"] = np.where(has, fac_ids[np.maximum(ta.facility, 0)], "")
    d["covered_time_terrain"] = ta.covered_time
    d["terrain_out"] = d["covered_time"].to_numpy(dtype=bool) & ~ta.covered_time


def _facility_frame(facilities: gpd.GeoDataFrame, st: AuditState, w: np.ndarray) -> gpd.GeoDataFrame:
    """The facilities (EPSG:4326) with their catchment totals: the demand whose nearest
    facility each is, and how much of it each covers."""
    r = st.result
    f = facilities.to_crs("EPSG:4326").copy()
    nf = len(f)
    has = r.facility >= 0
    idx = np.maximum(r.facility, 0)
    f["n_nearest"] = np.bincount(idx[has], minlength=nf)
    f["weight_nearest"] = np.bincount(idx[has], weights=w[has], minlength=nf)
    for rule, flag in (("radius", r.covered_radius), ("time", r.covered_time)):
        f[f"n_covered_{rule}"] = np.bincount(idx[flag], minlength=nf)
        f[f"weight_covered_{rule}"] = np.bincount(idx[flag], weights=w[flag], minlength=nf)
    f["access_m"] = st.facilities.access_m
    f["usable"] = st.usable
    return f


def _meta(st: AuditState, opts: AuditOptions, wcol: str, n_demand: int, n_facilities: int) -> dict[str, object]:
    cfg = st.config
    return {
        "title": opts.title,
        "crs": st.engine.network.crs,
        "speed_mps": cfg.speed_mps,
        "radius_m": cfg.radius_m,
        "time_min": cfg.time_min,
        "walk_limit_m": cfg.walk_limit_m,
        "source": st.engine.network.source,
        "date": opts.run_date or _dt.date.today().isoformat(),
        "weight_column": wcol,
        "target": opts.target,
        "target_rule": opts.target_rule,
        "parameters": cfg.as_record(),
        "n_demand": n_demand,
        "n_facilities": n_facilities,
    }


def audit_result(
    st: AuditState,
    facilities: gpd.GeoDataFrame,
    demand: gpd.GeoDataFrame,
    *,
    zones: gpd.GeoDataFrame | None = None,
    options: AuditOptions | None = None,
    terrain: TerrainAudit | None = None,
) -> AuditResult:
    """The tables of a finished audit: ``st`` (an :class:`~coverage.engine.whatif.AuditState`
    of ``facilities`` and ``demand``, in that order) as GeoDataFrames, summaries per zone
    and overall, service areas (through the state's engine) and metadata; with ``terrain``
    (:func:`~coverage.audit.terrain.terrain_audit` of ``st``) the terrain-aware figures too."""
    opts = options or AuditOptions()
    cfg = st.config
    w, wcol = demand_weights(demand, opts.weight_col, "demand")
    d = _demand_frame(demand, st, facilities, w)
    if terrain is not None:
        _terrain_columns(d, terrain, facilities)
    by_zone, zones_out = zone_tables(d, zones, zone_col=opts.zone_col, target=opts.target, target_rule=opts.target_rule)
    coverage = CoverageSummary.from_demand(d, cfg, weight_column=wcol, target=opts.target, target_rule=opts.target_rule, by_zone=by_zone,
                                           terrain=terrain.config if terrain is not None else None)  # fmt: skip
    f = _facility_frame(facilities, st, w)
    sa = None
    if opts.with_service_areas:
        use = np.flatnonzero(st.usable)
        fac_ids, fac_names = _labels(facilities)
        sa = st.engine.service_areas(
            st.facilities.take(use), limits_m={"radius": cfg.radius_m, "time": cfg.walk_limit_m}, ids=fac_ids[use], names=fac_names[use]
        )
    return AuditResult(
        config=cfg,
        network=st.engine.network,
        demand=d,
        facilities=f,
        summary=coverage.table(),
        by_zone=by_zone,
        zones=zones_out,
        service_areas=sa,
        components=component_report(st.engine.network),
        meta=_meta(st, opts, wcol, len(d), len(f)) | ({"terrain": terrain.record()} if terrain is not None else {}),
        state=st,
        coverage=coverage,
        terrain=terrain,
    )


def audit_cost_table(
    network: RoadNetwork,
    demand: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame,
    *,
    cutoff_m: float,
    config: AuditConfig | None = None,
    labels: tuple[str, str] = ("demand points", "sites"),
    engine: Engine | None = None,
) -> CostTable:
    """The sparse demand × site cost table within ``cutoff_m`` (:meth:`Engine.cost_table
    <coverage.engine.engine.Engine.cost_table>`), on ``engine`` or a new engine on the
    compacted network.

    Raises :class:`~coverage.errors.CoordinateError` (naming the layer by ``labels``) when
    every point of a layer lies outside the network's extent or farther than the snap
    tolerance from any road: the table would be empty.
    """
    eng = engine_for(network, config=config, engine=engine)
    tol = eng.config.snap_tolerance_m
    dxy, sxy = eng.xy(demand), eng.xy(sites)
    eng.check_extent(demand, dxy, label=labels[0])
    eng.check_extent(sites, sxy, label=labels[1])
    dl, sl = eng.layer(dxy), eng.layer(sxy)
    require_reachable(demand, dl.access_m, tol, label=labels[0])
    require_reachable(sites, sl.access_m, tol, label=labels[1])
    ids = demand["id"].astype(str).to_numpy() if "id" in demand else None
    sids = sites["id"].astype(str).to_numpy() if "id" in sites else None
    return eng.cost_table(dl, sl, cutoff_m=cutoff_m, demand_ids=ids, site_ids=sids)
