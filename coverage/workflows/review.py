"""Development review (新建小区配建审查, 四同步): floor space and distance for a new project.

A developer submits a residential project; the review committee checks two rules of the
plans (Pingyin 2021 §三(一); Jiangyong 2022 §二(二)1; Huichang 2021 §(十七)):

* **floor space**: elderly-care rooms of at least **20 m² per 100 households** for a new
  development (``area_type="new"``), or **15 m² per 100 households** when an existing
  area is made up (``"existing"``): ``required = households × rate / 100``
  (1,234 households × 20 / 100 = 246.8 m²);
* **distance**: every building within **1000 m by road** and a **15-minute walk** (at the
  configured older person's walking speed) of an elderly-care facility -- an existing one
  or the development's own planned room.

:func:`review_development` returns a :class:`ReviewResult` with the verdict (pass/fail)
and its reasons; :func:`write_review_outputs` writes the one-page review sheet (map,
tables, parameters), the tables, a GeoPackage and the interactive map. The "four
together" (四同步: planned, built, accepted and delivered with the first phase) cannot be
checked from data; the sheet lists it for the committee to confirm.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..audit.run import AuditResult, options_from, run_audit
from ..config import AuditConfig
from ..engine.diagnostics import layer_source
from ..engine.network import RoadNetwork
from ..engine.whatif import STATUS_UNREACHABLE
from ..errors import InputFileError, ParameterError
from ..publish._labels import tr
from ..publish.atomic import writes_output_set
from ..publish.audit_package import report_basis
from ..publish.figures import Layer, PrintMap, print_map, proposed_layer, rule_subtitle
from ..publish.maps import audit_layers, write_map
from ..publish.report import Report, ReportOptions, ReportSection, write_report_files
from ..publish.tables import write_csv, write_gpkg, write_json
from ._columns import require_columns

__all__ = [
    "RATES_M2_PER_100_HOUSEHOLDS",
    "ReviewOptions",
    "ReviewResult",
    "required_floor_area_m2",
    "review_development",
    "review_key_table",
    "review_lines",
    "review_report",
    "write_review_outputs",
]

logger = logging.getLogger(__name__)

#: Elderly-care floor space per 100 households by area type (Pingyin 2021 §三(一)).
RATES_M2_PER_100_HOUSEHOLDS: dict[str, float] = {"new": 20.0, "existing": 15.0}

_FOUR_PAIR = ("四同步（与首期同步规划、同步建设、同步验收、同步交付）：请在开发协议中确认，无法由数据核查。",
              "Four together (planned, built, accepted and handed over with the first phase): confirm in the "
              "development agreement; not checkable from data.")  # fmt: skip
_FOUR = "\n".join(_FOUR_PAIR)  # a note: Chinese, a line break, English (note_text)
#: area types in words
_AREA = {"new": ("新建小区", "new area"), "existing": ("既有小区", "existing area")}


def _rate(area_type: str) -> float:
    if area_type not in RATES_M2_PER_100_HOUSEHOLDS:
        raise ParameterError(
            f"area_type={area_type!r} (--area-type); choose 'new' (20 m² per 100 households) or "
            "'existing' (15 m² per 100 households)"
        )
    return RATES_M2_PER_100_HOUSEHOLDS[area_type]


def required_floor_area_m2(households: float, *, area_type: str = "new") -> float:
    """Elderly-care floor space a residential area needs: ``households × rate / 100``.

    Parameters
    ----------
    households
        Number of households (户数).
    area_type
        ``"new"`` (20 m² per 100 households) or ``"existing"`` (15 m² per 100 households).

    Returns
    -------
    float
        Square metres.

    Examples
    --------
    >>> required_floor_area_m2(1234)
    246.8
    >>> required_floor_area_m2(1234, area_type="existing")
    185.1
    """
    if not np.isfinite(households) or households < 0:
        raise ParameterError(f"households={households!r} (--households) must be a number >= 0")
    return float(households) * _rate(area_type) / 100.0


@dataclass(frozen=True, eq=False)
class ReviewResult:
    """The review of one development (GeoDataFrames in EPSG:4326).

    Attributes
    ----------
    verdict
        ``"pass"`` or ``"fail"``.
    reasons
        Why it fails (empty when it passes), one sentence each.
    notes
        Facts for the committee that do not decide the verdict (四同步, the planned room).
    floor_space
        One row: ``households, area_type, rate_m2_per_100_households, required_m2,
        provided_m2, shortfall_m2, meets``.
    checks
        One row per rule: ``check, standard, result, passes``.
    buildings
        Per building: ``id, name, households, facility_id, facility_name,
        nearest_is_planned, dist_m, time_min, within_radius, within_time,
        dist_existing_m, status``.
    facilities
        Existing and planned facilities with ``role``.
    site
        The site polygon (or ``None``).
    audit
        The coverage audit of the buildings (existing + planned facilities).
    parameters
        Rules, rates, speed, CRS, date.
    """

    verdict: str
    reasons: tuple[str, ...]
    notes: tuple[str, ...]
    floor_space: pd.DataFrame
    checks: pd.DataFrame
    buildings: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame
    site: gpd.GeoDataFrame | None
    audit: AuditResult
    parameters: dict[str, object]

    @property
    def passed(self) -> bool:
        """Whether the development passes."""
        return self.verdict == "pass"


def _buildings_from_site(site: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Check points of a site without buildings: its corners and an inner point."""
    geom = shapely.union_all(site.to_crs("EPSG:4326").geometry.to_numpy())
    pts = [geom.representative_point()]
    for poly in shapely.get_parts(geom):
        pts += [shapely.Point(c) for c in list(poly.exterior.coords)[:-1]]
    ids = ["site-centre"] + [f"site-corner-{i}" for i in range(1, len(pts))]
    return gpd.GeoDataFrame({"id": ids, "name": ids, "households": np.nan}, geometry=pts, crs="EPSG:4326")


