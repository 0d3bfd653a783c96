"""Readable tables for people: bilingual column names instead of ``snake_case`` codes,
counts as integers, shares as percentages, yes/no for flags, known codes (``ok``,
``village_point`` ...) in words, lists and mappings as text (never a Python repr).

Used by every report table (:func:`coverage.publish.report.render_report` passes each
table through :func:`readable_table`) and the Excel workbooks (:func:`excel_table`, which
keeps numbers as numbers). Figures that depend on the rules are named with
:meth:`AuditConfig.rule_label <coverage.config.AuditConfig.rule_label>` (:func:`rule_labels`).
The CSV files keep the codes: they are for programs.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..audit.summary import pct
from ..config import AuditConfig
from .tables import plain_table, with_coordinates

__all__ = [
    "LABELS",
    "VALUE_LABELS",
    "excel_table",
    "header",
    "in_lang",
    "method_words",
    "readable_table",
    "rule_labels",
    "text_value",
    "tr",
]

# code -> (中文, English)
LABELS: dict[str, tuple[str, str]] = {
    "id": ("编号", "ID"), "name": ("名称", "Name"), "kind": ("类型", "Kind"), "status": ("状态", "Status"),
    "households": ("户数", "Households"), "elderly": ("老年人口", "Older residents"),
    "population": ("人口", "Population"), "zone_id": ("片区编号", "Zone ID"), "zone_name": ("片区", "Zone"),
    "facility_id": ("最近设施编号", "Nearest facility ID"), "facility_name": ("最近设施", "Nearest facility"),
    "dist_m": ("到最近设施路网距离(米)", "Road distance to nearest facility (m)"),
    "time_min": ("步行时间(分钟)", "Walking time (min)"),
    "within_circle": ("直线圆内", "Inside straight-line circle"),
    "euclid_m": ("直线距离(米)", "Straight-line distance (m)"), "false_coverage": ("虚假覆盖", "False coverage"),
    "access_m": ("离路距离(米)", "Distance to road (m)"), "weight": ("权重", "Weight"),
    "terrain_time_min": ("地形步行时间(分钟)", "Walking time on terrain (min)"),
    "terrain_facility_id": ("地形最近设施编号", "Nearest facility on terrain ID"),
    "covered_time_terrain": ("地形步行时间内", "Within the walk on terrain"),
    "terrain_out": ("地形使其超出服务圈", "Taken out of the circle by terrain"),
    "n_covered_time_terrain": ("地形服务圈覆盖点数", "Covered on terrain (points)"),
    "n_terrain_out": ("地形超出点数", "Taken out by terrain (points)"), "n_terrain_in": ("地形进入点数", "Brought in by terrain (points)"),
    "slope_model": ("坡度模型", "Slope model"),
    "lon": ("经度", "Longitude"), "lat": ("纬度", "Latitude"), "lon_wgs84": ("经度", "Longitude (WGS-84)"),
    "lat_wgs84": ("纬度", "Latitude (WGS-84)"), "scope": ("范围", "Scope"), "n_points": ("需求点数", "Demand points"),
    "weight_total": ("权重合计", "Total weight"), "n_false_coverage": ("虚假覆盖点数", "False coverage (points)"),
    "n_unreachable": ("无法到达点数", "Unreachable (points)"),
    "n_beyond_cutoff": ("超出搜索范围点数", "Beyond search limit (points)"),
    "n_one_rule_only": ("仅满足一项点数", "One rule only (points)"), "n_neither": ("两项均不满足点数", "Neither rule (points)"),
    "target": ("目标比例", "Target share"), "meets_target": ("达标", "Meets target"),
    "floor_area_m2": ("建筑面积(m²)", "Floor area (m²)"), "capacity": ("床位", "Beds"),
    "n_nearest": ("以其为最近设施的点数", "Points nearest to it"), "weight_nearest": ("以其为最近设施的权重", "Weight nearest to it"),
    "usable": ("可用", "Usable"), "component": ("连通部分", "Component"), "n_nodes": ("节点数", "Nodes"),
    "n_edges": ("路段数", "Edges"), "length_m": ("道路长度(米)", "Road length (m)"),
    "share_length": ("长度占比", "Share of length"),
    # targets
    "n_covered": ("覆盖点数", "Points covered"), "achieved": ("实际覆盖比例", "Share achieved"),
    "gap_pct_points": ("差距(百分点)", "Gap (percentage points)"), "points_short": ("尚缺覆盖点数", "Points short of target"),
    "meets": ("达标", "Meets target"), "n_facilities": ("片区内设施数", "Facilities in zone"),
    "n_zones": ("片区数", "Zones"), "zones_with_facility": ("有养老设施的片区", "Zones with any elderly-care facility"),
    "share_with_facility": ("有养老设施的片区比例", "Share of zones with a facility"),
    "meets_facility_target": ("设施目标达标", "Facility target met"),
    "zones_meeting": ("覆盖达标片区", "Zones meeting the coverage target"),
    "share_zones_meeting": ("覆盖达标片区比例", "Share of zones meeting the coverage target"),
    "meets_coverage_target": ("总体覆盖达标", "Pooled coverage meets target"),
    "zones_with_point": ("有互助点的片区", "Zones with a mutual-aid point (existing)"),
    # villages
    "township": ("乡镇", "Township"), "n_villages": ("行政村数", "Villages"), "planned_points": ("计划点数", "Planned points"),
    "existing_points": ("现有互助点", "Existing points"), "proposed_points": ("拟建互助点", "Proposed points"),
    "villages_with_point": ("有互助点的村（现有+拟建）", "Villages with a point (existing + proposed)"),
    "villages_with_point_before": ("有互助点的村（现有）", "Villages with a point (existing)"),
    "villages_with_point_after": ("有互助点的村（现有+拟建）", "Villages with a point (existing + proposed)"),
    "coverage_rate_before": ("有互助点的村比例（现有）", "Share of villages with a point (existing)"),
    "coverage_rate": ("有互助点的村比例（现有+拟建）", "Share of villages with a point (existing + proposed)"),
    "coverage_rate_after": ("有互助点的村比例（现有+拟建）", "Share of villages with a point (existing + proposed)"),
    "centres": ("乡镇中心", "Township centres"), "village": ("行政村", "Village"), "n_homes": ("需求点数", "Homes"),
    "point_id": ("互助点编号", "Point ID"), "point_status": ("互助点", "Point"),
    "floor_ok": ("面积达标", "Floor area meets minimum"), "floor_needed_m2": ("所需面积(m²)", "Floor area needed (m²)"),
    "centre_id": ("乡镇中心编号", "Centre ID"), "centre_name": ("乡镇中心", "Township centre"),
    "centre_township": ("中心所在乡镇", "Centre's township"), "centre_road_m": ("到中心路网距离(米)", "Road distance to centre (m)"),
    "centre_straight_m": ("到中心直线距离(米)", "Straight-line distance to centre (m)"),
    "same_township": ("同一乡镇", "Same township"), "n_villages_meeting_before": ("覆盖达标的村（现状）", "Villages meeting the coverage target (before)"),
    "needed": ("尚需新增", "New points needed"), "proposed": ("拟建", "Proposed"),
    "points_with_other_township_centre": ("由外乡镇中心管理的点", "Points run by another township's centre"),
    # site selection
    "rank": ("排序", "Rank"), "marginal_gain": ("边际增益", "Marginal gain"), "n_assigned": ("分配点数", "Points assigned"),
    "load": ("服务权重", "Load"), "address": ("位置", "Address (nearest named road)"),
    "n_covered_before": ("现状覆盖点数", "Points covered before"), "n_covered_after": ("新增后覆盖点数", "Points covered after"),
    "share_before": ("现状覆盖比例", "Share covered before"), "share_after": ("新增后覆盖比例", "Share covered after"),
    "wshare_before": ("现状加权覆盖比例", "Weighted share before"), "wshare_after": ("新增后加权覆盖比例", "Weighted share after"),
    "role": ("角色", "Role"),
    "n_mutual_aid_points": ("互助点数", "Mutual-aid points"),
    "homes_covered_share": ("路网内户数比例", "Share of homes within reach"),
    "homes_covered_share_after": ("新增后路网内户数比例", "Share of homes within reach (after)"),
    "share_covered_after": ("新增后覆盖比例", "Share of homes covered (after)"),
    "wshare_covered_after": ("新增后加权覆盖比例", "Weighted share covered (after)"),
    "meets_coverage_before": ("覆盖达标（现状）", "Meets the coverage target (before)"),
    "meets_coverage_after": ("覆盖达标（新增后）", "Meets the coverage target (after)"),
    "villages_with_facility_before": ("有养老设施的村（现有）", "Villages with any elderly-care facility (existing)"),
    "villages_meeting_coverage_before": ("覆盖达标的村（现状）", "Villages meeting the coverage target (before)"),
    "villages_meeting_coverage_after": ("覆盖达标的村（新增后）", "Villages meeting the coverage target (after)"),
    "coverage_target": ("每村覆盖目标", "Coverage target per village"),
    "meets_target_after": ("达标（新增后）", "Meets target (after)"),
    # development review
    "area_type": ("小区类型", "Area type"), "rate_m2_per_100_households": ("每百户标准(m²)", "Rate per 100 households (m²)"),
    "required_m2": ("需配建面积(m²)", "Floor space required (m²)"), "provided_m2": ("提供面积(m²)", "Floor space provided (m²)"),
    "shortfall_m2": ("缺口(m²)", "Shortfall (m²)"), "nearest_is_planned": ("最近为拟建设施", "Nearest is the planned one"),
    "dist_existing_m": ("到最近现有设施路网距离(米)", "Road distance to nearest existing facility (m)"),
    "check": ("检查", "Check"), "standard": ("标准", "Standard"), "result": ("结果", "Result"), "passes": ("满足", "Passes"),
    "decides_verdict": ("决定结论", "Decides the verdict"),
    # existing-area make-up
    "n_areas": ("小区数", "Residential areas"), "n_areas_newly_covered": ("新覆盖小区数", "Areas newly covered"),
    "households_newly_covered": ("新覆盖户数", "Households newly covered"),
    "floor_area_needed_m2": ("所需用房面积(m²)", "Floor space needed (m²)"), "n_sites": ("补建站点数", "Make-up sites"),
    "outside_before": ("现状标准外小区", "Areas outside the standard (before)"),
    "outside_after": ("补建后标准外小区", "Areas outside the standard (after)"),
    "households_outside_before": ("现状标准外户数", "Households outside the standard (before)"),
    "households_outside_after": ("补建后标准外户数", "Households outside the standard (after)"),
    "source_kind": ("来源", "Source"), "cost": ("成本系数", "Cost weight"),
    "assigned_site": ("服务站点", "Serving site"), "assigned_dist_m": ("到服务站点路网距离(米)", "Road distance to serving site (m)"),
    "outside_standard_before": ("现状在标准外", "Outside the standard (before)"),
    "outside_standard_after": ("补建后在标准外", "Outside the standard (after)"),
    # consolidation
    "beds": ("床位", "Beds"), "residents_before": ("现有入住", "Residents before"), "residents_after": ("撤并后入住", "Residents after"),
    "incoming": ("转入", "Incoming"), "staying": ("留住", "Staying"), "occupancy_after": ("撤并后入住率", "Occupancy after"),
    "group_id": ("人员组编号", "Group ID"), "from_home": ("原院", "From home"), "to_home": ("转入院", "To home"),
    "count": ("人数", "Residents"), "dist_before_m": ("原路网距离(米)", "Road distance before (m)"),
    "dist_after_m": ("之后路网距离(米)", "Road distance after (m)"), "keep_set": ("方案", "Keep-set"), "homes": ("保留院", "Homes kept"),
    "total_m": ("总距离(米)", "Total distance (m)"), "mean_m": ("平均距离(米)", "Mean distance (m)"),
    "max_m": ("最远距离(米)", "Farthest (m)"), "beds_total_m": ("按床位总距离(米)", "Total distance within beds (m)"),
    "beds_mean_m": ("按床位平均距离(米)", "Mean distance within beds (m)"), "beds_max_m": ("按床位最远距离(米)", "Farthest within beds (m)"),
    "beds_unplaced": ("按床位无法安置", "Unplaced within beds"), "unplaced": ("无法安置", "Unplaced"), "action": ("处理", "Action"),
    "village_id": ("村编号", "Village ID"), "village_name": ("村", "Village"),
    "residents": ("人数", "Residents"), "move_m": ("院间路网距离(米)", "Road distance between homes (m)"),
    "spare_after": ("撤并后空床", "Spare beds after"), "over_capacity": ("超出床位", "Over capacity"),
    "staff_needed": ("所需护理人员", "Care staff needed"), "home_id": ("原院编号", "Home ID"), "origin": ("来源村/社区", "Origin"),
    "care": ("照护类型", "Care"), "to_homes": ("去向", "Goes to"), "change_m": ("距离变化(米)", "Change in distance (m)"),
    "n_kept": ("保留院数", "Homes kept"), "moved": ("迁移人数", "Residents moving"),
    "mean_before_m": ("撤并前平均距离(米)", "Mean distance before (m)"), "mean_after_m": ("撤并后平均距离(米)", "Mean distance after (m)"),
    "max_after_m": ("撤并后最远距离(米)", "Farthest after (m)"), "mean_change_m": ("平均距离变化(米)", "Mean change (m)"),
    "source": ("来源", "Source"), "elderly_newly_covered": ("新覆盖老年人口", "Older residents newly covered"),
    "covered_before": ("现状在标准内", "Within the standard (before)"), "covered_after": ("补建后在标准内", "Within the standard (after)"),
    "newly_covered": ("新覆盖", "Newly covered"), "new_site": ("服务的补建站点", "Make-up site serving it"), "model": ("模型", "Model"),
}  # fmt: skip

#: codes shown in words in the columns of :data:`_CODE_COLUMNS`
VALUE_LABELS: dict[str, tuple[str, str]] = {
    "ok": ("正常", "ok"), "beyond_cutoff": ("超出搜索范围", "beyond search limit"),
    "unreachable": ("无法到达（离路过远）", "unreachable (off-road)"), "existing": ("现有", "existing"),
    "proposed": ("拟建", "proposed"), "none": ("无", "none"), "not chosen": ("未选", "not chosen"),
    "community": ("社区", "community"), "village": ("村", "village"), "zone": ("片区", "zone"),
    "nursing_home": ("养老院", "nursing home"), "community_station": ("社区养老服务站", "community station"),
    "township_centre": ("乡镇养老服务中心", "township centre"), "village_point": ("村级互助养老点", "village mutual-aid point"),
    "village_service_centre": ("村便民服务中心", "village service centre"), "clinic": ("村卫生室", "village clinic"),
    "idle_school": ("闲置学校", "idle school"), "vacant_building": ("闲置用房", "vacant building"),
    "largest_hamlet": ("最大自然村（租用/新建）", "largest hamlet (rent or build)"), "keep": ("保留", "keep"),
    "close": ("撤并", "close"), "move": ("迁移", "move"), "stay": ("留住", "stay"),
    "new": ("新建小区", "new area"), "planned": ("拟建", "planned"), "listed": ("清单建筑", "listed building"),
    "gap": ("缺口中心", "gap centre"), "gap centre": ("缺口中心", "gap centre"), "candidates": ("候选清单", "candidate list"),
    "township_home": ("乡镇敬老院", "township home"), "county_centre": ("县社会福利中心", "county centre"),
    "optimal": ("已证明最优", "proven optimal"), "heuristic": ("启发式解（附最优界与差距）", "heuristic (bound and gap stated)"),
    "time_limit": ("达到时间上限（附最优界与差距）", "time limit reached (bound and gap stated)"),
    "gap_limit": ("达到设定差距", "within the gap asked for"),
}  # fmt: skip

#: the steps a solver method code (``SiteSelection.method``, steps joined by "+") names
METHOD_STEPS: dict[str, tuple[str, str]] = {
    "greedy": ("贪心选址", "greedy"), "interchange": ("交换改进", "interchange"), "swap": ("交换改进", "interchange"),
    "lagrangian-proof": ("拉格朗日下界证明", "proof by the Lagrangian bound"),
    "lagrangian-branch-and-bound": ("拉格朗日分支定界", "Lagrangian branch-and-bound"),
    "highs-mip": ("整数规划（HiGHS）", "integer programme (HiGHS)"),
    "highs-lscp": ("集合覆盖整数规划（HiGHS）", "set-covering integer programme (HiGHS)"),
    "binary-search": ("服务半径二分搜索", "binary search over the radius"),
    "lp-start": ("线性松弛起点", "start from the LP relaxation"),
    "block-decomposition": ("分块分解界", "block-decomposition bound"),
    "block-decomposition-proof": ("分块分解界证明", "proof by the block-decomposition bound"),
    "redundancy": ("剔除冗余站点", "redundant sites removed"), "farthest-first": ("最远点优先", "farthest-first"),
    "greedy-cover-search": ("贪心覆盖搜索", "greedy cover search"),
    "capacitated-lagrangian": ("容量拉格朗日界", "capacitated Lagrangian bound"),
    "assignment": ("容量内精确分配", "exact assignment within capacities"),
}  # fmt: skip


def method_words(code: str, lang: str = "both") -> str:
    """A solver method code such as ``greedy+interchange+lagrangian-proof`` in words, step
    by step; steps without words keep their code."""
    steps = [s for s in str(code).split("+") if s]
    zh = "＋".join(METHOD_STEPS[s][0] if s in METHOD_STEPS else s for s in steps)
    en = " + ".join(METHOD_STEPS[s][1] if s in METHOD_STEPS else s for s in steps)
    return tr(zh, en, lang)
_CODE_COLUMNS = {"status", "kind", "point_status", "role", "action", "scope", "area_type", "source_kind", "source"}

_SHARE = re.compile(r"(^|_)w?share(_|$)|_share$|(^|_)rate(_(?!m2)|$)|^achieved$|^target$|^occupancy")
_COUNT = re.compile(r"^n_|_points$|^points_|^zones_|^villages_|^households|^elderly|^population|^capacity$|^beds$|^count$|^rank$|^needed$|^proposed$")
_FLAG = re.compile(r"^(meets|covered|within|is|same|usable|floor_ok|false_coverage|newly|existing)(_|$)")


def tr(zh: str, en: str, lang: str = "both") -> str:
    """``zh``, ``en`` or both (Chinese first) by ``lang``."""
    return {"zh": zh, "en": en}.get(lang, f"{zh} {en}")


_BILINGUAL = re.compile(r"^(?P<zh>[^A-Za-z]*[\u4e00-\u9fff][^A-Za-z]*?)\s+[A-Za-z].*$", re.S)


def in_lang(text: str, lang: str) -> str:
    """A bilingual ``"中文 English"`` text in ``lang``: its Chinese part for ``"zh"``
    (``"养老服务设施覆盖评估 Coverage audit"`` -> ``"养老服务设施覆盖评估"``), else as given."""
    m = _BILINGUAL.match(str(text)) if lang == "zh" else None
    return m["zh"].strip() if m else str(text)


#: the names of the weight columns (``AuditResult.meta["weight_column"]``)
WEIGHT_NAMES = {"elderly": ("老年人口", "older residents"), "population": ("人口", "population"), "households": ("户数", "households")}


def rule_labels(config: AuditConfig, weight_column: object = None) -> dict[str, tuple[str, str]]:
    """Column names that carry a rule, named with :meth:`AuditConfig.rule_label`; weights
    named by their column (``"elderly"``: older residents) when ``weight_column`` is known."""
    wz, we = WEIGHT_NAMES.get(str(weight_column), ("权重", "weight"))
    out: dict[str, tuple[str, str]] = {}
    if str(weight_column) in WEIGHT_NAMES:
        out["weight"] = (f"权重（{wz}）", f"Weight ({we})")
        out["weight_total"] = (f"{wz}合计", f"{we[:1].upper() + we[1:]} (total)")
        out["weight_nearest"] = (f"以其为最近设施的{wz}", f"{we[:1].upper() + we[1:]} nearest to it")
    for rule in ("radius", "time", "both"):
        zh, en = config.rule_label(rule, lang="zh"), config.rule_label(rule, lang="en")
        out[f"covered_{rule}"] = (zh, f"within {en}")
        out[f"within_{rule}"] = (zh, f"within {en}")
        out[f"n_covered_{rule}"] = (f"{zh}点数", f"Points within {en}")
        out[f"share_{rule}"] = (f"{zh}比例", f"Share within {en}")
        out[f"weight_covered_{rule}"] = (f"{zh}{wz}", f"{we[:1].upper() + we[1:]} within {en}")
        out[f"wshare_{rule}"] = (f"{zh}{wz}比例", f"Share of {we} within {en}")
    return out


def header(code: object, lang: str = "both", labels: Mapping[str, tuple[str, str]] | None = None) -> str:
    """The readable name of a column: its label, else the code in words (never snake_case)."""
    key = str(code)
    pair = (labels or {}).get(key) or LABELS.get(key)
    if pair is None:
        if "_" not in key:
            return key
        words = key.replace("_", " ").strip()
        return words[:1].upper() + words[1:]
    return tr(pair[0], pair[1], lang)


def text_value(value: Any, lang: str = "both") -> str:
    """Lists, tuples, sets and mappings as text (``"radius、time"``, ``"radius_m: 1000"``),
    never a Python repr; other values as ``str``."""
    sep = "、" if lang == "zh" else ", "
    if isinstance(value, Mapping):
        return "; ".join(f"{k}: {text_value(v, lang)}" for k, v in value.items())
    if isinstance(value, (list, tuple, set, frozenset, np.ndarray)):
        return sep.join(text_value(v, lang) for v in value)
    if isinstance(value, float) and not math.isfinite(value):
        return "—"
    return "" if value is None else str(value)


def _number(x: float, col: str) -> str:
    if not math.isfinite(x):
        return "—"
    if col in ("lon", "lat", "lon_wgs84", "lat_wgs84"):
        return f"{x:.6f}"
    if col == "gap":  # a solver's relative optimality gap: 0.00076 is 0.076 %, not "0.00"
        return "0 %" if abs(x) < 1e-9 else f"{100 * x:.3g} %"
    if _SHARE.search(col):
        return pct(x, 0 if col == "target" else 1)
    if _COUNT.search(col) or float(x).is_integer():
        return f"{x:,.0f}"
    if col.endswith("_m") or col.endswith("_m2"):
        return f"{x:,.0f}"
    return f"{x:,.1f}" if abs(x) >= 10 else f"{x:,.2f}"


def _cell(value: Any, col: str, lang: str) -> str:
    if value is None or (not isinstance(value, (str, list, tuple, dict, np.ndarray)) and pd.isna(value)):
        return "—"
    if isinstance(value, (bool, np.bool_)) or (_FLAG.search(col) and value in (0, 1)):
        return tr("是", "yes", lang) if bool(value) else tr("否", "no", lang)
    if isinstance(value, (int, float, np.integer, np.floating)):
        return _number(float(value), col)
    if col in _CODE_COLUMNS and str(value) in VALUE_LABELS:
        return tr(*VALUE_LABELS[str(value)], lang)
    text = text_value(value, lang)
    return text if text.strip() else "—"


def readable_table(df: pd.DataFrame, lang: str = "both", *, labels: Mapping[str, tuple[str, str]] | None = None) -> pd.DataFrame:
    """``df`` as text for a report: readable headers, integers, percentages, yes/no, codes
    in words, no geometry. Columns already readable (not codes) keep their text."""
    frame = pd.DataFrame(df).drop(columns="geometry", errors="ignore")
    out = pd.DataFrame(index=frame.index)
    for code in frame.columns:
        col = str(code)
        out[_unique(header(col, lang, labels), out.columns, col)] = [_cell(v, col, lang) for v in frame[code].tolist()]
    return out.reset_index(drop=True)


def _unique(name: str, taken: Any, code: str) -> str:
    """``name``, or ``name [code]`` when another column already has it (never two alike)."""
    return name if name not in set(taken) else f"{name} [{code}]"


def excel_table(df: pd.DataFrame, lang: str = "both", *, labels: Mapping[str, tuple[str, str]] | None = None) -> pd.DataFrame:
    """``df`` for a workbook: readable headers, numbers kept as numbers (shares stay
    0–1 and are shown as percentages by the workbook), flags and codes as words, lists as
    text, points as longitude/latitude."""
    points = with_coordinates(df)  # points as WGS-84 lon/lat, whatever the layer's CRS
    if points is not df:
        points = points.rename(columns={"lon_wgs84": "lon", "lat_wgs84": "lat"})
    frame = plain_table(points)
    out = pd.DataFrame(index=frame.index)
    for code in frame.columns:
        col, values = str(code), frame[code]
        if values.dtype == bool or (values.dtype == object and values.map(lambda v: isinstance(v, (bool, np.bool_))).all() and len(values)):
            values = pd.Series([_cell(v, col, lang) for v in values], index=values.index)
        elif values.dtype == object:
            values = pd.Series([_cell(v, col, lang) if not isinstance(v, str) or col in _CODE_COLUMNS else v for v in values], index=values.index)
        out[_unique(header(col, lang, labels), out.columns, col)] = values.to_numpy()
    return out.reset_index(drop=True)
