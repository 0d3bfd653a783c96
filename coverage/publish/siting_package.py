"""The outputs of a site selection: ``sites.gpkg`` and its tables (:func:`write_siting_outputs`)
and the committee package (:func:`siting_committee_package`: HTML + PDF report, Excel
workbook, before/after chart, map picture), each an all-or-nothing output set; the map is
:func:`coverage.publish.site_map.siting_map`.

Every coverage figure of the package comes from two
:class:`~coverage.audit.summary.CoverageSummary` objects (:func:`site_coverage`): the audit
of the existing facilities (before) and :meth:`SitingResult.after_audit
<coverage.siting.propose.SitingResult.after_audit>` (after, the same the site map's legend
reads), both on the selection's own engine, named by rule.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from ..audit.run import AuditOptions, AuditResult, audit_result
from ..audit.summary import CoverageSummary, pct
from ..audit.zones import zone_of_points
from ..engine.diagnostics import points_xy
from ..engine.whatif import AuditState
from ..siting.propose import SitingResult, note_text
from ._audit_text import report_basis
from ._labels import excel_table, rule_labels, tr
from .atomic import writes_output_set
from .excel import write_excel
from .report import Report, ReportOptions, ReportSection, write_report
from .tables import write_csv, write_gpkg, write_json

__all__ = [
    "SITE_PACKAGE_FILES", "SITING_FILES", "site_addresses", "site_coverage", "site_lines", "siting_committee_package",
    "write_siting_outputs",
]  # fmt: skip

logger = logging.getLogger(__name__)


#: the files :func:`write_siting_outputs` writes (``gaps.csv`` only with gaps)
SITING_FILES: dict[str, str] = {
    "gpkg": "sites.gpkg",
    "proposed": "proposed.csv",
    "before_after": "before_after.csv",
    "newly": "newly_covered.csv",
    "assignment": "assignment.csv",
    "meta": "siting.json",
    "gaps": "gaps.csv",
}


@writes_output_set('out_dir')
def write_siting_outputs(
    result: SitingResult,
    out_dir: str | Path,
    *,
    overwrite: bool = False,
    gaps: gpd.GeoDataFrame | None = None,
) -> dict[str, Path]:
    """Write ``sites.gpkg`` (proposed, sites, demand, service_areas, gaps), ``proposed.csv``,
    ``before_after.csv``, ``newly_covered.csv``, ``assignment.csv`` and ``siting.json``
    (and ``gaps.csv`` when ``gaps`` are given)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    names = {k: out / v for k, v in SITING_FILES.items() if k != "gaps"}
    if gaps is not None and len(gaps):
        names["gaps"] = out / SITING_FILES["gaps"]
    layers = {
        "proposed": result.proposed,
        "sites": result.sites,
        "demand": result.demand,
        "service_areas": result.service_areas,
        "gaps": gaps if gaps is not None and len(gaps) else None,
    }
    write_gpkg(names["gpkg"], layers, overwrite=overwrite)
    write_csv(names["proposed"], result.proposed, overwrite=overwrite)
    write_csv(names["before_after"], result.before_after, overwrite=overwrite)
    write_csv(names["newly"], result.newly_covered, overwrite=overwrite)
    write_csv(names["assignment"], result.selection.assignment_frame(), overwrite=overwrite)
    if "gaps" in names:
        write_csv(names["gaps"], gaps, overwrite=overwrite)
    write_json(names["meta"], result.meta, overwrite=overwrite)
    return names


# --------------------------------------------------------------------------- figures
def _before_audit(result: SitingResult, zones: gpd.GeoDataFrame | None, run_date: str | None) -> AuditResult:
    """The audit of the existing facilities alone, on the selection's engine and snapped layers."""
    st = result.study
    f = st.facilities.to_crs("EPSG:4326")
    fac = gpd.GeoDataFrame(f[[c for c in ("id", "name", "geometry") if c in f]], geometry="geometry", crs="EPSG:4326")
    state = AuditState.build(st.engine, st.site_layer.take(np.arange(st.n_existing)), st.demand_layer, warn_far=False, facility_layer=fac)
    opts = AuditOptions(weight_col=st.options.weight_col, with_service_areas=False, title="现状 Existing facilities", run_date=run_date)
    return audit_result(state, fac, st.demand, zones=zones, options=opts)


