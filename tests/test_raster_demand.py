"""Demand from population rasters (coverage.inputs.raster), dasymetric placement
(coverage.inputs.buildings), the generated model-county grid and ``--demand-raster``.

Every total is checked against numbers written by hand into small GeoTIFFs, or against an
independent oracle: the whole raster read at once with rasterio and masked with
``rasterio.features.geometry_mask`` (GDAL's rasterize, cell-centre rule), never the reader's
own windows.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import rasterio
import shapely
from conftest import grid_network, shared_file
from rasterio.features import geometry_mask
from rasterio.transform import from_origin

from coverage.errors import CoverageError, CRSError, DataWarning, InputFileError, SnapWarning
from coverage.inputs.buildings import dasymetric_demand, read_buildings
from coverage.inputs.chinacrs import gcj02_from_wgs84
from coverage.inputs.raster import _chunks, demand_from_rasters

LON0, LAT0, STEP = 113.0, 23.0, 0.001  # a geographic test grid: top-left corner, cell size (degrees)


def write_tif(path: Path, bands: np.ndarray, *, crs: str | None = "EPSG:4326", transform=None, nodata: float | None = -99999.0,
              dtype: str = "float32", **extra) -> Path:  # fmt: skip
    """A GeoTIFF of ``bands`` (2-D: one band; 3-D: several) on a north-up grid."""
    arr = np.asarray(bands, dtype=dtype)
    arr = arr[None] if arr.ndim == 2 else arr
    profile = {"driver": "GTiff", "dtype": dtype, "width": arr.shape[2], "height": arr.shape[1], "count": arr.shape[0],
               "transform": transform or from_origin(LON0, LAT0, STEP, STEP), "nodata": nodata, **extra}  # fmt: skip
    if crs is not None:
        profile["crs"] = crs
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(arr)
    return path


def cell_box(r0: float, c0: float, r1: float, c1: float) -> shapely.Polygon:
    """A lon/lat rectangle from fractional rows/columns of the geographic test grid."""
    return shapely.box(LON0 + c0 * STEP, LAT0 - r1 * STEP, LON0 + c1 * STEP, LAT0 - r0 * STEP)


def oracle(path: Path, boundary: shapely.Geometry | None) -> float:
    """The raster's sum inside ``boundary`` (a geometry in the raster's CRS): read whole, every
    band, nodata excluded, masked by GDAL's rasterize (cell centres)."""
    with rasterio.open(path) as src:
        a = src.read(masked=True).astype(np.float64)
        total = a.filled(0.0).sum(axis=0)
        total[~np.isfinite(total)] = 0.0
        if boundary is None:
            return float(total.sum())
        outside = geometry_mask([boundary], out_shape=total.shape, transform=src.transform)
    return float(total[~outside].sum())


# ------------------------------------------------------------------ sums, nodata, bands, files
def test_cells_become_points_with_the_raster_sum(tmp_path: Path) -> None:
    values = np.array([[1.0, 0.0, 2.5, 4.0], [0.0, 3.0, 0.0, 0.0], [7.0, 0.0, 0.0, 0.25]])
    d = demand_from_rasters(write_tif(tmp_path / "a.tif", values))
    assert d.crs.to_epsg() == 4326 and len(d) == 6  # the six populated cells; empty cells give no point
    assert d["elderly"].sum() == pytest.approx(17.75, abs=1e-9)
    row = d.set_index("id").loc["r2c0"]
    assert (row["cell_row"], row["cell_col"], row["elderly"]) == (2, 0, 7.0)
    assert row.geometry.x == pytest.approx(LON0 + 0.5 * STEP) and row.geometry.y == pytest.approx(LAT0 - 2.5 * STEP)
    assert d.attrs["raster"]["total"] == pytest.approx(17.75) and d.attrs["raster"]["outside_boundary"] == 0


def test_nodata_and_nan_count_nothing(tmp_path: Path) -> None:
    values = np.array([[5.0, -99999.0, 1.0], [np.nan, 2.0, -99999.0]])
    d = demand_from_rasters(write_tif(tmp_path / "n.tif", values))
    assert d["elderly"].sum() == pytest.approx(8.0) and len(d) == 3
    assert d.attrs["raster"]["nodata_cells"] == 3


