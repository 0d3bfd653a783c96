"""LSCP (location set covering): hand-checkable cases, a brute-force oracle, honest time limits."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from optimize_cases import brute, line_table, random_table

from coverage.engine.costs import CostTable
from coverage.errors import InfeasibleError, ParameterError
from coverage.siting.optimize import solve_lscp


def test_lscp_line_minimum_number_of_sites() -> None:
    # demand at 0..900 every 100 m, sites at the same places, radius 150 m:
    # each site covers itself and its neighbours -> ceil(10/3) = 4 sites
    x = list(range(0, 1000, 100))
    res = solve_lscp(line_table(x, x, cutoff=150), radius_m=150)
    assert res.status == "optimal" and res.method == "highs-mip"
    assert res.objective == 4 and len(res.selected) == 4
    assert res.covered.all() and len(res.uncoverable) == 0
    assert res.gap == pytest.approx(0.0)


def test_lscp_reports_uncoverable_demand_and_solves_the_rest(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ct = line_table([0, 100, 5000], [0, 100], cutoff=200)
    with caplog.at_level(logging.WARNING, logger="coverage.siting.optimize"):
        res = solve_lscp(ct, radius_m=150)
    assert list(res.uncoverable) == ["d2"]
    assert res.objective == 1
    assert res.covered.tolist() == [True, True, False]
    assert res.assignment[2] == -1
    assert "d2" in caplog.text


def test_lscp_site_costs_choose_the_cheaper_combination() -> None:
    # site 0 covers all three demand points but costs 5; sites 1+2 cover them for 2+2
    d = np.array([[10, 10, 999], [10, 999, 10], [10, 10, 10]], float)
    ct = CostTable.from_dense(d, cutoff_m=100)
    res = solve_lscp(ct, site_cost=[5, 2, 2.5])
    assert res.objective == 4.5 and sorted(res.selected.tolist()) == [1, 2]
    res = solve_lscp(ct, site_cost=[4, 2, 2.5])
    assert res.objective == 4 and res.selected.tolist() == [0]


def test_lscp_existing_forbidden_and_ids() -> None:
    x = [0, 100, 200, 300]
    ct = line_table(x, x, cutoff=150)
    res = solve_lscp(ct, radius_m=100, existing=["s0"])
    assert 0 in res.selected and res.required[list(res.selected).index(0)]
    assert res.covered.all()
    # forbid the two middle sites: only 0 and 3 remain, each covering 2 demand
    res = solve_lscp(ct, radius_m=100, forbidden=[1, 2])
    assert sorted(res.selected.tolist()) == [0, 3]
    with pytest.raises(ParameterError, match="both existing"):
        solve_lscp(ct, existing=[1], forbidden=[1])
    with pytest.raises(ParameterError, match="unknown site ids"):
        solve_lscp(ct, existing=["nope"])


def test_lscp_heuristic_is_feasible_and_bounded() -> None:
    ct, _, _ = random_table(3, n=40, m=25, cutoff=300)
    ex = solve_lscp(ct, radius_m=300)
    he = solve_lscp(ct, radius_m=300, method="heuristic")
    assert he.covered[ex.covered].all()
    assert he.objective >= ex.objective - 1e-9
    assert he.best_bound <= ex.objective + 1e-6


@pytest.mark.parametrize("seed", range(12))
def test_oracle_lscp(seed: int) -> None:
    ct, d, w = random_table(300 + seed, cutoff=450)
    rng = np.random.default_rng(seed)
    cost = rng.integers(1, 5, d.shape[1]).astype(float)
    cov = d <= 450
    coverable = cov.any(1)
    opt = brute(
        d,
        w,
        range(0, d.shape[1] + 1),
        lambda s: float(cost[list(s)].sum()),
        lambda s: bool(cov[coverable][:, list(s)].any(1).all()),
    )
    res = solve_lscp(ct, site_cost=cost)
    assert res.objective == pytest.approx(opt)
    assert len(res.uncoverable) == int((~coverable).sum())
    h = solve_lscp(ct, site_cost=cost, method="heuristic")
    assert h.objective >= opt - 1e-9 and h.best_bound <= opt + 1e-6
    assert h.covered[coverable].all()
    # zones: sites {0,1,2} at least one, {3,4} at most one; site 5 forbidden
    zones = np.array(["a", "a", "a", "b", "b", None, None], dtype=object)

    def feas(s: tuple[int, ...]) -> bool:
        cov_ok = bool(cov[coverable2][:, list(s)].any(1).all())
        return cov_ok and 5 not in s and len(set(s) & {0, 1, 2}) >= 1 and len(set(s) & {3, 4}) <= 1

    coverable2 = cov[:, [0, 1, 2, 3, 4, 6]].any(1)
    opt_z = brute(d, w, range(0, d.shape[1] + 1), lambda s: float(cost[list(s)].sum()), feas)
    rule = {"a": (1, None), "b": (None, 1)}
    if opt_z is None:
        with pytest.raises(InfeasibleError):
            solve_lscp(ct, site_cost=cost, forbidden=[5], zone_of_site=zones, zone_rule=rule)
    else:
        rz = solve_lscp(ct, site_cost=cost, forbidden=[5], zone_of_site=zones, zone_rule=rule)
        assert rz.objective == pytest.approx(opt_z)


def test_time_limited_mip_is_not_reported_optimal() -> None:
    # a random set-covering instance that HiGHS cannot close in 0.05 s of MIP time
    rng = np.random.default_rng(7)
    n, m = 400, 300
    dens = rng.random((n, m)) < 0.03
    dens[np.arange(n), rng.integers(0, m, n)] = True
    d = np.where(dens, 1.0, np.inf)
    ct = CostTable.from_dense(d, cutoff_m=1.0)
    res = solve_lscp(ct, site_cost=rng.integers(1, 100, m), time_limit_s=0.05, reduce=False)
    if res.status == "optimal":
        assert res.gap == pytest.approx(0.0, abs=1e-9)
    else:
        assert res.status == "time_limit" and res.best_bound < res.objective