def site_coverage(
    result: SitingResult, *, zones: gpd.GeoDataFrame | None = None, run_date: str | None = None
) -> tuple[AuditResult, AuditResult]:
    """The audits before (existing facilities) and after (with the proposed sites): their
    ``coverage`` are the figures of the console, the report, the workbook and the site map."""
    return _before_audit(result, zones, run_date), result.after_audit(zones=zones, run_date=run_date)


def _rule(result: SitingResult) -> str:
    return str(result.study.options.rule)


def site_lines(result: SitingResult, before: CoverageSummary, after: CoverageSummary) -> list[str]:
    """The console's before → after lines, one per rule (the standard the sites were chosen
    for first), in the words of :meth:`CoverageSummary.lines`."""
    rule = _rule(result)
    out = []
    for key in [rule] + [k for k in ("radius", "time", "both") if k != rule]:
        b, a = before.figure(key), after.figure(key)
        mark = "  (the standard the sites were chosen for)" if key == rule else ""
        weighted = f"; weighted {pct(b.wshare)} -> {pct(a.wshare)}" if np.isfinite(a.wshare) else ""
        out.append(f"  {a.label('en')}: {b.count}/{b.total} ({pct(b.share)}) -> {a.count}/{a.total} ({pct(a.share)}){weighted}{mark}")
    return out


# --------------------------------------------------------------------------- addresses
def site_addresses(result: SitingResult, *, zones: gpd.GeoDataFrame | None = None, within_m: float = 300.0) -> pd.Series:
    """Where each proposed site is, in words: its zone's name and the nearest named road
    within ``within_m`` (the network's OSM ``name`` tags: ``"城西社区，人民路旁"``); the
    site's own name when neither is known. Indexed like ``result.proposed``."""
    prop = result.proposed
    net = result.study.engine.network
    road = pd.Series("", index=prop.index, dtype=object)
    if len(prop) and net.edge_name is not None and (net.edge_name != "").any():
        import shapely

        named = np.flatnonzero(net.edge_name != "")
        tree = shapely.STRtree(net.edges_frame().geometry.to_numpy()[named])
        src, hit = tree.query_nearest(shapely.points(points_xy(prop, net.crs)), max_distance=within_m, all_matches=False)
        road.iloc[src] = [f"{n}旁" for n in net.edge_name[named][hit]]
    zone = pd.Series("", index=prop.index, dtype=object)
    if zones is not None and len(prop):
        names = zones["zone_name"] if "zone_name" in zones else zones["zone_id"]
        zone = zone_of_points(prop, zones).map(dict(zip(zones["zone_id"].astype(str), names.astype(str), strict=False))).fillna("")
    parts = [[p for p in (z, r) if p] for z, r in zip(zone, road, strict=True)]
    return pd.Series(["，".join(p) if p else n for p, n in zip(parts, prop["name"].astype(str), strict=True)], index=prop.index)


def _sites_table(result: SitingResult, zones: gpd.GeoDataFrame | None) -> pd.DataFrame:
    """The ranked sites: id, name, address, coordinates and what each newly covers."""
    prop = result.proposed
    xy = prop.to_crs("EPSG:4326").geometry
    return pd.DataFrame({
        "rank": prop["rank"].to_numpy(), "id": prop["id"].astype(str).to_numpy(), "name": prop["name"].astype(str).to_numpy(),
        "kind": prop["kind"].astype(str).to_numpy(), "address": site_addresses(result, zones=zones).to_numpy(),
        "lon_wgs84": xy.x.round(6).to_numpy(), "lat_wgs84": xy.y.round(6).to_numpy(),
        "n_in_reach_newly_covered": prop["n_in_reach_newly_covered"].to_numpy(),
        "weight_in_reach_newly_covered": prop["weight_in_reach_newly_covered"].to_numpy(),
        "marginal_gain": prop["marginal_gain"].to_numpy(),
    })  # fmt: skip


