"""Existing-area make-up (老旧小区补建): where a bought, rented or infill facility closes the gap.

Residential areas built without an elderly-care facility, or outside the 1000 m standard,
must be made up "by buy-back, swap, rent, infill or a new site nearby" with at least
**15 m² per 100 households** (Pingyin 2021 §三(一); Huichang 2021 §(十七)). This workflow:

1. audits the residential areas (compounds, or any demand points) against the existing
   facilities;
2. gathers candidate sites: the user's list (vacant buildings, rooms for rent, idle public
   buildings; in the model county the vacant town buildings T01–T06) and, optionally, the
   centres of clusters of the areas left outside (:func:`coverage.siting.candidates.gap_clusters`);
3. chooses sites with :func:`coverage.siting.propose.propose_sites`: ``"lscp"`` (fewest sites that
   bring every area that can be reached within the standard) or ``"mclp"`` (``k_new`` sites
   covering the most older residents);
4. sizes each proposed facility: **15 m² per 100 households** of the areas it newly covers
   (areas are counted at the proposed site nearest to them).

Tie-break: a gap centre is a location, not a building (a room must still be bought, rented
or built there), so it costs ``gap_site_cost`` (default 1.2) against 1.0 for a listed
building; LSCP then prefers listed buildings when both close the same gap.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from ..audit.run import AuditResult, options_from, run_audit
from ..config import AuditConfig
from ..engine.network import RoadNetwork
from ..errors import ParameterError
from ..publish._labels import tr
from ..publish.atomic import writes_output_set
from ..publish.audit_package import report_basis
from ..publish.figures import Layer, PrintMap, facility_layers, print_map, rule_subtitle
from ..publish.maps import audit_layers, write_map
from ..publish.report import Report, ReportOptions, ReportSection, write_report_files
from ..publish.site_map import model_title
from ..publish.tables import write_csv, write_gpkg, write_json
from ..siting.candidates import gap_clusters
from ..siting.propose import SitingResult, note_text, propose_sites
from ._columns import require_columns
from .review import RATES_M2_PER_100_HOUSEHOLDS

__all__ = ["MakeupOptions", "MakeupResult", "makeup_key_table", "makeup_lines", "makeup_report", "plan_makeup", "write_makeup_outputs"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class MakeupResult:
    """Where make-up facilities go and how big they must be (EPSG:4326).

    Attributes
    ----------
    proposed
        Proposed sites ranked by marginal gain: ``rank, id, name, kind, source,
        n_areas_newly_covered, households_newly_covered, elderly_newly_covered,
        floor_area_needed_m2``.
    areas
        Residential areas: ``id, name, households, elderly, zone_id, dist_before_m,
        covered_before, covered_after, newly_covered, new_site``.
    gaps
        Clusters of areas outside the standard (polygons), or ``None``.
    summary
        One row: areas, outside before/after, households outside before/after, sites,
        total floor space needed.
    siting
        The :class:`~coverage.siting.propose.SitingResult` of the model.
    audit_after
        Coverage audit with the proposed sites open (for the map).
    meta
        Parameters.
    """

    proposed: gpd.GeoDataFrame
    areas: gpd.GeoDataFrame
    gaps: gpd.GeoDataFrame | None
    summary: pd.DataFrame
    siting: SitingResult
    audit_after: AuditResult
    meta: dict[str, object]


def _candidate_frame(parts: list[tuple[gpd.GeoDataFrame, str, float]]) -> gpd.GeoDataFrame:
    rows = []
    for g, source, cost in parts:
        if g is None or len(g) == 0:
            continue
        g = g.to_crs("EPSG:4326").copy()
        if "id" not in g:
            g["id"] = [f"{source}-{i + 1}" for i in range(len(g))]
        g["id"] = g["id"].astype(str)
        g["name"] = g["name"].astype(str) if "name" in g else g["id"]
        g["kind"] = g["kind"].astype(str) if "kind" in g else source
        g["source"] = source if "source" not in g else g["source"].astype(str)
        c = pd.to_numeric(g["site_cost"], errors="coerce") if "site_cost" in g else pd.Series(np.nan, index=g.index)
        g["site_cost"] = c.fillna(cost).to_numpy(float)
        g["source_row"] = pd.to_numeric(g["source_row"], errors="coerce") if "source_row" in g else np.nan  # rows in messages
        rows.append(g[["id", "name", "kind", "source", "site_cost", "source_row", "geometry"]])
    if not rows:
        raise ParameterError(
            "no candidate sites: give candidates (vacant buildings, rooms to rent ...; --candidates) or let the "
            "centres of gap clusters be candidates (use_gaps=True; omit --no-gaps)"
        )
    cand = gpd.GeoDataFrame(pd.concat(rows, ignore_index=True), geometry="geometry", crs="EPSG:4326")
    cand = cand.drop_duplicates("id").reset_index(drop=True)
    # messages name the file: "candidates.csv and the gap centres"
    cand.attrs["source"] = " and ".join(
        str(g.attrs.get("source") or f"the {source}s") for g, source, _ in parts if g is not None and len(g)
    )
    return cand


@dataclass(frozen=True)
class MakeupOptions:
    """How make-up sites are chosen and sized (:func:`plan_makeup`).

    Attributes
    ----------
    use_gaps
        Also use the centres of clusters of the areas outside the standard.
    model
        ``"lscp"`` (fewest sites) or ``"mclp"`` (``k_new`` sites, most older residents).
    k_new
        Number of new sites (MCLP).
    rule
        ``"radius"`` (1000 m by road) or ``"time"`` (15-minute walk).
    rate_m2_per_100_households
        Floor space per 100 households (15 for existing areas).
    gap_eps_m
        Cluster distance of the gap clusters (default half the radius).
    gap_site_cost
        Cost of a gap centre relative to a listed building (1.0).
    weight_col
        Weight of areas in MCLP (default elderly, population, households).
    method, time_limit_s, seed
        Solver options (:func:`coverage.siting.propose.propose_sites`).
    run_date
        ISO date recorded in outputs.
    """

    use_gaps: bool = True
    model: str = "lscp"
    k_new: int | None = None
    rule: str = "radius"
    rate_m2_per_100_households: float = RATES_M2_PER_100_HOUSEHOLDS["existing"]
    gap_eps_m: float | None = None
    gap_site_cost: float = 1.2
    weight_col: str | None = None
    method: str = "auto"
    time_limit_s: float = 60.0
    seed: int = 0
    run_date: str | None = None


def plan_makeup(
    network: RoadNetwork,
    *,
    facilities: gpd.GeoDataFrame,
    areas: gpd.GeoDataFrame,
    candidates: gpd.GeoDataFrame | None = None,
    options: MakeupOptions | None = None,
    config: AuditConfig | None = None,
    **keywords: Any,
) -> MakeupResult:
    """Find sites that bring residential areas within the standard, and size them.

    Parameters
    ----------
    network
        The walking network.
    facilities
        Existing elderly-care facilities (kept open).
    areas
        Residential areas as points (compounds 小区), with ``households`` and optionally
        ``elderly``.
    candidates
        Candidate sites (``id, name, kind``, optional ``site_cost``).
    options, **keywords
        Model, rule, floor-space rate, gap clusters, solver options and date: a :class:`MakeupOptions`, or its fields as keywords (which
        override it).
    config
        Radius, minutes and walking speed.

    Returns
    -------
    MakeupResult

    Raises
    ------
    ParameterError
        Unknown model, no candidates, no ``households`` column.

    Examples
    --------
    >>> from coverage import model_county
    >>> from coverage.datasets.scenarios import makeup_candidates
    >>> mc = model_county()
    >>> town = mc.demand[mc.demand["id"].str.startswith("R")]
    >>> res = plan_makeup(mc.network, facilities=mc.facilities, areas=town, candidates=makeup_candidates(mc),
    ...                   options=MakeupOptions(run_date="2026-01-01"))
    >>> res.proposed["id"].tolist()
    ['T02', 'T03']
    """
    opt: MakeupOptions = options_from(MakeupOptions, options, keywords, "plan_makeup")
    cfg = config or AuditConfig()
    _check_options(opt, areas)
    flag = "covered_radius" if opt.rule == "radius" else "covered_time"
    before = run_audit(network, facilities, areas, config=cfg, with_service_areas=False, weight_col=opt.weight_col,
                       run_date=opt.run_date)  # fmt: skip
    outside = before.demand[~before.demand[flag]]
    parts: list[tuple[gpd.GeoDataFrame, str, float]] = []
    if candidates is not None:
        parts.append((candidates, "candidates", 1.0))
    gaps = None
    if opt.use_gaps and len(outside):
        limit = cfg.radius_m if opt.rule == "radius" else cfg.walk_limit_m
        gaps, centres = gap_clusters(outside, network, eps_m=opt.gap_eps_m or limit / 2, min_homes=1)
        parts.append((centres, "gap centre", opt.gap_site_cost))
    cand = _candidate_frame(parts)
    siting = propose_sites(network, facilities, areas, cand, model=opt.model, k_new=opt.k_new, rule=opt.rule, config=cfg,
                           weight_col=opt.weight_col, method=opt.method, time_limit_s=opt.time_limit_s, seed=opt.seed)  # fmt: skip
    p = _sized_sites(siting, cand, areas, opt.rate_m2_per_100_households)
    out = _area_table(areas, before, siting)
    cb, ca = out["covered_before"].to_numpy(bool), out["covered_after"].to_numpy(bool)
    hh = _column(areas, "households")
    summary = pd.DataFrame([{
        "n_areas": len(out), "outside_before": int((~cb).sum()), "outside_after": int((~ca).sum()),
        "households_outside_before": float(hh[~cb].sum()), "households_outside_after": float(hh[~ca].sum()),
        "n_sites": len(p), "floor_area_needed_m2": float(p["floor_area_needed_m2"].sum()),
        "model": opt.model, "status": siting.selection.status,
    }])  # fmt: skip
    fac_after = pd.concat([facilities.to_crs("EPSG:4326"), p[["id", "name", "kind", "geometry"]]], ignore_index=True)
    fac_after = gpd.GeoDataFrame(fac_after, geometry="geometry", crs="EPSG:4326")
    audit_after = run_audit(network, fac_after, areas, config=cfg, weight_col=opt.weight_col, run_date=opt.run_date,
                            title="既有小区补建 Existing-area make-up (proposed sites open)")  # fmt: skip
    meta = {**{k: v for k, v in audit_after.meta.items() if k not in ("n_demand", "n_facilities", "target", "target_rule")},
            "model": opt.model, "rule": opt.rule, "rate_m2_per_100_households": opt.rate_m2_per_100_households,
            "use_gaps": opt.use_gaps, "gap_site_cost": opt.gap_site_cost, "n_candidates": len(cand),
            "solver": siting.selection.summary()}  # fmt: skip
    logger.info("make-up: %d sites bring %d of %d areas outside the standard within it", len(p), int((~cb & ca).sum()), int((~cb).sum()))
    return MakeupResult(p, out, gaps, summary, siting, audit_after, meta)


def _check_options(opt: MakeupOptions, areas: gpd.GeoDataFrame) -> None:
    """Refuse a run that cannot succeed before any work."""
    if opt.model not in {"lscp", "mclp"}:
        raise ParameterError(f"model={opt.model!r} (--model); the make-up workflow uses 'lscp' or 'mclp'")
    if opt.model == "mclp" and opt.k_new is None:
        raise ParameterError("model 'mclp' needs the number of make-up sites: --k N (k_new= in Python)")
    require_columns(areas, {"households": "to size the make-up floor space (m² per 100 households)"}, label="areas",
                    fix="give the households of every residential area in a 户数 (households) column")  # fmt: skip
    if not (opt.rate_m2_per_100_households > 0):
        raise ParameterError("rate_m2_per_100_households must be positive")


def _column(areas: gpd.GeoDataFrame, col: str) -> np.ndarray:
    """A numeric column of the areas (missing values and a missing column: 0)."""
    if col not in areas:
        return np.zeros(len(areas))
    return pd.to_numeric(areas[col], errors="coerce").fillna(0).to_numpy(float)


def _sized_sites(siting: SitingResult, cand: gpd.GeoDataFrame, areas: gpd.GeoDataFrame, rate: float) -> gpd.GeoDataFrame:
    """The proposed sites with the areas, households and older residents they newly cover
    (each area counted at its nearest proposed site) and the floor space that needs."""
    d = siting.demand
    new = d["newly_covered"].to_numpy(bool)
    site = d["assigned_site"].to_numpy(object)
    p = siting.proposed.copy()
    p["source"] = p["id"].map(cand.set_index("id")["source"]).fillna("")
    counts = (("n_areas_newly_covered", np.ones(len(d))), ("households_newly_covered", _column(areas, "households")),
              ("elderly_newly_covered", _column(areas, "elderly")))  # fmt: skip
    for col, vals in counts:
        p[col] = [float(vals[new & (site == s)].sum()) for s in p["id"]]
    p["n_areas_newly_covered"] = p["n_areas_newly_covered"].astype(int)
    p["floor_area_needed_m2"] = p["households_newly_covered"] * rate / 100.0
    keep = ["rank", "id", "name", "kind", "source", "n_areas_newly_covered", "households_newly_covered",
            "elderly_newly_covered", "floor_area_needed_m2", "marginal_gain", "geometry"]  # fmt: skip
    return gpd.GeoDataFrame(p[keep], geometry="geometry", crs="EPSG:4326")


def _area_table(areas: gpd.GeoDataFrame, before: AuditResult, siting: SitingResult) -> gpd.GeoDataFrame:
    """Per residential area: distance before, covered before/after, the new site that covers it."""
    d = siting.demand
    new = d["newly_covered"].to_numpy(bool)
    a = areas.to_crs("EPSG:4326")
    cols = [c for c in ("id", "name", "households", "elderly", "zone_id") if c in a]
    out = pd.DataFrame(a[cols]).copy()
    out["dist_before_m"] = before.demand["dist_m"].to_numpy()
    out["covered_before"] = d["covered_before"].to_numpy()
    out["covered_after"] = d["covered_after"].to_numpy()
    out["newly_covered"] = new
    out["new_site"] = np.where(new, d["assigned_site"].to_numpy(object), "")
    return gpd.GeoDataFrame(out, geometry=a.geometry.to_numpy(), crs="EPSG:4326")



def _makeup_maps(r: MakeupResult, names: dict[str, Path], *, overwrite: bool, basemap: str, tianditu_key: str | None,
                 lang: str = "both") -> None:  # fmt: skip
    """The interactive map (proposed sites as stars, the model and k in the title) and the
    print map (areas by standard before/after, gap clusters, facilities, proposed sites)."""
    title = f"既有小区补建 Existing-area make-up — {model_title(r.meta.get('model', ''), len(r.proposed))}"
    layers = audit_layers(r.audit_after, proposed=r.proposed, proposed_name="拟建补建站点 Proposed make-up sites")
    layers = dataclasses.replace(layers, meta={**layers.meta, "title": title})
    write_map(names["map"], layers, overwrite=overwrite, basemap=basemap, tianditu_key=tianditu_key, focus=r.areas)
    a, s = r.areas, r.summary.iloc[0]
    n, before, after = int(s.n_areas), int(s.outside_before), int(s.outside_after)
    drawn = [Layer(r.gaps, "覆盖缺口 Gap cluster (uncovered areas)", "#9467bd", fill=True, linestyle="--")] if r.gaps is not None else []
    drawn += [Layer(a[a["covered_before"]], f"原已达标小区 Area already within the standard — {n - before}/{n}", "#1a9850", size=30, edge="white"),
              Layer(a[a["newly_covered"]], f"补建后达标小区 Area newly within the standard — {before - after}/{n}", "#17becf", "o", 45, True,
                    "name"),
              Layer(a[~a["covered_after"]], f"补建后仍未达标 Area still outside — {after}/{n}", "#d73027", "o", 45, True, "name")]  # fmt: skip
    drawn += facility_layers(r.audit_after.facilities, r.proposed, "拟建补建站点 Proposed make-up sites")
    spec = PrintMap(title=title, network=r.audit_after.network, layers=drawn, source=str(r.meta.get("source", "")),
                    date=str(r.meta["date"]), subtitle=rule_subtitle(r.audit_after), extent=a, pad_m=300.0, lang=lang)  # fmt: skip
    print_map(names["png"], spec, overwrite=overwrite)


#: the files :func:`write_makeup_outputs` writes (and ``<report>.pdf`` with ``pdf=True``)
MAKEUP_FILES: dict[str, str] = {
    "gpkg": "makeup.gpkg",
    "proposed": "proposed.csv",
    "areas": "areas.csv",
    "summary": "summary.csv",
    "json": "makeup.json",
    "map": "makeup_map.html",
    "png": "makeup_map.png",
    "report": "makeup_report.html",
    "xlsx": "makeup.xlsx",
}


@writes_output_set("out_dir")
def write_makeup_outputs(
    result: MakeupResult,
    out_dir: str | Path,
    *,
    overwrite: bool = False,
    basemap: str = "none",
    pdf: bool = False,
    tianditu_key: str | None = None,
    options: ReportOptions | None = None,
) -> dict[str, Path]:
    """Write ``makeup.gpkg``, ``proposed.csv``, ``areas.csv``, ``summary.csv``,
    ``makeup.json``, ``makeup_map.html``, ``makeup_map.png``, ``makeup_report.html``
    (page 1: the findings, key figures, map and what to do) and ``makeup.xlsx`` (each
    atomically; all checked before any is written). The map's background is ``basemap``
    (``"none"``: nothing loaded from the internet; ``"osm"``; ``"tianditu"`` with
    ``tianditu_key``); ``options``: the report's title, organisation, author, language
    and planning basis."""

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    names = {k: out / v for k, v in MAKEUP_FILES.items()}
    r = result
    date = str(r.meta["date"])
    write_gpkg(names["gpkg"], {"proposed": r.proposed, "areas": r.areas, "gaps": r.gaps,
                               "service_areas": r.siting.service_areas}, overwrite=overwrite, date=date,
               skip_empty=True, bools_as_text=True)  # fmt: skip
    write_csv(names["proposed"], r.proposed, overwrite=overwrite)
    write_csv(names["areas"], r.areas, overwrite=overwrite)
    write_csv(names["summary"], r.summary, overwrite=overwrite)
    write_json(names["json"], {**r.meta, "summary": r.summary}, overwrite=overwrite)
    opts = options or ReportOptions()
    _makeup_maps(r, names, overwrite=overwrite, basemap=basemap, tianditu_key=tianditu_key, lang=opts.lang)
    lang = opts.lang
    report = makeup_report(r, opts, map_html=names["map"], map_png=names["png"])
    rep = write_report_files(names["report"], names["xlsx"], report, overwrite=overwrite, pdf=pdf,
                             sheets={tr("汇总", "Summary", lang): makeup_key_table(r, lang),
                                     tr("补建站点", "Make-up sites", lang): r.proposed, tr("小区", "Areas", lang): r.areas})  # fmt: skip
    if "report_pdf" in rep:
        names["pdf"] = rep["report_pdf"]
    logger.info("wrote the make-up outputs to %s", out)
    return names


def _standard(r: MakeupResult, lang: str) -> str:
    """The standard the areas are measured against, named by its rule."""
    rule = str(r.meta.get("rule") or "radius")
    cfg = r.audit_after.config
    return cfg.rule_label(rule, lang=lang) if rule in ("radius", "time", "both") else rule


def makeup_lines(result: MakeupResult, *, lang: str = "en") -> list[str]:
    """The console's words: the areas outside the standard before and after, the floor
    space, one line per proposed site (the report's page 1 says the same)."""
    r = result
    s = r.summary.iloc[0]
    model = str(r.meta.get("model", ""))
    out = [tr(f"既有小区补建（{model}）：{int(s.n_areas)} 个小区中 {int(s.outside_before)} 个在{_standard(r, 'zh')}外"
              f" -> 补建 {int(s.n_sites)} 处后 {int(s.outside_after)} 个；共需用房 {s.floor_area_needed_m2:,.1f} m²",
              f"existing-area make-up ({model}): {int(s.outside_before)} of {int(s.n_areas)} areas outside the standard "
              f"-> {int(s.outside_after)} with {int(s.n_sites)} sites; floor space {s.floor_area_needed_m2:,.1f} m² in total "
              f"(standard: {_standard(r, 'en')})", lang)]  # fmt: skip
    for p in r.proposed.itertuples():
        out.append(tr(f"  {p.rank:>3}. {p.id}  {p.name}：{int(p.n_areas_newly_covered)} 个小区，{p.households_newly_covered:,.0f} 户 -> {p.floor_area_needed_m2:,.1f} m²",
                      f"  {p.rank:>3}. {p.id}  {p.name}: {int(p.n_areas_newly_covered)} areas, {p.households_newly_covered:,.0f} households -> {p.floor_area_needed_m2:,.1f} m²", lang))  # fmt: skip
    return out


def makeup_key_table(result: MakeupResult, lang: str = "both") -> pd.DataFrame:
    """Page 1's key figures (and the workbook's summary): before and after the make-up."""
    s = result.summary.iloc[0]
    n = int(s.n_areas)
    rows = [(tr(f"{_standard(result, 'zh')}外的小区", f"Areas outside {_standard(result, 'en')}", lang),
             f"{int(s.outside_before)}/{n}", f"{int(s.outside_after)}/{n}"),
            (tr("其中户数", "Their households", lang), f"{s.households_outside_before:,.0f}", f"{s.households_outside_after:,.0f}"),
            (tr("补建站点", "Make-up sites", lang), "—", f"{int(s.n_sites)}"),
            (tr("所需用房面积", "Floor space needed", lang), "—", f"{s.floor_area_needed_m2:,.1f} m²")]  # fmt: skip
    return pd.DataFrame(rows, columns=[tr("指标", "Figure", lang), tr("现状", "Before", lang), tr("补建后", "After", lang)])


def _makeup_todo(r: MakeupResult, lang: str) -> list[str]:
    """What to do: each site and its floor space, the areas still outside, why the choice looks as it does."""
    rate = float(r.meta["rate_m2_per_100_households"])  # type: ignore[arg-type]
    out = []
    for p in r.proposed.itertuples():
        out.append(tr(f"在 {p.id} {p.name} 以购置、置换、租赁或新建方式配置不少于 {p.floor_area_needed_m2:,.1f} m² 的养老服务用房"
                      f"（新覆盖 {int(p.n_areas_newly_covered)} 个小区、{p.households_newly_covered:,.0f} 户，每百户 {rate:g} m²）。",
                      f"At {p.id} {p.name}: buy, swap, rent or build at least {p.floor_area_needed_m2:,.1f} m² of elderly-care rooms "
                      f"({int(p.n_areas_newly_covered)} areas, {p.households_newly_covered:,.0f} households newly covered; {rate:g} m² per 100 households).", lang))  # fmt: skip
    still = r.areas[~r.areas["covered_after"].astype(bool)]
    if len(still):
        names = "、".join(still["name"].astype(str).head(10))
        out.append(tr(f"补建后仍在标准外的小区：{names}。", f"Areas still outside the standard: {names}.", lang))
    out += [note_text(n, lang) for n in r.siting.notes]
    return out


def makeup_report(result: MakeupResult, options: ReportOptions, *, map_html: Path | None = None, map_png: Path | None = None) -> Report:
    """The make-up report: page 1 (findings, key figures, map, what to do), then the sites,
    the residential areas, the parameters and the rules that apply."""
    r, lang = result, options.lang
    s = r.summary.iloc[0]
    rate = float(r.meta["rate_m2_per_100_households"])  # type: ignore[arg-type]
    paras = [tr(f"{int(s.n_areas)} 个小区中 {int(s.outside_before)} 个（{s.households_outside_before:,.0f} 户）在{_standard(r, 'zh')}外；"
                f"补建 {int(s.n_sites)} 处后仍有 {int(s.outside_after)} 个。按每百户 {rate:g} m² 计，共需养老服务用房 {s.floor_area_needed_m2:,.1f} m²。",
                f"{int(s.outside_before)} of {int(s.n_areas)} residential areas ({s.households_outside_before:,.0f} households) lie outside "
                f"{_standard(r, 'en')}; with {int(s.n_sites)} make-up sites {int(s.outside_after)} remain outside. At {rate:g} m² per 100 "
                f"households newly covered, {s.floor_area_needed_m2:,.1f} m² of elderly-care rooms are needed in all.", lang)]  # fmt: skip
    # the sites are the first bullets of "what to do" (one page: no second table of them here)
    findings = ReportSection(tr("结论", "Findings", lang), paras, [(tr("主要指标", "Key figures", lang), makeup_key_table(r, lang))],
                             bullets=_makeup_todo(r, lang))  # fmt: skip
    a = r.areas.drop(columns="geometry")
    sections = [ReportSection(tr("补建站点", "Make-up sites", lang), [tr("按边际增益排序；用房面积按其新覆盖的小区户数计算。",
                              "Ranked by marginal gain; floor space from the households of the areas each newly covers.", lang)],
                              [(tr("补建站点（全部字段）", "Make-up sites (all fields)", lang), r.proposed.drop(columns="geometry"))]),
                ReportSection(tr("小区", "Residential areas", lang), [], [(tr("小区", "Areas", lang), a)])]  # fmt: skip
    meta = {k: v for k, v in r.meta.items() if k != "solver"}
    basis = report_basis(meta, plan_basis=options.plan_basis, lang=lang, topics=("radius", "time", "floor_existing", "idle_buildings"),
                         applicable_only=True)  # fmt: skip
    extra = [(tr("用房标准", "Floor space rate", lang), tr(f"每百户 {rate:g} m²", f"{rate:g} m² per 100 households", lang),
              tr("本次评估参数", "parameter of this run", lang)),
             (tr("选址模型", "Siting model", lang), str(r.meta.get("model", "")), tr("用户设定（--model）", "set by the user (--model)", lang))]  # fmt: skip
    basis = dataclasses.replace(basis, parameters=[*basis.parameters, *extra])
    return Report("既有小区养老服务设施补建 Existing-area make-up", sections, meta, basis=basis, map_html=map_html, map_png=map_png,
                  findings=findings, options=options)
