"""Candidate-site sources: OSM points of interest, zone centres, road points, gap clusters."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import grid_network, shared_file

from coverage.engine.diagnostics import points_xy
from coverage.engine.snapping import snap_points
from coverage.errors import ParameterError
from coverage.siting.candidates import (
    candidates_along_roads,
    candidates_from_osm,
    candidates_from_zones,
    gap_clusters,
)


@pytest.mark.shared
def test_osm_candidates_real_township():
    c = candidates_from_osm(shared_file("osm", "qingzu_puyang_henan.osm.bz2"))
    # the file holds 4 schools, 2 hospitals, 1 post office (shared/data/README.md)
    assert c["kind"].value_counts().to_dict() == {"school": 4, "hospital": 2, "post_office": 1}
    assert c["id"].is_unique and c.crs.to_epsg() == 4326
    assert "庆祖镇中心小学" in set(c["name"])


def test_road_points_spacing_and_on_road():
    net, _ = grid_network(3, 200.0)  # 12 edges of 200 m
    c = candidates_along_roads(net, spacing_m=50.0)
    assert len(c) == 12 * 4
    s = snap_points(net, points_xy(c, net.crs))
    assert s.access_m.max() < 1e-6
    # offsets 25, 75, 125, 175 along each edge
    got = np.sort(np.minimum(s.offset_m, 200 - s.offset_m).round(6))
    assert set(got.tolist()) == {25.0, 75.0}
    with pytest.raises(ParameterError):
        candidates_along_roads(net, spacing_m=0)


def test_gap_clusters_dbscan_and_kmeans():
    import geopandas as gpd
    import pyproj

    net, to_xy = grid_network(6, 200.0)
    pts = np.vstack([to_xy([[100 + dx, 100 + dy] for dx in (0, 20, 40) for dy in (0, 20)]), to_xy([[900, 900], [920, 900], [900, 930]]), to_xy([[500, 20]])])
    t = pyproj.Transformer.from_crs(net.crs, "EPSG:4326", always_xy=True)
    lon, lat = t.transform(pts[:, 0], pts[:, 1])
    homes = gpd.GeoDataFrame({"weight": [1.0] * len(pts)}, geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")
    gaps, centres = gap_clusters(homes, net, eps_m=100, min_homes=3)
    assert gaps["n_homes"].tolist() == [6, 3]  # the lone home is no gap
    s = snap_points(net, points_xy(centres, net.crs))
    assert s.access_m.max() < 1e-6  # centres sit on roads
    gaps, centres = gap_clusters(homes, net, method="kmeans", n_clusters=2)
    assert sorted(gaps["n_homes"]) == [3, 7] or sorted(gaps["n_homes"]) == [4, 6]


def test_zone_centres_inside(tmp_path):
    from coverage import model_county

    z = model_county().zones
    c = candidates_from_zones(z)
    assert len(c) == len(z)
    assert all(poly.contains(pt) for poly, pt in zip(z.geometry, c.geometry))
