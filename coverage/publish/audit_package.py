"""The audit's outputs: the data files and map (:func:`write_outputs`) and the committee
package (:func:`committee_package`: HTML + PDF report, map picture, Excel workbook, charts).

Both are all-or-nothing output sets (:func:`coverage.publish.atomic.writes_output_set`).
:func:`report_basis` gives the parameters, planning rules and source documents a report on
a run rests on (the workflows' reports use it too); the audit's words live in
:mod:`coverage.publish._audit_text`.
"""

from __future__ import annotations

import logging
from pathlib import Path

from ..audit.run import AuditResult
from ._audit_text import audit_findings, audit_sections, excel_sheets, report_basis
from .atomic import writes_output_set
from .excel import write_excel
from .figures import audit_print_map
from .maps import audit_layers, audit_map, save_map
from .report import Report, ReportOptions, write_report
from .tables import write_csv, write_gpkg, write_json

__all__ = ["AUDIT_FILES", "PACKAGE_FILES", "committee_package", "report_basis", "write_outputs"]

logger = logging.getLogger(__name__)


#: the files :func:`write_outputs` writes into its folder (besides the map)
AUDIT_FILES: dict[str, str] = {
    "gpkg": "audit.gpkg",
    "demand_csv": "demand.csv",
    "facilities_csv": "facilities.csv",
    "summary_csv": "summary.csv",
    "by_zone_csv": "summary_by_zone.csv",
    "false_coverage_csv": "false_coverage.csv",
    "components_csv": "components.csv",
    "parameters": "parameters.json",
}


@writes_output_set('out_dir', 'map_path')
def write_outputs(
    result: AuditResult,
    out_dir: str | Path,
    *,
    map_path: str | Path | None = None,
    overwrite: bool = False,
    basemap: str = "none",
    tianditu_key: str | None = None,
) -> dict[str, Path]:
    """Write the audit: ``audit.gpkg`` (layers demand, facilities, service_areas, zones,
    false_coverage), ``demand.csv``, ``facilities.csv``, ``summary.csv``,
    ``summary_by_zone.csv``, ``false_coverage.csv``, ``components.csv``,
    ``parameters.json`` and the map (``map_path``, default ``<out_dir>/audit_map.html``).

    Every file is written to a temporary name and renamed when complete; existing files
    are replaced only with ``overwrite=True`` (checked for all files before any is written).
    """

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    mpath = Path(map_path) if map_path is not None else out / "audit_map.html"
    mpath.parent.mkdir(parents=True, exist_ok=True)
    names = {**{k: out / v for k, v in AUDIT_FILES.items()}, "map": mpath}
    layers = {
        "demand": result.demand,
        "facilities": result.facilities,
        "false_coverage": result.false_coverage,
        "service_areas": result.service_areas,
        "zones": result.zones,
    }
    # fixed GeoPackage timestamps so that the same input gives the same bytes
    write_gpkg(names["gpkg"], layers, overwrite=overwrite, date=str(result.meta["date"]))
    csv = {
        "demand_csv": result.demand,
        "facilities_csv": result.facilities,
        "summary_csv": result.summary,
        "false_coverage_csv": result.false_coverage,
        "components_csv": result.components,
    }
    if result.by_zone is not None:
        csv["by_zone_csv"] = result.by_zone
    else:
        names.pop("by_zone_csv")
    for key, df in csv.items():
        write_csv(names[key], df, overwrite=overwrite)
    meta = {k: v for k, v in result.meta.items()}
    meta["summary"] = result.summary.to_dict(orient="records")
    write_json(names["parameters"], meta, overwrite=overwrite)
    m = audit_map(audit_layers(result), basemap=basemap, tianditu_key=tianditu_key)
    save_map(m, mpath, overwrite=overwrite)
    logger.info("wrote %d files to %s and the map to %s", len(names), out, mpath)
    return names


