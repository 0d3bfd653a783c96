"""Table and GeoPackage writers shared by the audit, site selection and the workflows.

Every file goes through :mod:`coverage.atomic` (temporary name, then rename). Infinite
distances ("beyond the cutoff") become empty cells; CSV files carry a UTF-8 BOM so that
Excel on Chinese Windows reads the names correctly.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from .atomic import atomic_path, atomic_write_text

__all__ = ["csv_text", "plain_table", "write_csv", "write_gpkg"]


def plain_table(df: pd.DataFrame) -> pd.DataFrame:
    """A copy without geometry, with infinities in float columns replaced by NaN."""
    out = pd.DataFrame(df.drop(columns="geometry", errors="ignore")).copy()
    for c in out.columns:
        if pd.api.types.is_float_dtype(out[c]):
            out[c] = out[c].replace([np.inf, -np.inf], np.nan)
    return out


def csv_text(df: pd.DataFrame) -> str:
    """A table as CSV text (no geometry, infinities as empty cells, 3 decimals)."""
    return plain_table(df).to_csv(index=False, lineterminator="\n", float_format="%.3f")


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
