"""Point layers meeting the road network, and the messages that name their rows.

Every stage that puts a user's points on the roads (the audit, cost tables, site
selection, candidate sites) converts them with :func:`points_xy` and checks them here:
:func:`check_extent` (all outside the network, or latitude and longitude swapped),
:func:`require_reachable` (none near a road), :func:`warn_unreachable` (some too far from
any road), :func:`warn_if_off_road` (systematically off the roads: an undeclared GCJ-02 or
BD-09 layer). Messages name points as the user sees them (:func:`describe_points`: row,
id, name, distance) and the file they came from (:func:`layer_source`).
"""

from __future__ import annotations

import functools
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj

from ..errors import CoordinateError, CRSError, SnapWarning
from .network import RoadNetwork

__all__ = [
    "check_extent",
    "describe_points",
    "layer_source",
    "layer_transformer",
    "points_xy",
    "require_reachable",
    "warn_if_off_road",
    "warn_unreachable",
]


def points_xy(gdf: gpd.GeoDataFrame, crs: str) -> np.ndarray:
    """Point coordinates of a GeoDataFrame in ``crs`` (n × 2)."""
    if gdf.crs is None:
        raise CRSError("a point layer has no CRS; read it with coverage.inputs.points.read_points or set .crs")
    g = gdf.geometry
    if len(g) and not (g.geom_type == "Point").all():
        g = g.representative_point()
    t = layer_transformer(gdf.crs.to_wkt(), str(crs))
    x, y = t.transform(g.x.to_numpy(), g.y.to_numpy())
    return np.column_stack([x, y])


@functools.lru_cache(maxsize=64)
def layer_transformer(src_wkt: str, dst: str) -> pyproj.Transformer:
    """The transformer :func:`points_xy` uses from a layer's CRS (its WKT) to ``dst``: one
    per pair of coordinate systems (building one takes ~10 ms)."""
    return pyproj.Transformer.from_crs(pyproj.CRS.from_wkt(src_wkt), dst, always_xy=True)


def warn_if_off_road(access_m: np.ndarray, *, label: str, threshold_m: float = 150.0) -> None:
    """Warn when points sit systematically off the roads (median > ``threshold_m``),
    the signature of GCJ-02/BD-09 coordinates declared as WGS-84."""
    if len(access_m) >= 5:
        med = float(np.median(access_m))
        if med > threshold_m:
            warnings.warn(
                f"{label}: the median distance to the nearest road is {med:.0f} m; the points sit "
                "systematically off the roads. If they come from Amap/Tencent (GCJ-02) or Baidu "
                "(BD-09), declare it: --coord-system gcj02 or bd09 (coord_system='gcj02' or 'bd09' "
                "when reading them in Python)",
                SnapWarning,
                stacklevel=3,
            )


def describe_points(
    gdf: gpd.GeoDataFrame, idx: np.ndarray, *, dist_m: np.ndarray | None = None, limit: int = 8, names: bool = False
) -> str:
    """The points ``idx`` of a layer as the user sees them: ``"row 8 (D7, 2986 m)"``.

    Rows are ``source_row`` (spreadsheet rows, or feature numbers for vector files, as
    :func:`coverage.inputs.points.read_points` records them), else 1-based positions; the id
    (with ``names=True`` followed by the ``name``: ``"row 2 (F9 山里站, 1012 m)"``) and,
    with ``dist_m``, the distance of each point are added.
    """
    idx = np.asarray(idx, dtype=np.int64)
    vector = "geometry" in (gdf.attrs.get("coordinate_columns") or {})
    word = "position" if "source_row" not in gdf else "feature" if vector else "row"
    rows = pd.to_numeric(gdf["source_row"], errors="coerce").to_numpy(float)[idx] if "source_row" in gdf else idx + 1.0
    ids = gdf["id"].astype(str).to_numpy()[idx] if "id" in gdf else None
    if names and "name" in gdf:
        label = gdf["name"].fillna("").astype(str).to_numpy()[idx]
        ids = label if ids is None else np.array([f"{i} {n}".strip() for i, n in zip(ids, label, strict=True)])
    items = []
    for k in range(min(len(idx), limit)):
        extra = [str(ids[k])] if ids is not None else []
        if dist_m is not None:
            extra.append(f"{float(dist_m[idx[k]]):.0f} m")
        # a point added by the program (a gap centre ...) has no row: its position in the layer
        where = f"{word} {int(rows[k])}" if np.isfinite(rows[k]) else f"position {int(idx[k]) + 1}"
        items.append(where + (f" ({', '.join(extra)})" if extra else ""))
    more = f"; ... and {len(idx) - limit} more" if len(idx) > limit else ""
    return "; ".join(items) + more


def layer_source(gdf: gpd.GeoDataFrame, label: str) -> str:
    """The file a layer was read from (``gdf.attrs["source"]``), else ``label``."""
    return str(gdf.attrs.get("source") or label)


