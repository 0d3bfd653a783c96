"""Maps of very many demand points (a population raster's cells): the demand layer is drawn
aggregated on a square metric grid, the page stays small, and the cells' numbers add up.

The demand frame is built directly with the columns :class:`coverage.publish.maps.MapLayers`
documents (no routing); the oracle is a brute-force groupby of each point's cell
``floor(x / cell), floor(y / cell)`` in the frame's metric CRS and its category from
:func:`coverage.publish._html.demand_category` row by row.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Point

from coverage.publish._html import demand_category
from coverage.publish.demand_grid import CATEGORIES
from coverage.publish.maps import (
    DEMAND_AGGREGATE_LIMIT,
    DEMAND_NAMES,
    MapLayers,
    audit_map,
    save_map,
)

N_BIG = 300_000
CRS = "EPSG:32650"  # UTM 50N (Wuhan): the frame's metric CRS, recorded in meta["crs"]
HOSTILE = ["{{ 7*7 }}", "<script>alert(1)</script>", "{% raw %}", "`${x}`", "村\u2028名", "a\\b"]


def _meta() -> dict:
    return {"title": "大图 {{ big }} map", "crs": CRS, "speed_mps": 1.0, "radius_m": 1000.0, "time_min": 15.0,
            "walk_limit_m": 900.0, "source": "synthetic", "date": "2026-11-29"}  # fmt: skip


def _frame(n: int, seed: int = 12) -> gpd.GeoDataFrame:
    """An audit-like demand frame of ``n`` points around (114.3 E, 30.6 N), ~±25 km."""
    rng = np.random.default_rng(seed)
    x = 240_000 + rng.normal(0, 9_000, n)
    y = 3_390_000 + rng.normal(0, 7_000, n)
    dist = rng.exponential(900.0, n)
    status = np.where(rng.random(n) < 0.02, "unreachable", np.where(dist > 3000, "beyond_cutoff", "ok"))
    dist[status == "unreachable"] = np.inf
    time_min = dist / 60.0
    r, t = dist <= 1000.0, time_min <= 15.0
    circle = r | (rng.random(n) < 0.03)
    names = np.array([f"格点 cell {i}" for i in range(n)], dtype=object)
    names[: len(HOSTILE)] = HOSTILE
    return gpd.GeoDataFrame(
        {
            "id": [f"p{i}" for i in range(n)], "name": names, "dist_m": dist, "time_min": time_min,
            "facility_id": "f0", "facility_name": HOSTILE[0], "covered_radius": r, "covered_time": t,
            "within_circle": circle, "false_coverage": circle & ~r, "status": status,
            "weight": np.round(rng.gamma(2.0, 3.0, n), 2),
        },
        geometry=gpd.points_from_xy(x, y), crs=CRS,
    ).to_crs(4326)  # fmt: skip


def _layers(demand: gpd.GeoDataFrame) -> MapLayers:
    fac = gpd.GeoDataFrame(
        {"id": ["f0"], "name": [HOSTILE[1]], "n_covered_radius": [1], "weight_covered_radius": [1.0],
         "n_covered_time": [1], "weight_covered_time": [1.0]},
        geometry=[Point(114.3, 30.6)], crs=4326,
    )  # fmt: skip
    return MapLayers(demand=demand, facilities=fac, roads=None, service_areas=None, zones=None, meta=_meta())


def _collections(html: str) -> list[dict]:
    """Every GeoJSON FeatureCollection embedded in the page (folium's ``..._add({...})``)."""
    dec = json.JSONDecoder()
    out = []
    for mt in re.finditer(r"_add\((\{)", html):
        obj, _ = dec.raw_decode(html, mt.start(1))
        if obj.get("type") == "FeatureCollection":
            out.append(obj)
    return out


def _int(text: str) -> int:
    return int(text.replace("\u00a0", " ").split(" / ")[0].replace(",", ""))


def _weight(text: str) -> float:
    return float(text.replace("\u00a0", " ").split(" / ")[1].replace(",", ""))


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> tuple[gpd.GeoDataFrame, Path, str]:
    demand = _frame(N_BIG)
    path = save_map(audit_map(_layers(demand)), tmp_path_factory.mktemp("big") / "big.html")
    return demand, path, path.read_text(encoding="utf-8")


def test_big_map_is_small_and_aggregated(big) -> None:
    demand, path, html = big
    size_mb = path.stat().st_size / 1e6
    assert size_mb < 25, f"{size_mb:.1f} MB"
    assert "Demand aggregated on a" in html
    cells = [f for c in _collections(html) for f in c["features"] if "n" in f["properties"]]
    assert 1_000 < len(cells) <= 20_000
    assert all(f["geometry"]["type"] == "Polygon" for f in cells)
    # the legend's headline numbers are the run's CoverageSummary (computed from the frame)
    n_both = int((demand["covered_radius"] & demand["covered_time"]).sum())
    assert f"{n_both:,}" in html


def test_cell_counts_add_up_and_match_brute_force(big) -> None:
    demand, _path, html = big
    cells = [f for c in _collections(html) for f in c["features"] if "n" in f["properties"]]
    cell_m = float(re.search(r"Demand aggregated on a ([\d.]+) m grid", html).group(1))
    # oracle: each point's cell and category, row by row
    xy = demand.to_crs(CRS).get_coordinates().to_numpy()
    keys = np.floor(xy / cell_m).astype(int)
    want: dict[tuple[int, int], Counter] = defaultdict(Counter)
    want_w: dict[tuple[int, int], Counter] = defaultdict(Counter)
    for (kx, ky), row in zip(keys, demand.itertuples(index=False), strict=True):
        cat = demand_category(row)
        want[kx, ky][cat] += 1
        want_w[kx, ky][cat] += row.weight
        want[kx, ky]["false"] += bool(row.false_coverage)
    # each drawn cell back to its key: its centre, projected
    centres = gpd.GeoSeries(
        [Point(np.mean([c[0] for c in f["geometry"]["coordinates"][0][:4]]), np.mean([c[1] for c in f["geometry"]["coordinates"][0][:4]]))
         for f in cells], crs=4326).to_crs(CRS).get_coordinates().to_numpy()  # fmt: skip
    got_keys = [tuple(k) for k in np.floor(centres / cell_m).astype(int)]
    assert len(set(got_keys)) == len(got_keys) == len(want)
    total_n, total_f = 0, 0
    for key, f in zip(got_keys, cells, strict=True):
        p = f["properties"]
        for k, cat in enumerate(CATEGORIES):
            n = _int(p[f"k{k}"]) if f"k{k}" in p else 0
            assert n == want[key][cat], (key, cat)
            if n:
                assert _weight(p[f"k{k}"]) == pytest.approx(want_w[key][cat], abs=0.051)
        assert _int(p["n"]) == sum(want[key][c] for c in CATEGORIES)
        assert _int(p.get("f", "0")) == want[key]["false"]
        # coloured by its category of largest weight: the tooltip names it
        lead = max(CATEGORIES, key=lambda c: (want_w[key][c], -CATEGORIES.index(c)))
        assert DEMAND_NAMES[lead] in p["t"]
        total_n += _int(p["n"])
        total_f += _int(p.get("f", "0"))
    assert total_n == len(demand)
    assert total_f == int(demand["false_coverage"].sum())


def test_below_threshold_is_unchanged() -> None:
    """Below the threshold the map is the point map it always was (same bytes as with
    aggregation switched off), and the threshold is what switches it."""
    demand = _frame(1_500)
    layers = _layers(demand)
    points = audit_map(layers).get_root().render()
    assert points == audit_map(layers, aggregate_above=10**9).get_root().render()
    assert "Demand aggregated" not in points
    assert len(demand) < DEMAND_AGGREGATE_LIMIT
    cells = audit_map(layers, aggregate_above=1_499).get_root().render()
    assert "Demand aggregated" in cells
    assert sum(f["geometry"]["type"] == "Polygon" for c in _collections(cells) for f in c["features"]) > 0


def test_aggregated_map_stays_inert(tmp_path: Path) -> None:
    """Hostile names never reach the cells, and the page passes check_inert (save_map runs it)."""
    demand = _frame(5_000)
    path = save_map(audit_map(_layers(demand), aggregate_above=1_000, max_markers=10), tmp_path / "m.html")
    html = path.read_text(encoding="utf-8")
    assert "{{ 7*7 }}" not in html and "<script>alert(1)</script>" not in html
    assert "{% raw %}" not in html


def test_categories_match_demand_category_row_by_row() -> None:
    """The vectorised categories (grid cells, print maps) equal demand_category on every row,
    missing flags included."""
    from coverage.publish.demand_grid import categories

    demand = _frame(2_000, seed=5)
    demand["covered_radius"] = demand["covered_radius"].astype(object)
    demand.loc[demand.index[::7], "covered_radius"] = None
    demand["covered_time"] = demand["covered_time"].astype(float)
    demand.loc[demand.index[::11], "covered_time"] = np.nan  # float column with NaN: missing is False
    got = np.asarray(CATEGORIES, dtype=object)[categories(demand)]
    want = [demand_category(r) for r in demand.itertuples(index=False)]
    assert list(got) == want
    assert set(want) == set(CATEGORIES)


def test_site_map_newly_covered_as_cells() -> None:
    """Thousands of newly covered homes on the site map: the cells holding them, their counts
    adding up to the homes (checked against a brute-force groupby of floor(x / cell))."""
    from coverage.publish.maps import base_map, finish_map
    from coverage.publish.site_map import _add_newly_covered

    newly = _frame(8_000, seed=9)
    m, _legend = base_map(_meta(), basemap="none", tianditu_key=None)
    _add_newly_covered(m, newly)
    html = finish_map(m).get_root().render()
    feats = [f for c in _collections(html) for f in c["features"]]
    cell_m = float(re.search(r"\((\d+) m 网格 grid\)", feats[0]["properties"]["t"]).group(1))
    counts = [int(re.search(r": ([\d,]+) \(", f["properties"]["t"]).group(1).replace(",", "")) for f in feats]
    keys = np.floor(newly.to_crs(CRS).get_coordinates().to_numpy() / cell_m).astype(int)
    want = Counter(map(tuple, keys))
    assert sum(counts) == len(newly)
    assert sorted(counts) == sorted(want.values())
    assert "8,000" in html