def test_bands_and_files_are_summed(tmp_path: Path) -> None:
    # WorldPop style: one class per band (60-64 men, 60-64 women), and another class in a second file
    b1 = np.array([[1.0, 2.0], [3.0, -99999.0]])
    b2 = np.array([[10.0, -99999.0], [30.0, 40.0]])
    two = write_tif(tmp_path / "two_bands.tif", np.stack([b1, b2]))
    other = write_tif(tmp_path / "other.tif", np.array([[100.0, 200.0], [300.0, 400.0]]))
    d = demand_from_rasters([two, other]).set_index("id")
    # cell by cell, nodata in one band counting 0 there
    assert d["elderly"].to_dict() == pytest.approx({"r0c0": 111.0, "r0c1": 202.0, "r1c0": 333.0, "r1c1": 440.0})
    assert d.attrs["raster"]["bands"] == 3 and d.attrs["raster"]["nodata_cells"] == 0  # no cell is nodata in every band


def test_a_boundary_cutting_cells_takes_the_cells_whose_centre_is_inside(tmp_path: Path) -> None:
    values = np.arange(1.0, 26.0).reshape(5, 5)  # 1..25, row-major
    path = write_tif(tmp_path / "grid.tif", values)
    # rows 0.7-3.2 and columns 1.2-3.6: cuts the cells around it; centres inside: rows 1-2, columns 2-3
    # (row 3's centre 3.5 > 3.2; column 1's centre 1.5 > 1.2 inside, column 3's 3.5 < 3.6 inside)
    boundary = cell_box(0.7, 1.2, 3.2, 3.6)
    d = demand_from_rasters(path, boundary=boundary)
    expected = values[1:3, 1:4].sum()  # by hand: rows 1-2 x columns 1-3 = 7+8+9+12+13+14
    assert expected == 63.0
    assert d["elderly"].sum() == pytest.approx(63.0) and sorted(d["id"]) == ["r1c1", "r1c2", "r1c3", "r2c1", "r2c2", "r2c3"]
    assert d["elderly"].sum() == pytest.approx(oracle(path, boundary))
    rec = d.attrs["raster"]
    # the window read: rows 0-3, columns 1-3 (the boundary's bounds, out to whole cells)
    assert rec["window"] == (0, 1, 4, 3) and rec["window_total"] == pytest.approx(values[0:4, 1:4].sum())
    assert rec["total"] == pytest.approx(63.0) and rec["outside_boundary"] == pytest.approx(values[0:4, 1:4].sum() - 63.0)
    # a triangle: the oracle (GDAL) and the reader agree cell for cell
    tri = shapely.Polygon([(LON0 + 0.3 * STEP, LAT0 - 0.2 * STEP), (LON0 + 4.9 * STEP, LAT0 - 1.1 * STEP), (LON0 + 1.3 * STEP, LAT0 - 4.8 * STEP)])
    assert demand_from_rasters(path, boundary=tri)["elderly"].sum() == pytest.approx(oracle(path, tri))


def test_reading_by_small_windows_gives_the_same_points(tmp_path: Path, rng: np.random.Generator) -> None:
    values = np.where(rng.random((70, 90)) < 0.7, rng.gamma(2.0, 3.0, (70, 90)), 0.0)
    path = write_tif(tmp_path / "tiled.tif", values, tiled=True, blockxsize=16, blockysize=16)
    boundary = shapely.Point(LON0 + 45 * STEP, LAT0 - 35 * STEP).buffer(30 * STEP)
    whole = demand_from_rasters(path, boundary=boundary)
    small = demand_from_rasters(path, boundary=boundary, max_cells=300)  # windows of one 16 x 16 block
    assert whole["id"].tolist() == small["id"].tolist()
    np.testing.assert_allclose(small["elderly"], whole["elderly"], rtol=0, atol=0)
    assert whole["elderly"].sum() == pytest.approx(oracle(path, boundary), rel=1e-12)
    # only the boundary's bounding window is read
    assert whole.attrs["raster"]["cells_read"] < values.size


def test_chunks_tile_the_window_on_the_block_grid() -> None:
    from rasterio.windows import Window

    win = Window(5, 3, 50, 41)
    cover = np.zeros((60, 60), dtype=int)
    for w in _chunks(win, (16, 16), 300):
        cover[w.row_off:w.row_off + w.height, w.col_off:w.col_off + w.width] += 1
        assert w.width * w.height <= 16 * 16
        assert (w.row_off == 3 or w.row_off % 16 == 0) and (w.col_off == 5 or w.col_off % 16 == 0)
    assert cover[3:44, 5:55].min() == 1 and cover.sum() == 50 * 41


