"""Interactive Folium map of a coverage audit (养老服务设施覆盖审查地图).

:func:`audit_map` draws the demand points coloured by the two coverage rules (network radius
and walking-time service circle), the straight-line "false coverage" points, facilities,
service areas, roads and planning zones, with a bilingual legend stating every parameter.
:func:`save_map` writes it atomically, by default as one self-contained file that needs no
network (see :mod:`coverage.publish._offline`).

Safety and reproducibility
--------------------------
* Every user-supplied string (names, ids, zone names, title, metadata) is escaped by
  :func:`coverage.publish._html.esc` before it reaches HTML, Folium's JavaScript template literals
  or Jinja: Folium renders each element's output a second time as a Jinja template, so
  ``esc`` also encodes braces, and :func:`save_map` refuses (:func:`coverage.publish._html.check_inert`)
  a tree holding unescaped ``{{``, ``{%`` or ``{#`` before rendering it.
* Folium gives each element a random id; :func:`_freeze_ids` replaces them by ids derived from
  each element's position in the tree, so the same input gives byte-identical HTML.
"""

from __future__ import annotations

import copy
import logging
import math
import re
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import folium
import geopandas as gpd
import numpy as np
import shapely
from branca.element import Element, MacroElement, Template
from folium import plugins
from folium.map import FitBounds

from ..audit.summary import CoverageSummary, config_of
from ..errors import CRSError, ParameterError
from ._html import (
    COLOURS,
    LEGEND_CSS,
    OSM_ATTR,
    OSM_DATA_ATTR,
    TIANDITU_ATTR,
    HtmlSnippet,
    check_inert,
    demand_category,
    demand_popup,
    esc,
    facility_popup,
    flag,
    is_missing,
    is_osm,
    num,
    parameter_rows,
    popup_html,
    short,
    svg_symbol,
    swatch,
    symbol,
    to_float,
)
from ._offline import inline_assets
from .atomic import atomic_write_text
from .demand_grid import CATEGORIES, DemandGrid, demand_grid, flag_array

if TYPE_CHECKING:
    from ..audit.run import AuditResult

__all__ = [
    "BASEMAPS", "DEMAND_AGGREGATE_LIMIT", "DEMAND_NAMES", "GRID_CELL_LIMIT", "MARKER_LIMIT", "PROPOSED_ICON", "PROPOSED_NAME", "TILES_NOTE", "MapLayers",
    "add_proposed", "add_roads", "audit_layers", "audit_map", "base_map", "check_basemap", "finish_map", "legend_of",
    "save_map", "shape_markers", "write_map",
]  # fmt: skip

logger = logging.getLogger(__name__)

BASEMAPS = ("osm", "tianditu", "none")
# Above this many points a layer is one GeoJson layer instead of one CircleMarker each:
# 20,000 markers with popups make a ~30 MB page that takes ~30 s to write.
MARKER_LIMIT = 5_000
#: Above this many demand points the demand layer is drawn aggregated on a square metric grid
#: (:mod:`coverage.publish.demand_grid`): drawn one by one with popups a point costs ~1.8 KB of
#: HTML, so 20,000 points are already a ~36 MB page (Chromium needs several seconds to open
#: it), and a city raster's 500,000 a ~0.9 GB one that no browser opens.
DEMAND_AGGREGATE_LIMIT = 20_000
#: The most grid cells an aggregated demand layer may have (~0.5 KB each with its popup: at
#: most ~10 MB); the cell size is the smallest of 100 m, 250 m, 500 m, 1 km ... within it.
GRID_CELL_LIMIT = 20_000
#: A cell whose leading category holds less than this share of its weight is drawn lighter.
_PURE_SHARE = 0.8
TILES_NOTE = (
    "底图瓦片需联网 Basemap tiles need a network connection (内网请用 intranet: basemap none)"
)

ROADS_NAME = "道路 Roads"
FACILITIES_NAME = "养老设施 Facilities"
#: the default name of the proposed sites' layer and legend row
PROPOSED_NAME = "拟建站点 Proposed sites"
#: the proposed sites' symbol on every map: (shape, fill, outline), a gold star
PROPOSED_ICON = ("star", "#ffd400", "#5b2a86")
#: the demand layers' names by category (the map's layer control)
DEMAND_NAMES = {
    "both": "已覆盖 Covered",
    "partial": "部分覆盖 Partly covered (one rule)",
    "none": "未覆盖 Not covered",
    "unreachable": "无法到达 Unreachable",
}

_TIANDITU_URL = (
    "https://t{{s}}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
    "&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
    "&TILEMATRIX={{z}}&TILEROW={{y}}&TILECOL={{x}}&tk={key}"
)

_META_KEYS = ("title", "crs", "speed_mps", "radius_m", "time_min", "walk_limit_m", "source", "date")
_DEMAND_COLS = (
    "id", "name", "dist_m", "time_min", "facility_id", "facility_name", "covered_radius",
    "covered_time", "within_circle", "false_coverage", "status", "weight",
)  # fmt: skip
_FACILITY_COLS = (
    "id", "name", "n_covered_radius", "weight_covered_radius", "n_covered_time",
    "weight_covered_time",
)  # fmt: skip


@dataclass(frozen=True)
class MapLayers:
    """Everything :func:`audit_map` draws, all in EPSG:4326.

    Parameters
    ----------
    demand
        Demand points: ``id, name, dist_m`` (inf if no facility within the cutoff),
        ``time_min, facility_id, facility_name, covered_radius, covered_time, within_circle``
        (straight-line circle says covered), ``false_coverage`` (circle yes, network no),
        ``status`` (``"ok"``, ``"unreachable"``, ``"beyond_cutoff"``), ``weight`` and
        optionally ``zone_name``.
    facilities
        Facility points: ``id, name, n_covered_radius, weight_covered_radius,
        n_covered_time, weight_covered_time`` and optionally ``capacity``.
    roads
        Road LineStrings or None.
    service_areas
        Road-following reach (lines) or polygons: ``facility_id, facility_name, rule``
        (``"radius"`` or ``"time"``), ``limit_m``; or None.
    zones
        Zone polygons: ``zone_id, zone_name, share_radius, share_time, target,
        meets_target``; or None.
    meta
        ``title, crs, speed_mps, radius_m, time_min, walk_limit_m, source, date``.
    proposed
        Proposed (or planned) sites: ``id, name`` and optionally ``rank``, ``kind``,
        ``marginal_gain``; drawn as stars with their own legend row, and left out of the
        facility layer (matched by ``id``). None: every facility is an existing one.
    proposed_name
        The proposed sites' layer and legend name.
    coverage
        The audit's :class:`~coverage.audit.summary.CoverageSummary` (the legend's numbers
        and names); None: computed from ``demand`` under the rules in ``meta``.
    zones_name
        What the zones are, when they are not planning zones with targets (a development's
        site: ``"用地范围 Development site"``): one layer and legend row of that name.
    """

    demand: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame
    roads: gpd.GeoDataFrame | None
    service_areas: gpd.GeoDataFrame | None
    zones: gpd.GeoDataFrame | None
    meta: dict
    proposed: gpd.GeoDataFrame | None = None
    proposed_name: str = PROPOSED_NAME
    coverage: CoverageSummary | None = None
    zones_name: str | None = None


