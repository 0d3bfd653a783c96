"""``coverage batch``: the audit (and site selection) of every region of a province on Dask.

Without input files it runs on the embedded model county, its two townships as regions.
Progress (regions done / total, homes per second, time left) goes to standard error.
"""

from __future__ import annotations

import argparse
import logging
import math
import shutil
import sys
from pathlib import Path
from typing import Any

from ..errors import CoverageError
from ._args import (
    add_common_flags,
    add_coord_system_flags,
    add_network_flags,
    add_output_flags,
    add_rule_flags,
    config_from_args,
    read_input,
)
from ._raster import add_raster_flags, raster_demand

__all__ = ["add_batch_command"]

logger = logging.getLogger(__name__)


def _arguments(sub: Any) -> argparse.ArgumentParser:
    b = sub.add_parser("batch", help="every county of a province: the audit (and site selection) per region on Dask, "
                       "with a province roll-up")  # fmt: skip
    g = b.add_argument_group("inputs (all omitted: the embedded model county, its townships as regions)")
    add_network_flags(g)
    g.add_argument("--facilities", help="facility points of the whole area: CSV/XLSX or GeoJSON/GPKG")
    g.add_argument("--demand", help="demand points of the whole area (homes, compounds, villages)")
    g.add_argument("--regions", help="region polygons (counties, districts, townships): GeoJSON/GPKG/Shapefile")
    g.add_argument("--region-column", help="instead of --regions: the demand column naming each point's region")
    add_raster_flags(g)
    add_coord_system_flags(g, ["facilities", "demand", "regions"])
    r = add_rule_flags(b)
    r.add_argument("--target", type=float, help="coverage target as a share, e.g. 0.9 (regions below it are flagged)")
    r.add_argument("--target-rule", default="radius", choices=["radius", "time", "both"],
                   help="the rule the target is checked on (default radius)")  # fmt: skip
    r.add_argument("--home-region-only", action="store_true",
                   help="homes may use only their own region's facilities (default: the nearest, whichever county runs it)")  # fmt: skip
    d = b.add_argument_group("Dask")
    d.add_argument("--scheduler", help="address of a running Dask scheduler (tcp://host:8786); default a LocalCluster; "
                   "'sync' runs the regions one by one in this process")  # fmt: skip
    d.add_argument("--workers", type=int, default=2, help="worker processes of the LocalCluster (default 2)")
    d.add_argument("--memory-limit", help="memory limit per worker of the LocalCluster, e.g. 2GB (default: Dask's share)")
    d.add_argument("--retries", type=int, default=2, help="retries of a region whose worker died (default 2)")
    d.add_argument("--rerun", action="store_true", help="run every region again (default: skip regions whose inputs are unchanged)")
    d.add_argument("--work", help="folder for the prepared inputs (default <out>/_work; on a cluster: a shared file system)")
    d.add_argument("--halo", type=float, help="road kept around each region, m (default: search limit + snap tolerance, which "
                   "makes borders exact; a smaller one only shows what goes wrong without it)")  # fmt: skip
    s = b.add_argument_group("site selection in every region")
    s.add_argument("--model", choices=["mclp", "lscp", "pmedian", "pcenter"], help="propose new sites in every region with this model")
    s.add_argument("--k", type=int, help="new sites per region")
    s.add_argument("--budget", type=int, help="new sites for the whole province, split among the regions by uncovered older people")
    s.add_argument("--rule", choices=["radius", "time"], default="radius", help="standard the sites serve (default radius)")
    s.add_argument("--candidates", help="candidate sites of the whole area (default: centres of each region's uncovered clusters)")
    add_coord_system_flags(s, ["candidates"], default=False)
    s.add_argument("--time-limit", type=float, default=60.0, help="solver time limit per region, s (default 60)")
    add_output_flags(b, "out/batch", what="the batch folder (province outputs, rows/ and regions/; a rerun into it skips "
                     "unchanged regions)")  # fmt: skip
    b.add_argument("--report", action="store_true", help="also write the province report (province_report.html)")
    b.add_argument("--no-region-maps", action="store_true", help="skip each region's interactive map")
    b.add_argument("--title", help="title of the province outputs")
    add_common_flags(b)
    return b


