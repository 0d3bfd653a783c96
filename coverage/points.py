"""Readers for point layers (demand, facilities, candidate sites) and zone polygons.

Planners' files come as CSV (often GBK-encoded), Excel sheets with Chinese headers, or
GeoJSON/GeoPackage layers, with coordinates in WGS-84, GCJ-02 (Amap/Tencent) or BD-09
(Baidu). Every reader returns a GeoDataFrame in EPSG:4326 with standardised columns:

``id``, ``name``
    Strings. ``id`` comes from ``id_col`` or a column such as 编号/ID/代码/序号, else is
    generated as ``"<kind>-<source_row>"``; ``name`` falls back to ``id``.
``households``, ``elderly``, ``population``, ``capacity``, ``floor_area_m2``
    ``float64``, present when a matching column (户数, 老年人口, 人口, 床位数, 建筑面积...)
    exists. Missing values stay NaN (a :class:`~coverage.errors.DataWarning` names the rows);
    code that uses them decides what a missing value means.
``source_row``
    Where the record sits in the file as its user sees it: the spreadsheet row (header =
    row 1, first data row = row 2, a title row above the header shifts both) or, for
    vector files, the 1-based feature number. Every error message uses these numbers.

All other original columns are kept (the coordinate columns as read, the geometry column
holding the WGS-84 points). ``gdf.attrs`` records the source, coordinate system, columns
used and, for text files, the encoding. All problems found in a file are collected and
raised together as one :class:`~coverage.errors.InputFileError` (a
:class:`~coverage.errors.CoordinateError` when coordinates are involved) that names the
file, the rows and columns, and the fix.
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
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .chinacrs import normalise_system, to_wgs84, to_wgs84_geometry
from .errors import (
    CoordinateError,
    CRSError,
    DataWarning,
    InputFileError,
    ParameterError,
    format_problems,
)

__all__ = ["KINDS", "points_from_frame", "read_points", "read_zones", "zones_from_frame"]

logger = logging.getLogger(__name__)

KINDS = ("demand", "facilities", "candidates")
_TABLE = {".csv", ".txt", ".tsv"}
_EXCEL = {".xlsx", ".xlsm"}
_VECTOR = {".geojson", ".json", ".gpkg", ".shp", ".fgb", ".gml", ".kml"}
_HEADER_SEARCH = 20

_LON = (
    "经度",
    "lng",
    "lon",
    "long",
    "longitude",
    "x",
    "东经",
    "x坐标",
    "横坐标",
    "经度坐标",
    "lngx",
)
_LAT = ("纬度", "lat", "latitude", "y", "北纬", "y坐标", "纵坐标", "纬度坐标", "laty")
_COMBINED = (
    "坐标",
    "location",
    "经纬度",
    "lnglat",
    "lonlat",
    "经纬度坐标",
    "coordinates",
    "coord",
    "坐标点",
)
_ID = (
    "id",
    "编号",
    "代码",
    "序号",
    "fid",
    "编码",
    "objectid",
    "code",
    "no",
    "设施编号",
    "机构编号",
    "小区编号",
)
_NAME = (
    "名称",
    "name",
    "小区名称",
    "村名",
    "设施名称",
    "机构名称",
    "村庄名称",
    "小区名",
    "站点名称",
    "单位名称",
    "名字",
    "小区",
    "村庄",
)
_FIELDS: dict[str, tuple[str, ...]] = {
    "households": ("户数", "households", "hh", "总户数", "住户数", "家庭户数"),
    "elderly": (
        "老年人口",
        "老年人数",
        "60岁以上人口",
        "60岁及以上人口",
        "60岁以上老人",
        "老年人",
        "老人数",
        "elderly",
        "pop60",
        "pop60plus",
    ),
    "population": ("人口", "population", "pop", "总人口", "常住人口", "户籍人口", "人口数"),
    "capacity": ("床位", "床位数", "capacity", "beds", "bed", "核定床位", "床位总数"),
    "floor_area_m2": (
        "建筑面积",
        "面积",
        "floorarea",
        "flooraream2",
        "aream2",
        "建筑面积m2",
        "面积m2",
    ),
}
_ZONE_ID = ("zoneid", "id", "编号", "代码", "adcode", "区划代码", "行政区划代码", "code", "fid")
_ZONE_NAME = (
    "zonename",
    "name",
    "名称",
    "区划名称",
    "行政区划名称",
    "乡镇",
    "乡镇名称",
    "街道",
    "街道名称",
    "社区",
    "社区名称",
    "村名",
    "村",
)
_SYSTEM_TOKENS = (
    "wgs84",
    "gcj02",
    "bd09",
    "cgcs2000",
    "gcj",
    "wgs",
    "bd",
    "高德",
    "百度",
    "gaode",
    "baidu",
    "amap",
)
_DMS = re.compile(
    r"^([-+]?\d+(?:\.\d+)?)\s*[°度]\s*(?:(\d+(?:\.\d+)?)\s*['′分]\s*)?"
    r"(?:(\d+(?:\.\d+)?)\s*(?:\"|″|''|秒)\s*)?([NSEW东西南北]?)$",
    re.IGNORECASE,
)  # fmt: skip


# --- small helpers ------------------------------------------------------------------------


def _norm(name: object) -> str:
    """Normalised column name: NFKC, lower case, bracketed units and separators removed."""
    text = unicodedata.normalize("NFKC", str(name)).strip().lower()
    text = re.sub(r"[(\[【].*?[)\]】]", "", text)
    return re.sub(r"[\s_\-.:/°]", "", text)


def _variants(name: object) -> set[str]:
    base = _norm(name)
    return {base} | {base.replace(tok, "") for tok in _SYSTEM_TOKENS if tok in base}


def _find(columns: Sequence[Any], aliases: Sequence[str], exclude: Iterable[Any] = ()) -> Any:
    """The column matching the earliest alias (then the leftmost column), or None."""
    skip = set(exclude)
    for alias in aliases:
        for col in columns:
            if col not in skip and alias in _variants(col):
                return col
    return None


def _rows(word: str, rows: Iterable[int], limit: int = 8) -> str:
    rows = [int(r) for r in rows]
    shown = ", ".join(str(r) for r in rows[:limit])
    more = f" (+{len(rows) - limit} more)" if len(rows) > limit else ""
    return f"{word}{'s' if len(rows) > 1 else ''} {shown}{more}"


def _missing(values: pd.Series) -> np.ndarray:
    return (values.isna() | values.map(lambda v: isinstance(v, str) and not v.strip())).to_numpy()


def _parse_number(value: Any, *, dms: bool) -> float:
    """One cell as a float (NaN if it cannot be read); accepts 1,234 / ５０ / 116°23'45"E."""
    if isinstance(value, (bool, np.bool_)):
        return np.nan
    if isinstance(value, (int, float, np.number)):
        return float(value)
    text = unicodedata.normalize("NFKC", str(value)).strip().replace(",", "")
    try:
        return float(text.rstrip("°"))
    except ValueError:
        pass
    match = _DMS.match(text) if dms else None
    if match is None:
        return np.nan
    deg, minute, sec, hemi = match.groups()
    val = abs(float(deg)) + float(minute or 0) / 60 + float(sec or 0) / 3600
    negative = deg.startswith("-") or hemi.upper() in {"S", "W", "西", "南"}
    return -val if negative else val