# --------------------------------------------------------------------------- words
def _objective(result: SitingResult, after: CoverageSummary, lang: str) -> str:
    """The objective in units and plain words, and the proof in one sentence."""
    sel, cfg = result.selection, result.study.engine.config
    model, rule = result.meta.get("model"), _rule(result)
    who_zh, who_en = ("老年人口", "older residents") if after.weight_column == "elderly" else ("权重", "weight")
    label_zh, label_en = cfg.rule_label(rule, lang="zh"), cfg.rule_label(rule, lang="en")
    obj = sel.objective
    what = {
        "mclp": (f"{label_zh}的{who_zh} {obj:,.0f}", f"{who_en} within {label_en}: {obj:,.0f}"),
        "lscp": (f"新站点总成本 {obj:,.6g}", f"total cost of the new sites: {obj:,.6g}"),
        "pmedian": (f"{who_zh}到最近站点的路网距离合计 {obj / 1000:,.0f} 人·千米", f"total road distance of {who_en} to their nearest site: {obj / 1000:,.0f} person-km"),
        "pcenter": (f"最远需求点的路网距离 {obj:,.0f} 米", f"longest road distance to the nearest site: {obj:,.0f} m"),
    }.get(str(model), (f"目标值 {obj:,.6g}", f"objective {obj:,.6g}"))  # fmt: skip
    k = len(result.proposed)
    if sel.proven_optimal:
        proof = (f"已证明最优：任何 {k} 个候选点都不会更好。", f"Proven optimal: no other choice of {k} candidate sites does better.")
    else:
        proof = (f"未证明最优（{sel.status}）：最优值的界为 {sel.best_bound:,.6g}，差距至多 {pct(sel.gap, 2)}。",
                 f"Not proven optimal ({sel.status}): the optimum is bounded by {sel.best_bound:,.6g}, at most {pct(sel.gap, 2)} better.")  # fmt: skip
    zh = f"目标（{str(model).upper()}）：{what[0]}。{proof[0]}"
    en = f"Objective ({str(model).upper()}): {what[1]}. {proof[1]}"
    return tr(zh, en, lang)


def _verdict(result: SitingResult, before: CoverageSummary, after: CoverageSummary, lang: str) -> list[str]:
    rule, cfg = _rule(result), result.study.engine.config
    b, a = before.figure(rule), after.figure(rule)
    k = len(result.proposed)
    label_zh, label_en = cfg.rule_label(rule, lang="zh"), cfg.rule_label(rule, lang="en")
    gain_w = a.weight - b.weight
    wz = f"，老年人口覆盖从 {pct(b.wshare)} 增至 {pct(a.wshare)}（+{gain_w:,.0f} 人）" if after.weight_column == "elderly" else ""
    we = f"; older residents covered rise from {pct(b.wshare)} to {pct(a.wshare)} (+{gain_w:,.0f})" if after.weight_column == "elderly" else ""
    zh = f"新建 {k} 处站点后，{label_zh}的需求点从 {b.count} 个（{pct(b.share)}）增至 {a.count} 个（{pct(a.share)}）{wz}。"
    en = f"With {k} new sites, demand points within {label_en} rise from {b.count} ({pct(b.share)}) to {a.count} ({pct(a.share)}){we}."
    paras = [zh] if lang == "zh" else [zh, en]
    return [*paras, _objective(result, after, lang)]


def _site_bullets(result: SitingResult, table: pd.DataFrame, after: CoverageSummary, lang: str) -> list[str]:
    cfg = result.study.engine.config
    label_zh, label_en = cfg.rule_label(_rule(result), lang="zh"), cfg.rule_label(_rule(result), lang="en")
    who_zh, who_en = ("位老年人", "older residents") if after.weight_column == "elderly" else ("权重", "weight")
    out = []
    for r in table.itertuples():
        zh = (f"{r.name}（{r.id}），{r.address}，经纬度 {r.lon_wgs84:.5f}, {r.lat_wgs84:.5f}："
              f"新增 {r.weight_in_reach_newly_covered:,.0f} {who_zh}进入{label_zh}（{int(r.n_in_reach_newly_covered)} 个点）。")
        en = (f"{r.name} ({r.id}), {r.address}, {r.lon_wgs84:.5f}, {r.lat_wgs84:.5f}: "
              f"+{r.weight_in_reach_newly_covered:,.0f} {who_en} within {label_en} ({int(r.n_in_reach_newly_covered)} points).")  # fmt: skip
        out.append(tr(zh, en, lang))
    unc = len(result.selection.uncoverable)
    if unc:
        limit = f"{result.study.options.limit_m(cfg):,.0f}"
        out.append(tr(f"仍有 {unc} 个点离任何现有设施和候选点都超过路网 {limit} 米：需另寻候选点（如 --gaps、--road-spacing）。",
                      f"{unc} points are farther than {limit} m by road from every existing facility and candidate site: "
                      "look for more candidates (e.g. --gaps, --road-spacing).", lang))  # fmt: skip
    # why the proposal looks as it does (fewer sites than asked for, mixed kinds of zone); the points no site reaches are said above
    out += [note_text(n, lang) for n in result.notes if "no choice of sites covers them" not in n]
    return out


