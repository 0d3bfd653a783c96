"""Self-contained HTML reports (+ PDF): the page layout every output package uses.

:func:`write_report` writes a report page that needs nothing else: CSS inline, figures
embedded as ``data:`` URIs, no script and no external resource. It states the title, the
date, the parameters with their sources and the planning rules with the documents they
come from (the :class:`ReportBasis` the caller gives), the data sources and their
attribution, the CRS, the caller's sections (text, tables, figures), the static map
picture and a link to the interactive map. All text from data is HTML-escaped
(:func:`html.escape`; tables with ``DataFrame.to_html(escape=True)``). Headings are
bilingual (中文 / English) and print CSS lays the page out on A4; a PDF is printed with
headless Chromium (:func:`coverage.publish.browser.pdf_from_html`) when one is installed,
else a warning is logged and the PDF is skipped.

:func:`write_report_files` writes a report and its Excel workbook (the workflows' outputs).
What the rules and parameters say is not decided here: the audit package supplies it
(:func:`coverage.publish.audit_package.report_basis`).
"""

from __future__ import annotations

import base64
import html
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
import pandas as pd

from ..errors import ParameterError
from ._html import is_osm
from .atomic import atomic_write_text, check_writable, final_path
from .excel import write_excel
from .tables import plain_table, with_coordinates

__all__ = ["CSS", "Report", "ReportBasis", "ReportSection", "render_report", "write_report", "write_report_files"]

logger = logging.getLogger(__name__)

_MIME = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".svg": "image/svg+xml"}

#: the page style: screen layout and A4 print layout (inline in every report)
CSS = """
:root { --ink:#1d2733; --muted:#5b6672; --rule:#d5dbe1; --head:#eef2f6; --accent:#1f5fa8; }
* { box-sizing: border-box; }
body { margin:0; color:var(--ink); background:#fff; line-height:1.55; font-size:15px;
  font-family:"Noto Sans CJK SC","Source Han Sans SC","WenQuanYi Micro Hei","Microsoft YaHei",
  "PingFang SC","SimHei",sans-serif; }
main { max-width: 1000px; margin: 0 auto; padding: 24px 28px 40px; }
header { border-bottom: 3px solid var(--accent); margin-bottom: 14px; }
h1 { font-size: 1.6em; margin: 0 0 6px; line-height: 1.3; }
h2 { font-size: 1.22em; margin: 26px 0 8px; padding-bottom: 3px; border-bottom: 1px solid var(--rule);
  color: var(--accent); break-after: avoid; page-break-after: avoid; }
p { margin: 6px 0; }
.meta, .note, figcaption, .caption, footer { color: var(--muted); font-size: 0.88em; }
.caption { font-weight: bold; margin: 12px 0 4px; break-after: avoid; page-break-after: avoid; }
.table.small { break-inside: avoid; page-break-inside: avoid; }
nav ol { margin: 4px 0 0; padding-left: 22px; columns: 2; font-size: 0.92em; }
a { color: var(--accent); }
table.data { border-collapse: collapse; width: 100%; font-size: 0.84em; margin: 4px 0 8px; }
table.data th, table.data td { border: 1px solid var(--rule); padding: 3px 6px; vertical-align: top;
  text-align: left; word-break: keep-all; overflow-wrap: break-word; }
table.data th { background: var(--head); font-weight: bold; }
table.data tr { break-inside: avoid; page-break-inside: avoid; }
table.data thead { display: table-header-group; }
table.params td:first-child, table.rules td:first-child { width: 30%; }
table.params td:nth-child(2) { white-space: nowrap; }
figure { margin: 10px 0 14px; break-inside: avoid; page-break-inside: avoid; text-align: center; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--rule); }
figure.map img { width: 100%; }
ul { padding-left: 22px; }
footer { margin-top: 28px; border-top: 1px solid var(--rule); padding-top: 6px; }
@page { size: A4; margin: 14mm 12mm 16mm;
  @bottom-center { content: counter(page) " / " counter(pages); font-size: 8pt; color: #5b6672; } }
@media print {
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  body { font-size: 9.5pt; }
  main { max-width: none; padding: 0; }
  h2 { margin-top: 14pt; }
  nav ol { columns: 2; }
  table.data { font-size: 7.5pt; }
  figure img { max-height: 120mm; width: auto; max-width: 100%; }
  figure.map img { width: 100%; max-height: 200mm; object-fit: contain; }
  a { color: inherit; text-decoration: none; }
}
"""


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


