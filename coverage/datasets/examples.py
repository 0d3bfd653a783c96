"""Example input files for every command, as a planner would prepare them (GENERATED).

:func:`write_examples` writes the model county (:mod:`.model_county`) and the workflow
scenarios (:mod:`.scenarios`) as the files ``coverage data`` writes
(:data:`~coverage.datasets.model_county.MODEL_COUNTY_FILES`): the road network as OSM XML,
point tables as CSV (UTF-8 with a byte-order mark, so Excel and WPS open them) with
Chinese column names and Chinese ``kind`` values (社区养老服务站, 村级互助养老点 ...),
polygons as GeoJSON with Chinese property names. Read back with
:func:`coverage.inputs.points.read_points` / :func:`~coverage.inputs.points.read_zones`
they give the same results as the embedded scenarios (tests/test_schemas.py), and so do
copies with English headers (:data:`HEADERS` gives both names of every column).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pandas as pd

from .model_county import MODEL_COUNTY_FILES, ModelCounty, model_county
from .scenarios import (
    consolidation_scenario,
    development_scenario,
    makeup_candidates,
    village_scenario,
)

__all__ = ["HEADERS", "KIND_LABELS", "example_tables", "write_examples"]

#: Column headers of the example files: standard column -> (Chinese header, English header).
#: Both are names the readers recognise (:func:`coverage.inputs.points.column_aliases`);
#: ``zone_name_en`` is an extra column kept as data.
HEADERS: dict[str, tuple[str, str]] = {
    "id": ("编号", "id"), "name": ("名称", "name"), "kind": ("类型", "kind"),
    "floor_area_m2": ("建筑面积", "floor_area_m2"), "capacity": ("床位", "capacity"),
    "households": ("户数", "households"), "elderly": ("老年人口", "elderly"), "zone_id": ("片区", "zone_id"),
    "township": ("乡镇", "township"), "home_id": ("所在机构", "home_id"), "count": ("人数", "count"),
    "origin_name": ("原籍村", "origin_name"), "care": ("自理能力", "care"), "action": ("处置", "action"),
    "lon": ("经度", "lng"), "lat": ("纬度", "lat"), "zone_name": ("名称", "zone_name"),
    "zone_name_en": ("英文名", "name_en"), "planned_2021": ("2021年计划", "planned_2021"),
    "planned_2022": ("2022年计划", "planned_2022"),
}  # fmt: skip

#: ``kind`` (and ``action``) values as a Chinese planner writes them; the workflows read
#: them back as the English values (:data:`coverage.workflows._columns.KIND_SYNONYMS`).
KIND_LABELS: dict[str, str] = {
    "community_station": "社区养老服务站", "township_centre": "乡镇养老服务中心", "nursing_home": "养老院",
    "village_point": "村级互助养老点", "village_service_centre": "便民服务中心", "clinic": "卫生室",
    "idle_school": "闲置学校", "vacant_building": "闲置用房", "community": "社区", "village": "村",
    "planned_community_station": "规划养老服务用房", "county_centre": "县级供养服务中心", "township_home": "乡镇敬老院",
    "keep": "保留", "close": "撤并",
}  # fmt: skip

#: per example file: the columns written, in order (coordinates are added to point files)
_COLUMNS: dict[str, tuple[str, ...]] = {
    "facilities": ("id", "name", "kind", "floor_area_m2", "capacity"),
    "demand": ("id", "name", "households", "elderly", "zone_id"),
    "candidates": ("id", "name", "kind", "zone_id"),
    "zones": ("zone_id", "zone_name", "zone_name_en", "kind", "township"),
    "townships": ("zone_id", "zone_name"),
    "buildings": ("id", "name", "households"),
    "site": ("id", "name"),
    "planned": ("id", "name", "kind", "floor_area_m2"),
    "areas": ("id", "name", "households", "elderly", "zone_id"),
    "makeup_candidates": ("id", "name", "kind", "zone_id"),
    "centres": ("id", "name", "kind", "floor_area_m2", "capacity", "township"),
    "plan": ("township", "planned_2021", "planned_2022"),
    "homes": ("id", "name", "kind", "capacity", "action", "zone_id"),
    "residents": ("id", "home_id", "origin_name", "care", "count"),
}
_TRANSLATED = ("kind", "action")  # columns whose values are written in Chinese


def example_tables(county: ModelCounty | None = None) -> dict[str, pd.DataFrame]:
    """The example layers (points and polygons in EPSG:4326, the plan a plain table) with
    their standard column names and English values, by the keys of ``MODEL_COUNTY_FILES``
    (without ``roads``)."""
    mc = county if county is not None else model_county()
    dev, vil, con = development_scenario(mc), village_scenario(mc), consolidation_scenario(mc)
    town = mc.demand[mc.demand["zone_id"].isin(mc.zones.loc[mc.zones["kind"] == "community", "zone_id"])]
    layers: dict[str, pd.DataFrame] = {
        "facilities": mc.facilities, "demand": mc.demand, "candidates": mc.candidates, "zones": mc.zones, "townships": mc.townships,
        "buildings": dev.buildings, "site": dev.site, "planned": dev.planned, "areas": town,
        "makeup_candidates": makeup_candidates(mc), "centres": vil.centres, "plan": vil.plan,
        "homes": con.homes, "residents": con.residents,
    }  # fmt: skip
    return {k: v[[c for c in _COLUMNS[k] if c in v] + (["geometry"] if "geometry" in v else [])].reset_index(drop=True)
            for k, v in layers.items()}  # fmt: skip


def _chinese(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for col in _TRANSLATED:
        if col in out:
            out[col] = out[col].map(lambda v: KIND_LABELS.get(v, v))
    return out


def _csv(frame: pd.DataFrame) -> str:
    df = pd.DataFrame(_chinese(frame)).drop(columns="geometry", errors="ignore")
    if isinstance(frame, gpd.GeoDataFrame):
        df["lon"] = frame.geometry.x.round(7).to_numpy()
        df["lat"] = frame.geometry.y.round(7).to_numpy()
    return df.rename(columns={k: v[0] for k, v in HEADERS.items()}).to_csv(index=False, lineterminator="\n")


def _geojson(frame: gpd.GeoDataFrame) -> str:
    headers = {**{k: v[0] for k, v in HEADERS.items()}, "zone_id": "编号"}  # a zone's own id: 编号
    g = _chinese(frame).rename(columns={k: v for k, v in headers.items() if k in frame})
    return gpd.GeoDataFrame(g, geometry="geometry", crs=frame.crs).to_json(drop_id=True, ensure_ascii=False)


def write_examples(folder: str | Path, *, overwrite: bool = True) -> dict[str, Path]:
    """Write every example input file (:data:`~coverage.datasets.model_county.MODEL_COUNTY_FILES`)
    into ``folder``; returns the paths by layer.

    Parameters
    ----------
    folder
        Destination folder (created).
    overwrite
        Replace existing files.
    """
    from ..publish.atomic import atomic_write_text
    from .model_county import _osm_xml

    mc = model_county()
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    paths = {k: out / f for k, f in MODEL_COUNTY_FILES.items()}
    atomic_write_text(paths["roads"], _osm_xml(mc), overwrite=overwrite)
    for key, frame in example_tables(mc).items():
        as_text: Callable[[pd.DataFrame], str] = _geojson if paths[key].suffix == ".geojson" else _csv  # type: ignore[assignment]
        encoding = "utf-8" if paths[key].suffix == ".geojson" else "utf-8-sig"
        atomic_write_text(paths[key], as_text(frame), overwrite=overwrite, encoding=encoding)
    from .terrain import DEM_FILE, write_model_county_dem

    paths["dem"] = write_model_county_dem(out / DEM_FILE, overwrite=overwrite)  # generated hill, labelled in the file
    return paths
