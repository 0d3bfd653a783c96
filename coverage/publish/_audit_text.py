"""The audit's words: the findings (page 1), the report sections, the parameters and the
planning basis, and the Excel sheets (private helper of
:mod:`coverage.publish.audit_package`).

Every number comes from the audit's :class:`~coverage.audit.summary.CoverageSummary`
(``result.coverage``) and every figure is named by its rule
(:meth:`AuditConfig.rule_label <coverage.config.AuditConfig.rule_label>`), so the report
reads the same numbers under the same names as the console, the map legend, the CSV and
Excel tables. The rules come from the bundled library (:mod:`coverage.publish.plan_basis`):
cited as the basis only for the documents the user names, else shown as reference.
Paragraphs and tables hold plain text: :func:`coverage.publish.report.write_report`
escapes all of it. ``lang`` is ``"both"`` (Chinese and English) or ``"zh"``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..audit.summary import CoverageSummary, pct, points_short
from ..config import SPEED_SOURCE, AuditConfig
from ._labels import excel_table, rule_labels, tr
from .plan_basis import LIBRARY, PlanDocument, PlanRule, resolve_basis, rules_of
from .report import ReportBasis, ReportSection

__all__ = [
    "audit_findings", "audit_sections", "excel_sheets", "is_model_county", "parameter_rows", "report_basis",
]  # fmt: skip

#: the rules' own values (the policy standards) and the default walking speed
_STANDARD = AuditConfig()


def is_model_county(source: object) -> bool:
    """Whether a data-source text names the generated model county."""
    text = str(source or "").lower()
    return "model county" in text or "model_county" in text or "模型县" in text


# --------------------------------------------------------------------------- formatting
def _m(x: Any) -> str:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return "—"
    return f"{v:,.0f}" if np.isfinite(v) else "—"


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


def _who(weight_column: object, lang: str) -> str:
    w = str(weight_column or "")
    names = {"elderly": ("老年人口", "older residents"), "population": ("人口", "population"), "households": ("户数", "households")}
    return tr(*names[w], lang) if w in names else ""


# --------------------------------------------------------------------------- the basis
def _cite(rule: PlanRule, lang: str) -> str:
    doc = LIBRARY[rule.doc]
    return f"{doc.code} {doc.cite(lang)} {rule.section}"


def _rule_rows(rules: Sequence[PlanRule], meta: Mapping[str, Any], topics: Sequence[str], lang: str) -> list[tuple[str, str, str, str]]:
    """``(rule, standard, document, checked here)``; a checked rule says the value the run used."""
    used = {"radius": f"{_used(meta, 'radius_m'):g} m", "time": f"{_used(meta, 'time_min'):g} min"}
    rows = []
    for r in rules:
        checked = tr("否", "no", lang)
        if r.topic in topics:
            run = used.get(r.topic)
            checked = tr("是", "yes", lang) + (f"（{tr('本次', 'this run', lang)} {run}）" if run else "")
        rows.append((tr(*r.rule, lang), tr(*r.value, lang), _cite(r, lang), checked))
    return rows


def _doc_rows(docs: Sequence[PlanDocument], lang: str) -> list[tuple[str, str, str]]:
    rows = []
    for d in docs:
        if d.in_library:
            rows.append((d.code, d.cite(lang), tr(*d.title, lang)))
        else:
            rows.append(("—", tr("用户指定", "named by the user", lang), d.title[0]))
    return rows


def _source_of(topic: str, docs: Sequence[PlanDocument], default: str, lang: str) -> str:
    """The named documents that set a parameter, else ``default``."""
    lib = [d for d in docs if d.in_library]
    cites = [_cite(r, lang) for r in rules_of(lib, [topic])] if lib else []
    return "; ".join(cites) if cites else default


def parameter_rows(meta: Mapping[str, Any], *, lang: str = "both", docs: Sequence[PlanDocument] = ()) -> list[tuple[str, str, str]]:  # long: one row per parameter
    """``(parameter, value, source)`` for the parameters present in ``meta``: the rules'
    values cite the named basis documents that set them, else they are the run's."""
    p, get = _params(meta), _getter(meta)
    own = tr("本次评估参数", "parameter of this run", lang)
    rows: list[tuple[str, str, str]] = []
    if get("speed_mps") is not None:
        rows.append((tr("老年人步行速度", "Walking speed of older people", lang), f"{float(get('speed_mps')):g} m/s",
                     tr("参数，非政策规定：", "a parameter, not a policy: ", lang) + str(p.get("speed_source") or SPEED_SOURCE)))  # fmt: skip
    if get("radius_m") is not None:
        rows.append((tr("覆盖半径（路网距离）", "Coverage radius (by road)", lang), f"{_m(get('radius_m'))} m", _source_of("radius", docs, own, lang)))
    if get("time_min") is not None:
        rows.append((tr("服务圈（步行时间）", "Service circle (walking time)", lang), f"{float(get('time_min')):g} min", _source_of("time", docs, own, lang)))
    if get("walk_limit_m") is not None:
        rows.append((tr("步行距离限值 = 时间 × 60 × 步速", "Walk limit = time × 60 × speed", lang), f"{_m(get('walk_limit_m'))} m",
                     tr("由以上参数计算", "derived from the above", lang)))  # fmt: skip
    if meta.get("target") is not None:
        rule = str(meta.get("target_rule") or "radius")
        cfg = AuditConfig(radius_m=_used(meta, "radius_m"), time_min=_used(meta, "time_min"), speed_mps=_used(meta, "speed_mps"))
        label = cfg.rule_label(rule, lang="zh" if lang == "zh" else "both") if rule in ("radius", "time", "both") else rule
        rows.append((tr("覆盖目标", "Coverage target", lang), f"{pct(meta['target'], 0)}（{label}）", tr("用户设定（--target）", "set by the user (--target)", lang)))
    if isinstance(meta.get("targets"), (Mapping, float, int)):
        t = meta["targets"]
        kinds = {"community": ("社区", "communities"), "village": ("村", "villages")}
        value = "；".join(f"{tr(*kinds.get(str(k), (str(k), str(k))), lang)} {pct(v, 0)}" for k, v in t.items()) if isinstance(t, Mapping) else pct(t, 0)
        rows.append((tr("覆盖目标（各片区）", "Coverage targets (per zone)", lang), value,
                     tr("用户设定（--target-community、--target-village）", "set by the user (--target-community, --target-village)", lang)))  # fmt: skip
    if p.get("snap_tolerance_m") is not None:
        rows.append((tr("吸附容差", "Snap tolerance", lang), f"{_m(p['snap_tolerance_m'])} m",
                     tr("离路更远的点记为无法到达", "points farther from a road are unreachable", lang)))  # fmt: skip
    if p.get("access_counts") is not None:
        rows.append((tr("接入步行", "Access walk to the road", lang), tr("计入", "counted", lang) if p["access_counts"] else tr("不计", "not counted", lang),
                     tr("点到最近道路的直线距离", "straight walk to the nearest road", lang)))  # fmt: skip
    if p.get("search_cutoff_m") is not None:
        rows.append((tr("距离测算范围", "Search limit for distances", lang), f"{_m(p['search_cutoff_m'])} m",
                     tr("在此范围内为每个点给出到最近设施的路网距离（--search-limit）",
                        "every point gets its road distance to the nearest facility up to this far (--search-limit)", lang)))  # fmt: skip
    if meta.get("weight_column"):
        who = _who(meta["weight_column"], lang) or str(meta["weight_column"])
        rows.append((tr("加权", "Weights", lang), who, tr("加权比例按此列计算", "weighted shares use this column", lang)))
    if meta.get("crs"):
        rows.append((tr("坐标系（距离）", "CRS (distances)", lang), str(meta["crs"]), tr("米制投影；输出为 EPSG:4326", "metric projection; outputs in EPSG:4326", lang)))
    rows.append((tr("长度", "Lengths", lang), tr("WGS-84 椭球面测地线长度", "geodesic, on the WGS-84 ellipsoid", lang),
                 tr("道路、沿路位置、离路步行和直线距离均按椭球面计算（pyproj Geod）",
                    "roads, positions along them, off-road walks and straight lines (pyproj Geod)", lang)))  # fmt: skip
    if isinstance(meta.get("terrain"), Mapping):
        rows += terrain_rows(meta["terrain"], lang)
    return rows


