"""Committee package of an audit: one self-contained HTML report (+ PDF), Excel tables, charts.

:func:`write_report` writes a report page that needs nothing else: CSS inline, figures
embedded as ``data:`` URIs, no script and no external resource. It states the title, the
date, every parameter with its source, the planning rules with the documents they come
from, the CRS, the data sources and their attribution, the caller's sections (text, tables,
figures), the static map picture and a link to the interactive map. All text from data is
HTML-escaped (:func:`html.escape`; tables with ``DataFrame.to_html(escape=True)``).
Headings are bilingual (中文 / English) and print CSS lays the page out on A4; a PDF is
printed with headless Chromium (:func:`coverage.publish.browser.pdf_from_html`) when one is
installed, else a warning is logged and the PDF is skipped.

:func:`committee_package` makes the whole package of an :class:`~coverage.audit.run.AuditResult`
for a spatial-planning committee: ``audit_report.html`` (+ ``.pdf``), ``audit_map.png``
(a picture of the same interactive map file), ``audit_tables.xlsx`` and the charts.
"""

from __future__ import annotations

import base64
import html
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

import numpy as np
import pandas as pd

from ..errors import ParameterError
from ._audit_text import (
    CSS,
    RULES,
    SOURCE_DOCUMENTS,
    is_model_county,
    parameter_rows,
)
from ._html import is_osm
from .atomic import atomic_write_text, check_writable, final_path
from .excel import write_excel

__all__ = [
    "RULES", "SOURCE_DOCUMENTS", "ReportSection", "render_report",
    "write_excel", "write_report",
]  # fmt: skip

if TYPE_CHECKING:
    pass

logger = logging.getLogger(__name__)

_MIME = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".svg": "image/svg+xml"}


@dataclass
class ReportSection:
    """One section of a report.

    Attributes
    ----------
    title
        Heading (plain text; bilingual by convention, e.g. ``"分片区覆盖 Coverage by zone"``).
    paragraphs
        Plain-text paragraphs (escaped; no HTML).
    tables
        ``(caption, table)`` pairs; values are shown as given (format numbers beforehand).
    figures
        ``(caption, image file)`` pairs; PNG, JPEG or SVG, embedded in the page.
    """

    title: str
    paragraphs: list[str] = field(default_factory=list)
    tables: list[tuple[str, pd.DataFrame]] = field(default_factory=list)
    figures: list[tuple[str, Path]] = field(default_factory=list)


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _data_uri(path: str | os.PathLike[str]) -> str:
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: figure file not found. Fix: write the figure before the report.")
    mime = _MIME.get(p.suffix.lower())
    if mime is None:
        raise ParameterError(f"{p}: figures must be PNG, JPEG or SVG files.")
    return f"data:{mime};base64,{base64.b64encode(p.read_bytes()).decode('ascii')}"


def _table_html(caption: str, df: pd.DataFrame, *, max_rows: int) -> str:
    frame = pd.DataFrame(df).drop(columns="geometry", errors="ignore")
    note = ""
    if len(frame) > max_rows:
        note = (f'<p class="note">表中列出前 {max_rows} 行，共 {len(frame)} 行；完整数据见 Excel / CSV 表格。'
                f" First {max_rows} of {len(frame)} rows; all rows are in the Excel / CSV tables.</p>")  # fmt: skip
        frame = frame.head(max_rows)
    for col in frame.columns:
        if pd.api.types.is_float_dtype(frame[col]):
            frame[col] = frame[col].replace([np.inf, -np.inf], np.nan)
    body = frame.to_html(
        escape=True, index=False, na_rep="—", border=0, classes="data",
        float_format=lambda x: f"{x:,.2f}",
    )  # fmt: skip
    cls = "table small" if len(frame) <= 12 else "table"
    return f'<div class="{cls}"><p class="caption">{_e(caption)}</p>{body}{note}</div>'


