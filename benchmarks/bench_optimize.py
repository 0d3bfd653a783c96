"""Benchmark the site-selection models (not run in CI).

Tables printed:

* ``--pmed``: OR-Library p-median instances, exact and heuristic, against the published
  optima (``pmedopt.txt``);
* ``--scp``: OR-Library set covering (weighted LSCP) against ``optima_scp.tsv``;
* ``--mclp``: SJC and Swain MCLP instances against the reference optima;
* ``--synthetic`` (``--network``: on the Hangzhou road network with the audit's cost
  table; ``--n-demand/--n-sites/--k/--pcenter-p/--runs`` size and pick the runs;
  ``--textbook`` adds the textbook MILPs on HiGHS with their time ratio to ours; ``--scip``
  the MCLP by Benders branch-and-cut in SCIP, ``scip_benders.py``): a network-like instance (random points in a 20 × 20 km square,
  Euclidean distance × 1.3 as a stand-in for network distance, 10,000 demand × 1,000
  sites) for MCLP ``k=50`` and LSCP at 1,000 m, and p-median ``p=50`` on a 3,000 m
  table with an unreachable penalty, with time and peak memory (tracemalloc for Python /
  numpy allocations, process max RSS for everything including HiGHS). ``--spopt``
  also times spopt on the same matrix (slow: may take minutes).

Examples::

    python benchmarks/bench_optimize.py --pmed all --scp all --mclp
    python benchmarks/bench_optimize.py --pmed pmed1 pmed6 --time-limit 120
    python benchmarks/bench_optimize.py --pmed all --methods exact --time-limit 60 --textbook --spopt-max-n 200
    python benchmarks/bench_optimize.py --pmed pmed36 pmed39 --methods exact --time-limit 60 --chain-baseline
    python benchmarks/bench_optimize.py --synthetic --spopt
"""

from __future__ import annotations

import argparse
import logging
import resource
import sys
import time
import tracemalloc
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree
from scipy.spatial.distance import cdist

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from coverage.engine.costs import CostTable  # noqa: E402
from coverage.errors import SolverError  # noqa: E402
from coverage.siting.optimize import (  # noqa: E402  # noqa: E402
    mclp,
    pmedian,
    solve_lscp,
    solve_mclp,
    solve_pcenter,
    solve_pmedian,
)
from coverage.siting.optimize.instances import (  # noqa: E402
    read_mclp_points,
    read_mclp_reference,
    read_optima,
    read_pmed,
    read_scp,
)

PMED = [
    "pmed1",
    "pmed2",
    "pmed3",
    "pmed4",
    "pmed5",
    "pmed6",
    "pmed7",
    "pmed8",
    "pmed9",
    "pmed10",
    "pmed16",
    "pmed21",
    "pmed26",
    "pmed31",
    "pmed35",
    "pmed38",
]
SCP = [
    "scp41",
    "scp42",
    "scp43",
    "scp44",
    "scp45",
    "scp51",
    "scp52",
    "scp53",
    "scp54",
    "scp55",
    "scpa1",
    "scpa2",
    "scpa3",
    "scpb1",
    "scpb2",
    "scpe1",
    "scpe2",
]


def _print(title: str, rows: list[dict[str, Any]], csv: Path | None) -> None:
    frame = pd.DataFrame(rows)
    print(f"\n== {title} ==")
    print(frame.to_string(index=False) if len(frame) else "(nothing run)")
    if csv is not None and len(frame):
        out = csv.with_name(f"{csv.stem}_{title.split()[0].lower()}{csv.suffix}")
        frame.to_csv(out, index=False)
        print(f"written {out}")