def terrain_rows(t: Mapping[str, Any], lang: str = "both") -> list[tuple[str, str, str]]:
    """``(parameter, value, source)`` of an audit on terrain: the DEM, the slope model and
    its source, the stairs time and its source."""
    dem = str(t.get("dem", ""))
    desc = str(t.get("dem_description") or "")
    px = t.get("dem_pixel_size")
    size = f"{float(px[0]):g} × {float(px[1]):g}" if isinstance(px, (list, tuple)) and len(px) == 2 else ""
    return [
        (tr("高程模型", "Elevation model (DEM)", lang), dem + (f" ({t.get('dem_crs')}, {tr('像元', 'pixel', lang)} {size})" if size else ""),
         desc or tr("用户提供（--dem）", "given by the user (--dem)", lang)),
        (tr("坡度—步速模型", "Slope–speed model", lang), f"{t.get('slope_model_name', t.get('slope_model'))}", str(t.get("slope_source", ""))),
        (tr("台阶额外时间", "Extra time per flight of stairs", lang), f"{float(t.get('steps_seconds', 0)):g} s", str(t.get("steps_source", ""))),
        (tr("过主干道等候", "Delay per major-road crossing", lang), f"{float(t.get('crossing_seconds', 0)):g} s",
         tr("次要道路到达主干道（trunk/primary/secondary）路口时计入；0 为不计（--crossing-seconds）",
            "where a minor road arrives at a trunk/primary/secondary junction; 0 is off (--crossing-seconds)", lang)),
        (tr("高程采样间距", "Elevation sampled every", lang), f"{float(t.get('sample_m', 0)):g} m",
         tr(f"道路折点及其间每隔此距离双线性取值；无高程的采样点 {t.get('samples_without_elevation', 0)} 个（按平地）",
            f"at road vertices and this often between them, bilinear; {t.get('samples_without_elevation', 0)} samples without a height (taken as flat)", lang)),
    ]  # fmt: skip