def _figure_html(caption: str, path: str | os.PathLike[str], *, cls: str = "") -> str:
    klass = f' class="{cls}"' if cls else ""
    return (f'<figure{klass}><img src="{_data_uri(path)}" alt="{_e(caption)}">'
            f"<figcaption>{_e(caption)}</figcaption></figure>")  # fmt: skip


def _rows_table(head: Sequence[str], rows: Sequence[Sequence[object]], cls: str = "data") -> str:
    th = "".join(f"<th>{_e(h)}</th>" for h in head)
    tr = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f'<table class="{cls}"><thead><tr>{th}</tr></thead><tbody>{tr}</tbody></table>'


def _sources_html(meta: dict) -> str:
    from .. import __version__

    source = meta.get("source")
    items = [f"<li>路网与数据来源 Data source: {_e(source) if source else '—'}</li>"]
    if is_model_county(source):
        items.append("<li><strong>模型县：程序生成的示例数据，并非真实地点。</strong> "
                     "Generated model county, not a real place.</li>")  # fmt: skip
    if is_osm(source):
        items.append('<li>地图数据 Map data © OpenStreetMap contributors, '
                     "licensed under the Open Database License (ODbL) 1.0 "
                     "(openstreetmap.org/copyright).</li>")  # fmt: skip
    for extra in meta.get("data_sources") or []:
        items.append(f"<li>{_e(extra)}</li>")
    if meta.get("crs"):
        items.append(f"<li>坐标系 CRS: 距离在 {_e(meta['crs'])} 中计算，输出坐标为 WGS-84 (EPSG:4326)。"
                     f" Distances computed in {_e(meta['crs'])}; output coordinates in WGS-84 (EPSG:4326).</li>")  # fmt: skip
    items.append(f"<li>软件 Software: yanglao-coverage {_e(__version__)} (MIT)</li>")
    return "<ul>" + "".join(items) + "</ul>"


def _map_html(out_dir: Path, map_html: Path | None, map_png: Path | None) -> str:
    parts = []
    if map_png is not None:
        parts.append(_figure_html("覆盖审查地图（静态图）Coverage audit map (static picture)", map_png, cls="map"))
    if map_html is not None:
        rel = os.path.relpath(final_path(Path(map_html).resolve()), final_path(out_dir.resolve())).replace(os.sep, "/")
        parts.append(f'<p>交互地图 Interactive map (open in a browser): <a href="{_e(quote(rel))}">{_e(rel)}</a></p>')
    return "".join(parts)


def render_report(
    *,
    title: str,
    sections: Sequence[ReportSection],
    meta: dict,
    out_dir: str | Path = ".",
    map_html: str | Path | None = None,
    map_png: str | Path | None = None,
    max_table_rows: int = 300,
) -> str:
    """The report page as a string (see :func:`write_report` for the parameters).

    Parameters
    ----------
    title, sections, meta, map_html, map_png, max_table_rows
        As for :func:`write_report`.
    out_dir
        The folder the page will be saved in (the map link is relative to it).

    Returns
    -------
    str
        The complete HTML document.
    """
    toc: list[tuple[str, str]] = []
    body: list[str] = []

    def section(key: str, heading: str, content: str) -> None:
        toc.append((key, heading))
        body.append(f'<section id="{key}"><h2>{_e(heading)}</h2>{content}</section>')

    params = _rows_table(("参数 Parameter", "取值 Value", "来源 Source"), parameter_rows(meta), "data params")
    section("parameters", "参数 Parameters", params)
    rules = _rows_table(("规则 Rule", "标准 Value", "依据 Source document", "本报告检查 Checked here"),
                        [(r["rule"], r["value"], r["source"], r["checked"]) for r in RULES], "data rules")  # fmt: skip
    docs = _rows_table(("文件 File", "地区 Place", "文件名称 Document"), SOURCE_DOCUMENTS, "data docs")
    section("rules", "规则与依据 Rules and their sources",
            rules + '<p class="caption">依据文件 Source documents</p>' + docs)  # fmt: skip
    section("data", "数据来源与署名 Data sources and attribution", _sources_html(meta))
    for i, s in enumerate(sections, start=1):
        parts = [f"<p>{_e(p)}</p>" for p in s.paragraphs]
        parts += [_table_html(cap, df, max_rows=max_table_rows) for cap, df in s.tables]
        parts += [_figure_html(cap, fig) for cap, fig in s.figures]
        section(f"s{i}", s.title, "".join(parts))
    if map_html is not None or map_png is not None:
        section("map", "地图 Map", _map_html(Path(out_dir), Path(map_html) if map_html else None,
                                              Path(map_png) if map_png else None))  # fmt: skip
    nav = "".join(f'<li><a href="#{k}">{_e(h)}</a></li>' for k, h in toc)
    info = [f"日期 Date: {_e(meta.get('date', '—'))}"]
    if meta.get("crs"):
        info.append(f"坐标系 CRS: {_e(meta['crs'])}")
    if meta.get("source"):
        info.append(f"数据 Data: {_e(meta['source'])}")
    return (
        '<!DOCTYPE html>\n<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n"
        f'<header><h1>{_e(title)}</h1><p class="meta">{" · ".join(info)}</p></header>\n'
        f'<nav><p class="caption">目录 Contents</p><ol>{nav}</ol></nav>\n'
        + "\n".join(body)
        + '\n<footer><p>由 yanglao-coverage 生成 Generated by yanglao-coverage.</p></footer>\n'
        "</main>\n</body>\n</html>\n"
    )