def textbook_pmedian(ct: CostTable, p: int, tl: float) -> tuple[float, float, str, float]:
    """The textbook p-median MILP (ReVelle & Swain 1970) on the same table with HiGHS:
    ``min sum d_ij y_ij`` s.t. ``sum_j y_ij = 1``, ``y_ij <= x_j``, ``sum_j x_j = p``
    (``x`` binary, ``y`` continuous): objective, bound, status, seconds."""
    import scipy.sparse as sp

    from coverage.errors import SolverError
    from coverage.siting.optimize.highs import MilpModel, solve_milp

    t = time.perf_counter()
    n, m, q = ct.n_demand, ct.n_sites, ct.nnz
    r, c, d = ct.demand_idx, ct.site_idx, ct.dist_m
    y = m + np.arange(q)
    a_assign = sp.csr_matrix((np.ones(q), (r, y)), shape=(n, m + q))
    a_link = sp.csr_matrix(
        (np.r_[np.ones(q), -np.ones(q)], (np.r_[np.arange(q), np.arange(q)], np.r_[y, c])),
        shape=(q, m + q),
    )
    a_card = sp.csr_matrix((np.ones(m), (np.zeros(m, dtype=np.int64), np.arange(m))), shape=(1, m + q))
    model = MilpModel(
        np.r_[np.zeros(m), d],
        sp.vstack([a_assign, a_link, a_card], format="csc"),
        np.r_[np.ones(n), np.full(q, -np.inf), p],
        np.r_[np.ones(n), np.zeros(q), p],
        lb=np.zeros(m + q),
        ub=np.ones(m + q),
        integer=np.r_[np.ones(m, dtype=bool), np.zeros(q, dtype=bool)],
    )
    try:
        sol = solve_milp(model, time_limit_s=tl, label="textbook p-median")
    except SolverError:
        return np.nan, np.nan, "no solution", time.perf_counter() - t
    return sol.objective, sol.bound, sol.status, time.perf_counter() - t


def textbook_covering(ct: CostTable, w: np.ndarray, k: int | None, tl: float) -> Any:
    """The textbook covering MILPs on HiGHS, no reductions, no start: MCLP (Church &
    ReVelle 1974) ``max sum w_i z_i``, ``z_i <= sum_{j covers i} x_j``, ``sum x = k``;
    LSCP (Toregas et al. 1971, ``k=None``) ``min sum x``, every coverable row covered."""
    import scipy.sparse as sp

    from coverage.siting.optimize.highs import MilpModel, solve_milp

    cov = sp.csr_matrix(ct.coverage_matrix(), dtype=np.float64)
    n, m = cov.shape
    if k is None:
        rows = np.flatnonzero(np.diff(cov.indptr) > 0)
        model = MilpModel(np.ones(m), cov[rows], np.ones(len(rows)), np.full(len(rows), np.inf),
                          lb=np.zeros(m), ub=np.ones(m), integer=np.ones(m, dtype=bool))
        return solve_milp(model, time_limit_s=tl, label="textbook LSCP")
    a = sp.vstack([sp.hstack([-cov, sp.identity(n)]), sp.hstack([np.ones((1, m)), sp.csr_matrix((1, n))])], format="csc")
    model = MilpModel(np.r_[np.zeros(m), w], a, np.r_[np.full(n, -np.inf), k], np.r_[np.zeros(n), k],
                      lb=np.zeros(m + n), ub=np.ones(m + n), integer=np.r_[np.ones(m, dtype=bool), np.zeros(n, dtype=bool)],
                      maximize=True)
    return solve_milp(model, time_limit_s=tl, label="textbook MCLP")


def spopt_pmedian(ct: CostTable, p: int, tl: float) -> tuple[float, str, float]:
    """spopt's PMedian (pulp + HiGHS or CBC) on the dense table: objective, status, seconds."""
    import pulp
    from spopt.locate import PMedian

    dense = np.full((ct.n_demand, ct.n_sites), 1e9)
    dense[ct.demand_idx, ct.site_idx] = ct.dist_m
    solver = (
        pulp.HiGHS(msg=False, timeLimit=tl)
        if "HiGHS" in pulp.listSolvers(onlyAvailable=True)
        else pulp.PULP_CBC_CMD(msg=False, timeLimit=tl)
    )
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = PMedian.from_cost_matrix(dense, np.ones(ct.n_demand), p_facilities=p).solve(solver)
    return float(pulp.value(model.problem.objective)), pulp.LpStatus[model.problem.status], time.perf_counter() - t