# --------------------------------------------------------------------------- deterministic ids
def _freeze_ids(root: Element) -> None:
    """Give every element of ``root``'s tree an id derived from its position.

    Elements in ``_children`` get their index, elements held in attributes (``Popup.html``,
    ``Figure.header``) the attribute name; the path from the root makes the id, so adding
    elements later (Folium adds script links while rendering) changes no other id.
    ``_children`` keys that were element names are renamed to match.
    """
    seen: set[int] = set()

    def visit(el: Element, path: str) -> None:
        if id(el) in seen:
            return
        seen.add(id(el))
        el._id = path
        children: OrderedDict[str, Element] = OrderedDict()
        for i, (key, child) in enumerate(list(el._children.items())):
            was_name = key == child.get_name()
            visit(child, f"{path}_{i}")
            children[child.get_name() if was_name else key] = child
        el._children = children
        for attr, val in list(vars(el).items()):
            if attr != "_parent" and isinstance(val, Element):
                visit(val, f"{path}_{re.sub(r'[^A-Za-z0-9]', '', attr)}")

    visit(root, "y")


# --------------------------------------------------------------------------- input checks
def _check_columns(gdf: gpd.GeoDataFrame, cols: tuple[str, ...], what: str) -> None:
    missing = [c for c in cols if c not in gdf.columns]
    if missing:
        raise ParameterError(
            f"MapLayers.{what}: missing column(s) {', '.join(missing)}. "
            "Fix: build the layers with the audit module (coverage.engine.whatif)."
        )


def audit_layers(
    result: AuditResult, *, proposed: gpd.GeoDataFrame | None = None, proposed_name: str = PROPOSED_NAME
) -> MapLayers:
    """The layers of an audit (:class:`coverage.audit.run.AuditResult`) for :func:`audit_map`;
    ``proposed`` sites (ids among the audit's facilities) are drawn apart as stars."""
    return MapLayers(
        demand=result.demand,
        facilities=result.facilities,
        roads=result.network.edges_frame(to_wgs84=True),
        service_areas=result.service_areas,
        zones=result.zones,
        meta=result.meta,
        proposed=proposed,
        proposed_name=proposed_name,
        coverage=getattr(result, "coverage", None),
    )


def _wgs84(gdf: gpd.GeoDataFrame | None, what: str) -> gpd.GeoDataFrame | None:
    """Return ``gdf`` in EPSG:4326 without empty geometries (None stays None)."""
    if gdf is None:
        return None
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise ParameterError(f"MapLayers.{what} must be a GeoDataFrame, got {type(gdf).__name__}.")
    if gdf.geometry.name != "geometry":
        gdf = gdf.rename_geometry("geometry")
    empty = gdf.geometry.isna() | gdf.geometry.is_empty
    if empty.any():
        logger.warning("%s: %d row(s) without geometry are not drawn", what, int(empty.sum()))
        gdf = gdf.loc[~empty]
    if gdf.crs is None:
        minx, miny, maxx, maxy = gdf.total_bounds if len(gdf) else (0, 0, 0, 0)
        if minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
            raise CRSError(
                f"MapLayers.{what}: no CRS and coordinates outside longitude/latitude "
                "range. Fix: set the CRS (gdf.set_crs(...)) or reproject to EPSG:4326."
            )
        logger.info("%s: no CRS set, assuming EPSG:4326", what)
        return gdf.set_crs(4326)
    if gdf.crs.to_epsg() != 4326:
        logger.info("%s: reprojecting from %s to EPSG:4326", what, gdf.crs.to_string())
        return gdf.to_crs(4326)
    return gdf


def _check_meta(meta: dict) -> dict:
    if not isinstance(meta, dict):
        raise ParameterError("MapLayers.meta must be a dict.")
    missing = [k for k in _META_KEYS if k not in meta]
    if missing:
        raise ParameterError(
            f"MapLayers.meta: missing key(s) {', '.join(missing)}; the legend must state every "
            "parameter. Fix: build the layers with the audit module (coverage.engine.whatif)."
        )
    return meta


# --------------------------------------------------------------------------- geometry helpers
def _light(geoms: Any, *, tolerance: float = 0.0) -> list[dict]:
    """Round to ~0.1 m (1e-6 degree) and optionally simplify; return GeoJSON geometries."""
    arr = np.asarray(geoms, dtype=object)
    if tolerance > 0:
        arr = shapely.simplify(arr, tolerance, preserve_topology=True)
    arr = shapely.set_precision(arr, 1e-6, mode="pointwise")
    return [shapely.geometry.mapping(g) for g in arr]


def _point_latlon(geom: Any) -> tuple[float, float]:
    if geom.geom_type != "Point":
        geom = geom.representative_point()
    return round(geom.y, 7), round(geom.x, 7)


def _feature_collection(geoms: list[dict], props: list[dict]) -> dict:
    return {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "id": str(i), "geometry": g, "properties": p}
            for i, (g, p) in enumerate(zip(geoms, props, strict=True))
        ],
    }


# --------------------------------------------------------------------------- layers
def _group(m: folium.Map, name: str, *, show: bool = True) -> folium.FeatureGroup:
    return folium.FeatureGroup(name=esc(name), show=show).add_to(m)


