"""HTML and text builders of the audit map: escaping, number formats, popups, legend, CSS.

Everything here returns trusted HTML strings: every user-supplied value (names, ids, zone
names, title, metadata) goes through :func:`esc` first.

Folium puts popup and tooltip HTML inside JavaScript template literals (backquotes) and
GeoJSON tooltip/popup values into ``innerHTML`` without escaping, so :func:`esc` also replaces
backquote, ``$`` and backslash with character references: the escaped text is inert in HTML
text, in attributes and inside template literals.

Template injection: branca's ``MacroElement.render`` (and folium's ``Popup.render``) wrap each
element's *rendered* output in ``Element(text)``, which makes that text a new Jinja template,
rendered again with the figure. A name such as ``{{ 6*7 }}`` would show ``42``, and
``{{ cycler.__init__.__globals__.os.popen(...) }}`` would run a shell command. So :func:`esc`
also encodes ``{`` and ``}`` as ``&#123;`` / ``&#125;``: every Jinja delimiter (``{{``, ``{%``,
``{#``) starts with ``{``, so escaped text can never open a tag, under any number of render
passes, and the browser still shows the literal braces. :func:`check_inert` checks a whole
element tree before it is rendered, so a caller that forgot :func:`esc` gets an error instead
of an evaluated template.
"""

from __future__ import annotations

import html
import json
import math
import re
from typing import Any

import pandas as pd
from branca.element import Element, MacroElement, Template

from ..engine.whatif import STATUS_BEYOND, STATUS_OK, STATUS_UNREACHABLE
from ..errors import ParameterError

__all__ = [
    "COLOURS",
    "LEGEND_CSS",
    "OSM_ATTR",
    "OSM_DATA_ATTR",
    "TIANDITU_ATTR",
    "HtmlSnippet",
    "check_inert",
    "demand_category",
    "demand_popup",
    "esc",
    "facility_popup",
    "flag",
    "is_missing",
    "is_osm",
    "legend_html",
    "num",
    "popup_html",
    "short",
    "to_float",
]

OSM_ATTR = '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'
OSM_DATA_ATTR = (
    'Data &copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> '
    "contributors (ODbL)"
)
TIANDITU_ATTR = '&copy; <a href="https://www.tianditu.gov.cn/">天地图 Tianditu</a>'

COLOURS = {
    "both": "#1a9850", "partial": "#f39c12", "none": "#d73027", "unreachable": "#8c8c8c",
    "false": "#7b2cbf", "facility": "#1f3b99", "road": "#9a9a9a", "radius": "#2b7bba",
    "time": "#00a087",
}  # fmt: skip

# --------------------------------------------------------------------------- escaping, numbers
# backquote, "$" and backslash: JS template literals; braces: Jinja (see the module docstring)
_JS_SAFE = str.maketrans(
    {"`": "&#96;", "$": "&#36;", "\\": "&#92;", "{": "&#123;", "}": "&#125;"}
)
# the start of a Jinja tag: "{{", "{%" or "{#" (line statements are off in branca/folium)
_JINJA_OPEN = re.compile(r"\{[{%#]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")


def is_missing(value: Any) -> bool:
    """Whether ``value`` is None, NaN, ``pd.NA`` or NaT (array-likes are not missing)."""
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # array-like
        return False


def esc(value: Any, *, missing: str = "—") -> str:
    """Escape ``value`` so it is inert in HTML, attributes, JS template literals and Jinja.

    The one gate for user text on its way into a Folium/branca element: ``& < > " '``,
    backquote, ``$``, backslash, ``{`` and ``}`` become character references (the browser
    shows them literally; no render pass can evaluate them).

    Parameters
    ----------
    value
        Any value; it is converted with ``str`` and control characters become spaces.
    missing
        What a missing value (None, NaN, ``pd.NA``) becomes.

    Returns
    -------
    str
        The escaped text.
    """
    if is_missing(value):
        return missing
    text = _CONTROL.sub(" ", str(value))
    return html.escape(text, quote=True).translate(_JS_SAFE)


def check_inert(root: Element) -> None:
    """Refuse to render an element tree whose data could open a Jinja tag.

    Folium renders each element's output a second time as a Jinja template (see the module
    docstring), so any data string holding ``{{``, ``{%`` or ``{#`` (a name that did not go
    through :func:`esc`) would be evaluated. This walks every element of ``root``'s tree
    (children and elements held in attributes) and every public attribute value, including
    nested dicts and lists such as GeoJSON feature properties, before anything is rendered.
    Templates themselves (``_template``) are not data and are not checked.

    Parameters
    ----------
    root
        The figure (``m.get_root()``) or any element.

    Raises
    ------
    ParameterError
        A data value holds a Jinja delimiter.
    """
    seen: set[int] = set()
    stack: list[Element] = [root]
    while stack:
        el = stack.pop()
        if id(el) in seen:
            continue
        seen.add(id(el))
        stack.extend(el._children.values())
        for attr, val in vars(el).items():
            if attr.startswith("_"):
                continue
            if isinstance(val, Element):
                stack.append(val)
                continue
            if isinstance(val, str):
                text = val
            elif isinstance(val, dict | list | tuple):
                # structural "{" in JSON is always followed by '"' or "}", so any match
                # comes from a string inside
                text = json.dumps(val, default=str, skipkeys=True)
            else:
                continue
            found = _JINJA_OPEN.search(text)
            if found:
                snippet = text[max(0, found.start() - 20) : found.start() + 30]
                raise ParameterError(
                    f"map element {el.get_name()!r}: attribute {attr!r} holds unescaped text "
                    f"that Folium would evaluate as a Jinja template ({snippet!r}). "
                    "Fix: pass every user-supplied string through coverage.publish._html.esc."
                )


