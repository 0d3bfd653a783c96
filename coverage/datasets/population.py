"""A generated population surface for the model county (模型县人口格网, **not real data**).

The model county's older residents (the ``elderly`` column of its demand points: compounds,
village centres, hamlets) spread over a 100 m grid in its UTM zone (EPSG:32649), each point's
people by a Gaussian kernel (σ 120 m in town, 200 m in the villages, cut at 3σ) renormalised
over the land cells so that none is lost: the grid's sum equals the points' total (32,678,
to float32 rounding). The two cell rows on the river through the town are nodata, as water
is in WorldPop. The GeoTIFF says what it is in its tags (``DESCRIPTION``, ``SOURCE``) and its
band description. It is written on demand (:func:`model_county_population`, cached in the
temporary folder) or by ``coverage data FOLDER --population``, and read like any
WorldPop/GHS-POP grid with ``--demand-raster``.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

import numpy as np

from .model_county import _RIVER_Y, CRS, ORIGIN, ModelCounty, model_county

__all__ = ["CELL_M", "LABEL", "NODATA", "POPULATION_FILE", "model_county_population", "population_grid", "write_population"]

logger = logging.getLogger(__name__)

#: cell size, m
CELL_M = 100.0
NODATA = -99999.0
#: the file name ``coverage data --population`` writes
POPULATION_FILE = "population_60plus.tif"
LABEL = "GENERATED population aged 60+ of the model county (模型县, not a real place); not WorldPop, not census data"
_MARGIN_M = 600.0
#: bumped whenever the generated grid changes, so that a cached copy is never stale
GRID_VERSION = 2


def population_grid(county: ModelCounty | None = None) -> tuple[np.ndarray, tuple[float, float]]:
    """People aged 60+ per cell (float64, NaN on the river) and the grid's top-left corner
    (UTM metres, a quarter cell off the 100 m lattice)."""
    mc = county or model_county()
    pts = mc.demand.to_crs(CRS)
    x, y = pts.geometry.x.to_numpy(), pts.geometry.y.to_numpy()
    people = mc.demand["elderly"].to_numpy(float)
    town = mc.demand["id"].astype(str).str.startswith("R").to_numpy()
    # the points and the zones with a margin; the lattice is offset by a quarter cell so that no
    # cell centre lies on a zone edge (they follow the model county's 50 m lattice)
    zx0, zy0, zx1, zy1 = mc.zones.to_crs(CRS).total_bounds
    left, bottom = min(x.min(), zx0) - _MARGIN_M, min(y.min(), zy0) - _MARGIN_M
    right, top = max(x.max(), zx1) + _MARGIN_M, max(y.max(), zy1) + _MARGIN_M
    x0 = np.floor(left / CELL_M) * CELL_M + CELL_M / 4
    y1 = np.ceil(top / CELL_M) * CELL_M + CELL_M / 4
    w = int(np.ceil((right - x0) / CELL_M))
    h = int(np.ceil((y1 - bottom) / CELL_M))
    cx = x0 + (np.arange(w) + 0.5) * CELL_M
    cy = y1 - (np.arange(h) + 0.5) * CELL_M
    gx, gy = np.meshgrid(cx, cy)
    lx, ly = gx - ORIGIN[0], gy - ORIGIN[1]
    river = (np.abs(ly - _RIVER_Y) <= CELL_M / 2) & (lx >= 0) & (lx <= 2400)
    grid = np.zeros((h, w))
    for xi, yi, p, t in zip(x, y, people, town, strict=True):
        sigma = 120.0 if t else 200.0
        d2 = (gx - xi) ** 2 + (gy - yi) ** 2
        k = np.where((d2 <= (3 * sigma) ** 2) & ~river, np.exp(-d2 / (2 * sigma**2)), 0.0)
        grid += p * k / k.sum()
    grid[river] = np.nan
    return grid, (float(x0), float(y1))


def write_population(path: str | os.PathLike[str], county: ModelCounty | None = None) -> Path:
    """Write the generated 60+ population GeoTIFF (EPSG:32649, 100 m, float32, nodata −99999)."""
    import rasterio
    from rasterio.transform import from_origin

    grid, (x0, y1) = population_grid(county)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    profile = {"driver": "GTiff", "dtype": "float32", "nodata": NODATA, "width": grid.shape[1], "height": grid.shape[0], "count": 1,
               "crs": CRS, "transform": from_origin(x0, y1, CELL_M, CELL_M), "compress": "deflate", "tiled": True,
               "blockxsize": 64, "blockysize": 64}  # fmt: skip
    tmp = out.with_name(out.name + ".part")
    with rasterio.open(tmp, "w", **profile) as dst:
        dst.write(np.where(np.isnan(grid), NODATA, grid).astype(np.float32), 1)
        dst.update_tags(DESCRIPTION=LABEL, SOURCE="coverage.datasets.population (yanglao-coverage), generated from the model "
                        "county's demand points", UNITS="people aged 60+ per cell")  # fmt: skip
        dst.set_band_description(1, "population aged 60+ (GENERATED, model county)")
    os.replace(tmp, out)
    logger.info("%s: generated population surface of the model county (%d x %d cells of %g m, %.0f people aged 60+)",
                out, grid.shape[1], grid.shape[0], CELL_M, np.nansum(grid))  # fmt: skip
    return out


def model_county_population(path: str | os.PathLike[str] | None = None) -> Path:
    """The model county's generated population GeoTIFF: written to ``path``, or (``None``)
    to ``<temporary folder>/yanglao-coverage/population_60plus_v<GRID_VERSION>.tif`` once and reused."""
    if path is not None:
        return write_population(path)
    cached = Path(tempfile.gettempdir()) / "yanglao-coverage" / f"population_60plus_v{GRID_VERSION}.tif"
    if not cached.exists():
        write_population(cached)
    return cached