def _facility_frame(facilities: gpd.GeoDataFrame | None, planned: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame:
    parts = []
    for g, role in ((facilities, "existing"), (planned, "planned")):
        if g is None or len(g) == 0:
            continue
        g = g.to_crs("EPSG:4326").copy()
        if "id" not in g:
            g["id"] = [f"{role}-{i + 1}" for i in range(len(g))]
        g["id"] = g["id"].astype(str)
        if "name" not in g:
            g["name"] = g["id"]
        g["role"] = role
        parts.append(g)
    if not parts:
        raise InputFileError("no facilities: give existing facilities (--facilities) and/or the planned facility point (--planned)")
    # messages name the file(s): "facilities.csv and planned.csv"
    source = " and ".join(layer_source(g, role) for g, role in ((facilities, "facilities"), (planned, "planned")) if g is not None and len(g))
    fac = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs="EPSG:4326")
    fac.attrs["source"] = source
    dup = fac["id"].duplicated(keep=False)
    if dup.any():
        raise ParameterError(
            f"{source}: facility ids repeat between the existing facilities and the planned one(s): "
            f"{sorted(set(fac.loc[dup, 'id']))[:10]}. Fix: give the planned facility an id of its own"
        )
    return fac


@dataclass(frozen=True)
class ReviewOptions:
    """How a development is reviewed (:func:`review_development`).

    Attributes
    ----------
    provided_floor_m2
        Elderly-care floor space provided (m²); default the planned points'
        ``floor_area_m2`` total, else 0.
    households
        Households of the whole development; default the buildings' total.
    area_type
        ``"new"`` (20 m² per 100 households) or ``"existing"`` (15 m²).
    rules
        Distance rules that decide the verdict: ``"radius"`` and/or ``"time"``.
    search_cutoff_m
        Distances are measured up to this far (farther: reported as infinite).
    title
        Title of the sheet and map.
    run_date
        ISO date recorded in outputs (default today).
    """

    provided_floor_m2: float | None = None
    households: float | None = None
    area_type: str = "new"
    rules: Sequence[str] = ("radius", "time")
    search_cutoff_m: float = 5000.0
    title: str = "新建小区养老服务设施配建审查 Development review"
    run_date: str | None = None


