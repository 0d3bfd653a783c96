"""A generated "model county" (模型县): the embedded default data set.

**Generated, not a real place.** A deterministic county shaped by the policy digest: a
county town (县城) of street-grid communities split by a river with two bridges (so a
straight-line 1000 m circle crosses water the roads cannot), and villages (行政村) with
hamlets (自然村) on rural roads around it, in two townships. Layers:

* roads -- written as OpenStreetMap XML so the real OSM reader is exercised;
* demand -- residential compounds (小区) and hamlets with households (户数) and older
  residents (老年人口, about 21% of residents aged 60+);
* facilities -- existing community stations, a township centre, village mutual-aid
  points and nursing homes, with floor space and beds;
* candidates -- village service centres, clinics and idle schools (sites for new points);
* zones -- communities and villages (polygons) with their township.

It sits on made-up ground near 112.8 E, 25.27 N; maps of it use no basemap.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from ..engine.network import RoadNetwork, network_from_segments

__all__ = ["MODEL_COUNTY_FILES", "ModelCounty", "model_county", "write_model_county"]

logger = logging.getLogger(__name__)

CRS = "EPSG:32649"
ORIGIN = (680_000.0, 2_796_000.0)  # UTM 49N, about 112.8 E, 25.27 N
SOURCE = "generated model county (模型县, not a real place)"

_VILLAGES = [
    "东坪村", "西岭村", "南塘村", "北山村", "石桥村", "竹园村", "枫林村",
    "清溪村", "桃源村", "白沙村", "黄泥村", "新田村",
]
_VILLAGES_EN = [
    "Dongping", "Xiling", "Nantang", "Beishan", "Shiqiao", "Zhuyuan", "Fenglin",
    "Qingxi", "Taoyuan", "Baisha", "Huangni", "Xintian",
]
_COMMUNITIES = ["城东社区", "城西社区", "河南社区", "河北社区", "新城社区", "老街社区"]
_COMMUNITIES_EN = ["Chengdong", "Chengxi", "Henan", "Hebei", "Xincheng", "Laojie"]


@dataclass(frozen=True)
class ModelCounty:
    """The layers of the model county (points and zones in EPSG:4326)."""

    network: RoadNetwork
    node_lonlat: np.ndarray
    seg_uv: np.ndarray
    demand: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame
    candidates: gpd.GeoDataFrame
    zones: gpd.GeoDataFrame
    source: str = SOURCE

    @property
    def townships(self) -> gpd.GeoDataFrame:
        """The two townships (乡镇街道): the zones dissolved by ``township`` (``zone_id`` and
        ``zone_name`` both the township's name), the regions of the embedded ``coverage batch``."""
        t = self.zones.dissolve(by="township", as_index=False)[["township", "geometry"]]
        return gpd.GeoDataFrame({"zone_id": t["township"], "zone_name": t["township"]}, geometry=t.geometry.to_numpy(), crs=self.zones.crs)


class _Builder:
    def __init__(self) -> None:
        self.xy: list[tuple[float, float]] = []
        self.key: dict[tuple[int, int], int] = {}
        self.segs: list[tuple[int, int]] = []

    def node(self, x: float, y: float) -> int:
        k = (round(x), round(y))
        if k not in self.key:
            self.key[k] = len(self.xy)
            self.xy.append((float(k[0]), float(k[1])))
        return self.key[k]

    def line(self, pts: list[tuple[float, float]], step: float = 0.0) -> list[int]:
        ids = []
        for (x0, y0), (x1, y1) in pairwise(pts):
            n = max(1, int(np.hypot(x1 - x0, y1 - y0) // step)) if step else 1
            for k in range(n + (1 if (x1, y1) == pts[-1] else 0)):
                f = k / n
                ids.append(self.node(x0 + (x1 - x0) * f, y0 + (y1 - y0) * f))
        ids = [i for j, i in enumerate(ids) if j == 0 or i != ids[j - 1]]
        for a, b in pairwise(ids):
            self.segs.append((a, b))
        return ids


_RIVER_Y = 900.0  # the river through the town, y of the local grid (m)


def model_county(seed: int = 20211) -> ModelCounty:
    """Build the model county (deterministic for a given ``seed``)."""
    rng = np.random.default_rng(seed)
    b = _Builder()
    _town_streets(b)
    vill_xy, hamlets = _village_roads(b, rng)
    xy = np.asarray(b.xy) + np.array(ORIGIN)
    lon, lat = _transformer().transform(xy[:, 0], xy[:, 1])
    lon = np.round(lon, 7)
    lat = np.round(lat, 7)
    seg = np.asarray(b.segs, dtype=np.int64)
    net = network_from_segments(lon, lat, seg[:, 0], seg[:, 1], crs=CRS, source=SOURCE)
    zones = _zones(vill_xy)
    demand = _demand(rng, vill_xy, hamlets, zones)
    return ModelCounty(net, np.column_stack([lon, lat]), seg, demand, _facilities(vill_xy), _candidates(vill_xy, zones), zones)


@functools.lru_cache(maxsize=1)
def _transformer() -> pyproj.Transformer:
    return pyproj.Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)


def _ll(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Longitude and latitude (7 decimals) of points on the local grid (metres from ``ORIGIN``)."""
    p = np.asarray(points, dtype=float) + np.array(ORIGIN)
    x, y = _transformer().transform(p[:, 0], p[:, 1])
    return np.round(x, 7), np.round(y, 7)


def _points(frame: pd.DataFrame, points: np.ndarray) -> gpd.GeoDataFrame:
    """``frame`` with the local-grid ``points`` as its WGS-84 geometry."""
    x, y = _ll(points)
    return gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(x, y), crs="EPSG:4326")


def _town_streets(b: _Builder) -> None:
    """The county town: 2.4 x 1.8 km street grid, blocks of 200 m, a river along y = 900
    crossed by two bridges."""
    xs = np.arange(0, 2401, 200.0)
    ys = np.arange(0, 1801, 200.0)
    bridges = {600.0, 1800.0}
    for y in ys:
        b.line([(0.0, y), (2400.0, y)], step=200.0)
    for x in xs:
        lower = [(x, y) for y in ys if y < _RIVER_Y]
        upper = [(x, y) for y in ys if y > _RIVER_Y]
        if x in bridges:
            b.line(lower + upper)
        else:
            b.line(lower)
            b.line(upper)


def _village_roads(b: _Builder, rng: np.random.Generator) -> tuple[np.ndarray, list[tuple[int, float, float, str]]]:
    """Villages on a ring around the town, each with a road to the nearest town gate, lanes
    and tracks to its hamlets, and a ring road between neighbours. Returns the village
    centres and the hamlets ``(village, x, y, name)``."""
    town_c = np.array([1200.0, 900.0])
    vill_xy = []
    for i in range(len(_VILLAGES)):
        ang = 2 * np.pi * i / len(_VILLAGES) + rng.uniform(-0.15, 0.15)
        r = rng.uniform(3000, 6500)
        vill_xy.append(town_c + r * np.array([np.cos(ang), np.sin(ang)]))
    vill_xy = np.round(np.asarray(vill_xy), 0)
    gates = [(0.0, 0.0), (2400.0, 0.0), (2400.0, 1800.0), (0.0, 1800.0), (1200.0, 0.0), (1200.0, 1800.0)]
    hamlets: list[tuple[int, float, float, str]] = []
    for i, (vx, vy) in enumerate(vill_xy):
        gate = min(gates, key=lambda g: np.hypot(g[0] - vx, g[1] - vy))
        mid = ((gate[0] + vx) / 2 + rng.uniform(-400, 400), (gate[1] + vy) / 2 + rng.uniform(-400, 400))
        b.line([gate, (round(mid[0]), round(mid[1])), (vx, vy)], step=250.0)
        # village lanes: a small cross of 300 m arms
        for dx, dy in ((300, 0), (-300, 0), (0, 300), (0, -300)):
            b.line([(vx, vy), (vx + dx, vy + dy)], step=100.0)
        # hamlets 500-1600 m away on their own track
        for h in range(int(rng.integers(2, 5))):
            ang = rng.uniform(0, 2 * np.pi)
            r = rng.uniform(500, 1600)
            hx, hy = round(vx + r * np.cos(ang)), round(vy + r * np.sin(ang))
            b.line([(vx, vy), (hx, hy)], step=200.0)
            hamlets.append((i, float(hx), float(hy), f"{_VILLAGES[i]}{'一二三四'[h]}组"))
    # ring road linking neighbouring villages (gives alternative routes)
    for i in range(len(vill_xy)):
        j = (i + 1) % len(vill_xy)
        if i % 3 != 2:
            b.line([tuple(vill_xy[i]), tuple(vill_xy[j])], step=300.0)
    return vill_xy, hamlets


def _zones(vill_xy: np.ndarray) -> gpd.GeoDataFrame:
    """6 communities (3 x 2 town blocks) and one polygon per village, with their township."""
    zrows = []
    zgeoms = []
    for k in range(6):
        cx, cy = k % 3, k // 3
        x0, x1 = cx * 800.0 - 50, (cx + 1) * 800.0 + 50
        y0, y1 = (-50.0, _RIVER_Y) if cy == 0 else (_RIVER_Y, 1850.0)
        zgeoms.append(shapely.box(x0, y0, x1, y1))
        zrows.append(("C%02d" % (k + 1), _COMMUNITIES[k], _COMMUNITIES_EN[k], "community", "城关街道"))
    town_box = shapely.box(-50, -50, 2450, 1850)
    cells = shapely.voronoi_polygons(shapely.multipoints(vill_xy), extend_to=shapely.box(-9000, -9000, 11000, 11000))
    parts = list(shapely.get_parts(cells))
    for i, (vx, vy) in enumerate(vill_xy):
        cell = next(c for c in parts if c.contains(shapely.Point(vx, vy)))
        geom = cell.intersection(shapely.Point(vx, vy).buffer(2200)).difference(town_box)
        zgeoms.append(geom)
        township = "城关街道" if i % 2 == 0 else "石桥镇"
        zrows.append(("V%02d" % (i + 1), _VILLAGES[i], _VILLAGES_EN[i], "village", township))
    zg = [shapely.transform(g, lambda c: np.column_stack(_ll(c))) for g in zgeoms]
    return gpd.GeoDataFrame(
        pd.DataFrame(zrows, columns=["zone_id", "zone_name", "zone_name_en", "kind", "township"]),
        geometry=zg,
        crs="EPSG:4326",
    )


def _demand(rng: np.random.Generator, vill_xy: np.ndarray, hamlets: list[tuple[int, float, float, str]],
            zones: gpd.GeoDataFrame) -> gpd.GeoDataFrame:  # fmt: skip
    """Residential compounds in town, village centres and hamlets, with households and
    older residents (about 19% of town and 26% of village residents aged 60+)."""
    drows = []
    dpts = []
    n_compound = 0
    for bx in np.arange(100, 2400, 200.0):
        for by in np.arange(100, 1800, 200.0):
            if abs(by - _RIVER_Y) < 150 or rng.random() < 0.15:
                continue
            n_compound += 1
            px, py = bx + rng.uniform(-60, 60), by + rng.uniform(-60, 60)
            hh = int(rng.integers(150, 1300))
            k = int(min(2, bx // 800) + (3 if by > _RIVER_Y else 0))
            drows.append(("R%03d" % n_compound, f"{_COMMUNITIES[k][:2]}{n_compound}号小区", hh, k))
            dpts.append((px, py))
    for i, (vx, vy) in enumerate(vill_xy):
        drows.append(("H%02d00" % (i + 1), f"{_VILLAGES[i]}村部", int(rng.integers(120, 320)), 6 + i))
        dpts.append((vx + rng.uniform(-80, 80), vy + rng.uniform(-80, 80)))
    for j, (i, hx, hy, name) in enumerate(hamlets):
        drows.append(("H%02d%02d" % (i + 1, j + 1), name, int(rng.integers(30, 140)), 6 + i))
        dpts.append((hx + rng.uniform(-60, 60), hy + rng.uniform(-60, 60)))
    d = pd.DataFrame(drows, columns=["id", "name", "households", "zone"])
    share60 = np.where(d["id"].str.startswith("R"), 0.19, 0.26)
    d["elderly"] = np.round(d["households"] * 2.8 * share60).astype(int)
    d["zone_id"] = zones["zone_id"].to_numpy()[d.pop("zone").to_numpy()]
    return _points(d, np.asarray(dpts))


def _facilities(vill_xy: np.ndarray) -> gpd.GeoDataFrame:
    """Existing community stations, a township centre, village points and nursing homes."""
    frows = [
        ("F01", "城东社区养老服务站", "community_station", 420.0, 0, (2000.0, 500.0)),
        ("F02", "河北社区日间照料中心", "community_station", 380.0, 10, (700.0, 1300.0)),
        ("F03", "老街社区养老服务站", "community_station", 300.0, 0, (1500.0, 1700.0)),
        ("F04", "石桥镇养老服务中心", "township_centre", 900.0, 30, tuple(vill_xy[4] + [120, 60])),
        ("F05", "县社会福利中心", "nursing_home", 3200.0, 120, (300.0, 300.0)),
        ("F06", "西岭村互助养老点", "village_point", 120.0, 0, tuple(vill_xy[1] + [-70, 40])),
        ("F07", "清溪村互助养老点", "village_point", 110.0, 0, tuple(vill_xy[7] + [50, -60])),
        ("F08", "桃源敬老院", "nursing_home", 1500.0, 60, tuple(vill_xy[8] + [200, 150])),
    ]
    frame = pd.DataFrame([r[:5] for r in frows], columns=["id", "name", "kind", "floor_area_m2", "capacity"])
    return _points(frame, np.asarray([r[5] for r in frows]))


def _candidates(vill_xy: np.ndarray, zones: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Candidate sites: village service centres, clinics, idle schools; vacant town buildings."""
    crows = []
    cpts = []
    for i, (vx, vy) in enumerate(vill_xy):
        crows.append((f"S{i + 1:02d}a", f"{_VILLAGES[i]}便民服务中心", "village_service_centre", f"V{i + 1:02d}"))
        cpts.append((vx + 40, vy + 20))
        crows.append((f"S{i + 1:02d}b", f"{_VILLAGES[i]}卫生室", "clinic", f"V{i + 1:02d}"))
        cpts.append((vx - 30, vy + 90))
        if i % 3 == 0:
            crows.append((f"S{i + 1:02d}c", f"{_VILLAGES[i]}闲置小学", "idle_school", f"V{i + 1:02d}"))
            cpts.append((vx + 200, vy - 150))
    for k, (tx, ty) in enumerate([(300, 1500), (1100, 300), (2300, 1500), (1300, 1100), (500, 700), (1900, 1300)]):
        crows.append((f"T{k + 1:02d}", f"县城闲置用房{k + 1}", "vacant_building", zones["zone_id"][k]))
        cpts.append((tx + 30, ty + 30))
    return _points(pd.DataFrame(crows, columns=["id", "name", "kind", "zone_id"]), np.asarray(cpts))


def _osm_xml(mc: ModelCounty) -> str:
    """The road network as OSM XML (each segment chain one way)."""
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<osm version="0.6" generator="yanglao-coverage model county">',
        "  <!-- generated model county, not a real place -->",
    ]
    for i, (lo, la) in enumerate(mc.node_lonlat):
        lines.append(f'  <node id="{i + 1}" version="1" lat="{la:.7f}" lon="{lo:.7f}"/>')
    for k, (u, v) in enumerate(mc.seg_uv):
        lines.append(f'  <way id="{k + 1}" version="1">')
        lines.append(f'    <nd ref="{u + 1}"/>')
        lines.append(f'    <nd ref="{v + 1}"/>')
        lines.append('    <tag k="highway" v="residential"/>')
        lines.append("  </way>")
    lines.append("</osm>")
    return "\n".join(lines) + "\n"


#: the input files ``coverage data`` (:func:`write_model_county`) writes, by layer: the model
#: county (roads, facilities, demand, candidates, zones, townships: the regions of ``coverage batch``) and the inputs of every workflow
#: (review: buildings, site, planned; makeup: areas, makeup_candidates; villages: centres,
#: plan; consolidate: homes, residents), see :mod:`coverage.datasets.examples`
MODEL_COUNTY_FILES: dict[str, str] = {
    "roads": "roads.osm",
    "facilities": "facilities.csv",
    "demand": "demand.csv",
    "candidates": "candidates.csv",
    "zones": "zones.geojson",
    "townships": "townships.geojson",
    "buildings": "buildings.csv",
    "site": "site.geojson",
    "planned": "planned.csv",
    "areas": "areas.csv",
    "makeup_candidates": "makeup_candidates.csv",
    "centres": "centres.csv",
    "plan": "plan.csv",
    "homes": "homes.csv",
    "residents": "residents.csv",
}


def write_model_county(folder: str | Path, *, overwrite: bool = True) -> dict[str, Path]:
    """Write the input files a planner would supply into ``folder``
    (:data:`MODEL_COUNTY_FILES`: ``roads.osm``, point tables as CSV with Chinese column
    names and WGS-84 coordinates, polygons as GeoJSON) for the audit, site selection and
    every workflow; returns the paths by layer (:func:`coverage.datasets.examples.write_examples`)."""
    from .examples import write_examples

    return write_examples(folder, overwrite=overwrite)
