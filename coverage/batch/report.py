"""The committee report at province level: findings first (how many regions meet the
target, the weakest regions, failed regions), then the per-region table, the homes in no
region and the parameters, through the same report machinery as every other package
(:mod:`coverage.publish.report`: every user string escaped)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from ..config import AuditConfig
from ..publish._audit_text import report_basis
from ..publish.report import Report, ReportSection, write_report

if TYPE_CHECKING:
    from .run import BatchResult

__all__ = ["province_findings", "write_province_report"]

_COLS = ["region_id", "region_name", "status", "n_homes", "weighted_share_radius", "weighted_share_time", "weighted_share_both",
         "n_unreachable", "n_false_coverage", "meets_target", "siting_new", "siting_status", "siting_gap", "error"]  # fmt: skip


def province_findings(result: BatchResult, cfg: AuditConfig) -> ReportSection:
    """Page 1: the verdict in plain words."""
    t, tot = result.table, result.totals
    ok = t[t["status"].eq("ok")]
    paras = [
        f"{tot.get('regions', 0)} 个区县/乡镇, {int(tot.get('n_homes', 0)):,} 个需求点 "
        f"({tot.get('regions_ok', 0)} regions audited, {tot.get('regions_failed', 0)} failed, "
        f"{tot.get('regions_empty', 0)} without demand points).",
    ]
    for rule in ("radius", "time", "both"):
        if f"weighted_share_{rule}" in tot:
            paras.append(f"{cfg.rule_label(rule)}: {tot[f'weighted_share_{rule}']:.1%} (weighted), "
                         f"{tot[f'share_{rule}']:.1%} of points.")  # fmt: skip
    grid = result.meta.get("demand_raster")
    if grid:  # demand from a population grid: every person of it accounted for
        paras.append(f"人口栅格 population grid: {float(grid['total']):,.0f} 人 people in {int(grid['points']):,} cells; "
                     f"{float(grid['people_audited']):,.0f} in the regions audited, "
                     f"{float(grid['people_outside_regions']):,.0f} in cells outside every region.")  # fmt: skip
    target = result.table["target"].iloc[0] if len(result.table) else None
    if target is not None and pd.notna(target):
        paras.append(f"达标区县 regions meeting the {float(target):.0%} target: {tot.get('regions_meeting_target', 0)} / {len(ok)}.")
    bullets = []
    rule = str(result.meta.get("target_rule") or "radius")
    bar = float(target) if target is not None and pd.notna(target) else 0.9
    weakest = ok[ok[f"weighted_share_{rule}"] < bar].sort_values(f"weighted_share_{rule}").head(5)
    for _, r in weakest.iterrows():
        bullets.append(f"{r['region_name']}: {cfg.rule_label(rule)} {r[f'weighted_share_{rule}']:.1%} < {bar:.0%} — "
                       "优先补点 first in line for new stations")  # fmt: skip
    for _, r in t[t["status"].eq("failed")].iterrows():
        bullets.append(f"{r['region_name']}: 数据有误 failed — {r['error']}")
    if result.meta.get("outside_regions"):
        bullets.append(f"{result.meta['outside_regions']:,} 个需求点不在任何区县内 demand points lie in no region (outside_regions.csv)")
    return ReportSection(title="结论 Findings", paragraphs=paras, bullets=bullets)


def write_province_report(result: BatchResult, cfg: AuditConfig, path: str | Path, *, map_html: Path | None = None) -> Path:
    """Write the province report (HTML) to ``path``."""
    table = result.table[[c for c in _COLS if c in result.table.columns]]
    sections = [ReportSection(title="分区县覆盖 Coverage by region", tables=[("各区县 Regions", table)])]
    if len(result.outside):
        sections.append(ReportSection(title="不在任何区县的需求点 Demand points in no region",
                                      paragraphs=[f"{len(result.outside):,} points; see outside_regions.csv"]))  # fmt: skip
    meta = {**result.meta, "parameters": cfg.as_record()}
    basis = report_basis(meta)
    extra = [
        ("边界缓冲 Halo", f"{float(result.meta.get('halo_m') or 0):,.0f} m",
         "搜索上限 + 吸附容差：边界处与全域一次计算结果逐位相同 search limit + snap tolerance: borders exact (coverage.batch.clip)"),
        ("区县 Regions", str(result.meta.get("regions_source")), "--regions / --region-column"),
        ("计算 Computed on", str(result.meta.get("scheduler")), "Dask distributed"),
    ]
    report = Report(title=result.meta["title"], sections=sections, meta=meta,
                    basis=replace(basis, parameters=[*basis.parameters, *extra]),
                    map_html=map_html, findings=province_findings(result, cfg))  # fmt: skip
    write_report(path, report, pdf=False, overwrite=True)
    return Path(path)