def review_development(
    network: RoadNetwork,
    *,
    buildings: gpd.GeoDataFrame | None = None,
    facilities: gpd.GeoDataFrame | None,
    site: gpd.GeoDataFrame | None = None,
    planned: gpd.GeoDataFrame | None = None,
    options: ReviewOptions | None = None,
    config: AuditConfig | None = None,
    **keywords: Any,
) -> ReviewResult:
    """Review a residential development against the floor-space and distance rules.

    Parameters
    ----------
    network
        The walking network.
    buildings
        Building points with ``households`` (户数); ``None`` checks the site's corners
        and an inner point instead (then ``options.households`` is required).
    facilities
        Existing elderly-care facilities (may be ``None`` when ``planned`` is given).
    site
        The site polygon(s), drawn on the sheet.
    planned
        The development's own planned facility point(s); optional ``floor_area_m2``.
    options, **keywords
        Floor space, households, area type, deciding rules, title, date: a :class:`ReviewOptions`, or its fields as keywords (which
        override it).
    config
        Radius, service-circle minutes and walking speed (defaults 1000 m, 15 min and
        :data:`~coverage.config.DEFAULT_SPEED_MPS`).

    Returns
    -------
    ReviewResult

    Raises
    ------
    ParameterError
        Unknown area type or rule, no households, repeated facility ids.
    InputFileError
        Neither buildings nor site, or no facility at all.

    Examples
    --------
    >>> from coverage.datasets.scenarios import development_scenario
    >>> s = development_scenario()
    >>> r = review_development(s.county.network, buildings=s.buildings, facilities=s.county.facilities,
    ...                        planned=s.planned, site=s.site, options=ReviewOptions(run_date="2026-01-01"))
    >>> r.verdict, round(float(r.floor_space.loc[0, "shortfall_m2"]), 1)
    ('fail', 46.8)
    """
    opt: ReviewOptions = options_from(ReviewOptions, options, keywords, "review_development")
    # distances are reported beyond the rules too (how far the nearest facility is)
    cfg = config or AuditConfig()
    cfg = dataclasses.replace(cfg, cutoff_m=max(cfg.search_cutoff_m, opt.search_cutoff_m))
    rate = _rate(opt.area_type)
    rules = tuple(opt.rules)
    if set(rules) - {"radius", "time"} or not rules:
        raise ParameterError(f"rules={list(rules)!r} (--rules); use 'radius' and/or 'time' (e.g. --rules radius,time)")
    b = _building_points(buildings, site)
    households = opt.households if opt.households is not None else _households(buildings, b)
    required = required_floor_area_m2(households, area_type=opt.area_type)
    provided = _provided_floor_m2(opt.provided_floor_m2, planned)
    fac = _facility_frame(facilities, planned)
    audit = run_audit(network, fac, b, zones=_site_zones(site), config=cfg, target=1.0,
                      target_rule="both" if len(rules) == 2 else rules[0], title=opt.title, run_date=opt.run_date,
                      weight_col="households" if "households" in b else None)  # fmt: skip
    out = _building_table(b, audit, fac)
    out["dist_existing_m"] = _dist_existing(network, fac, b, out, has_planned=planned is not None,
                                            has_existing=facilities is not None and len(facilities) > 0, config=cfg,
                                            run_date=opt.run_date)  # fmt: skip
    out["status"] = audit.demand["status"].to_numpy()
    out = gpd.GeoDataFrame(out, geometry=b.geometry.to_numpy(), crs="EPSG:4326")
    short = max(0.0, required - provided)
    reasons = _floor_reasons(short, required, provided, households, rate, opt.area_type)
    reasons += _distance_reasons(out, rules, cfg)
    checks = _checks(out, rules, cfg, required, provided, short)
    notes = _notes(out, planned is not None, cfg)
    floor = pd.DataFrame([{
        "households": households, "area_type": opt.area_type, "rate_m2_per_100_households": rate,
        "required_m2": required, "provided_m2": provided, "shortfall_m2": short, "meets": short <= 1e-9,
    }])  # fmt: skip
    verdict = "pass" if not reasons else "fail"
    params: dict[str, object] = {
        **audit.meta, "area_type": opt.area_type, "rate_m2_per_100_households": rate, "rules": list(rules),
        "households": households, "required_m2": required, "provided_m2": provided, "verdict": verdict,
    }  # fmt: skip
    for key in ("n_demand", "n_facilities", "target", "target_rule"):
        params.pop(key, None)
    logger.info("development review: %s (%d reasons); required %.1f m², provided %.1f m²", verdict, len(reasons), required, provided)
    return ReviewResult(verdict, tuple(reasons), tuple(notes), floor, checks, out, audit.facilities, site, audit, params)


