"""Digital elevation models (GeoTIFF) for walking times on real terrain.

:func:`read_dem` reads only the window of the raster that covers the road network (plus a
margin), so a province-wide DEM does not load whole; :meth:`DEM.sampler` turns it into the
elevation function :func:`coverage.engine.terrain.terrain_costs` samples along every edge
(bilinear between pixel centres, NaN outside the raster or on no-data pixels). Any CRS
rasterio knows is accepted (SRTM/Copernicus tiles in EPSG:4326, projected DEMs); heights
are taken as metres.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyproj

from ..engine.network import RoadNetwork
from ..errors import InputFileError

__all__ = ["DEM", "read_dem"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class DEM:
    """A window of a DEM: heights ``z`` (metres, NaN for no data) on the grid ``transform``
    (an affine transform, pixel corners) in ``crs``; ``description`` is the raster's own
    label (its ``TIFFTAG_IMAGEDESCRIPTION`` or ``description`` tag), e.g. the generated
    model-county hill's "generated, not measured"."""

    path: str
    z: np.ndarray
    transform: Any
    crs: str
    description: str = ""
    tags: dict[str, str] = field(default_factory=dict)

    def sample(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Heights at raster-CRS coordinates ``x, y``: bilinear between the four nearest
        pixel centres (the edge pixels' values within half a pixel of the border), NaN
        outside the window or where a needed pixel has no data."""
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        inv = ~self.transform
        col, row = inv * (x, y)
        col = np.asarray(col, dtype=np.float64) - 0.5
        row = np.asarray(row, dtype=np.float64) - 0.5
        h, w = self.z.shape
        inside = (col >= -0.5) & (col <= w - 0.5) & (row >= -0.5) & (row <= h - 0.5)
        col = np.clip(col, 0.0, max(w - 1, 0))
        row = np.clip(row, 0.0, max(h - 1, 0))
        c0 = np.minimum(np.floor(col).astype(np.int64), max(w - 2, 0))
        r0 = np.minimum(np.floor(row).astype(np.int64), max(h - 2, 0))
        c1 = np.minimum(c0 + 1, w - 1)
        r1 = np.minimum(r0 + 1, h - 1)
        fc = col - c0
        fr = row - r0
        z = self.z
        top = z[r0, c0] * (1 - fc) + z[r0, c1] * fc
        bottom = z[r1, c0] * (1 - fc) + z[r1, c1] * fc
        out = top * (1 - fr) + bottom * fr
        return np.where(inside, out, np.nan)

    def sampler(self, crs: str) -> Callable[[np.ndarray], np.ndarray]:
        """The elevation function of metric coordinates in ``crs`` (n × 2 → n heights)."""
        t = pyproj.Transformer.from_crs(crs, self.crs, always_xy=True)

        def elevation(xy: np.ndarray) -> np.ndarray:
            xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
            x, y = t.transform(xy[:, 0], xy[:, 1])
            return self.sample(np.asarray(x), np.asarray(y))

        return elevation

    def record(self) -> dict[str, object]:
        """Where the heights came from, for output metadata."""
        h, w = self.z.shape
        return {"dem": Path(self.path).name, "dem_crs": self.crs, "dem_window_pixels": [int(w), int(h)],
                "dem_pixel_size": [abs(float(self.transform.a)), abs(float(self.transform.e))],
                "dem_description": self.description}  # fmt: skip


def _bounds(network: RoadNetwork, margin_m: float) -> tuple[float, float, float, float]:
    """The network's extent in its metric CRS, widened by ``margin_m``."""
    lo = network.coord_xy.min(axis=0) - margin_m
    hi = network.coord_xy.max(axis=0) + margin_m
    return float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])


def read_dem(path: str | Path, network: RoadNetwork, *, margin_m: float = 500.0) -> DEM:
    """Read the part of the GeoTIFF DEM ``path`` covering ``network`` (plus ``margin_m``).

    Raises :class:`~coverage.errors.InputFileError` naming the file when it cannot be read,
    has no CRS, is rotated, or does not overlap the network.
    """
    from rasterio.errors import RasterioError

    p = Path(path)
    if not p.is_file():
        raise InputFileError(f"{p}: no such DEM file. Fix: give the path of a GeoTIFF elevation model (--dem)")
    try:
        dem = _read(p, network, margin_m)
    except InputFileError:
        raise
    except (RasterioError, pyproj.exceptions.ProjError, ValueError, TypeError, OSError) as exc:
        raise InputFileError(f"{p}: cannot read the DEM ({exc}). Fix: give a GeoTIFF elevation model (--dem)") from exc
    h, w = dem.z.shape
    logger.info("%s: read a %d x %d pixel window of the DEM (%s)", p, w, h, dem.crs)
    return dem


def _read(p: Path, network: RoadNetwork, margin_m: float) -> DEM:
    import rasterio
    from rasterio.warp import transform_bounds
    from rasterio.windows import Window, from_bounds

    with rasterio.open(p) as src:
        if src.crs is None:
            raise InputFileError(f"{p}: the DEM has no coordinate reference system. Fix: set one (gdal_edit.py -a_srs EPSG:4326 {p.name})")
        tr = src.transform
        if tr.b != 0 or tr.d != 0:
            raise InputFileError(f"{p}: the DEM grid is rotated. Fix: warp it to a north-up grid (gdalwarp)")
        crs = src.crs.to_string()
        left, bottom, right, top = transform_bounds(network.crs, src.crs, *_bounds(network, margin_m), densify_pts=21)
        win = from_bounds(left, bottom, right, top, transform=tr)
        c0 = max(int(np.floor(win.col_off)) - 1, 0)
        r0 = max(int(np.floor(win.row_off)) - 1, 0)
        c1 = min(int(np.ceil(win.col_off + win.width)) + 1, src.width)
        r1 = min(int(np.ceil(win.row_off + win.height)) + 1, src.height)
        if c1 <= c0 or r1 <= r0:
            sb = src.bounds
            raise InputFileError(
                f"{p}: the DEM (bounds {sb.left:.6g}, {sb.bottom:.6g}, {sb.right:.6g}, {sb.top:.6g} in {crs}) does not "
                f"cover the road network ({network.source or 'network'}). Fix: give a DEM of the study area"
            )
        window = Window(c0, r0, c1 - c0, r1 - r0)
        z = src.read(1, window=window, masked=True)
        heights = np.asarray(np.ma.filled(z.astype(np.float64), np.nan))
        tags = {str(k): str(v) for k, v in src.tags().items()}
        desc = tags.get("TIFFTAG_IMAGEDESCRIPTION") or tags.get("description") or (src.descriptions[0] or "")
        return DEM(str(p), heights, src.window_transform(window), crs, desc, tags)
