"""Columns the planning workflows need from their input layers.

:func:`coverage.inputs.points.read_points` and :func:`~coverage.inputs.points.read_zones` rename the
columns they recognise to standard names (类型 -> ``kind``, 乡镇 -> ``township``, 床位 ->
``capacity`` ...; the tables are :data:`coverage.inputs.points.TEXT_COLUMNS` and the numeric
fields). :func:`require_columns` raises :class:`~coverage.errors.InputFileError` naming
the file, each missing column with the names accepted for it, and the fix;
:func:`standard_kinds` reads Chinese ``kind`` values (村, 社区, 互助养老点, 卫生室 ...) as
the English ones the workflows match.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import geopandas as gpd
import pandas as pd

from ..engine.diagnostics import layer_source
from ..errors import InputFileError, format_problems
from ..inputs.points import _FIELDS, TEXT_COLUMNS, column_aliases

__all__ = ["INPUT_SCHEMAS", "KIND_SYNONYMS", "POINT_COLUMNS", "Column", "InputSchema", "accepted_names", "require_columns", "schema_markdown",
           "standard_kinds"]

#: Chinese (and other) ``kind`` values read as the English value the workflows match.
KIND_SYNONYMS: dict[str, tuple[str, ...]] = {
    "village": ("村", "行政村", "村庄", "村委会"),
    "community": ("社区", "居委会", "城市社区"),
    "village_point": ("村级互助养老点", "互助养老点", "农村互助养老点", "村级互助点", "互助点"),
    "community_station": ("社区养老服务站", "养老服务站", "日间照料中心", "社区日间照料中心"),
    "township_centre": ("乡镇养老服务中心", "乡镇中心", "街道养老服务中心", "区域养老服务中心"),
    "nursing_home": ("养老院", "敬老院", "福利院", "社会福利中心", "养老机构"),
    "county_centre": ("县级供养服务中心", "县级失能照护中心", "县级养老服务中心"),
    "township_home": ("乡镇敬老院", "乡镇养老院"),
    "planned_community_station": ("规划养老服务用房", "配建养老服务用房", "规划社区养老服务站"),
    "village_service_centre": ("便民服务中心", "村便民服务中心", "党群服务中心", "村级综合服务中心"),
    "clinic": ("卫生室", "村卫生室", "卫生院", "诊所"),
    "idle_school": ("闲置学校", "闲置校舍", "闲置小学"),
    "vacant_building": ("闲置用房", "闲置房屋", "空置房屋"),
}
_KIND_OF = {alias: std for std, aliases in KIND_SYNONYMS.items() for alias in aliases}


def standard_kinds(values: pd.Series) -> pd.Series:
    """``kind`` values as text, Chinese synonyms (:data:`KIND_SYNONYMS`) read as English."""
    return values.map(lambda v: v if pd.isna(v) else _KIND_OF.get(str(v).strip(), str(v).strip()))


def accepted_names(column: str, limit: int = 4) -> str:
    """``"'kind' (类型/类别/设施类型/机构类型)"``: a standard column and the Chinese names read as it."""
    aliases = TEXT_COLUMNS.get(column) or _FIELDS.get(column) or []
    chinese = [a for a in aliases if not a.isascii()][:limit]
    return f"'{column}'" + (f" ({'/'.join(chinese)})" if chinese else "")


def _columns(frame: pd.DataFrame) -> list[str]:
    """The columns as the file names them (编号 for ``id`` ...), from the readers' ``attrs``."""
    a = frame.attrs
    original = {"id": a.get("id_column"), "name": a.get("name_column"), **(a.get("field_columns") or {})}
    skip = {"geometry", "source_row", frame.geometry.name if isinstance(frame, gpd.GeoDataFrame) else None}
    return [str(original.get(c) or c) for c in frame.columns if c not in skip]


def require_columns(frame: pd.DataFrame, needed: Mapping[str, str], *, label: str, fix: str) -> None:
    """Raise :class:`~coverage.errors.InputFileError` when ``frame`` lacks a column of ``needed``.

    Parameters
    ----------
    frame
        The layer (its ``attrs["source"]``, set by the readers, names the file).
    needed
        Column -> what it is needed for (``"to find the existing points"``).
    label
        The layer's role, used when it was not read from a file (``"facilities"``).
    fix
        What to do (the message adds the accepted names and the columns the file has).
    """
    missing = [c for c in needed if c not in frame]
    if not missing:
        return
    problems = [f"no column {accepted_names(c)} {needed[c]}" for c in missing]
    raise InputFileError(
        format_problems(
            layer_source(frame, label),
            problems,
            f"{fix} (English or Chinese column names are read; the file's columns are {_columns(frame)})",
        )
    )


