"""Self-contained HTML reports (+ PDF): the page layout every output package uses.

:func:`write_report` writes a report page that needs nothing else: CSS inline, figures
embedded as ``data:`` URIs, no script and no external resource. The page leads with its
findings (page 1: the verdict and key numbers in plain words, the map picture, what to
do), then the caller's sections (text, tables, figures), then what the report rests on:
the parameters used, the rules of the planning documents named as its basis (or, when
none is named, the bundled library as reference only: :mod:`coverage.publish.plan_basis`),
the data sources and their attribution. Tables are shown readable (bilingual column names,
integers, percentages, yes/no: :mod:`coverage.publish._labels`). All text from data is
HTML-escaped (:func:`html.escape`; tables with ``DataFrame.to_html(escape=True)``).
:class:`ReportOptions` sets the title, organisation, author and language (bilingual or
Chinese only). Print CSS lays the page out on A4; a PDF is printed with headless
Chromium (:func:`coverage.publish.browser.pdf_from_html`) when one is installed, else a
warning is logged and the PDF is skipped.

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

import pandas as pd

from ..audit.summary import config_of
from ..errors import ParameterError
from ._html import is_osm
from ._labels import excel_table, in_lang, readable_table, rule_labels, text_value, tr
from .atomic import atomic_write_text, check_writable, final_path
from .excel import write_excel
from .tables import plain_table, with_coordinates

__all__ = [
    "CSS", "LANGS", "Report", "ReportBasis", "ReportOptions", "ReportSection", "render_report", "write_report",
    "write_report_files",
]  # fmt: skip

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
header .org { margin: 0 0 2px; font-size: 1.05em; }
h3 { font-size: 1.05em; margin: 12px 0 4px; break-after: avoid; page-break-after: avoid; }
section.findings p:first-of-type { font-size: 1.08em; }
section.findings li { margin: 2px 0; }
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
  section.findings { break-after: page; page-break-after: always; }
  section.findings { font-size: 9pt; }
  section.findings figure { margin: 4px 0 6px; }
  section.findings figure.map img { max-height: 92mm; }
  nav { break-after: avoid; }
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
        ``(caption, table)`` pairs. Tables are shown readable: column codes become
        bilingual names, counts integers, shares percentages, flags yes/no
        (:func:`coverage.publish._labels.readable_table`).
    figures
        ``(caption, image file)`` pairs; PNG, JPEG or SVG, embedded in the page.
    bullets
        Plain-text list items shown after the paragraphs (escaped).
    bullets_title
        The heading of the list on page 1 (default "建议 What to do").
    """

    title: str
    paragraphs: list[str] = field(default_factory=list)
    tables: list[tuple[str, pd.DataFrame]] = field(default_factory=list)
    figures: list[tuple[str, Path]] = field(default_factory=list)
    bullets: list[str] = field(default_factory=list)
    bullets_title: str | None = None


@dataclass(frozen=True)
class ReportBasis:
    """What a report rests on, shown after its sections (all plain text, escaped).

    Attributes
    ----------
    parameters
        ``(parameter, value, source)`` rows: the parameters the run used.
    rules
        ``(rule, value, source document, checked here)`` rows of the documents named as
        the report's basis (``plan_basis``); empty when none is named.
    documents
        ``(file, place, document)`` rows: the documents named as the basis.
    notes
        Notes on the data shown first and in bold among the data sources (e.g. that the
        data are generated).
    reference_rules, reference_documents
        The bundled library's rules and documents, shown as reference only (not as the
        report's basis) when no basis is named.
    """

    parameters: Sequence[tuple[str, str, str]] = ()
    rules: Sequence[tuple[str, str, str, str]] = ()
    documents: Sequence[tuple[str, str, str]] = ()
    notes: Sequence[str] = ()
    reference_rules: Sequence[tuple[str, str, str, str]] = ()
    reference_documents: Sequence[tuple[str, str, str]] = ()


#: report languages: bilingual (Chinese first) or Chinese only
LANGS = ("both", "zh")


