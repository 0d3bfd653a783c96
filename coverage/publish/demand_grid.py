"""Demand aggregated on a regular metric grid, for maps of very many demand points.

A population raster gives hundreds of thousands of demand points; an interactive map that
draws each with its popup (~1.8 KB a point) becomes hundreds of MB that no browser opens.
Above a threshold the maps draw square cells of a regular grid instead
(:func:`demand_grid`): the cell size is the smallest of :data:`CELL_STEPS_M` that keeps the
number of occupied cells within a budget, so the layer's size is bounded whatever the
number of points. Each cell holds its points' count and weight per coverage category
(:data:`CATEGORIES`, the categories the points are coloured by) and its false-coverage count.

The grid is square in a metric CRS (the audit's own projected CRS when it has one, else the
UTM zone of the points), its lines at multiples of the cell size (origin 0, 0), so a point's
cell is ``floor(x / cell), floor(y / cell)``: checkable by hand.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pyproj

from ..engine.whatif import STATUS_UNREACHABLE
from ..errors import ParameterError
from ._html import flag

__all__ = ["CATEGORIES", "CELL_STEPS_M", "DemandGrid", "categories", "cell_rings", "choose_cell", "demand_grid", "flag_array", "metric_crs", "metric_xy", "point_cells"]

logger = logging.getLogger(__name__)

#: the coverage categories, in the order of the map's layers (index = category code)
CATEGORIES = ("both", "partial", "none", "unreachable")
#: the cell sizes tried, smallest first (metres)
CELL_STEPS_M = (100.0, 250.0, 500.0, 1_000.0, 2_000.0, 5_000.0, 10_000.0, 20_000.0, 50_000.0, 100_000.0)


def flag_array(values: Any) -> np.ndarray:
    """:func:`coverage.publish._html.flag` of each value (missing: False), vectorised for
    boolean columns."""
    arr = np.asarray(values)
    if arr.dtype == bool:
        return arr
    return np.fromiter((flag(v) for v in arr), dtype=bool, count=len(arr))


def categories(demand: Any) -> np.ndarray:
    """The category code (index into :data:`CATEGORIES`) of each demand row: the same as
    :func:`coverage.publish._html.demand_category` row by row, vectorised."""
    unreachable = np.asarray(demand["status"].astype(str) == STATUS_UNREACHABLE, dtype=bool)
    r, t = flag_array(demand["covered_radius"]), flag_array(demand["covered_time"])
    code = np.where(r & t, 0, np.where(r | t, 1, 2)).astype(np.int8)
    code[unreachable] = 3
    return code


def metric_crs(points: gpd.GeoDataFrame, meta: dict | None = None) -> pyproj.CRS:
    """The CRS the grid is drawn in: ``meta["crs"]`` when it is projected in metres, else the
    UTM zone of ``points`` (any CRS)."""
    text = (meta or {}).get("crs")
    if text:
        try:
            crs = pyproj.CRS.from_user_input(text)
        except pyproj.exceptions.CRSError:
            crs = None
        if crs is not None and crs.is_projected and all(a.unit_name in ("metre", "meter") for a in crs.axis_info[:2]):
            return crs
    utm = points.estimate_utm_crs() if len(points) else None
    if utm is None:
        raise ParameterError("demand grid: no points to choose a metric CRS from.")
    return utm


def metric_xy(points: gpd.GeoDataFrame, crs: pyproj.CRS) -> np.ndarray:
    """The (n, 2) coordinates of ``points`` (their representative points) in ``crs``."""
    g = points.geometry
    if not (g.geom_type == "Point").all():
        g = g.representative_point()
    return np.asarray(gpd.GeoSeries(g, crs=points.crs).to_crs(crs).get_coordinates(), dtype=float)


def _cell_keys(xy: np.ndarray, cell_m: float) -> np.ndarray:
    return np.floor(xy / cell_m).astype(np.int64)


def choose_cell(xy: np.ndarray, cell_limit: int, steps: tuple[float, ...] = CELL_STEPS_M) -> float:
    """The smallest of ``steps`` whose grid has at most ``cell_limit`` occupied cells (the
    largest step if none does)."""
    if cell_limit < 1:
        raise ParameterError(f"cell_limit={cell_limit!r} must be a positive integer.")
    for step in steps:
        keys = _cell_keys(xy, step)
        if len(np.unique(keys, axis=0)) <= cell_limit:
            return float(step)
    logger.warning("demand grid: even %g m cells exceed the %d-cell budget", steps[-1], cell_limit)
    return float(steps[-1])


@dataclass(frozen=True)
class DemandGrid:
    """Demand aggregated on a square grid (see the module docstring).

    Attributes
    ----------
    cell_m
        The cell size (metres).
    crs
        The metric CRS of the grid.
    keys
        (cells, 2) integer cell indices ``floor(x / cell_m), floor(y / cell_m)``, sorted by
        row (y) then column (x).
    counts, weights
        (cells, 4): points and their weight per category of :data:`CATEGORIES`.
    false
        (cells,): points with false coverage (straight-line circle yes, roads no).
    extra
        Counts per cell of other flag columns (``terrain_out``) when present.
    cell_of
        (points,): each point's cell (row of ``keys``).
    """

    cell_m: float
    crs: pyproj.CRS
    keys: np.ndarray
    counts: np.ndarray
    weights: np.ndarray
    false: np.ndarray
    extra: dict[str, np.ndarray]
    cell_of: np.ndarray

    def __len__(self) -> int:
        return len(self.keys)

    def dominant(self) -> tuple[np.ndarray, np.ndarray]:
        """Each cell's category holding the largest weight (by count where the cell weighs
        nothing; ties: the first in :data:`CATEGORIES`) and that category's share."""
        total_w = self.weights.sum(axis=1)
        score = np.where(total_w[:, None] > 0, self.weights, self.counts.astype(float))
        top = np.argmax(score, axis=1)
        total = score.sum(axis=1)
        share = np.divide(score[np.arange(len(top)), top], total, out=np.ones(len(top)), where=total > 0)
        return top, share

    def rings_wgs84(self, idx: np.ndarray | None = None) -> list[list[list[float]]]:
        """The cells' outlines as closed GeoJSON rings of [lon, lat] (rounded to 1e-6 degree)."""
        return cell_rings(self.keys if idx is None else self.keys[idx], self.cell_m, self.crs)


