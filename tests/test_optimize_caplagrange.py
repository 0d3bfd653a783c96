"""The capacitated Lagrangian (knapsack subproblems): each piece against an independent
oracle (an LP per site, a hand count, the exact capacitated MILP)."""

from __future__ import annotations

import time

import numpy as np
import pytest
from optimize_cases import random_table
from scipy.optimize import linprog

from coverage.siting.optimize import solve_mclp, solve_pmedian
from coverage.siting.optimize.caplagrange import (
    CapPairs,
    _knapsacks,
    capacitated_lagrangian,
    greedy_capacitated_value,
)
from coverage.siting.optimize.heuristics import SiteRules


def _pairs(d: np.ndarray, w: np.ndarray, cap: np.ndarray, *, penalty: float | None = None) -> CapPairs:
    r, c = np.nonzero(np.isfinite(d))
    ucost = w * penalty if penalty is not None else np.full(len(w), np.inf)
    return CapPairs(r, c, w[r] * d[r, c], w[r], ucost, np.asarray(cap, float))


def _rules(m: int, p: int) -> SiteRules:
    return SiteRules(required=np.zeros(m, bool), zone=np.full(m, -1), zmin=np.zeros(0, int), zmax=np.zeros(0, int),
                     cost=np.ones(m), kmin=p, kmax=p)  # fmt: skip


@pytest.mark.parametrize("seed", range(5))
def test_each_knapsack_is_its_linear_programme(seed: int) -> None:
    """rho_j = min sum (c - lambda) y, sum w y <= cap_j, 0 <= y <= 1: solved by HiGHS's LP."""
    rng = np.random.default_rng(seed)
    _ct, d, w = random_table(seed, n=12, m=4)
    cap = np.array([w.sum() / 5, w.sum() / 3, np.inf, 7.0])
    cp = _pairs(d, w, cap)
    lam = rng.uniform(0, 1.2, len(w)) * (w * d.mean())
    rho, _taken, _frac = _knapsacks(cp, cp.cost - lam[cp.row])
    for j in range(4):
        mine = cp.col == j
        red = cp.cost[mine] - lam[cp.row[mine]]
        bounds = [(0, 1)] * int(mine.sum())
        a_ub = [cp.w[mine]] if np.isfinite(cap[j]) else None
        lp = linprog(red, A_ub=a_ub, b_ub=[cap[j]] if a_ub else None, bounds=bounds, method="highs")
        assert rho[j] == pytest.approx(lp.fun, abs=1e-6 * max(1.0, abs(lp.fun)))


def test_greedy_assignment_counted_by_hand() -> None:
    # homes at 0, 1, 2, 100 (weights 1), sites at 0 (holds 2) and 100 (holds 10)
    d = np.abs(np.subtract.outer([0.0, 1, 2, 100], [0.0, 100]))
    w = np.ones(4)
    cp = _pairs(d, w, np.array([2.0, 10.0]))
    # cheapest first: home 0 and 3 at 0 m, home 1 at 1 m fill site 0; home 2 goes 98 m to site 1
    assert greedy_capacitated_value(cp, np.array([True, True])) == pytest.approx(99.0)
    # one site: site 0 holds two, the others cannot be served (no penalty): no plan
    assert greedy_capacitated_value(cp, np.array([True, False])) == np.inf
    with_penalty = _pairs(d, w, np.array([2.0, 10.0]), penalty=500.0)
    assert greedy_capacitated_value(with_penalty, np.array([True, False])) == pytest.approx(0 + 1 + 500 + 500)


@pytest.mark.parametrize("seed", range(8))
def test_bound_brackets_the_exact_optimum_and_beats_ignoring_capacities(seed: int) -> None:
    ct, d, w = random_table(700 + seed, n=10, m=6)
    p = 2 + seed % 2
    cap = np.full(6, 1.15 * float(w.sum()) / p)  # tight: the p sites hold 15 % more than all homes
    split = solve_pmedian(ct, p=p, weights=w, capacity=cap, single_source=False)
    single = solve_pmedian(ct, p=p, weights=w, capacity=cap)
    free = solve_pmedian(ct, p=p, weights=w)  # the uncapacitated optimum: what ignoring capacities can prove at best
    assert split.status == single.status == free.status == "optimal"
    cp = _pairs(d, w, cap)
    lam0 = np.array([cp.cost[cp.row == i].min() for i in range(len(w))])
    cl = capacitated_lagrangian(cp, _rules(6, p), single.objective, lam0, deadline=time.perf_counter() + 20, max_iter=600)
    # a valid lower bound for split and single sourcing ...
    assert cl.bound <= split.objective + 1e-6 <= single.objective + 2e-6
    # ... that sees the capacities: where they cost something (6 of these 8 cases), the
    # bound rises above the uncapacitated optimum, the best that ignoring them can prove
    if split.objective > free.objective + 1e-6:
        assert cl.bound > free.objective + 1e-6
    # plans: feasible site sets of p sites, their greedy values never below the exact optimum
    assert cl.plans and all(m.sum() == p and v >= single.objective - 1e-6 for v, m in cl.plans)
    assert [v for v, _m in cl.plans] == sorted(v for v, _m in cl.plans)


@pytest.mark.parametrize("seed", range(4))
def test_heuristic_mclp_with_capacities_brackets_the_exact_optimum(seed: int) -> None:
    ct, _d, w = random_table(800 + seed, n=12, m=6)
    cap = np.full(6, float(w.sum()) / 4)
    exact = solve_mclp(ct.within(450), k=2, weights=w, radius_m=450, capacity=cap, single_source=True)
    heur = solve_mclp(ct.within(450), k=2, weights=w, radius_m=450, capacity=cap, method="heuristic")
    assert exact.status == "optimal"
    assert heur.objective <= exact.objective + 1e-6 <= heur.best_bound + 2e-6
    load = np.bincount(heur.assignment[heur.assignment >= 0], weights=w[heur.assignment >= 0], minlength=6)
    assert np.all(load <= cap + 1e-6)
