"""The site-selection map: coverage after the proposal, the proposed sites, the gaps.

Built on the audit map (:func:`coverage.publish.maps.audit_map`): demand is coloured by its
coverage *after* the proposed sites open (the selection's own
:meth:`~coverage.siting.propose.SitingResult.after_audit`: its engine and snapped layers,
nothing read, checked or snapped again), the service areas are the proposed sites'
road-following reach, the proposed sites are gold stars apart from the existing facilities
(ranked, with their marginal gain), and two layers are added: the homes they newly cover,
and the "gaps" (clusters of uncovered homes) when candidates came from them. The title names
the model and the number of sites ("MCLP, k = 3"); every layer has its legend row. Every
name is HTML-escaped.
"""

from __future__ import annotations

import logging
from pathlib import Path

import folium
import geopandas as gpd

from ..siting.propose import SitingResult
from ._html import esc, num, short, symbol
from .demand_grid import cell_rings, point_cells
from .figures import Layer, PrintMap, audit_print_layers, print_map, rule_subtitle
from .maps import (
    GRID_CELL_LIMIT,
    MARKER_LIMIT,
    MapLayers,
    _feature_collection,
    audit_layers,
    audit_map,
    finish_map,
    legend_of,
)

__all__ = ["MODEL_NAMES", "model_title", "siting_map", "siting_print_map"]

logger = logging.getLogger(__name__)

#: how each site model is named on maps and figures
MODEL_NAMES = {"mclp": "MCLP", "lscp": "LSCP", "pmedian": "p-median", "pcenter": "p-center"}
_NEWLY = "#0077ff"
_GAP = "#d62728"


def model_title(model: object, k: int) -> str:
    """``"MCLP, k = 3"``: the model and the number of sites it proposes."""
    name = MODEL_NAMES.get(str(model).lower(), str(model))
    return f"{name}, k = {k}"


def siting_map(
    result: SitingResult,
    *,
    zones: gpd.GeoDataFrame | None = None,
    gaps: gpd.GeoDataFrame | None = None,
    basemap: str = "none",
    tianditu_key: str | None = None,
    run_date: str | None = None,
) -> folium.Map:
    """Map of a site-selection result (save it with :func:`coverage.publish.maps.save_map`).

    Parameters
    ----------
    result
        From :func:`coverage.siting.propose.propose_sites`: it holds the network, the
        inputs and the rules used; the coverage shown is its
        :meth:`~coverage.siting.propose.SitingResult.after_audit`.
    zones
        Optional zone polygons.
    gaps
        Gap polygons from :func:`coverage.siting.candidates.gap_clusters`.
    basemap, tianditu_key
        As for :func:`coverage.publish.maps.audit_map` (default ``"none"``: nothing is
        loaded from the internet).
    run_date
        Date shown in the legend.
    """
    prop = result.proposed
    after = result.after_audit(zones=zones, run_date=run_date)
    base = audit_layers(after, proposed=prop)
    title = f"{after.meta['title']} — {model_title(result.meta.get('model', ''), len(prop))}"
    layers = MapLayers(
        demand=base.demand,
        facilities=base.facilities,
        roads=base.roads,
        service_areas=result.service_areas,
        zones=base.zones,
        meta={**base.meta, "title": title},
        proposed=prop,
        coverage=base.coverage,
    )
    m = audit_map(layers, basemap=basemap, tianditu_key=tianditu_key)
    newly = result.newly_covered
    _add_newly_covered(m, newly)
    _add_gaps(m, gaps)
    finish_map(m)
    logger.info("siting map (%s): %d proposed sites, %d newly covered homes", title, len(prop), len(newly))
    return m


