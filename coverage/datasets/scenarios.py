"""GENERATED scenario inputs for the planning workflows, on top of the model county.

**Generated, not real data.** Every layer here is made up, deterministically, to exercise
the workflows of :mod:`coverage.workflows` on the embedded model county
(:func:`coverage.datasets.model_county.model_county`, itself generated, not a real place).
The numbers are chosen so that results can be checked by hand:

* :func:`development_scenario` -- a new residential development (新建小区) in the north-east
  of the county town: a site polygon, 8 building points with **1,234 households** in
  total, the developer's planned elderly-care room (200 m²) inside the site. At 20 m² per
  100 households the development needs 246.8 m², so the review fails on floor space by
  46.8 m²; without the planned room four buildings would be beyond 1000 m by road.
* :func:`village_scenario` -- the facilities plus a generated street-level centre
  (城关街道养老服务中心, 1,600 m²), the two township centres, and a Fengjie-style task table
  (planned mutual-aid points per township, 2021 and 2022).
* :func:`consolidation_scenario` -- a Jiangyong-like "1+3" consolidation: a county
  disabled-care centre and 8 township nursing homes (5 to close, 3 to keep as regional
  centres) with beds and resident groups by village of origin and self-care ability.
* :func:`makeup_candidates` -- the vacant town buildings (T01–T06) as make-up sites.
* :data:`DEFAULT_TARGETS` -- coverage targets by zone kind (urban communities 100%,
  villages 85%).

Points are in EPSG:4326 like the model county's layers.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from .model_county import CRS, ORIGIN, ModelCounty, model_county

__all__ = [
    "DEFAULT_TARGETS",
    "SCENARIO_NOTE",
    "ConsolidationScenario",
    "DevelopmentScenario",
    "VillageScenario",
    "consolidation_scenario",
    "development_scenario",
    "makeup_candidates",
    "village_scenario",
]

logger = logging.getLogger(__name__)

SCENARIO_NOTE = "GENERATED scenario on the model county (模型县, not a real place)"

#: Plan targets by zone kind: urban communities with a facility 100% (Jiangyong 2022),
#: villages with mutual-aid service 85% (Huichang, by 2025).
DEFAULT_TARGETS: dict[str, float] = {"community": 1.0, "village": 0.85}

_TO_LL = pyproj.Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)


def _lonlat(local_xy: np.ndarray | list) -> tuple[np.ndarray, np.ndarray]:
    """Model-county local metres (town grid origin) to rounded longitude/latitude."""
    p = np.asarray(local_xy, dtype=float).reshape(-1, 2) + np.asarray(ORIGIN)
    x, y = _TO_LL.transform(p[:, 0], p[:, 1])
    return np.round(x, 7), np.round(y, 7)


def _points(frame: pd.DataFrame, local_xy: list | np.ndarray) -> gpd.GeoDataFrame:
    x, y = _lonlat(local_xy)
    return gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(x, y), crs="EPSG:4326")


def _county(county: ModelCounty | None) -> ModelCounty:
    return county if county is not None else model_county()


# --------------------------------------------------------------------------- development
@dataclass(frozen=True)
class DevelopmentScenario:
    """A new residential development submitted for review (GENERATED).

    Attributes
    ----------
    site
        The site polygon (one row: ``id, name``).
    buildings
        Building points: ``id, name, households``.
    planned
        The developer's planned elderly-care room: ``id, name, kind, floor_area_m2``.
    provided_floor_m2
        Elderly-care floor space the developer provides (m²).
    area_type
        ``"new"`` (20 m² per 100 households).
    county
        The model county (network, facilities ...).
    """

    site: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame
    planned: gpd.GeoDataFrame
    provided_floor_m2: float
    area_type: str
    county: ModelCounty
    note: str = SCENARIO_NOTE


def development_scenario(county: ModelCounty | None = None) -> DevelopmentScenario:
    """The generated new development in the north-east of the county town.

    Parameters
    ----------
    county
        The model county to build on (default: built afresh).

    Returns
    -------
    DevelopmentScenario
        8 buildings, 1,234 households, 200 m² provided at the planned room.

    Examples
    --------
    >>> s = development_scenario()
    >>> int(s.buildings["households"].sum()), s.provided_floor_m2
    (1234, 200.0)
    """
    mc = _county(county)
    # town grid: roads every 200 m; the site spans the blocks east of x = 2000, north of 1200
    box = shapely.box(2030.0, 1230.0, 2370.0, 1570.0)
    ring = np.asarray(box.exterior.coords)
    x, y = _lonlat(ring)
    site = gpd.GeoDataFrame(
        {"id": ["DEV-1"], "name": ["锦绣花园(新建小区) Jinxiu Garden (generated)"]},
        geometry=[shapely.Polygon(np.column_stack([x, y]))],
        crs="EPSG:4326",
    )
    bxy = [(2070, 1270), (2130, 1270), (2270, 1270), (2330, 1290),
           (2070, 1470), (2150, 1530), (2270, 1450), (2330, 1530)]  # fmt: skip
    hh = [180, 160, 150, 140, 170, 154, 140, 140]
    buildings = _points(
        pd.DataFrame(
            {
                "id": [f"B{i + 1}" for i in range(len(bxy))],
                "name": [f"锦绣花园{i + 1}号楼" for i in range(len(bxy))],
                "households": hh,
            }
        ),
        bxy,
    )
    planned = _points(
        pd.DataFrame(
            {
                "id": ["P1"],
                "name": ["锦绣花园养老服务用房(规划)"],
                "kind": ["planned_community_station"],
                "floor_area_m2": [200.0],
            }
        ),
        [(2180, 1380)],
    )
    return DevelopmentScenario(site, buildings, planned, 200.0, "new", mc)


# --------------------------------------------------------------------------- make-up
def makeup_candidates(county: ModelCounty | None = None) -> gpd.GeoDataFrame:
    """The model county's vacant town buildings (T01–T06) as make-up sites.

    Parameters
    ----------
    county
        The model county (default: built afresh).
    """
    mc = _county(county)
    c = mc.candidates
    return c[c["kind"] == "vacant_building"].reset_index(drop=True)


# --------------------------------------------------------------------------- villages
@dataclass(frozen=True)
class VillageScenario:
    """Inputs of the village mutual-aid point workflow (GENERATED additions).

    Attributes
    ----------
    facilities
        The model county's facilities plus a generated street-level centre (``G01``).
    centres
        Township centres (``F04`` 石桥镇, ``G01`` 城关街道) with ``township``.
    plan
        Fengjie-style task table: ``township, planned_2021, planned_2022``.
    county
        The model county.
    """

    facilities: gpd.GeoDataFrame
    centres: gpd.GeoDataFrame
    plan: pd.DataFrame
    county: ModelCounty
    note: str = SCENARIO_NOTE


def village_scenario(county: ModelCounty | None = None) -> VillageScenario:
    """Township centres and the planned mutual-aid points per township.

    Parameters
    ----------
    county
        The model county to build on (default: built afresh).

    Examples
    --------
    >>> s = village_scenario()
    >>> sorted(s.centres["township"])
    ['城关街道', '石桥镇']
    """
    mc = _county(county)
    g01 = _points(
        pd.DataFrame(
            {
                "id": ["G01"],
                "name": ["城关街道养老服务中心"],
                "kind": ["township_centre"],
                "floor_area_m2": [1600.0],
                "capacity": [20],
            }
        ),
        [(1000, 700)],
    )
    fac = gpd.GeoDataFrame(pd.concat([mc.facilities, g01], ignore_index=True), crs="EPSG:4326")
    centres = fac[fac["kind"] == "township_centre"].reset_index(drop=True)
    centres["township"] = centres["id"].map({"F04": "石桥镇", "G01": "城关街道"})
    plan = pd.DataFrame(
        {"township": ["城关街道", "石桥镇"], "planned_2021": [3, 2], "planned_2022": [2, 2]}
    )
    return VillageScenario(fac, centres, plan, mc)


# --------------------------------------------------------------------------- consolidation
@dataclass(frozen=True)
class ConsolidationScenario:
    """A Jiangyong-like "1+3" nursing-home consolidation (GENERATED).

    Attributes
    ----------
    homes
        ``id, name, kind, capacity`` (beds), ``residents``, ``action`` (keep/close),
        ``zone_id``.
    residents
        Resident groups, one point per group at its village (or community) of origin:
        ``id, home_id, origin_zone, origin_name, care, count``.
    keep, close
        Ids of the homes the plan keeps and closes.
    must_keep
        Homes every keep-set must contain (the county disabled-care centre).
    alternatives
        Other keep-sets to compare, by label.
    county
        The model county.
    """

    homes: gpd.GeoDataFrame
    residents: gpd.GeoDataFrame
    keep: tuple[str, ...]
    close: tuple[str, ...]
    must_keep: tuple[str, ...]
    alternatives: dict[str, tuple[str, ...]] = field(default_factory=dict)
    county: ModelCounty | None = None
    note: str = SCENARIO_NOTE


# (id, name, kind, zone of the home, offset from the village centre, beds, action)
_HOMES = [
    ("F05", "县社会福利中心", "county_centre", "C01", None, 120, "keep"),
    ("N01", "东坪敬老院", "township_home", "V01", (150, -120), 30, "close"),
    ("N02", "东坪敬老院分院", "township_home", "V01", (-200, 150), 20, "close"),
    ("N03", "南塘敬老院", "township_home", "V03", (120, 100), 30, "close"),
    ("N04", "北山敬老院", "township_home", "V04", (-120, -100), 40, "keep"),
    ("N05", "枫林敬老院", "township_home", "V07", (100, 150), 30, "close"),
    ("F08", "桃源敬老院", "township_home", "V09", None, 60, "keep"),
    ("N06", "黄泥敬老院", "township_home", "V11", (-100, 120), 30, "close"),
    ("N07", "新田敬老院", "township_home", "V12", (130, -110), 30, "keep"),
]
# (home, zone of origin, care level, residents)
_GROUPS = [
    ("F05", "C01", "自理", 20), ("F05", "C03", "失能", 25), ("F05", "C05", "半失能", 20),
    ("F05", "V05", "失能", 5),
    ("N01", "V01", "自理", 8), ("N01", "V01", "半失能", 4), ("N01", "V12", "自理", 3),
    ("N02", "V01", "自理", 5), ("N02", "V02", "半失能", 3), ("N02", "V02", "失能", 2),
    ("N03", "V03", "自理", 7), ("N03", "V03", "失能", 3), ("N03", "V02", "自理", 4),
    ("N04", "V04", "自理", 12), ("N04", "V05", "自理", 6), ("N04", "V03", "半失能", 4),
    ("N05", "V07", "自理", 6), ("N05", "V07", "半失能", 4), ("N05", "V06", "自理", 5),
    ("N05", "V08", "失能", 2),
    ("F08", "V09", "自理", 15), ("F08", "V08", "半失能", 6), ("F08", "V10", "失能", 4),
    ("N06", "V11", "自理", 8), ("N06", "V11", "半失能", 3), ("N06", "V10", "自理", 4),
    ("N07", "V12", "自理", 10), ("N07", "V11", "失能", 4),
]  # fmt: skip


def _origin_points(mc: ModelCounty) -> gpd.GeoDataFrame:
    """One origin point per zone: the village office (村部) or the largest compound."""
    d = mc.demand
    hub = d[d["id"].str.endswith("00") & d["id"].str.startswith("H")]
    town = d[d["id"].str.startswith("R")].sort_values(["zone_id", "households"], ascending=[True, False])
    town = town.drop_duplicates("zone_id")
    return gpd.GeoDataFrame(pd.concat([hub, town]), crs=d.crs).set_index("zone_id")


def consolidation_scenario(county: ModelCounty | None = None) -> ConsolidationScenario:
    """The generated "1+3" consolidation: 9 homes, 28 resident groups, 202 residents.

    Parameters
    ----------
    county
        The model county to build on (default: built afresh).

    Examples
    --------
    >>> s = consolidation_scenario()
    >>> len(s.homes), len(s.close), len(s.keep), int(s.residents["count"].sum())
    (9, 5, 4, 202)
    """
    mc = _county(county)
    zones = mc.zones.set_index("zone_id")
    origins = _origin_points(mc)
    fac = mc.facilities.set_index("id")
    to_m = pyproj.Transformer.from_crs("EPSG:4326", CRS, always_xy=True)
    geoms = []
    for hid, _name, _kind, zone, off, _beds, _act in _HOMES:
        if off is None:
            geoms.append(fac.loc[hid, "geometry"])
            continue
        o = origins.loc[zone, "geometry"]
        x, y = to_m.transform(o.x, o.y)
        lon, lat = _TO_LL.transform(x + off[0], y + off[1])
        geoms.append(shapely.Point(round(lon, 7), round(lat, 7)))
    homes = gpd.GeoDataFrame(
        pd.DataFrame(
            [(h, n, k, b, a, z) for h, n, k, z, _o, b, a in _HOMES],
            columns=["id", "name", "kind", "capacity", "action", "zone_id"],
        ),
        geometry=geoms,
        crs="EPSG:4326",
    )
    g = pd.DataFrame(_GROUPS, columns=["home_id", "origin_zone", "care", "count"])
    homes["residents"] = homes["id"].map(g.groupby("home_id")["count"].sum()).fillna(0).astype(int)
    g.insert(0, "id", [f"G{i + 1:02d}" for i in range(len(g))])
    g["origin_name"] = g["origin_zone"].map(zones["zone_name"])
    residents = gpd.GeoDataFrame(
        g, geometry=origins.loc[g["origin_zone"], "geometry"].to_numpy(), crs="EPSG:4326"
    )
    keep = tuple(homes.loc[homes["action"] == "keep", "id"])
    close = tuple(homes.loc[homes["action"] == "close", "id"])
    # a label in Chinese, a line break, English (keep_set_label shows one or both)
    alternatives = {"替代方案：保留东坪 N01，不保留新田 N07\nalternative: keep 东坪 N01 instead of 新田 N07": ("F05", "N01", "N04", "F08")}
    return ConsolidationScenario(homes, residents, keep, close, ("F05",), alternatives, mc)
