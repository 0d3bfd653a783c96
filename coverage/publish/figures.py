"""Static maps for print (PNG, and the maps inside the PDF reports): one function draws them all.

:func:`print_map` draws a :class:`PrintMap` the way a planning committee's submission needs
it, not as a screenshot: a title (Chinese first), the map in the network's metric CRS with
no axes or degree/metre tick labels, roads under the layers, a legend in a side panel (one
row for every layer drawn, so it never hides data), a north arrow, a metric scale bar, the
data source as file names (never a local folder), the date and the CRS; villages,
communities and sites labelled without overlaps (:func:`place_labels`: a greedy placement
that checks every label against every label placed before it, so no two overlap; a label
that finds no free place is left out and counted in a note).

:func:`audit_print_layers` gives the layers of an audit (zones with their names, demand
coloured by coverage class with the numbers of the audit's
:class:`~coverage.audit.summary.CoverageSummary`, facilities, proposed sites as stars,
service areas), used by the audit's committee package and every workflow.

Text is drawn literally (:func:`coverage.publish.charts.plain_text_rc`: a name such as
``$x^2$`` is no mathtext) in a CJK font found among the installed fonts
(:func:`coverage.publish.charts.cjk_font`); without one the fixed words are English only and a
warning is logged. Figures are their own :class:`~matplotlib.figure.Figure` (no pyplot state),
saved without the "Software" entry (same data, same bytes) and written atomically.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import re
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import shapely

from ..engine.network import RoadNetwork
from ._html import COLOURS, source_name
from .atomic import atomic_write_bytes

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..audit.run import AuditResult

__all__ = [
    "DPI", "PROPOSED_STYLE", "Layer", "PlacedLabels", "PrintMap", "audit_print_layers", "audit_print_map",
    "draw_print_map", "facility_layers", "place_labels", "print_map", "proposed_layer", "rule_subtitle", "scale_length", "zone_layers",
]  # fmt: skip

logger = logging.getLogger(__name__)

DPI = 150
_SIZE_IN = (11.69, 8.27)  # A4 landscape
_MAP_RECT = (0.015, 0.075, 0.655, 0.80)  # left, bottom, width, height (figure fraction)
_PANEL_RECT = (0.685, 0.075, 0.30, 0.80)
_ROAD = "#b4b4b4"
#: the proposed sites' style on every print map: a gold star with a dark outline (as on screen)
PROPOSED_STYLE = {"color": "#ffd400", "marker": "*", "size": 260.0, "edge": "#5b2a86"}
#: Above this many demand points (a population raster's cells) the print map draws them as
#: small dots without outline and the false-coverage rings thin (as the interactive map
#: aggregates them above :data:`coverage.publish.maps.DEMAND_AGGREGATE_LIMIT`).
DENSE_POINTS = 20_000


@dataclass(frozen=True)
class Layer:
    """One layer of a print map: points, lines or polygons with one style and a legend row.

    Parameters
    ----------
    gdf
        The features (any CRS; drawn in the network's).
    label
        The legend text (Chinese first: ``"拟建站点 Proposed sites"``).
    color
        Fill colour of points and polygons, colour of lines.
    marker
        Matplotlib marker of points (``"o"``, ``"s"``, ``"*"``, ``"D"``, ``"X"`` ...).
    size
        Marker area (points²) of points; line width × 10 of lines.
    fill
        Points: a dark outline; polygons: a light fill in ``color`` (else outline only).
    labels
        Column whose text labels each feature (points beside the marker, polygons at their
        middle), or None.
    edge
        Outline colour (points with ``fill``, polygons); default ``color`` / dark grey.
    linestyle
        Line style of lines and polygon outlines (``"-"``, ``"--"``, ``":"``).
    """

    gdf: gpd.GeoDataFrame
    label: str
    color: str = "#1f77b4"
    marker: str = "o"
    size: float = 20.0
    fill: bool = False
    labels: str | None = None
    edge: str | None = None
    linestyle: str = "-"


@dataclass(frozen=True)
class PrintMap:
    """What a print map shows (see :func:`print_map`).

    Parameters
    ----------
    title
        The title, Chinese first (``"覆盖审查 Coverage audit"``); user text is drawn literally.
    network
        The road network: its roads are drawn and its metric CRS is the map's.
    layers
        Drawn in order over the roads (later layers on top), each with its legend row.
    source
        The data source (file paths become file names).
    date
        The run date.
    subtitle
        A second title line (the model and k, the verdict ...).
    extent
        Zoom to these features; default all layers.
    pad_m
        Margin around the extent, metres (besides 4% of its size).
    notes
        Extra lines under the legend (rules, figures).
    lang
        ``"zh"``: only the Chinese part of every bilingual text (title, legend, notes,
        source, date, CRS); ``"both"`` (default): Chinese first, then English.
    """

    title: str
    network: RoadNetwork
    layers: Sequence[Layer]
    source: str
    date: str
    subtitle: str = ""
    extent: gpd.GeoDataFrame | None = None
    pad_m: float = 200.0
    notes: Sequence[str] = field(default_factory=tuple)
    lang: str = "both"


# --------------------------------------------------------------------------- text and fonts
def _has_cjk(text: str) -> bool:
    return any("\u2e80" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef" for ch in text)


def _words(text: str, cjk: bool) -> str:
    """``text`` without its Chinese words when no CJK font is installed (fixed words are
    bilingual; user names are kept as they are)."""
    if cjk:
        return text
    kept = [w for w in text.split() if not _has_cjk(w)]
    return " ".join(kept) or text


# where the English half of a bilingual text starts: after a Chinese character (and any
# digits, brackets, spaces), an English word ("Roads", "one rule only"; not "m/s")
_EN_START = re.compile(r"[\u4e00-\u9fff\u3000-\u303f\uff00-\uffef][^A-Za-z\u4e00-\u9fff]*?\s*(?=[A-Z][a-z]+|[a-z]{2,}[\s,:;.)])")
_COUNT = re.compile(r"\s+—\s+[^A-Za-z]*$")


def in_lang_text(text: str, lang: str) -> str:
    """``text`` in ``lang``: for ``"zh"`` the Chinese half of each bilingual part (parts
    joined by " · "; a trailing count such as "— 3/5" is kept), else as given.

    >>> in_lang_text("片区达标 Zone meets its target — 3/5 · MCLP, k = 2", "zh")
    '片区达标 — 3/5 · MCLP, k = 2'
    """
    if lang != "zh":
        return text
    out = []
    for part in text.split(" · "):
        m = _EN_START.search(part)
        if m and _has_cjk(part[: m.start() + 1]):
            count = _COUNT.search(part)
            part = part[: m.end()].rstrip() + (f" {count.group().strip()}" if count and count.start() >= m.end() else "")
        out.append(part)
    return " · ".join(out)


def _width(text: str) -> int:
    """Display width in Latin-letter units (a Chinese character counts two)."""
    return sum(2 if _has_cjk(ch) else 1 for ch in text)


def _wrap(text: str, width: int) -> str:
    """Wrap at spaces (and inside long Chinese runs) to ``width`` display units."""
    lines: list[str] = []
    line = ""
    for word in text.split(" "):
        while _width(word) > width:  # a long run without spaces: cut it
            cut = 0
            while cut < len(word) and _width(word[: cut + 1]) <= width:
                cut += 1
            if line:
                lines.append(line)
                line = ""
            lines.append(word[:cut])
            word = word[cut:]
        candidate = f"{line} {word}" if line else word
        if _width(candidate) > width and line:
            lines.append(line)
            line = word
        else:
            line = candidate
    if line:
        lines.append(line)
    return "\n".join(lines)


def _short(text: Any, limit: int = 16) -> str:
    """A label: one line, at most ``limit`` characters (``…`` when cut)."""
    s = " ".join(str(text).split())
    return s if len(s) <= limit else s[: limit - 1] + "…"


@contextlib.contextmanager
def _style() -> Iterator[bool]:
    """Fonts (CJK first) and literal text; yields whether a CJK font is installed."""
    import matplotlib as mpl

    from .charts import cjk_font, plain_text_rc

    font = cjk_font()
    rc: dict[str, Any] = {
        "font.family": [font, "DejaVu Sans"] if font else ["DejaVu Sans"],
        "axes.unicode_minus": False,
        "path.simplify": True,
        **plain_text_rc(),
    }
    with mpl.rc_context(rc), warnings.catch_warnings():
        # names in scripts the font lacks draw as boxes; that is not an error
        warnings.filterwarnings("ignore", message=r"Glyph .* missing from", category=UserWarning)
        yield font is not None


# --------------------------------------------------------------------------- scale bar, arrow
def scale_length(width_m: float) -> float:
    """A round scale-bar length near a quarter of ``width_m`` (1, 2 or 5 × 10ⁿ metres).

    >>> scale_length(10_000), scale_length(1_500), scale_length(37)
    (2000.0, 200.0, 5.0)
    """
    target = max(width_m / 4.0, 1e-9)
    base = 10.0 ** math.floor(math.log10(target))
    return float(max(m * base for m in (1, 2, 5) if m * base <= target))


def _metres(x: float) -> str:
    return f"{x / 1000:g} km" if x >= 1000 else f"{x:g} m"


def _scale_bar(ax: Any, width_m: float) -> None:
    """A black-and-white bar under the map (x in map metres, y below the frame)."""
    from matplotlib.patches import Rectangle
    from matplotlib.transforms import blended_transform_factory

    length = scale_length(width_m)
    x0 = ax.get_xlim()[0] + 0.01 * width_m
    tr = blended_transform_factory(ax.transData, ax.transAxes)
    parts = 4
    for i in range(parts):
        ax.add_patch(Rectangle((x0 + i * length / parts, -0.045), length / parts, 0.014, transform=tr, clip_on=False,
                               facecolor="black" if i % 2 == 0 else "white", edgecolor="black", linewidth=0.8,
                               gid="scale-bar"))  # fmt: skip
    for value in (0.0, length / 2, length):
        ax.text(x0 + value, -0.053, _metres(value) if value else "0", transform=tr, ha="center", va="top",
                fontsize=8, clip_on=False, gid="scale-bar-label")  # fmt: skip


def _north_arrow(panel: Any, cjk: bool, lang: str = "both") -> None:
    """An arrow pointing up (the map is drawn north up in its projected CRS)."""
    from matplotlib.patches import Polygon

    x, y, w, h = 0.05, 0.905, 0.05, 0.07
    panel.add_patch(Polygon([(x, y + h), (x - w / 2, y), (x, y + h * 0.28)], closed=True, facecolor="black",
                            edgecolor="black", linewidth=0.8, transform=panel.transAxes, gid="north-arrow"))  # fmt: skip
    panel.add_patch(Polygon([(x, y + h), (x + w / 2, y), (x, y + h * 0.28)], closed=True, facecolor="white",
                            edgecolor="black", linewidth=0.8, transform=panel.transAxes, gid="north-arrow"))  # fmt: skip
    panel.text(x, y + h + 0.008, ("北" if lang == "zh" else "北 N") if cjk else "N", transform=panel.transAxes, ha="center", va="bottom",
               fontsize=10, gid="north-arrow-label")  # fmt: skip


# --------------------------------------------------------------------------- label placement
@dataclass
class PlacedLabels:
    """What :func:`place_labels` did: the text artists placed (their boxes are pairwise
    disjoint) and the texts left out for want of room."""

    texts: list[Any] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)


# preference order of the eight places around a point (cartographic convention: upper right first)
_AROUND = ((1, 1), (1, 0), (1, -1), (-1, 1), (-1, 0), (-1, -1), (0, 1), (0, -1))


def _candidates(x: float, y: float, w: float, h: float, r: float, area: bool) -> list[tuple[float, float, bool]]:
    """Lower-left corners (pixels) of the places tried for a ``w`` × ``h`` label, and whether
    the place is far enough to need a leader line back to its point."""
    out = []
    if area:
        steps = ((0, 0), (0, 1), (0, -1), (1, 0), (-1, 0), (0, 2), (0, -2), (1, 1), (-1, -1), (1, -1), (-1, 1))
        out = [(x - w / 2 + sx * w * 0.6, y - h / 2 + sy * h * 1.1, False) for sx, sy in steps]
        gaps = ((r + 18.0, True), (r + 40.0, True), (r + 70.0, True))
    else:
        gaps = ((r + 2.0, False), (r + 9.0, False), (r + 24.0, True), (r + 45.0, True))
    for gap, leader in gaps:
        for sx, sy in _AROUND:
            x0 = x + gap if sx > 0 else x - gap - w if sx < 0 else x - w / 2
            y0 = y + gap if sy > 0 else y - gap - h if sy < 0 else y - h / 2
            out.append((x0, y0, leader))
    return out


def _hits(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Which of ``boxes`` (n × 4: x0, y0, x1, y1) overlap ``box``."""
    if not len(boxes):
        return np.zeros(0, dtype=bool)
    return (boxes[:, 0] < box[2]) & (box[0] < boxes[:, 2]) & (boxes[:, 1] < box[3]) & (box[1] < boxes[:, 3])


def _best_place(cands: list[tuple[float, float, bool]], w: float, h: float, frame: np.ndarray, hard: np.ndarray,
                soft: np.ndarray) -> tuple[np.ndarray, bool] | None:  # fmt: skip
    """The first candidate box inside ``frame`` overlapping no ``hard`` box, with the fewest
    ``soft`` overlaps, and its leader flag; None when every candidate is blocked."""
    best, best_soft = None, math.inf
    for x0, y0, leader in cands:
        box = np.array([x0, y0, x0 + w, y0 + h])
        if box[0] < frame[0] or box[1] < frame[1] or box[2] > frame[2] or box[3] > frame[3]:
            continue
        if _hits(box, hard).any():
            continue
        n_soft = int(_hits(box, soft).sum()) + (2 if leader else 0)  # near places first
        if n_soft < best_soft:
            best, best_soft = (box, leader), n_soft
            if n_soft == 0:
                break
    return best


def _leader(ax: Any, px: float, py: float, box: np.ndarray) -> None:
    """A thin line from a point to the nearest edge of its label's box."""
    inv = ax.transData.inverted()
    qx, qy = min(max(px, box[0]), box[2]), min(max(py, box[1]), box[3])
    (x0, y0), (x1, y1) = inv.transform([(px, py), (qx, qy)])
    ax.plot([x0, x1], [y0, y1], color="#555555", linewidth=0.6, zorder=49, gid="label-leader")


def place_labels(ax: Any, renderer: Any, requests: Sequence[dict], *, hard: np.ndarray, soft: np.ndarray,
                 margin: float = 2.0) -> PlacedLabels:  # fmt: skip
    """Place labels greedily, in the order given, so that no two overlap.

    Parameters
    ----------
    ax
        The map axes (limits and position final).
    renderer
        The figure's renderer (to measure texts).
    requests
        One dict per label: ``x, y`` (data coordinates), ``text``, ``area`` (True: centred on
        the point, a zone's name; False: beside a marker of radius ``r`` pixels),
        ``fontsize``, ``color``.
    hard
        Boxes (pixels, n × 4) no label may cover (the labelled markers).
    soft
        Boxes a label avoids when it can (small markers).
    margin
        Pixels kept free around every label (the white halo).

    Returns
    -------
    PlacedLabels
        Every placed label's box is checked against the boxes of all labels placed before
        it, so the placed labels' boxes are pairwise disjoint; labels with no free place
        are left out (their texts listed).
    """
    from matplotlib import patheffects

    frame = np.asarray(ax.get_window_extent(renderer).extents, dtype=float)
    inv = ax.transData.inverted()
    taken = np.asarray(hard, dtype=float).reshape(-1, 4)
    out = PlacedLabels()
    for req in requests:
        t = ax.text(0, 0, req["text"], fontsize=req.get("fontsize", 7.5), color=req.get("color", "#222222"),
                    ha="left", va="bottom", zorder=50, gid="map-label",
                    path_effects=[patheffects.withStroke(linewidth=2.2, foreground="white")])  # fmt: skip
        ext = t.get_window_extent(renderer)
        w, h = ext.width + 2 * margin, ext.height + 2 * margin
        px, py = ax.transData.transform((req["x"], req["y"]))
        found = _best_place(_candidates(px, py, w, h, req.get("r", 3.0), req.get("area", False)), w, h, frame, taken, soft)
        if found is None:
            t.remove()
            out.left_out.append(str(req["text"]))
            continue
        box, leader = found
        t.set_position(inv.transform((box[0] + margin, box[1] + margin)))
        if leader:
            _leader(ax, px, py, box)
        taken = np.vstack([taken, box])
        out.texts.append(t)
    return out


# --------------------------------------------------------------------------- drawing
def _view(spec: PrintMap, crs: str) -> tuple[float, float, float, float]:
    """The map's bounds in metres: the extent (or every layer), padded, widened to the map
    frame's shape so nothing is stretched."""
    frames = [spec.extent] if spec.extent is not None and len(spec.extent) else [lay.gdf for lay in spec.layers]
    boxes = [g.to_crs(crs).total_bounds for g in frames if g is not None and len(g)]
    if not boxes:
        xy = spec.network.node_xy
        boxes = [np.array([xy[:, 0].min(), xy[:, 1].min(), xy[:, 0].max(), xy[:, 1].max()])]
    arr = np.array(boxes)
    minx, miny, maxx, maxy = arr[:, 0].min(), arr[:, 1].min(), arr[:, 2].max(), arr[:, 3].max()
    pad = max(maxx - minx, maxy - miny) * 0.04 + spec.pad_m
    minx, miny, maxx, maxy = minx - pad, miny - pad, maxx + pad, maxy + pad
    shape = (_MAP_RECT[2] * _SIZE_IN[0]) / (_MAP_RECT[3] * _SIZE_IN[1])
    w, h = maxx - minx, maxy - miny
    if w / h < shape:
        grow = (h * shape - w) / 2
        minx, maxx = minx - grow, maxx + grow
    else:
        grow = (w / shape - h) / 2
        miny, maxy = miny - grow, maxy + grow
    return float(minx), float(miny), float(maxx), float(maxy)


def _draw_roads(ax: Any, net: RoadNetwork, view: tuple[float, float, float, float]) -> None:
    from matplotlib.collections import LineCollection

    parts = np.split(net.coord_xy, net.edge_ptr[1:-1])
    minx, miny, maxx, maxy = view
    keep = [p for p in parts if len(p) > 1 and p[:, 0].max() >= minx and p[:, 0].min() <= maxx
            and p[:, 1].max() >= miny and p[:, 1].min() <= maxy]  # fmt: skip
    ax.add_collection(LineCollection(keep, colors=_ROAD, linewidths=0.7, zorder=1, gid="roads"))


def _draw_layer(ax: Any, g: gpd.GeoDataFrame, lay: Layer, z: int) -> str:
    """Draw one layer; return its geometry kind (``"point"``, ``"line"``, ``"polygon"``)."""
    kind = str(g.geometry.geom_type.iloc[0])
    if "Polygon" in kind:
        if lay.fill:
            g.plot(ax=ax, color=lay.color, alpha=0.22, edgecolor="none", zorder=z)
        g.boundary.plot(ax=ax, color=lay.edge or lay.color, linewidth=1.2, linestyle=lay.linestyle, zorder=z)
        return "polygon"
    if "LineString" in kind:
        g.plot(ax=ax, color=lay.color, linewidth=max(lay.size / 10.0, 0.6), linestyle=lay.linestyle, zorder=z, alpha=0.9)
        return "line"
    xy = shapely.get_coordinates(g.geometry.representative_point().to_numpy())
    edge = lay.edge or ("#222222" if lay.fill else lay.color)
    ax.scatter(xy[:, 0], xy[:, 1], s=lay.size, c=lay.color, marker=lay.marker, edgecolors=edge,
               linewidths=0.9 if lay.fill or lay.edge else 0.3, zorder=z)  # fmt: skip
    return "point"


def _handle(lay: Layer, kind: str) -> Any:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    if kind == "polygon":
        from matplotlib.colors import to_rgba

        return Patch(facecolor=to_rgba(lay.color, 0.22) if lay.fill else "none", edgecolor=lay.edge or lay.color,
                     linestyle=lay.linestyle, linewidth=1.2)  # fmt: skip
    if kind == "line":
        return Line2D([], [], color=lay.color, linewidth=max(lay.size / 10.0, 0.6), linestyle=lay.linestyle)
    edge = lay.edge or ("#222222" if lay.fill else lay.color)
    return Line2D([], [], linestyle="none", marker=lay.marker, markersize=min(max(math.sqrt(lay.size), 6.0), 14.0),
                  markerfacecolor=lay.color, markeredgecolor=edge, markeredgewidth=0.9)  # fmt: skip


def _label_requests(g: gpd.GeoDataFrame, lay: Layer, kind: str, dpi: float, view: tuple[float, float, float, float]) -> list[dict]:
    """The labels of a layer's features inside the view."""
    if not lay.labels or lay.labels not in g:
        return []
    if kind == "polygon":  # a zone partly in view is named at the middle of its visible part
        g = g.assign(geometry=g.geometry.intersection(shapely.box(*view)))
        g = g[~g.geometry.is_empty]
    pts = g.geometry.representative_point()
    inside = (pts.x > view[0]) & (pts.x < view[2]) & (pts.y > view[1]) & (pts.y < view[3])
    g, pts = g[inside.to_numpy()], pts[inside]
    area = kind == "polygon"
    r = math.sqrt(lay.size) / 2 * dpi / 72 if kind == "point" else 2.0
    return [
        {"x": p.x, "y": p.y, "text": _short(t), "area": area, "r": r, "fontsize": 8.5 if area else 7.5,
         "color": "#1a1a1a" if area else "#111111"}
        for p, t in zip(pts, g[lay.labels].fillna("").astype(str), strict=True) if str(t).strip()
    ]  # fmt: skip


def _draw_layers(ax: Any, spec: PrintMap, crs: str, dpi: float,
                 view: tuple[float, float, float, float]) -> tuple[list[tuple[Any, str]], list[dict], list[np.ndarray]]:  # fmt: skip
    """Draw every non-empty layer; return legend (handle, text) pairs, label requests (point
    labels of later layers first, then zone names) and marker boxes (hard, soft)."""
    legend, point_labels, area_labels = [], [], []
    hard, soft = [], []
    for z, lay in enumerate(spec.layers, start=3):
        if lay.gdf is None or not len(lay.gdf):
            continue
        g = lay.gdf.to_crs(crs)
        g = g[~(g.geometry.isna() | g.geometry.is_empty)]
        if not len(g):
            continue
        kind = _draw_layer(ax, g, lay, z)
        legend.append((_handle(lay, kind), lay.label))
        reqs = _label_requests(g, lay, kind, dpi, view)
        (area_labels if kind == "polygon" else point_labels).insert(0, reqs)
        if kind == "point":
            xy = ax.transData.transform(shapely.get_coordinates(g.geometry.representative_point().to_numpy()))
            r = max(math.sqrt(lay.size) / 2 * dpi / 72, 1.5)
            boxes = np.column_stack([xy - r, xy + r])
            (hard if lay.labels or lay.size >= 40 else soft).append(boxes)
    requests = [r for group in point_labels for r in group] + [r for group in area_labels for r in group]
    return legend, requests, [np.vstack(hard) if hard else np.zeros((0, 4)), np.vstack(soft) if soft else np.zeros((0, 4))]


def _panel(fig: Any, spec: PrintMap, legend: list[tuple[Any, str]], notes: list[str], cjk: bool) -> None:
    """The side panel: north arrow, legend (every layer drawn), notes, source, date, CRS
    (each in ``spec.lang``); the legend's text shrinks until panel and notes fit."""
    from matplotlib.lines import Line2D

    def say(text: str) -> str:
        return in_lang_text(_words(text, cjk), spec.lang)

    panel = fig.add_axes(_PANEL_RECT, gid="panel")
    panel.set_axis_off()
    _north_arrow(panel, cjk, spec.lang)
    handles = [Line2D([], [], color=_ROAD, linewidth=1.4)] + [h for h, _ in legend]
    def fixed(zh: str, en: str) -> str:  # a fixed word: Chinese only under "zh" (when it can be drawn)
        return zh if spec.lang == "zh" and cjk else _words(f"{zh} {en}", cjk)

    texts = [fixed("道路", "Roads")] + [say(t) for _, t in legend]
    info = [*map(say, notes), f"{fixed('数据来源', 'Data source')}: {source_name(spec.source)}",
            f"{fixed('日期', 'Date')}: {spec.date}", f"{fixed('坐标系', 'CRS')}: {spec.network.crs}"]  # fmt: skip
    renderer = fig.canvas.get_renderer()
    for size in (9.0, 8.0, 7.0, 6.0):
        width = int(40 * 9.0 / size)
        leg = panel.legend(handles, [_wrap(t, width) for t in texts], loc="upper left", bbox_to_anchor=(0.0, 0.875),
                           frameon=False, fontsize=size, title=fixed("图例", "Legend"), title_fontsize=size + 1.5,
                           alignment="left", borderaxespad=0.0, handlelength=2.2, labelspacing=0.55)  # fmt: skip
        leg.set_gid("legend")
        note = panel.text(0.0, 0.0, "\n".join(_wrap(t, width + 4) for t in info), transform=panel.transAxes,
                          fontsize=size - 0.5, va="bottom", ha="left", color="#333333", linespacing=1.35, gid="map-info")  # fmt: skip
        if leg.get_window_extent(renderer).y0 > note.get_window_extent(renderer).y1 + 6 or size == 6.0:
            break
        leg.remove()
        note.remove()


def draw_print_map(spec: PrintMap) -> Figure:
    """The print map of ``spec`` as a matplotlib Figure (not saved; :func:`print_map` saves it).

    Use it inside :func:`_style` or draw and save it through :func:`print_map`; the texts'
    literal mode and fonts are fixed when they are created.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with _style() as cjk:
        crs = spec.network.crs
        fig = Figure(figsize=_SIZE_IN, dpi=DPI)
        FigureCanvasAgg(fig)
        fig.text(_MAP_RECT[0], 0.96, _wrap(in_lang_text(_words(spec.title, cjk), spec.lang), 110), fontsize=17, ha="left", va="center", gid="title")
        if spec.subtitle:  # at most two lines between the title and the map
            fig.text(_MAP_RECT[0], 0.93, _wrap(in_lang_text(_words(spec.subtitle, cjk), spec.lang), 160), fontsize=10.5, ha="left", va="top",
                     color="#333333", linespacing=1.3, gid="subtitle")  # fmt: skip
        ax = fig.add_axes(_MAP_RECT, gid="map")
        view = _view(spec, crs)
        ax.set_xlim(view[0], view[2])
        ax.set_ylim(view[1], view[3])
        ax.set_aspect("equal", adjustable="box")
        ax.apply_aspect()
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_linewidth(0.8)
        _draw_roads(ax, spec.network, view)
        legend, requests, (hard, soft) = _draw_layers(ax, spec, crs, fig.dpi, view)
        ax.set_xlabel("")  # geopandas names the axes: a print map has none
        ax.set_ylabel("")
        placed = place_labels(ax, fig.canvas.get_renderer(), requests, hard=hard, soft=soft)
        notes = list(spec.notes)
        if placed.left_out:
            logger.info("print map %r: %d labels left out for room: %s", spec.title, len(placed.left_out), placed.left_out[:10])
            left = len(placed.left_out)
            notes.append(f"标注因空间不足省略 {left} 个（见表格）" if spec.lang == "zh" and cjk else
                         f"{_words('标注因空间不足省略', cjk)} {left} {_words('个 labels left out for room (see the tables)', cjk)}")
        _scale_bar(ax, view[2] - view[0])
        _panel(fig, spec, legend, notes, cjk)
    return fig


def _figure_png(path: Path, *, spec: PrintMap, overwrite: bool) -> Path:
    """Draw ``spec`` and write it as PNG (the one writer of every print map)."""
    fig = draw_print_map(spec)
    buf = io.BytesIO()
    with _style():
        fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    out = atomic_write_bytes(path, buf.getvalue(), overwrite=overwrite)
    logger.info("wrote print map %s", out)
    return out


def print_map(path: str | Path, spec: PrintMap, *, overwrite: bool = False) -> Path:
    """Write the print map of ``spec`` (PNG, A4 landscape at 150 dpi), atomically.

    Parameters
    ----------
    path
        The PNG file.
    spec
        What to draw (:class:`PrintMap`).
    overwrite
        Whether an existing file may be replaced.

    Returns
    -------
    pathlib.Path
        The written file.
    """
    return _figure_png(Path(path), spec=spec, overwrite=overwrite)


# --------------------------------------------------------------------------- audit layers
def zone_layers(zones: gpd.GeoDataFrame | None, label: str = "片区（村、社区）Zones (villages, communities)") -> list[Layer]:
    """Zones with their names: light grey, or green / red by their target when they have one."""
    if zones is None or not len(zones):
        return []
    name = "zone_name" if "zone_name" in zones else None
    if "meets_target" not in zones or zones["meets_target"].isna().all():
        return [Layer(zones, label, "#f2f2f2", fill=True, labels=name, edge="#6f6f6f")]
    meets = zones["meets_target"].fillna(False).astype(bool)
    n, k = len(zones), int(meets.sum())
    return [Layer(zones[meets], f"片区达标 Zone meets its target — {k}/{n}", COLOURS["both"], fill=True, labels=name, edge="#2d6a3e"),
            Layer(zones[~meets], f"片区未达标 Zone below its target — {n - k}/{n}", COLOURS["none"], fill=True, labels=name,
                  edge="#8e2a22")]  # fmt: skip


def _demand_layers(result: AuditResult) -> list[Layer]:
    """Demand by coverage class, named and counted by the audit's CoverageSummary."""
    from .demand_grid import CATEGORIES, categories

    d = result.demand
    cats = np.asarray(CATEGORIES, dtype=object)[categories(d)]  # vectorised: a raster's 500,000 cells
    rows = {r.key: r for r in result.coverage.legend_rows()}
    dense = len(d) > DENSE_POINTS  # small dots without outline, thin rings: no white haze, no purple blots
    out = []
    for key in ("both", "partial", "none", "unreachable"):
        label = rows[key].text() if key in rows else key
        out.append(Layer(d[cats == key], label, COLOURS[key], size=3 if dense else 14, edge=COLOURS[key] if dense else "white"))
    false = d[d["false_coverage"].astype(bool)]
    if "false" in rows:
        out.append(Layer(false, rows["false"].text(), "none", marker="o", size=12 if dense else 70, edge=COLOURS["false"]))
    return out


def audit_print_layers(
    result: AuditResult,
    *,
    proposed: gpd.GeoDataFrame | None = None,
    proposed_label: str = "拟建站点 Proposed sites",
    service_areas: bool = True,
    demand: bool = True,
    under: Sequence[Layer] = (),
    over: Sequence[Layer] = (),
) -> list[Layer]:
    """The layers of an audit for :func:`print_map`: zones with their names (coloured by
    their target when they have one), the radius service areas along the roads, demand
    coloured by coverage class (labels and numbers from the audit's
    :class:`~coverage.audit.summary.CoverageSummary`), false coverage rings, the existing
    facilities and the ``proposed`` sites (gold stars, left out of the facilities by id).
    ``under`` layers are drawn just over the zones, ``over`` layers just under the facilities.
    """
    layers = [*zone_layers(result.zones), *under]
    sa = result.service_areas
    if service_areas and sa is not None and len(sa):
        r = result.config.radius_m
        layers.append(Layer(sa[sa["rule"].astype(str) == "radius"], f"路网{r:g}米服务范围（沿路）Roads within {r:g} m of a facility",
                            "#6fa8dc", size=16, linestyle="-"))  # fmt: skip
    if demand:
        layers += _demand_layers(result)
    return [*layers, *over, *facility_layers(result.facilities, proposed, proposed_label)]


def facility_layers(facilities: gpd.GeoDataFrame, proposed: gpd.GeoDataFrame | None = None,
                    proposed_label: str = "拟建站点 Proposed sites") -> list[Layer]:  # fmt: skip
    """The existing facilities (blue, named) and the ``proposed`` sites (gold stars; left out
    of the facilities by id)."""
    new = set(proposed["id"].astype(str)) if proposed is not None else set()
    existing = facilities[~facilities["id"].astype(str).isin(new)]
    label = "现有养老设施 Existing facilities" if new else "养老设施 Facilities"
    out = [Layer(existing, label, COLOURS["facility"], "o", 75, True, "name" if "name" in existing else "id", edge="white")]
    if proposed is not None and len(proposed):
        out.append(proposed_layer(proposed, proposed_label))
    return out


def proposed_layer(proposed: gpd.GeoDataFrame, label: str = "拟建站点 Proposed sites", labels: str | None = "name") -> Layer:
    """Proposed (or planned) sites: gold stars with a dark outline, the same on every map."""
    col = labels if labels in proposed else ("id" if "id" in proposed else None)
    return Layer(proposed, label, PROPOSED_STYLE["color"], PROPOSED_STYLE["marker"], PROPOSED_STYLE["size"], True, col,
                 edge=PROPOSED_STYLE["edge"])  # fmt: skip


def rule_subtitle(result: AuditResult, *more: str) -> str:
    """The rules of an audit as a subtitle (names from :meth:`AuditConfig.rule_label
    <coverage.config.AuditConfig.rule_label>`), then ``more``."""
    cfg = result.config
    zh = f"覆盖规则：{cfg.rule_label('radius', lang='zh')}；{cfg.rule_label('time', lang='zh')}"
    return " · ".join([f"{zh} Rules: {cfg.rule_label('radius', lang='en')}; {cfg.rule_label('time', lang='en')}", *more])


def audit_print_map(path: str | Path, result: AuditResult, *, overwrite: bool = False, title: str | None = None,
                    lang: str = "both") -> Path:  # fmt: skip
    """The print map of an audit (committee package ``audit_map.png``), in ``lang``."""
    meta = result.meta
    spec = PrintMap(title=str(title or meta.get("title") or "养老服务设施覆盖评估 Coverage audit"), network=result.network,
                    layers=audit_print_layers(result), source=str(meta.get("source", "")), date=str(meta.get("date", "")),
                    subtitle=rule_subtitle(result), pad_m=150.0, lang=lang)  # fmt: skip
    return print_map(path, spec, overwrite=overwrite)

