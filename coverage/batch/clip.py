"""The province's road network on disk, and each region's piece of it with its halo.

The driver writes the whole network once as a folder of plain ``.npy`` arrays
(:func:`write_shared_network`: no pickle, text columns as integer codes plus a JSON list of
their values, a manifest with shapes, dtypes and a content hash). Workers open it with
``numpy.load(mmap_mode="r")`` (:class:`SharedNetwork`), so a task reads only the pages of
its own region, and nothing big ever passes through the Dask scheduler.

Exact at borders, by construction
---------------------------------
Let ``C`` be the search cutoff and ``t`` the snap tolerance. A home inside region ``R`` that
meets the roads does so within ``t`` of itself; a walk of at most ``C`` from there never
leaves ``R ⊕ (C + t)`` (straight lines are never longer than roads). That distance is the
**halo** ``H = C + t``. A facility reached within ``C`` meets the road inside ``R ⊕ H``, so
it stands inside ``R ⊕ (H + t)``; its nearest road is within ``t`` of it, inside
``R ⊕ (H + 2t)``. A task therefore gets

* every facility inside ``R ⊕ (H + t)`` (whichever county runs it), and
* every edge with any part inside ``R ⊕ (H + 2t)`` (any superset of those edges gives the
  same answers: an extra edge is a real road, and it can only add paths that exist in the
  whole network).

Map projections stretch lengths a little (a UTM zone by up to 0.1 % at its edges, more
beyond them), so every buffer is widened by :data:`PROJECTION_SLACK` of itself plus
:data:`SLACK_M`. Nodes and edges keep their relative order in the piece, so searches
break ties in the same way as on the whole network: the batch result equals the
single-process audit of the whole area bit for bit (``tests/test_batch.py``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from ..engine.network import RoadNetwork
from ..errors import InputFileError

__all__ = ["PROJECTION_SLACK", "SLACK_M", "SharedNetwork", "halo_m", "write_shared_network"]

logger = logging.getLogger(__name__)

FORMAT = "coverage.SharedNetwork"
VERSION = 1
#: buffers are widened by this share of themselves (projection scale error, see module doc)
PROJECTION_SLACK = 0.01
#: ... and by this many metres
SLACK_M = 50.0
_FIX = "Fix: delete the batch work folder (--work) and run again"


def halo_m(cutoff_m: float, snap_tolerance_m: float) -> float:
    """The halo ``H = C + t`` (search cutoff plus snap tolerance), metres."""
    return float(cutoff_m) + float(snap_tolerance_m)


def widened(distance_m: float) -> float:
    """A buffer distance widened for projection scale error (module doc)."""
    return distance_m * (1.0 + PROJECTION_SLACK) + SLACK_M


def _array_fields(net: RoadNetwork) -> dict[str, np.ndarray]:
    """Every array of the network (the known ones and any added later), by name."""
    out = {}
    for f in fields(net):
        value = getattr(net, f.name)
        if isinstance(value, np.ndarray):
            out[f.name] = value
    return out


def _kind(name: str) -> str:
    """Which index an array follows: ``node``, ``edge``, ``coord`` or ``ptr``."""
    if name == "edge_ptr":
        return "ptr"
    for prefix in ("node", "edge", "coord"):
        if name.startswith(prefix + "_"):
            return prefix
    raise ValueError(f"RoadNetwork array {name!r} follows no known index (node_/edge_/coord_)")


def _edge_boxes(net: RoadNetwork) -> np.ndarray:
    """Bounding box of every edge polyline (n_edges × 4: minx, miny, maxx, maxy)."""
    start = net.edge_ptr[:-1]
    x, y = net.coord_xy[:, 0], net.coord_xy[:, 1]
    return np.column_stack(
        [np.minimum.reduceat(x, start), np.minimum.reduceat(y, start), np.maximum.reduceat(x, start), np.maximum.reduceat(y, start)]
    )


def write_shared_network(net: RoadNetwork, folder: str | Path) -> str:
    """Write ``net`` as a folder of ``.npy`` arrays any worker can memory-map; returns its
    content hash. An existing folder holding the same network is kept as it is."""
    folder = Path(folder)
    arrays: dict[str, np.ndarray] = {}
    texts: dict[str, list[str]] = {}
    for name, value in _array_fields(net).items():
        _kind(name)
        if value.dtype.kind in "OUS":
            uniq, codes = np.unique(np.asarray(value, dtype=str), return_inverse=True)
            arrays[name + ".codes"] = codes.astype(np.int32)
            texts[name] = uniq.tolist()
        else:
            arrays[name] = np.ascontiguousarray(value)
    arrays["batch_edge_box"] = _edge_boxes(net)
    h = hashlib.blake2b(digest_size=16)
    for name in sorted(arrays):
        a = arrays[name]
        h.update(name.encode() + str(a.dtype).encode() + repr(a.shape).encode())
        h.update(a.tobytes())
    header = {"crs": net.crs, "source": net.source, "meta": net.meta, "texts": texts}
    h.update(json.dumps(header, sort_keys=True, default=str, ensure_ascii=False).encode())
    digest = h.hexdigest()
    manifest = {"format": FORMAT, "version": VERSION, "hash": digest, **header,
                "arrays": {k: {"dtype": str(v.dtype), "shape": list(v.shape)} for k, v in arrays.items()}}  # fmt: skip
    old = folder / "manifest.json"
    if old.exists():
        try:
            if json.loads(old.read_text(encoding="utf-8")).get("hash") == digest:
                return digest
        except (OSError, ValueError):
            pass
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".network-", dir=folder.parent))
    try:
        for name, a in arrays.items():
            np.save(tmp / f"{name}.npy", a, allow_pickle=False)
        (tmp / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, default=str), encoding="utf-8")
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(tmp, folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    logger.info("shared road network (%d nodes, %d edges) written to %s", net.n_nodes, net.n_edges, folder)
    return digest


@dataclass(frozen=True)
class _Piece:
    edges: np.ndarray  # positions of the edges kept, ascending
    nodes: np.ndarray  # positions of their nodes, ascending


class SharedNetwork:
    """A network written by :func:`write_shared_network`, memory-mapped (read on demand)."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        path = self.folder / "manifest.json"
        try:
            self.manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputFileError(f"{path}: cannot read the batch's shared road network ({exc}). {_FIX}") from exc
        if self.manifest.get("format") != FORMAT or self.manifest.get("version") != VERSION:
            raise InputFileError(f"{path}: not a shared road network of this version. {_FIX}")
        self.arrays: dict[str, np.ndarray] = {}
        for name, spec in self.manifest["arrays"].items():
            a = np.load(self.folder / f"{name}.npy", mmap_mode="r", allow_pickle=False)
            if str(a.dtype) != spec["dtype"] or list(a.shape) != spec["shape"]:
                raise InputFileError(f"{self.folder / name}.npy: shape or type differs from the manifest. {_FIX}")
            self.arrays[name] = a

    @property
    def crs(self) -> str:
        return str(self.manifest["crs"])

    @property
    def hash(self) -> str:
        return str(self.manifest["hash"])

    def edges_near(self, area: Any) -> np.ndarray:
        """Positions of every edge whose bounding box meets the polygon ``area`` (metres,
        the network's CRS): a superset of the edges with any part inside it."""
        box = self.arrays["batch_edge_box"]
        minx, miny, maxx, maxy = area.bounds
        cand = np.flatnonzero((box[:, 0] <= maxx) & (box[:, 2] >= minx) & (box[:, 1] <= maxy) & (box[:, 3] >= miny))
        if len(cand) == 0 or area.area >= 0.8 * shapely.box(minx, miny, maxx, maxy).area:
            return cand  # (nearly) a rectangle: the box test is as good as exact
        b = np.asarray(box[cand])
        shapely.prepare(area)
        keep = shapely.intersects(area, shapely.box(b[:, 0], b[:, 1], b[:, 2], b[:, 3]))
        return cand[keep]

    def piece(self, edges: np.ndarray, *, source: str = "") -> RoadNetwork:
        """The network made of ``edges`` (ascending positions) and their nodes, in their
        original order."""
        a = self.arrays
        edges = np.asarray(edges, dtype=np.int64)
        u, v = np.asarray(a["edge_u"][edges]), np.asarray(a["edge_v"][edges])
        nodes = np.unique(np.concatenate([u, v]))
        ptr = np.asarray(a["edge_ptr"])
        counts = ptr[edges + 1] - ptr[edges]
        new_ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        coord_idx = np.repeat(ptr[edges] - new_ptr[:-1], counts) + np.arange(new_ptr[-1])
        take = {"node": nodes, "edge": edges, "coord": coord_idx}
        values: dict[str, Any] = {}
        for f in fields(RoadNetwork):
            name = f.name
            if name == "edge_ptr":
                values[name] = new_ptr
            elif name in ("edge_u", "edge_v"):
                values[name] = np.searchsorted(nodes, u if name == "edge_u" else v).astype(np.int64)
            elif name + ".codes" in a:
                words = np.asarray(self.manifest["texts"][name], dtype=object)
                values[name] = words[np.asarray(a[name + ".codes"][take[_kind(name)]])] if len(words) else np.full(
                    len(take[_kind(name)]), "", dtype=object)  # fmt: skip
            elif name in a:
                values[name] = np.ascontiguousarray(a[name][take[_kind(name)]])
        values["crs"] = self.crs
        values["source"] = source or str(self.manifest.get("source", ""))
        values["meta"] = dict(self.manifest.get("meta") or {})
        return RoadNetwork(**values)
