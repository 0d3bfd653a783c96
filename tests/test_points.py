"""Tests of coverage.inputs.points: reading demand/facility/candidate points and zone polygons."""

from __future__ import annotations

import logging
import re
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pytest
import shapely

from coverage.errors import (
    CoordinateError,
    CRSError,
    DataWarning,
    InputFileError,
    ParameterError,
    SnapWarning,
)
from coverage.inputs import chinacrs
from coverage.inputs.points import points_from_frame, read_points, read_zones

DATA = Path(__file__).parent / "data" / "points"
BAD = DATA / "bad"
BOUNDARIES = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "boundaries"


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def write_xlsx(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        ws = book.create_sheet(title)
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(row, start=1):
                if value is not None:
                    ws.cell(row=r, column=c, value=value)
    book.save(path)
    return path


def points_gdf(crs: str | None = "EPSG:4326") -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"编号": ["F1", "F2", "F3"], "机构名称": ["甲院", "乙站", "丙中心"], "床位数": [40, 0, 12]},
        geometry=shapely.points([[116.52, 31.74], [116.53, 31.75], [116.51, 31.73]]),
        crs=crs,
    )


# --- good inputs --------------------------------------------------------------------------


def test_gbk_csv_with_chinese_headers(caplog: pytest.LogCaptureFixture) -> None:
    path = DATA / "communities_gbk.csv"
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")  # the fixture really is GBK
    with caplog.at_level(logging.INFO, logger="coverage.inputs.points"):
        gdf = read_points(path)
    assert "gb18030" in caplog.text and "'经度'" in caplog.text
    assert gdf.crs == "EPSG:4326"
    assert list(gdf.columns[:5]) == ["id", "name", "households", "elderly", "source_row"]
    assert gdf["id"].tolist() == ["C001", "C002", "C003", "C004"]
    assert gdf["name"].tolist() == ["幸福小区", "和平里", "东风新村", "学府花园"]
    assert gdf["households"].tolist() == [320, 210, 450, 180]
    assert gdf["households"].dtype == np.float64
    assert gdf["elderly"].sum() == 85 + 60 + 132 + 41
    assert gdf["source_row"].tolist() == [2, 3, 4, 5]
    assert "备注" in gdf.columns and "经度" in gdf.columns
    assert gdf.geometry.x.tolist() == pytest.approx([116.5201, 116.5312, 116.5107, 116.5405])
    assert gdf.attrs["coordinate_columns"] == {"lon": "经度", "lat": "纬度"}
    assert gdf.attrs["encoding"] == "gb18030"
    assert gdf.attrs["field_columns"] == {"households": "户数", "elderly": "老年人口"}


def test_explicit_encoding_and_utf8_bom_and_utf16(tmp_path: Path) -> None:
    gdf = read_points(DATA / "communities_gbk.csv", encoding="gbk")
    assert gdf.attrs["encoding"] == "gbk" and gdf["name"].iloc[0] == "幸福小区"
    text = "名称,经度,纬度\n甲,116.52,31.74\n"
    bom = write(tmp_path / "bom.csv", text, "utf-8-sig")
    assert read_points(bom)["name"].tolist() == ["甲"]
    utf16 = write(tmp_path / "u16.txt", text.replace(",", "\t"), "utf-16")
    gdf = read_points(utf16)
    assert gdf.attrs["encoding"] == "utf-16" and gdf["name"].tolist() == ["甲"]


def test_excel_with_title_row_blank_rows_and_sheets(tmp_path: Path) -> None:
    rows = [
        ["六安市金安区养老服务设施统计表"],
        ["序号", "机构名称", "经度(°)", "纬度(°)", "床位数", "建筑面积(m²)"],
        [1, "城东养老院", 116.52, 31.74, 60, 1200.5],
        [None],
        [2, "西城日照中心", "116.51", "31.742", 20, None],
    ]
    path = write_xlsx(tmp_path / "设施.xlsx", {"说明": [["readme"]], "设施": rows})
    with pytest.warns(DataWarning, match=r"row 5, column '建筑面积\(m²\)'"):
        gdf = read_points(path, kind="facilities", sheet="设施")
    assert gdf["id"].tolist() == ["1", "2"]
    assert gdf["source_row"].tolist() == [3, 5]  # spreadsheet rows; title in 1, header in 2
    assert gdf["capacity"].tolist() == [60, 20]
    assert np.isnan(gdf["floor_area_m2"].iloc[1])
    assert gdf.geometry.y.tolist() == pytest.approx([31.74, 31.742])
    with pytest.warns(DataWarning):
        by_index = read_points(path, kind="facilities", sheet=1)
    assert by_index["name"].tolist() == ["城东养老院", "西城日照中心"]


