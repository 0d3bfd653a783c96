"""Self-contained map pages that work without internet (离线地图).

Folium pages load Leaflet, jQuery, Bootstrap and the plugins' scripts and stylesheets from
public CDNs, so on a government intranet without internet they stay blank. :func:`inline_assets`
replaces every ``<script src>`` and ``<link rel="stylesheet">`` of a rendered Folium page by
the file's content, taken from the copies shipped in ``coverage/publish/static`` (fetched from the npm
registry at the versions Folium 0.20 references; see ``coverage/publish/static/README.md``). Images and
fonts that the stylesheets reference become ``data:`` URIs.

Rules
-----
* A referenced URL without a shipped copy raises :class:`OfflineAssetError`, so no map is
  written that silently needs the internet.
* Icon assets (Leaflet.awesome-markers, Font Awesome) are embedded only when the page uses
  icon markers; Bootstrap 3 Glyphicons and Folium's icon-rotation stylesheet are not shipped,
  so a page that uses them raises :class:`OfflineAssetError`.
* Of a font's formats only WOFF2 (or else WOFF) is embedded; ``@font-face`` rules that repeat
  an already embedded font file (Font Awesome's v4/v5 family-name aliases) are left out.
* Every shipped file is checked against the SHA-256 in ``coverage/publish/static/manifest.json``.
* The result is a pure function of the page and the shipped files (byte-identical output).

Basemap tiles (``L.tileLayer``) still need a network connection; a warning is logged.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import logging
import posixpath
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import OfflineAssetError

__all__ = ["ASSETS", "STATIC_DIR", "Asset", "OfflineAssetError", "asset_for", "inline_assets"]

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().with_name("static")


@dataclass(frozen=True)
class Asset:
    """One script or stylesheet that Folium pages reference.

    Parameters
    ----------
    url
        The URL as Folium writes it.
    path
        The shipped copy, relative to ``coverage/publish/static``; None when there is none.
    needed_if
        Regular expression searched in the page (without its script and stylesheet links);
        the asset is embedded only if it matches. None: always embedded.
    note
        Why the asset is conditional or not shipped (shown in errors and logs).
    """

    url: str
    path: str | None
    needed_if: str | None = None
    note: str = ""


_AWESOME_USED = r"L\.AwesomeMarkers\.icon\("
_FA_USED = r'"prefix":\s*"fa|class=\\?"[^"<>]*\bfa-[a-z]'
_GLYPH_USED = r'"prefix":\s*"glyphicon|class=\\?"[^"<>]*\bglyphicon\b'
_ROTATED = r'"extraClasses":\s*"[^"]*\bfa-rotate-(?!0\b)\d'

_JSD = "https://cdn.jsdelivr.net"
ASSETS: tuple[Asset, ...] = (
    Asset(f"{_JSD}/npm/leaflet@1.9.3/dist/leaflet.js", "leaflet/1.9.3/leaflet.js"),
    Asset(f"{_JSD}/npm/leaflet@1.9.3/dist/leaflet.css", "leaflet/1.9.3/leaflet.css"),
    Asset("https://code.jquery.com/jquery-3.7.1.min.js", "jquery/3.7.1/jquery.min.js"),
    Asset(
        f"{_JSD}/npm/bootstrap@5.2.2/dist/js/bootstrap.bundle.min.js",
        "bootstrap/5.2.2/js/bootstrap.bundle.min.js",
    ),
    Asset(
        f"{_JSD}/npm/bootstrap@5.2.2/dist/css/bootstrap.min.css",
        "bootstrap/5.2.2/css/bootstrap.min.css",
    ),
    Asset(
        "https://cdnjs.cloudflare.com/ajax/libs/Leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.js",
        "leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.js",
        _AWESOME_USED,
        "icon markers (folium.Icon)",
    ),
    Asset(
        "https://cdnjs.cloudflare.com/ajax/libs/Leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.css",
        "leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.css",
        _AWESOME_USED,
        "icon markers (folium.Icon)",
    ),
    Asset(
        f"{_JSD}/npm/@fortawesome/fontawesome-free@6.2.0/css/all.min.css",
        "fontawesome-free/6.2.0/css/all.min.css",
        _FA_USED,
        "Font Awesome icons",
    ),
    Asset(
        "https://netdna.bootstrapcdn.com/bootstrap/3.0.0/css/bootstrap-glyphicons.css",
        None,
        _GLYPH_USED,
        "Bootstrap 3 Glyphicons are not shipped (not on the npm registry at 3.0.0); "
        "use Font Awesome icons, folium.Icon(prefix='fa', icon=...)",
    ),
    Asset(
        f"{_JSD}/gh/python-visualization/folium/folium/templates/leaflet.awesome.rotate.min.css",
        None,
        _ROTATED,
        "Folium's icon-rotation stylesheet is not shipped; use unrotated icons (angle=0)",
    ),
    Asset(
        f"{_JSD}/npm/leaflet.fullscreen@3.0.0/Control.FullScreen.min.js",
        "leaflet.fullscreen/3.0.0/Control.FullScreen.js",
    ),
    Asset(
        f"{_JSD}/npm/leaflet.fullscreen@3.0.0/Control.FullScreen.css",
        "leaflet.fullscreen/3.0.0/Control.FullScreen.css",
    ),
    Asset(
        f"{_JSD}/gh/ljagis/leaflet-measure@2.1.7/dist/leaflet-measure.min.js",
        "leaflet-measure/2.1.7/leaflet-measure.min.js",
    ),
    Asset(
        f"{_JSD}/gh/ljagis/leaflet-measure@2.1.7/dist/leaflet-measure.min.css",
        "leaflet-measure/2.1.7/leaflet-measure.css",
    ),
)
_BY_URL = {a.url.split(":", 1)[1]: a for a in ASSETS}  # keyed without the scheme

# Leaflet finds its default marker images through a CSS path; with data: URIs it cannot,
# so the embedded page sets them directly (only folium.Marker without an icon uses them).
_ICON_FIX = (
    "L.Icon.Default.imagePath='';L.Icon.Default.mergeOptions({{iconUrl:'{0}',"
    "iconRetinaUrl:'{1}',shadowUrl:'{2}'}});"
)
_LEAFLET_IMAGES = ("marker-icon.png", "marker-icon-2x.png", "marker-shadow.png")

_TAG = re.compile(
    r'<script src="(?P<js>[^"<>]+)"></script>|<link rel="stylesheet" href="(?P<css>[^"<>]+)"\s*/?>'
)
_ANY_EXTERNAL = re.compile(r"<script\b[^>]*\bsrc\s*=|<link\b[^>]*\bhref\s*=", re.IGNORECASE)
_SOURCE_MAP = re.compile(r"/\*# sourceMappingURL=[^*]*\*/|//# sourceMappingURL=\S*")
_FONT_FACE = re.compile(r"@font-face\s*\{[^}]*\}")
_FONT_SRC = re.compile(r"src\s*:\s*([^;}]+)")
_SRC_ITEM = re.compile(
    r"""url\(\s*(['"]?)([^'")]+)\1\s*\)\s*(?:format\(\s*(['"]?)([^'")]+)\3\s*\))?"""
)
_CSS_URL = re.compile(r"""url\(\s*(['"]?)(.*?)\1\s*\)""")
_SCHEME = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*:|//)")
_MIME = {
    ".png": "image/png", ".svg": "image/svg+xml", ".gif": "image/gif", ".jpg": "image/jpeg",
    ".woff2": "font/woff2", ".woff": "font/woff", ".ttf": "font/ttf",
}  # fmt: skip
_FONT_PREFERENCE = ("woff2", "woff")


def asset_for(url: str) -> Asset | None:
    """The :class:`Asset` entry of a script or stylesheet URL (http or https), or None."""
    _, sep, rest = url.partition(":")
    return _BY_URL.get(rest) if sep else None


# --------------------------------------------------------------------------- shipped files
@functools.lru_cache(maxsize=1)
def _manifest() -> dict[str, dict[str, str]]:
    path = STATIC_DIR / "manifest.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError) as exc:
        raise OfflineAssetError(
            f"{path}: cannot read the list of shipped map assets ({exc}). "
            "Fix: reinstall yanglao-coverage, or save the map with offline=False."
        ) from exc


@functools.lru_cache(maxsize=64)
def _read(rel: str) -> bytes:
    """A shipped file's bytes, checked against the manifest's SHA-256."""
    entry = _manifest().get(rel)
    path = STATIC_DIR / rel
    if entry is None or not path.is_file():
        raise OfflineAssetError(
            f"{path}: map asset is not shipped. Fix: reinstall yanglao-coverage, or save "
            "the map with offline=False (it then needs internet)."
        )
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != entry["sha256"]:
        raise OfflineAssetError(
            f"{path}: map asset differs from the shipped version (SHA-256 mismatch). "
            "Fix: reinstall yanglao-coverage."
        )
    return data


def _data_uri(rel: str) -> str:
    mime = _MIME.get(posixpath.splitext(rel)[1].lower())
    if mime is None:
        raise OfflineAssetError(f"{rel}: no data: URI type for this kind of file.")
    return f"data:{mime};base64," + base64.b64encode(_read(rel)).decode("ascii")


def _resolve(css_rel: str, ref: str) -> str:
    """Shipped path of a stylesheet's relative ``url()`` reference."""
    clean = ref.split("#", 1)[0].split("?", 1)[0]
    rel = posixpath.normpath(posixpath.join(posixpath.dirname(css_rel), clean))
    if rel.startswith("../") or rel not in _manifest():
        raise OfflineAssetError(
            f"{css_rel}: references {ref!r}, which is not shipped in coverage/publish/static. "
            "Fix: add the file (and its SHA-256 to manifest.json), or save with offline=False."
        )
    return rel


def _reduce_fonts(css: str) -> str:
    """Keep one format per ``@font-face`` and drop rules that repeat an embedded font file."""
    seen: set[str] = set()

    def block(match: re.Match[str]) -> str:
        text = match.group(0)
        src = _FONT_SRC.search(text)
        if src is None:
            return text
        items = [
            (m.group(0), m.group(2), (m.group(4) or "").lower())
            for m in _SRC_ITEM.finditer(src.group(1))
        ]
        if not items:
            return text
        ranked = sorted(
            items,
            key=lambda it: _FONT_PREFERENCE.index(it[2]) if it[2] in _FONT_PREFERENCE else 9,
        )
        chosen = ranked[0]
        if chosen[1] in seen:
            return ""
        seen.add(chosen[1])
        return text[: src.start(1)] + chosen[0] + text[src.end(1) :]

    return _FONT_FACE.sub(block, css)


def _css_text(rel: str) -> str:
    css = _SOURCE_MAP.sub("", _read(rel).decode("utf-8"))
    css = _reduce_fonts(css)

    def url(match: re.Match[str]) -> str:
        ref = match.group(2).strip()
        if not ref or ref.startswith(("data:", "#")):
            return match.group(0)
        if _SCHEME.match(ref):
            raise OfflineAssetError(
                f"{rel}: references the remote file {ref!r}, which would need internet. "
                "Fix: ship a copy in coverage/publish/static, or save with offline=False."
            )
        return f'url("{_data_uri(_resolve(rel, ref))}")'

    css = _CSS_URL.sub(url, css)
    return re.sub(r"</(style)", r"<\\/\1", css, flags=re.IGNORECASE)


def _js_text(rel: str) -> str:
    js = _SOURCE_MAP.sub("", _read(rel).decode("utf-8"))
    # "</script" or "<!--" would end or confuse the inline script; both can only occur in
    # strings, regular expressions or comments, where "<\/" and "<\!" mean the same.
    js = re.sub(r"</(script)", r"<\\/\1", js, flags=re.IGNORECASE)
    return js.replace("<!--", "<\\!--")


@functools.lru_cache(maxsize=32)
def _inline_html(url: str) -> str:
    asset = asset_for(url)
    if asset is None or asset.path is None:
        raise OfflineAssetError(f"{url}: no offline copy is shipped.")
    rel = asset.path
    if rel.endswith(".css"):
        return f"<style>/* {posixpath.basename(rel)} */\n{_css_text(rel)}\n</style>"
    text = f"<script>/* {posixpath.basename(rel)} */\n{_js_text(rel)}\n</script>"
    if rel.endswith("/leaflet.js"):
        base = posixpath.dirname(rel) + "/images/"
        fix = _ICON_FIX.format(*(_data_uri(base + name) for name in _LEAFLET_IMAGES))
        text += f"\n<script>{fix}</script>"
    return text


# --------------------------------------------------------------------------- public API
def inline_assets(page: str) -> str:
    """Embed every script and stylesheet a rendered Folium page links to.

    Parameters
    ----------
    page
        The HTML of a rendered Folium figure (``m.get_root().render()``).

    Returns
    -------
    str
        The same page with each ``<script src=...>`` / ``<link rel="stylesheet" ...>``
        replaced by an inline ``<script>`` / ``<style>`` holding the shipped file (images and
        fonts as ``data:`` URIs); assets the page does not need are left out, repeated links
        are embedded once.

    Raises
    ------
    OfflineAssetError
        A script or stylesheet is not shipped (the message lists every such URL and what to
        do), a link has a form Folium does not write, or a shipped file is missing or
        corrupt.
    """
    links = list(_TAG.finditer(page))
    if len(_ANY_EXTERNAL.findall(page)) != len(links):
        raise OfflineAssetError(
            "map page: found a <script src> or <link href> element in a form that cannot be "
            "embedded, so the page would need internet. Fix: save with offline=False, or "
            "add the element through Folium (JavascriptLink / CssLink)."
        )
    rest = _TAG.sub("", page)
    missing: list[str] = []
    done: set[str] = set()

    def replace(match: re.Match[str]) -> str:
        url = (match.group("js") or match.group("css")).replace("&amp;", "&")
        asset = asset_for(url)
        if asset is None:
            missing.append(f"{url} (unknown to yanglao-coverage)")
            return match.group(0)
        if asset.needed_if is not None and not re.search(asset.needed_if, rest):
            logger.debug("offline map: %s not needed (%s), left out", url, asset.note)
            return ""
        if asset.path is None:
            missing.append(f"{url} ({asset.note})")
            return match.group(0)
        if asset.url in done:
            return ""
        done.add(asset.url)
        return _inline_html(asset.url)

    out = _TAG.sub(replace, page)
    if missing:
        raise OfflineAssetError(
            f"map page: {len(missing)} script(s)/stylesheet(s) have no offline copy: "
            + "; ".join(missing)
            + ". Fix: remove the plugin or icon that needs them, or save with offline=False "
            "(the map then needs internet)."
        )
    if re.search(r"\bL\.tileLayer\(", rest):
        logger.warning(
            "offline map: the basemap tiles still need a network connection; "
            "use basemap 'none' for intranets without internet"
        )
    logger.debug("offline map: embedded %d asset(s)", len(done))
    return out