def _points(
    group: folium.FeatureGroup,
    latlons: list[tuple[float, float]],
    popups: list[dict[str, str]],
    tips: list[str],
    style: dict[str, Any],
    *,
    max_markers: int,
) -> None:
    """Draw points as CircleMarkers, or as one styled GeoJson layer above ``max_markers``.

    ``popups`` holds one label -> value dict per point (all with the same labels); in the
    GeoJson layer the labels are stored once and only the values per point.
    """
    if not latlons:
        return
    if len(latlons) <= max_markers:
        for (lat, lon), pop, tip in zip(latlons, popups, tips, strict=True):
            folium.CircleMarker(
                [lat, lon],
                popup=folium.Popup(popup_html(pop), max_width=360, lazy=True) if pop else None,
                tooltip=folium.Tooltip(tip),
                **style,
            ).add_to(group)
        return
    labels = list(popups[0])
    fields = [f"f{i}" for i in range(len(labels))]
    geoms = [{"type": "Point", "coordinates": [lon, lat]} for lat, lon in latlons]
    props = [
        {"t": tip, **{f: pop.get(k, "—") for f, k in zip(fields, labels, strict=True)}}
        for pop, tip in zip(popups, tips, strict=True)
    ]
    path_style = {
        "color": style.get("color"), "weight": style.get("weight", 1),
        "fillColor": style.get("fill_color"), "fillOpacity": style.get("fill_opacity", 0.8),
        "opacity": style.get("opacity", 1.0), "fill": style.get("fill", True),
    }  # fmt: skip
    folium.GeoJson(
        _feature_collection(geoms, props),
        marker=folium.CircleMarker(radius=style.get("radius", 4)),
        style_function=lambda _f, s=path_style: s,
        tooltip=folium.GeoJsonTooltip(fields=["t"], labels=False),
        popup=folium.GeoJsonPopup(fields=fields, aliases=labels, max_width=360) if labels else None,
        embed=True,
    ).add_to(group)