def _building_points(buildings: gpd.GeoDataFrame | None, site: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame:
    """The points checked (the buildings, else the site's corners and an inner point) with ``id, name``."""
    if buildings is None:
        if site is None:
            raise InputFileError("give building points (with households; buildings=, --buildings) or the site polygon (site=, --site)")
        buildings = _buildings_from_site(site)
    b = buildings.to_crs("EPSG:4326").copy()
    if "id" not in b:
        b["id"] = [f"B{i + 1}" for i in range(len(b))]
    if "name" not in b:
        b["name"] = b["id"]
    return b


def _households(buildings: gpd.GeoDataFrame | None, b: gpd.GeoDataFrame) -> float:
    """The buildings' households in total (every building must have them)."""
    fix = ("give the households of every building in a 户数 (households) column, or the development's total "
           "(households=, --households)")  # fmt: skip
    layer = buildings if buildings is not None else b
    require_columns(layer, {"households": "to size the floor space the development needs"}, label="buildings", fix=fix)
    hh = pd.to_numeric(b["households"], errors="coerce")
    if hh.isna().any():
        raise InputFileError(
            f"{layer_source(layer, 'buildings')}: households unknown for buildings "
            f"{b.loc[hh.isna(), 'id'].astype(str).tolist()[:10]}. Fix: fill in the 户数 (households) "
            "column, or give the development's total (households=, --households)"
        )
    return float(hh.sum())


def _provided_floor_m2(provided: float | None, planned: gpd.GeoDataFrame | None) -> float:
    """The floor space given, else the planned points' ``floor_area_m2`` total, else 0."""
    if provided is not None:
        return float(provided)
    if planned is not None and "floor_area_m2" in planned:
        return float(pd.to_numeric(planned["floor_area_m2"], errors="coerce").fillna(0).sum())
    return 0.0


def _site_zones(site: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame | None:
    """The site polygons as audit zones (``zone_id, zone_name``)."""
    if site is None:
        return None
    s = site.to_crs("EPSG:4326").reset_index(drop=True)
    # read_zones names them zone_id/zone_name, a frame of its own id/name
    ids = next((s[c].astype(str) for c in ("id", "zone_id") if c in s), [f"site-{i + 1}" for i in range(len(s))])
    names = next((s[c].astype(str) for c in ("name", "zone_name") if c in s), "site")
    zones = gpd.GeoDataFrame({"zone_id": ids, "zone_name": names}, geometry=s.geometry, crs="EPSG:4326")
    zones.attrs["source"] = layer_source(site, "site")
    return zones


def _building_table(b: gpd.GeoDataFrame, audit: AuditResult, fac: gpd.GeoDataFrame) -> pd.DataFrame:
    """Per building: households, nearest facility (planned or not), distance, time, rules met
    (``dist_existing_m`` and ``status`` follow)."""
    d = audit.demand
    out = b[["id", "name"]].copy()
    out["households"] = pd.to_numeric(b["households"], errors="coerce") if "households" in b else np.nan
    out["facility_id"] = d["facility_id"].to_numpy()
    out["facility_name"] = d["facility_name"].to_numpy()
    role = fac.set_index("id")["role"]
    out["nearest_is_planned"] = d["facility_id"].map(role).eq("planned").to_numpy()
    out["dist_m"] = d["dist_m"].to_numpy()
    out["time_min"] = d["time_min"].to_numpy()
    out["within_radius"] = d["covered_radius"].to_numpy()
    out["within_time"] = d["covered_time"].to_numpy()
    return out


def _dist_existing(network: RoadNetwork, fac: gpd.GeoDataFrame, b: gpd.GeoDataFrame, out: pd.DataFrame, *,
                   has_planned: bool, has_existing: bool, config: AuditConfig, run_date: str | None) -> Any:  # fmt: skip
    """Distance of every building to the nearest existing facility (without the planned one)."""
    if has_planned and has_existing:
        before = run_audit(network, fac[fac["role"] == "existing"], b, config=config, with_service_areas=False, run_date=run_date)
        return before.demand["dist_m"].to_numpy()
    return out["dist_m"] if not has_planned else np.inf


def _floor_reasons(short: float, required: float, provided: float, households: float, rate: float, area_type: str,
                   lang: str = "en") -> list[str]:  # fmt: skip
    if short <= 1e-9:
        return []
    area = _AREA.get(area_type, (area_type, area_type))
    return [tr(f"养老服务用房面积不足 {short:.1f} m²：需 {required:.1f} m²（{households:g} 户 × 每百户 {rate:g} m²，{area[0]}），"
               f"提供 {provided:.1f} m²。",
               f"floor space short by {short:.1f} m²: required {required:.1f} m² "
               f"({households:g} households × {rate:g} m² / 100 households, {area[1]}), provided {provided:.1f} m²", lang)]  # fmt: skip


def _rule_texts(cfg: AuditConfig) -> dict[str, tuple[str, str]]:
    """Per distance rule: its column and its standard (``<= 1000 m by road`` ...)."""
    walk = f"{cfg.walk_limit_m:.0f} m at {cfg.speed_mps:g} m/s"
    return {"radius": ("within_radius", f"<= {cfg.radius_m:g} m by road"),
            "time": ("within_time", f"<= {cfg.time_min:g} min walk ({walk})")}  # fmt: skip


def _distance_reasons(out: pd.DataFrame, rules: Sequence[str], cfg: AuditConfig, lang: str = "en") -> list[str]:
    """Buildings off the roads, and buildings beyond a deciding rule."""
    n = len(out)
    reasons = []
    unreach = out["status"] == STATUS_UNREACHABLE
    if unreach.any():
        ids = ", ".join(out.loc[unreach, "id"].astype(str)[:10])
        reasons.append(tr(f"{n} 栋楼中 {int(unreach.sum())} 栋离道路超过 {cfg.snap_tolerance_m:g} 米：{ids}",
                          f"{int(unreach.sum())} of {n} buildings are more than {cfg.snap_tolerance_m:g} m from any road: {ids}", lang))  # fmt: skip
    what = {"radius": (f"路网 {cfg.radius_m:g} 米", f"{cfg.radius_m:g} m by road"),
            "time": (f"步行 {cfg.time_min:g} 分钟（{cfg.speed_mps:g} m/s，{cfg.walk_limit_m:.0f} 米）",
                     f"a {cfg.time_min:g}-minute walk ({cfg.walk_limit_m:.0f} m at {cfg.speed_mps:g} m/s)")}  # fmt: skip
    for rule, (col, _std) in _rule_texts(cfg).items():
        far = ~out[col].astype(bool)
        if rule in rules and far.any():
            ids = ", ".join(out.loc[far, "id"].astype(str)[:10])
            reasons.append(tr(f"{n} 栋楼中 {int(far.sum())} 栋在{what[rule][0]}内没有养老设施：{ids}",
                              f"{int(far.sum())} of {n} buildings beyond {what[rule][1]} of any facility: {ids}", lang))  # fmt: skip
    return reasons


def _checks(out: pd.DataFrame, rules: Sequence[str], cfg: AuditConfig, required: float, provided: float,
            short: float) -> pd.DataFrame:  # fmt: skip
    """One row per rule: ``check, standard, result, passes, decides_verdict``."""
    n = len(out)
    checks = [("floor space 养老用房面积", f">= {required:.1f} m²", f"{provided:.1f} m²", short <= 1e-9)]
    worst = out["dist_m"].replace(np.inf, np.nan).max()
    for col, std in _rule_texts(cfg).values():
        far = ~out[col].astype(bool)
        checks.append((f"every building {std}", std, f"{n - int(far.sum())}/{n} buildings; farthest {worst:.0f} m", not far.any()))
    table = pd.DataFrame(checks, columns=["check", "standard", "result", "passes"])
    table["decides_verdict"] = [True] + [r in rules for r in ("radius", "time")]
    return table


def _notes(out: pd.DataFrame, has_planned: bool, cfg: AuditConfig) -> list[str]:
    """四同步, and what the planned facility changes; each Chinese, a line break, English
    (:func:`coverage.siting.propose.note_text` picks one)."""
    notes = [_FOUR]
    if has_planned:
        n, near = len(out), int(out["nearest_is_planned"].sum())
        notes.append(f"{n} 栋楼中 {near} 栋的最近设施是拟建设施\nthe planned facility is the nearest for {near} of {n} buildings")
        far0 = int((out["dist_existing_m"] > cfg.radius_m).sum())
        notes.append(f"没有拟建设施，{n} 栋楼中 {far0} 栋将在路网 {cfg.radius_m:g} 米外\n"
                     f"without it {far0} of {n} buildings would be beyond {cfg.radius_m:g} m by road")
    return notes



def _review_maps(r: ReviewResult, names: dict[str, Path], *, overwrite: bool, basemap: str, tianditu_key: str | None,
                 lang: str = "both") -> None:  # fmt: skip
    """The interactive map (opening on the development, the planned facility a star) and
    the print map (buildings by rule, the site, facilities, roads within the radius)."""
    fac = r.facilities
    planned = fac[fac["role"] == "planned"]
    focus = r.site if r.site is not None else r.buildings
    layers = audit_layers(r.audit, proposed=planned if len(planned) else None, proposed_name="拟建设施 Planned facility")
    layers = dataclasses.replace(layers, zones_name="用地范围 Development site")
    write_map(names["map"], layers, overwrite=overwrite, basemap=basemap, tianditu_key=tianditu_key, focus=focus)
    cfg, cov, b = r.audit.config, r.audit.coverage, r.buildings
    ok = (b["within_radius"] & b["within_time"]).to_numpy()
    both = cov.figure("both")
    sa = r.audit.service_areas
    drawn = []
    if sa is not None and len(sa):
        drawn.append(Layer(sa[sa["rule"] == "radius"], f"路网{cfg.radius_m:g}米服务范围（沿路）Roads within {cfg.radius_m:g} m of a facility",
                           "#6fa8dc", size=16))  # fmt: skip
    if r.site is not None:
        drawn.append(Layer(r.site, "用地范围 Development site", "#9467bd", fill=True, edge="#6a3d9a", linestyle="--"))
    drawn += [Layer(b[ok], f"满足{both.label_zh}的楼栋 Buildings within {both.label_en} — {both.count}/{both.total}", "#1a9850",
                    "o", 45, True, "id"),
              Layer(b[~ok], f"未满足的楼栋 Buildings outside a rule — {both.total - both.count}/{both.total}", "#d73027", "o", 45,
                    True, "id"),
              Layer(fac[fac["role"] == "existing"], "现有养老设施 Existing facilities", "#1f3b99", "o", 75, True, "name",
                    edge="white"),
              proposed_layer(planned, "拟建设施 Planned facility")]  # fmt: skip
    verdict = "通过 PASS" if r.passed else "不通过 FAIL"
    title = tr(f"新建小区配建审查：{'通过' if r.passed else '不通过'}", f"新建小区配建审查 Development review: {verdict}", lang)
    spec = PrintMap(title=title, network=r.audit.network, layers=drawn,
                    source=str(r.audit.meta.get("source", "")), date=str(r.parameters["date"]), subtitle=rule_subtitle(r.audit),
                    extent=focus, pad_m=cfg.radius_m, notes=[tr("不通过原因：", "不通过原因 Reason: ", lang) + x for x in _reasons(r, lang)[:3]], lang=lang)  # fmt: skip
    print_map(names["png"], spec, overwrite=overwrite)


#: the files :func:`write_review_outputs` writes (and ``<report>.pdf`` with ``pdf=True``)
REVIEW_FILES: dict[str, str] = {
    "sheet": "review_sheet.html",
    "xlsx": "review.xlsx",
    "gpkg": "review.gpkg",
    "buildings": "buildings.csv",
    "floor_space": "floor_space.csv",
    "checks": "checks.csv",
    "json": "review.json",
    "map": "review_map.html",
    "png": "review_map.png",
}


@writes_output_set("out_dir")
def write_review_outputs(
    result: ReviewResult,
    out_dir: str | Path,
    *,
    overwrite: bool = False,
    basemap: str = "none",
    pdf: bool = False,
    tianditu_key: str | None = None,
    options: ReportOptions | None = None,
) -> dict[str, Path]:
    """Write the review: ``review_sheet.html`` (page 1: the verdict, its reasons, the key
    figures, the map and what to do; then the checks, the buildings, the parameters and
    the rules), ``review.xlsx``, ``review.gpkg``, ``buildings.csv``, ``floor_space.csv``,
    ``checks.csv``, ``review.json``, ``review_map.html`` and ``review_map.png``.

    Parameters
    ----------
    result
        From :func:`review_development`.
    out_dir
        Output folder (created).
    overwrite
        Replace existing files (all are checked before any is written).
    basemap
        Map background: ``"none"`` (default: nothing loaded from the internet), ``"osm"``
        or ``"tianditu"`` (with ``tianditu_key``).
    pdf
        Also a PDF of the sheet (needs a browser).
    options
        Title, organisation, author, language and planning basis of the sheet.

    Returns
    -------
    dict
        Paths by output name.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    names = {k: out / v for k, v in REVIEW_FILES.items()}
    r = result
    date = str(r.parameters["date"])
    sa = r.audit.service_areas
    write_gpkg(names["gpkg"], {"buildings": r.buildings, "facilities": r.facilities, "site": r.site, "service_areas": sa},
               overwrite=overwrite, date=date, skip_empty=True, bools_as_text=True)  # fmt: skip
    write_csv(names["buildings"], r.buildings, overwrite=overwrite)
    write_csv(names["floor_space"], r.floor_space, overwrite=overwrite)
    write_csv(names["checks"], r.checks, overwrite=overwrite)
    write_json(names["json"], {**r.parameters, "reasons": list(r.reasons), "notes": list(r.notes)}, overwrite=overwrite)
    _review_maps(r, names, overwrite=overwrite, basemap=basemap, tianditu_key=tianditu_key, lang=(options or ReportOptions()).lang)
    opts = options or ReportOptions()
    report = review_report(r, opts, map_html=names["map"], map_png=names["png"])
    lang = opts.lang
    rep = write_report_files(names["sheet"], names["xlsx"], report, overwrite=overwrite, pdf=pdf,
                             sheets={tr("汇总", "Summary", lang): review_key_table(r, lang),
                                     tr("检查", "Checks", lang): r.checks, tr("用房面积", "Floor space", lang): r.floor_space,
                                     tr("楼栋", "Buildings", lang): r.buildings})  # fmt: skip
    if "report_pdf" in rep:
        names["pdf"] = rep["report_pdf"]
    logger.info("wrote the development review to %s", out)
    return names


def _verdict_words(r: ReviewResult) -> tuple[str, str]:
    return ("通过", "PASS") if r.passed else ("不通过", "FAIL")


def review_lines(result: ReviewResult, *, lang: str = "en") -> list[str]:
    """The console's words (``lang`` ``"en"``, ``"zh"`` or ``"both"``): the verdict, the
    floor space, the buildings within each rule (named by :meth:`AuditConfig.rule_label`)
    and the reasons. The report's page 1 says the same (:func:`review_key_table`)."""
    r = result
    fs, cfg, b = r.floor_space.iloc[0], r.audit.config, r.buildings
    area = _AREA.get(str(fs.area_type), (str(fs.area_type), str(fs.area_type)))
    hh = f"{fs.households:,.0f}"
    zh, en = _verdict_words(r)
    out = [tr(f"新建小区配建审查：{zh}（{hh} 户，{area[0]}）", f"development review: {en}  ({hh} households, {area[1]})", lang),
           tr(f"  养老服务用房：需 {fs.required_m2:,.1f} m²（每百户 {fs.rate_m2_per_100_households:g} m²），提供 {fs.provided_m2:,.1f} m²",
              f"  floor space: required {fs.required_m2:,.1f} m² ({fs.rate_m2_per_100_households:g} m²/100 households), "
              f"provided {fs.provided_m2:,.1f} m²", lang)]  # fmt: skip
    parts = []
    for rule, col in (("radius", "within_radius"), ("time", "within_time")):
        k = int(b[col].astype(bool).sum())
        parts.append(tr(f"{cfg.rule_label(rule, lang='zh')}的楼栋：{k}/{len(b)}",
                        f"buildings within {cfg.rule_label(rule, lang='en')}: {k}/{len(b)}", lang))  # fmt: skip
    out.append("  " + "; ".join(parts))
    out += [f"  - {x}" for x in _reasons(r, lang)]
    return out


def _reasons(r: ReviewResult, lang: str) -> list[str]:
    """The reasons of the verdict in ``lang`` (:attr:`ReviewResult.reasons` in English)."""
    fs = r.floor_space.iloc[0]
    rules = tuple(r.parameters.get("rules") or ("radius", "time"))  # type: ignore[arg-type]
    return (_floor_reasons(float(fs.shortfall_m2), float(fs.required_m2), float(fs.provided_m2), float(fs.households),
                           float(fs.rate_m2_per_100_households), str(fs.area_type), lang)
            + _distance_reasons(r.buildings, rules, r.audit.config, lang))  # fmt: skip


def review_key_table(result: ReviewResult, lang: str = "both") -> pd.DataFrame:
    """Page 1's key figures (and the workbook's summary): per check, the standard, the
    result and whether it passes and decides the verdict."""
    r = result
    fs, cfg, b = r.floor_space.iloc[0], r.audit.config, r.buildings
    rules = tuple(r.parameters.get("rules") or ("radius", "time"))  # type: ignore[arg-type]
    yes = lambda x: tr("是", "yes", lang) if x else tr("否", "no", lang)  # noqa: E731
    rows = [(tr("养老服务用房面积", "Elderly-care floor space", lang),
             tr(f"≥ {fs.required_m2:,.1f} m²（每百户 {fs.rate_m2_per_100_households:g} m²）",
                f">= {fs.required_m2:,.1f} m² ({fs.rate_m2_per_100_households:g} m² per 100 households)", lang),
             f"{fs.provided_m2:,.1f} m²", yes(bool(fs.meets)), yes(True))]  # fmt: skip
    worst = b["dist_m"].astype(float).replace(np.inf, np.nan).max()
    for rule, col in (("radius", "within_radius"), ("time", "within_time")):
        k = int(b[col].astype(bool).sum())
        rows.append((tr("楼栋在" + cfg.rule_label(rule, lang="zh"), "Buildings within " + cfg.rule_label(rule, lang="en"), lang),
                     tr("全部楼栋", "every building", lang), tr(f"{k}/{len(b)} 栋；最远 {worst:,.0f} 米", f"{k}/{len(b)} buildings; farthest {worst:,.0f} m", lang),
                     yes(k == len(b)), yes(rule in rules)))  # fmt: skip
    return pd.DataFrame(rows, columns=[tr("检查", "Check", lang), tr("标准", "Standard", lang), tr("结果", "Result", lang),
                                       tr("满足", "Passes", lang), tr("决定结论", "Decides the verdict", lang)])  # fmt: skip


def _review_todo(r: ReviewResult, lang: str) -> list[str]:
    """What to do: make up the floor space, bring the far buildings in, confirm 四同步."""
    fs, cfg, b = r.floor_space.iloc[0], r.audit.config, r.buildings
    out = []
    if float(fs.shortfall_m2) > 1e-9:
        out.append(tr(f"增加养老服务用房至少 {fs.shortfall_m2:,.1f} m²（合计不少于 {fs.required_m2:,.1f} m²）后再审。",
                      f"Add at least {fs.shortfall_m2:,.1f} m² of elderly-care floor space (at least {fs.required_m2:,.1f} m² in all), then resubmit.", lang))  # fmt: skip
    far = b[~(b["within_radius"].astype(bool) & b["within_time"].astype(bool))]
    if len(far):
        ids = ", ".join(far["id"].astype(str).head(10))
        out.append(tr(f"调整配建用房位置或增设服务点，使这些楼栋进入{cfg.rule_label('both', lang='zh')}：{ids}。",
                      f"Move the planned room or add a service point so that these buildings lie within {cfg.rule_label('both', lang='en')}: {ids}.", lang))  # fmt: skip
    planned = int(b["nearest_is_planned"].astype(bool).sum())
    if planned:
        beyond = int((b["dist_existing_m"].astype(float) > cfg.radius_m).sum())
        out.append(tr(f"拟建设施是 {len(b)} 栋楼中 {planned} 栋的最近设施；没有它，{beyond} 栋楼将在路网 {cfg.radius_m:,.0f} 米外。",
                      f"The planned facility is the nearest for {planned} of {len(b)} buildings; without it {beyond} would be beyond {cfg.radius_m:,.0f} m by road.", lang))  # fmt: skip
    out.append(tr(*_FOUR_PAIR, lang))
    return out


def review_report(result: ReviewResult, options: ReportOptions, *, map_html: Path | None = None, map_png: Path | None = None) -> Report:
    """The review sheet: page 1 (verdict and reasons, key figures, map, what to do), then
    the floor space, the buildings, the parameters and the rules that apply."""
    r, lang = result, options.lang
    zh, en = _verdict_words(r)
    paras = [tr(f"审查结论：{zh}。", f"Verdict: {en}.", lang)]
    paras += _reasons(r, lang) or [tr("全部检查均满足。", "All checks pass.", lang)]
    findings = ReportSection(tr("结论", "Findings", lang), paras, [(tr("主要指标", "Key figures", lang), review_key_table(r, lang))],
                             bullets=_review_todo(r, lang))  # fmt: skip
    shown = r.buildings.drop(columns="geometry")[["id", "name", "households", "facility_name", "nearest_is_planned", "dist_m",
                                                  "time_min", "within_radius", "within_time", "dist_existing_m"]]  # fmt: skip
    sections = [ReportSection(tr("养老服务用房面积", "Floor space", lang), [tr("需配建面积 = 户数 × 每百户标准 ÷ 100。",
                              "Floor space required = households × rate per 100 households ÷ 100.", lang)],
                              [(tr("用房面积", "Floor space", lang), r.floor_space)]),
                ReportSection(tr("楼栋", "Buildings", lang), [tr("到最近设施（现有或拟建）的路网距离。",
                              "Road distance to the nearest facility, existing or planned.", lang)],
                              [(tr("楼栋", "Buildings", lang), shown)])]  # fmt: skip
    meta = {k: v for k, v in r.parameters.items() if k not in ("verdict", "rules", "households", "required_m2", "provided_m2")}
    fs = r.floor_space.iloc[0]
    floor_topic = "floor_new" if fs.area_type == "new" else "floor_existing"
    basis = report_basis(meta, plan_basis=options.plan_basis, lang=lang, topics=("radius", "time", floor_topic), applicable_only=True)
    rules = tuple(r.parameters.get("rules") or ())  # type: ignore[arg-type]
    extra = [(tr("小区类型", "Area type", lang), tr(*_AREA.get(str(fs.area_type), (str(fs.area_type),) * 2), lang), tr("用户设定（--area-type）", "set by the user (--area-type)", lang)),
             (tr("用房标准", "Floor space rate", lang), tr(f"每百户 {fs.rate_m2_per_100_households:g} m²", f"{fs.rate_m2_per_100_households:g} m² per 100 households", lang),
              tr("本次评估参数", "parameter of this run", lang)),
             (tr("决定结论的距离规则", "Distance rules deciding the verdict", lang),
              "；".join(r.audit.config.rule_label(x, lang="zh" if lang == "zh" else "both") for x in rules), tr("用户设定（--rules）", "set by the user (--rules)", lang))]  # fmt: skip
    basis = dataclasses.replace(basis, parameters=[*basis.parameters, *extra])
    return Report(str(r.parameters["title"]), sections, meta, basis=basis, map_html=map_html, map_png=map_png,
                  findings=findings, options=options)