# --------------------------------------------------------------------------- input schemas
@dataclass(frozen=True)
class Column:
    """One column of an input file: its standard name, whether it is needed, what it holds.

    ``name`` is a key of :func:`coverage.inputs.points.column_aliases` (``"lon"``,
    ``"households"`` ...), or ``"planned"`` for the task table's planned-point columns.
    """

    name: str
    required: str
    meaning: str


@dataclass(frozen=True)
class InputSchema:
    """What a planner prepares for one input flag of the workflows: the columns each
    command reads from it (names in Chinese or English), the example ``coverage data``
    writes, and whether it is points, polygons or a plain table."""

    key: str
    title: str
    flags: str
    commands: str
    example: str
    geometry: str
    columns: tuple[Column, ...]


#: The columns every point file has (read_points): coordinates, id, name.
POINT_COLUMNS: tuple[Column, ...] = (
    Column("lon", "required", "longitude, decimal degrees (or degrees-minutes-seconds); WGS-84, or declare "
           "--coord-system gcj02 (Amap, Tencent) / bd09 (Baidu)"),
    Column("lat", "required", "latitude, as the longitude"),
    Column("lonlat", "instead of lon + lat", "one column holding 'lng,lat'"),
    Column("id", "optional", "unique id (generated from the row number when absent)"),
    Column("name", "optional", "name shown in tables and maps (default: the id)"),
)  # fmt: skip
_KINDS = "values: see the kind table below (Chinese or English)"

#: Every input of the workflows, in the order of the README's tables.
INPUT_SCHEMAS: tuple[InputSchema, ...] = (
    InputSchema("facilities", "设施 Existing facilities", "--facilities",
                "audit, costs, site, review, makeup, villages, targets, batch", "facilities.csv", "points", (
        Column("kind", "villages: required", f"type of facility; villages finds the existing mutual-aid points "
               f"(village_point) by it; {_KINDS}"),
        Column("floor_area_m2", "optional", "floor space, m² (villages: a point needs >= 100 m²)"),
        Column("capacity", "optional", "beds"))),
    InputSchema("demand", "需求点 Homes, compounds, hamlets", "--demand", "audit, costs, site, villages, targets, batch",
                "demand.csv", "points", (
        Column("households", "optional", "households; a weight when there are no older residents"),
        Column("elderly", "optional", "residents aged 60+ (the first weight)"),
        Column("population", "optional", "residents (a weight after elderly)"),
        Column("zone_id", "optional", "id of the zone (community, village) the point belongs to; else found from "
               "the zone polygons"))),
    InputSchema("zones", "片区 Communities and villages", "--zones", "audit, site, villages, targets", "zones.geojson",
                "polygons", (
        Column("zone_id", "optional", "unique id (generated when absent)"),
        Column("zone_name", "optional", "name (default: the id)"),
        Column("kind", "targets, villages: required", "community (社区) or village (村); targets take their target by "
               "kind; villages plans the zones of kind village (without the column: every zone)"),
        Column("township", "villages: optional", "township (乡镇/街道) of a village: the per-township task table"))),
    InputSchema("regions", "区县 Regions of a batch (counties, districts, townships)", "--regions", "batch", "townships.geojson",
                "polygons", (
        Column("zone_id", "optional", "unique id of the region (编号, adcode...; generated when absent)"),
        Column("zone_name", "optional", "name (名称, 乡镇...; default: the id); instead of polygons, --region-column "
               "names a column of the demand"))),
    InputSchema("candidates", "候选点 Candidate sites", "--candidates (costs: --sites)", "costs, site, makeup, villages",
                "candidates.csv, makeup_candidates.csv", "points", (
        Column("kind", "optional", f"type of site; villages prefers service centres and clinics, then other public "
               f"buildings; {_KINDS}"),
        Column("zone_id", "optional", "zone (village) of the site, for one site per zone; else found from the polygons"),
        Column("site_cost", "optional", "cost of opening the site, any unit (site --budget, makeup/lscp); default 1"),
        Column("capacity", "optional", "places the site can serve"))),
    InputSchema("buildings", "楼栋 Buildings of a development", "--buildings", "review", "buildings.csv", "points", (
        Column("households", "required (or --households)", "households of the building; their total sizes the floor "
               "space (20 m² per 100 households, 15 in existing areas)"),)),
    InputSchema("site", "用地红线 Site of a development", "--site", "review", "site.geojson", "polygons", (
        Column("zone_id", "optional", "id of the site"),
        Column("zone_name", "optional", "name of the development"))),
    InputSchema("planned", "规划配建用房 Planned elderly-care rooms", "--planned", "review", "planned.csv", "points", (
        Column("kind", "optional", f"type of room; {_KINDS}"),
        Column("floor_area_m2", "optional (or --provided-m2)", "floor space provided, m² (the total is compared with "
               "the floor space required)"))),
    InputSchema("areas", "既有小区 Existing residential areas", "--areas", "makeup", "areas.csv", "points", (
        Column("households", "required", "households (15 m² per 100 households newly covered)"),
        Column("elderly", "optional", "residents aged 60+ (weight of mclp)"),
        Column("zone_id", "optional", "community of the area (shown in the tables)"))),
    InputSchema("centres", "乡镇养老服务中心 Township centres", "--centres", "villages", "centres.csv", "points", (
        Column("township", "optional", "township of the centre (--centre-rule own_township; 'same township' column)"),
        Column("kind", "optional", f"{_KINDS}"))),
    InputSchema("plan", "任务分解表 Task table", "--plan", "villages", "plan.csv", "table", (
        Column("township", "required", "township, as in the zones' township column"),
        Column("planned", "required", "planned mutual-aid points: one planned_points column or one per year "
               "(planned_2021 ...); a column whose name holds planned, 计划 or 任务 (2021年计划 ...) is counted"))),
    InputSchema("homes", "敬老院 Nursing homes", "--homes", "consolidate", "homes.csv", "points", (
        Column("id", "required", "unique id; the resident groups name their home by it"),
        Column("kind", "optional", f"type of home (shown); {_KINDS}"),
        Column("capacity", "required", "beds"),
        Column("action", "optional (or --keep / --close)", "keep or close (保留/撤并)"),
        Column("zone_id", "optional", "zone of the home (kept as data)"))),
    InputSchema("residents", "在院人员 Resident groups, located at their village of origin", "--residents", "consolidate",
                "residents.csv", "points", (
        Column("home_id", "required", "id of the home the group lives in now (an id of the homes file)"),
        Column("count", "required", "residents in the group"),
        Column("origin_name", "optional", "village of origin (distances before/after by village)"),
        Column("care", "optional", "self-care ability (自理/半失能/失能)"))),
)  # fmt: skip