def report_basis(
    meta: Mapping[str, Any],
    *,
    plan_basis: str | Sequence[str] | None = None,
    lang: str = "both",
    topics: Sequence[str] = ("radius", "time"),
    applicable_only: bool = False,
) -> ReportBasis:
    """What a report on a run (``meta``) rests on: the parameters used; the rules of the
    documents named in ``plan_basis`` (:func:`~coverage.publish.plan_basis.resolve_basis`),
    or, with none named, the bundled library as reference only; the model-county note.
    ``topics`` are the rules the report checks (:class:`~coverage.publish.plan_basis.PlanRule`);
    ``applicable_only``: show only those rules (and the documents that set them)."""
    docs = resolve_basis(plan_basis)
    notes = [tr("模型县：程序生成的示例数据，并非真实地点。", "Generated model county, not a real place.", lang)] if is_model_county(meta.get("source")) else []
    params = parameter_rows(meta, lang=lang, docs=docs)
    if docs:
        lib = [d for d in docs if d.in_library]
        only = topics if applicable_only else None
        rules = _rule_rows(rules_of(lib, only), meta, topics, lang) if lib else []
        return ReportBasis(params, rules, _doc_rows(docs, lang), notes)
    ref = rules_of([], topics if applicable_only else None)
    ref_docs = [d for d in LIBRARY.values() if not applicable_only or any(r.doc == d.key for r in ref)]
    return ReportBasis(params, (), (), notes, _rule_rows(ref, meta, topics, lang), _doc_rows(ref_docs, lang))


# --------------------------------------------------------------------------- page 1
def _verdict(result: Any, lang: str) -> list[str]:
    """The first paragraphs (Chinese, then English): the figures by rule and the target."""
    cov: CoverageSummary = result.coverage
    cfg = result.config
    n, r, t = cov.n_points, cov.figure("radius"), cov.figure("time")
    who_zh, who_en = _who(cov.weight_column, "zh"), _who(cov.weight_column, "en")
    wz = f"，覆盖{who_zh}的 {pct(r.wshare)}" if who_zh else ""
    we = f", covering {pct(r.wshare)} of {who_en}" if who_en else ""
    zh = (f"{n} 个需求点中，{r.count} 个（{pct(r.share)}）在路网 {cfg.radius_m:,.0f} 米内有养老服务设施{wz}；"
          f"按老年人步行 {cfg.time_min:g} 分钟（{cfg.speed_mps:g} m/s，约 {cfg.walk_limit_m:,.0f} 米）计，只有 {t.count} 个（{pct(t.share)}）。")
    en = (f"{r.count} of {n} demand points ({pct(r.share)}) have an elderly-care facility within "
          f"{cfg.radius_m:,.0f} m by road{we}; within a {cfg.time_min:g} min walk at {cfg.speed_mps:g} m/s "
          f"({cfg.walk_limit_m:,.0f} m) only {t.count} ({pct(t.share)}).")  # fmt: skip
    if cov.target is not None:
        label_zh, label_en = cfg.rule_label(cov.target_rule, lang="zh"), cfg.rule_label(cov.target_rule, lang="en")
        ok = bool(cov.meets_target)
        zh += f"{'已达到' if ok else '未达到'} {pct(cov.target, 0)} 的覆盖目标（{label_zh}）。"
        en += f" The {pct(cov.target, 0)} target ({label_en}) is {'met' if ok else 'not met'}."
    return [zh] if lang == "zh" else [zh, en]