def to_float(value: Any) -> float:
    """``float(value)``, or NaN when that fails."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def num(value: Any, digits: int = 0, *, unit: str = "") -> str:
    """Format a number with thousands separators (``—`` when missing or infinite)."""
    x = to_float(value)
    return f"{x:,.{digits}f}{unit}" if math.isfinite(x) else "—"


def short(value: Any) -> str:
    """Short number for labels (1000.0 -> "1000", 0.8 -> "0.8"); non-numbers are escaped."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        return esc(value)
    return f"{x:.6g}" if math.isfinite(x) else "—"


def flag(value: Any) -> bool:
    """Truth value of ``value``; missing values are False."""
    return False if is_missing(value) else bool(value)


def is_osm(source: Any) -> bool:
    """Whether a data-source text names OpenStreetMap."""
    text = str(source).lower()
    return "openstreetmap" in text or re.search(r"\bosm\b", text) is not None


# --------------------------------------------------------------------------- popups
def demand_category(row: Any) -> str:
    """``"both"``, ``"partial"``, ``"none"`` or ``"unreachable"`` for a demand row."""
    if str(row.status) == STATUS_UNREACHABLE:
        return "unreachable"
    r, t = flag(row.covered_radius), flag(row.covered_time)
    return "both" if r and t else "partial" if r or t else "none"


def _yes_no(met: bool) -> str:
    return "✔ 满足 met" if met else "✘ 未满足 not met"


_STATUS = {
    STATUS_OK: "正常 ok",
    STATUS_UNREACHABLE: "<b>无法到达 unreachable</b> (离道路太远 too far from roads)",
    STATUS_BEYOND: "超出搜索范围 beyond cutoff",
}


def demand_popup(row: Any, meta: dict, *, show_weight: bool, has_zone: bool) -> dict[str, str]:
    """Popup rows (label -> escaped HTML value) of a demand point.

    Every point gets the same labels, so large layers can store the labels once.
    """
    rad, tim = short(meta["radius_m"]), short(meta["time_min"])
    status = str(row.status)
    dist = num(row.dist_m, 0, unit=" m")
    if status == STATUS_BEYOND:
        dist = "超出搜索范围 beyond cutoff"
    circle = "圆内 inside" if flag(row.within_circle) else "圆外 outside"
    if flag(row.false_coverage):
        circle += (
            f' → <b style="color:{COLOURS["false"]}">虚假覆盖 False coverage</b> (路网不达 road no)'
        )
    out = {"名称 Name": esc(row.name), "编号 ID": esc(row.id)}
    if has_zone:
        out["片区 Zone"] = esc(row.zone_name)
    out |= {
        "状态 Status": _STATUS.get(status, esc(status)),
        "最近设施 Nearest facility": "—" if status == STATUS_UNREACHABLE else esc(row.facility_name),
        "路网距离 Network distance": dist,
        "步行时间 Walking time": num(row.time_min, 1, unit=" min"),
        f"{rad} m 半径 radius rule": _yes_no(flag(row.covered_radius)),
        f"{tim}分钟 {tim}-min rule": _yes_no(flag(row.covered_time)),
        f"直线{rad} m圆 Straight-line circle": circle,
    }
    if show_weight:
        out["权重 Weight"] = num(row.weight, 1)
    return out


def facility_popup(row: Any, meta: dict, *, has_capacity: bool) -> dict[str, str]:
    """Popup rows (label -> escaped HTML value) of a facility."""
    rad, tim = short(meta["radius_m"]), short(meta["time_min"])
    out = {
        "名称 Name": esc(row.name),
        "编号 ID": esc(row.id),
        f"{rad} m 内覆盖 Covered within {rad} m": f"{num(row.n_covered_radius)} 点 points"
        f" (权重 weight {num(row.weight_covered_radius, 1)})",
        f"{tim}分钟内覆盖 Covered within {tim} min": f"{num(row.n_covered_time)} 点 points"
        f" (权重 weight {num(row.weight_covered_time, 1)})",
    }
    if has_capacity:
        out["容量 Capacity"] = num(row.capacity)
    return out


def popup_html(rows: dict[str, str]) -> str:
    """Marker popup: the first value in bold, then ``label: value`` lines."""
    items = list(rows.items())
    return "<br>".join([f"<b>{items[0][1]}</b>"] + [f"{k}: {v}" for k, v in items[1:]])