@pytest.mark.parametrize("crs", ["EPSG:32649", "ESRI:54009"], ids=["utm", "mollweide-ghs-pop"])
def test_projected_raster_and_wgs84_boundary(crs: str, tmp_path: Path) -> None:
    # 100 m cells in UTM 49N or in GHS-POP's Mollweide; the boundary is drawn in the raster's CRS
    # 25 m off the cell edges and given in lon/lat
    x, y = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(113.0, 23.0)
    x0, y1 = np.floor(x / 100) * 100, np.ceil(y / 100) * 100
    values = np.arange(1.0, 101.0).reshape(10, 10)
    path = write_tif(tmp_path / "utm.tif", values, crs=crs, transform=from_origin(x0, y1, 100, 100))
    utm_box = shapely.box(x0 + 225, y1 - 675, x0 + 575, y1 - 125)  # centres of columns 2-5, rows 1-6
    t = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    boundary = shapely.transform(shapely.segmentize(utm_box, 10.0), lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))
    d = demand_from_rasters(path, boundary=boundary)
    assert d["elderly"].sum() == pytest.approx(values[1:7, 2:6].sum())
    assert d["elderly"].sum() == pytest.approx(oracle(path, utm_box))
    # the points are the cell centres, in WGS-84
    lon, lat = t.transform(x0 + 250, y1 - 150)
    p = d.set_index("id").loc["r1c2"].geometry
    assert (p.x, p.y) == pytest.approx((lon, lat), abs=1e-9)


def test_gcj02_boundary_is_converted(tmp_path: Path) -> None:
    values = np.ones((60, 60))
    path = write_tif(tmp_path / "ones.tif", values, transform=from_origin(LON0, LAT0, 0.0005, 0.0005))
    wgs = shapely.box(LON0 + 0.0042, LAT0 - 0.0158, LON0 + 0.0151, LAT0 - 0.0043)
    lon, lat = np.asarray(wgs.exterior.coords).T
    glon, glat = gcj02_from_wgs84(lon, lat)  # the outline as Amap / cnmaps give it
    f = tmp_path / "gcj.geojson"
    gpd.GeoDataFrame({"name": ["区"]}, geometry=[shapely.Polygon(np.column_stack([glon, glat]))], crs="EPSG:4326").to_file(f)
    right = demand_from_rasters(path, boundary=f, boundary_coord_system="gcj02")
    assert right["elderly"].sum() == pytest.approx(oracle(path, wgs))
    # undeclared, the outline sits hundreds of metres off and takes other cells
    assert set(demand_from_rasters(path, boundary=f)["id"]) != set(right["id"])


# ------------------------------------------------------------------ bad inputs
def test_bad_rasters_name_the_file_and_the_fix(tmp_path: Path) -> None:
    good = write_tif(tmp_path / "good.tif", np.ones((4, 4)))
    with pytest.raises(InputFileError, match=r"missing\.tif: file not found.*Fix"):
        demand_from_rasters(tmp_path / "missing.tif")
    text = tmp_path / "notes.tif"
    text.write_text("not a raster", encoding="utf-8")
    with pytest.raises(InputFileError, match=r"notes\.tif: cannot read as a raster.*Fix"):
        demand_from_rasters(text)
    coarse = write_tif(tmp_path / "coarse.tif", np.ones((2, 2)), transform=from_origin(LON0, LAT0, 2 * STEP, 2 * STEP))
    with pytest.raises(InputFileError, match=r"coarse\.tif: not on the grid of .*good\.tif.*Fix: .*gdalwarp .*-r sum"):
        demand_from_rasters([good, coarse])
    shifted = write_tif(tmp_path / "shifted.tif", np.ones((4, 4)), crs="EPSG:4490")
    with pytest.raises(InputFileError, match=r"shifted\.tif: not on the grid.*CRS"):
        demand_from_rasters([good, shifted])
    nocrs = write_tif(tmp_path / "nocrs.tif", np.ones((4, 4)), crs=None)
    with pytest.raises(CRSError, match=r"nocrs\.tif: the raster has no coordinate reference system.*gdal_edit"):
        demand_from_rasters(nocrs)
    neg = write_tif(tmp_path / "neg.tif", np.array([[1.0, -5.0], [2.0, 3.0]]))
    with pytest.raises(InputFileError, match=r"neg\.tif: band 1: 1 cells hold negative people \(e\.g\. row 0, column 1: -5\).*a_nodata"):
        demand_from_rasters(neg)
    far = shapely.box(100.0, 40.0, 100.1, 40.1)
    with pytest.raises(InputFileError, match=r"boundary lies outside the raster .*good\.tif.*Fix"):
        demand_from_rasters(good, boundary=far)
    zero = write_tif(tmp_path / "zero.tif", np.zeros((3, 3)))
    with pytest.raises(InputFileError, match=r"zero\.tif: nobody in the raster"):
        demand_from_rasters(zero)
    with pytest.raises(InputFileError, match="no file given"):
        demand_from_rasters([])


