"""The road network as compact arrays.

A :class:`RoadNetwork` holds an undirected walking network in a metric CRS:

* nodes: ``node_xy`` (metres), ``node_lonlat`` (WGS-84), ``node_osmid``;
* edges: ``edge_u``, ``edge_v`` (node positions), ``edge_len_m`` (metres along the road,
  measured on the WGS-84 ellipsoid: :func:`geodesic_m`), and each edge's polyline as a flat coordinate array: vertices ``edge_ptr[e]`` to
  ``edge_ptr[e + 1] - 1`` of ``coord_xy``, with ``coord_m`` the distance of every vertex
  from the edge's ``u`` end, scaled so that the last vertex sits at ``edge_len_m[e]``.

Walking ignores one-way rules, so the network is undirected. Disconnected pieces are kept;
``components`` labels them and :func:`component_report` says how big they are.
Builders: :func:`network_from_segments` (straight segments between nodes, e.g. the
Hangzhou parquet files), :func:`network_from_polylines` (OSM ways split at junctions), and
:func:`compact` (merges chains of degree-2 nodes into polylines, a far smaller graph for
many-source searches). Readers for files live in :mod:`coverage.inputs.osm`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, TypedDict

import numpy as np
import pandas as pd
import pyproj
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components, dijkstra

from ..errors import CRSError, NetworkError

if TYPE_CHECKING:
    from pathlib import Path
    from typing import Unpack

    import geopandas as gpd

__all__ = [
    "NetworkLabels",
    "RoadNetwork",
    "compact",
    "component_report",
    "csr_graph",
    "geodesic_m",
    "geodesic_xy_m",
    "haversine_m",
    "network_from_polylines",
    "network_from_segments",
    "to_lonlat",
    "utm_crs_for",
]

logger = logging.getLogger(__name__)

EARTH_RADIUS_M = 6_371_008.8
#: the WGS-84 ellipsoid every length is measured on
GEOD = pyproj.Geod(ellps="WGS84")


_A = 6_378_137.0  # WGS-84 semi-major axis, metres
_E2 = (1 / 298.257223563) * (2 - 1 / 298.257223563)  # WGS-84 first eccentricity squared
#: lines shorter than this (and away from the poles) are measured in closed form (see geodesic_m)
SHORT_LINE_M = 2_000.0


def geodesic_m(lon1: np.ndarray, lat1: np.ndarray, lon2: np.ndarray, lat2: np.ndarray) -> np.ndarray:
    """Geodesic distance on the WGS-84 ellipsoid in metres, vectorised: the length of every
    road piece, every along-edge offset and every off-road walk.

    Lines of :data:`SHORT_LINE_M` (2 km) and more, or reaching beyond 70° of latitude, are
    pyproj's ``Geod(ellps="WGS84").inv`` (Karney's algorithm, accurate to nanometres). The
    shorter ones (every OSM road segment, nearly every off-road walk) use the same
    ellipsoid's meridian and prime-vertical radii of curvature at their mid-latitude, a
    closed form 7 times faster that agrees with ``Geod.inv`` within 0.1 mm there (9 µm at
    1 km, 71 µm at 2 km: ``tests/test_geodesic.py`` checks 200,000 random lines).
    """
    a = [np.ascontiguousarray(x, dtype=np.float64) for x in (lon1, lat1, lon2, lat2)]
    if a[0].size == 0:
        return np.zeros(a[0].shape)
    phm = np.radians((a[1] + a[3]) * 0.5)
    w = 1.0 - _E2 * np.sin(phm) ** 2
    n_radius = _A / np.sqrt(w)
    m_radius = n_radius * (1.0 - _E2) / w
    dlon = (a[2] - a[0] + 180.0) % 360.0 - 180.0
    dist = np.hypot(m_radius * np.radians(a[3] - a[1]), n_radius * np.cos(phm) * np.radians(dlon))
    far = ~(dist < SHORT_LINE_M) | (np.abs(a[1]) > 70.0) | (np.abs(a[3]) > 70.0)
    if far.any():
        _az, _baz, exact = GEOD.inv(a[0][far], a[1][far], a[2][far], a[3][far])
        dist[far] = exact
    return np.asarray(dist, dtype=np.float64)


@lru_cache(maxsize=16)
def _to_lonlat(crs: str) -> pyproj.Transformer:
    return pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)


def to_lonlat(crs: str, xy: np.ndarray) -> np.ndarray:
    """Metric coordinates ``xy`` (n × 2, in ``crs``) as WGS-84 longitude/latitude (n × 2)."""
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    lon, lat = _to_lonlat(crs).transform(xy[:, 0], xy[:, 1])
    return np.column_stack([lon, lat])


def geodesic_xy_m(crs: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Ellipsoidal distance between metric points ``a`` and ``b`` (n × 2 each, in ``crs``),
    pairwise: both are taken back to WGS-84 and measured with :func:`geodesic_m`, so a
    straight off-road walk is measured like the roads (a projection's scale error, up to
    0.1 % at the edge of a UTM zone, does not enter)."""
    la, lb = to_lonlat(crs, a), to_lonlat(crs, b)
    return geodesic_m(la[:, 0], la[:, 1], lb[:, 0], lb[:, 1])


