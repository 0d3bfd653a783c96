"""The shared heuristic tools: rules over model columns, greedy + interchange, Lagrangian
bounds (checked against brute force), and the covering greedy with Beasley's bound."""

from __future__ import annotations

import numpy as np
import pytest
from optimize_cases import brute, random_table, subsets

from coverage.siting.optimize import build_problem
from coverage.siting.optimize.heuristics import (
    Incumbent,
    SiteRules,
    SparseCost,
    bound_and_polish,
    cover_bound,
    greedy_cover,
    interchange_solve,
    is_integral,
    round_bound,
)


def test_round_bound_and_is_integral() -> None:
    assert round_bound(3.1, True, lower=True) == 4.0
    assert round_bound(3.0000001, True, lower=True) == 3.0  # noise below 1e-6 is absorbed
    assert round_bound(2.9999999, True, lower=True) == 3.0
    assert round_bound(3.9999999, True, lower=False) == 4.0
    assert round_bound(3.9, True, lower=False) == 3.0
    assert round_bound(3.5, False, lower=True) == 3.5
    assert round_bound(np.inf, True, lower=True) == np.inf
    assert is_integral(np.array([1.0, 2.0]), 3.0, None)
    assert not is_integral(np.array([1.0, 2.5]))
    assert not is_integral(np.array([np.inf]))


def test_site_rules_for_columns_take_zone_and_cost_of_those_columns() -> None:
    ct, _d, _w = random_table(1, n=5, m=4)
    prob = build_problem(
        ct, site_cost=[1, 2, 3, 4], zone_of_site=["a", None, "b", "a"], zone_rule="at_most_one"
    )
    cols = np.array([3, 1])
    rules = SiteRules.for_columns(prob, cols, required=np.array([True, False]), kmin=1, kmax=2)
    assert rules.cost.tolist() == [4.0, 2.0]
    assert rules.zone.tolist() == [prob.zone[3], -1]
    assert rules.zmax.tolist() == [1.0, 1.0] and rules.budget is None
    ones = SiteRules.for_columns(prob, cols, required=np.zeros(2, bool), kmin=0, kmax=2, cost=np.ones(2))
    assert ones.cost.tolist() == [1.0, 1.0]


def _pmedian_cost(seed: int) -> tuple[SparseCost, np.ndarray, np.ndarray]:
    _ct, d, w = random_table(400 + seed, n=10, m=7)
    rows, cols = np.nonzero(np.ones_like(d, dtype=bool))
    return SparseCost.build(rows, cols, d[rows, cols], w, 1e6, d.shape[1]), d, w


@pytest.mark.parametrize("seed", range(4))
def test_interchange_and_lagrangian_bound_bracket_the_optimum(seed: int) -> None:
    sc, d, w = _pmedian_cost(seed)
    p = 2 + seed % 2
    rules = SiteRules(
        required=np.zeros(7, bool), zone=np.full(7, -1), zmin=np.zeros(0, np.int64),
        zmax=np.zeros(0), cost=np.ones(7), kmin=p, kmax=p,
    )  # fmt: skip
    opt = brute(d, w, range(p, p + 1), lambda s: float(w @ d[:, s].min(1)))
    mask, val, info = interchange_solve(sc, rules, n_starts=4, seed=seed)
    again = interchange_solve(sc, rules, n_starts=4, seed=seed)
    assert again[0].tolist() == mask.tolist() and again[1] == val  # deterministic per seed
    assert mask.sum() == p and val >= opt - 1e-6 and info["starts"] >= 1
    inc, lower, fixed = bound_and_polish(
        sc, rules, Incumbent(mask, val, info), fixing=True, bound_deadline=np.inf, deadline=np.inf
    )
    assert lower <= opt + 1e-6 <= inc.value + 1e-6 and inc.value <= val
    assert not np.any(fixed & inc.mask)
    # a site fixed closed is in no optimal solution
    best = [s for s in subsets(7, range(p, p + 1)) if float(w @ d[:, list(s)].min(1)) <= opt + 1e-9]
    assert not any(fixed[list(s)].any() for s in best)


@pytest.mark.parametrize("seed", range(4))
def test_greedy_cover_is_a_cover_and_beasley_bound_is_below_the_optimum(seed: int) -> None:
    rng = np.random.default_rng(seed)
    cov = rng.random((12, 8)) < 0.3
    cov[np.arange(12), rng.integers(0, 8, 12)] = True
    cost = rng.integers(1, 6, 8).astype(float)
    rules = SiteRules(
        required=np.zeros(8, bool), zone=np.full(8, -1), zmin=np.zeros(0, np.int64),
        zmax=np.zeros(0), cost=cost, kmin=0, kmax=8,
    )  # fmt: skip
    mask = greedy_cover(cov, cost, rules)
    assert cov[:, mask].any(1).all()
    opt = min(
        float(cost[list(s)].sum()) for s in subsets(8, range(9)) if cov[:, list(s)].any(1).all()
    )
    ub = float(cost[mask].sum())
    assert opt <= ub
    assert cover_bound(cov, cost, ub) <= opt + 1e-6