def test_geojson_points_and_feature_numbers(tmp_path: Path) -> None:
    path = tmp_path / "fac.geojson"
    points_gdf().to_file(path)
    gdf = read_points(path, kind="facilities")
    assert gdf["id"].tolist() == ["F1", "F2", "F3"]
    assert gdf["name"].tolist() == ["甲院", "乙站", "丙中心"]
    assert gdf["capacity"].tolist() == [40, 0, 12]
    assert gdf["source_row"].tolist() == [1, 2, 3]
    assert gdf.attrs["coordinate_columns"] == {"geometry": "geometry"}
    assert gdf.geometry.x.tolist() == pytest.approx([116.52, 116.53, 116.51])


def test_projected_geopackage_is_reprojected(tmp_path: Path) -> None:
    path = tmp_path / "fac.gpkg"
    points_gdf().to_crs("EPSG:32650").to_file(path, layer="sites")
    gdf = read_points(path, kind="candidates", layer="sites")
    assert gdf.crs == "EPSG:4326"
    assert gdf.geometry.x.tolist() == pytest.approx([116.52, 116.53, 116.51], abs=1e-9)


def test_polygons_become_points_on_surface(tmp_path: Path) -> None:
    path = tmp_path / "estates.geojson"
    gpd.GeoDataFrame(
        {"小区名称": ["A", "B"], "户数": [100, 200]},
        geometry=[shapely.box(116.50, 31.70, 116.51, 31.71), shapely.box(116.6, 31.8, 116.7, 31.9)],
        crs="EPSG:4326",
    ).to_file(path)
    gdf = read_points(path)
    assert (gdf.geometry.geom_type == "Point").all()
    assert gdf.geometry.x.iloc[0] == pytest.approx(116.505, abs=0.006)


def test_gcj02_csv_is_converted(caplog: pytest.LogCaptureFixture) -> None:
    path = DATA / "facilities_gcj02.csv"
    raw = pd.read_csv(path)
    with caplog.at_level(logging.INFO, logger="coverage.inputs.points"):
        gdf = read_points(path, kind="facilities", coord_system="GCJ-02")
    assert "converting gcj02" in caplog.text
    x, y = chinacrs.wgs84_from_gcj02(raw["lng"], raw["lat"])
    np.testing.assert_allclose(gdf.geometry.x, x, atol=1e-12)
    np.testing.assert_allclose(gdf.geometry.y, y, atol=1e-12)
    assert gdf["id"].tolist() == ["facilities-2", "facilities-3"]
    assert gdf["capacity"].tolist() == [60, 20]
    assert gdf["lng"].tolist() == raw["lng"].tolist()  # original columns kept as read
    assert gdf.attrs["coord_system"] == "gcj02"


def test_bd09_csv_is_converted(tmp_path: Path) -> None:
    path = write(tmp_path / "baidu.csv", "name,lng_bd09,lat_bd09\n甲,116.5337,31.7437\n")
    gdf = read_points(path, coord_system="baidu")
    x, y = chinacrs.wgs84_from_bd09(116.5337, 31.7437)
    assert gdf.geometry.x.iloc[0] == pytest.approx(float(x), abs=1e-12)
    assert gdf.geometry.y.iloc[0] == pytest.approx(float(y), abs=1e-12)
    assert 0.005 < abs(gdf.geometry.x.iloc[0] - 116.5337) < 0.02


def test_gcj02_geojson_is_converted(tmp_path: Path) -> None:
    path = tmp_path / "amap.geojson"
    points_gdf().to_file(path)
    gdf = read_points(path, coord_system="amap")
    x, y = chinacrs.wgs84_from_gcj02([116.52, 116.53, 116.51], [31.74, 31.75, 31.73])
    np.testing.assert_allclose(gdf.geometry.x, x, atol=1e-12)
    np.testing.assert_allclose(gdf.geometry.y, y, atol=1e-12)


def test_combined_amap_location_column(tmp_path: Path) -> None:
    text = 'name,location,人口\n甲,"116.481028,39.989643",1200\n乙,"116.434446，39.90816",800\n'
    gdf = read_points(write(tmp_path / "amap.csv", text), coord_system="gcj02")
    assert gdf.attrs["coordinate_columns"] == {"combined": "location"}
    x, y = chinacrs.wgs84_from_gcj02([116.481028, 116.434446], [39.989643, 39.90816])
    np.testing.assert_allclose(gdf.geometry.x, x)
    np.testing.assert_allclose(gdf.geometry.y, y)
    assert gdf["population"].tolist() == [1200, 800]


def test_combined_lat_lng_column_is_read_with_warning(tmp_path: Path) -> None:
    path = write(tmp_path / "latlng.csv", 'name,坐标\n甲,"31.74,116.52"\n')
    with pytest.warns(DataWarning, match="'lat,lng'"):
        gdf = read_points(path)
    assert gdf.geometry.x.iloc[0] == pytest.approx(116.52)


def test_one_name_for_both_columns_reads_pairs(tmp_path: Path) -> None:
    path = write(tmp_path / "pairs.csv", "name,pos\n甲,116.52 31.74\n")
    gdf = read_points(path, lon_col="pos", lat_col="pos")
    assert (gdf.geometry.x.iloc[0], gdf.geometry.y.iloc[0]) == (116.52, 31.74)