def _to_numbers(values: pd.Series, *, dms: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Parse a column: (float64 values, mask of non-empty cells that are not numbers)."""
    fast = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    empty = _missing(values)
    slow = np.isnan(fast) & ~empty
    if slow.any():
        idx = np.flatnonzero(slow)
        fast[idx] = [_parse_number(v, dms=dms) for v in values.iloc[idx]]
    return fast, np.isnan(fast) & ~empty


def _id_text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    text = str(value).strip()
    return text or None


def _check_path(path: str | os.PathLike[str], allowed: set[str]) -> Path:
    p = Path(path)
    if not p.exists():
        raise InputFileError(
            f"{p}: file not found. Fix: check the path (working directory: {Path.cwd()})"
        )
    suffix = p.suffix.lower()
    if suffix == ".xls":
        raise InputFileError(
            f"{p}: the old Excel .xls format is not supported. Fix: open it in Excel or WPS and save as .xlsx"
        )
    if suffix not in allowed or p.is_dir():
        raise InputFileError(
            f"{p}: unsupported file type {suffix!r}. Fix: use one of {', '.join(sorted(allowed))}"
        )
    return p


class _Problems:
    """Collects (error class, problem, fix) triples and raises them once."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.items: list[tuple[type[InputFileError], str, str]] = []

    def add(self, cls: type[InputFileError], problem: str, fix: str) -> None:
        self.items.append((cls, problem, fix))

    def raise_if_any(self) -> None:
        if not self.items:
            return
        cls = (
            CoordinateError
            if any(c is CoordinateError for c, _, _ in self.items)
            else InputFileError
        )
        fixes = " ".join(dict.fromkeys(f for _, _, f in self.items))
        raise cls(format_problems(self.source, [p for _, p, _ in self.items], fixes))


# --- reading raw tables -------------------------------------------------------------------


def _decode(path: Path, encoding: str | None) -> tuple[str, str]:
    data = path.read_bytes()
    if not data.strip():
        raise InputFileError(
            f"{path}: the file is empty. Fix: export the table again with a header row and data rows"
        )
    if encoding is not None:
        try:
            return data.decode(encoding), encoding
        except (UnicodeDecodeError, LookupError) as exc:
            raise InputFileError(
                f"{path}: cannot decode the file as {encoding!r} ({exc}). Fix: pass the right encoding= "
                "or leave it out to try UTF-8 and GB18030 (GBK)"
            ) from exc
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16"), "utf-16"
    errors = []
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(enc), enc
        except UnicodeDecodeError as exc:
            errors.append(exc)
    line = data[: errors[0].start].count(b"\n") + 1
    raise InputFileError(
        f"{path}: cannot decode the file as UTF-8 or GB18030/GBK (first bad byte at line {line}). "
        "Fix: pass encoding= (e.g. encoding='big5' or 'utf-16'), or re-save it in Excel as 'CSV UTF-8'"
    )


def _read_text_rows(path: Path, encoding: str | None) -> tuple[list[list[Any]], str]:
    text, used = _decode(path, encoding)
    logger.info("%s: read with encoding %s", path, used)
    sample = [ln for ln in text.splitlines()[:50] if ln.strip()][:20]
    counts = {d: sum(ln.count(d) for ln in sample) for d in (",", "\t", ";", "|")}
    delim = max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","
    try:
        rows = [
            [cell if cell.strip() else None for cell in row]
            for row in csv.reader(io.StringIO(text, newline=""), delimiter=delim)
        ]
    except csv.Error as exc:
        raise InputFileError(
            f"{path}: not a readable CSV table ({exc}). Fix: re-export it from Excel as CSV"
        ) from exc
    return rows, used


def _read_excel_rows(path: Path, sheet: str | int | None) -> list[list[Any]]:
    import openpyxl

    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=UserWarning, module="openpyxl")
            book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:
        raise InputFileError(
            f"{path}: cannot open the Excel file ({exc}). Fix: open it in Excel or WPS and save as .xlsx"
        ) from exc
    try:
        names = book.sheetnames
        if sheet is None:
            ws = book.worksheets[0]
            if len(names) > 1:
                logger.info(
                    "%s: reading the first sheet %r of %s; pass sheet= for another",
                    path,
                    names[0],
                    names,
                )
        elif isinstance(sheet, int) and 0 <= sheet < len(names):
            ws = book.worksheets[sheet]
        elif isinstance(sheet, str) and sheet in names:
            ws = book[sheet]
        else:
            raise InputFileError(
                f"{path}: no sheet {sheet!r}. Fix: pass sheet= one of {names} (or a 0-based index)"
            )
        return [list(r) for r in ws.iter_rows(min_row=1, values_only=True)]
    finally:
        book.close()