def test_a_boundary_partly_beyond_the_raster_warns(tmp_path: Path) -> None:
    path = write_tif(tmp_path / "g.tif", np.ones((10, 10)))
    half_out = cell_box(-10.2, 2.2, 5.2, 7.2)  # two thirds of it north of the raster
    with pytest.warns(DataWarning, match=r"66\.2% of the boundary lies beyond the raster"):
        d = demand_from_rasters(path, boundary=half_out)
    assert d["elderly"].sum() == pytest.approx(oracle(path, half_out)) == 25.0  # rows 0-4 x columns 2-6


# ------------------------------------------------------------------ dasymetric placement
OSM = """<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6">
{nodes}
  <way id="1"><nd ref="1"/><nd ref="2"/><nd ref="3"/><nd ref="4"/><nd ref="1"/><tag k="building" v="house"/><tag k="building:levels" v="2"/></way>
  <way id="2"><nd ref="5"/><nd ref="6"/><nd ref="7"/><nd ref="8"/><nd ref="5"/><tag k="building" v="yes"/></way>
  <way id="3"><nd ref="9"/><nd ref="10"/><nd ref="11"/><nd ref="12"/><nd ref="9"/><tag k="building" v="shed"/></way>
  <way id="4"><nd ref="13"/><nd ref="14"/><nd ref="15"/><nd ref="16"/><nd ref="13"/><tag k="landuse" v="residential"/></way>
</osm>
"""


def _square(nid: int, lon: float, lat: float, d: float) -> str:
    pts = [(lon, lat), (lon + d, lat), (lon + d, lat + d), (lon, lat + d)]
    return "\n".join(f'  <node id="{nid + i}" lat="{y:.7f}" lon="{x:.7f}"/>' for i, (x, y) in enumerate(pts))


def _four_buildings(tmp_path: Path) -> tuple[Path, Path]:
    """A 2 × 2 grid of 0.001-degree cells (90, 40 / 7, 0 people) and an OSM extract whose
    buildings (ways 1, 5, 9, 13) stand in its first cells."""
    tif = write_tif(tmp_path / "p.tif", np.array([[90.0, 40.0], [7.0, 0.0]]))
    nodes = "\n".join([
        _square(1, LON0 + 0.0001, LAT0 - 0.0004, 0.0002), _square(5, LON0 + 0.0005, LAT0 - 0.0004, 0.0002),
        _square(9, LON0 + 0.0001, LAT0 - 0.0009, 0.0002), _square(13, LON0 + 0.0012, LAT0 - 0.0008, 0.0005),
    ])  # fmt: skip
    osm = tmp_path / "town.osm"
    osm.write_text(OSM.format(nodes=nodes), encoding="utf-8")
    return tif, osm


def test_dasymetric_keeps_each_cell_total(tmp_path: Path) -> None:
    # cells of 0.001 degrees: cell (0,0) holds a 2-level house, a same-sized building=yes and a shed;
    # cell (0,1) only residential land; cell (1,0) nothing; cell (1,1) empty
    tif, osm = _four_buildings(tmp_path)
    b = read_buildings(osm)
    assert sorted(b["osm_id"]) == ["w1", "w2", "w4"]  # the shed is no home
    cells = demand_from_rasters(tif)
    d = dasymetric_demand(cells, b)
    per_cell = d.groupby("cell_id")["elderly"].sum()
    for cid, people in cells.set_index("id")["elderly"].items():
        assert per_cell[cid] == pytest.approx(people, rel=1e-12)
    assert d["elderly"].sum() == pytest.approx(137.0, rel=1e-12)
    c0 = d[d["cell_id"] == "r0c0"].set_index("osm_id")
    # equal footprints (same latitude band to 0.0005 degrees): 2 levels against the default 1
    assert c0.loc["w1", "elderly"] / c0.loc["w2", "elderly"] == pytest.approx(2.0, rel=1e-4)
    assert set(c0["placement"]) == {"building"}
    land = d[d["cell_id"] == "r0c1"]
    assert land["placement"].tolist() == ["residential land"] and land["osm_id"].tolist() == ["w4"]
    assert cell_box(0, 1, 1, 2).contains(land.geometry.iloc[0])
    centre = d[d["cell_id"] == "r1c0"]
    assert centre["placement"].tolist() == ["cell centre"] and centre["elderly"].tolist() == [7.0]
    assert (centre.geometry.iloc[0].x, centre.geometry.iloc[0].y) == pytest.approx((LON0 + 0.0005, LAT0 - 0.0015))
    assert d["id"].is_unique and d.attrs["dasymetric"]["cells"] == {"building": 1, "residential land": 1, "cell centre": 1}