def _zone_bullets(result: Any, lang: str) -> list[str]:
    """The (at most three) zones that fall short, most older residents outside the radius first."""
    bz, cov, cfg = result.by_zone, result.coverage, result.config
    if bz is None or not len(bz):
        return []
    z = bz.assign(w_out=bz["weight_total"] - bz["weight_covered_radius"])
    short = z[~z["meets_target"].fillna(False).astype(bool)] if "meets_target" in z else z[z["share_radius"] < 1]
    short = short.sort_values(["w_out", "zone_id"], ascending=[False, True])
    if not len(short):
        return [tr(f"全部 {len(z)} 个片区达到目标。", f"All {len(z)} zones meet the target.", lang)]
    who_zh, who_en = _who(cov.weight_column, "zh") or "权重", _who(cov.weight_column, "en") or "weight"
    rad = f"{cfg.radius_m:,.0f}"
    out = []
    for row in short.head(3).itertuples():
        name = getattr(row, "zone_name", row.zone_id)
        zh = f"{name}：{int(row.n_points)} 个点中 {int(row.n_covered_radius)} 个（{pct(row.share_radius)}）在路网 {rad} 米内"
        en = f"{name}: {int(row.n_covered_radius)} of {int(row.n_points)} points ({pct(row.share_radius)}) within {rad} m by road"
        if cov.target is not None:
            k = points_short(cov.target, row.n_points, row.n_covered_radius)
            zh += f"，达到 {pct(cov.target, 0)} 还差 {k} 个点"
            en += f"; {k} more to reach {pct(cov.target, 0)}"
        zh += f"；{rad} 米外{who_zh} {row.w_out:,.0f}。"
        en += f"; {who_en} beyond {rad} m: {row.w_out:,.0f}."
        out.append(tr(zh, en, lang))
    if len(short) > 3:
        out.append(tr(f"另有 {len(short) - 3} 个片区未达标，见“分片区覆盖”。", f"{len(short) - 3} more zones fall short: see Coverage by zone.", lang))
    return out


def _todo(result: Any, lang: str) -> list[str]:
    """What to do: the zones short of the target, the farthest homes, false coverage, next step."""
    cov, cfg, d = result.coverage, result.config, result.demand
    out = _zone_bullets(result, lang)
    gaps = d.loc[~d["covered_radius"].astype(bool)]
    far = gaps[np.isfinite(gaps["dist_m"].astype(float))].sort_values(["dist_m"], ascending=False).head(3)
    if len(far):
        names = "、".join(f"{n}（{v:,.0f} 米）" for n, v in zip(far.get("name", far.index).astype(str), far["dist_m"], strict=True))
        names_en = ", ".join(f"{n} ({v:,.0f} m)" for n, v in zip(far.get("name", far.index).astype(str), far["dist_m"], strict=True))
        out.append(tr(f"离设施最远的未覆盖点：{names}。", f"Farthest uncovered points by road: {names_en}.", lang))
    if cov.counts["beyond"]:
        k, lim = cov.counts["beyond"], f"{cfg.search_cutoff_m:,.0f}"
        out.append(tr(f"{k} 个点在路网 {lim} 米内没有任何设施。", f"{k} points have no facility within {lim} m by road.", lang))
    if cov.counts["false"]:
        k, rad = cov.counts["false"], f"{cfg.radius_m:,.0f}"
        out.append(tr(f"{k} 个点在直线 {rad} 米圆内、但沿道路超过 {rad} 米（虚假覆盖）：不应计为已覆盖。",
                      f"{k} points lie inside a straight-line {rad} m circle but farther than {rad} m by road (false coverage): do not count them as covered.", lang))  # fmt: skip
    if cov.counts["unreachable"]:
        k = cov.counts["unreachable"]
        out.append(tr(f"{k} 个点离道路过远，无法计算：请核对其坐标。", f"{k} points are too far from any road to be measured: check their coordinates.", lang))
    if len(gaps):
        out.append(tr(f"下一步：用 coverage site --report 为路网 {cfg.radius_m:,.0f} 米外的 {len(gaps)} 个点选址。",
                      f"Next: run coverage site --report to choose sites for the {len(gaps)} points beyond {cfg.radius_m:,.0f} m by road.", lang))  # fmt: skip
    return out


