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
    "SHAPES",
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
    "parameter_rows",
    "popup_html",
    "short",
    "source_name",
    "svg_symbol",
    "swatch",
    "symbol",
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
    "time": "#00a087", "zone": "#555555", "terrain": "#8c510a",
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
    if hasattr(row, "terrain_time_min"):  # an audit on terrain (--dem): every row has it
        out["地形步行时间 Walking time on terrain"] = num(row.terrain_time_min, 1, unit=" min")
        out[f"地形{tim}分钟 {tim}-min rule on terrain"] = _yes_no(flag(row.covered_time_terrain))
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
    """The map's title and legend (trusted HTML: callers escape every user value), its CSS
    and an attribution.

    The legend's symbol rows can grow after the map is built (:meth:`add_symbol`: a
    layer added later gets its row too); the body is composed when the page is rendered.

    Parameters
    ----------
    css
        ``<style>`` element(s) for the page header.
    title
        The escaped map title (shown at the top and at the head of the legend).
    symbols
        Legend rows, one per layer symbol (:func:`symbol`).
    info
        Parameter rows after the symbols (rules, CRS, data source, date).
    notes
        Trusted HTML notes shown in italics at the end.
    attribution
        HTML added to the map's attribution control ("" for none).
    white
        Whether the map background is white (no basemap).
    """

    _template = Template(
        "{% macro header(this, kwargs) %}{{ this.css }}{% if this.white %}<style>#"
        "{{ this._parent.get_name() }}{background:#ffffff}</style>{% endif %}{% endmacro %}"
        "{% macro html(this, kwargs) %}{{ this.body() }}{% endmacro %}"
        "{% macro script(this, kwargs) %}{% if this.attribution %}"
        "{{ this._parent.get_name() }}.attributionControl.addAttribution("
        "{{ this.attribution|tojson }});{% endif %}{% endmacro %}"
    )

    def __init__(self, *, css: str, title: str, symbols: list[str], info: list[str], notes: list[str],
                 attribution: str, white: bool) -> None:  # fmt: skip
        super().__init__()
        self._name = "YanglaoHtml"
        self.css, self.title, self.attribution, self.white = css, title, attribution, white
        self.symbols, self.info, self.notes = list(symbols), list(info), [n for n in notes if n]

    def add_symbol(self, row: str) -> None:
        """Add a legend row (trusted HTML, see :func:`symbol`)."""
        self.symbols.append(row)

    def add_note(self, note: str) -> None:
        """Add a note (trusted HTML) at the end of the legend."""
        if note and note not in self.notes:
            self.notes.append(note)

    def body(self) -> str:
        """The title and the collapsible legend."""
        return f'<div class="yl-title">{self.title}</div>' + legend_html(self.title, self.symbols, self.info, self.notes)


# the map's point symbols as inline SVG (no font or image needed, the same on screen and in
# the legend): shape -> SVG element drawn in a 20 x 20 box
_SHAPES = {
    "star": '<polygon points="10,1 12.6,7.2 19.5,7.6 14.1,11.9 15.9,18.7 10,14.9 4.1,18.7 5.9,11.9 0.5,7.6 7.4,7.2"/>',
    "square": '<rect x="3" y="3" width="14" height="14"/>',
    "diamond": '<polygon points="10,1 19,10 10,19 1,10"/>',
    "triangle": '<polygon points="10,2 19,18 1,18"/>',
    "cross": '<path d="M4,4 L16,16 M16,4 L4,16" stroke-width="4" stroke-linecap="round"/>',
}
SHAPES = tuple(_SHAPES)


def svg_symbol(shape: str, fill: str, stroke: str, size: int = 20) -> str:
    """An inline SVG point symbol (``"star"``, ``"square"``, ``"diamond"``, ``"triangle"``,
    ``"cross"``) of ``size`` pixels; colours are the caller's constants, never user text."""
    if shape not in _SHAPES:
        raise ParameterError(f"shape={shape!r} is not one of {', '.join(_SHAPES)}")
    paint = f'fill="none" stroke="{fill}"' if shape == "cross" else f'fill="{fill}" stroke="{stroke}" stroke-width="1.5"'
    return (f'<svg class="yl-svg" width="{size}" height="{size}" viewBox="0 0 20 20" '
            f'xmlns="http://www.w3.org/2000/svg"><g {paint}>{_SHAPES[shape]}</g></svg>')  # fmt: skip


def swatch(kind: str, colour: str, *, fill: str | None = None) -> str:
    """The legend symbol of a layer: ``"dot"`` (filled circle), ``"ring"``, ``"line"``,
    ``"dash"`` (dashed line), ``"area"`` (outlined, lightly filled) or a :data:`SHAPES`
    point symbol (``fill`` its inside colour, ``colour`` its outline)."""
    if kind in _SHAPES:
        return svg_symbol(kind, fill or colour, colour, 16)
    styles = {
        "dot": ("yl-sw", f"border-color:{colour};background:{fill or colour}"),
        "ring": ("yl-sw", f"border-color:{colour};background:transparent"),
        "line": ("yl-ln", f"border-top:3px solid {colour}"),
        "dash": ("yl-ln", f"border-top:3px dashed {colour}"),
        "area": ("yl-ar", f"border-color:{colour};background:{fill or colour}33"),
    }
    if kind not in styles:
        raise ParameterError(f"legend symbol {kind!r} is not one of {', '.join([*styles, *_SHAPES])}")
    cls, style = styles[kind]
    return f'<span class="{cls}" style="{style}"></span>'


