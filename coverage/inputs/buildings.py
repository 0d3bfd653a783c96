"""Dasymetric placement: each raster cell's people spread over the homes inside it.

A population cell of 100 m holds a village's houses on one side and fields on the other; its
centre may sit in the fields, 300 m from the road the houses are on. :func:`dasymetric_demand`
moves each cell's people onto the residential buildings of an OpenStreetMap extract (the same
file as the road network), **keeping every cell's total**:

* **Buildings**: closed ways and multipolygons tagged ``building=*`` except the values in
  :data:`NON_RESIDENTIAL` (shops, schools, sheds, garages ...); ``building=yes`` counts as
  residential (most Chinese village houses are mapped so). A building belongs to the cell
  holding its footprint's representative point. Its weight is footprint area (m², on the
  WGS-84 ellipsoid) × ``building:levels`` where the tag holds a number from 1 to 200, else
  ``default_levels`` (1: a building of unknown height counts by its footprint).
* **Residential land use** (``landuse=residential``) takes the people of a cell holding no
  residential building: the parts of the land-use polygons inside the cell, by area, each at
  its representative point.
* A cell with neither keeps its people at its centre (``placement`` ``"cell centre"``).

A cell's people go to its buildings in proportion to their weights; the last building of
each cell takes the remainder, so each cell's sum is its people up to floating-point rounding
(the tests check 1e-9 relative). Every point keeps ``cell_row``/``cell_col`` and the cell's id
(``cell_id``); ``placement`` says ``"building"``, ``"residential land"`` or ``"cell centre"``.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from ..errors import InputFileError, NetworkError

__all__ = ["DEFAULT_LEVELS", "NON_RESIDENTIAL", "dasymetric_demand", "read_buildings"]

logger = logging.getLogger(__name__)

#: levels of a building without a usable ``building:levels`` tag
DEFAULT_LEVELS = 1.0
#: ``building=*`` values that house nobody (OSM wiki "Key:building", non-residential classes)
NON_RESIDENTIAL = frozenset({
    "commercial", "industrial", "kiosk", "office", "retail", "supermarket", "warehouse", "hotel",
    "cathedral", "chapel", "church", "monastery", "mosque", "religious", "shrine", "synagogue", "temple",
    "civic", "college", "fire_station", "government", "hospital", "kindergarten", "museum", "public", "school",
    "toilets", "train_station", "transportation", "university", "barn", "conservatory", "cowshed",
    "farm_auxiliary", "greenhouse", "slurry_tank", "stable", "sty", "livestock", "grandstand", "pavilion",
    "riding_hall", "sports_hall", "sports_centre", "stadium", "hangar", "hut", "shed", "carport", "garage",
    "garages", "parking", "digester", "service", "tech_cab", "transformer_tower", "water_tower", "storage_tank",
    "silo", "bridge", "bunker", "construction", "container", "gatehouse", "roof", "ruins", "tent", "tower",
    "power", "no",
})  # fmt: skip
_LEVELS = re.compile(r"^\s*(\d+(?:\.\d+)?)")
_GEOD = pyproj.Geod(ellps="WGS84")


def _levels(text: str | None) -> float:
    """``building:levels`` as a number (the first of ``"5;6"``), NaN when absent or unusable."""
    m = _LEVELS.match(text or "")
    if not m:
        return np.nan
    v = float(m.group(1))
    return v if 1 <= v <= 200 else np.nan


def read_buildings(path: str | os.PathLike[str], *, bbox: tuple[float, float, float, float] | None = None) -> gpd.GeoDataFrame:
    """Residential buildings and residential land use of an OSM extract (.osm, .osm.bz2, .osm.pbf);
    with ``bbox`` (lon/lat: west, south, east, north) only the areas whose first node lies in it
    (a province extract is not kept whole for one county's cells).

    Returns
    -------
    geopandas.GeoDataFrame
        ``osm_id`` (``w123``/``r45``), ``kind`` (``"building"`` or ``"landuse"``), ``building``
        (the tag's value), ``levels`` (NaN when unknown), ``area_m2`` (on the ellipsoid) and
        (multi)polygon geometry in EPSG:4326.
    """
    import osmium

    p = Path(path)
    if not p.exists():
        raise InputFileError(f"{p}: file not found (OSM extract for the buildings). Fix: check the path")
    rows: list[tuple[str, str, str, float, bytes]] = []
    wkb = osmium.geom.WKBFactory()
    try:
        fp = osmium.FileProcessor(str(p)).with_areas().with_filter(osmium.filter.KeyFilter("building", "landuse"))
        for obj in fp:
            if not obj.is_area() or (bbox is not None and not _first_node_in(obj, bbox)):
                continue
            tags = obj.tags
            b = tags.get("building")
            if b is not None and b not in NON_RESIDENTIAL:
                kind = "building"
            elif b is None and tags.get("landuse") == "residential":
                kind = "landuse"
            else:
                continue
            try:
                geom = wkb.create_multipolygon(obj)
            except RuntimeError:  # an area missing nodes in the extract
                continue
            oid = f"{'w' if obj.from_way() else 'r'}{obj.orig_id()}"
            rows.append((oid, kind, b or "", _levels(tags.get("building:levels")), bytes.fromhex(geom)))
    except RuntimeError as exc:
        raise NetworkError(f"{p}: cannot parse the OSM file ({exc}). Fix: the file is malformed or truncated; download the extract again") from exc
    frame = pd.DataFrame(rows, columns=["osm_id", "kind", "building", "levels", "wkb"])
    geoms = shapely.from_wkb(frame.pop("wkb").to_numpy()) if len(frame) else np.array([], dtype=object)
    out = gpd.GeoDataFrame(frame, geometry=geoms, crs="EPSG:4326")
    out["area_m2"] = [abs(_GEOD.geometry_area_perimeter(g)[0]) for g in out.geometry]
    logger.info("%s: %d residential buildings (%d with building:levels), %d residential land-use areas", p,
                int((out["kind"] == "building").sum()), int(out["levels"].notna().sum()), int((out["kind"] == "landuse").sum()))  # fmt: skip
    return out


def _first_node_in(area: Any, bbox: tuple[float, float, float, float]) -> bool:
    ring = next(iter(area.outer_rings()), None)
    if ring is None or len(ring) == 0 or not ring[0].location.valid():
        return False
    n = ring[0]
    return bool(bbox[0] <= n.lon <= bbox[2] and bbox[1] <= n.lat <= bbox[3])


def _cells_of(points_ll: np.ndarray, grid: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Raster row and column of WGS-84 points (``grid`` as in ``attrs["raster_grid"]``)."""
    crs = pyproj.CRS.from_user_input(grid["crs"])
    x, y = points_ll[:, 0], points_ll[:, 1]
    if not crs.equals(pyproj.CRS.from_epsg(4326), ignore_axis_order=True):
        x, y = (np.asarray(v) for v in pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(x, y))
    a, _b, c, _d, e, f = grid["transform"]
    return np.floor((y - f) / e).astype(np.int64), np.floor((x - c) / a).astype(np.int64)


def _cell_boxes_ll(rows: np.ndarray, cols: np.ndarray, grid: dict[str, Any]) -> np.ndarray:
    """The cells as WGS-84 polygons (edges densified to follow a projected grid)."""
    a, _b, c, _d, e, f = grid["transform"]
    boxes = shapely.box(c + cols * a, f + (rows + 1) * e, c + (cols + 1) * a, f + rows * e)
    crs = pyproj.CRS.from_user_input(grid["crs"])
    if crs.equals(pyproj.CRS.from_epsg(4326), ignore_axis_order=True):
        return boxes
    t = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    dense = shapely.segmentize(boxes, abs(a) / 4)
    return shapely.transform(dense, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))


def _landuse_pieces(cells: pd.DataFrame, landuse: gpd.GeoDataFrame, grid: dict[str, Any]) -> pd.DataFrame:
    """Parts of the residential land use inside the cells given: cell position, area, point."""
    if len(cells) == 0 or len(landuse) == 0:
        return pd.DataFrame(columns=["cell", "w", "lon", "lat", "osm_id"])
    boxes = _cell_boxes_ll(cells["cell_row"].to_numpy(), cells["cell_col"].to_numpy(), grid)
    tree = shapely.STRtree(boxes)
    lu_idx, box_idx = tree.query(np.asarray(landuse.geometry.values), predicate="intersects")
    pieces = shapely.intersection(np.asarray(landuse.geometry.values)[lu_idx], boxes[box_idx])
    area = np.array([abs(_GEOD.geometry_area_perimeter(g)[0]) for g in pieces])
    keep = area > 0
    pts = shapely.point_on_surface(pieces[keep])
    return pd.DataFrame({"cell": cells.index.to_numpy()[box_idx[keep]], "w": area[keep], "lon": shapely.get_x(pts),
                         "lat": shapely.get_y(pts), "osm_id": landuse["osm_id"].to_numpy()[lu_idx[keep]]})  # fmt: skip


def _split(people: np.ndarray, cell: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Each cell's ``people`` over its targets by weight ``w``; the last target of a cell takes
    the remainder (``cell`` sorted)."""
    wsum = np.bincount(cell, weights=w, minlength=len(people))
    share = people[cell] * w / wsum[cell]
    last = np.r_[cell[1:] != cell[:-1], True]
    before = np.bincount(cell[~last], weights=share[~last], minlength=len(people))
    share[last] = people[cell[last]] - before[cell[last]]
    return share


def dasymetric_demand(  # long: buildings, then land use for the cells without, then the rest; one table out
    cells: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame | str | os.PathLike[str],
    *,
    default_levels: float = DEFAULT_LEVELS,
    boundary: Any = None,
) -> gpd.GeoDataFrame:
    """Spread each cell of ``cells`` (:func:`~coverage.inputs.raster.demand_from_rasters`) over
    the residential buildings in it (``buildings``: :func:`read_buildings`, or an OSM file).

    Returns the demand points (EPSG:4326): ``id`` (``<cell id>-b<k>``, or the cell id at a centre), the weight
    column, ``cell_id``, ``cell_row``, ``cell_col``, ``placement``, ``osm_id``; each cell's
    weights sum to its people. ``attrs`` are those of ``cells`` plus ``dasymetric`` (counts).
    ``boundary`` (a WGS-84 polygon, the one the cells were selected with): only the buildings
    and residential land inside it take people (a cell cut by it keeps its people inside).
    """
    grid = cells.attrs.get("raster_grid")
    wcol = cells.attrs.get("weight_column", "elderly")
    if grid is None:
        raise InputFileError("dasymetric placement needs the cells of demand_from_rasters (attrs['raster_grid'] is missing)")
    if not (default_levels > 0):
        raise InputFileError(f"default_levels={default_levels!r} must be positive (levels of a building without building:levels)")
    if isinstance(buildings, (str, os.PathLike)):
        w, s_, e, n = cells.total_bounds
        pad = 0.02  # degrees (~2 km): buildings and land use reaching into the cells from outside
        b = read_buildings(buildings, bbox=(w - pad, s_ - pad, e + pad, n + pad))
    else:
        b = buildings
    c = pd.DataFrame({"cell_row": cells["cell_row"].to_numpy(), "cell_col": cells["cell_col"].to_numpy(),
                      "people": cells[wcol].to_numpy(float), "cell_id": cells["id"].astype(str).to_numpy()})  # fmt: skip
    c["lon"], c["lat"] = cells.geometry.x.to_numpy(), cells.geometry.y.to_numpy()
    pos = pd.Series(np.arange(len(c)), index=pd.MultiIndex.from_arrays([c["cell_row"], c["cell_col"]]))
    homes, landuse = b[b["kind"] == "building"], b[b["kind"] == "landuse"]
    if boundary is not None:
        shapely.prepare(boundary)
        rp = shapely.point_on_surface(np.asarray(homes.geometry.values))
        homes = homes[shapely.contains_xy(boundary, shapely.get_x(rp), shapely.get_y(rp))]
        landuse = landuse.set_geometry(shapely.intersection(np.asarray(landuse.geometry.values), boundary))
        landuse = landuse[~landuse.geometry.is_empty]
    pts = shapely.point_on_surface(np.asarray(homes.geometry.values))
    r, k = _cells_of(np.column_stack([shapely.get_x(pts), shapely.get_y(pts)]), grid)
    cell = pos.reindex(pd.MultiIndex.from_arrays([r, k])).to_numpy()
    on = np.isfinite(cell)
    levels = homes["levels"].to_numpy(float)
    targets = pd.DataFrame({"cell": cell[on].astype(np.int64), "w": homes["area_m2"].to_numpy(float)[on] * np.where(np.isnan(levels), default_levels, levels)[on],
                            "lon": shapely.get_x(pts)[on], "lat": shapely.get_y(pts)[on], "osm_id": homes["osm_id"].to_numpy()[on],
                            "placement": "building"})  # fmt: skip
    targets = targets[targets["w"] > 0]
    free = c.loc[~np.isin(np.arange(len(c)), targets["cell"].to_numpy())]
    land = _landuse_pieces(free, landuse, grid).assign(placement="residential land")
    land = land[land["w"] > 0]
    placed = np.union1d(targets["cell"].to_numpy(), land["cell"].to_numpy()).astype(np.int64)
    rest = c.loc[~np.isin(np.arange(len(c)), placed)]
    centre = pd.DataFrame({"cell": rest.index.to_numpy(), "w": 1.0, "lon": rest["lon"].to_numpy(), "lat": rest["lat"].to_numpy(),
                           "osm_id": "", "placement": "cell centre"})  # fmt: skip
    t = pd.concat([x for x in (targets, land, centre) if len(x)], ignore_index=True).sort_values(["cell", "w"], kind="stable")
    cell_pos = t["cell"].to_numpy(np.int64)
    people = _split(c["people"].to_numpy(float), cell_pos, t["w"].to_numpy(float))
    k_in_cell = t.groupby("cell").cumcount().to_numpy()
    cid = c["cell_id"].to_numpy()[cell_pos]
    ids = np.where(t["placement"].to_numpy() == "cell centre", cid, np.char.add(np.char.add(cid.astype(str), "-b"), k_in_cell.astype(str)))
    out = gpd.GeoDataFrame(
        {"id": ids, "name": ids, wcol: people, "cell_id": cid, "cell_row": c["cell_row"].to_numpy()[cell_pos],
         "cell_col": c["cell_col"].to_numpy()[cell_pos], "placement": t["placement"].to_numpy(), "osm_id": t["osm_id"].astype(str).to_numpy()},
        geometry=gpd.points_from_xy(t["lon"].to_numpy(), t["lat"].to_numpy()), crs="EPSG:4326",
    )  # fmt: skip
    counts = {p: int(n) for p, n in pd.Series(t["placement"]).value_counts().items()}
    cells_by = {p: int(pd.Series(cell_pos[t["placement"].to_numpy() == p]).nunique()) for p in counts}
    out.attrs.update(cells.attrs)
    out.attrs["dasymetric"] = {"points": counts, "cells": cells_by, "default_levels": default_levels}
    logger.info("dasymetric placement: %d cells over %d buildings, %d over residential land, %d kept at their centre",
                cells_by.get("building", 0), counts.get("building", 0), cells_by.get("residential land", 0), cells_by.get("cell centre", 0))  # fmt: skip
    return out.reset_index(drop=True)