def _key_figures(cov: CoverageSummary, lang: str, keys: Sequence[str] = ("radius", "time", "both", "none", "false")) -> pd.DataFrame:
    """The key-figure table (the console's figures under the console's names)."""
    frame = cov.figures_frame(lang)
    order = [f.key for f in cov.figures()]
    keep = [k for k in keys] + [k for k in ("beyond", "unreachable") if cov.counts[k] and k not in keys]
    return frame.iloc[[order.index(k) for k in order if k in keep]].reset_index(drop=True)


def audit_findings(result: Any, *, lang: str = "both") -> ReportSection:
    """Page 1 of the audit report: the verdict, the key figures, what to do."""
    cov = result.coverage
    keys = ("radius", "time", "both", "none", "false") + (("time_terrain", "terrain_out") if getattr(cov, "terrain", None) is not None else ())
    return ReportSection(tr("结论", "Findings", lang), _verdict(result, lang),
                         [(tr("主要指标", "Key figures", lang), _key_figures(cov, lang, keys))], bullets=_todo(result, lang))  # fmt: skip


# --------------------------------------------------------------------------- sections
def audit_sections(result: Any, *, charts: Mapping[str, Path], lang: str = "both") -> list[ReportSection]:
    """The report sections after page 1: coverage by rule, by zone, false coverage, points
    not covered (with their road distance), facilities, roads."""
    out = [_overall_section(result, charts, lang)]
    if result.by_zone is not None:
        out.append(_zone_section(result, charts, lang))
    out += [_false_coverage_section(result, lang), _gaps_section(result, lang)]
    if getattr(result, "terrain", None) is not None:
        out.append(_terrain_section(result, lang))
    out += [_facilities_section(result, lang), _roads_section(result.components, lang)]
    return out


def _terrain_section(result: Any, lang: str) -> ReportSection:
    """The 15-minute circle on the terrain: how it was measured, and the homes the terrain
    takes out of it (slowest first)."""
    cov, d = result.coverage, result.demand
    t = result.terrain.record()
    tim = f"{result.config.time_min:g}"
    out = d[d["terrain_out"].astype(bool)].sort_values("terrain_time_min", ascending=False)
    cols = [c for c in ("id", "name", "zone_name", "weight", "dist_m", "time_min", "terrain_time_min", "terrain_facility_id") if c in out]
    fig, flat = cov.figure("time_terrain"), cov.figure("time")
    paras = [
        tr(f"按高程模型 {t['dem']} 沿每条道路取坡度（上坡、下坡按行走方向分别计算，从家到设施），用 {t['slope_model_name']} 坡度—步速模型换算步行时间，"
           f"台阶每段另加 {float(t['steps_seconds']):g} 秒。",
           f"Grades along every road from the DEM {t['dem']} (uphill and downhill by the direction walked, home to facility), turned into "
           f"walking time with the {t['slope_model_name']} slope–speed model; {float(t['steps_seconds']):g} s more per flight of stairs.", lang),
        tr(f"平地 {flat.count} 个点在步行{tim}分钟内，按地形 {fig.count} 个；地形使 {cov.counts['terrain_out']} 个点超出、"
           f"{cov.counts['terrain_in']} 个点（下坡）进入{tim}分钟服务圈。",
           f"On the flat {flat.count} points are within the {tim} min walk, on the terrain {fig.count}; terrain takes "
           f"{cov.counts['terrain_out']} out of the {tim} min circle and brings {cov.counts['terrain_in']} in (downhill).", lang),
        tr(f"来源：{t['slope_source']}；台阶：{t['steps_source']}。", f"Sources: {t['slope_source']}; stairs: {t['steps_source']}.", lang),
    ]  # fmt: skip
    tables = [(tr("地形使其超出服务圈的需求点", "Demand taken out of the circle by terrain", lang), out[cols])] if len(out) else []
    return ReportSection(tr(f"地形上的{tim}分钟服务圈", f"The {tim}-minute circle on the terrain", lang), paras, tables)


