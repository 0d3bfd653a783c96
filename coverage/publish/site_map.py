"""The site-selection map: coverage after the proposal, the proposed sites, the gaps.

Built on the audit map (:func:`coverage.publish.maps.audit_map`): demand is coloured by its
coverage *after* the proposed sites open, the service areas are the proposed sites'
road-following reach, and three layers are added: the proposed sites (ranked, with their
marginal gain), the homes they newly cover, and the "gaps" (clusters of uncovered homes)
when candidates came from them. Every name is HTML-escaped.
"""

from __future__ import annotations

import logging

import folium
import geopandas as gpd
import pandas as pd

from ..config import AuditConfig
from ..engine.network import RoadNetwork
from ..siting.propose import SitingResult
from ._html import esc, num, popup_html
from .maps import audit_layers

__all__ = ["siting_map"]

logger = logging.getLogger(__name__)


def siting_map(
    result: SitingResult,
    network: RoadNetwork,
    facilities: gpd.GeoDataFrame,
    demand: gpd.GeoDataFrame,
    *,
    zones: gpd.GeoDataFrame | None = None,
    gaps: gpd.GeoDataFrame | None = None,
    config: AuditConfig | None = None,
    basemap: str = "osm",
    tianditu_key: str | None = None,
    run_date: str | None = None,
) -> folium.Map:
    """Map of a site-selection result (save it with :func:`coverage.publish.maps.save_map`).

    Parameters
    ----------
    result
        From :func:`coverage.siting.propose.propose_sites`.
    network, facilities, demand
        The inputs given to :func:`~coverage.siting.propose.propose_sites`.
    zones
        Optional zone polygons.
    gaps
        Gap polygons from :func:`coverage.siting.candidates.gap_clusters`.
    config
        The rules used (walking speed, radius, time).
    basemap, tianditu_key
        As for :func:`coverage.publish.maps.audit_map`.
    run_date
        Date shown in the legend.
    """
    from ..audit.run import run_audit
    from .maps import MapLayers, audit_map

    cfg = config or AuditConfig()
    prop = result.proposed
    keep = ["id", "name", "geometry"]
    after = pd.concat(
        [facilities.to_crs("EPSG:4326")[[c for c in keep if c in facilities]], prop[keep]],
        ignore_index=True,
    )
    after = gpd.GeoDataFrame(after, geometry="geometry", crs="EPSG:4326")
    audit = run_audit(
        network,
        after,
        demand,
        zones=zones,
        config=cfg,
        with_service_areas=False,
        title="养老设施选址方案 Proposed elderly-care sites",
        run_date=run_date,
    )
    base = audit_layers(audit)
    layers = MapLayers(
        demand=base.demand,
        facilities=base.facilities,
        roads=base.roads,
        service_areas=result.service_areas,
        zones=base.zones,
        meta={**base.meta, "source": network.source},
    )
    m = audit_map(layers, basemap=basemap, tianditu_key=tianditu_key)
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
    newly = result.newly_covered
    if len(newly):
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
    if gaps is not None and len(gaps):
        gg = folium.FeatureGroup(name=esc("覆盖缺口 Coverage gaps (uncovered clusters)"), show=True).add_to(m)
        for row in gaps.to_crs("EPSG:4326").itertuples():
            folium.GeoJson(
                row.geometry.__geo_interface__,
                style_function=lambda _f: {"color": "#d62728", "weight": 2, "dashArray": "6 4", "fillOpacity": 0.08},
                tooltip=folium.Tooltip(f"{esc(row.gap_id)}: {num(row.n_homes)} 户点 homes, 权重 weight {num(row.weight, 1)}"),
            ).add_to(gg)
    # the layer control must come after every layer it lists
    for key, child in list(m._children.items()):
        if isinstance(child, folium.LayerControl):
            m._children.move_to_end(key)
    logger.info("siting map: %d proposed sites, %d newly covered homes", len(prop), len(newly))
    return m