def warn_unreachable(gdf: gpd.GeoDataFrame, access_m: np.ndarray, tolerance_m: float, *, label: str, what: str = "flagged unreachable") -> np.ndarray:
    """Warn (:class:`~coverage.errors.SnapWarning`) about points farther than ``tolerance_m``
    from every road, naming their rows, ids and distances; returns their positions.

    Such points are never snapped to a road kilometres away: the audit flags them
    ``"unreachable"`` and the site models leave them out.
    """
    far = np.flatnonzero(np.asarray(access_m) > tolerance_m)
    if len(far):
        warnings.warn(
            f"{layer_source(gdf, label)}: {len(far)} {label} farther than the snap tolerance "
            f"({tolerance_m:g} m) from any road, {what}: {describe_points(gdf, far, dist_m=access_m)}. "
            "Fix: check their coordinates and coordinate system (--coord-system), use a network "
            "that covers them, or raise the snap tolerance (--snap-tolerance; snap_tolerance_m= in Python)",
            SnapWarning,
            stacklevel=3,
        )
    return far


def require_reachable(gdf: gpd.GeoDataFrame | None, access_m: np.ndarray, tolerance_m: float, *, label: str) -> None:
    """Raise :class:`~coverage.errors.CoordinateError` when a non-empty layer has no point
    within ``tolerance_m`` of a road: none could be routed from, so nothing is left to
    audit or choose. The message names every point (row, id, name and its distance to the
    nearest road) and the snap-tolerance setting. ``gdf=None`` names positions only.
    """
    access = np.asarray(access_m, dtype=np.float64)
    if len(access) == 0 or (access <= tolerance_m).any():
        return
    everyone = np.arange(len(access))
    if gdf is not None:
        src = f"{layer_source(gdf, label)}: "
        points = describe_points(gdf, everyone, dist_m=access, names=True)
    else:
        src = ""
        points = "; ".join(f"position {k + 1} ({access[k]:.0f} m)" for k in everyone[:8])
        points += f"; ... and {len(access) - 8} more" if len(access) > 8 else ""
    raise CoordinateError(
        f"{src}all {len(access)} {label} are farther than the snap tolerance "
        f"({tolerance_m:g} m) from any road, so none can be reached by road: {points}. Fix: "
        "check their coordinates and coordinate system (--coord-system), use a road network "
        "that covers them, or raise the snap tolerance (--snap-tolerance METRES; "
        "snap_tolerance_m= in Python)"
    )


def check_extent(net: RoadNetwork, gdf: gpd.GeoDataFrame, xy: np.ndarray, tolerance_m: float, *, label: str) -> None:
    """Raise :class:`~coverage.errors.CoordinateError` when every point of a layer lies
    outside the road network's extent (grown by ``tolerance_m``), saying so when the points
    would fall inside with latitude and longitude swapped.

    ``xy`` are the points in ``net.crs`` (:func:`points_xy`).
    """
    if len(xy) == 0 or net.n_edges == 0:
        return
    lo = net.coord_xy.min(axis=0) - tolerance_m
    hi = net.coord_xy.max(axis=0) + tolerance_m

    def inside(p: np.ndarray) -> np.ndarray:
        return (p[:, 0] >= lo[0]) & (p[:, 0] <= hi[0]) & (p[:, 1] >= lo[1]) & (p[:, 1] <= hi[1])

    if inside(xy[:1000]).any() or inside(xy).any():  # the first points settle it (millions of them)
        return
    ll = points_xy(gdf, "EPSG:4326")
    lon, lat = pyproj.Transformer.from_crs(net.crs, "EPSG:4326", always_xy=True).transform(*net.coord_xy.T)
    nll = np.column_stack([lon, lat])
    ext = (
        f"lon {nll[:, 0].min():.4f} to {nll[:, 0].max():.4f}, "
        f"lat {nll[:, 1].min():.4f} to {nll[:, 1].max():.4f}"
    )
    pts = (
        f"lon {ll[:, 0].min():.4f} to {ll[:, 0].max():.4f}, "
        f"lat {ll[:, 1].min():.4f} to {ll[:, 1].max():.4f}"
    )
    src = layer_source(gdf, label)
    ok = np.abs(ll[:, 0]) <= 90
    if ok.any():
        t = pyproj.Transformer.from_crs("EPSG:4326", net.crs, always_xy=True)
        sx, sy = t.transform(ll[ok, 1], ll[ok, 0])
        if inside(np.column_stack([sx, sy])).mean() >= 0.5:
            raise CoordinateError(
                f"{src}: latitude and longitude look swapped: all {len(xy)} {label} lie outside "
                f"the road network ({ext}) but fall inside it with the two swapped (points: "
                f"{pts}). Fix: correct the headers (swap the names of the two coordinate columns; "
                f"lon_col/lat_col in Python)"
            )
    raise CoordinateError(
        f"{src}: all {len(xy)} {label} lie outside the road network's extent (network "
        f"{net.source or ''}: {ext}; points: {pts}). Fix: use a road network that covers the "
        "points (a larger extract), or check the coordinates and their coordinate system (--coord-system)"
    )