def _overall_section(result: Any, charts: Mapping[str, Path], lang: str) -> ReportSection:
    """Every figure by rule, how far the uncovered points are."""
    cov, cfg, d = result.coverage, result.config, result.demand
    gaps = d.loc[~d["covered_radius"].astype(bool), "dist_m"].astype(float)
    med = float(np.median(gaps[np.isfinite(gaps)])) if np.isfinite(gaps).any() else np.nan
    paras = [tr(f"{cov.n_points} 个需求点，{result.meta.get('n_facilities')} 处设施。每个点都给出到最近设施的路网距离（测算至 {cfg.search_cutoff_m:,.0f} 米）。",
                f"{cov.n_points} demand points, {result.meta.get('n_facilities')} facilities. Every point has its road distance to the nearest facility (measured up to {cfg.search_cutoff_m:,.0f} m).", lang)]  # fmt: skip
    if np.isfinite(med):
        paras.append(tr(f"路网 {cfg.radius_m:,.0f} 米外的 {len(gaps)} 个点，到最近设施的路网距离中位数为 {med:,.0f} 米。",
                        f"The {len(gaps)} points beyond {cfg.radius_m:,.0f} m by road are a median {med:,.0f} m from the nearest facility.", lang))  # fmt: skip
    figs = [(tr("到最近设施的路网距离分布", "Road distance to the nearest facility", lang), charts["chart_distance"])] if "chart_distance" in charts else []
    return ReportSection(tr("按规则的覆盖", "Coverage by rule", lang), paras, [(tr("全部指标", "All figures", lang), cov.figures_frame(lang))], figs)


def _zone_section(result: Any, charts: Mapping[str, Path], lang: str) -> ReportSection:
    """Coverage per zone and the zones below the target."""
    bz, cov = result.by_zone, result.coverage
    cols = ["zone_id", "zone_name", "n_points", "n_covered_radius", "share_radius", "n_covered_time", "share_time",
            "wshare_radius", "n_false_coverage", "meets_target"]  # fmt: skip
    zp = []
    if "meets_target" in bz and cov.target is not None:
        ok = bz["meets_target"].fillna(False).astype(bool)
        zp.append(tr(f"{int(ok.sum())}/{len(bz)} 个片区达到目标 {pct(cov.target, 0)}。", f"{int(ok.sum())} of {len(bz)} zones meet the {pct(cov.target, 0)} target.", lang))
        if (~ok).any():
            names = (bz["zone_name"] if "zone_name" in bz else bz["zone_id"])[~ok].astype(str)
            zp.append(tr("未达标片区：", "Zones below the target: ", lang) + "、".join(names))
    shown = bz[[c for c in cols if c in bz]]
    zf = [(tr("各片区覆盖率", "Share covered per zone", lang), charts["chart_by_zone"])] if "chart_by_zone" in charts else []
    return ReportSection(tr("分片区覆盖", "Coverage by zone", lang), zp, [(tr("分片区", "By zone", lang), shown)], zf)


def _false_coverage_section(result: Any, lang: str) -> ReportSection:
    """Points inside the straight-line circle but beyond the radius by road."""
    fc = result.false_coverage.sort_values("euclid_m")
    rad = f"{result.config.radius_m:,.0f}"
    cols = [c for c in ("id", "name", "zone_name", "euclid_m", "dist_m", "facility_name", "weight") if c in fc]
    text = tr(f"直线 {rad} 米圆内、但沿道路超过 {rad} 米的需求点：{len(fc)} 个。直线半径高估了实际可达范围（河流、铁路、断头路）。",
              f"{len(fc)} demand points lie inside a straight-line {rad} m circle but farther than {rad} m by road; "
              "straight-line circles overstate reach (rivers, railways, dead ends).", lang)  # fmt: skip
    return ReportSection(tr("虚假覆盖（直线圆内、路网不达）", "False coverage (straight-line circle yes, road no)", lang), [text],
                         [(tr("虚假覆盖点", "False-coverage points", lang), fc[cols])] if len(fc) else [])  # fmt: skip