def _compare(before: CoverageSummary, after: CoverageSummary, lang: str) -> pd.DataFrame:
    """Every figure before and after, under the console's names."""
    rows = []
    for fb, fa in zip(before.figures(), after.figures(), strict=True):
        rows.append({tr("指标", "Figure", lang): fa.label(lang if lang != "both" else "both"),
                     tr("现状", "Before", lang): f"{fb.count}/{fb.total} ({pct(fb.share)})",
                     tr("新增站点后", "After", lang): f"{fa.count}/{fa.total} ({pct(fa.share)})",
                     tr("变化", "Change", lang): f"{fa.count - fb.count:+d}",
                     tr("加权 现状→新增后", "Weighted before → after", lang): f"{pct(fb.wshare)} → {pct(fa.wshare)}"})  # fmt: skip
    return pd.DataFrame(rows)


def _zone_compare(before: AuditResult, after: AuditResult) -> pd.DataFrame | None:
    if before.by_zone is None or after.by_zone is None:
        return None
    b = before.by_zone.set_index("zone_id")
    a = after.by_zone.set_index("zone_id")
    out = pd.DataFrame({"zone_id": a.index, "zone_name": a["zone_name"] if "zone_name" in a else a.index, "n_points": a["n_points"]})
    for rule in ("radius", "time"):
        out[f"n_covered_{rule}_before"] = b[f"n_covered_{rule}"].reindex(a.index).to_numpy()
        out[f"n_covered_{rule}_after"] = a[f"n_covered_{rule}"].to_numpy()
    out["share_before"] = b["share_radius"].reindex(a.index).to_numpy()
    out["share_after"] = a["share_radius"].to_numpy()
    return out.reset_index(drop=True)


#: the files :func:`siting_committee_package` writes
SITE_PACKAGE_FILES: dict[str, str] = {
    "report": "site_report.html",
    "pdf": "site_report.pdf",
    "map_png": "site_map.png",
    "xlsx": "site_tables.xlsx",
    "chart_by_zone": "chart_before_after.png",
}


def _zone_labels(result: SitingResult) -> dict[str, tuple[str, str]]:
    cfg = result.study.engine.config
    out = dict(rule_labels(cfg))
    for rule in ("radius", "time"):
        zh, en = cfg.rule_label(rule, lang="zh"), cfg.rule_label(rule, lang="en")
        out[f"n_covered_{rule}_before"] = (f"{zh}点数（现状）", f"Points within {en} (before)")
        out[f"n_covered_{rule}_after"] = (f"{zh}点数（新增后）", f"Points within {en} (after)")
    zh, en = cfg.rule_label("radius", lang="zh"), cfg.rule_label("radius", lang="en")
    out["share_before"] = (f"{zh}比例（现状）", f"Share within {en} (before)")
    out["share_after"] = (f"{zh}比例（新增后）", f"Share within {en} (after)")
    out["n_in_reach_newly_covered"] = (f"新进入{zh}的点数", f"Points newly within {en}")
    out["weight_in_reach_newly_covered"] = (f"新进入{zh}的老年人口", f"Older residents newly within {en}")
    return out


