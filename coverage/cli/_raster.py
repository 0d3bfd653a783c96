"""``--demand-raster``, ``--boundary`` and ``--dasymetric``: demand from population grids on the
command line (:func:`coverage.inputs.raster.demand_from_rasters`,
:func:`coverage.inputs.buildings.dasymetric_demand`), and the raster's totals in the console
and in the audit's ``parameters.json``."""

from __future__ import annotations

import argparse
import logging
import warnings
from typing import Any

from ..errors import CoverageError, SnapWarning

__all__ = ["add_raster_flags", "raster_demand", "raster_lines"]

logger = logging.getLogger("coverage.cli")

#: OSM files the buildings can be read from
_OSM = (".osm", ".osm.bz2", ".osm.gz", ".osm.pbf", ".pbf")


def add_raster_flags(g: Any) -> None:
    """``--demand-raster FILE [FILE ...]``, ``--boundary``, ``--boundary-coord-system``, ``--dasymetric [OSM]``."""
    g.add_argument("--demand-raster", nargs="+", metavar="TIF",
                   help="demand from population GeoTIFFs (WorldPop 60+ classes, GHS-POP ...; several files and bands are "
                   "summed, one grid): one point per populated cell, weight = people; instead of --demand")  # fmt: skip
    g.add_argument("--boundary", help="study area polygon(s) for --demand-raster (GeoJSON/GPKG): cells whose centre lies "
                   "inside count, wholly")  # fmt: skip
    g.add_argument("--boundary-coord-system", default=None, metavar="SYSTEM",
                   help="coordinate system of --boundary (wgs84, gcj02, bd09; e.g. gcj02 for cnmaps/Amap outlines)")  # fmt: skip
    g.add_argument("--raster-counts", choices=["elderly", "population"], default=None,
                   help="what --demand-raster counts: elderly (people aged 60+, the default; WorldPop 60+ classes) or "
                   "population (all ages, e.g. GHS-POP); the outputs name the weight accordingly")  # fmt: skip
    g.add_argument("--cell-rule", choices=["centre", "fraction"], default=None,
                   help="cells cut by --boundary: centre (default: a cell counts wholly when its centre is inside) or "
                   "fraction (with the share of its area inside; for small areas such as a township)")  # fmt: skip
    g.add_argument("--dasymetric", nargs="?", const="", default=None, metavar="OSM",
                   help="spread each cell's people over the residential buildings (OSM building=*, landuse=residential) "
                   "inside it, by footprint x levels, keeping each cell's total; buildings from this OSM file, else from --network")  # fmt: skip


def raster_demand(args: argparse.Namespace) -> Any:
    """The demand points of ``--demand-raster`` (None without it); ``--boundary`` and
    ``--dasymetric`` without a raster are refused."""
    rasters = getattr(args, "demand_raster", None)
    if not rasters:
        for attr in ("boundary", "cell_rule", "raster_counts", "dasymetric"):
            if getattr(args, attr, None) is not None:
                flag = "--" + attr.replace("_", "-")
                raise CoverageError(f"{flag} applies to --demand-raster only. Fix: add --demand-raster FILE, or drop {flag}")
        return None
    if getattr(args, "demand", None):
        raise CoverageError("give --demand or --demand-raster, not both. Fix: drop one of them")
    from ..inputs.raster import demand_from_rasters

    logger.info("reading the population raster%s ...", "s" if len(rasters) > 1 else "")
    # cell centres sit off the roads by construction: the audit's hint that points "sit
    # systematically off the roads" (a GCJ-02/BD-09 suspicion) is noise for them; this run only
    # (main() restores the filters), and the unreachable cells are still reported
    warnings.filterwarnings("ignore", message=r".*sit systematically off the roads", category=SnapWarning)
    cells = demand_from_rasters(rasters, boundary=args.boundary, boundary_coord_system=args.boundary_coord_system,
                                cell_rule=args.cell_rule or "centre", weight_column=args.raster_counts or "elderly")  # fmt: skip
    if args.dasymetric is None:
        return cells
    osm = args.dasymetric or getattr(args, "network", None)
    if not osm or not str(osm).lower().endswith(_OSM):
        raise CoverageError(f"--dasymetric needs an OSM extract with the buildings (.osm, .osm.bz2, .osm.pbf); got {osm or 'none'}. "
                            "Fix: pass it as --dasymetric county.osm.pbf, or give --network as an OSM file")  # fmt: skip
    from ..inputs.buildings import dasymetric_demand
    from ..inputs.raster import boundary_polygon

    logger.info("placing each cell's people on the residential buildings of %s ...", osm)
    poly = boundary_polygon(args.boundary, coord_system=args.boundary_coord_system)[0] if args.boundary else None
    return dasymetric_demand(cells, osm, boundary=poly)


def raster_lines(res: Any, demand: Any) -> list[str]:
    """The raster's totals for the console (and kept in ``res.meta["demand_raster"]``, so
    ``parameters.json`` has them): people inside the boundary = the weights audited, and the
    people of the cells no road reaches (counted as unreachable, never dropped)."""
    record = demand.attrs.get("raster")
    if not record:
        return []
    d = res.demand
    weight = d["weight"].astype(float)
    unreachable = d["status"].astype(str) == "unreachable"
    record = {**record, "weight_audited": float(weight.sum()), "unreachable_points": int(unreachable.sum()),
              "unreachable_people": float(weight[unreachable].sum()), "dasymetric": demand.attrs.get("dasymetric")}  # fmt: skip
    res.meta["demand_raster"] = record
    where = "inside the boundary" if record["boundary"] else "in the raster"
    rule = "area-fraction rule" if record["cell_rule"].startswith("area") else "cell-centre rule"
    lines = [f"  raster demand: {record['total']:,.1f} people in {record['points']:,} populated cells {where} ({rule}), "
             f"audited {record['weight_audited']:,.1f}; the window read holds {record['window_total']:,.1f} "
             f"({record['outside_boundary']:,.1f} in cells whose centre lies outside); {record['nodata_cells']:,} nodata cells",
             f"  unreachable cells (no road within the snap tolerance, counted, not dropped): {record['unreachable_points']:,} "
             f"points, {record['unreachable_people']:,.1f} people"]  # fmt: skip
    if record["dasymetric"]:
        n = record["dasymetric"]["points"]
        lines.append("  dasymetric placement: " + ", ".join(f"{v:,} points at {k}" for k, v in n.items()))
    return lines