def bench_pmed(
    bench: Path,
    names: list[str],
    tl: float,
    methods: list[str],
    *,
    textbook: bool = False,
    spopt_max_n: int = 0,
    chain_baseline: bool = False,
) -> list[dict]:
    """Ours against the published optimum; with ``textbook`` also the textbook MILP on
    HiGHS, and spopt on instances with at most ``spopt_max_n`` vertices, same time limit,
    as time ratios (theirs / ours) in the same run. ``chain_baseline``: also ours with the
    Lagrangian branch-and-bound switched off (the chain MILP alone, as before issue 13's
    last stop)."""
    opt = read_optima(bench / "pmed" / "pmedopt.txt")
    rows = []
    for name in names:
        path = bench / "pmed" / f"{name}.txt"
        if not path.exists():
            print(f"skip {name}: {path} absent")
            continue
        ct, p = read_pmed(path)
        for method in methods:
            res = solve_pmedian(ct, p=p, method=method, time_limit_s=tl)
            o = opt.get(name, np.nan)
            rows.append(
                {
                    "instance": name,
                    "n": ct.n_demand,
                    "p": p,
                    "asked": method,
                    "optimum": o,
                    "ours": res.objective,
                    "gap_to_opt_%": round(100 * (res.objective / o - 1), 3),
                    "bound": round(res.best_bound, 2),
                    "status": res.status,
                    "seconds": round(res.seconds, 2),
                    "method": res.method,
                    "fixed_closed": res.shrink.get("sites_fixed_closed"),
                    "fixed_open": res.shrink.get("sites_fixed_open"),
                }
            )
            print(rows[-1], flush=True)
        ours_sec = rows[-len(methods)]["seconds"]
        if chain_baseline:
            # the chain MILP alone: the Lagrangian branch-and-bound switched off
            with mock.patch.object(pmedian, "applicable", lambda *a: False):
                res = solve_pmedian(ct, p=p, method=methods[0], time_limit_s=tl)
            rows[-len(methods)].update(
                {
                    "chain_only_obj": res.objective,
                    "chain_only_bound": round(res.best_bound, 2),
                    "chain_only_status": res.status,
                    "chain_only_s": round(res.seconds, 2),
                    "ratio_chain/ours": round(res.seconds / max(ours_sec, 1e-9), 2),
                }
            )
            print(rows[-len(methods)], flush=True)
        if textbook:
            tobj, tbound, tstat, tsec = textbook_pmedian(ct, p, tl)
            rows[-len(methods)].update(
                {
                    "textbook_obj": tobj,
                    "textbook_bound": round(tbound, 2),
                    "textbook_status": tstat,
                    "textbook_s": round(tsec, 2),
                    "ratio_textbook/ours": round(tsec / max(ours_sec, 1e-9), 2),
                }
            )
            print(rows[-len(methods)], flush=True)
        if ct.n_demand <= spopt_max_n:
            sobj, sstat, ssec = spopt_pmedian(ct, p, tl)
            rows[-len(methods)].update(
                {
                    "spopt_obj": sobj,
                    "spopt_status": sstat,
                    "spopt_s": round(ssec, 2),
                    "ratio_spopt/ours": round(ssec / max(ours_sec, 1e-9), 2),
                }
            )
            print(rows[-len(methods)], flush=True)
    return rows


