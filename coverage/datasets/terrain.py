"""A generated hill DEM for the model county (模型县): **generated, not measured terrain**.

The model county (:mod:`.model_county`) is made up, and so is its ground: a river valley
along the town's river (about 60 m above sea level), two steep hills inside the county town
(the north-east one rises 95 m, with street grades up to about 15 %, the south-west one
55 m), and mountains rising towards the villages on the ring (up to about 330 m). It exists
so that ``coverage audit --dem model-county`` shows a terrain-aware audit in one command and
the tests have a known surface; every file and output made from it says it is generated.

:func:`hill_elevation` is the surface itself (metres, a smooth function of the model
county's UTM 49N coordinates); :func:`model_county_dem` samples it on a 25 m grid;
:func:`write_model_county_dem` writes that grid as a GeoTIFF (labelled in its description
tag) which :func:`coverage.inputs.terrain.read_dem` reads like any DEM.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..inputs.terrain import DEM
from .model_county import CRS, ORIGIN

__all__ = ["DEM_DESCRIPTION", "DEM_FILE", "hill_elevation", "model_county_dem", "write_model_county_dem"]

#: the label every copy of the generated DEM carries
DEM_DESCRIPTION = "generated hill DEM of the model county (模型县), not measured terrain; heights in metres"
#: the file name ``coverage data`` writes it to
DEM_FILE = "terrain_dem.tif"
PIXEL_M = 25.0
#: the grid's extent, metres from the model county's origin (covers every road with 1.5 km to spare)
_EXTENT = (-9000.0, -9000.0, 11000.0, 11000.0)

#: (x, y, height m, radius m) of the Gaussian hills, metres from the model county's origin
_HILLS = ((1800.0, 1450.0, 95.0, 380.0), (450.0, 350.0, 55.0, 300.0), (-3500.0, 4200.0, 120.0, 1200.0),
          (5200.0, -2600.0, 150.0, 1500.0), (4800.0, 5200.0, 90.0, 1000.0))  # fmt: skip


def hill_elevation(xy: np.ndarray) -> np.ndarray:
    """Height (m) of the generated ground at UTM 49N coordinates ``xy`` (n × 2)."""
    p = np.asarray(xy, dtype=np.float64).reshape(-1, 2) - np.asarray(ORIGIN)
    x, y = p[:, 0], p[:, 1]
    z = 60.0 + 0.012 * np.abs(y - 900.0)  # the river valley, rising gently on both banks
    r = np.hypot(x - 1200.0, y - 900.0)
    z = z + 180.0 * (1.0 - np.exp(-((r / 5000.0) ** 2)))  # mountains towards the villages
    for hx, hy, h, s in _HILLS:
        z = z + h * np.exp(-((x - hx) ** 2 + (y - hy) ** 2) / (2.0 * s * s))
    return np.asarray(z, dtype=np.float64)


def model_county_dem(pixel_m: float = PIXEL_M) -> DEM:
    """The generated ground on a ``pixel_m`` grid (UTM 49N), as a :class:`DEM` in memory."""
    from affine import Affine

    x0, y0, x1, y1 = _EXTENT
    w, h = round((x1 - x0) / pixel_m), round((y1 - y0) / pixel_m)
    left, top = ORIGIN[0] + x0, ORIGIN[1] + y1
    cx = left + (np.arange(w) + 0.5) * pixel_m
    cy = top - (np.arange(h) + 0.5) * pixel_m
    gx, gy = np.meshgrid(cx, cy)
    z = hill_elevation(np.column_stack([gx.ravel(), gy.ravel()])).reshape(h, w).astype(np.float32).astype(np.float64)
    transform = Affine(pixel_m, 0.0, left, 0.0, -pixel_m, top)
    return DEM("model-county", z, transform, CRS, DEM_DESCRIPTION, {"description": DEM_DESCRIPTION})


def write_model_county_dem(path: str | Path, *, overwrite: bool = True) -> Path:
    """Write the generated DEM as a compressed float32 GeoTIFF (written to a temporary file
    and renamed; an existing file is replaced only with ``overwrite``)."""
    import rasterio

    from ..publish.atomic import atomic_path

    dem = model_county_dem()
    h, w = dem.z.shape
    with atomic_path(path, overwrite=overwrite) as tmp:
        profile = {"driver": "GTiff", "width": w, "height": h, "count": 1, "dtype": "float32", "crs": dem.crs,
                   "transform": dem.transform, "compress": "deflate", "predictor": 3, "tiled": True,
                   "blockxsize": 256, "blockysize": 256, "nodata": -9999.0}  # fmt: skip
        with rasterio.open(tmp, "w", **profile) as dst:
            dst.write(dem.z.astype(np.float32), 1)
            dst.update_tags(TIFFTAG_IMAGEDESCRIPTION=DEM_DESCRIPTION, description=DEM_DESCRIPTION, units="metre")
            dst.set_band_description(1, "elevation (generated, not measured)")
    return Path(path)
