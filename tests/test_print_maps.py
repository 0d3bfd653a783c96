"""Print maps (coverage.publish.figures): drawn for a committee's submission, not screenshots.

Each check inspects the matplotlib Figure before it is saved: a title, a legend row for every
layer drawn, a north arrow, a metric scale bar, no axis ticks or degree/metre labels, labels
whose boxes never overlap, the data source as a file name, the date and the CRS.
"""

from __future__ import annotations

import itertools
import re

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Point

from coverage import model_county
from coverage.audit.run import run_audit
from coverage.errors import OutputExistsError
from coverage.publish import figures
from coverage.publish.figures import (
    Layer,
    PrintMap,
    audit_print_layers,
    draw_print_map,
    place_labels,
    print_map,
    proposed_layer,
    scale_length,
)

pytestmark = pytest.mark.filterwarnings("ignore::coverage.errors.CoverageWarning")
DATE = "2026-01-01"


@pytest.fixture(scope="module")
def audit():
    mc = model_county()
    return run_audit(mc.network, mc.facilities, mc.demand, zones=mc.zones, run_date=DATE)


def _spec(audit, **kw) -> PrintMap:
    new = audit.facilities.iloc[:2][["id", "name", "geometry"]]
    base = {
        "title": "养老服务设施覆盖评估 Coverage audit",
        "network": audit.network,
        "layers": audit_print_layers(audit, proposed=new),
        "source": "/home/planner/秘密/county_roads.osm.pbf",
        "date": DATE,
        "subtitle": "MCLP, k = 2",
    }
    return PrintMap(**{**base, **kw})


@pytest.fixture(scope="module")
def fig(audit):
    return draw_print_map(_spec(audit))


def _by_gid(fig, gid: str) -> list:
    return [a for a in fig.findobj() if getattr(a, "get_gid", lambda: None)() == gid]


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_title_and_subtitle(fig) -> None:
    (title,) = _by_gid(fig, "title")
    assert title.get_text() == "养老服务设施覆盖评估 Coverage audit"
    (sub,) = _by_gid(fig, "subtitle")
    assert "MCLP, k = 2" in sub.get_text()


def test_legend_lists_every_layer_drawn(fig, audit) -> None:
    (legend,) = _by_gid(fig, "legend")
    texts = [_squash(t.get_text()) for t in legend.get_texts()]
    drawn = [lay for lay in audit_print_layers(audit, proposed=audit.facilities.iloc[:2]) if len(lay.gdf)]
    assert _squash("道路 Roads") in texts
    for lay in drawn:
        assert _squash(lay.label) in texts, lay.label
    assert _squash("拟建站点 Proposed sites") in texts
    assert len(texts) == len(drawn) + 1 == len(legend.legend_handles)
    # the legend's numbers and names are the audit's CoverageSummary rows
    for row in audit.coverage.legend_rows():
        if row.count:
            assert _squash(row.text()) in texts, row.text()


def test_north_arrow_and_metric_scale_bar(fig) -> None:
    assert len(_by_gid(fig, "north-arrow")) == 2
    (north,) = _by_gid(fig, "north-arrow-label")
    assert "N" in north.get_text()
    bar = _by_gid(fig, "scale-bar")
    assert len(bar) == 4
    (ax,) = _by_gid(fig, "map")
    width = ax.get_xlim()[1] - ax.get_xlim()[0]
    length = sum(p.get_width() for p in bar)
    assert length == pytest.approx(scale_length(width))
    labels = [t.get_text() for t in _by_gid(fig, "scale-bar-label")]
    assert labels[0] == "0" and labels[-1].endswith(("km", " m"))


