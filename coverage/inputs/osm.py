"""Read road networks: OSM XML (``.osm``, ``.osm.bz2``), PBF (``.osm.pbf``), GraphML,
node/edge tables (Parquet/CSV), saved networks (``.npz``, :meth:`RoadNetwork.save`), or
osmnx online queries.

OSM files are read with pyosmium (libosmium), which handles XML, bzip2/gzip XML and PBF
alike. Ways are kept when a person may walk on them (the same rule as osmnx's ``walk``
network: a ``highway`` tag that is not motorway, construction, proposed, ... ; not
``foot=no``; not private access; not an area) and split into edges at junctions, so edges
are polylines between intersections and dead ends.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd
import pyproj

from ..engine.network import RoadNetwork, network_from_polylines, network_from_segments
from ..errors import CRSError, InputFileError, NetworkError

__all__ = [
    "WALK_EXCLUDED_HIGHWAY",
    "network_from_graph",
    "network_from_place",
    "read_network",
    "read_network_tables",
    "read_osm_features",
    "walkable",
]

logger = logging.getLogger(__name__)

#: highway values nobody walks on (osmnx's ``walk`` filter, spelled out)
WALK_EXCLUDED_HIGHWAY = frozenset(
    {
        "abandoned",
        "bus_guideway",
        "construction",
        "cycleway",
        "motorway",
        "motorway_link",
        "motorway_junction",
        "motorroad",
        "no",
        "planned",
        "platform",
        "proposed",
        "raceway",
        "razed",
        "disused",
        "bus_stop",
        "rest_area",
        "services",
        "elevator",
        "emergency_bay",
    }
)
_ROAD_TYPES = {"walk", "all"}


def walkable(tags: dict[str, str], *, network_type: str = "walk") -> str | None:
    """The ``highway`` value of a way if it belongs to the network, else ``None``."""
    hw = tags.get("highway")
    if not hw:
        return None
    if tags.get("area") == "yes":
        return None
    if network_type == "all":
        return hw
    foot = tags.get("foot")
    if hw in WALK_EXCLUDED_HIGHWAY and foot not in {"yes", "designated", "permissive"}:
        return None
    if foot == "no":
        return None
    if tags.get("access") in {"private", "no"} and foot not in {"yes", "designated", "permissive"}:
        return None
    if tags.get("service") == "private":
        return None
    return hw


def _suffix(path: Path) -> str:
    name = path.name.lower()
    for s in (".osm.pbf", ".osm.bz2", ".osm.gz", ".osm", ".pbf", ".graphml", ".parquet", ".xml"):
        if name.endswith(s):
            return s
    return path.suffix.lower()


def read_network(
    path: str | Path,
    *,
    network_type: str = "walk",
    crs: str | None = None,
    edges_path: str | Path | None = None,
) -> RoadNetwork:
    """Read a road network from a file.

    Parameters
    ----------
    path
        ``.osm``/``.osm.bz2``/``.osm.gz``/``.osm.pbf`` (OpenStreetMap), ``.graphml`` (osmnx),
        ``.npz`` (a network written by :meth:`RoadNetwork.save`; ``crs`` and
        ``network_type`` were fixed when it was saved),
        or a node table (``.parquet``/``.csv`` with ``node_id, lon, lat``) together with
        ``edges_path`` (``u, v[, length_m]``).
    network_type
        ``"walk"`` (default) keeps ways people walk on; ``"all"`` keeps every highway.
    crs
        Metric CRS to project to; default the UTM zone of the network's centre.
    edges_path
        Edge table for node/edge table input.

    Returns
    -------
    RoadNetwork

    Raises
    ------
    InputFileError
        The file is missing or of an unknown kind.
    NetworkError
        The file is malformed or truncated, or holds no walkable roads.
    """
    p = Path(path)
    if network_type not in _ROAD_TYPES:
        raise NetworkError(f"network_type={network_type!r}; choose one of {sorted(_ROAD_TYPES)}")
    if not p.exists():
        raise InputFileError(f"{p}: file not found. Fix: check the path")
    if _suffix(p) == ".npz":
        return _read_saved(p, crs=crs, edges_path=edges_path)
    if p.stat().st_size == 0:
        raise NetworkError(f"{p}: the file is empty. Fix: download the extract again")
    kind = _suffix(p)
    if edges_path is not None or kind in {".parquet", ".csv"}:
        if edges_path is None:
            raise InputFileError(f"{p}: a node table needs its edge table (columns u, v[, length_m]). Fix: give it with --edges (edges_path= in Python)")
        return read_network_tables(p, edges_path, crs=crs)
    if kind in {".osm.pbf", ".osm.bz2", ".osm.gz", ".osm", ".pbf", ".xml"}:
        return _read_osm_file(p, network_type=network_type, crs=crs)
    if kind == ".graphml":
        import osmnx as ox

        try:
            g = ox.load_graphml(p)
        except Exception as exc:  # osmnx raises many kinds on malformed GraphML
            raise NetworkError(f"{p}: cannot read GraphML ({type(exc).__name__}: {exc}). Fix: re-export the graph with osmnx.save_graphml") from exc
        return network_from_graph(g, crs=crs, source=str(p))
    raise InputFileError(
        f"{p}: unknown network file type {kind!r}. Fix: give .osm, .osm.bz2, .osm.pbf, .graphml, .npz (RoadNetwork.save), "
        "or a node table with its edge table (--edges; edges_path= in Python)"
    )


def _read_saved(p: Path, *, crs: str | None, edges_path: str | Path | None) -> RoadNetwork:
    """A network written by :meth:`RoadNetwork.save` (its CRS was fixed when saved)."""
    if edges_path is not None:
        raise InputFileError(f"{p}: a saved network holds its edges; --edges is for node tables. Fix: drop --edges (edges_path=)")
    net = RoadNetwork.load(p)
    try:
        same = crs is None or pyproj.CRS.from_user_input(crs) == pyproj.CRS.from_user_input(net.crs)
    except pyproj.exceptions.CRSError as exc:
        raise CRSError(f"{p}: unknown CRS {crs!r} ({exc}). Fix: drop --crs (crs=); a saved network keeps its own") from exc
    if not same:
        raise CRSError(f"{p}: the saved network is in {net.crs}, not {crs}. Fix: drop --crs (crs=), or save the network again from the OSM file with crs={crs!r}")
    return net


def _read_osm_file(p: Path, *, network_type: str, crs: str | None) -> RoadNetwork:
    import osmium

    way_refs: list[list[int]] = []
    way_coords: list[list[tuple[float, float]]] = []
    way_hw: list[str] = []
    way_name: list[str] = []
    missing = 0
    try:
        fp = osmium.FileProcessor(str(p)).with_locations().with_filter(osmium.filter.KeyFilter("highway"))
        for obj in fp:
            if not obj.is_way():
                continue
            tags = dict(obj.tags)
            hw = walkable(tags, network_type=network_type)
            if hw is None:
                continue
            name = tags.get("name", "")
            refs: list[int] = []
            coords: list[tuple[float, float]] = []
            for nd in obj.nodes:
                loc = nd.location
                if not loc.valid():
                    # node missing from the extract: break the way there
                    missing += 1
                    if len(refs) >= 2:
                        way_refs.append(refs)
                        way_coords.append(coords)
                        way_hw.append(hw)
                        way_name.append(name)
                    refs, coords = [], []
                    continue
                refs.append(nd.ref)
                coords.append((loc.lon, loc.lat))
            if len(refs) >= 2:
                way_refs.append(refs)
                way_coords.append(coords)
                way_hw.append(hw)
                way_name.append(name)
    except RuntimeError as exc:
        raise NetworkError(
            f"{p}: cannot parse the OSM file ({exc}). Fix: the file is malformed or truncated; "
            "download the extract again"
        ) from exc
    if missing:
        logger.warning("%s: %d way nodes are missing from the extract; ways were cut there", p, missing)
    if not way_refs:
        raise NetworkError(
            f"{p}: no walkable roads (no way with a walkable highway tag). Fix: check the extract "
            "covers the area (in Python, network_type='all' also reads motorways and service roads)"
        )
    return _network_from_ways(way_refs, way_coords, way_hw, crs=crs, source=str(p), way_name=way_name)


def _network_from_ways(
    way_refs: list[list[int]],
    way_coords: list[list[tuple[float, float]]],
    way_hw: list[str],
    *,
    crs: str | None,
    source: str,
    way_name: list[str] | None = None,
) -> RoadNetwork:
    lens = np.array([len(r) for r in way_refs], dtype=np.int64)
    refs = np.fromiter((x for r in way_refs for x in r), dtype=np.int64, count=int(lens.sum()))
    coords = np.array([c for cs in way_coords for c in cs], dtype=np.float64)
    ids, pos, counts = np.unique(refs, return_inverse=True, return_counts=True)
    split = counts[pos] >= 2
    starts = np.concatenate([[0], np.cumsum(lens)[:-1]])
    split[starts] = True
    split[starts + lens - 1] = True
    node_lonlat = np.zeros((len(ids), 2))
    node_lonlat[pos] = coords
    # junction nodes become graph nodes; the others are polyline vertices
    is_node = np.zeros(len(ids), dtype=bool)
    is_node[pos[split]] = True
    node_index = np.full(len(ids), -1, dtype=np.int64)
    node_index[is_node] = np.arange(int(is_node.sum()))
    eu: list[int] = []
    ev: list[int] = []
    ehw: list[str] = []
    ename: list[str] = []
    cidx: list[np.ndarray] = []
    ptr = [0]
    split_l = split
    for w in range(len(way_refs)):
        s = int(starts[w])
        e = s + int(lens[w])
        cuts = np.flatnonzero(split_l[s:e]) + s
        for a, b in zip(cuts[:-1].tolist(), cuts[1:].tolist()):
            if a == b:
                continue
            eu.append(int(node_index[pos[a]]))
            ev.append(int(node_index[pos[b]]))
            ehw.append(way_hw[w])
            ename.append(way_name[w] if way_name is not None else "")
            cidx.append(np.arange(a, b + 1))
            ptr.append(ptr[-1] + b - a + 1)
    flat = np.concatenate(cidx)
    kept_ll = node_lonlat[is_node]
    net = network_from_polylines(
        kept_ll[:, 0],
        kept_ll[:, 1],
        np.asarray(eu),
        np.asarray(ev),
        np.asarray(ptr),
        coords[flat],
        node_osmid=ids[is_node],
        highway=np.asarray(ehw, dtype=object),
        name=np.asarray(ename, dtype=object) if way_name is not None else None,
        crs=crs,
        source=source,
    )
    logger.info("%s: %d nodes, %d edges, %.1f km of road", source, net.n_nodes, net.n_edges, net.edge_len_m.sum() / 1000)
    return net


def read_network_tables(
    nodes_path: str | Path,
    edges_path: str | Path,
    *,
    crs: str | None = None,
) -> RoadNetwork:
    """Read a network from a node table (``node_id, lon, lat``) and an edge table
    (``u, v`` node ids, optional ``length_m``), Parquet or CSV. Edges are straight
    segments between their nodes (the Hangzhou benchmark network's format)."""
    nodes = _read_table(Path(nodes_path), ["node_id", "lon", "lat"])
    edges = _read_table(Path(edges_path), ["u", "v"])
    node_ids = nodes["node_id"].to_numpy(dtype=np.int64)
    order = np.argsort(node_ids, kind="stable")
    sorted_ids = node_ids[order]
    if len(sorted_ids) > 1 and np.any(sorted_ids[1:] == sorted_ids[:-1]):
        dup = sorted_ids[1:][sorted_ids[1:] == sorted_ids[:-1]][:5].tolist()
        raise NetworkError(f"{nodes_path}: duplicate node_id values {dup}. Fix: make node_id unique")
    uu = edges["u"].to_numpy(dtype=np.int64)
    vv = edges["v"].to_numpy(dtype=np.int64)
    iu = np.searchsorted(sorted_ids, uu)
    iv = np.searchsorted(sorted_ids, vv)
    iu_c = np.minimum(iu, len(sorted_ids) - 1)
    iv_c = np.minimum(iv, len(sorted_ids) - 1)
    bad = (sorted_ids[iu_c] != uu) | (sorted_ids[iv_c] != vv)
    if bad.any():
        rows = (np.flatnonzero(bad)[:5] + 2).tolist()
        raise NetworkError(
            f"{edges_path}: {int(bad.sum())} edges name nodes missing from {nodes_path} "
            f"(rows {rows}). Fix: export nodes and edges together"
        )
    length = edges["length_m"].to_numpy(dtype=np.float64) if "length_m" in edges else None
    return network_from_segments(
        nodes["lon"].to_numpy(dtype=np.float64)[order],
        nodes["lat"].to_numpy(dtype=np.float64)[order],
        iu_c,
        iv_c,
        seg_len_m=length,
        node_osmid=sorted_ids,
        crs=crs,
        source=f"{nodes_path} + {edges_path}",
    )


def _read_table(p: Path, required: list[str]) -> pd.DataFrame:
    if not p.exists():
        raise InputFileError(f"{p}: file not found. Fix: check the path")
    try:
        df = pd.read_parquet(p) if p.suffix.lower() == ".parquet" else pd.read_csv(p)
    except Exception as exc:
        raise NetworkError(f"{p}: cannot read the table ({type(exc).__name__}: {exc})") from exc
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise NetworkError(f"{p}: missing columns {missing}; found {list(df.columns)}. Fix: rename the columns")
    return df


def network_from_graph(g, *, crs: str | None = None, source: str = "networkx graph") -> RoadNetwork:
    """Convert an osmnx/networkx graph (nodes with ``x``/``y`` in WGS-84 or in the graph's
    ``crs``; edges with ``length`` and optional ``geometry``) to a :class:`RoadNetwork`.
    Directed graphs are made undirected (walking ignores one-way rules)."""
    import networkx as nx
    import pyproj

    if g.number_of_edges() == 0:
        raise NetworkError(
            f"{source}: the graph has no edges (no roads, {g.number_of_nodes()} nodes). Fix: "
            "export the graph with its roads (osmnx.save_graphml of a graph_from_... result)"
        )
    bad = [n for n, d in g.nodes(data=True) if not (_finite(d.get("x")) and _finite(d.get("y")))]
    if bad:
        raise NetworkError(
            f"{source}: {len(bad)} nodes have no numeric x/y coordinates (e.g. node {bad[0]!r}). "
            "Fix: export the graph with osmnx.save_graphml (nodes need x = longitude, "
            "y = latitude, or coordinates in the graph's crs)"
        )
    if g.is_directed():
        import osmnx as ox

        g = ox.convert.to_undirected(g) if isinstance(g, nx.MultiDiGraph) else g.to_undirected()
    nodes = list(g.nodes)
    index = {n: i for i, n in enumerate(nodes)}
    x = np.array([float(g.nodes[n]["x"]) for n in nodes])
    y = np.array([float(g.nodes[n]["y"]) for n in nodes])
    gcrs = g.graph.get("crs", "EPSG:4326")
    to_ll = None
    if pyproj.CRS.from_user_input(gcrs).is_projected:
        to_ll = pyproj.Transformer.from_crs(gcrs, "EPSG:4326", always_xy=True)
        x, y = to_ll.transform(x, y)
    eu, ev, lengths, ptr, hw = [], [], [], [0], []
    names: list[str] = []
    coords: list[np.ndarray] = []
    edges: Iterable = g.edges(data=True)
    for u, v, d in edges:
        iu, iv = index[u], index[v]
        geom = d.get("geometry")
        if geom is not None:
            c = np.asarray(geom.coords, dtype=np.float64)[:, :2]
            if to_ll is not None:
                lx, ly = to_ll.transform(c[:, 0], c[:, 1])
                c = np.column_stack([lx, ly])
            # orient the polyline from u to v
            du = np.hypot(c[0, 0] - x[iu], c[0, 1] - y[iu])
            dv = np.hypot(c[0, 0] - x[iv], c[0, 1] - y[iv])
            if dv < du:
                c = c[::-1]
        else:
            c = np.array([[x[iu], y[iu]], [x[iv], y[iv]]])
        eu.append(iu)
        ev.append(iv)
        lengths.append(float(d["length"]) if "length" in d else np.nan)
        h = d.get("highway", "")
        hw.append(h[0] if isinstance(h, list) else h)
        nm = d.get("name", "")
        names.append(str(nm[0] if isinstance(nm, list) and nm else nm or ""))
        coords.append(c)
        ptr.append(ptr[-1] + len(c))
    length_arr = np.asarray(lengths)
    return network_from_polylines(
        x,
        y,
        np.asarray(eu),
        np.asarray(ev),
        np.asarray(ptr),
        np.concatenate(coords),
        edge_len_m=None if np.isnan(length_arr).any() else length_arr,
        node_osmid=np.array([int(n) if isinstance(n, (int, np.integer)) else i for i, n in enumerate(nodes)]),
        highway=np.asarray(hw, dtype=object),
        name=np.asarray(names, dtype=object),
        crs=crs,
        source=source,
    )


def _finite(value: object) -> bool:
    try:
        return bool(np.isfinite(float(value)))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def network_from_place(
    query: str | tuple[float, float, float, float],
    *,
    network_type: str = "walk",
    crs: str | None = None,
) -> RoadNetwork:  # pragma: no cover - needs the internet
    """Download a walking network with osmnx, by place name or ``(west, south, east, north)``
    bounding box (needs the internet; tests never call it)."""
    import osmnx as ox

    if isinstance(query, str):
        g = ox.graph_from_place(query, network_type=network_type, simplify=True, retain_all=True)
        source = f"OpenStreetMap via osmnx: {query}"
    else:
        g = ox.graph_from_bbox(tuple(query), network_type=network_type, simplify=True, retain_all=True)
        source = f"OpenStreetMap via osmnx: bbox {query}"
    return network_from_graph(g, crs=crs, source=source)


def read_osm_features(path: str | Path, *, tags: dict[str, set[str] | None]) -> pd.DataFrame:
    """Point features from an OSM file: nodes, and way centroids, whose tags match.

    Parameters
    ----------
    path
        An OSM XML/PBF file.
    tags
        ``{key: {values}}``; ``None`` as the value set matches any value of the key.

    Returns
    -------
    pandas.DataFrame
        ``osm_type, osm_id, lon, lat, key, value, name, name_en`` (one row per object).
    """
    import osmium

    p = Path(path)
    if not p.exists():
        raise InputFileError(f"{p}: file not found")
    rows = []
    try:
        fp = osmium.FileProcessor(str(p)).with_locations().with_filter(osmium.filter.KeyFilter(*tags))
        for obj in fp:
            t = dict(obj.tags)
            match = None
            for k, vals in tags.items():
                if k in t and (vals is None or t[k] in vals):
                    match = (k, t[k])
                    break
            if match is None:
                continue
            if obj.is_node():
                lon, lat = obj.location.lon, obj.location.lat
                kind = "node"
            elif obj.is_way():
                pts = [(n.lon, n.lat) for n in obj.nodes if n.location.valid()]
                if not pts:
                    continue
                arr = np.asarray(pts)
                lon, lat = float(arr[:, 0].mean()), float(arr[:, 1].mean())
                kind = "way"
            else:
                continue
            rows.append(
                {
                    "osm_type": kind,
                    "osm_id": obj.id,
                    "lon": lon,
                    "lat": lat,
                    "key": match[0],
                    "value": match[1],
                    "name": t.get("name", ""),
                    "name_en": t.get("name:en", ""),
                }
            )
    except RuntimeError as exc:
        raise NetworkError(f"{p}: cannot parse the OSM file ({exc})") from exc
    df = pd.DataFrame(rows, columns=["osm_type", "osm_id", "lon", "lat", "key", "value", "name", "name_en"])
    return df.sort_values(["osm_type", "osm_id"], kind="stable").reset_index(drop=True)