def _gaps_section(result: Any, lang: str) -> ReportSection:
    """Demand not covered within the radius, largest weight first, with its road distance."""
    d = result.demand
    rad = f"{result.config.radius_m:,.0f}"
    who = _who(result.meta.get("weight_column"), lang) or tr("权重", "weight", lang)
    gaps = d.loc[~d["covered_radius"].astype(bool)].sort_values(["weight", "id"] if "id" in d else ["weight"], ascending=False)
    cols = [c for c in ("id", "name", "zone_name", "weight", "dist_m", "time_min", "facility_name", "euclid_m", "status") if c in gaps]
    text = tr(f"{len(gaps)} 个需求点在路网 {rad} 米内没有设施，按{who}从大到小排列；距离为到最近设施的路网距离。",
              f"{len(gaps)} demand points have no facility within {rad} m by road, largest {who} first; distances are by road to the nearest facility.", lang)  # fmt: skip
    return ReportSection(tr(f"路网 {rad} 米外的需求点", f"Demand beyond {rad} m by road", lang), [text],
                         [(tr("未覆盖", "Not covered", lang), gaps[cols])] if len(gaps) else [])  # fmt: skip


def _facilities_section(result: Any, lang: str) -> ReportSection:
    """What each facility reaches."""
    f = result.facilities
    cols = [c for c in ("id", "name", "kind", "floor_area_m2", "capacity", "n_nearest", "n_covered_radius",
                        "weight_covered_radius", "n_covered_time", "access_m", "usable") if c in f]  # fmt: skip
    text = tr("每个需求点计入最近的设施。离路超过吸附容差的设施不可用。",
              "Each demand point counts at its nearest facility; facilities farther from a road than the snap tolerance are not usable.", lang)
    return ReportSection(tr("设施服务量", "Facilities and what they reach", lang), [text],
                         [(tr("设施", "Facilities", lang), f[cols])])  # fmt: skip


def _roads_section(comp: pd.DataFrame, lang: str) -> ReportSection:
    """The connected pieces of the road network."""
    cp = [tr(f"路网共 {len(comp)} 个连通部分。", f"The road network has {len(comp)} connected piece(s).", lang)]
    if len(comp) > 1:
        cp.append(tr("不连通的部分之间无法步行到达，请核对路网数据。", "Pieces are not reachable from one another on foot; check the road data.", lang))
    cols = [c for c in ("component", "n_nodes", "n_edges", "length_m", "share_length") if c in comp]
    return ReportSection(tr("路网", "Road network", lang), cp, [(tr("连通部分", "Components", lang), comp.head(50)[cols])])


# --------------------------------------------------------------------------- Excel
def excel_sheets(result: Any, *, lang: str = "both", plan_basis: str | Sequence[str] | None = None) -> dict[str, pd.DataFrame]:
    """The sheets of ``audit_tables.xlsx``: the summary (the figures by rule, as in the
    report and on the console), by zone, demand, facilities, false coverage, components and
    parameters, with readable headers."""
    labels = rule_labels(result.config, result.meta.get("weight_column"))

    def sheet(df: pd.DataFrame) -> pd.DataFrame:
        return excel_table(df, lang, labels=labels)

    sheets = {tr("汇总", "Summary", lang): result.coverage.figures_frame(lang)}
    if result.by_zone is not None:
        sheets[tr("分片区", "By zone", lang)] = sheet(result.by_zone)
    sheets[tr("需求点", "Demand", lang)] = sheet(result.demand)
    sheets[tr("设施", "Facilities", lang)] = sheet(result.facilities)
    sheets[tr("虚假覆盖", "False coverage", lang)] = sheet(result.false_coverage)
    sheets[tr("路网连通", "Components", lang)] = sheet(result.components)
    sheets[tr("参数", "Parameters", lang)] = _parameters_sheet(result, lang, plan_basis)
    return sheets


def _parameters_sheet(result: Any, lang: str, plan_basis: str | Sequence[str] | None) -> pd.DataFrame:
    basis = report_basis(result.meta, plan_basis=plan_basis, lang=lang)
    rows = list(basis.parameters)
    rows += [(tr("日期", "Date", lang), str(result.meta.get("date")), ""), (tr("数据来源", "Data source", lang), str(result.meta.get("source")), "")]
    if basis.rules:
        rows += [(f"{tr('依据', 'Basis', lang)}: {rule}", value, doc) for rule, value, doc, _checked in basis.rules]
    else:
        rows += [(f"{tr('参考', 'Reference', lang)}: {rule}", value, doc) for rule, value, doc, _checked in basis.reference_rules]
    return pd.DataFrame(rows, columns=[tr("参数", "Parameter", lang), tr("取值", "Value", lang), tr("来源", "Source", lang)])