def _site_sections(result: SitingResult, before: AuditResult, after: AuditResult, table: pd.DataFrame,
                   charts: Mapping[str, Path], lang: str) -> list[ReportSection]:  # fmt: skip
    """After page 1: the sites, every figure before and after, by zone, the newly covered homes, the solver."""
    from ._labels import method_words, readable_table

    labels = _zone_labels(result)
    sel = result.selection
    out = [ReportSection(tr("拟建站点", "Proposed sites", lang),
                         [tr("按边际增益排序；位置为最近的有名称道路（无则为站点名称）及所在片区。",
                             "Ranked by marginal gain; the address is the nearest named road (else the site's own name) and its zone.", lang)],
                         [(tr("站点", "Sites", lang), readable_table(table, lang, labels=labels))]),
           ReportSection(tr("新增前后的覆盖", "Coverage before and after", lang), [],
                         [(tr("全部指标", "All figures", lang), _compare(before.coverage, after.coverage, lang))])]  # fmt: skip
    zc = _zone_compare(before, after)
    if zc is not None:
        figs = [(tr("各片区覆盖率：现状与新增后", "Share covered per zone, before and after", lang), charts["chart_by_zone"])] if "chart_by_zone" in charts else []
        out.append(ReportSection(tr("分片区", "By zone", lang), [], [(tr("分片区", "By zone", lang), readable_table(zc, lang, labels=labels))], figs))
    newly = result.newly_covered
    cols = [c for c in ("id", "name", "zone_id", "households", "elderly", "assigned_site", "assigned_dist_m") if c in newly]
    out.append(ReportSection(tr("新增覆盖的需求点", "Newly covered demand points", lang), [],
                             [(tr("新增覆盖", "Newly covered", lang), readable_table(newly[cols], lang, labels={
                                 "assigned_site": ("服务站点", "Serving site"), "assigned_dist_m": ("到服务站点路网距离(米)", "Road distance to serving site (m)")}))]))  # fmt: skip
    solver = pd.DataFrame([{"model": sel.model, "objective": sel.objective, "best_bound": sel.best_bound, "gap": sel.gap,
                            "status": sel.status, "method": method_words(sel.method, lang), "method_code": sel.method,
                            "seconds": round(sel.seconds, 2),
                            "uncoverable": len(sel.uncoverable)}])  # fmt: skip
    notes = [note_text(n, lang) for n in result.notes]
    out.append(ReportSection(tr("求解", "Solver", lang), notes, [(tr("求解结果", "Solver result", lang), readable_table(solver, lang, labels={
        "model": ("模型", "Model"), "objective": ("目标值", "Objective"), "best_bound": ("最优界", "Best bound"),
        "gap": ("差距", "Gap"), "method": ("方法", "Method"), "method_code": ("方法代码", "Method code"), "seconds": ("用时(秒)", "Seconds"),
        "uncoverable": ("任何站点均无法覆盖的点", "Points no site can cover")}))]))  # fmt: skip
    return out


def _site_chart(before: AuditResult, after: AuditResult, path: Path, overwrite: bool) -> Path | None:
    from .charts import share_bars_chart

    zc = _zone_compare(before, after)
    if zc is None:
        return None
    names = [f"{n}" for n in zc["zone_name"]]
    return share_bars_chart(names, {"现状 Before": zc["share_before"], "新增后 After": zc["share_after"]}, path=path,
                            xlabel=tr(f"{before.config.rule_label('radius', lang='zh')}比例", f"Share within {before.config.rule_label('radius', lang='en')}"),
                            overwrite=overwrite)  # fmt: skip


def _site_sheets(result: SitingResult, before: AuditResult, after: AuditResult, table: pd.DataFrame,
                 options: ReportOptions) -> dict[str, pd.DataFrame]:  # fmt: skip
    lang, labels = options.lang, _zone_labels(result)
    sheets = {tr("汇总", "Summary", lang): _compare(before.coverage, after.coverage, lang),
              tr("拟建站点", "Proposed sites", lang): excel_table(table, lang, labels=labels)}  # fmt: skip
    zc = _zone_compare(before, after)
    if zc is not None:
        sheets[tr("分片区", "By zone", lang)] = excel_table(zc, lang, labels=labels)
    sheets[tr("新增覆盖", "Newly covered", lang)] = excel_table(result.newly_covered, lang)
    basis = report_basis(after.meta, plan_basis=options.plan_basis, lang=lang)
    rows = list(basis.parameters) + [(f"{tr('求解', 'Solver', lang)}: {k}", str(v), "") for k, v in result.selection.summary().items()]
    sheets[tr("参数", "Parameters", lang)] = pd.DataFrame(rows, columns=[tr("参数", "Parameter", lang), tr("取值", "Value", lang), tr("来源", "Source", lang)])
    return sheets


