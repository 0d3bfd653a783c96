"""Demand from population rasters: one point per populated grid cell, weight = people.

Population grids (WorldPop's age/sex classes or a single 60+ layer, GHS-POP, a statistics
bureau's grid) are read with rasterio **by windows**: only the boundary's bounding window
is read, in chunks aligned to the file's blocks (at most ``max_cells`` cells at a time), so a
province raster never loads whole. Several files (and every band of each file) are summed
cell by cell; they must share one grid (CRS, cell size, origin and shape), else the error
names the file and the ``gdalwarp`` line that puts it on the grid of the first.

Cell rule
---------
``cell_rule="centre"`` (the default): a cell belongs to the study area when its **centre**
lies inside the boundary (shapely ``contains_xy``; the rule GDAL's rasterize uses by default,
so ``rasterio.features.geometry_mask`` gives the same cells), and then all of its people do; a
cell cut by the boundary is not split. The weights returned therefore sum exactly to the
raster's sum over the cells whose centre is inside (the total logged and kept in
``attrs["raster"]``). Over a county of 100 m cells the people gained and lost along the edge
largely cancel; for a township or a village, where the edge cells are a large share, use
``cell_rule="fraction"``: a cell cut by the boundary (found by GDAL's rasterize of the
boundary line, ``all_touched``) counts with the share of its area inside (shapely, in the
raster's CRS), its point at the cell centre when that is inside, else at a point of the part
inside; the weights then sum to the area-weighted raster sum. The people of the cells read
that are not counted are reported as ``outside_boundary``. Nodata cells (the file's nodata value, an
internal mask, NaN) count 0 and are counted; a negative value that is not nodata is an error.
Cells holding nobody give no point (they change no total).

The points are the cell centres in WGS-84 with ``id`` and ``name`` (``r<row>c<col>``, the raster's
own row and column), ``cell_row``, ``cell_col``, ``placement`` (``"cell centre"``) and the people in
``weight_column`` (default ``elderly``, the column the audit weights by). The boundary may be
a file (read with :func:`~coverage.inputs.points.read_zones`, so GCJ-02/BD-09 outlines such as
cnmaps' are converted with ``boundary_coord_system``), a GeoDataFrame or a shapely geometry in
WGS-84; it is projected into the raster's CRS (densified first) to select the cells.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pyproj
import shapely

from ..errors import CRSError, DataWarning, InputFileError, ParameterError

__all__ = ["CELL_RULE", "CELL_RULES", "RasterTotals", "boundary_polygon", "demand_from_rasters", "raster_grid"]

logger = logging.getLogger(__name__)

#: the cell rules, as recorded in every output
CELL_RULES = {
    "centre": "cell centre in boundary (a cell cut by the boundary counts wholly where its centre lies)",
    "fraction": "area fraction (a cell cut by the boundary counts with the share of its area inside)",
}
CELL_RULE = CELL_RULES["centre"]
#: cells read at a time (about 40 MiB of working memory)
MAX_CELLS = 1 << 20
_FIX_GRID = "put it on the grid of {ref} (gdalwarp -t_srs {crs} -te {te} -ts {w} {h} -r sum {path} {stem}_on_grid.tif), or pass only files of one grid"


@dataclass(frozen=True)
class RasterTotals:
    """What was read: the files, the grid, and the people inside and outside the boundary.

    ``total`` is the sum of the weights returned (the raster's sum over the cells inside under
    :data:`CELL_RULE`); ``window_total`` the sum over every cell read (the boundary's bounding
    window, or the whole raster without a boundary); ``outside_boundary`` their difference.
    """

    files: list[str]
    crs: str
    cell_size: tuple[float, float]
    bands: int
    window: tuple[int, int, int, int]  # row_off, col_off, height, width
    cells_read: int
    points: int
    nodata_cells: int
    total: float
    window_total: float
    outside_boundary: float
    cell_rule: str = CELL_RULE
    boundary: str = ""

    def as_record(self) -> dict[str, Any]:
        """A JSON-ready record (the audit's ``parameters.json`` keeps it as ``demand_raster``)."""
        return asdict(self)

    def text(self) -> str:
        """``"1,942,653 people in 812,345 cells inside the boundary (cell centre rule) ..."``."""
        where = "inside the boundary" if self.boundary else "in the raster"
        tail = f"; {self.outside_boundary:,.0f} in cells whose centre lies outside" if self.boundary else ""
        rule = "area-fraction rule" if self.cell_rule == CELL_RULES["fraction"] else "cell-centre rule"
        return (f"{self.total:,.0f} people in {self.points:,} populated cells {where} ({', '.join(Path(f).name for f in self.files)}; "
                f"{rule}){tail}; {self.nodata_cells:,} nodata cells")  # fmt: skip


def _paths(paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]]) -> list[Path]:
    items = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    if not items:
        raise InputFileError("demand raster: no file given. Fix: pass one or more GeoTIFFs (--demand-raster a.tif [b.tif ...])")
    return [Path(p) for p in items]


