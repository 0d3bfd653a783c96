"""MCLP (maximal covering): budgets, parameters, existing sites, a brute-force oracle and the result object."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from optimize_cases import brute, line_table, random_table, zone_case

from coverage.engine.costs import CostTable
from coverage.errors import InfeasibleError, ParameterError
from coverage.siting.optimize import SiteSelection, solve_mclp


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
