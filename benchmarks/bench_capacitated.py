"""Capacitated MCLP and p-median (beds, floor space): the heuristic with a bound against the
exact MILP, on the audit's own cost table over the Hangzhou road network.

Each site holds ``--tightness`` × (total demand / k): at 1.2 the k opened sites hold 20 %
more than all the homes, so the capacities bind. Runs, in one process, with the same
time limit each:

* the exact capacitated MILP (HiGHS) — the baseline;
* the heuristic as it was (sites and bound from the uncapacitated relaxation only: the
  capacitated Lagrangian switched off in this process);
* the heuristic (capacitated Lagrangian with knapsack subproblems: its bound and plans).

Prints objective, proven bound, gap, seconds and the ratio of seconds to the baseline.

Run: ``.venv/bin/python benchmarks/bench_capacitated.py`` (10 k homes × 1 k sites, a few
minutes); ``--n-demand 100000 --n-sites 10000`` for city scale.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n-demand", type=int, default=10_000)
    p.add_argument("--n-sites", type=int, default=1_000)
    p.add_argument("--k", type=int, default=50, help="k of MCLP and p of p-median")
    p.add_argument("--radius", type=float, default=1000.0)
    p.add_argument("--cutoff", type=float, default=3000.0, help="p-median table cutoff (m)")
    p.add_argument("--tightness", type=float, default=1.2)
    p.add_argument("--time-limit", type=float, default=60.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--models", nargs="*", default=["mclp", "pmedian"])
    args = p.parse_args(argv)
    from bench_optimize import ROOT, network_instance

    if not (ROOT.parent / "shared" / "data" / "networks" / "hangzhou_nodes.parquet").exists():
        print("skipped: ../shared/data/networks (Hangzhou) is absent")
        return 0
    warnings.simplefilter("ignore")
    from coverage.siting.optimize import capacitated, solve_mclp, solve_pmedian
    from coverage.siting.optimize.caplagrange import CapLagrangian

    ct_p, w = network_instance(args.seed, args.n_demand, args.n_sites, args.cutoff)
    ct = ct_p.within(args.radius)
    cap = np.full(ct.n_sites, args.tightness * float(w.sum()) / args.k)
    print(f"{ct.n_demand:,} homes × {ct.n_sites:,} sites; {ct.nnz:,} pairs within {args.radius:g} m, {ct_p.nnz:,} within "
          f"{args.cutoff:g} m; k = p = {args.k}; each site holds {cap[0]:,.0f} ({args.tightness:g} × demand / k); "
          f"{args.time_limit:g} s per solve", flush=True)  # fmt: skip
    real = capacitated.capacitated_lagrangian

    def solve(model: str, method: str, lagrangian: bool):
        capacitated.capacitated_lagrangian = real if lagrangian else (lambda *a, **k: CapLagrangian())
        try:
            if model == "mclp":
                return solve_mclp(ct, k=args.k, weights=w, radius_m=args.radius, capacity=cap, method=method,
                                  time_limit_s=args.time_limit)  # fmt: skip
            return solve_pmedian(ct_p, p=args.k, weights=w, capacity=cap, unreachable_penalty_m=args.cutoff,
                                 method=method, time_limit_s=args.time_limit)  # fmt: skip
        finally:
            capacitated.capacitated_lagrangian = real

    for model in args.models:
        base = None
        for label, method, lag in (("exact MILP (baseline)", "exact", True), ("heuristic, uncapacitated bound (before)", "heuristic", False),
                                   ("heuristic, capacitated Lagrangian (now)", "heuristic", True)):  # fmt: skip
            t = time.perf_counter()
            try:
                res = solve(model, method, lag)
            except Exception as exc:  # a solver that gives no answer is a figure too
                print(f"  {model:8s} {label:42s} no answer: {type(exc).__name__}: {exc}", flush=True)
                continue
            sec = time.perf_counter() - t
            base = base if base is not None else sec
            print(f"  {model:8s} {label:42s} objective {res.objective:14,.1f}  bound {res.best_bound:14,.1f}  gap {res.gap:7.2%}  "
                  f"{res.status:9s} {sec:6.1f} s  ({sec / base:.2f} × baseline)", flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
