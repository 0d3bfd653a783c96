"""The road network read once: a province's OSM extract takes minutes to parse, so the batch
keeps the parsed network as a saved network (:meth:`RoadNetwork.save
<coverage.engine.network.RoadNetwork.save>`, ``.npz``, no pickle) in its work folder, named by
the content hash of the input files and the reading options, and reads that on every later
run with the same inputs."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

from .. import __version__
from ..engine.network import RoadNetwork
from ..errors import InputFileError

__all__ = ["cached_network"]

logger = logging.getLogger(__name__)


def _file_hash(path: Path) -> str:
    h = hashlib.blake2b(digest_size=16)
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def cached_network(path: str | Path, cache_dir: str | Path, *, crs: str | None = None, edges_path: str | Path | None = None) -> RoadNetwork:
    """``read_network(path, crs=crs, edges_path=edges_path)``, parsed once: later calls with
    the same file contents and options load the saved copy in ``cache_dir``."""
    from ..inputs.osm import read_network

    src = Path(path)
    if src.suffix.lower() == ".npz" or not src.is_file():
        return read_network(path, crs=crs, edges_path=edges_path)
    key = {"file": _file_hash(src), "edges": _file_hash(Path(edges_path)) if edges_path else None, "crs": crs, "version": __version__}
    digest = hashlib.blake2b(json.dumps(key, sort_keys=True).encode(), digest_size=12).hexdigest()
    saved = Path(cache_dir) / f"network-{digest}.npz"
    if saved.exists():
        try:
            net = RoadNetwork.load(saved)
            logger.info("road network: the copy parsed from %s earlier (%s)", src.name, saved.name)
            return net
        except InputFileError as exc:  # a damaged cache is parsed again, never trusted
            logger.warning("ignoring a damaged saved network (%s); parsing %s again", exc, src)
    net = read_network(path, crs=crs, edges_path=edges_path)
    Path(cache_dir).mkdir(parents=True, exist_ok=True)
    net.save(saved)
    return net