@dataclass(frozen=True)
class ReportBasis:
    """What a report rests on, shown before its sections (all plain text, escaped).

    Attributes
    ----------
    parameters
        ``(parameter, value, source)`` rows.
    rules
        ``(rule, value, source document, checked here)`` rows.
    documents
        ``(file, place, document)`` rows: the documents the rules cite.
    notes
        Notes on the data shown first and in bold among the data sources (e.g. that the
        data are generated).
    """

    parameters: Sequence[tuple[str, str, str]] = ()
    rules: Sequence[tuple[str, str, str, str]] = ()
    documents: Sequence[tuple[str, str, str]] = ()
    notes: Sequence[str] = ()


@dataclass(frozen=True)
class Report:
    """A report page: what :func:`render_report` and :func:`write_report` show.

    Attributes
    ----------
    title
        Report title (escaped).
    sections
        The report's sections, in order, after the parameters, rules and data sources.
    meta
        Run metadata, e.g. :attr:`AuditResult.meta`: ``date``, ``crs``, ``source`` and
        optionally ``data_sources`` (list of text).
    basis
        The parameters, rules and documents (their sections are left out without it).
    map_html
        The interactive map file, linked by its path relative to the report.
    map_png
        A static picture of the map, embedded.
    max_table_rows
        Longer tables show their first rows and a note.
    """

    title: str
    sections: Sequence[ReportSection]
    meta: Mapping[str, Any]
    basis: ReportBasis | None = None
    map_html: str | Path | None = None
    map_png: str | Path | None = None
    max_table_rows: int = 300


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


def _sources_html(meta: Mapping[str, Any], notes: Sequence[str]) -> str:
    from .. import __version__

    source = meta.get("source")
    items = [f"<li>路网与数据来源 Data source: {_e(source) if source else '—'}</li>"]
    items += [f"<li><strong>{_e(note)}</strong></li>" for note in notes]
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


def _basis_sections(basis: ReportBasis) -> list[tuple[str, str, str]]:
    """``(anchor, heading, html)`` of the parameters and the rules with their documents."""
    params = _rows_table(("参数 Parameter", "取值 Value", "来源 Source"), basis.parameters, "data params")
    rules = _rows_table(("规则 Rule", "标准 Value", "依据 Source document", "本报告检查 Checked here"), basis.rules, "data rules")
    docs = _rows_table(("文件 File", "地区 Place", "文件名称 Document"), basis.documents, "data docs")
    return [("parameters", "参数 Parameters", params),
            ("rules", "规则与依据 Rules and their sources", rules + '<p class="caption">依据文件 Source documents</p>' + docs)]  # fmt: skip


def _page(title: str, meta: Mapping[str, Any], parts: Sequence[tuple[str, str, str]]) -> str:
    """The HTML document: header, table of contents and the ``(anchor, heading, html)`` parts."""
    nav = "".join(f'<li><a href="#{k}">{_e(h)}</a></li>' for k, h, _ in parts)
    body = "\n".join(f'<section id="{k}"><h2>{_e(h)}</h2>{content}</section>' for k, h, content in parts)
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
        + body
        + '\n<footer><p>由 yanglao-coverage 生成 Generated by yanglao-coverage.</p></footer>\n'
        "</main>\n</body>\n</html>\n"
    )


