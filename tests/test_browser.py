"""The audit map in a real (headless Chromium) browser, with no network.

Checks what a planner on an intranet without internet sees: the offline map loads with no
console error and no request to the internet, the layer control lists the bilingual layers,
features are drawn, the picture is not blank, and hostile facility names stay text.
Skipped when no Chromium is installed (Debian: ``apt-get install chromium``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import geopandas as gpd
import pytest
from page_check import page_check
from PIL import Image
from shapely.geometry import Point

from coverage.publish.browser import find_chromium, pdf_from_html, screenshot
from coverage.publish.maps import MapLayers, audit_map, save_map

pytestmark = [
    pytest.mark.skipif(
        find_chromium() is None,
        reason="headless Chromium is not installed (Debian: apt-get install chromium)",
    ),
    pytest.mark.skipif(os.name != "posix", reason="page_check drives Chromium over POSIX pipes"),
]

LAYERS = (
    "片区 Zones",
    "道路 Roads",
    "服务范围 1000 m / Service area 1000 m",
    "15分钟服务圈 / 15-min walk",
    "已覆盖 Covered",
    "部分覆盖 Partly covered (one rule)",
    "未覆盖 Not covered",
    "虚假覆盖 False coverage (circle yes, road no)",
    "养老设施 Facilities",
)
IMG = """<img src=x onerror="document.title='PWNED'">"""
SCRIPT = "</script><script>document.title='PWNED'</script>"
# valid JavaScript even after HTML escaping: only escaping ` and $ keeps them inert inside
# Folium's template literals (String.fromCharCode(...) is "PWNED")
DOLLAR = "${document.title=String.fromCharCode(80,87,78,69,68)}"
BACKTICK = "`+(document.title=String.fromCharCode(80,87,78,69,68))+` \\"


@pytest.fixture(scope="module")
def model_map(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The model county's audit map, written offline with no basemap."""
    from coverage.audit.run import run_audit
    from coverage.datasets.model_county import model_county
    from coverage.publish.audit_package import write_outputs

    mc = model_county()
    result = run_audit(mc.network, mc.facilities, mc.demand, zones=mc.zones, run_date="2026-01-01")
    out = tmp_path_factory.mktemp("audit")
    write_outputs(result, out, map_path=out / "map.html", basemap="none")
    return out / "map.html"


def _picture_stats(path: Path) -> tuple[tuple[int, int], int, float]:
    """Size, number of distinct colours and share of non-white pixels of a PNG."""
    with Image.open(path) as im:
        rgb = im.convert("RGB")
        size = rgb.size
        colours = rgb.getcolors(maxcolors=1 << 20) or []
    n = size[0] * size[1]
    white = sum(count for count, c in colours if min(c) >= 250)
    return size, len(colours), 1.0 - white / n


def test_offline_map_works_without_network(model_map: Path, tmp_path: Path) -> None:
    shot = tmp_path / "map.png"
    r = page_check(model_map, screenshot_path=shot, block_network=True)
    assert r["console_errors"] == []
    assert r["remote_requests"] == []
    assert r["leaflet_version"] == "1.9.3" and r["n_maps"] == 1
    assert r["layer_names"] == list(LAYERS)
    assert r["n_circle_markers"] > 100 and r["n_paths"] > r["n_circle_markers"]
    assert r["canvas_pixels"] > 10_000  # the features are really drawn (canvas renderer)
    assert r["n_tile_layers"] == 0
    assert r["probe_errors"] == []
    # popups (lazy, made on the first click) and tooltips open with their bilingual texts
    assert any("路网距离 Network distance" in t for t in r["popup_texts"])
    assert any("养老设施" not in t and "Covered within" in t for t in r["popup_texts"])
    assert len(r["tooltip_texts"]) > 100
    # the legend states the parameters; the plugins' controls are there
    for text in (
        "步行速度 Walking speed: 0.8 m/s",
        "覆盖半径 Radius: 1000 m",
        "日期 Date: 2026-01-01",
    ):
        assert text in r["body_text"], text
    size, n_colours, ink = _picture_stats(shot)
    assert size == (1400, 900)
    assert n_colours > 50 and ink > 0.05, (n_colours, ink)


def test_online_map_is_blank_without_network(model_map: Path, tmp_path: Path) -> None:
    """The check itself catches the original problem: a CDN-linked map shows nothing."""
    text = model_map.read_text(encoding="utf-8")
    assert "<script src=" not in text
    page = tmp_path / "online.html"
    m = _tiny_map("在线 online")
    save_map(m, page, offline=False)
    r = page_check(page, open_popups=False)
    assert r["leaflet_version"] is None and r["n_maps"] == 0
    assert any("cdn.jsdelivr.net" in u for u in r["remote_requests"])
    assert any("L is not defined" in e for e in r["console_errors"])


def test_screenshot_and_pdf(model_map: Path, tmp_path: Path) -> None:
    png = screenshot(model_map, tmp_path / "map.png", width=1000, height=700, block_network=True)
    size, n_colours, ink = _picture_stats(png)
    assert size == (1000, 700)
    assert n_colours > 50 and ink > 0.05, (n_colours, ink)
    pdf = pdf_from_html(model_map, tmp_path / "map.pdf", block_network=True)
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and len(data) > 10_000


@pytest.mark.skipif(shutil.which("fc-list") is None, reason="fontconfig's fc-list is absent")
def test_cjk_font_installed() -> None:
    """Without a CJK font the map's Chinese text prints as empty boxes (tofu)."""
    out = subprocess.run(
        ["fc-list", ":lang=zh", "family"], capture_output=True, text=True, check=False
    )
    assert out.stdout.strip(), "no CJK font: apt-get install fonts-wqy-microhei"


