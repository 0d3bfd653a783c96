"""p-median reductions: Lagrangian fixing (closed and open) over rounds, and the radius
chain stopped at sites known open, each checked against brute force."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from optimize_cases import brute, line_table, random_table, subsets

from coverage.engine.costs import CostTable
from coverage.siting.optimize import solve_pmedian
from coverage.siting.optimize.heuristics import (
    Incumbent,
    SiteRules,
    SparseCost,
    bound_and_polish,
    interchange_solve,
    lagrangian_bound,
)
from coverage.siting.optimize.highs import MilpModel, solve_milp
from coverage.siting.optimize.pmedian import _chain_model


def _rules(m: int, p: int) -> SiteRules:
    return SiteRules(
        required=np.zeros(m, bool), zone=np.full(m, -1), zmin=np.zeros(0, np.int64),
        zmax=np.zeros(0), cost=np.ones(m), kmin=p, kmax=p,
    )  # fmt: skip


def _value(d: np.ndarray, w: np.ndarray, s: tuple[int, ...]) -> float:
    return float(w @ d[:, list(s)].min(1))


def test_two_far_clusters_fix_their_centres_open() -> None:
    # two clusters 10 km apart, p = 2: the middle site of each cluster is open in every
    # solution as good as the optimum (6), every other site closed
    x = [0, 1, 2, 10_000, 10_001, 10_002]
    d = np.abs(np.subtract.outer(np.asarray(x, float), np.asarray(x, float)))
    rows, cols = np.nonzero(np.ones_like(d, dtype=bool))
    sc = SparseCost.build(rows, cols, d[rows, cols], np.ones(6), 1e9, 6)
    rules = _rules(6, 2)
    mask, val, info = interchange_solve(sc, rules, n_starts=2, seed=0)
    assert val == 4 and sorted(np.flatnonzero(mask).tolist()) == [1, 4]
    opened = np.zeros(6, bool)
    _inc, lower, fixed = bound_and_polish(
        sc, rules, Incumbent(mask, val, info), fixing=True, bound_deadline=np.inf,
        deadline=np.inf, open_out=opened,
    )  # fmt: skip
    assert lower == pytest.approx(4.0)
    assert np.flatnonzero(opened).tolist() == [1, 4]
    assert np.flatnonzero(fixed).tolist() == [0, 2, 3, 5]
    res = solve_pmedian(line_table(x, x), p=2, method="exact")
    assert res.objective == 4 and res.status == "optimal"


def _maybe_clustered(seed: int, clustered: bool, gap: float) -> tuple[np.ndarray, np.ndarray]:
    """A random 10 × 7 distance table and weights; ``clustered``: homes 0-4 and sites 0-3
    made ``gap`` farther from the other half (two far clusters)."""
    _ct, d, w = random_table(seed, n=10, m=7)
    if clustered:
        d = d.copy()
        d[:5, 4:] += gap
        d[5:, :4] += gap
    return d, w


@pytest.mark.parametrize("seed", range(10))
def test_fixed_sites_hold_in_every_solution_as_good_as_the_incumbent(seed: int) -> None:
    # half the instances in two far clusters, where open fixing happens
    d, w = _maybe_clustered(900 + seed, seed % 2 == 1, 5000.0)
    p = 2 + seed % 2
    rows, cols = np.nonzero(np.ones_like(d, dtype=bool))
    sc = SparseCost.build(rows, cols, d[rows, cols], w, 1e9, 7)
    rules = _rules(7, p)
    mask, val, info = interchange_solve(sc, rules, n_starts=4, seed=seed)
    opened = np.zeros(7, bool)
    inc, lower, fixed = bound_and_polish(
        sc, rules, Incumbent(mask, val, info), fixing=True, bound_deadline=np.inf,
        deadline=np.inf, open_out=opened,
    )  # fmt: skip
    good = [s for s in subsets(7, range(p, p + 1)) if _value(d, w, s) <= inc.value + 1e-9]
    assert good
    for s in good:
        assert opened[list(s)].sum() == opened.sum()  # every site fixed open is in s
        assert not fixed[list(s)].any()  # no site fixed closed is in s
    opt = brute(d, w, range(p, p + 1), lambda s: _value(d, w, tuple(s)))
    assert lower <= opt + 1e-6
    res = solve_pmedian(CostTable.from_dense(d), p=p, weights=w, method="exact")
    assert res.objective == pytest.approx(opt) and res.status == "optimal"


@pytest.mark.parametrize("seed", range(8))
def test_chain_stopped_at_an_open_site_keeps_the_optimum(seed: int) -> None:
    _ct, d, w = random_table(950 + seed, n=9, m=6)
    p, j_open = 2 + seed % 2, seed % 6
    rows, cols = np.nonzero(np.ones_like(d, dtype=bool))
    open_cols = np.zeros(6, bool)
    open_cols[j_open] = True
    ch = _chain_model(rows, cols, d[rows, cols], w, 6, p, None, open_cols)
    full = _chain_model(rows, cols, d[rows, cols], w, 6, p, None, None)
    assert ch["A"].shape[0] < full["A"].shape[0]  # the stop shortens the chains
    nz = ch["nz"]
    card = sp.csr_matrix(np.r_[np.ones(6), np.zeros(nz)][None, :])
    model = MilpModel(
        np.r_[np.zeros(6), ch["zcost"]],
        sp.vstack([ch["A"], card], format="csc"),
        np.r_[ch["lo"], p],
        np.r_[ch["hi"], p],
        lb=np.r_[open_cols.astype(float), np.zeros(nz)],
        ub=np.ones(6 + nz),
        integer=np.r_[np.ones(6, bool), np.zeros(nz, bool)],
        offset=ch["offset"],
    )
    sol = solve_milp(model, time_limit_s=10)
    opt = brute(d, w, range(p, p + 1), lambda s: _value(d, w, tuple(s)), lambda s: j_open in s)
    assert sol.status == "optimal" and sol.objective == pytest.approx(opt)


@pytest.mark.parametrize("slack", [0.0, 0.02, 0.1])
@pytest.mark.parametrize("seed", range(6))
def test_fixing_keeps_every_solution_up_to_the_given_upper_value(seed: int, slack: float) -> None:
    # with an upper value above the optimum, many solutions stay below it: a site fixed
    # open must be in each of them, a site fixed closed in none
    d, w = _maybe_clustered(970 + seed, seed % 2 == 1, 3000.0)
    p = 2 + seed % 2
    rows, cols = np.nonzero(np.ones_like(d, dtype=bool))
    sc = SparseCost.build(rows, cols, d[rows, cols], w, 1e9, 7)
    opt = brute(d, w, range(p, p + 1), lambda s: _value(d, w, tuple(s)))
    upper = opt * (1 + slack)
    opened = np.zeros(7, bool)
    lower, fixed, _primal = lagrangian_bound(
        sc, _rules(7, p), upper, fixing=True, open_out=opened, max_iter=300
    )
    assert lower <= opt + 1e-6
    below = [s for s in subsets(7, range(p, p + 1)) if _value(d, w, s) <= upper + 1e-9]
    for s in below:
        assert opened[list(s)].sum() == opened.sum()
        assert not fixed[list(s)].any()


def test_rows_whose_sites_are_all_fixed_closed_still_pay_the_penalty() -> None:
    # the home at 5000 m is reached only by site 2 (4990 m), useless to everyone else:
    # the Lagrangian fixes it closed, and the chain MILP must still charge that home
    # the penalty (it once dropped the row, and HiGHS "proved" a value 100 too low)
    import dataclasses
    import time

    from coverage.siting.optimize import pmedian as pm
    from coverage.siting.optimize.base import SolveRun
    from coverage.siting.optimize.problem import build_problem

    x = [0, 1, 2, 50, 51, 5000]
    w = np.array([100, 100, 100, 100, 100, 1.0])
    ct = line_table(x, [1, 51, 4990, 20], cutoff=100)
    opts = pm.PMEDIAN.options(None, {"weights": w, "method": "exact"})
    run = SolveRun(pm.PMEDIAN, build_problem(ct, opts), opts, time.perf_counter(), penalty=100.0)
    red = pm._merge_rows(run, pm._demand_pairs(run))
    heur = pm._heuristic(run, red, 2)
    assert heur.fixed[2]  # site 4990 fixed closed
    unproven = dataclasses.replace(heur, lower=-np.inf)  # make the MILP run
    chain = pm._chain_for(run, red, unproven, 2)
    assert chain is not None
    expected = 100 * (1 + 0 + 1 + 1 + 0) + 1 * 100
    out = pm._milp_outcome(run, red, unproven, chain, 2)
    assert out.objective == pytest.approx(expected) and out.bound == pytest.approx(expected)
    res = solve_pmedian(ct, p=2, weights=w, unreachable_penalty_m=100, method="exact")
    assert res.objective == pytest.approx(expected) and res.best_bound == pytest.approx(expected)


def test_active_pairs_are_exactly_the_negative_reduced_costs() -> None:
    """City-scale subgradient: the pairs below each row's multiplier found by binary search
    equal a pass over every pair (ties at the multiplier, rows without pairs, multipliers
    below zero and above every cost included)."""
    from coverage.siting.optimize.heuristics import _ActivePairs

    rng = np.random.default_rng(11)
    n, m, q = 300, 40, 6000
    rows = np.sort(rng.integers(0, n - 5, q))  # the last rows have no pair
    cols = rng.integers(0, m, q)
    wd = np.round(rng.uniform(0, 50, q)) * 7.0  # many exact ties
    act = _ActivePairs.of(rows, cols, wd, n)
    for lam in (rng.uniform(-10, 400, n), np.full(n, 1e9), np.full(n, -5.0), wd[rng.integers(0, q, n)]):
        r, c, red = act.negative(lam)
        full = wd - lam[rows]
        neg = full < 0
        got = sorted(zip(r.tolist(), c.tolist(), red.tolist()))
        want = sorted(zip(rows[neg].tolist(), cols[neg].tolist(), full[neg].tolist()))
        assert got == want


def test_city_scale_bound_equals_the_dense_pass(monkeypatch) -> None:
    """The Lagrangian bound with the sorted pairs equals the one from a pass over every pair."""
    from coverage.siting.optimize import heuristics as hz

    ct, d, w = random_table(91, n=60, m=25)
    sc = hz.SparseCost.build(ct.demand_idx, ct.site_idx, ct.dist_m, w, 2000.0, 25)
    rules = hz.SiteRules(required=np.zeros(25, bool), zone=np.full(25, -1), zmin=np.zeros(0, int), zmax=np.zeros(0, int),
                         cost=np.ones(25), kmin=4, kmax=4)  # fmt: skip
    upper = brute(d, w, range(4, 5), lambda s: float(w @ np.minimum(d[:, s].min(1), 2000.0)))
    dense = hz.lagrangian_bound(sc, rules, upper, max_iter=200)[0]
    monkeypatch.setattr(hz, "ACTIVE_PAIRS_MIN", 0)
    sorted_ = hz.lagrangian_bound(sc, rules, upper, max_iter=200)[0]
    assert sorted_ == pytest.approx(dense, rel=1e-9) and sorted_ <= upper + 1e-6