def test_no_axis_ticks_or_coordinate_labels(fig) -> None:
    (ax,) = _by_gid(fig, "map")
    assert list(ax.get_xticks()) == [] and list(ax.get_yticks()) == []
    assert ax.get_xlabel() == "" and ax.get_ylabel() == ""
    everything = " ".join(t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text") and callable(a.get_text)))
    assert "x (m)" not in everything and "Easting" not in everything and "Northing" not in everything
    assert ax.get_aspect() == 1.0


def test_labels_never_overlap(fig) -> None:
    renderer = fig.canvas.get_renderer()
    labels = _by_gid(fig, "map-label")
    assert len(labels) >= 20  # 18 villages and communities, facilities, proposed sites
    boxes = [t.get_window_extent(renderer) for t in labels]
    for a, b in itertools.combinations(boxes, 2):
        assert not a.overlaps(b), (a, b)
    (ax,) = _by_gid(fig, "map")
    frame = ax.get_window_extent(renderer)
    for box in boxes:
        assert frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1
    texts = {t.get_text() for t in labels}
    assert {"城东社区", "东坪村", "北山村"} <= texts  # communities and villages, Chinese


def test_source_is_a_file_name_with_date_and_crs(fig, audit) -> None:
    (info,) = _by_gid(fig, "map-info")
    text = info.get_text()
    assert "county_roads.osm.pbf" in text and "/home" not in text and "秘密" not in text
    assert DATE in text and audit.network.crs in text


def test_labels_are_literal_text(audit) -> None:
    hostile = audit.facilities.iloc[:1].assign(name="$x^2$")
    spec = _spec(audit, layers=[proposed_layer(hostile, "拟建 $\\frac$ sites")])
    fig = draw_print_map(spec)
    labels = _by_gid(fig, "map-label")
    assert [t.get_text() for t in labels] == ["$x^2$"]
    assert not labels[0].get_parse_math()
    (legend,) = _by_gid(fig, "legend")
    assert any("$\\frac$" in t.get_text() for t in legend.get_texts())


def test_without_a_cjk_font_fixed_words_are_english(audit, monkeypatch, caplog) -> None:
    from coverage.publish import charts

    monkeypatch.setattr(charts, "cjk_font", lambda: None)
    fig = draw_print_map(_spec(audit, layers=audit_print_layers(audit)[:2]))
    (title,) = _by_gid(fig, "title")
    assert title.get_text() == "Coverage audit"
    (legend,) = _by_gid(fig, "legend")
    assert legend.get_title().get_text() == "Legend"


def test_place_labels_greedy_never_overlaps(rng) -> None:
    """Crowded points: every placed label box is disjoint from every other, the rest are
    reported as left out, never drawn on top."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4, 3), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 100)
    pts = rng.uniform(20, 80, size=(60, 2))
    requests = [{"x": x, "y": y, "text": f"村{i}号点", "r": 3.0, "area": i % 3 == 0} for i, (x, y) in enumerate(pts)]
    with figures._style():  # the CJK font
        placed = place_labels(ax, fig.canvas.get_renderer(), requests, hard=np.zeros((0, 4)), soft=np.zeros((0, 4)))
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in placed.texts]
    assert len(boxes) + len(placed.left_out) == 60
    assert placed.left_out  # too crowded for all
    for a, b in itertools.combinations(boxes, 2):
        assert not a.overlaps(b)


def test_labels_avoid_the_markers_they_must_not_cover() -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4, 3), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 100)
    px, py = ax.transData.transform((50, 50))
    hard = np.array([[px + 5, py - 20, px + 60, py + 20]])  # a marker east of the point
    with figures._style():
        placed = place_labels(ax, fig.canvas.get_renderer(), [{"x": 50, "y": 50, "text": "西岭村", "r": 3.0}], hard=hard,
                              soft=np.zeros((0, 4)))  # fmt: skip
    box = placed.texts[0].get_window_extent(fig.canvas.get_renderer())
    assert box.x1 <= px + 5 or box.x0 >= px + 60 or box.y1 <= py - 20 or box.y0 >= py + 20


def test_scale_length_is_round() -> None:
    assert scale_length(10_000) == 2000
    assert scale_length(3_000) == 500
    assert scale_length(900) == 200


def test_print_map_writes_png_atomically(tmp_path, audit) -> None:
    path = tmp_path / "map.png"
    spec = _spec(audit, layers=audit_print_layers(audit)[:3])
    out = print_map(path, spec)
    assert out.read_bytes().startswith(b"\x89PNG")
    with pytest.raises(OutputExistsError):
        print_map(path, spec)
    from PIL import Image

    with Image.open(out) as im:
        assert im.size == (int(figures._SIZE_IN[0] * figures.DPI), int(figures._SIZE_IN[1] * figures.DPI))


def test_layers_of_every_geometry_kind(audit) -> None:
    """Points, lines and polygons get the legend symbol of their kind; empty layers no row."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    pts = gpd.GeoDataFrame({"id": ["a"]}, geometry=[Point(112.80, 25.26)], crs=4326)
    empty = pts.iloc[:0]
    layers = [Layer(audit.zones, "片区 Zones", "#eeeeee", fill=True),
              Layer(audit.service_areas, "服务范围 Reach", "#6fa8dc", size=16),
              Layer(pts, "点 Point", "#1f77b4", labels="id"),
              Layer(empty, "空 Empty", "#000000")]  # fmt: skip
    fig = draw_print_map(_spec(audit, layers=layers))
    (legend,) = _by_gid(fig, "legend")
    texts = [t.get_text() for t in legend.get_texts()]
    assert "空 Empty" not in texts and len(texts) == 4
    handles = legend.legend_handles
    assert isinstance(handles[1], Patch)  # zones
    assert isinstance(handles[2], Line2D) and handles[2].get_linestyle() == "-"  # reach lines
    assert isinstance(handles[3], Line2D) and handles[3].get_marker() == "o"  # points
