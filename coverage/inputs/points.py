"""Readers for point layers (demand, facilities, candidate sites) and zone polygons.

Planners' files come as CSV (often GBK-encoded; comma-, tab- or semicolon-separated, the
last with European decimal commas such as ``115,0240``), Excel sheets with Chinese headers
(often under title rows, with the header spread over two rows: 基本信息/坐标 merged above
编号/名称/经度/纬度), or GeoJSON/GeoPackage layers, with coordinates in WGS-84, GCJ-02
(Amap/Tencent) or BD-09 (Baidu). The readers return GeoDataFrames in EPSG:4326 whose
standardised columns are:

``id``, ``name``
    Strings. ``id`` comes from ``id_col`` or a column such as 编号/ID/代码/序号, else is
    generated as ``"<kind>-<source_row>"``; ``name`` falls back to ``id``.
``households``, ``elderly``, ``population``, ``capacity``, ``floor_area_m2``
    ``float64``, present when a matching column (户数, 老年人口, 人口, 床位数, 建筑面积...)
    exists. Empty cells stay NaN (a :class:`~coverage.errors.DataWarning` names the rows):
    a missing count is unknown, not zero, and the code using it decides.
``source_row``
    Where the record sits as the user sees the file: the spreadsheet row (header = row 1,
    first data row = row 2; title rows and a second header row shift both) or, for vector
    files, the 1-based feature number. Every message uses these numbers.

All other original columns are kept (coordinate columns as read; a clash with a standard
name gets the suffix ``_original``). ``gdf.attrs`` records the source, coordinate system,
the columns used, the header rows and the text encoding. All problems found in a file are collected and
raised together as one :class:`~coverage.errors.InputFileError` (a
:class:`~coverage.errors.CoordinateError` when coordinates are involved) naming the file,
rows, columns and the fix.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import os
import re
import unicodedata
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..errors import (
    CoordinateError,
    CRSError,
    DataWarning,
    InputFileError,
    ParameterError,
    SnapWarning,
    format_problems,
)
from .chinacrs import normalise_system, to_wgs84, to_wgs84_geometry

if TYPE_CHECKING:
    from typing import Unpack

__all__ = [
    "KINDS",
    "TEXT_COLUMNS",
    "PointColumns",
    "ReadOptions",
    "check_coord_system",
    "column_aliases",
    "points_from_frame",
    "read_points",
    "read_zones",
    "suggest_coord_system",
]

logger = logging.getLogger(__name__)

KINDS = ("demand", "facilities", "candidates")
_TABLE = {".csv", ".txt", ".tsv"}
_EXCEL = {".xlsx", ".xlsm"}
_VECTOR = {".geojson", ".json", ".gpkg", ".shp", ".fgb", ".gml", ".kml"}
_HEADER_SEARCH = 20  # rows searched for the header (title rows above it are skipped)

# Column-name aliases, in priority order, matched after _norm() (case, spaces, brackets).
_LON = "经度 lng lon long longitude x 东经 x坐标 横坐标 经度坐标".split()
_LAT = "纬度 lat latitude y 北纬 y坐标 纵坐标 纬度坐标".split()
_COMBINED = "坐标 location 经纬度 lnglat lonlat 经纬度坐标 coordinates coord 坐标点".split()
_ID = "id 编号 代码 序号 fid 编码 objectid code no 设施编号 机构编号 小区编号".split()
_NAME = "名称 name 小区名称 村名 设施名称 机构名称 村庄名称 小区名 站点名称 单位名称 名字 小区 村庄".split()
_FIELDS: dict[str, list[str]] = {
    "households": "户数 households hh 总户数 住户数 家庭户数".split(),
    "elderly": "老年人口 老年人数 60岁以上人口 60岁及以上人口 60岁以上老人 老年人 老人数 "
    "elderly pop60 pop60plus".split(),
    "population": "人口 population pop 总人口 常住人口 户籍人口 人口数".split(),
    "capacity": "床位 床位数 capacity beds bed 核定床位 床位总数".split(),
    "floor_area_m2": "建筑面积 面积 floorarea flooraream2 aream2 建筑面积m2 面积m2".split(),
    "count": "count 人数 入住人数 在院人数 在住人数 住养人数".split(),
    "site_cost": "sitecost 成本 选址成本 建设成本 改造费用 费用 造价 cost".split(),
}
#: Text columns the planning workflows (:mod:`coverage.workflows`) use, renamed to these
#: standard names when found (values kept as written, as strings). Zones take ``kind`` and
#: ``township`` only. The workflows name these aliases when a column they need is missing.
TEXT_COLUMNS: dict[str, list[str]] = {
    "kind": "kind 类型 类别 设施类型 机构类型 站点类型 区域类型 种类 type category".split(),
    "township": "township 乡镇 所属乡镇 乡镇街道 所属乡镇街道 镇街 所属镇街 所属街道 乡镇名称".split(),
    "zone_id": "zoneid 片区 片区编号 所属片区 片区代码 区域编号 zone".split(),
    "home_id": "homeid home 所在机构 所在机构编号 所在养老院 所在敬老院 入住机构 入住机构编号 原机构编号".split(),
    "action": "action 处置 去留 处置方式 处置意见".split(),
    "origin_name": "originname origin 原籍 原籍村 来源村 户籍地 来源地".split(),
    "care": "care 自理能力 自理情况 照护等级 护理等级".split(),
}
_ZONE_ID = "zoneid id 编号 代码 adcode 区划代码 行政区划代码 code fid 片区编号 片区".split()
_ZONE_NAME = (  # the finer unit first: a village layer's 乡镇 column is its township
    "zonename name 名称 区划名称 行政区划名称 村名 村 村庄名称 社区 社区名称 乡镇 乡镇名称 街道 街道名称"
).split()


def column_aliases(layer: str = "points") -> dict[str, list[str]]:
    """The one table of column names the readers recognise: standard column -> accepted names.

    Names are matched in the order given, after ignoring case, spaces, ``_ - . : / °`` and
    bracketed units (``建筑面积(m²)`` is ``建筑面积``; ``zone_id`` is ``zoneid``); a system
    token (``gcj02``, ``高德`` ...) is ignored too, so ``lng_gcj02`` is a longitude.

    Parameters
    ----------
    layer
        ``"points"`` (:func:`read_points`: ``lon``, ``lat``, the combined ``lonlat``, ``id``,
        ``name``, the numeric fields and :data:`TEXT_COLUMNS`) or ``"zones"``
        (:func:`read_zones`: ``zone_id``, ``zone_name``, ``kind``, ``township``).

    Examples
    --------
    >>> column_aliases()["households"][:2]
    ['户数', 'households']
    >>> column_aliases("zones")["zone_name"][:3]
    ['zonename', 'name', '名称']
    """
    if layer == "zones":
        return {"zone_id": list(_ZONE_ID), "zone_name": list(_ZONE_NAME),
                "kind": list(TEXT_COLUMNS["kind"]), "township": list(TEXT_COLUMNS["township"])}  # fmt: skip
    if layer != "points":
        raise ParameterError(f"layer={layer!r}: use 'points' or 'zones'")
    base = {"lon": _LON, "lat": _LAT, "lonlat": _COMBINED, "id": _ID, "name": _NAME, **_FIELDS, **TEXT_COLUMNS}
    return {k: list(v) for k, v in base.items()}


_SYSTEM_TOKENS = "wgs84 gcj02 bd09 cgcs2000 gcj wgs bd 高德 百度 gaode baidu amap".split()
_DMS = re.compile(
    r"^([-+]?\d+(?:\.\d+)?)\s*[°度]\s*(?:(\d+(?:\.\d+)?)\s*['′分]\s*)?"
    r"(?:(\d+(?:\.\d+)?)\s*(?:\"|″|''|秒)\s*)?([NSEW东西南北]?)$",
    re.IGNORECASE,
)
_FIX_COORDS = "Write coordinates as decimal degrees (e.g. 116.397) or delete those rows."
_FIX_QGIS = "Check that the file opens in QGIS."


# --- small helpers ------------------------------------------------------------------------


def _error(source: object, problem: str, fix: str, cls: type[Exception] = InputFileError) -> Any:
    return cls(format_problems(str(source), [problem], fix))


def _norm(name: object) -> str:
    """Column name without case, bracketed units, spaces and separators (NFKC)."""
    text = unicodedata.normalize("NFKC", str(name)).strip().lower()
    return re.sub(r"[\s_\-.:/°]", "", re.sub(r"[(\[【].*?[)\]】]", "", text))


def _find(columns: Sequence[Any], aliases: Sequence[str], exclude: Iterable[Any] = ()) -> Any:
    """The column matching the earliest alias (then the leftmost column), or None.

    System tokens are ignored, so ``lng_gcj02`` and ``高德经度`` match too.
    """
    skip = set(exclude)
    variants = {}
    for col in columns:
        base = _norm(col)
        variants[col] = {base} | {base.replace(t, "") for t in _SYSTEM_TOKENS if t in base}
    for alias in aliases:
        for col in columns:
            if col not in skip and alias in variants[col]:
                return col
    return None


def _rows(word: str, rows: Iterable[int], limit: int = 8) -> str:
    rows = [int(r) for r in rows]
    more = f" (+{len(rows) - limit} more)" if len(rows) > limit else ""
    plural = "s" if len(rows) > 1 else ""
    return f"{word}{plural} {', '.join(str(r) for r in rows[:limit])}{more}"


def _blank(values: pd.Series) -> np.ndarray:
    return (values.isna() | values.map(lambda v: isinstance(v, str) and not v.strip())).to_numpy()


def _parse_number(value: Any, coordinate: bool = False) -> float:
    """One cell as a float, NaN if unreadable; accepts '1,234', full-width digits, DMS.

    For a ``coordinate`` a comma is never a thousands separator: one comma and no point
    (``'115,0240'``, a European decimal comma) is the decimal mark, anything else with a
    comma is not a number.
    """
    if isinstance(value, (int, float, np.number)) and not isinstance(value, (bool, np.bool_)):
        return float(value)
    text = unicodedata.normalize("NFKC", str(value)).strip()
    if coordinate and "," in text:
        if text.count(",") > 1 or "." in text:
            return np.nan
        text = text.replace(",", ".")
    text = text.replace(",", "")
    try:
        return float(text.rstrip("°"))
    except ValueError:
        pass
    match = _DMS.match(text)
    if match is None:
        return np.nan
    deg, minute, sec, hemi = match.groups()
    val = abs(float(deg)) + float(minute or 0) / 60 + float(sec or 0) / 3600
    return -val if deg.startswith("-") or hemi.upper() in {"S", "W", "西", "南"} else val


def _to_numbers(values: pd.Series, coordinate: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Parse a column: float64 values and the mask of non-blank cells that are not numbers."""
    fast = pd.to_numeric(values, errors="coerce").to_numpy(np.float64, na_value=np.nan, copy=True)
    blank = _blank(values)
    slow = np.flatnonzero(np.isnan(fast) & ~blank)
    if len(slow):
        fast[slow] = [_parse_number(v, coordinate) for v in values.iloc[slow]]
    return fast, np.isnan(fast) & ~blank