def bench_scp(bench: Path, names: list[str], tl: float, methods: list[str]) -> list[dict]:
    opt = read_optima(bench / "scp" / "optima_scp.tsv")
    rows = []
    for name in names:
        path = bench / "scp" / f"{name}.txt"
        if not path.exists():
            print(f"skip {name}: {path} absent")
            continue
        ct, cost = read_scp(path)
        for method in methods:
            res = solve_lscp(ct, radius_m=0.0, site_cost=cost, method=method, time_limit_s=tl)
            rows.append(
                {
                    "instance": name,
                    "rows": ct.n_demand,
                    "cols": ct.n_sites,
                    "asked": method,
                    "optimum": opt.get(name, np.nan),
                    "ours": res.objective,
                    "bound": round(res.best_bound, 2),
                    "status": res.status,
                    "seconds": round(res.seconds, 2),
                    "method": res.method,
                    "rows_after": res.shrink.get("demand_out"),
                    "cols_after": res.shrink.get("sites_out"),
                }
            )
            print(rows[-1], flush=True)
    return rows


def bench_mclp(bench: Path, tl: float, methods: list[str]) -> list[dict]:
    sets = [("SJC", "reference_optima.tsv"), ("Swain", "reference_optima_computed_HiGHS.tsv")]
    rows = []
    for folder, ref in sets:
        ref_path = bench / "mclp" / folder / ref
        if not ref_path.exists():
            print(f"skip {ref_path}: absent")
            continue
        cache: dict[tuple[str, float], tuple[CostTable, np.ndarray]] = {}
        for inst, s, p, value in read_mclp_reference(ref_path):
            fname = "swain55.tsv" if inst == "swain55" else f"{inst}.txt"
            if (inst, s) not in cache:
                xy, w = read_mclp_points(bench / "mclp" / folder / fname)
                cache[(inst, s)] = (CostTable.from_dense(cdist(xy, xy), cutoff_m=s), w)
            ct, w = cache[(inst, s)]
            for method in methods:
                res = solve_mclp(ct, k=p, weights=w, radius_m=s, method=method, time_limit_s=tl)
                rows.append(
                    {
                        "instance": inst,
                        "S": s,
                        "p": p,
                        "asked": method,
                        "reference": value,
                        "ours": res.objective,
                        "match": abs(res.objective - value) < 1e-6,
                        "status": res.status,
                        "seconds": round(res.seconds, 2),
                        "method": res.method,
                    }
                )
    return rows


def synthetic(
    seed: int, n_demand: int, n_sites: int, cutoff: float
) -> tuple[CostTable, np.ndarray]:
    """Random points in 20 × 20 km; distance = 1.3 × Euclidean; pairs within cutoff."""
    rng = np.random.default_rng(seed)
    dem = rng.uniform(0, 20_000, (n_demand, 2))
    sit = rng.uniform(0, 20_000, (n_sites, 2))
    hits = cKDTree(sit).query_ball_point(dem, r=cutoff / 1.3)
    r = np.repeat(np.arange(n_demand), [len(h) for h in hits])
    c = np.concatenate([np.asarray(h, dtype=np.int64) for h in hits])
    d = 1.3 * np.hypot(*(dem[r] - sit[c]).T)
    w = rng.integers(1, 50, n_demand).astype(float)  # older residents per block
    return CostTable.from_entries(r, c, d, n_demand=n_demand, n_sites=n_sites, cutoff_m=cutoff), w


