"""CLI subcommands of the planning workflows: ``review``, ``makeup``, ``villages``,
``consolidate`` and ``targets``.

:func:`add_workflow_commands` adds them to the ``coverage`` command's subparsers and
returns their handlers by name. Every subcommand takes the flags all commands share
(:mod:`._args`: network, coordinate systems, rules, ``--out --overwrite --date``, map and
report flags forwarded to its writer's keywords, ``--debug --quiet``); its inputs default to the embedded GENERATED
scenario on the model county (:mod:`coverage.datasets.scenarios`) when ``--network`` is
omitted, and must all be given with ``--network``. Each prints a short summary.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import CoverageError
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
    read_input,
    warn_unused_flags,
    writer_keywords,
)

__all__ = ["add_workflow_commands"]

logger = logging.getLogger(__name__)

Handler = Callable[[argparse.Namespace], int]


#: the workflow inputs that are point or zone files (each gets its own --<input>-coord-system)
_GEO_INPUTS = ("buildings", "site", "facilities", "planned", "areas", "candidates", "demand", "zones", "centres",
               "homes", "residents")  # fmt: skip


def _common(p: argparse.ArgumentParser, out: str) -> None:
    g = p.add_argument_group("road network (omitted: the embedded model county scenario)")
    add_network_flags(g)
    # --coord-system for all inputs, and --<input>-coord-system for each input file defined above
    inputs = [a.dest for a in p._actions if a.dest in _GEO_INPUTS]
    add_coord_system_flags(p, inputs)
    add_rule_flags(p)
    add_output_flags(p, out)
    add_map_flags(p)
    add_report_flags(p, always=True)
    add_common_flags(p)


class _Inputs:
    """Reads the given files, or falls back to the embedded scenario (only without --network)."""

    def __init__(self, args: argparse.Namespace, needed: dict[str, str]) -> None:
        self.args = args
        self.embedded = not (args.network or args.place)
        if not self.embedded:
            missing = [f"--{flag}" for flag, attr in needed.items() if not getattr(args, attr)]
            if missing:
                raise CoverageError(f"with --network give {', '.join(missing)} too (or omit --network for the embedded scenario)")
        self._net = None
        self.basemap = check_shared_flags(args, embedded=self.embedded)

    @property
    def network(self):
        if self._net is None:
            if self.embedded:
                from ..datasets.model_county import model_county

                logger.info("no --network: using the embedded model county (generated, not a real place)")
                self.county = model_county()
                self._net = self.county.network
            elif self.args.place:
                from ..inputs.osm import network_from_place

                self._net = network_from_place(self.args.place, crs=self.args.crs)
            else:
                from ..inputs.osm import read_network

                self._net = read_network(self.args.network, crs=self.args.crs, edges_path=self.args.edges)
        return self._net

    def points(self, attr: str, kind: str, default: Callable[[], Any] | None = None):
        """The points of ``--<attr>`` in their coordinate system (``--<attr>-coord-system``,
        else ``--coord-system``), or ``default()``."""
        if getattr(self.args, attr, None):
            return read_input(self.args, attr, kind)
        return default() if default is not None else None

    def zones(self, attr: str, default: Callable[[], Any] | None = None):
        """The zones of ``--<attr>`` (in their coordinate system), or ``default()``."""
        if getattr(self.args, attr, None):
            return read_input(self.args, attr)
        return default() if default is not None else None


def _write(writer: Callable[..., dict[str, Path]], result: Any, args: argparse.Namespace, basemap: str) -> dict[str, Path]:
    """Write a workflow's outputs into ``--out`` as one all-or-nothing set, with the map and
    report flags its writer takes, and the copy of its map given by ``--map``."""
    from ..publish.atomic import output_set

    out = Path(args.out)
    extra = getattr(args, "map", None)
    with output_set([out, *([Path(extra)] if extra else [])], overwrite=args.overwrite) as stage:
        paths = writer(result, stage.path(out), overwrite=args.overwrite, **writer_keywords(writer, args, basemap=basemap))
        if extra and "map" in paths and Path(extra).resolve() != stage.final(paths["map"]).resolve():
            from ..publish.atomic import atomic_write_bytes

            atomic_write_bytes(stage.path(extra), Path(paths["map"]).read_bytes(), overwrite=args.overwrite)
    return {k: stage.final(v) for k, v in paths.items()}


def _ids(text: str | None) -> list[str] | None:
    return None if not text else [s.strip() for s in text.split(",") if s.strip()]


# --------------------------------------------------------------------------- review
def _cmd_review(args: argparse.Namespace) -> int:
    from ..datasets.scenarios import development_scenario
    from ..workflows.review import (
        ReviewOptions,
        review_development,
        review_lines,
        write_review_outputs,
    )

    inp = _Inputs(args, {"buildings": "buildings", "facilities": "facilities"} if not args.site else {"facilities": "facilities"})
    net = inp.network
    sc = development_scenario(inp.county) if inp.embedded else None
    buildings = inp.points("buildings", "demand", (lambda: sc.buildings) if sc else None)
    site = inp.zones("site", (lambda: sc.site) if sc else None)
    facilities = inp.points("facilities", "facilities", (lambda: sc.county.facilities) if sc else None)
    planned = inp.points("planned", "candidates", (lambda: sc.planned) if sc and not args.no_planned else None)
    provided = args.provided_m2 if args.provided_m2 is not None else (sc.provided_floor_m2 if sc and planned is not None else None)
    area = args.area_type or (sc.area_type if sc else "new")
    opt = ReviewOptions(provided_floor_m2=provided, households=args.households, area_type=area,
                        rules=tuple(_ids(args.rules) or ()), run_date=args.date,
                        **({"search_cutoff_m": args.search_limit} if args.search_limit else {}))  # fmt: skip
    res = review_development(net, buildings=buildings, facilities=facilities, site=site, planned=planned, options=opt,
                             config=config_from_args(args))  # fmt: skip
    paths = _write(write_review_outputs, res, args, inp.basemap)
    for line in review_lines(res):  # the same words and numbers as the sheet's page 1
        print(line)
    print(f"  review sheet: {paths['sheet']}")
    return 0


# --------------------------------------------------------------------------- makeup
def _cmd_makeup(args: argparse.Namespace) -> int:
    from ..datasets.scenarios import makeup_candidates
    from ..workflows.makeup import MakeupOptions, makeup_lines, plan_makeup, write_makeup_outputs

    inp = _Inputs(args, {"facilities": "facilities", "areas": "areas"})
    net = inp.network
    mc = inp.county if inp.embedded else None

    def town():
        z = mc.zones
        return mc.demand[mc.demand["zone_id"].isin(z.loc[z["kind"] == "community", "zone_id"])]

    fac = inp.points("facilities", "facilities", (lambda: mc.facilities) if mc else None)
    areas = inp.points("areas", "demand", town if mc else None)
    cand = inp.points("candidates", "candidates", (lambda: makeup_candidates(mc)) if mc else None)
    opt = MakeupOptions(use_gaps=not args.no_gaps, model=args.model, k_new=args.k, rule=args.rule,
                        time_limit_s=args.time_limit, run_date=args.date)  # fmt: skip
    res = plan_makeup(net, facilities=fac, areas=areas, candidates=cand, options=opt, config=config_from_args(args))
    paths = _write(write_makeup_outputs, res, args, inp.basemap)
    for line in makeup_lines(res):  # the same words and numbers as the report's page 1
        print(line)
    print(f"  outputs: {Path(args.out)}/ ; map: {paths['map']}")
    return 0


# --------------------------------------------------------------------------- villages
def _cmd_villages(args: argparse.Namespace) -> int:

    from ..datasets.scenarios import village_scenario
    from ..workflows.villages import (
        VillagePlanOptions,
        plan_village_points,
        read_plan,
        village_lines,
        write_village_outputs,
    )

    inp = _Inputs(args, {"facilities": "facilities", "demand": "demand", "zones": "zones", "centres": "centres"})
    net = inp.network
    sc = village_scenario(inp.county) if inp.embedded else None
    fac = inp.points("facilities", "facilities", (lambda: sc.facilities) if sc else None)
    dem = inp.points("demand", "demand", (lambda: sc.county.demand) if sc else None)
    zones = inp.zones("zones", (lambda: sc.county.zones) if sc else None)
    cand = inp.points("candidates", "candidates", (lambda: sc.county.candidates) if sc else None)
    centres = inp.points("centres", "facilities", (lambda: sc.centres) if sc else None)
    plan = read_plan(args.plan) if args.plan else (sc.plan if sc else None)  # typed errors naming the file
    opt = VillagePlanOptions(target=args.target, plan=plan, model=args.model, centre_rule=args.centre_rule,
                             time_limit_s=args.time_limit, run_date=args.date)  # fmt: skip
    res = plan_village_points(net, facilities=fac, demand=dem, zones=zones, candidates=cand, centres=centres, options=opt,
                              config=config_from_args(args))  # fmt: skip
    paths = _write(write_village_outputs, res, args, inp.basemap)
    for line in village_lines(res):  # the figures' one wording, shared with the report and `coverage targets`
        print(line)
    print(f"  outputs: {Path(args.out)}/ ; task table: {paths['townships']}")
    return 0


# --------------------------------------------------------------------------- consolidate
#: the road distance searched from a resident group's village to the homes (--search-limit)
_HOMES_SEARCH_M = 50_000.0


def _cmd_consolidate(args: argparse.Namespace) -> int:
    from ..datasets.scenarios import consolidation_scenario
    from ..workflows.consolidation import (
        ConsolidationOptions,
        consolidate_homes,
        consolidation_lines,
        write_consolidation_outputs,
    )

    inp = _Inputs(args, {"homes": "homes", "residents": "residents"})
    net = inp.network
    sc = consolidation_scenario(inp.county) if inp.embedded else None
    homes = inp.points("homes", "facilities", (lambda: sc.homes) if sc else None)
    residents = inp.points("residents", "demand", (lambda: sc.residents) if sc else None)
    keep, close = _ids(args.keep), _ids(args.close)
    if sc is not None and keep is None and close is None and not args.homes:
        keep = list(sc.keep)
    must = _ids(args.must_keep) or (list(sc.must_keep) if sc and not args.homes else [])
    alts: dict[str, list[str]] = {}
    for text in args.alternative or []:
        label, _, ids = text.partition("=")
        if not ids:
            raise CoverageError(f"--alternative {text!r}: write label=ID,ID,... (e.g. 'A=F05,N01,N04,F08')")
        alts[label.strip()] = _ids(ids) or []
    if sc is not None and not alts and not args.homes:
        alts = {k: list(v) for k, v in sc.alternatives.items()}
    opt = ConsolidationOptions(keep=keep, close=close, must_keep=must, alternatives=alts, compare_optimum=not args.no_optimum,
                               cutoff_m=args.search_limit or _HOMES_SEARCH_M, time_limit_s=args.time_limit, run_date=args.date)  # fmt: skip
    res = consolidate_homes(net, homes=homes, residents=residents, options=opt, config=config_from_args(args))
    _write(write_consolidation_outputs, res, args, inp.basemap)
    for line in consolidation_lines(res):  # the same words and numbers as the report's page 1
        print(line)
    print(f"  outputs: {Path(args.out)}/")
    return 0


# --------------------------------------------------------------------------- targets
def _cmd_targets(args: argparse.Namespace) -> int:
    from ..audit.run import run_audit
    from ..datasets.scenarios import DEFAULT_TARGETS
    from ..workflows.targets import check_targets, targets_lines, write_targets_outputs

    inp = _Inputs(args, {"facilities": "facilities", "demand": "demand", "zones": "zones"})
    net = inp.network
    mc = inp.county if inp.embedded else None
    fac = inp.points("facilities", "facilities", (lambda: mc.facilities) if mc else None)
    dem = inp.points("demand", "demand", (lambda: mc.demand) if mc else None)
    zones = inp.zones("zones", (lambda: mc.zones) if mc else None)
    targets: Any = args.target if args.target is not None else {
        "community": args.target_community if args.target_community is not None else DEFAULT_TARGETS["community"],
        "village": args.target_village if args.target_village is not None else DEFAULT_TARGETS["village"],
    }  # fmt: skip
    audit = run_audit(net, fac, dem, zones=zones, config=config_from_args(args), run_date=args.date)
    res = check_targets(audit, targets=targets, measure=args.measure)
    _write(write_targets_outputs, res, args, inp.basemap)
    for line in targets_lines(res):  # the figures' one wording, shared with the report
        print(line)
    print(f"  outputs: {Path(args.out)}/")
    return 0


# --------------------------------------------------------------------------- arguments
def _input(p: Any, flag: str, what: str, example: str) -> None:
    """An input file flag: what it holds and the example ``coverage data`` writes (columns: README "Workflow inputs")."""
    p.add_argument(f"--{flag}", help=f"{what} (example: {example} from `coverage data`; columns in Chinese or English)")


def _review_arguments(subparsers: Any) -> argparse.ArgumentParser:
    r = subparsers.add_parser("review", help="development review (新建小区配建): floor space and distance of every building")
    _input(r, "buildings", "building points with households (户数)", "buildings.csv")
    _input(r, "site", "site polygon (用地红线), GeoJSON/GPKG", "site.geojson")
    _input(r, "facilities", "existing facilities", "facilities.csv")
    _input(r, "planned", "the development's planned elderly-care room(s) with floor space (建筑面积)", "planned.csv")
    r.add_argument("--no-planned", action="store_true", help="embedded scenario: review without the planned facility")
    r.add_argument("--households", type=float, help="households of the development (default: the buildings' total)")
    r.add_argument("--provided-m2", type=float, help="elderly-care floor space provided, m² (default: the planned rooms' total)")
    r.add_argument("--area-type", choices=["new", "existing"], help="new (20 m²/100 households) or existing (15)")
    r.add_argument("--rules", default="radius,time", help="rules deciding the verdict (default radius,time)")
    return r


def _makeup_arguments(subparsers: Any) -> argparse.ArgumentParser:
    m = subparsers.add_parser("makeup", help="existing-area make-up: sites that close the gap, floor space each needs")
    _input(m, "facilities", "existing facilities", "facilities.csv")
    _input(m, "areas", "residential areas (compounds, 小区) with households (户数)", "areas.csv")
    _input(m, "candidates", "candidate sites (vacant buildings, rooms to rent)", "makeup_candidates.csv")
    m.add_argument("--no-gaps", action="store_true", help="do not add the centres of gap clusters as candidates")
    m.add_argument("--model", choices=["lscp", "mclp"], default="lscp",
                   help="lscp: fewest sites bringing every area within the standard (default); mclp: --k sites, most "
                   "older residents")  # fmt: skip
    m.add_argument("--k", type=int, help="number of sites (mclp)")
    m.add_argument("--rule", choices=["radius", "time"], default="radius", help="standard to meet: radius or time (default radius)")
    m.add_argument("--time-limit", type=float, default=60.0, help="solver time limit, s (default 60)")
    return m


def _villages_arguments(subparsers: Any) -> argparse.ArgumentParser:
    v = subparsers.add_parser("villages", help="village mutual-aid points: one per village, centre with points, task table")
    _input(v, "facilities", "existing facilities; 类型 (kind) village_point / 村级互助养老点 marks the existing points", "facilities.csv")
    _input(v, "demand", "homes and hamlets", "demand.csv")
    _input(v, "zones", "village polygons with 类型 (kind) and 乡镇 (township)", "zones.geojson")
    _input(v, "candidates", "candidate sites (service centres, clinics, public buildings)", "candidates.csv")
    _input(v, "centres", "township centres with 乡镇 (township)", "centres.csv")
    _input(v, "plan", "task table: 乡镇 (township) and planned points per year (2021年计划 / planned_2021 ...)", "plan.csv")
    v.add_argument("--target", type=float, default=0.85, help="share of villages with a point (default 0.85)")
    v.add_argument("--model", choices=["pmedian", "mclp"], default="pmedian",
                   help="pmedian: exactly the points needed, least distance (default); mclp: most older residents "
                   "within the radius")  # fmt: skip
    v.add_argument("--centre-rule", choices=["nearest", "own_township"], default="nearest",
                   help="each point's township centre: the nearest by road (default) or the nearest of its own township")  # fmt: skip
    v.add_argument("--time-limit", type=float, default=60.0, help="solver time limit, s (default 60)")
    return v


def _consolidate_arguments(subparsers: Any) -> argparse.ArgumentParser:
    c = subparsers.add_parser("consolidate", help='nursing-home consolidation ("1+3"): reassignment, capacity, keep-sets')
    _input(c, "homes", "nursing homes with beds (床位) and optionally 处置 (action) keep/close (保留/撤并)", "homes.csv")
    _input(c, "residents", "resident groups at their village of origin: 所在机构 (home_id), 人数 (count)", "residents.csv")
    c.add_argument("--keep", help="home ids to keep, comma-separated")
    c.add_argument("--close", help="home ids to close, comma-separated")
    c.add_argument("--must-keep", help="home ids every optimised keep-set contains")
    c.add_argument("--alternative", action="append", help="another keep-set, label=ID,ID,... (repeatable)")
    c.add_argument("--no-optimum", action="store_true", help="skip the p-median optimum keep-sets")
    c.add_argument("--cutoff", dest="search_limit", type=float, help=argparse.SUPPRESS)  # the old spelling of --search-limit
    c.add_argument("--time-limit", type=float, default=30.0, help="solver time limit per call, s (default 30)")
    return c


def _targets_arguments(subparsers: Any) -> argparse.ArgumentParser:
    t = subparsers.add_parser("targets", help="coverage per zone against the plan's targets (communities, villages)")
    _input(t, "facilities", "facility points", "facilities.csv")
    _input(t, "demand", "demand points", "demand.csv")
    _input(t, "zones", "zones with 类型 (kind) community/village (社区/村)", "zones.geojson")
    t.add_argument("--target", type=float, help="one target for every zone")
    t.add_argument("--target-community", type=float, help="target of communities (default 1.0)")
    t.add_argument("--target-village", type=float, help="target of villages (default 0.85)")
    t.add_argument("--measure", choices=["share_radius", "share_time", "wshare_radius", "wshare_time"], default="share_radius",
                   help="what is compared with the target: the share of homes within the radius (default) or the walk, "
                   "or the share weighted by older residents (wshare_*)")  # fmt: skip
    return t


#: per command: the function adding it with its own arguments, its default output folder, its handler
_COMMANDS: dict[str, tuple[Callable[[Any], argparse.ArgumentParser], str, Handler]] = {
    "review": (_review_arguments, "out/review", _cmd_review),
    "makeup": (_makeup_arguments, "out/makeup", _cmd_makeup),
    "villages": (_villages_arguments, "out/villages", _cmd_villages),
    "consolidate": (_consolidate_arguments, "out/consolidate", _cmd_consolidate),
    "targets": (_targets_arguments, "out/targets", _cmd_targets),
}


def add_workflow_commands(subparsers: Any) -> dict[str, Handler]:
    """Add the workflow subcommands to ``subparsers`` and return their handlers by name.

    Parameters
    ----------
    subparsers
        The object returned by :meth:`argparse.ArgumentParser.add_subparsers`.

    Returns
    -------
    dict
        ``{"review": handler, "makeup": ..., "villages": ..., "consolidate": ...,
        "targets": ...}``; each handler takes the parsed arguments and returns the exit
        status.

    Examples
    --------
    >>> import argparse
    >>> parser = argparse.ArgumentParser(prog="coverage")
    >>> handlers = add_workflow_commands(parser.add_subparsers(dest="command"))
    >>> sorted(handlers)
    ['consolidate', 'makeup', 'review', 'targets', 'villages']
    """
    handlers = {}
    for name, (add_arguments, out, handler) in _COMMANDS.items():
        p = add_arguments(subparsers)
        _common(p, out)
        if name == "consolidate":
            limit = next(a for a in p._actions if "--search-limit" in a.option_strings)
            limit.help = f"road distance searched from the villages of origin to the homes, m (default {_HOMES_SEARCH_M:g})"
        handlers[name] = _checked_first(name, handler)
    return handlers


#: per command: the workflow module, its table of output files, the report's key, its writer
_OUTPUTS = {
    "review": ("review", "REVIEW_FILES", "sheet", "write_review_outputs"),
    "makeup": ("makeup", "MAKEUP_FILES", "report", "write_makeup_outputs"),
    "villages": ("villages", "VILLAGE_FILES", "report", "write_village_outputs"),
    "consolidate": ("consolidation", "CONSOLIDATION_FILES", "report", "write_consolidation_outputs"),
    "targets": ("targets", "TARGETS_FILES", "report", "write_targets_outputs"),
}


def _checked_first(name: str, handler: Handler) -> Handler:
    """``handler`` behind the checks that need no data: the rules and the output files.

    A command that will be refused (an output exists without ``--overwrite``, a rule out
    of range) is refused before anything is read or computed; the writers themselves are
    all-or-nothing (:func:`coverage.publish.atomic.writes_output_set`).
    """
    import importlib

    from ..publish.atomic import check_outputs

    module, table, report, writer = _OUTPUTS[name]

    def run(args: argparse.Namespace) -> int:
        config_from_args(args)
        mod = importlib.import_module(f"coverage.workflows.{module}")
        files = getattr(mod, table)
        out = Path(args.out)
        planned = [out / f for f in files.values()]
        if args.pdf:
            planned.append((out / files[report]).with_suffix(".pdf"))
        if getattr(args, "map", None):
            planned.append(Path(args.map))
        check_outputs(planned, overwrite=args.overwrite)
        warn_unused_flags(args, getattr(mod, writer))
        return handler(args)

    return run