@pytest.mark.parametrize(
    ("lon", "lat"),
    [("Lng", "LAT"), ("经度(°)", "纬度（°）"), ("X坐标", "Y坐标"), ("lng_gcj02", "lat_gcj02"),
     ("Longitude", "Latitude"), ("东经", "北纬"), ("高德经度", "高德纬度"), ("x", "y")],
)  # fmt: skip
def test_coordinate_column_aliases(tmp_path: Path, lon: str, lat: str) -> None:
    path = write(tmp_path / "a.csv", f"名称,{lon},{lat}\n甲,116.52,31.74\n")
    gdf = read_points(path)
    assert gdf.attrs["coordinate_columns"] == {"lon": lon, "lat": lat}


def test_explicit_columns_override_detection(tmp_path: Path) -> None:
    text = "名称,经度,纬度,wgs_x,wgs_y\n甲,0,0,116.52,31.74\n"
    gdf = read_points(write(tmp_path / "a.csv", text), lon_col="wgs_x", lat_col="wgs_y")
    assert gdf.geometry.x.iloc[0] == 116.52


def test_generated_ids_names_and_other_columns(tmp_path: Path) -> None:
    text = "lon\tlat\t邮编\t等级\tgeometry\n116.52\t31.74\t0371\t3\tx\n116.53\t31.75\t0372\t4\ty\n"
    gdf = read_points(write(tmp_path / "t.tsv", text), kind="candidates")
    assert gdf["id"].tolist() == ["candidates-2", "candidates-3"]
    assert gdf["name"].tolist() == gdf["id"].tolist()
    assert gdf["邮编"].tolist() == ["0371", "0372"]  # codes with leading zeros stay text
    assert gdf["等级"].tolist() == [3, 4]  # number-like text becomes numbers
    assert gdf["geometry_original"].tolist() == ["x", "y"]


def test_id_column_clash_and_numeric_ids(tmp_path: Path) -> None:
    text = "编号,id,名称,经度,纬度\n1,a,甲,116.52,31.74\n2,a,乙,116.53,31.75\n"
    gdf = read_points(write(tmp_path / "a.csv", text), id_col="编号")
    assert gdf["id"].tolist() == ["1", "2"]
    assert gdf["id_original"].tolist() == ["a", "a"]


def test_dms_and_fullwidth_coordinates(tmp_path: Path) -> None:
    text = '名称,经度,纬度,户数\n甲,116°31\'12"E,31°44\'24"N,"1,200"\n乙,１１６．５,３１．７,５\n'
    gdf = read_points(write(tmp_path / "a.csv", text))
    assert gdf.geometry.x.tolist() == pytest.approx([116.52, 116.5])
    assert gdf.geometry.y.tolist() == pytest.approx([31.74, 31.7])
    assert gdf["households"].tolist() == [1200, 5]


def test_missing_population_warns_and_stays_nan(tmp_path: Path) -> None:
    text = "名称,经度,纬度,老年人口,户数\n甲,116.52,31.74,,10\n乙,116.53,31.75,40,20\n丙,116.5,31.7,,30\n"
    path = write(tmp_path / "pop.csv", text)
    with pytest.warns(DataWarning, match=r"pop\.csv: rows 2, 4, column '老年人口'"):
        gdf = read_points(path)
    assert np.isnan(gdf["elderly"].iloc[0]) and gdf["elderly"].iloc[1] == 40


def test_points_from_frame() -> None:
    df = pd.DataFrame({"小区": ["A", "B"], "lng": [116.52, 116.53], "lat": [31.74, 31.75]})
    gdf = points_from_frame(df, source="notebook", kind="demand", coord_system="gcj02")
    x, _ = chinacrs.wgs84_from_gcj02(df["lng"], df["lat"])
    np.testing.assert_allclose(gdf.geometry.x, x)
    assert gdf["name"].tolist() == ["A", "B"] and gdf["source_row"].tolist() == [2, 3]
    assert df.columns.tolist() == ["小区", "lng", "lat"]  # input untouched
    geo = points_from_frame(points_gdf(), kind="facilities")
    assert geo["id"].tolist() == ["F1", "F2", "F3"]
    with pytest.raises(CRSError, match=r"no coordinate reference system.*coord_system="):
        points_from_frame(points_gdf(crs=None), source="mem")
    assert len(points_from_frame(points_gdf(crs=None), coord_system="wgs84")) == 3


def test_no_crs_geopackage_needs_coord_system(tmp_path: Path) -> None:
    path = tmp_path / "nocrs.gpkg"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # pyogrio: "'crs' was not provided"
        points_gdf(crs=None).to_file(path)
    with pytest.raises(CRSError, match=re.escape(str(path)) + ".*no coordinate reference system"):
        read_points(path)
    gdf = read_points(path, coord_system="gcj02")
    x, _ = chinacrs.wgs84_from_gcj02([116.52, 116.53, 116.51], [31.74, 31.75, 31.73])
    np.testing.assert_allclose(gdf.geometry.x, x)