def _text(value: Any) -> str | None:
    """A cell as an id/name string (1.0 -> '1'); None when blank."""
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value).strip() or None


def _infer(values: pd.Series) -> np.ndarray:
    """Number-like text columns as numbers (but not codes with leading zeros)."""
    present = values.dropna().astype(str).str.strip()
    if values.dtype == object and len(present) and not present.str.match(r"^0\d").any():
        if pd.to_numeric(present, errors="coerce").notna().all():
            return pd.to_numeric(values, errors="coerce").to_numpy()
    return values.to_numpy()


def _check_path(path: str | os.PathLike[str], allowed: set[str]) -> Path:
    p = Path(path)
    if not p.exists():
        raise _error(p, "file not found", f"Check the path (working directory: {Path.cwd()}).")
    suffix = p.suffix.lower()
    if suffix == ".xls":
        raise _error(p, "old Excel .xls format", "Open it in Excel or WPS and save as .xlsx.")
    if suffix not in allowed or p.is_dir():
        raise _error(p, f"unsupported file type {suffix!r}", f"Use one of {sorted(allowed)}.")
    return p


class _Problems:
    """Collects problems (error class, where, what, fix) and raises them as one error.

    ``rows`` are the source rows of the table and ``word`` is "row" or "feature"; a
    problem's ``mask`` selects the rows it concerns.
    """

    def __init__(self, source: str, rows: np.ndarray, word: str) -> None:
        self.source, self.rows, self.word = source, rows, word
        self.items: list[tuple[type[InputFileError], str, str]] = []

    def where(self, mask: np.ndarray) -> str:
        return _rows(self.word, self.rows[mask])

    def add(
        self, cls: type[InputFileError], what: str, fix: str, mask: Any = None, col: Any = None
    ) -> None:
        where = [self.where(mask)] if mask is not None else []
        where += [f"column {col!r}"] if col is not None else []
        self.items.append((cls, f"{', '.join(where)}: {what}" if where else what, fix))

    def warn(self, what: str, mask: np.ndarray, col: Any) -> None:
        msg = f"{self.source}: {self.where(mask)}, column {col!r}: {what}"
        warnings.warn(msg, DataWarning, stacklevel=5)

    def raise_if_any(self) -> None:
        if self.items:
            coords = any(c is CoordinateError for c, _, _ in self.items)
            fixes = " ".join(dict.fromkeys(f for _, _, f in self.items))
            text = format_problems(self.source, [p for _, p, _ in self.items], fixes)
            raise (CoordinateError if coords else InputFileError)(text)


# --- reading raw tables -------------------------------------------------------------------


def _decode(path: Path, encoding: str | None) -> tuple[str, str]:
    data = path.read_bytes()
    if not data.strip():
        raise _error(path, "the file is empty", "Export the table again with a header row.")
    if encoding is not None:
        try:
            return data.decode(encoding), encoding
        except (UnicodeDecodeError, LookupError) as exc:
            fix = "Pass the right encoding=, or leave it out to try UTF-8 and GB18030 (GBK)."
            raise _error(path, f"cannot decode as {encoding!r} ({exc})", fix) from exc
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16"), "utf-16"
    try:
        return data.decode("utf-8-sig"), "utf-8-sig"
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError:
        problem = f"cannot decode as UTF-8 (first bad byte on line {line}) nor as GB18030/GBK"
        fix = "Save the file in Excel or WPS as 'CSV UTF-8' (in Python: pass encoding=, e.g. 'big5')."
        raise _error(path, problem, fix) from None