def _site_picture(result: SitingResult, after: AuditResult, path: Path, overwrite: bool, lang: str = "both") -> Path:
    """The print map of the proposal (:func:`coverage.publish.figures.print_map`): coverage
    after, the proposed sites as gold stars, named and counted as in the legend."""
    from .figures import PrintMap, audit_print_layers, print_map, rule_subtitle
    from .site_map import model_title

    title = f"{after.meta['title']} — {model_title(result.meta.get('model', ''), len(result.proposed))}"
    spec = PrintMap(title=title, network=after.network, layers=audit_print_layers(after, proposed=result.proposed),
                    source=str(after.meta.get("source", "")), date=str(after.meta.get("date", "")),
                    subtitle=rule_subtitle(after), pad_m=150.0, lang=lang)  # fmt: skip
    return print_map(path, spec, overwrite=overwrite)


@writes_output_set("out_dir")
def siting_committee_package(
    result: SitingResult,
    out_dir: str | Path,
    *,
    map_html: str | Path | None = None,
    zones: gpd.GeoDataFrame | None = None,
    overwrite: bool = False,
    pdf: bool = True,
    options: ReportOptions | None = None,
    run_date: str | None = None,
) -> dict[str, Path]:
    """Write the committee package of a site selection into ``out_dir``: ``site_report.html``
    (+ ``.pdf`` with Chromium), ``site_tables.xlsx``, ``chart_before_after.png`` (with zones)
    and ``site_map.png`` (the print map of the proposal); the report links to ``map_html``
    (the interactive site map, in the same folder).

    Page 1 of the report gives the verdict (coverage before → after under the standard the
    sites were chosen for), the objective in units and whether it is proven optimal, the
    map picture and the ranked sites with their address, coordinates and what each newly
    covers; then every figure before and after, by zone, the newly covered homes, the
    solver; then the parameters and the planning basis (``options.plan_basis``).

    Returns
    -------
    dict of str to pathlib.Path
        ``report``, ``xlsx`` and, when made, ``pdf``, ``map_png``, ``chart_by_zone``.
    """
    opts = options or ReportOptions()
    lang = opts.lang
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    names = {k: out / v for k, v in SITE_PACKAGE_FILES.items()}
    before, after = site_coverage(result, zones=zones, run_date=run_date)
    table = _sites_table(result, zones)
    written: dict[str, Path] = {}
    chart = _site_chart(before, after, names["chart_by_zone"], overwrite)
    if chart is not None:
        written["chart_by_zone"] = chart
    png = written["map_png"] = _site_picture(result, after, names["map_png"], overwrite, lang)
    written["xlsx"] = write_excel(names["xlsx"], _site_sheets(result, before, after, table, opts), overwrite=overwrite,
                                  run_date=str(after.meta.get("date")))  # fmt: skip
    meta = {**after.meta, "model": result.meta.get("model"), "rule": _rule(result)}
    findings = ReportSection(tr("结论", "Findings", lang), _verdict(result, before.coverage, after.coverage, lang),
                             [(tr("主要指标", "Key figures", lang), _compare(before.coverage, after.coverage, lang).iloc[[0, 1, 2, 4]])],
                             bullets=_site_bullets(result, table, after.coverage, lang),
                             bullets_title=tr("拟建站点（按边际增益排序）", "Proposed sites, ranked by marginal gain", lang))  # fmt: skip
    report = Report("养老设施选址方案 Proposed elderly-care sites", _site_sections(result, before, after, table, written, lang), meta,
                    basis=report_basis(meta, plan_basis=opts.plan_basis, lang=lang), map_html=map_html, map_png=png,
                    findings=findings, options=opts)  # fmt: skip
    rep = write_report(names["report"], report, pdf=pdf, overwrite=overwrite)
    written["report"] = rep["html"]
    if "pdf" in rep:
        written["pdf"] = rep["pdf"]
    logger.info("wrote the site-selection package (%d files) to %s", len(written), out)
    return written
