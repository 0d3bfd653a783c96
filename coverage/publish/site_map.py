"""The site-selection map: coverage after the proposal, the proposed sites, the gaps.

Built on the audit map (:func:`coverage.publish.maps.audit_map`): demand is coloured by its
coverage *after* the proposed sites open (the selection's own
:meth:`~coverage.siting.propose.SitingResult.after_audit`: its engine and snapped layers,
nothing read, checked or snapped again), the service areas are the proposed sites'
road-following reach, and three layers are added: the proposed sites (ranked, with their
marginal gain), the homes they newly cover, and the "gaps" (clusters of uncovered homes)
when candidates came from them. Every name is HTML-escaped.
"""

from __future__ import annotations

import logging

import folium
import geopandas as gpd

from ..siting.propose import SitingResult
from ._html import esc, num, popup_html
from .maps import MapLayers, audit_layers, audit_map

__all__ = ["siting_map"]

logger = logging.getLogger(__name__)


def siting_map(
    result: SitingResult,
    *,
    zones: gpd.GeoDataFrame | None = None,
    gaps: gpd.GeoDataFrame | None = None,
    basemap: str = "osm",
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
        As for :func:`coverage.publish.maps.audit_map`.
    run_date
        Date shown in the legend.
    """
    base = audit_layers(result.after_audit(zones=zones, run_date=run_date))
    layers = MapLayers(
        demand=base.demand,
        facilities=base.facilities,
        roads=base.roads,
        service_areas=result.service_areas,
        zones=base.zones,
        meta=base.meta,
    )
    m = audit_map(layers, basemap=basemap, tianditu_key=tianditu_key)
    prop = result.proposed
    newly = result.newly_covered
    _add_proposed(m, prop)
    _add_newly_covered(m, newly)
    _add_gaps(m, gaps)
    # the layer control must come after every layer it lists
    for key, child in list(m._children.items()):
        if isinstance(child, folium.LayerControl):
            m._children.move_to_end(key)
    logger.info("siting map: %d proposed sites, %d newly covered homes", len(prop), len(newly))
    return m


def _add_proposed(m: folium.Map, prop: gpd.GeoDataFrame) -> None:
    """The proposed sites, ranked, with their marginal gain."""
    group = folium.FeatureGroup(name=esc("拟建站点 Proposed sites"), show=True).add_to(m)
    for row in prop.itertuples():
        rows = {
            "名称 Name": esc(row.name),
            "编号 ID": esc(row.id),
            "排序 Rank": num(row.rank),
            "边际增益 Marginal gain": num(row.marginal_gain, 1),
            "新增覆盖点 Newly covered points in reach": num(row.n_in_reach_newly_covered),
            "新增覆盖权重 Newly covered weight": num(row.weight_in_reach_newly_covered, 1),
            "类型 Kind": esc(row.kind),
        }
        folium.CircleMarker(
            [row.geometry.y, row.geometry.x],
            radius=11,
            color="#6a0dad",
            weight=3,
            fill=True,
            fill_color="#ffd400",
            fill_opacity=0.95,
            popup=folium.Popup(popup_html(rows), max_width=360, lazy=True),
            tooltip=folium.Tooltip(f"{int(row.rank)}. {esc(row.name)}"),
        ).add_to(group)


def _add_newly_covered(m: folium.Map, newly: gpd.GeoDataFrame) -> None:
    """Rings around the homes the proposed sites newly cover."""
    if not len(newly):
        return
    ng = folium.FeatureGroup(name=esc("新增覆盖 Newly covered homes"), show=True).add_to(m)
    for row in newly.itertuples():
        folium.CircleMarker(
            [row.geometry.y, row.geometry.x],
            radius=8,
            color="#0077ff",
            weight=2,
            fill=False,
            tooltip=folium.Tooltip(esc(getattr(row, "name", row.id))),
        ).add_to(ng)


def _add_gaps(m: folium.Map, gaps: gpd.GeoDataFrame | None) -> None:
    """The clusters of uncovered homes the candidates came from."""
    if gaps is None or not len(gaps):
        return
    gg = folium.FeatureGroup(name=esc("覆盖缺口 Coverage gaps (uncovered clusters)"), show=True).add_to(m)
    for row in gaps.to_crs("EPSG:4326").itertuples():
        folium.GeoJson(
            row.geometry.__geo_interface__,
            style_function=lambda _f: {"color": "#d62728", "weight": 2, "dashArray": "6 4", "fillOpacity": 0.08},
            tooltip=folium.Tooltip(f"{esc(row.gap_id)}: {num(row.n_homes)} 户点 homes, 权重 weight {num(row.weight, 1)}"),
        ).add_to(gg)