# ------------------------------------------------------------------ the audit: unreachable cells counted
def test_cells_no_road_reaches_are_unreachable_not_dropped(tmp_path: Path) -> None:
    from coverage import run_audit

    net, to_xy = grid_network(5, 250.0)  # a 1 km street grid at x 700000-701000, y 2545000-2546000 (UTM 49N)
    values = np.zeros((20, 20))
    values[5, 5] = 30.0  # on the grid
    values[12, 8] = 12.0  # on the grid
    values[2, 19] = 5.0  # 1.45 km east of the grid: no road within 500 m
    path = write_tif(tmp_path / "p.tif", values, crs="EPSG:32649", transform=from_origin(699_500, 2_546_500, 100, 100))
    dem = demand_from_rasters(path)
    t = pyproj.Transformer.from_crs("EPSG:32649", "EPSG:4326", always_xy=True)
    fac = gpd.GeoDataFrame({"id": ["F1"], "name": ["站"]}, geometry=gpd.points_from_xy(*t.transform(*to_xy([[500.0, 500.0]]).T)),
                           crs="EPSG:4326")  # fmt: skip
    with pytest.warns(SnapWarning, match=r"1 demand points farther than the snap tolerance.*r2c19"):
        res = run_audit(net, fac, dem)
    d = res.demand.set_index("id")
    assert len(d) == 3 and d.loc["r2c19", "status"] == "unreachable" and d.loc["r2c19", "weight"] == 5.0
    assert res.coverage.weight_total == pytest.approx(47.0) and res.coverage.weights["unreachable"] == pytest.approx(5.0)
    assert res.coverage.counts["unreachable"] == 1


# ------------------------------------------------------------------ the generated model-county grid and the CLI
def test_generated_population_holds_the_model_county_people(tmp_path: Path) -> None:
    from coverage import model_county
    from coverage.datasets.population import LABEL, write_population

    path = write_population(tmp_path / "pop.tif")
    with rasterio.open(path) as src:
        assert src.tags()["DESCRIPTION"] == LABEL and "GENERATED" in src.descriptions[0]
        assert src.crs.to_epsg() == 32649 and src.res == (100.0, 100.0)
    total = model_county().demand["elderly"].sum()
    assert total == 32678
    d = demand_from_rasters(path)
    assert d["elderly"].sum() == pytest.approx(total, rel=1e-6)  # float32 cells
    assert d.attrs["raster"]["nodata_cells"] > 0  # the river


def test_generated_population_is_cached_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    from coverage.datasets.population import GRID_VERSION, model_county_population

    monkeypatch.setattr(tempfile, "gettempdir", lambda: str(tmp_path))
    first = model_county_population()
    assert first == tmp_path / "yanglao-coverage" / f"population_60plus_v{GRID_VERSION}.tif"
    stamp = first.stat().st_mtime_ns
    assert model_county_population() == first and first.stat().st_mtime_ns == stamp