_PLANNED_NAMES = (["计划点数", "2021年计划", "任务数"], ["planned_points", "planned_2021"])
_SHAPES = {"points": "points (a table with coordinates, or GeoJSON/GeoPackage points) with the common point columns and",
           "polygons": "polygons (GeoJSON/GeoPackage) with", "table": "a table (CSV or Excel, no coordinates) with"}  # fmt: skip
_HEAD = ["| column | 中文列名 accepted | English names accepted | needed | content, units |", "|---|---|---|---|---|"]


def _names(column: str, geometry: str) -> tuple[list[str], list[str]]:
    """The Chinese and the English names read as ``column`` (the standard name first)."""
    if column == "planned":
        return _PLANNED_NAMES
    aliases = column_aliases("zones" if geometry == "polygons" else "points")[column]
    en = [a for a in aliases if a.isascii()]
    if column not in ("lon", "lat", "lonlat"):  # the standard name as written, then the other names
        en = [column, *(a for a in en if a != column.replace("_", ""))]
    return [a for a in aliases if not a.isascii()], list(dict.fromkeys(en))


def _rows(columns: tuple[Column, ...], geometry: str) -> list[str]:
    out = []
    for c in columns:
        zh, en = _names(c.name, geometry)
        out.append(f"| `{c.name}` | {' '.join(zh) or '—'} | {' '.join(en) or '—'} | {c.required} | {c.meaning} |")
    return out


def schema_markdown() -> str:
    """The README's tables of the workflow inputs (:data:`POINT_COLUMNS`,
    :data:`INPUT_SCHEMAS`) and of the ``kind`` values (:data:`KIND_SYNONYMS`), as Markdown;
    tests keep the README equal to it."""
    lines = ["**Common point columns** (every points file)", "", *_HEAD, *_rows(POINT_COLUMNS, "points"), ""]
    for sc in INPUT_SCHEMAS:
        lines += [f"**{sc.title}** — `{sc.flags}` ({sc.commands}); example `{sc.example}`: {_SHAPES[sc.geometry]}", "",
                  *_HEAD, *_rows(sc.columns, sc.geometry), ""]  # fmt: skip
    lines += ["**类型 `kind` values** (read as the English value; a value not listed is kept as written)", "",
              "| value | 中文 accepted |", "|---|---|"]  # fmt: skip
    lines += [f"| `{k}` | {' '.join(v)} |" for k, v in KIND_SYNONYMS.items()]
    return "\n".join(lines) + "\n"
