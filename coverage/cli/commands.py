"""Command-line interface: ``coverage audit``, ``coverage costs``, ``coverage data`` (``coverage serve``: :mod:`.serve`).

Errors in the input print one line and exit with status 2 (``--debug`` shows the
traceback). Progress goes to standard error.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

from .. import __version__
from ..errors import CoverageError, CoverageWarning
from ._args import (
    add_common_flags,
    add_coord_system_flags,
    add_map_flags,
    add_network_flags,
    add_output_flags,
    add_report_flags,
    add_rule_flags,
    check_shared_flags,
    config_from_args,
    map_paths,
    read_input,
    warn_unused_flags,
    writer_keywords,
)
from ._raster import add_raster_flags, raster_demand, raster_lines

logger = logging.getLogger(__name__)


def _add_inputs(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("inputs (all omitted: the embedded model county)")
    add_network_flags(g)
    g.add_argument("--facilities", help="facility points: CSV/XLSX (经度/纬度 columns) or GeoJSON/GPKG")
    g.add_argument("--demand", help="demand points (homes, compounds, villages): CSV/XLSX or GeoJSON/GPKG")
    g.add_argument("--zones", help="zone polygons (communities, villages): GeoJSON/GPKG")
    add_coord_system_flags(g, ["facilities", "demand", "zones"])
    add_raster_flags(g)


def _add_rules(p: argparse.ArgumentParser) -> None:
    g = add_rule_flags(p)
    g.add_argument("--target", type=float, help="coverage target as a share, e.g. 0.9 (zones below it are flagged)")
    g.add_argument("--target-rule", default="radius", choices=["radius", "time", "both"],
                   help="the rule the target is checked on: radius, time or both (default radius)")  # fmt: skip


def _audit_parser(sub: Any) -> None:
    a = sub.add_parser("audit", help="network coverage audit: distance, time, 1000 m and 15-minute rules, map")
    _add_inputs(a)
    _add_rules(a)
    _add_terrain_flags(a)
    add_output_flags(a, "out/audit")
    add_map_flags(a)
    add_report_flags(a)
    add_common_flags(a)


def _add_terrain_flags(p: Any) -> None:
    """The terrain flags of the audit (issue 12): a DEM and the slope model."""
    from ..config import SLOPE_MODELS, TerrainConfig

    d = TerrainConfig()
    g = p.add_argument_group("terrain (walking time on real ground)")
    g.add_argument("--dem", metavar="FILE.tif", help="elevation model (GeoTIFF, any CRS; only the network's window is "
                   "read): also measure the 15-minute circle on the terrain. 'model-county': the generated hill of the "
                   "embedded model county (not measured terrain)")  # fmt: skip
    g.add_argument("--slope-model", choices=SLOPE_MODELS, default=d.slope_model,
                   help="slope-speed function: tobler (Tobler 1993 hiking function normalised to --speed on the flat; "
                   "default) or din33466 (DIN 33466 grade factors of Valhalla's pedestrian costing)")  # fmt: skip
    g.add_argument("--steps-seconds", type=float, default=d.steps_seconds, metavar="S",
                   help=f"extra time per flight of stairs (highway=steps), seconds (default {d.steps_seconds:g}, Valhalla's step penalty)")
    g.add_argument("--crossing-seconds", type=float, default=d.crossing_seconds, metavar="S",
                   help="delay of crossing a major road (trunk/primary/secondary) where a minor road meets it, seconds (default 0: off)")


def _terrain(args: argparse.Namespace, net: Any) -> tuple[Any, Any]:
    """The DEM (``--dem``: a file, or the model county's generated hill) and the terrain
    settings, or ``(None, None)`` without ``--dem``."""
    from ..config import TerrainConfig

    if not getattr(args, "dem", None):
        return None, None
    tcfg = TerrainConfig(slope_model=args.slope_model, steps_seconds=args.steps_seconds, crossing_seconds=args.crossing_seconds)
    if args.dem == "model-county":
        from ..datasets.terrain import model_county_dem

        return model_county_dem(), tcfg
    from ..inputs.terrain import read_dem

    return read_dem(args.dem, net), tcfg


def _costs_parser(sub: Any) -> None:
    c = sub.add_parser("costs", help="sparse demand × site network cost table within a cutoff")
    _add_inputs(c)
    c.add_argument("--sites", "--candidates", dest="sites", help="candidate sites (default: the model county's candidates)")
    add_coord_system_flags(c, ["sites"], default=False)
    g = add_rule_flags(c)
    g.add_argument("--cutoff", type=float, help="cutoff of the table, network metres (default: --search-limit if given, "
                   "else --radius)")  # fmt: skip
    add_output_flags(c, "out/costs", what="output folder (costs.csv and costs.json)")
    add_common_flags(c)


def _site_parser(sub: Any) -> None:
    s = sub.add_parser("site", help="propose new stations / mutual-aid points by optimisation")
    _add_inputs(s)
    _add_rules(s)
    g = s.add_argument_group("candidate sites")
    g.add_argument("--candidates", help="candidate sites file (default: the model county's candidates)")
    add_coord_system_flags(g, ["candidates"], default=False)
    g.add_argument("--osm-candidates", help="also take candidate sites from this OSM file's points of interest")
    g.add_argument("--road-spacing", type=float, help="also take road points every this many metres as candidates")
    g.add_argument("--gaps", action="store_true", help="also take the centres of clusters of uncovered homes")
    m = s.add_argument_group("model")
    m.add_argument("--model", choices=["mclp", "lscp", "pmedian", "pcenter"], default="mclp",
                   help="mclp: most older people covered by --k sites; lscp: fewest sites covering everyone coverable; "
                   "pmedian: least total distance; pcenter: least worst distance (default mclp)")  # fmt: skip
    m.add_argument("--k", type=int, help="number of new sites (mclp, pmedian, pcenter)")
    m.add_argument("--budget", type=float, help="budget in site_cost units (mclp)")
    m.add_argument("--rule", choices=["radius", "time"], default="radius", help="standard to meet: radius or time (default radius)")
    m.add_argument("--one-per-zone", choices=["at_most_one", "at_least_one", "exactly_one"],
                   help="sites per zone of --zones, existing facilities counting (e.g. one mutual-aid point per village)")  # fmt: skip
    m.add_argument("--method", choices=["auto", "exact", "heuristic"], default="auto",
                   help="solver: exact (HiGHS), heuristic (greedy + interchange) or auto (default)")  # fmt: skip
    m.add_argument("--time-limit", type=float, default=60.0, help="solver time limit, s (default 60)")
    m.add_argument("--seed", type=int, default=0, help="random seed of the heuristics (default 0)")
    add_output_flags(s, "out/site")
    add_map_flags(s)
    add_report_flags(s)
    add_common_flags(s)


def _data_parser(sub: Any) -> None:
    d = sub.add_parser("data", help="write example input files of every command (the model county and the workflows' scenarios)")
    d.add_argument("folder", nargs="?", default="data/model_county", help="folder to write into (default data/model_county)")
    d.add_argument("--overwrite", action="store_true", help="replace existing files (without it nothing is replaced)")
    d.add_argument("--population", action="store_true", help="also write population_60plus.tif, a GENERATED 60+ population "
                   "grid of the model county (for --demand-raster)")  # fmt: skip
    add_common_flags(d)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="coverage",
        description="Elderly-care service coverage planner (养老服务设施覆盖评估)",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    _audit_parser(sub)
    _costs_parser(sub)
    _site_parser(sub)
    _data_parser(sub)
    from .batch import add_batch_command
    from .serve import add_serve_command
    from .workflows import add_workflow_commands

    parser.set_defaults(_workflow_handlers={**add_workflow_commands(sub), **add_batch_command(sub), **add_serve_command(sub)})
    return parser


def _load(args: argparse.Namespace):
    """Network, facilities, demand, zones, source label."""
    from ..datasets.model_county import model_county
    from ..inputs.osm import network_from_place, read_network

    given = [args.network, args.place, args.facilities, args.demand]
    raster = raster_demand(args)  # --demand-raster: demand from population grids (None without it)
    if not any(given):
        logger.info("no inputs given: using the embedded model county (generated, not a real place)")
        mc = model_county()
        return mc.network, mc.facilities, mc.demand if raster is None else raster, mc.zones, mc
    if not (args.network or args.place) or not args.facilities or not (args.demand or raster is not None):
        raise CoverageError("give --network (or --place), --facilities and --demand together (--demand-raster instead of --demand "
                            "for a population grid), or none of them for the model county")  # fmt: skip
    logger.info("reading the road network ...")
    if args.place:
        net = network_from_place(args.place, crs=args.crs)
    else:
        net = read_network(args.network, crs=args.crs, edges_path=args.edges)
    logger.info("network: %d nodes, %d edges, %.1f km, CRS %s", net.n_nodes, net.n_edges, net.edge_len_m.sum() / 1000, net.crs)
    fac = read_input(args, "facilities", "facilities")
    dem = read_input(args, "demand", "demand") if raster is None else raster
    zones = read_input(args, "zones") if args.zones else None
    return net, fac, dem, zones, None


#: arguments that name input files, by their flag
_INPUT_FLAGS = ("network", "edges", "facilities", "demand", "zones", "candidates", "sites", "osm_candidates",
                "buildings", "site", "planned", "areas", "centres", "plan", "homes", "residents")  # fmt: skip


def check_inputs_exist(args: argparse.Namespace) -> None:
    """Every input file named on the command line exists (checked before any work)."""
    from ..errors import InputFileError

    for attr in _INPUT_FLAGS:
        value = getattr(args, attr, None)
        if isinstance(value, str) and value and not Path(value).exists():
            flag = "--" + attr.replace("_", "-")
            # the same wording as the readers' own messages (network readers / table readers)
            what = "file not found" if attr in ("network", "edges", "osm_candidates") else "1 problem: file not found"
            raise InputFileError(f"{value}: {what} (given to {flag}). Fix: check the path (working directory: {Path.cwd()}).")


def _embedded(args: argparse.Namespace) -> bool:
    """Whether the command runs on the embedded model county (no input files given)."""
    return not any(getattr(args, k, None) for k in ("network", "place", "facilities", "demand"))


def _cmd_audit(args: argparse.Namespace) -> int:
    from ..audit.run import run_audit
    from ..publish.atomic import check_outputs, output_set
    from ..publish.audit_package import AUDIT_FILES, PACKAGE_FILES, committee_package, write_outputs

    t0 = time.perf_counter()
    # everything that can be refused is refused before any work
    cfg = config_from_args(args)
    _check_terrain_flags(args)
    basemap = check_shared_flags(args, embedded=_embedded(args))
    out = Path(args.out)
    map_path, extra = map_paths(out, "audit_map.html", args.map)  # the map lives in the package; --map: a copy
    targets = [out, map_path, *([extra] if extra else [])]
    planned = [out / f for f in AUDIT_FILES.values()] + targets[1:]
    if args.report:
        planned += [out / f for f in PACKAGE_FILES.values()]
    check_outputs(planned, overwrite=args.overwrite)
    warn_unused_flags(args, write_outputs, *([committee_package] if args.report else []), handled=("report",))
    net, fac, dem, zones, _mc = _load(args)
    elevation, tcfg = _terrain(args, net)
    logger.info("auditing %d demand points against %d facilities ...", len(dem), len(fac))
    res = run_audit(net, fac, dem, zones=zones, config=cfg, target=args.target, target_rule=args.target_rule, run_date=args.date,
                    dem=elevation, terrain=tcfg)  # fmt: skip
    raster_info = raster_lines(res, dem)  # --demand-raster: its totals, also into res.meta (parameters.json)
    logger.info("writing outputs ...")
    package: dict[str, Path] = {}
    # one all-or-nothing set: the tables, the map and the committee package
    with output_set(targets, overwrite=args.overwrite) as stage:
        paths = write_outputs(res, stage.path(out), map_path=stage.path(map_path), overwrite=args.overwrite,
                              **writer_keywords(write_outputs, args, basemap=basemap, only=_MAP_ONLY))  # fmt: skip
        if args.report:
            logger.info("writing the committee package ...")
            package = committee_package(res, stage.path(out), map_html=paths["map"], overwrite=args.overwrite,
                                        **writer_keywords(committee_package, args, only=_REPORT_ONLY))  # fmt: skip
        if extra:
            _copy(paths["map"], stage.path(extra), overwrite=args.overwrite)
    paths = {k: _shown(stage.final(v)) for k, v in paths.items()}
    package = {k: _shown(stage.final(v)) for k, v in package.items()}
    cov = res.coverage  # the one summary every output reads
    print(
        f"{cov.n_points} demand points, {res.meta['n_facilities']} facilities, walking speed {cfg.speed_mps:g} m/s "
        f"({cfg.walk_limit_m:.0f} m in {cfg.time_min:g} min), CRS {net.crs}; weights: {cov.weight_column}"
    )
    for line in cov.lines()[1:] + raster_info:
        print(line)
    if res.terrain is not None:
        t = res.terrain.record()
        print(f"  terrain: DEM {t['dem']}" + (f" ({t['dem_description']})" if t.get("dem_description") else "")
              + f"; slope model {t['slope_model']} ({t['slope_citation']}); stairs +{t['steps_seconds']:g} s per flight "
              "(Valhalla kDefaultStepPenaltyFoot)" + (f"; +{t['crossing_seconds']:g} s per major-road crossing" if t["crossing_seconds"] else "")
              + "; sources in parameters.json")  # fmt: skip
    if len(res.components) > 1:
        print(f"  road network: {len(res.components)} disconnected pieces (largest {res.components.share_length[0]:.1%} of road length)")
    if package:
        extra = "".join(f" ; {k}: {package[k]}" for k in ("pdf", "xlsx") if k in package)
        print(f"  report: {package['report']}{extra}")
    print(f"  outputs: {Path(args.out)}/ ; map: {paths['map']}  ({time.perf_counter() - t0:.1f} s)")
    return 0


def _check_terrain_flags(args: argparse.Namespace) -> None:
    """Refuse bad terrain flags before any work (a missing DEM file, a bad stairs time)."""
    from ..config import TerrainConfig
    from ..errors import InputFileError, ParameterError

    given = TerrainConfig(slope_model=args.slope_model, steps_seconds=args.steps_seconds, crossing_seconds=args.crossing_seconds)
    if not args.dem:
        if given != TerrainConfig():
            raise ParameterError("--slope-model, --steps-seconds and --crossing-seconds need --dem FILE.tif (the elevation model to walk on)")
        return
    if args.dem == "model-county":
        if not _embedded(args):
            raise ParameterError("--dem model-county is the generated hill of the embedded model county; with your own "
                                 "network give your DEM file (--dem FILE.tif)")  # fmt: skip
    elif not Path(args.dem).is_file():
        raise InputFileError(f"{args.dem}: no such DEM file. Fix: give the path of a GeoTIFF elevation model (--dem)")


def _cmd_costs(args: argparse.Namespace) -> int:
    import datetime

    from ..audit.run import audit_cost_table
    from ..publish.atomic import check_outputs, output_set
    from ..publish.tables import write_csv, write_json

    cfg = config_from_args(args)
    cutoff = args.cutoff if args.cutoff is not None else (args.search_limit if args.search_limit is not None else cfg.radius_m)
    out = Path(args.out)
    # --out is the output folder like everywhere; a name ending in .csv is the table itself (the old spelling)
    csv_path = out if out.suffix.lower() == ".csv" else out / "costs.csv"
    json_path = csv_path.with_suffix(".json")
    check_outputs([csv_path, json_path], overwrite=args.overwrite)
    net, _fac, dem, _zones, mc = _load(args)
    if args.sites:
        sites = read_input(args, "sites", "candidates")
    elif mc is not None:
        sites = mc.candidates
    else:
        raise CoverageError("give --sites (candidate sites file)")
    table = audit_cost_table(net, dem, sites, cutoff_m=cutoff, config=cfg)
    params = {"cutoff_m": cutoff, **cfg.as_record(), "crs": net.crs, "source": net.source, "pairs": table.nnz,
              "n_demand": table.n_demand, "n_sites": table.n_sites, "date": args.date or datetime.date.today().isoformat()}  # fmt: skip
    with output_set([csv_path, json_path], overwrite=args.overwrite) as stage:
        write_csv(stage.path(csv_path), table.to_frame(), overwrite=args.overwrite)
        write_json(stage.path(json_path), params, overwrite=args.overwrite)
    print(f"{table.nnz} demand-site pairs within {cutoff:g} m ({table.n_demand} demand × {table.n_sites} sites) -> {_shown(csv_path)}")
    return 0


def _cmd_site(args: argparse.Namespace) -> int:
    import geopandas as gpd
    import pandas as pd

    from ..audit.run import run_audit
    from ..publish.atomic import check_outputs, output_set
    from ..publish.maps import save_map
    from ..publish.site_map import siting_map
    from ..publish.siting_package import (
        SITE_PACKAGE_FILES,
        SITING_FILES,
        siting_committee_package,
        write_siting_outputs,
    )
    from ..siting.candidates import candidates_along_roads, candidates_from_osm, gap_clusters
    from ..siting.propose import propose_sites

    cfg = config_from_args(args)
    basemap = check_shared_flags(args, embedded=_embedded(args))
    out = Path(args.out)
    map_file, extra = map_paths(out, "site_map.html", args.map)
    package_files = [out / f for f in SITE_PACKAGE_FILES.values()] if args.report else []
    check_outputs([out / f for f in SITING_FILES.values()] + package_files + [map_file, *([extra] if extra else [])], overwrite=args.overwrite)
    warn_unused_flags(args, write_siting_outputs, siting_map, *([siting_committee_package] if args.report else []), handled=("report",))
    net, fac, dem, zones, mc = _load(args)
    parts = []
    if args.candidates:
        parts.append(read_input(args, "candidates", "candidates"))
    elif mc is not None:
        parts.append(mc.candidates)
    if args.osm_candidates:
        parts.append(candidates_from_osm(args.osm_candidates))
    if args.road_spacing is not None:
        parts.append(candidates_along_roads(net, spacing_m=args.road_spacing))
    gaps = None
    if args.gaps:
        audit = run_audit(net, fac, dem, config=cfg, with_service_areas=False)
        flag = "covered_radius" if args.rule == "radius" else "covered_time"
        gaps, centres = gap_clusters(audit.demand[~audit.demand[flag]], net, eps_m=cfg.radius_m / 2)
        parts.append(centres)
    if not parts:
        raise CoverageError("no candidate sites: give --candidates, --osm-candidates, --road-spacing or --gaps")
    cand = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs="EPSG:4326")
    logger.info("%d candidate sites; solving %s ...", len(cand), args.model)
    res = propose_sites(
        net, fac, dem, cand, model=args.model, k_new=args.k, budget=args.budget, rule=args.rule, config=cfg,
        zone_rule=args.one_per_zone, zones=zones, method=args.method, time_limit_s=args.time_limit, seed=args.seed,
    )
    m = siting_map(res, zones=zones, gaps=gaps, run_date=args.date, **writer_keywords(siting_map, args, basemap=basemap, only=_MAP_ONLY))
    with output_set([out, map_file, *([extra] if extra else [])], overwrite=args.overwrite) as stage:
        write_siting_outputs(res, stage.path(out), overwrite=args.overwrite, gaps=gaps,
                             **writer_keywords(write_siting_outputs, args, only=_REPORT_ONLY))  # fmt: skip
        staged_map = save_map(m, stage.path(map_file), overwrite=args.overwrite)
        if extra:
            _copy(staged_map, stage.path(extra), overwrite=args.overwrite)
        package: dict[str, Path] = {}
        if args.report:
            logger.info("writing the site-selection package ...")
            package = siting_committee_package(res, stage.path(out), map_html=staged_map, zones=zones, overwrite=args.overwrite,
                                               run_date=args.date, **writer_keywords(siting_committee_package, args, only=_REPORT_ONLY))  # fmt: skip
        map_path = _shown(stage.final(staged_map))
    package = {k: _shown(stage.final(v)) for k, v in package.items()}
    _print_site(res, zones, args, package)
    from ..siting.propose import note_text

    for note in res.notes:  # why: fewer sites than asked for, sites in town, demand no site reaches
        print(f"  note: {note_text(note, 'en')}")
    print(f"  outputs: {args.out}/ ; map: {map_path}")
    return 0


def _print_site(res, zones, args: argparse.Namespace, package: dict[str, str]) -> None:
    """The site selection's console summary: the figures by rule before -> after (the
    numbers of the site map's legend and the site report), the ranked sites with their
    address and what each newly covers."""
    from ..publish.siting_package import site_addresses, site_coverage, site_lines

    sel = res.selection
    bound = "" if sel.proven_optimal else f", best bound {sel.best_bound:.6g}, gap {sel.gap:.2%}"
    print(f"{args.model}: {len(res.proposed)} new sites, objective {sel.objective:.6g} ({sel.status}, {sel.method}{bound}, {sel.seconds:.1f} s)")
    before, after = site_coverage(res, zones=zones, run_date=args.date)
    for line in site_lines(res, before.coverage, after.coverage):
        print(line)
    label = res.study.engine.config.rule_label(res.study.options.rule, lang="en")
    who = "older residents" if after.coverage.weight_column == "elderly" else "weight"
    where = site_addresses(res, zones=zones)
    for row in res.proposed.head(10).itertuples():
        print(f"  {row.rank:>3}. {row.id}  {row.name}  ({where[row.Index]}): +{row.weight_in_reach_newly_covered:,.0f} {who} "
              f"within {label} ({row.n_in_reach_newly_covered} points)")  # fmt: skip
    if package:
        extra = "".join(f" ; {k}: {package[k]}" for k in ("pdf", "xlsx") if k in package)
        print(f"  report: {package['report']}{extra}")


def _cmd_data(args: argparse.Namespace) -> int:
    from ..datasets.model_county import MODEL_COUNTY_FILES, write_model_county
    from ..datasets.terrain import DEM_FILE
    from ..publish.atomic import check_outputs, output_set

    folder = Path(args.folder)
    from ..datasets.population import POPULATION_FILE, write_population

    extra = [POPULATION_FILE] if getattr(args, "population", False) else []
    check_outputs([folder / f for f in [*MODEL_COUNTY_FILES.values(), DEM_FILE, *extra]], overwrite=args.overwrite)
    with output_set([folder], overwrite=args.overwrite) as stage:
        paths = write_model_county(stage.path(folder), overwrite=True)
        if extra:
            paths["population"] = write_population(stage.path(folder) / POPULATION_FILE)
    paths = {k: _shown(stage.final(v)) for k, v in paths.items()}
    for k, p in paths.items():
        print(f"{k}: {p}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.DEBUG if args.debug else (logging.WARNING if args.quiet else logging.INFO)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S", stream=sys.stderr)
    logging.getLogger("pyogrio").setLevel(logging.WARNING)
    if not args.debug:  # Dask's own chatter (cluster start and stop) is not progress
        for name in ("distributed", "bokeh", "tornado"):
            logging.getLogger(name).setLevel(logging.WARNING)
    handlers = {"audit": _cmd_audit, "costs": _cmd_costs, "site": _cmd_site, "data": _cmd_data, **args._workflow_handlers}
    handler = handlers[args.command]
    if args.command != "data":
        handler = _inputs_first(handler)
    logging.captureWarnings(True)
    try:
        with warnings.catch_warnings():
            # the package's warnings are shown (once per message), never turned into errors
            warnings.simplefilter("default", CoverageWarning)
            warnings.showwarning = _show_warning
            return handler(args)
    except (CoverageError, FileNotFoundError, IsADirectoryError) as exc:
        if args.debug:
            raise
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except OSError as exc:
        # disk full, permission denied, a file locked by another program ...: the output
        # sets are all-or-nothing, so nothing was changed
        if args.debug:
            raise
        print(f"error: {_one_line(exc)}. Nothing was written or changed. Fix: check the output folder "
              "(free space, permissions, files open in another program) and run again.", file=sys.stderr)  # fmt: skip
        return 2
    except Exception as exc:  # the last guard: no traceback reaches a planner
        if args.debug:
            raise
        print(f"error: internal error {type(exc).__name__}: {_one_line(exc)}. Nothing was written or changed. "
              "Fix: run again with --debug and report the traceback.", file=sys.stderr)  # fmt: skip
        return 3
    except KeyboardInterrupt:
        print("interrupted; existing outputs were left as they were", file=sys.stderr)
        return 130
    finally:
        logging.captureWarnings(False)


def _inputs_first(handler):
    def run(args: argparse.Namespace) -> int:
        check_inputs_exist(args)
        return handler(args)

    return run


#: the report flags a report writer takes (``--report`` itself is the command's choice)
_REPORT_ONLY = ("pdf", "title", "organisation", "author", "lang", "plan_basis")
#: the map flags a map writer takes
_MAP_ONLY = ("basemap", "tianditu_key")


def _copy(src: str | os.PathLike[str], dst: str | os.PathLike[str], *, overwrite: bool) -> Path:
    """Copy a written file (the interactive map to ``--map``), atomically."""
    from ..publish.atomic import atomic_write_bytes

    return atomic_write_bytes(dst, Path(src).read_bytes(), overwrite=overwrite)


def _shown(path: str | os.PathLike[str]) -> str:
    """A path as the user would write it: relative to the working folder when inside it."""
    rel = os.path.relpath(path)
    return rel if not rel.startswith("..") else str(path)


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Log a warning as one line (``Category: message``), without the source line."""
    logging.getLogger("py.warnings").warning("%s: %s", category.__name__, _one_line(message))
