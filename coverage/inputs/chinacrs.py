"""Conversions between WGS-84 and the obfuscated Chinese map coordinate systems.

Chinese web maps do not publish WGS-84 coordinates:

* **GCJ-02** ("Mars coordinates", 国测局坐标) is used by Amap/Gaode (高德), Tencent (腾讯)
  and Google Maps in mainland China. It shifts WGS-84 longitude/latitude by a smooth,
  non-linear offset (about 100-700 m) computed on the Krasovsky ellipsoid
  (``a = 6378245.0``, ``e^2 = 0.00669342162296594323``). Outside a rough bounding box of
  China (lon 72.004-137.8347, lat 0.8293-55.8271) no shift is applied.
* **BD-09** is used by Baidu (百度). It applies a further rotation and offset on top of
  GCJ-02 (``x_pi = pi * 3000 / 180``), everywhere.

WGS-84, CGCS2000 (国家2000, Tianditu/天地图) and GPS readings agree to centimetres and are
treated as one system here.

The forward transforms (WGS-84 → GCJ-02 → BD-09) are closed formulas. Their inverses are
computed by fixed-point iteration on the forward formula, which converges to well under a
millimetre (the usual one-step inverse ``2 g - f(g)`` is only metre-accurate).

All functions are vectorised over numpy arrays and return ``float64`` arrays; NaN inputs
give NaN outputs.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

from ..errors import CRSError, ParameterError

__all__ = [
    "SYSTEMS",
    "bd09_from_gcj02",
    "bd09_from_wgs84",
    "from_wgs84",
    "from_wgs84_geometry",
    "gcj02_from_bd09",
    "gcj02_from_wgs84",
    "in_china_box",
    "normalise_system",
    "to_wgs84",
    "to_wgs84_geometry",
    "wgs84_from_bd09",
    "wgs84_from_gcj02",
]

logger = logging.getLogger(__name__)

ArrayLike = npt.ArrayLike
FloatArray = npt.NDArray[np.float64]

_A = 6378245.0  # Krasovsky 1940 semi-major axis, metres
_EE = 0.00669342162296594323  # Krasovsky 1940 first eccentricity squared
_X_PI = np.pi * 3000.0 / 180.0
_BD_DLON = 0.0065
_BD_DLAT = 0.006
_BOX = (72.004, 137.8347, 0.8293, 55.8271)  # lon_min, lon_max, lat_min, lat_max

#: Canonical system names and their accepted aliases (matched case-insensitively, ignoring
#: spaces, ``-``, ``_`` and ``:``).
SYSTEMS: dict[str, tuple[str, ...]] = {
    "wgs84": (
        "wgs84", "WGS-84", "WGS 84", "EPSG:4326", "4326", "cgcs2000", "EPSG:4490",
        "tianditu", "天地图", "gps", "osm",
    ),
    "gcj02": ("gcj02", "GCJ-02", "amap", "gaode", "高德", "tencent", "腾讯", "mars", "火星"),
    "bd09": ("bd09", "BD-09", "bd09ll", "baidu", "百度"),
}  # fmt: skip


def _key(name: str) -> str:
    return re.sub(r"[\s\-_:]", "", name).lower()


_ALIASES = {_key(alias): canon for canon, aliases in SYSTEMS.items() for alias in aliases}


def normalise_system(name: str) -> str:
    """Return the canonical name (``"wgs84"``, ``"gcj02"`` or ``"bd09"``) of a system.

    Parameters
    ----------
    name
        A system name or alias, e.g. ``"WGS-84"``, ``"EPSG:4326"``, ``"cgcs2000"``,
        ``"amap"``, ``"gaode"``, ``"tencent"``, ``"baidu"`` (case-insensitive).

    Returns
    -------
    str
        ``"wgs84"``, ``"gcj02"`` or ``"bd09"``.

    Raises
    ------
    CRSError
        If the name is not known; the message lists the accepted names.
    """
    canon = _ALIASES.get(_key(name)) if isinstance(name, str) else None
    if canon is None:
        valid = "; ".join(f"{c}: {', '.join(a)}" for c, a in SYSTEMS.items())
        hint = ""
        if isinstance(name, str) and "mc" in _key(name):
            hint = " (Baidu Mercator bd09mc is not supported: export longitude/latitude)"
        raise CRSError(f"unknown coordinate system {name!r}{hint}. Fix: use one of {valid}")
    return canon


def _as_float(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    x, y = np.broadcast_arrays(np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64))
    return x.copy(), y.copy()


def in_china_box(lon: ArrayLike, lat: ArrayLike) -> npt.NDArray[np.bool_]:
    """Whether points lie in the rough box of China inside which GCJ-02 shifts.

    Parameters
    ----------
    lon, lat
        Longitudes and latitudes in degrees.

    Returns
    -------
    numpy.ndarray
        Boolean array; False for NaN.
    """
    x, y = _as_float(lon, lat)
    return (x >= _BOX[0]) & (x <= _BOX[1]) & (y >= _BOX[2]) & (y <= _BOX[3])


def _gcj_offset(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """The GCJ-02 offset (degrees) at WGS-84 ``lon, lat``, without the box test."""
    x = lon - 105.0
    y = lat - 35.0
    common = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    dlat += common
    dlat += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    dlon += common
    dlon += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    radlat = lat / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrtmagic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * np.pi)
    return dlon, dlat


def _bd_forward(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    z = np.hypot(lon, lat) + 0.00002 * np.sin(lat * _X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _X_PI)
    return z * np.cos(theta) + _BD_DLON, z * np.sin(theta) + _BD_DLAT


def _check_iteration(tol_deg: float, max_iter: int) -> None:
    if not (np.isfinite(tol_deg) and tol_deg > 0) or int(max_iter) < 1:
        raise ParameterError(
            f"tol_deg={tol_deg!r} must be a positive number and max_iter={max_iter!r} >= 1"
        )


def _invert(
    forward: Callable[[FloatArray, FloatArray], tuple[FloatArray, FloatArray]],
    target_lon: FloatArray,
    target_lat: FloatArray,
    start_lon: FloatArray,
    start_lat: FloatArray,
    *,
    tol_deg: float,
    max_iter: int,
    name: str,
) -> tuple[FloatArray, FloatArray]:
    """Solve ``forward(x) = target`` by the fixed-point step ``x -= forward(x) - target``.

    The step converges because both transforms are the identity plus an offset whose
    derivative is far below one.
    """
    x, y = start_lon.copy(), start_lat.copy()
    worst = np.inf
    for _ in range(int(max_iter)):
        fx, fy = forward(x, y)
        dx = fx - target_lon
        dy = fy - target_lat
        x -= dx
        y -= dy
        worst = float(
            np.max(
                np.maximum(np.abs(dx), np.abs(dy)),
                initial=0.0,
                where=np.isfinite(dx) & np.isfinite(dy),
            )
        )
        if worst < tol_deg:
            # One more (cheap) step: near lon = 105 degrees the offset has a sqrt cusp
            # where convergence is slower, and the extra step keeps the error far below
            # the tolerance there too.
            fx, fy = forward(x, y)
            x -= fx - target_lon
            y -= fy - target_lat
            break
    else:
        logger.warning(
            "%s: iteration stopped after %d steps with residual %.3g degrees (tol_deg=%g)",
            name, max_iter, worst, tol_deg,
        )  # fmt: skip
    return x, y


def gcj02_from_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert WGS-84 longitude/latitude to GCJ-02 (Amap, Tencent).

    Parameters
    ----------
    lon, lat
        WGS-84 coordinates in degrees (scalars or arrays of one shape).

    Returns
    -------
    tuple of numpy.ndarray
        GCJ-02 ``(lon, lat)`` as float64; points outside China's box are returned unchanged.
    """
    x, y = _as_float(lon, lat)
    inside = in_china_box(x, y)
    if inside.any():
        dlon, dlat = _gcj_offset(x[inside], y[inside])
        x[inside] += dlon
        y[inside] += dlat
    return x, y