def _open(path: Path) -> Any:
    """Open one raster, or raise naming the file and the fix."""
    import rasterio

    if not path.exists():
        raise InputFileError(f"{path}: file not found (a population raster). Fix: check the path (working directory: {Path.cwd()})")
    if path.is_dir():
        raise InputFileError(f"{path}: is a folder, not a raster. Fix: give the GeoTIFF file inside it")
    try:
        ds = rasterio.open(path)
    except Exception as exc:  # rasterio.errors.RasterioIOError and GDAL's own
        raise InputFileError(f"{path}: cannot read as a raster ({' '.join(str(exc).split())}). Fix: give a GeoTIFF population grid "
                             "(WorldPop, GHS-POP); check that the download is complete") from exc  # fmt: skip
    if ds.crs is None:
        ds.close()
        raise CRSError(f"{path}: the raster has no coordinate reference system. Fix: set it, e.g. gdal_edit.py -a_srs EPSG:4326 "
                       f"{path} for a WorldPop grid (or ESRI:54009 for GHS-POP)")  # fmt: skip
    t = ds.transform
    if t.b != 0 or t.d != 0 or t.a <= 0 or t.e >= 0:
        ds.close()
        raise InputFileError(f"{path}: the grid is rotated or flipped ({tuple(t)[:6]}). Fix: make it north-up with "
                             f"gdalwarp {path} {path.stem}_northup.tif")  # fmt: skip
    if not all(np.issubdtype(np.dtype(d), np.number) for d in ds.dtypes):
        ds.close()
        raise InputFileError(f"{path}: band types {ds.dtypes} are not numeric. Fix: give a population count grid")
    return ds


def _check_grid(ref: Any, ds: Any) -> None:
    """``ds`` must share the grid of ``ref`` (the first file)."""
    same_crs = pyproj.CRS.from_user_input(ref.crs.to_wkt()) == pyproj.CRS.from_user_input(ds.crs.to_wkt())
    tol = abs(ref.transform.a) * 1e-6
    same_t = np.allclose(tuple(ref.transform)[:6], tuple(ds.transform)[:6], rtol=0, atol=tol)
    if same_crs and same_t and (ref.width, ref.height) == (ds.width, ds.height):
        return
    what = []
    if not same_crs:
        what.append(f"CRS {ds.crs.to_string()} vs {ref.crs.to_string()}")
    if not same_t:
        what.append(f"cell size/origin {tuple(round(v, 9) for v in tuple(ds.transform)[:6])} vs {tuple(round(v, 9) for v in tuple(ref.transform)[:6])}")
    if (ref.width, ref.height) != (ds.width, ds.height):
        what.append(f"{ds.width} x {ds.height} cells vs {ref.width} x {ref.height}")
    b = ref.bounds
    fix = _FIX_GRID.format(ref=ref.name, crs=ref.crs.to_string(), te=f"{b.left!r} {b.bottom!r} {b.right!r} {b.top!r}", w=ref.width,
                           h=ref.height, path=ds.name, stem=Path(ds.name).stem)  # fmt: skip
    raise InputFileError(f"{ds.name}: not on the grid of {ref.name} ({'; '.join(what)}); rasters are summed cell by cell. Fix: {fix}")


def boundary_polygon(boundary: Any, *, coord_system: str | None = None) -> tuple[Any, str]:
    """The boundary as one WGS-84 (multi)polygon and its label: a file (read with
    :func:`~coverage.inputs.points.read_zones`, all features merged), a GeoDataFrame/GeoSeries
    (any CRS) or a shapely geometry in longitude/latitude (``coord_system`` gcj02/bd09 converted)."""
    from .chinacrs import normalise_system, to_wgs84_geometry
    from .points import read_zones

    if isinstance(boundary, (str, os.PathLike)):
        zones = read_zones(boundary, coord_system=coord_system)
        return shapely.union_all(np.asarray(zones.geometry.values)), str(boundary)
    if isinstance(boundary, (gpd.GeoDataFrame, gpd.GeoSeries)):
        if boundary.crs is None:
            raise CRSError("boundary: the layer has no CRS. Fix: set_crs('EPSG:4326') if it holds longitude/latitude")
        geom = shapely.union_all(np.asarray(boundary.to_crs("EPSG:4326").geometry.values))
        label = str(boundary.attrs.get("source") or "boundary")
    else:
        geom, label = boundary, "boundary"
    if not isinstance(geom, (shapely.Polygon, shapely.MultiPolygon)) or geom.is_empty:
        raise InputFileError(f"{label}: not a polygon ({getattr(geom, 'geom_type', type(geom).__name__)}). Fix: give the study area's outline")
    if coord_system is not None and normalise_system(coord_system) != "wgs84":
        geom = to_wgs84_geometry(np.array([geom], dtype=object), coord_system)[0]
    return geom, label