def _read_text_rows(path: Path, encoding: str | None) -> tuple[list[list[Any]], str]:
    text, used = _decode(path, encoding)
    logger.info("%s: decoded as %s", path, used)
    delim = _sniff_delimiter(text)
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
        rows = [[c if c.strip() else None for c in row] for row in reader]
    except csv.Error as exc:
        raise _error(path, f"not a CSV table ({exc})", "Export it from Excel as CSV.") from exc
    if delim != "," and _decimal_comma(rows):
        logger.info("%s: %r-separated with decimal commas ('115,02' = 115.02)", path, delim)
        rows = [[_comma_to_point(c) for c in row] for row in rows]
    elif delim != ",":
        logger.info("%s: %r-separated", path, delim)
    return rows, used


_DELIMITERS = (",", "\t", ";", "|")
_DEC_COMMA = re.compile(r"^[-+]?\d+,\d+$")  # 115,0240
_DEC_COMMA_GROUPED = re.compile(r"^[-+]?\d{1,3}(?:\.\d{3})+,\d+$")  # 1.234,5
_DEC_POINT = re.compile(r"^[-+]?\d*\.\d+$")


def _sniff_delimiter(text: str) -> str:
    """The delimiter that splits the first lines into the most rows of one width (> 1).

    Counting characters is not enough: ``115,0240;35,2800`` has more commas than
    semicolons, but only the semicolon gives every line the same number of fields.
    """
    sample = [ln for ln in text.splitlines()[:60] if ln.strip()][:30]
    best, best_score = ",", (0, 0)
    for d in _DELIMITERS:
        try:
            widths = [len(r) for r in csv.reader(sample, delimiter=d)]
        except csv.Error:
            continue
        top = max(set(widths), key=lambda w: (widths.count(w), w)) if widths else 1
        score = (widths.count(top), top) if top > 1 else (0, 0)
        if score > best_score:  # ties keep the earlier (more common) delimiter
            best, best_score = d, score
    return best


def _decimal_comma(rows: list[list[Any]]) -> bool:
    """Whether a ';'/tab-separated table writes numbers with decimal commas (European).

    True when some cells read like ``115,0240`` (or ``1.234,5``) and no cell like
    ``115.0240``; a table that mixes both is left alone.
    """
    cells = [c.strip() for row in rows for c in row if c is not None]
    commas = any(_DEC_COMMA.match(c) or _DEC_COMMA_GROUPED.match(c) for c in cells)
    return commas and not any(_DEC_POINT.match(c) for c in cells)


def _comma_to_point(cell: str | None) -> str | None:
    if cell is None:
        return None
    text = cell.strip()
    if _DEC_COMMA.match(text) or _DEC_COMMA_GROUPED.match(text):
        return text.replace(".", "").replace(",", ".")
    return cell


def _read_excel_rows(path: Path, sheet: str | int | None) -> list[list[Any]]:
    import openpyxl

    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=UserWarning, module="openpyxl")
            book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:
        fix = "Open it in Excel or WPS and save as .xlsx."
        raise _error(path, f"cannot open the Excel file ({exc})", fix) from exc
    try:
        names = book.sheetnames
        if sheet is None and len(names) > 1:
            logger.info("%s: reading the first of the sheets %s (pass sheet=)", path, names)
        if sheet is None or (isinstance(sheet, int) and 0 <= sheet < len(names)):
            ws = book.worksheets[sheet or 0]
        elif isinstance(sheet, str) and sheet in names:
            ws = book[sheet]
        else:
            raise _error(path, f"no sheet {sheet!r}", f"Pass sheet= one of {names} or an index.")
        return [list(r) for r in ws.iter_rows(min_row=1, values_only=True)]
    finally:
        book.close()


def _coordinate_columns(columns: Sequence[Any], lon_col: Any, lat_col: Any) -> dict | None:
    """The coordinate columns, ``{"lon": c, "lat": c}`` or ``{"combined": c}``, or None."""
    if lon_col is not None and lon_col == lat_col:
        return {"combined": lon_col} if lon_col in columns else None
    lon = lon_col if lon_col is not None else _find(columns, _LON, exclude=[lat_col])
    lat = lat_col if lat_col is not None else _find(columns, _LAT, exclude=[lon])
    if lon in columns and lat in columns:
        return {"lon": lon, "lat": lat}
    if lon_col is None and lat_col is None and (comb := _find(columns, _COMBINED)) is not None:
        return {"combined": comb}
    return None


def _frame_from_rows(rows: list[list[Any]], source: str, lon_col: Any, lat_col: Any) -> Any:
    """A table from raw rows (row i is spreadsheet row i+1), finding the header row(s).

    Title and unit rows above the header are skipped; a header spread over two rows
    (group labels such as 基本信息/坐标 above 编号/名称/经度/纬度, or cells merged down over
    both rows) is combined, the lower row's names winning (see :func:`_header_rows`).
    """
    filled = [i for i, r in enumerate(rows) if any(v is not None for v in r)]
    if not filled:
        raise _error(source, "the file has no rows", "Add a header row and data rows.")
    width = max(len(r) for r in rows)
    header = _header_rows(rows, filled, width, lon_col, lat_col, source)
    header_at = header[-1]
    where = f"row {header_at + 1}" if len(header) == 1 else f"rows {header[0] + 1}-{header_at + 1}"
    if len(header) > 1:
        logger.info("%s: header spread over %s, combined (the lower row's names win)", source, where)
    elif header_at != filled[0]:
        logger.info("%s: header found in row %d", source, header_at + 1)
    names: list[str] = []
    cells = [_cells(rows[i], width) for i in header]
    for j in range(width):
        raw = next((c[j] for c in reversed(cells) if c[j] is not None), None)
        name = raw if raw is not None else f"Unnamed: {j}"
        names.append(name if name not in names else f"{name}.{names.count(name)}")
    body = [r + [None] * (width - len(r)) for r in rows[header_at + 1 :]]
    table = pd.DataFrame(body, columns=names, dtype=object)
    table["source_row"] = np.arange(header_at + 2, header_at + 2 + len(body))
    table = table.loc[table[names].notna().any(axis=1)].reset_index(drop=True)
    if len(table) == 0:
        fix = "Add data rows below the header."
        raise _error(source, f"no data rows below the header in {where}", fix)
    unnamed = [c for c in names if c.startswith("Unnamed: ")]
    for col in unnamed:
        if (has := table[col].notna().to_numpy()).any():
            letter = _column_letter(names.index(col))
            msg = (
                f"{source}: {_rows('row', table['source_row'].to_numpy()[has], 4)}, column "
                f"{letter}: data without a column name in the header ({where}); kept as "
                f"{col!r}, not read as an id, name or count. Fix: write the column's name "
                f"(e.g. 编号, 名称, 床位数) in row {header_at + 1}"
            )
            warnings.warn(msg, DataWarning, stacklevel=3)
    table = table.drop(columns=[c for c in unnamed if table[c].isna().all()])
    table.attrs["header_rows"] = [i + 1 for i in header]
    return table


_KNOWN = tuple(dict.fromkeys([
    *_LON, *_LAT, *_COMBINED, *_ID, *_NAME,
    *(a for names in (*_FIELDS.values(), *TEXT_COLUMNS.values()) for a in names),
]))  # fmt: skip


def _cells(row: list[Any], width: int) -> list[str | None]:
    """A row's cells as stripped strings (None when blank), padded to ``width``."""
    out = [str(v).strip() if v is not None and str(v).strip() else None for v in row]
    return out + [None] * (width - len(out))