def wgs84_from_gcj02(
    lon: ArrayLike, lat: ArrayLike, *, tol_deg: float = 1e-10, max_iter: int = 30
) -> tuple[FloatArray, FloatArray]:
    """Convert GCJ-02 longitude/latitude back to WGS-84, iteratively.

    Parameters
    ----------
    lon, lat
        GCJ-02 coordinates in degrees.
    tol_deg
        Stop when the forward transform of the estimate is within this many degrees of the
        input, then take one more step (1e-10 degrees is about 0.01 mm; the final error is
        far smaller, typically below a micrometre).
    max_iter
        At most this many fixed-point steps (usually 3-5 are needed); a warning is logged
        if the tolerance is not reached.

    Returns
    -------
    tuple of numpy.ndarray
        WGS-84 ``(lon, lat)`` as float64. Points outside China's box (tested on the input)
        are returned unchanged.
    """
    _check_iteration(tol_deg, max_iter)
    x, y = _as_float(lon, lat)
    inside = in_china_box(x, y)
    if inside.any():
        gx, gy = x[inside], y[inside]

        def forward(a: FloatArray, b: FloatArray) -> tuple[FloatArray, FloatArray]:
            dlon, dlat = _gcj_offset(a, b)
            return a + dlon, b + dlat

        dlon, dlat = _gcj_offset(gx, gy)
        x[inside], y[inside] = _invert(
            forward, gx, gy, gx - dlon, gy - dlat,
            tol_deg=tol_deg, max_iter=max_iter, name="wgs84_from_gcj02",
        )  # fmt: skip
    return x, y