@dataclass(frozen=True)
class ReportOptions:
    """Who a report is for and how it reads (the committee packages take it).

    Parameters
    ----------
    title
        The report's title (default: the package's own title).
    organisation
        The organisation submitting it (shown under the title), e.g. ``"某县民政局"``.
    author
        Who prepared it (shown under the title).
    plan_basis
        The planning documents the report rests on: keys of the bundled library
        (``"pingyin-2021"``, ``"002"``, ``"平阴"``) or the names of the user's own documents
        (:func:`coverage.publish.plan_basis.resolve_basis`); empty: no document is claimed
        as the basis, the rules used are stated as parameters and the library follows as
        reference.
    lang
        ``"both"`` (Chinese and English) or ``"zh"`` (Chinese only).
    """

    title: str | None = None
    organisation: str | None = None
    author: str | None = None
    plan_basis: tuple[str, ...] = ()
    lang: str = "both"

    def __post_init__(self) -> None:
        if self.lang not in LANGS:
            raise ParameterError(f"lang={self.lang!r} (--lang); choose 'both' (中文 + English) or 'zh' (中文)")
        if isinstance(self.plan_basis, str):
            object.__setattr__(self, "plan_basis", tuple(s.strip() for s in self.plan_basis.split(",") if s.strip()))


@dataclass(frozen=True)
class Report:
    """A report page: what :func:`render_report` and :func:`write_report` show.

    The page leads with its findings (``findings``, page 1: the verdict, key numbers, the
    map picture, what to do), then the ``sections``, then the basis (parameters, rules and
    their documents) and the data sources.

    Attributes
    ----------
    title
        Report title (escaped); ``options.title`` overrides it.
    sections
        The report's sections, in order, after the findings.
    meta
        Run metadata, e.g. :attr:`AuditResult.meta`: ``date``, ``crs``, ``source`` and
        optionally ``data_sources`` (list of text).
    basis
        The parameters, rules and documents (their sections are left out without it).
    map_html
        The interactive map file, linked by its path relative to the report.
    map_png
        A static picture of the map, embedded (on page 1 when there are findings).
    max_table_rows
        Longer tables show their first rows and a note.
    findings
        Page 1: the verdict and key numbers in plain words, what to do.
    options
        Title, organisation, author, language (:class:`ReportOptions`).
    """

    title: str
    sections: Sequence[ReportSection]
    meta: Mapping[str, Any]
    basis: ReportBasis | None = None
    map_html: str | Path | None = None
    map_png: str | Path | None = None
    max_table_rows: int = 300
    findings: ReportSection | None = None
    options: ReportOptions = field(default_factory=ReportOptions)


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


def _table_html(caption: str, df: pd.DataFrame, *, max_rows: int, lang: str = "both",
                labels: Mapping[str, tuple[str, str]] | None = None) -> str:  # fmt: skip
    frame = pd.DataFrame(df).drop(columns="geometry", errors="ignore")
    note = ""
    if len(frame) > max_rows:
        note = f'<p class="note">{_e(tr(f"表中列出前 {max_rows} 行，共 {len(frame)} 行；完整数据见 Excel / CSV 表格。", f"First {max_rows} of {len(frame)} rows; all rows are in the Excel / CSV tables.", lang))}</p>'
        frame = frame.head(max_rows)
    body = readable_table(frame, lang, labels=labels).to_html(escape=True, index=False, na_rep="—", border=0, classes="data")
    cls = "table small" if len(frame) <= 12 else "table"
    return f'<div class="{cls}"><p class="caption">{_e(caption)}</p>{body}{note}</div>'


def _figure_html(caption: str, path: str | os.PathLike[str], *, cls: str = "") -> str:
    klass = f' class="{cls}"' if cls else ""
    return (f'<figure{klass}><img src="{_data_uri(path)}" alt="{_e(caption)}">'
            f"<figcaption>{_e(caption)}</figcaption></figure>")  # fmt: skip


