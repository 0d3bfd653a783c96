"""Tests of coverage.inputs.chinacrs: WGS-84 / GCJ-02 / BD-09 conversions."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod

from coverage.errors import CRSError, ParameterError
from coverage.inputs import chinacrs

GEOD = Geod(ellps="WGS84")
BOUNDARIES = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "boundaries"

# Real city centres (WGS-84, approximate), spread over mainland China.
CITIES = {
    "北京": (116.397, 39.909),
    "上海": (121.474, 31.230),
    "广州": (113.264, 23.129),
    "成都": (104.066, 30.573),
    "武汉": (114.305, 30.593),
    "西安": (108.940, 34.341),
    "乌鲁木齐": (87.617, 43.826),
    "拉萨": (91.117, 29.647),
    "哈尔滨": (126.535, 45.803),
    "昆明": (102.833, 24.880),
    "海口": (110.199, 20.044),
    "喀什": (75.990, 39.470),
    "呼和浩特": (111.749, 40.842),
    "漠河": (122.530, 52.970),
    "六安": (116.522, 31.735),
}


# --- independent scalar implementation of the published formulas (math module only) ------


def _ref_lat(x: float, y: float) -> float:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return ret


def _ref_lng(x: float, y: float) -> float:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return ret


def ref_gcj(lng: float, lat: float) -> tuple[float, float]:
    """WGS-84 -> GCJ-02, scalar, written from the widely published formula."""
    if not (72.004 <= lng <= 137.8347 and 0.8293 <= lat <= 55.8271):
        return lng, lat
    a, ee = 6378245.0, 0.00669342162296594323
    dlat = _ref_lat(lng - 105.0, lat - 35.0)
    dlng = _ref_lng(lng - 105.0, lat - 35.0)
    radlat = lat / 180.0 * math.pi
    magic = 1 - ee * math.sin(radlat) ** 2
    sqrtmagic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((a * (1 - ee)) / (magic * sqrtmagic) * math.pi)
    dlng = (dlng * 180.0) / (a / sqrtmagic * math.cos(radlat) * math.pi)
    return lng + dlng, lat + dlat


def ref_bd(lng: float, lat: float) -> tuple[float, float]:
    """GCJ-02 -> BD-09, scalar."""
    x_pi = math.pi * 3000.0 / 180.0
    z = math.sqrt(lng * lng + lat * lat) + 0.00002 * math.sin(lat * x_pi)
    theta = math.atan2(lat, lng) + 0.000003 * math.cos(lng * x_pi)
    return z * math.cos(theta) + 0.0065, z * math.sin(theta) + 0.006


def ref_bd_inverse_closed_form(lng: float, lat: float) -> tuple[float, float]:
    """The commonly copied (approximate) BD-09 -> GCJ-02 formula."""
    x_pi = math.pi * 3000.0 / 180.0
    x, y = lng - 0.0065, lat - 0.006
    z = math.sqrt(x * x + y * y) - 0.00002 * math.sin(y * x_pi)
    theta = math.atan2(y, x) - 0.000003 * math.cos(x * x_pi)
    return z * math.cos(theta), z * math.sin(theta)


def metres(lon1, lat1, lon2, lat2) -> np.ndarray:
    return np.asarray(GEOD.inv(lon1, lat1, lon2, lat2)[2], dtype=float)


@pytest.fixture(scope="module")
def china_points() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(20240601)
    return rng.uniform(73.5, 135.0, 5000), rng.uniform(18.0, 53.5, 5000)


# --- names -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("alias", "canon"),
    [
        ("wgs84", "wgs84"), ("WGS-84", "wgs84"), ("EPSG:4326", "wgs84"), ("cgcs2000", "wgs84"),
        ("tianditu", "wgs84"), ("GPS", "wgs84"), ("gcj02", "gcj02"), ("GCJ-02", "gcj02"),
        ("amap", "gcj02"), ("Gaode", "gcj02"), ("tencent", "gcj02"), ("mars", "gcj02"),
        ("高德", "gcj02"), ("bd09", "bd09"), ("BD-09", "bd09"), ("Baidu", "bd09"),
        (" bd_09 ", "bd09"),
    ],
)  # fmt: skip
def test_normalise_system_aliases(alias: str, canon: str) -> None:
    assert chinacrs.normalise_system(alias) == canon


@pytest.mark.parametrize("bad", ["utm50", "EPSG:3857", "", "bd09mc"])
def test_unknown_system_lists_valid_names(bad: str) -> None:
    with pytest.raises(CRSError, match=r"unknown coordinate system.*wgs84.*gcj02.*bd09"):
        chinacrs.to_wgs84([116.0], [39.0], bad)


def test_non_string_system_is_crs_error() -> None:
    with pytest.raises(CRSError, match="unknown coordinate system"):
        chinacrs.normalise_system(4326)  # type: ignore[arg-type]


def test_bad_iteration_parameters() -> None:
    with pytest.raises(ParameterError, match="tol_deg"):
        chinacrs.wgs84_from_gcj02(116.0, 39.0, tol_deg=0)
    with pytest.raises(ParameterError, match="max_iter"):
        chinacrs.gcj02_from_bd09(116.0, 39.0, max_iter=0)


# --- forward formulas against the independent scalar implementation ----------------------


def test_forward_matches_scalar_reference(china_points) -> None:
    lon, lat = china_points
    gx, gy = chinacrs.gcj02_from_wgs84(lon, lat)
    bx, by = chinacrs.bd09_from_wgs84(lon, lat)
    for i in range(0, len(lon), 25):
        rx, ry = ref_gcj(float(lon[i]), float(lat[i]))
        assert gx[i] == pytest.approx(rx, abs=1e-12)
        assert gy[i] == pytest.approx(ry, abs=1e-12)
        sx, sy = ref_bd(rx, ry)
        assert bx[i] == pytest.approx(sx, abs=1e-12)
        assert by[i] == pytest.approx(sy, abs=1e-12)


@pytest.mark.parametrize("city", sorted(CITIES))
def test_known_city_points(city: str) -> None:
    lon, lat = CITIES[city]
    gx, gy = chinacrs.gcj02_from_wgs84(lon, lat)
    assert (float(gx), float(gy)) == pytest.approx(ref_gcj(lon, lat), abs=1e-12)
    assert (gx, gy) == chinacrs.from_wgs84(lon, lat, "amap")
    bx, by = chinacrs.bd09_from_wgs84(lon, lat)
    assert (float(bx), float(by)) == pytest.approx(ref_bd(*ref_gcj(lon, lat)), abs=1e-12)
    # shift magnitudes in mainland China
    assert 100 < metres(lon, lat, gx, gy) < 700
    assert 700 < metres(lon, lat, bx, by) < 1500


def test_return_types_are_float64_arrays() -> None:
    for func in (chinacrs.gcj02_from_wgs84, chinacrs.bd09_from_wgs84, chinacrs.wgs84_from_bd09):
        x, y = func([116, 117], [39, 40])
        assert x.dtype == np.float64 and y.dtype == np.float64 and x.shape == (2,)
    x, y = chinacrs.to_wgs84(116.4, 39.9, "wgs84")
    assert isinstance(x, np.ndarray) and x.dtype == np.float64


def test_inputs_are_not_modified() -> None:
    lon = np.array([116.4, 121.5])
    lat = np.array([39.9, 31.2])
    chinacrs.wgs84_from_gcj02(lon, lat)
    chinacrs.to_wgs84(lon, lat, "baidu")
    assert lon.tolist() == [116.4, 121.5] and lat.tolist() == [39.9, 31.2]


def test_nan_propagates() -> None:
    x, y = chinacrs.to_wgs84([np.nan, 116.4], [30.0, 39.9], "bd09")
    assert np.isnan(x[0]) and np.isnan(y[0]) and np.isfinite(x[1])


# --- shift magnitudes and the China box --------------------------------------------------


def test_shift_magnitudes_eastern_mainland() -> None:
    rng = np.random.default_rng(7)
    lon, lat = rng.uniform(102.0, 122.0, 20000), rng.uniform(22.0, 42.0, 20000)
    g = metres(lon, lat, *chinacrs.gcj02_from_wgs84(lon, lat))
    b = metres(lon, lat, *chinacrs.bd09_from_wgs84(lon, lat))
    assert g.min() > 100 and g.max() < 700
    assert b.min() > 700 and b.max() < 1500


@pytest.mark.parametrize(
    ("lon", "lat"),
    [(2.35, 48.86), (-74.0, 40.7), (139.69, 35.69), (151.2, -33.9), (72.0, 30.0), (100.0, 56.0)],
)
def test_outside_china_unchanged(lon: float, lat: float) -> None:
    gx, gy = chinacrs.gcj02_from_wgs84(lon, lat)
    assert (float(gx), float(gy)) == (lon, lat)
    wx, wy = chinacrs.wgs84_from_gcj02(lon, lat)
    assert (float(wx), float(wy)) == (lon, lat)
    assert chinacrs.to_wgs84(lon, lat, "gcj02") == (lon, lat)


def test_in_china_box() -> None:
    assert chinacrs.in_china_box([116.4, 2.35, np.nan], [39.9, 48.8, 30.0]).tolist() == [
        True,
        False,
        False,
    ]


# --- inverses -----------------------------------------------------------------------------


def test_round_trip_gcj_sub_micrometre(china_points) -> None:
    lon, lat = china_points
    back = chinacrs.wgs84_from_gcj02(*chinacrs.gcj02_from_wgs84(lon, lat))
    assert metres(lon, lat, *back).max() < 1e-6


def test_round_trip_bd_sub_micrometre(china_points) -> None:
    lon, lat = china_points
    back = chinacrs.wgs84_from_bd09(*chinacrs.bd09_from_wgs84(lon, lat))
    assert metres(lon, lat, *back).max() < 1e-6
    gcj = chinacrs.gcj02_from_wgs84(lon, lat)
    back = chinacrs.gcj02_from_bd09(*chinacrs.bd09_from_gcj02(*gcj))
    assert metres(*gcj, *back).max() < 1e-6


def test_to_and_from_wgs84_generic(china_points) -> None:
    lon, lat = china_points
    for system in ("amap", "baidu", "cgcs2000"):
        there = chinacrs.from_wgs84(lon, lat, system)
        assert metres(lon, lat, *chinacrs.to_wgs84(*there, system)).max() < 1e-6


def test_one_step_inverse_is_only_metre_accurate(china_points) -> None:
    lon, lat = china_points
    gx, gy = chinacrs.gcj02_from_wgs84(lon, lat)
    fx, fy = chinacrs.gcj02_from_wgs84(gx, gy)
    one_step = metres(lon, lat, 2 * gx - fx, 2 * gy - fy)
    iterative = metres(lon, lat, *chinacrs.wgs84_from_gcj02(gx, gy))
    assert one_step.max() > 0.5  # metre-level
    assert one_step.max() < 20
    assert iterative.max() < 1e-3  # sub-millimetre
    assert iterative.max() < one_step.max() / 1e4


def test_closed_form_bd_inverse_is_improved_upon(china_points) -> None:
    lon, lat = china_points
    gx, gy = chinacrs.gcj02_from_wgs84(lon[:300], lat[:300])
    bx, by = chinacrs.bd09_from_gcj02(gx, gy)
    closed = np.array([ref_bd_inverse_closed_form(x, y) for x, y in zip(bx, by, strict=True)])
    closed_err = metres(gx, gy, closed[:, 0], closed[:, 1])
    iter_err = metres(gx, gy, *chinacrs.gcj02_from_bd09(bx, by))
    assert closed_err.max() > 1e-3
    assert iter_err.max() < 1e-6


def test_non_convergence_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="coverage.inputs.chinacrs"):
        chinacrs.wgs84_from_gcj02(116.4, 39.9, tol_deg=1e-30, max_iter=2)
    assert "iteration stopped" in caplog.text


china_lon = st.floats(min_value=73.5, max_value=135.0, allow_nan=False)
china_lat = st.floats(min_value=18.0, max_value=53.5, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(lon=china_lon, lat=china_lat)
def test_property_gcj_round_trip(lon: float, lat: float) -> None:
    gx, gy = chinacrs.gcj02_from_wgs84(lon, lat)
    assert (float(gx), float(gy)) == pytest.approx(ref_gcj(lon, lat), abs=1e-12)
    assert metres(lon, lat, *chinacrs.wgs84_from_gcj02(gx, gy)) < 1e-6
    # and the other direction: GCJ -> WGS -> GCJ
    wx, wy = chinacrs.wgs84_from_gcj02(lon, lat)
    assert metres(lon, lat, *chinacrs.gcj02_from_wgs84(wx, wy)) < 1e-6


@settings(max_examples=200, deadline=None)
@given(lon=china_lon, lat=china_lat)
def test_property_bd_round_trip(lon: float, lat: float) -> None:
    bx, by = chinacrs.bd09_from_wgs84(lon, lat)
    assert metres(lon, lat, *chinacrs.wgs84_from_bd09(bx, by)) < 1e-6
    wx, wy = chinacrs.wgs84_from_bd09(lon, lat)
    assert metres(lon, lat, *chinacrs.bd09_from_wgs84(wx, wy)) < 1e-6


@settings(max_examples=100, deadline=None)
@given(
    lon=st.floats(min_value=-180, max_value=180, allow_nan=False),
    lat=st.floats(min_value=-90, max_value=90, allow_nan=False),
)
def test_property_outside_box_identity(lon: float, lat: float) -> None:
    if 72.004 <= lon <= 137.8347 and 0.8293 <= lat <= 55.8271:
        return
    for system in ("gcj02", "wgs84"):
        x, y = chinacrs.to_wgs84(lon, lat, system)
        assert (float(x), float(y)) == (lon, lat)


# --- geometries ---------------------------------------------------------------------------


def test_geometry_conversion_types_and_z() -> None:
    poly = shapely.box(116.0, 39.0, 116.1, 39.1)
    point_z = shapely.Point(116.4, 39.9, 50.0)
    out = chinacrs.to_wgs84_geometry([poly, point_z, None], "gcj02")
    assert isinstance(out, np.ndarray) and out[2] is None
    assert shapely.has_z(out[1]) and shapely.get_coordinates(out[1], include_z=True)[0, 2] == 50
    expected = chinacrs.to_wgs84(116.4, 39.9, "gcj02")
    assert shapely.get_coordinates(out[1])[0] == pytest.approx(np.array(expected).ravel())
    single = chinacrs.to_wgs84_geometry(poly, "baidu")
    assert isinstance(single, shapely.Polygon) and single.is_valid
    series = gpd.GeoSeries([poly], index=["a"], crs="EPSG:4326")
    conv = chinacrs.to_wgs84_geometry(series, "amap")
    assert isinstance(conv, gpd.GeoSeries) and conv.crs == "EPSG:4326"
    assert list(conv.index) == ["a"]
    back = chinacrs.from_wgs84_geometry(conv, "amap")
    assert shapely.get_coordinates(back.values) == pytest.approx(shapely.get_coordinates(poly))


def test_geometry_projected_series_is_rejected() -> None:
    series = gpd.GeoSeries([shapely.Point(500000, 3500000)], crs="EPSG:32650")
    with pytest.raises(CRSError, match=r"projected CRS.*to_crs"):
        chinacrs.to_wgs84_geometry(series, "gcj02")


def _boundary_files() -> list[Path]:
    return sorted(BOUNDARIES.glob("*.geojson")) if BOUNDARIES.is_dir() else []


@pytest.mark.shared
@pytest.mark.parametrize("name", [p.name for p in _boundary_files()] or ["<absent>"])
def test_real_gcj02_county_outlines(name: str) -> None:
    path = BOUNDARIES / name
    if not path.is_file():
        pytest.skip(f"real GCJ-02 county outlines not found at {BOUNDARIES}")
    gcj = gpd.read_file(path)
    wgs = chinacrs.to_wgs84_geometry(gcj.geometry, "gcj02")
    back = chinacrs.from_wgs84_geometry(wgs, "gcj02")
    c_gcj = shapely.get_coordinates(gcj.geometry.values)
    c_wgs = shapely.get_coordinates(wgs.values)
    c_back = shapely.get_coordinates(back.values)
    assert len(c_gcj) == len(c_wgs) == len(c_back) > 100
    assert metres(c_gcj[:, 0], c_gcj[:, 1], c_back[:, 0], c_back[:, 1]).max() < 1e-3
    shift = metres(c_gcj[:, 0], c_gcj[:, 1], c_wgs[:, 0], c_wgs[:, 1])
    assert 100 < shift.mean() < 700
    assert shift.max() - shift.min() < 200  # a smooth offset within one county
    assert bool(wgs.is_valid.all()) == bool(gcj.is_valid.all())
    assert wgs.is_valid.all()
    assert shapely.area(wgs.values).sum() == pytest.approx(
        shapely.area(gcj.geometry.values).sum(), rel=1e-3
    )


def test_round_trip_at_the_sqrt_cusp_of_lon_105() -> None:
    # The offset has a sqrt(|lon - 105|) term whose slope is unbounded at lon = 105.
    lon = 105.0 + np.array([0.0, 1e-13, -1e-11, 1e-9, -1e-7, 1e-5])
    lat = np.full_like(lon, 28.0)
    back = chinacrs.wgs84_from_gcj02(*chinacrs.gcj02_from_wgs84(lon, lat))
    assert metres(lon, lat, *back).max() < 1e-6
    back = chinacrs.wgs84_from_bd09(*chinacrs.bd09_from_wgs84(lon, lat))
    assert metres(lon, lat, *back).max() < 1e-6


# --- undeclared GCJ-02 / BD-09 point layers, found against the roads ------------------------


def _puyang():
    """The real township 庆祖镇 (濮阳县, Henan; OSM, WGS-84), its village nodes, and 48 points
    on its roads, up to 40 m off them (homes beside the road), all WGS-84."""
    import pyproj
    from conftest import shared_file

    from coverage.inputs.osm import read_network, read_osm_features

    path = shared_file("osm", "qingzu_puyang_henan.osm.bz2")
    net = read_network(path)
    villages = read_osm_features(path, tags={"place": {"village", "hamlet", "town"}})
    rng = np.random.default_rng(2023)
    e = rng.choice(net.n_edges, 48, p=net.edge_len_m / net.edge_len_m.sum())
    xy = net.interpolate(e, rng.uniform(0, 1, 48) * net.edge_len_m[e])
    angle, off = rng.uniform(0, 2 * np.pi, 48), rng.uniform(0, 40, 48)
    xy = xy + np.column_stack([off * np.cos(angle), off * np.sin(angle)])
    lon, lat = pyproj.Transformer.from_crs(net.crs, "EPSG:4326", always_xy=True).transform(*xy.T)
    return net, villages, np.asarray(lon), np.asarray(lat)


def _layer(lon, lat, name: str, coord_system: str | None = None):
    import pandas as pd

    from coverage.inputs.points import points_from_frame

    df = pd.DataFrame({"名称": [f"点{i}" for i in range(len(lon))], "经度": lon, "纬度": lat})
    return points_from_frame(df, source=name, coord_system=coord_system)


@pytest.mark.shared
def test_undeclared_gcj02_and_bd09_points_on_a_real_township() -> None:
    import warnings

    from coverage.engine.snapping import EdgeIndex
    from coverage.errors import SnapWarning
    from coverage.inputs.points import check_coord_system, suggest_coord_system

    net, villages, lon, lat = _puyang()
    index = EdgeIndex(net)
    layers = {"homes": (lon, lat), "villages": (villages["lon"].to_numpy(float), villages["lat"].to_numpy(float))}
    for what, (x, y) in layers.items():
        shifted = {
            "gcj02": chinacrs.gcj02_from_wgs84(x, y),
            "bd09": chinacrs.bd09_from_gcj02(*chinacrs.gcj02_from_wgs84(x, y)),
        }
        # wgs84 -> gcj02 -> bd09 is what bd09_from_wgs84 does
        np.testing.assert_allclose(shifted["bd09"], chinacrs.bd09_from_wgs84(x, y))
        # true WGS-84 (OSM's own village nodes, homes by the road): no alarm
        assert suggest_coord_system(net, _layer(x, y, f"{what}_wgs84.csv"), index=index) is None
        for system, (sx, sy) in shifted.items():
            name = f"{what}_{system}.csv"
            pattern = (
                rf"{name}: demand points: the median distance to the nearest road is \d+ m; "
                rf"read as {system[:2].upper()}.* it is \d+ m \(closer for \d+% of the {len(x)} points.*"
                rf"Fix: .*declare it: --demand-coord-system {system} \(coord_system='{system}'"
            )
            with pytest.warns(SnapWarning, match=pattern):
                found = check_coord_system(net, _layer(sx, sy, name), label="demand points", index=index)
            assert found["system"] == system and found["median_alt_m"] < 0.6 * found["median_m"]
            assert 400 < found["shift_m"] < (700 if system == "gcj02" else 1500)
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # declared: silent
                assert check_coord_system(net, _layer(sx, sy, name, system), index=index) is None


@pytest.mark.shared
def test_undeclared_gcj02_facilities_in_an_audit_of_a_real_township() -> None:
    import re
    import warnings

    from coverage.audit.run import run_audit
    from coverage.errors import SnapWarning

    net, villages, lon, lat = _puyang()
    homes = _layer(villages["lon"].to_numpy(float), villages["lat"].to_numpy(float), "villages.csv")
    stations = _layer(lon[:8], lat[:8], "stations_amap.csv")
    gx, gy = chinacrs.gcj02_from_wgs84(lon[:8], lat[:8])
    amap = _layer(gx, gy, "stations_amap.csv")
    amap.attrs["kind"] = "facilities"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run_audit(net, amap, homes, with_service_areas=False)
    said = [str(w.message) for w in caught if issubclass(w.category, SnapWarning)]
    # one shifted station even lands 516 m from any road (and is left out)
    assert any(re.match(r"stations_amap\.csv: 1 facilities farther than the snap tolerance", m) for m in said)
    pattern = r"stations_amap\.csv: facilities: the median .* read as GCJ-02.*--facilities-coord-system gcj02"
    assert any(re.match(pattern, m) for m in said), said
    declared = _layer(gx, gy, "stations_amap.csv", "gcj02")
    res = run_audit(net, declared, homes, with_service_areas=False)  # no warning
    ref = run_audit(net, stations, homes, with_service_areas=False)
    np.testing.assert_allclose(res.demand["dist_m"], ref.demand["dist_m"], atol=0.01)


def test_no_alarm_on_the_model_county() -> None:
    import warnings

    from coverage.audit.run import run_audit
    from coverage.datasets import scenarios
    from coverage.datasets.model_county import model_county
    from coverage.inputs.points import suggest_coord_system

    mc = model_county()
    for layer in (mc.facilities, mc.demand, mc.candidates):
        assert suggest_coord_system(mc.network, layer) is None
    # its town is a regular grid of 200 m blocks, where a GCJ-02 shift of ~620 m brings the
    # scenarios' points set back 70 m from the street nearer another street: not an alarm
    assert suggest_coord_system(mc.network, scenarios.makeup_candidates(mc)) is None
    assert suggest_coord_system(mc.network, scenarios.development_scenario(mc).buildings) is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run_audit(mc.network, mc.facilities, mc.demand, with_service_areas=False)
    # the model county's homes read as Baidu coordinates would be: found
    bx, by = chinacrs.bd09_from_wgs84(mc.demand.geometry.x, mc.demand.geometry.y)
    found = suggest_coord_system(mc.network, _layer(bx, by, "homes_baidu.csv"))
    assert found is not None and found["system"] == "bd09"


@pytest.mark.shared
@pytest.mark.parametrize("name", ["West-Oakland.osm.bz2", "aguascalientes.osm.bz2"])
def test_outside_china_nothing_is_suggested(name: str) -> None:
    import pyproj
    from conftest import shared_file

    from coverage.inputs.osm import read_network
    from coverage.inputs.points import suggest_coord_system

    net = read_network(shared_file("osm", name))
    lon, lat = pyproj.Transformer.from_crs(net.crs, "EPSG:4326", always_xy=True).transform(*net.node_xy[::7].T)
    assert suggest_coord_system(net, _layer(lon, lat, "nodes.csv")) is None
    bx, by = chinacrs.bd09_from_wgs84(lon, lat)  # BD-09 shifts even outside China, GCJ-02 not
    assert suggest_coord_system(net, _layer(bx, by, "nodes.csv")) is None  # (outside: not checked)
