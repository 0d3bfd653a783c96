"""Candidate sites for new stations and village mutual-aid points.

Sources, each returning a GeoDataFrame in EPSG:4326 with ``id, name, kind, source`` (and
``zone_id`` when known):

* :func:`candidates_from_osm` -- OpenStreetMap points of interest by tag: village service
  centres and town halls, clinics and health centres (co-location with primary health
  facilities is what the policy asks for: Lu'an item 19, Jiangyong §二(四)5), schools and
  other public buildings (idle public buildings as sites: Huichang §(十七), Fengjie §二(三));
* :func:`candidates_from_zones` -- one point inside every village / community polygon;
* :func:`gap_clusters` -- clusters of the homes an audit left uncovered (DBSCAN or
  k-means, scikit-learn), each a "gap" polygon shown to the planner with its centre moved
  onto the nearest road;
* :func:`candidates_along_roads` -- a fallback: points along every road at a spacing.

Every candidate is snapped to the road network like any other point when the cost table
is built.
"""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from ..engine.diagnostics import points_xy
from ..engine.engine import Engine
from ..engine.network import RoadNetwork
from ..engine.snapping import snap_points
from ..errors import ParameterError

__all__ = [
    "DEFAULT_POI_TAGS",
    "candidates_along_roads",
    "candidates_from_osm",
    "candidates_from_zones",
    "gap_clusters",
]

logger = logging.getLogger(__name__)

#: OSM tags of places that can host an elderly-care station or mutual-aid point
DEFAULT_POI_TAGS: dict[str, set[str] | None] = {
    "amenity": {
        "clinic",
        "doctors",
        "hospital",
        "community_centre",
        "social_facility",
        "townhall",
        "school",
        "kindergarten",
        "post_office",
        "library",
        "social_centre",
    },
    "healthcare": None,
    "office": {"government"},
    "building": {"public", "civic", "government", "school"},
}

_KIND_ZH = {
    "clinic": "诊所/卫生室",
    "doctors": "诊所",
    "hospital": "医院/卫生院",
    "community_centre": "社区/村便民服务中心",
    "social_facility": "社会福利设施",
    "townhall": "村(居)委会/政府",
    "school": "学校(可用闲置校舍)",
    "kindergarten": "幼儿园",
    "post_office": "邮局",
    "library": "图书室",
    "government": "政府办公",
    "public": "公共建筑",
    "civic": "公共建筑",
}


def candidates_from_osm(path: str | Path, *, tags: dict[str, set[str] | None] | None = None) -> gpd.GeoDataFrame:
    """Points of interest from an OSM file that could host a station (see module doc)."""
    from ..inputs.osm import read_osm_features

    df = read_osm_features(path, tags=tags or DEFAULT_POI_TAGS)
    kind = df["value"].where(df["key"] != "healthcare", "health_" + df["value"].astype(str))
    name = df["name"].where(df["name"].str.len() > 0, kind.map(_KIND_ZH).fillna(kind))
    out = pd.DataFrame(
        {
            "id": "osm-" + df["osm_type"].str[0] + df["osm_id"].astype(str),
            "name": name,
            "kind": kind,
            "source": "OpenStreetMap",
        }
    )
    logger.info("%s: %d candidate sites from OSM tags", path, len(out))
    return gpd.GeoDataFrame(out, geometry=gpd.points_from_xy(df["lon"], df["lat"]), crs="EPSG:4326")


def candidates_from_zones(zones: gpd.GeoDataFrame, *, kind: str = "zone_centre") -> gpd.GeoDataFrame:
    """One candidate inside each zone polygon (a point on its surface)."""
    z = zones.to_crs("EPSG:4326")
    out = pd.DataFrame(
        {
            "id": "zc-" + z["zone_id"].astype(str),
            "name": z.get("zone_name", z["zone_id"]).astype(str) + "中心",
            "kind": kind,
            "source": "zone centre",
            "zone_id": z["zone_id"].astype(str),
        }
    )
    return gpd.GeoDataFrame(out, geometry=z.geometry.representative_point().to_numpy(), crs="EPSG:4326")