# --- bad inputs ---------------------------------------------------------------------------


def _bad_cases(tmp: Path) -> dict[str, tuple[Path, dict, type[Exception], str]]:
    """name -> (file, read_points kwargs, error class, regex the message must match)."""
    multi = tmp / "multi.gpkg"
    points_gdf().to_file(multi, layer="a")
    points_gdf().to_file(multi, layer="b")
    null_geom = tmp / "null.geojson"
    gpd.GeoDataFrame(
        {"名称": ["a", "b"]}, geometry=[shapely.Point(116, 31), None], crs=4326
    ).to_file(null_geom)
    utm = tmp / "utm.gpkg"
    points_gdf().to_crs("EPSG:32650").to_file(utm)
    return {
        "empty file": (BAD / "empty.csv", {}, InputFileError, r"the file is empty"),
        "header only": (BAD / "header_only.csv", {}, InputFileError, r"no data rows.*row 1"),
        "no coordinate columns": (
            BAD / "no_coordinates.csv", {}, InputFileError,
            r"no longitude/latitude columns among \['名称', '地址', '户数'\].*lon_col=.*lat_col=",
        ),
        "text coordinates": (
            BAD / "text_coordinates.csv", {}, CoordinateError,
            r"row 3, column '经度': not a number \('东经116度'\); row 4, column '纬度'.*decimal",
        ),
        "swapped": (BAD / "swapped.csv", {}, CoordinateError, r"look swapped.*lon_col='纬度'"),
        "out of range": (
            BAD / "out_of_range.csv", {}, CoordinateError,
            r"row 4, column 'lon': longitude out of range.*row 3, column 'lat': latitude",
        ),
        "duplicate ids": (
            BAD / "duplicate_ids.csv", {}, InputFileError,
            r"column 'id': duplicate ids: 'A1' in rows 2, 4.*unique",
        ),
        "negative households": (
            BAD / "negative_households.csv", {}, InputFileError,
            r"row 3, column '户数': negative.*cannot be negative",
        ),
        "undecodable": (
            BAD / "undecodable.csv", {}, InputFileError, r"cannot decode.*line 2.*encoding=",
        ),
        "wrong encoding": (
            DATA / "communities_gbk.csv", {"encoding": "ascii"}, InputFileError,
            r"cannot decode as 'ascii'.*encoding=",
        ),
        "empty coordinate cells": (
            write(tmp / "blank.csv", "名称,经度,纬度\n甲,116.5,\n乙,,31.7\n丙,116.5,31.7\n"), {},
            CoordinateError, r"row 3, column '经度': empty.*row 2, column '纬度': empty",
        ),
        "infinite coordinate": (
            write(tmp / "inf.csv", "名称,lon,lat\n甲,inf,31.7\n"), {}, CoordinateError,
            r"row 2: infinite coordinate \(columns \['lon', 'lat'\]\)",
        ),
        "nan text coordinate": (
            write(tmp / "nan.csv", "名称,lon,lat\n甲,116.5,nan\n"), {}, CoordinateError,
            r"row 2, column 'lat': not a number \('nan'\)",
        ),
        "projected metres in a table": (
            write(tmp / "metres.csv", "名称,x,y\n甲,512345.6,3512345.1\n"), {}, CoordinateError,
            r"out of range.*projected metres",
        ),
        "missing id": (
            write(tmp / "noid.csv", "编号,lon,lat\nA,116.5,31.7\n,116.6,31.8\n"), {},
            InputFileError, r"row 3, column '编号': empty id",
        ),
        "text in households": (
            write(tmp / "hh.csv", "名称,lon,lat,户数\n甲,116.5,31.7,约300\n"), {},
            InputFileError, r"row 2, column '户数': not a number \('约300'\)",
        ),
        "negative capacity": (
            write(tmp / "cap.csv", "名称,lon,lat,床位数\n甲,116.5,31.7,-2\n"),
            {"kind": "facilities"}, InputFileError, r"row 2, column '床位数': negative",
        ),
        "unknown coord_system": (
            BAD / "swapped.csv", {"coord_system": "utm"}, CRSError, r"unknown coordinate system",
        ),
        "missing file": (tmp / "nope.csv", {}, InputFileError, r"file not found"),
        "unsupported type": (
            write(tmp / "a.docx", "x"), {}, InputFileError, r"unsupported file type '\.docx'",
        ),
        "old xls": (write(tmp / "a.xls", "x"), {}, InputFileError, r"\.xls.*save as \.xlsx"),
        "bad lon_col": (
            BAD / "swapped.csv", {"lon_col": "LNG"}, InputFileError,
            r"no column 'LNG' \(given as lon_col\).*'名称', '经度', '纬度'",
        ),
        "geojson null geometry": (
            null_geom, {}, CoordinateError, r"feature 2: no geometry",
        ),
        "several layers": (multi, {}, InputFileError, r"2 layers \['a', 'b'\].*layer="),
        "missing layer": (multi, {"layer": "c"}, InputFileError, r"no layer 'c'"),
        "gcj02 on projected layer": (
            utm, {"coord_system": "gcj02"}, CRSError, r"needs lon/lat, the layer is in 'WGS 84 / UTM zone 50N'",
        ),
        "excel missing sheet": (
            write_xlsx(tmp / "s.xlsx", {"a": [["lon", "lat"], [116, 31]]}), {"sheet": "b"},
            InputFileError, r"no sheet 'b'.*\['a'\]",
        ),
        "excel empty sheet": (
            write_xlsx(tmp / "e.xlsx", {"a": []}), {}, InputFileError, r"no rows",
        ),
        "corrupt excel": (
            write(tmp / "c.xlsx", "not a zip"), {}, InputFileError, r"cannot open the Excel file",
        ),
        "empty geojson": (
            write(tmp / "e.geojson", '{"type": "FeatureCollection", "features": []}'), {},
            InputFileError, r"no features",
        ),
    }  # fmt: skip


