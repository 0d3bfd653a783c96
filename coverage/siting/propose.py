"""Site selection on real networks: where new stations and mutual-aid points should go.

:func:`propose_sites` puts the existing facilities (kept open) and the candidate sites in
one site list, builds the sparse demand × site cost table over the road network, solves the
chosen model (:mod:`coverage.siting.optimize`) and reports what a planner attaches: the proposed
sites ranked by marginal gain, coverage before and after (count and population, overall and
per zone), the newly covered homes, who is assigned where, and the road-following service
areas of the proposed sites. :func:`write_siting_outputs` writes them (GeoPackage, CSV,
map), each file atomically.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from ..config import AuditConfig
from ..engine.costs import CostTable
from ..engine.network import RoadNetwork, compact
from ..engine.routing import cost_table
from ..engine.service_areas import service_areas
from ..engine.snapping import EdgeIndex
from ..engine.whatif import (
    check_extent,
    describe_points,
    layer_source,
    points_xy,
    require_reachable,
    warn_unreachable,
)
from ..errors import CoverageError, InfeasibleError, ParameterError
from ..inputs.points import check_coord_system
from .optimize import (
    ZONE_RULES,
    SiteSelection,
    solve_lscp,
    solve_mclp,
    solve_pcenter,
    solve_pmedian,
)

__all__ = ["MODELS", "SitingResult", "propose_sites"]

logger = logging.getLogger(__name__)

MODELS = ("mclp", "lscp", "pmedian", "pcenter")


@dataclass(frozen=True, eq=False)
class SitingResult:
    """What :func:`propose_sites` found (GeoDataFrames in EPSG:4326).

    Attributes
    ----------
    selection
        The solver's :class:`~coverage.siting.optimize.SiteSelection` (objective, bound, gap, status).
    proposed
        The new sites, ranked by marginal gain: ``rank, id, name, kind, marginal_gain,
        n_assigned, load, n_newly_covered, weight_newly_covered``.
    sites
        All sites (existing and candidates) with ``role``: existing / proposed / not chosen.
    demand
        Demand with ``covered_before``, ``covered_after``, ``newly_covered``,
        ``assigned_site``, ``assigned_dist_m``.
    before_after
        Coverage before and after, overall and per zone.
    service_areas
        Road-following reach of the proposed sites within the radius.
    costs
        The cost table the model read.
    meta
        Parameters and solver facts.
    """

    selection: SiteSelection
    proposed: gpd.GeoDataFrame
    sites: gpd.GeoDataFrame
    demand: gpd.GeoDataFrame
    before_after: pd.DataFrame
    service_areas: gpd.GeoDataFrame | None
    costs: CostTable
    meta: dict[str, object]

    @property
    def newly_covered(self) -> gpd.GeoDataFrame:
        """Homes covered after but not before."""
        return self.demand[self.demand["newly_covered"]]


def _sites_frame(facilities: gpd.GeoDataFrame, candidates: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    f = facilities.to_crs("EPSG:4326")
    c = candidates.to_crs("EPSG:4326")

    def part(g: gpd.GeoDataFrame, role: str) -> gpd.GeoDataFrame:
        ids = g["id"].astype(str) if "id" in g else pd.Series([f"{role}-{i}" for i in range(len(g))], index=g.index)
        names = g["name"].astype(str) if "name" in g else ids
        out = pd.DataFrame(
            {
                "id": ids.to_numpy(),
                "name": names.to_numpy(),
                "kind": (g["kind"].astype(str) if "kind" in g else pd.Series(role, index=g.index)).to_numpy(),
                "existing": role == "existing",
                "zone_id": (g["zone_id"].astype(str) if "zone_id" in g else pd.Series("", index=g.index)).to_numpy(),
            }
        )
        for col in ("site_cost", "capacity", "floor_area_m2"):
            out[col] = pd.to_numeric(g[col], errors="coerce").to_numpy() if col in g else np.nan
        return gpd.GeoDataFrame(out, geometry=g.geometry.to_numpy(), crs="EPSG:4326")

    sites = pd.concat([part(f, "existing"), part(c, "candidate")], ignore_index=True)
    dup = sites["id"].duplicated(keep=False)
    if dup.any():
        raise ParameterError(
            f"{layer_source(candidates, 'candidates')}: site ids repeat between the facilities "
            f"({layer_source(facilities, 'facilities')}) and the candidates: "
            f"{sorted(set(sites.loc[dup, 'id']))[:10]}. Fix: give candidates ids of their own"
        )
    return gpd.GeoDataFrame(sites, geometry="geometry", crs="EPSG:4326")


def propose_sites(
    network: RoadNetwork,
    facilities: gpd.GeoDataFrame,
    demand: gpd.GeoDataFrame,
    candidates: gpd.GeoDataFrame,
    *,
    model: str = "mclp",
    k_new: int | None = None,
    budget: float | None = None,
    rule: str = "radius",
    config: AuditConfig | None = None,
    weight_col: str | None = None,
    zone_col: str | None = None,
    zone_rule: str | None = None,
    zones: gpd.GeoDataFrame | None = None,
    pmedian_cutoff_m: float = 5000.0,
    unreachable_penalty_m: float | None = None,
    method: str = "auto",
    time_limit_s: float = 60.0,
    seed: int = 0,
    with_service_areas: bool = True,
) -> SitingResult:
    """Propose new sites so that more older people are within the standard.

    Parameters
    ----------
    network
        The walking network.
    facilities
        Existing facilities: always kept open.
    demand
        Homes, compounds, villages (with a population column for weights).
    candidates
        Candidate sites (:mod:`coverage.siting.candidates`, or the user's list); optional columns
        ``site_cost`` (for ``budget``/LSCP costs), ``capacity``, ``zone_id``.
    model
        ``"mclp"`` (cover the most older people with ``k_new`` new sites or a ``budget``),
        ``"lscp"`` (fewest/least-cost new sites covering everyone coverable),
        ``"pmedian"`` (``k_new`` new sites minimising total weighted distance) or
        ``"pcenter"`` (``k_new`` new sites minimising the worst distance).
    k_new
        Number of new sites (MCLP, p-median, p-center).
    budget
        Budget in ``site_cost`` units (MCLP).
    rule
        The standard to meet: ``"radius"`` (``config.radius_m``) or ``"time"`` (the
        walking distance of ``config.time_min`` at ``config.speed_mps``).
    config
        Rules and walking speed.
    weight_col
        Demand weight column (default: elderly, population, households, else 1).
    zone_col
        Candidate column with each site's zone (village) for ``zone_rule``.
    zone_rule
        ``"at_most_one"``, ``"at_least_one"`` or ``"exactly_one"`` site per zone (existing
        sites count; "one mutual-aid point per village").
    zones
        Zone polygons (:func:`coverage.inputs.points.read_zones`): sites without a
        ``zone_id`` take the zone they lie in, and a zone with no site at all makes an
        ``"at_least_one"``/``"exactly_one"`` rule raise
        :class:`~coverage.errors.InfeasibleError` naming it.
    pmedian_cutoff_m
        Cost-table cutoff for p-median/p-center (they need distances past the standard).
    unreachable_penalty_m
        p-median: distance charged for demand no open site reaches within the table.
    method, time_limit_s, seed
        Solver choice (``"auto"``, ``"exact"``, ``"heuristic"``), limit and seed.
    with_service_areas
        Compute the proposed sites' road-following service areas.

    Returns
    -------
    SitingResult
    """
    from ..audit.run import _weights

    cfg = config or AuditConfig()
    if model not in MODELS:
        raise ParameterError(f"model={model!r} (--model); choose one of {list(MODELS)}")
    if rule not in {"radius", "time"}:
        raise ParameterError(f"rule={rule!r} (--rule); choose 'radius' or 'time'")
    if model in {"mclp", "pmedian", "pcenter"} and k_new is None and budget is None:
        raise ParameterError(f"model {model!r} needs k_new, the number of new sites (--k){' or a budget (--budget)' if model == 'mclp' else ''}")
    if k_new is not None and k_new < 0:
        raise ParameterError(f"k_new={k_new} (--k) must be >= 0")
    limit = cfg.radius_m if rule == "radius" else cfg.walk_limit_m
    sites = _sites_frame(facilities, candidates)
    n_exist = int(sites["existing"].sum())
    n_cand = len(sites) - n_exist
    if k_new is not None and k_new > n_cand:
        raise ParameterError(
            f"{layer_source(candidates, 'candidates')}: k_new={k_new} (--k) new sites asked for, "
            f"but there are only {n_cand} candidate sites. Fix: add candidates or lower k_new"
        )
    cutoff = limit if model in {"mclp", "lscp"} else max(pmedian_cutoff_m, limit)
    net = compact(network)
    idx = EdgeIndex(net)
    dxy = points_xy(demand, net.crs)
    sxy = points_xy(sites, net.crs)
    check_extent(net, demand, dxy, cfg.snap_tolerance_m, label="demand points")
    check_extent(net, candidates, points_xy(candidates, net.crs), cfg.snap_tolerance_m, label="candidate sites")
    for layer, what in ((facilities, "facilities"), (demand, "demand points"), (candidates, "candidate sites")):
        check_coord_system(net, layer, label=what, index=idx)
    ds = idx.snap(dxy)
    ss = idx.snap(sxy)
    far_dem = warn_unreachable(demand, ds.access_m, cfg.snap_tolerance_m, label="demand points", what="left out (no site can serve them)")
    warn_unreachable(facilities, ss.access_m[:n_exist], cfg.snap_tolerance_m, label="facilities", what="left out (they serve nobody)")
    warn_unreachable(candidates, ss.access_m[n_exist:], cfg.snap_tolerance_m, label="candidate sites", what="left out (they serve nobody)")
    require_reachable(facilities, ss.access_m[:n_exist], cfg.snap_tolerance_m, label="facilities")
    require_reachable(candidates, ss.access_m[n_exist:], cfg.snap_tolerance_m, label="candidate sites")
    if len(far_dem) and (model == "pcenter" or (model == "pmedian" and unreachable_penalty_m is None)):
        raise InfeasibleError(
            f"{layer_source(demand, 'demand')}: {model} must assign every demand point, but "
            f"{len(far_dem)} lie farther than the snap tolerance ({cfg.snap_tolerance_m:g} m) "
            f"from any road: {describe_points(demand, far_dem, dist_m=ds.access_m)}. Fix: correct "
            "or remove those points, raise the snap tolerance"
            + (", or pass unreachable_penalty_m" if model == "pmedian" else "")
        )
    dem_ids = demand["id"].astype(str).to_numpy() if "id" in demand else np.arange(len(demand)).astype(str)
    table = cost_table(net, ds, ss, cutoff_m=cutoff, access_counts=cfg.access_counts, demand_ids=dem_ids, site_ids=sites["id"].to_numpy(), speed_mps=cfg.speed_mps)
    table = table.without(demand=ds.access_m > cfg.snap_tolerance_m, sites=ss.access_m > cfg.snap_tolerance_m)
    w, wcol = _weights(demand, weight_col, "demand")
    existing = sites["existing"].to_numpy()
    cost = sites["site_cost"].to_numpy(float)
    cost = np.where(existing, 0.0, np.where(np.isfinite(cost), cost, 1.0))
    zkw: dict[str, object] = {}
    if zone_rule is not None:
        col = zone_col or "zone_id"
        if col != "zone_id" and col not in candidates:
            raise ParameterError(f"zone_col={col!r} is not a candidate column")
        zos = _site_zones(sites, demand, zones, zone_rule)
        zkw = {"zone_of_site": zos, "zone_rule": zone_rule}
    common = dict(weights=w, existing=existing, method=method, time_limit_s=time_limit_s, seed=seed, **zkw)
    logger.info("solving %s: %d demand x %d sites (%d existing), %d pairs within %.0f m", model, table.n_demand, table.n_sites, n_exist, table.nnz, cutoff)
    try:
        if model == "mclp":
            sel = solve_mclp(table, k=None if k_new is None else n_exist + k_new, budget=budget, site_cost=cost, radius_m=limit, **common)
        elif model == "lscp":
            sel = solve_lscp(table, radius_m=limit, site_cost=cost, **common)
        elif model == "pmedian":
            sel = solve_pmedian(table, p=n_exist + int(k_new or 0), unreachable_penalty_m=unreachable_penalty_m, **common)
        else:
            sel = solve_pcenter(table, p=n_exist + int(k_new or 0), **common)
    except CoverageError as exc:
        # name the files: the solvers only know site and demand ids
        where = (
            f"{model} on {layer_source(demand, 'demand')} (demand), {layer_source(facilities, 'facilities')} "
            f"(facilities) and {layer_source(candidates, 'candidates')} (candidates)"
        )
        raise type(exc)(f"{where}: {exc}") from exc
    return _assemble(network, net, idx, ss, sites, demand, table, sel, w, wcol, limit, cfg, model, rule, with_service_areas)


def _site_zones(sites: gpd.GeoDataFrame, demand: gpd.GeoDataFrame, zones: gpd.GeoDataFrame | None, zone_rule: object) -> np.ndarray:
    """The zone label of every site for a zone rule (NaN = none), checked against the zones.

    Sites without a ``zone_id`` take the zone polygon they lie in. The zones a rule must
    serve are those of ``zones`` (else of the demand's ``zone_id`` column); one without any
    site cannot get its minimum.
    """
    zos = sites["zone_id"].replace("", np.nan)
    if zones is not None and zos.isna().any():
        z = zones[["zone_id", "geometry"]].to_crs(sites.crs)
        joined = gpd.sjoin(sites.loc[zos.isna(), ["geometry"]], z, how="left", predicate="within")
        joined = joined[~joined.index.duplicated(keep="first")]
        zos = zos.fillna(joined["zone_id"].astype(object))
    if zos.isna().all():
        raise ParameterError(
            f"zone_rule={zone_rule!r} (--one-per-zone) needs the zone of every site, but no "
            "site has one. Fix: give the zone polygons (zones=, --zones) or a zone_id column in "
            "the candidates file"
        )
    lo = ZONE_RULES[zone_rule][0] if isinstance(zone_rule, str) and zone_rule in ZONE_RULES else 0
    if lo > 0:
        if zones is not None:
            need = zones["zone_id"].astype(str)
            names = zones["zone_name"].astype(str) if "zone_name" in zones else need
            src = layer_source(zones, "zones")
        elif "zone_id" in demand:
            need = pd.Series(demand["zone_id"].dropna().astype(str).unique())
            names, src = need, layer_source(demand, "demand")
        else:
            need = names = pd.Series([], dtype=str)
            src = ""
        empty = ~need.isin(set(zos.dropna().astype(str))).to_numpy()
        if empty.any():
            which = [f"{i!r} ({n})" if n != i else repr(i) for i, n in zip(need[empty], names[empty])]
            raise InfeasibleError(
                f"{src}: zone_rule={zone_rule!r} needs an open site in every zone, but "
                f"{int(empty.sum())} zones have no candidate site and no existing facility: "
                f"{', '.join(which[:10])}. Fix: add candidate sites in those zones, or use "
                "zone_rule='at_most_one' (--one-per-zone at_most_one)"
            )
    return zos.to_numpy(object)


def _assemble(network, net, idx, ss, sites, demand, table, sel, w, wcol, limit, cfg, model, rule, with_sa) -> SitingResult:
    existing = sites["existing"].to_numpy()
    within = table.within(min(limit, table.cutoff_m))
    open_after = np.zeros(len(sites), dtype=bool)
    open_after[sel.selected] = True
    hit_before = existing[within.site_idx]
    hit_after = open_after[within.site_idx]
    cov_before = np.zeros(table.n_demand, dtype=bool)
    cov_after = np.zeros(table.n_demand, dtype=bool)
    cov_before[within.demand_idx[hit_before]] = True
    cov_after[within.demand_idx[hit_after]] = True
    d = demand.to_crs("EPSG:4326").copy()
    d["weight"] = w
    d["covered_before"] = cov_before
    d["covered_after"] = cov_after
    d["newly_covered"] = cov_after & ~cov_before
    a = sel.assignment
    d["assigned_site"] = np.where(a >= 0, sites["id"].to_numpy()[np.maximum(a, 0)], "")
    d["assigned_dist_m"] = sel.assigned_dist_m
    s = sites.copy()
    s["role"] = np.where(existing, "existing", np.where(open_after, "proposed", "not chosen"))
    frame = sel.to_frame()
    new = frame[~frame["existing"]].copy()
    new["rank"] = np.arange(1, len(new) + 1)
    # homes each proposed site newly covers (within the limit, not covered before)
    newly = ~cov_before[within.demand_idx] & open_after[within.site_idx]
    nd = np.bincount(within.site_idx[newly], minlength=len(sites))
    nw = np.bincount(within.site_idx[newly], weights=w[within.demand_idx[newly]], minlength=len(sites))
    pos = new["site_pos"].to_numpy()
    proposed = sites.iloc[pos][["id", "name", "kind", "zone_id", "geometry"]].reset_index(drop=True)
    proposed.insert(0, "rank", new["rank"].to_numpy())
    proposed["marginal_gain"] = new["marginal_gain"].to_numpy()
    proposed["n_assigned"] = new["n_assigned"].to_numpy()
    proposed["load"] = new["load"].to_numpy()
    proposed["n_in_reach_newly_covered"] = nd[pos]
    proposed["weight_in_reach_newly_covered"] = nw[pos]
    proposed = gpd.GeoDataFrame(proposed, geometry="geometry", crs="EPSG:4326")
    rows = []
    groups = [("all", d)]
    if "zone_id" in d:
        groups += sorted(d.groupby(d["zone_id"].astype(str).to_numpy()), key=lambda kv: str(kv[0]))
    for key, grp in groups:
        wt = grp["weight"].sum()
        rows.append(
            {
                "scope": key,
                "n_points": len(grp),
                "n_covered_before": int(grp["covered_before"].sum()),
                "n_covered_after": int(grp["covered_after"].sum()),
                "share_before": grp["covered_before"].mean(),
                "share_after": grp["covered_after"].mean(),
                "weight_total": wt,
                "wshare_before": grp.loc[grp["covered_before"], "weight"].sum() / wt if wt > 0 else np.nan,
                "wshare_after": grp.loc[grp["covered_after"], "weight"].sum() / wt if wt > 0 else np.nan,
            }
        )
    before_after = pd.DataFrame(rows)
    sa = None
    if with_sa and len(pos):
        sa = service_areas(net, ss.take(pos), limits_m={rule: limit}, ids=proposed["id"].to_numpy(), names=proposed["name"].to_numpy(), access_counts=cfg.access_counts)
    meta: dict[str, object] = {
        "model": model,
        "rule": rule,
        "limit_m": limit,
        "speed_mps": cfg.speed_mps,
        "crs": network.crs,
        "weight_column": wcol,
        "source": network.source,
        "cost_table": {"pairs": table.nnz, "cutoff_m": table.cutoff_m, "demand": table.n_demand, "sites": table.n_sites},
        **{f"solver_{k}": v for k, v in sel.summary().items()},
        "shrink": sel.shrink,
        "uncoverable": [str(x) for x in sel.uncoverable],
    }
    return SitingResult(sel, proposed, s, d, before_after, sa, table, meta)
