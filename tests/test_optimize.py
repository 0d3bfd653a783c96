"""Site-selection models: hand-checkable side constraints and brute-force oracles.

Benchmark instances with published optima live in ``test_optimize_bench.py``; the
comparison with spopt in ``test_optimize_spopt.py``.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
from collections.abc import Callable, Iterator

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from coverage.engine.costs import CostTable
from coverage.errors import InfeasibleError, ParameterError
from coverage.siting.optimize import (
    SiteSelection,
    build_problem,
    solve_consolidation,
    solve_lscp,
    solve_mclp,
    solve_pcenter,
    solve_pmedian,
)
from coverage.siting.optimize.highs import solve_milp
from coverage.siting.optimize.reduce import merge_identical_rows, reduce_covering


# ---------------------------------------------------------------------------- helpers
def line_table(demand_x: list[float], site_x: list[float], *, cutoff: float = np.inf) -> CostTable:
    """Demand and sites on a line; distance = |dx| metres."""
    d = np.abs(np.subtract.outer(np.asarray(demand_x, float), np.asarray(site_x, float)))
    return CostTable.from_dense(d, cutoff_m=cutoff)


def random_table(
    seed: int, n: int = 9, m: int = 7, cutoff: float = np.inf
) -> tuple[CostTable, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    dem = rng.uniform(0, 1000, (n, 2))
    sites = rng.uniform(0, 1000, (m, 2))
    d = np.round(np.hypot(*(dem[:, None, :] - sites[None, :, :]).transpose(2, 0, 1)), 1)
    w = rng.integers(1, 10, n).astype(float)
    return CostTable.from_dense(d, cutoff_m=cutoff), d, w


def subsets(m: int, sizes: range) -> Iterator[tuple[int, ...]]:
    return itertools.chain.from_iterable(itertools.combinations(range(m), k) for k in sizes)


# ---------------------------------------------------------------------------- LSCP
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


# ---------------------------------------------------------------------------- zones
def zone_case() -> tuple[CostTable, list[str]]:
    # sites 0,1 sit on two demand clusters (zone A); site 2 is useless (zone B)
    d = np.array([[0, 500, 900], [500, 0, 900], [0, 500, 900], [500, 0, 900]], float)
    return CostTable.from_dense(d, cutoff_m=1000), ["A", "A", "B"]


def test_zone_at_most_one() -> None:
    ct, zones = zone_case()
    free = solve_mclp(ct, k=2, radius_m=100)
    assert sorted(free.selected.tolist()) == [0, 1] and free.objective == 4
    res = solve_mclp(ct, k=2, radius_m=100, zone_of_site=zones, zone_rule="at_most_one")
    assert np.sum(np.isin(res.selected, [0, 1])) == 1 and res.objective == 2


def test_zone_at_least_one_and_exactly_one() -> None:
    ct, zones = zone_case()
    res = solve_mclp(ct, k=2, radius_m=100, zone_of_site=zones, zone_rule="at_least_one")
    assert 2 in res.selected and res.objective == 2
    res = solve_pmedian(ct, p=2, zone_of_site=zones, zone_rule="exactly_one")
    assert 2 in res.selected and len(res.selected) == 2
    res = solve_lscp(ct, radius_m=100, zone_of_site=zones, zone_rule="at_least_one")
    assert sorted(res.selected.tolist()) == [0, 1, 2]


def test_zone_min_max_mapping_and_arrays() -> None:
    ct, zones = zone_case()
    res = solve_mclp(ct, k=3, radius_m=100, zone_of_site=zones, zone_rule={"A": (None, 1)})
    assert res.objective == 2
    res = solve_mclp(ct, k=3, radius_m=100, zone_of_site=zones, zone_rule=([0, 1], [2, 1]))
    assert 2 in res.selected and res.objective == 4
    with pytest.raises(ParameterError, match="does not occur"):
        solve_mclp(ct, k=1, radius_m=100, zone_of_site=zones, zone_rule={"Z": (0, 1)})
    with pytest.raises(ParameterError, match="without zone_rule"):
        solve_mclp(ct, k=1, radius_m=100, zone_of_site=zones)


def test_zone_without_candidate_under_exactly_one_names_the_zone() -> None:
    ct, _ = zone_case()
    zones = ["A", "A", "B"]
    with pytest.raises(InfeasibleError, match="zone 'B'"):
        solve_mclp(
            ct, k=2, radius_m=100, zone_of_site=zones, zone_rule="exactly_one", forbidden=[2]
        )
    with pytest.raises(InfeasibleError, match="zone 'A'"):
        solve_lscp(ct, radius_m=100, zone_of_site=zones, zone_rule="at_most_one", existing=[0, 1])


# ---------------------------------------------------------------------------- MCLP
def test_mclp_budget_and_costs() -> None:
    # three clusters of weight 5, 4, 3; their sites cost 3, 1, 1
    d = np.full((3, 3), 900.0)
    np.fill_diagonal(d, 0.0)
    ct = CostTable.from_dense(d, cutoff_m=1000)
    w = [5, 4, 3]
    res = solve_mclp(ct, budget=2, site_cost=[3, 1, 1], weights=w, radius_m=100)
    assert sorted(res.selected.tolist()) == [1, 2] and res.objective == 7
    res = solve_mclp(ct, budget=4, site_cost=[3, 1, 1], weights=w, radius_m=100)
    assert res.objective == 9
    res = solve_mclp(ct, k=1, budget=4, site_cost=[3, 1, 1], weights=w, radius_m=100)
    assert res.selected.tolist() == [0] and res.objective == 5
    h = solve_mclp(ct, budget=2, site_cost=[3, 1, 1], weights=w, radius_m=100, method="heuristic")
    assert h.objective == 7


def test_mclp_parameters() -> None:
    ct, _ = zone_case()
    with pytest.raises(ParameterError, match="larger than the 3 allowed"):
        solve_mclp(ct, k=4, radius_m=100)
    with pytest.raises(ParameterError, match="larger than the 2 allowed"):
        solve_mclp(ct, k=3, radius_m=100, forbidden=[2])
    with pytest.raises(ParameterError, match="k .*budget"):
        solve_mclp(ct, radius_m=100)
    with pytest.raises(ParameterError, match="exceeds the cost table cutoff"):
        solve_mclp(ct, k=1, radius_m=5000)
    with pytest.raises(InfeasibleError, match="already exceed"):
        solve_mclp(ct, k=1, radius_m=100, existing=[0, 1])
    with pytest.raises(ParameterError, match="method"):
        solve_mclp(ct, k=1, radius_m=100, method="magic")


def test_mclp_existing_rows_are_constant_and_sites_ranked() -> None:
    x = [0, 10, 1000, 1010, 1020, 2000]
    ct = line_table(x, [0, 1010, 2000], cutoff=3000)
    res = solve_mclp(ct, k=2, radius_m=50, existing=[2])
    assert res.objective == 4 and set(res.selected) == {1, 2}
    # existing sites are ranked first, so a new site's gain is what it adds to them:
    # existing site 2 serves 1 demand, then new site 1 adds 3
    assert res.selected.tolist() == [2, 1]
    assert res.marginal_gain.tolist() == [1.0, 3.0]
    assert res.shrink["rows_served_by_existing"] == 1


# ---------------------------------------------------------------------------- p-median
def test_pmedian_line_and_assignment() -> None:
    x = [0, 1, 2, 10, 11, 12]
    res = solve_pmedian(line_table(x, x), p=2)
    assert sorted(res.selected.tolist()) == [1, 4] and res.objective == 4
    assert res.assignment.tolist() == [1, 1, 1, 4, 4, 4]
    assert res.covered is None and res.status == "optimal"
    frame = res.assignment_frame()
    assert list(frame.columns) == [
        "demand_pos",
        "demand_id",
        "site_pos",
        "site_id",
        "dist_m",
        "covered",
    ]
    assert frame["dist_m"].sum() == 4


def test_pmedian_unreachable_penalty_and_infeasible() -> None:
    ct = line_table([0, 10, 5000], [0, 10], cutoff=100)
    with pytest.raises(InfeasibleError, match="no allowed site within the table cutoff"):
        solve_pmedian(ct, p=1)
    res = solve_pmedian(ct, p=1, unreachable_penalty_m=1000)
    assert res.objective == 10 + 1000 and list(res.uncoverable) == ["d2"]
    assert res.assignment[2] == -1
    with pytest.raises(ParameterError, match="penalty"):
        solve_pmedian(ct, p=1, unreachable_penalty_m=50)
    # p too small to assign everyone inside the table
    ct2 = line_table([0, 1000], [0, 1000], cutoff=100)
    with pytest.raises(InfeasibleError):
        solve_pmedian(ct2, p=1, method="exact")
    with pytest.raises(InfeasibleError):
        solve_pmedian(ct2, p=1, method="heuristic")


def test_pmedian_parameters() -> None:
    ct = line_table([0, 1], [0, 1])
    with pytest.raises(ParameterError, match="p must be a positive integer"):
        solve_pmedian(ct, p=0)
    with pytest.raises(ParameterError, match="asks for 3 sites"):
        solve_pmedian(ct, p=3)


def test_capacitated_pmedian_single_and_fractional() -> None:
    # three demand near site 0, one near site 1; site 0 holds only 2 units
    x = [0, 1, 2, 100]
    ct = line_table(x, [0, 100])
    free = solve_pmedian(ct, p=2)
    assert free.assignment.tolist() == [0, 0, 0, 1]
    res = solve_pmedian(ct, p=2, capacity=[2, 10])
    assert res.assignment.tolist().count(0) == 2
    assert res.objective == pytest.approx(0 + 1 + 98 + 0)
    assert res.load.max() <= 10 and res.details["single_source"]
    frac = solve_pmedian(ct, p=2, capacity=[2.5, 10], single_source=False)
    assert frac.objective == pytest.approx(0 + 1 + 0.5 * 2 + 0.5 * 98 + 0)
    alloc = frac.details["allocation"]
    assert alloc.loc[alloc["demand_pos"] == 2, "share"].sum() == pytest.approx(1.0)
    with pytest.raises(InfeasibleError, match="capacit"):
        solve_pmedian(ct, p=2, capacity=[1, 1])
    with pytest.raises(ParameterError, match="exactly only"):
        solve_pmedian(ct, p=2, capacity=[2, 10], method="heuristic")


def test_capacitated_covering_models() -> None:
    x = [0, 1, 2, 100]
    ct = line_table(x, [0, 100], cutoff=200)
    res = solve_mclp(ct, k=2, radius_m=10, capacity=[2, 5])
    assert res.objective == 3  # one of the three near site 0 is left out
    assert res.covered.sum() == 3
    res = solve_lscp(ct, radius_m=150, capacity=[3, 1])
    assert res.objective == 2
    with pytest.raises(InfeasibleError, match="capacit"):
        solve_lscp(ct, radius_m=10, capacity=[2, 5])


def test_consolidation_keeps_the_best_homes() -> None:
    x = [0, 1, 2, 50, 51, 100]
    ct = line_table(x, [1, 2, 51, 100])
    res = solve_consolidation(ct, keep=2, homes=[0, 1, 2, 3])
    assert res.model == "consolidation" and sorted(res.selected.tolist()) == [0, 2]
    assert set(res.details["closed"]) == {"s1", "s3"}
    assert res.assignment[5] == 2  # everyone goes to the nearest kept home
    res = solve_consolidation(ct, keep=2, homes=[0, 1, 2, 3], existing=[3])
    assert 3 in res.selected


# ---------------------------------------------------------------------------- p-center
def test_pcenter_line_both_methods() -> None:
    x = [0, 10, 20, 30, 100, 110]
    ct = line_table(x, x)
    s = solve_pcenter(ct, p=2)
    m = solve_pcenter(ct, p=2, method="milp")
    assert s.objective == m.objective == 20  # site 10 or 20 serves 0..30
    assert s.status == m.status == "optimal"
    assert s.method == "binary-search+highs-lscp" and m.method == "highs-mip"
    assert len(s.selected) == 2 and s.covered.all()
    h = solve_pcenter(ct, p=2, method="heuristic")
    assert h.objective >= 20 and h.best_bound <= 20 and h.status in ("heuristic", "optimal")
    assert solve_pcenter(ct, p=2, method="exact").objective == 20


def test_pcenter_infeasible_within_cutoff() -> None:
    ct = line_table([0, 1000], [0, 1000], cutoff=100)
    with pytest.raises(InfeasibleError, match="larger cutoff"):
        solve_pcenter(ct, p=1)
    with pytest.raises(InfeasibleError, match="no allowed site"):
        solve_pcenter(ct, p=1, forbidden=[1])


# ---------------------------------------------------------------------------- oracles
def brute(
    d: np.ndarray,
    w: np.ndarray,
    sizes: range,
    value: Callable[[list[int]], float],
    feasible: Callable[[tuple[int, ...]], bool] = lambda s: True,
) -> float | None:
    """Best (smallest) ``value`` over every feasible subset of the site columns."""
    best: float | None = None
    for s in subsets(d.shape[1], sizes):
        if not feasible(s):
            continue
        v = value(list(s))
        best = v if best is None else min(best, v)
    return best


@pytest.mark.parametrize("seed", range(12))
def test_oracle_mclp(seed: int) -> None:
    ct, d, w = random_table(seed)
    r, k = 300.0, 1 + seed % 3
    cov = d <= r
    opt = -brute(d, w, range(k + 1), lambda s: -w[cov[:, s].any(1)].sum())
    ex = solve_mclp(ct, k=k, weights=w, radius_m=r, method="exact")
    assert ex.objective == pytest.approx(opt) and ex.status == "optimal"
    he = solve_mclp(ct, k=k, weights=w, radius_m=r, method="heuristic")
    assert he.objective <= opt + 1e-9 and he.best_bound >= opt - 1e-6
    nored = solve_mclp(ct, k=k, weights=w, radius_m=r, method="exact", reduce=False)
    assert nored.objective == pytest.approx(opt)
    # with an existing site and a zone rule
    zones = np.array(["a", "b", "a", "b", "c", "c", "a"])
    feas = lambda s: 0 in s and all(np.sum(zones[list(s)] == z) <= 1 for z in "abc")  # noqa: E731
    opt_z = -brute(d, w, range(k + 2), lambda s: -w[cov[:, s].any(1)].sum(), feas)
    ex_z = solve_mclp(
        ct,
        k=k + 1,
        weights=w,
        radius_m=r,
        existing=[0],
        zone_of_site=zones,
        zone_rule="at_most_one",
    )
    assert ex_z.objective == pytest.approx(opt_z)


@pytest.mark.parametrize("seed", range(12))
def test_oracle_pmedian(seed: int) -> None:
    ct, d, w = random_table(100 + seed)
    p = 1 + seed % 4
    opt = brute(d, w, range(p, p + 1), lambda s: float(w @ d[:, s].min(1)))
    for method in ("exact", "heuristic"):
        res = solve_pmedian(ct, p=p, weights=w, method=method)
        assert res.objective >= opt - 1e-6 and res.best_bound <= opt + 1e-6
        if method == "exact" or res.status == "optimal":
            assert res.objective == pytest.approx(opt)
    # existing site 0, zone {1, 2, 3} exactly one
    zones = np.array([None, "z", "z", "z", None, None, None], dtype=object)
    q = p + 1

    def feas(s: tuple[int, ...]) -> bool:
        return 0 in s and len(set(s) & {1, 2, 3}) == 1

    opt_z = brute(d, w, range(q, q + 1), lambda s: float(w @ d[:, s].min(1)), feas)
    for method in ("exact", "heuristic"):
        rz = solve_pmedian(
            ct,
            p=q,
            weights=w,
            existing=[0],
            zone_of_site=zones,
            zone_rule="exactly_one",
            method=method,
        )
        assert 0 in rz.selected and np.isin(rz.selected, [1, 2, 3]).sum() == 1
        assert rz.objective >= opt_z - 1e-6
        if method == "exact":
            assert rz.objective == pytest.approx(opt_z)
    # with a penalty on a cut table
    ct2 = CostTable.from_dense(d, cutoff_m=400)
    dd = np.where(d <= 400, d, 600.0)
    opt2 = brute(dd, w, range(p, p + 1), lambda s: float(w @ dd[:, s].min(1)))
    res2 = solve_pmedian(ct2, p=p, weights=w, unreachable_penalty_m=600, method="exact")
    assert res2.objective == pytest.approx(opt2)


@pytest.mark.parametrize("seed", range(10))
def test_oracle_pcenter(seed: int) -> None:
    ct, d, w = random_table(200 + seed)
    p = 1 + seed % 3
    opt = brute(d, w, range(p, p + 1), lambda s: float(d[:, s].min(1).max()))
    res = solve_pcenter(ct, p=p)
    assert res.objective == pytest.approx(opt) and res.best_bound == pytest.approx(opt)
    if seed < 3:
        assert solve_pcenter(ct, p=p, method="milp").objective == pytest.approx(opt)
    # existing site 0, site 1 forbidden, zones {2,3} and {4,5} at most one each
    zones = np.array([None, None, "a", "a", "b", "b", None], dtype=object)

    def feas(s: tuple[int, ...]) -> bool:
        return 0 in s and 1 not in s and len(set(s) & {2, 3}) <= 1 and len(set(s) & {4, 5}) <= 1

    q = p + 1
    opt_c = brute(d, w, range(q, q + 1), lambda s: float(d[:, s].min(1).max()), feas)
    kw = dict(existing=[0], forbidden=[1], zone_of_site=zones, zone_rule="at_most_one")
    assert solve_pcenter(ct, p=q, **kw).objective == pytest.approx(opt_c)
    if seed < 3:
        assert solve_pcenter(ct, p=q, method="milp", **kw).objective == pytest.approx(opt_c)


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


# ---------------------------------------------------------------------------- internals
def test_reduce_merges_rows_and_drops_dominated_sites_safely() -> None:
    cov = np.array([[1, 1, 0, 0], [1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 0, 1]], dtype=bool)
    d = np.where(cov, 0.0, 10.0)
    ct = CostTable.from_dense(d, cutoff_m=5)
    prob = build_problem(ct, weights=[1, 2, 3, 4])
    red = reduce_covering(prob, ct.coverage_matrix(), use_cost=False)
    # sites 0 and 2 lie inside site 1; then rows 0, 1, 2 all read {1} and merge
    assert red.stats["dominated_sites"] == 2 and red.stats["merged_rows"] == 2
    assert red.cols.tolist() == [1, 3]
    assert sorted(red.row_weight.tolist()) == [4.0, 6.0]
    # a required or zone-constrained site is never dropped
    prob = build_problem(ct, existing=[0])
    assert 0 in reduce_covering(prob, ct.coverage_matrix(), use_cost=False).cols
    prob = build_problem(ct, zone_of_site=["z", None, None, None], zone_rule="at_least_one")
    assert 0 in reduce_covering(prob, ct.coverage_matrix(), use_cost=False).cols
    # a dominating site in a zone with a maximum does not dominate
    prob = build_problem(ct, zone_of_site=[None, "z", None, None], zone_rule="at_most_one")
    assert 0 in reduce_covering(prob, ct.coverage_matrix(), use_cost=False).cols
    # costs: a cheaper subset site survives under use_cost
    prob = build_problem(ct, site_cost=[1, 5, 1, 1])
    assert 0 in reduce_covering(prob, ct.coverage_matrix(), use_cost=True).cols
    keep, grp, _mw = merge_identical_rows(sp.csr_matrix(cov), np.ones(4))
    assert keep.tolist() == [0, 2, 3] and grp.tolist() == [0, 0, 1, 2]


def test_highs_wrapper_statuses() -> None:
    A = sp.csr_matrix(np.array([[1.0, 1.0]]))
    sol = solve_milp(
        np.array([1.0, 2.0]),
        A,
        np.array([1.0]),
        np.array([np.inf]),
        lb=np.zeros(2),
        ub=np.ones(2),
        integer=np.array([True, True]),
    )
    assert sol.status == "optimal" and sol.objective == 1.0 and sol.bound == 1.0
    with pytest.raises(InfeasibleError, match="nothing fits"):
        solve_milp(
            np.ones(2),
            A,
            np.array([3.0]),
            np.array([np.inf]),
            lb=np.zeros(2),
            ub=np.ones(2),
            integer=np.array([True, True]),
            infeasible_message="nothing fits",
        )


def test_result_object_and_frames() -> None:
    x = [0, 10, 1000, 1010, 1020, 2000]
    res = solve_mclp(line_table(x, [0, 1010, 2000], cutoff=3000), k=3, radius_m=50)
    assert isinstance(res, SiteSelection)
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.objective = 0  # type: ignore[misc]
    f = res.to_frame()
    assert list(f.columns) == [
        "rank",
        "site_pos",
        "site_id",
        "existing",
        "marginal_gain",
        "n_assigned",
        "load",
    ]
    assert f["marginal_gain"].is_monotonic_decreasing
    assert f["n_assigned"].sum() == 6 and f["load"].sum() == 6
    assert res.selected_ids.tolist() == ["s1", "s0", "s2"]
    assert isinstance(res.assignment_frame(), pd.DataFrame)
    assert res.summary()["status"] == "optimal"


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


def test_library_prints_nothing() -> None:
    # HiGHS writes a banner to C stdout on its first instance; it must not leak
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import numpy as np\n"
        "from coverage.engine.costs import CostTable\n"
        "from coverage.siting.optimize import solve_lscp, solve_pmedian\n"
        "ct = CostTable.from_dense(np.array([[0., 5.], [5., 0.]]))\n"
        "solve_lscp(ct, radius_m=1.0)\n"
        "solve_pmedian(ct, p=1, method='exact')\n"
    )
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert out.stdout == ""
    assert "Running HiGHS" not in out.stderr