def bd09_from_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert GCJ-02 longitude/latitude to BD-09 (Baidu).

    Parameters
    ----------
    lon, lat
        GCJ-02 coordinates in degrees.

    Returns
    -------
    tuple of numpy.ndarray
        BD-09 ``(lon, lat)`` as float64 (the BD-09 offset applies everywhere).
    """
    return _bd_forward(*_as_float(lon, lat))


def gcj02_from_bd09(
    lon: ArrayLike, lat: ArrayLike, *, tol_deg: float = 1e-10, max_iter: int = 30
) -> tuple[FloatArray, FloatArray]:
    """Convert BD-09 (Baidu) longitude/latitude to GCJ-02, iteratively.

    The widely copied closed-form inverse is only approximate; it is used as the starting
    point of a fixed-point iteration on the exact forward formula.

    Parameters
    ----------
    lon, lat
        BD-09 coordinates in degrees.
    tol_deg, max_iter
        As in :func:`wgs84_from_gcj02`.

    Returns
    -------
    tuple of numpy.ndarray
        GCJ-02 ``(lon, lat)`` as float64.
    """
    _check_iteration(tol_deg, max_iter)
    bx, by = _as_float(lon, lat)
    x = bx - _BD_DLON
    y = by - _BD_DLAT
    z = np.hypot(x, y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    return _invert(
        _bd_forward, bx, by, z * np.cos(theta), z * np.sin(theta),
        tol_deg=tol_deg, max_iter=max_iter, name="gcj02_from_bd09",
    )  # fmt: skip


def bd09_from_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert WGS-84 longitude/latitude to BD-09 (via GCJ-02).

    Parameters
    ----------
    lon, lat
        WGS-84 coordinates in degrees.

    Returns
    -------
    tuple of numpy.ndarray
        BD-09 ``(lon, lat)`` as float64.
    """
    return bd09_from_gcj02(*gcj02_from_wgs84(lon, lat))


def wgs84_from_bd09(
    lon: ArrayLike, lat: ArrayLike, *, tol_deg: float = 1e-10, max_iter: int = 30
) -> tuple[FloatArray, FloatArray]:
    """Convert BD-09 longitude/latitude to WGS-84 (both inverse steps iterative).

    Parameters
    ----------
    lon, lat
        BD-09 coordinates in degrees.
    tol_deg, max_iter
        As in :func:`wgs84_from_gcj02`.

    Returns
    -------
    tuple of numpy.ndarray
        WGS-84 ``(lon, lat)`` as float64.
    """
    gx, gy = gcj02_from_bd09(lon, lat, tol_deg=tol_deg, max_iter=max_iter)
    return wgs84_from_gcj02(gx, gy, tol_deg=tol_deg, max_iter=max_iter)


def to_wgs84(lon: ArrayLike, lat: ArrayLike, system: str) -> tuple[FloatArray, FloatArray]:
    """Convert coordinates given in ``system`` to WGS-84.

    Parameters
    ----------
    lon, lat
        Longitudes and latitudes in degrees.
    system
        ``"wgs84"``, ``"gcj02"`` or ``"bd09"`` or an alias (see :func:`normalise_system`).

    Returns
    -------
    tuple of numpy.ndarray
        WGS-84 ``(lon, lat)`` as float64 (a copy, also for ``"wgs84"``).

    Raises
    ------
    CRSError
        If ``system`` is unknown.
    """
    canon = normalise_system(system)
    if canon == "gcj02":
        return wgs84_from_gcj02(lon, lat)
    if canon == "bd09":
        return wgs84_from_bd09(lon, lat)
    return _as_float(lon, lat)