BAD_NAMES = [
    "empty file", "header only", "no coordinate columns", "text coordinates", "swapped",
    "out of range", "duplicate ids", "negative households", "undecodable", "wrong encoding",
    "empty coordinate cells", "infinite coordinate", "nan text coordinate",
    "projected metres in a table", "missing id", "text in households", "negative capacity",
    "unknown coord_system", "missing file", "unsupported type", "old xls", "bad lon_col",
    "geojson null geometry", "several layers", "missing layer", "gcj02 on projected layer",
    "excel missing sheet", "excel empty sheet", "corrupt excel", "empty geojson",
]  # fmt: skip


@pytest.mark.parametrize("case", BAD_NAMES)
def test_bad_input(tmp_path: Path, case: str) -> None:
    cases = _bad_cases(tmp_path)
    assert sorted(cases) == sorted(BAD_NAMES)
    path, kwargs, error, pattern = cases[case]
    with pytest.raises(error, match=pattern) as info:
        read_points(path, **kwargs)
    message = str(info.value)
    if case != "unknown coord_system":
        assert str(path) in message  # every message names the file
        assert "Fix:" in message


def test_all_problems_are_reported_at_once(tmp_path: Path) -> None:
    text = "编号,经度,纬度,户数\nA,116.5,31.7,10\nA,abc,31.8,-1\nB,116.6,95,5\n"
    path = write(tmp_path / "many.csv", text)
    with pytest.raises(CoordinateError) as info:
        read_points(path)
    message = str(info.value)
    assert message.startswith(f"{path}: 4 problems:")
    for part in ("row 3, column '经度': not a number", "row 4, column '纬度': latitude out",
                 "'A' in rows 2, 3", "row 3, column '户数': negative"):  # fmt: skip
        assert part in message
    assert isinstance(info.value, InputFileError)


def test_bad_kind() -> None:
    with pytest.raises(ParameterError, match="kind="):
        read_points(BAD / "swapped.csv", kind="houses")


# --- zones --------------------------------------------------------------------------------


def test_zones_from_geojson_with_ids_and_invalid_polygon(tmp_path: Path) -> None:
    bowtie = shapely.Polygon([(116.0, 31.0), (116.1, 31.1), (116.1, 31.0), (116.0, 31.1)])
    path = tmp_path / "towns.geojson"
    gpd.GeoDataFrame(
        {"乡镇代码": ["341502001", "341502002"], "乡镇": ["城北街道", "东城街道"], "人口": [1, 2]},
        geometry=[shapely.box(116.2, 31.2, 116.3, 31.3), bowtie],
        crs="EPSG:4326",
    ).to_file(path)
    with pytest.warns(
        DataWarning,
        match=r"towns\.geojson: feature 2: invalid polygons repaired \(Self-intersection",
    ):
        zones = read_zones(path, id_col="乡镇代码")
    assert zones["zone_id"].tolist() == ["341502001", "341502002"]
    assert zones["zone_name"].tolist() == ["城北街道", "东城街道"]
    assert zones.is_valid.all() and zones.crs == "EPSG:4326"
    assert zones["人口"].tolist() == [1, 2]
    assert set(zones.geometry.geom_type) <= {"Polygon", "MultiPolygon"}
    assert zones.geometry.iloc[1].area == pytest.approx(0.005)  # both triangles of the bowtie


def test_zones_generated_ids_and_projected(tmp_path: Path) -> None:
    path = tmp_path / "z.gpkg"
    gdf = gpd.GeoDataFrame(geometry=[shapely.box(116.2, 31.2, 116.3, 31.3)], crs="EPSG:4326")
    gdf.to_crs("EPSG:32650").to_file(path)
    zones = read_zones(path)
    assert zones["zone_id"].tolist() == ["zone-1"] and zones["zone_name"].tolist() == ["zone-1"]
    assert zones.total_bounds == pytest.approx([116.2, 31.2, 116.3, 31.3], abs=1e-7)


