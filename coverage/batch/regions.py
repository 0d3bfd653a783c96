"""The regions of a batch (counties, districts, townships) and which homes each holds.

Regions come either as polygons (:func:`regions_from_polygons`: a county layer read with
:func:`coverage.inputs.points.read_zones`) or as a column of the demand layer
(:func:`regions_from_column`: every distinct value is a region; its outline for the halo
is the convex hull of its homes). :func:`assign_homes` puts every home in exactly one
region: homes in two overlapping regions are an error naming both regions and a home;
homes in none are listed (never dropped silently) in the batch's ``outside_regions.csv``.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..errors import InputFileError

__all__ = ["Regions", "assign_homes", "regions_from_column", "regions_from_polygons", "slug"]

logger = logging.getLogger(__name__)

#: a region's folder and partition name: its position and a safe form of its id
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def slug(position: int, region_id: str) -> str:
    """A file-system-safe folder name for a region (hostile ids never reach a path)."""
    tail = _UNSAFE.sub("_", str(region_id)).strip("_")[:40]
    return f"{position:04d}" + (f"-{tail}" if tail else "")


@dataclass(frozen=True)
class Regions:
    """The regions of a batch: ids, names, outlines (EPSG:4326) and folder names.

    ``source`` names the file or column they came from (for messages); ``rows`` the
    feature number of each region in that file (or -1 for regions from a column)."""

    ids: np.ndarray
    names: np.ndarray
    geometry: gpd.GeoSeries
    source: str
    rows: np.ndarray
    from_column: str | None = None

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def slugs(self) -> list[str]:
        return [slug(i, rid) for i, rid in enumerate(self.ids)]

    def frame(self) -> gpd.GeoDataFrame:
        """The regions as a GeoDataFrame (``region_id``, ``region_name``, ``slug``)."""
        return gpd.GeoDataFrame({"region_id": self.ids, "region_name": self.names, "slug": self.slugs},
                                geometry=self.geometry.to_numpy(), crs="EPSG:4326")  # fmt: skip


def regions_from_polygons(zones: gpd.GeoDataFrame, *, source: str = "regions") -> Regions:
    """Regions from polygons with ``zone_id``/``zone_name`` (:func:`~coverage.inputs.points.read_zones`)."""
    if len(zones) == 0:
        raise InputFileError(f"{source}: the file holds no region polygons. Fix: give a file of county/township polygons")
    z = zones.to_crs("EPSG:4326")
    ids = z["zone_id"].astype(str).to_numpy()
    dup = pd.Series(ids).duplicated(keep=False).to_numpy()
    if dup.any():
        rows = (z["source_row"] if "source_row" in z else pd.Series(np.arange(len(z)))).to_numpy()[dup]
        raise InputFileError(
            f"{source}: region id {ids[dup][0]!r} is used by {int(dup.sum())} features (rows {rows[:5].tolist()}). "
            "Fix: give every region its own id (or dissolve the parts into one MultiPolygon)"
        )
    empty = shapely.is_empty(z.geometry.to_numpy()) | (shapely.area(z.geometry.to_numpy()) == 0)
    if empty.any():
        raise InputFileError(
            f"{source}: region {ids[empty][0]!r} has an empty outline (row {int(np.flatnonzero(empty)[0])}). "
            "Fix: remove it or give its polygon"
        )
    names = z["zone_name"].astype(str).to_numpy() if "zone_name" in z else ids
    rows = z["source_row"].to_numpy() if "source_row" in z else np.arange(len(z))
    return Regions(ids, names, z.geometry.reset_index(drop=True), source, np.asarray(rows))


def regions_from_column(demand: gpd.GeoDataFrame, column: str, *, source: str = "demand") -> Regions:
    """One region per distinct value of ``demand[column]``; its outline (for the halo) is the
    convex hull of its homes."""
    if column not in demand.columns:
        raise InputFileError(
            f"{source}: region column {column!r} not found; columns are {list(demand.columns)}. "
            "Fix: pass an existing column to --region-column"
        )
    pts = demand.to_crs("EPSG:4326")
    key = pts[column]
    named = key.notna().to_numpy()
    if not named.any():
        raise InputFileError(f"{source}: column {column!r} names no region (all empty). Fix: fill it or give --regions")
    # one pass: the homes sorted by region, each region's run of them made into one hull
    names = key[named].astype(str).to_numpy()
    ids, inverse = np.unique(names, return_inverse=True)  # sorted, as before
    order = np.argsort(inverse, kind="stable")
    xy = shapely.get_coordinates(pts.geometry.to_numpy()[named])[order]
    bounds = np.searchsorted(inverse[order], np.arange(len(ids) + 1))
    hulls = [shapely.convex_hull(shapely.multipoints(xy[bounds[i] : bounds[i + 1]])) for i in range(len(ids))]
    arr = np.asarray(ids, dtype=object)
    return Regions(arr, arr, gpd.GeoSeries(hulls, crs="EPSG:4326"), f"{source} column {column!r}", np.full(len(ids), -1),
                   from_column=column)  # fmt: skip


def _projected(regions: Regions, crs: str) -> list:
    return list(regions.geometry.to_crs(crs).to_numpy())


def assign_homes(regions: Regions, demand: gpd.GeoDataFrame, xy: np.ndarray, crs: str) -> np.ndarray:
    """The region (position) of every home, -1 for none.

    ``xy`` are the homes' coordinates in ``crs`` (the network's metric CRS). Raises
    :class:`~coverage.errors.InputFileError` when regions overlap on a home."""
    if regions.from_column is not None:
        key = demand[regions.from_column]
        pos = pd.Series(np.arange(len(regions)), index=regions.ids)
        out = pos.reindex(key.astype(str).where(key.notna(), None)).to_numpy()
        return np.where(np.isnan(out), -1, out).astype(np.int64)
    out = np.full(len(xy), -1, dtype=np.int64)
    order = np.argsort(xy[:, 0])  # any order of equal x will do (each home is tested, not ranked)
    xs = xy[order, 0]
    geoms = _projected(regions, crs)
    for r, geom in enumerate(geoms):
        minx, miny, maxx, maxy = geom.bounds
        lo, hi = np.searchsorted(xs, minx, "left"), np.searchsorted(xs, maxx, "right")
        cand = order[lo:hi]
        cand = cand[(xy[cand, 1] >= miny) & (xy[cand, 1] <= maxy)]
        shapely.prepare(geom)
        inside = cand[shapely.contains_xy(geom, xy[cand, 0], xy[cand, 1])]
        clash = inside[out[inside] >= 0]
        for other in np.unique(out[clash]).tolist():
            _check_overlap(regions, geoms, int(other), r, clash[out[clash] == other])
        inside = inside[out[inside] < 0]  # a home on a sliver of two regions stays in the first
        out[inside] = r
    _on_boundaries(out, xy, geoms)
    return out


#: two regions may share a sliver this thin (numerical noise of shared boundaries drawn
#: twice, or reprojected): its area is at most this share of the smaller region
SLIVER_SHARE = 1e-6


def _check_overlap(regions: Regions, geoms: list, a: int, b: int, homes: np.ndarray) -> None:
    """Refuse two regions that truly overlap where homes are; a sliver (shared boundaries
    that differ by rounding) is not an overlap: its homes stay in the region listed first."""
    area = float(shapely.area(shapely.intersection(geoms[a], geoms[b])))
    if area <= SLIVER_SHARE * min(float(shapely.area(geoms[a])), float(shapely.area(geoms[b]))):
        logger.debug("regions %r and %r share a sliver of %.3g m²; %d homes on it go to %r",
                     regions.ids[a], regions.ids[b], area, len(homes), regions.ids[a])  # fmt: skip
        return
    raise InputFileError(
        f"{regions.source}: regions {regions.ids[a]!r} (row {regions.rows[a]}) and {regions.ids[b]!r} (row {regions.rows[b]}) "
        f"overlap ({area / 1e6:,.3f} km²): {len(homes)} demand points lie in both (e.g. demand row {int(homes[0])}). "
        "Fix: make the regions disjoint (clean the shared boundaries)"
    )


def _on_boundaries(out: np.ndarray, xy: np.ndarray, geoms: list) -> None:
    """Homes exactly on a region's boundary (in no interior) go to the first region they touch."""
    left = np.flatnonzero(out < 0)
    for r, geom in enumerate(geoms):
        if len(left) == 0:
            return
        touch = shapely.intersects_xy(geom, xy[left, 0], xy[left, 1])
        out[left[touch]] = r
        left = left[~touch]