def _coordinate_columns(
    columns: Sequence[Any], lon_col: Any, lat_col: Any
) -> dict[str, Any] | None:
    """Which columns hold coordinates: {"lon": c, "lat": c} or {"combined": c}, or None."""
    if lon_col is not None and lon_col == lat_col:
        return {"combined": lon_col} if lon_col in columns else None
    lon = lon_col if lon_col is not None else _find(columns, _LON, exclude=[lat_col])
    lat = lat_col if lat_col is not None else _find(columns, _LAT, exclude=[lon])
    if lon in columns and lat in columns:
        return {"lon": lon, "lat": lat}
    if lon_col is None and lat_col is None and (comb := _find(columns, _COMBINED)) is not None:
        return {"combined": comb}
    return None


def _frame_from_rows(
    rows: list[list[Any]], source: str, lon_col: Any, lat_col: Any
) -> pd.DataFrame:
    """Build a table from raw rows (row i = spreadsheet row i+1), finding the header row."""
    if not any(any(v is not None and str(v).strip() for v in r) for r in rows):
        raise InputFileError(f"{source}: the file has no rows. Fix: add a header row and data rows")
    header_at = next(
        (i for i, r in enumerate(rows[:_HEADER_SEARCH])
         if _coordinate_columns([str(v).strip() for v in r if v is not None], lon_col, lat_col)),
        next(i for i, r in enumerate(rows) if any(v is not None for v in r)),
    )  # fmt: skip
    if header_at:
        logger.info("%s: header found in row %d", source, header_at + 1)
    width = max(len(r) for r in rows)
    names: list[str] = []
    for j in range(width):
        raw = rows[header_at][j] if j < len(rows[header_at]) else None
        name = str(raw).strip() if raw is not None and str(raw).strip() else f"Unnamed: {j}"
        names.append(name if name not in names else f"{name}.{names.count(name)}")
    body = [r + [None] * (width - len(r)) for r in rows[header_at + 1 :]]
    table = pd.DataFrame(body, columns=names, dtype=object)
    table["source_row"] = np.arange(header_at + 2, header_at + 2 + len(body))
    table = table.loc[table[names].notna().any(axis=1)].reset_index(drop=True)
    blank = [c for c in names if c.startswith("Unnamed: ") and table[c].isna().all()]
    return table.drop(columns=blank)


