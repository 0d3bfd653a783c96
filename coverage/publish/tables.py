"""Table, GeoPackage and JSON writers shared by the audit, site selection and the workflows.

Every file goes through :mod:`coverage.publish.atomic` (temporary name, then rename). Infinite
distances ("beyond the cutoff") become empty cells; CSV files carry a UTF-8 BOM so that
Excel on Chinese Windows reads the names correctly.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from .atomic import atomic_path, atomic_write_text

__all__ = [
    "FORMULA_TRIGGERS",
    "csv_text",
    "neutralise_formula",
    "plain_table",
    "with_coordinates",
    "write_csv",
    "write_gpkg",
    "write_json",
]


def plain_table(df: pd.DataFrame) -> pd.DataFrame:
    """A copy without geometry, with infinities in float columns replaced by NaN."""
    out = pd.DataFrame(df.drop(columns="geometry", errors="ignore")).copy()
    for c in out.columns:
        if pd.api.types.is_float_dtype(out[c]):
            out[c] = out[c].replace([np.inf, -np.inf], np.nan)
    return out


#: characters that make a spreadsheet (Excel, WPS, LibreOffice) read a cell as a formula
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

_COORD_COLUMN = re.compile(r"(?i)^(lon|lat|lng|longitude|latitude|x|y|经度|纬度)$|[_ ](lon|lat|lng|x|y)$|_wgs84$")


def neutralise_formula(value: object) -> object:
    """A text cell that a spreadsheet would run as a formula, made inert (OWASP rule).

    Text starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a
    leading apostrophe, which Excel and WPS show as text; anything else is returned
    unchanged (numbers stay numbers).

    Examples
    --------
    >>> neutralise_formula("=1+2")
    "'=1+2"
    >>> neutralise_formula("城东社区"), neutralise_formula(-1.5)
    ('城东社区', -1.5)
    """
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def _text_cell(value: object) -> object:
    """A text cell: formula neutralised, carriage returns as line feeds (which are quoted)."""
    value = neutralise_formula(value)
    if isinstance(value, str) and "\r" in value:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    return value


def with_coordinates(df: pd.DataFrame) -> pd.DataFrame:
    """Add ``lon_wgs84``/``lat_wgs84`` columns to a table of points (WGS-84, full precision).

    Tables without point geometry are returned unchanged.
    """
    if not isinstance(df, gpd.GeoDataFrame) or df.geometry.name not in df or len(df) == 0:
        return df
    geom = df.geometry
    if df.crs is None or not bool((geom.geom_type == "Point").all()):
        return df
    wgs = geom.to_crs("EPSG:4326")
    out = df.copy()
    out["lon_wgs84"] = wgs.x.to_numpy()
    out["lat_wgs84"] = wgs.y.to_numpy()
    return out


def csv_text(df: pd.DataFrame) -> str:
    """A table as CSV text, safe to open in a spreadsheet and without loss of coordinates.

    No geometry; points carry ``lon_wgs84``/``lat_wgs84``; coordinate columns are written
    at full precision, other decimals with 3 places; infinities as empty cells; every text
    cell and header that a spreadsheet would run as a formula is neutralised
    (:func:`neutralise_formula`).
    """
    out = plain_table(with_coordinates(df))
    for c in out.columns:
        col = out[c]
        if pd.api.types.is_float_dtype(col) and not _COORD_COLUMN.search(str(c)):
            out[c] = col.map(lambda v: "" if pd.isna(v) else f"{v:.3f}")
        elif col.dtype == object or pd.api.types.is_string_dtype(col):
            out[c] = col.map(_text_cell)
    out.columns = [_text_cell(str(c)) for c in out.columns]
    return out.to_csv(index=False, lineterminator="\n")


def write_csv(path: str | Path, df: pd.DataFrame, *, overwrite: bool) -> Path:
    """CSV with a BOM (see the module docstring), written atomically."""
    return atomic_write_text(path, csv_text(df), overwrite=overwrite, encoding="utf-8-sig")


def write_gpkg(
    path: str | Path,
    layers: Mapping[str, gpd.GeoDataFrame | None],
    *,
    overwrite: bool,
    date: str | None = None,
    skip_empty: bool = False,
    bools_as_text: bool = False,
) -> Path:
    """Write layers to one GeoPackage, atomically.

    Parameters
    ----------
    path
        The ``.gpkg`` file.
    layers
        ``{layer name: GeoDataFrame}``; ``None`` layers are left out.
    overwrite
        Whether an existing file may be replaced.
    date
        ISO date written as the GeoPackage timestamps (``OGR_CURRENT_DATE``), so that the
        same input gives the same bytes; ``None`` lets GDAL use the clock.
    skip_empty
        Leave out layers with no rows.
    bools_as_text
        Store boolean columns as text (object columns always are).
    """
    import pyogrio

    if date is not None:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": f"{date}T00:00:00.000Z"})
    try:
        with atomic_path(path, overwrite=overwrite) as tmp:
            tmp.unlink(missing_ok=True)
            for name, g in layers.items():
                if g is None or (skip_empty and len(g) == 0):
                    continue
                g = g.copy()
                for c in g.columns:
                    if c == g.geometry.name:
                        continue
                    if pd.api.types.is_float_dtype(g[c]):
                        g[c] = g[c].replace([np.inf, -np.inf], np.nan)
                    elif g[c].dtype == object or (bools_as_text and pd.api.types.is_bool_dtype(g[c])):
                        g[c] = g[c].astype(str)
                g.to_file(tmp, layer=name, driver="GPKG", engine="pyogrio")
    finally:
        if date is not None:
            pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": None})
    return Path(path)


def write_json(path: str | Path, record: Mapping[str, Any], *, overwrite: bool) -> Path:
    """A JSON record (parameters, verdicts), UTF-8 and indented, written atomically.

    NumPy numbers become JSON numbers (non-finite floats ``null``), arrays, tuples and
    sets lists, tables lists of records (:func:`plain_table`), anything else its text.
    """
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