@pytest.mark.parametrize(
    ("geoms", "props", "kwargs", "error", "pattern"),
    [
        ([shapely.Point(116, 31), shapely.box(116, 31, 117, 32)], {}, {}, InputFileError,
         r"feature 1: Point, not polygons.*must be polygons"),
        ([shapely.box(116, 31, 117, 32), None], {}, {}, InputFileError, r"feature 2: no geometry"),
        ([shapely.box(116, 31, 117, 32)] * 2, {"code": ["a", "a"]}, {}, InputFileError,
         r"column 'code': duplicate ids: 'a' in features 1, 2"),
        ([shapely.box(500000, 3500000, 501000, 3501000)], {}, {"coord_system": "wgs84"},
         CoordinateError, r"not longitude/latitude"),
        ([shapely.box(116, 31, 117, 32)], {}, {"id_col": "乡镇"}, InputFileError,
         r"no column '乡镇' \(given as id_col\)"),
        ([shapely.box(116, 31, 117, 32)], {}, {"coord_system": "bd-10"}, CRSError, r"unknown"),
    ],
)  # fmt: skip
def test_bad_zones(tmp_path: Path, geoms, props, kwargs, error, pattern) -> None:
    path = tmp_path / "zones.geojson"
    gpd.GeoDataFrame(props, geometry=geoms, crs="EPSG:4326").to_file(path)
    with pytest.raises(error, match=pattern) as info:
        read_zones(path, **kwargs)
    if error is not CRSError:
        assert str(path) in str(info.value)


def test_zones_reject_tables(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match=r"unsupported file type '\.csv'"):
        read_zones(BAD / "swapped.csv")


@pytest.mark.shared
def test_real_gcj02_county_zone() -> None:
    path = BOUNDARIES / "370124.geojson"
    if not path.is_file():
        pytest.skip(f"real GCJ-02 county outline not found at {path}")
    zones = read_zones(path, coord_system="gcj02")
    raw = gpd.read_file(path)
    expected = chinacrs.to_wgs84_geometry(raw.geometry, "gcj02")
    assert shapely.get_coordinates(zones.geometry.values) == pytest.approx(
        shapely.get_coordinates(expected.values)
    )
    assert zones.is_valid.all() and zones.attrs["coord_system"] == "gcj02"
    shift = np.abs(zones.total_bounds - raw.total_bounds).max()
    assert 0.001 < shift < 0.01  # a few hundred metres


# --- title rows, two-row headers, delimiters, per-file coordinate systems -------------------
# Files in tests/data/bad (the bad-input corpus): b_*.xlsx/csv/geojson, on the tiny town
# (town.osm, town_facilities.csv, town_demand.csv).

CORPUS = Path(__file__).parent / "data" / "bad"


def test_excel_title_rows_and_two_row_header_with_merged_cells() -> None:
    # row 1 title (merged A1:E1), row 2 填报单位, row 3 基本信息 (A3:B3) / 坐标 (C3:D3) /
    # 床位数 (merged down E3:E4), row 4 编号 名称 经度 纬度
    gdf = read_points(CORPUS / "b_two_row_header.xlsx", kind="facilities")
    assert gdf["id"].tolist() == ["F1", "F2"]
    assert gdf["name"].tolist() == ["城西养老院", "城东日间照料中心"]
    assert gdf["capacity"].tolist() == [40, 12]
    assert gdf["source_row"].tolist() == [5, 6]
    assert gdf.attrs["header_rows"] == [3, 4]
    assert gdf.attrs["coordinate_columns"] == {"lon": "经度", "lat": "纬度"}
    assert not any(str(c).startswith("Unnamed") for c in gdf.columns)


def test_two_row_header_whose_upper_row_names_no_coordinates(tmp_path: Path) -> None:
    rows = [
        ["某县养老服务设施一览表"],
        [None],
        ["基本信息", None, "位置", None, "床位数", "所属乡镇"],
        ["编号", "名称", "经度", "纬度", None, None],
        ["F1", "城关养老院", 116.52, 31.74, 40, "城关镇"],
        ["F2", "东街日照中心", 116.53, 31.75, 12, "东街镇"],
    ]
    gdf = read_points(write_xlsx(tmp_path / "t.xlsx", {"设施": rows}), kind="facilities")
    assert gdf["id"].tolist() == ["F1", "F2"] and gdf["capacity"].tolist() == [40, 12]
    assert gdf["township"].tolist() == ["城关镇", "东街镇"]
    assert gdf["source_row"].tolist() == [5, 6]


def test_csv_title_lines_and_two_row_header() -> None:
    gdf = read_points(CORPUS / "b_title_two_row_header.csv", kind="facilities")
    assert gdf["id"].tolist() == ["F1", "F2"] and gdf["capacity"].tolist() == [40, 12]
    assert gdf["source_row"].tolist() == [5, 6]
    assert gdf.geometry.x.tolist() == pytest.approx([116.522113, 116.536903])