def _read_vector(path: Path, layer: str | int | None) -> gpd.GeoDataFrame:
    import pyogrio

    try:
        layers = [(str(n), g) for n, g in pyogrio.list_layers(path)]
    except Exception as exc:
        raise InputFileError(
            f"{path}: cannot read as a vector file ({exc}). Fix: check the file opens in QGIS"
        ) from exc
    names = [n for n, _ in layers]
    spatial = [n for n, g in layers if g is not None] or names
    if layer is None:
        if len(spatial) > 1:
            raise InputFileError(
                f"{path}: the file has {len(spatial)} layers {spatial}. Fix: pass layer= one of them"
            )
        layer = spatial[0]
    elif not (isinstance(layer, int) and 0 <= layer < len(names)) and layer not in names:
        raise InputFileError(f"{path}: no layer {layer!r}. Fix: pass layer= one of {names}")
    try:
        return gpd.read_file(path, layer=layer, engine="pyogrio")
    except Exception as exc:
        raise InputFileError(
            f"{path}: cannot read layer {layer!r} ({exc}). Fix: check the file opens in QGIS"
        ) from exc


def _vector_to_wgs84(
    gdf: gpd.GeoDataFrame, source: str, coord_system: str | None
) -> tuple[gpd.GeoDataFrame, str]:
    """Bring a layer to EPSG:4326 (reprojecting, then undoing GCJ-02/BD-09 if declared)."""
    system = normalise_system(coord_system) if coord_system is not None else None
    crs = gdf.crs
    if crs is None:
        if system is None:
            raise CRSError(
                f"{source}: the layer has no coordinate reference system. Fix: pass coord_system='wgs84' "
                "(or 'gcj02'/'bd09' for Amap/Baidu coordinates) if it holds longitude/latitude, or "
                "assign its CRS in QGIS (Layer Properties > Source) and save it again"
            )
        gdf = gdf.set_crs("EPSG:4326")
    elif not crs.is_geographic:
        if system in ("gcj02", "bd09"):
            raise CRSError(
                f"{source}: coord_system={coord_system!r} needs longitude/latitude, but the layer is in projected "
                f"CRS {crs.to_string()!r}. Fix: leave coord_system out, or export the layer as longitude/latitude"
            )
        logger.info("%s: reprojecting from %s to EPSG:4326", source, crs.to_string())
        gdf = gdf.to_crs("EPSG:4326")
    elif crs.to_epsg() != 4326:
        gdf = gdf.to_crs("EPSG:4326")
    if system in ("gcj02", "bd09"):
        logger.info("%s: converting %s coordinates to WGS-84", source, system)
        gdf = gdf.set_geometry(to_wgs84_geometry(gdf.geometry, system))
    return gdf, system or "wgs84"


# --- points -------------------------------------------------------------------------------


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ParameterError(f"kind={kind!r} is not one of {KINDS}")


def read_points(
    path: str | os.PathLike[str],
    *,
    kind: str = "demand",
    coord_system: str | None = None,
    lon_col: str | None = None,
    lat_col: str | None = None,
    id_col: str | None = None,
    name_col: str | None = None,
    encoding: str | None = None,
    sheet: str | int | None = None,
    layer: str | int | None = None,
) -> gpd.GeoDataFrame:
    """Read a point layer (demand, facilities or candidate sites) into EPSG:4326.

    Parameters
    ----------
    path
        A CSV/TXT/TSV table, an Excel ``.xlsx`` sheet, or a vector file (GeoJSON,
        GeoPackage, Shapefile, ...). Polygons or lines in a vector file are replaced by a
        point on their surface.
    kind
        ``"demand"``, ``"facilities"`` or ``"candidates"``; names generated ids.
    coord_system
        System of the coordinates: ``"wgs84"`` (also CGCS2000/Tianditu/GPS), ``"gcj02"``
        (Amap/Gaode, Tencent) or ``"bd09"`` (Baidu); see
        :func:`coverage.chinacrs.normalise_system`. ``None`` means WGS-84 for tables and
        the file's own CRS for vector files (a vector file without a CRS then raises
        :class:`~coverage.errors.CRSError`).
    lon_col, lat_col
        Coordinate columns; detected by name (经度/lng/lon/x..., 纬度/lat/y...) when
        omitted. Pass the same name for both to read one ``"lng,lat"`` column.
    id_col, name_col
        Id and name columns; detected by name when omitted.
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
        Missing, empty, undecodable or malformed file; duplicate ids; bad numeric values.
    CoordinateError
        Missing, non-numeric, out-of-range or swapped coordinates.
    CRSError
        Unknown ``coord_system``, or a vector file without a CRS.
    """
    _check_kind(kind)
    p = _check_path(path, _TABLE | _EXCEL | _VECTOR)
    source = str(p)
    if p.suffix.lower() in _VECTOR:
        gdf = _read_vector(p, layer)
        if len(gdf) == 0:
            raise InputFileError(
                f"{source}: the layer has no features. Fix: check the file and layer"
            )
        gdf["source_row"] = np.arange(1, len(gdf) + 1)
        return _points(
            gdf, source, kind, coord_system, lon_col, lat_col, id_col, name_col, "feature", None
        )
    used = None
    if p.suffix.lower() in _EXCEL:
        rows = _read_excel_rows(p, sheet)
    else:
        rows, used = _read_text_rows(p, encoding)
    table = _frame_from_rows(rows, source, lon_col, lat_col)
    return _points(
        table, source, kind, coord_system, lon_col, lat_col, id_col, name_col, "row", used
    )


