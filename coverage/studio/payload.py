"""What the studio sends: the JSON of the page's layers, panel and legend.

The layers, colours, legend rows and labels are the committee map's
(:mod:`coverage.publish.maps`, :mod:`coverage.publish._html`): demand points coloured by the
two rules, false-coverage rings, facilities, road-following service areas (radius dashed,
walk solid), zones by their target, roads; the legend's figures are the
:class:`~coverage.audit.summary.CoverageSummary` of the live plan, named by their rule, in
Chinese, English or both (``--lang``).

Every text from an input file or a client (names, ids, zone names, scenario names) is sent
escaped by :func:`coverage.publish._html.esc` (the page may put it into HTML as it is); the
legend is trusted HTML built here from escaped parts.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import shapely

from ..audit.summary import LEGEND_KEYS, CoverageSummary, pct
from ..publish._html import COLOURS, esc, source_name, swatch
from ..publish.maps import DEMAND_NAMES, FACILITIES_NAME, PROPOSED_NAME, ROADS_NAME
from .session import CATEGORIES, Station, Studio

__all__ = ["AREA_BATCH", "INLINE_AREAS", "LANGS", "edit_payload", "initial_state", "labels", "legend_html", "pick", "service_areas",
           "summary_payload"]

LANGS = ("zh", "en", "both")
#: roads above this many edges are not sent to the page (the legend says so)
MAX_ROAD_EDGES = 60_000
#: up to this many stations, their service areas come with the page's state; above it the
#: page asks for them in batches (``/api/service_areas``) once it is ready
INLINE_AREAS = 200
#: the most stations one ``/api/service_areas`` request may name
AREA_BATCH = 100

# the page's own words: (中文, English)
_UI = {
    "title": ("养老服务设施规划工作室", "Elderly-care planning studio"),
    "headline": ("覆盖指标", "Coverage figures"), "by_zone": ("分片区覆盖", "Coverage by zone"),
    "facilities": ("设施清单", "Facilities"), "add": ("点击地图新增站点", "Click the map to add a station"),
    "close": ("关闭", "Close"), "undo": ("撤销", "Undo"), "redo": ("重做", "Redo"),
    "rank": ("候选点排序", "Rank candidates"), "model": ("优化选址", "Site model"), "run": ("运行", "Run"),
    "k": ("新增站点数 k", "New sites k"), "scenarios": ("方案", "Scenarios"), "save": ("保存当前方案", "Save current plan"),
    "compare": ("对比", "Compare"), "export": ("导出委员会材料", "Export committee package"), "open": ("载入", "Open"),
    "name": ("名称", "Name"), "points": ("点数", "Points"), "share": ("比例", "Share"), "wshare": ("加权比例", "Weighted"),
    "zone": ("片区", "Zone"), "target": ("目标", "Target"), "gain": ("边际增益", "Marginal gain"),
    "new_station": ("新站点", "New station"), "figure": ("指标", "Figure"), "diff": ("差值", "Difference"),
    "only_in": ("仅在此方案中的设施", "Facilities only in"), "exported": ("已写入", "Written"),
    "busy": ("计算中…", "Working…"), "no_road": ("附近没有道路", "No road nearby"),
    "legend": ("图例", "Legend"), "hide": ("收起", "Hide"), "show": ("展开", "Show"),
    "move_hint": ("拖动站点可移动", "Drag a station to move it"), "mode_add": ("新增", "Add"),
    "mode_view": ("浏览", "View"), "radius_rule": ("半径规则", "radius rule"), "time_rule": ("步行规则", "walk rule"),
    "op_add": ("已新增站点", "station added"), "op_move": ("已移动站点", "station moved"), "op_close": ("已关闭站点", "station closed"),
    "op_undo": ("已撤销", "undone"), "op_redo": ("已重做", "redone"), "op_open": ("已载入方案", "scenario opened"),
    "meets": ("达标", "meets"), "below": ("未达标", "below"), "roads_off": ("道路过多未显示", "roads not drawn (too many)"),
}  # fmt: skip


def pick(text: str, lang: str) -> str:
    """One language of a committee-map label (``"已覆盖 Covered"``, ``"服务范围 1000 m /
    Service area 1000 m"``): the Chinese part, the English part, or the whole label."""
    if lang == "both":
        return text
    zh, _, en = text.partition(" / ") if " / " in text else text.partition(" ")
    return zh if lang == "zh" else en


def _word(key: str, lang: str) -> str:
    zh, en = _UI[key]
    return {"zh": zh, "en": en}.get(lang, f"{zh} {en}")


def labels(studio: Studio, lang: str) -> dict[str, str]:
    """Every label of the page in ``lang`` (layer names are the committee map's)."""
    cfg = studio.config
    rad, tim = f"{cfg.radius_m:g}", f"{cfg.time_min:g}"
    out = {k: _word(k, lang) for k in _UI}
    out |= {f"cat_{k}": pick(v, lang) for k, v in DEMAND_NAMES.items()}
    out |= {
        "false": pick("虚假覆盖 False coverage (circle yes, road no)", lang), "facility_layer": pick(FACILITIES_NAME, lang),
        "proposed_layer": pick(PROPOSED_NAME, lang), "roads": pick(ROADS_NAME, lang), "zones": pick("片区 Zones", lang),
        "sa_radius": pick(f"服务范围 {rad} m / Service area {rad} m", lang), "sa_time": pick(f"{tim}分钟服务圈 / {tim}-min walk", lang),
        "rule_radius": cfg.rule_label("radius", lang=lang), "rule_time": cfg.rule_label("time", lang=lang),
    }  # fmt: skip
    return {k: esc(v) for k, v in out.items()}


def _f(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def summary_payload(summary: CoverageSummary, lang: str) -> list[dict[str, Any]]:
    """The figures of the panel, named by their rule."""
    return [{"key": f.key, "label": esc(f.label(lang)), "count": f.count, "total": f.total, "share": _f(f.share),
             "wshare": _f(f.wshare), "text": esc(f.text("en" if lang == "en" else "zh" if lang == "zh" else "both"))}
            for f in summary.figures()]  # fmt: skip


def legend_html(studio: Studio, summary: CoverageSummary, lang: str) -> str:
    """The legend (trusted HTML, every value escaped): the committee map's rows with the
    live figures, the layers, and the rules."""
    lab = labels(studio, lang)
    weighted = not np.allclose(studio.weight, 1.0)
    rows = []
    for key in LEGEND_KEYS:
        f = summary.figure(key)
        text = esc(f"{f.label(lang)} — {f.count:,} ({pct(f.share)})")
        if weighted and math.isfinite(f.wshare):
            text += esc(f", {_word('wshare', lang)} {pct(f.wshare)}")
        rows.append(f'<span class="yl-row">{swatch("ring" if key == "false" else "dot", COLOURS[key])}{text}</span>')
    rows += [
        f'<span class="yl-row">{swatch("dot", COLOURS["facility"])}{lab["facility_layer"]}</span>',
        f'<span class="yl-row">{swatch("star", "#5b2a86", fill="#ffd400")}{lab["new_station"]}</span>',
        f'<span class="yl-row">{swatch("dash", COLOURS["radius"])}{lab["sa_radius"]}</span>',
        f'<span class="yl-row">{swatch("line", COLOURS["time"])}{lab["sa_time"]}</span>',
    ]
    if studio.zones_in is not None and studio.options.target is None:
        rows.append(f'<span class="yl-row">{swatch("area", COLOURS["zone"])}{lab["zones"]}</span>')
    elif studio.zones_in is not None:
        rows.append(f'<span class="yl-row">{swatch("area", COLOURS["both"])}{lab["zones"]}: {lab["meets"]}</span>')
        rows.append(f'<span class="yl-row">{swatch("area", COLOURS["none"])}{lab["zones"]}: {lab["below"]}</span>')
    cfg = studio.config
    info = [esc(f"{cfg.rule_label('radius', lang=lang)}; {cfg.rule_label('time', lang=lang)} = {cfg.walk_limit_m:,.0f} m"),
            esc(f"CRS {studio.engine.crs}; {source_name(studio.network.source)}")]  # fmt: skip
    return "<br>".join(rows) + "<hr>" + "<br>".join(info)


def _geo(geom: Any) -> dict[str, Any]:
    return json.loads(shapely.to_geojson(shapely.set_precision(geom, 1e-6)))


def service_areas(studio: Studio, stations: list[Station]) -> dict[str, list[dict[str, Any]]]:
    """The road-following service areas (radius and walk) of ``stations``, by key (kept per
    station and place: a station reopened by undo is not searched again)."""
    cache: dict[tuple[str, tuple[float, float]], list[dict[str, Any]]] = studio.__dict__.setdefault("_area_cache", {})
    out = {st.key: cache[(st.key, st.xy)] for st in stations if st.open and (st.key, st.xy) in cache}
    todo = [st for st in stations if st.open and st.key not in out]
    if todo:
        fresh = _search_areas(studio, todo)
        for st in todo:
            cache[(st.key, st.xy)] = out[st.key] = fresh.get(st.key, [])
    live = {(st.key, st.xy) for st in studio.open_stations()}
    if len(cache) > len(live) + 64:  # memory stays flat: keep the open stations' areas only
        for k in [k for k in cache if k not in live]:
            del cache[k]
    return out


def _search_areas(studio: Studio, use: list[Station]) -> dict[str, list[dict[str, Any]]]:
    """The engine's service areas of ``use`` as GeoJSON geometries (1e-6 degree grid)."""
    cfg = studio.config
    snap = studio.engine.snap(np.array([st.xy for st in use]))
    ok = studio.engine.reachable(snap)
    if not ok.any():
        return {}
    idx = np.flatnonzero(ok)
    sa = studio.engine.service_areas(snap.take(idx), limits_m={"radius": cfg.radius_m, "time": cfg.walk_limit_m},
                                     ids=np.array([use[i].key for i in idx]))  # fmt: skip
    out: dict[str, list[dict[str, Any]]] = {}
    for key, rule, geom in zip(sa["facility_id"], sa["rule"], sa.geometry, strict=True):
        if geom is not None and not geom.is_empty:
            out.setdefault(str(key), []).append({"rule": str(rule), "geometry": _geo(geom)})
    return out


def station_payload(studio: Studio, stations: list[Station], stats: dict[str, tuple[int, float, int, float]], *,
                    areas: bool = True) -> list[dict[str, Any]]:  # fmt: skip
    """The facility list's rows and markers (names and ids escaped)."""
    if not stations:
        return []
    ll = studio.to_lonlat(np.array([st.xy for st in stations]))
    sa = service_areas(studio, stations) if areas else {}
    pending = not areas
    out = []
    for st, (lon, lat) in zip(stations, ll, strict=True):
        n_r, w_r, n_t, w_t = stats.get(st.key, (0, 0.0, 0, 0.0))
        out.append({"key": st.key, "id": esc(st.id), "name": esc(st.name), "lon": round(float(lon), 7), "lat": round(float(lat), 7),
                    "new": st.row is None, "n_radius": n_r, "w_radius": w_r, "n_time": n_t, "w_time": w_t,
                    "areas": sa.get(st.key, []), "areas_pending": pending})  # fmt: skip
    return out


def zone_payload(rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    return [{"zone_id": esc(r[0]), "name": esc(r[1]), "n": r[2], "n_radius": r[3], "n_time": r[4], "share_radius": _f(r[6]),
             "share_time": _f(r[7]), "wshare_radius": _f(r[8]), "wshare_time": _f(r[9]), "meets": r[10]} for r in rows]  # fmt: skip


def _zones_geo(studio: Studio) -> list[dict[str, Any]]:
    z = studio.base.zones
    if z is None:
        return []
    z = z.to_crs("EPSG:4326")
    return [{"zone_id": esc(zid), "geometry": _geo(g)} for zid, g in zip(z["zone_id"].astype(str), z.geometry, strict=True)]


def _roads(studio: Studio) -> list[list[list[float]]] | None:
    net = studio.network
    if net.n_edges > MAX_ROAD_EDGES:
        return None
    e = net.edges_frame(to_wgs84=True)
    return [np.round(np.asarray(g.coords), 6).tolist() for g in e.geometry]


def _demand(studio: Studio) -> dict[str, Any]:
    d = studio.base.demand
    xy = np.column_stack([d.geometry.x.to_numpy(), d.geometry.y.to_numpy()])
    names = d["name"].astype(str).to_numpy() if "name" in d else d.index.astype(str).to_numpy()
    return {"lon": np.round(xy[:, 0], 6).tolist(), "lat": np.round(xy[:, 1], 6).tolist(),
            "category": studio._snap.cat.tolist(), "false": studio._snap.false.tolist(),
            "name": [esc(n) for n in names]}  # fmt: skip


def _rules(studio: Studio) -> dict[str, Any]:
    cfg, o = studio.config, studio.options
    return {"radius_m": cfg.radius_m, "time_min": cfg.time_min, "walk_m": cfg.walk_limit_m, "target": o.target, "target_rule": o.target_rule}


def initial_state(studio: Studio, lang: str) -> dict[str, Any]:
    """Everything the page draws at first: layers, figures, zones, facilities, labels."""
    with studio.lock:
        summary = studio.summary()
        stations = studio.open_stations()
        return {
            "version": studio.version,
            "lang": lang,
            "labels": labels(studio, lang),
            "title": esc(studio.options.title),
            "colours": COLOURS,
            "categories": list(CATEGORIES),
            "rules": _rules(studio),
            "figures": summary_payload(summary, lang),
            "legend": legend_html(studio, summary, lang),
            "demand": _demand(studio),
            "stations": station_payload(studio, stations, studio._snap.facilities, areas=len(stations) <= INLINE_AREAS),
            "area_batch": AREA_BATCH,
            "zones": zone_payload(studio._snap.zones),
            "zone_shapes": _zones_geo(studio),
            "roads": _roads(studio),
            "candidates": studio.candidates is not None and len(studio.candidates) > 0,
            "can_undo": bool(studio.undo_stack),
            "can_redo": bool(studio.redo_stack),
        }


def edit_payload(studio: Studio, changes: dict[str, Any], lang: str) -> dict[str, Any]:
    """The answer to an edit: only what changed (see :meth:`Studio.changes
    <coverage.studio.session.Studio.changes>`), the figures and the legend."""
    summary = studio.summary()
    opened = [studio.stations[k] for k in changes["opened"]]
    stats = studio._snap.facilities
    return {
        "op": changes["op"],
        "version": changes["version"],
        "demand": changes["demand"],
        "closed": changes["closed"],
        # a large plan's answer leaves the new service areas to a second request (/api/service_areas):
        # the figures and colours come back first
        "opened": station_payload(studio, opened, stats, areas=len(stats) <= INLINE_AREAS),
        "facilities": {k: list(v) for k, v in changes["facilities"].items()},
        "zones": zone_payload(changes["zones"]),
        "figures": summary_payload(summary, lang),
        "legend": legend_html(studio, summary, lang),
        "can_undo": bool(studio.undo_stack),
        "can_redo": bool(studio.redo_stack),
    }