def test_header_over_three_rows_is_an_error() -> None:
    pattern = (
        r"b_three_row_header\.xlsx: 1 problem: the header seems to span rows 2-4: column E is "
        r"named only in row 2 \('服务能力'\).*Fix: Make the header one row \(e\.g\. row 4\)"
    )
    with pytest.raises(InputFileError, match=pattern):
        read_points(CORPUS / "b_three_row_header.xlsx", kind="facilities")


def test_data_column_without_a_header_name_is_not_silent() -> None:
    pattern = (
        r"b_unnamed_id_column\.csv: rows 3, 4, column A: data without a column name in the "
        r"header \(row 2\); kept as 'Unnamed: 0'.*Fix: write the column's name"
    )
    with pytest.warns(DataWarning, match=pattern):
        gdf = read_points(CORPUS / "b_unnamed_id_column.csv", kind="facilities")
    assert gdf["Unnamed: 0"].tolist() == ["F1", "F2"]  # kept, not lost


def test_semicolon_csv_with_decimal_commas(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="coverage.inputs.points"):
        gdf = read_points(CORPUS / "b_semicolon_decimal_comma.csv")
    assert "';'-separated with decimal commas" in caplog.text
    ref = read_points(CORPUS / "town_demand.csv")
    assert gdf["id"].tolist() == ref["id"].tolist()
    assert gdf["elderly"].tolist() == ref["elderly"].tolist()
    np.testing.assert_allclose(shapely.get_coordinates(gdf.geometry.values),
                               shapely.get_coordinates(ref.geometry.values))  # fmt: skip


def test_tab_separated_decimal_commas_and_quoted_comma_coordinates(tmp_path: Path) -> None:
    tsv = write(tmp_path / "eu.txt", "名称\t经度\t纬度\t户数\n甲\t115,0240\t35,28\t1.234,5\n")
    gdf = read_points(tsv)
    assert (gdf.geometry.x.iloc[0], gdf.geometry.y.iloc[0]) == (115.024, 35.28)
    assert gdf["households"].iloc[0] == 1234.5
    # a comma CSV: one comma in a coordinate is a decimal comma, in a count a thousands mark
    text = '名称,经度,纬度,户数\n甲,"115,0240","35,28","1,234"\n'
    gdf = read_points(write(tmp_path / "c.csv", text))
    assert (gdf.geometry.x.iloc[0], gdf.geometry.y.iloc[0]) == (115.024, 35.28)
    assert gdf["households"].iloc[0] == 1234


def test_coordinate_comma_is_never_a_thousands_separator() -> None:
    df = pd.DataFrame({"经度": ["116,520,000", "116.52"], "纬度": ["31.74", "31,74"]})
    with pytest.raises(CoordinateError, match=r"row 2, column '经度': not a number \('116,520,000'\)"):
        points_from_frame(df, source="t.csv")
    ok = points_from_frame(df.iloc[1:], source="t.csv")
    assert (ok.geometry.x.iloc[0], ok.geometry.y.iloc[0]) == (116.52, 31.74)


def test_gcj02_on_a_non_wgs84_geographic_file_is_an_error() -> None:
    path = CORPUS / "b_beijing54_points.geojson"
    pattern = (
        r"b_beijing54_points\.geojson: .*coord_system='gcj02' needs lon/lat, the layer is in "
        r"'Beijing 1954' \(EPSG:4214, geographic, not WGS-84/CGCS2000\): the file's own CRS and "
        r"the declared gcj02 conflict"
    )
    with pytest.raises(CRSError, match=pattern):
        read_points(path, coord_system="gcj02")
    assert read_points(path).attrs["file_crs"] == "EPSG:4214"  # its own CRS alone: fine


def test_gcj02_on_projected_zones_names_the_conflict_and_the_flags() -> None:
    pattern = (
        r"b_zones_utm\.geojson: .*\(EPSG:32650, projected\): the file's own CRS and the declared "
        r"gcj02 conflict.*Fix: Leave coord_system out for this file.*--facilities-coord-system gcj02 "
        r"instead of --coord-system"
    )
    with pytest.raises(CRSError, match=pattern):
        read_zones(CORPUS / "b_zones_utm.geojson", coord_system="gcj02")