#: the files :func:`committee_package` writes
PACKAGE_FILES: dict[str, str] = {
    "report": "audit_report.html",
    "pdf": "audit_report.pdf",
    "map_png": "audit_map.png",
    "xlsx": "audit_tables.xlsx",
    "chart_distance": "chart_distance.png",
    "chart_by_zone": "chart_by_zone.png",
}


@writes_output_set('out_dir')
def committee_package(
    result: AuditResult,
    out_dir: str | Path,
    *,
    map_html: str | Path,
    overwrite: bool = False,
    pdf: bool = True,
    map_picture: bool = True,
    options: ReportOptions | None = None,
) -> dict[str, Path]:
    """Write the committee package of an audit into ``out_dir``.

    The report leads with the findings (page 1: the verdict and key figures by rule, the
    map picture, the zones that fall short and by how much), then the details, then the
    parameters and the planning basis; every number comes from ``result.coverage``.

    Parameters
    ----------
    result
        An :class:`~coverage.audit.run.AuditResult`.
    out_dir
        Output folder (created if needed).
    map_html
        The interactive map written by :func:`coverage.audit.run.write_outputs`; the static
        picture ``audit_map.png`` is taken of this same file and the report links to it.
    overwrite
        Whether existing files may be replaced (checked for all before any is written).
    pdf
        Also print ``audit_report.pdf`` (needs Chromium; skipped with a warning without).
    map_picture
        Take ``audit_map.png`` with headless Chromium (skipped with a warning without).
    options
        Title, organisation, author, planning basis and language of the report
        (:class:`~coverage.publish.report.ReportOptions`; default bilingual, no basis named).

    Returns
    -------
    dict of str to pathlib.Path
        ``report`` (HTML), ``pdf``, ``map_png``, ``xlsx``, ``chart_distance``,
        ``chart_by_zone`` (with zones); files that could not be made are absent.
    """
    from .charts import coverage_by_zone_chart, distance_histogram

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    mpath = Path(map_html)
    if not mpath.is_file():
        raise FileNotFoundError(f"{mpath}: the interactive map does not exist. Fix: run write_outputs first.")
    meta = dict(result.meta)
    cfg = result.config
    names = {k: out / v for k, v in PACKAGE_FILES.items()}
    if result.by_zone is None:
        names.pop("chart_by_zone")
    if not pdf:
        names.pop("pdf")
    if not map_picture:
        names.pop("map_png")
    opts = options or ReportOptions()
    lang = opts.lang
    written: dict[str, Path] = {}
    written["xlsx"] = write_excel(names["xlsx"], excel_sheets(result, lang=lang, plan_basis=opts.plan_basis), overwrite=overwrite,
                                  run_date=str(meta.get("date")))  # fmt: skip
    written["chart_distance"] = distance_histogram(
        result.demand, radius_m=cfg.radius_m, walk_limit_m=cfg.walk_limit_m, time_min=cfg.time_min,
        cutoff_m=cfg.search_cutoff_m, path=names["chart_distance"], overwrite=overwrite,
    )  # fmt: skip
    if "chart_by_zone" in names:
        written["chart_by_zone"] = coverage_by_zone_chart(
            result.by_zone, target=meta.get("target"), path=names["chart_by_zone"],
            radius_m=cfg.radius_m, time_min=cfg.time_min, overwrite=overwrite,
        )  # fmt: skip
    png = audit_print_map(names["map_png"], result, overwrite=overwrite, title=opts.title, lang=opts.lang) if map_picture else None  # drawn for print
    if png is not None:
        written["map_png"] = png
    title = str(meta.get("title") or "养老服务设施覆盖评估 Coverage audit")
    report = Report(title, audit_sections(result, charts=written, lang=lang), meta,
                    basis=report_basis(meta, plan_basis=opts.plan_basis, lang=lang), map_html=mpath, map_png=png,
                    findings=audit_findings(result, lang=lang), options=opts)  # fmt: skip
    rep = write_report(names["report"], report, pdf=pdf, overwrite=overwrite)
    written["report"] = rep["html"]
    if "pdf" in rep:
        written["pdf"] = rep["pdf"]
    logger.info("wrote the committee package (%d files) to %s", len(written), out)
    return written