def _tiny_map(title: str, *, names: tuple[str, ...] = ("甲", "乙"), max_markers: int = 5000):
    """A map of a few points near one facility whose every name is hostile."""
    x0, y0 = 115.86, 28.68
    n = len(names)
    # the first max(n - 2, 1) points are covered, then one partly covered, one not covered
    cats = [(True, True)] * max(n - 2, 1) + [(True, False), (False, False)][: n - max(n - 2, 1)]
    demand = gpd.GeoDataFrame(
        {
            "id": [f"d{i}" for i in range(n)],
            "name": list(names),
            "dist_m": [300.0 + 100 * i for i in range(n)],
            "time_min": [6.0 + i for i in range(n)],
            "facility_id": ["f0"] * n,
            "facility_name": [names[i % n] for i in range(n)],
            "covered_radius": [c[0] for c in cats],
            "covered_time": [c[1] for c in cats],
            "within_circle": [True] * n,
            "false_coverage": [not any(c) for c in cats],
            "status": ["ok"] * n,
            "weight": [1.0] * n,
            "zone_name": [names[-1]] * n,
        },
        geometry=[Point(x0 + 0.001 * i, y0 + 0.0005 * (i % 3)) for i in range(n)],
        crs=4326,
    )
    facilities = gpd.GeoDataFrame(
        {
            "id": ["f0", "f1"],
            "name": [names[0], names[-1]],
            "n_covered_radius": [2, 1],
            "weight_covered_radius": [2.0, 1.0],
            "n_covered_time": [1, 1],
            "weight_covered_time": [1.0, 1.0],
        },
        geometry=[Point(x0, y0 - 0.001), Point(x0 + 0.003, y0 - 0.001)],
        crs=4326,
    )
    meta = {
        "title": title, "crs": "EPSG:32650", "speed_mps": 0.8, "radius_m": 1000.0,
        "time_min": 15.0, "walk_limit_m": 720.0, "source": "test", "date": "2026-01-01",
    }  # fmt: skip
    layers = MapLayers(demand, facilities, None, None, None, meta)
    return audit_map(layers, basemap="none", max_markers=max_markers)


def test_hostile_names_never_run(tmp_path: Path) -> None:
    names = (IMG, SCRIPT, DOLLAR, BACKTICK, IMG, SCRIPT, DOLLAR, BACKTICK)
    # max_markers=2: the 4 "covered" points become one GeoJson layer (values go through
    # Folium's innerHTML), the other layers stay single CircleMarkers (jQuery-parsed popups)
    m = _tiny_map(f"测试 {IMG}", names=names, max_markers=2)
    page = save_map(m, tmp_path / "xss.html")
    r = page_check(page)
    assert r["title_before"] == r["title"] == f"测试 {IMG}"  # the title is text, not markup
    assert "PWNED" not in r["title"].replace(IMG, "")
    assert r["console_errors"] == [] and r["remote_requests"] == []
    assert r["probe_errors"] == []
    assert r["n_clicked"] >= 8
    assert not {"img", "script", "iframe", "svg"} & set(r["popup_tags"]), r["popup_tags"]
    popups = "\n".join(r["popup_texts"])
    tips = "\n".join(r["tooltip_texts"])
    for name in (IMG, SCRIPT, DOLLAR, BACKTICK):
        assert name in popups, name  # shown as literal text
        assert name in tips, name
    assert "pointToLayer" in page.read_text(encoding="utf-8")  # the GeoJson path was tested


def test_find_chromium_and_bad_inputs(tmp_path: Path, monkeypatch, caplog) -> None:
    from coverage.errors import OutputExistsError, ParameterError

    exe = find_chromium()
    monkeypatch.setenv("YANGLAO_CHROMIUM", exe)
    assert find_chromium() == exe
    monkeypatch.setenv("YANGLAO_CHROMIUM", str(tmp_path / "no-such-browser"))
    with caplog.at_level("WARNING", logger="coverage.publish.browser"):
        assert find_chromium() is not None  # falls back to PATH
    assert "not an executable" in caplog.text
    page = tmp_path / "p.html"
    with pytest.raises(FileNotFoundError, match="no such HTML file"):
        screenshot(page, tmp_path / "p.png")
    page.write_text("<p>x</p>", encoding="utf-8")
    with pytest.raises(ParameterError, match="width"):
        screenshot(page, tmp_path / "p.png", width=0)
    (tmp_path / "p.png").write_bytes(b"old")
    with pytest.raises(OutputExistsError):  # refused before Chromium starts
        screenshot(page, tmp_path / "p.png")
    assert (tmp_path / "p.png").read_bytes() == b"old"


def test_legend_collapses(model_map: Path, tmp_path: Path) -> None:
    """The legend's button hides its body (it never has to hide data)."""
    text = model_map.read_text(encoding="utf-8")
    clicked = tmp_path / "collapsed.html"
    clicked.write_text(text.replace("</html>", "<script>document.querySelector('.yl-toggle').click();</script></html>"),
                       encoding="utf-8")  # fmt: skip
    r = page_check(clicked, open_popups=False)
    assert r["console_errors"] == []
    assert "图例 Legend" in r["body_text"] and "展开 Show" in r["body_text"]
    assert "步行速度 Walking speed" not in r["body_text"]  # the body is hidden
    opened = page_check(model_map, open_popups=False)
    assert "收起 Hide" in opened["body_text"] and "步行速度 Walking speed" in opened["body_text"]
