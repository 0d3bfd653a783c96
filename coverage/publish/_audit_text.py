"""The audit's words: the rules and their sources, the parameters, bilingual column labels,
the audit's report sections and Excel sheets (private helper of
:mod:`coverage.publish.audit_package`).

The rules come from the policy digest (``policy-rules.md``); each names the planning
document (file number and section) it comes from. The radius, the service-circle minutes
and the walking speed are stated as the run used them (its ``meta``). Paragraphs and
tables hold plain text: :func:`coverage.publish.report.write_report` escapes all of it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..config import SPEED_SOURCE, AuditConfig
from .report import ReportBasis, ReportSection

__all__ = [
    "LABELS", "SOURCE_DOCUMENTS", "audit_sections", "excel_sheets", "is_model_county", "label",
    "parameter_rows", "report_basis", "rule_rows",
]  # fmt: skip

#: the rules' own values (the policy standards) and the default walking speed
_STANDARD = AuditConfig()
_RADIUS_SOURCE = "002 平阴县 Pingyin §三(一)"
_CIRCLE_SOURCE = "001 会昌县 Huichang §(八); 002 平阴县 Pingyin §三(一)"

SOURCE_DOCUMENTS: tuple[tuple[str, str, str], ...] = (
    ("000", "湖南省江永县 Jiangyong County, Hunan", "2022年养老服务“办实事”激励方案 elderly-care incentive plan (2022)"),
    ("001", "江西省会昌县 Huichang County, Jiangxi", "推进养老服务高质量发展的意见 opinions on high-quality elderly care (2021)"),
    ("002", "山东省平阴县 Pingyin County, Shandong", "创建省级养老服务示范县实施方案 provincial model county plan (2021)"),
    ("003", "安徽省六安市 Lu'an City, Anhui", "2021—2023年行动计划任务清单 action-plan task list"),
    ("004", "重庆市奉节县 Fengjie County, Chongqing", "农村养老服务全覆盖实施方案 rural full-coverage plan (2021)"),
)

# code -> (中文, English): report headers are "中文 English", Excel headers "中文 code"
LABELS: dict[str, tuple[str, str]] = {
    "id": ("编号", "ID"), "name": ("名称", "Name"), "kind": ("类型", "Kind"),
    "households": ("户数", "Households"), "elderly": ("老年人口", "Older residents"),
    "population": ("人口", "Population"), "zone_id": ("片区编号", "Zone ID"),
    "zone_name": ("片区", "Zone"), "facility_id": ("最近设施编号", "Nearest facility ID"),
    "facility_name": ("最近设施", "Nearest facility"), "dist_m": ("路网距离(m)", "Network distance (m)"),
    "time_min": ("步行时间(分钟)", "Walking time (min)"), "covered_radius": ("半径内覆盖", "Covered (radius)"),
    "covered_time": ("服务圈内覆盖", "Covered (time)"), "within_circle": ("直线圆内", "Inside straight-line circle"),
    "euclid_m": ("直线距离(m)", "Straight-line distance (m)"), "false_coverage": ("虚假覆盖", "False coverage"),
    "access_m": ("离路距离(m)", "Distance to road (m)"), "status": ("状态", "Status"),
    "weight": ("权重", "Weight"), "lon": ("经度", "Longitude"), "lat": ("纬度", "Latitude"),
    "scope": ("范围", "Scope"), "n_points": ("点数", "Points"),
    "n_covered_radius": ("半径内覆盖点数", "Covered (radius)"), "share_radius": ("半径覆盖率", "Share (radius)"),
    "n_covered_time": ("服务圈覆盖点数", "Covered (time)"), "share_time": ("服务圈覆盖率", "Share (time)"),
    "weight_total": ("权重合计", "Total weight"), "weight_covered_radius": ("半径内覆盖权重", "Weight covered (radius)"),
    "wshare_radius": ("加权半径覆盖率", "Weighted share (radius)"),
    "weight_covered_time": ("服务圈覆盖权重", "Weight covered (time)"),
    "wshare_time": ("加权服务圈覆盖率", "Weighted share (time)"),
    "n_false_coverage": ("虚假覆盖点数", "False coverage"), "n_unreachable": ("无法到达点数", "Unreachable"),
    "n_beyond_cutoff": ("超出搜索范围点数", "Beyond cutoff"), "target": ("目标", "Target"),
    "meets_target": ("达标", "Meets target"), "floor_area_m2": ("建筑面积(m²)", "Floor area (m²)"),
    "capacity": ("床位", "Beds"), "n_nearest": ("最近服务点数", "Points nearest"),
    "weight_nearest": ("最近服务权重", "Weight nearest"), "usable": ("可用", "Usable"),
    "component": ("连通分量", "Component"), "n_nodes": ("节点数", "Nodes"), "n_edges": ("路段数", "Edges"),
    "length_m": ("道路长度(m)", "Road length (m)"), "share_length": ("长度占比", "Share of length"),
}  # fmt: skip


def label(code: str, *, excel: bool = False) -> str:
    """Bilingual header of a column: ``"中文 English"`` (report) or ``"中文 code"`` (Excel)."""
    zh, en = LABELS.get(str(code), (None, None))
    if zh is None:
        return str(code)
    return f"{zh} {code}" if excel else f"{zh} {en}"


def is_model_county(source: object) -> bool:
    """Whether a data-source text names the generated model county."""
    text = str(source or "").lower()
    return "model county" in text or "model_county" in text or "模型县" in text


# --------------------------------------------------------------------------- formatting
def _num(value: object, unit: str = "", digits: int | None = 0) -> str:
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(value)
    if not np.isfinite(x):
        return "—"
    return (f"{x:g}" if digits is None else f"{x:,.{digits}f}") + unit


def _params(meta: Mapping[str, Any]) -> dict[str, Any]:
    """The audit configuration recorded in ``meta["parameters"]`` (empty without one)."""
    raw = meta.get("parameters")
    return dict(raw) if isinstance(raw, Mapping) else {}


def _getter(meta: Mapping[str, Any]) -> Callable[[str], Any]:
    """Look a parameter up in ``meta``, then in ``meta["parameters"]``."""
    p = _params(meta)
    return lambda k: meta.get(k, p.get(k))


def _used(meta: Mapping[str, Any], key: str) -> float:
    """The value of a rule the run used (``meta``), else the standard."""
    try:
        value = float(_getter(meta)(key))
    except (TypeError, ValueError):
        return float(getattr(_STANDARD, key))
    return value if np.isfinite(value) else float(getattr(_STANDARD, key))


def _against_standard(text: str, value: float, standard: float, standard_text: str) -> str:
    return text if value == standard else f"{text}（标准 standard {standard_text}）"


def rule_rows(meta: Mapping[str, Any]) -> list[tuple[str, str, str, str]]:
    """``(rule, value, source document, checked here)`` of the planning rules.

    The coverage radius, the service-circle minutes and the walking speed are those of
    the run (``meta``; the standards when absent), with the standard beside a radius or
    minutes that differ from it.
    """
    radius, minutes, speed = (_used(meta, k) for k in ("radius_m", "time_min", "speed_mps"))
    return [
        ("社区养老服务设施覆盖半径 Coverage radius of community elderly-care facilities",
         _against_standard(f"≤ {radius:g} m", radius, _STANDARD.radius_m, f"≤ {_STANDARD.radius_m:g} m"),
         _RADIUS_SOURCE, "是 yes (by road 按路网)"),
        ("15分钟养老服务圈（助餐、助急、助医、助行等）15-minute elderly-care service circle",
         _against_standard(f"{minutes:g} min 步行 walking", minutes, _STANDARD.time_min, f"{_STANDARD.time_min:g} min"),
         _CIRCLE_SOURCE, "是 yes (at the walking speed above 按上述步速)"),
        ("新建小区配建养老服务用房（四同步）New residential developments", "≥ 20 m² / 100 户 households",
         "002 §三(一); 000 江永县 Jiangyong §二(二)1; 001 §(十七)", "否 no"),
        ("已建成小区补足养老服务用房 Existing residential areas (make-up)", "≥ 15 m² / 100 户 households",
         "002 §三(一); 001 §(十七)", "否 no"),
        ("村级互助养老点（每村一个）Village mutual-aid point, one per village", "≥ 100 m²", "004 奉节县 Fengjie §二(四)", "否 no"),
        ("乡镇养老服务中心 / 街道 Township elderly-care centre / street level", "≥ 800 m² / ≥ 1500 m²",
         "004 奉节县 Fengjie §二(三)", "否 no"),
        ("老年人步行速度（参数，非政策）Older people's walking speed (parameter, not policy)", f"{speed:g} m/s",
         SPEED_SOURCE, "参数 parameter"),
    ]  # fmt: skip


def report_basis(meta: Mapping[str, Any]) -> ReportBasis:
    """The parameters, rules and source documents of a report on a run (``meta``), and the
    note that the data are generated when they come from the model county."""
    notes = ["模型县：程序生成的示例数据，并非真实地点。 Generated model county, not a real place."] if is_model_county(meta.get("source")) else []
    return ReportBasis(parameter_rows(meta), rule_rows(meta), SOURCE_DOCUMENTS, notes)


def parameter_rows(meta: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """``(parameter, value, source)`` for the parameters present in ``meta``."""
    p, get = _params(meta), _getter(meta)
    rows: list[tuple[str, str, str]] = []
    if get("speed_mps") is not None:
        rows.append(("步行速度 Walking speed of older people", _num(get("speed_mps"), " m/s", None),
                     str(p.get("speed_source") or SPEED_SOURCE)))  # fmt: skip
    if get("radius_m") is not None:
        rows.append(("覆盖半径 Coverage radius (by road)", _num(get("radius_m"), " m"), _RADIUS_SOURCE))
    if get("time_min") is not None:
        rows.append(("服务圈 Service circle (walking)", _num(get("time_min"), " min", 0), _CIRCLE_SOURCE))
    if get("walk_limit_m") is not None:
        rows.append(("步行距离限值 Walk limit = time × 60 × speed", _num(get("walk_limit_m"), " m"), "由以上参数计算 derived"))
    if "target" in meta:
        t = meta.get("target")
        rule = {"radius": "覆盖半径 radius", "time": "服务圈 service circle", "both": "两项 both"}.get(str(meta.get("target_rule")), str(meta.get("target_rule")))
        value = f"{_pct0(t)} ({rule})" if t is not None else "未设定 none"
        rows.append(("覆盖目标 Coverage target", value, "用户设定 set by the user (--target); cf. 001 §(二), §(五); 000 §二(四)3"))
    if p.get("snap_tolerance_m") is not None:
        rows.append(("吸附容差 Snap tolerance", _num(p["snap_tolerance_m"], " m"), "离路更远的点记为无法到达 farther points are unreachable"))
    if p.get("access_counts") is not None:
        rows.append(("接入步行 Access walk to the road", "计入 counted" if p["access_counts"] else "不计 not counted", "点到最近道路的直线距离 straight walk to the nearest road"))
    if p.get("search_cutoff_m") is not None:
        rows.append(("搜索范围 Search cutoff", _num(p["search_cutoff_m"], " m"), "更远记为超出范围 farther: beyond cutoff"))
    if meta.get("weight_column"):
        rows.append(("加权 Weight column", str(meta["weight_column"]), "加权比例按此列 weighted shares use this column"))
    if meta.get("crs"):
        rows.append(("坐标系 CRS (distances)", str(meta["crs"]), "米制投影 metric projection; outputs in EPSG:4326"))
    return rows


def _pct0(x: Any) -> str:
    try:
        return f"{float(x):.0%}"
    except (TypeError, ValueError):
        return str(x)


def _pct(x: Any) -> str:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return "—"
    return f"{v:.1%}" if np.isfinite(v) else "—"


def _m(x: Any) -> str:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return "—"
    return f"{v:,.0f}" if np.isfinite(v) else "—"


def _yes(x: Any) -> str:
    return "—" if pd.isna(x) else ("✓ 是" if bool(x) else "✗ 否")


def _display(df: pd.DataFrame, cols: list[str], fmt: dict[str, Any]) -> pd.DataFrame:
    """``df[cols]`` formatted as text with bilingual headers."""
    out = pd.DataFrame(index=df.index)
    for c in cols:
        if c in df:
            col = df[c].map(fmt[c]) if c in fmt else df[c]
            out[label(c)] = col.mask(col.astype(str).str.strip() == "", "—") if col.dtype == object else col
    return out.reset_index(drop=True)


def _who(weight_column: object) -> str:
    w = str(weight_column or "")
    return {"elderly": "老年人口 older residents", "population": "人口 population", "households": "户数 households"}.get(w, w)


# --------------------------------------------------------------------------- sections
def audit_sections(result: Any, *, charts: dict[str, Path]) -> list[ReportSection]:
    """The report sections of an audit (summary, zones, false coverage, gaps, facilities, roads)."""
    out = [_overall_section(result, charts)]
    if result.by_zone is not None:
        out.append(_zone_section(result, charts))
    rad = f"{result.config.radius_m:,.0f} m"
    out += [_false_coverage_section(result.false_coverage, rad), _gaps_section(result, rad),
            _facilities_section(result.facilities), _roads_section(result.components)]  # fmt: skip
    return out


def _overall_section(result: Any, charts: dict[str, Path]) -> ReportSection:
    """Points within each rule, false coverage, unreachable points, the target."""
    cfg, meta, d = result.config, result.meta, result.demand
    s = result.summary.iloc[0]
    n = int(s.n_points)
    rad, tim = f"{cfg.radius_m:,.0f} m", f"{cfg.time_min:g} min"
    walk = f"{cfg.walk_limit_m:,.0f} m"
    who = _who(meta.get("weight_column"))
    n_circle = int(d["within_circle"].sum())
    key = pd.DataFrame({
        "规则 Rule": [f"路网 ≤ {rad} By road within {rad}", f"步行 {tim}（≤ {walk}）Walk within {tim}",
                      f"直线圆 {rad}（参考）Straight-line circle (reference only)"],
        "覆盖点数 Points covered": [f"{int(s.n_covered_radius)} / {n}", f"{int(s.n_covered_time)} / {n}", f"{n_circle} / {n}"],
        "比例 Share": [_pct(s.share_radius), _pct(s.share_time), _pct(n_circle / n if n else np.nan)],
        f"加权比例 Weighted share ({who})": [_pct(s.wshare_radius), _pct(s.wshare_time), "—"],
    })  # fmt: skip
    paras = [
        f"{n} 个需求点，{meta.get('n_facilities')} 处设施；老年人步行速度 {cfg.speed_mps:g} m/s，{tim} 步行 {walk}。"
        f" {n} demand points, {meta.get('n_facilities')} facilities; walking speed {cfg.speed_mps:g} m/s, {walk} in {tim}.",
        f"按路网 {rad} 以内：{int(s.n_covered_radius)}/{n}（{_pct(s.share_radius)}），加权 {_pct(s.wshare_radius)}。"
        f" Within {rad} by road: {int(s.n_covered_radius)}/{n} ({_pct(s.share_radius)}); weighted {_pct(s.wshare_radius)}.",
        f"{tim} 步行以内：{int(s.n_covered_time)}/{n}（{_pct(s.share_time)}），加权 {_pct(s.wshare_time)}。"
        f" Within a {tim} walk: {int(s.n_covered_time)}/{n} ({_pct(s.share_time)}); weighted {_pct(s.wshare_time)}.",
        f"虚假覆盖（直线圆内、路网不达）：{int(s.n_false_coverage)}；无法到达（离路过远）：{int(s.n_unreachable)}；"
        f"{cfg.search_cutoff_m:,.0f} m 内无设施：{int(s.n_beyond_cutoff)}。 False coverage (circle yes, road no): "
        f"{int(s.n_false_coverage)}; unreachable (off-road): {int(s.n_unreachable)}; no facility within "
        f"{cfg.search_cutoff_m:,.0f} m: {int(s.n_beyond_cutoff)}.",
    ]  # fmt: skip
    if meta.get("target") is not None and "meets_target" in result.summary:
        ok = bool(s.meets_target)
        paras.append(f"全县目标 {float(meta['target']):.0%}（{meta.get('target_rule')}）：{'已达到' if ok else '未达到'}。"
                     f" County-wide target {float(meta['target']):.0%} ({meta.get('target_rule')}): {'met' if ok else 'not met'}.")  # fmt: skip
    figs = [("到最近设施的路网距离分布 Network distance to the nearest facility", charts["chart_distance"])] if "chart_distance" in charts else []
    return ReportSection("总体覆盖 Overall coverage", paras, [("主要指标 Key figures", key)], figs)


def _zone_section(result: Any, charts: dict[str, Path]) -> ReportSection:
    """Coverage per zone and the zones below the target."""
    bz, meta = result.by_zone, result.meta
    cols = ["zone_id", "zone_name", "n_points", "n_covered_radius", "share_radius", "share_time",
            "wshare_radius", "wshare_time", "n_false_coverage", "meets_target"]  # fmt: skip
    fmt = {c: _pct for c in ("share_radius", "share_time", "wshare_radius", "wshare_time")} | {"meets_target": _yes}
    zp = []
    if "meets_target" in bz:
        miss = bz.loc[~bz["meets_target"].fillna(False).astype(bool)]
        names = miss["zone_name"] if "zone_name" in miss else miss["zone_id"]
        zp.append(f"{len(bz) - len(miss)}/{len(bz)} 个片区达到目标 {float(meta['target']):.0%}。"
                  f" {len(bz) - len(miss)} of {len(bz)} zones meet the {float(meta['target']):.0%} target.")  # fmt: skip
        if len(miss):
            zp.append("未达标片区 Zones below target: " + "、".join(map(str, names)))
    zf = [("各片区覆盖率 Share covered per zone", charts["chart_by_zone"])] if "chart_by_zone" in charts else []
    return ReportSection("分片区覆盖 Coverage by zone", zp, [("分片区 By zone", _display(bz, cols, fmt))], zf)


_FMT_DIST = {"euclid_m": _m, "dist_m": _m, "weight": _m}


def _false_coverage_section(false_coverage: pd.DataFrame, rad: str) -> ReportSection:
    """Points inside the straight-line circle but beyond the radius by road."""
    fc = false_coverage.sort_values("euclid_m")
    cols = ["id", "name", "zone_name", "euclid_m", "dist_m", "facility_name", "weight"]
    return ReportSection(
        "虚假覆盖 False coverage (straight-line circle yes, road no)",
        [f"直线 {rad} 圆内、但沿道路超过 {rad} 的需求点：{len(fc)} 个。直线半径高估了实际可达范围（河流、铁路、断头路）。"
         f" {len(fc)} demand points lie inside a straight-line {rad} circle but farther than {rad} by road; "
         "straight-line circles overstate reach (rivers, railways, dead ends)."],
        [("虚假覆盖点 False-coverage points", _display(fc, cols, _FMT_DIST))] if len(fc) else [],
    )  # fmt: skip


def _gaps_section(result: Any, rad: str) -> ReportSection:
    """Demand not covered within the radius, largest weight first."""
    d = result.demand
    who = _who(result.meta.get("weight_column"))
    gaps = d.loc[~d["covered_radius"].astype(bool)].sort_values(["weight", "id"] if "id" in d else ["weight"], ascending=False)
    cols = ["id", "name", "zone_name", "weight", "dist_m", "euclid_m", "status"]
    return ReportSection(
        f"未覆盖需求点 Demand not covered within {rad} by road",
        [f"{len(gaps)} 个需求点在路网 {rad} 内没有设施，按权重（{who}）从大到小排列。"
         f" {len(gaps)} demand points have no facility within {rad} by road, largest weight first."],
        [("未覆盖 Not covered", _display(gaps, cols, _FMT_DIST))] if len(gaps) else [],
    )  # fmt: skip


def _facilities_section(facilities: pd.DataFrame) -> ReportSection:
    """What each facility reaches."""
    cols = ["id", "name", "kind", "floor_area_m2", "capacity", "n_nearest", "n_covered_radius",
            "weight_covered_radius", "n_covered_time", "access_m", "usable"]  # fmt: skip
    fmt_f = {"weight_covered_radius": _m, "access_m": _m, "floor_area_m2": _m, "usable": _yes}
    return ReportSection(
        "设施服务量 Facilities and what they reach",
        ["每个需求点计入最近的设施。离路超过吸附容差的设施不可用。"
         " Each demand point counts at its nearest facility; facilities farther from a road than the snap tolerance are not usable."],
        [("设施 Facilities", _display(facilities, cols, fmt_f))],
    )  # fmt: skip


def _roads_section(comp: pd.DataFrame) -> ReportSection:
    """The connected pieces of the road network."""
    cp = [f"路网共 {len(comp)} 个连通部分。 The road network has {len(comp)} connected piece(s)."]
    if len(comp) > 1:
        cp.append("不连通的部分之间无法步行到达，请核对路网数据。 Pieces are not reachable from one another on foot; check the road data.")
    return ReportSection("路网 Road network", cp, [("连通分量 Components", _display(
        comp.head(50), ["component", "n_nodes", "n_edges", "length_m", "share_length"],
        {"length_m": _m, "share_length": _pct}))])  # fmt: skip


# --------------------------------------------------------------------------- Excel
def _sheet(df: pd.DataFrame) -> pd.DataFrame:
    """Plain table for Excel: points as lon/lat, other geometry dropped, bilingual headers."""
    out = pd.DataFrame(df).copy()
    if "geometry" in out:
        geom = out["geometry"]
        if len(out) and all(getattr(g, "geom_type", "") == "Point" for g in geom if g is not None):
            out["lon"] = [g.x if g is not None else np.nan for g in geom]
            out["lat"] = [g.y if g is not None else np.nan for g in geom]
        out = out.drop(columns="geometry")
    return out.rename(columns=lambda c: label(c, excel=True))


def _parameters_sheet(result: Any) -> pd.DataFrame:
    rows = parameter_rows(dict(result.meta))
    rows += [("日期 Date", str(result.meta.get("date")), ""), ("数据来源 Data source", str(result.meta.get("source")), "")]
    rows += [(f"规则 {rule}", value, source) for rule, value, source, _checked in rule_rows(result.meta)]
    return pd.DataFrame(rows, columns=["参数 Parameter", "取值 Value", "来源 Source"])


def excel_sheets(result: Any) -> dict[str, pd.DataFrame]:
    """The sheets of ``audit_tables.xlsx``: summary, by zone, demand results, facilities,
    false coverage, components and parameters."""
    sheets = {"汇总 Summary": _sheet(result.summary)}
    if result.by_zone is not None:
        sheets["分片区 By zone"] = _sheet(result.by_zone)
    sheets["需求点 Demand"] = _sheet(result.demand)
    sheets["设施 Facilities"] = _sheet(result.facilities)
    sheets["虚假覆盖 False coverage"] = _sheet(result.false_coverage)
    sheets["路网连通 Components"] = _sheet(result.components)
    sheets["参数 Parameters"] = _parameters_sheet(result)
    return sheets