# --------------------------------------------------------------------------- legend, title
class HtmlSnippet(MacroElement):
    """Trusted HTML/CSS snippets and an attribution (callers escape every user value).

    Parameters
    ----------
    css
        ``<style>`` element(s) for the page header.
    body
        HTML added to the page body.
    attribution
        HTML added to the map's attribution control ("" for none).
    white
        Whether the map background is white (no basemap).
    """

    _template = Template(
        "{% macro header(this, kwargs) %}{{ this.css }}{% if this.white %}<style>#"
        "{{ this._parent.get_name() }}{background:#ffffff}</style>{% endif %}{% endmacro %}"
        "{% macro html(this, kwargs) %}{{ this.body }}{% endmacro %}"
        "{% macro script(this, kwargs) %}{% if this.attribution %}"
        "{{ this._parent.get_name() }}.attributionControl.addAttribution("
        "{{ this.attribution|tojson }});{% endif %}{% endmacro %}"
    )

    def __init__(self, *, css: str, body: str, attribution: str, white: bool) -> None:
        super().__init__()
        self._name = "YanglaoHtml"
        self.css, self.body, self.attribution, self.white = css, body, attribution, white


def _share(part: tuple[int, float], summary: dict) -> str:
    n, w = part
    pct = 100.0 * n / summary["n"] if summary["n"] else math.nan
    text = f"{n:,} ({num(pct, 1)}%)"
    if summary["show_weight"] and summary["weight"] > 0:
        text += f", 权重 weight {num(100.0 * w / summary['weight'], 1)}%"
    return text


def legend_html(meta: dict, summary: dict, notes: list[str]) -> str:
    """The bilingual legend: colours with counts and shares, then every parameter.

    Parameters
    ----------
    meta
        The map metadata (see :class:`coverage.publish.maps.MapLayers`).
    summary
        Per-category ``(count, weight)`` pairs plus ``n``, ``weight`` and ``show_weight``.
    notes
        Trusted HTML notes shown in italics at the end.

    Returns
    -------
    str
        The legend ``<div>``.
    """
    rad, tim = short(meta["radius_m"]), short(meta["time_min"])
    source = esc(meta["source"])
    if is_osm(meta["source"]):
        source += " (&copy; OpenStreetMap contributors, ODbL)"

    def swatch(colour: str, ring: bool = False) -> str:
        fill = "transparent" if ring else colour
        return f'<span class="yl-sw" style="border-color:{colour};background:{fill}"></span>'

    rows = [
        f"<b>{esc(meta['title'])}</b>",
        f"{swatch(COLOURS['both'])}已覆盖 Covered: {rad} m &amp; {tim} min — {_share(summary['both'], summary)}",
        f"{swatch(COLOURS['partial'])}仅满足一项 One rule only — {_share(summary['partial'], summary)}",
        f"{swatch(COLOURS['none'])}未覆盖 Not covered — {_share(summary['none'], summary)}",
        f"{swatch(COLOURS['unreachable'])}无法到达 Unreachable — {_share(summary['unreachable'], summary)}",
        f"{swatch(COLOURS['false'], ring=True)}虚假覆盖 False coverage (直线{rad} m圆内但路网不达 "
        f"circle yes, road no) — {_share(summary['false'], summary)}",
        f"{swatch(COLOURS['facility'])}养老设施 Elderly-care facility",
        f"<hr>步行速度 Walking speed: {short(meta['speed_mps'])} m/s",
        f"覆盖半径 Radius: {rad} m (路网距离 network distance)",
        f"服务圈 Service circle: {tim} min = {num(meta['walk_limit_m'], 0)} m 步行 walk"
        f" (步行上限 walk limit)",
        f"坐标系 CRS (metric): {esc(meta['crs'])}",
        f"数据来源 Data source: {source}",
        f"日期 Date: {esc(meta['date'])}",
    ]
    rows += [f"<i>{note}</i>" for note in notes if note]
    return '<div class="yl-legend">' + "<br>".join(rows) + "</div>"


# z-index 690: above the map, below Leaflet's controls (800-1000), so an opened layer control
# stays readable.
# CJK-capable fonts first: Windows (Microsoft YaHei), macOS (PingFang), Linux (Noto/WenQuanYi).
_FONTS = (
    '"Microsoft YaHei","PingFang SC","Noto Sans CJK SC","WenQuanYi Micro Hei",'
    '"Source Han Sans SC",sans-serif'
)
LEGEND_CSS = f"""<style>
.yl-legend{{position:fixed;bottom:56px;left:10px;z-index:690;background:rgba(255,255,255,.93);
padding:8px 10px;border:1px solid #999;border-radius:4px;font:12px/1.45 {_FONTS};max-width:420px}}
.yl-legend hr{{margin:4px 0;border:0;border-top:1px solid #ccc}}
.yl-sw{{display:inline-block;width:10px;height:10px;border-radius:50%;border:2px solid;
margin-right:5px;vertical-align:middle}}
.yl-title{{position:fixed;top:10px;left:50%;transform:translateX(-50%);z-index:690;
background:rgba(255,255,255,.9);padding:4px 12px;border-radius:4px;font:bold 15px {_FONTS}}}
.leaflet-container,.leaflet-popup-content,.leaflet-tooltip{{font-family:{_FONTS}}}
</style>"""