def _boundary_in(geom: Any, crs: Any) -> Any:
    """The WGS-84 boundary in the raster's CRS (densified to 0.005 degrees first, so that
    long straight edges follow the projection)."""
    target = pyproj.CRS.from_user_input(crs.to_wkt())
    if target.equals(pyproj.CRS.from_epsg(4326), ignore_axis_order=True):
        return geom
    dense = shapely.segmentize(geom, 0.005)
    t = pyproj.Transformer.from_crs("EPSG:4326", target, always_xy=True)
    return shapely.transform(dense, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))


def _window(ds: Any, poly: Any, source: str, label: str) -> Any:
    """The raster window holding the boundary (or the whole raster without one)."""
    from rasterio.windows import Window, from_bounds

    full = Window(0, 0, ds.width, ds.height)
    if poly is None:
        return full
    b = ds.bounds
    raster_box = shapely.box(b.left, b.bottom, b.right, b.top)
    if not poly.intersects(raster_box):
        lon_lat = _lonlat_bounds(ds)
        raise InputFileError(f"{label}: the boundary lies outside the raster {source} (raster covers lon {lon_lat[0]:.4f}-{lon_lat[2]:.4f}, "
                             f"lat {lon_lat[1]:.4f}-{lon_lat[3]:.4f}). Fix: give the raster of this area, or check the boundary's "
                             "coordinate system (--boundary-coord-system gcj02 for Amap/cnmaps outlines)")  # fmt: skip
    beyond = poly.difference(raster_box).area / max(poly.area, 1e-300)
    if beyond > 1e-3:
        warnings.warn(f"{label}: {beyond:.1%} of the boundary lies beyond the raster {source}; nobody is counted there. Fix: use a "
                      "raster covering the whole study area", DataWarning, stacklevel=3)  # fmt: skip
    elif beyond > 0:
        logger.info("%s: %.4f%% of the boundary lies beyond the raster's edge", label, 100 * beyond)
    x0, y0, x1, y1 = poly.bounds
    w = from_bounds(x0, y0, x1, y1, transform=ds.transform)
    r0, c0 = int(np.floor(w.row_off)), int(np.floor(w.col_off))
    r1, c1 = int(np.ceil(w.row_off + w.height)), int(np.ceil(w.col_off + w.width))
    return Window(c0, r0, c1 - c0, r1 - r0).intersection(full)


def _lonlat_bounds(ds: Any) -> tuple[float, float, float, float]:
    b = ds.bounds
    t = pyproj.Transformer.from_crs(pyproj.CRS.from_user_input(ds.crs.to_wkt()), "EPSG:4326", always_xy=True)
    x0, y0, x1, y1 = t.transform_bounds(b.left, b.bottom, b.right, b.top)
    return float(x0), float(y0), float(x1), float(y1)


