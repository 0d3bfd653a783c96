"""Output helpers shared by the workflows: tables, GeoPackage, JSON, maps, figure, report.

Every file is written atomically (:mod:`coverage.publish.atomic`) and all targets are checked
before the first one is written, so ``overwrite=False`` never leaves half a set behind.
Each workflow also writes its HTML report (and PDF on request) and an Excel workbook
through :mod:`coverage.publish.report`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from ..engine.network import RoadNetwork
from .atomic import atomic_path, atomic_write_text, check_writable
from .excel import write_excel
from .report import ReportSection, write_report
from .tables import csv_text, plain_table, with_coordinates, write_csv
from .tables import write_gpkg as _write_gpkg

__all__ = [
    "Layer",
    "Section",
    "check_all",
    "csv_text",
    "figure_png",
    "write_csv",
    "write_gpkg",
    "write_json",
    "write_map",
    "write_report_files",
]

logger = logging.getLogger(__name__)


#: a report section (title, paragraphs, tables, figures)
Section = ReportSection


def check_all(paths: Mapping[str, Path], *, overwrite: bool) -> None:
    """Check every output path before anything is written."""
    for p in paths.values():
        Path(p).parent.mkdir(parents=True, exist_ok=True)
        check_writable(p, overwrite=overwrite)


def write_json(path: Path, record: Mapping[str, Any], *, overwrite: bool) -> Path:
    """A JSON record (parameters, verdicts)."""
    text = json.dumps(dict(record), ensure_ascii=False, indent=2, default=_jsonable) + "\n"
    return atomic_write_text(path, text, overwrite=overwrite)


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return None if not np.isfinite(value) else float(value)
    if isinstance(value, np.ndarray | tuple | set):
        return list(value)
    if isinstance(value, pd.DataFrame):
        return plain_table(value).to_dict(orient="records")
    return str(value)


def write_gpkg(path: Path, layers: Mapping[str, gpd.GeoDataFrame | None], *, overwrite: bool, date: str) -> Path:
    """Write the non-empty layers to one GeoPackage (fixed timestamps for equal bytes)."""
    return _write_gpkg(path, layers, overwrite=overwrite, date=date, skip_empty=True, bools_as_text=True)


def write_map(path: Path, layers: Any, *, overwrite: bool, basemap: str) -> Path:
    """The interactive audit-style map of ``layers`` (:class:`coverage.publish.maps.MapLayers`)."""
    from .maps import audit_map, save_map

    return save_map(audit_map(layers, basemap=basemap), path, overwrite=overwrite)


# --------------------------------------------------------------------------- static figure
@dataclass(frozen=True)
class Layer:
    """One layer of :func:`figure_png`: points, lines or polygons with a style."""

    gdf: gpd.GeoDataFrame
    label: str
    color: str = "#1f77b4"
    marker: str = "o"
    size: float = 20.0
    fill: bool = False
    labels: str | None = None


def figure_png(
    path: Path,
    *,
    network: RoadNetwork,
    layers: Sequence[Layer],
    title: str,
    overwrite: bool,
    lines: gpd.GeoDataFrame | None = None,
    extent: gpd.GeoDataFrame | None = None,
    pad_m: float = 200.0,
) -> Path:
    """A static map (PNG) in the network's metric CRS: roads in grey, then ``layers``.

    Text is ASCII (ids, English labels) so no CJK font is needed. Ids are user text, so all
    text is drawn literally (:func:`coverage.publish.charts.plain_text_rc`: ``$x^2$`` is no mathtext).
    """
    import matplotlib as mpl

    from .charts import plain_text_rc

    with mpl.rc_context(plain_text_rc()):
        return _figure_png(path, network=network, layers=layers, title=title, overwrite=overwrite,
                           lines=lines, extent=extent, pad_m=pad_m)  # fmt: skip


def _figure_png(
    path: Path,
    *,
    network: RoadNetwork,
    layers: Sequence[Layer],
    title: str,
    overwrite: bool,
    lines: gpd.GeoDataFrame | None,
    extent: gpd.GeoDataFrame | None,
    pad_m: float,
) -> Path:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    crs = network.crs
    fig = Figure(figsize=(7.5, 6.0), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    network.edges_frame(to_wgs84=False).plot(ax=ax, color="#c8c8c8", linewidth=0.6, zorder=1)
    if lines is not None and len(lines):
        lines.to_crs(crs).plot(ax=ax, color="#7f7f7f", linewidth=1.0, linestyle="--", zorder=2)
    for z, lay in enumerate(layers, start=3):
        g = lay.gdf.to_crs(crs)
        if not len(g):
            continue
        kind = g.geometry.geom_type.iloc[0]
        if "Polygon" in kind:
            g.boundary.plot(ax=ax, color=lay.color, linewidth=1.5, zorder=z, label=lay.label)
        elif "LineString" in kind:
            g.plot(ax=ax, color=lay.color, linewidth=lay.size / 10.0, zorder=z, label=lay.label, alpha=0.8)
        else:
            g.plot(ax=ax, color=lay.color, marker=lay.marker, markersize=lay.size, zorder=z,
                   label=lay.label, edgecolor="black" if lay.fill else lay.color, linewidth=0.4)  # fmt: skip
            if lay.labels and lay.labels in g:
                for pt, text in zip(g.geometry, g[lay.labels].astype(str), strict=True):
                    ax.annotate(text, (pt.x, pt.y), xytext=(3, 3), textcoords="offset points", fontsize=7)
    if extent is not None and len(extent):
        minx, miny, maxx, maxy = extent.to_crs(crs).total_bounds
        pad = max(maxx - minx, maxy - miny) * 0.05 + pad_m
        ax.set_xlim(minx - pad, maxx + pad)
        ax.set_ylim(miny - pad, maxy + pad)
    ax.set_aspect("equal")
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(f"{crs} x (m)", fontsize=8)
    ax.set_ylabel("y (m)", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.ticklabel_format(useOffset=False, style="plain")
    ax.legend(loc="best", fontsize=7, framealpha=0.85)
    fig.tight_layout()
    with atomic_path(path, overwrite=overwrite) as tmp:
        fig.savefig(tmp, format="png", metadata={"Software": None})
    return Path(path)


# --------------------------------------------------------------------------- report
def write_report_files(
    html_path: Path,
    xlsx_path: Path,
    *,
    title: str,
    sections: Sequence[Section],
    meta: Mapping[str, Any],
    sheets: Mapping[str, pd.DataFrame],
    overwrite: bool,
    map_html: Path | None = None,
    map_png: Path | None = None,
    pdf: bool = False,
) -> dict[str, Path]:
    """The HTML report (+ PDF with ``pdf=True``, see :func:`coverage.publish.report.write_report`)
    and the Excel workbook."""
    out: dict[str, Path] = {}
    written = write_report(html_path, title=title, sections=list(sections), meta=dict(meta), map_html=map_html,
                           map_png=map_png, pdf=pdf, overwrite=overwrite)  # fmt: skip
    out["report"] = Path(html_path)
    if written.get("pdf"):
        out["report_pdf"] = Path(written["pdf"])
    write_excel(xlsx_path, {k[:31]: plain_table(with_coordinates(v)) for k, v in sheets.items()}, overwrite=overwrite,
                run_date=str(meta["date"]) if meta.get("date") else None)  # fmt: skip
    out["xlsx"] = Path(xlsx_path)
    return out