def _rows_table(head: Sequence[str], rows: Sequence[Sequence[object]], cls: str = "data") -> str:
    th = "".join(f"<th>{_e(h)}</th>" for h in head)
    tr_ = "".join("<tr>" + "".join(f"<td>{_e(text_value(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f'<table class="{cls}"><thead><tr>{th}</tr></thead><tbody>{tr_}</tbody></table>'


def _sources_html(meta: Mapping[str, Any], notes: Sequence[str], lang: str) -> str:
    from .. import __version__

    source = meta.get("source")
    items = [f"<li>{_e(tr('路网与数据来源', 'Data source', lang))}: {_e(source) if source else '—'}</li>"]
    items += [f"<li><strong>{_e(note)}</strong></li>" for note in notes]
    if is_osm(source):
        items.append(f"<li>{_e(tr('地图数据', 'Map data', lang))} © OpenStreetMap contributors, "
                     "licensed under the Open Database License (ODbL) 1.0 "
                     "(openstreetmap.org/copyright).</li>")  # fmt: skip
    for extra in meta.get("data_sources") or []:
        items.append(f"<li>{_e(extra)}</li>")
    if meta.get("crs"):
        crs = tr(f"距离在 {meta['crs']} 中计算，输出坐标为 WGS-84 (EPSG:4326)。",
                 f"Distances computed in {meta['crs']}; output coordinates in WGS-84 (EPSG:4326).", lang)
        items.append(f"<li>{_e(tr('坐标系', 'CRS', lang))}: {_e(crs)}</li>")
    items.append(f"<li>{_e(tr('软件', 'Software', lang))}: yanglao-coverage {_e(__version__)} (MIT)</li>")
    return "<ul>" + "".join(items) + "</ul>"


def _map_link(out_dir: Path, map_html: Path | None, lang: str) -> str:
    if map_html is None:
        return ""
    rel = os.path.relpath(final_path(Path(map_html).resolve()), final_path(out_dir.resolve())).replace(os.sep, "/")
    return f'<p>{_e(tr("交互地图（在浏览器中打开）", "Interactive map (open in a browser)", lang))}: <a href="{_e(quote(rel))}">{_e(rel)}</a></p>'


def _map_html(out_dir: Path, map_html: Path | None, map_png: Path | None, lang: str) -> str:
    parts = []
    if map_png is not None:
        parts.append(_figure_html(tr("覆盖地图（静态图）", "Coverage map (static picture)", lang), map_png, cls="map"))
    parts.append(_map_link(out_dir, map_html, lang))
    return "".join(parts)


def _basis_sections(basis: ReportBasis, lang: str) -> list[tuple[str, str, str]]:
    """``(anchor, heading, html)`` of the parameters, the rules of the named basis and the
    bundled library as reference."""
    t = lambda zh, en: tr(zh, en, lang)  # noqa: E731
    params = _rows_table((t("参数", "Parameter"), t("取值", "Value"), t("来源", "Source")), basis.parameters, "data params")
    out = [("parameters", t("本次使用的参数", "Parameters used"), params)]
    rule_head = (t("规则", "Rule"), t("标准值", "Value"), t("依据文件", "Document"), t("本报告检查", "Checked here"))
    doc_head = (t("编号", "File"), t("地区", "Place"), t("文件名称", "Document"))
    if basis.rules or basis.documents:
        html_ = _rows_table(rule_head, basis.rules, "data rules") if basis.rules else ""
        html_ += f'<p class="caption">{_e(t("依据文件", "Basis documents"))}</p>' + _rows_table(doc_head, basis.documents, "data docs")
        out.append(("rules", t("规划依据", "Planning basis"), html_))
    if basis.reference_rules:
        note = t("未指定规划依据：以上参数为本次评估采用的数值，本报告不以任何文件为法定依据。下列内置标准库中的规定仅供参考。",
                 "No planning basis was named: the parameters above are the values this run used, and no document is "
                 "claimed as the legal basis of this report. The standards in the bundled library below are for reference only.")  # fmt: skip
        html_ = f'<p class="note">{_e(note)}</p>' + _rows_table(rule_head, basis.reference_rules, "data rules reference")
        html_ += f'<p class="caption">{_e(t("标准库文件", "Library documents"))}</p>' + _rows_table(doc_head, basis.reference_documents, "data docs")
        out.append(("reference", t("参考：内置标准库", "Reference: standards in the bundled library"), html_))
    return out


def _header_html(title: str, meta: Mapping[str, Any], options: ReportOptions) -> str:
    lang = options.lang
    who = [x for x in (options.organisation, options.author) if x]
    info = [f"{_e(tr('日期', 'Date', lang))}: {_e(meta.get('date', '—'))}"]
    if meta.get("source"):
        info.append(f"{_e(tr('数据', 'Data', lang))}: {_e(meta['source'])}")
    org = f'<p class="org">{" · ".join(_e(x) for x in who)}</p>' if who else ""
    return f'<header><h1>{_e(title)}</h1>{org}<p class="meta">{" · ".join(info)}</p></header>\n'


def _page(title: str, meta: Mapping[str, Any], parts: Sequence[tuple[str, str, str]], options: ReportOptions,
          first: str = "") -> str:  # fmt: skip
    """The HTML document: header, page 1 (``first``), contents and the ``(anchor, heading, html)`` parts."""
    lang = options.lang
    nav = "".join(f'<li><a href="#{k}">{_e(h)}</a></li>' for k, h, _ in parts)
    body = "\n".join(f'<section id="{k}"><h2>{_e(h)}</h2>{content}</section>' for k, h, content in parts)
    return (
        f'<!DOCTYPE html>\n<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n"
        + _header_html(title, meta, options)
        + first
        + f'<nav><p class="caption">{_e(tr("目录", "Contents", lang))}</p><ol>{nav}</ol></nav>\n'
        + body
        + f'\n<footer><p>{_e(tr("由 yanglao-coverage 生成", "Generated by yanglao-coverage", lang))}</p></footer>\n'
        "</main>\n</body>\n</html>\n"
    )


def _labels_of(meta: Mapping[str, Any]) -> dict[str, tuple[str, str]]:
    """Column names that carry a rule, named by the rules in ``meta`` (none without them)."""
    if meta.get("radius_m") is None and not isinstance(meta.get("parameters"), Mapping):
        return {}
    try:
        return rule_labels(config_of(meta), meta.get("weight_column"))
    except (ParameterError, TypeError, ValueError):
        return {}


def _section_html(s: ReportSection, *, max_rows: int, lang: str, labels: Mapping[str, tuple[str, str]]) -> str:
    parts = [f"<p>{_e(p)}</p>" for p in s.paragraphs]
    if s.bullets:
        parts.append("<ul>" + "".join(f"<li>{_e(b)}</li>" for b in s.bullets) + "</ul>")
    parts += [_table_html(cap, df, max_rows=max_rows, lang=lang, labels=labels) for cap, df in s.tables]
    parts += [_figure_html(cap, fig) for cap, fig in s.figures]
    return "".join(parts)


def _findings_html(r: Report, out_dir: Path) -> str:
    """Page 1: the findings with the map picture and the map link."""
    f, lang = r.findings, r.options.lang
    assert f is not None
    paras = [f"<p>{_e(p)}</p>" for p in f.paragraphs]
    tables = [_table_html(cap, df, max_rows=r.max_table_rows, lang=lang, labels=_labels_of(r.meta)) for cap, df in f.tables]
    picture = _map_html(out_dir, Path(r.map_html) if r.map_html else None, Path(r.map_png) if r.map_png else None, lang)
    todo = ""
    if f.bullets:
        head = f.bullets_title or tr("建议", "What to do", lang)
        todo = f"<h3>{_e(head)}</h3><ul>" + "".join(f"<li>{_e(b)}</li>" for b in f.bullets) + "</ul>"
    figs = "".join(_figure_html(cap, fig) for cap, fig in f.figures)
    return f'<section id="findings" class="findings"><h2>{_e(f.title)}</h2>{"".join(paras)}{"".join(tables)}{picture}{todo}{figs}</section>\n'


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
    lang = r.options.lang
    first = _findings_html(r, Path(out_dir)) if r.findings is not None else ""
    labels = _labels_of(r.meta)
    parts = [(f"s{i}", s.title, _section_html(s, max_rows=r.max_table_rows, lang=lang, labels=labels))
             for i, s in enumerate(r.sections, start=1)]  # fmt: skip
    if r.findings is None and (r.map_html is not None or r.map_png is not None):
        parts.append(("map", tr("地图", "Map", lang), _map_html(Path(out_dir), Path(r.map_html) if r.map_html else None,
                                                            Path(r.map_png) if r.map_png else None, lang)))  # fmt: skip
    if r.basis is not None:
        parts += _basis_sections(r.basis, lang)
    parts.append(("data", tr("数据来源与署名", "Data sources and attribution", lang), _sources_html(r.meta, r.basis.notes if r.basis else (), lang)))
    return _page(r.options.title or in_lang(r.title, lang), r.meta, parts, r.options, first)


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
    lang = report.options.lang
    labels = _labels_of(report.meta)
    write_excel(xlsx_path, {k[:31]: excel_table(plain_table(with_coordinates(v)), lang, labels=labels) for k, v in sheets.items()}, overwrite=overwrite,
                run_date=str(date) if date else None)  # fmt: skip
    out["xlsx"] = Path(xlsx_path)
    return out