def test_gcj02_declared_for_an_epsg4326_file_is_applied_and_said(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "amap.gpkg"
    points_gdf().to_file(path)  # a GeoPackage always carries its CRS (EPSG:4326 here)
    with caplog.at_level(logging.INFO, logger="coverage.inputs.points"):
        gdf = read_points(path, coord_system="gcj02")
    assert "the file says WGS 84; its coordinates are read as gcj02, as declared" in caplog.text
    x, _ = chinacrs.wgs84_from_gcj02([116.52, 116.53, 116.51], [31.74, 31.75, 31.73])
    np.testing.assert_allclose(gdf.geometry.x, x, atol=1e-12)


def _town():
    from coverage.inputs.osm import read_network

    return read_network(CORPUS / "town.osm")


def test_audit_warns_about_undeclared_gcj02_facilities() -> None:
    from coverage.audit.run import run_audit

    net, dem = _town(), read_points(CORPUS / "town_demand.csv")
    path = CORPUS / "b_facilities_gcj02.csv"
    pattern = (
        r"b_facilities_gcj02\.csv: facilities: the median distance to the nearest road is \d+ m; "
        r"read as GCJ-02 \(Amap/Tencent\) instead of WGS-84 it is 0 m \(closer for 100% of the 6 "
        r"points; the two readings lie 5\d\d m apart\).*Fix: .*declare it: "
        r"--facilities-coord-system gcj02 \(coord_system='gcj02' in read_points\)"
    )
    with pytest.warns(SnapWarning, match=pattern):
        wrong = run_audit(net, read_points(path, kind="facilities"), dem, with_service_areas=False)
    right = run_audit(net, read_points(path, kind="facilities", coord_system="gcj02"), dem,
                      with_service_areas=False)  # fmt: skip  (declared: no warning at all)
    assert right.facilities["access_m"].max() < 10.0
    assert right.summary["n_covered_radius"].iloc[0] > wrong.summary["n_covered_radius"].iloc[0]


def test_siting_warns_about_undeclared_bd09_demand() -> None:
    from coverage.siting.propose import propose_sites

    net = _town()
    fac = read_points(CORPUS / "town_facilities.csv", kind="facilities")
    cand = read_points(CORPUS / "town_candidates.csv", kind="candidates")
    path = CORPUS / "b_bd09_undeclared.csv"
    pattern = (
        r"b_bd09_undeclared\.csv: demand points: the median distance to the nearest road is \d+ m; "
        r"read as BD-09 \(Baidu\) instead of WGS-84 it is 0 m.*--demand-coord-system bd09"
    )
    with pytest.warns(SnapWarning, match=pattern):
        propose_sites(net, fac, read_points(path), cand, model="mclp", k_new=1, with_service_areas=False)
    propose_sites(net, fac, read_points(path, coord_system="bd09"), cand, model="mclp", k_new=1,
                  with_service_areas=False)  # fmt: skip


def test_wgs84_declared_as_gcj02_is_found_too() -> None:
    from coverage.inputs.points import suggest_coord_system

    dem = read_points(CORPUS / "town_demand.csv")  # WGS-84, on the roads
    assert suggest_coord_system(_town(), dem) is None
    wrong = read_points(CORPUS / "town_demand.csv", coord_system="gcj02")
    found = suggest_coord_system(_town(), wrong)
    assert found is not None and (found["declared"], found["system"]) == ("gcj02", "wgs84")
    assert found["median_alt_m"] < 1.0 < 100 < found["median_m"]


def _cli(argv: list[str], caplog: pytest.LogCaptureFixture) -> str:
    """Run the CLI; its warnings are logged (py.warnings): return the log."""
    from coverage.cli.commands import main

    caplog.clear()
    with caplog.at_level(logging.WARNING):
        assert main(argv) == 0
    return caplog.text


def test_cli_coordinate_system_per_input(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    base = ["audit", "--network", str(CORPUS / "town.osm"), "--facilities", str(CORPUS / "b_facilities_gcj02.csv"),
            "--demand", str(CORPUS / "b_bd09_undeclared.csv"), "--basemap", "none", "--overwrite",
            "--out", str(tmp_path / "out"), "--map", str(tmp_path / "map.html")]  # fmt: skip
    err = _cli(base, caplog)
    assert "declare it: --facilities-coord-system gcj02" in err
    assert "declare it: --demand-coord-system bd09" in err
    # Amap stations and Baidu homes, each declared: no warning about either
    err = _cli([*base, "--facilities-coord-system", "gcj02", "--demand-coord-system", "bd09"], caplog)
    assert "coord-system" not in err and "SnapWarning" not in err
    # --coord-system is the default of every input; an input's own flag overrides it
    err = _cli([*base, "--coord-system", "gcj02", "--demand-coord-system", "baidu"], caplog)
    assert "coord-system" not in err and "SnapWarning" not in err


def test_cli_workflow_inputs_have_their_own_coordinate_system() -> None:
    from coverage.cli.commands import build_parser
    from coverage.cli.workflows import _Inputs

    args = build_parser().parse_args([
        "villages", "--network", str(CORPUS / "town.osm"), "--coord-system", "bd09",
        "--facilities", str(CORPUS / "b_facilities_gcj02.csv"), "--facilities-coord-system", "gcj02",
        "--centres", str(CORPUS / "b_bd09_undeclared.csv"),
    ])  # fmt: skip
    inp = _Inputs(args, {})
    fac = inp.points("facilities", "facilities")
    assert fac.attrs["coord_system"] == "gcj02"
    assert fac.attrs["coord_flag"] == "--facilities-coord-system"
    centres = inp.points("centres", "facilities")
    assert centres.attrs["coord_system"] == "bd09"
    assert centres.attrs["coord_flag"] == "--centres-coord-system"