def _inputs(args: argparse.Namespace) -> tuple[Any, Any, Any, Any]:
    """Network, facilities, demand and regions (the embedded model county without files)."""
    from ..batch.regions import regions_from_column, regions_from_polygons

    raster = raster_demand(args)  # --demand-raster: demand from population grids (None without it)
    given = [args.network or args.place, args.facilities, args.demand]
    if not any(given):
        from ..datasets.model_county import model_county

        logger.info("no inputs given: the embedded model county (generated, not a real place), its townships as regions")
        mc = model_county()
        dem = mc.demand if raster is None else raster
        return mc.network, mc.facilities, dem, regions_from_polygons(mc.townships, source="model county townships")
    if not (given[0] and given[1] and (args.demand or raster is not None)):
        raise CoverageError("give --network, --facilities and --demand together (--demand-raster instead of --demand for a "
                            "population grid; with --regions or --region-column), or none of them for the model county")  # fmt: skip
    if bool(args.regions) == bool(args.region_column):
        raise CoverageError("give the regions: --regions (polygons) or --region-column (a demand column), one of them")
    logger.info("reading the road network ...")
    if args.place:
        from ..inputs.osm import network_from_place

        net = network_from_place(args.place, crs=args.crs)
    else:  # parsed once, then read from the batch's work folder on every rerun
        from ..batch.cache import cached_network

        net = cached_network(args.network, Path(args.work) if args.work else Path(args.out) / "_work", crs=args.crs, edges_path=args.edges)
    fac = read_input(args, "facilities", "facilities")
    dem = read_input(args, "demand", "demand") if raster is None else raster
    if args.regions:
        regions = regions_from_polygons(read_input(args, "regions"), source=args.regions)
    else:
        regions = regions_from_column(dem, args.region_column, source=args.demand or "the demand raster")
    return net, fac, dem, regions


def _options(args: argparse.Namespace) -> dict[str, Any]:
    from ..batch.task import SitingSpec

    siting = None
    if args.model:
        if args.k is None and args.budget is None:
            raise CoverageError("--model needs --k (new sites per region) or --budget (new sites for the province)")
        siting = SitingSpec(model=args.model, k=args.k or 0, rule=args.rule, time_limit_s=args.time_limit)
    elif args.k is not None or args.budget is not None:
        raise CoverageError("--k and --budget need --model (e.g. --model mclp --k 5)")
    opts: dict[str, Any] = {
        "scheduler": args.scheduler, "n_workers": args.workers, "memory_limit": args.memory_limit, "halo_m": args.halo,
        "home_region_only": args.home_region_only, "region_maps": not args.no_region_maps, "siting": siting,
        "budget": args.budget, "target": args.target, "target_rule": args.target_rule, "resume": not args.rerun,
        "retries": args.retries, "work_dir": args.work, "run_date": args.date, "report": args.report,
    }  # fmt: skip
    if args.title:
        opts["title"] = args.title
    return opts


def _progress(quiet: bool) -> Any:
    shown: list[bool] = []

    def show(ev: dict[str, Any]) -> None:
        if quiet:
            return
        if not shown:
            shown.append(True)
            if ev.get("dashboard"):
                print(f"  Dask dashboard: {ev['dashboard']}", file=sys.stderr, flush=True)
        eta = "" if math.isnan(ev["eta_s"]) else f", about {ev['eta_s']:.0f} s left"
        region = ev["region"]
        state = "skipped (unchanged)" if region.get("reused") else region.get("status")
        print(f"  regions {ev['done']}/{ev['total']} · {ev['homes_done']:,}/{ev['homes']:,} homes · "
              f"{ev['homes_per_s']:,.0f} homes/s{eta} · {region.get('region_name')}: {state}", file=sys.stderr, flush=True)  # fmt: skip

    return show