def cell_rings(keys: np.ndarray, cell_m: float, crs: pyproj.CRS) -> list[list[list[float]]]:
    """The outlines of grid cells ``keys`` ((n, 2) indices) of ``cell_m`` metres in ``crs``, as
    closed GeoJSON rings of [lon, lat] rounded to 1e-6 degree (~0.1 m)."""
    c = cell_m
    x0, y0 = keys[:, 0] * c, keys[:, 1] * c
    xs = np.column_stack([x0, x0 + c, x0 + c, x0, x0])
    ys = np.column_stack([y0, y0, y0 + c, y0 + c, y0])
    tr = pyproj.Transformer.from_crs(crs, 4326, always_xy=True)
    lon, lat = tr.transform(xs.ravel(), ys.ravel())
    lon = np.round(np.asarray(lon).reshape(xs.shape), 6)
    lat = np.round(np.asarray(lat).reshape(xs.shape), 6)
    return [[[float(a), float(b)] for a, b in zip(lo, la, strict=True)] for lo, la in zip(lon, lat, strict=True)]


def point_cells(points: gpd.GeoDataFrame, meta: dict | None = None, *, cell_limit: int = 20_000,
                cell_m: float | None = None) -> tuple[np.ndarray, np.ndarray, float, pyproj.CRS]:  # fmt: skip
    """Any points counted on the grid: the occupied cells' keys (sorted by row, then column),
    their point counts, the cell size (None: :func:`choose_cell`) and the metric CRS."""
    crs = metric_crs(points, meta)
    xy = metric_xy(points, crs)
    if cell_m is None:
        cell_m = choose_cell(xy, cell_limit)
    keys, counts = np.unique(_cell_keys(xy, cell_m)[:, ::-1], axis=0, return_counts=True)
    return keys[:, ::-1], counts, float(cell_m), crs


def demand_grid(
    demand: gpd.GeoDataFrame, meta: dict | None = None, *, cell_limit: int = 20_000, cell_m: float | None = None
) -> DemandGrid:
    """Aggregate audit demand points (the columns of :class:`coverage.publish.maps.MapLayers`
    ``demand``) on a square grid of ``cell_m`` metres (None: :func:`choose_cell` within
    ``cell_limit`` occupied cells)."""
    if not len(demand):
        raise ParameterError("demand grid: no demand points.")
    crs = metric_crs(demand, meta)
    xy = metric_xy(demand, crs)
    if cell_m is None:
        cell_m = choose_cell(xy, cell_limit)
    keys, cell_of = np.unique(_cell_keys(xy, cell_m)[:, ::-1], axis=0, return_inverse=True)  # sorted by (y, x)
    keys = keys[:, ::-1]
    cell_of = np.asarray(cell_of).ravel()
    n = len(keys)
    k = len(CATEGORIES)
    cat = categories(demand).astype(np.int64)
    w = demand["weight"].to_numpy(dtype=float)
    counts = np.bincount(cell_of * k + cat, minlength=n * k).reshape(n, k)
    weights = np.bincount(cell_of * k + cat, weights=w, minlength=n * k).reshape(n, k)
    false = np.bincount(cell_of, weights=flag_array(demand["false_coverage"]), minlength=n).astype(np.int64)
    extra = {}
    if "terrain_out" in demand.columns:
        extra["terrain_out"] = np.bincount(cell_of, weights=flag_array(demand["terrain_out"]), minlength=n).astype(np.int64)
    logger.info("demand grid: %d points in %d cells of %g m", len(demand), n, cell_m)
    return DemandGrid(float(cell_m), crs, keys, counts, weights, false, extra, cell_of)