def render_report(report: Report, *, out_dir: str | Path = ".") -> str:
    """The report page as a string.

    Parameters
    ----------
    report
        What the page shows.
    out_dir
        The folder the page will be saved in (the map link is relative to it).

    Returns
    -------
    str
        The complete HTML document.
    """
    r = report
    parts = _basis_sections(r.basis) if r.basis is not None else []
    parts.append(("data", "数据来源与署名 Data sources and attribution", _sources_html(r.meta, r.basis.notes if r.basis else ())))
    for i, s in enumerate(r.sections, start=1):
        html_parts = [f"<p>{_e(p)}</p>" for p in s.paragraphs]
        html_parts += [_table_html(cap, df, max_rows=r.max_table_rows) for cap, df in s.tables]
        html_parts += [_figure_html(cap, fig) for cap, fig in s.figures]
        parts.append((f"s{i}", s.title, "".join(html_parts)))
    if r.map_html is not None or r.map_png is not None:
        parts.append(("map", "地图 Map", _map_html(Path(out_dir), Path(r.map_html) if r.map_html else None,
                                                     Path(r.map_png) if r.map_png else None)))  # fmt: skip
    return _page(r.title, r.meta, parts)


def write_report(path_html: str | Path, report: Report, *, pdf: bool = True, overwrite: bool = False) -> dict[str, Path]:
    """Write a self-contained HTML report and, with Chromium installed, its PDF.

    Parameters
    ----------
    path_html
        The ``.html`` file; the PDF goes beside it with the suffix ``.pdf``.
    report
        What the page shows (:class:`Report`).
    pdf
        Also print the report to PDF with headless Chromium (skipped with a warning when
        Chromium is missing or fails).
    overwrite
        Whether existing files may be replaced (checked for both before writing).

    Returns
    -------
    dict of str to pathlib.Path
        ``"html"`` and, when printed, ``"pdf"``.

    Raises
    ------
    OutputExistsError
        An output exists and ``overwrite`` is False.
    """
    html_path = check_writable(path_html, overwrite=overwrite)
    pdf_path = html_path.with_suffix(".pdf")
    if pdf:
        check_writable(pdf_path, overwrite=overwrite)
    page = render_report(report, out_dir=html_path.parent)
    out = {"html": atomic_write_text(html_path, page, overwrite=overwrite)}
    logger.info("wrote report %s (%.1f MB)", html_path, len(page.encode("utf-8")) / 1e6)
    if pdf:
        printed = _print_pdf(html_path, pdf_path, run_date=report.meta.get("date") or None, overwrite=overwrite)
        if printed is not None:
            out["pdf"] = printed
    return out


def _print_pdf(html_path: Path, pdf_path: Path, *, run_date: str | None, overwrite: bool) -> Path | None:
    """The PDF of a report page, or None (with a warning) without a working Chromium."""
    from .browser import BrowserError, find_chromium, pdf_from_html

    if find_chromium() is None:
        logger.warning("no Chromium installed: the PDF of %s was not made (install chromium to get it)", html_path)
        return None
    try:
        # timestamps from the run date: the same inputs and date give the same bytes
        return pdf_from_html(html_path, pdf_path, wait_ms=500, block_network=True, overwrite=overwrite, run_date=run_date)
    except BrowserError as exc:
        logger.warning("the PDF of %s was not made: %s", html_path, exc)
        return None


def write_report_files(
    html_path: Path,
    xlsx_path: Path,
    report: Report,
    *,
    sheets: Mapping[str, pd.DataFrame],
    overwrite: bool,
    pdf: bool = False,
) -> dict[str, Path]:
    """The HTML report (+ PDF with ``pdf=True``, see :func:`write_report`) and the Excel
    workbook of ``sheets`` (names cut to 31 characters; points with WGS-84 coordinates).

    Returns
    -------
    dict of str to pathlib.Path
        ``"report"``, ``"xlsx"`` and, when printed, ``"report_pdf"``.
    """
    out: dict[str, Path] = {}
    written = write_report(html_path, report, pdf=pdf, overwrite=overwrite)
    out["report"] = Path(html_path)
    if written.get("pdf"):
        out["report_pdf"] = Path(written["pdf"])
    date = report.meta.get("date")
    write_excel(xlsx_path, {k[:31]: plain_table(with_coordinates(v)) for k, v in sheets.items()}, overwrite=overwrite,
                run_date=str(date) if date else None)  # fmt: skip
    out["xlsx"] = Path(xlsx_path)
    return out
