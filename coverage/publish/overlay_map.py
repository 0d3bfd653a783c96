"""Interactive maps of plans that are not coverage audits (nursing-home consolidation ...).

:func:`overlay_map` draws the roads and any number of :class:`Overlay` layers (points as
circles or symbols, lines, polygons) on the same page as the audit map
(:func:`coverage.publish.maps.base_map`: title, collapsible legend with one row per layer,
parameters, basemap ``none`` by default, offline page with :func:`~coverage.publish.maps.save_map`).
Tooltips and popups are the caller's escaped HTML (:func:`coverage.publish._html.esc`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import folium
import geopandas as gpd

from ._html import SHAPES, esc, symbol
from .maps import (
    _bounds,
    _lines_layer,
    _point_latlon,
    _points,
    _wgs84,
    add_roads,
    base_map,
    finish_map,
    shape_markers,
)

__all__ = ["Overlay", "add_overlay", "overlay_map"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Overlay:
    """One layer of :func:`overlay_map`.

    Parameters
    ----------
    name
        Layer and legend name (plain text, Chinese first; escaped when drawn).
    gdf
        The features (any CRS).
    kind
        ``"dot"``, ``"ring"`` (circles), ``"line"``, ``"dash"`` (lines), ``"area"``
        (polygons) or a point symbol of :data:`coverage.publish._html.SHAPES`.
    colour
        Outline / line colour.
    tips
        One tooltip per feature (escaped HTML).
    popups
        One popup (label -> escaped value) per point, or None (lines and polygons show
        their tooltip only).
    fill
        Fill colour of circles and symbols (default ``colour``).
    size
        Circle radius, line weight or symbol size (pixels).
    """

    name: str
    gdf: gpd.GeoDataFrame
    kind: str
    colour: str
    tips: Sequence[str]
    popups: Sequence[dict[str, str]] | None = None
    fill: str | None = None
    size: float = 6.0


def add_overlay(m: folium.Map, ov: Overlay, legend: object | None = None) -> None:
    """Draw ``ov`` as its own layer of ``m`` and add its legend row (to ``legend``, an
    :class:`~coverage.publish._html.HtmlSnippet`)."""
    g = _wgs84(ov.gdf, ov.name)
    if g is None or not len(g):
        return
    group = folium.FeatureGroup(name=esc(ov.name), show=True).add_to(m)
    popups = list(ov.popups) if ov.popups is not None else [{} for _ in range(len(g))]
    tips = list(ov.tips)
    if ov.kind in ("dot", "ring"):
        style = {"radius": ov.size, "color": ov.colour, "weight": 2, "fill": ov.kind == "dot",
                 "fill_color": ov.fill or ov.colour, "fill_opacity": 0.9}  # fmt: skip
        _points(group, [_point_latlon(p) for p in g.geometry], popups, tips, style, max_markers=5_000)
    elif ov.kind in SHAPES:
        shape_markers(group, [_point_latlon(p) for p in g.geometry], popups, tips, (ov.kind, ov.fill or ov.colour, ov.colour),
                      size=int(ov.size))  # fmt: skip
    else:
        style = {"color": ov.colour, "weight": ov.size, "opacity": 0.85, "fillColor": ov.fill or ov.colour, "fillOpacity": 0.12}
        if ov.kind == "dash":
            style["dashArray"] = "8 5"
        _lines_layer(group, g, tips, style)
    if legend is not None:
        legend.add_symbol(symbol(ov.kind, ov.colour, ov.name, fill=ov.fill))  # type: ignore[attr-defined]


def overlay_map(
    meta: dict,
    *,
    roads: gpd.GeoDataFrame | None,
    overlays: Sequence[Overlay],
    basemap: str = "none",
    tianditu_key: str | None = None,
    focus: gpd.GeoDataFrame | None = None,
) -> folium.Map:
    """An interactive map of ``overlays`` over the roads.

    Parameters
    ----------
    meta
        ``title``, ``crs``, ``source``, ``date`` and any of ``speed_mps``, ``radius_m``,
        ``time_min``, ``walk_limit_m`` (stated in the legend).
    roads
        Road lines (EPSG:4326 or any CRS), or None.
    overlays
        Drawn in order, each its own layer with its legend row.
    basemap, tianditu_key
        As for :func:`coverage.publish.maps.audit_map` (default ``"none"``: nothing is
        loaded from the internet).
    focus
        Open the map on these features; default every overlay.

    Returns
    -------
    folium.Map
        Save it with :func:`coverage.publish.maps.save_map`.
    """
    m, legend = base_map(meta, basemap=basemap, tianditu_key=tianditu_key)
    rows, note = add_roads(m, _wgs84(roads, "roads"), max_edges=200_000)
    for row in rows:
        legend.add_symbol(row)
    legend.add_note(note)
    for ov in overlays:
        add_overlay(m, ov, legend)
    focus = _wgs84(focus, "focus")
    frames = [focus] if focus is not None and len(focus) else [_wgs84(ov.gdf, ov.name) for ov in overlays]
    finish_map(m, _bounds(frames, pad_share=0.05))
    logger.info("overlay map %r: %d layers, basemap %s", meta.get("title"), len(overlays), basemap)
    return m