def _add_newly_covered(m: folium.Map, newly: gpd.GeoDataFrame) -> None:
    """Rings around the homes the proposed sites newly cover."""
    if not len(newly):
        return
    name = "新增覆盖 Newly covered homes"
    ng = folium.FeatureGroup(name=esc(name), show=True).add_to(m)
    if len(newly) > MARKER_LIMIT:  # a raster's cells: the grid cells holding them, outlined
        keys, counts, cell_m, crs = point_cells(newly.to_crs(4326), cell_limit=GRID_CELL_LIMIT)
        c = short(cell_m)
        coll = _feature_collection([{"type": "Polygon", "coordinates": [r]} for r in cell_rings(keys, cell_m, crs)],
                                   [{"t": f"{name}: {num(n)} ({c} m 网格 grid)"} for n in counts])  # fmt: skip
        folium.GeoJson(coll, style_function=lambda _f: {"color": _NEWLY, "weight": 1.5, "fill": False},
                       tooltip=folium.GeoJsonTooltip(fields=["t"], labels=False), embed=True).add_to(ng)  # fmt: skip
        legend_of(m).add_symbol(symbol("area", _NEWLY, f"{name} — {len(newly):,} ({c} m 网格汇总 grid cells holding them)"))
        return
    for row in newly.itertuples():
        folium.CircleMarker(
            [row.geometry.y, row.geometry.x],
            radius=8,
            color=_NEWLY,
            weight=2,
            fill=False,
            tooltip=folium.Tooltip(esc(getattr(row, "name", row.id))),
        ).add_to(ng)
    legend_of(m).add_symbol(symbol("ring", _NEWLY, f"{name} — {len(newly):,}"))


def _add_gaps(m: folium.Map, gaps: gpd.GeoDataFrame | None) -> None:
    """The clusters of uncovered homes the candidates came from."""
    if gaps is None or not len(gaps):
        return
    name = "覆盖缺口 Coverage gaps (uncovered clusters)"
    gg = folium.FeatureGroup(name=esc(name), show=True).add_to(m)
    for row in gaps.to_crs("EPSG:4326").itertuples():
        folium.GeoJson(
            row.geometry.__geo_interface__,
            style_function=lambda _f: {"color": _GAP, "weight": 2, "dashArray": "6 4", "fillOpacity": 0.08},
            tooltip=folium.Tooltip(f"{esc(row.gap_id)}: {num(row.n_homes)} 户点 homes, 权重 weight {num(row.weight, 1)}"),
        ).add_to(gg)
    legend_of(m).add_symbol(symbol("area", _GAP, name))


def siting_print_map(
    result: SitingResult,
    path: str | Path,
    *,
    zones: gpd.GeoDataFrame | None = None,
    gaps: gpd.GeoDataFrame | None = None,
    run_date: str | None = None,
    overwrite: bool = False,
    lang: str = "both",
) -> Path:
    """The print map of a site selection (:func:`coverage.publish.figures.print_map`):
    coverage after the proposal, the proposed sites as stars with their reach along the
    roads, the homes they newly cover, the gaps; the model and k in the subtitle; ``lang``
    ``"zh"``: Chinese only."""
    after = result.after_audit(zones=zones, run_date=run_date)
    under = []
    if gaps is not None and len(gaps):
        under.append(Layer(gaps, "覆盖缺口 Coverage gaps (uncovered clusters)", _GAP, fill=True, linestyle="--"))
    sa = result.service_areas
    if sa is not None and len(sa):
        under.append(Layer(sa, "拟建站点服务范围（沿路）Reach of the proposed sites along the roads", "#6fa8dc", size=16))
    newly = result.newly_covered
    over = [Layer(newly, f"新增覆盖 Newly covered homes — {len(newly):,}", "none", "o", 90, edge=_NEWLY)]
    drawn = audit_print_layers(after, proposed=result.proposed, under=under, over=over)
    spec = PrintMap(title=str(after.meta["title"]), network=result.study.engine.network, layers=drawn,
                    source=str(result.meta.get("source", "")), date=str(after.meta.get("date", "")),
                    subtitle=rule_subtitle(after, model_title(result.meta.get("model", ""), len(result.proposed))), pad_m=150.0, lang=lang)  # fmt: skip
    return print_map(path, spec, overwrite=overwrite)
