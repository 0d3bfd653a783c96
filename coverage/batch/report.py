"""The committee report at province level: findings first (how many regions meet the
target, the weakest regions, failed regions), then the per-region table, the homes in no
region and the parameters, through the same report machinery as every other package
(:mod:`coverage.publish.report`: every user string escaped)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from ..config import AuditConfig
from ..publish.report import Report, ReportBasis, ReportSection, write_report

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
    target = result.table["target"].iloc[0] if len(result.table) else None
    if target is not None and pd.notna(target):
        paras.append(f"达标区县 regions meeting the {float(target):.0%} target: {tot.get('regions_meeting_target', 0)} / {len(ok)}.")
    bullets = []
    weakest = ok.sort_values("weighted_share_radius").head(5)
    for _, r in weakest.iterrows():
        bullets.append(f"{r['region_name']}: {cfg.rule_label('radius')} {r['weighted_share_radius']:.1%} — 优先补点 first in line for new stations")
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
    params = [(k, str(v), "") for k, v in cfg.as_record().items()] + [
        ("halo_m", f"{result.meta.get('halo_m')}", "search limit + snap tolerance (exact at borders)"),
        ("scheduler", str(result.meta.get("scheduler")), "Dask distributed"),
    ]
    meta = {"date": result.meta["date"], "crs": "EPSG:4326", "source": result.regions.source}
    report = Report(title=result.meta["title"], sections=sections, meta=meta, basis=ReportBasis(parameters=params),
                    map_html=map_html, findings=province_findings(result, cfg))  # fmt: skip
    write_report(path, report, pdf=False, overwrite=True)
    return Path(path)