def network_instance(
    seed: int, n_demand: int, n_sites: int, cutoff: float
) -> tuple[CostTable, np.ndarray]:
    """The audit's own cost table on a real road network: a county-sized crop of the
    Hangzhou network (120.0-120.4 E, 30.1-30.45 N, ../shared/data/networks), homes and
    candidate sites at random near its roads, network distances within ``cutoff``."""
    import pandas as pd

    from coverage.engine.network import compact, network_from_segments
    from coverage.engine.routing import cost_table
    from coverage.engine.snapping import EdgeIndex

    net_dir = ROOT.parent / "shared" / "data" / "networks"
    nodes = pd.read_parquet(net_dir / "hangzhou_nodes.parquet")
    edges = pd.read_parquet(net_dir / "hangzhou_edges.parquet")
    lon, lat = nodes["lon"].to_numpy(), nodes["lat"].to_numpy()
    inside = (lon >= 120.0) & (lon <= 120.4) & (lat >= 30.1) & (lat <= 30.45)
    u, v = edges["u"].to_numpy(), edges["v"].to_numpy()
    keep = inside[u] & inside[v]
    ids = np.flatnonzero(inside)
    remap = np.full(len(lon), -1)
    remap[ids] = np.arange(len(ids))
    net = compact(network_from_segments(lon[ids], lat[ids], remap[u[keep]], remap[v[keep]], seg_len_m=edges["length_m"].to_numpy()[keep]))
    rng = np.random.default_rng(seed)

    def near_roads(n: int) -> np.ndarray:
        e = rng.integers(0, net.n_edges, n)
        xy = net.interpolate(e, rng.random(n) * net.edge_len_m[e])
        return xy + rng.normal(0, 30, (n, 2))

    idx = EdgeIndex(net)
    ds = idx.snap(near_roads(n_demand))
    ss = idx.snap(near_roads(n_sites))
    ct = cost_table(net, ds, ss, cutoff_m=cutoff)
    w = rng.integers(1, 50, n_demand).astype(float)  # older residents per home block
    print(f"network instance: Hangzhou crop, {net.n_nodes:,} nodes (compacted), {ct.nnz:,} pairs within {cutoff:g} m", flush=True)
    return ct, w


def _measure(fn: Callable[[], Any], *, trace: bool = True) -> tuple[Any, float, float, float]:
    """Run ``fn``: result, seconds, tracemalloc peak (MiB, nan untraced), max RSS (MiB).

    tracemalloc slows object-heavy Python code (pulp models) by several times, so the
    spopt runs are timed untraced and report the process max RSS only.
    """
    if trace:
        tracemalloc.start()
    t = time.perf_counter()
    out = fn()
    sec = time.perf_counter() - t
    peak = float("nan")
    if trace:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB -> MiB (Linux)
    return out, sec, peak / 2**20, rss


