"""CLI subcommands of the planning workflows: ``review``, ``makeup``, ``villages``,
``consolidate`` and ``targets``.

:func:`add_workflow_commands` adds them to the ``coverage`` command's subparsers and
returns their handlers by name. Every subcommand takes ``--out``, ``--overwrite``,
``--date``, ``--debug`` and ``--quiet``; its inputs default to the embedded GENERATED
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
from ._args import add_coord_system_flags, add_rule_flags, config_from_args, read_input

__all__ = ["add_workflow_commands"]

logger = logging.getLogger(__name__)

Handler = Callable[[argparse.Namespace], int]


#: the workflow inputs that are point or zone files (each gets its own --<input>-coord-system)
_GEO_INPUTS = ("buildings", "site", "facilities", "planned", "areas", "candidates", "demand", "zones", "centres",
               "homes", "residents")  # fmt: skip


def _common(p: argparse.ArgumentParser, out: str) -> None:
    p.add_argument("--network", help="road network (.osm/.osm.pbf/.graphml); omitted: the embedded model county scenario")
    # --coord-system for all inputs, and --<input>-coord-system for each input file defined above
    inputs = [a.dest for a in p._actions if a.dest in _GEO_INPUTS]
    add_coord_system_flags(p, inputs)
    p.add_argument("--crs", help="metric CRS to work in (default: the UTM zone of the network)")
    add_rule_flags(p)
    p.add_argument("--out", default=out, help=f"output folder (default {out})")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    p.add_argument("--date", help="date recorded in outputs (default today)")
    p.add_argument("--pdf", action="store_true", help="also write the report as PDF (needs a browser)")
    p.add_argument("--debug", action="store_true", help="show tracebacks and debug logging")
    p.add_argument("--quiet", action="store_true", help="only warnings and errors")


class _Inputs:
    """Reads the given files, or falls back to the embedded scenario (only without --network)."""

    def __init__(self, args: argparse.Namespace, needed: dict[str, str]) -> None:
        self.args = args
        self.embedded = not args.network
        if not self.embedded:
            missing = [f"--{flag}" for flag, attr in needed.items() if not getattr(args, attr)]
            if missing:
                raise CoverageError(f"with --network give {', '.join(missing)} too (or omit --network for the embedded scenario)")
        self._net = None
        self.basemap = "none" if self.embedded else "osm"

    @property
    def network(self):
        if self._net is None:
            if self.embedded:
                from ..datasets.model_county import model_county

                logger.info("no --network: using the embedded model county (generated, not a real place)")
                self.county = model_county()
                self._net = self.county.network
            else:
                from ..inputs.osm import read_network

                self._net = read_network(self.args.network, crs=self.args.crs)
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


def _ids(text: str | None) -> list[str] | None:
    return None if not text else [s.strip() for s in text.split(",") if s.strip()]


# --------------------------------------------------------------------------- review
def _cmd_review(args: argparse.Namespace) -> int:
    from ..datasets.scenarios import development_scenario
    from ..workflows.review import ReviewOptions, review_development, write_review_outputs

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
                        rules=tuple(_ids(args.rules) or ()), run_date=args.date)  # fmt: skip
    res = review_development(net, buildings=buildings, facilities=facilities, site=site, planned=planned, options=opt,
                             config=config_from_args(args))  # fmt: skip
    paths = write_review_outputs(res, args.out, overwrite=args.overwrite, basemap=inp.basemap, pdf=args.pdf)
    fs = res.floor_space.iloc[0]
    print(f"development review: {res.verdict.upper()}  ({int(fs.households)} households, {area} area)")
    print(f"  floor space: required {fs.required_m2:.1f} m² ({fs.rate_m2_per_100_households:g} m²/100 households), provided {fs.provided_m2:.1f} m²")
    b = res.buildings
    print(f"  buildings within {args.radius:g} m by road: {int(b.within_radius.sum())}/{len(b)}; within {args.minutes:g} min walk: {int(b.within_time.sum())}/{len(b)}")
    for r in res.reasons:
        print(f"  - {r}")
    print(f"  review sheet: {paths['sheet']}")
    return 0


# --------------------------------------------------------------------------- makeup
def _cmd_makeup(args: argparse.Namespace) -> int:
    from ..datasets.scenarios import makeup_candidates
    from ..workflows.makeup import MakeupOptions, plan_makeup, write_makeup_outputs

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
    paths = write_makeup_outputs(res, args.out, overwrite=args.overwrite, basemap=inp.basemap, pdf=args.pdf)
    s = res.summary.iloc[0]
    print(f"existing-area make-up ({args.model}): {int(s.outside_before)} of {int(s.n_areas)} areas outside the standard "
          f"-> {int(s.outside_after)} with {int(s.n_sites)} sites; floor space {s.floor_area_needed_m2:,.1f} m² in total")  # fmt: skip
    for r in res.proposed.itertuples():
        print(f"  {r.rank:>3}. {r.id}  {r.name}: {r.n_areas_newly_covered} areas, {r.households_newly_covered:,.0f} households -> {r.floor_area_needed_m2:,.1f} m²")
    print(f"  outputs: {Path(args.out)}/ ; map: {paths['map']}")
    return 0


# --------------------------------------------------------------------------- villages
def _cmd_villages(args: argparse.Namespace) -> int:
    import pandas as pd

    from ..datasets.scenarios import village_scenario
    from ..workflows.villages import (
        VillagePlanOptions,
        plan_village_points,
        read_plan,
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
    paths = write_village_outputs(res, args.out, overwrite=args.overwrite, basemap=inp.basemap, pdf=args.pdf)
    s = res.summary.iloc[0]
    print(f"village mutual-aid points: {int(s.villages_with_point_before)} -> {int(s.villages_with_point_after)} of "
          f"{int(s.n_villages)} villages ({s.coverage_rate_after:.0%}, target {s.target:.0%}: "
          f"{'met' if s.meets_target else 'NOT met'}); {int(s.proposed)} proposed")  # fmt: skip
    for r in res.townships.itertuples():
        planned = "" if pd.isna(r.planned_points) else f", planned {r.planned_points:g}"
        print(f"  {r.township}: {r.n_villages} villages{planned}, existing {r.existing_points}, proposed {r.proposed_points}, rate {r.coverage_rate:.0%}")
    print(f"  outputs: {Path(args.out)}/ ; task table: {paths['townships']}")
    return 0


# --------------------------------------------------------------------------- consolidate
def _cmd_consolidate(args: argparse.Namespace) -> int:
    from ..datasets.scenarios import consolidation_scenario
    from ..workflows.consolidation import (
        ConsolidationOptions,
        consolidate_homes,
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
                               cutoff_m=args.cutoff, time_limit_s=args.time_limit, run_date=args.date)  # fmt: skip
    res = consolidate_homes(net, homes=homes, residents=residents, options=opt, config=config_from_args(args))
    write_consolidation_outputs(res, args.out, overwrite=args.overwrite, pdf=args.pdf)
    cap = res.capacity
    moved = float(res.groups.loc[res.groups["action"] == "move", "count"].sum())
    print(f"consolidation: keep {', '.join(res.meta['keep'])}; close {', '.join(res.meta['close'])}; {moved:g} residents move, {res.unplaced:g} unplaced")
    for m in res.messages:
        print(f"  ! {m}")
    for r in cap[cap["action"] == "keep"].itertuples():
        print(f"  {r.id} {r.name}: {r.residents_after:g}/{r.beds:g} beds after ({r.incoming:g} incoming)")
    for r in res.keep_sets.itertuples():
        print(f"  {r.keep_set}: [{r.homes}] nearest home: mean {r.mean_m / 1000:.2f} km, max {r.max_m / 1000:.2f} km; "
              f"within beds: mean {r.beds_mean_m / 1000:.2f} km, unplaced {r.beds_unplaced:g}")  # fmt: skip
    print(f"  outputs: {Path(args.out)}/")
    return 0


# --------------------------------------------------------------------------- targets
def _cmd_targets(args: argparse.Namespace) -> int:
    from ..audit.run import run_audit
    from ..datasets.scenarios import DEFAULT_TARGETS
    from ..workflows.targets import check_targets, write_targets_outputs

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
    write_targets_outputs(res, args.out, overwrite=args.overwrite, basemap=inp.basemap, pdf=args.pdf)
    print(f"coverage targets ({args.measure}): {int(res.by_zone['meets'].sum())} of {len(res.by_zone)} zones meet their target")
    for r in res.by_kind.itertuples():
        print(f"  {r.kind}: target {r.target:.0%}; with a facility {r.zones_with_facility}/{r.n_zones} "
              f"({r.share_with_facility:.0%}); meeting {r.zones_meeting}/{r.n_zones}; homes covered {r.achieved:.1%}")  # fmt: skip
    print(f"  outputs: {Path(args.out)}/")
    return 0


# --------------------------------------------------------------------------- arguments
def _review_arguments(subparsers: Any) -> argparse.ArgumentParser:
    r = subparsers.add_parser("review", help="development review (新建小区配建): floor space and distance of every building")
    r.add_argument("--buildings", help="building points with households (户数)")
    r.add_argument("--site", help="site polygon (GeoJSON/GPKG)")
    r.add_argument("--facilities", help="existing facilities")
    r.add_argument("--planned", help="the development's planned facility point(s)")
    r.add_argument("--no-planned", action="store_true", help="embedded scenario: review without the planned facility")
    r.add_argument("--households", type=float, help="households of the development (default: the buildings' total)")
    r.add_argument("--provided-m2", type=float, help="elderly-care floor space provided, m²")
    r.add_argument("--area-type", choices=["new", "existing"], help="new (20 m²/100 households) or existing (15)")
    r.add_argument("--rules", default="radius,time", help="rules deciding the verdict (default radius,time)")
    return r


def _makeup_arguments(subparsers: Any) -> argparse.ArgumentParser:
    m = subparsers.add_parser("makeup", help="existing-area make-up: sites that close the gap, floor space each needs")
    m.add_argument("--facilities", help="existing facilities")
    m.add_argument("--areas", help="residential areas (compounds) with households")
    m.add_argument("--candidates", help="candidate sites (vacant buildings, rooms to rent)")
    m.add_argument("--no-gaps", action="store_true", help="do not add the centres of gap clusters as candidates")
    m.add_argument("--model", choices=["lscp", "mclp"], default="lscp")
    m.add_argument("--k", type=int, help="number of sites (mclp)")
    m.add_argument("--rule", choices=["radius", "time"], default="radius")
    m.add_argument("--time-limit", type=float, default=60.0, help="solver time limit, s")
    return m


def _villages_arguments(subparsers: Any) -> argparse.ArgumentParser:
    v = subparsers.add_parser("villages", help="village mutual-aid points: one per village, centre with points, task table")
    v.add_argument("--facilities", help="existing facilities (kind village_point = existing points)")
    v.add_argument("--demand", help="homes and hamlets")
    v.add_argument("--zones", help="village polygons with kind and township")
    v.add_argument("--candidates", help="candidate sites (service centres, clinics, public buildings)")
    v.add_argument("--centres", help="township centres with township")
    v.add_argument("--plan", help="task table CSV: township, planned_points or planned_<year>")
    v.add_argument("--target", type=float, default=0.85, help="share of villages with a point (default 0.85)")
    v.add_argument("--model", choices=["pmedian", "mclp"], default="pmedian")
    v.add_argument("--centre-rule", choices=["nearest", "own_township"], default="nearest")
    v.add_argument("--time-limit", type=float, default=60.0, help="solver time limit, s")
    return v


def _consolidate_arguments(subparsers: Any) -> argparse.ArgumentParser:
    c = subparsers.add_parser("consolidate", help='nursing-home consolidation ("1+3"): reassignment, capacity, keep-sets')
    c.add_argument("--homes", help="nursing homes with beds (床位) and optionally action keep/close")
    c.add_argument("--residents", help="resident groups at their village of origin: home_id, count")
    c.add_argument("--keep", help="home ids to keep, comma-separated")
    c.add_argument("--close", help="home ids to close, comma-separated")
    c.add_argument("--must-keep", help="home ids every optimised keep-set contains")
    c.add_argument("--alternative", action="append", help="another keep-set, label=ID,ID,... (repeatable)")
    c.add_argument("--no-optimum", action="store_true", help="skip the p-median optimum keep-sets")
    c.add_argument("--cutoff", type=float, default=50_000.0, help="road distance searched, m")
    c.add_argument("--time-limit", type=float, default=30.0, help="solver time limit per call, s")
    return c


def _targets_arguments(subparsers: Any) -> argparse.ArgumentParser:
    t = subparsers.add_parser("targets", help="coverage per zone against the plan's targets (communities, villages)")
    t.add_argument("--facilities", help="facility points")
    t.add_argument("--demand", help="demand points")
    t.add_argument("--zones", help="zones with kind (community/village)")
    t.add_argument("--target", type=float, help="one target for every zone")
    t.add_argument("--target-community", type=float, help="target of communities (default 1.0)")
    t.add_argument("--target-village", type=float, help="target of villages (default 0.85)")
    t.add_argument("--measure", choices=["share_radius", "share_time", "wshare_radius", "wshare_time"], default="share_radius")
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
        _common(add_arguments(subparsers), out)
        handlers[name] = _checked_first(name, handler)
    return handlers


#: per command: the workflow module, its table of output files, the report's key
_OUTPUTS = {
    "review": ("review", "REVIEW_FILES", "sheet"),
    "makeup": ("makeup", "MAKEUP_FILES", "report"),
    "villages": ("villages", "VILLAGE_FILES", "report"),
    "consolidate": ("consolidation", "CONSOLIDATION_FILES", "report"),
    "targets": ("targets", "TARGETS_FILES", "report"),
}


def _checked_first(name: str, handler: Handler) -> Handler:
    """``handler`` behind the checks that need no data: the rules and the output files.

    A command that will be refused (an output exists without ``--overwrite``, a rule out
    of range) is refused before anything is read or computed; the writers themselves are
    all-or-nothing (:func:`coverage.publish.atomic.writes_output_set`).
    """
    import importlib

    from ..publish.atomic import check_outputs

    module, table, report = _OUTPUTS[name]

    def run(args: argparse.Namespace) -> int:
        config_from_args(args)
        files = getattr(importlib.import_module(f"coverage.workflows.{module}"), table)
        out = Path(args.out)
        planned = [out / f for f in files.values()]
        if args.pdf:
            planned.append((out / files[report]).with_suffix(".pdf"))
        check_outputs(planned, overwrite=args.overwrite)
        return handler(args)

    return run
