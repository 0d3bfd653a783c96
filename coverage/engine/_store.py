"""Save a :class:`~coverage.engine.network.RoadNetwork` to one ``.npz`` file and load it back.

The file is a plain NumPy ``.npz`` archive (no pickle: it is read with
``allow_pickle=False``, so a file from someone else cannot run code) holding every array of
the network, its CRS, source label and ``meta`` (as JSON) as small unicode arrays, and a
format name and version. Writing goes to a temporary file in the same folder, then
``os.replace``, so a reader never sees half a file. Loading checks the format, version,
shapes, dtypes, index ranges and lengths; any problem is an :class:`InputFileError` naming
the file. This is the one file the engine touches: its own format, modelled on pandana's
``Network.save_hdf5`` / ``from_hdf5``.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import InputFileError

if TYPE_CHECKING:
    from .network import RoadNetwork

__all__ = ["FORMAT", "VERSION", "load_network", "save_network"]

logger = logging.getLogger(__name__)

FORMAT = "coverage.RoadNetwork"
VERSION = 1
_FIX = "Fix: save the network again (read_network(...).save(path)) or give the original OSM file"

# name -> (dtype kind, trailing shape); the leading dimension is checked separately
_FLOAT, _INT, _STR = "f", "i", "U"
_ARRAYS: dict[str, tuple[str, tuple[int, ...]]] = {
    "node_xy": (_FLOAT, (2,)),
    "node_lonlat": (_FLOAT, (2,)),
    "node_osmid": (_INT, ()),
    "edge_u": (_INT, ()),
    "edge_v": (_INT, ()),
    "edge_len_m": (_FLOAT, ()),
    "edge_ptr": (_INT, ()),
    "coord_xy": (_FLOAT, (2,)),
    "coord_m": (_FLOAT, ()),
}
_OPTIONAL = ("edge_highway", "edge_name")


def _bad(path: Path, problem: str) -> InputFileError:
    return InputFileError(f"{path}: not a usable saved road network: {problem}. {_FIX}")


def save_network(net: RoadNetwork, path: str | Path) -> Path:
    """Write ``net`` to ``path`` (one ``.npz`` file), atomically; returns the path."""
    p = Path(path)
    arrays: dict[str, np.ndarray] = {name: np.asarray(getattr(net, name)) for name in _ARRAYS}
    for name in _OPTIONAL:
        values = getattr(net, name)
        if values is not None:
            arrays[name] = np.asarray(values, dtype=str)
    arrays["format"] = np.array(FORMAT)
    arrays["version"] = np.array(VERSION, dtype=np.int64)
    arrays["crs"] = np.array(net.crs)
    arrays["source"] = np.array(net.source)
    arrays["meta"] = np.array(json.dumps(net.meta, default=str, ensure_ascii=False))
    tmp = p.with_name(f".{p.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("wb") as fh:
            np.savez(fh, allow_pickle=False, **arrays)
        os.replace(tmp, p)
    finally:
        tmp.unlink(missing_ok=True)
    logger.info("saved road network (%d nodes, %d edges) to %s", net.n_nodes, net.n_edges, p)
    return p


def _read(p: Path) -> dict[str, np.ndarray]:
    if not p.exists():
        raise InputFileError(f"{p}: file not found. Fix: check the path")
    try:
        with p.open("rb") as fh:
            z = np.load(fh, allow_pickle=False)
            if not isinstance(z, np.lib.npyio.NpzFile):
                raise _bad(p, "it is a single array, not an .npz archive")
            with z:
                return {name: z[name] for name in z.files}
    except InputFileError:
        raise
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise _bad(p, "it holds pickled Python objects, which are never loaded") from exc
        raise _bad(p, f"cannot read it ({exc}); the file is damaged or truncated") from exc
    except Exception as exc:  # zip, zlib and OS errors of a damaged archive
        raise _bad(p, f"cannot read it ({type(exc).__name__}: {exc}); the file is damaged or truncated") from exc


def _text(p: Path, z: dict[str, np.ndarray], name: str) -> str:
    a = z.get(name)
    if a is None or a.dtype.kind != _STR or a.ndim != 0:
        raise _bad(p, f"{name!r} is missing or not text")
    return str(a)


def _check_header(p: Path, z: dict[str, np.ndarray]) -> None:
    if _text(p, z, "format") != FORMAT:
        raise _bad(p, f"format {str(z['format'])!r}, expected {FORMAT!r}")
    v = z.get("version")
    if v is None or v.ndim != 0 or v.dtype.kind not in "iu":
        raise _bad(p, "no format version")
    if int(v) != VERSION:
        raise _bad(p, f"format version {int(v)}, this program reads version {VERSION}")


def _check_shapes(p: Path, z: dict[str, np.ndarray]) -> None:
    for name, (kind, tail) in _ARRAYS.items():
        a = z.get(name)
        if a is None:
            raise _bad(p, f"array {name!r} is missing")
        if a.dtype.kind != kind or a.shape[1:] != tail or a.ndim != 1 + len(tail):
            raise _bad(p, f"array {name!r} has dtype {a.dtype} and shape {a.shape}")
    n, m, k = len(z["node_xy"]), len(z["edge_u"]), len(z["coord_xy"])
    expected = {"node_lonlat": n, "node_osmid": n, "edge_v": m, "edge_len_m": m, "edge_ptr": m + 1, "coord_m": k}
    expected.update({name: m for name in _OPTIONAL if name in z})
    for name, size in expected.items():
        if len(z[name]) != size or (name in _OPTIONAL and (z[name].dtype.kind != _STR or z[name].ndim != 1)):
            raise _bad(p, f"array {name!r} has shape {z[name].shape} and dtype {z[name].dtype}, expected {size} rows")


def _check_values(p: Path, z: dict[str, np.ndarray]) -> None:
    n, k = len(z["node_xy"]), len(z["coord_xy"])
    for name in ("edge_u", "edge_v"):
        out = (z[name] < 0) | (z[name] >= n)
        if out.any():
            raise _bad(p, f"{int(out.sum())} {name} indices lie outside the {n} nodes (e.g. edge {int(np.flatnonzero(out)[0])})")
    ptr = z["edge_ptr"]
    if ptr[0] != 0 or ptr[-1] != k or np.any(np.diff(ptr) < 2):
        raise _bad(p, f"edge_ptr does not split the {k} polyline vertices into edges of 2 or more")
    length = z["edge_len_m"]
    bad = ~np.isfinite(length) | (length < 0)
    if bad.any():
        raise _bad(p, f"{int(bad.sum())} edge lengths are negative or not finite (e.g. edge {int(np.flatnonzero(bad)[0])})")
    for name in ("node_xy", "node_lonlat", "coord_xy", "coord_m"):
        if not np.isfinite(z[name]).all():
            raise _bad(p, f"array {name!r} holds non-finite values")


def load_network(path: str | Path) -> RoadNetwork:
    """Read a network written by :func:`save_network`, checking it thoroughly."""
    from .network import RoadNetwork

    p = Path(path)
    z = _read(p)
    _check_header(p, z)
    _check_shapes(p, z)
    _check_values(p, z)
    crs, source = _text(p, z, "crs"), _text(p, z, "source")
    try:
        meta = json.loads(_text(p, z, "meta"))
    except json.JSONDecodeError as exc:
        raise _bad(p, f"its meta is not JSON ({exc})") from exc
    if not isinstance(meta, dict):
        raise _bad(p, "its meta is not a JSON object")
    def opt(name: str) -> np.ndarray | None:
        return z[name].astype(object) if name in z else None

    net = RoadNetwork(
        crs=crs,
        node_xy=z["node_xy"],
        node_lonlat=z["node_lonlat"],
        node_osmid=z["node_osmid"],
        edge_u=z["edge_u"],
        edge_v=z["edge_v"],
        edge_len_m=z["edge_len_m"],
        edge_ptr=z["edge_ptr"],
        coord_xy=z["coord_xy"],
        coord_m=z["coord_m"],
        edge_highway=opt("edge_highway"),
        source=source,
        meta=meta,
        edge_name=opt("edge_name"),
    )
    logger.info("loaded road network (%d nodes, %d edges) from %s", net.n_nodes, net.n_edges, p)
    return net