def bench_synthetic(args: argparse.Namespace) -> list[dict]:
    rows = []
    make = network_instance if args.network else synthetic
    ct_p, w = make(args.seed, args.n_demand, args.n_sites, args.pmedian_cutoff)
    ct = ct_p.within(args.radius)
    print(
        f"{'network' if args.network else 'synthetic'}: {ct.n_demand} demand × {ct.n_sites} sites, {ct.nnz} pairs within "
        f"{args.radius:g} m, {ct_p.nnz} within {args.pmedian_cutoff:g} m",
        flush=True,
    )
    # p-center serves the homes some site reaches within the radius (weight 0 = ignored):
    # over all homes the optimum is just the farthest home's nearest site
    w_reach = np.where(np.bincount(ct.demand_idx, minlength=ct.n_demand) > 0, w, 0.0)
    runs: list[tuple[str, Callable[[], Any]]] = [
        (
            f"mclp k={args.k} auto",
            lambda: solve_mclp(
                ct, k=args.k, weights=w, radius_m=args.radius, time_limit_s=args.time_limit
            ),
        ),
        (
            f"mclp k={args.k} auto without probing (before)",
            # issue 13: the LP-start path before probing (the MILP and the blocks on the
            # sites the LP duals leave), measured in the same run
            mock.patch.object(mclp, "PROBING", False)(
                lambda: solve_mclp(
                    ct, k=args.k, weights=w, radius_m=args.radius, time_limit_s=args.time_limit
                )
            ),
        ),
        (
            f"mclp k={args.k} auto without coarse blocks (before)",
            # issue 13, stop 21: with a minute or more left after the probing, the MILP
            # alone (before) instead of beside coarse blocks, measured in the same run
            mock.patch.object(mclp, "COARSE_BLOCKS", False)(
                lambda: solve_mclp(
                    ct, k=args.k, weights=w, radius_m=args.radius, time_limit_s=args.time_limit
                )
            ),
        ),
        (
            f"mclp k={args.k} auto with the interior point LP (before)",
            # issue 13: the LP-start path before the smoothed LP dual (HiGHS' interior point
            # LP instead), measured in the same run
            mock.patch.object(mclp, "smoothed_dual", lambda *a, **kw: None)(
                lambda: solve_mclp(
                    ct, k=args.k, weights=w, radius_m=args.radius, time_limit_s=args.time_limit
                )
            ),
        ),
        (
            f"mclp k={args.k} heuristic",
            lambda: solve_mclp(
                ct,
                k=args.k,
                weights=w,
                radius_m=args.radius,
                method="heuristic",
                time_limit_s=args.time_limit,
            ),
        ),
        ("lscp auto", lambda: solve_lscp(ct, radius_m=args.radius, time_limit_s=args.time_limit)),
        (
            "pmedian p=50 auto",
            lambda: solve_pmedian(
                ct_p,
                p=50,
                weights=w,
                unreachable_penalty_m=args.pmedian_cutoff,
                time_limit_s=args.time_limit,
            ),
        ),
        (
            f"pcenter p={args.pcenter_p} auto",
            lambda: solve_pcenter(ct_p, p=args.pcenter_p, weights=w_reach, time_limit_s=args.time_limit),
        ),
    ]
    if args.textbook:  # the textbook MILPs on the same tables, same time limit
        runs.append((f"mclp k={args.k} textbook MILP", lambda: textbook_covering(ct, w, args.k, args.time_limit)))
        runs.append(("lscp textbook MILP", lambda: textbook_covering(ct, w, None, args.time_limit)))
        runs.append(
            (
                f"pcenter p={args.pcenter_p} textbook assignment MILP",
                lambda: solve_pcenter(
                    ct_p, p=args.pcenter_p, weights=w_reach, method="milp", time_limit_s=args.time_limit
                ),
            )
        )
    answers: dict[str, Any] = {}  # results by label: the SCIP run starts from ours
    if args.scip:
        runs += _scip_runs(ct, w, args, answers)
    if args.runs:
        runs = [(label, fn) for label, fn in runs if any(r in label for r in args.runs)]
    ours_sec: dict[str, float] = {}
    for label, fn in runs:
        try:
            res, sec, peak, rss = _measure(fn, trace=not args.untraced)
            answers[label] = res
        except SolverError as exc:  # e.g. the textbook p-center MILP finds no solution in time: a figure too
            if tracemalloc.is_tracing():
                tracemalloc.stop()
            rows.append({"run": label, "status": "no answer", "method": " ".join(str(exc).split())[:120]})
            print(rows[-1], flush=True)
            continue
        model = label.split()[0]
        if "textbook" not in label:
            ours_sec.setdefault(model, sec)
        bound = getattr(res, "best_bound", getattr(res, "bound", np.nan))
        gap = abs(res.objective - bound) / max(abs(res.objective), 1.0)
        rows.append(
            {
                "run": label,
                "objective": round(res.objective, 1),
                "bound": round(bound, 1),
                "gap": f"{gap:.2e}",
                "status": res.status,
                "method": getattr(res, "method", "highs (textbook)"),
                "sites": getattr(res, "n_selected", np.nan),
                "ratio_to_ours": (
                    round(sec / ours_sec[model], 2)
                    if ("textbook" in label or "(before)" in label or "SCIP" in label) and model in ours_sec
                    else np.nan
                ),
                "seconds": round(sec, 2),
                "py_peak_MiB": round(peak, 1),
                "max_rss_MiB": round(rss, 1),
            }
        )
        print(rows[-1], flush=True)
    if args.spopt:
        rows += _spopt_runs(ct, ct_p, w, args, rows)
    return rows


