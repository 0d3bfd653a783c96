"""Village mutual-aid points (村级互助养老点): one per village, run by a township centre.

Fengjie 2021 §二(四) asks for a mutual-aid point of at least 100 m² in every village,
preferably at the village service centre (便民服务中心) or the village clinic (村卫生室);
§一(三)/§二(五) has each township centre run the points around it ("centre with points",
中心带点); the task table (annex 2) breaks the points down by township. Huichang §(五) sets
85% of villages by 2025, Lu'an item 17 40% by 2023.

How the points are placed (:func:`plan_village_points`):

1. **How many.** With ``n`` villages, ``e`` of them with an existing point and the target
   share ``t``, ``ceil(t × n) - e`` new points are needed (never fewer than 0, never more
   than the villages without a point that have a candidate site).
2. **Where in a village** (:func:`village_candidates`, the preference rule): a village's
   candidates are its village service centres and clinics when it has any; otherwise its
   other public buildings (idle schools, vacant buildings, village committees ...);
   otherwise its largest hamlet (a room to rent or build). Candidates in villages that
   already have a point are dropped.
3. **Which villages** (when the target does not need every village): p-median (default)
   opens exactly the needed number of points, at most one per village
   (``zone_rule="at_most_one"``, existing points count; ``"exactly_one"`` when every
   village without a point needs one), minimising the older residents' total road
   distance to the nearest facility; ``model="mclp"`` instead maximises the older
   residents within the radius (below 100% it opens no point that covers nobody new, so it
   may stop short of the target, which is then reported).
4. **Centre with points**: every point (existing and proposed) is assigned to the township
   centre nearest **by road** (:func:`assign_to_centres`), reporting whether that centre is
   in the point's own township.

The per-township table has the Fengjie task-breakdown shape: township, villages, planned
points, existing points, proposed points, villages with a point, coverage rate.
"""

from __future__ import annotations

import dataclasses
import io
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from ..audit.run import AuditResult, audit_cost_table, options_from, run_audit
from ..audit.summary import pct
from ..config import AuditConfig
from ..engine.costs import CostTable
from ..engine.diagnostics import layer_source, points_xy
from ..engine.network import RoadNetwork
from ..errors import CoordinateError, InputFileError, ParameterError, format_problems
from ..inputs.points import TEXT_COLUMNS
from ..publish._labels import tr
from ..publish.atomic import writes_output_set
from ..publish.audit_package import report_basis
from ..publish.figures import Layer, PrintMap, print_map, proposed_layer, rule_subtitle, zone_layers
from ..publish.maps import audit_layers, write_map
from ..publish.report import Report, ReportOptions, ReportSection, write_report_files
from ..publish.site_map import model_title
from ..publish.tables import write_csv, write_gpkg, write_json
from ..siting.propose import SitingResult, note_text, propose_sites
from ._columns import accepted_names, require_columns, standard_kinds
from ._figures import figure_label, meets_coverage, zone_of, zones_with_facility

__all__ = [
    "PREFERRED_KINDS",
    "PUBLIC_KINDS",
    "VillagePlanOptions",
    "VillageResult",
    "assign_to_centres",
    "plan_village_points",
    "read_plan",
    "village_candidates",
    "village_lines",
    "write_village_outputs",
]

logger = logging.getLogger(__name__)

#: First choice for a mutual-aid point (Fengjie §二(四)): village service centre, clinic.
PREFERRED_KINDS = ("village_service_centre", "clinic", "community_centre", "townhall", "doctors")
#: Second choice: other public buildings (idle public buildings as sites, Huichang §(十七)).
PUBLIC_KINDS = ("idle_school", "vacant_building", "school", "public", "civic", "government",
                "library", "post_office", "kindergarten", "hospital")  # fmt: skip


def _zone_of(points: gpd.GeoDataFrame, villages: gpd.GeoDataFrame) -> pd.Series:
    """Village id of every point: its ``zone_id`` if that is a village, else the polygon it
    lies in (:func:`coverage.workflows._figures.zone_of`, as ``coverage targets`` counts)."""
    return zone_of(points, villages)


