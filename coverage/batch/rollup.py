"""The province roll-up: per-region table, province totals and the province outputs.

The figures are read back from the regions' Parquet rows (not from what the tasks
returned), so the roll-up is exactly what is on disk. :func:`write_province` writes, all or
nothing (:func:`coverage.publish.atomic.output_set`): ``province.csv`` and
``province.xlsx`` (one row per region and the province total: coverage by rule, count and
weighted, against the target, unreachable, beyond the search limit, false coverage, the
region's error if it failed, its site selection's proof and gap), ``province.gpkg`` (the
regions with those figures), ``province_map.html`` (regions coloured by coverage, each
linking to its own map), ``outside_regions.csv`` (homes in no region) and ``batch.json``
(parameters, timings); with ``report=True`` the committee report at province level.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from ..config import AuditConfig
from ..engine.network import RoadNetwork
from ..publish._html import esc, symbol
from ..publish.atomic import output_set
from ..publish.maps import base_map, finish_map, save_map
from ..publish.tables import write_csv, write_gpkg, write_json
from .regions import Regions

if TYPE_CHECKING:
    from .run import BatchOptions, BatchResult
    from .task import RegionTask

__all__ = ["PROVINCE_FILES", "province_result", "province_table", "read_rows", "write_province"]

logger = logging.getLogger(__name__)

PROVINCE_FILES = {
    "csv": "province.csv",
    "xlsx": "province.xlsx",
    "gpkg": "province.gpkg",
    "map": "province_map.html",
    "outside": "outside_regions.csv",
    "json": "batch.json",
    "report": "province_report.html",
}
#: the columns of a region's rows file its sums are taken from
_SUMMED = ["weight", "covered_radius", "covered_time", "status", "false_coverage"]
#: coverage classes of the province map: (lower share, colour, label)
CLASSES = [(0.9, "#1a9850", "≥ 90%"), (0.7, "#91cf60", "70–90%"), (0.5, "#fee08b", "50–70%"), (0.0, "#d73027", "< 50%")]
FAILED_COLOUR, EMPTY_COLOUR = "#7f7f7f", "#d9d9d9"


def read_rows(files: list[Path], columns: list[str] | None = None) -> pd.DataFrame:
    """The rows of the given region files (Parquet), as one table."""
    parts = [pq.read_table(f, columns=columns).to_pandas() for f in files if Path(f).exists()]
    if not parts:
        return pd.DataFrame(columns=columns or [])
    return pd.concat(parts, ignore_index=True)


_SUMS = ("n", "w", "n_radius", "n_time", "n_both", "w_radius", "w_time", "w_both", "n_unreachable", "n_beyond_limit",
         "n_false_coverage")  # fmt: skip


def _file_figures(path: Path) -> dict[str, float]:
    """The sums of one region's rows file (its homes, weights, covered by each rule, ...)."""
    t = pq.read_table(path, columns=_SUMMED, read_dictionary=["status"])
    w = t.column("weight").to_numpy().astype(float)
    cr = t.column("covered_radius").to_numpy().astype(bool)
    ct = t.column("covered_time").to_numpy().astype(bool)
    status = t.column("status").combine_chunks()
    codes = status.indices.to_numpy(zero_copy_only=False)
    names = status.dictionary.to_pylist()

    def count(label: str) -> int:
        return int(np.count_nonzero(codes == names.index(label))) if label in names else 0

    both = cr & ct
    return {"n": len(w), "w": float(w.sum()), "n_radius": int(cr.sum()), "n_time": int(ct.sum()), "n_both": int(both.sum()),
            "w_radius": float(w[cr].sum()), "w_time": float(w[ct].sum()), "w_both": float(w[both].sum()),
            "n_unreachable": count("unreachable"), "n_beyond_limit": count("beyond_cutoff"),
            "n_false_coverage": int(t.column("false_coverage").to_numpy().astype(bool).sum())}  # fmt: skip


def read_figures(files: dict[str, Path]) -> pd.DataFrame:
    """Per region (``{region_id: rows file}``), the sums of its rows, read back from its
    Parquet file one region at a time (a province's millions of rows never in memory at once)."""
    figs = {rid: _file_figures(f) for rid, f in files.items() if Path(f).exists()}
    return pd.DataFrame.from_dict(figs, orient="index", columns=list(_SUMS)) if figs else pd.DataFrame(columns=list(_SUMS))