def from_wgs84(lon: ArrayLike, lat: ArrayLike, system: str) -> tuple[FloatArray, FloatArray]:
    """Convert WGS-84 coordinates to ``system`` (e.g. to show results on an Amap basemap).

    Parameters
    ----------
    lon, lat
        WGS-84 longitudes and latitudes in degrees.
    system
        Target system name or alias (see :func:`normalise_system`).

    Returns
    -------
    tuple of numpy.ndarray
        ``(lon, lat)`` in ``system`` as float64.

    Raises
    ------
    CRSError
        If ``system`` is unknown.
    """
    canon = normalise_system(system)
    if canon == "gcj02":
        return gcj02_from_wgs84(lon, lat)
    if canon == "bd09":
        return bd09_from_wgs84(lon, lat)
    return _as_float(lon, lat)


def _convert_geometry(
    geoms: Any, convert: Callable[[ArrayLike, ArrayLike], tuple[FloatArray, FloatArray]]
) -> Any:
    """Apply a lon/lat conversion to every vertex of shapely geometries.

    Accepts a GeoSeries (returned as a GeoSeries in EPSG:4326 with the same index), a
    single geometry (returned as one), or any sequence/array of geometries (returned as a
    numpy object array). Z values are kept unchanged.
    """
    series = None
    if hasattr(geoms, "crs") and hasattr(geoms, "index") and hasattr(geoms, "values"):
        series = geoms
        crs = geoms.crs
        if crs is not None and not crs.is_geographic:
            raise CRSError(
                f"geometries are in projected CRS {crs.to_string()!r}; GCJ-02/BD-09 "
                "conversion needs longitude/latitude. Fix: call .to_crs('EPSG:4326') first"
            )
        arr = np.asarray(geoms.values, dtype=object)
    elif isinstance(geoms, shapely.Geometry):
        return _convert_geometry(np.array([geoms], dtype=object), convert)[0]
    else:
        arr = np.asarray(geoms, dtype=object)

    def callback(coords: FloatArray) -> FloatArray:
        out = np.array(coords, dtype=np.float64, copy=True)
        if len(out):
            out[:, 0], out[:, 1] = convert(out[:, 0], out[:, 1])
        return out

    result = arr.copy()
    has_z = shapely.has_z(arr)
    for flag in (False, True):
        mask = has_z == flag
        if mask.any():
            result[mask] = shapely.transform(arr[mask], callback, include_z=flag)
    if series is not None:
        import geopandas

        return geopandas.GeoSeries(result, index=series.index, crs="EPSG:4326", name=series.name)
    return result


def to_wgs84_geometry(geoms: Any, system: str) -> Any:
    """Convert shapely geometries (points, lines, county outlines...) from ``system`` to WGS-84.

    Parameters
    ----------
    geoms
        A ``geopandas.GeoSeries`` (unprojected), a numpy array or list of shapely
        geometries, or one geometry. Missing geometries stay missing.
    system
        Source system name or alias (see :func:`normalise_system`).

    Returns
    -------
    GeoSeries, numpy.ndarray or shapely.Geometry
        Same kind as the input; a GeoSeries comes back with ``crs="EPSG:4326"``.

    Raises
    ------
    CRSError
        If ``system`` is unknown or a GeoSeries is in a projected CRS.
    """
    canon = normalise_system(system)
    return _convert_geometry(geoms, lambda x, y: to_wgs84(x, y, canon))


def from_wgs84_geometry(geoms: Any, system: str) -> Any:
    """Convert WGS-84 shapely geometries to ``system`` (inverse of :func:`to_wgs84_geometry`).

    Parameters
    ----------
    geoms
        As in :func:`to_wgs84_geometry`.
    system
        Target system name or alias.

    Returns
    -------
    GeoSeries, numpy.ndarray or shapely.Geometry
        Same kind as the input. A returned GeoSeries is labelled ``EPSG:4326`` because
        GCJ-02/BD-09 have no EPSG code; its coordinates are in ``system``.
    """
    canon = normalise_system(system)
    return _convert_geometry(geoms, lambda x, y: from_wgs84(x, y, canon))