def _inputs_named(args: argparse.Namespace) -> str:
    named = [f"--{k} {getattr(args, k)}" for k in ("network", "facilities", "demand", "regions") if getattr(args, k, None)]
    return ("; inputs: " + ", ".join(named)) if named else ""


def _cmd_batch(args: argparse.Namespace) -> int:
    from ..batch.run import run_batch

    cfg = config_from_args(args)
    opts = _options(args)
    if not args.debug:
        import distributed  # noqa: F401  (its import sets its loggers to INFO: quiet them after it)

        for name in ("distributed", "bokeh", "tornado"):
            logging.getLogger(name).setLevel(logging.WARNING)
    out = Path(args.out)
    existed = out.exists()
    if existed and any(out.iterdir()) and not (out / "batch.json").exists() and not args.overwrite:
        raise CoverageError(f"{out}: the folder holds other files and no earlier batch (batch.json). Fix: choose another "
                            "--out, or pass --overwrite to write the batch beside them")  # fmt: skip
    try:
        net, fac, dem, regions = _inputs(args)
        cand = read_input(args, "candidates", "candidates") if args.candidates else None
        res = run_batch(net, fac, dem, regions, out, config=cfg, candidates=cand, progress=_progress(args.quiet), **opts)
    except BaseException:
        if not existed:
            shutil.rmtree(out, ignore_errors=True)
        raise
    if res.totals.get("regions_ok", 0) == 0:
        first = next((s for s in res.summaries if s.get("status") == "failed"), None)
        if not existed:
            shutil.rmtree(out, ignore_errors=True)
        why = str(first["error"]) if first else "no region holds any demand point"
        raise CoverageError(f"no region could be audited ({why}){_inputs_named(args)}. Fix: check the input named in the message")
    _print(res, cfg)
    grid = res.meta.get("demand_raster")
    if grid:  # the grid's people against those the regions audited (cells outside every region are listed)
        where = "inside the boundary" if grid.get("boundary") else "in the raster"
        print(f"  raster demand: {grid['total']:,.1f} people in {grid['points']:,} populated cells {where}; "
              f"audited in the regions {grid['people_audited']:,.1f}; in the {len(res.outside):,} cells outside "
              f"every region (outside_regions.csv) {grid['people_outside_regions']:,.1f}")  # fmt: skip
    return 0


def _print(res: Any, cfg: Any) -> None:
    t = res.totals
    print(f"{t['regions']} regions ({t['regions_ok']} audited, {t['regions_failed']} failed, {t['regions_empty']} without homes); "
          f"{int(t.get('n_homes', 0)):,} homes in {res.seconds:.1f} s ({res.meta['homes_per_s'] or 0:,.0f} homes/s); "
          f"{res.meta['scheduler']}")  # fmt: skip
    for rule in ("radius", "time", "both"):
        if f"share_{rule}" in t:
            print(f"  {cfg.rule_label(rule)}: {int(t[f'n_covered_{rule}']):,}/{int(t['n_homes']):,} ({t[f'share_{rule}']:.1%}); "
                  f"weighted {t[f'weighted_share_{rule}']:.1%}")  # fmt: skip
    if "regions_meeting_target" in t:
        print(f"  regions meeting the target: {t['regions_meeting_target']}/{t['regions_ok']}")
    print(f"  unreachable: {int(t.get('n_unreachable', 0)):,}; beyond the search limit: {int(t.get('n_beyond_limit', 0)):,}; "
          f"false coverage: {int(t.get('n_false_coverage', 0)):,}; outside every region: {res.meta['outside_regions']:,}")  # fmt: skip
    for _, row in res.failed.iterrows():
        print(f"  failed: {row['region_name']}: {row['error']}")
    print(f"  outputs: {res.out_dir}/ ; map: {res.paths.get('map')}")


def add_batch_command(subparsers: Any) -> dict[str, Any]:
    """Add ``batch`` to ``subparsers``; returns ``{"batch": handler}``."""
    _arguments(subparsers)
    return {"batch": _cmd_batch}
