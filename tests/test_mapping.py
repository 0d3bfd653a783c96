"""Tests of the interactive audit map (coverage.publish.maps)."""

from __future__ import annotations

import json
import math
import re

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import LineString, Point, Polygon

from coverage.errors import CRSError, OutputExistsError, ParameterError
from coverage.publish.maps import MapLayers, audit_map, save_map

EVIL_IMG = "<img src=x onerror=alert(1)>"
EVIL_SCRIPT = '"</script><script>alert(1)</script>'
EVIL_JS = "`${alert(1)}`\\"
X0, Y0 = 115.86, 28.68  # a county seat in Jiangxi


def _layers(*, source: str = "OpenStreetMap", n_extra: int = 0, roads: bool = True) -> MapLayers:
    names = ["张家", EVIL_IMG, EVIL_SCRIPT, EVIL_JS, "李村", "王庄"]
    rows = [
        # dist, time, cov_r, cov_t, circle, false, status
        (300.0, 6.25, True, True, True, False, "ok"),
        (900.0, 18.75, True, False, True, False, "ok"),
        (1500.0, 31.25, False, False, True, True, "ok"),
        (math.inf, math.nan, False, False, False, False, "beyond_cutoff"),
        (math.inf, math.nan, False, False, True, True, "unreachable"),
        (100.0, 2.1, True, True, True, False, "ok"),
    ]
    rows += [rows[0]] * n_extra
    names += [f"点{i}" for i in range(n_extra)]
    demand = gpd.GeoDataFrame(
        {
            "id": [f"d{i}" for i in range(len(rows))],
            "name": names,
            "dist_m": [r[0] for r in rows],
            "time_min": [r[1] for r in rows],
            "facility_id": ["f0"] * len(rows),
            "facility_name": [EVIL_IMG] * len(rows),
            "covered_radius": [r[2] for r in rows],
            "covered_time": [r[3] for r in rows],
            "within_circle": [r[4] for r in rows],
            "false_coverage": [r[5] for r in rows],
            "status": [r[6] for r in rows],
            "weight": [1.0 + i for i in range(len(rows))],
            "zone_name": [EVIL_SCRIPT] * len(rows),
        },
        geometry=[Point(X0 + 0.001 * (i % 50), Y0 + 0.001 * (i // 50)) for i in range(len(rows))],
        crs=4326,
    )
    facilities = gpd.GeoDataFrame(
        {
            "id": ["f0", "f1"],
            "name": [EVIL_IMG, "敬老院 Home"],
            "n_covered_radius": [3, 1],
            "weight_covered_radius": [10.0, 6.0],
            "n_covered_time": [2, 1],
            "weight_covered_time": [7.0, 6.0],
            "capacity": [50, 20],
        },
        geometry=[Point(X0, Y0), Point(X0 + 0.004, Y0)],
        crs=4326,
    )
    road_gdf = gpd.GeoDataFrame(
        {"u": [0, 1]},
        geometry=[
            LineString([(X0, Y0), (X0 + 0.005, Y0)]),
            LineString([(X0, Y0), (X0, Y0 + 0.003)]),
        ],
        crs=4326,
    )
    areas = gpd.GeoDataFrame(
        {
            "facility_id": ["f0", "f0"],
            "facility_name": [EVIL_IMG, EVIL_IMG],
            "rule": ["radius", "time"],
            "limit_m": [1000.0, 720.0],
        },
        geometry=[
            LineString([(X0, Y0), (X0 + 0.004, Y0)]),
            LineString([(X0, Y0), (X0 + 0.002, Y0)]),
        ],
        crs=4326,
    )
    square = Polygon([(X0 - 0.001, Y0 - 0.001), (X0 + 0.006, Y0 - 0.001), (X0 + 0.006, Y0 + 0.004)])
    zones = gpd.GeoDataFrame(
        {
            "zone_id": ["z1", "z2"],
            "zone_name": [EVIL_SCRIPT, "东区"],
            "share_radius": [0.5, 0.9],
            "share_time": [0.33, 0.8],
            "target": [0.9, math.nan],
            "meets_target": [False, None],
        },
        geometry=[square, square.buffer(0.001)],
        crs=4326,
    )
    meta = {
        "title": f"测试县 Test county {EVIL_IMG}",
        "crs": "EPSG:32650",
        "speed_mps": 0.8,
        "radius_m": 1000.0,
        "time_min": 15.0,
        "walk_limit_m": 720.0,
        "source": source,
        "date": "2024-05-01",
    }
    return MapLayers(demand, facilities, road_gdf if roads else None, areas, zones, meta)


def _has(text: str, s: str) -> bool:
    """``s`` appears literally (HTML) or JSON-escaped (inside the map's JavaScript)."""
    return s in text or json.dumps(s)[1:-1] in text


@pytest.fixture(scope="module")
def html_text(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = save_map(audit_map(_layers(), basemap="osm"), tmp_path_factory.mktemp("map") / "audit.html")
    assert path.exists()
    return path.read_text(encoding="utf-8")


def test_layer_names_bilingual(html_text: str) -> None:
    for name in (
        "道路 Roads",
        "养老设施 Facilities",
        "服务范围 1000 m / Service area 1000 m",
        "15分钟服务圈 / 15-min walk",
        "已覆盖 Covered",
        "部分覆盖 Partly covered (one rule)",
        "未覆盖 Not covered",
        "虚假覆盖 False coverage (circle yes, road no)",
        "无法到达 Unreachable",
        "片区 Zones",
    ):
        assert _has(html_text, name), name
    assert "L.control.layers" in html_text


def test_legend_states_parameters(html_text: str) -> None:
    for text in (
        "步行速度 Walking speed: 0.8 m/s",
        "覆盖半径 Radius: 1000 m",
        "15 min = 720 m",
        "坐标系 CRS (metric): EPSG:32650",
        "数据来源 Data source: OpenStreetMap",
        "日期 Date: 2024-05-01",
    ):
        assert text in html_text, text


def test_popups_contain_distance_time_and_verdicts(html_text: str) -> None:
    assert "路网距离 Network distance: 900 m" in html_text
    assert "步行时间 Walking time: 18.8 min" in html_text  # 1 decimal
    assert "✘ 未满足 not met" in html_text
    assert "超出搜索范围 beyond cutoff" in html_text
    assert "无法到达 unreachable" in html_text
    assert "权重 Weight" in html_text  # weights are not all 1
    assert "容量 Capacity: 50" in html_text


def test_user_text_escaped(html_text: str) -> None:
    assert "&lt;img" in html_text
    assert "<img src=x" not in html_text
    assert "<script>alert(1)" not in html_text
    assert "</script><script>alert" not in html_text
    assert "${alert" not in html_text  # would run inside folium's JS template literals
    assert "&lt;img src=x onerror=alert(1)&gt;" in html_text
    assert "<title>测试县 Test county &lt;img" in html_text


def test_osm_attribution(html_text: str) -> None:
    assert "openstreetmap.org/copyright" in html_text
    assert "OpenStreetMap</a> contributors" in html_text or "contributors" in html_text
    assert "tile.openstreetmap.org" in html_text


def test_plugins_and_bounds(html_text: str) -> None:
    assert "L.control.fullscreen" in html_text
    assert "L.Control.Measure" in html_text
    assert "fitBounds" in html_text


def test_deterministic_bytes(tmp_path) -> None:
    a = save_map(audit_map(_layers()), tmp_path / "a.html")
    b = save_map(audit_map(_layers()), tmp_path / "b.html")
    assert a.read_bytes() == b.read_bytes()
    assert not re.search(r"_[0-9a-f]{32}\b", a.read_text(encoding="utf-8"))
    # saving the same map object twice gives the same bytes too
    m = audit_map(_layers())
    c = save_map(m, tmp_path / "c.html")
    d = save_map(m, tmp_path / "d.html")
    assert c.read_bytes() == d.read_bytes() == a.read_bytes()


def test_basemap_none_keeps_osm_data_attribution(tmp_path) -> None:
    text = save_map(audit_map(_layers(), basemap="none"), tmp_path / "n.html").read_text("utf-8")
    assert "tile.openstreetmap.org" not in text
    assert "addAttribution" in text
    assert "contributors (ODbL)" in text
    map_id = re.search(r'class="folium-map" id="(\w+)"', text).group(1)
    assert f"#{map_id}{{background:#ffffff}}" in text


def test_basemap_none_generated_data_has_no_osm_credit(tmp_path) -> None:
    layers = _layers(source="generated model county")
    text = save_map(audit_map(layers, basemap="none"), tmp_path / "g.html").read_text("utf-8")
    assert "OpenStreetMap" not in text


def test_tianditu(tmp_path) -> None:
    with pytest.raises(ParameterError, match="Tianditu key"):
        audit_map(_layers(), basemap="tianditu")
    with pytest.raises(ParameterError):
        audit_map(_layers(), basemap="google")
    m = audit_map(_layers(), basemap="tianditu", tianditu_key="abc123")
    text = save_map(m, tmp_path / "t.html").read_text("utf-8")
    assert "vec_w/wmts" in text and "cva_w/wmts" in text and "tk=abc123" in text
    assert _has(text, "天地图 Tianditu")


def test_large_layers_use_geojson(tmp_path) -> None:
    m = audit_map(_layers(n_extra=30), max_markers=5)
    text = save_map(m, tmp_path / "big.html").read_text("utf-8")
    assert "pointToLayer" in text  # the 32 covered points are one GeoJson layer
    assert text.count("L.circleMarker(") < 20  # only the small layers are single markers
    assert _has(text, "路网距离 Network distance")  # popup labels stored once as aliases
    assert "<img src=x" not in text and "&lt;img" in text
    assert "${alert" not in text


def test_reprojects_and_checks_crs(tmp_path) -> None:
    layers = _layers(roads=False)
    utm = MapLayers(layers.demand.to_crs(32650), layers.facilities, None, None, None, layers.meta)
    text = save_map(audit_map(utm), tmp_path / "u.html").read_text("utf-8")
    assert "28.68" in text and "115.86" in text  # back in longitude/latitude
    no_crs = layers.demand.to_crs(32650).set_crs(None, allow_override=True)
    bad = MapLayers(no_crs, layers.facilities, None, None, None, layers.meta)
    with pytest.raises(CRSError, match="EPSG:4326"):
        audit_map(bad)


def test_missing_values_are_dashes(tmp_path) -> None:
    layers = _layers(roads=False)
    demand = layers.demand.astype({"facility_name": object})
    demand.loc[0, "facility_name"] = None
    demand["zone_name"] = pd.NA
    ok = MapLayers(demand, layers.facilities, None, None, None, layers.meta)
    text = save_map(audit_map(ok), tmp_path / "na.html").read_text("utf-8")
    assert "最近设施 Nearest facility: —" in text
    assert "片区 Zone: —" in text and "&lt;NA&gt;" not in text


def test_roads_dropped_above_limit(tmp_path, caplog) -> None:
    with caplog.at_level("WARNING", logger="coverage.publish.maps"):
        m = audit_map(_layers(), max_road_edges=1)
    text = save_map(m, tmp_path / "r.html").read_text("utf-8")
    assert "道路 Roads" not in text
    assert "Road layer omitted" in text
    assert "max_road_edges" in caplog.text


def test_save_refuses_overwrite(tmp_path) -> None:
    m = audit_map(_layers(roads=False))
    path = save_map(m, tmp_path / "x.html")
    with pytest.raises(OutputExistsError, match="overwrite"):
        save_map(m, path)
    save_map(m, path, overwrite=True)


def test_missing_meta_and_columns() -> None:
    layers = _layers()
    bad_meta = MapLayers(layers.demand, layers.facilities, None, None, None, {"title": "x"})
    with pytest.raises(ParameterError, match="speed_mps"):
        audit_map(bad_meta)
    bad = MapLayers(
        layers.demand.drop(columns="status"), layers.facilities, None, None, None, layers.meta
    )
    with pytest.raises(ParameterError, match="status"):
        audit_map(bad)


# --------------------------------------------------------------------------- offline pages
def test_offline_page_needs_no_network(html_text: str) -> None:
    """The default save embeds every script and stylesheet: nothing loads from a CDN."""
    assert not re.search(r"<script\b[^>]*\bsrc\s*=", html_text, re.IGNORECASE)
    assert not re.search(r"<link\b[^>]*\bhref\s*=", html_text, re.IGNORECASE)
    for host in ("cdn.jsdelivr.net", "code.jquery.com", "cdnjs.cloudflare.com", "netdna"):
        assert host not in html_text, host
    # Leaflet, jQuery, Bootstrap and both plugins are inline; CSS images are data: URIs
    for marker in ("/* leaflet.js */", "/* jquery.min.js */", "/* bootstrap.bundle.min.js */",
                   "/* Control.FullScreen.js */", "/* leaflet-measure.min.js */",
                   "/* leaflet.css */", "/* leaflet-measure.css */"):  # fmt: skip
        assert marker in html_text, marker
    assert "url(images/" not in html_text and "url(icon-fullscreen.svg)" not in html_text
    assert 'url("data:image/png;base64,' in html_text
    assert 'url("data:image/svg+xml;base64,' in html_text  # the full-screen button
    assert "L.Icon.Default.mergeOptions({iconUrl:'data:image/png;base64," in html_text
    # icon assets are left out: the audit map draws no icon markers
    assert "leaflet.awesome-markers" not in html_text and "Font Awesome" not in html_text
    assert "sourceMappingURL" not in html_text


def test_online_save_keeps_cdn_links(tmp_path) -> None:
    text = save_map(audit_map(_layers()), tmp_path / "on.html", offline=False).read_text("utf-8")
    assert '<script src="https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js">' in text
    assert "/* leaflet.js */" not in text


def test_every_folium_asset_is_known() -> None:
    """Folium's default and plugin assets used by the audit map all have an entry."""
    import folium
    from folium import plugins

    from coverage.publish._offline import asset_for

    for cls in (folium.Map, plugins.Fullscreen, plugins.MeasureControl):
        for _, url in [*cls.default_js, *cls.default_css]:
            assert asset_for(url) is not None, url


def test_shipped_assets_match_manifest() -> None:
    import hashlib

    from coverage.publish._offline import ASSETS, STATIC_DIR

    manifest = json.loads((STATIC_DIR / "manifest.json").read_text(encoding="utf-8"))["files"]
    for rel, entry in manifest.items():
        data = (STATIC_DIR / rel).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], rel
        assert (STATIC_DIR / entry["license"]).is_file(), entry["license"]
    for asset in ASSETS:
        assert asset.path is None or asset.path in manifest, asset.path
    shipped = {p.relative_to(STATIC_DIR).as_posix() for p in STATIC_DIR.rglob("*") if p.is_file()}
    extra = {p for p in shipped - set(manifest) if not p.startswith("LICENSES/")}
    assert extra <= {"manifest.json", "README.md", "page_probe.js"}, extra


def test_offline_unknown_plugin_fails_loudly(tmp_path) -> None:
    from folium import plugins

    from coverage.publish._offline import OfflineAssetError

    m = audit_map(_layers(roads=False))
    plugins.MarkerCluster().add_to(m)
    with pytest.raises(OfflineAssetError, match=r"markercluster.*offline=False"):
        save_map(m, tmp_path / "mc.html")
    assert not (tmp_path / "mc.html").exists()
    save_map(m, tmp_path / "mc.html", offline=False)  # the online page is still possible


def test_offline_icon_markers(tmp_path) -> None:
    import folium

    from coverage.publish._offline import OfflineAssetError

    m = audit_map(_layers(roads=False))
    folium.Marker([Y0, X0], icon=folium.Icon(prefix="fa", icon="house")).add_to(m)
    text = save_map(m, tmp_path / "fa.html").read_text("utf-8")
    assert "/* all.min.css */" in text and "/* leaflet.awesome-markers.js */" in text
    assert text.count("data:font/woff2;base64,") == 4  # one per font file, aliases dropped
    assert "fa-brands-400.ttf" not in text and "url(../webfonts" not in text
    # Folium's default icon uses Bootstrap 3 Glyphicons, which are not shipped
    m2 = audit_map(_layers(roads=False))
    folium.Marker([Y0, X0], icon=folium.Icon()).add_to(m2)
    with pytest.raises(OfflineAssetError, match="Glyphicons"):
        save_map(m2, tmp_path / "glyph.html")


def test_offline_tiles_warn_and_note(tmp_path, caplog) -> None:
    from coverage.publish.maps import TILES_NOTE

    with caplog.at_level("WARNING", logger="coverage.publish._offline"):
        text = save_map(audit_map(_layers(), basemap="osm"), tmp_path / "osm.html").read_text("utf-8")
    assert "tile.openstreetmap.org" in text  # the chosen basemap stays
    assert TILES_NOTE in text
    assert "network connection" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="coverage.publish._offline"):
        text = save_map(audit_map(_layers(), basemap="none"), tmp_path / "none.html").read_text(
            "utf-8"
        )
    assert TILES_NOTE not in text and "network connection" not in caplog.text


# --------------------------------------------------------------------------- committee-grade maps
def test_default_basemap_is_none(tmp_path) -> None:
    """Files meant for an intranet never silently need the internet."""
    from coverage.publish.maps import TILES_NOTE

    text = save_map(audit_map(_layers()), tmp_path / "default.html").read_text("utf-8")
    assert "L.tileLayer" not in text and TILES_NOTE not in text
    map_id = re.search(r'class="folium-map" id="(\w+)"', text).group(1)
    assert f"#{map_id}{{background:#ffffff}}" in text


def test_every_map_writer_takes_a_basemap() -> None:
    import inspect

    from coverage.publish.maps import write_map
    from coverage.publish.site_map import siting_map
    from coverage.workflows import (
        write_consolidation_outputs,
        write_makeup_outputs,
        write_review_outputs,
        write_targets_outputs,
        write_village_outputs,
    )

    for fn in (audit_map, write_map, siting_map, write_review_outputs, write_makeup_outputs, write_village_outputs,
               write_consolidation_outputs, write_targets_outputs):  # fmt: skip
        params = inspect.signature(fn).parameters
        assert params["basemap"].default == "none", fn.__name__
        assert "tianditu_key" in params, fn.__name__


def test_legend_toggle_and_a_row_for_every_layer(html_text: str) -> None:
    legend = html_text[html_text.index('<div class="yl-legend">') :]
    legend = legend[: legend.index("</div></div>")]
    assert 'class="yl-toggle"' in legend and "收起 Hide" in legend and "yl-collapsed" in legend
    assert ".yl-collapsed .yl-body{display:none}" in html_text
    for row in ("道路 Roads", "片区 Zone", "服务范围 1000 m / Service area 1000 m", "15分钟服务圈 / 15-min walk",
                "养老设施 Facilities", "false coverage", "unreachable"):  # fmt: skip
        assert row in legend, row


def test_legend_numbers_are_the_coverage_summary(html_text: str) -> None:
    from coverage.audit.summary import CoverageSummary, config_of
    from coverage.publish._html import esc

    layers = _layers()
    rows = CoverageSummary.from_demand(layers.demand, config_of(layers.meta)).legend_rows()
    for row in rows:
        assert esc(row.text()) in html_text, row.text()


def test_proposed_sites_are_stars_with_their_own_row(tmp_path) -> None:
    base = _layers()
    proposed = base.facilities.iloc[1:][["id", "name", "geometry"]].assign(rank=[1])
    layers = MapLayers(base.demand, base.facilities, base.roads, base.service_areas, base.zones, base.meta,
                       proposed=proposed)  # fmt: skip
    text = save_map(audit_map(layers), tmp_path / "p.html").read_text("utf-8")
    assert _has(text, "拟建站点 Proposed sites") and _has(text, "现有养老设施 Existing facilities")
    star = '<polygon points="10,1 12.6,7.2'
    legend = text[text.index('<div class="yl-legend">') :]
    assert star in legend[: legend.index("</div></div>")]  # the legend row's symbol
    assert text.count("\"className\": \"yl-divicon\"") == 1  # the one proposed site, drawn as a star marker
    assert "1. 敬老院 Home" in text  # its tooltip: rank and name


def test_site_map_title_names_the_model_and_k(tmp_path) -> None:
    import warnings

    from coverage import model_county
    from coverage.publish.site_map import siting_map
    from coverage.siting.propose import propose_sites

    mc = model_county()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = propose_sites(mc.network, mc.facilities, mc.demand, mc.candidates, k_new=3, time_limit_s=30)
    m = siting_map(res, zones=mc.zones, run_date="2026-01-01")
    assert "MCLP, k = 3" in m.get_root().title
    text = save_map(m, tmp_path / "site.html").read_text("utf-8")
    assert "MCLP, k = 3" in text[text.index('<div class="yl-title">') :][:300]
    assert "L.tileLayer" not in text  # basemap none by default
    assert _has(text, "拟建站点 Proposed sites") and text.count("\"className\": \"yl-divicon\"") == 3
    assert _has(text, "新增覆盖 Newly covered homes")
    assert text.count("L.control.layers") == 1 and text.count("L.control.fullscreen") == 1


def _fit_bounds(text: str) -> list[list[float]]:
    found = re.search(r"querySelector\('\.yl-legend'\).{0,200}?\.fitBounds\((\[\[[^\]]+\],\s*\[[^\]]+\]\])", text)
    return json.loads(found.group(1))


def test_review_map_opens_on_the_development(tmp_path) -> None:
    import warnings

    from coverage import model_county
    from coverage.datasets.scenarios import development_scenario
    from coverage.workflows import review_development, write_review_outputs

    mc = model_county()
    s = development_scenario(mc)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = review_development(mc.network, buildings=s.buildings, facilities=mc.facilities, planned=s.planned, site=s.site,
                               provided_floor_m2=s.provided_floor_m2, run_date="2026-01-01")  # fmt: skip
    paths = write_review_outputs(r, tmp_path / "review")
    text = paths["map"].read_text("utf-8")
    (south, west), (north, east) = _fit_bounds(text)
    minx, miny, maxx, maxy = s.site.to_crs(4326).total_bounds
    assert west <= minx and east >= maxx and south <= miny and north >= maxy
    # opened on the development, not on the county (a few site widths, not kilometres)
    assert (east - west) < 4 * (maxx - minx) and (north - south) < 4 * (maxy - miny)
    assert _has(text, "拟建设施 Planned facility") and _has(text, "用地范围 Development site")


def test_consolidation_map_moves_follow_the_roads(tmp_path) -> None:
    import warnings

    import numpy as np
    import shapely

    from coverage import model_county
    from coverage.datasets.scenarios import consolidation_scenario
    from coverage.workflows import consolidate_homes, write_consolidation_outputs
    from coverage.workflows.consolidation import move_routes

    mc = model_county()
    s = consolidation_scenario(mc)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = consolidate_homes(mc.network, homes=s.homes, residents=s.residents, keep=s.keep, must_keep=s.must_keep,
                              compare_optimum=False, run_date="2026-01-01")  # fmt: skip
    routes = move_routes(r)
    assert len(routes) >= 5 and routes.geometry.notna().all()
    net = mc.network
    edges = shapely.MultiLineString([shapely.LineString(c) for c in np.split(net.coord_xy, net.edge_ptr[1:-1])])
    metric = routes.to_crs(net.crs)
    for line, straight in zip(metric.geometry, metric.geometry.map(lambda g: shapely.distance(*shapely.points(
            [g.coords[0], g.coords[-1]]))), strict=True):  # fmt: skip
        gaps = [edges.distance(shapely.Point(v)) for v in line.coords]
        assert max(gaps) < 0.05, max(gaps)  # every vertex on a road (WGS-84 round trip: centimetres)
        assert line.length >= straight - 1e-6
    assert any(len(line.coords) > 2 for line in metric.geometry)  # they bend with the roads
    paths = write_consolidation_outputs(r, tmp_path / "c")
    text = paths["map"].read_text("utf-8")
    assert _has(text, "保留的敬老院 Home kept") and _has(text, "撤并的敬老院 Home closed")
    assert "搬迁至" in text and "yl-toggle" in text and "L.tileLayer" not in text
    assert paths["png"].read_bytes().startswith(b"\x89PNG")


def test_road_paths_on_a_grid() -> None:
    """The path between two snapped points runs along the grid's streets, as long as the
    network distance between them."""
    import numpy as np
    import shapely
    from conftest import grid_network

    from coverage.engine.engine import Engine

    net, to_xy = grid_network(5, 250.0)
    eng = Engine.build(net, compact=False)
    a = eng.layer(to_xy([[30.0, 0.0], [0.0, 30.0], [500.0, 125.0]]))
    b = eng.layer(to_xy([[1000.0, 600.0], [0.0, 200.0], [500.0, 40.0]]))
    paths = eng.paths(a, b)
    lengths = [shapely.LineString(p).length for p in paths]
    assert lengths == pytest.approx([970.0 + 600.0, 170.0, 85.0])
    for p in paths:  # axis-parallel steps only: the streets of the grid
        d = np.diff(p, axis=0)
        assert np.all((np.abs(d[:, 0]) < 1e-6) | (np.abs(d[:, 1]) < 1e-6))


def test_source_name_shows_file_names_only() -> None:
    from coverage.publish._html import parameter_rows, source_name

    assert source_name("/srv/data/county.osm.pbf") == "county.osm.pbf"
    assert source_name("C:\\Users\\张三\\桌面\\路网.osm + /tmp/x/edges.csv") == "路网.osm + edges.csv"
    assert source_name("OpenStreetMap (ODbL)") == "OpenStreetMap (ODbL)"
    meta = {"crs": "EPSG:32650", "source": "/home/planner/roads.osm", "date": "2026-01-01"}
    rows = " ".join(parameter_rows(meta))
    assert "roads.osm" in rows and "/home" not in rows and "Walking speed" not in rows


def test_scale_bar_is_metric_only() -> None:
    """The interactive map's scale bar shows metres only (no miles or feet)."""
    from coverage import model_county, run_audit
    from coverage.publish.maps import audit_layers, audit_map

    mc = model_county()
    html = audit_map(audit_layers(run_audit(mc.network, mc.facilities, mc.demand)), basemap="none").get_root().render()
    assert "L.control.scale({imperial: false, metric: true})" in html
    assert "L.control.scale()" not in html
