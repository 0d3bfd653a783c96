"""Arguments and inputs every command shares: coordinate-system flags, the audit rules
(``--radius --minutes --speed --snap-tolerance --search-limit``) and reading an input file in its
coordinate system. Used by :mod:`.commands` and :mod:`.workflows`."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from ..config import DEFAULT_SPEED_MPS, AuditConfig

__all__ = [
    "COORD_SYSTEM_HELP",
    "add_common_flags",
    "add_coord_system_flags",
    "add_map_flags",
    "add_network_flags",
    "add_output_flags",
    "add_report_flags",
    "add_rule_flags",
    "check_shared_flags",
    "config_from_args",
    "map_paths",
    "read_input",
    "warn_unused_flags",
    "writer_keywords",
]

_DEFAULT = AuditConfig()

COORD_SYSTEM_HELP = (
    "coordinate system of all point and zone files: wgs84 (GPS, OSM, Tianditu, CGCS2000), gcj02 "
    "(Amap, Tencent), bd09 (Baidu); default: WGS-84 for tables, the file's own CRS for "
    "GeoJSON/GeoPackage (gcj02/bd09 apply on top of an EPSG:4326 file; a projected file is an "
    "error). An input's own --<input>-coord-system overrides it"
)


def add_coord_system_flags(g: Any, inputs: list[str], *, default: bool = True) -> None:
    """Add ``--coord-system`` (``default=True``) and one ``--<input>-coord-system`` per input."""
    if default:
        g.add_argument("--coord-system", default=None, help=COORD_SYSTEM_HELP)
    for name in inputs:
        g.add_argument(
            f"--{name}-coord-system",
            default=None,
            metavar="SYSTEM",
            help=f"coordinate system of --{name} (wgs84, gcj02, bd09); overrides --coord-system, and may "
            "declare gcj02/bd09 for an EPSG:4326 file",
        )


def add_rule_flags(p: argparse.ArgumentParser) -> Any:
    """Add the ``rules`` group: ``--radius``, ``--minutes``, ``--speed``, ``--snap-tolerance``
    (defaults those of :class:`~coverage.config.AuditConfig`); returns the group."""
    g = p.add_argument_group("rules")
    d = _DEFAULT
    g.add_argument("--radius", type=float, default=d.radius_m, help=f"coverage radius, network metres (default {d.radius_m:g})")
    g.add_argument("--minutes", type=float, default=d.time_min, help=f"service circle, walking minutes (default {d.time_min:g})")
    g.add_argument("--speed", type=float, default=DEFAULT_SPEED_MPS,
                   help=f"older people's walking speed, m/s (default {DEFAULT_SPEED_MPS:g}; Asher et al. 2012)")  # fmt: skip
    g.add_argument("--snap-tolerance", type=float, default=d.snap_tolerance_m,
                   help=f"max distance from a road, m (default {d.snap_tolerance_m:g})")  # fmt: skip
    g.add_argument("--search-limit", type=float, default=None, metavar="M",
                   help=f"road distance to the nearest facility is measured up to this far, also for homes beyond "
                   f"the rules (default {d.search_cutoff_m:g} m: the larger of 10000 and 3 x the farther rule)")  # fmt: skip
    return g


def config_from_args(args: argparse.Namespace) -> AuditConfig:
    """The audit rules given by :func:`add_rule_flags` (checked: bad values raise here)."""
    return AuditConfig(radius_m=args.radius, time_min=args.minutes, speed_mps=args.speed, snap_tolerance_m=args.snap_tolerance,
                       cutoff_m=getattr(args, "search_limit", None))  # fmt: skip


def read_input(args: argparse.Namespace, attr: str, kind: str | None = None) -> Any:
    """Read the file given to ``--<attr>``: points of ``kind``, or zones (``kind=None``).

    Its coordinate system is ``--<attr>-coord-system``, else ``--coord-system``; a file
    with a CRS of its own takes a GCJ-02/BD-09 declaration only when that CRS is WGS-84
    longitude/latitude (else :class:`~coverage.errors.CRSError`). The flag is kept in
    ``attrs["coord_flag"]`` for the messages that suggest another system.
    """
    from ..inputs.points import read_points, read_zones

    path = getattr(args, attr)
    flag = f"--{attr.replace('_', '-')}-coord-system"
    system = getattr(args, f"{attr}_coord_system", None) or getattr(args, "coord_system", None)
    gdf = read_zones(path, coord_system=system) if kind is None else read_points(path, kind=kind, coord_system=system)
    gdf.attrs["coord_flag"] = flag
    return gdf


# --------------------------------------------------------------------------- flags every command shares
def add_network_flags(g: Any) -> None:
    """``--network``, ``--edges``, ``--place`` and ``--crs`` (the road network and the metric CRS)."""
    g.add_argument("--network", help=".osm/.osm.bz2/.osm.pbf/.graphml, or a node table with --edges; omitted (with "
                   "the other inputs): the embedded model county")  # fmt: skip
    g.add_argument("--edges", help="edge table (u, v, length_m) for a node-table --network")
    g.add_argument("--place", help="download the walking network for a place name with osmnx (needs internet)")
    g.add_argument("--crs", help="metric CRS to work in, e.g. EPSG:32649 (default: the UTM zone of the network)")


def add_output_flags(p: argparse.ArgumentParser, out: str, *, what: str = "output folder") -> None:
    """``--out`` (default ``out``), ``--overwrite`` and ``--date``."""
    p.add_argument("--out", default=out, help=f"{what}; the whole package of the run goes here, map included (default {out})")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs (without it nothing is replaced)")
    p.add_argument("--date", help="date recorded in the outputs, YYYY-MM-DD (default today); the same inputs and date "
                   "give the same files")  # fmt: skip


def add_common_flags(p: argparse.ArgumentParser) -> None:
    """``--debug`` and ``--quiet``."""
    p.add_argument("--debug", action="store_true", help="show tracebacks and debug logging")
    p.add_argument("--quiet", action="store_true", help="only warnings and errors (no progress)")


_BASEMAPS = ("none", "osm", "tianditu")


def _basemap_choice(value: str) -> str:
    v = value.strip().lower()
    if v not in (*_BASEMAPS, "auto"):  # "auto": the old default, kept as a hidden choice
        raise argparse.ArgumentTypeError(f"invalid choice: {value!r} (choose from {', '.join(_BASEMAPS)})")
    return v


def add_map_flags(p: Any, *, extra_map: bool = True) -> None:
    """``--basemap`` (none, osm, tianditu; default none), ``--tianditu-key`` and, with
    ``extra_map``, ``--map`` (a copy of the interactive map elsewhere)."""
    p.add_argument("--basemap", type=_basemap_choice, default="none", metavar="{none,osm,tianditu}",
                   help="background of the maps: none (default; works offline), osm (OpenStreetMap tiles) or "
                   "tianditu (天地图, needs --tianditu-key)")  # fmt: skip
    p.add_argument("--tianditu-key", help="Tianditu browser key for --basemap tianditu")
    if extra_map:
        p.add_argument("--map", help="also copy the interactive map to this file (it is always written inside --out)")


#: report flags -> the writers' keyword arguments they are forwarded to
REPORT_KEYWORDS = {"pdf": "pdf", "report": "report", "title": "title", "organisation": "organisation",
                   "author": "author", "lang": "lang", "plan_basis": "plan_basis"}  # fmt: skip
#: map flags -> keyword arguments
MAP_KEYWORDS = {"basemap": "basemap", "tianditu_key": "tianditu_key"}
#: the report's cover flags, passed as one ``options=ReportOptions(...)`` to writers that take ``options``
COVER_FLAGS = ("title", "organisation", "author", "lang", "plan_basis")


def add_report_flags(p: Any, *, always: bool = False) -> None:
    """``--report``, ``--pdf`` and the report's cover: ``--title``, ``--organisation``,
    ``--author``, ``--lang``, ``--plan-basis``. ``always``: the command writes its report
    and workbook anyway (the workflows), ``--report`` is accepted for one command line."""
    p.add_argument("--report", action="store_true",
                   help="write the HTML report and the Excel workbook into --out"
                   + (" (this command always writes them)" if always else ""))  # fmt: skip
    p.add_argument("--pdf", action="store_true", help="also print the report as PDF (implies --report; needs Chromium)")
    p.add_argument("--title", help="title of the report (default: the command's own)")
    p.add_argument("--organisation", "--organization", help="organisation named on the report's cover (编制单位)")
    p.add_argument("--author", help="author named on the report's cover (编制人)")
    p.add_argument("--lang", choices=["zh", "both"], help="language of the report: zh (Chinese) or both (Chinese and "
                   "English; the default)")  # fmt: skip
    p.add_argument("--plan-basis", metavar="KEY_OR_FILE",
                   help="the plan the rules come from: a document key (e.g. pingyin2021) or a file describing it")


#: suffixes that make a --plan-basis value a file (other text is a document key or name)
_BASIS_FILES = (".txt", ".md", ".csv", ".json", ".yaml", ".yml")


def check_shared_flags(args: argparse.Namespace, *, embedded: bool = True) -> str:
    """Check the map and report flags before any work; returns the basemap to draw.

    ``--basemap tianditu`` needs ``--tianditu-key``; a ``--plan-basis`` that names a file
    (a text suffix such as ``.txt``, or a folder) must exist; other text is a document key
    or name (``pingyin2021``, ``某县规划（2023）第3.2条``). ``--pdf`` sets ``--report``.
    """
    from ..errors import InputFileError, ParameterError

    if getattr(args, "pdf", False):
        args.report = True
    basemap = getattr(args, "basemap", "none") or "none"
    if basemap == "auto":
        basemap = "none" if embedded else "osm"
    if basemap == "tianditu" and not ((getattr(args, "tianditu_key", None) or "").strip()):
        raise ParameterError("--basemap tianditu needs a Tianditu key. Fix: pass --tianditu-key KEY (a browser key from the "
                             "Tianditu console), or choose --basemap osm / none.")  # fmt: skip
    basis = getattr(args, "plan_basis", None)
    named_file = basis and (Path(basis).suffix.lower() in _BASIS_FILES or any(sep in basis for sep in "/\\"))
    if named_file and not Path(basis).is_file():
        raise InputFileError(f"{basis}: 1 problem: file not found (given to --plan-basis). Fix: check the path, or give a "
                             "document key such as pingyin2021.")  # fmt: skip
    return basemap


def writer_keywords(writer: Any, args: argparse.Namespace, *, basemap: str | None = None,
                    only: tuple[str, ...] | None = None) -> dict[str, Any]:  # fmt: skip
    """The map and report flags (all, or those named in ``only``) as keyword arguments of
    ``writer``, for those it takes (its signature is read: a writer that gains a keyword
    gets the flag). ``--pdf`` is always passed as a bool, so a PDF is printed only when
    asked for; the other flags only when given."""
    import inspect

    params = inspect.signature(writer).parameters
    values = {**{k: getattr(args, k, None) for k in REPORT_KEYWORDS}, "basemap": basemap,
              "tianditu_key": getattr(args, "tianditu_key", None)}  # fmt: skip
    keywords: dict[str, Any] = {}
    for attr, value in values.items():
        kw = {**REPORT_KEYWORDS, **MAP_KEYWORDS}[attr]
        if (only is not None and attr not in only) or kw not in params:
            continue
        if attr == "pdf":
            keywords[kw] = bool(value)
        elif value is not None and value is not False:
            keywords[kw] = value
    if "options" in params and (only is None or "options" in only or set(COVER_FLAGS) & set(only)):
        # the committee packages take the report's cover as one ReportOptions (PLR0913: <= 8 arguments)
        from ..publish.report import ReportOptions

        cover = {k: getattr(args, k) for k in COVER_FLAGS if getattr(args, k, None) is not None}
        if cover:
            keywords["options"] = ReportOptions(**cover)
    return keywords


def warn_unused_flags(args: argparse.Namespace, *writers: Any, handled: tuple[str, ...] = ()) -> None:
    """Warn (once, before any work) about map and report flags given that none of the
    command's ``writers`` takes (yet): nothing is silently dropped. ``handled``: flags the
    command itself acts on (the audit's ``--report``)."""
    import inspect
    import logging

    taken = set(handled)
    for w in writers:
        taken |= set(inspect.signature(w).parameters)
    if "pdf" in taken:
        taken.add("report")  # these commands write their report and workbook anyway
    if "options" in taken:
        taken |= set(COVER_FLAGS)  # ReportOptions carries them
    unused = [f"--{attr.replace('_', '-')}" for attr, kw in {**REPORT_KEYWORDS, **MAP_KEYWORDS}.items()
              if kw not in taken and getattr(args, attr, None) not in (None, False, "none")]  # fmt: skip
    if unused:
        logging.getLogger("coverage.cli").warning("%s: not used by the outputs of this command (yet)", ", ".join(unused))


def map_paths(out: str | os.PathLike[str], name: str, extra: str | None) -> tuple[Path, Path | None]:
    """The interactive map's place: ``<out>/<name>``, or ``--map`` when that lies inside
    ``--out``; and the extra copy (``--map`` elsewhere), or None."""
    out_dir = Path(out)
    if not extra:
        return out_dir / name, None
    given = Path(extra)
    inside = os.path.abspath(given).startswith(os.path.abspath(out_dir) + os.sep)
    return (given, None) if inside else (out_dir / name, given)