def test_cli_audit_with_a_raster(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from coverage.cli.commands import main

    folder = tmp_path / "in"
    assert main(["data", str(folder), "--population", "--quiet"]) == 0
    tif, zones = folder / "population_60plus.tif", folder / "zones.geojson"
    out = tmp_path / "out"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SnapWarning)  # cells in the fields, far from the model county's roads
        code = main(["audit", "--demand-raster", str(tif), "--boundary", str(zones), "--out", str(out), "--date", "2026-01-01", "--quiet"])
    printed = capsys.readouterr().out
    assert code == 0, printed
    params = json.loads((out / "parameters.json").read_text(encoding="utf-8"))
    rec = params["demand_raster"]
    zone_union = shapely.union_all(gpd.read_file(zones).to_crs("EPSG:32649").geometry.values)
    assert rec["total"] == pytest.approx(oracle(tif, zone_union), rel=1e-9)
    assert rec["weight_audited"] == pytest.approx(rec["total"], rel=1e-12) == params["summary"][0]["weight_total"]
    assert f"raster demand: {rec['total']:,.1f} people in {rec['points']:,} populated cells inside the boundary" in printed
    assert f"unreachable cells (no road within the snap tolerance, counted, not dropped): {rec['unreachable_points']:,} points" in printed
    # the README shows this run's console: its lines are the ones printed
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    block = readme.split("## Demand from population rasters", 1)[1].split("```", 4)[3]
    shown = [ln for ln in block.strip().splitlines() if ln.strip() != "..."]
    assert len(shown) >= 6 and all(ln in printed.splitlines() for ln in shown), (shown, printed)