def points_from_frame(
    df: pd.DataFrame,
    *,
    source: str = "<DataFrame>",
    kind: str = "demand",
    coord_system: str | None = None,
    lon_col: str | None = None,
    lat_col: str | None = None,
    id_col: str | None = None,
    name_col: str | None = None,
) -> gpd.GeoDataFrame:
    """Validate and standardise an in-memory table of points, as :func:`read_points` does.

    Parameters
    ----------
    df
        A DataFrame with coordinate columns, or a GeoDataFrame of points (used when no
        ``lon_col``/``lat_col`` is given; without a CRS it needs ``coord_system``).
    source
        Name used in messages.
    kind, coord_system, lon_col, lat_col, id_col, name_col
        As in :func:`read_points`.

    Returns
    -------
    geopandas.GeoDataFrame
        Points in EPSG:4326 with the standardised columns. Rows are numbered as if the
        table were a spreadsheet with its header in row 1 (first row = 2) unless ``df``
        has a ``source_row`` column.
    """
    _check_kind(kind)
    table = df.copy()
    if "source_row" not in table.columns:
        table["source_row"] = np.arange(2, len(table) + 2)
    if len(table) == 0:
        raise InputFileError(f"{source}: the table has no rows. Fix: pass a table with data rows")
    return _points(
        table, source, kind, coord_system, lon_col, lat_col, id_col, name_col, "row", None
    )


def _coordinates_from_geometry(
    gdf: gpd.GeoDataFrame, source: str, coord_system: str | None, word: str, problems: _Problems
) -> tuple[np.ndarray, np.ndarray, str]:
    gdf, system = _vector_to_wgs84(gdf, source, coord_system)
    geoms = gdf.geometry.values
    bad = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    rows = gdf["source_row"].to_numpy()
    if bad.any():
        problems.add(
            CoordinateError,
            f"{_rows(word, rows[bad])} have no geometry",
            "Delete those features or give them a location.",
        )
    not_point = ~bad & (shapely.get_type_id(geoms) != shapely.GeometryType.POINT)
    if not_point.any():
        logger.info(
            "%s: %d non-point features replaced by a point on their surface",
            source,
            int(not_point.sum()),
        )
        geoms = geoms.copy()
        geoms[not_point] = shapely.point_on_surface(geoms[not_point])
    return shapely.get_x(geoms), shapely.get_y(geoms), system