def _scip_runs(
    ct: CostTable, w: np.ndarray, args: argparse.Namespace, answers: dict[str, Any]
) -> list[tuple[str, Callable[[], Any]]]:
    """Issue 13's experiment: the MCLP by Benders branch-and-cut in SCIP on the same table
    and time limit, started from the answer of ``auto`` when that ran first
    (``scip_benders.py``; pyscipopt comes with the test extra)."""
    try:
        import pyscipopt  # noqa: F401
    except ImportError:
        print("pyscipopt not installed (pip install -e '.[test]'); skipping the SCIP experiment")
        return []
    from scip_benders import solve_mclp_benders

    cov = ct.coverage_matrix(args.radius)

    def run() -> Any:
        ours = answers.get(f"mclp k={args.k} auto")
        start = None if ours is None else np.asarray(ours.selected)
        return solve_mclp_benders(cov, w, args.k, args.time_limit, start=start)

    return [(f"mclp k={args.k} SCIP Benders branch-and-cut (experiment, from ours)", run)]


def _spopt_runs(
    ct: CostTable, ct_p: CostTable, w: np.ndarray, args: argparse.Namespace, ours: list[dict]
) -> list[dict]:
    """spopt (pulp) on the same matrices: MCLP and LSCP on the full instance; p-median on
    a 1,000 × 200 sub-instance (pulp builds one Python object per assignment variable,
    10 million on the full matrix), timed against ours on that same sub-instance."""
    try:
        import pulp
        from spopt.locate import LSCP, MCLP, PMedian
    except ImportError:
        print("spopt/pulp not installed; skipping the spopt comparison")
        return []
    print("spopt on the same matrices: this may take minutes...", flush=True)
    big = 1e9  # spopt needs a dense matrix; pairs beyond the table get a huge distance
    dense = np.full((ct.n_demand, ct.n_sites), big)
    dense[ct.demand_idx, ct.site_idx] = ct.dist_m
    coverable = np.asarray(ct.coverage_matrix().sum(axis=1)).ravel() > 0
    nd, ns = min(1000, ct.n_demand), min(200, ct.n_sites)
    sub = np.full((nd, ns), args.pmedian_cutoff)
    keep = (ct_p.demand_idx < nd) & (ct_p.site_idx < ns)
    sub[ct_p.demand_idx[keep], ct_p.site_idx[keep]] = ct_p.dist_m[keep]
    sub_ct = CostTable.from_dense(sub)
    ours_sub, sec_sub, _, _ = _measure(lambda: solve_pmedian(sub_ct, p=20, weights=w[:nd]))
    ref_sec: dict[str, float] = {}
    for r in ours:  # the first ("auto") run of each model is the reference
        ref_sec.setdefault(r["run"].split()[0], r["seconds"])
    ref_sec["pmedian-sub"] = sec_sub
    solver = (
        pulp.HiGHS(msg=False, timeLimit=args.spopt_time_limit)
        if "HiGHS" in pulp.listSolvers(onlyAvailable=True)
        else pulp.PULP_CBC_CMD(msg=False, timeLimit=args.spopt_time_limit)
    )
    runs = [
        (
            f"spopt mclp k={args.k}",
            "mclp",
            lambda: MCLP.from_cost_matrix(dense, w, args.radius, p_facilities=args.k),
        ),
        (
            "spopt lscp (coverable rows)",
            "lscp",
            lambda: LSCP.from_cost_matrix(dense[coverable], args.radius),
        ),
        (
            f"spopt pmedian p=20 on {nd}x{ns}",
            "pmedian-sub",
            lambda: PMedian.from_cost_matrix(sub, w[:nd], p_facilities=20),
        ),
    ]
    rows = [
        {
            "run": f"ours pmedian p=20 on {nd}x{ns}",
            "objective": round(ours_sub.objective, 1),
            "status": ours_sub.status,
            "method": ours_sub.method,
            "seconds": round(sec_sub, 2),
        }
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for label, key, build in runs:
            model, sec, _, rss = _measure(lambda b=build: b().solve(solver), trace=False)
            rows.append(
                {
                    "run": label,
                    "objective": round(pulp.value(model.problem.objective), 1),
                    "status": f"pulp:{pulp.LpStatus[model.problem.status]}",
                    "seconds": round(sec, 2),
                    "max_rss_MiB": round(rss, 1),
                    "speed_ratio_spopt/ours": round(sec / max(ref_sec.get(key, np.nan), 1e-9), 1),
                }
            )
            print(rows[-1], flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bench-dir", type=Path, default=ROOT.parent / "shared" / "bench")
    ap.add_argument("--pmed", nargs="*", help="pmed instances ('all' for every one)")
    ap.add_argument("--scp", nargs="*", help="scp instances ('all' for every one)")
    ap.add_argument("--mclp", action="store_true", help="SJC + Swain reference optima")
    ap.add_argument(
        "--methods",
        nargs="+",
        default=["exact", "heuristic"],
        choices=["auto", "exact", "heuristic"],
    )
    ap.add_argument("--time-limit", type=float, default=120.0, help="per solve, seconds")
    ap.add_argument("--synthetic", action="store_true", help="10k × 1k network-like run")
    ap.add_argument("--network", action="store_true", help="with --synthetic: build the instance from the Hangzhou road network with the audit's cost table instead of 1.3 x Euclidean")
    ap.add_argument("--n-demand", type=int, default=10_000)
    ap.add_argument("--n-sites", type=int, default=1_000)
    ap.add_argument("--radius", type=float, default=1000.0)
    ap.add_argument("--pmedian-cutoff", type=float, default=3000.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--k", type=int, default=50, help="k of the MCLP runs")
    ap.add_argument("--pcenter-p", type=int, default=150, help="p of the p-center run on the 3 km table")
    ap.add_argument("--runs", nargs="*", help="with --synthetic: only runs whose label contains one of these words (mclp, lscp, pmedian, pcenter)")
    ap.add_argument("--spopt", action="store_true", help="also time spopt (slow)")
    ap.add_argument("--textbook", action="store_true", help="with --pmed: also the textbook MILP on HiGHS")
    ap.add_argument("--scip", action="store_true", help="with --synthetic: also the MCLP by Benders branch-and-cut in SCIP (needs pyscipopt)")
    ap.add_argument(
        "--untraced",
        action="store_true",
        help="with --synthetic: time without tracemalloc (which slows the Python parts); "
        "memory as the process max RSS only",
    )
    ap.add_argument("--chain-baseline", action="store_true", help="with --pmed: also ours without the Lagrangian branch-and-bound (the chain MILP alone)")
    ap.add_argument("--spopt-max-n", type=int, default=0, help="with --pmed: also spopt on instances up to this n")
    ap.add_argument("--spopt-time-limit", type=float, default=600.0)
    ap.add_argument("--csv", type=Path, help="also write each table to <csv>_<table>.csv")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    if not (args.pmed is not None or args.scp is not None or args.mclp or args.synthetic):
        ap.error("choose at least one of --pmed, --scp, --mclp, --synthetic")
    if (args.pmed is not None or args.scp is not None or args.mclp) and not args.bench_dir.is_dir():
        ap.error(f"benchmark folder {args.bench_dir} not found (--bench-dir)")
    if args.pmed is not None:
        names = PMED if not args.pmed or args.pmed == ["all"] else args.pmed
        _print(
            "pmed (OR-Library p-median)",
            bench_pmed(
                args.bench_dir, names, args.time_limit, args.methods,
                textbook=args.textbook, spopt_max_n=args.spopt_max_n,
                chain_baseline=args.chain_baseline,
            ),
            args.csv,
        )
    if args.scp is not None:
        names = SCP if not args.scp or args.scp == ["all"] else args.scp
        _print(
            "scp (OR-Library set covering)",
            bench_scp(args.bench_dir, names, args.time_limit, args.methods),
            args.csv,
        )
    if args.mclp:
        _print(
            "mclp (SJC, Swain)", bench_mclp(args.bench_dir, args.time_limit, args.methods), args.csv
        )
    if args.synthetic:
        _print("synthetic 10k x 1k", bench_synthetic(args), args.csv)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