def shape_markers(
    group: folium.FeatureGroup,
    latlons: list[tuple[float, float]],
    popups: list[dict[str, str]],
    tips: list[str],
    icon: tuple[str, str, str],
    *,
    size: int = 22,
) -> None:
    """Point symbols that are not circles (stars, squares, crosses ...): one marker each with
    an inline-SVG icon (:func:`coverage.publish._html.svg_symbol`; ``icon`` is ``(shape,
    fill, outline)``), an escaped tooltip and a lazy popup (``{}``: none). Meant for the
    few points that must stand out (proposed sites, homes), not for thousands."""
    html = svg_symbol(*icon, size=size)
    for (lat, lon), pop, tip in zip(latlons, popups, tips, strict=True):
        folium.Marker(
            [lat, lon],
            icon=folium.DivIcon(html=html, icon_size=(size, size), icon_anchor=(size // 2, size // 2), class_name="yl-divicon"),
            popup=folium.Popup(popup_html(pop), max_width=360, lazy=True) if pop else None,
            tooltip=folium.Tooltip(tip),
        ).add_to(group)


def _lines_layer(
    group: folium.FeatureGroup, gdf: gpd.GeoDataFrame, tips: list[str], style: dict[str, Any]
) -> None:
    """Styled GeoJson of (Multi)LineStrings or polygons with escaped tooltips."""
    if gdf.empty:
        return
    coll = _feature_collection(
        _light(gdf.geometry.values, tolerance=2e-6), [{"t": t} for t in tips]
    )
    folium.GeoJson(
        coll,
        style_function=lambda _f, s=style: s,
        tooltip=folium.GeoJsonTooltip(fields=["t"], labels=False, sticky=True),
        embed=True,
    ).add_to(group)


def add_roads(m: folium.Map, roads: gpd.GeoDataFrame | None, *, max_edges: int) -> tuple[list[str], str]:
    """Draw the roads as one simplified MultiLineString; return the legend rows and a note
    ("" if none)."""
    if roads is None or roads.empty:
        return [], ""
    if len(roads) > max_edges:
        logger.warning(
            "roads: %d edges exceed max_road_edges=%d; the road layer is left out of the map",
            len(roads), max_edges,
        )  # fmt: skip
        return [], f"道路图层已省略 Road layer omitted ({len(roads):,} edges &gt; {max_edges:,})"
    parts = shapely.get_parts(roads.geometry.values)
    parts = parts[shapely.get_type_id(parts) == 1]  # LineStrings only
    if not len(parts):
        return [], ""
    merged = shapely.multilinestrings(parts)
    geom = _light([merged], tolerance=5e-6)[0]
    group = _group(m, ROADS_NAME)
    folium.GeoJson(
        {"type": "Feature", "geometry": geom, "properties": {}},
        style_function=lambda _f: {"color": COLOURS["road"], "weight": 1, "opacity": 0.7},
        control=False,
        interactive=False,
        embed=True,
    ).add_to(group)
    return [symbol("line", COLOURS["road"], ROADS_NAME)], ""


def _add_service_areas(m: folium.Map, areas: gpd.GeoDataFrame | None, meta: dict) -> list[str]:
    if areas is None or areas.empty:
        return []
    _check_columns(areas, ("facility_name", "rule", "limit_m"), "service_areas")
    rad, tim = short(meta["radius_m"]), short(meta["time_min"])
    names = {
        "radius": f"服务范围 {rad} m / Service area {rad} m",
        "time": f"{tim}分钟服务圈 / {tim}-min walk",
    }
    rows = []
    for rule in ("radius", "time"):
        sub = areas[areas["rule"].astype(str) == rule]
        if sub.empty:
            continue
        tips = [
            f"{esc(n)}: {names[rule]} ({num(lim, 0, unit=' m')})"
            for n, lim in zip(sub["facility_name"], sub["limit_m"], strict=True)
        ]
        style = {
            "color": COLOURS[rule], "weight": 3 if rule == "radius" else 2.5, "opacity": 0.75,
            "fillColor": COLOURS[rule], "fillOpacity": 0.08,
            "dashArray": "6 4" if rule == "radius" else None,
        }  # fmt: skip
        _lines_layer(_group(m, names[rule]), sub, tips, {k: v for k, v in style.items() if v})
        rows.append(symbol("dash" if rule == "radius" else "line", COLOURS[rule], names[rule] + " (沿路 along the roads)"))
    other = set(areas["rule"].astype(str)) - set(names)
    if other:
        logger.warning("service_areas: unknown rule(s) %s not drawn", sorted(other))
    return rows


_ZONE_STATES = {
    True: (COLOURS["both"], "达标 meets target", "片区达标 Zone meets its target"),
    False: (COLOURS["none"], "未达标 below target", "片区未达标 Zone below its target"),
    None: (COLOURS["zone"], "", "片区 Zone"),
}


def _add_zones(m: folium.Map, zones: gpd.GeoDataFrame | None, meta: dict, name: str | None = None) -> list[str]:
    if zones is None or zones.empty:
        return []
    _check_columns(zones, ("zone_name", "share_radius", "share_time"), "zones")
    rad, tim = short(meta["radius_m"]), short(meta["time_min"])
    group = _group(m, name or "片区 Zones")
    meets = zones["meets_target"] if "meets_target" in zones.columns and not name else [None] * len(zones)
    state = np.array([None if is_missing(v) else bool(v) for v in meets], dtype=object)
    rows = []
    for ok, (colour, verdict, legend) in _ZONE_STATES.items():
        sub = zones[[s is ok for s in state]]
        if sub.empty:
            continue
        targets = sub["target"] if "target" in sub.columns else [None] * len(sub)
        tips = [
            f"<b>{esc(name)}</b><br>{rad} m: {num(100 * to_float(sr), 1)}% · "
            f"{tim} min: {num(100 * to_float(st), 1)}%"
            + (f"<br>目标 Target: {num(100 * to_float(tg), 0)}% {verdict}" if verdict else "")
            for name, sr, st, tg in zip(
                sub["zone_name"], sub["share_radius"], sub["share_time"], targets, strict=True
            )
        ]
        style = {"color": colour, "weight": 2, "opacity": 0.8, "fillColor": colour,
                 "fillOpacity": 0.1}  # fmt: skip
        _lines_layer(group, sub, tips, style)
        rows.append(symbol("area", colour, name or legend))
    return rows


def _legend_numbers(layers: MapLayers, demand: gpd.GeoDataFrame, meta: dict) -> list[Any]:
    """The legend rows of the audit's :class:`~coverage.audit.summary.CoverageSummary`: the
    one source of the legend's names and numbers."""
    cov = layers.coverage
    if cov is None:
        cov = CoverageSummary.from_demand(demand, config_of(meta))
    return list(cov.legend_rows())


def _add_demand(m: folium.Map, demand: gpd.GeoDataFrame, meta: dict, numbers: list[Any], *,
                max_markers: int, terrain: Any = None, aggregate_above: int = DEMAND_AGGREGATE_LIMIT,
                cell_limit: int = GRID_CELL_LIMIT) -> list[str]:  # fmt: skip
    """Draw demand points by category; return their legend rows (names and numbers from
    ``numbers``, the :meth:`~coverage.audit.summary.CoverageSummary.legend_rows`).

    More than ``aggregate_above`` points are drawn aggregated on a grid of at most
    ``cell_limit`` cells (:func:`_add_demand_grid`)."""
    if len(demand) > aggregate_above:
        return _add_demand_grid(m, demand, meta, numbers, max_markers=max_markers, terrain=terrain, cell_limit=cell_limit)
    show_weight = bool(len(demand)) and not np.allclose(demand["weight"].astype(float), 1.0)
    has_zone = "zone_name" in demand.columns
    rows = list(demand.itertuples(index=False))
    cats = [demand_category(r) for r in rows]
    latlons = [_point_latlon(r.geometry) for r in rows]
    popups = [demand_popup(r, meta, show_weight=show_weight, has_zone=has_zone) for r in rows]
    tips = [esc(r.name) for r in rows]
    for cat, name in DEMAND_NAMES.items():
        idx = [i for i, c in enumerate(cats) if c == cat]
        if not idx:
            continue
        style = {"radius": 4, "color": COLOURS[cat], "weight": 1, "fill": True,
                 "fill_color": COLOURS[cat], "fill_opacity": 0.85}  # fmt: skip
        _points(_group(m, name), [latlons[i] for i in idx], [popups[i] for i in idx],
                [tips[i] for i in idx], style, max_markers=max_markers)  # fmt: skip
    idx = [i for i, r in enumerate(rows) if flag(r.false_coverage)]
    if idx:
        ring = {"radius": 8, "color": COLOURS["false"], "weight": 2.5, "fill": False}
        _points(_group(m, "虚假覆盖 False coverage (circle yes, road no)"),
                [latlons[i] for i in idx], [popups[i] for i in idx],
                [f"虚假覆盖 False coverage: {tips[i]}" for i in idx], ring,
                max_markers=max_markers)  # fmt: skip
    legend = _demand_legend(numbers, show_weight)
    if terrain is not None and "terrain_out" in demand.columns:
        legend.append(_add_terrain_out(m, demand, latlons, popups, tips, terrain, max_markers=max_markers))
    return legend


def _demand_legend(numbers: list[Any], show_weight: bool, *, cells: bool = False) -> list[str]:
    """The demand legend rows: each row's text from the audit's CoverageSummary (``numbers``),
    its swatch a dot (a square when drawn as grid cells) or the false-coverage ring."""
    legend = []
    for row in numbers:
        text = esc(row.text())
        if show_weight and math.isfinite(row.weight_share):
            text += f", 权重 weight {num(100 * row.weight_share, 1)}%"
        kind = "ring" if row.key == "false" else "area" if cells else "dot"
        legend.append(f'<span class="yl-row">{swatch(kind, COLOURS[row.key])}{text}</span>')
    return legend


def _cell_popups(grid: DemandGrid, show_weight: bool, extra: dict[str, str]) -> tuple[list[str], list[str], list[dict[str, str]]]:
    """The popup fields, their labels and each cell's values (numbers via :func:`num`):
    points (and weight) in the cell, per category, false coverage and ``extra`` counts."""
    c = short(grid.cell_m)
    unit = "点 points / 权重 weight" if show_weight else "点 points"
    fields, labels = ["n"], [f"{c} m 网格内 In this {c} m cell — {unit}"]
    present = [k for k in range(len(CATEGORIES)) if grid.counts[:, k].any()]
    fields += [f"k{k}" for k in present]
    labels += [DEMAND_NAMES[CATEGORIES[k]] for k in present]
    with_false = bool(grid.false.any())
    if with_false:
        fields.append("f")
        labels.append("虚假覆盖 False coverage")
    fields += [f"x{i}" for i in range(len(extra))]
    labels += list(extra.values())

    def value(n: Any, w: Any) -> str:
        return f"{num(n)}\u00a0/\u00a0{num(w, 1)}" if show_weight else num(n)  # no-break spaces: one line

    props = []
    for i in range(len(grid)):
        p = {"n": value(grid.counts[i].sum(), grid.weights[i].sum())}
        p |= {f"k{k}": value(grid.counts[i, k], grid.weights[i, k]) for k in present}
        if with_false:
            p["f"] = num(grid.false[i])
        p |= {f"x{j}": num(grid.extra[col][i]) for j, col in enumerate(extra)}
        props.append(p)
    return fields, labels, props


def _add_demand_grid(m: folium.Map, demand: gpd.GeoDataFrame, meta: dict, numbers: list[Any], *,
                     max_markers: int, terrain: Any, cell_limit: int) -> list[str]:  # fmt: skip
    """Draw demand aggregated on a square grid (:func:`coverage.publish.demand_grid.demand_grid`):
    one layer per category of the cells it leads by weight (lighter when it holds less than
    80 % of the cell's weight), popups with each cell's counts and weights per category; the
    false-coverage (and terrain) points one by one when at most ``max_markers``, else the
    cells holding them outlined. The legend rows keep ``numbers``; a note states the grid."""
    show_weight = not np.allclose(demand["weight"].astype(float), 1.0)
    grid = demand_grid(demand, meta, cell_limit=cell_limit)
    top, share = grid.dominant()
    on_terrain = terrain is not None and "terrain_out" in demand.columns
    extra = {"terrain_out": esc(terrain.figure("terrain_out").label("both"))} if on_terrain else {}
    fields, labels, props = _cell_popups(grid, show_weight, extra)
    rings = grid.rings_wgs84()
    for code, cat in enumerate(CATEGORIES):
        idx = np.flatnonzero(top == code)
        if not len(idx):
            continue
        for i in idx:
            props[i]["t"] = f"{props[i]['n'].split(chr(0xA0))[0]} 点 points · {DEMAND_NAMES[cat]} {num(100 * share[i], 0)}%"
        coll = _feature_collection([{"type": "Polygon", "coordinates": [rings[i]]} for i in idx], [props[i] for i in idx])
        light = {str(j) for j, i in enumerate(idx) if share[i] < _PURE_SHARE}
        base = {"color": COLOURS[cat], "weight": 0.6, "opacity": 0.9, "fillColor": COLOURS[cat]}
        folium.GeoJson(
            coll,
            style_function=lambda f, b=base, lt=light: {**b, "fillOpacity": 0.3 if f["id"] in lt else 0.7},
            tooltip=folium.GeoJsonTooltip(fields=["t"], labels=False),
            popup=folium.GeoJsonPopup(fields=fields, aliases=labels, max_width=360),
            embed=True,
        ).add_to(_group(m, DEMAND_NAMES[cat]))
    n_false, one_by_one = _flagged_cells(m, demand, meta, (grid, rings), "false_coverage", "虚假覆盖 False coverage (circle yes, road no)",
                                         {"radius": 8, "color": COLOURS["false"], "weight": 2.5, "fill": False}, max_markers=max_markers)  # fmt: skip
    legend = _demand_legend(numbers, show_weight, cells=True)
    if on_terrain:
        fig = terrain.figure("terrain_out")
        _flagged_cells(m, demand, meta, (grid, rings), "terrain_out", fig.label("both"),
                      {"radius": 7, "color": COLOURS["terrain"], "weight": 2.5, "fill": False, "dash_array": "3 3"},
                      max_markers=max_markers)  # fmt: skip
        text = esc(f"{fig.label('both')} — {fig.count:,}")
        legend.append(f'<span class="yl-row">{swatch("ring", COLOURS["terrain"])}{text}</span>')
    c = short(grid.cell_m)
    note = (f"需求点按 {c} m 网格汇总显示 Demand aggregated on a {c} m grid: {len(demand):,} 点 points in {len(grid):,} 格 cells, "
            f"每格颜色为权重最大的类别 each coloured by the category holding most of its weight "
            f"（不足 {_PURE_SHARE:.0%} 者较浅 lighter below {_PURE_SHARE:.0%}）; 点击格子看各类点数 click a cell for its counts")
    if n_false:
        note += "; 含虚假覆盖点的格子以紫框标出 cells with false coverage outlined in purple"
        note += "（逐点图层默认隐藏 the points one by one: a hidden layer）" if one_by_one else ""
    legend_of(m).add_note(esc(note))
    return legend


def _flagged_cells(m: folium.Map, demand: gpd.GeoDataFrame, meta: dict, cells: tuple[DemandGrid, list], col: str, name: str,
                   style: dict[str, Any], *, max_markers: int) -> tuple[int, bool]:  # fmt: skip
    """The grid cells (``cells``: the grid and its rings) holding points flagged in ``col``
    outlined (tooltip: how many), and,
    when at most ``max_markers``, the points themselves one by one with their popups in a
    layer of their own that starts hidden (thousands of rings would bury a city-wide view).
    Returns the number of flagged points and whether they were drawn one by one."""
    grid, rings = cells
    idx = np.flatnonzero(flag_array(demand[col]))
    if not len(idx):
        return 0, False
    per_cell = np.bincount(grid.cell_of[idx], minlength=len(grid))
    held = np.flatnonzero(per_cell)
    coll = _feature_collection([{"type": "Polygon", "coordinates": [rings[i]]} for i in held],
                               [{"t": f"{esc(name)}: {num(per_cell[i])} 点 points"} for i in held])  # fmt: skip
    outline = {"color": style["color"], "weight": 1.5, "opacity": 1.0, "fill": False, "dashArray": style.get("dash_array")}
    outline = {k: v for k, v in outline.items() if v}
    folium.GeoJson(coll, style_function=lambda _f, s=outline: s,
                   tooltip=folium.GeoJsonTooltip(fields=["t"], labels=False), embed=True).add_to(_group(m, name))  # fmt: skip
    if len(idx) > max_markers:
        return len(idx), False
    show_weight = not np.allclose(demand["weight"].astype(float), 1.0)
    has_zone = "zone_name" in demand.columns
    rows = list(demand.iloc[idx].itertuples(index=False))
    _points(_group(m, f"{name} — 逐点 point by point", show=False), [_point_latlon(r.geometry) for r in rows],
            [demand_popup(r, meta, show_weight=show_weight, has_zone=has_zone) for r in rows],
            [f"{esc(name)}: {esc(r.name)}" for r in rows], style, max_markers=max_markers)  # fmt: skip
    return len(idx), True


def _add_terrain_out(m: folium.Map, demand: gpd.GeoDataFrame, latlons: list[tuple[float, float]], popups: list[dict[str, str]],
                     tips: list[str], terrain: Any, *, max_markers: int) -> str:  # fmt: skip
    """The homes terrain takes out of the 15-minute circle (within it on the flat, not on
    the ground), as dashed rings in a layer of their own; returns the legend row (name and
    number from the audit's :class:`~coverage.audit.summary.CoverageSummary`)."""
    fig = terrain.figure("terrain_out")
    idx = np.flatnonzero(demand["terrain_out"].to_numpy(dtype=bool)).tolist()
    name = fig.label("both")
    ring = {"radius": 7, "color": COLOURS["terrain"], "weight": 2.5, "fill": False, "dash_array": "3 3"}
    _points(_group(m, name), [latlons[i] for i in idx], [popups[i] for i in idx],
            [f"{esc(fig.label_zh)} {esc(fig.label_en)}: {tips[i]}" for i in idx], ring, max_markers=max_markers)  # fmt: skip
    text = esc(f"{name} — {fig.count:,}")
    return f'<span class="yl-row">{swatch("ring", COLOURS["terrain"])}{text}</span>'


def _add_facilities(m: folium.Map, fac: gpd.GeoDataFrame, meta: dict, *, name: str, max_markers: int) -> list[str]:
    if fac.empty:
        return []
    has_capacity = "capacity" in fac.columns
    rows = list(fac.itertuples(index=False))
    style = {"radius": 7, "color": "#ffffff", "weight": 2, "fill": True,
             "fill_color": COLOURS["facility"], "fill_opacity": 1.0}  # fmt: skip
    _points(_group(m, name), [_point_latlon(r.geometry) for r in rows],
            [facility_popup(r, meta, has_capacity=has_capacity) for r in rows],
            [esc(r.name) for r in rows], style, max_markers=max_markers)  # fmt: skip
    return [symbol("dot", COLOURS["facility"], name)]


_PROPOSED_EXTRA = (
    ("rank", "排序 Rank", 0), ("marginal_gain", "边际增益 Marginal gain", 1), ("kind", "类型 Kind", None),
    ("n_in_reach_newly_covered", "新增覆盖点 Newly covered points in reach", 0),
    ("weight_in_reach_newly_covered", "新增覆盖权重 Newly covered weight", 1),
)  # fmt: skip


def _proposed_popup(row: Any, fac_row: Any, meta: dict) -> dict[str, str]:
    """The facility popup of a proposed site (its coverage) and its ranking columns."""
    out = facility_popup(fac_row, meta, has_capacity=hasattr(fac_row, "capacity")) if fac_row is not None else {
        "名称 Name": esc(getattr(row, "name", row.id)), "编号 ID": esc(row.id)}  # fmt: skip
    for col, label, digits in _PROPOSED_EXTRA:
        if hasattr(row, col):
            value = getattr(row, col)
            out[label] = esc(value) if digits is None else num(value, digits)
    return out


def add_proposed(m: folium.Map, proposed: gpd.GeoDataFrame | None, *, name: str = "",
                 facilities: gpd.GeoDataFrame | None = None, meta: dict | None = None) -> list[str]:  # fmt: skip
    """Draw proposed sites as gold stars (popups with their coverage from ``facilities`` and
    their rank); return the legend row."""
    if proposed is None or proposed.empty:
        return []
    name = name or PROPOSED_NAME
    p = _wgs84(proposed, "proposed")
    by_id = {str(r.id): r for r in facilities.itertuples(index=False)} if facilities is not None else {}
    rows = list(p.itertuples(index=False))
    popups = [_proposed_popup(r, by_id.get(str(r.id)), meta or {}) if meta else {} for r in rows]
    tips = [(f"{int(r.rank)}. " if hasattr(r, "rank") and not is_missing(r.rank) else "") + esc(getattr(r, "name", r.id))
            for r in rows]  # fmt: skip
    shape_markers(_group(m, name), [_point_latlon(r.geometry) for r in rows], popups, tips, PROPOSED_ICON)
    return [symbol(PROPOSED_ICON[0], PROPOSED_ICON[2], name, fill=PROPOSED_ICON[1])]


# --------------------------------------------------------------------------- tiles, bounds
def _add_tiles(m: folium.Map, basemap: str, key: str | None) -> None:
    if basemap == "osm":
        folium.TileLayer(
            "https://tile.openstreetmap.org/{z}/{x}/{y}.png", attr=OSM_ATTR,
            name="OpenStreetMap", max_zoom=19,
        ).add_to(m)  # fmt: skip
    elif basemap == "tianditu":
        safe_key = quote(key or "", safe="")
        folium.TileLayer(
            _TIANDITU_URL.format(layer="vec", key=safe_key), attr=TIANDITU_ATTR,
            name="天地图 Tianditu", subdomains="01234567", max_zoom=18,
        ).add_to(m)  # fmt: skip
        folium.TileLayer(
            _TIANDITU_URL.format(layer="cva", key=safe_key), attr=TIANDITU_ATTR,
            name="天地图注记 Tianditu labels", subdomains="01234567", max_zoom=18,
            overlay=True, control=False,
        ).add_to(m)  # fmt: skip


def _bounds(layers: list[gpd.GeoDataFrame | None], *, pad_share: float = 0.0) -> list[list[float]]:
    boxes = [g.total_bounds for g in layers if g is not None and len(g)]
    if not boxes:
        raise ParameterError("MapLayers: no demand points and no facilities to map.")
    arr = np.array(boxes)
    minx, miny = arr[:, 0].min(), arr[:, 1].min()
    maxx, maxy = arr[:, 2].max(), arr[:, 3].max()
    pad = 0.002 if (maxx - minx) < 1e-4 and (maxy - miny) < 1e-4 else 0.0
    pad = max(pad, pad_share * max(maxx - minx, maxy - miny))
    return [[float(miny) - pad, float(minx) - pad], [float(maxy) + pad, float(maxx) + pad]]


def check_basemap(basemap: str, tianditu_key: str | None) -> None:
    """Raise :class:`~coverage.errors.ParameterError` for an unknown basemap or a Tianditu
    basemap without its key."""
    if basemap not in BASEMAPS:
        raise ParameterError(f"basemap={basemap!r} is not one of {', '.join(BASEMAPS)}.")
    if basemap == "tianditu" and not (tianditu_key and str(tianditu_key).strip()):
        raise ParameterError(
            "basemap='tianditu' needs a Tianditu key. Fix: pass tianditu_key=... / "
            "--tianditu-key (apply at https://console.tianditu.gov.cn/), or use basemap='osm' or 'none'."
        )


def base_map(meta: dict, *, basemap: str, tianditu_key: str | None) -> tuple[folium.Map, HtmlSnippet]:
    """An empty map with its basemap (none: white), page title, and the title-and-legend
    element (its parameter rows from ``meta``; symbol rows are added as layers are drawn)."""
    check_basemap(basemap, tianditu_key)
    m = folium.Map(location=None, tiles=None, control_scale=False, prefer_canvas=True, zoom_snap=0.25)
    MetricScale().add_to(m)  # folium's own scale also shows miles and feet
    _add_tiles(m, basemap, tianditu_key)
    # OSM tiles already credit the contributors; other basemaps need the ODbL data credit.
    attribution = OSM_DATA_ATTR if is_osm(meta["source"]) and basemap != "osm" else ""
    m.get_root().title = esc(meta["title"])
    notes = [TILES_NOTE] if basemap != "none" else []
    legend = HtmlSnippet(css=LEGEND_CSS, title=esc(meta["title"]), symbols=[], info=parameter_rows(meta),
                         notes=notes, attribution=attribution, white=basemap == "none")  # fmt: skip
    legend.add_to(m)
    return m, legend


def legend_of(m: folium.Map) -> HtmlSnippet:
    """The title-and-legend element of a map made by :func:`base_map`."""
    for child in m._children.values():
        if isinstance(child, HtmlSnippet):
            return child
    raise ParameterError("this map has no legend: build it with coverage.publish.maps.base_map / audit_map")


class MetricScale(MacroElement):
    """Leaflet's scale bar in metres only (folium's ``control_scale`` adds miles and feet)."""

    _template = Template(
        "{% macro script(this, kwargs) %}L.control.scale({imperial: false, metric: true})"
        ".addTo({{ this._parent.get_name() }});{% endmacro %}"
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "MetricScale"


class FitView(MacroElement):
    """Open the map on ``bounds``, kept clear of the legend (bottom left, when the window is
    wide enough to spare its width) and of the title: Leaflet's ``fitBounds`` with padding
    measured in the page."""

    _template = Template(
        "{% macro script(this, kwargs) %}(function(){var lg=document.querySelector('.yl-legend');"
        "var w=lg?lg.offsetWidth+24:20;if(w>window.innerWidth*0.35){w=20;}"
        "{{ this._parent.get_name() }}.fitBounds({{ this.bounds|tojson }},"
        "{paddingTopLeft:[w,50],paddingBottomRight:[20,20]});})();{% endmacro %}"
    )

    def __init__(self, bounds: list[list[float]]) -> None:
        super().__init__()
        self._name = "FitView"
        self.bounds = [[float(v) for v in corner] for corner in bounds]


def finish_map(m: folium.Map, bounds: list[list[float]] | None = None) -> folium.Map:
    """Add the controls (full screen, measuring, layers last so it lists every layer), fit
    the view to ``bounds`` (None: keep the view fitted before) and freeze the element ids.

    Call it again after adding layers to a finished map: the controls are replaced, not
    repeated."""
    for key, child in list(m._children.items()):
        if isinstance(child, folium.LayerControl | plugins.Fullscreen | plugins.MeasureControl | FitBounds | FitView):
            if isinstance(child, FitBounds | FitView) and bounds is None:
                bounds = child.bounds
            del m._children[key]
    plugins.Fullscreen(position="topleft", title="全屏 Full screen",
                       title_cancel="退出全屏 Exit full screen").add_to(m)  # fmt: skip
    plugins.MeasureControl(position="topleft", primary_length_unit="meters",
                           secondary_length_unit="kilometers", primary_area_unit="sqmeters",
                           secondary_area_unit="hectares").add_to(m)  # fmt: skip
    folium.LayerControl(collapsed=True).add_to(m)
    if bounds is not None:
        FitView(bounds).add_to(m)
    _freeze_ids(m.get_root())
    return m


# --------------------------------------------------------------------------- public API
def audit_map(
    layers: MapLayers,
    *,
    basemap: str = "none",
    tianditu_key: str | None = None,
    max_road_edges: int = 200_000,
    max_markers: int = MARKER_LIMIT,
    focus: gpd.GeoDataFrame | None = None,
    aggregate_above: int = DEMAND_AGGREGATE_LIMIT,
    grid_cells: int = GRID_CELL_LIMIT,
) -> folium.Map:
    """Build the interactive coverage-audit map.

    Parameters
    ----------
    layers
        The audit's layers and metadata (see :class:`MapLayers`).
    basemap
        ``"none"`` (the default: white background, nothing loaded from the internet, for
        intranets), ``"osm"`` (OpenStreetMap tiles) or ``"tianditu"`` (天地图 vector tiles
        and labels, needs ``tianditu_key``; the key is embedded in the HTML, so use a
        browser key restricted to your domain). Tiles always need a network connection,
        also in a map saved offline; the legend says so.
    tianditu_key
        Tianditu (天地图) API key ("tk"), required for ``basemap="tianditu"``.
    max_road_edges
        Roads with more edges than this are left out (logged and noted in the legend).
    max_markers
        Point layers with more points than this are drawn as one GeoJson layer instead of
        one CircleMarker each (keeps large maps responsive).
    focus
        Open the map on these features (a development's site or buildings); default all
        demand points and facilities.
    aggregate_above
        With more demand points than this the demand layer is drawn aggregated on a square
        metric grid (:mod:`coverage.publish.demand_grid`): cells coloured by the category
        holding most of their weight, popups with their counts and weights per category, the
        legend's numbers still the audit's; false-coverage points one by one when at most
        ``max_markers``.
    grid_cells
        The most cells the aggregated layer may have: its cell size is the smallest of
        100 m, 250 m, 500 m, 1 km, 2 km ... within it.

    Returns
    -------
    folium.Map
        The map, with element ids already made deterministic; write it with :func:`save_map`.

    Raises
    ------
    ParameterError
        Unknown ``basemap``, missing Tianditu key, missing columns or metadata keys, or
        nothing to map.
    CRSError
        A layer without CRS whose coordinates are not longitude/latitude.
    """
    check_basemap(basemap, tianditu_key)
    for name, value in (("max_road_edges", max_road_edges), ("max_markers", max_markers),
                        ("aggregate_above", aggregate_above), ("grid_cells", grid_cells)):
        if not isinstance(value, int) or value < 0:
            raise ParameterError(f"{name}={value!r} must be a non-negative integer.")
    meta = _check_meta(layers.meta)
    demand = _wgs84(layers.demand, "demand")
    facilities = _wgs84(layers.facilities, "facilities")
    _check_columns(demand, _DEMAND_COLS, "demand")
    _check_columns(facilities, _FACILITY_COLS, "facilities")
    proposed = _wgs84(layers.proposed, "proposed")
    new_ids = set(proposed["id"].astype(str)) if proposed is not None else set()
    existing = facilities[~facilities["id"].astype(str).isin(new_ids)]

    m, legend = base_map(meta, basemap=basemap, tianditu_key=tianditu_key)
    symbols = _add_zones(m, _wgs84(layers.zones, "zones"), meta, layers.zones_name)
    road_rows, note = add_roads(m, _wgs84(layers.roads, "roads"), max_edges=max_road_edges)
    symbols += road_rows + _add_service_areas(m, _wgs84(layers.service_areas, "service_areas"), meta)
    cov = layers.coverage
    on_terrain = cov if cov is not None and getattr(cov, "terrain", None) is not None else None
    symbols += _add_demand(m, demand, meta, _legend_numbers(layers, demand, meta), max_markers=max_markers, terrain=on_terrain,
                           aggregate_above=aggregate_above, cell_limit=max(grid_cells, 1))
    fac_name = "现有养老设施 Existing facilities" if new_ids else FACILITIES_NAME
    symbols += _add_facilities(m, existing, meta, name=fac_name, max_markers=max_markers)
    symbols += add_proposed(m, proposed, name=layers.proposed_name, facilities=facilities, meta=meta)
    for row in symbols:
        legend.add_symbol(row)
    legend.add_note(note)
    if on_terrain is not None and isinstance(meta.get("terrain"), dict):
        t = meta["terrain"]  # hostile text possible (a DEM's own description): escaped
        legend.add_note(esc(f"地形 Terrain: DEM {t.get('dem', '')} ({t.get('dem_description', '')}); "
                            f"坡度模型 slope model {t.get('slope_model_name', '')} ({t.get('slope_citation', '')}); "
                            f"台阶 stairs +{float(t.get('steps_seconds', 0)):g} s"))  # fmt: skip
    focus = _wgs84(focus, "focus")
    bounds = _bounds([focus], pad_share=0.6) if focus is not None and len(focus) else _bounds([demand, facilities])
    finish_map(m, bounds)
    logger.info("audit map: %d demand points, %d facilities (%d proposed), basemap %s",
                len(demand), len(facilities), len(new_ids), basemap)  # fmt: skip
    return m


def save_map(
    m: folium.Map, path: str | Path, *, overwrite: bool = False, offline: bool = True
) -> Path:
    """Write ``m`` as one HTML file, atomically and reproducibly.

    Parameters
    ----------
    m
        A map from :func:`audit_map` (any Folium map works).
    path
        The output ``.html`` file.
    overwrite
        Whether an existing file may be replaced.
    offline
        Whether to embed every script and stylesheet (Leaflet, jQuery, Bootstrap, the
        plugins; their images and fonts as ``data:`` URIs) from the copies shipped in
        ``coverage/publish/static``, so that the map works without internet (government intranets).
        With False the page loads them from public CDNs, as Folium does. Basemap tiles
        always need a network connection (a warning is logged).

    Returns
    -------
    pathlib.Path
        The written file.

    Raises
    ------
    OutputExistsError
        If ``path`` exists and ``overwrite`` is False.
    ParameterError
        If a data value in the map holds unescaped Jinja delimiters (``{{``, ``{%``, ``{#``):
        every user string must pass through :func:`coverage.publish._html.esc`.
    coverage.publish._offline.OfflineAssetError
        If ``offline`` and the page references a script or stylesheet that has no shipped
        copy (nothing is written then).
    """
    # Folium's render() mutates the tree (it adds "addTo" helpers with fresh random ids), so
    # render a copy: the map stays pristine and every save gives the same bytes.
    root = copy.deepcopy(m.get_root())
    _freeze_ids(root)
    check_inert(root)  # Folium re-renders element output as Jinja: refuse unescaped text
    text = root.render()
    if offline:
        text = inline_assets(text)
    out = atomic_write_text(path, text, overwrite=overwrite)
    logger.info("wrote %s map %s (%.1f MB)", "offline" if offline else "online", out,
                len(text.encode("utf-8")) / 1e6)  # fmt: skip
    return out


def write_map(
    path: str | Path,
    layers: MapLayers,
    *,
    overwrite: bool,
    basemap: str = "none",
    tianditu_key: str | None = None,
    focus: gpd.GeoDataFrame | None = None,
) -> Path:
    """The interactive audit-style map of ``layers`` (:func:`audit_map`: ``basemap``,
    ``tianditu_key``, ``focus``), saved offline (:func:`save_map`)."""
    m = audit_map(layers, basemap=basemap, tianditu_key=tianditu_key, focus=focus)
    return save_map(m, path, overwrite=overwrite)