def _points(
    table: pd.DataFrame,
    source: str,
    kind: str,
    coord_system: str | None,
    lon_col: Any,
    lat_col: Any,
    id_col: Any,
    name_col: Any,
    word: str,
    encoding: str | None,
) -> gpd.GeoDataFrame:
    problems = _Problems(source)
    rows = table["source_row"].to_numpy()
    columns = [
        c
        for c in table.columns
        if c != "source_row"
        and not (isinstance(table, gpd.GeoDataFrame) and c == table.geometry.name)
    ]
    for arg, value in (
        ("lon_col", lon_col),
        ("lat_col", lat_col),
        ("id_col", id_col),
        ("name_col", name_col),
    ):
        if value is not None and value not in columns:
            raise InputFileError(
                f"{source}: no column {value!r} (given as {arg}). Fix: use one of the columns {columns}"
            )
    use_geometry = (
        isinstance(table, gpd.GeoDataFrame)
        and lon_col is None
        and lat_col is None
        and table.geometry.notna().any()
    )
    if use_geometry:
        lon, lat, system = _coordinates_from_geometry(table, source, coord_system, word, problems)
        coord_info: dict[str, Any] = {"geometry": table.geometry.name}
        swap_fix = "The file stores points as (latitude, longitude): swap the coordinates and save it again."
    else:
        system = normalise_system(coord_system) if coord_system is not None else "wgs84"
        found = _coordinate_columns(columns, lon_col, lat_col)
        if found is None:
            raise InputFileError(
                f"{source}: no longitude/latitude columns found among the columns {columns}. Fix: pass "
                "lon_col= and lat_col= (e.g. lon_col='经度', lat_col='纬度'), or the same name for both for a 'lng,lat' column"
            )
        coord_info, lon, lat = _coordinates_from_columns(table, found, rows, word, problems)
        swap_fix = f"Swap lon_col/lat_col: pass lon_col={found.get('lat')!r}, lat_col={found.get('lon')!r} (or fix the headers)."
    logger.info("%s: coordinates from %s (%s)", source, coord_info, system)
    _check_ranges(lon, lat, rows, word, coord_info, swap_fix, problems)
    used = {c for c in coord_info.values()}
    ids, id_src = _ids(table, columns, id_col, kind, rows, word, problems)
    name_src = name_col if name_col is not None else _find(columns, _NAME, exclude=[id_src, *used])
    names = (
        table[name_src].map(_id_text) if name_src is not None else pd.Series([None] * len(table))
    )
    out = pd.DataFrame(
        {"id": ids, "name": [n if n is not None else i for n, i in zip(names, ids, strict=True)]}
    )
    field_src = _fields(table, columns, out, {id_src, name_src, *used}, rows, word, problems)
    problems.raise_if_any()
    if not use_geometry and system != "wgs84":
        logger.info("%s: converting %s coordinates to WGS-84", source, system)
        lon, lat = to_wgs84(lon, lat, system)
    out["source_row"] = rows.astype(np.int64)
    consumed = {id_src, name_src, *field_src.values()}
    std = set(out.columns) | {"geometry"}
    for col in columns:
        if col not in consumed:
            out[f"{col}_original" if col in std else col] = _infer(table[col]).to_numpy()
    gdf = gpd.GeoDataFrame(out, geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")
    gdf.attrs.update(
        source=source,
        kind=kind,
        coord_system=system,
        coordinate_columns=coord_info,
        id_column=id_src,
        name_column=name_src,
        field_columns=field_src,
        encoding=encoding,
    )
    return gdf


def _coordinates_from_columns(
    table: pd.DataFrame, found: dict[str, Any], rows: np.ndarray, word: str, problems: _Problems
) -> tuple[dict[str, Any], np.ndarray, np.ndarray]:
    if "combined" in found:
        col = found["combined"]
        parts = table[col].map(
            lambda v: (
                re.split(r"[,，;；\s]+", unicodedata.normalize("NFKC", str(v)).strip())
                if v is not None and not (isinstance(v, float) and np.isnan(v))
                else []
            )
        )
        lon, bad_a = _to_numbers(parts.map(lambda p: p[0] if len(p) == 2 else None), dms=True)
        lat, bad_b = _to_numbers(parts.map(lambda p: p[1] if len(p) == 2 else None), dms=True)
        bad = bad_a | bad_b | parts.map(lambda p: len(p) not in (0, 2)).to_numpy()
        empty = parts.map(len).to_numpy() == 0
        checks = [(col, bad, empty)]
        ok = np.isfinite(lon) & np.isfinite(lat)
        if ok.any() and _looks_swapped(lat[ok], lon[ok]):
            warnings.warn(
                f"{problems.source}: column {col!r} holds 'lat,lng' pairs; reading them as latitude, longitude",
                DataWarning,
                stacklevel=4,
            )
            lon, lat = lat, lon
    else:
        lon, bad_lon = _to_numbers(table[found["lon"]], dms=True)
        lat, bad_lat = _to_numbers(table[found["lat"]], dms=True)
        checks = [
            (found["lon"], bad_lon, _missing(table[found["lon"]])),
            (found["lat"], bad_lat, _missing(table[found["lat"]])),
        ]
    for col, bad, empty in checks:
        if empty.any():
            problems.add(
                CoordinateError,
                f"{_rows(word, rows[empty])}: column {col!r} is empty",
                "Fill in the missing coordinates or delete those rows.",
            )
        if bad.any():
            sample = ", ".join(repr(v) for v in table[col].to_numpy()[bad][:3])
            problems.add(
                CoordinateError,
                f"{_rows(word, rows[bad])}: column {col!r} is not a number ({sample})",
                "Write coordinates as decimal degrees, e.g. 116.397.",
            )
    return found, lon, lat


def _looks_swapped(lon: np.ndarray, lat: np.ndarray) -> bool:
    return bool(
        len(lon) and np.all((lon >= 3) & (lon <= 54)) and np.all((lat >= 73) & (lat <= 136))
    )


def _check_ranges(
    lon: np.ndarray,
    lat: np.ndarray,
    rows: np.ndarray,
    word: str,
    info: dict[str, Any],
    swap_fix: str,
    problems: _Problems,
) -> None:
    finite = np.isfinite(lon) & np.isfinite(lat)
    inf = np.isinf(lon) | np.isinf(lat)
    if inf.any():
        problems.add(
            CoordinateError,
            f"{_rows(word, rows[inf])}: coordinate is infinite (columns {list(info.values())})",
            "Fill in real coordinates.",
        )
    if _looks_swapped(lon[finite], lat[finite]):
        lo, la = info.get("lon", "longitude"), info.get("lat", "latitude")
        problems.add(
            CoordinateError,
            f"latitude and longitude look swapped: {lo!r} holds {lon[finite].min():.4g}-{lon[finite].max():.4g} (latitudes in China) and {la!r} holds {lat[finite].min():.4g}-{lat[finite].max():.4g} (longitudes)",
            swap_fix,
        )
        return
    for axis, values, limit in (("longitude", lon, 180), ("latitude", lat, 90)):
        out = finite & (np.abs(values) > limit)
        if out.any():
            col = info.get(axis[:3], next(iter(info.values())))
            hint = (
                " They look like projected metres: convert them to longitude/latitude (or read the file with its CRS)."
                if np.nanmax(np.abs(values[out])) > 1000
                else ""
            )
            problems.add(
                CoordinateError,
                f"{_rows(word, rows[out])}: {axis} in {col!r} is out of range (|{axis}| > {limit}), e.g. {values[out][0]:.6g}",
                f"Use decimal degrees.{hint}",
            )


def _ids(
    table: pd.DataFrame,
    columns: list[Any],
    id_col: Any,
    kind: str,
    rows: np.ndarray,
    word: str,
    problems: _Problems,
) -> tuple[list[str], Any]:
    src = id_col if id_col is not None else _find(columns, _ID)
    if src is None:
        return [f"{kind}-{r}" for r in rows], None
    ids = table[src].map(_id_text)
    empty = ids.isna().to_numpy()
    if empty.any():
        problems.add(
            InputFileError,
            f"{_rows(word, rows[empty])}: id column {src!r} is empty",
            f"Fill in the missing ids (or rename column {src!r} so it is not read as the id).",
        )
    dup = ids.duplicated(keep=False).to_numpy() & ~empty
    if dup.any():
        groups = [
            f"{v!r} ({_rows(word, rows[(ids == v).to_numpy()])})" for v in dict.fromkeys(ids[dup])
        ]
        problems.add(
            InputFileError,
            f"duplicate ids in column {src!r}: {', '.join(groups[:8])}",
            "Make every id unique (or pass id_col= another column).",
        )
    return [i if i is not None else f"{kind}-{r}" for i, r in zip(ids, rows, strict=True)], src


def _fields(
    table: pd.DataFrame,
    columns: list[Any],
    out: pd.DataFrame,
    taken: set[Any],
    rows: np.ndarray,
    word: str,
    problems: _Problems,
) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for field, aliases in _FIELDS.items():
        col = _find(columns, aliases, exclude=taken | set(found.values()))
        if col is None:
            continue
        found[field] = col
        values, bad = _to_numbers(table[col])
        if bad.any():
            sample = ", ".join(repr(v) for v in table[col].to_numpy()[bad][:3])
            problems.add(
                InputFileError,
                f"{_rows(word, rows[bad])}: column {col!r} is not a number ({sample})",
                f"Write plain numbers in {col!r}.",
            )
        neg = values < 0
        if neg.any():
            problems.add(
                InputFileError,
                f"{_rows(word, rows[neg])}: column {col!r} is negative",
                f"Counts in {col!r} cannot be negative; correct them.",
            )
        if np.isinf(values).any():
            problems.add(
                InputFileError,
                f"{_rows(word, rows[np.isinf(values)])}: column {col!r} is infinite",
                f"Write plain numbers in {col!r}.",
            )
        gaps = np.isnan(values) & ~bad
        if gaps.any():
            warnings.warn(
                f"{problems.source}: {_rows(word, rows[gaps])}: column {col!r} ({field}) is empty; kept as NaN. Fix: fill in the values if they matter",
                DataWarning,
                stacklevel=4,
            )
        out[field] = values
    return found


def _infer(values: pd.Series) -> pd.Series:
    """Turn an object column of number-like text into numbers (not codes with leading zeros)."""
    if values.dtype != object:
        return values.reset_index(drop=True)
    present = values.dropna()
    if len(present) == 0:
        return values.reset_index(drop=True)
    text = present.astype(str).str.strip()
    if text.str.match(r"^0\d").any():
        return values.reset_index(drop=True)
    numbers = pd.to_numeric(text, errors="coerce")
    if numbers.notna().all():
        return pd.to_numeric(values, errors="coerce").reset_index(drop=True)
    return values.reset_index(drop=True)


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
        Zone id and name columns; detected (zone_id/id/编号/adcode..., name/名称/乡镇...)
        when omitted.
    layer
        Layer of a multi-layer file.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``zone_id`` and ``zone_name`` (strings; ``zone_id`` generated as
        ``"zone-<n>"`` if absent), ``source_row`` (feature number), the other original
        columns, and (Multi)Polygon geometry. Invalid polygons are repaired with
        ``shapely.make_valid`` and a :class:`~coverage.errors.DataWarning`.

    Raises
    ------
    InputFileError
        Missing/empty file, missing geometries, non-polygon geometries, duplicate ids.
    CRSError
        Unknown ``coord_system`` or a layer without a CRS.
    """
    p = _check_path(path, _VECTOR)
    gdf = _read_vector(p, layer)
    return zones_from_frame(
        gdf, source=str(p), coord_system=coord_system, id_col=id_col, name_col=name_col
    )


def zones_from_frame(
    gdf: gpd.GeoDataFrame,
    *,
    source: str = "<GeoDataFrame>",
    coord_system: str | None = None,
    id_col: str | None = None,
    name_col: str | None = None,
) -> gpd.GeoDataFrame:
    """Validate and standardise an in-memory GeoDataFrame of zones, as :func:`read_zones` does.

    Parameters
    ----------
    gdf
        Polygons.
    source
        Name used in messages.
    coord_system, id_col, name_col
        As in :func:`read_zones`.

    Returns
    -------
    geopandas.GeoDataFrame
        As :func:`read_zones`.
    """
    if len(gdf) == 0:
        raise InputFileError(f"{source}: the layer has no features. Fix: check the file and layer")
    columns = [c for c in gdf.columns if c != gdf.geometry.name]
    for arg, value in (("id_col", id_col), ("name_col", name_col)):
        if value is not None and value not in columns:
            raise InputFileError(
                f"{source}: no column {value!r} (given as {arg}). Fix: use one of the columns {columns}"
            )
    gdf, system = _vector_to_wgs84(gdf, source, coord_system)
    rows = np.arange(1, len(gdf) + 1)
    problems = _Problems(source)
    geoms = np.asarray(gdf.geometry.values, dtype=object).copy()
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if missing.any():
        problems.add(
            InputFileError,
            f"{_rows('feature', rows[missing])} have no geometry",
            "Delete those features or draw their outlines.",
        )
    polygonal = np.array([isinstance(g, (shapely.Polygon, shapely.MultiPolygon)) for g in geoms])
    wrong = ~missing & ~polygonal
    if wrong.any():
        kinds = sorted({geoms[i].geom_type for i in np.flatnonzero(wrong)})
        problems.add(
            InputFileError,
            f"{_rows('feature', rows[wrong])} are {'/'.join(kinds)}, not polygons",
            "Zones must be polygons; read points with read_points().",
        )
    ok = ~missing & polygonal
    if ok.any():
        minx, miny, maxx, maxy = shapely.total_bounds(geoms[ok])
        if max(abs(minx), abs(maxx)) > 180 or max(abs(miny), abs(maxy)) > 90:
            problems.add(
                CoordinateError,
                f"coordinates outside longitude/latitude range (bounds {minx:.6g}, {miny:.6g}, {maxx:.6g}, {maxy:.6g})",
                "The layer is probably in projected metres: give it the right CRS in QGIS.",
            )
    src = id_col if id_col is not None else _find(columns, _ZONE_ID)
    ids, _ = (
        _ids(gdf, columns, src, "zone", rows, "feature", problems)
        if src is not None
        else ([f"zone-{r}" for r in rows], None)
    )
    problems.raise_if_any()
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        reasons = "; ".join(
            f"feature {r}: {shapely.is_valid_reason(g)}"
            for r, g in zip(rows[invalid][:5], geoms[invalid][:5], strict=True)
        )
        warnings.warn(
            f"{source}: {int(invalid.sum())} invalid polygon(s) repaired with make_valid ({reasons})",
            DataWarning,
            stacklevel=2,
        )
        for i in np.flatnonzero(invalid):
            fixed = shapely.make_valid(geoms[i])
            parts = [
                g
                for g in shapely.get_parts(fixed)
                if isinstance(g, (shapely.Polygon, shapely.MultiPolygon))
            ]
            geoms[i] = (
                parts[0]
                if len(parts) == 1
                else shapely.MultiPolygon(list(shapely.get_parts(parts)))
            )
    name_src = name_col if name_col is not None else _find(columns, _ZONE_NAME, exclude=[src])
    names = gdf[name_src].map(_id_text) if name_src is not None else pd.Series([None] * len(gdf))
    out = pd.DataFrame(
        {
            "zone_id": ids,
            "zone_name": [n if n is not None else i for n, i in zip(names, ids, strict=True)],
            "source_row": rows,
        }
    )
    for col in columns:
        if col not in (src, name_src):
            out[f"{col}_original" if col in out.columns or col == "geometry" else col] = _infer(
                gdf[col]
            ).to_numpy()
    zones = gpd.GeoDataFrame(out, geometry=geoms, crs="EPSG:4326")
    zones.attrs.update(source=source, coord_system=system, id_column=src, name_column=name_src)
    logger.info("%s: %d zones (id %r, name %r, %s)", source, len(zones), src, name_src, system)
    return zones