def write_report(
    path_html: str | Path,
    *,
    title: str,
    sections: Sequence[ReportSection],
    meta: dict,
    map_html: str | Path | None = None,
    map_png: str | Path | None = None,
    pdf: bool = True,
    overwrite: bool = False,
    max_table_rows: int = 300,
) -> dict[str, Path]:
    """Write a self-contained HTML report and, with Chromium installed, its PDF.

    Parameters
    ----------
    path_html
        The ``.html`` file; the PDF goes beside it with the suffix ``.pdf``.
    title
        Report title (escaped).
    sections
        The report's sections, in order, after the parameters, rules and data sources.
    meta
        Run metadata, e.g. :attr:`AuditResult.meta`: ``date, crs, source, speed_mps,
        radius_m, time_min, walk_limit_m, target, target_rule, weight_column, parameters``
        (rows for missing keys are left out) and optionally ``data_sources`` (list of text).
    map_html
        The interactive map file, linked by its path relative to the report.
    map_png
        A static picture of the map, embedded.
    pdf
        Also print the report to PDF with headless Chromium (skipped with a warning when
        Chromium is missing or fails).
    overwrite
        Whether existing files may be replaced (checked for both before writing).
    max_table_rows
        Longer tables show their first rows and a note.

    Returns
    -------
    dict of str to pathlib.Path
        ``"html"`` and, when printed, ``"pdf"``.

    Raises
    ------
    OutputExistsError
        An output exists and ``overwrite`` is False.
    """
    from .browser import BrowserError, find_chromium, pdf_from_html

    html_path = check_writable(path_html, overwrite=overwrite)
    pdf_path = html_path.with_suffix(".pdf")
    if pdf:
        check_writable(pdf_path, overwrite=overwrite)
    page = render_report(title=title, sections=sections, meta=meta, out_dir=html_path.parent,
                         map_html=map_html, map_png=map_png, max_table_rows=max_table_rows)  # fmt: skip
    out = {"html": atomic_write_text(html_path, page, overwrite=overwrite)}
    logger.info("wrote report %s (%.1f MB)", html_path, len(page.encode("utf-8")) / 1e6)
    if pdf:
        if find_chromium() is None:
            logger.warning("no Chromium installed: the PDF of %s was not made (install chromium to get it)", html_path)
        else:
            try:
                # timestamps from the run date: the same inputs and date give the same bytes
                out["pdf"] = pdf_from_html(html_path, pdf_path, wait_ms=500, block_network=True, overwrite=overwrite,
                                           run_date=meta.get("date") or None)  # fmt: skip
            except BrowserError as exc:
                logger.warning("the PDF of %s was not made: %s", html_path, exc)
    return out