def haversine_m(lon1: np.ndarray, lat1: np.ndarray, lon2: np.ndarray, lat2: np.ndarray) -> np.ndarray:
    """Great-circle distance in metres on a sphere of the mean Earth radius, vectorised (what
    osmnx measures; kept for comparisons: the network measures with :func:`geodesic_m`)."""
    lon1, lat1, lon2, lat2 = (np.radians(np.asarray(a, dtype=np.float64)) for a in (lon1, lat1, lon2, lat2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def utm_crs_for(lon: float, lat: float) -> str:
    """The WGS-84 UTM zone CRS (``"EPSG:326zz"`` / ``"EPSG:327zz"``) containing a point."""
    if not (-180 <= lon <= 180 and -80 <= lat <= 84):
        raise CRSError(f"cannot choose a UTM zone for lon={lon}, lat={lat}; give the metric CRS explicitly (--crs EPSG:xxxxx; crs= in Python)")
    zone = int((lon + 180) // 6) + 1
    zone = min(zone, 60)
    return f"EPSG:{32600 + zone if lat >= 0 else 32700 + zone}"


@dataclass(frozen=True, eq=False)
class RoadNetwork:
    """An undirected road network in a metric CRS (see the module docstring)."""

    crs: str
    node_xy: np.ndarray
    node_lonlat: np.ndarray
    node_osmid: np.ndarray
    edge_u: np.ndarray
    edge_v: np.ndarray
    edge_len_m: np.ndarray
    edge_ptr: np.ndarray
    coord_xy: np.ndarray
    coord_m: np.ndarray
    edge_highway: np.ndarray | None = None
    source: str = ""
    meta: dict[str, object] = field(default_factory=dict)
    #: the road name of each edge (OSM ``name``; ``""`` unnamed), or None when the source has none
    edge_name: np.ndarray | None = None

    @property
    def n_nodes(self) -> int:
        return len(self.node_xy)

    @property
    def n_edges(self) -> int:
        return len(self.edge_u)

    @cached_property
    def csr(self) -> sp.csr_matrix:
        """Symmetric node × node CSR matrix of edge lengths (:func:`csr_graph`), built once
        per network and kept."""
        return csr_graph(self)

    @cached_property
    def components(self) -> np.ndarray:
        """Connected-component label of every node (0 = the largest piece).

        Connectivity needs no lengths: the edges' pattern is enough, so asking for the
        pieces of a network never builds its routing graph (:attr:`csr`)."""
        pattern = sp.coo_matrix((np.ones(self.n_edges), (self.edge_u, self.edge_v)), shape=(self.n_nodes, self.n_nodes))
        n, labels = connected_components(pattern, directed=False)
        sizes = np.bincount(labels, minlength=n)
        # relabel by decreasing size, ties by first node, so labels are deterministic
        first = np.full(n, self.n_nodes, dtype=np.int64)
        np.minimum.at(first, labels, np.arange(self.n_nodes))
        rank = np.lexsort((first, -sizes))
        remap = np.empty(n, dtype=np.int64)
        remap[rank] = np.arange(n)
        return remap[labels]

    @property
    def edge_component(self) -> np.ndarray:
        """Component label of every edge."""
        return self.components[self.edge_u]

    def segments(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Every straight piece of every edge polyline.

        Returns
        -------
        seg_edge, start, end, off_m
            Edge of each segment; its start and end coordinates (k × 2, metres); and the
            distance along the edge of its start.
        """
        n_coords = np.diff(self.edge_ptr)
        seg_counts = n_coords - 1
        seg_edge = np.repeat(np.arange(self.n_edges, dtype=np.int64), seg_counts)
        starts = np.arange(len(self.coord_xy) - 1, dtype=np.int64)
        valid = np.ones(len(self.coord_xy), dtype=bool)
        valid[self.edge_ptr[1:] - 1] = False  # last vertex of an edge starts no segment
        starts = starts[valid[:-1]]
        return seg_edge, self.coord_xy[starts], self.coord_xy[starts + 1], self.coord_m[starts]

    def interpolate(self, edge: np.ndarray, offset_m: np.ndarray) -> np.ndarray:
        """Metric coordinates of the points ``offset_m`` metres along edges ``edge`` (from
        ``u``), following each edge's polyline (vectorised)."""
        e = np.asarray(edge, dtype=np.int64)
        off = np.clip(np.asarray(offset_m, dtype=np.float64), 0.0, self.edge_len_m[e])
        counts = np.diff(self.edge_ptr)
        start = np.concatenate([[0.0], np.cumsum(self.edge_len_m + 1.0)[:-1]])
        g = self.coord_m + np.repeat(start, counts)
        pos = start[e] + off
        i = np.searchsorted(g, pos, side="right") - 1
        i = np.clip(i, self.edge_ptr[e], self.edge_ptr[e + 1] - 2)
        span = g[i + 1] - g[i]
        t = np.where(span > 0, (pos - g[i]) / np.where(span > 0, span, 1.0), 0.0)
        return self.coord_xy[i] + (self.coord_xy[i + 1] - self.coord_xy[i]) * t[:, None]

    def save(self, path: str | Path) -> Path:
        """Write the network to one ``.npz`` file (atomically, no pickle) that
        :meth:`load` and ``read_network`` read back in milliseconds; returns the path."""
        from ._store import save_network

        return save_network(self, path)

    @classmethod
    def load(cls, path: str | Path) -> RoadNetwork:
        """Read a network written by :meth:`save`; a bad, truncated or foreign file raises
        :class:`~coverage.errors.InputFileError` naming the file."""
        from ._store import load_network

        return load_network(path)

    def edges_frame(self, *, to_wgs84: bool = True) -> gpd.GeoDataFrame:
        """Edges as a GeoDataFrame (``u``, ``v``, ``length_m``, ``highway``, ``component``)."""
        import geopandas as gpd
        import shapely

        coords = self.coord_xy
        crs = self.crs
        if to_wgs84:
            t = pyproj.Transformer.from_crs(self.crs, "EPSG:4326", always_xy=True)
            lon, lat = t.transform(coords[:, 0], coords[:, 1])
            coords = np.column_stack([lon, lat])
            crs = "EPSG:4326"
        idx = np.repeat(np.arange(self.n_edges), np.diff(self.edge_ptr))
        geoms = shapely.linestrings(coords, indices=idx)
        df = pd.DataFrame(
            {
                "u": self.node_osmid[self.edge_u],
                "v": self.node_osmid[self.edge_v],
                "length_m": self.edge_len_m,
                "component": self.edge_component,
            }
        )
        if self.edge_highway is not None:
            df["highway"] = self.edge_highway
        if self.edge_name is not None:
            df["name"] = self.edge_name
        return gpd.GeoDataFrame(df, geometry=geoms, crs=crs)


def csr_graph(net: RoadNetwork) -> sp.csr_matrix:
    """Symmetric node × node CSR matrix of edge lengths (min over parallel edges), the graph
    every search runs on. :attr:`RoadNetwork.csr` calls this once and keeps the result.

    Zero-length edges get a length of 1e-9 m so that scipy keeps them as edges.
    Self-loops are left out (they never shorten a path).
    """
    u, v, w = net.edge_u, net.edge_v, net.edge_len_m
    keep = u != v
    u, v, w = u[keep], v[keep], np.maximum(w[keep], 1e-9)
    a = np.minimum(u, v)
    b = np.maximum(u, v)
    key = a * np.int64(net.n_nodes) + b
    order = np.argsort(key, kind="stable")
    key, w = key[order], w[order]
    first = np.ones(len(key), dtype=bool)
    first[1:] = key[1:] != key[:-1]
    starts = np.flatnonzero(first)
    w = np.minimum.reduceat(w, starts) if len(w) else w
    key = key[starts]
    a, b = key // net.n_nodes, key % net.n_nodes
    rows = np.concatenate([a, b])
    cols = np.concatenate([b, a])
    data = np.concatenate([w, w])
    m = sp.csr_matrix((data, (rows, cols)), shape=(net.n_nodes, net.n_nodes))
    m.sort_indices()
    return m


class NetworkLabels(TypedDict, total=False):
    """Optional keywords of :func:`network_from_segments` and :func:`network_from_polylines`.

    node_osmid
        Node labels (default ``0..n-1``).
    highway
        Road class of each edge.
    name
        Road name of each edge (``""`` where unnamed).
    crs
        Metric CRS; default the UTM zone of the median node.
    source
        Where the data came from (kept in outputs).
    """

    node_osmid: np.ndarray | None
    highway: np.ndarray | None
    name: np.ndarray | None
    crs: str | None
    source: str


def _check_labels(labels: NetworkLabels, builder: str) -> str:
    """Refuse unknown keywords (as Python would); return the ``source``."""
    unknown = sorted(set(labels) - NetworkLabels.__optional_keys__)
    if unknown:
        raise TypeError(f"{builder}() got an unexpected keyword argument {unknown[0]!r}")
    return labels.get("source", "")


def _labels(n_nodes: int, labels: NetworkLabels) -> tuple[np.ndarray, np.ndarray | None]:
    """Node labels (default ``0..n-1``) and road classes (or None) as arrays."""
    osmid = labels.get("node_osmid")
    highway = labels.get("highway")
    return (
        np.arange(n_nodes, dtype=np.int64) if osmid is None else np.asarray(osmid, dtype=np.int64),
        None if highway is None else np.asarray(highway, dtype=object),
    )


def _project(lon: np.ndarray, lat: np.ndarray, crs: str | None, source: str = "") -> tuple[np.ndarray, str]:
    if len(lon) == 0:
        raise NetworkError("the road network has no nodes; check the file and the road filter")
    out = (np.abs(lon) > 180) | (np.abs(lat) > 90)
    if out.any():
        i = int(np.flatnonzero(out)[0])
        raise CRSError(
            f"{source or 'network'}: {int(out.sum())} nodes are not longitude/latitude (e.g. "
            f"node {i}: x={lon[i]:.6g}, y={lat[i]:.6g}); the coordinates look projected but are "
            "declared as WGS-84. Fix: declare the file's real CRS (a GraphML graph's crs "
            "attribute) or convert the nodes to longitude/latitude"
        )
    if crs is None:
        crs = utm_crs_for(float(np.median(lon)), float(np.median(lat)))
    try:
        target = pyproj.CRS.from_user_input(crs)
    except pyproj.exceptions.CRSError as exc:
        raise CRSError(f"unknown CRS {crs!r}: {exc}. Fix: pass an EPSG code such as 'EPSG:32650'") from exc
    if not target.is_projected:
        raise CRSError(f"CRS {crs!r} is not projected (metres); pass a metric CRS such as a UTM zone")
    t = pyproj.Transformer.from_crs("EPSG:4326", target, always_xy=True)
    x, y = t.transform(lon, lat)
    return np.column_stack([x, y]), crs


def network_from_segments(
    node_lon: np.ndarray,
    node_lat: np.ndarray,
    seg_u: np.ndarray,
    seg_v: np.ndarray,
    *,
    seg_len_m: np.ndarray | None = None,
    **labels: Unpack[NetworkLabels],
) -> RoadNetwork:
    """A network whose edges are straight segments between nodes.

    Parameters
    ----------
    node_lon, node_lat
        WGS-84 node coordinates.
    seg_u, seg_v
        Node positions of each segment.
    seg_len_m
        Segment lengths; default: geodesic length on the WGS-84 ellipsoid between the end
        nodes (:func:`geodesic_m`).
    labels
        ``node_osmid``, ``highway`` (of each segment), ``crs`` and ``source``
        (:class:`NetworkLabels`).
    """
    source = _check_labels(labels, "network_from_segments")
    lon = np.asarray(node_lon, dtype=np.float64)
    lat = np.asarray(node_lat, dtype=np.float64)
    u = np.asarray(seg_u, dtype=np.int64)
    v = np.asarray(seg_v, dtype=np.int64)
    if len(u) == 0:
        raise NetworkError(f"{source or 'network'}: no road segments (no walkable edges)")
    if not (np.isfinite(lon).all() and np.isfinite(lat).all()):
        raise NetworkError(f"{source or 'network'}: some node coordinates are not finite")
    if u.min() < 0 or v.min() < 0 or max(u.max(), v.max()) >= len(lon):
        raise NetworkError(f"{source or 'network'}: an edge refers to a node that does not exist")
    xy, crs = _project(lon, lat, labels.get("crs"), source)
    if seg_len_m is None:
        length = geodesic_m(lon[u], lat[u], lon[v], lat[v])
    else:
        length = np.asarray(seg_len_m, dtype=np.float64)
        bad = ~np.isfinite(length) | (length < 0)
        if bad.any():
            raise NetworkError(
                f"{source or 'network'}: {int(bad.sum())} edges have a negative or missing length "
                f"(first in row {int(np.flatnonzero(bad)[0]) + 2} of an edge table). Fix: correct "
                "the length column, or leave it out to measure the segments"
            )
    n_e = len(u)
    coord_idx = np.column_stack([u, v]).ravel()
    coord_m = np.column_stack([np.zeros(n_e), length]).ravel()
    osmid, highway = _labels(len(lon), labels)
    return RoadNetwork(
        crs=crs,
        node_xy=xy,
        node_lonlat=np.column_stack([lon, lat]),
        node_osmid=osmid,
        edge_u=u,
        edge_v=v,
        edge_len_m=length,
        edge_ptr=np.arange(0, 2 * n_e + 1, 2, dtype=np.int64),
        coord_xy=xy[coord_idx],
        coord_m=coord_m,
        edge_highway=highway,
        source=source,
        edge_name=_names(labels),
    )


def _names(labels: NetworkLabels) -> np.ndarray | None:
    """Road names (``""`` where unnamed) as an object array, or None."""
    names = labels.get("name")
    if names is None:
        return None
    return np.asarray(["" if n is None or (isinstance(n, float) and n != n) else str(n) for n in names], dtype=object)


def network_from_polylines(
    node_lon: np.ndarray,
    node_lat: np.ndarray,
    edge_u: np.ndarray,
    edge_v: np.ndarray,
    edge_ptr: np.ndarray,
    coord_lonlat: np.ndarray,
    *,
    edge_len_m: np.ndarray | None = None,
    **labels: Unpack[NetworkLabels],
) -> RoadNetwork:
    """A network whose edges are polylines (vertices ``edge_ptr[e]:edge_ptr[e+1]`` of
    ``coord_lonlat``, first vertex at node ``edge_u[e]``, last at ``edge_v[e]``).

    Edge lengths default to the sum of the geodesic lengths of the pieces on the WGS-84
    ellipsoid (:func:`geodesic_m`), and every vertex's offset is the geodesic length up to
    it; given lengths
    rescale the vertex offsets. ``labels``: ``node_osmid``, ``highway`` (of each edge),
    ``crs`` and ``source`` (:class:`NetworkLabels`).
    """
    source = _check_labels(labels, "network_from_polylines")
    lon = np.asarray(node_lon, dtype=np.float64)
    lat = np.asarray(node_lat, dtype=np.float64)
    u = np.asarray(edge_u, dtype=np.int64)
    v = np.asarray(edge_v, dtype=np.int64)
    ptr = np.asarray(edge_ptr, dtype=np.int64)
    cll = np.asarray(coord_lonlat, dtype=np.float64)
    if len(u) == 0:
        raise NetworkError(f"{source or 'network'}: no road edges (no walkable roads found)")
    if np.any(np.diff(ptr) < 2):
        raise NetworkError(f"{source or 'network'}: an edge polyline has fewer than 2 vertices")
    xy, crs = _project(lon, lat, labels.get("crs"), source)
    t = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    cx, cy = t.transform(cll[:, 0], cll[:, 1])
    coord_xy = np.column_stack([cx, cy])
    # exact node coordinates at both ends
    coord_xy[ptr[:-1]] = xy[u]
    coord_xy[ptr[1:] - 1] = xy[v]
    piece = np.zeros(len(cll))
    piece[1:] = geodesic_m(cll[:-1, 0], cll[:-1, 1], cll[1:, 0], cll[1:, 1])
    piece[ptr[:-1]] = 0.0
    cum = np.cumsum(piece)
    base = np.repeat(cum[ptr[:-1]], np.diff(ptr))
    coord_m = cum - base
    geo_len = coord_m[ptr[1:] - 1]
    if edge_len_m is None:
        length = geo_len
    else:
        length = np.asarray(edge_len_m, dtype=np.float64)
        scale = np.where(geo_len > 0, length / np.where(geo_len > 0, geo_len, 1.0), 0.0)
        coord_m = coord_m * np.repeat(scale, np.diff(ptr))
        # degenerate polylines: spread the length evenly over the vertices
        zero = geo_len <= 0
        if zero.any():
            for e in np.flatnonzero(zero):
                k = ptr[e + 1] - ptr[e]
                coord_m[ptr[e] : ptr[e + 1]] = np.linspace(0, length[e], k)
    coord_m[ptr[1:] - 1] = length
    osmid, highway = _labels(len(lon), labels)
    return RoadNetwork(
        crs=crs,
        node_xy=xy,
        node_lonlat=np.column_stack([lon, lat]),
        node_osmid=osmid,
        edge_u=u,
        edge_v=v,
        edge_len_m=length,
        edge_ptr=ptr,
        coord_xy=coord_xy,
        coord_m=coord_m,
        edge_highway=highway,
        source=source,
        edge_name=_names(labels),
    )


def _chain_links(net: RoadNetwork, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs of edges meeting at a node that is not kept (degree 2): ``(e1, e2, node)``."""
    ends = np.concatenate([net.edge_u, net.edge_v])
    eids = np.concatenate([np.arange(net.n_edges), np.arange(net.n_edges)])
    inner = ~keep[ends]
    ends, eids = ends[inner], eids[inner]
    order = np.argsort(ends, kind="stable")
    ends, eids = ends[order], eids[order]
    # every inner node has exactly two edge ends, consecutive after sorting
    return eids[0::2], eids[1::2], ends[0::2]


_Links = tuple[np.ndarray, np.ndarray, np.ndarray]


def _chains(net: RoadNetwork) -> tuple[np.ndarray, np.ndarray, np.ndarray, _Links]:
    """The kept nodes (degree not 2, plus one node of every isolated cycle), the chain of
    every edge, every edge's place in its chain (hops from the chain's first edge) and the
    links between consecutive edges (:func:`_chain_links`)."""
    n, m = net.n_nodes, net.n_edges
    deg = np.bincount(net.edge_u, minlength=n) + np.bincount(net.edge_v, minlength=n)
    keep = deg != 2
    for _ in range(2):
        e1, e2, x = _chain_links(net, keep)
        link = sp.csr_matrix((np.ones(len(e1)), (e1, e2)), shape=(m, m))
        n_chain, chain = connected_components(link, directed=False)
        touches = np.zeros(n_chain, dtype=bool)
        touches[chain[keep[net.edge_u] | keep[net.edge_v]]] = True
        if touches.all():
            break
        # isolated cycles: keep the lowest node of each, then link again
        lone = ~touches[chain]
        first = np.full(n_chain, n, dtype=np.int64)
        np.minimum.at(first, chain[lone], np.minimum(net.edge_u[lone], net.edge_v[lone]))
        keep[first[first < n]] = True
    # start edge of each chain: its lowest-numbered edge with an end at a kept node
    at_keep = keep[net.edge_u] | keep[net.edge_v]
    start = np.full(n_chain, m, dtype=np.int64)
    np.minimum.at(start, chain[at_keep], np.flatnonzero(at_keep))
    if len(e1):
        rank = dijkstra(link, directed=False, indices=start, min_only=True, unweighted=True)
        rank = np.rint(rank).astype(np.int64)
    else:
        rank = np.zeros(m, dtype=np.int64)
    return keep, chain, rank, (e1, e2, x)


def _reversed(net: RoadNetwork, keep: np.ndarray, rank: np.ndarray, links: _Links) -> np.ndarray:
    """Whether each edge runs ``v -> u`` along its chain.

    Each edge runs from its "entry" node: the kept end for the first edge of a chain, else
    the node shared with the previous edge.
    """
    e1, e2, x = links
    entry = np.where(keep[net.edge_u], net.edge_u, net.edge_v)
    first_edge = rank == 0
    # a first edge with both ends kept runs u -> v
    entry = np.where(first_edge & keep[net.edge_u], net.edge_u, entry)
    nxt_is_2 = rank[e2] == rank[e1] + 1
    entry[e2[nxt_is_2]] = x[nxt_is_2]
    nxt_is_1 = rank[e1] == rank[e2] + 1
    entry[e1[nxt_is_1]] = x[nxt_is_1]
    return entry != net.edge_u


def _chain_polylines(
    net: RoadNetwork, order: np.ndarray, heads: np.ndarray, rev: np.ndarray, lengths: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Coordinates, vertex offsets and pointer array of the merged edges.

    ``order`` lists the edges chain by chain, each chain from its first edge; ``heads``
    are the positions in ``order`` where chains start. Every vertex of every edge is
    taken, reversed where needed, dropping the first vertex of all but a chain's first edge.
    """
    m = len(order)
    is_head = np.zeros(m, dtype=bool)
    is_head[heads] = True
    # chain offset of each edge = lengths of the edges before it in its chain
    cum = np.cumsum(net.edge_len_m[order])
    before = cum - net.edge_len_m[order] - np.repeat(cum[heads] - net.edge_len_m[order][heads], np.diff(np.append(heads, m)))
    ptr = net.edge_ptr
    n_coords = np.diff(ptr)[order]
    drop = (~is_head).astype(np.int64)
    counts = n_coords - drop
    k = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts) + np.repeat(drop, counts)
    eo = np.repeat(order, counts)
    r = rev[eo]
    idx = np.where(r, ptr[eo + 1] - 1 - k, ptr[eo] + k)
    coord_xy = net.coord_xy[idx]
    mm = net.coord_m[idx]
    coord_m = np.where(r, net.edge_len_m[eo] - mm, mm) + np.repeat(before, counts)
    per_chain = np.add.reduceat(counts, heads)
    new_ptr = np.concatenate([[0], np.cumsum(per_chain)]).astype(np.int64)
    coord_m[new_ptr[1:] - 1] = lengths
    coord_m[new_ptr[:-1]] = 0.0
    return coord_xy, coord_m, new_ptr


def compact(net: RoadNetwork) -> RoadNetwork:
    """Merge chains of degree-2 nodes into single polyline edges.

    Distances between the remaining nodes, and from any point on a road to them, are
    unchanged; the graph that many-source searches run on becomes much smaller (Hangzhou:
    482,083 nodes → 68,293). Isolated cycles keep one node. Edges with different road
    classes are merged too (the class of the first piece is kept). Vectorised: chains are
    connected components of the edge-link graph, and an edge's place in its chain is its
    hop distance from the chain's first edge (one multi-source search).
    """
    n, m = net.n_nodes, net.n_edges
    keep, chain, rank, links = _chains(net)
    rev = _reversed(net, keep, rank, links)
    order = np.lexsort((rank, chain))
    c_sorted = chain[order]
    # new edge per chain, in order of chains
    is_head = np.ones(m, dtype=bool)
    is_head[1:] = c_sorted[1:] != c_sorted[:-1]
    heads = np.flatnonzero(is_head)
    tails = np.concatenate([heads[1:], [m]]) - 1
    e_head, e_tail = order[heads], order[tails]
    new_u_old = np.where(rev[e_head], net.edge_v[e_head], net.edge_u[e_head])
    new_v_old = np.where(rev[e_tail], net.edge_u[e_tail], net.edge_v[e_tail])
    lengths = np.add.reduceat(net.edge_len_m[order], heads)
    coord_xy, coord_m, new_ptr = _chain_polylines(net, order, heads, rev, lengths)
    remap = np.full(n, -1, dtype=np.int64)
    remap[keep] = np.arange(int(keep.sum()))
    out = RoadNetwork(
        crs=net.crs,
        node_xy=net.node_xy[keep],
        node_lonlat=net.node_lonlat[keep],
        node_osmid=net.node_osmid[keep],
        edge_u=remap[new_u_old],
        edge_v=remap[new_v_old],
        edge_len_m=lengths,
        edge_ptr=new_ptr,
        coord_xy=coord_xy,
        coord_m=coord_m,
        edge_highway=None if net.edge_highway is None else net.edge_highway[e_head],
        source=net.source,
        meta={**net.meta, "compacted_from_nodes": n, "compacted_from_edges": m},
        edge_name=None if net.edge_name is None else net.edge_name[e_head],
    )
    logger.info("compacted network: %d -> %d nodes, %d -> %d edges", n, out.n_nodes, m, out.n_edges)
    return out


def component_report(net: RoadNetwork) -> pd.DataFrame:
    """One row per connected piece: ``component, n_nodes, n_edges, length_m, share_length``."""
    comp = net.components
    k = int(comp.max()) + 1 if len(comp) else 0
    n_nodes = np.bincount(comp, minlength=k)
    ec = net.edge_component
    n_edges = np.bincount(ec, minlength=k)
    length = np.bincount(ec, weights=net.edge_len_m, minlength=k)
    total = length.sum() or 1.0
    return pd.DataFrame(
        {
            "component": np.arange(k),
            "n_nodes": n_nodes,
            "n_edges": n_edges,
            "length_m": length,
            "share_length": length / total,
        }
    )
