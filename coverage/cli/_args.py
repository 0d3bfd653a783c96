"""Arguments and inputs every command shares: coordinate-system flags, the audit rules
(``--radius --minutes --speed --snap-tolerance``) and reading an input file in its
coordinate system. Used by :mod:`.commands` and :mod:`.workflows`."""

from __future__ import annotations

import argparse
from typing import Any

from ..config import DEFAULT_SPEED_MPS, AuditConfig

__all__ = ["COORD_SYSTEM_HELP", "add_coord_system_flags", "add_rule_flags", "config_from_args", "read_input"]

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
    return g


def config_from_args(args: argparse.Namespace) -> AuditConfig:
    """The audit rules given by :func:`add_rule_flags` (checked: bad values raise here)."""
    return AuditConfig(radius_m=args.radius, time_min=args.minutes, speed_mps=args.speed, snap_tolerance_m=args.snap_tolerance)


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
