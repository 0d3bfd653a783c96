"""Static map figures (PNG) of the workflows: roads in grey under styled point, line and
polygon layers, drawn in the network's metric CRS and written atomically.

Text is ASCII (ids, English labels) so no CJK font is needed. Ids are user text, so all
text is drawn literally (:func:`coverage.publish.charts.plain_text_rc`: ``$x^2$`` is no
mathtext).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd

from ..engine.network import RoadNetwork
from .atomic import atomic_path

__all__ = ["Layer", "figure_png"]


@dataclass(frozen=True)
class Layer:
    """One layer of :func:`figure_png`: points, lines or polygons with a style."""

    gdf: gpd.GeoDataFrame
    label: str
    color: str = "#1f77b4"
    marker: str = "o"
    size: float = 20.0
    fill: bool = False
    labels: str | None = None


def figure_png(
    path: Path,
    *,
    network: RoadNetwork,
    layers: Sequence[Layer],
    title: str,
    overwrite: bool,
    lines: gpd.GeoDataFrame | None = None,
    extent: gpd.GeoDataFrame | None = None,
    pad_m: float = 200.0,
) -> Path:
    """A static map (PNG) in the network's metric CRS: roads in grey, then ``layers``.

    Parameters
    ----------
    path
        The PNG file.
    network
        The road network (drawn in grey; its CRS is the figure's).
    layers
        Drawn in order over the roads, each in the legend.
    title
        Figure title (ASCII).
    overwrite
        Whether an existing file may be replaced.
    lines
        Dashed grey lines (e.g. moves, links to a centre), or None.
    extent
        Zoom to these features (padded by 5% and ``pad_m``); default the whole figure.
    pad_m
        Extra margin around ``extent``, metres.
    """
    import matplotlib as mpl

    from .charts import plain_text_rc

    with mpl.rc_context(plain_text_rc()):
        return _figure_png(path, network=network, layers=layers, title=title, overwrite=overwrite,
                           lines=lines, extent=extent, pad_m=pad_m)  # fmt: skip


def _draw_layer(ax: Any, g: gpd.GeoDataFrame, lay: Layer, zorder: int) -> None:
    """Polygons as outlines, lines, or points with their labels."""
    kind = g.geometry.geom_type.iloc[0]
    if "Polygon" in kind:
        g.boundary.plot(ax=ax, color=lay.color, linewidth=1.5, zorder=zorder, label=lay.label)
    elif "LineString" in kind:
        g.plot(ax=ax, color=lay.color, linewidth=lay.size / 10.0, zorder=zorder, label=lay.label, alpha=0.8)
    else:
        g.plot(ax=ax, color=lay.color, marker=lay.marker, markersize=lay.size, zorder=zorder,
               label=lay.label, edgecolor="black" if lay.fill else lay.color, linewidth=0.4)  # fmt: skip
        if lay.labels and lay.labels in g:
            for pt, text in zip(g.geometry, g[lay.labels].astype(str), strict=True):
                ax.annotate(text, (pt.x, pt.y), xytext=(3, 3), textcoords="offset points", fontsize=7)


def _figure_png(
    path: Path,
    *,
    network: RoadNetwork,
    layers: Sequence[Layer],
    title: str,
    overwrite: bool,
    lines: gpd.GeoDataFrame | None,
    extent: gpd.GeoDataFrame | None,
    pad_m: float,
) -> Path:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    crs = network.crs
    fig = Figure(figsize=(7.5, 6.0), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    network.edges_frame(to_wgs84=False).plot(ax=ax, color="#c8c8c8", linewidth=0.6, zorder=1)
    if lines is not None and len(lines):
        lines.to_crs(crs).plot(ax=ax, color="#7f7f7f", linewidth=1.0, linestyle="--", zorder=2)
    for z, lay in enumerate(layers, start=3):
        g = lay.gdf.to_crs(crs)
        if len(g):
            _draw_layer(ax, g, lay, z)
    if extent is not None and len(extent):
        minx, miny, maxx, maxy = extent.to_crs(crs).total_bounds
        pad = max(maxx - minx, maxy - miny) * 0.05 + pad_m
        ax.set_xlim(minx - pad, maxx + pad)
        ax.set_ylim(miny - pad, maxy + pad)
    ax.set_aspect("equal")
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(f"{crs} x (m)", fontsize=8)
    ax.set_ylabel("y (m)", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.ticklabel_format(useOffset=False, style="plain")
    ax.legend(loc="best", fontsize=7, framealpha=0.85)
    fig.tight_layout()
    with atomic_path(path, overwrite=overwrite) as tmp:
        fig.savefig(tmp, format="png", metadata={"Software": None})
    return Path(path)