def _shares(t: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(index=t.index)
    out["n_homes"] = t["n"].astype(int)
    out["weight"] = t["w"]
    for rule in ("radius", "time", "both"):
        out[f"n_covered_{rule}"] = t[f"n_{rule}"].astype(int)
        out[f"share_{rule}"] = np.where(t["n"] > 0, t[f"n_{rule}"] / t["n"].where(t["n"] > 0, 1), np.nan)
        out[f"weighted_share_{rule}"] = np.where(t["w"] > 0, t[f"w_{rule}"] / t["w"].where(t["w"] > 0, 1), np.nan)
    for col in ("n_unreachable", "n_beyond_limit", "n_false_coverage"):
        out[col] = t[col].astype(int)
    return out


_SUMMARY_COLS = ("status", "error", "warnings", "reused", "seconds", "peak_rss_mb", "n_nodes", "n_facilities_halo", "siting_model", "siting_k",
                 "siting_new", "siting_status", "siting_objective", "siting_bound", "siting_gap", "siting_error")  # fmt: skip


def province_table(regions: Regions, summaries: list[dict[str, Any]], sums: pd.DataFrame,
                   target: float | None, target_rule: str) -> tuple[pd.DataFrame, dict[str, Any]]:  # fmt: skip
    """One row per region (in the regions' order) and the province totals, from each
    region's sums of its rows (:func:`read_figures`)."""
    figs = _shares(sums)
    base = pd.DataFrame({"region_id": regions.ids.astype(str), "region_name": regions.names.astype(str), "slug": regions.slugs})
    by = {str(s["region_id"]): s for s in summaries}
    for col in _SUMMARY_COLS:
        base[col] = [by.get(rid, {}).get(col) for rid in base["region_id"]]
    table = base.merge(figs, left_on="region_id", right_index=True, how="left")
    table["n_homes"] = table["n_homes"].fillna(0).astype(int)
    table["map"] = np.where(table["status"].eq("ok"), "regions/" + table["slug"] + "/map.html", "")
    share = table[f"weighted_share_{target_rule}"]
    table["target"] = target
    table["meets_target"] = (share >= target - 1e-12) if target is not None else pd.Series(pd.NA, index=table.index, dtype="boolean")
    tot = _shares(sums.sum().to_frame("province").T).iloc[0].to_dict() if len(sums) else {}
    tot.update({"regions": len(regions), "regions_ok": int(table["status"].eq("ok").sum()),
                "regions_failed": int(table["status"].eq("failed").sum()), "regions_empty": int(table["status"].eq("empty").sum())})  # fmt: skip
    if target is not None:
        tot["regions_meeting_target"] = int(table["meets_target"].fillna(False).astype(bool).sum())
    return table, tot


def province_result(regions: Regions, tasks: list[RegionTask], summaries: list[dict[str, Any]], outside: gpd.GeoDataFrame,  # noqa: PLR0913
                    out: Path, cfg: AuditConfig, opts: BatchOptions, *, seconds: float, network: RoadNetwork,
                    raster: dict[str, Any] | None = None) -> BatchResult:  # fmt: skip
    """Read the rows back, build the tables and write the province outputs; ``raster`` is the
    demand's population-grid record (``demand.attrs["raster"]``), whose people are then
    accounted for: audited in the regions plus those in cells outside every region."""
    from .run import BatchResult

    ok = {str(s["region_id"]) for s in summaries if s.get("status") == "ok"}
    by_region = {t.region_id: t.rows_file for t in tasks if t.region_id in ok}
    files = list(by_region.values())
    table, totals = province_table(regions, summaries, read_figures(by_region), opts.target, opts.target_rule)
    meta = {
        "title": opts.title, "date": opts.run_date or _dt.date.today().isoformat(), "parameters": cfg.as_record(),
        "halo_m": tasks[0].halo_m if tasks else None, "home_region_only": opts.home_region_only,
        "scheduler": opts.scheduler or f"LocalCluster({opts.n_workers} processes)", "seconds": seconds,
        "homes_per_s": totals.get("n_homes", 0) / seconds if seconds > 0 else None, "regions_source": regions.source,
        "outside_regions": len(outside), "weight_column": opts.weight_col or "count (no population column)",
        "crs": network.crs, "source": network.source, "speed_mps": cfg.speed_mps, "radius_m": cfg.radius_m,
        "time_min": cfg.time_min, "walk_limit_m": cfg.walk_limit_m, "target": opts.target, "target_rule": opts.target_rule,
    }  # fmt: skip
    if raster:
        from ..audit.summary import demand_weights

        outside_people = float(demand_weights(outside, opts.weight_col, "demand")[0].sum()) if len(outside) else 0.0
        meta["demand_raster"] = {"total": raster.get("total"), "points": raster.get("points"), "boundary": raster.get("boundary"),
                                 "people_audited": float(totals.get("weight", 0.0)), "people_outside_regions": outside_people}  # fmt: skip
    result = BatchResult(table=table, totals=totals, outside=outside, summaries=summaries, regions=regions, out_dir=out,
                         rows_files=files, seconds=seconds, paths={}, meta=meta)  # fmt: skip
    paths = write_province(result, cfg, report=opts.report)
    return BatchResult(**{**result.__dict__, "paths": paths})


def _colour(row: Any, rule: str) -> str:
    if row["status"] == "failed":
        return FAILED_COLOUR
    if row["status"] != "ok":
        return EMPTY_COLOUR
    share = row[f"weighted_share_{rule}"]
    return next(c for lo, c, _ in CLASSES if share >= lo)


def _popup(row: Any, rule: str) -> str:
    name = f"<b>{esc(row['region_name'])}</b> ({esc(row['region_id'])})"
    if row["status"] == "failed":
        return f"{name}<br>失败 failed: {esc(row['error'])}"
    if row["status"] != "ok":
        return f"{name}<br>无需求点 no demand points"
    lines = [name, f"需求点 homes: {int(row['n_homes']):,}"]
    for r, label in (("radius", "1000 m"), ("time", "15 min"), ("both", "两项 both")):
        lines.append(f"{esc(label)}: {row[f'share_{r}']:.1%} (加权 weighted {row[f'weighted_share_{r}']:.1%})")
    lines.append(f"虚假覆盖 false coverage: {int(row['n_false_coverage']):,}")
    if row.get("map"):
        lines.append(f'<a href="{esc(row["map"])}" target="_blank">打开区县地图 open the region\'s map</a>')
    return "<br>".join(lines)


def province_map(result: BatchResult, cfg: AuditConfig, rule: str = "radius") -> folium.Map:
    """Regions coloured by weighted coverage under ``rule``, each linking to its own map."""
    meta = {k: result.meta[k] for k in ("title", "crs", "speed_mps", "radius_m", "time_min", "walk_limit_m", "source", "date")}
    m, legend = base_map(meta, basemap="none", tianditu_key=None)
    group = folium.FeatureGroup(name=esc(f"区县覆盖 Coverage by region ({cfg.rule_label(rule)})"))
    geoms = result.regions.geometry.to_numpy()
    for i, row in result.table.iterrows():
        colour = _colour(row, rule)
        folium.GeoJson(
            geoms[i].__geo_interface__,
            style_function=lambda _f, c=colour: {"color": "#333333", "weight": 1, "fillColor": c, "fillOpacity": 0.65},
            tooltip=esc(f"{row['region_name']}"),
            popup=folium.Popup(_popup(row, rule), max_width=320),
        ).add_to(group)
    group.add_to(m)
    _labels(m, result, rule)
    for _lo, colour, label in CLASSES:
        legend.add_symbol(symbol("area", colour, f"{cfg.rule_label(rule)} {label}"))
    legend.add_symbol(symbol("area", FAILED_COLOUR, "失败 failed"))
    legend.add_symbol(symbol("area", EMPTY_COLOUR, "无需求点 no demand points"))
    b = result.regions.geometry.total_bounds
    return finish_map(m, [[float(b[1]), float(b[0])], [float(b[3]), float(b[2])]])


#: the per-region table's columns, figures first, the run's diagnostics last
ORDER = ["region_id", "region_name", "status", "n_homes", "weight", "n_covered_radius", "share_radius", "weighted_share_radius",
         "n_covered_time", "share_time", "weighted_share_time", "n_covered_both", "share_both", "weighted_share_both",
         "n_unreachable", "n_beyond_limit", "n_false_coverage", "target", "meets_target", "siting_model", "siting_k",
         "siting_new", "siting_status", "siting_objective", "siting_bound", "siting_gap", "siting_error", "map", "error",
         "warnings", "reused", "seconds", "peak_rss_mb", "n_nodes", "n_facilities_halo"]  # fmt: skip
_COUNTS = ("n_homes", "n_covered_radius", "n_covered_time", "n_covered_both", "n_unreachable", "n_beyond_limit", "n_false_coverage",
           "siting_k", "siting_new", "n_nodes", "n_facilities_halo")  # fmt: skip


def _labels(m: folium.Map, result: BatchResult, rule: str) -> None:
    """Each region's name and weighted coverage, written on the map (a layer of its own)."""
    group = folium.FeatureGroup(name=esc("区县名称与覆盖率 Region names and coverage"))
    points = result.regions.geometry.representative_point().to_numpy()
    for i, row in result.table.iterrows():
        share = row.get(f"weighted_share_{rule}")
        text = esc(row["region_name"]) + (f"<br>{share:.0%}" if row["status"] == "ok" and pd.notna(share) else "")
        html = f'<div class="yl-region-label" style="font:600 11px sans-serif;text-align:center;white-space:nowrap;' \
               f'transform:translate(-50%,-50%);text-shadow:0 0 3px #fff,0 0 3px #fff">{text}</div>'
        folium.Marker([points[i].y, points[i].x], icon=folium.DivIcon(html=html, icon_size=(0, 0))).add_to(group)
    group.add_to(m)


def _plain(table: pd.DataFrame) -> pd.DataFrame:
    """The table as written: columns in :data:`ORDER`, counts as whole numbers (empty where none)."""
    out = table[[c for c in ORDER if c in table.columns]].copy()
    for col in _COUNTS:
        if col in out:
            out[col] = pd.to_numeric(out[col], errors="coerce").round().astype("Int64")
    return out.astype({"reused": "object"}) if "reused" in out else out


def write_province(result: BatchResult, cfg: AuditConfig, *, report: bool = False, rule: str = "radius") -> dict[str, Path]:
    """Write the province outputs into the batch folder, all or nothing (module docstring)."""
    out = result.out_dir
    targets = [out / PROVINCE_FILES[k] for k in ("csv", "xlsx", "gpkg", "map", "outside", "json")]
    if report:
        targets.append(out / PROVINCE_FILES["report"])
    total = pd.DataFrame([{"region_id": "province", "region_name": "全省合计 Province total", "status": "",
                           **{k: v for k, v in result.totals.items() if not k.startswith("regions")}}])  # fmt: skip
    table = _plain(pd.concat([result.table, total], ignore_index=True))
    paths: dict[str, Path] = {}
    with output_set(targets, overwrite=True) as stage:
        paths["csv"] = write_csv(stage.path(targets[0]), table, overwrite=True)
        from ..publish.excel import write_excel

        paths["xlsx"] = write_excel(stage.path(targets[1]), {"province": table}, overwrite=True, run_date=str(result.meta["date"]))
        gdf = gpd.GeoDataFrame(_plain(result.table), geometry=result.regions.geometry.to_numpy(), crs="EPSG:4326")
        paths["gpkg"] = write_gpkg(stage.path(targets[2]), {"regions": gdf}, overwrite=True)
        paths["map"] = save_map(province_map(result, cfg, rule), stage.path(targets[3]), overwrite=True)
        outside = result.outside.drop(columns=result.outside.geometry.name) if len(result.outside) else pd.DataFrame(columns=["row"])
        paths["outside"] = write_csv(stage.path(targets[4]), outside, overwrite=True)
        record = {**result.meta, "totals": result.totals}
        paths["json"] = write_json(stage.path(targets[5]), json.loads(json.dumps(record, default=str)), overwrite=True)
        if report:
            from .report import write_province_report

            paths["report"] = write_province_report(result, cfg, stage.path(targets[6]), map_html=paths["map"])
    return {k: stage.final(v) for k, v in paths.items()}