def _chunks(win: Any, block: tuple[int, int], max_cells: int) -> Iterator[Any]:
    """Windows tiling ``win``, at most ``max_cells`` cells each (one block at the least),
    their edges on the file's block grid."""
    from rasterio.windows import Window

    bh, bw = max(int(block[0]), 1), max(int(block[1]), 1)
    r0, c0, h, w = int(win.row_off), int(win.col_off), int(win.height), int(win.width)
    cw = w if w * bh <= max_cells else max(bw, (max_cells // bh) // bw * bw)
    ch = max(bh, (max_cells // max(cw, 1)) // bh * bh)
    r = r0
    while r < r0 + h:
        r_end = min(r0 + h, (r // ch + 1) * ch)
        c = c0
        while c < c0 + w:
            c_end = min(c0 + w, (c // cw + 1) * cw) if cw < w else c0 + w
            yield Window(c, r, c_end - c, r_end - r)
            c = c_end
        r = r_end


def _read_sum(datasets: list[Any], win: Any) -> tuple[np.ndarray, int]:
    """People per cell of ``win`` summed over every band of every file (nodata = 0), and the
    number of cells that are nodata in every band."""
    total = np.zeros((int(win.height), int(win.width)), dtype=np.float64)
    valid = np.zeros(total.shape, dtype=bool)
    for ds in datasets:
        for band in range(1, ds.count + 1):
            try:
                a = ds.read(band, window=win, masked=True)
            except Exception as exc:  # rasterio.errors.RasterioIOError: a truncated or damaged file
                raise InputFileError(f"{ds.name}: band {band}: cannot read rows {int(win.row_off)}-{int(win.row_off + win.height) - 1} "
                                     f"({' '.join(str(exc).split())}); the file is damaged or truncated. Fix: download it again "
                                     "(gdalinfo -checksum checks it)") from exc  # fmt: skip
            data = np.ma.filled(a.astype(np.float64), np.nan)
            ok = np.isfinite(data)
            if (bad := ok & (data < 0)).any():
                r, c = (int(v[0]) for v in np.nonzero(bad))
                raise InputFileError(
                    f"{ds.name}: band {band}: {int(bad.sum())} cells hold negative people (e.g. row {int(win.row_off) + r}, column "
                    f"{int(win.col_off) + c}: {data[r, c]:g}) and are not the nodata value ({ds.nodatavals[band - 1]}). Fix: set the "
                    f"file's nodata value (gdal_edit.py -a_nodata {data[r, c]:g} {ds.name}) or correct the cells"
                )  # fmt: skip
            total += np.where(ok, data, 0.0)
            valid |= ok
    return total, int((~valid).sum())


def raster_grid(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The grid of a raster (``crs`` as WKT, ``transform`` as 6 numbers, ``width``, ``height``)."""
    with ExitStack() as stack:
        ds = stack.enter_context(_open(Path(path)))
        return {"crs": ds.crs.to_wkt(), "transform": list(tuple(ds.transform)[:6]), "width": ds.width, "height": ds.height}


def demand_from_rasters(  # long: reads, checks, chunks, masks and builds the layer in one pass; each step is one call
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    boundary: Any = None,
    boundary_coord_system: str | None = None,
    weight_column: str = "elderly",
    max_cells: int = MAX_CELLS,
    cell_rule: str = "centre",
) -> gpd.GeoDataFrame:
    """Demand points (cell centres, EPSG:4326) from one or more population GeoTIFFs, summed.

    Parameters
    ----------
    paths
        One GeoTIFF or several on one grid; every band of every file is summed (e.g. the
        WorldPop age/sex classes 60-80+, or one 60+ layer).
    boundary
        The study area (file, GeoDataFrame or WGS-84 geometry, see :func:`boundary_polygon`);
        ``None``: the whole raster.
    boundary_coord_system
        ``gcj02``/``bd09`` for an Amap/Baidu (cnmaps) outline.
    weight_column
        Column the people go into (``elderly``: the audit weights by it).
    max_cells
        Cells read at a time.
    cell_rule
        ``"centre"`` (a cell counts wholly when its centre is inside) or ``"fraction"`` (a cell
        cut by the boundary counts with the share of its area inside); see the module doc.

    Returns
    -------
    geopandas.GeoDataFrame
        ``id`` and ``name`` (``r<row>c<col>``, one string shared), ``<weight_column>``, ``cell_row``, ``cell_col``, ``placement`` and point geometry;
        ``attrs["raster"]`` is the :class:`RasterTotals` record, ``attrs["raster_grid"]`` the
        grid (:func:`raster_grid`), ``attrs["source"]`` the file names.

    Raises
    ------
    InputFileError
        Missing file, not a raster, grids that differ, negative people, a boundary outside
        the raster, nobody inside the boundary.
    CRSError
        A raster without a CRS.
    """
    if cell_rule not in CELL_RULES:
        raise ParameterError(f"cell_rule={cell_rule!r}: choose 'centre' or 'fraction' (--cell-rule)")
    files = _paths(paths)
    poly_ll, label = (None, "") if boundary is None else boundary_polygon(boundary, coord_system=boundary_coord_system)
    source = " + ".join(str(f) for f in files)
    with ExitStack() as stack:
        datasets = [stack.enter_context(_open(f)) for f in files]
        ref = datasets[0]
        for ds in datasets[1:]:
            _check_grid(ref, ds)
        poly = None if poly_ll is None else _boundary_in(poly_ll, ref.crs)
        win = _window(ref, poly, source, label)
        if poly is not None:
            shapely.prepare(poly)
        t = ref.transform
        parts: list[tuple[np.ndarray, ...]] = []
        window_total, nodata = 0.0, 0
        for chunk in _chunks(win, ref.block_shapes[0], max_cells):
            values, n_nodata = _read_sum(datasets, chunk)
            nodata += n_nodata
            window_total += float(values.sum())
            parts.append(_cells_inside(values, chunk, t, poly, cell_rule))
        grid = {"crs": ref.crs.to_wkt(), "transform": list(tuple(t)[:6]), "width": ref.width, "height": ref.height}
        crs_text = ref.crs.to_string()
        bands = sum(ds.count for ds in datasets)
    rows, cols, people, x, y, frac = (np.concatenate([p[k] for p in parts]) if parts else np.zeros(0) for k in range(6))
    order = np.lexsort((cols, rows))  # row by row, whatever the windows
    rows, cols, people, x, y, frac = rows[order], cols[order], people[order], x[order], y[order], frac[order]
    total = float(people.sum())
    if len(people) == 0:
        where = f"inside the boundary {label}" if label else "in the raster"
        raise InputFileError(f"{source}: nobody {where} (every cell is 0 or nodata). Fix: check that the raster is the population "
                             "of this area and its nodata value, and the boundary's coordinate system")  # fmt: skip
    lon, lat = _to_lonlat(x, y, grid["crs"])
    ids = [f"r{r}c{c}" for r, c in zip(rows.tolist(), cols.tolist(), strict=True)]
    placement = np.where(frac < 1, "part of the cell inside", "cell centre") if cell_rule == "fraction" else "cell centre"
    out = gpd.GeoDataFrame({"id": ids, "name": ids, weight_column: people, "cell_row": rows, "cell_col": cols, "placement": placement},
                           geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")  # fmt: skip
    if cell_rule == "fraction":
        out["cell_fraction"] = frac
    totals = RasterTotals(
        files=[str(f) for f in files], crs=crs_text, cell_size=(float(t.a), float(-t.e)), bands=bands,
        window=(int(win.row_off), int(win.col_off), int(win.height), int(win.width)), cells_read=int(win.height * win.width),
        points=len(out), nodata_cells=nodata, total=total, window_total=window_total,
        outside_boundary=window_total - total, boundary=label, cell_rule=CELL_RULES[cell_rule],
    )  # fmt: skip
    out.attrs.update(source=source, coord_system="wgs84", raster=totals.as_record(), raster_grid=grid, weight_column=weight_column)
    logger.info("%s", totals.text())
    return out


def _cells_inside(values: np.ndarray, chunk: Any, t: Any, poly: Any, rule: str) -> tuple[np.ndarray, ...]:
    """The populated cells of a chunk that count: rows, columns, people, point x and y (raster
    CRS) and the share of each cell counted."""
    r, c = np.nonzero(values > 0)
    rows, cols = r + int(chunk.row_off), c + int(chunk.col_off)
    x, y = t.c + (cols + 0.5) * t.a, t.f + (rows + 0.5) * t.e
    frac = np.ones(len(r))
    if poly is not None:  # only the populated cells are tested
        frac = shapely.contains_xy(poly, x, y).astype(np.float64)
        if rule == "fraction":
            from rasterio.features import rasterize
            from rasterio.windows import transform as window_transform

            cut = rasterize([(poly.boundary, 1)], out_shape=values.shape, transform=window_transform(chunk, t), all_touched=True,
                            fill=0, dtype="uint8")[r, c].astype(bool)  # fmt: skip
            if cut.any():
                x0, y1 = t.c + cols[cut] * t.a, t.f + rows[cut] * t.e
                part = shapely.intersection(shapely.box(x0, y1 + t.e, x0 + t.a, y1), poly)
                frac[cut] = np.clip(shapely.area(part) / abs(t.a * t.e), 0.0, 1.0)
                moved = np.flatnonzero(cut)[(frac[cut] > 0) & (frac[cut] == frac[cut]) & ~shapely.contains_xy(poly, x[cut], y[cut])]
                if len(moved):  # centre outside: a point of the part inside
                    pts = shapely.point_on_surface(part[np.searchsorted(np.flatnonzero(cut), moved)])
                    x[moved], y[moved] = shapely.get_x(pts), shapely.get_y(pts)
    keep = frac > 0
    return (rows[keep].astype(np.int32), cols[keep].astype(np.int32), values[r, c][keep] * frac[keep], x[keep], y[keep], frac[keep])


def _to_lonlat(x: np.ndarray, y: np.ndarray, crs_wkt: str) -> tuple[np.ndarray, np.ndarray]:
    crs = pyproj.CRS.from_user_input(crs_wkt)
    if crs.equals(pyproj.CRS.from_epsg(4326), ignore_axis_order=True):
        return x, y
    t = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    lon, lat = t.transform(x, y)
    return np.asarray(lon), np.asarray(lat)