def _column_letter(j: int) -> str:
    """Spreadsheet column letter of 0-based column ``j`` (0 -> A, 26 -> AA)."""
    letters = ""
    j += 1
    while j:
        j, rem = divmod(j - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _header_rows(
    rows: list[list[Any]], filled: list[int], width: int, lon_col: Any, lat_col: Any, source: str
) -> list[int]:
    """The 0-based header row(s): one row, or two when the header spans two rows.

    The header is the first of the first rows naming coordinate columns (经度/纬度, lng/lat,
    坐标...); rows above it (titles, units, 填报单位) are skipped. The row below it is a
    second header row when it holds no numbers and names coordinate columns or at least
    two recognised columns (坐标 above 经度/纬度); the row above it is a first header row
    when it holds no numbers and puts a recognised name (床位数 merged down over two rows)
    over a blank header cell of a column with data, or is a row of several labels (基本信息,
    坐标) of which one is recognised or stands over such a blank cell. Without any row
    naming coordinates, the row with the most recognised names is taken (the error about
    the missing coordinate columns then names it). A header spread over more than two
    rows raises :class:`~coverage.errors.InputFileError`.
    """
    search = filled[:_HEADER_SEARCH]
    cells = {i: _cells(rows[i], width) for i in search}

    def coords(i: int) -> bool:
        return _coordinate_columns([c for c in cells[i] if c is not None], lon_col, lat_col) is not None

    def textual(i: int) -> bool:
        return all(np.isnan(_parse_number(c)) for c in cells[i] if c is not None)

    def known(i: int) -> list[int]:
        return [j for j, c in enumerate(cells[i]) if c is not None and _find([c], _KNOWN) is not None]

    def data_below(i: int) -> set[int]:
        seen = np.zeros(width, dtype=bool)
        for r in rows[i + 1 :]:
            seen[: len(r)] |= [v is not None for v in r]
        return set(np.flatnonzero(seen).tolist())

    at = next((i for i in search if coords(i)), None)
    if at is None:
        best = max(search, key=lambda i: (len(known(i)), -i))
        if not known(best):  # skip one-cell title rows
            best = next((i for i in search if sum(c is not None for c in cells[i]) > 1), search[0])
        return [best]
    header = [at]
    below, above = at + 1, at - 1
    data = data_below(at)  # the columns with cells below the header (the lower header row's too)
    if below in cells and textual(below) and (coords(below) or len(known(below)) >= 2):
        header = [at, below]
    elif above in cells and textual(above):
        upper = [j for j, c in enumerate(cells[above]) if c is not None]
        over_blank = [j for j in upper if cells[at][j] is None and j in data]
        if set(over_blank) & set(known(above)) or (len(upper) > 1 and (over_blank or known(above))):
            header = [above, at]
    for j in sorted(data):
        if any(cells[i][j] is not None for i in header):
            continue
        # a name further up (not a one-cell title in column A): a header of three rows or more
        top = next((i for i in reversed(search) if i < header[0] and cells[i][j] is not None
                    and (j > 0 or sum(c is not None for c in cells[i]) > 1)), None)  # fmt: skip
        if top is not None:
            problem = (
                f"the header seems to span rows {top + 1}-{header[-1] + 1}: column "
                f"{_column_letter(j)} is named only in row {top + 1} ({cells[top][j]!r}); only "
                "a header of one or two rows is understood"
            )
            fix = (
                f"Make the header one row (e.g. row {header[-1] + 1}) with a name over every "
                "column (编号, 名称, 经度, 纬度, 床位数...), and delete or unmerge the rows above it."
            )
            raise _error(source, problem, fix)
    return header


def _read_vector(path: Path, layer: str | int | None) -> gpd.GeoDataFrame:
    import pyogrio

    try:
        layers = [(str(n), g) for n, g in pyogrio.list_layers(path)]
    except Exception as exc:
        raise _error(path, f"cannot read as a vector file ({exc})", _FIX_QGIS) from exc
    names = [n for n, _ in layers]
    spatial = [n for n, g in layers if g is not None] or names
    if layer is None and len(spatial) > 1:
        raise _error(path, f"{len(spatial)} layers {spatial}", "Pass layer= one of them.")
    if layer is not None and layer not in names and layer not in range(len(names)):
        raise _error(path, f"no layer {layer!r}", f"Pass layer= one of {names}.")
    try:
        gdf = gpd.read_file(path, layer=spatial[0] if layer is None else layer, engine="pyogrio")
    except Exception as exc:
        raise _error(path, f"cannot read layer {layer!r} ({exc})", _FIX_QGIS) from exc
    if len(gdf) == 0:
        raise _error(path, "the layer has no features", "Check the file and the layer.")
    return gdf


def _vector_to_wgs84(gdf: Any, source: str, coord_system: str | None) -> tuple[Any, str]:
    """A layer in EPSG:4326: reprojected, then GCJ-02/BD-09 undone if declared."""
    system = normalise_system(coord_system) if coord_system is not None else None
    crs = gdf.crs
    if crs is None and system is None:
        fix = (
            "Pass --coord-system wgs84 (or gcj02/bd09 for Amap/Baidu data; coord_system= in Python) "
            "if it holds longitude/latitude, or set its CRS in QGIS (Layer Properties > Source) and save."
        )
        raise _error(source, "the layer has no coordinate reference system", fix, CRSError)
    if crs is None:
        gdf = gdf.set_crs("EPSG:4326")
    elif system in ("gcj02", "bd09") and not _wgs84_like(crs):
        code = crs.to_string()
        what = "projected" if not crs.is_geographic else "geographic, not WGS-84/CGCS2000"
        problem = (
            f"coord_system={coord_system!r} needs lon/lat, the layer is in {crs.name!r} ({code}, "
            f"{what}): the file's own CRS and the declared {system} conflict, as GCJ-02/BD-09 "
            "apply only to WGS-84 longitude/latitude"
        )
        fix = (
            "Leave coord_system out for this file so that its own CRS is used (on the command "
            "line declare gcj02/bd09 only for the inputs in that system, e.g. "
            "--facilities-coord-system gcj02 instead of --coord-system), or, if it really holds "
            "Amap/Baidu coordinates, export it as EPSG:4326 longitude/latitude."
        )
        raise _error(source, problem, fix, CRSError)
    elif crs.to_epsg() != 4326:
        logger.info("%s: reprojecting from %s to EPSG:4326", source, crs.name)
        gdf = gdf.to_crs("EPSG:4326")
    if system in ("gcj02", "bd09"):
        if crs is not None:
            logger.info("%s: the file says %s; its coordinates are read as %s, as declared", source, crs.name, system)
        logger.info("%s: converting %s coordinates to WGS-84", source, system)
        gdf = gdf.set_geometry(to_wgs84_geometry(gdf.geometry, system))
    return gdf, system or "wgs84"


def _wgs84_like(crs: Any) -> bool:
    """Geographic WGS-84 or CGCS2000 (they agree to centimetres), on which GCJ-02 is built."""
    if not crs.is_geographic:
        return False
    datum = (crs.datum.name if crs.datum is not None else "").lower()
    return crs.to_epsg() in (4326, 4490, 4979, 4480) or any(
        key in datum for key in ("world geodetic system 1984", "wgs", "china 2000", "cgcs2000")
    )


# --- points -------------------------------------------------------------------------------


class PointColumns(TypedDict, total=False):
    """The columns of a point table, each found by name when not given: ``lon_col`` and
    ``lat_col`` (or one ``"lng,lat"`` column given as both), ``id_col``, ``name_col``."""

    lon_col: str | None
    lat_col: str | None
    id_col: str | None
    name_col: str | None


class ReadOptions(PointColumns, total=False):
    """:class:`PointColumns` and where in the file the points are: ``encoding`` (of a
    CSV), ``sheet`` (of an Excel workbook), ``layer`` (of a vector file)."""

    encoding: str | None
    sheet: str | int | None
    layer: str | int | None


def _keywords(given: Iterable[str], allowed: frozenset[str], caller: str) -> None:
    """Refuse keyword arguments a reader does not know (as Python would)."""
    unknown = sorted(set(given) - allowed)
    if unknown:
        raise TypeError(f"{caller}() got an unexpected keyword argument {unknown[0]!r}")


def read_points(
    path: str | os.PathLike[str],
    *,
    kind: str = "demand",
    coord_system: str | None = None,
    **options: Unpack[ReadOptions],
) -> gpd.GeoDataFrame:
    """Read a point layer (demand, facilities or candidate sites) into EPSG:4326.

    Parameters
    ----------
    path
        A CSV/TXT/TSV table, an Excel ``.xlsx`` sheet, or a vector file (GeoJSON,
        GeoPackage, Shapefile...). Polygons or lines in a vector file are replaced by a
        point on their surface.
    kind
        ``"demand"``, ``"facilities"`` or ``"candidates"``; used in generated ids.
    coord_system
        ``"wgs84"`` (also CGCS2000/Tianditu/GPS), ``"gcj02"`` (Amap/Gaode, Tencent) or
        ``"bd09"`` (Baidu), see :func:`coverage.inputs.chinacrs.normalise_system`, for this file
        only (each layer has its own). ``None`` means WGS-84 for tables and the file's own
        CRS for vector files (one without a CRS then raises
        :class:`~coverage.errors.CRSError`; pass ``coord_system`` to read it). A file's own
        CRS is never overridden: ``"gcj02"``/``"bd09"`` are applied on top of a WGS-84 or
        CGCS2000 longitude/latitude CRS (Amap data is often saved as EPSG:4326), and raise
        :class:`~coverage.errors.CRSError` with any other (projected) CRS.
        :func:`check_coord_system` later tells when the points fit the roads far better
        in another system.
    lon_col, lat_col
        Coordinate columns; found by name (经度/lng/lon/x..., 纬度/lat/y...) when omitted,
        or a single ``"lng,lat"`` column (坐标/location); pass one name as both for that.
    id_col, name_col
        Id and name columns; found by name when omitted.
    encoding
        Text encoding of a CSV; by default UTF-8, then GB18030 (a superset of GBK).
    sheet
        Excel sheet name or 0-based index (default: the first sheet).
    layer
        Layer of a multi-layer vector file.

    Returns
    -------
    geopandas.GeoDataFrame
        Points in EPSG:4326 with the standardised columns described in the module doc.

    Raises
    ------
    InputFileError
        Missing, empty, undecodable or malformed file; bad ids; bad counts.
    CoordinateError
        Missing, non-numeric, out-of-range or swapped coordinates.
    CRSError
        Unknown ``coord_system``, or a vector file without a CRS.
    """
    _keywords(options, ReadOptions.__optional_keys__, "read_points")
    cols = PointColumns(
        lon_col=options.get("lon_col"), lat_col=options.get("lat_col"), id_col=options.get("id_col"), name_col=options.get("name_col")
    )
    source = str(path)
    _check_kind(kind)
    p = _check_path(path, _TABLE | _EXCEL | _VECTOR)
    if p.suffix.lower() in _VECTOR:
        gdf = _read_vector(p, options.get("layer"))
        gdf["source_row"] = np.arange(1, len(gdf) + 1)
        out = _points(gdf, source=source, kind=kind, coord_system=coord_system, cols=cols, word="feature", encoding=None)
        out.attrs["file_crs"] = gdf.crs.to_string() if gdf.crs is not None else None
        return out
    if p.suffix.lower() in _EXCEL:
        rows, used = _read_excel_rows(p, options.get("sheet")), None
    else:
        rows, used = _read_text_rows(p, options.get("encoding"))
    table = _frame_from_rows(rows, source, cols.get("lon_col"), cols.get("lat_col"))
    return _points(table, source=source, kind=kind, coord_system=coord_system, cols=cols, word="row", encoding=used)


def points_from_frame(
    df: pd.DataFrame,
    *,
    source: str = "<DataFrame>",
    kind: str = "demand",
    coord_system: str | None = None,
    **columns: Unpack[PointColumns],
) -> gpd.GeoDataFrame:
    """Validate and standardise an in-memory table of points, as :func:`read_points` does.

    Parameters
    ----------
    df
        A DataFrame with coordinate columns, or a GeoDataFrame whose point geometry is
        used when no ``lon_col``/``lat_col`` is given (without a CRS it needs
        ``coord_system``).
    source
        Name used in messages.
    kind, coord_system, **columns
        As in :func:`read_points` (``lon_col``, ``lat_col``, ``id_col``, ``name_col``).

    Returns
    -------
    geopandas.GeoDataFrame
        As :func:`read_points`. Rows are numbered as if the table were a spreadsheet with
        its header in row 1 (first row = 2), unless ``df`` has a ``source_row`` column.
    """
    _keywords(columns, PointColumns.__optional_keys__, "points_from_frame")
    _check_kind(kind)
    if len(df) == 0:
        raise _error(source, "the table has no rows", "Pass a table with data rows.")
    table = df.copy()
    if "source_row" not in table.columns:
        table["source_row"] = np.arange(2, len(table) + 2)
    return _points(table, source=source, kind=kind, coord_system=coord_system, cols=columns, word="row", encoding=None)


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ParameterError(f"kind={kind!r} is not one of {KINDS}")


def _check_columns(source: str, columns: list[Any], **given: Any) -> None:
    for arg, value in given.items():
        if value is not None and value not in columns:
            fix = f"Use one of the columns {columns}."
            raise _error(source, f"no column {value!r} (given as {arg})", fix)


def _points(
    table: pd.DataFrame, *, source: str, kind: str, coord_system: str | None, cols: PointColumns,
    word: str, encoding: str | None,
) -> gpd.GeoDataFrame:  # fmt: skip
    lon_col, lat_col = cols.get("lon_col"), cols.get("lat_col")
    id_col, name_col = cols.get("id_col"), cols.get("name_col")
    rows = table["source_row"].to_numpy()
    problems = _Problems(source, rows, word)
    geom_col = getattr(table, "active_geometry_name", None)
    columns = [c for c in table.columns if c not in ("source_row", geom_col)]
    _check_columns(source, columns, lon_col=lon_col, lat_col=lat_col, id_col=id_col)
    _check_columns(source, columns, name_col=name_col)
    from_geometry = geom_col is not None and lon_col is None and lat_col is None
    from_geometry = from_geometry and bool(table.geometry.notna().any())
    if from_geometry:
        lon, lat, system = _coordinates_from_geometry(table, coord_system, problems)
        info: dict[str, Any] = {"geometry": geom_col}
        swap_fix = "The file stores (latitude, longitude): swap the coordinates."
    else:
        system = normalise_system(coord_system or "wgs84")
        found = _coordinate_columns(columns, lon_col, lat_col)
        if found is None:
            fix = (
                "Name the coordinate columns 经度 and 纬度 (or lng/lat, or one 坐标 column of 'lng,lat'); "
                "in Python, pass lon_col= and lat_col= (e.g. lon_col='经度', lat_col='纬度'), or the "
                "same name for both for one 'lng,lat' column."
            )
            what = f"no longitude/latitude columns among {columns}"
            if header_rows := table.attrs.get("header_rows"):
                what += f" (header taken from row {header_rows[-1]})"
            if geom_col is not None:
                what = f"no {word} has a geometry, and there are {what}"
                fix = "Locate the features (e.g. in QGIS) and save again, or " + fix[0].lower() + fix[1:]
            raise _error(source, what, fix)
        info, lon, lat = _coordinates_from_columns(table, found, problems)
        swap_fix = (
            f"Correct the headers: swap the names of {found.get('lon')!r} and {found.get('lat')!r} "
            f"(in Python: swap lon_col/lat_col, lon_col={found.get('lat')!r}, lat_col={found.get('lon')!r})."
        )
    logger.info("%s: coordinates from %s (%s)", source, info, system)
    _check_ranges(lon, lat, info, swap_fix, problems)
    taken = set(info.values())
    id_src = id_col or _find(columns, _ID, taken)
    ids = _ids(table, id_src, kind, problems)
    name_src = name_col or _find(columns, _NAME, exclude=taken | {id_src})
    names = table[name_src].map(_text) if name_src is not None else [None] * len(table)
    out = pd.DataFrame({"id": ids, "name": [n or i for n, i in zip(names, ids, strict=True)]})
    fields = _fields(table, columns, out, taken | {id_src, name_src}, problems)
    fields.update(_text_columns(table, columns, out, taken | {id_src, name_src, *fields.values()}))
    problems.raise_if_any()
    if not from_geometry and system != "wgs84":
        logger.info("%s: converting %s coordinates to WGS-84", source, system)
        lon, lat = to_wgs84(lon, lat, system)
    out["source_row"] = rows.astype(np.int64)
    _keep_others(out, table, columns, {id_src, name_src, *fields.values()})
    gdf = gpd.GeoDataFrame(out, geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")
    gdf.attrs.update(
        source=source, kind=kind, coord_system=system, coordinate_columns=info,
        id_column=id_src, name_column=name_src, field_columns=fields, encoding=encoding,
        header_rows=table.attrs.get("header_rows"),
    )  # fmt: skip
    return gdf


def _text_columns(table: pd.DataFrame, columns: list, out: pd.DataFrame, taken: set, names: Iterable[str] = TEXT_COLUMNS) -> dict[str, Any]:
    """The :data:`TEXT_COLUMNS` found (类型 -> ``kind``, 乡镇 -> ``township`` ...), added to ``out``."""
    found: dict[str, Any] = {}
    for field in names:
        col = _find(columns, TEXT_COLUMNS[field], exclude=taken | set(found.values()))
        if col is not None:
            found[field] = col
            out[field] = table[col].map(_text).to_numpy()
    return found


def _keep_others(out: pd.DataFrame, table: pd.DataFrame, columns: list, used: set) -> None:
    """Copy the unused original columns; clashes with standard names get ``_original``."""
    for col in columns:
        if col not in used:
            clash = col in out.columns or col == "geometry"
            out[f"{col}_original" if clash else col] = _infer(table[col])


def _coordinates_from_geometry(
    gdf: gpd.GeoDataFrame, coord_system: str | None, problems: _Problems
) -> tuple[np.ndarray, np.ndarray, str]:
    gdf, system = _vector_to_wgs84(gdf, problems.source, coord_system)
    geoms = np.array(gdf.geometry.values, dtype=object)
    bad = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if bad.any():
        problems.add(CoordinateError, "no geometry", "Delete those features or locate them.", bad)
    other = ~bad & (shapely.get_type_id(geoms) != shapely.GeometryType.POINT)
    if other.any():
        logger.info("%s: %d non-point features -> surface points", problems.source, other.sum())
        geoms[other] = shapely.point_on_surface(geoms[other])
    return shapely.get_x(geoms), shapely.get_y(geoms), system


def _coordinates_from_columns(
    table: pd.DataFrame, found: dict, problems: _Problems
) -> tuple[dict, np.ndarray, np.ndarray]:
    if "combined" in found:
        col = found["combined"]
        text = table[col].map(_text).astype("string")
        parts = text.map(lambda v: unicodedata.normalize("NFKC", v), na_action="ignore")
        # "115,02;35,28" (decimal commas) splits at the semicolon only
        split = [re.split(r"\s*;\s*" if ";" in v else r"[,\s]+", v.strip()) if isinstance(v, str) else None for v in parts]
        parts = pd.Series(split, index=table.index, dtype=object)
        lon, bad_a = _to_numbers(parts.str[0].astype(object), coordinate=True)
        lat, bad_b = _to_numbers(parts.str[1].astype(object), coordinate=True)
        bad = bad_a | bad_b | (parts.str.len().fillna(2) != 2).to_numpy()
        checks = [(col, bad)]
        ok = np.isfinite(lon) & np.isfinite(lat)
        if ok.any() and _looks_swapped(lon[ok], lat[ok]):
            msg = f"{problems.source}: column {col!r} holds 'lat,lng' pairs; read them so"
            warnings.warn(msg, DataWarning, stacklevel=4)
            lon, lat = lat, lon
    else:
        lon, bad_lon = _to_numbers(table[found["lon"]], coordinate=True)
        lat, bad_lat = _to_numbers(table[found["lat"]], coordinate=True)
        checks = [(found["lon"], bad_lon), (found["lat"], bad_lat)]
    for col, bad in checks:
        if (blank := _blank(table[col])).any():
            problems.add(CoordinateError, "empty", _FIX_COORDS, blank, col)
        if bad.any():
            sample = ", ".join(repr(v) for v in table[col].to_numpy()[bad][:3])
            problems.add(CoordinateError, f"not a number ({sample})", _FIX_COORDS, bad, col)
    return found, lon, lat


def _looks_swapped(lon: np.ndarray, lat: np.ndarray) -> bool:
    """True if every "longitude" looks like a Chinese latitude and vice versa."""
    lon_ok, lat_ok = (lon >= 3) & (lon <= 54), (lat >= 73) & (lat <= 136)
    return bool(len(lon) and lon_ok.all() and lat_ok.all())


def _check_ranges(
    lon: np.ndarray, lat: np.ndarray, info: dict, swap_fix: str, problems: _Problems
) -> None:
    finite = np.isfinite(lon) & np.isfinite(lat)
    if (inf := np.isinf(lon) | np.isinf(lat)).any():
        problems.add(
            CoordinateError,
            f"infinite coordinate (columns {list(info.values())})",
            _FIX_COORDS,
            inf,
        )
    if _looks_swapped(lon[finite], lat[finite]):
        x, y, lo, la = lon[finite], lat[finite], info.get("lon", "x"), info.get("lat", "y")
        problem = (
            f"latitude and longitude look swapped: {lo!r} holds {x.min():.6g} to {x.max():.6g} "
            f"(latitudes in China), {la!r} holds {y.min():.6g} to {y.max():.6g} (longitudes)"
        )
        problems.add(CoordinateError, problem, swap_fix)
        return
    for axis, values, limit in (("longitude", lon, 180), ("latitude", lat, 90)):
        if (out := finite & (np.abs(values) > limit)).any():
            col = info.get(axis[:3], next(iter(info.values())))
            what = f"{axis} out of range (|{axis}| > {limit}), e.g. {values[out][0]:.6g}"
            fix = _FIX_COORDS
            if np.abs(values[out]).max() > 1000:
                fix += " These look like projected metres: convert them to longitude/latitude."
            elif axis == "latitude" and (np.abs(lon[out]) <= 90).all() and (np.abs(lat[out]) <= 180).all():
                fix += " In those rows latitude and longitude look swapped: exchange the values."
            problems.add(CoordinateError, what, fix, out, col)


def _ids(table: pd.DataFrame, src: Any, prefix: str, problems: _Problems) -> list[str]:
    """Ids as strings from column ``src``, or ``"<prefix>-<row>"``; checks blanks and repeats."""
    if src is None:
        return [f"{prefix}-{r}" for r in problems.rows]
    ids = table[src].map(_text)
    if (empty := ids.isna().to_numpy()).any():
        fix = f"Fill in the missing ids (in Python, or pass id_col= another column than {src!r})."
        problems.add(InputFileError, "empty id", fix, empty, src)
    if (dup := ids.duplicated(keep=False).to_numpy() & ~empty).any():
        groups = sorted(f"{v!r} in {problems.where((ids == v).to_numpy())}" for v in set(ids[dup]))
        fix = "Make every id unique (in Python, or pass id_col= another column)."
        problems.add(InputFileError, f"duplicate ids: {'; '.join(groups)}", fix, None, src)
    return [i or f"{prefix}-{r}" for i, r in zip(ids, problems.rows, strict=True)]


def _fields(
    table: pd.DataFrame, columns: list, out: pd.DataFrame, taken: set, problems: _Problems
) -> dict[str, Any]:
    """Standardised numeric columns (households, elderly, ...) added to ``out``."""
    found: dict[str, Any] = {}
    for field, aliases in _FIELDS.items():
        col = _find(columns, aliases, exclude=taken | set(found.values()))
        if col is None:
            continue
        found[field] = col
        values, bad = _to_numbers(table[col])
        if bad.any():
            sample = ", ".join(repr(v) for v in table[col].to_numpy()[bad][:3])
            fix = f"Write plain numbers in {col!r}."
            problems.add(InputFileError, f"not a number ({sample})", fix, bad, col)
        for mask, what in ((values < 0, "negative"), (np.isinf(values), "infinite")):
            if mask.any():
                fix = f"Correct the counts in {col!r} (they cannot be negative)."
                problems.add(InputFileError, what, fix, mask, col)
        if (gaps := np.isnan(values) & ~bad).any():
            what = f"{field} empty; kept as NaN (unknown). Fix: fill in the values if they matter"
            problems.warn(what, gaps, col)
        out[field] = values
    if not found:
        logger.info("%s: no households/elderly/population/capacity columns", problems.source)
    return found


# --- coordinate system against the roads ---------------------------------------------------

_SYSTEM_NAMES = {"wgs84": "WGS-84", "gcj02": "GCJ-02 (Amap/Tencent)", "bd09": "BD-09 (Baidu)"}
_CHECK_SAMPLE = 2000  # points compared at most (a fixed random subset of larger layers)
_CHECK_SPACING_M = 200.0  # points closer than this count as one place
_CONTROL_RATIO = 0.8  # the suggested system must beat every turned shift by this factor


def suggest_coord_system(
    network: Any,
    layer: gpd.GeoDataFrame,
    *,
    index: Any = None,
    min_points: int = 5,
    min_gain_m: float = 15.0,
    max_ratio: float = 0.7,
) -> dict[str, Any] | None:
    """The coordinate system under which a point layer sits markedly closer to the roads.

    Points of homes, compounds and facilities lie on or near roads. Amap/Tencent (GCJ-02)
    or Baidu (BD-09) coordinates read as WGS-84 are all shifted by the same few hundred
    metres, so they sit off the roads, and reading the file's coordinates as GCJ-02 or
    BD-09 instead brings them back. This compares, for the coordinates as the file holds
    them, the distance of every point to the nearest road as read (the declared system,
    ``layer.attrs["coord_system"]``, default WGS-84) and as each other system.

    An alternative is suggested only when it is clear: at least ``min_points`` points in
    China (GCJ-02/BD-09 shift nothing outside) and 200 m apart (one compound's buildings
    count as one place), a median distance lower by at least
    ``min_gain_m`` and by the factor ``max_ratio``, and closer for most of the points whose
    distance changes by more than 5 m (80 % of them in a layer of fewer than 10 points,
    65 % in larger ones; points on a road parallel to the shift stay on it either way),
    and lower than under the same shift turned by any multiple of 45 degrees (by the factor
    0.8: on a regular street grid a shift of about a block can also bring points nearer).
    Correct WGS-84 points, which already hug the roads, move away from them under either
    alternative: in simulations on real and generated networks (points on the roads, or
    up to 400 m off them) it fired on fewer than 1 in 1000 correct layers.

    Parameters
    ----------
    network
        The road network (:class:`coverage.engine.network.RoadNetwork`).
    layer
        Points read by :func:`read_points` (any CRS; its ``attrs`` name the declared
        system and the file).
    index
        A prebuilt :class:`coverage.engine.snapping.EdgeIndex` of ``network`` to reuse.
    min_points, min_gain_m, max_ratio
        The thresholds above.

    Returns
    -------
    dict or None
        ``None`` when the declared system fits (or the layer is too small, outside China,
        or came from a projected file); else ``system`` (the better one), ``declared``,
        ``median_m`` (as read), ``median_alt_m`` (as ``system``), ``share_closer`` (of the
        points that moved by more than 5 m), ``shift_m`` (median shift between the two
        readings) and ``n`` (points compared).
    """
    import pyproj

    from ..engine.snapping import EdgeIndex
    from .chinacrs import from_wgs84, in_china_box

    file_crs = layer.attrs.get("file_crs")
    if file_crs is not None and not pyproj.CRS(file_crs).is_geographic:
        return None  # GCJ-02/BD-09 apply to longitude/latitude only
    if layer.crs is None or len(layer) < min_points or network.n_edges == 0:
        return None
    geoms = layer.geometry.to_crs("EPSG:4326").values
    lon, lat = shapely.get_x(geoms), shapely.get_y(geoms)
    declared = normalise_system(layer.attrs.get("coord_system") or "wgs84")
    raw_lon, raw_lat = from_wgs84(lon, lat, declared)  # the coordinates as in the file
    keep = np.flatnonzero(np.isfinite(raw_lon) & np.isfinite(raw_lat) & in_china_box(raw_lon, raw_lat))
    if len(keep) < min_points:
        return None
    if len(keep) > _CHECK_SAMPLE:
        keep = np.sort(np.random.default_rng(0).choice(keep, _CHECK_SAMPLE, replace=False))
    raw_lon, raw_lat = raw_lon[keep], raw_lat[keep]
    idx = index if index is not None else EdgeIndex(network)
    to_net = pyproj.Transformer.from_crs("EPSG:4326", network.crs, always_xy=True)

    def road_m(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        xy = np.column_stack(to_net.transform(x, y))
        return idx.snap(xy).access_m, xy

    as_read, xy_read = road_m(*to_wgs84(raw_lon, raw_lat, declared))
    if _spread(xy_read, _CHECK_SPACING_M) < min_points:
        return None  # one compound's buildings are one sample, not many
    best: dict[str, Any] | None = None
    need = 0.8 if len(keep) < 10 else 0.65
    for system in ("wgs84", "gcj02", "bd09"):
        if system == declared:
            continue
        alt, xy_alt = road_m(*to_wgs84(raw_lon, raw_lat, system))
        med, med_alt = float(np.median(as_read)), float(np.median(alt))
        moved = np.abs(alt - as_read) > 5.0
        if moved.sum() < min_points - 1:
            continue
        share = float(np.mean(alt[moved] < as_read[moved]))
        if not (med - med_alt >= min_gain_m and med_alt <= max_ratio * med and share >= need):
            continue
        # the same shift turned by 45, 90, ... 315 degrees must do clearly worse: on a
        # regular street grid any shift of about a block can look as good
        shift_xy = xy_alt - xy_read
        controls = []
        for k in range(1, 8):
            c, s = np.cos(k * np.pi / 4), np.sin(k * np.pi / 4)
            turned = np.column_stack([c * shift_xy[:, 0] - s * shift_xy[:, 1], s * shift_xy[:, 0] + c * shift_xy[:, 1]])
            controls.append(float(np.median(idx.snap(xy_read + turned).access_m)))
        if med_alt > _CONTROL_RATIO * min(controls):
            continue
        if best is None or med_alt < best["median_alt_m"]:
            best = dict(system=system, declared=declared, median_m=med, median_alt_m=med_alt,
                        share_closer=share, shift_m=float(np.median(np.hypot(*shift_xy.T))),
                        n=len(keep))  # fmt: skip
    return best


def _spread(xy: np.ndarray, spacing_m: float) -> int:
    """How many of the points lie at least ``spacing_m`` from each other (greedy)."""
    from scipy.spatial import cKDTree

    chosen: list[int] = []
    tree = cKDTree(xy)
    taken = np.zeros(len(xy), dtype=bool)
    for i in range(len(xy)):
        if not taken[i]:
            chosen.append(i)
            taken[tree.query_ball_point(xy[i], spacing_m)] = True
    return len(chosen)


def check_coord_system(
    network: Any, layer: gpd.GeoDataFrame, *, label: str = "points", index: Any = None
) -> dict[str, Any] | None:
    """Warn (:class:`~coverage.errors.SnapWarning`) when a layer's coordinates are
    probably in another system than declared (see :func:`suggest_coord_system`).

    The message gives the median distance to the nearest road as read and as the better
    system, and the fix: the command-line flag of that input (``layer.attrs["coord_flag"]``,
    set by the CLI, else ``--<kind>-coord-system``) and ``coord_system=`` of
    :func:`read_points`. Returns what :func:`suggest_coord_system` found.
    """
    found = suggest_coord_system(network, layer, index=index)
    if found is None:
        return None
    system, declared = found["system"], found["declared"]
    source = layer.attrs.get("source") or label
    flag = layer.attrs.get("coord_flag") or f"--{layer.attrs.get('kind', 'demand')}-coord-system"
    msg = (
        f"{source}: {label}: the median distance to the nearest road is {found['median_m']:.0f} m; "
        f"read as {_SYSTEM_NAMES[system]} instead of {_SYSTEM_NAMES[declared]} it is "
        f"{found['median_alt_m']:.0f} m (closer for {found['share_closer']:.0%} of the "
        f"{found['n']} points; the two readings lie {found['shift_m']:.0f} m apart). The points sit "
        "systematically off the roads as read, so the coverage results are probably shifted. "
        f"Fix: if the coordinates come from {_SYSTEM_NAMES[system]}, declare it: {flag} {system} "
        f"(coord_system='{system}' in read_points)"
    )
    warnings.warn(msg, SnapWarning, stacklevel=3)
    return found


# --- zones --------------------------------------------------------------------------------


def read_zones(
    path: str | os.PathLike[str],
    *,
    coord_system: str | None = None,
    id_col: str | None = None,
    name_col: str | None = None,
    layer: str | int | None = None,
) -> gpd.GeoDataFrame:
    """Read zone polygons (counties, towns, villages, planning units) into EPSG:4326.

    Parameters
    ----------
    path
        GeoJSON, GeoPackage, Shapefile or another vector file of polygons.
    coord_system
        As in :func:`read_points`: ``None`` trusts the file's CRS; ``"gcj02"``/``"bd09"``
        convert Amap/Baidu outlines (e.g. from ``cnmaps``) to WGS-84.
    id_col, name_col
        Zone id and name columns; found by name (zone_id/id/编号/adcode...,
        zone_name/name/名称/乡镇...) when omitted.
    layer
        Layer of a multi-layer file.

    Returns
    -------
    geopandas.GeoDataFrame
        ``zone_id`` and ``zone_name`` (strings; ids generated as ``"zone-<n>"`` when there
        is no id column), ``source_row`` (feature number), the other original columns and
        (Multi)Polygon geometry. Invalid polygons are repaired with ``shapely.make_valid``
        and a :class:`~coverage.errors.DataWarning`.

    Raises
    ------
    InputFileError
        Missing or empty file, features without geometry or not polygons, bad ids.
    CoordinateError
        Coordinates outside the longitude/latitude range.
    CRSError
        Unknown ``coord_system``, or a layer without a CRS.
    """
    source = str(path)
    gdf = _read_vector(_check_path(path, _VECTOR), layer)
    columns = [c for c in gdf.columns if c != gdf.geometry.name]
    _check_columns(source, columns, id_col=id_col, name_col=name_col)
    gdf, system = _vector_to_wgs84(gdf, source, coord_system)
    problems = _Problems(source, np.arange(1, len(gdf) + 1), "feature")
    geoms = np.array(gdf.geometry.values, dtype=object)
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if missing.any():
        problems.add(InputFileError, "no geometry", "Delete them or draw outlines.", missing)
    if (wrong := ~missing & ~np.isin(shapely.get_type_id(geoms), [3, 6])).any():
        kinds = "/".join(sorted({g.geom_type for g in geoms[wrong]}))
        fix = "Zones must be polygons (read points with read_points)."
        problems.add(InputFileError, f"{kinds}, not polygons", fix, wrong)
    elif (~missing).any():
        bounds = shapely.total_bounds(geoms[~missing])
        if np.abs(bounds[[0, 2]]).max() > 180 or np.abs(bounds[[1, 3]]).max() > 90:
            fix = "The layer is probably in projected metres: give it its CRS in QGIS."
            problem = f"bounds {np.round(bounds, 3).tolist()} are not longitude/latitude"
            problems.add(CoordinateError, problem, fix)
    id_src = id_col or _find(columns, _ZONE_ID)
    ids = _ids(gdf, id_src, "zone", problems)
    problems.raise_if_any()
    if (invalid := ~shapely.is_valid(geoms)).any():
        why = [shapely.is_valid_reason(g) for g in geoms[invalid][:5]]
        msg = f"{source}: {problems.where(invalid)}: invalid polygons repaired ({'; '.join(why)})"
        warnings.warn(msg, DataWarning, stacklevel=2)
        for i in np.flatnonzero(invalid):
            parts = shapely.get_parts(shapely.make_valid(geoms[i]))
            polys = shapely.get_parts(parts[np.isin(shapely.get_type_id(parts), [3, 6])])
            geoms[i] = polys[0] if len(polys) == 1 else shapely.MultiPolygon(list(polys))
    name_src = name_col or _find(columns, _ZONE_NAME, exclude=[id_src])
    names = gdf[name_src].map(_text) if name_src is not None else [None] * len(gdf)
    out = pd.DataFrame({"zone_id": ids, "source_row": problems.rows})
    out.insert(1, "zone_name", [n or i for n, i in zip(names, ids, strict=True)])
    texts = _text_columns(gdf, columns, out, {id_src, name_src}, names=("kind", "township"))
    _keep_others(out, gdf, columns, {id_src, name_src, *texts.values()})
    zones = gpd.GeoDataFrame(out, geometry=geoms, crs="EPSG:4326")
    zones.attrs.update(source=source, coord_system=system, id_column=id_src, name_column=name_src)
    logger.info("%s: %d zones (id %r, name %r)", source, len(zones), id_src, name_src)
    return zones
