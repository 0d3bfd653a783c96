"""Site selection on real networks: where new stations and mutual-aid points should go.

:func:`propose_sites` puts the existing facilities (kept open) and the candidate sites in
one site list, asks the study's :class:`~coverage.engine.engine.Engine` for the sparse
demand × site cost table over the road network, solves the chosen model
(:mod:`coverage.siting.optimize`) and reports what a planner attaches: the proposed sites
ranked by marginal gain, coverage before and after (count and population, overall and per
zone), the newly covered homes, who is assigned where, and the road-following service
areas of the proposed sites. :meth:`SitingResult.after_audit` audits the facilities as
they would be, from what the selection already holds (the engine and its snapped layers).
The outputs are written by :mod:`coverage.publish.siting_package` and
:mod:`coverage.publish.site_map`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from ..audit.run import AuditOptions, AuditResult, audit_result, options_from
from ..audit.summary import demand_weights
from ..audit.zones import zone_of_points
from ..config import AuditConfig
from ..engine.costs import CostTable
from ..engine.diagnostics import describe_points, layer_source, require_reachable, warn_unreachable
from ..engine.engine import Engine, Layer, engine_for
from ..engine.network import RoadNetwork
from ..engine.whatif import AuditState
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

__all__ = ["MODELS", "RULES", "SitingOptions", "SitingResult", "SitingStudy", "note_text", "propose_sites"]

logger = logging.getLogger(__name__)

MODELS = ("mclp", "lscp", "pmedian", "pcenter")
#: the standards a proposal can meet: the coverage radius or the walk of the time rule
RULES = ("radius", "time")


@dataclass(frozen=True)
class SitingOptions:
    """What to solve and how (the rules themselves are the :class:`~coverage.config.AuditConfig`).

    Parameters
    ----------
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
    weight_col
        Demand weight column (default: elderly, population, households, else 1).
    zone_col
        Candidate column with each site's zone (village) for ``zone_rule``.
    zone_rule
        ``"at_most_one"``, ``"at_least_one"`` or ``"exactly_one"`` site per zone (existing
        sites count; "one mutual-aid point per village").
    pmedian_cutoff_m
        Cost-table cutoff for p-median/p-center (they need distances past the standard).
    unreachable_penalty_m
        p-median: distance charged for demand no open site reaches within the table.
    method, time_limit_s, seed
        Solver choice (``"auto"``, ``"exact"``, ``"heuristic"``), limit and seed.
    with_service_areas
        Compute the proposed sites' road-following service areas.
    """

    model: str = "mclp"
    k_new: int | None = None
    budget: float | None = None
    rule: str = "radius"
    weight_col: str | None = None
    zone_col: str | None = None
    zone_rule: str | None = None
    pmedian_cutoff_m: float = 5000.0
    unreachable_penalty_m: float | None = None
    method: str = "auto"
    time_limit_s: float = 60.0
    seed: int = 0
    with_service_areas: bool = True

    def __post_init__(self) -> None:
        model, k_new = self.model, self.k_new
        if model not in MODELS:
            raise ParameterError(f"model={model!r} (--model); choose one of {list(MODELS)}")
        if self.rule not in RULES:
            raise ParameterError(f"rule={self.rule!r} (--rule); choose 'radius' or 'time'")
        if model in {"mclp", "pmedian", "pcenter"} and k_new is None and self.budget is None:
            raise ParameterError(f"model {model!r} needs the number of new sites: --k N (k_new= in Python)"
                                 f"{' or a budget: --budget (budget=)' if model == 'mclp' else ''}")  # fmt: skip
        if k_new is not None and k_new < 0:
            raise ParameterError(f"k_new={k_new} (--k) must be >= 0")

    def limit_m(self, cfg: AuditConfig) -> float:
        """The standard in network metres: the radius, or the walk of the time rule."""
        return cfg.radius_m if self.rule == "radius" else cfg.walk_limit_m

    def cutoff_m(self, cfg: AuditConfig) -> float:
        """The cost table's cutoff: the standard for the covering models, farther for
        p-median and p-center."""
        limit = self.limit_m(cfg)
        return limit if self.model in {"mclp", "lscp"} else max(self.pmedian_cutoff_m, limit)


@dataclass(frozen=True, eq=False)
class SitingStudy:
    """What a site selection was asked and what it built: the engine (compacted network,
    edge index), the input layers, the site list (existing first, then candidates, in
    EPSG:4326) and the demand and sites snapped to the roads."""

    engine: Engine
    facilities: gpd.GeoDataFrame
    demand: gpd.GeoDataFrame
    candidates: gpd.GeoDataFrame
    sites: gpd.GeoDataFrame
    demand_layer: Layer
    site_layer: Layer
    options: SitingOptions

    @property
    def n_existing(self) -> int:
        """The number of existing facilities (the first rows of ``sites``)."""
        return int(self.sites["existing"].sum())


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
        Parameters and solver facts (``meta["notes"]`` repeats :attr:`notes`).
    study
        The engine and snapped layers the selection used (:class:`SitingStudy`).
    notes
        Why the proposal looks as it does, one sentence each (fewer sites than asked for
        and why: the zone rule with existing facilities counting, zones without candidates,
        no further gain; sites outside every zone; the kinds of zone the sites are in; demand
        no site can reach), for the console and the report.
    """

    selection: SiteSelection
    proposed: gpd.GeoDataFrame
    sites: gpd.GeoDataFrame
    demand: gpd.GeoDataFrame
    before_after: pd.DataFrame
    service_areas: gpd.GeoDataFrame | None
    costs: CostTable
    meta: dict[str, object]
    study: SitingStudy = field(repr=False)
    notes: tuple[str, ...] = ()

    @property
    def newly_covered(self) -> gpd.GeoDataFrame:
        """Homes covered after but not before."""
        return self.demand[self.demand["newly_covered"]]

    def after_audit(
        self,
        *,
        zones: gpd.GeoDataFrame | None = None,
        title: str = "养老设施选址方案 Proposed elderly-care sites",
        run_date: str | None = None,
    ) -> AuditResult:
        """The audit of the facilities as they would be: the existing ones and the proposed
        sites (in rank order), from the study's engine and snapped layers (nothing is read,
        checked or snapped again; no service areas: :attr:`service_areas` has the proposed
        sites'). ``zones`` give coverage by zone."""
        st = self.study
        f = st.facilities.to_crs("EPSG:4326")
        keep = ["id", "name", "geometry"]
        after = pd.concat([f[[c for c in keep if c in st.facilities]], self.proposed[keep]], ignore_index=True)
        after = gpd.GeoDataFrame(after, geometry="geometry", crs="EPSG:4326")
        pos = pd.Index(st.sites["id"]).get_indexer(self.proposed["id"])
        open_sites = st.site_layer.take(np.concatenate([np.arange(st.n_existing), pos]))
        state = AuditState.build(st.engine, open_sites, st.demand_layer, warn_far=False, facility_layer=after)
        opts = AuditOptions(weight_col=st.options.weight_col, with_service_areas=False, title=title, run_date=run_date)
        return audit_result(state, after, st.demand, zones=zones, options=opts)


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
    config: AuditConfig | None = None,
    zones: gpd.GeoDataFrame | None = None,
    engine: Engine | None = None,
    options: SitingOptions | None = None,
    **keywords: Any,
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
    config
        Rules and walking speed.
    zones
        Zone polygons (:func:`coverage.inputs.points.read_zones`): sites without a
        ``zone_id`` take the zone they lie in, and a zone with no site at all makes an
        ``"at_least_one"``/``"exactly_one"`` rule raise
        :class:`~coverage.errors.InfeasibleError` naming it.
    engine
        The study's :class:`~coverage.engine.engine.Engine` (built on ``network``) to ask;
        default a new one on the compacted network.
    options, **keywords
        What to solve and how (:class:`SitingOptions`): ``model``, ``k_new``, ``budget``,
        ``rule``, ``weight_col``, ``zone_col``, ``zone_rule``, ``pmedian_cutoff_m``,
        ``unreachable_penalty_m``, ``method``, ``time_limit_s``, ``seed``,
        ``with_service_areas``, as a ``SitingOptions`` or as keywords (which override it).

    Returns
    -------
    SitingResult
    """
    opts: SitingOptions = options_from(SitingOptions, options, keywords, "propose_sites")
    sites = _sites_frame(facilities, candidates)
    n_cand = len(sites) - int(sites["existing"].sum())
    if opts.k_new is not None and opts.k_new > n_cand:
        raise ParameterError(
            f"{layer_source(candidates, 'candidates')}: k_new={opts.k_new} (--k) new sites asked for, "
            f"but there are only {n_cand} candidate sites. Fix: add candidates or lower k_new"
        )
    eng = engine_for(network, config=config, engine=engine)
    study = _snap_layers(eng, facilities, demand, candidates, sites, opts)
    dem_ids = demand["id"].astype(str).to_numpy() if "id" in demand else np.arange(len(demand)).astype(str)
    table = eng.cost_table(
        study.demand_layer, study.site_layer, cutoff_m=opts.cutoff_m(eng.config), demand_ids=dem_ids, site_ids=sites["id"].to_numpy()
    )
    w, wcol = demand_weights(demand, opts.weight_col, "demand")
    sel = _solve(study, table, w, zones)
    return _assemble(study, table, sel, w, wcol, zones)


def _snap_layers(
    eng: Engine,
    facilities: gpd.GeoDataFrame,
    demand: gpd.GeoDataFrame,
    candidates: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame,
    opts: SitingOptions,
) -> SitingStudy:
    """Check the layers against the network, snap demand and sites, and say which points
    the roads cannot reach (raising when a model must serve them, or nothing is left)."""
    tol = eng.config.snap_tolerance_m
    n_exist = int(sites["existing"].sum())
    dxy, sxy = eng.xy(demand), eng.xy(sites)
    eng.check_extent(demand, dxy, label="demand points")
    eng.check_extent(candidates, eng.xy(candidates), label="candidate sites")
    for layer, what in ((facilities, "facilities"), (demand, "demand points"), (candidates, "candidate sites")):
        check_coord_system(eng.net, layer, label=what, index=eng.index)
    dl, sl = eng.layer(dxy), eng.layer(sxy)
    far_dem = warn_unreachable(demand, dl.access_m, tol, label="demand points", what="left out (no site can serve them)")
    warn_unreachable(facilities, sl.access_m[:n_exist], tol, label="facilities", what="left out (they serve nobody)")
    warn_unreachable(candidates, sl.access_m[n_exist:], tol, label="candidate sites", what="left out (they serve nobody)")
    require_reachable(facilities, sl.access_m[:n_exist], tol, label="facilities")
    require_reachable(candidates, sl.access_m[n_exist:], tol, label="candidate sites")
    model = opts.model
    if len(far_dem) and (model == "pcenter" or (model == "pmedian" and opts.unreachable_penalty_m is None)):
        raise InfeasibleError(
            f"{layer_source(demand, 'demand')}: {model} must assign every demand point, but "
            f"{len(far_dem)} lie farther than the snap tolerance ({tol:g} m) "
            f"from any road: {describe_points(demand, far_dem, dist_m=dl.access_m)}. Fix: correct "
            "or remove those points, raise the snap tolerance"
            + (", or pass unreachable_penalty_m" if model == "pmedian" else "")
        )
    return SitingStudy(eng, facilities, demand, candidates, sites, dl, sl, opts)


def _solve(study: SitingStudy, table: CostTable, w: np.ndarray, zones: gpd.GeoDataFrame | None) -> SiteSelection:
    """Solve the chosen model on the cost table (existing sites kept open, new ones at
    ``site_cost``, 1 when missing), naming the input files in any error."""
    opts, sites = study.options, study.sites
    existing = sites["existing"].to_numpy()
    n_exist = study.n_existing
    cost = sites["site_cost"].to_numpy(float)
    cost = np.where(existing, 0.0, np.where(np.isfinite(cost), cost, 1.0))
    zkw: dict[str, object] = {}
    if opts.zone_rule is not None:
        col = opts.zone_col or "zone_id"
        if col != "zone_id" and col not in study.candidates:
            raise ParameterError(f"zone_col={col!r} is not a candidate column")
        zos = _site_zones(sites, study.demand, zones, opts.zone_rule)
        zkw = {"zone_of_site": zos, "zone_rule": opts.zone_rule}
    common = dict(weights=w, existing=existing, method=opts.method, time_limit_s=opts.time_limit_s, seed=opts.seed, **zkw)
    limit = opts.limit_m(study.engine.config)
    k_new, model = opts.k_new, opts.model
    logger.info("solving %s: %d demand x %d sites (%d existing), %d pairs within %.0f m", model, table.n_demand, table.n_sites, n_exist, table.nnz, table.cutoff_m)
    try:
        if model == "mclp":
            return solve_mclp(table, k=None if k_new is None else n_exist + k_new, budget=opts.budget, site_cost=cost, radius_m=limit, **common)
        if model == "lscp":
            return solve_lscp(table, radius_m=limit, site_cost=cost, **common)
        if model == "pmedian":
            return solve_pmedian(table, p=n_exist + int(k_new or 0), unreachable_penalty_m=opts.unreachable_penalty_m, **common)
        return solve_pcenter(table, p=n_exist + int(k_new or 0), **common)
    except CoverageError as exc:
        # name the files: the solvers only know site and demand ids
        where = (
            f"{model} on {layer_source(study.demand, 'demand')} (demand), {layer_source(study.facilities, 'facilities')} "
            f"(facilities) and {layer_source(study.candidates, 'candidates')} (candidates)"
        )
        raise type(exc)(f"{where}: {exc}") from exc


def _site_zones(sites: gpd.GeoDataFrame, demand: gpd.GeoDataFrame, zones: gpd.GeoDataFrame | None, zone_rule: object) -> np.ndarray:
    """The zone label of every site for a zone rule (NaN = none), checked against the zones.

    Sites without a ``zone_id`` take the zone polygon they lie in. The zones a rule must
    serve are those of ``zones`` (else of the demand's ``zone_id`` column); one without any
    site cannot get its minimum.
    """
    zos = sites["zone_id"].replace("", np.nan)
    if zones is not None and zos.isna().any():
        zos = zos.fillna(zone_of_points(sites.loc[zos.isna()], zones).astype(object))
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


def _coverage(study: SitingStudy, table: CostTable, sel: SiteSelection) -> tuple[CostTable, np.ndarray, np.ndarray, np.ndarray]:
    """The table within the standard, the sites open after, and which demand rows are
    covered before (existing sites) and after (existing and proposed)."""
    existing = study.sites["existing"].to_numpy()
    within = table.within(min(study.options.limit_m(study.engine.config), table.cutoff_m))
    open_after = np.zeros(len(study.sites), dtype=bool)
    open_after[sel.selected] = True
    cov_before = np.zeros(table.n_demand, dtype=bool)
    cov_after = np.zeros(table.n_demand, dtype=bool)
    cov_before[within.demand_idx[existing[within.site_idx]]] = True
    cov_after[within.demand_idx[open_after[within.site_idx]]] = True
    return within, open_after, cov_before, cov_after


def _proposed(
    study: SitingStudy, sel: SiteSelection, within: CostTable, cov_before: np.ndarray, open_after: np.ndarray, w: np.ndarray
) -> gpd.GeoDataFrame:
    """The proposed sites ranked by marginal gain, with the homes each newly covers (within
    the standard, not covered before)."""
    sites = study.sites
    frame = sel.to_frame()
    new = frame[~frame["existing"]].copy()
    new["rank"] = np.arange(1, len(new) + 1)
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
    return gpd.GeoDataFrame(proposed, geometry="geometry", crs="EPSG:4326")


def _before_after(d: gpd.GeoDataFrame) -> pd.DataFrame:
    """Coverage before and after, overall and per zone (when the demand has zones)."""
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
    return pd.DataFrame(rows)


def _meta(study: SitingStudy, table: CostTable, sel: SiteSelection, wcol: str) -> dict[str, object]:
    eng, opts = study.engine, study.options
    return {
        "model": opts.model,
        "rule": opts.rule,
        "limit_m": opts.limit_m(eng.config),
        "speed_mps": eng.config.speed_mps,
        "crs": eng.network.crs,
        "weight_column": wcol,
        "source": eng.network.source,
        "cost_table": {"pairs": table.nnz, "cutoff_m": table.cutoff_m, "demand": table.n_demand, "sites": table.n_sites},
        **{f"solver_{k}": v for k, v in sel.summary().items()},
        "shrink": sel.shrink,
        "uncoverable": [str(x) for x in sel.uncoverable],
    }


def _assemble(study: SitingStudy, table: CostTable, sel: SiteSelection, w: np.ndarray, wcol: str,
              zones: gpd.GeoDataFrame | None = None) -> SitingResult:  # fmt: skip
    """The result tables: demand before/after, the sites' roles, the ranked proposal, the
    before/after summary and the proposed sites' service areas."""
    sites, opts = study.sites, study.options
    existing = sites["existing"].to_numpy()
    within, open_after, cov_before, cov_after = _coverage(study, table, sel)
    d = study.demand.to_crs("EPSG:4326").copy()
    d["weight"] = w
    d["covered_before"] = cov_before
    d["covered_after"] = cov_after
    d["newly_covered"] = cov_after & ~cov_before
    a = sel.assignment
    d["assigned_site"] = np.where(a >= 0, sites["id"].to_numpy()[np.maximum(a, 0)], "")
    d["assigned_dist_m"] = sel.assigned_dist_m
    s = sites.copy()
    s["role"] = np.where(existing, "existing", np.where(open_after, "proposed", "not chosen"))
    proposed = _proposed(study, sel, within, cov_before, open_after, w)
    sa = None
    if opts.with_service_areas and len(proposed):
        pos = pd.Index(sites["id"]).get_indexer(proposed["id"])
        sa = study.engine.service_areas(
            study.site_layer.take(pos), limits_m={opts.rule: opts.limit_m(study.engine.config)},
            ids=proposed["id"].to_numpy(), names=proposed["name"].to_numpy(),
        )  # fmt: skip
    notes = tuple(explain_selection(study, sel, proposed, zones))
    for note in notes:
        logger.info("siting: %s", note)
    meta = {**_meta(study, table, sel, wcol), "notes": list(notes)}
    return SitingResult(sel, proposed, s, d, _before_after(d), sa, table, meta, study, notes)


# --------------------------------------------------------------------------- explanations
def _zone_label(zone: object, names: dict[str, str]) -> str:
    name = names.get(str(zone))
    return f"{zone} {name}" if name and name != str(zone) else str(zone)


def note_text(note: str, lang: str = "both") -> str:
    """A bilingual note (:attr:`SitingResult.notes`: Chinese, a line break, English) in
    ``lang``: ``"zh"``, ``"en"`` or ``"both"`` (Chinese first, on one line)."""
    zh, _, en = str(note).partition("\n")
    if not en:
        return zh
    return {"zh": zh, "en": en}.get(lang, f"{zh} {en}")


def _zone_capacity(study: SitingStudy, zos: np.ndarray, names: dict[str, str],
                   zones: gpd.GeoDataFrame | None) -> tuple[int, list[tuple[str, str]]]:  # fmt: skip
    """How many new sites a one-per-zone rule lets open, and why not more (Chinese, English)."""
    sites, opts = study.sites, study.options
    existing = sites["existing"].to_numpy()
    zoned = pd.notna(zos)
    taken = dict.fromkeys(str(z) for z in zos[existing & zoned])
    free = dict.fromkeys(str(z) for z in zos[~existing & zoned] if str(z) not in taken)
    outside = int((~existing & ~zoned).sum())
    ids = sites["id"].astype(str).to_numpy()
    holders = [f"{_zone_label(z, names)} ({', '.join(ids[existing & (zos == z)][:3])})" for z in taken]
    held = f"{'; '.join(holders[:12])}{' ...' if len(holders) > 12 else ''}"
    why = [(f"片区规则 {opts.zone_rule!r}（--one-per-zone）每个片区只设一处，现有设施计入：{len(taken)} 个片区已有（{held}），"
            f"剩 {len(free)} 个有候选点的片区" + (f"，另有 {outside} 个候选点不在任何片区内（不受限）" if outside else ""),
            f"the zone rule {opts.zone_rule!r} (--one-per-zone) allows one site per zone and existing facilities count: "
            f"{len(taken)} zones have one already ({held}), {len(free)} zones with a candidate site are left"
            + (f" and {outside} candidate sites lie outside every zone (no limit)" if outside else ""))]  # fmt: skip
    if zones is not None and "zone_id" in zones:
        empty = [z for z in zones["zone_id"].astype(str) if z not in taken and z not in free]
        if empty:
            listed = ", ".join(_zone_label(z, names) for z in empty[:12])
            why.append((f"{len(empty)} 个片区没有候选点：{listed}", f"{len(empty)} zones have no candidate site: {listed}"))
    return len(free) + outside, why


def _zone_kinds(proposed: gpd.GeoDataFrame, zos: pd.Series, zones: gpd.GeoDataFrame | None, names: dict[str, str]) -> list[str]:
    """Which kinds of zone (community, village ...) the proposed sites are in, when mixed."""
    if zones is None or "kind" not in zones or not len(proposed):
        return []
    kind_of = dict(zip(zones["zone_id"].astype(str), zones["kind"].astype(str), strict=False))
    zone = zos.reindex(proposed["id"].astype(str)).astype(object)
    kinds = zone.map(lambda z: kind_of.get(str(z), "not in the zones layer") if pd.notna(z) else "outside every zone")
    counts = kinds.value_counts()
    if len(counts) < 2:
        return []
    minority = counts.index[-1]
    where = [f"{i} in {_zone_label(zone[i], names)}" if pd.notna(zone[i]) else str(i) for i in kinds.index[kinds == minority]]
    listed = ", ".join(f"{k} ({n})" for k, n in counts.items())
    return [f"拟建站点所在片区类型不一：{listed}；{minority}：{', '.join(where[:10])}。片区规则对片区图层中的所有片区一视同仁："
            "只在村设点请只给村的范围（或用 coverage villages）。\n"
            f"the proposed sites lie in zones of kind {listed}; "
            f"{minority}: {', '.join(where[:10])}. The zone rule treats every zone of the zones layer alike: to place "
            "points in villages only, give only the village polygons (or run `coverage villages`)"]  # fmt: skip


def explain_selection(study: SitingStudy, sel: SiteSelection, proposed: gpd.GeoDataFrame,
                      zones: gpd.GeoDataFrame | None = None) -> list[str]:  # fmt: skip
    """Sentences saying why a proposal looks as it does (:attr:`SitingResult.notes`), each
    in Chinese, a line break, then English (:func:`note_text` gives one language).

    Fewer new sites than ``k_new``: how many the zone rule leaves room for (zones that
    already hold an existing facility, zones without a candidate, candidates outside every
    zone) and whether the rest would gain nothing; with a zone rule, the kinds of zone the
    sites are in when they differ (a community among villages); the demand points no site
    reaches within the standard.
    """
    opts = study.options
    limit = opts.limit_m(study.engine.config)
    names = {} if zones is None or "zone_name" not in zones else dict(zip(zones["zone_id"].astype(str), zones["zone_name"].astype(str), strict=False))
    notes: list[str] = []
    zos = None
    if opts.zone_rule is not None:
        zos = _site_zones(study.sites, study.demand, zones, opts.zone_rule)
    n_new, k = len(proposed), opts.k_new
    if k is not None and n_new < k:
        room, why = (len(study.sites) - study.n_existing, [])
        if zos is not None and isinstance(opts.zone_rule, str) and ZONE_RULES.get(opts.zone_rule, (0, np.inf))[1] == 1:
            room, why = _zone_capacity(study, zos, names, zones)
        if n_new < room:
            why.append((f"其余可选候选点在 {limit:g} 米内不再增加覆盖（无进一步增益）", f"the other allowed candidates would add no coverage within {limit:g} m (no further gain)")
                       if opts.model in ("mclp", "lscp") else ("其余可选候选点不能改善目标值", "the other allowed candidates would not improve the objective"))  # fmt: skip
        notes.append(f"要求新增 {k} 处（--k），实际 {n_new} 处：" + "；".join(z for z, _ in why) + "。\n"
                     f"{k} new sites asked for (--k), {n_new} opened: " + "; ".join(e for _, e in why))  # fmt: skip
    if zos is not None:
        notes += _zone_kinds(proposed, pd.Series(zos, index=study.sites["id"].astype(str)), zones, names)
    if len(sel.uncoverable):
        ids = ", ".join(map(str, sel.uncoverable[:10])) + (" ..." if len(sel.uncoverable) > 10 else "")
        cut = min(limit, opts.cutoff_m(study.engine.config)) if opts.model in ("mclp", "lscp") else opts.cutoff_m(study.engine.config)
        notes.append(f"{len(sel.uncoverable)} 个需求点离所有站点（现有或候选）的路网距离都超过 {cut:g} 米：任何选址都无法覆盖（{ids}）。\n"
                     f"{len(sel.uncoverable)} demand points are farther than {cut:g} m by road from every site, existing or "
                     f"candidate: no choice of sites covers them ({ids})")  # fmt: skip
    return notes