def village_candidates(
    candidates: gpd.GeoDataFrame | None,
    *,
    villages: gpd.GeoDataFrame,
    demand: gpd.GeoDataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Apply the preference rule: each village's candidate sites for a mutual-aid point.

    Parameters
    ----------
    candidates
        Candidate sites with ``id, name, kind`` (and ``zone_id``, else found by polygon).
    villages
        Village polygons with ``zone_id``.
    demand
        Homes with ``households``: a village with no candidate gets its largest hamlet.

    Returns
    -------
    geopandas.GeoDataFrame
        ``id, name, kind, zone_id, preference`` (0 service centre/clinic, 1 other public
        building, 2 other listed site, 3 largest hamlet), only the best tier per village.
    """
    parts = []
    if candidates is not None and len(candidates):
        c = candidates.to_crs("EPSG:4326").copy()
        c["id"] = c["id"].astype(str)
        c["name"] = c["name"].astype(str) if "name" in c else c["id"]
        c["kind"] = c["kind"].astype(str) if "kind" in c else "site"
        c["zone_id"] = _zone_of(c, villages).to_numpy()
        kind = standard_kinds(c["kind"])  # 卫生室 is a clinic
        c["preference"] = np.where(kind.isin(PREFERRED_KINDS), 0, np.where(kind.isin(PUBLIC_KINDS), 1, 2))
        c["source_row"] = pd.to_numeric(c["source_row"], errors="coerce") if "source_row" in c else np.nan  # rows in messages
        parts.append(c[c["zone_id"] != ""][["id", "name", "kind", "zone_id", "preference", "source_row", "geometry"]])
    have = set(parts[0]["zone_id"]) if parts else set()
    missing = [z for z in villages["zone_id"].astype(str) if z not in have]
    if missing and demand is not None and len(demand):
        d = demand.to_crs("EPSG:4326").copy()
        d["zone_id"] = _zone_of(d, villages).to_numpy()
        hh = pd.to_numeric(d["households"], errors="coerce").fillna(0) if "households" in d else pd.Series(0.0, index=d.index)
        d = d.assign(_hh=hh.to_numpy())[d["zone_id"].isin(missing)].sort_values("_hh", ascending=False)
        top = d.drop_duplicates("zone_id")
        parts.append(gpd.GeoDataFrame({
            "id": "hamlet-" + top["id"].astype(str), "name": top["name"].astype(str) + "(租用/新建 rent or build)",
            "kind": "largest_hamlet", "zone_id": top["zone_id"], "preference": 3,
        }, geometry=top.geometry.to_numpy(), crs="EPSG:4326"))  # fmt: skip
    if not parts:
        return gpd.GeoDataFrame({"id": [], "name": [], "kind": [], "zone_id": [], "preference": []}, geometry=[], crs="EPSG:4326")
    allc = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs="EPSG:4326")
    best = allc.groupby("zone_id")["preference"].transform("min")
    out = allc[allc["preference"] == best].reset_index(drop=True)
    has_cand = candidates is not None and len(candidates) > 0
    named = [layer_source(candidates, "candidates")] if has_cand else []
    named += [f"the largest hamlets of {layer_source(demand, 'demand')}"] if len(parts) > int(has_cand) else []
    out.attrs["source"] = " and ".join(named)  # messages name the files
    return out


def assign_to_centres(
    network: RoadNetwork,
    *,
    points: gpd.GeoDataFrame,
    centres: gpd.GeoDataFrame,
    cutoff_m: float = 50_000.0,
    own_township: bool = False,
    config: AuditConfig | None = None,
) -> pd.DataFrame:
    """Assign each point to the township centre nearest by road ("centre with points").

    Parameters
    ----------
    network
        The road network.
    points
        Mutual-aid points with ``id``.
    centres
        Township centres with ``id``, ``name`` and optionally ``township``.
    cutoff_m
        Road distance searched (a point farther from every centre gets no centre).
    own_township
        Assign to the nearest centre of the point's own ``township`` (points column)
        when that township has a centre reachable within the cutoff; else the nearest.
    config
        Snap tolerance and access-walk rule.

    Returns
    -------
    pandas.DataFrame
        ``point_id, centre_id, centre_name, centre_township, road_m, straight_m`` (road
        and straight-line distance to the assigned centre; ``inf``/empty without one).
    """
    if len(centres) == 0:
        raise ParameterError("no township centres to assign the points to")
    cfg = config or AuditConfig()
    cid = centres["id"].astype(str).to_numpy()
    cname = centres["name"].astype(str).to_numpy() if "name" in centres else cid
    ctown = centres["township"].astype(str).to_numpy() if "township" in centres else np.full(len(cid), "")
    if len(points) == 0:
        return pd.DataFrame(columns=["point_id", "centre_id", "centre_name", "centre_township", "road_m", "straight_m"])
    table = audit_cost_table(network, points, centres, cutoff_m=cutoff_m, config=cfg, labels=("mutual-aid points", "township centres"))
    site, dist = table.nearest()
    if own_township and "township" in points:
        ptown = points["township"].astype(str).to_numpy()
        same = ctown[table.site_idx] == ptown[table.demand_idx]
        own = CostTable(table.demand_idx[same], table.site_idx[same], table.dist_m[same], table.n_demand,
                        table.n_sites, table.cutoff_m, table.demand_ids, table.site_ids, table.speed_mps)  # fmt: skip
        osite, odist = own.nearest()
        site = np.where(osite >= 0, osite, site)
        dist = np.where(osite >= 0, odist, dist)
    pxy = points_xy(points, network.crs)
    cxy = points_xy(centres, network.crs)
    has = site >= 0
    s = np.maximum(site, 0)
    straight = np.where(has, np.hypot(*(pxy - cxy[s]).T), np.inf)
    return pd.DataFrame({
        "point_id": points["id"].astype(str).to_numpy(), "centre_id": np.where(has, cid[s], ""),
        "centre_name": np.where(has, cname[s], ""), "centre_township": np.where(has, ctown[s], ""),
        "road_m": dist, "straight_m": straight,
    })  # fmt: skip


@dataclass(frozen=True, eq=False)
class VillageResult:
    """Mutual-aid points per village and township (EPSG:4326).

    Attributes
    ----------
    points
        Existing and proposed points: ``id, name, kind, status, zone_id, village,
        township, floor_area_m2, floor_ok, centre_id, centre_name, centre_township,
        centre_road_m, centre_straight_m, same_township``.
    villages
        Per village: ``zone_id, village, township, n_homes, households, elderly,
        point_id, point_status, n_covered_before, n_covered_after, share_covered_after,
        wshare_covered_after``.
    townships
        Fengjie task breakdown: ``township, n_villages, planned_points,
        existing_points, proposed_points, villages_with_point, coverage_rate, target,
        meets_target, homes_covered_share`` (+ a total row).
    summary
        One row: villages, with a point before/after, needed, proposed, rates, target.
    siting
        The :class:`~coverage.siting.propose.SitingResult` (``None`` when no point was needed).
    audit_after
        Coverage audit of the village homes with the proposed points open.
    meta
        Parameters and the preference rule.
    """

    points: gpd.GeoDataFrame
    villages: pd.DataFrame
    townships: pd.DataFrame
    summary: pd.DataFrame
    siting: SitingResult | None
    audit_after: AuditResult
    meta: dict[str, object]


_PLANNED = ("planned", "计划", "任务")  # planned_points, planned_2025, 计划点数, 2025年任务数 ...


def read_plan(path: str | Path) -> pd.DataFrame:
    """Read a task table (CSV in UTF-8 or GBK, or ``.xlsx``): ``township`` (乡镇) and
    ``planned_points`` or ``planned_<year>`` (计划点数, 2025年计划 ...) columns.

    Raises :class:`~coverage.errors.InputFileError` naming the file when it is missing,
    empty, unreadable or lacks those columns.
    """
    p = Path(path)
    fix = "give a CSV or .xlsx task table with a township (乡镇) column and planned_points (计划点数) columns"
    if not p.is_file():
        raise InputFileError(format_problems(str(p), ["file not found" if not p.exists() else "not a file"], fix))
    suffix = p.suffix.lower()
    try:
        if suffix in {".xlsx", ".xlsm"}:
            table = pd.read_excel(p)
        elif suffix in {".csv", ".txt", ".tsv"}:
            raw = p.read_bytes()
            try:
                text = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                text = raw.decode("gb18030")
            table = pd.read_csv(io.StringIO(text), sep="\t" if suffix == ".tsv" else ",")
        else:
            raise InputFileError(format_problems(str(p), [f"unsupported file type {p.suffix!r}"], fix))
    except InputFileError:
        raise
    except Exception as exc:  # pandas (empty, ragged), decoding, zipfile/openpyxl (broken workbook)
        why = f"cannot read the task table ({type(exc).__name__}: {_first_line(exc)})"
        raise InputFileError(format_problems(str(p), [why], fix)) from exc
    table.attrs["source"] = str(p)
    _plan_counts(table)  # checks the columns
    return table


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [""])[0][:200]


def _villages_text(villages: gpd.GeoDataFrame) -> str:
    b = villages.to_crs("EPSG:4326").total_bounds
    return f"{len(villages)} villages, lon {b[0]:.4f} to {b[2]:.4f}, lat {b[1]:.4f} to {b[3]:.4f}"


def _plan_counts(plan: pd.DataFrame | str | Path | None) -> pd.Series | None:
    if plan is None:
        return None
    if not isinstance(plan, pd.DataFrame):
        plan = read_plan(plan)
    src = str(plan.attrs.get("source") or "plan")
    fix = "give a township (乡镇) column and planned_points (计划点数) or planned_<year> columns, one row per township"
    town = "township" if "township" in plan else _find_column(plan, TEXT_COLUMNS["township"])
    cols = ["planned_points"] if "planned_points" in plan else [c for c in plan.columns if any(w in str(c).lower() for w in _PLANNED)]
    problems = []
    if town is None:
        problems.append(f"no column {accepted_names('township')} naming the township of each row")
    if not cols:
        problems.append("no planned_points (计划点数) or planned_<year> column with the points planned")
    if problems:
        raise InputFileError(format_problems(src, problems, f"{fix} (the table's columns are {[str(c) for c in plan.columns]})"))
    counts = plan[cols].apply(pd.to_numeric, errors="coerce")
    bad = counts.isna() & plan[cols].notna() | (counts < 0)
    if bad.to_numpy().any():
        rows = [int(i) + 2 for i in np.flatnonzero(bad.to_numpy().any(axis=1))][:8]
        raise InputFileError(format_problems(src, [f"rows {rows}: planned points are not numbers >= 0"], "write plain counts such as 3"))
    return counts.sum(axis=1).set_axis(plan[town].astype(str).str.strip())


def _find_column(frame: pd.DataFrame, aliases: list[str]) -> object:
    from ..inputs.points import _norm

    for alias in aliases:
        for col in frame.columns:
            if _norm(col) == alias:
                return col
    return None


@dataclass(frozen=True)
class VillagePlanOptions:
    """The target and how the points are placed (:func:`plan_village_points`).

    Attributes
    ----------
    target
        Share of villages that must have a point (0.85, 0.40, 1.0 ...).
    plan
        Task table: ``township`` and ``planned_points`` or ``planned_<year>`` columns
        (乡镇, 计划点数 ... too), or the path of one (:func:`read_plan`).
    model
        ``"pmedian"`` (exactly the needed points) or ``"mclp"``.
    point_kinds
        Facility kinds that are mutual-aid points.
    village_kind
        Value of ``zones.kind`` marking villages.
    min_floor_area_m2
        Minimum floor space of a point (Fengjie: 100 m²).
    pmedian_cutoff_m
        Distance table cutoff for p-median (farther counts as this far).
    centre_cutoff_m
        Road distance searched for township centres.
    centre_rule
        ``"nearest"`` (the centre nearest by road) or ``"own_township"`` (the nearest
        centre of the point's own township, when it has one).
    coverage_target
        The per-village coverage target reported as "villages meeting the coverage target
        (share of homes within the radius)", before and after: the same test ``coverage
        targets`` applies to villages (default 85%). Not what places the points (that is
        ``target``, the share of villages with a point).
    method, time_limit_s, seed
        Solver options.
    run_date
        ISO date recorded in outputs.
    """

    target: float = 0.85
    plan: pd.DataFrame | str | Path | None = None
    model: str = "pmedian"
    point_kinds: tuple[str, ...] = ("village_point",)
    village_kind: str = "village"
    min_floor_area_m2: float = 100.0
    pmedian_cutoff_m: float = 10_000.0
    centre_cutoff_m: float = 50_000.0
    centre_rule: str = "nearest"
    coverage_target: float = 0.85
    method: str = "auto"
    time_limit_s: float = 60.0
    seed: int = 0
    run_date: str | None = None


def plan_village_points(
    network: RoadNetwork,
    *,
    facilities: gpd.GeoDataFrame,
    demand: gpd.GeoDataFrame,
    zones: gpd.GeoDataFrame,
    candidates: gpd.GeoDataFrame | None,
    centres: gpd.GeoDataFrame,
    options: VillagePlanOptions | None = None,
    config: AuditConfig | None = None,
    **keywords: Any,
) -> VillageResult:
    """Place village mutual-aid points to reach a village coverage target.

    Parameters
    ----------
    network
        The road network.
    facilities
        Existing facilities (all kept open); those whose ``kind`` is in
        ``options.point_kinds`` are the existing mutual-aid points.
    demand
        Homes and hamlets (``households``, ``elderly``); only those in villages count.
    zones
        Zone polygons with ``zone_id, zone_name``, ``kind`` (villages are
        ``options.village_kind``; without ``kind`` every zone is a village) and ``township``.
    candidates
        Candidate sites (``id, name, kind``); see :func:`village_candidates`.
    centres
        Township centres (``id, name, township``).
    options, **keywords
        Target, task table, model, centre rule, solver options and date: a :class:`VillagePlanOptions`, or its fields as keywords (which
        override it).
    config
        Radius, minutes, walking speed.

    Returns
    -------
    VillageResult

    Examples
    --------
    >>> from coverage.datasets.scenarios import village_scenario
    >>> s = village_scenario()
    >>> mc = s.county
    >>> opt = VillagePlanOptions(target=0.85, plan=s.plan, run_date="2026-01-01")
    >>> r = plan_village_points(mc.network, facilities=s.facilities, demand=mc.demand, zones=mc.zones,
    ...                         candidates=mc.candidates, centres=s.centres, options=opt)
    >>> int(r.summary.loc[0, "villages_with_point_after"]), int(r.summary.loc[0, "proposed"])
    (11, 9)
    """
    opt: VillagePlanOptions = options_from(VillagePlanOptions, options, keywords, "plan_village_points")
    cfg = config or AuditConfig()
    planned = _check_options(opt, facilities)
    villages = _villages(zones, opt.village_kind)
    dem = _village_homes(demand, villages, zones)
    fac, existing = _existing_points(facilities, villages, opt.point_kinds)
    # the villages with a point, counted as `coverage targets` counts them (the same zones as `existing`'s)
    shared = zones_with_facility(facilities, villages, kinds=opt.point_kinds)
    with_before = set(shared.index[shared > 0])
    cand = village_candidates(candidates, villages=villages, demand=dem)
    cand = cand[~cand["zone_id"].isin(with_before)].reset_index(drop=True)
    n_v = len(villages)
    needed = max(0, math.ceil(opt.target * n_v - 1e-9) - len(with_before))
    avail = cand["zone_id"].nunique()
    notes = []
    if needed > avail:
        notes.append(f"目标需新增 {needed} 个点，但尚无点的村中只有 {avail} 个有可选场地\n"
                     f"the target needs {needed} new points but only {avail} villages without a point have a site")
        logger.warning(note_text(notes[-1]))
        needed = avail
    siting, rule, proposed = _propose(network, fac, dem, cand, needed, avail, opt, cfg)
    if len(proposed) < needed:
        notes.append(f"{opt.model} 在所需 {needed} 个点中只选出 {len(proposed)} 个（其余不能新增覆盖任何人）\n"
                     f"{opt.model} opened {len(proposed)} of the {needed} points needed (the others would cover nobody new)")
    pts = _points_table(existing, proposed, villages, opt.min_floor_area_m2)
    _assign_centres(network, pts, centres, opt, cfg)
    # coverage of the village homes after
    fac_after = gpd.GeoDataFrame(pd.concat([fac, gpd.GeoDataFrame(proposed)], ignore_index=True), geometry="geometry", crs="EPSG:4326")
    audit_after = run_audit(network, fac_after, dem, zones=villages, config=cfg, run_date=opt.run_date,
                            title="村级互助养老点 Village mutual-aid points (proposed open)")  # fmt: skip
    audit_before = run_audit(network, fac, dem, config=cfg, with_service_areas=False, run_date=opt.run_date)
    vt = _village_table(villages, pts, audit_after, audit_before)
    tt = _township_table(vt, pts, with_before, planned, opt.target)
    tot = tt.iloc[-1]  # the total row
    summary = _summary(vt, pts, tot, facilities, villages, needed, opt)
    meta = {**{k: v for k, v in audit_after.meta.items() if k not in ("n_demand", "n_facilities", "target", "target_rule")},
            "target": opt.target, "target_rule": "share of villages with a point 有互助点的村占比", "model": opt.model,
            "zone_rule": rule, "centre_rule": opt.centre_rule, "min_floor_area_m2": opt.min_floor_area_m2,
            "point_kinds": list(opt.point_kinds),
            "preference_rule": "service centre/clinic > other public building > other site > largest hamlet",
            "notes": notes, "solver": siting.selection.summary() if siting is not None else None}  # fmt: skip
    logger.info("village points: %d existing + %d proposed; %d/%d villages (target %.0f%%)", len(existing),
                int((pts["status"] == "proposed").sum()), tot["villages_with_point"], n_v, 100 * opt.target)  # fmt: skip
    return VillageResult(pts, vt, tt, summary, siting, audit_after, meta)


def _summary(vt: pd.DataFrame, pts: gpd.GeoDataFrame, tot: pd.Series, facilities: gpd.GeoDataFrame, villages: gpd.GeoDataFrame,
             needed: int, opt: VillagePlanOptions) -> pd.DataFrame:  # fmt: skip
    """One row: villages with a point before and after, the target, and the figures shared with
    ``coverage targets`` (villages with any facility, villages meeting the coverage target),
    each from its one function (:mod:`coverage.workflows._figures`)."""
    any_fac = zones_with_facility(facilities, villages)
    vt["meets_coverage_before"] = meets_coverage(vt["n_covered_before"], vt["n_homes"], opt.coverage_target)
    vt["meets_coverage_after"] = meets_coverage(vt["n_covered_after"], vt["n_homes"], opt.coverage_target)
    return pd.DataFrame([{
        "n_villages": len(vt), "villages_with_point_before": int(vt["zone_id"].isin(set(pts.loc[pts["status"] == "existing", "zone_id"])).sum()),
        "needed": needed, "proposed": int((pts["status"] == "proposed").sum()), "villages_with_point_after": int(tot["villages_with_point"]),
        "coverage_rate_before": tot["coverage_rate_before"], "coverage_rate_after": tot["coverage_rate"],
        "target": opt.target, "meets_target": bool(tot["coverage_rate"] >= opt.target - 1e-12),
        "villages_with_facility_before": int((any_fac > 0).sum()), "coverage_target": opt.coverage_target,
        "villages_meeting_coverage_before": int(vt["meets_coverage_before"].sum()),
        "villages_meeting_coverage_after": int(vt["meets_coverage_after"].sum()),
        "homes_covered_share_after": tot["homes_covered_share"],
        "points_with_other_township_centre": int((~pts["same_township"]).sum()),
    }])  # fmt: skip


def village_lines(result: VillageResult, *, lang: str = "en") -> list[str]:
    """The console's words: villages with a mutual-aid point before and after against the
    target, then the figures ``coverage targets`` also prints, under the same names
    (:func:`~coverage.workflows._figures.figure_label`), then one line per township."""
    s = result.summary.iloc[0]
    cfg = result.audit_after.config
    n = int(s.n_villages)
    met = tr("已达到", "met", lang) if s.meets_target else tr("未达到", "NOT met", lang)
    out = [tr(f"村级互助养老点：{figure_label('with_point', lang='zh')}: {int(s.villages_with_point_before)}/{n} -> "
              f"{figure_label('with_point_after', lang='zh')}: {int(s.villages_with_point_after)}/{n}（{pct(s.coverage_rate_after, 0)}）；"
              f"目标 {pct(s.target, 0)}（有互助点的村占比）：{met}；拟建 {int(s.proposed)} 处",
              f"village mutual-aid points: {figure_label('with_point', lang='en')}: {int(s.villages_with_point_before)}/{n} -> "
              f"{figure_label('with_point_after', lang='en')}: {int(s.villages_with_point_after)}/{n} ({pct(s.coverage_rate_after, 0)}); "
              f"target {pct(s.target, 0)} of villages with a point: {met}; {int(s.proposed)} proposed", lang)]  # fmt: skip
    meeting = figure_label("meeting", config=cfg, target=float(s.coverage_target), lang=lang)
    out.append(f"  {meeting}: {int(s.villages_meeting_coverage_before)}/{n} " + tr("现状", "before", lang)
               + f" -> {int(s.villages_meeting_coverage_after)}/{n} " + tr("新增后", "after", lang))  # fmt: skip
    out.append(f"  {figure_label('with_facility', lang=lang)}: {int(s.villages_with_facility_before)}/{n}")
    for r in result.townships.itertuples():
        planned = "" if pd.isna(r.planned_points) else tr(f"，计划 {r.planned_points:g}", f", planned {r.planned_points:g}", lang)
        out.append("  " + tr(f"{r.township}：{r.n_villages} 个村{planned}，现有 {r.existing_points}，拟建 {r.proposed_points}，有互助点的村 {pct(r.coverage_rate, 0)}",
                             f"{r.township}: {r.n_villages} villages{planned}, existing {r.existing_points}, proposed {r.proposed_points}, "
                             f"villages with a point {pct(r.coverage_rate, 0)}", lang))  # fmt: skip
    return out


def _check_options(opt: VillagePlanOptions, facilities: gpd.GeoDataFrame) -> pd.Series | None:
    """Refuse a run that cannot succeed before any work; the planned points per township."""
    if not (0 <= opt.target <= 1):
        raise ParameterError(f"target={opt.target} (--target) must be a share between 0 and 1 (e.g. 0.85)")
    planned = _plan_counts(opt.plan)  # a bad task table fails before any work
    if opt.model not in {"pmedian", "mclp"}:
        raise ParameterError(f"model={opt.model!r}; use 'pmedian' or 'mclp'")
    if opt.centre_rule not in {"nearest", "own_township"}:
        raise ParameterError(f"centre_rule={opt.centre_rule!r} (--centre-rule); use 'nearest' or 'own_township'")
    kinds = opt.point_kinds
    require_columns(
        facilities,
        {"kind": f"to tell the existing mutual-aid points ({', '.join(kinds)}) from other facilities"},
        label="facilities",
        fix=f"add a 类型 (kind) column with {kinds[0]} (or 互助养老点) for the existing points; "
        "if there are none, write another kind (e.g. nursing_home) in every row",
    )
    return planned


def _villages(zones: gpd.GeoDataFrame, village_kind: str) -> gpd.GeoDataFrame:
    """The village zones (all zones without a ``kind``) with ``zone_id, zone_name, township``."""
    z = zones.to_crs("EPSG:4326")
    villages = z[standard_kinds(z["kind"]) == village_kind] if "kind" in z else z
    if len(villages) == 0:
        found = sorted(set(z["kind"].astype(str)))[:10]
        raise ParameterError(
            f"{layer_source(zones, 'zones')}: no villages: no zone has kind {village_kind!r} (村) among "
            f"{len(z)} zones (kinds {found}). Fix: mark the villages' kind as {village_kind} (or 村), "
            "or drop the kind column to treat every zone as a village"
        )
    villages = villages.reset_index(drop=True).copy()
    villages["zone_id"] = villages["zone_id"].astype(str)
    if "zone_name" not in villages:
        villages["zone_name"] = villages["zone_id"]
    villages["township"] = villages["township"].astype(str) if "township" in villages else "(all)"
    return villages


def _village_homes(demand: gpd.GeoDataFrame, villages: gpd.GeoDataFrame, zones: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The homes that lie in a village, with its ``zone_id`` (none at all is an error)."""
    dem = demand.to_crs("EPSG:4326").copy()
    dem["zone_id"] = _zone_of(dem, villages).to_numpy()
    dem = dem[dem["zone_id"] != ""].reset_index(drop=True)
    if len(dem) == 0:
        raise CoordinateError(
            f"{layer_source(demand, 'demand')}: none of the {len(demand)} demand points lies in a village of "
            f"{layer_source(zones, 'zones')} ({_villages_text(villages)}). Fix: give the homes of these villages, or "
            "check both files' coordinates and coordinate systems (--coord-system)"
        )
    return dem


def _existing_points(facilities: gpd.GeoDataFrame, villages: gpd.GeoDataFrame,
                     point_kinds: tuple[str, ...]) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:  # fmt: skip
    """All facilities (the first point of a village carries its ``zone_id`` for the zone rule)
    and the existing mutual-aid points in villages."""
    fac = facilities.to_crs("EPSG:4326").copy()
    fac["id"] = fac["id"].astype(str)
    is_point = standard_kinds(fac["kind"]).isin(point_kinds)
    fzone = _zone_of(fac, villages).where(is_point, "")
    fac["zone_id"] = fzone.where(~fzone.duplicated() | (fzone == ""), "").to_numpy()  # one per village in the rule
    existing = fac[is_point & (fzone != "")].copy()
    existing["zone_id"] = fzone[existing.index].to_numpy()
    return fac, existing


def _propose(network: RoadNetwork, fac: gpd.GeoDataFrame, dem: gpd.GeoDataFrame, cand: gpd.GeoDataFrame, needed: int,
             avail: int, opt: VillagePlanOptions, cfg: AuditConfig) -> tuple[SitingResult | None, str | None, gpd.GeoDataFrame]:  # fmt: skip
    """The siting run, its zone rule and the proposed points (none when none is needed)."""
    if needed <= 0:
        return None, None, gpd.GeoDataFrame({"id": [], "name": [], "kind": [], "zone_id": []}, geometry=[], crs="EPSG:4326")
    # every village without a point gets one: exactly one per village; else at most one
    rule = "exactly_one" if needed == avail else "at_most_one"
    siting = propose_sites(network, fac, dem, cand, model=opt.model, k_new=needed, config=cfg, zone_rule=rule,
                           pmedian_cutoff_m=opt.pmedian_cutoff_m, unreachable_penalty_m=opt.pmedian_cutoff_m,
                           method=opt.method, time_limit_s=opt.time_limit_s, seed=opt.seed)  # fmt: skip
    return siting, rule, siting.proposed[["id", "name", "kind", "zone_id", "geometry"]]


def _points_table(existing: gpd.GeoDataFrame, proposed: gpd.GeoDataFrame, villages: gpd.GeoDataFrame,
                  min_floor_area_m2: float) -> gpd.GeoDataFrame:  # fmt: skip
    """Existing and proposed points with their village, township and floor space."""
    pts = pd.concat([existing[["id", "name", "kind", "zone_id", "geometry"]].assign(status="existing"),
                     pd.DataFrame(proposed).assign(status="proposed")], ignore_index=True)  # fmt: skip
    pts = gpd.GeoDataFrame(pts, geometry="geometry", crs="EPSG:4326")
    v = villages.set_index("zone_id")
    pts["village"] = pts["zone_id"].map(v["zone_name"])
    pts["township"] = pts["zone_id"].map(v["township"])
    area = existing.set_index("id")["floor_area_m2"] if "floor_area_m2" in existing else pd.Series(dtype=float)
    pts["floor_area_m2"] = pd.to_numeric(pts["id"].map(area), errors="coerce")
    pts["floor_ok"] = np.where(pts["status"] == "proposed", None, pts["floor_area_m2"] >= min_floor_area_m2 - 1e-9)
    pts["floor_needed_m2"] = np.where(pts["status"] == "proposed", min_floor_area_m2, np.nan)
    return pts


def _assign_centres(network: RoadNetwork, pts: gpd.GeoDataFrame, centres: gpd.GeoDataFrame, opt: VillagePlanOptions,
                    cfg: AuditConfig) -> None:  # fmt: skip
    """Add each point's township centre (``centre_*`` columns, ``same_township``) to ``pts``."""
    a = assign_to_centres(network, points=pts, centres=centres, cutoff_m=opt.centre_cutoff_m,
                          own_township=opt.centre_rule == "own_township", config=cfg)  # fmt: skip
    for src, dst in (("centre_id", "centre_id"), ("centre_name", "centre_name"), ("centre_township", "centre_township"),
                     ("road_m", "centre_road_m"), ("straight_m", "centre_straight_m")):  # fmt: skip
        pts[dst] = a[src].to_numpy() if len(a) else []
    pts["same_township"] = pts["centre_township"] == pts["township"]


def _village_table(villages: gpd.GeoDataFrame, pts: gpd.GeoDataFrame, audit_after: AuditResult,
                   audit_before: AuditResult) -> pd.DataFrame:  # fmt: skip
    """Per village: homes, households, older residents, its point, homes covered before/after."""
    dd = audit_after.demand.assign(cb=audit_before.demand["covered_radius"].to_numpy())
    g = dd.groupby("zone_id")
    first_pt = pts.drop_duplicates("zone_id").set_index("zone_id")
    vt = pd.DataFrame({"zone_id": villages["zone_id"], "village": villages["zone_name"], "township": villages["township"]})
    vt["n_homes"] = vt["zone_id"].map(g.size()).fillna(0).astype(int)
    for col in ("households", "elderly"):
        vt[col] = vt["zone_id"].map(g[col].sum()) if col in dd else np.nan
    vt["point_id"] = vt["zone_id"].map(first_pt["id"]).fillna("")
    vt["point_status"] = vt["zone_id"].map(first_pt["status"]).fillna("none")
    vt["n_covered_before"] = vt["zone_id"].map(g["cb"].sum()).fillna(0).astype(int)
    vt["n_covered_after"] = vt["zone_id"].map(g["covered_radius"].sum()).fillna(0).astype(int)
    vt["share_covered_after"] = vt["n_covered_after"] / vt["n_homes"].where(vt["n_homes"] > 0)
    wc = dd.assign(_w=dd["weight"] * dd["covered_radius"]).groupby("zone_id")["_w"].sum()
    vt["wshare_covered_after"] = vt["zone_id"].map(wc) / vt["zone_id"].map(g["weight"].sum())
    return vt


def _township_table(vt: pd.DataFrame, pts: gpd.GeoDataFrame, with_before: set[str], planned: pd.Series | None,
                    target: float) -> pd.DataFrame:  # fmt: skip
    """The Fengjie task breakdown: one row per township and a total row."""
    rows = []
    for town, grp in vt.groupby("township", sort=True):
        nv = len(grp)
        with_after = int((grp["point_status"] != "none").sum())
        in_town = pts["township"].eq(town)
        rows.append({
            "township": town, "n_villages": nv,
            "planned_points": float(planned.get(town, np.nan)) if planned is not None else np.nan,
            "existing_points": int((in_town & pts["status"].eq("existing")).sum()),
            "proposed_points": int((in_town & pts["status"].eq("proposed")).sum()),
            "villages_with_point": with_after, "coverage_rate_before": float(grp["zone_id"].isin(with_before).mean()),
            "coverage_rate": with_after / nv,
            "homes_covered_share": grp["n_covered_after"].sum() / max(1, grp["n_homes"].sum()),
            "centres": ", ".join(sorted(set(pts.loc[in_town, "centre_id"]) - {""})),
        })  # fmt: skip
    tt = pd.DataFrame(rows)
    n_v = len(vt)
    tot = {"township": "合计 total", "n_villages": int(tt["n_villages"].sum()),
           "planned_points": tt["planned_points"].sum(min_count=1), "existing_points": int(tt["existing_points"].sum()),
           "proposed_points": int(tt["proposed_points"].sum()), "villages_with_point": int(tt["villages_with_point"].sum()),
           "coverage_rate_before": len(with_before) / n_v, "centres": ""}  # fmt: skip
    tot["coverage_rate"] = tot["villages_with_point"] / n_v
    tot["homes_covered_share"] = vt["n_covered_after"].sum() / max(1, vt["n_homes"].sum())
    tt = pd.concat([tt, pd.DataFrame([tot])], ignore_index=True)
    tt.insert(tt.columns.get_loc("coverage_rate") + 1, "target", target)
    tt.insert(tt.columns.get_loc("target") + 1, "meets_target", tt["coverage_rate"] >= target - 1e-12)
    return tt



def _village_maps(r: VillageResult, links: gpd.GeoDataFrame, names: dict[str, Path], *, overwrite: bool, basemap: str,
                  tianditu_key: str | None, lang: str = "both") -> None:  # fmt: skip
    """The interactive map (proposed points as stars, the model and k in the title) and the
    print map (villages named, homes by the radius rule, points, centres and their links)."""
    au, p = r.audit_after, r.points
    new = p[p["status"] == "proposed"]
    title = f"村级互助养老点 Village mutual-aid points — {model_title(r.meta.get('model', ''), len(new))}"
    layers = audit_layers(au, proposed=new, proposed_name="拟建互助养老点 Proposed mutual-aid points")
    write_map(names["map"], dataclasses.replace(layers, meta={**layers.meta, "title": title}), overwrite=overwrite,
              basemap=basemap, tianditu_key=tianditu_key)  # fmt: skip
    fac_id = au.facilities["id"].astype(str)
    cen = au.facilities[fac_id.isin(p["centre_id"])]
    other = au.facilities[~fac_id.isin(p["centre_id"]) & ~fac_id.isin(p["id"].astype(str))]
    radius = au.coverage.figure("radius")
    within = au.demand["covered_radius"].astype(bool)
    drawn = [*zone_layers(au.zones, "行政村、社区 Villages and communities"),
             Layer(links, "中心带点 Township centre with its points (road distance in the tables)", "#8c564b", size=9, linestyle="--"),
             Layer(au.demand[within], f"{radius.label_zh}的户 Homes within {radius.label_en} — {radius.count}/{radius.total}", "#1a9850",
                   size=14, edge="white"),
             Layer(au.demand[~within], f"其余的户 Other homes — {radius.total - radius.count}/{radius.total}", "#d73027", size=14, edge="white"),
             Layer(other, "其他养老设施 Other facilities", "#1f3b99", "o", 30, True, edge="white"),
             Layer(p[p["status"] == "existing"], "现有互助养老点 Existing mutual-aid points", "#1f77b4", "s", 70, True, "id"),
             proposed_layer(new, "拟建互助养老点 Proposed mutual-aid points", labels="id"),
             Layer(cen, "乡镇（街道）养老服务中心 Township centre", "#8c564b", "D", 90, True, "name")]  # fmt: skip
    spec = PrintMap(title=title, network=au.network, layers=drawn, source=str(au.meta.get("source", "")),
                    date=str(r.meta["date"]), subtitle=rule_subtitle(au), pad_m=150.0, lang=lang)  # fmt: skip
    print_map(names["png"], spec, overwrite=overwrite)


def _village_findings(r: VillageResult, lang: str) -> ReportSection:
    """Page 1: the console's figures, the task table, what to do (villages still short)."""
    zh = village_lines(r, lang="zh")
    head = zh[:1] if lang == "zh" else [zh[0], village_lines(r, lang="en")[0]]
    rest = [x.strip() for x in village_lines(r, lang="zh" if lang == "zh" else "both")[1:3]]
    v = r.villages
    short = v[~v["meets_coverage_after"].astype(bool)].sort_values(["n_homes", "zone_id"], ascending=[False, True])
    s = r.summary.iloc[0]
    cfg = r.audit_after.config
    rz, re_ = cfg.rule_label("radius", lang="zh"), cfg.rule_label("radius", lang="en")
    bullets = [tr(f"{row.village}（{row.township}）：新增后 {int(row.n_homes)} 户中 {int(row.n_covered_after)} 户在{rz}，未达 {pct(s.coverage_target, 0)}",
                  f"{row.village} ({row.township}): {int(row.n_covered_after)} of {int(row.n_homes)} homes within {re_} after the proposal, "
                  f"below {pct(s.coverage_target, 0)}", lang) for row in short.head(5).itertuples()]  # fmt: skip
    bullets += [note_text(str(n), lang) for n in r.meta.get("notes") or []]
    return ReportSection(tr("结论", "Findings", lang), [*head, *rest],
                         [(tr("乡镇任务分解", "Task breakdown by township", lang), r.townships)], bullets=bullets)  # fmt: skip


def _village_sections(r: VillageResult, lang: str) -> list[ReportSection]:
    p = r.points
    text = [tr(f"选点顺序：村便民服务中心/卫生室 > 其他公共建筑 > 其他候选点 > 最大自然村。每处最小面积 {r.meta['min_floor_area_m2']:g} m²。",
               f"Preference rule: {r.meta['preference_rule']}. Minimum floor space {r.meta['min_floor_area_m2']:g} m².", lang)]  # fmt: skip
    return [ReportSection(tr("互助点", "Points", lang), text, tables=[(tr("互助点及其乡镇中心（路网距离）", "Points and their township centre (road distance)", lang),
                                                                        p.drop(columns="geometry"))]),
            ReportSection(tr("行政村", "Villages", lang), tables=[(tr("行政村", "Villages", lang), r.villages)])]  # fmt: skip


#: the files :func:`write_village_outputs` writes (and ``<report>.pdf`` with ``pdf=True``)
VILLAGE_FILES: dict[str, str] = {
    "gpkg": "villages.gpkg",
    "points": "points.csv",
    "villages": "villages.csv",
    "townships": "townships.csv",
    "summary": "summary.csv",
    "json": "villages.json",
    "map": "villages_map.html",
    "png": "villages_map.png",
    "report": "villages_report.html",
    "xlsx": "villages.xlsx",
}


@writes_output_set("out_dir")
def write_village_outputs(
    result: VillageResult,
    out_dir: str | Path,
    *,
    overwrite: bool = False,
    basemap: str = "none",
    pdf: bool = False,
    tianditu_key: str | None = None,
    options: ReportOptions | None = None,
) -> dict[str, Path]:
    """Write ``villages.gpkg``, ``points.csv``, ``villages.csv``, ``townships.csv``
    (the Fengjie task breakdown), ``summary.csv``, ``villages.json``, the map
    (``villages_map.html``, ``villages_map.png``), ``villages_report.html`` and
    ``villages.xlsx``, each atomically."""

    import shapely

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    names = {k: out / v for k, v in VILLAGE_FILES.items()}
    r = result
    au = r.audit_after

    links = gpd.GeoDataFrame(r.points[["id", "centre_id", "centre_road_m"]].copy(), geometry=[
        shapely.LineString([p, c]) if c is not None else None for p, c in zip(
            r.points.geometry, r.points["centre_id"].map(au.facilities.set_index(au.facilities["id"].astype(str)).geometry), strict=True)
    ], crs="EPSG:4326")  # fmt: skip
    write_gpkg(names["gpkg"], {"points": r.points, "zones": au.zones, "centre_links": links, "homes": au.demand},
               overwrite=overwrite, date=str(r.meta["date"]), skip_empty=True, bools_as_text=True)  # fmt: skip
    write_csv(names["points"], r.points, overwrite=overwrite)
    write_csv(names["villages"], r.villages, overwrite=overwrite)
    write_csv(names["townships"], r.townships, overwrite=overwrite)
    write_csv(names["summary"], r.summary, overwrite=overwrite)
    write_json(names["json"], {**r.meta, "summary": r.summary}, overwrite=overwrite)
    _village_maps(r, links, names, overwrite=overwrite, basemap=basemap, tianditu_key=tianditu_key,
                  lang=(options or ReportOptions()).lang)
    p = r.points
    opts = options or ReportOptions()
    lang = opts.lang
    meta = {k: v for k, v in r.meta.items() if k != "solver"}
    report = Report("村级互助养老点布局 Village mutual-aid points", _village_sections(r, lang), meta,
                    basis=report_basis(meta, plan_basis=opts.plan_basis, lang=lang, topics=("radius", "village_point", "target_village")),
                    map_html=names["map"], map_png=names["png"], findings=_village_findings(r, lang), options=opts)  # fmt: skip
    rep = write_report_files(names["report"], names["xlsx"], report, overwrite=overwrite, pdf=pdf,
                             sheets={tr("乡镇任务分解", "Townships", lang): r.townships, tr("互助点", "Points", lang): p,
                                     tr("行政村", "Villages", lang): r.villages, tr("汇总", "Summary", lang): r.summary})  # fmt: skip
    if "report_pdf" in rep:
        names["pdf"] = rep["report_pdf"]
    logger.info("wrote the village outputs to %s", out)
    return names