def candidates_along_roads(net: RoadNetwork, *, spacing_m: float = 300.0) -> gpd.GeoDataFrame:
    """Points along every road, ``spacing_m`` apart (at least one per edge, at its middle)."""
    if not (spacing_m > 0):
        raise ParameterError(f"spacing_m={spacing_m} (--road-spacing) must be positive")
    lens = net.edge_len_m
    n = np.maximum(1, np.floor(lens / spacing_m)).astype(np.int64)
    edge = np.repeat(np.arange(net.n_edges), n)
    k = np.arange(len(edge)) - np.repeat(np.cumsum(n) - n, n)
    off = (k + 0.5) * lens[edge] / n[edge]
    xy = net.interpolate(edge, off)
    t = pyproj.Transformer.from_crs(net.crs, "EPSG:4326", always_xy=True)
    lon, lat = t.transform(xy[:, 0], xy[:, 1])
    out = pd.DataFrame(
        {
            "id": [f"road-{i}" for i in range(len(edge))],
            "name": [f"道路点 road point {i}" for i in range(len(edge))],
            "kind": "road_point",
            "source": f"road network every {spacing_m:g} m",
        }
    )
    return gpd.GeoDataFrame(out, geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")


def gap_clusters(
    homes: gpd.GeoDataFrame,
    net: RoadNetwork | Engine,
    *,
    method: str = "dbscan",
    eps_m: float = 400.0,
    min_homes: int = 3,
    n_clusters: int | None = None,
    weight_col: str | None = "weight",
    seed: int = 0,
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Cluster uncovered homes into "gaps" and propose a site at each gap's centre.

    Parameters
    ----------
    homes
        The uncovered demand points (e.g. ``result.demand[~result.demand.covered_radius]``).
    net
        The road network (gap centres are moved onto the nearest road), or the study's
        :class:`~coverage.engine.engine.Engine` (``result.engine`` of an audit) whose edge
        index is then reused.
    method
        ``"dbscan"`` (clusters of homes within ``eps_m`` of each other, at least
        ``min_homes``; isolated homes are left out) or ``"kmeans"`` (``n_clusters`` groups,
        every home in one).
    eps_m, min_homes
        DBSCAN neighbourhood radius and minimum cluster size.
    n_clusters
        Number of k-means clusters.
    weight_col
        Population column weighting the centres (and k-means); missing = 1.
    seed
        Random seed (k-means).

    Returns
    -------
    (gaps, candidates)
        ``gaps``: one polygon per cluster (convex hull of its homes, buffered 50 m) with
        ``gap_id, n_homes, weight``; ``candidates``: its weighted centre snapped to the
        road, with ``id, name, kind="gap_centre", gap_id``.
    """
    if len(homes) == 0:
        return _no_gaps(), _no_centres()
    crs = net.crs
    xy = points_xy(homes, crs)
    w = np.ones(len(homes))
    if weight_col and weight_col in homes:
        w = pd.to_numeric(homes[weight_col], errors="coerce").fillna(0).to_numpy(float)
        w = np.where(w > 0, w, 1e-9)
    labels = _cluster(xy, w, method=method, eps_m=eps_m, min_homes=min_homes, n_clusters=n_clusters, seed=seed)
    ids = sorted(int(x) for x in np.unique(labels) if x >= 0)
    t = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    polys, rows, centres = [], [], []
    for j, lab in enumerate(ids):
        sel = labels == lab
        pts = xy[sel]
        hull = shapely.convex_hull(shapely.multipoints(pts)).buffer(50.0)
        polys.append(shapely.transform(hull, lambda c: np.column_stack(t.transform(c[:, 0], c[:, 1]))))
        centres.append(np.average(pts, axis=0, weights=w[sel]))
        rows.append({"gap_id": f"gap-{j + 1}", "n_homes": int(sel.sum()), "weight": float(w[sel].sum())})
    gaps = gpd.GeoDataFrame(pd.DataFrame(rows, columns=["gap_id", "n_homes", "weight"]), geometry=polys, crs="EPSG:4326")
    if not ids:
        return gaps, _no_centres()
    snapped = net.snap(np.asarray(centres)) if isinstance(net, Engine) else snap_points(net, np.asarray(centres))
    lon, lat = t.transform(snapped.proj_xy[:, 0], snapped.proj_xy[:, 1])
    cand = pd.DataFrame(
        {
            "id": [r["gap_id"] + "-centre" for r in rows],
            "name": [f"缺口{j + 1}中心 gap {j + 1} centre" for j in range(len(rows))],
            "kind": "gap_centre",
            "source": f"{method} clusters of uncovered homes",
            "gap_id": [r["gap_id"] for r in rows],
        }
    )
    logger.info("%d gaps from %d uncovered homes (%s)", len(rows), len(homes), method)
    return gaps, gpd.GeoDataFrame(cand, geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")


def _no_gaps() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"gap_id": [], "n_homes": [], "weight": []}, geometry=[], crs="EPSG:4326")


def _no_centres() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"id": [], "name": [], "kind": [], "gap_id": []}, geometry=[], crs="EPSG:4326")


def _cluster(xy: np.ndarray, w: np.ndarray, *, method: str, eps_m: float, min_homes: int, n_clusters: int | None, seed: int) -> np.ndarray:
    """Cluster label of every home (``-1``: in no cluster), by DBSCAN or weighted k-means."""
    from sklearn.cluster import DBSCAN, KMeans

    if method == "dbscan":
        return DBSCAN(eps=eps_m, min_samples=min_homes).fit_predict(xy)
    if method == "kmeans":
        if not n_clusters or n_clusters < 1:
            raise ParameterError("gap_clusters: method='kmeans' needs n_clusters >= 1")
        k = min(n_clusters, len(xy))
        return KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(xy, sample_weight=w)
    raise ParameterError(f"gap_clusters: method={method!r}; choose 'dbscan' or 'kmeans'")