@pytest.mark.parametrize(("argv", "message"), [
    (["--demand", "x.csv", "--demand-raster", "{tif}", "--network", "n.osm", "--facilities", "f.csv"], "not both"),
    (["--boundary", "{zones}"], "--boundary applies to --demand-raster only"),
    (["--raster-counts", "population"], "--raster-counts applies to --demand-raster only"),
    (["--cell-rule", "fraction"], "--cell-rule applies to --demand-raster only"),
    (["--demand-raster", "{tif}", "--dasymetric"], "--dasymetric needs an OSM extract"),
    (["--demand-raster", "{missing}"], "missing.tif: file not found"),
])  # fmt: skip
def test_cli_refuses_bad_raster_flags(argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from coverage.cli.commands import main

    tif = write_tif(tmp_path / "p.tif", np.ones((3, 3)))
    for name in ("x.csv", "n.osm", "f.csv"):
        (tmp_path / name).write_text("", encoding="utf-8")
    values = {"tif": str(tif), "zones": str(tif), "missing": str(tmp_path / "missing.tif")}
    argv = [a.format(**values) if "{" in a else (str(tmp_path / a) if a in ("x.csv", "n.osm", "f.csv") else a) for a in argv]
    assert main(["audit", *argv, "--out", str(tmp_path / "o"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("error:") == 1 and message in err, err
    assert not (tmp_path / "o").exists()


# ------------------------------------------------------------------ the real Wuhan grid
@pytest.mark.shared
def test_wuhan_60plus_total_inside_the_boundary(tmp_path: Path) -> None:
    tif = shared_file("population", "wuhan_pop60plus_100m.tif")
    damaged = shared_file("population", "wuhan_boundary.geojson")
    text = damaged.read_text(encoding="utf-8")
    # the shared copy of the boundary has one damaged byte (line 5: `"5",m"name"`): the reader says so ...
    with pytest.raises(CoverageError, match=r"wuhan_boundary\.geojson: 1 problem: cannot read as a vector file .*line 5"):
        demand_from_rasters(tif, boundary=damaged)
    # ... and the outline itself is intact: mend the byte in a copy
    fixed = tmp_path / "wuhan_boundary.geojson"
    fixed.write_text(text.replace('"5",m"name"', '"5", "name"'), encoding="utf-8")
    d = demand_from_rasters(tif, boundary=fixed)
    outline = shapely.geometry.shape(json.loads(fixed.read_text(encoding="utf-8"))["features"][0]["geometry"])
    expected = oracle(tif, outline)
    assert abs(d["elderly"].sum() - expected) <= 1e-4 * expected  # 0.01 %
    assert d["elderly"].sum() == pytest.approx(1.94e6, rel=0.005)  # "about 1.94 million older residents"
    assert d.attrs["raster"]["total"] == pytest.approx(d["elderly"].sum(), rel=1e-12)


# ------------------------------------------------------------------ the bad-input corpus in the --demand-raster role
BAD = Path(__file__).parent / "data" / "bad"
CORPUS = sorted(BAD.iterdir()) + sorted((BAD.parent / "points" / "bad").iterdir())


#: the commands that take --demand-raster, with what each needs besides the shared inputs
RASTER_COMMANDS = {
    "audit": ["--basemap", "none"],
    "batch": ["--regions", str(BAD / "town_zones.geojson"), "--scheduler", "sync", "--no-region-maps"],
}


@pytest.mark.parametrize("cmd", sorted(RASTER_COMMANDS))
@pytest.mark.parametrize("path", CORPUS, ids=[p.name for p in CORPUS])
def test_every_corpus_file_as_a_demand_raster(cmd: str, path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Every file of the corpus given to --demand-raster (and to --boundary beside a good raster),
    in every command that takes them: 0, or 2 with one error line naming it and no output;
    never a traceback."""
    from coverage.cli.commands import main

    town = ["--network", str(BAD / "town.osm"), "--facilities", str(BAD / "town_facilities.csv")]
    good = str(BAD / "raster_town.tif")
    for i, argv in enumerate((["--demand-raster", str(path)], ["--demand-raster", good, "--boundary", str(path)])):
        out = tmp_path / f"out{i}"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            code = main([cmd, *town, *argv, *RASTER_COMMANDS[cmd], "--out", str(out), "--quiet"])
        err = capsys.readouterr().err
        assert code in (0, 2), err
        if code == 2:
            errors = [ln for ln in err.splitlines() if ln.startswith("error: ")]
            assert len(errors) == 1 and path.name in errors[0], err
            assert not out.exists() or not any(out.iterdir())
        elif path.suffix == ".tif":
            assert path.name == "raster_town.tif", err


def test_cli_dasymetric_from_the_network_extract(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``--dasymetric`` without a file takes the buildings of ``--network``'s OSM extract."""
    from coverage.cli.commands import main

    tif = write_tif(tmp_path / "p.tif", np.array([[90.0, 40.0], [7.0, 0.0]]))
    road_nodes = [(100 + i, LON0 - 0.0002 + 0.0012 * i, LAT0 - 0.00115) for i in range(3)]
    nodes = "\n".join([_square(1, LON0 + 0.0001, LAT0 - 0.0004, 0.0002), _square(5, LON0 + 0.0005, LAT0 - 0.0004, 0.0002),
                       *(f'  <node id="{n}" lat="{y:.7f}" lon="{x:.7f}"/>' for n, x, y in road_nodes)])  # fmt: skip
    ways = ('  <way id="1"><nd ref="1"/><nd ref="2"/><nd ref="3"/><nd ref="4"/><nd ref="1"/><tag k="building" v="house"/>'
            '<tag k="building:levels" v="2"/></way>\n'
            '  <way id="2"><nd ref="5"/><nd ref="6"/><nd ref="7"/><nd ref="8"/><nd ref="5"/><tag k="building" v="yes"/></way>\n'
            '  <way id="9"><nd ref="100"/><nd ref="101"/><nd ref="102"/><tag k="highway" v="residential"/></way>')  # fmt: skip
    osm = tmp_path / "roads.osm"
    osm.write_text(f"<?xml version='1.0' encoding='UTF-8'?>\n<osm version=\"0.6\">\n{nodes}\n{ways}\n</osm>\n", encoding="utf-8")
    fac = tmp_path / "f.csv"
    fac.write_text(f"id,name,lon,lat\nF1,站,{LON0 + 0.0010:.6f},{LAT0 - 0.00115:.6f}\n", encoding="utf-8")
    out = tmp_path / "out"
    code = main(["audit", "--network", str(osm), "--facilities", str(fac), "--demand-raster", str(tif), "--dasymetric",
                 "--raster-counts", "population", "--out", str(out), "--date", "2026-01-01", "--quiet"])  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 0, printed
    rec = json.loads((out / "parameters.json").read_text(encoding="utf-8"))["demand_raster"]
    assert rec["dasymetric"]["points"] == {"building": 2, "cell centre": 2} and rec["weight_audited"] == pytest.approx(137.0)
    assert json.loads((out / "parameters.json").read_text(encoding="utf-8"))["weight_column"] == "population"
    assert "dasymetric placement: 2 points at building, 2 points at cell centre" in printed
    demand = gpd.read_file(out / "audit.gpkg", layer="demand").set_index("id")
    # the 2-level house and the 1-level building of the same footprint share cell r0c0's 90 people 2:1
    assert demand.loc["r0c0-b1", "weight"] == pytest.approx(60.0, rel=1e-4) and demand.loc["r0c0-b0", "weight"] == pytest.approx(30.0, rel=1e-4)


# ------------------------------------------------------------------ the area-fraction rule
def test_fraction_rule_weights_cut_cells_by_their_area_inside(tmp_path: Path) -> None:
    values = np.arange(1.0, 26.0).reshape(5, 5)
    path = write_tif(tmp_path / "grid.tif", values)
    r0, c0, r1, c1 = 0.7, 1.2, 3.2, 3.6  # the boundary in cell units: 12 cells touched, 10 of them cut
    boundary = cell_box(r0, c0, r1, c1)
    d = demand_from_rasters(path, boundary=boundary, cell_rule="fraction")
    # by hand: each cell's share inside is the product of its row and column overlaps
    k = np.arange(5.0)
    share = np.outer(np.clip(np.minimum(k + 1, r1) - np.maximum(k, r0), 0, 1), np.clip(np.minimum(k + 1, c1) - np.maximum(k, c0), 0, 1))
    assert share[0, 1] == pytest.approx(0.3 * 0.8) and share[2, 2] == 1.0
    assert d["elderly"].sum() == pytest.approx((values * share).sum(), rel=1e-9)
    got = d.set_index("id")
    for (r, c), s in np.ndenumerate(share):
        if s > 0:
            assert got.loc[f"r{r}c{c}", "cell_fraction"] == pytest.approx(s, rel=1e-9)
            assert got.loc[f"r{r}c{c}", "elderly"] == pytest.approx(values[r, c] * s, rel=1e-9)
    assert len(d) == int((share > 0).sum()) == 12  # rows 0-3 x columns 1-3
    # every point lies inside the boundary, the cut cells' centres outside it moved in
    assert boundary.buffer(1e-12).contains(shapely.points(np.column_stack([d.geometry.x, d.geometry.y]))).all()
    assert got.loc["r0c1", "placement"] == "part of the cell inside" and got.loc["r2c2", "placement"] == "cell centre"
    assert d.attrs["raster"]["cell_rule"].startswith("area fraction")
    # the centre rule on the same boundary: whole cells, a different total
    assert demand_from_rasters(path, boundary=boundary)["elderly"].sum() == pytest.approx(63.0)
    with pytest.raises(CoverageError, match="cell_rule='area'"):
        demand_from_rasters(path, cell_rule="area")


def test_dasymetric_within_a_boundary_keeps_to_the_buildings_inside(tmp_path: Path) -> None:
    tif, osm = _four_buildings(tmp_path)
    boundary = cell_box(0, 0, 2, 0.45)  # the west 45 % of the first column: house w1 inside, w2 outside
    cells = demand_from_rasters(tif, boundary=boundary, cell_rule="fraction")
    d = dasymetric_demand(cells, osm, boundary=boundary).set_index("cell_id")
    assert cells["elderly"].sum() == pytest.approx(0.45 * 97.0)
    assert d.loc["r0c0", "osm_id"] == "w1" and d.loc["r0c0", "elderly"] == pytest.approx(0.45 * 90.0)
    # the cell without buildings keeps its point, inside the boundary
    assert d.loc["r1c0", "placement"] == "cell centre" and boundary.contains(d.loc["r1c0", "geometry"])


@pytest.mark.shared
@pytest.mark.parametrize("name", ["West-Oakland.osm.bz2", "qingzu_puyang_henan.osm.bz2"])
def test_residential_buildings_of_real_extracts_match_osmnx(name: str) -> None:
    """The buildings read with pyosmium's area assembler are the ones osmnx assembles (its own
    parser), the same footprints (areas on the ellipsoid to 1e-9)."""
    import osmnx as ox

    from coverage.inputs.buildings import NON_RESIDENTIAL

    path = shared_file("osm", name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = ox.features_from_xml(path, tags={"building": True})
    g = g[g.geometry.geom_type.isin(["Polygon", "MultiPolygon"]) & ~g["building"].isin(NON_RESIDENTIAL)]
    geod = pyproj.Geod(ellps="WGS84")
    expected = {("w" if t == "way" else "r") + str(i): abs(geod.geometry_area_perimeter(geom)[0]) for (t, i), geom in zip(g.index, g.geometry)}
    b = read_buildings(path)
    got = dict(zip(b.loc[b["kind"] == "building", "osm_id"], b.loc[b["kind"] == "building", "area_m2"]))
    assert len(got) > 20 and set(got) == set(expected)
    assert all(got[k] == pytest.approx(expected[k], rel=1e-9) for k in got)
    assert len(read_buildings(path, bbox=(0.0, 0.0, 1.0, 1.0))) == 0  # nothing outside the box is kept
