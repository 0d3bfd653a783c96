"""Chinese-only reports: with ``--lang zh --report`` no English sentence shows in a
report page's visible text or on its print map (names, ids, units and numbers may)."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from coverage.cli import main
from coverage.config import SPEED_SOURCE
from coverage.datasets.model_county import SOURCE
from coverage.publish import figures

EXTRA = {"site": ["--k", "2"]}
REPORTING = ("audit", "site", "review", "makeup", "villages", "consolidate", "targets")
#: names, ids and units that may stay in Latin letters in a Chinese report
ALLOWED = ("OpenStreetMap", "yanglao-coverage", "EPSG", "MIT", "WGS", "CRS", "PDF", "HTML", "Excel", "CSV", "GeoPackage",
           "GPKG", "JSON", "PNG", "ODbL", "OSM", "MCLP", "LSCP", "p-median", "p-center", "km", "min")  # fmt: skip
#: names that are whole phrases: the data source of the generated county, a cited paper's title
NAMES = (SOURCE, SPEED_SOURCE.split(" 41(")[0])
_ENGLISH = re.compile(r"[A-Za-z]{3,}(?: [A-Za-z]{3,}){2,}")


def english_runs(text: str) -> list[str]:
    """Runs of three or more English words in ``text`` once the allowed tokens are removed."""
    for name in NAMES:
        text = text.replace(name, " ~ ")
    for token in ALLOWED:
        text = re.sub(rf"(?<![A-Za-z]){re.escape(token)}(?![A-Za-z])", " ~ ", text)
    return _ENGLISH.findall(re.sub(r"[ \t]+", " ", text))


def visible_text(page: str) -> str:
    """The text a reader sees: no scripts, styles, tags or embedded image data."""
    page = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", page)
    page = re.sub(r"data:[a-z/+]+;base64,[A-Za-z0-9+/=]+", " ", page)
    page = re.sub(r"(?s)<!--.*?-->", " ", page)
    page = re.sub(r"(?s)<[^>]*>", "\n", page)
    return html.unescape(page)


def test_english_runs_finds_sentences_not_names() -> None:
    assert english_runs("路网距离 road distance from each") == ["road distance from each"]
    assert english_runs("数据 OpenStreetMap 贡献者 EPSG:32649, 3.2 km, 东坪 N01") == []


@pytest.mark.parametrize("command", REPORTING)
def test_zh_reports_and_print_maps_are_chinese(command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    drawn = []
    draw = figures.draw_print_map

    def keep(spec):  # the figure of every print map written
        fig = draw(spec)
        drawn.append(fig)
        return fig

    monkeypatch.setattr(figures, "draw_print_map", keep)
    out = tmp_path / command
    assert main([command, *EXTRA.get(command, []), "--report", "--lang", "zh", "--out", str(out), "--quiet", "--date", "2026-01-01"]) == 0
    pages = [p for p in out.glob("*.html") if "report" in p.name or "sheet" in p.name]
    assert pages
    for p in pages:
        found = english_runs(visible_text(p.read_text(encoding="utf-8")))
        assert not found, f"{p.name}: {found[:8]}"
    assert drawn, "no print map drawn"
    if not figures._has_cjk("".join(t.get_text() for t in drawn[0].texts)):
        pytest.skip("no CJK font: print maps fall back to English")
    for fig in drawn:
        from matplotlib.text import Text

        texts = [t.get_text() for t in fig.findobj(Text)]
        found = [r for t in texts for r in english_runs(t.replace("\n", " "))]
        assert not found, f"print map: {found[:8]}"


def test_print_map_texts_and_keep_sets_pick_a_language() -> None:
    from coverage.workflows.consolidation import keep_set_label

    assert figures.in_lang_text("片区达标 Zone meets its target — 3/5 · MCLP, k = 2", "zh") == "片区达标 — 3/5 · MCLP, k = 2"
    assert figures.in_lang_text("搬迁至东坪 N01（沿路）Moves to 东坪 N01, along the roads", "zh") == "搬迁至东坪 N01（沿路）"
    assert figures.in_lang_text("道路 Roads", "both") == "道路 Roads"
    assert keep_set_label("p-median optimum within beds", "zh") == "p-中位最优方案（按床位）"
    assert keep_set_label("替代\nalternative", "en") == "alternative"
    assert keep_set_label("A", "zh") == "A"  # a user's label as given
