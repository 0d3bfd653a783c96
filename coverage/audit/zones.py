"""Points in zones: which community or village polygon every point lies in, and coverage
per zone.

:func:`zone_of_points` is the one point-in-polygon join of the package: the audit's
coverage by zone, the zone rules of site selection ("one mutual-aid point per village") and
the workflows all place their points with it.
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd

from ..engine.diagnostics import describe_points, layer_source
from ..errors import CRSError, DataWarning, InputFileError
from .summary import summary_table

__all__ = ["OUTSIDE_ZONES", "demand_zones", "zone_of_points", "zone_tables"]

#: the zone of demand points that lie in no zone polygon
OUTSIDE_ZONES = "(outside zones)"


def zone_of_points(points: gpd.GeoDataFrame, zones: gpd.GeoDataFrame) -> pd.Series:
    """The ``zone_id`` of the zone polygon each point lies within (NaN when none), indexed
    like ``points``; a point inside several overlapping zones takes the first. The zones
    are brought to the points' CRS."""
    z = zones[["zone_id", "geometry"]].to_crs(points.crs)
    joined = gpd.sjoin(points[["geometry"]], z, how="left", predicate="within")
    joined = joined[~joined.index.duplicated(keep="first")]
    return joined["zone_id"].reindex(points.index)


def demand_zones(demand: gpd.GeoDataFrame, zones: gpd.GeoDataFrame | None, zone_col: str | None) -> pd.Series | None:
    """The zone of every demand point (strings): its ``zone_col``; else its ``zone_id``
    when every one names a zone of ``zones``; else the polygon it lies in
    (:data:`OUTSIDE_ZONES` for none, with a :class:`~coverage.errors.DataWarning` naming
    them). ``None`` without zones. Raises :class:`~coverage.errors.CRSError` when no point
    lies in any zone (the zones' coordinate system does not match)."""
    if zone_col is not None:
        if zone_col not in demand.columns:
            raise InputFileError(f"demand: zone column {zone_col!r} not found. Fix: pass an existing column")
        return demand[zone_col].astype(str)
    if zones is None:
        return None
    if "zone_id" in demand.columns and demand["zone_id"].isin(zones["zone_id"]).all():
        return demand["zone_id"].astype(str)
    zone = zone_of_points(demand, zones)
    out = zone.isna().to_numpy()
    zsrc, dsrc = layer_source(zones, "zones"), layer_source(demand, "demand")
    if out.all():
        zb, db = zones.to_crs("EPSG:4326").total_bounds, demand.total_bounds
        raise CRSError(
            f"{zsrc}: no demand point of {dsrc} lies in any zone (zones: lon {zb[0]:.4f} to "
            f"{zb[2]:.4f}, lat {zb[1]:.4f} to {zb[3]:.4f}; demand: lon {db[0]:.4f} to {db[2]:.4f}, "
            f"lat {db[1]:.4f} to {db[3]:.4f}); the zones' coordinate system does not match the "
            "points. Fix: check the zones file's CRS in QGIS (Layer Properties > Source), or "
            "pass the right coordinate system for Amap/Baidu outlines (--coord-system; coord_system= in Python)"
        )
    if out.any():
        warnings.warn(
            f"{dsrc}: {int(out.sum())} demand points lie in no zone of {zsrc} and are counted "
            f"as '{OUTSIDE_ZONES}': {describe_points(demand, np.flatnonzero(out))}. Fix: check "
            "that the zones cover the study area",
            DataWarning,
            stacklevel=3,
        )
    return zone.fillna(OUTSIDE_ZONES).astype(str)


def zone_tables(
    demand: gpd.GeoDataFrame,
    zones: gpd.GeoDataFrame | None,
    *,
    zone_col: str | None = None,
    target: float | None = None,
    target_rule: str = "radius",
) -> tuple[pd.DataFrame | None, gpd.GeoDataFrame | None]:
    """Coverage per zone of audited demand (:func:`~coverage.audit.summary.summary_table`
    by ``zone_id``) and the zone polygons with their shares; ``(None, None)`` without zones.

    ``demand`` (the audit's frame, in EPSG:4326) gains ``zone_id`` (and ``zone_name`` when
    the zones have names).
    """
    zone = demand_zones(demand, zones, zone_col)
    if zone is None:
        return None, None
    demand["zone_id"] = zone.to_numpy()
    by_zone = summary_table(demand, by="zone_id", target=target, target_rule=target_rule)
    if zones is None:
        return by_zone, None
    zmap = zones.set_index(zones["zone_id"].astype(str))
    if "zone_name" in zones:
        demand["zone_name"] = demand["zone_id"].map(zmap["zone_name"]).fillna(demand["zone_id"])
        by_zone.insert(1, "zone_name", by_zone["zone_id"].map(zmap["zone_name"]).fillna(by_zone["zone_id"]))
    zones_out = zones.to_crs("EPSG:4326").merge(
        by_zone[["zone_id", "n_points", "share_radius", "share_time", "wshare_radius", "wshare_time"]
                + (["target", "meets_target"] if target is not None else [])],
        on="zone_id",
        how="left",
    )  # fmt: skip
    if target is None:
        zones_out["target"] = np.nan
        zones_out["meets_target"] = None
    zones_out.attrs.update(zones.attrs)  # the file it came from, for messages
    return by_zone, zones_out
