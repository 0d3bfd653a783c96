"""Command-line interface: ``coverage audit``, ``coverage costs``, ``coverage data``.

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

from .. import __version__
from ..config import DEFAULT_SPEED_MPS
from ..errors import CoverageError, CoverageWarning, ParameterError
from ._args import add_coord_system_flags, add_rule_flags, config_from_args, read_input

logger = logging.getLogger(__name__)


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--debug", action="store_true", help="show tracebacks and debug logging")
    p.add_argument("--quiet", action="store_true", help="only warnings and errors")


def _add_inputs(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("inputs (all omitted: the embedded model county)")
    g.add_argument("--network", help=".osm/.osm.bz2/.osm.pbf/.graphml, or a node table with --edges")
    g.add_argument("--edges", help="edge table (u, v, length_m) for a node-table network")
    g.add_argument("--place", help="download the walking network for a place name with osmnx (needs internet)")
    g.add_argument("--facilities", help="facility points: GeoJSON/GPKG/CSV/XLSX")
    g.add_argument("--demand", help="demand points (homes, compounds, villages): GeoJSON/GPKG/CSV/XLSX")
    g.add_argument("--zones", help="zone polygons (communities, villages): GeoJSON/GPKG")
    add_coord_system_flags(g, ["facilities", "demand", "zones"])
    g.add_argument("--crs", help="metric CRS to work in (default: the UTM zone of the network)")


def _add_rules(p: argparse.ArgumentParser) -> None:
    g = add_rule_flags(p)
    g.add_argument("--target", type=float, help="coverage target as a share, e.g. 0.9")
    g.add_argument("--target-rule", default="radius", choices=["radius", "time", "both"])


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="coverage",
        description="Elderly-care service coverage planner (养老服务设施覆盖评估)",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    a = sub.add_parser("audit", help="network coverage audit: distance, time, 1000 m and 15-minute rules, map")
    _add_inputs(a)
    _add_rules(a)
    a.add_argument("--out", default="out/audit", help="output folder (default out/audit)")
    a.add_argument("--map", default="maps/audit_map.html", help="map file (default maps/audit_map.html)")
    a.add_argument("--basemap", choices=["auto", "osm", "tianditu", "none"], default="auto")
    a.add_argument("--tianditu-key", help="Tianditu key for --basemap tianditu")
    a.add_argument("--date", help="date recorded in outputs (default today)")
    a.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    a.add_argument(
        "--report",
        action="store_true",
        help="also write the committee package into --out: audit_report.html (+ .pdf with Chromium), "
        "audit_map.png, audit_tables.xlsx and charts",
    )
    _add_common(a)

    c = sub.add_parser("costs", help="sparse demand × site network cost table within a cutoff")
    _add_inputs(c)
    c.add_argument("--sites", help="candidate sites (default: the model county's candidates)")
    add_coord_system_flags(c, ["sites"], default=False)
    c.add_argument("--cutoff", type=float, default=1000.0, help="cutoff, network metres")
    c.add_argument("--speed", type=float, default=DEFAULT_SPEED_MPS, help=f"walking speed, m/s (default {DEFAULT_SPEED_MPS})")
    c.add_argument("--out", default="out/costs.csv", help="output CSV")
    c.add_argument("--overwrite", action="store_true")
    _add_common(c)

    s = sub.add_parser("site", help="propose new stations / mutual-aid points by optimisation")
    _add_inputs(s)
    _add_rules(s)
    s.add_argument("--candidates", help="candidate sites file (default: the model county's candidates)")
    add_coord_system_flags(s, ["candidates"], default=False)
    s.add_argument("--osm-candidates", help="also take candidate sites from this OSM file's points of interest")
    s.add_argument("--road-spacing", type=float, help="also take road points every this many metres as candidates")
    s.add_argument("--gaps", action="store_true", help="also take the centres of clusters of uncovered homes")
    s.add_argument("--model", choices=["mclp", "lscp", "pmedian", "pcenter"], default="mclp")
    s.add_argument("--k", type=int, help="number of new sites (mclp, pmedian, pcenter)")
    s.add_argument("--budget", type=float, help="budget in site_cost units (mclp)")
    s.add_argument("--rule", choices=["radius", "time"], default="radius", help="standard to meet")
    s.add_argument("--one-per-zone", choices=["at_most_one", "at_least_one", "exactly_one"], help="zone rule (e.g. one mutual-aid point per village)")
    s.add_argument("--method", choices=["auto", "exact", "heuristic"], default="auto")
    s.add_argument("--time-limit", type=float, default=60.0, help="solver time limit, s")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--out", default="out/site", help="output folder")
    s.add_argument("--basemap", choices=["auto", "osm", "tianditu", "none"], default="auto")
    s.add_argument("--tianditu-key", help="Tianditu key for --basemap tianditu")
    s.add_argument("--date", help="date recorded in outputs (default today)")
    s.add_argument("--overwrite", action="store_true")
    _add_common(s)

    d = sub.add_parser("data", help="write the embedded model county's input files")
    d.add_argument("folder", nargs="?", default="data/model_county")
    d.add_argument("--overwrite", action="store_true")
    _add_common(d)
    from .workflows import add_workflow_commands

    parser.set_defaults(_workflow_handlers=add_workflow_commands(sub))
    return parser


def _load(args: argparse.Namespace):
    """Network, facilities, demand, zones, source label."""
    from ..datasets.model_county import model_county
    from ..inputs.osm import network_from_place, read_network

    given = [args.network, args.place, args.facilities, args.demand]
    if not any(given):
        logger.info("no inputs given: using the embedded model county (generated, not a real place)")
        mc = model_county()
        return mc.network, mc.facilities, mc.demand, mc.zones, mc
    if not (args.network or args.place) or not args.facilities or not args.demand:
        raise CoverageError("give --network (or --place), --facilities and --demand together, or none of them for the model county")
    logger.info("reading the road network ...")
    if args.place:
        net = network_from_place(args.place, crs=args.crs)
    else:
        net = read_network(args.network, crs=args.crs, edges_path=args.edges)
    logger.info("network: %d nodes, %d edges, %.1f km, CRS %s", net.n_nodes, net.n_edges, net.edge_len_m.sum() / 1000, net.crs)
    fac = read_input(args, "facilities", "facilities")
    dem = read_input(args, "demand", "demand")
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


def _basemap(args: argparse.Namespace, embedded: bool) -> str:
    """The basemap to draw, checked before any work (Tianditu needs its key)."""
    basemap = args.basemap if args.basemap != "auto" else ("none" if embedded else "osm")
    if basemap == "tianditu" and not (args.tianditu_key and args.tianditu_key.strip()):
        raise ParameterError("--basemap tianditu needs a Tianditu key. Fix: pass --tianditu-key KEY (a browser key from the Tianditu console), or choose --basemap osm / none.")
    return basemap


def _cmd_audit(args: argparse.Namespace) -> int:
    from ..audit.run import run_audit
    from ..publish.atomic import check_outputs, output_set
    from ..publish.audit_package import AUDIT_FILES, PACKAGE_FILES, committee_package, write_outputs

    t0 = time.perf_counter()
    # everything that can be refused is refused before any work
    cfg = config_from_args(args)
    basemap = _basemap(args, _embedded(args))
    out, map_path = Path(args.out), Path(args.map)
    planned = [out / f for f in AUDIT_FILES.values()] + [map_path]
    if args.report:
        planned += [out / f for f in PACKAGE_FILES.values()]
    check_outputs(planned, overwrite=args.overwrite)
    net, fac, dem, zones, _mc = _load(args)
    logger.info("auditing %d demand points against %d facilities ...", len(dem), len(fac))
    res = run_audit(net, fac, dem, zones=zones, config=cfg, target=args.target, target_rule=args.target_rule, run_date=args.date)
    logger.info("writing outputs ...")
    package: dict[str, Path] = {}
    # one all-or-nothing set: the tables, the map and the committee package
    with output_set([out, map_path], overwrite=args.overwrite) as stage:
        paths = write_outputs(res, stage.path(out), map_path=stage.path(map_path), overwrite=args.overwrite, basemap=basemap, tianditu_key=args.tianditu_key)
        if args.report:
            logger.info("writing the committee package ...")
            package = committee_package(res, stage.path(out), map_html=paths["map"], overwrite=args.overwrite)
    paths = {k: _shown(stage.final(v)) for k, v in paths.items()}
    package = {k: _shown(stage.final(v)) for k, v in package.items()}
    s = res.summary.iloc[0]
    print(
        f"{int(s.n_points)} demand points, {res.meta['n_facilities']} facilities, walking speed {cfg.speed_mps} m/s "
        f"({cfg.walk_limit_m:.0f} m in {cfg.time_min:g} min), CRS {net.crs}"
    )
    print(f"  within {cfg.radius_m:g} m by road:  {int(s.n_covered_radius)}/{int(s.n_points)} ({s.share_radius:.1%}); weighted {s.wshare_radius:.1%}")
    print(f"  within {cfg.time_min:g} min walk:    {int(s.n_covered_time)}/{int(s.n_points)} ({s.share_time:.1%}); weighted {s.wshare_time:.1%}")
    print(f"  false coverage (circle yes, road no): {int(s.n_false_coverage)}; unreachable (off-road): {int(s.n_unreachable)}")
    if len(res.components) > 1:
        print(f"  road network: {len(res.components)} disconnected pieces (largest {res.components.share_length[0]:.1%} of road length)")
    if package:
        extra = "".join(f" ; {k}: {package[k]}" for k in ("pdf", "xlsx") if k in package)
        print(f"  report: {package['report']}{extra}")
    print(f"  outputs: {Path(args.out)}/ ; map: {paths['map']}  ({time.perf_counter() - t0:.1f} s)")
    return 0


def _cmd_costs(args: argparse.Namespace) -> int:
    from ..audit.run import audit_cost_table
    from ..config import AuditConfig
    from ..publish.atomic import check_outputs
    from ..publish.tables import write_csv

    cfg = AuditConfig(speed_mps=args.speed)
    check_outputs([args.out], overwrite=args.overwrite)
    net, _fac, dem, _zones, mc = _load(args)
    if args.sites:
        sites = read_input(args, "sites", "candidates")
    elif mc is not None:
        sites = mc.candidates
    else:
        raise CoverageError("give --sites (candidate sites file)")
    table = audit_cost_table(net, dem, sites, cutoff_m=args.cutoff, config=cfg)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    write_csv(args.out, table.to_frame(), overwrite=args.overwrite)
    print(f"{table.nnz} demand-site pairs within {args.cutoff:g} m ({table.n_demand} demand × {table.n_sites} sites) -> {args.out}")
    return 0


def _cmd_site(args: argparse.Namespace) -> int:
    import geopandas as gpd
    import pandas as pd

    from ..audit.run import run_audit
    from ..publish.atomic import check_outputs, output_set
    from ..publish.siting_package import SITING_FILES, write_siting_outputs
    from ..siting.candidates import candidates_along_roads, candidates_from_osm, gap_clusters
    from ..siting.propose import propose_sites

    cfg = config_from_args(args)
    basemap = _basemap(args, _embedded(args))
    out = Path(args.out)
    check_outputs([out / f for f in SITING_FILES.values()] + [out / "site_map.html"], overwrite=args.overwrite)
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
    from ..publish.maps import save_map
    from ..publish.site_map import siting_map

    m = siting_map(res, zones=zones, gaps=gaps, basemap=basemap, tianditu_key=args.tianditu_key, run_date=args.date)
    with output_set([out], overwrite=args.overwrite) as stage:
        write_siting_outputs(res, stage.path(out), overwrite=args.overwrite, gaps=gaps)
        map_path = _shown(stage.final(save_map(m, stage.path(out / "site_map.html"), overwrite=args.overwrite)))
    sel = res.selection
    ba = res.before_after.iloc[0]
    bound = "" if sel.proven_optimal else f", best bound {sel.best_bound:.6g}, gap {sel.gap:.2%}"
    print(f"{args.model}: {len(res.proposed)} new sites, objective {sel.objective:.6g} ({sel.status}, {sel.method}{bound}, {sel.seconds:.1f} s)")
    print(f"  covered: {int(ba.n_covered_before)} -> {int(ba.n_covered_after)} of {int(ba.n_points)} points; weighted {ba.wshare_before:.1%} -> {ba.wshare_after:.1%}")
    for row in res.proposed.head(10).itertuples():
        print(f"  {row.rank:>3}. {row.id}  {row.name}  (+{row.marginal_gain:.6g})")
    if len(sel.uncoverable):
        print(f"  {len(sel.uncoverable)} demand points no candidate can reach: {', '.join(map(str, sel.uncoverable[:10]))}")
    print(f"  outputs: {args.out}/ ; map: {map_path}")
    return 0


def _cmd_data(args: argparse.Namespace) -> int:
    from ..datasets.model_county import MODEL_COUNTY_FILES, write_model_county
    from ..publish.atomic import check_outputs, output_set

    folder = Path(args.folder)
    check_outputs([folder / f for f in MODEL_COUNTY_FILES.values()], overwrite=args.overwrite)
    with output_set([folder], overwrite=args.overwrite) as stage:
        paths = write_model_county(stage.path(folder), overwrite=True)
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


def _shown(path: str | os.PathLike[str]) -> str:
    """A path as the user would write it: relative to the working folder when inside it."""
    rel = os.path.relpath(path)
    return rel if not rel.startswith("..") else str(path)


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Log a warning as one line (``Category: message``), without the source line."""
    logging.getLogger("py.warnings").warning("%s: %s", category.__name__, _one_line(message))