def symbol(kind: str, colour: str, label: str, *, fill: str | None = None) -> str:
    """A legend row: the symbol (:func:`swatch`) and ``label`` (escaped here)."""
    return f'<span class="yl-row">{swatch(kind, colour, fill=fill)}{esc(label)}</span>'


def source_name(source: Any) -> str:
    """The data source as file names only (``/home/me/data/roads.osm.pbf`` -> ``roads.osm.pbf``):
    a map or figure attached to a submission never shows a local folder.

    >>> source_name("/srv/in/county.osm.pbf + C:\\\\Users\\\\x\\\\edges.csv")
    'county.osm.pbf + edges.csv'
    >>> source_name("generated model county (模型县, not a real place)")
    'generated model county (模型县, not a real place)'
    """
    if is_missing(source):
        return "—"
    text = str(source)
    # a path-like word: something with a slash or backslash and no spaces
    return re.sub(r"[^\s+,;()]*[/\\][^\s+,;()]*", lambda mt: re.split(r"[/\\]", mt.group(0).rstrip("/\\"))[-1], text)


_TOGGLE_JS = (
    "var l=this.parentNode.parentNode;var c=l.classList.toggle('yl-collapsed');"
    "this.textContent=c?'展开 Show':'收起 Hide';this.setAttribute('aria-expanded',String(!c));"
)


def parameter_rows(meta: dict) -> list[str]:
    """The rules, CRS, data source (file names only) and date, as legend rows (a rule
    missing from ``meta`` is left out: plans that are no coverage audit have none)."""
    rad, tim = short(meta.get("radius_m")), short(meta.get("time_min"))
    source = esc(source_name(meta.get("source")))
    if is_osm(meta.get("source")):
        source += " (&copy; OpenStreetMap contributors, ODbL)"
    rows = []
    if "speed_mps" in meta:
        rows.append(f"步行速度 Walking speed: {short(meta['speed_mps'])} m/s")
    if "radius_m" in meta:
        rows.append(f"覆盖半径 Radius: {rad} m (路网距离 network distance)")
    if "time_min" in meta and "walk_limit_m" in meta:
        rows.append(f"服务圈 Service circle: {tim} min = {num(meta['walk_limit_m'], 0)} m 步行 walk (步行上限 walk limit)")
    return [
        *rows,
        f"坐标系 CRS (metric): {esc(meta.get('crs'))}",
        f"数据来源 Data source: {source}",
        f"日期 Date: {esc(meta.get('date'))}",
    ]


def legend_html(title: str, symbols: list[str], info: list[str], notes: list[str]) -> str:
    """The bilingual legend: a head with a hide/show button, the title, one row per layer
    symbol, the parameters and notes.

    Parameters
    ----------
    title
        The escaped map title.
    symbols
        Legend rows (:func:`symbol`), one per symbol drawn.
    info
        Parameter rows (:func:`parameter_rows`).
    notes
        Trusted HTML notes shown in italics at the end.

    Returns
    -------
    str
        The legend ``<div>``; its button collapses it to its head so it never has to hide
        data.
    """
    head = (f'<div class="yl-head"><b>图例 Legend</b><button type="button" class="yl-toggle" '
            f'aria-expanded="true" title="收起/展开图例 Hide/show the legend" onclick="{_TOGGLE_JS}">收起 Hide</button></div>')  # fmt: skip
    rows = [f"<b>{title}</b>", *symbols]
    body = "<br>".join(rows) + "<hr>" + "<br>".join([*info, *[f"<i>{n}</i>" for n in notes if n]])
    return f'<div class="yl-legend">{head}<div class="yl-body">{body}</div></div>'


# z-index 690: above the map, below Leaflet's controls (800-1000), so an opened layer control
# stays readable.
# CJK-capable fonts first: Windows (Microsoft YaHei), macOS (PingFang), Linux (Noto/WenQuanYi).
_FONTS = (
    '"Microsoft YaHei","PingFang SC","Noto Sans CJK SC","WenQuanYi Micro Hei",'
    '"Source Han Sans SC",sans-serif'
)
LEGEND_CSS = f"""<style>
.yl-legend{{position:fixed;bottom:58px;left:10px;z-index:690;background:rgba(255,255,255,.93);
padding:6px 10px 8px;border:1px solid #999;border-radius:4px;font:12px/1.45 {_FONTS};max-width:400px;
max-height:calc(100vh - 190px);overflow:auto}}
.yl-legend hr{{margin:4px 0;border:0;border-top:1px solid #ccc}}
.yl-head{{display:flex;justify-content:space-between;align-items:center;gap:12px}}
.yl-toggle{{font:12px {_FONTS};padding:1px 8px;border:1px solid #888;border-radius:3px;background:#f4f4f4;cursor:pointer}}
.yl-collapsed .yl-body{{display:none}}
.yl-row{{white-space:normal}}
.yl-sw{{display:inline-block;width:10px;height:10px;border-radius:50%;border:2px solid;
margin-right:5px;vertical-align:middle}}
.yl-ln{{display:inline-block;width:20px;height:0;margin-right:5px;vertical-align:middle}}
.yl-ar{{display:inline-block;width:16px;height:11px;border:2px solid;margin-right:5px;vertical-align:middle}}
.yl-svg{{vertical-align:middle;margin-right:4px}}
.yl-divicon{{background:none;border:none}}
.yl-title{{position:fixed;top:10px;left:50%;transform:translateX(-50%);z-index:690;
background:rgba(255,255,255,.9);padding:4px 12px;border-radius:4px;font:bold 15px {_FONTS};
max-width:calc(100vw - 520px);text-align:center}}
.leaflet-container,.leaflet-popup-content,.leaflet-tooltip{{font-family:{_FONTS}}}
</style>"""
