"""Output helpers shared by the workflows: tables, GeoPackage, JSON, maps, figure, report.

Every file is written atomically (:mod:`coverage.atomic`) and all targets are checked
before the first one is written, so ``overwrite=False`` never leaves half a set behind.
When :mod:`coverage.report` is available each workflow also writes its HTML report (and
PDF on request) and an Excel workbook through it; otherwise a plain one-page HTML sheet and
an Excel workbook written with pandas take their place.
"""

from __future__ import annotations

import base64
import html
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from ..atomic import atomic_path, atomic_write_text, check_writable
from ..network import RoadNetwork

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


@dataclass(frozen=True)
class Section:
    """One report section (mirrors :class:`coverage.report.ReportSection`)."""

    title: str
    paragraphs: list[str] = field(default_factory=list)
    tables: list[tuple[str, pd.DataFrame]] = field(default_factory=list)
    figures: list[tuple[str, Path]] = field(default_factory=list)


def check_all(paths: Mapping[str, Path], *, overwrite: bool) -> None:
    """Check every output path before anything is written."""
    for p in paths.values():
        Path(p).parent.mkdir(parents=True, exist_ok=True)
        check_writable(p, overwrite=overwrite)


def _plain(df: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(df.drop(columns="geometry", errors="ignore")).copy()
    for c in out.columns:
        if pd.api.types.is_float_dtype(out[c]):
            out[c] = out[c].replace([np.inf, -np.inf], np.nan)
    return out


def csv_text(df: pd.DataFrame) -> str:
    """A table as CSV text (no geometry, infinities as empty cells, 3 decimals)."""
    return _plain(df).to_csv(index=False, lineterminator="\n", float_format="%.3f")


def write_csv(path: Path, df: pd.DataFrame, *, overwrite: bool) -> Path:
    """CSV with a BOM so that Excel on Chinese Windows reads the names correctly."""
    return atomic_write_text(path, csv_text(df), overwrite=overwrite, encoding="utf-8-sig")


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
        return _plain(value).to_dict(orient="records")
    return str(value)


def write_gpkg(path: Path, layers: Mapping[str, gpd.GeoDataFrame | None], *, overwrite: bool, date: str) -> Path:
    """Write the non-empty layers to one GeoPackage (fixed timestamps for equal bytes)."""
    import pyogrio

    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": f"{date}T00:00:00.000Z"})
    try:
        with atomic_path(path, overwrite=overwrite) as tmp:
            tmp.unlink(missing_ok=True)
            for name, g in layers.items():
                if g is None or len(g) == 0:
                    continue
                g = g.copy()
                for c in g.columns:
                    if c == g.geometry.name:
                        continue
                    if pd.api.types.is_float_dtype(g[c]):
                        g[c] = g[c].replace([np.inf, -np.inf], np.nan)
                    elif g[c].dtype == object or pd.api.types.is_bool_dtype(g[c]):
                        g[c] = g[c].astype(str)
                g.to_file(tmp, layer=name, driver="GPKG", engine="pyogrio")
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": None})
    return Path(path)


def write_map(path: Path, layers: Any, *, overwrite: bool, basemap: str) -> Path:
    """The interactive audit-style map of ``layers`` (:class:`coverage.mapping.MapLayers`)."""
    from ..mapping import audit_map, save_map

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

    Text is ASCII (ids, English labels) so no CJK font is needed.
    """
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
def _report_module() -> Any:
    try:
        from .. import report
    except ImportError:
        return None
    if not all(hasattr(report, n) for n in ("ReportSection", "write_report", "write_excel")):
        return None
    return report


def _fallback_html(path: Path, *, title: str, sections: Sequence[Section], meta: Mapping[str, Any], map_html: Path | None, overwrite: bool) -> Path:
    parts = [
        "<!DOCTYPE html><html lang='zh'><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title><style>body{{font-family:sans-serif;max-width:60em;"
        "margin:1em auto;font-size:13px}table{border-collapse:collapse;margin:.5em 0}"
        "td,th{border:1px solid #bbb;padding:2px 6px;text-align:right}th{background:#eee}"
        "img{max-width:100%}.meta{color:#555;font-size:11px}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    for s in sections:
        parts.append(f"<h2>{html.escape(s.title)}</h2>")
        parts += [f"<p>{html.escape(p)}</p>" for p in s.paragraphs]
        for caption, df in s.tables:
            parts.append(f"<p><b>{html.escape(caption)}</b></p>")
            parts.append(_plain(df).to_html(index=False, escape=True, na_rep="", float_format=lambda v: f"{v:,.1f}"))
        for caption, fig in s.figures:
            data = base64.b64encode(Path(fig).read_bytes()).decode("ascii")
            parts.append(f"<figure><img alt='{html.escape(caption)}' src='data:image/png;base64,{data}'>"
                         f"<figcaption>{html.escape(caption)}</figcaption></figure>")  # fmt: skip
    if map_html is not None:
        parts.append(f"<p>交互地图 Interactive map: <a href='{html.escape(Path(map_html).name)}'>"
                     f"{html.escape(Path(map_html).name)}</a></p>")  # fmt: skip
    rows = "".join(f"<li>{html.escape(str(k))}: {html.escape(str(v))}</li>" for k, v in meta.items())
    parts.append(f"<div class='meta'><ul>{rows}</ul></div></body></html>\n")
    return atomic_write_text(path, "".join(parts), overwrite=overwrite)


def _fallback_excel(path: Path, sheets: Mapping[str, pd.DataFrame], *, overwrite: bool) -> Path:
    with atomic_path(path, overwrite=overwrite) as tmp:
        with pd.ExcelWriter(tmp, engine="openpyxl") as xl:
            for name, df in sheets.items():
                _plain(df).to_excel(xl, sheet_name=name[:31], index=False)
    return Path(path)


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
    """The HTML report (+ PDF with ``pdf=True`` when :mod:`coverage.report` is present) and
    the Excel workbook; falls back to a plain HTML page and a pandas workbook."""
    rep = _report_module()
    out: dict[str, Path] = {}
    if rep is not None:
        secs = [rep.ReportSection(s.title, s.paragraphs, s.tables, s.figures) for s in sections]
        written = rep.write_report(html_path, title=title, sections=secs, meta=dict(meta), map_html=map_html,
                                   map_png=map_png, pdf=pdf, overwrite=overwrite)  # fmt: skip
        out["report"] = Path(html_path)
        if isinstance(written, Mapping) and written.get("pdf"):
            out["report_pdf"] = Path(written["pdf"])
        rep.write_excel(xlsx_path, {k[:31]: _plain(v) for k, v in sheets.items()}, overwrite=overwrite,
                        run_date=str(meta["date"]) if meta.get("date") else None)  # fmt: skip
    else:
        secs = list(sections)
        if map_png is not None:
            secs = [Section("地图 Map", figures=[("", map_png)]), *secs]
        out["report"] = _fallback_html(html_path, title=title, sections=secs, meta=meta, map_html=map_html, overwrite=overwrite)
        _fallback_excel(xlsx_path, sheets, overwrite=overwrite)
    out["xlsx"] = Path(xlsx_path)
    return out

